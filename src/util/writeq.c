/* kahu — a write-behind queue (see writeq.h).
 *
 * A ring of fixed blocks guarded by one mutex: the writer copies bytes into the block
 * after the last queued one (its own until handed over), the sender sends the oldest
 * queued one outside the lock; the writer waits while every other block is queued.
 * The sender's end (its error, a stop, or the end of the queue at finish) is `done`,
 * broadcast to a waiting writer. */
#include "util/writeq.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

struct kahu_writeq {
	kahu_writeq_fn fn;
	void *ud;
	size_t block;
	unsigned nblocks;
	struct kahu_log_scope *log_scope; /* the writer's (util/log.h): the sender logs in it */
	pthread_t th;
	bool started, joined;
	pthread_mutex_t mu;
	pthread_cond_t cv_space;  /* the writer waits for a free block or the sender's end */
	pthread_cond_t cv_data;   /* the sender waits for a block, the end or a stop */
	uint8_t *blk[KAHU_WRITEQ_MAX_BLOCKS];
	size_t len[KAHU_WRITEQ_MAX_BLOCKS];
	unsigned head;            /* the oldest queued block */
	unsigned count;           /* queued blocks */
	unsigned tail;            /* the writer's block (only the writer moves it) */
	size_t fill;              /* bytes in it */
	bool closing;             /* no more blocks: end when the queue is empty */
	bool stop;                /* give up: end without sending the rest */
	bool done;                /* the sender has ended */
	bool finished;            /* kahu_writeq_finish was called */
	int rc;                   /* the sender's result, its message in err */
	struct kahu_error_state err;
	unsigned long long sent;  /* blocks sent */
};

static void *sender_main(void *arg)
{
	struct kahu_writeq *q = arg;
	int rc = 0;
	kahu_log_scope_enter(q->log_scope);
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->count && !q->closing && !q->stop)
			pthread_cond_wait(&q->cv_data, &q->mu);
		if (q->stop || !q->count)
			break; /* given up, or closing with everything sent */
		unsigned b = q->head;
		pthread_mutex_unlock(&q->mu);
		if (kahu_cancelled())
			rc = kahu_error_set(KAHU_EINTR, "interrupted");
		else
			rc = q->fn(q->ud, q->blk[b], q->len[b]);
		pthread_mutex_lock(&q->mu);
		q->head = (q->head + 1) % q->nblocks;
		q->count--;
		if (rc < 0)
			break;
		q->sent++;
		pthread_cond_signal(&q->cv_space);
	}
	q->rc = rc;
	if (rc < 0)
		kahu_error_capture(&q->err);
	q->done = true;
	pthread_cond_broadcast(&q->cv_space);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int kahu_writeq_open(struct kahu_writeq **out, size_t block, unsigned nblocks, kahu_writeq_fn fn,
		     void *ud)
{
	*out = NULL;
	if (!block || nblocks < 2 || nblocks > KAHU_WRITEQ_MAX_BLOCKS || !fn)
		return kahu_error_set(KAHU_EINTERNAL, "a write queue of %u blocks of %zu bytes",
				      nblocks, block);
	struct kahu_writeq *q = xcalloc(1, sizeof *q);
	q->fn = fn;
	q->ud = ud;
	q->block = block;
	q->nblocks = nblocks;
	for (unsigned i = 0; i < nblocks; i++)
		q->blk[i] = xmalloc(block);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv_space, NULL);
	pthread_cond_init(&q->cv_data, NULL);
	q->log_scope = kahu_log_scope_current();
	if (pthread_create(&q->th, NULL, sender_main, q) != 0) {
		kahu_writeq_free(q);
		return kahu_error_set(KAHU_ENOMEM, "cannot start a sending thread");
	}
	q->started = true;
	*out = q;
	return 0;
}

/* The sender's end as the writer's error.  Locked, q->done. */
static int sender_error(struct kahu_writeq *q)
{
	if (q->rc < 0)
		return kahu_error_restore(&q->err);
	return kahu_error_set(KAHU_EINTERNAL, "the sending thread ended early");
}

/* Hands the writer's block to the sender; waits for a free one.  Locked. */
static int push_locked(struct kahu_writeq *q)
{
	q->len[q->tail] = q->fill;
	q->tail = (q->tail + 1) % q->nblocks;
	q->count++;
	q->fill = 0;
	pthread_cond_signal(&q->cv_data);
	while (q->count == q->nblocks && !q->done)
		pthread_cond_wait(&q->cv_space, &q->mu);
	return q->done ? sender_error(q) : 0;
}

int kahu_writeq_write(struct kahu_writeq *q, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int rc = 0;
	if (q->finished) /* (stop is set only by kahu_writeq_free) */
		return kahu_error_set(KAHU_EINTERNAL, "a write to a write queue after its end");
	pthread_mutex_lock(&q->mu);
	if (q->done) /* the sender ends early only by an error: tell it at once */
		rc = sender_error(q);
	pthread_mutex_unlock(&q->mu);
	if (rc == 0 && kahu_cancelled())
		rc = kahu_error_set(KAHU_EINTR, "interrupted");
	while (len && rc == 0) {
		/* The writer's block is not queued (a push returns with a free one), so the
		 * sender does not read it. */
		size_t n = q->block - q->fill < len ? q->block - q->fill : len;
		memcpy(q->blk[q->tail] + q->fill, p, n);
		q->fill += n;
		p += n;
		len -= n;
		if (q->fill == q->block) {
			pthread_mutex_lock(&q->mu);
			rc = push_locked(q);
			pthread_mutex_unlock(&q->mu);
		}
	}
	return rc;
}

static void join(struct kahu_writeq *q)
{
	if (q->started && !q->joined) {
		pthread_join(q->th, NULL);
		q->joined = true;
	}
}

int kahu_writeq_finish(struct kahu_writeq *q)
{
	int rc = 0;
	if (q->finished) /* (stop is set only by kahu_writeq_free) */
		return kahu_error_set(KAHU_EINTERNAL, "a write queue finished twice");
	q->finished = true;
	pthread_mutex_lock(&q->mu);
	if (q->fill && !q->done)
		rc = push_locked(q);
	q->closing = true;
	pthread_cond_signal(&q->cv_data);
	while (!q->done)
		pthread_cond_wait(&q->cv_space, &q->mu);
	if (rc == 0 && q->rc < 0)
		rc = sender_error(q);
	pthread_mutex_unlock(&q->mu);
	join(q);
	return rc;
}

void kahu_writeq_free(struct kahu_writeq *q)
{
	if (!q)
		return;
	if (q->started && !q->joined) {
		pthread_mutex_lock(&q->mu);
		q->stop = true;
		pthread_cond_signal(&q->cv_data);
		pthread_mutex_unlock(&q->mu);
		join(q);
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv_space);
	pthread_cond_destroy(&q->cv_data);
	for (unsigned i = 0; i < q->nblocks; i++)
		free(q->blk[i]);
	free(q);
}

unsigned long long kahu_writeq_sent_blocks(struct kahu_writeq *q)
{
	pthread_mutex_lock(&q->mu);
	unsigned long long n = q->sent;
	pthread_mutex_unlock(&q->mu);
	return n;
}

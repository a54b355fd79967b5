/* kahu — a sealed stream written on a thread of its own (see seal.h, seal_async_*).
 *
 * The caller's bytes are copied into fixed blocks; a full block is handed to the
 * worker through a ring of SA_BLOCKS slots guarded by one mutex.  The caller fills the
 * slot after the last queued one while the worker compresses the oldest, so the queue
 * never holds more than SA_BLOCKS * SA_BLOCK bytes.  The worker's first error (with its
 * message, captured) ends it and is returned by the caller's next call. */
#include "archive/seal.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cancel.h"
#include "util/err.h"
#include "util/mem.h"

struct seal_async {
	struct seal_writer sw;
	pthread_t th;
	bool started, joined;
	pthread_mutex_t mu;
	pthread_cond_t cv_space; /* the caller waits for a free slot or the worker's end */
	pthread_cond_t cv_data;  /* the worker waits for a block, the end or a stop */
	uint8_t *blk[SA_BLOCKS];
	size_t len[SA_BLOCKS];
	unsigned head;           /* the oldest queued slot */
	unsigned count;          /* queued slots */
	unsigned tail;           /* the caller's slot (only the caller moves it) */
	size_t fill;             /* bytes in it */
	bool closing;            /* no more blocks: finish the stream */
	bool stop;               /* abandon: the worker ends without finishing */
	bool done;               /* the worker has ended */
	int rc;                  /* the worker's result, with its message in err */
	struct kahu_error_state err;
	bool failed_seen;        /* the caller has had the error once (then only its code) */
};

static void *worker(void *arg)
{
	struct seal_async *a = arg;
	int rc = 0;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->count && !a->closing && !a->stop)
			pthread_cond_wait(&a->cv_data, &a->mu);
		if (a->stop)
			break;
		if (!a->count) { /* closing, everything written */
			pthread_mutex_unlock(&a->mu);
			rc = seal_finish(&a->sw);
			pthread_mutex_lock(&a->mu);
			break;
		}
		unsigned slot = a->head;
		pthread_mutex_unlock(&a->mu);
		if (kahu_cancelled())
			rc = kahu_error_set(KAHU_EINTR, "interrupted");
		else
			rc = seal_write(&a->sw, a->blk[slot], a->len[slot]);
		pthread_mutex_lock(&a->mu);
		a->head = (a->head + 1) % SA_BLOCKS;
		a->count--;
		pthread_cond_signal(&a->cv_space);
		if (rc < 0)
			break;
	}
	a->rc = rc;
	if (rc < 0)
		kahu_error_capture(&a->err);
	a->done = true;
	pthread_cond_broadcast(&a->cv_space);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int seal_async_open(struct seal_async **out, const struct kahu_key *key, const char *object_path,
		    int level, kahu_write_fn fn, void *ud)
{
	*out = NULL;
	struct seal_async *a = xcalloc(1, sizeof *a);
	int rc = seal_open(&a->sw, key, object_path, level, fn, ud);
	if (rc < 0) {
		seal_close(&a->sw);
		free(a);
		return rc;
	}
	for (unsigned i = 0; i < SA_BLOCKS; i++)
		a->blk[i] = xmalloc(SA_BLOCK);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv_space, NULL);
	pthread_cond_init(&a->cv_data, NULL);
	if (pthread_create(&a->th, NULL, worker, a) != 0) {
		seal_async_free(a);
		return kahu_error_set(KAHU_ENOMEM, "cannot start a compression thread");
	}
	a->started = true;
	*out = a;
	return 0;
}

/* The worker's error as this thread's (its message the first time). */
static int worker_error(struct seal_async *a)
{
	if (a->rc >= 0)
		return kahu_error_set(KAHU_EINTERNAL, "the compression thread ended early");
	if (!a->failed_seen) {
		a->failed_seen = true;
		return kahu_error_restore(&a->err);
	}
	return a->rc;
}

/* Hands the caller's slot to the worker; waits for a free one.  Locked. */
static int push_locked(struct seal_async *a)
{
	a->len[a->tail] = a->fill;
	a->tail = (a->tail + 1) % SA_BLOCKS;
	a->count++;
	a->fill = 0;
	pthread_cond_signal(&a->cv_data);
	while (a->count == SA_BLOCKS && !a->done)
		pthread_cond_wait(&a->cv_space, &a->mu);
	return a->done ? worker_error(a) : 0;
}

int seal_async_write(struct seal_async *a, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int rc = 0;
	if (a->closing || a->stop)
		return kahu_error_set(KAHU_EINTERNAL, "seal_async_write after its end");
	while (len && rc == 0) {
		/* The caller's slot is not queued (push_locked returns with a free one),
		 * so the worker does not read it. */
		uint8_t *dst = a->blk[a->tail];
		size_t n = SA_BLOCK - a->fill < len ? SA_BLOCK - a->fill : len;
		memcpy(dst + a->fill, p, n);
		a->fill += n;
		p += n;
		len -= n;
		if (a->fill == SA_BLOCK) {
			pthread_mutex_lock(&a->mu);
			rc = push_locked(a);
			pthread_mutex_unlock(&a->mu);
		}
	}
	return rc;
}

static void join(struct seal_async *a)
{
	if (a->started && !a->joined) {
		pthread_join(a->th, NULL);
		a->joined = true;
	}
}

int seal_async_finish(struct seal_async *a)
{
	int rc = 0;
	if (a->closing || a->stop)
		return kahu_error_set(KAHU_EINTERNAL, "seal_async_finish twice");
	pthread_mutex_lock(&a->mu);
	if (a->fill && !a->done)
		rc = push_locked(a);
	a->closing = true;
	pthread_cond_signal(&a->cv_data);
	while (!a->done)
		pthread_cond_wait(&a->cv_space, &a->mu);
	if (rc == 0 && a->rc < 0)
		rc = worker_error(a);
	pthread_mutex_unlock(&a->mu);
	join(a);
	return rc;
}

void seal_async_free(struct seal_async *a)
{
	if (!a)
		return;
	if (a->started && !a->joined) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_signal(&a->cv_data);
		pthread_mutex_unlock(&a->mu);
		join(a);
	}
	seal_close(&a->sw);
	for (unsigned i = 0; i < SA_BLOCKS; i++)
		free(a->blk[i]);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv_space);
	pthread_cond_destroy(&a->cv_data);
	free(a);
}

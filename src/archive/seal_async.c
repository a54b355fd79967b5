/* kahu — a sealed stream written on threads of its own (see seal.h, seal_async_*).
 *
 * Two stages, each a thread behind a bounded queue: the first compresses (zstd), the
 * second encrypts (the envelope, when there is a key), hashes and stores what the
 * first produced (the caller's `out`).  So the caller (receiving, parsing, hashing),
 * the compressor and the rest each have a thread, and the compressor, the longest of
 * them, does nothing else.
 *
 * A stage's queue is a ring of fixed blocks guarded by one mutex: its producer copies
 * bytes into the slot after the last queued one (its own until handed over), the
 * stage's thread consumes the oldest; a producer waits while every slot is queued, so
 * a stage never holds more than its blocks.  A stage's first error (with its message,
 * captured on its thread) ends it and is returned by its producer's next call; the
 * first stage's producer is the caller, the second's is the first stage's thread, so an
 * error of the second stage reaches the caller through the first. */
#include "archive/seal.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive/envelope.h"
#include "archive/zstream.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#define STAGE_SLOTS_MAX 8
#define OUT_BLOCK (256 * 1024) /* the second stage: compressed bytes */
#define OUT_BLOCKS 4

_Static_assert(SA_BLOCKS <= STAGE_SLOTS_MAX && OUT_BLOCKS <= STAGE_SLOTS_MAX, "too many slots");

struct stage {
	kahu_write_fn fn;        /* what the thread does with a block */
	struct kahu_log_scope *log_scope; /* the starting thread's (util/log.h) */
	void *ud;
	int (*finish)(void *ud); /* then, at the end (may be NULL) */
	void *finish_ud;
	size_t block;
	unsigned nslots;
	pthread_t th;
	bool started, joined;
	pthread_mutex_t mu;
	pthread_cond_t cv_space; /* the producer waits for a free slot or the thread's end */
	pthread_cond_t cv_data;  /* the thread waits for a block, the end or a stop */
	uint8_t *blk[STAGE_SLOTS_MAX];
	size_t len[STAGE_SLOTS_MAX];
	unsigned head;           /* the oldest queued slot */
	unsigned count;          /* queued slots */
	unsigned tail;           /* the producer's slot (only the producer moves it) */
	size_t fill;             /* bytes in it */
	bool closing;            /* no more blocks: finish */
	bool stop;               /* abandon: end without finishing */
	bool done;               /* the thread has ended */
	int rc;                  /* its result, with its message in err */
	struct kahu_error_state err;
	bool err_told;           /* the producer has had the message once (then the code) */
};

static void *stage_main(void *arg)
{
	struct stage *s = arg;
	int rc = 0;
	kahu_log_scope_enter(s->log_scope);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->count && !s->closing && !s->stop)
			pthread_cond_wait(&s->cv_data, &s->mu);
		if (s->stop)
			break;
		if (!s->count) { /* closing, everything done */
			pthread_mutex_unlock(&s->mu);
			rc = s->finish ? s->finish(s->finish_ud) : 0;
			pthread_mutex_lock(&s->mu);
			break;
		}
		unsigned slot = s->head;
		pthread_mutex_unlock(&s->mu);
		if (kahu_cancelled())
			rc = kahu_error_set(KAHU_EINTR, "interrupted");
		else
			rc = s->fn(s->ud, s->blk[slot], s->len[slot]);
		pthread_mutex_lock(&s->mu);
		s->head = (s->head + 1) % s->nslots;
		s->count--;
		pthread_cond_signal(&s->cv_space);
		if (rc < 0)
			break;
	}
	s->rc = rc;
	if (rc < 0)
		kahu_error_capture(&s->err);
	s->done = true;
	pthread_cond_broadcast(&s->cv_space);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int stage_start(struct stage *s, size_t block, unsigned nslots, kahu_write_fn fn, void *ud,
		       int (*finish)(void *), void *finish_ud)
{
	memset(s, 0, sizeof *s);
	s->fn = fn;
	s->ud = ud;
	s->finish = finish;
	s->finish_ud = finish_ud;
	s->block = block;
	s->nslots = nslots;
	for (unsigned i = 0; i < nslots; i++)
		s->blk[i] = xmalloc(block);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv_space, NULL);
	pthread_cond_init(&s->cv_data, NULL);
	s->log_scope = kahu_log_scope_current();
	if (pthread_create(&s->th, NULL, stage_main, s) != 0)
		return kahu_error_set(KAHU_ENOMEM, "cannot start a compression thread");
	s->started = true;
	return 0;
}

/* The stage's error as this thread's (its message the first time). */
static int stage_error(struct stage *s)
{
	if (s->rc >= 0)
		return kahu_error_set(KAHU_EINTERNAL, "a compression thread ended early");
	if (!s->err_told) {
		s->err_told = true;
		return kahu_error_restore(&s->err);
	}
	return s->rc;
}

/* Hands the producer's slot to the thread; waits for a free one.  Locked. */
static int stage_push_locked(struct stage *s)
{
	s->len[s->tail] = s->fill;
	s->tail = (s->tail + 1) % s->nslots;
	s->count++;
	s->fill = 0;
	pthread_cond_signal(&s->cv_data);
	while (s->count == s->nslots && !s->done)
		pthread_cond_wait(&s->cv_space, &s->mu);
	return s->done ? stage_error(s) : 0;
}

static int stage_write(void *ud, const void *buf, size_t len)
{
	struct stage *s = ud;
	const uint8_t *p = buf;
	int rc = 0;
	if (s->closing || s->stop)
		return kahu_error_set(KAHU_EINTERNAL, "a write to a sealed stream after its end");
	pthread_mutex_lock(&s->mu);
	bool failed = s->done; /* the thread ends early only by an error: tell it at once */
	if (failed)
		rc = stage_error(s);
	pthread_mutex_unlock(&s->mu);
	if (failed)
		return rc;
	while (len && rc == 0) {
		/* The producer's slot is not queued (a push returns with a free one), so
		 * the thread does not read it. */
		uint8_t *dst = s->blk[s->tail];
		size_t n = s->block - s->fill < len ? s->block - s->fill : len;
		memcpy(dst + s->fill, p, n);
		s->fill += n;
		p += n;
		len -= n;
		if (s->fill == s->block) {
			pthread_mutex_lock(&s->mu);
			rc = stage_push_locked(s);
			pthread_mutex_unlock(&s->mu);
		}
	}
	return rc;
}

static void stage_join(struct stage *s)
{
	if (s->started && !s->joined) {
		pthread_join(s->th, NULL);
		s->joined = true;
	}
}

/* What is queued, then the stage's finish; joined. */
static int stage_finish(void *ud)
{
	struct stage *s = ud;
	int rc = 0;
	if (s->closing || s->stop)
		return kahu_error_set(KAHU_EINTERNAL, "a sealed stream finished twice");
	pthread_mutex_lock(&s->mu);
	if (s->fill && !s->done)
		rc = stage_push_locked(s);
	s->closing = true;
	pthread_cond_signal(&s->cv_data);
	while (!s->done)
		pthread_cond_wait(&s->cv_space, &s->mu);
	if (rc == 0 && s->rc < 0)
		rc = stage_error(s);
	pthread_mutex_unlock(&s->mu);
	stage_join(s);
	return rc;
}

/* Stops the thread (without finishing) and joins it; frees the blocks. */
static void stage_free(struct stage *s)
{
	if (s->started && !s->joined) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv_data);
		pthread_mutex_unlock(&s->mu);
		stage_join(s);
	}
	if (s->nslots) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv_space);
		pthread_cond_destroy(&s->cv_data);
	}
	for (unsigned i = 0; i < s->nslots; i++)
		free(s->blk[i]);
	memset(s, 0, sizeof *s);
}

struct seal_async {
	struct seal_writer sw;   /* the compressor and the envelope, as seal_open makes them */
	struct stage comp;       /* the caller's bytes → zstd → out */
	struct stage out;        /* compressed bytes → envelope → the caller's out */
	bool finished;
};

/* The first stage's end: the end of the zstd frame (into the second stage), then the
 * second stage's end (the envelope's last chunk), awaited. */
static int comp_finish(void *ud)
{
	struct seal_async *a = ud;
	int rc = zs_finish(a->sw.z);
	return rc < 0 ? rc : stage_finish(&a->out);
}

static int env_finish(void *ud)
{
	return kenc_writer_finish(ud);
}

int seal_async_open(struct seal_async **out, const struct kahu_key *key, const char *object_path,
		    int level, kahu_write_fn fn, void *ud)
{
	return seal_async_open_run(out, key, object_path, NULL, level, fn, ud);
}

int seal_async_open_run(struct seal_async **out, const struct kahu_key *key,
			const char *object_path, const uint8_t *run, int level, kahu_write_fn fn,
			void *ud)
{
	int rc;
	*out = NULL;
	struct seal_async *a = xcalloc(1, sizeof *a);
	if (key && (rc = kenc_writer_new_run(key, object_path, run, fn, ud, &a->sw.enc)) < 0)
		goto fail;
	rc = a->sw.enc ? stage_start(&a->out, OUT_BLOCK, OUT_BLOCKS, kenc_write_cb, a->sw.enc,
				     env_finish, a->sw.enc)
		       : stage_start(&a->out, OUT_BLOCK, OUT_BLOCKS, fn, ud, NULL, NULL);
	if (rc < 0 || (rc = seal_compressor_new(&a->sw, level, stage_write, &a->out)) < 0 ||
	    (rc = stage_start(&a->comp, SA_BLOCK, SA_BLOCKS, zs_write_cb, a->sw.z, comp_finish, a)) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	seal_async_free(a);
	return rc;
}

int seal_async_write(struct seal_async *a, const void *buf, size_t len)
{
	return stage_write(&a->comp, buf, len);
}

int seal_async_finish(struct seal_async *a)
{
	if (a->finished)
		return kahu_error_set(KAHU_EINTERNAL, "seal_async_finish twice");
	a->finished = true;
	return stage_finish(&a->comp);
}

void seal_async_free(struct seal_async *a)
{
	if (!a)
		return;
	stage_free(&a->comp); /* first: its thread writes into the second stage */
	stage_free(&a->out);
	seal_close(&a->sw);
	free(a);
}

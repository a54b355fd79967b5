#include "util/pool.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdlib.h>

struct pool {
	kahu_pool_fn fn;
	void *ud;
	size_t njobs;
	unsigned flags;
	pthread_mutex_t lock;   /* guards the fields below */
	size_t next;            /* the next job to hand out */
	int stop;               /* a job failed (without KEEP_GOING) */
	struct kahu_log_scope *log_scope; /* the caller's (util/log.h) */
	size_t failed_job;      /* the lowest index of a failed job, when err.code < 0 */
	struct kahu_error_state err;
};

static void *worker(void *arg)
{
	struct pool *p = arg;
	kahu_log_scope_enter(p->log_scope);
	for (;;) {
		pthread_mutex_lock(&p->lock);
		int go = p->next < p->njobs && !p->stop && !kahu_cancelled();
		size_t i = go ? p->next++ : 0;
		pthread_mutex_unlock(&p->lock);
		if (!go)
			break;
		kahu_error_clear();
		int rc = p->fn(p->ud, i);
		if (rc >= 0)
			continue;
		pthread_mutex_lock(&p->lock);
		if (p->err.code >= 0 || i < p->failed_job) {
			kahu_error_capture(&p->err);
			p->err.code = rc; /* the job's return, even if it set another code */
			p->failed_job = i;
		}
		if (!(p->flags & KAHU_POOL_KEEP_GOING))
			p->stop = 1;
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

int kahu_pool_run(size_t njobs, unsigned threads, unsigned flags, kahu_pool_fn fn, void *ud)
{
	struct pool *p = xcalloc(1, sizeof *p);
	size_t started = 0;
	int rc = 0;

	p->fn = fn;
	p->ud = ud;
	p->njobs = njobs;
	p->flags = flags;
	p->log_scope = kahu_log_scope_current();
	pthread_mutex_init(&p->lock, NULL);
	if (threads < 1)
		threads = 1;
	if (threads > njobs)
		threads = njobs ? (unsigned)njobs : 1;
	pthread_t *th = xcalloc(threads, sizeof *th);
	if (threads > 1)
		for (; started < threads; started++)
			if (pthread_create(&th[started], NULL, worker, p) != 0)
				break;
	if (started == 0)
		worker(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);

	if (p->err.code < 0)
		rc = kahu_error_restore(&p->err);
	else if (p->next < p->njobs && kahu_cancelled())
		rc = kahu_error_set(KAHU_EINTR, "interrupted");
	pthread_mutex_destroy(&p->lock);
	free(th);
	free(p);
	return rc;
}

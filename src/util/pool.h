/* kahu — one worker pool: jobs 0…n−1 handed out in order to a few threads.
 *
 * A job returns 0 or a negative kahu_err code with its message set (kahu_error_set).
 * The pool carries a failed job's code and message back to the caller's thread
 * (kahu_error_capture/restore): of the jobs that failed, the one with the lowest
 * index, so the answer does not depend on which thread was faster.  After a failure,
 * and once the run is cancelled (util/cancel.h), no further job is started unless
 * KAHU_POOL_KEEP_GOING says so. */
#ifndef KAHU_UTIL_POOL_H
#define KAHU_UTIL_POOL_H

#include <stddef.h>

#define KAHU_POOL_KEEP_GOING 1u /* a failed job does not stop the others */

typedef int (*kahu_pool_fn)(void *ud, size_t job);

/* Run `njobs` jobs on at most `threads` threads (at least one; when no thread can be
 * started the caller's thread does the work).  Returns 0 when every job returned 0;
 * else the failed job's code, with its message as this thread's error; KAHU_EINTR
 * ("interrupted") when cancelled before all jobs were started and none failed. */
int kahu_pool_run(size_t njobs, unsigned threads, unsigned flags, kahu_pool_fn fn, void *ud);

#endif

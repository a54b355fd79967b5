/* kahu — the process's one cancellation token.
 *
 * SIGINT and SIGTERM cancel the run: kahu_cancel() stores the reason (the signal
 * number) and wakes every thread sleeping in kahu_cancel_sleep() or polling
 * kahu_cancel_fd().  Cancellation is one-way for the life of the process (tests reset
 * it).  kahu_cancel() is async-signal-safe: an atomic store and a write(2) to a
 * self-pipe, no lock. */
#ifndef KAHU_UTIL_CANCEL_H
#define KAHU_UTIL_CANCEL_H

/* Create the self-pipe now (main calls it before signals can arrive; otherwise the
 * first sleep does).  Returns 0 or KAHU_EIO. */
int kahu_cancel_init(void);
/* Cancel: `reason` is the signal number, or any other non-zero value. */
void kahu_cancel(int reason);
/* 0 while not cancelled, else the reason given to the first kahu_cancel. */
int kahu_cancelled(void);
/* Sleep `ms` milliseconds; returns 0, or KAHU_EINTR at once when cancelled before or
 * during the sleep (the wake-up is immediate: no polling slices).  Sets no message. */
int kahu_cancel_sleep(long ms);
/* A descriptor that becomes readable once cancelled (never read it), or -1. */
int kahu_cancel_fd(void);
/* Shield the calling thread from the token (on != 0) or stop (0): while shielded,
 * kahu_cancelled() is 0, kahu_cancel_fd() is -1 and kahu_cancel_sleep() sleeps its
 * time, so that what an interrupted run created in the cluster (helper pods,
 * snapshots) can still be removed; those requests end by their own timeouts. */
void kahu_cancel_shield(int on);
/* Back to "not cancelled" (unit tests). */
void kahu_cancel_reset(void);

#endif

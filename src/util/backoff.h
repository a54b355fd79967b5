/* kahu — one retry schedule: exponential backoff with jitter, a server's Retry-After,
 * and a budget that all the waits of one operation share.
 *
 *   struct kahu_backoff b = { .base_ms = 250, .cap_ms = 30000, .jitter_div = 4,
 *                             .budget_ms = timeout_ms };
 *   for (attempt = 1;; attempt++) {
 *           …try; on a retryable failure:
 *           long want, wait;
 *           if (kahu_backoff_plan(&b, attempt, retry_after_ms, &want, &wait) == KAHU_BACKOFF_SPENT)
 *                   give up;
 *           if (kahu_backoff_wait(&b, wait) < 0) interrupted;
 *   }
 *
 * Waits sleep on the cancellation token (util/cancel.h): Ctrl-C ends them at once. */
#ifndef KAHU_UTIL_BACKOFF_H
#define KAHU_UTIL_BACKOFF_H

struct kahu_backoff {
	long base_ms;        /* the wait after the first try; doubled after each next one */
	long cap_ms;         /* no backoff wait is longer (0: no cap) */
	unsigned jitter_div; /* the wait spreads ±1/jitter_div of itself (4: ±25 %); 0: none */
	long budget_ms;      /* all waits together at most this (0: no budget) */
	long waited_ms;      /* what the waits have used so far */
};

enum kahu_backoff_plan {
	KAHU_BACKOFF_WAIT = 0,      /* wait what was wanted */
	KAHU_BACKOFF_SHORTENED = 1, /* wait what is left of the budget, less than wanted */
	KAHU_BACKOFF_SPENT = 2,     /* the budget is used up: give up */
};

/* The backoff before try attempt+1 (attempt counts from 1), for a given random value:
 * base·2^(attempt−1) (doubling at most 16 times), capped, spread by the jitter, capped
 * again.  Pure. */
long kahu_backoff_delay(const struct kahu_backoff *b, int attempt, unsigned random);
/* Plan the wait after try `attempt`: `asked_ms` >= 0 is what the server asked for
 * (Retry-After), else the backoff with kahu_random().  *want_ms is that wait,
 * *wait_ms what the budget leaves of it. */
int kahu_backoff_plan(struct kahu_backoff *b, int attempt, long asked_ms, long *want_ms,
		      long *wait_ms);
/* Count `ms` against the budget and sleep it; 0, or KAHU_EINTR when cancelled (no
 * message set). */
int kahu_backoff_wait(struct kahu_backoff *b, long ms);

/* A Retry-After value in delta-seconds ("120"; blanks around it allowed), capped at
 * cap_s; -1 for anything else (empty, negative, an HTTP date, trailing text). */
long kahu_parse_retry_after(const char *value, long cap_s);

/* A per-thread xorshift32 stream seeded from the clock: spread, not secrecy. */
unsigned kahu_random(void);

#endif

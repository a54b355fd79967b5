/* kahu — when an event-driven backup starts: the pure decision from a stream of change
 * times (milliseconds on any monotonic clock).
 *
 *  - quiet period (--quiet-period, default 60 s): a backup starts once nothing has
 *    changed for that long after the last change not yet backed up;
 *  - max interval (--max-interval, 0: none): a backup starts at the latest that long
 *    after the first change not yet backed up, even while changes keep coming;
 *  - no backup starts while one runs: a change during a run is not covered by it (the
 *    run may have read that object already), so changes during a run lead to exactly one
 *    more run after it, due by the same two rules (counted from those changes' times,
 *    so it may be due at once when the run ends).
 *
 * A backup covers every change before its start: debounce_started forgets them.
 *
 *   debounce_init(&d, 60000, 0);
 *   on a change:   debounce_change(&d, now);
 *   on a tick:     if (debounce_due(&d, now)) { debounce_started(&d, now); run…;
 *                                               debounce_finished(&d, now); }
 *   sleep until:   debounce_next(&d) (-1: until the next change or the run's end) */
#ifndef KAHU_ENGINE_DEBOUNCE_H
#define KAHU_ENGINE_DEBOUNCE_H

#include <stdint.h>

struct debounce {
	int64_t quiet_ms;     /* >= 0 */
	int64_t max_ms;       /* 0: no maximum */
	int64_t first;        /* the first change not backed up; -1: none */
	int64_t last;         /* the last change not backed up */
	int running;
	long runs;            /* started so far */
};

void debounce_init(struct debounce *d, int64_t quiet_ms, int64_t max_ms);
/* A change at `now` (times need not grow: an earlier one than the last is counted as
 * it is). */
void debounce_change(struct debounce *d, int64_t now);
/* 1 when a backup should start at `now`. */
int debounce_due(const struct debounce *d, int64_t now);
/* When the next backup is due if nothing else changes, or -1: none pending, or one
 * runs (then the end of the run decides). */
int64_t debounce_next(const struct debounce *d);
/* A backup started at `now`: the changes so far are its to cover. */
void debounce_started(struct debounce *d, int64_t now);
/* The running backup ended (whatever its outcome). */
void debounce_finished(struct debounce *d, int64_t now);
/* 1 while changes wait for a backup. */
int debounce_pending(const struct debounce *d);

/* plan watch's --quiet-period and --max-interval as given (NULL: not given), in seconds:
 * defaults 60 s and 1 h, the default maximum giving way to a quiet period as long or
 * longer, 0 no maximum.  KAHU_EUSAGE (with its message) when one is not a duration or
 * the maximum is shorter than the quiet period.  plan watch and plan install --watch
 * check them alike. */
int debounce_periods(const char *quiet, const char *max, int64_t *quiet_s, int64_t *max_s);

#endif

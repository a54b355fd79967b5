/* kahu — cron schedules: parsing and the next firing, in a time zone.
 *
 * Five fields, minute hour day-of-month month day-of-week:
 *   minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 0-7
 *   or SUN-SAT (0 and 7 are Sunday); names in any case.
 *   Each field is a comma-separated list of items: `*`, a value, a range `a-b`
 *   (a <= b), each optionally followed by a step `/n` (n >= 1); `a/n` means a to the
 *   field's maximum, every n.
 *   Day-of-month and day-of-week combine as Vixie cron (and cronie) do: when either
 *   field starts with `*`, a day must match both; when both are restricted, a day
 *   matching either fires (`0 0 13 * 5` fires on every 13th and every Friday).
 * Or one of @yearly (= @annually, `0 0 1 1 *`), @monthly (`0 0 1 * *`), @weekly
 * (`0 0 * * 0`), @daily (= @midnight, `0 0 * * *`), @hourly (`0 * * * *`).
 * Not supported (refused): @reboot, seconds or year fields, L W # ?.
 *
 * Times are local wall-clock times of the schedule's zone (src/util/tzif.h; no
 * process-global state: a `struct cron` may be shared by threads).  Daylight saving:
 *   - a local time that does not exist (the clock jumps over it in spring) fires once,
 *     at the instant the clock jumps (the first local time after the gap: 03:00 when
 *     02:00-02:59 are skipped), as cronie runs jobs of the skipped hour right after the
 *     change; several such times (every 15 minutes) fire that once together;
 *   - a local time that occurs twice (the clock goes back in autumn) fires once, at its
 *     first occurrence; the repeated wall-clock period fires nothing (so `0-59/15` has no
 *     firing for the hour that repeats, and `30 2 * * *` fires once that day). */
#ifndef KAHU_UTIL_CRON_H
#define KAHU_UTIL_CRON_H

#include <stdint.h>

struct cron;   /* opaque, immutable after parse: safe to share between threads */

/* Parse a schedule.  tz: an IANA zone name ("Europe/Berlin"), NULL or "UTC" for UTC.
 * Errors: KAHU_EUSAGE with a message naming the field and the offending text
 * ("schedule \"0 25 * * *\": hour 25 is out of range 0-23"), KAHU_ENOTFOUND for an
 * unknown zone (KAHU_EUSAGE for a malformed zone name, KAHU_EDATA for a broken zone
 * file). */
int cron_parse(const char *expr, const char *tz, struct cron **out);
void cron_free(struct cron *c);
/* The first firing strictly after `after` (seconds since the epoch), by the rules above.
 * KAHU_ENOTFOUND when there is none within 5 years (e.g. `0 0 30 2 *`); KAHU_EUSAGE
 * when `after` is outside the years 0001-9999. */
int cron_next(const struct cron *c, int64_t after, int64_t *next);
/* The expression normalized for display ("0 3 * * *  (Europe/Berlin)"): fields separated
 * by one space, @ forms spelt out, the zone in parentheses ("UTC" when none). */
const char *cron_text(const struct cron *c);

/* The values a schedule fires on (bit n: value n matches), for writing it in another
 * form (systemd's OnCalendar=).  dom 1-31, month 1-12, dow 0-6 (Sunday is 0).  When
 * both day fields are restricted (neither starts with '*'), a day matching either one
 * fires; otherwise a day must match both. */
struct cron_sets {
	uint64_t minute, hour, dom, month, dow;
	int dom_restricted, dow_restricted;
};
void cron_sets(const struct cron *c, struct cron_sets *out);

#endif

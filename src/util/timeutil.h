/* kahu — durations and timestamps. */
#ifndef KAHU_UTIL_TIMEUTIL_H
#define KAHU_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "720h", "30d", "1h30m", "90s", "0": sums of <number><unit> with units d, h, m, s.
 * KAHU_EUSAGE with a message naming `what` when malformed. */
int duration_parse(const char *s, const char *what, int64_t *seconds);
/* "3d4h", "5m", "12s": the two largest units, for tables. */
void duration_format(int64_t seconds, char *buf, size_t len);
/* "2026-11-25T13:00:00Z" (what kahu_time_format writes; "" when it cannot). */
void time_rfc3339(time_t t, char *buf, size_t len);

/* RFC 3339 timestamps, the one parser and formatter.
 *
 * Accepted: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)", exactly those digits;
 * 'T' and 'Z' in either case; a real date (no February 30; February 29 in leap years
 * only); hours 00-23, minutes 00-59, seconds 00-60 (a leap second counts as :59);
 * offsets up to ±23:59.  The fraction is dropped (whole seconds).  Refused: anything
 * else, including blanks around it, missing fields, a date-only or time-only form,
 * trailing text.  Flags: */
#define KAHU_TIME_UTC   1u /* only "Z": refuse numeric offsets (what kahu itself writes) */
#define KAHU_TIME_SPACE 2u /* also a space between date and time (RFC 3339 section 5.6 note) */
/* 0 and *out (seconds since the epoch), or -1 (nothing set; no message). */
int kahu_time_parse(const char *s, unsigned flags, int64_t *out);

#define KAHU_TIME_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" */
/* Format t in UTC; -1 (out = "") when its year is outside 0000-9999. */
int kahu_time_format(int64_t t, char out[KAHU_TIME_LEN + 1]);

#endif

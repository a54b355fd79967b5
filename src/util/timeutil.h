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
/* "2026-11-25T13:00:00Z" */
void time_rfc3339(time_t t, char *buf, size_t len);

#endif

/* kahu — time zones from TZif files (RFC 8536), without process-global state.
 *
 * A zone is read from its TZif file ($TZDIR, else /usr/share/zoneinfo) into an
 * immutable value that threads may share; nothing here calls tzset() or reads TZ.
 * Versions 1 to 4: the 64-bit data of version 2 and later is used when present, the
 * 32-bit data otherwise; the footer's POSIX TZ string (std offset[dst[offset][,rule]],
 * rules Jn, n and Mm.w.d with times up to ±167 hours) gives the offsets after the last
 * transition of the table.  Before the first transition, time type 0 applies.  Zones
 * with leap-second records (the right/ zones) are refused. */
#ifndef KAHU_UTIL_TZIF_H
#define KAHU_UTIL_TZIF_H

#include <stddef.h>
#include <stdint.h>

struct tzif;

/* Load a zone by its IANA name ("Europe/Berlin").  NULL, "" and "UTC" give UTC without
 * reading a file.  Names are relative paths of letters, digits and . _ + - / (no ".."
 * component, no leading /).  KAHU_EUSAGE for a malformed name, KAHU_ENOTFOUND for a
 * zone with no file, KAHU_EDATA for a file that is not a valid TZif file. */
int tzif_load(const char *name, struct tzif **out);
/* Parse TZif bytes (`name` is used in messages and kept).  KAHU_EDATA with a message
 * saying what is wrong. */
int tzif_parse(const unsigned char *data, size_t len, const char *name, struct tzif **out);
void tzif_free(struct tzif *z);
/* The zone's name ("UTC" for the built-in one). */
const char *tzif_name(const struct tzif *z);
/* The offset from UTC, in seconds east, in effect at instant t (seconds since the epoch;
 * instants beyond ±2^52 s, some 142 million years, are read as ±2^52). */
int32_t tzif_offset(const struct tzif *z, int64_t t);

/* Local wall-clock time as seconds since 1970-01-01 00:00 of that clock (t + offset),
 * and the instant(s) a local wall-clock time names:
 *   1: exactly one (*first = it);
 *   2: the local time occurs twice (a fall-back repeat): *first is the earlier;
 *   0: the local time does not exist (a spring-forward gap): *first is the instant the
 *      gap ends, when the clock jumps past it. */
int64_t tzif_local(const struct tzif *z, int64_t t);
int tzif_resolve(const struct tzif *z, int64_t local, int64_t *first);

/* Civil calendar helpers (proleptic Gregorian), valid for any int64 day count that
 * fits the years of int64. */
int64_t tz_days_from_civil(int64_t y, unsigned m, unsigned d);
void tz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* 0 = Sunday. */
unsigned tz_weekday(int64_t days);
unsigned tz_days_in_month(int64_t y, unsigned m);

#endif

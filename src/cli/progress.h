/* kahu — a one-line progress display on a terminal (stderr).  Updates are throttled
 * to ten a second; log messages clear the line and it is redrawn after them. */
#ifndef KAHU_CLI_PROGRESS_H
#define KAHU_CLI_PROGRESS_H

#include <stdint.h>

/* enabled = 0 makes every call a no-op (not a terminal, --no-progress, -q, -v). */
void progress_start(int enabled, const char *what);
/* The text after "what: ", e.g. "12/53 types, 10432 objects, 12.3 MiB". */
void progress_update(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_done(void);

/* The line for a backup: types done of total, objects, bytes written, rate. */
void progress_backup(uint64_t types_done, uint64_t types_total, long objects, uint64_t bytes);

/* The line while a volume's data is read: namespace/pvc, bytes read, entries, and the
 * rate since the volume started: a new namespace/pvc, or 0 bytes and 0 entries, starts
 * it anew, and that line is drawn at once. */
void progress_volume(const char *namespace_, const char *pvc, uint64_t bytes, uint64_t files);
/* The same while a volume's data is written (restore): content bytes written.  Several
 * volumes may be written at once, each with its own rate. */
void progress_volume_written(const char *namespace_, const char *pvc, uint64_t bytes, uint64_t files);

#endif

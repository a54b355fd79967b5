/* kahu — what the bundle's source files share and nothing else includes: the quoting
 * of member names in messages, the UTF-8 locale that libarchive converts names under
 * (bundle_name.c), and the reader's sticky error for extraction (bundle_read.c). */
#ifndef KAHU_ARCHIVE_BUNDLE_INT_H
#define KAHU_ARCHIVE_BUNDLE_INT_H

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>

struct bundle_reader;

/* Room for a quoted name (bundle_quote cuts after ~200 bytes). */
#define BUNDLE_QUOTE_CAP 224

/* A printable, bounded rendering of a name for messages: quotes, control characters
 * and (in invalid UTF-8) high bytes escaped, cut after ~200 bytes.  Returns out. */
const char *bundle_quote(const char *s, char *out, size_t cap);

/* libarchive converts names between the pax header's UTF-8 and the current locale's
 * charset; header calls run between these two under a UTF-8 LC_CTYPE for this thread.
 * bundle_utf8_enter returns what bundle_utf8_leave restores ((locale_t)0: nothing);
 * bundle_utf8_available is false when the system has no UTF-8 locale at all. */
locale_t bundle_utf8_enter(void);
void bundle_utf8_leave(locale_t old);
bool bundle_utf8_available(void);

/* The object path the reader was opened for (what its messages start with). */
const char *bundle_reader_path(const struct bundle_reader *r);
/* Records the error just set (code rc, kahu_error_last) as the reader's sticky error
 * unless it has one already; returns the sticky code. */
int bundle_reader_fail(struct bundle_reader *r, int rc);

#endif

/* kahu — allocation helpers.  Like git's xmalloc: running out of memory in a command
 * line tool is not recoverable in any useful way, so these print and abort. */
#ifndef KAHU_UTIL_MEM_H
#define KAHU_UTIL_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);        /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Zero then free: for buffers that held secrets. */
void free_secret(void *p, size_t n);
void free_secret_str(char *s);

#endif

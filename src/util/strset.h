/* kahu — a set of strings (open addressing, FNV-1a).  Not thread-safe. */
#ifndef KAHU_UTIL_STRSET_H
#define KAHU_UTIL_STRSET_H

#include <stddef.h>

struct strset {
	char **slots;
	size_t cap;   /* power of two, or 0 */
	size_t n;
};

#define STRSET_INIT { NULL, 0, 0 }

/* Returns 1 when added, 0 when it was there already. */
int strset_add(struct strset *s, const char *str);
int strset_has(const struct strset *s, const char *str);
void strset_free(struct strset *s);

#endif

/* kahu — a set of strings (open addressing, FNV-1a).  Not thread-safe. */
#ifndef KAHU_UTIL_STRSET_H
#define KAHU_UTIL_STRSET_H

#include <stddef.h>

struct strset {
	char **slots;
	char **values; /* parallel to slots; NULL until strset_put is used */
	size_t cap;    /* power of two, or 0 */
	size_t n;
};

#define STRSET_INIT { NULL, NULL, 0, 0 }

/* Returns 1 when added, 0 when it was there already. */
int strset_add(struct strset *s, const char *str);
int strset_has(const struct strset *s, const char *str);
/* A map: set key's value (copied), replacing an older one. */
void strset_put(struct strset *s, const char *key, const char *value);
/* The value of key, or NULL (absent, or added without a value). */
const char *strset_get(const struct strset *s, const char *key);
void strset_free(struct strset *s);

#endif

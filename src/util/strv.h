/* kahu — NULL-terminated vectors of owned strings. */
#ifndef KAHU_UTIL_STRV_H
#define KAHU_UTIL_STRV_H

#include <stddef.h>

struct strv {
	char **v;   /* NULL-terminated once anything was pushed; NULL before */
	size_t n;
	size_t cap;
};

#define STRV_INIT { NULL, 0, 0 }

void strv_push(struct strv *s, const char *str);       /* copies */
void strv_push_owned(struct strv *s, char *str);       /* takes ownership */
/* Split `str` on `sep`, trim blanks, skip empty fields, push each. */
void strv_split(struct strv *s, const char *str, char sep);
int strv_contains(const struct strv *s, const char *str);
char *strv_join(const struct strv *s, const char *sep);
void strv_sort(struct strv *s);
/* Sort and drop duplicates. */
void strv_sort_uniq(struct strv *s);
void strv_free(struct strv *s);

#endif

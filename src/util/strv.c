#include "util/strv.h"
#include "util/buf.h"
#include "util/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void strv_push_owned(struct strv *s, char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

void strv_push(struct strv *s, const char *str) { strv_push_owned(s, xstrdup(str)); }

void strv_split(struct strv *s, const char *str, char sep)
{
	const char *p = str;
	while (p && *p) {
		const char *e = strchr(p, sep);
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *a = p, *b = p + n;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a)
			strv_push_owned(s, xstrndup(a, (size_t)(b - a)));
		p = e ? e + 1 : NULL;
	}
}

int strv_contains(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return 1;
	return 0;
}

char *strv_join(const struct strv *s, const char *sep)
{
	struct kbuf b = KBUF_INIT;
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			kbuf_adds(&b, sep);
		kbuf_adds(&b, s->v[i]);
	}
	return kbuf_detach(&b);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(struct strv *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, cmpstr);
}

void strv_sort_uniq(struct strv *s)
{
	strv_sort(s);
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (w && strcmp(s->v[w - 1], s->v[i]) == 0) {
			free(s->v[i]);
			continue;
		}
		s->v[w++] = s->v[i];
	}
	s->n = w;
	if (s->v)
		s->v[w] = NULL;
}

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

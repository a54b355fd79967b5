#include "util/buf.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void kbuf_grow(struct kbuf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void kbuf_add(struct kbuf *b, const void *p, size_t n)
{
	kbuf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void kbuf_adds(struct kbuf *b, const char *s) { kbuf_add(b, s, strlen(s)); }
void kbuf_addc(struct kbuf *b, char c) { kbuf_add(b, &c, 1); }

void kbuf_addvf(struct kbuf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	kbuf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void kbuf_addf(struct kbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kbuf_addvf(b, fmt, ap);
	va_end(ap);
}

void kbuf_reset(struct kbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *kbuf_detach(struct kbuf *b)
{
	char *p = b->data ? b->data : xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *kbuf_str(const struct kbuf *b) { return b->data ? b->data : ""; }

void kbuf_free(struct kbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void kbuf_free_secret(struct kbuf *b)
{
	if (b->data)
		sodium_memzero(b->data, b->cap);
	kbuf_free(b);
}

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

/* Length of the valid UTF-8 sequence at s (1-4), 0 when it is not one.  Overlong
 * forms, surrogates and code points past U+10FFFF are not valid. */
static size_t utf8_seq(const unsigned char *s, unsigned int *cp)
{
	unsigned char c = s[0];
	size_t n;
	unsigned int v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) { n = 2; v = c & 0x1f; min = 0x80; }
	else if (c >= 0xe0 && c <= 0xef) { n = 3; v = c & 0x0f; min = 0x800; }
	else if (c >= 0xf0 && c <= 0xf4) { n = 4; v = c & 0x07; min = 0x10000; }
	else return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

void kbuf_add_printable(struct kbuf *b, const char *str, int keep_newline)
{
	const unsigned char *s = (const unsigned char *)str;
	while (*s) {
		unsigned int cp;
		size_t n = utf8_seq(s, &cp);
		if (n == 0) {
			kbuf_addf(b, "\\x%02x", *s);
			s++;
			continue;
		}
		if (cp == '\n' && keep_newline)
			kbuf_addc(b, '\n');
		else if (cp == '\n')
			kbuf_adds(b, "\\n");
		else if (cp == '\t')
			kbuf_adds(b, "\\t");
		else if (cp == '\r')
			kbuf_adds(b, "\\r");
		else if (cp < 0x20 || cp == 0x7f)
			kbuf_addf(b, "\\x%02x", cp);
		else if (cp >= 0x80 && cp <= 0x9f)
			kbuf_addf(b, "\\u%04x", cp);
		else
			kbuf_add(b, s, n);
		s += n;
	}
}

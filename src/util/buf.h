/* kahu — growable byte buffer, always NUL-terminated. */
#ifndef KAHU_UTIL_BUF_H
#define KAHU_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct kbuf {
	char *data;  /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define KBUF_INIT { NULL, 0, 0 }

void kbuf_grow(struct kbuf *b, size_t extra);
void kbuf_add(struct kbuf *b, const void *p, size_t n);
void kbuf_adds(struct kbuf *b, const char *s);
void kbuf_addc(struct kbuf *b, char c);
void kbuf_addf(struct kbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kbuf_addvf(struct kbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void kbuf_reset(struct kbuf *b);            /* len = 0, keeps memory */
char *kbuf_detach(struct kbuf *b);          /* caller frees; buffer is emptied */
const char *kbuf_str(const struct kbuf *b); /* "" when empty */
void kbuf_free(struct kbuf *b);
void kbuf_free_secret(struct kbuf *b);      /* zeroes before freeing */
/* Appends s made safe for a terminal: control characters (C0, DEL, C1) as \t \r \n or
 * \xNN / \uNNNN escapes, bytes that are not valid UTF-8 as \xNN, so that a name from a
 * cluster or an archive cannot move the cursor, retitle the window or forge a line.
 * keep_newline: '\n' is kept (multi-line messages of kahu's own). */
void kbuf_add_printable(struct kbuf *b, const char *s, int keep_newline);

#endif

/* kahu — a Kubernetes object as JSON text (see objtext.h).
 *
 * One forward walk over the bytes.  Strings, most of an object, are skipped with
 * memchr (their end is the first '"' not escaped; the scanner checked what is
 * inside); containers other than the object itself and its "metadata" are skipped by
 * counting brackets; numbers are looked at only to find those jansson would refuse. */
#include "kube/objtext.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/mem.h"

/* The longest key text (between its quotes) that can still spell one of the keys we
 * look for, each character written as a \u escape: 15 characters of 6 bytes. */
#define KEY_TEXT_MAX 96

enum meta_field { MF_NAME, MF_NAMESPACE, MF_UID, MF_RV, MF_LABELS, MF_N };

static const char *const meta_keys[MF_N] = { "name", "namespace", "uid", "resourceVersion",
					     "labels" };

struct span {
	const unsigned char *a;  /* NULL: absent */
	size_t n;
	int esc;                 /* a string holding escapes */
};

struct walk {
	const unsigned char *s, *p, *end;
	int space;               /* whitespace seen outside strings */
	const char *why;         /* the first error… */
	size_t at;               /* …and where */
	/* objtext_scan's */
	struct objtext *o;
	int md_seen, md_object;
	struct span md[MF_N];
	/* objtext_member's */
	const char *want;
	struct span found;
	/* labels_read's */
	json_t *labels;
};

static int key_has_nul(const unsigned char *a, const unsigned char *b);

static int fail(struct walk *w, const char *why)
{
	if (!w->why) {
		w->why = why;
		w->at = (size_t)(w->p - w->s);
	}
	w->p = w->end;
	return -1;
}

static int is_ws(unsigned c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct walk *w)
{
	while (w->p < w->end && is_ws(*w->p)) {
		w->space = 1;
		w->p++;
	}
}

/* The end of the string starting at p ('"'): past its closing quote, or NULL. */
static const unsigned char *string_end(const unsigned char *p, const unsigned char *end, int *esc)
{
	p++;
	for (;;) {
		const unsigned char *q = memchr(p, '"', (size_t)(end - p));
		if (!q)
			return NULL;
		const unsigned char *b = memchr(p, '\\', (size_t)(q - p));
		if (!b)
			return q + 1;
		if (esc)
			*esc = 1;
		p = b + 2;   /* past the escaped character (of \u, the 'u') */
		if (p >= end)
			return NULL;
	}
}

static int skip_string(struct walk *w, int *esc)
{
	const unsigned char *q = string_end(w->p, w->end, esc);
	if (!q)
		return fail(w, "a string does not end");
	w->p = q;
	return 0;
}

/* A number: refused where jansson refuses it (strtoll's and strtod's range). */
static int number(struct walk *w)
{
	const unsigned char *a = w->p, *p = a;
	size_t digits = 0, int_digits = 0;
	int real = 0, exp = 0;

	for (; p < w->end; p++) {
		unsigned c = *p;
		if (c >= '0' && c <= '9') {
			digits++;
			int_digits += !real;
		} else if (c == '.' || c == 'e' || c == 'E') {
			real = 1;
			exp |= c != '.';
		} else if (c != '-' && c != '+') {
			break;
		}
	}
	if (!digits)
		return fail(w, "a number has no digits");
	w->p = p;
	/* 18 digits always fit in 64 bits; a real can only overflow with an exponent or
	 * over 300 digits before its point. */
	if ((real && !exp && int_digits <= 300) || (!real && digits <= 18))
		return 0;
	size_t n = (size_t)(p - a);
	char small[64];
	char *t = n < sizeof small ? small : xmalloc(n + 1);
	memcpy(t, a, n);
	t[n] = '\0';
	int bad = 0;
	const char *why = NULL;
	errno = 0;
	if (!real) {
		long long v = strtoll(t, NULL, 10);
		if (errno == ERANGE) {
			bad = 1;
			why = v < 0 ? "too big negative integer" : "too big integer";
		}
	} else {
		double v = strtod(t, NULL);
		if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)) {
			bad = 1;
			why = "real number overflow";
		}
	}
	if (t != small)
		free(t);
	if (bad) /* (where jansson says: after the number) */
		return fail(w, why);
	return 0;
}

static void literal(struct walk *w)
{
	while (w->p < w->end && *w->p >= 'a' && *w->p <= 'z')
		w->p++;
}

static int skip_value(struct walk *w)
{
	if (w->p >= w->end)
		return fail(w, "a value is missing");
	unsigned c = *w->p;
	if (c == '"')
		return skip_string(w, NULL);
	if (c == '-' || (c >= '0' && c <= '9'))
		return number(w);
	if (c >= 'a' && c <= 'z') {
		literal(w);
		return 0;
	}
	if (c != '{' && c != '[')
		return fail(w, "not a JSON value");
	size_t depth = 0;
	while (w->p < w->end) {
		c = *w->p;
		switch (c) {
		case '"': {
			const unsigned char *a = w->p;
			int esc = 0;
			if (skip_string(w, &esc) < 0)
				return -1;
			if (esc && key_has_nul(a, w->p)) {
				const unsigned char *q = w->p;
				while (q < w->end && is_ws(*q))
					q++;
				if (q < w->end && *q == ':')
					return fail(w, "NUL byte in object key not supported");
			}
			continue;
		}
		case '{':
		case '[':
			depth++;
			w->p++;
			continue;
		case '}':
		case ']':
			w->p++;
			if (--depth == 0)
				return 0;
			continue;
		case ',':
		case ':':
			w->p++;
			continue;
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			w->space = 1;
			w->p++;
			continue;
		default:
			if (c == '-' || (c >= '0' && c <= '9')) {
				if (number(w) < 0)
					return -1;
				continue;
			}
			if (c >= 'a' && c <= 'z') {
				literal(w);
				continue;
			}
			return fail(w, "not a JSON value");
		}
	}
	return fail(w, "a container does not end");
}

static int hex4(const unsigned char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The n bytes between a string's quotes, decoded into out (n bytes are enough).
 * Returns the length, or -1 for an escape that is not JSON's (a lone surrogate is
 * refused as jansson refuses it). */
static long decode(const unsigned char *p, size_t n, char *out)
{
	const unsigned char *end = p + n;
	size_t k = 0;
	while (p < end) {
		if (*p != '\\') {
			out[k++] = (char)*p++;
			continue;
		}
		if (end - p < 2)
			return -1;
		unsigned c = p[1];
		p += 2;
		switch (c) {
		case '"': case '\\': case '/': out[k++] = (char)c; continue;
		case 'b': out[k++] = '\b'; continue;
		case 'f': out[k++] = '\f'; continue;
		case 'n': out[k++] = '\n'; continue;
		case 'r': out[k++] = '\r'; continue;
		case 't': out[k++] = '\t'; continue;
		case 'u': break;
		default: return -1;
		}
		unsigned cp, lo;
		if (end - p < 4 || hex4(p, &cp) < 0)
			return -1;
		p += 4;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return -1;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) < 0 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return -1;
			p += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		k += put_utf8(out + k, cp);
	}
	return (long)k;
}

/* The key whose string (quotes included) is [a, b): is it `want`? */
static int key_is(const unsigned char *a, const unsigned char *b, int esc, const char *want)
{
	size_t n = (size_t)(b - a) - 2, wl = strlen(want);
	if (!esc)
		return n == wl && memcmp(a + 1, want, n) == 0;
	char buf[KEY_TEXT_MAX];
	if (n > sizeof buf)
		return 0;
	long k = decode(a + 1, n, buf);
	return k == (long)wl && memcmp(buf, want, wl) == 0;
}

/* jansson refuses a key holding "\u0000", as it refused the whole object when each
 * item was parsed whole: so does the walk.  [a, b) is the key's string. */
static int key_has_nul(const unsigned char *a, const unsigned char *b)
{
	size_t n = (size_t)(b - a) - 2;
	if (!memmem(a + 1, n, "\\u0000", 6))
		return 0;
	char *buf = xmalloc(n + 1);
	long k = decode(a + 1, n, buf);
	int nul = k > 0 && memchr(buf, '\0', (size_t)k) != NULL;
	free(buf);
	return nul;
}

typedef int (*member_fn)(struct walk *w, const unsigned char *ka, const unsigned char *kb,
			 int kesc);

/* At '{': fn for each member, with its key's string and w->p at its value; fn moves
 * w->p past the value. */
static int object_each(struct walk *w, member_fn fn)
{
	w->p++;
	skip_ws(w);
	if (w->p < w->end && *w->p == '}') {
		w->p++;
		return 0;
	}
	for (;;) {
		skip_ws(w);
		if (w->p >= w->end || *w->p != '"')
			return fail(w, "a key is missing");
		const unsigned char *ka = w->p;
		int esc = 0;
		if (skip_string(w, &esc) < 0)
			return -1;
		const unsigned char *kb = w->p;
		if (esc && key_has_nul(ka, kb))
			return fail(w, "NUL byte in object key not supported");
		skip_ws(w);
		if (w->p >= w->end || *w->p != ':')
			return fail(w, "a ':' is missing");
		w->p++;
		skip_ws(w);
		if (w->p >= w->end)
			return fail(w, "a value is missing");
		if (fn(w, ka, kb, esc) < 0)
			return -1;
		skip_ws(w);
		if (w->p >= w->end)
			return fail(w, "an object does not end");
		if (*w->p == ',') {
			w->p++;
			continue;
		}
		if (*w->p == '}') {
			w->p++;
			return 0;
		}
		return fail(w, "a ',' or '}' is missing");
	}
}

static int meta_member(struct walk *w, const unsigned char *ka, const unsigned char *kb, int kesc)
{
	const unsigned char *a = w->p;
	int esc = 0, f;
	for (f = 0; f < MF_N; f++)
		if (key_is(ka, kb, kesc, meta_keys[f]))
			break;
	int rc = f < MF_N && *a == '"' ? skip_string(w, &esc) : skip_value(w);
	if (rc == 0 && f < MF_N)
		w->md[f] = (struct span){ a, (size_t)(w->p - a), esc };
	return rc;
}

static int top_member(struct walk *w, const unsigned char *ka, const unsigned char *kb, int kesc)
{
	struct objtext *o = w->o;
	if (key_is(ka, kb, kesc, "metadata")) {
		/* the last one counts: forget an earlier one's members */
		w->md_seen = 1;
		memset(w->md, 0, sizeof w->md);
		w->md_object = *w->p == '{';
		return w->md_object ? object_each(w, meta_member) : skip_value(w);
	}
	if (key_is(ka, kb, kesc, "apiVersion")) {
		o->has_api_version = 1;
		o->api_version_string = *w->p == '"';
	} else if (key_is(ka, kb, kesc, "kind")) {
		o->has_kind = 1;
		o->kind_string = *w->p == '"';
	}
	return skip_value(w);
}

json_t *objtext_string(const char *val, size_t vlen)
{
	const unsigned char *a = (const unsigned char *)val;
	if (vlen < 2 || a[0] != '"' || a[vlen - 1] != '"')
		return NULL;
	int esc = memchr(a + 1, '\\', vlen - 2) != NULL;
	if (!esc)
		return json_stringn(val + 1, vlen - 2);
	char *buf = xmalloc(vlen);
	long k = decode(a + 1, vlen - 2, buf);
	json_t *s = k < 0 ? NULL : json_stringn(buf, (size_t)k);
	free(buf);
	return s;
}

/* A member of metadata.labels: its string value set under its decoded key; a value
 * that is not a string ends the walk (the caller then reads the labels with jansson). */
static int label_member(struct walk *w, const unsigned char *ka, const unsigned char *kb,
			int kesc)
{
	const unsigned char *a = w->p;
	if (*a != '"' || skip_string(w, NULL) < 0)
		return fail(w, "not a string");
	json_t *v = objtext_string((const char *)a, (size_t)(w->p - a));
	size_t kn = (size_t)(kb - ka) - 2;
	char small[128];
	char *key = (char *)ka + 1;
	long klen = (long)kn;
	if (kesc) {
		key = kn < sizeof small ? small : xmalloc(kn + 1);
		klen = decode(ka + 1, kn, key);
	}
	int rc;
	if (!v || klen < 0) {
		json_decref(v);
		rc = -1;
	} else {
		rc = json_object_setn_new(w->labels, key, (size_t)klen, v); /* (takes v) */
	}
	if (key != small && key != (char *)ka + 1)
		free(key);
	return rc < 0 ? fail(w, "a label cannot be read") : 0;
}

/* metadata.labels, the usual object of strings, read without a parser's buffers and
 * copies; NULL for anything else (read by jansson then, as before). */
static json_t *labels_read(const struct span *s)
{
	struct walk w = { 0 };
	if (s->n < 2 || s->a[0] != '{')
		return NULL;
	w.s = w.p = s->a;
	w.end = s->a + s->n;
	w.labels = json_object();
	if (object_each(&w, label_member) < 0 || w.p != w.end) {
		json_decref(w.labels);
		return NULL;
	}
	return w.labels;
}

void objtext_clear(struct objtext *o)
{
	if (!o)
		return;
	json_decref(o->summary);
	memset(o, 0, sizeof *o);
}

int objtext_scan(const char *json, size_t len, struct objtext *out)
{
	struct walk w = { 0 };
	memset(out, 0, sizeof *out);
	w.s = w.p = (const unsigned char *)json;
	w.end = w.s + len;
	w.o = out;

	skip_ws(&w);
	if (w.p >= w.end || *w.p != '{') {
		fail(&w, "not a JSON object");
	} else {
		const unsigned char *q = w.p + 1;
		while (q < w.end && is_ws(*q))
			q++;
		out->has_members = q < w.end && *q != '}';
		if (object_each(&w, top_member) == 0) {
			skip_ws(&w);
			if (w.p != w.end)
				fail(&w, "data after the object");
		}
	}
	if (w.why) {
		int rc = kahu_error_set(KAHU_EPROTO, "%s (at its byte %zu)", w.why, w.at);
		objtext_clear(out);
		return rc;
	}
	out->compact = !w.space;
	out->summary = json_object();
	if (!w.md_seen)
		return 0;
	json_t *md = json_object();
	json_object_set_new(out->summary, "metadata", md);
	for (int f = 0; f < MF_N; f++) {
		const struct span *s = &w.md[f];
		json_t *v = NULL;
		if (!s->a)
			continue;
		if (f == MF_LABELS && (v = labels_read(s)) != NULL) {
			/* (an object of strings) */
		} else if (f == MF_LABELS) {
			json_error_t jerr;
			v = json_loadb((const char *)s->a, s->n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
			if (!v) {
				int rc = kahu_error_set(KAHU_EPROTO, "metadata.labels cannot be read "
							"(at its byte %zu)",
							(size_t)(s->a - w.s) + (size_t)(jerr.position > 0 ? jerr.position : 0));
				objtext_clear(out);
				return rc;
			}
		} else if (s->a[0] == '"') {
			v = objtext_string((const char *)s->a, s->n);
		}
		if (v)
			json_object_set_new(md, meta_keys[f], v);
	}
	return 0;
}

char *objtext_store(const char *json, size_t len, const char *insert, size_t ins_len,
		    int compact, size_t *out_len)
{
	const unsigned char *p = (const unsigned char *)json, *end = p + len;
	char *out = xmalloc(len + ins_len + 2);
	size_t n = 0;

	while (p < end && is_ws(*p))
		p++;
	if (p < end && *p == '{') {
		out[n++] = '{';
		p++;
		if (ins_len) {
			const unsigned char *q = p;
			while (q < end && is_ws(*q))
				q++;
			memcpy(out + n, insert, ins_len);
			n += ins_len;
			if (q < end && *q != '}')
				out[n++] = ',';
		}
	}
	if (compact) {
		memcpy(out + n, p, (size_t)(end - p));
		n += (size_t)(end - p);
	} else {
		while (p < end) {
			if (*p == '"') {
				const unsigned char *q = string_end(p, end, NULL);
				if (!q)
					q = end;
				memcpy(out + n, p, (size_t)(q - p));
				n += (size_t)(q - p);
				p = q;
			} else if (is_ws(*p)) {
				p++;
			} else {
				out[n++] = (char)*p++;
			}
		}
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

static int want_member(struct walk *w, const unsigned char *ka, const unsigned char *kb, int kesc)
{
	const unsigned char *a = w->p;
	int rc = skip_value(w);
	if (rc == 0 && key_is(ka, kb, kesc, w->want))
		w->found = (struct span){ a, (size_t)(w->p - a), 0 };
	return rc;
}

int objtext_member(const char *json, size_t len, const char *key, const char **val,
		   size_t *vlen)
{
	struct walk w = { 0 };
	w.s = w.p = (const unsigned char *)json;
	w.end = w.s + len;
	w.want = key;
	skip_ws(&w);
	if (w.p >= w.end || *w.p != '{' || object_each(&w, want_member) < 0 || !w.found.a)
		return 0;
	*val = (const char *)w.found.a;
	*vlen = w.found.n;
	return 1;
}

/* kahu — the item scanner of a LIST response body (see listscan.h).
 *
 * A push-down automaton over bytes: one state for where in the JSON grammar the next
 * byte is (value, key, colon, after a value, inside a string, an escape, a \u escape, a
 * UTF-8 sequence, a number, a literal) and a bit stack of open containers (object or
 * array).  The top-level object (depth 1) and the items array (depth 2) give values
 * their roles: a member value of the top object may be kept ("kind", "apiVersion",
 * "metadata"), the items array's elements are kept one at a time and handed on when the
 * container closes.  Keeping is done by spans: a kept value's bytes are copied from
 * each piece in one go when the value or the piece ends, never a byte at a time, and
 * inside strings (most of a Kubernetes object) plain ASCII is skipped by a tight loop.
 *
 * Limits are checked at the byte that goes beyond them, so the outcome (and the
 * message) of a body does not depend on how it is cut into pieces. */
#include "kube/listscan.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

enum state {
	ST_BEGIN,      /* before the top-level value */
	ST_VALUE,      /* a value is due (after ':' or ',' in an array) */
	ST_ARR_FIRST,  /* after '[': a value or ']' */
	ST_OBJ_FIRST,  /* after '{': a key or '}' */
	ST_OBJ_KEY,    /* after ',' in an object: a key */
	ST_COLON,      /* after a key */
	ST_AFTER,      /* after a value: ',' or the container's end */
	ST_STR,        /* inside a string */
	ST_ESC,        /* after a backslash */
	ST_UHEX,       /* inside the 4 hex digits of \u */
	ST_LOW_BS,     /* after a high surrogate: its low half's backslash is due */
	ST_LOW_U,      /* … and its 'u' */
	ST_UTF8,       /* inside a multi-byte UTF-8 sequence */
	ST_NUM_MINUS, ST_NUM_ZERO, ST_NUM_INT, ST_NUM_DOT, ST_NUM_FRAC, ST_NUM_E, ST_NUM_ESIGN,
	ST_NUM_EXP,
	ST_LIT,        /* inside true, false or null */
	ST_END,        /* after the top-level object: whitespace only */
};

/* The roles of the top-level object's members. */
enum member { M_OTHER = -1, M_KIND = LISTSCAN_KIND, M_API_VERSION = LISTSCAN_API_VERSION,
	      M_METADATA = LISTSCAN_METADATA, M_ITEMS = LISTSCAN_NTOP };

enum capture { CAP_NONE, CAP_ITEM, CAP_TOP };

struct listscan {
	listscan_item_fn fn;
	void *ud;
	size_t max_item;

	enum state st;
	int depth;                      /* open containers */
	unsigned char stack[LISTSCAN_MAX_DEPTH / 8 + 1]; /* bit set: an object */

	/* the string being read */
	int str_key;                    /* it is an object key… */
	int key_top;                    /* …of the top-level object: decoded into key */
	char key[16];
	size_t key_len;
	int key_other;                  /* not one of the members we look for */
	unsigned uval;                  /* \u escape: value so far */
	int uhex;                       /* \u escape: digits so far */
	unsigned hi;                    /* a high surrogate waiting for its low half */
	int utf8_need;                  /* continuation bytes still due */
	unsigned char utf8_lo, utf8_hi; /* the range of the next one */
	const char *lit;                /* the literal being read */
	int lit_pos;

	/* the top-level object */
	enum member member;             /* of the member whose value is read */
	unsigned seen;                  /* bit per member role seen */
	int in_items;                   /* the container at depth 2 is the items array */
	enum listscan_items items_form;
	size_t nitems;

	/* the value being kept */
	enum capture cap;
	int cap_depth;                  /* depth at which it started */
	enum listscan_top cap_top;
	size_t cap_from;                /* where it starts in the current piece */
	size_t cap_lim;                 /* the first index in the piece beyond the limit */
	struct kbuf item;
	struct kbuf top[LISTSCAN_NTOP];
	int top_done[LISTSCAN_NTOP];

	const unsigned char *p;         /* the current piece */
	uint64_t off;                   /* bytes before it */
	int rc;
	enum listscan_error ekind;
	struct kbuf msg;
};

static const char *const top_names[LISTSCAN_NTOP] = { "kind", "apiVersion", "metadata" };

/* Plain string bytes: printable ASCII other than '"' and '\\'. */
static unsigned char plain[256];
static pthread_once_t plain_once = PTHREAD_ONCE_INIT;

static void init_plain(void)
{
	for (int c = 0x20; c < 0x80; c++)
		plain[c] = c != '"' && c != '\\';
}

struct listscan *listscan_new(size_t max_item, listscan_item_fn fn, void *ud)
{
	struct listscan *s = xcalloc(1, sizeof *s);
	pthread_once(&plain_once, init_plain);
	s->fn = fn;
	s->ud = ud;
	s->max_item = max_item;
	listscan_reset(s);
	return s;
}

void listscan_free(struct listscan *s)
{
	if (!s)
		return;
	kbuf_free(&s->item);
	for (int i = 0; i < LISTSCAN_NTOP; i++)
		kbuf_free(&s->top[i]);
	kbuf_free(&s->msg);
	free(s);
}

void listscan_reset(struct listscan *s)
{
	s->st = ST_BEGIN;
	s->depth = 0;
	s->str_key = s->key_top = s->key_other = 0;
	s->key_len = 0;
	s->uval = 0;
	s->uhex = 0;
	s->hi = 0;
	s->utf8_need = 0;
	s->lit = NULL;
	s->lit_pos = 0;
	s->member = M_OTHER;
	s->seen = 0;
	s->in_items = 0;
	s->items_form = LISTSCAN_ITEMS_MISSING;
	s->nitems = 0;
	s->cap = CAP_NONE;
	kbuf_reset(&s->item);
	for (int i = 0; i < LISTSCAN_NTOP; i++) {
		kbuf_reset(&s->top[i]);
		s->top_done[i] = 0;
	}
	s->p = NULL;
	s->off = 0;
	s->rc = 0;
	s->ekind = LISTSCAN_OK;
	kbuf_reset(&s->msg);
}

enum listscan_error listscan_error_kind(const struct listscan *s)
{
	return s->ekind;
}

enum listscan_items listscan_items_form(const struct listscan *s)
{
	return s->items_form;
}

size_t listscan_items(const struct listscan *s)
{
	return s->nitems;
}

uint64_t listscan_offset(const struct listscan *s)
{
	return s->off;
}

const char *listscan_top(const struct listscan *s, enum listscan_top which, size_t *len)
{
	if ((int)which < 0 || which >= LISTSCAN_NTOP || !s->top_done[which]) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = s->top[which].len;
	return kbuf_str(&s->top[which]);
}

/* ---- errors ------------------------------------------------------------------------ */

static int fail(struct listscan *s, enum listscan_error kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct listscan *s, enum listscan_error kind, const char *fmt, ...)
{
	va_list ap;
	kbuf_reset(&s->msg);
	va_start(ap, fmt);
	kbuf_addvf(&s->msg, fmt, ap);
	va_end(ap);
	s->rc = KAHU_EPROTO;
	s->ekind = kind;
	return kahu_error_set(s->rc, "%s", kbuf_str(&s->msg));
}

static const char *describe(unsigned char c, char *buf, size_t n)
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, n, "'%c'", c);
	else if (c == ' ')
		snprintf(buf, n, "a space");
	else
		snprintf(buf, n, "byte 0x%02x", c);
	return buf;
}

/* " in item N" when inside one. */
static const char *where(const struct listscan *s, char *buf, size_t n)
{
	if (s->cap == CAP_ITEM)
		snprintf(buf, n, " (in item %zu)", s->nitems + 1);
	else if (s->cap == CAP_TOP)
		snprintf(buf, n, " (in \"%s\")", top_names[s->cap_top]);
	else
		buf[0] = '\0';
	return buf;
}

static int syntax(struct listscan *s, size_t i, const char *what)
{
	char d[32], w[64];
	return fail(s, LISTSCAN_ESYNTAX, "invalid JSON at byte %llu%s: %s %s",
		    (unsigned long long)(s->off + i), where(s, w, sizeof w), what,
		    describe(s->p[i], d, sizeof d));
}

/* Inside a string: the string may be a Secret's value, so no byte of it is quoted. */
static int string_error(struct listscan *s, size_t i, const char *what)
{
	char w[64];
	return fail(s, LISTSCAN_ESYNTAX, "invalid JSON at byte %llu%s: %s",
		    (unsigned long long)(s->off + i), where(s, w, sizeof w), what);
}

static const char *value_kind(unsigned char c)
{
	switch (c) {
	case '{': return "an object";
	case '[': return "an array";
	case '"': return "a string";
	case 't': case 'f': return "a boolean";
	case 'n': return "null";
	default: return c == '-' || (c >= '0' && c <= '9') ? "a number" : NULL;
	}
}

static const char *size_text(size_t n, char *buf, size_t len)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(buf, len, "%zu MiB", n / (1024 * 1024));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, len, "%zu KiB", n / 1024);
	else
		snprintf(buf, len, "%zu bytes", n);
	return buf;
}

static int limit_error(struct listscan *s)
{
	char sz[32];
	if (s->cap == CAP_ITEM)
		return fail(s, LISTSCAN_ELIMIT, "item %zu is larger than %s", s->nitems + 1,
			    size_text(s->max_item, sz, sizeof sz));
	return fail(s, LISTSCAN_ELIMIT, "the list's \"%s\" is larger than %s", top_names[s->cap_top],
		    size_text(LISTSCAN_MAX_META, sz, sizeof sz));
}

/* ---- values ------------------------------------------------------------------------ */

static size_t cap_max(const struct listscan *s)
{
	if (s->cap == CAP_ITEM)
		return s->max_item ? s->max_item : SIZE_MAX;
	return LISTSCAN_MAX_META;
}

static struct kbuf *cap_buf(struct listscan *s)
{
	return s->cap == CAP_ITEM ? &s->item : &s->top[s->cap_top];
}

/* Where, in a piece where keeping starts (or goes on) at `from`, the limit is passed. */
static void cap_set_limit(struct listscan *s, size_t from)
{
	size_t room = cap_max(s) - cap_buf(s)->len;
	s->cap_from = from;
	s->cap_lim = room > SIZE_MAX - from ? SIZE_MAX : from + room;
}

static void cap_start(struct listscan *s, enum capture what, size_t i)
{
	s->cap = what;
	s->cap_depth = s->depth;
	kbuf_reset(cap_buf(s));
	cap_set_limit(s, i);
}

static int push(struct listscan *s, size_t i, int object)
{
	if (s->depth >= LISTSCAN_MAX_DEPTH) {
		char w[64];
		return fail(s, LISTSCAN_ELIMIT, "JSON nested deeper than %d levels at byte %llu%s",
			    LISTSCAN_MAX_DEPTH, (unsigned long long)(s->off + i),
			    where(s, w, sizeof w));
	}
	unsigned char bit = (unsigned char)(1u << (s->depth & 7));
	if (object)
		s->stack[s->depth >> 3] |= bit;
	else
		s->stack[s->depth >> 3] &= (unsigned char)~bit;
	s->depth++;
	return 0;
}

static int top_is_object(const struct listscan *s)
{
	int d = s->depth - 1;
	return (s->stack[d >> 3] >> (d & 7)) & 1;
}

/* A value began at index i with byte c, in a place where a value is due. */
static int value_start(struct listscan *s, size_t i, unsigned char c)
{
	const char *kind = value_kind(c);

	if (!kind)
		return syntax(s, i, "a value is due, not");
	if (s->depth == 1) {
		/* a member of the top-level object */
		if (s->member == M_ITEMS) {
			if (c == '[') {
				s->items_form = LISTSCAN_ITEMS_ARRAY;
				s->in_items = 1;
			} else if (c == 'n') {
				s->items_form = LISTSCAN_ITEMS_NULL;
			} else {
				return fail(s, LISTSCAN_EFORM, "the list's \"items\" is %s, not an array "
					    "(byte %llu)", kind, (unsigned long long)(s->off + i));
			}
		} else if (s->member != M_OTHER) {
			s->cap_top = (enum listscan_top)s->member;
			cap_start(s, CAP_TOP, i);
		}
	} else if (s->depth == 2 && s->in_items) {
		if (c != '{')
			return fail(s, LISTSCAN_EFORM, "item %zu is %s, not an object (byte %llu)",
				    s->nitems + 1, kind, (unsigned long long)(s->off + i));
		cap_start(s, CAP_ITEM, i);
	}
	switch (c) {
	case '{':
		s->st = ST_OBJ_FIRST;
		return push(s, i, 1);
	case '[':
		s->st = ST_ARR_FIRST;
		return push(s, i, 0);
	case '"':
		s->st = ST_STR;
		s->str_key = 0;
		s->key_top = 0;
		return 0;
	case '-':
		s->st = ST_NUM_MINUS;
		return 0;
	case '0':
		s->st = ST_NUM_ZERO;
		return 0;
	case 't':
		s->lit = "true";
		break;
	case 'f':
		s->lit = "false";
		break;
	case 'n':
		s->lit = "null";
		break;
	default:
		s->st = ST_NUM_INT;
		return 0;
	}
	s->st = ST_LIT;
	s->lit_pos = 1;
	return 0;
}

/* The value read at the current depth ended before index e of the piece. */
static int value_end(struct listscan *s, size_t e)
{
	if (s->cap != CAP_NONE && s->depth == s->cap_depth) {
		struct kbuf *b = cap_buf(s);
		kbuf_add(b, s->p + s->cap_from, e - s->cap_from);
		if (s->cap == CAP_ITEM) {
			size_t index = s->nitems++;
			s->cap = CAP_NONE;
			int rc = s->fn ? s->fn(s->ud, b->data, b->len, index) : 0;
			if (rc < 0) {
				kbuf_reset(&s->msg);
				kbuf_adds(&s->msg, kahu_error_last());
				s->rc = rc;
				s->ekind = LISTSCAN_ECALLBACK;
				return rc;
			}
		} else {
			s->top_done[s->cap_top] = 1;
			s->cap = CAP_NONE;
		}
	}
	if (s->depth == 1 && s->member == M_ITEMS)
		s->in_items = 0;
	s->st = s->depth == 0 ? ST_END : ST_AFTER;
	return 0;
}

/* A container closes with byte c at index i. */
static int close_container(struct listscan *s, size_t i, unsigned char c)
{
	if ((c == '}') != top_is_object(s))
		return syntax(s, i, c == '}' ? "an array cannot end with" : "an object cannot end with");
	s->depth--;
	return value_end(s, i + 1);
}

static void key_add(struct listscan *s, unsigned c)
{
	if (c == 0 || c >= 0x80 || s->key_len + 1 >= sizeof s->key)
		s->key_other = 1;
	else
		s->key[s->key_len++] = (char)c;
}

/* A key of the top-level object is complete. */
static int top_key(struct listscan *s, size_t i)
{
	enum member m = M_OTHER;
	if (!s->key_other) {
		s->key[s->key_len] = '\0';
		if (strcmp(s->key, "items") == 0)
			m = M_ITEMS;
		else
			for (int k = 0; k < LISTSCAN_NTOP; k++)
				if (strcmp(s->key, top_names[k]) == 0)
					m = (enum member)k;
	}
	if (m != M_OTHER) {
		if (s->seen & (1u << m))
			return fail(s, LISTSCAN_EFORM, "the list has \"%s\" twice (byte %llu)",
				    m == M_ITEMS ? "items" : top_names[m],
				    (unsigned long long)(s->off + i));
		s->seen |= 1u << m;
	}
	s->member = m;
	return 0;
}

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A string's byte c >= 0x80 at index i starts a UTF-8 sequence (RFC 3629: no overlong
 * forms, no surrogates, nothing beyond U+10FFFF). */
static int utf8_lead(struct listscan *s, size_t i, unsigned char c)
{
	s->utf8_lo = 0x80;
	s->utf8_hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		s->utf8_need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		s->utf8_need = 2;
		if (c == 0xe0)
			s->utf8_lo = 0xa0;
		else if (c == 0xed)
			s->utf8_hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		s->utf8_need = 3;
		if (c == 0xf0)
			s->utf8_lo = 0x90;
		else if (c == 0xf4)
			s->utf8_hi = 0x8f;
	} else {
		return string_error(s, i, "invalid UTF-8 in a string");
	}
	if (s->key_top)
		s->key_other = 1;
	s->st = ST_UTF8;
	return 0;
}

int listscan_feed(struct listscan *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;
	int rc = 0;

	if (s->rc)
		return kahu_error_set(s->rc, "%s", kbuf_str(&s->msg));
	if (!len)
		return 0;
	s->p = p;
	if (s->cap != CAP_NONE)
		cap_set_limit(s, 0);

	while (i < len) {
		unsigned char c = p[i];

		if (s->cap != CAP_NONE && i >= s->cap_lim)
			return limit_error(s);
		switch (s->st) {
		case ST_STR:
			if (!s->key_top) {
				size_t end = s->cap != CAP_NONE && s->cap_lim < len ? s->cap_lim : len;
				while (i < end && plain[p[i]])
					i++;
				if (i == end)
					continue;
				c = p[i];
			}
			if (c == '"') {
				if (s->str_key) {
					if (s->key_top && (rc = top_key(s, i)) < 0)
						return rc;
					s->st = ST_COLON;
				} else if ((rc = value_end(s, i + 1)) < 0) {
					return rc;
				}
			} else if (c == '\\') {
				s->st = ST_ESC;
			} else if (c < 0x20) {
				return string_error(s, i, "a control character in a string");
			} else if (c >= 0x80) {
				if ((rc = utf8_lead(s, i, c)) < 0)
					return rc;
			} else {
				key_add(s, c); /* only top-level keys come here */
			}
			i++;
			continue;
		case ST_ESC: {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *e = c ? strchr(from, c) : NULL;
			if (c == 'u') {
				s->st = ST_UHEX;
				s->uhex = 0;
				s->uval = 0;
			} else if (e) {
				if (s->key_top)
					key_add(s, (unsigned char)to[e - from]);
				s->st = ST_STR;
			} else {
				return string_error(s, i, "an invalid escape in a string");
			}
			i++;
			continue;
		}
		case ST_UHEX: {
			int h = hexval(c);
			if (h < 0)
				return string_error(s, i, "an invalid \\u escape in a string");
			s->uval = s->uval * 16 + (unsigned)h;
			i++;
			if (++s->uhex < 4)
				continue;
			if (s->hi) {
				if (s->uval < 0xdc00 || s->uval > 0xdfff)
					return string_error(s, i - 6, "a \\u escape of a high surrogate "
							    "followed by one that is not a low one");
				s->hi = 0;
				if (s->key_top)
					s->key_other = 1;
				s->st = ST_STR;
			} else if (s->uval >= 0xd800 && s->uval <= 0xdbff) {
				s->hi = s->uval;
				s->st = ST_LOW_BS;
			} else if (s->uval >= 0xdc00 && s->uval <= 0xdfff) {
				return string_error(s, i - 6, "a \\u escape of a low surrogate without "
						    "its high half");
			} else {
				if (s->key_top)
					key_add(s, s->uval);
				s->st = ST_STR;
			}
			continue;
		}
		case ST_LOW_BS:
		case ST_LOW_U:
			if (c != (s->st == ST_LOW_BS ? '\\' : 'u'))
				return string_error(s, i, "a \\u escape of a high surrogate not "
						    "followed by a low one");
			s->st = s->st == ST_LOW_BS ? ST_LOW_U : ST_UHEX;
			s->uhex = 0;
			s->uval = 0;
			i++;
			continue;
		case ST_UTF8:
			if (c < s->utf8_lo || c > s->utf8_hi)
				return string_error(s, i, "invalid UTF-8 in a string");
			s->utf8_lo = 0x80;
			s->utf8_hi = 0xbf;
			if (--s->utf8_need == 0)
				s->st = ST_STR;
			i++;
			continue;
		default:
			break;
		}

		if (is_ws(c) && s->st <= ST_AFTER) {
			i++;
			continue;
		}
		switch (s->st) {
		case ST_BEGIN:
			if (c != '{') {
				const char *k = value_kind(c);
				char d[32];
				if (!k)
					return syntax(s, i, "the response does not begin with a JSON value:");
				return fail(s, LISTSCAN_EFORM, "the response is %s, not a JSON object "
					    "(it begins with %s)", k, describe(c, d, sizeof d));
			}
			if ((rc = value_start(s, i, c)) < 0)
				return rc;
			break;
		case ST_VALUE:
			if ((rc = value_start(s, i, c)) < 0)
				return rc;
			break;
		case ST_ARR_FIRST:
			if (c == ']')
				rc = close_container(s, i, c);
			else
				rc = value_start(s, i, c);
			if (rc < 0)
				return rc;
			break;
		case ST_OBJ_FIRST:
		case ST_OBJ_KEY:
			if (c == '"') {
				s->st = ST_STR;
				s->str_key = 1;
				s->key_top = s->depth == 1;
				s->key_len = 0;
				s->key_other = 0;
			} else if (c == '}' && s->st == ST_OBJ_FIRST) {
				if ((rc = close_container(s, i, c)) < 0)
					return rc;
			} else {
				return syntax(s, i, "a string (an object's key) is due, not");
			}
			break;
		case ST_COLON:
			if (c != ':')
				return syntax(s, i, "':' is due after an object's key, not");
			s->st = ST_VALUE;
			break;
		case ST_AFTER:
			if (c == ',') {
				s->st = top_is_object(s) ? ST_OBJ_KEY : ST_VALUE;
			} else if (c == '}' || c == ']') {
				if ((rc = close_container(s, i, c)) < 0)
					return rc;
			} else {
				return syntax(s, i, top_is_object(s) ? "',' or '}' is due, not"
								       : "',' or ']' is due, not");
			}
			break;
		case ST_NUM_MINUS:
			if (c == '0')
				s->st = ST_NUM_ZERO;
			else if (c >= '1' && c <= '9')
				s->st = ST_NUM_INT;
			else
				return syntax(s, i, "invalid number: a digit is due after '-', not");
			break;
		case ST_NUM_ZERO:
		case ST_NUM_INT:
		case ST_NUM_FRAC:
		case ST_NUM_EXP:
			if (c >= '0' && c <= '9') {
				if (s->st == ST_NUM_ZERO)
					return syntax(s, i, "invalid number: a leading zero followed by");
				break;
			}
			if (c == '.' && s->st <= ST_NUM_INT) {
				s->st = ST_NUM_DOT;
				break;
			}
			if ((c == 'e' || c == 'E') && s->st != ST_NUM_EXP) {
				s->st = ST_NUM_E;
				break;
			}
			/* the number ended before this byte, which is looked at again */
			if ((rc = value_end(s, i)) < 0)
				return rc;
			continue;
		case ST_NUM_DOT:
			if (c < '0' || c > '9')
				return syntax(s, i, "invalid number: a digit is due after '.', not");
			s->st = ST_NUM_FRAC;
			break;
		case ST_NUM_E:
			if (c == '+' || c == '-') {
				s->st = ST_NUM_ESIGN;
				break;
			}
			/* fall through */
		case ST_NUM_ESIGN:
			if (c < '0' || c > '9')
				return syntax(s, i, "invalid number: a digit is due in the exponent, not");
			s->st = ST_NUM_EXP;
			break;
		case ST_LIT:
			if (c != (unsigned char)s->lit[s->lit_pos])
				return syntax(s, i, "invalid literal (true, false or null):");
			if (s->lit[++s->lit_pos] == '\0' && (rc = value_end(s, i + 1)) < 0)
				return rc;
			break;
		case ST_END:
			if (!is_ws(c))
				return syntax(s, i, "data after the end of the list object:");
			break;
		default:
			return fail(s, LISTSCAN_ESYNTAX, "internal error: scanner state %d", (int)s->st);
		}
		i++;
	}
	if (s->cap != CAP_NONE)
		kbuf_add(cap_buf(s), p + s->cap_from, len - s->cap_from);
	s->off += len;
	s->p = NULL;
	return 0;
}

int listscan_finish(struct listscan *s)
{
	if (s->rc)
		return kahu_error_set(s->rc, "%s", kbuf_str(&s->msg));
	if (s->st == ST_END)
		return 0;
	if (s->st == ST_BEGIN)
		return fail(s, LISTSCAN_ESYNTAX, "the response is empty%s",
			    s->off ? " (whitespace only)" : "");
	if (s->cap == CAP_ITEM)
		return fail(s, LISTSCAN_ESYNTAX, "the response ends inside item %zu (after %llu bytes)",
			    s->nitems + 1, (unsigned long long)s->off);
	if (s->in_items)
		return fail(s, LISTSCAN_ESYNTAX, "the response ends inside the items array, after "
			    "%zu item%s (after %llu bytes)", s->nitems, s->nitems == 1 ? "" : "s",
			    (unsigned long long)s->off);
	return fail(s, LISTSCAN_ESYNTAX, "the response ends before the list object is complete "
		    "(after %llu bytes)", (unsigned long long)s->off);
}

/* kahu — label selectors: parser, matcher, canonical printer.  See labelsel.h. */
#include "engine/labelsel.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/strv.h"

enum ls_op {
	/* Order is the canonical printing order for requirements on the same key. */
	LS_EXISTS,
	LS_NOT_EXISTS,
	LS_EQ,
	LS_NEQ,
	LS_IN,
	LS_NOTIN,
	LS_GT,
	LS_LT,
};

struct ls_req {
	char *key;
	enum ls_op op;
	struct strv values;   /* one value for EQ/NEQ/GT/LT; sorted, unique for IN/NOTIN */
	long long num;        /* GT/LT operand */
};

struct labelsel {
	struct ls_req *reqs;
	size_t n;
};

struct orsel {
	struct labelsel **sels;
	size_t n;
};

#define LABEL_NAME_MAX 63
#define LABEL_PREFIX_MAX 253

/* ---- key and value validation ---- */

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over n bytes (n > 0). */
static int name_chars_ok(const char *s, size_t n)
{
	if (!is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return 0;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/* RFC 1123 subdomain: dot-separated labels of [a-z0-9-], each starting and ending
 * with [a-z0-9]. */
static int dns_subdomain_ok(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			char c = s[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return 0;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return 0;
		start = i + 1;
	}
	return 1;
}

static const char NAME_RULE[] = "name part must consist of alphanumeric characters, '-', "
	"'_' or '.', and must start and end with an alphanumeric character";

int label_key_valid(const char *key, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	const char *slash = strchr(key, '/');
	const char *name = key;
	if (slash) {
		if (strchr(slash + 1, '/')) {
			*why = "at most one '/' is allowed (prefix/name)";
			return 0;
		}
		size_t plen = (size_t)(slash - key);
		if (plen == 0) {
			*why = "prefix before '/' must not be empty";
			return 0;
		}
		if (plen > LABEL_PREFIX_MAX) {
			*why = "prefix is longer than 253 characters";
			return 0;
		}
		if (!dns_subdomain_ok(key, plen)) {
			*why = "prefix must be a DNS subdomain (lowercase alphanumeric "
			       "characters, '-' or '.', starting and ending with an "
			       "alphanumeric character)";
			return 0;
		}
		name = slash + 1;
	}
	size_t n = strlen(name);
	if (n == 0) {
		*why = "name part must not be empty";
		return 0;
	}
	if (n > LABEL_NAME_MAX) {
		*why = "name part is longer than 63 characters";
		return 0;
	}
	if (!name_chars_ok(name, n)) {
		*why = NAME_RULE;
		return 0;
	}
	return 1;
}

int label_value_valid(const char *value, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	size_t n = strlen(value);
	if (n == 0)
		return 1;
	if (n > LABEL_NAME_MAX) {
		*why = "longer than 63 characters";
		return 0;
	}
	if (!name_chars_ok(value, n)) {
		*why = "must consist of alphanumeric characters, '-', '_' or '.', and must "
		       "start and end with an alphanumeric character";
		return 0;
	}
	return 1;
}

/* ---- lexer ---- */

enum tok_kind {
	T_EOF,
	T_IDENT,
	T_NOT,     /* ! */
	T_EQ,      /* = */
	T_DEQ,     /* == */
	T_NEQ,     /* != */
	T_GT,      /* > */
	T_LT,      /* < */
	T_LPAREN,
	T_RPAREN,
	T_COMMA,
};

struct tok {
	enum tok_kind kind;
	size_t pos;      /* offset in the full text */
	size_t len;
};

struct lexer {
	const char *text;   /* the whole user input, for messages */
	size_t pos;         /* next byte */
	size_t end;         /* end of the part being parsed */
	const char *what;   /* "label selector" / "or-selector" */
	struct tok peeked;
	int has_peek;
};

static int is_special(char c)
{
	return c == '!' || c == '=' || c == '(' || c == ')' || c == ',' || c == '<' ||
	       c == '>';
}

static struct tok lex_next(struct lexer *lx)
{
	if (lx->has_peek) {
		lx->has_peek = 0;
		return lx->peeked;
	}
	const char *t = lx->text;
	while (lx->pos < lx->end && isspace((unsigned char)t[lx->pos]))
		lx->pos++;
	struct tok k = { T_EOF, lx->pos, 0 };
	if (lx->pos >= lx->end)
		return k;
	char c = t[lx->pos];
	char d = lx->pos + 1 < lx->end ? t[lx->pos + 1] : '\0';
	k.len = 1;
	switch (c) {
	case '!': if (d == '=') { k.kind = T_NEQ; k.len = 2; } else k.kind = T_NOT; break;
	case '=': if (d == '=') { k.kind = T_DEQ; k.len = 2; } else k.kind = T_EQ; break;
	case '>': k.kind = T_GT; break;
	case '<': k.kind = T_LT; break;
	case '(': k.kind = T_LPAREN; break;
	case ')': k.kind = T_RPAREN; break;
	case ',': k.kind = T_COMMA; break;
	default:
		k.kind = T_IDENT;
		k.len = 0;
		while (lx->pos + k.len < lx->end && !is_special(t[lx->pos + k.len]) &&
		       !isspace((unsigned char)t[lx->pos + k.len]))
			k.len++;
	}
	lx->pos += k.len;
	return k;
}

static struct tok lex_peek(struct lexer *lx)
{
	if (!lx->has_peek) {
		lx->peeked = lex_next(lx);
		lx->has_peek = 1;
	}
	return lx->peeked;
}

static int tok_is_word(const struct lexer *lx, const struct tok *k, const char *w)
{
	return k->kind == T_IDENT && k->len == strlen(w) &&
	       memcmp(lx->text + k->pos, w, k->len) == 0;
}

static char *tok_str(const struct lexer *lx, const struct tok *k)
{
	return xstrndup(lx->text + k->pos, k->len);
}

/* Human description of a token for "unexpected X" messages. */
static char *tok_desc(const struct lexer *lx, const struct tok *k)
{
	if (k->kind == T_EOF)
		return xstrdup("end of selector");
	if (k->kind == T_IDENT)
		return xasprintf("\"%.*s\"", (int)k->len, lx->text + k->pos);
	return xasprintf("'%.*s'", (int)k->len, lx->text + k->pos);
}

static int lex_error(const struct lexer *lx, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int lex_error(const struct lexer *lx, size_t pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct kbuf b = KBUF_INIT;
	kbuf_addvf(&b, fmt, ap);
	va_end(ap);
	kahu_error_set(KAHU_EUSAGE, "invalid %s \"%s\": %s at position %zu", lx->what,
		       lx->text, kbuf_str(&b), pos + 1);
	kbuf_free(&b);
	return KAHU_EUSAGE;
}

/* For messages where the position belongs to a quoted item:
 *   invalid label selector "a$=b": invalid key "a$" at position 1: <why> */
static int item_error(const struct lexer *lx, const char *item, const char *v, size_t pos,
		      const char *why)
{
	return kahu_error_set(KAHU_EUSAGE, "invalid %s \"%s\": invalid %s \"%s\" at position "
			      "%zu: %s", lx->what, lx->text, item, v, pos + 1, why);
}

static int unexpected(const struct lexer *lx, const struct tok *k, const char *expected)
{
	char *d = tok_desc(lx, k);
	lex_error(lx, k->pos, "unexpected %s (expected %s)", d, expected);
	free(d);
	return KAHU_EUSAGE;
}

/* ---- parser ---- */

static void req_clear(struct ls_req *r)
{
	free(r->key);
	strv_free(&r->values);
}

static int check_value(const struct lexer *lx, const struct tok *k, const char *v)
{
	const char *why;
	if (!label_value_valid(v, &why))
		return item_error(lx, "value", v, k->pos, why);
	return 0;
}

/* '(' v1, v2, ... ')' — the '(' is next. */
static int parse_set(struct lexer *lx, struct ls_req *r, const char *opname)
{
	struct tok k = lex_next(lx);
	if (k.kind != T_LPAREN) {
		char *d = tok_desc(lx, &k);
		lex_error(lx, k.pos, "expected '(' after '%s', found %s", opname, d);
		free(d);
		return KAHU_EUSAGE;
	}
	struct tok open = k;
	if (lex_peek(lx).kind == T_RPAREN)
		return lex_error(lx, open.pos, "empty value list for '%s'", opname);
	for (;;) {
		k = lex_next(lx);
		char *v;
		struct tok vt = k;
		if (k.kind == T_IDENT) {
			v = tok_str(lx, &k);
			k = lex_next(lx);
		} else {
			/* "(a,)" or "(,a)": the empty value, as in Kubernetes. */
			v = xstrdup("");
		}
		if (check_value(lx, &vt, v) < 0) {
			free(v);
			return KAHU_EUSAGE;
		}
		strv_push_owned(&r->values, v);
		if (k.kind == T_COMMA)
			continue;
		if (k.kind == T_RPAREN)
			break;
		if (k.kind == T_EOF)
			return lex_error(lx, k.pos, "missing ')'");
		return unexpected(lx, &k, "',' or ')'");
	}
	strv_sort_uniq(&r->values);
	return 0;
}

static int parse_number(struct lexer *lx, struct ls_req *r, const char *opname)
{
	struct tok k = lex_next(lx);
	if (k.kind != T_IDENT)
		return unexpected(lx, &k, "an integer");
	char *v = tok_str(lx, &k);
	char *endp;
	errno = 0;
	long long n = strtoll(v, &endp, 10);
	if (errno || endp == v || *endp) {
		lex_error(lx, k.pos, "'%s' needs an integer value, not \"%s\"", opname, v);
		free(v);
		return KAHU_EUSAGE;
	}
	r->num = n;
	strv_push_owned(&r->values, v);
	return 0;
}

static int parse_requirement(struct lexer *lx, struct ls_req *r)
{
	struct tok k = lex_next(lx);
	int negated = 0;
	if (k.kind == T_NOT) {
		negated = 1;
		k = lex_next(lx);
	}
	if (k.kind != T_IDENT) {
		if (k.kind == T_EQ || k.kind == T_DEQ || k.kind == T_NEQ || k.kind == T_GT ||
		    k.kind == T_LT)
			return lex_error(lx, k.pos, "missing key before '%.*s'", (int)k.len,
					 lx->text + k.pos);
		if (k.kind == T_EOF && !negated)
			return lex_error(lx, k.pos, "missing requirement after ','");
		return unexpected(lx, &k, negated ? "a key after '!'" : "a key or '!'");
	}
	r->key = tok_str(lx, &k);
	const char *why;
	if (!label_key_valid(r->key, &why))
		return item_error(lx, "key", r->key, k.pos, why);

	struct tok op = lex_peek(lx);
	if (negated) {
		r->op = LS_NOT_EXISTS;
		if (op.kind != T_EOF && op.kind != T_COMMA)
			return unexpected(lx, &op, "',' or end of selector after '!key'");
		return 0;
	}
	switch (op.kind) {
	case T_EOF:
	case T_COMMA:
		r->op = LS_EXISTS;
		return 0;
	case T_EQ:
	case T_DEQ:
	case T_NEQ: {
		lex_next(lx);
		r->op = op.kind == T_NEQ ? LS_NEQ : LS_EQ;
		struct tok v = lex_peek(lx);
		if (v.kind == T_IDENT) {
			lex_next(lx);
			strv_push_owned(&r->values, tok_str(lx, &v));
		} else if (v.kind == T_EOF || v.kind == T_COMMA) {
			strv_push(&r->values, "");   /* "a=" selects the empty value */
		} else {
			return unexpected(lx, &v, "a value");
		}
		return check_value(lx, &v, r->values.v[0]);
	}
	case T_GT:
	case T_LT:
		lex_next(lx);
		r->op = op.kind == T_GT ? LS_GT : LS_LT;
		return parse_number(lx, r, op.kind == T_GT ? ">" : "<");
	case T_IDENT:
		if (tok_is_word(lx, &op, "in") || tok_is_word(lx, &op, "notin")) {
			lex_next(lx);
			int in = tok_is_word(lx, &op, "in");
			r->op = in ? LS_IN : LS_NOTIN;
			return parse_set(lx, r, in ? "in" : "notin");
		}
		/* fallthrough */
	default:
		return unexpected(lx, &op, "an operator, ',' or end of selector");
	}
}

static int req_cmp(const void *pa, const void *pb)
{
	const struct ls_req *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);
	if (c)
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	/* by the number, which is what is printed ("090" prints as 90) */
	if (a->op == LS_GT || a->op == LS_LT)
		return a->num < b->num ? -1 : a->num > b->num;
	for (size_t i = 0; i < a->values.n && i < b->values.n; i++)
		if ((c = strcmp(a->values.v[i], b->values.v[i])))
			return c;
	return a->values.n < b->values.n ? -1 : a->values.n > b->values.n;
}

/* Parse text[start, end) of `text`; positions in messages are relative to `text`. */
static int parse_range(const char *text, size_t start, size_t end, const char *what,
		       struct labelsel **out)
{
	struct lexer lx = { .text = text, .pos = start, .end = end, .what = what };
	struct labelsel *s = xcalloc(1, sizeof *s);
	size_t cap = 0;
	int err = 0;

	*out = NULL;
	if (lex_peek(&lx).kind == T_EOF)
		goto done;
	for (;;) {
		if (s->n == cap) {
			cap = cap ? cap * 2 : 4;
			s->reqs = xrealloc(s->reqs, cap * sizeof *s->reqs);
		}
		memset(&s->reqs[s->n], 0, sizeof s->reqs[s->n]);
		s->n++;
		if ((err = parse_requirement(&lx, &s->reqs[s->n - 1])) < 0)
			goto done;
		struct tok k = lex_next(&lx);
		if (k.kind == T_EOF)
			break;
		if (k.kind != T_COMMA) {
			err = unexpected(&lx, &k, "',' or end of selector");
			goto done;
		}
	}
	if (s->n > 1)
		qsort(s->reqs, s->n, sizeof *s->reqs, req_cmp);
done:
	if (err < 0) {
		labelsel_free(s);
		return err;
	}
	*out = s;
	return 0;
}

int labelsel_parse(const char *text, struct labelsel **out)
{
	return parse_range(text, 0, strlen(text), "label selector", out);
}

void labelsel_free(struct labelsel *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		req_clear(&s->reqs[i]);
	free(s->reqs);
	free(s);
}

int labelsel_is_empty(const struct labelsel *s)
{
	return !s || s->n == 0;
}

/* ---- matching ---- */

static const char *label_get(json_t *labels, const char *key)
{
	if (!json_is_object(labels))
		return NULL;
	/* Labels are strings; anything else cannot satisfy a requirement on values,
	 * and is treated as absent. */
	return json_string_value(json_object_get(labels, key));
}

static int req_match(const struct ls_req *r, json_t *labels)
{
	const char *v = label_get(labels, r->key);
	switch (r->op) {
	case LS_EXISTS:
		return v != NULL;
	case LS_NOT_EXISTS:
		return v == NULL;
	case LS_EQ:
	case LS_IN:
		return v && strv_contains(&r->values, v);
	case LS_NEQ:
	case LS_NOTIN:
		return !v || !strv_contains(&r->values, v);
	case LS_GT:
	case LS_LT: {
		if (!v)
			return 0;
		char *endp;
		errno = 0;
		long long n = strtoll(v, &endp, 10);
		if (errno || endp == v || *endp)
			return 0;
		return r->op == LS_GT ? n > r->num : n < r->num;
	}
	}
	return 0;
}

int labelsel_match(const struct labelsel *s, json_t *labels)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!req_match(&s->reqs[i], labels))
			return 0;
	return 1;
}

/* ---- printing ---- */

static void req_print(struct kbuf *b, const struct ls_req *r)
{
	switch (r->op) {
	case LS_EXISTS:
		kbuf_adds(b, r->key);
		break;
	case LS_NOT_EXISTS:
		kbuf_addf(b, "!%s", r->key);
		break;
	case LS_EQ:
		kbuf_addf(b, "%s=%s", r->key, r->values.v[0]);
		break;
	case LS_NEQ:
		kbuf_addf(b, "%s!=%s", r->key, r->values.v[0]);
		break;
	case LS_GT:
		kbuf_addf(b, "%s>%lld", r->key, r->num);
		break;
	case LS_LT:
		kbuf_addf(b, "%s<%lld", r->key, r->num);
		break;
	case LS_IN:
	case LS_NOTIN: {
		/* The empty value alone is written "(,)": "()" is refused by the parser. */
		int only_empty = r->values.n == 1 && !*r->values.v[0];
		char *j = only_empty ? xstrdup(",") : strv_join(&r->values, ",");
		kbuf_addf(b, "%s %s (%s)", r->key, r->op == LS_IN ? "in" : "notin", j);
		free(j);
		break;
	}
	}
}

char *labelsel_to_string(const struct labelsel *s)
{
	struct kbuf b = KBUF_INIT;
	for (size_t i = 0; s && i < s->n; i++) {
		if (i)
			kbuf_addc(&b, ',');
		req_print(&b, &s->reqs[i]);
	}
	return b.data ? kbuf_detach(&b) : xstrdup("");
}

/* ---- or-selectors ---- */

/* Is there a blank-delimited word "or" at text[i]? */
static int or_at(const char *text, size_t i, size_t len)
{
	return i + 2 <= len && text[i] == 'o' && text[i + 1] == 'r' &&
	       (i == 0 || isspace((unsigned char)text[i - 1])) &&
	       (i + 2 == len || isspace((unsigned char)text[i + 2]));
}

static int blank_range(const char *text, size_t a, size_t b)
{
	for (size_t i = a; i < b; i++)
		if (!isspace((unsigned char)text[i]))
			return 0;
	return 1;
}

static int orsel_add_part(struct orsel *o, const char *text, size_t a, size_t b,
			  size_t or_pos, int after)
{
	if (blank_range(text, a, b)) {
		if (a == 0 && b == strlen(text))
			return kahu_error_set(KAHU_EUSAGE, "invalid or-selector \"%s\": empty",
					      text);
		return kahu_error_set(KAHU_EUSAGE,
				      "invalid or-selector \"%s\": empty selector %s 'or' at "
				      "position %zu", text, after ? "after" : "before",
				      or_pos + 1);
	}
	struct labelsel *s;
	int err = parse_range(text, a, b, "or-selector", &s);
	if (err < 0)
		return err;
	o->sels = xrealloc(o->sels, (o->n + 1) * sizeof *o->sels);
	o->sels[o->n++] = s;
	return 0;
}

int orsel_parse(const char *text, struct orsel **out)
{
	struct orsel *o = xcalloc(1, sizeof *o);
	size_t len = strlen(text), start = 0, prev_or = 0;
	int depth = 0, err = 0, have_prev = 0;

	*out = NULL;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '(')
			depth++;
		else if (text[i] == ')' && depth > 0)
			depth--;
		else if (depth == 0 && or_at(text, i, len)) {
			/* An empty part before the first 'or' is reported against it; one
			 * between two 'or's against the earlier ("after"). */
			err = orsel_add_part(o, text, start, i, have_prev ? prev_or : i,
					     have_prev);
			if (err < 0)
				goto out;
			prev_or = i;
			have_prev = 1;
			start = i + 2;
			i++;
		}
	}
	err = orsel_add_part(o, text, start, len, prev_or, 1);
out:
	if (err < 0) {
		orsel_free(o);
		return err;
	}
	*out = o;
	return 0;
}

int orsel_match(const struct orsel *o, json_t *labels)
{
	for (size_t i = 0; o && i < o->n; i++)
		if (labelsel_match(o->sels[i], labels))
			return 1;
	return 0;
}

char *orsel_to_string(const struct orsel *o)
{
	struct strv parts = STRV_INIT;
	for (size_t i = 0; o && i < o->n; i++)
		strv_push_owned(&parts, labelsel_to_string(o->sels[i]));
	strv_sort_uniq(&parts);
	char *s = parts.n ? strv_join(&parts, " or ") : xstrdup("");
	strv_free(&parts);
	return s;
}

size_t orsel_count(const struct orsel *o)
{
	return o ? o->n : 0;
}

const struct labelsel *orsel_get(const struct orsel *o, size_t i)
{
	return o && i < o->n ? o->sels[i] : NULL;
}

void orsel_free(struct orsel *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		labelsel_free(o->sels[i]);
	free(o->sels);
	free(o);
}

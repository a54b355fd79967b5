/* kahu — AWS Signature Version 4 (header form); see sigv4.h. */
#include "sigv4.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t len;
	int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	char *np = realloc(b->p, b->len + n + 1);
	if (!np) {
		b->oom = 1;
		return;
	}
	b->p = np;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_enc(struct sbuf *b, const char *s, size_t n, int keep_slash)
{
	if (b->oom)
		return;
	if (!b->p) {
		sb_add(b, "", 0);
		if (b->oom)
			return;
	}
	if (sigv4_uri_encode(&b->p, &b->len, s, n, keep_slash) != 0)
		b->oom = 1;
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int sigv4_uri_encode(char **dst, size_t *dlen, const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t extra = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		extra += (unreserved(c) || (keep_slash && c == '/')) ? 1 : 3;
	}
	char *np = realloc(*dst, *dlen + extra + 1);
	if (!np)
		return -1;
	char *o = np + *dlen;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	*dst = np;
	*dlen += extra;
	return 0;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char hex[SIGV4_HASH_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	to_hex(h, sizeof h, hex);
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, size_t mlen,
		 unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, klen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, mlen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

/* The path as S3 (or, normalized, another service) signs it. */
static void canonical_path(struct sbuf *b, const char *path, unsigned int flags)
{
	if (!(flags & SIGV4_NORMALIZE_PATH)) {
		sb_enc(b, path, strlen(path), 1);
		return;
	}
	/* Resolve "." and "..", drop empty segments, keep a trailing slash. */
	size_t n = strlen(path);
	const char **seg = calloc(n + 1, sizeof *seg);
	size_t *segl = calloc(n + 1, sizeof *segl);
	if (!seg || !segl) {
		free(seg);
		free(segl);
		b->oom = 1;
		return;
	}
	size_t ns = 0;
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		const char *e = c;
		while (*e && *e != '/')
			e++;
		size_t l = (size_t)(e - c);
		if (l == 0 || (l == 1 && c[0] == '.')) {
			/* nothing */
		} else if (l == 2 && c[0] == '.' && c[1] == '.') {
			if (ns > 0)
				ns--;
		} else {
			seg[ns] = c;
			segl[ns++] = l;
		}
		c = e;
	}
	sb_str(b, "/");
	for (size_t i = 0; i < ns; i++) {
		if (i > 0)
			sb_str(b, "/");
		sb_enc(b, seg[i], segl[i], 0);
	}
	if (ns > 0 && n > 1 && path[n - 1] == '/')
		sb_str(b, "/");
	free(seg);
	free(segl);
}

struct qitem {
	char *name;
	char *value;
};

static int qcmp(const void *a, const void *b)
{
	const struct qitem *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

struct hitem {
	char *name;          /* lower-cased */
	const char *value;
	size_t order;
};

static int hcmp(const void *a, const void *b)
{
	const struct hitem *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* A header value: trimmed, every run of blanks (spaces, tabs, line breaks of a folded
 * header) collapsed to one space. */
static void header_value(struct sbuf *b, const char *v)
{
	const char *s = v, *e = v + strlen(v);
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	int blank = 0;
	for (const char *c = s; c < e; c++) {
		if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n') {
			blank = 1;
			continue;
		}
		if (blank)
			sb_add(b, " ", 1);
		blank = 0;
		sb_add(b, c, 1);
	}
}

static int date_ok(const char *d)
{
	if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return 0;
	return 1;
}

void sigv4_result_free(struct sigv4_result *r)
{
	if (!r)
		return;
	free(r->canonical_request);
	free(r->string_to_sign);
	free(r->authorization);
	r->canonical_request = r->string_to_sign = r->authorization = NULL;
}

int sigv4_sign(const struct sigv4_request *req, struct sigv4_result *out)
{
	memset(out, 0, sizeof *out);
	if (!req->method || !req->path || req->path[0] != '/' || !date_ok(req->amz_date) ||
	    !req->region || !*req->region || !req->service || !req->access_key ||
	    !req->secret_key || !req->payload_hash)
		return -1;

	struct sbuf cr = {0}, sts = {0}, signed_hdrs = {0}, az = {0};
	struct qitem *q = NULL;
	struct hitem *h = NULL;
	int rc = -1;

	/* Canonical request. */
	sb_str(&cr, req->method);
	sb_str(&cr, "\n");
	canonical_path(&cr, req->path, req->flags);
	sb_str(&cr, "\n");

	q = calloc(req->nquery + 1, sizeof *q);
	if (!q)
		goto out;
	for (size_t i = 0; i < req->nquery; i++) {
		struct sbuf n = {0}, v = {0};
		sb_enc(&n, req->query[i].name, strlen(req->query[i].name), 0);
		const char *val = req->query[i].value ? req->query[i].value : "";
		sb_enc(&v, val, strlen(val), 0);
		q[i].name = n.p;
		q[i].value = v.p;
		if (n.oom || v.oom || !n.p || !v.p) {
			for (size_t j = 0; j <= i; j++) {
				free(q[j].name);
				free(q[j].value);
			}
			free(q);
			q = NULL;
			goto out;
		}
	}
	qsort(q, req->nquery, sizeof *q, qcmp);
	for (size_t i = 0; i < req->nquery; i++) {
		if (i > 0)
			sb_str(&cr, "&");
		sb_str(&cr, q[i].name);
		sb_str(&cr, "=");
		sb_str(&cr, q[i].value);
	}
	sb_str(&cr, "\n");

	h = calloc(req->nheaders + 1, sizeof *h);
	if (!h)
		goto out;
	for (size_t i = 0; i < req->nheaders; i++) {
		size_t l = strlen(req->headers[i].name);
		h[i].name = malloc(l + 1);
		if (!h[i].name)
			goto out;
		for (size_t j = 0; j <= l; j++) {
			char c = req->headers[i].name[j];
			h[i].name[j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		h[i].value = req->headers[i].value ? req->headers[i].value : "";
		h[i].order = i;
	}
	qsort(h, req->nheaders, sizeof *h, hcmp);
	for (size_t i = 0; i < req->nheaders; i++) {
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
			sb_str(&cr, ",");
			header_value(&cr, h[i].value);
			continue;
		}
		if (i > 0)
			sb_str(&cr, "\n");
		sb_str(&cr, h[i].name);
		sb_str(&cr, ":");
		header_value(&cr, h[i].value);
		if (signed_hdrs.len > 0)
			sb_str(&signed_hdrs, ";");
		sb_str(&signed_hdrs, h[i].name);
	}
	sb_str(&cr, "\n\n");
	sb_str(&cr, signed_hdrs.p ? signed_hdrs.p : "");
	sb_str(&cr, "\n");
	sb_str(&cr, req->payload_hash);
	if (cr.oom || signed_hdrs.oom)
		goto out;

	/* String to sign. */
	char scope_date[9];
	memcpy(scope_date, req->amz_date, 8);
	scope_date[8] = '\0';
	char crhash[SIGV4_HASH_HEX];
	sigv4_sha256_hex(cr.p, cr.len, crhash);
	sb_str(&sts, "AWS4-HMAC-SHA256\n");
	sb_str(&sts, req->amz_date);
	sb_str(&sts, "\n");
	sb_str(&sts, scope_date);
	sb_str(&sts, "/");
	sb_str(&sts, req->region);
	sb_str(&sts, "/");
	sb_str(&sts, req->service);
	sb_str(&sts, "/aws4_request\n");
	sb_str(&sts, crhash);
	if (sts.oom)
		goto out;

	/* Signing key and signature. */
	size_t sl = strlen(req->secret_key);
	unsigned char *k0 = malloc(sl + 4);
	if (!k0)
		goto out;
	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, req->secret_key, sl);
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	hmac(k0, sl + 4, scope_date, 8, k1);
	sodium_memzero(k0, sl + 4);
	free(k0);
	hmac(k1, 32, req->region, strlen(req->region), k2);
	hmac(k2, 32, req->service, strlen(req->service), k3);
	hmac(k3, 32, "aws4_request", 12, k4);
	hmac(k4, 32, sts.p, sts.len, sig);
	to_hex(sig, 32, out->signature);
	sodium_memzero(k1, sizeof k1);
	sodium_memzero(k2, sizeof k2);
	sodium_memzero(k3, sizeof k3);
	sodium_memzero(k4, sizeof k4);

	sb_str(&az, "AWS4-HMAC-SHA256 Credential=");
	sb_str(&az, req->access_key);
	sb_str(&az, "/");
	sb_str(&az, scope_date);
	sb_str(&az, "/");
	sb_str(&az, req->region);
	sb_str(&az, "/");
	sb_str(&az, req->service);
	sb_str(&az, "/aws4_request, SignedHeaders=");
	sb_str(&az, signed_hdrs.p);
	sb_str(&az, ", Signature=");
	sb_str(&az, out->signature);
	if (az.oom)
		goto out;

	out->canonical_request = cr.p;
	out->string_to_sign = sts.p;
	out->authorization = az.p;
	cr.p = sts.p = az.p = NULL;
	rc = 0;
out:
	if (q) {
		for (size_t i = 0; i < req->nquery; i++) {
			free(q[i].name);
			free(q[i].value);
		}
		free(q);
	}
	if (h) {
		for (size_t i = 0; i < req->nheaders; i++)
			free(h[i].name);
		free(h);
	}
	free(cr.p);
	free(sts.p);
	free(signed_hdrs.p);
	free(az.p);
	if (rc != 0)
		memset(out, 0, sizeof *out);
	return rc;
}

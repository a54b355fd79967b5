/* kahu — the `s3` storage provider: Amazon S3 and S3-compatible stores.
 *
 * Written against <kahu/backend.h>, libcurl and libsodium only; built as the loadable
 * module kahu-s3.so.  Every request is signed with SigV4 (sigv4.c) and carries
 * x-amz-content-sha256 with the hash of its body.
 *
 * Key "a/b" is the object "PREFIX/a/b" of the bucket (PREFIX: the location's `prefix`,
 * may be empty).  A put fills buffers of `part-size` bytes: an object that fits in one
 * is one PutObject at commit; a larger one is a multipart upload whose parts go out as
 * buffers fill, up to `parts-in-flight` at once on a curl multi handle that the writes
 * drive (memory: parts-in-flight + 1 buffers), the last part and
 * CompleteMultipartUpload at commit.  A part that fails transiently keeps its buffer
 * and the call reports ETRANSIENT (KAHU_BACKEND_CAP_PUT_RETRY): kahu waits and calls
 * again, and the call sends the failed parts first.  Abort (or a final failure) sends
 * AbortMultipartUpload; uploads that nobody aborted (a killed run, a server gone) are
 * removed by cleanup().
 *
 * Object Lock (object-lock-mode, object-lock-days): the objects under "backups/" get a
 * retention (mode and retain-until date) when written, and every PUT of such a location
 * carries Content-MD5, as S3 requires for them.  remove() of an object whose retention
 * has not expired is refused with "locked until DATE".
 *
 * Providers do not retry or sleep (BACKEND-ABI.md): 5xx, SlowDown, timeouts and broken
 * connections are KAHU_BACKEND_ETRANSIENT and kahu retries them with backoff.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <kahu/backend.h>

#include "creds.h"
#include "md5.h"
#include "sigv4.h"

#include <curl/curl.h>
#include <sodium.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S3_VERSION "1.0.0"
#define S3_MIB (1024u * 1024u)
#define S3_PART_MIN (5ull * S3_MIB)
#define S3_PART_MAX (5ull * 1024 * S3_MIB)
#define S3_PART_DEFAULT (8ull * S3_MIB)
#define S3_INFLIGHT_DEFAULT 4u
#define S3_INFLIGHT_MAX 16u
#define S3_PARTS_MAX 10000u
#define S3_XML_MAX (64u * S3_MIB)      /* the largest answer body kept in memory */
#define S3_ERRBODY_MAX (64u * 1024)    /* of an error answer */
#define S3_REFRESH_MARGIN 300          /* renew web-identity credentials this early (s) */
#define S3_TIDY_TIMEOUT 15             /* a request made after the interrupt (s) */

/* ---------------------------------------------------------------- small helpers */

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np)
			return -1;
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void content_md5(const void *data, size_t len, char out[32])
{
	unsigned char d[16];
	s3_md5(data, len, d);
	sodium_bin2base64(out, 32, d, 16, sodium_base64_VARIANT_ORIGINAL);
}

/* ---- XML: the few answers S3 gives are flat enough for a scanner ---- */

/* The text of the first <tag>…</tag> in [s, e), entities decoded; NULL when absent.
 * *next (optional) points after the closing tag. */
static char *xml_get(const char *s, const char *e, const char *tag, const char **next)
{
	char open[64], close[64];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	size_t ol = strlen(open), cl = strlen(close);
	const char *a = NULL;
	for (const char *c = s; c + ol <= e; c++)
		if (memcmp(c, open, ol) == 0) {
			a = c + ol;
			break;
		}
	if (!a)
		return NULL;
	const char *b = NULL;
	for (const char *c = a; c + cl <= e; c++)
		if (memcmp(c, close, cl) == 0) {
			b = c;
			break;
		}
	if (!b)
		return NULL;
	if (next)
		*next = b + cl;
	char *out = malloc((size_t)(b - a) + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *c = a; c < b;) {
		if (*c != '&') {
			*o++ = *c++;
			continue;
		}
		static const struct {
			const char *ent;
			char ch;
		} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'},
			    {"&apos;", '\''}};
		int done = 0;
		for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
			size_t l = strlen(ents[i].ent);
			if ((size_t)(b - c) >= l && memcmp(c, ents[i].ent, l) == 0) {
				*o++ = ents[i].ch;
				c += l;
				done = 1;
				break;
			}
		}
		if (!done && c + 2 < b && c[1] == '#') {
			const char *semi = memchr(c, ';', (size_t)(b - c));
			if (semi) {
				unsigned long cp = c[2] == 'x' ? strtoul(c + 3, NULL, 16)
							       : strtoul(c + 2, NULL, 10);
				if (cp < 0x80) {
					*o++ = (char)cp;
				} else if (cp < 0x800) {
					*o++ = (char)(0xc0 | (cp >> 6));
					*o++ = (char)(0x80 | (cp & 0x3f));
				} else if (cp < 0x10000) {
					*o++ = (char)(0xe0 | (cp >> 12));
					*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
					*o++ = (char)(0x80 | (cp & 0x3f));
				} else {
					*o++ = (char)(0xf0 | (cp >> 18));
					*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
					*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
					*o++ = (char)(0x80 | (cp & 0x3f));
				}
				c = semi + 1;
				done = 1;
			}
		}
		if (!done)
			*o++ = *c++;
	}
	*o = '\0';
	return out;
}

/* The bounds of the next <tag>…</tag> block in [*s, e); 0 when none. */
static int xml_block(const char **s, const char *e, const char *tag, const char **bs,
		     const char **be)
{
	char open[64], close[64];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	size_t ol = strlen(open), cl = strlen(close);
	const char *a = NULL;
	for (const char *c = *s; c + ol <= e; c++)
		if (memcmp(c, open, ol) == 0) {
			a = c + ol;
			break;
		}
	if (!a)
		return 0;
	for (const char *c = a; c + cl <= e; c++)
		if (memcmp(c, close, cl) == 0) {
			*bs = a;
			*be = c;
			*s = c + cl;
			return 1;
		}
	return 0;
}

/* XML-escape for request bodies (ETags carry quotes). */
static int buf_xml(struct buf *b, const char *s)
{
	for (; *s; s++) {
		const char *r = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
			      : *s == '"' ? "&quot;" : NULL;
		if (r ? buf_str(b, r) : buf_add(b, s, 1))
			return -1;
	}
	return 0;
}

/* ---- times ---- */

static void amz_now(char out[17], time_t *now_out)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
	if (now_out)
		*now_out = now;
}

/* "2026-12-03T09:00:00.000Z" (ISO 8601, as S3 writes it) or an RFC 1123 date. */
static int64_t parse_time(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *r = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!r) {
		memset(&tm, 0, sizeof tm);
		r = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
	}
	if (!r)
		return 0;
	return (int64_t)timegm(&tm);
}

/* ---------------------------------------------------------------- the handle */

struct kahu_backend_handle {
	const struct kahu_host *host;
	CURL *curl;
	char err[1024];
	/* configuration */
	char *bucket, *region, *prefix;       /* prefix: "" or "p/" */
	char *scheme, *authority;             /* "https", "host[:port]" of the endpoint */
	int path_style;
	char *ca_bundle;
	int insecure;
	uint64_t part_size;
	unsigned int parts_in_flight;         /* parts of one upload sent at once */
	char *lock_mode;                      /* "GOVERNANCE"/"COMPLIANCE" or NULL */
	unsigned int lock_days;
	char *sts_endpoint;                   /* web identity */
	/* credentials */
	struct s3_creds creds;
	int bucket_checked;                   /* HEAD bucket done after a 404 */
	unsigned int nput;
};

/* A put stream's part buffers: one being filled, the others on their way. */
enum part_state { PART_FREE = 0, PART_FILL, PART_FLIGHT, PART_FAILED };

struct etag {
	unsigned int num;
	char *etag;
};

struct kahu_backend_put {
	struct kahu_backend_handle *h;
	char *key;                             /* full object key (with the prefix) */
	char *ukey;                            /* kahu's key, for messages */
	unsigned int flags;
	struct part *slots;                    /* parts_in_flight + 1 */
	unsigned int nslots;
	struct part *fill;                     /* the slot being filled, or NULL */
	CURLM *multi;                          /* the parts' transfers */
	unsigned int inflight;
	char *upload_id;                       /* multipart, once started */
	unsigned int next_num;                 /* part numbers given so far */
	struct etag *etags;                    /* of the stored parts, in completion order */
	unsigned int netags, capetags;
	uint64_t total;
};

static int seterr(struct kahu_backend_handle *h, int rc, const char *fmt, ...)
	KAHU_BACKEND_PRINTF(3, 4);

static int seterr(struct kahu_backend_handle *h, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->err, sizeof h->err, fmt, ap);
	va_end(ap);
	return rc;
}

static int cancelled(const struct kahu_backend_handle *h)
{
	return h->host && KAHU_HOST_HAS(h->host, cancelled) && h->host->cancelled(h->host);
}

static int cancel_rc(const struct kahu_backend_handle *h)
{
	return h->host && h->host->abi_minor >= 1 ? KAHU_BACKEND_ECANCELLED
						  : KAHU_BACKEND_ETRANSIENT;
}

static void logf_(struct kahu_backend_handle *h, int level, const char *fmt, ...)
	KAHU_BACKEND_PRINTF(3, 4);

static void logf_(struct kahu_backend_handle *h, int level, const char *fmt, ...)
{
	if (!h->host || !h->host->log)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	h->host->log(h->host, level, "s3: %s", msg);
}

/* ---------------------------------------------------------------- requests */

struct s3_hdr {
	const char *name;
	const char *value;
};

struct s3_req {
	const char *method;
	const char *key;              /* full object key, NULL: the bucket */
	const char *ukey;             /* what messages name */
	struct sigv4_pair query[6];
	size_t nquery;
	struct s3_hdr hdr[8];
	size_t nhdr;
	const void *body;
	size_t body_len;
	/* a GET whose 2xx body goes to sink */
	kahu_backend_write_fn sink;
	void *sink_ud;
	int sink_stopped;
	size_t body_max;              /* kept of a 2xx answer (not streamed) */
	/* the answer */
	long status;
	struct buf resp;
	char etag[128];
	uint64_t content_length;
	int has_length;
	char last_modified[64];
	char retain_until[64];
	char lock_mode[32];
	char bucket_region[64];       /* x-amz-bucket-region */
	/* internal */
	struct kahu_backend_handle *h;
	CURL *easy;                   /* the transfer's handle */
	size_t sent;
	int too_big;
	int after_cancel;             /* started after the interrupt: kahu tidying up */
};

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct s3_req *r = ud;
	size_t len = size * n;
	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		r->etag[0] = r->last_modified[0] = r->retain_until[0] = r->lock_mode[0] = '\0';
		r->bucket_region[0] = '\0';
		r->has_length = 0;
		return len;
	}
	const char *colon = memchr(data, ':', len);
	if (!colon)
		return len;
	size_t nl = (size_t)(colon - data);
	const char *v = colon + 1, *e = data + len;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
		e--;
	size_t vl = (size_t)(e - v);
	char *dst = NULL;
	size_t dl = 0;
	if (nl == 4 && strncasecmp(data, "etag", 4) == 0) {
		dst = r->etag;
		dl = sizeof r->etag;
	} else if (nl == 13 && strncasecmp(data, "last-modified", 13) == 0) {
		dst = r->last_modified;
		dl = sizeof r->last_modified;
	} else if (nl == 35 && strncasecmp(data, "x-amz-object-lock-retain-until-date", 35) == 0) {
		dst = r->retain_until;
		dl = sizeof r->retain_until;
	} else if (nl == 19 && strncasecmp(data, "x-amz-bucket-region", 19) == 0) {
		dst = r->bucket_region;
		dl = sizeof r->bucket_region;
	} else if (nl == 22 && strncasecmp(data, "x-amz-object-lock-mode", 22) == 0) {
		dst = r->lock_mode;
		dl = sizeof r->lock_mode;
	} else if (nl == 14 && strncasecmp(data, "content-length", 14) == 0) {
		char tmp[32];
		size_t l = vl < sizeof tmp - 1 ? vl : sizeof tmp - 1;
		memcpy(tmp, v, l);
		tmp[l] = '\0';
		r->content_length = strtoull(tmp, NULL, 10);
		r->has_length = 1;
	}
	if (dst) {
		size_t l = vl < dl - 1 ? vl : dl - 1;
		memcpy(dst, v, l);
		dst[l] = '\0';
	}
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct s3_req *r = ud;
	size_t len = size * n;
	long status = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (r->sink && status >= 200 && status < 300) {
		if (r->sink(r->sink_ud, data, len) != 0) {
			r->sink_stopped = 1;
			return 0;
		}
		return len;
	}
	size_t max = status >= 200 && status < 300 ? r->body_max : S3_ERRBODY_MAX;
	if (r->resp.len + len > max) {
		if (status >= 200 && status < 300) {
			r->too_big = 1;
			return 0;
		}
		return len; /* an error answer: the start is enough */
	}
	return buf_add(&r->resp, data, len) == 0 ? len : 0;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
	struct s3_req *r = ud;
	size_t want = size * n, left = r->body_len - r->sent;
	if (want > left)
		want = left;
	memcpy(dst, (const char *)r->body + r->sent, want);
	r->sent += want;
	return want;
}

/* curl rewinds the body when it sends the request again (a kept-alive connection
 * that the server had closed). */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
	struct s3_req *r = ud;
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > r->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	r->sent = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct s3_req *r = ud;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	/* An interrupt ends the transfers it finds; the small calls kahu makes afterwards
	 * to leave the location tidy run (with a time limit of their own). */
	return !r->after_cancel && cancelled(r->h) ? 1 : 0;
}

static int webid_refresh(struct kahu_backend_handle *h);

/* The S3 error code and message of an answer body ("" when none). */
static void error_code(const struct s3_req *r, char *code, size_t cl, char *msg, size_t ml)
{
	code[0] = msg[0] = '\0';
	if (!r->resp.p)
		return;
	char *c = xml_get(r->resp.p, r->resp.p + r->resp.len, "Code", NULL);
	char *m = xml_get(r->resp.p, r->resp.p + r->resp.len, "Message", NULL);
	if (c)
		snprintf(code, cl, "%s", c);
	if (m)
		snprintf(msg, ml, "%s", m);
	free(c);
	free(m);
}

static const char *what_of(const struct s3_req *r)
{
	return r->ukey ? r->ukey : r->key ? r->key : "the bucket";
}

/* Map a finished request's status and S3 error code to a provider code and message. */
static int http_rc(struct kahu_backend_handle *h, struct s3_req *r)
{
	char code[64], msg[256];
	error_code(r, code, sizeof code, msg, sizeof msg);
	const char *what = what_of(r);
	long s = r->status;
	if (s == 404 && strcmp(code, "NoSuchBucket") == 0)
		return seterr(h, KAHU_BACKEND_ECONFIG, "bucket %s does not exist (at %s://%s)",
			      h->bucket, h->scheme, h->authority);
	/* A bucket of another region: AWS says which (header, or <Region> in the body). */
	char region[64] = "";
	if (r->bucket_region[0]) {
		snprintf(region, sizeof region, "%s", r->bucket_region);
	} else if (r->resp.p) {
		char *rg = xml_get(r->resp.p, r->resp.p + r->resp.len, "Region", NULL);
		if (rg)
			snprintf(region, sizeof region, "%s", rg);
		free(rg);
	}
	if ((s == 301 || s == 400 || s == 307) && (*region || strcmp(code, "PermanentRedirect") == 0) &&
	    strcmp(region, h->region) != 0)
		return seterr(h, KAHU_BACKEND_ECONFIG,
			      "bucket %s is in region %s, not %s: set the location's region",
			      h->bucket, *region ? region : "(another)", h->region);
	if (s == 404 && strcmp(code, "NoSuchUpload") == 0)
		return seterr(h, KAHU_BACKEND_ENOTFOUND, "%s %s: the multipart upload is gone",
			      r->method, what);
	if (s == 404)
		return seterr(h, KAHU_BACKEND_ENOTFOUND, "%s does not exist", what);
	if (s == 401 || s == 403) {
		if (strcmp(code, "RequestTimeTooSkewed") == 0)
			return seterr(h, KAHU_BACKEND_EAUTH,
				      "%s %s: S3 refused the request time (RequestTimeTooSkewed): "
				      "check this machine's clock", r->method, what);
		if (strcmp(code, "ObjectLocked") == 0 || strcmp(code, "AccessDenied") == 0 ||
		    !*code)
			return seterr(h, KAHU_BACKEND_EAUTH, "%s %s: access denied by S3%s%s%s "
				      "(credentials from %s)", r->method, what, *code ? " (" : "",
				      code, *code ? ")" : "", h->creds.source);
		return seterr(h, KAHU_BACKEND_EAUTH,
			      "%s %s: S3 rejected the credentials from %s (%s): check the access "
			      "key and the secret", r->method, what, h->creds.source, code);
	}
	if (s == 412)
		return seterr(h, KAHU_BACKEND_EEXISTS, "%s already exists", what);
	if (s == 409 && strcmp(code, "OperationAborted") == 0)
		return seterr(h, KAHU_BACKEND_ETRANSIENT, "%s %s: %s (%s)", r->method, what,
			      code, msg);
	if (s >= 500 || s == 429 || strcmp(code, "SlowDown") == 0 ||
	    strcmp(code, "RequestTimeout") == 0 || strcmp(code, "InternalError") == 0)
		return seterr(h, KAHU_BACKEND_ETRANSIENT, "%s %s: the server answered %ld%s%s",
			      r->method, what, s, *code ? " " : "", code);
	if (strcmp(code, "QuotaExceeded") == 0 || strcmp(code, "EntityTooLarge") == 0)
		return seterr(h, KAHU_BACKEND_ENOSPACE, "%s %s: %s (%s)", r->method, what, code,
			      msg);
	return seterr(h, KAHU_BACKEND_EPERMANENT, "%s %s: the server answered %ld%s%s%s%s",
		      r->method, what, s, *code ? " " : "", code, *msg ? ": " : "", msg);
}

/* Map a transfer failure. */
static int curl_rc(struct kahu_backend_handle *h, struct s3_req *r, CURLcode cc,
		   const char *detail)
{
	const char *what = what_of(r);
	switch (cc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return seterr(h, cancel_rc(h), "%s %s: interrupted", r->method, what);
	case CURLE_COULDNT_RESOLVE_HOST:
		return seterr(h, KAHU_BACKEND_ETRANSIENT, "cannot resolve the S3 endpoint %s: %s",
			      h->authority, detail);
	case CURLE_COULDNT_CONNECT:
		return seterr(h, KAHU_BACKEND_ETRANSIENT,
			      "cannot connect to the S3 endpoint %s://%s: %s", h->scheme,
			      h->authority, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
		return seterr(h, KAHU_BACKEND_EPERMANENT,
			      "TLS with the S3 endpoint %s failed: %s (a private CA goes into the "
			      "location's ca-bundle)", h->authority, detail);
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return seterr(h, KAHU_BACKEND_ETRANSIENT, "%s %s: %s", r->method, what, detail);
	case CURLE_OUT_OF_MEMORY:
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	default:
		return seterr(h, KAHU_BACKEND_EPERMANENT, "%s %s: %s", r->method, what, detail);
	}
}

static void req_free(struct s3_req *r)
{
	buf_free(&r->resp);
}

/* Build the URL path: "/KEY" (virtual host) or "/BUCKET/KEY" (path style). */
static int decoded_path(struct kahu_backend_handle *h, const char *key, struct buf *p)
{
	if (buf_str(p, "/"))
		return -1;
	if (h->path_style) {
		if (buf_str(p, h->bucket))
			return -1;
		if (key && buf_str(p, "/"))
			return -1;
	}
	if (key && buf_str(p, key))
		return -1;
	return 0;
}

/* One request on an easy handle: what must live until its transfer is done. */
struct xfer {
	struct curl_slist *hl;
	char ebuf[CURL_ERROR_SIZE];
};

static void xfer_free(CURL *c, struct xfer *x)
{
	if (c)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	for (struct curl_slist *s = x->hl; s; s = s->next)
		sodium_memzero(s->data, strlen(s->data));
	curl_slist_free_all(x->hl);
	x->hl = NULL;
}

/* Sign the request and set it up on the easy handle `c` (reset first).  Returns 0 or a
 * provider code (credentials that cannot be renewed, out of memory). */
static int xfer_setup(struct kahu_backend_handle *h, struct s3_req *r, CURL *c, struct xfer *x)
{
	r->h = h;
	r->easy = c;
	r->status = 0;
	r->sent = 0;
	r->sink_stopped = r->too_big = 0;
	buf_free(&r->resp);
	if (!r->body_max)
		r->body_max = S3_XML_MAX;
	r->after_cancel = cancelled(h);
	x->hl = NULL;
	x->ebuf[0] = '\0';
	if (h->creds.kind == S3_CREDS_WEB_IDENTITY &&
	    (!h->creds.access_key || time(NULL) + S3_REFRESH_MARGIN >= h->creds.expires)) {
		int rc = webid_refresh(h);
		if (rc < 0)
			return rc;
	}

	int rc = KAHU_BACKEND_OK;
	struct buf path = {0}, encpath = {0}, url = {0}, host = {0};
	struct sigv4_result sig = {0};
	char date[17], phash[SIGV4_HASH_HEX];
	amz_now(date, NULL);
	sigv4_sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, phash);

	if (decoded_path(h, r->key, &path) < 0 || buf_str(&encpath, "") < 0 ||
	    sigv4_uri_encode(&encpath.p, &encpath.len, path.p, path.len, 1) < 0)
		goto oom;
	encpath.cap = encpath.len + 1;
	if (!h->path_style && (buf_str(&host, h->bucket) || buf_str(&host, ".")))
		goto oom;
	if (buf_str(&host, h->authority))
		goto oom;
	if (buf_str(&url, h->scheme) || buf_str(&url, "://") || buf_str(&url, host.p) ||
	    buf_str(&url, encpath.p))
		goto oom;
	for (size_t i = 0; i < r->nquery; i++) {
		char *e = NULL;
		size_t el = 0;
		if (buf_str(&url, i ? "&" : "?"))
			goto oom;
		if (sigv4_uri_encode(&e, &el, r->query[i].name, strlen(r->query[i].name), 0) < 0)
			goto oom;
		int bad = buf_add(&url, e, el);
		free(e);
		e = NULL;
		el = 0;
		if (bad || buf_str(&url, "="))
			goto oom;
		const char *v = r->query[i].value ? r->query[i].value : "";
		if (sigv4_uri_encode(&e, &el, v, strlen(v), 0) < 0)
			goto oom;
		bad = buf_add(&url, e, el);
		free(e);
		if (bad)
			goto oom;
	}

	struct sigv4_pair sh[16];
	size_t nsh = 0;
	sh[nsh++] = (struct sigv4_pair){"host", host.p};
	sh[nsh++] = (struct sigv4_pair){"x-amz-content-sha256", phash};
	sh[nsh++] = (struct sigv4_pair){"x-amz-date", date};
	if (h->creds.session_token)
		sh[nsh++] = (struct sigv4_pair){"x-amz-security-token", h->creds.session_token};
	for (size_t i = 0; i < r->nhdr && nsh < 16; i++)
		sh[nsh++] = (struct sigv4_pair){r->hdr[i].name, r->hdr[i].value};
	struct sigv4_request sreq = {
		.method = r->method, .path = path.p, .query = r->query, .nquery = r->nquery,
		.headers = sh, .nheaders = nsh, .payload_hash = phash, .amz_date = date,
		.region = h->region, .service = "s3", .access_key = h->creds.access_key,
		.secret_key = h->creds.secret_key,
	};
	if (sigv4_sign(&sreq, &sig) < 0)
		goto oom;

	for (size_t i = 0; i < nsh; i++) {
		struct buf line = {0};
		if (buf_str(&line, sh[i].name) || buf_str(&line, ": ") ||
		    buf_str(&line, sh[i].value)) {
			buf_free(&line);
			goto oom;
		}
		struct curl_slist *nl = curl_slist_append(x->hl, line.p);
		if (line.p)
			sodium_memzero(line.p, line.len);
		buf_free(&line);
		if (!nl)
			goto oom;
		x->hl = nl;
	}
	{
		struct buf line = {0};
		int bad = buf_str(&line, "Authorization: ") || buf_str(&line, sig.authorization);
		struct curl_slist *nl = bad ? NULL : curl_slist_append(x->hl, line.p);
		buf_free(&line);
		if (!nl)
			goto oom;
		x->hl = nl;
	}
	struct curl_slist *nl = curl_slist_append(x->hl, "Expect:");
	if (!nl)
		goto oom;
	x->hl = nl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->ebuf);
	curl_easy_setopt(c, CURLOPT_URL, url.p);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hl);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
	curl_easy_setopt(c, CURLOPT_PRIVATE, r);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kahu-s3/" S3_VERSION);
	if (r->after_cancel)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)S3_TIDY_TIMEOUT);
	if (h->ca_bundle)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
	if (h->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, r);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(r->body ? r->body_len : 0));
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(r->body ? r->body_len : 0));
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	}
	goto out;
oom:
	rc = seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	xfer_free(NULL, x);
out:
	sigv4_result_free(&sig);
	buf_free(&path);
	buf_free(&encpath);
	buf_free(&url);
	buf_free(&host);
	return rc;
}

/* The transfer of `r` on `c` ended with `cc`: 0 when the answer came (any status: see
 * r->status), or a provider code for a transfer failure. */
static int xfer_done(struct kahu_backend_handle *h, struct s3_req *r, CURL *c, CURLcode cc,
		     struct xfer *x)
{
	int rc;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (cc == CURLE_WRITE_ERROR && r->sink_stopped) {
		rc = seterr(h, KAHU_BACKEND_ECALLBACK, "reading %s: stopped by kahu", what_of(r));
	} else if (cc == CURLE_WRITE_ERROR && r->too_big) {
		rc = seterr(h, KAHU_BACKEND_EPERMANENT, "%s %s: the answer is larger than %u MiB",
			    r->method, what_of(r), S3_XML_MAX / S3_MIB);
	} else if (cc != CURLE_OK) {
		rc = curl_rc(h, r, cc, *x->ebuf ? x->ebuf : curl_easy_strerror(cc));
	} else {
		rc = KAHU_BACKEND_OK;
	}
	logf_(h, KAHU_BACKEND_LOG_TRACE, "%s %s -> %ld", r->method, what_of(r), r->status);
	return rc;
}

/* Perform one request on the handle's own connection: sign, send, collect.  Returns 0
 * when the answer came (any status: see r->status), or a provider code. */
static int perform(struct kahu_backend_handle *h, struct s3_req *r)
{
	struct xfer x;
	int rc = xfer_setup(h, r, h->curl, &x);
	if (rc < 0)
		return rc;
	CURLcode cc = curl_easy_perform(h->curl);
	rc = xfer_done(h, r, h->curl, cc, &x);
	xfer_free(h->curl, &x);
	return rc;
}

/* A non-2xx answer to `r` as a provider code. */
static int answer_rc(struct kahu_backend_handle *h, struct s3_req *r)
{
	if (r->status >= 200 && r->status < 300)
		return KAHU_BACKEND_OK;
	if (r->status == 404 && !r->resp.len && r->key && !h->bucket_checked) {
		/* A HEAD's 404 has no body: is it the key or the bucket? */
		struct s3_req b = {.method = "HEAD"};
		int brc = perform(h, &b);
		long st = b.status;
		req_free(&b);
		if (brc == KAHU_BACKEND_OK && st == 404)
			return seterr(h, KAHU_BACKEND_ECONFIG, "bucket %s does not exist (at %s://%s)",
				      h->bucket, h->scheme, h->authority);
		if (brc == KAHU_BACKEND_OK && st >= 200 && st < 300)
			h->bucket_checked = 1;
	}
	return http_rc(h, r);
}

/* perform() and map a non-2xx answer. */
static int request(struct kahu_backend_handle *h, struct s3_req *r)
{
	int rc = perform(h, r);
	return rc < 0 ? rc : answer_rc(h, r);
}

/* ---------------------------------------------------------------- web identity */

/* AssumeRoleWithWebIdentity: an unsigned call to STS with the token read from the
 * file (Kubernetes rotates it), answered with temporary keys. */
static int webid_refresh(struct kahu_backend_handle *h)
{
	char tok[16384];
	FILE *f = fopen(h->creds.token_file, "re");
	if (!f)
		return seterr(h, KAHU_BACKEND_EAUTH, "cannot read the web identity token file %s: %s",
			      h->creds.token_file, strerror(errno));
	size_t n = fread(tok, 1, sizeof tok - 1, f);
	fclose(f);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
		n--;
	tok[n] = '\0';
	if (n == 0)
		return seterr(h, KAHU_BACKEND_EAUTH, "the web identity token file %s is empty",
			      h->creds.token_file);

	struct buf body = {0};
	const char *sess = getenv("AWS_ROLE_SESSION_NAME");
	struct sigv4_pair form[] = {
		{"Action", "AssumeRoleWithWebIdentity"},
		{"Version", "2011-06-15"},
		{"RoleArn", h->creds.role_arn},
		{"RoleSessionName", sess && *sess ? sess : "kahu"},
		{"WebIdentityToken", tok},
	};
	for (size_t i = 0; i < sizeof form / sizeof form[0]; i++) {
		if ((i && buf_str(&body, "&")) || buf_str(&body, form[i].name) ||
		    buf_str(&body, "=")) {
			buf_free(&body);
			return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
		}
		if (sigv4_uri_encode(&body.p, &body.len, form[i].value, strlen(form[i].value), 0)) {
			buf_free(&body);
			return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
		}
		body.cap = body.len + 1;
	}
	sodium_memzero(tok, sizeof tok);

	struct buf resp = {0};
	char ebuf[CURL_ERROR_SIZE] = "";
	CURL *c = h->curl;
	curl_easy_reset(c);
	struct s3_req r = {.method = "POST", .ukey = "AssumeRoleWithWebIdentity", .h = h,
			   .easy = c, .body_max = S3_ERRBODY_MAX, .after_cancel = cancelled(h)};
	struct curl_slist *hl =
		curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_URL, h->sts_endpoint);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.p);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &r);
	if (h->ca_bundle)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
	if (h->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hl);
	sodium_memzero(body.p, body.len);
	buf_free(&body);
	(void)resp;
	int rc;
	if (cc != CURLE_OK) {
		rc = curl_rc(h, &r, cc, *ebuf ? ebuf : curl_easy_strerror(cc));
		char m[sizeof h->err];
		memcpy(m, h->err, sizeof m);
		m[300] = '\0';
		snprintf(h->err, sizeof h->err, "web identity: STS at %.300s: %.600s", h->sts_endpoint, m);
		req_free(&r);
		return rc;
	}
	if (r.status != 200) {
		char code[64], msg[256];
		error_code(&r, code, sizeof code, msg, sizeof msg);
		req_free(&r);
		if (r.status >= 500)
			return seterr(h, KAHU_BACKEND_ETRANSIENT,
				      "web identity: STS at %s answered %ld %s", h->sts_endpoint,
				      r.status, code);
		return seterr(h, KAHU_BACKEND_EAUTH,
			      "web identity: STS at %s refused AssumeRoleWithWebIdentity for role "
			      "%s (%ld %s%s%s)", h->sts_endpoint, h->creds.role_arn, r.status, code,
			      *msg ? ": " : "", msg);
	}
	const char *s = r.resp.p ? r.resp.p : "", *e = s + r.resp.len;
	char *ak = xml_get(s, e, "AccessKeyId", NULL);
	char *sk = xml_get(s, e, "SecretAccessKey", NULL);
	char *st = xml_get(s, e, "SessionToken", NULL);
	char *exp = xml_get(s, e, "Expiration", NULL);
	sodium_memzero(r.resp.p ? r.resp.p : tok, r.resp.p ? r.resp.len : 0);
	req_free(&r);
	if (!ak || !sk || !st || !exp) {
		free(ak);
		if (sk)
			sodium_memzero(sk, strlen(sk));
		free(sk);
		free(st);
		free(exp);
		return seterr(h, KAHU_BACKEND_EAUTH,
			      "web identity: the STS answer at %s lacks the credentials",
			      h->sts_endpoint);
	}
	if (h->creds.secret_key)
		sodium_memzero(h->creds.secret_key, strlen(h->creds.secret_key));
	free(h->creds.access_key);
	free(h->creds.secret_key);
	if (h->creds.session_token)
		sodium_memzero(h->creds.session_token, strlen(h->creds.session_token));
	free(h->creds.session_token);
	h->creds.access_key = ak;
	h->creds.secret_key = sk;
	h->creds.session_token = st;
	h->creds.expires = (time_t)parse_time(exp);
	if (h->creds.expires == 0)
		h->creds.expires = time(NULL) + 900;
	logf_(h, KAHU_BACKEND_LOG_DEBUG, "web identity: credentials for %s until %s",
	      h->creds.role_arn, exp);
	free(exp);
	return KAHU_BACKEND_OK;
}

/* ---------------------------------------------------------------- lifecycle */

static const struct kahu_backend_option s3_options[] = {
	{"bucket", "the bucket", KAHU_BACKEND_OPT_REQUIRED},
	{"region", "the bucket's region (default us-east-1); signs every request", 0},
	{"endpoint", "URL of an S3-compatible server, e.g. https://minio.example:9000 "
		     "(default https://s3.REGION.amazonaws.com)", 0},
	{"path-style", "true: https://ENDPOINT/BUCKET/KEY (default with an endpoint); false: "
		       "https://BUCKET.ENDPOINT/KEY (default on AWS)", 0},
	{"prefix", "key prefix inside the bucket, e.g. clusters/prod (default none)", 0},
	{"ca-bundle", "PEM file of the CAs that sign the endpoint's certificate", KAHU_BACKEND_OPT_PATH},
	{"insecure", "true: do not check the endpoint's TLS certificate (test servers only)", 0},
	{"credentials-file", "shared credentials file to read the keys from (default: the "
			     "environment, web identity, then ~/.aws/credentials)", KAHU_BACKEND_OPT_PATH},
	{"profile", "profile of the credentials file (default $AWS_PROFILE, else default)", 0},
	{"part-size", "multipart part size in bytes, K/M/G suffixes allowed (5M to 5G, default "
		      "8M); objects up to it are one PUT", 0},
	{"parts-in-flight", "parts of one upload sent at once (1 to 16, default 4); an upload "
			    "holds at most (parts-in-flight + 1) x part-size bytes", 0},
	{"object-lock-mode", "governance or compliance: retention on every backup object "
			     "(the bucket must have Object Lock enabled)", 0},
	{"object-lock-days", "retention in days (with object-lock-mode)", 0},
	{"sts-endpoint", "STS URL for web identity (default https://sts.REGION.amazonaws.com)", 0},
	{NULL, NULL, 0},
};

static int parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!*v || *v == '-')
		return -1;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v)
		return -1;
	uint64_t mul = 1;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mul = 1024; break;
		case 'm': case 'M': mul = S3_MIB; break;
		case 'g': case 'G': mul = 1024ull * S3_MIB; break;
		default: return -1;
		}
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (n > UINT64_MAX / mul)
		return -1;
	*out = n * mul;
	return 0;
}

static void s3_close(struct kahu_backend_handle *h);

static int s3_open(const struct kahu_host *host, const struct kahu_backend_kv *config,
		   size_t nconfig, struct kahu_backend_handle **out, char *errbuf,
		   size_t errbuf_len)
{
	*out = NULL;
	const char *bucket = NULL, *region = NULL, *endpoint = NULL, *path_style = NULL,
		   *prefix = NULL, *ca = NULL, *insecure = NULL, *cred_file = NULL,
		   *profile = NULL, *part = NULL, *lmode = NULL, *ldays = NULL, *sts = NULL,
		   *inflight = NULL;
	struct {
		const char *key;
		const char **dst;
	} keys[] = {
		{"bucket", &bucket}, {"region", &region}, {"endpoint", &endpoint},
		{"path-style", &path_style}, {"prefix", &prefix}, {"ca-bundle", &ca},
		{"insecure", &insecure}, {"credentials-file", &cred_file}, {"profile", &profile},
		{"part-size", &part}, {"object-lock-mode", &lmode}, {"object-lock-days", &ldays},
		{"sts-endpoint", &sts}, {"parts-in-flight", &inflight},
	};
	for (size_t i = 0; i < nconfig; i++) {
		size_t k;
		for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
			if (strcmp(config[i].key, keys[k].key) == 0)
				break;
		if (k == sizeof keys / sizeof keys[0]) {
			snprintf(errbuf, errbuf_len, "unknown configuration key \"%s\"", config[i].key);
			return KAHU_BACKEND_ECONFIG;
		}
		*keys[k].dst = config[i].value;
	}
	if (!bucket || !*bucket) {
		snprintf(errbuf, errbuf_len, "the configuration key \"bucket\" is required");
		return KAHU_BACKEND_ECONFIG;
	}
	/* Bucket names: 3-63 of [a-z0-9.-] (and, for old buckets, '_'). */
	size_t bl = strlen(bucket);
	for (const char *c = bucket; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' ||
		      *c == '-' || *c == '_' || (*c >= 'A' && *c <= 'Z')))
			bl = 0;
	if (bl < 3 || bl > 255) {
		snprintf(errbuf, errbuf_len, "bucket \"%s\" is not a valid bucket name", bucket);
		return KAHU_BACKEND_ECONFIG;
	}

	if (sodium_init() < 0) {
		snprintf(errbuf, errbuf_len, "libsodium cannot be initialized");
		return KAHU_BACKEND_EPERMANENT;
	}
	struct kahu_backend_handle *h = calloc(1, sizeof *h);
	if (!h) {
		snprintf(errbuf, errbuf_len, "out of memory");
		return KAHU_BACKEND_EPERMANENT;
	}
	h->host = host;
	h->part_size = S3_PART_DEFAULT;
	h->parts_in_flight = S3_INFLIGHT_DEFAULT;
	h->bucket = xstrdup(bucket);
	h->region = xstrdup(region && *region ? region : "us-east-1");
	int rc = KAHU_BACKEND_ECONFIG;

	/* endpoint */
	int ps = endpoint && *endpoint;
	if (endpoint && *endpoint) {
		const char *sep = strstr(endpoint, "://");
		if (!sep || (strncmp(endpoint, "http", 4) != 0) ||
		    !(sep - endpoint == 4 || (sep - endpoint == 5 && endpoint[4] == 's'))) {
			snprintf(errbuf, errbuf_len,
				 "endpoint \"%s\" is not an http:// or https:// URL", endpoint);
			goto fail;
		}
		const char *auth = sep + 3;
		size_t al = strcspn(auth, "/?#");
		if (al == 0 || (auth[al] && strcmp(auth + al, "/") != 0)) {
			snprintf(errbuf, errbuf_len,
				 "endpoint \"%s\" must be scheme://host[:port] without a path",
				 endpoint);
			goto fail;
		}
		h->scheme = strndup(endpoint, (size_t)(sep - endpoint));
		h->authority = strndup(auth, al);
	} else {
		char a[300];
		snprintf(a, sizeof a, "s3.%s.amazonaws.com", h->region);
		h->scheme = xstrdup("https");
		h->authority = xstrdup(a);
	}
	if (path_style && parse_bool(path_style, &ps) < 0) {
		snprintf(errbuf, errbuf_len, "path-style \"%s\" is not true or false", path_style);
		goto fail;
	}
	h->path_style = ps;
	if (!ps && strchr(bucket, '.') && strcmp(h->scheme, "https") == 0)
		logf_(h, KAHU_BACKEND_LOG_WARN,
		      "bucket %s has dots: its virtual-host name may not match the endpoint's "
		      "certificate; set path-style=true if TLS fails", bucket);
	if (insecure && parse_bool(insecure, &h->insecure) < 0) {
		snprintf(errbuf, errbuf_len, "insecure \"%s\" is not true or false", insecure);
		goto fail;
	}
	if (h->insecure)
		logf_(h, KAHU_BACKEND_LOG_WARN,
		      "insecure=true: the certificate of %s is not checked (test servers only)",
		      h->authority);
	if (ca && *ca) {
		FILE *f = fopen(ca, "re");
		if (!f) {
			snprintf(errbuf, errbuf_len, "cannot read ca-bundle %s: %s", ca, strerror(errno));
			goto fail;
		}
		fclose(f);
		h->ca_bundle = xstrdup(ca);
	}

	/* prefix: "a/b" -> "a/b/" */
	{
		const char *p = prefix ? prefix : "";
		while (*p == '/')
			p++;
		size_t pl = strlen(p);
		while (pl > 0 && p[pl - 1] == '/')
			pl--;
		h->prefix = malloc(pl + 2);
		if (!h->prefix)
			goto oom;
		memcpy(h->prefix, p, pl);
		if (pl)
			h->prefix[pl++] = '/';
		h->prefix[pl] = '\0';
		if (strstr(h->prefix, "//")) {
			snprintf(errbuf, errbuf_len, "prefix \"%s\" has an empty component", prefix);
			goto fail;
		}
	}

	if (part) {
		uint64_t v;
		if (parse_size(part, &v) < 0 || v < S3_PART_MIN || v > S3_PART_MAX) {
			snprintf(errbuf, errbuf_len,
				 "part-size \"%s\" is not a size from 5M to 5G (S3's part limits)", part);
			goto fail;
		}
		h->part_size = v;
	}

	if (inflight) {
		char *end;
		unsigned long n = strtoul(inflight, &end, 10);
		if (!*inflight || *end || *inflight == '-' || n < 1 || n > S3_INFLIGHT_MAX) {
			snprintf(errbuf, errbuf_len, "parts-in-flight \"%s\" is not a number from 1 to %u",
				 inflight, S3_INFLIGHT_MAX);
			goto fail;
		}
		h->parts_in_flight = (unsigned int)n;
	}

	if (lmode && *lmode) {
		if (!strcasecmp(lmode, "governance"))
			h->lock_mode = xstrdup("GOVERNANCE");
		else if (!strcasecmp(lmode, "compliance"))
			h->lock_mode = xstrdup("COMPLIANCE");
		else {
			snprintf(errbuf, errbuf_len,
				 "object-lock-mode \"%s\" is not governance or compliance", lmode);
			goto fail;
		}
		char *end;
		unsigned long d = ldays ? strtoul(ldays, &end, 10) : 0;
		if (!ldays || !*ldays || *end || d < 1 || d > 36500 || *ldays == '-') {
			snprintf(errbuf, errbuf_len,
				 "object-lock-mode needs object-lock-days, a number of days from 1 to "
				 "36500");
			goto fail;
		}
		h->lock_days = (unsigned int)d;
	} else if (ldays && *ldays) {
		snprintf(errbuf, errbuf_len, "object-lock-days needs object-lock-mode");
		goto fail;
	}

	char err[512];
	if (s3_creds_resolve(cred_file, profile, &h->creds, err, sizeof err) < 0) {
		snprintf(errbuf, errbuf_len, "%s", err);
		rc = KAHU_BACKEND_EAUTH;
		goto fail;
	}
	if (h->creds.kind == S3_CREDS_WEB_IDENTITY) {
		char d[300];
		const char *env_sts = getenv("AWS_STS_ENDPOINT");
		snprintf(d, sizeof d, "https://sts.%s.amazonaws.com/", h->region);
		h->sts_endpoint = xstrdup(sts && *sts ? sts : env_sts && *env_sts ? env_sts : d);
	}

	h->curl = curl_easy_init();
	if (!h->curl || !h->bucket || !h->region || !h->scheme || !h->authority)
		goto oom;
	*out = h;
	return KAHU_BACKEND_OK;
oom:
	snprintf(errbuf, errbuf_len, "out of memory");
	rc = KAHU_BACKEND_EPERMANENT;
fail:
	s3_close(h);
	return rc;
}

static void s3_close(struct kahu_backend_handle *h)
{
	if (!h)
		return;
	if (h->nput)
		logf_(h, KAHU_BACKEND_LOG_WARN,
		      "%u put stream(s) still open at close; cleanup removes their uploads", h->nput);
	if (h->curl)
		curl_easy_cleanup(h->curl);
	s3_creds_clear(&h->creds);
	free(h->bucket);
	free(h->region);
	free(h->prefix);
	free(h->scheme);
	free(h->authority);
	free(h->ca_bundle);
	free(h->lock_mode);
	free(h->sts_endpoint);
	free(h);
}

static const char *s3_errmsg(struct kahu_backend_handle *h)
{
	return h ? h->err : "";
}

static char *full_key(struct kahu_backend_handle *h, const char *key)
{
	size_t pl = strlen(h->prefix), kl = strlen(key);
	char *k = malloc(pl + kl + 1);
	if (k) {
		memcpy(k, h->prefix, pl);
		memcpy(k + pl, key, kl + 1);
	}
	return k;
}

static int key_ok(struct kahu_backend_handle *h, const char *key)
{
	if (!key || !*key || key[0] == '/' || strlen(key) > KAHU_BACKEND_KEY_MAX)
		return seterr(h, KAHU_BACKEND_EPERMANENT, "invalid key \"%s\"", key ? key : "");
	return KAHU_BACKEND_OK;
}

static int s3_probe(struct kahu_backend_handle *h)
{
	struct s3_req r = {.method = "HEAD"};
	int rc = perform(h, &r);
	if (rc == KAHU_BACKEND_OK && r.status == 404)
		rc = seterr(h, KAHU_BACKEND_ECONFIG, "bucket %s does not exist (at %s://%s)",
			    h->bucket, h->scheme, h->authority);
	else if (rc == KAHU_BACKEND_OK && (r.status < 200 || r.status >= 300))
		rc = http_rc(h, &r);
	req_free(&r);
	return rc;
}

/* ---------------------------------------------------------------- stat, get, list */

static int s3_stat(struct kahu_backend_handle *h, const char *key, struct kahu_backend_stat *st)
{
	int rc = key_ok(h, key);
	if (rc < 0)
		return rc;
	char *k = full_key(h, key);
	if (!k)
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	struct s3_req r = {.method = "HEAD", .key = k, .ukey = key};
	rc = request(h, &r);
	if (rc == KAHU_BACKEND_OK) {
		memset(st, 0, sizeof *st);
		st->size = r.has_length ? r.content_length : 0;
		st->mtime = r.last_modified[0] ? parse_time(r.last_modified) : 0;
	}
	req_free(&r);
	free(k);
	return rc;
}

static int s3_get(struct kahu_backend_handle *h, const char *key, uint64_t offset,
		  uint64_t length, kahu_backend_write_fn sink, void *ud)
{
	int rc = key_ok(h, key);
	if (rc < 0)
		return rc;
	char *k = full_key(h, key);
	if (!k)
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	char range[64];
	struct s3_req r = {.method = "GET", .key = k, .ukey = key, .sink = sink, .sink_ud = ud};
	if (offset || length != KAHU_BACKEND_TO_END) {
		if (length == KAHU_BACKEND_TO_END || offset + length < offset)
			snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)offset);
		else
			snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)offset,
				 (unsigned long long)(offset + length - 1));
		r.hdr[r.nhdr++] = (struct s3_hdr){"range", range};
	}
	rc = perform(h, &r);
	if (rc == KAHU_BACKEND_OK && r.status == 416) {
		rc = KAHU_BACKEND_OK; /* past the end: no bytes */
	} else if (rc == KAHU_BACKEND_OK && r.status == 200 && (offset || length != KAHU_BACKEND_TO_END)) {
		/* A server that ignored the range sent everything: a wrong answer. */
		rc = seterr(h, KAHU_BACKEND_EPERMANENT,
			    "GET %s: the server ignored the byte range", key);
	} else if (rc == KAHU_BACKEND_OK && (r.status < 200 || r.status >= 300)) {
		rc = http_rc(h, &r);
	}
	req_free(&r);
	free(k);
	return rc;
}

static int s3_list(struct kahu_backend_handle *h, const char *prefix, kahu_backend_list_fn cb,
		   void *ud)
{
	char *fp = full_key(h, prefix ? prefix : "");
	if (!fp)
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	size_t pl = strlen(h->prefix);
	char *token = NULL;
	int rc = KAHU_BACKEND_OK;
	for (;;) {
		struct s3_req r = {.method = "GET", .ukey = "the bucket listing"};
		r.query[r.nquery++] = (struct sigv4_pair){"list-type", "2"};
		r.query[r.nquery++] = (struct sigv4_pair){"prefix", fp};
		if (token)
			r.query[r.nquery++] = (struct sigv4_pair){"continuation-token", token};
		rc = request(h, &r);
		if (rc < 0) {
			req_free(&r);
			break;
		}
		const char *s = r.resp.p ? r.resp.p : "", *e = s + r.resp.len;
		if (!strstr(s, "<ListBucketResult")) {
			req_free(&r);
			rc = seterr(h, KAHU_BACKEND_EPERMANENT,
				    "listing %s: the answer is not a ListObjectsV2 result", fp);
			break;
		}
		const char *cur = s, *bs, *be;
		while (rc == KAHU_BACKEND_OK && xml_block(&cur, e, "Contents", &bs, &be)) {
			char *key = xml_get(bs, be, "Key", NULL);
			char *size = xml_get(bs, be, "Size", NULL);
			char *lm = xml_get(bs, be, "LastModified", NULL);
			if (key && strncmp(key, h->prefix, pl) == 0 && key[pl] &&
			    !strstr(key + pl, "/.") && key[pl] != '.') {
				struct kahu_backend_stat st = {0};
				st.size = size ? strtoull(size, NULL, 10) : 0;
				st.mtime = lm ? parse_time(lm) : 0;
				if (cb(ud, key + pl, &st) != 0)
					rc = seterr(h, KAHU_BACKEND_ECALLBACK, "listing stopped by kahu");
			}
			free(key);
			free(size);
			free(lm);
		}
		char *trunc = xml_get(s, e, "IsTruncated", NULL);
		free(token);
		token = NULL;
		if (trunc && strcmp(trunc, "true") == 0)
			token = xml_get(s, e, "NextContinuationToken", NULL);
		int more = trunc && strcmp(trunc, "true") == 0;
		free(trunc);
		req_free(&r);
		if (rc < 0)
			break;
		if (more && !token) {
			rc = seterr(h, KAHU_BACKEND_EPERMANENT,
				    "listing %s: a truncated answer without a continuation token", fp);
			break;
		}
		if (!more)
			break;
	}
	free(token);
	free(fp);
	return rc;
}

/* ---------------------------------------------------------------- remove */

static int is_locked_key(const struct kahu_backend_handle *h, const char *key)
{
	return h->lock_mode && strncmp(key, "backups/", 8) == 0;
}

static int s3_remove(struct kahu_backend_handle *h, const char *key)
{
	int rc = key_ok(h, key);
	if (rc < 0)
		return rc;
	char *k = full_key(h, key);
	if (!k)
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	/* S3 answers 204 to the DELETE of a missing key, and on a versioned (Object Lock)
	 * bucket a DELETE only hides a locked object: look first. */
	struct s3_req head = {.method = "HEAD", .key = k, .ukey = key};
	rc = request(h, &head);
	if (rc == KAHU_BACKEND_OK && head.retain_until[0]) {
		int64_t until = parse_time(head.retain_until);
		if (until > (int64_t)time(NULL)) {
			rc = seterr(h, KAHU_BACKEND_EAUTH, "%s is locked until %s (object lock %s)",
				    key, head.retain_until,
				    head.lock_mode[0] ? head.lock_mode : "retention");
		}
	}
	req_free(&head);
	if (rc == KAHU_BACKEND_OK) {
		struct s3_req r = {.method = "DELETE", .key = k, .ukey = key};
		rc = request(h, &r);
		if (rc == KAHU_BACKEND_EAUTH && is_locked_key(h, key))
			rc = seterr(h, KAHU_BACKEND_EAUTH,
				    "%s is locked (object lock %s, %u days from its upload)", key,
				    h->lock_mode, h->lock_days);
		req_free(&r);
	}
	free(k);
	return rc;
}

/* ---------------------------------------------------------------- put */

struct part {
	unsigned char *buf;        /* part_size bytes, allocated when first needed */
	size_t len;
	unsigned int num;          /* its part number once it was sent (1-based) */
	enum part_state state;
	CURL *easy;                /* its transfer, reused part after part */
	struct s3_req req;
	struct xfer x;
	char numstr[16];
	char md5[32];
	int rc;                    /* PART_FAILED: the code of its last try */
	char err[1024];            /* ... and the message */
};

static void lock_headers(struct kahu_backend_handle *h, const char *key, struct s3_req *r,
			 char until[32])
{
	if (!is_locked_key(h, key))
		return;
	time_t t = time(NULL) + (time_t)h->lock_days * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(until, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	r->hdr[r->nhdr++] = (struct s3_hdr){"x-amz-object-lock-mode", h->lock_mode};
	r->hdr[r->nhdr++] = (struct s3_hdr){"x-amz-object-lock-retain-until-date", until};
}

static void slot_stop(struct kahu_backend_put *p, struct part *s)
{
	if (s->state == PART_FLIGHT) {
		curl_multi_remove_handle(p->multi, s->easy);
		xfer_free(s->easy, &s->x);
		p->inflight--;
		s->state = PART_FAILED;
		s->rc = KAHU_BACKEND_EPERMANENT;
	}
	req_free(&s->req);
}

static void put_free(struct kahu_backend_put *p)
{
	if (!p)
		return;
	p->h->nput--;
	for (unsigned int i = 0; p->slots && i < p->nslots; i++) {
		struct part *s = &p->slots[i];
		slot_stop(p, s);
		if (s->easy)
			curl_easy_cleanup(s->easy);
		if (s->buf) {
			sodium_memzero(s->buf, s->len);
			free(s->buf);
		}
	}
	if (p->multi)
		curl_multi_cleanup(p->multi);
	free(p->slots);
	for (unsigned int i = 0; i < p->netags; i++)
		free(p->etags[i].etag);
	free(p->etags);
	free(p->key);
	free(p->ukey);
	free(p->upload_id);
	free(p);
}

static int s3_put_begin(struct kahu_backend_handle *h, const char *key, unsigned int flags,
			uint64_t size_hint, struct kahu_backend_put **out)
{
	*out = NULL;
	int rc = key_ok(h, key);
	if (rc < 0)
		return rc;
	if (flags & ~KAHU_PUT_EXCLUSIVE)
		return seterr(h, KAHU_BACKEND_EUNSUPPORTED, "unsupported put flags 0x%x", flags);
	if (size_hint != KAHU_BACKEND_SIZE_UNKNOWN && size_hint > h->part_size * S3_PARTS_MAX)
		return seterr(h, KAHU_BACKEND_EPERMANENT,
			      "%s: %llu bytes need more than %u parts of %llu bytes: raise part-size",
			      key, (unsigned long long)size_hint, S3_PARTS_MAX,
			      (unsigned long long)h->part_size);
	struct kahu_backend_put *p = calloc(1, sizeof *p);
	if (!p)
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	p->h = h;
	h->nput++;
	p->flags = flags;
	p->key = full_key(h, key);
	p->ukey = xstrdup(key);
	/* One buffer being filled and up to parts_in_flight being sent.  Buffers are
	 * allocated as they are needed: a small object costs one, and only its bytes. */
	p->nslots = h->parts_in_flight + 1;
	p->slots = calloc(p->nslots, sizeof *p->slots);
	p->multi = curl_multi_init();
	if (!p->key || !p->ukey || !p->slots || !p->multi) {
		put_free(p);
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	}
	*out = p;
	return KAHU_BACKEND_OK;
}

static int s3_put_abort_upload(struct kahu_backend_put *p);

/* CreateMultipartUpload. */
static int mp_start(struct kahu_backend_put *p)
{
	struct kahu_backend_handle *h = p->h;
	char until[32];
	struct s3_req r = {.method = "POST", .key = p->key, .ukey = p->ukey};
	r.query[r.nquery++] = (struct sigv4_pair){"uploads", ""};
	lock_headers(h, p->ukey, &r, until);
	int rc = request(h, &r);
	if (rc == KAHU_BACKEND_OK) {
		const char *s = r.resp.p ? r.resp.p : "";
		p->upload_id = xml_get(s, s + r.resp.len, "UploadId", NULL);
		if (!p->upload_id)
			rc = seterr(h, KAHU_BACKEND_EPERMANENT,
				    "starting the upload of %s: no UploadId in the answer", p->ukey);
	}
	req_free(&r);
	return rc;
}

/* Start sending the part in slot `s` (UploadPart); the upload is created first when
 * this is its first part.  The buffer stays until the part is stored. */
static int part_submit(struct kahu_backend_put *p, struct part *s)
{
	struct kahu_backend_handle *h = p->h;
	int rc;
	if (!p->upload_id && (rc = mp_start(p)) < 0)
		return rc;
	if (!s->num) {
		if (p->next_num >= S3_PARTS_MAX)
			return seterr(h, KAHU_BACKEND_EPERMANENT,
				      "%s: more than %u parts of %llu bytes: raise part-size", p->ukey,
				      S3_PARTS_MAX, (unsigned long long)h->part_size);
		s->num = ++p->next_num;
	}
	if (!s->easy && !(s->easy = curl_easy_init()))
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	snprintf(s->numstr, sizeof s->numstr, "%u", s->num);
	req_free(&s->req);
	memset(&s->req, 0, sizeof s->req);
	struct s3_req *r = &s->req;
	r->method = "PUT";
	r->key = p->key;
	r->ukey = p->ukey;
	r->body = s->buf;
	r->body_len = s->len;
	r->query[r->nquery++] = (struct sigv4_pair){"partNumber", s->numstr};
	r->query[r->nquery++] = (struct sigv4_pair){"uploadId", p->upload_id};
	if (h->lock_mode) {
		content_md5(s->buf, s->len, s->md5);
		r->hdr[r->nhdr++] = (struct s3_hdr){"content-md5", s->md5};
	}
	if ((rc = xfer_setup(h, r, s->easy, &s->x)) < 0)
		return rc;
	if (curl_multi_add_handle(p->multi, s->easy) != CURLM_OK) {
		xfer_free(s->easy, &s->x);
		return seterr(h, KAHU_BACKEND_EPERMANENT, "part %u of %s: cannot start the transfer",
			      s->num, p->ukey);
	}
	s->state = PART_FLIGHT;
	p->inflight++;
	if (p->fill == s)
		p->fill = NULL;
	return KAHU_BACKEND_OK;
}

/* Collect the parts whose transfer ended.  Returns the code of the first that failed
 * (its message in errmsg), else 0. */
static int parts_reap(struct kahu_backend_put *p)
{
	struct kahu_backend_handle *h = p->h;
	int first = KAHU_BACKEND_OK;
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(p->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct part *s = NULL;
		for (unsigned int i = 0; i < p->nslots; i++)
			if (p->slots[i].state == PART_FLIGHT && p->slots[i].easy == m->easy_handle)
				s = &p->slots[i];
		if (!s)
			continue;
		CURLcode cc = m->data.result;
		curl_multi_remove_handle(p->multi, s->easy);
		p->inflight--;
		int rc = xfer_done(h, &s->req, s->easy, cc, &s->x);
		xfer_free(s->easy, &s->x);
		if (rc == KAHU_BACKEND_OK)
			rc = answer_rc(h, &s->req);
		if (rc == KAHU_BACKEND_OK && !s->req.etag[0])
			rc = seterr(h, KAHU_BACKEND_EPERMANENT, "part %u of %s: no ETag in the answer",
				    s->num, p->ukey);
		if (rc == KAHU_BACKEND_ENOTFOUND)
			rc = seterr(h, KAHU_BACKEND_EPERMANENT, "part %u of %s: the upload is gone",
				    s->num, p->ukey);
		if (rc == KAHU_BACKEND_OK && p->netags == p->capetags) {
			unsigned int nc = p->capetags ? p->capetags * 2 : 16;
			struct etag *ne = realloc(p->etags, nc * sizeof *ne);
			if (!ne)
				rc = seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
			else {
				p->etags = ne;
				p->capetags = nc;
			}
		}
		char *et = rc == KAHU_BACKEND_OK ? xstrdup(s->req.etag) : NULL;
		if (rc == KAHU_BACKEND_OK && !et)
			rc = seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
		req_free(&s->req);
		if (rc == KAHU_BACKEND_OK) {
			p->etags[p->netags].num = s->num;
			p->etags[p->netags++].etag = et;
			sodium_memzero(s->buf, s->len);
			s->len = 0;
			s->num = 0;
			s->state = PART_FREE;
		} else {
			s->state = PART_FAILED;
			s->rc = rc;
			memcpy(s->err, h->err, sizeof s->err - 1);
			s->err[sizeof s->err - 1] = '\0';
			if (first == KAHU_BACKEND_OK)
				first = rc;
		}
	}
	if (first < 0) {
		/* The message of the first failure is the one reported. */
		for (unsigned int i = 0; i < p->nslots; i++)
			if (p->slots[i].state == PART_FAILED && p->slots[i].rc == first) {
				snprintf(h->err, sizeof h->err, "%s", p->slots[i].err);
				break;
			}
	}
	return first;
}

static struct part *slot_free(struct kahu_backend_put *p)
{
	for (unsigned int i = 0; i < p->nslots; i++)
		if (p->slots[i].state == PART_FREE)
			return &p->slots[i];
	return NULL;
}

static unsigned int slots_free(const struct kahu_backend_put *p)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < p->nslots; i++)
		n += p->slots[i].state == PART_FREE;
	return n;
}

/* Move the transfers on: once without waiting (want 0), or until `want` slots are
 * free (UINT_MAX: until none is in flight).  A part that fails ends the wait with its
 * code. */
static int parts_drive(struct kahu_backend_put *p, unsigned int want)
{
	for (;;) {
		int running = 0;
		if (curl_multi_perform(p->multi, &running) != CURLM_OK)
			return seterr(p->h, KAHU_BACKEND_EPERMANENT, "%s: the transfers failed",
				      p->ukey);
		int rc = parts_reap(p);
		if (rc < 0)
			return rc;
		if (want == UINT_MAX ? p->inflight == 0 : slots_free(p) >= want)
			return KAHU_BACKEND_OK;
		/* The transfers' progress callbacks see an interrupt within a second. */
		curl_multi_poll(p->multi, NULL, 0, 1000, NULL);
	}
}

/* Send again the parts whose last try failed transiently (kahu waited before this
 * call); a part that failed for good fails the stream. */
static int parts_resubmit(struct kahu_backend_put *p)
{
	for (unsigned int i = 0; i < p->nslots; i++) {
		struct part *s = &p->slots[i];
		if (s->state != PART_FAILED)
			continue;
		if (s->rc != KAHU_BACKEND_ETRANSIENT && s->rc != KAHU_BACKEND_ECANCELLED) {
			snprintf(p->h->err, sizeof p->h->err, "%s", s->err);
			return s->rc;
		}
		int rc = part_submit(p, s);
		if (rc < 0)
			return rc;
	}
	return KAHU_BACKEND_OK;
}

static int s3_put_write(struct kahu_backend_put *p, const void *buf, size_t len)
{
	struct kahu_backend_handle *h = p->h;
	const unsigned char *b = buf;
	size_t taken = 0;
	int taken_sent = 0; /* some of this call's bytes are in a part on its way */
	int rc;
	/* Failures found before a byte is taken leave the stream as it was (PUT_RETRY):
	 * parts to send again, the transfers moved on, and the free buffers this call
	 * will need (so that no wait comes after its bytes went out). */
	if ((rc = parts_resubmit(p)) < 0 || (rc = parts_drive(p, 0)) < 0)
		return rc;
	uint64_t cur = p->fill ? p->fill->len : 0;
	uint64_t bufs = (cur + len + h->part_size - 1) / h->part_size;
	uint64_t want = bufs - (p->fill ? 1 : 0);
	if (want > p->nslots - 1)
		want = p->nslots - 1;
	if (want > 0 && (rc = parts_drive(p, (unsigned int)want)) < 0)
		return rc;
	while (len > 0) {
		if (p->fill && p->fill->len == h->part_size) {
			/* Full, and more bytes come: a multipart upload, this is a part. */
			if ((rc = part_submit(p, p->fill)) < 0)
				goto undo;
			taken_sent |= taken > 0;
		}
		if (!p->fill) {
			struct part *s = slot_free(p);
			if (!s) { /* only for a write of more than parts-in-flight parts */
				if ((rc = parts_drive(p, 1)) < 0)
					goto undo;
				s = slot_free(p);
			}
			if (!s->buf && !(s->buf = malloc((size_t)h->part_size)))
				return seterr(h, KAHU_BACKEND_EPERMANENT,
					      "out of memory (a part of %llu bytes)",
					      (unsigned long long)h->part_size);
			s->state = PART_FILL;
			s->len = 0;
			s->num = 0;
			p->fill = s;
		}
		size_t room = (size_t)h->part_size - p->fill->len;
		size_t take = len < room ? len : room;
		memcpy(p->fill->buf + p->fill->len, b, take);
		p->fill->len += take;
		p->total += take;
		taken += take;
		b += take;
		len -= take;
	}
	return KAHU_BACKEND_OK;
undo:
	if (rc != KAHU_BACKEND_ETRANSIENT && rc != KAHU_BACKEND_ECANCELLED)
		return rc;
	if (taken_sent) /* they cannot be taken back; the message says why it failed */
		return KAHU_BACKEND_EPERMANENT;
	/* As before the call: the bytes it took are all in the buffer being filled. */
	if (p->fill)
		p->fill->len -= taken;
	p->total -= taken;
	return rc;
}

static int put_single(struct kahu_backend_put *p)
{
	struct kahu_backend_handle *h = p->h;
	char until[32], md5[32];
	struct s3_req r = {.method = "PUT", .key = p->key, .ukey = p->ukey,
			   .body = p->fill ? p->fill->buf : NULL, .body_len = p->fill ? p->fill->len : 0};
	if (!r.body)
		r.body = "";
	lock_headers(h, p->ukey, &r, until);
	if (h->lock_mode) {
		content_md5(r.body, r.body_len, md5);
		r.hdr[r.nhdr++] = (struct s3_hdr){"content-md5", md5};
	}
	if (p->flags & KAHU_PUT_EXCLUSIVE)
		r.hdr[r.nhdr++] = (struct s3_hdr){"if-none-match", "*"};
	int rc = request(h, &r);
	req_free(&r);
	return rc;
}

static int etag_cmp(const void *a, const void *b)
{
	const struct etag *x = a, *y = b;
	return x->num < y->num ? -1 : x->num > y->num;
}

/* CompleteMultipartUpload.  S3 may answer 200 and still fail: the error is then in
 * the body. */
static int mp_complete(struct kahu_backend_put *p)
{
	struct kahu_backend_handle *h = p->h;
	struct buf body = {0};
	qsort(p->etags, p->netags, sizeof *p->etags, etag_cmp);
	int bad = buf_str(&body, "<CompleteMultipartUpload>");
	for (unsigned int i = 0; !bad && i < p->netags; i++) {
		char num[16];
		snprintf(num, sizeof num, "%u", p->etags[i].num);
		bad = buf_str(&body, "<Part><PartNumber>") || buf_str(&body, num) ||
		      buf_str(&body, "</PartNumber><ETag>") || buf_xml(&body, p->etags[i].etag) ||
		      buf_str(&body, "</ETag></Part>");
	}
	if (bad || buf_str(&body, "</CompleteMultipartUpload>")) {
		buf_free(&body);
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	}
	struct s3_req r = {.method = "POST", .key = p->key, .ukey = p->ukey, .body = body.p,
			   .body_len = body.len};
	r.query[r.nquery++] = (struct sigv4_pair){"uploadId", p->upload_id};
	r.hdr[r.nhdr++] = (struct s3_hdr){"content-type", "application/xml"};
	if (p->flags & KAHU_PUT_EXCLUSIVE)
		r.hdr[r.nhdr++] = (struct s3_hdr){"if-none-match", "*"};
	int rc = request(h, &r);
	if (rc == KAHU_BACKEND_OK) {
		const char *s = r.resp.p ? r.resp.p : "";
		if (strstr(s, "<Error>")) {
			char code[64], msg[256];
			error_code(&r, code, sizeof code, msg, sizeof msg);
			if (!strcmp(code, "InternalError") || !strcmp(code, "SlowDown") || !*code)
				rc = seterr(h, KAHU_BACKEND_ETRANSIENT,
					    "completing the upload of %s: %s %s", p->ukey,
					    *code ? code : "error", msg);
			else
				rc = seterr(h, KAHU_BACKEND_EPERMANENT,
					    "completing the upload of %s: %s %s", p->ukey, code, msg);
		} else if (!strstr(s, "<CompleteMultipartUploadResult")) {
			rc = seterr(h, KAHU_BACKEND_ETRANSIENT,
				    "completing the upload of %s: the answer is not a result", p->ukey);
		}
	} else if (rc == KAHU_BACKEND_ENOTFOUND) {
		/* A retry after an answer that got lost: the upload may be complete. */
		struct s3_req hd = {.method = "HEAD", .key = p->key, .ukey = p->ukey};
		int hrc = request(h, &hd);
		if (hrc == KAHU_BACKEND_OK && hd.has_length && hd.content_length == p->total)
			rc = KAHU_BACKEND_OK;
		else
			rc = seterr(h, KAHU_BACKEND_EPERMANENT,
				    "completing the upload of %s: the upload is gone", p->ukey);
		req_free(&hd);
	}
	req_free(&r);
	buf_free(&body);
	return rc;
}

static int s3_put_abort_upload(struct kahu_backend_put *p)
{
	if (!p->upload_id)
		return KAHU_BACKEND_OK;
	struct kahu_backend_handle *h = p->h;
	char saved[sizeof h->err];
	memcpy(saved, h->err, sizeof saved);
	/* Parts still on their way first: an abort does not stop them. */
	for (unsigned int i = 0; i < p->nslots; i++)
		slot_stop(p, &p->slots[i]);
	struct s3_req r = {.method = "DELETE", .key = p->key, .ukey = p->ukey};
	r.query[r.nquery++] = (struct sigv4_pair){"uploadId", p->upload_id};
	int rc = request(h, &r);
	req_free(&r);
	if (rc < 0 && rc != KAHU_BACKEND_ENOTFOUND)
		logf_(h, KAHU_BACKEND_LOG_WARN,
		      "cannot abort the unfinished upload of %s (%s); the next prune removes it",
		      p->ukey, h->err);
	memcpy(h->err, saved, sizeof saved);
	return rc;
}

static int s3_put_commit(struct kahu_backend_put *p)
{
	struct kahu_backend_handle *h = p->h;
	int rc = parts_resubmit(p);
	if (rc == KAHU_BACKEND_OK && !p->upload_id && p->next_num == 0) {
		rc = put_single(p);
	} else if (rc == KAHU_BACKEND_OK) {
		if (p->fill && p->fill->len > 0)
			rc = part_submit(p, p->fill);
		if (rc == KAHU_BACKEND_OK)
			rc = parts_drive(p, UINT_MAX);
		if (rc == KAHU_BACKEND_OK)
			rc = mp_complete(p);
	}
	if (rc == KAHU_BACKEND_ETRANSIENT)
		return rc; /* KAHU_BACKEND_CAP_PUT_RETRY: the stream stays, kahu calls again */
	if (rc < 0)
		s3_put_abort_upload(p);
	else
		logf_(h, KAHU_BACKEND_LOG_DEBUG, "stored %s (%llu bytes, %u part%s)", p->ukey,
		      (unsigned long long)p->total, p->next_num ? p->next_num : 1,
		      p->next_num > 1 ? "s" : "");
	put_free(p);
	return rc;
}

static void s3_put_abort(struct kahu_backend_put *p)
{
	if (!p)
		return;
	s3_put_abort_upload(p);
	put_free(p);
}

/* ---------------------------------------------------------------- cleanup */

/* Abort the multipart uploads under `prefix` that nobody finished. */
static int s3_cleanup(struct kahu_backend_handle *h, const char *prefix, unsigned int *removed)
{
	*removed = 0;
	char *fp = full_key(h, prefix ? prefix : "");
	if (!fp)
		return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	char *kmark = NULL, *umark = NULL;
	int rc = KAHU_BACKEND_OK;
	for (;;) {
		struct s3_req r = {.method = "GET", .ukey = "the list of unfinished uploads"};
		r.query[r.nquery++] = (struct sigv4_pair){"uploads", ""};
		r.query[r.nquery++] = (struct sigv4_pair){"prefix", fp};
		if (kmark)
			r.query[r.nquery++] = (struct sigv4_pair){"key-marker", kmark};
		if (umark)
			r.query[r.nquery++] = (struct sigv4_pair){"upload-id-marker", umark};
		rc = request(h, &r);
		if (rc < 0) {
			req_free(&r);
			break;
		}
		const char *s = r.resp.p ? r.resp.p : "", *e = s + r.resp.len;
		const char *cur = s, *bs, *be;
		while (rc == KAHU_BACKEND_OK && xml_block(&cur, e, "Upload", &bs, &be)) {
			char *key = xml_get(bs, be, "Key", NULL);
			char *id = xml_get(bs, be, "UploadId", NULL);
			if (key && id) {
				struct s3_req d = {.method = "DELETE", .key = key, .ukey = key};
				d.query[d.nquery++] = (struct sigv4_pair){"uploadId", id};
				int drc = request(h, &d);
				req_free(&d);
				if (drc == KAHU_BACKEND_OK)
					(*removed)++;
				else if (drc != KAHU_BACKEND_ENOTFOUND)
					rc = drc;
			}
			free(key);
			free(id);
		}
		char *trunc = xml_get(s, e, "IsTruncated", NULL);
		int more = trunc && !strcmp(trunc, "true");
		free(trunc);
		free(kmark);
		free(umark);
		kmark = more ? xml_get(s, e, "NextKeyMarker", NULL) : NULL;
		umark = more ? xml_get(s, e, "NextUploadIdMarker", NULL) : NULL;
		req_free(&r);
		if (rc < 0 || !more || !kmark)
			break;
	}
	free(kmark);
	free(umark);
	free(fp);
	if (rc == KAHU_BACKEND_OK && *removed)
		logf_(h, KAHU_BACKEND_LOG_INFO, "aborted %u unfinished multipart upload%s", *removed,
		      *removed == 1 ? "" : "s");
	return rc;
}

/* ---------------------------------------------------------------- entry */

static const struct kahu_backend s3_backend = {
	KAHU_BACKEND_HEADER,
	.name = "s3",
	.version = S3_VERSION,
	.description = "Amazon S3 and S3-compatible stores (SigV4, multipart, Object Lock)",
	.capabilities = KAHU_BACKEND_CAP_METADATA | KAHU_BACKEND_CAP_VOLUME_DATA |
			KAHU_BACKEND_CAP_RANGE_READ | KAHU_BACKEND_CAP_ATOMIC_PUT |
			KAHU_BACKEND_CAP_PUT_RETRY,
	.options = s3_options,
	.open = s3_open,
	.close = s3_close,
	.errmsg = s3_errmsg,
	.probe = s3_probe,
	.put_begin = s3_put_begin,
	.put_write = s3_put_write,
	.put_commit = s3_put_commit,
	.put_abort = s3_put_abort,
	.get = s3_get,
	.stat = s3_stat,
	.list = s3_list,
	.remove = s3_remove,
	.copy = NULL,
	.cleanup = s3_cleanup,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int kahu_backend_init(const struct kahu_host *host, const struct kahu_backend **out)
{
	(void)host;
	pthread_once(&curl_once, curl_init_once);
	if (!curl_ok)
		return KAHU_BACKEND_EPERMANENT;
	*out = &s3_backend;
	return KAHU_BACKEND_OK;
}

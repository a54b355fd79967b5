/* kahu — the HTTP client for the Kubernetes API: the request policy.  See client.h.
 *
 * What a request means and what becomes of its answer: the tries (which failures are
 * retried, for which methods, how often), the waits between them (backoff with jitter
 * or Retry-After, within a budget of the request timeout), a 401's one refresh of the
 * credentials, the mapping of libcurl failures and HTTP statuses to kahu_err codes and
 * messages, and the body, buffered or streamed to the caller.  Reaching the cluster
 * (handles, TLS, credentials, proxy, the request slots) is the transport's
 * (transport.c); a handle is taken for one try and given back before any wait. */
#include "kube/client.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "kube/kubeconfig.h"
#include "kube/transport.h"
#include "util/backoff.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#define DEFAULT_MAX_REQUESTS 8
#define DEFAULT_TIMEOUT_MS 60000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_TRIES 10
#define RETRY_AFTER_CAP 600L
#define BACKOFF_BASE_MS 250L
#define BACKOFF_CAP_MS 30000L

struct kube_client {
	struct kube_transport *t;
	const char *server;     /* the transport's (for messages and logs) */
	char *user_name;        /* for messages only */
	char *source;

	int max_requests;
	long timeout_ms;
	int max_tries;
	atomic_int ns_scoped;   /* a list across the cluster was refused (kube_client_ns_scoped) */
};

/* ---- small helpers ------------------------------------------------------------- */

long kube_parse_retry_after(const char *value)
{
	return kahu_parse_retry_after(value, RETRY_AFTER_CAP); /* an HTTP date is ignored, as client-go does */
}

/* The backoff between tries; ±25 % jitter so that many workers hit by the same 429 do
 * not come back in step. */
static const struct kahu_backoff backoff_policy = {
	.base_ms = BACKOFF_BASE_MS, .cap_ms = BACKOFF_CAP_MS, .jitter_div = 4,
};

long kube_backoff_ms(int attempt, unsigned int random)
{
	return kahu_backoff_delay(&backoff_policy, attempt, random);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *kube_client_server(const struct kube_client *c)
{
	return c ? c->server : NULL;
}

void kube_client_set_ns_scoped(struct kube_client *c)
{
	atomic_store(&c->ns_scoped, 1);
}

int kube_client_ns_scoped(struct kube_client *c)
{
	return atomic_load(&c->ns_scoped);
}

int kube_client_max_requests(const struct kube_client *c)
{
	return c ? c->max_requests : DEFAULT_MAX_REQUESTS;
}

void kube_response_clear(struct kube_response *r)
{
	if (!r)
		return;
	kbuf_free(&r->body);
	free(r->content_type);
	r->content_type = NULL;
	r->status = 0;
	r->tries = 0;
}

static const char *status_text(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status >= 500 ? "Server Error" : "Error";
	}
}

/* The `message` of a Kubernetes Status body, or NULL.  Caller frees. */
static char *status_message(const struct kbuf *body)
{
	if (!body->len || !body->data || body->data[0] != '{')
		return NULL;
	json_t *root = json_loadb(body->data, body->len, 0, NULL);
	char *msg = NULL;
	if (root) {
		const char *m = json_string_value(json_object_get(root, "message"));
		if (m && *m)
			msg = xstrdup(m);
		json_decref(root);
	}
	return msg;
}

char *kube_status_message(const struct kbuf *body)
{
	return status_message(body);
}

/* ---- the client ------------------------------------------------------------------- */

int kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *o,
		    struct kube_client **out)
{
	struct kube_client *c;
	int rc;

	*out = NULL;
	c = xcalloc(1, sizeof *c);
	c->max_requests = o && o->max_requests > 0 ? o->max_requests : DEFAULT_MAX_REQUESTS;
	c->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->max_tries = o && o->max_tries > 0 ? o->max_tries : DEFAULT_MAX_TRIES;
	struct kube_transport_opts to = {
		.slots = c->max_requests,
		.timeout_ms = c->timeout_ms,
		.connect_timeout_ms = o && o->connect_timeout_ms > 0 ? o->connect_timeout_ms
								     : DEFAULT_CONNECT_TIMEOUT_MS,
		.user_agent = o && o->user_agent ? o->user_agent : "kahu/" PACKAGE_VERSION,
	};
	if ((rc = kube_transport_new(cfg, &to, &c->t)) < 0) {
		free(c);
		return rc;
	}
	c->server = kube_transport_server(c->t);
	c->user_name = xstrdup(cfg->user_name);
	c->source = xstrdup(cfg->source);
	*out = c;
	return 0;
}

struct kube_transport *kube_client_transport(struct kube_client *c)
{
	return c->t;
}

void kube_client_free(struct kube_client *c)
{
	if (!c)
		return;
	kube_transport_free(c->t);
	free(c->user_name);
	free(c->source);
	free(c);
}

/* ---- one transfer ----------------------------------------------------------------- */

struct xfer {
	struct kbuf *body;
	char retry_after[32];
	int has_retry_after;
	struct kbuf headers;    /* response headers for -vv, credentials left out */
	int log_headers;
	/* kube_request_stream: a 2xx body goes to `stream` */
	const struct kube_stream *stream;
	CURL *h;
	int status_seen;        /* the status was looked at (on the body's first piece) */
	int to_stream;          /* …and it was 2xx */
	int stream_rc;          /* the stream's error that stopped the transfer */
	size_t streamed;        /* bytes handed to the stream */
};

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	kbuf_add(x->body, ptr, size * nmemb);
	return size * nmemb;
}

/* The most bytes of an error answer kept while streaming (a Status is small). */
#define STREAM_ERROR_BODY_MAX (1024 * 1024)

static size_t stream_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;

	if (!x->status_seen) {
		long status = 0;
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
		x->status_seen = 1;
		x->to_stream = status >= 200 && status < 300;
	}
	if (!x->to_stream) {
		if (x->body->len < STREAM_ERROR_BODY_MAX)
			kbuf_add(x->body, ptr, n < STREAM_ERROR_BODY_MAX - x->body->len
						       ? n : STREAM_ERROR_BODY_MAX - x->body->len);
		return n;
	}
	int rc = x->stream->data(x->stream->ud, ptr, n);
	if (rc < 0) {
		x->stream_rc = rc;
		return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
	}
	x->streamed += n;
	return n;
}

static int stream_xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow,
			      curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = ud;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (kahu_cancelled())
		return 1;
	return x->stream->cancelled && x->stream->cancelled(x->stream->ud) ? 1 : 0;
}

/* A stream has no whole-request timeout: a list of any size takes as long as it takes.
 * What is bounded is the time without data (1 byte/s over the request timeout). */
static void setup_stream(struct kube_client *c, CURL *h, struct xfer *x)
{
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream_write_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, stream_xferinfo_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (c->timeout_ms + 999) / 1000);
}

static int header_is_secret(const char *line, size_t len)
{
	static const char *const names[] = { "authorization:", "proxy-authorization:",
					     "cookie:", "set-cookie:" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t n = strlen(names[i]);
		if (len >= n && strncasecmp(line, names[i], n) == 0)
			return 1;
	}
	return 0;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * nmemb;
	static const char ra[] = "retry-after:";

	/* A new status line (a retry inside curl, or 100 Continue) starts afresh. */
	if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		x->has_retry_after = 0;
		kbuf_reset(&x->headers);
	}
	if (len > sizeof ra - 1 && strncasecmp(ptr, ra, sizeof ra - 1) == 0) {
		size_t n = len - (sizeof ra - 1);
		if (n >= sizeof x->retry_after)
			n = sizeof x->retry_after - 1;
		memcpy(x->retry_after, ptr + sizeof ra - 1, n);
		x->retry_after[n] = '\0';
		x->has_retry_after = 1;
	}
	if (x->log_headers && len > 2 && !header_is_secret(ptr, len)) {
		size_t n = len;
		while (n && (ptr[n - 1] == '\r' || ptr[n - 1] == '\n'))
			n--;
		kbuf_adds(&x->headers, "\n  < ");
		kbuf_add(&x->headers, ptr, n);
	}
	return len;
}
/* What a request sets on a handle the transport lent: the method, the body, and where
 * the answer goes. */
static void setup_request(CURL *h, const char *method, const void *body, size_t len,
			  struct xfer *x)
{
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when the server offers it */
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);

	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		if (body || strcmp(method, "DELETE") != 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		}
	}
}

/* ---- classification of failures --------------------------------------------------- */


static int is_tls_error(CURLcode cc)
{
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

/* Errors where the request may have reached the server but the answer was lost. */
static int is_reset_error(CURLcode cc)
{
	switch (cc) {
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
		return 1;
	default:
		return 0;
	}
}

/* Text after libcurl's "SSL certificate problem: " prefix, else the whole buffer. */
static const char *tls_detail(const char *errbuf, CURLcode cc)
{
	static const char prefix[] = "SSL certificate problem: ";
	const char *p = strstr(errbuf, prefix);
	if (p)
		return p + sizeof prefix - 1;
	return *errbuf ? errbuf : curl_easy_strerror(cc);
}

static int set_curl_error(struct kube_client *c, CURL *h, CURLcode cc, const char *errbuf,
			  const char *method, const char *path)
{
	long oserr = 0;
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	const char *detail = *errbuf ? errbuf : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return kahu_error_set(KAHU_EINTR, "%s %s%s: interrupted", method, c->server, path);
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return kahu_error_set(KAHU_EUNREACHABLE, "cannot reach %s: %s", c->server, detail);
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED)
			return kahu_error_set(KAHU_EUNREACHABLE, "cannot reach %s: connection refused",
					      c->server);
		if (oserr)
			return kahu_error_set(KAHU_EUNREACHABLE, "cannot reach %s: %s", c->server,
					      strerror((int)oserr));
		return kahu_error_set(KAHU_EUNREACHABLE, "cannot reach %s: %s", c->server, detail);
	case CURLE_OPERATION_TIMEDOUT: {
		curl_off_t connect_us = 0;
		curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
		if (!connect_us)
			return kahu_error_set(KAHU_EUNREACHABLE, "cannot reach %s: connection "
					      "timed out (%s)", c->server, detail);
		return kahu_error_set(KAHU_EUNREACHABLE, "%s %s%s: no answer in time (%s)", method,
				      c->server, path, detail);
	}
	case CURLE_PEER_FAILED_VERIFICATION:
		if (strstr(errbuf, "host name") || strstr(errbuf, "subject name"))
			return kahu_error_set(KAHU_ETLS,
					      "TLS verification of %s failed: %s; the server's "
					      "certificate is not issued for that name (tls-server-name "
					      "in the kubeconfig can name one it holds)",
					      c->server, tls_detail(errbuf, cc));
		/* fall through */
	case CURLE_SSL_CACERT_BADFILE:
		return kahu_error_set(KAHU_ETLS,
				      "TLS verification of %s failed: %s; pass the cluster's CA "
				      "(certificate-authority-data) or, for a test cluster only, "
				      "--insecure-skip-tls-verify",
				      c->server, tls_detail(errbuf, cc));
	case CURLE_SSL_CERTPROBLEM:
		return kahu_error_set(KAHU_ETLS, "the client certificate for %s cannot be used: %s",
				      c->server, detail);
	default:
		break;
	}
	if (is_tls_error(cc))
		return kahu_error_set(KAHU_ETLS, "TLS handshake with %s failed: %s", c->server,
				      detail);
	if (is_reset_error(cc))
		return kahu_error_set(KAHU_ETEMP, "%s %s%s: connection lost: %s", method, c->server,
				      path, detail);
	return kahu_error_set(KAHU_EPROTO, "%s %s%s: %s", method, c->server, path, detail);
}

static int set_status_error(struct kube_client *c, long status, const struct kbuf *body,
			    const char *method, const char *path)
{
	char *msg = status_message(body);
	int code;

	switch (status) {
	case 401: code = KAHU_EAUTH; break;
	case 403: code = KAHU_EFORBIDDEN; break;
	case 404: code = KAHU_ENOTFOUND; break;
	case 409: code = KAHU_ECONFLICT; break;
	case 429: code = KAHU_ETEMP; break;
	default: code = status >= 500 ? KAHU_ETEMP : KAHU_EDATA; break;
	}
	if (status == 401)
		kahu_error_set(code, "%s %s: %ld %s: the server did not accept the credentials "
			       "of user \"%s\" from %s%s%s",
			       method, path, status, status_text(status),
			       c->user_name ? c->user_name : "?", c->source ? c->source : "kubeconfig",
			       msg ? ": " : "", msg ? msg : "");
	else if (msg)
		kahu_error_set(code, "%s (%ld %s, %s %s)", msg, status, status_text(status), method,
			       path);
	else
		kahu_error_set(code, "%s %s: %ld %s", method, path, status, status_text(status));
	free(msg);
	return code;
}

static int retryable_status(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* ---- kube_request ----------------------------------------------------------------- */

static int request(struct kube_client *c, const char *method, const char *path,
		   const char *accept, const char *content_type, const void *body, size_t len,
		   unsigned flags, const struct kube_stream *stream, struct kube_response *resp)
{
	struct kube_response local = { 0 };
	char *accept_h = NULL, *ctype_h = NULL;
	int rc = 0, reauthed = 0, connect_timeouts = 0;
	/* The waits between the tries of one request add up to at most the request
	 * timeout: a server asking for 600 s, or a long backoff, does not hold a request
	 * (and what waits for it) far beyond what the user allowed. */
	struct kahu_backoff bo = backoff_policy;
	bo.budget_ms = c->timeout_ms;
	int idempotent = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
			 (flags & KUBE_REQ_IDEMPOTENT);
	int max_tries = (flags & KUBE_REQ_NO_RETRY) ? 1 : c->max_tries;
	if ((flags & KUBE_REQ_FEW_TRIES) && max_tries > 3)
		max_tries = 3;

	if (!resp)
		resp = &local;
	kbuf_reset(&resp->body);
	free(resp->content_type);
	resp->content_type = NULL;
	resp->status = 0;
	resp->tries = 0;

	accept_h = xasprintf("Accept: %s", accept ? accept : "application/json");
	if (content_type)
		ctype_h = xasprintf("Content-Type: %s", content_type);
	const char *headers[4];
	size_t nh = 0;
	headers[nh++] = accept_h;
	if (ctype_h)
		headers[nh++] = ctype_h;
	headers[nh++] = "Expect:"; /* no waiting for a 100 Continue before a body */
	headers[nh] = NULL;

	for (int attempt = 1;; attempt++) {
		struct kube_conn conn;
		struct xfer x = { .body = &resp->body, .log_headers = kahu_log_get_level() >= KAHU_LOG_DEBUG,
				  .stream = stream };
		long status = 0, asked_ms = -1, want_ms, wait_ms;
		const char *why = NULL;
		char whybuf[CURL_ERROR_SIZE + 64];

		if (stream && stream->begin && (rc = stream->begin(stream->ud, attempt)) < 0)
			break;
		if ((rc = kube_transport_open(c->t, path, headers, &conn)) < 0)
			break;
		CURL *h = conn.h;
		const char *errbuf = conn.errbuf;
		kbuf_reset(&resp->body);
		resp->tries = attempt;
		setup_request(h, method, body, len, &x);
		x.h = h;
		if (stream)
			setup_stream(c, h, &x);

		long t0 = now_ms();
		CURLcode cc = curl_easy_perform(h);
		long took = now_ms() - t0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_off_t connect_us = 0;
		curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
		connect_timeouts += cc == CURLE_OPERATION_TIMEDOUT && connect_us == 0;

		if (cc == CURLE_OK) {
			char *ct = NULL;
			curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
			free(resp->content_type);
			resp->content_type = xstrdup(ct);
			resp->status = status;
			log_info("%s %s%s %ld %ldms", method, c->server, path, status, took);
			if (x.log_headers) {
				log_debug("%s %s%s: %zu bytes, content-type %s%s", method, c->server,
					  path, resp->body.len + x.streamed, ct ? ct : "(none)",
					  kbuf_str(&x.headers));
			}
		} else if (x.stream_rc < 0) {
			/* The stream stopped the transfer: its message stands. */
			rc = x.stream_rc;
			log_info("%s %s%s stopped after %ldms: %s", method, c->server, path, took,
				 kahu_error_last());
		} else {
			/* Set the message now: the handle (and its OS errno) is about to be reused. */
			rc = set_curl_error(c, h, cc, errbuf, method, path);
			log_info("%s %s%s failed after %ldms: %s", method, c->server, path, took,
				 errbuf[0] ? errbuf : curl_easy_strerror(cc));
		}
		/* The handle goes back to the pool before anyone sleeps: a thread waiting
		 * out a Retry-After must not hold a slot others could use. */
		kube_transport_close(c->t, &conn);
		kbuf_free(&x.headers);

		if (cc == CURLE_OK && status >= 200 && status < 300) {
			rc = 0;
			break;
		}
		if (x.stream_rc < 0)
			break;
		if (cc != CURLE_OK) {
			if (cc == CURLE_ABORTED_BY_CALLBACK || !is_reset_error(cc) || !idempotent ||
			    attempt >= max_tries)
				break;
			/* A host that does not even accept the connection is unlikely to
			 * within the next minutes: one more try, not ten. */
			if (connect_timeouts >= 2)
				break;
			snprintf(whybuf, sizeof whybuf, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
			why = whybuf;
		} else if (status == 401 && !reauthed && attempt < max_tries &&
			   kube_transport_reauth(c->t) == 1) {
			/* Exec credentials may have been revoked early: run the plugin again
			 * once and retry at once. */
			reauthed = 1;
			log_info("%s %s%s 401, refreshing credentials and retrying (try %d/%d)",
				 method, c->server, path, attempt + 1, max_tries);
			continue;
		} else {
			rc = set_status_error(c, status, &resp->body, method, path);
			/* 429 and 503 mean "not processed": safe for any method.  500/502/504
			 * may come after a write was applied, so writes retry them only when
			 * the caller marked them idempotent or the server asked with
			 * Retry-After. */
			if (!retryable_status(status) || attempt >= max_tries)
				break;
			long ra = x.has_retry_after ? kube_parse_retry_after(x.retry_after) : -1;
			if (!idempotent && status != 429 && status != 503 && ra < 0)
				break;
			if (ra >= 0)
				asked_ms = ra * 1000;
			snprintf(whybuf, sizeof whybuf, "%ld", status);
			why = whybuf;
		}
		const char *source = asked_ms >= 0 ? "Retry-After" : "backoff";
		int plan = kahu_backoff_plan(&bo, attempt, asked_ms, &want_ms, &wait_ms);
		if (plan == KAHU_BACKOFF_SPENT) {
			log_info("%s %s%s %s, not retrying: this request already waited %ld.%lds "
				 "between tries, its request timeout (%ld.%lds)", method, c->server,
				 path, why, bo.waited_ms / 1000, (bo.waited_ms % 1000) / 100,
				 c->timeout_ms / 1000, (c->timeout_ms % 1000) / 100);
			char *msg = xstrdup(kahu_error_last());
			kahu_error_set(rc, "%s (gave up after %d tries: the waits between them "
				       "reached the request timeout of %ld.%lds)", msg, attempt,
				       c->timeout_ms / 1000, (c->timeout_ms % 1000) / 100);
			free(msg);
			break;
		}
		if (plan == KAHU_BACKOFF_SHORTENED) {
			log_info("%s %s%s %s, retrying in %ld.%lds (%s: %ld.%lds, shortened to what is "
				 "left of the request timeout of %ld.%lds for waits between tries) "
				 "(try %d/%d)", method, c->server, path, why, wait_ms / 1000,
				 (wait_ms % 1000) / 100, source, want_ms / 1000, (want_ms % 1000) / 100,
				 c->timeout_ms / 1000, (c->timeout_ms % 1000) / 100, attempt + 1,
				 max_tries);
		} else {
			log_info("%s %s%s %s, retrying in %ld.%lds (%s) (try %d/%d)", method,
				 c->server, path, why, wait_ms / 1000, (wait_ms % 1000) / 100, source,
				 attempt + 1, max_tries);
		}
		if ((rc = kahu_backoff_wait(&bo, wait_ms)) < 0) {
			kahu_error_set(rc, "%s %s%s: interrupted", method, c->server, path);
			break;
		}
	}

	free(accept_h);
	free(ctype_h);
	if (resp == &local)
		kube_response_clear(&local);
	return rc;
}

int kube_request(struct kube_client *c, const char *method, const char *path,
		 const char *accept, const char *content_type, const void *body, size_t len,
		 unsigned flags, struct kube_response *resp)
{
	return request(c, method, path, accept, content_type, body, len, flags, NULL, resp);
}

int kube_request_stream(struct kube_client *c, const char *path, const char *accept,
			unsigned flags, const struct kube_stream *s, struct kube_response *resp)
{
	return request(c, "GET", path, accept, NULL, NULL, 0, flags, s, resp);
}

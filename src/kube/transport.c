/* kahu — the transport under the Kubernetes client: libcurl easy handles for one
 * cluster, configured, pooled and lent out.  See transport.h.
 *
 * Threads: callers are worker threads that each run one blocking request at a time.
 * A counting semaphore keeps at most `slots` handles out: a pipe holding one byte per
 * free slot, so that a thread waiting for a slot polls it together with the
 * cancellation token's descriptor and wakes at once on either.  Easy handles come from
 * a free list, so a handle — and the keep-alive connection cached inside it — is
 * reused by whichever thread runs the next request.
 *
 * Sharing: one CURLSH shares the DNS cache and TLS sessions between the handles (with
 * one pthread mutex per kind of shared data).  Connections are deliberately NOT put in
 * the share: libcurl documents that sharing the connection cache between concurrently
 * running threads is not supported (CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT).  Each
 * pooled handle keeps its own connection alive instead, which gives the same reuse
 * with `slots` connections at most; shared TLS sessions make a new one cheap.
 *
 * Credentials are fetched from kube/auth for every handle lent (token files rotate,
 * exec plugins expire) and never reach a log line or an error message. */
#include "kube/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "kube/auth.h"
#include "kube/kubeconfig.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/mem.h"

/* How often a thread waiting for a request slot looks at the cancellation token when
 * the token has no descriptor (descriptors exhausted). */
#define WAIT_SLICE_MS 50L

static atomic_int insecure_warned;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

struct kube_transport {
	char *server;           /* as configured (for messages and logs) */
	char *base;             /* scheme://host:port/path that URLs are built from */
	struct curl_slist *connect_to;
	char *host_header;      /* "Host: …" when `base` names the tls-server-name */
	struct kube_auth *auth;

	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	struct kbuf ca_data;    /* PEM, copied from the config */
	char *ca_file;
	int insecure;
	char *proxy;

	int max_slots;
	long timeout_ms;
	long connect_timeout_ms;
	char *user_agent;

	int slots[2];           /* the free slots: one byte each in this pipe */
	pthread_mutex_t lock;   /* guards the fields below */
	CURL **idle;
	size_t nidle;
};

const char *kube_transport_server(const struct kube_transport *t)
{
	return t ? t->server : NULL;
}

/* ---- the share object and its locks ---------------------------------------------- */

static void share_lock_cb(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	struct kube_transport *t = ud;
	(void)h;
	(void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&t->share_locks[data]);
}

static void share_unlock_cb(CURL *h, curl_lock_data data, void *ud)
{
	struct kube_transport *t = ud;
	(void)h;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&t->share_locks[data]);
}

static void curl_global_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* tls-server-name: libcurl 7.88 has no option to verify the server certificate
 * against (and send SNI for) a name other than the URL's host.  CURLOPT_CONNECT_TO
 * only changes where the TCP connection goes, not the name used for TLS; so the
 * request URL carries the tls-server-name as its host (libcurl then uses it for SNI
 * and certificate verification), CONNECT_TO maps that name:port to the real
 * host:port, and an explicit Host header keeps what the API server sees unchanged,
 * which is what client-go's TLSClientConfig.ServerName does. */
static int setup_server_name(struct kube_transport *t, const char *server, const char *sni)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *explicit_port = NULL;
	int rc = 0;

	if (!u)
		return kahu_error_set(KAHU_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		rc = kahu_error_set(KAHU_ECONFIG, "invalid server URL %s", server);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &explicit_port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);

	int ipv6 = strchr(sni, ':') != NULL;
	const char *p = path && strcmp(path, "/") != 0 ? path : "";
	size_t plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	t->base = xasprintf("%s://%s%s%s:%s%.*s", scheme, ipv6 ? "[" : "", sni,
			    ipv6 ? "]" : "", port, (int)plen, p);
	char *map = xasprintf("%s%s%s:%s:%s:%s", ipv6 ? "[" : "", sni, ipv6 ? "]" : "", port,
			      host, port);
	t->connect_to = curl_slist_append(NULL, map);
	free(map);
	t->host_header = explicit_port ? xasprintf("Host: %s:%s", host, explicit_port)
				       : xasprintf("Host: %s", host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(explicit_port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

/* The pipe of free slots, filled with max_slots bytes (a pipe holds far more). */
static int slots_init(struct kube_transport *t)
{
	if (pipe2(t->slots, O_CLOEXEC | O_NONBLOCK) < 0) {
		t->slots[0] = t->slots[1] = -1;
		return kahu_error_set(KAHU_EIO, "cannot create the request slots: %s",
				      strerror(errno));
	}
	for (int i = 0; i < t->max_slots; i++)
		if (kahu_write_all(t->slots[1], "s", 1) < 0)
			return kahu_error_set(KAHU_EIO, "cannot create the request slots: %s",
					      strerror(errno));
	return 0;
}

int kube_transport_new(const struct kube_config *cfg, const struct kube_transport_opts *o,
		       struct kube_transport **out)
{
	struct kube_transport *t;
	int rc;

	*out = NULL;
	if (!cfg || !cfg->server || !*cfg->server)
		return kahu_error_set(KAHU_ECONFIG, "the kubeconfig names no server");
	pthread_once(&curl_once, curl_global_once);
	if (curl_init_rc != CURLE_OK)
		return kahu_error_set(KAHU_EINTERNAL, "cannot initialise libcurl: %s",
				      curl_easy_strerror(curl_init_rc));

	t = xcalloc(1, sizeof *t);
	t->slots[0] = t->slots[1] = -1;
	pthread_mutex_init(&t->lock, NULL);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&t->share_locks[i], NULL);

	size_t slen = strlen(cfg->server);
	while (slen > 1 && cfg->server[slen - 1] == '/')
		slen--;
	t->server = xstrndup(cfg->server, slen);
	t->max_slots = o->slots;
	t->timeout_ms = o->timeout_ms;
	t->connect_timeout_ms = o->connect_timeout_ms;
	t->user_agent = xstrdup(o->user_agent);

	if (cfg->tls_server_name && *cfg->tls_server_name) {
		if ((rc = setup_server_name(t, t->server, cfg->tls_server_name)) < 0)
			goto fail;
	} else {
		t->base = xstrdup(t->server);
	}

	if (cfg->ca_data.len)
		kbuf_add(&t->ca_data, cfg->ca_data.data, cfg->ca_data.len);
	t->ca_file = xstrdup(cfg->ca_file);
	t->insecure = cfg->insecure_skip_tls_verify;
	t->proxy = xstrdup(cfg->proxy_url);
	if (t->insecure && !atomic_exchange(&insecure_warned, 1))
		log_warn("TLS certificate verification of %s is disabled "
			 "(insecure-skip-tls-verify): the connection is not protected "
			 "against interception", t->server);

	t->share = curl_share_init();
	if (!t->share) {
		rc = kahu_error_set(KAHU_ENOMEM, "cannot create a libcurl share object");
		goto fail;
	}
	curl_share_setopt(t->share, CURLSHOPT_LOCKFUNC, share_lock_cb);
	curl_share_setopt(t->share, CURLSHOPT_UNLOCKFUNC, share_unlock_cb);
	curl_share_setopt(t->share, CURLSHOPT_USERDATA, t);
	curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

	if ((rc = kube_auth_new(cfg, &t->auth)) < 0)
		goto fail;

	if ((rc = slots_init(t)) < 0)
		goto fail;
	t->idle = xcalloc((size_t)t->max_slots, sizeof *t->idle);
	*out = t;
	return 0;
fail:
	kube_transport_free(t);
	return rc;
}

void kube_transport_free(struct kube_transport *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nidle; i++)
		curl_easy_cleanup(t->idle[i]);
	free(t->idle);
	if (t->share)
		curl_share_cleanup(t->share);
	kube_auth_free(t->auth);
	curl_slist_free_all(t->connect_to);
	free(t->host_header);
	free(t->server);
	free(t->base);
	kbuf_free(&t->ca_data);
	free(t->ca_file);
	free(t->proxy);
	free(t->user_agent);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&t->share_locks[i]);
	for (int i = 0; i < 2; i++)
		if (t->slots[i] >= 0)
			close(t->slots[i]);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* ---- the slots and the pool of handles ------------------------------------------- */

static void release(struct kube_transport *t, CURL *h)
{
	if (h) {
		pthread_mutex_lock(&t->lock);
		if (t->nidle < (size_t)t->max_slots)
			t->idle[t->nidle++] = h;
		else
			curl_easy_cleanup(h);
		pthread_mutex_unlock(&t->lock);
	}
	/* The slot goes back; this cannot block: the pipe never holds more than
	 * max_slots bytes. */
	int saved = errno;
	if (kahu_write_all(t->slots[1], "s", 1) < 0)
		log_debug("cannot return a request slot: %s", strerror(errno));
	errno = saved;
}

/* Take a free slot: 0, or KAHU_EINTR once the run is cancelled (before or while
 * waiting: the wait polls the token's descriptor too). */
static int take_slot(struct kube_transport *t)
{
	int cfd = kahu_cancel_fd();
	for (;;) {
		if (kahu_cancelled())
			return KAHU_EINTR;
		char b;
		ssize_t n = read(t->slots[0], &b, 1);
		if (n == 1)
			return 0;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return kahu_error_set(KAHU_EIO, "cannot take a request slot: %s",
					      strerror(errno));
		struct pollfd p[2] = { { .fd = t->slots[0], .events = POLLIN },
				       { .fd = cfd, .events = POLLIN } };
		if (poll(p, cfd >= 0 ? 2 : 1, cfd >= 0 ? -1 : (int)WAIT_SLICE_MS) < 0 &&
		    errno != EINTR)
			return kahu_error_set(KAHU_EIO, "cannot wait for a request slot: %s",
					      strerror(errno));
	}
}

static int acquire(struct kube_transport *t, CURL **out)
{
	*out = NULL;
	int rc = take_slot(t);
	if (rc == KAHU_EINTR)
		return kahu_error_set(rc, "interrupted");
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	if (t->nidle)
		*out = t->idle[--t->nidle];
	pthread_mutex_unlock(&t->lock);
	if (!*out && !(*out = curl_easy_init())) {
		release(t, NULL);
		return kahu_error_set(KAHU_ENOMEM, "cannot create a libcurl handle");
	}
	return 0;
}

static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)ud;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return kahu_cancelled() ? 1 : 0; /* non-zero aborts the transfer */
}

static struct curl_slist *add_header(struct curl_slist *l, const char *h)
{
	struct curl_slist *n = curl_slist_append(l, h);
	if (!n) {
		curl_slist_free_all(l);
		abort(); /* out of memory, as xmalloc */
	}
	return n;
}

/* Zero every header (one may be Authorization) before libcurl frees the list. */
static void free_headers(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		if (p->data)
			explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* ---- a handle lent ---------------------------------------------------------------- */

/* What every use of the cluster sets on a handle: where it goes and how it gets there. */
static void setup_handle(struct kube_transport *t, CURL *h, const char *url, char *errbuf)
{
	curl_easy_reset(h); /* keeps the handle's live connections and caches */
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_SHARE, t->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP));
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_USERAGENT, t->user_agent);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	if (t->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, t->connect_to);
	if (t->proxy)
		curl_easy_setopt(h, CURLOPT_PROXY, t->proxy);

	if (t->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (t->ca_data.len) {
		struct curl_blob blob = { t->ca_data.data, t->ca_data.len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	} else if (t->ca_file) {
		curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
	}
}

/* "Authorization: Basic base64(user:password)", for requests libcurl does not write. */
static char *basic_auth_line(const char *user, const char *password)
{
	char *plain = xasprintf("%s:%s", user, password);
	size_t pl = strlen(plain);
	size_t bl = sodium_base64_encoded_len(pl, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = xmalloc(bl);
	sodium_bin2base64(b64, bl, (const unsigned char *)plain, pl,
			  sodium_base64_VARIANT_ORIGINAL);
	char *line = xasprintf("Authorization: Basic %s", b64);
	free_secret_str(plain);
	free_secret_str(b64);
	return line;
}

static void apply_credential(CURL *h, const struct kube_credential *cr, struct curl_slist **hdrs,
			     bool raw)
{
	if (cr->cert_pem && cr->cert_len && cr->key_pem && cr->key_len) {
		struct curl_blob cert = { cr->cert_pem, cr->cert_len, CURL_BLOB_COPY };
		struct curl_blob key = { cr->key_pem, cr->key_len, CURL_BLOB_COPY };
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (cr->token && *cr->token) {
		/* Built here rather than with CURLOPT_XOAUTH2_BEARER so that our copy can be
		 * wiped; libcurl's copy in the list is wiped by free_headers(). */
		char *a = xasprintf("Authorization: Bearer %s", cr->token);
		*hdrs = add_header(*hdrs, a);
		free_secret_str(a);
	} else if (cr->username && cr->password && raw) {
		char *a = basic_auth_line(cr->username, cr->password);
		*hdrs = add_header(*hdrs, a);
		free_secret_str(a);
	} else if (cr->username && cr->password) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, cr->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, cr->password);
	}
}

static int open_conn(struct kube_transport *t, const char *path, const char *const *headers,
		     struct kube_conn *conn, bool raw)
{
	int rc;

	memset(conn, 0, sizeof *conn);
	if ((rc = acquire(t, &conn->h)) < 0)
		return rc;
	if ((rc = kube_auth_get(t->auth, &conn->cred)) < 0) {
		release(t, conn->h);
		conn->h = NULL;
		return kahu_error_wrap(rc, "credentials for %s", t->server);
	}
	char *url = xasprintf("%s%s", t->base, path);
	setup_handle(t, conn->h, url, conn->errbuf);
	free(url); /* libcurl keeps a copy */
	for (size_t i = 0; headers && headers[i]; i++)
		conn->headers = add_header(conn->headers, headers[i]);
	if (t->host_header)
		conn->headers = add_header(conn->headers, t->host_header);
	apply_credential(conn->h, &conn->cred, &conn->headers, raw);
	curl_easy_setopt(conn->h, CURLOPT_HTTPHEADER, conn->headers);
	if (raw) {
		curl_easy_setopt(conn->h, CURLOPT_CONNECT_ONLY, 1L);
		/* A plain-http URL through a proxy is tunnelled too: the connection must
		 * reach the server itself. */
		if (t->proxy)
			curl_easy_setopt(conn->h, CURLOPT_HTTPPROXYTUNNEL, 1L);
	}
	return 0;
}

int kube_transport_open(struct kube_transport *t, const char *path,
			const char *const *headers, struct kube_conn *conn)
{
	return open_conn(t, path, headers, conn, false);
}

int kube_transport_open_raw(struct kube_transport *t, const char *path,
			    const char *const *headers, struct kube_conn *conn)
{
	return open_conn(t, path, headers, conn, true);
}

static void give_back(struct kube_transport *t, struct kube_conn *conn, bool keep)
{
	if (!conn->h)
		return;
	kube_credential_clear(&conn->cred);
	free_headers(conn->headers);
	conn->headers = NULL;
	curl_easy_setopt(conn->h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(conn->h, CURLOPT_ERRORBUFFER, NULL);
	if (!keep) {
		curl_easy_cleanup(conn->h); /* closes its connections */
		conn->h = NULL;
	}
	release(t, conn->h);
	conn->h = NULL;
}

void kube_transport_close(struct kube_transport *t, struct kube_conn *conn)
{
	give_back(t, conn, true);
}

void kube_transport_discard(struct kube_transport *t, struct kube_conn *conn)
{
	give_back(t, conn, false);
}

int kube_transport_reauth(struct kube_transport *t)
{
	return kube_auth_invalidate(t->auth);
}

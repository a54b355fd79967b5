/* kahu — the `sftp` storage provider: a directory on an SSH server, over libcurl's SFTP.
 *
 * Written only against <kahu/backend.h>, libcurl and libsodium (for the SHA-256 of a
 * host key); built as the loadable module kahu-sftp.so.
 *
 * Layout: key "a/b/c" is the file <path>/a/b/c on the server, as with the fs provider.
 * A put spools its bytes to an unlinked local temporary file (so a put stream costs no
 * memory and no server connection while kahu writes), then, on commit, uploads them to
 * <dir>/.<name>.tmp.<random> beside the target (the missing directories created, mode
 * 0700; the file 0600) and renames that into place.  SFTP version 3 (OpenSSH) refuses
 * a rename onto an existing name, which makes KAHU_PUT_EXCLUSIVE atomic; a plain put
 * that replaces an object removes the old one first.  A failed or cancelled upload
 * removes its temporary file; names starting with '.' are never listed, and cleanup()
 * removes the temporaries a killed kahu left behind.
 *
 * Trust: the server's host key must be in the known_hosts file (`known-hosts`, default
 * ~/.ssh/known_hosts); an unknown or changed key is refused with its SHA256 fingerprint
 * and what to do.  There is no way to turn the check off.  Authentication is by key:
 * a private key file (its passphrase, if any, from a private file) and/or ssh-agent.
 * No secret is ever put into a message or a log.
 *
 * One handle keeps one libcurl easy handle, so its operations share one SSH
 * connection.  Providers do not retry: connection failures and timeouts are
 * KAHU_BACKEND_ETRANSIENT and kahu decides.  Cancellation: once host->cancelled() is
 * set, an operation still running SFTP_CANCEL_GRACE_MS later is aborted, so the small
 * calls kahu makes to tidy up still work while a stuck server does not hold the run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <kahu/backend.h>

#include <curl/curl.h>
#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SFTP_VERSION "1.0.0"
#define SFTP_DEFAULT_PORT 22
#define SFTP_CONNECT_TIMEOUT 30L       /* seconds */
#define SFTP_STALL_TIME 60L            /* seconds without a byte: the server is stuck */
/* An overall limit no real request reaches.  libcurl 7.88 runs SFTP's closing steps
 * (the rename after an upload) in a loop that polls with the time left as its timeout:
 * without a limit that is 0, and the wait for the server's answer spins a CPU. */
#define SFTP_REQUEST_LIMIT (7L * 24 * 3600)
#define SFTP_CANCEL_GRACE_MS 3000      /* see the top of the file */
#define SFTP_LIST_DEPTH_MAX 64
#define SFTP_PASSPHRASE_MAX 1024

struct kahu_backend_handle {
	const struct kahu_host *host;
	CURL *curl;
	char *host_name;       /* as configured */
	long port;
	char *user;
	char *root;            /* absolute, no trailing '/' ("" for "/") */
	char *identity;        /* private key file or NULL */
	char *passphrase;      /* the key's passphrase or NULL; wiped on close */
	char *known_hosts;
	int use_agent;
	char *base_url;        /* sftp://host:port */
	char err[2048];
	char curl_err[CURL_ERROR_SIZE];
	char hostkey_err[1024];  /* set by the key callback when it refuses */
	int sink_stopped;        /* get(): the sink asked to stop */
	struct timespec cancel_seen;
	int cancel_noted;
	struct timespec last_move;  /* when bytes last moved (or the request began) */
	curl_off_t last_bytes;
	int stalled;              /* the progress callback gave up on a silent server */
	int fresh;                /* the connection may be stuck: the next request opens
				   * another */
	unsigned int nput;
};

struct kahu_backend_put {
	struct kahu_backend_handle *h;
	FILE *spool;
	unsigned int flags;
	char *key;
	int failed;
};

static int sftp_seterr(struct kahu_backend_handle *h, int rc, const char *fmt, ...)
	KAHU_BACKEND_PRINTF(3, 4);

static int sftp_seterr(struct kahu_backend_handle *h, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->err, sizeof h->err, fmt, ap);
	va_end(ap);
	return rc;
}

static void sftp_log(struct kahu_backend_handle *h, int level, const char *fmt, ...)
	KAHU_BACKEND_PRINTF(3, 4);

static void sftp_log(struct kahu_backend_handle *h, int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	if (!h->host || !h->host->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	h->host->log(h->host, level, "sftp: %s", buf);
}

static char *sftp_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static char *sftp_asprintf(const char *fmt, ...) KAHU_BACKEND_PRINTF(1, 2);

static char *sftp_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

static int sftp_oom(struct kahu_backend_handle *h)
{
	return sftp_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
}

static void sftp_random_hex(char *out, size_t n)
{
	unsigned char raw[16];
	size_t want = n / 2 < sizeof raw ? n / 2 : sizeof raw;
	randombytes_buf(raw, want);
	sodium_bin2hex(out, 2 * want + 1, raw, want);
}

/* kahu validates keys; this is a second line of defence against leaving the root. */
static int sftp_key_ok(struct kahu_backend_handle *h, const char *key)
{
	if (!key || !*key || key[0] == '/')
		return sftp_seterr(h, KAHU_BACKEND_EPERMANENT, "invalid key \"%s\"", key ? key : "");
	for (const char *c = key; *c;) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		if (n == 0 || c[0] == '.')
			return sftp_seterr(h, KAHU_BACKEND_EPERMANENT, "invalid key \"%s\"", key);
		c = end ? end + 1 : c + n;
	}
	for (const char *c = key; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return sftp_seterr(h, KAHU_BACKEND_EPERMANENT, "invalid key \"%s\"", key);
	return KAHU_BACKEND_OK;
}

/* ---- paths: the server path of a key, as a URL and as a quote-command argument ---- */

/* "<root>/<rel>" (rel may be empty: the root itself, or end in '/': a directory). */
static char *sftp_path(struct kahu_backend_handle *h, const char *rel)
{
	return sftp_asprintf("%s/%s", h->root, rel);
}

static char *sftp_url(struct kahu_backend_handle *h, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t bl = strlen(h->base_url), n = strlen(path);
	char *u = malloc(bl + 3 * n + 1), *o;
	if (!u)
		return NULL;
	memcpy(u, h->base_url, bl);
	o = u + bl;
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == '-' || *c == '.' || *c == '_' || *c == '/') {
			*o++ = (char)*c;
		} else {
			*o++ = '%';
			*o++ = hex[*c >> 4];
			*o++ = hex[*c & 15];
		}
	}
	*o = '\0';
	return u;
}

/* A quote command "<cmd> \"path\"[ \"path2\"]", quotes and backslashes escaped. */
static char *sftp_quote(const char *cmd, const char *p1, const char *p2)
{
	size_t n = strlen(cmd) + 2 * strlen(p1) + (p2 ? 2 * strlen(p2) : 0) + 16;
	char *q = malloc(n), *o;
	if (!q)
		return NULL;
	o = q + sprintf(q, "%s ", cmd);
	for (int i = 0; i < 2; i++) {
		const char *p = i == 0 ? p1 : p2;
		if (!p)
			break;
		if (i)
			*o++ = ' ';
		*o++ = '"';
		for (; *p; p++) {
			if (*p == '"' || *p == '\\')
				*o++ = '\\';
			*o++ = *p;
		}
		*o++ = '"';
	}
	*o = '\0';
	return q;
}

/* ---- host keys ---- */

static const char *sftp_keytype(enum curl_khtype t)
{
	switch (t) {
	case CURLKHTYPE_RSA1: return "RSA1";
	case CURLKHTYPE_RSA: return "RSA";
	case CURLKHTYPE_DSS: return "DSA";
	case CURLKHTYPE_ECDSA: return "ECDSA";
	case CURLKHTYPE_ED25519: return "ED25519";
	default: return "unknown-type";
	}
}

static const char *sftp_keytype_arg(enum curl_khtype t)
{
	switch (t) {
	case CURLKHTYPE_RSA: return "rsa";
	case CURLKHTYPE_DSS: return "dsa";
	case CURLKHTYPE_ECDSA: return "ecdsa";
	case CURLKHTYPE_ED25519: return "ed25519";
	default: return "ed25519,ecdsa,rsa";
	}
}

/* The fingerprint as ssh shows it: "SHA256:" + base64 (no padding) of the key blob. */
static void sftp_fingerprint(const struct curl_khkey *k, char *out, size_t outlen)
{
	unsigned char md[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
					   sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	if (k->len == 0) {  /* base64 text (a key from known_hosts); not ours to show */
		snprintf(out, outlen, "(unknown)");
		return;
	}
	crypto_hash_sha256(md, (const unsigned char *)k->key, k->len);
	sodium_bin2base64(b64, sizeof b64, md, sizeof md, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	snprintf(out, outlen, "SHA256:%s", b64);
}

/* The host as known_hosts names it: "host", or "[host]:port" off port 22. */
static void sftp_kh_name(struct kahu_backend_handle *h, char *out, size_t outlen)
{
	if (h->port == SFTP_DEFAULT_PORT)
		snprintf(out, outlen, "%s", h->host_name);
	else
		snprintf(out, outlen, "[%s]:%ld", h->host_name, h->port);
}

/* snprintf for long messages, where truncation is acceptable. */
static void sftp_fmt(char *buf, size_t len, const char *fmt, ...) KAHU_BACKEND_PRINTF(3, 4);

static void sftp_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static int sftp_keyfunc(CURL *easy, const struct curl_khkey *knownkey,
			const struct curl_khkey *foundkey, enum curl_khmatch match, void *ud)
{
	struct kahu_backend_handle *h = ud;
	char fp[128], name[600], scan[700];
	(void)easy;
	(void)knownkey;
	if (match == CURLKHMATCH_OK)
		return CURLKHSTAT_FINE;
	sftp_fingerprint(foundkey, fp, sizeof fp);
	sftp_kh_name(h, name, sizeof name);
	if (h->port == SFTP_DEFAULT_PORT)
		sftp_fmt(scan, sizeof scan, "ssh-keyscan -t %s %s", sftp_keytype_arg(foundkey->keytype),
			 h->host_name);
	else
		sftp_fmt(scan, sizeof scan, "ssh-keyscan -p %ld -t %s %s", h->port,
			 sftp_keytype_arg(foundkey->keytype), h->host_name);
	if (match == CURLKHMATCH_MISMATCH) {
		sftp_fmt(h->hostkey_err, sizeof h->hostkey_err,
			 "the host key of %s has CHANGED: the server offers the %s key %s, which "
			 "is not the key %s holds for it; someone may be intercepting the "
			 "connection, or the server's key was replaced.  Refused.  If the change "
			 "is expected, check the new fingerprint with the server's administrator, "
			 "then remove the old key (ssh-keygen -R '%s' -f %s) and add the new one "
			 "(%s >> %s)",
			 name, sftp_keytype(foundkey->keytype), fp, h->known_hosts, name,
			 h->known_hosts, scan, h->known_hosts);
	} else {
		sftp_fmt(h->hostkey_err, sizeof h->hostkey_err,
			 "the host key of %s is not known: the server offers the %s key %s, and "
			 "%s%s has no key for %s.  Refused.  If that fingerprint is the server's "
			 "(ask its administrator, or run ssh-keygen -lf on its key), add it: "
			 "%s >> %s",
			 name, sftp_keytype(foundkey->keytype), fp, h->known_hosts,
			 access(h->known_hosts, F_OK) == 0 ? "" : " (which does not exist)", name,
			 scan, h->known_hosts);
	}
	return CURLKHSTAT_REJECT;
}

/* ---- one request ---- */

static int sftp_elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(now.tv_sec - since->tv_sec) * 1000 +
		       (now.tv_nsec - since->tv_nsec) / 1000000;
	return ms > 1000000 ? 1000000 : (int)ms;
}

static int sftp_cancelled(struct kahu_backend_handle *h)
{
	return KAHU_HOST_HAS(h->host, cancelled) && h->host->cancelled(h->host);
}

static int sftp_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			 curl_off_t ulnow)
{
	struct kahu_backend_handle *h = ud;
	(void)dltotal, (void)ultotal;
	/* libcurl's low-speed limit does not cover the waits for an SFTP answer (a
	 * rename, a directory read): a server silent that long is given up on here. */
	if (dlnow + ulnow != h->last_bytes) {
		h->last_bytes = dlnow + ulnow;
		clock_gettime(CLOCK_MONOTONIC, &h->last_move);
	} else if (sftp_elapsed_ms(&h->last_move) >= SFTP_STALL_TIME * 1000) {
		h->stalled = 1;
		return 1;
	}
	if (!sftp_cancelled(h))
		return 0;
	if (!h->cancel_noted) {
		h->cancel_noted = 1;
		clock_gettime(CLOCK_MONOTONIC, &h->cancel_seen);
	}
	return sftp_elapsed_ms(&h->cancel_seen) >= SFTP_CANCEL_GRACE_MS;
}

/* Reset the easy handle (the connection stays) and set what every request needs. */
static int sftp_prepare(struct kahu_backend_handle *h, const char *url)
{
	CURL *c = h->curl;
	long auth = 0;
	curl_easy_reset(c);
	h->curl_err[0] = '\0';
	h->hostkey_err[0] = '\0';
	h->sink_stopped = 0;
	h->cancel_noted = 0;  /* each request gets its grace after an interrupt */
	h->stalled = 0;
	h->last_bytes = 0;
	clock_gettime(CLOCK_MONOTONIC, &h->last_move);
	if (h->identity)
		auth |= CURLSSH_AUTH_PUBLICKEY;
	if (h->use_agent)
		auth |= CURLSSH_AUTH_AGENT;
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "sftp") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERNAME, h->user) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES, auth) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSH_KNOWNHOSTS, h->known_hosts) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSH_KEYFUNCTION, sftp_keyfunc) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSH_KEYDATA, h) != CURLE_OK)
		return sftp_seterr(h, KAHU_BACKEND_EPERMANENT,
				   "this libcurl cannot do SFTP with host key checking");
	if (h->identity) {
		curl_easy_setopt(c, CURLOPT_SSH_PRIVATE_KEYFILE, h->identity);
		/* empty: libssh2 derives the public key from the private one */
		curl_easy_setopt(c, CURLOPT_SSH_PUBLIC_KEYFILE, "");
		if (h->passphrase)
			curl_easy_setopt(c, CURLOPT_KEYPASSWD, h->passphrase);
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (h->fresh) {
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
		h->fresh = 0;
	}
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, SFTP_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, SFTP_REQUEST_LIMIT);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, SFTP_STALL_TIME);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, sftp_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_NEW_FILE_PERMS, 0600L);
	curl_easy_setopt(c, CURLOPT_NEW_DIRECTORY_PERMS, 0700L);
	return KAHU_BACKEND_OK;
}

/* A request that ended without the server's answer (interrupted, timed out, the
 * connection lost) leaves the connection unusable: the next one starts afresh. */
static void sftp_note(struct kahu_backend_handle *h, CURLcode cc)
{
	switch (cc) {
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSH:
		h->fresh = 1;
		break;
	default:
		break;
	}
}

/* Map a failed request to a code and a message about `what` (e.g. "reading x"). */
static int sftp_fail(struct kahu_backend_handle *h, CURLcode cc, const char *what)
{
	const char *detail = h->curl_err[0] ? h->curl_err : curl_easy_strerror(cc);
	char where[600];
	sftp_note(h, cc);
	snprintf(where, sizeof where, "%s@%s port %ld", h->user, h->host_name, h->port);
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		if (h->hostkey_err[0])
			return sftp_seterr(h, KAHU_BACKEND_EAUTH, "%s", h->hostkey_err);
		return sftp_seterr(h, KAHU_BACKEND_EAUTH, "the host key of %s was refused: %s",
				   h->host_name, detail);
	case CURLE_LOGIN_DENIED:
		if (h->identity)
			return sftp_seterr(h, KAHU_BACKEND_EAUTH,
					   "authentication refused for %s with the key %s%s (the "
					   "server does not accept that key, or its passphrase is "
					   "wrong or missing): %s",
					   where, h->identity, h->use_agent ? " or ssh-agent" : "",
					   detail);
		return sftp_seterr(h, KAHU_BACKEND_EAUTH,
				   "authentication refused for %s with the keys of ssh-agent: %s",
				   where, detail);
	case CURLE_REMOTE_ACCESS_DENIED:
		return sftp_seterr(h, KAHU_BACKEND_EAUTH, "%s on %s: permission denied (%s)", what,
				   h->host_name, detail);
	case CURLE_REMOTE_DISK_FULL:
		return sftp_seterr(h, KAHU_BACKEND_ENOSPACE,
				   "%s on %s: no space left on the server (%s)", what, h->host_name,
				   detail);
	case CURLE_REMOTE_FILE_NOT_FOUND:
		return sftp_seterr(h, KAHU_BACKEND_ENOTFOUND, "%s on %s: not found", what,
				   h->host_name);
	case CURLE_ABORTED_BY_CALLBACK:
		if (h->stalled)
			return sftp_seterr(h, KAHU_BACKEND_ETRANSIENT,
					   "%s on %s: the server sent nothing for %ld s", what,
					   h->host_name, SFTP_STALL_TIME);
		if (h->host->abi_minor >= 1)
			return sftp_seterr(h, KAHU_BACKEND_ECANCELLED, "%s on %s: interrupted", what,
					   h->host_name);
		return sftp_seterr(h, KAHU_BACKEND_ETRANSIENT, "%s on %s: interrupted", what,
				   h->host_name);
	case CURLE_WRITE_ERROR:
		if (h->sink_stopped)
			return sftp_seterr(h, KAHU_BACKEND_ECALLBACK, "%s stopped by the caller", what);
		return sftp_seterr(h, KAHU_BACKEND_EPERMANENT, "%s from %s: %s", what, h->host_name,
				   detail);
	case CURLE_COULDNT_RESOLVE_HOST:
		return sftp_seterr(h, KAHU_BACKEND_ETRANSIENT, "%s: cannot resolve the host %s: %s",
				   what, h->host_name, detail);
	case CURLE_COULDNT_CONNECT:
		return sftp_seterr(h, KAHU_BACKEND_ETRANSIENT,
				   "%s: cannot connect to %s port %ld: %s", what, h->host_name,
				   h->port, detail);
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_AGAIN:
		return sftp_seterr(h, KAHU_BACKEND_ETRANSIENT, "%s on %s: %s", what, h->host_name,
				   detail);
	case CURLE_OUT_OF_MEMORY:
		return sftp_oom(h);
	default:
		return sftp_seterr(h, KAHU_BACKEND_EPERMANENT, "%s on %s: %s", what, h->host_name,
				   detail);
	}
}

static int sftp_perform(struct kahu_backend_handle *h, const char *what)
{
	CURLcode cc = curl_easy_perform(h->curl);
	if (cc == CURLE_OK)
		return KAHU_BACKEND_OK;
	return sftp_fail(h, cc, what);
}


/* Text collected from libcurl (a listing, quote command output), NUL-terminated. */
struct sftp_buf {
	char *p;
	size_t len, cap;
};

static size_t sftp_buf_write(char *data, size_t sz, size_t n, void *ud)
{
	struct sftp_buf *b = ud;
	size_t add = sz * n;
	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + add + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np)
			return 0;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

static size_t sftp_discard(char *p, size_t sz, size_t n, void *ud)
{
	(void)p, (void)ud;
	return sz * n;
}

/* Run quote commands (NULL-terminated) after a stat of `path` (its existence is
 * checked first: a missing path fails with ENOTFOUND before any command runs). */
static int sftp_quote_after_stat(struct kahu_backend_handle *h, const char *path,
				 char *const *cmds, const char *what)
{
	struct curl_slist *l = NULL, *t;
	char *url = sftp_url(h, path);
	int rc;
	for (size_t i = 0; url && cmds[i]; i++) {
		if (!(t = curl_slist_append(l, cmds[i]))) {
			curl_slist_free_all(l);
			free(url);
			return sftp_oom(h);
		}
		l = t;
	}
	if (!url)
		return sftp_oom(h);
	if ((rc = sftp_prepare(h, url)) == KAHU_BACKEND_OK) {
		curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(h->curl, CURLOPT_POSTQUOTE, l);
		curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, sftp_discard);
		rc = sftp_perform(h, what);
	}
	curl_easy_setopt(h->curl, CURLOPT_POSTQUOTE, NULL);
	curl_slist_free_all(l);
	free(url);
	return rc;
}

/* stat of a server path: size and mtime. */
static int sftp_stat_path(struct kahu_backend_handle *h, const char *path,
			  struct kahu_backend_stat *out, const char *what)
{
	char *url = sftp_url(h, path);
	int rc;
	if (!url)
		return sftp_oom(h);
	if ((rc = sftp_prepare(h, url)) == KAHU_BACKEND_OK) {
		curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(h->curl, CURLOPT_FILETIME, 1L);
		curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, sftp_discard);
		rc = sftp_perform(h, what);
	}
	free(url);
	if (rc < 0)
		return rc;
	curl_off_t size = -1, mtime = -1;
	curl_easy_getinfo(h->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
	curl_easy_getinfo(h->curl, CURLINFO_FILETIME_T, &mtime);
	memset(out, 0, sizeof *out);
	out->size = size > 0 ? (uint64_t)size : 0;
	out->mtime = mtime > 0 ? (int64_t)mtime : 0;
	return KAHU_BACKEND_OK;
}

/* After a write the server refused without saying why (OpenSSH answers a full disk
 * with a plain "Failure"): ask the filesystem (statvfs@openssh.com) whether it is
 * full.  1: no space (or no inodes) left; 0: not full, or the server cannot say. */
static int sftp_disk_full(struct kahu_backend_handle *h, const char *dir)
{
	struct sftp_buf b = { NULL, 0, 0 };
	char saved[sizeof h->err], *cmd = sftp_quote("statvfs", dir, NULL);
	char *url = sftp_url(h, dir);
	struct curl_slist *l = cmd ? curl_slist_append(NULL, cmd) : NULL;
	int full = 0;
	memcpy(saved, h->err, sizeof saved);
	if (l && url && sftp_prepare(h, url) == KAHU_BACKEND_OK) {
		curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(h->curl, CURLOPT_POSTQUOTE, l);
		curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, sftp_buf_write);
		curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &b);
		if (curl_easy_perform(h->curl) == CURLE_OK && b.p) {
			const char *bavail = strstr(b.p, "f_bavail: ");
			const char *favail = strstr(b.p, "f_favail: ");
			full = (bavail && strtoull(bavail + 10, NULL, 10) == 0) ||
			       (favail && strtoull(favail + 10, NULL, 10) == 0);
		}
		curl_easy_setopt(h->curl, CURLOPT_POSTQUOTE, NULL);
	}
	curl_slist_free_all(l);
	free(cmd);
	free(url);
	free(b.p);
	memcpy(h->err, saved, sizeof saved);
	return full;
}

/* ---- lifecycle ---- */

static const struct kahu_backend_option sftp_options[] = {
	{ "host", "SSH server name or address", KAHU_BACKEND_OPT_REQUIRED },
	{ "port", "SSH port (default 22)", 0 },
	{ "user", "user name on the server (default: the local user's name)", 0 },
	{ "path", "absolute directory on the server that holds the location (created on "
		  "first write, mode 0700)", KAHU_BACKEND_OPT_REQUIRED },
	{ "identity-file", "private key file for public-key authentication (default: "
			   "~/.ssh/id_ed25519, id_ecdsa or id_rsa, unless use-agent is set)",
			   KAHU_BACKEND_OPT_PATH },
	{ "passphrase-file", "file (mode 0600) holding the passphrase of identity-file",
			     KAHU_BACKEND_OPT_PATH },
	{ "known-hosts", "known_hosts file the server's host key must be in (default "
			 "~/.ssh/known_hosts); an unknown or changed key is refused",
			 KAHU_BACKEND_OPT_PATH },
	{ "use-agent", "true: authenticate with the keys of ssh-agent (SSH_AUTH_SOCK)", 0 },
	{ NULL, NULL, 0 },
};

/* "~/x" -> "$HOME/x"; other paths as they are. */
static char *sftp_expand(const char *p)
{
	if (p[0] == '~' && p[1] == '/') {
		const char *home = getenv("HOME");
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home)
			return NULL;
		return sftp_asprintf("%s/%s", home, p + 2);
	}
	return sftp_strdup(p);
}

/* Read the passphrase file with the rules kahu applies to its own private files: a
 * regular file (judged on the opened descriptor), readable by its owner only. */
/* A private file (identity, passphrase) is readable by its owner only; one that root
 * owns may also be readable by its group, no more: a Secret mounted in a pod with an
 * fsGroup is root's with mode 0440 (kahu's own private files follow the same rule).
 * The hint to append to the refusal, or NULL when the mode is fine. */
static const char *private_too_open(const struct stat *st)
{
	mode_t too_open = st->st_uid == 0 ? (mode_t)(S_IWGRP | S_IXGRP | S_IRWXO) : (mode_t)077;
	if (!(st->st_mode & too_open))
		return NULL;
	return st->st_uid == 0 ? " (chmod 600, or, as root's, 640 at most)" : " (chmod 600)";
}

static int sftp_read_passphrase(const char *path, char **out, char *errbuf, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int rc = KAHU_BACKEND_ECONFIG;
	*out = NULL;
	if (fd < 0) {
		snprintf(errbuf, errlen, "cannot open passphrase-file '%s': %s", path, strerror(errno));
		return errno == EACCES ? KAHU_BACKEND_EAUTH : KAHU_BACKEND_ECONFIG;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "passphrase-file '%s' is not a regular file", path);
		goto out;
	}
	const char *hint = private_too_open(&st);
	if (hint) {
		snprintf(errbuf, errlen,
			 "permissions %04o for passphrase-file '%s' are too open; it must be "
			 "readable by its owner only%s",
			 (unsigned)(st.st_mode & 07777), path, hint);
		rc = KAHU_BACKEND_EAUTH;
		goto out;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	    !(buf = sodium_malloc(SFTP_PASSPHRASE_MAX + 1))) {
		snprintf(errbuf, errlen, "cannot read passphrase-file '%s'", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, SFTP_PASSPHRASE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(errbuf, errlen, "cannot read passphrase-file '%s': %s", path,
				 strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > SFTP_PASSPHRASE_MAX) {
			snprintf(errbuf, errlen, "passphrase-file '%s' is too large (more than %d bytes)",
				 path, SFTP_PASSPHRASE_MAX);
			goto out;
		}
	}
	/* One line: a trailing newline (and CR) is not part of the passphrase. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\0', len)) {
		snprintf(errbuf, errlen, "passphrase-file '%s' holds no passphrase", path);
		goto out;
	}
	*out = buf;
	buf = NULL;
	rc = KAHU_BACKEND_OK;
out:
	if (buf)
		sodium_free(buf);
	close(fd);
	return rc;
}

static void sftp_free(struct kahu_backend_handle *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	if (h->passphrase)
		sodium_free(h->passphrase);  /* zeroes it */
	free(h->host_name);
	free(h->user);
	free(h->root);
	free(h->identity);
	free(h->known_hosts);
	free(h->base_url);
	free(h);
}

static int sftp_open(const struct kahu_host *host, const struct kahu_backend_kv *config,
		     size_t nconfig, struct kahu_backend_handle **out, char *errbuf,
		     size_t errbuf_len)
{
	const char *hostv = NULL, *portv = NULL, *userv = NULL, *pathv = NULL, *idv = NULL,
		   *ppv = NULL, *khv = NULL, *agentv = NULL;
	struct kahu_backend_handle *h = NULL;
	int rc = KAHU_BACKEND_ECONFIG;
	*out = NULL;
	for (size_t i = 0; i < nconfig; i++) {
		const char *k = config[i].key, *v = config[i].value;
		if (strcmp(k, "host") == 0) hostv = v;
		else if (strcmp(k, "port") == 0) portv = v;
		else if (strcmp(k, "user") == 0) userv = v;
		else if (strcmp(k, "path") == 0) pathv = v;
		else if (strcmp(k, "identity-file") == 0) idv = v;
		else if (strcmp(k, "passphrase-file") == 0) ppv = v;
		else if (strcmp(k, "known-hosts") == 0) khv = v;
		else if (strcmp(k, "use-agent") == 0) agentv = v;
		else {
			snprintf(errbuf, errbuf_len, "unknown configuration key \"%s\"", k);
			return KAHU_BACKEND_ECONFIG;
		}
	}
	if (!hostv || !*hostv || strpbrk(hostv, "/@?#[] \t\r\n")) {
		snprintf(errbuf, errbuf_len, hostv && *hostv ? "invalid host \"%s\""
				 : "the configuration key \"host\" is required%s", hostv ? hostv : "");
		return KAHU_BACKEND_ECONFIG;
	}
	if (!pathv || pathv[0] != '/') {
		snprintf(errbuf, errbuf_len, pathv ? "path \"%s\" is not absolute"
				 : "the configuration key \"path\" is required%s", pathv ? pathv : "");
		return KAHU_BACKEND_ECONFIG;
	}
	for (const char *c = pathv; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(errbuf, errbuf_len, "path holds a control character");
			return KAHU_BACKEND_ECONFIG;
		}
	if (sodium_init() < 0) {
		snprintf(errbuf, errbuf_len, "libsodium cannot be initialised");
		return KAHU_BACKEND_EPERMANENT;
	}
	if (!(h = calloc(1, sizeof *h))) {
		snprintf(errbuf, errbuf_len, "out of memory");
		return KAHU_BACKEND_EPERMANENT;
	}
	h->host = host;
	h->port = SFTP_DEFAULT_PORT;
	if (portv) {
		char *end;
		errno = 0;
		long p = strtol(portv, &end, 10);
		if (errno || end == portv || *end || p < 1 || p > 65535) {
			snprintf(errbuf, errbuf_len, "port \"%s\" is not a port number (1-65535)", portv);
			goto fail;
		}
		h->port = p;
	}
	if (agentv) {
		if (strcmp(agentv, "true") == 0 || strcmp(agentv, "yes") == 0)
			h->use_agent = 1;
		else if (strcmp(agentv, "false") != 0 && strcmp(agentv, "no") != 0) {
			snprintf(errbuf, errbuf_len, "use-agent \"%s\" is not true or false", agentv);
			goto fail;
		}
	}
	if (userv && *userv) {
		h->user = sftp_strdup(userv);
	} else {
		struct passwd *pw = getpwuid(getuid());
		if (!pw) {
			snprintf(errbuf, errbuf_len, "no user configured and the local user has no name");
			goto fail;
		}
		h->user = sftp_strdup(pw->pw_name);
	}
	h->host_name = sftp_strdup(hostv);
	h->root = sftp_strdup(pathv);
	h->known_hosts = sftp_expand(khv && *khv ? khv : "~/.ssh/known_hosts");
	h->base_url = strchr(hostv, ':') ? sftp_asprintf("sftp://[%s]:%ld", hostv, h->port)
					 : sftp_asprintf("sftp://%s:%ld", hostv, h->port);
	if (!h->user || !h->host_name || !h->root || !h->known_hosts || !h->base_url) {
		snprintf(errbuf, errbuf_len, "out of memory (or no home directory for ~/)");
		rc = KAHU_BACKEND_EPERMANENT;
		goto fail;
	}
	size_t n = strlen(h->root);
	while (n > 0 && h->root[n - 1] == '/')
		h->root[--n] = '\0';

	if (idv && *idv) {
		if (!(h->identity = sftp_expand(idv))) {
			snprintf(errbuf, errbuf_len, "identity-file \"%s\": no home directory", idv);
			goto fail;
		}
	} else if (!h->use_agent) {
		static const char *const dflt[] = { "~/.ssh/id_ed25519", "~/.ssh/id_ecdsa",
						    "~/.ssh/id_rsa" };
		for (size_t i = 0; i < sizeof dflt / sizeof *dflt && !h->identity; i++) {
			char *p = sftp_expand(dflt[i]);
			if (p && access(p, F_OK) == 0)
				h->identity = p;
			else
				free(p);
		}
		if (!h->identity) {
			snprintf(errbuf, errbuf_len,
				 "no identity-file configured, no key in ~/.ssh (id_ed25519, "
				 "id_ecdsa, id_rsa) and use-agent is not set");
			goto fail;
		}
	}
	if (h->identity) {
		struct stat st;
		int fd = open(h->identity, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			snprintf(errbuf, errbuf_len, "cannot open identity-file '%s': %s", h->identity,
				 strerror(errno));
			rc = errno == EACCES ? KAHU_BACKEND_EAUTH : KAHU_BACKEND_ECONFIG;
			goto fail;
		}
		int bad = fstat(fd, &st) < 0 || !S_ISREG(st.st_mode);
		close(fd);
		if (bad) {
			snprintf(errbuf, errbuf_len, "identity-file '%s' is not a regular file",
				 h->identity);
			goto fail;
		}
		const char *hint = bad ? NULL : private_too_open(&st);
		if (hint) {
			snprintf(errbuf, errbuf_len,
				 "permissions %04o for identity-file '%s' are too open; a private "
				 "key must be readable by its owner only%s",
				 (unsigned)(st.st_mode & 07777), h->identity, hint);
			rc = KAHU_BACKEND_EAUTH;
			goto fail;
		}
	}
	if (ppv && *ppv) {
		if (!h->identity) {
			snprintf(errbuf, errbuf_len, "passphrase-file is set but no identity-file");
			goto fail;
		}
		char *pp = sftp_expand(ppv);
		if (!pp) {
			snprintf(errbuf, errbuf_len, "passphrase-file \"%s\": no home directory", ppv);
			goto fail;
		}
		rc = sftp_read_passphrase(pp, &h->passphrase, errbuf, errbuf_len);
		free(pp);
		if (rc < 0)
			goto fail;
	}
	if (!(h->curl = curl_easy_init())) {
		snprintf(errbuf, errbuf_len, "cannot initialise libcurl");
		rc = KAHU_BACKEND_EPERMANENT;
		goto fail;
	}
	*out = h;
	return KAHU_BACKEND_OK;
fail:
	sftp_free(h);
	return rc;
}

static void sftp_close(struct kahu_backend_handle *h)
{
	if (!h)
		return;
	if (h->nput)
		sftp_log(h, KAHU_BACKEND_LOG_WARN, "%u put stream(s) still open at close", h->nput);
	sftp_free(h);
}

static const char *sftp_errmsg(struct kahu_backend_handle *h)
{
	return h ? h->err : "";
}

/* ---- put ---- */

static void sftp_put_free(struct kahu_backend_put *p)
{
	if (p->spool)
		fclose(p->spool);
	p->h->nput--;
	free(p->key);
	free(p);
}

/* An anonymous local file: O_TMPFILE where the filesystem has it, else a named one
 * unlinked at once. */
static FILE *sftp_spool(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;
	if (!dir || !*dir)
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
#endif
	{
		char *tmpl = sftp_asprintf("%s/kahu-sftp.XXXXXX", dir);
		if (!tmpl)
			return NULL;
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd >= 0)
			unlink(tmpl);
		free(tmpl);
	}
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w+");
	if (!f)
		close(fd);
	return f;
}

static int sftp_put_begin(struct kahu_backend_handle *h, const char *key, unsigned int flags,
			  uint64_t size_hint, struct kahu_backend_put **out)
{
	int rc;
	*out = NULL;
	(void)size_hint;
	if ((rc = sftp_key_ok(h, key)) < 0)
		return rc;
	if (flags & ~KAHU_PUT_EXCLUSIVE)
		return sftp_seterr(h, KAHU_BACKEND_EUNSUPPORTED, "unsupported put flags 0x%x", flags);
	struct kahu_backend_put *p = calloc(1, sizeof *p);
	if (!p)
		return sftp_oom(h);
	p->h = h;
	p->flags = flags;
	h->nput++;
	if (!(p->key = sftp_strdup(key))) {
		sftp_put_free(p);
		return sftp_oom(h);
	}
	if (!(p->spool = sftp_spool())) {
		int e = errno;
		sftp_put_free(p);
		return sftp_seterr(h, e == ENOSPC ? KAHU_BACKEND_ENOSPACE : KAHU_BACKEND_EPERMANENT,
				   "cannot create a local spool file for %s: %s", key, strerror(e));
	}
	*out = p;
	return KAHU_BACKEND_OK;
}

static int sftp_put_write(struct kahu_backend_put *p, const void *buf, size_t len)
{
	if (p->failed)
		return sftp_seterr(p->h, KAHU_BACKEND_EPERMANENT, "write to a failed put stream");
	if (len && fwrite(buf, 1, len, p->spool) != len) {
		int e = errno;
		p->failed = 1;
		return sftp_seterr(p->h, e == ENOSPC ? KAHU_BACKEND_ENOSPACE : KAHU_BACKEND_EPERMANENT,
				   "cannot spool %s to a local file: %s", p->key, strerror(e));
	}
	return KAHU_BACKEND_OK;
}

static void sftp_put_abort(struct kahu_backend_put *p)
{
	if (p)
		sftp_put_free(p);
}

/* Remove a temporary upload, keeping the message of the failure that caused it. */
static void sftp_drop_temp(struct kahu_backend_handle *h, const char *tmp)
{
	char saved[sizeof h->err];
	char *cmd = sftp_quote("rm", tmp, NULL);
	char *cmds[] = { cmd, NULL };
	memcpy(saved, h->err, sizeof saved);
	if (cmd && sftp_quote_after_stat(h, tmp, cmds, "removing a temporary file") < 0)
		sftp_log(h, KAHU_BACKEND_LOG_DEBUG, "%s", h->err);
	free(cmd);
	memcpy(h->err, saved, sizeof saved);
}

static int sftp_put_commit(struct kahu_backend_put *p)
{
	struct kahu_backend_handle *h = p->h;
	char *final = NULL, *tmp = NULL, *url = NULL, *mv = NULL, *rm = NULL, rnd[17];
	struct curl_slist *post = NULL;
	int rc, uploaded = 0;
	long size;

	if (p->failed) {
		rc = sftp_seterr(h, KAHU_BACKEND_EPERMANENT, "commit of a failed put stream");
		goto out;
	}
	if (fflush(p->spool) != 0 || (size = ftell(p->spool)) < 0 || fseek(p->spool, 0, SEEK_SET) != 0) {
		rc = sftp_seterr(h, KAHU_BACKEND_EPERMANENT, "cannot read back the spool file of %s: %s",
				 p->key, strerror(errno));
		goto out;
	}
	final = sftp_path(h, p->key);
	const char *slash = final ? strrchr(final, '/') : NULL;
	sftp_random_hex(rnd, 16);
	/* the base name is cut so that a long key stays under NAME_MAX */
	if (slash)
		tmp = sftp_asprintf("%.*s/.%.200s.tmp.%s", (int)(slash - final), final, slash + 1, rnd);
	url = tmp ? sftp_url(h, tmp) : NULL;
	mv = tmp ? sftp_quote("rename", tmp, final) : NULL;
	if (!url || !mv || !(post = curl_slist_append(NULL, mv))) {
		rc = sftp_oom(h);
		goto out;
	}
	char what[KAHU_BACKEND_KEY_MAX + 64];
	snprintf(what, sizeof what, "writing %s", p->key);
	if ((rc = sftp_prepare(h, url)) < 0)
		goto out;
	curl_easy_setopt(h->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h->curl, CURLOPT_READDATA, p->spool);
	curl_easy_setopt(h->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
	curl_easy_setopt(h->curl, CURLOPT_FTP_CREATE_MISSING_DIRS, (long)CURLFTP_CREATE_DIR);
	curl_easy_setopt(h->curl, CURLOPT_POSTQUOTE, post);
	CURLcode cc = curl_easy_perform(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_POSTQUOTE, NULL);
	if (cc == CURLE_OK) {
		rc = KAHU_BACKEND_OK;
		goto out;
	}
	/* Was the temporary file written in full?  Then only the rename failed. */
	curl_off_t sent = -1;
	curl_easy_getinfo(h->curl, CURLINFO_SIZE_UPLOAD_T, &sent);
	uploaded = cc == CURLE_QUOTE_ERROR && sent == (curl_off_t)size;
	if (!uploaded) {
		rc = sftp_fail(h, cc, what);
		if (rc == KAHU_BACKEND_EPERMANENT) {
			char *dir = sftp_strdup(tmp);
			char *sl = dir ? strrchr(dir, '/') : NULL;
			if (sl) {
				*sl = '\0';
				if (sftp_disk_full(h, *dir ? dir : "/"))
					rc = sftp_seterr(h, KAHU_BACKEND_ENOSPACE,
							 "%s on %s: no space left on the server "
							 "(in %s)", what, h->host_name,
							 *dir ? dir : "/");
			}
			free(dir);
		}
		sftp_drop_temp(h, tmp);
		goto out;
	}
	/* The rename was refused: the target exists (SFTP v3), or something else. */
	char *cmds[3] = { NULL, NULL, NULL };
	struct kahu_backend_stat st;
	rc = sftp_stat_path(h, final, &st, what);
	if (rc == KAHU_BACKEND_ENOTFOUND) {
		rc = sftp_seterr(h, KAHU_BACKEND_EPERMANENT, "%s on %s: cannot rename %s into place: %s",
				 p->key, h->host_name, tmp, h->curl_err);
	} else if (rc == KAHU_BACKEND_OK && (p->flags & KAHU_PUT_EXCLUSIVE)) {
		rc = sftp_seterr(h, KAHU_BACKEND_EEXISTS, "%s already exists", p->key);
	} else if (rc == KAHU_BACKEND_OK) {
		/* Replace: remove the old object, then rename (the name is briefly absent,
		 * never partial). */
		rm = sftp_quote("rm", final, NULL);
		cmds[0] = rm;
		cmds[1] = mv;
		if (!rm)
			rc = sftp_oom(h);
		else
			rc = sftp_quote_after_stat(h, tmp, cmds, what);
	}
	if (rc < 0)
		sftp_drop_temp(h, tmp);
out:
	curl_slist_free_all(post);
	free(final);
	free(tmp);
	free(url);
	free(mv);
	free(rm);
	sftp_put_free(p);
	return rc;
}

/* ---- get / stat / remove ---- */

struct sftp_sink {
	struct kahu_backend_handle *h;
	kahu_backend_write_fn sink;
	void *ud;
};

static size_t sftp_get_write(char *buf, size_t sz, size_t n, void *ud)
{
	struct sftp_sink *s = ud;
	if (s->sink(s->ud, buf, sz * n) != 0) {
		s->h->sink_stopped = 1;
		return 0;
	}
	return sz * n;
}

static int sftp_get(struct kahu_backend_handle *h, const char *key, uint64_t offset,
		    uint64_t length, kahu_backend_write_fn sink, void *ud)
{
	int rc;
	char range[64], what[KAHU_BACKEND_KEY_MAX + 16];
	struct kahu_backend_stat st;
	if ((rc = sftp_key_ok(h, key)) < 0)
		return rc;
	char *path = sftp_path(h, key);
	char *url = path ? sftp_url(h, path) : NULL;
	if (!url) {
		free(path);
		return sftp_oom(h);
	}
	snprintf(what, sizeof what, "reading %s", key);
	if (offset > 0 || length != KAHU_BACKEND_TO_END) {
		/* A range past the end yields nothing: libcurl would call it an error. */
		if ((rc = sftp_stat_path(h, path, &st, what)) < 0)
			goto out;
		if (offset >= st.size)
			goto out;
		if (length != KAHU_BACKEND_TO_END && length <= st.size - offset)
			snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)offset,
				 (unsigned long long)(offset + length - 1));
		else
			snprintf(range, sizeof range, "%llu-", (unsigned long long)offset);
	}
	struct sftp_sink s = { h, sink, ud };
	if ((rc = sftp_prepare(h, url)) < 0)
		goto out;
	if (offset > 0 || length != KAHU_BACKEND_TO_END)
		curl_easy_setopt(h->curl, CURLOPT_RANGE, range);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, sftp_get_write);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &s);
	rc = sftp_perform(h, what);
out:
	free(path);
	free(url);
	return rc;
}

static int sftp_stat(struct kahu_backend_handle *h, const char *key, struct kahu_backend_stat *out)
{
	int rc;
	char what[KAHU_BACKEND_KEY_MAX + 16];
	if ((rc = sftp_key_ok(h, key)) < 0)
		return rc;
	char *path = sftp_path(h, key);
	if (!path)
		return sftp_oom(h);
	snprintf(what, sizeof what, "stat of %s", key);
	rc = sftp_stat_path(h, path, out, what);
	free(path);
	return rc;
}

static int sftp_remove(struct kahu_backend_handle *h, const char *key)
{
	int rc;
	char what[KAHU_BACKEND_KEY_MAX + 16];
	if ((rc = sftp_key_ok(h, key)) < 0)
		return rc;
	char *path = sftp_path(h, key);
	char *cmd = path ? sftp_quote("rm", path, NULL) : NULL;
	char *cmds[] = { cmd, NULL };
	snprintf(what, sizeof what, "removing %s", key);
	rc = cmd ? sftp_quote_after_stat(h, path, cmds, what) : sftp_oom(h);
	free(path);
	free(cmd);
	return rc;
}

/* ---- directory listings ---- */

struct sftp_ent {
	char *name;      /* a directory's name ends in '/' */
	uint64_t size;
	int64_t mtime;
};

static int sftp_month(const char *m)
{
	static const char *const names[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	for (int i = 0; i < 12; i++)
		if (strcmp(m, names[i]) == 0)
			return i;
	return -1;
}

/* The time of an "ls -l" line ("Dec  3 10:00" or "Dec  3  2025"), read as UTC; the
 * listing has minutes at best, and 0 when it cannot be read. */
static int64_t sftp_ls_time(const char *mon, const char *day, const char *tod)
{
	struct tm tm;
	time_t now = time(NULL);
	int m = sftp_month(mon);
	if (m < 0)
		return 0;
	memset(&tm, 0, sizeof tm);
	gmtime_r(&now, &tm);
	int this_year = tm.tm_year;
	memset(&tm, 0, sizeof tm);
	tm.tm_mon = m;
	tm.tm_mday = atoi(day);
	if (strchr(tod, ':')) {
		tm.tm_year = this_year;
		tm.tm_hour = atoi(tod);
		tm.tm_min = atoi(strchr(tod, ':') + 1);
		time_t t = timegm(&tm);
		if (t > now + 86400) {  /* "Dec 31" seen in January: last year */
			tm.tm_year--;
			t = timegm(&tm);
		}
		return (int64_t)t;
	}
	tm.tm_year = atoi(tod) - 1900;
	return (int64_t)timegm(&tm);
}

/* Parse an SFTP long listing (one "ls -l" line per entry) into entries; names that
 * start with '.', symlinks and other non-files are left out unless `dots` is set (then
 * only '.' and '..' are). */
static int sftp_parse_listing(char *text, struct sftp_ent **out, size_t *nout, int dots)
{
	struct sftp_ent *ents = NULL;
	size_t n = 0, cap = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *f[8], *c = line;
		int i;
		for (i = 0; i < 8; i++) {
			while (*c == ' ')
				c++;
			f[i] = c;
			while (*c && *c != ' ')
				c++;
			if (!*c)
				break;
			*c++ = '\0';
		}
		if (i < 8)
			continue;
		/* the name: after exactly one space following the time or year */
		char *name = c;
		if (!*name || strchr(name, '/'))
			continue;
		int is_dir = f[0][0] == 'd';
		if (f[0][0] != '-' && !is_dir)
			continue;  /* symlinks, sockets …: not ours */
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (name[0] == '.' && !dots)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			struct sftp_ent *ne = realloc(ents, cap * sizeof *ents);
			if (!ne)
				goto oom;
			ents = ne;
		}
		size_t nl = strlen(name);
		if (!(ents[n].name = malloc(nl + 2)))
			goto oom;
		memcpy(ents[n].name, name, nl);
		ents[n].name[nl] = '/';
		ents[n].name[nl + is_dir] = '\0';
		ents[n].size = strtoull(f[4], NULL, 10);
		ents[n].mtime = sftp_ls_time(f[5], f[6], f[7]);
		n++;
	}
	*out = ents;
	*nout = n;
	return 0;
oom:
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	return -1;
}

static int sftp_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sftp_ent *)a)->name, ((const struct sftp_ent *)b)->name);
}

static void sftp_ents_free(struct sftp_ent *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* The entries of the directory <root>/<rel> (rel "" or ending in '/'), sorted with
 * directories as "name/".  A missing directory has none. */
static int sftp_read_dir(struct kahu_backend_handle *h, const char *rel, int dots,
			 struct sftp_ent **out, size_t *nout)
{
	struct sftp_buf b = { NULL, 0, 0 };
	char *path = sftp_path(h, rel);
	char *url = path ? sftp_url(h, path) : NULL;
	int rc;
	*out = NULL;
	*nout = 0;
	if (!url) {
		free(path);
		return sftp_oom(h);
	}
	if ((rc = sftp_prepare(h, url)) == KAHU_BACKEND_OK) {
		curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, sftp_buf_write);
		curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &b);
		rc = sftp_perform(h, "listing the location");
		if (rc == KAHU_BACKEND_ENOTFOUND)
			rc = KAHU_BACKEND_OK;
		else if (rc < 0 && h->err[0])
			snprintf(h->err + strlen(h->err), sizeof h->err - strlen(h->err),
				 " (directory %s)", path);
	}
	if (rc == KAHU_BACKEND_OK && b.p) {
		if (sftp_parse_listing(b.p, out, nout, dots) < 0)
			rc = sftp_oom(h);
		else if (*nout)
			qsort(*out, *nout, sizeof **out, sftp_ent_cmp);
	}
	free(b.p);
	free(path);
	free(url);
	return rc;
}

struct sftp_walk {
	struct kahu_backend_handle *h;
	const char *prefix;
	size_t plen;
	kahu_backend_list_fn cb;
	void *ud;
	char key[KAHU_BACKEND_KEY_MAX + 2];
};

static int sftp_walk_dir(struct sftp_walk *w, size_t klen, int depth)
{
	struct sftp_ent *ents;
	size_t n;
	int rc;
	if (depth > SFTP_LIST_DEPTH_MAX)
		return sftp_seterr(w->h, KAHU_BACKEND_EPERMANENT, "directories nested too deep under %s",
				   w->h->root);
	w->key[klen] = '\0';
	if ((rc = sftp_read_dir(w->h, w->key, 0, &ents, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == KAHU_BACKEND_OK; i++) {
		size_t nl = strlen(ents[i].name);
		if (klen + nl > KAHU_BACKEND_KEY_MAX)
			continue;  /* cannot be a kahu key */
		memcpy(w->key + klen, ents[i].name, nl + 1);
		if (ents[i].name[nl - 1] == '/') {
			size_t m = klen + nl < w->plen ? klen + nl : w->plen;
			if (strncmp(w->key, w->prefix, m) == 0)
				rc = sftp_walk_dir(w, klen + nl, depth + 1);
		} else if (strncmp(w->key, w->prefix, w->plen) == 0) {
			struct kahu_backend_stat st;
			memset(&st, 0, sizeof st);
			st.size = ents[i].size;
			st.mtime = ents[i].mtime;
			if (w->cb(w->ud, w->key, &st) != 0)
				rc = sftp_seterr(w->h, KAHU_BACKEND_ECALLBACK, "listing stopped by the caller");
		}
	}
	sftp_ents_free(ents, n);
	return rc;
}

static int sftp_list(struct kahu_backend_handle *h, const char *prefix, kahu_backend_list_fn cb,
		     void *ud)
{
	struct sftp_walk *w = calloc(1, sizeof *w);
	if (!w)
		return sftp_oom(h);
	w->h = h;
	w->prefix = prefix ? prefix : "";
	w->plen = strlen(w->prefix);
	w->cb = cb;
	w->ud = ud;
	/* Start at the deepest directory the prefix names, not at the root. */
	const char *slash = strrchr(w->prefix, '/');
	size_t dlen = slash ? (size_t)(slash - w->prefix) + 1 : 0;
	int rc = KAHU_BACKEND_OK;
	if (dlen <= KAHU_BACKEND_KEY_MAX) {
		memcpy(w->key, w->prefix, dlen);
		w->key[dlen] = '\0';
		if (dlen) {
			w->key[dlen - 1] = '\0';
			rc = sftp_key_ok(h, w->key);
			w->key[dlen - 1] = '/';
		}
		if (rc == KAHU_BACKEND_OK)
			rc = sftp_walk_dir(w, dlen, 0);
	}
	free(w);
	return rc;
}

/* ---- probe and cleanup ---- */

static int sftp_probe(struct kahu_backend_handle *h)
{
	char rnd[17], *tmp, *url;
	int rc;
	sftp_random_hex(rnd, 16);
	tmp = sftp_asprintf("%s/.probe.tmp.%s", h->root, rnd);
	url = tmp ? sftp_url(h, tmp) : NULL;
	if (!url) {
		free(tmp);
		return sftp_oom(h);
	}
	FILE *f = fmemopen((void *)"kahu", 4, "r");
	if (!f) {
		free(tmp);
		free(url);
		return sftp_oom(h);
	}
	if ((rc = sftp_prepare(h, url)) == KAHU_BACKEND_OK) {
		curl_easy_setopt(h->curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h->curl, CURLOPT_READDATA, f);
		curl_easy_setopt(h->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)4);
		curl_easy_setopt(h->curl, CURLOPT_FTP_CREATE_MISSING_DIRS, (long)CURLFTP_CREATE_DIR);
		rc = sftp_perform(h, "writing a probe file");
		if (rc == KAHU_BACKEND_OK)
			sftp_drop_temp(h, tmp);
	}
	fclose(f);
	free(tmp);
	free(url);
	return rc;
}

static int sftp_is_temp(const char *name)
{
	return name[0] == '.' && strstr(name, ".tmp.") != NULL;
}

static int sftp_cleanup_dir(struct kahu_backend_handle *h, char *rel, size_t rlen,
			    unsigned int *removed, int depth)
{
	struct sftp_ent *ents;
	size_t n;
	int rc;
	rel[rlen] = '\0';
	if ((rc = sftp_read_dir(h, rel, 1, &ents, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == KAHU_BACKEND_OK; i++) {
		size_t nl = strlen(ents[i].name);
		if (rlen + nl > KAHU_BACKEND_KEY_MAX)
			continue;
		memcpy(rel + rlen, ents[i].name, nl + 1);
		if (ents[i].name[nl - 1] == '/') {
			if (ents[i].name[0] != '.' && depth < SFTP_LIST_DEPTH_MAX)
				rc = sftp_cleanup_dir(h, rel, rlen + nl, removed, depth + 1);
		} else if (sftp_is_temp(ents[i].name)) {
			char *path = sftp_path(h, rel);
			char *cmd = path ? sftp_quote("rm", path, NULL) : NULL;
			char *cmds[] = { cmd, NULL };
			if (!cmd)
				rc = sftp_oom(h);
			else if ((rc = sftp_quote_after_stat(h, path, cmds, "removing a temporary file")) ==
				 KAHU_BACKEND_OK)
				(*removed)++;
			else if (rc == KAHU_BACKEND_ENOTFOUND)  /* removed meanwhile */
				rc = KAHU_BACKEND_OK;
			free(path);
			free(cmd);
		}
	}
	sftp_ents_free(ents, n);
	return rc;
}

static int sftp_cleanup(struct kahu_backend_handle *h, const char *prefix, unsigned int *removed)
{
	char rel[KAHU_BACKEND_KEY_MAX + 2];
	const char *slash = prefix ? strrchr(prefix, '/') : NULL;
	size_t dlen = slash ? (size_t)(slash - prefix) + 1 : 0;
	*removed = 0;
	if (dlen > KAHU_BACKEND_KEY_MAX)
		return KAHU_BACKEND_OK;
	memcpy(rel, prefix, dlen);
	return sftp_cleanup_dir(h, rel, dlen, removed, 0);
}

/* ---- entry ---- */

static const struct kahu_backend sftp_backend = {
	KAHU_BACKEND_HEADER,
	.name = "sftp",
	.version = SFTP_VERSION,
	.description = "directory on an SSH server over SFTP (host keys checked against "
		       "known_hosts, key authentication, atomic rename)",
	.capabilities = KAHU_BACKEND_CAP_METADATA | KAHU_BACKEND_CAP_RANGE_READ |
			KAHU_BACKEND_CAP_ATOMIC_PUT | KAHU_BACKEND_CAP_EXCLUSIVE_PUT,
	.options = sftp_options,
	.open = sftp_open,
	.close = sftp_close,
	.errmsg = sftp_errmsg,
	.probe = sftp_probe,
	.put_begin = sftp_put_begin,
	.put_write = sftp_put_write,
	.put_commit = sftp_put_commit,
	.put_abort = sftp_put_abort,
	.get = sftp_get,
	.stat = sftp_stat,
	.list = sftp_list,
	.remove = sftp_remove,
	.copy = NULL,
	.cleanup = sftp_cleanup,
};

int kahu_backend_init(const struct kahu_host *host, const struct kahu_backend **out)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		if (host && host->log)
			host->log(host, KAHU_BACKEND_LOG_ERROR, "sftp: cannot initialise libcurl");
		return KAHU_BACKEND_EPERMANENT;
	}
	*out = &sftp_backend;
	return KAHU_BACKEND_OK;
}

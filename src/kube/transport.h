/* kahu — the transport under the Kubernetes client (internal to src/kube; client.c
 * and what connects to the API server beside it use it, nothing outside src/kube).
 *
 * It owns everything about reaching one cluster and nothing about what a request
 * means: libcurl easy handles configured for the cluster (the URL base, with
 * tls-server-name; the CA or insecure-skip-tls-verify; the proxy; the connect and
 * transfer timeouts; the user agent; the credentials of the moment), pooled so that a
 * handle and the connection kept alive in it serve whichever thread comes next, with
 * at most `slots` handles out at once.  Retries, status and error mapping, and how a
 * body is read are the caller's (client.c).
 *
 * A handle is lent configured and given back:
 *
 *     struct kube_conn conn;
 *     if ((rc = kube_transport_open(t, path, headers, &conn)) < 0)
 *             return rc;                  // message set
 *     ...set the method, body and callbacks on conn.h, curl_easy_perform(conn.h)...
 *     kube_transport_close(t, &conn);     // or _discard, see below
 *
 * The handle may be used for anything libcurl does with an HTTP(S) URL of the
 * cluster, a CONNECT_ONLY connection included: conn.headers then holds the header
 * lines, Authorization among them, that such a caller writes itself, and the handle
 * is given back with kube_transport_discard. */
#ifndef KAHU_KUBE_TRANSPORT_H
#define KAHU_KUBE_TRANSPORT_H

#include <curl/curl.h>

#include "kube/auth.h"

struct kube_config;
struct kube_transport;

struct kube_transport_opts {
	int slots;               /* handles out at once (> 0) */
	long timeout_ms;         /* a transfer's CURLOPT_TIMEOUT_MS (> 0) */
	long connect_timeout_ms; /* > 0 */
	const char *user_agent;
};

/* Errors: KAHU_ECONFIG (no server, an invalid server URL), KAHU_EINTERNAL (libcurl
 * cannot be initialised), what kube_auth_new returns (a certificate or token file),
 * KAHU_ENOMEM, KAHU_EIO (the slots).  Warns once per process when TLS verification
 * is off. */
int kube_transport_new(const struct kube_config *cfg, const struct kube_transport_opts *o,
		       struct kube_transport **out);
void kube_transport_free(struct kube_transport *t);

/* The server as configured, without trailing slashes (what messages name). */
const char *kube_transport_server(const struct kube_transport *t);

/* A handle on loan.  It must not move while it is open (libcurl writes errbuf). */
struct kube_conn {
	CURL *h;
	/* What CURLOPT_HTTPHEADER is set to: the caller's lines, then the Host line of a
	 * tls-server-name, then the bearer token's Authorization (basic auth is set on
	 * the handle, CURLOPT_USERNAME/PASSWORD).  Wiped when given back. */
	struct curl_slist *headers;
	struct kube_credential cred; /* the credentials in use (for kube_auth_*) */
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's message of a failed transfer */
};

/* Takes a slot (waiting for one ends at once when the run is cancelled: KAHU_EINTR,
 * "interrupted"), a pooled or new handle, and the current credentials (an error is
 * wrapped "credentials for <server>"), then resets the handle and configures it for
 * the URL base + `path`: the share (DNS cache, TLS sessions), http/https only, no
 * redirects, TCP keep-alive, the timeouts, the user agent, tls-server-name, the proxy,
 * TLS verification, the client certificate, basic auth or the bearer token, and a
 * progress callback that aborts the transfer once the run is cancelled.  `headers`
 * (NULL-terminated, may be NULL) come first in conn->headers.  Method, body and the
 * write and header callbacks are left at libcurl's defaults.  On error nothing is
 * held. */
int kube_transport_open(struct kube_transport *t, const char *path,
			const char *const *headers, struct kube_conn *conn);
/* The same for a connection the caller takes over (pods/exec's WebSocket): the handle
 * is also set CONNECT_ONLY (curl_easy_perform only connects: TCP, the proxy's tunnel,
 * TLS) with HTTP/1.1, and the credentials sent as headers are all in conn->headers, so
 * that the caller's hand-written request carries them: the bearer token, or basic
 * auth as its own Authorization line (on the handle libcurl would send it only with
 * a request it writes).  A client certificate stays on the handle (TLS).  Give it
 * back with kube_transport_discard. */
int kube_transport_open_raw(struct kube_transport *t, const char *path,
			    const char *const *headers, struct kube_conn *conn);
/* Gives the handle back (to the pool, its connection kept alive) and frees the slot;
 * the headers and credentials are wiped first.  A thread that is about to wait
 * closes first, so that it holds no slot others could use. */
void kube_transport_close(struct kube_transport *t, struct kube_conn *conn);
/* The same, but the handle and its connections are closed instead of pooled: for a
 * connection the caller took over (CONNECT_ONLY, an upgraded protocol), which libcurl
 * would never reuse for a request. */
void kube_transport_discard(struct kube_transport *t, struct kube_conn *conn);

/* The transport of a client (client.c), for what connects to the cluster beside it. */
struct kube_client;
struct kube_transport *kube_client_transport(struct kube_client *c);

/* After a 401: drops cached exec credentials so that the next open runs the plugin
 * again.  1 when a retry may help, else 0 (kube_auth_invalidate). */
int kube_transport_reauth(struct kube_transport *t);

#endif

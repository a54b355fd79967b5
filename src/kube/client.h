/* kahu — the HTTP client for the Kubernetes API (libcurl).
 *
 * Thread-safe: any number of threads may call kube_request at once; at most
 * `max_requests` run concurrently (the rest wait), connections are reused through a
 * curl share object.  Retries: 429 and 5xx (honouring an integer Retry-After), and
 * connection resets/timeouts of idempotent requests (GET, HEAD, and requests the caller
 * marks idempotent), at most `max_tries` tries in all, exponential backoff with jitter.
 * The waits between the tries of one request add up to at most `timeout_ms`: a longer
 * Retry-After or backoff is shortened to what is left (logged at -v with why), and once
 * nothing is left the request gives up with the last error ("gave up after N tries"). 
 * -v logs method, URL, status and duration; never headers with credentials. */
#ifndef KAHU_KUBE_CLIENT_H
#define KAHU_KUBE_CLIENT_H

#include <stddef.h>

#include "util/buf.h"

struct kube_config;
struct kube_client;

struct kube_client_opts {
	int max_requests;        /* concurrent requests; default 8 */
	long timeout_ms;         /* one try; also the most the waits between the tries of
				  * a request add up to; default 60000 */
	long connect_timeout_ms; /* default 10000 */
	int max_tries;           /* default 10 */
	const char *user_agent;  /* default "kahu/VERSION" */
};

struct kube_response {
	long status;             /* HTTP status, 0 when no answer */
	struct kbuf body;
	char *content_type;
	int tries;               /* how many attempts were made */
};

enum {
	KUBE_REQ_IDEMPOTENT = 1 << 0, /* may be retried after a reset even if not GET */
	KUBE_REQ_NO_RETRY = 1 << 1,
	/* At most 3 tries: for requests whose failure is tolerated and likely lasting
	 * (discovery of one group/version behind a broken APIService answers 503). */
	KUBE_REQ_FEW_TRIES = 1 << 2,
};

int kube_client_new(const struct kube_config *cfg, const struct kube_client_opts *o,
		    struct kube_client **out);
void kube_client_free(struct kube_client *c);

/* `path` is the path and query ("/api/v1/namespaces?limit=500").  `accept` may be
 * NULL (application/json).  Returns 0 when the server answered 2xx; otherwise a
 * negative code with the message from the Status body:
 *   KAHU_EUNREACHABLE, KAHU_ETLS, KAHU_EAUTH (401), KAHU_EFORBIDDEN (403),
 *   KAHU_ENOTFOUND (404), KAHU_ECONFLICT (409), KAHU_EDATA (410 Gone and other 4xx),
 *   KAHU_ETEMP (429/5xx after all tries or the waits' budget), KAHU_EINTR (interrupted).
 * resp->status and resp->body are set whenever the server answered. */
int kube_request(struct kube_client *c, const char *method, const char *path,
		 const char *accept, const char *content_type, const void *body, size_t len,
		 unsigned flags, struct kube_response *resp);
void kube_response_clear(struct kube_response *r);

/* A body read as it arrives (a LIST of any size), for kube_request_stream. */
struct kube_stream {
	/* Called before each try (attempt counts from 1): a retry after a broken
	 * transfer starts the body again from its first byte.  Return 0, or a negative
	 * kahu_err (message set) to give up. */
	int (*begin)(void *ud, int attempt);
	/* The next piece of a 2xx body.  Return 0, or a negative kahu_err (message set),
	 * which aborts the transfer and is returned as is: it is not retried. */
	int (*data)(void *ud, const char *p, size_t n);
	/* Polled during the transfer (may be NULL): non-zero aborts it (KAHU_EINTR), for a
	 * reader whose consumer has gone. */
	int (*cancelled)(void *ud);
	void *ud;
};

/* GET `path` with the body of a 2xx answer going to `s` piece by piece instead of into
 * resp->body: the same credentials, TLS, retries (a transfer broken mid-body is tried
 * again, after s->begin), Retry-After and interruption as kube_request, and the same
 * return codes.  The request timeout bounds the time without any data arriving, not
 * the whole transfer, whose length grows with the list.  resp->body holds the body of
 * an answer other than 2xx (its first MiB). */
int kube_request_stream(struct kube_client *c, const char *path, const char *accept,
			unsigned flags, const struct kube_stream *s, struct kube_response *resp);

/* Parse a Retry-After header value: delta-seconds only (as client-go); returns
 * seconds >= 0, or -1 when absent or not an integer. Capped at 600. */
long kube_parse_retry_after(const char *value);
/* The `message` of a Kubernetes Status body (what error messages quote), or NULL when
 * the body is not a Status with one.  Caller frees. */
char *kube_status_message(const struct kbuf *body);
/* Backoff before try number `attempt` (1-based) with jitter, in milliseconds. */
long kube_backoff_ms(int attempt, unsigned int random);

/* Once the run is cancelled (kahu_cancelled(), util/cancel.h) requests stop waiting and
 * return KAHU_EINTR, running transfers are aborted by libcurl's progress callback, waits
 * between tries wake at once. */
const char *kube_client_server(const struct kube_client *c);
/* Rights that end at some namespaces: once a list across the cluster was refused
 * (kube_list_or_each_ns), later lists with namespaces to fall back on go to them at once,
 * so that a run of such a user is refused once, not once per type (each refusal is a
 * denial in the cluster's audit log).  For the client's lifetime. */
void kube_client_set_ns_scoped(struct kube_client *c);
int kube_client_ns_scoped(struct kube_client *c);
/* The concurrency limit in force (callers size their worker pools by it). */
int kube_client_max_requests(const struct kube_client *c);

#endif

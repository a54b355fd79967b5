/* Unit tests of the HTTP client and the pager: pure helpers, then a scripted plain-HTTP
 * server on 127.0.0.1 (one thread, one connection at a time) for retries, status
 * mapping, resets, interrupts, logging hygiene, the transport's handles taken over by
 * their caller, and paging with expired tokens. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/pager.h"
#include "kube/resource.h"
#include "kube/transport.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#define TOKEN "s3cr3t-t0ken-value"

START_TEST(test_retry_after)
{
	ck_assert_int_eq(kube_parse_retry_after("1"), 1);
	ck_assert_int_eq(kube_parse_retry_after("120"), 120);
	ck_assert_int_eq(kube_parse_retry_after("  5 "), 5);
	ck_assert_int_eq(kube_parse_retry_after("0"), 0);
	ck_assert_int_eq(kube_parse_retry_after("7\r\n"), 7);
	ck_assert_int_eq(kube_parse_retry_after("-1"), -1);
	ck_assert_int_eq(kube_parse_retry_after("abc"), -1);
	ck_assert_int_eq(kube_parse_retry_after("1.5"), -1);
	ck_assert_int_eq(kube_parse_retry_after("5s"), -1);
	ck_assert_int_eq(kube_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
	ck_assert_int_eq(kube_parse_retry_after("601"), 600);
	ck_assert_int_eq(kube_parse_retry_after("99999999999999999999999999"), 600);
	ck_assert_int_eq(kube_parse_retry_after(""), -1);
	ck_assert_int_eq(kube_parse_retry_after("   "), -1);
	ck_assert_int_eq(kube_parse_retry_after(NULL), -1);
}
END_TEST

START_TEST(test_backoff)
{
	long base = 250;
	for (int attempt = 1; attempt <= 12; attempt++) {
		long lo = base * 3 / 4, hi = base + base / 4;
		if (hi > 30000)
			hi = 30000;
		unsigned samples[] = { 0, 1, 7, 1000, 123456789u, 0xffffffffu };
		for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
			long ms = kube_backoff_ms(attempt, samples[i]);
			ck_assert_msg(ms >= lo && ms <= hi, "attempt %d: %ld not in [%ld, %ld]",
				      attempt, ms, lo, hi);
		}
		if (base < 30000)
			base = base * 2 > 30000 ? 30000 : base * 2;
	}
	/* the jitter really spreads */
	ck_assert_int_ne(kube_backoff_ms(3, 0), kube_backoff_ms(3, 500));
	ck_assert_int_eq(kube_backoff_ms(1, 0), 188);
	ck_assert_int_le(kube_backoff_ms(100, 0xffffffffu), 30000);
	ck_assert_int_ge(kube_backoff_ms(100, 0), 22500);
	ck_assert_int_ge(kube_backoff_ms(0, 0), 187);
}
END_TEST

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- the scripted server -------------------------------------------------------- */

#define MAX_STEPS 16

/* A step may start with a line saying how to send the raw response after it:
 *   "CUT n\n"   its first n bytes, then a TCP reset;
 *   "CLOSE n\n" its first n bytes, then the connection is closed (a response without
 *               Content-Length ends there);
 *   "HOLD n\n"  its first n bytes, then the rest once the test releases it (or after
 *               10 s), with `holding` set meanwhile. */
struct server {
	int fd;
	int port;
	pthread_t tid;
	const char *script[MAX_STEPS]; /* raw responses; "RESET" = half an answer, then RST */
	pthread_cond_t cond;           /* HOLD: signalled by server_release */
	int holding;                   /* a HOLD step is waiting */
	int released;
	int nsteps;
	int step;
	char *requests[MAX_STEPS];
	int nrequests;
	pthread_mutex_t lock;
};

static void reset_conn(int fd)
{
	struct linger lg = { 1, 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd);
}

/* Reads one request (head and Content-Length body); returns its head or NULL. */
static char *read_request(int fd)
{
	struct kbuf b = KBUF_INIT;
	char chunk[4096];
	for (;;) {
		char *end = b.data ? strstr(b.data, "\r\n\r\n") : NULL;
		if (end) {
			size_t head = (size_t)(end - b.data) + 4;
			const char *cl = strcasestr(b.data, "Content-Length:");
			size_t want = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
			if (b.len >= head + want)
				return kbuf_detach(&b);
		}
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n <= 0) {
			kbuf_free(&b);
			return NULL;
		}
		kbuf_add(&b, chunk, (size_t)n);
	}
}

static void *serve(void *arg)
{
	struct server *s = arg;
	for (;;) {
		int fd = accept(s->fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		for (;;) {
			char *req = read_request(fd);
			if (!req)
				break;
			pthread_mutex_lock(&s->lock);
			const char *resp = s->step < s->nsteps ? s->script[s->step++] : NULL;
			if (s->nrequests < MAX_STEPS)
				s->requests[s->nrequests++] = req;
			else
				free(req);
			pthread_mutex_unlock(&s->lock);
			if (!resp)
				resp = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
			size_t n = 0;
			char how[8] = "";
			int skip = 0;
			if (sscanf(resp, "%7[A-Z] %zu\n%n", how, &n, &skip) == 2 && skip &&
			    (strcmp(how, "CUT") == 0 || strcmp(how, "CLOSE") == 0 ||
			     strcmp(how, "HOLD") == 0)) {
				const char *raw = resp + skip;
				(void)!write(fd, raw, n);
				if (strcmp(how, "HOLD") == 0) {
					struct timespec until;
					clock_gettime(CLOCK_REALTIME, &until);
					until.tv_sec += 10;
					pthread_mutex_lock(&s->lock);
					s->holding = 1;
					while (!s->released &&
					       pthread_cond_timedwait(&s->cond, &s->lock, &until) == 0)
						;
					s->holding = 0;
					s->released = 0;
					pthread_mutex_unlock(&s->lock);
					(void)!write(fd, raw + n, strlen(raw + n));
					continue;
				}
				usleep(20000);
				if (strcmp(how, "CUT") == 0)
					reset_conn(fd);
				else
					close(fd);
				fd = -1;
				break;
			}
			if (strcmp(resp, "RESET") == 0) {
				const char *half = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
						   "Content-Length: 100\r\n\r\n{\"items\":[";
				(void)!write(fd, half, strlen(half));
				usleep(20000);
				reset_conn(fd);
				fd = -1;
				break;
			}
			(void)!write(fd, resp, strlen(resp));
		}
		if (fd >= 0)
			close(fd);
	}
}

static void server_start(struct server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(s->fd, 8), 0);
	getsockname(s->fd, (struct sockaddr *)&a, &len);
	s->port = ntohs(a.sin_port);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_create(&s->tid, NULL, serve, s);
}

static int server_holding(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	int h = s->holding;
	pthread_mutex_unlock(&s->lock);
	return h;
}

static void server_release(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->released = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* The clients are gone (kube_client_free closed their connections), so the thread is
 * in accept(), which the shutdown ends.  (Not pthread_cancel: a cancelled thread's
 * stack keeps AddressSanitizer's poison, which trips the next thread to use it.) */
static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->tid, NULL);
	close(s->fd);
	for (int i = 0; i < s->nrequests; i++)
		free(s->requests[i]);
	pthread_mutex_destroy(&s->lock);
}

static char *json_response(int status, const char *reason, const char *extra, const char *body)
{
	return xasprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n%s",
			 status, reason, extra ? extra : "", strlen(body), body);
}

static struct kube_client *client_for(int port, int max_tries)
{
	char *yaml = xasprintf(
		"apiVersion: v1\nkind: Config\ncurrent-context: t\n"
		"clusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:%d\n"
		"users:\n- name: u\n  user:\n    token: " TOKEN "\n"
		"contexts:\n- name: t\n  context:\n    cluster: c\n    user: u\n", port);
	struct kube_config *cfg = NULL;
	struct kube_client *c = NULL;
	struct kube_client_opts o = { .max_requests = 2, .max_tries = max_tries,
				      .timeout_ms = 5000, .connect_timeout_ms = 2000 };
	ck_assert_msg(kube_config_load_string(yaml, "test", "/tmp", NULL, &cfg) == 0, "%s",
		      kahu_error_last());
	ck_assert_msg(kube_client_new(cfg, &o, &c) == 0, "%s", kahu_error_last());
	kube_config_free(cfg);
	free(yaml);
	return c;
}

/* Run `fn` with stderr going to a file; returns what was written. */
static char *capture_stderr(void (*fn)(void *), void *ud)
{
	char path[] = "/tmp/kahu-check-client-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	fn(ud);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	struct kbuf b = KBUF_INIT;
	char chunk[4096];
	ssize_t n;
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		kbuf_add(&b, chunk, (size_t)n);
	close(fd);
	unlink(path);
	kbuf_adds(&b, "");
	return kbuf_detach(&b);
}

struct req_args {
	struct kube_client *c;
	const char *method;
	const char *path;
	const char *body;
	unsigned flags;
	int rc;
	struct kube_response resp;
};

static void do_request(void *ud)
{
	struct req_args *a = ud;
	a->rc = kube_request(a->c, a->method, a->path, NULL, a->body ? "application/json" : NULL,
			     a->body, a->body ? strlen(a->body) : 0, a->flags, &a->resp);
}

START_TEST(test_http_retries_and_logging)
{
	struct server s = { 0 };
	char *r429 = json_response(429, "Too Many Requests", "Retry-After: 0\r\nSet-Cookie: sid=cookie-value\r\n",
				   "{\"kind\":\"Status\",\"message\":\"slow down\"}");
	char *r503 = json_response(503, "Service Unavailable", NULL, "{}");
	char *r200 = json_response(200, "OK", NULL, "{\"kind\":\"ConfigMapList\",\"items\":[]}");
	s.script[0] = r429;
	s.script[1] = r503;
	s.script[2] = r200;
	s.nsteps = 3;
	server_start(&s);

	struct kube_client *c = client_for(s.port, 10);
	struct req_args a = { .c = c, .method = "GET", .path = "/api/v1/configmaps?limit=500" };
	int level = kahu_log_get_level();
	kahu_log_set_level(KAHU_LOG_TRACE);
	char *log = capture_stderr(do_request, &a);
	kahu_log_set_level(level);

	ck_assert_msg(a.rc == 0, "%s", kahu_error_last());
	ck_assert_int_eq(a.resp.status, 200);
	ck_assert_int_eq(a.resp.tries, 3);
	ck_assert_str_eq(a.resp.content_type, "application/json");
	ck_assert(strstr(a.resp.body.data, "ConfigMapList") != NULL);

	/* what the server saw */
	ck_assert_int_eq(s.nrequests, 3);
	ck_assert(starts_with(s.requests[0], "GET /api/v1/configmaps?limit=500 HTTP/1.1\r\n"));
	ck_assert(strstr(s.requests[0], "Authorization: Bearer " TOKEN "\r\n") != NULL);
	ck_assert(strstr(s.requests[0], "User-Agent: kahu/" PACKAGE_VERSION "\r\n") != NULL);
	ck_assert(strstr(s.requests[0], "Accept: application/json\r\n") != NULL);

	/* what the log says: one line per try, the retries and why; never the token */
	ck_assert_msg(strstr(log, "GET http://127.0.0.1:") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "/api/v1/configmaps?limit=500 429, retrying in 0.0s (Retry-After) (try 2/10)"), "%s", log);
	ck_assert_msg(strstr(log, "503, retrying in 0.") && strstr(log, "(backoff) (try 3/10)"), "%s", log);
	ck_assert_msg(strstr(log, "/api/v1/configmaps?limit=500 200 ") != NULL, "%s", log);
	ck_assert_msg(strstr(log, "Retry-After: 0") != NULL, "-vv shows headers: %s", log);
	ck_assert_msg(strstr(log, TOKEN) == NULL, "token in the log: %s", log);
	ck_assert_msg(strstr(log, "cookie-value") == NULL, "cookie in the log: %s", log);
	free(log);

	kube_response_clear(&a.resp);
	kube_client_free(c);
	server_stop(&s);
	free(r429);
	free(r503);
	free(r200);
}
END_TEST

START_TEST(test_http_status_errors)
{
	struct server s = { 0 };
	char *r404 = json_response(404, "Not Found", NULL,
				   "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
				   "\"message\":\"configmaps \\\"nope\\\" not found\",\"reason\":\"NotFound\",\"code\":404}");
	char *r403 = json_response(403, "Forbidden", NULL,
				   "{\"kind\":\"Status\",\"message\":\"secrets is forbidden: User \\\"u\\\" cannot list\"}");
	char *r410 = json_response(410, "Gone", NULL, "{\"kind\":\"Status\",\"reason\":\"Expired\"}");
	char *r409 = json_response(409, "Conflict", NULL, "not json");
	char *r500 = json_response(500, "Internal Server Error", NULL, "{}");
	char *r401 = json_response(401, "Unauthorized", NULL, "{\"kind\":\"Status\",\"message\":\"Unauthorized\"}");
	s.script[0] = r404;
	s.script[1] = r403;
	s.script[2] = r410;
	s.script[3] = r409;
	s.script[4] = r500; /* POST: not retried without Retry-After */
	s.script[5] = r500; /* GET with max_tries 2 */
	s.script[6] = r500;
	s.script[7] = r401; /* static token: invalidate says retrying will not help */
	s.nsteps = 8;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 2);
	struct kube_response resp = { 0 };

	ck_assert_int_eq(kube_request(c, "GET", "/api/v1/namespaces/default/configmaps/nope", NULL,
				      NULL, NULL, 0, 0, &resp), KAHU_ENOTFOUND);
	ck_assert_int_eq(resp.status, 404);
	ck_assert_msg(strstr(kahu_error_last(), "configmaps \"nope\" not found") != NULL, "%s",
		      kahu_error_last());
	ck_assert_int_eq(kube_request(c, "GET", "/api/v1/secrets", NULL, NULL, NULL, 0, 0, &resp),
			 KAHU_EFORBIDDEN);
	ck_assert(strstr(kahu_error_last(), "cannot list") != NULL);
	ck_assert_int_eq(kube_request(c, "GET", "/api/v1/pods?continue=x", NULL, NULL, NULL, 0, 0,
				      &resp), KAHU_EDATA);
	ck_assert_int_eq(resp.status, 410);
	ck_assert(strstr(resp.body.data, "Expired") != NULL);
	ck_assert_int_eq(kube_request(c, "PUT", "/api/v1/x", NULL, "application/json", "{}", 2, 0,
				      &resp), KAHU_ECONFLICT);
	ck_assert(strstr(kahu_error_last(), "409 Conflict") != NULL);
	ck_assert_int_eq(kube_request(c, "POST", "/api/v1/x", NULL, "application/json", "{}", 2, 0,
				      &resp), KAHU_ETEMP);
	ck_assert_int_eq(resp.tries, 1);
	ck_assert_int_eq(kube_request(c, "GET", "/api/v1/x", NULL, NULL, NULL, 0, 0, &resp),
			 KAHU_ETEMP);
	ck_assert_int_eq(resp.tries, 2);
	ck_assert_int_eq(kube_request(c, "GET", "/api/v1/x", NULL, NULL, NULL, 0, 0, &resp),
			 KAHU_EAUTH);
	ck_assert_int_eq(resp.tries, 1);
	ck_assert(strstr(kahu_error_last(), TOKEN) == NULL);
	ck_assert_int_eq(s.nrequests, 8);
	ck_assert(starts_with(s.requests[4], "POST /api/v1/x HTTP/1.1\r\n"));
	ck_assert(strstr(s.requests[4], "Content-Type: application/json\r\n") != NULL);
	ck_assert(strstr(s.requests[4], "\r\n\r\n{}") != NULL);

	kube_response_clear(&resp);
	kube_client_free(c);
	server_stop(&s);
	free(r404);
	free(r403);
	free(r410);
	free(r409);
	free(r500);
	free(r401);
}
END_TEST

START_TEST(test_http_reset)
{
	struct server s = { 0 };
	char *r200 = json_response(200, "OK", NULL, "{\"items\":[]}");
	s.script[0] = "RESET";
	s.script[1] = r200;
	s.script[2] = "RESET"; /* POST: not retried */
	s.script[3] = "RESET"; /* POST marked idempotent: retried */
	s.script[4] = r200;
	s.nsteps = 5;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 3);
	struct kube_response resp = { 0 };

	ck_assert_msg(kube_request(c, "GET", "/api/v1/pods", NULL, NULL, NULL, 0, 0, &resp) == 0,
		      "%s", kahu_error_last());
	ck_assert_int_eq(resp.tries, 2);
	ck_assert_str_eq(resp.body.data, "{\"items\":[]}");
	int rc = kube_request(c, "POST", "/api/v1/x", NULL, "application/json", "{}", 2, 0, &resp);
	ck_assert_msg(rc == KAHU_ETEMP, "%d %s", rc, kahu_error_last());
	ck_assert_int_eq(resp.tries, 1);
	ck_assert_int_eq(kube_request(c, "POST", "/api/v1/x", NULL, "application/json", "{}", 2,
				      KUBE_REQ_IDEMPOTENT, &resp), 0);
	ck_assert_int_eq(resp.tries, 2);
	kube_response_clear(&resp);
	kube_client_free(c);
	server_stop(&s);
	free(r200);
}
END_TEST

START_TEST(test_http_unreachable)
{
	/* a port nobody listens on: bind, note it, close */
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);

	struct kube_client *c = client_for(ntohs(a.sin_port), 10);
	struct kube_response resp = { 0 };
	ck_assert_int_eq(kube_request(c, "GET", "/version", NULL, NULL, NULL, 0, 0, &resp),
			 KAHU_EUNREACHABLE);
	ck_assert_msg(strstr(kahu_error_last(), "cannot reach http://127.0.0.1:") &&
		      strstr(kahu_error_last(), ": connection refused"), "%s", kahu_error_last());
	ck_assert_int_eq(resp.status, 0);
	ck_assert_int_eq(resp.tries, 1);
	kube_response_clear(&resp);
	kube_client_free(c);
}
END_TEST

static void *interrupt_later(void *arg)
{
	(void)arg;
	usleep(200000);
	kahu_cancel(SIGINT);
	return NULL;
}

START_TEST(test_http_interrupt)
{
	struct server s = { 0 };
	char *r429 = json_response(429, "Too Many Requests", "Retry-After: 30\r\n", "{}");
	s.script[0] = r429;
	s.nsteps = 1;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 10);
	struct kube_response resp = { 0 };
	pthread_t t;
	struct timespec t0, t1;

	kahu_cancel_reset();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&t, NULL, interrupt_later, NULL);
	ck_assert_int_eq(kube_request(c, "GET", "/api/v1/pods", NULL, NULL, NULL, 0, 0, &resp),
			 KAHU_EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(t, NULL);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 5);
	/* interrupted: no new request starts */
	ck_assert_int_eq(kube_request(c, "GET", "/api/v1/pods", NULL, NULL, NULL, 0, 0, &resp),
			 KAHU_EINTR);
	ck_assert_int_eq(s.nrequests, 1);
	kahu_cancel_reset();
	kube_response_clear(&resp);
	kube_client_free(c);
	server_stop(&s);
	free(r429);
}
END_TEST

/* Waits until the handle's socket is ready for `events` (CONNECT_ONLY use). */
static void wait_socket(CURL *h, short events)
{
	curl_socket_t sock = CURL_SOCKET_BAD;
	ck_assert_int_eq(curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock), CURLE_OK);
	ck_assert(sock != CURL_SOCKET_BAD);
	struct pollfd p = { .fd = sock, .events = events };
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
}

/* What a connection that is not a plain request (pods/exec over a WebSocket) gets from
 * the transport: a handle for the cluster with the client's credentials, which it may
 * use CONNECT_ONLY, writing the request and conn.headers itself, and give back spent. */
START_TEST(test_transport_connect_only)
{
	struct server s = { 0 };
	s.script[0] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
	char *r200 = json_response(200, "OK", NULL, "{\"major\":\"1\"}");
	s.script[1] = r200;
	s.nsteps = 2;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 1);
	struct kube_transport *t = kube_client_transport(c);
	struct kube_conn conn;
	const char *mine[] = { "X-Probe: yes", NULL };

	/* Each handle given back frees its slot: more than the client's 2 in a row. */
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(kube_transport_open(t, "/version", mine, &conn) == 0, "%s",
			      kahu_error_last());
		kube_transport_discard(t, &conn);
		ck_assert_ptr_null(conn.h);
		ck_assert_ptr_null(conn.headers);
	}

	ck_assert_msg(kube_transport_open(t, "/api/v1/namespaces/default/pods/p/exec", mine,
					  &conn) == 0, "%s", kahu_error_last());
	ck_assert_str_eq(conn.headers->data, "X-Probe: yes");
	struct kbuf req = KBUF_INIT;
	int auth = 0;
	kbuf_adds(&req, "GET /api/v1/namespaces/default/pods/p/exec HTTP/1.1\r\n"
			"Host: 127.0.0.1\r\n");
	for (struct curl_slist *l = conn.headers; l; l = l->next) {
		auth += strcmp(l->data, "Authorization: Bearer " TOKEN) == 0;
		kbuf_adds(&req, l->data);
		kbuf_adds(&req, "\r\n");
	}
	kbuf_adds(&req, "\r\n");
	ck_assert_int_eq(auth, 1);

	curl_easy_setopt(conn.h, CURLOPT_CONNECT_ONLY, 1L);
	ck_assert_int_eq(curl_easy_perform(conn.h), CURLE_OK);
	for (size_t off = 0; off < req.len;) {
		size_t n = 0;
		CURLcode cc = curl_easy_send(conn.h, req.data + off, req.len - off, &n);
		if (cc == CURLE_AGAIN)
			wait_socket(conn.h, POLLOUT);
		else
			ck_assert_int_eq(cc, CURLE_OK);
		off += n;
	}
	struct kbuf got = KBUF_INIT;
	while (!got.data || !strstr(got.data, "\r\n\r\n{}")) {
		char buf[512];
		size_t n = 0;
		CURLcode cc = curl_easy_recv(conn.h, buf, sizeof buf - 1, &n);
		if (cc == CURLE_AGAIN) {
			wait_socket(conn.h, POLLIN);
			continue;
		}
		ck_assert_int_eq(cc, CURLE_OK);
		ck_assert_uint_gt(n, 0);
		kbuf_add(&got, buf, n);
		kbuf_adds(&got, ""); /* keeps it a string */
	}
	ck_assert(starts_with(got.data, "HTTP/1.1 200 OK\r\n"));
	/* Given back spent: its connection closes, so the one-connection server goes on
	 * to the client's next request. */
	kube_transport_discard(t, &conn);

	struct kube_response resp = { 0 };
	ck_assert_msg(kube_request(c, "GET", "/version", NULL, NULL, NULL, 0, 0, &resp) == 0,
		      "%s", kahu_error_last());
	ck_assert_int_eq(resp.status, 200);

	ck_assert_int_eq(s.nrequests, 2);
	ck_assert(starts_with(s.requests[0], "GET /api/v1/namespaces/default/pods/p/exec HTTP/1.1\r\n"));
	ck_assert(strstr(s.requests[0], "\r\nX-Probe: yes\r\n") != NULL);
	ck_assert(strstr(s.requests[0], "\r\nAuthorization: Bearer " TOKEN "\r\n") != NULL);
	ck_assert(starts_with(s.requests[1], "GET /version HTTP/1.1\r\n"));
	ck_assert(strstr(s.requests[1], "\r\nAuthorization: Bearer " TOKEN "\r\n") != NULL);
	ck_assert(strstr(s.requests[1], "X-Probe") == NULL);

	kbuf_free(&req);
	kbuf_free(&got);
	kube_response_clear(&resp);
	kube_client_free(c);
	server_stop(&s);
	free(r200);
}
END_TEST

/* ---- the pager against the scripted server ---------------------------------------- */

struct seen {
	struct kbuf names;
	int fail_at;
	int n;
};

static int collect(void *ud, json_t *item)
{
	struct seen *s = ud;
	const char *name = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
	const char *ns = json_string_value(json_object_get(json_object_get(item, "metadata"), "namespace"));
	kbuf_addf(&s->names, "%s/%s %s %s;", ns ? ns : "-", name ? name : "-",
		  json_string_value(json_object_get(item, "apiVersion")),
		  json_string_value(json_object_get(item, "kind")));
	if (++s->n == s->fail_at)
		return kahu_error_set(KAHU_EIO, "callback failed");
	return 0;
}

#define ITEM(ns, n) "{\"metadata\":{\"namespace\":\"" ns "\",\"name\":\"" n "\"}}"

START_TEST(test_pager_expired)
{
	struct server s = { 0 };
	char *p1 = json_response(200, "OK", NULL,
				 "{\"kind\":\"DeploymentList\",\"apiVersion\":\"apps/v1\",\"metadata\":"
				 "{\"resourceVersion\":\"42\",\"continue\":\"t1\"},\"items\":["
				 ITEM("a", "x") "," ITEM("a", "y") "]}");
	char *e1 = json_response(410, "Gone", NULL,
				 "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Expired\","
				 "\"metadata\":{\"continue\":\"t2\"},\"code\":410}");
	char *p2 = json_response(200, "OK", NULL,
				 "{\"kind\":\"DeploymentList\",\"metadata\":{\"resourceVersion\":\"50\","
				 "\"continue\":\"t3\"},\"items\":[" ITEM("b", "x") "," ITEM("b", "z") "]}");
	char *e2 = json_response(410, "Gone", NULL,
				 "{\"kind\":\"Status\",\"status\":\"Failure\",\"reason\":\"Expired\",\"code\":410}");
	char *full = json_response(200, "OK", NULL,
				   "{\"kind\":\"DeploymentList\",\"metadata\":{\"resourceVersion\":\"60\"},"
				   "\"items\":[" ITEM("a", "x") "," ITEM("a", "y") "," ITEM("a-b", "new") ","
				   ITEM("b", "x") "," ITEM("b", "z") "," ITEM("c", "w") "]}");
	s.script[0] = p1;
	s.script[1] = e1;
	s.script[2] = p2;
	s.script[3] = e2;
	s.script[4] = full;
	s.nsteps = 5;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 3);
	struct kube_resource r = { .group = "apps", .version = "v1", .resource = "deployments",
				   .kind = "Deployment", .namespaced = 1 };
	struct kube_list_opts o = { .label_selector = "app in (a,b)", .page_size = 2 };
	struct kube_list_stats st = { 0 };
	struct seen seen = { KBUF_INIT, 0, 0 };

	ck_assert_msg(kube_list(c, &r, &o, collect, &seen, &st) == 0, "%s", kahu_error_last());
	/* every object once.  a-b/new, created meanwhile, sorts before the last key
	 * handed out (b/z), so it is skipped like any object created behind a paged
	 * list's position. */
	ck_assert_str_eq(seen.names.data,
			 "a/x apps/v1 Deployment;a/y apps/v1 Deployment;b/x apps/v1 Deployment;"
			 "b/z apps/v1 Deployment;c/w apps/v1 Deployment;");
	ck_assert_int_eq(st.items, 5);
	ck_assert_int_eq(st.pages, 3);
	ck_assert_int_eq(st.inconsistent, 1);
	ck_assert_str_eq(st.resource_version, "42");

	ck_assert_int_eq(s.nrequests, 5);
	ck_assert_msg(starts_with(s.requests[0], "GET /apis/apps/v1/deployments?labelSelector=app%20in%20%28a%2Cb%29&limit=2 HTTP"),
		      "%s", s.requests[0]);
	ck_assert(strstr(s.requests[0], "resourceVersion") == NULL);
	ck_assert(strstr(s.requests[1], "&limit=2&continue=t1 HTTP") != NULL);
	ck_assert(strstr(s.requests[2], "&limit=2&continue=t2 HTTP") != NULL);
	ck_assert(strstr(s.requests[3], "&limit=2&continue=t3 HTTP") != NULL);
	ck_assert_msg(starts_with(s.requests[4], "GET /apis/apps/v1/deployments?labelSelector=app%20in%20%28a%2Cb%29 HTTP"),
		      "%s", s.requests[4]);
	kube_list_stats_clear(&st);
	kbuf_free(&seen.names);
	kube_client_free(c);
	server_stop(&s);
	free(p1);
	free(e1);
	free(p2);
	free(e2);
	free(full);
}
END_TEST

START_TEST(test_pager_errors)
{
	struct server s = { 0 };
	char *e410 = json_response(410, "Gone", NULL,
				   "{\"kind\":\"Status\",\"reason\":\"Expired\",\"metadata\":{\"continue\":\"t\"}}");
	char *p1 = json_response(200, "OK", NULL,
				 "{\"kind\":\"ConfigMapList\",\"metadata\":{\"continue\":\"t1\"},\"items\":["
				 ITEM("a", "x") "," ITEM("a", "y") "]}");
	s.script[0] = e410; /* a 410 on the first page is an error */
	s.script[1] = p1;   /* the callback stops the list */
	s.nsteps = 2;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 3);
	struct kube_resource r = { .group = "", .version = "v1", .resource = "configmaps",
				   .kind = "ConfigMap", .namespaced = 1 };
	struct kube_list_opts o = { .namespace = "a", .field_selector = "metadata.name=x" };
	struct kube_list_stats st = { 0 };
	struct seen seen = { KBUF_INIT, 1, 0 };

	ck_assert_int_eq(kube_list(c, &r, &o, collect, &seen, &st), KAHU_EDATA);
	ck_assert(strstr(kahu_error_last(), "listing configmaps") != NULL);
	ck_assert_int_eq(kube_list(c, &r, &o, collect, &seen, &st), KAHU_EIO);
	ck_assert_str_eq(seen.names.data, "a/x v1 ConfigMap;");
	/* (the next page may have been asked for while the callback ran: it is dropped) */
	ck_assert_int_ge(s.nrequests, 2);
	ck_assert_msg(starts_with(s.requests[1], "GET /api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dx&limit=500 HTTP"),
		      "%s", s.requests[1]);
	kube_list_stats_clear(&st);
	kbuf_free(&seen.names);
	kube_client_free(c);
	server_stop(&s);
	free(e410);
	free(p1);
}
END_TEST

/* "HOW n\nRAW" where n is where `marker` starts in raw, plus `after`. */
static char *shaped(const char *how, const char *raw, const char *marker, size_t after)
{
	const char *m = strstr(raw, marker);
	ck_assert_ptr_nonnull(m);
	return xasprintf("%s %zu\n%s", how, (size_t)(m - raw) + after, raw);
}

struct held {
	struct seen seen;
	struct server *s;
	int handed_while_held; /* items the callback got while the server held the page */
	int release_at;        /* release the server at this item (1-based) */
};

static int collect_held(void *ud, json_t *item)
{
	struct held *h = ud;
	int rc = collect(&h->seen, item);
	if (server_holding(h->s))
		h->handed_while_held++;
	if (h->seen.n == h->release_at)
		server_release(h->s);
	return rc;
}

static struct kube_resource configmaps = { .group = "", .version = "v1", .resource = "configmaps",
					   .kind = "ConfigMap", .namespaced = 1 };

START_TEST(test_pager_streams_items)
{
	/* The server sends two items of the page, then holds the rest until the test
	 * releases it: both are handed out while it holds. */
	struct server s = { 0 };
	char *page = json_response(200, "OK", NULL,
				   "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":"
				   "{\"resourceVersion\":\"9\"},\"items\":[" ITEM("a", "x") "," ITEM("a", "y")
				   "," ITEM("b", "z") "]}");
	char *held = shaped("HOLD", page, ITEM("b", "z"), 0);
	s.script[0] = held;
	s.nsteps = 1;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 3);
	struct kube_list_stats st = { 0 };
	struct held h = { { KBUF_INIT, 0, 0 }, &s, 0, 2 };

	ck_assert_msg(kube_list(c, &configmaps, NULL, collect_held, &h, &st) == 0, "%s",
		      kahu_error_last());
	ck_assert_str_eq(h.seen.names.data, "a/x v1 ConfigMap;a/y v1 ConfigMap;b/z v1 ConfigMap;");
	ck_assert_int_eq(h.handed_while_held, 2);
	ck_assert_int_eq(st.items, 3);
	ck_assert_int_eq(st.pages, 1);
	ck_assert_str_eq(st.resource_version, "9");
	kube_list_stats_clear(&st);
	kbuf_free(&h.seen.names);
	kube_client_free(c);
	server_stop(&s);
	free(page);
	free(held);
}
END_TEST

START_TEST(test_pager_stops_while_held)
{
	/* The callback fails while the server holds the page: the list ends without
	 * waiting for the rest. */
	struct server s = { 0 };
	char *page = json_response(200, "OK", NULL,
				   "{\"kind\":\"ConfigMapList\",\"metadata\":{},\"items\":["
				   ITEM("a", "x") "," ITEM("a", "y") "]}");
	char *held = shaped("HOLD", page, ITEM("a", "y"), 0);
	s.script[0] = held;
	s.nsteps = 1;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 3);
	struct seen seen = { KBUF_INIT, 1, 0 };

	ck_assert_int_eq(kube_list(c, &configmaps, NULL, collect, &seen, NULL), KAHU_EIO);
	ck_assert_str_eq(kahu_error_last(), "callback failed");
	ck_assert_int_eq(server_holding(&s), 1);
	server_release(&s);
	kbuf_free(&seen.names);
	kube_client_free(c);
	server_stop(&s);
	free(page);
	free(held);
}
END_TEST

START_TEST(test_pager_resumes_broken_page)
{
	/* The first page breaks in its third item; tried again, it comes from a new
	 * snapshot (a/c2 was created meanwhile); then the second page.  Each object is
	 * handed out once, none is lost. */
	struct server s = { 0 };
	char *p1 = json_response(200, "OK", NULL,
				 "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"5\","
				 "\"continue\":\"t1\"},\"items\":[" ITEM("a", "a") "," ITEM("a", "b") ","
				 ITEM("a", "c") "," ITEM("a", "d") "]}");
	char *cut = shaped("CUT", p1, ITEM("a", "c"), 20);
	char *p1b = json_response(200, "OK", NULL,
				  "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"6\","
				  "\"continue\":\"t1b\"},\"items\":[" ITEM("a", "a") "," ITEM("a", "b") ","
				  ITEM("a", "c") "," ITEM("a", "c2") "]}");
	char *p2 = json_response(200, "OK", NULL,
				 "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"6\"},"
				 "\"items\":[" ITEM("a", "d") "," ITEM("b", "a") "]}");
	s.script[0] = cut;
	s.script[1] = p1b;
	s.script[2] = p2;
	s.nsteps = 3;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 3);
	struct kube_list_opts o = { .page_size = 4 };
	struct kube_list_stats st = { 0 };
	struct seen seen = { KBUF_INIT, 0, 0 };

	ck_assert_msg(kube_list(c, &configmaps, &o, collect, &seen, &st) == 0, "%s",
		      kahu_error_last());
	ck_assert_str_eq(seen.names.data, "a/a v1 ConfigMap;a/b v1 ConfigMap;a/c v1 ConfigMap;"
					  "a/c2 v1 ConfigMap;a/d v1 ConfigMap;b/a v1 ConfigMap;");
	ck_assert_int_eq(st.items, 6);
	ck_assert_int_eq(st.pages, 2);
	ck_assert_int_eq(s.nrequests, 3);
	ck_assert(starts_with(s.requests[0], "GET /api/v1/configmaps?limit=4 HTTP"));
	ck_assert(starts_with(s.requests[1], "GET /api/v1/configmaps?limit=4 HTTP"));
	ck_assert(starts_with(s.requests[2], "GET /api/v1/configmaps?limit=4&continue=t1b HTTP"));
	kube_list_stats_clear(&st);
	kbuf_free(&seen.names);
	kube_client_free(c);
	server_stop(&s);
	free(p1);
	free(cut);
	free(p1b);
	free(p2);
}
END_TEST

START_TEST(test_pager_unordered_not_resumed)
{
	/* A server that does not list in key order cannot be resumed by key. */
	struct server s = { 0 };
	char *p1 = json_response(200, "OK", NULL,
				 "{\"kind\":\"ConfigMapList\",\"metadata\":{},\"items\":["
				 ITEM("b", "x") "," ITEM("a", "y") "," ITEM("c", "z") "]}");
	char *cut = shaped("CUT", p1, ITEM("c", "z"), 5);
	s.script[0] = cut;
	s.script[1] = p1;
	s.nsteps = 2;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 3);
	struct seen seen = { KBUF_INIT, 0, 0 };

	ck_assert_int_eq(kube_list(c, &configmaps, NULL, collect, &seen, NULL), KAHU_EPROTO);
	ck_assert_str_eq(kahu_error_last(), "listing configmaps: page 1 broke off after 2 items, "
					    "and the server does not list in key order "
					    "(namespace/name), so the rest cannot be read without "
					    "repeating or losing items");
	ck_assert_str_eq(seen.names.data, "b/x v1 ConfigMap;a/y v1 ConfigMap;");
	kbuf_free(&seen.names);
	kube_client_free(c);
	server_stop(&s);
	free(p1);
	free(cut);
}
END_TEST

/* One list against one scripted answer: its outcome, message and items. */
static int list_one(const char *answer, const struct kube_resource *r, size_t max_item,
		    char **names)
{
	struct server s = { 0 };
	s.script[0] = answer;
	s.nsteps = 1;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 1);
	struct kube_list_opts o = { .max_item = max_item };
	struct seen seen = { KBUF_INIT, 0, 0 };
	int rc = kube_list(c, r, &o, collect, &seen, NULL);
	*names = seen.names.data ? kbuf_detach(&seen.names) : xstrdup("");
	kube_client_free(c);
	server_stop(&s);
	return rc;
}

static void expect_list_error(const char *body, const struct kube_resource *r, size_t max_item,
			      const char *msg, const char *names)
{
	char *answer = json_response(200, "OK", NULL, body);
	char *got;
	ck_assert_msg(list_one(answer, r, max_item, &got) == KAHU_EPROTO, "%s: %s", body,
		      kahu_error_last());
	ck_assert_str_eq(kahu_error_last(), msg);
	ck_assert_str_eq(got, names);
	free(got);
	free(answer);
}

static void expect_list_ok(const char *body, const struct kube_resource *r, const char *names)
{
	char *answer = json_response(200, "OK", NULL, body);
	char *got;
	ck_assert_msg(list_one(answer, r, 0, &got) == 0, "%s: %s", body, kahu_error_last());
	ck_assert_str_eq(got, names);
	free(got);
	free(answer);
}

START_TEST(test_pager_bad_lists)
{
	struct kube_resource nodes = { .group = "", .version = "v1", .resource = "nodes",
				       .kind = "Node", .namespaced = 0 };
	const char *head = "{\"kind\":\"ConfigMapList\",\"metadata\":{},\"items\":";
	char *body = xasprintf("%s{\"a\":1}}", head);
	char *msg = xasprintf("listing configmaps: page 1: the list's \"items\" is an object, not an "
			      "array (byte %zu)", strlen(head));
	expect_list_error(body, &configmaps, 0, msg, "");
	free(body);
	free(msg);
	body = xasprintf("%s[%s,42]}", head, ITEM("a", "x"));
	msg = xasprintf("listing configmaps: page 1: item 2 is a number, not an object (byte %zu)",
			strlen(head) + 2 + strlen(ITEM("a", "x")));
	expect_list_error(body, &configmaps, 0, msg, "a/x v1 ConfigMap;");
	free(body);
	free(msg);
	/* objects that cannot be named are handed on: the consumer fails each alone */
	expect_list_ok("{\"kind\":\"ConfigMapList\",\"metadata\":{},\"items\":[{\"metadata\":"
		       "{\"namespace\":\"a\"}}," ITEM("a", "x") "]}", &configmaps,
		       "a/- v1 ConfigMap;a/x v1 ConfigMap;");
	expect_list_ok("{\"kind\":\"ConfigMapList\",\"metadata\":{},\"items\":[" ITEM("a", "x") ","
		       "{\"metadata\":{\"name\":\"y\"}}]}", &configmaps,
		       "a/x v1 ConfigMap;-/y v1 ConfigMap;");
	expect_list_error("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
			  "\"Success\"}", &configmaps, 0, "listing configmaps: page 1: the response is "
			  "not a list: \"items\" is missing and the kind is not a list's (kind Status)", "");
	expect_list_error("{\"kind\":\"NodeList\",\"items\":null}", &nodes, 0, "listing nodes: page 1: "
			  "the response is not a list: \"items\" is null and there is no "
			  "\"metadata\" (kind NodeList)", "");
	expect_list_error("{\"kind\":\"NodeList\",\"metadata\":{},\"items\":[{\"metadata\":{\"name\":"
			  "\"n1\"},\"spec\":{\"x\":\"0123456789\"}}]}", &nodes, 40,
			  "listing nodes: page 1: item 1 is larger than 40 bytes", "");
	expect_list_error("{\"kind\":\"NodeList\",\"metadata\":{},\"items\":[]", &nodes, 0,
			  "listing nodes: page 1: the response ends before the list object is "
			  "complete (after 43 bytes)", "");
	expect_list_error("[]", &nodes, 0, "listing nodes: page 1: the response is an array, not a "
			  "JSON object (it begins with '[')", "");
	/* "\u0000" in a value (a Secret's data may hold it) is read */
	expect_list_ok("{\"kind\":\"SecretList\",\"metadata\":{},\"items\":[{\"metadata\":{\"name\":"
		       "\"s\",\"namespace\":\"a\"},\"data\":{\"k\":\"s3cr3t\\u0000\"}}]}", &configmaps,
		       "a/s v1 Secret;");
	/* what jansson refuses of an item is said without quoting it (a Secret's data) */
	expect_list_error("{\"kind\":\"NodeList\",\"metadata\":{},\"items\":[{\"metadata\":{\"name\":"
			  "\"n\"},\"x\":123456789012345678901234567890}]}", &nodes, 0,
			  "listing nodes: page 1: item 1 cannot be read: too big integer (at its byte "
			  "59)", "");

	/* an empty list may say so with a null or missing items */
	char *got;
	char *answer = json_response(200, "OK", NULL, "{\"kind\":\"NodeList\",\"apiVersion\":\"v1\","
				     "\"metadata\":{\"resourceVersion\":\"3\"}}");
	ck_assert_msg(list_one(answer, &nodes, 0, &got) == 0, "%s", kahu_error_last());
	free(answer);
	free(got);
	answer = json_response(200, "OK", NULL, "{\"kind\":\"NodeList\",\"metadata\":{},\"items\":null}");
	ck_assert_msg(list_one(answer, &nodes, 0, &got) == 0, "%s", kahu_error_last());
	free(answer);
	free(got);
	/* an item's kind comes from the list's kind said before the items, else from
	 * discovery */
	answer = json_response(200, "OK", NULL, "{\"items\":[{\"metadata\":{\"name\":\"n1\"}}],"
			       "\"kind\":\"OtherList\",\"metadata\":{}}");
	ck_assert_msg(list_one(answer, &nodes, 0, &got) == 0, "%s", kahu_error_last());
	ck_assert_str_eq(got, "-/n1 v1 Node;");
	free(answer);
	free(got);

	/* a body that ends early without HTTP framing: the scanner sees it */
	const char *cbody = "{\"kind\":\"ConfigMapList\",\"metadata\":{},\"items\":["
			    ITEM("a", "x") "," ITEM("a", "y") "]}";
	char *raw = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			      "Connection: close\r\n\r\n%s", cbody);
	char *closed = shaped("CLOSE", raw, ITEM("a", "y"), 10);
	ck_assert_int_eq(list_one(closed, &configmaps, 0, &got), KAHU_EPROTO);
	char *want = xasprintf("listing configmaps: page 1: the response ends inside item 2 (after "
			       "%zu bytes)", (size_t)(strstr(cbody, ITEM("a", "y")) - cbody) + 10);
	ck_assert_str_eq(kahu_error_last(), want);
	ck_assert_str_eq(got, "a/x v1 ConfigMap;");
	free(got);
	free(want);
	free(raw);
	free(closed);
}
END_TEST

/* kube_list_text: each item's text is the server's bytes, apiVersion and kind
 * inserted first where it lacks them, whitespace outside strings dropped. */
static int collect_text(void *ud, const struct kube_item *it)
{
	struct kbuf *b = ud;
	ck_assert_uint_eq(strlen(it->text), it->len);
	kbuf_add(b, it->text, it->len);
	kbuf_addf(b, " %s|", json_string_value(json_object_get(json_object_get(it->summary,
				"metadata"), "name")));
	return 0;
}

START_TEST(test_pager_text)
{
	static const char body[] =
		"{\n  \"kind\": \"ConfigMapList\",\n  \"apiVersion\": \"v1\",\n  \"metadata\": {},\n"
		"  \"items\": [\n    {\"metadata\":{\"name\":\"a\",\"namespace\":\"n\"},\"data\":"
		"{\"k\":\"\\u003cb\\u003e 1.50\"},\"n\":1.50},\n"
		"    {\n      \"kind\": \"ConfigMap\",\n      \"metadata\": {\"name\": \"b c\", "
		"\"namespace\": \"n\"}\n    },\n"
		"    {\"apiVersion\":null,\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"}}\n  ]\n}\n";
	char *answer = json_response(200, "OK", NULL, body);
	struct server s = { 0 };
	s.script[0] = answer;
	s.nsteps = 1;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 1);
	struct kbuf got = KBUF_INIT;
	ck_assert_msg(kube_list_text(c, &configmaps, NULL, collect_text, &got, NULL) == 0, "%s",
		      kahu_error_last());
	ck_assert_str_eq(kbuf_str(&got),
			 /* as sent, escapes and numbers included; both inserted */
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
			 "\"namespace\":\"n\"},\"data\":{\"k\":\"\\u003cb\\u003e 1.50\"},\"n\":1.50} a|"
			 /* indented: made one line; only apiVersion inserted */
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"b c\","
			 "\"namespace\":\"n\"}} b c|"
			 /* apiVersion that is not a string: written again with it set */
			 "{\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"d\",\"namespace\":\"n\"},"
			 "\"kind\":\"ConfigMap\"} d|");
	kbuf_free(&got);
	kube_client_free(c);
	server_stop(&s);
	free(answer);
}
END_TEST

/* An item larger than the queue's byte bound followed, in the same piece of the body, by a
 * small one: the reader must wake the caller (waiting for the large item) before it
 * waits for room, or both wait for ever. */
static int count_items(void *ud, const struct kube_item *it)
{
	(void)it;
	(*(int *)ud)++;
	return 0;
}

START_TEST(test_pager_large_then_small)
{
	struct kbuf body = KBUF_INIT;
	kbuf_adds(&body, "{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[");
	for (int i = 0; i < 4; i++) {
		kbuf_addf(&body, "%s{\"metadata\":{\"namespace\":\"n\",\"name\":\"big%d\"},\"data\":{\"k\":\"",
			  i ? "," : "", i);
		for (int k = 0; k < 600 * 1024 / 64; k++)
			kbuf_adds(&body, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
		kbuf_adds(&body, "\"}}");
		for (int j = 0; j < 3; j++)
			kbuf_addf(&body, ",{\"metadata\":{\"namespace\":\"n\",\"name\":\"small%d-%d\"}}", i, j);
	}
	kbuf_adds(&body, "]}");
	char *answer = json_response(200, "OK", NULL, kbuf_str(&body));
	struct server s = { 0 };
	s.script[0] = answer;
	s.nsteps = 1;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 1);
	int n = 0;
	ck_assert_msg(kube_list_text(c, &configmaps, NULL, count_items, &n, NULL) == 0, "%s",
		      kahu_error_last());
	ck_assert_int_eq(n, 16);
	kube_client_free(c);
	server_stop(&s);
	free(answer);
	kbuf_free(&body);
}
END_TEST

START_TEST(test_pager_repeated_continue)
{
	struct server s = { 0 };
	char *p1 = json_response(200, "OK", NULL, "{\"kind\":\"ConfigMapList\",\"metadata\":"
				 "{\"continue\":\"t1\"},\"items\":[" ITEM("a", "x") "]}");
	char *p2 = json_response(200, "OK", NULL, "{\"kind\":\"ConfigMapList\",\"metadata\":"
				 "{\"continue\":\"t2\"},\"items\":[" ITEM("a", "y") "]}");
	s.script[0] = p1; /* t1 twice in a row */
	s.script[1] = p1;
	s.script[2] = p1; /* t1, t2, t1: a cycle */
	s.script[3] = p2;
	s.script[4] = p1;
	s.nsteps = 5;
	server_start(&s);
	struct kube_client *c = client_for(s.port, 1);
	struct seen seen = { KBUF_INIT, 0, 0 };

	ck_assert_int_eq(kube_list(c, &configmaps, NULL, collect, &seen, NULL), KAHU_EPROTO);
	ck_assert_str_eq(kahu_error_last(), "listing configmaps: page 2 has the continue token of "
					    "page 1 again: the list would never end");
	ck_assert_int_eq(kube_list(c, &configmaps, NULL, collect, &seen, NULL), KAHU_EPROTO);
	ck_assert_str_eq(kahu_error_last(), "listing configmaps: page 3 has the continue token of "
					    "page 1 again: the list would never end");
	ck_assert_int_eq(s.nrequests, 5);
	kbuf_free(&seen.names);
	kube_client_free(c);
	server_stop(&s);
	free(p1);
	free(p2);
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("helpers");
	tcase_add_test(tc, test_retry_after);
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);
	tc = tcase_create("http");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_http_retries_and_logging);
	tcase_add_test(tc, test_http_status_errors);
	tcase_add_test(tc, test_http_reset);
	tcase_add_test(tc, test_http_unreachable);
	tcase_add_test(tc, test_http_interrupt);
	tcase_add_test(tc, test_transport_connect_only);
	suite_add_tcase(s, tc);
	tc = tcase_create("pager");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pager_expired);
	tcase_add_test(tc, test_pager_errors);
	tcase_add_test(tc, test_pager_streams_items);
	tcase_add_test(tc, test_pager_stops_while_held);
	tcase_add_test(tc, test_pager_resumes_broken_page);
	tcase_add_test(tc, test_pager_unordered_not_resumed);
	tcase_add_test(tc, test_pager_bad_lists);
	tcase_add_test(tc, test_pager_repeated_continue);
	tcase_add_test(tc, test_pager_text);
	tcase_add_test(tc, test_pager_large_then_small);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(client_suite)

/* kahu — fuzz target: LIST responses as the pager reads them (src/kube/pager.c through
 * the HTTP client, src/kube/client.c), end to end: kube_list runs against a small HTTP
 * server in this process that answers each request with the next response of the input.
 *
 * The input is a sequence of responses separated by lines "%%%":
 *
 *     200                              status line (200..599; anything else means 200)
 *     Retry-After: 1                   optional headers: Retry-After, Content-Type
 *                                      an empty line
 *     {"kind":"ConfigMapList",...}     the body, sent as is with its Content-Length
 *     %%%
 *     410
 *
 *     {"kind":"Status","reason":"Expired","metadata":{"continue":"..."}}
 *
 * Requests beyond the last response get a 500.  The client tries each request once, so
 * no input waits for a backoff.  The list is of ConfigMaps (namespaced, core group) or,
 * for inputs of odd length, of Deployments (apps/v1); the callback stops the list (with
 * an error) at an item named "stop".  Whatever the responses, kube_list must end, hand
 * out only objects with apiVersion and kind, and report an error with a message. */
#include "fuzz.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "kube/pager.h"
#include "kube/resource.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#define SEP "\n%%%\n"
#define MAX_RESPONSES 64
#define MAX_CONNS 16

struct response {
	int status;
	char headers[512];
	const char *body;
	size_t len;
};

/* The responses of the current input, handed out in order (guarded by mu). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct response responses[MAX_RESPONSES];
static size_t nresponses, next_response, nrequests;

static int listen_fd = -1;
static struct kube_client *client;

struct conn {
	int fd;
	struct kbuf in;
};

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A complete request head is in c->in: answer it. */
static int answer(struct conn *c)
{
	struct response r = { .status = 500 };
	static const char nomore[] = "{\"kind\":\"Status\",\"status\":\"Failure\","
				     "\"message\":\"no more responses\",\"code\":500}";
	pthread_mutex_lock(&mu);
	nrequests++;
	if (next_response < nresponses)
		r = responses[next_response++];
	else {
		r.body = nomore;
		r.len = sizeof nomore - 1;
	}
	pthread_mutex_unlock(&mu);
	struct kbuf out = KBUF_INIT;
	kbuf_addf(&out, "HTTP/1.1 %d Fuzz\r\nContent-Length: %zu\r\n%s\r\n", r.status, r.len,
		  r.headers);
	kbuf_add(&out, r.body, r.len); /* one write: no small packet waits for an ACK */
	int rc = send_all(c->fd, out.data, out.len);
	kbuf_free(&out);
	return rc;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	kbuf_free(&c->in);
	c->fd = -1;
}

/* One thread serves every connection (curl keeps them alive between requests). */
static void *server(void *arg)
{
	struct conn conns[MAX_CONNS];
	size_t oldest = 0;
	(void)arg;
	for (size_t i = 0; i < MAX_CONNS; i++) {
		conns[i].fd = -1;
		conns[i].in = (struct kbuf)KBUF_INIT;
	}
	for (;;) {
		struct pollfd pfd[MAX_CONNS + 1];
		size_t map[MAX_CONNS + 1], n = 0;
		pfd[n].fd = listen_fd;
		pfd[n++].events = POLLIN;
		for (size_t i = 0; i < MAX_CONNS; i++)
			if (conns[i].fd >= 0) {
				pfd[n].fd = conns[i].fd;
				pfd[n].events = POLLIN;
				map[n++] = i;
			}
		if (poll(pfd, n, -1) < 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			int fd = accept(listen_fd, NULL, NULL);
			if (fd >= 0) {
				size_t slot = MAX_CONNS;
				for (size_t i = 0; i < MAX_CONNS && slot == MAX_CONNS; i++)
					if (conns[i].fd < 0)
						slot = i;
				if (slot == MAX_CONNS) { /* full: drop the oldest */
					slot = oldest;
					oldest = (oldest + 1) % MAX_CONNS;
					conn_close(&conns[slot]);
				}
				conns[slot].fd = fd;
			}
		}
		for (size_t k = 1; k < n; k++) {
			struct conn *c = &conns[map[k]];
			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) || c->fd < 0)
				continue;
			char buf[4096];
			ssize_t got = recv(c->fd, buf, sizeof buf, 0);
			if (got <= 0) {
				conn_close(c);
				continue;
			}
			kbuf_add(&c->in, buf, (size_t)got);
			char *end;
			/* GET requests have no body: a head ends the request. */
			while (c->fd >= 0 && (end = strstr(kbuf_str(&c->in), "\r\n\r\n"))) {
				size_t used = (size_t)(end + 4 - c->in.data);
				if (answer(c) < 0) {
					conn_close(c);
					break;
				}
				memmove(c->in.data, c->in.data + used, c->in.len - used + 1);
				c->in.len -= used;
			}
		}
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	pthread_t th;
	(void)argc;
	(void)argv;

	kahu_log_set_level(-1);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(listen_fd, 64) < 0 || getsockname(listen_fd, (struct sockaddr *)&sa, &sl) < 0)
		abort();
	if (pthread_create(&th, NULL, server, NULL) != 0)
		abort();
	pthread_detach(th);

	struct kube_config *cfg = xcalloc(1, sizeof *cfg);
	cfg->source = xstrdup("fuzz");
	cfg->context_name = xstrdup("fuzz");
	cfg->cluster_name = xstrdup("fuzz");
	cfg->user_name = xstrdup("");
	cfg->namespace = xstrdup("default");
	cfg->server = xasprintf("http://127.0.0.1:%d", ntohs(sa.sin_port));
	struct kube_client_opts o = { .max_requests = 2, .timeout_ms = 10000, .max_tries = 1 };
	if (kube_client_new(cfg, &o, &client) < 0)
		abort();
	kube_config_free(cfg);
	return 0;
}

/* "Name: value" lines of the block head that may be passed on. */
static void take_header(struct response *r, const char *line, size_t len)
{
	static const char *const allowed[] = { "retry-after:", "content-type:" };
	for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) {
		size_t an = strlen(allowed[i]);
		if (len > an && !strncasecmp(line, allowed[i], an)) {
			for (size_t k = 0; k < len; k++)
				if ((unsigned char)line[k] < 0x20 && line[k] != '\t')
					return;
			size_t have = strlen(r->headers);
			if (have + len + 3 < sizeof r->headers)
				snprintf(r->headers + have, sizeof r->headers - have, "%.*s\r\n",
					 (int)len, line);
			return;
		}
	}
}

static void parse_block(struct response *r, const char *p, size_t len)
{
	const char *end = p + len, *nl = memchr(p, '\n', len);
	memset(r, 0, sizeof *r);
	r->status = 0;
	for (const char *q = p; q < (nl ? nl : end) && *q >= '0' && *q <= '9' && r->status < 1000; q++)
		r->status = r->status * 10 + (*q - '0');
	if (r->status < 200 || r->status > 599 || r->status == 204 || r->status == 205 ||
	    r->status == 304)
		r->status = 200;
	if (!nl) {
		r->body = end;
		return;
	}
	p = nl + 1;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (ll == 0 || (ll == 1 && p[0] == '\r')) {
			p = nl ? nl + 1 : end;
			break;
		}
		take_header(r, p, ll);
		p = nl ? nl + 1 : end;
	}
	r->body = p;
	r->len = (size_t)(end - p);
}

struct seen {
	long items;
};

static int item_cb(void *ud, json_t *item)
{
	struct seen *s = ud;
	FUZZ_CHECK(json_is_object(item));
	FUZZ_CHECK(json_is_string(json_object_get(item, "apiVersion")));
	FUZZ_CHECK(json_is_string(json_object_get(item, "kind")));
	s->items++;
	const char *name = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));
	if (name && !strcmp(name, "stop"))
		return kahu_error_set(KAHU_EDATA, "stopped at the item named stop");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct kube_resource cm = { .group = "", .version = "v1", .resource = "configmaps",
				    .kind = "ConfigMap", .namespaced = 1 };
	struct kube_resource deploy = { .group = "apps", .version = "v1",
					.resource = "deployments", .kind = "Deployment",
					.namespaced = 1 };
	struct kube_list_opts o = { .page_size = 2, .label_selector = "app=web" };
	struct kube_list_stats st = { 0 };
	struct seen seen = { 0 };
	size_t n = 0;

	pthread_mutex_lock(&mu);
	while (n < MAX_RESPONSES) {
		const char *s = NULL;
		for (const char *q = p; q + 5 <= end; q++)
			if (!memcmp(q, SEP, 5)) {
				s = q;
				break;
			}
		parse_block(&responses[n++], p, (size_t)((s ? s : end) - p));
		if (!s)
			break;
		p = s + 5;
	}
	nresponses = n;
	next_response = 0;
	nrequests = 0;
	pthread_mutex_unlock(&mu);

	if (size % 4 == 3)
		o.namespace = "shop";
	kahu_error_clear();
	int rc = kube_list(client, size % 2 ? &deploy : &cm, &o, item_cb, &seen, &st);
	if (rc < 0) {
		FUZZ_CHECK(*kahu_error_last());
	} else {
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(st.items == seen.items);
	}
	pthread_mutex_lock(&mu);
	/* Every request is answered before kube_list returns; none beyond the responses
	 * but the one that found them exhausted. */
	FUZZ_CHECK(nrequests <= nresponses + 1);
	FUZZ_CHECK(st.pages <= (long)nrequests);
	nresponses = 0;
	pthread_mutex_unlock(&mu);
	kube_list_stats_clear(&st);
	return 0;
}

/* kahu — the tail of a container's log.  See podlog.h. */
#include "kube/podlog.h"

#include <stdio.h>
#include <string.h>

#include "kube/client.h"
#include "kube/resource.h"
#include "util/err.h"

static int segment_ok(const char *s)
{
	return s && *s && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && strlen(s) <= 253;
}

struct tail_rx {
	struct kbuf *out;
	size_t start, max;
	const struct kube_log_tail *o;
};

static int tail_begin(void *ud, int attempt)
{
	struct tail_rx *t = ud;
	(void)attempt;
	t->out->len = t->start;      /* a retried transfer starts the body again */
	return 0;
}

static int tail_data(void *ud, const char *p, size_t n)
{
	struct tail_rx *t = ud;
	if (t->out->len - t->start + n > t->max)
		return kahu_error_set(KAHU_EDATA, "the log's tail is longer than the %zu bytes asked for",
				      t->max / 2);
	kbuf_add(t->out, p, n);
	return 0;
}

static int tail_cancelled(void *ud)
{
	struct tail_rx *t = ud;
	return t->o->cancelled && t->o->cancelled(t->o->ud);
}

int kube_pod_log_tail(struct kube_client *c, const char *ns, const char *pod,
		      const struct kube_log_tail *o, struct kbuf *out)
{
	if (!segment_ok(ns) || !segment_ok(pod) || (o->container && !segment_ok(o->container)))
		return kahu_error_set(KAHU_EUSAGE, "pods/log: not a namespace, pod or container name");
	if (o->tail_lines < 1 || o->limit_bytes < 1)
		return kahu_error_set(KAHU_EUSAGE, "pods/log: tailLines and limitBytes must be positive");
	struct kbuf path = KBUF_INIT;
	char num[32];
	kbuf_adds(&path, "/api/v1/namespaces/");
	kube_pct_encode(&path, ns);
	kbuf_adds(&path, "/pods/");
	kube_pct_encode(&path, pod);
	kbuf_adds(&path, "/log");
	if (o->container)
		kube_query_add(&path, "container", o->container);
	snprintf(num, sizeof num, "%ld", o->tail_lines);
	kube_query_add(&path, "tailLines", num);
	snprintf(num, sizeof num, "%ld", o->limit_bytes);
	kube_query_add(&path, "limitBytes", num);
	struct tail_rx t = { out, out->len, (size_t)o->limit_bytes * 2, o };
	struct kube_stream s = { .begin = tail_begin, .data = tail_data, .cancelled = tail_cancelled, .ud = &t };
	struct kube_response r = { 0 };
	/* the body is text; a Status (JSON) when refused */
	int rc = kube_request_stream(c, path.data, "text/plain, application/json, */*", o->flags, &s, &r);
	kube_response_clear(&r);
	kbuf_free(&path);
	if (rc < 0)
		out->len = t.start;
	return rc;
}

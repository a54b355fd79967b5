/* kahu — the tail of a container's log (GET pods/NAME/log), small by construction. */
#ifndef KAHU_KUBE_PODLOG_H
#define KAHU_KUBE_PODLOG_H

#include "util/buf.h"

struct kube_client;

struct kube_log_tail {
	const char *container;   /* NULL: the pod's only container */
	long tail_lines;         /* tailLines: the last N lines (>= 1) */
	long limit_bytes;        /* limitBytes (>= 1): the server sends at most about this
				    much (of the tail's start); more than twice this received
				    ends the transfer (KAHU_EDATA) */
	unsigned flags;          /* kube_request flags, e.g. KUBE_REQ_NO_RETRY */
	/* polled during the transfer (may be NULL): non-zero ends it (KAHU_EINTR) */
	int (*cancelled)(void *ud);
	void *ud;
};

/* The tail of the log of `pod` in `ns` into `out` (appended).  Namespace, pod and
 * container are checked as path segments (empty, ".", ".." or longer than 253 bytes:
 * KAHU_EUSAGE).  Errors as kube_request: KAHU_EFORBIDDEN (403: no `get` on pods/log),
 * KAHU_ENOTFOUND (the pod is gone), KAHU_EDATA (400: e.g. its container is not
 * started yet), ... */
int kube_pod_log_tail(struct kube_client *c, const char *ns, const char *pod,
		      const struct kube_log_tail *o, struct kbuf *out);

#endif

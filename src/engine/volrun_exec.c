/* kahu — pods/exec (kube/exec.h) as the volume data core's ops (voldata.h). */
#include "engine/volrun.h"

#include <stdlib.h>
#include <string.h>

#include "engine/voldata.h"
#include "kube/exec.h"
#include "util/err.h"
#include "util/mem.h"

static int kx_start(void *ctx, const char *const *argv, bool want_stdin, void **h)
{
	const struct vol_kube_target *t = ctx;
	struct kube_exec_opts o = {
		.namespace_ = t->namespace_, .pod = t->pod, .container = t->container,
		.argv = argv, .stdin_ = want_stdin,
		.idle_timeout_ms = t->idle_timeout_ms > 0 ? t->idle_timeout_ms : 120000,
	};
	struct kube_exec *x = NULL;
	int rc = kube_exec_open(t->kc, &o, &x);
	if (rc < 0)
		return rc;
	*h = x;
	return 0;
}

static int kx_read(void *h, void *buf, size_t len, size_t *got)
{
	return kube_exec_read(h, buf, len, got);
}

static int kx_write(void *h, const void *buf, size_t len)
{
	return kube_exec_write(h, buf, len);
}

static int kx_close_stdin(void *h)
{
	return kube_exec_close_stdin(h);
}

static int kx_finish(void *h, int *exit_code)
{
	int rc = kube_exec_finish(h, exit_code);
	kube_exec_free(h);
	return rc;
}

static const char *kx_stderr_tail(void *h)
{
	return kube_exec_stderr_tail(h);
}

static bool kx_can_close_stdin(void *h)
{
	return kube_exec_can_half_close(h);
}

static bool kx_ended(void *h)
{
	return kube_exec_ended(h);
}

static void kx_abort(void *h)
{
	kube_exec_free(h);
}

const struct vol_exec_ops vol_kube_exec_ops = {
	.start = kx_start,
	.read = kx_read,
	.write = kx_write,
	.close_stdin = kx_close_stdin,
	.finish = kx_finish,
	.stderr_tail = kx_stderr_tail,
	.abort = kx_abort,
	.can_close_stdin = kx_can_close_stdin,
	.ended = kx_ended,
};

int vol_kube_probe_tools(const struct vol_kube_target *t)
{
	static const char *const argv[] = {
		"sh", "-c", "for t in find stat sort xargs tar; do command -v $t >/dev/null || "
		"{ echo \"no $t\" >&2; exit 127; }; done", NULL
	};
	void *h = NULL;
	int code = -1;
	int rc = kx_start((void *)t, argv, false, &h);
	if (rc == 0)
		rc = kx_finish(h, &code);
	if (rc < 0)
		return kahu_error_wrap(rc, "container %s of pod %s/%s cannot run the file copy",
				       t->container ? t->container : "(default)", t->namespace_, t->pod);
	if (code != 0)
		return kahu_error_set(KAHU_EFAIL, "container %s of pod %s/%s lacks a tool the file copy "
				      "needs (exit %d)", t->container ? t->container : "(default)",
				      t->namespace_, t->pod, code);
	return 0;
}

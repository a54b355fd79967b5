/* kahu __exec: runs a command in a container through pods/exec (kube/exec.c), copying
 * standard input, output and error, and exits with the command's exit status.  Hidden
 * (not in help, man pages or completions): for the tests and for operators checking
 * what kahu's volume transfers would see in a container. */
#include "cmd/ctx.h"
#include "kube/exec.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/fileio.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (256u * 1024)

static int to_stdout(const void *p, size_t n)
{
	if (kahu_write_all(STDOUT_FILENO, p, n) < 0)
		return kahu_error_set(KAHU_EIO, "cannot write to standard output: %s",
				      strerror(errno));
	return 0;
}

/* What is already received of stdout goes out before more stdin is sent. */
static int drain_ready(struct kube_exec *x, char *buf)
{
	while (kube_exec_ready(x)) {
		size_t got;
		int rc = kube_exec_read(x, buf, CHUNK, &got);
		if (rc < 0)
			return rc;
		if (!got)
			break;
		if ((rc = to_stdout(buf, got)) < 0)
			return rc;
	}
	return 0;
}

/* The command ended before it read all of its input (kube_exec_write's KAHU_EFAIL):
 * the rest of stdin is not needed; its exit status says how it went. */
static int input_done(struct kube_exec *x, int rc)
{
	if (rc == KAHU_EFAIL && kube_exec_ended(x)) {
		kahu_error_clear();
		return 1;
	}
	return rc;
}

static int copy_stdin(struct kube_exec *x, char *in, char *out, bool write_all)
{
	int rc;
	for (;;) {
		if (kahu_cancelled())
			return kahu_error_set(KAHU_EINTR, "interrupted");
		ssize_t n = read(STDIN_FILENO, in, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return kahu_error_set(KAHU_EIO, "cannot read standard input: %s",
					      strerror(errno));
		if (n == 0)
			return kube_exec_close_stdin(x);
		if (write_all) {
			/* The whole chunk, stdout kept meanwhile (what a restore does). */
			if ((rc = kube_exec_write(x, in, (size_t)n)) < 0)
				return input_done(x, rc) > 0 ? 0 : rc;
			if ((rc = drain_ready(x, out)) < 0)
				return rc;
			continue;
		}
		for (size_t off = 0; off < (size_t)n;) {
			size_t w;
			if ((rc = kube_exec_write_some(x, in + off, (size_t)n - off, &w)) < 0)
				return input_done(x, rc) > 0 ? 0 : rc;
			off += w;
			if ((rc = drain_ready(x, out)) < 0)
				return rc;
		}
	}
}

static int run_internal_exec(struct kahu_ctx *ctx)
{
	const struct strv *args = &ctx->inv->args;
	struct kube_exec_opts o = {
		.namespace_ = args->v[0],
		.pod = args->v[1],
		.container = inv_str(ctx->inv, OPT_EXEC_CONTAINER),
		.argv = (const char *const *)args->v + 2,
		.stdin_ = inv_count(ctx->inv, OPT_EXEC_STDIN) > 0,
		.flags = inv_count(ctx->inv, OPT_EXEC_V4) ? KUBE_EXEC_V4_ONLY : 0,
	};
	struct kube_exec *x = NULL;
	char *buf = NULL, *in = NULL;
	int rc, code = 0;

	/* --request-timeout, when given, is how long the stream may stay silent. */
	long idle_s = 0;
	if (inv_count(ctx->inv, OPT_REQUEST_TIMEOUT) &&
	    (rc = inv_long(ctx->inv, OPT_REQUEST_TIMEOUT, 1, 86400, &idle_s)) < 0)
		return rc;
	o.idle_timeout_ms = (int)(idle_s * 1000);
	if ((rc = kube_exec_open(ctx->kc, &o, &x)) < 0)
		return rc;
	kube_exec_set_stderr_fd(x, STDERR_FILENO);
	buf = malloc(CHUNK);
	in = malloc(CHUNK);
	if (!buf || !in) {
		rc = kahu_error_set(KAHU_ENOMEM, "out of memory");
		goto out;
	}
	if (o.stdin_ && (rc = copy_stdin(x, in, buf, inv_count(ctx->inv, OPT_EXEC_WRITE_ALL) > 0)) < 0)
		goto out;
	for (;;) {
		size_t got;
		if ((rc = kube_exec_read(x, buf, CHUNK, &got)) < 0)
			goto out;
		if (!got)
			break;
		if ((rc = to_stdout(buf, got)) < 0)
			goto out;
	}
	if ((rc = kube_exec_finish(x, &code)) < 0)
		goto out;
	/* An exit status of 0 from the command is the process's 0; others pass through. */
	ctx->exit_status = code;
out:
	kube_exec_free(x);
	free(buf);
	free(in);
	return rc;
}

static const struct kahu_opt exec_opts[] = {
	OPTION(EXEC_CONTAINER, 'c', "NAME", "the container (default: the pod's default)", NULL, OPTF_HIDDEN, NULL),
	OPTION(EXEC_STDIN, 'i', NULL, "pass standard input to the command", NULL, OPTF_HIDDEN, NULL),
	OPTION(EXEC_V4, 0, NULL, "offer v4.channel.k8s.io only", NULL, OPTF_HIDDEN, NULL),
	OPTION(EXEC_WRITE_ALL, 0, NULL, "send each chunk of stdin whole, keeping stdout meanwhile", NULL, OPTF_HIDDEN, NULL),
	OPT_END,
};

const struct kahu_cmd cmd_internal_exec_entry = {
	.name = "__exec",
	.args = "NAMESPACE POD -- COMMAND [ARG...]",
	.min_args = 3,
	.max_args = -1,
	.summary = "run a command in a container through pods/exec (for tests and debugging)",
	.opts = exec_opts,
	.run = run_internal_exec,
	.flags = CMD_HIDDEN | CMD_CLUSTER,
};

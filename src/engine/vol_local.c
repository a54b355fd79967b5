/* kahu — vol_exec_ops on this machine (fork/exec).  See vol_local.h. */
#include "engine/vol_local.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fileio.h"
#include "util/mem.h"

struct local_h {
	struct vol_local *cfg;
	pid_t pid;
	int in_fd, out_fd, err_fd;
	uint64_t out_bytes;
	bool cut;          /* this command's stdout is cut at cfg->cut_after */
	char tail[4096];
};

static int l_start(void *ctx, const char *const *argv, bool want_stdin, void **hp)
{
	struct vol_local *cfg = ctx;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char *errpath = NULL;
	struct local_h *h = xcalloc(1, sizeof *h);
	h->cfg = cfg;
	h->in_fd = h->out_fd = h->err_fd = -1;
	signal(SIGPIPE, SIG_IGN);

	if (cfg->cut_after && (cfg->cut_every || cfg->cuts == 0)) {
		h->cut = true;
		if (cfg->only_argv0_containing) {
			h->cut = false;
			for (const char *const *a = argv; *a; a++)
				if (strstr(*a, cfg->only_argv0_containing))
					h->cut = true;
		}
	}
	if ((want_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0)
		goto fail;
	h->err_fd = kahu_tmpfile(NULL, "kahu-vol-err-", "a command's stderr", 1, &errpath);
	if (h->err_fd < 0) {
		int rc = h->err_fd;
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			close(out[i]);
		}
		free(h);
		return rc;
	}
	pid_t pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		dup2(want_stdin ? in[0] : devnull, 0);
		dup2(out[1], 1);
		dup2(h->err_fd, 2);
		signal(SIGPIPE, SIG_DFL);
		if (cfg->path_env)
			setenv("PATH", cfg->path_env, 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	h->pid = pid;
	if (want_stdin) {
		close(in[0]);
		h->in_fd = in[1];
	}
	close(out[1]);
	h->out_fd = out[0];
	*hp = h;
	return 0;
fail:
	{
		int e = errno;
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		if (h->err_fd >= 0)
			close(h->err_fd);
		free(h);
		return kahu_error_set(KAHU_EIO, "cannot start %s: %s", argv[0], strerror(e));
	}
}

static int l_read(void *hp, void *buf, size_t len, size_t *got)
{
	struct local_h *h = hp;
	*got = 0;
	if (h->cut && h->out_bytes >= h->cfg->cut_after) {
		h->cfg->cuts++;
		h->cut = false;
		return kahu_error_set(KAHU_EIO, "exec stream broken after %" PRIu64 " bytes", h->out_bytes);
	}
	if (h->cut && len > h->cfg->cut_after - h->out_bytes)
		len = (size_t)(h->cfg->cut_after - h->out_bytes);
	ssize_t n;
	do
		n = read(h->out_fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return kahu_error_set(KAHU_EIO, "reading a command's output: %s", strerror(errno));
	h->out_bytes += (uint64_t)n;
	*got = (size_t)n;
	return 0;
}

static int l_write(void *hp, const void *buf, size_t len)
{
	struct local_h *h = hp;
	if (h->in_fd < 0)
		return kahu_error_set(KAHU_EINTERNAL, "write to a command without stdin");
	if (kahu_write_all(h->in_fd, buf, len) < 0)
		return kahu_error_set(KAHU_EIO, "writing to a command: %s", strerror(errno));
	return 0;
}

static int l_close_stdin(void *hp)
{
	struct local_h *h = hp;
	if (h->cfg->no_half_close)
		return 0;
	if (h->in_fd >= 0)
		close(h->in_fd);
	h->in_fd = -1;
	return 0;
}

static bool l_can_close_stdin(void *hp)
{
	struct local_h *h = hp;
	return !h->cfg->no_half_close;
}

static const char *l_stderr_tail(void *hp)
{
	struct local_h *h = hp;
	off_t end = lseek(h->err_fd, 0, SEEK_END);
	off_t start = end > (off_t)sizeof h->tail - 1 ? end - (off_t)sizeof h->tail + 1 : 0;
	ssize_t n = pread(h->err_fd, h->tail, (size_t)(end - start), start);
	h->tail[n > 0 ? n : 0] = 0;
	size_t l = strlen(h->tail);
	while (l > 0 && h->tail[l - 1] == '\n')
		h->tail[--l] = 0;
	return h->tail;
}

static void l_free(struct local_h *h)
{
	if (h->in_fd >= 0)
		close(h->in_fd);
	if (h->out_fd >= 0)
		close(h->out_fd);
	if (h->err_fd >= 0)
		close(h->err_fd);
	free(h);
}

static int l_finish(void *hp, int *exit_code)
{
	struct local_h *h = hp;
	char buf[4096];
	int st = 0;
	l_close_stdin(h);
	while (read(h->out_fd, buf, sizeof buf) > 0)
		;
	while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
		;
	*exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	l_free(h);
	return 0;
}

static void l_abort(void *hp)
{
	struct local_h *h = hp;
	int st;
	kill(h->pid, SIGKILL);
	while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
		;
	l_free(h);
}

const struct vol_exec_ops vol_local_ops = {
	.start = l_start,
	.read = l_read,
	.write = l_write,
	.close_stdin = l_close_stdin,
	.finish = l_finish,
	.stderr_tail = l_stderr_tail,
	.abort = l_abort,
	.can_close_stdin = l_can_close_stdin,
};

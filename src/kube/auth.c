/* kahu — request credentials.
 *
 * One mutex guards everything: kube_auth_get is cheap (copies a few strings) except
 * when a token file changed or an exec plugin must run, and then the other threads
 * must wait for the new credential anyway.  Holding the lock while the plugin runs is
 * what guarantees that only one thread runs it.
 *
 * Secrets (tokens, keys, passwords, the plugin's output) are zeroed when freed and
 * never put into messages. */
#include "kube/auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "kube/kubeconfig.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "util/strv.h"

#define TOKEN_FILE_MAX (1u << 20)
#define EXPIRY_MARGIN 10 /* seconds: refresh a credential this close to its expiry */

/* What an exec plugin returned. */
struct exec_cred {
	char *token;
	struct kbuf cert, key;       /* PEM */
	time_t expires;              /* 0 = none */
};

struct exec_plugin;
static int exec_new(const struct kube_config *cfg, struct exec_plugin **out);
static void exec_set_timeout(struct exec_plugin *x, long ms);
static int exec_run(struct exec_plugin *x, struct exec_cred *out);
static void exec_free(struct exec_plugin *x);

static void exec_cred_clear(struct exec_cred *c)
{
	free_secret_str(c->token);
	kbuf_free(&c->cert);
	kbuf_free_secret(&c->key);
	memset(c, 0, sizeof *c);
}

struct kube_auth {
	pthread_mutex_t mu;
	char *user;                  /* user name, for messages */

	/* static */
	char *token;
	struct kbuf cert, key;       /* PEM */
	char *username, *password;

	/* token file */
	char *token_file;
	char *file_token;
	struct stat file_st;         /* of the version we read */
	struct timespec file_checked;
	long recheck_s;
	int file_force;              /* check at the next get (after a 401) */

	/* exec plugin */
	struct exec_plugin *exec;
	struct exec_cred xc;         /* cached result */
	int xc_valid;
	unsigned long serial;        /* bumped whenever the credential changes */
};

/* ---- files ---- */

static int same_version(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Read a whole (small) file into `out`, sized up front so a secret is never left in
 * a buffer freed by realloc.  `what` names it in messages. */
static int read_secret_file(const char *path, const char *what, size_t max, struct kbuf *out,
			    struct stat *st_out)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO must not stall the open (refused below as not a regular
	 * file); reads of a regular file ignore the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO,
				      "cannot open %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		int e = errno;
		close(fd);
		if (S_ISDIR(st.st_mode))
			e = EISDIR;
		else if ((size_t)st.st_size > max)
			e = EFBIG;
		return kahu_error_set(KAHU_EIO, "cannot read %s %s: %s", what, path, strerror(e));
	}
	kbuf_grow(out, (size_t)st.st_size + 1);
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, out->data + n, out->cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			close(fd);
			kbuf_free_secret(out);
			return kahu_error_set(KAHU_EIO, "cannot read %s %s: %s", what, path,
					      strerror(e));
		}
		if (k == 0 || n + (size_t)k == out->cap - 1) {
			n += (size_t)k;
			break; /* a file that grew while we read it: take what fits */
		}
		n += (size_t)k;
	}
	close(fd);
	out->len = n;
	out->data[n] = '\0';
	if (st_out)
		*st_out = st;
	return 0;
}

static int looks_like_pem(const struct kbuf *b)
{
	return b->data && strstr(b->data, "-----BEGIN ") != NULL;
}

static char *trimmed_token(struct kbuf *b)
{
	size_t s = 0, e = b->len;
	while (s < e && strchr(" \t\r\n", b->data[s]))
		s++;
	while (e > s && strchr(" \t\r\n", b->data[e - 1]))
		e--;
	return e > s ? xstrndup(b->data + s, e - s) : NULL;
}

/* A bearer token becomes the value of an Authorization header: a control character (a
 * line break above all) would end that header and start others.  Tabs are allowed in
 * header values; nothing else below 0x20, nor DEL (as Go's HTTP client checks). */
static int has_header_ctl(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return 1;
	return 0;
}

/* Read the token file; on success replaces a->file_token. */
static int token_file_read(struct kube_auth *a)
{
	struct kbuf b = KBUF_INIT;
	struct stat st;
	int r = read_secret_file(a->token_file, "token file", TOKEN_FILE_MAX, &b, &st);
	if (r < 0)
		return r;
	char *t = trimmed_token(&b);
	kbuf_free_secret(&b);
	if (!t)
		return kahu_error_set(KAHU_EAUTH, "token file %s is empty", a->token_file);
	if (has_header_ctl(t)) {
		free_secret_str(t);
		return kahu_error_set(KAHU_EAUTH, "token file %s: the token contains a control "
				      "character (a token is one line)", a->token_file);
	}
	free_secret_str(a->file_token);
	a->file_token = t;
	a->file_st = st;
	a->serial++;
	return 0;
}

static long elapsed_s(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - since->tv_sec);
}

/* Projected service-account tokens rotate: re-read the file when it changed, looking
 * at most once every recheck_s seconds.  A failed re-read keeps the old token. */
static void token_file_refresh(struct kube_auth *a)
{
	struct stat st;
	if (!a->file_force && a->file_token && elapsed_s(&a->file_checked) < a->recheck_s)
		return;
	a->file_force = 0;
	clock_gettime(CLOCK_MONOTONIC, &a->file_checked);
	if (stat(a->token_file, &st) == 0 && a->file_token && same_version(&st, &a->file_st))
		return;
	if (token_file_read(a) < 0) {
		if (a->file_token)
			log_warn("%s, keeping the token read before", kahu_error_last());
	} else {
		log_debug("re-read token file %s", a->token_file);
	}
}

/* ---- exec credential plugins ---- */

#define EXEC_OUT_MAX (1u << 20)   /* a credential is a few KiB */
#define EXEC_ERR_MAX (64u << 10)
#define EXEC_TIMEOUT_MS 60000L
#define EXEC_TIMEOUT_INTERACTIVE_MS 300000L /* a person may be typing a password */

struct exec_plugin {
	char *user;
	char *api_version;
	char *command;
	struct strv args;
	struct strv env;             /* NAME=VALUE (values may be secrets) */
	char *mode;                  /* Never, IfAvailable, Always */
	char *install_hint;
	json_t *cluster;             /* spec.cluster when provideClusterInfo, else NULL */
	long timeout_ms;             /* 0 = the default for the mode */
};

static char *b64_encode(const char *p, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = xmalloc(len);
	sodium_bin2base64(s, len, (const unsigned char *)p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* spec.cluster for KUBERNETES_EXEC_INFO (client.authentication.k8s.io Cluster). */
static int exec_cluster_info(const struct kube_config *cfg, json_t **out)
{
	json_t *c = json_object();
	json_object_set_new(c, "server", json_string(cfg->server ? cfg->server : ""));
	if (cfg->tls_server_name)
		json_object_set_new(c, "tls-server-name", json_string(cfg->tls_server_name));
	if (cfg->insecure_skip_tls_verify)
		json_object_set_new(c, "insecure-skip-tls-verify", json_true());
	if (cfg->proxy_url)
		json_object_set_new(c, "proxy-url", json_string(cfg->proxy_url));

	struct kbuf ca = KBUF_INIT;
	const struct kbuf *cap = &cfg->ca_data;
	if (cfg->ca_file) {
		int fd = open(cfg->ca_file, O_RDONLY | O_CLOEXEC);
		char tmp[8192];
		ssize_t k;
		if (fd < 0) {
			json_decref(c);
			return kahu_error_set(KAHU_EIO, "cannot open certificate authority %s: %s",
					      cfg->ca_file, strerror(errno));
		}
		while ((k = read(fd, tmp, sizeof tmp)) > 0 && ca.len < (4u << 20))
			kbuf_add(&ca, tmp, (size_t)k);
		close(fd);
		cap = &ca;
	}
	if (cap->len) {
		char *b = b64_encode(cap->data, cap->len);
		json_object_set_new(c, "certificate-authority-data", json_string(b));
		free(b);
	}
	kbuf_free(&ca);
	*out = c;
	return 0;
}

static int exec_new(const struct kube_config *cfg, struct exec_plugin **out)
{
	const struct kube_exec_config *e = cfg->exec;
	struct exec_plugin *x = xcalloc(1, sizeof *x);
	int r;

	x->user = xstrdup(cfg->user_name ? cfg->user_name : "");
	x->api_version = xstrdup(e->api_version ? e->api_version
						: "client.authentication.k8s.io/v1");
	x->command = xstrdup(e->command);
	for (size_t i = 0; i < e->args.n; i++)
		strv_push(&x->args, e->args.v[i]);
	for (size_t i = 0; i < e->env.n; i++)
		strv_push(&x->env, e->env.v[i]);
	x->mode = xstrdup(e->interactive_mode ? e->interactive_mode : "IfAvailable");
	x->install_hint = xstrdup(e->install_hint);
	if (e->provide_cluster_info && (r = exec_cluster_info(cfg, &x->cluster)) < 0) {
		exec_free(x);
		return r;
	}
	*out = x;
	return 0;
}

static void exec_set_timeout(struct exec_plugin *x, long ms)
{
	x->timeout_ms = ms;
}

static void exec_free(struct exec_plugin *x)
{
	if (!x)
		return;
	free(x->user);
	free(x->api_version);
	free(x->command);
	strv_free(&x->args);
	for (size_t i = 0; i < x->env.n; i++)
		sodium_memzero(x->env.v[i], strlen(x->env.v[i]));
	strv_free(&x->env);
	free(x->mode);
	free(x->install_hint);
	json_decref(x->cluster);
	free(x);
}

static size_t env_name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');
	return eq ? (size_t)(eq - kv) : strlen(kv);
}

/* The current environment, minus what the kubeconfig overrides, plus its env and
 * KUBERNETES_EXEC_INFO.  Only the pointer array and the added strings are owned. */
static char **exec_envp(const struct exec_plugin *x, int interactive, char **info_out)
{
	size_t n = 0;
	for (char **e = environ; e && *e; e++)
		n++;
	char **v = xcalloc(n + x->env.n + 2, sizeof *v);
	size_t k = 0;
	for (char **e = environ; e && *e; e++) {
		size_t len = env_name_len(*e);
		int skip = len == strlen("KUBERNETES_EXEC_INFO") &&
			   !strncmp(*e, "KUBERNETES_EXEC_INFO", len);
		for (size_t i = 0; !skip && i < x->env.n; i++)
			skip = env_name_len(x->env.v[i]) == len && !strncmp(*e, x->env.v[i], len);
		if (!skip)
			v[k++] = *e;
	}
	for (size_t i = 0; i < x->env.n; i++)
		v[k++] = x->env.v[i];

	json_t *spec = json_pack("{s:b}", "interactive", interactive);
	if (x->cluster)
		json_object_set(spec, "cluster", x->cluster);
	json_t *info = json_pack("{s:s, s:s, s:o}", "apiVersion", x->api_version,
				 "kind", "ExecCredential", "spec", spec);
	char *js = json_dumps(info, JSON_COMPACT);
	json_decref(info);
	*info_out = xasprintf("KUBERNETES_EXEC_INFO=%s", js ? js : "{}");
	free(js);
	v[k++] = *info_out;
	v[k] = NULL;
	return v;
}

/* Append to a buffer that holds a secret: grow by copying and zeroing, never by
 * realloc, so no stray copy of the token is left in freed memory. */
static void secret_add(struct kbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = xmalloc(cap);
		if (b->len)
			memcpy(d, b->data, b->len);
		if (b->data)
			free_secret(b->data, b->cap);
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* First non-empty line of the plugin's stderr, trimmed and shortened. */
static char *first_line(const struct kbuf *b)
{
	const char *p = kbuf_str(b);
	for (;;) {
		while (*p && strchr(" \t\r\n", *p))
			p++;
		if (!*p)
			return NULL;
		size_t n = strcspn(p, "\r\n");
		while (n > 0 && strchr(" \t", p[n - 1]))
			n--;
		if (n > 300)
			n = 300;
		char *s = xstrndup(p, n);
		for (char *c = s; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		return s;
	}
}

struct exec_result {
	struct kbuf out;             /* stdout (secret) */
	struct kbuf err;             /* stderr when captured */
	int status;                  /* from waitpid */
	int timed_out;
	int too_big;
};

/* Read both pipes until EOF, the deadline or too much output; then reap. */
static void exec_collect(pid_t pid, int own_group, int out_fd, int err_fd, long deadline,
			 struct exec_result *res)
{
	struct pollfd p[2];
	char tmp[8192];

	p[0] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = err_fd, .events = POLLIN };
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		long left = deadline - now_ms();
		if (left <= 0) {
			res->timed_out = 1;
			break;
		}
		int k = poll(p, 2, (int)(left > 1000 ? 1000 : left));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			ssize_t n = read(p[i].fd, tmp, sizeof tmp);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				continue;
			}
			if (i == 0) {
				if (res->out.len + (size_t)n > EXEC_OUT_MAX) {
					res->too_big = 1;
					goto stop;
				}
				secret_add(&res->out, tmp, (size_t)n);
			} else if (res->err.len < EXEC_ERR_MAX) {
				kbuf_add(&res->err, tmp, (size_t)n);
			}
		}
	}
stop:
	sodium_memzero(tmp, sizeof tmp);
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	if (!res->timed_out && !res->too_big) {
		/* output closed: the plugin is exiting; give it until the deadline */
		for (;;) {
			pid_t w = waitpid(pid, &res->status, WNOHANG);
			if (w == pid)
				return;
			if (w < 0 && errno != EINTR) {
				res->status = -1;
				return;
			}
			if (now_ms() >= deadline) {
				res->timed_out = 1;
				break;
			}
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	kill(own_group ? -pid : pid, SIGKILL);
	while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
		;
}

/* RFC 3339 as client-go writes it; a space for the 'T' is tolerated. */
static int parse_rfc3339(const char *s, time_t *out)
{
	int64_t t;
	if (kahu_time_parse(s, KAHU_TIME_SPACE, &t) < 0 || (int64_t)(time_t)t != t)
		return -1;
	*out = (time_t)t;
	return 0;
}

static void json_wipe_string(json_t *s)
{
	if (json_is_string(s))
		sodium_memzero((char *)json_string_value(s), json_string_length(s));
}

/* Parse the plugin's output.  Values that may be secrets are never echoed. */
static int exec_parse(const struct exec_plugin *x, const struct kbuf *outb,
		      struct exec_cred *cred)
{
	json_error_t jerr;
	int r = 0;
	json_t *root = json_loadb(kbuf_str(outb), outb->len, JSON_REJECT_DUPLICATES, &jerr);
	sodium_memzero(jerr.text, sizeof jerr.text); /* may quote the output */
	sodium_memzero(jerr.source, sizeof jerr.source);
#define PFX "exec plugin \"%s\" for user \"%s\": "
	if (!root)
		return kahu_error_set(KAHU_EAUTH, PFX "the output is not an ExecCredential (%s at line %d, column %d)",
				      x->command, x->user,
				      outb->len ? "invalid JSON" : "no output", jerr.line, jerr.column);
	if (!json_is_object(root)) {
		r = kahu_error_set(KAHU_EAUTH, PFX "the output is not an ExecCredential (not a JSON object)",
				   x->command, x->user);
		goto out;
	}
	const char *kind = json_string_value(json_object_get(root, "kind"));
	const char *av = json_string_value(json_object_get(root, "apiVersion"));
	if (!kind || strcmp(kind, "ExecCredential")) {
		r = kahu_error_set(KAHU_EAUTH, PFX "the output is not an ExecCredential (kind is %s)",
				   x->command, x->user, kind ? "something else" : "missing");
		goto out;
	}
	if (!av || strcmp(av, x->api_version)) {
		int show = av && !strncmp(av, "client.authentication.k8s.io/", 29) && strlen(av) < 64;
		r = kahu_error_set(KAHU_EAUTH, PFX "the ExecCredential has apiVersion %s%s%s, but %s was requested",
				   x->command, x->user, show ? "\"" : "",
				   show ? av : av ? "(not shown)" : "(missing)", show ? "\"" : "",
				   x->api_version);
		goto out;
	}
	json_t *st = json_object_get(root, "status");
	if (!json_is_object(st)) {
		r = kahu_error_set(KAHU_EAUTH, PFX "the ExecCredential has no status", x->command,
				   x->user);
		goto out;
	}
	json_t *tok = json_object_get(st, "token");
	json_t *cert = json_object_get(st, "clientCertificateData");
	json_t *key = json_object_get(st, "clientKeyData");
	json_t *exp = json_object_get(st, "expirationTimestamp");
	int has_tok = json_is_string(tok) && json_string_length(tok);
	int has_cert = json_is_string(cert) && json_string_length(cert);
	int has_key = json_is_string(key) && json_string_length(key);
	if (!has_tok && !has_cert && !has_key) {
		r = kahu_error_set(KAHU_EAUTH, PFX "the ExecCredential status has neither token nor clientCertificateData/clientKeyData",
				   x->command, x->user);
		goto out;
	}
	if (has_cert != has_key) {
		r = kahu_error_set(KAHU_EAUTH, PFX "the ExecCredential status has %s but not %s",
				   x->command, x->user,
				   has_cert ? "clientCertificateData" : "clientKeyData",
				   has_cert ? "clientKeyData" : "clientCertificateData");
		goto out;
	}
	if (has_tok && has_header_ctl(json_string_value(tok))) {
		r = kahu_error_set(KAHU_EAUTH, PFX "the ExecCredential status.token contains a control character (a token is one line)",
				   x->command, x->user);
		goto out;
	}
	if (exp && !json_is_null(exp) &&
	    (!json_is_string(exp) || parse_rfc3339(json_string_value(exp), &cred->expires) < 0)) {
		r = kahu_error_set(KAHU_EAUTH, PFX "status.expirationTimestamp is not an RFC 3339 time",
				   x->command, x->user);
		goto out;
	}
	if (has_tok)
		cred->token = xstrdup(json_string_value(tok));
	if (has_cert) {
		kbuf_add(&cred->cert, json_string_value(cert), json_string_length(cert));
		secret_add(&cred->key, json_string_value(key), json_string_length(key));
	}
#undef PFX
out:
	if (json_is_object(root)) {
		json_t *st2 = json_object_get(root, "status");
		json_wipe_string(json_object_get(st2, "token"));
		json_wipe_string(json_object_get(st2, "clientKeyData"));
	}
	json_decref(root);
	if (r < 0)
		exec_cred_clear(cred);
	return r;
}

static int exec_run(struct exec_plugin *x, struct exec_cred *cred)
{
	int stdin_tty = isatty(STDIN_FILENO);
	int interactive = strcmp(x->mode, "Never") && stdin_tty;
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
	struct exec_result res = { KBUF_INIT, KBUF_INIT, 0, 0, 0 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *info = NULL, **envp = NULL;
	struct strv argv = STRV_INIT;
	pid_t pid;
	int r = 0;

	memset(cred, 0, sizeof *cred);
	if (!strcmp(x->mode, "Always") && !stdin_tty)
		return kahu_error_set(KAHU_EAUTH,
				      "exec plugin \"%s\" for user \"%s\" needs a terminal (interactiveMode: Always), but standard input is not a terminal",
				      x->command, x->user);
	if (pipe2(out_pipe, O_CLOEXEC) < 0 || (!interactive && pipe2(err_pipe, O_CLOEXEC) < 0)) {
		r = kahu_error_set(KAHU_EIO, "exec plugin \"%s\": cannot create a pipe: %s",
				   x->command, strerror(errno));
		goto out_fds;
	}
	strv_push(&argv, x->command);
	for (size_t i = 0; i < x->args.n; i++)
		strv_push(&argv, x->args.v[i]);
	envp = exec_envp(x, interactive, &info);

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* kahu's stdin only when the plugin may talk to the user */
	if (!interactive)
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
	if (!interactive)
		posix_spawn_file_actions_adddup2(&fa, err_pipe[1], STDERR_FILENO);
	/* worker threads block signals and kahu ignores SIGPIPE: the plugin gets the
	 * defaults.  Non-interactive plugins get their own process group so a timeout
	 * kills their children too; interactive ones must stay in the terminal's. */
	sigset_t none, dfl;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGQUIT);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	if (!interactive) {
		flags |= POSIX_SPAWN_SETPGROUP;
		posix_spawnattr_setpgroup(&attr, 0);
	}
	posix_spawnattr_setflags(&attr, flags);

	log_debug("running exec credential plugin %s for user %s", x->command, x->user);
	int e = strchr(x->command, '/')
		? posix_spawn(&pid, x->command, &fa, &attr, argv.v, envp)
		: posix_spawnp(&pid, x->command, &fa, &attr, argv.v, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e) {
		if (e == ENOENT)
			r = kahu_error_set(KAHU_ECONFIG, "exec plugin \"%s\" for user \"%s\" not found%s%s",
					   x->command, x->user,
					   x->install_hint ? ": " : " (is it installed and in PATH?)",
					   x->install_hint ? x->install_hint : "");
		else
			r = kahu_error_set(KAHU_ECONFIG, "cannot run exec plugin \"%s\" for user \"%s\": %s",
					   x->command, x->user, strerror(e));
		goto out_fds;
	}
	close(out_pipe[1]);
	out_pipe[1] = -1;
	if (err_pipe[1] >= 0) {
		close(err_pipe[1]);
		err_pipe[1] = -1;
	}
	long tmo = x->timeout_ms > 0 ? x->timeout_ms
		 : interactive ? EXEC_TIMEOUT_INTERACTIVE_MS : EXEC_TIMEOUT_MS;
	exec_collect(pid, !interactive, out_pipe[0], err_pipe[0], now_ms() + tmo, &res);
	out_pipe[0] = err_pipe[0] = -1; /* closed by exec_collect */

	char *line = first_line(&res.err);
	const char *sep = line ? ": " : "";
	if (!line)
		line = xstrdup("");
	if (res.timed_out) {
		r = kahu_error_set(KAHU_EAUTH, "exec plugin \"%s\" for user \"%s\" did not finish within %ld s and was killed%s%s",
				   x->command, x->user, (tmo + 999) / 1000, sep, line);
	} else if (res.too_big) {
		r = kahu_error_set(KAHU_EAUTH, "exec plugin \"%s\" for user \"%s\" printed more than %u KiB and was killed",
				   x->command, x->user, EXEC_OUT_MAX >> 10);
	} else if (res.status == -1) {
		r = kahu_error_set(KAHU_EAUTH, "exec plugin \"%s\" for user \"%s\": cannot get its exit status",
				   x->command, x->user);
	} else if (WIFSIGNALED(res.status)) {
		r = kahu_error_set(KAHU_EAUTH, "exec plugin \"%s\" for user \"%s\" was killed by signal %d%s%s",
				   x->command, x->user, WTERMSIG(res.status), sep, line);
	} else if (WEXITSTATUS(res.status) != 0) {
		r = kahu_error_set(KAHU_EAUTH, "exec plugin \"%s\" for user \"%s\" failed (exit status %d)%s%s",
				   x->command, x->user, WEXITSTATUS(res.status),
				   *sep ? sep : interactive ? "; see its messages above" : "",
				   line);
	} else {
		if (*line)
			log_debug("exec plugin %s: %s", x->command, line);
		r = exec_parse(x, &res.out, cred);
		if (r == 0)
			log_debug("exec plugin %s for user %s: got a %s%s", x->command, x->user,
				  cred->token ? "token" : "client certificate",
				  cred->expires ? " with an expiry" : "");
	}
	free(line);
out_fds:
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
	}
	if (res.out.data)
		free_secret(res.out.data, res.out.cap);
	kbuf_free(&res.err);
	strv_free(&argv);
	free(envp);
	free(info);
	return r;
}

/* ---- public ---- */

int kube_auth_new(const struct kube_config *cfg, struct kube_auth **out)
{
	struct kube_auth *a = xcalloc(1, sizeof *a);
	int r = 0;

	*out = NULL;
	pthread_mutex_init(&a->mu, NULL);
	a->user = xstrdup(cfg->user_name ? cfg->user_name : "");
	a->token = xstrdup(cfg->token);
	a->username = xstrdup(cfg->username);
	a->password = xstrdup(cfg->password);
	a->recheck_s = 60;

	if (cfg->client_cert_file) {
		if ((r = read_secret_file(cfg->client_cert_file, "client certificate", 1u << 20,
					  &a->cert, NULL)) < 0)
			goto fail;
	} else if (cfg->client_cert_data.len) {
		kbuf_add(&a->cert, cfg->client_cert_data.data, cfg->client_cert_data.len);
	}
	if (cfg->client_key_file) {
		if ((r = read_secret_file(cfg->client_key_file, "client key", 1u << 20,
					  &a->key, NULL)) < 0)
			goto fail;
	} else if (cfg->client_key_data.len) {
		kbuf_grow(&a->key, cfg->client_key_data.len);
		kbuf_add(&a->key, cfg->client_key_data.data, cfg->client_key_data.len);
	}
	if (a->cert.len && !looks_like_pem(&a->cert)) {
		r = kahu_error_set(KAHU_ECONFIG, "user \"%s\": the client certificate %s is not in PEM format",
				   a->user, cfg->client_cert_file ? cfg->client_cert_file : "(client-certificate-data)");
		goto fail;
	}
	if (a->key.len && !looks_like_pem(&a->key)) {
		r = kahu_error_set(KAHU_ECONFIG, "user \"%s\": the client key %s is not in PEM format",
				   a->user, cfg->client_key_file ? cfg->client_key_file : "(client-key-data)");
		goto fail;
	}
	if (cfg->token_file) {
		a->token_file = xstrdup(cfg->token_file);
		if ((r = token_file_read(a)) < 0) {
			/* client-go falls back to the static token when both are set */
			if (!a->token)
				goto fail;
			log_warn("%s, using the token from the kubeconfig", kahu_error_last());
			r = 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &a->file_checked);
	}
	if (cfg->exec && (r = exec_new(cfg, &a->exec)) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	kube_auth_free(a);
	return r;
}

void kube_auth_set_exec_timeout(struct kube_auth *a, long ms)
{
	if (a->exec)
		exec_set_timeout(a->exec, ms);
}

void kube_auth_set_token_recheck(struct kube_auth *a, long seconds)
{
	a->recheck_s = seconds;
}

static char *dup_mem(const char *p, size_t n)
{
	char *q = xmalloc(n + 1);
	memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

int kube_exec_credential_parse(const char *api_version, const char *command,
			       const char *user, const char *json, size_t len,
			       struct kube_credential *out)
{
	struct exec_plugin x = { .user = (char *)user, .api_version = (char *)api_version,
				 .command = (char *)command };
	struct exec_cred cred = { 0 };
	struct kbuf b = KBUF_INIT;

	memset(out, 0, sizeof *out);
	kbuf_add(&b, json, len);
	int r = exec_parse(&x, &b, &cred);
	kbuf_free_secret(&b);
	if (r < 0)
		return r;
	out->token = cred.token ? xstrdup(cred.token) : NULL;
	if (cred.cert.len) {
		out->cert_pem = dup_mem(cred.cert.data, cred.cert.len);
		out->cert_len = cred.cert.len;
		out->key_pem = dup_mem(cred.key.data, cred.key.len);
		out->key_len = cred.key.len;
	}
	out->expires = cred.expires;
	exec_cred_clear(&cred);
	return 0;
}

static int exec_refresh(struct kube_auth *a)
{
	time_t now = time(NULL);
	if (a->xc_valid && (!a->xc.expires || now < a->xc.expires - EXPIRY_MARGIN))
		return 0;
	exec_cred_clear(&a->xc);
	a->xc_valid = 0;
	int r = exec_run(a->exec, &a->xc);
	if (r < 0)
		return r;
	a->xc_valid = 1;
	a->serial++;
	return 0;
}

int kube_auth_get(struct kube_auth *a, struct kube_credential *out)
{
	int r = 0;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&a->mu);
	if (a->exec && (r = exec_refresh(a)) < 0)
		goto out;
	if (a->token_file)
		token_file_refresh(a);

	if (a->xc_valid && a->xc.token)
		out->token = xstrdup(a->xc.token);
	else if (a->file_token)
		out->token = xstrdup(a->file_token);
	else if (a->token)
		out->token = xstrdup(a->token);

	/* a plugin's client certificate replaces the kubeconfig's */
	const struct kbuf *cert = &a->cert, *key = &a->key;
	if (a->xc_valid && a->xc.cert.len) {
		cert = &a->xc.cert;
		key = &a->xc.key;
	}
	if (cert->len && key->len) {
		out->cert_pem = dup_mem(cert->data, cert->len);
		out->cert_len = cert->len;
		out->key_pem = dup_mem(key->data, key->len);
		out->key_len = key->len;
	}
	if (a->username || a->password) {
		out->username = xstrdup(a->username ? a->username : "");
		out->password = xstrdup(a->password ? a->password : "");
	}
	out->expires = a->xc_valid ? a->xc.expires : 0;
	out->serial = a->serial;
out:
	pthread_mutex_unlock(&a->mu);
	return r;
}

static int invalidate(struct kube_auth *a, const struct kube_credential *used)
{
	int retry = 0;

	pthread_mutex_lock(&a->mu);
	if (used && used->serial != a->serial) {
		/* another thread already got a newer credential */
		pthread_mutex_unlock(&a->mu);
		return 1;
	}
	if (a->exec) {
		exec_cred_clear(&a->xc);
		a->xc_valid = 0;
		retry = 1;
	}
	if (a->token_file) {
		/* the file may have rotated since we last looked: a retry helps only then */
		struct stat st;
		if (stat(a->token_file, &st) == 0 && !same_version(&st, &a->file_st) &&
		    token_file_read(a) == 0)
			retry = 1;
		clock_gettime(CLOCK_MONOTONIC, &a->file_checked);
	}
	pthread_mutex_unlock(&a->mu);
	return retry;
}

int kube_auth_invalidate(struct kube_auth *a)
{
	return invalidate(a, NULL);
}

int kube_auth_invalidate_cred(struct kube_auth *a, const struct kube_credential *used)
{
	return invalidate(a, used);
}

void kube_credential_clear(struct kube_credential *c)
{
	if (!c)
		return;
	free_secret_str(c->token);
	free(c->cert_pem);
	free_secret(c->key_pem, c->key_len);
	free(c->username);
	free_secret_str(c->password);
	memset(c, 0, sizeof *c);
}

void kube_auth_free(struct kube_auth *a)
{
	if (!a)
		return;
	free(a->user);
	free_secret_str(a->token);
	kbuf_free(&a->cert);
	kbuf_free_secret(&a->key);
	free(a->username);
	free_secret_str(a->password);
	free(a->token_file);
	free_secret_str(a->file_token);
	exec_cred_clear(&a->xc);
	exec_free(a->exec);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

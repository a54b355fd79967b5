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

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "kube/kubeconfig.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

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
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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
	free_secret_str(a->file_token);
	a->file_token = t;
	a->file_st = st;
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

struct exec_plugin {
	char *command;
	long timeout_ms;
};

static int exec_new(const struct kube_config *cfg, struct exec_plugin **out)
{
	struct exec_plugin *x = xcalloc(1, sizeof *x);
	x->command = xstrdup(cfg->exec->command);
	x->timeout_ms = 60000;
	*out = x;
	return 0;
}

static void exec_set_timeout(struct exec_plugin *x, long ms)
{
	x->timeout_ms = ms;
}

static int exec_run(struct exec_plugin *x, struct exec_cred *out)
{
	return kahu_error_set(KAHU_EINTERNAL, "exec credential plugin %s: not implemented yet",
			      x->command);
}

static void exec_free(struct exec_plugin *x)
{
	if (!x)
		return;
	free(x->command);
	free(x);
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
out:
	pthread_mutex_unlock(&a->mu);
	return r;
}

int kube_auth_invalidate(struct kube_auth *a)
{
	int retry = 0;

	pthread_mutex_lock(&a->mu);
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

/* kahu plan install|uninstall — a plan run unattended: a crontab entry, systemd units, or
 * objects in a cluster (a CronJob, or a Deployment running plan watch).  What is written
 * is made by engine/install.c; here are the I/O: the crontab through crontab(1), the
 * unit files, the API requests, and the Secret made from the key and credential files
 * (never shown, never in the manifests: they only name it). */
#include "cmd/common_opts.h"
#include "cli/output.h"
#include "engine/debounce.h"
#include "engine/install.h"
#include "engine/plan.h"
#include "kube/client.h"
#include "store/config.h"
#include "util/buf.h"
#include "util/cron.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"
#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

enum target { T_NONE, T_CRON, T_SYSTEMD, T_KUBERNETES };

/* A file written whole or not at all, with `mode`. */
static int write_file(const char *path, const char *text, mode_t mode)
{
	char *tmp = NULL;
	int fd = kahu_tmpfile_beside(path, ".part.", "a unit file", &tmp);
	if (fd < 0)
		return fd;
	if (kahu_write_all(fd, text, strlen(text)) < 0 || fchmod(fd, mode) < 0) {
		int rc = kahu_error_set(KAHU_EIO, "cannot write %s: %s", path, strerror(errno));
		kahu_tmpfile_discard(fd, tmp);
		free(tmp);
		return rc;
	}
	int rc = kahu_tmpfile_commit(fd, tmp, path);
	free(tmp);
	return rc;
}

static int target_of(const struct kahu_invocation *inv, enum target *t)
{
	int n = (inv_count(inv, OPT_CRON) > 0) + (inv_count(inv, OPT_SYSTEMD) > 0) +
		(inv_count(inv, OPT_KUBERNETES) > 0);
	if (n != 1)
		return kahu_error_set(KAHU_EUSAGE, "give one of --cron, --systemd and --kubernetes");
	*t = inv_count(inv, OPT_CRON) ? T_CRON : inv_count(inv, OPT_SYSTEMD) ? T_SYSTEMD : T_KUBERNETES;
	if (*t != T_KUBERNETES && inv_has(inv, OPT_WATCH) && inv_count(inv, OPT_WATCH) > 0)
		return kahu_error_set(KAHU_EUSAGE, "--watch goes with --kubernetes (a Deployment running "
				      "plan watch); cron and systemd run the plan on its schedule");
	return 0;
}

static const char *opt(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	return inv_has(inv, id) ? inv_str(inv, id) : NULL;
}

/* An absolute form of a path given on this machine (it is written into a crontab or a
 * unit, which run elsewhere than the current directory). */
static char *absolute(const char *path)
{
	if (!path)
		return NULL;
	if (path[0] == '/')
		return xstrdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

static char *self_path(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/* The zone cron runs entries in: /etc/localtime's target under zoneinfo/, else
 * /etc/timezone, else UTC; UTC's aliases as "UTC". */
static char *system_zone(void)
{
	char buf[PATH_MAX];
	char *z = NULL;
	ssize_t n = readlink("/etc/localtime", buf, sizeof buf - 1);
	if (n > 0) {
		buf[n] = '\0';
		const char *p = strstr(buf, "zoneinfo/");
		if (p)
			z = xstrdup(p + strlen("zoneinfo/"));
	}
	if (!z) {
		FILE *f = fopen("/etc/timezone", "re");
		if (f) {
			if (fgets(buf, sizeof buf, f)) {
				buf[strcspn(buf, "\r\n")] = '\0';
				if (*buf)
					z = xstrdup(buf);
			}
			fclose(f);
		}
	}
	if (!z || !strcmp(z, "Etc/UTC") || !strcmp(z, "Etc/UCT") || !strcmp(z, "UCT") ||
	    !strcmp(z, "Etc/Universal") || !strcmp(z, "Universal") || !strcmp(z, "Zulu") ||
	    !strcmp(z, "Etc/Zulu") || !strcmp(z, "Etc/GMT") || !strcmp(z, "GMT")) {
		free(z);
		z = xstrdup("UTC");
	}
	return z;
}

/* The plan, its schedule required (but by --watch: changes start its runs). */
static int load_plan(struct kahu_ctx *ctx, struct kahu_config **cfg, struct backup_plan **p)
{
	const struct kahu_invocation *inv = ctx->inv;
	int rc;
	*cfg = NULL;
	*p = NULL;
	if ((rc = config_load(inv_str(inv, OPT_CONFIG), cfg)) < 0 ||
	    (rc = cmd_plan_get(ctx, *cfg, inv->args.n ? inv->args.v[0] : NULL, p)) < 0)
		return rc;
	if (!(*p)->schedule && !inv_count(inv, OPT_WATCH))
		return kahu_error_set(KAHU_EUSAGE, "plan %s has no schedule (spec.schedule): it runs "
				      "only by hand (kahu plan run %s)", (*p)->name, (*p)->name);
	return 0;
}

/* ---- run a program with its input and output in memory ---- */

static int run_prog(char *const argv[], const char *in, size_t inlen, struct kbuf *out, int *status)
{
	int pin[2], pout[2];
	if (pipe2(pin, O_CLOEXEC) < 0)
		return kahu_error_set(KAHU_EIO, "pipe: %s", strerror(errno));
	if (pipe2(pout, O_CLOEXEC) < 0) {
		close(pin[0]);
		close(pin[1]);
		return kahu_error_set(KAHU_EIO, "pipe: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		return kahu_error_set(KAHU_EIO, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(pout[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	/* small inputs (a crontab): written whole before reading */
	size_t off = 0;
	while (off < inlen) {
		ssize_t w = write(pin[1], in + off, inlen - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(pin[1]);
	char buf[4096];
	ssize_t r;
	while ((r = read(pout[0], buf, sizeof buf)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		if (out)
			kbuf_add(out, buf, (size_t)r);
	}
	close(pout[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return 0;
}

/* ---- cron ---- */

static const char *crontab_prog(void)
{
	const char *c = getenv("KAHU_CRONTAB");  /* tests: a crontab(1) of their own */
	return c && *c ? c : "crontab";
}

/* The user's crontab, "" when there is none. */
static int crontab_read(struct kbuf *tab)
{
	char *argv[] = { (char *)crontab_prog(), "-l", NULL };
	struct kbuf out = KBUF_INIT;
	int st, rc = run_prog(argv, NULL, 0, &out, &st);
	if (rc < 0)
		goto out;
	if (st == 127) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "%s not found: install cron, or use --systemd",
				    argv[0]);
	} else if (st != 0) {
		/* "no crontab for USER": an empty one */
		if (strstr(kbuf_str(&out), "no crontab"))
			rc = 0;
		else
			rc = kahu_error_set(KAHU_EFAIL, "%s -l failed (exit %d): %s", argv[0], st,
					    kbuf_str(&out));
	} else {
		kbuf_add(tab, out.data ? out.data : "", out.len);
	}
out:
	kbuf_free(&out);
	return rc;
}

static int crontab_write(const char *text)
{
	char *argv[] = { (char *)crontab_prog(), "-", NULL };
	struct kbuf out = KBUF_INIT;
	int st, rc = run_prog(argv, text, strlen(text), &out, &st);
	if (rc == 0 && st != 0)
		rc = kahu_error_set(KAHU_EFAIL, "%s - failed (exit %d): %s", argv[0], st, kbuf_str(&out));
	kbuf_free(&out);
	return rc;
}

/* The crontab without the plan's entry (its marker line and the line after it). */
static int crontab_without(const char *tab, const char *plan, struct kbuf *out)
{
	char *marker = install_cron_marker(plan);
	size_t ml = strlen(marker);
	int found = 0, skip = 0;
	for (const char *p = tab; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		int is_marker = n >= ml && !strncmp(p, marker, ml) && (n == ml || p[ml] == ':');
		if (is_marker) {
			found = 1;
			skip = 1;   /* the command line after it */
		} else if (skip) {
			skip = 0;
		} else {
			kbuf_add(out, p, n);
			kbuf_addc(out, '\n');
		}
		p += n + (nl ? 1 : 0);
	}
	free(marker);
	return found;
}

static char *default_log_file(const char *plan)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	if (state && state[0] == '/')
		return xasprintf("%s/kahu/%s.log", state, plan);
	if (home && home[0] == '/')
		return xasprintf("%s/.local/state/kahu/%s.log", home, plan);
	return NULL;
}

static void fill_local(struct kahu_ctx *ctx, const struct kahu_config *cfg, struct install_spec *s,
		       struct strv *owned)
{
	const struct kahu_invocation *inv = ctx->inv;
	char *self = self_path();
	strv_push_owned(owned, self ? self : xstrdup("/usr/bin/kahu"));
	s->kahu_path = owned->v[owned->n - 1];
	strv_push_owned(owned, absolute(cfg->path));
	s->config_path = owned->v[owned->n - 1];
	const char *kc = opt(inv, OPT_KUBECONFIG);
	if (!kc)
		kc = getenv("KUBECONFIG");
	if (kc && *kc && !strchr(kc, ':')) {
		strv_push_owned(owned, absolute(kc));
		s->kubeconfig = owned->v[owned->n - 1];
	}
	s->context = opt(inv, OPT_CONTEXT);
	s->lock_wait = inv_str(inv, OPT_LOCK_WAIT) ? inv_str(inv, OPT_LOCK_WAIT) : "30m";
}

static int install_cron(struct kahu_ctx *ctx, const struct kahu_config *cfg, struct backup_plan *p,
			int dry)
{
	const struct kahu_invocation *inv = ctx->inv;
	struct install_spec s = { .plan = p->name, .schedule = p->schedule, .time_zone = p->time_zone };
	struct strv owned = STRV_INIT;
	struct kbuf tab = KBUF_INIT, rest = KBUF_INIT;
	int rc = 0;
	fill_local(ctx, cfg, &s, &owned);
	const char *log = opt(inv, OPT_LOG_FILE);
	if (log) {
		strv_push_owned(&owned, absolute(log));
		s.log_file = owned.v[owned.n - 1];
	} else {
		char *d = default_log_file(p->name);
		if (d) {
			strv_push_owned(&owned, d);
			s.log_file = d;
		}
	}
	char *zone = system_zone();
	s.system_time_zone = zone;
	char *entry = install_cron_entry(&s);
	if (!entry) {
		rc = kahu_error_code();
		goto out;
	}
	if (dry) {
		fputs(entry, stdout);
		goto out;
	}
	if (s.log_file) {
		char *dir = xstrdup(s.log_file);
		char *sl = strrchr(dir, '/');
		if (sl && sl != dir) {
			*sl = '\0';
			if ((rc = kahu_mkdirs(dir, 0700)) < 0)
				kahu_error_wrap(rc, "the log file's directory");
		}
		free(dir);
		if (rc < 0)
			goto out;
	}
	if ((rc = crontab_read(&tab)) < 0)
		goto out;
	int had = crontab_without(kbuf_str(&tab), p->name, &rest);
	kbuf_adds(&rest, entry);
	if ((rc = crontab_write(kbuf_str(&rest))) < 0)
		goto out;
	printf("plan %s: crontab entry %s (%s, %s); its output goes to %s\n", p->name,
	       had ? "replaced" : "added", p->schedule, s.system_time_zone,
	       s.log_file ? s.log_file : "cron's mail");
out:
	free(entry);
	free(zone);
	kbuf_free(&tab);
	kbuf_free(&rest);
	strv_free(&owned);
	return rc;
}

static int uninstall_cron(const char *plan)
{
	struct kbuf tab = KBUF_INIT, rest = KBUF_INIT;
	int rc = crontab_read(&tab);
	if (rc == 0) {
		if (!crontab_without(kbuf_str(&tab), plan, &rest))
			rc = kahu_error_set(KAHU_ENOTFOUND, "plan %s has no entry in the crontab", plan);
		else if ((rc = crontab_write(kbuf_str(&rest))) == 0)
			printf("plan %s: crontab entry removed\n", plan);
	}
	kbuf_free(&tab);
	kbuf_free(&rest);
	return rc;
}

/* ---- systemd ---- */

static char *unit_dir(const struct kahu_invocation *inv)
{
	const char *d = opt(inv, OPT_UNIT_DIR);
	if (d)
		return absolute(d);
	if (geteuid() == 0)
		return xstrdup("/etc/systemd/system");
	char *conf = config_xdg_config_home();
	char *u = xasprintf("%s/systemd/user", conf);
	free(conf);
	return u;
}

static int systemd_booted(void)
{
	struct stat st;
	return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

static int systemctl(int user, const char *a, const char *b, const char *c)
{
	char *argv[6];
	int i = 0, st;
	argv[i++] = "systemctl";
	if (user)
		argv[i++] = "--user";
	argv[i++] = (char *)a;
	if (b)
		argv[i++] = (char *)b;
	if (c)
		argv[i++] = (char *)c;
	argv[i] = NULL;
	struct kbuf out = KBUF_INIT;
	int rc = run_prog(argv, NULL, 0, &out, &st);
	if (rc == 0 && st != 0)
		rc = kahu_error_set(KAHU_EFAIL, "systemctl %s%s %s failed (exit %d): %s", user ? "--user " : "",
				    a, b ? b : "", st, kbuf_str(&out));
	kbuf_free(&out);
	return rc;
}

static int install_systemd(struct kahu_ctx *ctx, const struct kahu_config *cfg, struct backup_plan *p,
			   int dry)
{
	const struct kahu_invocation *inv = ctx->inv;
	struct install_spec s = { .plan = p->name, .schedule = p->schedule, .time_zone = p->time_zone };
	struct strv owned = STRV_INIT;
	char *svc = NULL, *tmr = NULL, *dir = unit_dir(inv), *cal = install_calendar(p->cron);
	char *svc_name = install_systemd_name(p->name, "service");
	char *tmr_name = install_systemd_name(p->name, "timer");
	char *svc_path = xasprintf("%s/%s", dir, svc_name), *tmr_path = xasprintf("%s/%s", dir, tmr_name);
	int user = !opt(inv, OPT_UNIT_DIR) && geteuid() != 0;
	int rc;
	fill_local(ctx, cfg, &s, &owned);
	s.on_calendar = cal;
	if ((rc = install_systemd_units(&s, &svc, &tmr)) < 0)
		goto out;
	if (dry) {
		printf("# %s\n%s\n# %s\n%s", svc_path, svc, tmr_path, tmr);
		goto out;
	}
	if ((rc = kahu_mkdirs(dir, 0755)) < 0 || (rc = write_file(svc_path, svc, 0644)) < 0 ||
	    (rc = write_file(tmr_path, tmr, 0644)) < 0)
		goto out;
	printf("plan %s: wrote %s and %s\n", p->name, svc_path, tmr_path);
	if (!opt(inv, OPT_UNIT_DIR) && systemd_booted()) {
		if ((rc = systemctl(user, "daemon-reload", NULL, NULL)) < 0 ||
		    (rc = systemctl(user, "enable", "--now", tmr_name)) < 0)
			goto out;
		printf("plan %s: %s enabled and started\n", p->name, tmr_name);
	} else {
		printf("enable it with: systemctl %sdaemon-reload && systemctl %senable --now %s\n",
		       user ? "--user " : "", user ? "--user " : "", tmr_name);
	}
out:
	free(svc);
	free(tmr);
	free(dir);
	free(cal);
	free(svc_name);
	free(tmr_name);
	free(svc_path);
	free(tmr_path);
	strv_free(&owned);
	return rc;
}

static int uninstall_systemd(struct kahu_ctx *ctx, const char *plan)
{
	const struct kahu_invocation *inv = ctx->inv;
	char *dir = unit_dir(inv);
	char *svc_name = install_systemd_name(plan, "service");
	char *tmr_name = install_systemd_name(plan, "timer");
	char *svc_path = xasprintf("%s/%s", dir, svc_name), *tmr_path = xasprintf("%s/%s", dir, tmr_name);
	int user = !opt(inv, OPT_UNIT_DIR) && geteuid() != 0, rc = 0;
	struct stat st;
	if (stat(tmr_path, &st) < 0 && stat(svc_path, &st) < 0) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "plan %s has no units in %s", plan, dir);
		goto out;
	}
	if (!opt(inv, OPT_UNIT_DIR) && systemd_booted())
		(void)systemctl(user, "disable", "--now", tmr_name); /* a unit not loaded: fine */
	if ((unlink(tmr_path) < 0 && errno != ENOENT) || (unlink(svc_path) < 0 && errno != ENOENT)) {
		rc = kahu_error_set(KAHU_EIO, "cannot remove the units of plan %s in %s: %s", plan, dir,
				    strerror(errno));
		goto out;
	}
	if (!opt(inv, OPT_UNIT_DIR) && systemd_booted())
		(void)systemctl(user, "daemon-reload", NULL, NULL);
	printf("plan %s: removed %s and %s\n", plan, svc_path, tmr_path);
out:
	free(dir);
	free(svc_name);
	free(tmr_name);
	free(svc_path);
	free(tmr_path);
	return rc;
}

/* ---- Kubernetes ---- */

static int has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* The plan's document as YAML text (the ConfigMap's plan.yaml). */
static char *plan_yaml(const struct backup_plan *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	int rc = out_yaml(f, p->doc);
	fclose(f);
	if (rc < 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* What the pod's configuration holds: the plan's locations as the configuration names
 * them, without this machine's key and passphrase file paths (the pod's come from the
 * Secret), the plan's location the default. */
static json_t *pod_config(const struct kahu_config *cfg, const struct backup_plan *p)
{
	json_t *locs = json_object_get((json_t *)cfg->doc, "locations");
	json_t *out = json_object(), *ol = json_object();
	const char *names[2] = { p->location, p->volume_location };
	const struct kahu_location *loc;
	for (int i = 0; i < 2; i++) {
		if (!names[i] && i == 1)
			continue;
		if (config_location(cfg, names[i], &loc) < 0)
			continue;
		json_t *l = json_object_get(locs, loc->name);
		l = l ? json_deep_copy(l) : json_pack("{s:s}", "provider", loc->provider);
		json_object_del(l, "keyFile");
		json_object_del(l, "passphraseFile");
		json_object_set_new(ol, loc->name, l);
		if (i == 0)
			json_object_set_new(out, "defaultLocation", json_string(loc->name));
	}
	json_object_set_new(out, "locations", ol);
	return out;
}

/* A private file (the key, a passphrase, credentials) read for the Secret. */
static int read_secret_file(const char *path, const char *what, struct kbuf *out)
{
	size_t len = 0;
	kbuf_grow(out, 1 << 16);
	int rc = kahu_read_private(path, what, out->data, out->cap, &len);
	if (rc < 0)
		return rc;
	out->len = len;
	return 0;
}

static json_t *b64(const void *p, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = xmalloc(cap);
	sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	json_t *j = json_string(s);
	sodium_memzero(s, cap);
	free(s);
	return j;
}

/* The Secret's data from this machine's files; NULL and an error when the key cannot be
 * found.  Its values are never printed. */
static json_t *secret_data(struct kahu_ctx *ctx, const struct kahu_config *cfg,
			   const struct backup_plan *p, struct install_spec *s)
{
	const struct kahu_invocation *inv = ctx->inv;
	const struct kahu_location *loc = NULL;
	config_location(cfg, p->location, &loc);
	const char *key = opt(inv, OPT_KEY_FILE);
	if (!key)
		key = getenv(KAHU_ENV_KEY_FILE);
	if (!key && loc && loc->key_file)
		key = loc->key_file;
	char *def = config_default_key_path();
	if (!key)
		key = def;
	const char *pass = opt(inv, OPT_PASSPHRASE_FILE);
	if (!pass)
		pass = getenv("KAHU_PASSPHRASE_FILE");
	if (!pass && loc && loc->passphrase_file)
		pass = loc->passphrase_file;
	const char *aws = opt(inv, OPT_AWS_CREDENTIALS);
	json_t *data = json_object();
	struct kbuf b = KBUF_INIT;
	int rc = 0;
	struct stat st;
	if (stat(key, &st) == 0 || !pass) {
		if ((rc = read_secret_file(key, "the key file", &b)) < 0)
			goto fail;
		json_object_set_new(data, "key", b64(b.data, b.len));
		kbuf_free_secret(&b);
		s->has_key = 1;
	}
	if (pass) {
		if ((rc = read_secret_file(pass, "the passphrase file", &b)) < 0)
			goto fail;
		json_object_set_new(data, "passphrase", b64(b.data, b.len));
		kbuf_free_secret(&b);
		s->has_passphrase = 1;
	}
	if (aws) {
		if ((rc = read_secret_file(aws, "--aws-credentials", &b)) < 0)
			goto fail;
		json_object_set_new(data, "aws-credentials", b64(b.data, b.len));
		kbuf_free_secret(&b);
		s->has_aws_credentials = 1;
	}
	json_t *pc = pod_config(cfg, p);
	char *text = json_dumps(pc, JSON_INDENT(2));
	json_decref(pc);
	json_object_set_new(data, "config.json", b64(text, strlen(text)));
	free(text);
	free(def);
	return data;
fail:
	kbuf_free_secret(&b);
	json_decref(data);
	free(def);
	return NULL;
}

/* The API path of an object's collection and of the object. */
static char *api_path(json_t *o, int item)
{
	const char *api = json_string_value(json_object_get(o, "apiVersion"));
	const char *kind = json_string_value(json_object_get(o, "kind"));
	json_t *m = json_object_get(o, "metadata");
	const char *ns = json_string_value(json_object_get(m, "namespace"));
	const char *name = json_string_value(json_object_get(m, "name"));
	static const struct { const char *kind, *plural; } k[] = {
		{ "Namespace", "namespaces" }, { "ServiceAccount", "serviceaccounts" },
		{ "ClusterRole", "clusterroles" }, { "ClusterRoleBinding", "clusterrolebindings" },
		{ "RoleBinding", "rolebindings" }, { "ConfigMap", "configmaps" },
		{ "Secret", "secrets" }, { "CronJob", "cronjobs" }, { "Deployment", "deployments" },
	};
	const char *plural = NULL;
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
		if (!strcmp(kind, k[i].kind))
			plural = k[i].plural;
	if (!plural)
		return NULL;
	const char *prefix = strchr(api, '/') ? "/apis/" : "/api/";
	struct kbuf b = KBUF_INIT;
	kbuf_addf(&b, "%s%s", prefix, api);
	if (ns)
		kbuf_addf(&b, "/namespaces/%s", ns);
	kbuf_addf(&b, "/%s", plural);
	if (item)
		kbuf_addf(&b, "/%s", name);
	return kbuf_detach(&b);
}

/* Create the object, or replace it when it exists (the Namespace is left as it is). */
static int apply_object(struct kube_client *kc, json_t *o, const char **verb)
{
	char *coll = api_path(o, 0), *item = api_path(o, 1);
	char *body = json_dumps(o, JSON_COMPACT);
	struct kube_response r = { 0 };
	int rc = kube_request(kc, "POST", coll, NULL, "application/json", body, strlen(body), 0, &r);
	*verb = "created";
	if (rc == KAHU_ECONFLICT) {
		kube_response_clear(&r);
		if (!strcmp(json_string_value(json_object_get(o, "kind")), "Namespace")) {
			*verb = "unchanged";
			rc = 0;
			goto out;
		}
		if ((rc = kube_request(kc, "GET", item, NULL, NULL, NULL, 0, 0, &r)) < 0)
			goto out;
		json_t *cur = json_loadb(kbuf_str(&r.body), r.body.len, 0, NULL);
		const char *rv = json_string_value(json_object_get(json_object_get(cur, "metadata"),
								   "resourceVersion"));
		json_t *o2 = json_deep_copy(o);
		if (rv)
			json_object_set_new(json_object_get(o2, "metadata"), "resourceVersion", json_string(rv));
		json_decref(cur);
		free(body);
		body = json_dumps(o2, JSON_COMPACT);
		json_decref(o2);
		kube_response_clear(&r);
		rc = kube_request(kc, "PUT", item, NULL, "application/json", body, strlen(body), 0, &r);
		*verb = "configured";
	}
out:
	kube_response_clear(&r);
	if (body)
		sodium_memzero(body, strlen(body)); /* a Secret's body */
	free(body);
	free(coll);
	free(item);
	return rc;
}

static const char *obj_kind(json_t *o)
{
	return json_string_value(json_object_get(o, "kind"));
}

static const char *obj_name(json_t *o)
{
	return json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));
}

static void fill_k8s(struct kahu_ctx *ctx, const struct backup_plan *p, struct install_spec *s,
		     struct strv *ns)
{
	const struct kahu_invocation *inv = ctx->inv;
	s->namespace = opt(inv, OPT_NAMESPACE) ? opt(inv, OPT_NAMESPACE) : "kahu";
	s->image = opt(inv, OPT_IMAGE) ? opt(inv, OPT_IMAGE) : "kahu:" PACKAGE_VERSION;
	s->hooks = 1; /* exec hooks come from pod annotations as well as hooks files */
	if (backup_plan_has_volumes(p)) {
		const char *vd = p->volume_data ? p->volume_data : "auto";
		s->volumes = INSTALL_VOL_FS | (strcmp(vd, "fs") ? INSTALL_VOL_CSI : 0);
		if (p->mover_type && strcmp(p->mover_type, "cluster") == 0)
			s->volumes |= INSTALL_VOL_MOVERS;
	}
	if (p->include_namespaces && *p->include_namespaces) {
		strv_split(ns, p->include_namespaces, ',');
		int whole = 0;
		for (size_t i = 0; i < ns->n; i++)
			whole |= has_glob(ns->v[i]) || !*ns->v[i];
		if (!whole) {
			s->namespaces = (const char *const *)ns->v;
			s->n_namespaces = ns->n;
		}
	}
	long deadline = 0;
	if (inv_has(inv, OPT_STARTING_DEADLINE)) {
		int64_t d;
		if (duration_parse(inv_str(inv, OPT_STARTING_DEADLINE), "--starting-deadline", &d) == 0)
			deadline = (long)d;
	}
	s->starting_deadline = deadline;
}

static int install_kubernetes(struct kahu_ctx *ctx, const struct kahu_config *cfg, struct backup_plan *p,
			      int dry)
{
	struct install_spec s = { .plan = p->name, .schedule = p->schedule, .time_zone = p->time_zone,
				  .watch = inv_count(ctx->inv, OPT_WATCH) > 0,
				  .quiet_period = opt(ctx->inv, OPT_QUIET_PERIOD),
				  .max_interval = opt(ctx->inv, OPT_MAX_INTERVAL) };
	struct strv ns = STRV_INIT;
	json_t *objs = NULL, *data = NULL;
	char *yaml = plan_yaml(p), *secret = install_secret_name(p->name);
	struct kube_client *kc;
	int rc = 0;
	fill_k8s(ctx, p, &s, &ns);
	s.plan_yaml = yaml ? yaml : "";
	if (!dry && !(data = secret_data(ctx, cfg, p, &s))) {
		rc = kahu_error_code();
		goto out;
	}
	if (dry) {
		/* the pod's environment names what the Secret will hold */
		const struct kahu_location *loc = NULL;
		config_location(cfg, p->location, &loc);
		s.has_key = 1;
		s.has_passphrase = opt(ctx->inv, OPT_PASSPHRASE_FILE) || (loc && loc->passphrase_file);
		s.has_aws_credentials = opt(ctx->inv, OPT_AWS_CREDENTIALS) != NULL;
	}
	if (!(objs = install_k8s_objects(&s))) {
		rc = kahu_error_code();
		goto out;
	}
	size_t i;
	json_t *o;
	if (dry) {
		json_array_foreach(objs, i, o) {
			fputs("---\n", stdout);
			if ((rc = out_yaml(stdout, o)) < 0)
				goto out;
		}
		fprintf(stderr, "kahu: the Secret %s/%s (the key%s%s, and config.json: the plan's "
			"locations) is not shown; kahu plan install %s --kubernetes makes it from "
			"this machine's files\n", s.namespace, secret,
			s.has_passphrase ? ", the passphrase" : "",
			s.has_aws_credentials ? ", the AWS credentials" : "", p->name);
		goto out;
	}
	if ((rc = ctx_kube_client(ctx, &kc)) < 0)
		goto out;
	/* the Secret after the Namespace, before what mounts it */
	json_t *sec = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}}, s:s, s:O}",
				"apiVersion", "v1", "kind", "Secret", "metadata", "name", secret,
				"namespace", s.namespace, "labels", "app.kubernetes.io/name", "kahu",
				"app.kubernetes.io/managed-by", "kahu", INSTALL_LABEL, p->name,
				"type", "Opaque", "data", data);
	json_array_insert_new(objs, 1, sec);
	json_array_foreach(objs, i, o) {
		const char *verb;
		if ((rc = apply_object(kc, o, &verb)) < 0) {
			kahu_error_wrap(rc, "%s %s", obj_kind(o), obj_name(o));
			goto out;
		}
		const char *ons = json_string_value(json_object_get(json_object_get(o, "metadata"), "namespace"));
		printf("%s %s%s%s %s\n", obj_kind(o), ons ? ons : "", ons ? "/" : "", obj_name(o), verb);
	}
out:
	if (data) {
		/* the values are base64 of secrets: cleared before freeing */
		const char *k;
		json_t *v;
		json_object_foreach(data, k, v)
			if (json_string_value(v))
				sodium_memzero((void *)json_string_value(v), json_string_length(v));
	}
	json_decref(data);
	json_decref(objs);
	free(yaml);
	free(secret);
	strv_free(&ns);
	return rc;
}

/* Delete what install made: found by the label, kind by kind. */
static int uninstall_kubernetes(struct kahu_ctx *ctx, const char *plan)
{
	static const char *const colls[] = {
		"/apis/batch/v1/cronjobs", "/apis/apps/v1/deployments", "/api/v1/configmaps",
		"/api/v1/secrets", "/apis/rbac.authorization.k8s.io/v1/rolebindings",
		"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
		"/apis/rbac.authorization.k8s.io/v1/clusterroles", "/api/v1/serviceaccounts",
	};
	struct kube_client *kc;
	int rc, removed = 0;
	if ((rc = ctx_kube_client(ctx, &kc)) < 0)
		return rc;
	for (size_t i = 0; i < sizeof colls / sizeof colls[0]; i++) {
		char *path = xasprintf("%s?labelSelector=%s%%3D%s", colls[i], INSTALL_LABEL, plan);
		struct kube_response r = { 0 };
		rc = kube_request(kc, "GET", path, NULL, NULL, NULL, 0, 0, &r);
		free(path);
		if (rc < 0) {
			kube_response_clear(&r);
			return kahu_error_wrap(rc, "listing what plan %s installed", plan);
		}
		json_t *list = json_loadb(kbuf_str(&r.body), r.body.len, 0, NULL);
		kube_response_clear(&r);
		size_t j;
		json_t *it;
		json_array_foreach(json_object_get(list, "items"), j, it) {
			json_t *m = json_object_get(it, "metadata");
			const char *ns = json_string_value(json_object_get(m, "namespace"));
			const char *name = json_string_value(json_object_get(m, "name"));
			const char *base = colls[i];
			const char *slash = strrchr(base, '/');
			char *item = ns ? xasprintf("%.*s/namespaces/%s%s/%s", (int)(slash - base), base, ns,
						    slash, name)
					: xasprintf("%s/%s", base, name);
			/* the Jobs and pods of a CronJob or Deployment go with it */
			static const char body[] = "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
						   "\"propagationPolicy\":\"Background\"}";
			rc = kube_request(kc, "DELETE", item, NULL, "application/json", body, strlen(body), 0, &r);
			kube_response_clear(&r);
			if (rc < 0 && rc != KAHU_ENOTFOUND) {
				kahu_error_wrap(rc, "deleting %s", item);
				free(item);
				json_decref(list);
				return rc;
			}
			printf("%s%s%s %s deleted\n", ns ? ns : "", ns ? "/" : "", slash + 1, name);
			removed++;
			free(item);
		}
		json_decref(list);
	}
	if (!removed)
		return kahu_error_set(KAHU_ENOTFOUND, "nothing in the cluster is labelled %s=%s",
				      INSTALL_LABEL, plan);
	printf("plan %s: uninstalled (its namespace is left: other plans may use it)\n", plan);
	return 0;
}

/* ---- the commands ---- */

/* --quiet-period and --max-interval: the watcher's, checked as plan watch checks them. */
static int watch_settings_check(const struct kahu_invocation *inv)
{
	const char *quiet = opt(inv, OPT_QUIET_PERIOD), *max = opt(inv, OPT_MAX_INTERVAL);
	int64_t q, m;
	if ((quiet || max) && !inv_count(inv, OPT_WATCH))
		return kahu_error_set(KAHU_EUSAGE, "--%s goes with --kubernetes --watch (the watcher's "
				      "settings)", quiet ? "quiet-period" : "max-interval");
	return debounce_periods(quiet, max, &q, &m);
}

static int run_plan_install(struct kahu_ctx *ctx)
{
	const struct kahu_invocation *inv = ctx->inv;
	enum target t;
	struct kahu_config *cfg = NULL;
	struct backup_plan *p = NULL;
	int rc, dry = inv_count(inv, OPT_DRY_RUN) > 0;
	if ((rc = target_of(inv, &t)) < 0 || (rc = watch_settings_check(inv)) < 0 ||
	    (rc = load_plan(ctx, &cfg, &p)) < 0)
		goto out;
	if (t == T_KUBERNETES && p->contexts.n) {
		rc = kahu_error_set(KAHU_EUSAGE, "plan %s runs in several contexts (spec.contexts): it runs "
				    "from a machine whose kubeconfig has them (--cron or --systemd), not in "
				    "one of the clusters", p->name);
		goto out;
	}
	if (t == T_CRON)
		rc = install_cron(ctx, cfg, p, dry);
	else if (t == T_SYSTEMD)
		rc = install_systemd(ctx, cfg, p, dry);
	else
		rc = install_kubernetes(ctx, cfg, p, dry);
out:
	backup_plan_free(p);
	config_free(cfg);
	return rc;
}

static int run_plan_uninstall(struct kahu_ctx *ctx)
{
	const struct kahu_invocation *inv = ctx->inv;
	enum target t;
	const char *name = inv->args.v[0];
	int rc;
	if ((rc = target_of(inv, &t)) < 0 || (rc = plan_name_check(name)) < 0)
		return rc;
	if (t == T_CRON)
		return uninstall_cron(name);
	if (t == T_SYSTEMD)
		return uninstall_systemd(ctx, name);
	return uninstall_kubernetes(ctx, name);
}

#define INSTALL_TARGET_OPTS \
	OPTION(CRON, 0, NULL, "a crontab entry of the current user (through crontab(1))", NULL, 0, NULL), \
	OPTION(SYSTEMD, 0, NULL, "systemd service and timer units (Persistent=true: a missed run catches up)", NULL, 0, NULL), \
	OPTION(KUBERNETES, 0, NULL, "objects in the current cluster: RBAC, the plan's ConfigMap, the Secret, a CronJob", NULL, 0, NULL), \
	OPTION(UNIT_DIR, 0, "DIR", "--systemd: where the units go (default /etc/systemd/system as root, else ~/.config/systemd/user)", "dir", 0, NULL)

static const struct kahu_opt install_opts[] = {
	OPTION(FILE, 'f', "FILE", "read the plan from a YAML file (kahu-plan(5); - for standard input)", "file", 0, NULL),
	OPTION(FROM_CONFIGMAP, 0, "NS/NAME", "read the plan from the plan.yaml key of a ConfigMap in the cluster", NULL, 0, NULL),
	INSTALL_TARGET_OPTS,
	OPTION(DRY_RUN, 0, NULL, "print what would be written (--kubernetes: the manifests, without the Secret)", NULL, 0, NULL),
	OPTION(LOG_FILE, 0, "FILE", "--cron: where the runs' output is appended (default ~/.local/state/kahu/PLAN.log)", "file", 0, NULL),
	OPTION(LOCK_WAIT, 0, "DURATION", "--cron, --systemd: how long a run waits for a location another run holds", NULL, 0, "30m"),
	OPTION(IMAGE, 0, "IMAGE", "--kubernetes: the kahu image (Containerfile; default kahu:" PACKAGE_VERSION ")", NULL, 0, NULL),
	OPTION(STARTING_DEADLINE, 0, "DURATION", "--kubernetes: how late a missed run may still start (default 1h)", NULL, 0, NULL),
	OPTION(WATCH, 0, NULL, "--kubernetes: a Deployment running plan watch (event-driven backups) instead of a CronJob", NULL, 0, NULL),
	OPTION(QUIET_PERIOD, 0, "DURATION", "--watch: the watcher's --quiet-period (plan watch; default 60s)", NULL, 0, NULL),
	OPTION(MAX_INTERVAL, 0, "DURATION", "--watch: the watcher's --max-interval (plan watch; default 1h, 0: none)", NULL, 0, NULL),
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	OPTION(AWS_CREDENTIALS, 0, "FILE", "--kubernetes: an AWS shared credentials file for an S3 location, put in the Secret", "file", 0, NULL),
	OPT_END
};

static const struct kahu_opt uninstall_opts[] = {
	INSTALL_TARGET_OPTS,
	OPT_END
};

const struct kahu_cmd cmd_plan_install_entry = {
	.name = "plan install",
	.args = "[NAME]",
	.min_args = 0,
	.max_args = 1,
	.summary = "Run a plan on its schedule: a crontab entry, systemd units, or a CronJob in the cluster",
	.opts = install_opts,
	.run = run_plan_install,
	.args_complete = "@plan",
};

const struct kahu_cmd cmd_plan_uninstall_entry = {
	.name = "plan uninstall",
	.args = "NAME",
	.min_args = 1,
	.max_args = 1,
	.summary = "Remove what plan install made for a plan (its backups stay)",
	.opts = uninstall_opts,
	.run = run_plan_uninstall,
	.args_complete = "@plan",
};

/* kahu — running hooks: exec hooks in pods (pods/exec, kube/exec.h), local hooks on the
 * operator's machine, their outcomes, and the backup's hooks around the collection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "engine/hooks.h"
#include "engine/hooks_backup.h"

#include "engine/scope.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/exec.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- results ---- */

void hook_results_init(struct hook_results *r)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
}

static void result_clear(struct hook_result *x)
{
	free(x->when);
	free(x->hook);
	free(x->source);
	free(x->namespace_);
	free(x->pod);
	free(x->container);
	free(x->command);
	free(x->stderr_tail);
	free(x->error);
}

void hook_results_free(struct hook_results *r)
{
	for (size_t i = 0; i < r->n; i++)
		result_clear(&r->v[i]);
	free(r->v);
	pthread_mutex_destroy(&r->mu);
	memset(r, 0, sizeof *r);
}

void hook_results_add(struct hook_results *r, struct hook_result *res)
{
	char where[600] = "";
	if (res->pod)
		snprintf(where, sizeof where, " in pod %s/%s container %s", res->namespace_, res->pod,
			 res->container ? res->container : "?");
	if (!res->error)
		log_info("%s hook %s%s: %s exited 0 after %lld ms", res->when, res->hook, where, res->command,
			 (long long)res->duration_ms);
	else
		log_warn("%s hook %s%s failed (on-error %s): %s: %s%s%s", res->when, res->hook, where,
			 res->on_error == HOOK_FAIL ? "Fail" : "Continue", res->command, res->error,
			 res->stderr_tail && *res->stderr_tail ? "; stderr: " : "",
			 res->stderr_tail ? res->stderr_tail : "");
	pthread_mutex_lock(&r->mu);
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->v = xrealloc(r->v, r->cap * sizeof *r->v);
	}
	r->v[r->n++] = *res;
	if (res->error && res->on_error == HOOK_FAIL)
		r->failed++;
	else if (res->error)
		r->warned++;
	pthread_mutex_unlock(&r->mu);
	memset(res, 0, sizeof *res);
}

json_t *hook_results_json(struct hook_results *r)
{
	json_t *a = json_array();
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++) {
		const struct hook_result *x = &r->v[i];
		json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:i, s:I, s:s, s:s}",
				      "when", x->when, "hook", x->hook, "source", x->source,
				      "namespace", x->namespace_, "pod", x->pod, "container", x->container,
				      "command", x->command, "exitCode", x->exit_code,
				      "durationMs", (json_int_t)x->duration_ms,
				      "onError", x->on_error == HOOK_FAIL ? "Fail" : "Continue",
				      "status", !x->error ? "Succeeded" :
						x->on_error == HOOK_FAIL ? "Failed" : "Warning");
		if (x->stderr_tail && *x->stderr_tail)
			json_object_set_new(o, "stderr", json_string(x->stderr_tail));
		if (x->error)
			json_object_set_new(o, "error", json_string(x->error));
		json_array_append_new(a, o);
	}
	pthread_mutex_unlock(&r->mu);
	return a;
}

/* The last HOOK_TAIL_MAX bytes of `s`, printable. */
static char *tail_printable(const char *s, size_t len)
{
	struct kbuf b = KBUF_INIT;
	if (len > HOOK_TAIL_MAX)
		s += len - HOOK_TAIL_MAX;
	char *copy = xstrndup(s, len > HOOK_TAIL_MAX ? HOOK_TAIL_MAX : len);
	/* Trailing newlines say nothing. */
	size_t n = strlen(copy);
	while (n && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
		copy[--n] = 0;
	kbuf_add_printable(&b, copy, 0);
	free(copy);
	return kbuf_detach(&b);
}

static char *argv_text(const struct strv *argv)
{
	struct kbuf b = KBUF_INIT;
	for (size_t i = 0; i < argv->n; i++) {
		if (i)
			kbuf_addc(&b, ' ');
		kbuf_add_printable(&b, argv->v[i], 0);
	}
	return kbuf_detach(&b);
}

static const char *when_name(enum hook_when when)
{
	switch (when) {
	case HOOK_BACKUP_PRE: return "pre";
	case HOOK_BACKUP_POST: return "post";
	case HOOK_RESTORE_POST: return "restore-post";
	}
	return "?";
}

/* ---- exec hooks ---- */

static int get_pod(struct kube_client *kc, const char *ns, const char *name, json_t **out)
{
	struct kube_response resp = { 0 };
	char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	int rc = kube_request(kc, "GET", path, NULL, NULL, NULL, 0, 0, &resp);
	free(path);
	if (rc == 0) {
		json_error_t je;
		*out = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, &je);
		if (!*out)
			rc = kahu_error_set(KAHU_EDATA, "pod %s/%s: the server's answer is not JSON", ns, name);
	}
	kube_response_clear(&resp);
	return rc;
}

/* Runs one exec hook; fills res (error NULL on success).  Returns KAHU_EINTR when
 * cancelled, else 0. */
static int run_one(struct kube_client *kc, json_t *pod0, const struct hook_exec *h, enum hook_when when,
		   struct hook_result *res)
{
	json_t *meta = json_object_get(pod0, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	json_t *pod = json_incref(pod0);
	int64_t start = now_ms();
	int64_t wait_s = when == HOOK_RESTORE_POST ? h->wait_timeout_s : h->timeout_s;
	const char *container = NULL;
	int running = 0, rc = 0;

	res->when = xstrdup(when_name(when));
	res->hook = xstrdup(h->name);
	res->source = xstrdup(h->source);
	res->namespace_ = xstrdup(ns);
	res->pod = xstrdup(name);
	res->command = argv_text(&h->argv);
	res->on_error = h->on_error;
	res->exit_code = -1;

	/* The container: named or first; a pod not running yet is read again until it
	 * runs or the wait is over. */
	for (;;) {
		if ((rc = hook_container_resolve(pod, h->container, &container, &running)) < 0) {
			res->error = xstrdup(kahu_error_last());
			rc = 0;
			goto out;
		}
		if (running)
			break;
		if (now_ms() - start >= wait_s * 1000) {
			char *states = hook_container_states(pod);
			res->container = xstrdup(container);
			const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
			res->error = xasprintf("container %s is not running after %llds (pod phase %s; "
					       "containers: %s)", container, (long long)wait_s,
					       phase ? phase : "unknown", states);
			free(states);
			goto out;
		}
		if ((rc = kahu_cancel_sleep(500)) < 0)
			goto out;
		json_t *fresh = NULL;
		if ((rc = get_pod(kc, ns, name, &fresh)) < 0) {
			if (rc == KAHU_EINTR)
				goto out;
			res->error = xasprintf("cannot read pod %s/%s again: %s", ns, name, kahu_error_last());
			rc = 0;
			goto out;
		}
		json_decref(pod);
		pod = hook_pod_trim(fresh);
		json_decref(fresh);
	}
	res->container = xstrdup(container);

	struct kube_exec_opts o = {
		.namespace_ = ns,
		.pod = name,
		.container = container,
		.argv = (const char *const *)h->argv.v,
		/* The timeout ends the exec whatever the command writes (only stderr, or
		 * nothing at all). */
		.timeout_ms = h->timeout_s > INT_MAX / 1000 ? INT_MAX : (int)(h->timeout_s * 1000),
	};
	struct kube_exec *x = NULL;
	int64_t t0 = now_ms();
	/* The server may not see the container running yet when its status says so
	 * (KAHU_ETEMP): tried again within the wait. */
	while ((rc = kube_exec_open(kc, &o, &x)) == KAHU_ETEMP && now_ms() - start < wait_s * 1000) {
		if ((rc = kahu_cancel_sleep(500)) < 0)
			break;
		t0 = now_ms();
	}
	if (rc == 0) {
		char buf[16384];
		size_t got;
		while ((rc = kube_exec_read(x, buf, sizeof buf, &got)) == 0 && got) {
			if (now_ms() - t0 >= h->timeout_s * 1000) {
				rc = KAHU_ETEMP;
				break;
			}
		}
		if (rc == 0)
			rc = kube_exec_finish(x, &res->exit_code);
	}
	if (x) {
		const char *t = kube_exec_stderr_tail(x);
		res->stderr_tail = tail_printable(t, strlen(t));
	}
	if (rc == KAHU_ETEMP && x) {
		res->error = xasprintf("timed out after %llds (the exec was ended)", (long long)h->timeout_s);
		rc = 0;
	} else if (rc == KAHU_EINTR) {
		res->error = xstrdup("interrupted");
	} else if (rc < 0) {
		res->error = xstrdup(kahu_error_last());
		rc = 0;
	} else if (res->exit_code != 0) {
		res->error = xasprintf("exit code %d", res->exit_code);
	}
	kube_exec_free(x);
out:
	res->duration_ms = now_ms() - start;
	json_decref(pod);
	return rc;
}

/* The hooks one after the other; the first that fails under on-error Fail stops the
 * rest and, when `failed` is not NULL, is described there. */
static int run_pod(struct kube_client *kc, json_t *pod, const struct hook_exec *hooks, size_t n,
		   enum hook_when when, struct hook_results *r, char **failed)
{
	for (size_t i = 0; i < n; i++) {
		struct hook_result res = { 0 };
		int rc = run_one(kc, pod, &hooks[i], when, &res);
		int stop = res.error && res.on_error == HOOK_FAIL;
		if (stop && failed)
			*failed = xasprintf("%s hook %s (%s) failed: %s", when_name(when), res.hook,
					    res.source, res.error);
		hook_results_add(r, &res);
		if (rc < 0)
			return rc;
		if (stop)
			break;
	}
	return 0;
}

int hook_run_pod(struct kube_client *kc, json_t *pod, const struct hook_exec *hooks, size_t n,
		 enum hook_when when, struct hook_results *r)
{
	return run_pod(kc, pod, hooks, n, when, r, NULL);
}

/* ---- local hooks ---- */

static void build_env(const char *const *extra, struct strv *out)
{
	struct strv e = STRV_INIT;
	for (char **p = environ; p && *p; p++) {
		int replaced = 0;
		for (const char *const *x = extra; x && *x; x++) {
			const char *eq = strchr(*x, '=');
			size_t kl = eq ? (size_t)(eq - *x) + 1 : strlen(*x);
			if (strncmp(*p, *x, kl) == 0)
				replaced = 1;
		}
		if (!replaced)
			strv_push(&e, *p);
	}
	for (const char *const *x = extra; x && *x; x++)
		strv_push(&e, *x);
	if (!e.v)
		strv_push(&e, "PATH=/usr/bin:/bin");
	*out = e;
}

int hook_run_local(const struct hook_local *h, const char *when, const char *const *env,
		   struct hook_results *r)
{
	struct hook_result res = { 0 };
	struct kbuf out = KBUF_INIT;
	int64_t start = now_ms();
	int fds[2];

	res.when = xstrdup(when);
	res.hook = xstrdup(h->name);
	res.source = xstrdup("local");
	res.command = argv_text(&h->argv);
	res.on_error = h->on_error;
	res.exit_code = -1;

	struct strv envv = STRV_INIT;
	build_env(env, &envv);
	char **envp = envv.v;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		res.error = xasprintf("cannot create a pipe: %s", strerror(errno));
		goto done;
	}
	pid_t pid = fork();
	if (pid < 0) {
		res.error = xasprintf("cannot start it: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto done;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here: kahu has other threads. */
		setpgid(0, 0);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		/* Nothing of kahu's (connections, key files) reaches the hook. */
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
		signal(SIGPIPE, SIG_DFL);
		execvpe(h->argv.v[0], h->argv.v, envp);
		static const char msg[] = "cannot run the hook's program (not found or not executable)\n";
		ssize_t w = write(2, msg, sizeof msg - 1);
		(void)w;
		_exit(127);
	}
	setpgid(pid, pid);
	close(fds[1]);
	int timed_out = 0, status = 0;
	int64_t deadline = start + h->timeout_s * 1000;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int pr = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		char buf[4096];
		ssize_t n = read(fds[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		kbuf_add(&out, buf, (size_t)n);
		if (out.len > 4 * HOOK_TAIL_MAX) {
			memmove(out.data, out.data + out.len - HOOK_TAIL_MAX, HOOK_TAIL_MAX);
			out.len = HOOK_TAIL_MAX;
			out.data[out.len] = 0;
		}
	}
	close(fds[0]);
	if (timed_out) {
		kill(-pid, SIGTERM);
		for (int i = 0; i < 20 && waitpid(pid, &status, WNOHANG) == 0; i++)
			usleep(100000);
		if (waitpid(pid, &status, WNOHANG) == 0) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		res.error = xasprintf("timed out after %llds (it was ended)", (long long)h->timeout_s);
	} else {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status)) {
			res.exit_code = WEXITSTATUS(status);
			if (res.exit_code)
				res.error = xasprintf("exit code %d", res.exit_code);
		} else if (WIFSIGNALED(status)) {
			res.error = xasprintf("killed by signal %d", WTERMSIG(status));
		}
	}
	res.stderr_tail = tail_printable(kbuf_str(&out), out.len);
done:
	res.duration_ms = now_ms() - start;
	strv_free(&envv);
	kbuf_free(&out);
	hook_results_add(r, &res);
	return kahu_cancelled() ? KAHU_EINTR : 0;
}

/* ---- a backup's hooks ---- */

struct hb_pod {
	json_t *pod;
	struct hook_exec *pre, *post;
	size_t npre, npost;
	struct strv claims;      /* the claims it mounts (its namespace's) */
	int deferred;            /* its hooks run around its volumes' data (hook_backup_defer) */
	int pre_started;         /* its turn came: its pre hooks (if any) were started */
	int post_ran;            /* its post hooks were started (each pod's run once) */
};

struct hook_backup {
	struct kube_client *kc;
	const struct hook_set *hs;
	const struct kahu_scope *scope;
	const struct kube_resource *r;   /* pods, when the scope lists them; else NULL */
	struct hb_pod *pods;
	size_t npods;
	int parallel;
	struct hook_results results;
};

static void hb_pod_clear(struct hb_pod *p)
{
	for (size_t i = 0; i < p->npre; i++)
		hook_exec_clear(&p->pre[i]);
	for (size_t i = 0; i < p->npost; i++)
		hook_exec_clear(&p->post[i]);
	free(p->pre);
	free(p->post);
	strv_free(&p->claims);
	json_decref(p->pod);
}

/* A named container of a file's hook that no selected pod has. */
static int check_rule_containers(struct hook_backup *hb)
{
	for (size_t i = 0; i < hb->npods; i++) {
		struct hb_pod *p = &hb->pods[i];
		for (int w = 0; w < 2; w++) {
			struct hook_exec *v = w ? p->post : p->pre;
			size_t nv = w ? p->npost : p->npre;
			for (size_t j = 0; j < nv; j++) {
				const char *c;
				int running;
				if (!v[j].container || hook_container_resolve(p->pod, v[j].container, &c, &running) == 0)
					continue;
				/* Another selected pod with that container for the same definition? */
				int other = 0;
				for (size_t k = 0; k < hb->npods && !other; k++) {
					struct hb_pod *q = &hb->pods[k];
					struct hook_exec *qv = w ? q->post : q->pre;
					size_t nq = w ? q->npost : q->npre;
					for (size_t l = 0; l < nq && !other; l++)
						if (strcmp(qv[l].source, v[j].source) == 0 &&
						    hook_container_resolve(q->pod, v[j].container, &c, &running) == 0)
							other = 1;
				}
				if (!other)
					return kahu_error_wrap(KAHU_EUSAGE, "%s hook %s (%s)", w ? "post" : "pre",
							       v[j].name, v[j].source);
			}
		}
	}
	kahu_error_clear();
	return 0;
}

/* The claims a pod mounts: persistentVolumeClaim volumes, and generic ephemeral
 * volumes (their claim is named POD-VOLUME). */
static void pod_claims(json_t *pod, struct strv *out)
{
	const char *name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "volumes"), i, v) {
		const char *vname = json_string_value(json_object_get(v, "name"));
		const char *claim = json_string_value(json_object_get(json_object_get(v, "persistentVolumeClaim"),
								      "claimName"));
		if (claim)
			strv_push(out, claim);
		else if (vname && name && json_object_get(v, "ephemeral"))
			strv_push_owned(out, xasprintf("%s-%s", name, vname));
	}
}

struct hook_backup *hook_backup_new(struct kube_client *kc, const struct hook_set *hs,
				    const struct kahu_scope *scope, const struct kube_discovery *disc,
				    int parallel)
{
	struct hook_backup *hb = xcalloc(1, sizeof *hb);
	hb->kc = kc;
	hb->hs = hs;
	hb->scope = scope;
	hb->parallel = parallel > 0 ? parallel : 1;
	hook_results_init(&hb->results);
	const struct kube_resource *r = kube_discovery_find(disc, "pods");
	if (r && scope_wants_type(scope, r) == SCOPE_TYPE_YES)
		hb->r = r;
	return hb;
}

int hook_backup_wants_pods(const struct hook_backup *hb)
{
	return hb && hb->r;
}

/* One pod of the list: kept, cut down to what hooks need, when it has hooks. */
int hook_backup_add_pod(struct hook_backup *hb, json_t *pod)
{
	struct hb_pod p = { 0 };
	int rc;
	if (!hb->r || scope_wants_object(hb->scope, hb->r, pod) != SCOPE_INCLUDED)
		return 0;
	if ((rc = hook_pod_hooks(hb->hs, pod, HOOK_BACKUP_PRE, &p.pre, &p.npre)) < 0 ||
	    (rc = hook_pod_hooks(hb->hs, pod, HOOK_BACKUP_POST, &p.post, &p.npost)) < 0) {
		hb_pod_clear(&p);
		return rc;
	}
	if (!p.npre && !p.npost)
		return 0;
	p.pod = hook_pod_trim(pod);
	pod_claims(pod, &p.claims);
	hb->pods = xrealloc(hb->pods, (hb->npods + 1) * sizeof *hb->pods);
	hb->pods[hb->npods++] = p;
	return 0;
}

int hook_backup_listed(struct hook_backup *hb, int list_rc)
{
	int rc = list_rc;
	if (rc == 0)
		return check_rule_containers(hb);
	if (rc == KAHU_EUSAGE)
		return rc; /* a bad hook annotation, the pod named */
	/* Without a hooks file's exec hooks, pods that cannot be listed (forbidden) have
	 * no hooks to run: said, and the backup goes on (its list of pods fails the same
	 * way and says so). */
	int file_execs = 0;
	for (size_t i = 0; hb->hs && i < hb->hs->nrules; i++)
		file_execs += hb->hs->rules[i].npre + hb->hs->rules[i].npost != 0;
	if (file_execs || rc == KAHU_EINTR)
		return kahu_error_wrap(rc, "cannot list the pods for their hooks");
	log_info("the pods could not be listed for their hook annotations, which are not run: %s",
		 kahu_error_last());
	kahu_error_clear();
	/* What was kept of a list cut short is dropped: no hook runs on half a list. */
	for (size_t i = 0; i < hb->npods; i++)
		hb_pod_clear(&hb->pods[i]);
	hb->npods = 0;
	return 0;
}

size_t hook_backup_npods(const struct hook_backup *hb)
{
	return hb ? hb->npods : 0;
}

int hook_backup_pod_info(const struct hook_backup *hb, size_t i, const char **namespace_,
			 const char **name, const struct strv **claims)
{
	json_t *md = json_object_get(hb->pods[i].pod, "metadata");
	*namespace_ = json_string_value(json_object_get(md, "namespace"));
	*name = json_string_value(json_object_get(md, "name"));
	*claims = &hb->pods[i].claims;
	return hb->pods[i].npre > 0;
}

void hook_backup_defer(struct hook_backup *hb, size_t i)
{
	hb->pods[i].deferred = 1;
}

/* The hooks of pod i at `when`; *failed (when not NULL) gets the first failure under
 * on-error Fail ("pre hook NAME failed: WHY"), else NULL.  Post hooks thaw what pre
 * hooks froze: they run shielded from the cancel token, so that an interrupted backup
 * still runs them (each ends by its own timeout), and once per pod. */
int hook_backup_pod(struct hook_backup *hb, enum hook_when when, size_t i, char **failed)
{
	struct hb_pod *p = &hb->pods[i];
	int post = when == HOOK_BACKUP_POST;
	if (failed)
		*failed = NULL;
	if (!post) {
		p->pre_started = 1;
	} else {
		/* Nothing to thaw before the pod's turn came; its post hooks run once. */
		if (!p->pre_started || p->post_ran)
			return 0;
		p->post_ran = 1;
		kahu_cancel_shield(1);
	}
	int rc = run_pod(hb->kc, p->pod, post ? p->post : p->pre, post ? p->npost : p->npre, when,
			 &hb->results, failed);
	if (post)
		kahu_cancel_shield(0);
	return rc;
}

static int hb_pre_job(void *ud, size_t i)
{
	struct hook_backup *hb = ud;
	return hb->pods[i].deferred ? 0 : hook_backup_pod(hb, HOOK_BACKUP_PRE, i, NULL);
}

static int hb_post_job(void *ud, size_t i)
{
	struct hook_backup *hb = ud;
	return hb->pods[i].deferred ? 0 : hook_backup_pod(hb, HOOK_BACKUP_POST, i, NULL);
}

int hook_backup_all(struct hook_backup *hb, enum hook_when when)
{
	size_t n = 0;
	for (size_t i = 0; hb && i < hb->npods; i++)
		n += !hb->pods[i].deferred;
	if (!n)
		return 0;
	unsigned threads = (unsigned)(n < (size_t)hb->parallel ? n : (size_t)hb->parallel);
	return kahu_pool_run(hb->npods, threads, KAHU_POOL_KEEP_GOING,
			     when == HOOK_BACKUP_POST ? hb_post_job : hb_pre_job, hb);
}

int hook_backup_finish(struct hook_backup *hb)
{
	/* The pool hands out no more jobs once the run is interrupted, and a volume step
	 * that failed or was interrupted may not have reached every pod: the post hooks
	 * of the pods whose pre hooks were started and whose post hooks have not run are
	 * run here, one pod after the other. */
	int rc = 0;
	for (size_t i = 0; hb && i < hb->npods; i++)
		if (!hb->pods[i].post_ran) {
			int prc = hook_backup_pod(hb, HOOK_BACKUP_POST, i, NULL);
			if (rc == 0)
				rc = prc;
		}
	return rc;
}

int hook_run_locals(const struct hook_set *hs, int after, const char *const *env, struct hook_results *r)
{
	if (!hs)
		return 0;
	const struct hook_local *v = after ? hs->after : hs->before;
	size_t n = after ? hs->nafter : hs->nbefore;
	for (size_t i = 0; i < n; i++) {
		size_t failed = r->failed;
		int rc = hook_run_local(&v[i], after ? "after" : "before", env, r);
		if (rc < 0)
			return rc;
		if (r->failed > failed && !after)
			break;
	}
	return 0;
}

int hook_backup_local(struct hook_backup *hb, int after, const char *const *env)
{
	return hb ? hook_run_locals(hb->hs, after, env, &hb->results) : 0;
}

struct hook_results *hook_backup_results(struct hook_backup *hb)
{
	return hb ? &hb->results : NULL;
}

void hook_backup_free(struct hook_backup *hb)
{
	if (!hb)
		return;
	for (size_t i = 0; i < hb->npods; i++)
		hb_pod_clear(&hb->pods[i]);
	free(hb->pods);
	hook_results_free(&hb->results);
	free(hb);
}

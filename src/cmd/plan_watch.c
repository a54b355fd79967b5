/* kahu plan watch: the event-driven form of a plan.  The types of the plan's scope are
 * watched (kube/watch.h, a thread per watch); changes to objects in scope feed the
 * debounce decision (engine/debounce.h); this command's own loop, never the watcher's
 * callback, runs the plan once (cmd_plan_run_once) when the decision says so: one run
 * at a time, changes during a run lead to one more run after it.
 *
 *  - What starts a run: engine/watchfilter.h (the plan's scope keeps the object, it is
 *    not kahu's own, its type is not events or leases).
 *  - Where: cluster-wide, one watch per type, filtered here; when the plan names a plain
 *    list of namespaces, one watch per type and namespace (what plan install's
 *    namespaced RBAC allows).
 *  - New types: a watch of customresourcedefinitions only flags a change of them; the
 *    loop then stops the watches, finds the types again (between runs) and counts one
 *    change, so that a run covers what changed while no watch was open.
 *  - Signals: SIGINT/SIGTERM stop the watches; a running backup is interrupted as
 *    backup create is (nothing half-written left visible, its lock released).  Exit 0
 *    when no run was going; the interrupted run's status (130, 143) otherwise.
 *  - A failed run is logged and the watch goes on; a watch that fails for good (403,
 *    404, …) ends the command with that error. */
#include "cmd/common_opts.h"
#include "cmd/ctx.h"
#include "engine/collect.h"
#include "engine/debounce.h"
#include "engine/plan.h"
#include "engine/scope.h"
#include "engine/watchfilter.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/kubeconfig.h"
#include "kube/watch.h"
#include "store/config.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CRD_GROUP "apiextensions.k8s.io"
#define CRD_RESOURCE "customresourcedefinitions"

struct watch_spec {
	struct kahu_config *cfg;
	int64_t quiet_s, max_s;
};

/* What the watcher's callback and the loop share, under `mu`. */
struct wstate {
	pthread_mutex_t mu;
	struct debounce deb;
	long changes;                 /* since the last start */
	char first[512];              /* the first of them */
	const struct kahu_scope *scope;
	const struct kube_watch_target *targets;
	const struct kube_resource *const *res;   /* the type of each target */
	size_t n, synced;
	atomic_int stop;              /* the loop ended: stop the watches */
	atomic_int done;              /* the watcher returned */
	atomic_int restart;           /* custom resource definitions changed */
	size_t crd;                   /* the target watching them for that, or SIZE_MAX */
	int rc;                       /* its result */
	char msg[1024];               /* its error */
	const struct kube_config *kcfg;
	struct watch_fps *fps;        /* what each object in scope was (the callback's) */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void watch_spec_free(void *v)
{
	struct watch_spec *s = v;
	if (!s)
		return;
	config_free(s->cfg);
	free(s);
}

static int parse_plan_watch(struct kahu_ctx *ctx, void **out)
{
	struct watch_spec *s = xcalloc(1, sizeof *s);
	int rc;
	if ((rc = debounce_periods(inv_str(ctx->inv, OPT_QUIET_PERIOD), inv_str(ctx->inv, OPT_MAX_INTERVAL),
				   &s->quiet_s, &s->max_s)) < 0 ||
	    (rc = config_load(inv_str(ctx->inv, OPT_CONFIG), &s->cfg)) < 0) {
		watch_spec_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int on_event(void *ud, const struct kube_watch_event *ev)
{
	struct wstate *w = ud;
	const struct kube_watch_target *t = ev->target;
	const struct kube_resource *r = w->res[t - w->targets];
	if ((size_t)(t - w->targets) == w->crd) {
		/* only to find new types: a CRD in scope is a change through its own target */
		if (!ev->listed &&
		    (ev->type == KUBE_WEV_ADDED || ev->type == KUBE_WEV_MODIFIED || ev->type == KUBE_WEV_DELETED)) {
			atomic_store(&w->restart, 1);   /* the stop hook ends the watches */
			return 0;
		}
		if (ev->type != KUBE_WEV_SYNCED)
			return 0;
	}
	switch (ev->type) {
	case KUBE_WEV_SYNCED:
		if (++w->synced == w->n)
			log_notice("plan watch: %zu watch%s listed; waiting for changes", w->n,
				   w->n == 1 ? "" : "es");
		return 0;
	case KUBE_WEV_RELIST:
		log_notice("plan watch: %s: listed again (%s)", t->resource, ev->message ? ev->message : "");
		return 0;
	case KUBE_WEV_RESUMED:
		log_info("plan watch: %s: watch resumed (%s)", t->resource, ev->message ? ev->message : "");
		return 0;
	case KUBE_WEV_ADDED:
	case KUBE_WEV_MODIFIED:
	case KUBE_WEV_DELETED:
		break;
	default:
		return 0;
	}
	if (!watch_change_starts_run(w->scope, r, ev->object, ev->ns))
		return 0;
	/* The callback runs for one event at a time (kube/watch.h): fps needs no lock. */
	char *key = xasprintf("%s/%s %s/%s", t->group, t->resource, ev->ns ? ev->ns : "", ev->name);
	int changed = watch_fps_update(w->fps, key, ev->type == KUBE_WEV_DELETED ? NULL : ev->object);
	free(key);
	if (ev->listed)
		return 0;
	if (!changed) {
		log_debug("plan watch: %s %s %s%s%s: its status alone changed, or nothing", kube_wtype_name(ev->type),
			  t->resource, ev->ns && *ev->ns ? ev->ns : "", ev->ns && *ev->ns ? "/" : "", ev->name);
		return 0;
	}
	log_info("plan watch: %s %s %s%s%s", kube_wtype_name(ev->type), t->resource,
		  ev->ns && *ev->ns ? ev->ns : "", ev->ns && *ev->ns ? "/" : "", ev->name);
	pthread_mutex_lock(&w->mu);
	if (!w->changes++)
		snprintf(w->first, sizeof w->first, "%s %s %s%s%s", kube_wtype_name(ev->type), t->resource,
			 ev->ns && *ev->ns ? ev->ns : "", ev->ns && *ev->ns ? "/" : "", ev->name);
	debounce_change(&w->deb, mono_ms());
	pthread_mutex_unlock(&w->mu);
	return 0;
}

static int stop_hook(void *ud)
{
	struct wstate *w = ud;
	return atomic_load(&w->stop) || atomic_load(&w->restart);
}

static void *watcher(void *arg)
{
	struct wstate *w = arg;
	struct kube_watch_opts o = { .want_objects = 1, .report_listed = 1,
				     .user_agent = "kahu-plan-watch", .stop = stop_hook };
	w->rc = kube_watch_run(w->kcfg, w->targets, w->n, &o, on_event, w);
	if (w->rc < 0)
		snprintf(w->msg, sizeof w->msg, "%s", kahu_error_last());
	atomic_store(&w->done, 1);
	return NULL;
}

/* The targets: each type the plan backs up for itself that can be watched. */
static void targets_of(const struct plan *pl, const struct kahu_scope *scope, const struct strv *ns,
		       int literal, struct kube_watch_target **tv, const struct kube_resource ***rv,
		       size_t *n)
{
	size_t cap = pl->n * (literal && ns->n ? ns->n : 1) + 2, k = 0;   /* + the CRD watch */
	*tv = xcalloc(cap, sizeof **tv);
	*rv = xcalloc(cap, sizeof **rv);
	for (size_t i = 0; i < pl->n; i++) {
		const struct kube_resource *r = pl->types[i].res;
		if (pl->types[i].decision != SCOPE_TYPE_YES || !(r->verbs & KUBE_VERB_WATCH) ||
		    !watch_type_starts_runs(pl->types[i].group_resource))
			continue;
		size_t reps = r->namespaced && literal ? ns->n : 1;
		for (size_t j = 0; j < reps; j++) {
			(*tv)[k] = (struct kube_watch_target){
				.group = r->group, .version = r->version, .resource = r->resource,
				.kind = r->kind, .namespaced = r->namespaced,
				.namespace = r->namespaced && literal ? ns->v[j] : NULL,
				.label_selector = scope_server_label_selector(scope),
			};
			(*rv)[k++] = r;
		}
	}
	*n = k;
}

static int run_plan_watch(struct kahu_ctx *ctx)
{
	struct watch_spec *s = ctx->spec;
	struct backup_plan *p = NULL;
	struct kube_discovery *d = NULL;
	struct kahu_scope *scope = NULL;
	struct plan pl = { 0 };
	struct strv ns = STRV_INIT;
	struct kube_watch_target *tv = NULL;
	const struct kube_resource **rv = NULL;
	struct kube_client *kc, *wkc = NULL;
	struct kube_config *wcfg = NULL;
	struct wstate w = { .mu = PTHREAD_MUTEX_INITIALIZER };
	pthread_t th;
	int started = 0, rc, interrupted = 0;
	const char *name = ctx->inv->args.n ? ctx->inv->args.v[0] : NULL;

	if ((rc = cmd_plan_get(ctx, s->cfg, name, &p)) < 0)
		goto out;
	if (p->contexts.n) {
		rc = kahu_error_set(KAHU_EUSAGE, "plan %s runs in several contexts (spec.contexts); plan "
				    "watch watches one cluster: run it once per cluster with a plan of that "
				    "context", p->name);
		goto out;
	}
	if (p->context && !inv_str(ctx->inv, OPT_CONTEXT)) {
		ctx_release(ctx);   /* the plan's cluster, as plan run uses it */
		ctx->context = p->context;
	}
	if (p->cadence == PLAN_CADENCE_FULL)
		log_warn("plan %s: its cadence is full, so every run started by changes is a full "
			 "backup (spec.cadence: incremental makes them incremental)", p->name);

	/* The watcher keeps the configuration it started with; the runs get their own
	 * (a run may release the context's). */
	if ((rc = ctx_kube_client(ctx, &kc)) < 0)
		goto out;
	wcfg = ctx->kcfg;
	wkc = kc;
	ctx->kcfg = NULL;
	ctx->kc = NULL;
	w.kcfg = wcfg;
	debounce_init(&w.deb, s->quiet_s * 1000, s->max_s * 1000);

	int64_t last_run = 0;
	for (;;) {
		/* The types in scope, as backup create finds them; again when custom resource
		 * definitions change. */
		struct backup_args a;
		backup_plan_args(p, &a);
		if ((rc = kube_discover(wkc, &d)) < 0 || (rc = scope_from_args(&a, &scope)) < 0 ||
		    (rc = scope_resolve(scope, d, NULL)) < 0 || (rc = plan_build(d, scope, &pl)) < 0)
			goto out;
		int literal = scope_literal_namespaces(scope, &ns);
		targets_of(&pl, scope, &ns, literal, &tv, &rv, &w.n);
		if (!w.n) {
			rc = kahu_error_set(KAHU_ENOTFOUND, "plan %s: no type in its scope can be watched",
					    p->name);
			goto out;
		}
		size_t nscope = w.n;
		w.crd = SIZE_MAX;
		for (size_t i = 0; i < d->n; i++) {
			const struct kube_resource *r = &d->res[i];
			if (r->preferred && (r->verbs & KUBE_VERB_WATCH) && !strcmp(r->resource, CRD_RESOURCE) &&
			    !strcmp(r->group, CRD_GROUP)) {
				tv[w.n] = (struct kube_watch_target){ .group = r->group, .version = r->version,
					.resource = r->resource, .kind = r->kind };
				rv[w.n] = r;
				w.crd = w.n++;
				break;
			}
		}
		w.scope = scope;
		w.targets = tv;
		w.res = rv;
		w.synced = 0;
		watch_fps_free(w.fps);   /* the first lists record every object again */
		w.fps = watch_fps_new();
		atomic_store(&w.stop, 0);
		atomic_store(&w.done, 0);
		atomic_store(&w.restart, 0);
		log_notice("plan %s: watching %zu type%s of its scope (quiet period %llds, max interval "
			   "%s%lld%s)", p->name, nscope, nscope == 1 ? "" : "s", (long long)s->quiet_s,
			   s->max_s ? "" : "none", s->max_s ? (long long)s->max_s : 0LL, s->max_s ? "s" : "");
		if (pthread_create(&th, NULL, watcher, &w)) {
			rc = kahu_error_set(KAHU_EINTERNAL, "cannot start the watcher thread");
			goto out;
		}
		started = 1;

		while (!kahu_cancelled() && !atomic_load(&w.done) && !atomic_load(&w.restart)) {
			pthread_mutex_lock(&w.mu);
			int64_t now = mono_ms();
			if (!debounce_due(&w.deb, now)) {
				int64_t next = debounce_next(&w.deb);
				pthread_mutex_unlock(&w.mu);
				long ms = next < 0 || next - now > 200 ? 200 : (long)(next - now) + 1;
				kahu_cancel_sleep(ms);
				continue;
			}
			int64_t when;
			int fake;
			if ((rc = plan_now(&when, &fake)) < 0) {
				pthread_mutex_unlock(&w.mu);
				goto out;
			}
			if (when <= last_run) {
				/* backups are named by the second: the next run starts in the next one */
				pthread_mutex_unlock(&w.mu);
				kahu_cancel_sleep(100);
				continue;
			}
			debounce_started(&w.deb, now);
			long changes = w.changes;
			char first[sizeof w.first];
			memcpy(first, w.first, sizeof first);
			w.changes = 0;
			w.first[0] = 0;
			pthread_mutex_unlock(&w.mu);

			last_run = when;
			log_notice("plan %s: run %ld starts: %ld change%s since the last run, the first: %s",
				   p->name, w.deb.runs, changes, changes == 1 ? "" : "s", first);
			int rrc = cmd_plan_run_once(ctx, p, s->cfg, when, 0);
			fflush(stdout);
			pthread_mutex_lock(&w.mu);
			debounce_finished(&w.deb, mono_ms());
			pthread_mutex_unlock(&w.mu);
			if (rrc == KAHU_EINTR && kahu_cancelled()) {
				log_notice("plan %s: run %ld interrupted", p->name, w.deb.runs);
				interrupted = 1;
				rc = rrc;
				break;
			}
			if (rrc == 0)
				log_notice("plan %s: run %ld done", p->name, w.deb.runs);
			else
				log_error("plan %s: run %ld failed (the watch goes on): %s", p->name,
					  w.deb.runs, kahu_error_last());
			kahu_error_clear();
		}
		atomic_store(&w.stop, 1);
		pthread_join(th, NULL);
		started = 0;
		if (interrupted || kahu_cancelled() || !atomic_load(&w.restart))
			break;
		/* Custom resource definitions changed: the types again.  What changed while no
		 * watch was open is covered by a run (counted as one change). */
		log_notice("plan %s: custom resource definitions changed; finding the types again", p->name);
		pthread_mutex_lock(&w.mu);
		if (!w.changes++)
			snprintf(w.first, sizeof w.first, "the types of the scope found again");
		debounce_change(&w.deb, mono_ms());
		pthread_mutex_unlock(&w.mu);
		free(tv);
		free(rv);
		tv = NULL;
		rv = NULL;
		strv_free(&ns);
		plan_free(&pl);
		scope_free(scope);
		scope = NULL;
		kube_discovery_free(d);
		d = NULL;
	}
	if (interrupted) {
		kahu_error_set(KAHU_EINTR, "plan %s: stopped by a signal during a run", p->name);
		rc = KAHU_EINTR;
	} else if (w.rc < 0 && !(w.rc == KAHU_EINTR && kahu_cancelled())) {
		rc = kahu_error_set(w.rc, "plan %s: %s", p->name, w.msg);
	} else {
		log_notice("plan %s: stopped watching", p->name);
		rc = 0;
	}
out:
	if (started) {
		atomic_store(&w.stop, 1);
		pthread_join(th, NULL);
	}
	watch_fps_free(w.fps);
	kube_client_free(wkc);
	kube_config_free(wcfg);
	free(tv);
	free(rv);
	strv_free(&ns);
	plan_free(&pl);
	scope_free(scope);
	kube_discovery_free(d);
	backup_plan_free(p);
	return rc;
}

static const struct kahu_opt watch_opts[] = {
	OPTION(FILE, 'f', "FILE", "read the plan from a YAML file (kahu-plan(5); - for standard input)", "file", 0, NULL),
	OPTION(FROM_CONFIGMAP, 0, "NS/NAME", "read the plan from the plan.yaml key of a ConfigMap in the cluster", NULL, 0, NULL),
	OPTION(QUIET_PERIOD, 0, "DURATION", "a run starts once nothing in scope changed for DURATION", NULL, 0, "60s"),
	OPTION(MAX_INTERVAL, 0, "DURATION", "a run starts at the latest DURATION after the first change not backed up (0: no maximum)", NULL, 0, "1h"),
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

const struct kahu_cmd cmd_plan_watch_entry = {
	.name = "plan watch",
	.args = "[NAME]",
	.min_args = 0,
	.max_args = 1,
	.summary = "Run a plan whenever something in its scope changes (debounced), until stopped",
	.opts = watch_opts,
	.parse = parse_plan_watch,
	.run = run_plan_watch,
	.spec_free = watch_spec_free,
	.args_complete = "@plan",
};

/* kahu — collecting the objects of a backup (see collect.h). */
#include "engine/collect.h"
#include "kube/discovery.h"
#include "kube/objtext.h"
#include "kube/pager.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pool.h"
#include "util/strset.h"
#include "util/strv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Types served under two names: only the first of each pair is backed up. */
static const struct {
	const char *alias;    /* group-resource not backed up */
	const char *primary;  /* the one that is, when the server serves it */
} aliases[] = {
	{ "events.events.k8s.io", "events" },
	{ "ingresses.extensions", "ingresses.networking.k8s.io" },
	{ "deployments.extensions", "deployments.apps" },
	{ "daemonsets.extensions", "daemonsets.apps" },
	{ "replicasets.extensions", "replicasets.apps" },
	{ "networkpolicies.extensions", "networkpolicies.networking.k8s.io" },
	{ "podsecuritypolicies.extensions", "podsecuritypolicies.policy" },
};

/* The verbs and name of a type that can be backed up, whatever its version; which
 * version is used is plan_build's choice. */
int plan_type_backupable(const struct kube_resource *r)
{
	unsigned need = KUBE_VERB_LIST | KUBE_VERB_GET | KUBE_VERB_CREATE | KUBE_VERB_DELETE;
	return (r->verbs & need) == need && !strchr(r->resource, '/');
}

static int served(const struct kube_discovery *d, const char *gr)
{
	for (size_t i = 0; i < d->n; i++) {
		if (!plan_type_backupable(&d->res[i]))
			continue;
		char *x = kube_group_resource(&d->res[i]);
		int eq = strcmp(x, gr) == 0;
		free(x);
		if (eq)
			return 1;
	}
	return 0;
}

static int is_alias(const struct kube_discovery *d, const char *gr)
{
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (strcmp(gr, aliases[i].alias) == 0 && served(d, aliases[i].primary))
			return 1;
	return 0;
}

static int cmp_type(const void *a, const void *b)
{
	const struct plan_type *x = a, *y = b;
	return strcmp(x->group_resource, y->group_resource);
}

/* The referenced types whose objects collect_run keeps when items need them. */
static int referenced_kind(const char *gr)
{
	return strcmp(gr, "namespaces") == 0 || strcmp(gr, "persistentvolumes") == 0 ||
	       strcmp(gr, "customresourcedefinitions.apiextensions.k8s.io") == 0;
}

int plan_build(const struct kube_discovery *d, const struct kahu_scope *scope, struct plan *out)
{
	struct strset seen = STRSET_INIT;
	memset(out, 0, sizeof *out);
	out->types = xcalloc(d->n + 1, sizeof *out->types);
	/* Each type at the group's preferred version; a type the preferred version does
	 * not serve (metallb.io: bfdprofiles only in v1beta1, preferred v1beta2) at the
	 * first version that does, in the server's order of preference (as client-go's
	 * ServerPreferredResources).  Requiring the preferred version lost those. */
	for (size_t k = 0; k < 2 * d->n; k++) {
		const struct kube_resource *r = &d->res[k % d->n];
		if ((k < d->n) != (r->preferred != 0) || !plan_type_backupable(r))
			continue;
		char *gr = kube_group_resource(r);
		if (is_alias(d, gr) || !strset_add(&seen, gr)) {
			free(gr);
			continue;
		}
		enum scope_type_decision dec = scope_wants_type(scope, r);
		if (dec == SCOPE_TYPE_NO || (dec == SCOPE_TYPE_ONLY_REFERENCED && !referenced_kind(gr))) {
			free(gr);
			continue;
		}
		struct plan_type *t = &out->types[out->n++];
		t->res = r;
		t->group_resource = gr;
		t->decision = dec;
	}
	strset_free(&seen);
	qsort(out->types, out->n, sizeof *out->types, cmp_type);
	return 0;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->types[i].group_resource);
		free(p->types[i].message);
		free(p->types[i].carried_from);
		free(p->types[i].failed_first);
	}
	free(p->types);
	memset(p, 0, sizeof *p);
}

long plan_kept(const struct plan *p)
{
	long n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += p->types[i].kept;
	return n;
}

long plan_kept_ok(const struct plan *p)
{
	long n = 0;
	for (size_t i = 0; i < p->n; i++)
		if (!p->types[i].error)
			n += p->types[i].kept;
	return n;
}

size_t plan_failed_types(const struct plan *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += p->types[i].error != 0;
	return n;
}

/* ---- running ---- */

struct run {
	struct kube_client *kc;
	const struct kahu_scope *scope;
	struct plan *plan;
	const struct collect_opts *o;
	int per_namespace;             /* list namespaced types namespace by namespace… */
	struct strv literal_ns;        /* …these */
	pthread_mutex_t lock;
	size_t done;
	long objects;
	int fatal;                     /* the error that stops everything */
	char fatal_msg[1024];
	struct strset namespaces;      /* namespaces holding kept items */
	struct strset volumes;         /* PV names bound to kept PVCs */
	struct strset kept_types;      /* group-resources with kept items */
	struct strset *want;           /* phase 2: names to keep for the current type */
};

struct item_ctx {
	struct run *run;
	struct plan_type *t;
	int referenced;
};

static const char *meta_str(json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

static int set_fatal(struct run *run, int rc)
{
	if (!run->fatal) {
		run->fatal = rc;
		snprintf(run->fatal_msg, sizeof run->fatal_msg, "%s", kahu_error_last());
	}
	return rc;
}

/* The PV a PVC is bound to: its spec.volumeName, read from its text. */
static char *volume_name(const struct kube_item *it)
{
	const char *spec, *v;
	size_t slen, vlen;
	if (!objtext_member(it->text, it->len, "spec", &spec, &slen) || *spec != '{' ||
	    !objtext_member(spec, slen, "volumeName", &v, &vlen))
		return NULL;
	json_t *s = objtext_string(v, vlen);
	char *name = json_string_value(s) && *json_string_value(s) ? xstrdup(json_string_value(s)) : NULL;
	json_decref(s);
	return name;
}

/* Each item comes as the server's text and a summary of its metadata (pager.h): the
 * scope decides on the summary, emit stores the text. */
static int on_item(void *ud, const struct kube_item *it)
{
	struct item_ctx *ic = ud;
	struct run *run = ic->run;
	struct plan_type *t = ic->t;
	json_t *obj = it->summary;
	enum scope_reason why;
	char *vol = NULL;
	int rc = 0;

	if (ic->referenced) {
		const char *name = meta_str(obj, "name");
		if (!name || !strset_has(run->want, name))
			return 0;
		why = scope_wants_referenced(run->scope, obj);
	} else {
		why = scope_wants_object(run->scope, t->res, obj);
	}

	/* Read outside the lock. */
	if (why == SCOPE_INCLUDED && strcmp(t->group_resource, "persistentvolumeclaims") == 0)
		vol = volume_name(it);

	pthread_mutex_lock(&run->lock);
	t->listed++;
	if (run->fatal) {
		rc = run->fatal;
		goto out;
	}
	if (why != SCOPE_INCLUDED) {
		t->excluded++;
		if (kahu_log_get_level() >= KAHU_LOG_DEBUG)
			log_debug("%s %s%s%s: %s", t->group_resource, meta_str(obj, "namespace") ?
				  meta_str(obj, "namespace") : "", meta_str(obj, "namespace") ? "/" : "",
				  meta_str(obj, "name") ? meta_str(obj, "name") : "?", scope_reason_name(why));
		goto out;
	}
	rc = run->o->emit(run->o->ud, t, obj, it->text, it->len);
	if (rc < 0) {
		set_fatal(run, rc);
		goto out;
	}
	if (rc > 0) { /* the object failed alone: not kept */
		rc = 0;
		goto out;
	}
	t->kept++;
	run->objects++;
	const char *ns = meta_str(obj, "namespace");
	if (kahu_log_get_level() >= KAHU_LOG_DEBUG)
		log_debug("%s %s%s%s: stored", t->group_resource, ns ? ns : "", ns ? "/" : "",
			  meta_str(obj, "name") ? meta_str(obj, "name") : "?");
	if (ns && t->res->namespaced)
		strset_add(&run->namespaces, ns);
	if (vol)
		strset_add(&run->volumes, vol);
	if (t->kept == 1)
		strset_add(&run->kept_types, t->group_resource);
	if (run->o->progress && (run->objects & 255) == 0)
		run->o->progress(run->o->ud, run->done, run->plan->n, run->objects);
out:
	pthread_mutex_unlock(&run->lock);
	free(vol);
	return rc;
}

static void list_type(struct run *run, struct plan_type *t, int referenced)
{
	struct item_ctx ic = { run, t, referenced };
	struct kube_list_opts lo = {
		.label_selector = referenced ? NULL : scope_server_label_selector(run->scope),
		.page_size = run->o->page_size,
	};
	int per_ns = !referenced && t->res->namespaced && run->per_namespace;
	size_t nns = per_ns ? run->literal_ns.n : 1;
	int rc = 0;

	for (size_t i = 0; i < nns && rc == 0; i++) {
		struct kube_list_stats st = { 0 };
		lo.namespace = per_ns ? run->literal_ns.v[i] : NULL;
		rc = kube_list_text(run->kc, t->res, &lo, on_item, &ic, &st);
		if (st.inconsistent)
			t->inconsistent = 1;
		kube_list_stats_clear(&st);
	}

	pthread_mutex_lock(&run->lock);
	if (rc < 0 && !run->fatal) {
		if (rc == KAHU_EINTR) {
			set_fatal(run, rc);
		} else {
			/* This type failed; the backup goes on and ends PartiallyFailed. */
			t->error = rc;
			t->message = xstrdup(kahu_error_last());
			log_warn("cannot back up %s: %s", t->group_resource, t->message);
		}
	}
	if (t->inconsistent)
		log_warn("the list of %s changed while it was read (continue token expired): "
			 "it may mix two moments", t->group_resource);
	run->done++;
	if (run->o->progress)
		run->o->progress(run->o->ud, run->done, run->plan->n, run->objects);
	pthread_mutex_unlock(&run->lock);
}

/* Phase 1's pool job: plan type `job`, when it is listed for itself.  A type's failure
 * stays with the type (list_type); the error that stops the backup is run->fatal, the
 * first one to happen, and the jobs after it list nothing. */
static int type_job(void *ud, size_t job)
{
	struct run *run = ud;
	struct plan_type *t = &run->plan->types[job];
	pthread_mutex_lock(&run->lock);
	int skip = run->fatal || t->decision != SCOPE_TYPE_YES;
	pthread_mutex_unlock(&run->lock);
	if (!skip)
		list_type(run, t, 0);
	return 0;
}

int collect_run(struct kube_client *kc, const struct kahu_scope *scope, struct plan *plan,
		const struct collect_opts *o)
{
	struct run run = { .kc = kc, .scope = scope, .plan = plan, .o = o };
	unsigned parallel = o->parallel > 0 ? (unsigned)o->parallel : 4;

	pthread_mutex_init(&run.lock, NULL);
	run.per_namespace = scope_literal_namespaces(scope, &run.literal_ns);

	/* Phase 1: the types listed for themselves, in parallel.  The pool's own error is
	 * only a cancellation seen between two types. */
	int prc = kahu_pool_run(plan->n, parallel, 0, type_job, &run);
	if (prc < 0 && !run.fatal)
		set_fatal(&run, prc);

	/* Phase 2: what the kept items need. */
	for (size_t i = 0; i < plan->n && !run.fatal; i++) {
		struct plan_type *t = &plan->types[i];
		if (t->decision != SCOPE_TYPE_ONLY_REFERENCED)
			continue;
		if (strcmp(t->group_resource, "namespaces") == 0)
			run.want = &run.namespaces;
		else if (strcmp(t->group_resource, "persistentvolumes") == 0)
			run.want = &run.volumes;
		else
			run.want = &run.kept_types; /* CRDs are named plural.group */
		if (run.want->n == 0) {
			run.done++;
			continue;
		}
		list_type(&run, t, 1);
	}

	int rc = run.fatal;
	if (rc < 0)
		kahu_error_set(rc, "%s", run.fatal_msg);
	strv_free(&run.literal_ns);
	strset_free(&run.namespaces);
	strset_free(&run.volumes);
	strset_free(&run.kept_types);
	pthread_mutex_destroy(&run.lock);
	return rc;
}

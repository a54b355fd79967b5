/* kahu — cleaning, namespace mapping, version choice and comparison of restored
 * objects (see sanitize.h): the generic rules and the use of the per-kind table
 * (sanitize_kinds.h, sanitize_kinds.c). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sanitize.h"
#include "engine/sanitize_kinds.h"
#include "kube/discovery.h"
#include "kube/resource.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strset.h"

/* ---- small JSON helpers ---- */

/* o[k] as an object, created when absent (or not an object). */
static json_t *jobj(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, k, v);
	}
	return v;
}

/* "apps/v1" -> group "apps"; "v1" -> "".  Returns the version part. */
static const char *split_api_version(const char *av, char **group)
{
	const char *slash = strchr(av, '/');
	*group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
	return slash ? slash + 1 : av;
}

/* ---- names ---- */

/* NULL when `s` is a DNS-1123 label, else why not. */
static const char *dns_label_problem(const char *s, char *bad)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (n > 63)
		return "is longer than 63 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
			*bad = (char)c;
			return "has a character other than a-z, 0-9 and '-'";
		}
	}
	if (s[0] == '-' || s[n - 1] == '-')
		return "must start and end with a lowercase letter or a digit";
	return NULL;
}

char *restore_label_value(const char *s)
{
	if (!s)
		return xstrdup("");
	size_t n = strlen(s);
	char *v = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		v[i] = isalnum(c) && c < 128 ? (char)c : c == '-' || c == '_' || c == '.' ? (char)c : '-';
	}
	v[n] = 0;
	/* A value starts and ends with an alphanumeric character. */
	size_t start = 0, end = n;
	while (start < end && !isalnum((unsigned char)v[start]))
		start++;
	while (end > start && !isalnum((unsigned char)v[end - 1]))
		end--;
	if (end - start <= 63 && end - start == n) {
		return v;
	}
	if (end - start <= 63 && end > start) {
		char *t = xstrndup(v + start, end - start);
		free(v);
		return t;
	}
	/* Too long (or nothing usable): a prefix and a hash of the whole name, so two
	 * long names that share the prefix still get different values. */
	size_t keep = end - start > 46 ? 46 : end - start;
	while (keep > 0 && !isalnum((unsigned char)v[start + keep - 1]))
		keep--;
	char *t = keep ? xasprintf("%.*s-%016llx", (int)keep, v + start,
				   (unsigned long long)kahu_fnv1a64_str(s))
		       : xasprintf("%016llx", (unsigned long long)kahu_fnv1a64_str(s));
	free(v);
	return t;
}

/* ---- namespace mapping ---- */

/* [s, end) without the blanks around it. */
static char *trimmed(const char *s, const char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	return xstrndup(s, (size_t)(end - s));
}

struct ns_map {
	struct strset m;
	size_t n;
};

int ns_map_parse(const char *spec, struct ns_map **out)
{
	struct strv fields = STRV_INIT;
	struct ns_map *m = NULL;
	int rc = 0;

	*out = NULL;
	strv_split(&fields, spec ? spec : "", ',');
	if (fields.n == 0) {
		rc = kahu_error_set(KAHU_EUSAGE, "the namespace mapping is empty; write SOURCE:TARGET[,SOURCE2:TARGET2…]");
		goto out;
	}
	m = xcalloc(1, sizeof *m);
	for (size_t i = 0; i < fields.n; i++) {
		const char *f = fields.v[i];
		const char *colon = strchr(f, ':');
		if (!colon) {
			rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\" has no ':'; write SOURCE:TARGET", f);
			goto out;
		}
		if (strchr(colon + 1, ':')) {
			rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\" has more than one ':'; write SOURCE:TARGET", f);
			goto out;
		}
		char *src = trimmed(f, colon);
		char *dst = trimmed(colon + 1, colon + 1 + strlen(colon + 1));

		const char *side = "source", *name = src;
		char bad = 0;
		const char *why = dns_label_problem(src, &bad);
		if (!why) {
			side = "target";
			name = dst;
			why = dns_label_problem(dst, &bad);
		}
		if (why) {
			if (bad && isprint((unsigned char)bad))
				rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\": the %s namespace \"%s\" %s ('%c'); "
						    "namespace names are DNS labels", f, side, name, why, bad);
			else if (bad)
				rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\": the %s namespace %s; "
						    "namespace names are DNS labels", f, side, why);
			else
				rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\": the %s namespace \"%s\" %s; "
						    "namespace names are DNS labels", f, side, name, why);
		} else if (strset_get(&m->m, src)) {
			rc = kahu_error_set(KAHU_EUSAGE, "namespace %s is mapped twice (to %s and to %s)", src,
					    strset_get(&m->m, src), dst);
		} else {
			strset_put(&m->m, src, dst);
			m->n++;
		}
		free(src);
		free(dst);
		if (rc < 0)
			goto out;
	}
	*out = m;
	m = NULL;
out:
	strv_free(&fields);
	ns_map_free(m);
	return rc;
}

const char *ns_map_target(const struct ns_map *m, const char *ns)
{
	if (!m || !ns)
		return ns;
	const char *t = strset_get(&m->m, ns);
	return t ? t : ns;
}

size_t ns_map_count(const struct ns_map *m)
{
	return m ? m->n : 0;
}

void ns_map_free(struct ns_map *m)
{
	if (!m)
		return;
	strset_free(&m->m);
	free(m);
}

void ns_map_apply(const struct ns_map *m, json_t *obj)
{
	if (!m || !json_is_object(obj))
		return;
	sanitize_map_field(m, json_object_get(obj, "metadata"), "namespace");
	const struct sanitize_kind *k = sanitize_kind_by_object(obj);
	if (k && k->map)
		k->map(m, obj);
}

/* ---- what is never restored ---- */

/* Controllers that recreate what they own from a template. */
static const struct {
	const char *gr;          /* the owned object's type */
	const char *owner_group; /* the owner's API group */
	const char *owner_kind;
	const char *why;
} owned_types[] = {
	{ "pods", "apps", "ReplicaSet", "owned by a ReplicaSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "extensions", "ReplicaSet", "owned by a ReplicaSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "apps", "StatefulSet", "owned by a StatefulSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "apps", "DaemonSet", "owned by a DaemonSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "extensions", "DaemonSet", "owned by a DaemonSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "batch", "Job", "owned by a Job, which recreates it (--restore-owned restores it)" },
	{ "replicasets.apps", "apps", "Deployment", "owned by a Deployment, which recreates it (--restore-owned restores it)" },
	{ "replicasets.apps", "extensions", "Deployment", "owned by a Deployment, which recreates it (--restore-owned restores it)" },
	{ "jobs.batch", "batch", "CronJob", "owned by a CronJob, which recreates it (--restore-owned restores it)" },
};

static const char *owned_reason(json_t *obj, const char *gr)
{
	size_t i;
	json_t *ref;
	json_array_foreach(JGET(obj, "metadata", "ownerReferences"), i, ref) {
		if (!json_is_true(json_object_get(ref, "controller")))
			continue;
		const char *av = jstr(ref, "apiVersion"), *kind = jstr(ref, "kind");
		if (!av || !kind)
			continue;
		char *group;
		split_api_version(av, &group);
		const char *why = NULL;
		for (size_t t = 0; t < sizeof owned_types / sizeof owned_types[0] && !why; t++)
			if (strcmp(gr, owned_types[t].gr) == 0 && strcmp(group, owned_types[t].owner_group) == 0 &&
			    strcmp(kind, owned_types[t].owner_kind) == 0)
				why = owned_types[t].why;
		free(group);
		if (why)
			return why;
	}
	return NULL;
}

/* Why obj (of type gr, whose row is k) is not restored, or NULL. */
static const char *never_reason(json_t *obj, const char *gr, const struct sanitize_kind *k,
				const struct restore_clean_opts *o)
{
	const char *why = NULL;
	if (k && k->never)
		return k->never;
	if (k && k->skip && (why = k->skip(obj, o)))
		return why;
	if (!o->restore_owned)
		return owned_reason(obj, gr);
	return NULL;
}

/* ---- cleaning ---- */

static const char *const server_metadata[] = {
	"uid", "resourceVersion", "selfLink", "generation", "creationTimestamp",
	"deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "ownerReferences",
};

static void strip_metadata(json_t *md)
{
	for (size_t i = 0; i < sizeof server_metadata / sizeof server_metadata[0]; i++)
		json_object_del(md, server_metadata[i]);
	if (jstr(md, "name"))
		json_object_del(md, "generateName");
}

static int status_kept(const char *gr, const struct strv *inc)
{
	if (!inc)
		return 0;
	const char *dot = strchr(gr, '.');
	size_t plural = dot ? (size_t)(dot - gr) : strlen(gr);
	for (size_t i = 0; i < inc->n; i++) {
		const char *e = inc->v[i];
		if (strcmp(e, "*") == 0 || strcmp(e, gr) == 0 ||
		    (!strchr(e, '.') && strlen(e) == plural && strncmp(e, gr, plural) == 0))
			return 1;
	}
	return 0;
}

void restore_clean_opts_init(struct restore_clean_opts *o)
{
	free(o->backup_label);
	free(o->restore_label);
	o->backup_label = o->backup_name ? restore_label_value(o->backup_name) : NULL;
	o->restore_label = o->restore_name ? restore_label_value(o->restore_name) : NULL;
}

void restore_clean_opts_release(struct restore_clean_opts *o)
{
	if (!o)
		return;
	free(o->backup_label);
	free(o->restore_label);
	o->backup_label = o->restore_label = NULL;
}

static void set_label(json_t *md, const char *key, const char *stored, const char *name)
{
	if (!name)
		return;
	json_t *labels = jobj(md, "labels");
	if (stored) {
		json_object_set_new(labels, key, json_string(stored));
	} else {
		/* restore_clean_opts_init was not called. */
		char *v = restore_label_value(name);
		json_object_set_new(labels, key, json_string(v));
		free(v);
	}
}

int restore_clean(json_t *obj, const char *gr, const struct restore_clean_opts *o, const char **skip_reason)
{
	static const struct restore_clean_opts defaults;
	const char *ignored;
	if (!o)
		o = &defaults;
	if (!skip_reason)
		skip_reason = &ignored;
	*skip_reason = NULL;

	json_t *md = json_object_get(obj, "metadata");
	if (!json_is_object(obj) || !json_is_object(md) || !jstr(md, "name")) {
		*skip_reason = "malformed object: no metadata.name";
		return CLEAN_SKIP;
	}
	if (!gr)
		gr = "";
	const struct sanitize_kind *k = sanitize_kind_by_type(gr);
	if ((*skip_reason = never_reason(obj, gr, k, o)))
		return CLEAN_SKIP;

	strip_metadata(md);
	if (!status_kept(gr, o->status_include))
		json_object_del(obj, "status");
	if (k && k->clean)
		k->clean(obj, o);
	ns_map_apply(o->map, obj);
	set_label(md, KAHU_LABEL_BACKUP, o->backup_label, o->backup_name);
	set_label(md, KAHU_LABEL_RESTORE, o->restore_label, o->restore_name);
	return CLEAN_RESTORE;
}

/* ---- API versions ---- */

/* "v2" -> (3, 2, 0); "v2beta1" -> (2, 2, 1); "v1alpha3" -> (1, 1, 3); other -> 0. */
static int version_rank(const char *v, long *major, long *minor)
{
	*major = *minor = 0;
	if (!v || v[0] != 'v' || !isdigit((unsigned char)v[1]))
		return 0;
	char *end;
	*major = strtol(v + 1, &end, 10);
	if (!*end)
		return 3;
	int stage = starts_with(end, "beta") ? 2 : starts_with(end, "alpha") ? 1 : 0;
	if (!stage)
		return 0;
	const char *m = end + (stage == 2 ? 4 : 5);
	if (!isdigit((unsigned char)*m))
		return 0;
	*minor = strtol(m, &end, 10);
	return *end ? 0 : stage;
}

int kube_version_cmp(const char *a, const char *b)
{
	long amaj, amin, bmaj, bmin;
	int ra = version_rank(a, &amaj, &amin), rb = version_rank(b, &bmaj, &bmin);
	if (ra != rb)
		return ra > rb ? -1 : 1;
	if (ra == 0)
		return strcmp(a ? a : "", b ? b : "");
	if (amaj != bmaj)
		return amaj > bmaj ? -1 : 1;
	if (amin != bmin)
		return amin > bmin ? -1 : 1;
	return 0;
}

static int creatable(const struct kube_resource *r)
{
	/* verbs 0: unknown (a discovery document without verbs) — let the server decide. */
	return r->verbs == 0 || (r->verbs & KUBE_VERB_CREATE);
}

/* Groups that belong to Kubernetes itself: no CRD brings them back. */
static int builtin_group(const char *g)
{
	size_t n = strlen(g);
	return !*g || !strchr(g, '.') || (n > 7 && strcmp(g + n - 7, ".k8s.io") == 0);
}

static char *missing_message(const struct kube_discovery *d, const char *group, const char *kind,
			     const char *av)
{
	struct kbuf msg = KBUF_INIT;
	struct strv served = STRV_INIT;
	/* A built-in kind that moved to another built-in group (Ingress: extensions ->
	 * networking.k8s.io); kinds of custom groups that share a name are unrelated. */
	const struct kube_resource *elsewhere = NULL;
	for (size_t i = 0; d && i < d->n; i++) {
		const struct kube_resource *r = &d->res[i];
		if (strcmp(r->group, group) == 0) {
			char *gv = kube_api_version(r);
			if (!strv_contains(&served, gv))
				strv_push(&served, gv);
			free(gv);
		} else if (strcmp(r->kind, kind) == 0 && creatable(r) && builtin_group(group) &&
			   builtin_group(r->group) &&
			   (!elsewhere || (r->preferred && !elsewhere->preferred))) {
			elsewhere = r;
		}
	}
	const char *gname = *group ? group : "core";
	if (!served.n) {
		kbuf_addf(&msg, "the target cluster does not serve group %s (kind %s, %s): %s", gname, kind, av,
			  builtin_group(group) ? "Kubernetes removed this API or it is not enabled"
					       : "restore its CRD first or include customresourcedefinitions");
	} else {
		strv_sort(&served);
		char *list = strv_join(&served, ", ");
		kbuf_addf(&msg, "the target cluster serves group %s but no version of it serves kind %s "
			  "(it serves %s)", gname, kind, list);
		free(list);
	}
	if (elsewhere) {
		char *gv = kube_api_version(elsewhere);
		kbuf_addf(&msg, "; kind %s is served as %s (a different group: convert the object first)", kind, gv);
		free(gv);
	}
	strv_free(&served);
	return kbuf_detach(&msg);
}

int restore_pick_version(json_t *obj, const struct kube_discovery *target, const struct kube_resource **out,
			 char **why)
{
	const char *av = jstr(obj, "apiVersion"), *kind = jstr(obj, "kind");
	*out = NULL;
	if (why)
		*why = NULL;
	if (!av || !kind || !*av || !*kind)
		return kahu_error_set(KAHU_EDATA, "the stored object has no apiVersion or kind");

	char *group;
	const char *version = split_api_version(av, &group);
	const struct kube_resource *best = NULL;
	for (size_t i = 0; target && i < target->n; i++) {
		const struct kube_resource *r = &target->res[i];
		if (strcmp(r->group, group) != 0 || strcmp(r->kind, kind) != 0 || !creatable(r))
			continue;
		if (strcmp(r->version, version) == 0) {
			best = r;
			break;
		}
		if (!best || (r->preferred && !best->preferred) ||
		    (r->preferred == best->preferred && kube_version_cmp(r->version, best->version) < 0))
			best = r;
	}
	if (!best) {
		char *msg = missing_message(target, group, kind, av);
		int rc = kahu_error_set(KAHU_ENOTFOUND, "%s", msg);
		if (why)
			*why = msg;
		else
			free(msg);
		free(group);
		return rc;
	}
	if (strcmp(best->version, version) != 0) {
		char *nav = kube_api_version(best);
		json_t *md = json_object_get(obj, "metadata");
		const char *ns = jstr(md, "namespace"), *name = jstr(md, "name");
		log_info("%s %s%s%s: the target cluster does not serve %s; restoring it as %s", kind,
			 ns ? ns : "", ns ? "/" : "", name ? name : "?", av, nav);
		json_object_set_new(obj, "apiVersion", json_string(nav));
		free(nav);
	}
	free(group);
	*out = best;
	return 0;
}

/* ---- existing objects ---- */

/* Annotations that controllers of the target maintain: never a difference. */
static int controller_annotation(const char *k)
{
	static const char *const exact[] = {
		"deployment.kubernetes.io/revision",
		"deployment.kubernetes.io/desired-replicas",
		"deployment.kubernetes.io/max-replicas",
		EP_CONTROLLER_ANNOTATION,
		"control-plane.alpha.kubernetes.io/leader",
		"kubernetes.io/service-account.uid",
	};
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strcmp(k, exact[i]) == 0)
			return 1;
	return starts_with(k, "pv.kubernetes.io/") || starts_with(k, "volume.kubernetes.io/") ||
	       starts_with(k, "volume.beta.kubernetes.io/");
}

/* Does `live` already hold what `want` says?  Objects: every key of want, recursively
 * (live may have more: defaults); arrays: same length, element by element; null means
 * absent. */
static int covers(json_t *want, json_t *live)
{
	if (json_is_null(want))
		return !live || json_is_null(live);
	if (!live)
		return 0;
	if (json_is_object(want)) {
		if (!json_is_object(live))
			return 0;
		const char *k;
		json_t *v;
		json_object_foreach(want, k, v)
			if (!covers(v, json_object_get(live, k)))
				return 0;
		return 1;
	}
	if (json_is_array(want)) {
		if (!json_is_array(live) || json_array_size(want) != json_array_size(live))
			return 0;
		for (size_t i = 0; i < json_array_size(want); i++)
			if (!covers(json_array_get(want, i), json_array_get(live, i)))
				return 0;
		return 1;
	}
	if (json_is_number(want) && json_is_number(live))
		return json_number_value(want) == json_number_value(live);
	return json_equal(want, live);
}

/* Add to `patch` what turns live into want: recursive for objects, whole values
 * otherwise; keys only live has are kept unless `exact`. */
static void diff_into(json_t *want, json_t *live, json_t *patch, int exact)
{
	const char *k;
	json_t *wv;
	json_object_foreach(want, k, wv) {
		json_t *lv = json_object_get(live, k);
		if (!exact && json_is_object(wv) && json_is_object(lv)) {
			json_t *sub = json_object();
			diff_into(wv, lv, sub, 0);
			if (json_object_size(sub))
				json_object_set_new(patch, k, sub);
			else
				json_decref(sub);
		} else if (exact ? !json_equal(wv, lv) : !covers(wv, lv)) {
			json_object_set(patch, k, wv);
		}
	}
	if (exact) {
		json_t *lv;
		json_object_foreach(live, k, lv)
			if (!json_object_get(want, k))
				json_object_set_new(patch, k, json_null());
	}
}

static void diff_meta_map(json_t *want, json_t *live, json_t *mdpatch, const char *field, int kahu_labels)
{
	json_t *w = json_object_get(want, field), *l = json_object_get(live, field);
	json_t *sub = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(w, k, v) {
		if (!kahu_labels && (strcmp(k, KAHU_LABEL_BACKUP) == 0 || strcmp(k, KAHU_LABEL_RESTORE) == 0))
			continue;
		if (strcmp(field, "annotations") == 0 && controller_annotation(k))
			continue;
		if (!json_equal(v, json_object_get(l, k)))
			json_object_set(sub, k, v);
	}
	if (json_object_size(sub))
		json_object_set_new(mdpatch, field, sub);
	else
		json_decref(sub);
}

/* Live as the backup's cleaning would see it: without what the target cluster gave
 * the object for its own service-account tokens. */
static json_t *live_view(json_t *live)
{
	json_t *l = json_deep_copy(live);
	const struct sanitize_kind *k = sanitize_kind_by_object(l);
	if (k && k->live)
		k->live(l);
	return l;
}

static int exact_field(const char *k)
{
	return strcmp(k, "data") == 0 || strcmp(k, "binaryData") == 0 || strcmp(k, "stringData") == 0;
}

static json_t *build_patch(json_t *want, json_t *live0, int kahu_labels)
{
	json_t *patch = json_object();
	if (!json_is_object(want) || !json_is_object(live0))
		return patch;
	json_t *live = live_view(live0);

	json_t *mdp = json_object();
	json_t *wmd = json_object_get(want, "metadata"), *lmd = json_object_get(live, "metadata");
	diff_meta_map(wmd, lmd, mdp, "labels", kahu_labels);
	diff_meta_map(wmd, lmd, mdp, "annotations", kahu_labels);
	if (json_object_size(mdp))
		json_object_set_new(patch, "metadata", mdp);
	else
		json_decref(mdp);

	const char *k;
	json_t *wv;
	json_object_foreach(want, k, wv) {
		if (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0 ||
		    strcmp(k, "status") == 0)
			continue;
		json_t *lv = json_object_get(live, k);
		if (json_is_object(wv) && json_is_object(lv)) {
			json_t *sub = json_object();
			diff_into(wv, lv, sub, exact_field(k));
			if (json_object_size(sub))
				json_object_set_new(patch, k, sub);
			else
				json_decref(sub);
		} else if (exact_field(k) ? !json_equal(wv, lv) : !covers(wv, lv)) {
			json_object_set(patch, k, wv);
		}
	}
	/* A ConfigMap or Secret whose backup has no data at all. */
	static const char *const maps[] = { "data", "binaryData" };
	for (size_t i = 0; i < 2; i++)
		if (!json_object_get(want, maps[i]) && json_object_size(json_object_get(live, maps[i])))
			json_object_set_new(patch, maps[i], json_null());
	json_decref(live);
	return patch;
}

json_t *restore_merge_patch(json_t *backup_clean, json_t *live)
{
	return build_patch(backup_clean, live, 1);
}

int restore_same(json_t *backup_clean, json_t *live)
{
	json_t *p = build_patch(backup_clean, live, 0);
	int same = json_object_size(p) == 0;
	json_decref(p);
	return same;
}

/* kahu — volume data in a run: options and the backup's volume plan. */
#include "engine/volrun.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/volcsi.h"
#include "kube/client.h"
#include "kube/pager.h"
#include "kube/resource.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

/* ---- options ---- */

/* A DNS-1123 subdomain (object names of claims and classes). */
static int dns_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (const char *p = s; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || *p == '.'))
			return 0;
	return 1;
}

void vol_opts_clear(struct vol_opts *o)
{
	vol_policy_free(o->policy);
	strv_free(&o->exclude);
	strv_free(&o->pvcs);
	json_decref(o->helper.resources);
	json_decref(o->helper.node_selector);
	json_decref(o->helper.tolerations);
	free((char *)o->helper.image);
	free(o->snapshot_class);
	free(o->mover.image);
	free(o->mover.secret);
	memset(o, 0, sizeof *o);
}

static int parse_backup(const struct vol_flags *f, struct vol_opts *o)
{
	int rc;
	if (f->volume_data && (rc = vol_mode_parse(f->volume_data, &o->mode)) < 0)
		return rc;
	if (f->volume_policy && (rc = vol_policy_load(f->volume_policy, &o->policy)) < 0)
		return rc;
	for (size_t i = 0; f->exclude_paths && i < f->exclude_paths->n; i++) {
		const char *g = f->exclude_paths->v[i];
		if (!*g)
			return kahu_error_set(KAHU_EUSAGE, "--exclude-volume-paths: an empty pattern");
		if (g[0] == '/')
			return kahu_error_set(KAHU_EUSAGE, "--exclude-volume-paths: \"%s\": patterns match paths "
					      "relative to the volume's root (data/*.tmp), not absolute ones", g);
		strv_push(&o->exclude, g);
	}
	if (f->snapshot_class) {
		if (!dns_name_ok(f->snapshot_class))
			return kahu_error_set(KAHU_EUSAGE, "--snapshot-class: \"%s\" is not a VolumeSnapshotClass "
					      "name (lower-case letters, digits, '-' and '.')", f->snapshot_class);
		o->snapshot_class = xstrdup(f->snapshot_class);
	}
	if (f->csi_snapshot_timeout) {
		int64_t secs;
		if ((rc = duration_parse(f->csi_snapshot_timeout, "--csi-snapshot-timeout", &secs)) < 0)
			return rc;
		if (secs < 1 || secs > 7 * 86400)
			return kahu_error_set(KAHU_EUSAGE, "--csi-snapshot-timeout: %s is not between 1s and 168h",
					      f->csi_snapshot_timeout);
		o->csi_timeout_s = (long)secs;
	}
	if (f->snapshot_move_data) {
		if (strcmp(f->snapshot_move_data, "true") == 0)
			o->move_data = 1;
		else if (strcmp(f->snapshot_move_data, "false") == 0)
			o->move_data = 0;
		else
			return kahu_error_set(KAHU_EUSAGE, "--snapshot-move-data: \"%s\" is not true or false "
					      "(--snapshot-move-data=false keeps CSI snapshots in the cluster "
					      "instead of copying their files into the backup)",
					      f->snapshot_move_data);
	}
	if (o->mode == VOL_MODE_NONE && (f->snapshot_move_data || o->snapshot_class || o->policy ||
					  o->exclude.n))
		return kahu_error_set(KAHU_EUSAGE, "--volume-data none backs up no volume data: "
				      "--snapshot-move-data, --snapshot-class, --volume-policy and "
				      "--exclude-volume-paths have nothing to act on");
	return 0;
}

static int parse_restore(const struct vol_flags *f, struct vol_opts *o)
{
	if (f->restore_volumes) {
		if (strcmp(f->restore_volumes, "true") == 0)
			o->restore_volumes = 1;
		else if (strcmp(f->restore_volumes, "false") == 0)
			o->restore_volumes = 0;
		else
			return kahu_error_set(KAHU_EUSAGE, "--restore-volumes: \"%s\" is not true or false",
					      f->restore_volumes);
	}
	o->volumes_only = f->volumes_only;
	o->scale_down = f->scale_down;
	o->delete_extra = f->delete_extra_files;
	if (o->volumes_only && !o->restore_volumes)
		return kahu_error_set(KAHU_EUSAGE, "--volumes-only and --restore-volumes=false exclude each other");
	if (o->scale_down && !o->volumes_only)
		return kahu_error_set(KAHU_EUSAGE, "--scale-down needs --volumes-only (it scales the workloads "
				      "that mount the claims restored in place)");
	if (!o->restore_volumes && (o->delete_extra || (f->pvcs && f->pvcs->n)))
		return kahu_error_set(KAHU_EUSAGE, "--restore-volumes=false restores no volume data: "
				      "--delete-extra-files and --pvc have nothing to act on");
	for (size_t i = 0; f->pvcs && i < f->pvcs->n; i++) {
		struct strv parts = STRV_INIT;
		strv_split(&parts, f->pvcs->v[i], ',');
		for (size_t j = 0; j < parts.n; j++) {
			const char *name = parts.v[j], *slash = strchr(name, '/');
			int ok = slash ? (slash > name && dns_name_ok(slash + 1)) : dns_name_ok(name);
			if (ok && slash) {
				char *ns = xstrndup(name, (size_t)(slash - name));
				ok = dns_name_ok(ns) && !strchr(ns, '.');
				free(ns);
			}
			if (!ok) {
				int rc = kahu_error_set(KAHU_EUSAGE, "--pvc: \"%s\" is not a claim name "
							"(NAME or NAMESPACE/NAME)", name);
				strv_free(&parts);
				return rc;
			}
			strv_push(&o->pvcs, name);
		}
		strv_free(&parts);
	}
	return 0;
}

/* A count flag's value: a decimal between min and max. */
static int parse_count(const char *flag, const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = s && *s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || errno || *end || v < min || v > max)
		return kahu_error_set(KAHU_EUSAGE, "%s: \"%s\" is not a whole number between %ld and %ld",
				      flag, s ? s : "", min, max);
	*out = v;
	return 0;
}

/* The data mover flags (engine/movers.h). */
static int parse_mover(const struct vol_flags *f, struct vol_mover_opts *m)
{
	int rc;
	m->kind = VOL_MOVER_LOCAL;
	m->per_node = 2;
	m->timeout_s = 6 * 3600;
	m->retries = 2;
	if (f->data_mover) {
		if (strcmp(f->data_mover, "local") == 0)
			m->kind = VOL_MOVER_LOCAL;
		else if (strcmp(f->data_mover, "cluster") == 0)
			m->kind = VOL_MOVER_CLUSTER;
		else
			return kahu_error_set(KAHU_EUSAGE, "--data-mover: \"%s\" is not local or cluster "
					      "(local: the files through pods/exec and this machine; cluster: "
					      "Jobs on the volumes' nodes write to the location)", f->data_mover);
	}
	if (f->movers_per_node &&
	    (rc = parse_count("--movers-per-node", f->movers_per_node, 1, 64, &m->per_node)) < 0)
		return rc;
	if (f->mover_retries &&
	    (rc = parse_count("--mover-retries", f->mover_retries, 0, 10, &m->retries)) < 0)
		return rc;
	if (f->mover_timeout) {
		int64_t secs;
		if ((rc = duration_parse(f->mover_timeout, "--mover-timeout", &secs)) < 0)
			return rc;
		if (secs < 10 || secs > 7 * 86400)
			return kahu_error_set(KAHU_EUSAGE, "--mover-timeout: %s is not between 10s and 168h",
					      f->mover_timeout);
		m->timeout_s = (long)secs;
	}
	if (f->mover_image) {
		if ((rc = vol_helper_parse_image(f->mover_image)) < 0)
			return kahu_error_set(rc, "--mover-image: \"%s\" is not an image reference",
					      f->mover_image);
		m->image = xstrdup(f->mover_image);
	}
	if (f->mover_secret) {
		if (!dns_name_ok(f->mover_secret) || strlen(f->mover_secret) > 253)
			return kahu_error_set(KAHU_EUSAGE, "--mover-secret: \"%s\" is not a Secret name "
					      "(lower-case letters, digits, '-' and '.')", f->mover_secret);
		m->secret = xstrdup(f->mover_secret);
	}
	if (m->kind == VOL_MOVER_LOCAL && (f->movers_per_node || f->mover_retries || f->mover_timeout ||
					   f->mover_image || f->mover_secret))
		return kahu_error_set(KAHU_EUSAGE, "--movers-per-node, --mover-timeout, --mover-image, "
				      "--mover-secret and --mover-retries are for --data-mover cluster "
				      "(the default, local, moves the data through pods/exec)");
	return 0;
}

int vol_opts_parse(const struct vol_flags *f, int restore, struct vol_opts *out)
{
	int rc;
	memset(out, 0, sizeof *out);
	out->mode = VOL_MODE_AUTO;
	out->move_data = 1;          /* a default backup is portable: snapshots' files copied */
	out->csi_timeout_s = 600;
	out->restore_volumes = 1;
	if (f->helper_image) {
		if ((rc = vol_helper_parse_image(f->helper_image)) < 0)
			goto fail;
		out->helper.image = xstrdup(f->helper_image);
	}
	if ((f->helper_resources &&
	     (rc = vol_helper_parse_resources(f->helper_resources, &out->helper.resources)) < 0) ||
	    (f->node_selector && f->node_selector->n &&
	     (rc = vol_helper_parse_node_selector(f->node_selector, &out->helper.node_selector)) < 0) ||
	    (f->tolerations && f->tolerations->n &&
	     (rc = vol_helper_parse_tolerations(f->tolerations, &out->helper.tolerations)) < 0))
		goto fail;
	rc = restore ? parse_restore(f, out) : parse_backup(f, out);
	if (rc == 0)
		rc = parse_mover(f, &out->mover);
	if (rc == 0 && out->mover.kind == VOL_MOVER_CLUSTER &&
	    (restore ? !out->restore_volumes : out->mode == VOL_MODE_NONE))
		rc = kahu_error_set(KAHU_EUSAGE, "--data-mover cluster: %s moves no volume data",
				    restore ? "--restore-volumes=false" : "--volume-data none");
	if (rc == 0)
		return 0;
fail:
	vol_opts_clear(out);
	return rc;
}

/* ---- the plan ---- */

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

struct claims {
	const struct vol_scope *sc;
	json_t *items;        /* claims in scope */
};

static int claim_item(void *ud, json_t *item)
{
	struct claims *c = ud;
	const char *ns = jstr(json_object_get(item, "metadata"), "namespace");
	if (!ns || (c->sc->claim_in_scope && !c->sc->claim_in_scope(c->sc->ud, item)))
		return 0;
	json_array_append(c->items, item);
	return 0;
}

struct pvs {
	json_t *by_name;      /* name → PV */
};

static int pv_item(void *ud, json_t *item)
{
	struct pvs *p = ud;
	const char *name = jstr(json_object_get(item, "metadata"), "name");
	if (name)
		json_object_set(p->by_name, name, item);
	return 0;
}

struct pods {
	const struct vol_scope *sc;
	struct vol_index *ix;
};

static int pod_item(void *ud, json_t *item)
{
	struct pods *p = ud;
	const char *ns = jstr(json_object_get(item, "metadata"), "namespace");
	if (!ns || (p->sc->ns_in_scope && !p->sc->ns_in_scope(p->sc->ud, ns)))
		return 0;
	int rc = vol_index_add_pod(p->ix, item);
	if (rc < 0)
		log_warn("pod list: %s", kahu_error_last());
	return 0;
}

struct vol_pods {
	struct pods pd;
	long listed;
	int rc;                  /* the list's outcome */
	char *why;               /* its message when it failed */
};

struct vol_pods *vol_pods_new(const struct vol_scope *sc)
{
	static const struct vol_scope all = { 0 };
	struct vol_pods *p = xcalloc(1, sizeof *p);
	p->pd.sc = sc ? sc : &all;
	p->pd.ix = vol_index_new();
	return p;
}

void vol_pods_add(struct vol_pods *p, json_t *pod)
{
	p->listed++;
	pod_item(&p->pd, pod);
}

void vol_pods_listed(struct vol_pods *p, int rc)
{
	p->rc = rc < 0 ? rc : 0;
	free(p->why);
	p->why = rc < 0 ? xstrdup(kahu_error_last()) : NULL;
}

void vol_pods_free(struct vol_pods *p)
{
	if (!p)
		return;
	vol_index_free(p->pd.ix);
	free(p->why);
	free(p);
}

static int list_all(struct kube_client *kc, const char *group, const char *resource,
		    int namespaced, long page_size, const struct strv *nsl, kube_item_fn fn,
		    void *ud, long *items)
{
	struct kube_resource r = { .group = (char *)group, .version = "v1",
				   .resource = (char *)resource, .namespaced = namespaced };
	struct kube_list_opts lo = { .page_size = page_size };
	static const char *const none[1];
	const struct strv *each = namespaced ? nsl : NULL;
	const char *const *nsv = !each ? NULL : each->n ? (const char *const *)each->v : none;
	int rc = kube_list_or_each_ns(kc, &r, &lo, nsv, each ? each->n : 0, fn, ud, items);
	if (rc < 0)
		return kahu_error_wrap(rc, "listing %s for the volume plan", resource);
	return 0;
}

static uint64_t claim_size(json_t *claim, const char **text)
{
	const char *s = jstr(json_object_get(json_object_get(claim, "status"), "capacity"), "storage");
	if (!s)
		s = jstr(json_object_get(json_object_get(json_object_get(claim, "spec"), "resources"),
					 "requests"), "storage");
	uint64_t v = 0;
	*text = s;
	if (s && vol_quantity_parse(s, &v) < 0)
		v = 0;
	return v;
}

int vol_plan_build(struct kube_client *kc, const struct vol_opts *o, const struct vol_scope *sc,
		   long page_size, const struct vol_pods *pods, struct vol_plan *out)
{
	static const struct vol_scope all = { 0 };
	if (!sc)
		sc = &all;
	struct claims cl = { .sc = sc, .items = json_array() };
	struct pvs pv = { .by_name = json_object() };
	struct pods pd = { .sc = sc, .ix = pods ? pods->pd.ix : vol_index_new() };
	struct vol_snapclasses *classes = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = list_all(kc, "", "persistentvolumeclaims", 1, page_size, sc->namespaces, claim_item,
			   &cl, NULL)) == KAHU_EFORBIDDEN) {
		/* the claims type fails in the collection too: the backup is PartiallyFailed */
		log_warn("%s: no volume data is backed up", kahu_error_last());
		kahu_error_clear();
		rc = 0;
		json_array_clear(cl.items);
	}
	if (rc < 0)
		goto out;
	if (json_array_size(cl.items) && o->mode != VOL_MODE_NONE) {
		/* Cluster-scoped: a user whose rights end at some namespaces may read neither.
		 * A refusal of the classes costs the snapshots only: the volumes are read all
		 * the same. */
		if ((rc = vol_snapclasses_load(kc, &classes)) == KAHU_EFORBIDDEN) {
			log_warn("%s: no claim is taken for a CSI volume (their files are copied)",
				 kahu_error_last());
			kahu_error_clear();
			classes = NULL;
			rc = 0;
		}
		if (rc == 0 && (rc = list_all(kc, "", "persistentvolumes", 0, page_size, NULL, pv_item,
					      &pv, NULL)) == KAHU_EFORBIDDEN) {
			log_warn("%s: no claim is taken for a CSI volume (their files are copied)",
				 kahu_error_last());
			kahu_error_clear();
			vol_snapclasses_free(classes);
			classes = NULL;
			json_object_clear(pv.by_name);
			rc = 0;
		}
		if (rc < 0)
			goto out;
		if (pods) {
			out->pods_listed = pods->listed;
			if (pods->rc == KAHU_EFORBIDDEN) {
				log_warn("listing pods: %s: the files of the claims are read through helper pods",
					 pods->why);
			} else if (pods->rc < 0) {
				rc = kahu_error_set(pods->rc, "listing pods for the volume plan: %s", pods->why);
				goto out;
			}
		} else if ((rc = list_all(kc, "", "pods", 1, page_size, sc->namespaces, pod_item, &pd,
					  &out->pods_listed)) == KAHU_EFORBIDDEN) {
			log_warn("%s: the files of the claims are read through helper pods", kahu_error_last());
			kahu_error_clear();
			rc = 0;
		}
		if (rc < 0)
			goto out;
		if (o->snapshot_class && !vol_snapclass_exists(classes, o->snapshot_class)) {
			rc = kahu_error_set(KAHU_ENOTFOUND, "--snapshot-class: the cluster has no "
					    "VolumeSnapshotClass %s", o->snapshot_class);
			goto out;
		}
	}
	size_t n = json_array_size(cl.items), i;
	json_t *c;
	out->items = xcalloc(n ? n : 1, sizeof *out->items);
	json_array_foreach(cl.items, i, c) {
		struct vol_plan_item *it = &out->items[out->n++];
		json_t *md = json_object_get(c, "metadata"), *spec = json_object_get(c, "spec");
		const char *phase = jstr(json_object_get(c, "status"), "phase");
		const char *pvname = jstr(spec, "volumeName"), *cap = NULL;
		json_t *pvobj = pvname ? json_object_get(pv.by_name, pvname) : NULL;
		json_t *csi = json_object_get(json_object_get(pvobj, "spec"), "csi");
		unsigned modes = 0;
		size_t k;
		json_t *m;
		json_array_foreach(json_object_get(spec, "accessModes"), k, m)
			modes |= vol_access_mode(json_string_value(m));
		it->namespace_ = xstrdup(jstr(md, "namespace"));
		it->claim = xstrdup(jstr(md, "name"));
		it->pv = xstrdup(pvname);
		it->storage_class = xstrdup(jstr(spec, "storageClassName"));
		it->driver = xstrdup(jstr(csi, "driver"));
		it->claim_obj = json_incref(c);
		it->node_affinity = json_incref(json_object_get(json_object_get(pvobj, "spec"), "nodeAffinity"));
		const struct vol_claim_use *use = vol_index_get(pd.ix, it->namespace_, it->claim);
		struct vol_pvc p = {
			.namespace_ = it->namespace_, .name = it->claim,
			.storage_class = it->storage_class,
			.labels = json_object_get(md, "labels"),
			.annotation = jstr(json_object_get(md, "annotations"), VOL_ANNOTATION),
			.access_modes = modes,
			.size = claim_size(c, &cap),
			.bound = phase && strcmp(phase, "Bound") == 0 && pvname,
			.driver = it->driver,
			.snapshot_class = vol_snapclass_for(classes, it->driver, o->snapshot_class),
			.velero_include_pod = use ? use->velero_include_pod : NULL,
			.velero_exclude_pod = use ? use->velero_exclude_pod : NULL,
		};
		it->capacity = xstrdup(cap);
		it->snapshot_class = xstrdup(p.snapshot_class);
		vol_choose(o->mode, o->policy, &p, &it->choice);
		const struct vol_mount *mt = vol_claim_best_mount(use);
		if (it->choice.method == VOL_METHOD_FS && mt) {
			it->pod = xstrdup(mt->pod);
			it->container = xstrdup(mt->container);
			it->mount_path = xstrdup(mt->mount_path);
			it->read_only = mt->read_only;
		}
		if (mt)
			it->node = xstrdup(mt->node);
		log_info("volume %s/%s: %s (%s)", it->namespace_, it->claim,
			 vol_plan_method(it, o), it->choice.reason);
	}
out:
	json_decref(cl.items);
	json_decref(pv.by_name);
	if (!pods)
		vol_index_free(pd.ix);
	vol_snapclasses_free(classes);
	if (rc < 0)
		vol_plan_clear(out);
	return rc;
}

const char *vol_plan_method(const struct vol_plan_item *it, const struct vol_opts *o)
{
	switch (it->choice.method) {
	case VOL_METHOD_FS:
		return it->pod ? "exec" : "helper";
	case VOL_METHOD_CSI:
		return o->move_data ? "csi+data" : "csi";
	default:
		return "skip";
	}
}

json_t *vol_plan_json(const struct vol_plan *p, const struct vol_opts *o)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct vol_plan_item *it = &p->items[i];
		json_t *j = json_pack("{s:s,s:s,s:s,s:b,s:s}", "namespace", it->namespace_,
				      "pvc", it->claim, "method", vol_plan_method(it, o),
				      "failed", it->choice.failed, "reason", it->choice.reason);
#define OPT_STR(key, v) if (v) json_object_set_new(j, key, json_string(v))
		OPT_STR("pv", it->pv);
		OPT_STR("storageClass", it->storage_class);
		OPT_STR("driver", it->driver);
		OPT_STR("capacity", it->capacity);
		OPT_STR("snapshotClass", it->snapshot_class);
		OPT_STR("pod", it->pod);
		OPT_STR("container", it->container);
		OPT_STR("mountPath", it->mount_path);
		OPT_STR("node", it->node);
#undef OPT_STR
		json_array_append_new(arr, j);
	}
	return arr;
}

void vol_plan_clear(struct vol_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct vol_plan_item *it = &p->items[i];
		free(it->namespace_);
		free(it->claim);
		free(it->pv);
		free(it->storage_class);
		free(it->driver);
		free(it->capacity);
		free(it->snapshot_class);
		json_decref(it->claim_obj);
		json_decref(it->node_affinity);
		free(it->pod);
		free(it->container);
		free(it->mount_path);
		free(it->node);
	}
	free(p->items);
	memset(p, 0, sizeof *p);
}

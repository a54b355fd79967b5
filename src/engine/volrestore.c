/* kahu — volume data in a restore (see volrestore.h). */
#include "engine/volrestore.h"
#include "engine/volcsi.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/bread.h"
#include "engine/mover.h"
#include "engine/movers.h"
#include "engine/sanitize.h"
#include "engine/voldata.h"
#include "kube/client.h"
#include "store/lock.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strset.h"

struct scaled {
	char *kind, *path, *ns, *name;
	long long replicas;
};

struct volr {
	struct volr_spec s;
	json_t *lines;                   /* the catalog */
	struct vol_run_id run;
	pthread_mutex_t lock;
	struct scaled *scaled;
	size_t nscaled;
	struct vol_tracker *mvt;         /* --data-mover cluster: what the movers need */
	struct strset chain_runs;        /* the runs of the backup's chain (bread_chain_runs),
					    read when the first claim is filled (chain_runs) */
	int chain_rc;                    /* 0, or why they could not be read */
	bool chain_read;
	char *chain_err;
	struct movers *movers;
};

static const char *jstr_of(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int volr_open(const struct volr_spec *s, struct volr **out)
{
	json_t *lines = NULL;
	*out = NULL;
	int rc = vol_cat_read(s->st, s->key, s->backup, &lines);
	if (rc == KAHU_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	struct volr *v = xcalloc(1, sizeof *v);
	static const struct vol_helper_opts defaults;
	v->s = *s;
	if (!v->s.helper)
		v->s.helper = &defaults;
	v->lines = lines;
	char *space = store_lock_pid_space();
	vol_run_id_init(&v->run, space);
	free(space);
	pthread_mutex_init(&v->lock, NULL);
	if (s->vol) {
		v->mvt = vol_tracker_new(s->kc);
		const struct movers_opts mo = {
			.kc = s->kc, .vt = v->mvt, .run = &v->run, .vol = s->vol, .loc = s->mover_loc,
			.key = s->key, .restore = 1,
		};
		if ((rc = movers_new(&mo, &v->movers)) < 0) {
			volr_free(v);
			return rc;
		}
	}
	*out = v;
	return 0;
}

void volr_free(struct volr *v)
{
	if (!v)
		return;
	movers_free(v->movers);
	if (v->mvt && vol_tracker_cleanup(v->mvt) < 0)
		log_warn("volume data: not everything the data movers needed could be removed from the "
			 "cluster; the next backup create or restore create removes it");
	vol_tracker_free(v->mvt);
	json_decref(v->lines);
	strset_free(&v->chain_runs);
	free(v->chain_err);
	vol_run_id_clear(&v->run);
	for (size_t i = 0; i < v->nscaled; i++) {
		free(v->scaled[i].kind);
		free(v->scaled[i].path);
		free(v->scaled[i].ns);
		free(v->scaled[i].name);
	}
	free(v->scaled);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

struct fill_progress {
	struct volr *v;
	const char *ns, *name;
};

static void fill_progress(void *ud, const struct vol_progress *p)
{
	const struct fill_progress *f = ud;
	f->v->s.progress(f->v->s.progress_ud, f->ns, f->name, p->bytes, p->files);
}

/* The catalog line of a claim whose data the restore writes: completed, with data
 * (file copy, or a CSI snapshot whose data was moved into the backup) or a CSI
 * snapshot to provision from. */
static json_t *usable(struct volr *v, const char *ns, const char *name)
{
	if (!v || !ns || !name)
		return NULL;
	if (v->s.pvcs && v->s.pvcs->n) {
		int want = 0;
		for (size_t i = 0; i < v->s.pvcs->n && !want; i++) {
			const char *p = v->s.pvcs->v[i], *slash = strchr(p, '/');
			want = slash ? strncmp(p, ns, (size_t)(slash - p)) == 0 && ns[slash - p] == '\0' &&
				       strcmp(slash + 1, name) == 0 : strcmp(p, name) == 0;
		}
		if (!want)
			return NULL;
	}
	json_t *l = vol_cat_find(v->lines, ns, name);
	const char *status = jstr_of(l, "status");
	if (!l || !status || strcmp(status, "Completed") != 0)
		return NULL;
	return l;
}

static int is_csi_only(json_t *l)
{
	const char *m = jstr_of(l, "method");
	return m && strcmp(m, "csi") == 0;
}

int volr_has(struct volr *v, const char *src_ns, const char *name)
{
	return usable(v, src_ns, name) != NULL;
}

struct target_ns {
	struct volr *v;
	const struct ns_map *map;
};

/* Whether the restore may write a claim's data through a helper pod in `ns`. */
static int writes_into(void *ud, const char *ns)
{
	struct target_ns *t = ud;
	size_t i;
	json_t *l;
	json_array_foreach(t->v->lines, i, l) {
		const char *src = jstr_of(l, "namespace"), *dst = ns_map_target(t->map, src);
		if (dst && strcmp(dst, ns) == 0 && usable(t->v, src, jstr_of(l, "pvc")) && !is_csi_only(l))
			return 1;
	}
	return 0;
}

int volr_leftovers_remove(struct volr *v, const struct ns_map *map)
{
	struct target_ns t = { v, map };
	struct vol_leftovers lo;
	struct strv nsl = STRV_INIT;   /* listed one by one when forbidden across the cluster */
	size_t i;
	json_t *l;
	json_array_foreach(v->lines, i, l) {
		const char *dst = ns_map_target(map, jstr_of(l, "namespace"));
		if (dst && !strv_contains(&nsl, dst) && writes_into(&t, dst))
			strv_push(&nsl, dst);
	}
	int rc = vol_leftovers_remove(v->s.kc, &v->run, writes_into, NULL, &t, &nsl, &lo);
	strv_free(&nsl);
	if (rc < 0)
		return rc;
	if (lo.pods + lo.claims)
		log_notice("removed what interrupted runs left in the cluster: %ld helper pod%s, "
			   "%ld temporary claim%s", lo.pods, lo.pods == 1 ? "" : "s",
			   lo.claims, lo.claims == 1 ? "" : "s");
	if (lo.movers)
		log_notice("removed what interrupted runs left in the cluster: %ld data mover object%s "
			   "(Jobs, Secrets, ServiceAccounts)", lo.movers, lo.movers == 1 ? "" : "s");
	if (lo.kept_alive)
		log_info("left %ld object%s of running kahu runs alone", lo.kept_alive,
			 lo.kept_alive == 1 ? "" : "s");
	return 0;
}

const char *volr_pv_skip(struct volr *v, json_t *pv)
{
	if (!v || v->s.volumes_only)
		return NULL;
	json_t *ref = json_object_get(json_object_get(pv, "spec"), "claimRef");
	if (!usable(v, jstr_of(ref, "namespace"), jstr_of(ref, "name")))
		return NULL;
	return "not restored: kahu restores its claim's data into a newly provisioned volume";
}

int volr_pvc_prepare(struct volr *v, const char *src_ns, json_t *pvc)
{
	json_t *md = json_object_get(pvc, "metadata");
	json_t *l = usable(v, src_ns, jstr_of(md, "name"));
	if (!l || v->s.volumes_only)
		return 0;
	json_t *spec = json_object_get(pvc, "spec");
	if (!json_is_object(spec))
		return 0;
	json_object_del(spec, "volumeName");
	json_t *ann = json_object_get(md, "annotations");
	if (json_is_object(ann)) {
		json_object_del(ann, "pv.kubernetes.io/bind-completed");
		json_object_del(ann, "pv.kubernetes.io/bound-by-controller");
		json_object_del(ann, "volume.kubernetes.io/selected-node");
	}
	if (is_csi_only(l)) {
		/* The data is in the snapshot: the claim is provisioned from it (in the
		 * cluster and namespace the snapshot was taken in: volr_pvc_refused). */
		const char *snap = jstr_of(json_object_get(l, "csi"), "name");
		if (snap) {
			json_t *ds = json_pack("{s:s,s:s,s:s}", "apiGroup", "snapshot.storage.k8s.io",
					       "kind", "VolumeSnapshot", "name", snap);
			json_object_set(spec, "dataSource", ds);
			json_object_set_new(spec, "dataSourceRef", ds);
		}
	}
	return 1;
}

char *volr_pvc_refused(struct volr *v, const char *src_ns, const char *dst_ns, const char *name)
{
	json_t *l = usable(v, src_ns, name);
	if (!l || v->s.volumes_only || !is_csi_only(l))
		return NULL;
	const char *snap = jstr_of(json_object_get(l, "csi"), "name");
	if (!snap)
		return xasprintf("its data is in a CSI snapshot the backup's volume catalog does not name");
	if (!v->s.kc || !dst_ns)
		return NULL;
	json_t *csi = json_object_get(l, "csi");
	const char *snap_ns = jstr_of(csi, "namespace");
	/* A VolumeSnapshot deleted while its content (Retain) stayed: made again, bound to it. */
	if (!v->s.dry_run && snap_ns && strcmp(snap_ns, dst_ns) == 0 &&
	    vol_snapshot_ensure(v->s.kc, snap_ns, snap, jstr_of(csi, "content")) < 0)
		log_warn("claim %s/%s: %s", src_ns, name, kahu_error_last());
	char *path = xasprintf("/apis/snapshot.storage.k8s.io/v1/namespaces/%s/volumesnapshots/%s", dst_ns, snap);
	struct kube_response r = { 0 };
	int rc = kube_request(v->s.kc, "GET", path, NULL, NULL, NULL, 0, 0, &r);
	kube_response_clear(&r);
	free(path);
	if (rc == 0)
		return NULL;
	if (rc == KAHU_ENOTFOUND)
		return xasprintf("its data is in CSI snapshot %s, which namespace %s of the target cluster does "
				 "not hold (a claim is provisioned only from a snapshot of its own namespace, "
				 "in the cluster it was taken in): not created; restore the backup into "
				 "namespace %s of the cluster it was taken in, or back up with --snapshot-move-data",
				 snap, dst_ns, src_ns);
	return xasprintf("its data is in CSI snapshot %s/%s, which could not be read: %s", dst_ns, snap,
			 kahu_error_last());
}

static int get_json(struct volr *v, const char *path, json_t **out);

/* The target cluster's default StorageClass (allocated), or NULL. */
static char *default_class(struct volr *v)
{
	struct kube_response r = { 0 };
	char *name = NULL;
	if (kube_request(v->s.kc, "GET", "/apis/storage.k8s.io/v1/storageclasses", NULL, NULL, NULL, 0, 0, &r) == 0) {
		json_t *list = json_loadb(r.body.data, r.body.len, 0, NULL), *it;
		size_t i;
		json_array_foreach(json_object_get(list, "items"), i, it) {
			json_t *ann = json_object_get(json_object_get(it, "metadata"), "annotations");
			const char *d = jstr_of(ann, "storageclass.kubernetes.io/is-default-class");
			if (d && strcmp(d, "true") == 0 && !name)
				name = xstrdup(jstr_of(json_object_get(it, "metadata"), "name") ?: "");
		}
		json_decref(list);
	}
	kahu_error_clear();
	kube_response_clear(&r);
	return name;
}

char *volr_pvc_class_refused(struct volr *v, const char *src_ns, const char *name, json_t *pvc)
{
	json_t *l = usable(v, src_ns, name);
	if (!l || v->s.volumes_only || !is_csi_only(l) || !v->s.kc)
		return NULL;
	const char *driver = jstr_of(l, "driver"), *snap = jstr_of(json_object_get(l, "csi"), "name");
	if (!driver)
		return NULL; /* (a catalog that does not record it) */
	json_t *cls = json_object_get(json_object_get(pvc, "spec"), "storageClassName");
	char *klass = json_is_string(cls) ? xstrdup(json_string_value(cls)) : default_class(v);
	if (!klass)
		return xasprintf("its data is in CSI snapshot %s (driver %s); it has no storage class and the "
				 "target cluster has no default one, so no volume would be provisioned from it: not "
				 "created; give it a class of driver %s (--storage-class-mappings, --transform)",
				 snap ? snap : "?", driver, driver);
	if (!*klass) {
		free(klass);
		return xasprintf("its data is in CSI snapshot %s (driver %s); its storageClassName is "" "
				 "(after the mappings and transforms), so no volume would be provisioned from it: "
				 "not created", snap ? snap : "?", driver);
	}
	char *path = xasprintf("/apis/storage.k8s.io/v1/storageclasses/%s", klass);
	json_t *sc = NULL;
	char *why = NULL;
	int rc = get_json(v, path, &sc);
	const char *prov = jstr_of(sc, "provisioner");
	if (rc == KAHU_ENOTFOUND)
		why = xasprintf("its data is in CSI snapshot %s (driver %s); its storage class in the target, %s "
				"(after the mappings and transforms), does not exist there, so the claim would stay "
				"Pending: not created", snap ? snap : "?", driver, klass);
	else if (rc < 0)
		log_warn("claim %s/%s: storage class %s could not be read to check it provisions from CSI "
			 "snapshots of driver %s: %s", src_ns, name, klass, driver, kahu_error_last());
	else if (prov && strcmp(prov, driver) != 0)
		why = xasprintf("its data is in CSI snapshot %s, taken by driver %s; its storage class in the "
				"target, %s (after the mappings and transforms), is provisioned by %s, which cannot "
				"provision a volume from it: not created; map it to a class of driver %s, or back "
				"up with --snapshot-move-data", snap ? snap : "?", driver, klass, prov, driver);
	if (rc < 0)
		kahu_error_clear();
	json_decref(sc);
	free(path);
	free(klass);
	return why;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *result_new(const char *method, const char *status)
{
	return json_pack("{s:s,s:s}", "method", method, "status", status);
}

static json_t *fail(json_t *r, int *failed, const char *prefix, const char *msg)
{
	char *why = xasprintf("%s%s", prefix, msg);
	json_object_set_new(r, "status", json_string("Failed"));
	json_object_set_new(r, "reason", json_string(why));
	free(why);
	*failed = 1;
	return r;
}

static void mover_progress(void *ud, uint64_t bytes, uint64_t files)
{
	const struct fill_progress *f = ud;
	f->v->s.progress(f->v->s.progress_ud, f->ns, f->name, bytes, files);
}

/* The PV's node affinity of a bound claim (where its mover runs; NULL: not bound yet,
 * the scheduler places the pod by the volume). */
static json_t *claim_affinity(struct kube_client *kc, const char *ns, const char *name)
{
	struct kube_response resp = { 0 };
	json_t *aff = NULL;
	char *path = xasprintf("/api/v1/namespaces/%s/persistentvolumeclaims/%s", ns, name);
	if (kube_request(kc, "GET", path, NULL, NULL, NULL, 0, KUBE_REQ_FEW_TRIES, &resp) == 0) {
		json_t *pvc = json_loadb(resp.body.data, resp.body.len, 0, NULL);
		const char *pv = jstr_of(json_object_get(pvc, "spec"), "volumeName");
		kube_response_clear(&resp);
		if (pv && *pv) {
			free(path);
			path = xasprintf("/api/v1/persistentvolumes/%s", pv);
			if (kube_request(kc, "GET", path, NULL, NULL, NULL, 0, KUBE_REQ_FEW_TRIES, &resp) == 0) {
				json_t *o = json_loadb(resp.body.data, resp.body.len, 0, NULL);
				aff = json_incref(json_object_get(json_object_get(o, "spec"), "nodeAffinity"));
				json_decref(o);
			}
		}
		json_decref(pvc);
	}
	kahu_error_clear();
	kube_response_clear(&resp);
	free(path);
	return aff;
}

/* A filled claim's counts, duration and throughput into its result r, and the log line. */
static void fill_result(json_t *r, const struct vol_restore_result *vr, int64_t ms, int failed,
			const char *ns, const char *name, const char *how)
{
	json_object_set_new(r, "files", json_integer((json_int_t)vr->files));
	json_object_set_new(r, "dirs", json_integer((json_int_t)vr->dirs));
	json_object_set_new(r, "links", json_integer((json_int_t)vr->links));
	json_object_set_new(r, "bytes", json_integer((json_int_t)vr->bytes));
	json_object_set_new(r, "deleted", json_integer((json_int_t)vr->deleted));
	json_object_set_new(r, "retries", json_integer((json_int_t)vr->retries));
	if (vr->incomplete)
		json_object_set_new(r, "incomplete", json_true());
	json_object_set_new(r, "durationMs", json_integer((json_int_t)ms));
	json_object_set_new(r, "bytesPerSecond",
			    json_integer(ms > 0 ? (json_int_t)(vr->bytes * 1000 / (uint64_t)ms) :
					 (json_int_t)vr->bytes));
	if (failed)
		log_info("volume %s/%s failed: %s", ns, name, jstr_of(r, "reason"));
	else
		log_info("volume %s/%s: %llu files, %llu bytes in %lld ms%s", ns, name,
			 (unsigned long long)vr->files, (unsigned long long)vr->bytes, (long long)ms, how);
}

/* The runs of the backup's chain, read once (the first claim filled): each segment is
 * read bound to the run of the backup of the chain that wrote it.  < 0 with the
 * message set when they cannot be read (every claim then fails with it). */
static int chain_runs(struct volr *v)
{
	pthread_mutex_lock(&v->lock);
	if (!v->chain_read) {
		v->chain_read = true;
		v->chain_rc = bread_chain_runs(v->s.st, v->s.key, v->s.backup, v->s.allow_unencrypted != 0,
					       &v->chain_runs);
		if (v->chain_rc < 0) {
			kahu_error_wrap(v->chain_rc, "the backups its data is in");
			v->chain_err = xstrdup(kahu_error_last());
		}
	}
	int rc = v->chain_rc;
	if (rc < 0)
		kahu_error_set(rc, "%s", v->chain_err);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

/* The chain's runs as the mover spec's chainRuns (a new reference). */
static json_t *chain_json(const struct strset *runs)
{
	json_t *o = json_object();
	for (size_t i = 0; i < runs->cap; i++)
		if (runs->slots[i])
			json_object_set_new(o, runs->slots[i], json_string(runs->values[i]));
	return o;
}

/* --data-mover cluster: a mover Job on the claim's node writes the data, reading from
 * the location itself. */
static json_t *fill_by_mover(struct volr *v, json_t *r, const char *ns, const char *name,
			     const char *vid, int *failed)
{
	json_object_set_new(r, "method", json_string("mover"));
	int64_t t0 = mono_ms();
	char *label = xasprintf("%s/%s", ns, name);
	json_t *aff = claim_affinity(v->s.kc, ns, name);
	struct fill_progress fp = { v, ns, name };
	struct movers_volume mv = {
		.namespace_ = ns, .claim = name, .label = label, .node_affinity = aff,
		.progress = v->s.progress ? mover_progress : NULL, .progress_ud = &fp,
	};
	struct mover_spec ms = {
		.restore = 1, .backup = xstrdup(v->s.backup), .vid = xstrdup(vid), .label = xstrdup(label),
		.delete_extra = v->s.delete_extra != 0,
		.run = v->s.key && v->s.run[0] ? xstrdup(v->s.run) : NULL,
		.chain_runs = v->s.key && v->s.run[0] ? chain_json(&v->chain_runs) : NULL,
	};
	struct vol_restore_result vr = { 0 };
	log_info("volume %s: writing its data through a data mover", label);
	if (movers_restore_volume(v->movers, &mv, &ms, &vr) < 0)
		fail(r, failed, "", kahu_error_last());
	mover_spec_clear(&ms);
	json_decref(aff);
	free(label);
	fill_result(r, &vr, mono_ms() - t0, *failed, ns, name, " (data mover)");
	return r;
}

json_t *volr_fill(struct volr *v, const char *src_ns, const char *ns, const char *name, int *failed)
{
	*failed = 0;
	json_t *l = usable(v, src_ns, name);
	if (!l)
		return NULL;
	if (is_csi_only(l)) {
		json_t *r = result_new("csi-snapshot", v->s.dry_run ? "WouldRestore" : "Completed");
		const char *snap = jstr_of(json_object_get(l, "csi"), "name");
		if (snap)
			json_object_set_new(r, "snapshot", json_string(snap));
		if (v->s.volumes_only)
			return fail(r, failed, "", "a CSI snapshot without moved data cannot be restored in "
				    "place (it provisions a new claim)");
		return r;
	}
	json_t *r = result_new("helper", v->s.dry_run ? "WouldRestore" : "Completed");
	json_object_set_new(r, "backupMethod", json_string(jstr_of(l, "method") ? jstr_of(l, "method") : "?"));
	json_t *c = json_object_get(l, "counts");
	if (v->s.dry_run) {
		json_object_set_new(r, "files", json_integer(json_integer_value(json_object_get(c, "files"))));
		return r;
	}
	const char *vid = jstr_of(l, "vid");
	if (!vid)
		return fail(r, failed, "", "the backup's volume catalog has no volume id for this claim");
	if (v->movers) {
		if (chain_runs(v) < 0)
			return fail(r, failed, "", kahu_error_last());
		return fill_by_mover(v, r, ns, name, vid, failed);
	}
	if (!v->s.ops)
		return fail(r, failed, "", "no exec channel to write volume data through");
	if (kahu_cancelled())
		return fail(r, failed, "", "interrupted before its data was written");
	if (chain_runs(v) < 0)
		return fail(r, failed, "", kahu_error_last());

	int64_t t0 = mono_ms();
	struct vol_tracker *t = vol_tracker_new(v->s.kc);
	json_t *pspec = vol_helper_spec(v->s.helper, &v->run, VOL_PURPOSE_RESTORE, ns, name, NULL, NULL,
					(int64_t)time(NULL));
	const char *pod = NULL;
	struct vol_restore_result vr = { 0 };
	void *ctx = NULL;
	int rc = vol_helper_start(t, v->s.helper, pspec, &pod);
	json_decref(pspec);
	if (rc < 0) {
		fail(r, failed, "helper pod not started: ", kahu_error_last());
		goto out;
	}
	json_object_set_new(r, "pod", json_string(pod));
	log_info("volume %s/%s: writing its data through helper pod %s", ns, name, pod);
	ctx = v->s.exec_ctx ? v->s.exec_ctx(v->s.exec_ud, v->s.kc, ns, pod) : NULL;
	struct vol_restore_spec rs = {
		.ops = v->s.ops, .ctx = ctx, .mount_path = VOL_HELPER_MOUNT,
		.st = v->s.vol_st ? v->s.vol_st : v->s.st,
		.key = v->s.key, .backup = v->s.backup, .vid = vid, .delete_extra = v->s.delete_extra != 0,
		.run = v->s.run[0] ? v->s.run : NULL, .chain_runs = &v->chain_runs,
	};
	char *label = xasprintf("%s/%s", ns, name);
	rs.label = label;
	struct fill_progress fp = { v, ns, name };
	if (v->s.progress) {
		rs.progress = fill_progress;
		rs.progress_ud = &fp;
		v->s.progress(v->s.progress_ud, ns, name, 0, 0);
	}
	rc = vol_restore(&rs, &vr);
	free(label);
	if (rc < 0)
		fail(r, failed, "", kahu_error_last());
out:
	if (ctx && v->s.exec_ctx_free)
		v->s.exec_ctx_free(ctx);
	/* The helper goes whatever happened (shielded from Ctrl-C). */
	if (vol_tracker_cleanup(t) < 0 && !*failed)
		fail(r, failed, "its helper pod could not be removed: ", kahu_error_last());
	vol_tracker_free(t);
	fill_result(r, &vr, mono_ms() - t0, *failed, ns, name, "");
	return r;
}

/* ---- in place ---- */

static int get_json(struct volr *v, const char *path, json_t **out)
{
	struct kube_response resp = { 0 };
	int rc = kube_request(v->s.kc, "GET", path, NULL, NULL, NULL, 0, 0, &resp);
	if (rc == 0 && !(*out = json_loadb(resp.body.data, resp.body.len, 0, NULL)))
		rc = kahu_error_set(KAHU_EDATA, "the answer to GET %s is not JSON", path);
	kube_response_clear(&resp);
	return rc;
}

/* Whether a pod spec mounts claim `name` (read-write unless `rw_only` is 0). */
static int spec_mounts(json_t *pspec, const char *name, int rw_only)
{
	size_t i;
	json_t *vol;
	json_array_foreach(json_object_get(pspec, "volumes"), i, vol) {
		json_t *pvc = json_object_get(vol, "persistentVolumeClaim");
		const char *cn = jstr_of(pvc, "claimName");
		if (!cn || strcmp(cn, name) != 0)
			continue;
		if (rw_only && json_is_true(json_object_get(pvc, "readOnly")))
			continue;
		return 1;
	}
	return 0;
}

json_t *volr_mounting_pods(struct volr *v, const char *ns, const char *name)
{
	char *path = xasprintf("/api/v1/namespaces/%s/pods", ns);
	json_t *list = NULL;
	int rc = get_json(v, path, &list);
	free(path);
	if (rc < 0)
		return NULL;
	json_t *out = json_array();
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(list, "items"), i, p) {
		json_t *md = json_object_get(p, "metadata");
		const char *phase = jstr_of(json_object_get(p, "status"), "phase");
		if (json_object_get(md, "deletionTimestamp") && !json_is_null(json_object_get(md, "deletionTimestamp")))
			continue;
		if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
			continue;
		const char *lp = jstr_of(json_object_get(md, "labels"), VOL_LABEL_MANAGED);
		if (lp && strcmp(lp, "kahu") == 0)
			continue; /* a helper pod of kahu's own */
		if (spec_mounts(json_object_get(p, "spec"), name, 1))
			json_array_append_new(out, json_string(jstr_of(md, "name")));
	}
	json_decref(list);
	return out;
}

static const struct {
	const char *kind, *plural;
} workload_types[] = {
	{ "Deployment", "deployments" },
	{ "StatefulSet", "statefulsets" },
	{ "ReplicaSet", "replicasets" },
};

/* Whether workload `w` (its pod template, or a StatefulSet's claim templates) mounts
 * one of `claims`. */
static int workload_mounts(json_t *w, const char *kind, const struct strv *claims)
{
	json_t *spec = json_object_get(w, "spec");
	json_t *pspec = json_object_get(json_object_get(spec, "template"), "spec");
	const char *wname = jstr_of(json_object_get(w, "metadata"), "name");
	for (size_t i = 0; i < claims->n; i++) {
		if (spec_mounts(pspec, claims->v[i], 0))
			return 1;
		if (strcmp(kind, "StatefulSet") != 0 || !wname)
			continue;
		size_t ti;
		json_t *tmpl;
		json_array_foreach(json_object_get(spec, "volumeClaimTemplates"), ti, tmpl) {
			const char *tn = jstr_of(json_object_get(tmpl, "metadata"), "name");
			if (!tn)
				continue;
			char *prefix = xasprintf("%s-%s-", tn, wname);
			int m = strncmp(claims->v[i], prefix, strlen(prefix)) == 0;
			free(prefix);
			if (m)
				return 1;
		}
	}
	return 0;
}

static int owned_by_deployment(json_t *w)
{
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(json_object_get(w, "metadata"), "ownerReferences"), i, o) {
		const char *k = jstr_of(o, "kind");
		if (k && strcmp(k, "Deployment") == 0)
			return 1;
	}
	return 0;
}

static int patch_replicas(struct volr *v, const char *path, long long replicas)
{
	char body[64];
	snprintf(body, sizeof body, "{\"spec\":{\"replicas\":%lld}}", replicas);
	struct kube_response resp = { 0 };
	int rc = kube_request(v->s.kc, "PATCH", path, NULL, "application/merge-patch+json", body, strlen(body),
			      KUBE_REQ_IDEMPOTENT, &resp);
	kube_response_clear(&resp);
	return rc;
}

int volr_scale_down(struct volr *v, const char *ns, const struct strv *claims)
{
	int rc = 0;
	for (size_t ti = 0; ti < sizeof workload_types / sizeof workload_types[0] && rc == 0; ti++) {
		char *path = xasprintf("/apis/apps/v1/namespaces/%s/%s", ns, workload_types[ti].plural);
		json_t *list = NULL;
		rc = get_json(v, path, &list);
		free(path);
		if (rc == KAHU_ENOTFOUND) {
			rc = 0;
			continue;
		}
		size_t i;
		json_t *w;
		json_array_foreach(json_object_get(list, "items"), i, w) {
			if (rc < 0)
				break;
			const char *kind = workload_types[ti].kind;
			if (!workload_mounts(w, kind, claims) || (strcmp(kind, "ReplicaSet") == 0 && owned_by_deployment(w)))
				continue;
			json_t *rep = json_object_get(json_object_get(w, "spec"), "replicas");
			long long replicas = json_is_integer(rep) ? (long long)json_integer_value(rep) : 1;
			const char *wname = jstr_of(json_object_get(w, "metadata"), "name");
			char *opath = xasprintf("/apis/apps/v1/namespaces/%s/%s/%s", ns, workload_types[ti].plural, wname);
			if (replicas == 0) {
				free(opath);
				continue;
			}
			/* Recorded before the patch: scaled back whatever happens next. */
			v->scaled = xrealloc(v->scaled, (v->nscaled + 1) * sizeof *v->scaled);
			v->scaled[v->nscaled++] = (struct scaled){ xstrdup(kind), opath, xstrdup(ns), xstrdup(wname),
								   replicas };
			log_info("%s %s/%s: scaled from %lld replicas to 0 for the restore of its volumes", kind, ns,
				 wname, replicas);
			if ((rc = patch_replicas(v, opath, 0)) < 0)
				rc = kahu_error_set(rc, "cannot scale %s %s/%s to zero: %s", kind, ns, wname,
						    kahu_error_last());
		}
		json_decref(list);
	}
	if (rc < 0)
		return rc;
	/* Wait until no pod mounts the claims any more (at most 5 minutes). */
	for (int tries = 0;; tries++) {
		json_t *busy = NULL;
		const char *claim = NULL;
		for (size_t i = 0; i < claims->n && !busy; i++) {
			json_t *pods = volr_mounting_pods(v, ns, claims->v[i]);
			if (!pods)
				return kahu_error_code();
			if (json_array_size(pods)) {
				busy = pods;
				claim = claims->v[i];
			} else
				json_decref(pods);
		}
		if (!busy)
			return 0;
		if (tries >= 300) {
			rc = kahu_error_set(KAHU_ETEMP, "pod %s/%s still mounts claim %s after its workload was "
					    "scaled to zero (waited 5 minutes)", ns,
					    json_string_value(json_array_get(busy, 0)), claim);
			json_decref(busy);
			return rc;
		}
		json_decref(busy);
		if (kahu_cancel_sleep(1000) < 0)
			return kahu_error_set(KAHU_EINTR, "interrupted while waiting for the pods of scaled workloads to go");
	}
}

int volr_scale_back(struct volr *v)
{
	int first = 0;
	kahu_cancel_shield(1);
	for (size_t i = 0; i < v->nscaled; i++) {
		struct scaled *s = &v->scaled[i];
		int rc = patch_replicas(v, s->path, s->replicas);
		if (rc < 0) {
			log_error("cannot scale %s %s/%s back to %lld replicas: %s", s->kind, s->ns, s->name,
				  s->replicas, kahu_error_last());
			if (!first)
				first = rc;
		} else
			log_info("%s %s/%s: scaled back to %lld replicas", s->kind, s->ns, s->name, s->replicas);
	}
	kahu_cancel_shield(0);
	return first;
}

json_t *volr_scaled(struct volr *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && i < v->nscaled; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I}", "kind", v->scaled[i].kind, "namespace",
						   v->scaled[i].ns, "name", v->scaled[i].name, "replicas",
						   (json_int_t)v->scaled[i].replicas));
	return a;
}

/* kahu — CSI snapshots: classes, snapshots, temporary claims. */
#include "engine/volcsi.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/labelsel.h"
#include "engine/voldata.h"
#include "engine/volhelper.h"
#include "kube/client.h"
#include "kube/pager.h"
#include "kube/resource.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#define SNAP_API "/apis/snapshot.storage.k8s.io/v1"

struct snapclass {
	char *name, *driver;
	int is_default;
};

struct vol_snapclasses {
	struct snapclass *v;
	size_t n;
};

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void add_class(struct vol_snapclasses *c, json_t *item)
{
	json_t *md = json_object_get(item, "metadata");
	const char *name = jstr(md, "name"), *driver = jstr(item, "driver");
	if (!name || !driver)
		return;
	const char *def = jstr(json_object_get(md, "annotations"), VOL_SNAP_DEFAULT_ANN);
	c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
	c->v[c->n].name = xstrdup(name);
	c->v[c->n].driver = xstrdup(driver);
	c->v[c->n].is_default = def && strcmp(def, "true") == 0;
	c->n++;
}

struct vol_snapclasses *vol_snapclasses_from(json_t *items)
{
	struct vol_snapclasses *c = xcalloc(1, sizeof *c);
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		add_class(c, it);
	return c;
}

static int class_item(void *ud, json_t *item)
{
	add_class(ud, item);
	return 0;
}

int vol_snapclasses_load(struct kube_client *kc, struct vol_snapclasses **out)
{
	struct kube_resource r = { .group = "snapshot.storage.k8s.io", .version = "v1",
				   .resource = "volumesnapshotclasses", .namespaced = 0 };
	struct kube_list_opts lo = { 0 };
	struct kube_list_stats st = { 0 };
	struct vol_snapclasses *c = xcalloc(1, sizeof *c);
	int rc = kube_list(kc, &r, &lo, class_item, c, &st);
	kube_list_stats_clear(&st);
	if (rc == KAHU_ENOTFOUND) {
		log_info("the cluster serves no VolumeSnapshotClasses (snapshot.storage.k8s.io/v1)");
		kahu_error_clear();
		rc = 0;
	}
	if (rc < 0) {
		vol_snapclasses_free(c);
		return kahu_error_wrap(rc, "listing VolumeSnapshotClasses");
	}
	*out = c;
	return 0;
}

const char *vol_snapclass_for(const struct vol_snapclasses *c, const char *driver,
			      const char *wanted)
{
	if (!c || !driver)
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i].driver, driver) != 0)
			continue;
		if (wanted ? strcmp(c->v[i].name, wanted) == 0 : c->v[i].is_default)
			return c->v[i].name;
	}
	return NULL;
}

int vol_snapclass_exists(const struct vol_snapclasses *c, const char *name)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return 1;
	return 0;
}

void vol_snapclasses_free(struct vol_snapclasses *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].driver);
	}
	free(c->v);
	free(c);
}

void vol_snapshot_clear(struct vol_snapshot *s)
{
	free(s->namespace_);
	free(s->name);
	free(s->klass);
	free(s->content);
	free(s->handle);
	free(s->restore_size);
	free(s->ready_at);
	memset(s, 0, sizeof *s);
}

static json_t *get_json(struct kube_client *kc, const char *path, int *rc)
{
	struct kube_response r = { 0 };
	json_t *j = NULL;
	*rc = kube_request(kc, "GET", path, NULL, NULL, NULL, 0, 0, &r);
	if (*rc == 0 && !(j = json_loadb(r.body.data, r.body.len, 0, NULL)))
		*rc = kahu_error_set(KAHU_EPROTO, "GET %s: the answer is not JSON", path);
	kube_response_clear(&r);
	return j;
}

int vol_snapshot_take(struct vol_tracker *t, const struct vol_run_id *run, const char *ns,
		      const char *claim, const char *klass, const char *backup, int move,
		      long timeout_s, struct vol_snapshot *out)
{
	struct kube_client *kc = vol_tracker_client(t);
	unsigned char rnd[5];
	char name[40];
	const char *why = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (timeout_s <= 0)
		timeout_s = 600;
	randombytes_buf(rnd, sizeof rnd);
	snprintf(name, sizeof name, "kahu-snap-%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4]);
	/* kept ones live as long as their backup: the expiry only bounds the run */
	json_t *md = vol_object_meta(run, move ? "volume-move" : "volume-snapshot", name, ns,
				     (int64_t)time(NULL) + timeout_s + 86400);
	if (backup && label_value_valid(backup, &why))
		json_object_set_new(json_object_get(md, "labels"), VOL_LABEL_BACKUP, json_string(backup));
	if (!move && run->location)
		json_object_set_new(json_object_get(md, "labels"), VOL_LABEL_LOCATION,
				    json_string(run->location));
	if (backup)
		json_object_set_new(json_object_get(md, "annotations"), VOL_LABEL_BACKUP, json_string(backup));
	json_t *obj = json_pack("{s:s,s:s,s:o,s:{s:s,s:{s:s}}}",
				"apiVersion", "snapshot.storage.k8s.io/v1", "kind", "VolumeSnapshot",
				"metadata", md,
				"spec", "volumeSnapshotClassName", klass,
				"source", "persistentVolumeClaimName", claim);
	char *coll = xasprintf(SNAP_API "/namespaces/%s/volumesnapshots", ns);
	char *path = xasprintf("%s/%s", coll, name);
	rc = vol_tracker_create(t, coll, obj, NULL);
	json_decref(obj);
	if (rc < 0) {
		kahu_error_wrap(rc, "cannot create a VolumeSnapshot of %s/%s", ns, claim);
		goto out;
	}
	long waited = 0, step = 250, limit = timeout_s * 1000;
	json_t *st = NULL, *snap = NULL;
	for (;;) {
		json_decref(snap);
		if (!(snap = get_json(kc, path, &rc)))
			break;
		st = json_object_get(snap, "status");
		if (json_is_true(json_object_get(st, "readyToUse")))
			break;
		const char *err = jstr(json_object_get(st, "error"), "message");
		if (err) {
			rc = kahu_error_set(KAHU_EFAIL, "VolumeSnapshot %s/%s of %s failed: %s", ns, name,
					    claim, err);
			break;
		}
		if (waited >= limit) {
			rc = kahu_error_set(KAHU_ETEMP, "VolumeSnapshot %s/%s of %s is not readyToUse after "
					    "%lds (--csi-snapshot-timeout)", ns, name, claim, timeout_s);
			break;
		}
		if ((rc = kahu_cancel_sleep(step)) < 0) {
			kahu_error_set(rc, "interrupted while waiting for VolumeSnapshot %s/%s", ns, name);
			break;
		}
		waited += step;
		if (step < 2000)
			step *= 2;
	}
	if (rc == 0) {
		char when[KAHU_TIME_LEN + 1];
		kahu_time_format((int64_t)time(NULL), when);
		out->namespace_ = xstrdup(ns);
		out->name = xstrdup(name);
		out->klass = xstrdup(klass);
		out->content = xstrdup(jstr(st, "boundVolumeSnapshotContentName"));
		out->restore_size = xstrdup(jstr(st, "restoreSize"));
		out->ready_at = xstrdup(when);
		out->move = move;
		if (out->content) {
			char *cp = xasprintf(SNAP_API "/volumesnapshotcontents/%s", out->content);
			int crc;
			json_t *content = get_json(kc, cp, &crc);
			json_t *cst = json_object_get(content, "status");
			out->handle = xstrdup(jstr(cst, "snapshotHandle"));
			if (!out->restore_size && json_is_integer(json_object_get(cst, "restoreSize")))
				out->restore_size = xasprintf("%lld", (long long)json_integer_value(
					json_object_get(cst, "restoreSize")));
			if (crc < 0)
				log_warn("cannot read VolumeSnapshotContent %s: %s", out->content,
					 kahu_error_last());
			json_decref(content);
			free(cp);
			/* A snapshot kept with the backup outlives its VolumeSnapshot object, as
			 * Velero's: deleting that object by accident keeps the data. */
			if (!move) {
				if (vol_content_retain(kc, out->content) == 0)
					out->retained = 1;
				else
					log_warn("%s: the snapshot's data goes with VolumeSnapshot %s/%s if that "
						 "object is deleted", kahu_error_last(), ns, name);
			}
		}
	} else {
		vol_tracker_delete(t, path);
	}
	json_decref(snap);
out:
	free(coll);
	free(path);
	return rc;
}

int vol_snapshot_temp_claim(struct vol_tracker *t, const struct vol_run_id *run,
			    const struct vol_snapshot *s, json_t *source_claim, char **name)
{
	unsigned char rnd[5];
	char nm[40];
	json_t *sspec = json_object_get(source_claim, "spec");
	const char *size = s->restore_size;
	json_t *req = json_object_get(json_object_get(json_object_get(sspec, "resources"), "requests"), "storage");
	if (json_string_value(req))
		size = json_string_value(req);   /* at least the source's size */
	if (!size)
		return kahu_error_set(KAHU_EDATA, "VolumeSnapshot %s/%s: no restore size and no size of the source claim",
				      s->namespace_, s->name);
	randombytes_buf(rnd, sizeof rnd);
	snprintf(nm, sizeof nm, "kahu-temp-%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4]);
	json_t *spec = json_pack("{s:[s],s:{s:{s:s}},s:{s:s,s:s,s:s}}",
				 "accessModes", "ReadWriteOnce",
				 "resources", "requests", "storage", size,
				 "dataSource", "apiGroup", "snapshot.storage.k8s.io", "kind", "VolumeSnapshot",
				 "name", s->name);
	if (json_string_value(json_object_get(sspec, "storageClassName")))
		json_object_set(spec, "storageClassName", json_object_get(sspec, "storageClassName"));
	if (json_string_value(json_object_get(sspec, "volumeMode")))
		json_object_set(spec, "volumeMode", json_object_get(sspec, "volumeMode"));
	json_t *obj = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "PersistentVolumeClaim",
				"metadata", vol_object_meta(run, "volume-temp", nm, s->namespace_,
							    (int64_t)time(NULL) + 86400),
				"spec", spec);
	char *coll = xasprintf("/api/v1/namespaces/%s/persistentvolumeclaims", s->namespace_);
	int rc = vol_tracker_create(t, coll, obj, NULL);
	json_decref(obj);
	free(coll);
	if (rc < 0)
		return kahu_error_wrap(rc, "cannot create a claim from VolumeSnapshot %s/%s",
				       s->namespace_, s->name);
	*name = xstrdup(nm);
	return 0;
}

json_t *vol_snapshot_json(const struct vol_snapshot *s)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "namespace", s->namespace_, "name", s->name,
			      "class", s->klass ? s->klass : "");
	if (s->content)
		json_object_set_new(o, "content", json_string(s->content));
	if (s->handle)
		json_object_set_new(o, "handle", json_string(s->handle));
	if (s->restore_size)
		json_object_set_new(o, "restoreSize", json_string(s->restore_size));
	if (s->ready_at)
		json_object_set_new(o, "readyAt", json_string(s->ready_at));
	json_object_set_new(o, "dataMoved", json_boolean(s->move));
	if (s->retained)
		json_object_set_new(o, "deletionPolicy", json_string("Retain"));
	return o;
}

int vol_snapshot_delete(struct kube_client *kc, const char *ns, const char *name,
			const char *content)
{
	char *path = xasprintf(SNAP_API "/namespaces/%s/volumesnapshots/%s", ns, name);
	int rc = vol_snapshot_remove(kc, path, content);
	free(path);
	return rc;
}

int vol_kept_snapshots(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		       json_t **out)
{
	json_t *lines = NULL, *line;
	size_t i;
	*out = json_array();
	int rc = vol_cat_read(st, key, backup, &lines);
	if (rc == KAHU_ENOTFOUND) {
		kahu_error_clear();
		return 0;
	}
	if (rc < 0)
		return kahu_error_wrap(rc, "reading the volume catalog of backup %s", backup);
	json_array_foreach(lines, i, line) {
		json_t *csi = json_object_get(line, "csi");
		const char *m = jstr(line, "method"), *status = jstr(line, "status");
		const char *ns = jstr(csi, "namespace"), *name = jstr(csi, "name");
		if (!m || strcmp(m, "csi") != 0 || !status || strcmp(status, "Completed") != 0 ||
		    !ns || !name || json_is_true(json_object_get(csi, "dataMoved")))
			continue;
		json_t *k = json_pack("{s:s,s:s}", "namespace", ns, "name", name);
		if (jstr(csi, "content"))
			json_object_set(k, "content", json_object_get(csi, "content"));
		json_array_append_new(*out, k);
	}
	json_decref(lines);
	return 0;
}

int vol_snapshot_ensure(struct kube_client *kc, const char *ns, const char *name,
			const char *content)
{
	char *path = xasprintf(SNAP_API "/namespaces/%s/volumesnapshots/%s", ns, name);
	char *cpath = content ? xasprintf(SNAP_API "/volumesnapshotcontents/%s", content) : NULL;
	json_t *snap = NULL, *vsc = NULL, *created = NULL;
	int rc;
	if ((snap = get_json(kc, path, &rc)) || rc != KAHU_ENOTFOUND)
		goto out;   /* there (or it cannot be read: the restore says so later) */
	if (!content) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "VolumeSnapshot %s/%s is gone and the backup "
				    "records no content", ns, name);
		goto out;
	}
	if (!(vsc = get_json(kc, cpath, &rc))) {
		kahu_error_wrap(rc, "VolumeSnapshot %s/%s is gone, and its content %s cannot be read",
				ns, name, content);
		goto out;
	}
	/* Bound again to its content, as a pre-provisioned snapshot: the snapshot names
	 * the content, the content names the new snapshot (its uid included). */
	json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:{s:s}}}",
				"apiVersion", "snapshot.storage.k8s.io/v1", "kind", "VolumeSnapshot",
				"metadata", "name", name, "namespace", ns,
				"labels", VOL_LABEL_MANAGED, "kahu",
				"spec", "source", "volumeSnapshotContentName", content);
	const char *klass = jstr(json_object_get(vsc, "spec"), "volumeSnapshotClassName");
	if (klass)
		json_object_set_new(json_object_get(obj, "spec"), "volumeSnapshotClassName", json_string(klass));
	char *body = json_dumps(obj, JSON_COMPACT);
	char *coll = xasprintf(SNAP_API "/namespaces/%s/volumesnapshots", ns);
	struct kube_response r = { 0 };
	rc = kube_request(kc, "POST", coll, NULL, "application/json", body, strlen(body), 0, &r);
	if (rc == 0)
		created = json_loadb(r.body.data, r.body.len, 0, NULL);
	kube_response_clear(&r);
	free(body);
	free(coll);
	json_decref(obj);
	if (rc < 0) {
		kahu_error_wrap(rc, "cannot create VolumeSnapshot %s/%s again from its content %s", ns,
				name, content);
		goto out;
	}
	const char *uid = jstr(json_object_get(created, "metadata"), "uid");
	json_t *patch = json_pack("{s:{s:{s:s,s:s,s:s,s:s,s:s?}}}", "spec", "volumeSnapshotRef",
				  "apiVersion", "snapshot.storage.k8s.io/v1", "kind", "VolumeSnapshot",
				  "name", name, "namespace", ns, "uid", uid);
	body = json_dumps(patch, JSON_COMPACT);
	json_decref(patch);
	rc = kube_request(kc, "PATCH", cpath, NULL, "application/merge-patch+json", body, strlen(body),
			  KUBE_REQ_IDEMPOTENT, &r);
	kube_response_clear(&r);
	free(body);
	if (rc < 0)
		kahu_error_wrap(rc, "VolumeSnapshot %s/%s was created again, but its content %s cannot "
				"be bound to it", ns, name, content);
	else
		log_notice("VolumeSnapshot %s/%s was gone: created again from its content %s", ns, name,
			   content);
out:
	json_decref(snap);
	json_decref(vsc);
	json_decref(created);
	free(path);
	free(cpath);
	return rc;
}

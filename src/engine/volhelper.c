/* kahu — helper pods, the tracker of what a run created, leftovers of killed runs. */
#include "engine/volhelper.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/labelsel.h"
#include "kube/client.h"
#include "kube/pager.h"
#include "kube/resource.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

/* ---- the run's identity ---- */

void vol_run_id_init(struct vol_run_id *r, const char *pid_space)
{
	unsigned char rnd[3];
	randombytes_buf(rnd, sizeof rnd);
	uint32_t h = pid_space ? (uint32_t)kahu_fnv1a64_str(pid_space) : 0;
	snprintf(r->id, sizeof r->id, "%ld-%08x-%02x%02x%02x", (long)getpid(), (unsigned)h,
		 rnd[0], rnd[1], rnd[2]);
	r->pid_space = xstrdup(pid_space);
	r->location = NULL;
}

void vol_run_id_clear(struct vol_run_id *r)
{
	free(r->pid_space);
	r->pid_space = NULL;
	free(r->location);
	r->location = NULL;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int vol_owner_alive(json_t *md, const char *our_pid_space, int64_t now)
{
	const char *run = jstr(json_object_get(md, "labels"), VOL_LABEL_RUN);
	json_t *ann = json_object_get(md, "annotations");
	const char *space = jstr(ann, VOL_ANN_PID_SPACE), *exp = jstr(ann, VOL_ANN_EXPIRES);
	if (!run)
		return 1;
	if (space && our_pid_space && strcmp(space, our_pid_space) == 0) {
		char *end;
		errno = 0;
		long pid = strtol(run, &end, 10);
		if (errno || end == run || *end != '-' || pid <= 0)
			return 0;
		if (pid == (long)getpid())
			return 1;
		return kill((pid_t)pid, 0) == 0 || errno == EPERM;
	}
	int64_t t;
	if (!exp || kahu_time_parse(exp, KAHU_TIME_UTC, &t) < 0)
		return 0;
	return t > now;
}

/* ---- flag values ---- */

int vol_helper_parse_image(const char *s)
{
	if (!s || !*s)
		return kahu_error_set(KAHU_EUSAGE, "--helper-image: an image reference is needed");
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return kahu_error_set(KAHU_EUSAGE, "--helper-image: \"%s\" holds a blank or a control character", s);
	if (strlen(s) > 512)
		return kahu_error_set(KAHU_EUSAGE, "--helper-image: longer than 512 characters");
	return 0;
}

/* A Kubernetes quantity, loosely: digits with an optional fraction, then an optional
 * suffix (m, k, M, G, T, P, E, Ki … Ei) or exponent. */
static int quantity_ok(const char *s)
{
	static const char *const sfx[] = { "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi",
					   "Gi", "Ti", "Pi", "Ei" };
	const char *p = s;
	int digits = 0;
	while (isdigit((unsigned char)*p))
		p++, digits++;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++, digits++;
	}
	if (!digits)
		return 0;
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
		if (strcmp(p, sfx[i]) == 0)
			return 1;
	return 0;
}

int vol_helper_parse_resources(const char *s, json_t **out)
{
	struct strv parts = STRV_INIT;
	json_t *req = json_object();
	int rc = 0;
	*out = NULL;
	strv_split(&parts, s ? s : "", ',');
	if (parts.n == 0)
		rc = kahu_error_set(KAHU_EUSAGE, "--helper-resources: expected cpu=…,memory=… (e.g. cpu=500m,memory=256Mi)");
	for (size_t i = 0; rc == 0 && i < parts.n; i++) {
		char *eq = strchr(parts.v[i], '=');
		if (!eq) {
			rc = kahu_error_set(KAHU_EUSAGE, "--helper-resources: \"%s\" is not NAME=QUANTITY", parts.v[i]);
			break;
		}
		*eq = '\0';
		const char *k = parts.v[i], *v = eq + 1;
		if (strcmp(k, "cpu") != 0 && strcmp(k, "memory") != 0 && strcmp(k, "ephemeral-storage") != 0)
			rc = kahu_error_set(KAHU_EUSAGE, "--helper-resources: \"%s\" is not one of cpu, memory, ephemeral-storage", k);
		else if (json_object_get(req, k))
			rc = kahu_error_set(KAHU_EUSAGE, "--helper-resources: %s given twice", k);
		else if (!quantity_ok(v))
			rc = kahu_error_set(KAHU_EUSAGE, "--helper-resources: %s=\"%s\" is not a quantity (e.g. 500m, 256Mi)", k, v);
		else
			json_object_set_new(req, k, json_string(v));
	}
	strv_free(&parts);
	if (rc < 0) {
		json_decref(req);
		return rc;
	}
	*out = json_pack("{s:O,s:o}", "requests", req, "limits", req);
	return 0;
}

int vol_helper_parse_node_selector(const struct strv *vals, json_t **out)
{
	json_t *sel = json_object();
	int rc = 0;
	*out = NULL;
	for (size_t i = 0; rc == 0 && vals && i < vals->n; i++) {
		struct strv parts = STRV_INIT;
		strv_split(&parts, vals->v[i], ',');
		for (size_t j = 0; rc == 0 && j < parts.n; j++) {
			char *eq = strchr(parts.v[j], '=');
			const char *why = NULL;
			if (!eq) {
				rc = kahu_error_set(KAHU_EUSAGE, "--helper-node-selector: \"%s\" is not KEY=VALUE", parts.v[j]);
				break;
			}
			*eq = '\0';
			if (!label_key_valid(parts.v[j], &why) || !label_value_valid(eq + 1, &why))
				rc = kahu_error_set(KAHU_EUSAGE, "--helper-node-selector: \"%s=%s\": %s",
						    parts.v[j], eq + 1, why ? why : "not a label");
			else
				json_object_set_new(sel, parts.v[j], json_string(eq + 1));
		}
		strv_free(&parts);
	}
	if (rc < 0) {
		json_decref(sel);
		return rc;
	}
	*out = sel;
	return 0;
}

int vol_helper_parse_tolerations(const struct strv *vals, json_t **out)
{
	static const char *const effects[] = { "NoSchedule", "PreferNoSchedule", "NoExecute" };
	json_t *arr = json_array();
	int rc = 0;
	*out = NULL;
	for (size_t i = 0; rc == 0 && vals && i < vals->n; i++) {
		struct strv parts = STRV_INIT;
		strv_split(&parts, vals->v[i], ',');
		for (size_t j = 0; rc == 0 && j < parts.n; j++) {
			char *t = parts.v[j], *effect = strchr(t, ':'), *eq;
			const char *why = NULL;
			json_t *tol = json_object();
			if (effect) {
				*effect++ = '\0';
				int ok = 0;
				for (size_t e = 0; e < 3; e++)
					ok |= strcmp(effect, effects[e]) == 0;
				if (!ok) {
					rc = kahu_error_set(KAHU_EUSAGE, "--helper-tolerations: effect \"%s\" is not one "
							    "of NoSchedule, PreferNoSchedule, NoExecute", effect);
					json_decref(tol);
					break;
				}
				json_object_set_new(tol, "effect", json_string(effect));
			}
			if (strcmp(t, "*") == 0) {
				json_object_set_new(tol, "operator", json_string("Exists"));
			} else if ((eq = strchr(t, '='))) {
				*eq = '\0';
				if (!label_key_valid(t, &why) || !label_value_valid(eq + 1, &why))
					rc = kahu_error_set(KAHU_EUSAGE, "--helper-tolerations: \"%s=%s\": %s", t,
							    eq + 1, why ? why : "not a taint");
				json_object_set_new(tol, "key", json_string(t));
				json_object_set_new(tol, "operator", json_string("Equal"));
				json_object_set_new(tol, "value", json_string(eq + 1));
			} else {
				if (!label_key_valid(t, &why))
					rc = kahu_error_set(KAHU_EUSAGE, "--helper-tolerations: \"%s\": %s "
							    "(KEY[=VALUE][:EFFECT], or * for every taint)", t,
							    why ? why : "not a taint key");
				json_object_set_new(tol, "key", json_string(t));
				json_object_set_new(tol, "operator", json_string("Exists"));
			}
			json_array_append_new(arr, tol);
		}
		strv_free(&parts);
	}
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* ---- the pod ---- */

static const char *purpose_label(enum vol_purpose p)
{
	return p == VOL_PURPOSE_RESTORE ? "volume-restore" : "volume-backup";
}

json_t *vol_object_meta(const struct vol_run_id *run, const char *purpose, const char *name,
			const char *ns, int64_t expires)
{
	char when[KAHU_TIME_LEN + 1];
	kahu_time_format(expires, when);
	json_t *md = json_pack("{s:s, s:{s:s,s:s,s:s}, s:{s:s}}",
			       "namespace", ns,
			       "labels", VOL_LABEL_MANAGED, "kahu", VOL_LABEL_RUN, run->id,
			       VOL_LABEL_PURPOSE, purpose,
			       "annotations", VOL_ANN_EXPIRES, when);
	if (run->pid_space)
		json_object_set_new(json_object_get(md, "annotations"), VOL_ANN_PID_SPACE,
				    json_string(run->pid_space));
	if (name)
		json_object_set_new(md, "name", json_string(name));
	return md;
}

json_t *vol_helper_spec(const struct vol_helper_opts *o, const struct vol_run_id *run,
			enum vol_purpose purpose, const char *ns, const char *claim,
			const char *node, json_t *node_affinity, int64_t now)
{
	unsigned char rnd[5];
	char name[32], life[24];
	long lifetime = o->lifetime_s > 0 ? o->lifetime_s : 86400;
	int ro = purpose == VOL_PURPOSE_BACKUP;

	randombytes_buf(rnd, sizeof rnd);
	snprintf(name, sizeof name, "kahu-helper-%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4]);
	snprintf(life, sizeof life, "%ld", lifetime);
	json_t *container = json_pack(
		"{s:s, s:s, s:s, s:[s,s], s:[{s:s,s:s,s:b}], s:{s:b}}",
		"name", "helper",
		"image", o->image ? o->image : VOL_HELPER_IMAGE,
		"imagePullPolicy", "IfNotPresent",
		"command", "sleep", life,
		"volumeMounts", "name", "data", "mountPath", VOL_HELPER_MOUNT, "readOnly", ro,
		"securityContext", "allowPrivilegeEscalation", 0);
	if (o->resources)
		json_object_set(container, "resources", o->resources);
	json_t *spec = json_pack(
		"{s:s, s:b, s:i, s:I, s:{s:i,s:i}, s:[o], s:[{s:s,s:{s:s,s:b}}]}",
		"restartPolicy", "Never",
		"automountServiceAccountToken", 0,
		"terminationGracePeriodSeconds", 0,
		"activeDeadlineSeconds", (json_int_t)lifetime + 60,
		"securityContext", "runAsUser", 0, "runAsGroup", 0,
		"containers", container,
		"volumes", "name", "data", "persistentVolumeClaim", "claimName", claim, "readOnly", ro);
	if (node && *node)
		json_object_set_new(spec, "nodeName", json_string(node));
	else if (node_affinity && json_object_get(node_affinity, "required"))
		json_object_set_new(spec, "affinity", json_pack("{s:{s:O}}", "nodeAffinity",
			"requiredDuringSchedulingIgnoredDuringExecution",
			json_object_get(node_affinity, "required")));
	if (o->node_selector && json_object_size(o->node_selector))
		json_object_set(spec, "nodeSelector", o->node_selector);
	if (o->tolerations && json_array_size(o->tolerations))
		json_object_set(spec, "tolerations", o->tolerations);
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod",
			 "metadata", vol_object_meta(run, purpose_label(purpose), name, ns, now + lifetime + 60),
			 "spec", spec);
}

/* ---- the tracker ---- */

struct vol_tracker {
	struct kube_client *kc;
	pthread_mutex_t mu;     /* volumes are backed up in parallel */
	struct strv paths;      /* object paths, oldest first */
	struct strv names;      /* their names (for vol_helper_start's *name) */
};

struct vol_tracker *vol_tracker_new(struct kube_client *kc)
{
	struct vol_tracker *t = xcalloc(1, sizeof *t);
	t->kc = kc;
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

static void forget_at(struct vol_tracker *t, size_t i)
{
	free(t->paths.v[i]);
	free(t->names.v[i]);
	memmove(&t->paths.v[i], &t->paths.v[i + 1], (t->paths.n - i) * sizeof *t->paths.v);
	memmove(&t->names.v[i], &t->names.v[i + 1], (t->names.n - i) * sizeof *t->names.v);
	t->paths.n--;
	t->names.n--;
}

void vol_tracker_forget(struct vol_tracker *t, const char *path)
{
	pthread_mutex_lock(&t->mu);
	for (size_t i = t->paths.n; i-- > 0;)
		if (strcmp(t->paths.v[i], path) == 0) {
			forget_at(t, i);
			break;
		}
	pthread_mutex_unlock(&t->mu);
}

/* DELETE `path` shielded from the cancel token; 404 is success. */
static int delete_raw(struct kube_client *kc, const char *path)
{
	struct kube_response r = { 0 };
	static const char body[] = "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
				   "\"gracePeriodSeconds\":0,\"propagationPolicy\":\"Background\"}";
	kahu_cancel_shield(1);
	int rc = kube_request(kc, "DELETE", path, NULL, "application/json", body, sizeof body - 1,
			      KUBE_REQ_IDEMPOTENT | KUBE_REQ_FEW_TRIES, &r);
	kahu_cancel_shield(0);
	if (rc == KAHU_ENOTFOUND)
		rc = 0;
	kube_response_clear(&r);
	return rc;
}

#define SNAP_CONTENTS "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/"

/* Set a VolumeSnapshotContent's deletionPolicy, shielded from the cancel token; 404 is
 * KAHU_ENOTFOUND (the caller decides). */
static int content_policy(struct kube_client *kc, const char *content, const char *policy)
{
	char *path = xasprintf(SNAP_CONTENTS "%s", content);
	char *body = xasprintf("{\"spec\":{\"deletionPolicy\":\"%s\"}}", policy);
	struct kube_response r = { 0 };
	kahu_cancel_shield(1);
	int rc = kube_request(kc, "PATCH", path, NULL, "application/merge-patch+json", body,
			      strlen(body), KUBE_REQ_IDEMPOTENT | KUBE_REQ_FEW_TRIES, &r);
	kahu_cancel_shield(0);
	kube_response_clear(&r);
	free(body);
	free(path);
	return rc;
}

int vol_content_retain(struct kube_client *kc, const char *content)
{
	int rc = content_policy(kc, content, "Retain");
	if (rc < 0)
		return kahu_error_wrap(rc, "cannot set deletionPolicy Retain on VolumeSnapshotContent %s",
				       content);
	return 0;
}

int vol_snapshot_remove(struct kube_client *kc, const char *snap_path, const char *content)
{
	char *found = NULL;
	int rc;
	if (!content) {
		/* the content the snapshot is bound to (a kept one's is Retain) */
		struct kube_response r = { 0 };
		kahu_cancel_shield(1);
		rc = kube_request(kc, "GET", snap_path, NULL, NULL, NULL, 0,
				  KUBE_REQ_IDEMPOTENT | KUBE_REQ_FEW_TRIES, &r);
		kahu_cancel_shield(0);
		if (rc == 0) {
			json_t *snap = json_loadb(r.body.data, r.body.len, 0, NULL);
			const char *c = jstr(json_object_get(snap, "status"), "boundVolumeSnapshotContentName");
			found = c ? xstrdup(c) : NULL;
			json_decref(snap);
		}
		kube_response_clear(&r);
		if (rc == KAHU_ENOTFOUND) {
			kahu_error_clear();
			return 0;
		}
		if (rc < 0)
			return kahu_error_wrap(rc, "cannot read %s", snap_path);
		content = found;
	}
	/* The content first: with Delete, the snapshot's data goes with it. */
	if (content && (rc = content_policy(kc, content, "Delete")) < 0 && rc != KAHU_ENOTFOUND) {
		kahu_error_wrap(rc, "cannot set deletionPolicy Delete on VolumeSnapshotContent %s "
				"(the snapshot and its data were left)", content);
		free(found);
		return rc;
	}
	if ((rc = delete_raw(kc, snap_path)) < 0) {
		kahu_error_wrap(rc, "cannot delete %s", snap_path);
		if (content) {
			/* kept whole: the data stays with the content, as before */
			struct kahu_error_state es;
			kahu_error_capture(&es);
			content_policy(kc, content, "Retain");
			kahu_error_restore(&es);
		}
	} else if (content) {
		/* A snapshot controller deletes the content of a deleted snapshot itself; the
		 * content of one deleted earlier (by hand: it was Retain) is deleted here. */
		char *cp = xasprintf(SNAP_CONTENTS "%s", content);
		if ((rc = delete_raw(kc, cp)) < 0)
			kahu_error_wrap(rc, "cannot delete VolumeSnapshotContent %s", content);
		free(cp);
	}
	free(found);
	return rc;
}

/* What a run deletes: a VolumeSnapshot with its content, anything else as it is.  The
 * caller's error message is kept when it succeeds (it often runs after a failure). */
static int delete_now(struct kube_client *kc, const char *path)
{
	struct kahu_error_state es;
	kahu_error_capture(&es);
	int rc = strstr(path, "/volumesnapshots/") ? vol_snapshot_remove(kc, path, NULL)
						   : delete_raw(kc, path);
	if (rc == 0)
		kahu_error_restore(&es);
	return rc;
}

int vol_tracker_delete(struct vol_tracker *t, const char *path)
{
	int rc = delete_now(t->kc, path);
	if (rc == 0)
		vol_tracker_forget(t, path);
	return rc;
}

int vol_tracker_cleanup(struct vol_tracker *t)
{
	int first = 0;
	if (!t)
		return 0;
	while (t->paths.n) {
		size_t i = t->paths.n - 1;
		int rc = delete_now(t->kc, t->paths.v[i]);
		if (rc < 0) {
			log_warn("cannot remove %s: %s", t->paths.v[i], kahu_error_last());
			if (!first)
				first = rc;
		} else {
			log_info("removed %s", t->paths.v[i]);
		}
		forget_at(t, i);
	}
	return first;
}

struct kube_client *vol_tracker_client(struct vol_tracker *t)
{
	return t->kc;
}

void vol_tracker_free(struct vol_tracker *t)
{
	if (!t)
		return;
	vol_tracker_cleanup(t);
	strv_free(&t->paths);
	strv_free(&t->names);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* vol_tracker_create; *tracked (when not NULL) gets the tracked name. */
static int tracker_create(struct vol_tracker *t, const char *collection_path, json_t *obj,
			  json_t **created, const char **tracked)
{
	char *body = json_dumps(obj, JSON_COMPACT);
	struct kube_response r = { 0 };
	if (created)
		*created = NULL;
	int rc = kube_request(t->kc, "POST", collection_path, NULL, "application/json", body,
			      strlen(body), 0, &r);
	free(body);
	if (rc < 0) {
		kube_response_clear(&r);
		return rc;
	}
	json_t *got = json_loadb(r.body.data, r.body.len, 0, NULL);
	const char *name = jstr(json_object_get(got, "metadata"), "name");
	if (!name)
		name = jstr(json_object_get(obj, "metadata"), "name");
	if (!name) {
		json_decref(got);
		kube_response_clear(&r);
		return kahu_error_set(KAHU_EPROTO, "POST %s: the answer names no object", collection_path);
	}
	pthread_mutex_lock(&t->mu);
	strv_push_owned(&t->paths, xasprintf("%s/%s", collection_path, name));
	strv_push(&t->names, name);
	if (tracked)
		*tracked = t->names.v[t->names.n - 1];
	pthread_mutex_unlock(&t->mu);
	kube_response_clear(&r);
	if (created)
		*created = got;
	else
		json_decref(got);
	return 0;
}

int vol_tracker_create(struct vol_tracker *t, const char *collection_path, json_t *obj,
		       json_t **created)
{
	return tracker_create(t, collection_path, obj, created, NULL);
}

/* The message for a helper refused by Pod Security admission. */
static int psa_refused(struct vol_tracker *t, const char *ns, const char *server_msg)
{
	struct kube_response r = { 0 };
	char *path = xasprintf("/api/v1/namespaces/%s", ns);
	const char *level = NULL;
	json_t *nsobj = NULL;
	if (kube_request(t->kc, "GET", path, NULL, NULL, NULL, 0, 0, &r) == 0)
		nsobj = json_loadb(r.body.data, r.body.len, 0, NULL);
	level = jstr(json_object_get(json_object_get(nsobj, "metadata"), "labels"),
		     "pod-security.kubernetes.io/enforce");
	int rc = kahu_error_set(KAHU_EFORBIDDEN,
		"the helper pod for a volume in namespace %s was refused by Pod Security admission: "
		"the namespace enforces \"%s\" (label pod-security.kubernetes.io/enforce=%s) and the "
		"helper runs as root to read and write every file; label the namespace "
		"pod-security.kubernetes.io/enforce=privileged (kubectl label --overwrite namespace %s "
		"pod-security.kubernetes.io/enforce=privileged) or use --volume-data csi (server: %s)",
		ns, level ? level : "unknown", level ? level : "?", ns, server_msg);
	json_decref(nsobj);
	kube_response_clear(&r);
	free(path);
	return rc;
}

/* Why a pod is not (yet) Running: a container's waiting reason, else its phase. */
static void pod_state(json_t *pod, char *out, size_t n)
{
	json_t *st = json_object_get(pod, "status");
	const char *phase = jstr(st, "phase");
	size_t i;
	json_t *cs;
	json_array_foreach(json_object_get(st, "containerStatuses"), i, cs) {
		json_t *w = json_object_get(json_object_get(cs, "state"), "waiting");
		if (jstr(w, "reason")) {
			snprintf(out, n, "phase %s, %s%s%s", phase ? phase : "unknown", jstr(w, "reason"),
				 jstr(w, "message") ? ": " : "", jstr(w, "message") ? jstr(w, "message") : "");
			return;
		}
	}
	snprintf(out, n, "phase %s%s%s", phase ? phase : "unknown",
		 jstr(st, "reason") ? ", " : "", jstr(st, "reason") ? jstr(st, "reason") : "");
}

int vol_helper_start(struct vol_tracker *t, const struct vol_helper_opts *o, json_t *spec,
		     const char **name)
{
	json_t *md = json_object_get(spec, "metadata");
	const char *ns = jstr(md, "namespace");
	char *coll = xasprintf("/api/v1/namespaces/%s/pods", ns);
	const char *pod = NULL;
	int rc = tracker_create(t, coll, spec, NULL, &pod);
	if (rc == KAHU_EFORBIDDEN && strstr(kahu_error_last(), "PodSecurity")) {
		char *msg = xstrdup(kahu_error_last());
		rc = psa_refused(t, ns, msg);
		free(msg);
	} else if (rc < 0) {
		kahu_error_wrap(rc, "cannot create a helper pod in namespace %s", ns);
	}
	if (rc < 0) {
		free(coll);
		return rc;
	}
	char *path = xasprintf("%s/%s", coll, pod);
	long timeout_ms = (o->start_timeout_s > 0 ? o->start_timeout_s : 300) * 1000L, waited = 0;
	long step = 200;
	char state[512] = "phase unknown";
	for (;;) {
		struct kube_response r = { 0 };
		rc = kube_request(t->kc, "GET", path, NULL, NULL, NULL, 0, 0, &r);
		json_t *p = rc == 0 ? json_loadb(r.body.data, r.body.len, 0, NULL) : NULL;
		kube_response_clear(&r);
		if (rc < 0)
			break;
		const char *ph = jstr(json_object_get(p, "status"), "phase");
		int running = ph && strcmp(ph, "Running") == 0;
		int ended = ph && (strcmp(ph, "Failed") == 0 || strcmp(ph, "Succeeded") == 0);
		pod_state(p, state, sizeof state);
		json_decref(p);
		if (running)
			break;
		if (ended) {
			rc = kahu_error_set(KAHU_EFAIL, "helper pod %s/%s stopped before it was used (%s)",
					    ns, pod, state);
			break;
		}
		if (waited >= timeout_ms) {
			rc = kahu_error_set(KAHU_ETEMP, "helper pod %s/%s is not Running after %lds (%s)",
					    ns, pod, timeout_ms / 1000, state);
			break;
		}
		if ((rc = kahu_cancel_sleep(step)) < 0) {
			kahu_error_set(rc, "interrupted while waiting for helper pod %s/%s", ns, pod);
			break;
		}
		waited += step;
		if (step < 2000)
			step *= 2;
	}
	if (rc < 0) {
		vol_tracker_delete(t, path);
	} else if (name) {
		*name = pod;
	}
	free(path);
	free(coll);
	return rc;
}

/* ---- leftovers ---- */

struct sweep {
	struct kube_client *kc;
	const struct vol_run_id *run;
	int (*in_scope)(void *ud, const char *ns);
	int (*committed)(void *ud, const char *name);
	void *ud;
	const struct strv *namespaces;
	const struct kube_resource *res;
	long *count, kept;
	int64_t now;
	struct strv doomed;
	int quiet;                      /* a refusal is the caller's to tell */
};

static int sweep_item(void *ud, json_t *item)
{
	struct sweep *s = ud;
	json_t *md = json_object_get(item, "metadata");
	const char *ns = jstr(md, "namespace"), *name = jstr(md, "name");
	json_t *labels = json_object_get(md, "labels");
	const char *purpose = jstr(labels, VOL_LABEL_PURPOSE);
	if (!ns || !name || !purpose || (s->in_scope && !s->in_scope(s->ud, ns)))
		return 0;
	if (vol_owner_alive(md, s->run->pid_space, s->now)) {
		s->kept++;
		return 0;
	}
	if (strcmp(purpose, "volume-snapshot") == 0) {
		/* kept with a backup: removed only when that backup was never committed */
		const char *b = jstr(labels, VOL_LABEL_BACKUP), *loc = jstr(labels, VOL_LABEL_LOCATION);
		if (!s->committed || !b || s->committed(s->ud, b))
			return 0;
		if (loc && (!s->run->location || strcmp(loc, s->run->location) != 0))
			return 0;   /* a backup of another location's */
	}
	strv_push_owned(&s->doomed, kube_resource_path(s->res, ns, name));
	return 0;
}

static int sweep_type(struct sweep *s, const char *group, const char *version,
		      const char *resource, const char *purposes, long *count)
{
	struct kube_resource r = { .group = (char *)group, .version = (char *)version,
				   .resource = (char *)resource, .namespaced = 1 };
	char *sel = xasprintf(VOL_LABEL_MANAGED "=kahu," VOL_LABEL_PURPOSE " in (%s)", purposes);
	struct kube_list_opts lo = { .label_selector = sel };
	s->res = &r;
	s->count = count;
	/* A user whose rights end at some namespaces: those in scope, one by one. */
	struct strv in = STRV_INIT;
	static const char *const none[1];
	for (size_t i = 0; s->namespaces && i < s->namespaces->n; i++)
		if (!s->in_scope || s->in_scope(s->ud, s->namespaces->v[i]))
			strv_push(&in, s->namespaces->v[i]);
	const char *const *nsv = !s->namespaces ? NULL : in.n ? (const char *const *)in.v : none;
	int rc = kube_list_or_each_ns(s->kc, &r, &lo, nsv, in.n, sweep_item, s, NULL);
	strv_free(&in);
	if (rc == KAHU_EFORBIDDEN && !s->namespaces && !s->quiet) {
		log_warn("what interrupted runs left was not looked for: listing %s across the cluster "
			 "is forbidden (%s); name the namespaces with --include-namespaces to have them "
			 "looked at one by one", resource, kahu_error_last());
		kahu_error_clear();
		rc = 0;
	}
	free(sel);
	if (rc == KAHU_ENOTFOUND && *group) {
		rc = 0;   /* the snapshot API is not installed */
		kahu_error_clear();
	}
	for (size_t i = 0; rc == 0 && i < s->doomed.n; i++) {
		int d = delete_now(s->kc, s->doomed.v[i]);
		if (d < 0)
			log_warn("cannot remove leftover %s: %s", s->doomed.v[i], kahu_error_last());
		else {
			log_info("removed %s, left by an interrupted run", s->doomed.v[i]);
			(*count)++;
		}
	}
	strv_free(&s->doomed);
	return rc;
}

int vol_leftovers_remove(struct kube_client *kc, const struct vol_run_id *run,
			 int (*in_scope)(void *ud, const char *ns),
			 int (*backup_committed)(void *ud, const char *name), void *ud,
			 const struct strv *namespaces, struct vol_leftovers *out)
{
	struct sweep s = { .kc = kc, .run = run, .in_scope = in_scope,
			   .committed = backup_committed, .ud = ud, .namespaces = namespaces,
			   .now = (int64_t)time(NULL) };
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = sweep_type(&s, "", "v1", "pods", "volume-backup,volume-restore", &out->pods)) < 0 ||
	    (rc = sweep_type(&s, "", "v1", "persistentvolumeclaims", "volume-temp", &out->claims)) < 0 ||
	    (rc = sweep_type(&s, "snapshot.storage.k8s.io", "v1", "volumesnapshots",
			     "volume-move,volume-snapshot", &out->snapshots)) < 0)
		return kahu_error_wrap(rc, "removing what interrupted runs left in the cluster");
	/* The data movers' objects (engine/movers.h): Jobs first (Background: their pods
	 * go with them), then what their pods mounted.  Users who may not list these
	 * (Secrets above all) never made any: not looked for. */
	static const struct { const char *group, *resource; } movers[] = {
		{ "batch", "jobs" }, { "", "secrets" }, { "", "serviceaccounts" },
	};
	s.quiet = 1;
	for (size_t i = 0; i < sizeof movers / sizeof *movers; i++) {
		rc = sweep_type(&s, movers[i].group, "v1", movers[i].resource, "volume-mover", &out->movers);
		if (rc == KAHU_EFORBIDDEN || (rc == KAHU_ENOTFOUND && *movers[i].group)) {
			log_info("the data movers' %s of interrupted runs were not looked for: %s",
				 movers[i].resource, kahu_error_last());
			kahu_error_clear();
			rc = 0;
		}
		if (rc < 0)
			return kahu_error_wrap(rc, "removing what interrupted runs left in the cluster");
	}
	out->kept_alive = s.kept;
	return 0;
}

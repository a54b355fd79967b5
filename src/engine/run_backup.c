#include "engine/run_backup.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive/manifest.h"
#include "engine/bread.h"
#include "engine/hook_record.h"
#include "engine/hooks_backup.h"
#include "engine/mover.h"
#include "engine/movers.h"
#include "engine/parent.h"
#include "engine/scope.h"
#include "engine/volcsi.h"
#include "engine/voldata.h"
#include "engine/volrun.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/pager.h"
#include "store/layout.h"
#include "store/lock.h"
#include "store/store.h"
#include "store/volloc.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pool.h"
#include "util/strv.h"
#include "util/timeutil.h"

#include <time.h>

#define KUBE_SYSTEM_PATH "/api/v1/namespaces/kube-system"

int cluster_identity_read(struct kube_client *kc, const char *server, struct manifest_cluster *out,
			  char **unknown)
{
	struct kube_response resp = { 0 };
	char *why = NULL;
	memset(out, 0, sizeof *out);
	if (unknown)
		*unknown = NULL;
	int rc = kube_request(kc, "GET", KUBE_SYSTEM_PATH, NULL, NULL, NULL, 0, KUBE_REQ_FEW_TRIES, &resp);
	if (rc == KAHU_EFORBIDDEN || rc == KAHU_ENOTFOUND) {
		why = xasprintf("%s", kahu_error_last());
	} else if (rc < 0) {
		kube_response_clear(&resp);
		return kahu_error_wrap(rc, "cannot read the cluster's identity (GET %s)", KUBE_SYSTEM_PATH);
	} else {
		json_error_t jerr;
		json_t *ns = json_loadb(kbuf_str(&resp.body), resp.body.len, 0, &jerr);
		const char *uid = json_string_value(json_object_get(json_object_get(ns, "metadata"), "uid"));
		if (uid && *uid && strlen(uid) <= MANIFEST_UID_MAX) {
			int ok = 1;
			for (const unsigned char *p = (const unsigned char *)uid; *p; p++)
				if (*p < 0x20 || *p == 0x7f)
					ok = 0;
			if (ok)
				out->uid = xstrdup(uid);
		}
		if (!out->uid)
			why = xasprintf("GET %s answered without a usable metadata.uid", KUBE_SYSTEM_PATH);
		json_decref(ns);
	}
	kube_response_clear(&resp);
	out->server = server ? xstrdup(server) : NULL;
	if (why && unknown)
		*unknown = why;
	else
		free(why);
	return 0;
}

void cluster_identity_clear(struct manifest_cluster *c)
{
	free(c->server);
	free(c->uid);
	memset(c, 0, sizeof *c);
}

/* A run that failed (full disk, lost cluster, interrupted): remove what it wrote of
 * backups/<name>/ (we hold the lock, and the name was free when we started), so that
 * "nothing was kept" is true; if that fails too, say what is left and who removes it.
 * Keeps the error code; the message says both. */
static void discard_partial(struct repo *repo, const char *name, int rc)
{
	char *why = xstrdup(kahu_error_last());
	uint64_t n = 0;
	int rrc = repo_remove_backup(repo, name, &n);
	if (rrc == 0 || rrc == KAHU_ENOTFOUND) {
		if (n)
			log_info("removed the %llu object%s backup %s had written", (unsigned long long)n,
				 n == 1 ? "" : "s", name);
		kahu_error_set(rc, "backup %s failed, nothing was kept: %s", name, why);
	} else {
		kahu_error_set(rc, "backup %s failed: %s; what it wrote could not be removed (%s): "
			       "it is not listed, and backup prune removes it", name, why, kahu_error_last());
	}
	free(why);
}

/* The volume location of a run (prepare_volume_location). */
struct volloc_run {
	struct repo *repo;
	struct store_lock *lock;
	char token[MANIFEST_VOLLOC_TOKEN_LEN + 1];
	int marked;                        /* the marker is ours: remove it on failure */
};

/* The same for what a failed run wrote to its volume location (once: the marker
 * goes last).  Keeps the error code and message; a failure to remove is logged. */
static void discard_volloc(struct volloc_run *vr, const char *name)
{
	struct kahu_error_state est;
	kahu_error_capture(&est);
	uint64_t n = 0;
	if (volloc_remove(vr->repo, name, vr->token, &n) < 0)
		log_warn("backup %s: what it wrote to location %s could not be removed (%s); the next "
			 "backup create of that name with --volume-location %s removes it", name,
			 repo_location(vr->repo)->name, kahu_error_last(), repo_location(vr->repo)->name);
	else if (n)
		log_info("removed the %llu object%s backup %s had written to location %s",
			 (unsigned long long)n, n == 1 ? "" : "s", name, repo_location(vr->repo)->name);
	vr->marked = 0;
	kahu_error_restore(&est);
}

/* The location side before collection: opened, keyed, locked, cleared of leftovers,
 * the parent chosen.  Fills what `b` needs of it. */
static int prepare_location(const struct backup_run_spec *rs, struct backup_run_result *res,
			    const struct manifest_cluster *id, const char *stext, char *digest, struct repo **repo,
			    struct store_lock **lock, char **full, struct backup_spec *b)
{
	const char *name = rs->name;
	const struct kahu_key *key = NULL;
	int rc;
	if ((rc = run_open_repo(rs->repo, !rs->no_encryption, repo)) < 0 ||
	    (rc = repo_check_writable(*repo)) < 0 ||
	    (rc = config_check_provider_active(repo_config(*repo), repo_location(*repo))) < 0)
		return rc;
	if (rs->no_encryption || repo_location(*repo)->no_encryption) {
		log_warn("%s: backup %s is stored in the clear (its Secrets too); use this for "
			 "test clusters only", rs->no_encryption ? "--no-encryption" :
			 "the location's \"encryption\": false", name);
		if (run_repo_keyed(rs->repo, *repo))
			log_warn("location %s is keyed: with no MAC, backup %s cannot be told from a "
				 "forgery, so describe, verify, download, logs and restore will refuse "
				 "it unless --allow-unencrypted", repo_location(*repo)->name, name);
	} else if ((rc = repo_key(*repo, &key)) < 0 || (rc = repo_init_if_needed(*repo, key)) < 0) {
		return rc;
	}
	if (!rs->location_locked) {
		if ((rc = run_lock(rs->repo, *repo, "backup create", lock)) < 0)
			return rc;
		/* Leftovers of a killed run (temporaries of unfinished puts): we hold the
		 * lock, so no run of ours is writing them. */
		unsigned int temps = 0;
		if ((rc = store_cleanup(repo_store(*repo), LAYOUT_BACKUPS, &temps)) < 0)
			return rc;
		if (temps)
			log_info("removed %u unfinished upload%s of interrupted runs", temps, temps == 1 ? "" : "s");
	}
	int state = repo_backup_exists(*repo, name);
	if (state == REPO_BACKUP_COMPLETE)
		return kahu_error_set(KAHU_EEXIST, "backup %s already exists on location %s; choose another name",
				      name, repo_location(*repo)->name);
	if (state == REPO_BACKUP_VOLUME_DATA)
		return kahu_error_set(KAHU_EEXIST, "the name %s is taken on location %s: it holds the volume "
				      "data of a backup of another location; choose another name", name,
				      repo_location(*repo)->name);
	if (state == REPO_BACKUP_INCOMPLETE) {
		/* We hold the lock: nobody is writing it.  A leftover of an interrupted run. */
		log_warn("removing the leftovers of an interrupted backup named %s", name);
		if ((rc = repo_remove_backup(*repo, name, NULL)) < 0)
			return rc;
	} else if (state < 0) {
		return state;
	}
	manifest_scope_digest(key, stext, strlen(stext), digest);
	if (rs->kind != BACKUP_FULL &&
	    (rc = parent_resolve_in_cluster(*repo, key, name, rs->parent, rs->kind, digest, id, &res->parent,
					    full)) < 0)
		return rc;
	b->st = repo_store(*repo);
	b->key = key;
	b->parent = res->parent;
	b->chain_full = *full;
	if (res->parent)
		log_notice("%s backup based on %s", rs->kind == BACKUP_INCREMENTAL ? "incremental" : "differential",
			   res->parent);
	return 0;
}

/* Did the parent store volume objects (volumes/<vid>/…)? */
static int parent_has_volume_data(const struct manifest *pm)
{
	for (size_t i = 0; i < pm->n_objects; i++)
		if (strncmp(pm->objects[i].path, "volumes/", 8) == 0)
			return 1;
	return 0;
}

/* The location of the volume data when it is not beside the metadata (store/volloc.h):
 * chosen (--volume-location, else where the parent's volume data is), opened, locked,
 * cleared of what a killed run of this name left, and claimed with its marker.  Fills
 * b->vol_*; nothing when the volume data stays beside the metadata. */
static int prepare_volume_location(const struct backup_run_spec *rs, struct backup_run_result *res,
				   struct repo *repo, struct volloc_run *vr, struct backup_spec *b)
{
	const char *meta = repo_location(repo)->name, *name = rs->name;
	const char *want = rs->volume_location && strcmp(rs->volume_location, meta) != 0 ?
			   rs->volume_location : NULL;
	struct manifest *pm = NULL;
	char *inherited = NULL;
	int rc;
	if (res->parent) {
		/* The chain's volume data stays on one location: the parent's index is read,
		 * and unchanged files' segments are found, where the parent put them. */
		if ((rc = backup_read_manifest(repo, res->parent, 0, &pm)) < 0)
			return rc;
		/* The run its volume indexes are bound to, from the manifest authenticated. */
		if (pm->run[0] && pm->encrypted && b->key) {
			if ((rc = manifest_authenticate(pm, b->key)) < 0) {
				manifest_free(pm);
				return rc;
			}
			snprintf(b->parent_run, sizeof b->parent_run, "%s", pm->run);
		}
		const char *ploc = pm->volume_location.name && strcmp(pm->volume_location.name, meta) != 0 ?
				   pm->volume_location.name : NULL;
		if (parent_has_volume_data(pm)) {
			if (!rs->volume_location) {
				want = inherited = ploc ? xstrdup(ploc) : NULL;
			} else if ((want == NULL) != (ploc == NULL) || (want && strcmp(want, ploc) != 0)) {
				rc = kahu_error_set(KAHU_EUSAGE, "backup %s, the parent of this %s backup, keeps its "
						    "volume data on location %s: the volume data of a chain stays on "
						    "one location (give --volume-location %s, or none, or make a full "
						    "backup)", res->parent, rs->kind == BACKUP_INCREMENTAL ?
						    "incremental" : "differential", ploc ? ploc : meta, ploc ? ploc : meta);
				manifest_free(pm);
				return rc;
			}
			if (ploc && !rs->volume_location)
				log_notice("volume data goes to location %s, where backup %s keeps its own", ploc,
					   res->parent);
		}
		manifest_free(pm);
	}
	if (!want)
		return 0;
	rc = volloc_open(repo, want, name, &vr->repo);
	free(inherited);
	if (rc < 0)
		return rc;
	want = repo_location(vr->repo)->name;
	if ((rc = repo_check_writable(vr->repo)) < 0 ||
	    (rc = config_check_provider_active(repo_config(vr->repo), repo_location(vr->repo))) < 0 ||
	    (!(rs->location_locked && rs->volume_location) &&
	     (rc = run_lock(rs->repo, vr->repo, "backup create (volume data)", &vr->lock)) < 0))
		return rc;
	int state = repo_backup_exists(vr->repo, name);
	if (state == REPO_BACKUP_VOLUME_DATA) {
		struct volloc_marker mk = { 0 };
		if ((rc = volloc_marker_read(vr->repo, name, &mk)) < 0)
			return rc;
		if (strcmp(mk.location, meta) == 0 && strcmp(mk.backup, name) == 0) {
			/* Ours, from a run that was killed before its manifest was written (the
			 * name is free on the metadata location, and we hold both locks). */
			log_warn("removing the volume data an interrupted backup named %s left on location %s",
				 name, want);
			rc = volloc_remove(vr->repo, name, mk.token, NULL);
		} else {
			rc = kahu_error_set(KAHU_EEXIST, "the name %s is taken on volume location %s: it holds "
					    "the volume data of backup %s of location %s; choose another name",
					    name, want, mk.backup, mk.location);
		}
		volloc_marker_clear(&mk);
		if (rc < 0)
			return rc;
	} else if (state == REPO_BACKUP_COMPLETE || state == REPO_BACKUP_INCOMPLETE) {
		return kahu_error_set(KAHU_EEXIST, "the name %s is taken on volume location %s: %s; choose "
				      "another name", name, want, state == REPO_BACKUP_COMPLETE ?
				      "a backup of that name is there" :
				      "the leftovers of an interrupted backup of that name are there");
	} else if (state < 0) {
		return state;
	}
	volloc_token_new(vr->token);
	if ((rc = volloc_marker_write(vr->repo, name, meta, vr->token)) < 0)
		return rc;
	vr->marked = 1;
	b->vol_st = repo_store(vr->repo);
	b->vol_location = repo_location(vr->repo)->name;
	b->vol_provider = repo_location(vr->repo)->provider;
	b->vol_token = vr->token;
	res->volume_location = xstrdup(b->vol_location);
	log_notice("volume data of backup %s goes to location %s", name, want);
	return 0;
}

/* ---- volume data ---- */

struct vol_ctx {
	const struct kahu_scope *scope;
	const struct kube_resource *pvc_res;   /* NULL: the cluster serves no claims */
	struct repo *repo;                     /* NULL: a dry run */
	struct strv ns;                        /* the scope's plain namespace list… */
	int literal;                           /* …when it is one */
};

static int vol_ns_in_scope(void *ud, const char *ns)
{
	struct vol_ctx *v = ud;
	return scope_wants_namespace(v->scope, ns);
}

static int vol_claim_in_scope(void *ud, json_t *claim)
{
	struct vol_ctx *v = ud;
	return v->pvc_res && scope_wants_type(v->scope, v->pvc_res) == SCOPE_TYPE_YES &&
	       scope_wants_object(v->scope, v->pvc_res, claim) == SCOPE_INCLUDED;
}

static int vol_backup_committed(void *ud, const char *name)
{
	struct vol_ctx *v = ud;
	return !v->repo || repo_backup_exists(v->repo, name) == REPO_BACKUP_COMPLETE;
}

/* Before collection: what killed runs left removed (not in a dry run), the plan. */
static int volumes_plan(const struct backup_run_spec *rs, struct backup_run_result *res,
			struct vol_ctx *vc, const struct vol_run_id *run, const struct vol_pods *pods,
			struct vol_plan *plan)
{
	vc->literal = scope_literal_namespaces(vc->scope, &vc->ns);
	const struct strv *nsl = vc->literal ? &vc->ns : NULL;   /* where lists go when forbidden across the cluster */
	const struct vol_scope sc = { vol_claim_in_scope, vol_ns_in_scope, vc, nsl };
	int rc;
	if (!rs->dry_run) {
		struct vol_leftovers lo;
		rc = vol_leftovers_remove(rs->kc, run, vol_ns_in_scope, vol_backup_committed, vc, nsl, &lo);
		if (rc == KAHU_EINTR)
			return rc;
		if (rc < 0)   /* housekeeping: the backup goes on (the next run looks again) */
			log_warn("%s", kahu_error_last());
		if (lo.pods + lo.claims + lo.snapshots)
			log_notice("removed what interrupted runs left in the cluster: %ld helper pod%s, "
				   "%ld temporary claim%s, %ld snapshot%s", lo.pods, lo.pods == 1 ? "" : "s",
				   lo.claims, lo.claims == 1 ? "" : "s", lo.snapshots, lo.snapshots == 1 ? "" : "s");
		if (lo.movers)
			log_notice("removed what interrupted runs left in the cluster: %ld data mover object%s "
				   "(Jobs, Secrets, ServiceAccounts)", lo.movers, lo.movers == 1 ? "" : "s");
		if (lo.kept_alive)
			log_info("left %ld object%s of running kahu runs alone", lo.kept_alive,
				 lo.kept_alive == 1 ? "" : "s");
	}
	if ((rc = vol_plan_build(rs->kc, rs->vol, &sc, rs->page_size, pods, plan)) < 0)
		return rc;
	res->volumes = vol_plan_json(plan, rs->vol);
	return 0;
}

static void vol_status(json_t *v, const char *status, const char *reason)
{
	json_object_set_new(v, "status", json_string(status));
	if (reason)
		json_object_set_new(v, "reason", json_string(reason));
}

/* One volume's catalog line and result fields from what vol_backup returned. */
static void vol_result(json_t *v, const struct vol_backup_result *r)
{
	double secs = r->duration_ms > 0 ? r->duration_ms / 1000.0 : 0;
	json_object_set_new(v, "files", json_integer((json_int_t)r->counts.files));
	json_object_set_new(v, "bytesRead", json_integer((json_int_t)r->counts.bytes_read));
	json_object_set_new(v, "bytesStored", json_integer((json_int_t)r->counts.bytes_stored));
	json_object_set_new(v, "bytesIncremental", json_integer((json_int_t)r->counts.bytes_transferred));
	json_object_set_new(v, "unchanged", json_integer((json_int_t)r->counts.unchanged));
	json_object_set_new(v, "durationMs", json_integer((json_int_t)r->duration_ms));
	json_object_set_new(v, "throughputBytesPerSecond",
			    json_integer(secs > 0 ? (json_int_t)(r->counts.bytes_read / secs) : 0));
	json_object_set_new(v, "retries", json_integer(r->retries));
}

struct vol_progress_ud {
	const struct backup_run_spec *rs;
	const struct vol_plan_item *it;
};

static void vol_copy_progress(void *ud, const struct vol_progress *p)
{
	const struct vol_progress_ud *u = ud;
	u->rs->vol_progress(u->rs->ud, u->it->namespace_, u->it->claim, p->bytes, p->files);
}

/* The file copy of one volume: in the application's container when it has the tools,
 * else in a helper pod mounting `claim` (the plan's claim, or a temporary one).  The
 * application's container is not probed first: its listing checks the tools
 * (vol_backup_spec.check_tools), and one that cannot run or lacks a tool (exit 126 or
 * 127) sends the copy to the helper pod, having written nothing. */
static int vol_copy(const struct backup_run_spec *rs, const struct backup_spec *b,
		    const struct vol_run_id *run, struct vol_tracker *vt, const struct vol_plan_item *it,
		    const char *claim, int try_app, json_t *v, json_t *objects, unsigned *retries)
{
	struct vol_kube_target tgt = { .kc = rs->kc, .namespace_ = it->namespace_ };
	const char *mount = NULL, *helper = NULL;
	char *helper_path = NULL;
	bool in_app = try_app && it->pod;
	struct vol_backup_result r = { 0 };
	int rc;

	char vid[VOL_ID_HEX_LEN + 1];
	vol_id(b->key, it->namespace_, it->claim, vid);
again:
	if (in_app) {
		tgt.pod = it->pod;
		tgt.container = it->container;
		mount = it->mount_path;
		json_object_set_new(v, "method", json_string("exec"));
	} else {
		if (strcmp(json_string_value(json_object_get(v, "method")), "exec") == 0)
			json_object_set_new(v, "method", json_string("helper"));
		json_t *spec = vol_helper_spec(&rs->vol->helper, run, VOL_PURPOSE_BACKUP, it->namespace_,
					       claim, claim == it->claim ? it->node : NULL,
					       claim == it->claim ? it->node_affinity : NULL, (int64_t)time(NULL));
		rc = vol_helper_start(vt, &rs->vol->helper, spec, &helper);
		json_decref(spec);
		if (rc < 0)
			return rc;
		helper_path = xasprintf("/api/v1/namespaces/%s/pods/%s", it->namespace_, helper);
		json_object_set_new(v, "helperPod", json_string(helper));
		tgt.pod = helper;
		tgt.container = "helper";
		mount = VOL_HELPER_MOUNT;
	}
	char *label = xasprintf("%s/%s", it->namespace_, it->claim);
	struct vol_backup_spec vs = {
		.ops = &vol_kube_exec_ops, .ctx = &tgt, .mount_path = mount, .backup = rs->name,
		.vid = vid, .st = b->vol_st ? b->vol_st : b->st, .key = b->key,
		.compression_level = b->compression_level,
		.parent = b->parent,
		.exclude = rs->vol->exclude.n ? (const char *const *)rs->vol->exclude.v : NULL,
		.retries = -1,
		.label = label,
		.run = b->key ? b->run : NULL,
		.parent_run = b->key && b->parent_run[0] ? b->parent_run : NULL,
		.check_tools = in_app,
	};
	struct vol_progress_ud pud = { rs, it };
	if (rs->vol_progress) {
		vs.progress = vol_copy_progress;
		vs.progress_ud = &pud;
		/* The volume's copy starts: its rate counts from here (listing included). */
		rs->vol_progress(rs->ud, it->namespace_, it->claim, 0, 0);
	}
	rc = vol_backup(&vs, &r);
	free(label);
	if (rc < 0 && in_app && r.tools_missing) {
		char *why = xasprintf("container %s of pod %s/%s %s", it->container ? it->container : "(default)",
				      it->namespace_, it->pod, kahu_error_last());
		log_info("volume %s/%s: %s; using a helper pod", it->namespace_, it->claim, why);
		json_object_set_new(v, "appPodUnusable", json_string(why));
		free(why);
		vol_backup_result_free(&r);
		memset(&r, 0, sizeof r);
		if (kahu_cancelled())
			return rc;
		in_app = false;
		goto again;
	}
	*retries = r.retries;
	vol_result(v, &r);
	if (rc == 0) {
		size_t i;
		json_t *o;
		json_array_foreach(r.objects, i, o)
			json_array_append(objects, o);
	}
	vol_backup_result_free(&r);
	if (helper_path) {
		char *msg = rc < 0 ? xstrdup(kahu_error_last()) : NULL;
		if (vol_tracker_delete(vt, helper_path) < 0)
			log_warn("cannot remove helper pod %s/%s: %s", it->namespace_, helper, kahu_error_last());
		if (msg)
			kahu_error_set(rc, "%s", msg);
		free(msg);
	}
	free(helper_path);
	return rc;
}

static void vol_move_progress(void *ud, uint64_t bytes, uint64_t files)
{
	const struct vol_progress_ud *u = ud;
	u->rs->vol_progress(u->rs->ud, u->it->namespace_, u->it->claim, bytes, files);
}

/* The file copy of one volume by a data mover on the cluster (--data-mover cluster):
 * a Job on the volume's node mounting `claim` writes the objects to the location; its
 * verified result feeds what vol_copy's does. */
static int vol_move(const struct backup_run_spec *rs, const struct backup_spec *b, struct movers *mv,
		    const struct vol_plan_item *it, const char *claim, json_t *v, json_t *objects,
		    unsigned *retries)
{
	char vid[VOL_ID_HEX_LEN + 1];
	vol_id(b->key, it->namespace_, it->claim, vid);
	char *label = xasprintf("%s/%s", it->namespace_, it->claim);
	struct mover_spec ms = {
		.backup = xstrdup(rs->name), .vid = xstrdup(vid), .label = xstrdup(label),
		.parent = b->parent ? xstrdup(b->parent) : NULL,
		.compression_level = b->compression_level,
		/* with a key the mover binds the volume's objects to the run, as vol_copy */
		.run = b->key && b->run ? xstrdup(b->run) : NULL,
		.parent_run = b->key && b->run && b->parent && b->parent_run[0] ?
			      xstrdup(b->parent_run) : NULL,
	};
	for (size_t i = 0; i < rs->vol->exclude.n; i++)
		strv_push(&ms.exclude, rs->vol->exclude.v[i]);
	int own = claim == it->claim;
	struct vol_progress_ud pud = { rs, it };
	struct movers_volume mvv = {
		.namespace_ = it->namespace_, .claim = claim, .label = label,
		.node = own ? it->node : NULL, .node_affinity = own ? it->node_affinity : NULL,
		.progress = rs->vol_progress ? vol_move_progress : NULL, .progress_ud = &pud,
	};
	struct vol_backup_result r = { 0 };
	int rc = movers_backup_volume(mv, b->vol_st ? b->vol_st : b->st, &mvv, &ms, &r);
	*retries = r.retries;
	vol_result(v, &r);
	if (rc == 0) {
		size_t i;
		json_t *o;
		json_array_foreach(r.objects, i, o)
			json_array_append(objects, o);
	}
	vol_backup_result_free(&r);
	mover_spec_clear(&ms);
	free(label);
	return rc;
}

/* The volume step: the plan's volumes in units run in parallel (at most --parallel at
 * once).  A unit is the volumes of the pods with hooks that mount them, with those
 * pods: their pre hooks, then the volumes' data (or snapshots), then their post hooks,
 * so that an application is frozen only while its own data is read.  Pods that share
 * a volume are in one unit; a volume that no pod with hooks mounts is a unit alone. */
struct vol_step {
	const struct backup_run_spec *rs;
	const struct backup_spec *b;
	struct backup_run_result *res;
	const struct vol_run_id *run;
	struct vol_tracker *vt;
	const struct vol_plan *plan;
	struct strv *kept;
	struct hook_backup *hb;
	struct movers *movers;           /* --data-mover cluster, else NULL */
	pthread_mutex_t mu;              /* kept, res->volumes_failed */
	json_t **lines;                  /* per volume: its catalog line */
	json_t **objects;                /* per volume: what it stored */
	size_t *unit_of;                 /* per volume and per hooked pod (after the volumes) */
	size_t nunits;
	int threads;                     /* units run at once */
};

static void vol_failed(struct vol_step *vs)
{
	pthread_mutex_lock(&vs->mu);
	vs->res->volumes_failed++;
	pthread_mutex_unlock(&vs->mu);
}

/* Volume i of the plan: its result in res->volumes, its catalog line and its objects,
 * written through `st` (this thread's handle on the location).  `skip`: why its data
 * is not read (a pre hook failed), else NULL. */
static void volume_one(struct vol_step *vs, size_t i, struct kahu_store *st, struct kahu_store *vst,
		       const char *skip)
{
	const struct backup_run_spec *rs = vs->rs;
	struct backup_spec bl = *vs->b;
	const struct backup_spec *b = &bl;
	const struct vol_run_id *run = vs->run;
	struct vol_tracker *vt = vs->vt;
	const struct vol_plan *plan = vs->plan;
	struct backup_run_result *res = vs->res;
	bl.st = st;
	bl.vol_st = vst;
	const struct vol_plan_item *it = &plan->items[i];
	json_t *v = json_array_get(res->volumes, i), *csi = NULL, *objects = vs->objects[i];
	const char *method = json_string_value(json_object_get(v, "method"));
	unsigned retries = 0;
	int rc = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (it->choice.failed) {
		vol_status(v, "Failed", NULL);
		vol_failed(vs);
		log_warn("volume %s/%s: %s", it->namespace_, it->claim, it->choice.reason);
	} else if (skip) {
		rc = kahu_error_set(KAHU_EFAIL, "its data was not read: %s", skip);
	} else if (it->choice.method == VOL_METHOD_SKIP) {
		vol_status(v, "Skipped", NULL);
	} else if (it->choice.method == VOL_METHOD_CSI) {
		struct vol_snapshot snap;
		int move = rs->vol->move_data;
		rc = vol_snapshot_take(vt, run, it->namespace_, it->claim, it->snapshot_class,
				       rs->name, move, rs->vol->csi_timeout_s, &snap);
		if (rc == 0) {
			csi = vol_snapshot_json(&snap);
			json_object_set(v, "snapshot", csi);
			char *path = xasprintf("/apis/snapshot.storage.k8s.io/v1/namespaces/%s/"
					       "volumesnapshots/%s", snap.namespace_, snap.name);
			log_notice("volume %s/%s: VolumeSnapshot %s ready (content %s)", it->namespace_,
				   it->claim, snap.name, snap.content ? snap.content : "unknown");
			if (move) {
				char *temp = NULL;
				rc = vol_snapshot_temp_claim(vt, run, &snap, it->claim_obj, &temp);
				if (rc == 0) {
					json_object_set_new(v, "temporaryClaim", json_string(temp));
					rc = vs->movers ? vol_move(rs, b, vs->movers, it, temp, v, objects, &retries)
							: vol_copy(rs, b, run, vt, it, temp, 0, v, objects, &retries);
					char *cp = xasprintf("/api/v1/namespaces/%s/persistentvolumeclaims/%s",
							     it->namespace_, temp);
					char *msg = rc < 0 ? xstrdup(kahu_error_last()) : NULL;
					vol_tracker_delete(vt, cp);
					if (msg)
						kahu_error_set(rc, "%s", msg);
					free(msg);
					free(cp);
				}
				free(temp);
				vol_tracker_delete(vt, path);   /* at once after data movement */
				json_object_set_new(v, "method", json_string(vs->movers ? "csi+mover" : "csi+data"));
				free(path);
			} else {
				pthread_mutex_lock(&vs->mu);
				strv_push_owned(vs->kept, path);
				pthread_mutex_unlock(&vs->mu);
			}
			vol_snapshot_clear(&snap);
		}
	} else if (vs->movers) {
		json_object_set_new(v, "method", json_string("mover"));
		rc = vol_move(rs, b, vs->movers, it, it->claim, v, objects, &retries);
	} else {
		rc = vol_copy(rs, b, run, vt, it, it->claim, 1, v, objects, &retries);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int64_t ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (it->choice.method != VOL_METHOD_SKIP && !it->choice.failed) {
		if (rc < 0) {
			vol_status(v, "Failed", kahu_error_last());
			vol_failed(vs);
			log_warn("volume %s/%s: %s", it->namespace_, it->claim, kahu_error_last());
		} else {
			vol_status(v, "Completed", NULL);
		}
		if (!json_object_get(v, "durationMs"))
			json_object_set_new(v, "durationMs", json_integer((json_int_t)ms));
	}
	method = json_string_value(json_object_get(v, "method"));
	char vid[VOL_ID_HEX_LEN + 1];
	vol_id(b->key, it->namespace_, it->claim, vid);
	struct vol_cat_entry e = {
		.vid = vid, .namespace_ = it->namespace_, .pvc = it->claim, .pv = it->pv,
		.storage_class = it->storage_class, .driver = it->driver, .capacity = it->capacity,
		.method = method,
		.status = json_string_value(json_object_get(v, "status")),
		.reason = json_string_value(json_object_get(v, "reason")),
		.parent = b->parent,
		.counts = {
			.files = (uint64_t)json_integer_value(json_object_get(v, "files")),
			.bytes_read = (uint64_t)json_integer_value(json_object_get(v, "bytesRead")),
			.bytes_stored = (uint64_t)json_integer_value(json_object_get(v, "bytesStored")),
			.bytes_transferred = (uint64_t)json_integer_value(json_object_get(v, "bytesIncremental")),
			.unchanged = (uint64_t)json_integer_value(json_object_get(v, "unchanged")),
		},
		.duration_ms = json_integer_value(json_object_get(v, "durationMs")),
		.retries = retries,
		.csi = csi,
	};
	vs->lines[i] = vol_cat_entry_json(&e);
	json_decref(csi);
}

/* A volume whose data or snapshot is taken: a pod's hooks are run around it. */
static int volume_taken(const struct vol_plan_item *it)
{
	return !it->choice.failed && it->choice.method != VOL_METHOD_SKIP;
}

static size_t uf_find(size_t *up, size_t x)
{
	while (up[x] != x)
		x = up[x] = up[up[x]];
	return x;
}

/* The units: volumes 0…n-1 and hooked pods n…n+m-1 joined when a pod mounts a taken
 * volume (those pods deferred: their hooks run here); vs->unit_of[x] is x's unit, or
 * SIZE_MAX for a pod whose hooks run around the metadata. */
static void vol_units(struct vol_step *vs)
{
	size_t n = vs->plan->n, m = hook_backup_npods(vs->hb);
	size_t *up = xcalloc(n + m, sizeof *up);
	int *joined = xcalloc(m ? m : 1, sizeof *joined);
	for (size_t x = 0; x < n + m; x++)
		up[x] = x;
	for (size_t p = 0; p < m; p++) {
		const char *ns, *name;
		const struct strv *claims;
		hook_backup_pod_info(vs->hb, p, &ns, &name, &claims);
		for (size_t c = 0; c < claims->n; c++)
			for (size_t i = 0; i < n; i++) {
				const struct vol_plan_item *it = &vs->plan->items[i];
				if (volume_taken(it) && strcmp(it->namespace_, ns) == 0 &&
				    strcmp(it->claim, claims->v[c]) == 0) {
					up[uf_find(up, n + p)] = uf_find(up, i);
					joined[p] = 1;
				}
			}
	}
	/* Units numbered in the order of their first volume. */
	size_t *num = xcalloc(n + m, sizeof *num);
	vs->unit_of = xcalloc(n + m, sizeof *vs->unit_of);
	for (size_t x = 0; x < n + m; x++)
		num[x] = SIZE_MAX;
	vs->nunits = 0;
	for (size_t i = 0; i < n; i++) {
		size_t r = uf_find(up, i);
		if (num[r] == SIZE_MAX)
			num[r] = vs->nunits++;
		vs->unit_of[i] = num[r];
	}
	for (size_t p = 0; p < m; p++) {
		vs->unit_of[n + p] = joined[p] ? num[uf_find(up, n + p)] : SIZE_MAX;
		if (joined[p])
			hook_backup_defer(vs->hb, p);
	}
	free(num);
	free(joined);
	free(up);
}

/* One unit: its pods' pre hooks (the first failure under on-error Fail ends them, and
 * the unit's volumes are not read), its volumes, its pods' post hooks whatever
 * happened. */
static int vol_unit_job(void *ud, size_t u)
{
	struct vol_step *vs = ud;
	size_t n = vs->plan->n, m = hook_backup_npods(vs->hb);
	char *skip = NULL;
	struct kahu_store *st = vs->b->st;
	int rc = 0;
	/* A handle on the location is used by one thread at a time: units run in
	 * parallel write through handles of their own. */
	struct kahu_store *vst = vs->b->vol_st;
	if (vs->threads > 1 && (rc = store_reopen(vs->b->st, &st)) < 0)
		return rc;
	if (vs->threads > 1 && vst && (rc = store_reopen(vs->b->vol_st, &vst)) < 0) {
		store_close(st);
		return rc;
	}
	for (size_t p = 0; p < m && rc == 0 && !skip; p++) {
		if (vs->unit_of[n + p] != u)
			continue;
		char *failed = NULL;
		const char *ns, *name;
		const struct strv *claims;
		hook_backup_pod_info(vs->hb, p, &ns, &name, &claims);
		rc = hook_backup_pod(vs->hb, HOOK_BACKUP_PRE, p, &failed);
		if (failed)
			skip = xasprintf("pod %s/%s: %s", ns, name, failed);
		free(failed);
	}
	for (size_t i = 0; i < n && rc == 0 && !kahu_cancelled(); i++)
		if (vs->unit_of[i] == u)
			volume_one(vs, i, st, vst, skip);
	for (size_t p = 0; p < m; p++)
		if (vs->unit_of[n + p] == u) {
			int prc = hook_backup_pod(vs->hb, HOOK_BACKUP_POST, p, NULL);
			if (rc == 0)
				rc = prc;
		}
	free(skip);
	if (st != vs->b->st)
		store_close(st);
	if (vst != vs->b->vol_st)
		store_close(vst);
	return rc;
}

/* How many movers may run at once: --movers-per-node on each node the plan's volumes
 * are on (volumes of an unknown node count as one node), at most 256. */
static unsigned movers_slots(const struct vol_plan *plan, long per_node)
{
	struct strv nodes = STRV_INIT;
	for (size_t i = 0; i < plan->n; i++) {
		const char *k = movers_node_key(plan->items[i].node, plan->items[i].node_affinity);
		int seen = 0;
		for (size_t j = 0; j < nodes.n && !seen; j++)
			seen = strcmp(nodes.v[j], k) == 0;
		if (!seen)
			strv_push(&nodes, k);
	}
	unsigned long n = (unsigned long)(nodes.n ? nodes.n : 1) * (unsigned long)per_node;
	strv_free(&nodes);
	return n > 256 ? 256 : (unsigned)n;
}

/* backup_create's `between`: the volume data with the hooks of the pods that mount
 * the volumes, after the metadata's collection. */
static int volumes_between(void *ud, json_t *objects, long *failed)
{
	struct vol_step *vs = ud;
	size_t n = vs->plan->n;
	json_t *lines = json_array();
	vs->lines = xcalloc(n, sizeof *vs->lines);
	vs->objects = xcalloc(n, sizeof *vs->objects);
	for (size_t i = 0; i < n; i++)
		vs->objects[i] = json_array();
	unsigned par = vs->rs->parallel > 0 ? (unsigned)vs->rs->parallel : 1;
	if (vs->movers) {
		/* Movers run on the nodes: as many volumes at once as the nodes take
		 * (--movers-per-node each), a thread waiting for each (the poller alone
		 * talks to the API server about them). */
		unsigned cap = movers_slots(vs->plan, vs->rs->vol->mover.per_node);
		if (cap > par)
			par = cap;
	}
	vs->threads = (int)(vs->nunits < par ? vs->nunits : par);
	int rc = kahu_pool_run(vs->nunits, (unsigned)vs->threads, KAHU_POOL_KEEP_GOING, vol_unit_job, vs);
	for (size_t i = 0; i < n; i++) {
		if (vs->lines[i])
			json_array_append_new(lines, vs->lines[i]);
		json_array_extend(objects, vs->objects[i]);
		json_decref(vs->objects[i]);
	}
	free(vs->lines);
	free(vs->objects);
	vs->lines = vs->objects = NULL;
	if (rc == 0 && kahu_cancelled())
		rc = KAHU_EINTR;
	if (rc == KAHU_EINTR)
		rc = kahu_error_set(KAHU_EINTR, "interrupted while backing up volume data");
	else if (rc == 0)
		rc = vol_cat_write(vs->b->st, vs->b->key, vs->rs->name, vs->rs->compression_level, lines, objects);
	json_decref(lines);
	*failed = vs->res->volumes_failed;
	return rc;
}

/* ---- the run's one list of pods ---- */

struct pod_list {
	struct hook_backup *hb;
	struct vol_pods *vp;
};

static int pod_list_item(void *ud, json_t *pod)
{
	struct pod_list *l = ud;
	if (l->vp)
		vol_pods_add(l->vp, pod);
	return hook_backup_add_pod(l->hb, pod);
}

/* The pods, listed once (paged, one pod at a time) for both the hooks (the pods in
 * scope with hooks, cut down to what hooks need) and the volume plan (which running
 * pod mounts which claim), so that no more than one pod's text is held at once
 * besides what each keeps.  The hooks' definitions are checked here, before anything
 * is written; a failed list is the volume plan's error only if it needs the pods.
 * The collection lists pods on its own: it stores the server's text as it arrives,
 * unparsed, and runs after the pre hooks that this list is needed for. */
static int pods_list(const struct backup_run_spec *rs, const struct kube_discovery *disc,
		     struct hook_backup *hb, struct vol_pods *vp)
{
	int hooks = hook_backup_wants_pods(hb);
	if (!hooks && !vp)
		return hook_backup_listed(hb, 0);
	const struct kube_resource *r = kube_discovery_find(disc, "pods");
	struct kube_resource core = { .group = "", .version = "v1", .resource = "pods", .namespaced = 1 };
	struct kube_list_opts lo = {
		.page_size = rs->page_size,
		/* Without the volume plan only pods with hooks matter: the scope's selector
		 * is the server's to apply. */
		.label_selector = vp ? NULL : scope_server_label_selector(rs->scope),
	};
	struct pod_list l = { hb, vp };
	struct strv nsl = STRV_INIT;
	int each = scope_literal_namespaces(rs->scope, &nsl);   /* where to list when forbidden */
	static const char *const none[1];
	const char *const *nsv = !each ? NULL : nsl.n ? (const char *const *)nsl.v : none;
	int rc = kube_list_or_each_ns(rs->kc, r ? r : &core, &lo, nsv, nsl.n, pod_list_item, &l, NULL);
	strv_free(&nsl);
	if (rc == KAHU_EUSAGE || rc == KAHU_EINTR)
		return rc == KAHU_EINTR ? kahu_error_wrap(rc, "listing the pods") : rc;
	if (vp)
		vol_pods_listed(vp, rc);
	return hook_backup_listed(hb, hooks ? rc : 0);
}

/* The run's verdict from its outcome: 0, KAHU_EFAIL or KAHU_EPARTIAL. */
static int verdict(const char *name, const struct backup_outcome *out, long volumes_failed)
{
	if (strcmp(out->status, "Failed") == 0)
		return kahu_error_set(KAHU_EFAIL, "backup %s Failed: %zu resource types could not be backed up and "
				      "no other type holds an object, so it holds nothing of its own; it is kept as Failed "
				      "for its log (kahu backup logs %s), prune's --keep-* policies do not count it and "
				      "no incremental backup builds on it", name, plan_failed_types(&out->plan), name);
	if (strcmp(out->status, "Completed") == 0)
		return 0;
	if (out->hooks_failed && !out->failed && !plan_failed_types(&out->plan))
		return kahu_error_set(KAHU_EPARTIAL, "backup %s is PartiallyFailed: %zu hooks failed "
				      "(see the warnings)", name, out->hooks_failed);
	if (volumes_failed && !plan_failed_types(&out->plan) && !out->failed)
		return kahu_error_set(KAHU_EPARTIAL, "backup %s is PartiallyFailed: the data of %ld "
				      "volume%s could not be backed up (see the warnings)", name,
				      volumes_failed, volumes_failed == 1 ? "" : "s");
	if (out->failed)
		return kahu_error_set(KAHU_EPARTIAL, "backup %s is PartiallyFailed: %zu types and "
				      "%ld objects could not be backed up (see the warnings)",
				      name, plan_failed_types(&out->plan), out->failed);
	return kahu_error_set(KAHU_EPARTIAL, "backup %s is PartiallyFailed: %zu types "
			      "could not be backed up", name, plan_failed_types(&out->plan));
}

/* The local hooks before (after 0) or after (1) the whole backup, with the run in
 * their environment. */
static void run_local_hooks(struct hook_backup *hb, int after, const char *name, const char *location,
			    const char *status)
{
	char *env[] = {
		xasprintf("KAHU_BACKUP_NAME=%s", name),
		xasprintf("KAHU_LOCATION=%s", location),
		xasprintf("KAHU_STATUS=%s", status),
		xasprintf("KAHU_PHASE=%s", after ? "after" : "before"),
		xstrdup("KAHU_OPERATION=backup"),
		NULL,
	};
	hook_backup_local(hb, after, (const char *const *)env);
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
}

/* The after hooks' outcomes kept beside the committed backup (engine/hook_record.h),
 * still under the run's lock.  Optional: a failure is a warning, the backup and its
 * status stay as they are. */
static void keep_after_hooks(struct repo *repo, const struct kahu_key *key, const char *name,
			     json_t *hooks)
{
	struct manifest *m = NULL;
	int rc = backup_read_manifest(repo, name, 0, &m);
	if (rc == 0)
		rc = hook_record_put(repo_store(repo), key, name, m, hooks);
	if (rc < 0)
		log_warn("backup %s: the outcome of its after hooks was not stored with it (%s); the "
			 "backup is as recorded, describe and logs will not show them", name,
			 kahu_error_last());
	manifest_free(m);
}

/* After the run: the local after-hooks, told how it ended; every hook's outcome for
 * the caller, and, for a committed backup, the after hooks' stored beside it.  The
 * run's error message is kept. */
static void after_hooks(struct hook_backup *hb, struct repo *repo, const struct kahu_key *key,
			const char *name, int rc, struct backup_run_result *res)
{
	struct kahu_error_state st;
	kahu_error_capture(&st);
	const char *status = res->have_outcome ? res->out.status : rc == KAHU_EINTR ? "Interrupted" : "Failed";
	run_local_hooks(hb, 1, name, repo_location(repo)->name, status);
	if (hook_backup_results(hb)->n)
		res->hooks = hook_results_json(hook_backup_results(hb));
	if (res->have_outcome && res->hooks)
		keep_after_hooks(repo, key, name, res->hooks);
	kahu_error_restore(&st);
}

int backup_run(const struct backup_run_spec *rs, struct backup_run_result *res)
{
	struct repo *repo = NULL;
	struct store_lock *lock = NULL;
	struct strv warnings = STRV_INIT;
	char *full = NULL, *stext = NULL, *digest = NULL;
	struct backup_spec b = { 0 };
	struct manifest_cluster id = { 0 };
	struct hook_backup *hb = NULL;
	struct vol_plan vplan = { 0 };
	struct vol_run_id vrun = { { 0 }, NULL, NULL };
	struct vol_tracker *vt = NULL;
	struct strv kept = STRV_INIT;
	struct vol_ctx vc = { 0 };
	struct volloc_run vr = { 0 };
	struct vol_pods *vpods = NULL;
	struct movers *movers = NULL;
	const struct vol_scope vsc = { vol_claim_in_scope, vol_ns_in_scope, &vc, NULL };
	int rc;

	memset(res, 0, sizeof *res);
	/* The cluster: which one is it, what does it serve, what does the scope mean there? */
	char *unknown = NULL;
	if ((rc = cluster_identity_read(rs->kc, rs->server, &id, &unknown)) < 0)
		goto out;
	if (unknown) {
		log_warn("the UID of namespace kube-system could not be read (%s): backup %s records "
			 "the cluster by its server URL %s alone", unknown, rs->name, rs->server);
		free(unknown);
	}
	if ((rc = kube_discover(rs->kc, &res->disc)) < 0 ||
	    (rc = scope_resolve(rs->scope, res->disc, &warnings)) < 0)
		goto out;
	for (size_t i = 0; i < warnings.n; i++)
		log_warn("%s", warnings.v[i]);
	/* Hook definitions are checked before anything is written. */
	hb = hook_backup_new(rs->kc, rs->hooks, rs->scope, res->disc, rs->parallel);
	vc.scope = rs->scope;
	vc.pvc_res = kube_discovery_find(res->disc, "persistentvolumeclaims");
	if (rs->vol)
		vpods = vol_pods_new(&vsc);
	if ((rc = pods_list(rs, res->disc, hb, vpods)) < 0)
		goto out;
	json_t *sj = scope_to_json(rs->scope);
	stext = json_dumps(sj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(sj);
	digest = xcalloc(1, KAHU_HASH_HEX_LEN + 1); /* filled once the key is known */
	char run_id[MANIFEST_RUN_HEX_LEN + 1];
	manifest_new_run(run_id);

	b.name = rs->name;
	b.scope = rs->scope;
	b.disc = res->disc;
	b.kind = rs->kind;
	b.parallel = rs->parallel;
	b.page_size = rs->page_size;
	b.compression_level = rs->compression_level;
	b.ttl_seconds = rs->ttl_seconds;
	b.labels = rs->labels;
	b.cluster = json_pack("{s:s, s:s?, s:s?, s:s?}", "server", rs->server, "context", rs->context,
			      "version", res->disc->server_version, "uid", id.uid);
	b.dry_run = rs->dry_run;
	b.scope_digest = digest;
	b.progress = rs->progress;
	b.progress_ud = rs->ud;
	b.hooks = hb;
	b.run = run_id;

	if (!rs->dry_run && ((rc = prepare_location(rs, res, &id, stext, digest, &repo, &lock, &full, &b)) < 0 ||
			     (rc = prepare_volume_location(rs, res, repo, &vr, &b)) < 0))
		goto out;
	if (rs->vol) {
		char *space = store_lock_pid_space();
		vol_run_id_init(&vrun, space);
		free(space);
		const struct repo_info *ri = repo ? repo_get_info(repo) : NULL;
		if (ri && ri->exists && ri->created > 0)
			vrun.location = xasprintf("%.16s%s%lld", ri->key_id, *ri->key_id ? "-" : "",
						  (long long)ri->created);
		vc.repo = repo;
		if ((rc = volumes_plan(rs, res, &vc, &vrun, vpods, &vplan)) < 0) {
			if (!rs->dry_run)
				discard_partial(repo, rs->name, rc);   /* says nothing was kept */
			goto out;
		}
		vol_pods_free(vpods);   /* the plan has what it needed of the pods */
		vpods = NULL;
		vt = vol_tracker_new(rs->kc);
		if (!rs->dry_run && vplan.n && rs->vol->mover.kind == VOL_MOVER_CLUSTER) {
			const struct movers_opts mo = {
				.kc = rs->kc, .vt = vt, .run = &vrun, .vol = rs->vol,
				.loc = repo_location(vr.repo ? vr.repo : repo), .key = b.key,
			};
			if ((rc = movers_new(&mo, &movers)) < 0) {
				discard_partial(repo, rs->name, rc);
				goto out;
			}
		}
	}

	const char *location = repo ? repo_location(repo)->name : "";
	if (!rs->dry_run)
		run_local_hooks(hb, 0, rs->name, location, "InProgress");
	if (rs->phase)
		rs->phase(rs->ud, rs->dry_run ? "planning" : "backing up");
	struct vol_step vs = { .rs = rs, .b = &b, .res = res, .run = &vrun, .vt = vt, .plan = &vplan,
			       .kept = &kept, .hb = hb, .movers = movers };
	pthread_mutex_init(&vs.mu, NULL);
	if (!rs->dry_run && rs->vol && vplan.n) {
		vol_units(&vs);
		b.between = volumes_between;
		b.between_ud = &vs;
	}
	rc = backup_create(rs->kc, &b, &res->out);
	free(vs.unit_of);
	pthread_mutex_destroy(&vs.mu);
	if (rc == 0 && !rs->dry_run)
		rc = backup_write_manifest(&b, &res->out);
	if (rc == 0)
		for (size_t i = 0; i < kept.n; i++)
			vol_tracker_forget(vt, kept.v[i]);   /* kept with the committed backup */
	if (rs->phase)
		rs->phase(rs->ud, NULL);
	if (rc < 0) {
		/* What this run wrote on the volume location is its own (its marker, its
		 * token), whatever happened on the metadata location. */
		if (vr.marked)
			discard_volloc(&vr, rs->name);
		if (!rs->dry_run && rc != KAHU_EEXIST) {
			discard_partial(repo, rs->name, rc);
		} else if (!rs->dry_run) {
			/* Another run wrote an object of this name although we hold the lock (its
			 * lock lost, broken as stale): every object is written create-if-absent, so
			 * ours stopped at the first one it had written; what is there is its. */
			char *why = xstrdup(kahu_error_last());
			kahu_error_set(rc, "backup %s already exists on location %s: another run wrote it "
				       "while this one ran (%s); it was left alone", rs->name,
				       repo_location(repo)->name, why);
			free(why);
		}
		goto out;
	}
	res->have_outcome = 1;
	if (!rs->dry_run)
		rc = verdict(rs->name, &res->out, res->volumes_failed);
out:
	if (hb && !rs->dry_run && repo)
		after_hooks(hb, repo, b.key, rs->name, rc, res);
	movers_free(movers);
	if (vt) {
		int crc = vol_tracker_cleanup(vt);
		if (crc < 0 && rc == 0)
			log_warn("volume data: not everything kahu created in the cluster could be removed; "
				 "the next backup create or restore create removes it");
		vol_tracker_free(vt);
	}
	vol_plan_clear(&vplan);
	vol_pods_free(vpods);
	vol_run_id_clear(&vrun);
	strv_free(&vc.ns);
	strv_free(&kept);
	json_decref(b.cluster);
	hook_backup_free(hb);
	cluster_identity_clear(&id);
	if (rc < 0 && vr.marked && !res->have_outcome)
		discard_volloc(&vr, rs->name);
	if (vr.lock && repo_unlock(vr.lock) < 0 && rc == 0)
		rc = kahu_error_code();
	repo_close(vr.repo);
	if (lock && repo_unlock(lock) < 0 && rc == 0)
		rc = kahu_error_code();
	repo_close(repo);
	strv_free(&warnings);
	free(full);
	free(digest);
	free(stext);
	return rc;
}

void backup_run_result_free(struct backup_run_result *res)
{
	json_decref(res->volumes);
	backup_outcome_free(&res->out);
	kube_discovery_free(res->disc);
	json_decref(res->hooks);
	free(res->parent);
	free(res->volume_location);
	memset(res, 0, sizeof *res);
}

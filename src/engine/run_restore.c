#include "engine/run_restore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/hooks.h"
#include "engine/restore_record.h"
#include "engine/velero_src.h"
#include "engine/voldata.h"
#include "engine/volrestore.h"
#include "store/volloc.h"
#include "engine/volrun.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/fileio.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

/* The record's "source" of a restore from a Velero backup. */
static json_t *velero_source_json(const struct velero_src *v)
{
	return json_pack("{s:s, s:s, s:s}", "type", "velero", "backup", v->backup, "file", v->file);
}

static void log_line(void *ud, int level, const char *json_line)
{
	(void)level;
	fprintf(ud, "%s\n", json_line);
}

struct run_ctx {
	const struct restore_create_spec *rs;
	FILE *results;           /* temporary: one JSON line per item */
};

static void record_item(void *ud, const struct restore_item_result *r, json_t *obj)
{
	struct run_ctx *rc = ud;
	if (rc->results) {
		json_t *j = restore_item_json(r);
		char *line = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		fprintf(rc->results, "%s\n", line);
		free(line);
		json_decref(j);
	}
	if (rc->rs->on_item)
		rc->rs->on_item(rc->rs->ud, r, obj);
}

static void pass_progress(void *ud, long done, long total)
{
	struct run_ctx *rc = ud;
	if (rc->rs->progress)
		rc->rs->progress(rc->rs->ud, done, total);
}

/* pods/exec as the ops of the volume data core (volrun.h): a target per helper pod. */
static const struct vol_exec_ops *const restore_exec_ops = &vol_kube_exec_ops;
static void *restore_exec_ctx(void *ud, struct kube_client *kc, const char *ns, const char *pod)
{
	(void)ud;
	struct vol_kube_target *t = xcalloc(1, sizeof *t);
	*t = (struct vol_kube_target){ .kc = kc, .namespace_ = ns, .pod = pod };
	return t;
}

/* The location side before the run: the name free, our lock, the temporaries. */
static int prepare_location(const struct restore_create_spec *rs, struct repo *repo,
			    struct store_lock **lock, struct run_ctx *rc, FILE **logf)
{
	const char *name = rs->name;
	char *purpose = restore_lock_purpose(name);
	int err = repo_check_writable(repo);
	if (err == 0)
		err = run_lock(rs->repo, repo, purpose, lock);
	free(purpose);
	if (err < 0)
		return err;
	char *spath = layout_restore_summary(name);
	struct store_stat ss;
	err = store_stat(repo_store(repo), spath, &ss);
	free(spath);
	if (err == 0)
		return kahu_error_set(KAHU_EEXIST, "a restore named %s exists already; choose another name", name);
	if (err != KAHU_ENOTFOUND)
		return err;
	if (!(rc->results = kahu_tmpstream(NULL, "kahu-restore.", "the restore's results")) ||
	    !(*logf = kahu_tmpstream(NULL, "kahu-restore.", "the restore's log")))
		return kahu_error_code();
	return 0;
}

/* The hooks file's local hooks around the restore, with the run in their environment;
 * their outcomes appended to tot->hooks. */
static void restore_local_hooks(const struct restore_create_spec *rs, const char *location, int after,
				struct restore_totals *tot)
{
	struct hook_results hr;
	struct kahu_error_state st;
	if (!rs->hooks || !(after ? rs->hooks->nafter : rs->hooks->nbefore))
		return;
	kahu_error_capture(&st);
	hook_results_init(&hr);
	char *env[] = {
		xasprintf("KAHU_RESTORE_NAME=%s", rs->name),
		xasprintf("KAHU_BACKUP_NAME=%s", rs->backup),
		xasprintf("KAHU_LOCATION=%s", location),
		xasprintf("KAHU_STATUS=%s", after && tot->status ? tot->status : "InProgress"),
		xasprintf("KAHU_PHASE=%s", after ? "after" : "before"),
		xstrdup("KAHU_OPERATION=restore"),
		NULL,
	};
	hook_run_locals(rs->hooks, after, (const char *const *)env, &hr);
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	json_t *j = hook_results_json(&hr);
	if (!tot->hooks)
		tot->hooks = json_array();
	json_array_extend(tot->hooks, j);
	json_decref(j);
	tot->hooks_failed += hr.failed;
	hook_results_free(&hr);
	kahu_error_restore(&st);
}

/* The backup's volume catalog, when volume data is restored.  How commands run in the
 * helper pods: pods/exec through the volume data core's ops. */
static int open_volumes(const struct restore_create_spec *rs, struct repo *repo, const struct manifest *m,
			const struct kahu_key *key, struct kube_client *kc, struct repo **vrepo,
			struct volr **out)
{
	const struct vol_opts *o = rs->vol;
	int rc;
	*out = NULL;
	if (o && !o->restore_volumes && !o->volumes_only)
		return 0;
	/* The volume objects' location, when the backup put them elsewhere. */
	if ((rc = volloc_open_for(repo, m, vrepo)) < 0)
		return o && o->volumes_only ? rc :
		       kahu_error_wrap(rc, "backup %s: its volume data cannot be read (--restore-volumes=false "
				       "restores the rest without it)", rs->backup);
	struct volr_spec vs = {
		.kc = kc, .st = repo_store(repo), .vol_st = *vrepo ? repo_store(*vrepo) : NULL, .key = key, .backup = rs->backup, .dry_run = rs->dry_run,
		.allow_unencrypted = rs->repo->allow_unencrypted,
		.delete_extra = o && o->delete_extra, .volumes_only = o && o->volumes_only,
		.scale_down = o && o->scale_down, .pvcs = o ? &o->pvcs : NULL, .helper = o ? &o->helper : NULL,
		.ops = restore_exec_ops, .exec_ctx = restore_exec_ctx, .exec_ctx_free = free,
		.progress = rs->vol_progress, .progress_ud = rs->ud,
		.vol = o && o->mover.kind == VOL_MOVER_CLUSTER && !rs->dry_run ? o : NULL,
		.mover_loc = repo_location(*vrepo ? *vrepo : repo),
	};
	if (m->authenticated)
		snprintf(vs.run, sizeof vs.run, "%s", m->run);
	if ((rc = volr_open(&vs, out)) < 0)
		return rc;
	if (!*out && vs.volumes_only)
		return kahu_error_set(KAHU_ENOTFOUND, "backup %s holds no volume data: nothing to restore with "
				      "--volumes-only", rs->backup);
	return 0;
}

int restore_create(const struct restore_create_spec *rs, struct restore_create_result *res)
{
	const char *name = rs->name, *backup = rs->backup;
	struct run_ctx rctx = { .rs = rs };
	FILE *logf = NULL;
	struct repo *repo = NULL;
	struct store_lock *lock = NULL;
	struct kube_client *kc;
	const struct kahu_key *key = NULL;
	struct manifest *m = NULL;
	struct volr *vol = NULL;
	struct repo *vrepo = NULL;
	int rc;

	memset(res, 0, sizeof *res);
	if (rs->velero) {
		/* The location keeps the record only (a dry run needs none), encrypted and
		 * sealed as a backup would be: on a location that is new, its key is made or
		 * named as backup create does. */
		if (!rs->dry_run && ((rc = run_open_repo(rs->repo, 1, &repo)) < 0 ||
				     (!repo_location(repo)->no_encryption &&
				      ((rc = repo_key(repo, &key)) < 0 || (rc = repo_init_if_needed(repo, key)) < 0))))
			goto out;
	} else if ((rc = run_open_repo(rs->repo, 0, &repo)) < 0 ||
		   (rc = run_read_trusted(rs->repo, repo, backup, &m)) < 0 ||
		   /* On a keyed location the key is used also for an unencrypted backup that
		    * was accepted: the chain may hold encrypted ones, and the record is
		    * sealed with it. */
		   ((m->encrypted || repo_get_info(repo)->key_id[0]) && (rc = repo_key(repo, &key)) < 0))
		goto out;
	if (!rs->dry_run && (rc = prepare_location(rs, repo, &lock, &rctx, &logf)) < 0)
		goto out;
	if ((rc = rs->kube(rs->ud, &kc)) < 0)
		goto out;
	if (!rs->velero && (rc = open_volumes(rs, repo, m, m->encrypted ? key : NULL, kc, &vrepo, &vol)) < 0)
		goto out;
	/* Helper pods of killed runs in the namespaces written into go before ours come. */
	if (vol && !rs->dry_run && (rc = volr_leftovers_remove(vol, rs->map)) < 0)
		goto out;

	struct restore_spec spec = {
		.name = name,
		.backup = backup,
		.st = repo ? repo_store(repo) : NULL,
		.key = key,
		.scope = rs->scope,
		.map = rs->map,
		.existing = rs->existing,
		.restore_owned = rs->restore_owned,
		.preserve_nodeports = rs->preserve_nodeports,
		.status_include = rs->status_include,
		.allow_unencrypted = rs->repo->allow_unencrypted,
		.dry_run = rs->dry_run,
		.parallel = rs->parallel,
		.crd_timeout = rs->crd_timeout,
		.hooks = rs->hooks,
		.xform = rs->xform,
		.vol = vol,
		.volumes_only = rs->vol && rs->vol->volumes_only,
		.scale_down = rs->vol && rs->vol->scale_down,
		.velero = rs->velero,
		.on_item = record_item,
		.progress = pass_progress,
		.ud = &rctx,
	};
	if (!rs->dry_run) {
		/* The mark of a run under way: a run that is killed leaves it behind, and
		 * list and describe then say it was interrupted without a result. */
		char now[32];
		time_rfc3339(time(NULL), now, sizeof now);
		json_t *mark = json_pack("{s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i}, s:[], s:b}",
					 "name", name, "backup", backup, "status", "InProgress",
					 "started", now, "counts", "items", 0, "created", 0, "updated", 0,
					 "skipped", 0, "failed", 0, "warnings", "encrypted", key != NULL);
		if (rs->velero)
			json_object_set_new(mark, "source", velero_source_json(rs->velero));
		rc = restore_record_put_summary(repo_store(repo), key, name, mark, KAHU_PUT_EXCLUSIVE);
		json_decref(mark);
		if (rc == KAHU_EEXIST)
			rc = kahu_error_set(KAHU_EEXIST, "a restore named %s exists already; choose another name", name);
		if (rc < 0)
			goto out;
	}
	struct restore_totals *tot = &res->tot;
	if (logf)
		kahu_log_set_sink(log_line, logf, KAHU_LOG_INFO);
	struct restore_totals before = { 0 };
	if (!rs->dry_run)
		restore_local_hooks(rs, repo_location(repo)->name, 0, &before);
	if (rs->phase)
		rs->phase(rs->ud, "restoring");
	rc = restore_run(kc, &spec, tot);
	if (before.hooks) {
		/* The before hooks come first in the results. */
		if (tot->hooks)
			json_array_extend(before.hooks, tot->hooks);
		json_decref(tot->hooks);
		tot->hooks = before.hooks;
		tot->hooks_failed += before.hooks_failed;
		if (tot->status && strcmp(tot->status, "Completed") == 0 && before.hooks_failed)
			tot->status = "PartiallyFailed";
	}
	if (vol && volr_scale_back(vol) < 0) {
		char *w = xasprintf("workloads scaled to zero for the restore could not all be scaled back "
				    "(see the restore's log)");
		json_array_append_new(tot->warnings, json_string(w));
		free(w);
	}
	if (rs->phase)
		rs->phase(rs->ud, NULL);
	if (logf)
		kahu_log_set_sink(NULL, NULL, 0);
	int interrupted = rc == KAHU_EINTR;
	if (rc < 0 && !interrupted && rs->dry_run)
		goto out;
	/* A run that stopped as a whole (the backup unreadable, the cluster gone) records
	 * what it did so far, and why it stopped. */
	int fatal = rc < 0 && !interrupted ? rc : 0;
	char *fatal_msg = fatal ? xstrdup(kahu_error_last()) : NULL;

	char started[32], completed[32];
	time_rfc3339(tot->started, started, sizeof started);
	time_rfc3339(tot->completed, completed, sizeof completed);
	res->summary = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:O, s:b}",
				 "name", name, "backup", backup, "status", tot->status,
				 "started", started, "completed", completed, "counts",
				 "items", (json_int_t)tot->items, "created", (json_int_t)tot->created,
				 "updated", (json_int_t)tot->updated, "skipped", (json_int_t)tot->skipped,
				 "failed", (json_int_t)tot->failed, "warnings", tot->warnings,
				 "encrypted", key != NULL);
	res->fatal = fatal != 0;
	if (rs->velero)
		json_object_set_new(res->summary, "source", velero_source_json(rs->velero));
	if (tot->hooks) {
		/* Counts in the plain summary (restore describe reads the encrypted result
		 * for the outcomes when there are any); the outcomes in the result only. */
		json_object_set(res->summary, "hooks", tot->hooks);
		json_object_set_new(res->summary, "hookCounts", json_pack("{s:I, s:I}",
			"total", (json_int_t)json_array_size(tot->hooks), "failed", (json_int_t)tot->hooks_failed));
	}
	if (vol && tot->volumes)
		json_object_set_new(res->summary, "volumes", json_pack("{s:I, s:I}",
			"restored", (json_int_t)(tot->volumes - tot->volumes_failed),
			"failed", (json_int_t)tot->volumes_failed));
	if (fatal_msg)
		json_object_set_new(res->summary, "error", json_string(fatal_msg));
	int stored = 0;
	if (!rs->dry_run) {
		int wrc = restore_record_put_log(repo, key, name, logf);
		if (wrc < 0)
			log_warn("cannot store the log of restore %s: %s", name, kahu_error_last());
		wrc = restore_record_put_results(repo, key, name, res->summary, rctx.results);
		if (wrc < 0)
			log_error("cannot store the result of restore %s: %s", name, kahu_error_last());
		if (wrc < 0 && !interrupted && !fatal)
			rc = wrc;
		stored = wrc == 0;
	}
	if (fatal)
		rc = kahu_error_set(fatal, "%s (restore %s stopped after %ld items; what it did is recorded: "
				    "kahu restore describe %s --details)", fatal_msg, name, tot->items, name);
	free(fatal_msg);
	if (fatal)
		;
	else if (interrupted)
		rc = kahu_error_set(KAHU_EINTR, "restore %s interrupted after %ld items; the result so far is stored",
				    name, tot->items);
	else if (rc == 0 && tot->failed)
		rc = kahu_error_set(tot->created + tot->updated + tot->skipped ? KAHU_EPARTIAL : KAHU_EFAIL,
				    "restore %s: %ld items failed (see kahu restore describe %s --details)",
				    name, tot->failed, name);
	else if (rc == 0 && tot->hooks_failed)
		rc = kahu_error_set(KAHU_EPARTIAL, "restore %s is PartiallyFailed: %zu restore hooks failed "
				    "(see kahu restore describe %s)", name, tot->hooks_failed, name);
	if (!rs->dry_run) {
		/* After the result is stored, to be told the final status: the after hooks'
		 * outcomes are in the output, and kept beside the record (bound to it) while
		 * the lock is still held.  Failing to keep them is a warning. */
		restore_local_hooks(rs, repo_location(repo)->name, 1, tot);
		if (tot->hooks)
			json_object_set(res->summary, "hooks", tot->hooks);
		if (stored && tot->hooks) {
			struct kahu_error_state es;
			kahu_error_capture(&es);
			if (restore_record_put_after_hooks(repo_store(repo), key, name, tot->hooks) < 0)
				log_warn("restore %s: the outcome of its after hooks was not stored with it "
					 "(%s); the restore is as recorded, describe and logs will not show "
					 "them", name, kahu_error_last());
			kahu_error_restore(&es);
		}
	}
out:
	if (logf) {
		kahu_log_set_sink(NULL, NULL, 0);
		fclose(logf);
	}
	if (rctx.results)
		fclose(rctx.results);
	volr_free(vol);
	repo_close(vrepo);
	manifest_free(m);
	if (lock && repo_unlock(lock) < 0 && rc == 0)
		rc = kahu_error_code();
	repo_close(repo);
	return rc;
}

void restore_create_result_free(struct restore_create_result *res)
{
	restore_totals_clear(&res->tot);
	json_decref(res->summary);
	memset(res, 0, sizeof *res);
}

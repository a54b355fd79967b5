#include "engine/run_backup.h"

#include <stdlib.h>
#include <string.h>

#include "archive/manifest.h"
#include "engine/hooks_backup.h"
#include "engine/parent.h"
#include "engine/scope.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"

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

/* The location side before collection: opened, keyed, locked, cleared of leftovers,
 * the parent chosen.  Fills what `b` needs of it. */
static int prepare_location(const struct backup_run_spec *rs, struct backup_run_result *res,
			    const char *stext, char *digest, struct repo **repo,
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
	if ((rc = run_lock(rs->repo, *repo, "backup create", lock)) < 0)
		return rc;
	/* Leftovers of a killed run (temporaries of unfinished puts): we hold the lock, so
	 * no run of ours is writing them. */
	unsigned int temps = 0;
	if ((rc = store_cleanup(repo_store(*repo), LAYOUT_BACKUPS, &temps)) < 0)
		return rc;
	if (temps)
		log_info("removed %u unfinished upload%s of interrupted runs", temps, temps == 1 ? "" : "s");
	int state = repo_backup_exists(*repo, name);
	if (state == REPO_BACKUP_COMPLETE)
		return kahu_error_set(KAHU_EEXIST, "backup %s already exists on location %s; choose another name",
				      name, repo_location(*repo)->name);
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
	    (rc = parent_resolve(*repo, key, name, rs->parent, rs->kind, digest, &res->parent, full)) < 0)
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

/* The run's verdict from its outcome: 0, KAHU_EFAIL or KAHU_EPARTIAL. */
static int verdict(const char *name, const struct backup_outcome *out)
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

/* After the run: the local after-hooks, told how it ended; every hook's outcome for
 * the caller.  The run's error message is kept. */
static void after_hooks(struct hook_backup *hb, const char *name, const char *location, int rc,
			struct backup_run_result *res)
{
	struct kahu_error_state st;
	kahu_error_capture(&st);
	const char *status = res->have_outcome ? res->out.status : rc == KAHU_EINTR ? "Interrupted" : "Failed";
	run_local_hooks(hb, 1, name, location, status);
	if (hook_backup_results(hb)->n)
		res->hooks = hook_results_json(hook_backup_results(hb));
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
	if ((rc = hook_backup_prepare(rs->kc, rs->hooks, rs->scope, res->disc, rs->parallel, &hb)) < 0)
		goto out;
	json_t *sj = scope_to_json(rs->scope);
	stext = json_dumps(sj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(sj);
	digest = xcalloc(1, KAHU_HASH_HEX_LEN + 1); /* filled once the key is known */

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

	if (!rs->dry_run && (rc = prepare_location(rs, res, stext, digest, &repo, &lock, &full, &b)) < 0)
		goto out;

	const char *location = repo ? repo_location(repo)->name : "";
	if (!rs->dry_run)
		run_local_hooks(hb, 0, rs->name, location, "InProgress");
	if (rs->phase)
		rs->phase(rs->ud, rs->dry_run ? "planning" : "backing up");
	rc = backup_create(rs->kc, &b, &res->out);
	if (rc == 0 && !rs->dry_run)
		rc = backup_write_manifest(&b, &res->out);
	if (rs->phase)
		rs->phase(rs->ud, NULL);
	if (rc < 0) {
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
		rc = verdict(rs->name, &res->out);
out:
	if (hb && !rs->dry_run && repo)
		after_hooks(hb, rs->name, repo_location(repo)->name, rc, res);
	json_decref(b.cluster);
	hook_backup_free(hb);
	cluster_identity_clear(&id);
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
	backup_outcome_free(&res->out);
	kube_discovery_free(res->disc);
	json_decref(res->hooks);
	free(res->parent);
	memset(res, 0, sizeof *res);
}

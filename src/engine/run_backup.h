/* kahu — one backup run, start to end: the cluster's discovery and the scope resolved
 * against it, the location opened (its key, kahu-repo.json written on first use), the
 * lock taken, leftovers of interrupted runs removed, the parent chosen, the backup
 * created and committed (its manifest), a failed run's objects removed, the lock
 * released.  The caller parses its input into struct backup_run_spec and shows the
 * result; nothing here prints. */
#ifndef KAHU_ENGINE_RUN_BACKUP_H
#define KAHU_ENGINE_RUN_BACKUP_H

#include <jansson.h>

#include "archive/manifest.h"
#include "engine/backup.h"
#include "engine/run.h"

struct kahu_scope;
struct kube_client;
struct kube_discovery;
struct hook_set;
struct vol_opts;

struct backup_run_spec {
	const char *name;
	struct kahu_scope *scope;          /* as given; resolved here against the cluster */
	enum backup_kind kind;
	const char *parent;                /* the parent named by the user, or NULL: chosen */
	int parallel;
	long page_size;
	int compression_level;
	int64_t ttl_seconds;
	json_t *labels;                    /* object of strings, may be NULL */
	int dry_run;                       /* plan only: the location is not opened */
	int no_encryption;                 /* store in the clear (with warnings) */
	struct kube_client *kc;
	const char *server, *context;      /* recorded in the manifest */
	const struct run_repo *repo;       /* the location (not used by a dry run) */
	/* The caller holds the lock of the location, and of volume_location when that is
	 * named, for this run and others beside it (engine/multi.h): this run takes
	 * neither and leaves the unfinished uploads there alone (they may be its
	 * siblings'); the caller removed those of killed runs before it started. */
	int location_locked;
	const struct hook_set *hooks;      /* the hooks file (engine/hooks.h), may be NULL;
					    * pods' hook annotations are honoured either way */
	const struct vol_opts *vol;        /* volume data (engine/volrun.h); NULL: none */
	/* The location the volume data goes to (store/volloc.h), NULL: beside the metadata
	 * (or where the parent's is, for an incremental or differential backup). */
	const char *volume_location;
	/* Called before collection starts ("planning" or "backing up") and, with NULL,
	 * when it ends; both may be NULL. */
	void (*phase)(void *ud, const char *what);
	void (*progress)(void *ud, const struct backup_progress *p);
	/* While a volume's data is read: tar bytes and entries so far, first with 0 and 0
	 * when its copy starts; may be NULL. */
	void (*vol_progress)(void *ud, const char *namespace_, const char *pvc, uint64_t bytes,
			     uint64_t files);
	void *ud;
};

struct backup_run_result {
	struct backup_outcome out;         /* valid when backup_run got as far as the outcome */
	struct kube_discovery *disc;       /* what the plan's types point into */
	char *parent;                      /* incremental/differential: the backup built on */
	int have_outcome;                  /* 1: out holds a created (or planned) backup */
	json_t *hooks;                     /* every hook's outcome (hook_results_json), may be NULL */
	/* Per claim in scope: the volume plan (vol_plan_json) with, once the backup ran,
	 * each volume's "status" (Completed, Failed, Skipped, NotRun) and what was
	 * recorded ("snapshot"); NULL without volume data. */
	json_t *volumes;
	long volumes_failed;
	char *volume_location;             /* the volume data's location when not beside the
					    * metadata (store/volloc.h), else NULL */
};

/* The identity of the cluster `kc` talks to (what a backup records, what
 * `backup list --cluster current` compares with): `server` (the kubeconfig's URL) and
 * the metadata.uid of its kube-system namespace (GET /api/v1/namespaces/kube-system).
 * When that is forbidden, absent or carries no uid, out->uid is NULL and *unknown (when
 * not NULL) gets the reason, allocated: the caller warns.  Other failures (unreachable,
 * unauthorized, interrupted) are returned.  Free out with cluster_identity_clear. */
int cluster_identity_read(struct kube_client *kc, const char *server, struct manifest_cluster *out,
			  char **unknown);
void cluster_identity_clear(struct manifest_cluster *c);

/* Run the backup.  0 when it Completed (or was planned); KAHU_EFAIL when it is kept as
 * Failed and KAHU_EPARTIAL when PartiallyFailed (the outcome is valid in both cases,
 * and the message says why); another code when the run failed (what it wrote is
 * removed, the message says so). */
int backup_run(const struct backup_run_spec *spec, struct backup_run_result *res);
void backup_run_result_free(struct backup_run_result *res);

#endif

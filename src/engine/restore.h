/* kahu — the restore engine.
 *
 * A restore reads a backup (and, for incremental and differential backups, the chain
 * back to its full backup), keeps the items of the final index that the scope wants,
 * spools them to a private temporary directory by type (memory stays flat), and
 * creates them in the target cluster in a safe order: CRDs first (waiting until each
 * is Established and NamesAccepted), then Velero's priority list, then everything
 * else alphabetically; the items of one type in parallel.  Every item's outcome is
 * recorded.  Objects are cleaned (sanitize.h) and mapped to other namespaces on the
 * way. */
#ifndef KAHU_ENGINE_RESTORE_H
#define KAHU_ENGINE_RESTORE_H

#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "util/strv.h"

struct hook_set;

struct kube_client;
struct kahu_store;
struct kahu_key;
struct kahu_scope;
struct ns_map;
struct transform_set;
struct velero_src;
struct volr;

enum existing_policy { EXISTING_NONE, EXISTING_UPDATE };

enum restore_outcome {
	OUTCOME_CREATED,
	OUTCOME_UPDATED,
	OUTCOME_SKIPPED,
	OUTCOME_FAILED,
	OUTCOME_WOULD_CREATE,   /* dry run */
	OUTCOME_WOULD_UPDATE,
};

struct restore_item_result {
	const char *resource;   /* group-resource */
	const char *ns;         /* target namespace, NULL for cluster objects */
	const char *source_ns;  /* namespace in the backup when mapped, else NULL */
	const char *name;
	enum restore_outcome outcome;
	const char *reason;     /* why skipped or failed; NULL when created */
	json_t *volume;         /* a claim whose data was restored (or would be): the
				 * volume's result (volrestore.h); else NULL */
	json_t *transforms;     /* the transform rules that changed it, in order
				 * ({rule, source, type, patch}: transform.h), or NULL */
};

struct restore_spec {
	const char *name;                  /* the restore's name */
	const char *backup;
	struct kahu_store *st;
	const struct kahu_key *key;        /* NULL: the backup is unencrypted */
	/* With a key, a backup of the chain that is not encrypted (no MAC) is refused
	 * (KAHU_ECRYPTO) unless this is set; encrypted and unencrypted members are each
	 * read as what they are. */
	int allow_unencrypted;
	struct kahu_scope *scope;          /* not yet resolved: resolved against the backup's types */
	const struct ns_map *map;          /* may be NULL */
	enum existing_policy existing;
	int restore_owned;
	int preserve_nodeports;
	const struct strv *status_include; /* resource names whose status is restored */
	int dry_run;
	int parallel;
	int crd_timeout;                   /* seconds to wait for a CRD to be established */
	const struct hook_set *hooks;      /* the hooks file (engine/hooks.h), may be NULL; hook
					    * annotations are honoured either way */
	struct transform_set *xform;       /* the transform rules (transform.h), may be NULL:
					    * applied after the mapping; rules that changed no
					    * object are warnings at the end */
	/* Volume data (volrestore.h): claims with data in the backup are re-provisioned
	 * and filled after they are created, before any later type (pods, workloads);
	 * NULL: none.  volumes_only: only claims are handled, in place: an existing claim
	 * gets its data, nothing is created or changed. */
	struct volr *vol;
	int volumes_only, scale_down;
	/* A Velero backup as the source (velero_src.h): its tarball's items are read
	 * instead of a kahu backup's (st, key and backup unused); the claims whose data
	 * Velero kept elsewhere carry a volume result saying so, failed when
	 * velero->volumes_required.  NULL: a kahu backup. */
	const struct velero_src *velero;
	/* Called for every item (from worker threads, serialised). */
	void (*on_item)(void *ud, const struct restore_item_result *r, json_t *obj);
	void (*progress)(void *ud, long done, long total);
	void *ud;
};

struct restore_totals {
	long items;       /* items considered */
	long created, updated, skipped, failed;
	int interrupted;
	time_t started, completed;
	const char *status;  /* Completed, PartiallyFailed, Failed, Interrupted */
	json_t *warnings;    /* array of strings */
	json_t *hooks;       /* every restore hook's outcome (hook_results_json), or NULL */
	size_t hooks_failed; /* of them, failed under on-error Fail */
	long volumes, volumes_failed; /* claims whose data was (or would be) restored, failed */
};

/* Runs the restore.  Returns 0 when it ran to the end (look at totals for item
 * failures), or a negative code when it could not start or was interrupted
 * (KAHU_EINTR: totals hold what was done). */
int restore_run(struct kube_client *kc, const struct restore_spec *s, struct restore_totals *t);
void restore_totals_clear(struct restore_totals *t);
const char *restore_outcome_name(enum restore_outcome o);

#endif

/* kahu — one restore run, start to end: the location opened, the backup's manifest
 * read and authenticated, the key, the lock ("restore create <name>"), the name
 * checked free, the InProgress mark written, the run's log captured, the restore run,
 * its log, result and summary recorded (restore_record.h), the lock released.  The
 * caller parses its input into struct restore_create_spec and shows the result (a dry
 * run's items through on_item); nothing here prints. */
#ifndef KAHU_ENGINE_RUN_RESTORE_H
#define KAHU_ENGINE_RUN_RESTORE_H

#include <stdint.h>

#include <jansson.h>

#include "engine/restore.h"
#include "engine/run.h"

struct kahu_scope;
struct kube_client;
struct ns_map;
struct strv;
struct velero_src;
struct vol_opts;

struct restore_create_spec {
	const char *name;                  /* the restore's name */
	const char *backup;
	struct kahu_scope *scope;          /* not yet resolved */
	const struct ns_map *map;          /* may be NULL */
	enum existing_policy existing;
	int restore_owned;
	int preserve_nodeports;
	const struct strv *status_include;
	int dry_run;                       /* nothing is written, no lock is taken */
	int parallel;
	int crd_timeout;
	const struct hook_set *hooks;      /* the hooks file, may be NULL (engine/hooks.h) */
	struct transform_set *xform;       /* transform rules, may be NULL (engine/transform.h) */
	/* Volume data: the restore flags (volrun.h; NULL: the defaults, data restored). */
	const struct vol_opts *vol;
	const struct run_repo *repo;
	/* A Velero backup as the source (engine/velero_src.h), or NULL: `backup` on the
	 * location.  The location then only keeps the restore's record (a dry run does not
	 * open it); no volume data is restored. */
	const struct velero_src *velero;
	/* The cluster, asked for once the location and the backup are known good. */
	int (*kube)(void *ud, struct kube_client **out);
	/* Every item (after it is recorded), as restore_spec.on_item. */
	void (*on_item)(void *ud, const struct restore_item_result *r, json_t *obj);
	void (*progress)(void *ud, long done, long total);
	/* While a claim's data is written: content bytes and entries so far, first with 0
	 * and 0 when its copy starts; may be NULL.  From worker threads. */
	void (*vol_progress)(void *ud, const char *namespace_, const char *pvc, uint64_t bytes,
			     uint64_t files);
	/* Called before the restore starts ("restoring") and, with NULL, when it ends. */
	void (*phase)(void *ud, const char *what);
	void *ud;
};

struct restore_create_result {
	struct restore_totals tot;
	json_t *summary;   /* the run's summary, once it ran (also when interrupted) */
	int fatal;         /* the run stopped as a whole: the summary is recorded, the error says it all */
};

/* Run the restore.  0 when every item was restored; KAHU_EPARTIAL or KAHU_EFAIL when
 * items failed; KAHU_EINTR when interrupted (the result so far is stored); another
 * code when it could not start, or stopped as a whole (res->fatal: what it did is
 * recorded).  The message says which. */
int restore_create(const struct restore_create_spec *spec, struct restore_create_result *res);
void restore_create_result_free(struct restore_create_result *res);

#endif

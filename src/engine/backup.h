/* kahu — the backup engine: collect the objects in scope and stream them into the
 * location as one bundle (tar → zstd → envelope), then write the manifest last.
 *
 *   backups/<name>/metadata.tar.zst[.kenc]   metadata/version, resources/…, kahu/index.jsonl,
 *                                            kahu/backup.json
 *   backups/<name>/log.jsonl.zst[.kenc]      the backup's own log
 *   backups/<name>/backup.json               the manifest: the commit point
 *
 * Nothing is visible before the manifest is written; on any fatal error (interrupt,
 * lost connection, full disk) the put streams are aborted and no manifest is written.
 * Failed types (forbidden, retries exhausted) do not stop the backup: it completes as
 * PartiallyFailed with the reasons recorded.  In an incremental or differential backup
 * a failed type's index lines are carried over, all of them, from the backup it is
 * compared with (a restore would read missing lines as deletions), and kahu/backup.json
 * names that backup ("carriedOverFrom").  A backup in which types failed and no other
 * type kept an object holds nothing of its own: it is Failed (still written, with its
 * log, so that describe and logs say why). */
#ifndef KAHU_ENGINE_BACKUP_H
#define KAHU_ENGINE_BACKUP_H

#include <jansson.h>
#include <stdint.h>

#include "engine/collect.h"

struct kube_client;
struct kube_discovery;
struct kahu_scope;
struct kahu_store;
struct kahu_key;

enum backup_kind { BACKUP_FULL, BACKUP_INCREMENTAL, BACKUP_DIFFERENTIAL };

struct backup_progress {
	size_t types_done, types_total;
	long objects;
	uint64_t bytes_stored;
};

struct backup_spec {
	const char *name;
	const struct kahu_scope *scope;       /* resolved against `disc` */
	const struct kube_discovery *disc;
	struct kahu_store *st;                /* NULL for a dry run */
	const struct kahu_key *key;           /* NULL: unencrypted (--no-encryption) */
	enum backup_kind kind;
	const char *parent;                   /* incremental/differential: the backup compared with */
	const char *chain_full;               /* the full backup the chain starts from */
	int parallel;
	long page_size;
	int compression_level;
	int64_t ttl_seconds;
	json_t *labels;                       /* object of strings, may be NULL */
	json_t *cluster;                      /* {server, context, version, uid} recorded;
					       * server and uid also in the manifest */
	int dry_run;
	const char *scope_digest;             /* manifest_scope_digest of the canonical scope */
	void (*progress)(void *ud, const struct backup_progress *p);
	void *progress_ud;
	/* Hooks (engine/hooks_backup.h), NULL: none.  The pre hooks of every selected pod
	 * not deferred (hook_backup_defer) run before the collection and its post hooks
	 * after it, whatever their outcome; deferred pods' hooks run in `between`, around
	 * their volumes' data; then every post hook not run yet (hook_backup_finish).  A
	 * failed hook under on-error Fail makes the backup PartiallyFailed; every outcome
	 * is in kahu/backup.json ("hooks") and the backup's log. */
	struct hook_backup *hooks;
	/* Called after a collection that succeeded and the post hooks of the pods not
	 * deferred (not in a dry run): the volume data, with the deferred pods' hooks.  What it stores it appends to `objects` ({path, size,
	 * blake2b}, relative to the backup), which go into the manifest after the
	 * metadata's; `*failed` > 0 makes the backup PartiallyFailed; a negative return
	 * fails the run.  NULL: nothing between. */
	int (*between)(void *ud, json_t *objects, long *failed);
	void *between_ud;
	/* The volume data on another location (store/volloc.h): its store, and its name,
	 * provider and token recorded in the manifest.  NULL: beside the metadata. */
	struct kahu_store *vol_st;
	const char *vol_location, *vol_provider, *vol_token;
	/* The run id (manifest.h "run", 32 hex; manifest_new_run), recorded in the manifest
	 * of an encrypted backup; objects written without a hash (the volume data) are
	 * bound to it.  NULL: none. */
	const char *run;
	/* The parent's run id (its authenticated manifest's "run"), which its volume
	 * indexes must carry; "" when it has none. */
	char parent_run[33];
};

struct backup_outcome {
	const char *status;                   /* "Completed", "PartiallyFailed", "Failed" */
	struct plan plan;                     /* per-type results (caller frees with backup_outcome_free) */
	long items;                           /* objects in the backup's index */
	long stored;                          /* objects stored in this backup's archive */
	long failed;                          /* objects that could not be stored (warned) */
	uint64_t stored_bytes;
	size_t warnings;
	json_t *spec;                         /* kahu/backup.json as stored */
	json_t *objects;                      /* [{path, size, blake2b}] of the data objects written,
						 paths relative to backups/<name>/; no blake2b
						 for an object bound to the run (volume data) */
	time_t started, completed;
	size_t hooks_failed;                  /* hooks that failed under on-error Fail */
};

int backup_create(struct kube_client *kc, const struct backup_spec *b, struct backup_outcome *out);
/* The commit point: write backups/<name>/backup.json for a created backup. */
int backup_write_manifest(const struct backup_spec *b, const struct backup_outcome *out);
void backup_outcome_free(struct backup_outcome *o);

/* Object paths of a backup on its location. */

#endif

/* kahu — which backup an incremental or differential backup builds on.
 *
 * The choice itself (parent_choose) is pure: among the authenticated backups of the
 * same scope that are not Failed (for a differential backup: full ones only), the one
 * completed last; on a tie, the later one in listing order.  parent_resolve reads the
 * location: a named parent is checked (it must exist, authenticate and not be Failed),
 * otherwise every listed backup is a candidate once its manifest authenticates. */
#ifndef KAHU_ENGINE_PARENT_H
#define KAHU_ENGINE_PARENT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/backup.h"
#include "store/repo.h"

struct kahu_key;
struct manifest;

/* The manifest of a listed backup (b->m), authenticated with `key` (NULL: only an
 * unencrypted manifest passes, there being nothing to check it with) and naming that
 * backup: the fields prune and the parent choice act on (free with manifest_free).
 * NULL, with the reason in *why (allocated), when it cannot be read or trusted. */
struct manifest *backup_trusted_manifest(const struct repo_backup *b, const struct kahu_key *key,
					 char **why);

/* What the choice looks at, of one authenticated backup. */
struct parent_candidate {
	const char *name;
	const char *scope_digest;
	int failed;           /* status Failed: nothing of its own to build on */
	int full;             /* type full */
	int64_t completed;    /* seconds since the epoch */
};

/* The index in v of the parent for a backup of scope `scope_digest` (want_full: a
 * differential backup, which builds on a full one), or -1 when none fits. */
long parent_choose(const struct parent_candidate *v, size_t n, const char *scope_digest,
		   int want_full);

/* The parent of backup `name` of kind `kind` (not BACKUP_FULL) and scope `digest`, and
 * the full backup its chain starts from (both allocated).  `explicit_parent` (may be
 * NULL) is the one the user named: KAHU_EUSAGE when it is Failed.  KAHU_ENOTFOUND when
 * no backup fits. */
int parent_resolve(struct repo *repo, const struct kahu_key *key, const char *name,
		   const char *explicit_parent, enum backup_kind kind, const char *digest,
		   char **parent, char **full);
/* The same, the parent chosen (when none is named) among the backups of `cluster` (the
 * identity backup_run read, archive/manifest.h manifest_cluster_same) only: the
 * backups of several clusters on one location have the same scope digest when their
 * flags are the same (backup create --contexts).  NULL: any cluster.  A backup whose
 * manifest names no cluster (written before manifests did) counts for any cluster. */
struct manifest_cluster;
int parent_resolve_in_cluster(struct repo *repo, const struct kahu_key *key, const char *name,
			      const char *explicit_parent, enum backup_kind kind, const char *digest,
			      const struct manifest_cluster *cluster, char **parent, char **full);

#endif

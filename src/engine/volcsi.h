/* kahu — CSI snapshots of claims: the VolumeSnapshotClass for a PV's driver, a
 * VolumeSnapshot created and waited for until readyToUse, what the backup records of it
 * (snapshot, content, handle, restore size), and for data movement a temporary claim
 * restored from the snapshot, which a helper pod mounts.
 *
 * Snapshots and temporary claims are created through the run's vol_tracker: removed
 * when the run ends unless the caller forgets a snapshot kept with a committed backup
 * (vol_snapshot_delete removes such a snapshot later, with backup delete and prune).
 * A kept snapshot's VolumeSnapshotContent is set to deletionPolicy Retain once it is
 * ready, so that deleting the VolumeSnapshot object by accident keeps its data. */
#ifndef KAHU_ENGINE_VOLCSI_H
#define KAHU_ENGINE_VOLCSI_H

#include <jansson.h>
#include <stdint.h>

struct kahu_key;
struct kahu_store;
struct kube_client;
struct vol_tracker;
struct vol_run_id;

#define VOL_SNAP_DEFAULT_ANN "snapshot.storage.kubernetes.io/is-default-class"

/* The classes of the cluster (one LIST; none when the snapshot API is not served). */
struct vol_snapclasses;
int vol_snapclasses_load(struct kube_client *kc, struct vol_snapclasses **out);
/* Parsed from a list's items (a JSON array), for tests. */
struct vol_snapclasses *vol_snapclasses_from(json_t *items);
/* The class for `driver`: `wanted` (--snapshot-class) when given and it is for that
 * driver, else the driver's class annotated as its default; NULL when none. */
const char *vol_snapclass_for(const struct vol_snapclasses *c, const char *driver,
			      const char *wanted);
/* Whether a class named `name` exists (to check --snapshot-class early). */
int vol_snapclass_exists(const struct vol_snapclasses *c, const char *name);
void vol_snapclasses_free(struct vol_snapclasses *c);

struct vol_snapshot {
	char *namespace_, *name;        /* the VolumeSnapshot */
	char *klass, *content, *handle; /* its class, VolumeSnapshotContent, snapshotHandle */
	char *restore_size;             /* a quantity as the API gives it, or NULL */
	char *ready_at;                 /* RFC 3339 */
	int move;                       /* created for data movement (removed at once) */
	int retained;                   /* its content's deletionPolicy set to Retain */
};

/* Create a VolumeSnapshot of `claim` with class `klass` (labels as in volhelper.h:
 * purpose volume-snapshot, or volume-move when `move`; kahu.io/backup = `backup`), and
 * wait until it is readyToUse, at most `timeout_s`.  A snapshot whose status reports an
 * error, or that is not ready in time, fails (KAHU_EFAIL / KAHU_ETEMP with the reason)
 * and is removed. */
int vol_snapshot_take(struct vol_tracker *t, const struct vol_run_id *run, const char *ns,
		      const char *claim, const char *klass, const char *backup, int move,
		      long timeout_s, struct vol_snapshot *out);
/* A claim restored from the snapshot (dataSource), purpose volume-temp, the storage
 * class and access modes of `source_claim` (its object), sized by the snapshot's
 * restore size or the source's request.  *name: the claim's name (caller frees). */
int vol_snapshot_temp_claim(struct vol_tracker *t, const struct vol_run_id *run,
			    const struct vol_snapshot *s, json_t *source_claim, char **name);
/* What the backup's volume catalog records. */
json_t *vol_snapshot_json(const struct vol_snapshot *s);
/* Delete a snapshot kept with a backup, its content (`content`, NULL: the one the
 * snapshot names) and data with it (vol_snapshot_remove); what is gone is no error. */
int vol_snapshot_delete(struct kube_client *kc, const char *ns, const char *name,
			const char *content);
void vol_snapshot_clear(struct vol_snapshot *s);
/* Make sure VolumeSnapshot ns/name of a backup exists before a claim is provisioned
 * from it: when the object was deleted but its content (Retain) is there, the snapshot
 * is created again bound to `content` (spec.source.volumeSnapshotContentName), and the
 * content's volumeSnapshotRef names it.  0 when it exists or was created again;
 * otherwise the reason (KAHU_ENOTFOUND when snapshot and content are gone). */
int vol_snapshot_ensure(struct kube_client *kc, const char *ns, const char *name,
			const char *content);
/* The snapshots backup `backup` kept in the cluster, from its volume catalog: *out an
 * array of {namespace, name, content?} (empty when it has no catalog). */
int vol_kept_snapshots(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		       json_t **out);

#endif

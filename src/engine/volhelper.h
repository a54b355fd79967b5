/* kahu — what a run creates in the cluster for volume data, and its removal: helper
 * pods that mount a claim (read-only for a backup, read-write for a restore) where no
 * running application pod can serve, and the bookkeeping that removes every helper pod,
 * temporary claim and snapshot a run created (vol_tracker), also after an interrupt,
 * and what a killed run left behind (vol_leftovers_remove).
 *
 * Everything kahu creates carries the labels
 *     app.kubernetes.io/managed-by: kahu
 *     kahu.io/run: <run id>            (pid, a hash of the pid space, random)
 *     kahu.io/purpose: volume-backup | volume-restore | volume-temp | volume-move | volume-snapshot
 * (a snapshot kept with a backup also kahu.io/backup: <name> and kahu.io/location: the
 * location's identity) and the annotations kahu.io/pid-space (the run's host: its boot
 * id and pid namespace, as the lock's) and kahu.io/expires (RFC 3339: when the run will
 * no longer use it).
 * A run that finds such an object judges its owner in its own pid space only (the pid
 * alive: a concurrent run; its objects are left alone); an owner elsewhere is judged
 * by kahu.io/expires. */
#ifndef KAHU_ENGINE_VOLHELPER_H
#define KAHU_ENGINE_VOLHELPER_H

#include <jansson.h>
#include <stdint.h>

#include "util/strv.h"

struct kube_client;

#define VOL_LABEL_MANAGED "app.kubernetes.io/managed-by"
#define VOL_LABEL_RUN "kahu.io/run"
#define VOL_LABEL_PURPOSE "kahu.io/purpose"
#define VOL_LABEL_BACKUP "kahu.io/backup"
#define VOL_LABEL_LOCATION "kahu.io/location"
#define VOL_ANN_PID_SPACE "kahu.io/pid-space"
#define VOL_ANN_EXPIRES "kahu.io/expires"
#define VOL_HELPER_IMAGE "busybox:1.36"
#define VOL_HELPER_MOUNT "/kahu/volume"

/* The run's identity in the cluster. */
struct vol_run_id {
	char id[64];            /* the kahu.io/run label */
	char *pid_space;        /* NULL when unknown (then nothing is judged alive by pid) */
	/* The location's identity (key id and creation time of its repository): the
	 * kahu.io/location label of the snapshots kept with a backup, so that a run into
	 * another location leaves them alone.  NULL: unknown (not labelled). */
	char *location;
};
void vol_run_id_init(struct vol_run_id *r, const char *pid_space);
void vol_run_id_clear(struct vol_run_id *r);
/* Whether the object whose metadata is `md` may still be used by the run that made it:
 * in our pid space, that run's pid is alive; elsewhere, kahu.io/expires is in the
 * future (`now`, seconds since the epoch).  Objects without a run label are not ours:
 * reported alive. */
int vol_owner_alive(json_t *md, const char *our_pid_space, int64_t now);

/* metadata for an object a run creates: namespace, name (NULL: none), the labels and
 * annotations above, kahu.io/expires = `expires`. */
json_t *vol_object_meta(const struct vol_run_id *run, const char *purpose, const char *name,
			const char *ns, int64_t expires);

/* ---- helper pods ---- */

struct vol_helper_opts {
	const char *image;              /* NULL: busybox:1.36 */
	json_t *resources;              /* {"requests":…,"limits":…} or NULL */
	json_t *node_selector;          /* object or NULL */
	json_t *tolerations;            /* array or NULL */
	long start_timeout_s;           /* how long to wait for Running; 0: 300 */
	long lifetime_s;                /* the helper's sleep; 0: 86400 */
};

/* Flag values, checked and turned into what the pod spec holds; KAHU_EUSAGE naming the
 * flag otherwise.
 *   --helper-resources cpu=500m,memory=256Mi[,ephemeral-storage=1Gi] (requests = limits)
 *   --helper-node-selector KEY=VALUE[,…] (repeatable)
 *   --helper-tolerations KEY[=VALUE][:EFFECT][,…] (repeatable; "*": every taint) */
int vol_helper_parse_image(const char *s);
int vol_helper_parse_resources(const char *s, json_t **out);
int vol_helper_parse_node_selector(const struct strv *vals, json_t **out);
int vol_helper_parse_tolerations(const struct strv *vals, json_t **out);

enum vol_purpose { VOL_PURPOSE_BACKUP, VOL_PURPOSE_RESTORE };

/* The pod (a new object): name kahu-helper-<random>, the labels and annotations above,
 * the claim mounted at VOL_HELPER_MOUNT (read-only for a backup), `sleep` for the
 * lifetime, runAsUser 0 (to read and restore every file), no service account token,
 * on `node` when known, else with `node_affinity` (a PV's spec.nodeAffinity) when not
 * NULL. */
json_t *vol_helper_spec(const struct vol_helper_opts *o, const struct vol_run_id *run,
			enum vol_purpose purpose, const char *ns, const char *claim,
			const char *node, json_t *node_affinity, int64_t now);

/* ---- what a run created ---- */

struct vol_tracker;
struct vol_tracker *vol_tracker_new(struct kube_client *kc);
/* Create the helper pod and wait until it is Running (o->start_timeout_s).  Tracked
 * from the moment it is created.  A refusal by Pod Security admission is
 * KAHU_EFORBIDDEN naming the namespace's enforce level and what to set.  On success
 * *name (owned by the tracker) is the pod's name. */
int vol_helper_start(struct vol_tracker *t, const struct vol_helper_opts *o, json_t *spec,
		     const char **name);
/* POST `obj` (a namespaced object at `collection_path`, e.g.
 * /api/v1/namespaces/NS/persistentvolumeclaims) and track it for removal. */
int vol_tracker_create(struct vol_tracker *t, const char *collection_path, json_t *obj,
		       json_t **created);
/* Delete one tracked object now (its path as tracked) and forget it; 404 is success. */
int vol_tracker_delete(struct vol_tracker *t, const char *path);
/* Stop tracking `path` (an object that outlives the run: a kept snapshot). */
void vol_tracker_forget(struct vol_tracker *t, const char *path);
/* Delete everything still tracked, newest first, shielded from cancellation (after
 * Ctrl-C too); returns 0 or the first failure (each one is also logged). */
int vol_tracker_cleanup(struct vol_tracker *t);
void vol_tracker_free(struct vol_tracker *t);   /* cleans up first */
struct kube_client *vol_tracker_client(struct vol_tracker *t);

/* ---- snapshots ---- */

/* Delete the VolumeSnapshot at `snap_path` (.../namespaces/NS/volumesnapshots/NAME) and
 * its content (`content`, NULL: the one its status names), data included: the
 * content's deletionPolicy is set to Delete first (kahu keeps its snapshots' contents
 * Retain), then the snapshot and the content are deleted.  Shielded from the cancel
 * token; what is already gone is no error.  A failure names the object and the
 * server's reason; when the policy cannot be set, nothing is deleted.  The tracker and
 * the leftover sweep delete snapshots this way too. */
int vol_snapshot_remove(struct kube_client *kc, const char *snap_path, const char *content);
/* Set a VolumeSnapshotContent's deletionPolicy to Retain (a snapshot kept with a
 * backup survives the deletion of its VolumeSnapshot object). */
int vol_content_retain(struct kube_client *kc, const char *content);

/* ---- leftovers of killed runs ---- */

struct vol_leftovers {
	long pods, claims, snapshots;   /* removed */
	long movers;                    /* data movers' Jobs, Secrets and ServiceAccounts removed */
	long kept_alive;                /* left alone: their run is alive */
};
/* Remove what dead runs left: helper pods, temporary claims, data-movement snapshots,
 * the data movers' Jobs (their pods with them), Secrets and ServiceAccounts
 * (kahu.io/purpose volume-mover; where listing them is forbidden they are not looked
 * for, said at -v),
 * in namespaces `in_scope` accepts (NULL: all), and snapshots kept with a backup when
 * `backup_committed` (may be NULL: kept ones are left alone) says the backup named by
 * their kahu.io/backup label is not on the location (never committed, or deleted) and
 * their kahu.io/location label, when they have one, is run->location.  One labelled LIST per type across
 * the cluster; when that is forbidden (a user whose rights end at some namespaces), one
 * per namespace of `namespaces` (the namespaces in scope, NULL: not known: then the
 * sweep is skipped with a warning). */
int vol_leftovers_remove(struct kube_client *kc, const struct vol_run_id *run,
			 int (*in_scope)(void *ud, const char *ns),
			 int (*backup_committed)(void *ud, const char *name), void *ud,
			 const struct strv *namespaces, struct vol_leftovers *out);

#endif

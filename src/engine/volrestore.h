/* kahu — volume data in a restore: which claims of the backup have data in its volume
 * catalog (voldata.h), their re-provisioning (spec.volumeName dropped, the PV they were
 * bound to not restored; a CSI snapshot without moved data as the new claim's
 * dataSource), and the filling of each claim once created, before anything that mounts
 * it: a helper pod (volhelper.h) mounts the claim read-write, vol_restore composes the
 * chain's tar and pipes it to `tar -x` in it, the helper is deleted (shielded, also
 * after Ctrl-C).
 *
 * In place (--volumes-only): the claims exist; nothing is created or changed but their
 * data, and workloads that mount them are either scaled to zero and back
 * (--scale-down) or make the restore refuse while one of their pods runs.
 *
 * Functions may be called from the restore's worker threads; every result is 0 or a
 * negative kahu_err with the message set (util/err.h). */
#ifndef KAHU_ENGINE_VOLRESTORE_H
#define KAHU_ENGINE_VOLRESTORE_H

#include <stdint.h>

#include <jansson.h>

#include "engine/volhelper.h"

struct kube_client;
struct kahu_store;
struct kahu_key;
struct vol_exec_ops;
struct ns_map;
struct vol_opts;
struct kahu_location;

struct volr_spec {
	struct kube_client *kc;
	struct kahu_store *st;
	struct kahu_store *vol_st;       /* the volume objects' location (store/volloc.h);
					    NULL: st, beside the catalog */
	const struct kahu_key *key;      /* the chosen backup's key; NULL: unencrypted */
	const char *backup;
	char run[33];                    /* the backup's run id (its manifest's "run"), which
					    its volume indexes must carry; "": not checked */
	int allow_unencrypted;           /* an unencrypted backup in the chain of an
					    encrypted one is accepted (--allow-unencrypted) */
	int dry_run;
	int delete_extra;                /* --delete-extra-files */
	int volumes_only, scale_down;
	const struct strv *pvcs;         /* --pvc NAME or NAMESPACE/NAME (as in the backup);
					    NULL or empty: every claim with data */
	const struct vol_helper_opts *helper;  /* NULL: the defaults */
	/* How commands run in the helper pod: ops, with a context made for each pod
	 * (exec_ctx; freed with exec_ctx_free).  ops NULL: no exec channel, every volume
	 * fails with that reason. */
	const struct vol_exec_ops *ops;
	void *(*exec_ctx)(void *ud, struct kube_client *kc, const char *ns, const char *pod);
	void (*exec_ctx_free)(void *ctx);
	void *exec_ud;
	/* While a claim's data is written: content bytes and entries so far, first with 0
	 * and 0 when its copy starts (ns/name: the claim in the target); may be NULL.
	 * Called from the restore's worker threads. */
	void (*progress)(void *ud, const char *ns, const char *name, uint64_t bytes, uint64_t files);
	void *progress_ud;
	/* --data-mover cluster (engine/movers.h): each claim filled by a mover Job reading
	 * from mover_loc (the volume objects' location) instead of a helper pod; NULL:
	 * the helper pods. */
	const struct vol_opts *vol;
	const struct kahu_location *mover_loc;
};

struct volr;

/* Read the backup's volume catalog.  *out is NULL when the backup has none (no volume
 * data: nothing to do). */
int volr_open(const struct volr_spec *s, struct volr **out);
void volr_free(struct volr *v);

/* Before any helper pod of this run: remove what killed kahu runs left (helper pods,
 * temporary claims; vol_leftovers_remove) in the namespaces the restore writes claims'
 * data into (the claims' namespaces mapped through `map`, which may be NULL).  Logs
 * what was removed; an error only when the cluster could not be listed. */
int volr_leftovers_remove(struct volr *v, const struct ns_map *map);

/* A PV of the backup (as stored): the reason it is not restored (its claim's data is
 * restored into a newly provisioned volume), or NULL. */
const char *volr_pv_skip(struct volr *v, json_t *pv);

/* A claim of the backup, `src_ns` its namespace as stored, `pvc` the object to be
 * created (mapped): when its data is restored, spec.volumeName is dropped (and a CSI
 * snapshot without moved data becomes its dataSource).  Returns 1 when kahu restores
 * its data, 0 when not. */
int volr_pvc_prepare(struct volr *v, const char *src_ns, json_t *pvc);

/* A claim of the backup whose data is in a CSI snapshot without moved data cannot be
 * created in `dst_ns` (its namespace in the target) when that namespace of the target
 * cluster has no VolumeSnapshot of that name (another namespace, another cluster, the
 * snapshot deleted): the claim would stay Pending.  Returns the reason (free it), or
 * NULL when the claim may be created. */
char *volr_pvc_refused(struct volr *v, const char *src_ns, const char *dst_ns, const char *name);

/* A claim of the backup provisioned from a CSI snapshot (volr_pvc_prepare), `pvc` the
 * object as it will be created (mapped and transformed): its storage class there must
 * be one the snapshot's CSI driver provisions, else the claim would stay Pending.  The
 * class is read from the target cluster (a claim without one: its default class).
 * Returns the reason it is not created (free it), or NULL (also when the class cannot
 * be read for another reason than its absence: a warning). */
char *volr_pvc_class_refused(struct volr *v, const char *src_ns, const char *name, json_t *pvc);

/* Whether the claim `src_ns`/`name` has volume data in the backup. */
int volr_has(struct volr *v, const char *src_ns, const char *name);

/* Fill the claim `ns`/`name` (in the target) with the data of `src_ns`/`name`.
 * Returns the volume's result (a new reference: {method, status, files, dirs, links,
 * bytes, deleted, retries, durationMs, bytesPerSecond, reason?, incomplete?, pod?});
 * *failed is set to 1 with the reason in it when the volume failed.  A dry run says what would be done
 * (status "WouldRestore"). */
json_t *volr_fill(struct volr *v, const char *src_ns, const char *ns, const char *name, int *failed);

/* In place: the pods in `ns` that mount claim `name` and run (a JSON array of names,
 * new reference), or NULL with the error set. */
json_t *volr_mounting_pods(struct volr *v, const char *ns, const char *name);

/* In place with --scale-down: the Deployments, StatefulSets and ReplicaSets of `ns`
 * whose pods mount one of `claims` scaled to zero, and their pods waited for.  Each
 * one scaled is recorded with its replicas; volr_scale_back restores them (always:
 * after failure and interrupt too, shielded from cancellation). */
int volr_scale_down(struct volr *v, const char *ns, const struct strv *claims);
int volr_scale_back(struct volr *v);
/* What was scaled (new reference): [{kind, namespace, name, replicas}]. */
json_t *volr_scaled(struct volr *v);

#endif

/* kahu — volume data in a run: the options of backup and restore create (checked before
 * anything is opened), the backup's volume plan (one LIST each of claims, volumes,
 * VolumeSnapshotClasses and pods: which claims, by which method, in which pod, and
 * why), the removal of what killed runs left, and the CSI snapshots a plan takes. */
#ifndef KAHU_ENGINE_VOLRUN_H
#define KAHU_ENGINE_VOLRUN_H

#include <jansson.h>

#include "engine/volhelper.h"
#include "engine/volsel.h"
#include "util/strv.h"

struct kube_client;
struct kahu_scope;

/* The flags as given (NULL / 0: not given). */
struct vol_flags {
	const char *volume_data, *volume_policy, *helper_image, *helper_resources;
	const char *snapshot_class, *csi_snapshot_timeout;
	const char *snapshot_move_data;  /* "true" | "false" */
	const struct strv *exclude_paths, *node_selector, *tolerations;
	/* data movers (engine/movers.h) */
	const char *data_mover;          /* "local" | "cluster" */
	const char *movers_per_node, *mover_timeout, *mover_image, *mover_secret, *mover_retries;
	/* restore */
	const char *restore_volumes;     /* "true" | "false" */
	const struct strv *pvcs;
	int volumes_only, scale_down, delete_extra_files;
};

/* Where a volume's files are read or written: through pods/exec from this machine
 * (local), or by Jobs on the cluster's nodes straight to the location (cluster). */
enum vol_mover { VOL_MOVER_LOCAL, VOL_MOVER_CLUSTER };

struct vol_mover_opts {
	enum vol_mover kind;             /* default local */
	long per_node;                   /* --movers-per-node, default 2 */
	long timeout_s;                  /* --mover-timeout, default 6h */
	char *image;                     /* --mover-image, default kahu:VERSION */
	char *secret;                    /* --mover-secret, NULL: one made per run */
	long retries;                    /* --mover-retries, default 2 */
};

struct vol_opts {
	enum vol_mode mode;              /* default auto */
	struct vol_policy *policy;
	struct strv exclude;             /* --exclude-volume-paths globs */
	struct vol_helper_opts helper;   /* its JSON members owned here */
	char *snapshot_class;
	long csi_timeout_s;              /* default 600 */
	int move_data;                   /* default 1 */
	int restore_volumes;             /* default 1 */
	struct strv pvcs;                /* --pvc names */
	int volumes_only, scale_down, delete_extra;
	struct vol_mover_opts mover;
};

/* Check and convert the flags: KAHU_EUSAGE naming the flag (a policy file's error with
 * its file and line).  `restore`: the restore flags are read, the backup ones left. */
int vol_opts_parse(const struct vol_flags *f, int restore, struct vol_opts *out);
void vol_opts_clear(struct vol_opts *o);

/* One claim of the plan. */
struct vol_plan_item {
	char *namespace_, *claim, *pv, *storage_class, *driver, *capacity;
	char *snapshot_class;            /* the class for the driver, NULL: none */
	json_t *claim_obj;               /* the claim as listed */
	json_t *node_affinity;           /* the PV's spec.nodeAffinity, or NULL */
	struct vol_choice choice;
	/* fs: where commands run.  pod NULL: a helper pod (node: where the volume is
	 * attached, when a pod that mounts it runs; else the PV's node affinity). */
	char *pod, *container, *mount_path, *node;
	int read_only;
};

struct vol_plan {
	struct vol_plan_item *items;
	size_t n;
	long pods_listed;
};

/* What is in scope: claims (`claim_in_scope(ud, claim)`) and the namespaces whose pods
 * count (`ns_in_scope`); NULL: all. */
struct vol_scope {
	int (*claim_in_scope)(void *ud, json_t *claim);
	int (*ns_in_scope)(void *ud, const char *ns);
	void *ud;
	/* The namespaces in scope when they are known (a plain --include-namespaces list),
	 * else NULL: claims and pods are listed in each when listing them across the
	 * cluster is forbidden (a user whose rights end at some namespaces). */
	const struct strv *namespaces;
};

/* Which pod mounts which claim, from a list of pods the caller made (one list of pods
 * per run, shared with the hooks): vol_pods_new, vol_pods_add for each pod listed (the
 * pods of namespaces in `sc` are indexed, only what the plan needs of each is kept),
 * vol_pods_listed with the list's outcome (a negative code: the message is kept, and a
 * plan that needs the pods fails with it). */
struct vol_pods;
struct vol_pods *vol_pods_new(const struct vol_scope *sc);
void vol_pods_add(struct vol_pods *p, json_t *pod);
void vol_pods_listed(struct vol_pods *p, int rc);
void vol_pods_free(struct vol_pods *p);

/* The plan for the claims in scope: claims, PVs, VolumeSnapshotClasses and pods each
 * listed once, with the pager; the pods from `pods` when not NULL (claims and pods
 * per namespace of sc->namespaces when a list across the cluster is forbidden; without
 * the right to list PVs or classes, no claim is taken for a CSI volume, with a warning). */
int vol_plan_build(struct kube_client *kc, const struct vol_opts *o, const struct vol_scope *sc,
		   long page_size, const struct vol_pods *pods, struct vol_plan *out);
/* As text and JSON: one object per claim {namespace, pvc, pv, storageClass, driver,
 * capacity, method ("skip", "exec", "helper", "csi", "csi+data"), failed, reason, pod,
 * container, mountPath, node}. */
const char *vol_plan_method(const struct vol_plan_item *it, const struct vol_opts *o);
json_t *vol_plan_json(const struct vol_plan *p, const struct vol_opts *o);
void vol_plan_clear(struct vol_plan *p);

/* ---- commands in a pod: pods/exec as the volume data core's ops ---- */

struct vol_exec_ops;
/* Where commands run: ctx of vol_kube_exec_ops. */
struct vol_kube_target {
	struct kube_client *kc;
	const char *namespace_, *pod, *container;
	int idle_timeout_ms;             /* 0: 120 s without a frame breaks the stream */
};
extern const struct vol_exec_ops vol_kube_exec_ops;
/* Whether the container has what the file copy runs (sh, find, stat, sort, xargs, tar):
 * 0 when it has; otherwise a negative code with the reason (a missing tool: exit
 * 126/127 or "not found"; or the failure of the probe itself). */
int vol_kube_probe_tools(const struct vol_kube_target *t);

#endif

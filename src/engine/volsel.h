/* kahu — which PersistentVolumeClaims a backup carries the data of, and how.
 *
 * Pure decisions, no I/O but the policy file's read: the caller gathers what it knows
 * of a claim (struct vol_pvc: its PV's CSI driver, the VolumeSnapshotClass for that
 * driver, the annotations of the pods that mount it) and vol_choose says skip, fs
 * (files through pods/exec) or csi (a VolumeSnapshot), with the reason, which the run
 * records.  The first of these that has a say decides (kahu-backup(1)):
 *
 *   1. a claim not bound to a volume is skipped;
 *   2. --volume-data none skips every claim;
 *   3. the claim's annotation kahu.io/volume-backup: fs|csi|skip;
 *   4. Velero's pod annotations: a volume named in backup.velero.io/backup-volumes-excludes
 *      of a pod that mounts the claim gets no file copy (a snapshot when --volume-data
 *      allows one and a class matches, else skip); one named in
 *      backup.velero.io/backup-volumes gets fs;
 *   5. the volume policy file (kahu-volume-policy(5)): the first rule that matches;
 *   6. --volume-data: fs, csi, or auto (csi when a VolumeSnapshotClass matches the
 *      PV's CSI driver, else fs; the default); none was handled by 2.
 * A claim that must be snapshotted (csi) but has no matching class fails alone, with
 * that reason.
 *
 * The PVC → pods index is built from one pod list: for each claim the running pods
 * that mount it, with the container (one that mounts it, a regular container before
 * an init container), the mount path, the node and whether the mount is read-only. */
#ifndef KAHU_ENGINE_VOLSEL_H
#define KAHU_ENGINE_VOLSEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum vol_mode { VOL_MODE_AUTO, VOL_MODE_NONE, VOL_MODE_FS, VOL_MODE_CSI };
enum vol_method { VOL_METHOD_SKIP, VOL_METHOD_FS, VOL_METHOD_CSI };

/* The PVC annotation and Velero's pod annotations. */
#define VOL_ANNOTATION "kahu.io/volume-backup"
#define VOL_VELERO_INCLUDE "backup.velero.io/backup-volumes"
#define VOL_VELERO_EXCLUDE "backup.velero.io/backup-volumes-excludes"

enum {
	VOL_ACCESS_RWO = 1 << 0,   /* ReadWriteOnce */
	VOL_ACCESS_ROX = 1 << 1,   /* ReadOnlyMany */
	VOL_ACCESS_RWX = 1 << 2,   /* ReadWriteMany */
	VOL_ACCESS_RWOP = 1 << 3,  /* ReadWriteOncePod */
};

/* "none", "fs", "csi", "auto"; KAHU_EUSAGE naming --volume-data otherwise. */
int vol_mode_parse(const char *s, enum vol_mode *out);
const char *vol_mode_name(enum vol_mode m);
const char *vol_method_name(enum vol_method m);   /* "skip", "fs", "csi" */
/* An access mode's bit, 0 when `s` is not one. */
unsigned vol_access_mode(const char *s);
/* A Kubernetes quantity ("10Gi", "500M", "1.5Ti", "1e9", "2048") in bytes, fractions
 * of a byte rounded up.  0, or -1 when `s` is not a quantity of bytes (no message). */
int vol_quantity_parse(const char *s, uint64_t *out);

/* ---- the volume policy file ---- */

struct vol_policy;
/* Parse a policy (YAML, kahu-volume-policy(5)); `file` names it in messages, which are
 * KAHU_EUSAGE "FILE:LINE: what is wrong". */
int vol_policy_parse(const char *text, size_t len, const char *file, struct vol_policy **out);
/* Read `path` (at most 1 MiB) and parse it; a file that cannot be read is KAHU_EUSAGE
 * too (it is a command-line value). */
int vol_policy_load(const char *path, struct vol_policy **out);
size_t vol_policy_rules(const struct vol_policy *p);
void vol_policy_free(struct vol_policy *p);

/* ---- one claim ---- */

struct vol_pvc {
	const char *namespace_, *name;
	const char *storage_class;      /* NULL: none */
	json_t *labels;                 /* the claim's labels, borrowed, may be NULL */
	const char *annotation;         /* kahu.io/volume-backup's value, NULL: absent */
	unsigned access_modes;          /* VOL_ACCESS_* of spec.accessModes */
	uint64_t size;                  /* status.capacity.storage, else the request */
	int bound;                      /* Bound to a volume */
	const char *driver;             /* the PV's spec.csi.driver, NULL: not CSI */
	const char *snapshot_class;     /* the class for the driver (or --snapshot-class), NULL: none */
	const char *velero_include_pod; /* a pod whose backup-volumes names the claim's volume */
	const char *velero_exclude_pod; /* one whose backup-volumes-excludes does */
};

struct vol_choice {
	enum vol_method method;
	int failed;                     /* 1: the volume cannot be backed up: reason says why */
	char reason[512];
};

void vol_choose(enum vol_mode mode, const struct vol_policy *pol, const struct vol_pvc *p,
		struct vol_choice *out);

/* ---- the PVC → pods index ---- */

struct vol_mount {
	char *pod, *node, *container, *mount_path;
	int read_only;                  /* the mount or the pod's claim reference is read-only */
	int init;                       /* only an init container mounts it */
};

struct vol_claim_use {
	char *namespace_, *claim;
	struct vol_mount *mounts;       /* running pods only */
	size_t nmounts;
	char *velero_include_pod;       /* see struct vol_pvc (any pod, running or not) */
	char *velero_exclude_pod;
};

struct vol_index;
struct vol_index *vol_index_new(void);
/* Add one pod (a parsed object).  Pods being deleted are ignored; pods not Running
 * count for Velero's annotations only.  0, or KAHU_EDATA when the pod has no
 * metadata.name/namespace. */
int vol_index_add_pod(struct vol_index *ix, json_t *pod);
/* The uses of namespace/claim, NULL when no pod refers to it. */
const struct vol_claim_use *vol_index_get(const struct vol_index *ix, const char *ns,
					  const char *claim);
/* The mount to run commands in: the first running pod's regular container, else an
 * init container's; NULL when no running pod mounts the claim. */
const struct vol_mount *vol_claim_best_mount(const struct vol_claim_use *u);
size_t vol_index_size(const struct vol_index *ix);
void vol_index_free(struct vol_index *ix);

#endif

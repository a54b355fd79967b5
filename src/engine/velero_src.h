/* kahu — a Velero backup as a restore's source (`restore create --from-velero`): which
 * tarball, and what Velero kept beside it that kahu cannot bring back (volume data).
 *
 * The source is a tarball (NAME.tar.gz), or a directory: a copy of a Velero bucket
 * prefix (backups/NAME/NAME.tar.gz beside velero-backup.json and the volume records),
 * or one backup's own directory (NAME.tar.gz in it).  The records read beside the
 * tarball, when they are there:
 *     NAME-volumesnapshots.json.gz       volume snapshots (by PV: their claims come from
 *                                        the PVs' claimRef in the tarball)
 *     NAME-podvolumebackups.json.gz      pod volume backups (restic or kopia file copies)
 *     NAME-csi-volumesnapshots.json.gz   CSI VolumeSnapshots
 * Each names claims whose data Velero holds in its own stores: the restore says so per
 * claim (restore.h: velero_src.claims).  The items themselves are read by the restore
 * engine (restore.c) through archive/velero.h. */
#ifndef KAHU_ENGINE_VELERO_SRC_H
#define KAHU_ENGINE_VELERO_SRC_H

#include <jansson.h>

struct velero_src {
	char *backup;        /* the Velero backup's name */
	char *file;          /* its tarball */
	json_t *claims;      /* {"ns\tpvc": "how Velero kept its data"} */
	json_t *pvs;         /* {"pv": "how"}: volume snapshots, by PV */
	json_t *notes;       /* [warnings about the source] */
	int records;         /* the files beside the tarball were found (velero-backup.json) */
	int volumes_required;/* the user asked for volume data: a claim whose data is not
			      * brought fails (set by the caller) */
	int volumes_unwanted;/* --restore-volumes false: claims are not said to lack data */
};

/* Resolve `path` (a file or a directory) and `name` (NULL: the only backup in the
 * directory) to a tarball, and read the records beside it.  KAHU_ENOTFOUND when there
 * is no such file or backup; KAHU_EUSAGE when a directory holds several backups and
 * none is named (the message lists them), or a name is given with a file; KAHU_EDATA
 * when a record beside it is unreadable. */
int velero_src_open(const char *path, const char *name, struct velero_src *out);
void velero_src_free(struct velero_src *v);

#endif

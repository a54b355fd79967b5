#!/bin/sh
# Put the data of a backup back into the claims of a running application, in place:
# nothing but the volumes' files is touched (no object is created or changed).
#
#   BACKUP=nightly-20261203 NS=shop ./restore-in-place.sh
set -eu
: "${BACKUP:?name the backup, e.g. BACKUP=nightly-20261203}"
: "${NS:?name the namespace, e.g. NS=shop}"

# What would be written, and into which claims (nothing is changed).
kahu restore create --from-backup "$BACKUP" --volumes-only --include-namespaces "$NS" --dry-run

# One claim only, while its pods are stopped by hand: kahu refuses (exit 2, naming the
# pod) as long as a running pod mounts the claim read-write.
#   kahu restore create --from-backup "$BACKUP" --volumes-only --include-namespaces "$NS" --pvc data

# Every claim of the namespace: the Deployments, StatefulSets and ReplicaSets that mount
# them are scaled to zero, their pods waited for, the data written, the workloads scaled
# back to their replicas (also when the restore fails or is interrupted).  Files the
# backup does not have are removed: each volume equals the backup.
kahu restore create "restore-$BACKUP-in-place" --from-backup "$BACKUP" --volumes-only \
	--include-namespaces "$NS" --scale-down --delete-extra-files

# Per volume: method, files, bytes, duration, throughput, and why a volume failed.
kahu restore describe "restore-$BACKUP-in-place" --details

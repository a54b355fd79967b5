#!/usr/bin/env bash
# CSI snapshots, restored: with --snapshot-move-data the snapshot's files go into the
# backup and restore into ANOTHER test-cluster instance (same location) byte for byte;
# without data movement the backup keeps the snapshot, and restore into a fresh
# namespace of the same cluster provisions the claim from it (dataSource) with the
# volume's content.  No helper pod, temporary claim or data-movement snapshot is left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: db}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: db}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 2Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: db}
spec:
  containers:
  - {name: db, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /var/lib/db}]}
  volumes:
  - {name: d, persistentVolumeClaim: {claimName: data}}
EOF
vol_setup
vol_cluster src "$T_DIR/seed.yaml"
vol_cluster dst ""

V=$(vol_dir src db data)
[ -d "$V" ]
t_result $? "the source claim has a data directory"
vol_fill "$V"
head -c 2000000 /dev/urandom >"$V/a dir/2mb.bin"
touch -d '2003-04-05 06:07:08' "$V/a dir"
cp -a "$V" "$T_DIR/orig"
sleep 1

# ---- data moved: restored into the other cluster ----
t_ok "backup m1: CSI snapshot with --snapshot-move-data" \
	kahu_src backup create m1 --include-namespaces db --volume-data csi --snapshot-move-data true -o json
cp "$T_OUT" "$T_DIR/m1.json"
vol_check "$T_DIR/m1.json" db/data method csi+data
vol_check "$T_DIR/m1.json" db/data status Completed
[ -z "$(vol_kahu src Pod)" ] && [ -z "$(vol_kahu src PersistentVolumeClaim)" ] && [ -z "$(vol_kahu src VolumeSnapshot)" ]
t_result $? "... its helper pod, temporary claim and snapshot are gone"
t_ok "restore of m1 into the second cluster" kahu_dst restore create r1 --from-backup m1
D=$(vol_dir dst db data)
[ -n "$D" ] && [ -d "$D" ]
t_result $? "... the claim is bound there"
t_ok "... every file equals the source's (sha256, modes, owners, mtimes, links, odd names)" vol_same "$T_DIR/orig" "$D"
t_ok "... the pod that mounts it was restored" kahu_dst restore describe r1
CLUSTER_USE=dst cluster_admin GET /api/v1/namespaces/db/pods/db-0 >/dev/null
t_result $? "... (pod db/db-0 exists in the second cluster)"
[ -z "$(vol_kahu dst Pod)" ] && [ -z "$(vol_kahu dst PersistentVolumeClaim)" ]
t_result $? "... no helper pod or temporary claim is left there"
CLUSTER_USE=dst cluster_admin GET /api/v1/namespaces/db/persistentvolumeclaims/data >"$T_DIR/dst-pvc.json"
t_py "... the claim was provisioned empty and filled (no dataSource)" 'assert not d["spec"].get("dataSource"), d["spec"]' "$T_DIR/dst-pvc.json"

# ---- no data moved: restored through the snapshot in the same cluster ----
t_ok "backup s1: CSI snapshot, no data moved" \
	kahu_src backup create s1 --include-namespaces db --volume-data csi --snapshot-move-data false -o json
cp "$T_OUT" "$T_DIR/s1.json"
vol_check "$T_DIR/s1.json" db/data method csi
vol_check "$T_DIR/s1.json" db/data status Completed
[ "$(vol_kahu src VolumeSnapshot | wc -l)" -eq 1 ]
t_result $? "... the snapshot stays with the backup"
printf 'changed after the snapshot' >"$V/a dir/one.txt"
t_exit 2 "restore of s1 into a fresh namespace of the same cluster: PartiallyFailed (exit 2)" \
	kahu_src restore create r2 --from-backup s1 --namespace-mappings db:db2
t_grep "... the claim is refused: its snapshot is in namespace db" \
	'persistentvolumeclaims db/data: its data is in CSI snapshot .*, which namespace db2 of the target cluster does not hold.*not created.*--snapshot-move-data' "$T_ERR"
! CLUSTER_USE=src cluster_admin GET /api/v1/namespaces/db2/persistentvolumeclaims/data >/dev/null 2>&1
t_result $? "... and not created (it would stay Pending)"
t_exit 2 "restore of s1 into the second cluster: PartiallyFailed (exit 2), the claim refused" \
	kahu_dst restore create r3 --from-backup s1 --namespace-mappings db:db3
t_grep "... naming the snapshot" 'persistentvolumeclaims db/data: its data is in CSI snapshot .*, which namespace db3 of the target cluster does not hold' "$T_ERR"
[ -z "$(CLUSTER_USE=dst cluster_admin GET /api/v1/namespaces/db3/persistentvolumeclaims 2>/dev/null | grep '"name": *"data"')" ]
t_result $? "... and not created"
CLUSTER_USE=src cluster_admin DELETE /api/v1/namespaces/db/pods/db-0 >/dev/null &&
	CLUSTER_USE=src cluster_admin DELETE /api/v1/namespaces/db/persistentvolumeclaims/data >/dev/null
t_result $? "the source claim and its pod are deleted"
t_ok "restore of s1 into its own namespace" kahu_src restore create r4 --from-backup s1
CLUSTER_USE=src cluster_admin GET /api/v1/namespaces/db/persistentvolumeclaims/data >"$T_DIR/db-pvc.json"
t_py "... the claim's dataSource is the backup's snapshot" \
	'ds = d["spec"].get("dataSource") or {}; assert ds.get("kind") == "VolumeSnapshot" and ds.get("apiGroup") == "snapshot.storage.k8s.io", d["spec"]' "$T_DIR/db-pvc.json"
vol_wait_for 30 vol_dir src db data
N=$(vol_dir src db data)
[ -n "$N" ] && [ "$N" != "$V" ] && vol_same "$T_DIR/orig" "$N" >"$T_OUT"
t_result $? "... bound to a new volume with the content at the snapshot (sha256, modes, owners, mtimes, links)"
[ -z "$(vol_kahu src Pod)" ] && [ -z "$(vol_kahu src PersistentVolumeClaim)" ]
t_result $? "... no helper pod or temporary claim is left"

t_done

#!/usr/bin/env bash
# kahu restore create with volume data: the backup's claims re-provisioned in another
# test-cluster instance and filled through a helper pod before the pods that mount
# them (every file compared: sha256, modes, owners, mtimes, symlinks, hard links, empty
# directories, odd names); in place (--volumes-only) with and without
# --delete-extra-files, refused while a pod mounts the claim, --scale-down and back; the
# PV of a restored claim not restored; a CSI snapshot as the new claim's dataSource
# (refused when the claim's class in the target, after the mappings and transforms, is
# of another CSI driver; provisioned from it in another class of its driver);
# a hostile index refused; a tar that exits early reported by its status and message,
# also when its stream is reset before the status came (fault exec-break at_exit);
# helper pods gone after success, failure and Ctrl-C; results in
# describe and -o json; the dry run; the volume's progress on a terminal only.  The
# hostile index is written into a backup by the volume data core through local ops
# (tests/cli/voldrv).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

DRV=$top_builddir/tests/cli/voldrv
cat >"$T_DIR/app.yaml" <<'EOF2'
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: app, labels: {app: web}}
spec:
  containers:
  - {name: web, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /data}]}
  volumes:
  - {name: d, persistentVolumeClaim: {claimName: data}}
EOF2
cat >"$T_DIR/deploy.yaml" <<'EOF2'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /data}]}
      volumes:
      - {name: d, persistentVolumeClaim: {claimName: data}}
EOF2
vol_setup
vol_cluster src "$T_DIR/app.yaml"
vol_cluster dst ""
SRC=$CLUSTER_KUBECONFIG_SRC DST=$CLUSTER_KUBECONFIG_DST
ks() { kahu_src "$@"; }
kd() { kahu_dst "$@"; }
voldir() { vol_dir "$@"; } # NAME NS PVC -> the claim's data directory in instance NAME
helpers() { vol_kahu "$1" Pod | wc -l; } # NAME -> how many helper pods instance NAME has
no_helpers() { [ "$(helpers "$1")" = 0 ]; }
api() { # NAME METHOD PATH [BODY]: quiet, the exit status says
	CLUSTER_USE=$1 cluster_admin "${@:2}" >/dev/null 2>&1
}
absent() { ! api "$@"; }
same() { vol_same "$@"; }

# The volume's content, in the source claim's data directory.
V=$(voldir src app data)
[ -n "$V" ] && [ -d "$V" ]; t_result $? "the source claim has a data directory"
vol_fill "$V"
# (MiBs after the entry the early-exit case below makes tar stop at: the restore is
# still sending when the tar is gone)
head -c 16777216 /dev/urandom >"$V/zz big.bin"
cp -a "$V" "$T_DIR/orig"
sleep 1 # the listing's second is past: no entry is "racy"

t_ok "backup b1 of namespace app with its files (exec in pod web-0)" \
	ks backup create b1 --include-namespaces app --volume-data fs

# dry run
t_ok "a dry run" kd restore create r0 --from-backup b1 --dry-run -o json
t_grep "  says the claim's data would be restored" '"status": "WouldRestore"' "$T_OUT"
t_grep "  and that the PV is not restored" 'newly provisioned volume' "$T_OUT"
t_ok "  and created nothing (no claim in dst)" absent dst GET /api/v1/namespaces/app/persistentvolumeclaims/data

# into another cluster
t_ok "restore r1 into the second cluster" kd restore create r1 --from-backup b1
t_nogrep "  not on a terminal: no volume progress on stderr" 'volume app/data: .* written' "$T_ERR"
D=$(voldir dst app data)
t_ok "the claim is bound to a new volume" test -n "$D" -a -d "$D" -a "$D" != "$V"
t_ok "every file equals the backup's (sha256, modes, owners, mtimes, links, odd names)" same "$T_DIR/orig" "$D"
t_ok "no helper pod is left" no_helpers dst
t_ok "the pod that mounts the claim was restored" api dst GET /api/v1/namespaces/app/pods/web-0
t_ok "describe -o json" kd restore describe r1 --details -o json
t_grep "  has the volume's result" '"method": "helper"' "$T_OUT"
t_grep "  with its files" '"files": 6' "$T_OUT"
t_grep "  and the PV skipped with why" 'restores its claim.s data into a newly provisioned volume' "$T_OUT"
t_ok "describe (text)" kd restore describe r1 --details
t_grep "  names the volume" 'Volume app/data: helper, Completed, 6 files' "$T_OUT"
t_ok "the stored log names it" kd restore logs r1
t_grep "  with its size" 'volume app/data: 6 files' "$T_OUT"

# in place
printf 'changed' >"$V/a dir/one.txt"
printf 'extra' >"$V/extra.txt"
rm -f "$V/link1"
t_exit 64 "--volumes-only needs --include-namespaces (64)" ks restore create r2 --from-backup b1 --volumes-only
t_exit 2 "in place while pod web-0 mounts the claim: refused (PartiallyFailed, 2)" \
	ks restore create r2 --from-backup b1 --volumes-only --include-namespaces app
t_grep "  naming the pod" 'pod app/web-0 runs and mounts the claim read-write' "$T_ERR"
t_ok "  and nothing was written" test -e "$V/extra.txt" -a ! -e "$V/link1"
t_ok "the pod stops" api src DELETE /api/v1/namespaces/app/pods/web-0
t_ok "in place without --delete-extra-files" ks restore create r3 --from-backup b1 --volumes-only --include-namespaces app
t_ok "  the files are back" sh -c "cmp '$V/a dir/one.txt' '$T_DIR/orig/a dir/one.txt' && test -L '$V/link1'"
t_ok "  the extra file stays" test -e "$V/extra.txt"
t_ok "  no helper pod is left" no_helpers src
t_ok "in place with --delete-extra-files, --pvc data" ks restore create r4 --from-backup b1 --volumes-only \
	--include-namespaces app --pvc data --delete-extra-files
t_ok "  the volume equals the backup exactly" same "$T_DIR/orig" "$V"
t_ok "  nothing but the claim's data was touched (no pod recreated)" \
	absent src GET /api/v1/namespaces/app/pods/web-0
t_ok "in place on a terminal" \
	script -qec "'$KAHU' --kubeconfig '$SRC' restore create rt --from-backup b1 --volumes-only --include-namespaces app" \
	"$T_DIR/rt.typescript"
t_grep "  shows the volume's bytes written, entries and rate" \
	'volume app/data: [0-9.]+ (B|KiB|MiB) written, [0-9]+ entries, [0-9.]+ (B|KiB|MiB|GiB)/s' "$T_DIR/rt.typescript"

# a tar that stops reading early (busybox's cannot replace the directory that stands
# where the backup has a file, and exits): the restore neither hangs nor reports a
# broken stream, but tar's status and message
rm -f "$V/emptyfile"
mkdir -p "$V/emptyfile/sub"
printf 'in the way' >"$V/emptyfile/sub/f"
t_exit 2 "in place over a directory where the backup has a file: the volume fails (PartiallyFailed, 2)" \
	ks restore create re --from-backup b1 --volumes-only --include-namespaces app
t_grep "  with tar's exit status" 'tar -x in the volume exited with status [1-9]' "$T_ERR"
t_grep "  and what it said" 'can.t remove old file .*emptyfile' "$T_ERR"
t_ok "  no helper pod is left" no_helpers src
# the same with the connection reset once tar has exited, before its status came (fault
# exec-break at_exit): tar's message is the reason, not only "exec stream broken", and
# the tar is not run again
CLUSTER_USE=src cluster_admin PUT /_admin/faults \
	'[{"match":{"resource":"pods","path_regex":"/exec$","query_regex":"IFS"},"action":"exec-break","at_exit":true}]' >/dev/null
t_exit 2 "  and when the stream is reset before tar's status came" \
	ks restore create re2 --from-backup b1 --volumes-only --include-namespaces app
cp "$T_ERR" "$T_DIR/re2.err"
CLUSTER_USE=src cluster_admin GET /_admin/faults >"$T_DIR/faults-re2.json"
CLUSTER_USE=src cluster_admin DELETE /_admin/faults >/dev/null
t_py "  (the reset came, once: not retried)" 'assert d["rules"][0]["fired"] == 1, d' "$T_DIR/faults-re2.json"
t_grep "  tar's message is the reason, the lost status after it" \
	'tar -x in the volume failed: .*can.t remove old file .*emptyfile.*its exit status was lost: exec stream broken' "$T_DIR/re2.err"
t_ok "  no helper pod is left" no_helpers src
rm -rf "$V/emptyfile"
: >"$V/emptyfile"

# --scale-down: the Deployment goes to zero, its pods go, the data goes in, it comes back
sed -e 's/name: web-0/name: web-abc/' "$T_DIR/app.yaml" | awk '/^kind: Pod/{p=1} p' | sed '1i apiVersion: v1' >"$T_DIR/pod.yaml"
t_ok "a Deployment mounting the claim" api src POST seed @"$T_DIR/deploy.yaml"
t_ok "  and a running pod of it" api src POST seed @"$T_DIR/pod.yaml"
printf 'extra' >"$V/extra2.txt"
"$KAHU" --kubeconfig "$SRC" restore create r5 --from-backup b1 --volumes-only --include-namespaces app \
	--scale-down --delete-extra-files \
	>"$T_DIR/r5.out" 2>"$T_DIR/r5.err" &
R5=$!
replicas() { CLUSTER_USE=src cluster_admin GET /apis/apps/v1/namespaces/app/deployments/web |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"].get("replicas"))'; }
for _ in $(seq 600); do [ "$(replicas)" = 0 ] && break; sleep 0.1; done
t_ok "--scale-down scaled the Deployment to zero" test "$(replicas)" = 0
# (the test cluster runs no controllers: the pod goes as a ReplicaSet would remove it)
CLUSTER_USE=src cluster_admin DELETE /api/v1/namespaces/app/pods/web-abc >/dev/null
wait $R5; rc=$?
[ $rc -eq 0 ] || cat "$T_DIR/r5.err"
t_result $rc "  the restore ran once the pod was gone"
t_ok "  the Deployment is back at 2 replicas" test "$(replicas)" = 2
t_ok "  the volume equals the backup" same "$T_DIR/orig" "$V"

# a hostile index: refused before anything is written, the helper removed
line() { printf '{"ctime":1,"gid":0,"ino":1,"mode":420,"mtime":1,"nlink":1,%s,"size":0,%s"type":"%s","uid":0}' "$1" "$3" "$2"; }
t_ok "backup b3 without volume data" ks backup create b3 --include-namespaces app --volume-data none
rm -f "$LOC/backups/b3/volumes.jsonl.zst.kenc" # (its catalog of skipped claims: replaced)
t_ok "an index with ../ written into b3" "$DRV" hostile "$LOC" "$KAHU_KEY_FILE" b3 app/data \
	"$(line '"path":"ok"' d '')" "$(line '"path":"ok/../../escape"' f '')"
t_exit 2 "restoring it in place fails the volume (PartiallyFailed, 2)" \
	ks restore create r6 --from-backup b3 --volumes-only --include-namespaces app --scale-down
t_grep "  naming the path" 'refused path .*ok/../../escape' "$T_ERR"
t_ok "  nothing escaped" sh -c "! test -e '$(dirname "$V")/escape' && ! test -e '$V/ok'"
t_ok "  no helper pod is left" no_helpers src
t_ok "describe -o json of r6" ks restore describe r6 --details -o json
t_grep "  the volume Failed with its reason" '"status": "Failed"' "$T_OUT"

claim_from_snapshot() {
	CLUSTER_USE=src cluster_admin GET /api/v1/namespaces/app/persistentvolumeclaims/data |
		python3 -c 'import json,sys; s=json.load(sys.stdin)["spec"]; d=s.get("dataSource",{}); sys.exit(d.get("kind")!="VolumeSnapshot" or not d.get("name"))'
}
# CSI without moved data: the claim is provisioned from the snapshot
t_ok "backup b4 with a CSI snapshot, no data moved" ks backup create b4 --include-namespaces app --volume-data csi --snapshot-move-data=false
t_ok "the claim is deleted" api src DELETE /api/v1/namespaces/app/persistentvolumeclaims/data
t_ok "restore r7 in the same cluster" ks restore create r7 --from-backup b4 --include-namespaces app
t_ok "  the claim's dataSource is the snapshot" claim_from_snapshot
for _ in $(seq 300); do N=$(voldir src app data 2>/dev/null) && [ -n "$N" ] && break; sleep 0.1; done
t_ok "  bound to a volume with the snapshot's content" same "$T_DIR/orig" "$N"
# The VolumeSnapshot object deleted by hand: its content is Retain, so the data stays,
# and a restore creates the snapshot again from it.
snap4=$(CLUSTER_USE=src cluster_admin GET /apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots |
	python3 -c 'import json,sys; print(" ".join(o["metadata"]["name"] for o in json.load(sys.stdin)["items"]
	          if o["metadata"].get("labels",{}).get("kahu.io/backup") == "b4"))')
t_ok "b4's VolumeSnapshot ($snap4) is deleted by hand" \
	api src DELETE "/apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots/$snap4"
t_ok "the claim is deleted again" api src DELETE /api/v1/namespaces/app/persistentvolumeclaims/data
t_ok "restore r7b in the same cluster" ks restore create r7b --from-backup b4 --include-namespaces app
t_grep "  creates the snapshot again from its content" "VolumeSnapshot app/$snap4 was gone: created again from its content" "$T_ERR"
for _ in $(seq 300); do N=$(voldir src app data 2>/dev/null) && [ -n "$N" ] && break; sleep 0.1; done
t_ok "  the claim is bound to a volume with the snapshot's content" same "$T_DIR/orig" "$N"
# The class the claim is created with is the one the restore checks against the
# snapshot's driver: after --storage-class-mappings (or a transform), not the backup's.
t_ok "the claim is deleted again" api src DELETE /api/v1/namespaces/app/persistentvolumeclaims/data
t_exit 2 "restore r7c mapping the class to fast (another CSI driver): the claim fails (exit 2)" \
	ks restore create r7c --from-backup b4 --include-namespaces app --storage-class-mappings standard:fast
t_ok "  restore describe r7c --outcome failed" ks restore describe r7c --outcome failed
t_grep "  the reason names the target class and both drivers" \
	'persistentvolumeclaims +app +data +failed +its data is in CSI snapshot .*taken by driver hostpath.csi.kahu.io; its storage class in the target, fast \(after the mappings and transforms\), is provisioned by fast.csi.kahu.io' "$T_OUT"
t_ok "  the claim was not created" absent src GET /api/v1/namespaces/app/persistentvolumeclaims/data
printf '{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"standard-b"},"provisioner":"hostpath.csi.kahu.io","reclaimPolicy":"Delete","volumeBindingMode":"Immediate"}' >"$T_DIR/sc.json"
t_ok "a second class of the snapshot's driver (standard-b)" \
	api src POST /apis/storage.k8s.io/v1/storageclasses "@$T_DIR/sc.json"
printf 'rules:\n- name: to-b\n  resources: [persistentvolumeclaims]\n  mergePatch: {spec: {storageClassName: standard-b}}\n' >"$T_DIR/to-b.yaml"
t_ok "restore r7d with a transform that gives the claim class standard-b" \
	ks restore create r7d --from-backup b4 --include-namespaces app --transform "$T_DIR/to-b.yaml"
t_ok "  the claim's dataSource is the snapshot" claim_from_snapshot
CLUSTER_USE=src cluster_admin GET /api/v1/namespaces/app/persistentvolumeclaims/data >"$T_DIR/r7d-pvc.json"
t_ok "  and its class is the transformed one" \
	python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["spec"]["storageClassName"] != "standard-b")' "$T_DIR/r7d-pvc.json"
for _ in $(seq 300); do N=$(voldir src app data 2>/dev/null) && [ -n "$N" ] && break; sleep 0.1; done
t_ok "  bound to a volume with the snapshot's content" same "$T_DIR/orig" "$N"
t_ok "backup delete b4 deletes the snapshot, its content and data" ks backup delete b4 --yes
CLUSTER_USE=src cluster_admin GET /apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents >"$T_OUT"
! grep -q snapcontent "$T_OUT" && absent src GET "/apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots/$snap4"
t_result $? "  no VolumeSnapshot or content is left"

# Ctrl-C while the helper pod starts: it is removed
CLUSTER_USE=dst cluster_admin POST pod-start-delay '{"seconds": 3600}' >/dev/null
CLUSTER_USE=dst cluster_admin DELETE /api/v1/namespaces/app/persistentvolumeclaims/data >/dev/null
CLUSTER_USE=dst cluster_admin DELETE /api/v1/namespaces/app/pods/web-0 >/dev/null
"$KAHU" --kubeconfig "$DST" restore create r8 --from-backup b1 >"$T_DIR/r8.out" 2>"$T_DIR/r8.err" &
R8=$!
for _ in $(seq 600); do [ "$(helpers dst)" = 1 ] && break; sleep 0.1; done
t_ok "a helper pod is waited for" test "$(helpers dst)" = 1
kill -INT $R8
wait $R8; rc=$?
[ $rc -eq 130 ]; t_result $? "Ctrl-C ends the restore (exit 130, got $rc)"
t_ok "  and its helper pod is gone" no_helpers dst

t_done

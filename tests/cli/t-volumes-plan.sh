#!/usr/bin/env bash
# Volume data, the plan and the cluster-side lifecycle: flag values refused before
# anything is opened; which claims a backup carries and how (annotation, Velero's pod
# annotations, the volume policy, --volume-data, CSI classes), with the pod and mount
# from one pod list; CSI snapshots created, waited for, recorded and kept, or removed
# after a timeout and after Ctrl-C; what killed runs left removed, a live run's kept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

# ---- bad values: exit 64 before anything is opened (no kubeconfig exists) ----
cat >"$T_DIR/bad-policy.yaml" <<'EOF'
version: 1
rules:
  - match:
      storageClass: standard
    action: skip
  - match:
      size: ">10GB"
    action: fs
EOF
bad() { # description, args...
	local d=$1; shift
	t_exit 64 "$d" "$KAHU" --kubeconfig "$T_DIR/none" "$@"
}
bad "--volume-data bogus is refused" backup create b --volume-data bogus
t_grep "... naming the flag and the values" 'volume-data: "bogus" is not one of none, fs, csi, auto' "$T_ERR"
bad "a volume policy with an error is refused" backup create b --volume-policy "$T_DIR/bad-policy.yaml"
t_grep "... naming file and line" "bad-policy.yaml:7: size: \"10GB\" is not a quantity" "$T_ERR"
bad "a missing volume policy file is refused" backup create b --volume-policy "$T_DIR/nope.yaml"
bad "--helper-resources gpu=1 is refused" backup create b --helper-resources gpu=1
bad "--helper-tolerations with an unknown effect is refused" backup create b --helper-tolerations a=b:Never
bad "--helper-node-selector without a value is refused" backup create b --helper-node-selector disk
bad "--helper-image with a blank is refused" backup create b --helper-image "busy box"
bad "--snapshot-class Bad_Name is refused" backup create b --snapshot-class Bad_Name
bad "--csi-snapshot-timeout 5 is refused" backup create b --csi-snapshot-timeout 5
bad "--exclude-volume-paths /abs is refused" backup create b --exclude-volume-paths /var/cache
bad "--volume-data none with --snapshot-move-data is refused" backup create b --volume-data none --snapshot-move-data true
bad "--volume-data none with --snapshot-move-data=false is refused too" backup create b --volume-data none --snapshot-move-data=false
bad "--snapshot-move-data yes is refused" backup create b --snapshot-move-data yes
t_grep "... naming the flag and its values" 'snapshot-move-data: "yes" is not true or false' "$T_ERR"
bad "--snapshot-move-data without a value is refused" backup create b --snapshot-move-data
bad "restore --restore-volumes=maybe is refused" restore create --from-backup b --restore-volumes maybe
bad "restore --scale-down without --volumes-only is refused" restore create --from-backup b --scale-down
bad "restore --pvc with a bad name is refused" restore create --from-backup b --pvc 'a/B_c'
bad "restore --restore-volumes=false with --delete-extra-files is refused" \
	restore create --from-backup b --restore-volumes false --delete-extra-files

# ---- the test cluster ----
cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: csi-fast}
provisioner: hostpath.csi.k8s.io
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: scratch-local}
provisioner: kahu.io/test
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: csi-snap
  annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}
driver: hostpath.csi.k8s.io
deletionPolicy: Delete
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: csi-other}
driver: other.csi.k8s.io
deletionPolicy: Delete
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: app, labels: {app: web}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: idle, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: scratch, namespace: app, annotations: {kahu.io/volume-backup: skip}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: tmp, namespace: app}
spec:
  storageClassName: scratch-local
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: logs, namespace: app}
spec:
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: weird, namespace: app, annotations: {kahu.io/volume-backup: snapshot}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: elsewhere, namespace: other}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-csi-db}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: csi-fast
  csi: {driver: hostpath.csi.k8s.io, volumeHandle: vol-db}
  claimRef: {namespace: app, name: db}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: db, namespace: app}
spec:
  storageClassName: csi-fast
  volumeName: pv-csi-db
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 5Gi}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-legacy}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  hostPath: {path: /srv/legacy}
  claimRef: {namespace: app, name: legacy}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: legacy, namespace: app}
spec:
  storageClassName: standard
  volumeName: pv-legacy
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: app
  annotations: {backup.velero.io/backup-volumes-excludes: lg}
spec:
  nodeName: node-1
  initContainers:
  - name: init
    image: busybox
    volumeMounts: [{name: d, mountPath: /init}]
  containers:
  - name: web
    image: nginx
    volumeMounts: [{name: d, mountPath: /usr/share/data}, {name: lg, mountPath: /logs}]
  volumes:
  - {name: d, persistentVolumeClaim: {claimName: data}}
  - {name: lg, persistentVolumeClaim: {claimName: logs}}
status: {phase: Running}
EOF
vol_setup
vol_cluster main "$T_DIR/seed.yaml"
KC=$CLUSTER_KUBECONFIG
kahu_k() { kahu_main "$@"; }
vol() { vol_field "$@"; } # FILE PVC FIELD: a field of a claim's entry in a JSON result's "volumes"

# ---- the plan ----
# The test cluster provisions claims on its CSI driver hostpath.csi.kahu.io, whose
# default class is csi-hostpath-snapclass; app/db is on hostpath.csi.k8s.io (class
# csi-snap), app/tmp on kahu.io/test (no class), app/legacy on a hostPath PV.
check() { # pvc field want
	local got; got=$(vol "$T_DIR/p1.json" "$1" "$2")
	[ "$got" = "$3" ]; local rc=$?
	[ $rc -eq 0 ] || echo "#   $1 $2: got \"$got\", want \"$3\""
	t_result $rc "... $1: $2 is $3"
}
t_ok "a dry run plans the volumes (auto)" kahu_k backup create p1 --dry-run --include-namespaces app --volume-data auto -o json
cp "$T_OUT" "$T_DIR/p1.json"
check app/data method csi+data
check app/data snapshotClass csi-hostpath-snapclass
check app/db method csi+data
check app/db snapshotClass csi-snap
check app/db reason "--volume-data auto: VolumeSnapshotClass csi-snap is for driver hostpath.csi.k8s.io"
check app/tmp method helper
check app/tmp reason "--volume-data auto: no VolumeSnapshotClass for driver kahu.io/test"
check app/legacy method helper
check app/legacy reason "--volume-data auto: not a CSI volume"
check app/scratch method skip
check app/scratch reason "annotation kahu.io/volume-backup=skip"
check app/logs method csi+data
check app/logs reason "no file copy: backup.velero.io/backup-volumes-excludes of pod app/web (VolumeSnapshotClass csi-hostpath-snapclass)"
check app/weird failed true
check app/weird reason 'annotation kahu.io/volume-backup="snapshot" is not one of fs, csi, skip'
check other/elsewhere method "(absent)"

t_ok "a dry run plans the volumes (--volume-data fs)" kahu_k backup create p1 --dry-run --include-namespaces app --volume-data fs -o json
cp "$T_OUT" "$T_DIR/p1.json"
check app/data method exec
check app/data pod web
check app/data container web
check app/data mountPath /usr/share/data
check app/data node node-1
check app/idle method helper
check app/db method helper
check app/db reason "--volume-data fs"
check app/logs method skip
check app/logs reason "excluded by backup.velero.io/backup-volumes-excludes of pod app/web"

t_ok "the table names the plan of each claim" kahu_k backup create p1 --dry-run --include-namespaces app --volume-data fs
t_grep "... app/data by exec in web/web:/usr/share/data" '^app/data +exec +planned +web/web:/usr/share/data' "$T_OUT"

cat >"$T_DIR/policy.yaml" <<'EOF'
version: 1
rules:
  - match:
      storageClass: "scratch-*"
    action: skip
  - match:
      selector: "app=web"
      size: ">=1Gi,<2Gi"
    action: fs
  - match:
      accessModes: [ReadWriteOnce]
      size: ">4Gi"
    action: csi
  - match:
      storageClass: standard
    action: csi
EOF
t_ok "a volume policy applies its first matching rule" \
	kahu_k backup create p2 --dry-run --include-namespaces app --volume-policy "$T_DIR/policy.yaml" --volume-data fs -o json
cp "$T_OUT" "$T_DIR/p1.json"
check app/tmp reason "volume policy $T_DIR/policy.yaml:3 (rule 1)"
check app/data method exec
check app/data reason "volume policy $T_DIR/policy.yaml:6 (rule 2)"
check app/db method csi+data
check app/db reason "volume policy $T_DIR/policy.yaml:10 (rule 3) (VolumeSnapshotClass csi-snap)"
check app/idle method csi+data
check app/legacy failed true
check app/legacy reason "volume policy $T_DIR/policy.yaml:14 (rule 4), but the volume is not a CSI volume"

t_ok "--snapshot-class picks a class of the driver" \
	kahu_k backup create p3 --dry-run --include-namespaces app --volume-data auto --snapshot-class csi-other -o json
cp "$T_OUT" "$T_DIR/p1.json"
check app/db method helper    # csi-other is another driver's: auto falls back to fs
t_exit 66 "--snapshot-class naming no class of the cluster fails" \
	kahu_k backup create p3 --dry-run --include-namespaces app --volume-data auto --snapshot-class nope
t_grep "... naming it" "the cluster has no VolumeSnapshotClass nope" "$T_ERR"
t_ok "by default, auto with data movement" \
	kahu_k backup create p4 --dry-run --include-namespaces app -o json
cp "$T_OUT" "$T_DIR/p1.json"
check app/db method csi+data
check app/tmp method helper
check app/db reason "--volume-data auto: VolumeSnapshotClass csi-snap is for driver hostpath.csi.k8s.io"
t_ok "--snapshot-move-data=false keeps the snapshots in the cluster" \
	kahu_k backup create p4 --dry-run --include-namespaces app --snapshot-move-data=false -o json
cp "$T_OUT" "$T_DIR/p1.json"
check app/db method csi
t_ok "--volume-data none backs up no volume data" \
	kahu_k backup create p4 --dry-run --include-namespaces app --volume-data none -o json
cp "$T_OUT" "$T_DIR/p1.json"
check app/db method "(absent)"
t_ok "claims excluded by the scope are not planned" \
	kahu_k backup create p5 --dry-run --include-namespaces app --volume-data auto --exclude-names 'app/db' -o json
cp "$T_OUT" "$T_DIR/p1.json"
check app/db method "(absent)"
check app/data method csi+data

# ---- CSI snapshots in a real backup ----
snap_names() { # the VolumeSnapshots of namespace app, one per line
	cluster_admin GET "/_admin/dump?namespace=app" | "$PYTHON" -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    if o["kind"] == "VolumeSnapshot":
        print(o["metadata"]["name"])'
}
t_ok "backup create snapshots app/data and waits until it is readyToUse" \
	kahu_k backup create c1 --include-namespaces app --include-names data --snapshot-move-data=false -o json
cp "$T_OUT" "$T_DIR/c1.json"
snap=$(snap_names)
check_c1() { local got; got=$(vol "$T_DIR/c1.json" "$1" "$2"); [ "$got" = "$3" ]; local rc=$?
	[ $rc -eq 0 ] || echo "#   $1 $2: got \"$got\", want \"$3\""; t_result $rc "... $1: $2 is $3"; }
check_c1 app/data method csi
check_c1 app/data status Completed
check_c1 app/data snapshot.name "$snap"
check_c1 app/data snapshot.class csi-hostpath-snapclass
cluster_admin GET "/apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots/$snap" >"$T_DIR/snap.json"
content=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"]["boundVolumeSnapshotContentName"])' "$T_DIR/snap.json")
check_c1 app/data snapshot.content "$content"
[ -n "$(vol "$T_DIR/c1.json" app/data snapshot.handle)" ] && [ -n "$(vol "$T_DIR/c1.json" app/data snapshot.restoreSize)" ]
t_result $? "... with the snapshot handle and restore size"
[ "$(snap_names | wc -l)" -eq 1 ]
t_result $? "... the snapshot stays with the backup"
t_grep "... labelled with the purpose" '"kahu.io/purpose": ?"volume-snapshot"' "$T_DIR/snap.json"
t_grep "... and the backup's name" '"kahu.io/backup": ?"c1"' "$T_DIR/snap.json"
content_policy() { # the deletionPolicy of a VolumeSnapshotContent, "(gone)" when it does not exist
	cluster_admin GET "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/$1" 2>/dev/null |
		"$PYTHON" -c 'import json, sys
try: print(json.load(sys.stdin)["spec"]["deletionPolicy"])
except Exception: print("(gone)")'
}
[ "$(content_policy "$content")" = Retain ]
t_result $? "... its VolumeSnapshotContent's deletionPolicy is Retain"
check_c1 app/data snapshot.deletionPolicy Retain

# A snapshot that does not become ready in time: the volume fails, the backup is
# PartiallyFailed, the snapshot is removed.
cluster_admin POST /_admin/snapshot-delay '{"seconds":100000}' >/dev/null
t_exit 2 "a snapshot not ready within --csi-snapshot-timeout fails its volume" \
	kahu_k backup create c2 --include-namespaces app --include-names data --volume-data auto --csi-snapshot-timeout 1s
t_grep "... PartiallyFailed, naming the volume data" "PartiallyFailed: the data of 1 volume could not be backed up" "$T_ERR"
t_grep "... the reason names the timeout" "is not readyToUse after 1s \(--csi-snapshot-timeout\)" "$T_ERR"
[ "$(snap_names)" = "$snap" ]
t_result $? "... its snapshot was removed, c1's stays"

# Ctrl-C while waiting for a snapshot: the snapshot is removed all the same.
"$KAHU" --kubeconfig "$KC" backup create c3 --include-namespaces app --include-names data --volume-data auto >"$T_DIR/c3.out" 2>"$T_DIR/c3.err" &
kpid=$!
for i in $(seq 1 600); do [ "$(snap_names | wc -l)" -ge 2 ] && break; sleep 0.1; done
kill -INT $kpid
wait $kpid
rc=$?
[ $rc -eq 130 ]
t_result $? "SIGINT while a snapshot is awaited stops the run (exit 130, got $rc)"
[ "$(snap_names)" = "$snap" ]
t_result $? "... and the snapshot it created is removed"
cluster_admin POST /_admin/snapshot-delay '{"seconds":0}' >/dev/null

# ---- leftovers of killed runs ----
space="$(cat /proc/sys/kernel/random/boot_id)/$(stat -L -c %i /proc/self/ns/pid)"
sleep 1000 &
live=$!
T_CLEANUP+=("kill $live")
leftover() { # kind name purpose run pid-space expires [backup]
	local api=v1 extra=""
	[ "$1" = VolumeSnapshot ] && api=snapshot.storage.k8s.io/v1 &&
		extra=", \"spec\": {\"volumeSnapshotClassName\": \"csi-snap\", \"source\": {\"persistentVolumeClaimName\": \"db\"}}"
	[ "$1" = Pod ] && extra=", \"spec\": {\"containers\": [{\"name\": \"helper\", \"image\": \"busybox\"}]}"
	[ "$1" = PersistentVolumeClaim ] && extra=", \"spec\": {\"accessModes\": [\"ReadWriteOnce\"], \"resources\": {\"requests\": {\"storage\": \"1Gi\"}}}"
	printf '{"apiVersion": "%s", "kind": "%s", "metadata": {"name": "%s", "namespace": "app",
	  "labels": {"app.kubernetes.io/managed-by": "kahu", "kahu.io/purpose": "%s", "kahu.io/run": "%s"%s},
	  "annotations": {"kahu.io/pid-space": "%s", "kahu.io/expires": "%s"}}%s}\n' \
		"$api" "$1" "$2" "$3" "$4" "${7:+, \"kahu.io/backup\": \"$7\"}" "$5" "$6" "$extra"
}
{
	echo '{"apiVersion": "v1", "kind": "List", "items": ['
	leftover Pod kahu-helper-dead volume-backup 2147483646-0-aaaaaa "$space" 2100-01-01T00:00:00Z; echo ,
	leftover Pod kahu-helper-live volume-backup "$live-0-bbbbbb" "$space" 2000-01-01T00:00:00Z; echo ,
	leftover Pod kahu-helper-far-expired volume-restore 12-0-cccccc other/1 2000-01-01T00:00:00Z; echo ,
	leftover Pod kahu-helper-far-live volume-backup 12-0-dddddd other/1 2100-01-01T00:00:00Z; echo ,
	leftover PersistentVolumeClaim kahu-temp-dead volume-temp 2147483646-0-aaaaaa "$space" 2100-01-01T00:00:00Z; echo ,
	leftover VolumeSnapshot kahu-snap-move-dead volume-move 2147483646-0-aaaaaa "$space" 2100-01-01T00:00:00Z; echo ,
	leftover VolumeSnapshot kahu-snap-uncommitted volume-snapshot 2147483646-0-aaaaaa "$space" 2100-01-01T00:00:00Z never; echo ,
	leftover VolumeSnapshot kahu-snap-committed volume-snapshot 2147483646-0-aaaaaa "$space" 2100-01-01T00:00:00Z c1
	echo ']}'
} >"$T_DIR/leftovers.json"
cluster_admin POST /_admin/seed "@$T_DIR/leftovers.json" >"$T_OUT"
t_result $? "leftovers of killed and live runs are seeded"

t_ok "the next backup create with volume data runs" kahu_k backup create c4 --include-namespaces app --include-names scratch --volume-data fs
t_grep "... and says what it removed" "removed what interrupted runs left in the cluster: 2 helper pods, 1 temporary claim, 2 snapshots" "$T_ERR"
cluster_admin GET "/_admin/dump?namespace=app" | "$PYTHON" -c '
import json, sys
print("\n".join(sorted(o["metadata"]["name"] for o in json.load(sys.stdin)["items"]
                       if o["metadata"]["name"].startswith("kahu-"))))' >"$T_OUT"
printf '%s\n' kahu-helper-far-live kahu-helper-live kahu-snap-committed "$snap" | sort >"$T_DIR/want"
diff "$T_DIR/want" "$T_OUT" >"$T_ERR"
t_result $? "... a live run's helpers and a committed backup's snapshot stay, the rest is gone"

# ---- snapshots kept with a backup go with it (backup delete, backup prune) ----
snap_of() { vol "$1" app/data snapshot.name; }
content_of() { vol "$1" app/data snapshot.content; }
t_ok "backup create d1 --snapshot-move-data=false" \
	kahu_k backup create d1 --include-namespaces app --include-names data --snapshot-move-data=false -o json
cp "$T_OUT" "$T_DIR/d1.json"
d1snap=$(snap_of "$T_DIR/d1.json"); d1content=$(content_of "$T_DIR/d1.json")
[ -n "$d1snap" ] && [ -n "$d1content" ] && [ -d "$CLUSTER_DIR/snapshots/$d1content" ]
t_result $? "... its snapshot's data is in the cluster"
cluster_admin DELETE "/apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots/$d1snap" >/dev/null
[ "$(content_policy "$d1content")" = Retain ] && [ -d "$CLUSTER_DIR/snapshots/$d1content" ]
t_result $? "deleting d1's VolumeSnapshot object by hand keeps its content and data (Retain)"
t_ok "backup delete d1: a snapshot already gone is no error" kahu_k backup delete d1 --yes
[ "$(content_policy "$d1content")" = "(gone)" ] && [ ! -d "$CLUSTER_DIR/snapshots/$d1content" ]
t_result $? "... the content left behind and its data are deleted"

t_ok "backup create d2 --snapshot-move-data=false" \
	kahu_k backup create d2 --include-namespaces app --include-names data --snapshot-move-data=false -o json
cp "$T_OUT" "$T_DIR/d2.json"
d2snap=$(snap_of "$T_DIR/d2.json"); d2content=$(content_of "$T_DIR/d2.json")
cluster_admin POST faults '[{"match":{"verb":"delete","resource":"volumesnapshots"},"action":"403"}]' >/dev/null
t_exit 2 "backup delete d2 whose snapshot cannot be deleted exits 2 (PARTIAL)" kahu_k backup delete d2 --yes
t_grep "... naming the snapshot and the server's reason" \
	"VolumeSnapshot app/$d2snap of backup d2 was not deleted: .*forbidden: injected fault" "$T_ERR"
t_grep "... and saying what is left" "1 CSI snapshot they kept in the cluster could not be deleted" "$T_ERR"
cluster_admin DELETE faults >/dev/null
kahu_k backup list -o name >"$T_OUT" 2>&1
! grep -qx d2 "$T_OUT" && [ "$(snap_names | grep -cx "$d2snap")" = 1 ] &&
	[ "$(content_policy "$d2content")" = Retain ] && [ -d "$CLUSTER_DIR/snapshots/$d2content" ]
t_result $? "... the backup is gone, its snapshot stays whole (Retain)"
t_ok "the next backup create with volume data runs" \
	kahu_k backup create d3 --include-namespaces app --include-names scratch
[ "$(snap_names | grep -cx "$d2snap")" = 0 ] && [ "$(content_policy "$d2content")" = "(gone)" ] &&
	[ ! -d "$CLUSTER_DIR/snapshots/$d2content" ]
t_result $? "... and removes the snapshot of deleted backup d2, content and data"

t_ok "backup create d4 --snapshot-move-data=false" \
	kahu_k backup create d4 --include-namespaces app --include-names data --snapshot-move-data=false -o json
cp "$T_OUT" "$T_DIR/d4.json"
d4snap=$(snap_of "$T_DIR/d4.json"); d4content=$(content_of "$T_DIR/d4.json")
t_ok "backup create d5 (no snapshot kept)" kahu_k backup create d5 --include-namespaces app --include-names scratch
t_ok "backup prune --keep-last 1 removes d4" kahu_k backup prune --keep-last 1
t_grep "... d4 removed" "^removed d4 " "$T_OUT"
[ "$(snap_names | grep -cx "$d4snap")" = 0 ] && [ "$(content_policy "$d4content")" = "(gone)" ] &&
	[ ! -d "$CLUSTER_DIR/snapshots/$d4content" ]
t_result $? "... with its snapshot, content and data"

# ---- a kept snapshot belongs to its location: a run into another leaves it alone ----
t_ok "location add second (fs)" "$KAHU" location add second --provider fs --set "path=$T_DIR/second"
t_ok "backup create e1 --snapshot-move-data=false (default location)" \
	kahu_k backup create e1 --include-namespaces app --include-names data --snapshot-move-data=false -o json
e1snap=$(snap_of "$T_OUT")
cluster_admin GET "/apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots/$e1snap" >"$T_DIR/e1snap.json"
t_grep "... the snapshot is labelled with the location" '"kahu.io/location": ?"[0-9a-f]{16}-[0-9]+"' "$T_DIR/e1snap.json"
t_ok "backup create into location second (where no backup e1 exists)" \
	kahu_k backup create s2 --location second --include-namespaces app --include-names scratch
[ "$(snap_names | grep -cx "$e1snap")" = 1 ]
t_result $? "... leaves e1's snapshot alone"
t_ok "backup delete e1" kahu_k backup delete e1 --yes
[ "$(snap_names | grep -cx "$e1snap")" = 0 ]
t_result $? "... deletes it"

t_done

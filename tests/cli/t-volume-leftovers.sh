#!/usr/bin/env bash
# What kahu leaves in the cluster: nothing after a backup with CSI data movement that
# succeeds, fails (its helper refused by Pod Security) or is stopped by SIGINT while its
# helper pod starts (helper pods, temporary claims, data-movement snapshots), nor after
# a restore whose helper is refused; a run killed with SIGKILL while its helper pod
# starts cannot remove the pod: the next backup create removes it, and so does the next
# restore create in the namespaces it writes claims' data into (and only there).
# (t-volumes.sh checks the file copy's helper after success, failure and SIGINT,
# t-volume-restore.sh the restore's.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

cat >"$T_DIR/seed.yaml" <<'EOF2'
apiVersion: v1
kind: Namespace
metadata: {name: vol}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: orphan, namespace: vol}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
EOF2
vol_setup
vol_cluster main "$T_DIR/seed.yaml"
KC=$CLUSTER_KUBECONFIG
kahu_k() { kahu_main "$@"; }

d=$(vol_dir main vol orphan)
mkdir -p "$d" && printf 'hello\n' >"$d/a.txt"
t_ok "the claim's data directory is filled" test -s "$d/a.txt"

helpers() { vol_kahu main Pod "$1"; } # namespace → names of kahu's helper pods in it
nothing_left() { # nothing kahu made is left in the cluster (what is, on stdout)
	local k out=
	for k in Pod PersistentVolumeClaim VolumeSnapshot; do out+=$(vol_kahu main $k); done
	[ -z "$out" ] || { echo "left: $out"; return 1; }
}
delay() { cluster_admin POST /_admin/pod-start-delay "{\"seconds\":$1}" >/dev/null; }
# kill9 NAMESPACE LOG ARGS…: run kahu in the background, SIGKILL it once its helper pod
# exists in NAMESPACE (held Pending by the start delay); prints the pod's name
kill9() {
	local ns=$1 log=$2; shift 2
	"$KAHU" --kubeconfig "$KC" "$@" >"$log.out" 2>"$log.err" &
	local pid=$! i
	for i in $(seq 1 1200); do [ -n "$(helpers "$ns")" ] && break; sleep 0.1; done
	kill -KILL $pid
	wait $pid 2>/dev/null
	helpers "$ns"
}

# ---- backup with CSI data movement: success, failure, SIGINT ----
t_ok "a backup with --snapshot-move-data succeeds" \
	kahu_k backup create m1 --include-namespaces vol --volume-data csi --snapshot-move-data true -o json
vol_check "$T_OUT" vol/orphan method csi+data
t_ok "... and leaves no helper pod, temporary claim or snapshot" nothing_left
cluster_admin POST /_admin/seed '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"vol","labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}' >/dev/null
t_exit 2 "a backup with --snapshot-move-data whose helper Pod Security refuses is PartiallyFailed (2)" \
	kahu_k backup create m2 --include-namespaces vol --volume-data csi --snapshot-move-data true
t_grep "... saying why" 'enforces "restricted"' "$T_ERR"
t_ok "... and leaves no helper pod, temporary claim or snapshot" nothing_left
cluster_admin POST /_admin/seed '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"vol"}}' >/dev/null
delay 3600
"$KAHU" --kubeconfig "$KC" backup create m3 --include-namespaces vol --volume-data csi --snapshot-move-data true \
	>"$T_DIR/m3.out" 2>"$T_DIR/m3.err" &
kpid=$!
for _ in $(seq 1 1200); do [ -n "$(helpers vol)" ] && break; sleep 0.1; done
[ -n "$(helpers vol)" ] && [ -n "$(vol_kahu main PersistentVolumeClaim vol)" ]
t_result $? "a backup with --snapshot-move-data has its temporary claim and helper pod (Pending)"
kill -INT $kpid
wait $kpid; rc=$?
[ $rc -eq 130 ]
t_result $? "... SIGINT stops it (exit 130, got $rc)"
t_ok "... and it leaves no helper pod, temporary claim or snapshot" nothing_left
delay 0

# ---- a restore whose helper pod Pod Security refuses ----
cluster_admin POST /_admin/seed '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"vol9","labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}' >/dev/null
t_exit 2 "a restore whose helper Pod Security refuses is PartiallyFailed (2)" \
	kahu_k restore create rf --from-backup m1 --namespace-mappings vol:vol9
t_grep "... saying why" 'enforces "restricted"' "$T_ERR"
t_ok "... and leaves no helper pod" test -z "$(helpers vol9)"

# ---- SIGKILL: backup ----
delay 3600
pod=$(kill9 vol "$T_DIR/k1" backup create k1 --include-namespaces vol --volume-data fs)
[ -n "$pod" ]
t_result $? "a backup killed (SIGKILL) while its helper pod starts leaves the pod ($pod)"
delay 0
t_ok "the next backup create succeeds" \
	kahu_k backup create k2 --include-namespaces vol --volume-data fs -o json
t_grep "... saying it removed the helper pod left by the killed run" \
	"removed .*pods/$pod, left by an interrupted run|1 helper pod," "$T_ERR"
[ -z "$(helpers vol)" ]
t_result $? "... and no helper pod is left"

# ---- SIGKILL: restore ----
delay 3600
pod=$(kill9 vol2 "$T_DIR/r1" restore create r1 --from-backup k2 --namespace-mappings vol:vol2)
[ -n "$pod" ]
t_result $? "a restore killed (SIGKILL) while its helper pod starts leaves the pod ($pod)"
delay 0
t_ok "a restore into another namespace succeeds" \
	kahu_k restore create r2 --from-backup k2 --namespace-mappings vol:vol3
[ "$(helpers vol2)" = "$pod" ]
t_result $? "... and leaves the pod in a namespace it does not write into alone"
cluster_admin DELETE /api/v1/namespaces/vol2/persistentvolumeclaims/orphan >/dev/null
t_ok "the next restore into that namespace succeeds" \
	kahu_k restore create r3 --from-backup k2 --namespace-mappings vol:vol2
t_grep "... saying it removed the helper pod left by the killed run" \
	"removed .*pods/$pod, left by an interrupted run|1 helper pod," "$T_ERR"
[ -z "$(helpers vol2)" ] && [ -z "$(helpers vol3)" ]
t_result $? "... and no helper pod is left"

t_done

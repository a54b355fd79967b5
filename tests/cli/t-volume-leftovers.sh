#!/usr/bin/env bash
# What a killed kahu run leaves in the cluster: a run killed with SIGKILL while its helper
# pod starts cannot remove the pod; the next backup create removes it, and so does the
# next restore create in the namespaces it writes claims' data into (and only there).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

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
cluster_start main --seed "$T_DIR/seed.yaml" || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1

d=$(cluster_admin GET "/_admin/volume?namespace=vol&pvc=orphan" |
	"$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("path") or d.get("dir") or d)')
mkdir -p "$d" && printf 'hello\n' >"$d/a.txt"
t_ok "the claim's data directory is filled" test -s "$d/a.txt"

helpers() { # namespace → names of kahu's helper pods in it
	cluster_admin GET "/_admin/dump?namespace=$1" | "$PYTHON" -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    l = o["metadata"].get("labels", {})
    if o["kind"] == "Pod" and l.get("app.kubernetes.io/managed-by") == "kahu":
        print(o["metadata"]["name"])'
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

# ---- backup ----
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

# ---- restore ----
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

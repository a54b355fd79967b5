#!/usr/bin/env bash
# A user whose rights end at some namespaces (the test cluster's user "tenant": no list
# across namespaces, nothing cluster-scoped) backs up the volume data of its namespace
# with the defaults: the claims and pods are listed namespace by namespace, no
# VolumeSnapshotClass or PV can be read (so the files are copied), and what killed runs
# left is looked for in the namespaces in scope only, where cluster-wide lists are 403.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

space="$(cat /proc/sys/kernel/random/boot_id)/$(stat -L -c %i /proc/self/ns/pid)"
leftover() { # kind name namespace purpose
	local extra=""
	[ "$1" = Pod ] && extra=', "spec": {"containers": [{"name": "helper", "image": "busybox"}]}'
	[ "$1" = PersistentVolumeClaim ] && extra=', "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}'
	printf '{"apiVersion": "v1", "kind": "%s", "metadata": {"name": "%s", "namespace": "%s",
	  "labels": {"app.kubernetes.io/managed-by": "kahu", "kahu.io/purpose": "%s", "kahu.io/run": "2147483646-0-aaaaaa"},
	  "annotations": {"kahu.io/pid-space": "%s", "kahu.io/expires": "2100-01-01T00:00:00Z"}}%s}\n' \
		"$1" "$2" "$3" "$4" "$space" "$extra"
}
{
	cat <<'EOF2'
{"apiVersion": "v1", "kind": "List", "items": [
{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant"}},
{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}},
{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "tenant"},
 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": "tenant"},
 "spec": {"containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "infinity"],
   "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
  "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}},
EOF2
	leftover Pod kahu-helper-dead tenant volume-backup; echo ,
	leftover PersistentVolumeClaim kahu-temp-dead tenant volume-temp; echo ,
	leftover Pod kahu-helper-elsewhere other volume-backup
	echo ']}'
} >"$T_DIR/seed.json"
cluster_start main --seed "$T_DIR/seed.json" || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
d=$(cluster_admin GET "/_admin/volume?namespace=tenant&pvc=data" |
	"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["path"])')
mkdir -p "$d/sub" && printf 'hello\n' >"$d/sub/a.txt"
t_ok "the claim's data directory is filled" test -s "$d/sub/a.txt"

tok=$(awk '$2 == "tenant" {print $1}' "$CLUSTER_DIR/tokens")
code() { curl -s -o /dev/null -w '%{http_code}' --cacert "$CLUSTER_CA" -H "Authorization: Bearer $tok" "$CLUSTER_URL$1"; }
[ "$(code /api/v1/pods)" = 403 ] && [ "$(code /api/v1/namespaces/other/pods)" = 403 ] &&
	[ "$(code /api/v1/persistentvolumes)" = 403 ] && [ "$(code /api/v1/namespaces/tenant/pods)" = 200 ]
t_result $? "user tenant may list in namespace tenant only (403 across the cluster, elsewhere, cluster-scoped)"
cluster_names() { # namespace → kahu's objects in it
	cluster_admin GET "/_admin/dump?namespace=$1" | "$PYTHON" -c '
import json, sys
print("\n".join(sorted(o["metadata"]["name"] for o in json.load(sys.stdin)["items"]
                       if o["metadata"]["name"].startswith("kahu-"))))'
}

# What the namespace's objects refer to is cluster-scoped (its Namespace object, the PVs
# of its claims, CRDs): tenant may not read those types, so they fail and the backup is
# PartiallyFailed (exit 2); everything in the namespace is backed up.
t_exit 2 "backup create as tenant, with the defaults, in its namespace" \
	"$KAHU" --kubeconfig "$KC" --context tenant backup create t1 --include-namespaces tenant -o json
cp "$T_OUT" "$T_DIR/t1.json"
cp "$T_ERR" "$T_DIR/t1.err"
t_grep "... PartiallyFailed for the three types it may not read" "backup t1 is PartiallyFailed: 3 types could not be backed up" "$T_DIR/t1.err"
t_grep "... namespaces" "cannot back up namespaces: .*forbidden" "$T_DIR/t1.err"
t_grep "... persistentvolumes" "cannot back up persistentvolumes: .*forbidden" "$T_DIR/t1.err"
"$PYTHON" - "$T_DIR/t1.json" <<'PY'
import json, sys
v = {(x["namespace"], x["pvc"]): x for x in json.load(open(sys.argv[1]))["volumes"]}
x = v[("tenant", "data")]
assert x["method"] == "exec" and x["status"] == "Completed" and x["files"] >= 1, x
PY
t_result $? "... the claim's files are copied in the app pod (no class or PV can be read)"
t_grep "... saying why no snapshot is taken" "VolumeSnapshotClasses.*no claim is taken for a CSI volume" "$T_DIR/t1.err"
t_grep "... and removing what killed runs left in its namespace" \
	"removed what interrupted runs left in the cluster: 1 helper pod, 1 temporary claim, 0 snapshots" "$T_DIR/t1.err"
[ -z "$(cluster_names tenant)" ] && [ "$(cluster_names other)" = kahu-helper-elsewhere ]
t_result $? "... there only: the other namespace's leftover is not touched"

t_ok "backup download --extract of the tenant's volume" \
	"$KAHU" backup download t1 --volume tenant/data --extract "$T_DIR/x"
cmp "$d/sub/a.txt" "$T_DIR/x/sub/a.txt"
t_result $? "... holds its files"

t_done

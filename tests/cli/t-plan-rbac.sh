#!/usr/bin/env bash
# kahu plan install --kubernetes, run for real under RBAC: the test cluster evaluates the
# RBAC of service accounts (Roles, ClusterRoles, their bindings), so the CronJob's pod,
# started as a Job from it (`kubectl create job --from=cronjob/...`), backs up with
# exactly the rights the install gave its service account: objects, volume data through
# exec in the app's pod, a helper pod for a claim no pod mounts, a CSI snapshot whose
# files are moved into the backup (the default); to an S3 location (s3rver behind the
# verifying proxy), with the key and the S3 credentials from the Secret.  Then the same
# with pods/exec taken out of the role: every claim is read through exec (the CSI one in
# a pod mounting its snapshot), so each fails with the reason naming the missing right,
# the backup is PartiallyFailed, the Job fails, and no helper pod is left behind.
# The app's pod has a pre hook (an exec annotation), run by the Job's kahu.  The plan
# installed again as a watcher (--watch --quiet-period 1s: a Deployment running plan
# watch; its pod made from the template, the test cluster having no Deployment
# controller) backs up after a change in its scope, under its role.  A second
# plan has data movers: the coordinator in the CronJob's pod makes their Jobs, Secrets
# and ServiceAccounts with its role's rights, and removes them.  In every run the server
# refuses one request: the first list across the cluster (kahu then lists namespace by
# namespace, for that type and every later one).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cli/vollib.sh"
. "$top_srcdir/tests/s3/s3.sh"

KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
	t_skip "plan install under RBAC" "kubectl is not installed"; t_done; exit $?
fi
if [ "$(id -u)" -ne 0 ]; then
	t_skip "plan install under RBAC" "running pods needs root (mount namespaces)"; t_done; exit $?
fi
s3_available
if [ $? -ne 0 ]; then
	t_skip "plan install under RBAC" "$S3_MISSING"; t_done; exit $?
fi
s3_start || { t_result 1 "s3rver and the verifying proxy start"; t_done; exit 1; }

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: db}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app}
data: {mode: production}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: web, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: spare, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: app
  annotations:
    pre.hook.backup.kahu.io/command: '["sh", "-c", "echo hooked > /data/hook-mark"]'
spec:
  containers:
  - {name: app, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /data}]}
  volumes:
  - {name: d, persistentVolumeClaim: {claimName: web}}
---
apiVersion: v1
kind: Namespace
metadata: {name: mv}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: bulk, namespace: mv}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: pg, namespace: db}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 1Gi}}
EOF
vol_setup
vol_cluster main "$T_DIR/seed.yaml"
k() { "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
kh() { "$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
names() { # the location's backups, one per line, sorted
	kh backup list -o json | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
for x in sorted(d if isinstance(d, list) else d.get("items", d.get("backups", [])), key=lambda x: x["name"]):
    print(x["name"])'
}
for c in app/web app/spare db/pg mv/bulk; do
	d=$(vol_dir main "${c%/*}" "${c#*/}")
	[ -n "$d" ] && vol_fill "$d"
done
t_ok "the three claims hold data" test -f "$(vol_dir main db pg)/hard1"

CFG=$XDG_CONFIG_HOME/kahu/config.json
cat >"$CFG" <<EOF
{"version": 1, "defaultLocation": "s3",
 "locations": {"s3": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                                  "region": "eu-west-3", "prefix": "rbac"}}}}
EOF
chmod 600 "$CFG"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T_DIR/aws"
chmod 600 "$T_DIR/aws"
cat >"$T_DIR/nightly.yaml" <<'EOF'
apiVersion: kahu.io/v1
kind: BackupPlan
metadata:
  name: nightly
spec:
  includeNamespaces: [app, db]
  location: s3
  schedule: "30 2 * * *"
  timeZone: UTC
  volumes:
    data: auto
EOF
t_ok "plan apply" kh plan apply -f "$T_DIR/nightly.yaml"
t_ok "plan install --kubernetes with the kahu image" \
	kh plan install nightly --kubernetes --image kahu:test --aws-credentials "$T_DIR/aws"

# The service account has what the install bound to it, and no more.
T=$(k -n kahu create token kahu-nightly 2>"$T_DIR/token.err")
t_ok "kubectl create token for the plan's service account" test -n "$T"
ksa() { "$KUBECTL" --server "$CLUSTER_URL" --certificate-authority "$CLUSTER_CA" --token "$T" "$@"; }
t_ok "the account may list pods in app" ksa auth can-i list pods -n app
t_ok "... create pods/exec in db" ksa auth can-i create pods --subresource=exec -n db
t_ok "... create VolumeSnapshots in db" ksa auth can-i create volumesnapshots.snapshot.storage.k8s.io -n db
t_fail "... not delete Deployments in app" ksa auth can-i delete deployments.apps -n app
t_fail "... not list Secrets outside the plan's namespaces" ksa auth can-i list secrets -n kube-system
t_fail "... not create pods outside them" ksa auth can-i create pods -n default
t_fail "... not read the location's Secret in kahu" ksa get secret kahu-nightly -n kahu

# A run of the CronJob, as the schedule would start it.
job_wait() { # JOB: until it succeeded or failed (60 s); prints succeeded|failed
	local i s f
	for i in $(seq 1 600); do
		s=$(k -n kahu get job "$1" -o 'jsonpath={.status.succeeded}' 2>/dev/null)
		f=$(k -n kahu get job "$1" -o 'jsonpath={.status.failed}' 2>/dev/null)
		[ "${s:-0}" -gt 0 ] && { echo succeeded; return 0; }
		[ "${f:-0}" -gt 0 ] && { echo failed; return 0; }
		sleep 0.1
	done
	echo timeout
}
SAUSER=system:serviceaccount:kahu:kahu-nightly
forbidden() { cluster_admin GET /_admin/stats | "$PYTHON" -c '
import json, sys
for w in json.load(sys.stdin)["forbidden_by_user"].get(sys.argv[1], []):
    print(w)' "$SAUSER"; }
cluster_admin POST /_admin/stats/reset >/dev/null
t_ok "kubectl create job --from the plan's CronJob" k -n kahu create job run1 --from=cronjob/kahu-nightly
state=$(job_wait run1)
k -n kahu logs job/run1 >"$T_DIR/run1.log" 2>&1
t_ok "... the Job succeeds" test "$state" = succeeded
[ "$state" = succeeded ] || sed 's/^/#   /' "$T_DIR/run1.log" | tail -n 30
t_nogrep "... its log tells of nothing forbidden" "forbidden|Forbidden" "$T_DIR/run1.log"
# Its rights end at the plan's namespaces: its first list across the cluster is refused,
# and from then on kahu lists in each of the plan's namespaces instead
# (kube_list_or_each_ns): one denial in the cluster's audit log per run, not one per type.
forbidden >"$T_DIR/forbidden1"
t_ok "... the server refused one request of the run" test "$(wc -l <"$T_DIR/forbidden1")" = 1
t_grep "... its first list across the cluster (pods)" '^list pods$' "$T_DIR/forbidden1"
b1=$(names)
t_ok "one backup in the bucket (kahu backup list here)" test -n "$b1" -a "$(echo "$b1" | wc -l)" = 1
t_ok "backup describe" kh backup describe "$b1" -o json
cp "$T_OUT" "$T_DIR/b1.json"
t_py "... Completed, the plan's, with the objects" '
assert d["status"] == "Completed", d["status"]
assert d["items"] > 0' "$T_DIR/b1.json"
# (a snapshot's files are moved into the backup by default: csi+data)
vol_check "$T_DIR/b1.json" app/web method exec
vol_check "$T_DIR/b1.json" app/spare method helper
vol_check "$T_DIR/b1.json" db/pg method csi+data
vol_check "$T_DIR/b1.json" app/web status Completed
vol_check "$T_DIR/b1.json" app/spare status Completed
vol_check "$T_DIR/b1.json" db/pg status Completed
t_ok "the files of app/web, as the Job's kahu stored them" \
	kh backup download "$b1" --volume app/web --extract "$T_DIR/web"
t_ok "... byte for byte" vol_same "$(vol_dir main app web)" "$T_DIR/web"
t_ok "... with the mark of the pre hook, run in the app's pod before its data was read" \
	grep -qx hooked "$T_DIR/web/hook-mark"
t_ok "no helper pod is left" test -z "$(vol_kahu main Pod app)$(vol_kahu main Pod db)"

# pods/exec taken from the role: the claims read through exec fail with the reason.
k get clusterrole kahu-nightly -o json >"$T_DIR/role.json"
"$PYTHON" - "$T_DIR/role.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["rules"] = [x for x in r["rules"] if "pods/exec" not in x.get("resources", [])]
for k in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
    r["metadata"].pop(k, None)
json.dump(r, open(sys.argv[1], "w"))
PY
t_ok "the role without pods/exec" k replace -f "$T_DIR/role.json"
t_fail "... the account may no longer exec" ksa auth can-i create pods --subresource=exec -n app
t_ok "a second run of the CronJob" k -n kahu create job run2 --from=cronjob/kahu-nightly
state=$(job_wait run2)
k -n kahu logs job/run2 >"$T_DIR/run2.log" 2>&1
t_ok "... the Job fails (the backup is not whole)" test "$state" = failed
t_grep "... its log names the missing right" 'pods/exec' "$T_DIR/run2.log"
forbidden >"$T_DIR/forbidden2"
t_grep "... the server refused pods/exec in app" '^create pods/exec in app$' "$T_DIR/forbidden2"
t_grep "... and in db" '^create pods/exec in db$' "$T_DIR/forbidden2"
t_ok "... and nothing else but its first list across the cluster" \
	sh -c "! grep -Ev '^(create pods/exec in (app|db)|list pods)\$' '$T_DIR/forbidden2'"
b2=$(names | grep -vx "$b1")
t_ok "the second backup" kh backup describe "$b2" -o json
cp "$T_OUT" "$T_DIR/b2.json"
t_py "... PartiallyFailed" 'assert d["status"] == "PartiallyFailed", d["status"]' "$T_DIR/b2.json"
vol_check "$T_DIR/b2.json" app/web status Failed
vol_check "$T_DIR/b2.json" app/spare status Failed
vol_check "$T_DIR/b2.json" db/pg status Failed
t_ok "... the reason of each names pods/exec" sh -c "'$PYTHON' - '$T_DIR/b2.json' <<'PY'
import json, sys
for v in json.load(open(sys.argv[1]))['volumes']:
    if v['namespace'] + '/' + v['pvc'] in ('app/web', 'app/spare', 'db/pg'):
        assert 'pods/exec' in (v.get('error') or v.get('reason') or ''), v
PY"
t_ok "no helper pod is left" test -z "$(vol_kahu main Pod app)$(vol_kahu main Pod db)"
t_ok "plan uninstall --kubernetes" kh plan uninstall nightly --kubernetes

# The same plan installed as a watcher (a Deployment running plan watch, its role with
# watch): a change in its scope starts a backup, under the role's rights.
before=$(names)
t_ok "plan install --kubernetes --watch, quiet period 1s" kh plan install nightly --kubernetes --watch \
	--quiet-period 1s --max-interval 0 --image kahu:test --aws-credentials "$T_DIR/aws"
t_ok "... the watcher's settings in its arguments" \
	k -n kahu get deployment kahu-nightly -o 'jsonpath={.spec.template.spec.containers[0].args}'
t_grep "... --quiet-period 1s --max-interval 0" '"--quiet-period","1s","--max-interval","0"' "$T_OUT"
SAUSER=system:serviceaccount:kahu:kahu-nightly
# The test cluster has no Deployment controller: the test makes the pod of the
# Deployment's template, as its ReplicaSet would.
k -n kahu get deployment kahu-nightly -o json >"$T_DIR/deploy.json"
"$PYTHON" - "$T_DIR/deploy.json" >"$T_DIR/watcher.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["spec"]["template"]
md = dict(t.get("metadata") or {}, name="kahu-nightly-watcher", namespace="kahu")
print(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": t["spec"]}))
PY
t_ok "... its pod (made from the Deployment's template)" k create -f "$T_DIR/watcher.json"
watcher_up() { k -n kahu logs kahu-nightly-watcher 2>/dev/null | grep -q 'waiting for changes'; }
t_ok "the watcher's pod watches" vol_wait_for 60 watcher_up
cluster_admin POST /_admin/stats/reset >/dev/null
k -n app patch configmap settings --type merge -p '{"data":{"mode":"maintenance"}}' >/dev/null
new_backup() { [ "$(names)" != "$before" ]; }
t_ok "a change in app: a backup by the watcher" vol_wait_for 90 new_backup
k -n kahu logs kahu-nightly-watcher >"$T_DIR/watch.log" 2>&1
[ "$(names)" != "$before" ] || sed 's/^/#   /' "$T_DIR/watch.log" | tail -n 20
b4=$(comm -13 <(echo "$before") <(names) | head -n 1)
backup_done() { kh backup describe "$b4" -o json >"$T_DIR/b4.json" 2>/dev/null && "$PYTHON" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["status"] in ("InProgress", "New"))' "$T_DIR/b4.json"; }
vol_wait_for 60 backup_done
k -n kahu logs kahu-nightly-watcher >"$T_DIR/watch.log" 2>&1
t_grep "... its first run, started by that change" 'run 1 starts: [0-9]+ changes? since the last run, the first: .*settings' "$T_DIR/watch.log"
t_py "... Completed" 'assert d["status"] == "Completed", d["status"]' "$T_DIR/b4.json"
vol_check "$T_DIR/b4.json" app/web status Completed
forbidden >"$T_DIR/forbidden4"
t_ok "... the server refused none of the watcher's requests but lists across the cluster" \
	sh -c "! grep -Ev '^(list|watch) [a-z0-9.]+\$' '$T_DIR/forbidden4'"
grep -Ev '^(list|watch) [a-z0-9.]+$' "$T_DIR/forbidden4" | sed 's/^/#   refused: /'
t_ok "the watcher's pod deleted (a rollout)" k -n kahu delete pod kahu-nightly-watcher --wait=false
t_ok "plan uninstall --kubernetes (the watcher)" kh plan uninstall nightly --kubernetes
t_ok "... its Deployment is gone" sh -c "! '$KUBECTL' --kubeconfig '$CLUSTER_KUBECONFIG' -n kahu get deployment kahu-nightly"

# A plan whose volume data data movers take (Jobs on the volumes' nodes, straight to S3):
# its role adds Jobs, Secrets and ServiceAccounts, and the coordinator runs in the pod.
cat >"$T_DIR/moved.yaml" <<'EOF'
apiVersion: kahu.io/v1
kind: BackupPlan
metadata:
  name: moved
spec:
  includeNamespaces: [mv]
  location: s3
  schedule: "0 3 * * *"
  volumes:
    data: fs
    mover: {type: cluster, image: "kahu:test"}
EOF
t_ok "a plan with data movers" kh plan apply -f "$T_DIR/moved.yaml"
t_ok "... installed" kh plan install moved --kubernetes --image kahu:test --aws-credentials "$T_DIR/aws"
SAUSER=system:serviceaccount:kahu:kahu-moved
cluster_admin POST /_admin/stats/reset >/dev/null
t_ok "a run of its CronJob" k -n kahu create job run3 --from=cronjob/kahu-moved
state=$(job_wait run3)
k -n kahu logs job/run3 >"$T_DIR/run3.log" 2>&1
t_ok "... the Job succeeds" test "$state" = succeeded
[ "$state" = succeeded ] || sed 's/^/#   /' "$T_DIR/run3.log" | tail -n 30
forbidden >"$T_DIR/forbidden3"
t_ok "... the server refused only its first list across the cluster" \
	sh -c "test \"\$(cat '$T_DIR/forbidden3')\" = 'list pods'"
[ "$(cat "$T_DIR/forbidden3")" = "list pods" ] || sed 's/^/#   refused: /' "$T_DIR/forbidden3"
b3=$(names | grep '^moved')
t_ok "its backup" kh backup describe "$b3" -o json
cp "$T_OUT" "$T_DIR/b3.json"
t_py "... Completed" 'assert d["status"] == "Completed", d["status"]' "$T_DIR/b3.json"
vol_check "$T_DIR/b3.json" mv/bulk method mover
vol_check "$T_DIR/b3.json" mv/bulk status Completed
t_ok "the files of mv/bulk" kh backup download "$b3" --volume mv/bulk --extract "$T_DIR/bulk"
t_ok "... byte for byte" vol_same "$(vol_dir main mv bulk)" "$T_DIR/bulk"
t_ok "no mover Job, Secret or ServiceAccount is left in mv" \
	test -z "$(vol_kahu main Job mv)$(vol_kahu main Secret mv)$(vol_kahu main ServiceAccount mv)"
t_ok "plan uninstall --kubernetes" kh plan uninstall moved --kubernetes

t_done

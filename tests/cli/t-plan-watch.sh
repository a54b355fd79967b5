#!/usr/bin/env bash
# kahu plan watch against the test cluster: a burst of changes in the plan's scope gives
# exactly one backup, a later change another; changes out of the scope and kahu's own
# objects (app.kubernetes.io/managed-by=kahu) and changes of an object's status alone give
# none; a dropped watch and a 410 are
# survived; a failing run is reported and the next change still runs; SIGTERM ends it
# with exit 0 and no lock left; plan install --kubernetes --watch --dry-run applied with
# kubectl.  Every wait is for a log line or a state, giving up after 120 s, never a time.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"
KUBECTL=${KUBECTL:-kubectl}
command -v "$KUBECTL" >/dev/null 2>&1 || { t_skip "plan watch" "kubectl is not installed"; t_done; exit 0; }

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app}
data: {v: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
EOF
cluster_start --seed "$T_DIR/seed.yaml" --watch-bookmark-interval 0.5 ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
export KUBECONFIG=$KC
k() { "$KUBECTL" --kubeconfig "$KC" "$@"; }
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
LOC=$T_DIR/loc
CFG=$XDG_CONFIG_HOME/kahu/config.json
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$CFG" <<EOF
{"version": 1, "defaultLocation": "main",
 "locations": {"main": {"provider": "fs", "config": {"path": "$LOC"}}}}
EOF
chmod 600 "$CFG"
cat >"$T_DIR/w.yaml" <<'EOF'
apiVersion: kahu.io/v1
kind: BackupPlan
metadata:
  name: w
spec:
  includeNamespaces: [app]
  location: main
  cadence:
    type: incremental
  retention:
    keepLast: 50
  volumes:
    data: none
EOF
t_ok "plan apply" "$KAHU" plan apply -f "$T_DIR/w.yaml"

# ---- usage ----
t_exit 64 "a quiet period that is not a duration is refused" "$KAHU" --kubeconfig "$KC" plan watch w --quiet-period soon
t_grep "... naming the flag" "--quiet-period" "$T_ERR"
t_exit 64 "a max interval shorter than the quiet period is refused" "$KAHU" --kubeconfig "$KC" plan watch w --quiet-period 10m --max-interval 1m
t_exit 64 "... also when it is 1h, the default, given" "$KAHU" --kubeconfig "$KC" plan watch w --quiet-period 2h --max-interval 1h
t_exit 66 "an unknown plan" "$KAHU" --kubeconfig "$KC" plan watch nosuch

LOG=$T_DIR/watch.log
until_grep() { # PATTERN FILE
	local i
	for i in $(seq 1 1200); do grep -Eq -- "$1" "$2" && return 0; sleep 0.1; done
	echo "#   no /$1/ in $2 after 120 s"
	return 1
}
# Waits until a line of $LOG matching PATTERN2 follows the first matching PATTERN1.
until_after() { # PATTERN1 PATTERN2
	local i
	for i in $(seq 1 1200); do
		awk -v a="$1" -v b="$2" 'seen && $0 ~ b { found = 1; exit } $0 ~ a { seen = 1 } END { exit !found }' "$LOG" &&
			return 0
		sleep 0.1
	done
	echo "#   no /$2/ after /$1/ in $LOG after 120 s"
	return 1
}
backups() { "$KAHU" backup list -o name 2>/dev/null | grep -c '^backup/w-[0-9]\{8\}-[0-9]\{6\}$'; }
fired() { cluster_admin GET /_admin/faults | "$PYTHON" -c 'import json,sys; print(sum(r["fired"] for r in json.load(sys.stdin)["rules"]))'; }
until_fired() {
	local i
	for i in $(seq 1 1200); do [ "$(fired)" -ge "$1" ] && return 0; sleep 0.1; done
	return 1
}

"$KAHU" --kubeconfig "$KC" -v plan watch w --quiet-period 5s --max-interval 0 >"$T_DIR/watch.out" 2>"$LOG" &
pw=$!
T_CLEANUP+=("kill $pw 2>/dev/null")
t_ok "plan watch lists the plan's types and waits" until_grep 'plan watch: [0-9]+ watches listed; waiting for changes' "$LOG"
t_ok "no backup before any change" test "$(backups)" -eq 0

# ---- a burst: one backup ----
cat >"$T_DIR/burst.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: b1, namespace: app}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b2, namespace: app}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b3, namespace: app}
---
apiVersion: v1
kind: Secret
metadata: {name: s1, namespace: app}
stringData: {k: v}
EOF
t_ok "a burst of four changes in the plan's namespace" k apply -f "$T_DIR/burst.yaml"
t_ok "a run starts" until_grep 'plan w: run 1 starts: ' "$LOG"
t_ok "... and ends" until_grep 'plan w: run 1 (done|failed)' "$LOG"
t_grep "... done" 'plan w: run 1 done' "$LOG"
t_grep "its start says why: the four changes, and the first" 'plan w: run 1 starts: 4 changes since the last run, the first: ADDED (configmaps|secrets) app/(b1|s1)$' "$LOG"
t_ok "exactly one backup of the plan" test "$(backups)" -eq 1

t_ok "a later change" k -n app label configmap b1 later=yes
t_ok "another run" until_grep 'plan w: run 2 (done|failed)' "$LOG"
t_grep "... for that one change" 'plan w: run 2 starts: 1 change since the last run, the first: MODIFIED configmaps app/b1$' "$LOG"
t_ok "two backups" test "$(backups)" -eq 2
t_grep "the second is incremental" 'Plan w: backup w-[0-9]{8}-[0-9]{6}, incremental on w-' "$T_DIR/watch.out"

# ---- out of scope, and kahu's own objects: nothing ----
t_ok "a change in another namespace" k -n other create configmap elsewhere
cat >"$T_DIR/helper.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: kahu-helper-state
  namespace: app
  labels: {app.kubernetes.io/managed-by: kahu}
EOF
t_ok "an object of kahu's own in the plan's namespace" k apply -f "$T_DIR/helper.yaml"
cat >"$T_DIR/skip.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: skipme
  namespace: app
  labels: {kahu.io/exclude-from-backup: "true"}
EOF
t_ok "an object the plan excludes by label" k apply -f "$T_DIR/skip.yaml"
t_ok "a change of a Deployment's status alone (the status subresource)" \
	k -n app patch deployment web --subresource=status --type=merge -p '{"status":{"observedGeneration":7}}'
t_ok "... took" test "$(k -n app get deployment web -o jsonpath='{.status.observedGeneration}')" = 7
t_ok "an update that changes nothing but its resourceVersion (kubectl replace of the same object)" \
	eval 'k -n app get configmap settings -o json | k replace -f -'
t_ok "then one change in scope" k -n app create configmap marker
t_ok "a run follows" until_grep 'plan w: run 3 (done|failed)' "$LOG"
t_grep "... for that change alone (nothing before it counted)" 'plan w: run 3 starts: 1 change since the last run, the first: ADDED configmaps app/marker$' "$LOG"
t_ok "three backups" test "$(backups)" -eq 3
t_nogrep "the status change was not counted as a change" 'plan watch: MODIFIED deployments app/web' "$LOG"

# ---- a dropped watch ----
t_ok "every open watch is dropped" cluster_admin POST /_admin/watch/drop
t_ok "plan watch resumes them" until_grep 'plan watch: configmaps: watch resumed' "$LOG"
t_ok "a change after the drop" k -n app create configmap after-drop
t_ok "runs" until_grep 'plan w: run 4 (done|failed)' "$LOG"
t_grep "... for it" 'plan w: run 4 starts: 1 change since the last run, the first: ADDED configmaps app/after-drop$' "$LOG"

# ---- 410: listed again, the change made meanwhile still runs ----
t_ok "a fault: configmaps watches answer 503" cluster_admin POST /_admin/faults \
	'{"match":{"verb":"watch","resource":"configmaps"},"action":"503"}'
t_ok "the open watches are dropped" cluster_admin POST /_admin/watch/drop
t_ok "the next configmaps watch is refused" until_fired 1
t_ok "a configmap changed meanwhile" k -n app label configmap b2 meanwhile=yes
t_ok "the history is forgotten" cluster_admin POST /_admin/watch/compact
t_ok "the watches are served again" cluster_admin DELETE /_admin/faults
t_ok "plan watch lists configmaps again" until_grep 'plan watch: configmaps: listed again \(410 Expired' "$LOG"
t_ok "the change found by the re-list runs the plan" until_grep 'plan w: run 5 (done|failed)' "$LOG"
t_grep "... for it" 'plan w: run 5 starts: 1 change since the last run, the first: MODIFIED configmaps app/b2$' "$LOG"
t_ok "five backups" test "$(backups)" -eq 5

# ---- a failing run is reported; the next change still runs ----
mv "$LOC" "$LOC.away" && : >"$LOC"   # a file where the location's directory was
t_ok "a change while the location cannot be written" k -n app create configmap unwritable
t_ok "the run fails" until_grep 'plan w: run 6 (done|failed)' "$LOG"
t_grep "... and says so, the watch going on" 'plan w: run 6 failed \(the watch goes on\): ' "$LOG"
rm -f "$LOC" && mv "$LOC.away" "$LOC"
t_ok "the location is writable again; another change" k -n app create configmap writable
t_ok "the next run" until_grep 'plan w: run 7 (done|failed)' "$LOG"
t_grep "... is done" 'plan w: run 7 done' "$LOG"
t_ok "six backups of the plan" test "$(backups)" -eq 6
t_ok "plan status shows the plan's last run" "$KAHU" plan status w

# ---- a custom resource definition added while watching: its type is watched too ----
cat >"$T_DIR/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
EOF
t_ok "a custom resource definition is created" k apply -f "$T_DIR/crd.yaml"
t_ok "plan watch finds the types again" until_grep 'plan w: custom resource definitions changed; finding the types again' "$LOG"
t_ok "... and lists them" until_after 'finding the types again' 'plan watch: [0-9]+ watches listed; waiting for changes'
cat >"$T_DIR/widget.yaml" <<'EOF'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: app}
spec: {size: 3}
EOF
t_ok "a widget in the plan's namespace" k apply -f "$T_DIR/widget.yaml"
t_ok "its creation is seen" until_grep 'plan watch: ADDED widgets app/w1$' "$LOG"
t_ok "and a run after it ends" until_after 'plan watch: ADDED widgets app/w1$' 'plan w: run [0-9]+ (done|failed)'
t_ok "... done" until_after 'plan watch: ADDED widgets app/w1$' 'plan w: run [0-9]+ done'

# ---- SIGTERM ----
kill -TERM "$pw"
wait "$pw"
t_result $? "SIGTERM ends plan watch with exit 0"
t_grep "... saying so" 'plan w: stopped watching' "$LOG"
t_ok "no lock is left on the location" test -z "$(ls -A "$LOC/locks" 2>/dev/null)"

# ---- SIGTERM during a run: the backup is interrupted, no lock is left ----
LOG2=$T_DIR/watch2.log
"$KAHU" --kubeconfig "$KC" -v plan watch w --quiet-period 1s >"$T_DIR/watch2.out" 2>"$LOG2" &
pw=$!
T_CLEANUP+=("kill $pw 2>/dev/null")
t_ok "plan watch again" until_grep 'plan watch: [0-9]+ watches listed; waiting for changes' "$LOG2"
cluster_admin DELETE /_admin/faults >/dev/null
t_ok "a fault: the next list of configmaps stops halfway until released" cluster_admin POST /_admin/faults \
	'{"match":{"verb":"list","resource":"configmaps"},"action":"chunked","hold":0.5,"times":1}'
t_ok "a change" k -n app create configmap during-run
t_ok "a run starts" until_grep 'plan w: run 1 starts: ' "$LOG2"
t_ok "its backup is held in the middle of its list of configmaps" until_fired 1
kill -TERM "$pw"
wait "$pw"
t_result $([ $? -eq 143 ]; echo $?) "SIGTERM during a run: exit 143"
t_grep "... the run was interrupted" 'plan w: run 1 interrupted' "$LOG2"
cluster_admin POST /_admin/faults/release >/dev/null
cluster_admin DELETE /_admin/faults >/dev/null
t_ok "no lock is left on the location" test -z "$(ls -A "$LOC/locks" 2>/dev/null)"
t_ok "the location is usable at once: a plan run" "$KAHU" --kubeconfig "$KC" plan run w

# ---- the Deployment form ----
t_exit 64 "--watch goes with --kubernetes only" "$KAHU" plan install w --cron --watch --dry-run
t_ok "plan install --kubernetes --watch --dry-run (a plan without a schedule)" \
	"$KAHU" plan install w --kubernetes --watch --dry-run --image registry.example/kahu:1
cp "$T_OUT" "$T_DIR/k8s.yaml"
t_grep "... a Deployment" '^kind: Deployment$' "$T_DIR/k8s.yaml"
t_nogrep "... no CronJob" '^kind: CronJob$' "$T_DIR/k8s.yaml"
t_ok "kubectl applies it" k apply -f "$T_DIR/k8s.yaml"
t_ok "kubectl reads the Deployment back" k -n kahu get deployment kahu-w -o 'jsonpath={.spec.template.spec.containers[0].args}'
t_grep "... its pod runs plan watch" '"plan","watch","w"' "$T_OUT"
t_ok "the ClusterRole lets it watch" k get clusterroles -l kahu.io/plan=w -o json
t_grep "... watch among the verbs" '"watch"' "$T_OUT"
t_ok "kubectl deletes it" k delete -f "$T_DIR/k8s.yaml" --ignore-not-found

t_done

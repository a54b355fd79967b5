#!/usr/bin/env bash
# Hooks (kahu-hooks(5)) against the test cluster: pre and post backup hooks from pod
# annotations (kahu's and Velero's, kahu's win) and from a hooks file (namespace and
# label selectors), run in the pods' containers through pods/exec; a failing hook under
# on-error Fail (PartiallyFailed, exit 2, its exit code and stderr in the results) and
# Continue (a warning); per pod, pre hooks, then that pod's volume data, then its post
# hooks (a marker a pre hook writes is in the backed-up data, not in the live volume
# after the backup; a failed pre hook skips that pod's data; post hooks run after
# SIGINT), pods without volumes hooked around the metadata, the pods listed once; a
# hanging hook and one that writes only to stderr ended at their
# timeout; pods listed paged for their hooks; a pod not yet Running waited for, then
# hooked; a native sidecar targeted; a pod that never runs reported with its state; a
# named container that does not exist; local hooks with the run in their environment
# (a failing after hook shown on stderr and in -o json, and, run once the backup is
# recorded, kept beside it: in describe and backup logs, marked as run after the
# commit; another backup's or a truncated object refused with a warning, the rest
# shown; removed by backup delete); bad definitions (an unknown key,
# an invalid command, an unknown on-error value, a bad duration, a missing container)
# refused with exit 64 before anything is written; the outcomes in describe and -o json;
# restore: init containers (annotations, the file's selectors) in the restored pod and
# pod template, exec hooks run in the restored pod once it runs (it starts Pending).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
	t_skip "hooks through the test cluster" "kubectl is not installed"
	t_done
	exit $?
fi
if [ "$(id -u)" -ne 0 ]; then
	t_skip "hooks through the test cluster" "the test cluster's exec sandboxes need root"
	t_done
	exit $?
fi

# t_pyin DESC FILE <<'PY' ... PY: Python on stdin, d = FILE's JSON.
t_pyin() {
	local d=$1
	cp "$2" "$T_DIR/py.json"
	t_run "$PYTHON" -c "import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.stdin.read())" "$T_DIR/py.json"
	local rc=$?
	[ $rc -eq 0 ] || sed 's/^/#   /' "$T_ERR"
	t_result $rc "$d"
}

t_ok "the test cluster starts" cluster_start main
export KUBECONFIG=$CLUSTER_KUBECONFIG
k() { "$KUBECTL" "$@"; }
LOC=$XDG_DATA_HOME/kahu/backups
MARK=$T_DIR/marks
mkdir -p "$MARK"
chmod 0777 "$MARK"

# One pod per case; its containers share an emptyDir at /m, where hooks leave markers
# (read back through pods/exec); local hooks write into $MARK on this machine.
pod() { # name namespace labels annotations(yaml map) [extra containers]
	cat <<EOY
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: $2
  labels: $3
  annotations: $4
spec:
  containers:
  - {name: app, image: debian:12, volumeMounts: [{name: m, mountPath: /m}]}
  - {name: side, image: debian:12, volumeMounts: [{name: m, mountPath: /m}]}
  volumes:
  - {name: m, emptyDir: {}}
EOY
}
{
	echo "apiVersion: v1"
	echo "kind: Namespace"
	echo "metadata: {name: hk}"
	pod kahu hk '{app: a}' "{pre.hook.backup.kahu.io/command: '[\"sh\", \"-c\", \"echo pre-kahu >> /m/kahu\"]',
    pre.hook.backup.velero.io/command: '[\"sh\", \"-c\", \"echo pre-velero >> /m/kahu\"]',
    post.hook.backup.velero.io/command: '[\"sh\", \"-c\", \"echo post-velero >> /m/kahu\"]',
    post.hook.backup.velero.io/container: side}"
} >"$T_DIR/ok.yaml"
t_ok "pods with hook annotations" k apply -f "$T_DIR/ok.yaml"
wait_running() {
	for _ in $(seq 1 600); do
		[ "$(k get pod -n "$1" "$2" -o 'jsonpath={.status.phase}' 2>/dev/null)" = Running ] && return 0
		sleep 0.1
	done
	return 1
}
t_ok "the pod runs" wait_running hk kahu
mark() { k exec -n hk kahu -c app -- cat "/m/$1"; }

# The pods are listed paged (limit=) for their hooks: a list of pods without a limit fails.
t_ok "a list of pods without limit= fails (500)" cluster_admin POST faults \
	'[{"match":{"resource":"pods","verb":"list","query_regex":"^(?!.*limit=)"},"action":"500"}]'
t_ok "backup with annotation hooks" "$KAHU" backup create b1 --include-namespaces hk -o json
cp "$T_OUT" "$T_DIR/b1.json"
t_ok "faults cleared" cluster_admin DELETE faults
t_ok "kahu's pre hook ran, Velero's post hook ran (kahu's group wins per hook)" \
	test "$(mark kahu)" = "pre-kahu
post-velero"
t_pyin "-o json lists both outcomes" "$T_DIR/b1.json" <<'PY'
h = d["hooks"]
assert [(x["when"], x["source"], x["container"], x["status"], x["exitCode"]) for x in h] == [
    ("pre", "kahu annotation", "app", "Succeeded", 0),
    ("post", "velero annotation", "side", "Succeeded", 0)], h
assert d["status"] == "Completed", d
PY
t_ok "describe b1" "$KAHU" backup describe b1
t_grep "describe shows the hooks" '^  pre annotation in hk/kahu container app: sh -c echo pre-kahu.*: Succeeded' "$T_OUT"
t_ok "backup logs b1" "$KAHU" backup logs b1
t_grep "the stored log has the hook outcome" 'pre hook annotation in pod hk/kahu container app' "$T_OUT"

# ---- failures: Fail, Continue, timeout, a missing container at run time ----
{
	pod fail hk '{app: f}' '{pre.hook.backup.kahu.io/command: "[\"sh\", \"-c\", \"echo frozen-no-more >&2; exit 3\"]"}'
	pod cont hk '{app: c}' '{pre.hook.backup.kahu.io/command: "[\"false\"]", pre.hook.backup.kahu.io/on-error: Continue}'
	pod hang hk '{app: h}' '{pre.hook.backup.kahu.io/command: "[\"sleep\", \"600\"]", pre.hook.backup.kahu.io/timeout: 2s}'
	# Writes only to stderr, every half second for 30s: its timeout (2s) still ends it.
	pod noisy hk '{app: noisy}' '{pre.hook.backup.kahu.io/command: "[\"sh\", \"-c\", \"i=0; while [ $i -lt 60 ]; do echo tick >&2; sleep 0.5; i=$((i+1)); done\"]", pre.hook.backup.kahu.io/timeout: 2s}'
} >"$T_DIR/fail.yaml"
t_ok "pods with failing hooks" k apply -f "$T_DIR/fail.yaml"
t_ok "they run" wait_running hk hang
t_ok "they all run" wait_running hk noisy
t_exit 2 "a hook failing under Fail: PartiallyFailed, exit 2" "$KAHU" backup create b2 --include-namespaces hk -o json
cp "$T_ERR" "$T_DIR/b2.err"
t_pyin "the outcomes: exit code and stderr of Fail, a warning for Continue, the timeout" "$T_OUT" <<'PY'
assert d["status"] == "PartiallyFailed", d
by = {x["pod"]: x for x in d["hooks"] if x["when"] == "pre"}
f = by["fail"]
assert f["status"] == "Failed" and f["exitCode"] == 3 and f["stderr"] == "frozen-no-more", f
assert f["error"] == "exit code 3", f
c = by["cont"]
assert c["status"] == "Warning" and c["exitCode"] == 1 and c["onError"] == "Continue", c
h = by["hang"]
assert h["status"] == "Failed" and h["error"].startswith("timed out after 2s"), h
assert h["exitCode"] == -1, h
n = by["noisy"]
assert n["status"] == "Failed" and n["error"].startswith("timed out after 2s"), n
assert n["exitCode"] == -1 and n["stderr"].endswith("tick"), n
PY
t_grep "the message says hooks failed" 'PartiallyFailed: 3 hooks failed' "$T_DIR/b2.err"
t_grep "the failing hook is warned about with its stderr" 'pre hook annotation in pod hk/fail container app failed \(on-error Fail\).*exit code 3; stderr: frozen-no-more' "$T_DIR/b2.err"
k delete -n hk pod fail cont hang noisy >/dev/null 2>&1

# ---- per pod: pre hooks → that pod's volume data → post hooks ----
# db's pre hook leaves a marker in its claim, its post hook removes it: the backed-up
# data has the marker, the live volume has not.  plain has no claim: its hooks run
# around the metadata, before db's.  bad's pre hook fails under Fail: its claim's data
# is not read (the reason says why), its post hook still runs, db's data is read.
vpod() { # name claim annotations(yaml map)
	cat <<EOY
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $2, namespace: hv}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: hv
  annotations: $3
spec:
  containers:
  - {name: main, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /data}]}
  volumes: [{name: d, persistentVolumeClaim: {claimName: $2}}]
EOY
}
{
	echo "apiVersion: v1"
	echo "kind: Namespace"
	echo "metadata: {name: hv}"
	vpod db db-data "{pre.hook.backup.kahu.io/command: '[\"sh\", \"-c\", \"date > /data/.frozen\"]',
    post.hook.backup.kahu.io/command: '[\"rm\", \"/data/.frozen\"]'}"
	# db2 mounts db's claim too: one group, both pods' pre hooks before the data.
	cat <<'EOY'
---
apiVersion: v1
kind: Pod
metadata:
  name: db2
  namespace: hv
  annotations:
    pre.hook.backup.kahu.io/command: '["sh", "-c", "date > /data/.frozen2; while test -e /data/.hold; do sleep 0.1; done"]'
    pre.hook.backup.kahu.io/timeout: 10m
    post.hook.backup.kahu.io/command: '["rm", "/data/.frozen2"]'
spec:
  containers:
  - {name: main, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /data}]}
  volumes: [{name: d, persistentVolumeClaim: {claimName: db-data}}]
EOY
	echo "---"
	echo "apiVersion: v1"
	echo "kind: Pod"
	echo "metadata:"
	echo "  name: plain"
	echo "  namespace: hv"
	echo "  annotations: {pre.hook.backup.kahu.io/command: '[\"true\"]', post.hook.backup.kahu.io/command: '[\"true\"]'}"
	echo "spec: {containers: [{name: main, image: busybox:1.36, command: [sleep, \"3600\"]}]}"
} >"$T_DIR/hv.yaml"
t_ok "a pod whose hooks freeze its volume, and one without a volume" k apply -f "$T_DIR/hv.yaml"
t_ok "db runs" wait_running hv db
t_ok "plain runs" wait_running hv plain
t_ok "db2 runs" wait_running hv db2
# Every list of all pods but those of kahu's own helpers (by label, the leftovers of
# killed runs) is counted: a rule that holds them for 1 ms.
t_ok "a rule that counts lists of all pods" cluster_admin POST faults \
	'[{"match":{"resource":"pods","verb":"list","path_regex":"^/api/v1/pods$","query_regex":"^(?!.*labelSelector)"},"action":"slow","delay_ms":1}]'
t_ok "backup with volume data and hooks" "$KAHU" backup create v1 --include-namespaces hv --volume-data fs -o json
cp "$T_OUT" "$T_DIR/v1.json"
t_ok "the rule's counts" cluster_admin GET faults
cp "$T_OUT" "$T_DIR/v1.faults"
t_ok "faults cleared" cluster_admin DELETE faults
t_pyin "Completed; plain's hooks around the metadata, then db's around its data" "$T_DIR/v1.json" <<'PY'
assert d["status"] == "Completed", d
assert [(x["when"], x["pod"], x["status"]) for x in d["hooks"]] == [
    ("pre", "plain", "Succeeded"), ("post", "plain", "Succeeded"),
    ("pre", "db", "Succeeded"), ("pre", "db2", "Succeeded"),
    ("post", "db", "Succeeded"), ("post", "db2", "Succeeded")], d["hooks"]
v = {x["pvc"]: x for x in d["volumes"]}
assert v["db-data"]["status"] == "Completed" and v["db-data"]["method"] == "exec", v
PY
t_pyin "the pods were listed once for the hooks and the volume plan together" "$T_DIR/v1.faults" <<'PY'
rules = d if isinstance(d, list) else d.get("rules", d.get("faults"))
assert len(rules) == 1 and rules[0]["seen"] == 1, d
PY
t_ok "download --volume hv/db-data --extract" "$KAHU" backup download v1 --volume hv/db-data --extract "$T_DIR/v1x"
t_ok "the backed-up data has the pre hooks' markers (db's and db2's)" \
	test -s "$T_DIR/v1x/.frozen" -a -s "$T_DIR/v1x/.frozen2"
t_ok "the live volume has them no longer (the post hooks ran after the data was read)" \
	k exec -n hv db -- sh -c '! test -e /data/.frozen && ! test -e /data/.frozen2'
vpod bad bad-data "{pre.hook.backup.kahu.io/command: '[\"sh\", \"-c\", \"echo cannot freeze >&2; exit 3\"]',
    post.hook.backup.kahu.io/command: '[\"sh\", \"-c\", \"echo thawed > /data/.thawed\"]'}" >"$T_DIR/bad.yaml"
t_ok "a pod whose pre hook fails" k apply -f "$T_DIR/bad.yaml"
t_ok "it runs" wait_running hv bad
t_exit 2 "its pre hook fails under Fail: PartiallyFailed, exit 2" \
	"$KAHU" backup create v2 --include-namespaces hv --volume-data fs -o json
cp "$T_ERR" "$T_DIR/v2.err"
t_pyin "its claim's data was not read, and says why; db's was" "$T_OUT" <<'PY'
assert d["status"] == "PartiallyFailed", d
v = {x["pvc"]: x for x in d["volumes"]}
b = v["bad-data"]
assert b["status"] == "Failed", b
assert b["reason"] == "its data was not read: pod hv/bad: pre hook annotation (kahu annotation) " \
    "failed: exit code 3", b
assert v["db-data"]["status"] == "Completed", v
h = [(x["when"], x["pod"], x["status"]) for x in d["hooks"] if x["pod"] == "bad"]
assert h == [("pre", "bad", "Failed"), ("post", "bad", "Succeeded")], d["hooks"]
PY
t_grep "the failed pre hook is warned about with its stderr" \
	'pre hook annotation in pod hv/bad container main failed \(on-error Fail\).*exit code 3; stderr: cannot freeze' "$T_DIR/v2.err"
t_ok "its post hook ran all the same" k exec -n hv bad -- test -s /data/.thawed
# SIGINT while db2's pre hook waits (for /data/.hold to go), db frozen already: the
# group's data is not read, and both pods' post hooks still run (shielded).
k delete -n hv pod bad --wait=false >/dev/null 2>&1
t_ok "db2's pre hook will wait" k exec -n hv db -- touch /data/.hold
"$KAHU" -v backup create v3 --include-namespaces hv --volume-data fs >"$T_DIR/v3.out" 2>"$T_DIR/v3.err" &
kpid=$!
frozen() { k exec -n hv db -- test -e /data/.frozen -a -e /data/.frozen2 2>/dev/null; }
for _ in $(seq 1 1200); do frozen && break; sleep 0.1; done
t_ok "both pre hooks ran (db2's waits)" frozen
kill -INT $kpid
wait $kpid
rc=$?
k exec -n hv db -- rm -f /data/.hold
cp "$T_DIR/v3.err" "$T_ERR"
[ $rc -eq 130 ]
t_result $? "SIGINT stops the run (exit 130, got $rc)"
t_ok "the post hooks ran all the same: the live volume has no marker" \
	k exec -n hv db -- sh -c '! test -e /data/.frozen && ! test -e /data/.frozen2'
t_grep "db's post hook is in the log" 'post hook annotation in pod hv/db container main: rm /data/.frozen exited 0' "$T_DIR/v3.err"
t_grep "db2's too" 'post hook annotation in pod hv/db2 container main: rm /data/.frozen2 exited 0' "$T_DIR/v3.err"
k delete namespace hv --wait=false >/dev/null 2>&1

# ---- pods not Running yet, native sidecars, a pod that never runs ----
# sc runs at once; never stays Pending (start delay 1h); late is Pending for a few
# seconds and its hook (timeout 1m) waits for it.
delay() { cluster_admin POST pod-start-delay "{\"seconds\":$1}"; }
wpod() { # name annotations(yaml map) [initContainers]
	cat <<EOY
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
  namespace: hw
  annotations: $2
spec:
  initContainers: ${3:-[]}
  containers:
  - {name: app, image: debian:12, volumeMounts: [{name: m, mountPath: /m}]}
  volumes:
  - {name: m, emptyDir: {}}
EOY
}
{
	echo "apiVersion: v1"
	echo "kind: Namespace"
	echo "metadata: {name: hw}"
	wpod sc "{pre.hook.backup.kahu.io/container: proxy,
    pre.hook.backup.kahu.io/command: '[\"sh\", \"-c\", \"echo in-sidecar >> /m/sc\"]'}" \
		"[{name: init, image: debian:12, command: ['true']},
    {name: proxy, image: debian:12, restartPolicy: Always, volumeMounts: [{name: m, mountPath: /m}]}]"
} >"$T_DIR/sc.yaml"
t_ok "a pod with a native sidecar" k apply -f "$T_DIR/sc.yaml"
t_ok "it runs" wait_running hw sc
t_ok "pods start after an hour from now" delay 3600
wpod never "{pre.hook.backup.kahu.io/command: '[\"true\"]', pre.hook.backup.kahu.io/timeout: 2s}" >"$T_DIR/never.yaml"
t_ok "a pod that will not run" k apply -f "$T_DIR/never.yaml"
t_ok "pods start after 5s from now" delay 5
wpod late "{pre.hook.backup.kahu.io/command: '[\"sh\", \"-c\", \"echo late >> /m/late\"]', pre.hook.backup.kahu.io/timeout: 1m}" >"$T_DIR/late.yaml"
t_ok "a pod that runs in a few seconds" k apply -f "$T_DIR/late.yaml"
t_ok "pods start at once again" delay 0
late_phase=$(k get pod -n hw late -o 'jsonpath={.status.phase}')
t_exit 2 "backup: the pod that never runs fails its hook (PartiallyFailed, exit 2)" \
	"$KAHU" backup create b6 --include-namespaces hw -o json
cp "$T_OUT" "$T_DIR/b6.json"
cp "$T_ERR" "$T_DIR/b6.err"
t_pyin "the sidecar's hook ran in it; the late pod's after it ran; the other reported with its state" "$T_DIR/b6.json" <<'PY'
by = {x["pod"]: x for x in d["hooks"]}
assert sorted(by) == ["late", "never", "sc"], d["hooks"]
s = by["sc"]
assert s["container"] == "proxy" and s["status"] == "Succeeded" and s["exitCode"] == 0, s
l = by["late"]
assert l["container"] == "app" and l["status"] == "Succeeded" and l["exitCode"] == 0, l
n = by["never"]
assert n["status"] == "Failed" and n["exitCode"] == -1 and n["container"] == "app", n
assert n["error"] == "container app is not running after 2s (pod phase Pending; containers: " \
    "app (waiting: ContainerCreating))", n
assert d["status"] == "PartiallyFailed", d
PY
t_grep "the unstarted pod is warned about with its state" \
	'pre hook annotation in pod hw/never container app failed \(on-error Fail\).*not running after 2s \(pod phase Pending' "$T_DIR/b6.err"
t_ok "the sidecar's marker is in the shared volume" test "$(k exec -n hw sc -c app -- cat /m/sc)" = in-sidecar
t_ok "the late pod's marker is in its volume" test "$(k exec -n hw late -c app -- cat /m/late)" = late
if [ "$late_phase" = Pending ]; then
	t_ok "the late pod was Pending when the backup started (its hook waited for it)" true
else
	t_skip "the late pod was Pending when the backup started" "it was $late_phase already (a slow machine)"
fi
k delete namespace hw --wait=false >/dev/null 2>&1

# ---- a hooks file: selectors, local hooks ----
cat >"$T_DIR/hooks.yaml" <<EOY
hooks:
- name: only-a
  namespaces: [hk]
  selector: app=a
  pre:
  - container: side
    command: [sh, -c, 'echo file-pre >> /m/file']
  post:
  - command: [sh, -c, 'echo file-post >> /m/file']
- name: elsewhere
  namespaces: [other]
  pre:
  - command: [sh, -c, 'echo wrong >> /m/file']
- name: no-match
  selector: app=zzz
  pre:
  - command: [sh, -c, 'echo wrong >> /m/file']
local:
  before:
  - name: env-before
    command: [sh, -c, 'echo "\$KAHU_PHASE \$KAHU_OPERATION \$KAHU_BACKUP_NAME \$KAHU_LOCATION \$KAHU_STATUS" >> $MARK/local']
  after:
  - name: env-after
    command: [sh, -c, 'echo "\$KAHU_PHASE \$KAHU_OPERATION \$KAHU_BACKUP_NAME \$KAHU_LOCATION \$KAHU_STATUS" >> $MARK/local']
EOY
t_ok "backup with a hooks file" "$KAHU" backup create b3 --include-namespaces hk --hooks "$T_DIR/hooks.yaml"
cp "$T_OUT" "$T_DIR/b3.out"
t_ok "the file's hooks ran only in the selected pod, in order" test "$(mark file)" = "file-pre
file-post"
t_ok "the local hooks saw the run" test "$(cat "$MARK/local")" = "before backup b3 default InProgress
after backup b3 default Completed"
t_grep "the human output lists the hooks" '^Hooks: 6 \(0 failed' "$T_DIR/b3.out"
# An after hook runs once the backup is recorded: its failure is on stderr and in the
# output, and leaves the recorded status and the exit status alone.
cat >"$T_DIR/after.yaml" <<'EOY'
local:
  after:
  - name: notify-down
    command: [sh, -c, 'echo notify down >&2; exit 5']
EOY
t_ok "a backup whose after hook fails exits 0" "$KAHU" backup create b7 --include-namespaces hk \
	--hooks "$T_DIR/after.yaml" -o json
cp "$T_ERR" "$T_DIR/b7.err"
t_pyin "-o json has the after hook's failure" "$T_OUT" <<'PY'
a = [x for x in d["hooks"] if x["when"] == "after"]
assert len(a) == 1 and a[0]["status"] == "Failed" and a[0]["exitCode"] == 5, a
assert a[0]["stderr"] == "notify down" and a[0]["hook"] == "notify-down", a
assert d["status"] == "Completed", d
PY
t_grep "stderr has the after hook's failure" 'after hook notify-down failed \(on-error Fail\).*exit code 5; stderr: notify down' "$T_DIR/b7.err"
# It ran once the manifest (the commit point, its MAC over every object) was written:
# its outcome is kept beside the backup, sealed and bound to that manifest, not in
# kahu/backup.json, and the recorded status is the one it was told.
t_ok "b7's after hooks are stored beside it, sealed" test -f "$LOC/backups/b7/after-hooks.json.zst.kenc"
t_ok "the backup without after hooks (b1) has no such object" \
	test ! -e "$LOC/backups/b1/after-hooks.json.zst.kenc" -a ! -e "$LOC/backups/b1/after-hooks.json.zst"
t_ok "backup logs b7" "$KAHU" backup logs b7
"$PYTHON" -c 'import json, sys
ls = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
a = [l for l in ls if "notify-down" in l["msg"]]
assert len(a) == 1 and a[0] is ls[-1], ls[-3:]
assert a[0]["afterCommit"] is True and a[0]["level"] == "warn", a
assert "exit code 5; stderr: notify down" in a[0]["msg"], a
h = a[0]["hook"]
assert h["when"] == "after" and h["exitCode"] == 5 and h["stderr"] == "notify down", h
assert h["command"] == "sh -c echo notify down >&2; exit 5" and "durationMs" in h, h' "$T_OUT" >"$T_DIR/py.out" 2>&1
t_result $? "the log ends with the after hook's outcome, marked as run after the commit"
t_ok "backup describe b7 -o json" "$KAHU" backup describe b7 -o json
cp "$T_OUT" "$T_DIR/b7.json"
t_pyin "describe -o json has it under afterHooks, not in kahu/backup.json's hooks" "$T_DIR/b7.json" <<'PY'
a = d["afterHooks"]
assert len(a) == 1 and a[0]["hook"] == "notify-down" and a[0]["exitCode"] == 5, a
assert a[0]["status"] == "Failed" and a[0]["stderr"] == "notify down" and a[0]["when"] == "after", a
assert not [x for x in d.get("hooks", []) if x["when"] == "after"], d.get("hooks")
assert "afterHooksError" not in d and d["status"] == "Completed", d
PY
t_ok "backup describe b7" "$KAHU" backup describe b7
t_grep "describe shows it, run after the commit" \
	'^After hooks \(run once the backup was committed, kept beside it\): 1 \(1 failed' "$T_OUT"
t_grep "with its command, exit code and stderr" \
	'^  after notify-down: sh -c echo notify down >&2; exit 5: Failed \([0-9]+ ms\): exit code 5; stderr: notify down' "$T_OUT"
t_ok "backup verify b7: the object the manifest does not list is no error" "$KAHU" backup verify b7
t_grep "verify says intact" 'Backup b7 is intact' "$T_OUT"
# Another backup's object moved in (the envelope binds it to its path), a truncated one:
# refused with a warning, the rest still shows, exit 0.
cp "$LOC/backups/b7/after-hooks.json.zst.kenc" "$T_DIR/b7-after.kenc"
cp "$LOC/backups/b3/after-hooks.json.zst.kenc" "$LOC/backups/b7/after-hooks.json.zst.kenc"
t_ok "describe b7 with b3's object swapped in exits 0" "$KAHU" backup describe b7
t_grep "the rest still shows" '^Status: +Completed' "$T_OUT"
t_nogrep "b3's after hook is not shown as b7's" 'env-after' "$T_OUT"
t_grep "it says why after hooks are not shown" '^After hooks: +not shown: .*after-hooks.json.zst.kenc' "$T_OUT"
t_grep "and warns" 'warning: backup b7: the outcome of its after hooks is not shown: .*after-hooks.json.zst.kenc' "$T_ERR"
t_ok "backup logs b7 with b3's object exits 0" "$KAHU" backup logs b7
t_nogrep "the log has none of b3's after hooks" 'env-after|afterCommit' "$T_OUT"
t_grep "and warns" 'the outcome of its after hooks is not shown' "$T_ERR"
head -c 40 "$T_DIR/b7-after.kenc" >"$LOC/backups/b7/after-hooks.json.zst.kenc"
t_ok "describe b7 -o json with a truncated object exits 0" "$KAHU" backup describe b7 -o json
t_pyin "afterHooksError says why, the rest is there" "$T_OUT" <<'PY'
assert "afterHooks" not in d and "after-hooks.json.zst.kenc" in d["afterHooksError"], d.get("afterHooksError")
assert d["status"] == "Completed" and d["types"], d
PY
# backup delete removes it with everything else under the backup.
cp "$T_DIR/b7-after.kenc" "$LOC/backups/b7/after-hooks.json.zst.kenc"
t_ok "backup delete b7" "$KAHU" backup delete b7 --yes
[ ! -e "$LOC/backups/b7" ] || [ -z "$(find "$LOC/backups/b7" -type f)" ]
t_result $? "nothing of b7 is left, its after hooks' object neither"
# A new backup of the same name: the object of the earlier one (same path, same key)
# is bound to another manifest.
t_ok "b7 again, with the after hook" "$KAHU" backup create b7 --include-namespaces hk --hooks "$T_DIR/after.yaml"
cp "$T_DIR/b7-after.kenc" "$LOC/backups/b7/after-hooks.json.zst.kenc"
t_ok "describe the new b7 with the earlier b7's object exits 0" "$KAHU" backup describe b7
t_grep "it is refused: written for another manifest" \
	'^After hooks: +not shown: .*written for another backup \(b7, an earlier one of this name\)' "$T_OUT"
# Storing it fails (the after hook itself puts something at its name): a warning, the
# backup and its status as they were, exit 0.
cat >"$T_DIR/after-block.yaml" <<EOY
local:
  after:
  - name: block
    command: [sh, -c, 'echo x > "$LOC/backups/\$KAHU_BACKUP_NAME/after-hooks.json.zst.kenc"']
EOY
t_ok "a backup whose after hooks cannot be stored exits 0" "$KAHU" backup create w7 \
	--include-namespaces hk --hooks "$T_DIR/after-block.yaml"
t_grep "a warning names the reason" \
	'warning: backup w7: the outcome of its after hooks was not stored with it \(.*after-hooks.json.zst.kenc.*\); the backup is as recorded' "$T_ERR"
t_ok "backup describe w7" "$KAHU" backup describe w7
t_grep "w7 is Completed" '^Status: +Completed' "$T_OUT"
t_ok "backup delete w7" "$KAHU" backup delete w7 --yes
# Unencrypted backups keep it unkeyed, bound by the manifest's hash it holds.
t_ok "an unencrypted backup with the after hook" "$KAHU" backup create u7 --no-encryption \
	--include-namespaces hk --hooks "$T_DIR/after.yaml"
t_ok "its after hooks are stored unkeyed" test -f "$LOC/backups/u7/after-hooks.json.zst"
t_ok "describe u7 --allow-unencrypted" "$KAHU" backup describe u7 --allow-unencrypted
t_grep "shows them" '^  after notify-down: .*Failed' "$T_OUT"
t_ok "another unencrypted backup with the after hook" "$KAHU" backup create u8 --no-encryption \
	--include-namespaces hk --hooks "$T_DIR/after.yaml"
cp "$LOC/backups/u7/after-hooks.json.zst" "$LOC/backups/u8/after-hooks.json.zst"
t_ok "describe u8 with u7's object exits 0" "$KAHU" backup describe u8 --allow-unencrypted
t_grep "it is refused: written for another backup" '^After hooks: +not shown: .*written for another backup \(u7\)' "$T_OUT"
t_grep "the rest still shows" '^Status: +Completed' "$T_OUT"

# ---- bad definitions: exit 64, nothing written ----
ls "$LOC/backups" >"$T_DIR/before.ls"
cat >"$T_DIR/bad1.yaml" <<'EOY'
hooks:
- name: x
  pre:
  - command: [true]
    onError: Fail
EOY
t_exit 64 "an unknown key in the hooks file exits 64" "$KAHU" backup create bad1 --hooks "$T_DIR/bad1.yaml"
t_grep "it names the file and line" "bad1.yaml:5: unknown key \"onError\" in an exec hook" "$T_ERR"
cat >"$T_DIR/bad2.yaml" <<'EOY'
hooks:
- name: wrong-container
  namespaces: [hk]
  pre:
  - container: postgres
    command: [true]
EOY
t_exit 64 "a container that no selected pod has exits 64" "$KAHU" backup create bad2 --include-namespaces hk --hooks "$T_DIR/bad2.yaml"
t_grep "it lists the pod's containers and their states" 'pre hook wrong-container \(.*bad2.yaml:5\): pod hk/kahu has no container "postgres" \(its containers: app \(running\), side \(running\)\)' "$T_ERR"
pod badjson hk '{app: b}' '{pre.hook.backup.kahu.io/command: "[\"sh\", "}' >"$T_DIR/badjson.yaml"
t_ok "a pod whose hook command is not JSON" k apply -f "$T_DIR/badjson.yaml"
t_exit 64 "an invalid command annotation exits 64" "$KAHU" backup create bad3 --include-namespaces hk
t_grep "it names the pod and the annotation" 'pod hk/badjson: annotation pre.hook.backup.kahu.io/command: invalid command' "$T_ERR"
k delete -n hk pod badjson >/dev/null 2>&1
pod badonerr hk '{app: b}' '{pre.hook.backup.kahu.io/command: "[\"true\"]", pre.hook.backup.kahu.io/on-error: Retry}' >"$T_DIR/badonerr.yaml"
t_ok "a pod whose hook has an unknown on-error value" k apply -f "$T_DIR/badonerr.yaml"
t_exit 64 "an unknown on-error value exits 64" "$KAHU" backup create bad4 --include-namespaces hk
t_grep "it names the pod, the annotation and the values allowed" \
	'pod hk/badonerr: annotation pre.hook.backup.kahu.io/on-error: unknown on-error value "Retry" \(Fail or Continue\)' "$T_ERR"
k delete -n hk pod badonerr >/dev/null 2>&1
pod badtime hk '{app: b}' '{post.hook.backup.velero.io/command: "[\"true\"]", post.hook.backup.velero.io/timeout: soon}' >"$T_DIR/badtime.yaml"
t_ok "a pod whose Velero hook has a bad timeout" k apply -f "$T_DIR/badtime.yaml"
t_exit 64 "a bad duration exits 64" "$KAHU" backup create bad5 --include-namespaces hk
t_grep "it names the pod, the annotation and the value" \
	'pod hk/badtime: annotation post.hook.backup.velero.io/timeout: invalid duration "soon"' "$T_ERR"
k delete -n hk pod badtime >/dev/null 2>&1
ls "$LOC/backups" >"$T_DIR/after.ls"
t_ok "nothing was written by the refused runs" cmp "$T_DIR/before.ls" "$T_DIR/after.ls"

# ---- restore: init containers in the restored specs, exec hooks once the pod runs ----
{
	echo "apiVersion: v1"
	echo "kind: Namespace"
	echo "metadata: {name: hr}"
	pod rp hr '{app: r}' "{post.hook.restore.kahu.io/command: '[\"sh\", \"-c\", \"echo restored >> /m/r\"]',
    post.hook.restore.kahu.io/container: side,
    init.hook.restore.velero.io/container-image: 'busybox:1.36',
    init.hook.restore.velero.io/container-name: warmup,
    init.hook.restore.velero.io/command: '[\"true\"]'}"
	cat <<'EOY'
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: hr}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: debian:12}]
EOY
} >"$T_DIR/restore.yaml"
t_ok "a pod with restore hook annotations and a deployment" k apply -f "$T_DIR/restore.yaml"
t_ok "the pod runs" wait_running hr rp
cat >"$T_DIR/rhooks.yaml" <<'EOY'
hooks:
- name: prep
  namespaces: [hr]
  resources: [deployments]
  init:
  - name: prep
    image: busybox:1.36
    command: [sh, -c, 'echo prepared']
- name: check
  namespaces: [hr]
  selector: app=r
  restore-post:
  - command: [sh, -c, 'echo not yet >&2; exit 4']
    on-error: Continue
    wait-timeout: 1m
local:
  before:
  - command: [sh, -c, 'echo "$KAHU_PHASE $KAHU_OPERATION $KAHU_RESTORE_NAME $KAHU_BACKUP_NAME $KAHU_STATUS" >> "$MARKS/rlocal"']
  after:
  - command: [sh, -c, 'echo "$KAHU_PHASE $KAHU_OPERATION $KAHU_RESTORE_NAME $KAHU_BACKUP_NAME $KAHU_STATUS" >> "$MARKS/rlocal"']
EOY
t_ok "backup of the namespace" "$KAHU" backup create b4 --include-namespaces hr
t_ok "the namespace is deleted" k delete namespace hr
export MARKS=$MARK
# The restored pod is Pending for a few seconds: its exec hooks wait for it to run.
t_ok "pods start after 3s from now" delay 3
t_ok "restore with hooks" "$KAHU" restore create r4 --from-backup b4 --hooks "$T_DIR/rhooks.yaml" -o json
cp "$T_OUT" "$T_DIR/r4.json"
t_ok "pods start at once again" delay 0
t_pyin "the restore hooks' outcomes are in the result" "$T_DIR/r4.json" <<'PY'
h = d["hooks"]
assert [(x["when"], x.get("pod"), x.get("container"), x["status"], x["exitCode"]) for x in h] == [
    ("before", None, None, "Succeeded", 0),
    ("restore-post", "rp", "side", "Succeeded", 0),
    ("restore-post", "rp", "app", "Warning", 4),
    ("after", None, None, "Succeeded", 0)], h
h = h[1:]
assert h[1]["stderr"] == "not yet", h
assert d["status"] == "Completed", d
PY
t_ok "the local restore hooks saw the run" test "$(cat "$MARK/rlocal")" = "before restore r4 b4 InProgress
after restore r4 b4 Completed"
t_ok "the restore exec hook ran in the restored pod" test "$(k exec -n hr rp -c side -- cat /m/r)" = restored
t_ok "the restored pod" k get pod -n hr rp -o json
cp "$T_OUT" "$T_DIR/rp.json"
t_pyin "its spec has the init container of its annotations, first" "$T_DIR/rp.json" <<'PY'
c = d["spec"]["initContainers"][0]
assert c == {"name": "warmup", "image": "busybox:1.36", "command": ["true"]} or \
    {k: c[k] for k in ("name", "image", "command")} == {"name": "warmup", "image": "busybox:1.36", "command": ["true"]}, c
PY
t_ok "the restored deployment" k get deployment -n hr web -o json
cp "$T_OUT" "$T_DIR/web.json"
t_pyin "its pod template has the hooks file's init container" "$T_DIR/web.json" <<'PY'
c = d["spec"]["template"]["spec"]["initContainers"][0]
assert c["name"] == "prep" and c["image"] == "busybox:1.36" and c["command"] == ["sh", "-c", "echo prepared"], c
PY
t_ok "restore describe r4 --details" "$KAHU" restore describe r4 --details
t_grep "describe lists the restore hooks" '^  restore-post annotation in hr/rp container side: sh -c echo restored >> /m/r: Succeeded' "$T_OUT"
t_nogrep "the plain restore.json (readable without the key) has no hook commands" 'echo restored' "$LOC/restores/r4/restore.json"
# The local after hook ran once restore.json (the commit point) was written: its outcome
# is kept beside it, and shown by later invocations.
t_ok "r4's after hooks are stored beside its record, sealed" test -f "$LOC/restores/r4/after-hooks.json.zst.kenc"
t_ok "restore describe r4 (no --details)" "$KAHU" restore describe r4
t_grep "it shows the exec hooks' outcomes too" '^  restore-post annotation in hr/rp container side: sh -c echo restored >> /m/r: Succeeded \([0-9]+ ms\)' "$T_OUT"
t_grep "and the one that failed under Continue, with its exit code and stderr" \
	'^  restore-post check in hr/rp container app: sh -c echo not yet >&2; exit 4: Warning \([0-9]+ ms\): .*exit code 4.*; stderr: not yet' "$T_OUT"
t_grep "describe r4 shows the after hook, kept beside the record" \
	'^After hooks \(run once the restore was recorded, kept beside it\): 1 \(0 failed' "$T_OUT"
t_grep "with its command and outcome" '^  after sh: sh -c echo "\$KAHU_PHASE .*: Succeeded \([0-9]+ ms\)' "$T_OUT"
t_ok "restore logs r4" "$KAHU" restore logs r4
cp "$T_OUT" "$T_DIR/r4.log"
t_grep "the stored log has the exec hooks' outcomes" \
	'restore-post hook annotation in pod hr/rp container side: sh -c echo restored >> /m/r exited 0 after' "$T_DIR/r4.log"
t_grep "and the local before hook's" 'before hook sh: sh -c echo .* exited 0 after' "$T_DIR/r4.log"
tail -n 1 "$T_DIR/r4.log" >"$T_DIR/r4.last"
t_pyin "the log ends with the after hook's outcome, marked as run after the commit" "$T_DIR/r4.last" <<'PY'
assert d["afterCommit"] is True and d["level"] == "info" and d["hook"]["when"] == "after", d
assert d["hook"]["exitCode"] == 0 and "exited 0 after" in d["msg"], d
PY
cat >"$T_DIR/rafter.yaml" <<'EOY'
local:
  after:
  - name: notify-down
    command: [sh, -c, 'echo notify down >&2; exit 5']
EOY
t_ok "a restore whose after hook fails exits 0" "$KAHU" restore create r5 --from-backup b4 \
	--hooks "$T_DIR/rafter.yaml"
cp "$T_ERR" "$T_DIR/r5.err"
t_grep "stderr has the after hook's failure" 'after hook notify-down failed \(on-error Fail\).*exit code 5; stderr: notify down' "$T_DIR/r5.err"
t_ok "r5's after hooks are stored beside its record" test -f "$LOC/restores/r5/after-hooks.json.zst.kenc"
t_nogrep "the plain restore.json has no hook commands" 'notify down' "$LOC/restores/r5/restore.json"
t_ok "restore describe r5 -o json (a second invocation)" "$KAHU" restore describe r5 -o json
t_pyin "it has the after hook's outcome under afterHooks: exit code, stderr tail, duration" "$T_OUT" <<'PY'
a = d["afterHooks"]
assert len(a) == 1, a
h = a[0]
assert h["when"] == "after" and h["hook"] == "notify-down" and h["status"] == "Failed", h
assert h["exitCode"] == 5 and h["stderr"] == "notify down" and isinstance(h["durationMs"], int), h
assert h["command"] == "sh -c echo notify down >&2; exit 5", h
assert "afterHooksError" not in d and d["status"] == "Completed", d
assert not [x for x in d.get("hooks", []) if x["when"] == "after"], d.get("hooks")
PY
t_ok "restore describe r5" "$KAHU" restore describe r5
t_grep "describe shows the failed after hook" \
	'^  after notify-down: sh -c echo notify down >&2; exit 5: Failed \([0-9]+ ms\): exit code 5; stderr: notify down' "$T_OUT"
t_grep "the status is the one recorded" '^Status: +Completed' "$T_OUT"
t_ok "restore logs r5" "$KAHU" restore logs r5
tail -n 1 "$T_OUT" >"$T_DIR/r5.last"
t_pyin "the log ends with the failed after hook, marked as run after the commit" "$T_DIR/r5.last" <<'PY'
assert d["afterCommit"] is True and d["level"] == "warn", d
h = d["hook"]
assert h["exitCode"] == 5 and h["stderr"] == "notify down" and h["when"] == "after", h
assert "after hook notify-down failed (on-error Fail)" in d["msg"], d
PY
# Another restore's object moved in (the envelope binds it to its path), a truncated one:
# refused with a warning, the rest still shows, exit 0.
cp "$LOC/restores/r5/after-hooks.json.zst.kenc" "$T_DIR/r5-after.kenc"
cp "$LOC/restores/r4/after-hooks.json.zst.kenc" "$LOC/restores/r5/after-hooks.json.zst.kenc"
t_ok "describe r5 with r4's object exits 0" "$KAHU" restore describe r5
t_nogrep "r4's after hook is not shown as r5's" 'KAHU_PHASE' "$T_OUT"
t_grep "it says why after hooks are not shown" '^After hooks: +not shown: .*restores/r5/after-hooks.json.zst.kenc' "$T_OUT"
t_grep "and warns" 'warning: restore r5: the outcome of its after hooks is not shown: ' "$T_ERR"
t_grep "the rest still shows" '^Status: +Completed' "$T_OUT"
t_ok "logs r5 with r4's object exits 0" "$KAHU" restore logs r5
t_nogrep "the log has none of r4's after hooks" 'KAHU_PHASE|afterCommit' "$T_OUT"
t_grep "and warns" 'the outcome of its after hooks is not shown' "$T_ERR"
head -c 40 "$T_DIR/r5-after.kenc" >"$LOC/restores/r5/after-hooks.json.zst.kenc"
t_ok "describe r5 -o json with a truncated object" "$KAHU" restore describe r5 -o json
t_pyin "afterHooksError says why, the rest is there" "$T_OUT" <<'PY'
assert "afterHooks" not in d and "after-hooks.json.zst.kenc" in d["afterHooksError"], d.get("afterHooksError")
assert d["status"] == "Completed" and "items" in d, d
PY

# ---- examples/hooks: every file is accepted; notify.yaml posts to a local server ----
for f in "$top_srcdir"/examples/hooks/*.yaml; do
	t_ok "examples/hooks/$(basename "$f") is accepted" "$KAHU" backup create "ex-$(basename "$f" .yaml)" \
		--include-namespaces hk --dry-run --hooks "$f"
done
if command -v curl >/dev/null 2>&1; then
	cat >"$T_DIR/sink.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        with open(sys.argv[1], "ab") as f:
            f.write(self.rfile.read(n) + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(s.server_port))
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()
PY
	"$PYTHON" "$T_DIR/sink.py" "$T_DIR/posts" "$T_DIR/port" &
	sink=$!
	T_CLEANUP+=("kill $sink")
	while [ ! -s "$T_DIR/port" ] && kill -0 "$sink" 2>/dev/null; do sleep 0.1; done
	export KAHU_NOTIFY_URL="http://127.0.0.1:$(cat "$T_DIR/port")/hook"
	t_ok "backup with examples/hooks/notify.yaml" "$KAHU" backup create b5 --include-namespaces hk \
		--hooks "$top_srcdir/examples/hooks/notify.yaml"
	t_ok "the notifications arrived, before and after" test "$(cat "$T_DIR/posts")" = \
'{"operation":"backup","backup":"b5","location":"default","phase":"before","status":"InProgress"}
{"operation":"backup","backup":"b5","location":"default","phase":"after","status":"Completed"}'
	kill "$sink"
else
	t_skip "examples/hooks/notify.yaml" "curl is not installed"
fi

t_done

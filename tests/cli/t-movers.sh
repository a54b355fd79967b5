#!/usr/bin/env bash
# --data-mover cluster: the volume data moved by Jobs on the volumes' nodes straight to an
# S3 location (s3rver behind the verifying proxy), the coordinator on this machine.
# 20 claims with data over 3 test nodes: a backup, byte-exact restores into other
# namespaces, the coordinator's traffic from the API server (counted by the test cluster
# per user) far below the data's size while the exec path's is above it; at most
# --movers-per-node running per node (from the pods' watch events, in the server's
# order); a mover failing once (retried), always (PartiallyFailed with the reason),
# evicted; SIGINT and SIGKILL of the coordinator (the next run removes what the killed
# one left); the key and the S3 secret in no Job, pod, ConfigMap, log or argv;
# an incremental backup moving only what changed; flag errors.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cli/vollib.sh"
. "$top_srcdir/tests/s3/s3.sh"

KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
	t_skip "data movers" "kubectl is not installed"; t_done; exit $?
fi
if [ "$(id -u)" -ne 0 ]; then
	t_skip "data movers" "running pods needs root (mount namespaces)"; t_done; exit $?
fi
s3_available
if [ $? -ne 0 ]; then
	t_skip "data movers" "$S3_MISSING"; t_done; exit $?
fi
s3_start || { t_result 1 "s3rver and the verifying proxy start"; t_done; exit 1; }

# ---- the cluster: 20 claims in two namespaces, a pod mounting some of them ----
{
	for ns in m1 m2 one csi; do printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n---\n' "$ns"; done
	for i in $(seq 1 20); do
		ns=m$(( (i - 1) / 10 + 1 ))
		cat <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c$i, namespace: $ns}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
---
EOF
	done
	cat <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: snap, namespace: csi}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: solo, namespace: one}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: app-0, namespace: m1}
spec:
  containers:
  - {name: app, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /data}]}
  volumes:
  - {name: d, persistentVolumeClaim: {claimName: c1}}
EOF
} >"$T_DIR/seed.yaml"
vol_setup
vol_cluster main "$T_DIR/seed.yaml" --nodes 3
k() { "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
kh() { "$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
CFG=$XDG_CONFIG_HOME/kahu/config.json
cat >"$CFG" <<EOF
{"version": 1, "defaultLocation": "s3",
 "locations": {"s3": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                                  "region": "eu-west-3", "prefix": "mv"}},
               "default": {"provider": "fs", "config": {"path": "$LOC"}}}}
EOF
chmod 600 "$CFG"

# 2 MiB in 40 files over nested directories, a symlink, an empty directory, per claim
fill() { # DIR SEED
	"$PYTHON" - "$1" "$2" <<'PY'
import os, random, sys
d, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
for i in range(40):
    sub = os.path.join(d, "dir%d" % (i % 4), "sub%d" % (i % 3))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%02d.bin" % i), "wb") as f:
        f.write(r.randbytes(r.randint(40000, 64000)))
os.makedirs(os.path.join(d, "empty"), exist_ok=True)
if not os.path.lexists(os.path.join(d, "link")):
    os.symlink("dir0/sub0/f00.bin", os.path.join(d, "link"))
PY
}
content() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; } # DIR: file bytes
declare -A DIR
total=0
for i in $(seq 1 20); do
	ns=m$(( (i - 1) / 10 + 1 ))
	DIR[$i]=$(vol_dir main "$ns" "c$i")
	fill "${DIR[$i]}" "$i"
	total=$((total + $(content "${DIR[$i]}")))
done
SOLO=$(vol_dir main one solo)
fill "$SOLO" 99
SNAP=$(vol_dir main csi snap)
fill "$SNAP" 98
t_ok "20 claims filled with $total bytes" test "$total" -gt $((20 * 1900000))
nodes=$(k get pv -o json | "$PYTHON" -c 'import json,sys
print(len({p["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0] for p in json.load(sys.stdin)["items"]}))')
t_ok "their volumes are on 3 nodes" test "$nodes" = 3

leftovers() { # nothing kahu made is left (the kubectl view of the issue)
	[ -z "$(k get jobs,secrets,sa,pods,pvc -A -l app.kubernetes.io/managed-by=kahu -o name 2>&1)" ]
}

# ---- flags ----
t_exit 64 "--data-mover bogus is a usage error (64)" kh backup create x0 --data-mover bogus
t_grep "  naming the flag and the choices" '--data-mover: "bogus" is not local or cluster' "$T_ERR"
t_exit 64 "--movers-per-node without --data-mover cluster (64)" kh backup create x0 --movers-per-node 3
t_exit 64 "--movers-per-node 0 (64)" kh backup create x0 --data-mover cluster --movers-per-node 0
t_grep "  says the range" 'between 1 and 64' "$T_ERR"
t_exit 64 "--mover-timeout 1s (64)" kh backup create x0 --data-mover cluster --mover-timeout 1s
t_exit 64 "--mover-retries x (64)" kh backup create x0 --data-mover cluster --mover-retries x
t_exit 64 "--mover-secret with a bad name (64)" kh backup create x0 --data-mover cluster --mover-secret Bad_Name
t_exit 64 "--data-mover cluster with --volume-data none (64)" kh backup create x0 --data-mover cluster --volume-data none
t_exit 64 "restore create --data-mover bogus (64)" kh restore create x0 --from-backup nope --data-mover bogus
t_exit 64 "--data-mover cluster to an fs location the cluster cannot reach (64)" \
	kh backup create x0 --location default --include-namespaces one --volume-data fs --data-mover cluster
t_grep "  says why" 'data-mover cluster' "$T_ERR"
t_exit 64 "  also with --mover-secret (64)" kh backup create x0 --location default --include-namespaces one \
	--volume-data fs --data-mover cluster --mover-secret my-bundle
t_ok "  nothing was written" test -z "$(find "$LOC" -name 'x0*' 2>/dev/null)"
t_ok "  nothing was made in the cluster" leftovers

# ---- the exec path, for the traffic comparison ----
user_bytes() { cluster_admin GET /_admin/stats | "$PYTHON" -c 'import json,sys
print(sum(json.load(sys.stdin)["bytes_out_by_user"].values()))'; }
cluster_admin POST /_admin/stats/reset >/dev/null
t_ok "backup b0 --data-mover local of m1" kh backup create b0 --include-namespaces m1 --volume-data fs
local_bytes=$(user_bytes)
half=0; for i in $(seq 1 10); do half=$((half + $(content "${DIR[$i]}"))); done
t_ok "  the exec path: kahu received more than the data ($local_bytes > $half bytes)" test "$local_bytes" -gt "$half"

# ---- the backup through movers, watched ----
watch_open() { [ "$(cluster_admin GET /_admin/watch | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["active"])')" -ge 1 ]; }
k get pods -A -l kahu.io/purpose=volume-mover -w --output-watch-events -o json >"$T_DIR/watch1.json" 2>/dev/null &
W=$!
T_CLEANUP+=("kill $W")
t_ok "a watch of the movers' pods is open" vol_wait_for 60 watch_open
cluster_admin POST /_admin/stats/reset >/dev/null
t_ok "backup b1 --data-mover cluster of 20 claims" \
	kh backup create b1 --include-namespaces m1,m2 --volume-data fs --data-mover cluster --movers-per-node 1 -v
cp "$T_ERR" "$T_DIR/b1.log"
mover_bytes=$(user_bytes)
t_ok "  the coordinator received $mover_bytes bytes from the API server, < 1/10 of the $total bytes of data" \
	test "$mover_bytes" -lt $((total / 10))
t_grep "  one poller: its rounds are logged" 'poll rounds? for the run' "$T_DIR/b1.log"
t_ok "backup describe b1 -o json" kh backup describe b1 -o json
cp "$T_OUT" "$T_DIR/b1.json"
t_py "  every volume Completed by a mover, with its files counted" '
vs = [v for v in d["volumes"] if v["namespace"] in ("m1", "m2")]
assert len(vs) == 20, len(vs)
for v in vs:
    assert v["status"] == "Completed" and v["method"] == "mover", v
    assert v["counts"]["files"] == 40 and v["counts"]["bytesRead"] > 1900000, v' "$T_DIR/b1.json"
t_ok "  nothing of the run is left in the cluster" leftovers
t_ok "backup verify b1" kh backup verify b1
s3_client kahu get mv/backups/b1/backup.json >"$T_DIR/b1.manifest" 2>"$T_ERR"
t_py "  its manifest is format 3 (volume data): the movers bound the volume objects to the run, no hash" '
assert d["format"] == 3 and len(d["run"]) == 32, d.get("format")
vol = [o for o in d["objects"] if o["path"].startswith("volumes/")]
assert len(vol) >= 40 and all("blake2b" not in o for o in vol), vol[:3]' "$T_DIR/b1.manifest"
kill $W 2>/dev/null; wait $W 2>/dev/null
# at most N running per node: the pods' phases in the order the server changed them
per_node_max() { # WATCHFILE
	"$PYTHON" - "$1" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
dec, i, ev = json.JSONDecoder(), 0, []
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    o, i = dec.raw_decode(text, i)
    ev.append(o)
state, running, peak, nodes = {}, {}, {}, set()
for e in sorted(ev, key=lambda e: int(e["object"]["metadata"]["resourceVersion"])):
    p = e["object"]
    name = p["metadata"]["name"]
    node = p["spec"].get("nodeName", "")
    ph = "Deleted" if e["type"] == "DELETED" else p.get("status", {}).get("phase")
    was = state.get(name)
    now = ph == "Running"
    if now and was != "Running":
        running[node] = running.get(node, 0) + 1
        peak[node] = max(peak.get(node, 0), running[node])
        nodes.add(node)
    elif was == "Running" and not now:
        running[node] -= 1
    state[name] = ph
print(max(peak.values() or [0]), len(nodes), len(state))
PY
}
read -r peak nn npods < <(per_node_max "$T_DIR/watch1.json")
t_ok "  --movers-per-node 1: at most 1 mover running per node (peak $peak, $npods pods on $nn nodes)" test "$peak" = 1
t_ok "  the movers ran on the 3 nodes of the volumes" test "$nn" = 3

# ---- restore into other namespaces, byte-exact ----
t_ok "restore r1 --data-mover cluster into n1, n2" \
	kh restore create r1 --from-backup b1 --namespace-mappings m1:n1,m2:n2 --data-mover cluster
ok=0
for i in $(seq 1 20); do
	ns=n$(( (i - 1) / 10 + 1 ))
	d=$(vol_dir main "$ns" "c$i")
	if [ -z "$d" ] || ! vol_same "${DIR[$i]}" "$d" >/dev/null; then echo "# claim $ns/c$i differs"; ok=1; fi
done
t_result $ok "  the 20 restored claims are byte-exact (owners, modes, times, links)"
t_ok "restore describe r1 -o json" kh restore describe r1 -o json
t_grep "  says mover" '"method": *"mover"' "$T_OUT"
t_ok "  nothing of the restore is left in the cluster" leftovers

# ---- --movers-per-node 3 ----
k get pods -A -l kahu.io/purpose=volume-mover -w --output-watch-events -o json >"$T_DIR/watch2.json" 2>/dev/null &
W=$!
T_CLEANUP+=("kill $W")
t_ok "a watch of the movers' pods is open" vol_wait_for 60 watch_open
t_ok "backup b2 --movers-per-node 3" \
	kh backup create b2 --include-namespaces m1,m2 --volume-data fs --data-mover cluster --movers-per-node 3
kill $W 2>/dev/null; wait $W 2>/dev/null
read -r peak nn npods < <(per_node_max "$T_DIR/watch2.json")
t_ok "  at most 3 movers running per node (peak $peak)" test "$peak" -le 3

# ---- incremental: only what changed is moved ----
printf 'changed\n' >>"${DIR[5]}/dir0/sub0/f00.bin"
t_ok "backup b3 --incremental --parent b1 --data-mover cluster" \
	kh backup create b3 --include-namespaces m1,m2 --volume-data fs --data-mover cluster --incremental --parent b1
t_ok "backup describe b3 -o json" kh backup describe b3 -o json
cp "$T_OUT" "$T_DIR/b3.json"
t_py "  only m1/c5 moved bytes (bytesTransferred), the others none" '
for v in d["volumes"]:
    if v["namespace"] not in ("m1", "m2"): continue
    bi = v["counts"]["bytesTransferred"]
    if v["pvc"] == "c5":
        assert bi > 0, v
    else:
        assert bi == 0, v' "$T_DIR/b3.json"
t_ok "restore r3 of the incremental into n3 (c5 only)" \
	kh restore create r3 --from-backup b3 --namespace-mappings m1:n3 --include-namespaces m1 --data-mover cluster
t_ok "  c5 restored byte-exact with its change" vol_same "${DIR[5]}" "$(vol_dir main n3 c5)"

# ---- a CSI volume: its snapshot's files moved from a temporary claim ----
t_ok "backup c1 --volume-data csi --data-mover cluster" \
	kh backup create c1 --include-namespaces csi --volume-data csi --data-mover cluster
kh backup describe c1 -o json >"$T_DIR/c1.json"
vol_check "$T_DIR/c1.json" csi/snap method csi+mover
vol_check "$T_DIR/c1.json" csi/snap status Completed
t_ok "  nothing left: the snapshot, the temporary claim, the Job" leftovers
t_ok "  no VolumeSnapshot left" test -z "$(k get volumesnapshots -A -o name)"
t_ok "restore rc1 into csi2" kh restore create rc1 --from-backup c1 --namespace-mappings csi:csi2 --data-mover cluster
t_ok "  byte-exact" vol_same "$SNAP" "$(vol_dir main csi2 snap)"

# ---- --mover-secret: the user's own bundle Secret ----
t_exit 2 "backup ms1 --mover-secret of a Secret that is not there: PartiallyFailed (2)" \
	kh backup create ms1 --include-namespaces one --volume-data fs --data-mover cluster --mover-secret my-bundle
kh backup describe ms1 -o json >"$T_DIR/ms1.json"
t_grep "  the reason names the Secret and the namespace" 'Secret my-bundle is not in namespace one' "$T_DIR/ms1.json"
t_ok "kahu mover bundle writes the location's bundle" "$KAHU" mover bundle "$T_DIR/bundle"
t_ok "kubectl create secret generic my-bundle --from-file" \
	k create secret generic my-bundle -n one --from-file="$T_DIR/bundle"
t_ok "backup ms2 --mover-secret my-bundle" \
	kh backup create ms2 --include-namespaces one --volume-data fs --data-mover cluster --mover-secret my-bundle
kh backup describe ms2 -o json >"$T_DIR/ms2.json"
vol_check "$T_DIR/ms2.json" one/solo method mover
t_ok "  no Secret of kahu's was made" test -z "$(k get secrets -A -l app.kubernetes.io/managed-by=kahu -o name)"
t_ok "  the user's Secret is left" k get secret my-bundle -n one
k delete secret my-bundle -n one >/dev/null 2>&1
rm -rf "$T_DIR/bundle"

# ---- a plan whose volumes go through cluster movers: plan run uses them ----
t_ok "plan create pm --data-mover cluster --movers-per-node 1" \
	kh plan create pm --include-namespaces one --volume-data fs --data-mover cluster --movers-per-node 1
kh plan describe pm -o json >"$T_DIR/pmplan.json" 2>&1
t_grep "  plan describe shows the cluster mover" '"type": *"cluster"' "$T_DIR/pmplan.json"
t_ok "plan run pm" kh plan run pm
pmb=$(kh backup list -o name 2>"$T_ERR" | sed 's#^.*/##' | grep '^pm-')
t_ok "  it made one backup pm-… ($pmb)" test "$(echo $pmb | wc -w)" = 1
kh backup describe "$pmb" -o json >"$T_DIR/pm.json"
vol_check "$T_DIR/pm.json" one/solo method mover
vol_check "$T_DIR/pm.json" one/solo status Completed
t_ok "  nothing of the plan's run is left in the cluster" leftovers

# ---- a mover failing once: retried ----
cluster_admin POST /_admin/faults '[{"action":"pod-fail","match":{"namespace":"one"},"times":1,"exit_code":1,"message":"injected once"}]' >/dev/null
t_ok "backup f1: the first mover fails, its retry succeeds" \
	kh backup create f1 --include-namespaces one --volume-data fs --data-mover cluster
t_grep "  the failed attempt is reported with the pod's reason" 'attempt 1 of 3 failed: Error \(exit code 1\): injected once' "$T_ERR"
kh backup describe f1 -o json >"$T_DIR/f1.json"
vol_check "$T_DIR/f1.json" one/solo status Completed
cluster_admin DELETE /_admin/faults >/dev/null

# ---- evicted: retried ----
cluster_admin POST /_admin/faults '[{"action":"pod-evict","match":{"namespace":"one"},"times":1,"message":"the node ran low on disk"}]' >/dev/null
t_ok "backup f2: the first mover is evicted, its retry succeeds" \
	kh backup create f2 --include-namespaces one --volume-data fs --data-mover cluster
t_grep "  the eviction is reported" 'Evicted: the node ran low on disk' "$T_ERR"
cluster_admin DELETE /_admin/faults >/dev/null

# ---- always failing: PartiallyFailed with the reason ----
cluster_admin POST /_admin/faults '[{"action":"pod-fail","match":{"namespace":"one"},"exit_code":3,"message":"injected always"}]' >/dev/null
t_exit 2 "backup f3: every attempt fails: PartiallyFailed (2)" \
	kh backup create f3 --include-namespaces one --volume-data fs --data-mover cluster --mover-retries 1
t_grep "  the message says so" 'PartiallyFailed' "$T_ERR"
t_ok "backup describe f3" kh backup describe f3
t_grep "  describe shows the pod's reason" 'injected always' "$T_OUT"
kh backup describe f3 -o json >"$T_DIR/f3.json"
vol_check "$T_DIR/f3.json" one/solo status Failed
t_nogrep "  no object of the failed volume is left on the location" 'f3/volumes/' \
	"$(find "$T_DIR/s3-data" -path '*f3*' >"$T_DIR/f3.objs"; echo "$T_DIR/f3.objs")"
t_ok "  nothing left in the cluster" leftovers
cluster_admin DELETE /_admin/faults >/dev/null

# ---- SIGINT and SIGKILL of the coordinator ----
jobs_exist() { [ -n "$(k get jobs -A -l kahu.io/purpose=volume-mover -o name 2>/dev/null)" ]; }
cluster_admin POST /_admin/pod-start-delay '{"seconds": 3600}' >/dev/null
"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" backup create s1 --include-namespaces m2 --volume-data fs --data-mover cluster >"$T_DIR/s1.out" 2>"$T_DIR/s1.err" &
P=$!
t_ok "backup s1 started, its mover Jobs created" vol_wait_for 120 jobs_exist
kill -INT $P
wait $P
t_ok "  SIGINT: exit 130" test $? = 130
t_ok "  SIGINT: its Jobs, pods, Secrets and ServiceAccounts removed" leftovers

"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" backup create s2 --include-namespaces m2 --volume-data fs --data-mover cluster -v >"$T_DIR/s2.out" 2>"$T_DIR/s2.err" &
P=$!
t_ok "backup s2 started, its mover Jobs created" vol_wait_for 120 jobs_exist
k get jobs,pods -A -l app.kubernetes.io/managed-by=kahu -o yaml >"$T_DIR/live.yaml"
k get configmaps -A -o yaml >>"$T_DIR/live.yaml"
k logs -n m2 -l kahu.io/purpose=volume-mover >>"$T_DIR/live.yaml" 2>&1
kill -KILL $P
wait $P 2>/dev/null
t_ok "  SIGKILL: its Jobs are left behind" jobs_exist
t_ok "  and its Secret" test -n "$(k get secrets -n m2 -l kahu.io/purpose=volume-mover -o name)"
cluster_admin POST /_admin/pod-start-delay '{"seconds": 0}' >/dev/null
t_ok "backup s3: the next run" kh backup create s3 --include-namespaces m2 --volume-data fs --data-mover cluster
t_grep "  removes what the killed run left" 'data mover objects? \(Jobs, Secrets, ServiceAccounts\)' "$T_ERR"
t_ok "  nothing left: kubectl get jobs,secrets,sa -A -l app.kubernetes.io/managed-by=kahu" leftovers

# ---- secrets never show ----
keytext=$(cat "$KAHU_KEY_FILE")
secret_free() { # FILE...: neither the key nor the S3 secret
	! grep -qF -- "$S3_SECRET" "$@" && ! grep -qF -- "$keytext" "$@"
}
t_ok "the key and the S3 secret are in no Job, pod or ConfigMap (kubectl get -o yaml) nor mover log" \
	secret_free "$T_DIR/live.yaml"
t_ok "  nor in the Jobs' argv" secret_free <(k get jobs -A -o json)
t_ok "  nor in kahu's output and logs" secret_free "$T_DIR/b1.log" "$T_DIR/s2.err" "$T_DIR/s2.out" "$T_DIR/s1.err"
t_ok "  nor in the stored log" sh -c "\"$KAHU\" --kubeconfig \"$CLUSTER_KUBECONFIG\" backup logs b1 >\"$T_DIR/b1.stored\""
t_ok "  (the stored log)" secret_free "$T_DIR/b1.stored"

t_done

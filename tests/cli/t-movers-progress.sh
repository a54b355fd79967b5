#!/usr/bin/env bash
# --data-mover cluster, live progress: the coordinator reads the tail of each running
# mover's log (pods/log with tailLines and limitBytes) and shows the volume advancing.
# A mover is stopped by the test cluster right after its first progress line (a pod-env
# fault sets the mover's test knob; the mover stops itself, /_admin/signal resumes it),
# so what the coordinator's -v log shows mid-way is seen while the mover cannot have
# finished: no timing is asserted.  The same on a terminal (script(1)).  A mover stopped
# past --mover-timeout is ended by its Job's deadline and the volume tried again.  Also: a backup
# neither on a terminal nor -v reads no log; user limited without get on pods/log: one warning, the backup succeeds; a
# restore's mover likewise; the test cluster's tailLines and limitBytes as the API's.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cli/vollib.sh"
. "$top_srcdir/tests/s3/s3.sh"

if [ "$(id -u)" -ne 0 ]; then
	t_skip "data movers' progress" "running pods needs root (mount namespaces)"; t_done; exit $?
fi
s3_available
if [ $? -ne 0 ]; then
	t_skip "data movers' progress" "$S3_MISSING"; t_done; exit $?
fi
s3_start || { t_result 1 "s3rver and the verifying proxy start"; t_done; exit 1; }

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: p1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: p1}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
EOF
vol_setup
# user limited may not get pods/log (and may do the rest a backup with movers does)
vol_cluster main "$T_DIR/seed.yaml" --forbid pods/log
kh() { "$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
CFG=$XDG_CONFIG_HOME/kahu/config.json
cat >"$CFG" <<EOF
{"version": 1, "defaultLocation": "s3",
 "locations": {"s3": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                                  "region": "eu-west-3", "prefix": "mp"}}}}
EOF
chmod 600 "$CFG"

DATA=$(vol_dir main p1 data)
"$PYTHON" - "$DATA" <<'PY'
import os, random, sys
d = sys.argv[1]
r = random.Random(7)
for i in range(30):
    sub = os.path.join(d, "dir%d" % (i % 3))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%02d.bin" % i), "wb") as f:
        f.write(r.randbytes(r.randint(20000, 40000)))
PY

log_reads() { # pods/log GETs the server has answered so far
	cluster_admin GET stats | "$PYTHON" -c 'import json, sys
s = json.load(sys.stdin).get("by_path", {})
print(sum(v for k, v in s.items() if k.endswith("/pods/{name}/log")))'
}
mover_pod() { # NS: the name of the mover pod there
	cluster_admin GET "dump?namespace=$1" | "$PYTHON" -c 'import json, sys
for o in json.load(sys.stdin)["items"]:
    if o.get("kind") == "Pod" and (o["metadata"].get("labels") or {}).get("kahu.io/purpose") == "volume-mover":
        print(o["metadata"]["name"])'
}
stop_movers_in() { # NS: the next mover there stops after its first progress line
	cluster_admin POST faults "[{\"action\":\"pod-env\",\"match\":{\"namespace\":\"$1\",\"labels\":{\"kahu.io/purpose\":\"volume-mover\"}},\"times\":1,\"env\":{\"KAHU_TEST_MOVER_STOP\":\"1\"}}]" >/dev/null
}
resume() { # NS
	local pod; pod=$(mover_pod "$1")
	cluster_admin POST signal "{\"namespace\":\"$1\",\"pod\":\"$pod\",\"signal\":\"CONT\"}" >/dev/null
}
running() { kill -0 "$1" 2>/dev/null; }

# ---- neither a terminal nor -v: no log is read ----
before=$(log_reads)
t_ok "backup q1 --data-mover cluster, not on a terminal, without -v" \
	kh backup create q1 --include-namespaces p1 --volume-data fs --data-mover cluster
t_ok "  reads no mover's log" test "$(log_reads)" = "$before"

# ---- -v: the volume advancing, seen while its mover is stopped mid-way ----
stop_movers_in p1
kh backup create b1 --include-namespaces p1 --volume-data fs --data-mover cluster -v \
	>"$T_DIR/b1.out" 2>"$T_DIR/b1.err" &
P=$!
midway() { grep -Eq 'volume p1/data: [0-9]+ bytes read, [0-9]+ entries so far' "$T_DIR/b1.err"; }
t_ok "backup b1 -v: the coordinator's log shows the volume's progress from its mover's log" \
	vol_wait_for 300 midway
t_ok "  while the backup still runs (its mover is stopped after its first progress line)" running $P
mid=$(grep -Eo 'volume p1/data: [0-9]+ bytes read, [0-9]+ entries so far' "$T_DIR/b1.err" | head -1)
pod=$(mover_pod p1)
cluster_admin GET "/api/v1/namespaces/p1/pods/$pod/log" >"$T_DIR/b1.podlog"
t_grep "  its pod's log holds the mover's progress line" '^kahu-progress v1 bytes=[0-9]+ entries=[0-9]+$' "$T_DIR/b1.podlog"
t_nogrep "  and no file name" 'f[0-9]{2}\.bin|dir[0-9]' "$T_DIR/b1.podlog"
t_ok "  resumed (SIGCONT through /_admin/signal)" resume p1
wait $P
t_ok "  backup b1 exits 0" test $? = 0
kh backup describe b1 -o json >"$T_DIR/b1.json"
total=$(vol_field "$T_DIR/b1.json" p1/data counts.bytesRead)
files=$(vol_field "$T_DIR/b1.json" p1/data counts.files)
mb=$(echo "$mid" | sed -E 's/.*: ([0-9]+) bytes read, ([0-9]+) entries.*/\1/')
me=$(echo "$mid" | sed -E 's/.*: ([0-9]+) bytes read, ([0-9]+) entries.*/\2/')
echo "# mid-way: $mb bytes, $me entries; in all: $total bytes, $files files"
t_ok "  mid-way: bytes > 0 and < the volume's $total bytes" test "$mb" -gt 0 -a "$mb" -lt "$total"
t_ok "  mid-way: entries > 0 and < the volume's $files files" test "$me" -gt 0 -a "$me" -lt "$files"
t_grep "  the reads are counted" "data movers: [0-9]+ reads? of movers' logs" "$T_DIR/b1.err"
reads=$(grep -Eo "data movers: [0-9]+ reads? of movers' logs" "$T_DIR/b1.err" | grep -Eo '[0-9]+' | head -1)
t_ok "  by the server too ($reads, and the test's own read)" test "$(log_reads)" = "$((before + reads + 1))"
t_nogrep "  no warning about the movers" 'warning: (data movers|volume)' "$T_DIR/b1.err"

# ---- on a terminal (script(1) gives kahu one): the progress line advancing ----
if command -v script >/dev/null 2>&1; then
	stop_movers_in p1
	script -qfec "\"$KAHU\" --kubeconfig \"$CLUSTER_KUBECONFIG\" backup create t1 --include-namespaces p1 --volume-data fs --data-mover cluster" \
		"$T_DIR/t1.tty" </dev/null >/dev/null 2>&1 &
	P=$!
	ttymid() { grep -Eq 'volume p1/data: [0-9.]+ (B|KiB|MiB) read, [1-9][0-9]* entries' "$T_DIR/t1.tty"; }
	t_ok "backup t1 on a terminal: its progress line shows the volume mid-way" vol_wait_for 300 ttymid
	t_ok "  while the backup still runs" running $P
	t_ok "  resumed" resume p1
	wait $P
	t_ok "  backup t1 exits 0" test $? = 0
else
	t_skip "backup t1 on a terminal" "script(1) is not installed"
fi

# ---- a mover stopped past --mover-timeout: its Job's deadline ends it, tried again ----
stop_movers_in p1
t_ok "backup d1 --mover-timeout 10s, its first mover stopped and never resumed" \
	kh backup create d1 --include-namespaces p1 --volume-data fs --data-mover cluster --mover-timeout 10s -v
t_grep "  the first attempt failed at the Job's deadline and the volume was tried again" \
	'volume p1/data: mover attempt 1 of [0-9]+ failed: .*[Dd]eadline.*; trying again' "$T_ERR"
kh backup describe d1 -o json >"$T_DIR/d1.json"
t_ok "  the volume Completed" test "$(vol_field "$T_DIR/d1.json" p1/data status)" = Completed
no_movers_left() { ! cluster_admin GET "dump?namespace=p1" | grep -q '"kahu-mover-'; }
t_ok "  no mover Job or pod is left" no_movers_left

# ---- a restore: bytes written ----
stop_movers_in p2
kh restore create r1 --from-backup b1 --namespace-mappings p1:p2 --data-mover cluster -v \
	>"$T_DIR/r1.out" 2>"$T_DIR/r1.err" &
P=$!
rmid() { grep -Eq 'volume p2/data: [0-9]+ bytes written, [0-9]+ entries so far' "$T_DIR/r1.err"; }
t_ok "restore r1 -v: the coordinator's log shows the claim's progress from its mover's log" \
	vol_wait_for 300 rmid
t_ok "  while the restore still runs" running $P
t_ok "  resumed" resume p2
wait $P
t_ok "  restore r1 exits 0" test $? = 0
t_ok "  byte-exact" vol_same "$DATA" "$(vol_dir main p2 data)"

# ---- no get on pods/log (user limited): one warning, start and end only ----
stop_movers_in p1
kh --context limited backup create l1 --include-namespaces p1 --volume-data fs --data-mover cluster -v \
	>"$T_DIR/l1.out" 2>"$T_DIR/l1.err" &
P=$!
warned() { grep -q 'their logs cannot be read' "$T_DIR/l1.err"; }
t_ok "backup l1 as user limited -v: a warning once pods/log is refused" vol_wait_for 300 warned
t_ok "  resumed" resume p1
wait $P
t_ok "  backup l1 exits 0" test $? = 0
t_ok "  the warning once" test "$(grep -c 'their logs cannot be read' "$T_DIR/l1.err")" = 1
t_grep "  naming the refusal" 'cannot get resource "pods/log"' "$T_DIR/l1.err"
t_grep "  and what to grant" 'get on pods/log' "$T_DIR/l1.err"
t_nogrep "  no progress from the log" 'entries so far' "$T_DIR/l1.err"
cluster_admin DELETE faults >/dev/null

# ---- the test cluster's pods/log: tailLines, limitBytes as kube-apiserver ----
cat >"$T_DIR/logpod.json" <<'EOF'
{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "lines", "namespace": "default", "annotations": {"kahu.io/test-run": "true"}},
 "spec": {"restartPolicy": "Never",
          "containers": [{"name": "sh", "image": "busybox:1.36",
                          "command": ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; printf tail"]}]}}
EOF
cluster_admin POST /api/v1/namespaces/default/pods "@$T_DIR/logpod.json" >/dev/null
ended() { cluster_admin GET /api/v1/namespaces/default/pods/lines | grep -q '"phase": *"Succeeded"'; }
t_ok "a pod that writes 5 lines and an unended one ran" vol_wait_for 60 ended
L=/api/v1/namespaces/default/pods/lines/log
t_ok "  tailLines=2: the last line (no newline) and the one before" \
	test "$(cluster_admin GET "$L?tailLines=2")" = "$(printf 'line5\ntail')"
t_ok "  tailLines=2&limitBytes=3: the tail's first 3 bytes" test "$(cluster_admin GET "$L?tailLines=2&limitBytes=3")" = lin
t_ok "  tailLines=0: nothing" test -z "$(cluster_admin GET "$L?tailLines=0")"
t_ok "  tailLines=100: all" test "$(cluster_admin GET "$L?tailLines=100" | wc -l)" = 5
t_fail "  tailLines=-1 is refused" cluster_admin GET "$L?tailLines=-1"
t_grep "  422 Invalid, as kube-apiserver says it" 'PodLogOptions \\"lines\\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0' "$T_OUT"
t_fail "  limitBytes=0 is refused" cluster_admin GET "$L?limitBytes=0"
t_grep "  422 Invalid" 'limitBytes: Invalid value: 0: must be greater than 0' "$T_OUT"

t_done

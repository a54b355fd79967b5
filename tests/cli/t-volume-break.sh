#!/usr/bin/env bash
# An exec stream cut in the middle of a volume's transfer (test-cluster fault
# exec-break): the backup resumes from the last complete file and the volume restores
# byte for byte; when every try is cut, the volume fails with its reason, the backup is
# PartiallyFailed (exit 2), nothing of that volume is on the location or in the
# manifest, and the other volume of the backup restores exactly; the listing cut once
# is listed again.  A restore whose stream is cut once (fault exec-break
# after_stdin_bytes) writes the volume again and ends byte for byte; cut on every try,
# the volume fails saying why and that the claim holds part of the data, no helper pod
# left.  Retry warnings name the volume as NAMESPACE/PVC, in the stored log too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: vol}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: vol}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: other, namespace: vol}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: vol}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [sleep, "3600"]
    volumeMounts: [{name: d, mountPath: /data}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
EOF
vol_setup
vol_cluster main "$T_DIR/seed.yaml"

# data: 24 files of 160 KiB of random bytes (3.75 MiB) and the odd entries
D=$(vol_dir main vol data)
O=$(vol_dir main vol other)
[ -d "$D" ] && [ -d "$O" ]
t_result $? "the claims have data directories"
vol_fill "$D"
for i in $(seq -w 1 24); do head -c 163840 /dev/urandom >"$D/a dir/part-$i.bin"; done
touch -d '2003-04-05 06:07:08' "$D/a dir"
vol_fill "$O"
sleep 1 # the listing's second is past: no entry is "racy"

# the app pod's transfer (the command with tar's --no-recursion) is cut after 1 MiB
cut_rule() { # times (0: every time)
	local t=
	[ "$1" -gt 0 ] && t=",\"times\":$1"
	printf '[{"match":{"path_regex":"/pods/app/exec$","query_regex":"no-recursion"},"action":"exec-break","after_bytes":1048576%s}]' "$t"
}
restored_equal() { # namespace pvc original-dir
	local n; n=$(vol_dir main "$1" "$2")
	[ -n "$n" ] && vol_same "$3" "$n" >"$T_OUT"
}

# ---- one cut: resumed ----
cluster_admin PUT /_admin/faults "$(cut_rule 1)" >/dev/null
t_ok "a backup whose transfer is cut once completes" \
	kahu_main backup create b1 --include-namespaces vol --volume-data fs -o json
cp "$T_OUT" "$T_DIR/b1.json"; cp "$T_ERR" "$T_DIR/b1.err"
cluster_admin GET /_admin/faults >"$T_DIR/faults1.json"
t_py "... the stream was cut (the fault fired once)" 'assert d["rules"][0]["fired"] == 1, d' "$T_DIR/faults1.json"
t_grep "... the warning names the volume as namespace/pvc" 'volume vol/data: exec stream broken.*; resuming after' "$T_DIR/b1.err"
t_ok "backup logs b1" kahu_main backup logs b1
t_grep "... the stored log names it too" 'volume vol/data: exec stream broken.*; resuming after' "$T_OUT"
vol_check "$T_DIR/b1.json" vol/data status Completed
vol_check "$T_DIR/b1.json" vol/data retries 1
bread=$(vol_field "$T_DIR/b1.json" vol/data bytesRead)
[ "$bread" -ge 4232000 ] && [ "$bread" -lt 5500000 ]
t_result $? "... it read each file once, not the volume again (bytesRead $bread)"
t_ok "backup verify b1" kahu_main backup verify b1
t_ok "restore of b1 into a fresh namespace" kahu_main restore create r1 --from-backup b1 --namespace-mappings vol:vol1
restored_equal vol1 data "$D"
t_result $? "... its volume restores into a fresh namespace byte for byte (sha256, modes, owners, mtimes, links)"
restored_equal vol1 other "$O"
t_result $? "... and so does the other one"

# ---- the cut on every try: the volume fails ----
cluster_admin PUT /_admin/faults "$(cut_rule 0)" >/dev/null
t_exit 2 "a backup whose transfer is cut on every try is PartiallyFailed (exit 2)" \
	kahu_main backup create b2 --include-namespaces vol --volume-data fs -o json
cp "$T_OUT" "$T_DIR/b2.json"; cp "$T_ERR" "$T_DIR/b2.err"
cluster_admin DELETE /_admin/faults >/dev/null
t_grep "... saying why" 'vol/data.*volume transfer failed after 3 retries: .*exec stream broken' "$T_DIR/b2.err"
vol_check "$T_DIR/b2.json" vol/data status Failed
vol_check "$T_DIR/b2.json" vol/other status Completed
t_ok "backup describe b2 -o json" kahu_main backup describe b2 -o json
cp "$T_OUT" "$T_DIR/d2.json"
t_py "... the backup is PartiallyFailed" 'assert d["status"] == "PartiallyFailed", d["status"]' "$T_DIR/d2.json"
vol_check "$T_DIR/d2.json" vol/data status Failed
vol_check "$T_DIR/d2.json" vol/data retries 3
vol_field "$T_DIR/d2.json" vol/data reason | grep -q 'volume transfer failed after 3 retries: .*exec stream broken'
t_result $? "... with the failed volume's reason"
# what the location holds is exactly what the manifest lists: one volume's objects
"$PYTHON" - "$LOC/backups/b2" <<'PY' >"$T_OUT" 2>"$T_ERR"
import json, os, sys
root = sys.argv[1]
m = json.load(open(os.path.join(root, "backup.json")))
listed = {o["path"] for o in m["objects"]}
stored = set()
for d, _, fs in os.walk(root):
    for f in fs:
        p = os.path.relpath(os.path.join(d, f), root)
        if p != "backup.json":
            stored.add(p)
print("listed only:", sorted(listed - stored), "stored only:", sorted(stored - listed))
assert listed == stored
vids = {p.split("/")[1] for p in stored if p.startswith("volumes/")}
print("volumes:", sorted(vids))
assert len(vids) == 1, vids
for v in vids:
    assert any(p.startswith("volumes/%s/data-" % v) for p in stored)
    assert "volumes/%s/index.jsonl.zst.kenc" % v in stored
PY
t_result $? "... the location holds exactly the manifest's objects: the completed volume's alone"
t_ok "backup verify b2" kahu_main backup verify b2
t_ok "restore of b2 into a fresh namespace" kahu_main restore create r2 --from-backup b2 --namespace-mappings vol:vol2
cp "$T_ERR" "$T_DIR/r2.err"
restored_equal vol2 other "$O"
t_result $? "... the other volume of b2 restores into a fresh namespace byte for byte"
[ -z "$(vol_kahu main Pod)" ] && [ -z "$(vol_kahu main PersistentVolumeClaim)" ]
t_result $? "no helper pod or temporary claim is left"

# ---- a restore whose stream is cut (its stdin, the restore direction) ----
# the helper's `tar -x` (its script reads the first line with IFS=) is cut after 1 MiB of stdin
rcut_rule() { # times (0: every time)
	local t=
	[ "$1" -gt 0 ] && t=",\"times\":$1"
	printf '[{"match":{"resource":"pods","path_regex":"/exec$","query_regex":"IFS"},"action":"exec-break","after_stdin_bytes":1048576%s}]' "$t"
}
cluster_admin PUT /_admin/faults "$(rcut_rule 1)" >/dev/null
t_ok "a restore whose stream is cut once completes" \
	kahu_main restore create r3 --from-backup b1 --namespace-mappings vol:vol3 --pvc data
cp "$T_ERR" "$T_DIR/r3.err"
cluster_admin GET /_admin/faults >"$T_DIR/faults3.json"
cluster_admin DELETE /_admin/faults >/dev/null
t_py "... the stream was cut (the fault fired once)" 'assert d["rules"][0]["fired"] == 1, d' "$T_DIR/faults3.json"
t_grep "... the warning names the volume as namespace/pvc" \
	'volume vol3/data: exec stream broken.*; writing its data again \(retry 1 of 3\)' "$T_DIR/r3.err"
restored_equal vol3 data "$D"
t_result $? "... its volume is byte for byte the backup's"
t_ok "restore describe r3 --details -o json" kahu_main restore describe r3 --details -o json
t_py "... the volume Completed after 1 retry" '
v = [i["volume"] for i in d["items"] if i.get("volume")]
assert len(v) == 1 and v[0]["status"] == "Completed" and v[0]["retries"] == 1 and "incomplete" not in v[0], v' "$T_OUT"
t_ok "restore logs r3" kahu_main restore logs r3
t_grep "... the stored log names the volume in the warning" 'volume vol3/data: exec stream broken.*writing its data again' "$T_OUT"
[ -z "$(vol_kahu main Pod)" ]
t_result $? "... no helper pod is left"

cluster_admin PUT /_admin/faults "$(rcut_rule 0)" >/dev/null
t_exit 2 "a restore whose stream is cut on every try is PartiallyFailed (exit 2)" \
	kahu_main restore create r4 --from-backup b1 --namespace-mappings vol:vol4 --pvc data
cp "$T_ERR" "$T_DIR/r4.err"
cluster_admin GET /_admin/faults >"$T_DIR/faults4.json"
cluster_admin DELETE /_admin/faults >/dev/null
t_py "... cut on each of the 4 tries" 'assert d["rules"][0]["fired"] == 4, d' "$T_DIR/faults4.json"
t_grep "... saying why and that the claim holds part of the data" \
	"vol4/data.*volume data restore failed after 3 retries: exec stream broken.*; the volume holds part of the backup's data" "$T_DIR/r4.err"
t_ok "restore describe r4 --details -o json" kahu_main restore describe r4 --details -o json
t_py "... the volume Failed, incomplete, after 3 retries, with its reason" '
v = [i["volume"] for i in d["items"] if i.get("volume")]
assert len(v) == 1 and v[0]["status"] == "Failed" and v[0]["retries"] == 3 and v[0]["incomplete"] is True, v
assert "holds part of the backup" in v[0]["reason"], v' "$T_OUT"
[ -z "$(vol_kahu main Pod)" ]
t_result $? "... no helper pod is left"

# ---- the listing cut once: listed again ----
cluster_admin PUT /_admin/faults '[{"match":{"path_regex":"/pods/app/exec$","query_regex":"xdev"},"action":"exec-break","after_bytes":100,"times":1}]' >/dev/null
t_ok "a backup whose listing is cut once completes" \
	kahu_main backup create b3 --include-namespaces vol --volume-data fs -o json
cp "$T_OUT" "$T_DIR/b3.json"
cluster_admin DELETE /_admin/faults >/dev/null
vol_check "$T_DIR/b3.json" vol/data status Completed
vol_check "$T_DIR/b3.json" vol/data retries 1
t_ok "... its volume extracts exactly" kahu_main backup download b3 --volume vol/data --extract "$T_DIR/x3"
t_ok "... (equal)" vol_same "$D" "$T_DIR/x3"

t_done

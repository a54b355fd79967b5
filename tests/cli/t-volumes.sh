#!/usr/bin/env bash
# Volume data through the test cluster: files copied over pods/exec in the application's
# container, in a helper pod when there is none or it lacks tar, after a CSI snapshot
# with --snapshot-move-data; snapshots kept otherwise; what the backup holds extracted
# and compared with the claims' data directories; helper pods, temporary claims and
# data-movement snapshots gone after success, failure (Pod Security) and SIGINT.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: vol}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: app-data, namespace: vol}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: notar-data, namespace: vol}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: orphan, namespace: vol}
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
  volumes: [{name: d, persistentVolumeClaim: {claimName: app-data}}]
---
apiVersion: v1
kind: Pod
metadata: {name: slim, namespace: vol}
spec:
  containers:
  - name: main
    image: gcr.io/distroless/static
    volumeMounts: [{name: d, mountPath: /srv}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: notar-data}}]
EOF
vol_setup
vol_cluster main "$T_DIR/seed.yaml"
KC=$CLUSTER_KUBECONFIG
kahu_k() { kahu_main "$@"; }

for c in app-data notar-data orphan; do
	d=$(vol_dir main vol $c)
	[ -d "$d" ] && vol_fill "$d" && printf '%s\n' "$c" >"$d/seed.txt" && touch -d '2003-04-05 06:07:08' "$d"
	cp -a "$d" "$T_DIR/want-$c"
done
[ -s "$T_DIR/want-orphan/seed.txt" ]
t_result $? "the claims' data directories are filled"
sleep 1 # the listing's second is past: no entry is "racy"

vol() { vol_field "$@"; }
check() { vol_check "$@"; }
kahu_objects() { vol_kahu main "$1" vol; } # kind → names of objects kahu made in namespace vol
same_tree() { # backup pvc
	rm -rf "$T_DIR/x"
	kahu_k backup download "$1" --volume "vol/$2" --extract "$T_DIR/x" >"$T_OUT" 2>"$T_ERR" &&
		vol_same "$T_DIR/want-$2" "$T_DIR/x" >"$T_OUT"
}

# ---- files ----
t_ok "backup create copies the files of every claim (--volume-data fs)" \
	kahu_k backup create f1 --include-namespaces vol --volume-data fs -o json
cp "$T_OUT" "$T_DIR/f1.json"
check "$T_DIR/f1.json" vol/app-data method exec
check "$T_DIR/f1.json" vol/app-data status Completed
check "$T_DIR/f1.json" vol/notar-data method helper
check "$T_DIR/f1.json" vol/notar-data status Completed
t_grep "... after the app pod's listing found no tools (no separate probe): why" \
	'"appPodUnusable": *"container main of pod vol/slim (lacks a tool the file copy needs \(exit 12[67]\)|cannot run the file copy)' "$T_DIR/f1.json"
check "$T_DIR/f1.json" vol/orphan method helper
check "$T_DIR/f1.json" vol/orphan status Completed
[ "$(vol "$T_DIR/f1.json" vol/app-data files)" -ge 3 ] && [ "$(vol "$T_DIR/f1.json" vol/app-data bytesRead)" -gt 300000 ]
t_result $? "... with files and bytes read per volume"
[ -z "$(kahu_objects Pod)" ]
t_result $? "... and no helper pod is left"
for c in app-data notar-data orphan; do
	same_tree f1 $c
	t_result $? "... vol/$c extracts exactly as it was (names, types, modes, owners, mtimes, links, sha256)"
done
t_ok "backup verify checks the volume objects" kahu_k backup verify f1

# ---- describe: the catalog's volumes ----
t_ok "backup describe shows the backup's volumes" kahu_k backup describe f1
t_grep "... under Volumes, with bytes read, stored and incremental, duration and throughput" \
	'^ +PVC +METHOD +STATUS +FILES +READ +STORED +INCREMENTAL +DURATION +THROUGHPUT +RETRIES +REASON' "$T_OUT"
t_grep "... vol/app-data: exec in the app pod, Completed" '^ +vol/app-data +exec in app pod +Completed +[0-9]+ +[0-9.]+ [KM]iB ' "$T_OUT"
t_grep "... vol/orphan: a helper pod" '^ +vol/orphan +helper pod +Completed ' "$T_OUT"
t_ok "backup describe -o json carries them as volumes" kahu_k backup describe f1 -o json
cp "$T_OUT" "$T_DIR/d1.json"
check "$T_DIR/d1.json" vol/app-data method exec
check "$T_DIR/d1.json" vol/app-data status Completed
check "$T_DIR/d1.json" vol/notar-data method helper
check "$T_DIR/d1.json" vol/app-data retries 0
[ "$(vol "$T_DIR/d1.json" vol/app-data counts.files)" = "$(vol "$T_DIR/f1.json" vol/app-data files)" ] &&
	[ "$(vol "$T_DIR/d1.json" vol/app-data counts.bytesRead)" = "$(vol "$T_DIR/f1.json" vol/app-data bytesRead)" ] &&
	[ "$(vol "$T_DIR/d1.json" vol/app-data counts.bytesStored)" -gt 0 ] &&
	[ "$(vol "$T_DIR/d1.json" vol/app-data counts.bytesTransferred)" -gt 0 ] &&
	[ -n "$(vol "$T_DIR/d1.json" vol/app-data durationMs)" ] &&
	[ -n "$(vol "$T_DIR/d1.json" vol/app-data throughputBytesPerSecond)" ]
t_result $? "... with the files and bytes the backup reported, bytes stored, incremental, duration, throughput"
t_ok "backup describe -o yaml carries them too" kahu_k backup describe f1 -o yaml
t_grep "... (yaml)" '^volumes:' "$T_OUT"

# ---- progress per volume on a terminal ----
t_ok "backup create on a terminal shows each volume's progress" \
	script -qec "'$KAHU' --kubeconfig '$KC' backup create tty1 --include-namespaces vol --volume-data fs" "$T_DIR/tty1.typescript"
t_grep "... bytes, entries and rate of vol/app-data" \
	'volume vol/app-data: [0-9.]+ (B|KiB|MiB) read, [0-9]+ entries, [0-9.]+ (B|KiB|MiB|GiB)/s' "$T_DIR/tty1.typescript"
t_grep "... and of vol/orphan (helper pod)" 'volume vol/orphan: [0-9.]+ (B|KiB|MiB) read' "$T_DIR/tty1.typescript"
t_ok "-o json on a terminal" \
	script -qec "'$KAHU' --kubeconfig '$KC' backup create tty2 --include-namespaces vol --volume-data fs -o json >'$T_DIR/tty2.json'" "$T_DIR/tty2.typescript"
"$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$T_DIR/tty2.json" &&
	! grep -q 'volume vol/' "$T_DIR/tty2.json"
t_result $? "... keeps the progress out of the JSON on stdout"
t_ok "not on a terminal" kahu_k backup create tty3 --include-namespaces vol --volume-data fs
t_nogrep "... no volume progress on stderr" 'volume vol/.* read' "$T_ERR"
cat_obj=$(find "$LOC" -path '*/backups/tty3/volumes.jsonl*' -type f | head -1)
[ -n "$cat_obj" ] && printf 'garbage' >"$cat_obj"
t_result $? "tty3's volume catalog is damaged"
t_ok "backup describe still shows a backup whose catalog cannot be read" kahu_k backup describe tty3
t_grep "... saying why under Volumes" '^Volumes: +not shown: .*volume catalog of backup tty3' "$T_OUT"
t_grep "... and warning" 'volume catalog of backup tty3' "$T_ERR"
t_ok "... -o json" kahu_k backup describe tty3 -o json
"$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert "volumes" not in d and "tty3" in d["volumesError"]' "$T_OUT"
t_result $? "... carries volumesError instead of volumes"

# ---- CSI snapshots ----
t_ok "backup create --snapshot-move-data=false takes CSI snapshots where a class is for the driver (auto)" \
	kahu_k backup create s1 --include-namespaces vol --volume-data auto --snapshot-move-data=false -o json
cp "$T_OUT" "$T_DIR/s1.json"
check "$T_DIR/s1.json" vol/orphan method csi
check "$T_DIR/s1.json" vol/orphan status Completed
[ "$(kahu_objects VolumeSnapshot | wc -l)" -eq 3 ]
t_result $? "... the three snapshots stay with the backup"
t_ok "by default (auto, --snapshot-move-data true) the snapshots' files are copied" \
	kahu_k backup create m1 --include-namespaces vol -o json
cp "$T_OUT" "$T_DIR/m1.json"
check "$T_DIR/m1.json" vol/orphan method csi+data
check "$T_DIR/m1.json" vol/orphan status Completed
t_ok "backup describe m1" kahu_k backup describe m1
t_grep "... names CSI + data movement" '^ +vol/orphan +CSI \+ data movement +Completed' "$T_OUT"
t_ok "backup describe s1" kahu_k backup describe s1
t_grep "... names a CSI snapshot, without file counts" '^ +vol/orphan +CSI snapshot +Completed +- +- ' "$T_OUT"
same_tree m1 orphan
t_result $? "... vol/orphan extracts exactly as it was"
[ "$(kahu_objects VolumeSnapshot | wc -l)" -eq 3 ] && [ -z "$(kahu_objects PersistentVolumeClaim)" ] &&
	[ -z "$(kahu_objects Pod)" ]
t_result $? "... and its snapshots, temporary claims and helper pods are gone"

# ---- Pod Security refuses the helper: the volume fails, with what to do ----
cluster_admin POST /_admin/seed '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"vol","labels":{"pod-security.kubernetes.io/enforce":"restricted"}}}' >/dev/null
t_exit 2 "a helper refused by Pod Security admission fails its volume (PartiallyFailed)" \
	kahu_k backup create p1 --include-namespaces vol --volume-data fs
t_grep "... naming the enforce level and what to set" \
	'enforces "restricted".*pod-security.kubernetes.io/enforce=privileged.*--volume-data csi' "$T_ERR"
[ -z "$(kahu_objects Pod)" ]
t_result $? "... and no helper pod is left"
cluster_admin POST /_admin/seed '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"vol"}}' >/dev/null
t_ok "backup describe shows a failed volume" kahu_k backup describe p1 -o json
check "$T_OUT" vol/orphan status Failed
vol "$T_OUT" vol/orphan reason | grep -q 'enforces "restricted"'
t_result $? "... with the reason of its failure (-o json)"
t_ok "backup describe p1" kahu_k backup describe p1
t_grep "... with the reason of its failure (text)" '^ +vol/orphan +helper pod +Failed .*enforces "restricted"' "$T_OUT"

# ---- SIGINT while a helper pod starts ----
cluster_admin POST /_admin/pod-start-delay '{"seconds":3600}' >/dev/null
"$KAHU" --kubeconfig "$KC" backup create i1 --include-namespaces vol --volume-data fs >"$T_DIR/i1.out" 2>"$T_DIR/i1.err" &
kpid=$!
for i in $(seq 1 600); do [ -n "$(kahu_objects Pod)" ] && break; sleep 0.1; done
[ -n "$(kahu_objects Pod)" ]
t_result $? "a helper pod is created (and stays Pending)"
kill -INT $kpid
wait $kpid
rc=$?
cp "$T_DIR/i1.err" "$T_ERR"
[ $rc -eq 130 ]
t_result $? "SIGINT stops the run (exit 130, got $rc)"
[ -z "$(kahu_objects Pod)" ]
t_result $? "... and its helper pod is deleted"
cluster_admin POST /_admin/pod-start-delay '{"seconds":0}' >/dev/null

t_done

#!/usr/bin/env bash
# A chain full -> incremental -> incremental of a volume copied over pods/exec, with files
# added, changed (one keeping its size and mtime), deleted, a directory replaced by a
# file and a file by a directory, a symlink retargeted, modes, owners and hard links
# changed; each point of the chain restored into a fresh namespace equals the volume as
# it was (paths, types, modes, owners, mtimes, sizes, link counts, symlink targets,
# sha256; empty directories, names with spaces, a newline, UTF-8); the incrementals
# transfer only what changed, and an entry whose time was not before the listing
# ("racy") is transferred again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app}
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

V=$(vol_dir main app data)
[ -d "$V" ]
t_result $? "the claim has a data directory"
old='2005-06-07 08:09:10'
settle() { # directories' times fixed, the volume copied as point $1 of the chain
	find "$V" -type d -exec touch -d "$old" {} +
	rm -rf "$T_DIR/p$1"; cp -a "$V" "$T_DIR/p$1"
	(cd "$V" && find . -type f -printf '%P|%i|%n|%s|%Ts|%Cs|%m|%U|%G\0') | LC_ALL=C sort -z >"$T_DIR/stat$1"
	sleep 1 # the listing's second is past: only the entries meant to be racy are
}
point() { # backup n: restored into namespace app-n, equal to point n
	kahu_main restore create "r$2" --from-backup "$1" --namespace-mappings "app:app-$2" >"$T_OUT" 2>"$T_ERR" || return 1
	local n; n=$(vol_dir main "app-$2" data)
	[ -n "$n" ] && vol_same "$T_DIR/p$2" "$n" >"$T_OUT"
}

# ---- point 0: the full backup ----
vol_fill "$V"
head -c 1048576 /dev/urandom >"$V/big-unchanged.bin"
mkdir -p "$V/gone dir/x" "$V/becomes-file/inner" "$V/tmp"
printf 'will go\n' >"$V/gone dir/x/f"
printf 'inner\n' >"$V/becomes-file/inner/f"
printf 'AAAA\n' >"$V/same-size.txt"
touch -d '2006-01-01 00:00:00' "$V/same-size.txt"
printf 'to be a dir\n' >"$V/becomes-dir"
ln -s 'a dir/one.txt' "$V/retarget"
printf 'racy\n' >"$V/racy.txt"
touch -d '+2 days' "$V/racy.txt" # a time not before the listing: recorded racy
printf 'delete me\n' >"$V/$(printf 'del\nme ✓')"
settle 0
t_ok "full backup b0" kahu_main backup create b0 --include-namespaces app --volume-data fs -o json
cp "$T_OUT" "$T_DIR/b0.json"
vol_check "$T_DIR/b0.json" app/data status Completed
vol_check "$T_DIR/b0.json" app/data method exec

# ---- point 1 ----
printf 'BBBB\n' >"$V/same-size.txt" # same size and mtime: only its ctime tells
touch -d '2006-01-01 00:00:00' "$V/same-size.txt"
printf 'added\n' >"$V/added.txt"
mkdir -p "$V/new dir/ü sub" "$V/new empty"
printf 'deep\n' >"$V/new dir/ü sub/$(printf 'tab\there')"
rm -rf "$V/gone dir" "$V/$(printf 'del\nme ✓')"
rm -rf "$V/becomes-file"; printf 'now a file\n' >"$V/becomes-file"
ln -sfn 'big-unchanged.bin' "$V/retarget"
chmod 0751 "$V/a dir/sub"
if [ "$(id -u)" = 0 ]; then chown 2000:3000 "$V/added.txt"; fi
ln "$V/added.txt" "$V/new dir/added-hard"
settle 1
t_ok "incremental backup b1" kahu_main backup create b1 --incremental --include-namespaces app --volume-data fs -o json
cp "$T_OUT" "$T_DIR/b1.json"
vol_check "$T_DIR/b1.json" app/data status Completed
kahu_main backup describe b1 -o json >"$T_DIR/d1.json" 2>"$T_ERR"
t_py "... b1 is an incremental backup with parent b0" 'assert d["type"] == "incremental" and d["parent"] == "b0", (d["type"], d.get("parent"))' "$T_DIR/d1.json"
r=$(vol_field "$T_DIR/b1.json" app/data bytesRead)
[ -n "$r" ] && [ "$r" -lt 65536 ]
t_result $? "... it read only what changed (bytesRead $r)"
# unchanged: the files whose inode, links, size, times, mode and owner are as in the
# parent's listing, but for racy.txt: recorded racy, it is compared as changed
identical() { comm -z -12 "$T_DIR/stat$1" "$T_DIR/stat$2" | tr -cd '\0' | wc -c; }
same1=$(identical 0 1)
unch=$(vol_field "$T_DIR/d1.json" app/data counts.unchanged)
[ "$unch" = $((same1 - 1)) ]
t_result $? "... it kept $unch files from b0 (of $same1 unchanged: the racy one transferred again)"

# ---- point 2 ----
rm -f "$V/becomes-dir"; mkdir -p "$V/becomes-dir/sub"; printf 'in dir\n' >"$V/becomes-dir/sub/f"
ln -sfn '../dangling target' "$V/retarget"
printf 'more' >>"$V/a dir/one.txt" # a member of a hard-link group
rm -f "$V/added.txt" # its hard link stays
printf 'x' >"$V/$(printf 'new\nline')2"
mv "$V/tmp" "$V/tmp moved"
chmod 0644 "$V/a dir/sub/rand.bin"
settle 2
t_ok "incremental backup b2" kahu_main backup create b2 --incremental --include-namespaces app --volume-data fs -o json
cp "$T_OUT" "$T_DIR/b2.json"
vol_check "$T_DIR/b2.json" app/data status Completed
kahu_main backup describe b2 -o json >"$T_DIR/d2.json" 2>"$T_ERR"
t_py "... b2's parent is b1" 'assert d["type"] == "incremental" and d["parent"] == "b1", (d["type"], d.get("parent"))' "$T_DIR/d2.json"
r=$(vol_field "$T_DIR/b2.json" app/data bytesRead)
[ -n "$r" ] && [ "$r" -lt 1048576 ]
t_result $? "... it did not read the unchanged 1 MiB file (bytesRead $r)"
same2=$(identical 1 2)
unch=$(vol_field "$T_DIR/d2.json" app/data counts.unchanged)
[ "$unch" = $((same2 - 1)) ]
t_result $? "... it kept $unch files from b1 (of $same2 unchanged: the racy one transferred again)"

t_ok "download of b1's volume" kahu_main backup download b1 --volume app/data --extract "$T_DIR/x1"
t_ok "... equals point 1" vol_same "$T_DIR/p1" "$T_DIR/x1"

# ---- every point restored into a fresh namespace ----
point b0 0
t_result $? "b0 restored into namespace app-0 equals point 0 of the volume"
point b1 1
t_result $? "b1 restored into namespace app-1 equals point 1"
point b2 2
t_result $? "b2 restored into namespace app-2 equals point 2"
[ -z "$(vol_kahu main Pod)" ]
t_result $? "no helper pod is left"

t_done

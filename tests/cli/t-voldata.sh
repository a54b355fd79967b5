#!/usr/bin/env bash
# kahu backup download --volume NS/PVC --extract DIR [--path GLOB]: a volume's data,
# written into backups by the volume data core (tests/cli/voldrv, through local ops as
# the backup run does through pods/exec), extracted without a cluster: byte for byte
# with modes, times, owners (as root), symlinks, hard links, empty directories and odd
# names; an incremental backup's chain; selected paths; a hostile index refused before
# anything is written; usage errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

DRV=$top_builddir/tests/cli/voldrv
cat >"$T_DIR/ns.yaml" <<'EOF2'
apiVersion: v1
kind: Namespace
metadata: {name: app}
EOF2
vol_setup
vol_cluster src "$T_DIR/ns.yaml"
kahu_k() { kahu_src "$@"; }
same() { vol_same "$@"; }

V=$T_DIR/vol
mkdir -p "$V/d/e"
ln -s ../../outside "$V/d/up"
vol_fill "$V"
sleep 1 # the listing's second is past: no entry is "racy"

t_ok "full backup b1 (resources)" kahu_k backup create b1 --include-namespaces app
t_ok "the volume app/data written into b1" "$DRV" backup "$LOC" "$KAHU_KEY_FILE" b1 app/data "$V"
t_grep "its counts" '"files":5,"dirs":5,"links":3' "$T_OUT"
t_ok "download --volume app/data --extract" kahu_k backup download b1 --volume app/data --extract "$T_DIR/x1"
t_grep "it says what it extracted" 'Extracted volume app/data of backup b1 into .*: 5 files, 5 directories, 3 links, 300009 bytes' "$T_OUT"
t_ok "the extracted volume equals the original" same "$V" "$T_DIR/x1"
t_ok "object names reveal no namespace or PVC" sh -c "! find '$LOC' | grep -E 'app|data-0+1.*app|/data/'"

# an incremental backup: added, changed, deleted
printf 'added' >"$V/a dir/added.txt"
printf 'more' >>"$V/hard1"
rm "$V/ünï cödé ✓.txt"
touch -d '2003-04-05 06:07:08' "$V/a dir" "$V"
sleep 1
t_ok "incremental backup b2" kahu_k backup create b2 --incremental --include-namespaces app
t_ok "the volume written into b2 against b1" "$DRV" backup "$LOC" "$KAHU_KEY_FILE" b2 app/data "$V" b1
t_grep "only what changed was transferred" '"transferred":(1[0-9]|[5-9]),' "$T_OUT"
t_ok "b2 extracts to the new state" kahu_k backup download b2 --volume app/data --extract "$T_DIR/x2"
t_ok "the extracted volume equals the changed one" same "$V" "$T_DIR/x2"
t_ok "b1 still extracts to the old state" kahu_k backup download b1 --volume app/data --extract "$T_DIR/x1b"
t_ok "  (the same as before)" same "$T_DIR/x1" "$T_DIR/x1b"

# The content hashes of an index (unencrypted here, so that zstd reads it) against
# xxhsum's, an independent XXH64: every file and hard link of the volume.
t_ok "backup b0u --no-encryption (resources)" kahu_k backup create b0u --include-namespaces app --no-encryption
t_ok "the volume written into b0u without a key" "$DRV" backup "$LOC" - b0u app/data "$V"
if command -v xxhsum >/dev/null 2>&1; then
	zstd -dc "$LOC"/backups/b0u/volumes/*/index.jsonl.zst >"$T_DIR/b0u.jsonl" 2>"$T_ERR"
	"$PYTHON" - "$T_DIR/b0u.jsonl" "$V" >"$T_OUT" 2>&1 <<'PY'
import base64, json, os, subprocess, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e["type"] not in "fh":
        continue
    path = base64.b64decode(e["path_b64"]) if "path_b64" in e else e["path"].encode()
    assert "hash" not in e, e
    got = subprocess.run([b"xxhsum", b"-H1", b"--", os.path.join(sys.argv[2].encode(), path)],
                         check=True, capture_output=True).stdout.split()[0].decode()
    assert e["xxh64"] == got, (path, e["xxh64"], got)
    n += 1
assert n >= 5, n
print(n, "content hashes equal xxhsum's")
PY
	t_result $? "the index's xxh64 of every file and hard link is xxhsum -H1's"
	t_grep "  (all of them)" "content hashes equal xxhsum's" "$T_OUT"
else
	t_skip "the index's xxh64 against xxhsum" "xxhsum is not installed (scripts/install-deps installs it)"
fi

t_ok "--path selects a subtree" kahu_k backup download b2 --volume app/data --extract "$T_DIR/x3" --path 'a dir/sub'
t_ok "  only it" sh -c "test -f '$T_DIR/x3/a dir/sub/rand.bin' && ! test -e '$T_DIR/x3/hard1' && ! test -e '$T_DIR/x3/a dir/one.txt'"

t_exit 66 "a volume the backup does not hold is exit 66" kahu_k backup download b2 --volume app/other --extract "$T_DIR/x4"
t_grep "  named" 'holds no data of volume app/other' "$T_ERR"
t_exit 64 "--volume without --extract is a usage error" kahu_k backup download b2 --volume app/data
t_exit 64 "--volume needs NAMESPACE/PVC" kahu_k backup download b2 --volume data --extract "$T_DIR/x5"
t_exit 64 "--path needs --volume" kahu_k backup download b2 --path x --extract "$T_DIR/x5"

# Many members: the transfer reads its plan in order, without a seek of the plan's
# stream per member (a system call each, and its buffer read again).
if command -v strace >/dev/null 2>&1 && strace -f -qq -o /dev/null true 2>/dev/null; then
	M=$T_DIR/many
	mkdir -p "$M/d"
	for i in $(seq 1 400); do printf '%s' "$i" >"$M/d/f$i"; done
	t_ok "backup b1m" kahu_k backup create b1m --include-namespaces app
	t_ok "a volume of 400 files into it under strace" strace -f -qq -e trace=lseek -o "$T_DIR/many.strace" \
		"$DRV" backup "$LOC" "$KAHU_KEY_FILE" b1m app/many "$M"
	t_grep "... all of them" '"files":400,' "$T_OUT"
	n=$(grep -c 'lseek(' "$T_DIR/many.strace")
	t_ok "... with fewer seeks than members ($n)" test "$n" -lt 200
else
	t_skip "a volume of 400 files without a seek per member" "strace cannot run here"
fi

# hostile indexes: refused before anything is written
t_ok "backup b3" kahu_k backup create b3 --include-namespaces app
line() { printf '{"ctime":1,"gid":0,"ino":1,"mode":420,"mtime":1,"nlink":1,%s,"size":0,%s"type":"%s","uid":0}' "$1" "$3" "$2"; }
t_ok "a hostile index written into b3" "$DRV" hostile "$LOC" "$KAHU_KEY_FILE" b3 app/data \
	"$(line '"path":"a"' l '"target":"/etc",')" "$(line '"path":"a/passwd"' f '')"
t_exit 65 "an entry below a symlink is refused (65)" kahu_k backup download b3 --volume app/data --extract "$T_DIR/x6"
t_grep "  naming the path" 'refused path "a/passwd": below a symlink' "$T_ERR"
t_ok "  and nothing was written" sh -c "! test -e '$T_DIR/x6/a'"
t_ok "backup b4" kahu_k backup create b4 --include-namespaces app
t_ok "an index with ../ written into b4" "$DRV" hostile "$LOC" "$KAHU_KEY_FILE" b4 app/data \
	"$(line '"path":"ok"' d '')" "$(line '"path":"ok/../../escape"' f '')"
t_exit 65 "a .. component is refused (65)" kahu_k backup download b4 --volume app/data --extract "$T_DIR/x7"
t_grep "  naming the path" 'refused path "ok/../../escape": ".." component' "$T_ERR"
t_ok "  and nothing was written" sh -c "! test -e '$T_DIR/x7/ok' && ! test -e '$T_DIR/escape'"

t_done

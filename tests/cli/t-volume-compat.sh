#!/usr/bin/env bash
# Volume data written before objects were bound to their backup's run still reads, and
# what binds new volume objects to their run holds.  tests/cli/data/compat-0dd8370-volumes/
# holds a location with a full backup old1 and an incremental old2 of the claim vol/data,
# written by kahu 0dd8370 (manifest format 1: every object with its BLAKE2b hash,
# envelopes without a run id), its key, and the trees they hold (make.sh there says how
# they were made).  This kahu verifies and extracts them, restores old2 (its index and
# the segments of old1 it names) into a test cluster, makes an incremental backup on
# top of it (format 3: the volume objects bound to its run, without a hash; the lines it
# adds to the index with XXH64 content hashes, those it keeps with BLAKE2b), and
# refuses volume objects of an earlier backup of the same name put in place of the
# current ones: an index (restore and download) and a data segment (verify).  An
# unchanged incremental then runs one command in the application's pod: the listing,
# which checks the tools of a file copy itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

DATA=$top_srcdir/tests/cli/data/compat-0dd8370-volumes
vol_setup
install -m 600 "$DATA/test.key" "$KAHU_KEY_FILE"
mkdir -p "$LOC"
cp -R "$DATA/location/." "$LOC/"
chmod -R go-rwx "$LOC"
VID=21a7b322f28ae3736df5e79b71bc09b4

manifest_field() { # backup field
	"$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], "-"))' \
		"$LOC/backups/$1/backup.json" "$2"
}
extracts_as() { # backup want-file
	rm -rf "$T_DIR/x"
	"$KAHU" backup download "$1" --volume vol/data --extract "$T_DIR/x" >"$T_OUT" 2>"$T_ERR" &&
		vol_tree_sum "$T_DIR/x" >"$T_DIR/got" && diff "$2" "$T_DIR/got" >"$T_OUT"
}

# ---- the old backups ----
[ "$(manifest_field old2 format)" = 1 ] && [ "$(manifest_field old2 run)" = - ]
t_result $? "the fixture's manifests are format 1, without a run"
for b in old1 old2; do
	t_ok "backup verify $b (every object by its hash)" "$KAHU" backup verify "$b"
	t_grep "  intact" "Backup $b is intact" "$T_OUT"
	extracts_as "$b" "$DATA/want-$b.txt"
	t_result $? "download $b --volume vol/data --extract gives its tree"
done

# ---- restored into a cluster, and a new incremental on top ----
vol_cluster main ""
kahu_k() { kahu_main "$@"; }
t_ok "restore create r1 --from-backup old2 (its index, old1's segments)" kahu_k restore create r1 --from-backup old2
D=$(vol_dir main vol data)
vol_tree_sum "$D" >"$T_DIR/got" && diff "$DATA/want-old2.txt" "$T_DIR/got" >"$T_OUT"
t_result $? "  the claim holds old2's tree"
sleep 1 # the listing's second is past: no entry is "racy"
t_ok "backup create new3 --incremental --parent old2 (reads old2's unbound index)" \
	kahu_k backup create new3 --incremental --parent old2 --include-namespaces vol --volume-data fs
[ "$(manifest_field new3 format)" = 3 ] && [ "$(manifest_field new3 run)" != - ]
t_result $? "  its manifest is format 3 (volume data), with a run"
"$PYTHON" - "$LOC/backups/new3/backup.json" >"$T_OUT" 2>&1 <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))["objects"]
vol = [o for o in objs if o["path"].startswith("volumes/")]
assert vol and all("blake2b" not in o for o in vol), vol
assert all("blake2b" in o for o in objs if not o["path"].startswith("volumes/")), objs
PY
t_result $? "  its volume index and segments carry no hash, its other objects do"
t_ok "backup verify new3 (volume objects by their envelopes' run)" kahu_k backup verify new3
extracts_as new3 "$DATA/want-old2.txt"
t_result $? "download new3 --volume vol/data --extract gives the same tree"

# ---- an earlier backup's objects of the same name put in place ----
OBJ=$LOC/backups/new3/volumes/$VID
cp "$OBJ/index.jsonl.zst.kenc" "$T_DIR/index-first"
cp "$OBJ/data-000001.tar.zst.kenc" "$T_DIR/data-first"
t_ok "backup delete new3" kahu_k backup delete new3 --yes
t_ok "backup create new3 again (another run, the same data)" \
	kahu_k backup create new3 --incremental --parent old2 --include-namespaces vol --volume-data fs
cmp -s "$T_DIR/data-first" "$OBJ/data-000001.tar.zst.kenc"
t_result $((!$?)) "  its segment differs from the first run's (another run id, another stream header)"
[ "$(stat -c %s "$T_DIR/data-first")" = "$(stat -c %s "$OBJ/data-000001.tar.zst.kenc")" ]
t_result $? "  but has the same size, so the manifest's size does not tell them apart"
cp "$OBJ/data-000001.tar.zst.kenc" "$T_DIR/data-second"
cp "$OBJ/index.jsonl.zst.kenc" "$T_DIR/index-second"
cp "$T_DIR/data-first" "$OBJ/data-000001.tar.zst.kenc"
t_exit 77 "verify refuses the first run's segment (77)" kahu_k backup verify new3
t_grep "  naming it" "data-000001.tar.zst.kenc was written by another run of its backup \\(replaced\\)" "$T_ERR"
cp "$T_DIR/data-second" "$OBJ/data-000001.tar.zst.kenc"
cp "$T_DIR/index-first" "$OBJ/index.jsonl.zst.kenc"
t_exit 77 "download --extract refuses the first run's index (77)" \
	kahu_k backup download new3 --volume vol/data --extract "$T_DIR/x4"
t_grep "  naming it" "index.jsonl.zst.kenc was written by another run of its backup \\(replaced\\)" "$T_ERR"
t_ok "  and wrote nothing" sh -c "! test -e '$T_DIR/x4/kept.txt'"
t_exit 2 "restore into namespace vol2 fails the claim's data (PartiallyFailed, 2)" \
	kahu_k restore create r2 --from-backup new3 --namespace-mappings vol:vol2
t_ok "  restore describe r2 --details" kahu_k restore describe r2 --details
t_grep "  names the index as replaced" "index.jsonl.zst.kenc was written by another run of its backup \\(replaced\\)" "$T_OUT"
D2=$(vol_dir main vol2 data)
t_ok "  and nothing of it was written" sh -c "test -n '$D2' && ! test -e '$D2/kept.txt'"
cp "$T_DIR/index-second" "$OBJ/index.jsonl.zst.kenc"
t_ok "backup verify new3 with its own objects back" kahu_k backup verify new3

# ---- an unchanged incremental costs one exec: the listing checks the tools itself ----
stats() { CLUSTER_USE=main cluster_admin "$@"; }
stats POST /_admin/stats/reset >/dev/null
sleep 1
t_ok "backup create new4 --incremental --parent new3 (nothing changed)" \
	kahu_k backup create new4 --incremental --parent new3 --include-namespaces vol --volume-data fs -o json
vol_check "$T_OUT" vol/data method exec
vol_check "$T_OUT" vol/data bytesIncremental 0
n=$(stats GET /_admin/stats | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["exec_sessions"])')
[ "$n" = 1 ]
t_result $? "  one exec in the application's pod, the listing (no separate probe for the tools): $n"

# ---- a segment of a parent replaced by an earlier run's: refused by the run ----
# new4 stored nothing of its own: its files' content is in new3's segment and old1's.
# The first run of new3 wrote the same files (the same content, so the content hashes
# match): only the run its envelope carries tells the segments apart, and the restore
# reads every segment of the chain bound to the run of the backup that wrote it.
t_ok "download new4 --volume vol/data --extract (new3's segment, old1's)" \
	kahu_k backup download new4 --volume vol/data --extract "$T_DIR/x5"
cp "$T_DIR/data-first" "$OBJ/data-000001.tar.zst.kenc"
t_exit 77 "download new4 --extract refuses new3's segment of its first run (77)" \
	kahu_k backup download new4 --volume vol/data --extract "$T_DIR/x6"
t_grep "  naming it" "new3/volumes/$VID/data-000001.tar.zst.kenc was written by another run of its backup \\(replaced\\)" "$T_ERR"
t_exit 2 "restore new4 into namespace vol3 fails the claim's data (PartiallyFailed, 2)" \
	kahu_k restore create r3 --from-backup new4 --namespace-mappings vol:vol3
t_ok "  restore describe r3 --details" kahu_k restore describe r3 --details
t_grep "  names new3's segment as replaced" "data-000001.tar.zst.kenc was written by another run of its backup \\(replaced\\)" "$T_OUT"
cp "$T_DIR/data-second" "$OBJ/data-000001.tar.zst.kenc"
t_ok "restore new4 into namespace vol4 with new3's own segment back" \
	kahu_k restore create r4 --from-backup new4 --namespace-mappings vol:vol4
D4=$(vol_dir main vol4 data)
vol_tree_sum "$D4" >"$T_DIR/got" && diff "$DATA/want-old2.txt" "$T_DIR/got" >"$T_OUT"
t_result $? "  the claim holds old2's tree"
mv "$LOC/backups/new3/backup.json" "$T_DIR/new3.json"
t_exit 66 "download new4 --extract with new3's manifest gone (66)" \
	kahu_k backup download new4 --volume vol/data --extract "$T_DIR/x7"
t_grep "  naming the missing backup of the chain" "backup new3, in the chain of new4, is missing" "$T_ERR"
t_ok "  and wrote nothing" sh -c "! test -e '$T_DIR/x7/kept.txt'"
mv "$T_DIR/new3.json" "$LOC/backups/new3/backup.json"

t_done

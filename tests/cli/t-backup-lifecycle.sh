#!/usr/bin/env bash
# kahu backup: chains and life cycle.  Incremental and differential backups store only
# what changed, their index lists the whole state (deletions honoured), the parent is
# found or named; delete keeps chains whole (--cascade), asks first, selects by label or
# all; prune removes expired backups, applies --keep-last, --keep-hourly, --keep-yearly in
# a --time-zone, and --dry-run keeps all;
# download writes a tar, --extract a private tree; a passphrase alone opens the key.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cat >"$T_DIR/life.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: life}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-a, namespace: life}
data: {v: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-b, namespace: life}
data: {v: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-c, namespace: life}
data: {v: "1"}
EOF
cluster_start main --seed "$top_srcdir/examples/demo-apps.yaml" --seed "$T_DIR/life.yaml" ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
LOC=$XDG_DATA_HOME/kahu/backups
PRUNE_LOC=$T_DIR/prune-loc
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF
{"version": 1, "defaultLocation": "default",
 "locations": {"default": {"provider": "fs", "config": {"path": "$LOC"}},
               "pr": {"provider": "fs", "config": {"path": "$PRUNE_LOC"}}}}
EOF
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"

# The cluster changes through its own API (as kubectl would).
api() { # METHOD PATH [JSON]
	local args=(-sS --fail-with-body --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" -X "$1")
	local ct=application/json
	[ "$1" = PATCH ] && ct=application/merge-patch+json
	[ $# -ge 3 ] && args+=(-H "Content-Type: $ct" --data-binary "$3")
	curl "${args[@]}" "$CLUSTER_URL$2" >/dev/null
}
cm_path=/api/v1/namespaces/life/configmaps

# index NAME FILE: the index of backup NAME as "resource ns name" lines, sorted
index_of() {
	rm -rf "$T_DIR/ix" && "$KAHU" backup download "$1" --extract "$T_DIR/ix" >/dev/null 2>&1 &&
		"$PYTHON" -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    print(e["r"], e.get("ns", "-"), e["n"])' "$T_DIR/ix/kahu/index.jsonl" | sort >"$2"
}
# stored NAME: the objects stored in backup NAME's archive, as "resource ns name" lines
stored_of() {
	rm -rf "$T_DIR/sx" && "$KAHU" backup download "$1" --extract "$T_DIR/sx" >/dev/null 2>&1 &&
		(cd "$T_DIR/sx/resources" && find . -type f | sed -E 's#^\./##; s#\.json$##; s#/namespaces/# #; s#/cluster/# - #; s#/# #') | sort
}
same_lines() { # DESC EXPECTED-TEXT ACTUAL-TEXT
	printf '%s\n' "$2" >"$T_DIR/want"
	printf '%s\n' "$3" >"$T_DIR/have"
	diff -u "$T_DIR/want" "$T_DIR/have" >"$T_OUT"
	t_result $? "$1"
}
field() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T_OUT" "$1"; }

# ---- incremental ----
t_exit 66 "--incremental without any backup fails" kahu_k backup create inc-0 --incremental
t_grep "... saying a full backup is needed first" "no completed backup of the same scope.*create a full backup first" "$T_ERR"
t_exit 66 "--differential without any full backup fails" kahu_k backup create dif-0 --differential
t_exit 64 "--parent without --incremental or --differential is an error" kahu_k backup create x --parent nope
t_exit 64 "--incremental and --differential together are an error" kahu_k backup create x --incremental --differential

t_ok "full backup f1" kahu_k backup create f1
index_of f1 "$T_DIR/f1.idx"
grep -q "^configmaps life cm-b$" "$T_DIR/f1.idx"; t_result $? "... its index lists life/cm-b"
sleep 1
api PATCH "$cm_path/cm-a" '{"data":{"v":"2"}}'
api DELETE "$cm_path/cm-b"
api POST "$cm_path" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-d","namespace":"life"},"data":{"v":"1"}}'
cluster_admin GET "/_admin/dump?namespace=life" >"$T_DIR/life.json"
t_py "(the cluster changed: cm-a edited, cm-b deleted, cm-d created)" "
cms = {o['metadata']['name']: o for o in d['items'] if o['kind'] == 'ConfigMap'}
assert 'cm-b' not in cms and 'cm-d' in cms and cms['cm-a']['data']['v'] == '2', sorted(cms)" "$T_DIR/life.json"

t_ok "incremental backup i1" kahu_k backup create i1 --incremental -o json
t_py "... based on f1 automatically, storing 2 items of the whole state" "
assert d['type'] == 'incremental' and d['parent'] == 'f1', d
assert d['storedItems'] == 2 and d['items'] > 2, d" "$T_OUT"
same_lines "... its archive stores only the changed and the new ConfigMap" \
	"$(printf 'configmaps life cm-a\nconfigmaps life cm-d')" "$(stored_of i1)"
index_of i1 "$T_DIR/i1.idx"
same_lines "... its index is f1's minus cm-b plus cm-d" \
	"$( (grep -v '^configmaps life cm-b$' "$T_DIR/f1.idx"; echo 'configmaps life cm-d') | sort)" "$(cat "$T_DIR/i1.idx")"
t_ok "backup describe i1 -o json" "$KAHU" backup describe i1 -o json
t_py "... shows storedItems, parent and chain" "
assert d['storedItems'] == 2 and d['parent'] == 'f1' and d['chainFull'] == 'f1', d" "$T_OUT"
t_ok "backup describe i1" "$KAHU" backup describe i1
t_grep "... (table)" "^Items: +[0-9]+ \(2 stored in this backup\)" "$T_OUT"
t_grep "... names the parent" "^Type: +incremental \(parent f1, chain from f1\)" "$T_OUT"
t_ok "backup list" "$KAHU" backup list
t_grep "... shows the type" "^i1 +Completed +incremental " "$T_OUT"

# Another scope is never a parent.
sleep 1
t_ok "a full backup of another scope (life only)" kahu_k backup create life-only --include-namespaces life
sleep 1
api PATCH "$cm_path/cm-c" '{"data":{"v":"2"}}'
t_ok "incremental i2 picks the newest backup of the same scope" kahu_k backup create i2 --incremental -o json
t_py "... i1, not life-only" "
assert d['parent'] == 'i1' and d['storedItems'] == 1, d" "$T_OUT"
same_lines "... storing cm-c alone" "configmaps life cm-c" "$(stored_of i2)"
t_ok "incremental with --parent f1" kahu_k backup create i3 --incremental --parent f1 -o json
t_py "... is based on f1 and stores what changed since f1" "
assert d['parent'] == 'f1' and d['storedItems'] == 3, d" "$T_OUT"
t_ok "differential d1" kahu_k backup create d1 --differential -o json
t_py "... compares with the last full backup f1" "
assert d['type'] == 'differential' and d['parent'] == 'f1' and d['storedItems'] == 3, d" "$T_OUT"
same_lines "... storing cm-a, cm-c, cm-d" \
	"$(printf 'configmaps life cm-a\nconfigmaps life cm-c\nconfigmaps life cm-d')" "$(stored_of d1)"
t_ok "incremental of the life-only scope" kahu_k backup create life-inc --incremental --include-namespaces life -o json
t_py "... is based on life-only" "
assert d['parent'] == 'life-only' and d['storedItems'] == 1, d" "$T_OUT"
t_exit 66 "--parent naming no backup fails" kahu_k backup create i4 --incremental --parent nosuch
t_grep "... naming it" "nosuch" "$T_ERR"
t_ok "verify of an incremental backup" "$KAHU" backup verify i2

# ---- delete ----
t_exit 64 "deleting a parent without --cascade is refused (64)" "$KAHU" backup delete f1 --yes
t_grep "... naming all the dependants (also those built on a dependant)" "refusing to break a backup chain: d1, i1, i2, i3 depend" "$T_ERR"
t_grep "... and --cascade" "with --cascade" "$T_ERR"
"$KAHU" backup list -o name >"$T_OUT"
grep -qx backup/f1 "$T_OUT"; t_result $? "... f1 is still there"
t_exit 64 "delete without --yes on a non-terminal refuses" "$KAHU" backup delete i2 </dev/null
t_grep "... saying why" "without --yes" "$T_ERR"
"$KAHU" backup list -o name | grep -qx backup/i2; t_result $? "... i2 is still there"
t_ok "delete --yes of a backup nothing depends on" "$KAHU" backup delete i2 --yes
! "$KAHU" backup list -o name | grep -qx backup/i2; t_result $? "... it is gone"
[ ! -e "$LOC/backups/i2" ] || [ -z "$(find "$LOC/backups/i2" -type f)" ]; t_result $? "... with its files"
t_ok "delete i1 --cascade" "$KAHU" backup delete i1 --cascade --yes
"$KAHU" backup list -o name >"$T_OUT"
! grep -qx backup/i1 "$T_OUT" && grep -qx backup/f1 "$T_OUT" && grep -qx backup/d1 "$T_OUT"
t_result $? "... deletes i1 only (nothing else built on it), keeps f1 and d1"
t_ok "delete f1 --cascade --yes" "$KAHU" backup delete f1 --cascade --yes
t_grep "... says what it deleted" "deleted (f1|i3|d1)" "$T_OUT"
"$KAHU" backup list -o name >"$T_OUT"
! grep -qxE "backup/(f1|i3|d1)" "$T_OUT" && grep -qx backup/life-only "$T_OUT"
t_result $? "... the whole chain f1, i3, d1 is gone, the other scope's backups stay"
t_exit 66 "delete of a backup that does not exist" "$KAHU" backup delete nosuch --yes
t_exit 64 "delete with no name, --all or -l" "$KAHU" backup delete --yes
t_ok "labelled backups" kahu_k backup create lab-1 --labels purpose=test
t_ok "..." kahu_k backup create lab-2 --labels purpose=test
t_ok "..." kahu_k backup create keep-1 --labels purpose=keep
t_ok "delete -l purpose=test --yes" "$KAHU" backup delete -l purpose=test --yes
"$KAHU" backup list -o name >"$T_OUT"
! grep -qxE "backup/lab-[12]" "$T_OUT" && grep -qx backup/keep-1 "$T_OUT"
t_result $? "... deletes exactly the matching backups"
# A forged label (the manifest edited, its MAC no longer matching) selects nothing.
sed -i 's/"purpose":"keep"/"purpose":"test"/' "$LOC/backups/keep-1/backup.json"
grep -q '"purpose":"test"' "$LOC/backups/keep-1/backup.json"; t_result $? "(keep-1's label forged to purpose=test)"
t_ok "delete -l purpose=test --yes with a forged label on keep-1" "$KAHU" backup delete -l purpose=test --yes
t_grep "... leaves keep-1 alone, saying why" "leaving backup keep-1 alone: its labels match, but .*authentication" "$T_ERR"
"$KAHU" backup list -o name >"$T_OUT"
grep -qx backup/keep-1 "$T_OUT"; t_result $? "... keep-1 is still there"
t_exit 64 "delete --all without --yes on a non-terminal refuses" "$KAHU" backup delete --all </dev/null
t_ok "delete --all --yes" "$KAHU" backup delete --all --yes
"$KAHU" backup list -o name >"$T_OUT"
[ ! -s "$T_OUT" ]; t_result $? "... leaves no backup"
[ -z "$(find "$LOC/backups" -type f)" ]; t_result $? "... and no file under backups/"

# ---- prune (location pr) ----
pk() { "$KAHU" --kubeconfig "$KC" "$@" --location pr; }
t_ok "backups on location pr: old-1, old-2 (--ttl 1s), p1, p2, p3" pk backup create old-1 --ttl 1s
pk backup create old-2 --ttl 1s >/dev/null 2>&1
for n in p1 p2 p3; do sleep 1; pk backup create "$n" >/dev/null 2>&1; done
sleep 1
t_ok "backup list shows expired ones" "$KAHU" backup list --location pr
t_grep "... as expired" "^old-1 +Completed .* expired " "$T_OUT"
t_ok "prune --dry-run" "$KAHU" backup prune --dry-run --location pr
t_grep "... lists what it would remove" "would remove old-1" "$T_OUT"
t_grep "... both" "would remove old-2" "$T_OUT"
"$KAHU" backup list -o name --location pr >"$T_OUT"
[ "$(wc -l <"$T_OUT")" -eq 5 ]; t_result $? "... and keeps everything"
t_ok "prune" "$KAHU" backup prune --location pr
t_grep "... removes the expired backups" "removed old-1" "$T_OUT"
"$KAHU" backup list -o name --location pr >"$T_OUT"
[ "$(tr '\n' ' ' <"$T_OUT")" = "backup/p1 backup/p2 backup/p3 " ]; t_result $? "... and only them"
[ ! -e "$PRUNE_LOC/backups/old-1" ] || [ -z "$(find "$PRUNE_LOC/backups/old-1" -type f)" ]
t_result $? "... with their files"
t_ok "prune --keep-last 2 --dry-run" "$KAHU" backup prune --keep-last 2 --dry-run --location pr
t_grep "... would remove the oldest" "would remove p1" "$T_OUT"
t_nogrep "... and no other" "would remove p[23]" "$T_OUT"
t_ok "prune --keep-last 2" "$KAHU" backup prune --keep-last 2 --location pr
"$KAHU" backup list -o name --location pr >"$T_OUT"
[ "$(tr '\n' ' ' <"$T_OUT")" = "backup/p2 backup/p3 " ]; t_result $? "... keeps the 2 newest"
sleep 1
pk backup create p4 --incremental >/dev/null 2>&1
t_ok "prune --keep-last 1 with an incremental on top" "$KAHU" backup prune --keep-last 1 --location pr
"$KAHU" backup list -o name --location pr >"$T_OUT"
[ "$(tr '\n' ' ' <"$T_OUT")" = "backup/p3 backup/p4 " ]; t_result $? "... keeps the parent p3 the kept p4 builds on"
t_ok "prune with nothing to do" "$KAHU" backup prune --location pr
t_grep "... says so" "Nothing to prune" "$T_OUT"

# --keep-hourly, --keep-yearly and --time-zone (zones from the unit tests' copies).
export TZDIR=$top_srcdir/tests/unit/data/zoneinfo
berlin_hour() { TZ=:Europe/Berlin date +%Y%m%d%H; }
h0=$(berlin_hour)
for n in p5 p6; do sleep 1; pk backup create "$n" >/dev/null 2>&1; done
h1=$(berlin_hour)
t_ok "prune --keep-hourly 1 --time-zone Europe/Berlin --dry-run" \
	"$KAHU" backup prune --keep-hourly 1 --time-zone Europe/Berlin --dry-run --location pr
if [ "$h0" = "$h1" ]; then
	t_grep "... would remove p5 (the same hour as p6)" "would remove p5 \(kept by no policy\)" "$T_OUT"
else
	t_skip "... would remove p5 (the same hour as p6)" "p5 and p6 were made in two hours"
fi
t_grep "... and the older chain" "would remove p4 \(kept by no policy\)" "$T_OUT"
t_nogrep "... not p6" "would remove p6" "$T_OUT"
t_ok "prune --keep-yearly 1 --keep-hourly 0 --time-zone America/New_York" \
	"$KAHU" backup prune --keep-yearly 1 --keep-hourly 0 --time-zone America/New_York --location pr
"$KAHU" backup list -o name --location pr >"$T_OUT"
if [ "${h0:0:4}" = "${h1:0:4}" ]; then
	[ "$(tr '\n' ' ' <"$T_OUT")" = "backup/p6 " ]; t_result $? "... keeps only the newest of the year, p6"
else
	t_skip "... keeps only the newest of the year, p6" "the year changed during the test"
fi
t_exit 64 "prune --time-zone of an unknown zone" "$KAHU" backup prune --keep-daily 1 --time-zone Mars/Olympus_Mons --location pr
t_grep "... names it" '^kahu: error: --time-zone: unknown time zone "Mars/Olympus_Mons"' "$T_ERR"
t_exit 64 "prune --time-zone with a path" "$KAHU" backup prune --keep-daily 1 --time-zone ../../etc/passwd --location pr
t_grep "... is refused as a zone name" 'time zone "../../etc/passwd" is not a zone name' "$T_ERR"
t_exit 64 "prune --time-zone ''" "$KAHU" backup prune --keep-daily 1 --time-zone '' --location pr
t_exit 64 "prune --keep-yearly x" "$KAHU" backup prune --keep-yearly x --location pr
t_grep "... says which flag" '--keep-yearly must be a whole number' "$T_ERR"
mkdir -p "$T_DIR/zones/Bad"
printf 'TZif2 but not really\n' >"$T_DIR/zones/Bad/Zone"
t_exit 65 "prune --time-zone of a zone file that is not TZif" \
	env TZDIR="$T_DIR/zones" "$KAHU" backup prune --keep-daily 1 --time-zone Bad/Zone --location pr
t_grep "... says what is wrong" 'time zone Bad/Zone: not a valid TZif file' "$T_ERR"
"$KAHU" backup list -o name --location pr >"$T_OUT"
[ "$(wc -l <"$T_OUT")" -ge 1 ] && grep -qx backup/p6 "$T_OUT"; t_result $? "... refusals removed nothing"
unset TZDIR

# ---- download ----
t_ok "a backup to download" kahu_k backup create dl
cd "$T_DIR" || exit 1
t_ok "backup download -o FILE" "$KAHU" backup download dl -o "$T_DIR/dl.tar"
[ "$(stat -c %a "$T_DIR/dl.tar")" = 600 ]; t_result $? "... the tar has mode 0600"
tar -tf "$T_DIR/dl.tar" >"$T_OUT" 2>"$T_ERR"
t_result $? "... it is a tar"
t_grep "... with resources/<type>/namespaces/<ns>/<name>.json" "^resources/configmaps/namespaces/life/cm-a\.json$" "$T_OUT"
t_grep "... and resources/<type>/cluster/<name>.json" "^resources/namespaces/cluster/life\.json$" "$T_OUT"
t_grep "... metadata/version" "^metadata/version$" "$T_OUT"
tar -xOf "$T_DIR/dl.tar" resources/configmaps/namespaces/life/cm-a.json >"$T_OUT"
t_py "... holding the object" "assert d['kind'] == 'ConfigMap' and d['data'] == {'v': '2'}, d" "$T_OUT"
t_ok "backup download without -o writes NAME.tar" "$KAHU" backup download dl
[ -f "$T_DIR/dl.tar" ]; t_result $? "... here"
t_ok "backup download --extract DIR" "$KAHU" backup download dl --extract "$T_DIR/ex"
[ -f "$T_DIR/ex/resources/configmaps/namespaces/life/cm-a.json" ]; t_result $? "... extracts resources/"
bad=$(find "$T_DIR/ex" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \))
echo "$bad" >"$T_OUT"
[ -z "$bad" ]; t_result $? "... files 0600, directories 0700"
tar -tf "$T_DIR/dl.tar" | grep -v '/$' | sort >"$T_DIR/tar.list"
(cd "$T_DIR/ex" && find . -type f | sed 's#^\./##' | sort) >"$T_DIR/ex.list"
diff -u "$T_DIR/tar.list" "$T_DIR/ex.list" >"$T_OUT"; t_result $? "... the same files as the tar"
t_exit 64 "-o and --extract together are an error" "$KAHU" backup download dl -o x.tar --extract x
t_exit 66 "download of a backup that does not exist" "$KAHU" backup download nosuch

# ---- passphrase ----
export KAHU_TEST_WEAK_KDF=1
printf 'a long and private passphrase\n' >"$T_DIR/pass"
chmod 600 "$T_DIR/pass"
t_ok "key add-passphrase" "$KAHU" key add-passphrase --passphrase-file "$T_DIR/pass"
mv "$XDG_CONFIG_HOME/kahu/keys/default.key" "$T_DIR/default.key.away"
t_fail "without the key file, backup create fails" kahu_k backup create pp-0
t_ok "with only KAHU_PASSPHRASE_FILE set, backup create works" env KAHU_PASSPHRASE_FILE="$T_DIR/pass" "$KAHU" --kubeconfig "$KC" backup create pp-1
t_nogrep "... and generates no new key" "generated a new encryption key" "$T_ERR"
[ ! -e "$XDG_CONFIG_HOME/kahu/keys/default.key" ]; t_result $? "... (no default key appeared)"
t_ok "... and verify" env KAHU_PASSPHRASE_FILE="$T_DIR/pass" "$KAHU" backup verify pp-1
t_ok "... and describe" env KAHU_PASSPHRASE_FILE="$T_DIR/pass" "$KAHU" backup describe pp-1
printf 'wrong\n' >"$T_DIR/wrong"; chmod 600 "$T_DIR/wrong"
t_exit 77 "a wrong passphrase exits 77" env KAHU_PASSPHRASE_FILE="$T_DIR/wrong" "$KAHU" backup verify pp-1
mv "$T_DIR/default.key.away" "$XDG_CONFIG_HOME/kahu/keys/default.key"
t_ok "the key file opens the passphrase run's backup too" "$KAHU" backup verify pp-1
grep -rqaF "a long and private passphrase" "$LOC" "$T_OUT" "$T_ERR"
[ $? -ne 0 ]; t_result $? "the passphrase appears nowhere on the location"

t_done

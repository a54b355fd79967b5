#!/usr/bin/env bash
# kahu backup: what goes wrong.  API faults still give a complete backup; a forbidden
# type gives PartiallyFailed (exit 2) with the reason; verify and download detect a
# wrong key, tampered, truncated, swapped, forged and missing objects (and download
# leaves no file); a full disk exits 74 and leaves nothing visible; SIGINT, SIGTERM and
# kill -9 leave nothing listed and prune cleans up; the location lock keeps a second
# writer out and a stale lock is broken.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

seeds=(--seed "$top_srcdir/examples/demo-apps.yaml")
[ -d "$KAHU_CORPUS/manifests" ] && seeds+=(--seed "$KAHU_CORPUS/manifests")
cluster_start main "${seeds[@]}" --synthetic 300 --synthetic-namespaces 3 ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
LOC=$XDG_DATA_HOME/kahu/backups
B=$LOC/backups
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
"$KAHU" key generate --file "$T_DIR/other.key" >/dev/null 2>&1

cat >"$T_DIR/kt.py" <<'PY'
import json, os, ssl, sys, urllib.request

sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "cli"))
from kahu_discovery import fetch_discovery  # noqa: E402

def expected(disc, dump, minus=()):
    disc = json.load(open(disc))
    out = set()
    for o in json.load(open(dump))["items"]:
        g = o["apiVersion"].rpartition("/")[0]
        grs = [gr for gr, t in disc.items() if t["group"] == g and t["kind"] == o["kind"]]
        if not grs or not disc[grs[0]]["backupable"] or grs[0] in minus:
            continue
        gr = {"events.events.k8s.io": "events"}.get(grs[0], grs[0])
        md = o["metadata"]
        out.add((gr, md.get("namespace", "") if disc[gr]["namespaced"] else "", md["name"]))
    return out

def archive(root):
    res = set()
    base = os.path.join(root, "resources")
    for d, _, files in os.walk(base):
        for f in files:
            p = os.path.relpath(os.path.join(d, f), base).split("/")
            res.add((p[0], p[2], p[3][:-5]) if p[1] == "namespaces" else (p[0], "", p[2][:-5]))
    return res

if __name__ == "__main__":
    if sys.argv[1] == "discovery":
        fetch_discovery(*sys.argv[2:6])
        sys.exit(0)
    # compare DISC DUMP DIR [TYPES-MISSING-ON-PURPOSE...]
    want, have = expected(sys.argv[2], sys.argv[3], sys.argv[5:]), archive(sys.argv[4])
    for k in sorted(want - have)[:25]:
        print("missing from the backup: %s %s/%s" % k)
    for k in sorted(have - want)[:25]:
        print("unexpected in the backup: %s %s/%s" % k)
    print("%d expected, %d in the backup" % (len(want), len(have)))
    sys.exit(0 if want == have and want else 1)
PY
"$PYTHON" "$T_DIR/kt.py" discovery "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA" "$T_DIR/disc.json" >"$T_OUT" 2>"$T_ERR"
t_result $? "discovery read independently of kahu"
cluster_admin GET /_admin/dump >"$T_DIR/dump.json"

# compare NAME [TYPES LEFT OUT]: the backup's objects equal the dump's backupable ones
compare() {
	local name=$1; shift
	rm -rf "$T_DIR/x-$name"
	t_run "$KAHU" backup download "$name" --extract "$T_DIR/x-$name" &&
		t_run "$PYTHON" "$T_DIR/kt.py" compare "$T_DIR/disc.json" "$T_DIR/dump.json" "$T_DIR/x-$name" "$@"
}
listed() { "$KAHU" backup list -o name 2>/dev/null | grep -qx "backup/$1"; }
# no file at all under backups/NAME, dot files included
no_files() { [ -z "$(find "$B/$1" -type f 2>/dev/null)" ]; }
wait_lock() { # wait until a lock object exists (the run is under way)
	local i
	for i in $(seq 1 100); do
		[ -n "$(ls "$LOC/locks" 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	return 1
}

# ---- API faults: retried, and the backup is still complete ----
cluster_admin POST /_admin/faults '[
 {"match":{"verb":"list","resource":"configmaps"},"action":"expire-continue","page":3,"times":1},
 {"match":{"verb":"list","resource":"services"},"action":"429","retry_after":1,"times":2},
 {"match":{"verb":"list","resource":"secrets"},"action":"500","times":2},
 {"match":{"verb":"list","resource":"serviceaccounts"},"action":"reset","times":1},
 {"match":{"verb":"list","resource":"deployments","group":"apps"},"action":"503","times":1}]' >/dev/null
t_ok "backup create through 429, 500, 503, a reset connection and an expired continue token (--page-size 7)" \
	kahu_k --page-size 7 backup create faulty -v
cp "$T_ERR" "$T_DIR/faulty.err"
t_grep "... the 429 waited for Retry-After" "/api/v1/services.* 429, retrying in 1" "$T_DIR/faulty.err"
t_grep "... the 500 was retried" "/api/v1/secrets.* 500, retrying" "$T_DIR/faulty.err"
t_grep "... the reset was retried" "/api/v1/serviceaccounts.*retrying" "$T_DIR/faulty.err"
t_grep "... the expired continue token is reported" "configmaps.*continue token expired" "$T_DIR/faulty.err"
cluster_admin GET /_admin/faults >"$T_DIR/faults.json"
t_py "... every fault fired" "
for r in d['rules']:
    assert r['fired'] == r['times'], r" "$T_DIR/faults.json"
cluster_admin DELETE /_admin/faults >/dev/null
compare faulty; t_result $? "... and the backup holds exactly the server's objects"
t_ok "backup describe faulty -o json" "$KAHU" backup describe faulty -o json
t_py "... configmaps carry the inconsistent-list warning, the backup is Completed" "
t = {x['resource']: x for x in d['types']}
assert 'inconsistent' in t['configmaps'].get('warning', ''), t['configmaps']
assert d['status'] == 'Completed', d['status']
assert t['configmaps']['items'] >= 300, t['configmaps']" "$T_OUT"

# ---- a type the user may not list ----
t_exit 2 "backup create as user 'limited' (secrets and roles forbidden) exits 2" \
	kahu_k --context limited backup create partial
t_grep "... naming the forbidden types" "secrets: .*forbidden" "$T_OUT"
t_grep "... and saying PartiallyFailed" "PartiallyFailed" "$T_ERR"
t_grep "... its volume shop/shop-data failed (by default its data is backed up): 'limited' may not create pods/exec" \
	'volume shop/shop-data: .*pods/exec' "$T_ERR"
t_ok "backup list" "$KAHU" backup list
t_grep "... shows it PartiallyFailed" "^partial +PartiallyFailed +full " "$T_OUT"
t_ok "backup describe partial" "$KAHU" backup describe partial
t_grep "... status PartiallyFailed" "^Status: +PartiallyFailed" "$T_OUT"
t_grep "... with the reason per type" "^  secrets +0 +0 +.*forbidden.*403" "$T_OUT"
compare partial secrets roles.rbac.authorization.k8s.io
t_result $? "... every other type is complete"

# ---- verify ----
for n in good tamper tamper2 trunc swap-a swap-b forged nometa nolog; do
	kahu_k backup create "$n" >/dev/null 2>"$T_ERR" || echo "# backup create $n failed: $(cat "$T_ERR")"
done
t_ok "backup verify of an intact backup" "$KAHU" backup verify good
t_grep "... says it is intact" "^Backup good is intact" "$T_OUT"

t_exit 77 "verify with another key (--key-file) exits 77" "$KAHU" backup verify good --key-file "$T_DIR/other.key"
t_grep "... naming both key ids" "encrypted with key [0-9a-f]{32}; the key in use .* is [0-9a-f]{32}" "$T_ERR"
mkdir -p "$T_DIR/dl" && cd "$T_DIR/dl" || exit 1
t_exit 77 "download with another key exits 77" "$KAHU" backup download good -o good.tar --key-file "$T_DIR/other.key"
[ -z "$(ls -A)" ]; t_result $? "... and leaves no file"

# download_fails NAME CODE DESC: download -o and --extract fail with CODE, no file left
download_fails() {
	t_exit "$2" "download of the $3 backup fails" "$KAHU" backup download "$1" -o "$1.tar"
	t_grep "... naming the backup" "backup $1|backups/$1/" "$T_ERR"
	[ -z "$(ls -A)" ]; t_result $? "... and leaves no file, not even a partial one"
	t_fail "download --extract of the $3 backup fails" "$KAHU" backup download "$1" --extract "x-$1"
	rm -rf "x-$1"
}

# flip FILE OFFSET: invert one byte (writing a fixed value could write what is there)
flip() { "$PYTHON" -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))' "$1" "$2"; }
f=$B/tamper/metadata.tar.zst.kenc
flip "$f" 3000
t_exit 77 "verify of a metadata archive with one byte changed exits 77" "$KAHU" backup verify tamper
t_grep "... naming the object" "backups/tamper/metadata\.tar\.zst\.kenc" "$T_ERR"
t_grep "... as tampered or corrupt" "authentication|corrupt|tampered" "$T_ERR"
download_fails tamper 77 tampered
t_fail "describe of the tampered backup fails" "$KAHU" backup describe tamper
f=$B/tamper2/metadata.tar.zst.kenc
size=$(stat -c %s "$f")
flip "$f" $((size - 20))
t_fail "verify of an archive with a byte changed near its end fails" "$KAHU" backup verify tamper2
t_grep "... naming the object" "backups/tamper2/metadata\.tar\.zst\.kenc" "$T_ERR"

f=$B/trunc/metadata.tar.zst.kenc
truncate -s $(($(stat -c %s "$f") / 2)) "$f"
t_exit 65 "verify of a truncated archive exits 65" "$KAHU" backup verify trunc
t_grep "... saying it is truncated" "backups/trunc/metadata\.tar\.zst\.kenc.*truncated" "$T_ERR"
download_fails trunc 65 truncated

mv "$B/swap-a/metadata.tar.zst.kenc" "$T_DIR/swap.tmp"
mv "$B/swap-b/metadata.tar.zst.kenc" "$B/swap-a/metadata.tar.zst.kenc"
mv "$T_DIR/swap.tmp" "$B/swap-b/metadata.tar.zst.kenc"
t_fail "verify of backup swap-a holding swap-b's archive fails" "$KAHU" backup verify swap-a
t_grep "... naming the object" "backups/swap-a/metadata\.tar\.zst\.kenc" "$T_ERR"
t_fail "... and the other way round" "$KAHU" backup verify swap-b
t_grep "... naming the object" "backups/swap-b/metadata\.tar\.zst\.kenc" "$T_ERR"
download_fails swap-a 65 swapped

m=$B/forged/backup.json
sed -i 's/"items":[0-9]*/"items":1/' "$m"
grep -q '"items":1,' "$m"; t_result $? "(the forged manifest says items 1)"
t_exit 77 "verify of a manifest with an edited count exits 77 (MAC)" "$KAHU" backup verify forged
t_grep "... saying the manifest was altered or forged" "manifest of backup forged failed authentication" "$T_ERR"
download_fails forged 77 forged
t_fail "describe of the forged backup fails too" "$KAHU" backup describe forged
t_fail "... and logs" "$KAHU" backup logs forged

# JSON, but not a manifest: listed as Unreadable, naming what is wrong; never read.
mkdir -p "$B/odd" && printf '{"name":"odd","status":"Completed"}\n' >"$B/odd/backup.json"
t_ok "backup list with a backup.json that is not a manifest" "$KAHU" backup list -o json
t_py "... lists it Unreadable, naming what is wrong" "
o = [b for b in d['backups'] if b['name'] == 'odd'][0]
assert o['status'] == 'Unreadable' and 'backups/odd/backup.json: malformed manifest' in o['problem'], o" "$T_OUT"
t_exit 65 "... verify of it exits 65" "$KAHU" backup verify odd
t_grep "... saying what is wrong" "backup odd: malformed manifest" "$T_ERR"
rm -r "$B/odd"

rm "$B/nometa/metadata.tar.zst.kenc"
t_exit 65 "verify of a backup whose archive was deleted exits 65" "$KAHU" backup verify nometa
t_grep "... naming the missing object" "backups/nometa/metadata\.tar\.zst\.kenc is missing" "$T_ERR"
download_fails nometa 65 incomplete
rm "$B/nolog/log.jsonl.zst.kenc"
t_exit 65 "verify of a backup whose log was deleted exits 65" "$KAHU" backup verify nolog
t_grep "... naming the missing object" "backups/nolog/log\.jsonl\.zst\.kenc is missing" "$T_ERR"
cd "$T_DIR" || exit 1

# ---- the lock, and interrupted runs ----
# Every list is slowed down (1 s), so a backup takes many seconds even without the corpus.
slow() { cluster_admin POST /_admin/faults '[{"match":{"verb":"list"},"action":"slow","delay_ms":1000,"times":1000000}]' >/dev/null; }
slow
"$KAHU" --kubeconfig "$KC" --page-size 20 backup create slowpoke >"$T_DIR/slow.out" 2>"$T_DIR/slow.err" &
pid=$!
wait_lock; t_result $? "a slow backup create holds the location's lock"
t_exit 75 "a second backup create on the location exits 75 (locked)" kahu_k backup create second
t_grep "... naming the holder's pid and purpose" "locked by .*pid $pid .*\(backup create\)" "$T_ERR"
t_exit 75 "backup delete waits for no one either (75)" "$KAHU" backup delete good --yes
t_exit 75 "... nor backup prune" "$KAHU" backup prune
t_ok "backup list still works while the location is locked" "$KAHU" backup list
kill -INT $pid
start=$(date +%s)
wait $pid; rc=$?
echo "exit $rc after $(($(date +%s) - start)) s" >"$T_OUT"; cp "$T_DIR/slow.err" "$T_ERR"
[ $rc -eq 130 ]; t_result $? "SIGINT: backup create exits 130"
[ $(($(date +%s) - start)) -le 5 ]; t_result $? "... promptly"
t_grep "... saying nothing was kept" "nothing was kept" "$T_DIR/slow.err"
! listed slowpoke; t_result $? "... the backup is not listed"
[ -z "$(ls "$LOC/locks")" ]; t_result $? "... and the lock is released"
no_files slowpoke; t_result $? "... and no file of it is left"

# --lock-wait, against a lock of another host's run (planted: a live lock, a minute old)
plant_lock() {
	local now ago
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	ago=$(date -u -d '1 minute ago' +%Y-%m-%dT%H:%M:%SZ)
	printf '{"kahu_lock": 1, "id": "0000beef", "host": "elsewhere", "pid": 4242, "user": "ops", "started": "%s", "refreshed": "%s", "purpose": "backup prune", "kahu_version": "0.1.0"}\n' \
		"$ago" "$now" >"$LOC/locks/0000beef.json"
}
cluster_admin DELETE /_admin/faults >/dev/null
plant_lock
t_exit 64 "--lock-wait bogus exits 64" "$KAHU" backup delete good --yes --lock-wait bogus
t0=$(date +%s)
t_exit 75 "backup delete --lock-wait 2s gives up when the lock stays (75)" "$KAHU" backup delete good --yes --lock-wait 2s
waited=$(($(date +%s) - t0))
t_grep "... saying it waits" "locked by ops@elsewhere pid 4242 .*\(backup prune\); waiting up to 2s for it" "$T_ERR"
t_grep "... and how long it waited" "waited 2s for the lock" "$T_ERR"
[ "$waited" -ge 2 ] && [ "$waited" -le 10 ]; t_result $? "... after about 2 s (took $waited s)"
listed good; t_result $? "... and deleted nothing"
"$KAHU" backup prune --lock-wait 5m >"$T_DIR/pw.out" 2>"$T_DIR/pw.err" &
ppid=$!
sleep 1
kill -INT $ppid
t0=$(date +%s)
wait $ppid; rc=$?
echo "exit $rc after $(($(date +%s) - t0)) s" >"$T_OUT"; cp "$T_DIR/pw.err" "$T_ERR"
[ $rc -eq 130 ] && [ $(($(date +%s) - t0)) -le 3 ]; t_result $? "Ctrl-C ends a --lock-wait wait at once (130)"
t_grep "... saying so" "interrupted while waiting for the lock" "$T_DIR/pw.err"
"$KAHU" --kubeconfig "$KC" backup create waiter --lock-wait 5m >"$T_DIR/waiter.out" 2>"$T_DIR/waiter.err" &
wpid=$!
sleep 2
! listed waiter; t_result $? "backup create --lock-wait 5m waits while the lock is held"
rm "$LOC/locks/0000beef.json"
wait $wpid; rc=$?
echo "exit $rc" >"$T_OUT"; cp "$T_DIR/waiter.err" "$T_ERR"
[ $rc -eq 0 ]; t_result $? "... and runs once it is free"
t_grep "... having said that it waits" "waiting up to 5m for it" "$T_DIR/waiter.err"
listed waiter; t_result $? "... its backup is listed"
[ -z "$(ls "$LOC/locks")" ]; t_result $? "... and no lock is left"
slow

"$KAHU" --kubeconfig "$KC" --page-size 20 backup create termed >/dev/null 2>"$T_DIR/term.err" &
pid=$!
wait_lock
kill -TERM $pid
wait $pid; rc=$?
echo "exit $rc" >"$T_OUT"
[ $rc -eq 143 ]; t_result $? "SIGTERM: backup create exits 143"
! listed termed && no_files termed; t_result $? "... nothing listed, nothing left"

"$KAHU" --kubeconfig "$KC" --page-size 20 backup create killed >/dev/null 2>&1 &
pid=$!
wait_lock
sleep 1
kill -KILL $pid
wait $pid 2>/dev/null
! listed killed; t_result $? "kill -9 mid-run: the backup is not listed"
t_exit 66 "... describe does not find it" "$KAHU" backup describe killed
cluster_admin DELETE /_admin/faults >/dev/null
# The forged backup above is still there: prune leaves it alone and says so (77).
t_exit 77 "backup prune after the kill" "$KAHU" backup prune
t_grep "... leaving the forged backup alone" "leaving backup forged alone: .*failed authentication" "$T_ERR"
t_grep "... breaks the dead process' lock with a warning" "breaking stale lock .*pid $pid" "$T_ERR"
find "$B/killed" -type f >"$T_OUT" 2>/dev/null
no_files killed
t_result $? "... and removes every file the killed run left (the unfinished upload too)"
! listed killed; t_result $? "... nothing listed"
t_ok "backup create slowpoke (the interrupted name) now succeeds" kahu_k backup create slowpoke
t_ok "... and verifies" "$KAHU" backup verify slowpoke
t_ok "backup create killed (the killed name) succeeds" kahu_k backup create killed

# A lock of a process that no longer exists on this host is broken with a warning.
sh -c 'exit 0' & dead=$!; wait $dead
mkdir -p "$LOC/locks"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat >"$LOC/locks/0123456789abcdef.json" <<EOF
{"kahu_lock": 1, "id": "0123456789abcdef", "host": "$(uname -n)", "pid": $dead, "user": "someone",
 "started": "$now", "refreshed": "$now", "purpose": "backup create ghost", "kahu_version": "0.1.0"}
EOF
chmod 600 "$LOC/locks/0123456789abcdef.json"
t_ok "a stale lock (dead pid on this host) does not block backup create" kahu_k backup create after-stale
t_grep "... it is broken with a warning naming it" "breaking stale lock locks/0123456789abcdef\.json .*pid $dead.*no longer exists" "$T_ERR"
[ ! -e "$LOC/locks/0123456789abcdef.json" ]; t_result $? "... and removed"
# A live process' lock is respected.
sleep 30 & live=$!
T_CLEANUP+=("kill $live")
sed "s/\"pid\": $dead/\"pid\": $live/" >"$LOC/locks/0123456789abcdef.json" <<EOF
{"kahu_lock": 1, "id": "0123456789abcdef", "host": "$(uname -n)", "pid": $dead, "user": "someone",
 "started": "$now", "refreshed": "$now", "purpose": "backup create ghost", "kahu_version": "0.1.0"}
EOF
t_exit 75 "a live process' lock blocks backup create (75)" kahu_k backup create blocked
t_grep "... naming it" "locked by someone@.* pid $live .*backup create ghost" "$T_ERR"
kill $live 2>/dev/null
rm -f "$LOC/locks/0123456789abcdef.json"

# ---- a full disk ----
SMALL=$T_DIR/small
mkdir -p "$SMALL"
if mount -t tmpfs -o size=200k tmpfs "$SMALL" 2>/dev/null; then
	T_CLEANUP+=("umount '$SMALL'")
	cat >"$T_DIR/small.json" <<EOF
{"version":1,"locations":{"small":{"provider":"fs","config":{"path":"$SMALL"}}},"defaultLocation":"small"}
EOF
	chmod 600 "$T_DIR/small.json"
	cluster_admin POST /_admin/synthetic '{"count":3000,"namespaces":5,"kind":"ConfigMap","size":2000,"prefix":"filler"}' >/dev/null
	t_exit 74 "backup create on a location that fills up exits 74" \
		kahu_k --config "$T_DIR/small.json" backup create big
	t_grep "... saying the disk is full and nothing was kept" "nothing was kept.*no space left" "$T_ERR"
	t_ok "backup list on the full location" "$KAHU" --config "$T_DIR/small.json" backup list -o name
	[ ! -s "$T_OUT" ]; t_result $? "... lists nothing"
	t_ok "backup prune on the full location" "$KAHU" --config "$T_DIR/small.json" backup prune
	find "$SMALL" -type f ! -name kahu-repo.json >"$T_OUT"
	[ ! -s "$T_OUT" ]; t_result $? "... no file is left but kahu-repo.json (no temporary, no lock)"
	umount "$SMALL"
else
	t_skip "backup create on a location that fills up exits 74" "cannot mount a tmpfs here"
fi

t_done

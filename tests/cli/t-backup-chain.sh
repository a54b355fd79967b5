#!/usr/bin/env bash
# kahu backup chains when types fail, and what prune trusts.  A type that cannot be
# listed in an incremental backup (forbidden, or failing half-way through its pages) is
# carried over whole from the parent, never read as deleted by a restore, and the
# restore's result, describe and dry run say where its items come from; a backup of an
# earlier kahu that did not carry it over is restored from the chain the same way.  A
# backup in which every type failed is Failed (exit 1), counts for no --keep-* policy
# and is never a parent.  Prune acts only on authenticated manifests (a flipped bit in
# "expires" deletes nothing) and needs the key for that.  A backup that fails on a full
# disk leaves nothing behind.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cat >"$T_DIR/chain.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: chain}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: chain}
data: {v: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: s1, namespace: chain}
stringData: {password: one}
---
apiVersion: v1
kind: Secret
metadata: {name: s2, namespace: chain}
stringData: {password: two}
---
apiVersion: v1
kind: Secret
metadata: {name: s3, namespace: chain}
stringData: {password: three}
EOF
cluster_start dst || { t_result 1 "test cluster (restore target) starts"; t_done; exit 1; }
cluster_start src --seed "$T_DIR/chain.yaml" || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG_SRC
KCD=$CLUSTER_KUBECONFIG_DST
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
kahu_d() { "$KAHU" --kubeconfig "$KCD" "$@"; }
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
LOC=$XDG_DATA_HOME/kahu/backups
B=$LOC/backups
CLEAR_LOC=$T_DIR/clear-loc
PR_LOC=$T_DIR/prune-loc
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF
{"version": 1, "defaultLocation": "default",
 "locations": {"default": {"provider": "fs", "config": {"path": "$LOC"}},
               "clear": {"provider": "fs", "config": {"path": "$CLEAR_LOC"}},
               "pr": {"provider": "fs", "config": {"path": "$PR_LOC"}}}}
EOF
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"
SCOPE=(--include-namespaces chain)

# The clusters change through their own API (as kubectl would).
api() { # METHOD PATH [JSON] (on the source cluster)
	local args=(-sS --fail-with-body --cacert "$CLUSTER_CA_SRC" -H "Authorization: Bearer $CLUSTER_TOKEN_SRC" -X "$1")
	[ $# -ge 3 ] && args+=(-H "Content-Type: application/merge-patch+json" --data-binary "$3")
	curl "${args[@]}" "$CLUSTER_URL_SRC$2" >/dev/null
}
faults() { CLUSTER_USE=src cluster_admin "$@" >/dev/null; }
# secret NAME: the password of Secret chain/NAME in the restore target, or "absent"
secret() {
	CLUSTER_USE=dst cluster_admin GET "/_admin/dump?namespace=chain" | "$PYTHON" -c '
import base64, json, sys
for o in json.load(sys.stdin)["items"]:
    if o["kind"] == "Secret" and o["metadata"]["name"] == sys.argv[1]:
        print(base64.b64decode(o["data"]["password"]).decode()); break
else:
    print("absent")' "$1"
}
# empty_target: the restore target without the namespace
empty_target() {
	CLUSTER_USE=dst cluster_admin GET /_admin/dump >/dev/null
	curl -sS --cacert "$CLUSTER_CA_DST" -H "Authorization: Bearer $CLUSTER_TOKEN_DST" -X DELETE \
		"$CLUSTER_URL_DST/api/v1/namespaces/chain" >/dev/null 2>&1
	[ "$(secret s1)" = absent ]
}
index_of() { # NAME [LOCATION]: "resource ns name hash" lines of a backup's index, sorted
	rm -rf "$T_DIR/ix" && "$KAHU" backup download "$1" --extract "$T_DIR/ix" ${2:+--location "$2"} >/dev/null 2>&1 &&
		"$PYTHON" -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    print(e["r"], e.get("ns", "-"), e["n"], e["h"])' "$T_DIR/ix/kahu/index.jsonl" | sort
}
spec_of() { # NAME: kahu/backup.json of a backup into $T_OUT
	rm -rf "$T_DIR/sx" && "$KAHU" backup download "$1" --extract "$T_DIR/sx" >/dev/null 2>&1 &&
		cp "$T_DIR/sx/kahu/backup.json" "$T_OUT"
}
forbid_secrets() { faults POST /_admin/faults '[{"match":{"verb":"list","resource":"secrets"},"action":"403"}]'; }

# ---- a type forbidden in an incremental backup is carried over from its parent ----
t_ok "full backup f1" kahu_k backup create f1 "${SCOPE[@]}"
index_of f1 | grep '^secrets ' >"$T_DIR/f1.secrets"
[ "$(wc -l <"$T_DIR/f1.secrets")" -eq 3 ]; t_result $? "... its index holds the three Secrets"
sleep 1
api PATCH /api/v1/namespaces/chain/configmaps/settings '{"data":{"v":"2"}}'
forbid_secrets
t_exit 2 "incremental i1 with Secrets forbidden is PartiallyFailed (2)" kahu_k backup create i1 --incremental "${SCOPE[@]}"
t_grep "... saying the Secrets are carried over from f1" "its 3 items are carried over from backup f1" "$T_OUT"
faults DELETE /_admin/faults
index_of i1 | grep '^secrets ' >"$T_DIR/i1.secrets"
diff -u "$T_DIR/f1.secrets" "$T_DIR/i1.secrets" >"$T_OUT"; t_result $? "... its index holds f1's Secret lines, all of them"
spec_of i1
t_py "... kahu/backup.json records the failure and where the items come from" "
t = {x['resource']: x for x in d['types']}
s = t['secrets']
assert d['status'] == 'PartiallyFailed', d['status']
assert 'error' in s and s['carriedOverFrom'] == 'f1' and s['items'] == 3, s
assert 'carriedOverIncomplete' not in s, s
assert 'carriedOverFrom' not in t['configmaps'], t['configmaps']
assert sum(x['items'] for x in d['types']) == d['items'], 'per-type items do not add up'" "$T_OUT"
t_ok "backup describe i1" "$KAHU" backup describe i1
t_grep "... names the backup the Secrets come from" "secrets .*carried over from backup f1" "$T_OUT"

empty_target; t_result $? "(the restore target has no namespace chain)"
t_ok "restore --dry-run of i1" kahu_d restore create ri1-dry --from-backup i1 --dry-run
t_grep "... would create the Secrets" "secrets +chain +s1 +would create" "$T_OUT"
t_grep "... and says they come from f1" "could not back up secrets .*its 3 items come from the older backup f1" "$T_OUT"
t_ok "restore i1 into an empty cluster" kahu_d restore create ri1 --from-backup i1
[ "$(secret s1) $(secret s2) $(secret s3)" = "one two three" ]; t_result $? "... the Secrets are there"
t_ok "restore describe ri1" "$KAHU" restore describe ri1
t_grep "... says the Secrets come from the older backup f1" "^Warning: .*could not back up secrets .*come from the older backup f1" "$T_OUT"
t_ok "restore describe ri1 -o json" "$KAHU" restore describe ri1 -o json
t_py "... the result records it too" "
assert any('come from the older backup f1' in w for w in d['warnings'] if 'secrets' in w), d['warnings']" "$T_OUT"

# ---- a type that fails half-way through its pages carries over whole ----
sleep 1
api PATCH /api/v1/namespaces/chain/secrets/s1 '{"stringData":{"password":"changed"}}'
faults POST /_admin/faults '[{"match":{"verb":"list","resource":"secrets","query_regex":"continue="},"action":"403"}]'
t_exit 2 "incremental i2 whose Secret list fails after its first page (--page-size 1)" \
	kahu_k --page-size 1 backup create i2 --incremental "${SCOPE[@]}"
faults DELETE /_admin/faults
index_of i2 | grep '^secrets ' >"$T_DIR/i2.secrets"
diff -u "$T_DIR/f1.secrets" "$T_DIR/i2.secrets" >"$T_OUT"; t_result $? "... its index holds the parent's Secret lines, not half a list"
spec_of i2
t_py "... carried over from f1 (through i1), marked complete" "
s = {x['resource']: x for x in d['types']}['secrets']
assert s['carriedOverFrom'] == 'f1' and s['items'] == 3 and 'carriedOverIncomplete' not in s, s" "$T_OUT"
empty_target
t_ok "restore i2" kahu_d restore create ri2 --from-backup i2
[ "$(secret s1) $(secret s2) $(secret s3)" = "one two three" ]
t_result $? "... restores the Secrets as f1 holds them (not the half-listed newer s1)"
sleep 1
t_ok "incremental i3 with the Secrets listed again" kahu_k backup create i3 --incremental "${SCOPE[@]}"
empty_target
t_ok "restore i3" kahu_d restore create ri3 --from-backup i3
[ "$(secret s1) $(secret s2)" = "changed two" ]; t_result $? "... restores the newer s1"

# ---- a chain written without carrying over (an earlier kahu): restored from the chain ----
# Unencrypted backups on their own location, so that the test can rewrite one as an
# earlier kahu wrote it: without the Secrets' index lines and "carriedOverFrom".
kahu_c() { "$KAHU" --kubeconfig "$KC" "$@" --location clear; }
t_ok "unencrypted full backup c1" kahu_c backup create c1 --no-encryption "${SCOPE[@]}"
forbid_secrets
t_exit 2 "unencrypted incremental c2 with Secrets forbidden" kahu_c backup create c2 --incremental --no-encryption "${SCOPE[@]}"
faults DELETE /_admin/faults
CB=$CLEAR_LOC/backups/c2
t_run "$PYTHON" - "$CB" <<'PY'
import hashlib, io, json, os, subprocess, sys, tarfile
d = sys.argv[1]
arc = os.path.join(d, "metadata.tar.zst")
raw = subprocess.run(["zstd", "-dc", arc], check=True, capture_output=True).stdout
src = tarfile.open(fileobj=io.BytesIO(raw))
out = io.BytesIO()
dst = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
for m in src.getmembers():
    data = src.extractfile(m).read() if m.isfile() else None
    if m.name == "kahu/index.jsonl":
        data = b"".join(l + b"\n" for l in data.splitlines() if json.loads(l)["r"] != "secrets")
    elif m.name == "kahu/backup.json":
        spec = json.loads(data)
        for t in spec["types"]:
            if t["resource"] == "secrets":
                assert t.pop("carriedOverFrom") == "c1"
                t["items"] = 0
        data = json.dumps(spec, indent=2, sort_keys=True).encode()
    if data is not None:
        m.size = len(data)
        dst.addfile(m, io.BytesIO(data))
    else:
        dst.addfile(m)
dst.close()
z = subprocess.run(["zstd", "-q", "-c"], input=out.getvalue(), check=True, capture_output=True).stdout
open(arc, "wb").write(z)
man = json.load(open(os.path.join(d, "backup.json")))
for o in man["objects"]:
    if o["path"] == "metadata.tar.zst":
        o["size"] = len(z)
        o["blake2b"] = hashlib.blake2b(z, digest_size=32).hexdigest()
open(os.path.join(d, "backup.json"), "w").write(json.dumps(man, sort_keys=True, separators=(",", ":")) + "\n")
PY
t_result $? "(c2 rewritten as an earlier kahu wrote it: no Secret lines, nothing carried over)"
index_of c2 clear | grep -c '^secrets ' >"$T_OUT"
[ "$(cat "$T_OUT")" = 0 ]; t_result $? "(c2's index has no Secret lines)"
t_ok "... it still verifies" "$KAHU" backup verify c2 --location clear --allow-unencrypted
empty_target
t_ok "restore c2 (an earlier kahu's incremental with a failed type)" kahu_d restore create rc2 --from-backup c2 --location clear --allow-unencrypted
[ "$(secret s1) $(secret s2) $(secret s3)" = "changed two three" ]; t_result $? "... the Secrets are not dropped as deletions"
t_grep "... saying they are taken from the older backup c1" "could not back up secrets .*did not carry its items over: they are taken from the older backup c1" "$T_ERR"

# ---- every type failing: a Failed backup ----
pk() { "$KAHU" --kubeconfig "$KC" "$@" --location pr; }
t_ok "good backup g1 on location pr" pk backup create g1 "${SCOPE[@]}"
sleep 1
t_ok "good backup g2" pk backup create g2 "${SCOPE[@]}"
faults POST /_admin/faults '[{"match":{"verb":"list"},"action":"403"}]'
for n in x1 x2 x3; do
	sleep 1
	t_exit 1 "backup $n with every list forbidden exits 1 (Failed)" pk backup create "$n" "${SCOPE[@]}"
done
t_grep "... saying why and that prune's policies do not count it" "backup x3 Failed: .*holds nothing of its own.*do not count it" "$T_ERR"
t_ok "backup list" "$KAHU" backup list --location pr -o json
t_py "... shows x1..x3 as Failed, g1 and g2 as Completed" "
b = {x['name']: x['status'] for x in d['backups']}
assert b == {'g1': 'Completed', 'g2': 'Completed', 'x1': 'Failed', 'x2': 'Failed', 'x3': 'Failed'}, b" "$T_OUT"
t_ok "backup logs x3 (its log is kept)" "$KAHU" backup logs x3 --location pr
t_grep "... saying what failed" "cannot back up" "$T_OUT"
sleep 1
t_exit 1 "an incremental with every list forbidden is Failed too" pk backup create x4 --incremental "${SCOPE[@]}"
faults DELETE /_admin/faults
"$KAHU" backup describe x4 --location pr -o json >"$T_OUT" 2>"$T_ERR"
t_py "... based on g2 (not on a Failed backup)" "assert d['parent'] == 'g2' and d['status'] == 'Failed', d" "$T_OUT"
sleep 1
t_ok "an incremental after the failures" pk backup create g3 --incremental "${SCOPE[@]}" -o json
t_py "... is based on g2, the newest good backup, not on a Failed one" "assert d['parent'] == 'g2', d" "$T_OUT"
t_exit 64 "--parent naming a Failed backup is refused (64)" pk backup create g4 --incremental --parent x3 "${SCOPE[@]}"
t_grep "... saying why" "parent x3: that backup is Failed" "$T_ERR"
t_ok "backup delete g3 (back to two good backups, four Failed)" "$KAHU" backup delete g3 --yes --location pr
t_ok "prune --keep-last 3 --dry-run" "$KAHU" backup prune --keep-last 3 --dry-run --location pr
t_nogrep "... would keep both good backups" "would remove g[12]" "$T_OUT"
t_grep "... and remove the Failed ones" "would remove x1 \(Failed" "$T_OUT"
t_ok "prune --keep-last 3" "$KAHU" backup prune --keep-last 3 --location pr
"$KAHU" backup list -o name --location pr >"$T_OUT"
[ "$(tr '\n' ' ' <"$T_OUT")" = "backup/g1 backup/g2 " ]; t_result $? "... keeps g1 and g2"

# ---- prune acts only on authenticated manifests ----
flip_expiry() { # FILE: turn the year of "expires" into the past with one flipped bit (2027 → 2007)
	"$PYTHON" - "$1" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.index(b'"expires":"') + len('"expires":"20')
assert b[i:i + 1] == b"2", b[i - 2:i + 2]   # 202x: the tests run before 2100
b[i] ^= 0x02   # '2' → '0'
open(p, "wb").write(bytes(b))
PY
}
t_ok "backup e1 (expires in 30 days)" kahu_k backup create e1 "${SCOPE[@]}"
t_ok "backup e2" kahu_k backup create e2 "${SCOPE[@]}"
t_ok "backup e3" kahu_k backup create e3 "${SCOPE[@]}"
flip_expiry "$B/e1/backup.json"
grep -q '"expires":"200' "$B/e1/backup.json"; t_result $? "(one bit of e1's expiry flipped: it reads as long past)"
printf 'not json' >"$B/e2/backup.json"
cp "$B/e3/backup.json" "$T_DIR/e3.json"
cp "$B/i1/backup.json" "$B/e3/backup.json"
t_exit 77 "prune with a tampered manifest exits 77" "$KAHU" backup prune
t_grep "... leaving e1 alone, saying why" "leaving backup e1 alone: .*failed authentication" "$T_ERR"
t_grep "... e2 too (unreadable)" "leaving backup e2 alone: .*not valid JSON" "$T_ERR"
t_grep "... and e3 (another backup's manifest)" "leaving backup e3 alone: backups/e3/backup.json is the manifest of backup i1" "$T_ERR"
t_grep "... listing them" "3 backups left alone.*e1, e2, e3" "$T_ERR"
[ -f "$B/e1/metadata.tar.zst.kenc" ] && [ -f "$B/e1/backup.json" ] && [ -f "$B/e2/metadata.tar.zst.kenc" ] &&
	[ -f "$B/e3/metadata.tar.zst.kenc" ]
t_result $? "... and deletes none of them"
cp "$T_DIR/e3.json" "$B/e3/backup.json"
t_ok "backup verify e3 (its own manifest back)" "$KAHU" backup verify e3
"$KAHU" backup list -o name >"$T_OUT"
grep -qx backup/f1 "$T_OUT" && grep -qx backup/i3 "$T_OUT"; t_result $? "... the good backups are all still there"

# Without the key, prune removes nothing: it cannot authenticate.
mv "$KAHU_KEY_FILE" "$T_DIR/key.away"
t_exit 66 "prune without the key fails (66)" "$KAHU" backup prune
t_grep "... saying it needs the key to authenticate the manifests" "authenticates every backup's manifest.*needs the key of location default" "$T_ERR"
mv "$T_DIR/key.away" "$KAHU_KEY_FILE"
[ -f "$B/e1/backup.json" ]; t_result $? "... e1 is still there"

# ---- a full disk: nothing is left behind ----
# A tmpfs with few inodes: the archive is written, then the log or the manifest finds
# no room.  How many inodes a backup needs is measured first.
SMALL=$T_DIR/small
mkdir -p "$SMALL"
if mount -t tmpfs -o size=16m tmpfs "$SMALL" 2>/dev/null; then
	T_CLEANUP+=("umount '$SMALL'")
	cat >"$T_DIR/small.json" <<EOF
{"version":1,"locations":{"small":{"provider":"fs","config":{"path":"$SMALL/loc"}}},"defaultLocation":"small"}
EOF
	chmod 600 "$T_DIR/small.json"
	kahu_k --config "$T_DIR/small.json" backup create measure "${SCOPE[@]}" >/dev/null 2>&1
	used=$(df --output=iused "$SMALL" | tail -1)
	umount "$SMALL"
	# The lock file takes an inode while the run goes on: with one inode more than a
	# finished backup uses, the manifest (written last) finds no room; with none more,
	# the log (written after the archive) does not.
	for what in backup.json log.jsonl.zst.kenc; do
		extra=1
		[ $what = backup.json ] || extra=0
		mount -t tmpfs -o size=16m,nr_inodes=$((used + extra)) tmpfs "$SMALL" || break
		t_exit 74 "backup create on a location with no room for its $what exits 74" \
			kahu_k --config "$T_DIR/small.json" backup create big "${SCOPE[@]}"
		t_grep "... saying nothing was kept" "backup big failed, nothing was kept: .*big/$what: no space left" "$T_ERR"
		find "$SMALL/loc/backups" -type f >"$T_OUT" 2>/dev/null
		[ ! -s "$T_OUT" ]; t_result $? "... and no file of it is left (the archive was written), before any prune"
		umount "$SMALL"
	done
else
	t_skip "backup create on a location that fills up" "cannot mount a tmpfs here"
fi

t_done

#!/usr/bin/env bash
# kahu backup create|list|describe|logs against the test cluster seeded with the demo
# apps and the real-world corpus: the archive holds exactly what the server holds (the
# set is computed independently from /_admin/dump and discovery), in the documented
# layout; list works without the key, describe needs it; dry runs write nothing;
# --no-encryption is plain zstd, everything else starts with KAHUENC1; file modes; no
# Secret value in the clear anywhere on the location; names, TTL and labels.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

seeds=(--seed "$top_srcdir/examples/demo-apps.yaml")
if [ -d "$KAHU_CORPUS/manifests" ]; then
	seeds+=(--seed "$KAHU_CORPUS/manifests")
	corpus=1
else
	corpus=0
fi
cluster_start main "${seeds[@]}" || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
LOC=$XDG_DATA_HOME/kahu/backups
KEY=$XDG_CONFIG_HOME/kahu/keys/default.key
SECRET_PLAIN=demo-password-not-for-production
SECRET_B64=$(printf %s "$SECRET_PLAIN" | base64 -w0)

# ---- independent view of the cluster: discovery and the store ----
# disc.json: {"group-resource": {"group","kind","namespaced","backupable"}} over every
# served version, from the legacy discovery documents (not from kahu).
cat >"$T_DIR/kt.py" <<'PY'
import json, os, ssl, sys, urllib.request

sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "cli"))
from kahu_discovery import fetch_discovery  # noqa: E402

def load(path):
    return json.load(open(path))

def gr_of(disc, obj):
    g = obj["apiVersion"].rpartition("/")[0]
    for gr, t in disc.items():
        if t["group"] == g and t["kind"] == obj["kind"]:
            return gr
    return None

ALIASES = {"events.events.k8s.io": "events"}

def dump_items(disc, dump):
    """(group-resource, namespace, name, object) of every backupable object."""
    out = []
    for o in load(dump)["items"]:
        gr = gr_of(disc, o)
        if gr is None or not disc[gr]["backupable"]:
            continue
        gr = ALIASES.get(gr, gr)
        md = o["metadata"]
        ns = md.get("namespace", "") if disc[gr]["namespaced"] else ""
        out.append((gr, ns, md["name"], o))
    return out

def archive(root):
    """(group-resource, namespace, name) -> parsed object, from an extracted backup."""
    res = {}
    base = os.path.join(root, "resources")
    for d, _, files in os.walk(base):
        for f in files:
            p = os.path.relpath(os.path.join(d, f), base).split("/")
            assert f.endswith(".json"), p
            if p[1] == "namespaces":
                assert len(p) == 4, p
                key = (p[0], p[2], p[3][:-5])
            else:
                assert p[1] == "cluster" and len(p) == 3, p
                key = (p[0], "", p[2][:-5])
            res[key] = json.load(open(os.path.join(d, f)))
    return res

def same(want, have, what="archive"):
    want, have = set(want), set(have)
    if want == have:
        return True
    for k in sorted(want - have)[:30]:
        print("missing from the %s: %s %s/%s" % (what, *k))
    for k in sorted(have - want)[:30]:
        print("unexpected in the %s: %s %s/%s" % (what, *k))
    print("(%d missing, %d unexpected, %d expected)" % (len(want - have), len(have - want), len(want)))
    return False

if __name__ == "__main__":
    fetch_discovery(*sys.argv[1:5])
PY
export PYTHONPATH=$T_DIR
# t_pyrun "description" 'python code (sys, json, kt imported)' ARGS...
t_pyrun() { local d=$1 code=$2; shift 2; t_run "$PYTHON" -c "import sys, json, kt
$code" "$@"; t_result $? "$d"; }
"$PYTHON" "$T_DIR/kt.py" "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA" "$T_DIR/disc.json" >"$T_OUT" 2>"$T_ERR"
t_result $? "discovery read independently of kahu"
cluster_admin GET /_admin/dump >"$T_DIR/dump.json"

# ---- dry run first: nothing written, not even a key ----
t_ok "backup create --dry-run" kahu_k backup create first --dry-run
t_grep "... prints the types with their counts" "^configmaps +[0-9]+ +0 +resources/configmaps/namespaces/<ns>/<name>\.json" "$T_OUT"
ncm=$("$PYTHON" -c 'import json,sys; print(sum(1 for o in json.load(open(sys.argv[1]))["items"] if o["kind"]=="ConfigMap" and o["apiVersion"]=="v1"))' "$T_DIR/dump.json")
t_grep "... the ConfigMap count is the server's ($ncm)" "^configmaps +$ncm " "$T_OUT"
t_grep "... and says nothing was written" "nothing was written" "$T_OUT"
[ ! -e "$LOC" ] || [ -z "$(find "$LOC" -type f)" ]; t_result $? "... the location holds no file"
[ ! -e "$KEY" ]; t_result $? "... and no key was generated"
t_ok "backup create --dry-run -o json" kahu_k backup create first --dry-run -o json
t_py "... a plan with every type's counts" "
assert d['dryRun'] is True and d['name'] == 'first', d.keys()
cm = [t for t in d['plan'] if t['resource'] == 'configmaps']
assert cm and cm[0]['items'] == $ncm, cm" "$T_OUT"

# ---- the first backup ----
t_ok "backup create full1" kahu_k backup create full1
t_grep "... reports the items" "^Backup full1 completed: [0-9]+ items of [0-9]+ types" "$T_OUT"
t_grep "... the first use generates the key and says so" "generated a new encryption key [0-9a-f]{32}" "$T_ERR"
t_grep "... and tells to keep a copy" "Keep a copy" "$T_ERR"
[ -f "$KEY" ] && [ "$(stat -c %a "$KEY")" = 600 ]; t_result $? "... the key file exists with mode 0600"
t_ok "a second backup create full2" kahu_k backup create full2 -o json
t_nogrep "... does not repeat the key notice" "generated a new encryption key|Keep a copy" "$T_ERR"
t_py "... -o json: name, status, type, items" "
assert d['name'] == 'full2' and d['status'] == 'Completed' and d['type'] == 'full', d
assert d['items'] == d['storedItems'] > 0 and d['storedBytes'] > 0, d" "$T_OUT"

# ---- what is in the archive ----
t_ok "backup download --extract" "$KAHU" backup download full1 --extract "$T_DIR/x1"
X=$T_DIR/x1
t_run "$PYTHON" -c '
import sys, kt
disc = kt.load(sys.argv[1])
want = {(g, n, m) for g, n, m, o in kt.dump_items(disc, sys.argv[2])}
assert want, "nothing backupable in the dump?"
assert kt.same(want, kt.archive(sys.argv[3]))
print(len(want), "objects")' "$T_DIR/disc.json" "$T_DIR/dump.json" "$X"
t_result $? "the archive holds exactly the server's backupable objects (group-resource, namespace, name)"
if [ $corpus = 1 ]; then
	t_run "$PYTHON" -c '
import sys, kt
a = kt.archive(sys.argv[1])
for gr in ("bfdprofiles.metallb.io", "ipaddresspools.metallb.io", "bgppeers.metallb.io",
           "certificates.cert-manager.io", "prometheusrules.monitoring.coreos.com"):
    assert any(k[0] == gr for k in a), "no " + gr' "$X"
	t_result $? "... with the corpus' custom resources, also those only an older version serves (metallb v1beta1)"
else
	t_skip "... with the corpus' custom resources" "no corpus at $KAHU_CORPUS"
fi
t_run "$PYTHON" -c '
import sys, kt
a = kt.archive(sys.argv[1])
bad = [k for k, o in a.items() if not o.get("apiVersion") or not o.get("kind") or o["metadata"]["name"] != k[2]]
assert not bad, bad[:5]
d = kt.load(sys.argv[2])
dumped = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in d["items"]}
cm = a[("configmaps", "shop", "shop-settings")]
src = dumped[("ConfigMap", "shop", "shop-settings")]
assert cm["data"] == src["data"] and cm["metadata"]["uid"] == src["metadata"]["uid"], (cm, src)
assert cm["metadata"]["resourceVersion"] == src["metadata"]["resourceVersion"]' "$X" "$T_DIR/dump.json"
t_result $? "stored objects are the API's JSON with apiVersion and kind (uid, resourceVersion, data kept)"
[ "$(cat "$X/metadata/version")" = 1.1.0 ]; t_result $? "metadata/version is 1.1.0"
t_run "$PYTHON" -c '
import json, sys, kt
a = kt.archive(sys.argv[1])
lines = open(sys.argv[1] + "/kahu/index.jsonl").read().splitlines()
idx = [json.loads(l) for l in lines]
keys = [(e["r"], e.get("ns", ""), e["n"]) for e in idx]
assert len(keys) == len(set(keys)), "duplicate index lines"
assert kt.same(a, keys, "index")
assert all(len(e["h"]) == 64 and e["uid"] for e in idx)' "$X"
t_result $? "kahu/index.jsonl has one line per stored object (uid, hash)"
t_py "kahu/backup.json records scope, status and per-type counts" "
assert d['name'] == 'full1' and d['status'] == 'Completed' and d['type'] == 'full', d
assert d['scope']['includeNamespaces'] == ['*'], d['scope']
assert sum(t['items'] for t in d['types']) == d['items'], 'per-type items do not add up'" "$X/kahu/backup.json"
[ -f "$X/resources/customresourcedefinitions.apiextensions.k8s.io/cluster/widgets.demo.kahu.io.json" ] &&
	[ -f "$X/resources/widgets.demo.kahu.io/namespaces/shop/gizmo.json" ]
t_result $? "the CRD widgets.demo.kahu.io and its custom resource shop/gizmo are in"
[ -f "$X/resources/secrets/namespaces/shop/shop-db.json" ]; t_result $? "the demo Secret is in (encrypted)"

# ---- list ----
t_ok "backup list" "$KAHU" backup list
t_grep "... header NAME STATUS TYPE CREATED EXPIRES SIZE ITEMS CLUSTER LOCATION" \
	"^NAME +STATUS +TYPE +CREATED +EXPIRES +SIZE +ITEMS +CLUSTER +LOCATION$" "$T_OUT"
t_grep "... a row per backup" "^full1 +Completed +full +[0-9-]+ [0-9:]+ +(29d23h|30d0h) +[0-9.]+ [KM]iB +[0-9]+ +[0-9a-f]{8} +default$" "$T_OUT"
mv "$KEY" "$T_DIR/key.away"
t_ok "backup list works without the key" "$KAHU" backup list -o json
t_py "... -o json lists both backups with their fields" "
b = {x['name']: x for x in d['backups']}
assert set(b) == {'full1', 'full2'}, b.keys()
f = b['full1']
assert f['status'] == 'Completed' and f['type'] == 'full' and f['location'] == 'default', f
assert f['items'] > 50 and f['storedBytes'] > 0 and f['created'].endswith('Z'), f" "$T_OUT"
t_ok "backup list -o yaml" "$KAHU" backup list -o yaml
t_grep "... is YAML" "^ *- ?name: full1|^ *name: full1" "$T_OUT"
t_ok "backup list -o name" "$KAHU" backup list -o name
[ "$(cat "$T_OUT")" = "$(printf 'backup/full1\nbackup/full2')" ]; t_result $? "... prints backup/NAME per line"
t_exit 66 "backup describe without the key fails" "$KAHU" backup describe full1
t_grep "... saying which key is missing and how to give one" "no key for location default.*--key-file" "$T_ERR"
t_fail "backup logs without the key fails" "$KAHU" backup logs full1
mv "$T_DIR/key.away" "$KEY"

# ---- describe and logs ----
t_ok "backup describe" "$KAHU" backup describe full1
t_grep "... status" "^Status: +Completed" "$T_OUT"
t_grep "... a line per type" "^  configmaps +$ncm +0 +ok" "$T_OUT"
t_ok "backup describe --details" "$KAHU" backup describe full1 --details
t_grep "... lists the items by type" "^    - shop/shop-db$" "$T_OUT"
t_grep "... cluster-scoped ones by name" "^    - widgets\.demo\.kahu\.io$" "$T_OUT"
t_ok "backup describe -o json --details" "$KAHU" backup describe full1 -o json --details
cp "$T_OUT" "$T_DIR/describe.json"
t_py "... types and items_by_type agree with the archive" "
import kt
a = kt.archive('$X')
have = {(gr, *(x.split('/') if '/' in x else ('', x))) for gr, xs in d['items_by_type'].items() for x in xs}
assert kt.same(a, have, 'describe --details')
per = {t['resource']: t['items'] for t in d['types']}
for gr in {k[0] for k in a}:
    assert per[gr] == sum(1 for k in a if k[0] == gr), gr" "$T_OUT"
t_ok "backup logs" "$KAHU" backup logs full1
cp "$T_OUT" "$T_DIR/logs.out"
t_pyrun "... every line is a JSON object (time, level, msg) about this backup" '
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 2, lines
for l in lines:
    e = json.loads(l)
    assert e["time"] and e["level"] and "msg" in e, e
assert any("full1" in json.loads(l)["msg"] for l in lines), lines[:3]' "$T_DIR/logs.out"

# ---- encryption at rest ----
[ "$(head -c 8 "$LOC/backups/full1/metadata.tar.zst.kenc")" = KAHUENC1 ] &&
	[ "$(head -c 8 "$LOC/backups/full1/log.jsonl.zst.kenc")" = KAHUENC1 ]
t_result $? "encrypted objects start with KAHUENC1"
t_run zstd -q -t "$LOC/backups/full1/metadata.tar.zst.kenc"
[ $? -ne 0 ]; t_result $? "... and are not zstd streams"
leaks=$(grep -rlaF -e "$SECRET_PLAIN" -e "$SECRET_B64" "$LOC" "$XDG_CONFIG_HOME" 2>/dev/null)
echo "$leaks" >"$T_OUT"
[ -z "$leaks" ]; t_result $? "no file on the location holds the demo Secret's value, plain or base64"
leaks=$(grep -rlaF -e shop-settings -e gizmo "$LOC" 2>/dev/null)
echo "$leaks" >"$T_OUT"
[ -z "$leaks" ]; t_result $? "... nor object names (the manifest holds counts and hashes only)"

# ---- file modes ----
bad=$(find "$LOC" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \) 2>/dev/null)
echo "$bad" >"$T_OUT"
[ -z "$bad" ] && [ -n "$(find "$LOC" -type f)" ]; t_result $? "every file on the location is 0600, every directory 0700"

# ---- --no-encryption ----
t_ok "backup create --no-encryption" kahu_k backup create plain --no-encryption
t_grep "... warns that the backup is stored in the clear" "no-encryption.*in the clear" "$T_ERR"
t_grep "... and that the keyed location will refuse it without --allow-unencrypted" "location .* is keyed: .*refuse it unless --allow-unencrypted" "$T_ERR"
[ -f "$LOC/backups/plain/metadata.tar.zst" ] && [ ! -e "$LOC/backups/plain/metadata.tar.zst.kenc" ]
t_result $? "... stores metadata.tar.zst without .kenc"
zstd -dc "$LOC/backups/plain/metadata.tar.zst" 2>"$T_ERR" | tar -t >"$T_OUT" 2>>"$T_ERR"
r=$?
grep -qx "resources/secrets/namespaces/shop/shop-db.json" "$T_OUT" && [ $r -eq 0 ]
t_result $? "... a plain zstd stream holding a tar (zstd -dc | tar t)"
zstd -dc "$LOC/backups/plain/metadata.tar.zst" 2>/dev/null | grep -qaF "$SECRET_B64"
t_result $? "... in which the Secret is readable (so the leak check above can see one)"
t_exit 77 "... on this keyed location, describe refuses it (it cannot be authenticated)" "$KAHU" backup describe plain
t_ok "... and reads it back with --allow-unencrypted" "$KAHU" backup describe plain --allow-unencrypted
bad=$(find "$LOC" \( -type f ! -perm 600 \) -o \( -type d ! -perm 700 \) 2>/dev/null)
echo "$bad" >"$T_OUT"
[ -z "$bad" ]; t_result $? "... its files are 0600 too"

# ---- names ----
t_exit 73 "a backup name that exists exits 73" kahu_k backup create full1
t_grep "... with a clear message" "backup full1 already exists" "$T_ERR"
for n in Upper under_score -lead trail- 'sp ace' 'a/b' ''; do
	t_exit 64 "invalid name '$n' exits 64" kahu_k backup create "$n"
done
t_exit 64 "a malformed --ttl exits 64" kahu_k backup create t-bad --ttl 3weeks
t_exit 64 "a malformed --labels exits 64" kahu_k backup create t-bad --labels noequals
[ ! -e "$LOC/backups/t-bad" ]; t_result $? "... and nothing was written for them"

# ---- TTL and labels ----
t_ok "backup create --ttl 2h --labels team=shop,tier=gold" kahu_k backup create ttl2h --ttl 2h --labels team=shop,tier=gold
t_ok "backup create --ttl 0 --labels team=blog" kahu_k backup create forever --ttl 0 --labels team=blog
t_ok "backup list -o json" "$KAHU" backup list -o json
t_py "... --ttl sets expires (2h after created; 0: null); --labels are kept" "
from datetime import datetime
b = {x['name']: x for x in d['backups']}
p = lambda s: datetime.strptime(s, '%Y-%m-%dT%H:%M:%SZ')
t = b['ttl2h']
assert (p(t['expires']) - p(t['created'])).total_seconds() == 7200, t
assert t['labels'] == {'team': 'shop', 'tier': 'gold'}, t
assert b['forever']['expires'] is None, b['forever']
assert (p(b['full1']['expires']) - p(b['full1']['created'])).days == 30, 'default TTL is 720h'" "$T_OUT"
t_ok "backup list" "$KAHU" backup list
t_grep "... TTL 0 shows as never" "^forever +Completed .* never " "$T_OUT"
t_grep "... 2h shows as such" "^ttl2h +Completed .* 1h59m|^ttl2h +Completed .* 2h0m|^ttl2h +Completed .* 2h " "$T_OUT"
t_ok "backup list -l team=shop" "$KAHU" backup list -l team=shop -o name
[ "$(cat "$T_OUT")" = backup/ttl2h ]; t_result $? "... lists only the labelled backup"
t_ok "backup list -l 'team in (shop,blog),!tier'" "$KAHU" backup list -l 'team in (shop,blog),!tier' -o name
[ "$(cat "$T_OUT")" = backup/forever ]; t_result $? "... set-based selectors work"

t_done

#!/usr/bin/env bash
# Object names an archive member cannot hold as they are: a Role named with a newline,
# a tab, a carriage return or DEL, or 5,000 bytes long (the API accepts such RBAC
# names), a 253-byte ConfigMap name, and what a hostile server may send ("..",
# "../../etc/evil", a namespace "..", an empty name).  A backup keeps them all under
# encoded member names (FORMAT.md) or fails that one object; --extract writes every
# member inside its directory, also for archives that hold long names as they are;
# restore finds items under either form, brings the good ones back, and refuses an
# object stored under another item's name or type.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

LONG=$(printf 'l%.0s' $(seq 1 253))

# The seed: names the API server accepts, then what only a hostile one serves.
"$PYTHON" - "$T_DIR" "$LONG" <<'PY'
import json, sys
d, long = sys.argv[1], sys.argv[2]
def role(ns, name):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name, "namespace": ns},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}
def cm(ns, name, v="x"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
            "data": {"k": v}}
ok = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
      cm("shop", "good"), cm("shop", long, "long"),
      role("rbac", "nl\nrole"), role("rbac", "tab\trole"), role("rbac", "cr\rrole"),
      role("rbac", "del\x7frole"), role("rbac", "r" * 5000), role("rbac", "plain-role")]
hostile = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ".."}},
           cm("..", "in-dotdot"), cm("evil", "../../etc/evil"), cm("evil", ".."),
           cm("tab\tns", "c"), cm("tab", "ns\tc")]  # two items a plain "ns<TAB>name" key merges
blank = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "blank"}},
         cm("blank", "fine"), cm("blank", ""), cm("blank", "a\x00b"), cm("blank", "bin", "x\x00y")]
for n, docs in (("ok", ok), ("hostile", hostile), ("blank", blank), ("bad", [cm("evil", "../x")])):
    json.dump({"apiVersion": "v1", "kind": "List", "items": docs}, open("%s/%s.json" % (d, n), "w"))
PY

# The member name the format gives an API name (FORMAT.md, "Member names").
cat >"$T_DIR/names.py" <<'PY'
import hashlib, io, json, os, subprocess, sys, tarfile

KEEP = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")

def comp(s):
    b = s.encode("utf-8")
    safe = (1 <= len(b) <= 240 and not s.startswith("%") and s not in (".", "..") and "/" not in s
            and not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in s))
    if safe:
        return s
    return "%" + "".join(chr(x) if x in KEEP else "_" for x in b[:48]) + "~" + \
        hashlib.blake2b(b, digest_size=32).hexdigest()

def member(gr, ns, name):
    if ns is None:
        return "resources/%s/cluster/%s.json" % (comp(gr), comp(name))
    return "resources/%s/namespaces/%s/%s.json" % (comp(gr), comp(ns), comp(name))

def unpack(bdir):
    raw = subprocess.run(["zstd", "-dc", os.path.join(bdir, "metadata.tar.zst")], check=True,
                         stdout=subprocess.PIPE).stdout
    out = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:", encoding="utf-8") as t:
        for ti in t:
            out.append([ti.name, t.extractfile(ti).read()])
    return out

def pack(bdir, members):
    """Write the members as the backup's archive; the manifest (no MAC without
    encryption) gets the new size and hash."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as t:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
            t.addfile(ti, io.BytesIO(data))
    z = subprocess.run(["zstd", "-q", "-c"], input=buf.getvalue(), check=True,
                       stdout=subprocess.PIPE).stdout
    p = os.path.join(bdir, "metadata.tar.zst")
    with open(p, "wb") as f:
        f.write(z)
    mp = os.path.join(bdir, "backup.json")
    m = json.load(open(mp))
    for o in m["objects"]:
        if o["path"] == "metadata.tar.zst":
            o["size"], o["blake2b"] = len(z), hashlib.blake2b(z, digest_size=32).hexdigest()
    with open(mp, "w") as f:
        f.write(json.dumps(m, sort_keys=True, separators=(",", ":")) + "\n")
PY
t_pyrun() { local d=$1 code=$2; shift 2; t_run env PYTHONPATH="$T_DIR" "$PYTHON" -c "import sys, json, os, names
$code" "$@"; t_result $? "$d"; }

cluster_start main --seed "$T_DIR/ok.json" || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
t_ok "the test cluster serves hostile names when asked (seed?unchecked-names=1)" \
	cluster_admin POST "seed?unchecked-names=1" "@$T_DIR/hostile.json"
t_ok "... and objects with an empty name, a NUL in a name, a NUL in data" cluster_admin POST "seed?unchecked-names=1" "@$T_DIR/blank.json"
t_fail "... but validates names otherwise" cluster_admin POST seed "@$T_DIR/bad.json"
cluster_admin GET /_admin/dump >"$T_DIR/dump.json"
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
LOC=$XDG_DATA_HOME/kahu/backups

# ---- backup: every name is kept ----
t_ok "backup create with newline, tab, CR, DEL, 5,000-byte, 253-byte, '..' and '../../etc/evil' names completes" \
	kahu_k backup create b1 --exclude-namespaces blank
t_grep "... Completed" "^Backup b1 completed" "$T_OUT"
t_ok "backup download --extract (every member inside the directory)" \
	"$KAHU" backup download b1 --extract "$T_DIR/x1"
[ ! -e "$T_DIR/etc" ] && [ -z "$(find "$T_DIR" -name 'evil*' -not -path "$T_DIR/x1/*")" ]
t_result $? "... nothing written outside it"
t_pyrun "... each object under the member name FORMAT.md gives it, the real name in the object" '
dump = json.load(open(sys.argv[2]))["items"]
root = os.path.join(sys.argv[1], "resources")
files = {}
for d, _, fs in os.walk(root):
    for f in fs:
        p = os.path.relpath(os.path.join(d, f), sys.argv[1])
        files[p] = json.load(open(os.path.join(d, f)))
    for f in fs:
        assert len(f.encode()) <= 245, f
want = {}
for o in dump:
    md = o["metadata"]
    if "blank" in (md.get("namespace"), md["name"]):
        continue
    gr = {"ConfigMap": "configmaps", "Role": "roles.rbac.authorization.k8s.io",
          "Namespace": "namespaces"}.get(o["kind"])
    if gr:
        want[names.member(gr, md.get("namespace"), md["name"])] = md["name"]
missing = [k for k in want if k not in files]
assert not missing, missing[:5]
for k, n in want.items():
    assert files[k]["metadata"]["name"] == n, (k, files[k]["metadata"]["name"])
print(len(want), "objects checked")' "$T_DIR/x1" "$T_DIR/dump.json"
ls "$T_DIR/x1/resources/configmaps/namespaces/shop" >"$T_OUT"
t_grep "... the 253-byte ConfigMap name as %<prefix>~<BLAKE2b-256>.json" "^%l{48}~[0-9a-f]{64}\.json$" "$T_OUT"
ls "$T_DIR/x1/resources/configmaps/namespaces/evil" >"$T_OUT"
t_grep "... '../../etc/evil' as a file in its namespace's directory" "^%\.\._\.\._etc_evil~[0-9a-f]{64}\.json$" "$T_OUT"
ls "$T_DIR/x1/resources/configmaps/namespaces" >"$T_OUT"
t_grep "... the namespace '..' as a directory %..~<hash>" "^%\.\.~[0-9a-f]{64}$" "$T_OUT"
t_ok "backup describe --details" "$KAHU" backup describe b1 --details -o json
t_py "... lists items by their real names" "
it = d['items_by_type']
assert 'shop/' + '$LONG' in it['configmaps'], it['configmaps']
assert 'rbac/nl\nrole' in it['roles.rbac.authorization.k8s.io'], it['roles.rbac.authorization.k8s.io']
assert '../in-dotdot' in it['configmaps'] and 'evil/../../etc/evil' in it['configmaps'], it['configmaps']" "$T_OUT"

# An object nothing can be stored under fails alone; "\u0000" in a value is no reason.
t_exit 2 "objects with an empty name or a NUL in the name: backup create exits 2 (PartiallyFailed), not 64" \
	kahu_k backup create bblank --include-namespaces blank
t_grep "... says which object and why" "configmaps blank/\(no name\) not backed up: the server sent it without metadata.name" "$T_ERR"
t_grep "... for both" "configmaps blank/a not backed up: its name or namespace holds a NUL character" "$T_ERR"
t_grep "... and counts them" "PartiallyFailed: 0 types and 2 objects could not be backed up" "$T_ERR"
t_py "... the manifest counts the failed objects, the good ones are kept" "
assert d['status'] == 'PartiallyFailed' and d['counts']['failed'] == 2 and d['counts']['items'] >= 3, d" \
	"$LOC/backups/bblank/backup.json"
t_ok "... it verifies (a NUL in a ConfigMap's data is valid JSON)" "$KAHU" backup verify bblank

# ---- restore: the good ones come back, the impossible ones fail alone ----
cluster_start target || { t_result 1 "target cluster starts"; t_done; exit 1; }
TKC=$CLUSTER_KUBECONFIG
t_exit 2 "restore create into a fresh cluster: PartiallyFailed (exit 2), only the hostile names fail" \
	"$KAHU" --kubeconfig "$TKC" restore create r1 --from-backup b1
cp "$T_ERR" "$T_DIR/r1.err"
t_nogrep "... its messages show no raw control character of a name" $'[\x01-\x08\x0b-\x1f\x7f]' "$T_DIR/r1.err"
t_ok "restore describe --details (a table)" "$KAHU" restore describe r1 --details
t_grep "... the failed names are shown escaped" 'tab\\tns' "$T_OUT"
t_nogrep "... and no raw control character reaches the terminal" $'[\x01-\x08\x0b-\x1f\x7f]' "$T_OUT"
"$KAHU" restore describe r1 -o json >"$T_DIR/r1.json" 2>"$T_ERR"
CLUSTER_USE=target cluster_admin GET /_admin/dump >"$T_DIR/tdump.json"
t_pyrun "... every good name restored exactly, each hostile one failed with its reason" '
items = json.load(open(sys.argv[1]))["items"]
have = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in json.load(open(sys.argv[2]))["items"]}
long = sys.argv[3]
for n in ("nl\nrole", "tab\trole", "cr\rrole", "del\x7frole", "r" * 5000, "plain-role"):
    assert ("Role", "rbac", n) in have, n[:20]
for n in ("good", long):
    assert ("ConfigMap", "shop", n) in have, n[:20]
failed = {(i["resource"], i.get("namespace"), i["name"]): i.get("reason", "") for i in items if i["outcome"] == "failed"}
print(failed)
assert "its name cannot be addressed in the Kubernetes API" in failed[("configmaps", "evil", "..")]
assert "its namespace cannot be addressed" in failed[("configmaps", "..", "in-dotdot")]
assert "its name cannot be addressed" in failed[("namespaces", None, "..")]
assert "Invalid value" in failed[("configmaps", "evil", "../../etc/evil")]  # the server refuses it
# both items with a tab (the server refuses the names, but each is tried)
assert "Invalid value" in failed[("configmaps", "tab", "ns\tc")]
assert ("configmaps", "tab\tns", "c") in failed and ("namespaces", None, "tab\tns") in failed
# nothing else failed but the objects of namespace ".." (with those the server made in it)
rest = [k for k in failed if k[1] not in ("..", "tab\tns") and k not in (("configmaps", "evil", ".."),
        ("namespaces", None, ".."), ("configmaps", "evil", "../../etc/evil"),
        ("configmaps", "tab", "ns\tc"), ("namespaces", None, "tab\tns"))]
assert not rest, rest
assert ("ConfigMap", "evil", "../../etc/evil") not in have and ("Namespace", None, "..") not in have' \
	"$T_DIR/r1.json" "$T_DIR/tdump.json" "$LONG"

# ---- a crafted archive: members that lie about what they hold ----
t_ok "backup create --no-encryption (to craft)" kahu_k backup create plain --no-encryption --include-namespaces shop
t_pyrun "crafted: the ConfigMap shop/good holds a ClusterRoleBinding, the 253-byte one a ConfigMap named other, kube-root-ca.crt other data" '
b, long = sys.argv[1], sys.argv[2]
ms = names.unpack(b)
crb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
       "metadata": {"name": "evil-crb"},
       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
       "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "shop"}]}
other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": "shop"}, "data": {"k": "x"}}
done = 0
for m in ms:
    if m[0].startswith("resources/configmaps/"):
        n = json.loads(m[1])["metadata"]["name"]
        if n in ("good", long):
            m[1] = json.dumps(crb if n == "good" else other).encode(); done += 1
        elif n == "kube-root-ca.crt":  # the same object, other contents than the index records
            o = json.loads(m[1]); o["data"] = {"ca.crt": "forged"}
            m[1] = json.dumps(o, separators=(",", ":")).encode(); done += 1
assert done == 3, [m[0] for m in ms]
names.pack(b, ms)' "$LOC/backups/plain" "$LONG"
t_ok "... it verifies (no MAC without encryption: only the contents can tell)" "$KAHU" backup verify plain --allow-unencrypted
cluster_start t2 || { t_result 1 "second target cluster starts"; t_done; exit 1; }
T2KC=$CLUSTER_KUBECONFIG
t_exit 2 "restore create --include-resources configmaps of the crafted archive: exit 2" \
	"$KAHU" --kubeconfig "$T2KC" restore create r2 --from-backup plain --include-resources configmaps --allow-unencrypted
"$KAHU" restore describe r2 -o json >"$T_DIR/r2.json" 2>"$T_ERR"
CLUSTER_USE=t2 cluster_admin GET /_admin/dump >"$T_DIR/t2dump.json"
t_pyrun "... the lying members failed with the reason, nothing of theirs created" '
items = json.load(open(sys.argv[1]))["items"]
have = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in json.load(open(sys.argv[2]))["items"]}
long = sys.argv[3]
r = {(i["resource"], i.get("namespace"), i["name"]): i for i in items}
g = r[("configmaps", "shop", "good")]
assert g["outcome"] == "failed" and "ClusterRoleBinding" in g["reason"], g
l = r[("configmaps", "shop", long)]
assert l["outcome"] == "failed" and "ConfigMap shop/other under the name of" in l["reason"], l
assert ("ClusterRoleBinding", None, "evil-crb") not in have
assert ("ConfigMap", "shop", "other") not in have and ("ConfigMap", "shop", "good") not in have
k = r[("configmaps", "shop", "kube-root-ca.crt")]
assert k["outcome"] == "failed" and "another version of this object than its index records" in k["reason"], k
assert not any(o["kind"] == "ConfigMap" and o["metadata"]["name"] == "kube-root-ca.crt" and
               o["metadata"].get("namespace") == "shop" and o.get("data", {}).get("ca.crt") == "forged"
               for o in json.load(open(sys.argv[2]))["items"])
failed = sorted(i["name"] for i in items if i["outcome"] == "failed")
assert failed == sorted(["good", long, "kube-root-ca.crt"]), failed' "$T_DIR/r2.json" "$T_DIR/t2dump.json" "$LONG"

# ---- archives that hold a long name as it is (written before names were encoded) ----
t_ok "backup create --no-encryption (to make an older archive)" \
	kahu_k backup create legacy --no-encryption --include-namespaces shop --include-resources configmaps
t_pyrun "... its 253-byte name member renamed to the plain Velero path" '
b, long = sys.argv[1], sys.argv[2]
ms = names.unpack(b)
enc, raw = names.member("configmaps", "shop", long), "resources/configmaps/namespaces/shop/%s.json" % long
assert enc != raw
for m in ms:
    if m[0] == enc:
        m[0] = raw
assert any(m[0] == raw for m in ms), [m[0] for m in ms]
names.pack(b, ms)' "$LOC/backups/legacy" "$LONG"
t_ok "backup download --extract of it works (a component of 258 bytes)" \
	"$KAHU" backup download legacy --extract "$T_DIR/x2" --allow-unencrypted
t_grep "... and says a name was shortened" "1 with a name too long for the file system" "$T_OUT"
ls "$T_DIR/x2/resources/configmaps/namespaces/shop" >"$T_OUT"
t_grep "... under the name the current format gives it" "^%l{48}~[0-9a-f]{64}\.json$" "$T_OUT"
t_ok "restore create of it finds the item under the older name" \
	"$KAHU" --kubeconfig "$T2KC" restore create r3 --from-backup legacy --include-resources configmaps --allow-unencrypted
"$KAHU" restore describe r3 -o json >"$T_OUT" 2>"$T_ERR"
t_py "... the 253-byte ConfigMap created" "
r = {(i['resource'], i.get('namespace'), i['name']): i for i in d['items']}
assert r[('configmaps', 'shop', '$LONG')]['outcome'] == 'created', r" "$T_OUT"

# The ConfigMap with "\u0000" in its data comes back as it was.
t_ok "restore create of the backup with a NUL in a ConfigMap's data" \
	"$KAHU" --kubeconfig "$T2KC" restore create r4 --from-backup bblank --include-resources configmaps
CLUSTER_USE=t2 cluster_admin GET /_admin/dump >"$T_DIR/t2dump.json"
t_py "... its data intact" "
cms = {o['metadata']['name']: o for o in d['items'] if o['kind'] == 'ConfigMap' and o['metadata'].get('namespace') == 'blank'}
assert cms['bin']['data'] == {'k': 'x\\x00y'} and 'fine' in cms, cms.keys()" "$T_DIR/t2dump.json"

t_done

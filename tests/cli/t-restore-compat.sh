#!/usr/bin/env bash
# Archives written before objects were stored as the server sent them restore the same
# objects.  tests/cli/data/compat-81ea7f1/ holds a location with one encrypted backup
# written by kahu 81ea7f1 (objects re-serialised by jansson, apiVersion and kind
# appended), its key, and the manifests it was taken from (seed.yaml; every object
# labelled kahu-compat=yes, the backup's --selector): a Namespace, a ConfigMap with
# escapes and non-ASCII text, a Secret, a CRD, a custom resource and a ClusterRole.
# It is restored into a fresh test cluster and each object is compared with the seed;
# then an incremental backup by this kahu takes the old backup as its parent, and its
# chain restores into another fresh cluster; the objects that incremental backup stored
# are the bytes the server sent.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

DATA=$top_srcdir/tests/cli/data/compat-81ea7f1
LOC=$XDG_DATA_HOME/kahu/backups
mkdir -p "$LOC"
cp -R "$DATA/location/." "$LOC/"
chmod -R go-rwx "$LOC"
install -m 600 "$DATA/test.key" "$T_DIR/test.key"
export KAHU_KEY_FILE=$T_DIR/test.key
KUBECTL=${KUBECTL:-kubectl}

# check DESCRIPTION SEED BACKUP RESTORE [GONE]: the cluster's objects labelled
# kahu-compat=yes are SEED's, labelled by the restore, as /_admin/dump and (when it
# runs) kubectl read them; GONE lists objects of SEED that must be absent
# ("Kind/name,...").
check() {
	local d=$1 seed=$2 backup=$3 restore=$4 gone=${5:-}
	cluster_admin GET /_admin/dump >"$T_DIR/dump.json"
	local readers=("$T_DIR/dump.json")
	if command -v "$KUBECTL" >/dev/null && "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" version >/dev/null 2>&1; then
		"$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" get \
			namespaces,configmaps,secrets,customresourcedefinitions,widgets.compat.kahu.io,clusterroles \
			-A -l kahu-compat=yes -o json >"$T_DIR/kubectl.json" 2>"$T_DIR/kubectl.err" &&
			readers+=("$T_DIR/kubectl.json")
	fi
	local f
	for f in "${readers[@]}"; do
		t_run "$PYTHON" -c '
import json, sys, yaml
seed = [o for o in yaml.safe_load_all(open(sys.argv[1])) if o]
gone = set(filter(None, sys.argv[3].split(",")))
have = {}
for o in json.load(open(sys.argv[2]))["items"]:
    md = o.get("metadata", {})
    if md.get("labels", {}).get("kahu-compat") == "yes":
        have[(o["kind"], md.get("namespace"), md["name"])] = o
bad = []
for s in seed:
    md = s["metadata"]
    key = (s["kind"], md.get("namespace"), md["name"])
    o = have.pop(key, None)
    if s["kind"] + "/" + md["name"] in gone:
        if o is not None:
            bad.append("%s is there, should be gone" % (key,))
        continue
    if o is None:
        bad.append("%s is missing" % (key,))
        continue
    if o["apiVersion"] != s["apiVersion"]:
        bad.append("%s: apiVersion %s" % (key, o["apiVersion"]))
    labels = dict(md["labels"], **{"kahu.io/backup-name": sys.argv[4], "kahu.io/restore-name": sys.argv[5]})
    if s["kind"] == "Namespace":
        labels["kubernetes.io/metadata.name"] = md["name"]
    if o["metadata"].get("labels") != labels:
        bad.append("%s: metadata.labels %r != %r" % (key, o["metadata"].get("labels"), labels))
    if o["metadata"].get("annotations") != md.get("annotations"):
        bad.append("%s: metadata.annotations %r" % (key, o["metadata"].get("annotations")))
    for f in ("data", "type", "rules"):
        if f in s and o.get(f) != s[f]:
            bad.append("%s: %s %r != %r" % (key, f, o.get(f), s[f]))
    if s["kind"] == "Widget" and o.get("spec") != s["spec"]:
        bad.append("%s: spec %r" % (key, o.get("spec")))
    if s["kind"] == "CustomResourceDefinition":
        for f in ("group", "scope", "names"):
            if o["spec"].get(f) != s["spec"][f]:
                bad.append("%s: spec.%s %r" % (key, f, o["spec"].get(f)))
bad += ["%s: not in the seed" % (k,) for k in have]
for b in bad: print(b)
assert not bad' "$seed" "$f" "$gone" "$backup" "$restore"
		t_result $? "$d ($(basename "$f" .json))"
	done
}

cluster_start one || { t_result 1 "test cluster starts"; t_done; exit 1; }
kahu_k() { "$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }

t_ok "backup verify of the archive written by 81ea7f1" "$KAHU" backup verify compat
t_ok "backup describe --details lists its six objects" "$KAHU" backup describe compat --details -o json
t_py "... by type and name" '
assert d["items_by_type"] == {"clusterroles.rbac.authorization.k8s.io": ["compat-reader"],
    "configmaps": ["compat/settings"], "customresourcedefinitions.apiextensions.k8s.io": ["widgets.compat.kahu.io"],
    "secrets": ["compat/credentials"], "widgets.compat.kahu.io": ["compat/gear"], "namespaces": ["compat"]}, d["items_by_type"]' "$T_OUT"
t_ok "restore create from the 81ea7f1 archive" kahu_k restore create r1 --from-backup compat
t_ok "restore describe r1 -o json" "$KAHU" restore describe r1 -o json
t_py "... six objects created, none failed" '
c = d["counts"]
assert c["created"] == 6 and c["failed"] == 0, c' "$T_OUT"
check "the restored objects are the seed's" "$DATA/seed.yaml" compat r1

# An incremental backup by this kahu on top of the old full backup: the Secret
# deleted, the ConfigMap changed.
cluster_admin DELETE /api/v1/namespaces/compat/secrets/credentials >/dev/null
t_result $? "the Secret is deleted"
cluster_admin PATCH /api/v1/namespaces/compat/configmaps/settings \
	'{"data":{"empty":"filled"}}' >/dev/null 2>"$T_ERR" ||
	cluster_admin PUT /api/v1/namespaces/compat/configmaps/settings "$(cluster_admin GET /api/v1/namespaces/compat/configmaps/settings |
		"$PYTHON" -c 'import json,sys; o=json.load(sys.stdin); o["data"]["empty"]="filled"; print(json.dumps(o))')" >/dev/null
t_result $? "the ConfigMap is changed"
t_ok "backup create inc1 --incremental (parent: the 81ea7f1 backup)" \
	kahu_k backup create inc1 --incremental -l kahu-compat=yes
t_ok "backup describe inc1 -o json" "$KAHU" backup describe inc1 -o json
t_py "... its parent is compat" '
assert d["parent"] == "compat" and d["type"] == "incremental", (d["parent"], d["type"])' "$T_OUT"

# What this kahu stores is the server's bytes: each member is the list item as the
# server sent it, with apiVersion and kind inserted first where the item lacks them
# (a ConfigMap's), and as it is where it has them (a Widget's).
for p in /api/v1/namespaces/compat/configmaps /apis/compat.kahu.io/v1/namespaces/compat/widgets; do
	cluster_admin GET "$p" >"$T_DIR/list-${p##*/}.json"
done
t_ok "backup download inc1 --extract" "$KAHU" backup download inc1 --extract "$T_DIR/inc1"
t_run "$PYTHON" - "$T_DIR" <<'PY'
import json, sys
d = sys.argv[1]
bad = []
for typ, member, name, insert in (
        ("configmaps", "configmaps/namespaces/compat", "settings", '"apiVersion":"v1","kind":"ConfigMap",'),
        ("widgets", "widgets.compat.kahu.io/namespaces/compat", "gear", "")):
    body = open("%s/list-%s.json" % (d, typ), "rb").read().decode()
    at = body.index('"items":[') + len('"items":[')
    dec = json.JSONDecoder()
    item = None
    while body[at] != "]":
        obj, end = dec.raw_decode(body, at)
        if obj["metadata"]["name"] == name:
            item = body[at:end]
        at = end + (body[end] == ",")
    want = "{" + insert + item[1:]
    got = open("%s/inc1/resources/%s/%s.json" % (d, member, name), "rb").read().decode()
    if got != want:
        bad.append("%s/%s:\n  stored %s\n  server %s" % (typ, name, got[:300], want[:300]))
for b in bad: print(b)
assert not bad
PY
t_result $? "... its members are the list items' bytes (apiVersion and kind inserted where missing)"

cluster_start two || { t_result 1 "second test cluster starts"; t_done; exit 1; }
t_ok "restore create from the chain (81ea7f1 full, incremental)" kahu_k restore create r2 --from-backup inc1
"$PYTHON" - "$DATA/seed.yaml" "$T_DIR/seed2.yaml" <<'PY'
import sys
t = open(sys.argv[1]).read()
assert '  empty: ""\n' in t
open(sys.argv[2], "w").write(t.replace('  empty: ""\n', '  empty: "filled"\n'))
PY
check "the chain restores the incremental's state" "$T_DIR/seed2.yaml" inc1 r2 "Secret/credentials"

t_done

#!/usr/bin/env bash
# kahu backup create: the scope flags, one backup per case, each compared with the set
# of objects an independent model of the documented semantics (kahu-backup(1), SCOPE)
# computes from /_admin/dump and the server's discovery documents.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cat >"$T_DIR/teams.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b, labels: {team: b}}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-c}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-1, namespace: team-a, labels: {app: web, team: a}}
data: {k: a1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-2, namespace: team-a, labels: {app: db, team: a}}
data: {k: a2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm-1, namespace: team-b, labels: {app: web, team: b}}
data: {k: b1}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: skip-me
  namespace: team-a
  labels: {app: web, kahu.io/exclude-from-backup: "true"}
data: {k: never}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: keep-me
  namespace: team-a
  labels: {kahu.io/exclude-from-backup: "false"}
data: {k: kept}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-settings, namespace: team-c, labels: {app: web}}
data: {k: c}
---
apiVersion: v1
kind: Secret
metadata: {name: web-token, namespace: team-b, labels: {app: web}}
stringData: {token: not-a-real-token}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: team-c}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: hidden-data, namespace: team-b}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: web-reader, labels: {app: web}}
rules: []
---
apiVersion: demo.kahu.io/v1
kind: Widget
metadata: {name: sprocket, namespace: team-c, labels: {app: web}}
spec: {size: 3}
EOF

seeds=(--seed "$top_srcdir/examples/demo-apps.yaml" --seed "$T_DIR/teams.yaml")
[ -d "$KAHU_CORPUS/manifests" ] && seeds+=(--seed "$KAHU_CORPUS/manifests")
cluster_start main "${seeds[@]}" || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1

# The PV the server bound to team-b/hidden-data gets the exclude label: an included
# PVC's volume is still left out when it carries it.
cluster_admin GET /_admin/dump >"$T_DIR/dump0.json"
"$PYTHON" - "$T_DIR/dump0.json" "$T_DIR/pv.json" <<'PY'
import json, sys
for o in json.load(open(sys.argv[1]))["items"]:
    if o["kind"] == "PersistentVolume" and o["spec"].get("claimRef", {}).get("name") == "hidden-data":
        o["metadata"].setdefault("labels", {})["kahu.io/exclude-from-backup"] = "true"
        for f in ("resourceVersion", "managedFields"):
            o["metadata"].pop(f, None)
        json.dump(o, open(sys.argv[2], "w"))
        break
else:
    sys.exit("no PV bound to hidden-data")
PY
t_result $? "the server bound a PV to team-b/hidden-data"
cluster_admin POST /_admin/seed "@$T_DIR/pv.json" >/dev/null
cluster_admin GET /_admin/dump >"$T_DIR/dump.json"

cat >"$T_DIR/kt.py" <<'PY'
import fnmatch, json, os, re, ssl, sys, urllib.request

sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "cli"))
from kahu_discovery import fetch_discovery  # noqa: E402

def load(p):
    return json.load(open(p))

ALIASES = {"events.events.k8s.io": "events"}

def items(disc, dump):
    out = []
    for o in load(dump)["items"]:
        g = o["apiVersion"].rpartition("/")[0]
        grs = [gr for gr, t in disc.items() if t["group"] == g and t["kind"] == o["kind"]]
        if not grs or not disc[grs[0]]["backupable"]:
            continue
        gr = ALIASES.get(grs[0], grs[0])
        md = o["metadata"]
        out.append((gr, md.get("namespace", "") if disc[gr]["namespaced"] else "", md["name"], o))
    return out

def archive(root):
    res = set()
    base = os.path.join(root, "resources")
    for d, _, files in os.walk(base):
        for f in files:
            p = os.path.relpath(os.path.join(d, f), base).split("/")
            res.add((p[0], p[2], p[3][:-5]) if p[1] == "namespaces" else (p[0], "", p[2][:-5]))
    return res

# ---- label selectors: k=v k==v k!=v k in (..) k notin (..) k !k, comma = and ----
def parse_sel(text):
    reqs = []
    for part in re.findall(r"[^,(]+(?:\([^)]*\))?", text):
        part = part.strip()
        m = re.match(r"^(\S+)\s+(in|notin)\s+\((.*)\)$", part)
        if m:
            reqs.append((m.group(1), m.group(2), {x.strip() for x in m.group(3).split(",")}))
        elif "!=" in part:
            k, v = part.split("!=")
            reqs.append((k.strip(), "!=", v.strip()))
        elif "=" in part:
            k, v = part.split("=", 1)
            reqs.append((k.strip(), "=", v.lstrip("=").strip()))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!", None))
        else:
            reqs.append((part, "exists", None))
    def match(labels):
        for k, op, v in reqs:
            has, val = k in labels, labels.get(k)
            if op == "=":
                ok = has and val == v
            elif op == "!=":
                ok = val != v
            elif op == "in":
                ok = has and val in v
            elif op == "notin":
                ok = val not in v
            else:
                ok = has if op == "exists" else not has
            if not ok:
                return False
        return True
    return match

# ---- the scope model (kahu-backup(1), SCOPE) ----
REFERENCED = ("namespaces", "persistentvolumes", "customresourcedefinitions.apiextensions.k8s.io")

def model(disc, dump, o):
    ns_inc, ns_exc = o.get("ns_inc"), o.get("ns_exc", [])
    if ns_inc is not None and "*" in ns_inc:
        ns_inc = None
    res_inc, res_exc = o.get("res_inc"), set(o.get("res_exc", []))
    mode = o.get("cluster", "auto")
    sels = [parse_sel(s) for s in o["or"]] if "or" in o else [parse_sel(o["sel"])] if "sel" in o else []
    names_inc, names_exc = o.get("names_inc"), o.get("names_exc", [])

    def want_ns(ns):
        if ns_inc is not None and not any(fnmatch.fnmatchcase(ns, p) for p in ns_inc):
            return False
        return not any(fnmatch.fnmatchcase(ns, p) for p in ns_exc)

    def name_match(p, ns, name):
        if "/" in p:
            return bool(ns) and fnmatch.fnmatchcase(ns + "/" + name, p)
        return fnmatch.fnmatchcase(name, p)

    def type_decision(gr, namespaced):
        named = res_inc is not None and gr in res_inc
        if gr in res_exc:
            return "no"
        if gr == "namespaces":
            if named:
                return "yes"
            if res_inc is None and mode != "false" and not sels and names_inc is None and not names_exc:
                return "yes"
            return "ref"
        if namespaced:
            return "yes" if res_inc is None or named else "no"
        if mode == "false":
            return "no"
        if named:
            return "yes"
        if res_inc is not None:
            return "ref"
        if mode == "true":
            return "yes"
        return "ref" if ns_inc is not None else "yes"

    def excluded_label(obj):
        return obj["metadata"].get("labels", {}).get("kahu.io/exclude-from-backup") == "true"

    def want_obj(gr, ns, name, obj):
        if gr == "namespaces":
            if not want_ns(name):
                return False
            ns = ""
        elif ns and not want_ns(ns):
            return False
        if excluded_label(obj):
            return False
        if names_inc is not None and not any(name_match(p, ns, name) for p in names_inc):
            return False
        if any(name_match(p, ns, name) for p in names_exc):
            return False
        labels = obj["metadata"].get("labels", {})
        return not sels or any(s(labels) for s in sels)

    all_items = items(disc, dump)
    kept, refs = set(), []
    for gr, ns, name, obj in all_items:
        dec = type_decision(gr, disc[gr]["namespaced"])
        if dec == "yes":
            if want_obj(gr, ns, name, obj):
                kept.add((gr, ns, name))
        elif dec == "ref" and gr in REFERENCED:
            refs.append((gr, ns, name, obj))
    need_ns = {ns for gr, ns, name in kept if ns}
    need_pv = {obj["spec"].get("volumeName") for gr, ns, name, obj in all_items
               if gr == "persistentvolumeclaims" and (gr, ns, name) in kept}
    need_crd = {gr for gr, ns, name in kept}
    for gr, ns, name, obj in refs:
        need = {"namespaces": need_ns, "persistentvolumes": need_pv}.get(gr, need_crd)
        if name in need and not excluded_label(obj):
            kept.add((gr, ns, name))
    return kept

def compare(want, have):
    if want == have:
        return True
    for k in sorted(want - have)[:25]:
        print("missing from the backup: %s %s/%s" % k)
    for k in sorted(have - want)[:25]:
        print("unexpected in the backup: %s %s/%s" % k)
    print("(%d missing, %d unexpected, %d expected)" % (len(want - have), len(have - want), len(want)))
    return False

if __name__ == "__main__":
    if sys.argv[1] == "discovery":
        fetch_discovery(*sys.argv[2:6])
    else:  # check DISC DUMP DIR MODEL-JSON [MUST-HAVE-JSON]
        disc, dump, root, o = sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
        want, have = model(load(disc), dump, o), archive(root)
        ok = compare(want, have)
        for k in json.loads(sys.argv[6]) if len(sys.argv) > 6 else []:
            k = tuple(k[:3])
            if k not in want:
                print("the model does not expect %s %s/%s, the test is wrong" % k)
                ok = False
        for k in json.loads(sys.argv[7]) if len(sys.argv) > 7 else []:
            k = tuple(k[:3])
            if k in want:
                print("the model expects %s %s/%s, the test is wrong" % k)
                ok = False
        print(len(have), "objects")
        sys.exit(0 if ok else 1)
PY
"$PYTHON" "$T_DIR/kt.py" discovery "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA" "$T_DIR/disc.json" >"$T_OUT" 2>"$T_ERR"
t_result $? "discovery read independently of kahu"

n=0
# scope_case "description" 'model JSON' 'objects that must be in' 'objects that must not' -- flags...
# The last two (JSON lists of [group-resource, namespace, name]) are spot checks of the
# model itself, so a wrong model cannot make a case pass by agreeing with a wrong kahu.
scope_case() {
	local d=$1 m=$2 must=$3 mustnot=$4; shift 5
	n=$((n + 1))
	local name=scope-$n x=$T_DIR/x-$n
	t_run kahu_k backup create "$name" "$@"
	local rc=$?
	[ $rc -eq 0 ] || echo "#   exit $rc: backup create $name $*"
	t_result $rc "$d: backup create $*"
	[ $rc -eq 0 ] || return
	t_run "$KAHU" backup download "$name" --extract "$x" &&
		t_run "$PYTHON" "$T_DIR/kt.py" check "$T_DIR/disc.json" "$T_DIR/dump.json" "$x" "$m" "$must" "$mustnot"
	t_result $? "... the backup holds exactly the model's objects"
	SCOPE_X=$x
}

# Sanity: without flags, everything backupable, minus the excluded objects.
scope_case "no scope flags" '{}' \
	'[["configmaps","team-a","keep-me"],["namespaces","","team-a"],["clusterroles.rbac.authorization.k8s.io","","web-reader"]]' \
	'[["configmaps","team-a","skip-me"]]' --
t_py "... the scope is recorded as 'everything'" "
s = d['scope']
assert s['includeNamespaces'] == ['*'] and s['includeResources'] == ['*'], s
assert s['includeClusterResources'] == 'auto' and s['labelSelector'] is None, s" "$SCOPE_X/kahu/backup.json"
[ ! -e "$SCOPE_X/resources/configmaps/namespaces/team-a/skip-me.json" ] &&
	[ -e "$SCOPE_X/resources/configmaps/namespaces/team-a/keep-me.json" ]
t_result $? "... kahu.io/exclude-from-backup=true leaves the object out, =false does not"
PVHIDDEN=$("$PYTHON" -c 'import json,sys; print([o["metadata"]["name"] for o in json.load(open(sys.argv[1]))["items"] if o["kind"]=="PersistentVolume" and o["spec"]["claimRef"]["name"]=="hidden-data"][0])' "$T_DIR/dump.json")
[ ! -e "$SCOPE_X/resources/persistentvolumes/cluster/$PVHIDDEN.json" ] &&
	[ -e "$SCOPE_X/resources/persistentvolumeclaims/namespaces/team-b/hidden-data.json" ]
t_result $? "... also on a cluster-scoped object (the PV), its PVC is kept"

# Namespaces.
scope_case "namespace list" '{"ns_inc":["shop","blog"]}' \
	'[["namespaces","","shop"],["secrets","shop","shop-db"],["customresourcedefinitions.apiextensions.k8s.io","","widgets.demo.kahu.io"]]' \
	'[["namespaces","","team-a"],["clusterroles.rbac.authorization.k8s.io","","web-reader"],["storageclasses.storage.k8s.io","","standard"]]' \
	-- --include-namespaces shop,blog
scope_case "namespace glob" '{"ns_inc":["team-*"]}' \
	'[["configmaps","team-b","cm-1"],["namespaces","","team-c"]]' '[["namespaces","","shop"]]' \
	-- --include-namespaces 'team-*'
scope_case "namespace glob with an exclude (exclude wins)" '{"ns_inc":["team-*"],"ns_exc":["team-b"]}' \
	'[["configmaps","team-a","cm-1"]]' '[["configmaps","team-b","cm-1"],["namespaces","","team-b"]]' \
	-- --include-namespaces 'team-*' --exclude-namespaces team-b
scope_case "namespace exclude glob alone (no namespace filter: all cluster resources)" '{"ns_exc":["kube-*","team-?"]}' \
	'[["clusterroles.rbac.authorization.k8s.io","","web-reader"],["namespaces","","shop"]]' \
	'[["namespaces","","kube-system"],["configmaps","team-a","cm-1"]]' \
	-- --exclude-namespaces 'kube-*,team-?'
scope_case "namespace list with ? and [..] globs" '{"ns_inc":["team-[ab]","sho?"]}' \
	'[["configmaps","team-a","cm-1"],["secrets","shop","shop-db"]]' '[["configmaps","team-c","web-settings"]]' \
	-- --include-namespaces 'team-[ab],sho?'
t_exit 64 "a namespace both included and excluded is an error" kahu_k backup create bad --include-namespaces team-a --exclude-namespaces team-a
t_exit 64 "--exclude-namespaces '*' is an error" kahu_k backup create bad --exclude-namespaces '*'
t_exit 64 "an empty entry is an error" kahu_k backup create bad --include-namespaces 'shop,'
t_grep "... naming the flag" "include-namespaces" "$T_ERR"

# Resource types.
scope_case "resource types by plural, type.group, Kind and short name" \
	'{"res_inc":["configmaps","deployments.apps","secrets","serviceaccounts"]}' \
	'[["configmaps","team-a","cm-1"],["deployments.apps","shop","shop-web"],["secrets","shop","shop-db"],["namespaces","","shop"]]' \
	'[["services","shop","shop-web"],["clusterroles.rbac.authorization.k8s.io","","web-reader"]]' \
	-- --include-resources configmaps,deployments.apps,Secret,sa
t_py "... the names are resolved to group-resources in the recorded scope" "
assert d['scope']['includeResources'] == ['configmaps', 'deployments.apps', 'secrets', 'serviceaccounts'], d['scope']" \
	"$SCOPE_X/kahu/backup.json"
scope_case "excluded resource types" '{"res_exc":["configmaps","secrets","persistentvolumes"]}' \
	'[["services","shop","shop-web"]]' '[["configmaps","team-a","cm-1"],["secrets","shop","shop-db"]]' \
	-- --exclude-resources cm,secrets,PersistentVolume
scope_case "a cluster-scoped type named in --include-resources is backed up whole" \
	'{"ns_inc":["shop"],"res_inc":["clusterroles.rbac.authorization.k8s.io","configmaps"]}' \
	'[["clusterroles.rbac.authorization.k8s.io","","web-reader"],["configmaps","shop","shop-settings"],["namespaces","","shop"]]' \
	'[["configmaps","team-a","cm-1"]]' \
	-- --include-namespaces shop --include-resources clusterroles,configmaps
t_exit 64 "an unknown resource type exits 64" kahu_k backup create bad --include-resources deploymnts,configmaps
t_grep "... suggesting the close name" 'unknown resource type "deploymnts" \(did you mean deployments' "$T_ERR"
t_exit 64 "an unknown excluded type too" kahu_k backup create bad --exclude-resources sekrets
t_grep "... with a suggestion" 'unknown resource type "sekrets" \(did you mean .*secrets' "$T_ERR"
t_exit 64 "a type both included and excluded" kahu_k backup create bad --include-resources cm --exclude-resources configmaps
t_grep "... says so" "both included .* and excluded" "$T_ERR"

# Cluster-scoped resources.
scope_case "--include-cluster-resources auto with a namespace filter: only what included items need" \
	'{"ns_inc":["team-c","shop"]}' \
	'[["namespaces","","team-c"],["persistentvolumeclaims","team-c","data"],["customresourcedefinitions.apiextensions.k8s.io","","widgets.demo.kahu.io"],["widgets.demo.kahu.io","team-c","sprocket"]]' \
	'[["namespaces","","team-a"],["clusterroles.rbac.authorization.k8s.io","","web-reader"],["storageclasses.storage.k8s.io","","standard"],["nodes","","kahu-test-node"]]' \
	-- --include-namespaces team-c,shop
t_run "$PYTHON" -c '
import json, os, sys
dump = json.load(open(sys.argv[1]))["items"]
root = sys.argv[2] + "/resources/"
pvs = {o["spec"]["volumeName"] for o in dump if o["kind"] == "PersistentVolumeClaim" and o["metadata"]["namespace"] in ("team-c", "shop")}
have = set(os.listdir(root + "persistentvolumes/cluster"))
assert have == {p + ".json" for p in pvs}, (have, pvs)
crds = set(os.listdir(root + "customresourcedefinitions.apiextensions.k8s.io/cluster"))
assert crds == {"widgets.demo.kahu.io.json"}, crds
assert set(os.listdir(root + "namespaces/cluster")) == {"team-c.json", "shop.json"}' "$T_DIR/dump.json" "$SCOPE_X"
t_result $? "... exactly the PVs bound to included PVCs, the CRD of the included custom resources, the included Namespaces"
scope_case "auto, a namespace filter and only custom resources: their CRD and Namespace come along" \
	'{"ns_inc":["shop"],"res_inc":["widgets.demo.kahu.io"]}' \
	'[["widgets.demo.kahu.io","shop","gizmo"],["customresourcedefinitions.apiextensions.k8s.io","","widgets.demo.kahu.io"],["namespaces","","shop"]]' \
	'[["configmaps","shop","shop-settings"]]' \
	-- --include-namespaces shop --include-resources widgets
scope_case "--include-cluster-resources true with a namespace filter: every cluster-scoped object" \
	'{"ns_inc":["team-c"],"cluster":"true"}' \
	'[["clusterroles.rbac.authorization.k8s.io","","web-reader"],["storageclasses.storage.k8s.io","","standard"],["customresourcedefinitions.apiextensions.k8s.io","","widgets.demo.kahu.io"],["namespaces","","team-c"]]' \
	'[["namespaces","","team-a"],["configmaps","team-a","cm-1"]]' \
	-- --include-namespaces team-c --include-cluster-resources true
scope_case "--include-cluster-resources false: no cluster-scoped object but the Namespaces of included items" \
	'{"cluster":"false"}' \
	'[["configmaps","team-a","cm-1"],["persistentvolumeclaims","team-c","data"],["namespaces","","team-a"]]' \
	'[["clusterroles.rbac.authorization.k8s.io","","web-reader"],["persistentvolumes","","'"$PVHIDDEN"'"]]' \
	-- --include-cluster-resources false
t_run "$PYTHON" -c '
import os, sys
d = sys.argv[1] + "/resources"
bad = [t for t in os.listdir(d) if t != "namespaces" and os.path.isdir(os.path.join(d, t, "cluster"))]
assert not bad, bad' "$SCOPE_X"
t_result $? "... no resources/*/cluster directory besides namespaces"
t_exit 64 "--include-cluster-resources maybe is an error" kahu_k backup create bad --include-cluster-resources maybe

# Labels.
scope_case "-l selector" '{"sel":"app=web"}' \
	'[["configmaps","team-a","cm-1"],["secrets","team-b","web-token"],["clusterroles.rbac.authorization.k8s.io","","web-reader"],["namespaces","","team-c"],["widgets.demo.kahu.io","team-c","sprocket"]]' \
	'[["configmaps","team-a","cm-2"],["configmaps","team-a","skip-me"],["namespaces","","shop"]]' \
	-- -l app=web
scope_case "set-based selector with a namespace filter" '{"sel":"app in (web,db),team!=b","ns_inc":["team-*"]}' \
	'[["configmaps","team-a","cm-2"],["configmaps","team-c","web-settings"]]' \
	'[["configmaps","team-b","cm-1"],["clusterroles.rbac.authorization.k8s.io","","web-reader"]]' \
	-- -l 'app in (web,db),team!=b' --include-namespaces 'team-*'
scope_case "--or-selector" '{"or":["app=shop","team=b"]}' \
	'[["secrets","shop","shop-db"],["configmaps","team-b","cm-1"],["namespaces","","team-b"]]' \
	'[["configmaps","team-a","cm-1"]]' \
	-- --or-selector 'app=shop or team=b'
t_exit 64 "-l and --or-selector together are an error" kahu_k backup create bad -l a=b --or-selector 'c=d or e=f'
t_exit 64 "a malformed selector is an error" kahu_k backup create bad -l 'app in (web'

# Names.
scope_case "--include-names globs" '{"names_inc":["cm-*","shop-*"]}' \
	'[["configmaps","team-a","cm-1"],["deployments.apps","shop","shop-web"],["namespaces","","team-a"]]' \
	'[["configmaps","team-a","keep-me"],["namespaces","","blog"]]' \
	-- --include-names 'cm-*,shop-*'
scope_case "--exclude-names globs, NAMESPACE/NAME patterns" '{"names_exc":["team-a/*","kube-root-ca.crt","*-token"]}' \
	'[["configmaps","team-b","cm-1"],["namespaces","","team-b"]]' \
	'[["configmaps","team-a","cm-1"],["namespaces","","team-a"],["configmaps","shop","kube-root-ca.crt"],["secrets","team-b","web-token"]]' \
	-- --exclude-names 'team-a/*,kube-root-ca.crt,*-token'
scope_case "--include-names with NAMESPACE/NAME and a namespace exclude" \
	'{"names_inc":["team-?/cm-1","shop/*"],"ns_exc":["team-b"]}' \
	'[["configmaps","team-a","cm-1"],["secrets","shop","shop-db"]]' \
	'[["configmaps","team-b","cm-1"],["clusterroles.rbac.authorization.k8s.io","","web-reader"]]' \
	-- --include-names 'team-?/cm-1,shop/*' --exclude-namespaces team-b
t_exit 64 "a name pattern with two slashes is an error" kahu_k backup create bad --include-names 'a/b/c'

# The dry run agrees with the real backup.
t_ok "--dry-run -o json of a scoped backup" kahu_k backup create dry --dry-run -o json --include-namespaces 'team-*' -l app=web
t_py "... counts the same objects the model keeps" "
import sys; sys.path.insert(0, '$T_DIR'); import kt
want = kt.model(kt.load('$T_DIR/disc.json'), '$T_DIR/dump.json', {'ns_inc': ['team-*'], 'sel': 'app=web'})
have = sum(t['items'] for t in d['plan'])
assert have == len(want), (have, sorted(want))" "$T_OUT"

t_done

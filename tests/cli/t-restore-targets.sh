#!/usr/bin/env bash
# kahu restore create into other clusters: a second test-cluster instance (--kubeconfig
# of the target), with and without --namespace-mappings (objects land in the new
# namespace, RoleBinding/ClusterRoleBinding subjects and PV claimRefs follow), CRDs
# that take time to be established (custom resources only after), a type the target
# user may not touch (items fail with the server's reason, exit 2), API-version drift
# (a custom resource stored at a version the target's CRD no longer serves), an unknown
# backup (66), the wrong key (77), and an interrupted restore (130, 143: the result so
# far is stored).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cat >"$T_DIR/src.yaml" <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: shop-readers, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: default, namespace: shop}
- {kind: ServiceAccount, name: default, namespace: blog}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: shop-viewers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: default, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: shop-role, namespace: shop}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.drift.kahu.io}
spec:
  group: drift.kahu.io
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: drift.kahu.io/v1beta1
kind: Gadget
metadata: {name: old-gadget, namespace: shop}
spec: {size: 7}
EOF
# The target's CRD of the same name serves only v1: the backup's v1beta1 object must
# be restored as v1.
cat >"$T_DIR/tgt.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.drift.kahu.io}
spec:
  group: drift.kahu.io
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
EOF

cat >"$T_DIR/rt.py" <<'PY'
import json, ssl, urllib.error, urllib.request

def get(url, token, ca, path):
    ctx = ssl.create_default_context(cafile=ca)
    r = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token,
                                                    "Accept": "application/json"})
    try:
        with urllib.request.urlopen(r, context=ctx) as f:
            return f.status, json.load(f)
    except urllib.error.HTTPError as e:
        return e.code, None

def key(o):
    md = o["metadata"]
    return (o["apiVersion"].rpartition("/")[0], o["kind"], md.get("namespace", ""), md["name"])

def load(p):
    return json.load(open(p))["items"]

SERVER_ANNOTATIONS = ("pv.kubernetes.io/", "volume.kubernetes.io/selected-node",
                      "volume.beta.kubernetes.io/storage-provisioner",
                      "volume.kubernetes.io/storage-provisioner")

def norm(o, ns_map=None):
    """Without what the server owns; namespaces mapped as kahu-restore(1) says."""
    o = json.loads(json.dumps(o))
    ns_map = ns_map or {}
    m = lambda n: ns_map.get(n, n)
    md = o["metadata"]
    for f in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
              "selfLink", "ownerReferences"):
        md.pop(f, None)
    lb = md.get("labels") or {}
    for l in ("kahu.io/backup-name", "kahu.io/restore-name"):
        lb.pop(l, None)
    if not lb:
        md.pop("labels", None)
    an = {a: v for a, v in (md.get("annotations") or {}).items() if not a.startswith(SERVER_ANNOTATIONS)}
    md.pop("annotations", None)
    if an:
        md["annotations"] = an
    o.pop("status", None)
    if "namespace" in md:
        md["namespace"] = m(md["namespace"])
    if o["kind"] == "Namespace":
        md["name"] = m(md["name"])
        if "kubernetes.io/metadata.name" in (md.get("labels") or {}):
            md["labels"]["kubernetes.io/metadata.name"] = md["name"]
    for s in o.get("subjects") or []:
        if "namespace" in s:
            s["namespace"] = m(s["namespace"])
    sp = o.get("spec")
    if isinstance(sp, dict) and o["kind"] == "Service":
        if sp.get("clusterIP") != "None":
            sp.pop("clusterIP", None)
            sp.pop("clusterIPs", None)
        for p in sp.get("ports", []):
            p.pop("nodePort", None)
    if isinstance(sp, dict) and o["kind"] == "PersistentVolume" and "claimRef" in sp:
        for f in ("uid", "resourceVersion"):
            sp["claimRef"].pop(f, None)
        if "namespace" in sp["claimRef"]:
            sp["claimRef"]["namespace"] = m(sp["claimRef"]["namespace"])
    return o

def same(src, dst, keys, ns_map=None):
    """Every object of src whose key is in keys is in dst (mapped), equal after norm."""
    ns_map = ns_map or {}
    d = {key(o): o for o in dst}
    bad = []
    for o in src:
        k = key(o)
        if k not in keys:
            continue
        mk = (k[0], k[1], ns_map.get(k[2], k[2]), ns_map.get(k[3], k[3]) if k[1] == "Namespace" else k[3])
        if mk not in d:
            bad.append("missing %s" % (mk,))
        elif norm(o, ns_map) != norm(d[mk]):
            bad.append("differs %s: %s != %s" % (mk, json.dumps(norm(o, ns_map))[:300], json.dumps(norm(d[mk]))[:300]))
    return bad
PY
export PYTHONPATH=$T_DIR
t_pyrun() { local d=$1 code=$2; shift 2; t_run "$PYTHON" -c "import sys, json, rt
$code" "$@"; t_result $? "$d"; }

# ---- the source cluster and its backup ----
cluster_start src --seed "$top_srcdir/examples/demo-apps.yaml" --seed "$T_DIR/src.yaml" ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
SRC_KC=$CLUSTER_KUBECONFIG
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
# (objects only: volume data in a restore is t-volume-restore.sh's)
t_ok "backup create b1 (source cluster)" "$KAHU" --kubeconfig "$SRC_KC" backup create b1 --volume-data none
cluster_admin GET /_admin/dump >"$T_DIR/src.json"
# The keys of the source's namespaces shop and blog, the objects a restore of them
# creates (not the ones the target makes itself: kube-root-ca.crt, ServiceAccount default).
"$PYTHON" -c 'import sys, json, rt
keys = [rt.key(o) for o in rt.load(sys.argv[1])
        if o["metadata"].get("namespace") in ("shop", "blog")
        and o["metadata"]["name"] not in ("kube-root-ca.crt",)
        and not (o["kind"] == "ServiceAccount" and o["metadata"]["name"] == "default")]
keys += [rt.key(o) for o in rt.load(sys.argv[1]) if o["kind"] == "Namespace" and o["metadata"]["name"] in ("shop", "blog")]
json.dump(keys, open(sys.argv[2], "w"))' "$T_DIR/src.json" "$T_DIR/shopblog.keys"

# ---- another cluster: CRDs established after 2 s, a CRD that serves another version ----
cluster_start tgt --crd-delay 2 --seed "$T_DIR/tgt.yaml" || { t_result 1 "target cluster starts"; t_done; exit 1; }
TGT_KC=$CLUSTER_KUBECONFIG
start=$(date +%s)
t_ok "restore create into another cluster (--kubeconfig of the target, CRDs delayed 2 s)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create t1 --from-backup b1 --include-namespaces shop,blog
elapsed=$(($(date +%s) - start))
cp "$T_ERR" "$T_DIR/t1.err"
"$KAHU" restore describe t1 -o json >"$T_DIR/t1.result.json" 2>/dev/null
cluster_admin GET /_admin/dump >"$T_DIR/tgt.json"
t_pyrun "... the objects of shop and blog are there, equal to the source's" '
keys = {tuple(k) for k in json.load(open(sys.argv[3]))}
keys = {k for k in keys if k[1] not in ("Gadget",)}
bad = rt.same(rt.load(sys.argv[1]), rt.load(sys.argv[2]), keys)
for b in bad[:20]: print(b)
assert not bad' "$T_DIR/src.json" "$T_DIR/tgt.json" "$T_DIR/shopblog.keys"
echo "elapsed $elapsed s" >"$T_OUT"
[ "$elapsed" -ge 2 ]; t_result $? "... it waited for the CRD to be established (the delay is 2 s)"
t_py "... the custom resource shop/gizmo was created after its CRD" "
w = [i for i in d['items'] if i['resource'] == 'widgets.demo.kahu.io' and i['name'] == 'gizmo'][0]
assert w['outcome'] == 'created', w
c = [i for i in d['items'] if i['resource'].startswith('customresourcedefinitions') and i['name'] == 'widgets.demo.kahu.io'][0]
assert c['outcome'] == 'created', c
assert d['items'].index(c) < d['items'].index(w)" "$T_DIR/t1.result.json"
t_pyrun "... and exists in the target, served by the CRD (admin dump)" '
st, o = rt.get(sys.argv[1], sys.argv[2], sys.argv[3], "/apis/demo.kahu.io/v1/namespaces/shop/widgets/gizmo")
assert st == 200, st
src = [x for x in rt.load(sys.argv[4]) if x["kind"] == "Widget"][0]
assert rt.norm(src) == rt.norm(o), (rt.norm(src), rt.norm(o))' "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA" "$T_DIR/src.json"

# ---- API-version drift ----
t_py "the target's CRD gadgets.drift.kahu.io (v1 only) differs from the backup's (v1beta1): skipped" "
c = [i for i in d['items'] if i['name'] == 'gadgets.drift.kahu.io'][0]
assert c['outcome'] == 'skipped' and c['reason'] == 'exists, differs', c" "$T_DIR/t1.result.json"
t_py "... the backup's drift.kahu.io/v1beta1 Gadget is created as v1, the version the target serves" "
g = [i for i in d['items'] if i['name'] == 'old-gadget'][0]
assert g['outcome'] == 'created', g" "$T_DIR/t1.result.json"
t_pyrun "... and the target serves it at drift.kahu.io/v1 with the backup's spec" '
st, o = rt.get(sys.argv[1], sys.argv[2], sys.argv[3], "/apis/drift.kahu.io/v1/namespaces/shop/gadgets/old-gadget")
assert st == 200 and o["apiVersion"] == "drift.kahu.io/v1" and o["spec"] == {"size": 7}, (st, o)' \
	"$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA"
t_ok "... a dry run with -v says so" "$KAHU" --kubeconfig "$TGT_KC" -v restore create --from-backup b1 --include-names old-gadget --dry-run
t_grep "... naming the old and the new version" "does not serve drift\.kahu\.io/v1beta1.*restoring it as drift\.kahu\.io/v1" "$T_ERR"

# A group the target does not serve at all (CRDs left out): the items fail, saying why.
cluster_start bare || { t_result 1 "a third cluster starts"; t_done; exit 1; }
t_exit 2 "without the CRDs (--exclude-resources customresourcedefinitions), custom resources fail: exit 2" \
	"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create t-nocrd --from-backup b1 --include-namespaces shop \
	--exclude-resources customresourcedefinitions
t_grep "... PartiallyFailed" "PartiallyFailed" "$T_OUT"
t_ok "... restore describe --details" "$KAHU" restore describe t-nocrd --details
t_grep "... names the custom resource and the reason" "widgets\.demo\.kahu\.io +shop +gizmo +failed +the target cluster does not serve group demo\.kahu\.io.*restore its CRD first" "$T_OUT"
t_grep "... and the other drift case" "gadgets\.drift\.kahu\.io +shop +old-gadget +failed +the target cluster does not serve group drift\.kahu\.io" "$T_OUT"

# ---- namespace mappings ----
cluster_start mapped || { t_result 1 "a fourth cluster starts"; t_done; exit 1; }
MAP_KC=$CLUSTER_KUBECONFIG
t_ok "restore create --namespace-mappings shop:shop2 (with the cluster objects)" \
	"$KAHU" --kubeconfig "$MAP_KC" restore create t-map --from-backup b1 --include-namespaces shop \
	--include-cluster-resources true --namespace-mappings shop:shop2
cluster_admin GET /_admin/dump >"$T_DIR/mapped.json"
"$KAHU" restore describe t-map -o json >"$T_DIR/t-map.result.json" 2>/dev/null
t_pyrun "... every object of shop is in shop2, equal (subjects and claimRefs mapped)" '
keys = {tuple(k) for k in json.load(open(sys.argv[3])) if k[2] == "shop" or (k[1] == "Namespace" and k[3] == "shop")}
bad = rt.same(rt.load(sys.argv[1]), rt.load(sys.argv[2]), keys, {"shop": "shop2"})
for b in bad[:20]: print(b)
assert not bad' "$T_DIR/src.json" "$T_DIR/mapped.json" "$T_DIR/shopblog.keys"
t_pyrun "... nothing landed in shop" '
objs = [o for o in rt.load(sys.argv[1]) if o["metadata"].get("namespace") == "shop" or (o["kind"] == "Namespace" and o["metadata"]["name"] == "shop")]
assert not objs, [rt.key(o) for o in objs][:10]' "$T_DIR/mapped.json"
t_pyrun "... RoleBinding subjects: shop -> shop2, blog unchanged; ClusterRoleBinding subject -> shop2" '
d = {rt.key(o): o for o in rt.load(sys.argv[1])}
rb = d[("rbac.authorization.k8s.io", "RoleBinding", "shop2", "shop-readers")]
assert [s["namespace"] for s in rb["subjects"]] == ["shop2", "blog"], rb["subjects"]
crb = d[("rbac.authorization.k8s.io", "ClusterRoleBinding", "", "shop-viewers")]
assert [s["namespace"] for s in crb["subjects"]] == ["shop2"], crb["subjects"]' "$T_DIR/mapped.json"
t_pyrun "... the PV of shop/shop-data claims shop2/shop-data" '
src = [o for o in rt.load(sys.argv[1]) if o["kind"] == "PersistentVolume" and o["spec"]["claimRef"]["name"] == "shop-data"][0]
dst = {rt.key(o): o for o in rt.load(sys.argv[2])}[rt.key(src)]
assert dst["spec"]["claimRef"]["namespace"] == "shop2" and dst["spec"]["claimRef"]["name"] == "shop-data", dst["spec"]' \
	"$T_DIR/src.json" "$T_DIR/mapped.json"
t_py "... the result names target and source namespaces" "
i = [x for x in d['items'] if x['resource'] == 'configmaps' and x['name'] == 'shop-settings'][0]
assert i['namespace'] == 'shop2' and i['sourceNamespace'] == 'shop' and i['outcome'] == 'created', i" "$T_DIR/t-map.result.json"

# A mapping is applied once: with shop and blog swapped, shop's objects land in blog
# (not back in shop) and the subjects of its RoleBinding trade places.
t_ok "restore create --namespace-mappings shop:blog,blog:shop" \
	"$KAHU" --kubeconfig "$MAP_KC" restore create t-swap --from-backup b1 --include-namespaces shop \
	--namespace-mappings shop:blog,blog:shop
"$KAHU" restore describe t-swap -o json >"$T_DIR/t-swap.result.json" 2>/dev/null
t_py "... shop's ConfigMap is created in blog" "
i = [x for x in d['items'] if x['resource'] == 'configmaps' and x['name'] == 'shop-settings'][0]
assert i['namespace'] == 'blog' and i['sourceNamespace'] == 'shop' and i['outcome'] == 'created', i" "$T_DIR/t-swap.result.json"
cluster_admin GET /_admin/dump >"$T_DIR/swapped.json"
t_pyrun "... its RoleBinding in blog has the subjects blog and shop; nothing landed in shop" '
objs = rt.load(sys.argv[1])
d = {rt.key(o): o for o in objs}
rb = d[("rbac.authorization.k8s.io", "RoleBinding", "blog", "shop-readers")]
assert [s["namespace"] for s in rb["subjects"]] == ["blog", "shop"], rb["subjects"]
assert not [rt.key(o) for o in objs if o["metadata"].get("namespace") == "shop"]' "$T_DIR/swapped.json"

# ---- a type the target's user may not touch ----
# User "limited" may not get secrets and roles (the test cluster's default --forbid):
# those items fail with the server's reason, the others are restored.
t_exit 2 "restore create --context limited: forbidden types fail, exit 2 (PartiallyFailed)" \
	"$KAHU" --kubeconfig "$MAP_KC" --context limited restore create t-forbid --from-backup b1 --include-namespaces shop
t_grep "... says PartiallyFailed" "PartiallyFailed" "$T_OUT"
t_grep "... and names an item on stderr" "secrets shop/shop-db: .*forbidden" "$T_ERR"
t_ok "... restore describe --details" "$KAHU" restore describe t-forbid --details
t_grep "... status PartiallyFailed" "^Status: +PartiallyFailed" "$T_OUT"
t_grep "... the Secret failed with the server's reason" "^secrets +shop +shop-db +failed +.*forbidden: User \"limited\" cannot get resource \"secrets\"" "$T_OUT"
t_grep "... the Role too" "^roles\.rbac\.authorization\.k8s\.io +shop +shop-role +failed +.*forbidden" "$T_OUT"
t_grep "... the ConfigMap was created" "^configmaps +shop +shop-settings +created" "$T_OUT"
t_ok "... restore describe --outcome failed" "$KAHU" restore describe t-forbid --outcome failed
t_grep "... lists the failed Secret" "^secrets +shop +shop-db +failed " "$T_OUT"
t_nogrep "... and nothing that did not fail" " (created|skipped|updated) " "$T_OUT"
t_ok "... restore describe --outcome failed,created -o json" "$KAHU" restore describe t-forbid --outcome failed,created -o json
t_py "... the document's items are those two outcomes, both present" "
oc = {i['outcome'] for i in d['items']}
assert oc == {'failed', 'created'}, oc" "$T_OUT"
t_exit 64 "... --outcome bogus exits 64" "$KAHU" restore describe t-forbid --outcome bogus
t_ok "... restore logs t-forbid" "$KAHU" restore logs t-forbid
t_grep "... the log names the failed Secret and why" '"msg":"secrets shop/shop-db failed: .*forbidden' "$T_OUT"

# ---- unknown backup, wrong key ----
t_exit 66 "an unknown backup exits 66" "$KAHU" --kubeconfig "$MAP_KC" restore create --from-backup nosuch
"$KAHU" key generate --file "$T_DIR/other.key" >/dev/null 2>&1
t_exit 77 "the wrong key exits 77" env KAHU_KEY_FILE="$T_DIR/other.key" "$KAHU" --kubeconfig "$MAP_KC" restore create t-wrongkey --from-backup b1
t_grep "... naming the backup's key" "key" "$T_ERR"
t_exit 66 "... and no restore was recorded" "$KAHU" restore describe t-wrongkey

# ---- interrupted ----
cluster_start intr || { t_result 1 "a fifth cluster starts"; t_done; exit 1; }
cluster_admin POST /_admin/faults '[{"match":{"method":"POST"},"action":"slow","delay_ms":300,"times":1000000}]' >/dev/null
wait_posts() { # N: until the cluster has seen N POSTs (10 s at most)
	local i
	for i in $(seq 1 100); do
		[ "$(cluster_stats_get by_method.POST)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
interrupt() { # SIGNAL NAME
	"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create "$2" --from-backup b1 --parallel 1 >"$T_DIR/$2.out" 2>"$T_DIR/$2.err" &
	local pid=$!
	wait_posts 3
	kill -"$1" $pid
	wait $pid
}
interrupt INT t-int; rc=$?
echo "exit $rc" >"$T_OUT"; cp "$T_DIR/t-int.err" "$T_ERR"
[ $rc -eq 130 ]; t_result $? "SIGINT mid-restore exits 130"
t_grep "... saying the result so far is stored" "interrupted.*result so far is stored" "$T_DIR/t-int.err"
t_ok "... restore describe shows the partial result" "$KAHU" restore describe t-int --details
t_grep "... status Interrupted" "^Status: +Interrupted" "$T_OUT"
t_grep "... some items created" "^Items: +[0-9]+: [1-9][0-9]* created" "$T_OUT"
t_ok "... restore describe -o json" "$KAHU" restore describe t-int -o json
t_py "... fewer items than the backup holds" "
n = len(d['items'])
assert 0 < n < 50 and d['status'] == 'Interrupted', (n, d['status'])" "$T_OUT"
interrupt TERM t-term; rc=$?
echo "exit $rc" >"$T_OUT"
[ $rc -eq 143 ]; t_result $? "SIGTERM mid-restore exits 143"
t_ok "... restore describe shows the partial result" "$KAHU" restore describe t-term
t_grep "... status Interrupted" "^Status: +Interrupted" "$T_OUT"

# ---- killed: the run cannot record a result; the mark it left says so ----
"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create t-kill --from-backup b1 --parallel 1 >/dev/null 2>"$T_DIR/t-kill.err" &
pid=$!
wait_posts 3
t_ok "while a restore runs, restore list shows it" "$KAHU" restore list
t_grep "... InProgress" "^t-kill +b1 +InProgress " "$T_OUT"
kill -KILL $pid
wait $pid 2>/dev/null
t_ok "after kill -9, restore list still shows it" "$KAHU" restore list
t_grep "... as Interrupted" "^t-kill +b1 +Interrupted " "$T_OUT"
t_ok "... restore describe says what happened" "$KAHU" restore describe t-kill --details
t_grep "... status Interrupted" "^Status: +Interrupted" "$T_OUT"
t_grep "... the run ended without a result, and what to do" "^Error: +the run ended without recording its result.*run the restore again" "$T_OUT"
t_ok "... restore describe -o json" "$KAHU" restore describe t-kill -o json
t_py "... status Interrupted with the reason" "
assert d['status'] == 'Interrupted' and 'without recording' in d['error'], d" "$T_OUT"
t_exit 73 "... its name stays taken" "$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create t-kill --from-backup b1
t_exit 66 "... restore logs says it has no stored log" "$KAHU" restore logs t-kill
t_grep "... and why" "restore t-kill has no stored log" "$T_ERR"
cluster_admin DELETE /_admin/faults >/dev/null
t_ok "... a restore run again completes what it did not (identical objects skipped)" \
	"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create t-kill2 --from-backup b1
t_grep "... Completed" "^Restore t-kill2 from backup b1: Completed\." "$T_OUT"

# ---- a run that stops as a whole still records what it did ----
# The backup brings CRDs, so after them the target is discovered again; that fails.
cluster_start fatal || { t_result 1 "a sixth cluster starts"; t_done; exit 1; }
cluster_admin POST /_admin/faults '[{"match":{"path_regex":"^/apis$"},"action":"403","after":1,"times":1000000}]' >/dev/null
t_run "$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create t-fatal --from-backup b1; rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; t_result $? "a restore whose re-discovery fails exits non-zero, not 2 (exit $rc)"
t_grep "... saying where it stopped and that it is recorded" "restore t-fatal stopped after [0-9]+ items; what it did is recorded" "$T_ERR"
t_ok "... restore describe" "$KAHU" restore describe t-fatal --details
t_grep "... status Failed" "^Status: +Failed" "$T_OUT"
t_grep "... with the error" "^Error: +.*/apis" "$T_OUT"
t_grep "... and the CRDs it created" "^customresourcedefinitions\.apiextensions\.k8s\.io +widgets\.demo\.kahu\.io +created" "$T_OUT"

t_done

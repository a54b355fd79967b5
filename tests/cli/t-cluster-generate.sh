#!/usr/bin/env bash
# The test cluster's generated objects (tests/cluster/README.md, "Generated objects"):
# large CRDs with openAPI v3 schemas, Pods with large managedFields, and 1-4 KB
# ConfigMaps, Secrets, Services and Deployments over many namespaces.  The real kubectl
# lists them (when installed); they have the sizes asked; POST /_admin/generate adds more
# and refuses what it does not know; and kahu backs them all up.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cluster_start main --crds 12 --crd-size 262144 --pods 30 --pod-namespaces 3 --pod-managed-fields 16384 \
	--mixed 400 --mixed-namespaces 50 --no-save ||
	{ t_result 1 "test cluster starts with generated objects"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG

# ---- what the server holds (through its own API) ----
get() { # PATH -> the JSON body
	"$PYTHON" - "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA" "$1" <<'PY'
import ssl, sys, urllib.request
url, token, ca, path = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
req = urllib.request.Request(url + path, headers={"Authorization": "Bearer " + token})
sys.stdout.buffer.write(urllib.request.urlopen(req, context=ctx).read())
PY
}
get /apis/apiextensions.k8s.io/v1/customresourcedefinitions >"$T_DIR/crds.json"
t_py "12 generated CRDs of about 256 KiB, established, with nested schemas in two versions" '
import json
g = [c for c in d["items"] if c["spec"]["group"].endswith(".kahu-test.io")]
assert len(g) == 12, len(g)
for c in g:
    n = len(json.dumps(c, separators=(",", ":")))
    assert 0.9 * 262144 <= n <= 1.1 * 262144, (c["metadata"]["name"], n)
    assert any(x["type"] == "Established" and x["status"] == "True" for x in c["status"]["conditions"])
    vs = c["spec"]["versions"]
    assert [v["name"] for v in vs] == ["v1beta1", "v1"] and [v["storage"] for v in vs] == [False, True]
    s = vs[1]["schema"]["openAPIV3Schema"]
    assert s["type"] == "object" and len(s["properties"]["spec"]["properties"]) > 3, s.keys()
    def depth(x):
        kids = list(x.get("properties", {}).values())
        if isinstance(x.get("items"), dict):
            kids.append(x["items"])
        return 1 + max([depth(k) for k in kids], default=0)
    assert depth(s) >= 5, depth(s)' "$T_DIR/crds.json"
t_ok "the body escapes <, > and & as kube-apiserver does" grep -q 'u003c' "$T_DIR/crds.json"
get /api/v1/pods >"$T_DIR/pods.json"
t_py "30 running Pods with managedFields of about 16 KiB, owned by ReplicaSets" '
import json
p = [x for x in d["items"] if x["metadata"]["namespace"].startswith("gen-pods-")]
assert len(p) == 30, len(p)
for x in p:
    n = len(json.dumps(x["metadata"]["managedFields"], separators=(",", ":")))
    assert 0.9 * 16384 <= n <= 1.1 * 16384, n
    assert x["status"]["phase"] == "Running"
    assert x["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
    assert any(k.startswith("k:{\"name\":") for k in x["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:containers"])' \
	"$T_DIR/pods.json"
for r in /api/v1/configmaps /api/v1/secrets /api/v1/services /apis/apps/v1/deployments; do
	get "$r?labelSelector=app.kubernetes.io/part-of%3Dmixed" >"$T_DIR/mixed-${r##*/}.json"
done
"$PYTHON" -c '
import json, sys
out = {"items": []}
for f in sys.argv[2:]:
    out["items"] += json.load(open(f))["items"]
json.dump(out, open(sys.argv[1], "w"))' "$T_DIR/mixed.json" "$T_DIR"/mixed-*.json
t_py "400 mixed objects of 1-4 KB: 100 of each kind over 50 namespaces" '
import collections, json
c = collections.Counter(x["metadata"]["name"].split("-")[1] for x in d["items"])
assert c == {"configmap": 100, "secret": 100, "service": 100, "deployment": 100}, c
assert len({x["metadata"]["namespace"] for x in d["items"]}) == 50
sizes = [len(json.dumps(x, separators=(",", ":"))) for x in d["items"]]
assert min(sizes) >= 1000 and max(sizes) <= 4300, (min(sizes), max(sizes))
assert max(sizes) - min(sizes) > 2000, "sizes are spread"' "$T_DIR/mixed.json"

# ---- the admin endpoint ----
t_ok "POST /_admin/generate adds mixed objects" cluster_admin POST /_admin/generate \
	'{"what":"mixed","count":8,"namespaces":2,"prefix":"more"}'
t_py "... 8 of them, 2 of each kind" 'assert d["created"] == 8 and d["kinds"]["Service"] == 2, d' "$T_OUT"
t_ok "POST /_admin/generate adds CRDs" cluster_admin POST /_admin/generate \
	'{"what":"crds","count":2,"size":65536,"prefix":"extra"}'
t_fail "POST /_admin/generate refuses an unknown kind" cluster_admin POST /_admin/generate '{"what":"nodes"}'

# ---- the real kubectl ----
KUBECTL=${KUBECTL:-kubectl}
if command -v "$KUBECTL" >/dev/null 2>&1; then
	k() { "$KUBECTL" --kubeconfig "$KC" "$@"; }
	t_ok "kubectl get crds" k get crds
	n=$(grep -c '\.kahu-test\.io ' "$T_OUT")
	[ "$n" -eq 14 ]; t_result $? "... lists the 14 generated CRDs ($n)"
	t_ok "kubectl get pods -A" k get pods -A
	n=$(grep -c '^gen-pods-.* Running ' "$T_OUT")
	[ "$n" -eq 30 ]; t_result $? "... lists the 30 generated Pods, Running ($n)"
	t_ok "kubectl get configmaps,secrets,services,deployments -A -l app.kubernetes.io/part-of=mixed -o name" \
		k get configmaps,secrets,services,deployments -A -l app.kubernetes.io/part-of=mixed -o name
	n=$(wc -l <"$T_OUT")
	[ "$n" -eq 400 ]; t_result $? "... lists the 400 mixed objects ($n)"
	plural=$("$PYTHON" -c '
import json, sys
print([c["spec"]["names"]["plural"] for c in json.load(open(sys.argv[1]))["items"]
       if c["spec"]["group"].endswith(".kahu-test.io")][0])' "$T_DIR/crds.json")
	t_ok "kubectl get $plural -A (a generated custom resource type is served)" k get "$plural" -A
else
	t_skip "kubectl lists the generated objects" "kubectl is not installed"
fi

# ---- kahu backs them up ----
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
t_ok "kahu backup create of the whole cluster" "$KAHU" --kubeconfig "$KC" backup create gen
"$KAHU" backup describe gen -o json >"$T_DIR/describe.json" 2>/dev/null
t_py "... Completed, with every generated object" '
t = {x["resource"]: x for x in d["types"]}
assert d["status"] == "Completed", d["status"]
assert t["customresourcedefinitions.apiextensions.k8s.io"]["items"] >= 14, t["customresourcedefinitions.apiextensions.k8s.io"]
assert t["pods"]["items"] >= 30 and t["deployments.apps"]["items"] >= 102, (t["pods"], t["deployments.apps"])
assert t["services"]["items"] >= 102 and t["secrets"]["items"] >= 102, (t["services"], t["secrets"])' \
	"$T_DIR/describe.json"

t_done

#!/usr/bin/env bash
# kahu restore create with transforms (kahu-transform(5)): a restore into a second
# cluster with --storage-class-mappings, --image-mappings, --replicas-override and a
# transform file (a Deployment's replicas and a label), compared object by object with
# the source's objects changed as the rules say; the rules applied per item in the
# results and describe; a rule that applies to nothing is a warning; a patch that cannot
# apply fails its item only; a dry run shows the patched objects and the patches and
# writes nothing; errors of the file and of the flags (exit 64, FILE:LINE) before
# anything is written; Velero's resource modifiers (a file, and a ConfigMap holding
# one: FILE:LINE inside its data) translated into rules and restored with.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cat >"$T_DIR/src.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: move}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: move, labels: {app: db}}
spec:
  storageClassName: gp2
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: scratch, namespace: move}
spec:
  storageClassName: fast
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: move, labels: {app: db}}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      initContainers:
      - {name: init, image: "registry.old/tools/init:1"}
      containers:
      - {name: db, image: "registry.old/postgres:16"}
  volumeClaimTemplates:
  - metadata: {name: pgdata}
    spec:
      storageClassName: gp2
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 2Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: move, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "registry.old/web:2"}
      - {name: proxy, image: "docker.io/library/nginx:1.27"}
---
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: move}
spec:
  containers:
  - {name: solo, image: "registry.old/solo:1", command: [sleep, infinity]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: move}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: job, image: "registry.old/jobs/nightly:7"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: move}
data: {mode: east}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: move}
type: Opaque
data: {password: c2VjcmV0LXZhbHVl}
EOF

cat >"$T_DIR/rules.yaml" <<'EOF'
version: v1
rules:
- name: web-one-replica
  resources: [deployments.apps]
  namespaces: [move]
  names: [web]
  conditions:
  - path: /spec/replicas
    equals: 3
  jsonPatch:
  - {op: test, path: /spec/replicas, value: 3}
  - {op: replace, path: /spec/replicas, value: 1}
- name: mark-migrated
  resources: [deployments]
  selector: app=web
  mergePatch:
    metadata:
      labels: {migrated: "yes"}
- name: settings-west
  resources: [configmaps]
  nameRegex: "^sett"
  strategicPatch:
    data: {mode: west}
- name: secret-rotated
  resources: [secrets]
  mergePatch: {data: {password: bmV3LXNlY3JldA==}}
- name: nothing-matches
  resources: [ingresses.networking.k8s.io]
  mergePatch: {metadata: {labels: {x: y}}}
EOF

cat >"$T_DIR/xf.py" <<'PY'
import copy, json

def load(p):
    return json.load(open(p))["items"]

def key(o):
    md = o["metadata"]
    return (o["kind"], md.get("namespace", ""), md["name"])

def remap_images(spec):
    for l in ("initContainers", "containers"):
        for c in spec.get(l) or []:
            if c["image"].startswith("registry.old/"):
                c["image"] = "registry.new/" + c["image"][len("registry.old/"):]

def expected(o):
    """The source object as the transforms of the test change it (written independently
    of kahu: the mappings and rules of t-transform.sh)."""
    o = copy.deepcopy(o)
    k, sp = o["kind"], o.get("spec")
    sc = {"gp2": "standard"}
    if k == "PersistentVolumeClaim":
        sp["storageClassName"] = sc.get(sp["storageClassName"], sp["storageClassName"])
    if k == "StatefulSet":
        for t in sp["volumeClaimTemplates"]:
            t["spec"]["storageClassName"] = sc.get(t["spec"]["storageClassName"], t["spec"]["storageClassName"])
        sp["replicas"] = 2
        remap_images(sp["template"]["spec"])
    if k == "Deployment":
        sp["replicas"] = 1
        o["metadata"].setdefault("labels", {})["migrated"] = "yes"
        remap_images(sp["template"]["spec"])
    if k == "Pod":
        remap_images(sp)
    if k == "CronJob":
        remap_images(sp["jobTemplate"]["spec"]["template"]["spec"])
    if k == "ConfigMap" and o["metadata"]["name"] == "settings":
        o["data"]["mode"] = "west"
    if k == "Secret":
        o["data"]["password"] = "bmV3LXNlY3JldA=="
    return o

def norm(o):
    """Without what the server owns."""
    o = json.loads(json.dumps(o))
    md = o["metadata"]
    for f in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "ownerReferences"):
        md.pop(f, None)
    lb = {l: v for l, v in (md.get("labels") or {}).items() if not l.startswith("kahu.io/")}
    md.pop("labels", None)
    if lb:
        md["labels"] = lb
    an = {a: v for a, v in (md.get("annotations") or {}).items()
          if not a.startswith(("pv.kubernetes.io/", "volume.kubernetes.io/", "volume.beta.kubernetes.io/storage-provisioner"))}
    md.pop("annotations", None)
    if an:
        md["annotations"] = an
    o.pop("status", None)
    if o["kind"] == "PersistentVolumeClaim":
        o["spec"].pop("volumeName", None)
    if o["kind"] == "Pod":
        o["spec"].pop("nodeName", None)
    return o
PY
export PYTHONPATH=$T_DIR
t_pyrun() { local d=$1 code=$2; shift 2; t_run "$PYTHON" -c "import sys, json, xf
$code" "$@"; t_result $? "$d"; }

# ---- the source cluster and its backup ----
cluster_start src --seed "$T_DIR/src.yaml" || { t_result 1 "test cluster starts"; t_done; exit 1; }
SRC_KC=$CLUSTER_KUBECONFIG
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
t_ok "backup create b1 (source cluster)" "$KAHU" --kubeconfig "$SRC_KC" backup create b1 --volume-data none
cluster_admin GET /_admin/dump?namespace=move >"$T_DIR/src.json"

cluster_start tgt || { t_result 1 "target cluster starts"; t_done; exit 1; }
TGT_KC=$CLUSTER_KUBECONFIG
cluster_admin GET /_admin/dump >"$T_DIR/tgt-before.json"
restores_stored() { "$KAHU" restore list -o json 2>/dev/null | "$PYTHON" -c 'import json, sys; print(len(json.load(sys.stdin)["restores"]))'; }

# ---- errors before anything is written ----
printf 'version: v1\nrules:\n- name: a\n  resources: [pods]\n  jsonPatch:\n  - op: replace\n    path: spec/x\n    value: 1\n' >"$T_DIR/bad1.yaml"
t_exit 64 "a JSON Pointer without '/': exit 64" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-backup b1 --transform "$T_DIR/bad1.yaml"
t_grep "... the message names the file and line" "bad1.yaml:6: jsonPatch: operation 1 \(replace\): path: \"spec/x\" is not a JSON Pointer" "$T_ERR"
printf 'rules:\n- name: a\n  mergePatch: {}\n- name: b\n  namespaces: [x]\n  labels: app=web\n  mergePatch: {}\n' >"$T_DIR/bad2.yaml"
t_exit 64 "an unknown key in a rule: exit 64" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-backup b1 --transform "$T_DIR/bad2.yaml"
t_grep "... FILE:LINE and the keys a rule has" "bad2.yaml:6: unknown key \"labels\" in a rule \(name, resources" "$T_ERR"
printf 'rules:\n- name: a\n  mergePatch: {a: [1, 2}\n' >"$T_DIR/bad3.yaml"
t_exit 64 "invalid YAML: exit 64" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-backup b1 --transform "$T_DIR/bad3.yaml"
t_grep "... FILE:LINE" "bad3.yaml:3: invalid YAML" "$T_ERR"
t_exit 66 "a transform file that does not exist: exit 66" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-backup b1 --transform "$T_DIR/none.yaml"
t_exit 64 "--image-mappings with two colons: exit 64" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-backup b1 --image-mappings reg:5000/a:reg:6000/a
t_grep "... says to write OLD=NEW" "write OLD=NEW when a prefix holds a colon" "$T_ERR"
t_exit 64 "--storage-class-mappings without a colon: exit 64" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-backup b1 --storage-class-mappings gp2
t_exit 64 "--replicas-override of a Pod: exit 64" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-backup b1 --replicas-override move/pod/solo=1
t_grep "... KIND must be a workload with replicas" "KIND must be deployment, statefulset, replicaset or replicationcontroller" "$T_ERR"
cluster_admin GET /_admin/dump >"$T_DIR/tgt-after-errors.json"
cmp -s "$T_DIR/tgt-before.json" "$T_DIR/tgt-after-errors.json"; t_result $? "... none of them wrote anything to the target cluster"
[ "$(restores_stored)" = 0 ]; t_result $? "... nor recorded a restore"

XF=(--storage-class-mappings gp2:standard --image-mappings registry.old/:registry.new/
    --replicas-override move/statefulset/db=2 --transform "$T_DIR/rules.yaml")

# ---- dry run ----
t_ok "dry run with transforms (-o json)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create d1 --from-backup b1 --include-namespaces move "${XF[@]}" --dry-run -o json
cp "$T_OUT" "$T_DIR/dry.json"
t_py "... shows each object patched, with the rules and patches applied to it" '
items = {(i["resource"], i["name"]): i for i in d}
w = items[("deployments.apps", "web")]
assert w["object"]["spec"]["replicas"] == 1, w["object"]["spec"]
assert w["object"]["metadata"]["labels"]["migrated"] == "yes"
assert w["object"]["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.new/web:2"
assert w["object"]["spec"]["template"]["spec"]["containers"][1]["image"] == "docker.io/library/nginx:1.27"
assert [t["rule"] for t in w["transforms"]] == ["web-one-replica", "mark-migrated", "image-mappings"], w["transforms"]
assert w["transforms"][0]["source"].endswith("rules.yaml:3"), w["transforms"][0]
assert w["transforms"][0]["patch"][1] == {"op": "replace", "path": "/spec/replicas", "value": 1}
assert w["transforms"][2]["patch"] == [{"op": "replace", "path": "/spec/template/spec/containers/0/image",
                                        "value": "registry.new/web:2"}], w["transforms"][2]
p = items[("persistentvolumeclaims", "data")]
assert p["object"]["spec"]["storageClassName"] == "standard"
assert p["transforms"][0]["type"] == "storageClassMapping"
assert "transforms" not in items[("persistentvolumeclaims", "scratch")]
s = items[("statefulsets.apps", "db")]
assert [t["rule"] for t in s["transforms"]] == ["storage-class-mappings", "image-mappings", "move/statefulset/db"]
c = items[("secrets", "creds")]
assert c["transforms"] == [{"rule": "secret-rotated", "source": c["transforms"][0]["source"], "type": "mergePatch"}], c
assert "bmV3LXNlY3JldA" not in json.dumps(d) and "c2VjcmV0LXZhbHVl" not in json.dumps(d)
' "$T_DIR/dry.json"
t_ok "dry run with transforms (table)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create d2 --from-backup b1 --include-namespaces move "${XF[@]}" --dry-run
t_grep "... each item says which rules transformed it" "deployments.apps +move +web +would create +transformed by web-one-replica, mark-migrated, image-mappings" "$T_OUT"
t_grep "... a rule that applied to nothing is a warning" "Warning: transform rule nothing-matches \(.*rules.yaml:27\) applied to no object" "$T_OUT"
cluster_admin GET /_admin/dump >"$T_DIR/tgt-after-dry.json"
cmp -s "$T_DIR/tgt-before.json" "$T_DIR/tgt-after-dry.json"; t_result $? "... the dry runs wrote nothing to the target cluster"
[ "$(restores_stored)" = 0 ]; t_result $? "... nor recorded a restore"

t_ok "examples/transforms/move-to-gcp.yaml is accepted (dry run)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create d3 --from-backup b1 --include-namespaces move --dry-run \
	--transform "$top_srcdir/examples/transforms/move-to-gcp.yaml"

# ---- the restore into the second cluster ----
t_ok "restore create into another cluster with storage-class and image mappings, replicas, a transform file" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create r1 --from-backup b1 --include-namespaces move "${XF[@]}"
t_grep "... the rule that applied to nothing is a warning" "transform rule nothing-matches .* applied to no object" "$T_ERR"
cluster_admin GET /_admin/dump?namespace=move >"$T_DIR/tgt.json"
t_pyrun "... every object of the namespace equals the source's, changed as the rules say" '
src = {xf.key(o): o for o in xf.load(sys.argv[1])}
dst = {xf.key(o): o for o in xf.load(sys.argv[2])}
kinds = ("PersistentVolumeClaim", "StatefulSet", "Deployment", "Pod", "CronJob", "ConfigMap", "Secret")
want = [k for k in src if k[0] in kinds and k[2] != "kube-root-ca.crt"]
assert len(want) == 8, want
bad = []
for k in want:
    if k not in dst:
        bad.append("missing %s" % (k,))
    elif xf.norm(xf.expected(src[k])) != xf.norm(dst[k]):
        bad.append("differs %s:\n  want %s\n  got  %s" % (k, json.dumps(xf.norm(xf.expected(src[k])), sort_keys=True),
                                                          json.dumps(xf.norm(dst[k]), sort_keys=True)))
for b in bad: print(b)
assert not bad' "$T_DIR/src.json" "$T_DIR/tgt.json"
t_pyrun "... the claims were provisioned in the mapped class" '
dst = {xf.key(o): o for o in xf.load(sys.argv[1])}
assert dst[("PersistentVolumeClaim", "move", "data")]["spec"]["storageClassName"] == "standard"
assert dst[("PersistentVolumeClaim", "move", "scratch")]["spec"]["storageClassName"] == "fast"' "$T_DIR/tgt.json"
t_ok "restore describe r1 --details" "$KAHU" restore describe r1 --details
t_grep "... names the rules applied to each item" "^Transformed deployments.apps move/web: web-one-replica, mark-migrated, image-mappings$" "$T_OUT"
t_grep "... (a claim)" "^Transformed persistentvolumeclaims move/data: storage-class-mappings$" "$T_OUT"
t_grep "... and the warning" "Warning: +transform rule nothing-matches" "$T_OUT"
t_ok "restore describe r1 -o json" "$KAHU" restore describe r1 -o json
t_py "... the result holds the rules and patches per item" '
items = {(i["resource"], i["name"]): i for i in d["items"]}
assert [t["rule"] for t in items[("cronjobs.batch", "nightly")]["transforms"]] == ["image-mappings"]
assert items[("configmaps", "settings")]["transforms"][0]["patch"] == {"data": {"mode": "west"}}
assert "transforms" not in items[("persistentvolumeclaims", "scratch")]' "$T_OUT"

# ---- a patch that cannot apply fails its item, not the restore ----
printf 'rules:\n- name: broken\n  resources: [configmaps]\n  jsonPatch:\n  - {op: remove, path: /data/absent}\n' >"$T_DIR/broken.yaml"
cluster_start tgt2 || { t_result 1 "third cluster starts"; t_done; exit 1; }
t_exit 2 "a JSON Patch that cannot apply: the item fails (exit 2)" \
	"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create r2 --from-backup b1 --include-namespaces move \
	--transform "$T_DIR/broken.yaml"
t_ok "restore describe r2 --outcome failed" "$KAHU" restore describe r2 --outcome failed
t_grep "... its reason names the rule, its place and the operation" \
	"configmaps +move +settings +failed +transform rule broken \(.*broken.yaml:2\): operation 1 \(remove /data/absent\): /data/absent does not exist" "$T_OUT"
cluster_admin GET /_admin/dump?namespace=move >"$T_DIR/tgt2.json"
t_pyrun "... it was not created; the other objects were" '
dst = {xf.key(o) for o in xf.load(sys.argv[1])}
assert ("ConfigMap", "move", "settings") not in dst
assert ("Deployment", "move", "web") in dst' "$T_DIR/tgt2.json"


# ---- Velero's resource modifiers (a file, and the same as a ConfigMap) ----
cat >"$T_DIR/velero-mods.yaml" <<'EOF'
version: v1
resourceModifierRules:
- conditions:
    groupResource: persistentvolumeclaims
    resourceNameRegex: "^da"
    namespaces: [move]
    labelSelector:
      matchLabels: {app: db}
  patches:
  - operation: test
    path: /spec/storageClassName
    value: gp2
  - operation: replace
    path: /spec/storageClassName
    value: standard
- conditions:
    groupResource: deployments.apps
    matches:
    - path: /spec/replicas
      value: "3"
  mergePatches:
  - patchData: |
      spec:
        replicas: 1
  strategicPatches:
  - patchData: |
      {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "registry.new/web:2"}]}}}}
EOF
{
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mods, namespace: velero}\ndata:\n  mods.yaml: |\n'
	sed 's/^/    /' "$T_DIR/velero-mods.yaml"
} >"$T_DIR/velero-cm.yaml"
sed 's/operation: replace/operation: swap/' "$T_DIR/velero-cm.yaml" >"$T_DIR/velero-cm-bad.yaml"
t_exit 64 "a Velero ConfigMap with an unknown operation: exit 64" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-backup b1 --transform "$T_DIR/velero-cm-bad.yaml"
t_grep "... FILE:LINE of the file (inside the ConfigMap's data)" \
	'velero-cm-bad.yaml:18: patches: operation 2: unknown op "swap"' "$T_ERR"
t_ok "dry run with Velero's format as a ConfigMap (-o json)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create d4 --from-backup b1 --include-namespaces move \
	--transform "$T_DIR/velero-cm.yaml" --dry-run -o json
t_py "... the rules it translates to applied" '
items = {(i["resource"], i["name"]): i for i in d}
assert items[("persistentvolumeclaims", "data")]["object"]["spec"]["storageClassName"] == "standard"
assert [t["rule"] for t in items[("deployments.apps", "web")]["transforms"]] == [
    "resourceModifierRules[1].mergePatches[0]", "resourceModifierRules[1].strategicPatches[0]"]
assert items[("deployments.apps", "web")]["transforms"][0]["source"].endswith("velero-cm.yaml:27")' "$T_OUT"
cluster_start tgt3 || { t_result 1 "fourth cluster starts"; t_done; exit 1; }
t_ok "restore with a Velero resource modifiers file (auto-detected)" \
	"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create r3 --from-backup b1 --include-namespaces move \
	--transform "$T_DIR/velero-mods.yaml"
cluster_admin GET /_admin/dump?namespace=move >"$T_DIR/tgt3.json"
t_pyrun "... the objects are changed as Velero's rules say" '
src = {xf.key(o): o for o in xf.load(sys.argv[1])}
dst = {xf.key(o): o for o in xf.load(sys.argv[2])}
assert dst[("PersistentVolumeClaim", "move", "data")]["spec"]["storageClassName"] == "standard"
assert dst[("PersistentVolumeClaim", "move", "scratch")]["spec"]["storageClassName"] == "fast"
w = xf.norm(dst[("Deployment", "move", "web")])
want = xf.norm(src[("Deployment", "move", "web")])
want["spec"]["replicas"] = 1
want["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.new/web:2"
assert w == want, (w, want)
assert xf.norm(dst[("StatefulSet", "move", "db")]) == xf.norm(src[("StatefulSet", "move", "db")])' "$T_DIR/src.json" "$T_DIR/tgt3.json"
t_ok "restore describe r3 --details" "$KAHU" restore describe r3 --details
t_grep "... names the translated rules applied" \
	"^Transformed deployments.apps move/web: resourceModifierRules\[1\].mergePatches\[0\], resourceModifierRules\[1\].strategicPatches\[0\]$" "$T_OUT"
t_grep "... (a claim)" "^Transformed persistentvolumeclaims move/data: resourceModifierRules\[0\].patches$" "$T_OUT"

t_done

#!/usr/bin/env bash
# kahu restore create --from-velero: a Velero backup tarball, made here in Velero's
# documented layout (metadata/version, resources/<resource>[.<group>]/namespaces/<ns>/
# <name>.json and .../cluster/<name>.json, the v1-preferredversion copies) from the
# source cluster's objects as kubectl reads them, restored into a second cluster and
# compared object by object with kubectl; a copy of a Velero bucket (velero-backup.json,
# the volume snapshot, pod volume backup and CSI snapshot records) whose claims' data
# is reported as not restored (exit 2 only when volume data is asked for); dry run
# writes nothing; scope, a namespace mapping and a transform apply; describe names the
# source; bad tarballs (not gzip, truncated, a path escaping, an object that is not
# JSON, an unknown format version) exit 65 and restore nothing.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"
KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
	t_skip "restore from Velero" "kubectl is not installed"
	t_done
	exit 0
fi

cat >"$T_DIR/src.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: sales}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop, labels: {app: web}}
data: {mode: east, size: "3"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unlabelled, namespace: shop}
data: {x: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop, labels: {app: web}}
type: Opaque
data: {password: c2VjcmV0LXZhbHVl}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "registry.old/web:2"}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop, labels: {app: web}}
spec:
  storageClassName: standard
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: logs, namespace: shop, labels: {app: web}}
spec:
  storageClassName: standard
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: elsewhere, namespace: other}
data: {y: "2"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: shop-reader, labels: {app: web}}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
YAML

# ---- the source cluster, and a Velero backup of it made the way Velero lays it out ----
cluster_start src --seed "$T_DIR/src.yaml" || { t_result 1 "source cluster starts"; t_done; exit 1; }
SRC_KC=$CLUSTER_KUBECONFIG
k_src() { "$KUBECTL" --kubeconfig "$SRC_KC" "$@"; }

# velero_tar DIR: resources/… from the source cluster (kubectl get -o json, one file per
# object, in the directory without a version and in v1-preferredversion as Velero 1.4+
# writes them), and metadata/version.
velero_tree() {
	local d=$1 gr kind
	mkdir -p "$d/metadata" "$d/resources"
	printf '1.1.0\n' >"$d/metadata/version"
	for gr in namespaces configmaps secrets services persistentvolumeclaims deployments.apps \
		  clusterroles.rbac.authorization.k8s.io; do
		k_src get "$gr" -A -o json >"$T_DIR/list.json" || return 1
		"$PYTHON" - "$T_DIR/list.json" "$d/resources" "$gr" <<'PY' || return 1
import json, os, sys
lst, root, gr = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
for o in lst["items"]:
    md = o["metadata"]
    if md.get("namespace") not in (None, "shop", "other"):
        continue
    if gr == "namespaces" and md["name"] not in ("shop", "other"):
        continue
    if gr == "clusterroles.rbac.authorization.k8s.io" and md["name"] != "shop-reader":
        continue
    if gr == "configmaps" and md["name"] == "kube-root-ca.crt":
        continue
    if gr == "secrets" and md["name"] != "creds":
        continue
    for sub in ("", "v1-preferredversion"):
        where = "namespaces/" + md["namespace"] if md.get("namespace") else "cluster"
        p = os.path.join(root, gr, sub, where)
        os.makedirs(p, exist_ok=True)
        with open(os.path.join(p, md["name"] + ".json"), "w") as f:
            json.dump(o, f, separators=(",", ":"))
PY
	done
}
velero_tree "$T_DIR/vb" || { t_result 1 "the Velero tarball's tree is made"; t_done; exit 1; }
# An object also in another API version (EnableAPIGroupVersions) and a file in no known layout.
mkdir -p "$T_DIR/vb/resources/deployments.apps/v1beta1/namespaces/shop"
cp "$T_DIR/vb/resources/deployments.apps/namespaces/shop/web.json" "$T_DIR/vb/resources/deployments.apps/v1beta1/namespaces/shop/"
mkdir -p "$T_DIR/vb/resources/configmaps/strange"
echo '{}' >"$T_DIR/vb/resources/configmaps/strange/thing.json"
(cd "$T_DIR/vb" && tar czf "$T_DIR/shop-1.tar.gz" metadata resources)
t_ok "a Velero tarball in Velero's layout is made from the source cluster" test -s "$T_DIR/shop-1.tar.gz"

cluster_start tgt || { t_result 1 "target cluster starts"; t_done; exit 1; }
# The location keeps the restores' records, sealed and encrypted with this key.
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
TGT_KC=$CLUSTER_KUBECONFIG
k_tgt() { "$KUBECTL" --kubeconfig "$TGT_KC" "$@"; }
cluster_admin GET /_admin/dump >"$T_DIR/tgt-before.json"
tgt_unchanged() { cluster_admin GET /_admin/dump >"$T_DIR/tgt-now.json"; cmp -s "$T_DIR/tgt-before.json" "$T_DIR/tgt-now.json"; }
restores_stored() { "$KAHU" restore list -o json 2>/dev/null | "$PYTHON" -c 'import json, sys; print(len(json.load(sys.stdin)["restores"]))' 2>/dev/null || echo 0; }

# ---- dry run: nothing written, no location needed ----
t_ok "dry run of the Velero tarball (-o json)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create v0 --from-velero "$T_DIR/shop-1.tar.gz" --dry-run -o json
cp "$T_OUT" "$T_DIR/dry.json"; cp "$T_ERR" "$T_DIR/dry.err"
t_py "... lists every object of the tarball once, cleaned, in restore order" '
items = [(i["resource"], i.get("namespace"), i["name"], i["outcome"]) for i in d]
names = [(r, n) for r, _, n, _ in items]
assert len(names) == len(set(names)), names
want = {("namespaces", "shop"), ("namespaces", "other"), ("configmaps", "settings"), ("configmaps", "unlabelled"),
        ("configmaps", "elsewhere"), ("secrets", "creds"), ("services", "web"), ("persistentvolumeclaims", "data"),
        ("persistentvolumeclaims", "logs"), ("deployments.apps", "web"), ("clusterroles.rbac.authorization.k8s.io", "shop-reader")}
assert set(names) == want, set(names) ^ want
assert all(o == "would create" for *_, o in items), items
order = [r for r, _ in names]
assert order.index("namespaces") < order.index("configmaps") < order.index("deployments.apps"), order
web = [i for i in d if i["resource"] == "deployments.apps"][0]["object"]
assert "uid" not in web["metadata"] and "resourceVersion" not in web["metadata"] and "status" not in web, web
sec = [i for i in d if i["resource"] == "secrets"][0]["object"]
assert "c2VjcmV0" not in json.dumps(sec), sec
' "$T_DIR/dry.json"
t_grep "... warns of the copy in another API version it did not read" "1 copies of objects in other API versions" "$T_DIR/dry.err"
t_grep "... and of the file in no known layout, by name" "1 files in no layout kahu knows were not read \(resources/configmaps/strange/thing.json\)" "$T_DIR/dry.err"
t_grep "... and that the tarball alone does not say which claims' data Velero kept" "only its tarball was given, so which of its 2 claims" "$T_DIR/dry.err"
tgt_unchanged; t_result $? "... wrote nothing to the target cluster"
[ "$(restores_stored)" = 0 ]; t_result $? "... and recorded no restore"
t_ok "dry run, table" "$KAHU" --kubeconfig "$TGT_KC" restore create v0 --from-velero "$T_DIR/shop-1.tar.gz" --dry-run
t_grep "... the summary names the Velero backup" "Dry run of restore v0 from Velero backup shop-1: 11 to create" "$T_OUT"

cat >"$T_DIR/cmp.py" <<'PY'
import json, sys

def norm(o):
    """Without what each server owns."""
    o = json.loads(json.dumps(o))
    md = o["metadata"]
    for f in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink"):
        md.pop(f, None)
    lb = {l: v for l, v in (md.get("labels") or {}).items() if not l.startswith("kahu.io/")}
    md.pop("labels", None)
    if lb:
        md["labels"] = lb
    an = {a: v for a, v in (md.get("annotations") or {}).items()
          if not a.startswith(("pv.kubernetes.io/", "volume.kubernetes.io/", "volume.beta.kubernetes.io/",
                               "deployment.kubernetes.io/"))}
    md.pop("annotations", None)
    if an:
        md["annotations"] = an
    o.pop("status", None)
    sp = o.get("spec") or {}
    if o["kind"] == "PersistentVolumeClaim":
        sp.pop("volumeName", None)
    if o["kind"] == "Service":
        for f in ("clusterIP", "clusterIPs"):
            sp.pop(f, None)
    return o

def compare(src_file, tgt_file, ns_map=None, skip=()):
    """Every object of the source listing against the target's of the same type, name
    and (mapped) namespace."""
    ns_map = ns_map or {}
    def items(f):
        d = json.load(open(f))
        return d["items"] if "items" in d else [d]
    src, tgt = items(src_file), items(tgt_file)
    def key(o, m):
        md = o["metadata"]
        ns = md.get("namespace")
        return (o["kind"], m.get(ns, ns) if ns else None, md["name"])
    have = {key(o, {}): o for o in tgt}
    n = 0
    for o in src:
        k = key(o, ns_map)
        if k[2] in skip:
            continue
        assert k in have, "not restored: %s" % (k,)
        a, b = norm(o), norm(have[k])
        if a["metadata"].get("namespace") in ns_map:
            a["metadata"]["namespace"] = ns_map[a["metadata"]["namespace"]]
        assert a == b, "%s differs:\n%s\n%s" % (k, json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True))
        n += 1
    return n
PY
export PYTHONPATH=$T_DIR
# kget KC FILE: the objects of the test, as kubectl reads them
kget() {
	"$KUBECTL" --kubeconfig "$1" get configmaps,secrets,services,persistentvolumeclaims,deployments.apps -n shop -o json >"$2.shop" &&
	"$KUBECTL" --kubeconfig "$1" get configmaps -n other -o json >"$2.other" &&
	"$KUBECTL" --kubeconfig "$1" get namespace shop other -o json >"$2.ns" &&
	"$KUBECTL" --kubeconfig "$1" get clusterrole shop-reader -o json >"$2.cr"
}
kget "$SRC_KC" "$T_DIR/src"

# ---- the restore into the second cluster ----
t_exit 0 "restore of the Velero tarball into the second cluster" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create v1 --from-velero "$T_DIR/shop-1.tar.gz"
t_grep "... says what it restored from" "Restore v1 from Velero backup shop-1: Completed. 11 created" "$T_OUT"
kget "$TGT_KC" "$T_DIR/tgt1"; t_result $? "... kubectl reads the restored objects"
t_run "$PYTHON" -c '
import cmp, sys
d = sys.argv[1]
n = sum(cmp.compare(d + "/src." + s, d + "/tgt1." + s, skip=("kube-root-ca.crt",)) for s in ("shop", "other", "ns", "cr"))
assert n == 11, n
' "$T_DIR"; t_result $? "... every object equals the source cluster's, object by object (kubectl)"
t_ok "restore describe v1" "$KAHU" restore describe v1
t_grep "... the record names the Velero backup and its file" "Source: +Velero backup shop-1 \($T_DIR/shop-1.tar.gz\)" "$T_OUT"
t_grep "... the record is sealed with the location's key" "Record: +authenticated" "$T_OUT"
t_grep "... and says that the tarball alone does not tell which claims' data Velero kept" "Warning: .*only its tarball was given" "$T_OUT"
t_ok "restore describe v1 -o json" "$KAHU" restore describe v1 -o json
t_py "... its source and every item's outcome are in the stored result" '
assert d["source"] == {"type": "velero", "backup": "shop-1", "file": d["source"]["file"]}, d["source"]
assert d["source"]["file"].endswith("/shop-1.tar.gz")
assert len(d["items"]) == 11 and all(i["outcome"] == "created" for i in d["items"]), d["items"]
' "$T_OUT"
t_ok "restore list shows it" "$KAHU" restore list
t_grep "... with the Velero backup's name" "^v1 +shop-1 +Completed" "$T_OUT"

# ---- scope, a namespace mapping and a transform ----
cat >"$T_DIR/rules.yaml" <<'YAML'
version: v1
rules:
- name: web-one-replica
  resources: [deployments.apps]
  names: [web]
  jsonPatch:
  - {op: replace, path: /spec/replicas, value: 1}
  - {op: add, path: /metadata/labels/moved, value: "from-velero"}
YAML
t_ok "restore with --include-namespaces, a selector, --namespace-mappings and --transform" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create v2 --from-velero "$T_DIR/shop-1.tar.gz" \
	--include-namespaces shop --selector app=web --namespace-mappings shop:shop2 --transform "$T_DIR/rules.yaml"
k_tgt get configmaps,secrets,services,persistentvolumeclaims,deployments.apps -n shop2 -o json >"$T_DIR/tgt2.json"
t_py "... only the selected objects of the included namespace, in the mapped one" '
names = sorted((o["kind"], o["metadata"]["name"]) for o in d["items"] if o["metadata"]["name"] != "kube-root-ca.crt")
assert names == [("ConfigMap", "settings"), ("Deployment", "web"), ("PersistentVolumeClaim", "data"),
                 ("PersistentVolumeClaim", "logs"), ("Secret", "creds"), ("Service", "web")], names
' "$T_DIR/tgt2.json"
t_py "... the transform applied: replicas 1 and the added label" '
w = [o for o in d["items"] if o["kind"] == "Deployment"][0]
assert w["spec"]["replicas"] == 1, w["spec"]
assert w["metadata"]["labels"] == {"app": "web", "moved": "from-velero"} or \
       {k: v for k, v in w["metadata"]["labels"].items() if not k.startswith("kahu.io/")} == {"app": "web", "moved": "from-velero"}, w["metadata"]
' "$T_DIR/tgt2.json"
k_tgt get configmaps -n other -o json >"$T_DIR/tgt2-other.json"
t_ok "restore describe v2 --details" "$KAHU" restore describe v2 --details
t_grep "... names the rule that changed the Deployment" "Transformed deployments.apps shop2/web: web-one-replica" "$T_OUT"
t_grep "... and the objects left out by the selector" "configmaps +shop +unlabelled +skipped" "$T_OUT"

# ---- a copy of a Velero bucket: the records beside the tarball name volume data ----
B=$T_DIR/bucket
mkdir -p "$B/backups/shop-1" "$B/backups/shop-2" "$B/kopia/shop" "$B/restores"
cp "$T_DIR/shop-1.tar.gz" "$B/backups/shop-1/"
# shop-2: the same objects and the PV of claim data, whose volume snapshot its record names
PV_DATA=$(k_src get pvc data -n shop -o jsonpath='{.spec.volumeName}')
mkdir -p "$T_DIR/vb/resources/persistentvolumes/cluster"
k_src get pv "$PV_DATA" -o json >"$T_DIR/vb/resources/persistentvolumes/cluster/$PV_DATA.json"
(cd "$T_DIR/vb" && tar czf "$B/backups/shop-2/shop-2.tar.gz" metadata resources)
printf '[{"spec":{"backupName":"shop-2","location":"default","persistentVolumeName":"%s","providerVolumeID":"vol-1","volumeType":"gp3"},"status":{"providerSnapshotID":"snap-0a1b","phase":"Completed"}}]' \
	"$PV_DATA" | gzip >"$B/backups/shop-2/shop-2-volumesnapshots.json.gz"
cat >"$B/backups/shop-1/velero-backup.json" <<'JSON'
{"kind":"Backup","apiVersion":"velero.io/v1","metadata":{"name":"shop-1","namespace":"velero"},
 "spec":{"includedNamespaces":["shop","other"],"snapshotVolumes":true,"defaultVolumesToFsBackup":false},
 "status":{"version":1,"formatVersion":"1.1.0","phase":"Completed","volumeSnapshotsAttempted":1,
 "volumeSnapshotsCompleted":1,"csiVolumeSnapshotsAttempted":1,"csiVolumeSnapshotsCompleted":1}}
JSON
printf '[{"apiVersion":"velero.io/v1","kind":"PodVolumeBackup","metadata":{"name":"shop-1-x","namespace":"velero","labels":{"velero.io/pvc-name":"logs"}},"spec":{"pod":{"kind":"Pod","namespace":"shop","name":"web-0"},"volume":"logs","uploaderType":"kopia","backupStorageLocation":"default"},"status":{"phase":"Completed"}}]' \
	| gzip >"$B/backups/shop-1/shop-1-podvolumebackups.json.gz"
printf '[{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","metadata":{"name":"velero-data-abc","namespace":"shop"},"spec":{"source":{"persistentVolumeClaimName":"data"}}}]' \
	| gzip >"$B/backups/shop-1/shop-1-csi-volumesnapshots.json.gz"

t_exit 64 "a bucket copy with two backups and none named: exit 64" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-velero "$B" --dry-run
t_grep "... the message lists them" "holds 2 Velero backups \(shop-1, shop-2\): name the one to restore with --from-backup NAME" "$T_ERR"
t_exit 66 "a backup the bucket copy does not hold: exit 66" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-velero "$B" --from-backup shop-9 --dry-run
t_exit 0 "restore of shop-1 from the bucket copy, mapped to shop3" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create v3 --from-velero "$B" --from-backup shop-1 \
	--include-namespaces shop --namespace-mappings shop:shop3
cp "$T_ERR" "$T_DIR/v3.err"
t_grep "... warns that claim data is restored without the pod volume backup's data (kopia)" \
	"claim shop3/logs is restored without its data: Velero copied its files with a pod volume backup \(kopia, from pod shop/web-0, volume logs\)" "$T_DIR/v3.err"
t_grep "... and without the CSI snapshot's" "claim shop3/data is restored without its data: Velero kept it as the CSI VolumeSnapshot velero-data-abc" "$T_DIR/v3.err"
t_nogrep "... the bucket's records replace the tarball-only warning" "only its tarball was given" "$T_DIR/v3.err"
k_tgt get pvc data logs -n shop3 -o name >"$T_DIR/v3.pvc" 2>&1
t_grep "... the claims are created (empty)" "persistentvolumeclaim/logs" "$T_DIR/v3.pvc"
t_ok "restore describe v3 --details" "$KAHU" restore describe v3 --details
t_grep "... each claim's volume line says why its data is not restored" "Volume shop3/logs: velero, NotRestored, .*kopia" "$T_OUT"
t_grep "... the source is the bucket's tarball" "Source: +Velero backup shop-1 \(.*bucket/backups/shop-1/shop-1.tar.gz\)" "$T_OUT"
t_exit 2 "the same with --restore-volumes true (volume data asked for): exit 2, PartiallyFailed" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create v4 --from-velero "$B" --from-backup shop-1 \
	--include-namespaces shop --namespace-mappings shop:shop4 --restore-volumes true
t_grep "... the two claims failed" "2 items failed" "$T_ERR"
t_ok "restore describe v4 --outcome failed" "$KAHU" restore describe v4 --outcome failed
t_grep "... PartiallyFailed" "Status: +PartiallyFailed" "$T_OUT"
t_grep "... the claim's reason says it was created without its data" "persistentvolumeclaims +shop4 +logs +failed +created without its data \(asked for with --restore-volumes or --pvc\)" "$T_OUT"
t_exit 0 "the same with --restore-volumes false: exit 0" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-velero "$B" --from-backup shop-1 --dry-run \
	--include-namespaces shop --namespace-mappings shop:shop4 --restore-volumes false
t_nogrep "... and nothing is said of the claims' data" "without its (volume )?data" "$T_OUT"
t_exit 64 "--volumes-only with --from-velero: exit 64" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-velero "$B" --from-backup shop-1 --volumes-only --include-namespaces shop
t_ok "the tarball inside the bucket copy, given as a file, reads the records beside it (dry run)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-velero "$B/backups/shop-1/shop-1.tar.gz" --dry-run \
	--include-namespaces shop --namespace-mappings shop:shop5
t_grep "... the claims' table rows say their data is not restored" "persistentvolumeclaims +shop5 +logs +would create +without its volume data: Velero copied its files" "$T_OUT"
t_ok "backup shop-2 of the bucket copy, whose record names a volume snapshot of a PV in its tarball (dry run)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-velero "$B" --from-backup shop-2 --dry-run \
	--include-namespaces shop --namespace-mappings shop:shop6
t_grep "... the PV's claim (its claimRef) is named as restored without the snapshot's data" \
	"persistentvolumeclaims +shop6 +data +would create +without its volume data: Velero kept it as a volume snapshot of PV $PV_DATA \(provider snapshot snap-0a1b\)" "$T_OUT"
t_nogrep "... a claim without a record is not named" "persistentvolumeclaims +shop6 +logs +would create +without" "$T_OUT"

# ---- bad tarballs: exit 65, a precise message, nothing created ----
# mktar OUT.tar.gz [NAME CONTENT | NAME -> LINK]...: a gzip'd tar with exactly these members
mktar() {
	"$PYTHON" - "$@" <<'PY'
import io, sys, tarfile
out, args = sys.argv[1], sys.argv[2:]
with tarfile.open(out, "w:gz") as t:
    for i in range(0, len(args), 2):
        name, content = args[i], args[i + 1]
        ti = tarfile.TarInfo(name)
        if content.startswith("->"):
            ti.type, ti.linkname = tarfile.SYMTYPE, content[2:]
            t.addfile(ti)
        else:
            data = content.encode()
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
PY
}
CM='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"bad"},"data":{"a":"b"}}'
NS='{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bad"}}'
VB='{"apiVersion":"velero.io/v1","kind":"Backup","metadata":{"name":"nightly","namespace":"velero","uid":"u-1","resourceVersion":"7"},"spec":{"includedNamespaces":["*"]},"status":{"phase":"Completed"}}'
mktar "$T_DIR/good.tar.gz" metadata/version "1" resources/namespaces/cluster/bad.json "$NS" \
	resources/configmaps/namespaces/bad/c.json "$CM" resources/backups.velero.io/namespaces/velero/nightly.json "$VB"
t_ok "a tarball of format version \"1\" (before Velero 1.4) is read (dry run)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-velero "$T_DIR/good.tar.gz" --dry-run
t_grep "... its objects" "configmaps +bad +c +would create" "$T_OUT"
t_grep "... Velero's own Backup object is never restored" "backups.velero.io +velero +nightly +skipped +never restored: Velero's record of its own backups" "$T_OUT"
mktar "$T_DIR/kindless.tar.gz" metadata/version "1.1.0" resources/namespaces/cluster/bad.json "$NS" \
	resources/configmaps/namespaces/bad/a.json '{"metadata":{"name":"a","namespace":"bad"}}' \
	resources/configmaps/namespaces/bad/c.json "$CM"
t_exit 2 "an object without apiVersion and kind fails alone (dry run: exit 2)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create --from-velero "$T_DIR/kindless.tar.gz" --dry-run
t_grep "... with its reason" "configmaps +bad +a +failed +the stored object has no apiVersion or kind" "$T_OUT"
t_grep "... the others are restored" "configmaps +bad +c +would create" "$T_OUT"
cluster_admin GET /_admin/dump >"$T_DIR/tgt-before.json"
bad() { # CODE DESCRIPTION PATTERN FILE
	t_exit "$1" "$2: exit $1" "$KAHU" --kubeconfig "$TGT_KC" restore create --from-velero "$4"
	t_grep "... $3" "$3" "$T_ERR"
}
tar cf "$T_DIR/plain.tar.gz" -C "$T_DIR/vb" metadata resources
bad 65 "a tarball that is not gzip-compressed" "plain.tar.gz is not gzip-compressed: a Velero backup tarball is NAME.tar.gz" "$T_DIR/plain.tar.gz"
head -c $(( $(stat -c %s "$T_DIR/shop-1.tar.gz") / 2 )) "$T_DIR/shop-1.tar.gz" >"$T_DIR/cut.tar.gz"
bad 65 "a truncated tarball" "cut.tar.gz: .*\(a truncated or corrupt Velero tarball\)" "$T_DIR/cut.tar.gz"
mktar "$T_DIR/escape.tar.gz" metadata/version "1.1.0" resources/configmaps/namespaces/bad/../../../../../etc/evil.json "$CM"
bad 65 "a member escaping the archive's tree" 'member "resources/configmaps/namespaces/bad/\.\./\.\./\.\./\.\./\.\./etc/evil.json" has a "\.\." component: a path escaping the archive' "$T_DIR/escape.tar.gz"
mktar "$T_DIR/abs.tar.gz" metadata/version "1.1.0" /resources/configmaps/namespaces/bad/c.json "$CM"
bad 65 "an absolute member name" 'member "/resources/configmaps/namespaces/bad/c.json" is an absolute path' "$T_DIR/abs.tar.gz"
mktar "$T_DIR/link.tar.gz" metadata/version "1.1.0" resources/configmaps/namespaces/bad/c.json "->/etc/passwd"
bad 65 "a symbolic link member" 'member "resources/configmaps/namespaces/bad/c.json" is a symbolic link: a Velero tarball holds only files and directories' "$T_DIR/link.tar.gz"
mktar "$T_DIR/notjson.tar.gz" metadata/version "1.1.0" resources/namespaces/cluster/bad.json "$NS" \
	resources/configmaps/namespaces/bad/c.json '{"apiVersion":"v1","kind":"ConfigMap",'
bad 65 "an object that is not JSON" "member resources/configmaps/namespaces/bad/c.json is not valid JSON: .*line 1" "$T_DIR/notjson.tar.gz"
mktar "$T_DIR/v2.tar.gz" metadata/version "2.0.0" resources/namespaces/cluster/bad.json "$NS"
bad 65 "format version 2.0.0" 'the Velero backup format version is 2.0.0: kahu reads version 1 \("1" before Velero 1.4, "1.1.0" since\)' "$T_DIR/v2.tar.gz"
mktar "$T_DIR/vx.tar.gz" metadata/version "one point one" resources/namespaces/cluster/bad.json "$NS"
bad 65 "a version that is not one" 'metadata/version holds "one point one", not a format version' "$T_DIR/vx.tar.gz"
mktar "$T_DIR/nov.tar.gz" resources/namespaces/cluster/bad.json "$NS"
bad 65 "no metadata/version" "nov.tar.gz has no metadata/version: not a Velero backup tarball" "$T_DIR/nov.tar.gz"
bad 66 "a file that does not exist" "--from-velero .*/none.tar.gz: no such file or directory" "$T_DIR/none.tar.gz"
tgt_unchanged; t_result $? "none of the bad tarballs created anything in the target cluster"
t_ok "restore list" "$KAHU" restore list -o json
t_py "... each refused run is recorded as Failed, with its error" '
bad = [r for r in d["restores"] if r["status"] == "Failed"]
assert len(bad) == 9, [(r["name"], r["status"]) for r in d["restores"]]
assert all(r["counts"]["created"] == 0 for r in bad)
' "$T_OUT"
t_done

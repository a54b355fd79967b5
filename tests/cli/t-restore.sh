#!/usr/bin/env bash
# kahu restore create|list|describe against the test cluster seeded with the demo apps,
# the real-world corpus and objects a restore must treat specially (owned pods and
# ReplicaSets, token Secrets and volumes, controller-made Endpoints, NodePorts).
#
# The round trip: back up, delete everything the seed added (namespaces, cluster
# objects, CRDs), restore, and compare every object with the original after removing
# only what the server owns; `kubectl get -o json` and /_admin/dump are the readers.
# Objects a restore deliberately leaves out are accounted for by an independent model
# of kahu-restore(1)'s rules.  Then: a second run writes nothing, dry runs write
# nothing and print the cleaned objects in order, incremental and differential chains
# restore the state at their last backup, scope flags, existing objects, owned
# objects, results on the location, exit statuses.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"


cat >"$T_DIR/extras.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: owned, labels: {team: ops}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: owned, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d9c8b7f6
  namespace: owned
  labels: {app: web, pod-template-hash: 5d9c8b7f6}
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: web, uid: 0b7f3c7e-1111-4a4a-9c9c-000000000001, controller: true, blockOwnerDeletion: true}
spec:
  replicas: 1
  selector: {matchLabels: {app: web, pod-template-hash: 5d9c8b7f6}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 5d9c8b7f6}}
    spec: {containers: [{name: web, image: nginx:1.27}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d9c8b7f6-x2x7q
  namespace: owned
  labels: {app: web, pod-template-hash: 5d9c8b7f6}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9c8b7f6, uid: 0b7f3c7e-1111-4a4a-9c9c-000000000002, controller: true, blockOwnerDeletion: true}
spec: {containers: [{name: web, image: nginx:1.27}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: owned
  labels: {app: db}
  ownerReferences:
  - {apiVersion: apps/v1, kind: StatefulSet, name: db, uid: 0b7f3c7e-1111-4a4a-9c9c-000000000003, controller: true}
spec: {containers: [{name: db, image: postgres:16}]}
---
apiVersion: v1
kind: Pod
metadata: {name: loner, namespace: owned, labels: {app: loner}}
spec:
  nodeName: kahu-test-node
  serviceAccountName: default
  containers:
  - name: main
    image: busybox:1.36
    command: [sleep, "3600"]
    volumeMounts:
    - {name: kube-api-access-7dw2k, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - name: kube-api-access-7dw2k
    projected:
      sources:
      - serviceAccountToken: {expirationSeconds: 3607, path: token}
  - name: scratch
    emptyDir: {}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-28930000
  namespace: owned
  ownerReferences:
  - {apiVersion: batch/v1, kind: CronJob, name: nightly, uid: 0b7f3c7e-1111-4a4a-9c9c-000000000004, controller: true}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: job, image: busybox:1.36, command: ["true"]}]
---
apiVersion: v1
kind: Secret
metadata:
  name: default-token-k8s2p
  namespace: owned
  annotations: {kubernetes.io/service-account.name: default, kubernetes.io/service-account.uid: 0b7f3c7e-1111-4a4a-9c9c-000000000005}
type: kubernetes.io/service-account-token
data: {token: bm90LWEtcmVhbC10b2tlbg==}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: owned, labels: {app: web}}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata:
  name: web
  namespace: owned
  annotations: {endpoints.kubernetes.io/last-change-trigger-time: "2026-11-01T10:00:00Z"}
subsets: [{addresses: [{ip: 10.244.0.7}], ports: [{name: http, port: 8080}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  namespace: owned
  labels: {kubernetes.io/service-name: web, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}
addressType: IPv4
endpoints: [{addresses: [10.244.0.7]}]
ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: widget-config
  namespace: shop
  ownerReferences:
  - {apiVersion: demo.kahu.io/v1, kind: Widget, name: gizmo, uid: 0b7f3c7e-1111-4a4a-9c9c-000000000006, controller: true}
data: {color: blue}
---
apiVersion: v1
kind: Namespace
metadata: {name: chain}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: stays, namespace: chain}
data: {v: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: changes-inc, namespace: chain}
data: {v: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: deleted-inc, namespace: chain}
data: {v: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: changes-diff, namespace: chain}
data: {v: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: deleted-diff, namespace: chain}
stringData: {v: "1"}
EOF

# ---- the model: an independent reading of kahu-restore(1) ----
cat >"$T_DIR/rt.py" <<'PY'
import fnmatch, json, re, ssl, sys, urllib.error, urllib.request

class K:
    """A small REST client: the test's own reader and writer (not kahu)."""
    def __init__(s, url, token, ca):
        s.url, s.token = url, token
        s.ctx = ssl.create_default_context(cafile=ca)
        s.types = None

    def req(s, method, path, body=None, ctype="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(s.url + path, data=data, method=method,
                                   headers={"Authorization": "Bearer " + s.token,
                                            "Accept": "application/json", "Content-Type": ctype})
        try:
            with urllib.request.urlopen(r, context=s.ctx) as f:
                return f.status, json.load(f)
        except urllib.error.HTTPError as e:
            b = e.read()
            try:
                return e.code, json.loads(b)
            except ValueError:
                return e.code, {"raw": b.decode(errors="replace")}

    def discover(s):
        s.types = {}
        gvs = [("", v) for v in s.req("GET", "/api")[1]["versions"]]
        for g in s.req("GET", "/apis")[1]["groups"]:
            gvs += [(g["name"], v["version"]) for v in g["versions"]]
        for g, v in gvs:
            code, rl = s.req("GET", ("/api/" if not g else "/apis/%s/" % g) + v)
            if code != 200:
                continue
            for r in rl["resources"]:
                if "/" not in r["name"]:
                    s.types[(g + "/" + v if g else v, r["kind"])] = (r["name"], r["namespaced"], g)
        return s.types

    def path(s, o):
        if s.types is None:
            s.discover()
        av = o["apiVersion"]
        res, nsd, _ = s.types[(av, o["kind"])]
        p = "/api/" + av if "/" not in av else "/apis/" + av
        if nsd:
            p += "/namespaces/" + o["metadata"]["namespace"]
        return p + "/" + res + "/" + o["metadata"]["name"]

def key(o):
    md = o["metadata"]
    return (o["apiVersion"].rpartition("/")[0], o["kind"], md.get("namespace", ""), md["name"])

def load(p):
    return json.load(open(p))["items"]

def wipe(k, dump, base):
    """Delete every object of `dump` that a fresh cluster (`base`) does not have:
    namespaces first (with their contents), then cluster objects, CRDs last (with
    their custom resources)."""
    have = {key(o) for o in base}
    gone = [o for o in dump if key(o) not in have]
    nss = {o["metadata"]["name"] for o in gone if o["kind"] == "Namespace"}
    order = ([o for o in gone if o["kind"] == "Namespace"] +
             [o for o in gone if o["kind"] not in ("Namespace", "CustomResourceDefinition")
              and o["metadata"].get("namespace", "") not in nss] +
             [o for o in gone if o["kind"] == "CustomResourceDefinition"])
    bad = []
    for o in order:
        c = k.req("DELETE", k.path(o))[0]
        if c not in (200, 202, 404):
            bad.append((key(o), c))
    return bad

# What kahu-restore(1) says is never restored, or left to a controller: a regex of the
# reason, or None when the object is restored.
OWNED = {("Pod", "ReplicaSet"), ("Pod", "StatefulSet"), ("Pod", "DaemonSet"), ("Pod", "Job"),
         ("ReplicaSet", "Deployment"), ("Job", "CronJob")}
NEVER_KINDS = {("", "Node"), ("", "Event"), ("events.k8s.io", "Event"), ("", "ComponentStatus"),
               ("storage.k8s.io", "CSINode"), ("storage.k8s.io", "VolumeAttachment"),
               ("apps", "ControllerRevision")}

def rule(o, restore_owned=False):
    kind, md = o["kind"], o["metadata"]
    ns, name = md.get("namespace", ""), md["name"]
    ann, lab = md.get("annotations") or {}, md.get("labels") or {}
    if (o["apiVersion"].rpartition("/")[0], kind) in NEVER_KINDS:
        return "never restored"
    if kind == "Lease" and ns in ("kube-system", "kube-node-lease"):
        return "never restored"
    if kind == "Pod" and (o.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return "never restored: the pod has finished"
    if kind == "Secret" and o.get("type") == "kubernetes.io/service-account-token":
        sa = ann.get("kubernetes.io/service-account.name", "")
        if sa and re.fullmatch(re.escape(sa) + r"-token-[a-z0-9]{5}", name):
            return "never restored: service-account token"
    if kind == "APIService" and not (o.get("spec") or {}).get("service"):
        return "never restored: the API server serves this API itself"
    if ns == "default" and name == "kubernetes" and kind in ("Service", "Endpoints", "EndpointSlice"):
        return "never restored: the API server's own Service"
    if kind == "ConfigMap" and name == "kube-root-ca.crt":
        return "never restored: .*root CA"
    if kind == "Endpoints" and "endpoints.kubernetes.io/last-change-trigger-time" in ann:
        return "never restored: the endpoints controller"
    if kind == "EndpointSlice" and lab.get("endpointslice.kubernetes.io/managed-by") in (
            "endpointslice-controller.k8s.io", "endpointslicemirroring-controller.k8s.io"):
        return "never restored: .*EndpointSlice controllers"
    if not restore_owned:
        for r in md.get("ownerReferences") or []:
            if r.get("controller") and (kind, r["kind"]) in OWNED:
                return "owned by a %s" % r["kind"]
    return None

SERVER_ANNOTATIONS = ("pv.kubernetes.io/", "volume.kubernetes.io/selected-node",
                      "volume.beta.kubernetes.io/storage-provisioner",
                      "volume.kubernetes.io/storage-provisioner", "deployment.kubernetes.io/revision")

def is_token_volume(v):
    return v["name"].startswith("kube-api-access-") or \
        re.fullmatch(r".*-token-[a-z0-9]{5}", (v.get("secret") or {}).get("secretName", "") or "")

def norm(o):
    """The object without what the server owns or a restore changes by rule."""
    o = json.loads(json.dumps(o))
    md = o.setdefault("metadata", {})
    for f in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
              "selfLink", "ownerReferences"):
        md.pop(f, None)
    lb = md.get("labels") or {}
    for l in ("kahu.io/backup-name", "kahu.io/restore-name"):
        lb.pop(l, None)
    if not lb:
        md.pop("labels", None)
    an = md.get("annotations") or {}
    for a in list(an):
        if a.startswith(SERVER_ANNOTATIONS):
            an.pop(a)
    if not an:
        md.pop("annotations", None)
    o.pop("status", None)
    sp = o.get("spec")
    if not isinstance(sp, dict):
        return o
    if o["kind"] == "Service":
        if sp.get("clusterIP") != "None":
            sp.pop("clusterIP", None)
            sp.pop("clusterIPs", None)
        sp.pop("healthCheckNodePort", None)
        for p in sp.get("ports", []):
            p.pop("nodePort", None)
    if o["kind"] == "Job":
        # the restore strips the controller-uid selector and labels; the API server
        # generates them again from the new Job's uid
        for lb in ((sp.get("selector") or {}).get("matchLabels"),
                   ((sp.get("template") or {}).get("metadata") or {}).get("labels")):
            for l in ("controller-uid", "batch.kubernetes.io/controller-uid"):
                (lb or {}).pop(l, None)
    if o["kind"] == "PersistentVolume" and "claimRef" in sp:
        for f in ("uid", "resourceVersion"):
            sp["claimRef"].pop(f, None)
    if o["kind"] == "Pod":
        sp.pop("nodeName", None)  # cleaned by the restore, set again by the scheduler
        vols = [v for v in sp.get("volumes", []) if not is_token_volume(v)]
        gone = {v["name"] for v in sp.get("volumes", [])} - {v["name"] for v in vols}
        sp["volumes"] = vols
        for c in sp.get("containers", []) + sp.get("initContainers", []):
            c["volumeMounts"] = [m for m in c.get("volumeMounts", []) if m["name"] not in gone]
    return o

def diff(a, b, path=""):
    if type(a) != type(b):
        return ["%s: %r != %r" % (path, a, b)]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append("%s.%s: only restored: %r" % (path, k, b[k]))
            elif k not in b:
                out.append("%s.%s: only original: %r" % (path, k, a[k]))
            else:
                out += diff(a[k], b[k], path + "." + k)
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return ["%s: length %d != %d" % (path, len(a), len(b))]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, "%s[%d]" % (path, i))]
    return [] if a == b else ["%s: %r != %r" % (path, a, b)]

def kget(path):
    """kubectl get -o json of every type: items lack nothing (kubectl adds kind/apiVersion)."""
    return json.load(open(path))["items"]

def gr(disc, o):
    return disc[o["apiVersion"].rpartition("/")[0] + "/" + o["kind"]]

def roundtrip(before, after, result, base, restore_owned=False, only=None, disc=None):
    """Compare the cluster after a restore with the state that was backed up.
    before: objects at backup time; after: objects now; result: the restore's items;
    base: a fresh cluster's objects (not wiped, so "exists"); only: keys the scope
    selects (None: all).  Returns a list of problems."""
    res = {}
    for i in result:
        res[(i["resource"], i.get("namespace", ""), i["name"])] = i
    after_k = {key(o): o for o in after}
    base_k = {key(o) for o in base}
    problems = []
    n_restored = n_skipped = 0
    for o in before:
        k = key(o)
        if only is not None and k not in only:
            continue
        why = rule(o, restore_owned)
        it = res.get((gr(disc, o), k[2], k[3]))
        if it is None:
            problems.append("%s: not in the restore's result" % (k,))
            continue
        if why:
            n_skipped += 1
            if it["outcome"] != "skipped" or not re.search(why, it.get("reason", "")):
                problems.append("%s: want skipped /%s/, got %s %s" % (k, why, it["outcome"], it.get("reason")))
            if k not in base_k and k in after_k and why != "never restored: .*root CA":
                problems.append("%s: skipped, yet it exists after the wipe" % (k,))
            continue
        want = "skipped" if k in base_k else "created"
        if o["kind"] == "ServiceAccount" and k[3] == "default" and it["outcome"] == "skipped":
            want = "skipped"  # made by the cluster with its namespace, before kahu gets to it
        if it["outcome"] != want or (want == "skipped" and it.get("reason") != "exists, identical"):
            problems.append("%s: want %s, got %s %s" % (k, want, it["outcome"], it.get("reason")))
        if k not in after_k:
            problems.append("%s: not in the cluster after the restore" % (k,))
            continue
        n_restored += 1
        d = diff(norm(o), norm(after_k[k]))
        if d:
            problems.append("%s differs: %s" % (k, "; ".join(d[:4])))
        if want == "created":
            lb = after_k[k]["metadata"].get("labels") or {}
            if "kahu.io/restore-name" not in lb or "kahu.io/backup-name" not in lb:
                problems.append("%s: no kahu.io labels" % (k,))
    print("%d restored and equal, %d skipped by rule, %d problems" % (n_restored, n_skipped, len(problems)))
    return problems
PY
export PYTHONPATH=$T_DIR
t_pyrun() { local d=$1 code=$2; shift 2; t_run "$PYTHON" -c "import sys, json, rt
$code" "$@"; t_result $? "$d"; }

# ---- two clusters: a fresh one (what a wipe leaves) and the seeded one ----
cluster_start base || { t_result 1 "test cluster starts"; t_done; exit 1; }
cluster_admin GET /_admin/dump >"$T_DIR/base.json"
cluster_stop base
seeds=(--seed "$top_srcdir/examples/demo-apps.yaml" --seed "$T_DIR/extras.yaml")
# How many objects a round trip creates at least: with the corpus, hundreds.
MIN=20
if [ -d "$KAHU_CORPUS/manifests" ]; then
	MIN=250
	seeds+=(--seed "$KAHU_CORPUS/manifests")
	corpus=1
else
	corpus=0
fi
cluster_start main "${seeds[@]}" || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
KUBECTL=${KUBECTL:-kubectl}
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
LOC=$XDG_DATA_HOME/kahu/backups
have_kubectl=0
if command -v "$KUBECTL" >/dev/null && "$KUBECTL" --kubeconfig "$KC" version >/dev/null 2>&1; then
	have_kubectl=1
fi
# state NAME: the server's objects now, as /_admin/dump and as kubectl reads them
state() {
	cluster_admin GET /_admin/dump >"$T_DIR/$1.json"
	if [ $have_kubectl = 1 ]; then
		local types
		types=$("$KUBECTL" --kubeconfig "$KC" api-resources --verbs=list,create -o name 2>/dev/null | paste -sd, -)
		"$KUBECTL" --kubeconfig "$KC" get "$types" -A -o json >"$T_DIR/$1.kubectl.json" 2>"$T_DIR/kubectl.err" ||
			echo "# kubectl get failed: $(head -c 300 "$T_DIR/kubectl.err")"
	fi
}
wipe() {
	cluster_admin GET /_admin/dump >"$T_DIR/pre-wipe.json"
	"$PYTHON" -c 'import sys, rt
k = rt.K(sys.argv[1], sys.argv[2], sys.argv[3])
bad = rt.wipe(k, rt.load(sys.argv[4]), rt.load(sys.argv[5]))
assert not bad, bad' "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA" "$T_DIR/pre-wipe.json" "$T_DIR/base.json"
}
# result NAME: the restore's items (restore describe -o json) in $T_DIR/NAME.result.json
result() { "$KAHU" restore describe "$1" -o json >"$T_DIR/$1.result.json" 2>"$T_ERR"; }
# check_roundtrip "description" BEFORE RESTORE [restore_owned] [only-keys-file]
check_roundtrip() {
	local d=$1 before=$2 r=$3 owned=${4:-False} only=${5:-}
	result "$r" || { t_result 1 "$d (restore describe $r failed)"; return; }
	state "after-$r"
	local readers=("$T_DIR/after-$r.json")
	[ $have_kubectl = 1 ] && readers+=("$T_DIR/after-$r.kubectl.json")
	local f
	for f in "${readers[@]}"; do
		t_pyrun "$d ($(basename "$f" | sed 's/.*\.kubectl\.json/kubectl get/; s/.*\.json$/admin dump/'))" '
only = None
if sys.argv[6]:
    only = {tuple(x) for x in json.load(open(sys.argv[6]))}
p = rt.roundtrip(rt.load(sys.argv[1]), rt.load(sys.argv[2]), json.load(open(sys.argv[3]))["items"],
                 rt.load(sys.argv[4]), sys.argv[5] == "True", only, json.load(open(sys.argv[7])))
for x in p[:30]: print(x)
assert not p' "$T_DIR/$before.json" "$f" "$T_DIR/$r.result.json" "$T_DIR/base.json" "$owned" "$only" "$T_DIR/disc.json"
	done
}

"$PYTHON" -c 'import sys, json, rt
k = rt.K(*sys.argv[1:4])
json.dump({av.rpartition("/")[0] + "/" + kind: r + ("." + g if g else "") for (av, kind), (r, nsd, g) in k.discover().items()},
          open(sys.argv[4], "w"))' "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA" "$T_DIR/disc.json"
t_result $? "discovery read independently of kahu"
state before
# (objects only: volume data in a restore is t-volume-restore.sh's)
t_ok "backup create full1" kahu_k backup create full1 --volume-data none

# ---- wipe, then a dry run ----
wipe; t_result $? "the seeded namespaces, cluster objects and CRDs are deleted"
cluster_admin POST stats/reset >/dev/null
t_ok "restore create --dry-run -o json" kahu_k restore create dry1 --from-backup full1 --dry-run -o json
cp "$T_OUT" "$T_DIR/dry.json"
[ "$(cluster_stats_get writes)" = 0 ]; t_result $? "... the server's writes counter stays at 0"
[ ! -e "$LOC/restores" ]; t_result $? "... and nothing is stored on the location"
t_py "... every item of the backup with its action, cleaned objects (Secret values redacted)" "
import rt
before = {rt.key(o): o for o in rt.load('$T_DIR/before.json')}
assert len(d) == len(before), (len(d), len(before))
acts = {}
for i in d:
    acts[i['outcome']] = acts.get(i['outcome'], 0) + 1
    o = i.get('object')
    if i['outcome'] == 'would create':
        md = o['metadata']
        assert not set(md) & {'uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'ownerReferences'}, md
        assert md['labels']['kahu.io/restore-name'] == 'dry1' and md['labels']['kahu.io/backup-name'] == 'full1', md
        assert 'status' not in o, o
        if o['kind'] == 'Service' and o['spec'].get('clusterIP') != 'None':
            assert 'clusterIP' not in o['spec'] and all('nodePort' not in p for p in o['spec']['ports']), o
        if o['kind'] == 'Pod':
            assert 'nodeName' not in o['spec'], o
            assert all(not v['name'].startswith('kube-api-access-') for v in o['spec']['volumes']), o
            assert all(not m['name'].startswith('kube-api-access-') for c in o['spec']['containers'] for m in c.get('volumeMounts', [])), o
        if o['kind'] == 'Secret':
            vals = list((o.get('data') or {}).values()) + list((o.get('stringData') or {}).values())
            assert all(v.startswith('<redacted: ') for v in vals), o
assert acts.get('would create', 0) > $MIN and set(acts) <= {'would create', 'skipped'}, acts
print(acts)" "$T_DIR/dry.json"
t_nogrep "... the demo Secret's value is not printed (plain or base64)" \
	"demo-password-not-for-production|$(printf %s demo-password-not-for-production | base64 -w0)" "$T_DIR/dry.json"
t_py "... in restore order: CRDs, then namespaces, then Velero's priority list, then alphabetical" "
prio = ['customresourcedefinitions.apiextensions.k8s.io', 'namespaces', 'storageclasses.storage.k8s.io',
        'volumesnapshotclasses.snapshot.storage.k8s.io', 'volumesnapshotcontents.snapshot.storage.k8s.io',
        'volumesnapshots.snapshot.storage.k8s.io', 'persistentvolumes', 'persistentvolumeclaims',
        'clusterroles.rbac.authorization.k8s.io', 'roles.rbac.authorization.k8s.io', 'serviceaccounts',
        'clusterrolebindings.rbac.authorization.k8s.io', 'rolebindings.rbac.authorization.k8s.io', 'secrets',
        'configmaps', 'limitranges', 'priorityclasses.scheduling.k8s.io', 'pods', 'replicasets.apps',
        'endpoints', 'services']
rank = lambda r: (prio.index(r), '') if r in prio else (len(prio), r)
seq = [i['resource'] for i in d]
types = [t for n, t in enumerate(seq) if n == 0 or seq[n - 1] != t]
assert len(types) == len(set(types)), 'a type comes back: %r' % types
assert types == sorted(types, key=rank), types
assert types[0] == prio[0] and types[1] == 'namespaces', types[:3]" "$T_DIR/dry.json"
t_ok "restore create --dry-run -o yaml" kahu_k restore create dry1 --from-backup full1 --dry-run -o yaml
cp "$T_OUT" "$T_DIR/dry.yaml"
t_run "$PYTHON" -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) > '"$MIN"' and d[0]["resource"].startswith("customresourcedefinitions"), d[:1]
assert all("outcome" in i for i in d)' "$T_DIR/dry.yaml"
t_result $? "... parses as YAML, the same list"
t_ok "restore create --dry-run (table)" kahu_k restore create --from-backup full1 --dry-run
t_grep "... TYPE NAMESPACE NAME ACTION REASON" "^TYPE +NAMESPACE +NAME +ACTION +REASON" "$T_OUT"
t_grep "... says nothing was written" "nothing was written" "$T_OUT"
[ "$(cluster_stats_get writes)" = 0 ]; t_result $? "... writes still 0 after three dry runs"

# ---- the round trip ----
t_ok "restore create r1 --from-backup full1" kahu_k restore create r1 --from-backup full1
t_grep "... says what it did" "^Restore r1 from backup full1: Completed\. [0-9]+ created, 0 updated, [0-9]+ skipped, 0 failed\." "$T_OUT"
check_roundtrip "every object is back and equal to the original, or skipped by rule" before r1

# ---- the same restore again writes nothing ----
cluster_admin POST stats/reset >/dev/null
kahu_k restore create r2 --from-backup full1 >"$T_OUT" 2>"$T_ERR"
echo "exit $?" >>"$T_OUT"
result r2
t_pyrun "restore again (r2): every item is skipped, none created twice" '
items = json.load(open(sys.argv[1]))["items"]
bad = [i for i in items if i["outcome"] != "skipped"]
assert not bad, bad[:5]
assert sum(1 for i in items if i.get("reason") == "exists, identical") > '"$MIN" "$T_DIR/r2.result.json"
writes=$(cluster_stats_get writes)
echo "writes=$writes" >"$T_OUT"
[ "$writes" = 0 ]; t_result $? "... and writes nothing (names with ':' such as system:… found too)"
cluster_admin GET stats >"$T_DIR/r2.stats.json"
t_pyrun "... and reads what exists with a LIST per type, not a GET per object" '
st = json.load(open(sys.argv[1]))
items = json.load(open(sys.argv[2]))["items"]
gets = st["by_verb"].get("get", 0)
by = {r: v["get"] for r, v in st["by_resource"].items() if v.get("get")}
namespaces = {i.get("namespace") for i in items if i.get("namespace")}
crds = [i for i in items if i["resource"].startswith("customresourcedefinitions")]
print("gets", gets, "items", len(items), "namespaces", len(namespaces), "crds", len(crds), by)
builtin = ("apps", "batch", "policy", "autoscaling", "rbac.authorization.k8s.io", "networking.k8s.io",
           "storage.k8s.io", "scheduling.k8s.io", "discovery.k8s.io", "coordination.k8s.io")
plain = {r: n for r, n in by.items() if r != "namespaces" and ("." not in r or r.split(".", 1)[1] in builtin)}
assert not plain, plain   # built-in types: all compared with what their LIST returned
# a GET per CRD (established?) and none per namespace; custom resources whose stored
# version is not the one listed are read one by one
assert by.get("namespaces", 0) == 0, by
assert gets <= len(crds) + len(items) // 10, gets' "$T_DIR/r2.stats.json" "$T_DIR/r2.result.json"

# ---- list, describe, results on the location ----
t_ok "restore list" "$KAHU" restore list
t_grep "... header" "^NAME +BACKUP +STATUS +STARTED +CREATED +UPDATED +SKIPPED +FAILED" "$T_OUT"
t_grep "... r1 with its counts" "^r1 +full1 +Completed +[0-9TZ:-]+ +[1-9][0-9]* +0 +[0-9]+ +0$" "$T_OUT"
t_ok "restore list -o json" "$KAHU" restore list -o json
t_py "... r1 and r2 with counts that add up" "
r = {x['name']: x for x in d['restores']}
assert set(r) == {'r1', 'r2'}, r.keys()
c = r['r1']['counts']
assert c['items'] == c['created'] + c['updated'] + c['skipped'] + c['failed'] and c['created'] > $MIN, c" "$T_OUT"
t_ok "restore list -o name" "$KAHU" restore list -o name
t_grep "... restore/r1" "^restore/r1$" "$T_OUT"
t_ok "restore describe r1 --details" "$KAHU" restore describe r1 --details
cp "$T_OUT" "$T_DIR/details.txt"
t_grep "... status and counts" "^Items: +[0-9]+: [0-9]+ created, 0 updated, [0-9]+ skipped, 0 failed" "$T_DIR/details.txt"
t_pyrun "... a row per item of the result, with its outcome and reason" '
txt = open(sys.argv[1]).read().splitlines()
items = json.load(open(sys.argv[2]))["items"]
rows = txt[txt.index(next(l for l in txt if l.startswith("TYPE "))) + 1:]
assert len(rows) == len(items), (len(rows), len(items))
assert any(l.split()[:3] == ["configmaps", "shop", "shop-settings"] and " created" in l for l in rows)
assert any("web-5d9c8b7f6-x2x7q" in l and "owned by a ReplicaSet" in l for l in rows)' "$T_DIR/details.txt" "$T_DIR/r1.result.json"
f=$LOC/restores/r1/result.json.zst.kenc
[ -f "$f" ] && [ "$(head -c 8 "$f")" = KAHUENC1 ] && [ -f "$LOC/restores/r1/restore.json" ]
t_result $? "restores/r1 holds restore.json and result.json.zst.kenc (encrypted)"
f=$LOC/restores/r1/log.jsonl.zst.kenc
[ -f "$f" ] && [ "$(head -c 8 "$f")" = KAHUENC1 ]; t_result $? "... and its log, log.jsonl.zst.kenc (encrypted)"
t_ok "restore logs r1" "$KAHU" restore logs r1
cp "$T_OUT" "$T_DIR/r1.log"
t_pyrun "... JSON lines (time, level, msg), one per type restored" '
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert lines and all({"time", "level", "msg"} <= set(l) for l in lines), lines[:3]
assert any(l["msg"].startswith("configmaps: ") and " to restore" in l["msg"] for l in lines), [l["msg"] for l in lines][:10]' "$T_DIR/r1.log"
t_exit 66 "restore logs of an unknown restore exits 66" "$KAHU" restore logs nosuch
leaks=$(grep -rlaF -e shop-settings -e gizmo -e web-5d9c8b7f6 -e shop-db "$LOC/restores" 2>/dev/null)
echo "$leaks" >"$T_OUT"
[ -z "$leaks" ]; t_result $? "... no object name in plaintext under restores/"
t_py "... restore.json holds counts only (and its seal)" "
assert set(d) <= {'name', 'backup', 'status', 'started', 'completed', 'counts', 'warnings', 'encrypted', 'key_id', 'mac'}, d.keys()
assert d['status'] == 'Completed' and d['encrypted'] is True" "$LOC/restores/r1/restore.json"
t_exit 73 "a restore name that exists exits 73" kahu_k restore create r1 --from-backup full1
t_exit 66 "describe of an unknown restore exits 66" "$KAHU" restore describe nosuch

# ---- existing objects: none vs update ----
"$KUBECTL" --kubeconfig "$KC" -n shop patch configmap shop-settings --type merge -p '{"data":{"LOG_LEVEL":"trace","EXTRA":"x"}}' >/dev/null 2>&1 ||
	cluster_admin POST seed "$("$PYTHON" -c 'import json,sys
for o in json.load(open(sys.argv[1]))["items"]:
    if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "shop-settings":
        o["data"]["LOG_LEVEL"] = "trace"; o["data"]["EXTRA"] = "x"
        for f in ("resourceVersion", "managedFields"): o["metadata"].pop(f, None)
        print(json.dumps(o))' "$T_DIR/before.json")" >/dev/null
cluster_admin GET "/api/v1/namespaces/shop/configmaps/shop-settings" >"$T_DIR/cm-changed.json"
cluster_admin POST stats/reset >/dev/null
t_ok "restore create --existing-resource-policy none (an object that differs)" \
	kahu_k restore create rnone --from-backup full1 --include-namespaces shop --include-resources configmaps
result rnone
t_py "... shop-settings: skipped, exists, differs" "
i = [x for x in d['items'] if x['name'] == 'shop-settings'][0]
assert i['outcome'] == 'skipped' and i['reason'] == 'exists, differs', i" "$T_DIR/rnone.result.json"
cluster_admin GET "/api/v1/namespaces/shop/configmaps/shop-settings" >"$T_OUT"
t_py "... the live object is unchanged" "
assert d == json.load(open('$T_DIR/cm-changed.json'))" "$T_OUT"
[ "$(cluster_stats_get writes)" = 0 ]; t_result $? "... and nothing was written"
t_ok "restore create --existing-resource-policy update" \
	kahu_k restore create rupdate --from-backup full1 --include-namespaces shop --include-resources configmaps --existing-resource-policy update
t_grep "... 1 updated" " 1 updated" "$T_OUT"
result rupdate
t_py "... shop-settings: updated" "
i = [x for x in d['items'] if x['name'] == 'shop-settings'][0]
assert i['outcome'] == 'updated', i" "$T_DIR/rupdate.result.json"
cluster_admin GET "/api/v1/namespaces/shop/configmaps/shop-settings" >"$T_OUT"
t_py "... the live object now equals the backup's" "
import rt
b = [o for o in rt.load('$T_DIR/before.json') if o['kind'] == 'ConfigMap' and o['metadata']['name'] == 'shop-settings'][0]
assert d['data'] == b['data'], (d['data'], b['data'])
assert not rt.diff(rt.norm(b), rt.norm(d)), rt.diff(rt.norm(b), rt.norm(d))" "$T_OUT"
[ "$(cluster_stats_get writes)" = 1 ]; t_result $? "... with one write (the merge patch)"
t_exit 64 "--existing-resource-policy bogus exits 64" kahu_k restore create --from-backup full1 --existing-resource-policy bogus

# ---- owned objects ----
wipe
t_ok "restore create --restore-owned" kahu_k restore create rowned --from-backup full1 --restore-owned --include-namespaces owned
result rowned
t_py "... pods of ReplicaSets and StatefulSets, ReplicaSets of Deployments, Jobs of CronJobs are created" "
got = {(i['resource'], i['name']): i['outcome'] for i in d['items']}
for k in [('pods', 'web-5d9c8b7f6-x2x7q'), ('pods', 'db-0'), ('replicasets.apps', 'web-5d9c8b7f6'), ('jobs.batch', 'nightly-28930000')]:
    assert got.get(k) == 'created', (k, got.get(k))" "$T_DIR/rowned.result.json"
cluster_admin GET /api/v1/namespaces/owned/pods/web-5d9c8b7f6-x2x7q >"$T_OUT"
t_py "... without their ownerReferences (the owners' UIDs are stale)" "
assert 'ownerReferences' not in d['metadata'], d['metadata']
assert d['metadata']['labels']['kahu.io/restore-name'] == 'rowned'" "$T_OUT"

# ---- scope on restore ----
# scope_case "description" RESTORE REFS 'python predicate on o (an object of the backup)' FLAGS...
# The items created must be exactly the objects the predicate selects, plus what they
# need (REFS, kahu-restore(1) SCOPE: "ns" the Namespaces that hold them, "pv" the PVs
# bound to their PVCs, "crd" the CRDs of their custom resources), minus what rules
# skip; the cluster must hold them, equal to the backup's.
scope_case() {
	local d=$1 r=$2 refs=$3 pred=$4; shift 4
	wipe
	t_ok "restore create $r $*" kahu_k restore create "$r" --from-backup full1 "$@"
	"$PYTHON" -c "import sys, json, rt
def want(o):
    md = o['metadata']; ns = md.get('namespace', ''); name = md['name']; lab = md.get('labels') or {}
    return $pred
objs = rt.load(sys.argv[1])
disc = json.load(open(sys.argv[5]))
refs = sys.argv[6].split(',')
sel = [o for o in objs if want(o)]
need_ns = {o['metadata'].get('namespace') for o in sel} if 'ns' in refs else set()
need_pv = {o['spec'].get('volumeName') for o in sel if o['kind'] == 'PersistentVolumeClaim'} if 'pv' in refs else set()
need_crd = {rt.gr(disc, o) for o in sel} if 'crd' in refs else set()
sel += [o for o in objs if (o['kind'] == 'Namespace' and o['metadata']['name'] in need_ns) or
        (o['kind'] == 'PersistentVolume' and o['metadata']['name'] in need_pv) or
        (o['kind'] == 'CustomResourceDefinition' and o['metadata']['name'] in need_crd)]
base = {rt.key(o) for o in rt.load(sys.argv[2])}
json.dump([rt.key(o) for o in sel], open(sys.argv[3], 'w'))
json.dump([rt.key(o) for o in sel if rt.key(o) not in base and not rt.rule(o) and
           not (o['kind'] == 'ServiceAccount' and o['metadata']['name'] == 'default')], open(sys.argv[4], 'w'))" \
		"$T_DIR/before.json" "$T_DIR/base.json" "$T_DIR/$r.only.json" "$T_DIR/$r.created.json" "$T_DIR/disc.json" "$refs"
	check_roundtrip "... $d: the selected objects are back, equal" before "$r" False "$T_DIR/$r.only.json"
	t_pyrun "... and only they were created" '
want = {tuple(k) for k in json.load(open(sys.argv[1]))}
items = json.load(open(sys.argv[2]))["items"]
w = {(k[2], k[3]) for k in want}
h = {(i.get("namespace", ""), i["name"]) for i in items if i["outcome"] == "created" and
     not (i["resource"] == "serviceaccounts" and i["name"] == "default")}
assert w == h, ("missing", sorted(w - h)[:10], "unexpected", sorted(h - w)[:10])
print(len(w), "created")' "$T_DIR/$r.created.json" "$T_DIR/$r.result.json"
}
scope_case "namespace shop and what it needs (its Namespace, its PVs, the CRDs of its custom resources)" rs-ns ns,pv,crd \
	"ns == 'shop'" \
	--include-namespaces shop
scope_case "configmaps of blog and chain (and their Namespaces)" rs-res ns \
	"o['kind'] == 'ConfigMap' and ns in ('blog', 'chain')" \
	--include-namespaces blog,chain --include-resources configmaps --include-cluster-resources false
scope_case "objects labelled app=shop, secrets excluded (and their Namespaces)" rs-sel ns \
	"lab.get('app') == 'shop' and o['kind'] != 'Secret'" \
	-l app=shop --exclude-resources secrets
scope_case "names shop-* in shop, namespaces chain and owned excluded" rs-names ns \
	"ns == 'shop' and name.startswith('shop-')" \
	--include-names 'shop/shop-*' --exclude-namespaces 'chain,owned' --include-cluster-resources false

# ---- incremental and differential chains ----
wipe
kahu_k restore create rbase --from-backup full1 >/dev/null 2>&1
cluster_admin POST seed '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"changes-inc","namespace":"chain"},"data":{"v":"2"}}' >/dev/null
cluster_admin DELETE /api/v1/namespaces/chain/configmaps/deleted-inc >/dev/null
state at-inc
t_ok "backup create inc1 --incremental (one change, one deletion)" kahu_k backup create inc1 --incremental --volume-data none
cluster_admin POST seed '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"changes-diff","namespace":"chain"},"data":{"v":"3"}}' >/dev/null
cluster_admin DELETE /api/v1/namespaces/chain/secrets/deleted-diff >/dev/null
state at-diff
t_ok "backup create diff1 --differential (another change, another deletion)" kahu_k backup create diff1 --differential --volume-data none
t_ok "backup list -o json" "$KAHU" backup list -o json
t_py "... inc1 is an incremental backup on full1, diff1 a differential one" "
b = {x['name']: x for x in d['backups']}
assert b['inc1']['type'] == 'incremental' and b['inc1']['parent'] == 'full1', b['inc1']
assert b['diff1']['type'] == 'differential', b['diff1']" "$T_OUT"
wipe
t_ok "restore create rinc --from-backup inc1" kahu_k restore create rinc --from-backup inc1
check_roundtrip "the state at inc1" at-inc rinc
cluster_admin GET /api/v1/namespaces/chain/configmaps/changes-inc >"$T_OUT"
t_py "... changes-inc has its new value" "assert d['data'] == {'v': '2'}, d" "$T_OUT"
t_exit 66 "... deleted-inc is not restored (deletions are honoured)" \
	"$PYTHON" -c 'import sys, rt; sys.exit(66 if rt.K(*sys.argv[1:4]).req("GET", "/api/v1/namespaces/chain/configmaps/deleted-inc")[0] == 404 else 0)' "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA"
wipe
t_ok "restore create rdiff --from-backup diff1" kahu_k restore create rdiff --from-backup diff1
check_roundtrip "the state at diff1" at-diff rdiff
cluster_admin GET /api/v1/namespaces/chain/configmaps/changes-diff >"$T_OUT"
t_py "... changes-diff has its new value" "assert d['data'] == {'v': '3'}, d" "$T_OUT"
"$PYTHON" -c 'import sys, rt
k = rt.K(*sys.argv[1:4])
assert k.req("GET", "/api/v1/namespaces/chain/secrets/deleted-diff")[0] == 404
assert k.req("GET", "/api/v1/namespaces/chain/configmaps/deleted-inc")[0] == 404
assert k.req("GET", "/api/v1/namespaces/chain/configmaps/changes-inc")[1]["data"] == {"v": "2"}' "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA" >"$T_OUT" 2>"$T_ERR"
t_result $? "... both deletions honoured, the incremental's change kept"

# ---- usage and exit statuses ----
t_exit 66 "an unknown backup exits 66" kahu_k restore create --from-backup nosuch
t_grep "... naming it" "nosuch" "$T_ERR"
t_exit 64 "no --from-backup exits 64" kahu_k restore create x
t_exit 64 "an invalid restore name exits 64" kahu_k restore create Bad_Name --from-backup full1
t_exit 64 "a malformed --namespace-mappings exits 64" kahu_k restore create --from-backup full1 --namespace-mappings shop
t_exit 64 "--parallel 0 exits 64" kahu_k restore create --from-backup full1 --parallel 0
t_exit 64 "an unknown resource type exits 64" kahu_k restore create --from-backup full1 --include-resources nosuchthings

t_done

"""Generated objects for scale and memory tests: large CRDs, Pods with large
managedFields, and a mix of 1-4 KB objects of several kinds.

Everything is built in the server and put into the store directly (no request per
object), deterministically from a seed: the same arguments give the same names, sizes
and contents (uids and times aside).  Sizes are bytes of the object's JSON as a list
item (without kind/apiVersion), within a few percent of what is asked.

Stored JSON is escaped as kube-apiserver's encoder does it (Go's encoding/json): '<',
'>' and '&' inside strings are sent as \\u003c, \\u003e and \\u0026, so clients see
\\u escapes in real-looking bodies.
"""
import base64
import json
import random
import time

from .errors import ApiError
from .cluster import new_uid, now_rfc3339, order_meta, NODE_NAME
from .store import encode

WORDS = (
    "the of a to is and in for be that this field when if not by with are as an or it on "
    "which from will must may should value name used resource object reference spec status "
    "set default controller secret key certificate issuer namespace cluster provider "
    "connection details policy selector label annotation template container volume mount "
    "path port protocol service account token endpoint region zone network subnet security "
    "group instance role binding rule condition type reason message observed generation "
    "time last transition ready deletion finalizer owner kind version api external managed "
    "identifier tag config map data string integer boolean list array items properties "
    "required optional deprecated see https://kubernetes.io/docs/concepts/ more info "
    "format pattern maximum minimum length size bytes seconds duration retry backoff limit "
    "replica scale target metric threshold window interval timeout schedule cron storage "
    "class capacity access mode claim snapshot backup restore encryption algorithm digest "
    "signature public private domain dns record zone-id hosted vpc peering route table "
    "gateway nat elastic address allocation association attachment interface ipv4 ipv6 "
    "cidr block prefix egress ingress inbound outbound allow deny source destination"
).split()

FIELD_WORDS = (
    "name namespace selector ref region zone tags policy rule config spec status source "
    "target endpoint address port protocol key value secret token role group account "
    "network subnet vpc route gateway instance volume mount path mode size limit retry "
    "timeout interval schedule window threshold metric replicas storage class capacity "
    "access claim snapshot backup encryption algorithm digest domain record hosted peering "
    "table attachment interface cidr block prefix egress ingress deletion provider "
    "connection details publish write to from template labels annotations owner"
).split()


def _esc(raw):
    return raw.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


def _camel(rng, n):
    w = [rng.choice(FIELD_WORDS) for _ in range(n)]
    return w[0] + "".join(x.capitalize() for x in w[1:])


def _sentence(rng, lo=6, hi=24):
    words = rng.choices(WORDS, k=rng.randint(lo, hi))
    s = " ".join(words)
    r = rng.random()
    # what real descriptions hold: code spans, quotes, brackets, braces, markup, backslashes
    if r < 0.15:
        s += ' (e.g. "%s")' % rng.choice(WORDS)
    elif r < 0.25:
        s += " `spec.%s`" % _camel(rng, 2)
    elif r < 0.32:
        s += " [%s]" % rng.choice(("Deprecated", "Alpha", "Beta", "immutable"))
    elif r < 0.38:
        s += " {%s: %s}" % (rng.choice(WORDS), rng.choice(WORDS))
    elif r < 0.43:
        s += " <%s> & <%s>" % (rng.choice(WORDS), rng.choice(WORDS))
    elif r < 0.46:
        s += " C:\\%s\\%s" % (rng.choice(WORDS), rng.choice(WORDS))
    return s[0].upper() + s[1:] + "."


def _description(rng, sentences):
    return "\n".join(_sentence(rng) for _ in range(sentences))


def _leaf(rng):
    r = rng.random()
    d = {"description": _description(rng, rng.randint(1, 3))}
    if r < 0.45:
        d["type"] = "string"
        r2 = rng.random()
        if r2 < 0.2:
            d["enum"] = [rng.choice(WORDS).capitalize() for _ in range(rng.randint(2, 5))]
        elif r2 < 0.35:
            d["pattern"] = r'^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$'
            d["maxLength"] = 253
        elif r2 < 0.45:
            d["format"] = rng.choice(("date-time", "byte", "duration", "uri"))
    elif r < 0.6:
        d["type"] = "integer"
        d["format"] = rng.choice(("int32", "int64"))
        if rng.random() < 0.5:
            d["minimum"] = 0
    elif r < 0.7:
        d["type"] = "boolean"
    elif r < 0.8:
        d["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        d["x-kubernetes-int-or-string"] = True
    elif r < 0.9:
        d["type"] = "array"
        d["items"] = {"type": "string"}
        d["x-kubernetes-list-type"] = rng.choice(("atomic", "set"))
    else:
        d["type"] = "object"
        d["additionalProperties"] = {"type": "string"}
    return d


def _object(rng, depth, fields):
    props = {}
    for _ in range(fields):
        k = _camel(rng, rng.randint(1, 3))
        if depth > 0 and rng.random() < 0.3:
            sub = _object(rng, depth - 1, rng.randint(2, 6))
            if rng.random() < 0.3:
                sub = {"description": sub["description"], "type": "array", "items": sub,
                       "x-kubernetes-list-type": "atomic"}
            props[k] = sub
        else:
            props[k] = _leaf(rng)
    d = {"description": _description(rng, rng.randint(1, 4)), "properties": props, "type": "object"}
    keys = list(props)
    if keys and rng.random() < 0.5:
        d["required"] = sorted(rng.sample(keys, min(len(keys), rng.randint(1, 2))))
    if rng.random() < 0.2:
        d["x-kubernetes-map-type"] = "atomic"
    return d


class _Pool:
    """Schema subtrees shared by the generated CRDs (as a provider's CRDs share them),
    each with the length of its JSON.  The stored objects share these dicts (500 CRDs
    of 1 MiB hold a few MiB of trees besides their JSON text): the server never changes
    a stored object in place, every write builds a new one."""
    _cache = {}

    @classmethod
    def get(cls, seed):
        p = cls._cache.get(seed)
        if p is None:
            rng = random.Random(seed)
            p = []
            for _ in range(256):
                t = _object(rng, 3, rng.randint(3, 10))
                p.append((t, len(_esc(encode(t)))))
            p.sort(key=lambda x: x[1])
            cls._cache[seed] = p
        return p


def _crd_schema(rng, pool, size):
    """An openAPIV3Schema of about `size` bytes: the apiVersion/kind/metadata
    boilerplate, then spec and status built from the pool until the size is reached."""
    common = {
        "apiVersion": {"description": "APIVersion defines the versioned schema of this representation of an "
                                      "object.\nServers should convert recognized schemas to the latest internal "
                                      "value, and\nmay reject unrecognized values.\nMore info: https://git.k8s.io/"
                                      "community/contributors/devel/sig-architecture/api-conventions.md#resources",
                       "type": "string"},
        "kind": {"description": "Kind is a string value representing the REST resource this object represents."
                                "\nServers may infer this from the endpoint the client submits requests to.\n"
                                "Cannot be updated.\nIn CamelCase.", "type": "string"},
        "metadata": {"type": "object"},
    }
    spec_props, status_props = {}, {}
    have = 1200
    i = 0
    while size - have > pool[0][1] // 2:
        t, n = pool[rng.randrange(len(pool))]
        if have + n > size:  # the last one: the subtree that fits the rest best
            t, n = min(pool, key=lambda x: abs(size - have - x[1]))
        k = "%s%d" % (_camel(rng, 2), i)
        (status_props if i % 4 == 3 else spec_props)[k] = t
        have += n + len(k) + 4
        i += 1
    return {"description": _description(rng, 3), "properties": dict(common, **{
        "spec": {"description": _description(rng, 2), "properties": spec_props, "type": "object"},
        "status": {"description": _description(rng, 2), "properties": status_props, "type": "object",
                   "x-kubernetes-preserve-unknown-fields": True}}),
        "required": ["spec"], "type": "object"}


def _namespaces(cluster, names):
    q = {"fieldManager": "kahu-test-generate"}
    nsrt = cluster.registry.by_key[("", "namespaces")]
    for ns in names:
        if not cluster.ns_exists(ns):
            cluster.create(nsrt, "v1", "", {"metadata": {"name": ns}}, q)


def _put(cluster, rt, obj):
    """Store a generated object: resourceVersion now, JSON encoded (and escaped) now."""
    with cluster.store.lock:
        obj["metadata"]["resourceVersion"] = str(cluster.store.next_rv())
        obj["metadata"] = order_meta(obj["metadata"])
        e = cluster.store.put(rt.storage_key, obj, bulk=True)
        e.raw = _esc(encode(obj))
        cluster.store.log_event(rt.storage_key, "ADDED", obj["metadata"].get("namespace", ""), e, None)
    return len(e.raw)


def crds(cluster, count, size=1048576, prefix="gen", seed=1):
    """`count` established CRDs of about `size` bytes each, ten kinds per API group
    (like a provider's), namespaced, each with two served versions sharing one schema
    (as many real CRDs do: most of their size is the schema, once per version)."""
    count, size = int(count), max(2048, int(size))
    if count < 0:
        raise ApiError(400, "BadRequest", "generate: count must be >= 0")
    rt = cluster.registry.by_key[("apiextensions.k8s.io", "customresourcedefinitions")]
    pool = _Pool.get(seed)
    t0 = time.time()
    ts = now_rfc3339()
    total = created = 0
    with cluster.lock:
        for i in range(count):
            rng = random.Random("%s/%d/%d" % (prefix, seed, i))
            group = "%s%d.%s.kahu-test.io" % (prefix, i // 10, rng.choice(FIELD_WORDS))
            kind = _camel(rng, 2)
            kind = "%s%s%d" % (kind[0].upper(), kind[1:], i)
            plural = kind.lower() + "s"
            name = "%s.%s" % (plural, group)
            if cluster.store.get(rt.storage_key, "", name) is not None:
                continue  # made by an earlier call with the same prefix and seed
            created += 1
            schema = _crd_schema(rng, pool, size // 2 - 1500)
            cols = [{"jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "name": "READY",
                     "type": "string"},
                    {"jsonPath": ".metadata.creationTimestamp", "name": "AGE", "type": "date"}]
            vers = [{"name": v, "served": True, "storage": v == "v1", "schema": {"openAPIV3Schema": schema},
                     "subresources": {"status": {}}, "additionalPrinterColumns": cols}
                    for v in ("v1beta1", "v1")]
            names = {"categories": [prefix, "managed"], "kind": kind, "listKind": kind + "List",
                     "plural": plural, "singular": kind.lower()}
            obj = {"metadata": {"name": name, "uid": new_uid(), "generation": 1, "creationTimestamp": ts,
                                "annotations": {"controller-gen.kubebuilder.io/version": "v0.16.5"},
                                "managedFields": [{"manager": "kahu-test-generate", "operation": "Update",
                                                   "apiVersion": "apiextensions.k8s.io/v1", "time": ts,
                                                   "fieldsType": "FieldsV1",
                                                   "fieldsV1": {"f:spec": {"f:group": {}, "f:names": {},
                                                                           "f:scope": {}, "f:versions": {}}}}]},
                   "spec": {"group": group, "names": names, "scope": "Namespaced", "versions": vers,
                            "conversion": {"strategy": "None"}},
                   "status": {"acceptedNames": dict(names), "storedVersions": ["v1"], "conditions": [
                       {"type": "NamesAccepted", "status": "True", "lastTransitionTime": ts,
                        "reason": "NoConflicts", "message": "no conflicts found"},
                       {"type": "Established", "status": "True", "lastTransitionTime": ts,
                        "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}]}}
            total += _put(cluster, rt, obj)
            cluster.registry.add_crd(obj)
        cluster.store.bucket(rt.storage_key).ensure_sorted()
    return {"created": created, "kind": "CustomResourceDefinition", "bytes": total,
            "seconds": round(time.time() - t0, 3)}


def _fields_env(names):
    return {".": {}, **{'k:{"name":"%s"}' % n: {".": {}, "f:name": {}, "f:value": {}} for n in names}}


def pods(cluster, count, namespaces=10, managed_fields=16384, prefix="gen", seed=1):
    """`count` running Pods owned by ReplicaSets, each with managedFields of about
    `managed_fields` bytes: the controller's entry for the spec (containers with many
    environment variables, keyed as "k:{\\"name\\":...}") and the kubelet's for the
    status, as on a real node."""
    count, namespaces = int(count), max(1, int(namespaces))
    managed_fields = max(1024, int(managed_fields))
    rt = cluster.registry.by_key[("", "pods")]
    ns_names = ["%s-pods-%d" % (prefix, i) for i in range(namespaces)]
    t0 = time.time()
    ts = now_rfc3339()

    def pod(i, nenv):
        rng = random.Random("%s/pods/%d/%d" % (prefix, seed, i))
        ns = ns_names[i % namespaces]
        app = "%s-%d" % (rng.choice(FIELD_WORDS), i // 3)
        rs = "%s-%08x" % (app, rng.getrandbits(32))
        name = "%s-%05x" % (rs, rng.getrandbits(20))
        rs_uid = new_uid()
        n = cluster.next_pod_ip
        cluster.next_pod_ip += 1
        ip = "10.244.%d.%d" % (n // 250 % 256, n % 250 + 2)
        ctrs, fctrs, cst = [], {}, []
        for c in ("app", "sidecar"):
            env = ["%s_%s_%d" % (c.upper(), rng.choice(FIELD_WORDS).upper(), j) for j in range(nenv)]
            ctrs.append({"name": c, "image": "registry.example.com/%s/%s:v1.%d.%d" % (app, c, i % 7, i % 13),
                         "env": [{"name": e, "value": "%s=%d&<%s>" % (rng.choice(WORDS), j, c)}
                                 for j, e in enumerate(env)],
                         "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                         "resources": {"limits": {"cpu": "500m", "memory": "256Mi"},
                                       "requests": {"cpu": "100m", "memory": "128Mi"}},
                         "terminationMessagePath": "/dev/termination-log",
                         "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"})
            fctrs['k:{"name":"%s"}' % c] = {
                ".": {}, "f:env": _fields_env(env), "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
                "f:ports": {".": {}, 'k:{"containerPort":8080,"protocol":"TCP"}': {
                    ".": {}, "f:containerPort": {}, "f:name": {}, "f:protocol": {}}},
                "f:resources": {".": {}, "f:limits": {".": {}, "f:cpu": {}, "f:memory": {}},
                                "f:requests": {".": {}, "f:cpu": {}, "f:memory": {}}},
                "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}
            cst.append({"name": c, "image": ctrs[-1]["image"], "imageID": "", "ready": True, "restartCount": 0,
                        "started": True, "containerID": "containerd://%064x" % rng.getrandbits(256),
                        "state": {"running": {"startedAt": ts}}})
        conds = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
        mf = [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1", "time": ts,
               "fieldsType": "FieldsV1", "fieldsV1": {
                   "f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {},
                                                                     "f:pod-template-hash": {}},
                                  "f:ownerReferences": {".": {}, 'k:{"uid":"%s"}' % rs_uid: {}}},
                   "f:spec": {"f:containers": fctrs, "f:dnsPolicy": {}, "f:enableServiceLinks": {},
                              "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {},
                              "f:terminationGracePeriodSeconds": {}}}},
              {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": ts,
               "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {"f:status": {
                   "f:conditions": {'k:{"type":"%s"}' % c: {".": {}, "f:lastProbeTime": {},
                                                             "f:lastTransitionTime": {}, "f:status": {},
                                                             "f:type": {}} for c in conds},
                   "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {}, "f:podIP": {},
                   "f:podIPs": {".": {}, 'k:{"ip":"%s"}' % ip: {".": {}, "f:ip": {}}}, "f:startTime": {}}}}]
        obj = {"metadata": {"name": name, "generateName": rs + "-", "namespace": ns, "uid": new_uid(),
                            "creationTimestamp": ts,
                            "labels": {"app": app, "pod-template-hash": rs.rpartition("-")[2]},
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                                 "uid": rs_uid, "controller": True,
                                                 "blockOwnerDeletion": True}],
                            "managedFields": mf},
               "spec": {"containers": ctrs, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                        "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
                        "serviceAccount": "default", "nodeName": NODE_NAME, "securityContext": {},
                        "schedulerName": "default-scheduler", "enableServiceLinks": True},
               "status": {"phase": "Running", "hostIP": "10.0.0.10", "hostIPs": [{"ip": "10.0.0.10"}],
                          "podIP": ip, "podIPs": [{"ip": ip}], "startTime": ts, "qosClass": "Burstable",
                          "conditions": [{"type": c, "status": "True", "lastProbeTime": None,
                                          "lastTransitionTime": ts} for c in conds],
                          "containerStatuses": cst}}
        return obj

    # the environment variables per container that give the managedFields size asked
    def mf_size(nenv):
        return len(encode(pod(0, nenv)["metadata"]["managedFields"]))
    a, b = mf_size(1), mf_size(11)
    nenv = max(1, round(1 + (managed_fields - a) * 10 / max(1, b - a)))
    n_ip = cluster.next_pod_ip
    total = 0
    with cluster.lock:
        _namespaces(cluster, ns_names)
        cluster.next_pod_ip = n_ip
        for i in range(count):
            obj = pod(i, nenv)
            total += _put(cluster, rt, obj)
        cluster.store.bucket(rt.storage_key).ensure_sorted()
    return {"created": count, "kind": "Pod", "namespaces": namespaces, "bytes": total,
            "seconds": round(time.time() - t0, 3)}


MIXED_KINDS = ("ConfigMap", "Secret", "Service", "Deployment")


def _pad(obj, want, fill):
    """Grow `obj` to about `want` bytes of JSON through fill(obj, n) (n: bytes to add)."""
    have = len(encode(obj))
    if have < want:
        fill(obj, want - have)
        over = len(_esc(encode(obj))) - want   # escapes make the text longer than its length
        if over > 0:
            fill(obj, max(1, want - have - over))


def mixed(cluster, count, namespaces=50, min_size=1024, max_size=4096, prefix="mixed", seed=1):
    """`count` objects of min_size..max_size bytes (uniformly), ConfigMaps, Secrets,
    Services and Deployments in turn, over `namespaces` namespaces PREFIX-N.  Services
    and Deployments carry kubectl's last-applied-configuration (JSON in a string, as
    `kubectl apply` leaves it) to reach their size."""
    count, namespaces = int(count), max(1, int(namespaces))
    min_size, max_size = int(min_size), int(max_size)
    if min_size > max_size or min_size < 0:
        raise ApiError(400, "BadRequest", "generate: min_size must be <= max_size")
    ns_names = ["%s-%d" % (prefix, i) for i in range(namespaces)]
    rts = {"ConfigMap": cluster.registry.by_key[("", "configmaps")],
           "Secret": cluster.registry.by_key[("", "secrets")],
           "Service": cluster.registry.by_key[("", "services")],
           "Deployment": cluster.registry.by_key[("apps", "deployments")]}
    t0 = time.time()
    ts = now_rfc3339()
    rng = random.Random("%s/mixed/%d" % (prefix, seed))
    total = 0
    counts = dict.fromkeys(MIXED_KINDS, 0)
    with cluster.lock:
        _namespaces(cluster, ns_names)
        for i in range(count):
            kind = MIXED_KINDS[i % 4]
            ns = ns_names[(i // 4) % namespaces]
            app = "%s-%d" % (rng.choice(FIELD_WORDS), i // 4)
            name = "%s-%s-%06d" % (prefix, kind.lower(), i)
            want = rng.randint(min_size, max_size)
            labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": prefix,
                      "app.kubernetes.io/managed-by": "kahu-test-generate"}
            md = {"name": name, "namespace": ns, "uid": new_uid(), "creationTimestamp": ts, "labels": labels,
                  "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
                                     "apiVersion": "apps/v1" if kind == "Deployment" else "v1", "time": ts,
                                     "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {
                                         "f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-"
                                                                    "configuration": {}},
                                         "f:labels": {".": {}, **{"f:" + k: {} for k in labels}}}}}]}
            if kind == "ConfigMap":
                obj = {"metadata": md, "data": {}}

                def fill(o, n, rng=rng):
                    o["data"]["application.properties"] = "\n".join(
                        "%s.%s=%s" % (rng.choice(FIELD_WORDS), rng.choice(FIELD_WORDS), rng.choice(WORDS))
                        for _ in range(n // 20 + 1))[:max(1, n - 30)]
            elif kind == "Secret":
                obj = {"metadata": md, "data": {}, "type": "Opaque"}

                def fill(o, n, rng=rng):
                    raw = rng.randbytes(max(1, (n - 20) * 3 // 4))
                    o["data"]["tls.key"] = base64.b64encode(raw).decode()
            elif kind == "Service":
                obj = {"metadata": md, "spec": {
                    "type": "ClusterIP", "selector": {"app.kubernetes.io/name": app},
                    "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                              {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090}],
                    "clusterIP": cluster._alloc_ip(), "sessionAffinity": "None", "ipFamilies": ["IPv4"],
                    "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
                    "status": {"loadBalancer": {}}}
                obj["spec"]["clusterIPs"] = [obj["spec"]["clusterIP"]]
            else:
                obj = {"metadata": dict(md, generation=1), "spec": {
                    "replicas": 2, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                    "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                            "maxUnavailable": "25%"}},
                    "template": {"metadata": {"labels": {"app.kubernetes.io/name": app}}, "spec": {
                        "containers": [{"name": "app", "image": "registry.example.com/%s:1.%d" % (app, i % 9),
                                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                        "resources": {}, "imagePullPolicy": "IfNotPresent",
                                        "terminationMessagePath": "/dev/termination-log",
                                        "terminationMessagePolicy": "File"}],
                        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "securityContext": {},
                        "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": 30}}},
                    "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 2,
                               "availableReplicas": 2, "updatedReplicas": 2}}
            if kind in ("Service", "Deployment"):
                def fill(o, n, kind=kind, rng=rng):
                    applied = {"apiVersion": "apps/v1" if kind == "Deployment" else "v1", "kind": kind,
                               "metadata": {"annotations": {}, "labels": o["metadata"]["labels"],
                                            "name": o["metadata"]["name"],
                                            "namespace": o["metadata"]["namespace"]},
                               "spec": o["spec"]}
                    text = json.dumps(applied, separators=(",", ":"))
                    # the annotation's JSON text is escaped once more inside the object
                    room = n - 70 - len(json.dumps(text)) + 2
                    if room > 0:
                        applied["metadata"]["annotations"]["description"] = " ".join(
                            rng.choices(WORDS, k=room // 5 + 1))[:room]
                        text = json.dumps(applied, separators=(",", ":"))
                    o["metadata"]["annotations"] = {
                        "kubectl.kubernetes.io/last-applied-configuration": text + "\n"}
            else:
                md["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}
            _pad(obj, want, fill)
            total += _put(cluster, rts[kind], obj)
            counts[kind] += 1
        for rt in rts.values():
            cluster.store.bucket(rt.storage_key).ensure_sorted()
    return {"created": count, "namespaces": namespaces, "kinds": counts, "bytes": total,
            "seconds": round(time.time() - t0, 3)}

"""Seeding from manifests (YAML/JSON, multi-document, List kinds) and synthetic objects."""
import json
import os
import sys
import time

from .errors import ApiError
from .cluster import new_uid, now_rfc3339, ordered

try:
    import yaml
    _Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(_Base):
        """Safe loader that keeps timestamps as strings (as Kubernetes' YAML decoding does)."""

    _Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in _Base.yaml_implicit_resolvers.copy().items()}
    HAVE_YAML = True
except ImportError:  # pragma: no cover
    yaml = None
    HAVE_YAML = False


def yaml_load_all(text):
    if not HAVE_YAML:
        raise ValueError("PyYAML is not installed (Debian: python3-yaml); only JSON manifests can be loaded")
    return list(yaml.load_all(text, Loader=_Loader))


def parse_manifests(text, name="<body>"):
    """Documents of a YAML/JSON (multi-document) text; List kinds expanded; nulls dropped."""
    s = text.lstrip()
    docs = None
    if s.startswith("{") or s.startswith("["):
        try:
            d = json.loads(s)
            docs = d if isinstance(d, list) else [d]
        except ValueError:
            docs = None
    if docs is None:
        docs = yaml_load_all(text)
    out = []

    def add(d):
        if d is None:
            return
        if not isinstance(d, dict):
            raise ValueError("%s: a document is not an object" % name)
        k = d.get("kind") or ""
        if k.endswith("List") and isinstance(d.get("items"), list):
            for it in d["items"]:
                add(it)
            return
        out.append(d)
    for d in docs:
        add(d)
    return out


def manifest_files(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, fs in os.walk(p):
                dirs.sort()
                for f in sorted(fs):
                    if f.endswith((".yaml", ".yml", ".json")):
                        files.append(os.path.join(root, f))
        else:
            files.append(p)
    return files


def _prio(d):
    k = d.get("kind")
    if k == "CustomResourceDefinition":
        return 0
    if k == "Namespace":
        return 1
    return 2


def seed(cluster, docs, unchecked_names=False):
    """Create (or replace) every document.  Returns a report dict.

    unchecked_names: accept any non-empty name and namespace (".." or "a/b" too), as a
    hostile or broken API server would serve them; for tests of clients only."""
    docs = sorted(docs, key=_prio)  # stable: CRDs, namespaces, then the rest in file order
    q = {"fieldManager": "kahu-test-seed"}
    cluster._local.immediate = True  # CRDs of a seed are established at once, whatever --crd-delay says
    cluster._local.unchecked_names = unchecked_names
    try:
        return _seed(cluster, docs, q)
    finally:
        cluster._local.immediate = False
        cluster._local.unchecked_names = False


def _seed(cluster, docs, q):
    created = updated = 0
    errs = []
    for d in docs:
        av, kind = d.get("apiVersion", ""), d.get("kind", "")
        md = d.get("metadata") or {}
        name = md.get("name", "")
        rt = cluster.registry.by_api_version_kind(av, kind)
        if rt is None:
            errs.append("%s %s %s: no resource type for this kind" % (av, kind, name))
            continue
        version = av.rpartition("/")[2]
        ns = (md.get("namespace") or "default") if rt.namespaced else ""
        try:
            with cluster.lock:
                if ns and not cluster.ns_exists(ns):
                    cluster.create(cluster.registry.by_key[("", "namespaces")], "v1", "",
                                   {"metadata": {"name": ns}}, q)
                cur = cluster.store.get(rt.storage_key, ns, name) if name else None
                if cur is None:
                    cluster.create(rt, version, ns, json.loads(json.dumps(d)), q)
                    created += 1
                else:
                    body = json.loads(json.dumps(d))
                    body.setdefault("metadata", {}).pop("resourceVersion", None)
                    cluster.update(rt, version, ns, name, body, q)
                    updated += 1
        except ApiError as ex:
            errs.append("%s %s %s/%s: %s" % (av, kind, ns, name, ex.message))
    return {"created": created, "updated": updated, "errors": errs}


def seed_paths(cluster, paths):
    docs = []
    for f in manifest_files(paths):
        with open(f, encoding="utf-8") as fh:
            docs.extend(parse_manifests(fh.read(), f))
    return seed(cluster, docs)


def synthetic(cluster, count, namespaces=1, kind="ConfigMap", size=64, prefix="synthetic"):
    """Bulk-create `count` objects spread over `namespaces` namespaces named PREFIX-N."""
    if kind not in ("ConfigMap", "Secret"):
        raise ApiError(400, "BadRequest", "synthetic objects: kind must be ConfigMap or Secret")
    plural = "configmaps" if kind == "ConfigMap" else "secrets"
    rt = cluster.registry.by_key[("", plural)]
    namespaces = max(1, int(namespaces))
    count = int(count)
    size = max(0, int(size))
    ns_names = ["%s-%d" % (prefix, i) for i in range(namespaces)]
    q = {"fieldManager": "kahu-test-synthetic"}
    nsrt = cluster.registry.by_key[("", "namespaces")]
    t0 = time.time()
    ts = now_rfc3339()
    import base64
    payload = ("x" * size) if kind == "ConfigMap" else base64.b64encode(b"x" * size).decode()
    with cluster.lock:
        for ns in ns_names:
            if not cluster.ns_exists(ns):
                cluster.create(nsrt, "v1", "", {"metadata": {"name": ns}}, q)
        # continue numbering after existing synthetic objects
        start = cluster.synthetic_seq
        mf = [{"manager": "kahu-test-synthetic", "operation": "Update", "apiVersion": "v1", "time": ts,
               "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:payload": {}},
                                                      "f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:shard": {}}}}}]
        for i in range(start, start + count):
            ns = ns_names[i % namespaces]
            obj = {"metadata": {"name": "%s-%07d" % (prefix, i), "namespace": ns, "uid": new_uid(),
                                "resourceVersion": "", "creationTimestamp": ts,
                                "labels": {"app": "synthetic", "shard": str(i % 10)}, "managedFields": mf},
                   "data": {"payload": payload}}
            if kind == "Secret":
                obj["type"] = "Opaque"
            with cluster.store.lock:
                obj["metadata"]["resourceVersion"] = str(cluster.store.next_rv())
                e = cluster.store.put(rt.storage_key, obj, bulk=True)
                cluster.store.log_event(rt.storage_key, "ADDED", ns, e, None)
            e.bytes()  # encode now: lists stay cheap
        cluster.synthetic_seq = start + count
        cluster.store.bucket(rt.storage_key).ensure_sorted()
    return {"created": count, "namespaces": namespaces, "kind": kind, "seconds": round(time.time() - t0, 3)}

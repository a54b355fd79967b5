"""Resource registry (built-ins + established CRDs) and the discovery documents."""
import hashlib
import json
import re
import threading

from . import catalog
from .catalog import ResourceType

_VER = re.compile(r'^v(\d+)(?:(alpha|beta)(\d+))?$')


def version_priority(v):
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first, others last."""
    m = _VER.match(v)
    if not m:
        return (3, 0, 0, v)
    major, kind, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[kind]
    return (rank, -major, -minor, v)


class Registry:
    def __init__(self, server_address="127.0.0.1:0"):
        self.lock = threading.RLock()
        self.server_address = server_address
        self.builtin = {}       # group -> {"versions": [...], "types": {v: [rt]}}
        self.crd_types = {}     # crd name -> ResourceType
        self.by_key = {}        # (group, plural) -> rt
        self.by_gvr = {}        # (group, version, plural) -> rt
        self.by_gvk = {}        # (group, version, kind) -> rt
        self.by_gk = {}         # (group, kind) -> rt
        self.gen = 0
        self._cache = {}
        for group, versions, types in catalog.builtin_types():
            self.builtin[group] = {"versions": versions, "types": types}
            for v, lst in types.items():
                for rt in lst:
                    self._index((self.by_key, self.by_gvr, self.by_gvk, self.by_gk), rt, v)

    @staticmethod
    def _index(tables, rt, v):
        by_key, by_gvr, by_gvk, by_gk = tables
        by_key.setdefault(rt.key, rt)
        by_gvr[(rt.group, v, rt.plural)] = rt
        by_gvk.setdefault((rt.group, v, rt.kind), rt)
        by_gk.setdefault((rt.group, rt.kind), rt)

    def _reindex(self):
        # Build new tables, then swap them in: request threads read the old ones
        # without the lock meanwhile, and must never see them half filled.
        tables = ({}, {}, {}, {})
        for g in self.builtin.values():
            for v, lst in g["types"].items():
                for rt in lst:
                    self._index(tables, rt, v)
        for rt in list(self.crd_types.values()):
            for v in rt.versions:
                self._index(tables, rt, v)
        self.by_key, self.by_gvr, self.by_gvk, self.by_gk = tables
        self.gen += 1
        self._cache = {}

    # --- lookups -------------------------------------------------------------
    def lookup(self, group, version, plural):
        return self.by_gvr.get((group, version, plural))

    def by_api_version_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        rt = self.by_gvk.get((group, version, kind))
        return rt

    def group_known(self, group, version=None):
        if group in self.builtin:
            return version is None or version in self.builtin[group]["versions"]
        for rt in self.crd_types.values():
            if rt.group == group and (version is None or version in rt.versions):
                return True
        return False

    # --- CRDs ------------------------------------------------------------------
    def add_crd(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        served = [v["name"] for v in spec.get("versions", []) if v.get("served", True)]
        served.sort(key=version_priority)
        storage = next((v["name"] for v in spec.get("versions", []) if v.get("storage")), served[0] if served else "v1")
        subs = []
        status_sub = any((v.get("subresources") or {}).get("status") is not None for v in spec.get("versions", []))
        scale_sub = any((v.get("subresources") or {}).get("scale") is not None for v in spec.get("versions", []))
        if status_sub:
            subs.append("status")
        if scale_sub:
            subs.append("scale")
        kind = names.get("kind")
        rt = ResourceType(spec.get("group"), names.get("plural"), names.get("singular") or kind.lower(),
                          spec.get("scope", "Namespaced") == "Namespaced", kind, catalog.ALL,
                          names.get("shortNames") or [], names.get("categories") or [], subs,
                          versions=served or [storage], crd=crd["metadata"]["name"],
                          list_kind=names.get("listKind") or kind + "List")
        rt.storage_version = storage
        rt.crd_status_sub = status_sub
        rt.printer_columns = {v["name"]: v.get("additionalPrinterColumns") or [] for v in spec.get("versions", [])}
        with self.lock:
            self.crd_types[rt.crd] = rt
            self._reindex()
        return rt

    def remove_crd(self, name):
        with self.lock:
            rt = self.crd_types.pop(name, None)
            if rt is not None:
                self._reindex()
            return rt

    # --- discovery -------------------------------------------------------------
    def _groups(self):
        """[(group, [versions preferred first], {v: [rt]}, broken)] in /apis order."""
        out = []
        for g in [""] + catalog.GROUP_ORDER:
            b = self.builtin[g]
            out.append((g, b["versions"], b["types"], False))
        crd_groups = {}
        for rt in self.crd_types.values():
            crd_groups.setdefault(rt.group, []).append(rt)
        for g in sorted(crd_groups):
            if g in self.builtin:
                continue
            vs = sorted({v for rt in crd_groups[g] for v in rt.versions}, key=version_priority)
            types = {v: sorted([rt for rt in crd_groups[g] if v in rt.versions], key=lambda r: r.plural) for v in vs}
            out.append((g, vs, types, False))
        for g, v in catalog.BROKEN_AGGREGATED:
            out.append((g, [v], {v: []}, True))
        return out

    def broken(self, group, version=None):
        return any(g == group and (version is None or v == version) for g, v in catalog.BROKEN_AGGREGATED)

    def _cached(self, key, fn):
        with self.lock:
            c = self._cache.get(key)
            if c is None:
                body = json.dumps(fn(), separators=(",", ":")).encode()
                c = self._cache[key] = (body, '"%s"' % hashlib.sha256(body).hexdigest()[:32].upper())
            return c

    @staticmethod
    def _resource_legacy(rt, version):
        r = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
             "verbs": rt.verbs}
        if rt.short:
            r["shortNames"] = rt.short
        if rt.cats:
            r["categories"] = rt.cats
        r["storageVersionHash"] = hashlib.sha256(("%s/%s/%s" % (rt.group, rt.storage_version, rt.kind)).encode()).hexdigest()[:11]
        out = [r]
        for sub in rt.subs:
            verbs, (g, v, k) = rt.sub_kind(sub, version)
            s = {"name": "%s/%s" % (rt.plural, sub), "singularName": "", "namespaced": rt.namespaced}
            if (g, v) != (rt.group, version):
                s["group"], s["version"] = g, v
            s["kind"] = k
            s["verbs"] = verbs
            out.append(s)
        return out

    def api_versions(self):
        return self._cached("api", lambda: {"kind": "APIVersions", "versions": ["v1"],
                                            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                            "serverAddress": self.server_address}]})

    def _gv(self, g, v):
        return {"groupVersion": "%s/%s" % (g, v), "version": v}

    def api_group(self, g, vs):
        return {"name": g, "versions": [self._gv(g, v) for v in vs], "preferredVersion": self._gv(g, vs[0])}

    def api_group_list(self):
        def mk():
            return {"kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [self.api_group(g, vs) for g, vs, _, _ in self._groups() if g]}
        return self._cached("apis", mk)

    def group_doc(self, group):
        for g, vs, _, _ in self._groups():
            if g == group and g:
                return self._cached("g:" + g, lambda: dict({"kind": "APIGroup", "apiVersion": "v1"},
                                                              **self.api_group(g, vs)))
        return None

    def resource_list(self, group, version):
        for g, vs, types, broken in self._groups():
            if g == group and version in vs and not broken:
                def mk():
                    res = []
                    for rt in sorted(types[version], key=lambda r: r.plural):
                        res.extend(self._resource_legacy(rt, version))
                    return {"kind": "APIResourceList", "apiVersion": "v1",
                            "groupVersion": "%s/%s" % (g, version) if g else version, "resources": res}
                return self._cached("rl:%s/%s" % (g, version), mk)
        return None

    @staticmethod
    def _resource_v2(rt, version):
        r = {"resource": rt.plural, "responseKind": {"group": rt.group, "version": version, "kind": rt.kind},
             "scope": "Namespaced" if rt.namespaced else "Cluster", "singularResource": rt.singular}
        if rt.short:
            r["shortNames"] = rt.short
        if rt.cats:
            r["categories"] = rt.cats
        r["verbs"] = rt.verbs
        subs = []
        for sub in rt.subs:
            verbs, (g, v, k) = rt.sub_kind(sub, version)
            subs.append({"subresource": sub, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": verbs})
        if subs:
            r["subresources"] = subs
        return r

    def aggregated(self, core, api_version):
        def mk():
            items = []
            for g, vs, types, broken in self._groups():
                if bool(core) != (g == ""):
                    continue
                versions = []
                for v in vs:
                    if broken:
                        versions.append({"version": v, "freshness": "Stale"})
                        continue
                    versions.append({"version": v, "resources": [self._resource_v2(rt, v) for rt in
                                                                  sorted(types[v], key=lambda r: r.plural)],
                                     "freshness": "Current"})
                md = {"creationTimestamp": None}
                if g:
                    md = {"name": g, "creationTimestamp": None}
                items.append({"metadata": md, "versions": versions})
            return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}
        return self._cached("agg:%s:%s" % (core, api_version), mk)

    # --- OpenAPI v3 (just enough for kubectl's fieldValidation check) ---------------
    def openapi_v3_root(self):
        def mk():
            paths = {}
            for g, vs, types, broken in self._groups():
                if broken:
                    continue
                for v in vs:
                    p = "api/%s" % v if not g else "apis/%s/%s" % (g, v)
                    h = hashlib.sha256(("%s/%s/%d" % (g, v, self.gen)).encode()).hexdigest()[:32].upper()
                    paths[p] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (p, h)}
            return {"paths": paths}
        return self._cached("oa3", mk)

    def openapi_v3_gv(self, group, version, git_version):
        for g, vs, types, broken in self._groups():
            if g != group or version not in vs or broken:
                continue

            def mk():
                params = [{"name": n, "in": "query", "description": n, "schema": {"type": "string", "uniqueItems": True}}
                          for n in ("dryRun", "fieldManager", "fieldValidation")]
                paths = {}
                base = "/api/%s" % version if not g else "/apis/%s/%s" % (g, version)
                for rt in types[version]:
                    gvk = {"group": g, "version": version, "kind": rt.kind}
                    coll = base + ("/namespaces/{namespace}/" if rt.namespaced else "/") + rt.plural
                    ops = {}
                    if "create" in rt.verbs:
                        ops.setdefault(coll, {})["post"] = {"x-kubernetes-action": "post",
                                                            "x-kubernetes-group-version-kind": gvk,
                                                            "parameters": params}
                    if "patch" in rt.verbs:
                        ops.setdefault(coll + "/{name}", {})["patch"] = {
                            "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
                            "parameters": params + [{"name": "force", "in": "query", "schema": {"type": "boolean"}}]}
                        ops[coll + "/{name}"]["put"] = {"x-kubernetes-action": "put",
                                                        "x-kubernetes-group-version-kind": gvk, "parameters": params}
                    paths.update(ops)
                return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": git_version},
                        "paths": paths, "components": {"schemas": {}}}
            return self._cached("oa3:%s/%s" % (g, version), mk)
        return None

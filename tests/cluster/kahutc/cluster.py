"""The cluster: object semantics on top of the store and the registry."""
import base64
import binascii
import json
import os
import random
import re
import threading
import time
import uuid

from . import errors, podsecurity, jobs
from .kubelet import Kubelet
from .volumes import Provisioner, Snapshotter, STORAGE_CLASSES, SNAPSHOT_CLASSES, SNAP_GROUP
from .errors import ApiError
from .patch import merge_patch, strategic_merge_patch, json_patch, PatchError
from .registry import Registry
from .selection import parse_label_selector, parse_field_selector, match_labels, match_fields, SelectorError
from .store import Entry, Store, encode, okey

EXPIRED_MSG = ("The provided continue parameter is too old to display a consistent list result. You can start "
               "a new list without the continue parameter, or use the continue token in this response to "
               "retrieve the remainder of the results. Continuing with the provided token results in an "
               "inconsistent list - objects that were created, modified, or deleted between the time the first "
               "chunk was returned and now may show up in the list.")

DNS1123_LABEL = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')
DNS1123_SUB = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"
SYSTEM_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
               "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")
DEFAULT_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
NODE_NAME = "kahu-test-node"


def now_rfc3339(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


def b64u(d):
    return base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).rstrip(b"=").decode()


def unb64u(s):
    s += "=" * (-len(s) % 4)
    return json.loads(base64.urlsafe_b64decode(s.encode()))


META_ORDER = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
              "finalizers", "managedFields")


def new_uid():
    """A random (version 4) UUID without a getrandom() system call per object, which
    showed in profiles of bulk creates; test uids need not be unpredictable."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def jcopy(v):
    """A deep copy of JSON data (dicts, lists, strings, numbers): several times faster
    than copy.deepcopy, which requests pay for on every write."""
    if isinstance(v, dict):
        return {k: jcopy(x) if isinstance(x, (dict, list)) else x for k, x in v.items()}
    if isinstance(v, list):
        return [jcopy(x) if isinstance(x, (dict, list)) else x for x in v]
    return v


def order_meta(md):
    out = {k: md[k] for k in META_ORDER if k in md}
    for k, v in md.items():
        if k not in out:
            out[k] = v
    return out


def ordered(obj):
    """metadata first, spec, then the rest, status last (the order a real server emits)."""
    if "metadata" in obj:
        obj["metadata"] = order_meta(obj["metadata"])
    out = {}
    for k in ("metadata", "spec"):
        if k in obj:
            out[k] = obj[k]
    for k, v in obj.items():
        if k not in out and k != "status":
            out[k] = v
    if "status" in obj:
        out["status"] = obj["status"]
    return out


def fieldset(v, top=False):
    if isinstance(v, dict):
        out = {} if top else {".": {}}
        for k, sub in v.items():
            if top and k in ("kind", "apiVersion", "status"):
                continue
            if k == "metadata" and top:
                md = {kk: vv for kk, vv in sub.items() if kk not in SYSTEM_META + ("name", "namespace", "generateName")}
                if md:
                    out["f:metadata"] = fieldset(md, True)
                continue
            out["f:" + k] = fieldset(sub) if isinstance(sub, dict) else {}
        return out
    return {}


class Cluster:
    def __init__(self, opts, ca_pem=""):
        self.opts = opts
        self.store = Store()
        self.registry = Registry()
        self.ca_pem = ca_pem
        self.crd_delay = float(getattr(opts, "crd_delay", 0) or 0)
        self.continue_ttl = float(getattr(opts, "continue_ttl", 0) or 0)
        self.next_ip = 2          # 10.96.0.1 is the kubernetes Service
        self.next_pod_ip = 2
        self.synthetic_seq = 0
        self.used_node_ports = set()
        self.provisioner = Provisioner(self)
        self.snapshotter = Snapshotter(self, self.provisioner)
        self.pod_start_delay = float(getattr(opts, "pod_start_delay", 0) or 0)
        self.snapshot_delay = float(getattr(opts, "snapshot_delay", 0) or 0)
        self.nodes = max(1, int(getattr(opts, "nodes", 1) or 1))
        self._local = threading.local()   # .immediate: establish CRDs now (seeding);
        #                                   .unchecked_names: accept any name (hostile seeds)
        self.lock = self.store.lock
        self.kubelet = Kubelet(self)
        self.jobs = jobs.JobController(self)
        self.kubelet.on_change.append(self.jobs.kick)

    # ---------------------------------------------------------------- helpers
    def rt_for(self, group, version, plural):
        rt = self.registry.lookup(group, version, plural)
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource",
                           {"group": group, "kind": plural} if group else {"kind": plural})
        return rt

    def with_type(self, rt, version, raw):
        """Prefix stored JSON bytes with kind/apiVersion for the requested version."""
        head = ('{"kind":%s,"apiVersion":%s' % (json.dumps(rt.kind), json.dumps(rt.api_version(version)))).encode()
        if raw == b"{}":
            return head + b"}"
        return head + b"," + raw[1:]

    def typed(self, rt, obj, version=None):
        out = {"kind": rt.kind, "apiVersion": rt.api_version(version)}
        out.update(obj)
        return out

    def node_names(self):
        rt = self.registry.by_key[("", "nodes")]
        with self.lock:
            names = sorted(e.obj["metadata"]["name"] for _, _, _, e in self.store.scan(rt.storage_key, None))
        return names or [NODE_NAME]

    def ns_exists(self, ns):
        return self.store.get(("", "namespaces"), "", ns) is not None

    # ---------------------------------------------------------------- reads
    def get(self, rt, version, ns, name):
        e = self.store.get(rt.storage_key, ns if rt.namespaced else "", name)
        if e is None:
            raise errors.not_found(rt.group, rt.plural, name)
        return e

    def list(self, rt, version, ns, q, table=None, expire_hook=None):
        """q: dict of query parameters (single values).  Returns response bytes."""
        try:
            lsel = parse_label_selector(q.get("labelSelector"))
            fsel = parse_field_selector(q.get("fieldSelector"), rt.key)
        except SelectorError as ex:
            raise errors.bad_request(str(ex))
        limit = q.get("limit")
        try:
            limit = int(limit) if limit not in (None, "") else 0
        except ValueError:
            raise errors.bad_request("invalid limit %r" % limit)
        if limit < 0:
            limit = 0
        cont = q.get("continue") or ""
        self._check_list_rv(q, cont)
        page = 1
        t0 = time.time()
        start = None
        with self.lock:
            list_rv = self.store.rv
            if cont:
                try:
                    tok = unb64u(cont)
                    if tok.get("v") != "meta.k8s.io/v1":
                        raise ValueError("version")
                    start = tok["start"]
                    trv = int(tok["rv"])
                    page = int(tok.get("p", 1)) + 1
                    t0 = float(tok.get("t", t0))
                except Exception:
                    raise errors.bad_request("continue key is not valid: incorrect encoded start "
                                             "resourceVersion (version meta.k8s.io/v1)")
                inconsistent = trv < 0
                if not inconsistent:
                    expired = self.continue_ttl > 0 and time.time() - t0 > self.continue_ttl
                    if expire_hook is not None and expire_hook(rt, page):
                        expired = True
                    if expired:
                        newtok = b64u({"v": "meta.k8s.io/v1", "rv": -1, "start": start, "p": page - 1, "t": t0})
                        raise ApiError(410, "Expired", EXPIRED_MSG, meta={"continue": newtok})
                    list_rv = trv
            items = []
            nxt = None
            remaining = None
            ns_arg = ns if rt.namespaced else None
            for i, hi, k, e in self.store.scan(rt.storage_key, ns_arg, start):
                if limit and len(items) >= limit:
                    nxt = k
                    if not lsel and not fsel:
                        remaining = hi - i
                    break
                if lsel and not match_labels(lsel, e.obj["metadata"].get("labels")):
                    continue
                if fsel and not match_fields(fsel, e.obj):
                    continue
                items.append(e)
        meta = {"resourceVersion": str(list_rv)}
        if nxt is not None:
            meta["continue"] = b64u({"v": "meta.k8s.io/v1", "rv": list_rv, "start": nxt, "p": page, "t": t0})
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        if table is not None:
            return table(rt, version, [e.obj for e in items], meta)
        head = ('{"kind":%s,"apiVersion":%s,"metadata":%s,"items":[' % (
            json.dumps(rt.list_kind), json.dumps(rt.api_version(version)),
            json.dumps(meta, separators=(",", ":")))).encode()
        if rt.crd:  # custom resources carry kind/apiVersion in list items
            body = b",".join(self.with_type(rt, version, e.bytes()) for e in items)
        else:
            body = b",".join(e.bytes() for e in items)
        return head + body + b"]}"

    def _check_list_rv(self, q, cont):
        """resourceVersion and resourceVersionMatch on a LIST, as kube-apiserver checks
        them.  "0", "" and NotOlderThan are served from the current state (a watch cache
        is never older than the store here); Exact of a resourceVersion the watch
        history no longer covers is 410 (etcd compacted it); Exact of one it covers is
        served from the current state too (the history keeps changes, not snapshots)."""
        rv = q.get("resourceVersion") or ""
        rvm = q.get("resourceVersionMatch") or ""
        if rvm and not rv:
            raise ApiError(422, "Invalid", "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden "
                                           "unless resourceVersion is provided")
        if rvm not in ("", "Exact", "NotOlderThan"):
            raise ApiError(422, "Invalid", 'resourceVersionMatch: Unsupported value: "%s": supported values: '
                                           '"Exact", "NotOlderThan"' % rvm)
        if rvm == "Exact" and rv == "0":
            raise ApiError(422, "Invalid", 'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is '
                                           'forbidden for resourceVersion "0"')
        if rv and cont:
            raise errors.bad_request("specifying resource version is not allowed when using continue")
        if not rv or rv == "0":
            return
        try:
            n = int(rv)
            if n < 0:
                raise ValueError
        except ValueError:
            raise errors.bad_request('invalid resource version: strconv.ParseUint: parsing "%s": invalid syntax'
                                     % rv)
        if n > self.store.rv:
            raise ApiError(504, "Timeout", "Too large resource version: %d, current: %d" % (n, self.store.rv),
                           {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                            "retryAfterSeconds": 1})
        if rvm == "Exact" and n < self.store.floor:
            raise ApiError(410, "Expired", "The resourceVersion for the provided list is too old.")

    # ---------------------------------------------------------------- validation
    def _check_body(self, rt, version, ns, body, name=None):
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was in an unknown format - accepted media types "
                                     "include: application/json, application/yaml")
        kind = body.get("kind")
        av = body.get("apiVersion")
        if kind and kind != rt.kind:
            raise errors.bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                                     % (av, rt.api_version(version)) if av != rt.api_version(version) else
                                     "Object 'Kind' is %s, expected %s" % (kind, rt.kind))
        if av and av != rt.api_version(version):
            raise errors.bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                                     % (av, rt.api_version(version)))
        md = body.get("metadata")
        if md is None:
            md = body["metadata"] = {}
        if not isinstance(md, dict):
            raise errors.bad_request("metadata must be an object")
        if rt.namespaced:
            bns = md.get("namespace")
            if bns and ns and bns != ns:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                         "on the request")
        elif md.get("namespace"):
            md.pop("namespace")
        for f in ("labels", "annotations"):
            v = md.get(f)
            if v is not None and (not isinstance(v, dict) or any(not isinstance(x, str) for x in v.values())):
                raise errors.bad_request("metadata.%s: expected map of strings" % f)

    def _validate_name(self, rt, name):
        if getattr(self._local, "unchecked_names", False):  # POST /_admin/seed?unchecked-names=1
            return
        if rt.key in (("", "namespaces"), ("", "services")):
            ok, what = DNS1123_LABEL.match(name) and len(name) <= 63, "a lowercase RFC 1123 label"
        elif rt.group == "rbac.authorization.k8s.io":
            ok, what = name not in (".", "..") and "/" not in name and "%" not in name, "a path segment name"
        else:
            ok, what = DNS1123_SUB.match(name) and len(name) <= 253, "a lowercase RFC 1123 subdomain"
        if not ok:
            raise errors.invalid(rt.kind, rt.group, name, "metadata.name", name,
                                 "%s must consist of lower case alphanumeric characters, '-' or '.', and must "
                                 "start and end with an alphanumeric character" % what)

    # ---------------------------------------------------------------- writes
    def _manager(self, q, ua, default_op):
        m = q.get("fieldManager")
        if not m:
            m = (ua or "unknown").split("/")[0] or "unknown"
        return m

    def _set_managed(self, rt, version, obj, manager, op, old=None):
        md = obj["metadata"]
        entries = [e for e in (old or []) if not (e.get("manager") == manager and e.get("operation") == op)]
        entries.append({"manager": manager, "operation": op, "apiVersion": rt.api_version(version),
                        "time": now_rfc3339(), "fieldsType": "FieldsV1", "fieldsV1": fieldset(obj, True)})
        md["managedFields"] = entries

    def create(self, rt, version, ns, body, q, ua="", dry=False, sub=None, op="Update"):
        if rt.review:
            raise errors.method_not_allowed()
        self._check_body(rt, version, ns, body)
        obj = jcopy(body)
        obj.pop("kind", None)
        obj.pop("apiVersion", None)
        md = obj["metadata"]
        for k in SYSTEM_META:
            md.pop(k, None)
        if rt.namespaced:
            md["namespace"] = ns or md.get("namespace") or "default"
            ns = md["namespace"]
        name = md.get("name")
        if not name and not (getattr(self._local, "unchecked_names", False) and isinstance(name, str)):
            gn = md.get("generateName")
            if not gn:
                raise errors.invalid(rt.kind, rt.group, "", "metadata.name", None,
                                     "name or generateName is required", "FieldValueRequired")
            name = gn + "".join(random.choice(GEN_CHARS) for _ in range(5))
            md["name"] = name
        self._validate_name(rt, name)
        with self.lock:
            if rt.namespaced and not self.ns_exists(ns):
                raise errors.not_found("", "namespaces", ns)
            if self.store.get(rt.storage_key, ns if rt.namespaced else "", name) is not None:
                raise errors.already_exists(rt.group, rt.plural, name)
            md["uid"] = new_uid()
            md["creationTimestamp"] = now_rfc3339()
            if rt.generation:
                md["generation"] = 1
            if rt.has_status() and rt.key not in KEEP_STATUS_ON_CREATE:
                obj.pop("status", None)
            self._admit(rt, obj, None, dry)
            self._set_managed(rt, version, obj, self._manager(q, ua, op), op)
            obj = ordered(obj)
            if dry:
                return self.typed(rt, obj, version), 201
            self._store(rt, obj)
            self._after_create(rt, obj)
            return self.typed(rt, obj, version), 201

    def _store(self, rt, obj, bulk=False):
        with self.store.lock:
            obj["metadata"]["resourceVersion"] = str(self.store.next_rv())
            obj["metadata"] = order_meta(obj["metadata"])
            md = obj["metadata"]
            ns = md.get("namespace", "")
            prev = self.store.get(rt.storage_key, ns, md["name"])
            e = self.store.put(rt.storage_key, obj, bulk=bulk)
            self.store.log_event(rt.storage_key, "MODIFIED" if prev is not None else "ADDED", ns, e,
                                 prev.obj if prev is not None else None)
            return e

    def update(self, rt, version, ns, name, body, q, ua="", dry=False, sub=None):
        self._check_body(rt, version, ns, body)
        with self.lock:
            e = self.get(rt, version, ns, name)
            old = e.obj
            bmd = body["metadata"]
            if bmd.get("name") and bmd["name"] != name:
                raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                         % (bmd["name"], name))
            rv = bmd.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.group, rt.plural, name)
            new = jcopy(body)
            new.pop("kind", None)
            new.pop("apiVersion", None)
            return self._replace(rt, version, old, new, q, ua, dry, sub, "Update")

    def _replace(self, rt, version, old, new, q, ua, dry, sub, op):
        md = new.setdefault("metadata", {})
        omd = old["metadata"]
        for k in ("uid", "creationTimestamp", "name", "namespace", "generation", "deletionTimestamp",
                  "deletionGracePeriodSeconds"):
            if k in omd:
                md[k] = omd[k]
            else:
                md.pop(k, None)
        if sub == "status":
            # only status changes through the status subresource
            keep = jcopy(old)
            if "status" in new:
                keep["status"] = new["status"]
            else:
                keep.pop("status", None)
            new = keep
            md = new["metadata"]
        elif sub is None and rt.has_status():
            if "status" in old:
                new["status"] = jcopy(old["status"])
            else:
                new.pop("status", None)
        if rt.generation and sub is None:
            strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status")}
            if strip(old) != strip(new):
                md["generation"] = omd.get("generation", 1) + 1
        self._admit(rt, new, old, dry)
        self._set_managed(rt, version, new, self._manager(q, ua, op), op, omd.get("managedFields"))
        new = ordered(new)
        if dry:
            new["metadata"]["resourceVersion"] = omd["resourceVersion"]
            return self.typed(rt, new, version), 200
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            self._really_delete(rt, old)
            return self.typed(rt, new, version), 200
        self._store(rt, new)
        self._after_update(rt, new, old)
        return self.typed(rt, new, version), 200

    def patch(self, rt, version, ns, name, ptype, raw, q, ua="", dry=False, sub=None):
        try:
            if ptype == "application/apply-patch+yaml":
                pbody = load_yaml_or_json(raw)
            else:
                pbody = json.loads(raw.decode("utf-8") or "null")
        except Exception as ex:
            raise errors.bad_request("error decoding patch: %s" % ex)
        with self.lock:
            if ptype == "application/apply-patch+yaml":
                if not q.get("fieldManager"):
                    raise errors.bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                                             "is required for apply patch")
                if not isinstance(pbody, dict):
                    raise errors.bad_request("apply patch must be an object")
                cur = self.store.get(rt.storage_key, ns if rt.namespaced else "", name)
                if cur is None:
                    pbody.setdefault("metadata", {})["name"] = name
                    obj, code = self.create(rt, version, ns, pbody, q, ua, dry, op="Apply")
                    return obj, code
                pbody = {k: v for k, v in pbody.items() if k not in ("kind", "apiVersion")}
                pmd = pbody.get("metadata") or {}
                pbody["metadata"] = {k: v for k, v in pmd.items() if k not in SYSTEM_META}
                new = merge_patch(cur.obj, pbody)
                return self._replace(rt, version, cur.obj, new, q, ua, dry, sub, "Apply")
            e = self.get(rt, version, ns, name)
            old = e.obj
            cur = self.typed(rt, old, version)
            try:
                if ptype == "application/json-patch+json":
                    new = json_patch(cur, pbody)
                elif ptype == "application/merge-patch+json":
                    new = merge_patch(cur, pbody)
                elif ptype == "application/strategic-merge-patch+json":
                    if rt.crd:
                        raise ApiError(415, "UnsupportedMediaType",
                                       "the body of the request was in an unknown format - accepted media types "
                                       "include: application/json-patch+json, application/merge-patch+json, "
                                       "application/apply-patch+yaml")
                    new = strategic_merge_patch(cur, pbody)
                else:
                    raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                   "accepted media types include: application/json-patch+json, "
                                   "application/merge-patch+json, application/apply-patch+yaml")
            except PatchError as ex:
                raise ApiError(422, "Invalid", str(ex))
            if not isinstance(new, dict):
                raise errors.bad_request("patched object is not an object")
            pmd = pbody.get("metadata") if isinstance(pbody, dict) else None
            rv = pmd.get("resourceVersion") if isinstance(pmd, dict) else None
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.group, rt.plural, name)
            if new.get("kind") != rt.kind or new.get("apiVersion") != rt.api_version(version):
                raise errors.bad_request("patch changed kind or apiVersion")
            new.pop("kind", None)
            new.pop("apiVersion", None)
            md = new.get("metadata") or {}
            if md.get("name") != name:
                raise errors.bad_request("metadata.name cannot be changed by a patch")
            return self._replace(rt, version, old, new, q, ua, dry, sub, "Update")

    def delete(self, rt, version, ns, name, q, dry=False):
        with self.lock:
            self._local.delete_q = q      # propagationPolicy, for _after_delete
            e = self.get(rt, version, ns, name)
            obj = e.obj
            if dry:
                return self.typed(rt, obj, version), 200
            if rt.key == ("", "namespaces"):
                gone = jcopy(obj)
                gone["metadata"]["deletionTimestamp"] = now_rfc3339()
                gone.setdefault("status", {})["phase"] = "Terminating"
                self._delete_namespace(name)
                return self.typed(rt, ordered(gone), version), 200
            if obj["metadata"].get("finalizers"):
                if not obj["metadata"].get("deletionTimestamp"):
                    new = jcopy(obj)
                    new["metadata"]["deletionTimestamp"] = now_rfc3339()
                    new["metadata"]["deletionGracePeriodSeconds"] = 0
                    self._store(rt, new)
                    obj = new
                return self.typed(rt, obj, version), 200
            self._really_delete(rt, obj)
            return self.typed(rt, obj, version), 200

    def delete_collection(self, rt, version, ns, q, dry=False):
        try:
            lsel = parse_label_selector(q.get("labelSelector"))
            fsel = parse_field_selector(q.get("fieldSelector"), rt.key)
        except SelectorError as ex:
            raise errors.bad_request(str(ex))
        with self.lock:
            victims = [e.obj for _, _, _, e in self.store.scan(rt.storage_key, ns if rt.namespaced else None)
                       if match_labels(lsel, e.obj["metadata"].get("labels")) and match_fields(fsel, e.obj)]
            out = []
            for obj in victims:
                md = obj["metadata"]
                o, _ = self.delete(rt, version, md.get("namespace", ""), md["name"], q, dry)
                out.append(o)
        return {"kind": rt.list_kind, "apiVersion": rt.api_version(version),
                "metadata": {"resourceVersion": str(self.store.rv)}, "items": out}

    def _really_delete(self, rt, obj):
        md = obj["metadata"]
        with self.store.lock:
            gone = self.store.delete(rt.storage_key, md.get("namespace", ""), md["name"])
            rv = self.store.next_rv()
            if gone is not None:
                last = dict(gone.obj)
                last["metadata"] = dict(last["metadata"], resourceVersion=str(rv))
                self.store.log_event(rt.storage_key, "DELETED", md.get("namespace", ""), Entry(last), gone.obj)
        self._after_delete(rt, obj)

    def _delete_namespace(self, name):
        for skey, b in list(self.store.buckets.items()):
            rt = self.registry.by_key.get(skey)
            if rt is None or not rt.namespaced:
                continue
            for _, _, _, e in list(self.store.scan(skey, name)):
                self._really_delete(rt, e.obj)
        nsrt = self.registry.by_key[("", "namespaces")]
        e = self.store.get(("", "namespaces"), "", name)
        if e is not None:
            self._really_delete(nsrt, e.obj)

    # ---------------------------------------------------------------- type behaviour
    def _admit(self, rt, obj, old, dry):
        key = rt.key
        md = obj["metadata"]
        if key == ("", "secrets"):
            sd = obj.pop("stringData", None)
            if sd:
                data = obj.setdefault("data", {})
                for k, v in sd.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
            for k, v in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(v or "", validate=True)
                except (binascii.Error, TypeError, ValueError):
                    raise errors.bad_request("Secret in version \"v1\" cannot be handled as a Secret: illegal "
                                             "base64 data at input byte 0")
            obj.setdefault("type", "Opaque")
        elif key == ("", "namespaces"):
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = (old or {}).get("status") or {"phase": "Active"}
        elif key == ("", "services"):
            self._admit_service(obj, old)
        elif key == ("", "persistentvolumeclaims"):
            if old is not None and "status" in old:
                obj["status"] = old["status"]
            else:
                self.provisioner.admit_claim(obj, dry)
        elif key == ("", "pods"):
            self._admit_pod(obj, old)
        elif key == ("batch", "jobs"):
            jobs.admit(obj, old)
        elif key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._validate_crd(obj)
            if old is not None:
                obj["status"] = old.get("status", {})
            else:
                storage = [v.get("name") for v in obj["spec"]["versions"] if v.get("storage")]
                obj["status"] = {"conditions": [], "acceptedNames": {"plural": "", "kind": ""},
                                 "storedVersions": storage}

    def _admit_service(self, obj, old):
        spec = obj.setdefault("spec", {})
        ospec = (old or {}).get("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName":
            if not spec.get("clusterIP"):
                if ospec.get("clusterIP"):
                    spec["clusterIP"] = ospec["clusterIP"]
                else:
                    spec["clusterIP"] = self._alloc_ip()
            if spec["clusterIP"] != "None":
                spec["clusterIPs"] = [spec["clusterIP"]]
            else:
                spec["clusterIPs"] = ["None"]
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("sessionAffinity", "None")
        oports = {(p.get("port"), p.get("protocol", "TCP")): p for p in ospec.get("ports") or []}
        for p in spec.get("ports") or []:
            p.setdefault("protocol", "TCP")
            if spec["type"] != "ExternalName" and "targetPort" not in p:
                p["targetPort"] = p.get("port")
            if spec["type"] in ("NodePort", "LoadBalancer") and not p.get("nodePort"):
                op = oports.get((p.get("port"), p["protocol"]))
                p["nodePort"] = op.get("nodePort") if op and op.get("nodePort") else self._alloc_node_port()
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
        obj["status"] = (old or {}).get("status") or {"loadBalancer": {}}

    def _alloc_ip(self):
        n = self.next_ip
        self.next_ip += 1
        return "10.96.%d.%d" % ((n // 254) % 256, n % 254 + 1) if n >= 254 else "10.96.0.%d" % n

    def _alloc_node_port(self):
        while True:
            p = random.randint(30000, 32767)
            if p not in self.used_node_ports:
                self.used_node_ports.add(p)
                return p

    def _admit_pod(self, obj, old):
        if old is not None:
            obj["status"] = old.get("status", {})
            return
        podsecurity.admit(self, obj)
        spec = obj.setdefault("spec", {})
        node, why = self.kubelet.schedule(obj)
        if node:
            spec["nodeName"] = node
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        if not node:
            obj["status"] = self.kubelet.unschedulable_status(why)
            return
        obj["status"] = self.pod_status(obj, running=self.pod_start_delay <= 0)

    def node_ip(self, node):
        names = self.node_names()
        return "10.0.0.%d" % (10 + (names.index(node) if node in names else 0))

    def pod_status(self, obj, running, old=None):
        """The kubelet's status of a pod: Pending (containers being created) or Running
        (every container and native sidecar running and ready, other init containers
        completed)."""
        spec = obj.get("spec") or {}
        t = now_rfc3339()
        st = {"phase": "Running" if running else "Pending", "hostIP": self.node_ip(spec.get("nodeName")),
              "startTime": (old or {}).get("startTime") or t, "qosClass": "BestEffort"}
        if running:
            n = self.next_pod_ip
            self.next_pod_ip += 1
            ip = "10.244.%d.%d" % (n // 250, n % 250 + 2)
            st["podIP"] = ip
            st["podIPs"] = [{"ip": ip}]
            st["hostIPs"] = [{"ip": st["hostIP"]}]
        conds = ("PodScheduled", "Initialized", "Ready", "ContainersReady") if running else ("PodScheduled",)
        st["conditions"] = [{"type": c, "status": "True", "lastProbeTime": None, "lastTransitionTime": t}
                            for c in conds]
        if not running:
            st["conditions"] += [{"type": c, "status": "False", "lastProbeTime": None, "lastTransitionTime": t,
                                  "reason": "ContainersNotReady" if c != "Initialized" else "PodInitializing"}
                                 for c in ("Initialized", "Ready", "ContainersReady")]

        def cstatus(c, sidecar=False, init=False):
            d = {"name": c.get("name"), "image": c.get("image"), "imageID": "", "restartCount": 0}
            if running and init and not sidecar:
                d.update(ready=True, started=False,
                         state={"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": t, "finishedAt": t}})
            elif running:
                d.update(ready=True, started=True, containerID="containerd://" + new_uid().replace("-", ""),
                         state={"running": {"startedAt": t}})
            else:
                d.update(ready=False, started=False, state={"waiting": {"reason": "PodInitializing" if init
                                                                        else "ContainerCreating"}})
            return d
        st["containerStatuses"] = [cstatus(c) for c in spec.get("containers") or []]
        inits = spec.get("initContainers") or []
        if inits:
            st["initContainerStatuses"] = [cstatus(c, c.get("restartPolicy") == "Always", True) for c in inits]
        return st

    def start_pod(self, ns, name, uid):
        """The pod's start delay has passed: Running."""
        rt = self.registry.by_key[("", "pods")]
        with self.lock:
            e = self.store.get(rt.storage_key, ns, name)
            if e is None or e.obj["metadata"]["uid"] != uid or (e.obj.get("status") or {}).get("phase") != "Pending":
                return
            if not (e.obj.get("spec") or {}).get("nodeName"):
                return      # unschedulable
            new = jcopy(e.obj)
            new["status"] = self.pod_status(new, True, e.obj.get("status"))
            self._store(rt, new)
            self.kubelet.started(new)

    def _validate_crd(self, obj):
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        name = obj["metadata"]["name"]
        group, plural = spec.get("group"), names.get("plural")
        if not group or not plural or not names.get("kind") or not spec.get("versions"):
            raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, "spec", None,
                                 "group, names.plural, names.kind and versions are required", "FieldValueRequired")
        if name != "%s.%s" % (plural, group):
            raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, "metadata.name", name,
                                 "must be spec.names.plural+\".\"+spec.group")
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, "spec.scope",
                                 spec.get("scope"), "supported values: \"Cluster\", \"Namespaced\"")
        if sum(1 for v in spec["versions"] if v.get("storage")) != 1:
            raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, "spec.versions",
                                 None, "must have exactly one version marked as storage version")
        other = self.registry.by_key.get((group, plural))
        if other is not None and other.crd != name:
            raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, "spec.names.plural",
                                 plural, "already in use")

    def _after_create(self, rt, obj):
        key = rt.key
        md = obj["metadata"]
        if key == ("", "namespaces"):
            self._namespace_defaults(md["name"])
        elif key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._schedule_establish(md["name"])
        elif key == ("", "persistentvolumeclaims"):
            self.provisioner.after_claim(obj)
        elif key == ("", "pods") and (obj.get("status") or {}).get("phase") == "Pending" and self.pod_start_delay > 0:
            t = threading.Timer(self.pod_start_delay, self.start_pod,
                                args=(md["namespace"], md["name"], md["uid"]))
            t.daemon = True
            t.start()
        elif key == ("", "pods") and (obj.get("status") or {}).get("phase") == "Running":
            self.kubelet.started(obj)
        elif key == ("batch", "jobs"):
            self.jobs.kick()
        elif key == (SNAP_GROUP, "volumesnapshots"):
            self.snapshotter.after_create(obj)

    def _after_update(self, rt, obj, old):
        if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            if obj["metadata"]["name"] in self.registry.crd_types:
                self.registry.add_crd(obj)

    def _after_delete(self, rt, obj):
        key = rt.key
        if key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            crt = self.registry.remove_crd(obj["metadata"]["name"])
            g = (obj.get("spec") or {}).get("group")
            p = ((obj.get("spec") or {}).get("names") or {}).get("plural")
            self.store.drop_bucket((g, p))
        elif key == ("", "persistentvolumeclaims"):
            self.provisioner.release_claim(obj)
        elif key == ("", "persistentvolumes"):
            self.provisioner.after_pv_delete(obj)
        elif key == ("batch", "jobs"):
            self.jobs.after_delete(obj, getattr(self._local, "delete_q", None))
        elif key == ("", "pods"):
            import shutil
            from . import execws
            self.kubelet.deleted(obj)
            execws.kill_all(obj["metadata"].get("uid") or "-")
            sd = getattr(self.opts, "state_dir", None)
            if sd and obj["metadata"].get("uid"):
                shutil.rmtree(os.path.join(sd, "pods", obj["metadata"]["uid"]), ignore_errors=True)
        elif key == (SNAP_GROUP, "volumesnapshots"):
            self.snapshotter.after_delete_snapshot(obj)
        elif key == (SNAP_GROUP, "volumesnapshotcontents"):
            self.snapshotter.after_delete_content(obj)

    def _schedule_establish(self, name):
        if self.crd_delay > 0 and not getattr(self._local, "immediate", False):
            t = threading.Timer(self.crd_delay, self.establish_crd, args=(name,))
            t.daemon = True
            t.start()
        else:
            self.establish_crd(name)

    def establish_crd(self, name):
        rt = self.registry.by_key[("apiextensions.k8s.io", "customresourcedefinitions")]
        with self.lock:
            e = self.store.get(rt.storage_key, "", name)
            if e is None:
                return
            obj = jcopy(e.obj)
            spec = obj["spec"]
            names = dict(spec["names"])
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")
            t = now_rfc3339()
            storage = next((v["name"] for v in spec["versions"] if v.get("storage")), spec["versions"][0]["name"])
            stored = list((obj.get("status") or {}).get("storedVersions") or [])
            if storage not in stored:
                stored.append(storage)
            obj["status"] = {
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "lastTransitionTime": t, "reason": "NoConflicts",
                     "message": "no conflicts found"},
                    {"type": "Established", "status": "True", "lastTransitionTime": t,
                     "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}],
                "acceptedNames": names, "storedVersions": stored}
            self.registry.add_crd(obj)
            self._store(rt, obj)

    def _namespace_defaults(self, ns):
        """What the root-CA publisher and the service-account controller create."""
        cm_rt = self.registry.by_key[("", "configmaps")]
        sa_rt = self.registry.by_key[("", "serviceaccounts")]
        t = now_rfc3339()
        if self.store.get(("", "configmaps"), ns, "kube-root-ca.crt") is None:
            self._store(cm_rt, ordered({"metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                                                     "uid": new_uid(), "creationTimestamp": t,
                                                     "annotations": {"kubernetes.io/description": "Contains a CA bundle "
                                                                     "that can be used to verify the kube-apiserver "
                                                                     "when using internal endpoints such as the "
                                                                     "internal service IP or kubernetes.default.svc. "
                                                                     "No other usage is guaranteed across "
                                                                     "distributions of Kubernetes clusters."}},
                                        "data": {"ca.crt": self.ca_pem}}))
        if self.store.get(("", "serviceaccounts"), ns, "default") is None:
            self._store(sa_rt, {"metadata": {"name": "default", "namespace": ns, "uid": new_uid(),
                                             "creationTimestamp": t}})

    # ---------------------------------------------------------------- bootstrap
    def bootstrap(self):
        """Objects every fresh cluster has (skipped when state was loaded)."""
        q = {"fieldManager": "kube-apiserver"}
        delay, self.crd_delay = self.crd_delay, 0  # built-in CRDs are there from the start
        sysq = lambda rt, ns, body: self.create(rt, rt.storage_version, ns, body, q)
        R = self.registry.by_key
        for ns in DEFAULT_NAMESPACES:
            sysq(R[("", "namespaces")], "", {"metadata": {"name": ns}})
        svc = {"metadata": {"name": "kubernetes", "namespace": "default",
                            "labels": {"component": "apiserver", "provider": "kubernetes"}},
               "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                                             "targetPort": 6443}]}}
        sysq(R[("", "services")], "default", svc)
        sysq(R[("", "endpoints")], "default", {"metadata": {"name": "kubernetes", "namespace": "default",
                                                            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                                               "subsets": [{"addresses": [{"ip": "10.0.0.10"}],
                                                            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]})
        sysq(R[("discovery.k8s.io", "endpointslices")], "default", {
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "kubernetes",
                                    "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io"}},
            "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.10"], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]})
        nodes = [NODE_NAME] if self.nodes == 1 else ["node-%d" % (i + 1) for i in range(self.nodes)]
        for i, node in enumerate(nodes):
            labels = {"kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
            if i == 0:
                labels["node-role.kubernetes.io/control-plane"] = ""
            sysq(R[("", "nodes")], "", {"metadata": {"name": node, "labels": labels},
                 "spec": {"podCIDR": "10.244.%d.0/24" % i},
                 "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                            "addresses": [{"type": "InternalIP", "address": "10.0.0.%d" % (10 + i)},
                                          {"type": "Hostname", "address": node}],
                            "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"},
                            "nodeInfo": {"kubeletVersion": "v1.30.6", "operatingSystem": "linux",
                                         "architecture": "amd64"}}})
        for pc, val in (("system-cluster-critical", 2000000000), ("system-node-critical", 2000001000)):
            sysq(R[("scheduling.k8s.io", "priorityclasses")], "", {"metadata": {"name": pc}, "value": val,
                                                                   "preemptionPolicy": "PreemptLowerPriority",
                                                                   "description": "Used for system critical pods "
                                                                   "that must run in the cluster."})
        for sc in STORAGE_CLASSES:
            sysq(R[("storage.k8s.io", "storageclasses")], "", jcopy(sc))
        sysq(R[("rbac.authorization.k8s.io", "clusterroles")], "", {
            "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}]})
        sysq(R[("rbac.authorization.k8s.io", "clusterrolebindings")], "", {
            "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]})
        from . import catalog
        apisvc = R[("apiregistration.k8s.io", "apiservices")]
        for g, vs, _ in catalog.builtin_types():
            for v in vs:
                nm = "%s.%s" % (v, g) if g else v
                sysq(apisvc, "", {"metadata": {"name": nm, "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}},
                                  "spec": {"group": g, "version": v, "groupPriorityMinimum": 18000,
                                           "versionPriority": 15}})
        for g, v in catalog.BROKEN_AGGREGATED:
            sysq(apisvc, "", {"metadata": {"name": "%s.%s" % (v, g), "labels": {"k8s-app": "metrics-server"}},
                              "spec": {"group": g, "version": v, "groupPriorityMinimum": 100, "versionPriority": 100,
                                       "insecureSkipTLSVerify": True,
                                       "service": {"name": "metrics-server", "namespace": "kube-system", "port": 443}}})
        for crd in snapshot_crds():
            self._local.immediate = True
            try:
                sysq(R[("apiextensions.k8s.io", "customresourcedefinitions")], "", crd)
            finally:
                self._local.immediate = False
        vsc = self.registry.by_key.get((SNAP_GROUP, "volumesnapshotclasses"))
        if vsc is not None:
            for c in SNAPSHOT_CLASSES:
                sysq(vsc, "", jcopy(c))
        self.crd_delay = delay

    # ---------------------------------------------------------------- persistence
    def snapshot_state(self):
        with self.lock:
            objs = []
            for skey, b in self.store.buckets.items():
                for k in b.objs:
                    objs.append([skey[0], skey[1], b.objs[k].obj])
            return {"version": 1, "rv": self.store.rv, "next_ip": self.next_ip, "next_pod_ip": self.next_pod_ip,
                    "crd_delay": self.crd_delay, "synthetic_seq": self.synthetic_seq, "objects": objs}

    def load_state(self, st):
        with self.lock:
            self.store.rv = st["rv"]
            self.store.compact()
            self.next_ip = st.get("next_ip", 2)
            self.next_pod_ip = st.get("next_pod_ip", 2)
            self.synthetic_seq = st.get("synthetic_seq", 0)
            crds = []
            for g, p, obj in st["objects"]:
                self.store.put((g, p), obj, bulk=True)
                if (g, p) == ("apiextensions.k8s.io", "customresourcedefinitions"):
                    crds.append(obj)
                if (g, p) == ("", "services"):
                    for port in (obj.get("spec") or {}).get("ports") or []:
                        if port.get("nodePort"):
                            self.used_node_ports.add(port["nodePort"])
            for b in self.store.buckets.values():
                b.ensure_sorted()
            pods = self.registry.by_key[("", "pods")]
            for _, _, _, e in self.store.scan(pods.storage_key, None):
                if (e.obj.get("status") or {}).get("phase") == "Pending":
                    md = e.obj["metadata"]
                    t = threading.Timer(self.pod_start_delay, self.start_pod,
                                        args=(md["namespace"], md["name"], md["uid"]))
                    t.daemon = True
                    t.start()
            if any(g == "batch" and p == "jobs" for g, p, _ in st["objects"]):
                self.jobs.kick()
            for crd in crds:
                conds = (crd.get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
                    self.registry.add_crd(crd)
                else:
                    self._schedule_establish(crd["metadata"]["name"])

    # ---------------------------------------------------------------- dump
    def dump(self, q=None):
        q = q or {}
        want_ns = q.get("namespace")
        with self.lock:
            out = []
            for skey in sorted(self.store.buckets, key=lambda k: (k[0], k[1])):
                rt = self.registry.by_key.get(skey)
                if rt is None:
                    continue
                for _, _, _, e in self.store.scan(skey, want_ns if (want_ns and rt.namespaced) else None):
                    if want_ns and not rt.namespaced:
                        break
                    out.append(self.typed(rt, e.obj))
            return out


# Types whose status a create keeps (set by the server itself or harmless).
KEEP_STATUS_ON_CREATE = {("", "nodes"), ("apiregistration.k8s.io", "apiservices")}


def snapshot_crds():
    out = []
    for plural, singular, kind, scope, short in (
            ("volumesnapshotclasses", "volumesnapshotclass", "VolumeSnapshotClass", "Cluster", ["vsclass", "vsclasses"]),
            ("volumesnapshotcontents", "volumesnapshotcontent", "VolumeSnapshotContent", "Cluster", ["vsc", "vscs"]),
            ("volumesnapshots", "volumesnapshot", "VolumeSnapshot", "Namespaced", ["vs"])):
        ver = {"name": "v1", "served": True, "storage": True,
               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
        if plural != "volumesnapshotclasses":
            ver["subresources"] = {"status": {}}
        out.append({"metadata": {"name": "%s.snapshot.storage.k8s.io" % plural,
                                 "annotations": {"api-approved.kubernetes.io":
                                                 "https://github.com/kubernetes-csi/external-snapshotter/pull/814"}},
                    "spec": {"group": "snapshot.storage.k8s.io", "scope": scope,
                             "names": {"plural": plural, "singular": singular, "kind": kind,
                                       "listKind": kind + "List", "shortNames": short},
                             "versions": [ver]}})
    return out


def load_yaml_or_json(raw):
    text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    try:
        return json.loads(text)
    except ValueError:
        from .seed import yaml_load_all
        docs = [d for d in yaml_load_all(text) if d is not None]
        return docs[0] if docs else None

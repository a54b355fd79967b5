"""Server-side printing: meta.k8s.io Table responses (what `kubectl get` asks for)."""
import re
import time
import calendar


def human_duration(secs):
    s = int(max(0, secs))
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    y = h // (24 * 365)
    if y < 8:
        return "%dy%dd" % (y, (h // 24) % 365)
    return "%dy" % y


def age(obj):
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    try:
        t = calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return "<unknown>"
    return human_duration(time.time() - t)


def _g(o, *path, default=None):
    for p in path:
        if isinstance(o, dict):
            o = o.get(p)
        elif isinstance(o, list) and isinstance(p, int) and -len(o) <= p < len(o):
            o = o[p]
        else:
            return default
    return default if o is None else o


def _ports(svc):
    out = []
    for p in _g(svc, "spec", "ports", default=[]):
        s = "%s" % p.get("port")
        if p.get("nodePort"):
            s += ":%s" % p["nodePort"]
        out.append("%s/%s" % (s, p.get("protocol", "TCP")))
    return ",".join(out) or "<none>"


def _ready(o):
    return "%d/%d" % (_g(o, "status", "readyReplicas", default=0), _g(o, "spec", "replicas", default=1))


def _pod_status(o):
    """kubectl's STATUS: the pod's reason (Evicted, DeadlineExceeded), else the reason a
    container terminated with (Completed, Error), else the phase."""
    if _g(o, "status", "reason", default=""):
        return _g(o, "status", "reason")
    for c in _g(o, "status", "containerStatuses", default=[]):
        r = ((c.get("state") or {}).get("terminated") or {}).get("reason")
        if r:
            return r
    return _g(o, "status", "phase", default="Pending")


def _job_status(o):
    for c in _g(o, "status", "conditions", default=[]):
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed"):
            return c["type"]
    return "Running"


def _job_duration(o):
    def t(s):
        try:
            return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))
        except (TypeError, ValueError):
            return None
    a = t(_g(o, "status", "startTime", default=None))
    if a is None:
        return ""
    b = t(_g(o, "status", "completionTime", default=None)) or time.time()
    return "%ds" % max(0, int(b - a))


S, I, D = "string", "integer", "date"
BUILTIN = {
    ("", "pods"): [("Ready", S, lambda o: "%d/%d" % (sum(1 for c in _g(o, "status", "containerStatuses", default=[]) if c.get("ready")),
                                                      len(_g(o, "spec", "containers", default=[])))),
                   ("Status", S, _pod_status),
                   ("Restarts", S, lambda o: str(sum(c.get("restartCount", 0) for c in _g(o, "status", "containerStatuses", default=[]))))],
    ("", "configmaps"): [("Data", I, lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    ("", "secrets"): [("Type", S, lambda o: o.get("type", "")), ("Data", I, lambda o: len(o.get("data") or {}))],
    ("", "namespaces"): [("Status", S, lambda o: _g(o, "status", "phase", default=""))],
    ("", "services"): [("Type", S, lambda o: _g(o, "spec", "type", default="ClusterIP")),
                       ("Cluster-IP", S, lambda o: _g(o, "spec", "clusterIP", default="<none>")),
                       ("External-IP", S, lambda o: ",".join(i.get("ip", i.get("hostname", "")) for i in _g(o, "status", "loadBalancer", "ingress", default=[])) or ("<pending>" if _g(o, "spec", "type") == "LoadBalancer" else "<none>")),
                       ("Port(s)", S, _ports)],
    ("", "serviceaccounts"): [("Secrets", I, lambda o: len(o.get("secrets") or []))],
    ("", "persistentvolumeclaims"): [("Status", S, lambda o: _g(o, "status", "phase", default="")),
                                     ("Volume", S, lambda o: _g(o, "spec", "volumeName", default="")),
                                     ("Capacity", S, lambda o: _g(o, "status", "capacity", "storage", default="")),
                                     ("Access Modes", S, lambda o: ",".join({"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}.get(a, a) for a in _g(o, "status", "accessModes", default=[]))),
                                     ("StorageClass", S, lambda o: _g(o, "spec", "storageClassName", default="<unset>"))],
    ("", "persistentvolumes"): [("Capacity", S, lambda o: _g(o, "spec", "capacity", "storage", default="")),
                                ("Reclaim Policy", S, lambda o: _g(o, "spec", "persistentVolumeReclaimPolicy", default="")),
                                ("Status", S, lambda o: _g(o, "status", "phase", default="")),
                                ("Claim", S, lambda o: "%s/%s" % (_g(o, "spec", "claimRef", "namespace", default=""), _g(o, "spec", "claimRef", "name", default="")) if _g(o, "spec", "claimRef") else ""),
                                ("StorageClass", S, lambda o: _g(o, "spec", "storageClassName", default=""))],
    ("apps", "deployments"): [("Ready", S, _ready), ("Up-to-date", I, lambda o: _g(o, "status", "updatedReplicas", default=0)),
                              ("Available", I, lambda o: _g(o, "status", "availableReplicas", default=0))],
    ("apps", "statefulsets"): [("Ready", S, _ready)],
    ("apps", "daemonsets"): [("Desired", I, lambda o: _g(o, "status", "desiredNumberScheduled", default=0)),
                             ("Current", I, lambda o: _g(o, "status", "currentNumberScheduled", default=0)),
                             ("Ready", I, lambda o: _g(o, "status", "numberReady", default=0))],
    ("batch", "jobs"): [("Status", S, _job_status),
                        ("Completions", S, lambda o: "%d/%d" % (_g(o, "status", "succeeded", default=0),
                                                                _g(o, "spec", "completions", default=1))),
                        ("Duration", S, _job_duration)],
    ("batch", "cronjobs"): [("Schedule", S, lambda o: _g(o, "spec", "schedule", default="")),
                            ("Suspend", S, lambda o: str(_g(o, "spec", "suspend", default=False)).capitalize()),
                            ("Active", I, lambda o: len(_g(o, "status", "active", default=[])))],
    ("apiextensions.k8s.io", "customresourcedefinitions"): [("Created At", D, lambda o: _g(o, "metadata", "creationTimestamp", default=""))],
    ("storage.k8s.io", "storageclasses"): [("Provisioner", S, lambda o: o.get("provisioner", "")),
                                           ("ReclaimPolicy", S, lambda o: o.get("reclaimPolicy", "Delete"))],
}
NO_AGE = {("apiextensions.k8s.io", "customresourcedefinitions")}


def _jsonpath(obj, path):
    """Simple JSONPath of additionalPrinterColumns: .a.b, .a[0].b, .a['x.y']"""
    cur = obj
    for m in re.finditer(r"\.([A-Za-z0-9_\-$]+)|\[(\d+)\]|\['([^']*)'\]", path):
        key = m.group(1) or m.group(3)
        if key is not None:
            cur = cur.get(key) if isinstance(cur, dict) else None
        else:
            i = int(m.group(2))
            cur = cur[i] if isinstance(cur, list) and i < len(cur) else None
        if cur is None:
            return None
    return cur


def table(rt, version, objs, meta, typed, include="Metadata"):
    cols = [("Name", S, None)]
    if rt.crd:
        pcs = rt.printer_columns.get(version) or []
        for pc in pcs:
            cols.append((pc.get("name"), pc.get("type", "string"), ("jsonpath", pc.get("jsonPath", ""))))
        if not pcs:
            cols.append(("Age", D, "age"))
    else:
        cols += BUILTIN.get(rt.key, [])
        if rt.key not in NO_AGE:
            cols.append(("Age", S, "age"))
    defs = [{"name": n, "type": t, "format": "name" if n == "Name" else "", "description": n, "priority": 0}
            for n, t, _ in cols]
    rows = []
    for o in objs:
        cells = []
        for n, t, fn in cols:
            if fn is None:
                cells.append(o["metadata"]["name"])
            elif fn == "age":
                cells.append(age(o))
            elif isinstance(fn, tuple):
                v = _jsonpath(typed(o), fn[1])
                if t == D and isinstance(v, str):
                    v = age({"metadata": {"creationTimestamp": v}})
                cells.append(v)
            else:
                cells.append(fn(o))
        row = {"cells": cells}
        if include == "Object":
            row["object"] = typed(o)
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": defs,
            "rows": rows}

"""Volumes: the CSI provisioner (PVC -> PV with a data directory) and the snapshot
controller (VolumeSnapshot -> VolumeSnapshotContent with a copy of the data).

Data lives on disk under the state directory:
  STATE/volumes/<pv name>/         a PV's data (what pods see at their mountPath)
  STATE/snapshots/<content name>/  a snapshot's copy (cp -a: owners, modes, times, links)

The functions here run with the cluster lock held unless they say otherwise; copies run
in threads of their own (a large volume does not stop the server).
"""
import os
import shutil
import subprocess
import threading
import time

from .errors import ApiError

HOSTPATH_DRIVER = "hostpath.csi.kahu.io"
FAST_DRIVER = "fast.csi.kahu.io"
LEGACY_PROVISIONER = "kahu.io/test-provisioner"
SNAP_GROUP = "snapshot.storage.k8s.io"
DEFAULT_SNAPCLASS_ANN = "snapshot.storage.kubernetes.io/is-default-class"
STORAGE_CLASSES = (
    {"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
     "provisioner": HOSTPATH_DRIVER, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate",
     "allowVolumeExpansion": True},
    {"metadata": {"name": "fast"}, "provisioner": FAST_DRIVER, "reclaimPolicy": "Delete",
     "volumeBindingMode": "Immediate"},
)
SNAPSHOT_CLASSES = (
    {"metadata": {"name": "csi-hostpath-snapclass", "annotations": {DEFAULT_SNAPCLASS_ANN: "true"}},
     "driver": HOSTPATH_DRIVER, "deletionPolicy": "Delete"},
)

UNITS = {"": 1, "k": 1000, "M": 1000 ** 2, "G": 1000 ** 3, "T": 1000 ** 4, "Ki": 1024, "Mi": 1024 ** 2,
         "Gi": 1024 ** 3, "Ti": 1024 ** 4}


def quantity_bytes(q):
    q = str(q or "0").strip()
    for u in sorted(UNITS, key=len, reverse=True):
        if u and q.endswith(u):
            try:
                return int(float(q[:-len(u)]) * UNITS[u])
            except ValueError:
                return 0
    try:
        return int(float(q))
    except ValueError:
        return 0


def copy_tree(src, dst):
    """cp -a of src's contents into dst (created)."""
    os.makedirs(dst, exist_ok=True)
    if os.path.isdir(src) and os.listdir(src):
        subprocess.run(["cp", "-a", "--", src.rstrip("/") + "/.", dst], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _cl():
    from . import cluster
    return cluster


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Provisioner:
    """Binds PVCs to PersistentVolumes it creates on the CSI drivers of the storage
    classes (any other class name: the hostpath driver, as before classes existed)."""
    NAME = HOSTPATH_DRIVER

    def __init__(self, cluster):
        self.cluster = cluster

    def state_dir(self):
        return getattr(self.cluster.opts, "state_dir", None) or "."

    def data_dir(self, pv_name):
        return os.path.join(self.state_dir(), "volumes", pv_name)

    def snapshot_dir(self, content_name):
        return os.path.join(self.state_dir(), "snapshots", content_name)

    def claim_dir(self, ns, claim):
        """The data directory of a bound claim (created if missing), or None."""
        c = self.cluster
        e = c.store.get(("", "persistentvolumeclaims"), ns, claim or "")
        if e is None:
            return None
        vn = (e.obj.get("spec") or {}).get("volumeName")
        if not vn or (e.obj.get("status") or {}).get("phase") != "Bound":
            return None
        pv = c.store.get(("", "persistentvolumes"), "", vn)
        path = None
        if pv is not None:
            path = ((pv.obj.get("spec") or {}).get("hostPath") or {}).get("path")
        path = path or self.data_dir(vn)
        os.makedirs(path, exist_ok=True)
        return path

    def claim_info(self, ns, claim):
        """{"path", "pv"} for /_admin/volume, or a 404."""
        c = self.cluster
        with c.lock:
            e = c.store.get(("", "persistentvolumeclaims"), ns, claim or "")
            if e is None:
                raise ApiError(404, "NotFound", 'persistentvolumeclaims "%s" not found' % claim,
                               {"name": claim, "kind": "persistentvolumeclaims"})
            path = self.claim_dir(ns, claim)
            if path is None:
                raise ApiError(409, "Conflict", 'persistentvolumeclaim "%s/%s" is not bound' % (ns, claim))
            return {"path": os.path.abspath(path), "pv": e.obj["spec"]["volumeName"]}

    def driver_of_class(self, sc_name):
        e = self.cluster.store.get(("storage.k8s.io", "storageclasses"), "", sc_name or "")
        if e is None:
            return HOSTPATH_DRIVER, "Delete"
        prov = e.obj.get("provisioner") or HOSTPATH_DRIVER
        if prov == LEGACY_PROVISIONER:
            prov = HOSTPATH_DRIVER
        return prov, e.obj.get("reclaimPolicy") or "Delete"

    def admit_claim(self, pvc, dry):
        spec = pvc.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        if spec.get("storageClassName") is None and not spec.get("volumeName"):
            spec["storageClassName"] = "standard"
        pvc["status"] = {"phase": "Pending"}
        if spec.get("volumeName") or spec.get("storageClassName") == "":
            return
        md = pvc["metadata"]
        driver, _ = self.driver_of_class(spec.get("storageClassName"))
        ann = md.setdefault("annotations", {})
        ann["volume.beta.kubernetes.io/storage-provisioner"] = driver
        ann["volume.kubernetes.io/storage-provisioner"] = driver
        src = self.snapshot_source(pvc)
        if src is not None and not self.snapshot_ready(md.get("namespace"), src):
            return      # bound by retry_pending() once the snapshot is ready
        self._bind_new(pvc)

    def _bind_new(self, pvc):
        spec = pvc["spec"]
        md = pvc["metadata"]
        spec["volumeName"] = "pvc-" + md["uid"]
        ann = md.setdefault("annotations", {})
        ann["pv.kubernetes.io/bind-completed"] = "yes"
        ann["pv.kubernetes.io/bound-by-controller"] = "yes"
        req = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        pvc["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                         "capacity": {"storage": req}}

    @staticmethod
    def snapshot_source(pvc):
        spec = pvc.get("spec") or {}
        for k in ("dataSourceRef", "dataSource"):
            ds = spec.get(k) or {}
            if ds.get("kind") == "VolumeSnapshot" and ds.get("apiGroup") == SNAP_GROUP and ds.get("name"):
                return ds["name"]
        return None

    def snapshot_ready(self, ns, name):
        e = self.cluster.store.get((SNAP_GROUP, "volumesnapshots"), ns, name)
        return e is not None and bool((e.obj.get("status") or {}).get("readyToUse"))

    def node_for_pv(self, pvc):
        """The node a new PV is pinned to: the claim's volume.kubernetes.io/selected-node
        when it names a node, else the nodes in turn (one node: always that one)."""
        names = self.cluster.node_names()
        sel = ((pvc.get("metadata") or {}).get("annotations") or {}).get("volume.kubernetes.io/selected-node")
        if sel in names:
            return sel
        n = getattr(self, "next_node", 0)
        self.next_node = n + 1
        return names[n % len(names)]

    def after_claim(self, pvc):
        spec = pvc["spec"]
        md = pvc["metadata"]
        c = self.cluster
        pv_rt = c.registry.by_key[("", "persistentvolumes")]
        if pvc["status"].get("phase") != "Bound":
            # a claim naming an existing PV binds to it
            vn = spec.get("volumeName")
            pv = c.store.get(("", "persistentvolumes"), "", vn) if vn else None
            if pv is not None:
                new = _cl().jcopy(pv.obj)
                new["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": md["namespace"],
                                           "name": md["name"], "uid": md["uid"], "apiVersion": "v1",
                                           "resourceVersion": md["resourceVersion"]}
                new["status"] = {"phase": "Bound"}
                c._store(pv_rt, new)
                nc = _cl().jcopy(pvc)
                nc["status"] = {"phase": "Bound", "accessModes": pv.obj["spec"].get("accessModes", []),
                                "capacity": pv.obj["spec"].get("capacity", {})}
                c._store(c.registry.by_key[("", "persistentvolumeclaims")], nc)
            elif self.snapshot_source(pvc) is not None:
                self.schedule_retry()
            return
        name = spec["volumeName"]
        if c.store.get(("", "persistentvolumes"), "", name) is not None:
            return
        driver, reclaim = self.driver_of_class(spec.get("storageClassName"))
        node = self.node_for_pv(pvc)
        pv = {"metadata": {"name": name, "uid": _cl().new_uid(), "creationTimestamp": now_rfc3339(),
                           "annotations": {"pv.kubernetes.io/provisioned-by": driver,
                                           "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                                           "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                           "finalizers": ["kubernetes.io/pv-protection"]},
              "spec": {"capacity": dict(pvc["status"].get("capacity") or {}),
                       "accessModes": list(pvc["status"].get("accessModes") or []),
                       "persistentVolumeReclaimPolicy": reclaim,
                       "storageClassName": spec.get("storageClassName"), "volumeMode": spec.get("volumeMode"),
                       "csi": {"driver": driver, "volumeHandle": "vol-" + md["uid"], "fsType": "ext4",
                               "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity":
                                                    "1700000000000-8081-" + driver}},
                       "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                           {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}},
                       "claimRef": {"kind": "PersistentVolumeClaim", "namespace": md["namespace"],
                                    "name": md["name"], "uid": md["uid"], "apiVersion": "v1",
                                    "resourceVersion": md["resourceVersion"]}},
              "status": {"phase": "Bound"}}
        d = self.data_dir(name)
        src = self.snapshot_source(pvc)
        if src is not None:
            e = c.store.get((SNAP_GROUP, "volumesnapshots"), md["namespace"], src)
            content = ((e.obj.get("status") or {}).get("boundVolumeSnapshotContentName") if e else None)
            if content and os.path.isdir(self.snapshot_dir(content)):
                copy_tree(self.snapshot_dir(content), d)
        os.makedirs(d, exist_ok=True)
        c._store(pv_rt, _cl().ordered(pv))

    def node_of_claim(self, ns, claim):
        """The node a bound claim's PV is pinned to, or None."""
        c = self.cluster
        e = c.store.get(("", "persistentvolumeclaims"), ns, claim or "")
        vn = (e.obj.get("spec") or {}).get("volumeName") if e else None
        pv = c.store.get(("", "persistentvolumes"), "", vn) if vn else None
        if pv is None:
            return None
        for t in ((((pv.obj.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {})
                  .get("nodeSelectorTerms") or []):
            for ex in t.get("matchExpressions") or []:
                if ex.get("key") == "kubernetes.io/hostname" and ex.get("operator") == "In" and ex.get("values"):
                    return ex["values"][0]
        return None

    def release_claim(self, pvc):
        c = self.cluster
        vn = (pvc.get("spec") or {}).get("volumeName")
        if not vn:
            return
        e = c.store.get(("", "persistentvolumes"), "", vn)
        if e is None:
            return
        pv = e.obj
        cref = pv["spec"].get("claimRef") or {}
        if cref.get("uid") != pvc["metadata"]["uid"]:
            return
        pv_rt = c.registry.by_key[("", "persistentvolumes")]
        if pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
            c._really_delete(pv_rt, pv)
        else:
            new = _cl().jcopy(pv)
            new["status"] = {"phase": "Released"}
            c._store(pv_rt, new)

    def after_pv_delete(self, pv):
        if (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy", "Delete") == "Delete":
            shutil.rmtree(self.data_dir(pv["metadata"]["name"]), ignore_errors=True)

    # -- claims waiting for their snapshot
    def schedule_retry(self):
        t = threading.Timer(0.2, self.retry_pending)
        t.daemon = True
        t.start()

    def retry_pending(self):
        c = self.cluster
        rt = c.registry.by_key[("", "persistentvolumeclaims")]
        again = False
        with c.lock:
            for _, _, _, e in list(c.store.scan(rt.storage_key, None)):
                pvc = e.obj
                if (pvc.get("status") or {}).get("phase") == "Bound" or (pvc.get("spec") or {}).get("volumeName"):
                    continue
                src = self.snapshot_source(pvc)
                if src is None:
                    continue
                if not self.snapshot_ready(pvc["metadata"]["namespace"], src):
                    if c.store.get((SNAP_GROUP, "volumesnapshots"), pvc["metadata"]["namespace"], src) is not None:
                        again = True
                    continue
                new = _cl().jcopy(pvc)
                self._bind_new(new)
                c._store(rt, new)
                self.after_claim(new)
        if again:
            self.schedule_retry()


class Snapshotter:
    """The external-snapshotter and the CSI driver's snapshots, in one."""

    def __init__(self, cluster, prov):
        self.cluster = cluster
        self.prov = prov

    def rt(self, plural):
        return self.cluster.registry.by_key.get((SNAP_GROUP, plural))

    def default_class(self, driver):
        rt = self.rt("volumesnapshotclasses")
        if rt is None:
            return None
        for _, _, _, e in self.cluster.store.scan(rt.storage_key, None):
            o = e.obj
            if o.get("driver") == driver and ((o["metadata"].get("annotations") or {})
                                              .get(DEFAULT_SNAPCLASS_ANN) == "true"):
                return o
        return None

    def _set_status(self, ns, name, uid, status):
        c = self.cluster
        rt = self.rt("volumesnapshots")
        e = c.store.get(rt.storage_key, ns, name)
        if e is None or e.obj["metadata"]["uid"] != uid:
            return None
        new = _cl().jcopy(e.obj)
        st = new.setdefault("status", {})
        st.update(status)
        c._store(rt, new)
        return new

    def _error(self, ns, name, uid, msg):
        self._set_status(ns, name, uid, {"readyToUse": False, "error": {"message": msg, "time": now_rfc3339()}})

    def after_create(self, snap):
        """A new VolumeSnapshot: the controller runs on a thread of its own."""
        md = snap["metadata"]
        t = threading.Thread(target=self._control, args=(md["namespace"], md["name"], md["uid"]), daemon=True)
        t.start()

    def _control(self, ns, name, uid):
        c = self.cluster
        with c.lock:
            e = c.store.get(self.rt("volumesnapshots").storage_key, ns, name)
            if e is None or e.obj["metadata"]["uid"] != uid:
                return
            job = self._prepare(e.obj)
        if not job:
            return
        src_dir, dst_dir, ready = job
        delay = float(getattr(c, "snapshot_delay", 0) or 0)
        started = time.monotonic()
        err = None
        try:
            copy_tree(src_dir, dst_dir)
        except (subprocess.CalledProcessError, OSError) as ex:
            err = "failed to take snapshot of the volume: %s" % (
                (getattr(ex, "stderr", b"") or b"").decode("utf-8", "replace").strip() or ex)
        if err:
            with c.lock:
                return self._error(ns, name, uid, err)
        left = delay - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)
        ready()

    def _prepare(self, snap):
        """Checks, the content object; (source dir, copy dir, ready()) or None."""
        c = self.cluster
        md = snap["metadata"]
        ns, name, uid = md["namespace"], md["name"], md["uid"]
        src = (snap.get("spec") or {}).get("source") or {}
        self._set_status(ns, name, uid, {"readyToUse": False})
        pvc_name = src.get("persistentVolumeClaimName")
        if not pvc_name:
            if src.get("volumeSnapshotContentName"):
                return self._bind_existing(snap, src["volumeSnapshotContentName"])
            return self._error(ns, name, uid, "Failed to check and update snapshot: spec.source has neither "
                                              "persistentVolumeClaimName nor volumeSnapshotContentName")
        pe = c.store.get(("", "persistentvolumeclaims"), ns, pvc_name)
        if pe is None:
            return self._error(ns, name, uid, 'Failed to create snapshot content with error snapshot controller '
                               'failed to update %s on API server: cannot get claim from snapshot' % name)
        pvc = pe.obj
        vn = (pvc.get("spec") or {}).get("volumeName")
        pv = c.store.get(("", "persistentvolumes"), "", vn) if vn else None
        if pv is None or (pvc.get("status") or {}).get("phase") != "Bound":
            return self._error(ns, name, uid, 'Failed to create snapshot content with error snapshot controller '
                               'failed to update %s on API server: the PVC %s is not yet bound to a PV, will not '
                               'attempt to take a snapshot' % (name, pvc_name))
        driver = ((pv.obj.get("spec") or {}).get("csi") or {}).get("driver")
        cls_name = (snap.get("spec") or {}).get("volumeSnapshotClassName")
        if cls_name:
            crt = self.rt("volumesnapshotclasses")
            ce = c.store.get(crt.storage_key, "", cls_name) if crt else None
            if ce is None:
                return self._error(ns, name, uid, 'Failed to get snapshot class with error volumesnapshotclass.'
                                   'snapshot.storage.k8s.io "%s" not found' % cls_name)
            cls = ce.obj
            if cls.get("driver") != driver:
                return self._error(ns, name, uid, 'Failed to create snapshot content with error snapshot class '
                                   '%s driver %s does not match the PV driver %s' % (cls_name, cls.get("driver"),
                                                                                     driver))
        else:
            cls = self.default_class(driver) if driver else None
            if cls is None:
                return self._error(ns, name, uid, "Failed to set default snapshot class with error cannot find "
                                   "default snapshot class")
            new = c.store.get(self.rt("volumesnapshots").storage_key, ns, name)
            if new is not None:
                o = _cl().jcopy(new.obj)
                o["spec"]["volumeSnapshotClassName"] = cls["metadata"]["name"]
                c._store(self.rt("volumesnapshots"), o)
        content = "snapcontent-" + uid
        size = (pvc.get("status") or {}).get("capacity", {}).get("storage") or \
            (pv.obj["spec"].get("capacity") or {}).get("storage") or "1Gi"
        crt = self.rt("volumesnapshotcontents")
        sobj = c.store.get(self.rt("volumesnapshots").storage_key, ns, name).obj
        cobj = {"metadata": {"name": content, "uid": _cl().new_uid(), "creationTimestamp": now_rfc3339(),
                             "annotations": {"snapshot.storage.kubernetes.io/deletion-secret-name": ""}},
                "spec": {"deletionPolicy": cls.get("deletionPolicy") or "Delete", "driver": driver,
                         "source": {"volumeHandle": pv.obj["spec"]["csi"]["volumeHandle"]},
                         "volumeSnapshotClassName": cls["metadata"]["name"],
                         "volumeSnapshotRef": {"apiVersion": SNAP_GROUP + "/v1", "kind": "VolumeSnapshot",
                                               "name": name, "namespace": ns, "uid": uid,
                                               "resourceVersion": sobj["metadata"]["resourceVersion"]}},
                "status": {"readyToUse": False}}
        c._store(crt, _cl().ordered(cobj))
        self._set_status(ns, name, uid, {"boundVolumeSnapshotContentName": content, "readyToUse": False})
        rsize = quantity_bytes(size)

        def ready():
            with c.lock:
                ce = c.store.get(crt.storage_key, "", content)
                if ce is None:
                    return
                co = _cl().jcopy(ce.obj)
                ns_time = int(time.time() * 1e9)
                co["status"] = {"creationTime": ns_time, "driver": driver, "readyToUse": True,
                                "restoreSize": rsize, "snapshotHandle": "snap-" + uid}
                c._store(crt, co)
                self._set_status(ns, name, uid, {"boundVolumeSnapshotContentName": content,
                                                 "creationTime": now_rfc3339(), "readyToUse": True,
                                                 "restoreSize": size})
        return self.prov.data_dir(vn), self.prov.snapshot_dir(content), ready

    def _bind_existing(self, snap, content):
        c = self.cluster
        md = snap["metadata"]
        crt = self.rt("volumesnapshotcontents")
        ce = c.store.get(crt.storage_key, "", content)
        if ce is None:
            return self._error(md["namespace"], md["name"], md["uid"],
                               'Failed to check and update snapshot: volumesnapshotcontent "%s" not found' % content)
        st = ce.obj.get("status") or {}
        self._set_status(md["namespace"], md["name"], md["uid"], {
            "boundVolumeSnapshotContentName": content, "readyToUse": bool(st.get("readyToUse", True)),
            "creationTime": now_rfc3339(), "restoreSize": str(st.get("restoreSize", 0))})

    def after_delete_snapshot(self, snap):
        c = self.cluster
        content = (snap.get("status") or {}).get("boundVolumeSnapshotContentName")
        crt = self.rt("volumesnapshotcontents")
        if not content or crt is None:
            return
        ce = c.store.get(crt.storage_key, "", content)
        if ce is None:
            return
        ref = (ce.obj.get("spec") or {}).get("volumeSnapshotRef") or {}
        if ref.get("uid") != snap["metadata"]["uid"]:
            return
        if (ce.obj.get("spec") or {}).get("deletionPolicy") == "Delete":
            c._really_delete(crt, ce.obj)

    def after_delete_content(self, content):
        if (content.get("spec") or {}).get("deletionPolicy") == "Delete":
            shutil.rmtree(self.prov.snapshot_dir(content["metadata"]["name"]), ignore_errors=True)

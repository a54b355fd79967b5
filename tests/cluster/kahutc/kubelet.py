"""Pods that run: the kubelet of the test cluster's nodes.

A pod runs its container's command as a host process when that container's image is the
kahu image (the last component of the image name, before its tag or digest, contains
"kahu": ghcr.io/example/kahu:1.0, kahu, localhost/kahu-dev@sha256:...) or when the pod
is annotated kahu.io/test-run: "true" (any image: busybox, host, notar tool sets, as
exec uses them).  Only pods with one container run; any other pod keeps the old
behaviour: Running for ever, nothing executed.

The process runs in the exec sandbox (sandbox.py: a mount namespace, a private tmpfs
root, the image's tool set) with a private /dev, the pod's volumes (PVCs, read-only when
the volume or the mount says so; Secrets, ConfigMaps with defaultMode/items; emptyDirs;
hostPaths) at their mountPaths, the projected service-account files at
/var/run/secrets/kubernetes.io/serviceaccount (a token this server accepts as the user
system:serviceaccount:NS:NAME) and, for the kahu image, the kahu binary under test
(--kahu-binary) at /opt/kahu/kahu: argv[0] "kahu", "/usr/bin/kahu" (the image's
ENTRYPOINT) or "/usr/local/bin/kahu" runs it; the directories of --kahu-providers at
/opt/kahu/providers/N, named by KAHU_PLUGIN_PATH (unless the pod's env sets it), as the
image's module directory holds its providers.

Its stdout and stderr are the pod's log (STATE/pods/UID/c-NAME.log); its exit code and
termination message end up in the pod's status.  One thread per running container
waits for it; the server's loop never does.
"""
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time

from . import execws
from .errors import ApiError

RUN_ANNOTATION = "kahu.io/test-run"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
KAHU_IN_POD = "/opt/kahu/kahu"
PROVIDERS_IN_POD = "/opt/kahu/providers"
KAHU_NAMES = ("kahu", "/usr/bin/kahu", "/usr/local/bin/kahu")
TERMINATION_MAX = 4096
FALLBACK_LINES = 80
EVICT_MSG = "The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, available: 512Mi. "
DEADLINE_MSG = "Pod was active on the node longer than the specified deadline"


def now_rfc3339(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


def is_kahu_image(image):
    last = (image or "").rsplit("/", 1)[-1]
    last = last.split("@", 1)[0].split(":", 1)[0]
    return "kahu" in last


def runs(pod):
    """Whether this kubelet runs the pod's container."""
    spec = pod.get("spec") or {}
    conts = spec.get("containers") or []
    if len(conts) != 1:
        return False
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    return is_kahu_image(conts[0].get("image")) or ann.get(RUN_ANNOTATION) == "true"


def _field(pod, path):
    md = pod.get("metadata") or {}
    m = re.match(r"^metadata\.(labels|annotations)\['([^']*)'\]$", path or "")
    if m:
        return (md.get(m.group(1)) or {}).get(m.group(2))
    simple = {"metadata.name": md.get("name"), "metadata.namespace": md.get("namespace"),
              "metadata.uid": md.get("uid"), "spec.nodeName": (pod.get("spec") or {}).get("nodeName"),
              "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName"),
              "status.podIP": (pod.get("status") or {}).get("podIP"),
              "status.hostIP": (pod.get("status") or {}).get("hostIP")}
    if path not in simple:
        raise ValueError("fieldRef %s is not supported by the test cluster" % path)
    return simple[path]


class Run:
    """One container of one pod, from start to its last exit."""

    def __init__(self, kubelet, ns, name, uid):
        self.k = kubelet
        self.ns, self.name, self.uid = ns, name, uid
        self.proc = None
        self.stopped = False
        self.deadline_hit = False
        self.evicted = None           # the eviction message, once evicted while running


class Kubelet:
    def __init__(self, cluster):
        self.cluster = cluster
        self.kahu_binary = getattr(cluster.opts, "kahu_binary", None)
        self.kahu_providers = [d for d in (getattr(cluster.opts, "kahu_providers", None) or "").split(":") if d]
        self.faults = None            # the server's Faults (set by main.App)
        self.lock = threading.Lock()
        self.runs = {}                # pod uid -> Run
        self.tokens = {}              # service-account token -> (user, groups, pod uid)
        self.on_change = []           # callables(pod) after a pod's phase changed (the Job controller)

    # ------------------------------------------------------------ tokens
    def token_user(self, tok):
        with self.lock:
            u = self.tokens.get(tok)
            if u and len(u) > 3 and time.time() >= u[3]:      # a TokenRequest's, expired
                del self.tokens[tok]
                u = None
        return (u[0], list(u[1])) if u else None

    def mint_token(self, ns, sa, expires):
        """A token of service account ns/sa bound to no pod (TokenRequest), until `expires`."""
        tok = "kahu-sa." + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[tok] = ("system:serviceaccount:%s:%s" % (ns, sa),
                                ["system:serviceaccounts", "system:serviceaccounts:" + ns,
                                 "system:authenticated"], "token-request", expires)
        return tok

    # ------------------------------------------------------------ scheduling
    def schedule(self, pod):
        """(node, None) or (None, the scheduler's message): nodeName kept, else the node of
        the pod's PVCs' PVs, which must agree with each other and the nodeSelector."""
        c = self.cluster
        spec = pod.get("spec") or {}
        if spec.get("nodeName"):
            return spec["nodeName"], None
        names = c.node_names()
        sel = spec.get("nodeSelector") or {}
        ok = []
        for n in names:
            e = c.store.get(("", "nodes"), "", n)
            labels = ((e.obj.get("metadata") or {}).get("labels") or {}) if e else {}
            if all(labels.get(k) == v for k, v in sel.items()):
                ok.append(n)
        if not ok:
            return None, ("0/%d nodes are available: %d node(s) didn't match Pod's node affinity/selector. "
                          "preemption: 0/%d nodes are available: %d Preemption is not helpful for scheduling."
                          % (len(names), len(names), len(names), len(names)))
        pinned = set()
        ns = pod["metadata"].get("namespace", "")
        for v in spec.get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                node = c.provisioner.node_of_claim(ns, claim)
                if node:
                    pinned.add(node)
        if pinned:
            cand = [n for n in ok if n in pinned]
            if len(pinned) > 1 or not cand:
                return None, ("0/%d nodes are available: %d node(s) had volume node affinity conflict. "
                              "preemption: 0/%d nodes are available: %d Preemption is not helpful for scheduling."
                              % (len(names), len(names), len(names), len(names)))
            return cand[0], None
        return ok[0], None

    def unschedulable_status(self, msg):
        t = now_rfc3339()
        return {"phase": "Pending", "qosClass": "BestEffort",
                "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                                "lastTransitionTime": t, "reason": "Unschedulable", "message": msg}]}

    # ------------------------------------------------------------ life cycle
    def started(self, pod):
        """The pod has just become Running (cluster lock held): run its container."""
        if not runs(pod):
            return
        md = pod["metadata"]
        r = Run(self, md["namespace"], md["name"], md["uid"])
        with self.lock:
            if md["uid"] in self.runs:
                return
            self.runs[md["uid"]] = r
        t = threading.Thread(target=self._thread, args=(r,), daemon=True, name="pod-" + md["name"])
        t.start()

    def deleted(self, pod):
        """The pod is gone (cluster lock held): kill its process, revoke its token."""
        uid = pod["metadata"].get("uid") or "-"
        with self.lock:
            r = self.runs.pop(uid, None)
            for tok in [t for t, u in self.tokens.items() if u[2] == uid]:
                del self.tokens[tok]
        if r is not None:
            r.stopped = True
            self._kill(r)

    def evict(self, ns, name, message=None):
        """POST /_admin/evict: the pod is evicted now (its process killed, exec commands
        ended): phase Failed, reason Evicted.  Any pod that has not ended, run by this
        kubelet or not."""
        c = self.cluster
        msg = message or EVICT_MSG
        with c.lock:
            e = c.store.get(("", "pods"), ns, name)
            if e is None:
                raise ApiError(404, "NotFound", 'pods "%s" not found' % name, {"name": name, "kind": "pods"})
            pod = e.obj
            uid = pod["metadata"]["uid"]
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                raise ApiError(409, "Conflict", 'pod "%s/%s" has already ended (%s)' % (ns, name, phase))
            with self.lock:
                r = self.runs.get(uid)
            if r is None:
                r = Run(self, ns, name, uid)
            else:
                r.stopped = True
                r.evicted = msg
                self._kill(r)
            self._finish(r, None, now_rfc3339(), evicted=msg)
        execws.kill_all(uid)
        return {"evicted": "%s/%s" % (ns, name)}

    def send_signal(self, ns, name, signame):
        """POST /_admin/signal: send STOP or CONT to the process group of a running pod
        (e.g. a test resumes a process that stopped itself at a chosen point)."""
        sig = {"STOP": signal.SIGSTOP, "CONT": signal.SIGCONT}.get(signame)
        if sig is None:
            raise ApiError(400, "BadRequest", "signal must be STOP or CONT")
        c = self.cluster
        with c.lock:
            e = c.store.get(("", "pods"), ns, name)
            if e is None:
                raise ApiError(404, "NotFound", 'pods "%s" not found' % name, {"name": name, "kind": "pods"})
            uid = e.obj["metadata"]["uid"]
        with self.lock:
            r = self.runs.get(uid)
        p = r.proc if r is not None else None
        if p is None or p.poll() is not None:
            raise ApiError(409, "Conflict", 'pod "%s/%s" has no running process' % (ns, name))
        try:
            os.killpg(p.pid, sig)
        except OSError as ex:
            raise ApiError(409, "Conflict", 'pod "%s/%s": %s' % (ns, name, ex.strerror))
        return {"signalled": "%s/%s" % (ns, name), "signal": signame}

    def kill_all(self):
        with self.lock:
            rs = list(self.runs.values())
        for r in rs:
            r.stopped = True
            self._kill(r)

    @staticmethod
    def _kill(r):
        p = r.proc
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass

    def _pod(self, r):
        e = self.cluster.store.get(("", "pods"), r.ns, r.name)
        if e is None or e.obj["metadata"]["uid"] != r.uid:
            return None
        return e.obj

    def poddir(self, uid):
        return os.path.join(self.cluster.opts.state_dir, "pods", uid)

    def log_path(self, uid, cname):
        return os.path.join(self.poddir(uid), "c-%s.log" % cname)

    # ------------------------------------------------------------ the run
    def _thread(self, r):
        restarts = 0
        t0 = time.time()
        while True:
            res = self._once(r, restarts, t0)
            if res is None or r.stopped:
                return
            code, policy = res
            if r.deadline_hit or policy == "Never" or (policy == "OnFailure" and code == 0):
                return
            restarts += 1
            time.sleep(min(10.0, 0.2 * (2 ** min(restarts, 6))))
            if r.stopped:
                return

    def _once(self, r, restarts, t0):
        """One run of the container; (exit code, restart policy), or None when the pod is gone
        or cannot start."""
        c = self.cluster
        with c.lock:
            pod = self._pod(r)
            if pod is None:
                return None
            spec = pod.get("spec") or {}
            cont = spec["containers"][0]
            policy = spec.get("restartPolicy") or "Always"
            fault = self.faults.pod_fault(pod) if self.faults is not None else None
            started = now_rfc3339()
            if fault is not None:
                if fault.action == "pod-evict":
                    self._finish(r, None, started, evicted=fault.spec.get("message") or EVICT_MSG)
                    return None
                if fault.action == "pod-fail":
                    code = int(fault.spec.get("exit_code", 1))
                    msg = str(fault.spec.get("message", ""))
                    self._finish(r, code, started, msg=msg, restarts=restarts)
                    return code, policy
            rfd, wfd = os.pipe()
            try:
                sspec, logp, termp = self._spec(pod, cont)
                if fault is not None and fault.action == "pod-env":
                    sspec["env"].update(fault.spec["env"])
                sspec["errfd"] = wfd
                # the spec goes through a file in the pod's 0700 directory, not argv:
                # its environment may hold Secret values
                specp = os.path.join(self.poddir(r.uid), "c-%s.spec" % cont.get("name", "_"))
                fd = os.open(specp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    json.dump(sspec, f)
            except (ApiError, ValueError, OSError) as ex:
                os.close(rfd)
                os.close(wfd)
                self._waiting(r, "CreateContainerConfigError", getattr(ex, "message", None) or str(ex))
                return None
            self._set_running(r, started, restarts)
        try:
            log = open(logp, "ab")
        except OSError:         # the pod was deleted meanwhile
            os.close(wfd)
            os.close(rfd)
            return None
        try:
            p = subprocess.Popen([sys.executable, "-S", execws.SANDBOX, "@" + specp],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 pass_fds=(wfd,), close_fds=True, start_new_session=True, cwd="/")
        except OSError as ex:
            os.close(wfd)
            os.close(rfd)
            log.close()
            with c.lock:
                self._finish(r, 128, started, reason="StartError", msg=str(ex), restarts=restarts)
            return 128, policy
        finally:
            log.close()
        os.close(wfd)
        r.proc = p
        if r.stopped:
            self._kill(r)
        err = b""
        while True:
            b = os.read(rfd, 65536)
            if not b:
                break
            err += b
        os.close(rfd)
        ads = spec.get("activeDeadlineSeconds")
        try:
            if ads is not None:
                left = max(0.0, t0 + float(ads) - time.time())
                p.wait(timeout=left)
            else:
                p.wait()
        except subprocess.TimeoutExpired:
            r.deadline_hit = True
            self._kill(r)
            p.wait()
        code = p.returncode
        if code < 0:
            code = 128 - code
        if r.stopped:
            return None
        with c.lock:
            if err:
                msg = err.decode("utf-8", "replace")[1:]
                self._finish(r, 128, started, reason="StartError", msg=msg, restarts=restarts)
                return 128, policy
            if r.deadline_hit:
                self._finish(r, code, started, deadline=True, restarts=restarts)
                return code, policy
            msg = self._termination_message(cont, termp, logp, code)
            self._finish(r, code, started, msg=msg, restarts=restarts)
        return code, policy

    def _termination_message(self, cont, termp, logp, code):
        msg = ""
        try:
            with open(termp, "rb") as f:
                msg = f.read(TERMINATION_MAX).decode("utf-8", "replace")
        except OSError:
            pass
        if not msg and code != 0 and cont.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            try:
                with open(logp, "rb") as f:
                    f.seek(0, os.SEEK_END)
                    n = f.tell()
                    f.seek(max(0, n - 2048))
                    tail = f.read().decode("utf-8", "replace")
                msg = "\n".join(tail.split("\n")[-FALLBACK_LINES:])
            except OSError:
                pass
        return msg

    # ------------------------------------------------------------ the sandbox spec
    def _spec(self, pod, cont):
        """The sandbox spec of the container (cluster lock held), its log and termination
        message paths on the host."""
        c = self.cluster
        md = pod["metadata"]
        spec = pod.get("spec") or {}
        ns = md["namespace"]
        image_kahu = is_kahu_image(cont.get("image"))
        command = list(cont.get("command") or [])
        args = list(cont.get("args") or [])
        if image_kahu:
            argv = (command or ["/usr/bin/kahu"]) + (args if (args or command) else ["--help"])
        else:
            argv = command + args
        if not argv:
            raise ValueError("container %s: no command (the test cluster knows no image's entrypoint "
                             "but the kahu image's)" % cont.get("name"))
        if argv[0] in KAHU_NAMES:
            argv[0] = KAHU_IN_POD
        sd = c.opts.state_dir
        sspec = execws.sandbox_spec(c, pod, cont, argv, sd)
        poddir = self.poddir(md["uid"])
        cname = cont.get("name", "_")
        for v in spec.get("volumes") or []:
            if "emptyDir" in v:
                vdir = os.path.join(poddir, "volumes", v.get("name") or "_")
                if os.path.isdir(vdir):
                    os.chmod(vdir, 0o777)
            elif "secret" in v or "configMap" in v:
                self._fs_group(os.path.join(poddir, "volumes", v.get("name") or "_"), spec)
        mounts = sspec["mounts"]
        dsts = set(m["dst"].rstrip("/") for m in mounts)
        if image_kahu or argv[0] == KAHU_IN_POD:
            if not self.kahu_binary:
                raise ValueError("the test cluster was started without --kahu-binary: it cannot run the kahu image")
            mounts.append({"name": "kahu-binary", "src": os.path.abspath(self.kahu_binary), "dst": KAHU_IN_POD,
                           "ro": True})
            for i, d in enumerate(self.kahu_providers):
                mounts.append({"name": "kahu-providers-%d" % i, "src": os.path.abspath(d),
                               "dst": "%s/%d" % (PROVIDERS_IN_POD, i), "ro": True})
        # the termination message file, writable by the container's user
        termp = os.path.join(poddir, "c-%s.termination" % cname)
        with open(termp, "wb"):
            pass
        os.chmod(termp, 0o666)
        tmp_path = cont.get("terminationMessagePath") or "/dev/termination-log"
        mounts.append({"name": "termination-log", "src": termp, "dst": tmp_path, "ro": False})
        # the service account's projected files
        if self._automount(pod) and SA_DIR not in dsts:
            mounts.append({"name": "kube-api-access", "src": self._sa_files(pod, poddir), "dst": SA_DIR,
                           "ro": True})
        sspec["private_dev"] = True
        env = sspec["env"]
        if image_kahu:
            env["HOME"] = "/nonexistent"
            env["TMPDIR"] = "/tmp"
            if self.kahu_providers:
                env["KAHU_PLUGIN_PATH"] = ":".join("%s/%d" % (PROVIDERS_IN_POD, i)
                                                   for i in range(len(self.kahu_providers)))
        host, _, port = (c.registry.server_address or "127.0.0.1:443").rpartition(":")
        env.update({"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port,
                    "KUBERNETES_SERVICE_PORT_HTTPS": port, "KUBERNETES_PORT": "tcp://%s:%s" % (host, port)})
        self._env(pod, cont, env)
        if image_kahu and sspec.get("uid") is None:
            sspec["uid"] = 65532          # the image's USER 65532:65532
            sspec["gid"] = 65532
        if sspec.get("uid") is not None and (spec.get("securityContext") or {}).get("fsGroup") is not None:
            sspec["groups"] = list(sspec.get("groups") or []) + [int(spec["securityContext"]["fsGroup"])]
        logp = self.log_path(md["uid"], cname)
        return sspec, logp, termp

    @staticmethod
    def _fs_group(vdir, spec):
        fsg = (spec.get("securityContext") or {}).get("fsGroup")
        if fsg is None or not os.path.isdir(vdir):
            return
        # as the kubelet's volume ownership: group fsGroup, group-readable (read-only
        # volumes), directories setgid
        for dp, dns, fns in os.walk(vdir):
            for n in fns:
                p = os.path.join(dp, n)
                os.chown(p, 0, int(fsg))
                os.chmod(p, (os.stat(p).st_mode & 0o7777) | 0o440)
            os.chown(dp, 0, int(fsg))
            os.chmod(dp, (os.stat(dp).st_mode & 0o7777) | 0o2550)

    def _automount(self, pod):
        spec = pod.get("spec") or {}
        if spec.get("automountServiceAccountToken") is not None:
            return bool(spec["automountServiceAccountToken"])
        sa = self.cluster.store.get(("", "serviceaccounts"), pod["metadata"]["namespace"],
                                    spec.get("serviceAccountName") or "default")
        if sa is not None and sa.obj.get("automountServiceAccountToken") is not None:
            return bool(sa.obj["automountServiceAccountToken"])
        return True

    def _sa_files(self, pod, poddir):
        md = pod["metadata"]
        spec = pod.get("spec") or {}
        ns = md["namespace"]
        sa = spec.get("serviceAccountName") or "default"
        d = os.path.join(poddir, "serviceaccount")
        os.makedirs(d, mode=0o755, exist_ok=True)
        with self.lock:
            tok = next((t for t, u in self.tokens.items() if u[2] == md["uid"]), None)
            if tok is None:
                tok = "kahu-sa." + secrets.token_urlsafe(32)
                self.tokens[tok] = ("system:serviceaccount:%s:%s" % (ns, sa),
                                    ["system:serviceaccounts", "system:serviceaccounts:" + ns,
                                     "system:authenticated"], md["uid"])
        fsg = (spec.get("securityContext") or {}).get("fsGroup")
        for name, data in (("token", tok), ("ca.crt", self.cluster.ca_pem), ("namespace", ns)):
            p = os.path.join(d, name)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(data)
            os.chmod(p, 0o644)      # the projected volume's defaultMode 420
            if fsg is not None:
                os.chown(p, 0, int(fsg))
        return d

    def _env(self, pod, cont, env):
        c = self.cluster
        ns = pod["metadata"]["namespace"]

        def source(kind, name, key, optional):
            import base64
            e = c.store.get(("", "secrets" if kind == "secret" else "configmaps"), ns, name or "")
            if e is None:
                if optional:
                    return None
                raise ValueError('%s "%s" not found' % (kind, name))
            data = e.obj.get("data") or {}
            if key is None:
                out = {}
                for k, v in data.items():
                    out[k] = base64.b64decode(v).decode("utf-8", "replace") if kind == "secret" else str(v)
                return out
            if key not in data:
                if optional:
                    return None
                raise ValueError("couldn't find key %s in %s %s/%s" % (key, kind.capitalize(), ns, name))
            v = data[key]
            return base64.b64decode(v).decode("utf-8", "replace") if kind == "secret" else str(v)

        for ef in cont.get("envFrom") or []:
            pre = ef.get("prefix") or ""
            for kind, ref in (("secret", ef.get("secretRef")), ("configmap", ef.get("configMapRef"))):
                if ref is not None:
                    vals = source(kind, ref.get("name"), None, ref.get("optional"))
                    for k, v in (vals or {}).items():
                        env[pre + k] = v
        for e in cont.get("env") or []:
            n = e.get("name")
            if not n:
                continue
            if "value" in e:
                env[n] = str(e.get("value") or "")
                continue
            vf = e.get("valueFrom") or {}
            v = None
            if vf.get("secretKeyRef") is not None:
                ref = vf["secretKeyRef"]
                v = source("secret", ref.get("name"), ref.get("key"), ref.get("optional"))
            elif vf.get("configMapKeyRef") is not None:
                ref = vf["configMapKeyRef"]
                v = source("configmap", ref.get("name"), ref.get("key"), ref.get("optional"))
            elif vf.get("fieldRef") is not None:
                v = _field(pod, vf["fieldRef"].get("fieldPath"))
            if v is not None:
                env[n] = str(v)

    # ------------------------------------------------------------ status updates (lock held)
    def _store_status(self, r, mutate):
        c = self.cluster
        pod = self._pod(r)
        if pod is None:
            return
        rt = c.registry.by_key[("", "pods")]
        from .cluster import jcopy
        new = jcopy(pod)
        st = new.setdefault("status", {})
        old_phase = st.get("phase")
        mutate(new, st)
        c._store(rt, new)
        if st.get("phase") != old_phase or st.get("phase") in ("Succeeded", "Failed"):
            for f in self.on_change:
                f(new)

    def _cstatus(self, st):
        cs = st.get("containerStatuses") or [{}]
        st["containerStatuses"] = cs
        return cs[0]

    def _set_running(self, r, started, restarts):
        def m(pod, st):
            cs = self._cstatus(st)
            cs.update(ready=True, started=True, restartCount=restarts)
            last = (cs.get("state") or {}).get("terminated")
            if last:
                cs["lastState"] = {"terminated": last}
            cs["state"] = {"running": {"startedAt": started}}
            st["phase"] = "Running"
            self._conds(st, True)
        self._store_status(r, m)

    def _waiting(self, r, reason, msg):
        def m(pod, st):
            cs = self._cstatus(st)
            cs.update(ready=False, started=False, state={"waiting": {"reason": reason, "message": msg}})
            st["phase"] = "Pending"
            self._conds(st, False, "ContainersNotReady")
        self._store_status(r, m)

    @staticmethod
    def _conds(st, ready, reason=None):
        t = now_rfc3339()
        for cd in st.get("conditions") or []:
            if cd.get("type") in ("Ready", "ContainersReady"):
                want = "True" if ready else "False"
                if cd.get("status") != want:
                    cd["status"] = want
                    cd["lastTransitionTime"] = t
                if ready:
                    cd.pop("reason", None)
                elif reason:
                    cd["reason"] = reason

    def _finish(self, r, code, started, msg="", reason=None, restarts=0, deadline=False, evicted=None):
        def m(pod, st):
            spec = pod.get("spec") or {}
            policy = spec.get("restartPolicy") or "Always"
            cs = self._cstatus(st)
            t = now_rfc3339()
            term = {"exitCode": 137 if code is None else code,
                    "reason": reason or ("Completed" if code == 0 else "Error"),
                    "startedAt": started, "finishedAt": t}
            if msg:
                term["message"] = msg
            cs.update(ready=False, started=False, restartCount=restarts, state={"terminated": term})
            cs.pop("lastState", None) if restarts == 0 else None
            if evicted is not None:
                st["phase"] = "Failed"
                st["reason"] = "Evicted"
                st["message"] = evicted
                term["reason"] = "ContainerStatusUnknown"
                term["message"] = "The container could not be located when the pod was terminated"
            elif deadline:
                st["phase"] = "Failed"
                st["reason"] = "DeadlineExceeded"
                st["message"] = DEADLINE_MSG
            elif policy == "Never" or (policy == "OnFailure" and code == 0):
                st["phase"] = "Succeeded" if code == 0 else "Failed"
            else:
                # restarted by this kubelet after a back-off: CrashLoopBackOff meanwhile
                st["phase"] = "Running"
                cs["lastState"] = {"terminated": term}
                cs["state"] = {"waiting": {"reason": "CrashLoopBackOff",
                                           "message": "back-off restarting failed container %s" % cs.get("name")}}
            done = st["phase"] in ("Succeeded", "Failed")
            self._conds(st, False, ("PodCompleted" if st["phase"] == "Succeeded" else "PodFailed") if done
                        else "ContainersNotReady")
        self._store_status(r, m)
        if evicted is not None or deadline:
            with self.lock:
                self.runs.pop(r.uid, None)

    # ------------------------------------------------------------ the log
    def log(self, pod, q):
        """GET pods/NAME/log: the container's stdout and stderr so far (follow is not
        supported: the log as it stands)."""
        from .errors import ApiError as E
        spec = pod.get("spec") or {}
        conts = spec.get("containers") or []
        cname = q.get("container")
        if not cname:
            if len(conts) != 1:
                raise E(400, "BadRequest", "a container name must be specified for pod %s, choose one of: [%s]"
                        % (pod["metadata"]["name"], " ".join(x.get("name", "") for x in conts)))
            cname = conts[0].get("name")
        elif not any(x.get("name") == cname for x in conts):
            raise E(400, "BadRequest", "container %s is not valid for pod %s" % (cname, pod["metadata"]["name"]))
        cs = next((s for s in (pod.get("status") or {}).get("containerStatuses") or [] if s.get("name") == cname),
                  {})
        waiting = (cs.get("state") or {}).get("waiting")
        p = self.log_path(pod["metadata"]["uid"], cname)
        if waiting and not os.path.exists(p):
            raise E(400, "BadRequest", 'container "%s" in pod "%s" is waiting to start: %s'
                    % (cname, pod["metadata"]["name"], waiting.get("reason", "ContainerCreating")))
        try:
            with open(p, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        # as kube-apiserver: integers, tailLines >= 0, limitBytes >= 1 (422 Invalid
        # otherwise); the tail first (its lines end at "\n"; a last line without one
        # counts), then at most limitBytes bytes of it from its start
        def integer(name):
            v = q.get(name)
            if v in (None, ""):
                return None
            try:
                return int(v)
            except ValueError:
                raise E(400, "BadRequest", 'strconv.ParseInt: parsing "%s": invalid syntax' % v)
        tl, lb = integer("tailLines"), integer("limitBytes")
        causes = []
        if tl is not None and tl < 0:
            causes.append(("tailLines", tl, "must be greater than or equal to 0"))
        if lb is not None and lb < 1:
            causes.append(("limitBytes", lb, "must be greater than 0"))
        if causes:
            pname = pod["metadata"]["name"]
            raise E(422, "Invalid", 'PodLogOptions "%s" is invalid: %s' % (
                pname, ", ".join("%s: Invalid value: %d: %s" % c for c in causes)),
                {"name": pname, "kind": "PodLogOptions",
                 "causes": [{"reason": "FieldValueInvalid", "message": "Invalid value: %d: %s" % (c[1], c[2]),
                             "field": c[0]} for c in causes]})
        if tl is not None:
            lines = data.splitlines(True)
            data = b"".join(lines[max(0, len(lines) - tl):])
        if lb is not None:
            data = data[:lb]
        return data

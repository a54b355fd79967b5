"""Command line, start-up, authentication/authorization, persistence."""
import argparse
import hmac
import json
import os
import signal
import ssl
import sys
import threading
import time

from . import tls, seed as seedmod, generate, execws, watch as watchmod
from .cluster import Cluster
from .errors import ApiError
from .faults import Faults, FaultError
from . import rbac
from .server import Server, Stats, ADMIN_USER, READ_VERBS

GIT_VERSION = "v1.30.6"
DEFAULT_FORBID = ["secrets", "roles.rbac.authorization.k8s.io"]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="kahu-test-cluster",
                                description="A Kubernetes API server for kahu's tests (127.0.0.1, HTTPS).")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = ephemeral)")
    p.add_argument("--state-dir", required=True, help="certificates, tokens, kubeconfig, persisted store")
    p.add_argument("--kubeconfig", help="kubeconfig to write (default STATE/kubeconfig)")
    p.add_argument("--tenant-namespaces", default="tenant", metavar="NS,...",
                   help="the namespaces user 'tenant' may use (anything in them, pods/exec too; "
                        "nothing cluster-scoped, no list across namespaces; default tenant)")
    p.add_argument("--forbid", action="append", metavar="RESOURCE[.GROUP]",
                   help="resource the 'limited' user may not get/list/watch (repeatable; "
                        "default: secrets, roles.rbac.authorization.k8s.io)")
    p.add_argument("--crd-delay", type=float, default=0.0, help="seconds until a new CRD is established")
    p.add_argument("--continue-ttl", type=float, default=0.0,
                   help="seconds after which continue tokens expire (0 = never)")
    p.add_argument("--no-aggregated-discovery", action="store_true", help="serve only legacy discovery")
    p.add_argument("--seed", action="append", default=[], metavar="FILE|DIR",
                   help="manifests to load at start (repeatable; directories recursively)")
    p.add_argument("--synthetic", type=int, default=0, metavar="N", help="create N synthetic ConfigMaps")
    p.add_argument("--synthetic-namespaces", type=int, default=10, metavar="K")
    p.add_argument("--synthetic-size", type=int, default=64, metavar="BYTES")
    p.add_argument("--crds", type=int, default=0, metavar="N",
                   help="generate N large CRDs (realistic openAPI v3 schemas)")
    p.add_argument("--crd-size", type=int, default=1048576, metavar="BYTES", help="size of each generated CRD")
    p.add_argument("--pods", type=int, default=0, metavar="N", help="generate N Pods with large managedFields")
    p.add_argument("--pod-namespaces", type=int, default=10, metavar="K")
    p.add_argument("--pod-managed-fields", type=int, default=16384, metavar="BYTES",
                   help="size of each generated Pod's managedFields")
    p.add_argument("--mixed", type=int, default=0, metavar="N",
                   help="generate N objects of 1-4 KB: ConfigMaps, Secrets, Services, Deployments")
    p.add_argument("--mixed-namespaces", type=int, default=50, metavar="K")
    p.add_argument("--mixed-size", default="1024-4096", metavar="MIN-MAX", help="sizes of the mixed objects")
    p.add_argument("--no-save", action="store_true", help="do not write store.json when stopped")
    p.add_argument("--fault", action="append", default=[], metavar="JSON", help="fault rule(s) (repeatable)")
    p.add_argument("--fresh", action="store_true", help="ignore a persisted store in the state dir")
    p.add_argument("--pod-start-delay", type=float, default=0.0, metavar="S",
                   help="seconds a new pod stays Pending before it is Running (default 0)")
    p.add_argument("--snapshot-delay", type=float, default=0.0, metavar="S",
                   help="seconds until a VolumeSnapshot is readyToUse (default 0; at least the copy's time)")
    p.add_argument("--nodes", type=int, default=1, metavar="N",
                   help="nodes of a fresh cluster: node-1..node-N (one: kahu-test-node)")
    p.add_argument("--watch-window", type=int, default=1000, metavar="N",
                   help="events kept for watches to resume from (older resourceVersions are Expired)")
    p.add_argument("--watch-bookmark-interval", type=float, default=60.0, metavar="S",
                   help="seconds between BOOKMARK events (allowWatchBookmarks=true)")
    p.add_argument("--kahu-binary", metavar="PATH",
                   help="the kahu binary that pods of the kahu image run (README: Jobs and running pods)")
    p.add_argument("--kahu-providers", metavar="DIRS",
                   help="colon-separated directories of storage providers (kahu-NAME.so) that pods of "
                        "the kahu image find (README: Jobs and running pods)")
    p.add_argument("--log-requests", action="store_true", help="one line per request on stderr")
    return p.parse_args(argv)


class App:
    def __init__(self, opts):
        self.opts = opts
        self.git_version = GIT_VERSION
        self.stats = Stats()
        self.faults = Faults()
        self.watch_hub = watchmod.Hub(getattr(opts, "watch_bookmark_interval", 60.0))
        self.state_dir = os.path.abspath(opts.state_dir)
        opts.state_dir = self.state_dir
        os.makedirs(self.state_dir, exist_ok=True)
        self.certs = tls.ensure_certs(self.state_dir)
        self.tokens = tls.ensure_tokens(self.state_dir)
        self.tokens_by_value = {
            self.tokens["admin"]: (ADMIN_USER, ["system:masters", "system:authenticated"]),
            self.tokens["limited"]: ("limited", ["system:authenticated"]),
            self.tokens["tenant"]: ("tenant", ["system:authenticated"]),
        }
        self.tenant_namespaces = set(n for n in (opts.tenant_namespaces or "").split(",") if n)
        self.forbid = set()
        for f in (opts.forbid if opts.forbid else DEFAULT_FORBID):
            res, _, grp = f.partition(".")
            self.forbid.add((grp, res))
        with open(self.certs["ca.crt"]) as f:
            ca_pem = f.read()
        self.cluster = Cluster(opts, ca_pem)
        self.cluster.store.window = max(1, int(getattr(opts, "watch_window", 1000) or 1000))
        self.registry = self.cluster.registry
        self.cluster.kubelet.faults = self.faults
        self.store_path = os.path.join(self.state_dir, "store.json")
        self.save_lock = threading.Lock()

    # --- auth ----------------------------------------------------------------------
    def authenticate(self, h):
        try:
            cert = h.connection.getpeercert()
        except (AttributeError, ValueError):
            cert = None
        if cert:
            cn, orgs = None, []
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
                    elif k == "organizationName":
                        orgs.append(v)
            if cn:
                return cn, orgs + ["system:authenticated"]
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[7:].strip()
            for v, u in self.tokens_by_value.items():
                if hmac.compare_digest(v, tok):
                    return u[0], list(u[1])
            sa = self.cluster.kubelet.token_user(tok)      # a running pod's service account
            if sa is not None:
                return sa
        return None, []

    def known_user(self, user, groups):
        return "system:masters" in groups or user in ("limited", "tenant")

    def allowed(self, user, groups, verb, group, resource, ns=None, name=None):
        return self.decide(user, groups, verb, group, resource, ns, name)[0]

    def decide(self, user, groups, verb, group, resource, ns=None, name=None):
        """(allowed, reason): service accounts by RBAC (rbac.py), the test users by their
        fixed rights."""
        if "system:masters" in groups:
            return True, rbac.MASTERS_REASON
        if (user or "").startswith("system:serviceaccount:"):
            return rbac.decide(self.cluster, user, groups, verb, group, resource, ns, name)
        ok = self.fixed_rights(user, verb, group, resource, ns)
        return ok, ('RBAC: allowed by ClusterRoleBinding "kahu-test-%s" of ClusterRole "kahu-test-%s" '
                    'to User "%s"' % (user, user, user)) if ok else ""

    def fixed_rights(self, user, verb, group, resource, ns):
        if user == "tenant":
            # RoleBindings in its namespaces only: nothing cluster-scoped, no list
            # across namespaces
            return bool(ns) and ns in self.tenant_namespaces
        if user == "limited":
            if resource == "pods/exec":
                return False
            if (verb in READ_VERBS or verb == "*") and ((group or "", resource) in self.forbid):
                return False
            return True
        return user not in ("", None, "system:anonymous")

    def authorize(self, user, groups, req):
        # pods/log is authorized as its own resource (`--forbid pods/log` takes it from
        # user limited); other subresources as their resource
        checked = req.resource + "/log" if req.sub == "log" else req.resource
        if (user or "").startswith("system:serviceaccount:") and req.sub:
            checked = req.resource + "/" + req.sub      # RBAC: every subresource as its own
        if self.allowed(user, groups, req.verb, req.group, checked, req.ns, req.name):
            return
        self.stats.forbidden(user, req.verb, req.group, checked, req.ns)
        res = req.resource
        subject = '%s "%s"' % (res if not req.group else "%s.%s" % (res, req.group), req.name) if req.name else \
            (res if not req.group else "%s.%s" % (res, req.group))
        where = 'in the namespace "%s"' % req.ns if req.ns else "at the cluster scope"
        msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s' % (
            subject, user, req.verb, checked, req.group, where)
        d = {"kind": res}
        if req.name:
            d = {"name": req.name, "kind": res}
        if req.group:
            d["group"] = req.group
        raise ApiError(403, "Forbidden", msg, d)

    def version_info(self):
        return {"major": "1", "minor": "30", "gitVersion": self.git_version,
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2024-10-22T20:00:00Z", "goVersion": "go1.22.8", "compiler": "gc",
                "platform": "linux/amd64"}

    # --- persistence -----------------------------------------------------------------
    def save(self):
        with self.save_lock:
            st = self.cluster.snapshot_state()
            tmp = self.store_path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(st, f, separators=(",", ":"))
            os.replace(tmp, self.store_path)
            return self.store_path

    def load_or_bootstrap(self):
        if os.path.exists(self.store_path) and not self.opts.fresh:
            with open(self.store_path, encoding="utf-8") as f:
                st = json.load(f)
            self.cluster.load_state(st)
            if st.get("crd_delay") is not None and not self.opts.crd_delay:
                pass
            return "loaded"
        self.cluster.bootstrap()
        return "bootstrapped"


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        app = App(opts)
        app.load_or_bootstrap()
        for f in opts.fault:
            app.faults.add(json.loads(f))
        if opts.seed:
            rep = seedmod.seed_paths(app.cluster, opts.seed)
            if rep["errors"]:
                for e in rep["errors"]:
                    sys.stderr.write("kahu-test-cluster: seed: %s\n" % e)
                sys.stderr.write("kahu-test-cluster: %d seed errors\n" % len(rep["errors"]))
                return 2
        if opts.synthetic:
            seedmod.synthetic(app.cluster, opts.synthetic, opts.synthetic_namespaces, "ConfigMap", opts.synthetic_size)
        if opts.crds:
            generate.crds(app.cluster, opts.crds, opts.crd_size)
        if opts.pods:
            generate.pods(app.cluster, opts.pods, opts.pod_namespaces, opts.pod_managed_fields)
        if opts.mixed:
            lo, sep, hi = opts.mixed_size.partition("-")
            try:
                lo, hi = int(lo), int(hi if sep else lo)
            except ValueError:
                raise ValueError("--mixed-size: expected MIN-MAX in bytes, not %r" % opts.mixed_size)
            generate.mixed(app.cluster, opts.mixed, opts.mixed_namespaces, lo, hi)
    except (FaultError, ValueError, OSError, RuntimeError, ApiError) as ex:
        sys.stderr.write("kahu-test-cluster: %s\n" % ex)
        return 2
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(app.certs["server.crt"], app.certs["server.key"])
    ctx.load_verify_locations(app.certs["ca.crt"])
    ctx.verify_mode = ssl.CERT_OPTIONAL
    try:
        ctx.set_alpn_protocols(["http/1.1"])
    except NotImplementedError:
        pass
    srv = Server(("127.0.0.1", opts.port), app, ctx)
    port = srv.server_address[1]
    url = "https://127.0.0.1:%d" % port
    app.registry.server_address = "127.0.0.1:%d" % port
    kc = opts.kubeconfig or os.path.join(app.state_dir, "kubeconfig")
    tls.write_kubeconfig(kc, url, app.certs, app.tokens)
    with open(os.path.join(app.state_dir, "url"), "w") as f:
        f.write(url + "\n")
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    sys.stdout.write("READY %s\n" % url)
    sys.stdout.flush()
    while not stop.wait(1.0):
        pass
    try:
        if not opts.no_save:
            app.save()
    except Exception as ex:
        sys.stderr.write("kahu-test-cluster: saving state failed: %s\n" % ex)
    srv.shutdown()
    srv.server_close()
    execws.kill_all()
    app.cluster.kubelet.kill_all()
    sys.stderr.flush()
    os._exit(0)

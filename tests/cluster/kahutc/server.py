"""HTTPS server, routing, auth, content negotiation, admin endpoints and statistics."""
import email.utils
import hmac
import json
import re
import ssl
import sys
import threading
import time
import traceback
import http.client
import http.server
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit, parse_qsl, unquote

from . import errors, execws, generate, rbac, seed as seedmod, tables, watch as watchmod
from .errors import ApiError
from .faults import FaultError, BODY_ACTIONS, TRANSPORT_ACTIONS
from .loop import LoopServer

AGG_RE = re.compile(r'application/json\s*;\s*g=apidiscovery\.k8s\.io\s*;\s*v=(v2|v2beta1)\s*;\s*as=APIGroupDiscoveryList')
ADMIN_USER = "kahu-test-admin"
READ_VERBS = ("get", "list", "watch")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.exec_active = 0
        self.reset()

    def reset(self):
        with self.lock:
            self.total = 0
            self.by_method = {}
            self.by_verb = {}
            self.by_path = {}
            self.by_resource = {}
            self.by_code = {}
            self.writes = 0
            self.dry_run = 0
            self.exec_total = 0
            self.bytes_out_by_user = {}
            self.forbidden_by_user = {}
            self.peak = self.in_flight
            self.started = time.time()

    def enter(self):
        with self.lock:
            self.in_flight += 1
            if self.in_flight > self.peak:
                self.peak = self.in_flight

    def exec_begin(self):
        with self.lock:
            self.exec_active += 1
            self.exec_total += 1

    def exec_end(self):
        with self.lock:
            self.exec_active -= 1

    def leave(self):
        with self.lock:
            self.in_flight -= 1

    def count(self, method, verb, pattern, resource, dry, write):
        with self.lock:
            self.total += 1
            self.by_method[method] = self.by_method.get(method, 0) + 1
            if verb:
                self.by_verb[verb] = self.by_verb.get(verb, 0) + 1
            self.by_path[pattern] = self.by_path.get(pattern, 0) + 1
            if resource:
                r = self.by_resource.setdefault(resource, {})
                r[verb] = r.get(verb, 0) + 1
            if dry:
                self.dry_run += 1
            elif write:
                self.writes += 1

    def sent(self, user, n):
        """Response body bytes (and exec stdout bytes) sent to a user."""
        with self.lock:
            u = user or "-"
            self.bytes_out_by_user[u] = self.bytes_out_by_user.get(u, 0) + n

    def forbidden(self, user, verb, group, resource, ns):
        """A request refused by authorization: what (at most 100 kept per user)."""
        with self.lock:
            what = "%s %s%s%s" % (verb, resource, "." + group if group else "", " in " + ns if ns else "")
            lst = self.forbidden_by_user.setdefault(user or "-", [])
            if len(lst) < 100:
                lst.append(what)

    def code(self, c):
        with self.lock:
            self.by_code[str(c)] = self.by_code.get(str(c), 0) + 1

    def report(self, faults):
        with self.lock:
            return {"total": self.total, "by_method": self.by_method, "by_verb": self.by_verb,
                    "writes": self.writes, "dry_run": self.dry_run, "peak_concurrency": self.peak,
                    "in_flight": self.in_flight, "by_path": self.by_path, "by_resource": self.by_resource,
                    "by_code": self.by_code, "faults_fired": faults.fired_total,
                    "exec_sessions": self.exec_total, "exec_active": self.exec_active,
                    "bytes_out_by_user": dict(self.bytes_out_by_user),
                    "forbidden_by_user": {u: list(v) for u, v in self.forbidden_by_user.items()},
                    "seconds": round(time.time() - self.started, 3)}


class Request:
    """What the router learnt about one API request."""
    __slots__ = ("group", "version", "ns", "resource", "name", "sub", "verb", "rt")

    def __init__(self):
        self.group = self.version = self.ns = self.resource = self.name = self.sub = self.verb = None
        self.rt = None


def parse_accept(h):
    out = []
    for part in (h or "").split(","):
        part = part.strip()
        if part:
            out.append(part)
    return out


_date = [0, ""]


def http_date():
    """The Date header, formatted once a second."""
    now = int(time.time())
    if _date[0] != now:
        _date[1] = email.utils.formatdate(now, usegmt=True)
        _date[0] = now
    return _date[1]


class Headers:
    """Request headers: what http.server and the handler read of them (get, [],
    in, get_all, items), parsed without the email package, which costs more per
    request than the rest of a create."""

    def __init__(self, pairs):
        self._pairs = pairs
        self._first = {}
        for k, v in pairs:
            self._first.setdefault(k.lower(), v)

    def get(self, name, default=None):
        return self._first.get(name.lower(), default)

    def __getitem__(self, name):
        return self._first.get(name.lower())

    def __contains__(self, name):
        return name.lower() in self._first

    def get_all(self, name, failobj=None):
        vals = [v for k, v in self._pairs if k.lower() == name.lower()]
        return vals or failobj

    def items(self):
        return list(self._pairs)

    def keys(self):
        return [k for k, _ in self._pairs]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._pairs)


def parse_headers(fp, _class=None):
    pairs = []
    while True:
        line = fp.readline(65537)
        if len(line) > 65536:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            break
        if len(pairs) >= 100:
            raise http.client.HTTPException("got more than 100 headers")
        text = line.decode("iso-8859-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and pairs:
            k, v = pairs[-1]
            pairs[-1] = (k, v + " " + text.strip())
            continue
        k, sep, v = text.partition(":")
        if sep:
            pairs.append((k.strip(), v.strip()))
    return Headers(pairs)


# http.server reads request headers through http.client.parse_headers.
http.server.http.client.parse_headers = parse_headers


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kahu-test-cluster"
    sys_version = ""
    timeout = 300

    def log_message(self, fmt, *args):
        pass

    def log_request(self, code="-", size="-"):
        if self.server.app.opts.log_requests:
            sys.stderr.write("kahu-test-cluster: %s %s %s %s\n" % (self.user or "-", self.command, self.path, code))

    # --- plumbing ----------------------------------------------------------------
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(n) if n else b""

    def send(self, code, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.code = code
        if self.command != "HEAD":
            self.server.app.stats.sent(getattr(self, "user", None), len(body))
        if self.transport and code == 200 and self.command != "HEAD":
            return self.send_shaped(code, body, ctype, self.transport[0])
        if self.command != "HEAD" and self.reset_after is None and not headers:
            # The common case, formatted in one go; headers and body in one write: one
            # TLS record and one system call.
            self.log_request(code)
            head = ("%s %d %s\r\nServer: %s\r\nDate: %s\r\nContent-Type: %s\r\n"
                    "Cache-Control: no-cache, private\r\nAudit-Id: %s\r\nContent-Length: %d\r\n\r\n" %
                    (self.protocol_version, code, self.responses.get(code, ("",))[0],
                     self.version_string(), http_date(), ctype, self.audit_id, len(body)))
            self.wfile.write(head.encode("latin-1") + body)
            return
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", self.audit_id)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        if self.command != "HEAD" and self.reset_after is None:
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(body)
            self.flush_headers()
            return
        self.end_headers()
        if self.command != "HEAD":
            if self.reset_after is not None:
                # half the body; the transport then closes the connection with a reset
                self.wfile.write(body[:max(1, len(body) // 2)])
                self.close_connection = True
                return
            self.wfile.write(body)

    def send_shaped(self, code, body, ctype, rule):
        """A response sent in steps by the transport (loop.py): the chunked and
        cut-body faults."""
        self.code = code
        self.log_request(code)
        hdr = ["%s %d %s" % (self.protocol_version, code, self.responses.get(code, ("",))[0]),
               "Server: %s" % self.version_string(), "Date: %s" % http_date(),
               "Content-Type: %s" % ctype, "Cache-Control: no-cache, private", "Audit-Id: %s" % self.audit_id]
        steps = []
        if rule.action == "chunked":
            hdr.append("Transfer-Encoding: chunked")
            holds = [min(len(body), max(0, int(len(body) * h))) for h in rule.hold or []]
            spans = item_spans(body) if holds else []
            pos = 0
            while pos < len(body) or holds:
                while holds and holds[0] == pos:
                    # what the client has when the response stops here
                    steps.append(("hold", {"sent": pos, "size": len(body),
                                           "items_sent": sum(1 for _, e in spans if e <= pos),
                                           "items": len(spans),
                                           "inside_item": any(b < pos < e for b, e in spans)}))
                    holds.pop(0)
                if pos >= len(body):
                    break
                n = rule.piece
                if holds and pos < holds[0] < pos + n:
                    n = holds[0] - pos
                piece = body[pos:pos + n]
                steps.append(("data", b"%x\r\n" % len(piece) + piece + b"\r\n"))
                pos += len(piece)
                if rule.pause_ms and pos < len(body) and not (holds and holds[0] == pos):
                    steps.append(("pause", rule.pause_ms / 1000.0))
            steps.append(("data", b"0\r\n\r\n"))
        else:
            cut = rule.at_byte if rule.at_byte is not None else int(len(body) * rule.at)
            cut = max(0, min(cut, len(body)))
            if rule.framing == "length":
                hdr.append("Content-Length: %d" % len(body))
            else:
                hdr.append("Connection: close")
            steps.append(("data", body[:cut]))
            steps.append(("close", None))
            self.close_connection = True
        self.wfile.write(("\r\n".join(hdr) + "\r\n\r\n").encode("latin-1"))
        self.steps = steps

    def send_error_status(self, ex):
        self.send(ex.code, ex.body(), headers=ex.headers)

    def dispatch(self):
        app = self.server.app
        self.code = 0
        self.counted = False
        self.user = None
        self.reset_after = None
        self.transport = None
        self.faults_applied = False
        self.delay = 0.0
        self.audit_id = "%08x-0000-4000-8000-%012x" % (threading.get_ident() & 0xffffffff, int(time.time() * 1e6) & 0xffffffffffff)
        url = urlsplit(self.path)
        path = url.path
        self.q = dict(parse_qsl(url.query, keep_blank_values=True))
        self.query = url.query
        admin = path.startswith("/_admin/") or path == "/_admin"
        # (the transport counts the request in flight: see loop.py)
        try:
            try:
                body = self.read_body()
                self.user, self.groups = app.authenticate(self)
                if self.user is None:
                    raise ApiError(401, "Unauthorized", "Unauthorized")
                if admin:
                    if "system:masters" not in self.groups:
                        raise ApiError(403, "Forbidden", 'User "%s" cannot use the admin endpoints' % self.user)
                    return self.admin(path, body)
                self.api(path, body)
            except ApiError as ex:
                if not admin and not self.counted:
                    app.stats.count(self.command, None, "unrouted", None, False, False)
                self.send_error_status(ex)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.close_connection = True
            except Exception:
                sys.stderr.write("kahu-test-cluster: internal error on %s %s\n%s" % (self.command, self.path,
                                                                                    traceback.format_exc()))
                try:
                    self.send(500, ApiError(500, "InternalError", "Internal error occurred: see the test "
                                                                  "cluster's stderr").body())
                except Exception:
                    self.close_connection = True
        finally:
            if not admin:
                app.stats.code(self.code)

    # --- API -----------------------------------------------------------------------
    def api(self, path, body):
        app = self.server.app
        cl = app.cluster
        m = self.command
        # Segments are percent-decoded after splitting, as kube-apiserver does
        # ("system%3Aauth-delegator" names the ClusterRole system:auth-delegator).
        segs = [unquote(s) for s in path.split("/") if s]
        accept = parse_accept(self.headers.get("Accept"))
        # non-resource endpoints
        if m in ("GET", "HEAD") and (not segs or segs[0] in ("version", "healthz", "livez", "readyz", "openapi")
                                     or (segs[0] == "api" and len(segs) <= 2)
                                     or (segs[0] == "apis" and len(segs) <= 3)):
            # Faults apply to discovery too (match on method, path_regex, query_regex).
            if self.apply_faults({"method": m, "path": path, "query": self.query, "verb": None,
                                  "resource": None, "group": None}):
                return
            if self.non_resource(segs, accept):
                return
        req = self.route(segs)
        ctx = {"method": m, "path": path, "query": self.query, "verb": req.verb, "resource": req.resource,
               "group": req.group}
        self.ctx = ctx
        pattern = self.pattern(req)
        dry = self.q.get("dryRun") == "All"
        if "dryRun" in self.q and self.q["dryRun"] not in ("All", ""):
            raise errors.bad_request('dryRun: Unsupported value: "%s": supported values: "All"' % self.q["dryRun"])
        if m == "DELETE" and body:
            try:
                dopt = json.loads(body)
                if "All" in (dopt.get("dryRun") or []):
                    dry = True
                if dopt.get("propagationPolicy") and "propagationPolicy" not in self.q:
                    self.q = dict(self.q, propagationPolicy=str(dopt["propagationPolicy"]))
            except (ValueError, AttributeError):
                pass
        write = req.verb in ("create", "update", "patch", "delete", "deletecollection")
        self.counted = True
        app.stats.count(m, req.verb, pattern, (req.resource if not req.group else "%s.%s" % (req.resource, req.group)),
                        dry and write, write)
        if not self.faults_applied and self.apply_faults(ctx):
            return
        if app.registry.broken(req.group, req.version):
            return self.send(503, "service unavailable\n", "text/plain; charset=utf-8")
        rt = cl.rt_for(req.group, req.version, req.resource)
        req.rt = rt
        if req.sub and req.sub not in rt.subs:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if req.ns is not None and not rt.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if req.ns is None and rt.namespaced and req.name:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        app.authorize(self.user, self.groups, req)
        if rt.review:
            return self.review(req, body)
        if req.sub == "exec" and rt.key == ("", "pods"):
            return self.exec_upgrade(req, rt, ctx)
        if req.sub == "log" and rt.key == ("", "pods") and m == "GET":
            return self.send(200, cl.kubelet.log(cl.get(rt, req.version, req.ns or "", req.name).obj, self.q),
                             "text/plain")
        if req.sub == "token" and rt.key == ("", "serviceaccounts") and m == "POST":
            return self.token_request(req, rt, body)
        if req.sub and req.sub not in ("status", "scale"):
            raise ApiError(405, "MethodNotAllowed", "the kahu test cluster does not implement %s/%s yet"
                           % (rt.plural, req.sub))
        # content negotiation
        table_as = any("as=Table" in a for a in accept)
        json_ok = not accept or any(a.split(";")[0].strip() in ("application/json", "*/*", "application/*")
                                    for a in accept)
        if not json_ok and not table_as:
            raise ApiError(406, "NotAcceptable", "the server was unable to respond with a content type that the "
                                                 "client supports")
        ns = req.ns or ""
        v = req.version
        ua = self.headers.get("User-Agent", "")
        if req.verb == "watch":
            return self.watch(rt, v, req.ns, ctx, table_as)
        if req.verb == "list":
            tbl = None
            if table_as:
                tbl = lambda rt_, v_, objs, meta: json.dumps(tables.table(
                    rt_, v_, objs, meta, lambda o: cl.typed(rt_, o, v_), self.q.get("includeObject", "Metadata")),
                    separators=(",", ":")).encode()
            q = self.q
            shapes = []
            if app.faults.rules:
                cl_hook = lambda rt_, page: app.faults.expire_continue(ctx, page)
                shapes = app.faults.shaping(ctx)
            else:
                cl_hook = None
            if any(r.action == "ignore-limit" for r in shapes):
                q = dict(q)
                q.pop("limit", None)
            body = cl.list(rt, v, req.ns, q, tbl, expire_hook=cl_hook)
            if tbl is None:
                body = shape_list_body([r for r in shapes if r.action in BODY_ACTIONS], body, self.q)
            self.transport = [r for r in shapes if r.action in TRANSPORT_ACTIONS]
            return self.send(200, body)
        if req.verb == "get":
            e = cl.get(rt, v, ns, req.name)
            if req.sub == "scale":
                return self.send(200, scale_of(cl.typed(rt, e.obj, v)))
            if table_as:
                return self.send(200, tables.table(rt, v, [e.obj], {"resourceVersion": e.obj["metadata"]["resourceVersion"]},
                                                   lambda o: cl.typed(rt, o, v), self.q.get("includeObject", "Metadata")))
            return self.send(200, cl.with_type(rt, v, e.bytes()))
        if req.verb == "deletecollection":
            return self.send(200, cl.delete_collection(rt, v, req.ns, self.q, dry))
        if req.verb == "delete":
            obj, code = cl.delete(rt, v, ns, req.name, self.q, dry)
            return self.send(code, obj)
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if req.verb == "patch":
            if req.sub == "scale":
                return self.patch_scale(rt, v, ns, req.name, ctype, body, ua, dry)
            obj, code = cl.patch(rt, v, ns, req.name, ctype, body, self.q, ua, dry, req.sub)
            return self.send(code, obj)
        obj_body = self.decode_body(ctype, body)
        if req.verb == "create":
            if req.name:
                raise ApiError(405, "MethodNotAllowed", "POST to a named resource is not allowed")
            obj, code = cl.create(rt, v, ns, obj_body, self.q, ua, dry)
            return self.send(code, obj)
        if req.verb == "update":
            if req.sub == "scale":
                cur = cl.typed(rt, cl.get(rt, v, ns, req.name).obj, v)
                repl = (obj_body.get("spec") or {}).get("replicas")
                cur.setdefault("spec", {})["replicas"] = repl
                cur["metadata"].pop("resourceVersion", None)
                obj, code = cl.update(rt, v, ns, req.name, cur, self.q, ua, dry)
                return self.send(code, scale_of(obj))
            obj, code = cl.update(rt, v, ns, req.name, obj_body, self.q, ua, dry, req.sub)
            return self.send(code, obj)
        raise errors.method_not_allowed()

    def token_request(self, req, rt, body):
        """serviceaccounts/token (kubectl create token): a token of the service account,
        accepted as it until it expires (spec.expirationSeconds, default 3600, at least
        600 as kube-apiserver requires)."""
        cl = self.server.app.cluster
        cl.get(rt, req.version, req.ns, req.name)      # 404 for an unknown account
        try:
            spec = (json.loads(body or b"{}") or {}).get("spec") or {}
        except ValueError:
            raise errors.bad_request("the TokenRequest is not JSON")
        secs = spec.get("expirationSeconds") or 3600
        if not isinstance(secs, int) or secs < 600:
            raise ApiError(422, "Invalid", 'TokenRequest.authentication.k8s.io "%s" is invalid: '
                           'spec.expirationSeconds: Invalid value: %r: may not specify a duration less '
                           'than 10 minutes' % (req.name, secs))
        tok = cl.kubelet.mint_token(req.ns, req.name, time.time() + secs)
        now = time.time()
        fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        return self.send(201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                               "metadata": {"name": req.name, "namespace": req.ns, "creationTimestamp": fmt(now)},
                               "spec": {"audiences": spec.get("audiences") or
                                        ["https://kubernetes.default.svc.cluster.local"],
                                        "expirationSeconds": secs, "boundObjectRef": spec.get("boundObjectRef")},
                               "status": {"token": tok, "expirationTimestamp": fmt(now + secs)}})

    def exec_upgrade(self, req, rt, ctx):
        """pods/exec: the checks a real server makes before it upgrades, then the
        connection goes to an exec session (execws.py) on a thread of its own."""
        from urllib.parse import parse_qs
        app = self.server.app
        cl = app.cluster
        if not app.allowed(self.user, self.groups, "create", "", "pods/exec", req.ns):
            app.stats.forbidden(self.user, "create", "", "pods/exec", req.ns)
            raise ApiError(403, "Forbidden", 'pods "%s" is forbidden: User "%s" cannot create resource "pods/exec" '
                           'in API group "" in the namespace "%s"' % (req.name, self.user, req.ns),
                           {"name": req.name, "kind": "pods"})
        pod = cl.get(rt, req.version, req.ns, req.name).obj
        qs = parse_qs(self.query, keep_blank_values=True)
        argv = qs.get("command") or []
        if not argv:
            raise errors.bad_request("you must specify at least 1 command")
        opts = {k: (qs.get(k) or ["false"])[-1].lower() in ("1", "true") for k in ("stdin", "stdout", "stderr", "tty")}
        if not (opts["stdin"] or opts["stdout"] or opts["stderr"]):
            raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
        cont = execws.find_container(pod, (qs.get("container") or [""])[-1])
        execws.check_running(pod, cont.get("name"))
        proto = execws.negotiate(self.headers)
        spec = execws.sandbox_spec(cl, pod, cont, argv, app.state_dir)
        brk = app.faults.exec_break(ctx)
        head = execws.upgrade_head(self.headers, proto, self.audit_id)
        self.code = 101
        self.log_request(101)
        stats = app.stats

        user = self.user

        def takeover(sock, queued, pre):
            stats.exec_begin()
            sess = execws.Session(sock, pre, queued + head, proto, spec, opts, brk, None)

            def ended():
                stats.exec_end()
                stats.sent(user, sess.sent_stdout)
            sess.on_end = ended
            sess.run()
        self.takeover = takeover
        self.close_connection = True

    def watch(self, rt, v, ns, ctx, table_as):
        """A watch: checked here, then streamed by watch.py on a thread of its own."""
        app = self.server.app
        cl = app.cluster
        tbl = None
        if table_as:
            inc = self.q.get("includeObject", "Metadata")
            tbl = lambda obj: tables.table(rt, v, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                                           lambda o: cl.typed(rt, o, v), inc)
        spec = watchmod.Spec(rt, v, ns, self.q, tbl)
        stream = watchmod.Stream(app, spec, watchmod.head(self.audit_id), app.faults.watch_drop(ctx))
        self.code = 200
        self.log_request(200)

        def takeover(sock, queued, pre):
            stream.run(sock, queued)
        self.takeover = takeover
        self.close_connection = True

    def apply_faults(self, ctx):
        """Apply the fault rules matching ctx (once per request); True when a fault
        answered the request."""
        self.faults_applied = True
        delay, rule = self.server.app.faults.for_request(ctx)
        if delay:
            self.delay = delay   # the transport holds the response that long
        if rule is not None:
            if rule.action == "reset":
                self.reset_after = True   # answer normally, but cut the body half way and reset
            else:
                self.fault(rule)
                return True
        return False

    def patch_scale(self, rt, v, ns, name, ctype, body, ua, dry):
        from .patch import merge_patch, strategic_merge_patch, json_patch, PatchError
        cl = self.server.app.cluster
        cur = cl.typed(rt, cl.get(rt, v, ns, name).obj, v)
        sc = scale_of(cur)
        try:
            p = json.loads(body.decode("utf-8") or "null")
            if ctype == "application/json-patch+json":
                sc = json_patch(sc, p)
            elif ctype == "application/strategic-merge-patch+json":
                sc = strategic_merge_patch(sc, p)
            elif ctype == "application/merge-patch+json":
                sc = merge_patch(sc, p)
            else:
                raise ApiError(415, "UnsupportedMediaType", "unsupported patch type %s" % ctype)
        except (ValueError, PatchError) as ex:
            raise errors.bad_request("error applying patch: %s" % ex)
        cur.setdefault("spec", {})["replicas"] = (sc.get("spec") or {}).get("replicas")
        cur["metadata"].pop("resourceVersion", None)
        obj, code = cl.update(rt, v, ns, name, cur, self.q, ua, dry)
        return self.send(code, scale_of(obj))

    def decode_body(self, ctype, body):
        if ctype in ("application/json", ""):
            try:
                return json.loads(body.decode("utf-8") or "null")
            except ValueError as ex:
                raise errors.bad_request("couldn't get version/kind; json parse error: %s" % ex)
        if ctype in ("application/yaml", "application/x-yaml", "text/yaml"):
            try:
                docs = seedmod.yaml_load_all(body.decode("utf-8"))
            except Exception as ex:
                raise errors.bad_request("error converting YAML to JSON: %s" % ex)
            return docs[0] if docs else None
        if ctype == "application/vnd.kubernetes.protobuf":
            from . import proto
            try:
                return proto.decode(body)
            except proto.ProtoError as ex:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json, application/yaml (%s)" % ex)
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                                                    "media types include: application/json, application/yaml")

    def route(self, segs):
        req = Request()
        if not segs or segs[0] not in ("api", "apis"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if segs[0] == "api":
            if len(segs) < 3:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            req.group, req.version, rest = "", segs[1], segs[2:]
        else:
            if len(segs) < 4:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            req.group, req.version, rest = segs[1], segs[2], segs[3:]
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            req.ns = rest[1]
            rest = rest[2:]
        req.resource = rest[0]
        req.name = rest[1] if len(rest) > 1 else None
        req.sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        m = self.command
        if req.sub in ("exec", "attach", "portforward") and m in ("GET", "POST"):
            req.verb = "create"     # as a real server authorizes connect requests
        elif m in ("GET", "HEAD"):
            if req.name:
                req.verb = "get"
            else:
                req.verb = "watch" if self.q.get("watch") in ("1", "true", "True") else "list"
        elif m == "POST":
            req.verb = "create"
        elif m == "PUT":
            req.verb = "update"
        elif m == "PATCH":
            req.verb = "patch"
        elif m == "DELETE":
            req.verb = "delete" if req.name else "deletecollection"
        else:
            raise errors.method_not_allowed()
        return req

    @staticmethod
    def pattern(req):
        p = "/api/" + req.version if not req.group else "/apis/%s/%s" % (req.group, req.version)
        if req.ns is not None:
            p += "/namespaces/{namespace}"
        p += "/" + req.resource
        if req.name:
            p += "/{name}"
        if req.sub:
            p += "/" + req.sub
        return p

    def non_resource(self, segs, accept):
        app = self.server.app
        reg = app.registry
        self.counted = True
        if segs and segs[0] == "apis":
            pat = "/".join(["/apis", "{group}", "{version}"][:len(segs)])
        elif segs and segs[0] == "openapi" and len(segs) > 2:
            pat = "/openapi/%s/{groupversion}" % segs[1]
        else:
            pat = "/" + "/".join(segs)
        app.stats.count(self.command, None, pat, None, False, False)
        if not segs:
            return self.send(200, {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2",
                                             "/openapi/v3", "/readyz", "/version"]}) or True
        s0 = segs[0]
        if s0 == "version" and len(segs) == 1:
            return self.send(200, app.version_info()) or True
        if s0 in ("healthz", "livez", "readyz") and len(segs) == 1:
            return self.send(200, "ok", "text/plain; charset=utf-8") or True
        if s0 == "openapi":
            # OpenAPI v3: paths and the PATCH/POST parameters of every type (kubectl checks
            # fieldValidation support there); no schemas.  v2: an empty JSON document.
            if segs[1:] == ["v3"]:
                return self.send(200, reg.openapi_v3_root()[0]) or True
            if len(segs) >= 4 and segs[1] == "v3" and segs[2] in ("api", "apis"):
                g, v = ("", segs[3]) if segs[2] == "api" else (segs[3], segs[4] if len(segs) > 4 else "")
                d = reg.openapi_v3_gv(g, v, app.git_version)
                if d is not None:
                    return self.send(200, d[0], headers={"ETag": d[1]}) or True
            if segs[1:] == ["v2"]:
                if accept and not any(a.split(";")[0].strip() in ("application/json", "*/*") for a in accept):
                    raise ApiError(406, "NotAcceptable", "only application/json is served for /openapi/v2 "
                                                         "by the kahu test cluster")
                return self.send(200, {"swagger": "2.0", "info": {"title": "Kubernetes", "version": app.git_version},
                                       "paths": {}, "definitions": {}}) or True
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if s0 in ("api", "apis") and len(segs) == 1:
            agg = None
            if not app.opts.no_aggregated_discovery:
                for a in accept:
                    mm = AGG_RE.search(a)
                    if mm:
                        agg = mm.group(1)
                        break
                    if a.split(";")[0].strip() == "application/json":
                        break
            if agg:
                body, etag = reg.aggregated(s0 == "api", "apidiscovery.k8s.io/" + agg)
                ctype = "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList" % agg
            else:
                body, etag = reg.api_versions() if s0 == "api" else reg.api_group_list()
                ctype = "application/json"
            if self.headers.get("If-None-Match") == etag:
                self.code = 304
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
            self.send(200, body, ctype, {"ETag": etag, "Vary": "Accept"})
            return True
        if s0 == "apis" and len(segs) == 2:
            d = reg.group_doc(segs[1])
            if d is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return self.send(200, d[0]) or True
        if (s0 == "api" and len(segs) == 2) or (s0 == "apis" and len(segs) == 3):
            g, v = ("", segs[1]) if s0 == "api" else (segs[1], segs[2])
            if reg.broken(g, v):
                return self.send(503, "service unavailable\n", "text/plain; charset=utf-8") or True
            d = reg.resource_list(g, v)
            if d is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return self.send(200, d[0]) or True
        return False

    def fault(self, rule):
        a = rule.action
        if a == "403":
            ex = ApiError(403, "Forbidden", "forbidden: injected fault")
        elif a == "429":
            ex = ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                          {"causes": [{"reason": "RetryAfter", "message": "Too many requests"}],
                           "retryAfterSeconds": int(rule.retry_after)},
                          headers={"Retry-After": str(rule.retry_after)})
        elif a == "500":
            ex = ApiError(500, "InternalError", "Internal error occurred: injected fault",
                          {"causes": [{"message": "injected fault"}]})
        elif a == "503":
            ex = ApiError(503, "ServiceUnavailable", "The server is currently unable to handle the request",
                          headers={"Retry-After": str(rule.retry_after)} if rule.spec.get("retry_after") is not None else None)
        else:
            raise ApiError(500, "InternalError", "unknown fault action")
        self.send_error_status(ex)

    def review(self, req, body):
        app = self.server.app
        if req.verb != "create":
            raise errors.method_not_allowed()
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        obj = self.decode_body(ctype, body) or {}
        rt = req.rt
        out = {"kind": rt.kind, "apiVersion": rt.api_version(req.version),
               "metadata": {"creationTimestamp": None}, "spec": obj.get("spec") or {}}
        if rt.plural == "selfsubjectreviews":
            out.pop("spec")
            out["status"] = {"userInfo": {"username": self.user, "groups": self.groups}}
        elif rt.plural == "tokenreviews":
            tok = (obj.get("spec") or {}).get("token", "")
            u = app.tokens_by_value.get(tok) or app.cluster.kubelet.token_user(tok)
            out["status"] = {"authenticated": bool(u), "user": {"username": u[0], "groups": u[1]} if u else {},
                             "audiences": ["https://kubernetes.default.svc.cluster.local"]}
        elif rt.plural in ("selfsubjectaccessreviews", "subjectaccessreviews", "localsubjectaccessreviews"):
            spec = obj.get("spec") or {}
            if rt.plural == "selfsubjectaccessreviews":
                user, groups = self.user, self.groups
            else:
                user, groups = spec.get("user", ""), spec.get("groups") or []
            ra = spec.get("resourceAttributes")
            if ra:
                if rt.plural == "localsubjectaccessreviews":
                    ra["namespace"] = req.ns
                res = ra.get("resource", "")
                if ra.get("subresource"):
                    res += "/" + ra["subresource"]
                allowed, reason = app.decide(user, groups, ra.get("verb", ""), ra.get("group", ""), res,
                                             ra.get("namespace"), ra.get("name") or None)
            else:
                allowed = app.known_user(user, groups)
                reason = rbac.MASTERS_REASON if allowed and "system:masters" in groups else ""
            st = {"allowed": allowed}
            if allowed and reason:
                st["reason"] = reason
            out["status"] = st
        elif rt.plural == "selfsubjectrulesreviews":
            out["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                             "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                             "incomplete": "system:masters" not in self.groups}
        return self.send(201, out)

    # --- admin ---------------------------------------------------------------------
    def admin(self, path, body):
        app = self.server.app
        cl = app.cluster
        m = self.command
        sub = path[len("/_admin/"):].strip("/")

        def jbody():
            try:
                return json.loads(body.decode("utf-8") or "{}")
            except ValueError as ex:
                raise errors.bad_request("admin: body is not JSON: %s" % ex)
        if sub == "stats" and m == "GET":
            return self.send(200, app.stats.report(app.faults))
        if sub == "stats/reset" and m == "POST":
            app.stats.reset()
            return self.send(200, {"reset": True})
        if sub == "dump" and m == "GET":
            items = cl.dump(self.q)
            return self.send(200, {"items": items, "resourceVersion": str(cl.store.rv)})
        if sub == "seed" and m == "POST":
            try:
                docs = seedmod.parse_manifests(body.decode("utf-8"))
            except Exception as ex:
                raise errors.bad_request("seed: cannot parse manifests: %s" % ex)
            rep = seedmod.seed(cl, docs, unchecked_names=self.q.get("unchecked-names") in ("1", "true"))
            return self.send(200 if not rep["errors"] else 422, rep)
        if sub == "synthetic" and m == "POST":
            d = jbody()
            rep = seedmod.synthetic(cl, d.get("count", 0), d.get("namespaces", 1), d.get("kind", "ConfigMap"),
                                    d.get("size", 64), d.get("prefix", "synthetic"))
            return self.send(200, rep)
        if sub == "generate" and m == "POST":
            d = jbody()
            what = d.get("what")
            try:
                if what == "crds":
                    rep = generate.crds(cl, d.get("count", 0), d.get("size", 1048576), d.get("prefix", "gen"),
                                        d.get("seed", 1))
                elif what == "pods":
                    rep = generate.pods(cl, d.get("count", 0), d.get("namespaces", 10),
                                        d.get("managed_fields", 16384), d.get("prefix", "gen"), d.get("seed", 1))
                elif what == "mixed":
                    rep = generate.mixed(cl, d.get("count", 0), d.get("namespaces", 50), d.get("min_size", 1024),
                                         d.get("max_size", 4096), d.get("prefix", "mixed"), d.get("seed", 1))
                else:
                    raise errors.bad_request("generate: what must be crds, pods or mixed, not %r" % (what,))
            except (TypeError, ValueError) as ex:
                raise errors.bad_request("generate: %s" % ex)
            return self.send(200, rep)
        if sub == "crd-delay" and m in ("POST", "PUT"):
            d = jbody()
            cl.crd_delay = float(d.get("seconds", d.get("delay", 0)))
            return self.send(200, {"seconds": cl.crd_delay})
        if sub == "crd-delay" and m == "GET":
            return self.send(200, {"seconds": cl.crd_delay})
        if sub == "continue-ttl" and m in ("POST", "PUT"):
            cl.continue_ttl = float(jbody().get("seconds", 0))
            return self.send(200, {"seconds": cl.continue_ttl})
        if sub in ("pod-start-delay", "snapshot-delay"):
            attr = sub.replace("-", "_")
            if m in ("POST", "PUT"):
                setattr(cl, attr, float(jbody().get("seconds", 0)))
            return self.send(200, {"seconds": getattr(cl, attr)})
        if sub == "volume" and m == "GET":
            if not self.q.get("namespace") or not self.q.get("pvc"):
                raise errors.bad_request("volume: namespace and pvc are required")
            return self.send(200, cl.provisioner.claim_info(self.q["namespace"], self.q["pvc"]))
        if sub == "evict" and m == "POST":
            d = jbody()
            return self.send(200, cl.kubelet.evict(d.get("namespace") or "default", d.get("pod") or "",
                                                   d.get("message")))
        if sub == "signal" and m == "POST":
            d = jbody()
            return self.send(200, cl.kubelet.send_signal(d.get("namespace") or "default", d.get("pod") or "",
                                                         str(d.get("signal") or "")))
        if sub == "save" and m == "POST":
            p = app.save()
            return self.send(200, {"saved": p})
        if sub == "faults/release" and m == "POST":
            return self.send(200, {"released": self.server.release_held()})
        if sub == "faults":
            if m == "GET":
                rep = app.faults.report()
                rep["held"] = len(self.server.held)
                rep["holding"] = self.server.holding()
                return self.send(200, rep)
            if m == "DELETE":
                app.faults.clear()
                return self.send(200, {"cleared": True})
            if m in ("POST", "PUT"):
                if m == "PUT":
                    app.faults.clear()
                try:
                    n = app.faults.add(jbody())
                except FaultError as ex:
                    raise errors.bad_request("faults: %s" % ex)
                return self.send(200, {"added": n, "rules": len(app.faults.rules)})
        if sub == "watch":
            if m in ("POST", "PUT"):
                d = jbody()
                if "window" in d:
                    with cl.store.lock:
                        cl.store.window = max(1, int(d["window"]))
                        while len(cl.store.events) > cl.store.window:
                            cl.store.floor = cl.store.events.popleft().rv
                if "bookmark_interval" in d:
                    app.watch_hub.bookmark_interval = max(0.05, float(d["bookmark_interval"]))
            return self.send(200, app.watch_hub.report(cl.store))
        if sub == "watch/drop" and m == "POST":
            return self.send(200, {"dropped": app.watch_hub.drop_all(cl.store)})
        if sub == "watch/compact" and m == "POST":
            cl.store.compact()
            return self.send(200, app.watch_hub.report(cl.store))
        if sub == "health":
            return self.send(200, {"ok": True})
        raise ApiError(404, "NotFound", "no admin endpoint %s %s" % (m, path))


def item_spans(body):
    """(start, end) byte offsets of each element of the top-level "items" array of a
    list body (empty when it has none): an item is complete once `end` bytes are sent."""
    try:
        text = body.decode("utf-8")
        d = json.JSONDecoder()
        obj, end = d.raw_decode(text)
    except ValueError:
        return []
    if not isinstance(obj, dict) or not isinstance(obj.get("items"), list) or not obj["items"]:
        return []
    # find the array: the last top-level key "items" (what a JSON parser keeps)
    start = None
    ws = " \t\r\n"
    i = text.index("{") + 1
    while True:
        while text[i] in ws + ",":
            i += 1
        if text[i] == "}":
            break
        key, i = d.raw_decode(text, i)
        while text[i] in ws + ":":
            i += 1
        if key == "items":
            start = i
        _, i = d.raw_decode(text, i)
    if start is None:
        return []
    out = []
    i = start + 1
    nbytes = len(text[:i].encode("utf-8"))
    while True:
        j = i
        while text[j] in ws + ",":
            j += 1
        if text[j] == "]":
            return out
        _, k = d.raw_decode(text, j)
        start = nbytes + len(text[i:j].encode("utf-8"))
        nbytes = start + len(text[j:k].encode("utf-8"))
        out.append((start, nbytes))
        i = k


def shape_list_body(rules, body, q):
    """The list response bytes as the body-changing fault rules make them."""
    if not rules:
        return body
    d = json.loads(body)
    for r in rules:
        items = d.get("items")
        item = items[r.index] if isinstance(items, list) and 0 <= r.index < len(items) else None
        if r.action == "items-not-array":
            d["items"] = r.spec.get("value", {"not": "an array"})
        elif r.action == "garbage-item" and isinstance(items, list) and item is not None:
            items[r.index] = r.spec.get("value", 42)
        elif r.action == "missing-namespace" and isinstance(item, dict):
            (item.get("metadata") or {}).pop("namespace", None)
        elif r.action == "repeat-continue":
            md = d.get("metadata") or {}
            if q.get("continue") and md.get("continue"):
                md["continue"] = q["continue"]
    return json.dumps(d, separators=(",", ":")).encode()


def scale_of(obj):
    md = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": md["name"], "namespace": md.get("namespace"), "uid": md["uid"],
                         "resourceVersion": md["resourceVersion"], "creationTimestamp": md["creationTimestamp"]},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0)}}


class Server(LoopServer):
    """The API server: the handler above behind the selector loop of loop.py."""

    def __init__(self, addr, app, ssl_ctx):
        self.app = app
        super().__init__(addr, Handler, ssl_ctx, app.stats)

"""pods/exec over WebSocket: the channel protocols v5.channel.k8s.io and v4.channel.k8s.io.

The request is checked by the handler (server.py: authorization, the pod, the container,
its phase); prepare() builds the upgrade answer and the command's sandbox spec, and the
transport (loop.py) hands the connection to a thread that runs session().

Frames are binary; the first payload byte is the channel: 0 stdin (client to server),
1 stdout, 2 stderr, 3 the v1 Status (Success, or Failure with reason NonZeroExitCode and
details.causes [{reason: ExitCode, message: "N"}], as the kubelet sends it), 4 resize
(read and ignored), and in v5 255 "close": payload [255, N] closes channel N (the client's
stdin end).  The session is one thread with one selector over the TLS socket and the
command's pipes: no two threads touch the TLS object.

Throughput: stdout is read from the pipe 1 MiB at a time (the pipes are widened to
1 MiB) and sent as one frame; client frames are unmasked with one big-integer XOR.
"""
import base64
import collections
import fcntl
import hashlib
import json
import os
import select
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import termios
import threading
import time

from .errors import ApiError

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
READ_SIZE = 1 << 20
PIPE_SIZE = 1 << 20
HIGH_WATER = 8 << 20          # stdin bytes queued before the socket is no longer read
OUT_LOW = 512 << 10           # output bytes queued below which the command's pipes are read
F_SETPIPE_SZ = 1031
SANDBOX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox.py")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_applets = None
_live = {}                    # running command process -> its pod's uid (killed when the
#                               server stops or the pod is deleted)
_live_lock = threading.Lock()
_profiles = [0]               # exec streams profiled so far (KAHUTC_PROFILE)


def busybox_applets():
    global _applets
    if _applets is None:
        try:
            out = subprocess.run(["busybox", "--list"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 check=True).stdout.decode()
            _applets = [a for a in out.split() if a]
        except (OSError, subprocess.CalledProcessError):
            _applets = []
    return _applets


def image_kind(image):
    """The tool set of an image: busybox, notar (distroless) or host."""
    image = image or ""
    last = image.rsplit("/", 1)[-1]
    if last.startswith("busybox"):
        return "busybox"
    if "distroless" in image or "notar" in image:
        return "notar"
    return "host"


def kill_all(pod_uid=None):
    """Kill the exec commands of a pod (all of them without pod_uid): their streams end
    with the Status of a killed command, as when a container stops."""
    with _live_lock:
        procs = [p for p, u in _live.items() if pod_uid is None or u == pod_uid]
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass


# ------------------------------------------------------------------ request checks
def find_container(pod, name):
    """(container, None) or raises the apiserver's 400."""
    spec = pod.get("spec") or {}
    pname = pod["metadata"]["name"]
    conts = list(spec.get("containers") or [])
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    every = conts + list(spec.get("initContainers") or []) + list(spec.get("ephemeralContainers") or [])
    if not name:
        if len(conts) == 1:
            return conts[0]
        names = " ".join(c.get("name", "") for c in conts)
        raise ApiError(400, "BadRequest", "a container name must be specified for pod %s, choose one of: [%s]"
                       % (pname, names))
    for c in every:
        if c.get("name") == name:
            if c in conts or c in sidecars or c in (spec.get("ephemeralContainers") or []):
                return c
            # a finished init container: the kubelet has nothing to exec in
            raise ApiError(400, "BadRequest", 'unable to upgrade connection: container not found ("%s")' % name)
    raise ApiError(400, "BadRequest", "container %s is not valid for pod %s" % (name, pname))


def check_running(pod, cname):
    st = pod.get("status") or {}
    phase = st.get("phase")
    if phase in ("Succeeded", "Failed"):
        raise ApiError(400, "BadRequest", "cannot exec into a container in a completed pod; current phase is %s"
                       % phase)
    statuses = (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or [])
    running = any(s.get("name") == cname and "running" in (s.get("state") or {}) for s in statuses)
    if phase != "Running" or not running:
        raise ApiError(400, "BadRequest", 'unable to upgrade connection: container not found ("%s")' % cname)


def negotiate(headers):
    """The subprotocol (v5 or v4), or the 400 a real server answers."""
    if (headers.get("Upgrade") or "").lower() != "websocket":
        raise ApiError(400, "BadRequest", "Upgrade request required: the kahu test cluster serves pods/exec over "
                                          "WebSocket (%s) only" % ", ".join(PROTOCOLS))
    if not headers.get("Sec-WebSocket-Key") or headers.get("Sec-WebSocket-Version") != "13":
        raise ApiError(400, "BadRequest", "websocket: not a websocket handshake: Sec-WebSocket-Key or "
                                          "Sec-WebSocket-Version 13 missing")
    asked = []
    for h in headers.get_all("Sec-WebSocket-Protocol") or []:
        asked.extend(p.strip() for p in h.split(",") if p.strip())
    for p in asked:
        if p in PROTOCOLS:
            return p
    raise ApiError(400, "BadRequest", "unable to upgrade: requested protocol(s) are not supported: [%s]; "
                                      "supports [%s]" % (" ".join(asked), " ".join(PROTOCOLS)))


def upgrade_head(headers, proto, audit_id):
    acc = base64.b64encode(hashlib.sha1(headers.get("Sec-WebSocket-Key").strip().encode() + WS_GUID).digest())
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\nAudit-Id: %s\r\n\r\n"
            % (acc.decode(), proto, audit_id)).encode("latin-1")


# ------------------------------------------------------------------ the sandbox spec
def _write_projection(dirpath, data, items, mode, binary):
    """Secret/ConfigMap files: every key, or the listed items at their paths."""
    if os.path.isdir(dirpath):
        shutil.rmtree(dirpath)
    os.makedirs(dirpath, mode=0o700)
    keys = [(it.get("key"), it.get("path") or it.get("key"), it.get("mode")) for it in items] if items else \
        [(k, k, None) for k in sorted(data)]
    for key, path, m in keys:
        if key not in data or not path or path.startswith("/") or ".." in path.split("/"):
            continue
        v = data[key]
        raw = base64.b64decode(v) if binary else (v.encode() if isinstance(v, str) else b"")
        p = os.path.join(dirpath, path)
        os.makedirs(os.path.dirname(p), mode=0o700, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(p, m if m is not None else mode)
    os.chmod(dirpath, 0o755)


def volume_sources(cluster, pod, poddir):
    """{volume name: (host path, read-only)} for the pod's volumes."""
    out = {}
    ns = pod["metadata"]["namespace"]
    for v in (pod.get("spec") or {}).get("volumes") or []:
        name = v.get("name")
        vdir = os.path.join(poddir, "volumes", name or "_")
        if "persistentVolumeClaim" in v:
            pvc = v["persistentVolumeClaim"] or {}
            path = cluster.provisioner.claim_dir(ns, pvc.get("claimName"))
            if path is None:
                raise ApiError(500, "InternalError", 'Internal error occurred: volume "%s": PersistentVolumeClaim '
                               '"%s" is not bound' % (name, pvc.get("claimName")))
            out[name] = (path, bool(pvc.get("readOnly")))
        elif "emptyDir" in v:
            os.makedirs(vdir, exist_ok=True)
            out[name] = (vdir, False)
        elif "secret" in v or "configMap" in v:
            is_secret = "secret" in v
            src = v["secret" if is_secret else "configMap"] or {}
            oname = src.get("secretName" if is_secret else "name")
            e = cluster.store.get(("", "secrets" if is_secret else "configmaps"), ns, oname)
            data = {}
            if e is not None:
                data = dict(e.obj.get("data") or {})
                if not is_secret:
                    for k, b in (e.obj.get("binaryData") or {}).items():
                        data[k] = b
            elif not src.get("optional"):
                raise ApiError(500, "InternalError", 'Internal error occurred: volume "%s": %s "%s" not found'
                               % (name, "secret" if is_secret else "configmap", oname))
            if is_secret:
                _write_projection(vdir, data, src.get("items"), src.get("defaultMode", 0o644), True)
            else:
                text = {k: vv for k, vv in data.items() if k in (e.obj.get("data") or {})} if e else {}
                _write_projection(vdir, text, src.get("items"), src.get("defaultMode", 0o644), False)
            out[name] = (vdir, True)
        elif "hostPath" in v:
            out[name] = ((v["hostPath"] or {}).get("path") or "/nonexistent", False)
    return out


def sandbox_spec(cluster, pod, cont, argv, state_dir):
    md = pod["metadata"]
    poddir = os.path.join(state_dir, "pods", md["uid"])
    cdir = os.path.join(poddir, "c-" + cont.get("name", "_"))
    for d in (os.path.join(poddir, "tmp"), os.path.join(cdir, "root")):
        os.makedirs(d, exist_ok=True)
    os.chmod(os.path.join(state_dir, "pods"), 0o700)
    os.chmod(os.path.join(poddir, "tmp"), 0o1777)
    vols = volume_sources(cluster, pod, poddir)
    mounts = []
    for vm in cont.get("volumeMounts") or []:
        src = vols.get(vm.get("name"))
        if src is None or not vm.get("mountPath"):
            continue
        path, ro = src
        if vm.get("subPath"):
            path = os.path.join(path, vm["subPath"])
            os.makedirs(path, exist_ok=True) if not os.path.exists(path) else None
        mounts.append({"name": vm.get("name"), "src": path, "dst": vm["mountPath"],
                       "ro": ro or bool(vm.get("readOnly"))})
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": md["name"], "HOME": "/root"}
    for e in cont.get("env") or []:
        if e.get("name") and "value" in e:
            env[e["name"]] = str(e.get("value") or "")
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    csc = cont.get("securityContext") or {}
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    gid = csc.get("runAsGroup", psc.get("runAsGroup"))
    kind = image_kind(cont.get("image"))
    return {"statedir": state_dir, "pod_uid": md["uid"], "root": os.path.join(cdir, "root"), "tmp": os.path.join(poddir, "tmp"), "image": kind,
            "busybox": shutil.which("busybox") or "/bin/busybox",
            "applets": busybox_applets() if kind == "busybox" else [],
            "mounts": mounts, "workdir": cont.get("workingDir") or "/", "env": env, "argv": list(argv),
            "uid": uid, "gid": gid if gid is not None else (0 if uid is not None else None),
            "groups": psc.get("supplementalGroups") or []}


# ------------------------------------------------------------------ framing
def frame(opcode, payload):
    n = len(payload)
    if n < 126:
        hdr = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        hdr = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        hdr = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return hdr + payload


_UNMASK_C = r"""
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* XOR n bytes at p with the 4-byte WebSocket mask (little-endian hosts only). */
void kahutc_unmask(unsigned char *p, size_t n, uint32_t key)
{
	uint64_t k = (uint64_t)key << 32 | key, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		w ^= k;
		memcpy(p + i, &w, 8);
	}
	for (; i < n; i++)
		p[i] ^= (unsigned char)(key >> (8 * (i & 3)));
}
"""
_cunmask = [None]
_cunmask_lock = threading.Lock()


def c_unmask(state_dir):
    """The compiled unmasking function (a few GB/s), built with cc into the state
    directory on first use; None (the pure Python one is used) when there is no C
    compiler, on a big-endian host, or with KAHUTC_PYTHON_UNMASK=1."""
    with _cunmask_lock:
        if _cunmask[0] is None:
            _cunmask[0] = False
            if sys.byteorder == "little" and not os.environ.get("KAHUTC_PYTHON_UNMASK"):
                try:
                    import ctypes
                    src = os.path.join(state_dir, "wsunmask.c")
                    so = os.path.join(state_dir, "wsunmask-%d.so" % os.getpid())
                    with open(src, "w") as f:
                        f.write(_UNMASK_C)
                    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
                    if cc and subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", so, src],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                        lib = ctypes.CDLL(so)
                        fn = lib.kahutc_unmask
                        fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32]
                        fn.restype = None
                        _cunmask[0] = (fn, ctypes)
                except OSError:
                    pass
        return _cunmask[0] or None


def read_ahead(sock, bufsize):
    """Let OpenSSL read many TLS records per system call on this connection (Python's
    ssl module reads each record with two recv calls: its header, then its body).
    Python offers no setter: the SSL pointer is taken from the _ssl object, and only
    when the object's layout is the known one (its context field, the next one, is the
    context object)."""
    try:
        import ctypes
        obj = sock._sslobj
        ptr = ctypes.c_void_p.from_address(id(obj) + 3 * ctypes.sizeof(ctypes.c_void_p)).value
        ctxp = ctypes.c_void_p.from_address(id(obj) + 4 * ctypes.sizeof(ctypes.c_void_p)).value
        if not ptr or ctxp != id(sock.context):
            return False
        import _ssl
        lib = ctypes.CDLL(_ssl.__file__)
        lib.SSL_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
        lib.SSL_ctrl.restype = ctypes.c_long
        lib.SSL_get_fd.argtypes = [ctypes.c_void_p]
        if lib.SSL_get_fd(ptr) != sock.fileno():
            return False
        lib.SSL_set_default_read_buffer_len.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.SSL_set_default_read_buffer_len(ptr, bufsize)
        lib.SSL_ctrl(ptr, 41, 1, None)       # SSL_CTRL_SET_READ_AHEAD
        return True
    except (AttributeError, OSError, ValueError):
        return False


def unmask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = int.from_bytes((key * ((n >> 2) + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ k).to_bytes(n, "little")


def status_json(code, err=None):
    if err is not None:
        return {"metadata": {}, "status": "Failure", "message": "Internal error occurred: error executing command "
                "in container: failed to exec in container: %s" % err, "reason": "InternalError",
                "details": {"causes": [{"message": err}]}, "code": 500}
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: exit status %d" % code,
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


class Session:
    """One exec stream: the TLS socket and the command's pipes in one selector."""

    def __init__(self, sock, pre, head, proto, spec, opts, brk, on_end):
        self.sock = sock
        self.pre = pre             # bytes the client sent after its upgrade request
        self.head = head
        self.proto = proto
        self.spec = spec
        self.opts = opts           # stdin, stdout, stderr (booleans)
        brk = brk or {}
        self.brk = brk.get("stdout")       # exec-break: bytes of stdout after which the connection is cut, or None
        self.brk_stdin = brk.get("stdin")  # ... bytes of stdin received, or None
        self.brk_exit = brk.get("at_exit") # ... at the command's exit, in place of its Status
        self.stdin_recv = 0
        self.cut = False           # the stdin limit was reached: cut at once
        self.on_end = on_end
        self.out = collections.deque()
        self.outlen = 0
        self.stdin_q = collections.deque()
        self.stdin_len = 0
        self.stdin_close = False   # close the command's stdin once stdin_q is written
        self.sent_stdout = 0
        self.frag = None
        self.client_closed = False
        self.proc = None
        self.sel = None
        self.rmv = None
        self.more = False
        self.cun = c_unmask(spec["statedir"]) if opts["stdin"] else None

    # -- plumbing
    def queue(self, data):
        self.out.append(memoryview(data))
        self.outlen += len(data)

    def send_channel(self, ch, data):
        self.queue(frame(2, bytes([ch]) + data))

    def run(self):
        try:
            if os.environ.get("KAHUTC_PROFILE"):
                import cProfile
                with _live_lock:
                    _profiles[0] += 1
                    n = _profiles[0]
                cProfile.runctx("self._run()", globals(), {"self": self}, "%s.%d" % (os.environ["KAHUTC_PROFILE"], n))
            else:
                self._run()
        except Exception:
            import traceback
            sys.stderr.write("kahu-test-cluster: exec session failed:\n%s" % traceback.format_exc())
        finally:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait()
            if self.proc is not None:
                with _live_lock:
                    _live.pop(self.proc, None)
                for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                    if f is not None:
                        try:
                            f.close()
                        except OSError:
                            pass
            if self.sel is not None:
                self.sel.close()
            try:
                self.sock.close()
            except OSError:
                pass
            self.on_end()

    def _start(self):
        r, w = os.pipe()
        spec = dict(self.spec)
        spec["errfd"] = w
        try:
            p = subprocess.Popen([sys.executable, "-S", SANDBOX, json.dumps(spec)],
                                 stdin=subprocess.PIPE if self.opts["stdin"] else subprocess.DEVNULL,
                                 stdout=subprocess.PIPE if self.opts["stdout"] else subprocess.DEVNULL,
                                 stderr=subprocess.PIPE if self.opts["stderr"] else subprocess.DEVNULL,
                                 pass_fds=(w,), close_fds=True, start_new_session=True, cwd="/")
        finally:
            os.close(w)
        with _live_lock:
            _live[p] = self.spec.get("pod_uid")
        self.proc = p
        msg = b""
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            msg += b
        os.close(r)
        for f in (p.stdin, p.stdout, p.stderr):
            if f is not None:
                try:
                    fcntl.fcntl(f.fileno(), F_SETPIPE_SZ, PIPE_SIZE)
                except OSError:
                    pass
                os.set_blocking(f.fileno(), False)
        return msg.decode("utf-8", "replace") if msg else None

    def _run(self):
        sock = self.sock
        sock.setblocking(True)
        sock.sendall(self.head)
        err = self._start()
        sock.setblocking(False)
        p = self.proc
        if err:
            p.wait()
            self.send_channel(3, json.dumps(status_json(None, err[1:]), separators=(",", ":")).encode())
            if err[0] == "S":
                sys.stderr.write("kahu-test-cluster: exec: %s\n" % err[1:])
            return self._finish()
        sel = selectors.DefaultSelector()
        self.sel = sel
        self._set_rbuf(bytearray(max(8 * READ_SIZE, len(self.pre))))
        self.rbuf[0:len(self.pre)] = self.pre
        self.more = False
        if self.opts["stdin"]:
            read_ahead(sock, 256 * 1024)
        self.rstart, self.rend = 0, len(self.pre)
        srcs = {}
        if p.stdout is not None:
            srcs[p.stdout.fileno()] = 1
        if p.stderr is not None:
            srcs[p.stderr.fileno()] = 2
        self.srcs = srcs
        stdin_fd = p.stdin.fileno() if p.stdin is not None else None
        registered = {}

        def want(fd, ev):
            cur = registered.get(fd, 0)
            if ev == cur:
                return
            if cur == 0:
                sel.register(fd, ev)
            elif ev == 0:
                sel.unregister(fd)
            else:
                sel.modify(fd, ev)
            if ev:
                registered[fd] = ev
            else:
                registered.pop(fd, None)

        sfd = sock.fileno()
        if self.rend:
            self._parse()
        while srcs or p.poll() is None:
            if self.client_closed:
                return self._abort()
            if self.cut:
                return self._cut_stdin(stdin_fd)
            # what to wait for
            want(sfd, (selectors.EVENT_READ if self.stdin_len < HIGH_WATER else 0) |
                 (selectors.EVENT_WRITE if self.out else 0))
            # The command's output is read once what is queued for the client is below
            # OUT_LOW: while the client is slower, the pipe fills, and each read then
            # takes up to 1 MiB: big frames, few calls.
            for fd in list(srcs):
                want(fd, selectors.EVENT_READ if self.outlen < OUT_LOW else 0)
            if stdin_fd is not None:
                want(stdin_fd, selectors.EVENT_WRITE if self.stdin_q else 0)
                if not self.stdin_q and self.stdin_close:
                    want(stdin_fd, 0)
                    p.stdin.close()
                    stdin_fd = None
            pending = self.stdin_len < HIGH_WATER and (self.more or sock.pending())
            # (no output pipes left: only the command's exit is awaited, checked often)
            events = sel.select(0 if pending else (1.0 if srcs else 0.02))
            if pending:
                if not self._read_sock():
                    return self._abort()
                if self.cut:
                    return self._cut_stdin(stdin_fd)
            for key, mask in events:
                fd = key.fd
                if fd == sfd:
                    if mask & selectors.EVENT_WRITE and not self._flush():
                        return self._abort()
                    if mask & selectors.EVENT_READ and not pending and not self._read_sock():
                        return self._abort()
                    if self.cut:
                        return self._cut_stdin(stdin_fd)
                elif fd == stdin_fd:
                    if not self._write_stdin(stdin_fd):
                        want(stdin_fd, 0)
                        p.stdin.close()
                        stdin_fd = None
                elif fd in srcs:
                    try:
                        data = os.read(fd, READ_SIZE)
                    except BlockingIOError:
                        continue
                    if not data:
                        want(fd, 0)
                        del srcs[fd]
                        continue
                    ch = srcs[fd]
                    if ch == 1 and self.brk is not None:
                        left = self.brk - self.sent_stdout
                        if len(data) >= left:
                            if left > 0:
                                self.send_channel(1, data[:left])
                                self.sent_stdout += left
                            return self._break()
                    if ch == 1:
                        self.sent_stdout += len(data)
                    self.send_channel(ch, data)
            if self.out and not self._flush():
                return self._abort()
        if stdin_fd is not None:
            try:
                p.stdin.close()
            except OSError:
                pass
        rc = p.wait()
        if rc < 0:
            rc = 128 - rc
        if self.brk_exit:
            return self._break()
        self.send_channel(3, json.dumps(status_json(rc), separators=(",", ":")).encode())
        return self._finish()

    def _flush(self):
        """Send what is queued as far as the socket takes it; False when it is gone."""
        while self.out:
            mv = self.out[0]
            try:
                n = self.sock.send(mv[:READ_SIZE + 16])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                return True
            except (ssl.SSLError, OSError):
                return False
            self.outlen -= n
            if n == len(mv):
                self.out.popleft()
            else:
                self.out[0] = mv[n:]
        return True

    def _grow(self, need):
        """Room for `need` unparsed bytes in the receive buffer."""
        have = self.rend - self.rstart
        if need <= len(self.rbuf):
            if self.rstart:
                self.rbuf[0:have] = self.rbuf[self.rstart:self.rend]
                self.rstart, self.rend = 0, have
            return
        nb = bytearray(max(need, 2 * len(self.rbuf)))
        nb[0:have] = self.rmv[self.rstart:self.rend]
        self._set_rbuf(nb)
        self.rstart, self.rend = 0, have

    def _set_rbuf(self, b):
        if getattr(self, "rmv", None) is not None:
            self.rarr = None
            self.rmv.release()
        self.rbuf, self.rmv = b, memoryview(b)
        if self.cun is not None:
            ct = self.cun[1]
            self.rarr = (ct.c_char * len(b)).from_buffer(b)   # held: the buffer never moves
            self.rbase = ct.addressof(self.rarr)

    def _read_sock(self):
        """Read what the socket has (up to 4 MiB), then handle the complete frames."""
        got = 0
        self.more = True
        try:
            while got < 4 * READ_SIZE:
                if self.rend == len(self.rbuf):
                    self._parse()
                    if self.rend == len(self.rbuf):
                        self._grow(self.rend - self.rstart + READ_SIZE)
                n = self.sock.recv_into(self.rmv[self.rend:], len(self.rbuf) - self.rend)
                if not n:
                    return False
                self.rend += n
                got += n
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            self.more = False
        except (ssl.SSLError, OSError):
            return False
        self._parse()
        return True

    def _parse(self):
        buf, mv = self.rbuf, self.rmv
        pos, n = self.rstart, self.rend
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            ln = b1 & 0x7f
            i = pos + 2
            if ln == 126:
                if n - i < 2:
                    break
                ln = struct.unpack_from("!H", buf, i)[0]
                i += 2
            elif ln == 127:
                if n - i < 8:
                    break
                ln = struct.unpack_from("!Q", buf, i)[0]
                i += 8
            key = None
            if b1 & 0x80:
                if n - i < 4:
                    break
                key = bytes(buf[i:i + 4])
                i += 4
            if n - i < ln:
                if (i - pos) + ln > len(buf):
                    self.rstart = pos
                    self._grow((i - pos) + ln)
                    return self._parse()
                break
            if key is not None and key != b"\0\0\0\0":
                if ln and self.cun is not None:
                    self.cun[0](self.rbase + i, ln, int.from_bytes(key, "little"))
                    payload = bytes(mv[i:i + ln])
                else:
                    payload = unmask(bytes(mv[i:i + ln]), key)
            else:
                payload = bytes(mv[i:i + ln])
            pos = i + ln
            self._frame(b0 & 0x80, b0 & 0x0f, payload)
        self.rstart = pos
        if pos == n:
            self.rstart = self.rend = 0

    def _frame(self, fin, op, payload):
        if op == 0x8:
            self.client_closed = True
            return
        if op == 0x9:
            self.queue(frame(0xA, payload))
            return
        if op == 0xA:
            return
        if op in (0x1, 0x2):
            self.frag = payload
        elif op == 0x0 and self.frag is not None:
            self.frag += payload
        else:
            return
        if not fin:
            return
        msg, self.frag = self.frag, None
        if not msg:
            return
        ch = msg[0]
        if ch == 0:
            if self.cut:
                return
            data = memoryview(msg)[1:]
            if self.brk_stdin is not None and self.stdin_recv + len(data) >= self.brk_stdin:
                data = data[:self.brk_stdin - self.stdin_recv]
                self.cut = True
            self.stdin_recv += len(data)
            if self.opts["stdin"] and not self.stdin_close and len(data):
                self.stdin_q.append(data)
                self.stdin_len += len(data)
        elif ch == 255 and self.proto.startswith("v5") and len(msg) >= 2 and msg[1] == 0:
            self.stdin_close = True
        # 4 (resize) and anything else: ignored

    def _write_stdin(self, fd):
        while self.stdin_q:
            mv = self.stdin_q[0]
            try:
                n = os.write(fd, mv)
            except BlockingIOError:
                return True
            except OSError:
                # the command closed its stdin: what is left is dropped
                self.stdin_q.clear()
                self.stdin_len = 0
                self.stdin_close = True
                return False
            self.stdin_len -= n
            if n == len(mv):
                self.stdin_q.popleft()
            else:
                self.stdin_q[0] = mv[n:]
        return True

    def _finish(self):
        """Status sent: a close frame, then wait (briefly) for the client's close."""
        self.queue(frame(0x8, struct.pack("!H", 1000)))
        sock = self.sock
        sock.setblocking(True)
        try:
            while self.out:
                mv = self.out.popleft()
                sock.sendall(mv)
            sock.setblocking(False)
            if getattr(self, "rmv", None) is None:
                self._set_rbuf(bytearray(READ_SIZE))
                self.rstart = self.rend = 0
            deadline = time.monotonic() + 5.0
            while not self.client_closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if not self.more and not sock.pending():
                    r, _, _ = select.select([sock], [], [], left)
                    if not r:
                        break
                if not self._read_sock():
                    break
                self.stdin_q.clear()
        except (OSError, ssl.SSLError, socket.timeout):
            pass
        self.sock_shutdown()

    def sock_shutdown(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _abort(self):
        """The client went away (or closed) before the command ended: stop it."""
        if self.client_closed:
            try:
                self.sock.setblocking(True)
                self.sock.settimeout(2.0)
                self.sock.sendall(frame(0x8, struct.pack("!H", 1000)))
            except (OSError, ssl.SSLError):
                pass

    def _cut_stdin(self, stdin_fd):
        """exec-break after_stdin_bytes: the stdin received up to the limit goes to the
        command (as far as its pipe takes it now), then the connection is reset."""
        if stdin_fd is not None:
            self._write_stdin(stdin_fd)
        return self._break()

    def _break(self):
        """exec-break: everything queued so far goes out, then the TCP connection is reset.
        The reset waits (at most 5 s) until the peer has acknowledged every byte sent:
        a reset discards what is still in the send queue, so the peer would otherwise
        get fewer bytes than after_bytes, and how many would depend on timing."""
        sock = self.sock
        try:
            sock.setblocking(True)
            while self.out:
                sock.sendall(self.out.popleft())
        except (OSError, ssl.SSLError):
            pass
        end = time.monotonic() + 5.0
        while time.monotonic() < end:
            try:
                queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
            except (OSError, ValueError):
                break
            if queued <= 0:
                break
            time.sleep(0.002)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass

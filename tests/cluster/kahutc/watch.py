"""WATCH (`?watch=1` or `watch=true` on a list URL), as kube-apiserver's watch cache serves it.

The request is checked by the handler (selectors, resourceVersion, timeoutSeconds; errors
are ordinary HTTP statuses), then the connection leaves the selector loop for a thread of
its own (loop.py's takeover), which writes a chunked 200 response: one JSON event per
chunk, each a line {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}.

- resourceVersion "" or "0": an ADDED event for every object in the selection, then the
  changes after it.  Another resourceVersion: the changes after it, from the history
  kept in store.py (the `window` most recent events of all types).  One older than the
  history gets a single ERROR event, a Status 410 Expired "too old resource version: RV
  (FLOOR)", and the stream ends, as kube-apiserver's watch cache answers it.  One newer
  than the store's is waited for up to 3 s, then an ERROR 504 Timeout "Too large resource
  version".
- labelSelector and fieldSelector: a change that makes an object enter the selection is
  sent as ADDED, one that makes it leave as DELETED (the object as it is now).
- allowWatchBookmarks=true: a BOOKMARK (the object's kind and apiVersion, metadata holding
  only the resourceVersion reached) every `bookmark_interval` seconds.
- timeoutSeconds: the stream ends cleanly (the last chunk) after that long; without it
  after 30 to 60 minutes, as kube-apiserver's --min-request-timeout does.
- Accept with as=Table: each event's object is a Table of one row (kubectl get -w).
- Drops: the `watch-drop` fault (after `after_events` events, default 0: at once; `how`
  "close": a FIN without the last chunk, or "reset") and POST /_admin/watch/drop (every
  open watch, at once).
"""
import json
import random
import select
import socket
import ssl
import struct
import threading
import time

from . import errors
from .errors import ApiError
from .selection import parse_label_selector, parse_field_selector, match_labels, match_fields, SelectorError

TOO_LARGE_WAIT = 3.0


class Hub:
    """What every open watch shares: the knobs, the drop generation, the counts."""

    def __init__(self, bookmark_interval=60.0):
        self.lock = threading.Lock()
        self.bookmark_interval = float(bookmark_interval)
        self.drop_gen = 0
        self.active = 0
        self.total = 0
        self.events_sent = 0
        self.expired_sent = 0

    def report(self, store):
        with self.lock:
            d = {"active": self.active, "started": self.total, "events_sent": self.events_sent,
                 "expired_sent": self.expired_sent, "bookmark_interval": self.bookmark_interval,
                 "drops": self.drop_gen}
        with store.lock:
            d.update({"window": store.window, "floor": str(store.floor), "resourceVersion": str(store.rv),
                      "history": len(store.events)})
        return d

    def drop_all(self, store):
        with self.lock:
            self.drop_gen += 1
            n = self.active
        with store.changed:
            store.changed.notify_all()
        return n


class Spec:
    """A checked watch request."""

    def __init__(self, rt, version, ns, q, table):
        self.rt = rt
        self.version = version
        self.ns = ns if rt.namespaced else None
        try:
            self.lsel = parse_label_selector(q.get("labelSelector"))
            self.fsel = parse_field_selector(q.get("fieldSelector"), rt.key)
        except SelectorError as ex:
            raise errors.bad_request(str(ex))
        if q.get("resourceVersionMatch"):
            raise ApiError(422, "Invalid", "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden "
                                           "for watch", {"causes": [{"reason": "FieldValueForbidden",
                                                                     "field": "resourceVersionMatch"}]})
        rv = q.get("resourceVersion") or ""
        if rv in ("", "0"):
            self.rv = None
        else:
            try:
                self.rv = int(rv)
                if self.rv < 0:
                    raise ValueError
            except ValueError:
                raise errors.bad_request('invalid resource version: strconv.ParseUint: parsing "%s": invalid '
                                         'syntax' % rv)
        ts = q.get("timeoutSeconds")
        if ts not in (None, ""):
            try:
                self.timeout = int(ts)
            except ValueError:
                raise errors.bad_request('timeoutSeconds: Invalid value: "%s": strconv.ParseInt: parsing "%s": '
                                         'invalid syntax' % (ts, ts))
            if self.timeout <= 0:
                self.timeout = None
        else:
            self.timeout = None
        if self.timeout is None:
            self.timeout = 1800 * (1 + random.random())
        self.bookmarks = q.get("allowWatchBookmarks") in ("true", "1", "True")
        self.table = table

    def selected(self, obj):
        if obj is None:
            return False
        if self.lsel and not match_labels(self.lsel, obj["metadata"].get("labels")):
            return False
        if self.fsel and not match_fields(self.fsel, obj):
            return False
        return True

    def wants(self, ev):
        """The type to send for a logged event, or None."""
        if ev.skey != self.rt.storage_key:
            return None
        if self.ns is not None and ev.ns != self.ns:
            return None
        if ev.type == "DELETED":
            return "DELETED" if self.selected(ev.entry.obj) else None
        now = self.selected(ev.entry.obj)
        if ev.type == "ADDED":
            return "ADDED" if now else None
        before = self.selected(ev.prev)
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        if before:
            return "DELETED"
        return None


def status(code, reason, message, details=None):
    return ApiError(code, reason, message, details).status()


class Stream:
    """One watch on its own thread, on the connection taken from the loop."""

    def __init__(self, app, spec, head, rule):
        self.app = app
        self.cl = app.cluster
        self.store = app.cluster.store
        self.hub = app.watch_hub
        self.spec = spec
        self.head = head
        self.drop_after = None
        self.drop_how = "close"
        if rule is not None:
            self.drop_after = max(0, int(rule.spec.get("after_events", 0) or 0))
            self.drop_how = rule.spec.get("how", "close")
        self.sent = 0
        self.sock = None

    # ---- output -----------------------------------------------------------------------
    def obj_bytes(self, entry):
        sp = self.spec
        if sp.table is not None:
            return json.dumps(sp.table(entry.obj), separators=(",", ":")).encode()
        return self.cl.with_type(sp.rt, sp.version, entry.bytes())

    def write(self, data):
        self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))

    def event(self, typ, obj):
        self.write(b'{"type":"%s","object":%s}\n' % (typ.encode(), obj))
        self.sent += 1
        with self.hub.lock:
            self.hub.events_sent += 1
        if self.drop_after is not None and self.sent >= self.drop_after:
            raise Dropped()

    def error(self, st):
        with self.hub.lock:
            self.hub.expired_sent += st.get("code") == 410
        self.write(b'{"type":"ERROR","object":%s}\n' % json.dumps(st, separators=(",", ":")).encode())

    def bookmark(self, rv):
        sp = self.spec
        self.write(b'{"type":"BOOKMARK","object":%s}\n' % json.dumps(
            {"kind": sp.rt.kind, "apiVersion": sp.rt.api_version(sp.version),
             "metadata": {"resourceVersion": str(rv)}}, separators=(",", ":")).encode())

    def client_gone(self):
        try:
            r, _, _ = select.select([self.sock], [], [], 0)
            if not r:
                return False
            self.sock.setblocking(False)
            try:
                return self.sock.recv(4096) == b""
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return False
            finally:
                self.sock.setblocking(True)
        except (OSError, ValueError):
            return True

    # ---- the stream -------------------------------------------------------------------
    def run(self, sock, queued):
        self.sock = sock
        with self.hub.lock:
            self.hub.active += 1
            self.hub.total += 1
            gen = self.hub.drop_gen
        clean = False
        try:
            sock.setblocking(True)
            sock.sendall(queued + self.head)
            if self.drop_after == 0:
                raise Dropped()
            self.serve(gen)
            clean = True
        except Dropped:
            pass
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            with self.hub.lock:
                self.hub.active -= 1
            try:
                if clean:
                    sock.sendall(b"0\r\n\r\n")
                elif self.drop_how == "reset":
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except (OSError, ValueError):
                pass
            try:
                sock.close()
            except OSError:
                pass

    def serve(self, gen):
        sp, st = self.spec, self.store
        deadline = time.monotonic() + sp.timeout
        if sp.rv is None:
            with st.lock:
                pos = st.rv
                initial = [e for _, _, _, e in st.scan(sp.rt.storage_key, sp.ns)]
            for e in initial:
                if sp.selected(e.obj):
                    self.event("ADDED", self.obj_bytes(e))
        else:
            pos = sp.rv
            waited = time.monotonic() + TOO_LARGE_WAIT
            while True:
                with st.lock:
                    cur = st.rv
                if pos <= cur:
                    break
                if time.monotonic() >= waited:
                    self.error(status(504, "Timeout", "Too large resource version: %d, current: %d" % (pos, cur),
                                      {"causes": [{"reason": "ResourceVersionTooLarge",
                                                   "message": "Too large resource version"}],
                                       "retryAfterSeconds": 1}))
                    return
                with st.changed:
                    st.changed.wait(0.1)
        next_bm = time.monotonic() + self.hub.bookmark_interval
        while True:
            with st.lock:
                if pos < st.floor:
                    expired = st.floor
                else:
                    expired = None
                    evs = []
                    for ev in reversed(st.events):
                        if ev.rv <= pos:
                            break
                        evs.append(ev)
                    evs.reverse()
                    cur = st.rv
            if expired is not None:
                self.error(status(410, "Expired", "too old resource version: %d (%d)" % (pos, expired + 1)))
                return
            for ev in evs:
                pos = ev.rv
                typ = sp.wants(ev)
                if typ is not None:
                    self.event(typ, self.obj_bytes(ev.entry))
            pos = max(pos, cur)
            now = time.monotonic()
            if sp.bookmarks and now >= next_bm:
                self.bookmark(pos)
                next_bm = now + self.hub.bookmark_interval
            if now >= deadline:
                return
            with self.hub.lock:
                if self.hub.drop_gen != gen:
                    raise Dropped()
            if self.client_gone():
                raise Dropped()
            with st.changed:
                wait = min(deadline - now, 0.25)
                if sp.bookmarks:
                    wait = min(wait, max(0.0, next_bm - now))
                if st.rv <= pos:   # (st.lock is not taken here: a writer holds it while it notifies)
                    st.changed.wait(wait)


class Dropped(Exception):
    pass


def head(audit_id):
    from email.utils import formatdate
    return ("HTTP/1.1 200 OK\r\nAudit-Id: %s\r\nCache-Control: no-cache, private\r\n"
            "Content-Type: application/json\r\nDate: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
            % (audit_id, formatdate(usegmt=True))).encode("latin-1")

"""The test server's transport: one thread serves every connection from a selector loop.

With a thread per connection, each request handed Python's GIL from thread to thread a
few times (every socket read and write releases it), and the context switches cost the
server more CPU than the requests did: during a 10,000-object restore 44% of its time
went to the kernel's task switching.  Here requests are handled one after another, as
they were in effect under the GIL anyway, and a busy server finds the next request ready
without sleeping.

The handler (server.Handler, an http.server.BaseHTTPRequestHandler) is unchanged in how
it reads and writes: it gets the complete request as its rfile and writes the response
into a buffer, which the loop sends when the socket takes it.

- A request is in flight (Stats.enter) from the moment its last byte has arrived until
  its response has been handed to the kernel (Stats.leave), so concurrency means what a
  client sees: requests sent and not yet answered.
- A "slow" fault holds the response until its delay has passed, not the loop: other
  connections go on being served.  (The request's effect happens on arrival.)
- A "reset" fault sends what the handler wrote (half the body) and closes the
  connection with SO_LINGER 0, which sends a TCP reset.
- Responses on one connection go out in request order (pipelining works).
- A shaped response (the chunked and cut-body faults) is its head followed by steps:
  ("data", bytes) sent in turn, ("pause", seconds) a timer, ("hold", INFO) waiting
  until an admin release (release_held; INFO is what holding() reports), ("close", None) a clean close (TLS
  close_notify, then FIN) in the middle of the body.
"""

import collections
import heapq
import io
import selectors
import socket
import ssl
import struct
import sys
import threading
import time
import traceback

CHUNK = 256 * 1024        # bytes per send(); a retry after SSLWantWrite sends the same slice
MAX_HEAD = 1 << 20        # request line + headers larger than this close the connection
IDLE_TIMEOUT = 300.0      # seconds an idle keep-alive connection stays open


class Response:
    __slots__ = ("ready", "data", "off", "counted", "reset", "close", "steps", "hold_mark")

    def __init__(self, ready, data, counted, reset, close, steps=None):
        self.ready = ready
        self.data = memoryview(data)
        self.off = 0
        self.counted = counted
        self.reset = reset
        self.close = close
        self.steps = collections.deque(steps) if steps else None
        self.hold_mark = None     # release_count when it started holding


class Conn:
    __slots__ = ("sock", "addr", "inbuf", "queue", "shaking", "closed", "eof", "events", "last", "timer",
                 "continued")

    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.inbuf = bytearray()
        self.queue = collections.deque()
        self.shaking = True
        self.closed = False
        self.eof = False
        self.events = 0
        self.last = time.monotonic()
        self.timer = None
        self.continued = False   # 100 Continue sent for the request being received


def _message_end(buf):
    """(length of the first complete request in buf or -1 if it is not all there,
    whether its headers ask for 100 Continue)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return -1, False
    pos = end + 4
    length, chunked, expect = 0, False, False
    for line in bytes(buf[:end]).split(b"\r\n")[1:]:
        k, sep, v = line.partition(b":")
        if not sep:
            continue
        k = k.strip().lower()
        if k == b"content-length":
            try:
                length = max(0, int(v.strip()))
            except ValueError:
                length = 0   # the handler answers the malformed header
        elif k == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
        elif k == b"expect" and v.strip().lower() == b"100-continue":
            expect = True
    if not chunked:
        return (pos + length if len(buf) >= pos + length else -1), expect
    while True:  # size line, data, CRLF ... "0" line, CRLF (no trailers: as the handler reads it)
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return -1, expect
        try:
            size = int(bytes(buf[pos:eol]).split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return len(buf), expect  # hand it over; the handler fails it
        if size == 0:
            return (eol + 4 if len(buf) >= eol + 4 else -1), expect
        pos = eol + 2 + size + 2
        if len(buf) < pos:
            return -1, expect


class LoopServer:
    request_queue_size = 256

    def __init__(self, addr, handler_class, ssl_ctx, stats):
        self.handler_class = handler_class
        self.ssl_ctx = ssl_ctx
        self.stats = stats
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(addr)
        self.socket.listen(self.request_queue_size)
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.socket, selectors.EVENT_READ, None)
        self.conns = set()
        self.timers = []          # heap of (when, seq, conn)
        self.timer_seq = 0
        self.stopping = False
        self.held = set()         # connections whose response waits for a release
        self.release_count = 0
        self.wake = []            # connections to flush after a release
        self.done = threading.Event()
        self.done.set()

    # --- the loop ------------------------------------------------------------------------
    def serve_forever(self, poll_interval=0.5):
        self.done.clear()
        last_sweep = time.monotonic()
        try:
            while not self.stopping:
                timeout = poll_interval
                if self.timers:
                    timeout = max(0.0, min(timeout, self.timers[0][0] - time.monotonic()))
                events = self.sel.select(timeout)
                pending = []      # (conn, raw request, counted) in arrival order
                touched = []
                for key, mask in events:
                    c = key.data
                    if c is None:
                        self._accept()
                        continue
                    if c.closed:
                        continue
                    if c.shaking:
                        self._handshake(c, pending)
                        continue
                    if mask & selectors.EVENT_READ:
                        self._read(c, pending)
                    if mask & selectors.EVENT_WRITE:
                        touched.append(c)
                for c, raw, counted in pending:
                    self._handle(c, raw, counted)
                    touched.append(c)
                if self.wake:
                    touched.extend(self.wake)
                    self.wake = []
                now = time.monotonic()
                while self.timers and self.timers[0][0] <= now:
                    _, _, c = heapq.heappop(self.timers)
                    c.timer = None
                    touched.append(c)
                for c in touched:
                    if not c.closed:
                        self._flush(c)
                if now - last_sweep >= 1.0:
                    last_sweep = now
                    self._sweep(now)
        finally:
            self.done.set()

    def release_held(self):
        """Let every held response go on (from a request handled by the loop)."""
        n = len(self.held)
        self.release_count += 1
        self.wake.extend(self.held)
        return n

    def holding(self):
        """Where each held response stands: bytes and whole list items sent so far."""
        out = []
        for c in self.held:
            if c.queue and c.queue[0].steps and c.queue[0].steps[0][0] == "hold":
                out.append(c.queue[0].steps[0][1])
        return out

    def shutdown(self):
        self.stopping = True
        self.done.wait()

    def server_close(self):
        for c in list(self.conns):
            self._close(c)
        try:
            self.sel.unregister(self.socket)
        except (KeyError, ValueError):
            pass
        self.socket.close()
        self.sel.close()

    # --- connections ---------------------------------------------------------------------
    def _accept(self):
        for _ in range(64):
            try:
                sock, addr = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setblocking(False)
                ssock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            except (ssl.SSLError, OSError):
                sock.close()
                continue
            c = Conn(ssock, addr)
            self.conns.add(c)
            self._want(c, selectors.EVENT_READ)
            self._handshake(c, None)

    def _want(self, c, events):
        if c.closed or events == c.events:
            return
        if c.events == 0:
            self.sel.register(c.sock, events, c)
        else:
            self.sel.modify(c.sock, events, c)
        c.events = events

    def _handshake(self, c, pending):
        try:
            c.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._want(c, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
            return
        except (ssl.SSLError, OSError):
            self._close(c)
            return
        c.shaking = False
        self._want(c, selectors.EVENT_READ)
        if pending is not None and c.sock.pending():
            self._read(c, pending)

    def _read(self, c, pending):
        try:
            while True:
                data = c.sock.recv(CHUNK)
                if not data:
                    c.eof = True
                    break
                c.inbuf += data
                if not c.sock.pending():
                    break
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except (ssl.SSLError, OSError):
            self._close(c)
            return
        c.last = time.monotonic()
        while c.inbuf:
            n, expect = _message_end(c.inbuf)
            if n < 0:
                if len(c.inbuf) > MAX_HEAD and c.inbuf.find(b"\r\n\r\n") < 0:
                    self._close(c)
                elif expect and not c.continued:
                    # The client waits for this before it sends the body (curl does
                    # for bodies over 1 MiB); after the response nothing else is owed.
                    c.continued = True
                    c.queue.append(Response(0.0, b"HTTP/1.1 100 Continue\r\n\r\n", False, False, False))
                    self._flush(c)
                break
            c.continued = False
            raw = bytes(c.inbuf[:n])
            del c.inbuf[:n]
            sp = raw.find(b" ")
            counted = not raw[sp + 1:sp + 9].startswith(b"/_admin")
            if counted:
                self.stats.enter()
            pending.append((c, raw, counted))
        if c.eof and not c.queue and not pending:
            self._close(c)

    def _handle(self, c, raw, counted):
        if c.closed:
            if counted:
                self.stats.leave()
            return
        h = self.handler_class.__new__(self.handler_class)
        h.server = self
        h.request = h.connection = c.sock
        h.client_address = c.addr
        h.rfile = io.BytesIO(raw)
        h.wfile = io.BytesIO()
        h.close_connection = True
        h.handle_expect_100 = lambda: True   # the loop answered it (or the body came anyway)
        h.delay = 0.0
        h.reset_after = None
        h.steps = None
        h.takeover = None
        try:
            h.handle_one_request()
        except Exception:
            sys.stderr.write("kahu-test-cluster: request from %s failed:\n%s" % (c.addr, traceback.format_exc()))
            h.close_connection = True
        if h.takeover is not None:
            return self._hand_over(c, h.takeover, counted)
        ready = time.monotonic() + h.delay if h.delay else 0.0
        c.queue.append(Response(ready, h.wfile.getvalue(), counted, h.reset_after is not None,
                                bool(h.close_connection), h.steps))
        if h.close_connection:
            c.inbuf.clear()   # nothing after a closing response is answered

    def _hand_over(self, c, takeover, counted):
        """The connection leaves the loop for a thread of its own (an exec stream):
        takeover(sock, bytes of earlier responses not yet sent, bytes the client sent
        after the request)."""
        queued = b"".join(bytes(r.data[r.off:]) for r in c.queue)
        for r in c.queue:
            if r.counted:
                self.stats.leave()
        c.queue.clear()
        pre = bytes(c.inbuf)
        c.inbuf.clear()
        if c.events:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
        c.events = 0
        c.closed = True
        self.conns.discard(c)
        self.held.discard(c)
        if counted:
            self.stats.leave()
        threading.Thread(target=takeover, args=(c.sock, queued, pre), daemon=True).start()

    def _flush(self, c):
        now = time.monotonic()
        while c.queue:
            r = c.queue[0]
            if r.ready > now:
                if c.timer is None or c.timer > r.ready:
                    c.timer = r.ready
                    self.timer_seq += 1
                    heapq.heappush(self.timers, (r.ready, self.timer_seq, c))
                break
            while r.off < len(r.data):
                try:
                    r.off += c.sock.send(r.data[r.off:r.off + CHUNK])
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                    self._want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
                    return
                except (ssl.SSLError, OSError):
                    self._close(c)
                    return
            if r.steps:
                kind, arg = r.steps[0]
                if kind == "data":
                    r.steps.popleft()
                    r.data = memoryview(arg)
                    r.off = 0
                elif kind == "pause":
                    r.steps.popleft()
                    r.ready = now + arg
                elif kind == "hold":
                    if r.hold_mark is None:
                        r.hold_mark = self.release_count
                    if self.release_count == r.hold_mark:
                        self.held.add(c)
                        self._want(c, selectors.EVENT_READ)
                        return
                    self.held.discard(c)
                    r.steps.popleft()
                    r.hold_mark = None
                else:  # close, cleanly, in the middle of the body
                    try:
                        c.sock.unwrap()
                    except (ssl.SSLError, OSError, ValueError):
                        pass
                    self._close(c)
                    return
                continue
            c.queue.popleft()
            c.last = now
            if r.counted:
                r.counted = False
                self.stats.leave()
            if r.reset:
                try:
                    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
                self._close(c)
                return
            if r.close:
                self._close(c)
                return
        if c.eof and not c.queue:
            self._close(c)
            return
        self._want(c, selectors.EVENT_READ)

    def _sweep(self, now):
        for c in list(self.conns):
            if not c.queue and now - c.last > IDLE_TIMEOUT:
                self._close(c)

    def _close(self, c):
        if c.closed:
            return
        c.closed = True
        for r in c.queue:
            if r.counted:
                r.counted = False
                self.stats.leave()
        c.queue.clear()
        if c.events:
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
        c.events = 0
        self.conns.discard(c)
        self.held.discard(c)
        try:
            c.sock.close()
        except OSError:
            pass

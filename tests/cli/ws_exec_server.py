#!/usr/bin/env python3
"""A small pods/exec WebSocket server for t-exec-ws.sh: plain HTTP on 127.0.0.1, the
Upgrade handshake and the v5/v4 channel protocol written out here from RFC 6455 and
the Kubernetes protocol (independent of kahu's code), so the client's framing is
checked against a second implementation, with stream shapes a real API server seldom
produces: stdout messages fragmented with the channel byte alone in the first frame,
pings between the fragments (the status is only sent once every ping was answered),
frames of every length form.

The command in the query really runs here (subprocess), its stdin, stdout and stderr
carried over channels 0, 1 and 2; its exit code becomes the channel-3 Status.  The pod
name chooses a behaviour:
  forbidden 403, missing 404, unauth 401, container "nope" 400 (container not found),
  break-N    stdout cut after N bytes: the connection closed, no status, no close frame
  nostatus   a close frame 1000 without a status
  silent     no answer to the upgrade
  masked     a masked frame from the server
  anything else: the command.
Every request is appended to --log as one JSON line (path, query, headers).
Prints "READY http://127.0.0.1:PORT" once listening."""
import argparse
import base64
import hashlib
import json
import os
import random
import socket
import socketserver
import struct
import subprocess
import threading
import time
import urllib.parse
import zlib

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Conn:
    def __init__(self, sock, seed):
        self.sock = sock
        self.lock = threading.Lock()
        self.rnd = random.Random(seed)
        self.pings_out = set()
        self.pong_cv = threading.Condition()

    def frame(self, op, payload, fin=True, mask=False):
        b0 = (0x80 if fin else 0) | op
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            h = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            h = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            h = struct.pack("!BBQ", b0, mbit | 127, n)
        if mask:
            key = os.urandom(4)
            payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
            h += key
        return h + payload

    def send(self, data):
        with self.lock:
            self.sock.sendall(data)

    def ping(self):
        p = b"p%d" % self.rnd.randrange(1 << 30)
        with self.pong_cv:
            self.pings_out.add(p)
        return self.frame(0x9, p)

    def send_channel(self, ch, data):
        """One message, in a shape chosen at random: whole, or the channel byte alone
        then fragments with pings between them."""
        shape = self.rnd.randrange(3)
        if shape == 0 or len(data) < 4:
            self.send(self.frame(0x2, bytes([ch]) + data))
            return
        out = [self.frame(0x2, bytes([ch]), fin=False)]
        pos = 0
        while pos < len(data):
            n = self.rnd.choice([1, 125, 126, 65535, 65536, 70000, len(data)])
            piece = data[pos:pos + n]
            pos += len(piece)
            out.append(self.frame(0x0, piece, fin=pos >= len(data)))
            if pos < len(data) and self.rnd.randrange(4) == 0:
                out.append(self.ping())
        self.send(b"".join(out))

    def wait_pongs(self, timeout=20):
        end = time.monotonic() + timeout
        with self.pong_cv:
            while self.pings_out and time.monotonic() < end:
                self.pong_cv.wait(0.2)
            return not self.pings_out


def recv_exact(sock, n):
    b = b""
    while len(b) < n:
        c = sock.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def read_frame(sock):
    b0, b1 = recv_exact(sock, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exact(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(sock, 8))[0]
    if not b1 & 0x80:
        raise ValueError("unmasked frame from the client")
    key = recv_exact(sock, 4)
    p = recv_exact(sock, n)
    if n:
        k = (key * (n // 4 + 1))[:n]
        p = (int.from_bytes(p, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")
    return b0 & 0x80, b0 & 0x0F, p


def status_body(code, reason, message):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {},
                       "status": "Failure", "message": message, "reason": reason,
                       "code": code}).encode()


class Handler(socketserver.BaseRequestHandler):
    def http_error(self, code, text, reason, message):
        body = status_body(code, reason, message)
        self.request.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % (code, text.encode(), len(body)) + body)

    def handle(self):
        sock = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            c = sock.recv(4096)
            if not c:
                return
            head += c
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        hdrs = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        u = urllib.parse.urlsplit(target)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        with open(self.server.log, "a") as f:
            f.write(json.dumps({"method": method, "path": u.path, "query": q,
                                "rawquery": u.query, "headers": hdrs}) + "\n")
        parts = u.path.split("/")
        # /api/v1/namespaces/NS/pods/POD/exec
        ns, pod = parts[4], parts[6]
        basic = "Basic " + base64.b64encode(self.server.basic.encode()).decode()
        if hdrs.get("authorization") not in ("Bearer " + self.server.token, basic) or pod == "unauth":
            return self.http_error(401, "Unauthorized", "Unauthorized", "Unauthorized")
        if pod == "silent":  # never answers the upgrade
            time.sleep(30)
            return
        if pod == "forbidden":
            return self.http_error(403, "Forbidden", "Forbidden",
                                   'pods "forbidden" is forbidden: User "limited" cannot '
                                   'create resource "pods/exec" in API group "" in the '
                                   'namespace "%s"' % ns)
        if pod == "missing":
            return self.http_error(404, "Not Found", "NotFound", 'pods "missing" not found')
        if q.get("container") == ["nope"]:
            return self.http_error(400, "Bad Request", "BadRequest",
                                   'container nope is not valid for pod %s' % pod)
        offered = [p.strip() for p in hdrs.get("sec-websocket-protocol", "").split(",")]
        proto = next((p for p in ("v5.channel.k8s.io", "v4.channel.k8s.io") if p in offered), None)
        if (hdrs.get("upgrade", "").lower() != "websocket" or proto is None
                or hdrs.get("sec-websocket-version") != "13"):
            return self.http_error(400, "Bad Request", "BadRequest", "not a websocket upgrade")
        accept = base64.b64encode(hashlib.sha1((hdrs["sec-websocket-key"] + GUID)
                                               .encode()).digest()).decode()
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                      "Sec-WebSocket-Protocol: %s\r\n\r\n" % (accept, proto)).encode())
        conn = Conn(sock, zlib.crc32(target.encode()))
        if pod == "masked":
            conn.send(conn.frame(0x2, b"\x01hello", mask=True))
            time.sleep(0.5)
            return
        if pod == "nostatus":
            conn.send(conn.frame(0x2, b"\x01partial"))
            conn.send(conn.frame(0x8, struct.pack("!H", 1000)))
            time.sleep(0.5)
            return
        cut = int(pod[6:]) if pod.startswith("break-") else None
        argv = q.get("command", [])
        use_stdin = q.get("stdin") == ["true"]
        conn.send(conn.ping())
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if use_stdin else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            body = json.dumps({"metadata": {}, "status": "Failure", "reason": "InternalError",
                               "message": "exec: %s" % e}).encode()
            conn.send(conn.frame(0x2, b"\x03" + body) + conn.frame(0x8, struct.pack("!H", 1000)))
            return

        def reader():
            try:
                while True:
                    fin, op, p = read_frame(sock)
                    if op == 0xA:
                        with conn.pong_cv:
                            conn.pings_out.discard(p)
                            conn.pong_cv.notify_all()
                    elif op == 0x8:
                        return
                    elif op == 0x2 and p[:1] == b"\x00" and use_stdin:
                        try:
                            proc.stdin.write(p[1:])
                            proc.stdin.flush()
                        except (BrokenPipeError, ValueError):
                            pass
                    elif op == 0x2 and p == b"\xff\x00" and proto.startswith("v5") and use_stdin:
                        proc.stdin.close()
            except (EOFError, OSError, ValueError):
                pass

        threading.Thread(target=reader, daemon=True).start()
        sent = [0]

        def pump(stream, ch):
            while True:
                d = stream.read1(256 * 1024) if hasattr(stream, "read1") else stream.read(65536)
                if not d:
                    return
                if cut is not None and ch == 1:
                    d = d[:max(0, cut - sent[0])]
                    sent[0] += len(d)
                    if d:
                        conn.send_channel(ch, d)
                    if sent[0] >= cut:
                        sock.shutdown(socket.SHUT_RDWR)
                        proc.kill()
                        return
                    continue
                conn.send_channel(ch, d)

        te = threading.Thread(target=pump, args=(proc.stderr, 2))
        te.start()
        try:
            pump(proc.stdout, 1)
        except OSError:
            pass
        te.join()
        rc = proc.wait()
        if cut is not None:
            return
        if not conn.wait_pongs():
            st = {"metadata": {}, "status": "Failure", "reason": "InternalError",
                  "message": "no pong for a ping"}
        elif rc == 0:
            st = {"metadata": {}, "status": "Success"}
        else:
            st = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                  "message": "command terminated with non-zero exit code: exit status %d" % rc,
                  "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]}}
        try:
            conn.send_channel(3, json.dumps(st).encode())
            conn.send(conn.frame(0x8, struct.pack("!H", 1000)))
            sock.settimeout(5)
            while True:  # until the client's close or the end
                if not sock.recv(65536):
                    break
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--basic", required=True, help="USER:PASSWORD accepted as basic auth")
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.log = a.log
    srv.token = a.token
    srv.basic = a.basic
    print("READY http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The SFTP subsystem of the test sshd: OpenSSH's sftp-server, with faults on demand.

    sftpfault.py CONTROL-DIR /usr/lib/openssh/sftp-server [ARGS...]

Runs the real sftp-server and copies the SFTP packets between it and the client.
Before each client packet it looks at CONTROL-DIR/fault (one word, read anew for
every packet, so a test switches faults while sshd runs):

  hang-rename [TEXT]
               on a RENAME request (whose target path holds TEXT, when given): create
               CONTROL-DIR/hung and answer nothing more until the connection ends
               (the client waits; the test kills it).  The file uploaded before the
               rename stays under its temporary name.
  disk-full    a full disk as OpenSSH's sftp-server shows it: a WRITE is answered
               SSH_FX_FAILURE ("Failure": SFTP version 3 has no code for ENOSPC), and
               statvfs@openssh.com says no block is available.
  deny-write   an OPEN for writing is answered SSH_FX_PERMISSION_DENIED (reads pass).
  (absent)     pass everything through.
"""
import os
import struct
import subprocess
import sys
import threading

FXP_OPEN = 3
FXP_WRITE = 6
FXP_RENAME = 18
FXP_STATUS = 101
FXP_EXTENDED = 200
FXP_EXTENDED_REPLY = 201
FX_PERMISSION_DENIED = 3
FXF_WRITE = 0x02
FX_FAILURE = 4


def read_exact(f, n):
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def rename_target(body):
    """The new path of a RENAME request (type, id, string oldpath, string newpath)."""
    n = struct.unpack(">I", body[5:9])[0]
    off = 9 + n
    m = struct.unpack(">I", body[off:off + 4])[0]
    return body[off + 4:off + 4 + m].decode("utf-8", "replace")


def status(body, code, msg):
    """A STATUS answer to the request `body`: its id, a code, a message."""
    payload = (bytes([FXP_STATUS]) + body[1:5] + struct.pack(">I", code)
               + struct.pack(">I", len(msg)) + msg + struct.pack(">I", 0))
    return struct.pack(">I", len(payload)) + payload


def open_flags(body):
    """The pflags of an OPEN request (type, id, string filename, uint32 pflags, ...)."""
    n = struct.unpack(">I", body[5:9])[0]
    return struct.unpack(">I", body[9 + n:13 + n])[0]


def extension(body):
    """The name of an EXTENDED request (type, id, string name, ...)."""
    n = struct.unpack(">I", body[5:9])[0]
    return body[9:9 + n]


def fault(ctl):
    try:
        with open(os.path.join(ctl, "fault")) as f:
            return f.read().strip()
    except OSError:
        return ""


def main():
    ctl = sys.argv[1]
    server = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = sys.stdout.buffer
    lock = threading.Lock()

    def answer(data):
        with lock:
            out.write(data)
            out.flush()

    def pump():
        while True:
            hdr = read_exact(server.stdout, 4)
            if hdr is None:
                break
            body = read_exact(server.stdout, struct.unpack(">I", hdr)[0])
            if body is None:
                break
            answer(hdr + body)
        os._exit(0)

    threading.Thread(target=pump, daemon=True).start()
    inp = sys.stdin.buffer
    while True:
        hdr = read_exact(inp, 4)
        if hdr is None:
            break
        body = read_exact(inp, struct.unpack(">I", hdr)[0])
        if body is None:
            break
        kind = body[0]
        f = fault(ctl)
        if kind == FXP_RENAME and f.split(" ", 1)[0] == "hang-rename" and \
                f[len("hang-rename"):].strip() in rename_target(body):
            open(os.path.join(ctl, "hung"), "w").close()
            while inp.read(65536):  # never answer; end with the connection
                pass
            os._exit(0)
        if kind == FXP_WRITE and f == "disk-full":
            answer(status(body, FX_FAILURE, b"Failure"))
            continue
        if kind == FXP_OPEN and f == "deny-write" and open_flags(body) & FXF_WRITE:
            answer(status(body, FX_PERMISSION_DENIED, b"Permission denied"))
            continue
        if kind == FXP_EXTENDED and f == "disk-full" and extension(body) == b"statvfs@openssh.com":
            # bsize frsize blocks bfree bavail files ffree favail fsid flag namemax
            vfs = (4096, 4096, 1000, 0, 0, 1000, 900, 900, 1, 0, 255)
            payload = bytes([FXP_EXTENDED_REPLY]) + body[1:5] + struct.pack(">11Q", *vfs)
            answer(struct.pack(">I", len(payload)) + payload)
            continue
        server.stdin.write(hdr + body)
        server.stdin.flush()
    server.stdin.close()
    server.wait()


if __name__ == "__main__":
    main()

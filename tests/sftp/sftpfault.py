#!/usr/bin/env python3
"""The SFTP subsystem of the test sshd: OpenSSH's sftp-server, with faults on demand.

    sftpfault.py CONTROL-DIR /usr/lib/openssh/sftp-server [ARGS...]

Runs the real sftp-server and copies the SFTP packets between it and the client.
Before each client packet it looks at CONTROL-DIR/fault (one word, read anew for
every packet, so a test switches faults while sshd runs):

  hang-rename  on a RENAME request: create CONTROL-DIR/hung and answer nothing more
               until the connection ends (the client waits; the test kills it).  The file uploaded before the
               rename stays under its temporary name.
  disk-full    on a WRITE request: answer SSH_FX_NO_SPACE_ON_FILESYSTEM (14) instead
               of writing.
  (absent)     pass everything through.
"""
import os
import struct
import subprocess
import sys
import threading

FXP_WRITE = 6
FXP_RENAME = 18
FXP_STATUS = 101
FX_NO_SPACE_ON_FILESYSTEM = 14


def read_exact(f, n):
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


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
        if kind == FXP_RENAME and f == "hang-rename":
            open(os.path.join(ctl, "hung"), "w").close()
            while inp.read(65536):  # never answer; end with the connection
                pass
            os._exit(0)
        if kind == FXP_WRITE and f == "disk-full":
            req_id = body[1:5]
            msg = b"No space left on device"
            payload = (bytes([FXP_STATUS]) + req_id + struct.pack(">I", FX_NO_SPACE_ON_FILESYSTEM)
                       + struct.pack(">I", len(msg)) + msg + struct.pack(">I", 0))
            answer(struct.pack(">I", len(payload)) + payload)
            continue
        server.stdin.write(hdr + body)
        server.stdin.flush()
    server.stdin.close()
    server.wait()


if __name__ == "__main__":
    main()

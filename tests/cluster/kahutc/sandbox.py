"""Run one exec command of a pod's container in a sandbox of its own.

The server runs this file as a program (python3 -S sandbox.py SPEC_JSON, or @FILE holding
it, removed once read: a pod's spec may hold Secret values): it enters a new
mount namespace (unshare(CLONE_NEWNS) through ctypes), builds the container's file
system on a private tmpfs and chroots into it, then executes the command.  The mounts
disappear with the process.  Needs root (CAP_SYS_ADMIN), as the test cluster has in CI;
without it the exec fails with a Status naming the system call that was refused.

The container's root:
  /bin /sbin /lib* /usr   the image's tool set, read-only:
                          "host"     the host's own
                          "busybox"  Debian's busybox 1.35 and its applets as /bin (the
                                     host's libraries under /usr/lib for its libc)
                          "notar"    the host's, without tar, find and the shells
  /etc                    the host's, read-only (its entries are symlinks into /.host-etc,
                          so volumes may be mounted under /etc)
  /dev /proc /tmp         the host's /dev (a private one with spec["private_dev"]), a
                          proc, the pod's private tmp directory
  each volumeMount        at its mountPath (read-only when asked)

This module is standalone (no imports from the package): it runs in a fresh interpreter.
Errors before the command starts are written to the error pipe (fd spec["errfd"]),
which closes on a successful exec; the server turns them into a Failure Status.
"""
import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_NOSUID = 2
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

# What an image called "distroless" or "notar" lacks.
NOTAR_MISSING = ("tar", "gtar", "bsdtar", "find", "sh", "bash", "rbash", "dash", "busybox", "cpio")
LIB_DIRS = ("lib", "lib32", "lib64", "libx32")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]


class SandboxError(Exception):
    pass


def _b(s):
    return s.encode() if isinstance(s, str) else s


def mount(src, dst, fstype, flags, data=None):
    if _libc.mount(_b(src), _b(dst), _b(fstype), flags, _b(data)) != 0:
        e = ctypes.get_errno()
        raise SandboxError("mount %s on %s: %s" % (src or fstype or "-", dst, os.strerror(e)))


def bind(src, dst, ro, rec=True):
    mount(src, dst, None, MS_BIND | (MS_REC if rec else 0))
    if ro:
        mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY)


def mountpoint(path, like):
    """Create what a bind of `like` needs at path: a directory or an empty file."""
    if os.path.isdir(like):
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            open(path, "w").close()


def host_tree(root, image):
    """/bin /sbin /lib* /usr of the host (merged-/usr symlinks kept as symlinks)."""
    for d in ("bin", "sbin") + LIB_DIRS:
        hp = "/" + d
        if os.path.islink(hp):
            os.symlink(os.readlink(hp), os.path.join(root, d))
        elif os.path.isdir(hp):
            os.makedirs(os.path.join(root, d))
            bind(hp, os.path.join(root, d), True)
    os.makedirs(os.path.join(root, "usr"))
    bind("/usr", os.path.join(root, "usr"), True)
    if image != "notar":
        return
    # The host's binaries without the missing ones: /usr/bin and /usr/sbin become
    # tmpfs directories of symlinks into a hidden bind of the real ones.
    for d in ("bin", "sbin"):
        real = "/usr/" + d
        hidden = os.path.join(root, ".host-usr-" + d)
        os.makedirs(hidden)
        bind(real, hidden, True)
        target = os.path.join(root, "usr", d)
        mount("tmpfs", target, "tmpfs", MS_NOSUID, "mode=755,size=16m")
        for name in os.listdir(real):
            if name in NOTAR_MISSING:
                continue
            os.symlink("/.host-usr-%s/%s" % (d, name), os.path.join(target, name))
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    for d in ("bin", "sbin"):
        if not os.path.islink("/" + d) and os.path.isdir("/" + d):
            raise SandboxError("the notar image needs a merged /usr host (/%s is a directory)" % d)


def busybox_tree(root, spec):
    bb = spec.get("busybox") or "/bin/busybox"
    bb = os.path.realpath(bb)
    if not os.path.isfile(bb):
        raise SandboxError("busybox image: %s is missing (install the Debian package busybox)" % bb)
    binp = os.path.join(root, "bin")
    os.makedirs(binp)
    open(os.path.join(binp, "busybox"), "w").close()
    bind(bb, os.path.join(binp, "busybox"), True, rec=False)
    for a in spec.get("applets") or []:
        if a and "/" not in a and a != "busybox":
            try:
                os.symlink("busybox", os.path.join(binp, a))
            except FileExistsError:
                pass
    os.symlink("bin", os.path.join(root, "sbin"))
    usr = os.path.join(root, "usr")
    os.makedirs(usr)
    os.symlink("../bin", os.path.join(usr, "bin"))
    os.symlink("../bin", os.path.join(usr, "sbin"))
    # busybox's libc: the host's library directories
    for d in LIB_DIRS:
        hp = "/usr/" + d
        if os.path.isdir(hp) and not os.path.islink(hp):
            os.makedirs(os.path.join(usr, d))
            bind(hp, os.path.join(usr, d), True)
        top = "/" + d
        if os.path.islink(top):
            os.symlink(os.readlink(top), os.path.join(root, d))
        elif os.path.isdir(top):
            os.makedirs(os.path.join(root, d))
            bind(top, os.path.join(root, d), True)


def private_dev(dev):
    """A /dev of its own (a pod's container: files such as /dev/termination-log are
    created in it, not in the host's): the usual character devices bound from the
    host's, the fd links, and empty pts and shm."""
    mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=755,size=1m")
    for n in ("null", "zero", "full", "random", "urandom", "tty"):
        if os.path.exists("/dev/" + n):
            open(os.path.join(dev, n), "w").close()
            bind("/dev/" + n, os.path.join(dev, n), False, rec=False)
    for n, t in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                 ("stderr", "/proc/self/fd/2")):
        os.symlink(t, os.path.join(dev, n))
    os.makedirs(os.path.join(dev, "pts"))
    os.makedirs(os.path.join(dev, "shm"), mode=0o1777)
    os.chmod(os.path.join(dev, "shm"), 0o1777)


def build(spec):
    root = spec["root"]
    if _libc.unshare(CLONE_NEWNS) != 0:
        e = ctypes.get_errno()
        raise SandboxError("unshare(CLONE_NEWNS): %s (the test cluster runs exec commands as root)" %
                           os.strerror(e))
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID, "mode=755,size=64m")
    image = spec.get("image", "host")
    if image == "busybox":
        busybox_tree(root, spec)
    else:
        host_tree(root, image)
    # /etc: the host's entries as symlinks into a read-only bind of it, in a tmpfs
    # directory, so that volumes can be mounted under /etc without touching the host
    os.makedirs(os.path.join(root, ".host-etc"))
    bind("/etc", os.path.join(root, ".host-etc"), True)
    etc = os.path.join(root, "etc")
    os.makedirs(etc)
    for name in os.listdir("/etc"):
        os.symlink("/.host-etc/" + name, os.path.join(etc, name))
    os.makedirs(os.path.join(root, "dev"))
    if spec.get("private_dev"):
        private_dev(os.path.join(root, "dev"))
    else:
        bind("/dev", os.path.join(root, "dev"), False)
    os.makedirs(os.path.join(root, "proc"))
    mount("proc", os.path.join(root, "proc"), "proc", MS_NOSUID)
    os.makedirs(os.path.join(root, "tmp"))
    bind(spec["tmp"], os.path.join(root, "tmp"), False, rec=False)
    os.makedirs(os.path.join(root, "root"), mode=0o700)
    for m in sorted(spec.get("mounts") or [], key=lambda m: m["dst"].rstrip("/").count("/")):
        dst = os.path.join(root, m["dst"].lstrip("/"))
        if os.path.islink(dst):
            os.unlink(dst)      # a volume over one of /etc's entries
        try:
            mountpoint(dst, m["src"])
        except OSError as ex:
            raise SandboxError("volume %s: cannot create its mount point %s: %s" %
                               (m.get("name", "?"), m["dst"], ex.strerror))
        bind(m["src"], dst, bool(m.get("ro")))
    wd = spec.get("workdir") or "/"
    try:
        os.makedirs(os.path.join(root, wd.lstrip("/")), exist_ok=True)
    except OSError:
        pass
    os.chroot(root)
    os.chdir(wd)


def execvpe(argv, env):
    """execvpe without imports (the chroot has no Python library)."""
    if "/" in argv[0]:
        os.execve(argv[0], argv, env)
    err = None
    for d in (env.get("PATH") or "/usr/bin:/bin").split(":"):
        try:
            os.execve(os.path.join(d or ".", argv[0]), argv, env)
        except OSError as ex:
            if err is None or ex.errno != 2:
                err = ex
    raise err or OSError(2, "not found")


def main():
    raw = sys.argv[1]
    if raw.startswith("@"):
        # the spec in a file (it may hold Secret values: not in the process's argv,
        # which any local user can read); removed once read
        with open(raw[1:]) as f:
            raw = f.read()
        os.unlink(sys.argv[1][1:])
    spec = json.loads(raw)
    errfd = spec["errfd"]
    os.set_inheritable(errfd, False)
    try:
        build(spec)
        gid, uid = spec.get("gid"), spec.get("uid")
        if gid is not None or uid is not None:
            os.setgroups([int(gid if gid is not None else 0)] + [int(g) for g in spec.get("groups") or []])
            if gid is not None:
                os.setgid(int(gid))
            if uid is not None:
                os.setuid(int(uid))
        argv = spec["argv"]
        env = spec.get("env") or {}
        try:
            execvpe(argv, env)
        except OSError as ex:
            msg = ('OCI runtime exec failed: exec failed: unable to start container process: exec: "%s": %s: '
                   'unknown' % (argv[0], "executable file not found in $PATH" if ex.errno == 2 else ex.strerror))
            os.write(errfd, ("E" + msg).encode())
            os._exit(127)
    except (SandboxError, OSError) as ex:
        os.write(errfd, ("S" + "test cluster sandbox: %s" % ex).encode())
        os._exit(126)


if __name__ == "__main__":
    main()

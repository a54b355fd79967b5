"""Object store: per-(group, resource) buckets with a sorted key index and cached JSON.

Objects are kept WITHOUT kind/apiVersion (those depend on the version a client asks
for); `raw` caches their compact JSON encoding so list pages are joins of bytes.
Keys are "namespace/name" (namespaced) or "name" (cluster scope); iteration order is
the byte order of those keys, like etcd's.
"""
import bisect
import collections
import json
import threading


def encode(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def okey(ns, name):
    return "%s/%s" % (ns, name) if ns else name


class Entry:
    __slots__ = ("obj", "raw")

    def __init__(self, obj, raw=None):
        self.obj = obj
        self.raw = raw

    def bytes(self):
        r = self.raw
        if r is None:
            r = self.raw = encode(self.obj)
        return r


class Bucket:
    __slots__ = ("objs", "keys", "sorted")

    def __init__(self):
        self.objs = {}
        self.keys = []
        self.sorted = True

    def ensure_sorted(self):
        if not self.sorted:
            self.keys.sort()
            self.sorted = True


class Event:
    """One change as a watch sees it: the object after it (for DELETED, as it was, with
    the deletion's resourceVersion) and the one before it (label and field selectors
    turn a MODIFIED into ADDED or DELETED for a watch whose selection it enters or leaves)."""
    __slots__ = ("rv", "skey", "type", "ns", "entry", "prev")

    def __init__(self, rv, skey, typ, ns, entry, prev):
        self.rv = rv
        self.skey = skey
        self.type = typ
        self.ns = ns
        self.entry = entry
        self.prev = prev


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.rv = 1000
        self.buckets = {}
        # The watch history: the most recent `window` events, in resourceVersion order.
        # A watch may start from any resourceVersion >= floor (the newest one dropped
        # from the window); an older one is Expired (410).
        self.events = collections.deque()
        self.window = 1000
        self.floor = self.rv
        self.changed = threading.Condition(threading.Lock())

    def log_event(self, skey, typ, ns, entry, prev):
        """Record a change (under self.lock, right after the resourceVersion it carries
        was taken, so events are logged in resourceVersion order) and wake watchers."""
        with self.lock:
            self.events.append(Event(self.rv, skey, typ, ns, entry, prev))
            while len(self.events) > self.window:
                self.floor = self.events.popleft().rv
        with self.changed:
            self.changed.notify_all()

    def compact(self):
        """Forget the history: every resourceVersion up to the current one is Expired."""
        with self.lock:
            self.events.clear()
            self.floor = self.rv

    def next_rv(self):
        with self.lock:
            self.rv += 1
            return self.rv

    def bucket(self, skey):
        b = self.buckets.get(skey)
        if b is None:
            b = self.buckets[skey] = Bucket()
        return b

    def get(self, skey, ns, name):
        b = self.buckets.get(skey)
        if b is None:
            return None
        return b.objs.get(okey(ns, name))

    def put(self, skey, obj, bulk=False):
        """Insert or replace; obj must carry metadata.name (and namespace when namespaced)."""
        md = obj["metadata"]
        k = okey(md.get("namespace", ""), md["name"])
        with self.lock:
            b = self.bucket(skey)
            e = Entry(obj)
            if k not in b.objs:
                if bulk:
                    b.keys.append(k)
                    b.sorted = False
                else:
                    b.ensure_sorted()
                    bisect.insort(b.keys, k)
            b.objs[k] = e
            return e

    def delete(self, skey, ns, name):
        k = okey(ns, name)
        with self.lock:
            b = self.buckets.get(skey)
            if b is None or k not in b.objs:
                return None
            b.ensure_sorted()
            e = b.objs.pop(k)
            i = bisect.bisect_left(b.keys, k)
            if i < len(b.keys) and b.keys[i] == k:
                b.keys.pop(i)
            return e

    def scan(self, skey, ns=None, start=None):
        """Yield (key, Entry) in key order from `start` (inclusive), within namespace ns.
        Holds no lock while the caller consumes; callers take self.lock around it."""
        b = self.buckets.get(skey)
        if b is None:
            return
        b.ensure_sorted()
        keys = b.keys
        if ns:
            lo = bisect.bisect_left(keys, ns + "/")
            hi = bisect.bisect_left(keys, ns + "0")  # '0' sorts right after '/'
        else:
            lo, hi = 0, len(keys)
        if start is not None:
            lo = max(lo, bisect.bisect_left(keys, start))
        objs = b.objs
        for i in range(lo, hi):
            k = keys[i]
            yield i, hi, k, objs[k]

    def count(self, skey, ns=None):
        b = self.buckets.get(skey)
        if b is None:
            return 0
        if not ns:
            return len(b.keys)
        b.ensure_sorted()
        return bisect.bisect_left(b.keys, ns + "0") - bisect.bisect_left(b.keys, ns + "/")

    def drop_bucket(self, skey):
        with self.lock:
            return self.buckets.pop(skey, None)

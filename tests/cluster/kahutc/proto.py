"""Decoding of Kubernetes protobuf request bodies for a few built-in types.

kubectl >= 1.32 sends typed-client bodies (kubectl create configmap/secret/namespace/
serviceaccount, auth whoami, auth can-i) as application/vnd.kubernetes.protobuf.  This
module understands the envelope (magic "k8s\\0" + runtime.Unknown) and the messages of
those types; any other kind gets 415, as documented.  Field numbers are those of
k8s.io/api's generated.proto.
"""
import base64
import time


class ProtoError(ValueError):
    pass


def _varint(b, i):
    shift = result = 0
    while True:
        if i >= len(b):
            raise ProtoError("truncated varint")
        c = b[i]
        i += 1
        result |= (c & 0x7f) << shift
        if not c & 0x80:
            return result, i
        shift += 7


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ProtoError("unsupported wire type %d" % wt)
        yield num, v


TIME = {1: ("seconds", "int"), 2: ("nanos", "int")}
OWNER = {1: ("kind", "str"), 3: ("name", "str"), 4: ("uid", "str"), 5: ("apiVersion", "str"),
         6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool")}
META = {1: ("name", "str"), 2: ("generateName", "str"), 3: ("namespace", "str"), 5: ("uid", "str"),
        6: ("resourceVersion", "str"), 7: ("generation", "int"), 8: ("creationTimestamp", "time"),
        11: ("labels", "map"), 12: ("annotations", "map"), 13: ("ownerReferences", ("rep", OWNER)),
        14: ("finalizers", "rep_str")}
RESATTR = {1: ("namespace", "str"), 2: ("verb", "str"), 3: ("group", "str"), 4: ("version", "str"),
           5: ("resource", "str"), 6: ("subresource", "str"), 7: ("name", "str")}
NONRES = {1: ("path", "str"), 2: ("verb", "str")}
SCHEMAS = {
    "ConfigMap": {1: ("metadata", META), 2: ("data", "map"), 3: ("binaryData", "map_bytes"),
                  4: ("immutable", "bool")},
    "Secret": {1: ("metadata", META), 2: ("data", "map_bytes"), 3: ("type", "str"), 4: ("stringData", "map"),
               5: ("immutable", "bool")},
    "Namespace": {1: ("metadata", META), 2: ("spec", {1: ("finalizers", "rep_str")})},
    "ServiceAccount": {1: ("metadata", META), 4: ("automountServiceAccountToken", "bool")},
    "SelfSubjectReview": {1: ("metadata", META)},
    "SelfSubjectAccessReview": {1: ("metadata", META),
                                2: ("spec", {1: ("resourceAttributes", RESATTR),
                                             2: ("nonResourceAttributes", NONRES)})},
}


def _decode(b, schema):
    out = {}
    for num, v in _fields(b):
        f = schema.get(num)
        if f is None:
            continue
        name, typ = f
        if isinstance(typ, dict):
            out[name] = _decode(v, typ)
        elif isinstance(typ, tuple):
            out.setdefault(name, []).append(_decode(v, typ[1]))
        elif typ == "str":
            if v:  # proto2 encodes empty strings; JSON omits them
                out[name] = v.decode("utf-8")
        elif typ == "int":
            if v:
                out[name] = v
        elif typ == "bool":
            out[name] = bool(v)
        elif typ == "rep_str":
            out.setdefault(name, []).append(v.decode("utf-8"))
        elif typ in ("map", "map_bytes"):
            kv = dict(_fields(v))
            key = kv.get(1, b"").decode("utf-8")
            val = kv.get(2, b"")
            out.setdefault(name, {})[key] = base64.b64encode(val).decode() if typ == "map_bytes" else val.decode("utf-8")
        elif typ == "time":
            t = _decode(v, TIME)
            if not t.get("seconds"):
                continue
            out[name] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t.get("seconds", 0)))
    return out


def decode(body):
    """Return the object (dict with kind/apiVersion) of a protobuf body, or raise ProtoError."""
    if body[:4] != b"k8s\x00":
        raise ProtoError("missing the protobuf magic prefix")
    unk = dict((n, v) for n, v in _fields(body[4:]))
    tm = dict(_fields(unk.get(1, b"")))
    api_version, kind = tm.get(1, b"").decode(), tm.get(2, b"").decode()
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise ProtoError("kind %s is not supported in protobuf by the kahu test cluster" % kind)
    obj = {"kind": kind, "apiVersion": api_version}
    obj.update(_decode(unk.get(2, b""), schema))
    obj.setdefault("metadata", {})
    return obj

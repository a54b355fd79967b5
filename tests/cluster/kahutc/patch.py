"""JSON merge patch (RFC 7386), a strategic-merge-patch subset, JSON patch (RFC 6902)."""
import copy


class PatchError(ValueError):
    pass


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# Merge keys of the list fields of the built-in types (patchMergeKey in k8s.io/api).
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "imagePullSecrets": "name",
    "hostAliases": "ip", "conditions": "type", "ports": None, "finalizers": "", "ownerReferences": "uid",
    "resourceClaims": "name", "topologySpreadConstraints": "topologyKey", "secrets": "name",
}


def _merge_key(field, items):
    if field not in MERGE_KEYS:
        return None
    mk = MERGE_KEYS[field]
    if mk is None:  # ports: containerPort (containers) or port (services)
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return mk


def strategic_merge_patch(target, patch):
    """Strategic merge: lists with a known merge key merge by key; $patch/$setElementOrder/
    $deleteFromPrimitiveList/$retainKeys directives are honoured."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = dict(target)
    retain = patch.get("$retainKeys")
    orders = {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(out.get(f), list):
                out[f] = [x for x in out[f] if x not in v]
            continue
        if k in ("$retainKeys", "$patch"):
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and isinstance(out.get(k), list):
            out[k] = _merge_list(k, out[k], v)
        elif isinstance(v, dict):
            r = strategic_merge_patch(out.get(k), v)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = copy.deepcopy(v)
    for f, order in orders.items():
        if isinstance(out.get(f), list):
            out[f] = _apply_order(f, out[f], order)
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(field, cur, patch):
    mk = _merge_key(field, cur + patch)
    if mk is None:
        return copy.deepcopy([p for p in patch if not (isinstance(p, dict) and p.get("$patch"))])
    if mk == "":  # primitive list with merge semantics (finalizers)
        out = list(cur)
        for p in patch:
            if p not in out:
                out.append(p)
        return out
    out = list(cur)
    for p in patch:
        if not isinstance(p, dict):
            continue
        idx = next((i for i, c in enumerate(out) if isinstance(c, dict) and c.get(mk) == p.get(mk)), None)
        if p.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append({k: v for k, v in copy.deepcopy(p).items() if not k.startswith("$")})
        else:
            out[idx] = strategic_merge_patch(out[idx], p)
    return out


def _apply_order(field, items, order):
    mk = _merge_key(field, items)
    if not mk:
        return items
    pos = {}
    for i, o in enumerate(order):
        if isinstance(o, dict):
            pos[o.get(mk)] = i
    return sorted(items, key=lambda x: pos.get(x.get(mk) if isinstance(x, dict) else None, len(order)))


def _decode_pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, dict):
            if p not in cur:
                raise PatchError("doc is missing path: %s" % "/" + "/".join(parts))
            cur = cur[p]
        elif isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise PatchError("unable to access invalid index: %s" % p)
        else:
            raise PatchError("doc is missing path")
    return cur


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError("invalid operation %r" % (op,))
        kind = op["op"]
        parts = _decode_pointer(op.get("path", ""))

        def get_parent():
            if not parts:
                raise PatchError("cannot operate on the document root")
            return _walk(doc, parts[:-1]), parts[-1]

        if kind == "test":
            if _walk(doc, parts) != op.get("value"):
                raise PatchError("testing value %s failed" % op.get("path"))
        elif kind == "remove":
            parent, last = get_parent()
            _remove(parent, last, op["path"])
        elif kind in ("add", "replace"):
            parent, last = get_parent()
            val = copy.deepcopy(op.get("value"))
            if isinstance(parent, dict):
                if kind == "replace" and last not in parent:
                    raise PatchError("replace operation does not apply: doc is missing key: %s" % op["path"])
                parent[last] = val
            elif isinstance(parent, list):
                if last == "-":
                    parent.append(val)
                else:
                    try:
                        i = int(last)
                    except ValueError:
                        raise PatchError("invalid index %r" % last)
                    if kind == "add":
                        if i > len(parent) or i < 0:
                            raise PatchError("add operation does not apply: index out of range")
                        parent.insert(i, val)
                    else:
                        if i >= len(parent) or i < 0:
                            raise PatchError("replace operation does not apply: index out of range")
                        parent[i] = val
            else:
                raise PatchError("doc is missing path: %s" % op["path"])
        elif kind in ("move", "copy"):
            src = _decode_pointer(op.get("from", ""))
            val = copy.deepcopy(_walk(doc, src))
            if kind == "move":
                sp = _walk(doc, src[:-1])
                _remove(sp, src[-1], op.get("from"))
            doc = json_patch(doc, [{"op": "add", "path": op["path"], "value": val}])
        else:
            raise PatchError("Unexpected kind: %s" % kind)
    return doc


def _remove(parent, last, path):
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("remove operation does not apply: doc is missing path: \"%s\"" % path)
        del parent[last]
    elif isinstance(parent, list):
        try:
            parent.pop(int(last))
        except (ValueError, IndexError):
            raise PatchError("remove operation does not apply: doc is missing path: \"%s\"" % path)
    else:
        raise PatchError("remove operation does not apply: doc is missing path: \"%s\"" % path)

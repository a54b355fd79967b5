"""labelSelector and fieldSelector parsing and matching (Kubernetes semantics)."""
import re


class SelectorError(ValueError):
    pass


_KEY = re.compile(r'^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?'
                  r'[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$')
_VALUE = re.compile(r'^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$')


def _check_key(k):
    if not k or len(k) > 317 or not _KEY.match(k):
        raise SelectorError("unable to parse requirement: invalid label key \"%s\": name part must consist "
                            "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                            "alphanumeric character" % k)


def _check_value(v):
    if len(v) > 63 or not _VALUE.match(v):
        raise SelectorError("unable to parse requirement: invalid label value: \"%s\": a valid label must be "
                            "an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
                            "must start and end with an alphanumeric character" % v)


def _split_top(s):
    """Split on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == '(':
            depth += 1
        elif ch == ')':
            depth -= 1
            if depth < 0:
                raise SelectorError("unable to parse requirement: unexpected ')'")
        if ch == ',' and depth == 0:
            parts.append(''.join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise SelectorError("unable to parse requirement: missing ')'")
    parts.append(''.join(cur))
    return parts


_SET = re.compile(r'^\s*(\S+?)\s+(in|notin)\s*\((.*)\)\s*$')
_OP = re.compile(r'^\s*([^!=<>\s]+)\s*(==|!=|=|<|>)\s*(.*?)\s*$')


def parse_label_selector(s):
    """Return a list of (key, op, values); ops: eq ne in notin exists !exists gt lt."""
    reqs = []
    if s is None or s.strip() == "":
        return reqs
    for part in _split_top(s):
        p = part.strip()
        if not p:
            raise SelectorError("found '', expected: !, identifier, or 'end of string'")
        m = _SET.match(p)
        if m:
            key, op, vals = m.group(1), m.group(2), [v.strip() for v in m.group(3).split(',')]
            _check_key(key)
            for v in vals:
                _check_value(v)
            reqs.append((key, op, set(vals)))
            continue
        if p.startswith('!'):
            key = p[1:].strip()
            _check_key(key)
            reqs.append((key, '!exists', None))
            continue
        m = _OP.match(p)
        if m:
            key, op, val = m.group(1), m.group(2), m.group(3)
            _check_key(key)
            if op in ('<', '>'):
                try:
                    int(val)
                except ValueError:
                    raise SelectorError("unable to parse requirement: for 'Gt', 'Lt' operators, the value "
                                        "must be an integer")
                reqs.append((key, 'gt' if op == '>' else 'lt', int(val)))
                continue
            _check_value(val)
            reqs.append((key, 'ne' if op == '!=' else 'eq', val))
            continue
        if re.match(r'^\S+$', p) and '(' not in p and ')' not in p:
            _check_key(p)
            reqs.append((p, 'exists', None))
            continue
        raise SelectorError("unable to parse requirement: found '%s', expected: in, notin, =, ==, !=, gt, lt"
                            % p)
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, val in reqs:
        has = key in labels
        v = labels.get(key)
        if op == 'eq':
            if not has or v != val:
                return False
        elif op == 'ne':
            if has and v == val:
                return False
        elif op == 'in':
            if not has or v not in val:
                return False
        elif op == 'notin':
            if has and v in val:
                return False
        elif op == 'exists':
            if not has:
                return False
        elif op == '!exists':
            if has:
                return False
        elif op in ('gt', 'lt'):
            if not has:
                return False
            try:
                n = int(v)
            except ValueError:
                return False
            if (op == 'gt' and not n > val) or (op == 'lt' and not n < val):
                return False
    return True


# Field labels supported besides metadata.name / metadata.namespace (as the real strategies do).
EXTRA_FIELDS = {
    ("", "pods"): ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                   "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
    ("", "secrets"): ["type"],
    ("", "namespaces"): ["status.phase"],
    ("", "nodes"): ["spec.unschedulable"],
    ("", "events"): ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                     "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                     "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
    ("", "replicationcontrollers"): ["status.replicas"],
    ("apps", "replicasets"): ["status.replicas"],
    ("batch", "jobs"): ["status.successful"],
    ("", "persistentvolumeclaims"): [],
    ("certificates.k8s.io", "certificatesigningrequests"): ["spec.signerName"],
}


def parse_field_selector(s, rkey):
    reqs = []
    if s is None or s.strip() == "":
        return reqs
    allowed = {"metadata.name", "metadata.namespace"} | set(EXTRA_FIELDS.get(rkey, []))
    for part in s.split(','):
        p = part.strip()
        m = re.match(r'^([^!=]+?)\s*(==|!=|=)\s*(.*)$', p)
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (s, p))
        field, op, val = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in allowed:
            raise SelectorError('field label not supported: %s' % field)
        reqs.append((field, op != '!=', val))
    return reqs


def _field_value(obj, field):
    cur = obj
    for p in field.split('.'):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def match_fields(reqs, obj):
    for field, eq, val in reqs:
        if (_field_value(obj, field) == val) != eq:
            return False
    return True

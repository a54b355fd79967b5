"""RBAC as kube-apiserver's authorizer evaluates it, for service accounts.

A request (user, groups, verb, API group, resource with its subresource, namespace, name)
is allowed when a rule of a role bound to one of its subjects grants it:
- ClusterRoleBindings: their ClusterRole's rules, in every namespace and at the cluster
  scope;
- RoleBindings of the request's namespace: their Role's (of that namespace) or
  ClusterRole's rules, in that namespace only (not for cluster-scoped resources);
- a rule grants when its verbs hold the verb (or "*"), its apiGroups the group (or "*"),
  its resources the resource ("pods", "pods/exec"; "*", "*/exec", "pods/*"), and its
  resourceNames, when it has any, the request's name (a create or a list has none, so
  such a rule never grants them);
- a ClusterRole with an aggregationRule has the rules of the ClusterRoles its selectors
  match (as the aggregation controller would have written them);
- the bootstrap policy every authenticated user has (system:basic-user): create
  selfsubjectaccessreviews, selfsubjectrulesreviews and selfsubjectreviews.
A binding's subjects: User (name), Group (name: system:serviceaccounts,
system:serviceaccounts:NS, system:authenticated ...), ServiceAccount (name, namespace).
The reason of a decision names the binding and role, as the real authorizer's does.
"""

RBAC = "rbac.authorization.k8s.io"

# the decision's reason for a member of system:masters (the bootstrap cluster-admin binding)
MASTERS_REASON = ('RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" '
                  'to Group "system:masters"')

BASIC_USER = (("authorization.k8s.io", "selfsubjectaccessreviews"),
              ("authorization.k8s.io", "selfsubjectrulesreviews"),
              ("authentication.k8s.io", "selfsubjectreviews"))


def _objs(cluster, plural, ns=None):
    rt = cluster.registry.by_key.get((RBAC, plural))
    if rt is None:
        return []
    with cluster.store.lock:
        return [e.obj for _, _, _, e in cluster.store.scan(rt.storage_key, ns)]


def _get(cluster, plural, ns, name):
    rt = cluster.registry.by_key.get((RBAC, plural))
    if rt is None:
        return None
    e = cluster.store.get(rt.storage_key, ns or "", name)
    return e.obj if e else None


def _matches_labels(sel, labels):
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for ex in sel.get("matchExpressions") or []:
        k, op, vals = ex.get("key"), ex.get("operator"), ex.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def _cluster_role_rules(cluster, name):
    cr = _get(cluster, "clusterroles", "", name)
    if cr is None:
        return []
    agg = cr.get("aggregationRule")
    if not agg:
        return list(cr.get("rules") or [])
    rules = []
    sels = agg.get("clusterRoleSelectors") or []
    for other in _objs(cluster, "clusterroles"):
        labels = (other.get("metadata") or {}).get("labels") or {}
        if other.get("aggregationRule") is None and any(_matches_labels(s, labels) for s in sels):
            rules.extend(other.get("rules") or [])
    return rules


def _role_rules(cluster, ref, ns):
    kind, name = (ref or {}).get("kind"), (ref or {}).get("name", "")
    if kind == "ClusterRole":
        return _cluster_role_rules(cluster, name)
    if kind == "Role" and ns:
        r = _get(cluster, "roles", ns, name)
        return list((r or {}).get("rules") or [])
    return []


def _subject_matches(s, user, groups, binding_ns):
    kind = s.get("kind")
    if kind == "User":
        return s.get("name") == user
    if kind == "Group":
        return s.get("name") in groups
    if kind == "ServiceAccount":
        sa_ns = s.get("namespace") or binding_ns
        return user == "system:serviceaccount:%s:%s" % (sa_ns, s.get("name", ""))
    return False


def _resource_matches(allowed, resource):
    base, _, sub = resource.partition("/")
    for r in allowed:
        if r == "*" or r == resource:
            return True
        if sub and (r == "*/" + sub or r == base + "/*"):
            return True
    return False


def rule_grants(rule, verb, group, resource, name):
    verbs = rule.get("verbs") or []
    if "*" not in verbs and verb not in verbs:
        return False
    groups = rule.get("apiGroups")
    if groups is None or ("*" not in groups and (group or "") not in groups):
        return False
    if not _resource_matches(rule.get("resources") or [], resource):
        return False
    names = rule.get("resourceNames") or []
    return not names or (name is not None and name in names)


def _kind_name(s):
    if s.get("kind") == "ServiceAccount":
        return 'ServiceAccount "%s/%s"' % (s.get("namespace", ""), s.get("name", ""))
    return '%s "%s"' % (s.get("kind", ""), s.get("name", ""))


def decide(cluster, user, groups, verb, group, resource, ns=None, name=None):
    """(allowed, reason): the first binding and role that grants the request."""
    if verb == "create" and (group or "", resource) in BASIC_USER and "system:authenticated" in groups:
        return True, 'RBAC: allowed by ClusterRoleBinding "system:basic-user" of ClusterRole ' \
                     '"system:basic-user" to Group "system:authenticated"'
    for b in _objs(cluster, "clusterrolebindings"):
        for s in b.get("subjects") or []:
            if not _subject_matches(s, user, groups, ""):
                continue
            for rule in _cluster_role_rules(cluster, (b.get("roleRef") or {}).get("name", "")):
                if rule_grants(rule, verb, group, resource, name):
                    return True, 'RBAC: allowed by ClusterRoleBinding "%s" of ClusterRole "%s" to %s' % (
                        b["metadata"]["name"], b["roleRef"]["name"], _kind_name(s))
            break
    if ns:
        for b in _objs(cluster, "rolebindings", ns):
            for s in b.get("subjects") or []:
                if not _subject_matches(s, user, groups, ns):
                    continue
                ref = b.get("roleRef") or {}
                for rule in _role_rules(cluster, ref, ns):
                    if rule_grants(rule, verb, group, resource, name):
                        return True, 'RBAC: allowed by RoleBinding "%s/%s" of %s "%s" to %s' % (
                            ns, b["metadata"]["name"], ref.get("kind"), ref.get("name"), _kind_name(s))
                break
    return False, ""

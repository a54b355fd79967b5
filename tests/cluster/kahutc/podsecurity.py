"""Pod Security admission (enforce mode) for pods, with kube-apiserver's messages.

A namespace labelled pod-security.kubernetes.io/enforce: baseline|restricted refuses pods
that violate the level: 403 Forbidden,
  pods "NAME" is forbidden: violates PodSecurity "LEVEL:VERSION": CHECK (DETAIL), ...
The checks kept are the ones that decide whether a backup helper pod is admitted:
baseline: host namespaces, privileged, hostPath volumes; restricted adds volume types,
allowPrivilegeEscalation, capabilities, runAsNonRoot, runAsUser=0 and seccompProfile.
"""
from .errors import ApiError

LEVEL_LABEL = "pod-security.kubernetes.io/enforce"
VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
RESTRICTED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret")


def _quote_list(names):
    return ", ".join('"%s"' % n for n in names)


def _containers(spec):
    return [c for key in ("initContainers", "containers", "ephemeralContainers") for c in spec.get(key) or []]


def _who(names, verb_one, verb_many, what):
    if len(names) == 1:
        return 'container %s %s %s' % (_quote_list(names), verb_one, what)
    return 'containers %s %s %s' % (_quote_list(names), verb_many, what)


def violations(level, pod):
    spec = pod.get("spec") or {}
    psc = spec.get("securityContext") or {}
    out = []
    conts = _containers(spec)
    # baseline
    host = [k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    if host:
        out.append("host namespaces (%s)" % ", ".join("%s=true" % k for k in host))
    priv = [c.get("name") for c in conts if (c.get("securityContext") or {}).get("privileged")]
    if priv:
        out.append("privileged (%s)" % _who(priv, "must not set", "must not set", "securityContext.privileged=true"))
    hp = [v.get("name") for v in spec.get("volumes") or [] if "hostPath" in v]
    if hp:
        out.append("hostPath volumes (volume%s %s)" % ("s" if len(hp) > 1 else "", _quote_list(hp)))
    if level != "restricted":
        return out
    bad_vols = [(v.get("name"), next((k for k in v if k != "name"), "")) for v in spec.get("volumes") or []
                if not any(k in v for k in RESTRICTED_VOLUMES)]
    if bad_vols:
        out.append("restricted volume types (%s)" % ", ".join('volume "%s" uses restricted volume type "%s"' % bv
                                                              for bv in bad_vols))
    ape = [c.get("name") for c in conts if (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False]
    if ape:
        out.append("allowPrivilegeEscalation != false (%s)" %
                   _who(ape, "must set", "must set", "securityContext.allowPrivilegeEscalation=false"))
    caps = []
    for c in conts:
        cap = (c.get("securityContext") or {}).get("capabilities") or {}
        drop = [str(x).upper() for x in cap.get("drop") or []]
        add = [x for x in cap.get("add") or [] if x != "NET_BIND_SERVICE"]
        if "ALL" not in drop or add:
            caps.append(c.get("name"))
    if caps:
        out.append("unrestricted capabilities (%s)" %
                   _who(caps, "must set", "must set", 'securityContext.capabilities.drop=["ALL"]'))
    pod_nonroot = psc.get("runAsNonRoot") is True
    nonroot = [c.get("name") for c in conts
               if (c.get("securityContext") or {}).get("runAsNonRoot", pod_nonroot) is not True]
    if nonroot:
        if len(nonroot) == len(conts) and psc.get("runAsNonRoot") is None:
            out.append("runAsNonRoot != true (pod or %s)" % _who(nonroot, "must set", "must set",
                                                                 "securityContext.runAsNonRoot=true"))
        else:
            out.append("runAsNonRoot != true (%s)" % _who(nonroot, "must not set", "must not set",
                                                          "securityContext.runAsNonRoot=false"))
    root_uid = []
    if psc.get("runAsUser") == 0:
        root_uid.append("pod")
    root_uid += [c.get("name") for c in conts if (c.get("securityContext") or {}).get("runAsUser") == 0]
    if root_uid:
        cs = [n for n in root_uid if n != "pod"]
        who = (["pod"] if "pod" in root_uid else []) + (
            ['container%s %s' % ("s" if len(cs) > 1 else "", _quote_list(cs))] if cs else [])
        out.append("runAsUser=0 (%s must not set runAsUser=0)" % " and ".join(who))
    pod_sc = ((psc.get("seccompProfile") or {}).get("type"))
    seccomp = [c.get("name") for c in conts
               if (((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type") or pod_sc)
               not in ("RuntimeDefault", "Localhost")]
    if seccomp:
        if len(seccomp) == len(conts) and pod_sc is None:
            out.append('seccompProfile (pod or %s)' % _who(seccomp, "must set", "must set",
                                                          'securityContext.seccompProfile.type to "RuntimeDefault" '
                                                          'or "Localhost"'))
        else:
            out.append('seccompProfile (%s)' % _who(seccomp, "must set", "must set",
                                                   'securityContext.seccompProfile.type to "RuntimeDefault" or '
                                                   '"Localhost"'))
    return out


def admit(cluster, pod):
    """Raise the 403 a real server answers when the pod's namespace enforces a level it
    violates."""
    ns = pod["metadata"].get("namespace", "")
    e = cluster.store.get(("", "namespaces"), "", ns)
    labels = ((e.obj.get("metadata") or {}).get("labels") or {}) if e else {}
    level = labels.get(LEVEL_LABEL)
    if level not in ("baseline", "restricted"):
        return
    v = violations(level, pod)
    if not v:
        return
    name = pod["metadata"].get("name") or pod["metadata"].get("generateName", "")
    msg = 'pods "%s" is forbidden: violates PodSecurity "%s:%s": %s' % (
        name, level, labels.get(VERSION_LABEL) or "latest", ", ".join(v))
    raise ApiError(403, "Forbidden", msg, {"name": name, "kind": "pods"})

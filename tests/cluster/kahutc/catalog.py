"""The built-in resource types of a Kubernetes 1.30 API server.

Each group version lists its resources as compact tuples; `builtin_types()` expands them
into ResourceType objects.  Subresources are listed per resource; discovery renders them
as separate `plural/sub` entries (legacy) or as `subresources` (aggregated v2).
"""

ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
NODC = ["create", "delete", "get", "list", "patch", "update", "watch"]
CREATE = ["create"]
GETLIST = ["get", "list"]
GPU = ["get", "patch", "update"]

# subresource name -> (verbs, response kind (group, version, kind) or None = parent kind)
SUB = {
    "status": (GPU, None),
    "scale": (GPU, ("autoscaling", "v1", "Scale")),
    "exec": (["create", "get"], ("", "v1", "PodExecOptions")),
    "attach": (["create", "get"], ("", "v1", "PodAttachOptions")),
    "portforward": (["create", "get"], ("", "v1", "PodPortForwardOptions")),
    "log": (["get"], ("", "v1", "Pod")),
    "binding": (["create"], ("", "v1", "Binding")),
    "eviction": (["create"], ("policy", "v1", "Eviction")),
    "ephemeralcontainers": (GPU, ("", "v1", "Pod")),
    "token": (["create"], ("authentication.k8s.io", "v1", "TokenRequest")),
    "finalize": (["update"], ("", "v1", "Namespace")),
    "approval": (GPU, ("certificates.k8s.io", "v1", "CertificateSigningRequest")),
}
PROXY_KIND = {"pods": "PodProxyOptions", "nodes": "NodeProxyOptions", "services": "ServiceProxyOptions"}

NS, CL = True, False

# (plural, singular, namespaced, kind, verbs, shortNames, categories, subresources)
GROUPS = [
    ("", ["v1"], {"v1": [
        ("bindings", "binding", NS, "Binding", CREATE, [], [], []),
        ("componentstatuses", "componentstatus", CL, "ComponentStatus", GETLIST, ["cs"], [], []),
        ("configmaps", "configmap", NS, "ConfigMap", ALL, ["cm"], [], []),
        ("endpoints", "endpoints", NS, "Endpoints", ALL, ["ep"], [], []),
        ("events", "event", NS, "Event", ALL, ["ev"], [], []),
        ("limitranges", "limitrange", NS, "LimitRange", ALL, ["limits"], [], []),
        ("namespaces", "namespace", CL, "Namespace", NODC, ["ns"], [], ["finalize", "status"]),
        ("nodes", "node", CL, "Node", ALL, ["no"], [], ["proxy", "status"]),
        ("persistentvolumeclaims", "persistentvolumeclaim", NS, "PersistentVolumeClaim", ALL, ["pvc"], [], ["status"]),
        ("persistentvolumes", "persistentvolume", CL, "PersistentVolume", ALL, ["pv"], [], ["status"]),
        ("pods", "pod", NS, "Pod", ALL, ["po"], ["all"],
         ["attach", "binding", "ephemeralcontainers", "eviction", "exec", "log", "portforward", "proxy", "status"]),
        ("podtemplates", "podtemplate", NS, "PodTemplate", ALL, [], [], []),
        ("replicationcontrollers", "replicationcontroller", NS, "ReplicationController", ALL, ["rc"], ["all"], ["scale", "status"]),
        ("resourcequotas", "resourcequota", NS, "ResourceQuota", ALL, ["quota"], [], ["status"]),
        ("secrets", "secret", NS, "Secret", ALL, [], [], []),
        ("serviceaccounts", "serviceaccount", NS, "ServiceAccount", ALL, ["sa"], [], ["token"]),
        ("services", "service", NS, "Service", ALL, ["svc"], ["all"], ["proxy", "status"]),
    ]}),
    ("apiregistration.k8s.io", ["v1"], {"v1": [
        ("apiservices", "apiservice", CL, "APIService", ALL, [], ["api-extensions"], ["status"]),
    ]}),
    ("apps", ["v1"], {"v1": [
        ("controllerrevisions", "controllerrevision", NS, "ControllerRevision", ALL, [], [], []),
        ("daemonsets", "daemonset", NS, "DaemonSet", ALL, ["ds"], ["all"], ["status"]),
        ("deployments", "deployment", NS, "Deployment", ALL, ["deploy"], ["all"], ["scale", "status"]),
        ("replicasets", "replicaset", NS, "ReplicaSet", ALL, ["rs"], ["all"], ["scale", "status"]),
        ("statefulsets", "statefulset", NS, "StatefulSet", ALL, ["sts"], ["all"], ["scale", "status"]),
    ]}),
    ("events.k8s.io", ["v1"], {"v1": [
        ("events", "event", NS, "Event", ALL, ["ev"], [], []),
    ]}),
    ("authentication.k8s.io", ["v1"], {"v1": [
        ("selfsubjectreviews", "selfsubjectreview", CL, "SelfSubjectReview", CREATE, [], [], []),
        ("tokenreviews", "tokenreview", CL, "TokenReview", CREATE, [], [], []),
    ]}),
    ("authorization.k8s.io", ["v1"], {"v1": [
        ("localsubjectaccessreviews", "localsubjectaccessreview", NS, "LocalSubjectAccessReview", CREATE, [], [], []),
        ("selfsubjectaccessreviews", "selfsubjectaccessreview", CL, "SelfSubjectAccessReview", CREATE, [], [], []),
        ("selfsubjectrulesreviews", "selfsubjectrulesreview", CL, "SelfSubjectRulesReview", CREATE, [], [], []),
        ("subjectaccessreviews", "subjectaccessreview", CL, "SubjectAccessReview", CREATE, [], [], []),
    ]}),
    ("autoscaling", ["v2", "v1"], {v: [
        ("horizontalpodautoscalers", "horizontalpodautoscaler", NS, "HorizontalPodAutoscaler", ALL, ["hpa"], ["all"], ["status"]),
    ] for v in ("v1", "v2")}),
    ("batch", ["v1"], {"v1": [
        ("cronjobs", "cronjob", NS, "CronJob", ALL, ["cj"], ["all"], ["status"]),
        ("jobs", "job", NS, "Job", ALL, [], ["all"], ["status"]),
    ]}),
    ("certificates.k8s.io", ["v1"], {"v1": [
        ("certificatesigningrequests", "certificatesigningrequest", CL, "CertificateSigningRequest", ALL, ["csr"], [], ["approval", "status"]),
    ]}),
    ("networking.k8s.io", ["v1"], {"v1": [
        ("ingressclasses", "ingressclass", CL, "IngressClass", ALL, [], [], []),
        ("ingresses", "ingress", NS, "Ingress", ALL, ["ing"], [], ["status"]),
        ("networkpolicies", "networkpolicy", NS, "NetworkPolicy", ALL, ["netpol"], [], []),
    ]}),
    ("policy", ["v1"], {"v1": [
        ("poddisruptionbudgets", "poddisruptionbudget", NS, "PodDisruptionBudget", ALL, ["pdb"], [], ["status"]),
    ]}),
    ("rbac.authorization.k8s.io", ["v1"], {"v1": [
        ("clusterrolebindings", "clusterrolebinding", CL, "ClusterRoleBinding", ALL, [], [], []),
        ("clusterroles", "clusterrole", CL, "ClusterRole", ALL, [], [], []),
        ("rolebindings", "rolebinding", NS, "RoleBinding", ALL, [], [], []),
        ("roles", "role", NS, "Role", ALL, [], [], []),
    ]}),
    ("storage.k8s.io", ["v1"], {"v1": [
        ("csidrivers", "csidriver", CL, "CSIDriver", ALL, [], [], []),
        ("csinodes", "csinode", CL, "CSINode", ALL, [], [], []),
        ("csistoragecapacities", "csistoragecapacity", NS, "CSIStorageCapacity", ALL, [], [], []),
        ("storageclasses", "storageclass", CL, "StorageClass", ALL, ["sc"], [], []),
        ("volumeattachments", "volumeattachment", CL, "VolumeAttachment", ALL, [], [], ["status"]),
    ]}),
    ("admissionregistration.k8s.io", ["v1"], {"v1": [
        ("mutatingwebhookconfigurations", "mutatingwebhookconfiguration", CL, "MutatingWebhookConfiguration", ALL, [], ["api-extensions"], []),
        ("validatingadmissionpolicies", "validatingadmissionpolicy", CL, "ValidatingAdmissionPolicy", ALL, [], ["api-extensions"], ["status"]),
        ("validatingadmissionpolicybindings", "validatingadmissionpolicybinding", CL, "ValidatingAdmissionPolicyBinding", ALL, [], ["api-extensions"], []),
        ("validatingwebhookconfigurations", "validatingwebhookconfiguration", CL, "ValidatingWebhookConfiguration", ALL, [], ["api-extensions"], []),
    ]}),
    ("apiextensions.k8s.io", ["v1"], {"v1": [
        ("customresourcedefinitions", "customresourcedefinition", CL, "CustomResourceDefinition", ALL, ["crd", "crds"], ["api-extensions"], ["status"]),
    ]}),
    ("scheduling.k8s.io", ["v1"], {"v1": [
        ("priorityclasses", "priorityclass", CL, "PriorityClass", ALL, ["pc"], [], []),
    ]}),
    ("coordination.k8s.io", ["v1"], {"v1": [
        ("leases", "lease", NS, "Lease", ALL, [], [], []),
    ]}),
    ("node.k8s.io", ["v1"], {"v1": [
        ("runtimeclasses", "runtimeclass", CL, "RuntimeClass", ALL, [], [], []),
    ]}),
    ("discovery.k8s.io", ["v1"], {"v1": [
        ("endpointslices", "endpointslice", NS, "EndpointSlice", ALL, [], [], []),
    ]}),
    ("flowcontrol.apiserver.k8s.io", ["v1"], {"v1": [
        ("flowschemas", "flowschema", CL, "FlowSchema", ALL, [], [], ["status"]),
        ("prioritylevelconfigurations", "prioritylevelconfiguration", CL, "PriorityLevelConfiguration", ALL, [], [], ["status"]),
    ]}),
]

# Resources whose objects carry metadata.generation (their strategies set it).
GENERATION = {
    ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("apps", "replicasets"),
    ("", "replicationcontrollers"), ("batch", "jobs"), ("batch", "cronjobs"),
    ("policy", "poddisruptionbudgets"), ("autoscaling", "horizontalpodautoscalers"),
    ("networking.k8s.io", "networkpolicies"), ("networking.k8s.io", "ingresses"),
    ("networking.k8s.io", "ingressclasses"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
    ("scheduling.k8s.io", "priorityclasses"),
}

# Two endpoints, one storage (as in a real apiserver).
STORAGE_ALIAS = {("events.k8s.io", "events"): ("", "events")}

# Aggregated API groups whose APIService is broken: listed, but their version answers 503.
BROKEN_AGGREGATED = [("metrics.k8s.io", "v1beta1")]

# Order of groups in /apis (the apiserver's group priorities), CRD groups follow.
GROUP_ORDER = [g for g, _, _ in GROUPS if g]

REVIEW_GROUPS = {"authentication.k8s.io", "authorization.k8s.io"}


class ResourceType:
    """One resource (group, plural), served at one or more versions."""

    def __init__(self, group, plural, singular, namespaced, kind, verbs, short=(), cats=(),
                 subs=(), versions=("v1",), crd=None, list_kind=None):
        self.group = group
        self.plural = plural
        self.singular = singular
        self.namespaced = namespaced
        self.kind = kind
        self.list_kind = list_kind or kind + "List"
        self.verbs = list(verbs)
        self.short = list(short)
        self.cats = list(cats)
        self.subs = list(subs)
        self.versions = list(versions)   # served versions
        self.storage_version = self.versions[0]
        self.crd = crd                   # CRD name when a custom resource
        self.storage_key = STORAGE_ALIAS.get((group, plural), (group, plural))
        self.generation = crd is not None or (group, plural) in GENERATION
        self.review = group in REVIEW_GROUPS
        self.crd_status_sub = False
        self.printer_columns = {}        # version -> additionalPrinterColumns (CRDs)

    @property
    def key(self):
        return (self.group, self.plural)

    def api_version(self, version=None):
        v = version or self.storage_version
        return v if not self.group else "%s/%s" % (self.group, v)

    def has_status(self):
        return "status" in self.subs

    def sub_kind(self, sub, version):
        verbs, rk = SUB.get(sub, (GPU, None))
        if sub == "proxy":
            return ["create", "delete", "get", "patch", "update"], ("", "v1", PROXY_KIND.get(self.plural, "PodProxyOptions"))
        if rk is None:
            rk = (self.group, version, self.kind)
        return verbs, rk


def builtin_types():
    """Yield (group, versions in preference order, {version: [ResourceType]})."""
    out = []
    for group, versions, per_version in GROUPS:
        types = {}
        made = {}
        for v in versions:
            lst = []
            for (plural, singular, namespaced, kind, verbs, short, cats, subs) in per_version[v]:
                rt = made.get(plural)
                if rt is None:
                    rt = ResourceType(group, plural, singular, namespaced, kind, verbs, short, cats, subs,
                                      versions=[vv for vv in versions if any(p[0] == plural for p in per_version[vv])])
                    # storage version: v1 where both exist (autoscaling stores v2 in reality; irrelevant here)
                    rt.storage_version = rt.versions[0]
                    made[plural] = rt
                lst.append(rt)
            types[v] = lst
        out.append((group, versions, types))
    return out

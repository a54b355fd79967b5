/* kahu — cleaning, namespace mapping, version choice and comparison of restored
 * objects (see sanitize.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sanitize.h"
#include "kube/discovery.h"
#include "kube/resource.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strset.h"

/* ---- small JSON helpers ---- */

/* o[k1][k2]…, NULL-terminated list of keys; NULL when any step is missing. */
static json_t *jget(json_t *o, ...)
{
	va_list ap;
	const char *k;
	va_start(ap, o);
	while (o && (k = va_arg(ap, const char *)))
		o = json_object_get(o, k);
	va_end(ap);
	return o;
}
#define JGET(o, ...) jget((o), __VA_ARGS__, (const char *)NULL)

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* o[k] as an object, created when absent (or not an object). */
static json_t *jobj(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, k, v);
	}
	return v;
}

static int starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "apps/v1" -> group "apps"; "v1" -> "".  Returns the version part. */
static const char *split_api_version(const char *av, char **group)
{
	const char *slash = strchr(av, '/');
	*group = slash ? xstrndup(av, (size_t)(slash - av)) : xstrdup("");
	return slash ? slash + 1 : av;
}

static int is_kind(json_t *obj, const char *group, const char *kind)
{
	const char *av = jstr(obj, "apiVersion"), *k = jstr(obj, "kind");
	if (!av || !k || strcmp(k, kind) != 0)
		return 0;
	const char *slash = strchr(av, '/');
	if (!*group)
		return slash == NULL;
	return slash && (size_t)(slash - av) == strlen(group) && strncmp(av, group, strlen(group)) == 0;
}

/* ---- names ---- */

/* NULL when `s` is a DNS-1123 label, else why not. */
static const char *dns_label_problem(const char *s, char *bad)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (n > 63)
		return "is longer than 63 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
			*bad = (char)c;
			return "has a character other than a-z, 0-9 and '-'";
		}
	}
	if (s[0] == '-' || s[n - 1] == '-')
		return "must start and end with a lowercase letter or a digit";
	return NULL;
}

/* "<sa>-token-" followed by exactly five lowercase letters or digits: the Secrets the
 * token controller generated before Kubernetes 1.24. */
static int is_generated_token_name(const char *name, const char *sa)
{
	if (!name || !sa || !*sa)
		return 0;
	size_t n = strlen(sa);
	if (strncmp(name, sa, n) != 0 || strncmp(name + n, "-token-", 7) != 0)
		return 0;
	const char *suffix = name + n + 7;
	if (strlen(suffix) != 5)
		return 0;
	for (const char *p = suffix; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
			return 0;
	return 1;
}


char *restore_label_value(const char *s)
{
	if (!s)
		return xstrdup("");
	size_t n = strlen(s);
	char *v = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		v[i] = isalnum(c) && c < 128 ? (char)c : c == '-' || c == '_' || c == '.' ? (char)c : '-';
	}
	v[n] = 0;
	/* A value starts and ends with an alphanumeric character. */
	size_t start = 0, end = n;
	while (start < end && !isalnum((unsigned char)v[start]))
		start++;
	while (end > start && !isalnum((unsigned char)v[end - 1]))
		end--;
	if (end - start <= 63 && end - start == n) {
		return v;
	}
	if (end - start <= 63 && end > start) {
		char *t = xstrndup(v + start, end - start);
		free(v);
		return t;
	}
	/* Too long (or nothing usable): a prefix and a hash of the whole name, so two
	 * long names that share the prefix still get different values. */
	size_t keep = end - start > 46 ? 46 : end - start;
	while (keep > 0 && !isalnum((unsigned char)v[start + keep - 1]))
		keep--;
	char *t = keep ? xasprintf("%.*s-%016llx", (int)keep, v + start,
				   (unsigned long long)kahu_fnv1a64_str(s))
		       : xasprintf("%016llx", (unsigned long long)kahu_fnv1a64_str(s));
	free(v);
	return t;
}

/* ---- namespace mapping ---- */

/* [s, end) without the blanks around it. */
static char *trimmed(const char *s, const char *end)
{
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	return xstrndup(s, (size_t)(end - s));
}

struct ns_map {
	struct strset m;
	size_t n;
};

int ns_map_parse(const char *spec, struct ns_map **out)
{
	struct strv fields = STRV_INIT;
	struct ns_map *m = NULL;
	int rc = 0;

	*out = NULL;
	strv_split(&fields, spec ? spec : "", ',');
	if (fields.n == 0) {
		rc = kahu_error_set(KAHU_EUSAGE, "the namespace mapping is empty; write SOURCE:TARGET[,SOURCE2:TARGET2…]");
		goto out;
	}
	m = xcalloc(1, sizeof *m);
	for (size_t i = 0; i < fields.n; i++) {
		const char *f = fields.v[i];
		const char *colon = strchr(f, ':');
		if (!colon) {
			rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\" has no ':'; write SOURCE:TARGET", f);
			goto out;
		}
		if (strchr(colon + 1, ':')) {
			rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\" has more than one ':'; write SOURCE:TARGET", f);
			goto out;
		}
		char *src = trimmed(f, colon);
		char *dst = trimmed(colon + 1, colon + 1 + strlen(colon + 1));

		const char *side = "source", *name = src;
		char bad = 0;
		const char *why = dns_label_problem(src, &bad);
		if (!why) {
			side = "target";
			name = dst;
			why = dns_label_problem(dst, &bad);
		}
		if (why) {
			if (bad && isprint((unsigned char)bad))
				rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\": the %s namespace \"%s\" %s ('%c'); "
						    "namespace names are DNS labels", f, side, name, why, bad);
			else if (bad)
				rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\": the %s namespace %s; "
						    "namespace names are DNS labels", f, side, why);
			else
				rc = kahu_error_set(KAHU_EUSAGE, "namespace mapping \"%s\": the %s namespace \"%s\" %s; "
						    "namespace names are DNS labels", f, side, name, why);
		} else if (strset_get(&m->m, src)) {
			rc = kahu_error_set(KAHU_EUSAGE, "namespace %s is mapped twice (to %s and to %s)", src,
					    strset_get(&m->m, src), dst);
		} else {
			strset_put(&m->m, src, dst);
			m->n++;
		}
		free(src);
		free(dst);
		if (rc < 0)
			goto out;
	}
	*out = m;
	m = NULL;
out:
	strv_free(&fields);
	ns_map_free(m);
	return rc;
}

const char *ns_map_target(const struct ns_map *m, const char *ns)
{
	if (!m || !ns)
		return ns;
	const char *t = strset_get(&m->m, ns);
	return t ? t : ns;
}

size_t ns_map_count(const struct ns_map *m)
{
	return m ? m->n : 0;
}

void ns_map_free(struct ns_map *m)
{
	if (!m)
		return;
	strset_free(&m->m);
	free(m);
}

/* Replace the string o[k] by its mapping, if any. */
static void map_field(const struct ns_map *m, json_t *o, const char *k)
{
	const char *v = jstr(o, k);
	if (!v)
		return;
	const char *t = ns_map_target(m, v);
	if (t != v)
		json_object_set_new(o, k, json_string(t));
}

void ns_map_apply(const struct ns_map *m, json_t *obj)
{
	if (!m || !json_is_object(obj))
		return;
	json_t *md = json_object_get(obj, "metadata");
	map_field(m, md, "namespace");
	if (is_kind(obj, "", "Namespace")) {
		map_field(m, md, "name");
		/* The API server keeps this label equal to the name; say so ourselves, or the
		 * restored namespace never compares equal to the backup's. */
		json_t *labels = json_object_get(md, "labels");
		if (jstr(labels, "kubernetes.io/metadata.name") && jstr(md, "name"))
			json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(jstr(md, "name")));
	} else if (is_kind(obj, "rbac.authorization.k8s.io", "RoleBinding") ||
		   is_kind(obj, "rbac.authorization.k8s.io", "ClusterRoleBinding")) {
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(obj, "subjects"), i, s)
			map_field(m, s, "namespace");
	} else if (is_kind(obj, "", "PersistentVolume")) {
		map_field(m, JGET(obj, "spec", "claimRef"), "namespace");
	} else if (is_kind(obj, "admissionregistration.k8s.io", "MutatingWebhookConfiguration") ||
		   is_kind(obj, "admissionregistration.k8s.io", "ValidatingWebhookConfiguration")) {
		size_t i;
		json_t *w;
		json_array_foreach(json_object_get(obj, "webhooks"), i, w)
			map_field(m, JGET(w, "clientConfig", "service"), "namespace");
	} else if (is_kind(obj, "apiregistration.k8s.io", "APIService")) {
		map_field(m, JGET(obj, "spec", "service"), "namespace");
	} else if (is_kind(obj, "apiextensions.k8s.io", "CustomResourceDefinition")) {
		map_field(m, JGET(obj, "spec", "conversion", "webhook", "clientConfig", "service"), "namespace");
		map_field(m, JGET(obj, "spec", "conversion", "webhookClientConfig", "service"), "namespace");
	}
}

/* ---- what is never restored ---- */

static const struct {
	const char *gr;
	const char *why;
} never_types[] = {
	{ "nodes", "never restored: nodes belong to the cluster" },
	{ "events", "never restored: events are history, not state" },
	{ "events.events.k8s.io", "never restored: events are history, not state" },
	{ "componentstatuses", "never restored: not an object the API server stores" },
	{ "bindings", "never restored: not an object the API server stores" },
	{ "tokenreviews.authentication.k8s.io", "never restored: not an object the API server stores" },
	{ "selfsubjectreviews.authentication.k8s.io", "never restored: not an object the API server stores" },
	{ "subjectaccessreviews.authorization.k8s.io", "never restored: not an object the API server stores" },
	{ "selfsubjectaccessreviews.authorization.k8s.io", "never restored: not an object the API server stores" },
	{ "selfsubjectrulesreviews.authorization.k8s.io", "never restored: not an object the API server stores" },
	{ "localsubjectaccessreviews.authorization.k8s.io", "never restored: not an object the API server stores" },
	{ "nodes.metrics.k8s.io", "never restored: not an object the API server stores" },
	{ "pods.metrics.k8s.io", "never restored: not an object the API server stores" },
	{ "csinodes.storage.k8s.io", "never restored: CSI node information belongs to the cluster's nodes" },
	{ "volumeattachments.storage.k8s.io", "never restored: volume attachments belong to the cluster's nodes" },
	{ "controllerrevisions.apps", "never restored: the StatefulSet or DaemonSet controller writes its own revisions" },
};

/* Controllers that recreate what they own from a template. */
static const struct {
	const char *gr;          /* the owned object's type */
	const char *owner_group; /* the owner's API group */
	const char *owner_kind;
	const char *why;
} owned_types[] = {
	{ "pods", "apps", "ReplicaSet", "owned by a ReplicaSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "extensions", "ReplicaSet", "owned by a ReplicaSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "apps", "StatefulSet", "owned by a StatefulSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "apps", "DaemonSet", "owned by a DaemonSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "extensions", "DaemonSet", "owned by a DaemonSet, which recreates it (--restore-owned restores it)" },
	{ "pods", "batch", "Job", "owned by a Job, which recreates it (--restore-owned restores it)" },
	{ "replicasets.apps", "apps", "Deployment", "owned by a Deployment, which recreates it (--restore-owned restores it)" },
	{ "replicasets.apps", "extensions", "Deployment", "owned by a Deployment, which recreates it (--restore-owned restores it)" },
	{ "jobs.batch", "batch", "CronJob", "owned by a CronJob, which recreates it (--restore-owned restores it)" },
};

static const char *owned_reason(json_t *obj, const char *gr)
{
	size_t i;
	json_t *ref;
	json_array_foreach(JGET(obj, "metadata", "ownerReferences"), i, ref) {
		if (!json_is_true(json_object_get(ref, "controller")))
			continue;
		const char *av = jstr(ref, "apiVersion"), *kind = jstr(ref, "kind");
		if (!av || !kind)
			continue;
		char *group;
		split_api_version(av, &group);
		const char *why = NULL;
		for (size_t t = 0; t < sizeof owned_types / sizeof owned_types[0] && !why; t++)
			if (strcmp(gr, owned_types[t].gr) == 0 && strcmp(group, owned_types[t].owner_group) == 0 &&
			    strcmp(kind, owned_types[t].owner_kind) == 0)
				why = owned_types[t].why;
		free(group);
		if (why)
			return why;
	}
	return NULL;
}

static int condition_true(json_t *obj, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(JGET(obj, "status", "conditions"), i, c) {
		const char *t = jstr(c, "type"), *s = jstr(c, "status");
		if (t && s && strcmp(t, type) == 0 && strcmp(s, "True") == 0)
			return 1;
	}
	return 0;
}

static int is_token_secret(json_t *obj)
{
	const char *type = jstr(obj, "type");
	return type && strcmp(type, "kubernetes.io/service-account-token") == 0;
}

#define EP_CONTROLLER_ANNOTATION "endpoints.kubernetes.io/last-change-trigger-time"
#define SLICE_MANAGED_BY "endpointslice.kubernetes.io/managed-by"

static const char *never_reason(json_t *obj, const char *gr, const struct restore_clean_opts *o)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *ns = jstr(md, "namespace"), *name = jstr(md, "name");
	json_t *labels = json_object_get(md, "labels"), *ann = json_object_get(md, "annotations");
	int in_default = ns && strcmp(ns, "default") == 0;

	for (size_t i = 0; i < sizeof never_types / sizeof never_types[0]; i++)
		if (strcmp(gr, never_types[i].gr) == 0)
			return never_types[i].why;

	if (strcmp(gr, "leases.coordination.k8s.io") == 0 && ns &&
	    (strcmp(ns, "kube-system") == 0 || strcmp(ns, "kube-node-lease") == 0))
		return "never restored: leases of the cluster's own controllers and nodes";
	if (strcmp(gr, "pods") == 0) {
		const char *phase = jstr(json_object_get(obj, "status"), "phase");
		if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
			return "never restored: the pod has finished (phase Succeeded or Failed)";
		if (json_object_get(ann, "kubernetes.io/config.mirror"))
			return "never restored: mirror pod of a static pod (the kubelet creates it)";
	}
	if (strcmp(gr, "jobs.batch") == 0 && (condition_true(obj, "Complete") || condition_true(obj, "Failed")))
		return "never restored: the job has finished";
	if (strcmp(gr, "secrets") == 0 && is_token_secret(obj) &&
	    is_generated_token_name(name, jstr(ann, "kubernetes.io/service-account.name")))
		return "never restored: service-account token generated by the source cluster";
	if (strcmp(gr, "apiservices.apiregistration.k8s.io") == 0 &&
	    (!JGET(obj, "spec", "service") || json_is_null(JGET(obj, "spec", "service"))))
		return "never restored: the API server serves this API itself";
	if (in_default && name && strcmp(name, "kubernetes") == 0 &&
	    (strcmp(gr, "services") == 0 || strcmp(gr, "endpoints") == 0 ||
	     strcmp(gr, "endpointslices.discovery.k8s.io") == 0))
		return "never restored: the API server's own Service";
	if (strcmp(gr, "configmaps") == 0 && name && strcmp(name, "kube-root-ca.crt") == 0)
		return "never restored: the cluster publishes its own root CA in kube-root-ca.crt";
	if (strcmp(gr, "endpoints") == 0 && json_object_get(ann, EP_CONTROLLER_ANNOTATION))
		return "never restored: the endpoints controller maintains the Endpoints of a Service with a selector";
	if (strcmp(gr, "endpointslices.discovery.k8s.io") == 0) {
		const char *by = jstr(labels, SLICE_MANAGED_BY);
		if (by && (strcmp(by, "endpointslice-controller.k8s.io") == 0 ||
			   strcmp(by, "endpointslicemirroring-controller.k8s.io") == 0))
			return "never restored: Kubernetes' EndpointSlice controllers maintain it";
	}
	if (o->volume_data_restored && strcmp(gr, "persistentvolumes") == 0 &&
	    json_is_object(JGET(obj, "spec", "claimRef")))
		return "not restored: its claim is provisioned anew and kahu restores the volume's data";
	if (!o->restore_owned)
		return owned_reason(obj, gr);
	return NULL;
}

/* ---- cleaning ---- */

static const char *const server_metadata[] = {
	"uid", "resourceVersion", "selfLink", "generation", "creationTimestamp",
	"deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "ownerReferences",
};

static void strip_metadata(json_t *md)
{
	for (size_t i = 0; i < sizeof server_metadata / sizeof server_metadata[0]; i++)
		json_object_del(md, server_metadata[i]);
	if (jstr(md, "name"))
		json_object_del(md, "generateName");
}

static int status_kept(const char *gr, const struct strv *inc)
{
	if (!inc)
		return 0;
	const char *dot = strchr(gr, '.');
	size_t plural = dot ? (size_t)(dot - gr) : strlen(gr);
	for (size_t i = 0; i < inc->n; i++) {
		const char *e = inc->v[i];
		if (strcmp(e, "*") == 0 || strcmp(e, gr) == 0 ||
		    (!strchr(e, '.') && strlen(e) == plural && strncmp(e, gr, plural) == 0))
			return 1;
	}
	return 0;
}

/* nodePort values the operator wrote in the last kubectl apply: Velero keeps those. */
static void explicit_node_ports(json_t *obj, struct strset *ports, json_int_t *health)
{
	const char *applied = jstr(JGET(obj, "metadata", "annotations"),
				   "kubectl.kubernetes.io/last-applied-configuration");
	*health = 0;
	if (!applied)
		return;
	json_t *a = json_loads(applied, 0, NULL);
	if (!a)
		return;
	size_t i;
	json_t *p;
	json_array_foreach(JGET(a, "spec", "ports"), i, p) {
		json_t *np = json_object_get(p, "nodePort");
		if (json_is_integer(np) && json_integer_value(np) > 0) {
			char num[32];
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(np));
			strset_add(ports, num);
		}
	}
	json_t *h = JGET(a, "spec", "healthCheckNodePort");
	if (json_is_integer(h))
		*health = json_integer_value(h);
	json_decref(a);
}

static void clean_service(json_t *obj, int preserve_nodeports)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	/* Allocated by the source cluster; "None" is what makes a Service headless. */
	const char *ip = jstr(spec, "clusterIP");
	json_t *ips = json_object_get(spec, "clusterIPs");
	int headless = ip ? strcmp(ip, "None") == 0
			  : json_string_value(json_array_get(ips, 0)) &&
			    strcmp(json_string_value(json_array_get(ips, 0)), "None") == 0;
	if (!headless) {
		json_object_del(spec, "clusterIP");
		json_object_del(spec, "clusterIPs");
	}
	if (preserve_nodeports)
		return;
	struct strset keep = STRSET_INIT;
	json_int_t health;
	explicit_node_ports(obj, &keep, &health);
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		json_t *np = json_object_get(p, "nodePort");
		if (!np)
			continue;
		char num[32];
		snprintf(num, sizeof num, "%lld", (long long)json_integer_value(np));
		if (!json_is_integer(np) || !strset_has(&keep, num))
			json_object_del(p, "nodePort");
	}
	json_t *h = json_object_get(spec, "healthCheckNodePort");
	if (h && !(json_is_integer(h) && health && json_integer_value(h) == health))
		json_object_del(spec, "healthCheckNodePort");
	strset_free(&keep);
}

static void clean_pv(json_t *obj)
{
	json_t *ref = JGET(obj, "spec", "claimRef");
	json_object_del(ref, "uid");
	json_object_del(ref, "resourceVersion");
}

static const char *const pvc_bind_annotations[] = {
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.kubernetes.io/selected-node",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
};

static void clean_pvc(json_t *obj, int reprovision)
{
	json_t *ann = JGET(obj, "metadata", "annotations");
	for (size_t i = 0; i < sizeof pvc_bind_annotations / sizeof pvc_bind_annotations[0]; i++)
		json_object_del(ann, pvc_bind_annotations[i]);
	if (reprovision)
		json_object_del(json_object_get(obj, "spec"), "volumeName");
}

static const char *pod_service_account(json_t *spec)
{
	const char *sa = jstr(spec, "serviceAccountName");
	if (!sa || !*sa)
		sa = jstr(spec, "serviceAccount");
	return sa && *sa ? sa : "default";
}

/* Drop the volumes through which the source cluster gave the pod its token, and their
 * mounts: the target cluster injects its own. */
static void drop_token_volumes(json_t *spec)
{
	char *prefix = xasprintf("%s-token-", pod_service_account(spec));
	struct strset gone = STRSET_INIT;
	json_t *vols = json_object_get(spec, "volumes");
	for (size_t i = 0; i < json_array_size(vols);) {
		json_t *v = json_array_get(vols, i);
		const char *name = jstr(v, "name");
		if (name && (starts_with(name, prefix) ||
			     starts_with(jstr(json_object_get(v, "secret"), "secretName"), prefix) ||
			     (starts_with(name, "kube-api-access-") && json_object_get(v, "projected")))) {
			strset_add(&gone, name);
			json_array_remove(vols, i);
		} else {
			i++;
		}
	}
	if (gone.n) {
		static const char *const lists[] = { "containers", "initContainers", "ephemeralContainers" };
		for (size_t l = 0; l < 3; l++) {
			size_t ci;
			json_t *c;
			json_array_foreach(json_object_get(spec, lists[l]), ci, c) {
				json_t *mounts = json_object_get(c, "volumeMounts");
				for (size_t i = 0; i < json_array_size(mounts);) {
					if (strset_has(&gone, jstr(json_array_get(mounts, i), "name") ?: ""))
						json_array_remove(mounts, i);
					else
						i++;
				}
			}
		}
	}
	strset_free(&gone);
	free(prefix);
}

static void clean_pod(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return;
	json_object_del(spec, "nodeName");
	drop_token_volumes(spec);
}

/* The API server generates a Job's selector from its UID and refuses one that is set
 * on create (unless manualSelector); the template carries the same labels. */
static void clean_job(json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec) || json_is_true(json_object_get(spec, "manualSelector")))
		return;
	json_object_del(spec, "selector");
	json_t *labels = JGET(spec, "template", "metadata", "labels");
	json_object_del(labels, "controller-uid");
	json_object_del(labels, "batch.kubernetes.io/controller-uid");
}

/* References to the token Secrets the source cluster generated for the account. */
static void clean_service_account(json_t *obj)
{
	const char *sa = json_string_value(JGET(obj, "metadata", "name"));
	json_t *secrets = json_object_get(obj, "secrets");
	if (!json_is_array(secrets))
		return;
	for (size_t i = 0; i < json_array_size(secrets);) {
		if (is_generated_token_name(jstr(json_array_get(secrets, i), "name"), sa))
			json_array_remove(secrets, i);
		else
			i++;
	}
	if (json_array_size(secrets) == 0)
		json_object_del(obj, "secrets");
}

/* A token Secret the operator asked for: let the target's token controller fill it
 * (the source's token is signed by the source's key; the account's UID changed). */
static void clean_token_secret(json_t *obj)
{
	if (!is_token_secret(obj))
		return;
	json_object_del(obj, "data");
	json_object_del(JGET(obj, "metadata", "annotations"), "kubernetes.io/service-account.uid");
}

void restore_clean_opts_init(struct restore_clean_opts *o)
{
	free(o->backup_label);
	free(o->restore_label);
	o->backup_label = o->backup_name ? restore_label_value(o->backup_name) : NULL;
	o->restore_label = o->restore_name ? restore_label_value(o->restore_name) : NULL;
}

void restore_clean_opts_release(struct restore_clean_opts *o)
{
	if (!o)
		return;
	free(o->backup_label);
	free(o->restore_label);
	o->backup_label = o->restore_label = NULL;
}

static void set_label(json_t *md, const char *key, const char *stored, const char *name)
{
	if (!name)
		return;
	json_t *labels = jobj(md, "labels");
	if (stored) {
		json_object_set_new(labels, key, json_string(stored));
	} else {
		/* restore_clean_opts_init was not called. */
		char *v = restore_label_value(name);
		json_object_set_new(labels, key, json_string(v));
		free(v);
	}
}

int restore_clean(json_t *obj, const char *gr, const struct restore_clean_opts *o, const char **skip_reason)
{
	static const struct restore_clean_opts defaults;
	const char *ignored;
	if (!o)
		o = &defaults;
	if (!skip_reason)
		skip_reason = &ignored;
	*skip_reason = NULL;

	json_t *md = json_object_get(obj, "metadata");
	if (!json_is_object(obj) || !json_is_object(md) || !jstr(md, "name")) {
		*skip_reason = "malformed object: no metadata.name";
		return CLEAN_SKIP;
	}
	if (!gr)
		gr = "";
	if ((*skip_reason = never_reason(obj, gr, o)))
		return CLEAN_SKIP;

	strip_metadata(md);
	if (!status_kept(gr, o->status_include))
		json_object_del(obj, "status");
	if (strcmp(gr, "services") == 0)
		clean_service(obj, o->preserve_nodeports);
	else if (strcmp(gr, "persistentvolumes") == 0)
		clean_pv(obj);
	else if (strcmp(gr, "persistentvolumeclaims") == 0)
		clean_pvc(obj, o->volume_data_restored);
	else if (strcmp(gr, "pods") == 0)
		clean_pod(obj);
	else if (strcmp(gr, "jobs.batch") == 0)
		clean_job(obj);
	else if (strcmp(gr, "serviceaccounts") == 0)
		clean_service_account(obj);
	else if (strcmp(gr, "secrets") == 0)
		clean_token_secret(obj);
	ns_map_apply(o->map, obj);
	set_label(md, KAHU_LABEL_BACKUP, o->backup_label, o->backup_name);
	set_label(md, KAHU_LABEL_RESTORE, o->restore_label, o->restore_name);
	return CLEAN_RESTORE;
}

/* ---- API versions ---- */

/* "v2" -> (3, 2, 0); "v2beta1" -> (2, 2, 1); "v1alpha3" -> (1, 1, 3); other -> 0. */
static int version_rank(const char *v, long *major, long *minor)
{
	*major = *minor = 0;
	if (!v || v[0] != 'v' || !isdigit((unsigned char)v[1]))
		return 0;
	char *end;
	*major = strtol(v + 1, &end, 10);
	if (!*end)
		return 3;
	int stage = starts_with(end, "beta") ? 2 : starts_with(end, "alpha") ? 1 : 0;
	if (!stage)
		return 0;
	const char *m = end + (stage == 2 ? 4 : 5);
	if (!isdigit((unsigned char)*m))
		return 0;
	*minor = strtol(m, &end, 10);
	return *end ? 0 : stage;
}

int kube_version_cmp(const char *a, const char *b)
{
	long amaj, amin, bmaj, bmin;
	int ra = version_rank(a, &amaj, &amin), rb = version_rank(b, &bmaj, &bmin);
	if (ra != rb)
		return ra > rb ? -1 : 1;
	if (ra == 0)
		return strcmp(a ? a : "", b ? b : "");
	if (amaj != bmaj)
		return amaj > bmaj ? -1 : 1;
	if (amin != bmin)
		return amin > bmin ? -1 : 1;
	return 0;
}

static int creatable(const struct kube_resource *r)
{
	/* verbs 0: unknown (a discovery document without verbs) — let the server decide. */
	return r->verbs == 0 || (r->verbs & KUBE_VERB_CREATE);
}

/* Groups that belong to Kubernetes itself: no CRD brings them back. */
static int builtin_group(const char *g)
{
	size_t n = strlen(g);
	return !*g || !strchr(g, '.') || (n > 7 && strcmp(g + n - 7, ".k8s.io") == 0);
}

static char *missing_message(const struct kube_discovery *d, const char *group, const char *kind,
			     const char *av)
{
	struct kbuf msg = KBUF_INIT;
	struct strv served = STRV_INIT;
	/* A built-in kind that moved to another built-in group (Ingress: extensions ->
	 * networking.k8s.io); kinds of custom groups that share a name are unrelated. */
	const struct kube_resource *elsewhere = NULL;
	for (size_t i = 0; d && i < d->n; i++) {
		const struct kube_resource *r = &d->res[i];
		if (strcmp(r->group, group) == 0) {
			char *gv = kube_api_version(r);
			if (!strv_contains(&served, gv))
				strv_push(&served, gv);
			free(gv);
		} else if (strcmp(r->kind, kind) == 0 && creatable(r) && builtin_group(group) &&
			   builtin_group(r->group) &&
			   (!elsewhere || (r->preferred && !elsewhere->preferred))) {
			elsewhere = r;
		}
	}
	const char *gname = *group ? group : "core";
	if (!served.n) {
		kbuf_addf(&msg, "the target cluster does not serve group %s (kind %s, %s): %s", gname, kind, av,
			  builtin_group(group) ? "Kubernetes removed this API or it is not enabled"
					       : "restore its CRD first or include customresourcedefinitions");
	} else {
		strv_sort(&served);
		char *list = strv_join(&served, ", ");
		kbuf_addf(&msg, "the target cluster serves group %s but no version of it serves kind %s "
			  "(it serves %s)", gname, kind, list);
		free(list);
	}
	if (elsewhere) {
		char *gv = kube_api_version(elsewhere);
		kbuf_addf(&msg, "; kind %s is served as %s (a different group: convert the object first)", kind, gv);
		free(gv);
	}
	strv_free(&served);
	return kbuf_detach(&msg);
}

int restore_pick_version(json_t *obj, const struct kube_discovery *target, const struct kube_resource **out,
			 char **why)
{
	const char *av = jstr(obj, "apiVersion"), *kind = jstr(obj, "kind");
	*out = NULL;
	if (why)
		*why = NULL;
	if (!av || !kind || !*av || !*kind)
		return kahu_error_set(KAHU_EDATA, "the stored object has no apiVersion or kind");

	char *group;
	const char *version = split_api_version(av, &group);
	const struct kube_resource *best = NULL;
	for (size_t i = 0; target && i < target->n; i++) {
		const struct kube_resource *r = &target->res[i];
		if (strcmp(r->group, group) != 0 || strcmp(r->kind, kind) != 0 || !creatable(r))
			continue;
		if (strcmp(r->version, version) == 0) {
			best = r;
			break;
		}
		if (!best || (r->preferred && !best->preferred) ||
		    (r->preferred == best->preferred && kube_version_cmp(r->version, best->version) < 0))
			best = r;
	}
	if (!best) {
		char *msg = missing_message(target, group, kind, av);
		int rc = kahu_error_set(KAHU_ENOTFOUND, "%s", msg);
		if (why)
			*why = msg;
		else
			free(msg);
		free(group);
		return rc;
	}
	if (strcmp(best->version, version) != 0) {
		char *nav = kube_api_version(best);
		json_t *md = json_object_get(obj, "metadata");
		const char *ns = jstr(md, "namespace"), *name = jstr(md, "name");
		log_info("%s %s%s%s: the target cluster does not serve %s; restoring it as %s", kind,
			 ns ? ns : "", ns ? "/" : "", name ? name : "?", av, nav);
		json_object_set_new(obj, "apiVersion", json_string(nav));
		free(nav);
	}
	free(group);
	*out = best;
	return 0;
}

/* ---- existing objects ---- */

/* Annotations that controllers of the target maintain: never a difference. */
static int controller_annotation(const char *k)
{
	static const char *const exact[] = {
		"deployment.kubernetes.io/revision",
		"deployment.kubernetes.io/desired-replicas",
		"deployment.kubernetes.io/max-replicas",
		EP_CONTROLLER_ANNOTATION,
		"control-plane.alpha.kubernetes.io/leader",
		"kubernetes.io/service-account.uid",
	};
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strcmp(k, exact[i]) == 0)
			return 1;
	return starts_with(k, "pv.kubernetes.io/") || starts_with(k, "volume.kubernetes.io/") ||
	       starts_with(k, "volume.beta.kubernetes.io/");
}

/* Does `live` already hold what `want` says?  Objects: every key of want, recursively
 * (live may have more: defaults); arrays: same length, element by element; null means
 * absent. */
static int covers(json_t *want, json_t *live)
{
	if (json_is_null(want))
		return !live || json_is_null(live);
	if (!live)
		return 0;
	if (json_is_object(want)) {
		if (!json_is_object(live))
			return 0;
		const char *k;
		json_t *v;
		json_object_foreach(want, k, v)
			if (!covers(v, json_object_get(live, k)))
				return 0;
		return 1;
	}
	if (json_is_array(want)) {
		if (!json_is_array(live) || json_array_size(want) != json_array_size(live))
			return 0;
		for (size_t i = 0; i < json_array_size(want); i++)
			if (!covers(json_array_get(want, i), json_array_get(live, i)))
				return 0;
		return 1;
	}
	if (json_is_number(want) && json_is_number(live))
		return json_number_value(want) == json_number_value(live);
	return json_equal(want, live);
}

/* Add to `patch` what turns live into want: recursive for objects, whole values
 * otherwise; keys only live has are kept unless `exact`. */
static void diff_into(json_t *want, json_t *live, json_t *patch, int exact)
{
	const char *k;
	json_t *wv;
	json_object_foreach(want, k, wv) {
		json_t *lv = json_object_get(live, k);
		if (!exact && json_is_object(wv) && json_is_object(lv)) {
			json_t *sub = json_object();
			diff_into(wv, lv, sub, 0);
			if (json_object_size(sub))
				json_object_set_new(patch, k, sub);
			else
				json_decref(sub);
		} else if (exact ? !json_equal(wv, lv) : !covers(wv, lv)) {
			json_object_set(patch, k, wv);
		}
	}
	if (exact) {
		json_t *lv;
		json_object_foreach(live, k, lv)
			if (!json_object_get(want, k))
				json_object_set_new(patch, k, json_null());
	}
}

static void diff_meta_map(json_t *want, json_t *live, json_t *mdpatch, const char *field, int kahu_labels)
{
	json_t *w = json_object_get(want, field), *l = json_object_get(live, field);
	json_t *sub = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(w, k, v) {
		if (!kahu_labels && (strcmp(k, KAHU_LABEL_BACKUP) == 0 || strcmp(k, KAHU_LABEL_RESTORE) == 0))
			continue;
		if (strcmp(field, "annotations") == 0 && controller_annotation(k))
			continue;
		if (!json_equal(v, json_object_get(l, k)))
			json_object_set(sub, k, v);
	}
	if (json_object_size(sub))
		json_object_set_new(mdpatch, field, sub);
	else
		json_decref(sub);
}

/* Live as the backup's cleaning would see it: without what the target cluster gave
 * the object for its own service-account tokens. */
static json_t *live_view(json_t *live)
{
	json_t *l = json_deep_copy(live);
	if (is_kind(l, "", "Pod") && json_is_object(json_object_get(l, "spec")))
		drop_token_volumes(json_object_get(l, "spec"));
	else if (is_kind(l, "", "ServiceAccount"))
		clean_service_account(l);
	else if (is_kind(l, "", "Secret") && is_token_secret(l))
		json_object_del(l, "data");
	return l;
}

static int exact_field(const char *k)
{
	return strcmp(k, "data") == 0 || strcmp(k, "binaryData") == 0 || strcmp(k, "stringData") == 0;
}

static json_t *build_patch(json_t *want, json_t *live0, int kahu_labels)
{
	json_t *patch = json_object();
	if (!json_is_object(want) || !json_is_object(live0))
		return patch;
	json_t *live = live_view(live0);

	json_t *mdp = json_object();
	json_t *wmd = json_object_get(want, "metadata"), *lmd = json_object_get(live, "metadata");
	diff_meta_map(wmd, lmd, mdp, "labels", kahu_labels);
	diff_meta_map(wmd, lmd, mdp, "annotations", kahu_labels);
	if (json_object_size(mdp))
		json_object_set_new(patch, "metadata", mdp);
	else
		json_decref(mdp);

	const char *k;
	json_t *wv;
	json_object_foreach(want, k, wv) {
		if (strcmp(k, "apiVersion") == 0 || strcmp(k, "kind") == 0 || strcmp(k, "metadata") == 0 ||
		    strcmp(k, "status") == 0)
			continue;
		json_t *lv = json_object_get(live, k);
		if (json_is_object(wv) && json_is_object(lv)) {
			json_t *sub = json_object();
			diff_into(wv, lv, sub, exact_field(k));
			if (json_object_size(sub))
				json_object_set_new(patch, k, sub);
			else
				json_decref(sub);
		} else if (exact_field(k) ? !json_equal(wv, lv) : !covers(wv, lv)) {
			json_object_set(patch, k, wv);
		}
	}
	/* A ConfigMap or Secret whose backup has no data at all. */
	static const char *const maps[] = { "data", "binaryData" };
	for (size_t i = 0; i < 2; i++)
		if (!json_object_get(want, maps[i]) && json_object_size(json_object_get(live, maps[i])))
			json_object_set_new(patch, maps[i], json_null());
	json_decref(live);
	return patch;
}

json_t *restore_merge_patch(json_t *backup_clean, json_t *live)
{
	return build_patch(backup_clean, live, 1);
}

int restore_same(json_t *backup_clean, json_t *live)
{
	json_t *p = build_patch(backup_clean, live, 0);
	int same = json_object_size(p) == 0;
	json_decref(p);
	return same;
}

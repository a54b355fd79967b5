#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "engine/scope.h"
#include "kube/discovery.h"
#include "kube/resource.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/strv.h"

/* ---- a small discovery, built by hand ---- */

struct fixture_type {
	const char *group, *version, *resource, *kind, *singular, *shorts;
	int namespaced;
};

static const struct fixture_type TYPES[] = {
	{ "", "v1", "pods", "Pod", "pod", "po", 1 },
	{ "", "v1", "configmaps", "ConfigMap", "configmap", "cm", 1 },
	{ "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim",
	  "persistentvolumeclaim", "pvc", 1 },
	{ "", "v1", "namespaces", "Namespace", "namespace", "ns", 0 },
	{ "", "v1", "persistentvolumes", "PersistentVolume", "persistentvolume", "pv", 0 },
	{ "apps", "v1", "deployments", "Deployment", "deployment", "deploy", 1 },
	{ "apps", "v1", "daemonsets", "DaemonSet", "daemonset", "ds", 1 },
	{ "rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", "clusterrole",
	  NULL, 0 },
	{ "apiextensions.k8s.io", "v1", "customresourcedefinitions",
	  "CustomResourceDefinition", "customresourcedefinition", "crd,crds", 0 },
	{ "example.com", "v1", "widgets", "Widget", "widget", "wd", 1 },
};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])

static struct kube_discovery disc;

static void disc_setup(void)
{
	memset(&disc, 0, sizeof disc);
	disc.res = xcalloc(NTYPES, sizeof *disc.res);
	disc.n = NTYPES;
	for (size_t i = 0; i < NTYPES; i++) {
		struct kube_resource *r = &disc.res[i];
		r->group = xstrdup(TYPES[i].group);
		r->version = xstrdup(TYPES[i].version);
		r->resource = xstrdup(TYPES[i].resource);
		r->kind = xstrdup(TYPES[i].kind);
		r->singular = xstrdup(TYPES[i].singular);
		r->namespaced = TYPES[i].namespaced;
		r->preferred = 1;
		r->verbs = KUBE_VERB_GET | KUBE_VERB_LIST | KUBE_VERB_CREATE | KUBE_VERB_DELETE;
		if (TYPES[i].shorts)
			strv_split(&r->short_names, TYPES[i].shorts, ',');
	}
}

static void disc_teardown(void)
{
	for (size_t i = 0; i < disc.n; i++)
		kube_resource_clear(&disc.res[i]);
	free(disc.res);
	memset(&disc, 0, sizeof disc);
}

static const struct kube_resource *T(const char *resource)
{
	for (size_t i = 0; i < disc.n; i++)
		if (strcmp(disc.res[i].resource, resource) == 0)
			return &disc.res[i];
	ck_abort_msg("no fixture type %s", resource);
	return NULL;
}

static json_t *obj(const char *ns, const char *name, const char *labels_json)
{
	json_t *meta = json_pack("{s:s}", "name", name);
	if (ns)
		json_object_set_new(meta, "namespace", json_string(ns));
	if (labels_json)
		json_object_set_new(meta, "labels", json_loads(labels_json, 0, NULL));
	return json_pack("{s:o}", "metadata", meta);
}

static enum scope_reason want_obj(const struct kahu_scope *s, const char *type,
				  const char *ns, const char *name, const char *labels)
{
	json_t *o = obj(ns, name, labels);
	enum scope_reason r = scope_wants_object(s, T(type), o);
	json_decref(o);
	return r;
}

#define ck_usage_error(call, msg)                                              \
	do {                                                                    \
		ck_assert_int_eq((call), KAHU_EUSAGE);                          \
		ck_assert_str_eq(kahu_error_last(), (msg));                     \
	} while (0)

/* ---- namespaces ---- */

START_TEST(test_namespace_globs)
{
	struct kahu_scope *s = scope_new();
	ck_assert(scope_wants_namespace(s, "anything"));
	ck_assert(!scope_has_namespace_filter(s));

	ck_assert_int_eq(scope_set_namespaces(s, " team-* , prod", "team-b*"), 0);
	ck_assert(scope_has_namespace_filter(s));
	ck_assert(scope_wants_namespace(s, "team-a"));
	ck_assert(scope_wants_namespace(s, "prod"));
	ck_assert(!scope_wants_namespace(s, "team-b1"));   /* exclude wins */
	ck_assert(!scope_wants_namespace(s, "team-b"));
	ck_assert(!scope_wants_namespace(s, "dev"));
	ck_assert(!scope_wants_namespace(s, "production")); /* literal, not a prefix */

	ck_assert_int_eq(scope_set_namespaces(s, "team-?,ns[0-9]", NULL), 0);
	ck_assert(scope_wants_namespace(s, "team-a"));
	ck_assert(!scope_wants_namespace(s, "team-ab"));
	ck_assert(scope_wants_namespace(s, "ns7"));
	ck_assert(!scope_wants_namespace(s, "nsx"));

	/* exclude alone, with wildcards (Velero #9071) */
	ck_assert_int_eq(scope_set_namespaces(s, NULL, "kube-*,openshift*"), 0);
	ck_assert(!scope_has_namespace_filter(s));
	ck_assert(!scope_wants_namespace(s, "kube-system"));
	ck_assert(!scope_wants_namespace(s, "openshift-monitoring"));
	ck_assert(scope_wants_namespace(s, "default"));

	/* "*" among includes means all */
	ck_assert_int_eq(scope_set_namespaces(s, "a,*", "b"), 0);
	ck_assert(!scope_has_namespace_filter(s));
	ck_assert(scope_wants_namespace(s, "zzz"));
	ck_assert(!scope_wants_namespace(s, "b"));
	scope_free(s);
}
END_TEST

START_TEST(test_namespace_errors)
{
	struct kahu_scope *s = scope_new();
	ck_usage_error(scope_set_namespaces(s, "a,,b", NULL),
		       "--include-namespaces: empty entry in \"a,,b\"");
	ck_usage_error(scope_set_namespaces(s, NULL, "a,"),
		       "--exclude-namespaces: empty entry in \"a,\"");
	ck_usage_error(scope_set_namespaces(s, "", NULL),
		       "--include-namespaces: empty list (omit the option, or use '*' for all)");
	ck_usage_error(scope_set_namespaces(s, "Prod", NULL),
		       "--include-namespaces: invalid namespace \"Prod\": namespace names are "
		       "lowercase");
	ck_usage_error(scope_set_namespaces(s, "a_b", NULL),
		       "--include-namespaces: invalid namespace \"a_b\": only lowercase "
		       "letters, digits, '-' and the wildcards * ? [...] are allowed");
	ck_usage_error(scope_set_namespaces(s, "ns[0-9", NULL),
		       "--include-namespaces: unterminated '[' in \"ns[0-9\"");
	ck_usage_error(scope_set_namespaces(s, "-a", NULL),
		       "--include-namespaces: invalid namespace \"-a\": must start and end "
		       "with a letter or digit");
	ck_usage_error(scope_set_namespaces(s, NULL, "*"),
		       "--exclude-namespaces: '*' would exclude everything");
	ck_usage_error(scope_set_namespaces(s, "a,b", "b"),
		       "namespace \"b\" is both included (--include-namespaces) and excluded "
		       "(--exclude-namespaces)");
	char long_ns[70];
	memset(long_ns, 'n', 64);
	long_ns[64] = '\0';
	ck_assert_int_eq(scope_set_namespaces(s, long_ns, NULL), KAHU_EUSAGE);
	ck_assert(strstr(kahu_error_last(), "longer than 63 characters"));
	/* a failed call leaves the previous value alone */
	ck_assert(!scope_has_namespace_filter(s));
	scope_free(s);
}
END_TEST

/* ---- objects ---- */

START_TEST(test_object_namespace_and_label)
{
	struct kahu_scope *s = scope_new();
	ck_assert_int_eq(scope_set_namespaces(s, "app-*", "app-tmp"), 0);

	ck_assert_int_eq(want_obj(s, "pods", "app-1", "p", NULL), SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "pods", "other", "p", NULL), SCOPE_EXCLUDED_NAMESPACE);
	ck_assert_int_eq(want_obj(s, "pods", "app-tmp", "p", NULL), SCOPE_EXCLUDED_NAMESPACE);
	/* cluster-scoped objects have no namespace to filter on */
	ck_assert_int_eq(want_obj(s, "persistentvolumes", NULL, "pv-1", NULL), SCOPE_INCLUDED);
	/* a Namespace object is filtered by its own name */
	ck_assert_int_eq(want_obj(s, "namespaces", NULL, "app-2", NULL), SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "namespaces", NULL, "kube-system", NULL),
			 SCOPE_EXCLUDED_NAMESPACE);
	/* ... also when only apiVersion/kind say it is one */
	json_t *ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
			       "metadata", "name", "kube-system");
	ck_assert_int_eq(scope_wants_object(s, NULL, ns), SCOPE_EXCLUDED_NAMESPACE);
	json_decref(ns);

	/* the exclude label: only the exact value "true" */
	const char *ex = "{\"kahu.io/exclude-from-backup\":\"true\"}";
	ck_assert_int_eq(want_obj(s, "pods", "app-1", "p", ex), SCOPE_EXCLUDED_LABEL);
	ck_assert_int_eq(want_obj(s, "pods", "app-1", "p",
				  "{\"kahu.io/exclude-from-backup\":\"True\"}"), SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "pods", "app-1", "p",
				  "{\"kahu.io/exclude-from-backup\":\"false\"}"), SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "pods", "app-1", "p",
				  "{\"kahu.io/exclude-from-backup\":\"\"}"), SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "persistentvolumes", NULL, "pv", ex), SCOPE_EXCLUDED_LABEL);
	/* namespace is reported first */
	ck_assert_int_eq(want_obj(s, "pods", "other", "p", ex), SCOPE_EXCLUDED_NAMESPACE);

	/* referenced objects: only the label can drop them */
	json_t *pv = obj(NULL, "pv-9", ex);
	ck_assert_int_eq(scope_wants_referenced(s, pv), SCOPE_EXCLUDED_LABEL);
	json_decref(pv);
	pv = obj(NULL, "pv-9", "{\"a\":\"b\"}");
	ck_assert_int_eq(scope_wants_referenced(s, pv), SCOPE_INCLUDED);
	json_decref(pv);

	ck_assert_str_eq(scope_reason_name(SCOPE_EXCLUDED_LABEL),
			 "excluded: label kahu.io/exclude-from-backup=true");
	ck_assert_str_eq(scope_reason_name(SCOPE_INCLUDED), "included");
	scope_free(s);
}
END_TEST

START_TEST(test_object_names)
{
	struct kahu_scope *s = scope_new();
	ck_assert_int_eq(scope_set_names(s, "web-*,prod/db-?", "web-old*"), 0);
	ck_assert_int_eq(want_obj(s, "pods", "a", "web-1", NULL), SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "pods", "a", "web-old-1", NULL), SCOPE_EXCLUDED_NAME);
	ck_assert_int_eq(want_obj(s, "pods", "a", "api", NULL), SCOPE_EXCLUDED_NAME);
	/* NAMESPACE/NAME patterns */
	ck_assert_int_eq(want_obj(s, "pods", "prod", "db-1", NULL), SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "pods", "dev", "db-1", NULL), SCOPE_EXCLUDED_NAME);
	ck_assert_int_eq(want_obj(s, "persistentvolumes", NULL, "db-1", NULL),
			 SCOPE_EXCLUDED_NAME);
	/* exclude label before names */
	ck_assert_int_eq(want_obj(s, "pods", "a", "api",
				  "{\"kahu.io/exclude-from-backup\":\"true\"}"),
			 SCOPE_EXCLUDED_LABEL);

	ck_usage_error(scope_set_names(s, "a,,b", NULL), "--include-names: empty entry in \"a,,b\"");
	ck_usage_error(scope_set_names(s, NULL, "*"), "--exclude-names: '*' would exclude everything");
	ck_usage_error(scope_set_names(s, "a/b/c", NULL),
		       "--include-names: invalid pattern \"a/b/c\": use NAME or NAMESPACE/NAME");
	ck_usage_error(scope_set_names(s, "x[", NULL), "--include-names: unterminated '[' in \"x[\"");
	/* names with ':' (RBAC) are fine */
	ck_assert_int_eq(scope_set_names(s, "system:*", NULL), 0);
	ck_assert_int_eq(want_obj(s, "clusterroles", NULL, "system:node", NULL), SCOPE_INCLUDED);
	scope_free(s);
}
END_TEST

START_TEST(test_object_selectors)
{
	struct kahu_scope *s = scope_new();
	ck_assert_ptr_null(scope_server_label_selector(s));
	ck_assert_int_eq(scope_set_selector(s, "tier in (web, api), app"), 0);
	ck_assert_str_eq(scope_server_label_selector(s), "app,tier in (api,web)");
	ck_assert_int_eq(want_obj(s, "pods", "a", "p", "{\"app\":\"x\",\"tier\":\"web\"}"),
			 SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "pods", "a", "p", "{\"tier\":\"web\"}"),
			 SCOPE_EXCLUDED_SELECTOR);
	ck_assert_int_eq(want_obj(s, "pods", "a", "p", NULL), SCOPE_EXCLUDED_SELECTOR);
	/* both kinds of selector: refused, in either order */
	ck_usage_error(scope_set_or_selector(s, "a=b or c=d"),
		       "use either --selector or --or-selector, not both");
	scope_free(s);

	s = scope_new();
	ck_assert_int_eq(scope_set_or_selector(s, "app=web or tier=db"), 0);
	ck_assert_ptr_null(scope_server_label_selector(s));   /* the server has no OR */
	ck_assert_int_eq(want_obj(s, "pods", "a", "p", "{\"tier\":\"db\"}"), SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "pods", "a", "p", "{\"app\":\"web\"}"), SCOPE_INCLUDED);
	ck_assert_int_eq(want_obj(s, "pods", "a", "p", "{\"app\":\"db\"}"),
			 SCOPE_EXCLUDED_SELECTOR);
	ck_usage_error(scope_set_selector(s, "a=b"),
		       "use either --selector or --or-selector, not both");
	scope_free(s);

	/* an or-selector with a single part is a plain selector: the server can filter */
	s = scope_new();
	ck_assert_int_eq(scope_set_or_selector(s, "app==web"), 0);
	ck_assert_str_eq(scope_server_label_selector(s), "app=web");
	scope_free(s);

	/* an empty -l selects everything and is not sent */
	s = scope_new();
	ck_assert_int_eq(scope_set_selector(s, " "), 0);
	ck_assert_ptr_null(scope_server_label_selector(s));
	ck_assert_int_eq(want_obj(s, "pods", "a", "p", NULL), SCOPE_INCLUDED);
	/* parse errors come through unchanged */
	ck_usage_error(scope_set_selector(s, "a in (b"),
		       "invalid label selector \"a in (b\": missing ')' at position 8");
	scope_free(s);
}
END_TEST

/* ---- types ---- */

static struct kahu_scope *mk(const char *ns_inc, const char *ns_exc, const char *res_inc,
			     const char *res_exc, const char *cluster)
{
	struct kahu_scope *s = scope_new();
	ck_assert_int_eq(scope_set_namespaces(s, ns_inc, ns_exc), 0);
	ck_assert_int_eq(scope_set_resources(s, res_inc, res_exc), 0);
	ck_assert_int_eq(scope_set_cluster_resources(s, cluster), 0);
	ck_assert_msg(scope_resolve(s, &disc, NULL) == 0, "%s", kahu_error_last());
	return s;
}

#define YES SCOPE_TYPE_YES
#define NO SCOPE_TYPE_NO
#define REF SCOPE_TYPE_ONLY_REFERENCED

START_TEST(test_type_cluster_auto)
{
	/* no namespace filter: everything */
	struct kahu_scope *s = mk(NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(scope_cluster_mode(s), SCOPE_CLUSTER_AUTO);
	ck_assert_int_eq(scope_wants_type(s, T("pods")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("clusterroles")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), YES);
	scope_free(s);

	/* a namespace filter: cluster objects only when included items need them */
	s = mk("app", NULL, NULL, NULL, "auto");
	ck_assert_int_eq(scope_wants_type(s, T("pods")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), REF);
	ck_assert_int_eq(scope_wants_type(s, T("customresourcedefinitions")), REF);
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), YES);
	scope_free(s);

	/* "*" and exclude-only are not namespace filters */
	s = mk("*", NULL, NULL, NULL, "auto");
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), YES);
	scope_free(s);
	s = mk(NULL, "kube-*", NULL, NULL, "auto");
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), YES);
	scope_free(s);
}
END_TEST

START_TEST(test_type_cluster_true_false)
{
	struct kahu_scope *s = mk("app", NULL, NULL, NULL, "true");
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("clusterroles")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), YES);
	scope_free(s);

	s = mk(NULL, NULL, NULL, NULL, "false");
	ck_assert_int_eq(scope_cluster_mode(s), SCOPE_CLUSTER_FALSE);
	ck_assert_int_eq(scope_wants_type(s, T("pods")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), NO);
	ck_assert_int_eq(scope_wants_type(s, T("clusterroles")), NO);
	/* Namespace objects are still kept for the namespaces that hold items */
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), REF);
	scope_free(s);

	s = scope_new();
	ck_usage_error(scope_set_cluster_resources(s, "yes"),
		       "--include-cluster-resources: \"yes\" is not one of auto, true, false");
	scope_free(s);
}
END_TEST

START_TEST(test_type_resource_lists)
{
	/* explicit include list */
	struct kahu_scope *s = mk(NULL, NULL, "deploy", NULL, NULL);
	ck_assert_int_eq(scope_wants_type(s, T("deployments")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("pods")), NO);
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), REF);
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), REF);
	scope_free(s);

	/* a cluster-scoped type named explicitly is wanted even with a namespace filter */
	s = mk("app", NULL, "pv,pvc", NULL, "auto");
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumeclaims")), YES);
	ck_assert_int_eq(scope_wants_type(s, T("clusterroles")), REF);
	scope_free(s);

	/* ... but not when cluster resources are off, which is worth a warning */
	s = scope_new();
	struct strv warn = STRV_INIT;
	ck_assert_int_eq(scope_set_resources(s, "pv,pods,ns", NULL), 0);
	ck_assert_int_eq(scope_set_cluster_resources(s, "false"), 0);
	ck_assert_int_eq(scope_resolve(s, &disc, &warn), 0);
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), NO);
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), YES);
	ck_assert_uint_eq(warn.n, 1);
	ck_assert_str_eq(warn.v[0], "--include-resources names the cluster-scoped type "
			 "persistentvolumes, but --include-cluster-resources=false excludes it");
	strv_free(&warn);
	scope_free(s);

	/* excludes win over everything */
	s = mk(NULL, NULL, NULL, "pv,Namespace,ClusterRole,cm", "true");
	ck_assert_int_eq(scope_wants_type(s, T("persistentvolumes")), NO);
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), NO);
	ck_assert_int_eq(scope_wants_type(s, T("clusterroles")), NO);
	ck_assert_int_eq(scope_wants_type(s, T("configmaps")), NO);
	ck_assert_int_eq(scope_wants_type(s, T("pods")), YES);
	scope_free(s);

	/* "*" is everything */
	s = mk(NULL, NULL, "*", NULL, NULL);
	ck_assert_int_eq(scope_wants_type(s, T("widgets")), YES);
	scope_free(s);

	/* filters on objects make Namespace objects "referenced" unless asked for */
	s = mk(NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(scope_set_selector(s, "app=web"), 0);
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), REF);
	scope_free(s);
	s = mk(NULL, NULL, NULL, NULL, NULL);
	ck_assert_int_eq(scope_set_names(s, "web-*", NULL), 0);
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), REF);
	scope_free(s);
	s = mk(NULL, NULL, "namespaces,pods", NULL, NULL);
	ck_assert_int_eq(scope_set_selector(s, "app=web"), 0);
	ck_assert_int_eq(scope_wants_type(s, T("namespaces")), YES);
	scope_free(s);
}
END_TEST

/* ---- resolution ---- */

START_TEST(test_resolve_names)
{
	struct kahu_scope *s = mk(NULL, NULL, "deploy,Deployment,deployments.apps,deployment,po,"
				  "PODS,crd,widgets.example.com", "ds", NULL);
	json_t *j = scope_to_json(s);
	char *inc = json_dumps(json_object_get(j, "includeResources"), JSON_COMPACT);
	ck_assert_str_eq(inc, "[\"customresourcedefinitions.apiextensions.k8s.io\","
			 "\"deployments.apps\",\"pods\",\"widgets.example.com\"]");
	char *exc = json_dumps(json_object_get(j, "excludeResources"), JSON_COMPACT);
	ck_assert_str_eq(exc, "[\"daemonsets.apps\"]");
	free(inc);
	free(exc);
	json_decref(j);
	scope_free(s);
}
END_TEST

START_TEST(test_resolve_errors)
{
	struct kahu_scope *s = scope_new();
	ck_assert_int_eq(scope_set_resources(s, "deploymnts", NULL), 0);
	ck_usage_error(scope_resolve(s, &disc, NULL),
		       "unknown resource type \"deploymnts\" (did you mean deployments?)");

	/* every unknown name is reported, includes and excludes alike */
	ck_assert_int_eq(scope_set_resources(s, "pods,zzzzzzzz", "confgmaps"), 0);
	ck_usage_error(scope_resolve(s, &disc, NULL),
		       "unknown resource type \"zzzzzzzz\"; "
		       "unknown resource type \"confgmaps\" (did you mean configmaps?)");

	/* typos are caught even next to "*" */
	ck_assert_int_eq(scope_set_resources(s, "*,deploymnts", NULL), 0);
	ck_usage_error(scope_resolve(s, &disc, NULL),
		       "unknown resource type \"deploymnts\" (did you mean deployments?)");

	/* the same type under two spellings in both lists */
	ck_assert_int_eq(scope_set_resources(s, "deploy", "deployments.apps"), 0);
	ck_usage_error(scope_resolve(s, &disc, NULL),
		       "resource type \"deployments.apps\" is both included "
		       "(--include-resources) and excluded (--exclude-resources)");

	ck_usage_error(scope_set_resources(s, NULL, "*"),
		       "--exclude-resources: '*' would exclude everything");
	ck_usage_error(scope_set_resources(s, "pods,", NULL),
		       "--include-resources: empty entry in \"pods,\"");
	scope_free(s);
}
END_TEST

/* The same resolution with a discovery parsed by kube/discovery from a real
 * APIResourceList, subresources and all. */
START_TEST(test_resolve_parsed_discovery)
{
	static const char apps[] =
		"{\"kind\":\"APIResourceList\",\"groupVersion\":\"apps/v1\",\"resources\":["
		"{\"name\":\"deployments\",\"singularName\":\"deployment\",\"namespaced\":true,"
		"\"kind\":\"Deployment\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"],"
		"\"shortNames\":[\"deploy\"],\"categories\":[\"all\"]},"
		"{\"name\":\"deployments/scale\",\"singularName\":\"\",\"namespaced\":true,"
		"\"group\":\"autoscaling\",\"version\":\"v1\",\"kind\":\"Scale\","
		"\"verbs\":[\"get\",\"patch\",\"update\"]}]}";
	static const char core[] =
		"{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
		"{\"name\":\"persistentvolumes\",\"singularName\":\"persistentvolume\","
		"\"namespaced\":false,\"kind\":\"PersistentVolume\","
		"\"verbs\":[\"create\",\"delete\",\"get\",\"list\"],\"shortNames\":[\"pv\"]}]}";
	struct kube_discovery *d = kube_discovery_new();
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "apps", "v1", 1, apps,
							    strlen(apps)), 0);
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "", "v1", 1, core,
							    strlen(core)), 0);
	struct kahu_scope *s = scope_new();
	ck_assert_int_eq(scope_set_namespaces(s, "app", NULL), 0);
	ck_assert_int_eq(scope_set_resources(s, "Deployment,pv", NULL), 0);
	ck_assert_int_eq(scope_resolve(s, d, NULL), 0);
	const struct kube_resource *pv = kube_discovery_find(d, "pv");
	const struct kube_resource *dep = kube_discovery_find(d, "deploy");
	ck_assert_ptr_nonnull(pv);
	ck_assert_ptr_nonnull(dep);
	ck_assert_int_eq(scope_wants_type(s, dep), SCOPE_TYPE_YES);
	ck_assert_int_eq(scope_wants_type(s, pv), SCOPE_TYPE_YES);
	ck_assert_int_eq(scope_set_resources(s, "deployments/scale", NULL), 0);
	ck_usage_error(scope_resolve(s, d, NULL),
		       "unknown resource type \"deployments/scale\" (subresources are not "
		       "selected on their own)");
	scope_free(s);
	kube_discovery_free(d);
}
END_TEST

/* ---- canonical JSON ---- */

START_TEST(test_json_canonical)
{
	struct kahu_scope *a = mk("b,a,a", "kube-*", "pods,deploy", NULL, "auto");
	ck_assert_int_eq(scope_set_selector(a, "z=1, a in (y,x)"), 0);
	ck_assert_int_eq(scope_set_names(a, "web-*", NULL), 0);
	struct kahu_scope *b = mk(" a , b ", "kube-*", "Deployment,po", NULL, NULL);
	ck_assert_int_eq(scope_set_selector(b, "a in (x,y),z==1"), 0);
	ck_assert_int_eq(scope_set_names(b, "web-*", NULL), 0);
	ck_assert(scope_equal(a, b));

	json_t *j = scope_to_json(a);
	char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(txt,
		"{\"excludeNames\":[],\"excludeNamespaces\":[\"kube-*\"],"
		"\"excludeResources\":[],\"includeClusterResources\":\"auto\","
		"\"includeNames\":[\"web-*\"],\"includeNamespaces\":[\"a\",\"b\"],"
		"\"includeResources\":[\"deployments.apps\",\"pods\"],"
		"\"labelSelector\":\"a in (x,y),z=1\",\"orLabelSelectors\":[]}");
	free(txt);
	json_decref(j);

	/* a different cluster mode, selector or namespace list is a different scope */
	ck_assert_int_eq(scope_set_cluster_resources(b, "true"), 0);
	ck_assert(!scope_equal(a, b));
	ck_assert_int_eq(scope_set_cluster_resources(b, "auto"), 0);
	ck_assert(scope_equal(a, b));
	ck_assert_int_eq(scope_set_namespaces(b, "a", "kube-*"), 0);
	ck_assert(!scope_equal(a, b));
	scope_free(a);
	scope_free(b);

	/* "everything" has one spelling */
	a = mk(NULL, NULL, NULL, NULL, NULL);
	b = mk("*,x", NULL, "*", NULL, "auto");
	ck_assert(scope_equal(a, b));
	j = scope_to_json(a);
	txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(txt,
		"{\"excludeNames\":[],\"excludeNamespaces\":[],\"excludeResources\":[],"
		"\"includeClusterResources\":\"auto\",\"includeNames\":[\"*\"],"
		"\"includeNamespaces\":[\"*\"],\"includeResources\":[\"*\"],"
		"\"labelSelector\":null,\"orLabelSelectors\":[]}");
	free(txt);
	json_decref(j);
	scope_free(a);
	scope_free(b);

	/* or-selectors: parts sorted; a one-part or-selector equals the -l form */
	a = scope_new();
	b = scope_new();
	ck_assert_int_eq(scope_set_or_selector(a, "x=1 or a=2"), 0);
	ck_assert_int_eq(scope_set_or_selector(b, "a==2 or x=1"), 0);
	ck_assert(scope_equal(a, b));
	j = scope_to_json(a);
	txt = json_dumps(json_object_get(j, "orLabelSelectors"), JSON_COMPACT);
	ck_assert_str_eq(txt, "[\"a=2\",\"x=1\"]");
	free(txt);
	json_decref(j);
	scope_free(a);
	scope_free(b);
	a = scope_new();
	b = scope_new();
	ck_assert_int_eq(scope_set_or_selector(a, "app=web"), 0);
	ck_assert_int_eq(scope_set_selector(b, "app=web"), 0);
	ck_assert(scope_equal(a, b));
	scope_free(a);
	/* ... also when the parts are the same selector spelt differently */
	a = scope_new();
	ck_assert_int_eq(scope_set_or_selector(a, "app==web or app=web"), 0);
	ck_assert_str_eq(scope_server_label_selector(a), "app=web");
	ck_assert(scope_equal(a, b));
	scope_free(a);
	scope_free(b);
}
END_TEST

static Suite *scope_suite(void)
{
	Suite *s = suite_create("scope");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, disc_setup, disc_teardown);
	tcase_add_test(tc, test_namespace_globs);
	tcase_add_test(tc, test_namespace_errors);
	tcase_add_test(tc, test_object_namespace_and_label);
	tcase_add_test(tc, test_object_names);
	tcase_add_test(tc, test_object_selectors);
	tcase_add_test(tc, test_type_cluster_auto);
	tcase_add_test(tc, test_type_cluster_true_false);
	tcase_add_test(tc, test_type_resource_lists);
	tcase_add_test(tc, test_resolve_names);
	tcase_add_test(tc, test_resolve_errors);
	tcase_add_test(tc, test_resolve_parsed_discovery);
	tcase_add_test(tc, test_json_canonical);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(scope_suite)

/* The backup plan: which types are backed up, once each, with which decision. */
#include <string.h>

#include "check_main.h"
#include "engine/collect.h"
#include "engine/scope.h"
#include "kube/discovery.h"
#include "util/err.h"

static const char core[] = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
	"{\"name\":\"configmaps\",\"shortNames\":[\"cm\"],\"namespaced\":true,\"kind\":\"ConfigMap\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\",\"patch\",\"update\",\"watch\"]},"
	"{\"name\":\"events\",\"namespaced\":true,\"kind\":\"Event\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]},"
	"{\"name\":\"pods\",\"namespaced\":true,\"kind\":\"Pod\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]},"
	"{\"name\":\"pods/exec\",\"namespaced\":true,\"kind\":\"PodExecOptions\",\"verbs\":[\"create\",\"get\"]},"
	"{\"name\":\"bindings\",\"namespaced\":true,\"kind\":\"Binding\",\"verbs\":[\"create\"]},"
	"{\"name\":\"componentstatuses\",\"namespaced\":false,\"kind\":\"ComponentStatus\",\"verbs\":[\"get\",\"list\"]},"
	"{\"name\":\"namespaces\",\"namespaced\":false,\"kind\":\"Namespace\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]},"
	"{\"name\":\"persistentvolumes\",\"namespaced\":false,\"kind\":\"PersistentVolume\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]},"
	"{\"name\":\"nodes\",\"namespaced\":false,\"kind\":\"Node\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]}]}";
static const char events[] = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"events.k8s.io/v1\",\"resources\":["
	"{\"name\":\"events\",\"namespaced\":true,\"kind\":\"Event\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]}]}";
static const char apps[] = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"apps/v1\",\"resources\":["
	"{\"name\":\"deployments\",\"shortNames\":[\"deploy\"],\"namespaced\":true,\"kind\":\"Deployment\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]},"
	"{\"name\":\"deployments/scale\",\"namespaced\":true,\"kind\":\"Scale\",\"verbs\":[\"get\",\"patch\",\"update\"]}]}";
static const char crd[] = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"apiextensions.k8s.io/v1\",\"resources\":["
	"{\"name\":\"customresourcedefinitions\",\"namespaced\":false,\"kind\":\"CustomResourceDefinition\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]}]}";
static const char rbac[] = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"rbac.authorization.k8s.io/v1\",\"resources\":["
	"{\"name\":\"clusterroles\",\"namespaced\":false,\"kind\":\"ClusterRole\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]}]}";
/* A group whose preferred version lacks a type an older version still serves. */
static const char mlb2[] = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"metallb.io/v1beta2\",\"resources\":["
	"{\"name\":\"bgppeers\",\"namespaced\":true,\"kind\":\"BGPPeer\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]}]}";
static const char mlb1[] = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"metallb.io/v1beta1\",\"resources\":["
	"{\"name\":\"bgppeers\",\"namespaced\":true,\"kind\":\"BGPPeer\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]},"
	"{\"name\":\"bfdprofiles\",\"namespaced\":true,\"kind\":\"BFDProfile\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]}]}";

static struct kube_discovery *disc(void)
{
	struct kube_discovery *d = kube_discovery_new();
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "", "v1", 1, core, strlen(core)), 0);
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "events.k8s.io", "v1", 1, events, strlen(events)), 0);
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "apps", "v1", 1, apps, strlen(apps)), 0);
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "apiextensions.k8s.io", "v1", 1, crd, strlen(crd)), 0);
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "rbac.authorization.k8s.io", "v1", 1, rbac, strlen(rbac)), 0);
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "metallb.io", "v1beta2", 1, mlb2, strlen(mlb2)), 0);
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "metallb.io", "v1beta1", 0, mlb1, strlen(mlb1)), 0);
	return d;
}

static const struct plan_type *find(const struct plan *p, const char *gr)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->types[i].group_resource, gr) == 0)
			return &p->types[i];
	return NULL;
}

START_TEST(test_plan_everything)
{
	struct kube_discovery *d = disc();
	struct kahu_scope *s = scope_new();
	struct plan p;
	ck_assert_int_eq(scope_resolve(s, d, NULL), 0);
	ck_assert_int_eq(plan_build(d, s, &p), 0);
	/* Backupable types once each, sorted; aliases, subresources and types that
	 * cannot be created or deleted left out. */
	const char *want[] = { "bfdprofiles.metallb.io", "bgppeers.metallb.io", "clusterroles.rbac.authorization.k8s.io",
			       "configmaps", "customresourcedefinitions.apiextensions.k8s.io",
			       "deployments.apps", "events", "namespaces", "nodes", "persistentvolumes", "pods" };
	ck_assert_uint_eq(p.n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < p.n; i++) {
		ck_assert_str_eq(p.types[i].group_resource, want[i]);
		ck_assert_int_eq(p.types[i].decision, SCOPE_TYPE_YES);
	}
	ck_assert_ptr_null(find(&p, "events.events.k8s.io"));
	ck_assert_str_eq(find(&p, "bgppeers.metallb.io")->res->version, "v1beta2");
	ck_assert_str_eq(find(&p, "bfdprofiles.metallb.io")->res->version, "v1beta1");
	plan_free(&p);
	scope_free(s);
	kube_discovery_free(d);
}
END_TEST

START_TEST(test_plan_namespace_filter)
{
	struct kube_discovery *d = disc();
	struct kahu_scope *s = scope_new();
	struct plan p;
	ck_assert_int_eq(scope_set_namespaces(s, "shop", NULL), 0);
	ck_assert_int_eq(scope_resolve(s, d, NULL), 0);
	ck_assert_int_eq(plan_build(d, s, &p), 0);
	/* Whole namespaces are wanted: their Namespace objects are listed (and filtered
	 * by name); other cluster-scoped types only for what included items need. */
	ck_assert_int_eq(find(&p, "namespaces")->decision, SCOPE_TYPE_YES);
	ck_assert_int_eq(find(&p, "persistentvolumes")->decision, SCOPE_TYPE_ONLY_REFERENCED);
	ck_assert_int_eq(find(&p, "customresourcedefinitions.apiextensions.k8s.io")->decision,
			 SCOPE_TYPE_ONLY_REFERENCED);
	ck_assert_ptr_null(find(&p, "clusterroles.rbac.authorization.k8s.io"));
	ck_assert_ptr_null(find(&p, "nodes"));
	ck_assert_int_eq(find(&p, "configmaps")->decision, SCOPE_TYPE_YES);
	plan_free(&p);
	scope_free(s);

	/* An explicit type list. */
	s = scope_new();
	ck_assert_int_eq(scope_set_resources(s, "cm,deploy", NULL), 0);
	ck_assert_int_eq(scope_resolve(s, d, NULL), 0);
	ck_assert_int_eq(plan_build(d, s, &p), 0);
	ck_assert_ptr_nonnull(find(&p, "configmaps"));
	ck_assert_ptr_nonnull(find(&p, "deployments.apps"));
	ck_assert_ptr_null(find(&p, "pods"));
	ck_assert_ptr_null(find(&p, "events"));
	plan_free(&p);
	scope_free(s);
	kube_discovery_free(d);
}
END_TEST

static Suite *collect_suite(void)
{
	Suite *s = suite_create("collect");
	TCase *tc = tcase_create("plan");
	tcase_add_test(tc, test_plan_everything);
	tcase_add_test(tc, test_plan_namespace_filter);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(collect_suite)

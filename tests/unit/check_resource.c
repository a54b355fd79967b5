#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kube/resource.h"
#include "util/buf.h"

static struct kube_resource res(const char *group, const char *version, const char *plural,
				int namespaced)
{
	struct kube_resource r = { 0 };
	r.group = (char *)group;
	r.version = (char *)version;
	r.resource = (char *)plural;
	r.namespaced = namespaced;
	return r;
}

#define CHECK_STR(expr, want)                          \
	do {                                           \
		char *s_ = (expr);                     \
		ck_assert_str_eq(s_, want);            \
		free(s_);                              \
	} while (0)

START_TEST(test_group_version_path)
{
	CHECK_STR(kube_group_version_path("", "v1"), "/api/v1");
	CHECK_STR(kube_group_version_path(NULL, "v1"), "/api/v1");
	CHECK_STR(kube_group_version_path("apps", "v1"), "/apis/apps/v1");
}
END_TEST

START_TEST(test_resource_path)
{
	struct kube_resource pods = res("", "v1", "pods", 1);
	struct kube_resource deploy = res("apps", "v1", "deployments", 1);
	struct kube_resource nodes = res("", "v1", "nodes", 0);
	struct kube_resource crb = res("rbac.authorization.k8s.io", "v1", "clusterrolebindings", 0);

	CHECK_STR(kube_resource_path(&pods, "kube-system", "coredns-1"),
		  "/api/v1/namespaces/kube-system/pods/coredns-1");
	CHECK_STR(kube_resource_path(&pods, NULL, NULL), "/api/v1/pods");
	CHECK_STR(kube_resource_path(&pods, "default", NULL), "/api/v1/namespaces/default/pods");
	CHECK_STR(kube_resource_path(&deploy, "web", "front"),
		  "/apis/apps/v1/namespaces/web/deployments/front");
	CHECK_STR(kube_resource_path(&deploy, NULL, NULL), "/apis/apps/v1/deployments");
	/* A namespace given for a cluster-scoped type is ignored. */
	CHECK_STR(kube_resource_path(&nodes, "default", "node-1"), "/api/v1/nodes/node-1");
	CHECK_STR(kube_resource_path(&crb, NULL, "system:admin"),
		  "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system%3Aadmin");
	/* Names that need encoding: spaces, '+', '/', unicode (UTF-8 bytes). */
	CHECK_STR(kube_resource_path(&pods, "a b", "x+y/z"),
		  "/api/v1/namespaces/a%20b/pods/x%2By%2Fz");
	CHECK_STR(kube_resource_path(&pods, "ns", "caf\xc3\xa9"),
		  "/api/v1/namespaces/ns/pods/caf%C3%A9");
	CHECK_STR(kube_resource_path(&pods, "ns", "a.b-c_d~e"),
		  "/api/v1/namespaces/ns/pods/a.b-c_d~e");
}
END_TEST

START_TEST(test_query)
{
	struct kbuf b = KBUF_INIT;
	kbuf_adds(&b, "/api/v1/pods");
	kube_query_add(&b, "limit", "500");
	ck_assert_str_eq(b.data, "/api/v1/pods?limit=500");
	kube_query_add(&b, "labelSelector", "app in (a,b),tier!=db");
	ck_assert_str_eq(b.data, "/api/v1/pods?limit=500&labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb");
	kube_query_add(&b, "continue", "eyJ2Ijoi+/=");
	ck_assert_str_eq(b.data + strlen("/api/v1/pods?limit=500&labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb"),
			 "&continue=eyJ2Ijoi%2B%2F%3D");
	kbuf_reset(&b);
	kbuf_adds(&b, "/x");
	kube_query_add(&b, "fieldSelector", "metadata.name=a b&c");
	ck_assert_str_eq(b.data, "/x?fieldSelector=metadata.name%3Da%20b%26c");
	kbuf_reset(&b);
	kube_query_add(&b, "k", NULL);
	ck_assert_str_eq(b.data, "?k=");
	kbuf_free(&b);
}
END_TEST

START_TEST(test_names)
{
	struct kube_resource cm = res("", "v1", "configmaps", 1);
	struct kube_resource deploy = res("apps", "v1", "deployments", 1);
	struct kube_resource vs = res("snapshot.storage.k8s.io", "v1", "volumesnapshots", 1);

	CHECK_STR(kube_api_version(&cm), "v1");
	CHECK_STR(kube_api_version(&deploy), "apps/v1");
	CHECK_STR(kube_group_resource(&cm), "configmaps");
	CHECK_STR(kube_group_resource(&deploy), "deployments.apps");
	CHECK_STR(kube_group_resource(&vs), "volumesnapshots.snapshot.storage.k8s.io");
}
END_TEST

START_TEST(test_copy_and_verbs)
{
	struct kube_resource a = res("apps", "v1", "deployments", 1), b;
	a.kind = "Deployment";
	a.singular = "deployment";
	a.verbs = kube_verb_from_string("list") | kube_verb_from_string("get") |
		  kube_verb_from_string("bogus");
	ck_assert_uint_eq(a.verbs, KUBE_VERB_LIST | KUBE_VERB_GET);
	ck_assert_uint_eq(kube_verb_from_string("deletecollection"), KUBE_VERB_DELETECOLLECTION);
	ck_assert_uint_eq(kube_verb_from_string(NULL), 0);
	a.short_names = (struct strv)STRV_INIT;
	a.categories = (struct strv)STRV_INIT;
	kube_resource_copy(&b, &a);
	strv_push(&b.short_names, "deploy");
	ck_assert_str_eq(b.kind, "Deployment");
	ck_assert_int_eq(b.namespaced, 1);
	ck_assert_ptr_ne(b.group, a.group);
	kube_resource_clear(&b);
	ck_assert_ptr_null(b.kind);
	kube_resource_clear(NULL);
}
END_TEST

static Suite *resource_suite(void)
{
	Suite *s = suite_create("resource");
	TCase *tc = tcase_create("paths");
	tcase_add_test(tc, test_group_version_path);
	tcase_add_test(tc, test_resource_path);
	tcase_add_test(tc, test_query);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_copy_and_verbs);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(resource_suite)

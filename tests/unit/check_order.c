#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "engine/order.h"

static const char *const velero_high[] = {
	"customresourcedefinitions.apiextensions.k8s.io",
	"namespaces",
	"storageclasses.storage.k8s.io",
	"volumesnapshotclasses.snapshot.storage.k8s.io",
	"volumesnapshotcontents.snapshot.storage.k8s.io",
	"volumesnapshots.snapshot.storage.k8s.io",
	"persistentvolumes",
	"persistentvolumeclaims",
	"clusterroles.rbac.authorization.k8s.io",
	"roles.rbac.authorization.k8s.io",
	"serviceaccounts",
	"clusterrolebindings.rbac.authorization.k8s.io",
	"rolebindings.rbac.authorization.k8s.io",
	"secrets",
	"configmaps",
	"limitranges",
	"priorityclasses.scheduling.k8s.io",
	"pods",
	"replicasets.apps",
	"endpoints",
	"services",
};

START_TEST(test_high_priority_exact_order)
{
	ck_assert_int_eq(sizeof velero_high / sizeof velero_high[0], RESTORE_PRIORITY_HIGH_N);
	for (int i = 0; i < RESTORE_PRIORITY_HIGH_N; i++) {
		ck_assert_int_eq(restore_priority(velero_high[i]), i);
		ck_assert_str_eq(restore_priority_name(i), velero_high[i]);
		if (i)
			ck_assert_int_lt(restore_type_cmp(velero_high[i - 1], velero_high[i]), 0);
	}
	ck_assert_ptr_null(restore_priority_name(-1));
	ck_assert_ptr_null(restore_priority_name(RESTORE_PRIORITY_HIGH_N));
}
END_TEST

START_TEST(test_velero_spellings)
{
	ck_assert_int_eq(restore_priority("customresourcedefinitions"), 0);
	ck_assert_int_eq(restore_priority("storageclasses"), 2);
	ck_assert_int_eq(restore_priority("volumesnapshotclass.snapshot.storage.k8s.io"), 3);
	ck_assert_int_eq(restore_priority("clusterroles"), 8);
	ck_assert_int_eq(restore_priority("roles"), 9);
	ck_assert_int_eq(restore_priority("clusterrolebindings"), 11);
	ck_assert_int_eq(restore_priority("rolebindings"), 12);
	ck_assert_int_eq(restore_priority("priorityclasses"), 16);
	/* Not in the list: same resource name in another group, or other types. */
	ck_assert_int_eq(restore_priority("pods.metrics.k8s.io"), RESTORE_PRIORITY_OTHER);
	ck_assert_int_eq(restore_priority("deployments.apps"), RESTORE_PRIORITY_OTHER);
	ck_assert_int_eq(restore_priority("secrets.example.com"), RESTORE_PRIORITY_OTHER);
	ck_assert_int_eq(restore_priority(""), RESTORE_PRIORITY_OTHER);
	ck_assert_int_eq(restore_priority(NULL), RESTORE_PRIORITY_OTHER);
}
END_TEST

START_TEST(test_crd)
{
	ck_assert_int_eq(restore_is_crd("customresourcedefinitions.apiextensions.k8s.io"), 1);
	ck_assert_int_eq(restore_is_crd("customresourcedefinitions"), 1);
	ck_assert_int_eq(restore_is_crd("widgets.example.com"), 0);
	ck_assert_int_eq(restore_is_crd("namespaces"), 0);
	ck_assert_int_eq(restore_is_crd(NULL), 0);
}
END_TEST

static int cmp(const void *a, const void *b)
{
	return restore_type_cmp(*(const char *const *)a, *(const char *const *)b);
}

START_TEST(test_sort)
{
	const char *types[] = {
		"widgets.example.com",
		"services",
		"deployments.apps",
		"configmaps",
		"apiservices.apiregistration.k8s.io",
		"namespaces",
		"horizontalpodautoscalers.autoscaling",
		"customresourcedefinitions.apiextensions.k8s.io",
		"statefulsets.apps",
		"pods",
		"ingresses.networking.k8s.io",
		"persistentvolumeclaims",
		"persistentvolumes",
		"cronjobs.batch",
		"secrets",
	};
	const char *want[] = {
		"customresourcedefinitions.apiextensions.k8s.io",
		"namespaces",
		"persistentvolumes",
		"persistentvolumeclaims",
		"secrets",
		"configmaps",
		"pods",
		"services",
		"apiservices.apiregistration.k8s.io",
		"cronjobs.batch",
		"deployments.apps",
		"horizontalpodautoscalers.autoscaling",
		"ingresses.networking.k8s.io",
		"statefulsets.apps",
		"widgets.example.com",
	};
	size_t n = sizeof types / sizeof types[0];
	qsort(types, n, sizeof types[0], cmp);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(types[i], want[i]);
	ck_assert_int_eq(restore_type_cmp("pods", "pods"), 0);
	ck_assert_int_gt(restore_type_cmp("a.example.com", "services"), 0);
}
END_TEST

static Suite *order_suite(void)
{
	Suite *s = suite_create("order");
	TCase *tc = tcase_create("order");
	tcase_add_test(tc, test_high_priority_exact_order);
	tcase_add_test(tc, test_velero_spellings);
	tcase_add_test(tc, test_crd);
	tcase_add_test(tc, test_sort);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(order_suite)

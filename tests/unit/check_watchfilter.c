/* Which watched changes start an event-driven backup: engine/watchfilter.c over scopes
 * built by hand. */
#include <jansson.h>
#include <string.h>

#include "check_main.h"
#include "engine/scope.h"
#include "engine/watchfilter.h"
#include "kube/resource.h"
#include "util/err.h"

static struct kube_resource cm = { .group = "", .version = "v1", .resource = "configmaps",
				   .kind = "ConfigMap", .namespaced = 1 };
static struct kube_resource crole = { .group = "rbac.authorization.k8s.io", .version = "v1",
				      .resource = "clusterroles", .kind = "ClusterRole" };

static json_t *obj(const char *ns, const char *name, const char *labels_json)
{
	json_t *labels = labels_json ? json_loads(labels_json, 0, NULL) : json_object();
	json_t *o = json_pack("{s:{s:s, s:o}}", "metadata", "name", name, "labels", labels);
	if (ns)
		json_object_set_new(json_object_get(o, "metadata"), "namespace", json_string(ns));
	return o;
}

static int starts(const struct kahu_scope *s, const struct kube_resource *r, const char *ns,
		  const char *name, const char *labels)
{
	json_t *o = obj(ns, name, labels);
	int v = watch_change_starts_run(s, r, o, ns);
	json_decref(o);
	return v;
}

START_TEST(test_types)
{
	ck_assert_int_eq(watch_type_starts_runs("configmaps"), 1);
	ck_assert_int_eq(watch_type_starts_runs("deployments.apps"), 1);
	ck_assert_int_eq(watch_type_starts_runs("leases.coordination.k8s.io"), 0);
	ck_assert_int_eq(watch_type_starts_runs("events"), 0);
	ck_assert_int_eq(watch_type_starts_runs("events.events.k8s.io"), 0);
	ck_assert_int_eq(watch_type_starts_runs("leases.example.com"), 1);
}
END_TEST

START_TEST(test_objects)
{
	struct kahu_scope *s = scope_new();
	ck_assert_msg(scope_set_namespaces(s, "app,team-*", NULL) == 0, "%s", kahu_error_last());
	ck_assert_msg(scope_set_selector(s, "tier!=scratch") == 0, "%s", kahu_error_last());
	ck_assert_int_eq(starts(s, &cm, "app", "a", NULL), 1);
	ck_assert_int_eq(starts(s, &cm, "team-x", "a", NULL), 1);
	ck_assert_int_eq(starts(s, &cm, "other", "a", NULL), 0);
	/* kahu's own objects, the exclude label, the selector */
	ck_assert_int_eq(starts(s, &cm, "app", "h", "{\"app.kubernetes.io/managed-by\":\"kahu\"}"), 0);
	ck_assert_int_eq(starts(s, &cm, "app", "h", "{\"app.kubernetes.io/managed-by\":\"helm\"}"), 1);
	ck_assert_int_eq(starts(s, &cm, "app", "x", "{\"kahu.io/exclude-from-backup\":\"true\"}"), 0);
	ck_assert_int_eq(starts(s, &cm, "app", "t", "{\"tier\":\"scratch\"}"), 0);
	/* deletions found by a re-list: by namespace only */
	ck_assert_int_eq(watch_change_starts_run(s, &cm, NULL, "app"), 1);
	ck_assert_int_eq(watch_change_starts_run(s, &cm, NULL, "other"), 0);
	ck_assert_int_eq(watch_change_starts_run(s, &crole, NULL, ""), 1);
	scope_free(s);
}
END_TEST

START_TEST(test_names)
{
	struct kahu_scope *s = scope_new();
	ck_assert_msg(scope_set_names(s, NULL, "tmp-*") == 0, "%s", kahu_error_last());
	ck_assert_int_eq(starts(s, &cm, "any", "keep", NULL), 1);
	ck_assert_int_eq(starts(s, &cm, "any", "tmp-1", NULL), 0);
	ck_assert_int_eq(starts(s, &crole, NULL, "admin", NULL), 1);
	scope_free(s);
}
END_TEST

static Suite *watchfilter_suite(void)
{
	Suite *s = suite_create("watchfilter");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_types);
	tcase_add_test(tc, test_objects);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(watchfilter_suite)

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

static json_t *J(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	return j;
}

START_TEST(test_fingerprint)
{
	char a[WATCH_FP_LEN + 1], b[WATCH_FP_LEN + 1];
	json_t *o1 = J("{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\",\"resourceVersion\":\"1\","
		       "\"generation\":1,\"labels\":{\"a\":\"1\"}},\"spec\":{\"replicas\":1},"
		       "\"status\":{\"observedGeneration\":1}}");
	/* the same with another status, resourceVersion, generation, managedFields, key order */
	json_t *o2 = J("{\"status\":{\"observedGeneration\":2,\"readyReplicas\":1},\"spec\":{\"replicas\":1},"
		       "\"metadata\":{\"labels\":{\"a\":\"1\"},\"name\":\"d\",\"resourceVersion\":\"9\","
		       "\"generation\":2,\"managedFields\":[{\"manager\":\"x\"}]},\"kind\":\"Deployment\"}");
	json_t *o3 = J("{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\",\"labels\":{\"a\":\"2\"}},"
		       "\"spec\":{\"replicas\":1}}");
	json_t *o4 = J("{\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\",\"labels\":{\"a\":\"1\"}},"
		       "\"spec\":{\"replicas\":2}}");
	watch_fingerprint(o1, a);
	watch_fingerprint(o2, b);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(strlen(a), WATCH_FP_LEN);
	watch_fingerprint(o3, b);
	ck_assert_str_ne(a, b);
	watch_fingerprint(o4, b);
	ck_assert_str_ne(a, b);
	/* the copy is shallow: the objects are left as they were */
	ck_assert_ptr_nonnull(json_object_get(o1, "status"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(o2, "metadata"), "managedFields"));

	struct watch_fps *f = watch_fps_new();
	ck_assert_int_eq(watch_fps_update(f, "k", o1), 1);   /* first seen */
	ck_assert_int_eq(watch_fps_update(f, "k", o2), 0);   /* status only */
	ck_assert_int_eq(watch_fps_update(f, "k", o3), 1);   /* a label */
	ck_assert_int_eq(watch_fps_update(f, "k", o3), 0);
	ck_assert_uint_eq(watch_fps_count(f), 1);
	ck_assert_int_eq(watch_fps_update(f, "k", NULL), 1); /* gone */
	ck_assert_uint_eq(watch_fps_count(f), 0);
	ck_assert_int_eq(watch_fps_update(f, "k", o3), 1);   /* back: new */
	/* objects that come and go do not make the map grow: it is rebuilt */
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "pod-%d", i);
		ck_assert_int_eq(watch_fps_update(f, key, o1), 1);
		ck_assert_int_eq(watch_fps_update(f, key, NULL), 1);
	}
	ck_assert_uint_eq(watch_fps_count(f), 1);
	ck_assert_int_eq(watch_fps_update(f, "k", o3), 0);
	watch_fps_free(f);
	json_decref(o1);
	json_decref(o2);
	json_decref(o3);
	json_decref(o4);
}
END_TEST

static Suite *watchfilter_suite(void)
{
	Suite *s = suite_create("watchfilter");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_types);
	tcase_add_test(tc, test_objects);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_fingerprint);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(watchfilter_suite)

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kube/discovery.h"
#include "util/buf.h"
#include "util/err.h"

static struct kbuf load(const char *name)
{
	struct kbuf b = KBUF_INIT;
	char path[1024], chunk[4096];
	snprintf(path, sizeof path, "%s/discovery/%s", TEST_DATA_DIR, name);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		kbuf_add(&b, chunk, n);
	fclose(f);
	return b;
}

static void parse_aggregated(struct kube_discovery *d, const char *name)
{
	struct kbuf b = load(name);
	ck_assert_int_eq(kube_discovery_parse_aggregated(d, b.data, b.len), 0);
	kbuf_free(&b);
}

static void parse_list(struct kube_discovery *d, const char *name, const char *group,
		       const char *version, int preferred)
{
	struct kbuf b = load(name);
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, group, version, preferred, b.data,
							    b.len), 0);
	kbuf_free(&b);
}

static struct kube_discovery *aggregated(void)
{
	struct kube_discovery *d = kube_discovery_new();
	parse_aggregated(d, "aggregated-api.json");
	parse_aggregated(d, "aggregated-apis.json");
	return d;
}

static size_t count(const struct kube_discovery *d, const char *group, const char *plural)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->res[i].group, group) == 0 && strcmp(d->res[i].resource, plural) == 0)
			n++;
	return n;
}

START_TEST(test_aggregated_parse)
{
	struct kube_discovery *d = aggregated();
	/* core 7 + apps 2 + events.k8s.io 1 + autoscaling 2 versions + rbac 1 */
	ck_assert_uint_eq(d->n, 13);
	for (size_t i = 0; i < d->n; i++)
		ck_assert_msg(strchr(d->res[i].resource, '/') == NULL, "subresource %s",
			      d->res[i].resource);

	const struct kube_resource *pods = kube_discovery_find(d, "pods");
	ck_assert_ptr_nonnull(pods);
	ck_assert_str_eq(pods->group, "");
	ck_assert_str_eq(pods->version, "v1");
	ck_assert_str_eq(pods->kind, "Pod");
	ck_assert_str_eq(pods->singular, "pod");
	ck_assert_int_eq(pods->namespaced, 1);
	ck_assert_int_eq(pods->preferred, 1);
	ck_assert(pods->verbs & KUBE_VERB_LIST);
	ck_assert(pods->verbs & KUBE_VERB_DELETECOLLECTION);
	ck_assert(strv_contains(&pods->short_names, "po"));
	ck_assert(strv_contains(&pods->categories, "all"));

	const struct kube_resource *ns = kube_discovery_find(d, "namespaces");
	ck_assert_int_eq(ns->namespaced, 0);
	ck_assert(!(ns->verbs & KUBE_VERB_DELETECOLLECTION));

	const struct kube_resource *deploy = kube_discovery_find(d, "deployments");
	ck_assert_str_eq(deploy->group, "apps");
	ck_assert_str_eq(deploy->kind, "Deployment");

	/* the first listed version is the preferred one */
	ck_assert_uint_eq(count(d, "autoscaling", "horizontalpodautoscalers"), 2);
	const struct kube_resource *hpa = kube_discovery_find(d, "hpa");
	ck_assert_str_eq(hpa->version, "v2");
	ck_assert_int_eq(hpa->preferred, 1);
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->res[i].group, "autoscaling") == 0 && strcmp(d->res[i].version, "v1") == 0)
			ck_assert_int_eq(d->res[i].preferred, 0);

	/* the stale group is a failure, not resources */
	ck_assert_uint_eq(d->nfailed, 1);
	ck_assert_str_eq(d->failed[0].group_version, "metrics.k8s.io/v1beta1");
	ck_assert(strstr(d->failed[0].message, "stale") != NULL);
	kube_discovery_free(d);
}
END_TEST

START_TEST(test_legacy_parse)
{
	struct kube_discovery *d = kube_discovery_new();
	parse_list(d, "legacy-api-v1.json", "", "v1", 1);
	parse_list(d, "legacy-apps-v1.json", "apps", "v1", 1);
	/* bindings, configmaps, namespaces, pods, serviceaccounts + daemonsets, deployments */
	ck_assert_uint_eq(d->n, 7);
	for (size_t i = 0; i < d->n; i++)
		ck_assert(strchr(d->res[i].resource, '/') == NULL);
	const struct kube_resource *sa = kube_discovery_find(d, "sa");
	ck_assert_ptr_nonnull(sa);
	ck_assert_str_eq(sa->resource, "serviceaccounts");
	/* an empty singularName falls back to the lowercased kind, as in kubectl */
	ck_assert_str_eq(sa->singular, "serviceaccount");
	ck_assert_ptr_eq(kube_discovery_find(d, "serviceaccount"), sa);
	const struct kube_resource *b = kube_discovery_find(d, "bindings");
	ck_assert_uint_eq(b->verbs, KUBE_VERB_CREATE);
	const struct kube_resource *ds = kube_discovery_find(d, "ds");
	ck_assert_str_eq(ds->group, "apps");
	ck_assert_int_eq(ds->namespaced, 1);
	ck_assert_int_eq(kube_discovery_find(d, "namespaces")->namespaced, 0);

	/* malformed input is an error, not a crash */
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "x", "v1", 1, "{", 1), KAHU_EPROTO);
	ck_assert_int_eq(kube_discovery_parse_aggregated(d, "[]", 2), KAHU_EPROTO);
	kube_discovery_free(d);
}
END_TEST

START_TEST(test_group_list_parse)
{
	struct strv gvs = STRV_INIT, pref = STRV_INIT;
	struct kbuf api = load("legacy-api.json"), apis = load("legacy-apis.json");
	ck_assert_int_eq(kube_discovery_parse_group_list(api.data, api.len, 1, &gvs, &pref), 0);
	ck_assert_int_eq(kube_discovery_parse_group_list(apis.data, apis.len, 0, &gvs, &pref), 0);
	ck_assert_uint_eq(gvs.n, 5);
	ck_assert_str_eq(gvs.v[0], "/v1");
	ck_assert_str_eq(pref.v[0], "1");
	ck_assert_str_eq(gvs.v[1], "apps/v1");
	ck_assert_str_eq(gvs.v[2], "autoscaling/v2");
	ck_assert_str_eq(pref.v[2], "1");
	ck_assert_str_eq(gvs.v[3], "autoscaling/v1");
	ck_assert_str_eq(pref.v[3], "0");
	ck_assert_str_eq(gvs.v[4], "metrics.k8s.io/v1beta1");
	strv_free(&gvs);
	strv_free(&pref);
	kbuf_free(&api);
	kbuf_free(&apis);
}
END_TEST

/* Names that would steer a request path elsewhere are not taken from a server. */
START_TEST(test_hostile_names)
{
	static const char agg[] =
		"{\"kind\":\"APIGroupDiscoveryList\",\"items\":["
		"{\"metadata\":{\"name\":\"../../x\"},\"versions\":[{\"version\":\"v1\",\"resources\":"
		"[{\"resource\":\"things\",\"scope\":\"Cluster\",\"verbs\":[\"list\"]}]}]},"
		"{\"metadata\":{\"name\":\"ok.example.com\"},\"versions\":["
		"{\"version\":\"v1?watch=1\",\"resources\":[{\"resource\":\"a\",\"verbs\":[\"list\"]}]},"
		"{\"version\":\"v1\",\"resources\":["
		"{\"resource\":\"..\",\"verbs\":[\"list\"]},{\"resource\":\"b#c\",\"verbs\":[\"list\"]},"
		"{\"resource\":\"Widgets\",\"verbs\":[\"list\"]},"
		"{\"resource\":\"widgets\",\"scope\":\"Namespaced\",\"verbs\":[\"list\"]}]}]}]}";
	struct kube_discovery *d = kube_discovery_new();
	ck_assert_int_eq(kube_discovery_parse_aggregated(d, agg, strlen(agg)), 0);
	ck_assert_uint_eq(d->n, 1);
	ck_assert_str_eq(d->res[0].group, "ok.example.com");
	ck_assert_str_eq(d->res[0].resource, "widgets");
	kube_discovery_free(d);

	static const char groups[] =
		"{\"kind\":\"APIGroupList\",\"groups\":["
		"{\"name\":\"..\",\"versions\":[{\"version\":\"v1\"}]},"
		"{\"name\":\"a/b\",\"versions\":[{\"version\":\"v1\"}]},"
		"{\"name\":\"good.io\",\"versions\":[{\"version\":\"../v1\"},{\"version\":\"v2\"}]}]}";
	struct strv gvs = STRV_INIT, pref = STRV_INIT;
	ck_assert_int_eq(kube_discovery_parse_group_list(groups, strlen(groups), 0, &gvs, &pref), 0);
	ck_assert_uint_eq(gvs.n, 1);
	ck_assert_str_eq(gvs.v[0], "good.io/v2");
	strv_free(&gvs);
	strv_free(&pref);
}
END_TEST

START_TEST(test_find)
{
	struct kube_discovery *d = aggregated();
	const struct kube_resource *r;

	r = kube_discovery_find(d, "deployments");
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_eq(kube_discovery_find(d, "deployments.apps"), r);
	ck_assert_ptr_eq(kube_discovery_find(d, "deployments.v1.apps"), r);
	ck_assert_ptr_eq(kube_discovery_find(d, "deployment"), r);
	ck_assert_ptr_eq(kube_discovery_find(d, "Deployment"), r);
	ck_assert_ptr_eq(kube_discovery_find(d, "DEPLOYMENT"), r);
	ck_assert_ptr_eq(kube_discovery_find(d, "deploy"), r);
	ck_assert_ptr_eq(kube_discovery_find(d, "deployment.apps"), r);
	ck_assert_ptr_eq(kube_discovery_find(d, "Deployment.apps"), r);
	ck_assert_ptr_null(kube_discovery_find(d, "deployments.batch"));
	ck_assert_ptr_null(kube_discovery_find(d, "deployments.v2.apps"));
	ck_assert_ptr_null(kube_discovery_find(d, "nosuchthing"));
	ck_assert_ptr_null(kube_discovery_find(d, ""));
	ck_assert_ptr_null(kube_discovery_find(d, NULL));

	r = kube_discovery_find(d, "cm");
	ck_assert_str_eq(r->resource, "configmaps");
	ck_assert_ptr_eq(kube_discovery_find(d, "configmaps.v1"), r);

	/* a specific version on request */
	r = kube_discovery_find(d, "horizontalpodautoscalers.v1.autoscaling");
	ck_assert_str_eq(r->version, "v1");
	r = kube_discovery_find(d, "horizontalpodautoscalers.autoscaling");
	ck_assert_str_eq(r->version, "v2");

	/* dotted group names */
	r = kube_discovery_find(d, "clusterroles.rbac.authorization.k8s.io");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->group, "rbac.authorization.k8s.io");
	ck_assert_ptr_eq(kube_discovery_find(d, "clusterroles.v1.rbac.authorization.k8s.io"), r);
	ck_assert_ptr_eq(kube_discovery_find(d, "ClusterRole"), r);
	kube_discovery_free(d);
}
END_TEST

START_TEST(test_ambiguity)
{
	struct kube_discovery *d = kube_discovery_new();
	/* events.k8s.io listed first: core must still win, as in kubectl */
	parse_aggregated(d, "aggregated-apis.json");
	parse_aggregated(d, "aggregated-api.json");
	ck_assert_uint_eq(count(d, "", "events"), 1);
	ck_assert_uint_eq(count(d, "events.k8s.io", "events"), 1);
	const struct kube_resource *r = kube_discovery_find(d, "events");
	ck_assert_str_eq(r->group, "");
	ck_assert_ptr_eq(kube_discovery_find(d, "ev"), r);
	ck_assert_ptr_eq(kube_discovery_find(d, "Event"), r);
	r = kube_discovery_find(d, "events.events.k8s.io");
	ck_assert_str_eq(r->group, "events.k8s.io");
	kube_discovery_free(d);
}
END_TEST

START_TEST(test_suggest)
{
	struct kube_discovery *d = aggregated();
	const char *out[5];
	size_t n = kube_discovery_suggest(d, "deploymnts", out, 5);
	ck_assert_uint_ge(n, 1);
	ck_assert_str_eq(out[0], "deployments");

	n = kube_discovery_suggest(d, "confgimaps", out, 5); /* transposition */
	ck_assert_uint_ge(n, 1);
	ck_assert_str_eq(out[0], "configmaps");

	n = kube_discovery_suggest(d, "Deploymet", out, 5); /* kind, case-insensitive */
	ck_assert_uint_ge(n, 1);
	ck_assert_str_eq(out[0], "deployments");

	n = kube_discovery_suggest(d, "replica", out, 5); /* prefix */
	ck_assert_uint_ge(n, 1);
	ck_assert_str_eq(out[0], "replicasets");

	n = kube_discovery_suggest(d, "xyzzyplugh", out, 5);
	ck_assert_uint_eq(n, 0);
	/* no duplicates: "pod" is close to pods, its kind and its singular */
	n = kube_discovery_suggest(d, "pdos", out, 5);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			ck_assert_str_ne(out[i], out[j]);
	n = kube_discovery_suggest(d, "po", out, 1);
	ck_assert_uint_le(n, 1);
	kube_discovery_free(d);
}
END_TEST

static Suite *discovery_suite(void)
{
	Suite *s = suite_create("discovery");
	TCase *tc = tcase_create("documents");
	tcase_add_test(tc, test_aggregated_parse);
	tcase_add_test(tc, test_legacy_parse);
	tcase_add_test(tc, test_group_list_parse);
	tcase_add_test(tc, test_hostile_names);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_ambiguity);
	tcase_add_test(tc, test_suggest);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(discovery_suite)

/* kahu — fuzz target: discovery documents (src/kube/discovery.c).  Every input is read
 * as each of the documents kahu asks for: aggregated (apidiscovery.k8s.io/v2), a legacy
 * APIResourceList of one group/version, /api (APIVersions) and /apis (APIGroupList).
 * What is parsed must then be found again by the names kahu resolves (plural,
 * plural.group, Kind, short names) and give well-formed request paths. */
#include "fuzz.h"

#include "kube/discovery.h"
#include "kube/resource.h"
#include "util/err.h"
#include "util/strv.h"

static void check_discovery(const struct kube_discovery *d)
{
	/* (the first 64: every lookup walks all resources) */
	for (size_t i = 0; i < d->n && i < 64; i++) {
		const struct kube_resource *r = &d->res[i];
		FUZZ_CHECK(r->group && r->version && r->resource && r->kind && r->singular);
		FUZZ_CHECK(*r->resource && !strchr(r->resource, '/'));
		FUZZ_CHECK(*r->version);
		/* Every parsed resource is found by its plural, its Kind and its short names
		 * (perhaps as another version or group of the same name). */
		const struct kube_resource *f = kube_discovery_find(d, r->resource);
		FUZZ_CHECK(f != NULL);
		if (*r->kind)
			FUZZ_CHECK(kube_discovery_find(d, r->kind) != NULL);
		for (size_t k = 0; k < r->short_names.n; k++)
			FUZZ_CHECK(kube_discovery_find(d, r->short_names.v[k]) != NULL);
		/* ... and "plural.group" (names with dots, which Kubernetes does not allow
		 * for resources, cannot be told apart from that form). */
		char *gr = kube_group_resource(r);
		if (!strchr(r->resource, '.'))
			FUZZ_CHECK(kube_discovery_find(d, gr) != NULL);
		free(gr);
		char *path = kube_resource_path(r, i % 2 ? "ns" : NULL, i % 3 ? NULL : "name");
		FUZZ_CHECK(path && path[0] == '/');
		free(path);
		char *av = kube_api_version(r);
		FUZZ_CHECK(av && *av);
		free(av);
	}
	for (size_t i = 0; i < d->nfailed; i++)
		FUZZ_CHECK(d->failed[i].group_version && d->failed[i].message);
	const char *sugg[4];
	size_t n = kube_discovery_suggest(d, "deploymnets", sugg, 4);
	FUZZ_CHECK(n <= 4);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(sugg[i] != NULL);
	if (d->n)
		(void)kube_discovery_suggest(d, d->res[0].resource, sugg, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct kube_discovery *d = kube_discovery_new();

	if (kube_discovery_parse_aggregated(d, json, size) < 0)
		FUZZ_CHECK(kahu_error_code() == KAHU_EPROTO);
	if (kube_discovery_parse_resource_list(d, "apps", "v1", 1, json, size) < 0)
		FUZZ_CHECK(kahu_error_code() == KAHU_EPROTO);
	if (kube_discovery_parse_resource_list(d, "", "v1", 0, json, size) < 0)
		FUZZ_CHECK(kahu_error_code() == KAHU_EPROTO);
	check_discovery(d);
	kube_discovery_free(d);

	for (int core = 0; core <= 1; core++) {
		struct strv gvs = STRV_INIT, pref = STRV_INIT;
		if (kube_discovery_parse_group_list(json, size, core, &gvs, &pref) == 0) {
			FUZZ_CHECK(gvs.n == pref.n);
			for (size_t i = 0; i < gvs.n; i++) {
				FUZZ_CHECK(strchr(gvs.v[i], '/') != NULL);
				FUZZ_CHECK(!strcmp(pref.v[i], "1") || !strcmp(pref.v[i], "0"));
			}
		}
		strv_free(&gvs);
		strv_free(&pref);
	}
	return 0;
}

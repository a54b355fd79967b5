/* kahu — API discovery: aggregated (apidiscovery.k8s.io/v2, one request for /api and
 * one for /apis) when the server offers it, legacy /api + /apis + one request per
 * group/version otherwise (in parallel).  A group/version that fails is recorded as a
 * warning, not an error. */
#ifndef KAHU_KUBE_DISCOVERY_H
#define KAHU_KUBE_DISCOVERY_H

#include <stddef.h>

#include "kube/resource.h"

struct kube_client;

struct kube_discovery_failure {
	char *group_version;
	char *message;
};

struct kube_discovery {
	struct kube_resource *res;  /* every served resource of every served version,
				       subresources excluded */
	size_t n;
	struct kube_discovery_failure *failed;
	size_t nfailed;
	int aggregated;             /* 1 when apidiscovery v2 was used */
	char *server_version;       /* gitVersion from /version */
	size_t cap;                 /* allocated entries of res / failed (internal) */
	size_t failed_cap;
};

int kube_discover(struct kube_client *c, struct kube_discovery **out);
/* Parse discovery documents (unit tests and the implementation). */
int kube_discovery_parse_aggregated(struct kube_discovery *d, const char *json, size_t len);
int kube_discovery_parse_resource_list(struct kube_discovery *d, const char *group,
				       const char *version, int preferred,
				       const char *json, size_t len);
/* Legacy documents: "/api" (APIVersions) and "/apis" (APIGroupList).  Appends the
 * group/versions to fetch to `gvs` as "group/version" ("/v1" for core) and, for each,
 * 1 or 0 to `preferred` (as "1"/"0" strings, same index). */
int kube_discovery_parse_group_list(const char *json, size_t len, int core,
				    struct strv *gvs, struct strv *preferred);
/* Record a group/version whose discovery failed (a warning, not an error). */
void kube_discovery_add_failure(struct kube_discovery *d, const char *gv, const char *msg);
struct kube_discovery *kube_discovery_new(void);
void kube_discovery_free(struct kube_discovery *d);

/* Resolve what a user typed: plural ("deployments"), "plural.group"
 * ("deployments.apps"), Kind ("Deployment", case-insensitive), singular, or short
 * name ("deploy").  Returns the preferred version's entry, or NULL. */
const struct kube_resource *kube_discovery_find(const struct kube_discovery *d,
						const char *name);
/* Up to `max` names close to `name` (edit distance), for "did you mean". */
size_t kube_discovery_suggest(const struct kube_discovery *d, const char *name,
			      const char **out, size_t max);

#endif

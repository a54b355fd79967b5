/* kahu — resource types (group/version/resource) and request paths. */
#ifndef KAHU_KUBE_RESOURCE_H
#define KAHU_KUBE_RESOURCE_H

#include "util/buf.h"
#include "util/strv.h"

enum kube_verb {
	KUBE_VERB_GET = 1 << 0,
	KUBE_VERB_LIST = 1 << 1,
	KUBE_VERB_WATCH = 1 << 2,
	KUBE_VERB_CREATE = 1 << 3,
	KUBE_VERB_UPDATE = 1 << 4,
	KUBE_VERB_PATCH = 1 << 5,
	KUBE_VERB_DELETE = 1 << 6,
	KUBE_VERB_DELETECOLLECTION = 1 << 7,
};

struct kube_resource {
	char *group;      /* "" for core */
	char *version;
	char *resource;   /* plural: "deployments" */
	char *kind;       /* "Deployment" */
	char *singular;
	int namespaced;
	unsigned verbs;   /* enum kube_verb */
	struct strv short_names;
	struct strv categories;
	int preferred;    /* version is the group's preferred version */
};

/* "/api/v1" or "/apis/GROUP/VERSION" */
char *kube_group_version_path(const char *group, const char *version);
/* Collection or object path: ns NULL = all namespaces / cluster-scoped; name NULL =
 * collection.  Names and namespaces are percent-encoded. */
char *kube_resource_path(const struct kube_resource *r, const char *ns, const char *name);
/* Append "?k=v&…" / "&k=v" with percent-encoding of v. */
void kube_query_add(struct kbuf *path, const char *key, const char *value);
/* "apps/v1" or "v1" */
char *kube_api_version(const struct kube_resource *r);
/* "deployments.apps" or "configmaps" (Velero's directory naming) */
char *kube_group_resource(const struct kube_resource *r);

/* Append `s` percent-encoded: everything but the RFC 3986 unreserved characters
 * (A-Z a-z 0-9 - . _ ~) becomes %XX, so it is safe in a path segment and in a query
 * value alike ('/', '+', ' ', '&', '=' and UTF-8 bytes included). */
void kube_pct_encode(struct kbuf *b, const char *s);
/* Deep copy / release of the owned strings (the struct itself is not freed). */
void kube_resource_copy(struct kube_resource *dst, const struct kube_resource *src);
void kube_resource_clear(struct kube_resource *r);
/* Parse "verbs" names ("get", "list", …) into enum kube_verb bits; unknown ignored. */
unsigned kube_verb_from_string(const char *verb);

#endif

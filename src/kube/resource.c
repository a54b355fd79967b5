/* kahu — resource types and request paths. */
#include "kube/resource.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

void kube_pct_encode(struct kbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	if (!s)
		return;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (is_unreserved(*p)) {
			kbuf_addc(b, (char)*p);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			kbuf_add(b, e, 3);
		}
	}
}

static int is_core(const char *group)
{
	return !group || !*group;
}

char *kube_group_version_path(const char *group, const char *version)
{
	if (is_core(group))
		return xasprintf("/api/%s", version);
	return xasprintf("/apis/%s/%s", group, version);
}

char *kube_resource_path(const struct kube_resource *r, const char *ns, const char *name)
{
	struct kbuf b = KBUF_INIT;
	char *gv = kube_group_version_path(r->group, r->version);

	kbuf_adds(&b, gv);
	free(gv);
	/* A namespace only narrows namespaced types; for cluster-scoped types (and
	 * "all namespaces") the collection sits right under the group/version. */
	if (ns && *ns && r->namespaced) {
		kbuf_adds(&b, "/namespaces/");
		kube_pct_encode(&b, ns);
	}
	kbuf_addc(&b, '/');
	kbuf_adds(&b, r->resource);
	if (name) {
		kbuf_addc(&b, '/');
		kube_pct_encode(&b, name);
	}
	return kbuf_detach(&b);
}

void kube_query_add(struct kbuf *path, const char *key, const char *value)
{
	kbuf_addc(path, path->data && strchr(path->data, '?') ? '&' : '?');
	kube_pct_encode(path, key);
	kbuf_addc(path, '=');
	kube_pct_encode(path, value ? value : "");
}

char *kube_api_version(const struct kube_resource *r)
{
	if (is_core(r->group))
		return xstrdup(r->version);
	return xasprintf("%s/%s", r->group, r->version);
}

char *kube_group_resource(const struct kube_resource *r)
{
	if (is_core(r->group))
		return xstrdup(r->resource);
	return xasprintf("%s.%s", r->resource, r->group);
}

static void strv_copy(struct strv *dst, const struct strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		strv_push(dst, src->v[i]);
}

void kube_resource_copy(struct kube_resource *dst, const struct kube_resource *src)
{
	memset(dst, 0, sizeof *dst);
	dst->group = xstrdup(src->group ? src->group : "");
	dst->version = xstrdup(src->version);
	dst->resource = xstrdup(src->resource);
	dst->kind = xstrdup(src->kind);
	dst->singular = xstrdup(src->singular);
	dst->namespaced = src->namespaced;
	dst->verbs = src->verbs;
	strv_copy(&dst->short_names, &src->short_names);
	strv_copy(&dst->categories, &src->categories);
	dst->preferred = src->preferred;
}

void kube_resource_clear(struct kube_resource *r)
{
	if (!r)
		return;
	free(r->group);
	free(r->version);
	free(r->resource);
	free(r->kind);
	free(r->singular);
	strv_free(&r->short_names);
	strv_free(&r->categories);
	memset(r, 0, sizeof *r);
}

unsigned kube_verb_from_string(const char *verb)
{
	static const struct { const char *name; unsigned bit; } verbs[] = {
		{ "get", KUBE_VERB_GET },
		{ "list", KUBE_VERB_LIST },
		{ "watch", KUBE_VERB_WATCH },
		{ "create", KUBE_VERB_CREATE },
		{ "update", KUBE_VERB_UPDATE },
		{ "patch", KUBE_VERB_PATCH },
		{ "delete", KUBE_VERB_DELETE },
		{ "deletecollection", KUBE_VERB_DELETECOLLECTION },
	};

	if (!verb)
		return 0;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verb, verbs[i].name) == 0)
			return verbs[i].bit;
	return 0;
}

/* kahu — paged LIST.
 *
 * One page is held at a time: its body is parsed with jansson, the body buffer is freed
 * at once, the items are handed out one by one and the parsed page is freed before the
 * next request, so memory stays flat however long the list is.
 *
 * The first request carries no resourceVersion, so the server lists from one
 * consistent snapshot and every continue token refers to it.  When that snapshot has
 * been compacted away (410 Gone, reason Expired), client-go's pager does one of two
 * things, and so do we (and say so in stats->inconsistent):
 *  - the Status carries an "inconsistent continue" token in metadata.continue: go on
 *    with it; the rest of the list comes from a newer snapshot;
 *  - no token: list again, unpaged (limit=0), once.  That list starts from the
 *    beginning, so the items already handed out are skipped (see below). */
#include "kube/pager.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kube/client.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#define DEFAULT_PAGE_SIZE 500
/* A server whose inconsistent tokens keep expiring would otherwise keep us busy. */
#define MAX_EXPIRIES 10

void kube_list_stats_clear(struct kube_list_stats *s)
{
	if (!s)
		return;
	free(s->resource_version);
	memset(s, 0, sizeof *s);
}

/* "namespace/name" (or "name"): the order in which the API server lists, since it
 * walks its storage keys (…/<resource>/<namespace>/<name>) in byte order. */
static char *item_key(json_t *item)
{
	json_t *meta = json_object_get(item, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (!name)
		return NULL;
	return ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

static char *build_path(const char *base, const struct kube_list_opts *o, long limit,
			const char *cont)
{
	struct kbuf b = KBUF_INIT;
	char num[32];

	kbuf_adds(&b, base);
	if (o && o->label_selector && *o->label_selector)
		kube_query_add(&b, "labelSelector", o->label_selector);
	if (o && o->field_selector && *o->field_selector)
		kube_query_add(&b, "fieldSelector", o->field_selector);
	if (limit > 0) {
		snprintf(num, sizeof num, "%ld", limit);
		kube_query_add(&b, "limit", num);
	}
	if (cont && *cont)
		kube_query_add(&b, "continue", cont);
	return kbuf_detach(&b);
}

/* The item kind from the list kind: "ConfigMapList" → "ConfigMap". */
static char *item_kind(json_t *root, const struct kube_resource *r)
{
	const char *lk = json_string_value(json_object_get(root, "kind"));
	size_t n = lk ? strlen(lk) : 0;
	if (n > 4 && strcmp(lk + n - 4, "List") == 0)
		return xstrndup(lk, n - 4);
	return xstrdup(r->kind && *r->kind ? r->kind : "");
}

/* Is this a 410 Expired with, maybe, an inconsistent continue token?  Returns 1 and
 * sets *token (NULL when none is offered), or 0 when it is another error. */
static int expired(const struct kube_response *resp, char **token)
{
	*token = NULL;
	if (resp->status != 410)
		return 0;
	json_t *root = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
	const char *reason = json_string_value(json_object_get(root, "reason"));
	const char *cont = json_string_value(
		json_object_get(json_object_get(root, "metadata"), "continue"));
	/* A 410 without a Status body is treated as Expired too: a LIST with a continue
	 * token has no other reason to be Gone. */
	int is_expired = !reason || strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0;
	if (is_expired && cont && *cont)
		*token = xstrdup(cont);
	json_decref(root);
	return is_expired;
}

int kube_list(struct kube_client *c, const struct kube_resource *r,
	      const struct kube_list_opts *o, kube_item_fn fn, void *ud,
	      struct kube_list_stats *stats)
{
	struct kube_list_stats local = { 0 };
	struct kube_response resp = { 0 };
	char *base = kube_resource_path(r, o ? o->namespace : NULL, NULL);
	char *api_version = kube_api_version(r);
	char *type = kube_group_resource(r);
	char *cont = NULL;
	char *last_key = NULL;   /* of the last item handed out */
	char *skip_upto = NULL;  /* after a restart: skip items with keys <= this */
	long limit = o && o->page_size > 0 ? o->page_size : DEFAULT_PAGE_SIZE;
	int restarted = 0;
	int expiries = 0;
	int rc = 0;

	if (!stats)
		stats = &local;
	kube_list_stats_clear(stats);

	for (;;) {
		char *path = build_path(base, o, restarted ? 0 : limit, cont);
		rc = kube_request(c, "GET", path, "application/json", NULL, NULL, 0, 0, &resp);
		free(path);
		if (rc < 0) {
			char *token = NULL;
			/* Only a list that already handed out pages can expire mid-way; on
			 * the first page a 410 is a real error. */
			if (rc == KAHU_EDATA && cont && expiries < MAX_EXPIRIES &&
			    expired(&resp, &token)) {
				expiries++;
				if (token) {
					log_warn("listing %s: the continue token expired; going on "
						 "with the server's inconsistent continue token, so "
						 "the list spans several snapshots", type);
					free(cont);
					cont = token;
					stats->inconsistent = 1;
					continue;
				}
				if (!restarted) {
					log_warn("listing %s: the continue token expired and the "
						 "server offered none; listing again without paging, "
						 "skipping the %ld items already read", type,
						 stats->items);
					restarted = 1;
					stats->inconsistent = 1;
					free(cont);
					cont = NULL;
					/* Items come in key order, in the new list as in the
					 * old: every key up to the last one handed out was
					 * handed out already (or, if created since, sorts
					 * before a key we saw and is lost to this backup like
					 * any object created during a paged list).  Skipping
					 * keys <= last_key hands out each object once. */
					free(skip_upto);
					skip_upto = last_key ? xstrdup(last_key) : NULL;
					continue;
				}
			}
			kahu_error_wrap(rc, "listing %s", type);
			goto out;
		}

		json_error_t jerr;
		json_t *root = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0,
					  &jerr);
		kube_response_clear(&resp); /* the parsed page is all we keep */
		if (!root) {
			rc = kahu_error_set(KAHU_EPROTO, "listing %s: invalid JSON in page %ld: %s",
					    type, stats->pages + 1, jerr.text);
			goto out;
		}
		json_t *meta = json_object_get(root, "metadata");
		if (!stats->resource_version) {
			const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
			stats->resource_version = xstrdup(rv);
		}
		char *kind = item_kind(root, r);
		json_t *items = json_object_get(root, "items");
		size_t i;
		json_t *item;

		stats->pages++;
		json_array_foreach(items, i, item) {
			if (!json_is_object(item))
				continue;
			char *key = item_key(item);
			if (skip_upto && key && strcmp(key, skip_upto) <= 0) {
				free(key);
				continue;
			}
			if (!json_string_value(json_object_get(item, "apiVersion")))
				json_object_set_new(item, "apiVersion", json_string(api_version));
			if (!json_string_value(json_object_get(item, "kind")))
				json_object_set_new(item, "kind", json_string(kind));
			stats->items++;
			rc = fn(ud, item);
			if (key) {
				free(last_key);
				last_key = key;
			}
			if (rc < 0)
				break;
		}
		const char *next = json_string_value(json_object_get(meta, "continue"));
		free(cont);
		cont = next && *next && !restarted ? xstrdup(next) : NULL;
		free(kind);
		json_decref(root);
		if (rc < 0 || !cont)
			break;
	}
	if (rc == 0)
		log_debug("listed %ld %s in %ld page%s%s", stats->items, type, stats->pages,
			  stats->pages == 1 ? "" : "s", stats->inconsistent ? " (inconsistent)" : "");
out:
	kube_response_clear(&resp);
	free(base);
	free(api_version);
	free(type);
	free(cont);
	free(last_key);
	free(skip_upto);
	kube_list_stats_clear(&local);
	return rc;
}

/* kahu — paged LIST.
 *
 * Two pages are held at most: while the items of one are handed out one by one, the
 * next is requested and parsed on a second thread (its body buffer freed once parsed),
 * and each page is freed once handed out, so memory stays flat however long the list
 * is, and the caller's work overlaps the network and jansson.
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

#include <pthread.h>
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

/* One page: requested and parsed, on the caller's thread or on a prefetch thread. */
struct page {
	struct kube_client *c;
	char *path;
	int rc;                    /* kube_request's */
	struct kube_response resp; /* kept when rc < 0 (a 410's Status body) */
	json_t *root;              /* the parsed page when rc == 0 (NULL: not JSON) */
	char jerr[JSON_ERROR_TEXT_LENGTH];
	char *msg;                 /* the error message of the thread that fetched it */
};

static void page_fetch(struct page *p)
{
	p->rc = kube_request(p->c, "GET", p->path, "application/json", NULL, NULL, 0, 0, &p->resp);
	if (p->rc < 0) {
		p->msg = xstrdup(kahu_error_last());
		return;
	}
	json_error_t jerr;
	/* A string may hold "\u0000" (a ConfigMap's data may): one such object must not
	 * make the page unreadable.  Consumers compare name lengths. */
	p->root = json_loadb(p->resp.body.data ? p->resp.body.data : "", p->resp.body.len,
			     JSON_ALLOW_NUL, &jerr);
	if (!p->root)
		snprintf(p->jerr, sizeof p->jerr, "%s", jerr.text);
	kube_response_clear(&p->resp); /* the parsed page is all we keep */
}

static void *page_thread(void *arg)
{
	page_fetch(arg);
	return NULL;
}

static void page_start(struct page *p, struct kube_client *c, char *path)
{
	memset(p, 0, sizeof *p);
	p->c = c;
	p->path = path;
}

static void page_clear(struct page *p)
{
	free(p->path);
	kube_response_clear(&p->resp);
	json_decref(p->root);
	free(p->msg);
	memset(p, 0, sizeof *p);
}

int kube_list(struct kube_client *c, const struct kube_resource *r,
	      const struct kube_list_opts *o, kube_item_fn fn, void *ud,
	      struct kube_list_stats *stats)
{
	struct kube_list_stats local = { 0 };
	struct page cur, next;
	pthread_t th;
	int prefetching = 0;
	char *base = kube_resource_path(r, o ? o->namespace : NULL, NULL);
	char *api_version = kube_api_version(r);
	char *type = kube_group_resource(r);
	char *cont = NULL;       /* the token the current page was asked with */
	char *last_key = NULL;   /* of the last item handed out */
	char *skip_upto = NULL;  /* after a restart: skip items with keys <= this */
	long limit = o && o->page_size > 0 ? o->page_size : DEFAULT_PAGE_SIZE;
	int restarted = 0;
	int expiries = 0;
	int rc = 0;

	if (!stats)
		stats = &local;
	kube_list_stats_clear(stats);
	memset(&next, 0, sizeof next);

	page_start(&cur, c, build_path(base, o, limit, NULL));
	page_fetch(&cur);
	for (;;) {
		if (cur.rc < 0) {
			char *token = NULL;
			rc = kahu_error_set(cur.rc, "%s", cur.msg ? cur.msg : "");
			/* Only a list that already handed out pages can expire mid-way; on
			 * the first page a 410 is a real error. */
			if (rc == KAHU_EDATA && cont && expiries < MAX_EXPIRIES &&
			    expired(&cur.resp, &token)) {
				expiries++;
				if (token) {
					log_warn("listing %s: the continue token expired; going on "
						 "with the server's inconsistent continue token, so "
						 "the list spans several snapshots", type);
					free(cont);
					cont = token;
					stats->inconsistent = 1;
					page_clear(&cur);
					page_start(&cur, c, build_path(base, o, limit, cont));
					page_fetch(&cur);
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
					page_clear(&cur);
					page_start(&cur, c, build_path(base, o, 0, NULL));
					page_fetch(&cur);
					continue;
				}
			}
			kahu_error_wrap(rc, "listing %s", type);
			goto out;
		}

		json_t *root = cur.root;
		if (!root) {
			rc = kahu_error_set(KAHU_EPROTO, "listing %s: invalid JSON in page %ld: %s",
					    type, stats->pages + 1, cur.jerr);
			goto out;
		}
		json_t *meta = json_object_get(root, "metadata");
		if (!stats->resource_version) {
			const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
			stats->resource_version = xstrdup(rv);
		}
		const char *nx = json_string_value(json_object_get(meta, "continue"));
		char *next_cont = nx && *nx && !restarted ? xstrdup(nx) : NULL;
		/* The next page is requested and parsed while this one's items are handed
		 * out: two pages at most are held, and the caller's work on one overlaps
		 * the network and the parsing of the other. */
		if (next_cont) {
			page_start(&next, c, build_path(base, o, limit, next_cont));
			prefetching = pthread_create(&th, NULL, page_thread, &next) == 0;
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
		free(kind);
		page_clear(&cur);
		free(cont);
		cont = next_cont;
		if (prefetching) {
			pthread_join(th, NULL);
			prefetching = 0;
		} else if (cont && rc == 0) {
			page_fetch(&next);
		}
		if (rc < 0 || !cont)
			break;
		cur = next;
		memset(&next, 0, sizeof next);
	}
	if (rc == 0)
		log_debug("listed %ld %s in %ld page%s%s", stats->items, type, stats->pages,
			  stats->pages == 1 ? "" : "s", stats->inconsistent ? " (inconsistent)" : "");
out:
	page_clear(&cur);
	page_clear(&next);
	free(base);
	free(api_version);
	free(type);
	free(cont);
	free(last_key);
	free(skip_upto);
	kube_list_stats_clear(&local);
	return rc;
}

/* kahu — paged LIST, streamed.
 *
 * Two threads per list.  A reader thread runs the requests, page after page, each
 * with kube_request_stream: the body's pieces go to the item scanner (listscan.c) as
 * they arrive; of each complete item only what naming it needs is read (objtext.c:
 * one walk over its bytes, metadata's few members decoded, never the item or the page
 * parsed whole), and its text, completed with apiVersion and kind, is put in a
 * bounded queue.  The caller's thread
 * takes all queued items at once and runs the callback on each.  So the network, the
 * scanning and the parsing of what comes next overlap the caller's work on what came
 * before (as the prefetch of the next page used to), and memory is twice the queue's
 * bound (QUEUE_ITEMS items, QUEUE_BYTES of item text: a batch being handed out, the
 * queue refilling; two pages of 500 were held before) plus the largest single item
 * (at most max_item, 64 MiB by default), whatever the size of a page.  When the queue
 * is full the reader waits, and so does the transfer (TCP flow control holds the
 * server).
 *
 * The first request carries no resourceVersion, so the server lists from one
 * consistent snapshot and every continue token refers to it.  When that snapshot has
 * been compacted away (410 Gone, reason Expired), client-go's pager does one of two
 * things, and so do we (and say so in stats->inconsistent):
 *  - the Status carries an "inconsistent continue" token in metadata.continue: go on
 *    with it; the rest of the list comes from a newer snapshot;
 *  - no token: list again, unpaged (limit=0), once.  That list starts from the
 *    beginning, so the items already handed out are skipped (see below).
 *
 * A transfer that breaks after some of its page's items were handed on is tried again
 * by the client (same URL, same continue token), and the page is read again from its
 * start.  The items handed on already are skipped by key, not by count.  A continue
 * token cannot be made to start after a given item: tokens are the server's opaque
 * encoding (kube-apiserver's, an aggregated server's own), so asking again for the same
 * page is the only request we can make.  Counting would be wrong for a first page,
 * which has no token and so comes from a new snapshot in which objects may have come or
 * gone before the break; keys are stable.  The API server lists in key order (it walks
 * its storage keys, .../<namespace>/<name>, in byte order), so every item whose
 * "namespace/name" is <= the last one handed on was handed on already, or was created
 * since behind the list's position and is missed as by any paged list; nothing is
 * repeated and nothing read is lost.  Whether a server lists in key order is checked as
 * items come: one that does not cannot be resumed this way, and the list fails rather
 * than repeat or lose items.  The unpaged restart after a 410 skips the same way. */
#include "kube/pager.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kube/client.h"
#include "kube/listscan.h"
#include "kube/objtext.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"

#define DEFAULT_PAGE_SIZE 500
#define DEFAULT_MAX_ITEM ((size_t)64 * 1024 * 1024)
/* A server whose inconsistent tokens keep expiring would otherwise keep us busy. */
#define MAX_EXPIRIES 10
/* The queue between the reader and the caller. */
#define QUEUE_ITEMS 1024
#define QUEUE_BYTES ((size_t)512 * 1024)

void kube_list_stats_clear(struct kube_list_stats *s)
{
	if (!s)
		return;
	free(s->resource_version);
	memset(s, 0, sizeof *s);
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

/* ---- continue tokens seen: a server returning one again would list forever ------- */

struct tokens {
	uint64_t *hash;  /* open addressing; 0 = empty */
	long *page;      /* the page whose response carried it */
	size_t cap, n;
};

static uint64_t token_hash(const char *t)
{
	uint64_t h = kahu_fnv1a64_str(t);
	return h ? h : 1;
}

/* Records the token; returns the page that carried it before, or 0. */
static long tokens_add(struct tokens *ts, const char *t, long page)
{
	uint64_t h = token_hash(t);
	if (2 * (ts->n + 1) > ts->cap) {
		struct tokens bigger = { 0 };
		bigger.cap = ts->cap ? 2 * ts->cap : 64;
		bigger.hash = xcalloc(bigger.cap, sizeof *bigger.hash);
		bigger.page = xcalloc(bigger.cap, sizeof *bigger.page);
		for (size_t i = 0; i < ts->cap; i++) {
			if (!ts->hash[i])
				continue;
			size_t j = ts->hash[i] & (bigger.cap - 1);
			while (bigger.hash[j])
				j = (j + 1) & (bigger.cap - 1);
			bigger.hash[j] = ts->hash[i];
			bigger.page[j] = ts->page[i];
		}
		bigger.n = ts->n;
		free(ts->hash);
		free(ts->page);
		*ts = bigger;
	}
	size_t j = h & (ts->cap - 1);
	for (; ts->hash[j]; j = (j + 1) & (ts->cap - 1))
		if (ts->hash[j] == h)
			return ts->page[j];
	ts->hash[j] = h;
	ts->page[j] = page;
	ts->n++;
	return 0;
}

static void tokens_free(struct tokens *ts)
{
	free(ts->hash);
	free(ts->page);
	memset(ts, 0, sizeof *ts);
}

/* ---- the lister: the reader thread's state and the queue ------------------------- */

struct slot {
	char *text;
	size_t len;
	json_t *summary;
};

static void slot_free(struct slot *s)
{
	free(s->text);
	json_decref(s->summary);
}

struct lister {
	struct kube_client *c;
	struct kahu_log_scope *log_scope;  /* the starting thread's (util/log.h) */
	const struct kube_resource *r;
	const struct kube_list_opts *o;
	char *base;
	char *api_version;
	char *type;           /* "deployments.apps", for messages */
	long limit;

	/* the queue */
	pthread_mutex_t lock;
	pthread_cond_t can_put, can_take;
	struct slot ring[QUEUE_ITEMS];
	size_t head, n, bytes;
	int put_waiting, take_waiting;
	int done;             /* the reader has finished… */
	int rc;               /* …with this */
	char *msg;            /* …and this message */
	atomic_int stop;      /* the caller stopped: the reader gives up */

	/* the reader's */
	struct listscan *scan;
	long pages;           /* complete pages */
	long page_items;      /* items of the current page handed on (over its tries) */
	long skipped;
	char *kind;           /* the items' kind, once known for the page */
	char *ins_api_version; /* "\"apiVersion\":\"…\"", inserted where items lack it */
	char *ins_kind;        /* "\"kind\":\"…\"", once the kind is known */
	struct kbuf ins;      /* scratch: what is inserted into an item */
	struct kbuf key;      /* scratch */
	struct kbuf last_key; /* of the last item handed on */
	int ordered;          /* keys so far came in increasing order */
	char *skip_upto;      /* skip items with keys <= this (resuming) */
	int inconsistent;
	int rv_seen;
	char *resource_version;
	struct tokens tokens;
};

/* Hands one item to the queue (reader thread); waits while it is full.  Takes the
 * slot's text and summary. */
static int queue_put(struct lister *l, struct slot *item)
{
	size_t bytes = item->len;
	pthread_mutex_lock(&l->lock);
	while (!l->stop && (l->n == QUEUE_ITEMS || (l->n > 0 && l->bytes + bytes > QUEUE_BYTES))) {
		/* The caller may be waiting for the items queued since the last piece's
		 * flush: wake it before waiting for room, or both would wait for ever (a
		 * large item and the next one ending in the same piece of the body). */
		if (l->take_waiting)
			pthread_cond_signal(&l->can_take);
		l->put_waiting = 1;
		pthread_cond_wait(&l->can_put, &l->lock);
		l->put_waiting = 0;
	}
	if (l->stop) {
		pthread_mutex_unlock(&l->lock);
		slot_free(item);
		return kahu_error_set(KAHU_EINTR, "the list was stopped");
	}
	l->ring[(l->head + l->n) % QUEUE_ITEMS] = *item;
	l->n++;
	l->bytes += bytes;
	/* Wake the caller at once when the queue is half full; otherwise once per piece
	 * of the body (queue_flush), not once per item. */
	if (l->take_waiting && l->n >= QUEUE_ITEMS / 2)
		pthread_cond_signal(&l->can_take);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static void queue_flush(struct lister *l)
{
	pthread_mutex_lock(&l->lock);
	if (l->take_waiting && l->n)
		pthread_cond_signal(&l->can_take);
	pthread_mutex_unlock(&l->lock);
}

/* Takes every queued item (caller thread); waits for one.  Returns how many; 0 when
 * the reader is done and the queue empty. */
static size_t queue_take(struct lister *l, struct slot *out)
{
	size_t k = 0;
	pthread_mutex_lock(&l->lock);
	while (!l->n && !l->done) {
		l->take_waiting = 1;
		pthread_cond_wait(&l->can_take, &l->lock);
		l->take_waiting = 0;
	}
	for (; l->n; k++) {
		out[k] = l->ring[l->head];
		l->head = (l->head + 1) % QUEUE_ITEMS;
		l->n--;
		l->bytes -= out[k].len;
	}
	if (l->put_waiting)
		pthread_cond_signal(&l->can_put);
	pthread_mutex_unlock(&l->lock);
	return k;
}

/* ---- the reader --------------------------------------------------------------------- */

/* "\"key\":\"value\"" in JSON, the value escaped as JSON needs. */
static char *member_text(const char *key, const char *value)
{
	json_t *s = json_stringn(value, strlen(value));
	char *v = s ? json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	char *m = xasprintf("\"%s\":%s", key, v ? v : "\"\"");
	free(v);
	json_decref(s);
	return m;
}

/* The item kind from the list kind, "ConfigMapList" → "ConfigMap", when the list said
 * it before its items (kube-apiserver always does); otherwise discovery's. */
static void learn_kind(struct lister *l)
{
	size_t len;
	const char *text = listscan_top(l->scan, LISTSCAN_KIND, &len);
	json_t *k = text ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;
	const char *lk = json_string_value(k);
	size_t n = lk ? strlen(lk) : 0;
	if (n > 4 && strcmp(lk + n - 4, "List") == 0)
		l->kind = xstrndup(lk, n - 4);
	else
		l->kind = xstrdup(l->r->kind && *l->r->kind ? l->r->kind : "");
	json_decref(k);
	free(l->ins_kind);
	l->ins_kind = member_text("kind", l->kind);
}

/* An item whose apiVersion or kind is there but not a string: parsed and written
 * again with the strings set (as when every item was parsed). */
static int rewrite_item(struct lister *l, const char *json, size_t len, long page, size_t index,
			struct slot *out)
{
	json_error_t jerr;
	json_t *item = json_loadb(json, len, JSON_ALLOW_NUL, &jerr);
	if (!item) {
		/* jansson's text may quote the item ("… near '…'"), which may be a Secret */
		char *near = strstr(jerr.text, " near ");
		if (near)
			*near = '\0';
		return kahu_error_set(KAHU_EPROTO, "page %ld: item %zu cannot be read: %s (at its "
				      "byte %d)", page, index + 1, jerr.text, jerr.position);
	}
	if (!json_string_value(json_object_get(item, "apiVersion")))
		json_object_set_new(item, "apiVersion", json_string(l->api_version));
	if (!json_string_value(json_object_get(item, "kind")))
		json_object_set_new(item, "kind", json_string(l->kind));
	out->text = json_dumps(item, JSON_COMPACT);
	json_decref(item);
	if (!out->text)
		return kahu_error_set(KAHU_ENOMEM, "page %ld: item %zu cannot be written", page,
				      index + 1);
	out->len = strlen(out->text);
	return 0;
}

static int on_item(void *ud, const char *json, size_t len, size_t index)
{
	struct lister *l = ud;
	long page = l->pages + 1;
	struct objtext ot;
	struct slot item = { 0 };
	int rc;

	/* (The scanner checked the syntax: what can fail here is what jansson refuses, a
	 * number out of range or a NUL in a key, as when each item was parsed whole.) */
	if ((rc = objtext_scan(json, len, &ot)) < 0)
		return kahu_error_wrap(rc, "page %ld: item %zu cannot be read", page, index + 1);
	json_t *meta = json_object_get(ot.summary, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	/* An object without a name, or of a namespaced type without a namespace, is handed
	 * on as it is: the consumer fails that one object with the reason (the others of
	 * its type are good).  It has no place in the key order, so it takes no part in
	 * resuming a broken page. */
	if (!name || !*name || (l->r->namespaced && (!ns || !*ns)))
		goto hand_on;
	kbuf_reset(&l->key);
	if (ns && *ns) {
		kbuf_adds(&l->key, ns);
		kbuf_addc(&l->key, '/');
	}
	kbuf_adds(&l->key, name);
	if (l->skip_upto) {
		if (strcmp(l->key.data, l->skip_upto) <= 0) {
			l->skipped++;
			objtext_clear(&ot);
			return 0;
		}
		free(l->skip_upto);
		l->skip_upto = NULL;
	}
	if (l->last_key.len && strcmp(l->key.data, l->last_key.data) <= 0)
		l->ordered = 0;
	/* this key is the last one now; the other buffer is the next one's scratch */
	struct kbuf prev = l->last_key;
	l->last_key = l->key;
	l->key = prev;

hand_on:
	if (!l->kind)
		learn_kind(l);
	if ((ot.has_api_version && !ot.api_version_string) || (ot.has_kind && !ot.kind_string)) {
		rc = rewrite_item(l, json, len, page, index, &item);
		if (rc < 0) {
			objtext_clear(&ot);
			return rc;
		}
	} else {
		kbuf_reset(&l->ins);
		if (!ot.has_api_version)
			kbuf_adds(&l->ins, l->ins_api_version);
		if (!ot.has_kind) {
			if (l->ins.len)
				kbuf_addc(&l->ins, ',');
			kbuf_adds(&l->ins, l->ins_kind);
		}
		item.text = objtext_store(json, len, l->ins.data, l->ins.len, ot.compact, &item.len);
	}
	item.summary = ot.summary;
	ot.summary = NULL;
	l->page_items++;
	return queue_put(l, &item);
}

/* Skipping by key needs the server's key order; see the top of this file. */
static int resume_from_last(struct lister *l, const char *why)
{
	if (!l->ordered)
		return kahu_error_set(KAHU_EPROTO, "%s, and the server does not list in key order "
				      "(namespace/name), so the rest cannot be read without "
				      "repeating or losing items", why);
	free(l->skip_upto);
	l->skip_upto = l->last_key.len ? xstrdup(l->last_key.data) : NULL;
	return 0;
}

static int on_begin(void *ud, int attempt)
{
	struct lister *l = ud;
	if (atomic_load(&l->stop))
		return kahu_error_set(KAHU_EINTR, "the list was stopped");
	listscan_reset(l->scan);
	free(l->kind);
	l->kind = NULL;
	if (attempt > 1 && l->page_items > 0) {
		char why[128];
		snprintf(why, sizeof why, "page %ld broke off after %ld items", l->pages + 1,
			 l->page_items);
		int rc = resume_from_last(l, why);
		if (rc < 0)
			return rc;
		log_info("listing %s: %s; reading it again, skipping those", l->type, why);
	}
	return 0;
}

static int on_cancelled(void *ud)
{
	struct lister *l = ud;
	return atomic_load(&l->stop);
}

static int on_data(void *ud, const char *p, size_t n)
{
	struct lister *l = ud;
	int rc = listscan_feed(l->scan, p, n);
	if (rc < 0 && listscan_error_kind(l->scan) != LISTSCAN_ECALLBACK)
		kahu_error_wrap(rc, "page %ld", l->pages + 1);
	queue_flush(l);
	return rc;
}

/* A page's body has been read: is it a list?  Sets *next to its continue token. */
static int page_done(struct lister *l, char **next)
{
	long page = l->pages + 1;
	size_t klen, mlen;
	const char *ktext = listscan_top(l->scan, LISTSCAN_KIND, &klen);
	const char *mtext = listscan_top(l->scan, LISTSCAN_METADATA, &mlen);
	json_t *kind = ktext ? json_loadb(ktext, klen, JSON_DECODE_ANY, NULL) : NULL;
	json_t *meta = mtext ? json_loadb(mtext, mlen, JSON_DECODE_ANY, NULL) : NULL;
	const char *k = json_string_value(kind);
	int rc = 0;

	*next = NULL;
	if ((rc = listscan_finish(l->scan)) < 0) {
		kahu_error_wrap(rc, "page %ld", page);
		goto out;
	}
	if (ktext && !k) {
		rc = kahu_error_set(KAHU_EPROTO, "page %ld: the list's \"kind\" is not a string", page);
		goto out;
	}
	if (mtext && !json_is_object(meta) && !json_is_null(meta)) {
		rc = kahu_error_set(KAHU_EPROTO, "page %ld: the list's \"metadata\" is not an object",
				    page);
		goto out;
	}
	if (listscan_items_form(l->scan) != LISTSCAN_ITEMS_ARRAY) {
		/* An empty list only when the rest says it is a list: not any object (a
		 * Status, say) that happens to come with a 200. */
		size_t n = k ? strlen(k) : 0;
		int list_kind = n > 4 && strcmp(k + n - 4, "List") == 0;
		if (!list_kind || !json_is_object(meta)) {
			rc = kahu_error_set(KAHU_EPROTO, "page %ld: the response is not a list: "
					    "\"items\" is %s and %s%s%.64s%s", page,
					    listscan_items_form(l->scan) == LISTSCAN_ITEMS_NULL
						    ? "null" : "missing",
					    !k ? "there is no \"kind\""
					    : !list_kind ? "the kind is not a list's"
							 : "there is no \"metadata\"",
					    k ? " (kind " : "", k ? k : "", k ? ")" : "");
			goto out;
		}
	}
	if (!l->rv_seen) {
		l->rv_seen = 1;
		l->resource_version = xstrdup(json_string_value(json_object_get(meta, "resourceVersion")));
	}
	const char *nx = json_string_value(json_object_get(meta, "continue"));
	if (nx && *nx)
		*next = xstrdup(nx);
out:
	json_decref(kind);
	json_decref(meta);
	return rc;
}

static int read_pages(struct lister *l)
{
	struct kube_stream stream = { on_begin, on_data, on_cancelled, l };
	char *cont = NULL;   /* the token the current page was asked with */
	char *path = build_path(l->base, l->o, l->limit, NULL);
	int restarted = 0, expiries = 0, rc = 0;

	for (;;) {
		struct kube_response resp = { 0 };
		char *next = NULL;

		l->page_items = 0;
		rc = kube_request_stream(l->c, path, "application/json", 0, &stream, &resp);
		if (rc == 0)
			rc = page_done(l, &next);
		if (rc < 0) {
			char *token = NULL;
			if (atomic_load(&l->stop)) {
				kube_response_clear(&resp);
				break;
			}
			/* Only a list that already handed out pages can expire mid-way; on
			 * the first page a 410 is a real error. */
			if (rc == KAHU_EDATA && cont && expiries < MAX_EXPIRIES &&
			    expired(&resp, &token)) {
				expiries++;
				l->inconsistent = 1;
				if (token) {
					log_warn("listing %s: the continue token expired; going on "
						 "with the server's inconsistent continue token, so "
						 "the list spans several snapshots", l->type);
					kube_response_clear(&resp);
					free(cont);
					cont = token;
					free(path);
					path = build_path(l->base, l->o, l->limit, cont);
					continue;
				}
				if (!restarted) {
					log_warn("listing %s: the continue token expired and the "
						 "server offered none; listing again without paging, "
						 "skipping the items already read", l->type);
					kube_response_clear(&resp);
					restarted = 1;
					free(cont);
					cont = NULL;
					free(path);
					path = build_path(l->base, l->o, 0, NULL);
					/* Items come in key order, in the new list as in the
					 * old: see the top of this file. */
					if ((rc = resume_from_last(l, "the list had to start again")) < 0) {
						kahu_error_wrap(rc, "listing %s", l->type);
						break;
					}
					continue;
				}
			}
			kube_response_clear(&resp);
			kahu_error_wrap(rc, "listing %s", l->type);
			break;
		}
		kube_response_clear(&resp);
		l->pages++;
		if (restarted || !next) {
			free(next);
			break;
		}
		long before = tokens_add(&l->tokens, next, l->pages);
		if (before) {
			free(next);
			rc = kahu_error_set(KAHU_EPROTO, "listing %s: page %ld has the continue token "
					    "of page %ld again: the list would never end", l->type,
					    l->pages, before);
			break;
		}
		free(cont);
		cont = next;
		free(path);
		path = build_path(l->base, l->o, l->limit, cont);
	}
	free(path);
	free(cont);
	return rc;
}

static void *reader(void *arg)
{
	struct lister *l = arg;
	kahu_log_scope_enter(l->log_scope);
	int rc = read_pages(l);
	pthread_mutex_lock(&l->lock);
	l->rc = rc;
	if (rc < 0)
		l->msg = xstrdup(kahu_error_last());
	l->done = 1;
	pthread_cond_signal(&l->can_take);
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

int kube_list_text(struct kube_client *c, const struct kube_resource *r,
		   const struct kube_list_opts *o, kube_item_text_fn fn, void *ud,
		   struct kube_list_stats *stats)
{
	struct kube_list_stats local = { 0 };
	struct lister *l = xcalloc(1, sizeof *l);
	struct slot *batch = xcalloc(QUEUE_ITEMS, sizeof *batch);
	pthread_t th;
	int rc = 0;

	if (!stats)
		stats = &local;
	kube_list_stats_clear(stats);
	l->c = c;
	l->r = r;
	l->o = o;
	l->base = kube_resource_path(r, o ? o->namespace : NULL, NULL);
	l->api_version = kube_api_version(r);
	l->ins_api_version = member_text("apiVersion", l->api_version);
	l->type = kube_group_resource(r);
	l->limit = o && o->page_size > 0 ? o->page_size : DEFAULT_PAGE_SIZE;
	l->ordered = 1;
	l->scan = listscan_new(o && o->max_item ? o->max_item : DEFAULT_MAX_ITEM, on_item, l);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->can_put, NULL);
	pthread_cond_init(&l->can_take, NULL);

	l->log_scope = kahu_log_scope_current();
	if (pthread_create(&th, NULL, reader, l) != 0) {
		rc = kahu_error_set(KAHU_ENOMEM, "listing %s: cannot start a thread", l->type);
		goto out;
	}
	for (;;) {
		size_t n = queue_take(l, batch);
		if (!n)
			break;
		for (size_t i = 0; i < n; i++) {
			if (rc == 0) {
				struct kube_item it = { batch[i].text, batch[i].len, batch[i].summary };
				stats->items++;
				rc = fn(ud, &it);
			}
			slot_free(&batch[i]);
		}
		if (rc < 0) {
			pthread_mutex_lock(&l->lock);
			l->stop = 1;
			pthread_cond_signal(&l->can_put);
			pthread_mutex_unlock(&l->lock);
			break;
		}
	}
	pthread_join(th, NULL);
	while (l->n) { /* left when the callback stopped */
		slot_free(&l->ring[l->head]);
		l->head = (l->head + 1) % QUEUE_ITEMS;
		l->n--;
	}
	if (rc == 0 && l->rc < 0)
		rc = kahu_error_set(l->rc, "%s", l->msg);
	stats->pages = l->pages;
	stats->inconsistent = l->inconsistent;
	stats->resource_version = l->resource_version;
	l->resource_version = NULL;
	if (rc == 0)
		log_debug("listed %ld %s in %ld page%s%s, %ld read again and skipped", stats->items,
			  l->type, stats->pages, stats->pages == 1 ? "" : "s",
			  stats->inconsistent ? " (inconsistent)" : "", l->skipped);
out:
	listscan_free(l->scan);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->can_put);
	pthread_cond_destroy(&l->can_take);
	free(l->base);
	free(l->api_version);
	free(l->type);
	free(l->msg);
	free(l->kind);
	free(l->ins_kind);
	free(l->ins_api_version);
	kbuf_free(&l->ins);
	free(l->skip_upto);
	free(l->resource_version);
	kbuf_free(&l->key);
	kbuf_free(&l->last_key);
	tokens_free(&l->tokens);
	free(l);
	free(batch);
	kube_list_stats_clear(&local);
	return rc;
}

/* ---- whole items ---------------------------------------------------------------- */

struct parse_ctx {
	kube_item_fn fn;
	void *ud;
};

static int parse_item(void *ud, const struct kube_item *it)
{
	struct parse_ctx *pc = ud;
	json_error_t jerr;
	/* A string may hold "\u0000" (a ConfigMap's data may) */
	json_t *item = json_loadb(it->text, it->len, JSON_ALLOW_NUL, &jerr);
	if (!item) {
		/* (objtext_scan refused what jansson refuses; jansson's text may quote the
		 * item, which may be a Secret) */
		char *near = strstr(jerr.text, " near ");
		if (near)
			*near = '\0';
		return kahu_error_set(KAHU_EPROTO, "an item cannot be read: %s (at its byte %d)",
				      jerr.text, jerr.position);
	}
	int rc = pc->fn(pc->ud, item);
	json_decref(item);
	return rc;
}

int kube_list(struct kube_client *c, const struct kube_resource *r,
	      const struct kube_list_opts *o, kube_item_fn fn, void *ud,
	      struct kube_list_stats *stats)
{
	struct parse_ctx pc = { fn, ud };
	return kube_list_text(c, r, o, parse_item, &pc, stats);
}

int kube_list_or_each_ns(struct kube_client *c, const struct kube_resource *r,
			 const struct kube_list_opts *o, const char *const *namespaces, size_t n,
			 kube_item_fn fn, void *ud, long *items)
{
	struct kube_list_opts lo = *o;
	struct kube_list_stats st = { 0 };
	lo.namespace = NULL;
	/* refused before in this run: the namespaces at once */
	int known = namespaces && kube_client_ns_scoped(c);
	int rc = known ? KAHU_EFORBIDDEN : kube_list(c, r, &lo, fn, ud, &st);
	long count = st.items;
	kube_list_stats_clear(&st);
	if (rc == KAHU_EFORBIDDEN && namespaces) {
		if (!known) {
			log_info("listing %s across the cluster is forbidden (%s): listing the %zu "
				 "namespace%s in scope (and so for every list of this run)", r->resource,
				 kahu_error_last(), n, n == 1 ? "" : "s");
			kube_client_set_ns_scoped(c);
			kahu_error_clear();
		}
		rc = 0;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			lo.namespace = namespaces[i];
			rc = kube_list(c, r, &lo, fn, ud, &st);
			count += st.items;
			kube_list_stats_clear(&st);
			if (rc < 0)
				kahu_error_wrap(rc, "listing %s in namespace %s", r->resource, namespaces[i]);
		}
	}
	if (items)
		*items = count;
	return rc;
}

/* kahu — paged LIST (limit/continue), streamed.  Each response body is read as it
 * arrives and each item is handed to a callback as soon as it is complete, so memory
 * is the largest single item plus fixed buffers, whatever the page size (a server may
 * ignore `limit`).  On 410 Expired after the first page, the pager continues with the
 * inconsistent continue token the server offers (or, when none is offered, restarts
 * with one unpaged list) and reports the list as inconsistent, as client-go's pager
 * does.  A response that is not a list of objects each with a name (and a namespace,
 * for a namespaced type), a body cut short, an item beyond the size limit and a
 * continue token the server returned before are errors (KAHU_EPROTO) naming the type,
 * the page and the item. */
#ifndef KAHU_KUBE_PAGER_H
#define KAHU_KUBE_PAGER_H

#include <jansson.h>

#include "kube/resource.h"

#include <stddef.h>

struct kube_client;

struct kube_list_opts {
	const char *namespace;       /* NULL: all namespaces / cluster scope */
	const char *label_selector;  /* passed to the server as is */
	const char *field_selector;
	long page_size;              /* default 500 */
	size_t max_item;             /* the largest item in bytes; default 64 MiB */
};

struct kube_list_stats {
	long items;
	long pages;
	int inconsistent;            /* a 410 made the result span several snapshots */
	char *resource_version;      /* of the (first) list */
};

/* An item as the server sent it, with "apiVersion" and "kind" added where it lacks
 * them (list items of built-in types come without): `text` is the server's bytes with
 * "apiVersion":"…","kind":"…" inserted after the opening '{' and whitespace outside
 * strings dropped (a server that indents its answer), so one object is one line; the
 * same bytes from the server give the same text.  `summary` is what was read of it
 * (objtext.h): {"metadata":{"name","namespace","uid","resourceVersion","labels"}}
 * with the members the item has.  An item that gives apiVersion or kind a
 * value that is not a string is parsed and written again, with the strings set. */
struct kube_item {
	const char *text;   /* NUL-terminated */
	size_t len;
	json_t *summary;
};

/* The callbacks get each item on the calling thread, in the server's order.  They
 * borrow the item; return 0 to go on, a negative kahu_err to stop (returned by
 * kube_list with the callback's message). */
typedef int (*kube_item_text_fn)(void *ud, const struct kube_item *item);
typedef int (*kube_item_fn)(void *ud, json_t *item);

/* Each item as text and summary: nothing parses an item whole. */
int kube_list_text(struct kube_client *c, const struct kube_resource *r,
		   const struct kube_list_opts *o, kube_item_text_fn fn, void *ud,
		   struct kube_list_stats *stats);
/* Each item parsed whole (its text read by jansson, on the calling thread). */
int kube_list(struct kube_client *c, const struct kube_resource *r,
	      const struct kube_list_opts *o, kube_item_fn fn, void *ud,
	      struct kube_list_stats *stats);
void kube_list_stats_clear(struct kube_list_stats *s);
/* kube_list across the cluster; when that is forbidden (KAHU_EFORBIDDEN) and `namespaces`
 * is not NULL, in each of those namespaces instead (rights that end at some namespaces).
 * Without `namespaces` (NULL; an empty list is not NULL), a refusal is returned as
 * kube_list returns it.  *items (may be
 * NULL): the items listed in all. */
int kube_list_or_each_ns(struct kube_client *c, const struct kube_resource *r,
			 const struct kube_list_opts *o, const char *const *namespaces, size_t n,
			 kube_item_fn fn, void *ud, long *items);

#endif

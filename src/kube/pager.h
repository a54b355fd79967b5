/* kahu — paged LIST (limit/continue).  Items are handed to a callback page by page;
 * the whole list is never held in memory.  On 410 Expired after the first page, the
 * pager continues with the inconsistent continue token the server offers (or, when
 * none is offered, restarts with one unpaged list) and reports the list as
 * inconsistent, as client-go's pager does. */
#ifndef KAHU_KUBE_PAGER_H
#define KAHU_KUBE_PAGER_H

#include <jansson.h>

#include "kube/resource.h"

struct kube_client;

struct kube_list_opts {
	const char *namespace;       /* NULL: all namespaces / cluster scope */
	const char *label_selector;  /* passed to the server as is */
	const char *field_selector;
	long page_size;              /* default 500 */
};

struct kube_list_stats {
	long items;
	long pages;
	int inconsistent;            /* a 410 made the result span several snapshots */
	char *resource_version;      /* of the (first) list */
};

/* The callback gets each item with "apiVersion" and "kind" filled in (list items of
 * built-in types come without them).  It borrows the item; return 0 to go on, a
 * negative kahu_err to stop (returned by kube_list). */
typedef int (*kube_item_fn)(void *ud, json_t *item);

int kube_list(struct kube_client *c, const struct kube_resource *r,
	      const struct kube_list_opts *o, kube_item_fn fn, void *ud,
	      struct kube_list_stats *stats);
void kube_list_stats_clear(struct kube_list_stats *s);

#endif

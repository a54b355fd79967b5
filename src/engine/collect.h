/* kahu — collecting the objects a backup covers.
 *
 * The plan: every resource type discovery serves that can be backed up (list, get,
 * create, delete; preferred version; one of each pair of aliased types such as
 * events/events.events.k8s.io), with the scope's decision for it.  Collecting runs the
 * plan: SCOPE_TYPE_YES types are listed page by page by `parallel` worker threads;
 * then the objects that included items need (Namespace objects, the PVs bound to
 * included PVCs, the CRDs of included custom resources) are listed and kept.  Each
 * kept object goes to the emit callback, which is called from one thread at a time.
 * Objects are not parsed: the scope decides on their metadata, read from their text
 * (kube/objtext.h), and the text the server sent is what is stored.
 * Memory: per worker, the pager's bounded queue of items (whatever the page size) plus
 * small sets of names (namespaces, PV names, custom resource types).  A type whose
 * list fails (an error status, or an answer that is not a list of named objects) is
 * recorded as failed with the pager's message; the objects it handed out before are
 * kept. */
#ifndef KAHU_ENGINE_COLLECT_H
#define KAHU_ENGINE_COLLECT_H

#include <jansson.h>
#include <stddef.h>

#include "engine/scope.h"
#include "kube/resource.h"

struct kube_client;
struct kube_discovery;

struct plan_type {
	const struct kube_resource *res;  /* borrowed from the discovery */
	char *group_resource;             /* "deployments.apps" */
	enum scope_type_decision decision;
	/* results */
	long listed;                      /* objects the server returned */
	long kept;                        /* objects emitted */
	long excluded;                    /* filtered out by the scope */
	int inconsistent;                 /* a 410 Expired made the list span snapshots */
	int error;                        /* 0, or the kahu_err of a failed list */
	char *message;                    /* why it failed (NULL when it did not) */
	/* A failed type of an incremental or differential backup (backup.c): its index
	 * lines are the ones of an older backup, not half of a list. */
	char *carried_from;               /* the backup whose list of the type they are */
	long carried;                     /* how many lines */
	int carried_incomplete;           /* that backup could not list the whole type either */
	/* Objects listed but not kept because they cannot be named (backup.c) */
	long failed_items;
	char *failed_first;               /* "ns/name: why" of the first of them */
};

struct plan {
	struct plan_type *types;
	size_t n;
};

/* Build the plan: the backupable types in a stable order (group-resource). */
int plan_build(const struct kube_discovery *d, const struct kahu_scope *scope, struct plan *out);
void plan_free(struct plan *p);
/* Whether a type is backed up at all (verbs and aliases), for tests and cluster check. */
int plan_type_backupable(const struct kube_resource *r);

/* Called for each object kept, serialised: never from two threads at once.  Return 0
 * (kept), 1 (the object failed alone and the callback said why: not counted as kept)
 * or a negative kahu_err, which stops the whole collection.  `text` (len bytes, one
 * line) is the object as the server sent it, with apiVersion and kind (pager.h);
 * `obj` is not the object but what was read of it: {"metadata":{"name",
 * "namespace","uid","resourceVersion","labels"}} (the members it has). */
typedef int (*collect_emit_fn)(void *ud, struct plan_type *t, json_t *obj, const char *text,
			       size_t len);
/* Progress: called after each page (from worker threads, under the emit lock). */
typedef void (*collect_progress_fn)(void *ud, size_t types_done, size_t types_total,
				    long objects);

struct collect_opts {
	int parallel;          /* worker threads, default 4 */
	long page_size;        /* default 500 */
	collect_emit_fn emit;
	collect_progress_fn progress;
	void *ud;
};

/* Run the plan.  Per-type failures (forbidden, retries exhausted, bad answers) are
 * recorded in the plan and logged as warnings; they do not stop the others.  Returns
 * 0, or the error that stopped everything (an emit failure, KAHU_EINTR). */
int collect_run(struct kube_client *kc, const struct kahu_scope *scope, struct plan *plan,
		const struct collect_opts *o);

/* Totals over the plan. */
long plan_kept(const struct plan *p);
size_t plan_failed_types(const struct plan *p);
/* Objects kept from the types that did not fail: 0 with failed types means the
 * backup holds nothing of its own (it is Failed, see backup.h). */
long plan_kept_ok(const struct plan *p);

#endif

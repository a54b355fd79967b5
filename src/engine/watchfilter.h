/* kahu — which watched changes start an event-driven backup (kahu plan watch): pure
 * decisions over the plan's scope (engine/scope.h).
 *
 *  - a type's changes start runs unless it is never restored and changes all the time:
 *    events (core and events.k8s.io) and leases.coordination.k8s.io;
 *  - an object's change starts a run when the scope keeps the object (its namespace,
 *    names, selectors, the exclude label) and it is not kahu's own: labelled
 *    app.kubernetes.io/managed-by=kahu (helper pods, snapshots, temporary claims);
 *  - a deletion found by a re-list carries no object: it counts when its namespace is
 *    in scope (or it has none). */
#ifndef KAHU_ENGINE_WATCHFILTER_H
#define KAHU_ENGINE_WATCHFILTER_H

#include <jansson.h>

struct kahu_scope;
struct kube_resource;

#define WATCH_MANAGED_BY_LABEL "app.kubernetes.io/managed-by"

/* 1 when changes of the type (a group-resource, "deployments.apps") start runs. */
int watch_type_starts_runs(const char *group_resource);
/* 1 when the change of an object of type `r` starts a run: `obj` the object (NULL for a
 * deletion found by a re-list), `ns` its namespace ("" or NULL: cluster-scoped). */
int watch_change_starts_run(const struct kahu_scope *s, const struct kube_resource *r,
			    json_t *obj, const char *ns);

#endif

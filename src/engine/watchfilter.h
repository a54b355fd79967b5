/* kahu — which watched changes start an event-driven backup (kahu plan watch): pure
 * decisions over the plan's scope (engine/scope.h).
 *
 *  - a type's changes start runs unless it is never restored and changes all the time:
 *    events (core and events.k8s.io) and leases.coordination.k8s.io;
 *  - an object's change starts a run when the scope keeps the object (its namespace,
 *    names, selectors, the exclude label) and it is not kahu's own: labelled
 *    app.kubernetes.io/managed-by=kahu (helper pods, snapshots, temporary claims);
 *  - a deletion found by a re-list carries no object: it counts when its namespace is
 *    in scope (or it has none);
 *  - a modification counts only when what a restore would create changed: the object
 *    without its status (a restore drops it unless asked), resourceVersion,
 *    managedFields and generation.  Its fingerprint (BLAKE2b-128 of that, as compact
 *    JSON with sorted keys) is kept per object, from the first list on, and compared;
 *    status-only churn (pods' conditions, controllers' observedGeneration) and no-op
 *    updates start nothing.  32 bytes per object watched, plus its key. */
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

/* The fingerprints of the objects watched.  Keys are the caller's ("resource ns/name");
 * not thread-safe. */
#define WATCH_FP_LEN 32 /* hex */
struct watch_fps;
struct watch_fps *watch_fps_new(void);
void watch_fps_free(struct watch_fps *f);
/* The fingerprint of obj (out: WATCH_FP_LEN + 1 bytes). */
void watch_fingerprint(json_t *obj, char out[WATCH_FP_LEN + 1]);
/* Record obj's fingerprint under key: 1 when it differs from the one recorded (or none
 * was), 0 when it is the same.  obj NULL: the object is gone (forgotten; returns 1). */
int watch_fps_update(struct watch_fps *f, const char *key, json_t *obj);
/* Objects recorded. */
size_t watch_fps_count(const struct watch_fps *f);

#endif

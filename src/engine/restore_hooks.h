/* kahu — a restore's hooks (kahu-hooks(5)): init containers added to restored pods and
 * pod templates (the restore's `hooks` item stage, between map and version), and exec
 * hooks run in the restored pods once their containers run, at the end of the restore. */
#ifndef KAHU_ENGINE_RESTORE_HOOKS_H
#define KAHU_ENGINE_RESTORE_HOOKS_H

#include <jansson.h>
#include <stddef.h>

#include "engine/hooks.h"

struct kube_client;
struct restore_hooks;

/* Adds the init containers of `obj`'s annotations (on its pod template's metadata for
 * workloads) and of the file's rules selecting it, first in spec.initContainers, for
 * pods, deployments, statefulsets, daemonsets, replicasets, jobs and cronjobs (`gr` as
 * the restore names types: "pods", "deployments.apps"…); other types are left alone,
 * as is a container of the same name already there.  KAHU_EUSAGE with *why (allocated)
 * for a bad annotation. */
int restore_hooks_init(const struct hook_set *hs, const char *gr, json_t *obj, char **why);

struct restore_hooks *restore_hooks_new(struct kube_client *kc, const struct hook_set *hs, int parallel);
/* A pod the restore created: kept, cut down to what hooks need (hook_pod_trim), when it
 * has restore exec hooks (thread-safe).
 * KAHU_EUSAGE with *why for a bad annotation. */
int restore_hooks_add_pod(struct restore_hooks *rh, json_t *pod, char **why);
/* Runs the kept pods' hooks, pods in parallel (bounded).  0 or KAHU_EINTR. */
int restore_hooks_run(struct restore_hooks *rh);
struct hook_results *restore_hooks_results(struct restore_hooks *rh);
void restore_hooks_free(struct restore_hooks *rh);

#endif

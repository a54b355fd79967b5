/* kahu — a backup's hooks: the pods in scope that have hooks, found and checked before
 * anything is written, their pre and post hooks run per pod (around that pod's volume
 * data) or for all other pods in parallel, bounded (around the metadata), and the
 * local hooks around the whole run.  Every outcome is kept for the backup's results (hook_results_json). */
#ifndef KAHU_ENGINE_HOOKS_BACKUP_H
#define KAHU_ENGINE_HOOKS_BACKUP_H

#include <jansson.h>
#include <stddef.h>

#include "engine/hooks.h"

struct kahu_scope;
struct kube_discovery;
struct hook_backup;

struct strv;

/* A run's hooks, before its pods are seen: the pods are listed once per run (the
 * caller's paged list, shared with the volume plan) and each one handed to
 * hook_backup_add_pod; then hook_backup_listed with the list's outcome.  Free with
 * hook_backup_free. */
struct hook_backup *hook_backup_new(struct kube_client *kc, const struct hook_set *hs,
				    const struct kahu_scope *scope, const struct kube_discovery *disc,
				    int parallel);
/* 1 when the scope takes pods (only then do pods' hooks run). */
int hook_backup_wants_pods(const struct hook_backup *hb);
/* One pod of the list (the server's object; not kept): kept when in scope with hooks,
 * cut down to what hooks need (hook_pod_trim) and the names of the claims it mounts.
 * KAHU_EUSAGE for a bad annotation (the pod named). */
int hook_backup_add_pod(struct hook_backup *hb, json_t *pod);
/* After the list (`list_rc` its outcome): the definitions checked, KAHU_EUSAGE for a
 * container that no selected pod of a definition has.  A list that failed without a
 * hooks file's exec hooks runs no pod hooks (said in the log) and returns 0. */
int hook_backup_listed(struct hook_backup *hb, int list_rc);
size_t hook_backup_npods(const struct hook_backup *hb);
/* Pod i's namespace, name and the claims it mounts; returns 1 when it has pre hooks. */
int hook_backup_pod_info(const struct hook_backup *hb, size_t i, const char **namespace_,
			 const char **name, const struct strv **claims);
/* Pod i's hooks run around its volumes' data (hook_backup_pod called by the volume
 * step), not around the metadata's collection (hook_backup_all leaves it). */
void hook_backup_defer(struct hook_backup *hb, size_t i);
/* The pre (HOOK_BACKUP_PRE) or post (HOOK_BACKUP_POST) hooks of pod `i`, one after the
 * other; the first failure under on-error Fail stops the rest and is described in
 * *failed (when not NULL; free it), else *failed is NULL.  Post hooks run once per
 * pod, shielded from the cancel token, and only once its pre hooks were started
 * (whatever their outcome; a pod without pre hooks: once they were asked for), so
 * that nothing is thawed that was not frozen.  0 or KAHU_EINTR. */
int hook_backup_pod(struct hook_backup *hb, enum hook_when when, size_t i, char **failed);
/* hook_backup_pod for every pod not deferred, in parallel on at most `parallel`
 * threads. */
int hook_backup_all(struct hook_backup *hb, enum hook_when when);
/* The post hooks of every pod whose pre hooks were started and whose post hooks have
 * not run yet (an interrupted run, a failed volume step), one pod after the other.
 * 0 or KAHU_EINTR. */
int hook_backup_finish(struct hook_backup *hb);
/* The local hooks before (after 0) or after (1) the run, `env` added to their
 * environment.  A before hook that fails under on-error Fail skips the ones after it. */
int hook_backup_local(struct hook_backup *hb, int after, const char *const *env);
struct hook_results *hook_backup_results(struct hook_backup *hb);
void hook_backup_free(struct hook_backup *hb);

#endif

/* kahu — a backup's hooks: the pods in scope that have hooks, found and checked before
 * anything is written, their pre and post hooks run per pod (so that a step can sit
 * between them) or for all pods in parallel, bounded, and the local hooks around the
 * whole run.  Every outcome is kept for the backup's results (hook_results_json). */
#ifndef KAHU_ENGINE_HOOKS_BACKUP_H
#define KAHU_ENGINE_HOOKS_BACKUP_H

#include <stddef.h>

#include "engine/hooks.h"

struct kahu_scope;
struct kube_discovery;
struct hook_backup;

/* Lists the pods (paged, one pod at a time), keeps those in scope with hooks from their
 * annotations or `hs` (may be NULL), cut down to what hooks need (hook_pod_trim), and
 * checks the definitions: KAHU_EUSAGE for a bad annotation or a container that no
 * selected pod of the definition has.  *out is set even on error
 * (free it with hook_backup_free). */
int hook_backup_prepare(struct kube_client *kc, const struct hook_set *hs, const struct kahu_scope *scope,
			const struct kube_discovery *disc, int parallel, struct hook_backup **out);
size_t hook_backup_npods(const struct hook_backup *hb);
/* The pre (HOOK_BACKUP_PRE) or post (HOOK_BACKUP_POST) hooks of pod `i`. 0 or KAHU_EINTR. */
int hook_backup_pod(struct hook_backup *hb, enum hook_when when, size_t i);
/* hook_backup_pod for every pod, in parallel on at most `parallel` threads. */
int hook_backup_all(struct hook_backup *hb, enum hook_when when);
/* The local hooks before (after 0) or after (1) the run, `env` added to their
 * environment.  A before hook that fails under on-error Fail skips the ones after it. */
int hook_backup_local(struct hook_backup *hb, int after, const char *const *env);
struct hook_results *hook_backup_results(struct hook_backup *hb);
void hook_backup_free(struct hook_backup *hb);

#endif

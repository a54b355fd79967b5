/* kahu backup create --contexts / --all-contexts: a backup of each cluster in one run
 * (engine/multi.h), and its summary.  Used by backup.c only. */
#ifndef KAHU_CMD_BACKUP_MULTI_H
#define KAHU_CMD_BACKUP_MULTI_H

#include "cmd/ctx.h"
#include "engine/run_backup.h"
#include "util/strv.h"

/* --contexts, --all-contexts, --parallel-clusters, checked against the kubeconfig
 * before anything is opened: each context named once and defined, none beside
 * --context or --parent, each backup name (base-CONTEXT) valid and distinct
 * (KAHU_EUSAGE otherwise).  Leaves `contexts` empty without them. */
int backup_multi_parse(const struct kahu_invocation *inv, const char *base, struct strv *contexts,
		       struct strv *names, long *parallel);

/* Run the backup `base` describes (every flag) on each context's cluster, then print
 * one line per cluster; returns the overall result (engine/multi.h). */
int backup_multi_run(struct kahu_ctx *ctx, const struct backup_run_spec *base,
		     const struct strv *contexts, const struct strv *names, long parallel);

#endif

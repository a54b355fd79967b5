/* kahu — one backup per cluster in one run (backup create --contexts, --all-contexts).
 *
 * Each cluster's backup is a backup_run of its own (its kube client, scope, result,
 * log scope), on a thread of the worker pool, at most `parallel` at once.  All of them
 * go to one location: the runner opens it, takes its lock once for the whole run (and
 * that of --volume-location when one is named), removes the unfinished uploads of
 * killed runs and checks that no name is taken before any backup starts; each run then
 * writes under that lock (backup_run_spec.location_locked).  The process's cancel token
 * stops them all; those not started yet are reported as not started.  Nothing here
 * prints: the caller shows each cluster's result. */
#ifndef KAHU_ENGINE_MULTI_H
#define KAHU_ENGINE_MULTI_H

#include <stdint.h>

#include "engine/run_backup.h"

/* One cluster's backup: the caller fills rs (its own scope and labels, since a run
 * resolves its scope against its cluster; name, kc, server, context); backup_run_multi
 * fills the rest. */
struct multi_backup {
	struct backup_run_spec rs;
	const char *context;               /* the kubeconfig context (the log lines' prefix) */
	int started;                       /* 0: interrupted before it started */
	int rc;                            /* backup_run's return */
	char *error;                       /* rc < 0: its message, else NULL */
	const char *status;                /* Completed, PartiallyFailed, Failed, Interrupted,
					    * NotStarted; "Planned" for a dry run */
	struct backup_run_result res;
	uint64_t volume_bytes;             /* the volumes' data read (bytesRead) */
	int64_t duration_ms;
};

/* The backup name of context `context` in a run named `base`: "<base>-<context>" with
 * the context lowercased, every character but [a-z0-9.-] made '-', runs of '-' made
 * one, '-' and '.' trimmed at both ends.  KAHU_EUSAGE when nothing is left of the
 * context or the name is not a valid backup name. */
int multi_backup_name(const char *base, const char *context, char **out);

/* Run every backup of `runs` (n of them), at most `parallel` at once.  `rr` is the
 * location (NULL for a dry run: nothing is opened); `purpose` names the run in the
 * lock.  Returns 0 when every backup Completed; KAHU_EPARTIAL when some did not but at
 * least one Completed or PartiallyFailed; KAHU_EINTR when interrupted; otherwise the
 * code the failed runs share (KAHU_EFAIL when they differ).  The message says how
 * many completed and names each cluster that did not.  A failure before any backup
 * started (the location, its lock, a name already taken) is returned as it is, with
 * no run started. */
int backup_run_multi(struct multi_backup *runs, size_t n, int parallel, const struct run_repo *rr,
		     const char *purpose);
void multi_backup_clear(struct multi_backup *m);

#endif

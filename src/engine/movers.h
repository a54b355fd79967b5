/* kahu — the data movers' coordinator (`--data-mover cluster`): a volume's files are
 * read or written by a Job on the volume's node, running `kahu mover backup|restore`
 * (engine/mover.h) with the claim mounted, and written to (or read from) the location
 * straight from the pod.  This side, on the operator's machine, makes what the Jobs
 * need (a ServiceAccount without bindings and the run bundle's Secret in each namespace
 * with volumes, or the user's Secret), creates one Job per volume and attempt, at most
 * --movers-per-node running on a node, watches all of them through ONE poller (a LIST
 * of the run's Jobs and one of their pods per round, whatever the number of volumes),
 * retries a failed attempt (bounded, a new attempt id), reads and verifies what a
 * backup mover reports (mover_result_read), and removes what it made through the
 * run's vol_tracker (also after Ctrl-C; the next run's leftover sweep after kill -9).
 *
 * Threads: movers_backup_volume / movers_restore_volume are called by the volume step's
 * threads, each blocking until its volume ended; only the poller talks to the API
 * server about Jobs and pods, so the API calls per volume are fixed (a Job created and
 * deleted per attempt, the namespace's Secret and ServiceAccount once) and the rounds'
 * LISTs are shared by all the run's volumes. */
#ifndef KAHU_ENGINE_MOVERS_H
#define KAHU_ENGINE_MOVERS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/volhelper.h"
#include "engine/volrun.h"

struct kube_client;
struct kahu_location;
struct kahu_key;
struct kahu_store;
struct vol_backup_result;
struct vol_restore_result;
struct mover_spec;

#define MOVERS_PURPOSE "volume-mover"
#define MOVERS_POLL_MS 1000
/* Live progress: a running mover's log read at most every MOVERS_LOG_EVERY_S seconds,
 * at most MOVERS_LOG_BUDGET logs a second for the whole run. */
#define MOVERS_LOG_EVERY_S 5
#define MOVERS_LOG_BUDGET 4

struct movers_opts {
	struct kube_client *kc;
	struct vol_tracker *vt;                 /* what the run made, removed at its end */
	const struct vol_run_id *run;
	const struct vol_opts *vol;             /* vol->mover, and the helper flags' node
						   selector, tolerations and resources */
	const struct kahu_location *loc;        /* where the movers read and write */
	const struct kahu_key *key;             /* the run's unlocked key, NULL: none */
	int restore;
};

struct movers;
/* Check what can be checked before anything is written: the bundle is built (a
 * location the cluster cannot reach is KAHU_EUSAGE from the builder); the poller starts. */
int movers_new(const struct movers_opts *o, struct movers **out);
/* Stop the poller; what was made stays tracked by the run's vol_tracker. */
void movers_free(struct movers *m);

/* One volume, as the exec path knows it. */
struct movers_volume {
	const char *namespace_, *claim;        /* the claim the mover mounts */
	const char *label;                     /* "namespace/pvc" for messages */
	const char *node;                      /* where its pod runs, NULL: node_affinity */
	json_t *node_affinity;                 /* a PV's spec.nodeAffinity, or NULL */
	/* progress (may be NULL): bytes and files when known, 0/0 when it starts */
	void (*progress)(void *ud, uint64_t bytes, uint64_t files);
	void *progress_ud;
};

/* Back up the volume with a mover (spec: what the mover does; its attempt is set here)
 * and verify its result through `st` (a handle on the location of the volume data this
 * thread may use).  0 with `out` filled as vol_backup fills it; on failure the reason
 * (the pod's: termination message, container reason, eviction, deadline), every attempt
 * spent, and what the attempts wrote of volumes/<vid>/ removed.  KAHU_EINTR when the run
 * is interrupted. */
int movers_backup_volume(struct movers *m, struct kahu_store *st, const struct movers_volume *v,
			 struct mover_spec *spec, struct vol_backup_result *out);
/* Restore into the claim with a mover; counts from its termination message. */
int movers_restore_volume(struct movers *m, const struct movers_volume *v, struct mover_spec *spec,
			  struct vol_restore_result *out);

/* The node a volume's mover is counted on: `node`, else the single hostname a PV's
 * required node affinity names, else "" (not known: the scheduler's choice; such
 * movers share one budget of --movers-per-node). */
const char *movers_node_key(const char *node, json_t *node_affinity);

/* What a mover's failed pod says, in one line: the pod's reason (Evicted,
 * DeadlineExceeded), else the container's (Error, OOMKilled, StartError) with its exit
 * code, and the termination message's "error" (or its text) or the pod's message.
 * Pure (tests/unit/check_movers.c). */
char *movers_pod_reason(json_t *pod);

/* Live progress: which of n running movers' logs to read now.  next[i]: when mover i's
 * log is due (seconds, any clock); those due at `now` (next[i] <= now), the longest due
 * first (ties: the lower index), at most `budget` of them, their indexes into out (room
 * for `budget`); how many.  The caller sets a picked mover's next to now plus the
 * interval, so with a budget per round the reads per round stay bounded however many
 * movers run, and every mover is read in turn.  Pure (tests/unit/check_movers.c). */
size_t movers_log_pick(const double *next, size_t n, double now, size_t budget, size_t *out);

#endif

/* kahu — backup plans (kahu-plan(5)): a named, versioned YAML document that says what a
 * backup of the plan takes (everything `backup create` takes), where it goes, when it
 * runs, how full and incremental backups alternate and what its retention keeps.
 *
 * A plan is read from a file, from a ConfigMap's `plan.yaml`, or from the configuration
 * file's `plans` object (where it is kept as JSON, the same document); every field is
 * checked when it is read, an unknown one included, with FILE:LINE errors
 * (KAHU_EUSAGE).  The decisions a run makes (its backup's name, full or incremental and
 * on which parent) are pure functions here, table-tested; the command (cmd/plan.c) does
 * the I/O.  A plan's backup is made through the same struct backup_args that
 * `backup create`'s flags fill, so both paths meet in one function. */
#ifndef KAHU_ENGINE_PLAN_H
#define KAHU_ENGINE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/backup.h"
#include "engine/volrun.h"
#include "util/strv.h"

#define PLAN_API_VERSION "kahu.io/v1"
#define PLAN_KIND "BackupPlan"
#define PLAN_LABEL "kahu.io/plan"             /* on every backup of a plan: its name */
#define PLAN_NAME_MAX 47                      /* + "-YYYYMMDD-HHMMSS" = 63 */
#define PLAN_CONFIGMAP_KEY "plan.yaml"
#define PLAN_ENV_NOW "KAHU_NOW"               /* the test clock (kahu-plan(1)) */

/* What a backup is made of: `backup create`'s flags, or a plan's spec.  Strings are
 * borrowed; the lists are comma-separated as the flags take them. */
struct backup_args {
	const char *include_namespaces, *exclude_namespaces;
	const char *include_resources, *exclude_resources;
	const char *include_cluster_resources;
	const char *selector, *or_selector;
	const char *include_names, *exclude_names;
	const char *ttl;                     /* a duration, NULL: 720h */
	const struct strv *labels;           /* "KEY=VALUE,…" items, may be NULL */
	enum backup_kind kind;
	const char *parent;                  /* NULL: chosen */
	long parallel, compression_level, page_size;   /* checked already */
	const char *hooks_file;              /* NULL: none */
	struct vol_flags vol;
	const char *volume_location;         /* NULL: beside the metadata */
	const char *location;                /* NULL: --location, else the default */
	int dry_run, no_encryption;
};

enum plan_cadence {
	PLAN_CADENCE_FULL = 0,               /* every backup full (the default) */
	PLAN_CADENCE_INCREMENTAL,            /* on the plan's newest backup */
	PLAN_CADENCE_DIFFERENTIAL,           /* on the plan's newest full backup */
};

/* -1: not given. */
struct plan_keep {
	long last, hourly, daily, weekly, monthly, yearly;
};

struct cron;

struct backup_plan {
	char *name;
	char *origin;                        /* where it was read: messages */
	json_t *doc;                         /* the whole document as JSON (the configuration's form) */
	/* spec: the backup */
	char *include_namespaces, *exclude_namespaces, *include_resources, *exclude_resources;
	char *include_cluster_resources, *selector, *or_selector, *include_names, *exclude_names;
	struct strv labels;                  /* "KEY=VALUE" */
	long parallel, compression_level, page_size;
	char *hooks_file;
	char *volume_data, *volume_policy, *snapshot_class, *csi_snapshot_timeout;
	char *snapshot_move_data;            /* "true" | "false" | NULL */
	char *helper_image, *helper_resources;
	/* spec.volumes.mover: type (local|cluster), perNode, timeout, image, secret, retries */
	char *mover_type, *mover_per_node, *mover_timeout, *mover_image, *mover_secret, *mover_retries;
	struct strv exclude_paths, node_selector, tolerations;
	char *volume_location;
	char *location, *context;            /* NULL: the default location, the current context */
	/* spec.contexts: the plan runs once per context, each a series of its own named
	 * series.v[i] ("NAME-CONTEXT", plan_series_name) with its own backups, cadence and
	 * retention; empty: one cluster (context) */
	struct strv contexts, series;
	/* when */
	char *schedule, *time_zone;          /* NULL: run by hand only; zone NULL: UTC */
	struct cron *cron;                   /* the schedule parsed, or NULL */
	enum plan_cadence cadence;
	char *full_schedule;                 /* incremental/differential: when a full is due */
	struct cron *full_cron;
	/* retention */
	struct plan_keep keep;
	char *ttl;                           /* each backup's own expiry, NULL: 720h */
};

/* Parse a plan document (YAML; JSON is YAML too).  `origin` names it in messages
 * ("FILE:LINE: spec.parallel: …").  KAHU_EUSAGE for anything wrong, KAHU_ENOTFOUND for
 * an unknown time zone. */
int backup_plan_parse(const char *text, size_t len, const char *origin, struct backup_plan **out);
/* The same, from a file (KAHU_ENOTFOUND, KAHU_EIO when unreadable). */
int backup_plan_load_file(const char *path, struct backup_plan **out);
/* The same, from the document as JSON (the configuration's `plans` entry). */
int backup_plan_from_json(const json_t *doc, const char *origin, struct backup_plan **out);
void backup_plan_free(struct backup_plan *p);

/* A plan name: 1 to PLAN_NAME_MAX lowercase letters, digits and '-', starting and
 * ending with a letter or digit.  0 or KAHU_EUSAGE saying what is wrong. */
int plan_name_check(const char *name);

/* The series of context `context` of plan `plan`: "PLAN-CONTEXT", the context
 * lowercased, every character but a-z and 0-9 made '-', runs of '-' made one, '-'
 * trimmed; KAHU_EUSAGE when that is not a valid plan name (too long, nothing left). */
int plan_series_name(const char *plan, const char *context, char **out);
/* Series i of a plan with contexts, as a plan of its own: a shallow copy of p whose name
 * is the series' and whose context is the i-th (valid while p lives; not to be freed). */
int backup_plan_series(const struct backup_plan *p, size_t i, struct backup_plan *out);

/* The backup args of one run of the plan (pointing into p; kind and parent are the
 * caller's). */
void backup_plan_args(const struct backup_plan *p, struct backup_args *a);

/* ---- a run's decisions (pure) ---- */

/* "NAME-YYYYMMDD-HHMMSS", `t` in UTC.  Allocated. */
char *plan_backup_name(const char *plan, int64_t t);
/* Is `backup` a backup name of plan `plan`?  0 and *t (its time), or -1. */
int plan_backup_time(const char *plan, const char *backup, int64_t *t);

/* One of the plan's own backups, as its authenticated manifest says. */
struct plan_past {
	const char *name;
	int64_t when;                        /* the time in its name */
	int full;                            /* type full */
	int failed;                          /* status Failed: counts as nothing */
};

struct plan_decision {
	enum backup_kind kind;
	long parent;                         /* index in the history, -1: none */
	char why[256];
};

/* Full, incremental or differential for a run at `now`, from the plan's past backups:
 * full when the cadence says always full, when there is no good full backup yet, or
 * when the full schedule fired after the newest good full and at or before `now`;
 * otherwise incremental on the newest good backup, or differential on the newest good
 * full one.  Failed backups count as nothing.  KAHU_ENOTFOUND from cron_next is
 * returned. */
int plan_decide(const struct backup_plan *p, const struct plan_past *v, size_t n, int64_t now,
		struct plan_decision *d);

/* The run's clock: time(NULL), or KAHU_NOW (RFC 3339 UTC, "2026-01-04T03:00:00Z"),
 * which may only set it back, never forward (KAHU_EUSAGE: a later time, or one that
 * does not parse).  *fake says which. */
int plan_now(int64_t *now, int *fake);

/* The first run of the plan's schedule strictly after `after`: 0, or -1 when it has no
 * schedule or none comes within five years. */
int backup_plan_next_run(const struct backup_plan *p, int64_t after, int64_t *next);
/* The schedule for display ("0 3 * * *  (Europe/Berlin)"), or NULL without one. */
const char *backup_plan_schedule_text(const struct backup_plan *p);

/* Does a run of the plan take volume data (spec.volumes.data other than none; the
 * default, auto, does)?  What installing it must allow: helper pods, pods/exec,
 * snapshots. */
int backup_plan_has_volumes(const struct backup_plan *p);

/* "full", "incremental", "differential". */
const char *plan_cadence_name(enum plan_cadence c);

#endif

/* kahu — what the commands share (common.c): the options of the commands that open a
 * repository (key, backup, restore, location): --location, --key-file,
 * --passphrase-file, --lock-wait, --allow-unencrypted, and the run's location made of
 * them; the scope flags.  Option tables are arrays of struct kahu_opt values, so the
 * shared entries are macros:
 *
 *     static const struct kahu_opt opts[] = {
 *             KAHU_OPT_LOCATION, KAHU_OPT_KEY_FILE, KAHU_OPT_PASSPHRASE_FILE,
 *             ...
 *             OPT_END
 *     };
 *
 * Each command that uses them documents them in its man page (the docs test checks). */
#ifndef KAHU_CMD_COMMON_OPTS_H
#define KAHU_CMD_COMMON_OPTS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd/ctx.h"
#include "engine/run.h"
#include "store/repo.h"

#define KAHU_OPT_LOCATION \
	OPTION(LOCATION, 0, "NAME", "the storage location (default: the configuration's default " \
	       "location)", "@location", 0, NULL)
#define KAHU_OPT_KEY_FILE \
	OPTION(KEY_FILE, 0, "FILE", "the key file (default: $KAHU_KEY_FILE, then the location's " \
	       "keyFile, then ~/.config/kahu/keys/default.key)", "file", 0, NULL)
#define KAHU_OPT_PASSPHRASE_FILE \
	OPTION(PASSPHRASE_FILE, 0, "FILE", "a file holding a passphrase that unlocks the " \
	       "location's key (default: $KAHU_PASSPHRASE_FILE)", "file", 0, NULL)

#define KAHU_OPT_LOCK_WAIT \
	OPTION(LOCK_WAIT, 0, "DURATION", "when another run holds the location's lock, wait up to " \
	       "DURATION for it (e.g. 30s, 10m; default: give up at once, exit 75)", NULL, 0, NULL)

#define KAHU_OPT_ALLOW_UNENCRYPTED \
	OPTION(ALLOW_UNENCRYPTED, 0, NULL, "accept a backup or restore record that is not " \
	       "encrypted, and so cannot be authenticated, on a keyed location", NULL, 0, NULL)

/* The options of a command that only reads a location with its key (key id):
 * --location, --key-file, --passphrase-file. */
extern const struct kahu_opt cmd_repo_key_opts[];
/* The same, for commands that trust what they read (backup verify and logs, restore
 * logs): also --allow-unencrypted. */
extern const struct kahu_opt cmd_repo_read_opts[];

/* The location of a run as struct run_repo: --config, and --location, --key-file,
 * --passphrase-file, --lock-wait and --allow-unencrypted when the command has them
 * (absent options stay NULL, so the environment applies).  KAHU_EUSAGE when
 * --lock-wait is not a duration.  The dispatcher fills ctx->rr with it for the
 * commands it opens the location for (CMD_REPO); the others that run against a
 * location call it in their parse stage. */
int cmd_run_repo(const struct kahu_ctx *ctx, struct run_repo *rr);

struct kahu_scope;

/* Hook outcomes (engine/hooks.h hook_results_json) as lines under "Hooks:"; nothing
 * when `hooks` is NULL or empty. */
void cmd_print_hooks(FILE *f, json_t *hooks);
/* The same under another title ("<title>: N (…)"). */
void cmd_print_hooks_titled(FILE *f, const char *title, json_t *hooks);

/* The local after hooks' outcomes kept beside a backup or a restore
 * (engine/hook_record.h) as lines of the stored log's form, each marked "afterCommit"
 * (they ran once the run's commit point was written), at time `when`. */
void cmd_print_after_hooks_log(FILE *f, json_t *hooks, const char *when);

/* The scope flags of backup create / restore create: into a backup's args (its scope
 * fields), or straight into a scope. */
struct backup_args;
void scope_args_from_flags(const struct kahu_invocation *inv, struct backup_args *a);
int scope_from_flags(const struct kahu_invocation *inv, struct kahu_scope **out);
struct backup_args;
/* The same from a backup's args (engine/plan.h). */
int scope_from_args(const struct backup_args *a, struct kahu_scope **out);

/* backup create's spec (its parse stage) from a backup's args: what backup create's
 * flags fill and a plan's spec (engine/plan.h) fills, checked alike; `a->location`
 * (may be NULL) stands for --location.  KAHU_EUSAGE naming what is wrong. */
int cmd_backup_create_spec(struct kahu_ctx *ctx, const char *name, const struct backup_args *a,
			   void **spec);
void cmd_backup_create_spec_free(void *spec);
/* Run it (ctx->kc and ctx->kcfg set up) and print the outcome as backup create does;
 * *status (when not NULL): the backup's status, allocated, when it got that far.
 * The codes of engine/run_backup.h backup_run. */
int cmd_backup_create_run(struct kahu_ctx *ctx, void *spec, char **status);

/* Retention over a location (backup prune, a plan's run), the lock held by the caller:
 * manifests authenticated, the decision (engine/retention.h), what it removes removed
 * (its kept CSI snapshots first).  `plan` non-NULL: only that plan's backups (name and
 * authenticated kahu.io/plan label), aged by the time in their names, on the clock
 * `now`; `add` (dry runs of a plan) a backup the run would add, counted as kept. */
struct retention_policy;
struct prune_opts {
	const struct retention_policy *pol;
	int dry;
	const char *plan;
	int64_t now;
	const char *add, *add_parent, *add_base;
	int64_t add_when;
	size_t removed;                  /* out: how many were (or would be) removed */
};
int cmd_prune(struct kahu_ctx *ctx, struct repo *repo, struct prune_opts *o);

/* One run of a plan (kahu-plan(1) plan run) at `now` (engine/plan.h plan_now), with the
 * configuration `cfg` it is checked against: the cadence's decision from the plan's own
 * backups, the backup, then its retention; `dry`: say what it would do.  The backup's
 * codes (0, KAHU_EPARTIAL, KAHU_EFAIL) or the failure's. */
struct backup_plan;
struct kahu_config;
/* The plan a command names: -f FILE, --from-configmap NS/NAME, or NAME in the
 * configuration `cfg` (name NULL: the source's own; when both, they must agree). */
int cmd_plan_get(struct kahu_ctx *ctx, struct kahu_config *cfg, const char *name,
		 struct backup_plan **out);
int cmd_plan_run_once(struct kahu_ctx *ctx, const struct backup_plan *p, const struct kahu_config *cfg,
		      int64_t now, int dry);

/* The helper pod flags of backup create and restore create. */
#define KAHU_VOL_HELPER_OPTS \
	OPTION(HELPER_IMAGE, 0, "IMAGE", "the image of helper pods (it needs sh, find, stat, xargs, " \
	       "sort and tar)", NULL, 0, "busybox:1.36"), \
	OPTION(HELPER_RESOURCES, 0, "cpu=Q,memory=Q", "requests and limits of helper pods", NULL, 0, NULL), \
	OPTION(HELPER_NODE_SELECTOR, 0, "KEY=VALUE,…", "the nodeSelector of helper pods", NULL, OPTF_REPEAT, NULL), \
	OPTION(HELPER_TOLERATIONS, 0, "KEY[=VALUE][:EFFECT],…", "tolerations of helper pods (* tolerates " \
	       "every taint)", NULL, OPTF_REPEAT, NULL)

/* The data mover flags of backup create, restore create and plan create. */
#define KAHU_VOL_MOVER_OPTS \
	OPTION(DATA_MOVER, 0, "local|cluster", "where volume files are moved: local (through pods/exec " \
	       "and this machine) or cluster (a Job per volume on its node writes to the location)", \
	       "local cluster", 0, "local"), \
	OPTION(MOVERS_PER_NODE, 0, "N", "--data-mover cluster: movers running at once on a node", NULL, 0, "2"), \
	OPTION(MOVER_TIMEOUT, 0, "DURATION", "--data-mover cluster: how long one mover may run", NULL, 0, "6h"), \
	OPTION(MOVER_IMAGE, 0, "IMAGE", "--data-mover cluster: the kahu image movers run", NULL, 0, \
	       "kahu:" PACKAGE_VERSION), \
	OPTION(MOVER_SECRET, 0, "NAME", "--data-mover cluster: an existing Secret holding the run bundle " \
	       "(in each namespace with volumes) instead of one made for the run", NULL, 0, NULL), \
	OPTION(MOVER_RETRIES, 0, "N", "--data-mover cluster: new attempts of a mover that failed", NULL, 0, "2")

struct vol_opts;
/* The volume data flags the command has (engine/volrun.h), checked: `restore` reads
 * the restore's.  KAHU_EUSAGE naming the flag. */
int vol_flags_parse(const struct kahu_invocation *inv, int restore, struct vol_opts *out);

#endif

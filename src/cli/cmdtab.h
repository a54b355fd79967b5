/* kahu — commands and options as data.
 *
 * Every command is one `struct kahu_cmd` (tmux's cmd_entry, vmctl's ctl_commands):
 * its words, positional-argument bounds, usage, one-line help, its options and its
 * handler.  Help, parsing, "did you mean", completions and the man-page drift test are
 * all driven by these tables, so they cannot disagree. */
#ifndef KAHU_CLI_CMDTAB_H
#define KAHU_CLI_CMDTAB_H

#include <stddef.h>
#include <stdio.h>

#include "cli/options.h"
#include "util/strv.h"

enum {
	OPTF_REPEAT = 1 << 0,  /* may be given several times; values accumulate */
	OPTF_COUNT = 1 << 1,   /* flag counted (-vvv) */
	OPTF_HIDDEN = 1 << 2,  /* not in help or completions */
};

/* One option of a table, written OPTION(ID, ...) so that its id and long name come
 * from the one list (options.h). */
struct kahu_opt {
	enum kahu_opt_id id;
	const char *name;      /* long name without the dashes: kahu_opt_names.ID */
	char short_name;       /* 0 when none */
	const char *argname;   /* NULL for a flag, else what the value is ("FILE") */
	const char *help;
	/* What completes the value: NULL (nothing), "file", "dir", or a space-separated
	 * list of fixed words ("table json yaml"), or "@KIND" for a dynamic list that
	 * `kahu __complete KIND` prints (contexts, namespaces, backups). */
	const char *complete;
	unsigned flags;
	const char *def;       /* default value shown in help, or NULL */
};

#define OPTION(ID, SHORT, ARGNAME, HELP, COMPLETE, FLAGS, DEF) \
	{ OPT_##ID, kahu_opt_names.ID, SHORT, ARGNAME, HELP, COMPLETE, FLAGS, DEF }
#define OPT_END { OPT_NONE, NULL, 0, NULL, NULL, NULL, 0, NULL }

struct kahu_ctx;

/* What the dispatcher (cmd_dispatch) does for a command, as git's RUN_SETUP: first the
 * command's parse stage, so that a bad command line is a usage error before anything
 * is opened; then what the flags ask for, in this order; then the handler; then it
 * releases what it set up, also when the handler failed. */
enum {
	CMD_CLUSTER = 1 << 0,  /* load the kubeconfig and build the API client (ctx->kcfg,
				* ctx->kc) from the global flags */
	CMD_HIDDEN = 1 << 1,
	CMD_NOUN = 1 << 2,     /* a noun that groups verbs, no handler */
	CMD_REPO = 1 << 3,     /* open the location (ctx->repo) from the repository flags
				* (ctx->rr, filled in the parse stage) */
	CMD_WRITE = 1 << 4,    /* open it, and refuse now when it takes no writes
				* (repo_check_writable) */
	CMD_LOCK = 1 << 5,     /* open it and take its lock (ctx->lock; the purpose is the
				* command's name; --lock-wait when the command has it) */
};

struct kahu_cmd {
	const char *name;      /* words: "backup create" */
	const char *args;      /* positional usage: "NAME", "" when none */
	int min_args;
	int max_args;          /* -1: unbounded */
	const char *summary;   /* one line */
	const char *outputs;   /* formats -o accepts: "table json yaml name", NULL: none */
	const struct kahu_opt *opts;
	int (*run)(struct kahu_ctx *ctx);
	unsigned flags;
	/* What completes the positional arguments, as kahu_opt.complete. */
	const char *args_complete;
	/* The parse stage, NULL when there is nothing to check: the flags and arguments
	 * checked and turned into what the handler needs, before anything is set up.  What
	 * it makes it leaves in *spec (the handler finds it in ctx->spec); the dispatcher
	 * frees it with spec_free after the handler.  On failure it leaves nothing. */
	int (*parse)(struct kahu_ctx *ctx, void **spec);
	void (*spec_free)(void *spec);
};

/* Parsed values of one invocation. */
struct opt_value {
	const struct kahu_opt *opt;
	int count;             /* times given */
	char *value;           /* last value */
	struct strv values;    /* every value (OPTF_REPEAT) */
};

struct kahu_invocation {
	const struct kahu_cmd *cmd;
	struct opt_value *vals;  /* one per global option, then one per command option */
	size_t nvals;
	struct opt_value *by_id[OPT_NIDS]; /* the same, by option id; NULL: not an option
					    * of this command */
	struct strv args;        /* positional arguments */
	int help;                /* -h/--help was given */
};

/* Global options, valid before or after the command words. */
extern const struct kahu_opt kahu_global_opts[];

/* Parse argv against `cmds` (NULL-terminated array).  Returns 0, or KAHU_EUSAGE with
 * a message that says what is wrong and, when close, what was meant. */
int cli_parse(const struct kahu_cmd *const *cmds, int argc, char **argv,
	      struct kahu_invocation *inv);
void cli_invocation_free(struct kahu_invocation *inv);

/* Option access by id (global or the command's).  An option the command does not
 * have is a bug and aborts; inv_has asks first.  inv_str returns the last value or
 * NULL. */
int inv_has(const struct kahu_invocation *inv, enum kahu_opt_id id);
const char *inv_str(const struct kahu_invocation *inv, enum kahu_opt_id id);
int inv_count(const struct kahu_invocation *inv, enum kahu_opt_id id);
const struct strv *inv_list(const struct kahu_invocation *inv, enum kahu_opt_id id);
/* Integer option with bounds; KAHU_EUSAGE with a message when invalid. `*out` keeps
 * its value when the option was not given. */
int inv_long(const struct kahu_invocation *inv, enum kahu_opt_id id, long min, long max,
	     long *out);

/* The distinct words that may follow the command words `prefix` (NULL or "": the
 * top level), hidden commands left out, in table order, pushed to `out`. */
void cli_next_words(const struct kahu_cmd *const *cmds, const char *prefix, struct strv *out);

/* Lookup helpers. */
const struct kahu_cmd *cli_find_cmd(const struct kahu_cmd *const *cmds, const char *name);
int cli_is_prefix_noun(const struct kahu_cmd *const *cmds, const char *words);

/* Help text. */
void cli_print_help(const struct kahu_cmd *const *cmds, const struct kahu_cmd *cmd,
		    const char *noun, FILE *f);
void cli_print_usage_line(const struct kahu_cmd *cmd, FILE *f);

/* Completion scripts generated from the tables. */
int cli_completion(const struct kahu_cmd *const *cmds, const char *shell, FILE *f);

/* Edit distance for suggestions (Damerau–Levenshtein, optimal string alignment). */
size_t cli_edit_distance(const char *a, const char *b);

#endif

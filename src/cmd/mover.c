/* kahu mover backup|restore|bundle — the cluster data mover.  `backup` and `restore` run
 * in a Job's pod (engine/mover.h): one volume, the location and key from the run
 * bundle; `bundle` writes the run bundle of a location to a directory, for a Secret of
 * one's own (the coordinator's --mover-secret) and for tests. */
#include "cmd/common_opts.h"
#include "cmd/ctx.h"
#include "engine/mover.h"
#include "store/repo.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_mover(struct kahu_ctx *ctx, void **out)
{
	struct mover_spec *s = xcalloc(1, sizeof *s);
	const char *text = inv_str(ctx->inv, OPT_SPEC);
	int restore = strcmp(ctx->inv->cmd->name, "mover restore") == 0;
	int rc;
	if (!text) {
		free(s);
		return kahu_error_set(KAHU_EUSAGE, "%s needs --spec JSON", ctx->inv->cmd->name);
	}
	if ((rc = mover_spec_parse_text(text, s)) < 0) {
		free(s);
		return rc;
	}
	if (s->restore != restore) {
		mover_spec_clear(s);
		free(s);
		return kahu_error_set(KAHU_EUSAGE, "mover spec: op is %s, but the command is %s",
				      restore ? "backup" : "restore", ctx->inv->cmd->name);
	}
	*out = s;
	return 0;
}

static void spec_free(void *p)
{
	if (p) {
		mover_spec_clear(p);
		free(p);
	}
}

static int run_mover(struct kahu_ctx *ctx)
{
	const struct mover_spec *s = ctx->spec;
	char *term = NULL;
	int rc = mover_run(s, inv_str(ctx->inv, OPT_BUNDLE), &term);
	struct kahu_error_state es;
	kahu_error_capture(&es);
	if (mover_termination_write(term) < 0)
		log_warn("%s", kahu_error_last());
	if (rc == 0) {
		printf("%s\n", term);
		if (fflush(stdout) != 0)
			log_warn("cannot write the result to standard output");
	} else {
		fprintf(stderr, "%s\n", term);
	}
	free(term);
	if (rc < 0)
		kahu_error_restore(&es);
	return rc;
}

/* CMD_REPO */
static int run_mover_bundle(struct kahu_ctx *ctx)
{
	const struct kahu_location *loc = repo_location(ctx->repo);
	const struct kahu_key *key = NULL;
	const char *dir = ctx->inv->args.v[0];
	json_t *data = NULL;
	int rc;
	if (!loc->no_encryption && (rc = repo_key(ctx->repo, &key)) < 0)
		return rc;
	if ((rc = mover_bundle_build(loc, key, &data)) < 0)
		return rc;
	rc = mover_bundle_write_dir(data, dir);
	mover_bundle_free(data);
	if (rc == 0)
		log_notice("the run bundle of location %s is in %s (it holds the unlocked key: "
			   "keep it as private as the key)", loc->name, dir);
	return rc;
}

static const struct kahu_opt mover_run_opts[] = {
	OPTION(SPEC, 0, "JSON", "what to do: the volume, the backup, the attempt (kahu(1) "
	       "INTERNAL COMMANDS)", NULL, 0, NULL),
	OPTION(BUNDLE, 0, "DIR", "the run bundle: config.json, key and the files they name",
	       "dir", 0, "/kahu/run"),
	OPT_END
};

const struct kahu_cmd cmd_mover_entry = {
	.name = "mover",
	.summary = "Internal: the data mover run in a cluster's Job (kahu(1))",
	.flags = CMD_NOUN,
};

const struct kahu_cmd cmd_mover_backup_entry = {
	.name = "mover backup",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Back up the volume mounted in this pod straight to the location",
	.opts = mover_run_opts,
	.parse = parse_mover,
	.run = run_mover,
	.spec_free = spec_free,
};

const struct kahu_cmd cmd_mover_restore_entry = {
	.name = "mover restore",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Restore a backup's data into the volume mounted in this pod",
	.opts = mover_run_opts,
	.parse = parse_mover,
	.run = run_mover,
	.spec_free = spec_free,
};

const struct kahu_cmd cmd_mover_bundle_entry = {
	.name = "mover bundle",
	.args = "DIR",
	.min_args = 1,
	.max_args = 1,
	.summary = "Write a location's run bundle for movers (with the unlocked key) to DIR",
	.opts = cmd_repo_key_opts,
	.run = run_mover_bundle,
	.flags = CMD_REPO,
	.args_complete = "dir",
};

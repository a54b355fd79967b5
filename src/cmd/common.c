/* kahu — what the commands share, apart from any one command: the repository options
 * of a run (struct run_repo from the flags), the scope flags, reading a backup's
 * manifest where its contents are trusted (common_opts.h). */
#include "cmd/common_opts.h"

#include <string.h>

#include "engine/scope.h"
#include "util/err.h"
#include "util/timeutil.h"

static int cmd_has_opt(const struct kahu_ctx *ctx, const char *name)
{
	const struct kahu_opt *o = ctx->inv->cmd ? ctx->inv->cmd->opts : NULL;
	for (; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return 1;
	return 0;
}

static const char *cmd_opt_str(const struct kahu_ctx *ctx, const char *name)
{
	return cmd_has_opt(ctx, name) ? inv_str(ctx->inv, name) : NULL;
}

void cmd_repo_opts(const struct kahu_ctx *ctx, struct repo_opts *o)
{
	memset(o, 0, sizeof *o);
	o->config_path = inv_str(ctx->inv, "config");
	o->location = cmd_opt_str(ctx, "location");
	o->key_file = cmd_opt_str(ctx, "key-file");
	o->passphrase_file = cmd_opt_str(ctx, "passphrase-file");
}

int cmd_run_repo(const struct kahu_ctx *ctx, struct run_repo *rr)
{
	memset(rr, 0, sizeof *rr);
	cmd_repo_opts(ctx, &rr->opts);
	rr->lock_wait_text = cmd_opt_str(ctx, "lock-wait");
	rr->allow_unencrypted = cmd_has_opt(ctx, "allow-unencrypted") &&
				inv_count(ctx->inv, "allow-unencrypted") > 0;
	if (rr->lock_wait_text)
		return duration_parse(rr->lock_wait_text, "--lock-wait", &rr->lock_wait);
	return 0;
}

int cmd_open_repo(struct kahu_ctx *ctx, int allow_key_generate, struct repo **out)
{
	struct run_repo rr;
	int rc;
	if ((rc = cmd_run_repo(ctx, &rr)) < 0)
		return rc; /* before anything is opened */
	return run_open_repo(&rr, allow_key_generate, out);
}

int cmd_repo_lock(struct kahu_ctx *ctx, struct repo *repo, const char *purpose, struct store_lock **out)
{
	struct run_repo rr;
	int rc;
	if ((rc = cmd_run_repo(ctx, &rr)) < 0)
		return rc;
	return run_lock(&rr, repo, purpose, out);
}

int cmd_repo_keyed(const struct kahu_ctx *ctx, struct repo *repo)
{
	struct run_repo rr;
	memset(&rr, 0, sizeof rr);
	cmd_repo_opts(ctx, &rr.opts);
	return run_repo_keyed(&rr, repo);
}

int cmd_unencrypted_rule(const struct kahu_ctx *ctx, struct repo *repo, const char *what)
{
	struct run_repo rr;
	memset(&rr, 0, sizeof rr);
	cmd_repo_opts(ctx, &rr.opts);
	rr.allow_unencrypted = cmd_has_opt(ctx, "allow-unencrypted") &&
			       inv_count(ctx->inv, "allow-unencrypted") > 0;
	return run_unencrypted_rule(&rr, repo, what);
}

const struct kahu_opt cmd_repo_key_opts[] = {
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	OPT_END
};

const struct kahu_opt cmd_repo_read_opts[] = {
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_ALLOW_UNENCRYPTED,
	OPT_END
};

/* ---- the scope flags of backup create and restore create ---- */

/* Scope flags shared with restore create. */
int scope_from_flags(const struct kahu_invocation *inv, struct kahu_scope **out)
{
	struct kahu_scope *s = scope_new();
	int rc;
	if ((rc = scope_set_namespaces(s, inv_str(inv, "include-namespaces"), inv_str(inv, "exclude-namespaces"))) < 0 ||
	    (rc = scope_set_resources(s, inv_str(inv, "include-resources"), inv_str(inv, "exclude-resources"))) < 0 ||
	    (rc = scope_set_cluster_resources(s, inv_str(inv, "include-cluster-resources"))) < 0 ||
	    (rc = scope_set_selector(s, inv_str(inv, "selector"))) < 0 ||
	    (rc = scope_set_or_selector(s, inv_str(inv, "or-selector"))) < 0 ||
	    (rc = scope_set_names(s, inv_str(inv, "include-names"), inv_str(inv, "exclude-names"))) < 0) {
		scope_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* ---- reading a backup ---- */

int backup_read_trusted(const struct kahu_ctx *ctx, struct repo *repo, const char *name,
			struct manifest **out)
{
	struct run_repo rr;
	int rc;
	*out = NULL;
	if ((rc = cmd_run_repo(ctx, &rr)) < 0)
		return rc;
	return run_read_trusted(&rr, repo, name, out);
}

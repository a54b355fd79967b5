/* kahu completion SHELL, kahu help [COMMAND], and the hidden helpers the completion
 * scripts and the docs test use (__complete, __dump-cli). */
#include "cmd/ctx.h"
#include "cmd/common_opts.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "store/config.h"
#include "store/loader.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run_completion(struct kahu_ctx *ctx)
{
	return cli_completion(ctx->cmds, ctx->inv->args.v[0], stdout);
}

const struct kahu_cmd cmd_completion_entry = {
	.name = "completion",
	.args = "bash|zsh|fish",
	.min_args = 1,
	.max_args = 1,
	.summary = "Print a shell completion script",
	.run = run_completion,
	.args_complete = "bash zsh fish",
};

static int run_help(struct kahu_ctx *ctx)
{
	const struct strv *a = &ctx->inv->args;
	if (a->n == 0) {
		cli_print_help(ctx->cmds, NULL, NULL, stdout);
		return 0;
	}
	char *words = strv_join(a, " ");
	const struct kahu_cmd *c = cli_find_cmd(ctx->cmds, words);
	int rc = 0;
	if (c && !(c->flags & CMD_HIDDEN))
		cli_print_help(ctx->cmds, c, NULL, stdout);
	else
		rc = kahu_error_set(KAHU_EUSAGE, "no help for \"%s\": not a command; see 'kahu help'", words);
	free(words);
	return rc;
}

const struct kahu_cmd cmd_help_entry = {
	.name = "help",
	.args = "[COMMAND...]",
	.min_args = 0,
	.max_args = -1,
	.summary = "Show help for kahu or one of its commands",
	.run = run_help,
};

static int print_backup_name(void *ud, const struct repo_backup *b)
{
	(void)ud;
	if (b->complete)
		printf("%s\n", b->name);
	return 0;
}

static void ignore_file(void *ud, const struct loader_file *f)
{
	(void)ud;
	(void)f;
}

static void add_provider_name(void *ud, const struct kahu_backend *be, const char *origin)
{
	(void)origin;
	struct strv *names = ud;
	if (!strv_contains(names, be->name))
		strv_push(names, be->name);
}

/* Dynamic completion values.  Failures print nothing: a completion must never spill
 * errors into the user's command line. */
static int run_internal_complete(struct kahu_ctx *ctx)
{
	const char *kind = ctx->inv->args.v[0];
	if (strcmp(kind, "context") == 0) {
		struct strv names = STRV_INIT;
		struct kube_load_opts o = { .kubeconfig = inv_str(ctx->inv, OPT_KUBECONFIG) };
		if (kube_config_list_contexts(&o, &names) == 0)
			for (size_t i = 0; i < names.n; i++)
				printf("%s\n", names.v[i]);
		strv_free(&names);
	} else if (strcmp(kind, "location") == 0) {
		struct kahu_config *cfg = NULL;
		if (config_load(inv_str(ctx->inv, OPT_CONFIG), &cfg) == 0)
			for (size_t i = 0; i < cfg->nlocs; i++)
				printf("%s\n", cfg->locs[i].name);
		config_free(cfg);
	} else if (strcmp(kind, "plan") == 0) {
		struct kahu_config *cfg = NULL;
		const char *k;
		json_t *v;
		if (config_load(inv_str(ctx->inv, OPT_CONFIG), &cfg) == 0 && cfg->doc)
			json_object_foreach(json_object_get(cfg->doc, "plans"), k, v)
				printf("%s\n", k);
		config_free(cfg);
	} else if (strcmp(kind, "provider") == 0) {
		/* The providers the configuration names: its locations' and its passive ones;
		 * and those of the plugin files found (loaded, not opened). */
		struct kahu_config *cfg = NULL;
		struct strv names = STRV_INIT;
		if (config_load(inv_str(ctx->inv, OPT_CONFIG), &cfg) == 0) {
			for (size_t i = 0; i < cfg->nlocs; i++)
				if (!strv_contains(&names, cfg->locs[i].provider))
					strv_push(&names, cfg->locs[i].provider);
			for (size_t i = 0; i < cfg->npassive; i++)
				if (!strv_contains(&names, cfg->passive[i]))
					strv_push(&names, cfg->passive[i]);
			loader_load_all(ignore_file, NULL);
			loader_each_storage(add_provider_name, &names);
		}
		config_free(cfg);
		strv_sort(&names);
		for (size_t i = 0; i < names.n; i++)
			printf("%s\n", names.v[i]);
		strv_free(&names);
	} else if (strcmp(kind, "backup") == 0) {
		struct repo *repo = NULL;
		struct repo_opts o = { .config_path = inv_str(ctx->inv, OPT_CONFIG) };
		if (repo_open(&o, &repo) == 0)
			repo_list_backups(repo, print_backup_name, NULL);
		repo_close(repo);
	} else if (strcmp(kind, "namespace") == 0) {
		struct kube_client *kc;
		struct kube_response resp = { 0 };
		if (ctx_kube_client(ctx, &kc) == 0 &&
		    kube_request(kc, "GET", "/api/v1/namespaces", NULL, NULL, NULL, 0, KUBE_REQ_NO_RETRY, &resp) == 0) {
			json_t *doc = json_loadb(resp.body.data, resp.body.len, 0, NULL);
			size_t i;
			json_t *item;
			json_array_foreach(json_object_get(doc, "items"), i, item)
				printf("%s\n", json_string_value(json_object_get(json_object_get(item, "metadata"), "name")));
			json_decref(doc);
		}
		kube_response_clear(&resp);
	}
	return 0;
}

const struct kahu_cmd cmd_internal_complete_entry = {
	.name = "__complete",
	.args = "KIND",
	.min_args = 1,
	.max_args = 1,
	.summary = "print completion values of a kind (used by the completion scripts)",
	.run = run_internal_complete,
	.flags = CMD_HIDDEN,
};

static void dump_opts(const char *cmd, const struct kahu_opt *o)
{
	for (; o && o->name; o++) {
		if (o->flags & OPTF_HIDDEN)
			continue;
		printf("option\t%s\t--%s", cmd, o->name);
		if (o->short_name)
			printf("\t-%c", o->short_name);
		putchar('\n');
	}
}

/* One line per fact, tab-separated, for tests/cli/t-docs.sh. */
static int run_internal_dump_cli(struct kahu_ctx *ctx)
{
	for (size_t i = 0; ctx->cmds[i]; i++) {
		const struct kahu_cmd *c = ctx->cmds[i];
		if (c->flags & CMD_HIDDEN)
			continue;
		printf("command\t%s\t%s\n", c->name, (c->flags & CMD_NOUN) ? "noun" : "leaf");
		dump_opts(c->name, c->opts);
	}
	dump_opts("(global)", kahu_global_opts);
	for (const struct kahu_exit_code *e = kahu_exit_codes; e->name; e++)
		printf("exit\t%d\t%s\n", e->code, e->name);
	return 0;
}

const struct kahu_cmd cmd_internal_dump_cli_entry = {
	.name = "__dump-cli",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "print the command and option tables (used by the docs test)",
	.run = run_internal_dump_cli,
	.flags = CMD_HIDDEN,
};

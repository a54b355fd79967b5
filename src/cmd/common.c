/* kahu — what the commands share, apart from any one command: the repository options
 * of a run (struct run_repo from the flags) and the scope flags (common_opts.h). */
#include "cmd/common_opts.h"

#include <string.h>

#include "engine/plan.h"
#include "engine/scope.h"
#include "util/buf.h"
#include "engine/volrun.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

/* --config, and --location, --key-file and --passphrase-file when the command has
 * them (absent options stay NULL, so the environment applies). */
static void cmd_repo_opts(const struct kahu_ctx *ctx, struct repo_opts *o)
{
	const struct kahu_invocation *inv = ctx->inv;
	memset(o, 0, sizeof *o);
	o->config_path = inv_str(inv, OPT_CONFIG);
	o->location = inv_has(inv, OPT_LOCATION) ? inv_str(inv, OPT_LOCATION) : NULL;
	o->key_file = inv_has(inv, OPT_KEY_FILE) ? inv_str(inv, OPT_KEY_FILE) : NULL;
	o->passphrase_file = inv_has(inv, OPT_PASSPHRASE_FILE) ? inv_str(inv, OPT_PASSPHRASE_FILE) : NULL;
}

int cmd_run_repo(const struct kahu_ctx *ctx, struct run_repo *rr)
{
	const struct kahu_invocation *inv = ctx->inv;
	memset(rr, 0, sizeof *rr);
	cmd_repo_opts(ctx, &rr->opts);
	rr->lock_wait_text = inv_has(inv, OPT_LOCK_WAIT) ? inv_str(inv, OPT_LOCK_WAIT) : NULL;
	rr->allow_unencrypted = inv_has(inv, OPT_ALLOW_UNENCRYPTED) &&
				inv_count(inv, OPT_ALLOW_UNENCRYPTED) > 0;
	if (rr->lock_wait_text)
		return duration_parse(rr->lock_wait_text, "--lock-wait", &rr->lock_wait);
	return 0;
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

void scope_args_from_flags(const struct kahu_invocation *inv, struct backup_args *a)
{
	a->include_namespaces = inv_str(inv, OPT_INCLUDE_NAMESPACES);
	a->exclude_namespaces = inv_str(inv, OPT_EXCLUDE_NAMESPACES);
	a->include_resources = inv_str(inv, OPT_INCLUDE_RESOURCES);
	a->exclude_resources = inv_str(inv, OPT_EXCLUDE_RESOURCES);
	a->include_cluster_resources = inv_str(inv, OPT_INCLUDE_CLUSTER_RESOURCES);
	a->selector = inv_str(inv, OPT_SELECTOR);
	a->or_selector = inv_str(inv, OPT_OR_SELECTOR);
	a->include_names = inv_str(inv, OPT_INCLUDE_NAMES);
	a->exclude_names = inv_str(inv, OPT_EXCLUDE_NAMES);
}

int scope_from_flags(const struct kahu_invocation *inv, struct kahu_scope **out)
{
	struct backup_args a = { 0 };
	scope_args_from_flags(inv, &a);
	return scope_from_args(&a, out);
}

int scope_from_args(const struct backup_args *a, struct kahu_scope **out)
{
	struct kahu_scope *s = scope_new();
	int rc;
	if ((rc = scope_set_namespaces(s, a->include_namespaces, a->exclude_namespaces)) < 0 ||
	    (rc = scope_set_resources(s, a->include_resources, a->exclude_resources)) < 0 ||
	    (rc = scope_set_cluster_resources(s, a->include_cluster_resources)) < 0 ||
	    (rc = scope_set_selector(s, a->selector)) < 0 ||
	    (rc = scope_set_or_selector(s, a->or_selector)) < 0 ||
	    (rc = scope_set_names(s, a->include_names, a->exclude_names)) < 0) {
		scope_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static const char *js(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

void cmd_print_after_hooks_log(FILE *f, json_t *hooks, const char *when)
{
	size_t i;
	json_t *h;
	json_array_foreach(hooks, i, h) {
		const char *err = json_string_value(json_object_get(h, "error"));
		const char *tail = json_string_value(json_object_get(h, "stderr"));
		char *msg = err ? xasprintf("after hook %s failed (on-error %s): %s: %s%s%s", js(h, "hook"),
					    js(h, "onError"), js(h, "command"), err, tail ? "; stderr: " : "",
					    tail ? tail : "")
				: xasprintf("after hook %s: %s exited 0 after %lld ms", js(h, "hook"),
					    js(h, "command"),
					    (long long)json_integer_value(json_object_get(h, "durationMs")));
		json_t *line = json_pack("{s:s, s:s, s:s, s:b, s:O}", "time", when, "level", err ? "warn" : "info",
					 "msg", msg, "afterCommit", 1, "hook", h);
		char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fprintf(f, "%s\n", text);
		free(text);
		json_decref(line);
		free(msg);
	}
}

void cmd_print_hooks(FILE *f, json_t *hooks)
{
	cmd_print_hooks_titled(f, "Hooks", hooks);
}

void cmd_print_hooks_titled(FILE *f, const char *title, json_t *hooks)
{
	size_t i, failed = 0, warned = 0;
	json_t *h;
	if (!json_array_size(hooks))
		return;
	json_array_foreach(hooks, i, h) {
		failed += strcmp(js(h, "status"), "Failed") == 0;
		warned += strcmp(js(h, "status"), "Warning") == 0;
	}
	fprintf(f, "\n%s: %zu (%zu failed, %zu failed with on-error Continue)\n", title,
		json_array_size(hooks), failed, warned);
	json_array_foreach(hooks, i, h) {
		struct kbuf b = KBUF_INIT;
		kbuf_addf(&b, "  %s %s", js(h, "when"), js(h, "hook"));
		if (*js(h, "pod")) {
			kbuf_adds(&b, " in ");
			kbuf_add_printable(&b, js(h, "namespace"), 0);
			kbuf_addc(&b, '/');
			kbuf_add_printable(&b, js(h, "pod"), 0);
			if (*js(h, "container")) {
				kbuf_adds(&b, " container ");
				kbuf_add_printable(&b, js(h, "container"), 0);
			}
		}
		kbuf_adds(&b, ": ");
		kbuf_add_printable(&b, js(h, "command"), 0);
		kbuf_addf(&b, ": %s (%lld ms)", js(h, "status"),
			  (long long)json_integer_value(json_object_get(h, "durationMs")));
		if (*js(h, "error")) {
			kbuf_adds(&b, ": ");
			kbuf_add_printable(&b, js(h, "error"), 0);
		}
		if (*js(h, "stderr")) {
			kbuf_adds(&b, "; stderr: ");
			kbuf_add_printable(&b, js(h, "stderr"), 0);
		}
		fprintf(f, "%s\n", kbuf_str(&b));
		kbuf_free(&b);
	}
}

static const char *opt_if(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	return inv_has(inv, id) ? inv_str(inv, id) : NULL;
}

static const struct strv *list_if(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	return inv_has(inv, id) ? inv_list(inv, id) : NULL;
}

static int count_if(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	return inv_has(inv, id) && inv_count(inv, id) > 0;
}

int vol_flags_parse(const struct kahu_invocation *inv, int restore, struct vol_opts *out)
{
	const struct vol_flags f = {
		.volume_data = opt_if(inv, OPT_VOLUME_DATA),
		.volume_policy = opt_if(inv, OPT_VOLUME_POLICY),
		.helper_image = opt_if(inv, OPT_HELPER_IMAGE),
		.helper_resources = opt_if(inv, OPT_HELPER_RESOURCES),
		.snapshot_class = opt_if(inv, OPT_SNAPSHOT_CLASS),
		.csi_snapshot_timeout = opt_if(inv, OPT_CSI_SNAPSHOT_TIMEOUT),
		.exclude_paths = list_if(inv, OPT_EXCLUDE_VOLUME_PATHS),
		.node_selector = list_if(inv, OPT_HELPER_NODE_SELECTOR),
		.tolerations = list_if(inv, OPT_HELPER_TOLERATIONS),
		.snapshot_move_data = opt_if(inv, OPT_SNAPSHOT_MOVE_DATA),
		.restore_volumes = opt_if(inv, OPT_RESTORE_VOLUMES),
		.pvcs = list_if(inv, OPT_PVC),
		.volumes_only = count_if(inv, OPT_VOLUMES_ONLY),
		.scale_down = count_if(inv, OPT_SCALE_DOWN),
		.delete_extra_files = count_if(inv, OPT_DELETE_EXTRA_FILES),
		.data_mover = opt_if(inv, OPT_DATA_MOVER),
		.movers_per_node = opt_if(inv, OPT_MOVERS_PER_NODE),
		.mover_timeout = opt_if(inv, OPT_MOVER_TIMEOUT),
		.mover_image = opt_if(inv, OPT_MOVER_IMAGE),
		.mover_secret = opt_if(inv, OPT_MOVER_SECRET),
		.mover_retries = opt_if(inv, OPT_MOVER_RETRIES),
	};
	return vol_opts_parse(&f, restore, out);
}

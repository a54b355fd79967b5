/* kahu provider list|describe|register|unregister|enable|disable — the storage
 * providers kahu can load (store/loader.h) and their state in the configuration
 * (store/config.h "providers": registered plugin files, passive providers). */
#include "cmd/ctx.h"
#include "store/config.h"
#include "store/loader.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- what was found ---- */

struct found_file {
	char *path, *real, *source, *why;
	int err;
};

struct found {
	struct found_file *files;
	size_t nfiles;
	json_t *providers;   /* array of objects, in registration order */
};

static void on_file(void *ud, const struct loader_file *f)
{
	struct found *fd = ud;
	fd->files = xrealloc(fd->files, (fd->nfiles + 1) * sizeof *fd->files);
	struct found_file *ff = &fd->files[fd->nfiles++];
	ff->path = xstrdup(f->path);
	ff->real = xstrdup(f->real);
	ff->source = xstrdup(f->source);
	ff->why = xstrdup(f->why);
	ff->err = f->err;
}

static const char *source_of(const struct found *fd, const char *origin)
{
	for (size_t i = 0; i < fd->nfiles; i++)
		if (fd->files[i].real && strcmp(fd->files[i].real, origin) == 0)
			return fd->files[i].source;
	return "loaded";
}

struct each_ctx {
	struct found *fd;
	const struct kahu_config *cfg;
};

static const char *state_of(const struct kahu_config *cfg, const char *name)
{
	return config_provider_passive(cfg, name) ? "passive" : "active";
}

static json_t *provider_json(const struct kahu_config *cfg, const struct kahu_backend *be,
			     const char *origin, const char *source)
{
	char abi[32];
	snprintf(abi, sizeof abi, "%u.%u", be->abi_major, be->abi_minor);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", be->name, "version",
			 be->version ? be->version : "", "abi", abi, "state",
			 state_of(cfg, be->name), "source", source, "path", origin,
			 "description", be->description ? be->description : "");
}

static void on_provider(void *ud, const struct kahu_backend *be, const char *origin)
{
	struct each_ctx *c = ud;
	json_array_append_new(c->fd->providers,
			      provider_json(c->cfg, be, origin, source_of(c->fd, origin)));
}

static int provider_listed(const struct found *fd, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(fd->providers, i, p)
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
			return 1;
	return 0;
}

/* Load every plugin file there is and collect the providers and refusals. */
static void find_all(const struct kahu_config *cfg, struct found *fd)
{
	memset(fd, 0, sizeof *fd);
	fd->providers = json_array();
	loader_load_all(on_file, fd);
	struct each_ctx c = { fd, cfg };
	loader_each_storage(on_provider, &c);
	/* The copy of fs linked into kahu serves when no module of it was found. */
	const struct kahu_backend *be;
	const char *origin;
	if (!provider_listed(fd, "fs") && store_find_provider("fs", &be, &origin) == 0)
		json_array_append_new(fd->providers, provider_json(cfg, be, origin, "built-in"));
}

static void found_free(struct found *fd)
{
	for (size_t i = 0; i < fd->nfiles; i++) {
		free(fd->files[i].path);
		free(fd->files[i].real);
		free(fd->files[i].source);
		free(fd->files[i].why);
	}
	free(fd->files);
	json_decref(fd->providers);
}

static int load_config(struct kahu_ctx *ctx, struct kahu_config **cfg)
{
	return config_load(inv_str(ctx->inv, OPT_CONFIG), cfg);
}

static int print_doc(struct kahu_ctx *ctx, json_t *doc)
{
	return ctx->out == OUT_YAML ? out_yaml(stdout, doc) : out_json(stdout, doc);
}

/* ---- list ---- */

static int run_provider_list(struct kahu_ctx *ctx)
{
	struct kahu_config *cfg = NULL;
	struct found fd;
	int rc;
	if ((rc = load_config(ctx, &cfg)) < 0)
		return rc;
	find_all(cfg, &fd);
	json_t *refused = json_array();
	for (size_t i = 0; i < fd.nfiles; i++)
		if (fd.files[i].err < 0)
			json_array_append_new(refused, json_pack("{s:s, s:s, s:s}", "path",
								 fd.files[i].path, "source",
								 fd.files[i].source, "reason",
								 fd.files[i].why));
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *doc = json_pack("{s:O, s:O}", "providers", fd.providers, "refused", refused);
		rc = print_doc(ctx, doc);
		json_decref(doc);
	} else {
		static const char *const hdr[] = { "NAME", "VERSION", "ABI", "STATE", "SOURCE",
						   "PATH" };
		struct out_table *t = out_table_new(6, hdr);
		size_t i;
		json_t *p;
		json_array_foreach(fd.providers, i, p) {
			const char *cells[6] = {
				json_string_value(json_object_get(p, "name")),
				json_string_value(json_object_get(p, "version")),
				json_string_value(json_object_get(p, "abi")),
				json_string_value(json_object_get(p, "state")),
				json_string_value(json_object_get(p, "source")),
				json_string_value(json_object_get(p, "path")),
			};
			out_table_row(t, cells);
		}
		out_table_print(t, stdout);
		out_table_free(t);
		if (json_array_size(refused)) {
			json_t *r;
			printf("\nRefused:\n");
			json_array_foreach(refused, i, r)
				printf("  (%s) %s\n", json_string_value(json_object_get(r, "source")),
				       json_string_value(json_object_get(r, "reason")));
		}
	}
	json_decref(refused);
	found_free(&fd);
	config_free(cfg);
	return rc;
}

/* ---- describe ---- */

static const struct {
	uint64_t bit;
	const char *name;
} cap_names[] = {
	{ KAHU_BACKEND_CAP_METADATA, "metadata" },
	{ KAHU_BACKEND_CAP_VOLUME_DATA, "volume-data" },
	{ KAHU_BACKEND_CAP_RANGE_READ, "range-read" },
	{ KAHU_BACKEND_CAP_ATOMIC_PUT, "atomic-put" },
	{ KAHU_BACKEND_CAP_EXCLUSIVE_PUT, "exclusive-put" },
	{ KAHU_BACKEND_CAP_SERVER_COPY, "server-copy" },
	{ KAHU_BACKEND_CAP_LOCAL, "local" },
	{ KAHU_BACKEND_CAP_PUT_RETRY, "put-retry" },
};

static int run_provider_describe(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct kahu_config *cfg = NULL;
	const struct kahu_backend *be;
	const char *origin;
	int rc;
	if ((rc = load_config(ctx, &cfg)) < 0)
		return rc;
	if ((rc = store_find_provider(name, &be, &origin)) < 0)
		goto out;
	json_t *caps = json_array();
	for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
		if (be->capabilities & cap_names[i].bit)
			json_array_append_new(caps, json_string(cap_names[i].name));
	json_t *keys = json_array();
	for (const struct kahu_backend_option *o = be->options; o && o->key; o++)
		json_array_append_new(keys, json_pack("{s:s, s:b, s:s}", "key", o->key, "required",
						      (o->flags & KAHU_BACKEND_OPT_REQUIRED) != 0,
						      "description",
						      o->description ? o->description : ""));
	json_t *doc = provider_json(cfg, be, origin,
				    strncmp(origin, "built-in", 8) == 0 ? "built-in" : "loaded");
	json_object_del(doc, "source");
	json_object_set_new(doc, "capabilities", caps);
	json_object_set_new(doc, "configKeys", keys);
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		rc = print_doc(ctx, doc);
	} else {
		printf("Name:          %s\n", be->name);
		printf("Version:       %s\n", be->version ? be->version : "");
		printf("Description:   %s\n", be->description ? be->description : "");
		printf("ABI:           %s\n", json_string_value(json_object_get(doc, "abi")));
		printf("State:         %s%s\n", state_of(cfg, be->name),
		       config_provider_passive(cfg, be->name) ?
		       " (serves reads and restores; no new backups)" : "");
		printf("Loaded from:   %s\n", origin);
		printf("Capabilities:");
		size_t i;
		json_t *v;
		json_array_foreach(caps, i, v)
			printf("%s%s", i ? ", " : "  ", json_string_value(v));
		printf("%s\n", json_array_size(caps) ? "" : "  none");
		printf("Config keys:%s\n", json_array_size(keys) ? "" : "   none");
		size_t w = 0;
		json_array_foreach(keys, i, v) {
			size_t l = strlen(json_string_value(json_object_get(v, "key")));
			if (l > w)
				w = l;
		}
		json_array_foreach(keys, i, v)
			printf("  %-*s  %s%s\n", (int)w, json_string_value(json_object_get(v, "key")),
			       json_is_true(json_object_get(v, "required")) ? "(required) " : "",
			       json_string_value(json_object_get(v, "description")));
	}
	json_decref(doc);
out:
	config_free(cfg);
	return rc;
}

/* ---- register, unregister ---- */

struct names_ctx {
	const char *origin;
	struct strv *names;
};

static void collect_names(void *ud, const struct kahu_backend *be, const char *origin)
{
	struct names_ctx *c = ud;
	if (strcmp(origin, c->origin) == 0)
		strv_push(c->names, be->name);
}

static void names_from(const char *real, struct strv *names)
{
	struct names_ctx c = { real, names };
	loader_each_storage(collect_names, &c);
}

static int run_provider_register(struct kahu_ctx *ctx)
{
	const char *path = ctx->inv->args.v[0];
	struct kahu_config *cfg = NULL;
	struct strv names = STRV_INIT;
	char real[PATH_MAX];
	int rc;
	if ((rc = load_config(ctx, &cfg)) < 0)
		return rc;
	if (!realpath(path, real)) {
		rc = kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO, "plugin %s: %s", path,
				    strerror(errno));
		goto out;
	}
	/* Loaded once here, with the loader's checks and refusals. */
	if ((rc = loader_load_file(real, NULL)) < 0)
		goto out;
	names_from(real, &names);
	if (names.n == 0) {
		rc = kahu_error_set(KAHU_EFAIL, "plugin %s registers no storage provider of its "
				    "own (a file loaded earlier provides its names): not registered",
				    real);
		goto out;
	}
	char *list = strv_join(&names, ", ");
	if (!config_add_plugin(cfg, real)) {
		printf("Plugin %s is registered already (providers: %s)\n", real, list);
	} else if ((rc = config_save(cfg, NULL)) == 0) {
		printf("Registered plugin %s (providers: %s) in %s\n", real, list, cfg->path);
	}
	free(list);
out:
	strv_free(&names);
	config_free(cfg);
	return rc;
}

/* The registered file that provides `arg` (a provider name), or `arg` itself when it
 * is a registered file. */
static int find_registered(struct kahu_config *cfg, const char *arg, char **out)
{
	*out = NULL;
	for (size_t i = 0; i < cfg->nplugins; i++) {
		char real[PATH_MAX];
		if (strcmp(cfg->plugins[i], arg) == 0 ||
		    (realpath(arg, real) && strcmp(cfg->plugins[i], real) == 0)) {
			*out = xstrdup(cfg->plugins[i]);
			return 0;
		}
	}
	for (size_t i = 0; i < cfg->nplugins; i++) {
		char real[PATH_MAX];
		struct strv names = STRV_INIT;
		if (loader_load_file(cfg->plugins[i], NULL) == 0 && realpath(cfg->plugins[i], real))
			names_from(real, &names);
		int hit = strv_contains(&names, arg);
		strv_free(&names);
		if (hit) {
			*out = xstrdup(cfg->plugins[i]);
			return 0;
		}
	}
	const struct kahu_backend *be;
	const char *origin;
	if (store_find_provider(arg, &be, &origin) == 0)
		return kahu_error_set(KAHU_ENOTFOUND, "provider %s is not registered in %s: it is "
				      "loaded from %s (a directory kahu searches; remove the file "
				      "there to remove it)", arg, cfg->path, origin);
	if (cfg->nplugins == 0)
		return kahu_error_set(KAHU_ENOTFOUND, "no plugin is registered in %s", cfg->path);
	char *p = NULL;
	struct kbuf b = KBUF_INIT;
	for (size_t i = 0; i < cfg->nplugins; i++)
		kbuf_addf(&b, "%s%s", i ? ", " : "", cfg->plugins[i]);
	p = xstrdup(kbuf_str(&b));
	kbuf_free(&b);
	int rc = kahu_error_set(KAHU_ENOTFOUND, "no registered plugin provides %s (registered: %s)",
				arg, p);
	free(p);
	return rc;
}

static int run_provider_unregister(struct kahu_ctx *ctx)
{
	const char *arg = ctx->inv->args.v[0];
	struct kahu_config *cfg = NULL;
	char *file = NULL;
	int rc;
	if ((rc = load_config(ctx, &cfg)) < 0)
		return rc;
	if ((rc = find_registered(cfg, arg, &file)) < 0)
		goto out;
	config_remove_plugin(cfg, file);
	if ((rc = config_save(cfg, NULL)) < 0)
		goto out;
	printf("Unregistered plugin %s from %s\n", file, cfg->path);
	for (size_t i = 0; i < cfg->nlocs; i++)
		if (strcmp(cfg->locs[i].provider, arg) == 0)
			log_warn("location %s uses provider %s, which kahu may no longer find",
				 cfg->locs[i].name, arg);
out:
	free(file);
	config_free(cfg);
	return rc;
}

/* ---- enable, disable ---- */

static int set_state(struct kahu_ctx *ctx, int passive)
{
	const char *name = ctx->inv->args.v[0];
	struct kahu_config *cfg = NULL;
	const struct kahu_backend *be;
	const char *origin;
	int rc;
	if ((rc = load_config(ctx, &cfg)) < 0)
		return rc;
	/* Enabling a provider that cannot be found any more is allowed: it only clears
	 * the configuration's mark. */
	if ((!config_provider_passive(cfg, name) || passive) &&
	    (rc = store_find_provider(name, &be, &origin)) < 0)
		goto out;
	if (!config_set_provider_passive(cfg, name, passive)) {
		printf("Provider %s is %s already\n", name, passive ? "disabled (passive)" : "active");
		goto out;
	}
	if ((rc = config_save(cfg, NULL)) < 0)
		goto out;
	if (passive)
		printf("Provider %s is disabled (passive): its locations serve reads and restores "
		       "only, no new backups, deletions or prunes\n", name);
	else
		printf("Provider %s is active\n", name);
out:
	config_free(cfg);
	return rc;
}

static int run_provider_enable(struct kahu_ctx *ctx) { return set_state(ctx, 0); }
static int run_provider_disable(struct kahu_ctx *ctx) { return set_state(ctx, 1); }

/* ---- tables ---- */

static const struct kahu_opt provider_no_opts[] = { OPT_END };

const struct kahu_cmd cmd_provider_entry = {
	.name = "provider",
	.summary = "List, describe, register and enable storage providers",
	.flags = CMD_NOUN,
};

const struct kahu_cmd cmd_provider_list_entry = {
	.name = "provider list", .args = "", .min_args = 0, .max_args = 0,
	.summary = "List every storage provider found, and the plugin files refused",
	.outputs = "table json yaml", .opts = provider_no_opts, .run = run_provider_list,
};

const struct kahu_cmd cmd_provider_describe_entry = {
	.name = "provider describe", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Show a provider's identity, capabilities and configuration keys",
	.outputs = "table json yaml", .opts = provider_no_opts, .run = run_provider_describe,
	.args_complete = "@provider",
};

const struct kahu_cmd cmd_provider_register_entry = {
	.name = "provider register", .args = "PATH", .min_args = 1, .max_args = 1,
	.summary = "Check a plugin file and record it in the configuration",
	.opts = provider_no_opts, .run = run_provider_register, .args_complete = "file",
};

const struct kahu_cmd cmd_provider_unregister_entry = {
	.name = "provider unregister", .args = "NAME|PATH", .min_args = 1, .max_args = 1,
	.summary = "Remove a registered plugin file from the configuration",
	.opts = provider_no_opts, .run = run_provider_unregister, .args_complete = "@provider",
};

const struct kahu_cmd cmd_provider_enable_entry = {
	.name = "provider enable", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Make a provider active again",
	.opts = provider_no_opts, .run = run_provider_enable, .args_complete = "@provider",
};

const struct kahu_cmd cmd_provider_disable_entry = {
	.name = "provider disable", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Make a provider passive: reads and restores only, no new backups",
	.opts = provider_no_opts, .run = run_provider_disable, .args_complete = "@provider",
};

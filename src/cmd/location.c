/* kahu location add|list|describe|remove|set-default|probe — the locations of the
 * configuration (store/config.h), written back atomically; and kahu location repair —
 * rewrite a location's kahu-repo.json from what the location holds (store/repo.h
 * repo_repair): the key ids its backups' manifests and wrapped keys name, checked
 * against the key in use. */
#include "cmd/common_opts.h"
#include "cmd/ctx.h"
#include "store/repo.h"
#include "store/loader.h"
#include "util/backoff.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* CMD_LOCK */
static int run_location_repair(struct kahu_ctx *ctx)
{
	struct repo *r = ctx->repo;
	struct repo_repair rr = { 0 };
	json_t *doc = NULL;
	int rc;

	if ((rc = repo_repair(r, &rr)) < 0)
		goto out;

	const char *loc = repo_location(r)->name;
	char created[32];
	time_rfc3339((time_t)rr.created, created, sizeof created);
	doc = json_pack("{s:s, s:s, s:b, s:o, s:o, s:s, s:I, s:I, s:I}", "location", loc, "file",
			LAYOUT_REPO_FILE, "rewritten", rr.rewritten, "problem",
			rr.was ? json_string(rr.was) : json_null(), "keyId",
			rr.key_id[0] ? json_string(rr.key_id) : json_null(), "created", created,
			"backups", (json_int_t)rr.nbackups, "authenticated",
			(json_int_t)rr.nverified, "wrappedKeys", (json_int_t)rr.nwrapped);
	switch (ctx->out) {
	case OUT_JSON:
		rc = out_json(stdout, doc);
		break;
	case OUT_YAML:
		rc = out_yaml(stdout, doc);
		break;
	default: {
		char key[64];
		if (rr.key_id[0])
			snprintf(key, sizeof key, "key %s", rr.key_id);
		else
			snprintf(key, sizeof key, "no key (unencrypted)");
		if (rr.rewritten)
			printf("Rewrote %s on location %s (it was %s)\n", LAYOUT_REPO_FILE, loc, rr.was);
		else
			printf("%s on location %s is intact: nothing to repair\n", LAYOUT_REPO_FILE, loc);
		printf("Key:      %s\n", key);
		printf("Backups:  %" PRIu64 " (%" PRIu64 " authenticated with the key)\n",
		       rr.nbackups, rr.nverified);
		printf("Wrapped:  %" PRIu64 " passphrase%s\n", rr.nwrapped,
		       rr.nwrapped == 1 ? "" : "s");
		printf("Created:  %s\n", created);
		break;
	}
	}
out:
	repo_repair_clear(&rr);
	json_decref(doc);
	return rc;
}

static const struct kahu_opt location_repair_opts[] = {
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

const struct kahu_cmd cmd_location_entry = {
	.name = "location",
	.summary = "Look after a storage location",
	.flags = CMD_NOUN,
};

const struct kahu_cmd cmd_location_repair_entry = {
	.name = "location repair",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Rewrite the location's kahu-repo.json from its backups and the key in use",
	.outputs = "table json yaml",
	.opts = location_repair_opts,
	.run = run_location_repair,
	.flags = CMD_LOCK,
};

/* ---- add ---- */

struct add_spec {
	struct kahu_location loc;
	int make_default;
};

static void add_spec_free(void *p)
{
	struct add_spec *s = p;
	if (!s)
		return;
	free(s->loc.name);
	free(s->loc.provider);
	for (size_t i = 0; i < s->loc.nkv; i++) {
		free((char *)s->loc.kv[i].key);
		free((char *)s->loc.kv[i].value);
	}
	free(s->loc.kv);
	free(s->loc.key_file);
	free(s->loc.passphrase_file);
	free(s);
}

/* A file named on the command line, made absolute (relative to the working
 * directory): the configuration is read from elsewhere. */
static char *absolute(const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		const char *home = getenv("HOME");
		return xasprintf("%s%s", home ? home : "", p + 1);
	}
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		return xstrdup(p);
	return xasprintf("%s/%s", cwd, p);
}

static int add_kv(struct kahu_location *l, const char *k, size_t klen, const char *v)
{
	for (size_t i = 0; i < l->nkv; i++)
		if (strlen(l->kv[i].key) == klen && strncmp(l->kv[i].key, k, klen) == 0)
			return kahu_error_set(KAHU_EUSAGE, "--set: the key \"%.*s\" is given twice",
					      (int)klen, k);
	l->kv = xrealloc(l->kv, (l->nkv + 1) * sizeof *l->kv);
	l->kv[l->nkv].key = xstrndup(k, klen);
	l->kv[l->nkv].value = xstrdup(v);
	l->nkv++;
	return 0;
}

/* --set KEY=VALUE[,KEY=VALUE], repeatable. */
static int parse_set(const struct strv *sets, struct kahu_location *l)
{
	for (size_t i = 0; sets && i < sets->n; i++) {
		char *all = xstrdup(sets->v[i]), *save = NULL;
		int rc = 0;
		for (char *item = strtok_r(all, ",", &save); item && rc == 0;
		     item = strtok_r(NULL, ",", &save)) {
			const char *eq = strchr(item, '=');
			if (!eq || eq == item)
				rc = kahu_error_set(KAHU_EUSAGE, "--set %s: expected KEY=VALUE "
						    "(several separated by ',')", sets->v[i]);
			else
				rc = add_kv(l, item, (size_t)(eq - item), eq + 1);
		}
		free(all);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_location_add(struct kahu_ctx *ctx, void **out)
{
	const struct kahu_invocation *inv = ctx->inv;
	const char *name = inv->args.v[0];
	const char *provider = inv_str(inv, OPT_PROVIDER);
	const char *cfgfile = inv_str(inv, OPT_CONFIG);
	int nkeys = (inv_str(inv, OPT_KEY_FILE) != NULL) +
		    (inv_str(inv, OPT_PASSPHRASE_FILE) != NULL) +
		    (inv_count(inv, OPT_NO_ENCRYPTION) > 0);
	int rc;

	if (!config_location_name_ok(name))
		return kahu_error_set(KAHU_EUSAGE, "invalid location name \"%s\": 1 to 63 letters, "
				      "digits, '-', '_' or '.', starting with a letter or digit", name);
	if (cfgfile && strchr(cfgfile, '=') && access(cfgfile, F_OK) != 0)
		return kahu_error_set(KAHU_EUSAGE, "--config %s: --config names kahu's "
				      "configuration file; give the provider's settings with --set "
				      "KEY=VALUE", cfgfile);
	if (!provider)
		return kahu_error_set(KAHU_EUSAGE, "location add: --provider is required (see "
				      "'kahu provider list')");
	if (nkeys > 1)
		return kahu_error_set(KAHU_EUSAGE, "location add: --key-file, --passphrase-file "
				      "and --no-encryption exclude each other");
	struct add_spec *s = xcalloc(1, sizeof *s);
	s->loc.name = xstrdup(name);
	s->loc.provider = xstrdup(provider);
	s->loc.kv = xcalloc(1, sizeof *s->loc.kv);
	s->make_default = inv_count(inv, OPT_DEFAULT) > 0;
	if ((rc = parse_set(inv_list(inv, OPT_SET), &s->loc)) < 0)
		goto fail;
	const char *prefix = inv_str(inv, OPT_PREFIX);
	if (prefix && (rc = add_kv(&s->loc, "prefix", 6, prefix)) < 0) {
		rc = kahu_error_set(KAHU_EUSAGE, "--prefix and --set prefix=… both name the prefix");
		goto fail;
	}
	if (inv_str(inv, OPT_KEY_FILE))
		s->loc.key_file = absolute(inv_str(inv, OPT_KEY_FILE));
	if (inv_str(inv, OPT_PASSPHRASE_FILE))
		s->loc.passphrase_file = absolute(inv_str(inv, OPT_PASSPHRASE_FILE));
	s->loc.no_encryption = inv_count(inv, OPT_NO_ENCRYPTION) > 0;
	*out = s;
	return 0;
fail:
	add_spec_free(s);
	return rc;
}

/* Keep the built-in default location when the file is first written: once the file
 * names a location, the embedded one no longer applies. */
static void keep_embedded(struct kahu_config *cfg)
{
	for (size_t i = 0; i < cfg->nlocs; i++)
		cfg->locs[i].embedded = 0;
}

static int run_location_add(struct kahu_ctx *ctx)
{
	struct add_spec *s = ctx->spec;
	struct kahu_config *cfg = NULL;
	const struct kahu_location *old;
	const struct kahu_backend *be;
	const char *origin;
	int rc;

	if ((rc = config_load(inv_str(ctx->inv, OPT_CONFIG), &cfg)) < 0)
		return rc;
	if (config_location(cfg, s->loc.name, &old) == 0) {
		rc = kahu_error_set(KAHU_EEXIST, "location %s exists already in %s (provider %s); "
				    "'kahu location remove %s' first to replace it", s->loc.name,
				    cfg->path, old->provider, s->loc.name);
		goto out;
	}
	if ((rc = store_find_provider(s->loc.provider, &be, &origin)) < 0)
		goto out;
	if (location_config_get(&s->loc, "prefix") && inv_str(ctx->inv, OPT_PREFIX)) {
		const struct kahu_backend_option *o = be->options;
		while (o && o->key && strcmp(o->key, "prefix") != 0)
			o++;
		if (!o || !o->key) {
			rc = kahu_error_set(KAHU_ECONFIG, "--prefix: provider %s has no \"prefix\" "
					    "setting (see 'kahu provider describe %s')",
					    be->name, be->name);
			goto out;
		}
	}
	/* The provider's declared keys, before anything is opened. */
	if ((rc = store_check_config(be, s->loc.kv, s->loc.nkv)) < 0)
		goto out;
	if (strcmp(be->name, "fs") == 0) {
		for (size_t i = 0; i < s->loc.nkv; i++)
			if (strcmp(s->loc.kv[i].key, "path") == 0) {
				char *a = absolute(s->loc.kv[i].value);
				free((char *)s->loc.kv[i].value);
				s->loc.kv[i].value = a;
			}
	}
	if (config_provider_passive(cfg, be->name))
		log_warn("provider %s is disabled (passive): location %s serves reads and restores "
			 "only until 'kahu provider enable %s'", be->name, s->loc.name, be->name);
	keep_embedded(cfg);
	config_set_location(cfg, &s->loc, s->make_default);
	if ((rc = config_save(cfg, NULL)) < 0)
		goto out;
	printf("Added location %s (provider %s)%s to %s\n", s->loc.name, be->name,
	       s->make_default ? " as the default" : "", cfg->path);
	if (s->loc.no_encryption)
		printf("Backups on it are NOT encrypted (their Secrets too).\n");
out:
	config_free(cfg);
	return rc;
}

/* ---- list, describe ---- */

static const char *default_name(const struct kahu_config *cfg)
{
	const struct kahu_location *d;
	int rc = config_location(cfg, NULL, &d);
	kahu_error_clear();
	return rc == 0 ? d->name : NULL;
}

static const char *encryption_of(const struct kahu_location *l)
{
	if (l->no_encryption)
		return "none";
	if (l->passphrase_file)
		return "passphrase file";
	if (l->key_file)
		return "key file";
	return "default key";
}

static json_t *location_doc(const struct kahu_config *cfg, const struct kahu_location *l)
{
	const char *def = default_name(cfg);
	json_t *c = json_object();
	for (size_t i = 0; i < l->nkv; i++)
		json_object_set_new(c, l->kv[i].key, json_string(l->kv[i].value));
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:o, s:s, s:s, s:b}", "name", l->name,
			      "provider", l->provider, "providerState",
			      config_provider_passive(cfg, l->provider) ? "passive" : "active",
			      "default", def && strcmp(def, l->name) == 0, "config", c, "access",
			      l->access == LOCATION_READ_ONLY ? "ReadOnly" : "ReadWrite",
			      "encryption", encryption_of(l), "builtIn", l->embedded);
	json_object_set_new(o, "keyFile", l->key_file ? json_string(l->key_file) : json_null());
	json_object_set_new(o, "passphraseFile",
			    l->passphrase_file ? json_string(l->passphrase_file) : json_null());
	return o;
}

static char *config_line(const struct kahu_location *l)
{
	struct kbuf b = KBUF_INIT;
	for (size_t i = 0; i < l->nkv; i++)
		kbuf_addf(&b, "%s%s=%s", i ? "," : "", l->kv[i].key, l->kv[i].value);
	char *s = xstrdup(kbuf_str(&b));
	kbuf_free(&b);
	return s;
}

static int run_location_list(struct kahu_ctx *ctx)
{
	struct kahu_config *cfg = NULL;
	int rc;
	if ((rc = config_load(inv_str(ctx->inv, OPT_CONFIG), &cfg)) < 0)
		return rc;
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *a = json_array();
		for (size_t i = 0; i < cfg->nlocs; i++)
			json_array_append_new(a, location_doc(cfg, &cfg->locs[i]));
		json_t *doc = json_pack("{s:s, s:o}", "file", cfg->path, "locations", a);
		rc = ctx->out == OUT_YAML ? out_yaml(stdout, doc) : out_json(stdout, doc);
		json_decref(doc);
	} else if (ctx->out == OUT_NAME) {
		for (size_t i = 0; i < cfg->nlocs; i++)
			printf("%s\n", cfg->locs[i].name);
	} else {
		static const char *const hdr[] = { "NAME", "PROVIDER", "DEFAULT", "STATE", "ACCESS",
						   "ENCRYPTION", "CONFIG" };
		const char *def = default_name(cfg);
		struct out_table *t = out_table_new(7, hdr);
		for (size_t i = 0; i < cfg->nlocs; i++) {
			const struct kahu_location *l = &cfg->locs[i];
			char *c = config_line(l);
			const char *cells[7] = {
				l->name, l->provider, def && strcmp(def, l->name) == 0 ? "*" : "",
				config_provider_passive(cfg, l->provider) ? "passive" : "active",
				l->access == LOCATION_READ_ONLY ? "ReadOnly" : "ReadWrite",
				encryption_of(l), c,
			};
			out_table_row(t, cells);
			free(c);
		}
		out_table_print(t, stdout);
		out_table_free(t);
	}
	config_free(cfg);
	return rc;
}

static int run_location_describe(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct kahu_config *cfg = NULL;
	const struct kahu_location *l;
	int rc;
	if ((rc = config_load(inv_str(ctx->inv, OPT_CONFIG), &cfg)) < 0)
		return rc;
	if ((rc = config_location(cfg, name, &l)) < 0)
		goto out;
	json_t *doc = location_doc(cfg, l);
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		rc = ctx->out == OUT_YAML ? out_yaml(stdout, doc) : out_json(stdout, doc);
	} else {
		printf("Name:        %s%s\n", l->name,
		       json_is_true(json_object_get(doc, "default")) ? " (default)" : "");
		printf("Provider:    %s (%s)\n", l->provider,
		       json_string_value(json_object_get(doc, "providerState")));
		printf("Config:\n");
		for (size_t i = 0; i < l->nkv; i++)
			printf("  %s: %s\n", l->kv[i].key, l->kv[i].value);
		printf("Access:      %s\n", json_string_value(json_object_get(doc, "access")));
		printf("Encryption:  %s", encryption_of(l));
		if (l->key_file)
			printf(" (%s)", l->key_file);
		else if (l->passphrase_file)
			printf(" (%s)", l->passphrase_file);
		printf("\n");
		printf("Defined in:  %s\n", l->embedded ? "built in (no configuration file names "
		       "a location)" : cfg->path);
	}
	json_decref(doc);
out:
	config_free(cfg);
	return rc;
}

/* ---- remove, set-default ---- */

static int run_location_remove(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct kahu_config *cfg = NULL;
	const struct kahu_location *l;
	int rc;
	if ((rc = config_load(inv_str(ctx->inv, OPT_CONFIG), &cfg)) < 0)
		return rc;
	if ((rc = config_location(cfg, name, &l)) < 0)
		goto out;
	if (l->embedded) {
		rc = kahu_error_set(KAHU_ECONFIG, "location %s is the built-in default: no "
				    "configuration file names it, so there is nothing to remove",
				    name);
		goto out;
	}
	const char *def = default_name(cfg);
	if (def && strcmp(def, name) == 0) {
		rc = kahu_error_set(KAHU_EUSAGE, "location %s is the default location: make "
				    "another one the default first ('kahu location set-default "
				    "NAME')", name);
		goto out;
	}
	char *where = config_line(l);
	char *prov = xstrdup(l->provider);
	keep_embedded(cfg);
	if ((rc = config_remove_location(cfg, name)) == 0 && (rc = config_save(cfg, NULL)) == 0)
		printf("Removed location %s from %s; its backups were not deleted: they stay where "
		       "they are (provider %s, %s)\n", name, cfg->path, prov, where);
	free(prov);
	free(where);
out:
	config_free(cfg);
	return rc;
}

static int run_location_set_default(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct kahu_config *cfg = NULL;
	const struct kahu_location *l;
	int rc;
	if ((rc = config_load(inv_str(ctx->inv, OPT_CONFIG), &cfg)) < 0)
		return rc;
	if ((rc = config_location(cfg, name, &l)) < 0)
		goto out;
	keep_embedded(cfg);
	free(cfg->default_location);
	cfg->default_location = xstrdup(name);
	if ((rc = config_save(cfg, NULL)) == 0)
		printf("Location %s is the default in %s\n", name, cfg->path);
out:
	config_free(cfg);
	return rc;
}

/* ---- probe ---- */

struct probe_list {
	const char *key;
	int seen;
};

static int probe_seen(void *ud, const char *key, const struct store_stat *st)
{
	(void)st;
	struct probe_list *p = ud;
	if (strcmp(key, p->key) == 0)
		p->seen = 1;
	return 0;
}

static int run_location_probe(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	static const char *const steps[] = { "open", "write", "read", "list", "delete" };
	struct kahu_config *cfg = NULL;
	const struct kahu_location *l;
	struct kahu_store *st = NULL;
	struct kbuf got = KBUF_INIT;
	char *key = NULL, *data = NULL;
	int rc, step = 0, written = 0;

	if ((rc = config_load(inv_str(ctx->inv, OPT_CONFIG), &cfg)) < 0)
		return rc;
	if ((rc = config_location(cfg, name, &l)) < 0)
		goto done;
	char id[40];
	snprintf(id, sizeof id, "%08x%08x-%ld", kahu_random(), kahu_random(), (long)getpid());
	key = layout_probe(id);
	data = xasprintf("kahu location probe %s %s\n", name, id);

	if ((rc = store_open_provider(l->provider, l->kv, l->nkv, &st)) < 0)
		goto fail;
	if (l->access == LOCATION_READ_ONLY) {
		/* Nothing is written to a read-only location: it is opened and listed. */
		struct probe_list pl = { key, 0 };
		step = 3;
		if ((rc = store_list(st, "", probe_seen, &pl)) < 0)
			goto fail;
		if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
			json_t *doc = json_pack("{s:s, s:s, s:b, s:n, s:[ss]}", "location", name,
						"provider", l->provider, "ok", 1, "object",
						"steps", "open", "list");
			rc = ctx->out == OUT_YAML ? out_yaml(stdout, doc) : out_json(stdout, doc);
			json_decref(doc);
		} else {
			printf("open    ok\nlist    ok\n");
			printf("Location %s (provider %s) is read-only: opened and listed; write, "
			       "read back and delete were not tried\n", name, l->provider);
		}
		goto done;
	}
	step = 1;
	if ((rc = store_write_small(st, key, data, strlen(data))) < 0)
		goto fail;
	written = 1;
	step = 2;
	if ((rc = store_read_small(st, key, 4096, &got)) < 0)
		goto fail;
	if (got.len != strlen(data) || memcmp(got.data, data, got.len) != 0) {
		rc = kahu_error_set(KAHU_EDATA, "%s read back differs from what was written "
				    "(%zu bytes instead of %zu)", key, got.len, strlen(data));
		goto fail;
	}
	step = 3;
	struct probe_list pl = { key, 0 };
	if ((rc = store_list(st, LAYOUT_PROBES, probe_seen, &pl)) < 0)
		goto fail;
	if (!pl.seen) {
		rc = kahu_error_set(KAHU_EDATA, "listing %s does not show %s", LAYOUT_PROBES, key);
		goto fail;
	}
	step = 4;
	if ((rc = store_remove(st, key)) < 0)
		goto fail;
	written = 0;
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *doc = json_pack("{s:s, s:s, s:b, s:s, s:[sssss]}", "location", name,
					"provider", l->provider, "ok", 1, "object", key, "steps",
					"open", "write", "read", "list", "delete");
		rc = ctx->out == OUT_YAML ? out_yaml(stdout, doc) : out_json(stdout, doc);
		json_decref(doc);
	} else {
		for (size_t i = 0; i < 5; i++)
			printf("%-7s ok\n", steps[i]);
		printf("Location %s (provider %s) works: %s written, read back, listed and "
		       "deleted\n", name, l->provider, key);
	}
	goto done;
fail:
	for (int i = 0; i < step && ctx->out == OUT_TABLE; i++)
		if (l->access != LOCATION_READ_ONLY || i == 0)
			printf("%-7s ok\n", steps[i]);
	if (ctx->out == OUT_TABLE)
		printf("%-7s FAILED\n", steps[step]);
	rc = kahu_error_wrap(rc, "location %s: probe failed at step %s (%s %s)", name,
			     steps[step], step == 0 ? "opening the location with provider" :
			     step == 1 ? "writing" : step == 2 ? "reading back" :
			     step == 3 ? "listing" : "deleting",
			     step == 0 ? l->provider : key);
	if (written && step != 4) {
		/* Tidy up after a failed read or list; the failure is what is reported. */
		char *msg = xstrdup(kahu_error_last());
		if (store_remove(st, key) < 0)
			log_warn("location %s: the probe object %s could not be removed: %s", name,
				 key, kahu_error_last());
		kahu_error_set(rc, "%s", msg);
		free(msg);
	}
done:
	store_close(st);
	kbuf_free(&got);
	free(key);
	free(data);
	config_free(cfg);
	return rc;
}

/* ---- tables ---- */

static const struct kahu_opt location_add_opts[] = {
	OPTION(PROVIDER, 0, "NAME", "the storage provider (see 'kahu provider list')",
	       "@provider", 0, NULL),
	OPTION(SET, 0, "KEY=VALUE[,KEY=VALUE]", "a setting of the provider (its keys: 'kahu "
	       "provider describe NAME'); may be repeated", NULL, OPTF_REPEAT, NULL),
	OPTION(PREFIX, 0, "PREFIX", "where in the provider's storage the location starts (the "
	       "provider's \"prefix\" setting)", NULL, 0, NULL),
	OPTION(DEFAULT, 0, NULL, "make it the default location", NULL, 0, NULL),
	OPTION(KEY_FILE, 0, "FILE", "the key file of the location's backups", "file", 0, NULL),
	OPTION(PASSPHRASE_FILE, 0, "FILE", "a file holding a passphrase that unlocks the "
	       "location's key", "file", 0, NULL),
	OPTION(NO_ENCRYPTION, 0, NULL, "store the location's backups in the clear (test "
	       "clusters only)", NULL, 0, NULL),
	OPT_END
};

static const struct kahu_opt location_no_opts[] = { OPT_END };

const struct kahu_cmd cmd_location_add_entry = {
	.name = "location add", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Add a storage location to the configuration",
	.opts = location_add_opts, .run = run_location_add,
	.parse = parse_location_add, .spec_free = add_spec_free,
};

const struct kahu_cmd cmd_location_list_entry = {
	.name = "location list", .args = "", .min_args = 0, .max_args = 0,
	.summary = "List the configured locations",
	.outputs = "table json yaml name", .opts = location_no_opts, .run = run_location_list,
};

const struct kahu_cmd cmd_location_describe_entry = {
	.name = "location describe", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Show a location's provider, settings, access and encryption",
	.outputs = "table json yaml", .opts = location_no_opts, .run = run_location_describe,
	.args_complete = "@location",
};

const struct kahu_cmd cmd_location_remove_entry = {
	.name = "location remove", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Remove a location from the configuration (its backups stay)",
	.opts = location_no_opts, .run = run_location_remove, .args_complete = "@location",
};

const struct kahu_cmd cmd_location_set_default_entry = {
	.name = "location set-default", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Make a location the default one",
	.opts = location_no_opts, .run = run_location_set_default,
	.args_complete = "@location",
};

const struct kahu_cmd cmd_location_probe_entry = {
	.name = "location probe", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Write, read back, list and delete a test object on a location",
	.outputs = "table json yaml", .opts = location_no_opts, .run = run_location_probe,
	.args_complete = "@location",
};

/* kahu key generate|id|add-passphrase — the master key that encrypts backups.
 *
 * Also home of the repository options shared with the backup and restore commands
 * (common_opts.h).  Key material is never printed: only key ids and file names. */
#include "archive/key.h"
#include "cmd/common_opts.h"
#include "cmd/ctx.h"
#include "store/config.h"
#include "store/lock.h"
#include "store/repo.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- shared repository options ---- */

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

int cmd_open_repo(struct kahu_ctx *ctx, int allow_key_generate, struct repo **out)
{
	struct repo_opts o;
	cmd_repo_opts(ctx, &o);
	o.allow_key_generate = allow_key_generate;
	const char *wait = cmd_opt_str(ctx, "lock-wait");
	int64_t secs;
	int rc;
	if (wait && (rc = duration_parse(wait, "--lock-wait", &secs)) < 0)
		return rc; /* before anything is opened */
	return repo_open(&o, out);
}

struct repo_try {
	struct repo *repo;
	const char *purpose;
};

static int repo_try_lock(void *ud, struct store_lock **out)
{
	struct repo_try *t = ud;
	return repo_lock(t->repo, t->purpose, out);
}

int cmd_repo_lock(struct kahu_ctx *ctx, struct repo *repo, const char *purpose, struct store_lock **out)
{
	const char *wait = cmd_opt_str(ctx, "lock-wait");
	int64_t limit = 0;
	int rc;
	if (wait && (rc = duration_parse(wait, "--lock-wait", &limit)) < 0)
		return rc;
	struct repo_try t = { repo, purpose };
	return store_lock_wait(repo_try_lock, &t, limit, wait, out);
}

int cmd_repo_keyed(const struct kahu_ctx *ctx, struct repo *repo)
{
	const char *e1 = getenv(KAHU_ENV_KEY_FILE), *e2 = getenv(KAHU_ENV_PASSPHRASE_FILE);
	return repo_get_info(repo)->key_id[0] || cmd_opt_str(ctx, "key-file") ||
	       cmd_opt_str(ctx, "passphrase-file") || (e1 && *e1) || (e2 && *e2) ||
	       repo_location(repo)->key_file;
}

int cmd_unencrypted_rule(const struct kahu_ctx *ctx, struct repo *repo, const char *what)
{
	const char *loc = repo_location(repo)->name;
	const char *id = repo_get_info(repo)->key_id;
	if (!cmd_repo_keyed(ctx, repo))
		return 0;
	char *keyed = id[0] ? xasprintf("location %s is keyed (key %s)", loc, id) :
		      xasprintf("a key is named for location %s", loc);
	int rc = 0;
	if (cmd_has_opt(ctx, "allow-unencrypted") && inv_count(ctx->inv, "allow-unencrypted") > 0)
		log_warn("%s, so it cannot be authenticated: anyone who can write to location %s "
			 "could have put it there (accepted: --allow-unencrypted)", what, loc);
	else
		rc = kahu_error_set(KAHU_ECRYPTO, "%s, but %s: without encryption there is no MAC, "
				    "so anyone who can write to the location could have put it "
				    "there; refusing it (if it is yours, written with "
				    "--no-encryption, accept it with --allow-unencrypted)", what,
				    keyed);
	free(keyed);
	return rc;
}

/* ---- output ---- */

static int print_doc(struct kahu_ctx *ctx, json_t *doc)
{
	switch (ctx->out) {
	case OUT_JSON:
		return out_json(stdout, doc);
	case OUT_YAML:
		return out_yaml(stdout, doc);
	default:
		return 1;  /* the caller prints its table / name form */
	}
}

/* ---- kahu key generate ---- */

static int run_key_generate(struct kahu_ctx *ctx)
{
	const char *given = inv_str(ctx->inv, "file");
	char *path = given && *given ? xstrdup(given) : config_default_key_path();
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	struct kahu_key *key = NULL;
	json_t *doc = NULL;
	int rc;

	if ((rc = kahu_key_generate(&key)) < 0)
		goto out;
	rc = kahu_key_save(key, path);
	if (rc == KAHU_EEXIST) {
		rc = kahu_error_set(KAHU_EEXIST, "the key file %s already exists; kahu never "
				    "overwrites a key file (losing a key loses the backups encrypted "
				    "with it): name another one with --file", path);
		goto out;
	}
	if (rc < 0)
		goto out;
	kahu_key_id_hex(key, hex);
	doc = json_pack("{s:s, s:s}", "keyId", hex, "file", path);
	if ((rc = print_doc(ctx, doc)) == 1) {
		rc = 0;
		if (ctx->out == OUT_NAME)
			printf("%s\n", hex);
		else
			printf("Generated key %s\nWritten to %s (mode 0600)\n", hex, path);
	}
	log_warn("keep a copy of %s somewhere safe, away from the backups: without it the "
		 "backups encrypted with key %s cannot be restored by anyone", path, hex);
out:
	json_decref(doc);
	kahu_key_free(key);
	free(path);
	return rc;
}

/* ---- kahu key id ---- */

static json_t *key_report(struct repo *r, const char *hex)
{
	const struct repo_key_origin *o = repo_key_origin(r);
	const struct repo_info *ri = repo_get_info(r);
	int from_pass = o->source == REPO_KEY_PASSPHRASE_FLAG ||
			o->source == REPO_KEY_PASSPHRASE_ENV;
	json_t *doc = json_pack("{s:s, s:s, s:s}", "keyId", hex, "source",
				repo_key_source_name(o->source), "location",
				repo_location(r)->name);
	json_object_set_new(doc, from_pass ? "passphraseFile" : "file",
			    o->path ? json_string(o->path) : json_null());
	if (from_pass)
		json_object_set_new(doc, "wrappedKey",
				    o->object ? json_string(o->object) : json_null());
	json_object_set_new(doc, "repositoryKeyId",
			    ri->exists && ri->key_id[0] ? json_string(ri->key_id) : json_null());
	return doc;
}

static int run_key_id(struct kahu_ctx *ctx)
{
	struct repo *r = NULL;
	const struct kahu_key *key;
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	json_t *doc = NULL;
	char *desc = NULL;
	int rc;

	if ((rc = cmd_open_repo(ctx, 0, &r)) < 0 || (rc = repo_key(r, &key)) < 0)
		goto out;
	kahu_key_id_hex(key, hex);
	doc = key_report(r, hex);
	if ((rc = print_doc(ctx, doc)) == 1) {
		rc = 0;
		if (ctx->out == OUT_NAME) {
			printf("%s\n", hex);
		} else {
			const struct repo_info *ri = repo_get_info(r);
			desc = repo_key_origin_describe(r);
			printf("Key ID:    %s\n", hex);
			printf("Source:    %s\n", desc);
			printf("Location:  %s (%s)\n", repo_location(r)->name,
			       !ri->exists ? "no backups yet" :
			       ri->key_id[0] ? "its backups use this key" : "unencrypted");
		}
	}
out:
	free(desc);
	json_decref(doc);
	repo_close(r);
	return rc;
}

/* ---- kahu key add-passphrase ---- */

static int run_key_add_passphrase(struct kahu_ctx *ctx)
{
	const char *pfile = inv_str(ctx->inv, "passphrase-file");
	struct repo_opts o;
	struct repo *r = NULL;
	const struct kahu_key *key;
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	char *pass = NULL, *object = NULL;
	size_t plen = 0;
	json_t *doc = NULL;
	int rc;

	if (!pfile || !*pfile)
		return kahu_error_set(KAHU_EUSAGE, "key add-passphrase needs --passphrase-file FILE "
				      "(a file, mode 0600, holding the new passphrase)");
	if ((rc = kahu_passphrase_read_file(pfile, &pass, &plen)) < 0) {
		kahu_error_wrap(rc, "--passphrase-file");
		goto out;
	}
	/* --passphrase-file is the new passphrase here; the key in use is found the usual
	 * way ($KAHU_PASSPHRASE_FILE may still unlock it with an existing passphrase). */
	cmd_repo_opts(ctx, &o);
	o.passphrase_file = NULL;
	if ((rc = repo_open(&o, &r)) < 0 || (rc = repo_check_writable(r)) < 0 ||
	    (rc = repo_key(r, &key)) < 0)
		goto out;
	if ((rc = repo_add_passphrase(r, key, pass, plen, NULL, &object)) < 0)
		goto out;
	kahu_key_id_hex(key, hex);
	doc = json_pack("{s:s, s:s, s:s}", "keyId", hex, "location", repo_location(r)->name,
			"wrappedKey", object);
	if ((rc = print_doc(ctx, doc)) == 1) {
		rc = 0;
		printf("Added a passphrase for key %s on location %s (%s)\n", hex,
		       repo_location(r)->name, object);
	}
out:
	free_secret_str(pass);
	free(object);
	json_decref(doc);
	repo_close(r);
	return rc;
}

/* ---- tables ---- */

static const struct kahu_opt key_generate_opts[] = {
	{ "file", 0, "FILE", "where to write the new key (never overwritten)", "file", 0,
	  "~/.config/kahu/keys/default.key" },
	OPT_END
};

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

static const struct kahu_opt key_add_passphrase_opts[] = {
	{ "passphrase-file", 0, "FILE", "a file (mode 0600) holding the new passphrase", "file",
	  0, NULL },
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	OPT_END
};

const struct kahu_cmd cmd_key_entry = {
	.name = "key",
	.summary = "Manage the key that encrypts backups",
	.flags = CMD_NOUN,
};

const struct kahu_cmd cmd_key_generate_entry = {
	.name = "key generate",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Generate a new key file (mode 0600; never overwrites one)",
	.outputs = "table json yaml name",
	.opts = key_generate_opts,
	.run = run_key_generate,
};

const struct kahu_cmd cmd_key_id_entry = {
	.name = "key id",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Show the id of the key kahu would use for a location, and where it comes from",
	.outputs = "table json yaml name",
	.opts = cmd_repo_key_opts,
	.run = run_key_id,
};

const struct kahu_cmd cmd_key_add_passphrase_entry = {
	.name = "key add-passphrase",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Store the key on a location wrapped with a passphrase",
	.outputs = "table json yaml",
	.opts = key_add_passphrase_opts,
	.run = run_key_add_passphrase,
};

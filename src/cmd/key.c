/* kahu key generate|id|add-passphrase — the master key that encrypts backups.
 *
 * Key material is never printed: only key ids and file names. */
#include "archive/key.h"
#include "cmd/common_opts.h"
#include "cmd/ctx.h"
#include "store/config.h"
#include "engine/run.h"
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
	const char *given = inv_str(ctx->inv, OPT_FILE);
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
			o->source == REPO_KEY_PASSPHRASE_ENV ||
			o->source == REPO_KEY_PASSPHRASE_LOCATION;
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

/* CMD_REPO */
static int run_key_id(struct kahu_ctx *ctx)
{
	struct repo *r = ctx->repo;
	const struct kahu_key *key;
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	json_t *doc = NULL;
	char *desc = NULL;
	int rc;

	if ((rc = repo_key(r, &key)) < 0)
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
	return rc;
}

/* ---- kahu key add-passphrase ---- */

/* The new passphrase, read before the location is opened. */
struct new_passphrase {
	char *pass;
	size_t len;
};

static void new_passphrase_free(void *p)
{
	struct new_passphrase *np = p;
	free_secret_str(np->pass);
	free(np);
}

static int parse_key_add_passphrase(struct kahu_ctx *ctx, void **out)
{
	/* --passphrase-file is the new passphrase here (NEW_PASSPHRASE_FILE); the key in
	 * use is found the usual way ($KAHU_PASSPHRASE_FILE may still unlock it with an
	 * existing passphrase). */
	const char *pfile = inv_str(ctx->inv, OPT_NEW_PASSPHRASE_FILE);
	struct new_passphrase np = { 0 };
	int rc;

	if (!pfile || !*pfile)
		return kahu_error_set(KAHU_EUSAGE, "key add-passphrase needs --passphrase-file FILE "
				      "(a file, mode 0600, holding the new passphrase)");
	if ((rc = kahu_passphrase_read_file(pfile, &np.pass, &np.len)) < 0)
		return kahu_error_wrap(rc, "--passphrase-file");
	struct new_passphrase *p = xmalloc(sizeof *p);
	*p = np;
	*out = p;
	return 0;
}

/* CMD_WRITE */
static int run_key_add_passphrase(struct kahu_ctx *ctx)
{
	const struct new_passphrase *np = ctx->spec;
	struct repo *r = ctx->repo;
	const struct kahu_key *key;
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	char *object = NULL;
	json_t *doc = NULL;
	int rc;

	if ((rc = repo_key(r, &key)) < 0 ||
	    (rc = repo_add_passphrase(r, key, np->pass, np->len, NULL, &object)) < 0)
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
	free(object);
	json_decref(doc);
	return rc;
}

/* ---- tables ---- */

static const struct kahu_opt key_generate_opts[] = {
	OPTION(FILE, 0, "FILE", "where to write the new key (never overwritten)", "file", 0,
	       "~/.config/kahu/keys/default.key"),
	OPT_END
};

static const struct kahu_opt key_add_passphrase_opts[] = {
	OPTION(NEW_PASSPHRASE_FILE, 0, "FILE", "a file (mode 0600) holding the new passphrase",
	       "file", 0, NULL),
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
	.flags = CMD_REPO,
};

const struct kahu_cmd cmd_key_add_passphrase_entry = {
	.name = "key add-passphrase",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Store the key on a location wrapped with a passphrase",
	.outputs = "table json yaml",
	.opts = key_add_passphrase_opts,
	.parse = parse_key_add_passphrase,
	.run = run_key_add_passphrase,
	.spec_free = new_passphrase_free,
	.flags = CMD_WRITE,
};

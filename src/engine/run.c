#include "engine/run.h"

#include <stdlib.h>

#include "store/config.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

int run_open_repo(const struct run_repo *rr, int allow_key_generate, struct repo **out)
{
	struct repo_opts o = rr->opts;
	o.allow_key_generate = allow_key_generate;
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

int run_lock(const struct run_repo *rr, struct repo *repo, const char *purpose,
	     struct store_lock **out)
{
	struct repo_try t = { repo, purpose };
	return store_lock_wait(repo_try_lock, &t, rr->lock_wait, rr->lock_wait_text, out);
}

int run_repo_keyed(const struct run_repo *rr, struct repo *repo)
{
	const char *e1 = getenv(KAHU_ENV_KEY_FILE), *e2 = getenv(KAHU_ENV_PASSPHRASE_FILE);
	return repo_get_info(repo)->key_id[0] || rr->opts.key_file || rr->opts.passphrase_file ||
	       (e1 && *e1) || (e2 && *e2) || repo_location(repo)->key_file;
}

int run_unencrypted_rule(const struct run_repo *rr, struct repo *repo, const char *what)
{
	const char *loc = repo_location(repo)->name;
	const char *id = repo_get_info(repo)->key_id;
	if (!run_repo_keyed(rr, repo))
		return 0;
	char *keyed = id[0] ? xasprintf("location %s is keyed (key %s)", loc, id) :
		      xasprintf("a key is named for location %s", loc);
	int rc = 0;
	if (rr->allow_unencrypted)
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

int run_read_trusted(const struct run_repo *rr, struct repo *repo, const char *name,
		     struct manifest **out)
{
	int rc = backup_read_manifest(repo, name, 1, out);
	if (rc < 0 || (*out)->encrypted)
		return rc;
	if (!run_repo_keyed(rr, repo)) {
		log_warn("backup %s was written without encryption: its manifest carries no MAC and cannot be authenticated", name);
		return 0;
	}
	char *what = xasprintf("backup %s is not encrypted", name);
	rc = run_unencrypted_rule(rr, repo, what);
	free(what);
	if (rc < 0) {
		manifest_free(*out);
		*out = NULL;
	}
	return rc;
}

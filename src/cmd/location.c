/* kahu location repair — rewrite a location's kahu-repo.json from what the location
 * holds (store/repo.h repo_repair): the key ids its backups' manifests and wrapped keys
 * name, checked against the key in use. */
#include "cmd/common_opts.h"
#include "cmd/ctx.h"
#include "store/repo.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <inttypes.h>
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

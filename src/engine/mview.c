#include "engine/mview.h"

#include <string.h>

#include "engine/bread.h"
#include "util/err.h"

int backup_read_manifest(struct repo *repo, const char *name, int verify, struct manifest_view *mv)
{
	const struct kahu_key *key = NULL;
	int encrypted = 0, rc;

	memset(mv, 0, sizeof *mv);
	if ((rc = repo_valid_name(name)) < 0)
		return rc;
	/* The key is needed only to authenticate an encrypted manifest. */
	rc = bread_manifest(repo_store(repo), NULL, name, 0, &mv->doc, &encrypted);
	if (rc == 0 && verify) {
		json_decref(mv->doc);
		mv->doc = NULL;
		if (encrypted && (rc = repo_key(repo, &key)) < 0)
			return rc;
		rc = bread_manifest(repo_store(repo), key, name, 1, &mv->doc, &encrypted);
	}
	if (rc == KAHU_ENOTFOUND) {
		int state = repo_backup_exists(repo, name);
		return kahu_error_set(KAHU_ENOTFOUND, state == REPO_BACKUP_INCOMPLETE ?
				      "backup %s is incomplete (an interrupted run): only prune can remove it" :
				      "no backup named %s on location %s", name, repo_location(repo)->name);
	}
	if (rc < 0)
		return rc;
	mv->name = json_string_value(json_object_get(mv->doc, "name"));
	mv->status = json_string_value(json_object_get(mv->doc, "status"));
	mv->type = json_string_value(json_object_get(mv->doc, "type"));
	mv->parent = json_string_value(json_object_get(mv->doc, "parent"));
	mv->chain_full = json_string_value(json_object_get(mv->doc, "base"));
	mv->encrypted = encrypted;
	return 0;
}

void manifest_view_clear(struct manifest_view *mv)
{
	json_decref(mv->doc);
	memset(mv, 0, sizeof *mv);
}

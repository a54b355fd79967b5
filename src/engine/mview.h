/* kahu — a backup's manifest as JSON, read back from a location (and, when asked,
 * authenticated with the location's key): what describe, download, verify, logs,
 * restore and the parent choice read. */
#ifndef KAHU_ENGINE_MVIEW_H
#define KAHU_ENGINE_MVIEW_H

#include <jansson.h>

#include "store/repo.h"

struct manifest_view {
	json_t *doc;              /* the whole manifest */
	const char *name;
	const char *status;
	const char *type;
	const char *parent;
	const char *chain_full;
	int encrypted;
};

/* A backup's manifest, read (and, with verify, authenticated with the repository's
 * key: KAHU_ECRYPTO when altered or forged).  KAHU_ENOTFOUND names an incomplete
 * backup as such. */
int backup_read_manifest(struct repo *repo, const char *name, int verify, struct manifest_view *mv);
void manifest_view_clear(struct manifest_view *mv);

#endif

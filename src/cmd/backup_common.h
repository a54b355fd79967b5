/* kahu — what the backup and restore commands share: repository flags, scope flags,
 * reading a backup's manifest. */
#ifndef KAHU_CMD_BACKUP_COMMON_H
#define KAHU_CMD_BACKUP_COMMON_H

#include <jansson.h>

#include "cmd/ctx.h"
#include "store/repo.h"

struct kahu_scope;

/* The scope flags of backup create / restore create. */
int scope_from_flags(const struct kahu_invocation *inv, struct kahu_scope **out);

/* A backup's manifest, read (and, with verify, authenticated with the repository's
 * key: KAHU_ECRYPTO when altered or forged). */
struct manifest_view {
	json_t *doc;              /* the whole manifest */
	const char *name;
	const char *status;
	const char *type;
	const char *parent;
	const char *chain_full;
	int encrypted;
};
int backup_read_manifest(struct repo *repo, const char *name, int verify, struct manifest_view *mv);
void manifest_view_clear(struct manifest_view *mv);

#endif

/* kahu — what the backup and restore commands share: repository flags, scope flags,
 * reading a backup's manifest. */
#ifndef KAHU_CMD_BACKUP_COMMON_H
#define KAHU_CMD_BACKUP_COMMON_H

#include <jansson.h>

#include "cmd/ctx.h"
#include "engine/mview.h"
#include "store/repo.h"

struct kahu_scope;

/* The scope flags of backup create / restore create. */
int scope_from_flags(const struct kahu_invocation *inv, struct kahu_scope **out);

/* backup_read_manifest, authenticated, for a command that trusts what the backup holds
 * (describe, download, verify, logs, restore): a backup that is not encrypted has no
 * MAC, and on a keyed location it is refused (KAHU_ECRYPTO) unless the command got
 * --allow-unencrypted (cmd_unencrypted_rule); elsewhere a warning says it cannot be
 * authenticated. */
int backup_read_trusted(const struct kahu_ctx *ctx, struct repo *repo, const char *name,
			struct manifest_view *mv);

#endif

/* kahu — the stored outcome of a backup's local after hooks (kahu-hooks(5)).
 *
 * The local after hooks run once the manifest, the commit point, is written, so their
 * outcomes cannot be in kahu/backup.json or the log the manifest lists.  They are kept
 * in one optional object beside the committed backup,
 * backups/<name>/after-hooks.json.zst[.kenc] (store/layout.h), sealed like the other
 * objects (zstd, then with a key the envelope bound to the object's path), holding
 *
 *   {"backup":"<name>","hooks":[…],"kind":"KahuAfterHooks",
 *    "manifest":"<BLAKE2b-256 of backup.json's stored bytes>","version":1,
 *    "written":"<RFC 3339>"}
 *
 * The manifest's hash ties it to the one committed manifest (its MAC included for an
 * encrypted backup): an object of another backup, or of an earlier backup of the same
 * name, is refused.  It is not listed in the manifest; `backup delete` and prune
 * remove it with everything else under the backup's directory. */
#ifndef KAHU_ENGINE_HOOK_RECORD_H
#define KAHU_ENGINE_HOOK_RECORD_H

#include <jansson.h>

#include "archive/key.h"
#include "archive/manifest.h"
#include "store/store.h"

#define HOOK_RECORD_KIND "KahuAfterHooks"
#define HOOK_RECORD_MAX (4u << 20)   /* the stored object, at most */

/* Write the record of `hooks` (hook_results_json's entries whose `when` is "after"
 * are taken; nothing is written when there are none) for backup `name`, whose
 * committed manifest is m (as read back: its text), create-if-absent.  `key` NULL for
 * an unencrypted backup.  0, 1 when there was nothing to write, or an error. */
int hook_record_put(struct kahu_store *st, const struct kahu_key *key, const char *name,
		    const struct manifest *m, json_t *hooks);

/* Read it back for the manifest m (parsed, with its text): 1 with *hooks (the entries,
 * a new reference) and *written (allocated, may be NULL) when it is there, 0 when it is
 * not (no after hooks ran, an older backup, or writing it failed), or an error:
 * KAHU_ECRYPTO (altered, another key, moved from another backup), KAHU_EDATA (not such
 * a record, or one written for another manifest). */
int hook_record_get(struct kahu_store *st, const struct kahu_key *key, const char *name,
		    const struct manifest *m, json_t **hooks, char **written);

#endif

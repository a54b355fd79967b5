/* kahu — the stored outcome of the local after hooks of a backup or a restore
 * (kahu-hooks(5)).
 *
 * The local after hooks run once the run's commit point is written (a backup's
 * manifest, a restore's record restore.json), so their outcomes cannot be in what that
 * point vouches for.  They are kept in one optional object beside it,
 * backups/<name>/after-hooks.json.zst[.kenc] or restores/<name>/after-hooks.json.zst[.kenc]
 * (store/layout.h), sealed like the other objects (zstd, then with a key the envelope
 * bound to the object's path), holding
 *
 *   {"backup"|"restore":"<name>","hooks":[…],"kind":"KahuAfterHooks",
 *    "manifest"|"record":"<BLAKE2b-256 of backup.json's | restore.json's stored bytes>",
 *    "version":1,"written":"<RFC 3339>"}
 *
 * The hash ties it to the one committed manifest or record (its MAC included when
 * keyed): an object of another run, or of an earlier run of the same name, is refused.
 * It is not listed in the manifest; `backup delete` and prune remove it with everything
 * else under the backup's directory. */
#ifndef KAHU_ENGINE_HOOK_RECORD_H
#define KAHU_ENGINE_HOOK_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "archive/key.h"
#include "archive/manifest.h"
#include "store/store.h"

#define HOOK_RECORD_KIND "KahuAfterHooks"
#define HOOK_RECORD_MAX (4u << 20)   /* the stored object, at most */

/* What a record belongs to. */
struct hook_record_owner {
	const char *member;        /* "backup" or "restore": the member that names the run */
	const char *name;          /* the run's name */
	const char *path;          /* the record's object path */
	const char *bound_member;  /* "manifest" or "record": the member holding the hash */
	const char *bound;         /* the stored bytes of the commit point it is bound to */
	size_t bound_len;
};

/* Write the record of `hooks` (hook_results_json's entries whose `when` is "after"
 * are taken; nothing is written when there are none), create-if-absent.  `key` NULL
 * when the run is not encrypted.  0, 1 when there was nothing to write, or an error. */
int hook_record_write(struct kahu_store *st, const struct kahu_key *key, const struct hook_record_owner *o,
		      json_t *hooks);

/* Read it back: 1 with *hooks (the entries, a new reference) and *written (allocated,
 * may be NULL) when it is there, 0 when it is not (no after hooks ran, an older kahu,
 * or writing it failed), or an error: KAHU_ECRYPTO (altered, another key, moved from
 * another run), KAHU_EDATA (not such a record, or one written for another commit
 * point). */
int hook_record_read(struct kahu_store *st, const struct kahu_key *key, const struct hook_record_owner *o,
		     json_t **hooks, char **written);

/* A backup's: bound to its committed manifest m (as read back: its text). */
int hook_record_put(struct kahu_store *st, const struct kahu_key *key, const char *name,
		    const struct manifest *m, json_t *hooks);
int hook_record_get(struct kahu_store *st, const struct kahu_key *key, const char *name,
		    const struct manifest *m, json_t **hooks, char **written);

#endif

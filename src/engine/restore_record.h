/* kahu — the restore records of a location (FORMAT.md: restores/<name>/): the catalog
 * beside the backup catalog.  A restore leaves restore.json (its summary, sealed with
 * the key when there is one; InProgress while it runs), result.json.zst[.kenc] (every
 * item's outcome, after a head that repeats the summary), log.jsonl.zst[.kenc] and,
 * when local after hooks ran, after-hooks.json.zst[.kenc]. */
#ifndef KAHU_ENGINE_RESTORE_RECORD_H
#define KAHU_ENGINE_RESTORE_RECORD_H

#include <jansson.h>
#include <stdio.h>

#include "engine/restore.h"
#include "engine/run.h"
#include "store/repo.h"
#include "util/buf.h"


struct kahu_key;
struct kahu_store;

/* One item's outcome as a result line: {resource, name, outcome, namespace?,
 * sourceNamespace?, reason?}. */
json_t *restore_item_json(const struct restore_item_result *r);

/* The purpose of the lock of restore `name` (allocated): "restore create <name>". */
char *restore_lock_purpose(const char *name);

/* Write restores/<name>/restore.json (sealed when `key` is not NULL); flags are
 * store_write_small_ex's (KAHU_PUT_EXCLUSIVE for the InProgress mark). */
int restore_record_put_summary(struct kahu_store *st, const struct kahu_key *key, const char *name,
			       json_t *summary, unsigned flags);
/* The restore's own log (JSON lines in `log`) as restores/<name>/log.jsonl.zst[.kenc]. */
int restore_record_put_log(struct repo *repo, const struct kahu_key *key, const char *name, FILE *log);
/* The result (the summary, then the item lines in `lines`) as
 * restores/<name>/result.json.zst[.kenc], then the summary, which replaces the mark. */
int restore_record_put_results(struct repo *repo, const struct kahu_key *key, const char *name,
			       json_t *summary, FILE *lines);

/* A summary that says InProgress while no live lock of its run is held any more: the
 * run ended without recording its result; the status becomes Interrupted, with why. */
void restore_record_settle(struct kahu_store *st, json_t *summary);

/* Every record on the location appended to `items`, listed without the key: one with a
 * MAC has sealed: true, one without is marked "(unauthenticated)" when `keyed`, one
 * that cannot be read is listed with status Unreadable and the problem. */
int restore_catalog_list(struct repo *repo, int keyed, json_t *items);

/* restores/<name>/<object>[.kenc], decrypted and decompressed into plain. */
int restore_record_read(struct repo *repo, const char *name, const char *object, int encrypted,
			struct kbuf *plain);

/* How far a restore's record (restore.json) can be trusted. */
enum record_trust {
	TRUST_NONE,     /* no MAC, and not checked against anything */
	TRUST_CHECKED,  /* no MAC (an older kahu), but it agrees with the encrypted result */
	TRUST_SEALED,   /* its MAC was checked with the key */
};

/* restores/<name>/restore.json, parsed and authenticated.  A sealed record (record.h)
 * must verify with the repository's key.  One without a MAC is accepted when it says
 * the restore was encrypted (so written by a kahu that did not seal records; what its
 * result and log hold is authenticated by their envelopes), and otherwise only under
 * the rule for unencrypted data (run_unencrypted_rule).  *trust gets TRUST_SEALED or
 * TRUST_NONE.  The MAC members are removed from *out. */
int restore_record_load(const struct run_repo *rr, struct repo *repo, const char *name, json_t **out,
			enum record_trust *trust);

/* The outcomes of the restore's local after hooks (run once restore.json, the
 * restore's commit point, is written), kept beside it in
 * restores/<name>/after-hooks.json.zst[.kenc] (engine/hook_record.h), bound to
 * restore.json's stored bytes.  `hooks`: the restore's hook outcomes, of which those
 * whose `when` is "after" are kept; `key` the restore's (NULL when not encrypted).
 * put: 0, 1 when there was nothing to keep, or an error.  get: 1 with *hooks (and
 * *written, may be NULL), 0 when there is none, or an error (KAHU_ECRYPTO, KAHU_EDATA:
 * moved from another restore, altered, or written for another record). */
int restore_record_put_after_hooks(struct kahu_store *st, const struct kahu_key *key, const char *name,
				   json_t *hooks);
int restore_record_get_after_hooks(struct kahu_store *st, const struct kahu_key *key, const char *name,
				   json_t **hooks, char **written);

/* A record without a MAC against the head of the restore's encrypted result, which
 * repeats it: any difference means restore.json was altered (KAHU_ECRYPTO). */
int restore_record_check(const char *name, json_t *summary, json_t *result);

#endif

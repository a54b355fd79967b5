/* kahu — small plain JSON records authenticated with the key: a restore's summary
 * (restores/<name>/restore.json, FORMAT.md).
 *
 * A sealed record carries two more members:
 *
 *   "key_id"  the id of the key that sealed it (32 lowercase hex digits)
 *   "mac"     keyed BLAKE2b-256 (subkey "kahu-rec", KAHU_SUBKEY_RECORD), 64 lowercase
 *             hex digits, over the record's object path, one NUL byte, then the
 *             canonical serialization (keys sorted, compact: JSON_SORT_KEYS |
 *             JSON_COMPACT) of the whole record without "mac".
 *
 * The verifier recomputes that serialization from the parsed JSON, so every member —
 * also one a newer kahu adds — is covered, and the path binds the record to where it
 * is stored: a record copied over another one's fails.  A record without "mac" and
 * "key_id" (written without a key, or by a kahu that did not seal records) cannot be
 * authenticated: record_verify says so (RECORD_UNSEALED) and the caller decides. */
#ifndef KAHU_ARCHIVE_RECORD_H
#define KAHU_ARCHIVE_RECORD_H

#include <jansson.h>

#include "archive/key.h"

/* Largest record text accepted (bytes). */
#define RECORD_TEXT_MAX (1u << 20)

/* Parse a record's stored text: a JSON object without duplicate members.  KAHU_EDATA
 * "<what> is not a JSON object: …" otherwise.  `what` names it in messages. */
int record_parse(const char *text, size_t len, const char *what, json_t **out);

/* Set "key_id" and "mac" of doc for object_path (replacing any). */
void record_seal(json_t *doc, const struct kahu_key *key, const char *object_path);

enum record_auth {
	RECORD_AUTHENTIC = 0, /* the MAC was checked with the key */
	RECORD_UNSEALED = 1,  /* no "mac" and no "key_id": cannot be authenticated */
};

/* Authenticate doc as stored at object_path; `what` names it in messages ("the record
 * of restore r1").  Returns RECORD_AUTHENTIC or RECORD_UNSEALED, or:
 *   KAHU_EDATA    "mac" or "key_id" malformed, or only one of them present;
 *   KAHU_ECRYPTO  sealed but key is NULL ("… needs the key"), sealed with another key
 *                 (naming both ids), or the MAC does not match ("altered or forged"). */
int record_verify(const json_t *doc, const struct kahu_key *key, const char *object_path,
		  const char *what);

/* Does doc carry a seal ("mac" or "key_id")? */
int record_is_sealed(const json_t *doc);

#endif

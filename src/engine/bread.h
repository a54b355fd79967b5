/* kahu — reading a backup's stored objects back: a pull source over one object on the
 * location that checks its size and BLAKE2b hash against the manifest (or, for an
 * object bound to the manifest's run, its envelope's run id: bread_unpack), optionally
 * opened as a bundle (tar → zstd → envelope).  Used by describe, verify, download,
 * logs, incremental backups (the parent's index) and restore. */
#ifndef KAHU_ENGINE_BREAD_H
#define KAHU_ENGINE_BREAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "archive/bundle.h"
#include "archive/manifest.h"
#include "archive/stream.h"
#include "store/repo.h"

struct kahu_store;
struct kahu_key;
struct bread;

/* Read backups/<name>/backup.json into the typed manifest (archive/manifest.h) and,
 * with verify, authenticate it with `key` when it is encrypted (an unencrypted one has
 * nothing to check; m->encrypted and m->authenticated say which).  KAHU_ENOTFOUND when
 * there is no manifest, KAHU_EDATA when it is malformed, KAHU_ECRYPTO when it fails
 * authentication. */
int bread_manifest(struct kahu_store *st, const struct kahu_key *key, const char *name,
		   int verify, struct manifest **out);

/* The runs of backup `name`'s chain (it, its parent, … its full backup) into `out`
 * (strset_put: name → run id, "" for a backup none of whose objects is bound to a run),
 * each manifest authenticated with `key`.  With a key, a backup of the chain that is not
 * encrypted is refused (KAHU_ECRYPTO) unless allow_unencrypted.  KAHU_ENOTFOUND names a
 * missing backup of the chain; KAHU_EDATA a chain that does not end. */
struct strset;
int bread_chain_runs(struct kahu_store *st, const struct kahu_key *key, const char *name,
		     bool allow_unencrypted, struct strset *out);

/* A backup's manifest on a repository, read (and, with verify, authenticated with the
 * repository's key, which is resolved only for an encrypted manifest).  KAHU_ENOTFOUND
 * names an incomplete backup as such. */
int backup_read_manifest(struct repo *repo, const char *name, int verify, struct manifest **out);

/* The manifest's entry of the object `object` (LAYOUT_METADATA, LAYOUT_LOG), sealed or
 * not, or NULL. */
const struct manifest_object *bread_find_object(const struct manifest *m, const char *object);

/* Open backups/<backup>/<path of the object> for reading.  KAHU_EDATA when it is
 * missing or its size differs from the manifest's (truncated or replaced). */
int bread_open_raw(struct kahu_store *st, const char *backup, const struct manifest_object *object,
		   struct bread **out);
/* The same, read as a bundle with `key` (NULL: unencrypted). */
int bread_open_bundle(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		      const struct manifest_object *object, struct bread **out);
/* Raw bytes (a bundle_source_fn). */
int bread_pull(void *b, void *buf, size_t cap, size_t *got);
struct bundle_reader *bread_bundle(struct bread *b);
const char *bread_path(const struct bread *b);   /* backups/<name>/<object> */
/* Reads what is left and checks everything: for a bundle its end (bundle_reader_finish),
 * then the stored bytes' hash against the manifest.  0 only when the object is intact.
 * An object without a hash (bound to the manifest's run, format 2) is checked only by
 * reading it with the key: bread_unpack. */
int bread_finish(struct bread *b);
void bread_free(struct bread *b);

/* Read a raw object (bread_open_raw) through the envelope (key NULL: unencrypted) and
 * zstd into `out`, then check it whole (bread_finish): a zstd stream such as the
 * stored log, or the tar of a bundle.  Data reaches `out` before the end is verified:
 * only 0 means it was all intact. */
int bread_unpack(struct bread *b, const struct kahu_key *key, kahu_write_fn out, void *ud);

/* The key of an item in sets and maps: "group-resource\tnamespace\tname", each part
 * with '\\' and tab escaped ("\\\\", "\\t"). */
char *bread_item_key(const char *group_resource, const char *ns, const char *name);

/* Stream the whole kahu/index.jsonl of a backup to `fn`, one line at a time (without
 * the newline), then verify the archive. */
typedef int (*bread_line_fn)(void *ud, const char *line, size_t len);
int bread_index(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		const struct manifest *m, bread_line_fn fn, void *ud);
/* The same, and kahu/backup.json (which follows the index in the archive) into *spec:
 * what was asked and what happened per type.  KAHU_EDATA when it is missing or not a
 * JSON object; *spec is NULL on any error. */
int bread_index_spec(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		     const struct manifest *m, bread_line_fn fn, void *ud, json_t **spec);

#endif

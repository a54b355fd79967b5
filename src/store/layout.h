/* kahu — the layout of a location: the name of every object kahu stores there, and
 * names read back from a listing (FORMAT.md).  Nothing else spells an object path.
 *
 *   kahu-repo.json                          the repository file (repo.h)
 *   keys/<keyid>.json, keys/<keyid>-<n>.json the master key wrapped by passphrases
 *   locks/<id>.json                         who is writing (lock.h)
 *   probes/<id>                             `kahu location probe`'s object, removed
 *                                           again by the probe
 *   backups/<name>/metadata.tar.zst[.kenc]  the resources (tar → zstd → envelope)
 *   backups/<name>/log.jsonl.zst[.kenc]     the backup's own log
 *   backups/<name>/backup.json              the manifest, written last
 *   backups/<name>/after-hooks.json.zst[.kenc] the local after hooks' outcomes, written
 *                                           after the manifest (engine/hook_record.h);
 *                                           optional, not in the manifest's objects
 *   backups/<name>/volumes.jsonl.zst[.kenc] the catalog of the backup's volumes
 *   backups/<name>/volumes/<vid>/index.jsonl.zst[.kenc]       a volume's file index
 *   backups/<name>/volumes/<vid>/data-<NNNNNN>.tar.zst[.kenc] its content segments
 *   backups/<name>/movers/<vid>-<attempt>.json.zst[.kenc] a cluster data mover's result
 *                                           (engine/mover.h), removed once read
 *   backups/<name>/volume-data.json         on a volume location (store/volloc.h): whose
 *                                           volume data the directory holds
 *   restores/<name>/result.json.zst[.kenc]  every item's outcome
 *   restores/<name>/log.jsonl.zst[.kenc]    the restore's own log
 *   restores/<name>/restore.json            the restore's summary
 *   restores/<name>/after-hooks.json.zst[.kenc] the local after hooks' outcomes, written
 *                                           after restore.json; optional
 *
 * ".kenc" marks an object sealed with the key (archive/seal.h); without encryption it
 * is absent.  A manifest names its data objects relative to the backup's directory
 * ("metadata.tar.zst.kenc"): layout_backup_object joins them.
 *
 * Pure functions, no I/O.  Returned strings are allocated (free them); names are
 * checked by the callers (layout_name_check) before they become paths. */
#ifndef KAHU_STORE_LAYOUT_H
#define KAHU_STORE_LAYOUT_H

#define LAYOUT_REPO_FILE "kahu-repo.json"
#define LAYOUT_KEYS "keys/"
#define LAYOUT_LOCKS "locks/"
#define LAYOUT_BACKUPS "backups/"
#define LAYOUT_RESTORES "restores/"
#define LAYOUT_PROBES "probes/"

/* Objects of a backup's directory. */
#define LAYOUT_MANIFEST "backup.json"
#define LAYOUT_METADATA "metadata.tar.zst"
#define LAYOUT_LOG "log.jsonl.zst"
/* Written after the manifest, not listed in it: the local after hooks' outcomes. */
#define LAYOUT_AFTER_HOOKS "after-hooks.json.zst"
/* Objects of a restore's directory (and LAYOUT_LOG). */
#define LAYOUT_RESULT "result.json.zst"
#define LAYOUT_SUMMARY "restore.json"
/* Suffix of an object encrypted with the key. */
#define LAYOUT_SEALED ".kenc"

#define LAYOUT_NAME_MAX 253

/* Is `name` a valid backup or restore name: a DNS-1123 subdomain (lowercase letters,
 * digits, '-' and '.', starting and ending with a letter or digit, at most 253
 * characters)?  0, or KAHU_EUSAGE saying what is wrong. */
int layout_name_check(const char *name);

/* ---- backups ---- */

char *layout_backup_dir(const char *name);      /* backups/<name>/ */
char *layout_backup_manifest(const char *name); /* backups/<name>/backup.json */
/* backups/<name>/<object>[.kenc]: object is LAYOUT_METADATA, LAYOUT_LOG or
 * LAYOUT_AFTER_HOOKS. */
char *layout_backup_data(const char *name, const char *object, int encrypted);
/* backups/<name>/<rel>, rel as a manifest names an object. */
char *layout_backup_object(const char *name, const char *rel);
/* The name a manifest gives an object at `path` (what follows the last '/'). */
const char *layout_object_rel(const char *path);
/* Is `rel` (as a manifest names it) the object `object`, sealed or not? */
int layout_rel_is(const char *rel, const char *object);

/* A listed key under backups/: 1 with *name (allocated) and *rest (what follows
 * "<name>/" in key; NULL when nothing does, an object directly under backups/), 0 when
 * key is not under backups/.  The name is not checked. */
int layout_parse_backup_key(const char *key, char **name, const char **rest);

/* ---- volume data (engine/voldata.h) ---- */

#define LAYOUT_VOLUMES_CATALOG "volumes.jsonl.zst"
#define LAYOUT_VOLUME_INDEX "index.jsonl.zst"
#define LAYOUT_VOLUME_SEGMENT_MAX 999999

/* On a volume location (store/volloc.h): the marker of a backup's volume data. */
#define LAYOUT_VOLUME_MARKER "volume-data.json"
/* backups/<name>/volume-data.json */
char *layout_volume_marker(const char *name);
/* Is vid a volume id: 32 lowercase hex digits?  0, or KAHU_EDATA. */
int layout_vid_check(const char *vid);
/* backups/<name>/volumes.jsonl.zst[.kenc] */
char *layout_volume_catalog(const char *name, int encrypted);
/* backups/<name>/volumes/<vid>/index.jsonl.zst[.kenc] */
char *layout_volume_index(const char *name, const char *vid, int encrypted);
/* backups/<name>/movers/<vid>-<attempt>.json.zst[.kenc]: a data mover's result. */
#define LAYOUT_MOVERS "movers/"
#define LAYOUT_MOVER_RESULT ".json.zst"
char *layout_mover_result(const char *name, const char *vid, const char *attempt, int encrypted);
/* backups/<name>/volumes/<vid>/data-<NNNNNN>.tar.zst[.kenc], seg 1..999999 */
char *layout_volume_segment(const char *name, const char *vid, long seg, int encrypted);
/* What follows "backups/<name>/" in path: the name the manifest's `objects` gives it
 * (path itself when it is not under that directory). */
const char *layout_backup_rel(const char *name, const char *path);

/* ---- restores ---- */

char *layout_restore_dir(const char *name);     /* restores/<name>/ */
char *layout_restore_summary(const char *name); /* restores/<name>/restore.json */
/* restores/<name>/<object>[.kenc]: object is LAYOUT_RESULT, LAYOUT_LOG or LAYOUT_AFTER_HOOKS. */
char *layout_restore_data(const char *name, const char *object, int encrypted);
/* A listed key: 1 with *name (allocated) when it is restores/<name>/restore.json with
 * a non-empty name of one component, else 0. */
int layout_parse_restore_summary(const char *key, char **name);

/* ---- keys and locks ---- */

/* keys/<id>.json (n <= 1), keys/<id>-<n>.json. */
char *layout_wrapped_key(const char *id_hex, int n);
/* A listed key under keys/: 1 when it is keys/<32 lowercase hex>.json or
 * keys/<32 hex>-<n>.json, with the id in id (33 bytes); 0 for another object directly
 * under keys/ whose name ends in ".json" (id ""); -1 for anything else. */
int layout_parse_wrapped_key(const char *key, char *id);

/* probes/<id>: the object `kahu location probe` writes, reads back, lists and
 * removes; `id` is the caller's (hex, unique per run). */
char *layout_probe(const char *id);
char *layout_lock(const char *id);              /* locks/<id>.json */
/* Is a listed key a lock object (locks/<id>.json)? */
int layout_is_lock(const char *key);

#endif

/* kahu — a backup's volume data on another location than its metadata
 * (`backup create --volume-location LOC`, FORMAT.md "Volume location").
 *
 * The volume objects keep their names (backups/<name>/volumes/<vid>/…, sealed with the
 * backup's key and bound to those paths); on the volume location they sit beside a
 * marker, backups/<name>/volume-data.json:
 *
 *   {"kind":"KahuVolumeData","version":1,"backup":"<name>","location":"<metadata
 *    location>","token":"<32 hex>","created":"<RFC 3339>"}
 *
 * written create-if-absent before any volume object (it claims the name there), and
 * removed last.  The manifest on the metadata location records the volume location's
 * name, provider and the same token (covered by its MAC): a reader opens the location
 * of that name in its configuration and checks the marker, so a location renamed,
 * pointed elsewhere or replaced is a precise error, never someone else's data.  A
 * directory holding a marker and no manifest is not a backup of the location it is
 * on: repo_list_backups skips it, repo_backup_exists says REPO_BACKUP_VOLUME_DATA.
 *
 * Errors: the volume location not configured → KAHU_ENOTFOUND; it cannot be opened or
 * read (provider errors, a directory gone) → KAHU_EUNREACHABLE; no marker there →
 * KAHU_ENOTFOUND; a marker of another backup or run → KAHU_EDATA.  Every message names
 * the backup, the location and what to do. */
#ifndef KAHU_STORE_VOLLOC_H
#define KAHU_STORE_VOLLOC_H

#include <stdint.h>

#include "archive/manifest.h"
#include "store/repo.h"

#define VOLLOC_MARKER_KIND "KahuVolumeData"
#define VOLLOC_MARKER_VERSION 1
#define VOLLOC_MARKER_MAX 4096 /* bytes */

struct volloc_marker {
	char *backup;    /* the backup whose volume data this is */
	char *location;  /* the name of the location holding its metadata */
	char *token;     /* MANIFEST_VOLLOC_TOKEN_LEN lowercase hex */
};
void volloc_marker_clear(struct volloc_marker *mk);

/* A fresh random token: MANIFEST_VOLLOC_TOKEN_LEN hex digits and a NUL. */
void volloc_token_new(char out[MANIFEST_VOLLOC_TOKEN_LEN + 1]);

/* Open the location `name` of meta's configuration as a repository of its own (its
 * kahu-repo.json read, nothing written).  `backup` names the backup in messages.
 * KAHU_ENOTFOUND when the configuration has no such location, KAHU_EUNREACHABLE when
 * its provider cannot open it. */
int volloc_open(struct repo *meta, const char *name, const char *backup, struct repo **out);

/* Write backups/<backup>/volume-data.json on vl, create-if-absent: KAHU_EEXIST, naming
 * whose it is, when the name is taken there. */
int volloc_marker_write(struct repo *vl, const char *backup, const char *meta_location,
			const char *token);
/* Read and parse it: KAHU_ENOTFOUND when absent, KAHU_EDATA when malformed. */
int volloc_marker_read(struct repo *vl, const char *backup, struct volloc_marker *out);

/* The volume location of the backup whose manifest is m (on meta): opened and its
 * marker checked against the manifest's name and token.  *out NULL and 0 when the
 * volume data is beside the metadata (no volume_location, or meta's own location). */
int volloc_open_for(struct repo *meta, const struct manifest *m, struct repo **out);

/* Remove backups/<backup>/ on vl: every object, the marker last, and only when the
 * marker carries `token` (KAHU_EDATA otherwise, nothing removed).  Nothing there is
 * not an error (*nremoved 0).  nremoved may be NULL. */
int volloc_remove(struct repo *vl, const char *backup, const char *token, uint64_t *nremoved);

/* What repo_remove_backup does first: when backups/<backup>/backup.json on meta names
 * a volume location, open it and remove the backup's part there (volloc_remove).  A
 * missing or unreadable manifest, or none naming a volume location: nothing to do.
 * When the volume location cannot be opened or its marker does not match, the error
 * says so and that nothing was removed. */
int volloc_remove_for(struct repo *meta, const char *backup, uint64_t *nremoved);

#endif

/* kahu — reading a Velero backup tarball (NAME.tar.gz: gzip, then tar) as Velero's
 * output file format lays it out:
 *
 *     metadata/version                                    "1" (before Velero 1.4) or "1.1.0"
 *     resources/<resource>[.<group>]/namespaces/<ns>/<name>.json
 *     resources/<resource>[.<group>]/cluster/<name>.json
 *     resources/<resource>[.<group>]/<version>[-preferredversion]/namespaces/<ns>/<name>.json
 *     resources/<resource>[.<group>]/<version>[-preferredversion]/cluster/<name>.json
 *
 * (the per-version directories since format 1.1.0: the preferred version's copy of
 * every item, and with Velero's EnableAPIGroupVersions the other versions too).
 * Member names are classified by velero_path_parse (pure: fuzzed); the reader streams
 * the members one at a time through libarchive, the gzip filter and the tar format
 * only.  Also the gzip'd JSON files Velero keeps beside a backup in its bucket
 * (velero_read_gz_json).  Errors are KAHU_EDATA with the file and member named. */
#ifndef KAHU_ARCHIVE_VELERO_H
#define KAHU_ARCHIVE_VELERO_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"

enum velero_member {
	VELERO_DIR,       /* a directory entry */
	VELERO_VERSION,   /* metadata/version */
	VELERO_ITEM,      /* an object */
	VELERO_UNKNOWN,   /* a file in no layout kahu knows: reported, not read */
};

struct velero_path {
	enum velero_member kind;
	/* VELERO_ITEM: pointers into buf */
	const char *gr;       /* <resource>[.<group>] */
	const char *version;  /* the version directory without its suffix, or NULL (the
			       * directory without a version) */
	int preferred;        /* ...it is the -preferredversion directory */
	const char *ns;       /* NULL for a cluster-scoped object */
	const char *name;     /* without .json */
	char *buf;
};

/* Classify one member name (a leading "./" is allowed: tar's own way of naming what
 * it was given as "."). is_dir: the tar entry is a directory.  KAHU_EDATA for a name
 * that could point outside the archive's tree (absolute, a ".." component) or is
 * malformed (empty components); 0 otherwise.  velero_path_clear frees. */
int velero_path_parse(const char *member, int is_dir, struct velero_path *out);
void velero_path_clear(struct velero_path *p);

/* metadata/version's text: 0 for a version kahu reads ("1", or 1.x.y: minor versions
 * only add to the layout), with *newer set for a minor version above 1.1 (read as
 * 1.1.0, a warning for the caller); KAHU_EDATA naming what it holds otherwise. */
int velero_version_check(const char *text, size_t len, int *newer);

struct velero_reader;

/* Open a Velero tarball.  KAHU_ENOTFOUND when there is no such file, KAHU_EDATA when it
 * is not gzip-compressed. */
int velero_open(const char *file, struct velero_reader **out);
/* The next member: 1 with its name (valid until the next call) and whether it is a
 * directory; 0 at the end of the archive; KAHU_EDATA when the archive is truncated or
 * corrupt, or a member is a link or a device (a Velero tarball holds files and
 * directories only). */
int velero_next(struct velero_reader *r, const char **name, int *is_dir);
/* The current member's bytes into out (appended), at most max (KAHU_EDATA beyond). */
int velero_read(struct velero_reader *r, struct kbuf *out, size_t max);
void velero_close(struct velero_reader *r);

/* A gzip'd JSON document (Velero's NAME-volumesnapshots.json.gz and the like), at
 * most max bytes once decompressed.  KAHU_ENOTFOUND when the file does not exist,
 * KAHU_EDATA when it is not gzip, truncated or not JSON. */
int velero_read_gz_json(const char *file, size_t max, json_t **out);

#endif

/* kahu — the volume data core's pure parts (voldata.h): the listing's records, the
 * index lines, path checks.  No I/O beyond reading a FILE; fuzzed and unit-tested. */
#ifndef KAHU_ENGINE_VOL_INT_H
#define KAHU_ENGINE_VOL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/xxh64.h"

#define VOL_NONCE_LEN 16

/* Entry types: regular file, directory, symlink, hard link (to `target`, an earlier
 * path of the index), FIFO. */
enum { VOL_T_FILE = 'f', VOL_T_DIR = 'd', VOL_T_SYMLINK = 'l', VOL_T_HARDLINK = 'h',
       VOL_T_FIFO = 'p' };

struct vol_entry {
	char *path;        /* relative to the volume root, no "./" */
	size_t path_len;   /* a path may hold any byte but NUL and is kept as bytes */
	char type;
	uint32_t mode;     /* permission bits (07777) */
	uint64_t uid, gid, size, ino, nlink;
	int64_t mtime, ctime;
	char *target;      /* symlink or hard link target; NULL when none */
	char hash[65];     /* the content hash, hex (vol_chash), "" when none */
	char *backup;      /* where the content is: backup name and segment */
	long segment;      /* -1: no content stored */
	bool racy;         /* changed in the second its listing began: compared as changed next time */
};

void vol_entry_clear(struct vol_entry *e);

/* The content hash of a file.  What this kahu stores gets XXH64 (16 hex digits, index
 * key "xxh64"); indexes written before manifest format 3 hold BLAKE2b-256 (64 digits,
 * key "hash"), checked as such.  The kind is the hex's length.  Both only check content
 * against its index line: the index and the segments are authenticated by their
 * envelopes (docs/FORMAT.md). */
#define VOL_XXH64_HEX_LEN 16
#define VOL_B2_HEX_LEN 64
struct kahu_hash;
struct vol_chash {
	struct kahu_hash *b2; /* BLAKE2b-256, or NULL: XXH64 */
	struct kahu_xxh64 x;
};
/* like: a hash of the kind wanted (an index line's), or NULL or "": XXH64. */
void vol_chash_init(struct vol_chash *c, const char *like);
void vol_chash_update(struct vol_chash *c, const void *data, size_t len);
/* The hex into out (17 or 65 bytes), and c's resources freed. */
void vol_chash_final(struct vol_chash *c, char out[65]);
/* c's resources freed without a result. */
void vol_chash_drop(struct vol_chash *c);

/* One record of the listing (`NONCE|ino|nlink|rawmode hex|uid|gid|size|mtime|ctime|./path`,
 * without its final newline).  1: *e filled; 0: a type kahu does not keep (socket,
 * device: skipped with a warning by the caller, e->path set); KAHU_EDATA naming the
 * defect otherwise. */
int vol_listing_record(const char *rec, size_t len, const char *nonce, struct vol_entry *e);

/* Reading the listing back from its spool: records are lines that start with
 * "NONCE|"; a line that does not continues the previous record's name (a newline in a
 * file name).  Paths must come strictly increasing (bytewise). */
struct vol_listing {
	FILE *f;
	const char *nonce;
	struct kbuf rec, next;
	bool have_next, eof;
	char *prev;
	size_t prev_len;
	uint64_t n;
	int64_t now;       /* the listing's start on the volume's clock ("NONCE|now|SECONDS"), -1 unknown */
	char *line;        /* getline's buffer */
	size_t cap;
};
void vol_listing_init(struct vol_listing *l, FILE *f, const char *nonce);
/* 1 with *e (cleared first), 0 at the end, or KAHU_EDATA. */
int vol_listing_next(struct vol_listing *l, struct vol_entry *e);
void vol_listing_free(struct vol_listing *l);

/* Index lines: one JSON object, keys sorted.  A path (and a target) that is valid
 * UTF-8 is "path" ("target"); any other is "path_b64" ("target_b64"), base64. */
char *vol_index_format(const struct vol_entry *e);
int vol_index_parse(const char *line, size_t len, struct vol_entry *e);
/* complete false: a file's content location may be missing (a plan, before transfer). */
int vol_index_parse_ex(const char *line, size_t len, struct vol_entry *e, bool complete);
/* The same through jansson, whatever the line: the reference the direct forms above
 * are checked against (they take the common lines without it, and give these results). */
char *vol_index_format_json(const struct vol_entry *e);
int vol_index_parse_json(const char *line, size_t len, struct vol_entry *e, bool complete);

/* Bytewise order of two paths (as LC_ALL=C sort). */
int vol_path_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* A path the composer may send: relative, no empty, "." or ".." component, no NUL.
 * 0, or KAHU_EDATA "WHAT PATH: why" (PATH quoted and escaped for a terminal). */
int vol_path_check(const char *path, size_t len, const char *what);
/* The path escaped for messages (allocated). */
char *vol_path_printable(const char *path, size_t len);
/* Does a glob match the path or one of its ancestor directories? */
bool vol_glob_match_any(const char *const *globs, const char *path);

#endif

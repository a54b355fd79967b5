/* kahu — bundles: a tar archive streamed through zstd and (optionally) the .kenc
 * envelope, e.g. backups/<name>/metadata.tar.zst.kenc (FORMAT.md).
 *
 *   write:  bundle_add* -> libarchive (pax restricted tar) -> zs_write -> kenc_write
 *           -> hash/count -> sink
 *   read:   source -> kenc_reader_feed -> bounded zstd decompression -> libarchive
 *           tar reader, pulled by bundle_next / bundle_read_data
 *
 * Memory is fixed on both sides (a few hundred KiB plus what zstd needs for its window
 * and, when writing with workers, its jobs); it never grows with the archive or with
 * a member's size.
 *
 * Member names are repository-layout paths ("resources/deployments.apps/namespaces/
 * shop/web.json"): relative, '/'-separated, valid UTF-8, no "." or ".." component, no
 * empty component, no control character, at most BUNDLE_NAME_MAX bytes.  The writer
 * refuses anything else.  The tar is POSIX pax ("restricted": plain ustar headers unless
 * a name needs an extended header), names stored as UTF-8, no padding of the last block.
 *
 * The reader hands out data before the end of the stored object is verified (the
 * envelope authenticates chunk by chunk): only bundle_reader_finish() returning 0 proves
 * the bundle complete and untruncated.  Treat a late error as a failed bundle. */
#ifndef KAHU_ARCHIVE_BUNDLE_H
#define KAHU_ARCHIVE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "archive/key.h"
#include "archive/stream.h"
#include "util/buf.h"

#define BUNDLE_NAME_MAX 4096

/* 0 when `name` is an acceptable member name, else KAHU_EUSAGE with a message saying
 * why (the name is quoted, escaped). */
int bundle_name_check(const char *name);

/* ---- member-name components (FORMAT.md, "Member names") ----------------------------
 * An API name (group-resource, namespace, object name) becomes one component of a
 * member name.  It stands as it is when it is *safe*: 1 to BUNDLE_COMPONENT_RAW_MAX
 * bytes of valid UTF-8 without control characters (C0, DEL, C1), without '/', not "."
 * or "..", not starting with BUNDLE_ENCODED_MARK.  Anything else (a Role named with a
 * newline, a 253-byte ConfigMap name, a hostile server's "../../etc/evil") is encoded:
 *
 *     '%' <prefix> '~' <64 hex digits>
 *
 * prefix: its first bytes (at most BUNDLE_ENCODED_PREFIX_MAX), each byte that is not
 * [A-Za-z0-9._-] replaced by '_' (readable, never a path); the digits: BLAKE2b-256 of
 * all its bytes.  An encoded component is at most 114 bytes and never safe, so the two
 * forms never meet.  The real name is in the object and the index line. */
#define BUNDLE_COMPONENT_RAW_MAX 240
#define BUNDLE_ENCODED_MARK '%'
#define BUNDLE_ENCODED_PREFIX_MAX 48
#define BUNDLE_ENCODED_LEN_MAX (1 + BUNDLE_ENCODED_PREFIX_MAX + 1 + KAHU_HASH_HEX_LEN)

/* Whether s[0..len) may stand as it is. */
int bundle_component_safe(const char *s, size_t len);
/* The encoded form of s[0..len), appended to out. */
void bundle_component_encode(const char *s, size_t len, struct kbuf *out);
/* s[0..len) as it is when safe, else encoded, appended to out. */
void bundle_component_add(const char *s, size_t len, struct kbuf *out);

/* ---- writer --------------------------------------------------------------------- */

struct bundle_writer;

struct bundle_stats {
	uint64_t entries;          /* members written */
	uint64_t plain_bytes;      /* tar stream size */
	uint64_t compressed_bytes; /* zstd output size */
	uint64_t stored_bytes;     /* what reached the sink (envelope included) */
	char blake2b[KAHU_HASH_HEX_LEN + 1]; /* BLAKE2b-256 of the stored bytes, hex */
};

/* key NULL: no encryption (the stored object is the zstd stream itself).  object_path
 * is the repository-relative path of the stored object, bound into the envelope (the
 * reader must give the same one).  zstd_level 0 = default; zstd_workers 0 = compress in
 * this thread.  The sink gets the stored bytes in pieces; an error it returns (with its
 * message set) ends the bundle: every later call returns that code. */
int bundle_writer_new(const struct kahu_key *key, const char *object_path, int zstd_level,
		      int zstd_workers, kahu_write_fn sink, void *ud, struct bundle_writer **out);

/* A whole member (a regular file, mode 0644). */
int bundle_add(struct bundle_writer *w, const char *name, const void *data, size_t len,
	       time_t mtime);

/* A member of known size given in pieces: begin, data (any number of calls), end.  The
 * pieces must add up to exactly `size` bytes (KAHU_EUSAGE otherwise, and the bundle is
 * then unusable).  Only the permission bits of mode are kept. */
int bundle_add_stream_begin(struct bundle_writer *w, const char *name, uint64_t size,
			    mode_t mode, time_t mtime);
int bundle_add_stream_data(struct bundle_writer *w, const void *buf, size_t len);
int bundle_add_stream_end(struct bundle_writer *w);

/* Ends the tar, the zstd frame and the envelope (final chunk) and flushes everything to
 * the sink.  st may be NULL.  No call but bundle_writer_free after it. */
int bundle_finish(struct bundle_writer *w, struct bundle_stats *st);

/* Frees the writer; an unfinished bundle is abandoned (the sink already got a prefix of
 * it, which the caller must discard, e.g. store_put_abort).  NULL is fine. */
void bundle_writer_free(struct bundle_writer *w);

/* ---- reader --------------------------------------------------------------------- */

/* Reads the next stored bytes into buf (at most cap); *got = 0 at end of the object.
 * Returns 0 or a negative kahu_err with its message set. */
typedef int (*bundle_source_fn)(void *ud, void *buf, size_t cap, size_t *got);

struct bundle_reader;

enum bundle_entry_type {
	BUNDLE_FILE,
	BUNDLE_DIR,
	BUNDLE_SYMLINK,
	BUNDLE_HARDLINK,
	BUNDLE_OTHER, /* device, fifo, socket */
};

struct bundle_entry {
	const char *name;  /* valid until the next bundle_next / bundle_reader_free */
	uint64_t size;
	mode_t mode;       /* permission bits only */
	time_t mtime;
	enum bundle_entry_type type;
	const char *link_target; /* symlink or hardlink target, else NULL */
};

/* key NULL: the bundle is expected unencrypted.  A mismatch either way is refused with
 * a clear message (an unencrypted object where an encrypted one is expected could be a
 * downgrade attack, so that is KAHU_ECRYPTO).
 *
 * Errors (all messages start with the object path):
 *   KAHU_ECRYPTO  wrong key ("written with key <id>"), a chunk failed authentication
 *                 (tampered, corrupt, moved to another path), encryption mismatch
 *   KAHU_EDATA    truncated ("truncated"), corrupt zstd data, corrupt tar, data after
 *                 the end, not a bundle at all
 *   any code the source returns.
 * After an error every call returns the same code with the same message. */
int bundle_reader_new(const struct kahu_key *key, const char *object_path,
		      bundle_source_fn src, void *src_ud, struct bundle_reader **out);

/* 1 and *e filled for the next member, 0 at the end of the tar, negative on error.
 * The previous member's unread data is skipped. */
int bundle_next(struct bundle_reader *r, struct bundle_entry *e);

/* Up to cap bytes of the current member's data; *got = 0 at the member's end. */
int bundle_read_data(struct bundle_reader *r, void *buf, size_t cap, size_t *got);

/* The current member's (remaining) data appended to out; KAHU_EDATA without reading
 * anything when the member is larger than max bytes. */
int bundle_read_all(struct bundle_reader *r, struct kbuf *out, size_t max);

/* Reads what is left (the remaining members are skipped) and verifies the end: tar end
 * marker, nothing but zero padding after it, zstd frame complete, envelope final chunk
 * seen, no data after it, the source at its end.  0 only when the whole bundle is
 * intact.  Calling it again returns the same result. */
int bundle_reader_finish(struct bundle_reader *r);

/* Stored bytes pulled from the source so far. */
uint64_t bundle_reader_stored_bytes(const struct bundle_reader *r);

void bundle_reader_free(struct bundle_reader *r);

/* ---- extraction (kahu backup download --extract DIR) ---------------------------- */

struct bundle_extract_stats {
	uint64_t files;
	uint64_t dirs;
	uint64_t bytes;
	uint64_t shortened; /* members with a component too long for the file system */
};

/* Extracts every remaining member under dir (created with mode 0700 if missing; its
 * parent must exist), then calls bundle_reader_finish: 0 means everything was
 * extracted and the bundle verified.
 *
 * A member-name component longer than the file system takes (NAME_MAX of dir, at most
 * 255 bytes: archives may hold 253-byte object names plus ".json") is written under
 * its encoded form (bundle_component_encode; "<stem>.json" as "<encoded stem>.json"),
 * the name a current writer gives it.
 *
 * Safe against hostile archives: names are checked (bundle_name_check: no absolute
 * path, no ".."), symlinks, hardlinks and special files are refused as corruption
 * (KAHU_EDATA: kahu bundles never contain them), directories are created 0700 and
 * files 0600 with O_EXCL, every path component is opened with O_NOFOLLOW relative to
 * its parent (openat), so an existing symlink inside dir is never followed (refused,
 * KAHU_EPERM), and an existing file is never overwritten (KAHU_EEXIST).
 *
 * On error what was extracted so far stays in place; st (may be NULL) counts it. */
int bundle_extract(struct bundle_reader *r, const char *dir, struct bundle_extract_stats *st);

#endif

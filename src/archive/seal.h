/* kahu — sealed objects, written and read back by one pair of functions each:
 *
 * Sealed streams: zstd, then the .kenc envelope when there is a key (envelope.h:
 * bound to the object's path).  The stored objects besides the metadata archive (a
 * backup's log, a restore's result and log) are written with seal_open … seal_finish
 * and read back with seal_reader_open … seal_reader_finish; the metadata archive is
 * read through the same envelope and zstd stages in pull mode (seal_pull_*, for the
 * bundle reader).
 *
 * Sealed documents: a JSON object that carries its own MAC in "mac", the keyed
 * BLAKE2b-256 (a subkey of the master key named by `ctx`: KAHU_SUBKEY_MAC for a
 * backup's manifest, KAHU_SUBKEY_RECORD for a restore's record) over, when `bind` is
 * not NULL, bind and one NUL byte, then the canonical serialization (keys sorted,
 * compact: JSON_SORT_KEYS | JSON_COMPACT) of the whole document without "mac".  The
 * verifier recomputes that serialization from the parsed JSON, so every member (also
 * one a newer kahu adds) is covered; `bind` (a record's object path) ties a document
 * to where it is stored.  seal_doc writes the MAC, seal_doc_verify checks it. */
#ifndef KAHU_ARCHIVE_SEAL_H
#define KAHU_ARCHIVE_SEAL_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "archive/key.h"
#include "archive/stream.h"

/* ---- sealed streams ---- */

struct seal_writer {
	struct kenc_writer *enc;
	struct zstream *z;
};

/* Compress at `level` and, with a key, encrypt for object_path into out. */
int seal_open(struct seal_writer *w, const struct kahu_key *key, const char *object_path,
	      int level, kahu_write_fn out, void *ud);
/* The same with the envelope carrying the run id `run` (KENC_RUN_BYTES; NULL: none;
 * ignored without a key): envelope.h. */
int seal_open_run(struct seal_writer *w, const struct kahu_key *key, const char *object_path,
		  const uint8_t *run, int level, kahu_write_fn out, void *ud);
/* w's compressor (w->enc set or not first) writing into out: zstd at `level`, its frame
 * without zstd's content checksum when there is an envelope, which authenticates every
 * byte (the checksum would only be computed again when writing and when reading).  The
 * one place both writers, seal_open_run and seal_async_open_run, make it. */
int seal_compressor_new(struct seal_writer *w, int level, kahu_write_fn out, void *ud);
int seal_write(struct seal_writer *w, const void *buf, size_t len);
/* All of f, from its start (a temporary file written so far). */
int seal_write_file(struct seal_writer *w, FILE *f);
/* Flush the compressor and close the envelope. */
int seal_finish(struct seal_writer *w);
void seal_close(struct seal_writer *w); /* frees; zeroes the key state */

/* The same sealed stream with its work on threads of its own, so that a producer (the
 * volume ingest: receiving, parsing, hashing) and the compressor use two cores: one
 * thread compresses, another encrypts and calls `out` (which runs there).  The bytes
 * written are copied into a bounded queue of SA_BLOCKS blocks of SA_BLOCK bytes (4 MiB)
 * and the compressed ones into another of 1 MiB, so memory stays flat; a write waits
 * while the queue is full.  The output is the stream seal_open would write.  The first
 * error of either thread (its code and message, or KAHU_EINTR "interrupted" when the
 * run is cancelled) is returned by the next seal_async_write or by seal_async_finish;
 * seal_async_free stops and joins the threads whatever state they are in. */
#define SA_BLOCK (512 * 1024)
#define SA_BLOCKS 8

struct seal_async;

int seal_async_open(struct seal_async **a, const struct kahu_key *key, const char *object_path,
		    int level, kahu_write_fn out, void *ud);
/* The same with a run id in the envelope (seal_open_run). */
int seal_async_open_run(struct seal_async **a, const struct kahu_key *key,
			const char *object_path, const uint8_t *run, int level, kahu_write_fn out,
			void *ud);
int seal_async_write(struct seal_async *a, const void *buf, size_t len);
/* What is queued, then the end of the stream (seal_finish); the thread is joined. */
int seal_async_finish(struct seal_async *a);
void seal_async_free(struct seal_async *a); /* NULL is fine */

struct seal_reader {
	struct kenc_reader *enc;
	struct zstream *z;
};

/* The reverse of seal_open: with a key, open the envelope of object_path (another key,
 * a moved or altered object: KAHU_ECRYPTO), then decompress into out. */
int seal_reader_open(struct seal_reader *r, const struct kahu_key *key, const char *object_path,
		     kahu_write_fn out, void *ud);
/* After open, before the first feed: the object must carry the run id `run`
 * (kenc_reader_expect_run).  Nothing without a key. */
void seal_reader_expect_run(struct seal_reader *r, const uint8_t *run);
/* The stored bytes, in any pieces.  Data reaches `out` before the end is verified. */
int seal_reader_feed(struct seal_reader *r, const void *buf, size_t len);
/* The end: the envelope's last chunk, the end of the zstd stream (a truncated object:
 * KAHU_ECRYPTO or KAHU_EDATA).  Only 0 means every byte was authentic and complete. */
int seal_reader_finish(struct seal_reader *r);
void seal_reader_close(struct seal_reader *r);

/* The same chain in pull mode, for a reader that asks for data (libarchive's read
 * callback reading a bundle): stored bytes are pulled from src in pieces, opened by
 * the envelope when there is a key, decompressed by the same zstream (one frame, the
 * whole object: zs_decompress_object) into the caller's buffer.  The first bytes are
 * checked against what is expected ("PATH is not encrypted, but a key was given…",
 * "PATH is encrypted (with key ID), but no key was given", "PATH: not a kahu bundle
 * …", "PATH: empty object (0 bytes), not a kahu bundle").  Memory is fixed: a piece of
 * stored bytes (16 KiB), one envelope chunk (64 KiB), zstd's window. */
struct seal_pull;

int seal_pull_new(const struct kahu_key *key, const char *object_path, kahu_read_fn src,
		  void *src_ud, struct seal_pull **out);
/* Before the first read: the object must carry the run id `run` (envelope.h).
 * Nothing without a key. */
void seal_pull_expect_run(struct seal_pull *p, const uint8_t *run);
/* Decompressed bytes into buf (at most cap): *got > 0, or 0 at the end, which is then
 * checked: the zstd frame, the envelope's last chunk and the source all ended there. */
int seal_pull_read(struct seal_pull *p, void *buf, size_t cap, size_t *got);
uint64_t seal_pull_stored(const struct seal_pull *p); /* bytes read from the source */
void seal_pull_free(struct seal_pull *p);

/* ---- sealed documents ---- */

/* The canonical serialization of doc without its member `member` (allocated): what a
 * sealed document's MAC, or a wrapped key's checksum, covers. */
char *seal_canonical_without(const json_t *doc, const char *member);
/* The MAC of doc (without its "mac") as lowercase hex. */
void seal_doc_mac(const json_t *doc, const struct kahu_key *key, const char ctx[8],
		  const char *bind, char out[KAHU_HASH_HEX_LEN + 1]);
/* Set doc's "mac" (replacing any), over everything else doc holds. */
void seal_doc(json_t *doc, const struct kahu_key *key, const char ctx[8], const char *bind);
/* Check doc's "mac", which must be a string: 0 when it matches; KAHU_ECRYPTO "<what>
 * failed authentication: it was altered or forged" otherwise. */
int seal_doc_verify(const json_t *doc, const struct kahu_key *key, const char ctx[8],
		    const char *bind, const char *what);

#endif

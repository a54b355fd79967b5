/* kahu — the `.kenc` encryption envelope, v1 (FORMAT.md "Encryption envelope").
 *
 *   offset  size  field
 *   0       8     magic "KAHUENC1"
 *   8       2     header_len, big-endian: bytes from `alg` up to the stream header
 *                 (18 in v1; up to KENC_HEADER_LEN_MAX is accepted, extra bytes are
 *                 reserved and authenticated)
 *   10      1     alg = 1: XChaCha20-Poly1305 crypto_secretstream
 *   11      1     flags: 0, or KENC_FLAG_RUN (a reader refuses any other bit)
 *   12      16    key id (key.h)
 *   28      16    with KENC_FLAG_RUN only (header_len 34): the run id, 128 bits naming
 *                 the backup run that wrote the object (the manifest's "run")
 *   28|44   24    crypto_secretstream header
 *   52      ...   chunks: 64 KiB of plaintext each, + 17 bytes; every chunk but the
 *                 last is full and tagged MESSAGE; the last one is shorter (possibly
 *                 empty) and tagged FINAL.
 *
 * The stream key is the "kahu-enc" subkey of the master key (the random stream header
 * makes every object's stream distinct).  The additional data of the first chunk is the
 * whole header followed by the object's repository-relative path, so an edited header
 * or an object moved to another path fails authentication.  With a run id the header,
 * and so the first chunk's additional data, also binds the object to the run that
 * wrote it: a reader told the run (kenc_reader_expect_run, from the authenticated
 * manifest) refuses an object of another run at the same path (a backup of the same
 * name deleted and written again) and one without a run id.
 *
 * Both sides are push streams with fixed buffers (about 130 KiB each): memory never
 * grows with the object size or with anything an attacker writes in the header.
 *
 * The reader hands plaintext to its callback one authenticated chunk at a time, so a
 * consumer sees data before the end is verified: only kenc_reader_finish() returning 0
 * proves the object complete.  Restore must treat a late error as a failed object. */
#ifndef KAHU_ARCHIVE_ENVELOPE_H
#define KAHU_ARCHIVE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "archive/key.h"
#include "archive/stream.h"

#define KENC_MAGIC "KAHUENC1"
#define KENC_MAGIC_LEN 8
#define KENC_ALG_SECRETSTREAM 1
#define KENC_HEADER_LEN_V1 18
#define KENC_FLAG_RUN 0x01
#define KENC_RUN_BYTES 16
#define KENC_HEADER_LEN_RUN (KENC_HEADER_LEN_V1 + KENC_RUN_BYTES)
#define KENC_HEADER_LEN_MAX 256
#define KENC_SS_HEADER_BYTES 24
#define KENC_PREFIX_LEN (KENC_MAGIC_LEN + 2)
/* Size of a v1 header as written: 52 bytes, 68 with a run id. */
#define KENC_HEADER_SIZE (KENC_PREFIX_LEN + KENC_HEADER_LEN_V1 + KENC_SS_HEADER_BYTES)
#define KENC_HEADER_SIZE_RUN (KENC_HEADER_SIZE + KENC_RUN_BYTES)
#define KENC_CHUNK_PLAIN (64 * 1024)
#define KENC_CHUNK_OVERHEAD 17 /* crypto_secretstream_xchacha20poly1305_ABYTES */
#define KENC_CHUNK_CIPHER (KENC_CHUNK_PLAIN + KENC_CHUNK_OVERHEAD)

/* Exact size of the envelope of `plain_len` bytes of plaintext (without a run id; add
 * KENC_RUN_BYTES for one). */
uint64_t kenc_encrypted_size(uint64_t plain_len);

struct kenc_writer;

/* The key is used only here (the stream subkey is derived and kept); object_path is
 * copied.  Nothing is written until the first chunk is complete or finish is called. */
int kenc_writer_new(const struct kahu_key *key, const char *object_path, kahu_write_fn out,
		    void *ud, struct kenc_writer **w);
/* The same with the run id `run` (KENC_RUN_BYTES; NULL: none, as kenc_writer_new) in
 * the header. */
int kenc_writer_new_run(const struct kahu_key *key, const char *object_path,
			const uint8_t *run, kahu_write_fn out, void *ud, struct kenc_writer **w);
int kenc_write(struct kenc_writer *w, const void *buf, size_t len);
/* Writes the last chunk (tagged FINAL, possibly empty).  No write after it. */
int kenc_writer_finish(struct kenc_writer *w);
void kenc_writer_free(struct kenc_writer *w); /* zeroes the state; NULL is fine */
uint64_t kenc_writer_bytes_in(const struct kenc_writer *w);
uint64_t kenc_writer_bytes_out(const struct kenc_writer *w);
int kenc_write_cb(void *w, const void *buf, size_t len); /* kahu_write_fn adapter */

struct kenc_reader;

/* Errors (messages name the object path):
 *   KAHU_EDATA    not a kahu envelope (magic), unsupported alg/flags/header length,
 *                 data after the FINAL chunk, truncated (end before FINAL), empty input
 *   KAHU_ECRYPTO  the object was written with another key (both ids in the message);
 *                 "chunk N failed authentication" (corrupt, tampered, moved, or cut
 *                 inside a chunk — at the end of the data a cut is indistinguishable
 *                 from tampering, since chunk sizes are not stored)
 * Trailing bytes after a short FINAL chunk cannot be told apart from a longer last
 * chunk (chunk sizes are not stored), so they surface as the authentication failure
 * of that chunk; "data after the final chunk" is reported when the FINAL chunk is
 * full size (kahu never writes one, but a reader accepts it).
 * After an error every call returns the same code. */
int kenc_reader_new(const struct kahu_key *key, const char *object_path, kahu_write_fn out,
		    void *ud, struct kenc_reader **r);
/* Before the first feed: the object must carry the run id `run` (KENC_RUN_BYTES,
 * copied).  Without this call an object with or without a run id is read (the run id,
 * when there is one, is authenticated but not compared).  KAHU_ECRYPTO "PATH was
 * written by another run of its backup (replaced)" or "PATH is not bound to the run of
 * its backup (replaced by an object of an older format)". */
void kenc_reader_expect_run(struct kenc_reader *r, const uint8_t *run);
/* Any split of the input works, down to one byte per call. */
int kenc_reader_feed(struct kenc_reader *r, const void *buf, size_t len);
/* End of input: decrypts what is buffered; KAHU_EDATA "truncated" unless FINAL was seen. */
int kenc_reader_finish(struct kenc_reader *r);
void kenc_reader_free(struct kenc_reader *r);
uint64_t kenc_reader_bytes_in(const struct kenc_reader *r);
uint64_t kenc_reader_bytes_out(const struct kenc_reader *r);
int kenc_reader_feed_cb(void *r, const void *buf, size_t len); /* kahu_write_fn adapter */

/* Key id of an envelope from its first bytes (at least KENC_PREFIX_LEN + 18; 52 is
 * always enough for v1), without the key.  KAHU_EDATA when it is not a kahu envelope or
 * too short. */
int kenc_peek_key_id(const void *buf, size_t len, uint8_t out[KAHU_KEY_ID_BYTES]);

#endif

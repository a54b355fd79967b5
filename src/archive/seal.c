/* kahu — sealed objects (see seal.h). */
#include "archive/seal.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive/envelope.h"
#include "archive/zstream.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

/* ---- sealed streams ---- */

int seal_open(struct seal_writer *w, const struct kahu_key *key, const char *object_path,
	      int level, kahu_write_fn out, void *ud)
{
	return seal_open_run(w, key, object_path, NULL, level, out, ud);
}

int seal_open_run(struct seal_writer *w, const struct kahu_key *key, const char *object_path,
		  const uint8_t *run, int level, kahu_write_fn out, void *ud)
{
	int rc;
	memset(w, 0, sizeof *w);
	if (key && (rc = kenc_writer_new_run(key, object_path, run, out, ud, &w->enc)) < 0)
		return rc;
	return w->enc ? seal_compressor_new(w, level, kenc_write_cb, w->enc)
		      : seal_compressor_new(w, level, out, ud);
}

int seal_compressor_new(struct seal_writer *w, int level, kahu_write_fn out, void *ud)
{
	int rc = zs_compress_new(level, 0, out, ud, &w->z);
	return rc == 0 && w->enc ? zs_compress_no_checksum(w->z) : rc;
}

int seal_write(struct seal_writer *w, const void *buf, size_t len)
{
	return zs_write(w->z, buf, len);
}

int seal_write_file(struct seal_writer *w, FILE *f)
{
	char buf[65536];
	size_t n;
	int rc;
	if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
		return kahu_error_set(KAHU_EIO, "cannot read a temporary file: %s", strerror(errno));
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if ((rc = zs_write(w->z, buf, n)) < 0)
			return rc;
	if (ferror(f))
		return kahu_error_set(KAHU_EIO, "cannot read a temporary file: %s", strerror(errno));
	return 0;
}

int seal_finish(struct seal_writer *w)
{
	int rc = zs_finish(w->z);
	if (rc == 0 && w->enc)
		rc = kenc_writer_finish(w->enc);
	return rc;
}

void seal_close(struct seal_writer *w)
{
	zs_free(w->z);
	kenc_writer_free(w->enc);
	memset(w, 0, sizeof *w);
}

int seal_reader_open(struct seal_reader *r, const struct kahu_key *key, const char *object_path,
		     kahu_write_fn out, void *ud)
{
	int rc;
	memset(r, 0, sizeof *r);
	if ((rc = zs_decompress_new(out, ud, &r->z)) < 0)
		return rc;
	if (key && (rc = kenc_reader_new(key, object_path, zs_feed_cb, r->z, &r->enc)) < 0)
		return rc;
	return 0;
}

void seal_reader_expect_run(struct seal_reader *r, const uint8_t *run)
{
	if (r->enc)
		kenc_reader_expect_run(r->enc, run);
}

int seal_reader_feed(struct seal_reader *r, const void *buf, size_t len)
{
	return r->enc ? kenc_reader_feed(r->enc, buf, len) : zs_feed(r->z, buf, len);
}

int seal_reader_finish(struct seal_reader *r)
{
	int rc = r->enc ? kenc_reader_finish(r->enc) : 0;
	if (rc == 0)
		rc = zs_finish(r->z);
	return rc;
}

void seal_reader_close(struct seal_reader *r)
{
	kenc_reader_free(r->enc);
	zs_free(r->z);
	memset(r, 0, sizeof *r);
}

/* ---- sealed documents ---- */

char *seal_canonical_without(const json_t *doc, const char *member)
{
	json_t *copy = json_copy((json_t *)doc);
	if (!copy) {
		fprintf(stderr, "kahu: out of memory (copying JSON)\n");
		abort();
	}
	json_object_del(copy, member);
	char *canon = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(copy);
	if (!canon) {
		fprintf(stderr, "kahu: out of memory (serializing JSON)\n");
		abort();
	}
	return canon;
}

void seal_doc_mac(const json_t *doc, const struct kahu_key *key, const char ctx[8],
		  const char *bind, char out[KAHU_HASH_HEX_LEN + 1])
{
	char *canon = seal_canonical_without(doc, "mac");
	struct kbuf b = KBUF_INIT;
	if (bind) {
		kbuf_adds(&b, bind);
		kbuf_addc(&b, '\0');
	}
	kbuf_adds(&b, canon);
	kahu_key_keyed_hash(key, ctx, b.data, b.len, out);
	kbuf_free(&b);
	free(canon);
}

void seal_doc(json_t *doc, const struct kahu_key *key, const char ctx[8], const char *bind)
{
	char mac[KAHU_HASH_HEX_LEN + 1];
	seal_doc_mac(doc, key, ctx, bind, mac);
	json_object_set_new(doc, "mac", json_string(mac));
}

int seal_doc_verify(const json_t *doc, const struct kahu_key *key, const char ctx[8],
		    const char *bind, const char *what)
{
	char want[KAHU_HASH_HEX_LEN + 1];
	const char *mac = json_string_value(json_object_get(doc, "mac"));
	seal_doc_mac(doc, key, ctx, bind, want);
	if (!mac || strlen(mac) != KAHU_HASH_HEX_LEN || !kahu_ct_equal(want, mac, KAHU_HASH_HEX_LEN))
		return kahu_error_set(KAHU_ECRYPTO, "%s failed authentication: it was altered or "
				      "forged", what);
	return 0;
}

/* ---- sealed objects read in pull mode ---- */

/* Stored bytes are pulled from the source in pieces of this size.  It must not exceed
 * KENC_CHUNK_CIPHER: then one feed completes at most one envelope chunk, whose
 * plaintext (64 KiB at most) always fits the empty compressed-data buffer. */
#define SRC_PIECE (16 * 1024)
#define CBUF_CAP (KENC_CHUNK_PLAIN > SRC_PIECE ? KENC_CHUNK_PLAIN : SRC_PIECE)

_Static_assert(SRC_PIECE <= KENC_CHUNK_CIPHER, "one feed must complete at most one chunk");

static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

struct seal_pull {
	char *path;
	kahu_read_fn src;
	void *src_ud;
	bool want_encrypted;
	bool src_eof;
	bool sniffed;             /* the first bytes were checked */
	bool ended;               /* the end was reached and checked */
	uint64_t stored;
	uint8_t *sbuf;            /* stored bytes just read */
	struct kenc_reader *kr;   /* NULL: unencrypted */
	/* compressed bytes (plaintext of the envelope) */
	uint8_t *cbuf;
	size_t c_pos, c_len;
	bool comp_eof;            /* nothing will follow what is in cbuf */
	struct zstream *z;
};

/* kenc reader output: one authenticated chunk at most per feed (see SRC_PIECE). */
static int plain_in(void *ud, const void *buf, size_t len)
{
	struct seal_pull *p = ud;
	if (len > CBUF_CAP - p->c_len)
		return kahu_error_set(KAHU_EINTERNAL, "%s: envelope chunk overflows the buffer",
				      p->path);
	memcpy(p->cbuf + p->c_len, buf, len);
	p->c_len += len;
	return 0;
}

int seal_pull_new(const struct kahu_key *key, const char *object_path, kahu_read_fn src,
		  void *src_ud, struct seal_pull **out)
{
	int rc;
	struct seal_pull *p = xcalloc(1, sizeof *p);
	p->path = xstrdup(object_path);
	p->src = src;
	p->src_ud = src_ud;
	p->want_encrypted = key != NULL;
	*out = NULL;
	if ((key && (rc = kenc_reader_new(key, object_path, plain_in, p, &p->kr)) < 0) ||
	    (rc = zs_decompress_new(NULL, NULL, &p->z)) < 0) {
		seal_pull_free(p);
		return rc;
	}
	zs_decompress_object(p->z, object_path);
	p->sbuf = xmalloc(SRC_PIECE);
	p->cbuf = xmalloc(CBUF_CAP);
	*out = p;
	return 0;
}

void seal_pull_expect_run(struct seal_pull *p, const uint8_t *run)
{
	if (p->kr)
		kenc_reader_expect_run(p->kr, run);
}

/* The first bytes tell an envelope from a bare zstd stream: refuse a mismatch with
 * what the caller expects, in words a user understands. */
static int sniff(struct seal_pull *p, const uint8_t *b, size_t n)
{
	if (p->want_encrypted && n >= sizeof zstd_magic && !memcmp(b, zstd_magic, sizeof zstd_magic))
		return kahu_error_set(KAHU_ECRYPTO,
				      "%s is not encrypted, but a key was given: refusing an "
				      "unencrypted object where an encrypted one is expected "
				      "(written with --no-encryption, or replaced)", p->path);
	if (!p->want_encrypted && n >= KENC_MAGIC_LEN && !memcmp(b, KENC_MAGIC, KENC_MAGIC_LEN)) {
		uint8_t id[KAHU_KEY_ID_BYTES];
		char hex[KAHU_KEY_ID_HEX_LEN + 1];
		if (kenc_peek_key_id(b, n, id) == 0)
			return kahu_error_set(KAHU_ECRYPTO,
					      "%s is encrypted (with key %s), but no key was given",
					      p->path, kahu_key_id_to_hex(id, hex));
		return kahu_error_set(KAHU_ECRYPTO, "%s is encrypted, but no key was given",
				      p->path);
	}
	if (!p->want_encrypted && n < sizeof zstd_magic && !memcmp(b, zstd_magic, n))
		return kahu_error_set(KAHU_EDATA, "%s: truncated: %zu bytes, not even a zstd "
				      "frame header", p->path, n);
	if (!p->want_encrypted && (n < sizeof zstd_magic || memcmp(b, zstd_magic, sizeof zstd_magic)))
		return kahu_error_set(KAHU_EDATA,
				      "%s: not a kahu bundle (neither a zstd stream nor a kahu "
				      "envelope)", p->path);
	return 0;
}

/* Stored bytes -> the compressed-data buffer. */
static int take_stored(struct seal_pull *p, const uint8_t *b, size_t n)
{
	if (p->kr)
		return kenc_reader_feed(p->kr, b, n);
	return plain_in(p, b, n);
}

static int read_source(struct seal_pull *p, uint8_t *buf, size_t cap, size_t *got)
{
	int rc = p->src(p->src_ud, buf, cap, got);
	if (rc < 0)
		return rc;
	if (*got > cap)
		return kahu_error_set(KAHU_EINTERNAL, "%s: the source returned more than asked",
				      p->path);
	if (*got == 0)
		p->src_eof = true;
	p->stored += *got;
	return 0;
}

/* The first read: gather enough bytes to recognise the object. */
static int first_read(struct seal_pull *p)
{
	size_t have = 0, got;
	int rc;
	while (have < KENC_HEADER_SIZE && !p->src_eof) {
		if ((rc = read_source(p, p->sbuf + have, SRC_PIECE - have, &got)) < 0)
			return rc;
		have += got;
	}
	p->sniffed = true;
	if (have == 0)
		return kahu_error_set(KAHU_EDATA, "%s: empty object (0 bytes), not a kahu bundle",
				      p->path);
	if ((rc = sniff(p, p->sbuf, have)) < 0)
		return rc;
	return take_stored(p, p->sbuf, have);
}

/* Refill the (empty) compressed-data buffer; at the end of the source, comp_eof. */
static int pull_compressed(struct seal_pull *p)
{
	int rc;
	size_t got;
	p->c_pos = p->c_len = 0;
	if (!p->sniffed && (rc = first_read(p)) < 0)
		return rc;
	while (p->c_len == 0 && !p->comp_eof) {
		if (p->src_eof) {
			/* Decrypts the last (short) chunk; "truncated" without FINAL. */
			if (p->kr && (rc = kenc_reader_finish(p->kr)) < 0)
				return rc;
			p->comp_eof = true;
			break;
		}
		if ((rc = read_source(p, p->sbuf, SRC_PIECE, &got)) < 0)
			return rc;
		if (got && (rc = take_stored(p, p->sbuf, got)) < 0)
			return rc;
	}
	return 0;
}

int seal_pull_read(struct seal_pull *p, void *buf, size_t cap, size_t *got)
{
	int rc;
	size_t used, n;
	*got = 0;
	if (p->ended)
		return 0;
	for (;;) {
		if (p->c_pos == p->c_len && !zs_pending(p->z)) {
			if (p->comp_eof)
				break;
			if ((rc = pull_compressed(p)) < 0)
				return rc;
			continue;
		}
		rc = zs_step(p->z, p->cbuf + p->c_pos, p->c_len - p->c_pos, &used, buf, cap, &n);
		p->c_pos += used;
		if (rc < 0)
			return rc;
		if (n) {
			*got = n;
			return 0;
		}
	}
	/* the end of the frame, of the envelope and of the source */
	if ((rc = zs_finish(p->z)) < 0)
		return rc;
	p->ended = true;
	return 0;
}

uint64_t seal_pull_stored(const struct seal_pull *p)
{
	return p->stored;
}

void seal_pull_free(struct seal_pull *p)
{
	if (!p)
		return;
	kenc_reader_free(p->kr);
	zs_free(p->z);
	free(p->sbuf);
	free(p->cbuf);
	free(p->path);
	free(p);
}

/* kahu — the `.kenc` encryption envelope, v1.  See envelope.h for the layout. */
#include "archive/envelope.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/err.h"
#include "util/mem.h"

#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL
/* The largest header a reader will buffer: a hostile header_len cannot exceed it. */
#define HEADER_BUF_MAX (KENC_PREFIX_LEN + KENC_HEADER_LEN_MAX + KENC_SS_HEADER_BYTES)

_Static_assert(KENC_CHUNK_OVERHEAD == crypto_secretstream_xchacha20poly1305_ABYTES,
	       "chunk overhead");
_Static_assert(KENC_SS_HEADER_BYTES == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
	       "stream header size");
_Static_assert(KENC_HEADER_LEN_V1 == 2 + KAHU_KEY_ID_BYTES, "v1 header fields");

uint64_t kenc_encrypted_size(uint64_t plain_len)
{
	return KENC_HEADER_SIZE + (plain_len / KENC_CHUNK_PLAIN) * KENC_CHUNK_CIPHER +
	       plain_len % KENC_CHUNK_PLAIN + KENC_CHUNK_OVERHEAD;
}

/* ---- header checks shared by the reader and kenc_peek_key_id -------------------- */

/* Check the first `have` bytes of a header against the magic (partial input is
 * checked as far as it goes, so garbage is refused at once). */
static int check_magic(const uint8_t *h, size_t have, const char *what)
{
	size_t n = have < KENC_MAGIC_LEN - 1 ? have : KENC_MAGIC_LEN - 1;
	if (memcmp(h, KENC_MAGIC, n) != 0)
		return kahu_error_set(KAHU_EDATA, "%s: not a kahu envelope (bad magic)", what);
	if (have >= KENC_MAGIC_LEN && h[KENC_MAGIC_LEN - 1] != KENC_MAGIC[KENC_MAGIC_LEN - 1]) {
		uint8_t v = h[KENC_MAGIC_LEN - 1];
		if (v >= '0' && v <= '9')
			return kahu_error_set(KAHU_EDATA,
					      "%s: unsupported kahu envelope version %c (this kahu "
					      "reads version 1)", what, v);
		return kahu_error_set(KAHU_EDATA, "%s: not a kahu envelope (bad magic)", what);
	}
	return 0;
}

/* header_len from a complete prefix (magic + 2 bytes); 0 and an error if out of range. */
static int check_header_len(const uint8_t *h, const char *what, size_t *hl)
{
	size_t v = (size_t)h[KENC_MAGIC_LEN] << 8 | h[KENC_MAGIC_LEN + 1];
	if (v < KENC_HEADER_LEN_V1 || v > KENC_HEADER_LEN_MAX)
		return kahu_error_set(KAHU_EDATA,
				      "%s: corrupt kahu envelope header (header length %zu, expected "
				      "%d..%d)", what, v, KENC_HEADER_LEN_V1, KENC_HEADER_LEN_MAX);
	*hl = v;
	return 0;
}

/* alg and flags; h holds at least KENC_PREFIX_LEN + KENC_HEADER_LEN_V1 bytes and a
 * checked header_len. */
static int check_alg_flags(const uint8_t *h, const char *what)
{
	uint8_t alg = h[KENC_PREFIX_LEN], flags = h[KENC_PREFIX_LEN + 1];
	size_t hl = (size_t)h[KENC_MAGIC_LEN] << 8 | h[KENC_MAGIC_LEN + 1];
	if (alg != KENC_ALG_SECRETSTREAM)
		return kahu_error_set(KAHU_EDATA,
				      "%s: unsupported encryption algorithm %u in the envelope header",
				      what, alg);
	if (flags & ~KENC_FLAG_RUN)
		return kahu_error_set(KAHU_EDATA,
				      "%s: unsupported envelope flags 0x%02x", what, flags);
	if ((flags & KENC_FLAG_RUN) && hl < KENC_HEADER_LEN_RUN)
		return kahu_error_set(KAHU_EDATA,
				      "%s: corrupt kahu envelope header (a run id is flagged, but the "
				      "header length is %zu, not at least %d)", what, hl,
				      KENC_HEADER_LEN_RUN);
	return 0;
}

/* The run id of a checked header, or NULL when it has none. */
static const uint8_t *header_run(const uint8_t *h)
{
	return (h[KENC_PREFIX_LEN + 1] & KENC_FLAG_RUN) ? h + KENC_PREFIX_LEN + KENC_HEADER_LEN_V1
							: NULL;
}

static const uint8_t *header_key_id(const uint8_t *h)
{
	return h + KENC_PREFIX_LEN + 2;
}

int kenc_peek_key_id(const void *buf, size_t len, uint8_t out[KAHU_KEY_ID_BYTES])
{
	const uint8_t *h = buf;
	const char *what = "object";
	size_t hl = 0;
	int rc = check_magic(h, len, what);
	if (rc < 0)
		return rc;
	if (len < KENC_PREFIX_LEN + KENC_HEADER_LEN_V1)
		return kahu_error_set(KAHU_EDATA, "%s: too short for a kahu envelope header (%zu "
				      "bytes)", what, len);
	if ((rc = check_header_len(h, what, &hl)) < 0 || (rc = check_alg_flags(h, what)) < 0)
		return rc;
	memcpy(out, header_key_id(h), KAHU_KEY_ID_BYTES);
	return 0;
}

/* Additional data of the first chunk: header bytes then the object path. */
static uint8_t *ad_alloc(const char *path, size_t *pathlen)
{
	*pathlen = strlen(path);
	return xmalloc(HEADER_BUF_MAX + *pathlen);
}

/* ---- writer -------------------------------------------------------------------- */

struct kenc_writer {
	crypto_secretstream_xchacha20poly1305_state st;
	kahu_write_fn out;
	void *ud;
	uint8_t *ad;       /* header || path */
	size_t ad_len;
	size_t hdr_size;   /* KENC_HEADER_SIZE, or KENC_HEADER_SIZE_RUN */
	uint64_t chunk_no, bytes_in, bytes_out;
	size_t plen;       /* plaintext buffered in plain[] */
	int err;           /* sticky */
	bool header_sent, finished;
	uint8_t plain[KENC_CHUNK_PLAIN];
	uint8_t cipher[KENC_CHUNK_CIPHER];
};

int kenc_writer_new(const struct kahu_key *key, const char *object_path, kahu_write_fn out,
		    void *ud, struct kenc_writer **wp)
{
	return kenc_writer_new_run(key, object_path, NULL, out, ud, wp);
}

int kenc_writer_new_run(const struct kahu_key *key, const char *object_path,
			const uint8_t *run, kahu_write_fn out, void *ud, struct kenc_writer **wp)
{
	int rc = kahu_crypto_init();
	if (rc < 0)
		return rc;
	struct kenc_writer *w = xcalloc(1, sizeof *w);
	size_t pathlen;
	uint8_t sub[crypto_secretstream_xchacha20poly1305_KEYBYTES];

	w->out = out;
	w->ud = ud;
	w->ad = ad_alloc(object_path, &pathlen);
	uint8_t *h = w->ad;
	size_t hl = run ? KENC_HEADER_LEN_RUN : KENC_HEADER_LEN_V1;
	w->hdr_size = run ? KENC_HEADER_SIZE_RUN : KENC_HEADER_SIZE;
	memcpy(h, KENC_MAGIC, KENC_MAGIC_LEN);
	h[KENC_MAGIC_LEN] = (uint8_t)(hl >> 8);
	h[KENC_MAGIC_LEN + 1] = (uint8_t)(hl & 0xff);
	h[KENC_PREFIX_LEN] = KENC_ALG_SECRETSTREAM;
	h[KENC_PREFIX_LEN + 1] = run ? KENC_FLAG_RUN : 0;
	memcpy(h + KENC_PREFIX_LEN + 2, key->id, KAHU_KEY_ID_BYTES);
	if (run)
		memcpy(h + KENC_PREFIX_LEN + KENC_HEADER_LEN_V1, run, KENC_RUN_BYTES);
	kahu_key_subkey(key, KAHU_SUBKEY_ENC, sub);
	crypto_secretstream_xchacha20poly1305_init_push(&w->st, h + KENC_PREFIX_LEN + hl, sub);
	sodium_memzero(sub, sizeof sub);
	memcpy(h + w->hdr_size, object_path, pathlen);
	w->ad_len = w->hdr_size + pathlen;
	*wp = w;
	return 0;
}

static int writer_fail(struct kenc_writer *w, int rc)
{
	w->err = rc;
	return rc;
}

/* Encrypt `len` bytes from src as the next chunk and pass it on. */
static int emit_chunk(struct kenc_writer *w, const uint8_t *src, size_t len, uint8_t tag)
{
	int rc;
	if (!w->header_sent) {
		if ((rc = w->out(w->ud, w->ad, w->hdr_size)) < 0)
			return writer_fail(w, rc);
		w->header_sent = true;
		w->bytes_out += w->hdr_size;
	}
	unsigned long long clen = 0;
	const uint8_t *ad = w->chunk_no == 0 ? w->ad : NULL;
	size_t ad_len = w->chunk_no == 0 ? w->ad_len : 0;
	crypto_secretstream_xchacha20poly1305_push(&w->st, w->cipher, &clen, src, len, ad,
						   ad_len, tag);
	if ((rc = w->out(w->ud, w->cipher, (size_t)clen)) < 0)
		return writer_fail(w, rc);
	w->bytes_out += clen;
	w->chunk_no++;
	return 0;
}

int kenc_write(struct kenc_writer *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int rc;
	if (w->err)
		return w->err;
	if (w->finished)
		return writer_fail(w, kahu_error_set(KAHU_EINTERNAL, "kenc_write after finish"));
	w->bytes_in += len;
	while (len) {
		if (w->plen == 0 && len >= KENC_CHUNK_PLAIN) {
			/* a whole chunk in the caller's buffer: no copy */
			if ((rc = emit_chunk(w, p, KENC_CHUNK_PLAIN, TAG_MESSAGE)) < 0)
				return rc;
			p += KENC_CHUNK_PLAIN;
			len -= KENC_CHUNK_PLAIN;
			continue;
		}
		size_t take = KENC_CHUNK_PLAIN - w->plen;
		if (take > len)
			take = len;
		memcpy(w->plain + w->plen, p, take);
		w->plen += take;
		p += take;
		len -= take;
		/* A full chunk goes out at once; the FINAL chunk is always shorter, possibly
		 * empty, so a reader never has to guess where the data ends. */
		if (w->plen == KENC_CHUNK_PLAIN) {
			w->plen = 0;
			if ((rc = emit_chunk(w, w->plain, KENC_CHUNK_PLAIN, TAG_MESSAGE)) < 0)
				return rc;
		}
	}
	return 0;
}

int kenc_write_cb(void *w, const void *buf, size_t len)
{
	return kenc_write(w, buf, len);
}

int kenc_writer_finish(struct kenc_writer *w)
{
	if (w->err)
		return w->err;
	if (w->finished)
		return writer_fail(w, kahu_error_set(KAHU_EINTERNAL, "kenc_writer_finish twice"));
	w->finished = true;
	size_t n = w->plen;
	w->plen = 0;
	return emit_chunk(w, w->plain, n, TAG_FINAL);
}

uint64_t kenc_writer_bytes_in(const struct kenc_writer *w) { return w->bytes_in; }
uint64_t kenc_writer_bytes_out(const struct kenc_writer *w) { return w->bytes_out; }

void kenc_writer_free(struct kenc_writer *w)
{
	if (!w)
		return;
	free(w->ad);
	sodium_memzero(w, sizeof *w);
	free(w);
}

/* ---- reader -------------------------------------------------------------------- */

enum reader_state { R_HEADER, R_CHUNKS, R_DONE, R_FINISHED };

struct kenc_reader {
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t subkey[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	uint8_t key_id[KAHU_KEY_ID_BYTES];
	uint8_t run[KENC_RUN_BYTES]; /* expected, when want_run */
	bool want_run;
	char *path;
	size_t pathlen;
	kahu_write_fn out;
	void *ud;
	uint8_t *ad;       /* the header accumulates here, then the path is appended */
	size_t hdr_have;   /* header bytes received */
	size_t hdr_need;   /* full header size, known once the prefix is in; 0 before */
	size_t ad_len;
	enum reader_state state;
	size_t clen;       /* ciphertext buffered in cipher[] */
	uint64_t chunk_no, bytes_in, bytes_out;
	int err;           /* sticky */
	uint8_t cipher[KENC_CHUNK_CIPHER];
	uint8_t plain[KENC_CHUNK_PLAIN];
};

int kenc_reader_new(const struct kahu_key *key, const char *object_path, kahu_write_fn out,
		    void *ud, struct kenc_reader **rp)
{
	int rc = kahu_crypto_init();
	if (rc < 0)
		return rc;
	struct kenc_reader *r = xcalloc(1, sizeof *r);
	r->path = xstrdup(object_path);
	r->ad = ad_alloc(object_path, &r->pathlen);
	r->out = out;
	r->ud = ud;
	memcpy(r->key_id, key->id, sizeof r->key_id);
	kahu_key_subkey(key, KAHU_SUBKEY_ENC, r->subkey);
	r->state = R_HEADER;
	*rp = r;
	return 0;
}

void kenc_reader_expect_run(struct kenc_reader *r, const uint8_t *run)
{
	memcpy(r->run, run, KENC_RUN_BYTES);
	r->want_run = true;
}

static int reader_fail(struct kenc_reader *r, int rc)
{
	r->err = rc;
	return rc;
}

/* The header is complete: check it, start the stream, build the additional data. */
static int header_done(struct kenc_reader *r)
{
	const uint8_t *h = r->ad;
	int rc = check_alg_flags(h, r->path);
	if (rc < 0)
		return rc;
	if (sodium_memcmp(header_key_id(h), r->key_id, KAHU_KEY_ID_BYTES) != 0) {
		char want[KAHU_KEY_ID_HEX_LEN + 1], have[KAHU_KEY_ID_HEX_LEN + 1];
		return kahu_error_set(KAHU_ECRYPTO,
				      "%s: this object was written with key %s, the key in use is %s",
				      r->path, kahu_key_id_to_hex(header_key_id(h), have),
				      kahu_key_id_to_hex(r->key_id, want));
	}
	/* The run id is authenticated with the first chunk (it is in the additional data);
	 * compared here, so that a replaced object is named as such. */
	const uint8_t *run = header_run(h);
	if (r->want_run && !run)
		return kahu_error_set(KAHU_ECRYPTO,
				      "%s is not bound to the run of its backup (replaced by an "
				      "object of an older format)", r->path);
	if (r->want_run && sodium_memcmp(run, r->run, KENC_RUN_BYTES) != 0)
		return kahu_error_set(KAHU_ECRYPTO,
				      "%s was written by another run of its backup (replaced)",
				      r->path);
	if (crypto_secretstream_xchacha20poly1305_init_pull(
		    &r->st, h + r->hdr_need - KENC_SS_HEADER_BYTES, r->subkey) != 0)
		return kahu_error_set(KAHU_ECRYPTO, "%s: invalid secretstream header", r->path);
	memcpy(r->ad + r->hdr_need, r->path, r->pathlen);
	r->ad_len = r->hdr_need + r->pathlen;
	r->state = R_CHUNKS;
	return 0;
}

/* Take header bytes from *p; returns 0 with the input advanced. */
static int feed_header(struct kenc_reader *r, const uint8_t **p, size_t *len)
{
	int rc;
	while (*len && r->state == R_HEADER) {
		size_t target = r->hdr_need ? r->hdr_need : KENC_PREFIX_LEN;
		size_t take = target - r->hdr_have;
		if (take > *len)
			take = *len;
		memcpy(r->ad + r->hdr_have, *p, take);
		r->hdr_have += take;
		*p += take;
		*len -= take;
		if ((rc = check_magic(r->ad, r->hdr_have, r->path)) < 0)
			return rc;
		if (r->hdr_have < target)
			break;
		if (!r->hdr_need) {
			size_t hl = 0;
			if ((rc = check_header_len(r->ad, r->path, &hl)) < 0)
				return rc;
			r->hdr_need = KENC_PREFIX_LEN + hl + KENC_SS_HEADER_BYTES;
			continue;
		}
		if ((rc = header_done(r)) < 0)
			return rc;
	}
	return 0;
}

/* Decrypt the buffered chunk.  at_eof: it is the shorter piece left at the end. */
static int open_chunk(struct kenc_reader *r, bool at_eof)
{
	uint64_t offset = r->hdr_need + r->chunk_no * (uint64_t)KENC_CHUNK_CIPHER;
	unsigned long long mlen = 0;
	unsigned char tag = 0;
	int rc;

	if (r->clen < KENC_CHUNK_OVERHEAD)
		return kahu_error_set(KAHU_EDATA,
				      "%s: truncated: %zu stray bytes at offset %llu are too short "
				      "for a chunk, the final chunk is missing", r->path, r->clen,
				      (unsigned long long)offset);
	const uint8_t *ad = r->chunk_no == 0 ? r->ad : NULL;
	size_t ad_len = r->chunk_no == 0 ? r->ad_len : 0;
	if (crypto_secretstream_xchacha20poly1305_pull(&r->st, r->plain, &mlen, &tag, r->cipher,
						       r->clen, ad, ad_len) != 0)
		return kahu_error_set(KAHU_ECRYPTO,
				      "%s: chunk %llu (at offset %llu) failed authentication "
				      "(corrupt or tampered%s)", r->path,
				      (unsigned long long)r->chunk_no, (unsigned long long)offset,
				      at_eof ? ", or truncated" : "");
	if (tag != TAG_MESSAGE && tag != TAG_FINAL)
		return kahu_error_set(KAHU_EDATA, "%s: chunk %llu has unexpected tag %u", r->path,
				      (unsigned long long)r->chunk_no, tag);
	if (tag != TAG_FINAL && at_eof)
		return kahu_error_set(KAHU_EDATA,
				      "%s: truncated: the data ends in chunk %llu, before the final "
				      "chunk", r->path, (unsigned long long)r->chunk_no);
	r->chunk_no++;
	r->clen = 0;
	if (tag == TAG_FINAL)
		r->state = R_DONE;
	if (mlen) {
		if ((rc = r->out(r->ud, r->plain, (size_t)mlen)) < 0)
			return rc;
		r->bytes_out += mlen;
	}
	return 0;
}

int kenc_reader_feed(struct kenc_reader *r, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int rc;
	if (r->err)
		return r->err;
	if (r->state == R_FINISHED)
		return reader_fail(r, kahu_error_set(KAHU_EINTERNAL, "kenc_reader_feed after finish"));
	r->bytes_in += len;
	if (r->state == R_HEADER && (rc = feed_header(r, &p, &len)) < 0)
		return reader_fail(r, rc);
	while (len) {
		if (r->state == R_DONE)
			return reader_fail(r, kahu_error_set(KAHU_EDATA,
							     "%s: data after the final chunk",
							     r->path));
		size_t take = KENC_CHUNK_CIPHER - r->clen;
		if (take > len)
			take = len;
		memcpy(r->cipher + r->clen, p, take);
		r->clen += take;
		p += take;
		len -= take;
		/* Every chunk but the last is full size: decrypt as soon as one is in. */
		if (r->clen == KENC_CHUNK_CIPHER && (rc = open_chunk(r, false)) < 0)
			return reader_fail(r, rc);
	}
	return 0;
}

int kenc_reader_feed_cb(void *r, const void *buf, size_t len)
{
	return kenc_reader_feed(r, buf, len);
}

int kenc_reader_finish(struct kenc_reader *r)
{
	int rc = 0;
	if (r->err)
		return r->err;
	switch (r->state) {
	case R_HEADER:
		if (r->bytes_in == 0)
			rc = kahu_error_set(KAHU_EDATA, "%s: empty object, not a kahu envelope",
					    r->path);
		else
			rc = kahu_error_set(KAHU_EDATA,
					    "%s: truncated inside the envelope header (%llu bytes)",
					    r->path, (unsigned long long)r->bytes_in);
		break;
	case R_CHUNKS:
		if (r->clen == 0 && r->chunk_no == 0)
			rc = kahu_error_set(KAHU_EDATA,
					    "%s: truncated: the data ends after the envelope header",
					    r->path);
		else if (r->clen == 0)
			rc = kahu_error_set(KAHU_EDATA,
					    "%s: truncated: the data ends after chunk %llu, before "
					    "the final chunk", r->path,
					    (unsigned long long)r->chunk_no - 1);
		else
			rc = open_chunk(r, true);
		break;
	case R_DONE:
		break;
	case R_FINISHED:
		rc = kahu_error_set(KAHU_EINTERNAL, "kenc_reader_finish twice");
		break;
	}
	if (rc < 0)
		return reader_fail(r, rc);
	r->state = R_FINISHED;
	return 0;
}

uint64_t kenc_reader_bytes_in(const struct kenc_reader *r) { return r->bytes_in; }
uint64_t kenc_reader_bytes_out(const struct kenc_reader *r) { return r->bytes_out; }

void kenc_reader_free(struct kenc_reader *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->ad);
	sodium_memzero(r, sizeof *r);
	free(r);
}

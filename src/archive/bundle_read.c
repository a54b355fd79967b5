/* kahu — the bundle reader: stored bytes -> .kenc envelope -> bounded zstd
 * decompression -> libarchive's tar reader, each stage checked for truncation, data
 * after its end and corruption.  See bundle.h; extraction to a directory is in
 * bundle_extract.c. */
#include "archive/bundle.h"
#include "archive/bundle_int.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "archive/envelope.h"
#include "archive/zstream.h"
#include "util/err.h"
#include "util/mem.h"

/* Stored bytes are pulled from the source in pieces of this size.  It must not exceed
 * KENC_CHUNK_CIPHER: then one feed completes at most one envelope chunk, whose
 * plaintext (64 KiB at most) always fits the empty compressed-data buffer. */
#define SRC_PIECE (16 * 1024)
#define CBUF_CAP (KENC_CHUNK_PLAIN > SRC_PIECE ? KENC_CHUNK_PLAIN : SRC_PIECE)
/* Zero bytes tolerated after the tar end marker (tar writers pad to a block). */
#define TRAILING_ZEROS_MAX (1024 * 1024)
/* Tail of the previous decompressed piece kept for the end-of-tar check: libarchive
 * asks for a new piece when it needs at most a header's worth more. */
#define PREV_TAIL 10240

_Static_assert(SRC_PIECE <= KENC_CHUNK_CIPHER, "one feed must complete at most one chunk");

static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

struct bundle_reader {
	char *path;
	bundle_source_fn src;
	void *src_ud;
	bool want_encrypted;
	bool src_eof;
	bool sniffed;             /* the first bytes were checked */
	uint64_t stored;
	uint8_t *sbuf;            /* stored bytes just read */
	struct kenc_reader *kr;   /* NULL: unencrypted */
	/* compressed bytes (plaintext of the envelope) */
	uint8_t *cbuf;
	size_t c_pos, c_len;
	bool comp_eof;            /* nothing will follow what is in cbuf */
	/* zstd */
	ZSTD_DCtx *dctx;
	bool z_input;             /* any compressed byte seen */
	bool z_pending;           /* the last call filled dbuf: zstd may hold more */
	bool frame_done;
	uint8_t *dbuf;
	size_t dcap;
	size_t last_n;            /* bytes of dbuf handed to libarchive last */
	uint8_t *prev_tail;       /* the end of the piece before */
	size_t prev_tail_len;
	uint64_t d_total;         /* decompressed bytes handed to libarchive */
	/* tar */
	struct archive *a;
	bool opened, in_entry, at_end;
	char *name, *link;
	uint64_t cur_size;
	bool finished;
	int err;                  /* sticky */
	char *errmsg;
};

static int reader_fail(struct bundle_reader *r, int rc)
{
	if (!r->err) {
		r->err = rc;
		r->errmsg = xstrdup(kahu_error_last());
	}
	return r->err;
}

static int reader_replay(struct bundle_reader *r)
{
	return kahu_error_set(r->err, "%s", r->errmsg);
}

/* kenc reader output: one authenticated chunk at most per feed (see SRC_PIECE). */
static int plain_in(void *ud, const void *buf, size_t len)
{
	struct bundle_reader *r = ud;
	if (len > CBUF_CAP - r->c_len)
		return kahu_error_set(KAHU_EINTERNAL, "%s: envelope chunk overflows the buffer",
				      r->path);
	memcpy(r->cbuf + r->c_len, buf, len);
	r->c_len += len;
	return 0;
}

/* The first bytes tell an envelope from a bare zstd stream: refuse a mismatch with
 * what the caller expects, in words a user understands. */
static int sniff(struct bundle_reader *r, const uint8_t *p, size_t n)
{
	if (r->want_encrypted && n >= sizeof zstd_magic && !memcmp(p, zstd_magic, sizeof zstd_magic))
		return kahu_error_set(KAHU_ECRYPTO,
				      "%s is not encrypted, but a key was given: refusing an "
				      "unencrypted object where an encrypted one is expected "
				      "(written with --no-encryption, or replaced)", r->path);
	if (!r->want_encrypted && n >= KENC_MAGIC_LEN && !memcmp(p, KENC_MAGIC, KENC_MAGIC_LEN)) {
		uint8_t id[KAHU_KEY_ID_BYTES];
		char hex[KAHU_KEY_ID_HEX_LEN + 1];
		if (kenc_peek_key_id(p, n, id) == 0)
			return kahu_error_set(KAHU_ECRYPTO,
					      "%s is encrypted (with key %s), but no key was given",
					      r->path, kahu_key_id_to_hex(id, hex));
		return kahu_error_set(KAHU_ECRYPTO, "%s is encrypted, but no key was given",
				      r->path);
	}
	if (!r->want_encrypted && n < sizeof zstd_magic && !memcmp(p, zstd_magic, n))
		return kahu_error_set(KAHU_EDATA, "%s: truncated: %zu bytes, not even a zstd "
				      "frame header", r->path, n);
	if (!r->want_encrypted && (n < sizeof zstd_magic || memcmp(p, zstd_magic, sizeof zstd_magic)))
		return kahu_error_set(KAHU_EDATA,
				      "%s: not a kahu bundle (neither a zstd stream nor a kahu "
				      "envelope)", r->path);
	return 0;
}

/* Stored bytes -> the compressed-data buffer. */
static int take_stored(struct bundle_reader *r, const uint8_t *p, size_t n)
{
	if (r->kr)
		return kenc_reader_feed(r->kr, p, n);
	return plain_in(r, p, n);
}

static int read_source(struct bundle_reader *r, uint8_t *buf, size_t cap, size_t *got)
{
	int rc = r->src(r->src_ud, buf, cap, got);
	if (rc < 0)
		return rc;
	if (*got > cap)
		return kahu_error_set(KAHU_EINTERNAL, "%s: the source returned more than asked",
				      r->path);
	if (*got == 0)
		r->src_eof = true;
	r->stored += *got;
	return 0;
}

/* The first read: gather enough bytes to recognise the object. */
static int first_read(struct bundle_reader *r)
{
	size_t have = 0, got;
	int rc;
	while (have < KENC_HEADER_SIZE && !r->src_eof) {
		if ((rc = read_source(r, r->sbuf + have, SRC_PIECE - have, &got)) < 0)
			return rc;
		have += got;
	}
	r->sniffed = true;
	if (have == 0)
		return kahu_error_set(KAHU_EDATA, "%s: empty object (0 bytes), not a kahu bundle",
				      r->path);
	if ((rc = sniff(r, r->sbuf, have)) < 0)
		return rc;
	return take_stored(r, r->sbuf, have);
}

/* Refill the (empty) compressed-data buffer; at the end of the source, comp_eof. */
static int pull_compressed(struct bundle_reader *r)
{
	int rc;
	size_t got;
	r->c_pos = r->c_len = 0;
	if (!r->sniffed && (rc = first_read(r)) < 0)
		return rc;
	while (r->c_len == 0 && !r->comp_eof) {
		if (r->src_eof) {
			/* Decrypts the last (short) chunk; "truncated" without FINAL. */
			if (r->kr && (rc = kenc_reader_finish(r->kr)) < 0)
				return rc;
			r->comp_eof = true;
			break;
		}
		if ((rc = read_source(r, r->sbuf, SRC_PIECE, &got)) < 0)
			return rc;
		if (got && (rc = take_stored(r, r->sbuf, got)) < 0)
			return rc;
	}
	return 0;
}

/* Decompressed tar bytes into dbuf: *n > 0, or 0 at the end of the zstd stream.
 * Output per call is bounded by dcap whatever the input. */
static int produce(struct bundle_reader *r, size_t *n)
{
	int rc;
	*n = 0;
	if (r->err)
		return reader_replay(r);
	for (;;) {
		if (r->c_pos == r->c_len && !r->z_pending) {
			if (r->comp_eof)
				break;
			if ((rc = pull_compressed(r)) < 0)
				return reader_fail(r, rc);
			continue;
		}
		if (r->frame_done && r->c_pos < r->c_len)
			return reader_fail(r, kahu_error_set(KAHU_EDATA,
							     "%s: data after the end of the "
							     "compressed stream", r->path));
		ZSTD_inBuffer in = { r->cbuf + r->c_pos, r->c_len - r->c_pos, 0 };
		ZSTD_outBuffer out = { r->dbuf, r->dcap, 0 };
		size_t ret = ZSTD_decompressStream(r->dctx, &out, &in);
		r->c_pos += in.pos;
		if (in.size)
			r->z_input = true;
		if (ZSTD_isError(ret)) {
			if (ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge)
				return reader_fail(r, kahu_error_set(KAHU_EDATA,
					"%s: corrupt zstd data: the frame needs a window larger "
					"than the %d MiB kahu allows", r->path,
					1 << (ZS_WINDOW_LOG_MAX - 20)));
			return reader_fail(r, kahu_error_set(KAHU_EDATA, "%s: corrupt zstd data: %s",
							     r->path, ZSTD_getErrorName(ret)));
		}
		r->z_pending = out.pos == out.size;
		if (ret == 0) {
			r->frame_done = true;
			r->z_pending = false;
		}
		if (out.pos) {
			*n = out.pos;
			return 0;
		}
	}
	if (!r->frame_done)
		return reader_fail(r, kahu_error_set(KAHU_EDATA,
						     r->z_input ? "%s: truncated: the data ends "
								  "inside the zstd frame"
								: "%s: truncated: no compressed "
								  "data", r->path));
	return 0;
}

/* libarchive's client reader. */
static la_ssize_t tar_read_cb(struct archive *a, void *ud, const void **buf)
{
	struct bundle_reader *r = ud;
	size_t n = 0;
	/* libarchive is done with the last piece (it copied what it still needs). */
	r->prev_tail_len = r->last_n < PREV_TAIL ? r->last_n : PREV_TAIL;
	memcpy(r->prev_tail, r->dbuf + r->last_n - r->prev_tail_len, r->prev_tail_len);
	r->last_n = 0;
	if (produce(r, &n) < 0) {
		archive_set_error(a, EIO, "%s", r->errmsg);
		return -1;
	}
	r->last_n = n;
	r->d_total += n;
	*buf = r->dbuf;
	return (la_ssize_t)n;
}

int bundle_reader_new(const struct kahu_key *key, const char *object_path,
		      bundle_source_fn src, void *src_ud, struct bundle_reader **out)
{
	int rc;
	struct bundle_reader *r = xcalloc(1, sizeof *r);
	r->path = xstrdup(object_path);
	r->src = src;
	r->src_ud = src_ud;
	r->want_encrypted = key != NULL;
	*out = NULL;
	if (key && (rc = kenc_reader_new(key, object_path, plain_in, r, &r->kr)) < 0)
		goto fail;
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx) {
		rc = kahu_error_set(KAHU_ENOMEM, "cannot create a zstd decompression context");
		goto fail;
	}
	size_t zr = ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, ZS_WINDOW_LOG_MAX);
	if (ZSTD_isError(zr)) {
		rc = kahu_error_set(KAHU_EINTERNAL, "cannot configure zstd: %s",
				    ZSTD_getErrorName(zr));
		goto fail;
	}
	r->sbuf = xmalloc(SRC_PIECE);
	r->cbuf = xmalloc(CBUF_CAP);
	r->dcap = ZSTD_DStreamOutSize();
	r->dbuf = xmalloc(r->dcap);
	r->prev_tail = xmalloc(PREV_TAIL);
	r->a = archive_read_new();
	if (!r->a) {
		rc = kahu_error_set(KAHU_ENOMEM, "cannot create a tar reader");
		goto fail;
	}
	if (archive_read_support_format_tar(r->a) != ARCHIVE_OK) {
		rc = kahu_error_set(KAHU_EINTERNAL, "cannot set up the tar reader: %s",
				    archive_error_string(r->a));
		goto fail;
	}
	*out = r;
	return 0;
fail:
	bundle_reader_free(r);
	return rc;
}

/* A libarchive read call failed: a stage's error if one was recorded, else the tar is
 * corrupt. */
static int reader_tar_error(struct bundle_reader *r)
{
	if (r->err)
		return reader_replay(r);
	const char *m = archive_error_string(r->a);
	return reader_fail(r, kahu_error_set(KAHU_EDATA, "%s: corrupt tar archive: %s", r->path,
					     m ? m : "unknown error"));
}

int bundle_next(struct bundle_reader *r, struct bundle_entry *e)
{
	struct archive_entry *ae = NULL;
	memset(e, 0, sizeof *e);
	if (r->err)
		return reader_replay(r);
	if (r->finished)
		return reader_fail(r, kahu_error_set(KAHU_EINTERNAL,
						     "bundle_next after bundle_reader_finish"));
	if (r->at_end)
		return 0;
	if (!r->opened) {
		/* libarchive reads the first block here, to recognise the format. */
		r->opened = true;
		if (archive_read_open(r->a, r, NULL, tar_read_cb, NULL) != ARCHIVE_OK)
			return reader_tar_error(r);
	}
	r->in_entry = false;
	locale_t old = bundle_utf8_enter();
	int ar = archive_read_next_header(r->a, &ae);
	const char *name = NULL;
	if (ar == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		/* UTF-8 first; the plain getter has the raw bytes when the name could not
		 * be converted (no UTF-8 locale, hdrcharset=BINARY). */
		name = archive_entry_pathname_utf8(ae);
		if (!name)
			name = archive_entry_pathname(ae);
	}
	bundle_utf8_leave(old);
	if (ar == ARCHIVE_EOF) {
		r->at_end = true;
		return 0;
	}
	if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
		return reader_tar_error(r);
	if (!name)
		return reader_fail(r, kahu_error_set(KAHU_EDATA,
						     "%s: corrupt tar archive: a member without a "
						     "usable name", r->path));
	free(r->name);
	free(r->link);
	r->name = xstrdup(name);
	r->link = NULL;
	const char *hl = archive_entry_hardlink(ae);
	const char *sl = archive_entry_symlink(ae);
	if (hl) {
		e->type = BUNDLE_HARDLINK;
		r->link = xstrdup(hl);
	} else {
		switch (archive_entry_filetype(ae)) {
		case AE_IFREG: e->type = BUNDLE_FILE; break;
		case AE_IFDIR: e->type = BUNDLE_DIR; break;
		case AE_IFLNK:
			e->type = BUNDLE_SYMLINK;
			r->link = xstrdup(sl ? sl : "");
			break;
		default: e->type = BUNDLE_OTHER; break;
		}
	}
	la_int64_t size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;
	e->name = r->name;
	e->link_target = r->link;
	e->size = size > 0 ? (uint64_t)size : 0;
	r->cur_size = e->size;
	e->mode = archive_entry_perm(ae) & 07777;
	e->mtime = archive_entry_mtime(ae);
	r->in_entry = true;
	return 1;
}

int bundle_read_data(struct bundle_reader *r, void *buf, size_t cap, size_t *got)
{
	*got = 0;
	if (r->err)
		return reader_replay(r);
	if (!r->in_entry)
		return reader_fail(r, kahu_error_set(KAHU_EINTERNAL,
						     "bundle_read_data without a current member"));
	if (cap > INT_MAX)
		cap = INT_MAX;
	la_ssize_t n = archive_read_data(r->a, buf, cap);
	if (n < 0)
		return reader_tar_error(r);
	*got = (size_t)n;
	return 0;
}

int bundle_read_all(struct bundle_reader *r, struct kbuf *out, size_t max)
{
	char q[BUNDLE_QUOTE_CAP];
	int rc;
	if (r->err)
		return reader_replay(r);
	if (!r->in_entry)
		return reader_fail(r, kahu_error_set(KAHU_EINTERNAL,
						     "bundle_read_all without a current member"));
	/* The size in the header: refuse before reading anything. */
	uint64_t size = r->cur_size;
	if (size > max)
		return kahu_error_set(KAHU_EDATA, "%s: member %s is %llu bytes, more than the %zu "
				      "bytes allowed for it", r->path,
				      bundle_quote(r->name, q, sizeof q), (unsigned long long)size, max);
	kbuf_grow(out, (size_t)size);
	size_t total = 0, got;
	char tmp[16384];
	for (;;) {
		if ((rc = bundle_read_data(r, tmp, sizeof tmp, &got)) < 0)
			return rc;
		if (!got)
			break;
		if (got > max - total)
			return kahu_error_set(KAHU_EDATA, "%s: member %s holds more than the %zu "
					      "bytes allowed for it", r->path,
					      bundle_quote(r->name, q, sizeof q), max);
		kbuf_add(out, tmp, got);
		total += got;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* After the tar end marker: only zero padding may follow, up to the end of the zstd
 * frame, the envelope and the source (produce() checks those ends).  First what
 * libarchive read ahead but did not consume (the end of the last piece or two), then
 * the rest. */
static int drain_trailer(struct bundle_reader *r)
{
	uint64_t zeros = 0;
	size_t n;
	int rc;
	la_int64_t consumed = archive_filter_bytes(r->a, 0);
	if (consumed >= 0 && (uint64_t)consumed <= r->d_total) {
		uint64_t ahead = r->d_total - (uint64_t)consumed;
		size_t in_last = ahead < r->last_n ? (size_t)ahead : r->last_n;
		uint64_t in_prev = ahead - in_last;
		bool clean = all_zero(r->dbuf + r->last_n - in_last, in_last);
		if (in_prev <= r->prev_tail_len)
			clean = clean && all_zero(r->prev_tail + r->prev_tail_len - in_prev,
						  (size_t)in_prev);
		/* (more than PREV_TAIL bytes read ahead cannot happen with the tar reader;
		 * what is not kept is not checked) */
		if (!clean)
			return reader_fail(r, kahu_error_set(KAHU_EDATA,
							     "%s: data after the end of the tar "
							     "archive", r->path));
	}
	for (;;) {
		if ((rc = produce(r, &n)) < 0)
			return rc;
		if (!n)
			return 0;
		if (!all_zero(r->dbuf, n))
			return reader_fail(r, kahu_error_set(KAHU_EDATA,
							     "%s: data after the end of the tar "
							     "archive", r->path));
		zeros += n;
		if (zeros > TRAILING_ZEROS_MAX)
			return reader_fail(r, kahu_error_set(KAHU_EDATA,
							     "%s: more than %d bytes of padding "
							     "after the end of the tar archive",
							     r->path, TRAILING_ZEROS_MAX));
	}
}

int bundle_reader_finish(struct bundle_reader *r)
{
	struct bundle_entry e;
	if (r->finished)
		return r->err ? reader_replay(r) : 0;
	/* Every error path of bundle_next records r->err. */
	while (!r->err && bundle_next(r, &e) > 0)
		; /* skip the remaining members */
	if (!r->err)
		drain_trailer(r);
	r->finished = true;
	return r->err ? reader_replay(r) : 0;
}

uint64_t bundle_reader_stored_bytes(const struct bundle_reader *r)
{
	return r->stored;
}

const char *bundle_reader_path(const struct bundle_reader *r)
{
	return r->path;
}

int bundle_reader_fail(struct bundle_reader *r, int rc)
{
	return reader_fail(r, rc);
}

void bundle_reader_free(struct bundle_reader *r)
{
	if (!r)
		return;
	if (r->a)
		archive_read_free(r->a);
	ZSTD_freeDCtx(r->dctx);
	kenc_reader_free(r->kr);
	free(r->sbuf);
	free(r->cbuf);
	free(r->dbuf);
	free(r->prev_tail);
	free(r->name);
	free(r->link);
	free(r->errmsg);
	free(r->path);
	free(r);
}

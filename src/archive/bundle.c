/* kahu — bundles: tar (libarchive) -> zstd -> .kenc envelope.  See bundle.h. */
#include "archive/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "archive/envelope.h"
#include "archive/zstream.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/mem.h"

/* libarchive hands its client write callback pieces of this size (the last one
 * shorter: bytes_in_last_block = 1 turns off padding of the final block). */
#define TAR_BLOCK 10240
/* Stored bytes are pulled from the source in pieces of this size.  It must not exceed
 * KENC_CHUNK_CIPHER: then one feed completes at most one envelope chunk, whose
 * plaintext (64 KiB at most) always fits the empty compressed-data buffer. */
#define SRC_PIECE (16 * 1024)
#define CBUF_CAP (KENC_CHUNK_PLAIN > SRC_PIECE ? KENC_CHUNK_PLAIN : SRC_PIECE)
/* Zero bytes tolerated after the tar end marker (tar writers pad to a block). */
#define TRAILING_ZEROS_MAX (1024 * 1024)
#define MEMBER_MODE_DEFAULT 0644
/* Tail of the previous decompressed piece kept for the end-of-tar check: libarchive
 * asks for a new piece when it needs at most a header's worth more. */
#define PREV_TAIL 10240

_Static_assert(SRC_PIECE <= KENC_CHUNK_CIPHER, "one feed must complete at most one chunk");

static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

/* ---- member names ---------------------------------------------------------------- */

/* Length of the UTF-8 sequence at s (1..4), or 0 when it is not valid UTF-8 (overlong
 * forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = utf8_seq_len(p);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

/* A printable, bounded rendering of a name for messages: quotes, control characters
 * and (in invalid UTF-8) high bytes escaped, cut after ~200 bytes. */
static const char *quote_name(const char *s, char *out, size_t cap)
{
	bool utf8 = utf8_valid(s);
	size_t o = 0;
	out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (o + 8 >= cap || o > 200) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || (*p >= 0x80 && !utf8))
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

#define QUOTE_CAP 224

int bundle_name_check(const char *name)
{
	char q[QUOTE_CAP];
	size_t len = strlen(name);
	if (len == 0)
		return kahu_error_set(KAHU_EUSAGE, "empty member name");
	if (len > BUNDLE_NAME_MAX)
		return kahu_error_set(KAHU_EUSAGE, "member name %s is too long (%zu bytes, at most %d)",
				      quote_name(name, q, sizeof q), len, BUNDLE_NAME_MAX);
	if (name[0] == '/')
		return kahu_error_set(KAHU_EUSAGE, "member name %s is an absolute path",
				      quote_name(name, q, sizeof q));
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return kahu_error_set(KAHU_EUSAGE,
					      "member name %s contains a control character",
					      quote_name(name, q, sizeof q));
	if (!utf8_valid(name))
		return kahu_error_set(KAHU_EUSAGE, "member name %s is not valid UTF-8",
				      quote_name(name, q, sizeof q));
	for (const char *c = name; c; ) {
		const char *slash = strchr(c, '/');
		size_t clen = slash ? (size_t)(slash - c) : strlen(c);
		if (clen == 0)
			return kahu_error_set(KAHU_EUSAGE,
					      "member name %s has an empty component (a doubled or "
					      "trailing '/')", quote_name(name, q, sizeof q));
		if ((clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
			return kahu_error_set(KAHU_EUSAGE, "member name %s has a '%.*s' component",
					      quote_name(name, q, sizeof q), (int)clen, c);
		c = slash ? slash + 1 : NULL;
	}
	return 0;
}

/* ---- member-name components ------------------------------------------------------- */

int bundle_component_safe(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	if (len == 0 || len > BUNDLE_COMPONENT_RAW_MAX || p[0] == BUNDLE_ENCODED_MARK)
		return 0;
	if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; ) {
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '/')
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		/* utf8_seq_len reads at most 4 bytes and stops at the first that is not a
		 * continuation byte, so a sequence cut by len is caught below. */
		size_t n = utf8_seq_len(p + i);
		if (!n || n > len - i)
			return 0;
		if (p[i] == 0xc2 && p[i + 1] <= 0x9f) /* U+0080..U+009F: C1 controls */
			return 0;
		i += n;
	}
	return 1;
}

void bundle_component_encode(const char *s, size_t len, struct kbuf *out)
{
	char hex[KAHU_HASH_HEX_LEN + 1];
	kbuf_addc(out, BUNDLE_ENCODED_MARK);
	for (size_t i = 0; i < len && i < BUNDLE_ENCODED_PREFIX_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		kbuf_addc(out, keep ? (char)c : '_');
	}
	kbuf_addc(out, '~');
	kbuf_adds(out, kahu_key_hash(s, len, hex));
}

void bundle_component_add(const char *s, size_t len, struct kbuf *out)
{
	if (bundle_component_safe(s, len))
		kbuf_add(out, s, len);
	else
		bundle_component_encode(s, len, out);
}

/* ---- names and the locale ----------------------------------------------------------
 * libarchive converts names between the pax header's UTF-8 and the current locale's
 * charset.  Our names are UTF-8 whatever the user's locale, so header calls run under
 * a UTF-8 LC_CTYPE for this thread (uselocale), which makes the conversions identities.
 * Without any UTF-8 locale the writer falls back to hdrcharset=BINARY (the raw bytes,
 * which are UTF-8 anyway; GNU tar warns about that keyword but reads the names). */

static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static locale_t utf8_loc;

static void utf8_init(void)
{
	static const char *const names[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8" };
	for (size_t i = 0; i < sizeof names / sizeof *names && !utf8_loc; i++)
		utf8_loc = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);
}

/* Switch this thread to the UTF-8 locale; returns what to restore (0: nothing). */
static locale_t utf8_enter(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_loc ? uselocale(utf8_loc) : (locale_t)0;
}

static bool utf8_available(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_loc != (locale_t)0;
}

static void utf8_leave(locale_t old)
{
	if (old)
		uselocale(old);
}

/* ---- writer ---------------------------------------------------------------------- */

struct bundle_writer {
	char *path;
	struct archive *a;
	struct archive_entry *entry;
	struct zstream *z;
	struct kenc_writer *kw;   /* NULL: unencrypted */
	struct kahu_hash *hash;   /* of the stored bytes */
	kahu_write_fn sink;
	void *ud;
	uint64_t entries, stored;
	/* the member being streamed */
	bool in_stream;
	char *stream_name;
	uint64_t stream_size, stream_done;
	bool finished;
	int err;                  /* sticky */
	char *errmsg;
};

static int writer_fail(struct bundle_writer *w, int rc)
{
	if (!w->err) {
		w->err = rc;
		w->errmsg = xstrdup(kahu_error_last());
	}
	return rc;
}

static int writer_check(struct bundle_writer *w, const char *fn)
{
	if (w->err)
		return kahu_error_set(w->err, "%s", w->errmsg);
	if (w->finished)
		return writer_fail(w, kahu_error_set(KAHU_EINTERNAL, "%s after bundle_finish", fn));
	return 0;
}

/* Last stage: hash and count the stored bytes, hand them to the caller's sink. */
static int stored_out(void *ud, const void *buf, size_t len)
{
	struct bundle_writer *w = ud;
	kahu_hash_update(w->hash, buf, len);
	w->stored += len;
	return w->sink(w->ud, buf, len);
}

/* libarchive's client writer: the tar stream goes into zstd. */
static la_ssize_t tar_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	struct bundle_writer *w = ud;
	int rc = w->err ? w->err : zs_write(w->z, buf, len);
	if (rc < 0) {
		writer_fail(w, rc);
		archive_set_error(a, EIO, "%s", w->errmsg);
		return -1;
	}
	return (la_ssize_t)len;
}

/* A libarchive call failed: the error of a later stage if there was one, else
 * libarchive's own. */
static int writer_tar_error(struct bundle_writer *w, const char *what, const char *name)
{
	char q[QUOTE_CAP];
	if (w->err)
		return kahu_error_set(w->err, "%s", w->errmsg);
	return writer_fail(w, kahu_error_set(KAHU_EINTERNAL, "%s: tar writer: %s %s: %s", w->path,
					     what, quote_name(name, q, sizeof q),
					     archive_error_string(w->a) ? archive_error_string(w->a)
									: "unknown error"));
}

int bundle_writer_new(const struct kahu_key *key, const char *object_path, int zstd_level,
		      int zstd_workers, kahu_write_fn sink, void *ud, struct bundle_writer **out)
{
	int rc;
	struct bundle_writer *w = xcalloc(1, sizeof *w);
	w->path = xstrdup(object_path);
	w->sink = sink;
	w->ud = ud;
	w->hash = kahu_hash_new();
	*out = NULL;

	if (key && (rc = kenc_writer_new(key, object_path, stored_out, w, &w->kw)) < 0)
		goto fail;
	if ((rc = zs_compress_new(zstd_level ? zstd_level : ZS_LEVEL_DEFAULT, zstd_workers,
				  w->kw ? kenc_write_cb : stored_out,
				  w->kw ? (void *)w->kw : (void *)w, &w->z)) < 0)
		goto fail;

	w->a = archive_write_new();
	w->entry = archive_entry_new();
	if (!w->a || !w->entry) {
		rc = kahu_error_set(KAHU_ENOMEM, "cannot create a tar writer");
		goto fail;
	}
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w->a, TAR_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    (!utf8_available() &&
	     archive_write_set_format_option(w->a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK) ||
	    archive_write_open2(w->a, w, NULL, tar_write_cb, NULL, NULL) != ARCHIVE_OK) {
		rc = kahu_error_set(KAHU_EINTERNAL, "%s: cannot set up the tar writer: %s", w->path,
				    archive_error_string(w->a) ? archive_error_string(w->a) : "?");
		goto fail;
	}
	*out = w;
	return 0;
fail:
	bundle_writer_free(w);
	return rc;
}

static int write_header(struct bundle_writer *w, const char *name, uint64_t size, mode_t mode,
			time_t mtime)
{
	char q[QUOTE_CAP];
	int rc;
	if (size > INT64_MAX)
		return writer_fail(w, kahu_error_set(KAHU_EUSAGE, "member %s: size out of range",
						     quote_name(name, q, sizeof q)));
	/* A bad name is the caller's mistake, not a broken bundle: refuse it without
	 * making the writer unusable. */
	if ((rc = bundle_name_check(name)) < 0)
		return kahu_error_wrap(rc, "%s: refusing to write the member", w->path);
	archive_entry_clear(w->entry);
	/* The name as multibyte string in the (UTF-8) locale: archive_entry_set_pathname_utf8
	 * would be the obvious call, but libarchive 3.6's pax writer crashes on it when
	 * the locale cannot represent the name. */
	locale_t old = utf8_enter();
	archive_entry_set_pathname(w->entry, name);
	archive_entry_set_filetype(w->entry, AE_IFREG);
	archive_entry_set_perm(w->entry, mode & 07777);
	archive_entry_set_size(w->entry, (la_int64_t)size);
	archive_entry_set_mtime(w->entry, mtime, 0);
	int ar = archive_write_header(w->a, w->entry);
	utf8_leave(old);
	if (ar != ARCHIVE_OK)
		return writer_tar_error(w, "cannot write the header of", name);
	return 0;
}

/* All of buf into the current member (libarchive takes at most INT_MAX at once). */
static int write_data(struct bundle_writer *w, const char *name, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		la_ssize_t n = archive_write_data(w->a, p, len);
		if (n <= 0)
			return writer_tar_error(w, "cannot write the data of", name);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int finish_entry(struct bundle_writer *w, const char *name)
{
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK)
		return writer_tar_error(w, "cannot finish", name);
	w->entries++;
	return 0;
}

int bundle_add(struct bundle_writer *w, const char *name, const void *data, size_t len,
	       time_t mtime)
{
	int rc = writer_check(w, "bundle_add");
	if (rc < 0)
		return rc;
	if (w->in_stream)
		return writer_fail(w, kahu_error_set(KAHU_EINTERNAL,
						     "bundle_add inside a streamed member"));
	if ((rc = write_header(w, name, len, MEMBER_MODE_DEFAULT, mtime)) < 0 ||
	    (rc = write_data(w, name, data, len)) < 0 || (rc = finish_entry(w, name)) < 0)
		return rc;
	return 0;
}

int bundle_add_stream_begin(struct bundle_writer *w, const char *name, uint64_t size,
			    mode_t mode, time_t mtime)
{
	int rc = writer_check(w, "bundle_add_stream_begin");
	if (rc < 0)
		return rc;
	if (w->in_stream)
		return writer_fail(w, kahu_error_set(KAHU_EINTERNAL,
						     "bundle_add_stream_begin inside a streamed "
						     "member"));
	if ((rc = write_header(w, name, size, mode, mtime)) < 0)
		return rc;
	w->in_stream = true;
	w->stream_name = xstrdup(name);
	w->stream_size = size;
	w->stream_done = 0;
	return 0;
}

int bundle_add_stream_data(struct bundle_writer *w, const void *buf, size_t len)
{
	char q[QUOTE_CAP];
	int rc = writer_check(w, "bundle_add_stream_data");
	if (rc < 0)
		return rc;
	if (!w->in_stream)
		return writer_fail(w, kahu_error_set(KAHU_EINTERNAL,
						     "bundle_add_stream_data without "
						     "bundle_add_stream_begin"));
	if (len > w->stream_size - w->stream_done)
		return writer_fail(w, kahu_error_set(KAHU_EUSAGE,
						     "%s: member %s: more data than the %llu bytes "
						     "announced", w->path,
						     quote_name(w->stream_name, q, sizeof q),
						     (unsigned long long)w->stream_size));
	if ((rc = write_data(w, w->stream_name, buf, len)) < 0)
		return rc;
	w->stream_done += len;
	return 0;
}

int bundle_add_stream_end(struct bundle_writer *w)
{
	char q[QUOTE_CAP];
	int rc = writer_check(w, "bundle_add_stream_end");
	if (rc < 0)
		return rc;
	if (!w->in_stream)
		return writer_fail(w, kahu_error_set(KAHU_EINTERNAL,
						     "bundle_add_stream_end without "
						     "bundle_add_stream_begin"));
	if (w->stream_done != w->stream_size)
		return writer_fail(w, kahu_error_set(KAHU_EUSAGE,
						     "%s: member %s: %llu bytes written, %llu "
						     "announced", w->path,
						     quote_name(w->stream_name, q, sizeof q),
						     (unsigned long long)w->stream_done,
						     (unsigned long long)w->stream_size));
	if ((rc = finish_entry(w, w->stream_name)) < 0)
		return rc;
	w->in_stream = false;
	free(w->stream_name);
	w->stream_name = NULL;
	return 0;
}

int bundle_finish(struct bundle_writer *w, struct bundle_stats *st)
{
	int rc = writer_check(w, "bundle_finish");
	if (rc < 0)
		return rc;
	if (w->in_stream)
		return writer_fail(w, kahu_error_set(KAHU_EINTERNAL,
						     "bundle_finish inside a streamed member"));
	/* The end-of-archive marker, then the last (unpadded) block. */
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return writer_tar_error(w, "cannot close the archive after", "the last member");
	if ((rc = zs_finish(w->z)) < 0 || (w->kw && (rc = kenc_writer_finish(w->kw)) < 0))
		return writer_fail(w, rc);
	w->finished = true;
	if (st) {
		memset(st, 0, sizeof *st);
		st->entries = w->entries;
		st->plain_bytes = zs_bytes_in(w->z);
		st->compressed_bytes = zs_bytes_out(w->z);
		st->stored_bytes = w->stored;
		kahu_hash_final_hex(w->hash, st->blake2b);
	}
	return 0;
}

void bundle_writer_free(struct bundle_writer *w)
{
	if (!w)
		return;
	if (w->a) {
		/* Closing writes the end marker through our callback, which refuses it once
		 * err is set: an abandoned bundle gets nothing more.  (Closing rather than
		 * archive_write_fail: libarchive 3.6 frees its output buffer only there.) */
		if (!w->finished && !w->err) {
			w->err = KAHU_EFAIL;
			w->errmsg = xstrdup("bundle abandoned");
		}
		archive_write_close(w->a);
		archive_write_free(w->a);
	}
	archive_entry_free(w->entry);
	zs_free(w->z);
	kenc_writer_free(w->kw);
	kahu_hash_free(w->hash);
	free(w->stream_name);
	free(w->errmsg);
	free(w->path);
	free(w);
}

/* ---- reader ---------------------------------------------------------------------- */

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
	locale_t old = utf8_enter();
	int ar = archive_read_next_header(r->a, &ae);
	const char *name = NULL;
	if (ar == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		/* UTF-8 first; the plain getter has the raw bytes when the name could not
		 * be converted (no UTF-8 locale, hdrcharset=BINARY). */
		name = archive_entry_pathname_utf8(ae);
		if (!name)
			name = archive_entry_pathname(ae);
	}
	utf8_leave(old);
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
	char q[QUOTE_CAP];
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
				      quote_name(r->name, q, sizeof q), (unsigned long long)size, max);
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
					      quote_name(r->name, q, sizeof q), max);
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

/* ---- extraction ------------------------------------------------------------------ */

static const char *entry_kind(enum bundle_entry_type t)
{
	switch (t) {
	case BUNDLE_SYMLINK: return "a symbolic link";
	case BUNDLE_HARDLINK: return "a hard link";
	case BUNDLE_OTHER: return "a special file (device, fifo or socket)";
	default: return "a file";
	}
}

/* Open (creating it 0700 if missing) the directory `comp` under dirfd, refusing to
 * follow a symlink.  `shown` names it for messages. */
static int open_dir_at(int dirfd, const char *comp, const char *dir, const char *shown,
		       int *out)
{
	char q[QUOTE_CAP];
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			*out = fd;
			return 0;
		}
		if (errno == ENOENT && attempt == 0) {
			if (mkdirat(dirfd, comp, 0700) < 0 && errno != EEXIST)
				return kahu_error_set(KAHU_EIO, "cannot create %s/%s: %s", dir,
						      quote_name(shown, q, sizeof q), strerror(errno));
			continue;
		}
		if (errno == ELOOP || errno == ENOTDIR) {
			struct stat sb;
			if (fstatat(dirfd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
				return kahu_error_set(KAHU_EPERM,
						      "%s/%s is a symbolic link: refusing to follow "
						      "it while extracting", dir,
						      quote_name(shown, q, sizeof q));
			return kahu_error_set(KAHU_EEXIST,
					      "%s/%s exists and is not a directory", dir,
					      quote_name(shown, q, sizeof q));
		}
		return kahu_error_set(KAHU_EIO, "cannot open %s/%s: %s", dir,
				      quote_name(shown, q, sizeof q), strerror(errno));
	}
	return kahu_error_set(KAHU_EIO, "cannot open %s/%s: it keeps disappearing", dir,
			      quote_name(shown, q, sizeof q));
}

/* The current member's data into a new file `leaf` under dirfd. */
static int extract_file(struct bundle_reader *r, int dirfd, const char *leaf, const char *dir,
			const char *name, struct bundle_extract_stats *st)
{
	char q[QUOTE_CAP];
	char buf[65536];
	size_t got;
	int rc = 0;
	int fd = openat(dirfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return kahu_error_set(KAHU_EEXIST,
					      "%s/%s already exists: extraction never overwrites "
					      "(nor follows a symbolic link)", dir,
					      quote_name(name, q, sizeof q));
		return kahu_error_set(KAHU_EIO, "cannot create %s/%s: %s", dir,
				      quote_name(name, q, sizeof q), strerror(errno));
	}
	for (;;) {
		if ((rc = bundle_read_data(r, buf, sizeof buf, &got)) < 0 || !got)
			break;
		if (kahu_write_all(fd, buf, got) < 0) {
			rc = kahu_error_set(errno == ENOSPC || errno == EDQUOT ? KAHU_ENOSPC
									      : KAHU_EIO,
					    "cannot write %s/%s: %s", dir,
					    quote_name(name, q, sizeof q), strerror(errno));
			break;
		}
		if (st)
			st->bytes += got;
	}
	if (close(fd) < 0 && rc == 0)
		rc = kahu_error_set(KAHU_EIO, "cannot write %s/%s: %s", dir,
				    quote_name(name, q, sizeof q), strerror(errno));
	if (rc == 0 && st)
		st->files++;
	return rc;
}

/* The file-system name of one member-name component: itself, or when it is longer
 * than name_max its encoded form ("<stem>.json" of a file as "<encoded stem>.json"). */
static const char *fs_component(const char *comp, bool is_file, size_t name_max,
				struct kbuf *tmp, bool *shortened)
{
	size_t len = strlen(comp);
	if (len <= name_max)
		return comp;
	kbuf_reset(tmp);
	if (is_file && len > 5 && strcmp(comp + len - 5, ".json") == 0) {
		bundle_component_encode(comp, len - 5, tmp);
		kbuf_adds(tmp, ".json");
	} else {
		bundle_component_encode(comp, len, tmp);
	}
	*shortened = true;
	return kbuf_str(tmp);
}

/* One member: walk (and create) its directories component by component. */
static int extract_entry(struct bundle_reader *r, int rootfd, const char *dir, size_t name_max,
			 const struct bundle_entry *e, struct bundle_extract_stats *st)
{
	char q[QUOTE_CAP];
	struct kbuf tmp = KBUF_INIT;
	bool shortened = false;
	int rc;
	if (e->type != BUNDLE_FILE && e->type != BUNDLE_DIR)
		return reader_fail(r, kahu_error_set(KAHU_EDATA,
						     "%s: member %s is %s: kahu bundles never "
						     "contain links or special files; refusing to "
						     "extract a corrupt or hostile archive", r->path,
						     quote_name(e->name, q, sizeof q),
						     entry_kind(e->type)));
	char *name = xstrdup(e->name);
	size_t len = strlen(name);
	if (e->type == BUNDLE_DIR && len > 1 && name[len - 1] == '/')
		name[len - 1] = '\0';
	if ((rc = bundle_name_check(name)) < 0) {
		rc = reader_fail(r, kahu_error_wrap(KAHU_EDATA,
						    "%s: refusing to extract a corrupt or hostile "
						    "archive", r->path));
		free(name);
		return rc;
	}
	int cur = rootfd;
	char *comp = name;
	for (char *slash; (slash = strchr(comp, '/')); comp = slash + 1) {
		*slash = '\0';
		int next;
		rc = open_dir_at(cur, fs_component(comp, false, name_max, &tmp, &shortened), dir,
				 name, &next);
		*slash = '/';
		if (cur != rootfd)
			close(cur);
		if (rc < 0) {
			free(name);
			kbuf_free(&tmp);
			return rc;
		}
		cur = next;
	}
	const char *leaf = fs_component(comp, e->type == BUNDLE_FILE, name_max, &tmp, &shortened);
	if (e->type == BUNDLE_DIR) {
		int fd;
		if ((rc = open_dir_at(cur, leaf, dir, name, &fd)) == 0) {
			close(fd);
			if (st)
				st->dirs++;
		}
	} else {
		rc = extract_file(r, cur, leaf, dir, name, st);
	}
	if (rc == 0 && shortened && st)
		st->shortened++;
	if (cur != rootfd)
		close(cur);
	free(name);
	kbuf_free(&tmp);
	return rc;
}

int bundle_extract(struct bundle_reader *r, const char *dir, struct bundle_extract_stats *st)
{
	struct bundle_entry e;
	int rc;
	if (st)
		memset(st, 0, sizeof *st);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return kahu_error_set(KAHU_EIO, "cannot create %s: %s", dir, strerror(errno));
	int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return kahu_error_set(errno == ENOTDIR ? KAHU_EEXIST : KAHU_EIO,
				      "cannot open the directory %s: %s", dir, strerror(errno));
	/* The longest name the file system takes, at most NAME_MAX (255 on Linux). */
	long nm = fpathconf(rootfd, _PC_NAME_MAX);
	size_t name_max = nm > 0 && nm < NAME_MAX ? (size_t)nm : NAME_MAX;
	while ((rc = bundle_next(r, &e)) > 0)
		if ((rc = extract_entry(r, rootfd, dir, name_max, &e, st)) < 0)
			break;
	close(rootfd);
	if (rc < 0)
		return rc;
	return bundle_reader_finish(r);
}

/* kahu — the bundle writer: tar (libarchive) -> zstd -> .kenc envelope.  See bundle.h;
 * member names are in bundle_name.c, the reader in bundle_read.c. */
#include "archive/bundle.h"
#include "archive/bundle_int.h"

#include <errno.h>
#include <locale.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive/envelope.h"
#include "archive/zstream.h"
#include "util/err.h"
#include "util/mem.h"

/* libarchive hands its client write callback pieces of this size (the last one
 * shorter: bytes_in_last_block = 1 turns off padding of the final block). */
#define TAR_BLOCK 10240
#define MEMBER_MODE_DEFAULT 0644

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
	char q[BUNDLE_QUOTE_CAP];
	if (w->err)
		return kahu_error_set(w->err, "%s", w->errmsg);
	return writer_fail(w, kahu_error_set(KAHU_EINTERNAL, "%s: tar writer: %s %s: %s", w->path,
					     what, bundle_quote(name, q, sizeof q),
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
	    (!bundle_utf8_available() &&
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
	char q[BUNDLE_QUOTE_CAP];
	int rc;
	if (size > INT64_MAX)
		return writer_fail(w, kahu_error_set(KAHU_EUSAGE, "member %s: size out of range",
						     bundle_quote(name, q, sizeof q)));
	/* A bad name is the caller's mistake, not a broken bundle: refuse it without
	 * making the writer unusable. */
	if ((rc = bundle_name_check(name)) < 0)
		return kahu_error_wrap(rc, "%s: refusing to write the member", w->path);
	archive_entry_clear(w->entry);
	/* The name as multibyte string in the (UTF-8) locale: archive_entry_set_pathname_utf8
	 * would be the obvious call, but libarchive 3.6's pax writer crashes on it when
	 * the locale cannot represent the name. */
	locale_t old = bundle_utf8_enter();
	archive_entry_set_pathname(w->entry, name);
	archive_entry_set_filetype(w->entry, AE_IFREG);
	archive_entry_set_perm(w->entry, mode & 07777);
	archive_entry_set_size(w->entry, (la_int64_t)size);
	archive_entry_set_mtime(w->entry, mtime, 0);
	int ar = archive_write_header(w->a, w->entry);
	bundle_utf8_leave(old);
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
	char q[BUNDLE_QUOTE_CAP];
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
						     bundle_quote(w->stream_name, q, sizeof q),
						     (unsigned long long)w->stream_size));
	if ((rc = write_data(w, w->stream_name, buf, len)) < 0)
		return rc;
	w->stream_done += len;
	return 0;
}

int bundle_add_stream_end(struct bundle_writer *w)
{
	char q[BUNDLE_QUOTE_CAP];
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
						     bundle_quote(w->stream_name, q, sizeof q),
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

/* kahu — the bundle reader: stored bytes -> .kenc envelope -> bounded zstd
 * decompression (seal.c's pull-mode chain, seal_pull_*) -> libarchive's tar reader,
 * each stage checked for truncation, data after its end and corruption.  See bundle.h;
 * extraction to a directory is in bundle_extract.c. */
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

#include "archive/seal.h"
#include "util/err.h"
#include "util/mem.h"

/* Zero bytes tolerated after the tar end marker (tar writers pad to a block). */
#define TRAILING_ZEROS_MAX (1024 * 1024)
/* Tail of the previous decompressed piece kept for the end-of-tar check: libarchive
 * asks for a new piece when it needs at most a header's worth more. */
#define PREV_TAIL 10240

struct bundle_reader {
	char *path;
	struct seal_pull *sp;     /* stored bytes -> envelope -> zstd (seal.h) */
	uint8_t *dbuf;            /* decompressed tar bytes */
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

/* Decompressed tar bytes into dbuf: *n > 0, or 0 at the end of the zstd stream (its
 * ends checked).  Output per call is bounded by dcap whatever the input. */
static int produce(struct bundle_reader *r, size_t *n)
{
	*n = 0;
	if (r->err)
		return reader_replay(r);
	int rc = seal_pull_read(r->sp, r->dbuf, r->dcap, n);
	return rc < 0 ? reader_fail(r, rc) : 0;
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
	*out = NULL;
	if ((rc = seal_pull_new(key, object_path, src, src_ud, &r->sp)) < 0)
		goto fail;
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
	return r->sp ? seal_pull_stored(r->sp) : 0;
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
	seal_pull_free(r->sp);
	free(r->dbuf);
	free(r->prev_tail);
	free(r->name);
	free(r->link);
	free(r->errmsg);
	free(r->path);
	free(r);
}

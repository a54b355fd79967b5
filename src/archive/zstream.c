/* kahu — zstd push streams.  See zstream.h. */
#include "archive/zstream.h"

#include <stdbool.h>
#include <stdlib.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

struct zstream {
	bool compress;
	bool finished;
	bool got_input;     /* decompressor: any byte fed */
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	kahu_write_fn out;
	void *ud;
	uint8_t *obuf;
	size_t ocap;
	size_t last_ret;    /* decompressor: 0 when the last frame is complete */
	bool pending;       /* decompressor: the last step filled its output: zstd may hold more */
	bool frame_done;    /* decompressor: a frame ended, and nothing followed yet */
	char *object;       /* decompressor: one frame, the whole of this object (zs_decompress_object) */
	uint64_t bytes_in, bytes_out;
	int err;            /* sticky */
};

static int zs_fail(struct zstream *z, int rc)
{
	z->err = rc;
	return rc;
}

static int emit(struct zstream *z, size_t n)
{
	if (!n)
		return 0;
	int rc = z->out(z->ud, z->obuf, n);
	if (rc < 0)
		return zs_fail(z, rc);
	z->bytes_out += n;
	return 0;
}

int zs_compress_new(int level, int workers, kahu_write_fn out, void *ud, struct zstream **zp)
{
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
		return kahu_error_set(KAHU_EUSAGE, "zstd level %d is out of range (%d..%d)", level,
				      ZSTD_minCLevel(), ZSTD_maxCLevel());
	if (workers < 0)
		return kahu_error_set(KAHU_EUSAGE, "negative number of zstd workers (%d)", workers);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	if (!cctx)
		return kahu_error_set(KAHU_ENOMEM, "cannot create a zstd compression context");
	size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	if (ZSTD_isError(r)) {
		ZSTD_freeCCtx(cctx);
		return kahu_error_set(KAHU_EINTERNAL, "cannot configure zstd: %s",
				      ZSTD_getErrorName(r));
	}
	if (workers > 0) {
		r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers);
		if (ZSTD_isError(r))
			log_debug("zstd: %d workers unavailable (%s), compressing in one thread",
				  workers, ZSTD_getErrorName(r));
	}
	struct zstream *z = xcalloc(1, sizeof *z);
	z->compress = true;
	z->cctx = cctx;
	z->out = out;
	z->ud = ud;
	z->ocap = ZSTD_CStreamOutSize();
	z->obuf = xmalloc(z->ocap);
	*zp = z;
	return 0;
}

int zs_compress_no_checksum(struct zstream *z)
{
	size_t r = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 0);
	if (ZSTD_isError(r))
		return kahu_error_set(KAHU_EINTERNAL, "cannot configure zstd: %s", ZSTD_getErrorName(r));
	return 0;
}

int zs_decompress_new(kahu_write_fn out, void *ud, struct zstream **zp)
{
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	if (!dctx)
		return kahu_error_set(KAHU_ENOMEM, "cannot create a zstd decompression context");
	size_t r = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, ZS_WINDOW_LOG_MAX);
	if (ZSTD_isError(r)) {
		ZSTD_freeDCtx(dctx);
		return kahu_error_set(KAHU_EINTERNAL, "cannot configure zstd: %s",
				      ZSTD_getErrorName(r));
	}
	struct zstream *z = xcalloc(1, sizeof *z);
	z->dctx = dctx;
	z->out = out;
	z->ud = ud;
	z->ocap = ZSTD_DStreamOutSize(); /* (allocated by the first zs_feed: zs_step needs none) */
	*zp = z;
	return 0;
}

static int check_state(struct zstream *z, bool want_compress, const char *fn)
{
	if (z->err)
		return z->err;
	if (z->compress != want_compress)
		return zs_fail(z, kahu_error_set(KAHU_EINTERNAL, "%s on a %s stream", fn,
						 z->compress ? "compression" : "decompression"));
	if (z->finished)
		return zs_fail(z, kahu_error_set(KAHU_EINTERNAL, "%s after zs_finish", fn));
	return 0;
}

int zs_write(struct zstream *z, const void *buf, size_t len)
{
	int rc = check_state(z, true, "zs_write");
	if (rc < 0)
		return rc;
	ZSTD_inBuffer in = { buf, len, 0 };
	z->bytes_in += len;
	while (in.pos < in.size) {
		ZSTD_outBuffer o = { z->obuf, z->ocap, 0 };
		size_t r = ZSTD_compressStream2(z->cctx, &o, &in, ZSTD_e_continue);
		if (ZSTD_isError(r))
			return zs_fail(z, kahu_error_set(KAHU_EINTERNAL, "zstd compression failed: %s",
							 ZSTD_getErrorName(r)));
		if ((rc = emit(z, o.pos)) < 0)
			return rc;
	}
	return 0;
}

static int compress_end(struct zstream *z)
{
	size_t r;
	int rc;
	do {
		ZSTD_inBuffer in = { NULL, 0, 0 };
		ZSTD_outBuffer o = { z->obuf, z->ocap, 0 };
		r = ZSTD_compressStream2(z->cctx, &o, &in, ZSTD_e_end);
		if (ZSTD_isError(r))
			return zs_fail(z, kahu_error_set(KAHU_EINTERNAL, "zstd compression failed: %s",
							 ZSTD_getErrorName(r)));
		if ((rc = emit(z, o.pos)) < 0)
			return rc;
	} while (r != 0); /* r: bytes still to flush */
	return 0;
}

static int decompress_error(struct zstream *z, size_t r)
{
	bool window = ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge;
	int mib = 1 << (ZS_WINDOW_LOG_MAX - 20);
	if (z->object)
		return zs_fail(z, window ? kahu_error_set(KAHU_EDATA, "%s: corrupt zstd data: the "
							  "frame needs a window larger than "
							  "the %d MiB kahu allows", z->object, mib)
					 : kahu_error_set(KAHU_EDATA, "%s: corrupt zstd data: %s",
							  z->object, ZSTD_getErrorName(r)));
	if (window)
		return zs_fail(z, kahu_error_set(KAHU_EDATA,
						 "zstd frame needs a window larger than the %d MiB "
						 "kahu allows; refusing it", mib));
	return zs_fail(z, kahu_error_set(KAHU_EDATA, "corrupt zstd data: %s",
					 ZSTD_getErrorName(r)));
}

void zs_decompress_object(struct zstream *z, const char *object_path)
{
	free(z->object);
	z->object = xstrdup(object_path);
}

/* One ZSTD_decompressStream call: the decoding both modes share.  Output is not
 * counted here (emit counts what it hands on). */
static int step(struct zstream *z, const void *in, size_t in_len, size_t *used, void *out,
		size_t cap, size_t *produced)
{
	*used = *produced = 0;
	if (z->object && z->frame_done && in_len)
		return zs_fail(z, kahu_error_set(KAHU_EDATA, "%s: data after the end of the "
						 "compressed stream", z->object));
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, cap, 0 };
	size_t r = ZSTD_decompressStream(z->dctx, &ob, &ib);
	*used = ib.pos;
	z->bytes_in += ib.pos;
	if (in_len)
		z->got_input = true;
	if (ZSTD_isError(r))
		return decompress_error(z, r);
	z->last_ret = r;
	/* r == 0: a frame ended and everything was flushed.  Calling again with no input
	 * would start the next frame and lose that fact. */
	z->frame_done = r == 0;
	z->pending = ob.pos == ob.size && r != 0;
	*produced = ob.pos;
	return 0;
}

int zs_step(struct zstream *z, const void *in, size_t in_len, size_t *used, void *out,
	    size_t cap, size_t *produced)
{
	*used = *produced = 0;
	int rc = check_state(z, false, "zs_step");
	if (rc < 0 || (rc = step(z, in, in_len, used, out, cap, produced)) < 0)
		return rc;
	z->bytes_out += *produced;
	return 0;
}

bool zs_pending(const struct zstream *z)
{
	return z->pending;
}

int zs_feed(struct zstream *z, const void *buf, size_t len)
{
	int rc = check_state(z, false, "zs_feed");
	if (rc < 0 || len == 0)
		return rc;
	const uint8_t *p = buf;
	size_t used, n;
	if (!z->obuf)
		z->obuf = xmalloc(z->ocap);
	/* Go on while there is input, or while the last step filled the output buffer. */
	while (len || z->pending) {
		if ((rc = step(z, p, len, &used, z->obuf, z->ocap, &n)) < 0)
			return rc;
		p += used;
		len -= used;
		if ((rc = emit(z, n)) < 0)
			return rc;
	}
	return 0;
}

int zs_write_cb(void *z, const void *buf, size_t len)
{
	return zs_write(z, buf, len);
}

int zs_feed_cb(void *z, const void *buf, size_t len)
{
	return zs_feed(z, buf, len);
}

int zs_finish(struct zstream *z)
{
	int rc = check_state(z, z->compress, "zs_finish");
	if (rc < 0)
		return rc;
	if (z->compress) {
		if ((rc = compress_end(z)) < 0)
			return rc;
	} else if (z->object && (!z->got_input || z->last_ret != 0)) {
		return zs_fail(z, kahu_error_set(KAHU_EDATA, z->got_input
						 ? "%s: truncated: the data ends inside the zstd frame"
						 : "%s: truncated: no compressed data", z->object));
	} else if (!z->got_input) {
		return zs_fail(z, kahu_error_set(KAHU_EDATA, "empty zstd stream (no frame)"));
	} else if (z->last_ret != 0) {
		return zs_fail(z, kahu_error_set(KAHU_EDATA,
						 "truncated zstd stream: the data ends inside a frame"));
	}
	z->finished = true;
	return 0;
}

uint64_t zs_bytes_in(const struct zstream *z) { return z->bytes_in; }
uint64_t zs_bytes_out(const struct zstream *z) { return z->bytes_out; }

void zs_free(struct zstream *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->cctx);
	ZSTD_freeDCtx(z->dctx);
	free(z->object);
	free(z->obuf);
	free(z);
}

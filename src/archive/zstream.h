/* kahu — zstd compression and decompression as push streams (stream.h).
 *
 * Compressor: ZSTD_compressStream2 with ZSTD_e_continue, then ZSTD_e_end at finish;
 * one frame per stream, with a content checksum.  Decompressor: accepts one or more
 * concatenated frames (or exactly one, zs_decompress_object) and fails at finish when
 * the last frame is incomplete; pushed (zs_feed, its output to the callback) or pulled
 * (zs_step, into the caller's buffer), one decoding either way.  Its window is limited
 * to 2^ZS_WINDOW_LOG_MAX bytes (ZSTD_d_windowLogMax), so a hostile frame cannot make
 * it allocate more; every level kahu writes stays within it.
 *
 * Buffers are fixed (ZSTD_CStreamOutSize / ZSTD_DStreamOutSize); input is read straight
 * from the caller's buffer.  Errors: KAHU_EDATA for corrupt, truncated or oversized
 * frames (with ZSTD_getErrorName), KAHU_EUSAGE for a bad level, and whatever the
 * output callback returns.  After an error every call returns the same code. */
#ifndef KAHU_ARCHIVE_ZSTREAM_H
#define KAHU_ARCHIVE_ZSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive/stream.h"

#define ZS_WINDOW_LOG_MAX 27 /* 128 MiB: zstd's own default limit, stated explicitly */
#define ZS_LEVEL_DEFAULT 3

struct zstream;

/* level: ZSTD_minCLevel()..ZSTD_maxCLevel(), 0 = zstd's default.  workers: 0 =
 * compress in the calling thread; n > 0 = n zstd worker threads (when libzstd was built
 * without threads this falls back to one thread, with a debug log line). */
int zs_compress_new(int level, int workers, kahu_write_fn out, void *ud, struct zstream **z);
/* The frame without zstd's content checksum (an XXH64 of everything compressed, which
 * the reader then computes again): for streams whose content is checked otherwise.
 * Before the first zs_write. */
int zs_compress_no_checksum(struct zstream *z);
int zs_write(struct zstream *z, const void *buf, size_t len);

int zs_decompress_new(kahu_write_fn out, void *ud, struct zstream **z);
int zs_feed(struct zstream *z, const void *buf, size_t len);

/* A decompressor for one object (a bundle): one frame that is the whole of it, data
 * after the frame refused, and errors naming the object ("PATH: corrupt zstd data:
 * …", "PATH: truncated: the data ends inside the zstd frame", "PATH: truncated: no
 * compressed data", "PATH: data after the end of the compressed stream"). */
void zs_decompress_object(struct zstream *z, const char *object_path);
/* Pull mode (the decompressor's `out` is not used): decodes from in (in_len bytes;
 * *used of them taken) into out, at most cap bytes (*produced).  The same decoding as
 * zs_feed, one step of it: call again with the rest of the input, or with none while
 * zs_pending says zstd holds more output than fit. */
int zs_step(struct zstream *z, const void *in, size_t in_len, size_t *used, void *out,
	    size_t cap, size_t *produced);
bool zs_pending(const struct zstream *z);

/* Compressor: ends the frame and flushes it.  Decompressor: KAHU_EDATA when the input
 * ended inside a frame (truncated) or held no frame at all. */
int zs_finish(struct zstream *z);
void zs_free(struct zstream *z);

/* Progress: bytes given to the stream and bytes it handed to its callback. */
uint64_t zs_bytes_in(const struct zstream *z);
uint64_t zs_bytes_out(const struct zstream *z);

/* kahu_write_fn adapters (ud is the struct zstream). */
int zs_write_cb(void *z, const void *buf, size_t len);
int zs_feed_cb(void *z, const void *buf, size_t len);

#endif

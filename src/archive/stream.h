/* kahu — push streams: the one callback type every archive stage speaks.
 *
 * The backup pipeline is a chain of push stages, each with fixed buffers:
 *
 *     tar writer -> zs_write -> kenc_write -> storage put stream
 *
 * and restore is the reverse (storage get -> kenc_reader_feed -> zs_feed -> tar reader).
 * A stage hands its output to the next one through a kahu_write_fn.  The callback
 * consumes all `len` bytes or fails; it returns 0 or a negative kahu_err and, on
 * failure, has already set the thread-local error message (util/err.h).  Stages pass
 * that code back unchanged and refuse further input afterwards.
 *
 * Adapters with this signature exist for every stage (zs_write_cb, kenc_write_cb,
 * kenc_reader_feed_cb, zs_feed_cb), so stages can be chained directly. */
#ifndef KAHU_ARCHIVE_STREAM_H
#define KAHU_ARCHIVE_STREAM_H

#include <stddef.h>

#include "util/buf.h"

typedef int (*kahu_write_fn)(void *ud, const void *buf, size_t len);

/* A pull source: reads the next bytes into buf (at most cap); *got = 0 at the end.
 * Returns 0 or a negative kahu_err with its message set. */
typedef int (*kahu_read_fn)(void *ud, void *buf, size_t cap, size_t *got);

/* A sink that appends to a struct kbuf (ud): for small objects and for tests. */
static inline int kahu_write_to_kbuf(void *ud, const void *buf, size_t len)
{
	kbuf_add(ud, buf, len);
	return 0;
}

#endif

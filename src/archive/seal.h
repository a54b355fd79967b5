/* kahu — a sealed object: zstd, then the .kenc envelope when there is a key.  The
 * stored objects besides the metadata archive (a backup's log, a restore's result and
 * log) are written through this. */
#ifndef KAHU_ARCHIVE_SEAL_H
#define KAHU_ARCHIVE_SEAL_H

#include <stdio.h>

#include "archive/key.h"
#include "archive/stream.h"

struct seal_writer {
	struct kenc_writer *enc;
	struct zstream *z;
};

/* Compress at `level` and, with a key, encrypt for object_path into out. */
int seal_open(struct seal_writer *w, const struct kahu_key *key, const char *object_path,
	      int level, kahu_write_fn out, void *ud);
int seal_write(struct seal_writer *w, const void *buf, size_t len);
/* All of f, from its start (a temporary file written so far). */
int seal_write_file(struct seal_writer *w, FILE *f);
/* Flush the compressor and close the envelope. */
int seal_finish(struct seal_writer *w);
void seal_close(struct seal_writer *w); /* frees; zeroes the key state */

#endif

/* kahu — sealed objects (see seal.h). */
#include "archive/seal.h"

#include <errno.h>
#include <string.h>

#include "archive/envelope.h"
#include "archive/zstream.h"
#include "util/err.h"

int seal_open(struct seal_writer *w, const struct kahu_key *key, const char *object_path,
	      int level, kahu_write_fn out, void *ud)
{
	int rc;
	memset(w, 0, sizeof *w);
	if (key && (rc = kenc_writer_new(key, object_path, out, ud, &w->enc)) < 0)
		return rc;
	return w->enc ? zs_compress_new(level, 0, kenc_write_cb, w->enc, &w->z)
		      : zs_compress_new(level, 0, out, ud, &w->z);
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

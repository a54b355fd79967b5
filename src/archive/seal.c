/* kahu — sealed objects (see seal.h). */
#include "archive/seal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "archive/envelope.h"
#include "archive/zstream.h"
#include "util/buf.h"
#include "util/err.h"

/* ---- sealed streams ---- */

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

int seal_reader_open(struct seal_reader *r, const struct kahu_key *key, const char *object_path,
		     kahu_write_fn out, void *ud)
{
	int rc;
	memset(r, 0, sizeof *r);
	if ((rc = zs_decompress_new(out, ud, &r->z)) < 0)
		return rc;
	if (key && (rc = kenc_reader_new(key, object_path, zs_feed_cb, r->z, &r->enc)) < 0)
		return rc;
	return 0;
}

int seal_reader_feed(struct seal_reader *r, const void *buf, size_t len)
{
	return r->enc ? kenc_reader_feed(r->enc, buf, len) : zs_feed(r->z, buf, len);
}

int seal_reader_finish(struct seal_reader *r)
{
	int rc = r->enc ? kenc_reader_finish(r->enc) : 0;
	if (rc == 0)
		rc = zs_finish(r->z);
	return rc;
}

void seal_reader_close(struct seal_reader *r)
{
	kenc_reader_free(r->enc);
	zs_free(r->z);
	memset(r, 0, sizeof *r);
}

/* ---- sealed documents ---- */

char *seal_canonical_without(const json_t *doc, const char *member)
{
	json_t *copy = json_copy((json_t *)doc);
	if (!copy) {
		fprintf(stderr, "kahu: out of memory (copying JSON)\n");
		abort();
	}
	json_object_del(copy, member);
	char *canon = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(copy);
	if (!canon) {
		fprintf(stderr, "kahu: out of memory (serializing JSON)\n");
		abort();
	}
	return canon;
}

void seal_doc_mac(const json_t *doc, const struct kahu_key *key, const char ctx[8],
		  const char *bind, char out[KAHU_HASH_HEX_LEN + 1])
{
	char *canon = seal_canonical_without(doc, "mac");
	struct kbuf b = KBUF_INIT;
	if (bind) {
		kbuf_adds(&b, bind);
		kbuf_addc(&b, '\0');
	}
	kbuf_adds(&b, canon);
	kahu_key_keyed_hash(key, ctx, b.data, b.len, out);
	kbuf_free(&b);
	free(canon);
}

void seal_doc(json_t *doc, const struct kahu_key *key, const char ctx[8], const char *bind)
{
	char mac[KAHU_HASH_HEX_LEN + 1];
	seal_doc_mac(doc, key, ctx, bind, mac);
	json_object_set_new(doc, "mac", json_string(mac));
}

int seal_doc_verify(const json_t *doc, const struct kahu_key *key, const char ctx[8],
		    const char *bind, const char *what)
{
	char want[KAHU_HASH_HEX_LEN + 1];
	const char *mac = json_string_value(json_object_get(doc, "mac"));
	seal_doc_mac(doc, key, ctx, bind, want);
	if (!mac || strlen(mac) != KAHU_HASH_HEX_LEN || !kahu_ct_equal(want, mac, KAHU_HASH_HEX_LEN))
		return kahu_error_set(KAHU_ECRYPTO, "%s failed authentication: it was altered or "
				      "forged", what);
	return 0;
}

/* Unit tests: zstd push streams, and the zstd -> envelope pipeline end to end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zstd.h>

#include "check_main.h"
#include "archive/envelope.h"
#include "archive/key.h"
#include "archive/zstream.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Half random, half repetitive text: compresses, but not to nothing. */
static uint8_t *make_data(size_t n, int random_only)
{
	uint8_t *p = xmalloc(n ? n : 1);
	static const uint8_t seed[randombytes_SEEDBYTES] = { 7 };
	randombytes_buf_deterministic(p, n, seed);
	if (!random_only) {
		static const char txt[] = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{}}\n";
		for (size_t i = 0; i < n; i++)
			if ((i / 4096) % 2 == 0)
				p[i] = (uint8_t)txt[i % (sizeof txt - 1)];
	}
	return p;
}

/* split: 0 whole, 1 one byte, 2 random up to 100, 3 random up to 300000 */
static size_t piece(int split, size_t left)
{
	size_t n = split == 0 ? left : split == 1 ? 1 : split == 2 ? 1 + rng() % 100
							     : 1 + rng() % 300000;
	return n < left ? n : left;
}

static void compress(int level, int workers, const uint8_t *data, size_t n, int split,
		     struct kbuf *out)
{
	struct zstream *z = NULL;
	size_t start = out->len;
	ck_assert_int_eq(zs_compress_new(level, workers, kahu_write_to_kbuf, out, &z), 0);
	for (size_t off = 0; off < n;) {
		size_t k = piece(split, n - off);
		ck_assert_int_eq(zs_write(z, data + off, k), 0);
		off += k;
	}
	ck_assert_int_eq(zs_finish(z), 0);
	ck_assert_uint_eq(zs_bytes_in(z), n);
	ck_assert_uint_eq(zs_bytes_out(z), out->len - start);
	zs_free(z);
}

static int decompress(const void *buf, size_t n, int split, struct kbuf *out)
{
	struct zstream *z = NULL;
	const uint8_t *p = buf;
	int rc;
	kahu_error_clear();
	ck_assert_int_eq(zs_decompress_new(kahu_write_to_kbuf, out, &z), 0);
	for (size_t off = 0; off < n;) {
		size_t k = piece(split, n - off);
		if ((rc = zs_feed(z, p + off, k)) < 0)
			goto out;
		off += k;
	}
	rc = zs_finish(z);
	if (rc == 0) {
		ck_assert_uint_eq(zs_bytes_in(z), n);
		ck_assert_uint_eq(zs_bytes_out(z), out->len);
	}
out:
	if (rc < 0) {
		ck_assert_int_eq(zs_feed(z, "x", 1), rc); /* sticky */
		ck_assert_int_eq(zs_finish(z), rc);
	}
	zs_free(z);
	return rc;
}

static void assert_msg(const char *needle)
{
	if (!strstr(kahu_error_last(), needle))
		ck_abort_msg("message \"%s\" lacks \"%s\"", kahu_error_last(), needle);
}

struct rt_case {
	int level;
	size_t size;
	int random_only;
};

static const struct rt_case cases[] = {
	{ 3, 0, 0 },       { 3, 1, 0 },          { 1, 1000, 0 },      { 3, 131072, 0 },
	{ 9, 300000, 0 },  { 19, 300000, 0 },    { -5, 300000, 0 },   { 3, 2100000, 1 },
	{ 1, 5000000, 0 }, { ZS_LEVEL_DEFAULT, 1 << 20, 0 },
};

START_TEST(test_roundtrip)
{
	const struct rt_case *c = &cases[_i];
	uint8_t *data = make_data(c->size, c->random_only);
	struct kbuf comp = KBUF_INIT, out = KBUF_INIT;
	compress(c->level, 0, data, c->size, _i % 4, &comp);
	if (!c->random_only && c->size > 100000)
		ck_assert_uint_lt(comp.len, c->size * 3 / 4);
	for (int split = 0; split < 4; split++) {
		kbuf_reset(&out);
		ck_assert_int_eq(decompress(comp.data, comp.len, split, &out), 0);
		ck_assert_uint_eq(out.len, c->size);
		if (c->size)
			ck_assert(memcmp(out.data, data, c->size) == 0);
	}
	/* zstd itself agrees on the content */
	unsigned long long fsz = ZSTD_getFrameContentSize(comp.data, comp.len);
	ck_assert(fsz == ZSTD_CONTENTSIZE_UNKNOWN || fsz == c->size);
	kbuf_free(&comp);
	kbuf_free(&out);
	free(data);
}
END_TEST

START_TEST(test_workers)
{
	size_t n = 6 << 20;
	uint8_t *data = make_data(n, 0);
	struct kbuf comp = KBUF_INIT, out = KBUF_INIT;
	compress(3, 2, data, n, 3, &comp);
	ck_assert_int_eq(decompress(comp.data, comp.len, 3, &out), 0);
	ck_assert_uint_eq(out.len, n);
	ck_assert(memcmp(out.data, data, n) == 0);
	kbuf_free(&comp);
	kbuf_free(&out);
	free(data);
}
END_TEST

START_TEST(test_concatenated_frames)
{
	struct kbuf comp = KBUF_INIT, out = KBUF_INIT;
	compress(3, 0, (const uint8_t *)"first ", 6, 0, &comp);
	compress(5, 0, (const uint8_t *)"second", 6, 0, &comp);
	ck_assert_int_eq(decompress(comp.data, comp.len, 1, &out), 0);
	ck_assert_uint_eq(out.len, 12);
	ck_assert(memcmp(out.data, "first second", 12) == 0);
	/* the second one cut short */
	kbuf_reset(&out);
	ck_assert_int_eq(decompress(comp.data, comp.len - 1, 0, &out), KAHU_EDATA);
	kbuf_free(&comp);
	kbuf_free(&out);
}
END_TEST

START_TEST(test_truncated)
{
	struct kbuf comp = KBUF_INIT, out = KBUF_INIT;
	uint8_t *data = make_data(1000, 0);
	compress(3, 0, data, 1000, 0, &comp);
	/* every prefix of a small frame: truncated, whatever the split */
	for (size_t n = 1; n < comp.len; n++) {
		kbuf_reset(&out);
		ck_assert_int_eq(decompress(comp.data, n, (int)(n % 3), &out), KAHU_EDATA);
		assert_msg("truncated zstd stream");
	}
	free(data);
	/* a big frame cut at a few places, including just before the checksum */
	kbuf_reset(&comp);
	data = make_data(3 << 20, 0);
	compress(3, 0, data, 3 << 20, 3, &comp);
	size_t cuts[] = { 5, comp.len / 3, comp.len / 2, comp.len - 4, comp.len - 1 };
	for (size_t i = 0; i < 5; i++) {
		kbuf_reset(&out);
		ck_assert_int_eq(decompress(comp.data, cuts[i], (int)(i % 4), &out), KAHU_EDATA);
		assert_msg("truncated");
		/* a cut in the checksum leaves all the data out, yet the frame is refused */
		ck_assert_uint_le(out.len, 3 << 20);
	}
	kbuf_free(&comp);
	kbuf_free(&out);
	free(data);
}
END_TEST

START_TEST(test_garbage)
{
	struct kbuf comp = KBUF_INIT, out = KBUF_INIT;
	uint8_t *junk = make_data(5000, 1);
	ck_assert_int_eq(decompress(junk, 5000, 0, &out), KAHU_EDATA);
	assert_msg("corrupt zstd data: ");
	ck_assert_int_eq(decompress("hello world", 11, 1, &out), KAHU_EDATA);
	ck_assert_int_eq(decompress("", 0, 0, &out), KAHU_EDATA);
	assert_msg("empty zstd stream");

	/* a flipped byte inside a frame: the block decoder or the checksum catches it */
	uint8_t *data = make_data(200000, 0);
	compress(3, 0, data, 200000, 0, &comp);
	size_t spots[] = { 0, comp.len / 3, comp.len / 2, comp.len - 2 };
	for (size_t i = 0; i < 4; i++) {
		comp.data[spots[i]] ^= 0x10;
		kbuf_reset(&out);
		ck_assert_int_eq(decompress(comp.data, comp.len, (int)(i % 4), &out), KAHU_EDATA);
		comp.data[spots[i]] ^= 0x10;
	}
	/* garbage after a complete frame */
	kbuf_add(&comp, "trailing junk!", 14);
	kbuf_reset(&out);
	ck_assert_int_eq(decompress(comp.data, comp.len, 0, &out), KAHU_EDATA);
	kbuf_free(&comp);
	kbuf_free(&out);
	free(junk);
	free(data);
}
END_TEST

/* Pull mode: what zs_feed hands on, in pieces no larger than the caller's buffer. */
static int pull(const void *buf, size_t n, size_t in_piece, size_t cap, const char *object,
		struct kbuf *out)
{
	struct zstream *z = NULL;
	const uint8_t *p = buf;
	uint8_t *o = xmalloc(cap);
	size_t used, got;
	int rc = 0;
	kahu_error_clear();
	ck_assert_int_eq(zs_decompress_new(NULL, NULL, &z), 0);
	if (object)
		zs_decompress_object(z, object);
	for (size_t off = 0; rc == 0 && (off < n || zs_pending(z));) {
		size_t k = n - off < in_piece ? n - off : in_piece;
		rc = zs_step(z, p + off, k, &used, o, cap, &got);
		ck_assert_uint_le(got, cap);
		ck_assert_uint_le(used, k);
		kbuf_add(out, o, got);
		off += used;
	}
	if (rc == 0)
		rc = zs_finish(z);
	if (rc == 0)
		ck_assert_uint_eq(zs_bytes_out(z), out->len);
	zs_free(z);
	free(o);
	return rc;
}

START_TEST(test_pull)
{
	uint8_t *data = make_data(1 << 20, 0);
	struct kbuf c = KBUF_INIT, small = KBUF_INIT, out = KBUF_INIT;
	compress(3, 0, data, 1 << 20, 0, &c);
	/* one byte of output at a time: a smaller stream (a million calls under a
	 * sanitizer on a loaded machine outlast the test's timeout, and show nothing new) */
	compress(3, 0, data, 1 << 16, 0, &small);
	static const size_t caps[] = { 1, 4096, 131072 }, ins[] = { 1, 7, 65536, 1 << 22 };
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < 4; j++) {
			if (caps[i] == 1 && ins[j] < 65536)
				continue; /* (slow, and nothing new) */
			const struct kbuf *in = caps[i] == 1 ? &small : &c;
			size_t want = caps[i] == 1 ? 1 << 16 : 1 << 20;
			kbuf_reset(&out);
			ck_assert_int_eq(pull(in->data, in->len, ins[j], caps[i], NULL, &out), 0);
			ck_assert_uint_eq(out.len, want);
			ck_assert(memcmp(out.data, data, out.len) == 0);
			kbuf_reset(&out);
			ck_assert_int_eq(pull(in->data, in->len, ins[j], caps[i], "o/b.tar.zst", &out), 0);
			ck_assert_uint_eq(out.len, want);
		}
	}
	kbuf_free(&small);
	/* one object, one frame: its own messages */
	kbuf_reset(&out);
	ck_assert_int_eq(pull(c.data, 0, 4096, 4096, "o/b.tar.zst", &out), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), "o/b.tar.zst: truncated: no compressed data");
	kbuf_reset(&out);
	ck_assert_int_eq(pull(c.data, c.len - 1, 4096, 4096, "o/b.tar.zst", &out), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), "o/b.tar.zst: truncated: the data ends inside the zstd frame");
	compress(3, 0, data, 100, 0, &c);
	kbuf_reset(&out);
	ck_assert_int_eq(pull(c.data, c.len, 4096, 1 << 17, "o/b.tar.zst", &out), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), "o/b.tar.zst: data after the end of the compressed stream");
	/* …which a stream of frames accepts */
	kbuf_reset(&out);
	ck_assert_int_eq(pull(c.data, c.len, 4096, 1 << 17, NULL, &out), 0);
	ck_assert_uint_eq(out.len, (1 << 20) + 100);
	kbuf_reset(&out);
	ck_assert_int_eq(pull(c.data, 4, 4096, 4096, NULL, &out), KAHU_EDATA);
	assert_msg("truncated zstd stream");
	kbuf_free(&c);
	kbuf_free(&out);
	free(data);
}
END_TEST

START_TEST(test_window_limit)
{
	/* A frame that declares a 256 MiB window (as a hostile one would) is refused
	 * without allocating it. */
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, ZS_WINDOW_LOG_MAX + 1)));
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1)));
	static uint8_t dst[1 << 16];
	uint8_t *data = make_data(100000, 0);
	ZSTD_outBuffer o = { dst, sizeof dst, 0 };
	ZSTD_inBuffer in = { data, 100000, 0 };
	ck_assert(!ZSTD_isError(ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue)));
	in.size = in.pos = 0;
	ck_assert_uint_eq(ZSTD_compressStream2(c, &o, &in, ZSTD_e_end), 0);
	ZSTD_freeCCtx(c);
	struct kbuf out = KBUF_INIT;
	ck_assert_int_eq(decompress(dst, o.pos, 0, &out), KAHU_EDATA);
	assert_msg("window larger than the 128 MiB");
	kbuf_free(&out);
	free(data);
}
END_TEST

static int calls_left;
static int failing_sink(void *ud, const void *buf, size_t len)
{
	(void)ud; (void)buf; (void)len;
	if (calls_left-- > 0)
		return 0;
	return kahu_error_set(KAHU_EIO, "sink broke");
}

START_TEST(test_api_errors)
{
	struct zstream *z = NULL;
	ck_assert_int_eq(zs_compress_new(ZSTD_maxCLevel() + 1, 0, kahu_write_to_kbuf, NULL, &z),
			 KAHU_EUSAGE);
	ck_assert_int_eq(zs_compress_new(ZSTD_minCLevel() - 1, 0, kahu_write_to_kbuf, NULL, &z),
			 KAHU_EUSAGE);
	ck_assert_int_eq(zs_compress_new(3, -1, kahu_write_to_kbuf, NULL, &z), KAHU_EUSAGE);
	ck_assert_ptr_null(z);

	/* the consumer's error comes back unchanged and sticks */
	uint8_t *data = make_data(1 << 20, 1);
	calls_left = 0;
	ck_assert_int_eq(zs_compress_new(1, 0, failing_sink, NULL, &z), 0);
	int rc = zs_write(z, data, 1 << 20);
	if (rc == 0)
		rc = zs_finish(z);
	ck_assert_int_eq(rc, KAHU_EIO);
	ck_assert_str_eq(kahu_error_last(), "sink broke");
	ck_assert_int_eq(zs_write(z, data, 1), KAHU_EIO);
	zs_free(z);

	struct kbuf comp = KBUF_INIT;
	compress(1, 0, data, 1 << 20, 0, &comp);
	calls_left = 1;
	ck_assert_int_eq(zs_decompress_new(failing_sink, NULL, &z), 0);
	ck_assert_int_eq(zs_feed_cb(z, comp.data, comp.len), KAHU_EIO);
	zs_free(z);

	/* misuse is reported, not undefined */
	ck_assert_int_eq(zs_decompress_new(kahu_write_to_kbuf, &comp, &z), 0);
	ck_assert_int_eq(zs_write(z, "x", 1), KAHU_EINTERNAL);
	zs_free(z);
	ck_assert_int_eq(zs_compress_new(1, 0, kahu_write_to_kbuf, &comp, &z), 0);
	ck_assert_int_eq(zs_finish(z), 0);
	ck_assert_int_eq(zs_write_cb(z, "x", 1), KAHU_EINTERNAL);
	zs_free(z);
	zs_free(NULL);
	kbuf_free(&comp);
	free(data);
}
END_TEST

/* ---- the pipeline: data -> zstd -> envelope -> bytes, and back -------------------- */

START_TEST(test_pipeline)
{
	struct kahu_key *key = NULL;
	struct kenc_writer *w = NULL;
	struct kenc_reader *r = NULL;
	struct zstream *zc = NULL, *zd = NULL;
	struct kbuf stored = KBUF_INIT, out = KBUF_INIT;
	const char *path = "backups/b1/volumes/ns/pvc.tar.zst.kenc";
	size_t n = 3 << 20;
	uint8_t *data = make_data(n, 0);

	ck_assert_int_eq(kahu_key_generate(&key), 0);
	ck_assert_int_eq(kenc_writer_new(key, path, kahu_write_to_kbuf, &stored, &w), 0);
	ck_assert_int_eq(zs_compress_new(3, 0, kenc_write_cb, w, &zc), 0);
	for (size_t off = 0; off < n;) {
		size_t k = piece(3, n - off);
		ck_assert_int_eq(zs_write(zc, data + off, k), 0);
		off += k;
	}
	ck_assert_int_eq(zs_finish(zc), 0);
	ck_assert_int_eq(kenc_writer_finish(w), 0);
	ck_assert_uint_eq(kenc_writer_bytes_in(w), zs_bytes_out(zc));
	ck_assert_uint_lt(stored.len, n);

	ck_assert_int_eq(zs_decompress_new(kahu_write_to_kbuf, &out, &zd), 0);
	ck_assert_int_eq(kenc_reader_new(key, path, zs_feed_cb, zd, &r), 0);
	for (size_t off = 0; off < stored.len; off++)
		ck_assert_int_eq(kenc_reader_feed(r, stored.data + off, 1), 0);
	ck_assert_int_eq(kenc_reader_finish(r), 0);
	ck_assert_int_eq(zs_finish(zd), 0);
	ck_assert_uint_eq(out.len, n);
	ck_assert(memcmp(out.data, data, n) == 0);

	zs_free(zc);
	zs_free(zd);
	kenc_writer_free(w);
	kenc_reader_free(r);
	kahu_key_free(key);
	kbuf_free(&stored);
	kbuf_free(&out);
	free(data);
}
END_TEST

static Suite *zstream_suite(void)
{
	Suite *s = suite_create("zstream");
	TCase *tc = tcase_create("zstd");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_roundtrip, 0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, test_workers);
	tcase_add_test(tc, test_concatenated_frames);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_window_limit);
	tcase_add_test(tc, test_pull);
	tcase_add_test(tc, test_api_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("pipeline");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pipeline);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(zstream_suite)

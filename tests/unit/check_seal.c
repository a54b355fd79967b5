/* Unit tests: sealed objects (archive/seal.h), the writer and the reader of a sealed
 * stream, and the MAC of a sealed document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "archive/envelope.h"
#include "archive/key.h"
#include "archive/seal.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"

#define PATH "restores/r1/result.json.zst.kenc"

static struct kahu_key *key, *key2;

static void setup(void)
{
	ck_assert_int_eq(kahu_crypto_init(), 0);
	ck_assert_int_eq(kahu_key_generate(&key), 0);
	ck_assert_int_eq(kahu_key_generate(&key2), 0);
}

static void teardown(void)
{
	kahu_key_free(key);
	kahu_key_free(key2);
}

static int collect(void *ud, const void *buf, size_t len)
{
	kbuf_add(ud, buf, len);
	return 0;
}

/* Some text that compresses, longer than one envelope chunk. */
static void sample(struct kbuf *b)
{
	for (int i = 0; i < 20000; i++) {
		char line[32];
		snprintf(line, sizeof line, "{\"line\":%d}\n", i);
		kbuf_adds(b, line);
	}
}

static void seal_sample(const struct kahu_key *k, const char *path, const struct kbuf *plain,
			struct kbuf *stored)
{
	struct seal_writer w;
	ck_assert_int_eq(seal_open(&w, k, path, 3, collect, stored), 0);
	/* in two pieces */
	ck_assert_int_eq(seal_write(&w, plain->data, 1000), 0);
	ck_assert_int_eq(seal_write(&w, plain->data + 1000, plain->len - 1000), 0);
	ck_assert_int_eq(seal_finish(&w), 0);
	seal_close(&w);
}

/* Read stored back with k as if at path, fed in pieces of `step` bytes. */
static int unseal(const struct kahu_key *k, const char *path, const struct kbuf *stored,
		  size_t step, struct kbuf *plain)
{
	struct seal_reader r;
	int rc = seal_reader_open(&r, k, path, collect, plain);
	for (size_t off = 0; rc == 0 && off < stored->len; off += step)
		rc = seal_reader_feed(&r, stored->data + off,
				      stored->len - off < step ? stored->len - off : step);
	if (rc == 0)
		rc = seal_reader_finish(&r);
	seal_reader_close(&r);
	return rc;
}

START_TEST(test_stream_round_trip)
{
	const struct kahu_key *keys[] = { key, NULL };
	for (size_t i = 0; i < 2; i++) {
		struct kbuf plain = KBUF_INIT, stored = KBUF_INIT, back = KBUF_INIT;
		sample(&plain);
		seal_sample(keys[i], PATH, &plain, &stored);
		ck_assert_uint_lt(stored.len, plain.len);
		ck_assert_int_eq(unseal(keys[i], PATH, &stored, 4096, &back), 0);
		ck_assert_uint_eq(back.len, plain.len);
		ck_assert(memcmp(back.data, plain.data, plain.len) == 0);
		kbuf_free(&plain);
		kbuf_free(&stored);
		kbuf_free(&back);
	}
}
END_TEST

START_TEST(test_stream_tampered)
{
	struct kbuf plain = KBUF_INIT, stored = KBUF_INIT, back = KBUF_INIT;
	sample(&plain);
	seal_sample(key, PATH, &plain, &stored);

	/* a flipped byte in the header, the middle, the last chunk */
	size_t at[] = { 20, stored.len / 2, stored.len - 3 };
	for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
		stored.data[at[i]] ^= 0x01;
		kbuf_reset(&back);
		ck_assert_int_eq(unseal(key, PATH, &stored, 65536, &back), KAHU_ECRYPTO);
		stored.data[at[i]] ^= 0x01;
	}
	/* moved to another path, read with another key, truncated */
	kbuf_reset(&back);
	ck_assert_int_eq(unseal(key, "restores/r2/result.json.zst.kenc", &stored, 65536, &back),
			 KAHU_ECRYPTO);
	kbuf_reset(&back);
	ck_assert_int_eq(unseal(key2, PATH, &stored, 65536, &back), KAHU_ECRYPTO);
	kbuf_reset(&back);
	size_t full = stored.len;
	stored.len = full - 100;
	ck_assert_int_lt(unseal(key, PATH, &stored, 65536, &back), 0);
	stored.len = full;
	/* and intact again */
	kbuf_reset(&back);
	ck_assert_int_eq(unseal(key, PATH, &stored, 65536, &back), 0);
	kbuf_free(&plain);
	kbuf_free(&stored);
	kbuf_free(&back);
}
END_TEST

START_TEST(test_stream_unsealed_damage)
{
	/* Without a key only zstd checks the stream: a truncated one is still refused. */
	struct kbuf plain = KBUF_INIT, stored = KBUF_INIT, back = KBUF_INIT;
	sample(&plain);
	seal_sample(NULL, "backups/b/log.jsonl.zst", &plain, &stored);
	stored.len /= 2;
	ck_assert_int_lt(unseal(NULL, "backups/b/log.jsonl.zst", &stored, 4096, &back), 0);
	kbuf_free(&plain);
	kbuf_free(&stored);
	kbuf_free(&back);
}
END_TEST

static json_t *doc_sample(void)
{
	return json_pack("{s:s, s:i, s:{s:i}, s:b}", "name", "r1", "n", 3, "counts", "items", 2,
			 "encrypted", 1);
}

START_TEST(test_doc_round_trip)
{
	json_t *d = doc_sample();
	seal_doc(d, key, KAHU_SUBKEY_RECORD, PATH);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(d, "mac"))), KAHU_HASH_HEX_LEN);
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), 0);

	/* stored with another layout (indented), parsed back: the same */
	char *text = json_dumps(d, JSON_INDENT(3));
	json_t *back = json_loads(text, 0, NULL);
	ck_assert_int_eq(seal_doc_verify(back, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), 0);
	json_decref(back);
	free(text);

	/* sealed again: the old MAC is replaced, not covered */
	seal_doc(d, key, KAHU_SUBKEY_RECORD, PATH);
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), 0);

	/* unbound (a manifest): another MAC than the bound one */
	json_t *m = doc_sample();
	seal_doc(m, key, KAHU_SUBKEY_MAC, NULL);
	ck_assert_int_eq(seal_doc_verify(m, key, KAHU_SUBKEY_MAC, NULL, "the manifest"), 0);
	ck_assert_str_ne(json_string_value(json_object_get(m, "mac")),
			 json_string_value(json_object_get(d, "mac")));
	json_decref(m);
	json_decref(d);
}
END_TEST

START_TEST(test_doc_tampered)
{
	json_t *d = doc_sample();
	seal_doc(d, key, KAHU_SUBKEY_RECORD, PATH);

	/* a member changed, added, removed */
	json_object_set_new(d, "n", json_integer(4));
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), KAHU_ECRYPTO);
	ck_assert_str_eq(kahu_error_last(), "the doc failed authentication: it was altered or forged");
	json_object_set_new(d, "n", json_integer(3));
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), 0);
	json_object_set_new(d, "extra", json_true());
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), KAHU_ECRYPTO);
	json_object_del(d, "extra");
	json_object_del(d, "encrypted");
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), KAHU_ECRYPTO);
	json_object_set_new(d, "encrypted", json_true());
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), 0);

	/* another place, subkey or key; the MAC itself altered or missing */
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, "restores/r2/restore.json",
					 "the doc"), KAHU_ECRYPTO);
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, NULL, "the doc"), KAHU_ECRYPTO);
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_MAC, PATH, "the doc"), KAHU_ECRYPTO);
	ck_assert_int_eq(seal_doc_verify(d, key2, KAHU_SUBKEY_RECORD, PATH, "the doc"), KAHU_ECRYPTO);
	char mac[KAHU_HASH_HEX_LEN + 1];
	snprintf(mac, sizeof mac, "%s", json_string_value(json_object_get(d, "mac")));
	mac[5] = mac[5] == '0' ? '1' : '0';
	json_object_set_new(d, "mac", json_string(mac));
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), KAHU_ECRYPTO);
	json_object_set_new(d, "mac", json_integer(1));
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), KAHU_ECRYPTO);
	json_object_del(d, "mac");
	ck_assert_int_eq(seal_doc_verify(d, key, KAHU_SUBKEY_RECORD, PATH, "the doc"), KAHU_ECRYPTO);
	json_decref(d);
}
END_TEST

/* ---- the sealed stream on a thread of its own ---- */

/* Bytes that do not compress (xorshift), so the output grows with the input. */
static void noise(struct kbuf *b, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		kbuf_addc(b, (char)(x >> 32));
	}
}

/* Written in uneven pieces, more than the queue holds. */
static int async_write_all(struct seal_async *a, const struct kbuf *plain)
{
	size_t pos = 0, step = 1;
	while (pos < plain->len) {
		size_t n = plain->len - pos < step ? plain->len - pos : step;
		int rc = seal_async_write(a, plain->data + pos, n);
		if (rc < 0)
			return rc;
		pos += n;
		step = step * 7 + 13;
		if (step > 3 * SA_BLOCK)
			step = 1;
	}
	return 0;
}

START_TEST(test_async_round_trip)
{
	struct kbuf plain = KBUF_INIT, sync = KBUF_INIT, stored = KBUF_INIT, back = KBUF_INIT;
	size_t total = (size_t)SA_BLOCKS * SA_BLOCK * 2 + 12345;
	while (plain.len < total / 2)
		sample(&plain);
	noise(&plain, total - plain.len);
	/* without a key: the same bytes as the stream written in the caller's thread */
	struct seal_writer w;
	ck_assert_int_eq(seal_open(&w, NULL, PATH, 3, collect, &sync), 0);
	ck_assert_int_eq(seal_write(&w, plain.data, plain.len), 0);
	ck_assert_int_eq(seal_finish(&w), 0);
	seal_close(&w);
	struct seal_async *a;
	ck_assert_int_eq(seal_async_open(&a, NULL, PATH, 3, collect, &stored), 0);
	ck_assert_int_eq(async_write_all(a, &plain), 0);
	ck_assert_int_eq(seal_async_finish(a), 0);
	seal_async_free(a);
	ck_assert_uint_eq(stored.len, sync.len);
	ck_assert(memcmp(stored.data, sync.data, sync.len) == 0);
	/* with a key: it reads back */
	kbuf_reset(&stored);
	ck_assert_int_eq(seal_async_open(&a, key, PATH, 3, collect, &stored), 0);
	ck_assert_int_eq(async_write_all(a, &plain), 0);
	ck_assert_int_eq(seal_async_finish(a), 0);
	seal_async_free(a);
	ck_assert_int_eq(unseal(key, PATH, &stored, 65536, &back), 0);
	ck_assert_uint_eq(back.len, plain.len);
	ck_assert(memcmp(back.data, plain.data, plain.len) == 0);
	/* nothing written: an empty stream, which reads back as empty */
	kbuf_reset(&stored);
	kbuf_reset(&back);
	ck_assert_int_eq(seal_async_open(&a, key, PATH, 3, collect, &stored), 0);
	ck_assert_int_eq(seal_async_finish(a), 0);
	seal_async_free(a);
	ck_assert_int_eq(unseal(key, PATH, &stored, 65536, &back), 0);
	ck_assert_uint_eq(back.len, 0);
	kbuf_free(&plain);
	kbuf_free(&sync);
	kbuf_free(&stored);
	kbuf_free(&back);
}
END_TEST

struct failing_sink {
	size_t got, limit;
};

static int failing_out(void *ud, const void *buf, size_t len)
{
	struct failing_sink *f = ud;
	(void)buf;
	if (f->got + len > f->limit)
		return kahu_error_set(KAHU_ENOSPC, "the test sink is full after %zu bytes", f->got);
	f->got += len;
	return 0;
}

/* The zstd frame inside a stored stream: its content checksum flag.  With a key the
 * envelope is opened first (the frame is what it holds). */
static int frame_checksum(const struct kahu_key *k, const struct kbuf *stored)
{
	struct kbuf z = KBUF_INIT;
	if (k) {
		struct kenc_reader *r;
		ck_assert_int_eq(kenc_reader_new(k, PATH, collect, &z, &r), 0);
		ck_assert_int_eq(kenc_reader_feed(r, stored->data, stored->len), 0);
		ck_assert_int_eq(kenc_reader_finish(r), 0);
		kenc_reader_free(r);
	} else {
		kbuf_add(&z, stored->data, stored->len);
	}
	/* RFC 8878: the magic number, then the frame header descriptor, whose bit 2 is
	 * Content_Checksum_flag */
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	ck_assert_uint_ge(z.len, 5);
	ck_assert(memcmp(z.data, magic, 4) == 0);
	int flag = ((unsigned char)z.data[4] >> 2) & 1;
	kbuf_free(&z);
	return flag;
}

/* With a key the envelope authenticates every byte, so the frame carries no zstd
 * checksum (XXH64 of the whole content, computed again by every reader); without one,
 * the checksum is what catches damage, and it stays.  Both writers alike. */
START_TEST(test_checksum_only_unsealed)
{
	struct kbuf plain = KBUF_INIT;
	sample(&plain);
	for (int keyed = 0; keyed < 2; keyed++) {
		const struct kahu_key *k = keyed ? key : NULL;
		struct kbuf s1 = KBUF_INIT, s2 = KBUF_INIT, back = KBUF_INIT;
		seal_sample(k, PATH, &plain, &s1);
		struct seal_async *a;
		ck_assert_int_eq(seal_async_open(&a, k, PATH, 3, collect, &s2), 0);
		ck_assert_int_eq(async_write_all(a, &plain), 0);
		ck_assert_int_eq(seal_async_finish(a), 0);
		seal_async_free(a);
		ck_assert_int_eq(frame_checksum(k, &s1), !keyed);
		ck_assert_int_eq(frame_checksum(k, &s2), !keyed);
		ck_assert_int_eq(unseal(k, PATH, &s2, 4096, &back), 0);
		ck_assert_uint_eq(back.len, plain.len);
		kbuf_free(&s1);
		kbuf_free(&s2);
		kbuf_free(&back);
	}
	kbuf_free(&plain);
}
END_TEST

START_TEST(test_async_sink_error)
{
	/* The output fails on the thread: its code and message reach the writer (a write
	 * or the finish), in the writer's thread; the thread is joined by free. */
	struct kbuf plain = KBUF_INIT;
	noise(&plain, (size_t)SA_BLOCKS * SA_BLOCK * 3);
	struct failing_sink f = { 0, 1 << 20 };
	struct seal_async *a;
	kahu_error_clear();
	ck_assert_int_eq(seal_async_open(&a, key, PATH, 3, failing_out, &f), 0);
	int rc = async_write_all(a, &plain);
	if (rc == 0)
		rc = seal_async_finish(a);
	ck_assert_int_eq(rc, KAHU_ENOSPC);
	ck_assert(strncmp(kahu_error_last(), "the test sink is full after ", 28) == 0);
	ck_assert_int_le(f.got, 1 << 20);
	/* and it stays failed */
	ck_assert_int_eq(seal_async_write(a, plain.data, 10), KAHU_ENOSPC);
	seal_async_free(a);
	/* an error in the last, partial block comes from the finish */
	f = (struct failing_sink){ 0, 0 };
	ck_assert_int_eq(seal_async_open(&a, NULL, PATH, 3, failing_out, &f), 0);
	ck_assert_int_eq(seal_async_write(a, plain.data, 1000), 0);
	ck_assert_int_eq(seal_async_finish(a), KAHU_ENOSPC);
	seal_async_free(a);
	kbuf_free(&plain);
}
END_TEST

START_TEST(test_async_cancel_and_abandon)
{
	struct kbuf plain = KBUF_INIT, stored = KBUF_INIT;
	noise(&plain, (size_t)SA_BLOCKS * SA_BLOCK * 3);
	struct seal_async *a;
	/* cancelled: the thread stops at its next block, and the writer hears of it */
	ck_assert_int_eq(seal_async_open(&a, key, PATH, 3, collect, &stored), 0);
	kahu_cancel(2);
	int rc = async_write_all(a, &plain);
	if (rc == 0)
		rc = seal_async_finish(a);
	kahu_cancel_reset();
	ck_assert_int_eq(rc, KAHU_EINTR);
	ck_assert_str_eq(kahu_error_last(), "interrupted");
	seal_async_free(a);
	/* abandoned with blocks queued, or before anything was written: free stops and
	 * joins the thread (no finish) */
	ck_assert_int_eq(seal_async_open(&a, key, PATH, 3, collect, &stored), 0);
	ck_assert_int_eq(seal_async_write(a, plain.data, (size_t)SA_BLOCKS * SA_BLOCK), 0);
	seal_async_free(a);
	ck_assert_int_eq(seal_async_open(&a, NULL, PATH, 3, collect, &stored), 0);
	seal_async_free(a);
	seal_async_free(NULL);
	kbuf_free(&plain);
	kbuf_free(&stored);
}
END_TEST

static Suite *seal_suite(void)
{
	Suite *s = suite_create("seal");
	TCase *tc = tcase_create("seal");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stream_round_trip);
	tcase_add_test(tc, test_stream_tampered);
	tcase_add_test(tc, test_stream_unsealed_damage);
	tcase_add_test(tc, test_doc_round_trip);
	tcase_add_test(tc, test_doc_tampered);
	tcase_add_test(tc, test_async_round_trip);
	tcase_add_test(tc, test_checksum_only_unsealed);
	tcase_add_test(tc, test_async_sink_error);
	tcase_add_test(tc, test_async_cancel_and_abandon);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(seal_suite)

/* Unit tests: the .kenc envelope (round trips, every failure mode of FORMAT.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check_main.h"
#include "archive/envelope.h"
#include "archive/key.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

#define PATH "backups/b1/metadata.tar.zst.kenc"
#define CT KENC_CHUNK_CIPHER
#define HS KENC_HEADER_SIZE

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

/* Deterministic pseudo-random numbers for split sizes. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

enum split { SPLIT_WHOLE, SPLIT_ONE, SPLIT_SMALL, SPLIT_LARGE, SPLIT_N };

static size_t next_piece(enum split how, size_t left)
{
	size_t n;
	switch (how) {
	case SPLIT_ONE: n = 1; break;
	case SPLIT_SMALL: n = 1 + rng() % 100; break;
	case SPLIT_LARGE: n = 1 + rng() % 200000; break;
	default: n = left; break;
	}
	return n < left ? n : left;
}

static uint8_t *random_data(size_t n)
{
	uint8_t *p = xmalloc(n);
	static const uint8_t seed[randombytes_SEEDBYTES] = { 42 };
	randombytes_buf_deterministic(p, n, seed);
	return p;
}

static void encrypt(const struct kahu_key *k, const char *path, const void *data, size_t len,
		    enum split how, struct kbuf *out)
{
	struct kenc_writer *w = NULL;
	const uint8_t *p = data;
	ck_assert_int_eq(kenc_writer_new(k, path, kahu_write_to_kbuf, out, &w), 0);
	for (size_t off = 0; off < len;) {
		size_t n = next_piece(how, len - off);
		ck_assert_int_eq(kenc_write(w, p + off, n), 0);
		off += n;
	}
	ck_assert_int_eq(kenc_writer_finish(w), 0);
	ck_assert_uint_eq(kenc_writer_bytes_in(w), len);
	ck_assert_uint_eq(kenc_writer_bytes_out(w), out->len);
	kenc_writer_free(w);
}

/* Feed `len` bytes to a reader split as `how`; returns the first error or 0. */
static int decrypt(const struct kahu_key *k, const char *path, const void *buf, size_t len,
		   enum split how, struct kbuf *out)
{
	struct kenc_reader *r = NULL;
	const uint8_t *p = buf;
	int rc;
	kahu_error_clear();
	ck_assert_int_eq(kenc_reader_new(k, path, kahu_write_to_kbuf, out, &r), 0);
	for (size_t off = 0; off < len;) {
		size_t n = next_piece(how, len - off);
		if ((rc = kenc_reader_feed(r, p + off, n)) < 0)
			goto out;
		off += n;
	}
	rc = kenc_reader_finish(r);
	if (rc == 0) {
		ck_assert_uint_eq(kenc_reader_bytes_in(r), len);
		ck_assert_uint_eq(kenc_reader_bytes_out(r), out->len);
	}
out:
	if (rc < 0) {
		/* errors are sticky */
		ck_assert_int_eq(kenc_reader_feed(r, "x", 1), rc);
		ck_assert_int_eq(kenc_reader_finish(r), rc);
	}
	kenc_reader_free(r);
	return rc;
}

/* Decrypt with several splits; all must give the same result code. */
static int decrypt_all_ways(const struct kahu_key *k, const char *path, const void *buf,
			    size_t len)
{
	struct kbuf out = KBUF_INIT;
	int rc = decrypt(k, path, buf, len, SPLIT_WHOLE, &out);
	char msg[2048];
	snprintf(msg, sizeof msg, "%s", kahu_error_last());
	for (int how = SPLIT_ONE; how < SPLIT_N; how++) {
		kbuf_reset(&out);
		ck_assert_int_eq(decrypt(k, path, buf, len, how, &out), rc);
		ck_assert_str_eq(kahu_error_last(), msg);
	}
	kbuf_free(&out);
	return rc;
}

static void assert_msg(const char *needle)
{
	if (!strstr(kahu_error_last(), needle))
		ck_abort_msg("message \"%s\" lacks \"%s\"", kahu_error_last(), needle);
}

/* ---- round trips --------------------------------------------------------------- */

static const size_t sizes[] = {
	0, 1, 100, 65535, 65536, 65537, 131071, 131072, 131073, 200000, 3 * 1048576 + 12345,
};

START_TEST(test_roundtrip)
{
	size_t n = sizes[_i];
	uint8_t *data = random_data(n);
	struct kbuf enc = KBUF_INIT, dec = KBUF_INIT;
	char hex[KAHU_KEY_ID_HEX_LEN + 1];

	encrypt(key, PATH, data, n, (enum split)(_i % SPLIT_N), &enc);
	ck_assert_uint_eq(enc.len, kenc_encrypted_size(n));
	/* header layout, FORMAT.md */
	const uint8_t *h = (const uint8_t *)enc.data;
	ck_assert_mem_eq(h, "KAHUENC1", 8);
	ck_assert_uint_eq(h[8], 0);
	ck_assert_uint_eq(h[9], 18);
	ck_assert_uint_eq(h[10], 1);
	ck_assert_uint_eq(h[11], 0);
	ck_assert_mem_eq(h + 12, key->id, 16);
	uint8_t id[16];
	ck_assert_int_eq(kenc_peek_key_id(h, HS, id), 0);
	ck_assert_str_eq(kahu_key_id_to_hex(id, hex), kahu_key_id_hex(key, hex));

	for (int how = SPLIT_WHOLE; how < SPLIT_N; how++) {
		kbuf_reset(&dec);
		ck_assert_int_eq(decrypt(key, PATH, enc.data, enc.len, how, &dec), 0);
		ck_assert_uint_eq(dec.len, n);
		if (n)
			ck_assert(memcmp(dec.data, data, n) == 0);
	}
	/* two encryptions of the same data differ (random stream header) */
	struct kbuf enc2 = KBUF_INIT;
	encrypt(key, PATH, data, n, SPLIT_WHOLE, &enc2);
	ck_assert_uint_eq(enc2.len, enc.len);
	ck_assert(memcmp(enc.data + 28, enc2.data + 28, 24) != 0);
	kbuf_free(&enc2);
	kbuf_free(&enc);
	kbuf_free(&dec);
	free(data);
}
END_TEST

START_TEST(test_fixture)
{
	/* An envelope written by an earlier build: the format must not drift. */
	uint8_t master[32];
	for (int i = 0; i < 32; i++)
		master[i] = (uint8_t)i;
	struct kahu_key *k = NULL;
	ck_assert_int_eq(kahu_key_from_bytes(master, &k), 0);
	char *path = xasprintf("%s/envelope/pattern-70000-v1.kenc", TEST_DATA_DIR);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	static uint8_t buf[80000];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	ck_assert_uint_eq(n, 70086);
	struct kbuf out = KBUF_INIT;
	ck_assert_int_eq(decrypt(k, "backups/fixture/metadata.tar.zst.kenc", buf, n, SPLIT_SMALL,
				 &out), 0);
	ck_assert_uint_eq(out.len, 70000);
	for (size_t i = 0; i < 70000; i++)
		ck_assert_uint_eq((uint8_t)out.data[i], (uint8_t)(i * 31 + 7));
	uint8_t id[16];
	ck_assert_int_eq(kenc_peek_key_id(buf, n, id), 0);
	ck_assert_mem_eq(id, k->id, 16);
	kbuf_free(&out);
	kahu_key_free(k);
	free(path);
}
END_TEST

/* ---- keys and paths ------------------------------------------------------------ */

START_TEST(test_wrong_key)
{
	struct kbuf enc = KBUF_INIT, dec = KBUF_INIT;
	char a[KAHU_KEY_ID_HEX_LEN + 1], b[KAHU_KEY_ID_HEX_LEN + 1];
	encrypt(key, PATH, "hello", 5, SPLIT_WHOLE, &enc);
	ck_assert_int_eq(decrypt_all_ways(key2, PATH, enc.data, enc.len), KAHU_ECRYPTO);
	char *want = xasprintf("%s: this object was written with key %s, the key in use is %s",
			       PATH, kahu_key_id_hex(key, a), kahu_key_id_hex(key2, b));
	ck_assert_str_eq(kahu_error_last(), want);
	ck_assert_int_eq(decrypt(key2, PATH, enc.data, enc.len, SPLIT_ONE, &dec), KAHU_ECRYPTO);
	ck_assert_uint_eq(dec.len, 0);
	free(want);
	kbuf_free(&enc);
	kbuf_free(&dec);
}
END_TEST

START_TEST(test_moved_object)
{
	struct kbuf enc = KBUF_INIT;
	uint8_t *data = random_data(100000);
	encrypt(key, "backups/b1/metadata.tar.zst.kenc", data, 100000, SPLIT_WHOLE, &enc);
	static const char *others[] = {
		"backups/b2/metadata.tar.zst.kenc",
		"backups/b1/log.jsonl.zst.kenc",
		"backups/b1/metadata.tar.zst.kenc ",
		"backups/b1/metadata.tar.zst.ken",
		"",
	};
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		ck_assert_int_eq(decrypt_all_ways(key, others[i], enc.data, enc.len), KAHU_ECRYPTO);
		assert_msg("chunk 0 (at offset 52) failed authentication (corrupt or tampered)");
		ck_assert(strncmp(kahu_error_last(), others[i], strlen(others[i])) == 0);
	}
	kbuf_free(&enc);
	free(data);
}
END_TEST

/* ---- the run id ---------------------------------------------------------------- */

static int decrypt_run(const uint8_t *run, const void *buf, size_t len, struct kbuf *out)
{
	struct kenc_reader *r = NULL;
	kahu_error_clear();
	ck_assert_int_eq(kenc_reader_new(key, PATH, kahu_write_to_kbuf, out, &r), 0);
	if (run)
		kenc_reader_expect_run(r, run);
	int rc = kenc_reader_feed(r, buf, len);
	if (rc == 0)
		rc = kenc_reader_finish(r);
	kenc_reader_free(r);
	return rc;
}

START_TEST(test_run_binding)
{
	uint8_t run[KENC_RUN_BYTES], other[KENC_RUN_BYTES], id[16];
	struct kbuf enc = KBUF_INIT, plain = KBUF_INIT, dec = KBUF_INIT;
	uint8_t *data = random_data(100000);
	memset(run, 0xa5, sizeof run);
	memcpy(other, run, sizeof other);
	other[15] ^= 1;
	struct kenc_writer *w = NULL;
	ck_assert_int_eq(kenc_writer_new_run(key, PATH, run, kahu_write_to_kbuf, &enc, &w), 0);
	ck_assert_int_eq(kenc_write(w, data, 100000), 0);
	ck_assert_int_eq(kenc_writer_finish(w), 0);
	kenc_writer_free(w);
	/* the header grows by the run id, flagged; the key id is where it was */
	ck_assert_uint_eq(enc.len, kenc_encrypted_size(100000) + KENC_RUN_BYTES);
	ck_assert_uint_eq((uint8_t)enc.data[KENC_PREFIX_LEN + 1], KENC_FLAG_RUN);
	ck_assert_mem_eq(enc.data + KENC_PREFIX_LEN + KENC_HEADER_LEN_V1, run, KENC_RUN_BYTES);
	ck_assert_int_eq(kenc_peek_key_id(enc.data, enc.len, id), 0);
	ck_assert_mem_eq(id, key->id, 16);
	/* read with its run, and by a reader not told one (every split) */
	ck_assert_int_eq(decrypt_run(run, enc.data, enc.len, &dec), 0);
	ck_assert_uint_eq(dec.len, 100000);
	ck_assert_mem_eq(dec.data, data, 100000);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), 0);
	/* another run's object at the same path */
	kbuf_reset(&dec);
	ck_assert_int_eq(decrypt_run(other, enc.data, enc.len, &dec), KAHU_ECRYPTO);
	assert_msg(PATH " was written by another run of its backup (replaced)");
	ck_assert_uint_eq(dec.len, 0);
	/* an object without a run id where one is expected */
	encrypt(key, PATH, data, 1000, SPLIT_WHOLE, &plain);
	ck_assert_int_eq(decrypt_run(run, plain.data, plain.len, &dec), KAHU_ECRYPTO);
	assert_msg(PATH " is not bound to the run of its backup");
	/* the run id is authenticated: edited, it fails whoever reads it */
	enc.data[KENC_PREFIX_LEN + KENC_HEADER_LEN_V1 + 15] ^= 1;
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), KAHU_ECRYPTO);
	assert_msg("chunk 0 (at offset 68) failed authentication");
	ck_assert_int_eq(decrypt_run(other, enc.data, enc.len, &dec), KAHU_ECRYPTO);
	assert_msg("chunk 0 (at offset 68) failed authentication");
	/* the flag cleared (the header length kept): the stream header is misplaced */
	enc.data[KENC_PREFIX_LEN + KENC_HEADER_LEN_V1 + 15] ^= 1;
	enc.data[KENC_PREFIX_LEN + 1] = 0;
	ck_assert_int_ne(decrypt_all_ways(key, PATH, enc.data, enc.len), 0);
	kbuf_free(&enc);
	kbuf_free(&plain);
	kbuf_free(&dec);
	free(data);
}
END_TEST

/* ---- corruption ---------------------------------------------------------------- */

START_TEST(test_flip_header)
{
	struct kbuf enc = KBUF_INIT;
	char msg[64];
	encrypt(key, PATH, "some plaintext", 14, SPLIT_WHOLE, &enc);
	for (size_t i = 0; i < HS; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			uint8_t *b = (uint8_t *)enc.data + i;
			*b ^= (uint8_t)(1u << bit);
			int rc = decrypt_all_ways(key, PATH, enc.data, enc.len);
			if (i < 8) {
				ck_assert_int_eq(rc, KAHU_EDATA);
				if (i == 7 && bit == 0)
					assert_msg("unsupported kahu envelope version 0");
				else
					assert_msg("not a kahu envelope");
			} else if (i < 10) {
				/* header_len: 18 -> out of range, or in range with the stream
				 * header misplaced (then authentication or length fails) */
				ck_assert_int_ne(rc, 0);
			} else if (i == 10) {
				ck_assert_int_eq(rc, KAHU_EDATA);
				assert_msg("unsupported encryption algorithm");
			} else if (i == 11) {
				/* bit 0 is the run flag, which needs a longer header */
				ck_assert_int_eq(rc, KAHU_EDATA);
				assert_msg(bit == 0 ? "a run id is flagged, but the header length is 18"
						    : "unsupported envelope flags");
			} else if (i < 28) {
				ck_assert_int_eq(rc, KAHU_ECRYPTO);
				assert_msg("this object was written with key");
			} else {
				ck_assert_int_eq(rc, KAHU_ECRYPTO);
				assert_msg("chunk 0 (at offset 52) failed authentication");
			}
			*b ^= (uint8_t)(1u << bit);
		}
	}
	snprintf(msg, sizeof msg, "%s", "sanity");
	struct kbuf dec = KBUF_INIT;
	ck_assert_int_eq(decrypt(key, PATH, enc.data, enc.len, SPLIT_WHOLE, &dec), 0);
	kbuf_free(&dec);
	kbuf_free(&enc);
}
END_TEST

START_TEST(test_flip_chunks)
{
	/* 200000 bytes: chunks 0..2 full, chunk 3 (3392 bytes + 17) final */
	uint8_t *data = random_data(200000);
	struct kbuf enc = KBUF_INIT;
	encrypt(key, PATH, data, 200000, SPLIT_LARGE, &enc);
	ck_assert_uint_eq(enc.len, HS + 3 * CT + 3392 + 17);
	for (size_t c = 0; c < 4; c++) {
		size_t start = HS + c * CT;
		size_t clen = c < 3 ? CT : 3392 + 17;
		size_t where[] = { start, start + clen / 2, start + clen - 17, start + clen - 1 };
		for (size_t j = 0; j < 4; j++) {
			enc.data[where[j]] ^= 0x20;
			struct kbuf dec = KBUF_INIT;
			int rc = decrypt(key, PATH, enc.data, enc.len, (enum split)(j % SPLIT_N), &dec);
			ck_assert_int_eq(rc, KAHU_ECRYPTO);
			char *want = xasprintf("%s: chunk %zu (at offset %zu) failed authentication "
					       "(corrupt or tampered", PATH, c, start);
			assert_msg(want);
			free(want);
			/* nothing from the bad chunk on was passed on */
			ck_assert_uint_eq(dec.len, c * KENC_CHUNK_PLAIN);
			kbuf_free(&dec);
			enc.data[where[j]] ^= 0x20;
		}
	}
	kbuf_free(&enc);
	free(data);
}
END_TEST

START_TEST(test_swapped_chunks)
{
	uint8_t *data = random_data(270000); /* chunks 0..3 full, 4 final */
	struct kbuf enc = KBUF_INIT;
	uint8_t *tmp = xmalloc(CT);
	encrypt(key, PATH, data, 270000, SPLIT_WHOLE, &enc);
	size_t pairs[][2] = { { 0, 1 }, { 1, 2 }, { 2, 3 }, { 0, 3 } };
	for (size_t i = 0; i < 4; i++) {
		char *a = enc.data + HS + pairs[i][0] * CT, *b = enc.data + HS + pairs[i][1] * CT;
		memcpy(tmp, a, CT);
		memcpy(a, b, CT);
		memcpy(b, tmp, CT);
		ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), KAHU_ECRYPTO);
		char *want = xasprintf("chunk %zu (at offset", pairs[i][0]);
		assert_msg(want);
		free(want);
		memcpy(b, a, CT);
		memcpy(a, tmp, CT);
	}
	/* a chunk replayed in place of the next one */
	struct kbuf dup = KBUF_INIT;
	kbuf_add(&dup, enc.data, HS + 2 * CT);
	kbuf_add(&dup, enc.data + HS + CT, CT);
	kbuf_add(&dup, enc.data + HS + 3 * CT, enc.len - HS - 3 * CT);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, dup.data, dup.len), KAHU_ECRYPTO);
	assert_msg("chunk 2 (at offset");
	/* a chunk dropped from the middle */
	kbuf_reset(&dup);
	kbuf_add(&dup, enc.data, HS + CT);
	kbuf_add(&dup, enc.data + HS + 2 * CT, enc.len - HS - 2 * CT);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, dup.data, dup.len), KAHU_ECRYPTO);
	assert_msg("chunk 1 (at offset");
	/* a chunk from another object with the same key */
	struct kbuf other = KBUF_INIT;
	encrypt(key, PATH, data, 270000, SPLIT_WHOLE, &other);
	memcpy(enc.data + HS + CT, other.data + HS + CT, CT);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), KAHU_ECRYPTO);
	assert_msg("chunk 1 (at offset");
	kbuf_free(&other);
	kbuf_free(&dup);
	kbuf_free(&enc);
	free(tmp);
	free(data);
}
END_TEST

/* ---- truncation and trailing data ---------------------------------------------- */

START_TEST(test_truncated_small)
{
	/* every prefix of a one-chunk envelope is refused */
	struct kbuf enc = KBUF_INIT;
	encrypt(key, PATH, "0123456789", 10, SPLIT_WHOLE, &enc);
	ck_assert_uint_eq(enc.len, HS + 10 + 17);
	for (size_t n = 0; n < enc.len; n++) {
		int rc = decrypt_all_ways(key, PATH, enc.data, n);
		if (n == 0) {
			ck_assert_int_eq(rc, KAHU_EDATA);
			assert_msg(PATH ": empty object, not a kahu envelope");
		} else if (n < HS) {
			ck_assert_int_eq(rc, KAHU_EDATA);
			assert_msg("truncated inside the envelope header");
		} else if (n == HS) {
			ck_assert_int_eq(rc, KAHU_EDATA);
			assert_msg("truncated: the data ends after the envelope header");
		} else if (n < HS + 17) {
			ck_assert_int_eq(rc, KAHU_EDATA);
			assert_msg("truncated");
		} else {
			ck_assert_int_eq(rc, KAHU_ECRYPTO);
			assert_msg("chunk 0 (at offset 52) failed authentication (corrupt or "
				   "tampered, or truncated)");
		}
	}
	kbuf_free(&enc);
}
END_TEST

START_TEST(test_truncated_large)
{
	uint8_t *data = random_data(200000);
	struct kbuf enc = KBUF_INIT, dec = KBUF_INIT;
	encrypt(key, PATH, data, 200000, SPLIT_WHOLE, &enc);
	/* at chunk boundaries: the final chunk is missing */
	for (size_t c = 1; c <= 3; c++) {
		kbuf_reset(&dec);
		ck_assert_int_eq(decrypt(key, PATH, enc.data, HS + c * CT, SPLIT_LARGE, &dec),
				 KAHU_EDATA);
		char *want = xasprintf("%s: truncated: the data ends after chunk %zu, before the "
				       "final chunk", PATH, c - 1);
		ck_assert_str_eq(kahu_error_last(), want);
		free(want);
	}
	/* inside a full chunk, inside the final one, one byte short */
	size_t cuts[] = { HS + 1, HS + 100, HS + CT - 1, HS + CT + 17, HS + 2 * CT + 5000,
			  HS + 3 * CT + 16, HS + 3 * CT + 17, HS + 3 * CT + 1000, enc.len - 1 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		kbuf_reset(&dec);
		int rc = decrypt(key, PATH, enc.data, cuts[i], (enum split)(i % SPLIT_N), &dec);
		ck_assert_int_ne(rc, 0);
		assert_msg("truncated");
	}
	/* an exact multiple of 64 KiB ends with an empty FINAL chunk; dropping it is caught */
	kbuf_reset(&enc);
	encrypt(key, PATH, data, 131072, SPLIT_WHOLE, &enc);
	ck_assert_uint_eq(enc.len, HS + 2 * CT + 17);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len - 17), KAHU_EDATA);
	assert_msg("truncated: the data ends after chunk 1");
	kbuf_free(&enc);
	kbuf_free(&dec);
	free(data);
}
END_TEST

START_TEST(test_trailing_data)
{
	uint8_t *data = random_data(140000);
	size_t sz[] = { 0, 10, 65536, 140000 };
	for (size_t i = 0; i < 4; i++) {
		struct kbuf enc = KBUF_INIT;
		encrypt(key, PATH, data, sz[i], SPLIT_WHOLE, &enc);
		size_t len = enc.len;
		/* one byte, a tag's worth, a copy of the last chunk, a whole chunk */
		size_t extra[] = { 1, 17, enc.len - HS - (sz[i] / KENC_CHUNK_PLAIN) * CT, CT };
		for (size_t j = 0; j < 4; j++) {
			enc.len = len;
			for (size_t e = 0; e < extra[j]; e++)
				kbuf_addc(&enc, (char)(e * 13));
			ck_assert_int_ne(decrypt_all_ways(key, PATH, enc.data, enc.len), 0);
		}
		kbuf_free(&enc);
	}
	free(data);
}
END_TEST

/* Build an envelope by hand (as a key holder could): header_len hl (extra bytes zero),
 * chunks of the given plaintext sizes and tags. */
static void craft(const struct kahu_key *k, const char *path, size_t hl, const size_t *lens,
		  const uint8_t *tags, size_t n, struct kbuf *out)
{
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t sub[32], h[512] = { 0 };
	uint8_t *plain = random_data(KENC_CHUNK_PLAIN), *cipher = xmalloc(CT);
	memcpy(h, "KAHUENC1", 8);
	h[8] = (uint8_t)(hl >> 8);
	h[9] = (uint8_t)hl;
	h[10] = 1;
	memcpy(h + 12, k->id, 16);
	kahu_key_subkey(k, KAHU_SUBKEY_ENC, sub);
	size_t hsize = 10 + hl + 24;
	crypto_secretstream_xchacha20poly1305_init_push(&st, h + 10 + hl, sub);
	kbuf_add(out, h, hsize);
	struct kbuf ad = KBUF_INIT;
	kbuf_add(&ad, h, hsize);
	kbuf_adds(&ad, path);
	for (size_t i = 0; i < n; i++) {
		unsigned long long clen;
		crypto_secretstream_xchacha20poly1305_push(&st, cipher, &clen, plain, lens[i],
							   i ? NULL : (uint8_t *)ad.data,
							   i ? 0 : ad.len, tags[i]);
		kbuf_add(out, cipher, clen);
	}
	kbuf_free(&ad);
	free(plain);
	free(cipher);
}

START_TEST(test_crafted)
{
	const uint8_t M = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
	const uint8_t F = crypto_secretstream_xchacha20poly1305_TAG_FINAL;
	const uint8_t P = crypto_secretstream_xchacha20poly1305_TAG_PUSH;
	struct kbuf enc = KBUF_INIT, dec = KBUF_INIT;

	/* a full-size FINAL chunk is accepted; data after it is refused as such */
	size_t l1[] = { KENC_CHUNK_PLAIN };
	uint8_t t1[] = { F };
	craft(key, PATH, 18, l1, t1, 1, &enc);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), 0);
	kbuf_addc(&enc, 'x');
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), PATH ": data after the final chunk");

	/* FINAL then another valid-looking chunk */
	kbuf_reset(&enc);
	size_t l2[] = { KENC_CHUNK_PLAIN, 10 };
	uint8_t t2[] = { F, F };
	craft(key, PATH, 18, l2, t2, 2, &enc);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), KAHU_EDATA);
	assert_msg("data after the final chunk");

	/* a short last chunk not tagged FINAL: truncated */
	kbuf_reset(&enc);
	size_t l3[] = { KENC_CHUNK_PLAIN, 10 };
	uint8_t t3[] = { M, M };
	craft(key, PATH, 18, l3, t3, 2, &enc);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), KAHU_EDATA);
	assert_msg("truncated: the data ends in chunk 1");

	/* tags kahu never writes */
	kbuf_reset(&enc);
	uint8_t t4[] = { P, F };
	craft(key, PATH, 18, l3, t4, 2, &enc);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), KAHU_EDATA);
	assert_msg("unexpected tag");

	/* longer header (reserved bytes): accepted, and authenticated */
	kbuf_reset(&enc);
	size_t l5[] = { 70000 - KENC_CHUNK_PLAIN };
	uint8_t t5[] = { F };
	craft(key, PATH, 40, l5, t5, 1, &enc);
	ck_assert_int_eq(decrypt(key, PATH, enc.data, enc.len, SPLIT_ONE, &dec), 0);
	ck_assert_uint_eq(dec.len, 70000 - KENC_CHUNK_PLAIN);
	enc.data[35] ^= 1; /* a reserved byte */
	ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), KAHU_ECRYPTO);
	assert_msg("chunk 0 (at offset 74) failed authentication");

	/* hostile header lengths: refused before anything is buffered */
	kbuf_reset(&enc);
	craft(key, PATH, 18, l5, t5, 1, &enc);
	static const uint16_t bad_hl[] = { 0, 17, 257, 0x7fff, 0xffff };
	for (size_t i = 0; i < sizeof bad_hl / sizeof bad_hl[0]; i++) {
		enc.data[8] = (char)(bad_hl[i] >> 8);
		enc.data[9] = (char)(bad_hl[i] & 0xff);
		ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, enc.len), KAHU_EDATA);
		char *want = xasprintf("header length %u, expected 18..256", bad_hl[i]);
		assert_msg(want);
		free(want);
		ck_assert_int_eq(decrypt_all_ways(key, PATH, enc.data, 10), KAHU_EDATA);
		uint8_t id[16];
		ck_assert_int_eq(kenc_peek_key_id(enc.data, enc.len, id), KAHU_EDATA);
	}
	kbuf_free(&enc);
	kbuf_free(&dec);
}
END_TEST

/* ---- not an envelope ----------------------------------------------------------- */

START_TEST(test_not_kahu)
{
	const char *texts[] = {
		"hello, world, this is not an envelope at all, just some text.......",
		"KAHUENC",
		"\x28\xb5\x2f\xfd plain zstd frame, not encrypted",
		"KAHUENC2\x00\x12\x01\x00................",
		"kahuenc1",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		ck_assert_int_eq(decrypt_all_ways(key, PATH, texts[i], strlen(texts[i])),
				 KAHU_EDATA);
	ck_assert_int_eq(decrypt_all_ways(key, PATH, texts[0], strlen(texts[0])), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), PATH ": not a kahu envelope (bad magic)");
	ck_assert_int_eq(decrypt_all_ways(key, PATH, texts[3], strlen(texts[3])), KAHU_EDATA);
	assert_msg("unsupported kahu envelope version 2");

	/* garbage is refused at the first wrong byte, not at the end */
	struct kenc_reader *r = NULL;
	struct kbuf out = KBUF_INIT;
	ck_assert_int_eq(kenc_reader_new(key, PATH, kahu_write_to_kbuf, &out, &r), 0);
	ck_assert_int_eq(kenc_reader_feed(r, "K", 1), 0);
	ck_assert_int_eq(kenc_reader_feed(r, "X", 1), KAHU_EDATA);
	kenc_reader_free(r);

	ck_assert_int_eq(decrypt_all_ways(key, PATH, "", 0), KAHU_EDATA);
	assert_msg("empty object");

	uint8_t id[16];
	ck_assert_int_eq(kenc_peek_key_id(texts[0], strlen(texts[0]), id), KAHU_EDATA);
	ck_assert_int_eq(kenc_peek_key_id("KAHUENC1\x00\x12\x01", 11, id), KAHU_EDATA);
	assert_msg("too short");
	kbuf_free(&out);
}
END_TEST

/* ---- callbacks and state ------------------------------------------------------- */

static int calls_left;
static int failing_sink(void *ud, const void *buf, size_t len)
{
	(void)ud; (void)buf; (void)len;
	if (calls_left-- > 0)
		return 0;
	return kahu_error_set(KAHU_ENOSPC, "disk full");
}

START_TEST(test_callback_errors)
{
	uint8_t *data = random_data(200000);
	struct kenc_writer *w = NULL;
	/* header and first chunk pass, the second chunk fails */
	calls_left = 2;
	ck_assert_int_eq(kenc_writer_new(key, PATH, failing_sink, NULL, &w), 0);
	ck_assert_int_eq(kenc_write(w, data, 200000), KAHU_ENOSPC);
	ck_assert_str_eq(kahu_error_last(), "disk full");
	ck_assert_int_eq(kenc_write(w, data, 1), KAHU_ENOSPC);
	ck_assert_int_eq(kenc_writer_finish(w), KAHU_ENOSPC);
	kenc_writer_free(w);

	/* write after finish is a bug, reported */
	struct kbuf enc = KBUF_INIT;
	ck_assert_int_eq(kenc_writer_new(key, PATH, kahu_write_to_kbuf, &enc, &w), 0);
	ck_assert_int_eq(kenc_write_cb(w, data, 1000), 0);
	ck_assert_int_eq(kenc_writer_finish(w), 0);
	ck_assert_int_eq(kenc_write(w, data, 1), KAHU_EINTERNAL);
	kenc_writer_free(w);

	/* the reader passes its consumer's error on */
	struct kenc_reader *r = NULL;
	calls_left = 0;
	ck_assert_int_eq(kenc_reader_new(key, PATH, failing_sink, NULL, &r), 0);
	ck_assert_int_eq(kenc_reader_feed_cb(r, enc.data, enc.len), 0);
	ck_assert_int_eq(kenc_reader_finish(r), KAHU_ENOSPC);
	ck_assert_int_eq(kenc_reader_finish(r), KAHU_ENOSPC);
	kenc_reader_free(r);
	kenc_writer_free(NULL);
	kenc_reader_free(NULL);
	kbuf_free(&enc);
	free(data);
}
END_TEST

static Suite *envelope_suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *tc = tcase_create("roundtrip");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_roundtrip, 0, (int)(sizeof sizes / sizeof sizes[0]));
	tcase_add_test(tc, test_fixture);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_moved_object);
	tcase_add_test(tc, test_run_binding);
	tcase_add_test(tc, test_flip_header);
	tcase_add_test(tc, test_flip_chunks);
	tcase_add_test(tc, test_swapped_chunks);
	tcase_add_test(tc, test_truncated_small);
	tcase_add_test(tc, test_truncated_large);
	tcase_add_test(tc, test_trailing_data);
	tcase_add_test(tc, test_crafted);
	tcase_add_test(tc, test_not_kahu);
	tcase_add_test(tc, test_callback_errors);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(envelope_suite)

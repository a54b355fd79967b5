/* Unit tests: bundles (tar -> zstd -> envelope), reading, failure modes, extraction,
 * bounded memory. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include "check_main.h"
#include "archive/bundle.h"
#include "archive/manifest.h"
#include "archive/envelope.h"
#include "archive/key.h"
#include "archive/zstream.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

#define OBJ "backups/b1/metadata.tar.zst.kenc"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* ---- helpers ---------------------------------------------------------------------- */

static struct kahu_key *test_key(uint8_t seed)
{
	uint8_t m[KAHU_KEY_BYTES];
	struct kahu_key *k = NULL;
	for (size_t i = 0; i < sizeof m; i++)
		m[i] = (uint8_t)(seed + i * 7);
	ck_assert_int_eq(kahu_key_from_bytes(m, &k), 0);
	return k;
}

/* Deterministic, incompressible bytes. */
static uint64_t prng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void prng_fill(uint64_t *s, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(prng_next(s) >> 24);
}

struct msrc {
	const uint8_t *data;
	size_t len, pos, piece;
};

static int msrc_read(void *ud, void *buf, size_t cap, size_t *got)
{
	struct msrc *m = ud;
	size_t n = m->len - m->pos;
	if (n > cap)
		n = cap;
	if (n > m->piece)
		n = m->piece;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	*got = n;
	return 0;
}

static int failing_sink(void *ud, const void *buf, size_t len)
{
	(void)ud, (void)buf, (void)len;
	return kahu_error_set(KAHU_ENOSPC, "disk full (test)");
}

static char *member_name(size_t i)
{
	return xasprintf("resources/configmaps/namespaces/ns%zu/cm-%zu.json", i % 7, i);
}

static char *member_body(size_t i)
{
	return xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"i\":%zu}", i);
}

/* A bundle of n small members, plus (big > 0) one member of `big` random bytes. */
static void make_bundle(const struct kahu_key *key, size_t n, size_t big, struct kbuf *out,
			struct bundle_stats *st)
{
	struct bundle_writer *w = NULL;
	ck_assert_int_eq(bundle_writer_new(key, OBJ, 0, 0, kahu_write_to_kbuf, out, &w), 0);
	for (size_t i = 0; i < n; i++) {
		char *name = member_name(i), *body = member_body(i);
		ck_assert_int_eq(bundle_add(w, name, body, strlen(body), 1700000000 + (time_t)i), 0);
		free(name);
		free(body);
	}
	if (big) {
		uint64_t s = 42;
		uint8_t buf[10007];
		ck_assert_int_eq(bundle_add_stream_begin(w, "volumes/data.bin", big, 0640,
							 1700000000), 0);
		for (size_t done = 0; done < big; ) {
			size_t k = big - done < sizeof buf ? big - done : sizeof buf;
			prng_fill(&s, buf, k);
			ck_assert_int_eq(bundle_add_stream_data(w, buf, k), 0);
			done += k;
		}
		ck_assert_int_eq(bundle_add_stream_end(w), 0);
	}
	ck_assert_int_eq(bundle_finish(w, st), 0);
	bundle_writer_free(w);
}

/* Read everything back and compare; piece = source read size. */
static void check_bundle(const struct kahu_key *key, const struct kbuf *b, size_t n, size_t big,
			 size_t piece)
{
	struct msrc src = { (const uint8_t *)b->data, b->len, 0, piece };
	struct bundle_reader *r = NULL;
	struct bundle_entry e;
	ck_assert_int_eq(bundle_reader_new(key, OBJ, msrc_read, &src, &r), 0);
	for (size_t i = 0; i < n; i++) {
		char *name = member_name(i), *body = member_body(i);
		struct kbuf data = KBUF_INIT;
		ck_assert_int_eq(bundle_next(r, &e), 1);
		ck_assert_str_eq(e.name, name);
		ck_assert_int_eq(e.type, BUNDLE_FILE);
		ck_assert_uint_eq(e.size, strlen(body));
		ck_assert_int_eq(e.mode, 0644);
		ck_assert_int_eq((long)e.mtime, 1700000000L + (long)i);
		ck_assert_int_eq(bundle_read_all(r, &data, 1 << 20), 0);
		ck_assert_uint_eq(data.len, strlen(body));
		ck_assert_mem_eq(data.data, body, data.len);
		kbuf_free(&data);
		free(name);
		free(body);
	}
	if (big) {
		uint64_t s = 42;
		uint8_t buf[7001], want[7001];
		size_t got, total = 0;
		ck_assert_int_eq(bundle_next(r, &e), 1);
		ck_assert_str_eq(e.name, "volumes/data.bin");
		ck_assert_uint_eq(e.size, big);
		ck_assert_int_eq(e.mode, 0640);
		for (;;) {
			ck_assert_int_eq(bundle_read_data(r, buf, sizeof buf, &got), 0);
			if (!got)
				break;
			prng_fill(&s, want, got);
			ck_assert(memcmp(buf, want, got) == 0);
			total += got;
		}
		ck_assert_uint_eq(total, big);
	}
	ck_assert_int_eq(bundle_next(r, &e), 0);
	ck_assert_int_eq(bundle_next(r, &e), 0);
	ck_assert_msg(bundle_reader_finish(r) == 0, "finish: %s", kahu_error_last());
	ck_assert_int_eq(bundle_reader_finish(r), 0);
	ck_assert_uint_eq(bundle_reader_stored_bytes(r), b->len);
	ck_assert_uint_eq(src.pos, b->len);
	bundle_reader_free(r);
}

/* Read the whole bundle through next/read_all/finish; returns the first error code (0
 * when it all went through) and leaves its message in kahu_error_last(). */
static int read_through(const struct kahu_key *key, const char *path, const void *data,
			size_t len, size_t piece)
{
	struct msrc src = { data, len, 0, piece };
	struct bundle_reader *r = NULL;
	struct bundle_entry e;
	int rc = bundle_reader_new(key, path, msrc_read, &src, &r);
	if (rc < 0)
		return rc;
	while ((rc = bundle_next(r, &e)) > 0) {
		struct kbuf d = KBUF_INIT;
		rc = bundle_read_all(r, &d, 64 << 20);
		kbuf_free(&d);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = bundle_reader_finish(r);
	else
		ck_assert_int_eq(bundle_reader_finish(r), rc); /* sticky */
	bundle_reader_free(r);
	return rc;
}

/* ---- round trips ------------------------------------------------------------------ */

static const size_t pieces[] = { 1, 7, 4096, 65537 };

START_TEST(test_roundtrip_counts)
{
	static const size_t counts[] = { 0, 1, 1000 };
	for (int enc = 0; enc < 2; enc++) {
		struct kahu_key *key = enc ? test_key(1) : NULL;
		for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
			struct kbuf b = KBUF_INIT;
			struct bundle_stats st;
			make_bundle(key, counts[c], 0, &b, &st);
			ck_assert_uint_eq(st.entries, counts[c]);
			ck_assert_uint_eq(st.stored_bytes, b.len);
			ck_assert_uint_eq(st.compressed_bytes,
					  enc ? b.len - (kenc_encrypted_size(st.compressed_bytes) -
							 st.compressed_bytes)
					      : b.len);
			if (enc)
				ck_assert_uint_eq(kenc_encrypted_size(st.compressed_bytes), b.len);
			char h[KAHU_HASH_HEX_LEN + 1];
			ck_assert_str_eq(st.blake2b, kahu_key_hash(b.data, b.len, h));
			ck_assert(st.plain_bytes >= 1024); /* at least the end marker */
			ck_assert_uint_eq(st.plain_bytes % 512, 0);
			for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++)
				check_bundle(key, &b, counts[c], 0, pieces[p]);
			kbuf_free(&b);
		}
		kahu_key_free(key);
	}
}
END_TEST

START_TEST(test_roundtrip_big_member)
{
	for (int enc = 0; enc < 2; enc++) {
		struct kahu_key *key = enc ? test_key(2) : NULL;
		struct kbuf b = KBUF_INIT;
		struct bundle_stats st;
		make_bundle(key, 3, 5 << 20, &b, &st);
		ck_assert_uint_eq(st.entries, 4);
		ck_assert(st.plain_bytes > 5 << 20);
		for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++)
			check_bundle(key, &b, 3, 5 << 20, pieces[p]);
		kbuf_free(&b);
		kahu_key_free(key);
	}
}
END_TEST

START_TEST(test_roundtrip_workers_and_levels)
{
	struct kahu_key *key = test_key(3);
	static const int levels[][2] = { { 1, 0 }, { 19, 0 }, { 3, 2 }, { -5, 0 } };
	for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
		struct kbuf b = KBUF_INIT;
		struct bundle_writer *w = NULL;
		ck_assert_int_eq(bundle_writer_new(key, OBJ, levels[i][0], levels[i][1],
						   kahu_write_to_kbuf, &b, &w), 0);
		for (size_t j = 0; j < 50; j++) {
			char *name = member_name(j), *body = member_body(j);
			ck_assert_int_eq(bundle_add(w, name, body, strlen(body), 1700000000 + (time_t)j), 0);
			free(name);
			free(body);
		}
		ck_assert_int_eq(bundle_finish(w, NULL), 0);
		bundle_writer_free(w);
		check_bundle(key, &b, 50, 0, 4096);
		kbuf_free(&b);
	}
	kahu_key_free(key);
}
END_TEST

START_TEST(test_long_and_utf8_names)
{
	char obj[254];
	memset(obj, 'a', 253);
	obj[253] = '\0';
	char *names[] = {
		xasprintf("resources/configmaps/namespaces/%.63s/%s.json", obj, obj),
		xasprintf("resources/verylongresourcename%s.example.com/cluster/%s.json", obj, obj),
		xstrdup("resources/clusterroles.rbac.authorization.k8s.io/cluster/"
			"system:controller:foo.json"),
		xstrdup("resources/configmaps/namespaces/\xc3\xa9t\xc3\xa9/"
			"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e-\xf0\x9f\x98\x80.json"),
		xstrdup("kahu/index.jsonl"),
	};
	size_t n = sizeof names / sizeof *names;
	/* The same whatever the locale (kahu's main may set one from the environment). */
	for (int enc = 0; enc < 4; enc++) {
		struct kahu_key *key = enc & 1 ? test_key(4) : NULL;
		if (!setlocale(LC_ALL, enc & 2 ? "C.UTF-8" : "C"))
			continue;
		struct kbuf b = KBUF_INIT;
		struct bundle_writer *w = NULL;
		ck_assert_int_eq(bundle_writer_new(key, OBJ, 0, 0, kahu_write_to_kbuf, &b, &w), 0);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(bundle_add(w, names[i], names[i], strlen(names[i]), 1) == 0,
				      "%s", kahu_error_last());
		ck_assert_int_eq(bundle_finish(w, NULL), 0);
		bundle_writer_free(w);

		struct msrc src = { (const uint8_t *)b.data, b.len, 0, 7 };
		struct bundle_reader *r = NULL;
		struct bundle_entry e;
		ck_assert_int_eq(bundle_reader_new(key, OBJ, msrc_read, &src, &r), 0);
		for (size_t i = 0; i < n; i++) {
			struct kbuf d = KBUF_INIT;
			ck_assert_int_eq(bundle_next(r, &e), 1);
			ck_assert_str_eq(e.name, names[i]);
			ck_assert_int_eq(bundle_read_all(r, &d, 4096), 0);
			ck_assert_str_eq(kbuf_str(&d), names[i]);
			kbuf_free(&d);
		}
		ck_assert_int_eq(bundle_next(r, &e), 0);
		ck_assert_int_eq(bundle_reader_finish(r), 0);
		bundle_reader_free(r);
		kbuf_free(&b);
		kahu_key_free(key);
	}
	setlocale(LC_ALL, "C");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
}
END_TEST

struct raw_entry {
	const char *name;
	int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, or 0 = hardlink */
	const char *data_or_target;
};

static void make_raw_bundle(const struct kahu_key *key, const struct raw_entry *ents, size_t n,
			    struct kbuf *out);

/* Another writer's pax tar with names in UTF-8 (no hdrcharset=BINARY) reads the same,
 * also in the C locale. */
START_TEST(test_foreign_utf8_pax_names)
{
	const char *name = "resources/configmaps/namespaces/\xc3\xa9t\xc3\xa9/x.json";
	const struct raw_entry ents[] = { { name, AE_IFREG, "{}" } };
	struct kbuf b = KBUF_INIT;
	if (!setlocale(LC_ALL, "C.UTF-8"))
		return;
	make_raw_bundle(NULL, ents, 1, &b);
	setlocale(LC_ALL, "C");
	struct msrc src = { (const uint8_t *)b.data, b.len, 0, 4096 };
	struct bundle_reader *r = NULL;
	struct bundle_entry e;
	ck_assert_int_eq(bundle_reader_new(NULL, OBJ, msrc_read, &src, &r), 0);
	ck_assert_int_eq(bundle_next(r, &e), 1);
	ck_assert_str_eq(e.name, name);
	ck_assert_int_eq(bundle_next(r, &e), 0);
	ck_assert_int_eq(bundle_reader_finish(r), 0);
	bundle_reader_free(r);
	kbuf_free(&b);
}
END_TEST

/* A writer freed before bundle_finish sends nothing more to its sink. */
START_TEST(test_abandoned_writer)
{
	struct kbuf b = KBUF_INIT;
	struct bundle_writer *w = NULL;
	uint8_t big[200000];
	uint64_t s = 3;
	prng_fill(&s, big, sizeof big);
	ck_assert_int_eq(bundle_writer_new(NULL, OBJ, 0, 0, kahu_write_to_kbuf, &b, &w), 0);
	ck_assert_int_eq(bundle_add(w, "a.bin", big, sizeof big, 0), 0);
	ck_assert_int_eq(bundle_add_stream_begin(w, "b.bin", 10, 0600, 0), 0);
	size_t len = b.len;
	bundle_writer_free(w);
	ck_assert_uint_eq(b.len, len);
	ck_assert_int_eq(read_through(NULL, OBJ, b.data, b.len, 4096), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "truncated"));
	kbuf_free(&b);
}
END_TEST

START_TEST(test_skip_members_and_read_all_limit)
{
	struct kahu_key *key = test_key(5);
	struct kbuf b = KBUF_INIT;
	make_bundle(key, 10, 200000, &b, NULL);
	struct msrc src = { (const uint8_t *)b.data, b.len, 0, 4096 };
	struct bundle_reader *r = NULL;
	struct bundle_entry e;
	struct kbuf d = KBUF_INIT;
	ck_assert_int_eq(bundle_reader_new(key, OBJ, msrc_read, &src, &r), 0);
	ck_assert_int_eq(bundle_next(r, &e), 1);
	ck_assert_int_eq(bundle_next(r, &e), 1); /* skipped the first member's data */
	ck_assert_str_eq(e.name, "resources/configmaps/namespaces/ns1/cm-1.json");
	for (int i = 2; i < 11; i++)
		ck_assert_int_eq(bundle_next(r, &e), 1);
	ck_assert_str_eq(e.name, "volumes/data.bin");
	ck_assert_int_eq(bundle_read_all(r, &d, 1000), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(),
			 OBJ ": member \"volumes/data.bin\" is 200000 bytes, more than the 1000 "
			 "bytes allowed for it");
	ck_assert_uint_eq(d.len, 0);
	/* not fatal: the reader goes on */
	ck_assert_int_eq(bundle_reader_finish(r), 0);
	bundle_reader_free(r);
	kbuf_free(&b);
	kahu_key_free(key);
}
END_TEST

/* ---- failure modes ---------------------------------------------------------------- */

START_TEST(test_wrong_key_and_moved_object)
{
	struct kahu_key *key = test_key(6), *other = test_key(7);
	struct kbuf b = KBUF_INIT;
	char want[KAHU_KEY_ID_HEX_LEN + 1];
	make_bundle(key, 5, 0, &b, NULL);
	ck_assert_int_eq(read_through(other, OBJ, b.data, b.len, 4096), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), OBJ ": this object was written with key "));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), kahu_key_id_hex(key, want)));
	/* the same bytes under another path: the envelope's additional data differs */
	ck_assert_int_eq(read_through(key, "backups/b2/metadata.tar.zst.kenc", b.data, b.len, 4096),
			 KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "failed authentication"));
	kbuf_free(&b);
	kahu_key_free(key);
	kahu_key_free(other);
}
END_TEST

START_TEST(test_encryption_mismatch)
{
	struct kahu_key *key = test_key(8);
	struct kbuf plain = KBUF_INIT, enc = KBUF_INIT;
	char id[KAHU_KEY_ID_HEX_LEN + 1], *msg;
	make_bundle(NULL, 2, 0, &plain, NULL);
	make_bundle(key, 2, 0, &enc, NULL);
	ck_assert_int_eq(read_through(key, OBJ, plain.data, plain.len, 1), KAHU_ECRYPTO);
	ck_assert_str_eq(kahu_error_last(),
			 OBJ " is not encrypted, but a key was given: refusing an unencrypted "
			 "object where an encrypted one is expected (written with "
			 "--no-encryption, or replaced)");
	ck_assert_int_eq(read_through(NULL, OBJ, enc.data, enc.len, 3), KAHU_ECRYPTO);
	msg = xasprintf(OBJ " is encrypted (with key %s), but no key was given",
			kahu_key_id_hex(key, id));
	ck_assert_str_eq(kahu_error_last(), msg);
	free(msg);
	/* neither */
	ck_assert_int_eq(read_through(NULL, OBJ, "hello world, not a bundle", 25, 4096), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": not a kahu bundle (neither a zstd stream nor a "
			 "kahu envelope)");
	ck_assert_int_eq(read_through(key, OBJ, "hello world, not a bundle", 25, 4096), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "not a kahu envelope"));
	/* empty */
	ck_assert_int_eq(read_through(NULL, OBJ, "", 0, 4096), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": empty object (0 bytes), not a kahu bundle");
	ck_assert_int_eq(read_through(key, OBJ, "", 0, 4096), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": empty object (0 bytes), not a kahu bundle");
	kbuf_free(&plain);
	kbuf_free(&enc);
	kahu_key_free(key);
}
END_TEST

START_TEST(test_flipped_bytes)
{
	for (int enc = 0; enc < 2; enc++) {
		struct kahu_key *key = enc ? test_key(9) : NULL;
		struct kbuf b = KBUF_INIT;
		make_bundle(key, 200, 150000, &b, NULL);
		size_t positions[] = { 0, 3, 5, 9, 11, 20, 40, 51, 52, 60, 1000, b.len / 3,
				       b.len / 2, 65600, 65620, b.len - 40, b.len - 17, b.len - 2,
				       b.len - 1 };
		for (size_t i = 0; i < sizeof positions / sizeof *positions; i++) {
			size_t pos = positions[i];
			if (pos >= b.len)
				continue;
			uint8_t *copy = xmalloc(b.len);
			memcpy(copy, b.data, b.len);
			copy[pos] ^= 0x20;
			int rc = read_through(key, OBJ, copy, b.len, 4096);
			/* Unencrypted, the zstd window descriptor (byte 5) is not covered
			 * by zstd's checksum: a flip there may go unnoticed, which is why
			 * the manifest records the hash of the stored bytes. */
			if (!enc && pos == 5 && rc == 0) {
				free(copy);
				continue;
			}
			ck_assert_msg(rc == KAHU_EDATA || rc == KAHU_ECRYPTO,
				      "enc %d, flip at %zu of %zu: rc %d (%s)", enc, pos, b.len, rc,
				      kahu_error_last());
			if (enc && pos >= KENC_HEADER_SIZE)
				ck_assert_msg(rc == KAHU_ECRYPTO && strstr(kahu_error_last(),
									   "failed authentication"),
					      "flip at %zu: %s", pos, kahu_error_last());
			ck_assert_msg(strncmp(kahu_error_last(), OBJ, strlen(OBJ)) == 0,
				      "message without the object path: %s", kahu_error_last());
			free(copy);
		}
		kbuf_free(&b);
		kahu_key_free(key);
	}
}
END_TEST

START_TEST(test_truncation)
{
	for (int enc = 0; enc < 2; enc++) {
		struct kahu_key *key = enc ? test_key(10) : NULL;
		struct kbuf b = KBUF_INIT;
		make_bundle(key, 300, 300000, &b, NULL);
		size_t cuts[] = { 1, 4, 8, 20, 51, 52, 53, 100, 5000,
				  KENC_HEADER_SIZE + KENC_CHUNK_CIPHER,
				  KENC_HEADER_SIZE + 2 * KENC_CHUNK_CIPHER, b.len / 2,
				  b.len - 100, b.len - 17, b.len - 1 };
		for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
			size_t cut = cuts[i];
			if (cut >= b.len)
				continue;
			int rc = read_through(key, OBJ, b.data, cut, 4096);
			const char *m = kahu_error_last();
			ck_assert_msg(strncmp(m, OBJ, strlen(OBJ)) == 0, "cut %zu: %s", cut, m);
			bool at_chunk_end = enc && cut >= KENC_HEADER_SIZE &&
					    (cut - KENC_HEADER_SIZE) % KENC_CHUNK_CIPHER == 0;
			if (!enc || cut <= KENC_HEADER_SIZE || at_chunk_end)
				ck_assert_msg(rc == KAHU_EDATA && strstr(m, "truncated"),
					      "enc %d, cut at %zu of %zu: rc %d (%s)", enc, cut,
					      b.len, rc, m);
			else /* inside the last chunk: indistinguishable from tampering */
				ck_assert_msg((rc == KAHU_EDATA && strstr(m, "truncated")) ||
					      (rc == KAHU_ECRYPTO && strstr(m, "or truncated")),
					      "enc %d, cut at %zu of %zu: rc %d (%s)", enc, cut,
					      b.len, rc, m);
		}
		kbuf_free(&b);
		kahu_key_free(key);
	}
}
END_TEST

/* The truncation is seen by whichever call reaches the end: next, read or finish. */
START_TEST(test_truncation_where_detected)
{
	struct kbuf b = KBUF_INIT;
	struct bundle_entry e;
	struct bundle_reader *r = NULL;
	size_t got;
	char buf[4096];
	make_bundle(NULL, 1, 2 << 20, &b, NULL);
	/* cut in the middle of the big member: bundle_read_data sees it */
	struct msrc s1 = { (const uint8_t *)b.data, b.len / 2, 0, 4096 };
	ck_assert_int_eq(bundle_reader_new(NULL, OBJ, msrc_read, &s1, &r), 0);
	ck_assert_int_eq(bundle_next(r, &e), 1);
	struct kbuf first = KBUF_INIT;
	ck_assert_int_eq(bundle_read_all(r, &first, 100), 0);
	kbuf_free(&first);
	ck_assert_int_eq(bundle_next(r, &e), 1);
	int rc;
	while ((rc = bundle_read_data(r, buf, sizeof buf, &got)) == 0 && got)
		;
	ck_assert_int_eq(rc, KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": truncated: the data ends inside the zstd frame");
	ck_assert_int_eq(bundle_next(r, &e), KAHU_EDATA);
	ck_assert_int_eq(bundle_reader_finish(r), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": truncated: the data ends inside the zstd frame");
	bundle_reader_free(r);
	/* cut in the last few bytes (the zstd checksum): only finish can tell */
	struct msrc s2 = { (const uint8_t *)b.data, b.len - 2, 0, 4096 };
	ck_assert_int_eq(bundle_reader_new(NULL, OBJ, msrc_read, &s2, &r), 0);
	ck_assert_int_eq(bundle_next(r, &e), 1);
	rc = bundle_next(r, &e);
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(bundle_reader_finish(r), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": truncated: the data ends inside the zstd frame");
	bundle_reader_free(r);
	kbuf_free(&b);
}
END_TEST

START_TEST(test_garbage_after_end)
{
	for (int enc = 0; enc < 2; enc++) {
		struct kahu_key *key = enc ? test_key(11) : NULL;
		struct kbuf b = KBUF_INIT;
		make_bundle(key, 20, 0, &b, NULL);
		size_t len = b.len;
		kbuf_add(&b, "x", 1);
		/* Encrypted, trailing bytes make the short final chunk look longer, so
		 * they surface as its authentication failure (envelope.h). */
		int rc = read_through(key, OBJ, b.data, b.len, 4096);
		if (enc) {
			ck_assert_int_eq(rc, KAHU_ECRYPTO);
			ck_assert_ptr_nonnull(strstr(kahu_error_last(), "failed authentication"));
		} else {
			ck_assert_int_eq(rc, KAHU_EDATA);
			ck_assert_str_eq(kahu_error_last(),
					 OBJ ": data after the end of the compressed stream");
		}
		/* a whole second bundle appended */
		b.len = len;
		make_bundle(key, 1, 0, &b, NULL);
		rc = read_through(key, OBJ, b.data, b.len, 65537);
		if (enc) {
			ck_assert_int_eq(rc, KAHU_ECRYPTO);
			ck_assert_ptr_nonnull(strstr(kahu_error_last(), "failed authentication"));
		} else {
			ck_assert_int_eq(rc, KAHU_EDATA);
			ck_assert_str_eq(kahu_error_last(),
					 OBJ ": data after the end of the compressed stream");
		}
		kbuf_free(&b);
		kahu_key_free(key);
	}
}
END_TEST

/* A frame that declares a window beyond the limit (as a hostile one would) is refused
 * without allocating it, plain or in an envelope, naming the object. */
START_TEST(test_window_limit)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, ZS_WINDOW_LOG_MAX + 1)));
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1)));
	struct kbuf tar = KBUF_INIT;
	make_bundle(NULL, 200, 0, &tar, NULL); /* (its bytes are what is compressed) */
	size_t cap = ZSTD_compressBound(tar.len);
	uint8_t *frame = xmalloc(cap);
	ZSTD_outBuffer o = { frame, cap, 0 };
	ZSTD_inBuffer in = { tar.data, tar.len, 0 };
	/* (no size pledged: zstd would shrink the window to fit it) */
	ck_assert(!ZSTD_isError(ZSTD_compressStream2(c, &o, &in, ZSTD_e_continue)));
	in.size = in.pos = 0;
	ck_assert_uint_eq(ZSTD_compressStream2(c, &o, &in, ZSTD_e_end), 0);
	ZSTD_freeCCtx(c);
	for (int enc = 0; enc < 2; enc++) {
		struct kahu_key *key = enc ? test_key(19) : NULL;
		struct kbuf b = KBUF_INIT;
		struct kenc_writer *kw = NULL;
		if (key) {
			ck_assert_int_eq(kenc_writer_new(key, OBJ, kahu_write_to_kbuf, &b, &kw), 0);
			ck_assert_int_eq(kenc_write_cb(kw, frame, o.pos), 0);
			ck_assert_int_eq(kenc_writer_finish(kw), 0);
			kenc_writer_free(kw);
		} else {
			kbuf_add(&b, frame, o.pos);
		}
		ck_assert_int_eq(read_through(key, OBJ, b.data, b.len, 4096), KAHU_EDATA);
		ck_assert_str_eq(kahu_error_last(), OBJ ": corrupt zstd data: the frame needs a "
				 "window larger than the 128 MiB kahu allows");
		kbuf_free(&b);
		kahu_key_free(key);
	}
	free(frame);
	kbuf_free(&tar);
}
END_TEST

/* Valid zstd (and envelope) around something that is not a tar. */
static void wrap_plain(const struct kahu_key *key, const void *data, size_t len, struct kbuf *out)
{
	struct kenc_writer *kw = NULL;
	struct zstream *z = NULL;
	if (key) {
		ck_assert_int_eq(kenc_writer_new(key, OBJ, kahu_write_to_kbuf, out, &kw), 0);
		ck_assert_int_eq(zs_compress_new(3, 0, kenc_write_cb, kw, &z), 0);
	} else {
		ck_assert_int_eq(zs_compress_new(3, 0, kahu_write_to_kbuf, out, &z), 0);
	}
	ck_assert_int_eq(zs_write(z, data, len), 0);
	ck_assert_int_eq(zs_finish(z), 0);
	zs_free(z);
	if (kw)
		ck_assert_int_eq(kenc_writer_finish(kw), 0);
	kenc_writer_free(kw);
}

START_TEST(test_corrupt_tar)
{
	struct kahu_key *key = test_key(17);
	struct kbuf b = KBUF_INIT, tar = KBUF_INIT;
	char junk[4096];
	memset(junk, 'j', sizeof junk);
	wrap_plain(key, junk, sizeof junk, &b);
	ck_assert_int_eq(read_through(key, OBJ, b.data, b.len, 4096), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), OBJ ": corrupt tar archive: "));
	/* a real tar with a damaged header checksum, inside an intact envelope */
	struct bundle_writer *w = NULL;
	ck_assert_int_eq(bundle_writer_new(NULL, OBJ, 0, 0, kahu_write_to_kbuf, &tar, &w), 0);
	ck_assert_int_eq(bundle_add(w, "a.json", "{}", 2, 0), 0);
	ck_assert_int_eq(bundle_add(w, "b.json", "{}", 2, 0), 0);
	ck_assert_int_eq(bundle_finish(w, NULL), 0);
	bundle_writer_free(w);
	/* decompress it (the stages' own decompressor), damage member 2's header */
	struct kbuf plain = KBUF_INIT;
	struct zstream *z = NULL;
	ck_assert_int_eq(zs_decompress_new(kahu_write_to_kbuf, &plain, &z), 0);
	ck_assert_int_eq(zs_feed(z, tar.data, tar.len), 0);
	ck_assert_int_eq(zs_finish(z), 0);
	zs_free(z);
	ck_assert_uint_ge(plain.len, 2048);
	plain.data[1024] ^= 0x01; /* second header's name: checksum mismatch */
	kbuf_reset(&b);
	wrap_plain(key, plain.data, plain.len, &b);
	struct msrc src = { (const uint8_t *)b.data, b.len, 0, 4096 };
	struct bundle_reader *r = NULL;
	struct bundle_entry e;
	ck_assert_int_eq(bundle_reader_new(key, OBJ, msrc_read, &src, &r), 0);
	ck_assert_int_eq(bundle_next(r, &e), 1);
	ck_assert_int_eq(bundle_next(r, &e), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), OBJ ": corrupt tar archive: "));
	ck_assert_int_eq(bundle_reader_finish(r), KAHU_EDATA);
	bundle_reader_free(r);
	/* non-zero bytes after the end marker */
	plain.data[1024] ^= 0x01;
	kbuf_add(&plain, "trailing", 8);
	kbuf_reset(&b);
	wrap_plain(key, plain.data, plain.len, &b);
	ck_assert_int_eq(read_through(key, OBJ, b.data, b.len, 4096), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": data after the end of the tar archive");
	/* wherever the end marker falls relative to the decompressor's pieces */
	for (size_t sz = 131072 - 3072; sz <= 131072 + 1024; sz += 512) {
		for (int garbage = 0; garbage < 2; garbage++) {
			kbuf_reset(&plain);
			char hdr[512] = "big.bin";
			memset(hdr + 100, '0', 7);
			memcpy(hdr + 100, "0000644", 7);
			snprintf(hdr + 124, 12, "%011zo", sz);
			memcpy(hdr + 136, "00000000000", 11);
			hdr[156] = '0';
			memcpy(hdr + 257, "ustar", 6);
			memcpy(hdr + 263, "00", 2);
			memset(hdr + 148, ' ', 8);
			unsigned sum = 0;
			for (size_t i = 0; i < sizeof hdr; i++)
				sum += (unsigned char)hdr[i];
			snprintf(hdr + 148, 8, "%06o", sum);
			kbuf_add(&plain, hdr, sizeof hdr);
			for (size_t i = 0; i < sz; i++)
				kbuf_addc(&plain, (char)(i * 7 + 1));
			while (plain.len % 512)
				kbuf_addc(&plain, 0);
			for (int i = 0; i < 1024 + 512 * garbage; i++)
				kbuf_addc(&plain, 0);
			if (garbage)
				plain.data[plain.len - 1] = 'X';
			kbuf_reset(&b);
			wrap_plain(key, plain.data, plain.len, &b);
			int rc = read_through(key, OBJ, b.data, b.len, 4096);
			ck_assert_msg(rc == (garbage ? KAHU_EDATA : 0), "size %zu, garbage %d: %d %s",
				      sz, garbage, rc, kahu_error_last());
			if (garbage)
				ck_assert_str_eq(kahu_error_last(),
						 OBJ ": data after the end of the tar archive");
		}
	}
	kbuf_free(&plain);
	kbuf_free(&tar);
	kbuf_free(&b);
	kahu_key_free(key);
}
END_TEST

static int src_fail(void *ud, void *buf, size_t cap, size_t *got)
{
	(void)ud, (void)buf, (void)cap;
	*got = 0;
	return kahu_error_set(KAHU_EUNREACHABLE, "connection refused (test)");
}

START_TEST(test_source_error)
{
	struct bundle_reader *r = NULL;
	struct bundle_entry e;
	ck_assert_int_eq(bundle_reader_new(NULL, OBJ, src_fail, NULL, &r), 0);
	ck_assert_int_eq(bundle_next(r, &e), KAHU_EUNREACHABLE);
	ck_assert_str_eq(kahu_error_last(), "connection refused (test)");
	ck_assert_int_eq(bundle_reader_finish(r), KAHU_EUNREACHABLE);
	bundle_reader_free(r);
}
END_TEST

START_TEST(test_sink_error_is_sticky)
{
	struct kahu_key *key = test_key(12);
	struct bundle_writer *w = NULL;
	uint8_t big[100000];
	uint64_t s = 1;
	prng_fill(&s, big, sizeof big);
	ck_assert_int_eq(bundle_writer_new(key, OBJ, 0, 0, failing_sink, NULL, &w), 0);
	int rc = bundle_add(w, "a.bin", big, sizeof big, 0);
	if (rc == 0)
		rc = bundle_finish(w, NULL);
	ck_assert_int_eq(rc, KAHU_ENOSPC);
	ck_assert_str_eq(kahu_error_last(), "disk full (test)");
	ck_assert_int_eq(bundle_add(w, "b.json", "{}", 2, 0), KAHU_ENOSPC);
	ck_assert_int_eq(bundle_finish(w, NULL), KAHU_ENOSPC);
	bundle_writer_free(w);
	kahu_key_free(key);
}
END_TEST

START_TEST(test_hostile_names_refused)
{
	static const char *bad[] = {
		"", "/abs", "/", "../x", "a/../b", "a/..", "..", ".", "./a", "a/./b", "a//b",
		"a/", "a\nb", "a\x01", "a\x7f", "bad\xff", "over\xc0\xaflong", "\xed\xa0\x80surrogate",
	};
	struct kbuf b = KBUF_INIT;
	struct bundle_writer *w = NULL;
	ck_assert_int_eq(bundle_writer_new(NULL, OBJ, 0, 0, kahu_write_to_kbuf, &b, &w), 0);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_msg(bundle_add(w, bad[i], "x", 1, 0) == KAHU_EUSAGE, "accepted %s", bad[i]);
		ck_assert_msg(strncmp(kahu_error_last(), OBJ ": refusing to write the member: ",
				      strlen(OBJ ": refusing to write the member: ")) == 0,
			      "%s", kahu_error_last());
		ck_assert_int_eq(bundle_add_stream_begin(w, bad[i], 1, 0600, 0), KAHU_EUSAGE);
	}
	ck_assert_int_eq(bundle_add(w, "/abs", "x", 1, 0), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), OBJ ": refusing to write the member: member name "
			 "\"/abs\" is an absolute path");
	ck_assert_int_eq(bundle_add(w, "a/../b", "x", 1, 0), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), OBJ ": refusing to write the member: member name "
			 "\"a/../b\" has a '..' component");
	ck_assert_int_eq(bundle_add(w, "a\nb", "x", 1, 0), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), OBJ ": refusing to write the member: member name "
			 "\"a\\x0ab\" contains a control character");
	ck_assert_int_eq(bundle_add(w, "bad\xff", "x", 1, 0), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), OBJ ": refusing to write the member: member name "
			 "\"bad\\xff\" is not valid UTF-8");
	char *huge = xmalloc(BUNDLE_NAME_MAX + 2);
	memset(huge, 'a', BUNDLE_NAME_MAX + 1);
	huge[BUNDLE_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(bundle_add(w, huge, "x", 1, 0), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "is too long (4097 bytes, at most 4096)"));
	free(huge);
	/* the writer is still usable */
	ck_assert_int_eq(bundle_add(w, "ok.json", "{}", 2, 0), 0);
	ck_assert_int_eq(bundle_finish(w, NULL), 0);
	bundle_writer_free(w);
	struct msrc src = { (const uint8_t *)b.data, b.len, 0, 4096 };
	struct bundle_reader *r = NULL;
	struct bundle_entry e;
	ck_assert_int_eq(bundle_reader_new(NULL, OBJ, msrc_read, &src, &r), 0);
	ck_assert_int_eq(bundle_next(r, &e), 1);
	ck_assert_str_eq(e.name, "ok.json");
	ck_assert_int_eq(bundle_next(r, &e), 0);
	ck_assert_int_eq(bundle_reader_finish(r), 0);
	bundle_reader_free(r);
	kbuf_free(&b);
}
END_TEST

START_TEST(test_stream_size_mismatch)
{
	struct kbuf b = KBUF_INIT;
	struct bundle_writer *w = NULL;
	ck_assert_int_eq(bundle_writer_new(NULL, OBJ, 0, 0, kahu_write_to_kbuf, &b, &w), 0);
	ck_assert_int_eq(bundle_add_stream_begin(w, "v/a.bin", 10, 0600, 0), 0);
	ck_assert_int_eq(bundle_add_stream_data(w, "12345", 5), 0);
	ck_assert_int_eq(bundle_add_stream_end(w), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), OBJ ": member \"v/a.bin\": 5 bytes written, 10 announced");
	ck_assert_int_eq(bundle_finish(w, NULL), KAHU_EUSAGE);
	bundle_writer_free(w);
	kbuf_reset(&b);
	ck_assert_int_eq(bundle_writer_new(NULL, OBJ, 0, 0, kahu_write_to_kbuf, &b, &w), 0);
	ck_assert_int_eq(bundle_add_stream_begin(w, "v/a.bin", 4, 0600, 0), 0);
	ck_assert_int_eq(bundle_add_stream_data(w, "12345", 5), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), OBJ ": member \"v/a.bin\": more data than the 4 bytes "
			 "announced");
	bundle_writer_free(w);
	kbuf_free(&b);
}
END_TEST

/* ---- extraction --------------------------------------------------------------------- */

/* A tar built by hand with libarchive (anything goes), then compressed and encrypted
 * with the same stages the writer uses. */
static la_ssize_t raw_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	(void)a;
	return zs_write(ud, buf, len) < 0 ? -1 : (la_ssize_t)len;
}

static void make_raw_bundle(const struct kahu_key *key, const struct raw_entry *ents, size_t n,
			    struct kbuf *out)
{
	struct kenc_writer *kw = NULL;
	struct zstream *z = NULL;
	if (key) {
		ck_assert_int_eq(kenc_writer_new(key, OBJ, kahu_write_to_kbuf, out, &kw), 0);
		ck_assert_int_eq(zs_compress_new(3, 0, kenc_write_cb, kw, &z), 0);
	} else {
		ck_assert_int_eq(zs_compress_new(3, 0, kahu_write_to_kbuf, out, &z), 0);
	}
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	ck_assert_int_eq(archive_write_open2(a, z, NULL, raw_write_cb, NULL, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, ents[i].name);
		archive_entry_set_perm(ae, 0777);
		if (ents[i].type == AE_IFREG) {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_size(ae, (la_int64_t)strlen(ents[i].data_or_target));
		} else if (ents[i].type == AE_IFDIR) {
			archive_entry_set_filetype(ae, AE_IFDIR);
		} else if (ents[i].type == AE_IFLNK) {
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_symlink(ae, ents[i].data_or_target);
		} else {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, ents[i].data_or_target);
		}
		ck_assert_int_eq(archive_write_header(a, ae), ARCHIVE_OK);
		if (ents[i].type == AE_IFREG)
			archive_write_data(a, ents[i].data_or_target, strlen(ents[i].data_or_target));
		archive_entry_free(ae);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	ck_assert_int_eq(zs_finish(z), 0);
	zs_free(z);
	if (kw)
		ck_assert_int_eq(kenc_writer_finish(kw), 0);
	kenc_writer_free(kw);
}

static char *make_tmpdir(void)
{
	char *t = xstrdup("/tmp/kahu-check-bundle-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t));
	return t;
}

static void rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static int extract_raw(const struct kahu_key *key, const struct raw_entry *ents, size_t n,
		       const char *dir, struct bundle_extract_stats *st)
{
	struct kbuf b = KBUF_INIT;
	make_raw_bundle(key, ents, n, &b);
	struct msrc src = { (const uint8_t *)b.data, b.len, 0, 4096 };
	struct bundle_reader *r = NULL;
	ck_assert_int_eq(bundle_reader_new(key, OBJ, msrc_read, &src, &r), 0);
	int rc = bundle_extract(r, dir, st);
	bundle_reader_free(r);
	kbuf_free(&b);
	return rc;
}

static int file_mode(const char *dir, const char *rel)
{
	struct stat sb;
	char *p = xasprintf("%s/%s", dir, rel);
	int rc = lstat(p, &sb);
	free(p);
	return rc < 0 ? -1 : (int)(sb.st_mode & 07777) | (S_ISDIR(sb.st_mode) ? 010000 : 0);
}

START_TEST(test_extract_ok)
{
	struct kahu_key *key = test_key(13);
	struct kbuf b = KBUF_INIT;
	char *tmp = make_tmpdir(), *dir = xasprintf("%s/out", tmp);
	make_bundle(key, 20, 100000, &b, NULL);
	struct msrc src = { (const uint8_t *)b.data, b.len, 0, 4096 };
	struct bundle_reader *r = NULL;
	struct bundle_extract_stats st;
	ck_assert_int_eq(bundle_reader_new(key, OBJ, msrc_read, &src, &r), 0);
	mode_t old = umask(022);
	ck_assert_msg(bundle_extract(r, dir, &st) == 0, "%s", kahu_error_last());
	umask(old);
	ck_assert_uint_eq(st.files, 21);
	ck_assert_uint_eq(st.dirs, 0);
	ck_assert(st.bytes > 100000);
	bundle_reader_free(r);
	ck_assert_int_eq(file_mode(tmp, "out"), 010700);
	ck_assert_int_eq(file_mode(dir, "resources"), 010700);
	ck_assert_int_eq(file_mode(dir, "resources/configmaps/namespaces/ns3"), 010700);
	ck_assert_int_eq(file_mode(dir, "resources/configmaps/namespaces/ns3/cm-3.json"), 0600);
	ck_assert_int_eq(file_mode(dir, "volumes/data.bin"), 0600);
	char *p = xasprintf("%s/resources/configmaps/namespaces/ns3/cm-3.json", dir);
	char buf[256] = "";
	FILE *f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	fclose(f);
	char *body = member_body(3);
	ck_assert_str_eq(buf, body);
	free(body);
	free(p);
	/* extracting again: nothing is overwritten */
	src.pos = 0;
	ck_assert_int_eq(bundle_reader_new(key, OBJ, msrc_read, &src, &r), 0);
	ck_assert_int_eq(bundle_extract(r, dir, &st), KAHU_EEXIST);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "already exists: extraction never "
				     "overwrites"));
	bundle_reader_free(r);
	rm_rf(tmp);
	free(dir);
	free(tmp);
	kbuf_free(&b);
	kahu_key_free(key);
}
END_TEST

START_TEST(test_extract_hostile)
{
	struct kahu_key *key = test_key(14);
	char *tmp = make_tmpdir();
	struct bundle_extract_stats st;
	const struct raw_entry dotdot[] = { { "ok.json", AE_IFREG, "{}" },
					    { "../x", AE_IFREG, "evil" } };
	const struct raw_entry dotdot2[] = { { "a/../../x", AE_IFREG, "evil" } };
	const struct raw_entry abs[] = { { "/tmp/kahu-abs-evil", AE_IFREG, "evil" } };
	const struct raw_entry sym[] = { { "link", AE_IFLNK, "/etc" },
					 { "link/passwd", AE_IFREG, "evil" } };
	const struct raw_entry hard[] = { { "h", 0, "/etc/passwd" } };
	const struct raw_entry dirs[] = { { "d1/", AE_IFDIR, NULL }, { "d1/d2", AE_IFDIR, NULL },
					  { "d1/d2/f", AE_IFREG, "x" } };

	char *dir = xasprintf("%s/x1", tmp);
	ck_assert_int_eq(extract_raw(key, dotdot, 2, dir, &st), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": refusing to extract a corrupt or hostile archive: "
			 "member name \"../x\" has a '..' component");
	ck_assert_uint_eq(st.files, 1);
	ck_assert_int_eq(file_mode(tmp, "x"), -1);
	free(dir);

	dir = xasprintf("%s/x2", tmp);
	ck_assert_int_eq(extract_raw(key, dotdot2, 1, dir, &st), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "has a '..' component"));
	ck_assert_int_eq(file_mode(tmp, "x"), -1);
	free(dir);

	dir = xasprintf("%s/x3", tmp);
	ck_assert_int_eq(extract_raw(NULL, abs, 1, dir, &st), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": refusing to extract a corrupt or hostile archive: "
			 "member name \"/tmp/kahu-abs-evil\" is an absolute path");
	ck_assert_int_eq(access("/tmp/kahu-abs-evil", F_OK), -1);
	free(dir);

	dir = xasprintf("%s/x4", tmp);
	ck_assert_int_eq(extract_raw(key, sym, 2, dir, &st), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), OBJ ": member \"link\" is a symbolic link: kahu bundles "
			 "never contain links or special files; refusing to extract a corrupt "
			 "or hostile archive");
	ck_assert_int_eq(file_mode(dir, "link"), -1);
	free(dir);

	dir = xasprintf("%s/x5", tmp);
	ck_assert_int_eq(extract_raw(key, hard, 1, dir, &st), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "member \"h\" is a hard link"));
	free(dir);

	/* directory members are fine, created 0700 */
	dir = xasprintf("%s/x6", tmp);
	ck_assert_msg(extract_raw(key, dirs, 3, dir, &st) == 0, "%s", kahu_error_last());
	ck_assert_uint_eq(st.dirs, 2);
	ck_assert_uint_eq(st.files, 1);
	ck_assert_int_eq(file_mode(dir, "d1"), 010700);
	ck_assert_int_eq(file_mode(dir, "d1/d2"), 010700);
	ck_assert_int_eq(file_mode(dir, "d1/d2/f"), 0600);
	free(dir);

	rm_rf(tmp);
	free(tmp);
	kahu_key_free(key);
}
END_TEST

/* Archives may hold names longer than a file system takes (a 253-byte object name plus
 * ".json"; a hostile server's 5,000-byte Role name in older archives): such a component
 * is extracted under its encoded form, the name the current writer gives it. */
START_TEST(test_extract_long_names)
{
	struct kahu_key *key = test_key(16);
	char *tmp = make_tmpdir(), *dir = xasprintf("%s/out", tmp);
	char a253[254], d300[301];
	memset(a253, 'a', 253);
	a253[253] = '\0';
	memset(d300, 'd', 300);
	d300[300] = '\0';
	char *n1 = xasprintf("resources/configmaps/namespaces/shop/%s.json", a253);
	char *n2 = xasprintf("resources/x/%s/%s", d300, d300);
	char *n3 = xasprintf("resources/configmaps/namespaces/shop/%.240s.json", a253);
	const struct raw_entry ents[] = { { n1, AE_IFREG, "253" }, { n2, AE_IFREG, "300" },
					  { n3, AE_IFREG, "240" } };
	struct bundle_extract_stats st;
	ck_assert_msg(extract_raw(key, ents, 3, dir, &st) == 0, "%s", kahu_error_last());
	ck_assert_uint_eq(st.files, 3);
	ck_assert_uint_eq(st.shortened, 2);

	struct kbuf enc = KBUF_INIT;
	bundle_component_encode(a253, 253, &enc);
	char *p1 = xasprintf("resources/configmaps/namespaces/shop/%s.json", kbuf_str(&enc));
	ck_assert_str_eq(p1, "resources/configmaps/namespaces/shop/%"
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa~"
			 "04a42cc4867c0d570f2f5924e207b3b5057d25ec233b304c9ceb846fad931c69.json");
	ck_assert_int_eq(file_mode(dir, p1), 0600);
	/* the same name the writer gives that object */
	char *w = NULL;
	ck_assert_int_eq(bundle_resource_path("configmaps", "shop", a253, &w), 0);
	ck_assert_str_eq(w, p1);
	free(w);
	kbuf_reset(&enc);
	bundle_component_encode(d300, 300, &enc);
	char *p2 = xasprintf("resources/x/%s/%s", kbuf_str(&enc), kbuf_str(&enc));
	ck_assert_int_eq(file_mode(dir, p2), 0600);
	ck_assert_int_eq(file_mode(dir, n3), 0600);

	free(p1);
	free(p2);
	kbuf_free(&enc);
	free(n1);
	free(n2);
	free(n3);
	rm_rf(tmp);
	free(dir);
	free(tmp);
	kahu_key_free(key);
}
END_TEST

START_TEST(test_extract_existing_symlink_not_followed)
{
	struct kahu_key *key = test_key(15);
	char *tmp = make_tmpdir();
	char *dir = xasprintf("%s/out", tmp), *outside = xasprintf("%s/outside", tmp);
	char *link = xasprintf("%s/resources", dir), *flink = xasprintf("%s/f.json", dir);
	struct bundle_extract_stats st;
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
	ck_assert_int_eq(symlink(outside, link), 0);
	const struct raw_entry e1[] = { { "resources/x.json", AE_IFREG, "evil" } };
	ck_assert_int_eq(extract_raw(key, e1, 1, dir, &st), KAHU_EPERM);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "is a symbolic link: refusing to follow it"));
	ck_assert_int_eq(file_mode(outside, "x.json"), -1);
	/* a symlink in place of a file */
	char *target = xasprintf("%s/target", outside);
	ck_assert_int_eq(symlink(target, flink), 0);
	const struct raw_entry e2[] = { { "f.json", AE_IFREG, "evil" } };
	ck_assert_int_eq(extract_raw(key, e2, 1, dir, &st), KAHU_EEXIST);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "already exists"));
	ck_assert_int_eq(access(target, F_OK), -1);
	/* a symlink as the last component of a directory member */
	const struct raw_entry e3[] = { { "resources/", AE_IFDIR, NULL } };
	ck_assert_int_eq(extract_raw(key, e3, 1, dir, &st), KAHU_EPERM);
	rm_rf(tmp);
	free(target);
	free(link);
	free(flink);
	free(outside);
	free(dir);
	free(tmp);
	kahu_key_free(key);
}
END_TEST

/* ---- bounded memory ------------------------------------------------------------------ */

static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

struct pipe_writer {
	const struct kahu_key *key;
	int fd;
	uint64_t size;
	bool zeros;
	int rc;
	char msg[256];
};

static int fd_sink(void *ud, const void *buf, size_t len)
{
	int fd = *(int *)ud;
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0)
			return kahu_error_set(KAHU_EIO, "pipe: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *writer_thread(void *arg)
{
	struct pipe_writer *pw = arg;
	struct bundle_writer *w = NULL;
	uint8_t buf[65536];
	uint64_t s = 7;
	int rc = bundle_writer_new(pw->key, OBJ, 0, 0, fd_sink, &pw->fd, &w);
	if (rc == 0)
		rc = bundle_add_stream_begin(w, "volumes/big.bin", pw->size, 0600, 0);
	memset(buf, 0, sizeof buf);
	for (uint64_t done = 0; rc == 0 && done < pw->size; done += sizeof buf) {
		if (!pw->zeros)
			prng_fill(&s, buf, sizeof buf);
		rc = bundle_add_stream_data(w, buf, sizeof buf);
	}
	if (rc == 0)
		rc = bundle_add_stream_end(w);
	if (rc == 0)
		rc = bundle_finish(w, NULL);
	pw->rc = rc;
	snprintf(pw->msg, sizeof pw->msg, "%s", kahu_error_last());
	bundle_writer_free(w);
	close(pw->fd);
	return NULL;
}

static int fd_source(void *ud, void *buf, size_t cap, size_t *got)
{
	int fd = *(int *)ud;
	ssize_t n;
	do
		n = read(fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return kahu_error_set(KAHU_EIO, "pipe: %s", strerror(errno));
	*got = (size_t)n;
	return 0;
}

static void stream_64mib(bool zeros)
{
	struct kahu_key *key = test_key(16);
	int fds[2];
	pthread_t th;
	ck_assert_int_eq(pipe(fds), 0);
	struct pipe_writer pw = { key, fds[1], 64ULL << 20, zeros, 0, "" };
	long before = max_rss_kib();
	ck_assert_int_eq(pthread_create(&th, NULL, writer_thread, &pw), 0);

	struct bundle_reader *r = NULL;
	struct bundle_entry e;
	uint8_t buf[65536], want[65536];
	uint64_t s = 7, total = 0;
	size_t got;
	ck_assert_int_eq(bundle_reader_new(key, OBJ, fd_source, &fds[0], &r), 0);
	ck_assert_int_eq(bundle_next(r, &e), 1);
	ck_assert_uint_eq(e.size, 64ULL << 20);
	memset(want, 0, sizeof want);
	for (;;) {
		ck_assert_int_eq(bundle_read_data(r, buf, sizeof buf, &got), 0);
		if (!got)
			break;
		/* the writer produced the data in 64 KiB blocks of the PRNG */
		for (size_t i = 0; i < got; ) {
			size_t off = (size_t)(total % sizeof want);
			if (off == 0 && !zeros)
				prng_fill(&s, want, sizeof want);
			size_t k = sizeof want - off < got - i ? sizeof want - off : got - i;
			ck_assert(memcmp(buf + i, want + off, k) == 0);
			i += k;
			total += k;
		}
	}
	ck_assert_uint_eq(total, 64ULL << 20);
	ck_assert_int_eq(bundle_next(r, &e), 0);
	ck_assert_int_eq(bundle_reader_finish(r), 0);
	bundle_reader_free(r);
	pthread_join(th, NULL);
	ck_assert_msg(pw.rc == 0, "writer: %s", pw.msg);
	close(fds[0]);
	long after = max_rss_kib();
#ifndef UNDER_ASAN
	ck_assert_msg(after - before < 32 * 1024, "peak RSS grew by %ld KiB", after - before);
#else
	(void)before, (void)after; /* ASan's shadow memory and quarantine blur RSS */
#endif
	kahu_key_free(key);
}

START_TEST(test_bounded_memory_random)
{
	stream_64mib(false);
}
END_TEST

/* 64 MiB of zeros compress to almost nothing: a few input bytes expand into a lot of
 * output, which must still go through bounded buffers. */
START_TEST(test_bounded_memory_zeros)
{
	stream_64mib(true);
}
END_TEST

static Suite *bundle_suite(void)
{
	Suite *s = suite_create("bundle");
	TCase *tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_roundtrip_counts);
	tcase_add_test(tc, test_roundtrip_big_member);
	tcase_add_test(tc, test_roundtrip_workers_and_levels);
	tcase_add_test(tc, test_long_and_utf8_names);
	tcase_add_test(tc, test_foreign_utf8_pax_names);
	tcase_add_test(tc, test_abandoned_writer);
	tcase_add_test(tc, test_skip_members_and_read_all_limit);
	suite_add_tcase(s, tc);
	tc = tcase_create("failures");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_wrong_key_and_moved_object);
	tcase_add_test(tc, test_encryption_mismatch);
	tcase_add_test(tc, test_flipped_bytes);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_truncation_where_detected);
	tcase_add_test(tc, test_garbage_after_end);
	tcase_add_test(tc, test_window_limit);
	tcase_add_test(tc, test_source_error);
	tcase_add_test(tc, test_corrupt_tar);
	tcase_add_test(tc, test_sink_error_is_sticky);
	tcase_add_test(tc, test_hostile_names_refused);
	tcase_add_test(tc, test_stream_size_mismatch);
	suite_add_tcase(s, tc);
	tc = tcase_create("extract");
	tcase_add_test(tc, test_extract_ok);
	tcase_add_test(tc, test_extract_hostile);
	tcase_add_test(tc, test_extract_long_names);
	tcase_add_test(tc, test_extract_existing_symlink_not_followed);
	suite_add_tcase(s, tc);
	tc = tcase_create("memory");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_bounded_memory_random);
	tcase_add_test(tc, test_bounded_memory_zeros);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(bundle_suite)

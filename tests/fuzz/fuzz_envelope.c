/* kahu — fuzz target: the .kenc envelope reader (src/archive/envelope.c) with the fixed
 * fuzz key (bytes 0..31, the key of tests/unit/data/envelope/pattern-70000-v1.kenc) and
 * the object path of that fixture.  The input is the stored object; it is read twice,
 * whole and in pieces of varying size, and both reads must end alike: same result, same
 * plaintext.  An object that reads to the end must have had its FINAL chunk. */
#include "fuzz.h"

#include <sodium.h>

#include "archive/envelope.h"
#include "archive/key.h"
#include "util/err.h"

#define FUZZ_PATH "backups/fixture/metadata.tar.zst.kenc"

static struct kahu_key *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t bytes[KAHU_KEY_BYTES] = FUZZ_KEY_INIT;
	(void)argc;
	(void)argv;
	if (kahu_key_from_bytes(bytes, &key) < 0)
		abort();
	return 0;
}

struct sink {
	crypto_generichash_state h;
	uint64_t n;
};

static int sink_cb(void *ud, const void *buf, size_t len)
{
	struct sink *s = ud;
	FUZZ_CHECK(len > 0 && len <= KENC_CHUNK_PLAIN);
	crypto_generichash_update(&s->h, buf, len);
	s->n += len;
	return 0;
}

struct result {
	int rc;
	uint64_t out;
	uint8_t hash[32];
};

static void read_object(const uint8_t *data, size_t size, size_t step, struct result *res)
{
	struct kenc_reader *r = NULL;
	struct sink s = { .n = 0 };
	int rc = 0;

	crypto_generichash_init(&s.h, NULL, 0, sizeof res->hash);
	FUZZ_CHECK(kenc_reader_new(key, FUZZ_PATH, sink_cb, &s, &r) == 0);
	for (size_t off = 0, i = 0; off < size && rc == 0; i++) {
		/* steps cycle through step, 1, 2*step+3, ... so that every boundary moves */
		size_t n = step ? (i % 3 == 0 ? step : i % 3 == 1 ? 1 : 2 * step + 3) : size;
		if (n > size - off)
			n = size - off;
		rc = kenc_reader_feed(r, data + off, n);
		off += n;
	}
	if (rc == 0)
		rc = kenc_reader_finish(r);
	else
		FUZZ_CHECK(kenc_reader_finish(r) == rc); /* errors are sticky */
	FUZZ_CHECK(rc <= 0);
	if (rc < 0)
		FUZZ_CHECK(rc == KAHU_EDATA || rc == KAHU_ECRYPTO);
	FUZZ_CHECK(kenc_reader_bytes_out(r) == s.n);
	FUZZ_CHECK(s.n <= size);
	res->rc = rc;
	res->out = s.n;
	crypto_generichash_final(&s.h, res->hash, sizeof res->hash);
	kenc_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole, split;
	uint8_t id[KAHU_KEY_ID_BYTES];

	read_object(data, size, 0, &whole);
	read_object(data, size, 1 + size % 61, &split);
	FUZZ_CHECK(whole.rc == split.rc);
	/* Plaintext is handed out chunk by chunk as each authenticates: an error may
	 * come after some of it, but both reads see the same chunks. */
	FUZZ_CHECK(whole.out == split.out && !memcmp(whole.hash, split.hash, sizeof whole.hash));
	if (whole.rc == 0) {
		FUZZ_CHECK(size >= KENC_HEADER_SIZE + KENC_CHUNK_OVERHEAD);
		/* (a full-size FINAL chunk, which kahu never writes, saves one empty chunk) */
		FUZZ_CHECK(kenc_encrypted_size(whole.out) <= size + KENC_CHUNK_OVERHEAD);
	}
	if (kenc_peek_key_id(data, size, id) == 0)
		FUZZ_CHECK(size >= KENC_PREFIX_LEN);
	return 0;
}

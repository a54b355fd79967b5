/* kahu — fuzz target: backup manifests (backups/<name>/backup.json; manifest_parse,
 * manifest_verify, manifest_load in src/archive/manifest.c), verified with the fixed
 * fuzz key and without a key.  A manifest that parses must be one kahu can write again
 * (manifest_to_json; format 2, whose objects may be bound to the run, only with a key),
 * and what it writes must parse to the same manifest and verify with the key it was
 * written with. */
#include "fuzz.h"

#include <stdbool.h>

#include "archive/key.h"
#include "archive/manifest.h"
#include "util/err.h"

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

static void same_manifest(const struct manifest *a, const struct manifest *b)
{
	FUZZ_CHECK(a->format == b->format);
	FUZZ_CHECK(!strcmp(a->run, b->run));
	FUZZ_CHECK(!strcmp(a->name, b->name) && !strcmp(a->kahu_version, b->kahu_version));
	FUZZ_CHECK(a->created == b->created && a->completed == b->completed &&
		   a->expires == b->expires);
	FUZZ_CHECK(a->status == b->status && a->type == b->type);
	FUZZ_CHECK(!a->parent == !b->parent && (!a->parent || !strcmp(a->parent, b->parent)));
	FUZZ_CHECK(!a->base == !b->base && (!a->base || !strcmp(a->base, b->base)));
	FUZZ_CHECK(a->n_labels == b->n_labels);
	for (size_t i = 0; i < a->n_labels; i++)
		FUZZ_CHECK(!strcmp(a->labels[i].key, b->labels[i].key) &&
			   !strcmp(a->labels[i].value, b->labels[i].value));
	FUZZ_CHECK(!memcmp(&a->counts, &b->counts, sizeof a->counts));
	FUZZ_CHECK(a->stored_bytes == b->stored_bytes);
	FUZZ_CHECK(!strcmp(a->scope_digest, b->scope_digest));
	FUZZ_CHECK(a->n_objects == b->n_objects);
	for (size_t i = 0; i < a->n_objects; i++)
		FUZZ_CHECK(!strcmp(a->objects[i].path, b->objects[i].path) &&
			   a->objects[i].size == b->objects[i].size &&
			   !strcmp(a->objects[i].blake2b, b->objects[i].blake2b) &&
			   !strcmp(a->objects[i].run, b->objects[i].run));
}

static void round_trip(const struct manifest *m, const struct kahu_key *k)
{
	char *text = NULL;
	struct manifest *m2 = NULL;

	if (manifest_to_json(m, k, &text) < 0) {
		fprintf(stderr, "a manifest that parses cannot be written: %s\n", kahu_error_last());
		FUZZ_CHECK(0);
	}
	if (manifest_load(text, strlen(text), k, &m2) < 0) {
		fprintf(stderr, "a written manifest does not load: %s\n%s", kahu_error_last(), text);
		FUZZ_CHECK(0);
	}
	same_manifest(m, m2);
	FUZZ_CHECK(m2->encrypted == (k != NULL) && m2->has_mac == (k != NULL));
	manifest_free(m2);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct manifest *m = NULL;

	int rc = manifest_parse(text, size, &m);
	if (rc < 0) {
		FUZZ_CHECK(rc == KAHU_EDATA && m == NULL);
		FUZZ_CHECK(manifest_verify(text, size, key) == KAHU_EDATA);
		return 0;
	}
	FUZZ_CHECK(m->has_mac == m->encrypted);
	FUZZ_CHECK(!m->has_mac == (manifest_auth_warning(m) != NULL));
	int v = manifest_verify(text, size, key);
	FUZZ_CHECK(v == 0 || v == KAHU_ECRYPTO);
	FUZZ_CHECK(v < 0 || m->has_mac); /* with a key, an unencrypted manifest is refused */
	int v0 = manifest_verify(text, size, NULL);
	FUZZ_CHECK(v0 == (m->has_mac ? KAHU_ECRYPTO : 0));
	struct manifest *l = NULL;
	FUZZ_CHECK(manifest_load(text, size, key, &l) == v && (v < 0) == (l == NULL));
	manifest_free(l);
	bool unhashed = false; /* objects bound to the run: encrypted, with a run */
	for (size_t i = 0; i < m->n_objects; i++)
		unhashed = unhashed || !m->objects[i].blake2b[0];
	FUZZ_CHECK(m->format >= MANIFEST_FORMAT_VERSION && m->format <= MANIFEST_FORMAT_XXH64);
	FUZZ_CHECK(m->format != MANIFEST_FORMAT_RUN || (m->encrypted && m->run[0]));
	FUZZ_CHECK(!unhashed || (m->format >= MANIFEST_FORMAT_RUN && m->encrypted && m->run[0]));
	/* format 2, and objects bound to the run, are written only with a key */
	if (m->format != MANIFEST_FORMAT_RUN && !unhashed)
		round_trip(m, NULL);
	round_trip(m, key);
	manifest_free(m);
	return 0;
}

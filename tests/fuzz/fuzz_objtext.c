/* kahu — libFuzzer target for reading an object's metadata from its text and writing
 * its stored form (src/kube/objtext.c).
 *
 * The input is one object's JSON text (what the list scanner hands on; here anything).
 * Invariants checked:
 *  - nothing reads or writes outside the input, whatever it is (ASan);
 *  - when jansson reads the input as an object (and it holds no NUL byte), the scan
 *    succeeds and agrees with jansson: metadata's name, namespace, uid and
 *    resourceVersion (when strings) and labels, whether apiVersion and kind are there
 *    and are strings, the object's own "spec" member (objtext_member);
 *  - its stored form (apiVersion inserted when it lacks one) is one line that jansson
 *    reads as the same object plus the inserted member; the same input gives the same
 *    bytes, and a compact input is kept byte for byte;
 *  - a scan that fails with what jansson refuses (numbers out of range, a NUL in a
 *    key) is about an input jansson refuses.
 *
 * Built by `make fuzz`; by hand, from the source tree:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc -Itests/fuzz \
 *     tests/fuzz/fuzz_objtext.c src/kube/objtext.c src/util/err.c src/util/mem.c \
 *     -ljansson -lsodium -o fuzz_objtext */
#include "fuzz.h"

#include <jansson.h>

#include "kube/objtext.h"
#include "util/err.h"

static void same(json_t *a, json_t *b)
{
	FUZZ_CHECK((a == NULL) == (b == NULL));
	FUZZ_CHECK(!a || json_equal(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct objtext ot;
	json_error_t jerr;
	int rc = objtext_scan(text, size, &ot);
	json_t *full = json_loadb(text, size, JSON_ALLOW_NUL, &jerr);
	int nul = memchr(data, '\0', size) != NULL;
	const char *v;
	size_t vl;

	(void)objtext_member(text, size, "metadata", &v, &vl);
	if (rc < 0) {
		const char *m = kahu_error_last();
		if (strstr(m, "too big") || strstr(m, "overflow") || strstr(m, "NUL byte"))
			FUZZ_CHECK(!json_is_object(full));
		FUZZ_CHECK(ot.summary == NULL);
		json_decref(full);
		return 0;
	}
	FUZZ_CHECK(json_is_object(ot.summary));
	if (json_is_object(full) && !nul) {
		json_t *md = json_object_get(full, "metadata");
		json_t *smd = json_object_get(ot.summary, "metadata");
		FUZZ_CHECK((md != NULL) == (smd != NULL));
		static const char *const keys[] = { "name", "namespace", "uid", "resourceVersion" };
		for (size_t i = 0; i < 4; i++) {
			json_t *x = json_object_get(md, keys[i]);
			same(json_is_string(x) ? x : NULL, json_object_get(smd, keys[i]));
		}
		same(json_object_get(md, "labels"), json_object_get(smd, "labels"));
		FUZZ_CHECK(ot.has_api_version == (json_object_get(full, "apiVersion") != NULL));
		FUZZ_CHECK(ot.api_version_string == json_is_string(json_object_get(full, "apiVersion")));
		FUZZ_CHECK(ot.has_kind == (json_object_get(full, "kind") != NULL));
		FUZZ_CHECK(ot.kind_string == json_is_string(json_object_get(full, "kind")));
		FUZZ_CHECK(ot.has_members == (json_object_size(full) > 0));

		json_t *spec = json_object_get(full, "spec");
		if (objtext_member(text, size, "spec", &v, &vl)) {
			json_t *got = json_loadb(v, vl, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
			FUZZ_CHECK(got && json_equal(got, spec));
			json_decref(got);
		} else {
			FUZZ_CHECK(spec == NULL);
		}

		const char *ins = ot.has_api_version ? "" : "\"apiVersion\":\"fuzz/v1\"";
		size_t n1, n2;
		char *s1 = objtext_store(text, size, ins, strlen(ins), ot.compact, &n1);
		char *s2 = objtext_store(text, size, ins, strlen(ins), ot.compact, &n2);
		FUZZ_CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0);
		FUZZ_CHECK(!memchr(s1, '\n', n1));
		if (ot.compact && !*ins && size && text[0] == '{')
			FUZZ_CHECK(n1 == size && memcmp(s1, text, size) == 0);
		json_t *back = json_loadb(s1, n1, JSON_ALLOW_NUL, NULL);
		if (!ot.has_api_version)
			json_object_set_new(full, "apiVersion", json_string("fuzz/v1"));
		FUZZ_CHECK(back && json_equal(back, full));
		json_decref(back);
		free(s1);
		free(s2);
	}
	objtext_clear(&ot);
	json_decref(full);
	return 0;
}

/* Unit tests: authenticated plain records (a restore's summary). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "check_main.h"
#include "archive/key.h"
#include "archive/record.h"
#include "util/err.h"
#include "util/mem.h"

#define PATH "restores/r1/restore.json"
#define WHAT "the record of restore r1"

static struct kahu_key *test_key(uint8_t seed)
{
	uint8_t m[KAHU_KEY_BYTES];
	struct kahu_key *k = NULL;
	for (size_t i = 0; i < sizeof m; i++)
		m[i] = (uint8_t)(seed * 31 + i);
	ck_assert_int_eq(kahu_key_from_bytes(m, &k), 0);
	return k;
}

static json_t *sample(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i}, s:[s], s:b}",
			 "name", "r1", "backup", "nightly", "status", "PartiallyFailed",
			 "started", "2025-01-02T03:04:05Z", "completed", "2025-01-02T03:05:00Z",
			 "counts", "items", 12, "created", 9, "updated", 0, "skipped", 2,
			 "failed", 1, "warnings", "a warning", "encrypted", 1);
}

/* Seal, serialize as stored (indented), parse back. */
static json_t *stored(const struct kahu_key *k, const char *path)
{
	json_t *doc = sample(), *back = NULL;
	record_seal(doc, k, path);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	ck_assert_int_eq(record_parse(text, strlen(text), WHAT, &back), 0);
	free(text);
	json_decref(doc);
	return back;
}

START_TEST(test_roundtrip)
{
	struct kahu_key *k = test_key(1);
	char id[KAHU_KEY_ID_HEX_LEN + 1];
	json_t *doc = stored(k, PATH);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "key_id")), kahu_key_id_hex(k, id));
	ck_assert_uint_eq(json_string_length(json_object_get(doc, "mac")), 64);
	ck_assert(record_is_sealed(doc));
	ck_assert_int_eq(record_verify(doc, k, PATH, WHAT), RECORD_AUTHENTIC);
	/* sealing again gives the same MAC (deterministic, "mac" itself not covered) */
	json_t *again = json_deep_copy(doc);
	record_seal(again, k, PATH);
	ck_assert(json_equal(again, doc));
	json_decref(again);
	json_decref(doc);
	kahu_key_free(k);
}
END_TEST

/* The MAC is over the canonical serialization: the stored layout does not matter. */
START_TEST(test_layout_independent)
{
	struct kahu_key *k = test_key(2);
	json_t *doc = sample(), *back = NULL;
	record_seal(doc, k, PATH);
	char *text = json_dumps(doc, JSON_COMPACT);
	ck_assert_int_eq(record_parse(text, strlen(text), WHAT, &back), 0);
	ck_assert_int_eq(record_verify(back, k, PATH, WHAT), RECORD_AUTHENTIC);
	free(text);
	json_decref(back);
	json_decref(doc);
	kahu_key_free(k);
}
END_TEST

static int verify_after(const struct kahu_key *k, void (*edit)(json_t *))
{
	json_t *doc = stored(k, PATH);
	edit(doc);
	int rc = record_verify(doc, k, PATH, WHAT);
	json_decref(doc);
	return rc;
}

static void set_failed0(json_t *d) { json_object_set_new(json_object_get(d, "counts"), "failed", json_integer(0)); }
static void set_status(json_t *d) { json_object_set_new(d, "status", json_string("Completed")); }
static void set_unencrypted(json_t *d) { json_object_set_new(d, "encrypted", json_false()); }
static void add_member(json_t *d) { json_object_set_new(d, "note", json_string("hi")); }
static void drop_member(json_t *d) { json_object_del(d, "warnings"); }
static void drop_mac(json_t *d) { json_object_del(d, "mac"); }
static void drop_key_id(json_t *d) { json_object_del(d, "key_id"); }
static void drop_both(json_t *d) { json_object_del(d, "mac"); json_object_del(d, "key_id"); }
static void bad_mac_hex(json_t *d) { json_object_set_new(d, "mac", json_string("XYZ")); }
static void mac_not_string(json_t *d) { json_object_set_new(d, "mac", json_integer(5)); }
static void other_key_id(json_t *d) { json_object_set_new(d, "key_id", json_string("00112233445566778899aabbccddeeff")); }

START_TEST(test_tampered)
{
	struct kahu_key *k = test_key(3);
	ck_assert_int_eq(verify_after(k, set_failed0), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), WHAT " failed authentication"));
	ck_assert_int_eq(verify_after(k, set_status), KAHU_ECRYPTO);
	ck_assert_int_eq(verify_after(k, set_unencrypted), KAHU_ECRYPTO);
	ck_assert_int_eq(verify_after(k, add_member), KAHU_ECRYPTO);
	ck_assert_int_eq(verify_after(k, drop_member), KAHU_ECRYPTO);
	/* half a seal is an alteration */
	ck_assert_int_eq(verify_after(k, drop_mac), KAHU_EDATA);
	ck_assert_int_eq(verify_after(k, drop_key_id), KAHU_EDATA);
	ck_assert_int_eq(verify_after(k, bad_mac_hex), KAHU_EDATA);
	ck_assert_int_eq(verify_after(k, mac_not_string), KAHU_EDATA);
	/* another key id: both are named */
	ck_assert_int_eq(verify_after(k, other_key_id), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "00112233445566778899aabbccddeeff"));
	/* no seal at all: the caller decides */
	ck_assert_int_eq(verify_after(k, drop_both), RECORD_UNSEALED);
	kahu_key_free(k);
}
END_TEST

/* Every single-bit flip of the stored text is detected: it no longer parses, or fails
 * authentication, or (a flip in insignificant white space) still verifies unchanged. */
START_TEST(test_bit_flips)
{
	struct kahu_key *k = test_key(4);
	json_t *doc = sample();
	record_seal(doc, k, PATH);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	size_t n = strlen(text);
	long undetected = 0;
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			char *t = xmalloc(n);
			memcpy(t, text, n);
			t[i] = (char)(t[i] ^ (1 << bit));
			json_t *back = NULL;
			int rc = record_parse(t, n, WHAT, &back);
			if (rc == 0) {
				rc = record_verify(back, k, PATH, WHAT);
				if (rc == RECORD_AUTHENTIC && !json_equal(back, doc))
					undetected++;
				if (rc == RECORD_UNSEALED)
					undetected++;
			}
			json_decref(back);
			free(t);
		}
	}
	ck_assert_int_eq(undetected, 0);
	free(text);
	json_decref(doc);
	kahu_key_free(k);
}
END_TEST

START_TEST(test_bound_to_path_and_key)
{
	struct kahu_key *k = test_key(5), *other = test_key(6);
	json_t *doc = stored(k, PATH);
	/* a record copied over another restore's */
	ck_assert_int_eq(record_verify(doc, k, "restores/r2/restore.json", WHAT), KAHU_ECRYPTO);
	/* without the key: a sealed record cannot be authenticated */
	ck_assert_int_eq(record_verify(doc, NULL, PATH, WHAT), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "only be authenticated with that key"));
	/* with another key: named */
	ck_assert_int_eq(record_verify(doc, other, PATH, WHAT), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "the key in use"));
	/* the subkey is its own: the manifest MAC of the same bytes differs */
	json_t *copy = json_deep_copy(doc);
	json_object_del(copy, "mac");
	char *canon = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
	uint8_t m[KAHU_MAC_BYTES];
	char hex[2 * KAHU_MAC_BYTES + 1];
	kahu_key_mac(k, canon, strlen(canon), m);
	sodium_bin2hex(hex, sizeof hex, m, sizeof m);
	ck_assert_str_ne(hex, json_string_value(json_object_get(doc, "mac")));
	free(canon);
	json_decref(copy);
	json_decref(doc);
	kahu_key_free(k);
	kahu_key_free(other);
}
END_TEST

START_TEST(test_parse)
{
	json_t *doc = NULL;
	ck_assert_int_eq(record_parse("{\"a\":1}", 7, WHAT, &doc), 0);
	json_decref(doc);
	ck_assert_int_eq(record_parse("{\"a\":1", 6, WHAT, &doc), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), WHAT " is not valid JSON"));
	ck_assert_int_eq(record_parse("[1]", 3, WHAT, &doc), KAHU_EDATA);
	ck_assert_int_eq(record_parse("{\"a\":1,\"a\":2}", 13, WHAT, &doc), KAHU_EDATA);
	ck_assert_ptr_null(doc);
}
END_TEST

static Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("record");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_layout_independent);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_bit_flips);
	tcase_add_test(tc, test_bound_to_path_and_key);
	tcase_add_test(tc, test_parse);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(record_suite)

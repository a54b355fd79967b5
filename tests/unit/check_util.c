#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "check_main.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/strv.h"
#include "util/strset.h"
#include "util/timeutil.h"
#include "util/xxh64.h"

START_TEST(test_buf_append)
{
	struct kbuf b = KBUF_INIT;
	ck_assert_str_eq(kbuf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		kbuf_addf(&b, "%d,", i);
	ck_assert_uint_eq(b.len, strlen(b.data));
	ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
	kbuf_reset(&b);
	ck_assert_str_eq(kbuf_str(&b), "");
	kbuf_add(&b, "a\0b", 3);
	ck_assert_uint_eq(b.len, 3);
	char *s = kbuf_detach(&b);
	ck_assert_ptr_null(b.data);
	free(s);
	kbuf_free(&b);
}
END_TEST

static void printable_is(const char *in, int keep_newline, const char *want)
{
	struct kbuf b = KBUF_INIT;
	kbuf_add_printable(&b, in, keep_newline);
	ck_assert_str_eq(kbuf_str(&b), want);
	kbuf_free(&b);
}

START_TEST(test_buf_printable)
{
	printable_is("web-1", 0, "web-1");
	printable_is("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", 0,
		     "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"); /* UTF-8 kept */
	printable_is("a\tb\rc\nd", 0, "a\\tb\\rc\\nd");
	printable_is("line1\nline2", 1, "line1\nline2");
	printable_is("x\x1b]0;owned\x07y", 0, "x\\x1b]0;owned\\x07y"); /* OSC title */
	printable_is("\x1b[2J", 1, "\\x1b[2J");
	printable_is("del\x7f", 0, "del\\x7f");
	printable_is("c1\xc2\x9b", 0, "c1\\u009b");                  /* U+009B CSI */
	printable_is("bad\xff\xc3", 0, "bad\\xff\\xc3");            /* not UTF-8 */
	printable_is("\xc0\xaf", 0, "\\xc0\\xaf");                   /* overlong '/' */
	printable_is("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");         /* a surrogate */
}
END_TEST

START_TEST(test_strv_split)
{
	struct strv s = STRV_INIT;
	strv_split(&s, " a, b ,,c ,", ',');
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.v[0], "a");
	ck_assert_str_eq(s.v[1], "b");
	ck_assert_str_eq(s.v[2], "c");
	ck_assert_ptr_null(s.v[3]);
	ck_assert(strv_contains(&s, "b"));
	ck_assert(!strv_contains(&s, "d"));
	char *j = strv_join(&s, "|");
	ck_assert_str_eq(j, "a|b|c");
	free(j);
	strv_free(&s);
}
END_TEST

START_TEST(test_error_wrap)
{
	kahu_error_clear();
	ck_assert_str_eq(kahu_error_last(), "");
	ck_assert_int_eq(kahu_error_set(KAHU_EIO, "cannot read %s", "x"), KAHU_EIO);
	kahu_error_wrap(KAHU_EDATA, "loading %s", "y");
	ck_assert_str_eq(kahu_error_last(), "loading y: cannot read x");
	ck_assert_int_eq(kahu_error_code(), KAHU_EDATA);
	ck_assert_str_eq(kahu_err_name(KAHU_EDATA), "EDATA");
}
END_TEST

START_TEST(test_strset_map)
{
	struct strset s = STRSET_INIT;
	char k[32];
	ck_assert(!strset_has(&s, "x"));
	ck_assert_ptr_null(strset_get(&s, "x"));
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof k, "key-%d", i);
		ck_assert_int_eq(strset_add(&s, k), 1);
	}
	ck_assert_int_eq(strset_add(&s, "key-42"), 0);
	ck_assert_uint_eq(s.n, 5000);
	strset_put(&s, "key-42", "v1");
	strset_put(&s, "key-42", "v2");
	strset_put(&s, "new", "v3");
	for (int i = 0; i < 5000; i++) {
		snprintf(k, sizeof k, "key-%d", i);
		ck_assert(strset_has(&s, k));
	}
	ck_assert_str_eq(strset_get(&s, "key-42"), "v2");
	ck_assert_str_eq(strset_get(&s, "new"), "v3");
	ck_assert_ptr_null(strset_get(&s, "key-7"));
	ck_assert_uint_eq(s.n, 5001);
	strset_free(&s);
}
END_TEST

START_TEST(test_durations)
{
	int64_t s = -1;
	char buf[32];
	ck_assert_int_eq(duration_parse("720h", "--ttl", &s), 0);
	ck_assert_int_eq(s, 720 * 3600);
	ck_assert_int_eq(duration_parse("1d2h3m4s", "--ttl", &s), 0);
	ck_assert_int_eq(s, 86400 + 7200 + 180 + 4);
	ck_assert_int_eq(duration_parse("0", "--ttl", &s), 0);
	ck_assert_int_eq(s, 0);
	ck_assert_int_eq(duration_parse("12", "--ttl", &s), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--ttl: invalid duration \"12\""));
	ck_assert_int_eq(duration_parse("h", "--ttl", &s), KAHU_EUSAGE);
	ck_assert_int_eq(duration_parse("5x", "--ttl", &s), KAHU_EUSAGE);
	ck_assert_int_eq(duration_parse("", "--ttl", &s), KAHU_EUSAGE);
	ck_assert_int_eq(duration_parse("-5h", "--ttl", &s), KAHU_EUSAGE);
	duration_format(90061, buf, sizeof buf);
	ck_assert_str_eq(buf, "1d1h");
	duration_format(59, buf, sizeof buf);
	ck_assert_str_eq(buf, "59s");
	time_rfc3339(0, buf, sizeof buf);
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
}
END_TEST

/* XXH64 against xxhsum 0.8.1 (`xxhsum -H1`) of byte k = (k * 131 + 7) & 255, at every
 * length class (the < 4, < 8, < 32 byte tails, whole stripes and more), in one call and
 * fed one byte, then 7 bytes, at a time (the partial-stripe buffer). */
START_TEST(test_xxh64_vectors)
{
	static const struct {
		size_t n;
		const char *hex;
	} v[] = { { 0, "ef46db3751d8e999" },    { 1, "a96c7f0ce858bbb7" },    { 3, "bed43740ee6332bb" },
		  { 4, "fa212ae44b3bb23d" },    { 7, "2744460dd675d2c0" },    { 8, "994b676b71ce94dd" },
		  { 9, "572b84c18b983af8" },    { 15, "09e6451ed2ff8b1d" },   { 16, "94ad0095e72b24d5" },
		  { 31, "6711d55e306b5d8f" },   { 32, "07f7b8e3bc5d6e25" },   { 33, "09f85eeb4e1cbe9f" },
		  { 63, "b7c9968c066cb6a5" },   { 64, "50d4159a0411632e" },   { 100, "9ddada11d3dc2d8f" },
		  { 1000, "0bf0bdbcc82eb373" }, { 65541, "8b460ea71f66e0f4" } };
	unsigned char *data = xmalloc(65541);
	for (size_t k = 0; k < 65541; k++)
		data[k] = (unsigned char)((k * 131 + 7) & 255);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct kahu_xxh64 h;
		char hex[KAHU_XXH64_HEX_LEN + 1];
		kahu_xxh64_init(&h);
		kahu_xxh64_update(&h, data, v[i].n);
		kahu_xxh64_hex(&h, hex);
		ck_assert_msg(!strcmp(hex, v[i].hex), "length %zu: %s, want %s", v[i].n, hex, v[i].hex);
		ck_assert_uint_eq(kahu_xxh64(data, v[i].n), strtoull(v[i].hex, NULL, 16));
		for (size_t step = 1; step <= 7; step += 6) {
			kahu_xxh64_init(&h);
			for (size_t k = 0; k < v[i].n; k += step)
				kahu_xxh64_update(&h, data + k, v[i].n - k < step ? v[i].n - k : step);
			kahu_xxh64_hex(&h, hex);
			ck_assert_msg(!strcmp(hex, v[i].hex), "length %zu in steps of %zu: %s", v[i].n, step, hex);
		}
	}
	ck_assert_uint_eq(kahu_xxh64("abc", 3), 0x44bc2cf5ad770999ULL);
	free(data);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_buf_append);
	tcase_add_test(tc, test_buf_printable);
	tcase_add_test(tc, test_strv_split);
	tcase_add_test(tc, test_error_wrap);
	tcase_add_test(tc, test_strset_map);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_xxh64_vectors);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(util_suite)

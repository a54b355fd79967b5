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
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(util_suite)

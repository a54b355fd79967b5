/* Time zones from TZif files (util/tzif.h): files built here byte by byte (version 1,
 * version 2 with footers of every rule form), the committed copies of real zones
 * (tests/unit/data/zoneinfo), malformed files refused with a precise message, every
 * truncation of a valid file refused, zone names, and the calendar helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "util/err.h"
#include "util/timeutil.h"
#include "util/tzif.h"

/* ---- a TZif writer for the tests */

struct tzb {
	unsigned char b[8192];
	size_t n;
};

static void put8(struct tzb *z, unsigned v) { z->b[z->n++] = (unsigned char)v; }
static void put32(struct tzb *z, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		put8(z, (v >> (8 * i)) & 0xff);
}
static void put64(struct tzb *z, int64_t v)
{
	put32(z, (uint32_t)((uint64_t)v >> 32));
	put32(z, (uint32_t)v);
}

struct zdef {
	char version;              /* 0, '2', '3' */
	size_t ntrans;
	const int64_t *trans;
	const unsigned char *idx;
	size_t ntypes;
	const int32_t *off;
	const char *footer;        /* v2+: the TZ string (NULL: "") */
	uint32_t leapcnt;          /* counts written as given (the data follows them) */
};

static void header(struct tzb *z, char version, uint32_t isut, uint32_t isstd, uint32_t leap, uint32_t timecnt,
		   uint32_t typecnt, uint32_t charcnt)
{
	memcpy(z->b + z->n, "TZif", 4);
	z->n += 4;
	put8(z, (unsigned char)version);
	for (int i = 0; i < 15; i++)
		put8(z, 0);
	put32(z, isut);
	put32(z, isstd);
	put32(z, leap);
	put32(z, timecnt);
	put32(z, typecnt);
	put32(z, charcnt);
}

static void block(struct tzb *z, const struct zdef *d, int wide)
{
	header(z, d->version, 0, 0, d->leapcnt, (uint32_t)d->ntrans, (uint32_t)d->ntypes, 4);
	for (size_t i = 0; i < d->ntrans; i++)
		wide ? put64(z, d->trans[i]) : put32(z, (uint32_t)d->trans[i]);
	for (size_t i = 0; i < d->ntrans; i++)
		put8(z, d->idx[i]);
	for (size_t i = 0; i < d->ntypes; i++) {
		put32(z, (uint32_t)d->off[i]);
		put8(z, 0);
		put8(z, 0);
	}
	memcpy(z->b + z->n, "ZZZ", 4);
	z->n += 4;
	for (uint32_t i = 0; i < d->leapcnt; i++) {
		wide ? put64(z, 0) : put32(z, 0);
		put32(z, 1);
	}
}

static void build(struct tzb *z, const struct zdef *d)
{
	z->n = 0;
	block(z, d, 0);
	if (d->version) {
		block(z, d, 1);
		const char *f = d->footer ? d->footer : "";
		z->b[z->n++] = '\n';
		memcpy(z->b + z->n, f, strlen(f));
		z->n += strlen(f);
		z->b[z->n++] = '\n';
	}
}

static int64_t at(const char *s)
{
	int64_t t;
	ck_assert_msg(kahu_time_parse(s, KAHU_TIME_UTC, &t) == 0, "bad time %s", s);
	return t;
}

static struct tzif *footer_zone(const char *footer)
{
	static const int32_t off[] = { 0 };
	struct zdef d = { '2', 0, NULL, NULL, 1, off, footer, 0 };
	struct tzb b;
	struct tzif *z;
	build(&b, &d);
	ck_assert_msg(tzif_parse(b.b, b.n, "test", &z) == 0, "%s: %s", footer, kahu_error_last());
	return z;
}

/* The offset changes from `before` to `after` exactly at instant `when`. */
static void change_at(const struct tzif *z, const char *when, int32_t before, int32_t after)
{
	int64_t t = at(when);
	ck_assert_msg(tzif_offset(z, t - 1) == before, "%s - 1s: %d, expected %d", when, tzif_offset(z, t - 1), before);
	ck_assert_msg(tzif_offset(z, t) == after, "%s: %d, expected %d", when, tzif_offset(z, t), after);
}

START_TEST(test_footer_rules)
{
	struct tzif *z = footer_zone("CET-1CEST,M3.5.0,M10.5.0/3");
	change_at(z, "2026-03-29T01:00:00Z", 3600, 7200);
	change_at(z, "2026-10-25T01:00:00Z", 7200, 3600);
	change_at(z, "2100-03-28T01:00:00Z", 3600, 7200);
	tzif_free(z);
	/* Southern hemisphere: daylight time across the new year. */
	z = footer_zone("AEST-10AEDT,M10.1.0,M4.1.0/3");
	change_at(z, "2026-04-04T16:00:00Z", 39600, 36000);
	change_at(z, "2026-10-03T16:00:00Z", 36000, 39600);
	ck_assert_int_eq(tzif_offset(z, at("2027-01-01T00:00:00Z")), 39600);
	ck_assert_int_eq(tzif_offset(z, at("2026-07-01T00:00:00Z")), 36000);
	tzif_free(z);
	/* Jn never counts February 29; n does (zero-based); default time 02:00. */
	z = footer_zone("EST5EDT,J60,300/1:30");
	change_at(z, "2028-03-01T07:00:00Z", -18000, -14400);
	change_at(z, "2028-10-27T05:30:00Z", -14400, -18000); /* day 300 of a leap year: Oct 27 */
	tzif_free(z);
	z = footer_zone("EST5EDT,59,J300");
	change_at(z, "2028-02-29T07:00:00Z", -18000, -14400); /* day 59 (zero-based) of 2028 */
	change_at(z, "2027-03-01T07:00:00Z", -18000, -14400);
	change_at(z, "2027-10-27T06:00:00Z", -14400, -18000);
	tzif_free(z);
	/* RFC 8536 version 3: negative and large rule times; the fifth week is the last. */
	z = footer_zone("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1");
	change_at(z, "2026-03-29T01:00:00Z", -10800, -7200);
	change_at(z, "2026-10-25T01:00:00Z", -7200, -10800);
	tzif_free(z);
	z = footer_zone("XXX0YYY-2,M3.1.0/167,M11.1.0/-167");
	change_at(z, "2026-03-07T23:00:00Z", 0, 7200);  /* Sunday March 1 + 167 h */
	change_at(z, "2026-10-24T23:00:00Z", 7200, 0);  /* Sunday November 1 - 167 h (local daylight time) */
	tzif_free(z);
	/* Fixed offsets, quoted and with minutes; an empty footer: the last type stays. */
	z = footer_zone("<+0530>-5:30");
	ck_assert_int_eq(tzif_offset(z, at("2040-01-01T00:00:00Z")), 19800);
	tzif_free(z);
	z = footer_zone("UTC0");
	ck_assert_int_eq(tzif_offset(z, 0), 0);
	tzif_free(z);
}
END_TEST

START_TEST(test_table)
{
	static const int64_t trans[] = { 1000, 2000, 3000 };
	static const unsigned char idx[] = { 1, 0, 1 };
	static const int32_t off[] = { 3600, 7200 };
	for (int v = 0; v < 2; v++) {
		struct zdef d = { v ? '2' : 0, 3, trans, idx, 2, off, NULL, 0 };
		struct tzb b;
		struct tzif *z;
		build(&b, &d);
		ck_assert_msg(tzif_parse(b.b, b.n, "t", &z) == 0, "%s", kahu_error_last());
		ck_assert_int_eq(tzif_offset(z, -100000), 3600); /* before the first: type 0 */
		ck_assert_int_eq(tzif_offset(z, 999), 3600);
		ck_assert_int_eq(tzif_offset(z, 1000), 7200);
		ck_assert_int_eq(tzif_offset(z, 1999), 7200);
		ck_assert_int_eq(tzif_offset(z, 2000), 3600);
		ck_assert_int_eq(tzif_offset(z, 3000), 7200);
		ck_assert_int_eq(tzif_offset(z, (int64_t)1 << 40), 7200); /* no footer rule: the last type */
		ck_assert_str_eq(tzif_name(z), "t");
		tzif_free(z);
	}
	/* A version 2 file whose version 1 part is empty (no types: readers skip it). */
	{
		struct zdef d2 = { '2', 3, trans, idx, 2, off, "", 0 };
		struct tzb full, slim;
		build(&full, &d2);
		slim.n = 0;
		header(&slim, '2', 0, 0, 0, 0, 0, 0);
		size_t v1 = 44 + 3 * 5 + 2 * 6 + 4;
		memcpy(slim.b + slim.n, full.b + v1, full.n - v1);
		slim.n += full.n - v1;
		struct tzif *zs;
		ck_assert_msg(tzif_parse(slim.b, slim.n, "slim", &zs) == 0, "%s", kahu_error_last());
		ck_assert_int_eq(tzif_offset(zs, 1500), 7200);
		tzif_free(zs);
	}
	/* With a footer, the rule takes over after the last transition. */
	struct zdef d = { '2', 3, trans, idx, 2, off, "<+01>-1", 0 };
	struct tzb b;
	struct tzif *z;
	build(&b, &d);
	ck_assert_int_eq(tzif_parse(b.b, b.n, "t", &z), 0);
	ck_assert_int_eq(tzif_offset(z, 2999), 3600);
	ck_assert_int_eq(tzif_offset(z, 3000), 3600);
	tzif_free(z);
}
END_TEST

START_TEST(test_real_zones)
{
	setenv("TZDIR", TEST_DATA_DIR "/zoneinfo", 1);
	struct tzif *z;
	int64_t first;
	ck_assert_int_eq(tzif_load("Europe/Berlin", &z), 0);
	change_at(z, "2026-03-29T01:00:00Z", 3600, 7200);
	change_at(z, "1980-04-06T01:00:00Z", 3600, 7200);
	change_at(z, "2045-10-29T01:00:00Z", 7200, 3600); /* past the table: the footer */
	/* 2026-03-29 02:30 does not exist: the gap ends at 01:00Z (03:00 CEST). */
	ck_assert_int_eq(tzif_resolve(z, at("2026-03-29T02:30:00Z"), &first), 0);
	ck_assert_int_eq(first, at("2026-03-29T01:00:00Z"));
	/* 2026-10-25 02:30 occurs twice: 00:30Z (CEST) first, then 01:30Z (CET). */
	ck_assert_int_eq(tzif_resolve(z, at("2026-10-25T02:30:00Z"), &first), 2);
	ck_assert_int_eq(first, at("2026-10-25T00:30:00Z"));
	ck_assert_int_eq(tzif_resolve(z, at("2026-07-01T12:00:00Z"), &first), 1);
	ck_assert_int_eq(first, at("2026-07-01T10:00:00Z"));
	ck_assert_int_eq(tzif_local(z, at("2026-07-01T10:00:00Z")), at("2026-07-01T12:00:00Z"));
	tzif_free(z);
	ck_assert_int_eq(tzif_load("Australia/Sydney", &z), 0);
	change_at(z, "2026-04-04T16:00:00Z", 39600, 36000);
	ck_assert_int_eq(tzif_resolve(z, at("2026-10-04T02:15:00Z"), &first), 0);
	ck_assert_int_eq(first, at("2026-10-03T16:00:00Z"));
	tzif_free(z);
	ck_assert_int_eq(tzif_load("Asia/Kolkata", &z), 0);
	ck_assert_int_eq(tzif_offset(z, at("2026-01-01T00:00:00Z")), 19800);
	tzif_free(z);
	/* UTC needs no file. */
	setenv("TZDIR", "/nonexistent", 1);
	const char *utc[] = { NULL, "", "UTC" };
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(tzif_load(utc[i], &z), 0);
		ck_assert_str_eq(tzif_name(z), "UTC");
		ck_assert_int_eq(tzif_offset(z, 123456789), 0);
		ck_assert_int_eq(tzif_resolve(z, 42, &first), 1);
		ck_assert_int_eq(first, 42);
		tzif_free(z);
	}
}
END_TEST

START_TEST(test_names)
{
	setenv("TZDIR", TEST_DATA_DIR "/zoneinfo", 1);
	struct tzif *z = NULL;
	static const char *bad[] = { "/etc/localtime", "../x", "Europe/../Europe/Berlin", "Europe//Berlin",
				     "Europe/Berlin/", "./Europe/Berlin", "Europe/Ber lin", "Europe/Berlin\n", "a\\b" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_msg(tzif_load(bad[i], &z) == KAHU_EUSAGE, "%s", bad[i]);
		ck_assert_ptr_null(z);
		ck_assert_msg(strstr(kahu_error_last(), "is not a zone name"), "%s", kahu_error_last());
	}
	ck_assert_int_eq(tzif_load("Europe/Paris", &z), KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(), "unknown time zone \"Europe/Paris\" (no " TEST_DATA_DIR "/zoneinfo/Europe/Paris)");
	ck_assert_int_eq(tzif_load("Europe", &z), KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(), "unknown time zone \"Europe\" (" TEST_DATA_DIR "/zoneinfo/Europe is not a zone file)");
	ck_assert_int_eq(tzif_load("Europe/Berlin/x", &z), KAHU_ENOTFOUND);
	/* A file that is not TZif. */
	char dir[] = "/tmp/check_tzif.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/Bad", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("CET-1CEST,M3.5.0,M10.5.0/3\n", f);
	fclose(f);
	setenv("TZDIR", dir, 1);
	ck_assert_int_eq(tzif_load("Bad", &z), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), "time zone Bad: not a valid TZif file: shorter than its header");
	unlink(path);
	rmdir(dir);
}
END_TEST

struct bad_case {
	const char *what;
	const char *msg;
};

/* Each malformed file, built from a valid one by one change. */
static size_t malformed(int k, struct tzb *b, const char **msg)
{
	static const int64_t trans[] = { 1000, 2000 };
	static const unsigned char idx[] = { 1, 0 };
	static const int32_t off[] = { 3600, 7200 };
	struct zdef d = { '2', 2, trans, idx, 2, off, "CET-1CEST,M3.5.0,M10.5.0/3", 0 };
	static const int64_t trans_desc[] = { 2000, 1000 };
	static const unsigned char idx_bad[] = { 1, 2 };
	static const int32_t off_bad[] = { 3600, 100000 };
	/* offsets in the file: header 44; v1 block: 2*4 + 2 + 2*6 + 4 = 26 → v2 header at 70 */
	size_t v2 = 44 + 26;
	switch (k) {
	case 0: build(b, &d); b->n = 0; *msg = "shorter than its header"; break;
	case 1: build(b, &d); b->b[0] = 'X'; *msg = "no TZif magic"; break;
	case 2: build(b, &d); b->b[4] = '5'; *msg = "unknown version"; break;
	case 3: build(b, &d); b->b[v2 + 4] = 0; *msg = "second header of version 1"; break;
	case 4: d.ntypes = 0; build(b, &d); *msg = "no local time types, or more than 256"; break;
	case 5: build(b, &d); memset(b->b + v2 + 40, 0, 4); *msg = "no time zone designations"; break;
	case 6: build(b, &d); b->b[v2 + 23] = 1; *msg = "UT/local or standard/wall indicators do not match the types"; break;
	case 7: d.leapcnt = 1; build(b, &d); *msg = "leap-second records"; break;
	case 8: build(b, &d); b->b[v2 + 35] = 200; *msg = "truncated data block"; break;
	case 9: d.trans = trans_desc; build(b, &d); *msg = "transition times not in ascending order"; break;
	case 10: d.idx = idx_bad; build(b, &d); *msg = "a transition names a local time type that does not exist"; break;
	case 11: d.off = off_bad; build(b, &d); *msg = "a UT offset beyond -24:59:59..+25:59:59"; break;
	case 12: build(b, &d); b->b[v2 + 44 + 16 + 2 + 4] = 2; *msg = "a DST indicator other than 0 or 1"; break;
	case 13: build(b, &d); b->b[v2 + 44 + 16 + 2 + 5] = 9; *msg = "a designation index beyond the designations"; break;
	case 14: build(b, &d); b->b[v2 + 44 + 16 + 2 + 12 + 3] = 'Z'; *msg = "designations not NUL-terminated"; break;
	case 15: d.footer = NULL; build(b, &d); b->n -= 2; *msg = "no footer after the version 2 data"; break;
	case 16: build(b, &d); b->n -= 1; *msg = "footer not ended by a newline"; break;
	case 17: build(b, &d); b->b[b->n++] = 'x'; *msg = "data after the footer"; break;
	case 18: d.footer = "CET"; build(b, &d); *msg = "malformed POSIX TZ string in the footer"; break;
	case 19: d.footer = "C-1"; build(b, &d); *msg = "malformed POSIX TZ string in the footer"; break;
	case 20: d.footer = "CET-25"; build(b, &d); *msg = "malformed POSIX TZ string in the footer"; break;
	case 21: d.footer = "CET-1CEST"; build(b, &d); *msg = "malformed daylight time rule in the footer"; break;
	case 22: d.footer = "CET-1CEST,M3.5.0"; build(b, &d); *msg = "malformed daylight time rule in the footer"; break;
	case 23: d.footer = "CET-1CEST,M13.1.0,M10.5.0"; build(b, &d); *msg = "malformed daylight time rule in the footer"; break;
	case 24: d.footer = "CET-1CEST,M3.6.0,M10.5.0"; build(b, &d); *msg = "malformed daylight time rule in the footer"; break;
	case 25: d.footer = "CET-1CEST,J0,J365"; build(b, &d); *msg = "malformed daylight time rule in the footer"; break;
	case 26: d.footer = "CET-1CEST,M3.5.0/168,M10.5.0"; build(b, &d); *msg = "malformed daylight time rule in the footer"; break;
	case 27: d.footer = "CET-1CEST,M3.5.0,M10.5.0 "; build(b, &d); *msg = "malformed daylight time rule in the footer"; break;
	case 28: d.footer = "CET-1CE5T,M3.5.0,M10.5.0"; build(b, &d); *msg = "malformed daylight time name in the footer"; break;
	case 29: d.footer = "CET-1CEST+x,M3.5.0,M10.5.0"; build(b, &d); *msg = "malformed daylight time offset in the footer"; break;
	case 30: d.footer = "<+25>-24:59:59<+26>-25,M3.5.0,M10.5.0"; build(b, &d); *msg = "malformed daylight time offset in the footer"; break;
	case 31: d.footer = "<AB>-1"; build(b, &d); *msg = "malformed POSIX TZ string in the footer"; break;
	case 32: d.version = 0; d.footer = NULL; build(b, &d); b->b[b->n++] = 0; *msg = "data after the version 1 data"; break;
	case 33: build(b, &d); b->b[v2 + 44] = 0; b->b[v2 + 45] = 0; b->b[v2 + 46] = 0; b->b[v2 + 47] = 0;
		b->b[v2 + 48] = 0x80; *msg = "transition times not in ascending order"; break;
	default: return 0;
	}
	return 1;
}

START_TEST(test_malformed)
{
	struct tzb b;
	const char *msg;
	ck_assert(malformed(_i, &b, &msg));
	struct tzif *z = (struct tzif *)1;
	int rc = tzif_parse(b.b, b.n, "Test/Zone", &z);
	ck_assert_msg(rc == KAHU_EDATA, "case %d: %d (%s)", _i, rc, kahu_error_last());
	ck_assert_ptr_null(z);
	char want[256];
	if (strstr(msg, "leap-second"))
		snprintf(want, sizeof want, "time zone Test/Zone has %s", msg);
	else
		snprintf(want, sizeof want, "time zone Test/Zone: not a valid TZif file: %s", msg);
	ck_assert_msg(strncmp(kahu_error_last(), want, strlen(want)) == 0, "case %d: \"%s\", expected \"%s\"", _i,
		      kahu_error_last(), want);
}
END_TEST

START_TEST(test_truncations)
{
	/* Every prefix of a real file is refused (and read nothing beyond its end: ASan). */
	FILE *f = fopen(TEST_DATA_DIR "/zoneinfo/America/New_York", "rb");
	ck_assert_ptr_nonnull(f);
	static unsigned char buf[8192];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	ck_assert_uint_gt(n, 1000);
	struct tzif *z;
	ck_assert_int_eq(tzif_parse(buf, n, "America/New_York", &z), 0);
	tzif_free(z);
	for (size_t len = 0; len < n; len++) {
		unsigned char *p = malloc(len ? len : 1);
		memcpy(p, buf, len);
		ck_assert_msg(tzif_parse(p, len, "America/New_York", &z) == KAHU_EDATA, "prefix of %zu bytes", len);
		free(p);
	}
}
END_TEST

START_TEST(test_calendar)
{
	ck_assert_int_eq(tz_days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(tz_days_from_civil(2000, 3, 1), 11017);
	ck_assert_int_eq(tz_days_from_civil(1969, 12, 31), -1);
	ck_assert_uint_eq(tz_weekday(0), 4);                       /* Thursday */
	ck_assert_uint_eq(tz_weekday(-1), 3);
	ck_assert_uint_eq(tz_weekday(tz_days_from_civil(2026, 12, 3)), 4);
	ck_assert_uint_eq(tz_days_in_month(2024, 2), 29);
	ck_assert_uint_eq(tz_days_in_month(2100, 2), 28);
	ck_assert_uint_eq(tz_days_in_month(2000, 2), 29);
	ck_assert_uint_eq(tz_days_in_month(2026, 4), 30);
	ck_assert_uint_eq(tz_days_in_month(2026, 13), 0);
	for (int64_t d = -800000; d < 3000000; d += 97) {
		int64_t y;
		unsigned m, dd;
		tz_civil_from_days(d, &y, &m, &dd);
		ck_assert(m >= 1 && m <= 12 && dd >= 1 && dd <= tz_days_in_month(y, m));
		ck_assert_int_eq(tz_days_from_civil(y, m, dd), d);
	}
}
END_TEST

static Suite *tzif_suite(void)
{
	Suite *s = suite_create("tzif");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_footer_rules);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_real_zones);
	tcase_add_test(tc, test_names);
	tcase_add_loop_test(tc, test_malformed, 0, 34);
	tcase_add_test(tc, test_truncations);
	tcase_add_test(tc, test_calendar);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(tzif_suite)

/* Cron schedules (util/cron.h): the next firings of a table of schedules, in UTC and
 * across the daylight saving days of Europe/Berlin, America/New_York and
 * Australia/Sydney (the expected instants come from an independent reference:
 * tests/unit/data/cron/mkcases.py, see check_cron_cases.h), refusals with their
 * messages, the normalized text, and one schedule shared by threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "util/cron.h"
#include "util/err.h"
#include "util/timeutil.h"

struct next_case {
	const char *zone, *expr, *after;
	const char *expect[16];
};
#include "check_cron_cases.h"

/* The zones of the tests are the committed copies, not the machine's. */
static void use_test_zones(void)
{
	setenv("TZDIR", TEST_DATA_DIR "/zoneinfo", 1);
}

static int64_t at(const char *s)
{
	int64_t t;
	ck_assert_msg(kahu_time_parse(s, KAHU_TIME_UTC, &t) == 0, "bad time %s", s);
	return t;
}

START_TEST(test_next_table)
{
	use_test_zones();
	const struct next_case *tc = &next_cases[_i];
	struct cron *c = NULL;
	int rc = cron_parse(tc->expr, strcmp(tc->zone, "UTC") == 0 ? NULL : tc->zone, &c);
	ck_assert_msg(rc == 0, "%s (%s): %s", tc->expr, tc->zone, kahu_error_last());
	int64_t t = at(tc->after);
	for (size_t k = 0; k < 16; k++) {
		int64_t next = 0;
		rc = cron_next(c, t, &next);
		if (!tc->expect[k]) {
			/* The table lists a prefix of the firings; none at all means none. */
			if (k == 0)
				ck_assert_msg(rc == KAHU_ENOTFOUND, "%s (%s) after %s: expected no firing, got %d",
					      tc->expr, tc->zone, tc->after, rc);
			break;
		}
		ck_assert_msg(rc == 0, "%s (%s) after %s: %s", tc->expr, tc->zone, tc->after, kahu_error_last());
		char got[KAHU_TIME_LEN + 1];
		kahu_time_format(next, got);
		ck_assert_msg(strcmp(got, tc->expect[k]) == 0, "%s (%s) after %s, firing %zu: got %s, expected %s",
			      tc->expr, tc->zone, tc->after, k + 1, got, tc->expect[k]);
		t = next;
	}
	cron_free(c);
}
END_TEST

struct refusal {
	const char *expr, *tz;
	int code;
	const char *msg;
};

static const struct refusal refusals[] = {
	{ "0 25 * * *", NULL, KAHU_EUSAGE, "schedule \"0 25 * * *\": hour 25 is out of range 0-23" },
	{ "60 * * * *", NULL, KAHU_EUSAGE, "schedule \"60 * * * *\": minute 60 is out of range 0-59" },
	{ "0 0 0 * *", NULL, KAHU_EUSAGE, "schedule \"0 0 0 * *\": day-of-month 0 is out of range 1-31" },
	{ "0 0 32 * *", NULL, KAHU_EUSAGE, "schedule \"0 0 32 * *\": day-of-month 32 is out of range 1-31" },
	{ "0 0 1 13 *", NULL, KAHU_EUSAGE, "schedule \"0 0 1 13 *\": month 13 is out of range 1-12" },
	{ "0 0 * * 8", NULL, KAHU_EUSAGE, "schedule \"0 0 * * 8\": day-of-week 8 is out of range 0-7" },
	{ "0 0 * FOO *", NULL, KAHU_EUSAGE,
	  "schedule \"0 0 * FOO *\": month \"FOO\" is not a number or a name (JAN-DEC)" },
	{ "0 0 * * FRIDAY", NULL, KAHU_EUSAGE,
	  "schedule \"0 0 * * FRIDAY\": day-of-week \"FRIDAY\" is not a number or a name (SUN-SAT)" },
	{ "x * * * *", NULL, KAHU_EUSAGE, "schedule \"x * * * *\": minute \"x\" is not a number, a range or *" },
	{ "*/0 * * * *", NULL, KAHU_EUSAGE, "schedule \"*/0 * * * *\": minute \"*/0\": the step must be 1 or more" },
	{ "*/ * * * *", NULL, KAHU_EUSAGE, "schedule \"*/ * * * *\": minute \"*/\": a step is / and a number" },
	{ "0 20-10 * * *", NULL, KAHU_EUSAGE,
	  "schedule \"0 20-10 * * *\": hour range \"20-10\" is backwards (from 20 down to 10)" },
	{ "0 1,,2 * * *", NULL, KAHU_EUSAGE, "schedule \"0 1,,2 * * *\": hour \"1,,2\" has an empty list item" },
	{ "0 1, * * *", NULL, KAHU_EUSAGE, "schedule \"0 1, * * *\": hour \"1,\" has an empty list item" },
	{ "0 0 L * *", NULL, KAHU_EUSAGE, "schedule \"0 0 L * *\": day-of-month \"L\" is not a number, a range or *" },
	{ "0 0 ? * *", NULL, KAHU_EUSAGE, "schedule \"0 0 ? * *\": day-of-month \"?\" is not a number, a range or *" },
	{ "0 0 * * 5#3", NULL, KAHU_EUSAGE,
	  "schedule \"0 0 * * 5#3\": day-of-week \"5#3\" is not a number, a range or * (with an optional /step)" },
	{ "0 0 * *", NULL, KAHU_EUSAGE, "schedule \"0 0 * *\": 4 fields, expected 5 (minute hour day-of-month month "
	  "day-of-week) or an @ form such as @daily" },
	{ "0 0 0 * * * 2026", NULL, KAHU_EUSAGE, "schedule \"0 0 0 * * * 2026\": 7 fields, expected 5" },
	{ "", NULL, KAHU_EUSAGE, "schedule is empty" },
	{ "   ", NULL, KAHU_EUSAGE, "schedule \"   \": 0 fields, expected 5" },
	{ "@reboot", NULL, KAHU_EUSAGE, "schedule \"@reboot\": @reboot is not a time of day" },
	{ "@fortnightly", NULL, KAHU_EUSAGE, "schedule \"@fortnightly\": unknown @ form (expected @yearly" },
	{ "@daily 5", NULL, KAHU_EUSAGE, "schedule \"@daily 5\": an @ form stands alone" },
	{ "0 0 * * *\n", NULL, KAHU_EUSAGE, "schedule is longer than 256 characters or has a character that is not printable" },
	{ "0 3 * * *", "Mars/Olympus_Mons", KAHU_ENOTFOUND, "schedule \"0 3 * * *\": unknown time zone \"Mars/Olympus_Mons\"" },
	{ "0 3 * * *", "Europe", KAHU_ENOTFOUND, "schedule \"0 3 * * *\": unknown time zone \"Europe\"" },
	{ "0 3 * * *", "../../etc/passwd", KAHU_EUSAGE, "schedule \"0 3 * * *\": time zone \"../../etc/passwd\" is not a zone name" },
	{ "0 3 * * *", "/etc/localtime", KAHU_EUSAGE, "schedule \"0 3 * * *\": time zone \"/etc/localtime\" is not a zone name" },
	{ "0 3 * * *", "Europe/Berlin;rm", KAHU_EUSAGE, "schedule \"0 3 * * *\": time zone \"Europe/Berlin;rm\" is not a zone name" },
};

START_TEST(test_refusals)
{
	use_test_zones();
	const struct refusal *r = &refusals[_i];
	struct cron *c = (struct cron *)1;
	int rc = cron_parse(r->expr, r->tz, &c);
	ck_assert_msg(rc == r->code, "%s: code %d, expected %d (%s)", r->expr, rc, r->code, kahu_error_last());
	ck_assert_ptr_null(c);
	ck_assert_msg(strncmp(kahu_error_last(), r->msg, strlen(r->msg)) == 0, "%s: message \"%s\", expected \"%s...\"",
		      r->expr, kahu_error_last(), r->msg);
}
END_TEST

START_TEST(test_text)
{
	use_test_zones();
	static const struct {
		const char *expr, *tz, *text;
	} t[] = {
		{ "0 3 * * *", "Europe/Berlin", "0 3 * * *  (Europe/Berlin)" },
		{ "  0\t3   * *  *  ", NULL, "0 3 * * *  (UTC)" },
		{ "@daily", "UTC", "0 0 * * *  (UTC)" },
		{ "@Weekly", "America/New_York", "0 0 * * 0  (America/New_York)" },
		{ "@hourly", NULL, "0 * * * *  (UTC)" },
		{ "@yearly", NULL, "0 0 1 1 *  (UTC)" },
		{ "@annually", NULL, "0 0 1 1 *  (UTC)" },
		{ "@monthly", NULL, "0 0 1 * *  (UTC)" },
		{ "@midnight", NULL, "0 0 * * *  (UTC)" },
		{ "*/15 9-17 * jan-mar MON-FRI", NULL, "*/15 9-17 * jan-mar MON-FRI  (UTC)" },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		struct cron *c;
		ck_assert_msg(cron_parse(t[i].expr, t[i].tz, &c) == 0, "%s: %s", t[i].expr, kahu_error_last());
		ck_assert_str_eq(cron_text(c), t[i].text);
		cron_free(c);
	}
}
END_TEST

START_TEST(test_next_range)
{
	struct cron *c;
	int64_t t;
	ck_assert_int_eq(cron_parse("0 0 * * *", NULL, &c), 0);
	ck_assert_int_eq(cron_next(c, at("9999-12-31T00:00:00Z"), &t), KAHU_ENOTFOUND);
	ck_assert_int_eq(cron_next(c, 253402300800LL, &t), KAHU_EUSAGE);
	ck_assert_int_eq(cron_next(c, -62135596801LL, &t), KAHU_EUSAGE);
	ck_assert_int_eq(cron_next(c, at("0001-01-01T00:00:00Z"), &t), 0);
	ck_assert_int_eq(t, at("0001-01-02T00:00:00Z"));
	cron_free(c);
	/* The message of a schedule that never fires names it and its zone. */
	use_test_zones();
	ck_assert_int_eq(cron_parse("0 0 30 2 *", "Europe/Berlin", &c), 0);
	ck_assert_int_eq(cron_next(c, at("2026-01-01T00:00:00Z"), &t), KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(), "schedule \"0 0 30 2 *\" (Europe/Berlin) never fires in the 5 years "
			 "after 1767225600 (a day that does not exist, such as February 30?)");
	cron_free(c);
}
END_TEST

/* A schedule is immutable after parsing: threads share one (run under ASan and TSan
 * builds alike: no process-global time zone state). */
struct thr {
	const struct cron *c;
	int64_t first, last;
};

static void *thr_run(void *arg)
{
	struct thr *t = arg;
	int64_t x = t->first;
	for (int i = 0; i < 2000; i++)
		if (cron_next(t->c, x, &x) != 0)
			return NULL;
	t->last = x;
	return NULL;
}

START_TEST(test_threads)
{
	use_test_zones();
	struct cron *c;
	ck_assert_int_eq(cron_parse("*/15 * * * *", "Europe/Berlin", &c), 0);
	struct thr th[4];
	pthread_t id[4];
	for (int i = 0; i < 4; i++) {
		th[i] = (struct thr){ c, at("2026-03-28T00:00:00Z"), 0 };
		ck_assert_int_eq(pthread_create(&id[i], NULL, thr_run, &th[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(id[i], NULL);
		ck_assert_int_ne(th[i].last, 0);
		ck_assert_int_eq(th[i].last, th[0].last);
	}
	cron_free(c);
}
END_TEST

static Suite *cron_suite(void)
{
	Suite *s = suite_create("cron");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_next_table, 0, (int)(sizeof next_cases / sizeof *next_cases));
	tcase_add_loop_test(tc, test_refusals, 0, (int)(sizeof refusals / sizeof *refusals));
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_next_range);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(cron_suite)

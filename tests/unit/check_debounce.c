/* When an event-driven backup starts: synthetic timelines through engine/debounce.c. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "engine/debounce.h"
#include "util/err.h"

#define S 1000  /* one second in ms */

struct timeline {
	const char *what;
	int64_t quiet, max;     /* seconds */
	int64_t run;            /* how long a backup runs, seconds */
	int64_t end;            /* simulate until, seconds */
	int64_t changes[64];    /* change times, seconds, ascending; -1 ends */
	const char *starts;     /* the expected start times, seconds, space-separated */
};

/* Step through the timeline a second at a time: the running backup ends, the changes
 * of this second arrive, then a start is taken when due. */
static void simulate(const struct timeline *tl, char *out, size_t outlen)
{
	struct debounce d;
	debounce_init(&d, tl->quiet * S, tl->max * S);
	size_t ci = 0, o = 0;
	int64_t run_end = -1;
	out[0] = '\0';
	for (int64_t t = 0; t <= tl->end; t++) {
		int64_t now = t * S;
		if (d.running && now >= run_end)
			debounce_finished(&d, now);
		while (tl->changes[ci] >= 0 && tl->changes[ci] == t) {
			debounce_change(&d, now);
			ci++;
		}
		if (debounce_due(&d, now)) {
			ck_assert(!d.running);
			debounce_started(&d, now);
			o += (size_t)snprintf(out + o, outlen - o, "%s%lld", o ? " " : "", (long long)t);
			run_end = now + tl->run * S;
			if (tl->run == 0)
				debounce_finished(&d, now);
		}
	}
}

static const struct timeline cases[] = {
	{ "a burst of changes gives one start, a quiet period after the last",
	  60, 0, 5, 400, { 0, 1, 2, 3, 5, 8, 10, -1 }, "70" },
	{ "a later change gives another",
	  60, 0, 5, 400, { 0, 1, 2, 10, 200, -1 }, "70 260" },
	{ "changes that never stop: the max interval starts one anyway, each time",
	  60, 300, 5, 1100,
	  { 0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 550, 600, 650, 700, 750, 800,
	    850, 900, 950, 990, -1 },
	  "300 650 1000" },
	{ "without a max interval, changes that never stop start nothing",
	  60, 0, 5, 500, { 0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, -1 }, "" },
	{ "changes during a run give exactly one more run, after it",
	  60, 0, 100, 600, { 0, 80, 90, 100, -1 }, "60 160" },
	{ "a change during a run whose quiet period ends after the run",
	  60, 0, 20, 600, { 0, 75, -1 }, "60 135" },
	{ "a run that outlasts the max interval: one more run, at its end",
	  60, 30, 100, 600, { 0, 10, 20, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, -1 },
	  "30 130" },
	{ "the quiet period 0 starts at the change",
	  0, 0, 0, 100, { 5, 50, -1 }, "5 50" },
	{ "no change, no start", 60, 300, 5, 1000, { -1 }, "" },
	{ "a change at the very second a run ends is covered by the next one only",
	  10, 0, 10, 200, { 0, 20, -1 }, "10 30" },
};

START_TEST(test_timeline)
{
	const struct timeline *tl = &cases[_i];
	char got[512];
	simulate(tl, got, sizeof got);
	ck_assert_msg(!strcmp(got, tl->starts), "%s: started at [%s], expected [%s]", tl->what, got,
		      tl->starts);
}
END_TEST

START_TEST(test_next_and_pending)
{
	struct debounce d;
	debounce_init(&d, 60 * S, 300 * S);
	ck_assert_int_eq(debounce_next(&d), -1);
	ck_assert(!debounce_pending(&d));
	debounce_change(&d, 100 * S);
	ck_assert(debounce_pending(&d));
	ck_assert_int_eq(debounce_next(&d), 160 * S);
	debounce_change(&d, 150 * S);
	ck_assert_int_eq(debounce_next(&d), 210 * S);
	/* out of order: counted as it is */
	debounce_change(&d, 90 * S);
	ck_assert_int_eq(debounce_next(&d), 210 * S);
	debounce_change(&d, 380 * S);
	ck_assert_int_eq(debounce_next(&d), 390 * S); /* the max interval from 90 s */
	ck_assert(!debounce_due(&d, 389 * S));
	ck_assert(debounce_due(&d, 390 * S));
	debounce_started(&d, 390 * S);
	ck_assert_int_eq(debounce_next(&d), -1);
	debounce_change(&d, 395 * S);
	ck_assert_int_eq(debounce_next(&d), -1); /* running */
	ck_assert(!debounce_due(&d, 10000 * S));
	debounce_finished(&d, 400 * S);
	ck_assert_int_eq(debounce_next(&d), 455 * S);
	ck_assert_int_eq(d.runs, 1);
	/* negative settings are 0 */
	debounce_init(&d, -5, -1);
	ck_assert_int_eq(d.quiet_ms, 0);
	ck_assert_int_eq(d.max_ms, 0);
}
END_TEST

START_TEST(test_periods)
{
	int64_t q, m;
	ck_assert_int_eq(debounce_periods(NULL, NULL, &q, &m), 0);
	ck_assert_int_eq(q, 60);
	ck_assert_int_eq(m, 3600);
	ck_assert_int_eq(debounce_periods("5m", NULL, &q, &m), 0);
	ck_assert_int_eq(q, 300);
	ck_assert_int_eq(m, 3600);
	/* the default maximum gives way to a quiet period as long or longer */
	ck_assert_int_eq(debounce_periods("2h", NULL, &q, &m), 0);
	ck_assert_int_eq(q, 7200);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(debounce_periods("1h", NULL, &q, &m), 0);
	ck_assert_int_eq(m, 0);
	/* a maximum given is kept, 0 is none */
	ck_assert_int_eq(debounce_periods("1s", "0", &q, &m), 0);
	ck_assert_int_eq(q, 1);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(debounce_periods("10m", "10m", &q, &m), 0);
	ck_assert_int_eq(m, 600);
	/* refusals */
	ck_assert_int_eq(debounce_periods("2h", "1h", &q, &m), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "shorter than --quiet-period"));
	ck_assert_int_eq(debounce_periods("soon", NULL, &q, &m), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--quiet-period"));
	ck_assert_int_eq(debounce_periods(NULL, "-5m", &q, &m), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--max-interval"));
	kahu_error_clear();
}
END_TEST

static Suite *debounce_suite(void)
{
	Suite *s = suite_create("debounce");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_timeline, 0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, test_next_and_pending);
	tcase_add_test(tc, test_periods);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(debounce_suite)

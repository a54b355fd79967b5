/* Which backups prune removes: table-driven cases of retention_decide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "engine/retention.h"
#include "util/err.h"
#include "util/tzif.h"

#define G RET_GOOD
#define F RET_FAILED
#define U RET_UNTRUSTED
#define L RET_LEFTOVER

struct backup {
	const char *name;
	enum retention_state state;
	const char *completed;  /* "YYYY-MM-DD HH:MM" UTC */
	const char *expires;    /* NULL: never */
	const char *parent, *base;
};

struct tcase {
	const char *what;
	struct retention_policy policy;
	const char *now;
	struct backup b[16];
	const char *kept;       /* the names kept, space-separated, in table order */
};

#define NONE RETENTION_POLICY_NONE
/* last, daily, weekly, monthly (hourly and yearly not given, UTC) */
#define POL(l, d, w, m) { l, d, w, m, -1, -1, NULL }
#define LAST(n) POL(n, -1, -1, -1)

static const struct tcase cases[] = {
	{ "keep-last 3: two good backups and three newer failed ones keep both good ones",
	  LAST(3), "2025-01-10 12:00",
	  { { "good-1", G, "2025-01-01 01:00", NULL, NULL, NULL },
	    { "good-2", G, "2025-01-02 01:00", NULL, NULL, NULL },
	    { "fail-1", F, "2025-01-03 01:00", NULL, NULL, NULL },
	    { "fail-2", F, "2025-01-04 01:00", NULL, NULL, NULL },
	    { "fail-3", F, "2025-01-05 01:00", NULL, NULL, NULL } },
	  "good-1 good-2" },
	{ "keep-last 2 keeps the two newest",
	  LAST(2), "2025-01-10 12:00",
	  { { "a", G, "2025-01-01 01:00", NULL, NULL, NULL },
	    { "b", G, "2025-01-03 01:00", NULL, NULL, NULL },
	    { "c", G, "2025-01-02 01:00", NULL, NULL, NULL },
	    { "d", G, "2025-01-04 01:00", NULL, NULL, NULL } },
	  "b d" },
	{ "keep-last 0 keeps nothing, and expiry does not matter with a policy",
	  LAST(0), "2025-01-10 12:00",
	  { { "a", G, "2025-01-01 01:00", NULL, NULL, NULL },
	    { "b", G, "2025-01-02 01:00", "2030-01-01 00:00", NULL, NULL } },
	  "" },
	{ "keep-daily 3: the newest backup of each of the 3 newest days that have one",
	  POL(-1, 3, -1, -1), "2025-01-10 12:00",
	  { { "d1", G, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "d3a", G, "2025-01-03 01:00", NULL, NULL, NULL },
	    { "d3b", G, "2025-01-03 23:00", NULL, NULL, NULL },
	    { "d6", G, "2025-01-06 08:00", NULL, NULL, NULL },
	    { "d7a", G, "2025-01-07 00:00", NULL, NULL, NULL },
	    { "d7b", G, "2025-01-07 12:00", NULL, NULL, NULL } },
	  "d3b d6 d7b" },
	{ "keep-daily: a newer Failed backup does not take its day's place",
	  POL(-1, 2, -1, -1), "2025-01-10 12:00",
	  { { "d1", G, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "d2", G, "2025-01-02 10:00", NULL, NULL, NULL },
	    { "d2-failed", F, "2025-01-02 22:00", NULL, NULL, NULL },
	    { "d3-failed", F, "2025-01-03 22:00", NULL, NULL, NULL } },
	  "d1 d2" },
	{ "keep-weekly 2 uses ISO weeks (2024-12-30 is in 2025-W01)",
	  POL(-1, -1, 2, -1), "2025-01-10 12:00",
	  { { "w51", G, "2024-12-20 10:00", NULL, NULL, NULL },
	    { "w52a", G, "2024-12-23 10:00", NULL, NULL, NULL },
	    { "w52b", G, "2024-12-28 10:00", NULL, NULL, NULL },
	    { "w01a", G, "2024-12-30 10:00", NULL, NULL, NULL },
	    { "w01b", G, "2025-01-02 10:00", NULL, NULL, NULL } },
	  "w52b w01b" },
	{ "keep-monthly 2",
	  POL(-1, -1, -1, 2), "2025-04-10 12:00",
	  { { "jan", G, "2025-01-31 23:59", NULL, NULL, NULL },
	    { "feb1", G, "2025-02-01 00:00", NULL, NULL, NULL },
	    { "feb2", G, "2025-02-27 00:00", NULL, NULL, NULL },
	    { "apr", G, "2025-04-01 00:00", NULL, NULL, NULL } },
	  "feb2 apr" },
	{ "policies keep their union",
	  POL(1, 2, -1, -1), "2025-01-10 12:00",
	  { { "d1", G, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "d2a", G, "2025-01-02 10:00", NULL, NULL, NULL },
	    { "d2b", G, "2025-01-02 11:00", NULL, NULL, NULL },
	    { "d3a", G, "2025-01-03 10:00", NULL, NULL, NULL },
	    { "d3b", G, "2025-01-03 11:00", NULL, NULL, NULL } },
	  "d2b d3b" },
	{ "no policy: expired backups go, Failed ones too; unexpired and never-expiring stay",
	  NONE, "2025-01-10 12:00",
	  { { "old", G, "2025-01-01 10:00", "2025-01-05 00:00", NULL, NULL },
	    { "due-now", G, "2025-01-02 10:00", "2025-01-10 12:00", NULL, NULL },
	    { "young", G, "2025-01-09 10:00", "2025-02-09 10:00", NULL, NULL },
	    { "forever", G, "2024-01-01 10:00", NULL, NULL, NULL },
	    { "failed-old", F, "2025-01-01 10:00", "2025-01-02 00:00", NULL, NULL },
	    { "failed-young", F, "2025-01-09 10:00", "2025-02-09 10:00", NULL, NULL } },
	  "young forever failed-young" },
	{ "an untrusted manifest is never removed on its word, and counts for no policy",
	  LAST(1), "2025-01-10 12:00",
	  { { "a", G, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "b", G, "2025-01-02 10:00", NULL, NULL, NULL },
	    { "forged", U, "2025-01-09 10:00", "2000-01-01 00:00", NULL, NULL } },
	  "b forged" },
	{ "an untrusted manifest, expired by its word, without a policy: left alone",
	  NONE, "2025-01-10 12:00",
	  { { "flipped", U, "2025-01-01 10:00", "2007-01-01 00:00", NULL, NULL } },
	  "flipped" },
	{ "leftovers of interrupted runs go",
	  NONE, "2025-01-10 12:00",
	  { { "left", L, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "a", G, "2025-01-02 10:00", NULL, NULL, NULL } },
	  "a" },
	{ "a kept incremental keeps its chain, transitively",
	  LAST(1), "2025-01-10 12:00",
	  { { "other", G, "2025-01-01 09:00", NULL, NULL, NULL },
	    { "full", G, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "inc1", G, "2025-01-02 10:00", NULL, "full", "full" },
	    { "inc2", G, "2025-01-03 10:00", NULL, "inc1", "full" },
	    { "inc3", G, "2025-01-04 10:00", NULL, "inc2", "full" } },
	  "full inc1 inc2 inc3" },
	{ "an expired parent of an unexpired incremental stays",
	  NONE, "2025-01-10 12:00",
	  { { "full", G, "2025-01-01 10:00", "2025-01-02 00:00", NULL, NULL },
	    { "inc", G, "2025-01-02 10:00", "2025-02-01 00:00", "full", "full" } },
	  "full inc" },
	{ "a removed incremental does not keep its parent",
	  NONE, "2025-01-10 12:00",
	  { { "full", G, "2025-01-01 10:00", "2025-01-02 00:00", NULL, NULL },
	    { "inc", G, "2025-01-02 10:00", "2025-01-03 00:00", "full", "full" } },
	  "" },
	{ "what an untrusted backup says it builds on stays",
	  LAST(1), "2025-01-10 12:00",
	  { { "full", G, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "inc", U, "2025-01-02 10:00", NULL, "full", "full" },
	    { "new", G, "2025-01-03 10:00", NULL, NULL, NULL } },
	  "full inc new" },
	{ "a leftover a kept backup builds on stays (its data is needed)",
	  LAST(1), "2025-01-10 12:00",
	  { { "lost-manifest", L, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "inc", G, "2025-01-02 10:00", NULL, "lost-manifest", "lost-manifest" } },
	  "lost-manifest inc" },
	{ "the same second: the order is by name, deterministic",
	  LAST(1), "2025-01-10 12:00",
	  { { "a", G, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "b", G, "2025-01-01 10:00", NULL, NULL, NULL } },
	  "b" },
	{ "only Failed backups, keep-last 3: nothing is kept (none holds anything)",
	  LAST(3), "2025-01-10 12:00",
	  { { "f1", F, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "f2", F, "2025-01-02 10:00", NULL, NULL, NULL } },
	  "" },
};

static int64_t t_of(const char *s)
{
	struct tm tm = { 0 };
	if (!s)
		return 0;
	ck_assert_msg(sscanf(s, "%d-%d-%d %d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			     &tm.tm_min) == 5, "bad time %s", s);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

START_TEST(test_table)
{
	const struct tcase *c = &cases[_i];
	struct retention_entry v[16];
	size_t n = 0;
	memset(v, 0, sizeof v);
	for (; n < 16 && c->b[n].name; n++) {
		v[n].name = c->b[n].name;
		v[n].state = c->b[n].state;
		v[n].completed = t_of(c->b[n].completed);
		v[n].expires = t_of(c->b[n].expires);
		v[n].parent = c->b[n].parent;
		v[n].base = c->b[n].base;
		v[n].remove = 42; /* overwritten */
	}
	retention_decide(v, n, &c->policy, t_of(c->now));
	char kept[512] = "";
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(v[i].remove == 0 || v[i].remove == 1, "%s: remove is %d", c->what, v[i].remove);
		if (!v[i].remove)
			snprintf(kept + strlen(kept), sizeof kept - strlen(kept), "%s%s", *kept ? " " : "", v[i].name);
	}
	ck_assert_msg(strcmp(kept, c->kept) == 0, "%s: kept \"%s\", expected \"%s\"", c->what, kept, c->kept);
}
END_TEST

/* The reasons prune prints. */
START_TEST(test_reasons)
{
	struct retention_entry v[] = {
		{ .name = "full", .state = G, .completed = 100 },
		{ .name = "inc", .state = G, .completed = 200, .parent = "full", .base = "full" },
		{ .name = "failed", .state = F, .completed = 300 },
		{ .name = "forged", .state = U, .completed = 50 },
		{ .name = "left", .state = L },
		{ .name = "older", .state = G, .completed = 10 },
	};
	struct retention_policy p = LAST(1);
	retention_decide(v, 6, &p, 1000);
	ck_assert_int_eq(v[0].remove, 0);
	ck_assert_int_eq(v[0].why, RET_KEEP_NEEDED);
	ck_assert_uint_eq(v[0].needed_by, 1);
	ck_assert_int_eq(v[1].why, RET_KEEP_LAST);
	ck_assert_int_eq(v[2].remove, 1);
	ck_assert_int_eq(v[2].why, RET_REMOVE_FAILED);
	ck_assert_int_eq(v[3].why, RET_KEEP_UNTRUSTED);
	ck_assert_int_eq(v[4].why, RET_REMOVE_LEFTOVER);
	ck_assert_int_eq(v[5].why, RET_REMOVE_UNKEPT);
	ck_assert_str_eq(retention_why_text(RET_REMOVE_EXPIRED), "expired");
	struct retention_policy none = RETENTION_POLICY_NONE;
	ck_assert_int_eq(retention_has_policy(&none), 0);
	ck_assert_int_eq(retention_has_policy(&p), 1);
	/* Nothing at all. */
	retention_decide(NULL, 0, &p, 0);
}
END_TEST

/* ---- synthetic calendars */

#define MAXRUNS 1000
static struct retention_entry cal[MAXRUNS];
static char cal_names[MAXRUNS][32];
static size_t ncal;

/* One run every `step` seconds from `from` to `to` (inclusive, "YYYY-MM-DD HH:MM" UTC),
 * named by its UTC time ("2025-12-31T03:00"). */
static void calendar(const char *from, const char *to, int64_t step)
{
	ncal = 0;
	memset(cal, 0, sizeof cal);
	for (int64_t t = t_of(from); t <= t_of(to); t += step) {
		ck_assert_uint_lt(ncal, MAXRUNS);
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(cal_names[ncal], sizeof cal_names[ncal], "%Y-%m-%dT%H:%M", &tm);
		cal[ncal].name = cal_names[ncal];
		cal[ncal].state = G;
		cal[ncal].completed = t;
		ncal++;
	}
}

static struct retention_entry *run_named(const char *name)
{
	for (size_t i = 0; i < ncal; i++)
		if (strcmp(cal[i].name, name) == 0)
			return &cal[i];
	ck_abort_msg("no run %s", name);
	return NULL;
}

/* The names kept, in calendar order, compared with `expect`: a space-separated list of
 * runs and of ranges of daily runs "FROM..TO" (dates, the runs at `hhmm`). */
static void expect_kept(const char *what, const char *expect, const char *hhmm)
{
	char want[16384] = "", got[16384] = "";
	char *copy = strdup(expect), *save = NULL;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *dots = strstr(w, "..");
		if (!dots) {
			snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", *want ? " " : "", w);
			continue;
		}
		*dots = '\0';
		char a[32], b[32];
		snprintf(a, sizeof a, "%s %s", w, hhmm);
		snprintf(b, sizeof b, "%s %s", dots + 2, hhmm);
		for (int64_t t = t_of(a); t <= t_of(b); t += 86400) {
			time_t tt = (time_t)t;
			struct tm tm;
			char n[32];
			gmtime_r(&tt, &tm);
			strftime(n, sizeof n, "%Y-%m-%dT%H:%M", &tm);
			snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", *want ? " " : "", n);
		}
	}
	free(copy);
	for (size_t i = 0; i < ncal; i++)
		if (!cal[i].remove)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", *got ? " " : "", cal[i].name);
	ck_assert_msg(strcmp(got, want) == 0, "%s:\n kept     %s\n expected %s", what, got, want);
}

/* A year of daily runs (03:00 UTC) with keep-daily 7, keep-weekly 4, keep-monthly 12,
 * keep-yearly 2: the last 7 days, the newest of ISO weeks 2026-W01 (Dec 31, a Wednesday:
 * already kept), 2025-W52 (Dec 28: kept), W51 (Dec 21) and W50 (Dec 14), the last day
 * of every month, and the newest of 2025 (Dec 31) — 20 backups. */
static const char year_kept[] =
	"2025-01-31T03:00 2025-02-28T03:00 2025-03-31T03:00 2025-04-30T03:00 2025-05-31T03:00 "
	"2025-06-30T03:00 2025-07-31T03:00 2025-08-31T03:00 2025-09-30T03:00 2025-10-31T03:00 "
	"2025-11-30T03:00 2025-12-14T03:00 2025-12-21T03:00 2025-12-25..2025-12-31";

START_TEST(test_year_of_daily_runs)
{
	struct retention_policy p = { .last = -1, .hourly = -1, .daily = 7, .weekly = 4, .monthly = 12, .yearly = 2 };
	calendar("2025-01-01 03:00", "2025-12-31 03:00", 86400);
	ck_assert_uint_eq(ncal, 365);
	retention_decide(cal, ncal, &p, t_of("2026-01-01 00:00"));
	expect_kept("a year of daily runs", year_kept, "03:00");
	size_t n = 0;
	for (size_t i = 0; i < ncal; i++)
		n += !cal[i].remove;
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(run_named("2025-12-14T03:00")->why, RET_KEEP_WEEKLY);
	ck_assert_int_eq(run_named("2025-11-30T03:00")->why, RET_KEEP_MONTHLY);
	ck_assert_int_eq(run_named("2025-12-31T03:00")->why, RET_KEEP_DAILY);
	ck_assert_int_eq(run_named("2025-12-24T03:00")->why, RET_REMOVE_UNKEPT);

	/* Two and a half years: keep-yearly 2 also keeps the newest of 2024; monthly 12
	 * reaches back to January 2025 only. */
	calendar("2023-07-01 03:00", "2025-12-31 03:00", 86400);
	retention_decide(cal, ncal, &p, t_of("2026-01-01 00:00"));
	char more[1024];
	snprintf(more, sizeof more, "2024-12-31T03:00 %s", year_kept);
	expect_kept("two and a half years of daily runs", more, "03:00");
	ck_assert_int_eq(run_named("2024-12-31T03:00")->why, RET_KEEP_YEARLY);
}
END_TEST

START_TEST(test_year_with_failed_runs)
{
	/* The runs of Dec 31 and Jun 30 failed: they are removed and their periods are
	 * kept by the newest good run instead (Dec 30, Jun 29); the last 7 good days are
	 * Dec 24-30. */
	struct retention_policy p = { .last = -1, .hourly = -1, .daily = 7, .weekly = 4, .monthly = 12, .yearly = 2 };
	calendar("2025-01-01 03:00", "2025-12-31 03:00", 86400);
	run_named("2025-12-31T03:00")->state = F;
	run_named("2025-06-30T03:00")->state = F;
	retention_decide(cal, ncal, &p, t_of("2026-01-01 00:00"));
	expect_kept("a year with failed runs",
		    "2025-01-31T03:00 2025-02-28T03:00 2025-03-31T03:00 2025-04-30T03:00 2025-05-31T03:00 "
		    "2025-06-29T03:00 2025-07-31T03:00 2025-08-31T03:00 2025-09-30T03:00 2025-10-31T03:00 "
		    "2025-11-30T03:00 2025-12-14T03:00 2025-12-21T03:00 2025-12-24..2025-12-30", "03:00");
	ck_assert_int_eq(run_named("2025-12-31T03:00")->why, RET_REMOVE_FAILED);
	ck_assert_int_eq(run_named("2025-06-30T03:00")->why, RET_REMOVE_FAILED);
}
END_TEST

START_TEST(test_year_of_chains)
{
	/* A full backup every Monday, an incremental of the day before on the other days:
	 * every kept backup keeps its chain back to its Monday.  Kept by a policy: Dec
	 * 25-31, Dec 21, Dec 14, the month ends; their chains: Dec 8-24 (to the Mondays
	 * Dec 8, 15, 22, 29), Jan 27-30, Feb 24-27, Apr 28-29, May 26-30, Jul 28-30, Aug
	 * 25-30, Sep 29, Oct 27-30, Nov 24-29 (Mar 31 and Jun 30 are Mondays). */
	struct retention_policy p = { .last = -1, .hourly = -1, .daily = 7, .weekly = 4, .monthly = 12, .yearly = 2 };
	calendar("2025-01-01 03:00", "2025-12-31 03:00", 86400);
	const char *monday = NULL;
	for (size_t i = 0; i < ncal; i++) {
		time_t tt = (time_t)cal[i].completed;
		struct tm tm;
		gmtime_r(&tt, &tm);
		if (tm.tm_wday == 1 || i == 0) {
			monday = cal[i].name;
			continue;
		}
		cal[i].parent = cal[i - 1].name;
		cal[i].base = monday;
	}
	retention_decide(cal, ncal, &p, t_of("2026-01-01 00:00"));
	expect_kept("a year of weekly chains",
		    "2025-01-27..2025-01-31 2025-02-24..2025-02-28 2025-03-31T03:00 2025-04-28..2025-04-30 "
		    "2025-05-26..2025-05-31 2025-06-30T03:00 2025-07-28..2025-07-31 2025-08-25..2025-08-31 "
		    "2025-09-29..2025-09-30 2025-10-27..2025-10-31 2025-11-24..2025-11-30 2025-12-08..2025-12-31",
		    "03:00");
	ck_assert_int_eq(run_named("2025-12-08T03:00")->why, RET_KEEP_NEEDED);
	const struct retention_entry *by = &cal[run_named("2025-12-08T03:00")->needed_by];
	ck_assert(!by->remove && (strcmp(by->parent, "2025-12-08T03:00") == 0 || strcmp(by->base, "2025-12-08T03:00") == 0));
	/* Every kept incremental's parent and base are kept. */
	for (size_t i = 0; i < ncal; i++)
		if (!cal[i].remove && cal[i].parent)
			ck_assert(!run_named(cal[i].parent)->remove && !run_named(cal[i].base)->remove);
}
END_TEST

static struct tzif *zone(const char *name)
{
	struct tzif *z;
	setenv("TZDIR", TEST_DATA_DIR "/zoneinfo", 1);
	ck_assert_msg(tzif_load(name, &z) == 0, "%s", kahu_error_last());
	return z;
}

START_TEST(test_week_of_hourly_runs)
{
	/* Hourly runs over a week that ends on the day Berlin's clocks go forward
	 * (2025-03-30, 01:00Z): keep-hourly 24 keeps the last 24 runs whatever the zone;
	 * keep-daily 7 keeps the newest of each day, whose days depend on the zone. */
	calendar("2025-03-24 00:00", "2025-03-30 23:00", 3600);
	ck_assert_uint_eq(ncal, 168);
	struct retention_policy p = { .last = -1, .hourly = 24, .daily = 7, .weekly = -1, .monthly = -1, .yearly = -1 };
	retention_decide(cal, ncal, &p, t_of("2025-04-01 00:00"));
	char last24[2048] = "";
	for (size_t i = ncal - 24; i < ncal; i++)
		snprintf(last24 + strlen(last24), sizeof last24 - strlen(last24), " %s", cal[i].name);
	char want[4096];
	snprintf(want, sizeof want, "2025-03-24..2025-03-29%s", last24);
	expect_kept("hourly runs, UTC", want, "23:00");

	/* Europe/Berlin: local days end at 22:00Z (CET), on Mar 30 (CEST) at 21:00Z, and the
	 * last run, 23:00Z, is 01:00 on Mar 31. */
	struct tzif *z = zone("Europe/Berlin");
	p.zone = z;
	calendar("2025-03-24 00:00", "2025-03-30 23:00", 3600);
	retention_decide(cal, ncal, &p, t_of("2025-04-01 00:00"));
	snprintf(want, sizeof want, "2025-03-25..2025-03-29%s", last24);
	/* Mar 30's (21:00Z) and Mar 31's (23:00Z) are among the last 24 runs already. */
	expect_kept("hourly runs, Europe/Berlin", want, "22:00");
	ck_assert_int_eq(run_named("2025-03-30T21:00")->why, RET_KEEP_HOURLY);
	ck_assert_int_eq(run_named("2025-03-29T22:00")->why, RET_KEEP_DAILY);
	ck_assert_int_eq(run_named("2025-03-25T22:00")->why, RET_KEEP_DAILY);
	ck_assert_int_eq(run_named("2025-03-25T23:00")->why, RET_REMOVE_UNKEPT);
	tzif_free(z);
}
END_TEST

START_TEST(test_repeated_hour)
{
	/* Runs every 30 minutes while Berlin's clocks go back (2025-10-26 01:00Z: 03:00 CEST
	 * becomes 02:00 CET).  02:00-02:59 CEST and 02:00-02:59 CET are two hours. */
	struct tzif *z = zone("Europe/Berlin");
	struct retention_policy p = { .last = -1, .hourly = 4, .daily = -1, .weekly = -1, .monthly = -1, .yearly = -1,
				      .zone = z };
	calendar("2025-10-25 22:00", "2025-10-26 02:30", 1800);
	retention_decide(cal, ncal, &p, t_of("2025-11-01 00:00"));
	expect_kept("hours when clocks go back",
		    "2025-10-25T23:30 2025-10-26T00:30 2025-10-26T01:30 2025-10-26T02:30", "");
	tzif_free(z);
}
END_TEST

START_TEST(test_yearly_zone)
{
	/* 23:30Z on New Year's Eve is already the next year in Berlin. */
	struct retention_policy p = { .last = -1, .hourly = -1, .daily = -1, .weekly = -1, .monthly = -1, .yearly = 2 };
	static const char *runs[] = { "2024-12-31 23:30", "2025-06-01 12:00", "2025-12-31 23:30" };
	ncal = 0;
	memset(cal, 0, sizeof cal);
	for (size_t i = 0; i < 3; i++) {
		snprintf(cal_names[i], sizeof cal_names[i], "%s", runs[i]);
		cal[i] = (struct retention_entry){ .name = cal_names[i], .state = G, .completed = t_of(runs[i]) };
		ncal++;
	}
	retention_decide(cal, ncal, &p, t_of("2026-06-01 00:00"));
	ck_assert_int_eq(cal[0].remove, 0);
	ck_assert_int_eq(cal[1].remove, 1);
	ck_assert_int_eq(cal[2].remove, 0);
	struct tzif *z = zone("Europe/Berlin");
	p.zone = z;
	retention_decide(cal, ncal, &p, t_of("2026-06-01 00:00"));
	ck_assert_int_eq(cal[0].remove, 1); /* 2025 in Berlin, older than the run of June */
	ck_assert_int_eq(cal[1].remove, 0);
	ck_assert_int_eq(cal[2].remove, 0); /* 2026 in Berlin */
	ck_assert_int_eq(cal[2].why, RET_KEEP_YEARLY);
	ck_assert_str_eq(retention_why_text(RET_KEEP_YEARLY), "kept by --keep-yearly");
	ck_assert_str_eq(retention_why_text(RET_KEEP_HOURLY), "kept by --keep-hourly");
	tzif_free(z);
}
END_TEST

static Suite *retention_suite(void)
{
	Suite *s = suite_create("retention");
	TCase *tc = tcase_create("decide");
	tcase_add_loop_test(tc, test_table, 0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, test_reasons);
	tcase_add_test(tc, test_year_of_daily_runs);
	tcase_add_test(tc, test_year_with_failed_runs);
	tcase_add_test(tc, test_year_of_chains);
	tcase_add_test(tc, test_week_of_hourly_runs);
	tcase_add_test(tc, test_repeated_hour);
	tcase_add_test(tc, test_yearly_zone);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(retention_suite)

/* Which backups prune removes: table-driven cases of retention_decide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "engine/retention.h"

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
#define LAST(n) { n, -1, -1, -1 }

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
	  { -1, 3, -1, -1 }, "2025-01-10 12:00",
	  { { "d1", G, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "d3a", G, "2025-01-03 01:00", NULL, NULL, NULL },
	    { "d3b", G, "2025-01-03 23:00", NULL, NULL, NULL },
	    { "d6", G, "2025-01-06 08:00", NULL, NULL, NULL },
	    { "d7a", G, "2025-01-07 00:00", NULL, NULL, NULL },
	    { "d7b", G, "2025-01-07 12:00", NULL, NULL, NULL } },
	  "d3b d6 d7b" },
	{ "keep-daily: a newer Failed backup does not take its day's place",
	  { -1, 2, -1, -1 }, "2025-01-10 12:00",
	  { { "d1", G, "2025-01-01 10:00", NULL, NULL, NULL },
	    { "d2", G, "2025-01-02 10:00", NULL, NULL, NULL },
	    { "d2-failed", F, "2025-01-02 22:00", NULL, NULL, NULL },
	    { "d3-failed", F, "2025-01-03 22:00", NULL, NULL, NULL } },
	  "d1 d2" },
	{ "keep-weekly 2 uses ISO weeks (2024-12-30 is in 2025-W01)",
	  { -1, -1, 2, -1 }, "2025-01-10 12:00",
	  { { "w51", G, "2024-12-20 10:00", NULL, NULL, NULL },
	    { "w52a", G, "2024-12-23 10:00", NULL, NULL, NULL },
	    { "w52b", G, "2024-12-28 10:00", NULL, NULL, NULL },
	    { "w01a", G, "2024-12-30 10:00", NULL, NULL, NULL },
	    { "w01b", G, "2025-01-02 10:00", NULL, NULL, NULL } },
	  "w52b w01b" },
	{ "keep-monthly 2",
	  { -1, -1, -1, 2 }, "2025-04-10 12:00",
	  { { "jan", G, "2025-01-31 23:59", NULL, NULL, NULL },
	    { "feb1", G, "2025-02-01 00:00", NULL, NULL, NULL },
	    { "feb2", G, "2025-02-27 00:00", NULL, NULL, NULL },
	    { "apr", G, "2025-04-01 00:00", NULL, NULL, NULL } },
	  "feb2 apr" },
	{ "policies keep their union",
	  { 1, 2, -1, -1 }, "2025-01-10 12:00",
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

static Suite *retention_suite(void)
{
	Suite *s = suite_create("retention");
	TCase *tc = tcase_create("decide");
	tcase_add_loop_test(tc, test_table, 0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, test_reasons);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(retention_suite)

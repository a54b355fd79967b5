/* The parent choice of incremental and differential backups (engine/parent.c). */
#include <stddef.h>

#include "check_main.h"
#include "engine/parent.h"

#define A "aaaa"
#define B "bbbb"

struct parent_case {
	const char *what;
	struct parent_candidate v[4];
	size_t n;
	const char *digest;
	int want_full;
	long want;            /* the index chosen, -1: none */
};

static const struct parent_case cases[] = {
	{ "nothing listed", { { 0 } }, 0, A, 0, -1 },
	{ "one of the same scope", { { "f1", A, 0, 1, 100 } }, 1, A, 0, 0 },
	{ "another scope is never chosen", { { "f1", B, 0, 1, 100 } }, 1, A, 0, -1 },
	{ "no scope digest is never chosen", { { "f1", NULL, 0, 1, 100 } }, 1, A, 0, -1 },
	{ "a Failed backup is never chosen", { { "f1", A, 1, 1, 100 } }, 1, A, 0, -1 },
	{ "the one completed last wins, whatever the listing order",
	  { { "new", A, 0, 1, 300 }, { "old", A, 0, 1, 100 }, { "mid", A, 0, 0, 200 } }, 3, A, 0, 0 },
	{ "incremental: an incremental backup may be the parent",
	  { { "f1", A, 0, 1, 100 }, { "i1", A, 0, 0, 200 } }, 2, A, 0, 1 },
	{ "differential: only full backups",
	  { { "f1", A, 0, 1, 100 }, { "i1", A, 0, 0, 200 } }, 2, A, 1, 0 },
	{ "differential: no full backup, no parent",
	  { { "i1", A, 0, 0, 200 } }, 1, A, 1, -1 },
	{ "a tie goes to the later one listed",
	  { { "x", A, 0, 1, 100 }, { "y", A, 0, 1, 100 } }, 2, A, 0, 1 },
	{ "a newer Failed or foreign backup does not hide an older good one",
	  { { "good", A, 0, 1, 100 }, { "failed", A, 1, 1, 500 }, { "other", B, 0, 1, 600 } }, 3, A, 0, 0 },
	{ "completed at 0 still counts",
	  { { "epoch", A, 0, 1, 0 } }, 1, A, 0, 0 },
};

START_TEST(test_parent_choose)
{
	const struct parent_case *c = &cases[_i];
	long got = parent_choose(c->v, c->n, c->digest, c->want_full);
	ck_assert_msg(got == c->want, "%s: chose %ld, expected %ld", c->what, got, c->want);
}
END_TEST

static Suite *parent_suite(void)
{
	Suite *s = suite_create("parent");
	TCase *tc = tcase_create("choose");
	tcase_add_loop_test(tc, test_parent_choose, 0, (int)(sizeof cases / sizeof cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(parent_suite)

/* engine/multi.c: the backup name of each context in a run over several clusters. */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "engine/multi.h"
#include "util/err.h"

static const struct {
	const char *base, *context, *want;
} NAMES[] = {
	{ "nightly", "prod", "nightly-prod" },
	{ "nightly", "Prod-EU", "nightly-prod-eu" },
	{ "nightly", "kind-kind", "nightly-kind-kind" },
	{ "nightly", "admin@cluster.local", "nightly-admin-cluster.local" },
	{ "n", "arn:aws:eks:eu-west-1:123456789012:cluster/prod", "n-arn-aws-eks-eu-west-1-123456789012-cluster-prod" },
	{ "n", "gke_proj_europe-west1_c1", "n-gke-proj-europe-west1-c1" },
	{ "n", "--a__b--", "n-a-b" },
	{ "n", "..a..", "n-a" },
	{ "n", "a.", "n-a" },
	{ "n", "my context", "n-my-context" },
	{ "n", "\xc3\xa9t\xc3\xa9", "n-t" },
};

START_TEST(test_names)
{
	char *got = NULL;
	int rc = multi_backup_name(NAMES[_i].base, NAMES[_i].context, &got);
	ck_assert_msg(rc == 0, "%s: %s", NAMES[_i].context, kahu_error_last());
	ck_assert_str_eq(got, NAMES[_i].want);
	free(got);
}
END_TEST

START_TEST(test_refused)
{
	char *got = NULL;
	ck_assert_int_eq(multi_backup_name("n", "@@@", &got), KAHU_EUSAGE);
	ck_assert_ptr_null(got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "context \"@@@\" gives no backup name"));
	ck_assert_int_eq(multi_backup_name("n", "", &got), KAHU_EUSAGE);
	ck_assert_int_eq(multi_backup_name("n", "...", &got), KAHU_EUSAGE);
	char longctx[300];
	memset(longctx, 'a', sizeof longctx - 1);
	longctx[sizeof longctx - 1] = '\0';
	ck_assert_int_eq(multi_backup_name("n", longctx, &got), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "too long"));
	ck_assert_ptr_null(got);
}
END_TEST

static Suite *multi_suite(void)
{
	Suite *s = suite_create("multi");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_names, 0, (int)(sizeof NAMES / sizeof NAMES[0]));
	tcase_add_test(tc, test_refused);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(multi_suite)

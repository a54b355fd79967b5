/* Unit tests for what the pods/exec client (src/kube/exec.c) computes without a server:
 * the query of the Upgrade request. */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kube/exec.h"

static char *query(const char *const *argv, const char *container, bool in)
{
	struct kube_exec_opts o = { .namespace_ = "ns", .pod = "p", .container = container,
				    .argv = argv, .stdin_ = in };
	return kube_exec_query(&o);
}

START_TEST(test_query_plain)
{
	const char *argv[] = { "true", NULL };
	char *q = query(argv, NULL, false);
	ck_assert_str_eq(q, "command=true&stdout=true&stderr=true");
	free(q);
}
END_TEST

START_TEST(test_query_every_argument_encoded)
{
	const char *argv[] = { "sh", "-c", "a b&c=d+e%f/ü", "", "#?", NULL };
	char *q = query(argv, "side car", true);
	ck_assert_str_eq(q, "command=sh&command=-c&command=a%20b%26c%3Dd%2Be%25f%2F%C3%BC"
			    "&command=&command=%23%3F&container=side%20car"
			    "&stdin=true&stdout=true&stderr=true");
	free(q);
}
END_TEST

static Suite *exec_suite(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("query");
	tcase_add_test(tc, test_query_plain);
	tcase_add_test(tc, test_query_every_argument_encoded);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(exec_suite)

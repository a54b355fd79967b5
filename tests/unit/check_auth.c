#include "check_main.h"
#include "kube/auth.h"
#include "kube/kubeconfig.h"
#include "util/err.h"

START_TEST(test_static_token)
{
	struct kube_config *c;
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_config_load_string(
		"clusters: [{name: c, cluster: {server: 'https://h:6443'}}]\n"
		"users: [{name: u, user: {token: abc}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
		"mem", "/tmp", NULL, &c), 0);
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_str_eq(cr.token, "abc");
	kube_credential_clear(&cr);
	kube_auth_free(a);
	kube_config_free(c);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("static");
	tcase_add_test(tc, test_static_token);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(auth_suite)

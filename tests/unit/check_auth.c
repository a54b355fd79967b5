/* Unit tests: credentials — static, token files, certificates, exec plugins. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "kube/auth.h"
#include "kube/kubeconfig.h"
#include "util/err.h"
#include "util/mem.h"

#define D TEST_DATA_DIR "/kubeconfig"
#define PLUGIN TEST_DATA_DIR "/../../cli/exec-credential-plugin.sh"
#define V1 "client.authentication.k8s.io/v1"
#define V1BETA1 "client.authentication.k8s.io/v1beta1"

#define assert_msg_has(s) \
	ck_assert_msg(strstr(kahu_error_last(), (s)) != NULL, "message \"%s\" lacks \"%s\"", \
		      kahu_error_last(), (s))
#define assert_msg_lacks(s) \
	ck_assert_msg(strstr(kahu_error_last(), (s)) == NULL, "message \"%s\" has \"%s\"", \
		      kahu_error_last(), (s))

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = xmalloc(1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static int count(const char *path)
{
	char *s = slurp(path);
	int n = s ? atoi(s) : 0;
	free(s);
	return n;
}

static char tmpdir[64];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/kahu-auth.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

static char *tmp(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static struct kube_config *load(const char *path)
{
	struct kube_load_opts o = { .kubeconfig = path };
	struct kube_config *c = NULL;
	int r = kube_config_load(&o, &c);
	ck_assert_msg(r == 0, "loading %s: %s", path, kahu_error_last());
	return c;
}

static struct kube_config *load_str(const char *yaml)
{
	struct kube_config *c = NULL;
	int r = kube_config_load_string(yaml, "mem.yaml", tmpdir, NULL, &c);
	ck_assert_msg(r == 0, "loading: %s", kahu_error_last());
	return c;
}

/* A kubeconfig whose user runs the test plugin; `extra` are more lines of the exec
 * mapping (6 spaces of indentation), typically an env list. */
static struct kube_config *exec_cfg(const char *api, const char *extra)
{
	char *y = xasprintf("current-context: c\n"
			    "clusters: [{name: k, cluster: {server: 'https://k.example:6443'}}]\n"
			    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
			    "users:\n- name: u\n  user:\n    exec:\n"
			    "      apiVersion: %s\n      command: %s\n      interactiveMode: Never\n%s",
			    api, PLUGIN, extra ? extra : "");
	struct kube_config *c = load_str(y);
	free(y);
	return c;
}

/* ---- static credentials ---- */

START_TEST(test_static_token)
{
	struct kube_config *c = load(D "/token.yaml");
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_str_eq(cr.token, "s3cr3t-token");
	ck_assert_ptr_null(cr.cert_pem);
	ck_assert_ptr_null(cr.username);
	ck_assert_int_eq(cr.expires, 0);
	kube_credential_clear(&cr);
	ck_assert_ptr_null(cr.token);
	/* nothing a retry could change */
	ck_assert_int_eq(kube_auth_invalidate(a), 0);
	kube_auth_free(a);
	kube_config_free(c);
}
END_TEST

START_TEST(test_token_file_rotation)
{
	char *tf = tmp("token");
	spit(tf, "first-token\n");
	char *y = xasprintf("current-context: c\nclusters: [{name: k, cluster: {server: x}}]\n"
			    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
			    "users: [{name: u, user: {tokenFile: token}}]\n");
	struct kube_config *c = load_str(y); /* relative to tmpdir */
	ck_assert_str_eq(c->token_file, tf);
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_str_eq(cr.token, "first-token"); /* trimmed */
	kube_credential_clear(&cr);

	/* rotated, but checked at most once a minute */
	spit(tf, "second-token-longer\n");
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_str_eq(cr.token, "first-token");
	kube_credential_clear(&cr);
	/* a 401 makes it look again: changed, so a retry may help */
	ck_assert_int_eq(kube_auth_invalidate(a), 1);
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_str_eq(cr.token, "second-token-longer");
	kube_credential_clear(&cr);
	ck_assert_int_eq(kube_auth_invalidate(a), 0); /* unchanged since */

	/* with a zero interval every get looks */
	kube_auth_set_token_recheck(a, 0);
	spit(tf, "third\n");
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_str_eq(cr.token, "third");
	kube_credential_clear(&cr);
	/* a vanished file keeps the last token */
	unlink(tf);
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_str_eq(cr.token, "third");
	kube_credential_clear(&cr);
	kube_auth_free(a);

	/* missing at the start: an error naming the file */
	kahu_error_clear();
	ck_assert_int_eq(kube_auth_new(c, &a), KAHU_ENOTFOUND);
	assert_msg_has("cannot open token file ");
	assert_msg_has(tf);
	spit(tf, "\n \n");
	ck_assert_int_eq(kube_auth_new(c, &a), KAHU_EAUTH);
	assert_msg_has(" is empty");
	/* a line break inside would add headers to every request */
	spit(tf, "abc\r\nX-Injected: yes\n");
	kahu_error_clear();
	ck_assert_int_eq(kube_auth_new(c, &a), KAHU_EAUTH);
	assert_msg_has("the token contains a control character");
	assert_msg_lacks("Injected");
	kube_config_free(c);
	free(y);
	free(tf);
}
END_TEST

static void check_certs(const char *file)
{
	struct kube_config *c = load(file);
	struct kube_auth *a;
	struct kube_credential cr;
	char *crt = slurp(D "/certs/client.crt"), *key = slurp(D "/certs/client.key");
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_ptr_null(cr.token);
	ck_assert_uint_eq(cr.cert_len, strlen(crt));
	ck_assert_str_eq(cr.cert_pem, crt);
	ck_assert_uint_eq(cr.key_len, strlen(key));
	ck_assert_str_eq(cr.key_pem, key);
	kube_credential_clear(&cr);
	kube_auth_free(a);
	kube_config_free(c);
	free(crt);
	free(key);
}

START_TEST(test_certs_path) { check_certs(D "/certs-path.yaml"); }
END_TEST

START_TEST(test_certs_data) { check_certs(D "/certs-data.yaml"); }
END_TEST

START_TEST(test_cert_errors)
{
	char *bad = tmp("bad.crt");
	spit(bad, "not a pem file");
	char *y = xasprintf("current-context: c\nclusters: [{name: k, cluster: {server: x}}]\n"
			    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
			    "users: [{name: u, user: {client-certificate: bad.crt, client-key: nokey}}]\n");
	struct kube_config *c = load_str(y);
	struct kube_auth *a = NULL;
	kahu_error_clear();
	ck_assert_int_eq(kube_auth_new(c, &a), KAHU_ENOTFOUND);
	ck_assert_ptr_null(a);
	assert_msg_has("cannot open client key ");
	assert_msg_has("/nokey");
	free(c->client_key_file);
	c->client_key_file = xstrdup(D "/certs/client.key");
	ck_assert_int_eq(kube_auth_new(c, &a), KAHU_ECONFIG);
	assert_msg_has("user \"u\": the client certificate ");
	assert_msg_has("bad.crt is not in PEM format");
	kube_config_free(c);
	free(y);
	free(bad);
}
END_TEST

START_TEST(test_basic)
{
	struct kube_config *c = load(D "/basic.yaml");
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_str_eq(cr.username, "bob");
	ck_assert_str_eq(cr.password, "p@ss:word");
	ck_assert_ptr_null(cr.token);
	kube_credential_clear(&cr);
	kube_auth_free(a);
	kube_config_free(c);
}
END_TEST

/* ---- exec plugins ---- */

START_TEST(test_exec_v1_file)
{
	/* exec-v1.yaml: relative command, args, env, provideClusterInfo */
	char *info = tmp("info"), *args = tmp("args");
	setenv("KAHU_TEST_EXEC_INFO_OUT", info, 1);
	setenv("KAHU_TEST_EXEC_ARGS_OUT", args, 1);
	struct kube_config *c = load(D "/exec-v1.yaml");
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	kahu_error_clear();
	ck_assert_msg(kube_auth_get(a, &cr) == 0, "%s", kahu_error_last());
	ck_assert_str_eq(cr.token, "exec-token-v1");
	ck_assert_int_eq(cr.expires, 0);
	kube_credential_clear(&cr);
	char *s = slurp(args);
	ck_assert_str_eq(s, "--flag\nvalue with spaces\n");
	free(s);
	s = slurp(info);
	ck_assert_ptr_nonnull(strstr(s, "\"apiVersion\":\"" V1 "\""));
	ck_assert_ptr_nonnull(strstr(s, "\"kind\":\"ExecCredential\""));
	ck_assert_ptr_nonnull(strstr(s, "\"interactive\":false"));
	ck_assert_ptr_nonnull(strstr(s, "\"server\":\"https://e.example.com\""));
	ck_assert_ptr_nonnull(strstr(s, "\"tls-server-name\":\"e.internal\""));
	ck_assert_ptr_nonnull(strstr(s, "\"certificate-authority-data\":\"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\""));
	free(s);
	kube_auth_free(a);
	kube_config_free(c);
	unsetenv("KAHU_TEST_EXEC_INFO_OUT");
	unsetenv("KAHU_TEST_EXEC_ARGS_OUT");
	free(info);
	free(args);
}
END_TEST

START_TEST(test_exec_v1beta1)
{
	char *info = tmp("info");
	char *extra = xasprintf("      env:\n"
				"      - {name: KAHU_TEST_EXEC_TOKEN, value: beta-token}\n"
				"      - {name: KAHU_TEST_EXEC_INFO_OUT, value: %s}\n"
				"      - {name: KAHU_TEST_EXEC_EXPIRY, value: '2030-01-01T01:00:00.123+01:00'}\n",
				info);
	struct kube_config *c = exec_cfg(V1BETA1, extra);
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	ck_assert_msg(kube_auth_get(a, &cr) == 0, "%s", kahu_error_last());
	ck_assert_str_eq(cr.token, "beta-token");
	ck_assert_int_eq(cr.expires, 1893456000); /* 2030-01-01T00:00:00Z */
	kube_credential_clear(&cr);
	char *s = slurp(info);
	ck_assert_ptr_nonnull(strstr(s, "\"apiVersion\":\"" V1BETA1 "\""));
	ck_assert_ptr_null(strstr(s, "\"cluster\"")); /* no provideClusterInfo */
	free(s);
	kube_auth_free(a);
	kube_config_free(c);
	free(extra);
	free(info);
}
END_TEST

START_TEST(test_exec_client_cert)
{
	struct kube_config *c = exec_cfg(V1, "      env:\n"
				"      - {name: KAHU_TEST_EXEC_CERT_FILE, value: " D "/certs/client.crt}\n"
				"      - {name: KAHU_TEST_EXEC_KEY_FILE, value: " D "/certs/client.key}\n");
	struct kube_auth *a;
	struct kube_credential cr;
	char *crt = slurp(D "/certs/client.crt"), *key = slurp(D "/certs/client.key");
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	ck_assert_msg(kube_auth_get(a, &cr) == 0, "%s", kahu_error_last());
	ck_assert_ptr_null(cr.token);
	/* the shell's $(cat) drops the final newline */
	ck_assert_int_eq(strncmp(cr.cert_pem, crt, strlen(crt) - 1), 0);
	ck_assert_int_eq(strncmp(cr.key_pem, key, strlen(key) - 1), 0);
	ck_assert_uint_eq(cr.key_len, strlen(key) - 1);
	kube_credential_clear(&cr);
	kube_auth_free(a);
	kube_config_free(c);
	free(crt);
	free(key);
}
END_TEST

/* Run a plugin that must fail; returns the code and leaves the message. */
static int exec_fail(const char *api, const char *extra)
{
	struct kube_config *c = exec_cfg(api, extra);
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	kube_auth_set_exec_timeout(a, 500);
	kahu_error_clear();
	int r = kube_auth_get(a, &cr);
	ck_assert_ptr_null(cr.token);
	kube_auth_free(a);
	kube_config_free(c);
	return r;
}

START_TEST(test_exec_fails)
{
	ck_assert_int_eq(exec_fail(V1, "      env:\n"
				   "      - {name: KAHU_TEST_EXEC_MODE, value: fail}\n"
				   "      - {name: KAHU_TEST_EXEC_MESSAGE, value: '  error: you must log in first  '}\n"),
			 KAHU_EAUTH);
	ck_assert_str_eq(kahu_error_last(),
			 "exec plugin \"" PLUGIN "\" for user \"u\" failed (exit status 1): error: you must log in first");
}
END_TEST

START_TEST(test_exec_garbage)
{
	ck_assert_int_eq(exec_fail(V1, "      env:\n"
				   "      - {name: KAHU_TEST_EXEC_MODE, value: garbage}\n"),
			 KAHU_EAUTH);
	assert_msg_has("exec plugin \"" PLUGIN "\" for user \"u\": the output is not an ExecCredential (invalid JSON at line 1");
	assert_msg_lacks("this is not JSON");

	ck_assert_int_eq(exec_fail(V1, "      env:\n"
				   "      - {name: KAHU_TEST_EXEC_MODE, value: no-status}\n"),
			 KAHU_EAUTH);
	assert_msg_has("for user \"u\": the ExecCredential has no status");

	ck_assert_int_eq(exec_fail(V1, "      env:\n"
				   "      - {name: KAHU_TEST_EXEC_TOKEN, value: tok-xyz}\n"
				   "      - {name: KAHU_TEST_EXEC_EXPIRY, value: 'tomorrow'}\n"),
			 KAHU_EAUTH);
	assert_msg_has("status.expirationTimestamp is not an RFC 3339 time");
	assert_msg_lacks("tok-xyz");

	/* no token configured: the plugin exits 2 with a message */
	ck_assert_int_eq(exec_fail(V1, NULL), KAHU_EAUTH);
	assert_msg_has("failed (exit status 2): exec-credential-plugin.sh: set KAHU_TEST_EXEC_TOKEN");
}
END_TEST

START_TEST(test_exec_token_control_char)
{
	ck_assert_int_eq(exec_fail(V1, "      env:\n"
				   "      - {name: KAHU_TEST_EXEC_TOKEN, value: \"tok-xyz\\nX-Injected: yes\"}\n"),
			 KAHU_EAUTH);
	assert_msg_has("the ExecCredential status.token contains a control character");
	assert_msg_lacks("tok-xyz");
	assert_msg_lacks("Injected");
}
END_TEST

START_TEST(test_exec_wrong_api_version)
{
	ck_assert_int_eq(exec_fail(V1, "      env:\n"
				   "      - {name: KAHU_TEST_EXEC_TOKEN, value: tok-xyz}\n"
				   "      - {name: KAHU_TEST_EXEC_API_VERSION, value: " V1BETA1 "}\n"),
			 KAHU_EAUTH);
	assert_msg_has("the ExecCredential has apiVersion \"" V1BETA1 "\", but " V1 " was requested");
	assert_msg_lacks("tok-xyz");
}
END_TEST

START_TEST(test_exec_timeout)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(exec_fail(V1, "      env:\n"
				   "      - {name: KAHU_TEST_EXEC_TOKEN, value: t}\n"
				   "      - {name: KAHU_TEST_EXEC_MODE, value: sleep}\n"
				   "      - {name: KAHU_TEST_EXEC_SLEEP, value: '20'}\n"),
			 KAHU_EAUTH);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_msg_has("for user \"u\" did not finish within 1 s and was killed");
	/* killed, with its process group (the sleep child too), not waited for */
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 5);
}
END_TEST

START_TEST(test_exec_not_found)
{
	struct kube_config *c = load(D "/exec-v1beta1.yaml");
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	kahu_error_clear();
	ck_assert_int_eq(kube_auth_get(a, &cr), KAHU_ECONFIG);
	assert_msg_has("exec plugin \"kahu-no-such-plugin-binary\" for user \"execuser\" not found: ");
	assert_msg_has("see https://example.com/install");
	kube_auth_free(a);
	kube_config_free(c);
}
END_TEST

START_TEST(test_exec_always_needs_tty)
{
	struct kube_config *c = exec_cfg(V1, "      env: [{name: KAHU_TEST_EXEC_TOKEN, value: t}]\n");
	free(c->exec->interactive_mode);
	c->exec->interactive_mode = xstrdup("Always");
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	if (!isatty(0)) {
		kahu_error_clear();
		ck_assert_int_eq(kube_auth_get(a, &cr), KAHU_EAUTH);
		assert_msg_has("needs a terminal (interactiveMode: Always), but standard input is not a terminal");
	}
	kube_auth_free(a);
	kube_config_free(c);
}
END_TEST

START_TEST(test_exec_cache_and_expiry)
{
	char *counter = tmp("counter");
	char *extra = xasprintf("      env:\n"
				"      - {name: KAHU_TEST_EXEC_TOKEN, value: cached}\n"
				"      - {name: KAHU_TEST_EXEC_COUNTER, value: %s}\n"
				"      - {name: KAHU_TEST_EXEC_EXPIRES_IN, value: '3600'}\n",
				counter);
	struct kube_config *c = exec_cfg(V1, extra);
	struct kube_auth *a;
	struct kube_credential cr;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(kube_auth_get(a, &cr) == 0, "%s", kahu_error_last());
		ck_assert_str_eq(cr.token, "cached");
		ck_assert_int_gt(cr.expires, time(NULL) + 3500);
		kube_credential_clear(&cr);
	}
	ck_assert_int_eq(count(counter), 1); /* cached for the run */
	/* a 401 drops it */
	ck_assert_int_eq(kube_auth_invalidate(a), 1);
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	kube_credential_clear(&cr);
	ck_assert_int_eq(count(counter), 2);
	/* two requests failed with the same credential: the plugin runs once more */
	struct kube_credential used;
	ck_assert_int_eq(kube_auth_get(a, &used), 0);
	ck_assert_int_eq(kube_auth_invalidate_cred(a, &used), 1);
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	ck_assert_uint_ne(cr.serial, used.serial);
	kube_credential_clear(&cr);
	ck_assert_int_eq(kube_auth_invalidate_cred(a, &used), 1); /* newer one exists */
	ck_assert_int_eq(kube_auth_get(a, &cr), 0);
	kube_credential_clear(&cr);
	kube_credential_clear(&used);
	ck_assert_int_eq(count(counter), 3);
	kube_auth_free(a);
	kube_config_free(c);
	free(extra);

	/* expiring within 10 s: refreshed at every get */
	unlink(counter);
	extra = xasprintf("      env:\n"
			  "      - {name: KAHU_TEST_EXEC_TOKEN, value: short}\n"
			  "      - {name: KAHU_TEST_EXEC_COUNTER, value: %s}\n"
			  "      - {name: KAHU_TEST_EXEC_EXPIRES_IN, value: '5'}\n", counter);
	c = exec_cfg(V1, extra);
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(kube_auth_get(a, &cr), 0);
		ck_assert_str_eq(cr.token, "short");
		kube_credential_clear(&cr);
	}
	ck_assert_int_eq(count(counter), 3);
	kube_auth_free(a);
	kube_config_free(c);
	free(extra);
	free(counter);
}
END_TEST

struct thr {
	struct kube_auth *a;
	int ok;
};

static void *getter(void *arg)
{
	struct thr *t = arg;
	struct kube_credential cr;
	for (int i = 0; i < 20; i++) {
		if (kube_auth_get(t->a, &cr) == 0 && cr.token && !strcmp(cr.token, "shared"))
			t->ok++;
		kube_credential_clear(&cr);
	}
	return NULL;
}

START_TEST(test_exec_threads)
{
	char *counter = tmp("counter");
	char *extra = xasprintf("      env:\n"
				"      - {name: KAHU_TEST_EXEC_TOKEN, value: shared}\n"
				"      - {name: KAHU_TEST_EXEC_COUNTER, value: %s}\n", counter);
	struct kube_config *c = exec_cfg(V1, extra);
	struct kube_auth *a;
	ck_assert_int_eq(kube_auth_new(c, &a), 0);
	pthread_t th[8];
	struct thr t[8];
	for (int i = 0; i < 8; i++) {
		t[i] = (struct thr){ a, 0 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, getter, &t[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(t[i].ok, 20);
	}
	ck_assert_int_eq(count(counter), 1); /* only one thread ran the plugin */
	kube_auth_free(a);
	kube_config_free(c);
	free(extra);
	free(counter);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("static");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_static_token);
	tcase_add_test(tc, test_token_file_rotation);
	tcase_add_test(tc, test_certs_path);
	tcase_add_test(tc, test_certs_data);
	tcase_add_test(tc, test_cert_errors);
	tcase_add_test(tc, test_basic);
	suite_add_tcase(s, tc);

	tc = tcase_create("exec");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_exec_v1_file);
	tcase_add_test(tc, test_exec_v1beta1);
	tcase_add_test(tc, test_exec_client_cert);
	tcase_add_test(tc, test_exec_fails);
	tcase_add_test(tc, test_exec_garbage);
	tcase_add_test(tc, test_exec_wrong_api_version);
	tcase_add_test(tc, test_exec_token_control_char);
	tcase_add_test(tc, test_exec_timeout);
	tcase_add_test(tc, test_exec_not_found);
	tcase_add_test(tc, test_exec_always_needs_tty);
	tcase_add_test(tc, test_exec_cache_and_expiry);
	tcase_add_test(tc, test_exec_threads);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(auth_suite)

/* Unit tests: kubeconfig loading, merging, selection and error messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "kube/kubeconfig.h"
#include "util/err.h"
#include "util/mem.h"

#define D TEST_DATA_DIR "/kubeconfig"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *buf = xmalloc(1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Load one file with --kubeconfig; returns the code, *c set on success. */
static int load_file(const char *path, const char *context, const char *ns,
		     struct kube_config **c)
{
	struct kube_load_opts o = { .kubeconfig = path, .context = context, .namespace = ns };
	kahu_error_clear();
	return kube_config_load(&o, c);
}

static int load_env(const char *kubeconfig_env, const char *context, struct kube_config **c)
{
	struct kube_load_opts o = { .context = context };
	setenv("KUBECONFIG", kubeconfig_env, 1);
	unsetenv("KUBERNETES_SERVICE_HOST");
	kahu_error_clear();
	int r = kube_config_load(&o, c);
	unsetenv("KUBECONFIG");
	return r;
}

#define assert_msg_has(s) \
	ck_assert_msg(strstr(kahu_error_last(), (s)) != NULL, "message \"%s\" lacks \"%s\"", \
		      kahu_error_last(), (s))
#define assert_msg_lacks(s) \
	ck_assert_msg(strstr(kahu_error_last(), (s)) == NULL, "message \"%s\" has \"%s\"", \
		      kahu_error_last(), (s))

/* ---- good files ---- */

START_TEST(test_token_file)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/token.yaml", NULL, NULL, &c), 0);
	ck_assert_str_eq(c->source, D "/token.yaml");
	ck_assert_str_eq(c->context_name, "dev");
	ck_assert_str_eq(c->cluster_name, "dev-cluster");
	ck_assert_str_eq(c->user_name, "alice");
	ck_assert_str_eq(c->server, "https://dev.example.com:6443"); /* slash stripped */
	ck_assert_str_eq(c->ca_file, D "/certs/ca.crt");               /* made absolute */
	ck_assert_str_eq(c->tls_server_name, "api.dev.internal");
	ck_assert_str_eq(c->proxy_url, "http://proxy.example.com:3128");
	ck_assert_int_eq(c->insecure_skip_tls_verify, 0);
	ck_assert_str_eq(c->token, "s3cr3t-token");
	ck_assert_ptr_null(c->token_file);
	ck_assert_ptr_null(c->exec);
	ck_assert_str_eq(c->namespace, "team-a");
	ck_assert_int_eq(c->namespace_explicit, 1);
	ck_assert_uint_eq(c->ca_data.len, 0);
	kube_config_free(c);
}
END_TEST

START_TEST(test_context_flag_and_namespace)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/token.yaml", "lab", NULL, &c), 0);
	ck_assert_str_eq(c->context_name, "lab");
	ck_assert_str_eq(c->server, "https://10.0.0.1");
	ck_assert_int_eq(c->insecure_skip_tls_verify, 1);
	ck_assert_ptr_null(c->ca_file);
	ck_assert_ptr_null(c->token);
	ck_assert_str_eq(c->token_file, D "/certs/token");
	/* no namespace in the context: "default", not explicit */
	ck_assert_str_eq(c->namespace, "default");
	ck_assert_int_eq(c->namespace_explicit, 0);
	kube_config_free(c);

	/* -n wins over the context's namespace */
	ck_assert_int_eq(load_file(D "/token.yaml", NULL, "override", &c), 0);
	ck_assert_str_eq(c->namespace, "override");
	ck_assert_int_eq(c->namespace_explicit, 1);
	kube_config_free(c);
	ck_assert_int_eq(load_file(D "/token.yaml", "lab", "other", &c), 0);
	ck_assert_str_eq(c->namespace, "other");
	ck_assert_int_eq(c->namespace_explicit, 1);
	kube_config_free(c);
}
END_TEST

START_TEST(test_context_not_found)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/token.yaml", "prod", NULL, &c), KAHU_ENOTFOUND);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(kahu_error_last(),
			 D "/token.yaml: context \"prod\" not found (known contexts: dev, lab)");
}
END_TEST

START_TEST(test_certs_by_path)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/certs-path.yaml", NULL, NULL, &c), 0);
	ck_assert_str_eq(c->ca_file, D "/certs/ca.crt"); /* "./certs/ca.crt" */
	ck_assert_str_eq(c->client_cert_file, D "/certs/client.crt");
	ck_assert_str_eq(c->client_key_file, D "/certs/client.key");
	ck_assert_uint_eq(c->client_cert_data.len, 0);
	ck_assert_uint_eq(c->client_key_data.len, 0);
	kube_config_free(c);
}
END_TEST

START_TEST(test_certs_by_data)
{
	struct kube_config *c = NULL;
	size_t ca_len, crt_len, key_len;
	char *ca = slurp(D "/certs/ca.crt", &ca_len);
	char *crt = slurp(D "/certs/client.crt", &crt_len);
	char *key = slurp(D "/certs/client.key", &key_len);
	ck_assert_int_eq(load_file(D "/certs-data.yaml", NULL, NULL, &c), 0);
	ck_assert_ptr_null(c->ca_file);
	ck_assert_uint_eq(c->ca_data.len, ca_len);
	ck_assert_str_eq(c->ca_data.data, ca);
	ck_assert_uint_eq(c->client_cert_data.len, crt_len);
	ck_assert_str_eq(c->client_cert_data.data, crt);
	ck_assert_uint_eq(c->client_key_data.len, key_len);
	ck_assert_str_eq(c->client_key_data.data, key);
	ck_assert_ptr_null(c->client_cert_file);
	kube_config_free(c);
	free(ca);
	free(crt);
	free(key);
}
END_TEST

START_TEST(test_basic_auth)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/basic.yaml", NULL, NULL, &c), 0);
	ck_assert_str_eq(c->server, "https://b.example.com:8443");
	ck_assert_str_eq(c->username, "bob");
	ck_assert_str_eq(c->password, "p@ss:word");
	ck_assert_ptr_null(c->token);
	kube_config_free(c);
}
END_TEST

START_TEST(test_exec_v1)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/exec-v1.yaml", NULL, NULL, &c), 0);
	ck_assert_ptr_nonnull(c->exec);
	struct kube_exec_config *x = c->exec;
	ck_assert_str_eq(x->api_version, "client.authentication.k8s.io/v1");
	/* a command with a '/' is relative to the kubeconfig's directory */
	ck_assert_str_eq(x->command, D "/../../../cli/exec-credential-plugin.sh");
	ck_assert_uint_eq(x->args.n, 2);
	ck_assert_str_eq(x->args.v[0], "--flag");
	ck_assert_str_eq(x->args.v[1], "value with spaces");
	ck_assert_uint_eq(x->env.n, 2);
	ck_assert_str_eq(x->env.v[0], "KAHU_TEST_EXEC_TOKEN=exec-token-v1");
	ck_assert_str_eq(x->env.v[1], "EMPTY=");
	ck_assert_str_eq(x->interactive_mode, "Never");
	ck_assert_str_eq(x->install_hint, "install it with apt");
	ck_assert_int_eq(x->provide_cluster_info, 1);
	ck_assert_str_eq(c->tls_server_name, "e.internal");
	ck_assert_str_eq(c->ca_data.data, "-----BEGIN CERTIFICATE-----\n");
	kube_config_free(c);
}
END_TEST

START_TEST(test_exec_v1beta1)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/exec-v1beta1.yaml", NULL, NULL, &c), 0);
	ck_assert_str_eq(c->exec->api_version, "client.authentication.k8s.io/v1beta1");
	ck_assert_str_eq(c->exec->command, "kahu-no-such-plugin-binary"); /* PATH lookup */
	ck_assert_str_eq(c->exec->interactive_mode, "IfAvailable");       /* v1beta1 default */
	ck_assert_uint_eq(c->exec->args.n, 0);
	ck_assert_int_eq(c->exec->provide_cluster_info, 0);
	ck_assert_ptr_nonnull(strstr(c->exec->install_hint, "https://example.com/install"));
	kube_config_free(c);
}
END_TEST

START_TEST(test_exec_errors)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/v1alpha1.yaml", NULL, NULL, &c), KAHU_ECONFIG);
	assert_msg_has(D "/v1alpha1.yaml:7: users[0].user.exec.apiVersion: ");
	assert_msg_has("v1alpha1 is no longer supported");
	assert_msg_has("user \"old\"");

	static const char head[] =
		"current-context: c\n"
		"clusters: [{name: k, cluster: {server: 'https://k'}}]\n"
		"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
		"users:\n- name: u\n  user:\n    exec:\n";
	char y[1024];
	snprintf(y, sizeof y, "%s      apiVersion: client.authentication.k8s.io/v1\n"
		 "      command: p\n", head);
	kahu_error_clear();
	ck_assert_int_eq(kube_config_load_string(y, "mem.yaml", "/d", NULL, &c), KAHU_ECONFIG);
	assert_msg_has("mem.yaml:7: users[0].user.exec: interactiveMode is required");

	snprintf(y, sizeof y, "%s      apiVersion: client.authentication.k8s.io/v1\n"
		 "      command: p\n      interactiveMode: Sometimes\n", head);
	ck_assert_int_eq(kube_config_load_string(y, "mem.yaml", "/d", NULL, &c), KAHU_ECONFIG);
	assert_msg_has("mem.yaml:10: users[0].user.exec.interactiveMode: \"Sometimes\" is not one of");

	snprintf(y, sizeof y, "%s      apiVersion: client.authentication.k8s.io/v1beta1\n"
		 "      command: p\n      env: [{value: x}]\n", head);
	ck_assert_int_eq(kube_config_load_string(y, "mem.yaml", "/d", NULL, &c), KAHU_ECONFIG);
	assert_msg_has("mem.yaml:10: users[0].user.exec.env[0]: name is missing");

	snprintf(y, sizeof y, "%s      apiVersion: client.authentication.k8s.io/v1beta1\n", head);
	ck_assert_int_eq(kube_config_load_string(y, "mem.yaml", "/d", NULL, &c), KAHU_ECONFIG);
	assert_msg_has("users[0].user.exec: command is missing");

	/* relative command with a '/' resolves against `dir`; bare names do not */
	snprintf(y, sizeof y, "%s      apiVersion: client.authentication.k8s.io/v1beta1\n"
		 "      command: bin/plugin\n", head);
	ck_assert_int_eq(kube_config_load_string(y, "mem.yaml", "/d", NULL, &c), 0);
	ck_assert_str_eq(c->exec->command, "/d/bin/plugin");
	kube_config_free(c);
}
END_TEST

/* ---- merging ---- */

START_TEST(test_merge_two)
{
	struct kube_config *c = NULL;
	/* a has no current-context: b's is used; b's context uses b's cluster whose
	 * relative CA resolves against b's directory */
	ck_assert_int_eq(load_env(D "/merge-a.yaml:" D "/merge-b.yaml", NULL, &c), 0);
	ck_assert_str_eq(c->source, D "/merge-a.yaml:" D "/merge-b.yaml");
	ck_assert_str_eq(c->context_name, "ctx-b");
	ck_assert_str_eq(c->server, "https://only-b");
	ck_assert_str_eq(c->ca_file, D "/certs/ca.crt");
	ck_assert_str_eq(c->token, "token-a"); /* user "u": a defined it first */
	kube_config_free(c);

	/* "both" is defined in both files: a's definition wins, with a's "shared" */
	ck_assert_int_eq(load_env(D "/merge-a.yaml:" D "/merge-b.yaml", "both", &c), 0);
	ck_assert_str_eq(c->server, "https://from-a");
	ck_assert_str_eq(c->namespace, "ns-from-a");
	kube_config_free(c);

	/* the other order: b wins */
	ck_assert_int_eq(load_env(D "/merge-b.yaml:" D "/merge-a.yaml", "both", &c), 0);
	ck_assert_str_eq(c->server, "https://only-b");
	ck_assert_str_eq(c->namespace, "ns-from-b");
	ck_assert_str_eq(c->token, "token-b");
	kube_config_free(c);
	ck_assert_int_eq(load_env(D "/merge-b.yaml:" D "/merge-a.yaml", "ctx-a", &c), 0);
	ck_assert_str_eq(c->server, "https://from-b");
	kube_config_free(c);
}
END_TEST

START_TEST(test_merge_three_and_missing)
{
	struct kube_config *c = NULL;
	/* missing files are skipped; the first non-empty current-context wins (c's, not
	 * b's); empty entries and duplicates in the list are ignored */
	ck_assert_int_eq(load_env(D "/merge-a.yaml::/nonexistent/kubeconfig:" D
				  "/sub/merge-c.yaml:" D "/merge-b.yaml:" D "/merge-a.yaml",
				  NULL, &c), 0);
	ck_assert_str_eq(c->source, D "/merge-a.yaml:" D "/sub/merge-c.yaml:" D "/merge-b.yaml");
	ck_assert_str_eq(c->context_name, "ctx-c");
	ck_assert_str_eq(c->server, "https://from-c");
	ck_assert_str_eq(c->ca_file, D "/sub/../certs/ca.crt");
	ck_assert_str_eq(c->token_file, D "/sub/../certs/token");
	kube_config_free(c);

	ck_assert_int_eq(load_env(D "/merge-a.yaml:" D "/sub/merge-c.yaml:" D "/merge-b.yaml",
				  "ctx-b", &c), 0);
	ck_assert_str_eq(c->server, "https://only-b");
	kube_config_free(c);

	/* a context from one file can use a cluster from another */
	ck_assert_int_eq(load_env(D "/merge-a.yaml:" D "/sub/merge-c.yaml", "nope", &c),
			 KAHU_ENOTFOUND);
	assert_msg_has(": context \"nope\" not found (known contexts: both, ctx-a, ctx-c)");
}
END_TEST

START_TEST(test_no_current_context)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_env(D "/merge-a.yaml", NULL, &c), KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(),
			 D "/merge-a.yaml: current-context is not set; choose one with --context (known contexts: both, ctx-a)");
}
END_TEST

START_TEST(test_nothing_found)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_env("/nonexistent/a:/nonexistent/b", NULL, &c), KAHU_ENOTFOUND);
	assert_msg_has("no kubeconfig found: KUBECONFIG (/nonexistent/a, /nonexistent/b) does not exist");

	/* --kubeconfig must exist */
	ck_assert_int_eq(load_file("/nonexistent/dir/config", NULL, NULL, &c), KAHU_ENOTFOUND);
	assert_msg_has("/nonexistent/dir/config");
}
END_TEST

START_TEST(test_default_home)
{
	struct kube_config *c = NULL;
	char home[] = "/tmp/kahu-kc-home.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(home));
	char *kdir = xasprintf("%s/.kube", home), *cfg = xasprintf("%s/config", kdir);
	ck_assert_int_eq(mkdir(kdir, 0700), 0);
	char *old_home = xstrdup(getenv("HOME"));
	setenv("HOME", home, 1);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");

	struct kube_load_opts o = { 0 };
	kahu_error_clear();
	ck_assert_int_eq(kube_config_load(&o, &c), KAHU_ENOTFOUND);
	assert_msg_has("the default kubeconfig");
	assert_msg_has(cfg);

	FILE *f = fopen(cfg, "w");
	fputs("current-context: h\nclusters: [{name: k, cluster: {server: https://home}}]\n"
	      "contexts: [{name: h, context: {cluster: k}}]\n", f);
	fclose(f);
	ck_assert_int_eq(kube_config_load(&o, &c), 0);
	ck_assert_str_eq(c->source, cfg);
	ck_assert_str_eq(c->server, "https://home");
	ck_assert_str_eq(c->user_name, ""); /* a context without a user: anonymous */
	kube_config_free(c);

	/* KUBECONFIG="" means the default too */
	setenv("KUBECONFIG", "", 1);
	ck_assert_int_eq(kube_config_load(&o, &c), 0);
	kube_config_free(c);
	unsetenv("KUBECONFIG");

	unlink(cfg);
	rmdir(kdir);
	rmdir(home);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_home);
	free(kdir);
	free(cfg);
}
END_TEST

/* ---- broken files ---- */

START_TEST(test_syntax_error)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/syntax-error.yaml", NULL, NULL, &c), KAHU_ECONFIG);
	ck_assert_ptr_null(c);
	assert_msg_has(D "/syntax-error.yaml:5:");
	assert_msg_has(": YAML syntax error: mapping values are not allowed");
}
END_TEST

START_TEST(test_missing_cluster_user)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/missing-refs.yaml", NULL, NULL, &c), KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(),
			 D "/missing-refs.yaml:6: contexts[0].context: context \"prod\" refers to cluster \"ghost\" and user \"phantom\", which are not defined (known clusters: real; known users: realuser)");
	ck_assert_int_eq(load_file(D "/missing-refs.yaml", "half", NULL, &c), KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(),
			 D "/missing-refs.yaml:8: contexts[1].context: context \"half\" refers to user \"phantom\", which is not defined (known users: realuser)");
}
END_TEST

START_TEST(test_bad_base64)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/bad-base64.yaml", NULL, NULL, &c), KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(),
			 D "/bad-base64.yaml:6: users[0].user.client-certificate-data: invalid base64");
	assert_msg_lacks("not*base64");
}
END_TEST

START_TEST(test_unreadable)
{
	struct kube_config *c = NULL;
	/* tests run as root, who reads mode-000 files: a directory is unreadable */
	ck_assert_int_eq(load_file(D "/certs", NULL, NULL, &c), KAHU_EIO);
	ck_assert_str_eq(kahu_error_last(), "cannot read " D "/certs: Is a directory");
	/* in KUBECONFIG a missing file is skipped but an unreadable one is an error */
	ck_assert_int_eq(load_env(D "/token.yaml:" D "/certs", NULL, &c), KAHU_EIO);
	assert_msg_has(D "/certs: Is a directory");
	/* a path through a regular file is "missing" */
	ck_assert_int_eq(load_env(D "/token.yaml/x:" D "/basic.yaml", NULL, &c), 0);
	ck_assert_str_eq(c->source, D "/basic.yaml");
	kube_config_free(c);
}
END_TEST

START_TEST(test_empty_and_not_mapping)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/empty.yaml", NULL, NULL, &c), KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(),
			 D "/empty.yaml: the kubeconfig is empty (no contexts, clusters or users)");
	/* an empty file in a list adds nothing */
	ck_assert_int_eq(load_env(D "/empty.yaml:" D "/basic.yaml", NULL, &c), 0);
	ck_assert_str_eq(c->username, "bob");
	kube_config_free(c);

	ck_assert_int_eq(load_file(D "/not-mapping.yaml", NULL, NULL, &c), KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(),
			 D "/not-mapping.yaml:1: not a kubeconfig: expected a mapping at the top level, found a list");

	kahu_error_clear();
	ck_assert_int_eq(kube_config_load_string("clusters: {a: b}\n", "m.yaml", NULL, NULL, &c),
			 KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(), "m.yaml:1: clusters: expected a list, found a mapping");
	ck_assert_int_eq(kube_config_load_string("users:\n- user: {token: x}\n", "m.yaml", NULL,
						 NULL, &c), KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(), "m.yaml:2: users[0]: has no name");
	ck_assert_int_eq(kube_config_load_string(
		"current-context: c\nclusters: [{name: k, cluster: {server: [1]}}]\n"
		"contexts: [{name: c, context: {cluster: k}}]\n", "m.yaml", NULL, NULL, &c),
		KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(),
			 "m.yaml:2: clusters[0].cluster.server: expected a string, found a list");
	ck_assert_int_eq(kube_config_load_string(
		"current-context: c\nclusters: [{name: k, cluster: {insecure-skip-tls-verify: maybe, server: x}}]\n"
		"contexts: [{name: c, context: {cluster: k}}]\n", "m.yaml", NULL, NULL, &c),
		KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(),
			 "m.yaml:2: clusters[0].cluster.insecure-skip-tls-verify: expected true or false");
	ck_assert_int_eq(kube_config_load_string(
		"current-context: c\nclusters: [{name: k, cluster: {}}]\n"
		"contexts: [{name: c, context: {cluster: k}}]\n", "m.yaml", NULL, NULL, &c),
		KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(),
			 "m.yaml:2: clusters[0].cluster: cluster \"k\" has no server");
}
END_TEST

START_TEST(test_auth_provider)
{
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_file(D "/auth-provider.yaml", NULL, NULL, &c), KAHU_ECONFIG);
	assert_msg_has(D "/auth-provider.yaml:6: users[0].user.auth-provider: ");
	assert_msg_has("user \"gke-user\" uses the auth-provider \"gcp\"");
	assert_msg_has("removed in 1.26");
	assert_msg_has("exec credential plugin");
	assert_msg_has("gke-gcloud-auth-plugin");
	assert_msg_has("kubelogin");
	assert_msg_lacks("should-never-be-shown");
}
END_TEST

START_TEST(test_conflicting_user_fields)
{
	struct kube_config *c = NULL;
	static const char *const cases[][2] = {
		{ "{token: t, username: u, password: p}", "sets both a token and username/password" },
		{ "{client-certificate: a.crt}", "has a client certificate but no client key" },
		{ "{client-key-data: aGVsbG8=}", "has a client key but no client certificate" },
		{ "{client-certificate: a, client-certificate-data: aGVsbG8=, client-key: b}",
		  "client-certificate and client-certificate-data are both set" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *y = xasprintf("current-context: c\nclusters: [{name: k, cluster: {server: x}}]\n"
				    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
				    "users: [{name: u, user: %s}]\n", cases[i][0]);
		kahu_error_clear();
		ck_assert_int_eq(kube_config_load_string(y, "m.yaml", "/d", NULL, &c), KAHU_ECONFIG);
		assert_msg_has("m.yaml:4: users[0].user: ");
		assert_msg_has(cases[i][1]);
		free(y);
	}
	/* a bare host:port means https */
	ck_assert_int_eq(kube_config_load_string(
		"current-context: c\nclusters: [{name: k, cluster: {server: 'h:6443'}}]\n"
		"contexts: [{name: c, context: {cluster: k}}]\n", "m.yaml", NULL, NULL, &c), 0);
	ck_assert_str_eq(c->server, "https://h:6443");
	kube_config_free(c);
}
END_TEST

/* A token is sent as an Authorization header: a line break in it would add headers. */
START_TEST(test_token_control_char)
{
	struct kube_config *c = NULL;
	const char *y = "current-context: c\nclusters: [{name: k, cluster: {server: x}}]\n"
			"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
			"users:\n- name: u\n  user:\n    token: \"abc\\r\\nX-Injected: yes\"\n";
	kahu_error_clear();
	ck_assert_int_eq(kube_config_load_string(y, "m.yaml", "/d", NULL, &c), KAHU_ECONFIG);
	ck_assert_ptr_null(c);
	assert_msg_has("m.yaml:7: users[0].user.token: contains a control character");
	assert_msg_lacks("Injected");
	/* a tab is allowed in a header value */
	y = "current-context: c\nclusters: [{name: k, cluster: {server: x}}]\n"
	    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	    "users: [{name: u, user: {token: \"a\\tb\"}}]\n";
	ck_assert_int_eq(kube_config_load_string(y, "m.yaml", "/d", NULL, &c), 0);
	ck_assert_str_eq(c->token, "a\tb");
	kube_config_free(c);
}
END_TEST

/* ---- in-cluster ---- */

static char *fake_root(int with_ns, int with_ca)
{
	char *root = xstrdup("/tmp/kahu-incluster.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	char *p = xasprintf("%s/var/run/secrets/kubernetes.io/serviceaccount", root);
	char *cmd = xasprintf("mkdir -p '%s'", p);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	static const char *const names[] = { "token", "ca.crt", "namespace" };
	static const char *const texts[] = { "sa-token\n", "-----BEGIN CERTIFICATE-----\n", "kube-system\n" };
	for (int i = 0; i < 3; i++) {
		if ((i == 1 && !with_ca) || (i == 2 && !with_ns))
			continue;
		char *f = xasprintf("%s/%s", p, names[i]);
		FILE *fp = fopen(f, "w");
		fputs(texts[i], fp);
		fclose(fp);
		free(f);
	}
	free(p);
	return root;
}

static void rm_root(char *root)
{
	char *cmd = xasprintf("rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(root);
}

START_TEST(test_in_cluster)
{
	struct kube_config *c = NULL;
	char *root = fake_root(1, 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(kube_config_in_cluster(root, &c), 0);
	ck_assert_str_eq(c->source, "in-cluster");
	ck_assert_str_eq(c->server, "https://10.96.0.1:443");
	char *tf = xasprintf("%s/var/run/secrets/kubernetes.io/serviceaccount/token", root);
	char *ca = xasprintf("%s/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", root);
	ck_assert_str_eq(c->token_file, tf);
	ck_assert_ptr_null(c->token);
	ck_assert_str_eq(c->ca_file, ca);
	ck_assert_str_eq(c->namespace, "kube-system");
	ck_assert_int_eq(c->namespace_explicit, 1);
	kube_config_free(c);

	/* IPv6 host in brackets */
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	ck_assert_int_eq(kube_config_in_cluster(root, &c), 0);
	ck_assert_str_eq(c->server, "https://[fd00::1]:6443");
	kube_config_free(c);

	/* fallback from kube_config_load when no kubeconfig exists; -n still applies */
	setenv("KUBECONFIG", "/nonexistent/config", 1);
	struct kube_load_opts o = { .in_cluster_root = root, .namespace = "mine" };
	ck_assert_int_eq(kube_config_load(&o, &c), 0);
	ck_assert_str_eq(c->source, "in-cluster");
	ck_assert_str_eq(c->namespace, "mine");
	kube_config_free(c);
	unsetenv("KUBECONFIG");

	/* not in a pod */
	unsetenv("KUBERNETES_SERVICE_HOST");
	kahu_error_clear();
	ck_assert_int_eq(kube_config_in_cluster(root, &c), KAHU_ENOTFOUND);
	assert_msg_has("not running in a cluster: KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	free(tf);
	free(ca);
	rm_root(root);
}
END_TEST

START_TEST(test_in_cluster_minimal)
{
	struct kube_config *c = NULL;
	char *root = fake_root(0, 0);
	setenv("KUBERNETES_SERVICE_HOST", "k.local", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(kube_config_in_cluster(root, &c), 0);
	ck_assert_str_eq(c->namespace, "default");
	ck_assert_int_eq(c->namespace_explicit, 0);
	ck_assert_ptr_null(c->ca_file);
	kube_config_free(c);

	/* no token: not usable */
	char *tf = xasprintf("%s/var/run/secrets/kubernetes.io/serviceaccount/token", root);
	unlink(tf);
	kahu_error_clear();
	ck_assert_int_eq(kube_config_in_cluster(root, &c), KAHU_ENOTFOUND);
	assert_msg_has("cannot read the service account token");
	assert_msg_has(tf);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	free(tf);
	rm_root(root);
}
END_TEST

/* ---- size: 40,000 contexts, clusters and users over three files ---- */

#define BIG_N 40000
#define BIG_X 1000

/* Entries from..to-1 of each kind; `dup`: a second definition of ctx-dup in the same
 * file, which must lose to the first. */
static void big_write(const char *path, const char *current, int from, int to,
		      const char *tag, int dup)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "apiVersion: v1\nkind: Config\n");
	if (current)
		fprintf(f, "current-context: %s\n", current);
	fprintf(f, "clusters:\n");
	for (int i = from; i < to; i++)
		fprintf(f, "- name: cl-%d\n  cluster:\n    server: https://%s-cl-%d\n", i, tag, i);
	fprintf(f, "users:\n");
	for (int i = from; i < to; i++)
		fprintf(f, "- name: u-%d\n  user:\n    token: %s-%d\n", i, tag, i);
	fprintf(f, "contexts:\n");
	for (int i = from; i < to; i++)
		fprintf(f, "- name: ctx-%d\n  context:\n    cluster: cl-%d\n    user: u-%d\n"
			"    namespace: %s\n", i, i, i, tag);
	if (dup >= 0)
		fprintf(f, "- name: ctx-%d\n  context:\n    cluster: cl-%d\n    user: u-%d\n"
			"    namespace: dup\n", dup, from, from);
	ck_assert_int_eq(fclose(f), 0);
}

static void big_expect(const char *env, const char *context, const char *name,
		       const char *server, const char *token, const char *ns)
{
	struct kube_config *c = NULL;
	ck_assert_msg(load_env(env, context, &c) == 0, "%s: %s", context ? context : "(current)",
		      kahu_error_last());
	ck_assert_str_eq(c->context_name, name);
	ck_assert_str_eq(c->server, server);
	ck_assert_str_eq(c->token, token);
	ck_assert_str_eq(c->namespace, ns);
	kube_config_free(c);
}

/* kubectl's merge rules at a size where a lookup by list walk would be quadratic. */
START_TEST(test_merge_large)
{
	char dir[] = "/tmp/kahu-kc-big.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *a = xasprintf("%s/a.yaml", dir), *b = xasprintf("%s/b.yaml", dir);
	char *x = xasprintf("%s/x.yaml", dir);
	/* a: 0..19999, no current-context, ctx-15000 defined twice; b: 10000..39999,
	 * current ctx-39999; x: contexts x-0..x-999 naming cl-(40 i) and u-(39999-i), ctx-0
	 * again, and a current-context that comes too late to count. */
	big_write(a, NULL, 0, BIG_N / 2, "a", 15000);
	big_write(b, "ctx-39999", BIG_N / 4, BIG_N, "b", -1);
	FILE *f = fopen(x, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "current-context: x-1\ncontexts:\n");
	for (int i = 0; i < BIG_X; i++)
		fprintf(f, "- name: x-%d\n  context:\n    cluster: cl-%d\n    user: u-%d\n", i,
			40 * i, BIG_N - 1 - i);
	fprintf(f, "- name: ctx-0\n  context:\n    cluster: cl-1\n    user: u-1\n");
	ck_assert_int_eq(fclose(f), 0);
	char *env = xasprintf("%s:%s:%s", a, b, x);

	/* the first non-empty current-context: b's */
	big_expect(env, NULL, "ctx-39999", "https://b-cl-39999", "b-39999", "b");
	/* in a twice and in b: a's first definition wins */
	big_expect(env, "ctx-15000", "ctx-15000", "https://a-cl-15000", "a-15000", "a");
	/* only in b */
	big_expect(env, "ctx-20000", "ctx-20000", "https://b-cl-20000", "b-20000", "b");
	/* x's contexts use clusters and users defined in the other files */
	big_expect(env, "x-0", "x-0", "https://a-cl-0", "b-39999", "default");
	big_expect(env, "x-999", "x-999", "https://b-cl-39960", "b-39000", "default");
	/* the other order: b's definition wins */
	char *env2 = xasprintf("%s:%s", b, a);
	big_expect(env2, "ctx-15000", "ctx-15000", "https://b-cl-15000", "b-15000", "b");
	free(env2);

	/* every name once, in the order of first definition */
	struct strv names = STRV_INIT;
	struct kube_load_opts o = { 0 };
	setenv("KUBECONFIG", env, 1);
	ck_assert_int_eq(kube_config_list_contexts(&o, &names), 0);
	unsetenv("KUBECONFIG");
	ck_assert_uint_eq(names.n, BIG_N + BIG_X);
	ck_assert_str_eq(names.v[0], "ctx-0");
	ck_assert_str_eq(names.v[BIG_N / 2 - 1], "ctx-19999");
	ck_assert_str_eq(names.v[BIG_N / 2], "ctx-20000");
	ck_assert_str_eq(names.v[BIG_N - 1], "ctx-39999");
	ck_assert_str_eq(names.v[BIG_N], "x-0");
	ck_assert_str_eq(names.v[BIG_N + BIG_X - 1], "x-999");
	strv_free(&names);

	/* an unknown context: the message names a few contexts and how many more */
	struct kube_config *c = NULL;
	ck_assert_int_eq(load_env(env, "ctx-40000", &c), KAHU_ENOTFOUND);
	assert_msg_has("context \"ctx-40000\" not found (known contexts: ctx-0, ctx-1, ctx-10, ");
	assert_msg_has(" and 40980 more)");

	unlink(a);
	unlink(b);
	unlink(x);
	rmdir(dir);
	free(a);
	free(b);
	free(x);
	free(env);
}
END_TEST

static Suite *kubeconfig_suite(void)
{
	Suite *s = suite_create("kubeconfig");
	TCase *tc = tcase_create("good");
	tcase_add_test(tc, test_token_file);
	tcase_add_test(tc, test_context_flag_and_namespace);
	tcase_add_test(tc, test_context_not_found);
	tcase_add_test(tc, test_certs_by_path);
	tcase_add_test(tc, test_certs_by_data);
	tcase_add_test(tc, test_basic_auth);
	tcase_add_test(tc, test_exec_v1);
	tcase_add_test(tc, test_exec_v1beta1);
	tcase_add_test(tc, test_exec_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("merge");
	tcase_add_test(tc, test_merge_two);
	tcase_add_test(tc, test_merge_three_and_missing);
	tcase_add_test(tc, test_no_current_context);
	tcase_add_test(tc, test_nothing_found);
	tcase_add_test(tc, test_default_home);
	suite_add_tcase(s, tc);

	tc = tcase_create("large");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_merge_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("broken");
	tcase_add_test(tc, test_syntax_error);
	tcase_add_test(tc, test_missing_cluster_user);
	tcase_add_test(tc, test_bad_base64);
	tcase_add_test(tc, test_unreadable);
	tcase_add_test(tc, test_empty_and_not_mapping);
	tcase_add_test(tc, test_auth_provider);
	tcase_add_test(tc, test_conflicting_user_fields);
	tcase_add_test(tc, test_token_control_char);
	suite_add_tcase(s, tc);

	tc = tcase_create("in-cluster");
	tcase_add_test(tc, test_in_cluster);
	tcase_add_test(tc, test_in_cluster_minimal);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(kubeconfig_suite)

/* kahu — fuzz target: kubeconfig files (src/kube/kubeconfig.c, libyaml).
 *
 * The input is one kubeconfig, or several separated by lines "---8<---" (at most 4),
 * which are then merged as kubectl merges the files of KUBECONFIG.  Each is written to
 * a private temporary directory and loaded as kahu loads it: from KUBECONFIG, from
 * --kubeconfig (the first file) and, for a single file, from memory; then every context
 * it names is selected with --context.  What loads must be usable: a server URL with
 * its scheme and no trailing slash, absolute file paths, a namespace, a token that
 * fits in a header line. */
#include "fuzz.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strv.h"

#define SEP "---8<---\n"
#define MAX_FILES 4

static char base[64];

static int rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void cleanup(void)
{
	if (base[0])
		nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void quiet_sink(void *ud, int level, const char *line)
{
	(void)ud;
	(void)level;
	FUZZ_CHECK(line && line[0] == '{');
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof base, "%s/kahu-fuzz-kc.XXXXXX", tmp && strlen(tmp) < 30 ? tmp : "/tmp");
	if (!mkdtemp(base))
		abort();
	atexit(cleanup);
	/* No in-cluster fallback, no default file: only what the input says. */
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	setenv("HOME", base, 1);
	kahu_log_set_level(-1);
	kahu_log_set_sink(quiet_sink, NULL, KAHU_LOG_TRACE);
	return 0;
}

static void check_path(const char *p)
{
	FUZZ_CHECK(!p || p[0] == '/');
}

static void check_config(const struct kube_config *c)
{
	FUZZ_CHECK(c->source && c->context_name && c->cluster_name && c->user_name);
	FUZZ_CHECK(c->server);
	size_t n = strlen(c->server);
	FUZZ_CHECK(!strncmp(c->server, "https://", 8) || !strncmp(c->server, "http://", 7));
	FUZZ_CHECK(n && c->server[n - 1] != '/');
	FUZZ_CHECK(c->namespace);
	check_path(c->ca_file);
	check_path(c->token_file);
	check_path(c->client_cert_file);
	check_path(c->client_key_file);
	FUZZ_CHECK(!c->client_cert_data.len == !c->client_cert_data.data);
	/* the token becomes a header line: no line break, no other control character */
	for (const unsigned char *q = (const unsigned char *)c->token; q && *q; q++)
		FUZZ_CHECK(*q >= 0x20 ? *q != 0x7f : *q == '\t');
	if (c->exec) {
		FUZZ_CHECK(c->exec->command && *c->exec->command && c->exec->api_version);
		if (strchr(c->exec->command, '/'))
			check_path(c->exec->command);
		for (size_t i = 0; i < c->exec->env.n; i++)
			FUZZ_CHECK(strchr(c->exec->env.v[i], '='));
	}
}

/* Load, then load again with each context it names. */
static void load_all(struct kube_load_opts *o, int from_string, const char *yaml)
{
	struct kube_config *c = NULL;
	struct strv ctxs = STRV_INIT;
	int rc;

	rc = from_string ? kube_config_load_string(yaml, "fuzz.yaml", base, o, &c)
			 : kube_config_load(o, &c);
	if (rc < 0) {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(rc == KAHU_ECONFIG || rc == KAHU_ENOTFOUND || rc == KAHU_EIO);
		FUZZ_CHECK(*kahu_error_last());
	} else {
		check_config(c);
		kube_config_free(c);
	}
	if (from_string)
		return;
	if (kube_config_list_contexts(o, &ctxs) < 0)
		return;
	for (size_t i = 0; i < ctxs.n && i < 8; i++) {
		o->context = ctxs.v[i];
		o->namespace = i % 2 ? "fuzz-ns" : NULL;
		if (kube_config_load(o, &c) == 0) {
			FUZZ_CHECK(!strcmp(c->context_name, ctxs.v[i]));
			FUZZ_CHECK(!o->namespace || !strcmp(c->namespace, "fuzz-ns"));
			check_config(c);
			kube_config_free(c);
		}
	}
	o->context = NULL;
	o->namespace = NULL;
	strv_free(&ctxs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	char *parts[MAX_FILES];
	char paths[MAX_FILES][96];
	size_t n = 0;
	char *p = text;

	/* Split at separator lines. */
	while (n < MAX_FILES) {
		parts[n++] = p;
		char *s = strstr(p, "\n" SEP);
		if (!s || n == MAX_FILES)
			break;
		s[1] = '\0';
		p = s + 1 + strlen(SEP);
	}
	struct kbuf env = KBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/config-%zu", base, i);
		FILE *f = fopen(paths[i], "w");
		FUZZ_CHECK(f != NULL);
		fputs(parts[i], f);
		FUZZ_CHECK(fclose(f) == 0);
		if (i)
			kbuf_addc(&env, ':');
		kbuf_adds(&env, paths[i]);
	}
	setenv("KUBECONFIG", kbuf_str(&env), 1);

	struct kube_load_opts o = { 0 };
	if (n == 1)
		load_all(&o, 1, parts[0]);
	load_all(&o, 0, NULL); /* KUBECONFIG */
	o.kubeconfig = paths[0];
	load_all(&o, 0, NULL); /* --kubeconfig */

	for (size_t i = 0; i < n; i++)
		unlink(paths[i]);
	kbuf_free(&env);
	free(text);
	return 0;
}

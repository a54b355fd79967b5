/* Unit tests: the cluster data mover (engine/mover.h): the spec's JSON round trip and
 * hostile specs; the run bundle of s3 and sftp locations (files named by options
 * flagged KAHU_BACKEND_OPT_PATH, credentials from the environment or the home
 * directory) and the refusals (fs, web identity, ssh-agent); termination messages; the
 * worker on a directory into an fs location, and the coordinator's verification of its
 * result: accepted once, then a missing result, a tampered result object, an object of
 * another size, a missing object, a result naming objects outside its volume. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "archive/key.h"
#include "engine/mover.h"
#include "store/config.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

static char tmp[256];
static struct kahu_key *key;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
	free(cmd);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void setup(void)
{
	snprintf(tmp, sizeof tmp, "%s/kahu-mover-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	ck_assert_int_eq(kahu_key_generate(&key), 0);
	setenv("KAHU_PLUGIN_PATH", MOVER_PROVIDER_DIRS, 1);
	setenv("HOME", tmp, 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_ROLE_ARN");
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_PROFILE");
	unsetenv("KAHU_KEY_FILE");
	unsetenv("KAHU_PASSPHRASE_FILE");
	unsetenv(MOVER_ENV_TERMINATION_LOG);
}

static void teardown(void)
{
	kahu_key_free(key);
	key = NULL;
	sh("chmod -R u+rwX '%s' && rm -rf '%s'", tmp, tmp);
}

/* ---- the spec ---- */

#define VID "0123456789abcdef0123456789abcdef"

START_TEST(test_spec_round_trip)
{
	struct mover_spec s = { 0 }, t;
	s.restore = 0;
	s.backup = xstrdup("nightly-1");
	s.vid = xstrdup(VID);
	s.label = xstrdup("app/data");
	s.parent = xstrdup("nightly-0");
	strv_push(&s.exclude, "*.tmp");
	strv_push(&s.exclude, "cache/*");
	s.compression_level = 9;
	s.segment_bytes = 8u << 20;
	s.attempt = xstrdup("r1-a2");
	s.mount_path = xstrdup("/mnt/x");
	s.run = xstrdup("00112233445566778899aabbccddeeff");
	s.parent_run = xstrdup("ffeeddccbbaa99887766554433221100");
	json_t *j = mover_spec_json(&s);
	ck_assert_int_eq(mover_spec_parse(j, &t), 0);
	ck_assert_str_eq(t.backup, "nightly-1");
	ck_assert_str_eq(t.vid, VID);
	ck_assert_str_eq(t.label, "app/data");
	ck_assert_str_eq(t.parent, "nightly-0");
	ck_assert_uint_eq(t.exclude.n, 2);
	ck_assert_str_eq(t.exclude.v[1], "cache/*");
	ck_assert_int_eq(t.compression_level, 9);
	ck_assert_uint_eq(t.segment_bytes, 8u << 20);
	ck_assert_str_eq(t.attempt, "r1-a2");
	ck_assert_str_eq(t.mount_path, "/mnt/x");
	ck_assert_str_eq(t.run, "00112233445566778899aabbccddeeff");
	ck_assert_str_eq(t.parent_run, "ffeeddccbbaa99887766554433221100");
	ck_assert_int_eq(t.restore, 0);
	/* a restore, minimal */
	json_decref(j);
	mover_spec_clear(&t);
	struct mover_spec r = { .restore = 1, .backup = s.backup, .vid = s.vid, .label = s.label,
				.attempt = s.attempt, .delete_extra = 1 };
	j = mover_spec_json(&r);
	ck_assert_ptr_null(json_object_get(j, "mountPath"));
	ck_assert_int_eq(mover_spec_parse(j, &t), 0);
	ck_assert_int_eq(t.restore, 1);
	ck_assert_int_eq(t.delete_extra, 1);
	ck_assert_ptr_null(t.mount_path);
	ck_assert_ptr_null(t.parent);
	ck_assert_ptr_null(t.run);
	ck_assert_ptr_null(t.parent_run);
	ck_assert_ptr_null(t.chain_runs);
	json_decref(j);
	mover_spec_clear(&t);
	/* a restore with a key: the runs of its chain, written and read back */
	r.run = xstrdup("00112233445566778899aabbccddeeff");
	r.chain_runs = json_pack("{s:s, s:s, s:s}", "nightly-1", r.run, "nightly-0", "ffeeddccbbaa99887766554433221100",
				 "old-full", "");
	j = mover_spec_json(&r);
	ck_assert_int_eq(mover_spec_parse(j, &t), 0);
	ck_assert(json_equal(t.chain_runs, r.chain_runs));
	ck_assert_str_eq(json_string_value(json_object_get(t.chain_runs, "old-full")), "");
	json_decref(j);
	mover_spec_clear(&t);
	free(r.run);
	json_decref(r.chain_runs);
	mover_spec_clear(&s);
}
END_TEST

START_TEST(test_spec_hostile)
{
#define BASE "\"backup\":\"b\",\"vid\":\"" VID "\",\"label\":\"a/b\",\"attempt\":\"a1\""
	static const struct { const char *json, *msg; } bad[] = {
		{ "[]", "not a JSON object" },
		{ "nope", "not valid JSON" },
		{ "{\"op\":\"backup\",\"backup\":\"b\",\"backup\":\"c\",\"vid\":\"" VID "\"}", "not valid JSON" },
		{ "{" BASE "}", "op: missing" },
		{ "{\"op\":\"delete\"," BASE "}", "op: neither" },
		{ "{\"op\":\"backup\"," BASE ",\"key\":\"x\"}", "key: unknown member" },
		{ "{\"op\":\"backup\"," BASE ",\"k\\u0001\":1}", "k\\x01: unknown member" },
		{ "{\"op\":\"backup\",\"backup\":\"../etc\",\"vid\":\"" VID "\",\"label\":\"x\",\"attempt\":\"a\"}", "backup:" },
		{ "{\"op\":\"backup\",\"backup\":\"b\",\"vid\":\"" VID "0\",\"label\":\"x\",\"attempt\":\"a\"}", "vid:" },
		{ "{\"op\":\"backup\",\"backup\":\"b\",\"vid\":\"0123456789ABCDEF0123456789abcdef\",\"label\":\"x\",\"attempt\":\"a\"}", "vid:" },
		{ "{\"op\":\"backup\",\"backup\":\"b\",\"vid\":\"" VID "\",\"label\":\"x\",\"attempt\":\"A/../b\"}", "attempt:" },
		{ "{\"op\":\"backup\",\"backup\":\"b\",\"vid\":\"" VID "\",\"label\":\"x\",\"attempt\":\"\"}", "attempt:" },
		{ "{\"op\":\"backup\",\"backup\":\"b\",\"vid\":\"" VID "\",\"label\":\"x\",\"attempt\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "attempt:" },
		{ "{\"op\":\"backup\",\"backup\":\"b\",\"vid\":\"" VID "\",\"label\":\"x\\ny\",\"attempt\":\"a\"}", "label:" },
		{ "{\"op\":\"backup\",\"backup\":\"b\\u0000x\",\"vid\":\"" VID "\",\"label\":\"x\",\"attempt\":\"a\"}", "not valid JSON" },
		{ "{\"op\":\"backup\"," BASE ",\"parent\":\"a/b\"}", "parent:" },
		{ "{\"op\":\"restore\"," BASE ",\"parent\":\"p\"}", "parent: a restore" },
		{ "{\"op\":\"backup\"," BASE ",\"exclude\":\"*\"}", "exclude:" },
		{ "{\"op\":\"backup\"," BASE ",\"exclude\":[1]}", "exclude:" },
		{ "{\"op\":\"backup\"," BASE ",\"exclude\":[\"\"]}", "exclude:" },
		{ "{\"op\":\"restore\"," BASE ",\"exclude\":[\"x\"]}", "exclude: only a backup" },
		{ "{\"op\":\"backup\"," BASE ",\"compressionLevel\":0}", "compressionLevel:" },
		{ "{\"op\":\"backup\"," BASE ",\"compressionLevel\":23}", "compressionLevel:" },
		{ "{\"op\":\"backup\"," BASE ",\"compressionLevel\":\"3\"}", "compressionLevel:" },
		{ "{\"op\":\"backup\"," BASE ",\"segmentBytes\":1024}", "segmentBytes:" },
		{ "{\"op\":\"backup\"," BASE ",\"segmentBytes\":-1}", "segmentBytes:" },
		{ "{\"op\":\"backup\"," BASE ",\"segmentBytes\":99999999999999}", "segmentBytes:" },
		{ "{\"op\":\"backup\"," BASE ",\"deleteExtra\":true}", "deleteExtra: only a restore" },
		{ "{\"op\":\"restore\"," BASE ",\"deleteExtra\":1}", "deleteExtra: not a boolean" },
		{ "{\"op\":\"backup\"," BASE ",\"mountPath\":\"relative\"}", "mountPath:" },
		{ "{\"op\":\"backup\"," BASE ",\"mountPath\":7}", "mountPath: not a string" },
		{ "{\"op\":\"backup\",\"backup\":\"b\",\"vid\":\"" VID "\",\"attempt\":\"a\"}", "label: missing" },
		{ "{\"op\":\"backup\"," BASE ",\"run\":\"0011\"}", "run: not 32" },
		{ "{\"op\":\"backup\"," BASE ",\"run\":\"00112233445566778899AABBCCDDEEFF\"}", "run: not 32" },
		{ "{\"op\":\"backup\"," BASE ",\"run\":1}", "run: not a string" },
		{ "{\"op\":\"backup\"," BASE ",\"parent\":\"p\",\"run\":\"00112233445566778899aabbccddeeff\",\"parentRun\":\"x\"}", "parentRun: not 32" },
		{ "{\"op\":\"backup\"," BASE ",\"run\":\"00112233445566778899aabbccddeeff\",\"parentRun\":\"00112233445566778899aabbccddeeff\"}", "parentRun: only a backup with a parent" },
		{ "{\"op\":\"backup\"," BASE ",\"parent\":\"p\",\"parentRun\":\"00112233445566778899aabbccddeeff\"}", "parentRun: only a backup with a parent" },
		{ "{\"op\":\"restore\"," BASE ",\"run\":\"00112233445566778899aabbccddeeff\",\"parentRun\":\"00112233445566778899aabbccddeeff\"}", "parentRun: only" },
		{ "{\"op\":\"backup\"," BASE ",\"run\":\"00112233445566778899aabbccddeeff\",\"chainRuns\":{\"b\":\"00112233445566778899aabbccddeeff\"}}", "chainRuns: only a restore with a run" },
		{ "{\"op\":\"restore\"," BASE ",\"chainRuns\":{\"b\":\"\"}}", "chainRuns: only a restore with a run" },
		{ "{\"op\":\"restore\"," BASE ",\"run\":\"00112233445566778899aabbccddeeff\",\"chainRuns\":[\"b\"]}", "chainRuns: not an object" },
		{ "{\"op\":\"restore\"," BASE ",\"run\":\"00112233445566778899aabbccddeeff\",\"chainRuns\":{\"b\":\"00112233445566778899aabbccddeeff\",\"../x\":\"\"}}", "chainRuns: a member" },
		{ "{\"op\":\"restore\"," BASE ",\"run\":\"00112233445566778899aabbccddeeff\",\"chainRuns\":{\"b\":\"00112233445566778899aabbccddeeff\",\"p\":\"00\"}}", "chainRuns: a member" },
		{ "{\"op\":\"restore\"," BASE ",\"run\":\"00112233445566778899aabbccddeeff\",\"chainRuns\":{\"b\":\"00112233445566778899aabbccddeeff\",\"p\":7}}", "chainRuns: a member" },
		{ "{\"op\":\"restore\"," BASE ",\"run\":\"00112233445566778899aabbccddeeff\",\"chainRuns\":{\"p\":\"00112233445566778899aabbccddeeff\"}}", "chainRuns: does not name the backup" },
		{ "{\"op\":\"restore\"," BASE ",\"run\":\"00112233445566778899aabbccddeeff\",\"chainRuns\":{\"b\":\"ffeeddccbbaa99887766554433221100\"}}", "chainRuns: does not name the backup" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct mover_spec s;
		int rc = mover_spec_parse_text(bad[i].json, &s);
		ck_assert_msg(rc == KAHU_EUSAGE, "%s: %d", bad[i].json, rc);
		ck_assert_msg(strstr(kahu_error_last(), bad[i].msg), "%s: message '%s' lacks '%s'",
			      bad[i].json, kahu_error_last(), bad[i].msg);
		ck_assert_ptr_null(s.backup);
	}
	/* a long text */
	char *big = xmalloc(70000);
	memset(big, ' ', 69999);
	big[69999] = 0;
	struct mover_spec s;
	ck_assert_int_eq(mover_spec_parse_text(big, &s), KAHU_EUSAGE);
	free(big);
}
END_TEST

/* ---- the bundle ---- */

static struct kahu_location *loc_new(const char *provider, const char *const *kv)
{
	struct kahu_location *l = xcalloc(1, sizeof *l);
	l->name = xstrdup("loc");
	l->provider = xstrdup(provider);
	size_t n = 0;
	while (kv[2 * n])
		n++;
	l->kv = xcalloc(n ? n : 1, sizeof *l->kv);
	for (size_t i = 0; i < n; i++) {
		l->kv[i].key = xstrdup(kv[2 * i]);
		l->kv[i].value = xstrdup(kv[2 * i + 1]);
	}
	l->nkv = n;
	return l;
}

static void loc_free(struct kahu_location *l)
{
	for (size_t i = 0; i < l->nkv; i++) {
		free((char *)l->kv[i].key);
		free((char *)l->kv[i].value);
	}
	free(l->kv);
	free(l->name);
	free(l->provider);
	free(l);
}

static const char *entry(json_t *data, const char *name)
{
	return json_string_value(json_object_get(data, name));
}

/* config.json of a bundle: the location's provider configuration. */
static json_t *bundle_conf(json_t *data)
{
	json_t *c = json_loads(entry(data, MOVER_BUNDLE_CONFIG), 0, NULL);
	ck_assert_ptr_nonnull(c);
	json_t *l = json_object_get(json_object_get(c, "locations"), MOVER_BUNDLE_LOCATION);
	ck_assert_ptr_nonnull(l);
	json_t *conf = json_incref(json_object_get(l, "config"));
	json_decref(c);
	return conf;
}

START_TEST(test_bundle_fs_refused)
{
	struct kahu_location *l = loc_new("fs", (const char *const[]){ "path", "/backups", NULL });
	json_t *data = (json_t *)1;
	ck_assert_int_eq(mover_bundle_build(l, key, &data), KAHU_EUSAGE);
	ck_assert_ptr_null(data);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "movers in the cluster cannot reach"));
	loc_free(l);
}
END_TEST

START_TEST(test_bundle_s3_env)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t/example+key", 1);
	setenv("AWS_SESSION_TOKEN", "sessiontoken", 1);
	struct kahu_location *l = loc_new("s3", (const char *const[]){ "bucket", "b", "endpoint",
					  "http://minio:9000", "profile", "work", NULL });
	json_t *data = NULL;
	ck_assert_int_eq(mover_bundle_build(l, key, &data), 0);
	ck_assert_uint_eq(json_object_size(data), 3);
	const char *cred = entry(data, "credentials-file");
	ck_assert_ptr_nonnull(cred);
	ck_assert_ptr_nonnull(strstr(cred, "[default]\naws_access_key_id = AKIDEXAMPLE\n"));
	ck_assert_ptr_nonnull(strstr(cred, "aws_secret_access_key = s3cr3t/example+key\n"));
	ck_assert_ptr_nonnull(strstr(cred, "aws_session_token = sessiontoken\n"));
	const char *cfg = entry(data, MOVER_BUNDLE_CONFIG);
	ck_assert_ptr_null(strstr(cfg, "s3cr3t"));
	ck_assert_ptr_null(strstr(cfg, "AKIDEXAMPLE"));
	json_t *conf = bundle_conf(data);
	ck_assert_str_eq(json_string_value(json_object_get(conf, "credentials-file")), "credentials-file");
	ck_assert_str_eq(json_string_value(json_object_get(conf, "profile")), "default");
	ck_assert_str_eq(json_string_value(json_object_get(conf, "endpoint")), "http://minio:9000");
	json_decref(conf);
	/* the key: a key file of this key */
	char *kf = xasprintf("%s/k", tmp);
	write_file(kf, entry(data, MOVER_BUNDLE_KEY), 0600);
	struct kahu_key *k2 = NULL;
	ck_assert_int_eq(kahu_key_load(kf, &k2), 0);
	ck_assert_mem_eq(k2->master, key->master, KAHU_KEY_BYTES);
	kahu_key_free(k2);
	free(kf);
	/* written to a directory: 0700, files 0400, never over another */
	char *dir = xasprintf("%s/run", tmp);
	ck_assert_int_eq(mover_bundle_write_dir(data, dir), 0);
	struct stat sb;
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0700);
	char *p = xasprintf("%s/credentials-file", dir);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0400);
	free(p);
	ck_assert_int_eq(mover_bundle_write_dir(data, dir), KAHU_EEXIST);
	free(dir);
	/* all or nothing: a bundle that meets one existing file leaves none of its own */
	dir = xasprintf("%s/run2", tmp);
	sh("mkdir '%s' && touch '%s/key'", dir, dir);
	ck_assert_int_eq(mover_bundle_write_dir(data, dir), KAHU_EEXIST);
	p = xasprintf("%s/config.json", dir);
	ck_assert_int_eq(access(p, F_OK), -1);
	free(p);
	p = xasprintf("%s/credentials-file", dir);
	ck_assert_int_eq(access(p, F_OK), -1);
	free(p);
	free(dir);
	mover_bundle_free(data);
	/* one without the other */
	unsetenv("AWS_SECRET_ACCESS_KEY");
	ck_assert_int_eq(mover_bundle_build(l, key, &data), KAHU_ECONFIG);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "AWS_SECRET_ACCESS_KEY is not"));
	/* web identity cannot be carried */
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/x", 1);
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/t", 1);
	ck_assert_int_eq(mover_bundle_build(l, key, &data), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--mover-secret"));
	unsetenv("AWS_ROLE_ARN");
	/* nothing at all */
	ck_assert_int_eq(mover_bundle_build(l, key, &data), KAHU_ECONFIG);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "no S3 credentials"));
	/* the shared credentials file of the home directory, with the location's profile */
	sh("mkdir -p '%s/.aws' && printf '[work]\\naws_access_key_id = A\\naws_secret_access_key = B\\n' "
	   "> '%s/.aws/credentials' && chmod 600 '%s/.aws/credentials'", tmp, tmp, tmp);
	ck_assert_int_eq(mover_bundle_build(l, key, &data), 0);
	ck_assert_ptr_nonnull(strstr(entry(data, "credentials-file"), "[work]"));
	conf = bundle_conf(data);
	ck_assert_str_eq(json_string_value(json_object_get(conf, "profile")), "work");
	json_decref(conf);
	json_decref(data);
	loc_free(l);
}
END_TEST

START_TEST(test_bundle_s3_files)
{
	char *cf = xasprintf("%s/creds", tmp), *ca = xasprintf("%s/ca.pem", tmp);
	write_file(cf, "[default]\naws_access_key_id = X\naws_secret_access_key = Y\n", 0600);
	write_file(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0644);
	setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1); /* the named file wins, as in the provider */
	setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET", 1);
	struct kahu_location *l = loc_new("s3", (const char *const[]){ "bucket", "b", "credentials-file",
					  cf, "ca-bundle", ca, NULL });
	json_t *data = NULL;
	ck_assert_int_eq(mover_bundle_build(l, key, &data), 0);
	ck_assert_str_eq(entry(data, "credentials-file"),
			 "[default]\naws_access_key_id = X\naws_secret_access_key = Y\n");
	ck_assert_ptr_nonnull(strstr(entry(data, "ca-bundle"), "BEGIN CERTIFICATE"));
	json_t *conf = bundle_conf(data);
	ck_assert_str_eq(json_string_value(json_object_get(conf, "ca-bundle")), "ca-bundle");
	ck_assert_str_eq(json_string_value(json_object_get(conf, "credentials-file")), "credentials-file");
	json_decref(conf);
	ck_assert_ptr_null(strstr(entry(data, MOVER_BUNDLE_CONFIG), "ENVSECRET"));
	json_decref(data);
	/* a credentials file others may read is refused, as kahu refuses its own */
	chmod(cf, 0644);
	ck_assert_int_eq(mover_bundle_build(l, key, &data), KAHU_EPERM);
	/* a missing one */
	unlink(cf);
	ck_assert_int_eq(mover_bundle_build(l, key, &data), KAHU_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "credentials-file of location loc"));
	loc_free(l);
	/* unencrypted: no key, "encryption": false */
	write_file(cf, "[default]\naws_access_key_id = X\naws_secret_access_key = Y\n", 0600);
	l = loc_new("s3", (const char *const[]){ "bucket", "b", "credentials-file", cf, NULL });
	l->no_encryption = 1;
	ck_assert_int_eq(mover_bundle_build(l, NULL, &data), 0);
	ck_assert_ptr_null(json_object_get(data, MOVER_BUNDLE_KEY));
	ck_assert_ptr_nonnull(strstr(entry(data, MOVER_BUNDLE_CONFIG), "\"encryption\": false"));
	json_decref(data);
	loc_free(l);
	free(cf);
	free(ca);
}
END_TEST

START_TEST(test_bundle_sftp)
{
	char *id = xasprintf("%s/id", tmp), *pass = xasprintf("%s/pass", tmp), *kh = xasprintf("%s/kh", tmp);
	write_file(id, "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n", 0600);
	write_file(pass, "idpass\n", 0600);
	write_file(kh, "host ssh-ed25519 AAAA\n", 0644);
	struct kahu_location *l = loc_new("sftp", (const char *const[]){ "host", "h", "path", "/b",
					  "identity-file", id, "passphrase-file", pass, "known-hosts", kh,
					  "user", "backup", NULL });
	json_t *data = NULL;
	ck_assert_int_eq(mover_bundle_build(l, key, &data), 0);
	ck_assert_uint_eq(json_object_size(data), 5);
	ck_assert_str_eq(entry(data, "identity-file"), "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n");
	ck_assert_str_eq(entry(data, "passphrase-file"), "idpass\n");
	ck_assert_str_eq(entry(data, "known-hosts"), "host ssh-ed25519 AAAA\n");
	json_t *conf = bundle_conf(data);
	ck_assert_str_eq(json_string_value(json_object_get(conf, "identity-file")), "identity-file");
	ck_assert_str_eq(json_string_value(json_object_get(conf, "path")), "/b"); /* not a local file */
	ck_assert_str_eq(json_string_value(json_object_get(conf, "user")), "backup");
	json_decref(conf);
	ck_assert_ptr_null(strstr(entry(data, MOVER_BUNDLE_CONFIG), "secret"));
	json_decref(data);
	loc_free(l);
	/* the defaults of the home directory; the local user's name */
	sh("mkdir -p '%s/.ssh' && printf 'defid' > '%s/.ssh/id_ecdsa' && chmod 600 '%s/.ssh/id_ecdsa' && "
	   "printf 'defkh' > '%s/.ssh/known_hosts'", tmp, tmp, tmp, tmp);
	l = loc_new("sftp", (const char *const[]){ "host", "h", "path", "/b", NULL });
	ck_assert_int_eq(mover_bundle_build(l, key, &data), 0);
	ck_assert_str_eq(entry(data, "identity-file"), "defid");
	ck_assert_str_eq(entry(data, "known-hosts"), "defkh");
	conf = bundle_conf(data);
	ck_assert_ptr_nonnull(json_object_get(conf, "user"));
	json_decref(conf);
	json_decref(data);
	loc_free(l);
	/* ssh-agent cannot be carried */
	l = loc_new("sftp", (const char *const[]){ "host", "h", "path", "/b", "use-agent", "true", NULL });
	ck_assert_int_eq(mover_bundle_build(l, key, &data), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "ssh-agent"));
	loc_free(l);
	free(id);
	free(pass);
	free(kh);
}
END_TEST

/* ---- termination messages ---- */

START_TEST(test_term_parse)
{
	struct mover_term t;
	const char *ok = "{\"result\":\"backups/b/movers/x.json.zst\",\"blake2b\":\""
			 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
			 "\"files\":3,\"bytes\":10}";
	ck_assert_int_eq(mover_term_parse(ok, &t), 0);
	ck_assert_int_eq(t.failed, 0);
	ck_assert_str_eq(t.result, "backups/b/movers/x.json.zst");
	ck_assert_uint_eq(t.files, 3);
	mover_term_clear(&t);
	ck_assert_int_eq(mover_term_parse("{\"error\":\"boom\",\"code\":\"ECRYPTO\",\"exit\":77}", &t), 0);
	ck_assert_int_eq(t.failed, 1);
	ck_assert_str_eq(t.error, "boom");
	ck_assert_int_eq(t.code, KAHU_ECRYPTO);
	ck_assert_int_eq(t.exit_status, 77);
	mover_term_clear(&t);
	ck_assert_int_eq(mover_term_parse("{\"error\":\"boom\",\"exit\":69}", &t), 0);
	ck_assert_int_eq(t.code, KAHU_EUNREACHABLE);
	mover_term_clear(&t);
	static const char *const bad[] = {
		"", "not json", "[1]", "{}", "{\"error\":1,\"exit\":1}", "{\"error\":\"x\",\"exit\":0}",
		"{\"error\":\"x\",\"exit\":300}", "{\"error\":\"x\",\"exit\":1,\"result\":\"y\"}",
		"{\"result\":\"r\",\"blake2b\":\"xyz\",\"files\":1,\"bytes\":1}",
		"{\"result\":\"r\",\"blake2b\":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\",\"files\":1,\"bytes\":1}",
		"{\"result\":\"r\",\"blake2b\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"files\":-1,\"bytes\":1}",
		"{\"files\":1,\"dirs\":1,\"links\":1,\"bytes\":1,\"deleted\":1}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(mover_term_parse(bad[i], &t) == KAHU_EDATA, "%s", bad[i]);
		ck_assert_ptr_null(t.doc);
	}
	char big[MOVER_TERMINATION_MAX + 10];
	memset(big, ' ', sizeof big - 1);
	big[sizeof big - 1] = 0;
	ck_assert_int_eq(mover_term_parse(big, &t), KAHU_EDATA);

	struct vol_restore_result rr;
	ck_assert_int_eq(mover_restore_result_parse("{\"files\":5,\"dirs\":2,\"links\":1,\"bytes\":99,"
						    "\"deleted\":3,\"retries\":1,\"incomplete\":false}", &rr), 0);
	ck_assert_uint_eq(rr.files, 5);
	ck_assert_uint_eq(rr.deleted, 3);
	ck_assert_uint_eq(rr.retries, 1);
	ck_assert_int_eq(mover_restore_result_parse("{\"error\":\"tar failed\",\"code\":\"EFAIL\",\"exit\":1,"
						    "\"incomplete\":true}", &rr), KAHU_EFAIL);
	ck_assert_str_eq(kahu_error_last(), "tar failed");
	ck_assert(rr.incomplete);
	ck_assert_int_eq(mover_restore_result_parse(ok, &rr), KAHU_EDATA);
}
END_TEST

/* ---- the worker and the coordinator's verification ---- */

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	struct kbuf b = KBUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		kbuf_add(&b, buf, n);
	fclose(f);
	*len = b.len;
	kbuf_adds(&b, "");
	return kbuf_detach(&b);
}

/* A bundle for an fs location at tmp/loc (the worker opens it like any other). */
static char *fs_bundle(void)
{
	char *dir = xasprintf("%s/run", tmp);
	char *cfg = xasprintf("{\"version\":1,\"locations\":{\"mover\":{\"provider\":\"fs\","
			      "\"config\":{\"path\":\"%s/loc\"},\"keyFile\":\"key\"}}}", tmp);
	char *kp = xasprintf("%s/key.src", tmp);
	ck_assert_int_eq(kahu_key_save(key, kp), 0);
	size_t n;
	char *k = read_all(kp, &n);
	json_t *data = json_pack("{s:s, s:s}", "config.json", cfg, "key", k);
	ck_assert_int_eq(mover_bundle_write_dir(data, dir), 0);
	json_decref(data);
	free(k);
	free(kp);
	free(cfg);
	return dir;
}

static struct kahu_store *fs_store(void)
{
	char *p = xasprintf("%s/loc", tmp);
	struct kahu_backend_kv kv[] = { { "path", p } };
	struct kahu_store *st = NULL;
	ck_assert_int_eq(store_open_builtin("fs", kv, 1, &st), 0);
	free(p);
	return st;
}

static void spec_for(struct mover_spec *s, const char *attempt, int restore, const char *mount)
{
	memset(s, 0, sizeof *s);
	s->restore = restore;
	s->backup = xstrdup("b1");
	s->vid = xstrdup(VID);
	s->label = xstrdup("app/data");
	s->attempt = xstrdup(attempt);
	s->mount_path = xstrdup(mount);
}

/* Run a backup mover for attempt; its termination message (allocated). */
static char *backup_attempt(const char *bundle, const char *attempt)
{
	struct mover_spec s;
	char *src = xasprintf("%s/src", tmp), *term = NULL;
	spec_for(&s, attempt, 0, src);
	int rc = mover_run(&s, bundle, &term);
	ck_assert_msg(rc == 0, "mover_run: %s", kahu_error_last());
	mover_spec_clear(&s);
	free(src);
	return term;
}

static char *obj_path(const char *rel)
{
	return xasprintf("%s/loc/backups/b1/%s", tmp, rel);
}

START_TEST(test_worker_and_verify)
{
	sh("mkdir -p '%s/src/d' && printf hello > '%s/src/d/a' && head -c 200000 /dev/urandom > "
	   "'%s/src/b' && touch -d '2001-01-01' '%s/src/d/a' '%s/src/b' '%s/src/d'", tmp, tmp, tmp, tmp,
	   tmp, tmp);
	sleep(1);
	char *bundle = fs_bundle();
	struct kahu_store *st = fs_store();
	struct mover_spec s;
	struct vol_backup_result r;
	char *src = xasprintf("%s/src", tmp);

	/* a good one: accepted, then its result object is gone */
	char *term = backup_attempt(bundle, "a1");
	spec_for(&s, "a1", 0, src);
	ck_assert_int_eq(mover_result_read(st, key, &s, term, &r), 0);
	ck_assert_uint_eq(r.counts.files, 2);
	ck_assert_uint_eq(json_array_size(r.objects), 2); /* a segment and the index */
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(r.objects, 0), "path")),
				     "volumes/" VID "/"));
	vol_backup_result_free(&r);
	char *rp = mover_result_path(&s, 1);
	ck_assert_str_eq(rp, "backups/b1/movers/" VID "-a1.json.zst.kenc");
	char *full = xasprintf("%s/loc/%s", tmp, rp);
	ck_assert_int_eq(access(full, F_OK), -1);
	ck_assert_int_eq(mover_result_read(st, key, &s, term, &r), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "is not on the location"));
	ck_assert_ptr_null(r.objects);
	vol_backup_result_free(&r);
	free(full);
	free(rp);
	mover_spec_clear(&s);
	free(term);

	/* the result object altered after the mover wrote it */
	term = backup_attempt(bundle, "a2");
	spec_for(&s, "a2", 0, src);
	rp = mover_result_path(&s, 1);
	full = xasprintf("%s/loc/%s", tmp, rp);
	sh("printf x >> '%s'", full);
	ck_assert_int_eq(mover_result_read(st, key, &s, term, &r), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "is not what the mover wrote"));
	vol_backup_result_free(&r);
	/* a result for another attempt than the spec's */
	mover_spec_clear(&s);
	spec_for(&s, "a9", 0, src);
	ck_assert_int_eq(mover_result_read(st, key, &s, term, &r), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "names backups/b1/movers/" VID "-a2"));
	vol_backup_result_free(&r);
	free(full);
	free(rp);
	mover_spec_clear(&s);
	free(term);

	/* an object of another size than listed */
	term = backup_attempt(bundle, "a3");
	spec_for(&s, "a3", 0, src);
	char *idx = obj_path("volumes/" VID "/index.jsonl.zst.kenc");
	sh("printf x >> '%s'", idx);
	ck_assert_int_eq(mover_result_read(st, key, &s, term, &r), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "index.jsonl.zst.kenc with"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "bytes, the location holds"));
	vol_backup_result_free(&r);
	mover_spec_clear(&s);
	free(term);

	/* a listed object missing */
	term = backup_attempt(bundle, "a4");
	spec_for(&s, "a4", 0, src);
	char *seg = obj_path("volumes/" VID "/data-000001.tar.zst.kenc");
	ck_assert_int_eq(unlink(seg), 0);
	ck_assert_int_eq(mover_result_read(st, key, &s, term, &r), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "data-000001.tar.zst.kenc, which is not on the location"));
	vol_backup_result_free(&r);
	mover_spec_clear(&s);
	free(term);

	/* the next attempt removes what the earlier ones left and verifies */
	term = backup_attempt(bundle, "a7");
	spec_for(&s, "a7", 0, src);
	ck_assert_int_eq(mover_result_read(st, key, &s, term, &r), 0);
	vol_backup_result_free(&r);
	char *left = xasprintf("%s/loc/backups/b1/movers/" VID "-a2.json.zst.kenc", tmp);
	ck_assert_int_eq(access(left, F_OK), -1);
	free(left);
	mover_spec_clear(&s);
	free(term);

	/* a failed mover: its message and code */
	spec_for(&s, "a5", 0, "/nonexistent/volume");
	ck_assert_int_eq(mover_run(&s, bundle, &term), KAHU_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(term, "\"code\":\"ENOTFOUND\",\"exit\":66"));
	ck_assert_int_eq(mover_result_read(st, key, &s, term, &r), KAHU_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(r.reason, "/nonexistent/volume"));
	vol_backup_result_free(&r);
	mover_spec_clear(&s);
	free(term);

	/* a restore mover into an empty directory */
	term = backup_attempt(bundle, "a6");
	free(term);
	char *dst = xasprintf("%s/dst", tmp);
	sh("mkdir '%s'", dst);
	spec_for(&s, "r1", 1, dst);
	ck_assert_int_eq(mover_run(&s, bundle, &term), 0);
	struct vol_restore_result rr;
	ck_assert_int_eq(mover_restore_result_parse(term, &rr), 0);
	ck_assert_uint_eq(rr.files, 2);
	sh("cmp '%s/src/b' '%s/b' && cmp '%s/src/d/a' '%s/d/a'", tmp, dst, tmp, dst);
	mover_spec_clear(&s);
	free(term);

	/* a long message is cut to fit a termination message, whole characters kept */
	char *longdir = xmalloc(3000);
	strcpy(longdir, "/nonexistent/");
	for (size_t i = strlen(longdir); i + 3 < 2999; i += 2)
		memcpy(longdir + i, "\xc3\xa9", 3);
	longdir[2998] = 0;
	spec_for(&s, "a9", 0, longdir);
	ck_assert_int_ne(mover_run(&s, bundle, &term), 0);
	ck_assert_uint_lt(strlen(term), MOVER_TERMINATION_MAX);
	struct mover_term mt;
	ck_assert_int_eq(mover_term_parse(term, &mt), 0);
	ck_assert_int_eq(mt.failed, 1);
	ck_assert_ptr_nonnull(strstr(mt.error, "\xc3\xa9\xc3\xa9"));
	mover_term_clear(&mt);
	mover_spec_clear(&s);
	free(term);
	free(longdir);

	/* a complete backup is not written into */
	char *man = obj_path("backup.json");
	sh("echo '{}' > '%s'", man);
	spec_for(&s, "a8", 0, src);
	ck_assert_int_eq(mover_run(&s, bundle, &term), KAHU_EEXIST);
	ck_assert_ptr_nonnull(strstr(term, "is already complete"));
	mover_spec_clear(&s);
	free(term);
	free(man);

	/* the wrong key: refused before anything is read or written */
	struct kahu_key *other = NULL;
	ck_assert_int_eq(kahu_key_generate(&other), 0);
	char *kf = xasprintf("%s/key", bundle);
	unlink(kf);
	ck_assert_int_eq(kahu_key_save(other, kf), 0);
	spec_for(&s, "r2", 1, dst);
	ck_assert_int_eq(mover_run(&s, bundle, &term), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(term, "\"code\":\"ECRYPTO\",\"exit\":77"));
	mover_spec_clear(&s);
	free(term);
	kahu_key_free(other);
	free(kf);

	free(dst);
	free(seg);
	free(idx);
	free(src);
	store_close(st);
	free(bundle);
}
END_TEST

START_TEST(test_result_parse_hostile)
{
	struct mover_spec s;
	struct vol_backup_result r;
	spec_for(&s, "a1", 0, "/v");
#define HEAD "{\"kind\":\"KahuMoverResult\",\"version\":1,\"backup\":\"b1\",\"vid\":\"" VID "\"," \
	     "\"attempt\":\"a1\",\"counts\":{\"files\":1,\"dirs\":0,\"links\":0,\"bytesRead\":1," \
	     "\"bytesStored\":1,\"bytesTransferred\":1,\"unchanged\":0},\"segments\":1,\"retries\":0," \
	     "\"vanished\":0,\"durationMs\":1,"
#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const char *good = HEAD "\"objects\":[{\"path\":\"volumes/" VID "/index.jsonl.zst\",\"size\":5,\"blake2b\":\"" H64 "\"}]}";
	ck_assert_int_eq(mover_result_parse(&s, good, strlen(good), &r), 0);
	vol_backup_result_free(&r);
	static const char *const bad[] = {
		HEAD "\"objects\":[{\"path\":\"metadata.tar.zst\",\"size\":5,\"blake2b\":\"" H64 "\"}]}",
		HEAD "\"objects\":[{\"path\":\"volumes/" VID "/../../x\",\"size\":5,\"blake2b\":\"" H64 "\"}]}",
		HEAD "\"objects\":[{\"path\":\"volumes/" VID "/\",\"size\":5,\"blake2b\":\"" H64 "\"}]}",
		HEAD "\"objects\":[{\"path\":\"volumes/" VID "/.hidden\",\"size\":5,\"blake2b\":\"" H64 "\"}]}",
		HEAD "\"objects\":[{\"path\":\"volumes/ffffffffffffffffffffffffffffffff/index\",\"size\":5,\"blake2b\":\"" H64 "\"}]}",
		HEAD "\"objects\":[{\"path\":\"volumes/" VID "/i\",\"size\":-5,\"blake2b\":\"" H64 "\"}]}",
		HEAD "\"objects\":[{\"path\":\"volumes/" VID "/i\",\"size\":5,\"blake2b\":\"xx\"}]}",
		HEAD "\"objects\":[{\"path\":\"volumes/" VID "/i\",\"size\":5,\"blake2b\":\"" H64 "\",\"x\":1}]}",
		HEAD "\"objects\":[]}",
		HEAD "\"objects\":{}}",
		"{\"kind\":\"Other\"}",
		"[]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(mover_result_parse(&s, bad[i], strlen(bad[i]), &r) == KAHU_EDATA, "%s", bad[i]);
		ck_assert_ptr_null(r.objects);
	}
	mover_spec_clear(&s);
	spec_for(&s, "a2", 0, "/v");
	ck_assert_int_eq(mover_result_parse(&s, good, strlen(good), &r), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "another backup, volume or attempt"));
	mover_spec_clear(&s);
}
END_TEST

/* The progress lines of a mover's log: written, found in a log's tail among other
 * lines, and hostile or cut lines never taken for progress. */
START_TEST(test_progress_lines)
{
	char line[128];
	struct mover_progress p = { 123456789012ULL, 42 }, q;
	size_t n = mover_progress_line(line, sizeof line, &p);
	ck_assert_str_eq(line, "kahu-progress v1 bytes=123456789012 entries=42\n");
	ck_assert_uint_eq(n, strlen(line));
	ck_assert_int_eq(mover_progress_parse(line, n, &q), 1);
	ck_assert(q.bytes == p.bytes && q.entries == p.entries);
	struct mover_progress big = { UINT64_MAX, UINT64_MAX };
	n = mover_progress_line(line, sizeof line, &big);
	ck_assert_int_eq(mover_progress_parse(line, n, &q), 1);
	ck_assert(q.bytes == UINT64_MAX && q.entries == UINT64_MAX);

	/* the newest valid line wins; other lines and a cut last line are skipped */
	const char log[] = "kahu: warning: volume: a/b vanished before it was transferred\n"
			   "kahu-progress v1 bytes=512 entries=1\n"
			   "kahu-progress v1 bytes=4096 entries=7 stored=1200\n"
			   "kahu: warning: something else\n"
			   "kahu-progress v1 bytes=9999";
	ck_assert_int_eq(mover_progress_parse(log, sizeof log - 1, &q), 1);
	ck_assert(q.bytes == 4096 && q.entries == 7);
	/* a NUL inside the tail does not end it */
	const char nul[] = "junk\0junk\nkahu-progress v1 bytes=5 entries=6\n";
	ck_assert_int_eq(mover_progress_parse(nul, sizeof nul - 1, &q), 1);
	ck_assert(q.bytes == 5 && q.entries == 6);

	static const char *const bad[] = {
		"",
		"\n",
		"kahu-progress v1 bytes=1 entries=2",            /* no newline: may be cut */
		"kahu-progress v1\n",
		"kahu-progress v1 bytes=1\n",
		"kahu-progress v1 entries=2 bytes=1\n",          /* order */
		"kahu-progress v1 bytes=1 entries=2 \n",         /* trailing space */
		"kahu-progress v1 bytes=1  entries=2\n",
		"kahu-progress v1  bytes=1 entries=2\n",
		"kahu-progress v1 bytes=-1 entries=2\n",
		"kahu-progress v1 bytes=+1 entries=2\n",
		"kahu-progress v1 bytes=01 entries=2\n",
		"kahu-progress v1 bytes= entries=2\n",
		"kahu-progress v1 bytes=1x entries=2\n",
		"kahu-progress v1 bytes=0x10 entries=2\n",
		"kahu-progress v1 bytes=18446744073709551616 entries=2\n",   /* 2^64 */
		"kahu-progress v1 bytes=99999999999999999999999 entries=2\n",
		"kahu-progress v1 bytes=1 entries=2 Stored=3\n",
		"kahu-progress v1 bytes=1 entries=2 =3\n",
		"kahu-progress v1 bytes=1 entries=2 x=\n",
		"kahu-progress v1 bytes=1 entries=2 x=a b\n",
		"kahu-progress v1 bytes=1 entries=2 x=\x1b[2J\n",
		"kahu-progress v2 bytes=1 entries=2\n",
		"KAHU-PROGRESS v1 bytes=1 entries=2\n",
		"kahu: info: kahu-progress v1 bytes=1 entries=2\n",   /* not at a line's start */
		" kahu-progress v1 bytes=1 entries=2\n",
		"kahu-progress v1 bytes=1 entries=2\r\n",
		"kahu-progress v1 bytes=1\tentries=2\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		q.bytes = q.entries = 77;
		ck_assert_msg(mover_progress_parse(bad[i], strlen(bad[i]), &q) == 0, "taken: %s", bad[i]);
		ck_assert(q.bytes == 77 && q.entries == 77);
	}
	/* fields after the known ones are skipped, whatever their names */
	const char later[] = "kahu-progress v1 bytes=1 entries=2 bytes=3 stored_v2=a.b-c\n";
	ck_assert_int_eq(mover_progress_parse(later, sizeof later - 1, &q), 1);
	ck_assert(q.bytes == 1 && q.entries == 2);
	/* NULL and a line too long to be one */
	ck_assert_int_eq(mover_progress_parse(NULL, 5, &q), 0);
	struct kbuf b = KBUF_INIT;
	kbuf_addf(&b, "kahu-progress v1 bytes=1 entries=2");
	for (int i = 0; i < 40; i++)
		kbuf_addf(&b, " field%d=xxxxxxxxxx", i);
	kbuf_addf(&b, "\n");
	ck_assert_int_eq(mover_progress_parse(b.data, b.len, &q), 0);
	kbuf_free(&b);
	/* many lines, all garbage but one far back */
	struct kbuf c = KBUF_INIT;
	kbuf_addf(&c, "kahu-progress v1 bytes=8 entries=9\n");
	for (int i = 0; i < 1000; i++)
		kbuf_addf(&c, "kahu-progress v1 bytes=%d\n", i);
	ck_assert_int_eq(mover_progress_parse(c.data, c.len, &q), 1);
	ck_assert(q.bytes == 8 && q.entries == 9);
	kbuf_free(&c);
}
END_TEST

static Suite *mover_suite(void)
{
	Suite *s = suite_create("mover");
	TCase *tc = tcase_create("mover");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_spec_round_trip);
	tcase_add_test(tc, test_spec_hostile);
	tcase_add_test(tc, test_bundle_fs_refused);
	tcase_add_test(tc, test_bundle_s3_env);
	tcase_add_test(tc, test_bundle_s3_files);
	tcase_add_test(tc, test_bundle_sftp);
	tcase_add_test(tc, test_term_parse);
	tcase_add_test(tc, test_worker_and_verify);
	tcase_add_test(tc, test_result_parse_hostile);
	tcase_add_test(tc, test_progress_lines);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(mover_suite)

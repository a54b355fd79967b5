#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "store/config.h"
#include "util/err.h"
#include "util/mem.h"

static char tmpdir[256];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/kahu-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	char *home = xasprintf("%s/home", tmpdir);
	ck_assert_int_eq(mkdir(home, 0700), 0);
	setenv("HOME", home, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_DATA_HOME");
	unsetenv("KAHU_CONFIG");
	free(home);
}

static void teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *write_file(const char *name, const char *text, mode_t mode)
{
	char *p = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(p, mode), 0);
	return p;
}

START_TEST(test_paths)
{
	char *p = config_resolve_path(NULL);
	char *want = xasprintf("%s/home/.config/kahu/config.json", tmpdir);
	ck_assert_str_eq(p, want);
	free(p);
	free(want);

	setenv("XDG_CONFIG_HOME", "/x/conf", 1);
	p = config_resolve_path(NULL);
	ck_assert_str_eq(p, "/x/conf/kahu/config.json");
	free(p);
	p = config_default_key_path();
	ck_assert_str_eq(p, "/x/conf/kahu/keys/default.key");
	free(p);
	/* A relative XDG value is invalid per the spec and ignored. */
	setenv("XDG_DATA_HOME", "relative", 1);
	p = config_xdg_data_home();
	want = xasprintf("%s/home/.local/share", tmpdir);
	ck_assert_str_eq(p, want);
	free(p);
	free(want);

	setenv("KAHU_CONFIG", "/etc/kahu.json", 1);
	p = config_resolve_path(NULL);
	ck_assert_str_eq(p, "/etc/kahu.json");
	free(p);
	p = config_resolve_path("/explicit.json");
	ck_assert_str_eq(p, "/explicit.json");
	free(p);
}
END_TEST

START_TEST(test_missing_is_embedded_default)
{
	struct kahu_config *cfg;
	const struct kahu_location *l;
	ck_assert_int_eq(config_load(NULL, &cfg), KAHU_OK);
	ck_assert_int_eq(cfg->from_file, 0);
	ck_assert_uint_eq(cfg->nlocs, 1);
	ck_assert_int_eq(config_location(cfg, NULL, &l), KAHU_OK);
	ck_assert_str_eq(l->name, "default");
	ck_assert_str_eq(l->provider, "fs");
	ck_assert(l->embedded);
	ck_assert_int_eq(l->access, LOCATION_READ_WRITE);
	ck_assert_ptr_null(l->key_file);
	char *want = xasprintf("%s/home/.local/share/kahu/backups", tmpdir);
	ck_assert_str_eq(location_config_get(l, "path"), want);
	free(want);
	ck_assert_int_eq(config_location(cfg, "default", &l), KAHU_OK);
	config_free(cfg);

	/* A file named explicitly must exist. */
	char *p = xasprintf("%s/nope.json", tmpdir);
	ck_assert_int_eq(config_load(p, &cfg), KAHU_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "nope.json"));
	free(p);
}
END_TEST

START_TEST(test_full_file)
{
	char *p = write_file("c.json",
			     "{\"version\": 1, \"defaultLocation\": \"nas\", \"future\": [1],\n"
			     " \"locations\": {\n"
			     "  \"nas\": {\"provider\": \"fs\", \"config\": {\"path\": \"~/b\"},\n"
			     "          \"keyFile\": \"keys/nas.key\", \"access\": \"ReadOnly\"},\n"
			     "  \"s3\": {\"provider\": \"s3\", \"config\": {\"bucket\": \"b\", "
			     "\"port\": 9000, \"tls\": true}, \"keyFile\": \"~/k\"}\n"
			     " }}\n", 0600);
	struct kahu_config *cfg;
	const struct kahu_location *l;
	ck_assert_int_eq(config_load(p, &cfg), KAHU_OK);
	ck_assert_int_eq(cfg->from_file, 1);
	ck_assert_uint_eq(cfg->nlocs, 2);
	ck_assert_int_eq(config_location(cfg, NULL, &l), KAHU_OK);
	ck_assert_str_eq(l->name, "nas");
	ck_assert_int_eq(l->access, LOCATION_READ_ONLY);
	char *want = xasprintf("%s/home/b", tmpdir);
	ck_assert_str_eq(location_config_get(l, "path"), want);
	free(want);
	want = xasprintf("%s/keys/nas.key", tmpdir);  /* relative to the file */
	ck_assert_str_eq(l->key_file, want);
	free(want);
	ck_assert_int_eq(config_location(cfg, "s3", &l), KAHU_OK);
	ck_assert_str_eq(location_config_get(l, "port"), "9000");
	ck_assert_str_eq(location_config_get(l, "tls"), "true");
	ck_assert_ptr_null(location_config_get(l, "nope"));
	want = xasprintf("%s/home/k", tmpdir);
	ck_assert_str_eq(l->key_file, want);
	free(want);
	config_free(cfg);
	free(p);
}
END_TEST

START_TEST(test_unknown_location)
{
	char *p = write_file("c.json",
			     "{\"locations\": {\"b\": {\"provider\": \"fs\"}, \"a\": {\"provider\": "
			     "\"fs\"}}}", 0600);
	struct kahu_config *cfg;
	const struct kahu_location *l;
	ck_assert_int_eq(config_load(p, &cfg), KAHU_OK);
	ck_assert_int_eq(config_location(cfg, "c", &l), KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(), "no location named c (locations: a, b)");
	/* Two locations, none called default, no defaultLocation: no guessing. */
	ck_assert_int_eq(config_location(cfg, NULL, &l), KAHU_ECONFIG);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "defaultLocation"));
	config_free(cfg);
	free(p);

	/* One location: it is the default.  No locations at all: the embedded default. */
	p = write_file("d.json", "{\"locations\": {\"only\": {\"provider\": \"fs\"}}}", 0600);
	ck_assert_int_eq(config_load(p, &cfg), KAHU_OK);
	ck_assert_int_eq(config_location(cfg, NULL, &l), KAHU_OK);
	ck_assert_str_eq(l->name, "only");
	config_free(cfg);
	free(p);
	p = write_file("f.json", "{\"defaultLocation\": \"x\", \"locations\": {\"only\": "
		       "{\"provider\": \"fs\"}}}", 0600);
	ck_assert_int_eq(config_load(p, &cfg), KAHU_OK);
	ck_assert_int_eq(config_location(cfg, NULL, &l), KAHU_ECONFIG);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "defaultLocation: no location named x"));
	config_free(cfg);
	free(p);
	p = write_file("e.json", "{\"version\": 1}", 0600);
	ck_assert_int_eq(config_load(p, &cfg), KAHU_OK);
	ck_assert_int_eq(config_location(cfg, NULL, &l), KAHU_OK);
	ck_assert_str_eq(l->name, "default");
	ck_assert(l->embedded);
	config_free(cfg);
	free(p);
}
END_TEST

struct bad_case {
	const char *text;
	const char *want; /* substring of the message, after the file name */
};

static const struct bad_case bad_cases[] = {
	{ "{\n  \"locations\": {\n    \"a\": {\"provider\": \"fs\",}\n  }\n}", ":3:" },
	{ "{\"version\": 1,\n\"version\": 1}", "duplicate" },
	{ "[]", "expected a JSON object" },
	{ "{\"version\": 2}", "version: unsupported" },
	{ "{\"defaultLocation\": 3}", "defaultLocation: expected" },
	{ "{\"locations\": []}", "locations: expected an object" },
	{ "{\"locations\": {\"a\": {}}}", "locations.a.provider: missing" },
	{ "{\"locations\": {\"a\": {\"provider\": 1}}}", "locations.a.provider: expected" },
	{ "{\"locations\": {\"a\": {\"provider\": \"fs\", \"keyfile\": \"x\"}}}",
	  "locations.a.keyfile: unknown field" },
	{ "{\"locations\": {\"a\": {\"provider\": \"fs\", \"access\": \"rw\"}}}",
	  "locations.a.access: expected" },
	{ "{\"locations\": {\"a\": {\"provider\": \"fs\", \"config\": {\"path\": [1]}}}}",
	  "locations.a.config.path: expected a string" },
	{ "{\"locations\": {\"a b\": {\"provider\": \"fs\"}}}", "locations.a b: a location name" },
};

START_TEST(test_malformed)
{
	const struct bad_case *c = &bad_cases[_i];
	char *p = write_file("bad.json", c->text, 0600);
	struct kahu_config *cfg = (void *)1;
	ck_assert_int_eq(config_load(p, &cfg), KAHU_ECONFIG);
	ck_assert_ptr_null(cfg);
	const char *msg = kahu_error_last();
	ck_assert_msg(strncmp(msg, p, strlen(p)) == 0, "message does not name the file: %s", msg);
	ck_assert_msg(strstr(msg, c->want), "case %d: \"%s\" not in \"%s\"", _i, c->want, msg);
	free(p);
}
END_TEST

START_TEST(test_parse_error_position)
{
	struct kahu_config *cfg;
	const char *text = "{\"version\": 1,\n\n   \"locations\": x}";
	ck_assert_int_eq(config_parse(text, strlen(text), "mem", &cfg), KAHU_ECONFIG);
	ck_assert_msg(strncmp(kahu_error_last(), "mem:3:", 6) == 0, "%s", kahu_error_last());
}
END_TEST

START_TEST(test_permissions)
{
	char *p = write_file("c.json", "{}", 0620);
	struct kahu_config *cfg;
	ck_assert_int_eq(config_load(p, &cfg), KAHU_EPERM);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "writable by its group"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "0620"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "chmod go-w"));
	ck_assert_int_eq(chmod(p, 0602), 0);
	ck_assert_int_eq(config_load(p, &cfg), KAHU_EPERM);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "writable by others"));
	/* Readable by all is fine: there are no secrets in it. */
	ck_assert_int_eq(chmod(p, 0644), 0);
	ck_assert_int_eq(config_load(p, &cfg), KAHU_OK);
	config_free(cfg);
	free(p);
}
END_TEST

START_TEST(test_save_roundtrip)
{
	char *p = write_file("c.json",
			     "{\"version\": 1, \"extra\": {\"kept\": true}, \"locations\": "
			     "{\"a\": {\"provider\": \"fs\", \"config\": {\"path\": \"/a\"}}}}", 0644);
	struct kahu_config *cfg, *cfg2;
	const struct kahu_location *l;
	ck_assert_int_eq(config_load(p, &cfg), KAHU_OK);
	struct kahu_backend_kv kv[] = { { "path", "/b" } };
	struct kahu_location nl = { .name = "b", .provider = "fs", .kv = kv, .nkv = 1,
				    .key_file = "/k/b.key", .access = LOCATION_READ_ONLY };
	config_set_location(cfg, &nl, 1);
	char *out = xasprintf("%s/new/dir/config.json", tmpdir);
	ck_assert_int_eq(config_save(cfg, out), KAHU_OK);
	struct stat st;
	ck_assert_int_eq(stat(out, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	char *dir = xasprintf("%s/new/dir", tmpdir);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	free(dir);

	ck_assert_int_eq(config_load(out, &cfg2), KAHU_OK);
	ck_assert_uint_eq(cfg2->nlocs, 2);
	ck_assert_int_eq(config_location(cfg2, NULL, &l), KAHU_OK);
	ck_assert_str_eq(l->name, "b");
	ck_assert_str_eq(l->key_file, "/k/b.key");
	ck_assert_int_eq(l->access, LOCATION_READ_ONLY);
	ck_assert_str_eq(location_config_get(l, "path"), "/b");
	ck_assert_int_eq(config_remove_location(cfg2, "b"), KAHU_OK);
	ck_assert_int_eq(config_remove_location(cfg2, "b"), KAHU_ENOTFOUND);
	ck_assert_int_eq(config_save(cfg2, NULL), KAHU_OK);
	config_free(cfg2);
	ck_assert_int_eq(config_load(out, &cfg2), KAHU_OK);
	ck_assert_uint_eq(cfg2->nlocs, 1);
	ck_assert_int_eq(config_location(cfg2, NULL, &l), KAHU_OK);
	ck_assert_str_eq(l->name, "a");
	/* The unknown top-level field survived two saves. */
	FILE *f = fopen(out, "r");
	char buf[4096] = { 0 };
	ck_assert_uint_gt(fread(buf, 1, sizeof buf - 1, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"kept\""));
	config_free(cfg2);
	config_free(cfg);

	/* The embedded default is not written out. */
	ck_assert_int_eq(config_load(NULL, &cfg), KAHU_OK);
	ck_assert_int_eq(config_save(cfg, NULL), KAHU_OK);
	config_free(cfg);
	ck_assert_int_eq(config_load(NULL, &cfg), KAHU_OK);
	ck_assert_int_eq(cfg->from_file, 1);
	ck_assert_uint_eq(cfg->nlocs, 1);
	ck_assert(cfg->locs[0].embedded);
	config_free(cfg);
	free(out);
	free(p);
}
END_TEST

START_TEST(test_providers_and_key_fields)
{
	char *p = write_file("p.json",
			     "{\"version\": 1, \"locations\": {\"a\": {\"provider\": \"fs\", "
			     "\"config\": {\"path\": \"/a\"}, \"passphraseFile\": \"pass\", "
			     "\"encryption\": false}}, \"providers\": {\"plugins\": "
			     "[\"mods/kahu-x.so\", \"/abs/kahu-y.so\"], \"passive\": [\"fs\"]}}", 0600);
	struct kahu_config *cfg, *cfg2;
	const struct kahu_location *l;
	ck_assert_int_eq(config_load(p, &cfg), KAHU_OK);
	ck_assert_int_eq(config_location(cfg, "a", &l), KAHU_OK);
	char *pass = xasprintf("%s/pass", tmpdir);
	ck_assert_str_eq(l->passphrase_file, pass);
	ck_assert_int_eq(l->no_encryption, 1);
	ck_assert_uint_eq(cfg->nplugins, 2);
	char *rel = xasprintf("%s/mods/kahu-x.so", tmpdir);
	ck_assert_str_eq(cfg->plugins[0], rel);
	ck_assert_str_eq(cfg->plugins[1], "/abs/kahu-y.so");
	ck_assert(config_provider_passive(cfg, "fs"));
	ck_assert(!config_provider_passive(cfg, "s3"));
	ck_assert_int_eq(config_check_provider_active(cfg, l), KAHU_EPERM);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "provider fs is disabled (passive)"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "kahu provider enable fs"));

	/* Edits, and their round trip. */
	ck_assert_int_eq(config_set_provider_passive(cfg, "fs", 1), 0);
	ck_assert_int_eq(config_set_provider_passive(cfg, "s3", 1), 1);
	ck_assert_int_eq(config_set_provider_passive(cfg, "fs", 0), 1);
	ck_assert_int_eq(config_add_plugin(cfg, "/abs/kahu-y.so"), 0);
	ck_assert_int_eq(config_remove_plugin(cfg, rel), 1);
	ck_assert_int_eq(config_remove_plugin(cfg, rel), 0);
	ck_assert_int_eq(config_save(cfg, NULL), KAHU_OK);
	ck_assert_int_eq(config_load(p, &cfg2), KAHU_OK);
	ck_assert_uint_eq(cfg2->nplugins, 1);
	ck_assert_str_eq(cfg2->plugins[0], "/abs/kahu-y.so");
	ck_assert(!config_provider_passive(cfg2, "fs"));
	ck_assert(config_provider_passive(cfg2, "s3"));
	ck_assert_int_eq(config_location(cfg2, "a", &l), KAHU_OK);
	ck_assert_str_eq(l->passphrase_file, pass);
	ck_assert_int_eq(l->no_encryption, 1);
	ck_assert_int_eq(config_check_provider_active(cfg2, l), KAHU_OK);
	/* Nothing but the file is left in its directory. */
	char *dir_entries = xasprintf("ls -A %s | grep -c tmp", tmpdir);
	FILE *ls = popen(dir_entries, "r");
	char n[16] = { 0 };
	ck_assert_ptr_nonnull(fgets(n, sizeof n, ls));
	pclose(ls);
	ck_assert_str_eq(n, "0\n");
	free(dir_entries);

	/* With nothing to record, "providers" goes. */
	ck_assert_int_eq(config_set_provider_passive(cfg2, "s3", 0), 1);
	ck_assert_int_eq(config_remove_plugin(cfg2, "/abs/kahu-y.so"), 1);
	ck_assert_int_eq(config_save(cfg2, NULL), KAHU_OK);
	FILE *f = fopen(p, "r");
	char buf[4096] = { 0 };
	ck_assert_uint_gt(fread(buf, 1, sizeof buf - 1, f), 0);
	fclose(f);
	ck_assert_ptr_null(strstr(buf, "providers"));
	config_free(cfg2);
	config_free(cfg);
	free(rel);
	free(pass);
	free(p);
}
END_TEST

START_TEST(test_providers_malformed)
{
	static const char *const bad[][2] = {
		{ "{\"providers\": []}", "providers: expected an object" },
		{ "{\"providers\": {\"plugin\": []}}", "providers.plugin: unknown field" },
		{ "{\"providers\": {\"plugins\": \"/x.so\"}}", "providers.plugins: expected an array" },
		{ "{\"providers\": {\"plugins\": [1]}}", "providers.plugins[0]: expected a file name" },
		{ "{\"providers\": {\"passive\": [\"Fs\"]}}", "providers.passive[0]: \"Fs\" is not a provider name" },
		{ "{\"locations\": {\"a\": {\"provider\": \"fs\", \"encryption\": \"no\"}}}",
		  "locations.a.encryption: expected true or false" },
		{ "{\"locations\": {\"a\": {\"provider\": \"fs\", \"passphraseFile\": 3}}}",
		  "locations.a.passphraseFile: expected a file name" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct kahu_config *cfg = NULL;
		ck_assert_int_eq(config_parse(bad[i][0], strlen(bad[i][0]), "t.json", &cfg), KAHU_ECONFIG);
		ck_assert_ptr_null(cfg);
		ck_assert_msg(strstr(kahu_error_last(), bad[i][1]) != NULL, "%s: %s", bad[i][0],
			      kahu_error_last());
	}
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_missing_is_embedded_default);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_unknown_location);
	tcase_add_loop_test(tc, test_malformed, 0, sizeof bad_cases / sizeof bad_cases[0]);
	tcase_add_test(tc, test_parse_error_position);
	tcase_add_test(tc, test_permissions);
	tcase_add_test(tc, test_save_roundtrip);
	tcase_add_test(tc, test_providers_and_key_fields);
	tcase_add_test(tc, test_providers_malformed);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(config_suite)

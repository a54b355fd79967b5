#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "archive/key.h"
#include "archive/manifest.h"
#include "store/config.h"
#include "store/lock.h"
#include "store/repo.h"
#include "store/store.h"
#include "store/volloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"

/* The built-in fs provider's entry (store.c links it in). */
int kahu_backend_fs_init(const struct kahu_host *host, const struct kahu_backend **out);

static char tmpdir[256];
static char *cfg_path;
static struct strv warnings;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static void capture(void *ud, int level, const char *json_line)
{
	(void)ud;
	if (level <= KAHU_LOG_WARN)
		strv_push(&warnings, json_line);
}

static char *tpath(const char *rel)
{
	return xasprintf("%s/%s", tmpdir, rel);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Locations: "loc" (with a keyFile), "plain" and "other" (default key), "ro" (read-only,
 * same directory as "plain"). */
static void setup(void)
{
	strcpy(tmpdir, "/tmp/kahu-repo-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	char *home = tpath("home");
	ck_assert_int_eq(mkdir(home, 0700), 0);
	setenv("HOME", home, 1);
	free(home);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_DATA_HOME");
	unsetenv("KAHU_CONFIG");
	unsetenv("KAHU_KEY_FILE");
	unsetenv("KAHU_PASSPHRASE_FILE");
	unsetenv(REPO_ENV_WEAK_KDF);
	cfg_path = tpath("config.json");
	char *text = xasprintf(
		"{\"version\": 1, \"defaultLocation\": \"plain\", \"locations\": {\n"
		" \"loc\": {\"provider\": \"fs\", \"config\": {\"path\": \"%s/loc\"},"
		" \"keyFile\": \"%s/loc.key\"},\n"
		" \"plain\": {\"provider\": \"fs\", \"config\": {\"path\": \"%s/plain\"}},\n"
		" \"other\": {\"provider\": \"fs\", \"config\": {\"path\": \"%s/other\"}},\n"
		" \"ro\": {\"provider\": \"fs\", \"config\": {\"path\": \"%s/plain\"},"
		" \"access\": \"ReadOnly\"}\n"
		"}}\n", tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
	write_text(cfg_path, text, 0600);
	free(text);
	kahu_log_set_level(KAHU_LOG_ERROR);
	kahu_log_set_sink(capture, NULL, KAHU_LOG_WARN);
}

static void teardown(void)
{
	kahu_log_set_sink(NULL, NULL, 0);
	strv_free(&warnings);
	free(cfg_path);
	cfg_path = NULL;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct repo *open_repo(const char *loc, const char *key_file, const char *pass_file,
			      int allow_gen, int want_rc)
{
	struct repo_opts o = { .config_path = cfg_path, .location = loc, .key_file = key_file,
			       .passphrase_file = pass_file, .allow_key_generate = allow_gen };
	struct repo *r = NULL;
	int rc = repo_open(&o, &r);
	ck_assert_msg(rc == want_rc, "repo_open: %d %s", rc, kahu_error_last());
	return r;
}

/* A key file at `rel` (under tmpdir); its id in hex goes to `hex`. */
static char *make_key(const char *rel, char hex[KAHU_KEY_ID_HEX_LEN + 1])
{
	struct kahu_key *k;
	char *p = rel[0] == '/' ? xstrdup(rel) : tpath(rel);
	ck_assert_int_eq(kahu_key_generate(&k), KAHU_OK);
	ck_assert_int_eq(kahu_key_save(k, p), KAHU_OK);
	kahu_key_id_hex(k, hex);
	kahu_key_free(k);
	return p;
}

static const char *key_hex(struct repo *r, int want_rc, char hex[KAHU_KEY_ID_HEX_LEN + 1])
{
	const struct kahu_key *k = NULL;
	int rc = repo_key(r, &k);
	ck_assert_msg(rc == want_rc, "repo_key: %d %s", rc, kahu_error_last());
	if (rc < 0)
		return NULL;
	return kahu_key_id_hex(k, hex);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	ck_assert_msg(stat(path, &st) == 0, "%s missing", path);
	return st.st_mode & 07777;
}

START_TEST(test_init)
{
	char hex[KAHU_KEY_ID_HEX_LEN + 1], hex2[KAHU_KEY_ID_HEX_LEN + 1];
	struct repo *r = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_get_info(r)->exists, 0);
	ck_assert_str_eq(repo_location(r)->name, "plain");
	char *dir = tpath("plain");
	ck_assert_int_eq(access(dir, F_OK), -1);  /* opening writes nothing */

	struct kahu_key *k;
	ck_assert_int_eq(kahu_key_generate(&k), KAHU_OK);
	ck_assert_int_eq(repo_init_if_needed(r, k), KAHU_OK);
	ck_assert_int_eq(repo_init_if_needed(r, k), KAHU_OK);  /* idempotent */
	char *info = tpath("plain/kahu-repo.json");
	ck_assert_int_eq(mode_of(info), 0600);
	ck_assert_int_eq(mode_of(dir), 0700);
	repo_close(r);

	r = open_repo(NULL, NULL, NULL, 0, KAHU_OK);  /* the default location */
	const struct repo_info *ri = repo_get_info(r);
	ck_assert_int_eq(ri->exists, 1);
	ck_assert_int_eq(ri->version, 1);
	ck_assert_str_eq(ri->key_id, kahu_key_id_hex(k, hex));
	ck_assert_int_gt(ri->created, 1700000000);
	ck_assert_str_eq(ri->kahu_version, PACKAGE_VERSION);

	/* Another key: refused, naming both ids. */
	struct kahu_key *k2;
	ck_assert_int_eq(kahu_key_generate(&k2), KAHU_OK);
	ck_assert_int_eq(repo_init_if_needed(r, k2), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), hex));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), kahu_key_id_hex(k2, hex2)));
	ck_assert_int_eq(repo_init_if_needed(r, NULL), KAHU_ECRYPTO);
	repo_close(r);

	/* A read-only location is never initialised. */
	r = open_repo("other", NULL, NULL, 0, KAHU_OK);
	repo_close(r);
	r = open_repo("ro", NULL, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_check_writable(r), KAHU_EPERM);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "location ro is read-only"));
	repo_close(r);

	/* A repository of another format version. */
	char *oinfo = tpath("other/kahu-repo.json");
	char *odir = tpath("other");
	ck_assert_int_eq(mkdir(odir, 0700), 0);
	write_text(oinfo, "{\"version\": 7, \"keyId\": null}", 0600);
	open_repo("other", NULL, NULL, 0, KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "format version 7"));

	kahu_key_free(k);
	kahu_key_free(k2);
	free(dir);
	free(info);
	free(oinfo);
	free(odir);
}
END_TEST

START_TEST(test_unknown_location)
{
	open_repo("nowhere", NULL, NULL, 0, KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(),
			 "no location named nowhere (locations: loc, other, plain, ro)");
}
END_TEST

START_TEST(test_key_order)
{
	char a[KAHU_KEY_ID_HEX_LEN + 1], b[KAHU_KEY_ID_HEX_LEN + 1];
	char c[KAHU_KEY_ID_HEX_LEN + 1], d[KAHU_KEY_ID_HEX_LEN + 1];
	char got[KAHU_KEY_ID_HEX_LEN + 1];
	char *def = config_default_key_path();
	char *pa = make_key(def, a);
	char *pb = make_key("loc.key", b);   /* the keyFile of location "loc" */
	char *pc = make_key("env.key", c);
	char *pd = make_key("flag.key", d);
	struct repo *r;

	/* 1. --key-file beats everything. */
	setenv("KAHU_KEY_FILE", pc, 1);
	r = open_repo("loc", pd, NULL, 0, KAHU_OK);
	ck_assert_str_eq(key_hex(r, KAHU_OK, got), d);
	ck_assert_int_eq(repo_key_origin(r)->source, REPO_KEY_FLAG);
	ck_assert_str_eq(repo_key_origin(r)->path, pd);
	char *desc = repo_key_origin_describe(r);
	ck_assert_str_eq(desc + strlen("--key-file "), pd);
	free(desc);
	repo_close(r);
	/* ... then $KAHU_KEY_FILE ... */
	r = open_repo("loc", NULL, NULL, 0, KAHU_OK);
	ck_assert_str_eq(key_hex(r, KAHU_OK, got), c);
	ck_assert_int_eq(repo_key_origin(r)->source, REPO_KEY_ENV);
	repo_close(r);
	/* ... a named key file that does not exist is an error, not a fall-through. */
	setenv("KAHU_KEY_FILE", "/nonexistent/k.key", 1);
	r = open_repo("loc", NULL, NULL, 1, KAHU_OK);
	key_hex(r, KAHU_ENOTFOUND, got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "KAHU_KEY_FILE"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "kahu key generate --file"));
	repo_close(r);
	unsetenv("KAHU_KEY_FILE");
	/* ... then the location's keyFile ... */
	r = open_repo("loc", NULL, NULL, 0, KAHU_OK);
	ck_assert_str_eq(key_hex(r, KAHU_OK, got), b);
	ck_assert_int_eq(repo_key_origin(r)->source, REPO_KEY_LOCATION);
	ck_assert_str_eq(repo_key_origin(r)->path, pb);
	repo_close(r);
	/* ... then the default key. */
	r = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	ck_assert_str_eq(key_hex(r, KAHU_OK, got), a);
	ck_assert_int_eq(repo_key_origin(r)->source, REPO_KEY_DEFAULT);
	ck_assert_str_eq(repo_key_origin(r)->path, def);
	/* The passphrase comes between the key file and the location's keyFile. */
	const struct kahu_key *ka;
	ck_assert_int_eq(repo_key(r, &ka), KAHU_OK);
	ck_assert_int_eq(repo_add_passphrase(r, ka, "sesame", 6, KAHU_KDF_PARAMS_TEST, NULL),
			 KAHU_OK);
	repo_close(r);
	char *pp = tpath("pass");
	write_text(pp, "sesame\n", 0600);
	setenv("KAHU_PASSPHRASE_FILE", pp, 1);
	ck_assert_int_eq(unlink(def), 0);  /* no default key any more */
	r = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	ck_assert_str_eq(key_hex(r, KAHU_OK, got), a);
	ck_assert_int_eq(repo_key_origin(r)->source, REPO_KEY_PASSPHRASE_ENV);
	ck_assert_str_eq(repo_key_origin(r)->path, pp);
	repo_close(r);
	/* The key file beats the passphrase (and here it is the wrong key). */
	setenv("KAHU_KEY_FILE", pc, 1);
	r = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	key_hex(r, KAHU_ECRYPTO, got);
	repo_close(r);
	unsetenv("KAHU_KEY_FILE");
	unsetenv("KAHU_PASSPHRASE_FILE");

	free(def);
	free(pa);
	free(pb);
	free(pc);
	free(pd);
	free(pp);
}
END_TEST

/* The base64 text of a key file, to check that it reaches no message. */
static char *key_text(const char *path)
{
	char buf[128] = { 0 };
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_gt(fread(buf, 1, sizeof buf - 1, f), 40);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return xstrdup(buf);
}

START_TEST(test_generate)
{
	char got[KAHU_KEY_ID_HEX_LEN + 1];
	char *def = config_default_key_path();
	struct repo *r;

	/* Not allowed: say how to make one. */
	r = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	key_hex(r, KAHU_ENOTFOUND, got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), def));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "kahu key generate"));
	repo_close(r);
	ck_assert_int_eq(access(def, F_OK), -1);

	/* Allowed: written 0600 in a 0700 directory, with the notice. */
	r = open_repo("plain", NULL, NULL, 1, KAHU_OK);
	const struct kahu_key *k;
	ck_assert_int_eq(repo_key(r, &k), KAHU_OK);
	ck_assert_int_eq(repo_key_origin(r)->source, REPO_KEY_GENERATED);
	ck_assert_int_eq(mode_of(def), 0600);
	char *kdir = xstrndup(def, strlen(def) - strlen("/default.key"));
	ck_assert_int_eq(mode_of(kdir), 0700);
	ck_assert_uint_eq(warnings.n, 1);
	ck_assert_ptr_nonnull(strstr(warnings.v[0], def));
	ck_assert_ptr_nonnull(strstr(warnings.v[0], "Keep a copy"));
	ck_assert_ptr_nonnull(strstr(warnings.v[0], "location plain"));
	ck_assert_ptr_nonnull(strstr(warnings.v[0], "kahu key add-passphrase"));
	ck_assert_ptr_nonnull(strstr(warnings.v[0], kahu_key_id_hex(k, got)));
	char *b64 = key_text(def);
	ck_assert_ptr_null(strstr(warnings.v[0], b64));
	ck_assert_int_eq(repo_init_if_needed(r, k), KAHU_OK);
	repo_close(r);

	/* Second use: the same key, no notice. */
	r = open_repo("plain", NULL, NULL, 1, KAHU_OK);
	ck_assert_int_eq(repo_key(r, &k), KAHU_OK);
	ck_assert_int_eq(repo_key_origin(r)->source, REPO_KEY_DEFAULT);
	ck_assert_uint_eq(warnings.n, 1);
	repo_close(r);

	/* The repository has a key now: losing the file is not healed by a new key. */
	ck_assert_int_eq(unlink(def), 0);
	r = open_repo("plain", NULL, NULL, 1, KAHU_OK);
	key_hex(r, KAHU_ENOTFOUND, got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "encrypted with key"));
	ck_assert_int_eq(access(def, F_OK), -1);
	repo_close(r);

	/* A location with a keyFile generates there. */
	char *lk = tpath("loc.key");
	r = open_repo("loc", NULL, NULL, 1, KAHU_OK);
	ck_assert_int_eq(repo_key(r, &k), KAHU_OK);
	ck_assert_int_eq(mode_of(lk), 0600);
	ck_assert_str_eq(repo_key_origin(r)->path, lk);
	repo_close(r);

	free(lk);
	free(b64);
	free(kdir);
	free(def);
}
END_TEST

START_TEST(test_mismatch)
{
	char a[KAHU_KEY_ID_HEX_LEN + 1], b[KAHU_KEY_ID_HEX_LEN + 1], got[KAHU_KEY_ID_HEX_LEN + 1];
	char *pa = make_key("a.key", a);
	char *pb = make_key("b.key", b);
	struct repo *r = open_repo("plain", pa, NULL, 0, KAHU_OK);
	const struct kahu_key *k;
	ck_assert_int_eq(repo_key(r, &k), KAHU_OK);
	ck_assert_int_eq(repo_init_if_needed(r, k), KAHU_OK);
	repo_close(r);

	r = open_repo("plain", pb, NULL, 0, KAHU_OK);
	key_hex(r, KAHU_ECRYPTO, got);
	char *want = xasprintf("the backups on location plain are encrypted with key %s; the "
			       "key in use (--key-file %s) is %s: another key, or a damaged copy "
			       "of the key file", a, pb, b);
	ck_assert_str_eq(kahu_error_last(), want);
	free(want);
	repo_close(r);

	/* A key file group/others can read is refused, naming the mode. */
	ck_assert_int_eq(chmod(pa, 0644), 0);
	r = open_repo("plain", pa, NULL, 0, KAHU_OK);
	key_hex(r, KAHU_EPERM, got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "0644"));
	repo_close(r);
	free(pa);
	free(pb);
}
END_TEST

START_TEST(test_passphrases)
{
	char a[KAHU_KEY_ID_HEX_LEN + 1], got[KAHU_KEY_ID_HEX_LEN + 1];
	char *pa = make_key("a.key", a);
	char *p1 = tpath("p1"), *p2 = tpath("p2"), *p3 = tpath("p3");
	write_text(p1, "first passphrase\n", 0600);
	write_text(p2, "second passphrase\r\n", 0600);
	write_text(p3, "not it\n", 0600);

	/* Nothing wrapped yet. */
	struct repo *r = open_repo("plain", NULL, p1, 0, KAHU_OK);
	key_hex(r, KAHU_ENOTFOUND, got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "kahu key add-passphrase"));
	repo_close(r);

	r = open_repo("plain", pa, NULL, 0, KAHU_OK);
	const struct kahu_key *k;
	char *obj;
	ck_assert_int_eq(repo_key(r, &k), KAHU_OK);
	ck_assert_int_eq(repo_add_passphrase(r, k, "first passphrase", 16, KAHU_KDF_PARAMS_TEST,
					     &obj), KAHU_OK);
	char *want = xasprintf("keys/%s.json", a);
	ck_assert_str_eq(obj, want);
	free(want);
	free(obj);
	setenv(REPO_ENV_WEAK_KDF, "1", 1);  /* params NULL: the test parameters, warned */
	ck_assert_int_eq(repo_add_passphrase(r, k, "second passphrase", 17, NULL, &obj), KAHU_OK);
	want = xasprintf("keys/%s-2.json", a);
	ck_assert_str_eq(obj, want);
	ck_assert_uint_eq(warnings.n, 1);
	ck_assert_ptr_nonnull(strstr(warnings.v[0], REPO_ENV_WEAK_KDF));
	free(want);
	free(obj);
	unsetenv(REPO_ENV_WEAK_KDF);
	repo_close(r);
	char *wrapped = xasprintf("%s/plain/keys/%s.json", tmpdir, a);
	ck_assert_int_eq(mode_of(wrapped), 0600);
	free(wrapped);

	/* Each passphrase opens the key through its own object. */
	r = open_repo("plain", NULL, p1, 0, KAHU_OK);
	ck_assert_str_eq(key_hex(r, KAHU_OK, got), a);
	ck_assert_int_eq(repo_key_origin(r)->source, REPO_KEY_PASSPHRASE_FLAG);
	want = xasprintf("keys/%s.json", a);
	ck_assert_str_eq(repo_key_origin(r)->object, want);
	free(want);
	char *desc = repo_key_origin_describe(r);
	ck_assert_ptr_nonnull(strstr(desc, "--passphrase-file"));
	ck_assert_ptr_nonnull(strstr(desc, "on location plain"));
	free(desc);
	repo_close(r);
	r = open_repo("plain", NULL, p2, 0, KAHU_OK);
	ck_assert_str_eq(key_hex(r, KAHU_OK, got), a);
	want = xasprintf("keys/%s-2.json", a);
	ck_assert_str_eq(repo_key_origin(r)->object, want);
	free(want);
	repo_close(r);

	/* A wrong passphrase. */
	r = open_repo("plain", NULL, p3, 0, KAHU_OK);
	key_hex(r, KAHU_ECRYPTO, got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "wrong passphrase"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "2 wrapped keys"));
	ck_assert_ptr_null(strstr(kahu_error_last(), "not it"));
	repo_close(r);

	/* A damaged wrapped key is named with what is wrong, never taken for a wrong
	 * passphrase: truncated, then one byte of its ciphertext changed. */
	char *w2 = xasprintf("%s/plain/keys/%s-2.json", tmpdir, a);
	FILE *f = fopen(w2, "r");
	ck_assert_ptr_nonnull(f);
	static char saved[4096];
	size_t n = fread(saved, 1, sizeof saved - 1, f);
	fclose(f);
	saved[n] = '\0';
	f = fopen(w2, "w");
	ck_assert_int_eq(fwrite(saved, 1, n / 2, f), n / 2);
	fclose(f);
	r = open_repo("plain", NULL, p2, 0, KAHU_OK);
	key_hex(r, KAHU_EDATA, got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "-2.json: wrapped key is damaged: not valid JSON"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "does not open the other wrapped key"));
	ck_assert_ptr_null(strstr(kahu_error_last(), "wrong passphrase"));
	repo_close(r);
	char *flip = xstrdup(saved);
	char *wr = strstr(flip, "\"wrapped\": \"");
	ck_assert_ptr_nonnull(wr);
	wr += 12;
	*wr = *wr == 'A' ? 'B' : 'A';
	f = fopen(w2, "w");
	ck_assert_int_eq(fwrite(flip, 1, n, f), n);
	fclose(f);
	r = open_repo("plain", NULL, p2, 0, KAHU_OK);
	key_hex(r, KAHU_EDATA, got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "do not match its checksum"));
	repo_close(r);
	/* the intact copy still opens with its passphrase */
	r = open_repo("plain", NULL, p1, 0, KAHU_OK);
	ck_assert_str_eq(key_hex(r, KAHU_OK, got), a);
	repo_close(r);
	f = fopen(w2, "w");
	ck_assert_int_eq(fwrite(saved, 1, n, f), n);
	fclose(f);
	free(flip);
	free(w2);

	/* A passphrase file others can read. */
	ck_assert_int_eq(chmod(p1, 0644), 0);
	r = open_repo("plain", NULL, p1, 0, KAHU_OK);
	key_hex(r, KAHU_EPERM, got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "0644"));
	repo_close(r);

	/* Adding a passphrase for another key than the repository's is refused. */
	struct kahu_key *k2;
	ck_assert_int_eq(kahu_key_generate(&k2), KAHU_OK);
	r = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_add_passphrase(r, k2, "x", 1, KAHU_KDF_PARAMS_TEST, NULL),
			 KAHU_ECRYPTO);
	repo_close(r);
	kahu_key_free(k2);

	free(pa);
	free(p1);
	free(p2);
	free(p3);
}
END_TEST

START_TEST(test_valid_name)
{
	static const char *const good[] = { "a", "0", "nightly-2024-05-01", "a.b-c", "x1" };
	static const char *const bad[] = { "", "A", "-a", "a-", "a_b", "a/b", ".a", "a.",
					   "a b", "ä" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		ck_assert_msg(repo_valid_name(good[i]) == 0, "%s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(repo_valid_name(bad[i]) == KAHU_EUSAGE, "%s", bad[i]);
		ck_assert_str_ne(kahu_error_last(), "");
	}
	char longname[300];
	memset(longname, 'a', sizeof longname);
	longname[253] = '\0';
	ck_assert_int_eq(repo_valid_name(longname), 0);
	longname[253] = 'a';
	longname[254] = '\0';
	ck_assert_int_eq(repo_valid_name(longname), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "too long"));
	ck_assert_int_eq(repo_valid_name("Bad"), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "invalid backup name 'Bad'"));
}
END_TEST

static void put(struct repo *r, const char *key, const char *text)
{
	int rc = store_write_small(repo_store(r), key, text, strlen(text));
	ck_assert_msg(rc == 0, "%s: %s", key, kahu_error_last());
}

/* Written by hand after archive/manifest.h (the MAC is not checked by listing). */
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char manifest1[] =
	"{\"base\":\"b0\",\"completed\":\"2024-05-01T12:01:30.5Z\","
	"\"counts\":{\"errors\":0,\"failed\":0,\"items\":42,\"skipped\":0,\"types\":3,"
	"\"volumes\":0,\"warnings\":0},\"created\":\"2024-05-01T12:00:00Z\","
	"\"encryption\":\"xchacha20poly1305-secretstream\","
	"\"expires\":\"2024-06-01T12:00:00Z\",\"format\":1,\"kahu_version\":\"0.1.0\","
	"\"key_id\":\"00112233445566778899aabbccddeeff\",\"labels\":{},\"mac\":\"" HEX64 "\","
	"\"name\":\"b1\",\"objects\":[],\"parent\":\"b0\",\"scope_digest\":\"" HEX64 "\","
	"\"sizes\":{\"stored\":1234},\"status\":\"Completed\",\"type\":\"incremental\"}\n";
/* JSON, but not a manifest: listed with the problem. */
static const char manifest_odd[] = "{\"name\":\"b7\",\"status\":\"Completed\"}";

static void fill_catalog(struct repo *r)
{
	put(r, "backups/b1/metadata.tar.zst.kenc", "0123456789");
	put(r, "backups/b1/backup.json", manifest1);
	put(r, "backups/b2/metadata.tar.zst.kenc", "01234");         /* interrupted */
	put(r, "backups/b2/volumes/ns/pvc.tar.zst.kenc", "012");
	put(r, "backups/b3/backup.json", "{\"name\": ");             /* damaged */
	put(r, "backups/b7/backup.json", manifest_odd);               /* not a manifest */
	put(r, "backups/Bad_Name/metadata.tar.zst.kenc", "x");       /* garbage */
	put(r, "backups/loose", "x");
	put(r, "backupsx/b4/backup.json", "{}");                     /* not under backups/ */
}

struct seen {
	struct strv names;
	int stop_after;
};

static int check_backup(void *ud, const struct repo_backup *b)
{
	struct seen *s = ud;
	strv_push(&s->names, b->name);
	if (strcmp(b->name, "b1") == 0) {
		ck_assert(b->complete);
		ck_assert_ptr_null(b->problem);
		ck_assert_uint_eq(b->nobjects, 2);
		ck_assert_uint_eq(b->stored_bytes, 10 + strlen(manifest1));
		ck_assert_int_gt(b->last_modified, 0);
		const struct manifest *m = b->m;
		ck_assert_ptr_nonnull(m);
		ck_assert_int_eq(m->status, MANIFEST_COMPLETED);
		ck_assert_int_eq(m->type, MANIFEST_INCREMENTAL);
		ck_assert_str_eq(m->parent, "b0");
		ck_assert_str_eq(m->base, "b0");
		ck_assert_str_eq(m->kahu_version, "0.1.0");
		ck_assert_str_eq(m->key_id, "00112233445566778899aabbccddeeff");
		ck_assert(m->encrypted && !m->authenticated);
		ck_assert_int_eq(m->created, 1714564800);
		ck_assert_int_eq(m->completed, 1714564890);
		ck_assert_int_eq(m->expires, 1717243200);
		ck_assert_uint_eq(m->stored_bytes, 1234);
		ck_assert_uint_eq(m->counts.items, 42);
		ck_assert_uint_eq(m->text_len, strlen(manifest1));
	} else if (strcmp(b->name, "b2") == 0) {
		ck_assert(!b->complete);
		ck_assert_ptr_null(b->problem);
		ck_assert_ptr_null(b->m);
		ck_assert_uint_eq(b->nobjects, 2);
		ck_assert_uint_eq(b->stored_bytes, 8);
	} else if (strcmp(b->name, "b3") == 0) {
		ck_assert(b->complete);
		ck_assert_ptr_nonnull(b->problem);
		ck_assert_ptr_nonnull(strstr(b->problem, "not valid JSON"));
		ck_assert_ptr_null(b->m);
	} else if (strcmp(b->name, "b7") == 0) {
		ck_assert(b->complete);
		ck_assert_ptr_null(b->m);
		ck_assert_ptr_nonnull(b->problem);
		ck_assert_msg(strstr(b->problem, "backups/b7/backup.json: malformed manifest") != NULL,
			      "%s", b->problem);
	}
	if (s->stop_after && (int)s->names.n == s->stop_after)
		return REPO_LIST_STOP;
	return 0;
}

START_TEST(test_catalog)
{
	struct repo *r = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	struct seen s = { STRV_INIT, 0 };
	ck_assert_int_eq(repo_list_backups(r, check_backup, &s), KAHU_OK);  /* empty */
	ck_assert_uint_eq(s.names.n, 0);

	fill_catalog(r);
	ck_assert_int_eq(repo_list_backups(r, check_backup, &s), KAHU_OK);
	char *all = strv_join(&s.names, ",");
	ck_assert_str_eq(all, "b1,b2,b3,b7");
	free(all);
	strv_free(&s.names);

	s.stop_after = 2;
	ck_assert_int_eq(repo_list_backups(r, check_backup, &s), KAHU_OK);
	ck_assert_uint_eq(s.names.n, 2);
	strv_free(&s.names);

	ck_assert_int_eq(repo_backup_exists(r, "b1"), REPO_BACKUP_COMPLETE);
	ck_assert_int_eq(repo_backup_exists(r, "b2"), REPO_BACKUP_INCOMPLETE);
	ck_assert_int_eq(repo_backup_exists(r, "b"), REPO_BACKUP_ABSENT);
	ck_assert_int_eq(repo_backup_exists(r, "nope"), REPO_BACKUP_ABSENT);
	ck_assert_int_eq(repo_backup_exists(r, "Bad_Name"), KAHU_EUSAGE);
	repo_close(r);
}
END_TEST

/* A provider that records the order of removals and can fail one. */
static struct kahu_backend recording;
static const struct kahu_backend *fs_be;
static struct strv removed;
static const char *fail_remove;

static int rec_remove(struct kahu_backend_handle *h, const char *key)
{
	if (fail_remove && strcmp(key, fail_remove) == 0)
		return KAHU_BACKEND_EPERMANENT;
	strv_push(&removed, key);
	return fs_be->remove(h, key);
}

static struct repo *open_recording(const char *loc)
{
	char *root = xasprintf("%s/%s", tmpdir, loc);
	struct kahu_backend_kv kv[] = { { "path", root } };
	struct kahu_store *st;
	ck_assert_int_eq(kahu_backend_fs_init(store_host(), &fs_be), 0);
	recording = *fs_be;
	recording.remove = rec_remove;
	ck_assert_int_eq(store_open_backend(&recording, "recording fs", kv, 1, &st), KAHU_OK);
	store_set_retry(st, 1, 0);
	struct repo_opts o = { .config_path = cfg_path, .location = loc, .store = st };
	struct repo *r;
	ck_assert_int_eq(repo_open(&o, &r), KAHU_OK);
	free(root);
	return r;
}

START_TEST(test_remove_order)
{
	struct repo *r = open_recording("plain");
	fill_catalog(r);
	uint64_t n;
	ck_assert_int_eq(repo_remove_backup(r, "b1", &n), KAHU_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(removed.n, 2);
	ck_assert_str_eq(removed.v[0], "backups/b1/backup.json");
	ck_assert_str_eq(removed.v[1], "backups/b1/metadata.tar.zst.kenc");
	ck_assert_int_eq(repo_backup_exists(r, "b1"), REPO_BACKUP_ABSENT);
	ck_assert_int_eq(repo_remove_backup(r, "b1", &n), KAHU_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "no backup named b1 on location plain"));
	strv_free(&removed);

	/* Interrupted half-way: the backup is left incomplete, never complete. */
	put(r, "backups/b5/data", "x");
	put(r, "backups/b5/backup.json", "{}");
	fail_remove = "backups/b5/data";
	ck_assert_int_lt(repo_remove_backup(r, "b5", &n), 0);
	fail_remove = NULL;
	ck_assert_int_eq(repo_backup_exists(r, "b5"), REPO_BACKUP_INCOMPLETE);
	/* ... and removing it again finishes the job. */
	ck_assert_int_eq(repo_remove_backup(r, "b5", &n), KAHU_OK);
	ck_assert_int_eq(repo_backup_exists(r, "b5"), REPO_BACKUP_ABSENT);

	/* Leftovers without a manifest. */
	ck_assert_int_eq(repo_remove_backup(r, "b2", &n), KAHU_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(repo_remove_backup(r, "Bad_Name", NULL), KAHU_EUSAGE);
	strv_free(&removed);
	repo_close(r);

	r = open_repo("ro", NULL, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_remove_backup(r, "b3", NULL), KAHU_EPERM);
	repo_close(r);
}
END_TEST

START_TEST(test_lock)
{
	struct repo *r = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	struct store_lock *lk, *lk2;
	ck_assert_int_eq(repo_lock(r, "test", &lk), KAHU_OK);
	struct repo *r2 = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_lock(r2, "second", &lk2), KAHU_ELOCKED);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "location plain"));
	ck_assert_int_eq(repo_unlock(lk), KAHU_OK);
	ck_assert_int_eq(repo_unlock(NULL), KAHU_OK);
	repo_close(r2);
	repo_close(r);
	r = open_repo("ro", NULL, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_lock(r, "test", &lk), KAHU_EPERM);
	repo_close(r);
}
END_TEST

/* ---- a damaged or lost kahu-repo.json ---- */

/* backups/<name>/backup.json as kahu writes it, with a MAC when `key` is given. */
static void put_manifest(struct repo *r, const char *name, const struct kahu_key *key,
			 time_t created)
{
	struct manifest *m = manifest_new();
	char *text = NULL, *obj = xasprintf("backups/%s/backup.json", name);
	m->kahu_version = xstrdup("0.1.0");
	m->name = xstrdup(name);
	m->created = created;
	m->completed = created + 60;
	m->status = MANIFEST_COMPLETED;
	m->type = MANIFEST_FULL;
	manifest_scope_digest(key, "{}", 2, m->scope_digest);
	manifest_add_object(m, "metadata.tar.zst.kenc", 3,
			    "0000000000000000000000000000000000000000000000000000000000000000");
	ck_assert_msg(manifest_to_json(m, key, &text) == 0, "%s", kahu_error_last());
	put(r, obj, text);
	free(text);
	free(obj);
	manifest_free(m);
}

static char *read_text(const char *path)
{
	size_t len;
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char *buf = xcalloc(1, 65536);
	len = fread(buf, 1, 65535, f);
	buf[len] = '\0';
	fclose(f);
	return buf;
}


/* A manifest of `name` whose volume data is on location `vloc` with `token`. */
static struct manifest *put_volloc_manifest(struct repo *r, const char *name, const char *vloc,
					    const char *token)
{
	struct manifest *m = manifest_new(), *p = NULL;
	char *text = NULL, *obj = xasprintf("backups/%s/backup.json", name);
	m->kahu_version = xstrdup("0.1.0");
	m->name = xstrdup(name);
	m->created = 1714564800;
	m->completed = m->created + 60;
	m->status = MANIFEST_COMPLETED;
	m->type = MANIFEST_FULL;
	manifest_scope_digest(NULL, "{}", 2, m->scope_digest);
	manifest_add_object(m, "volumes/v1/index.jsonl.zst", 1,
			    "0000000000000000000000000000000000000000000000000000000000000000");
	manifest_set_volume_location(m, vloc, "fs", token);
	ck_assert_msg(manifest_to_json(m, NULL, &text) == 0, "%s", kahu_error_last());
	put(r, obj, text);
	ck_assert_int_eq(manifest_parse(text, strlen(text), &p), 0);
	free(text);
	free(obj);
	manifest_free(m);
	return p;
}

#define TOK_A "0123456789abcdef0123456789abcdef"
#define TOK_B "fedcba9876543210fedcba9876543210"

START_TEST(test_volume_location)
{
	struct repo *meta = open_repo("plain", NULL, NULL, 0, KAHU_OK), *vl = NULL, *got = NULL;
	struct seen s = { STRV_INIT, 0 };

	ck_assert_int_eq(volloc_open(meta, "nosuch", "b9", &vl), KAHU_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "the volume data of backup b9 is on location "
				     "nosuch, which the configuration does not define"));
	ck_assert_int_eq(volloc_open(meta, "other", "b9", &vl), KAHU_OK);

	/* the marker claims the name on the volume location */
	ck_assert_int_eq(volloc_marker_write(vl, "b9", "plain", TOK_A), KAHU_OK);
	ck_assert_int_eq(volloc_marker_write(vl, "b9", "loc", TOK_B), KAHU_EEXIST);
	ck_assert_str_eq(kahu_error_last(), "the name b9 is taken on volume location other: it holds "
			 "the volume data of backup b9 of location plain");
	put(vl, "backups/b9/volumes/v1/index.jsonl.zst", "i");
	put(vl, "backups/b9/volumes/v1/data-000001.tar.zst", "d");
	/* ... and is no backup of that location, nor the leftover of one */
	ck_assert_int_eq(repo_backup_exists(vl, "b9"), REPO_BACKUP_VOLUME_DATA);
	ck_assert_int_eq(repo_list_backups(vl, check_backup, &s), KAHU_OK);
	ck_assert_uint_eq(s.names.n, 0);

	/* readers check the marker against the manifest */
	struct manifest *m = put_volloc_manifest(meta, "b9", "other", TOK_A);
	ck_assert_int_eq(volloc_open_for(meta, m, &got), KAHU_OK);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(repo_location(got)->name, "other");
	repo_close(got);
	manifest_free(m);
	m = put_volloc_manifest(meta, "b8", "other", TOK_A);
	ck_assert_int_eq(volloc_open_for(meta, m, &got), KAHU_ENOTFOUND);
	ck_assert_ptr_null(got);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "location other holds no volume data of backup b8"));
	manifest_free(m);

	/* a marker of another run: nothing removed, the metadata kept */
	manifest_free(put_volloc_manifest(meta, "b9", "other", TOK_B));  /* (b9's manifest replaced) */
	manifest_free(put_volloc_manifest(meta, "b7", "nosuch", TOK_B));
	ck_assert_int_eq(repo_remove_backup(meta, "b9", NULL), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "backup b9 was not deleted: its volume data on "
				     "location other could not be removed, so its metadata on location "
				     "plain is kept as it was"));
	ck_assert_int_eq(repo_backup_exists(meta, "b9"), REPO_BACKUP_COMPLETE);
	ck_assert_int_eq(repo_backup_exists(vl, "b9"), REPO_BACKUP_VOLUME_DATA);
	ck_assert_int_eq(repo_remove_backup(meta, "b7", NULL), KAHU_ENOTFOUND);
	ck_assert_int_eq(repo_backup_exists(meta, "b7"), REPO_BACKUP_COMPLETE);

	/* the matching manifest: both parts go, the volume location's first */
	manifest_free(put_volloc_manifest(meta, "b9", "other", TOK_A));
	uint64_t n = 0;
	ck_assert_int_eq(repo_remove_backup(meta, "b9", &n), KAHU_OK);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(repo_backup_exists(vl, "b9"), REPO_BACKUP_ABSENT);
	ck_assert_int_eq(repo_backup_exists(meta, "b9"), REPO_BACKUP_ABSENT);
	/* b8's volume data is gone already: the metadata goes alone */
	ck_assert_int_eq(repo_remove_backup(meta, "b8", NULL), KAHU_OK);
	strv_free(&s.names);
	repo_close(vl);
	repo_close(meta);
}
END_TEST

START_TEST(test_damaged)
{
	static const struct {
		const char *text, *problem;
	} cases[] = {
		{ "{\"kind\": \"KahuRep", "not valid JSON: line 1" },
		{ "[1, 2]", "not a JSON object" },
		{ "{\"kind\": \"KahuRepository\", \"keyId\": null, \"created\": \"2024-05-01T12:00:00Z\"}",
		  "\"version\" is missing" },
		{ "{\"kind\": \"KahuRepository\", \"version\": \"1\", \"keyId\": null}",
		  "\"version\" is not an integer" },
		{ "{\"kind\": \"KahuRepository\", \"version\": 0, \"keyId\": null}",
		  "\"version\" is 0, not a format version" },
		{ "{\"kind\": \"KahuRepositorz\", \"version\": 1, \"keyId\": null}",
		  "\"kind\" is another word, not \"KahuRepository\"" },
		{ "{\"version\": 1, \"keyId\": null}", "\"kind\" is missing" },
		{ "{\"kind\": \"KahuRepository\", \"version\": 1, \"keyId\": \"0011\", "
		  "\"created\": \"2024-05-01T12:00:00Z\"}", "\"keyId\" is not a key id" },
		{ "{\"kind\": \"KahuRepository\", \"version\": 1, \"keyId\": 7, "
		  "\"created\": \"2024-05-01T12:00:00Z\"}", "\"keyId\" is neither a key id nor null" },
		{ "{\"kind\": \"KahuRepository\", \"version\": 1, "
		  "\"created\": \"2024-05-01T12:00:00Z\"}", "\"keyId\" is missing" },
		{ "{\"kind\": \"KahuRepository\", \"version\": 1, \"keyId\": null, "
		  "\"created\": \"2024-13-01\"}", "\"created\" is not an RFC 3339 time" },
		{ "{\"kind\": \"KahuRepository\", \"version\": 1, \"keyId\": null, "
		  "\"created\": \"2024-05-01T12:00:00Z\", \"kahuVersion\": 1}",
		  "\"kahuVersion\" is not a string" },
	};
	char *dir = tpath("plain"), *info = tpath("plain/kahu-repo.json");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		write_text(info, cases[i].text, 0600);
		strv_free(&warnings);
		struct repo *r = open_repo("plain", NULL, NULL, 1, KAHU_OK);
		const struct repo_info *ri = repo_get_info(r);
		ck_assert_msg(ri->damaged && !ri->exists, "case %zu", i);
		ck_assert_msg(strstr(ri->problem, cases[i].problem), "case %zu: %s", i, ri->problem);
		ck_assert_uint_eq(warnings.n, 1);
		ck_assert_ptr_nonnull(strstr(warnings.v[0], "kahu-repo.json is damaged"));
		ck_assert_ptr_nonnull(strstr(warnings.v[0], "kahu location repair --location plain"));
		/* Writing is refused, saying so; locking (for a repair) is not. */
		ck_assert_int_eq(repo_check_writable(r), KAHU_EDATA);
		ck_assert_ptr_nonnull(strstr(kahu_error_last(), cases[i].problem));
		ck_assert_int_eq(repo_init_if_needed(r, NULL), KAHU_EDATA);
		ck_assert_int_eq(repo_remove_backup(r, "b1", NULL), KAHU_EDATA);
		struct store_lock *lk;
		ck_assert_int_eq(repo_lock(r, "repair", &lk), KAHU_OK);
		ck_assert_int_eq(repo_unlock(lk), KAHU_OK);
		repo_close(r);
		char *now = read_text(info);
		ck_assert_str_eq(now, cases[i].text);  /* untouched */
		free(now);
	}
	/* Too large to be one. */
	char *big = xcalloc(1, 70000);
	memset(big, ' ', 69999);
	big[0] = '{';
	big[69998] = '}';
	write_text(info, big, 0600);
	struct repo *r = open_repo("plain", NULL, NULL, 0, KAHU_OK);
	ck_assert_ptr_nonnull(strstr(repo_get_info(r)->problem, "larger than 65536 bytes"));
	repo_close(r);
	/* Another format version is not damage: it is refused. */
	write_text(info, "{\"kind\": \"KahuRepository\", \"version\": 2, \"keyId\": null}", 0600);
	open_repo("plain", NULL, NULL, 0, KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "format version 2"));
	free(big);
	free(dir);
	free(info);
}
END_TEST

START_TEST(test_repair)
{
	char a[KAHU_KEY_ID_HEX_LEN + 1], b[KAHU_KEY_ID_HEX_LEN + 1];
	char *pa = make_key("a.key", a), *pb = make_key("b.key", b);
	char *info = tpath("plain/kahu-repo.json");
	struct kahu_key *ka, *kb;
	struct repo_repair rr;
	ck_assert_int_eq(kahu_key_load(pa, &ka), KAHU_OK);
	ck_assert_int_eq(kahu_key_load(pb, &kb), KAHU_OK);

	/* Two backups of key a, the older one first in time but not in name. */
	struct repo *r = open_repo("plain", pa, NULL, 0, KAHU_OK);
	put_manifest(r, "b1", ka, 1714564800);
	put_manifest(r, "a0", ka, 1714000000);
	put(r, "backups/b9/backup.json", "{\"name\": ");  /* unreadable: not counted */
	repo_close(r);
	write_text(info, "{\"kind\": \"KahuRepository\", \"version\": 1, \"keyId\": \"", 0600);

	/* Another key: refused, naming both; nothing written. */
	r = open_repo("plain", pb, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_repair(r, &rr), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), a));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), b));
	ck_assert_int_eq(rr.rewritten, 0);
	repo_close(r);
	char *t = read_text(info);
	ck_assert_ptr_null(strstr(t, "created"));
	free(t);

	/* The key of the backups: rewritten, oldest backup's time, the key handed out. */
	strv_free(&warnings);
	r = open_repo("plain", pa, NULL, 0, KAHU_OK);
	ck_assert_msg(repo_repair(r, &rr) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_int_eq(rr.rewritten, 1);
	ck_assert_ptr_nonnull(strstr(rr.was, "not valid JSON"));
	ck_assert_str_eq(rr.key_id, a);
	ck_assert_uint_eq(rr.nbackups, 2);
	ck_assert_uint_eq(rr.nverified, 2);
	ck_assert_int_eq(rr.created, 1714000000);
	ck_assert_int_eq(repo_check_writable(r), KAHU_OK);
	const struct kahu_key *k;
	char got[KAHU_KEY_ID_HEX_LEN + 1];
	ck_assert_int_eq(repo_key(r, &k), KAHU_OK);
	ck_assert_str_eq(kahu_key_id_hex(k, got), a);
	repo_repair_clear(&rr);
	repo_close(r);
	ck_assert_uint_ge(warnings.n, 1); /* b9 was not counted, and said so */
	r = open_repo("plain", pa, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_get_info(r)->exists, 1);
	ck_assert_str_eq(repo_get_info(r)->key_id, a);
	ck_assert_int_eq(repo_get_info(r)->created, 1714000000);
	ck_assert_int_eq(mode_of(info), 0600);
	/* Again: nothing to do. */
	ck_assert_int_eq(repo_repair(r, &rr), KAHU_OK);
	ck_assert_int_eq(rr.rewritten, 0);
	ck_assert_ptr_null(rr.was);
	repo_close(r);

	/* Lost, then written by a backup of another key: refused; of the same key: fine. */
	ck_assert_int_eq(unlink(info), 0);
	r = open_repo("plain", pb, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_init_if_needed(r, kb), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "has no kahu-repo.json but holds key"));
	ck_assert_int_eq(repo_init_if_needed(r, NULL), KAHU_ECRYPTO);
	ck_assert_int_eq(access(info, F_OK), -1);
	repo_close(r);
	/* ... and no key is generated over the backups. */
	r = open_repo("plain", NULL, NULL, 1, KAHU_OK);
	const struct kahu_key *gk;
	ck_assert_int_eq(repo_key(r, &gk), KAHU_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "no new key is made"));
	repo_close(r);
	r = open_repo("plain", pa, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_init_if_needed(r, ka), KAHU_OK);
	repo_close(r);

	/* A backup of another key among them: refused, naming both. */
	r = open_repo("plain", pa, NULL, 0, KAHU_OK);
	put_manifest(r, "c1", kb, 1714600000);
	ck_assert_int_eq(repo_repair(r, &rr), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "name different keys"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), a));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "1 backup, e.g. c1"));
	ck_assert_int_eq(repo_remove_backup(r, "c1", NULL), KAHU_OK);
	repo_close(r);

	/* Only unencrypted backups: no key needed, keyId null. */
	char *dir2 = tpath("other");
	ck_assert_int_eq(mkdir(dir2, 0700), 0);
	char *info2 = tpath("other/kahu-repo.json");
	r = open_repo("other", NULL, NULL, 0, KAHU_OK);
	put_manifest(r, "u1", NULL, 1714564800);
	write_text(info2, "garbage", 0600);
	repo_close(r);
	r = open_repo("other", NULL, NULL, 0, KAHU_OK);
	ck_assert_msg(repo_repair(r, &rr) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_int_eq(rr.rewritten, 1);
	ck_assert_str_eq(rr.key_id, "");
	ck_assert_uint_eq(rr.nbackups, 1);
	repo_repair_clear(&rr);
	repo_close(r);
	r = open_repo("other", NULL, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_get_info(r)->exists, 1);
	ck_assert_str_eq(repo_get_info(r)->key_id, "");
	repo_close(r);

	/* Nothing on the location and no key: it says so. */
	ck_assert_int_eq(unlink(info2), 0);
	r = open_repo("other", NULL, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_remove_backup(r, "u1", NULL), KAHU_OK);
	ck_assert_int_eq(repo_repair(r, &rr), KAHU_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "holds neither backups nor wrapped keys"));
	repo_close(r);

	/* A manifest naming key a but not authenticated by it (forged) proves nothing. */
	r = open_repo("loc", pa, NULL, 0, KAHU_OK);
	put_manifest(r, "f1", kb, 1714564800);
	char *fpath = tpath("loc/backups/f1/backup.json");
	char *ftext = read_text(fpath), *at = strstr(ftext, b);
	ck_assert_ptr_nonnull(at);
	memcpy(at, a, KAHU_KEY_ID_HEX_LEN);
	write_text(fpath, ftext, 0600);
	ck_assert_int_eq(repo_repair(r, &rr), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "none of the 1 manifests naming key"));
	char *linfo = tpath("loc/kahu-repo.json");
	ck_assert_int_eq(access(linfo, F_OK), -1);
	repo_close(r);
	free(linfo);
	free(fpath);
	free(ftext);

	/* A read-only location is not repaired. */
	r = open_repo("ro", pa, NULL, 0, KAHU_OK);
	ck_assert_int_eq(repo_repair(r, &rr), KAHU_EPERM);
	repo_close(r);

	kahu_key_free(ka);
	kahu_key_free(kb);
	free(dir2);
	free(info2);
	free(info);
	free(pa);
	free(pb);
}
END_TEST

START_TEST(test_parse_time)
{
	ck_assert_int_eq(repo_parse_time("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(repo_parse_time("2024-05-01T12:00:00Z"), 1714564800);
	ck_assert_int_eq(repo_parse_time("2024-05-01T12:00:00.123456Z"), 1714564800);
	ck_assert_int_eq(repo_parse_time("2024-05-01T14:00:00+02:00"), 1714564800);
	ck_assert_int_eq(repo_parse_time("2024-05-01T11:30:00-00:30"), 1714564800);
	ck_assert_int_eq(repo_parse_time("2024-05-01 12:00:00"), -1);
	ck_assert_int_eq(repo_parse_time("2024-05-01T12:00:00"), -1);
	ck_assert_int_eq(repo_parse_time("2024-05-01T12:00:00Zjunk"), -1);
	ck_assert_int_eq(repo_parse_time(NULL), -1);
}
END_TEST

static Suite *repo_suite(void)
{
	Suite *s = suite_create("repo");
	TCase *tc = tcase_create("repo");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_unknown_location);
	tcase_add_test(tc, test_key_order);
	tcase_add_test(tc, test_generate);
	tcase_add_test(tc, test_mismatch);
	tcase_add_test(tc, test_passphrases);
	tcase_add_test(tc, test_valid_name);
	tcase_add_test(tc, test_catalog);
	tcase_add_test(tc, test_remove_order);
	tcase_add_test(tc, test_volume_location);
	tcase_add_test(tc, test_lock);
	tcase_add_test(tc, test_damaged);
	tcase_add_test(tc, test_repair);
	tcase_add_test(tc, test_parse_time);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(repo_suite)

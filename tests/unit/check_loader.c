/* The plugin loader: refusals (ABI major, entry symbol, struct size, unknown kind,
 * unsafe files and directories), several providers per file, the search path, and
 * the example provider built from the public header alone. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "store/loader.h"
#include "store/store.h"
#include "util/buf.h"
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
	strcpy(tmpdir, "/tmp/kahu-loader-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	chmod(tmpdir, 0700);
	kahu_error_clear();
	loader_reset();
	unsetenv("KAHU_PLUGIN_PATH");
}

static void teardown(void)
{
	loader_reset();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *plugin(const char *name)
{
	return xasprintf("%s/kahu-%s.so", TEST_PLUGIN_DIR, name);
}

static char *real(const char *path)
{
	char r[PATH_MAX];
	ck_assert_msg(realpath(path, r) != NULL, "%s: %s", path, strerror(errno));
	return xstrdup(r);
}

/* The error of loading `name`, which must be refused with `code`; the message must
 * name the file and contain `want`. */
static void refused(const char *name, int code, const char *want)
{
	char *p = plugin(name), *r = real(p);
	unsigned int n = 99;
	ck_assert_int_eq(loader_load_file(p, &n), code);
	ck_assert_uint_eq(n, 0);
	ck_assert_msg(strstr(kahu_error_last(), r) != NULL, "no file name in: %s", kahu_error_last());
	ck_assert_msg(strstr(kahu_error_last(), want) != NULL, "wanted \"%s\" in: %s", want,
		      kahu_error_last());
	free(p);
	free(r);
}

START_TEST(test_refuse_major)
{
	refused("badmajor", KAHU_EFAIL, "was built for provider ABI 2.0, but this kahu supports ABI 1.1");
	/* refused files register nothing */
	const struct kahu_backend *be;
	const char *origin;
	ck_assert_int_eq(loader_find_storage("t-bad", &be, &origin), KAHU_ENOTFOUND);
}
END_TEST

START_TEST(test_refuse_no_symbol)
{
	refused("nosym", KAHU_EFAIL, "exports no entry symbol (kahu_plugin_init or kahu_backend_init)");
}
END_TEST

START_TEST(test_refuse_short_struct)
{
	char want[200];
	snprintf(want, sizeof want, "declares a %zu-byte description, smaller than the %zu bytes "
		 "ABI 1.1 requires", (size_t)KAHU_BACKEND_MIN_SIZE, (size_t)KAHU_BACKEND_SIZE_1_1);
	refused("short", KAHU_EFAIL, want);
}
END_TEST

START_TEST(test_refuse_unknown_kind)
{
	refused("kind", KAHU_EFAIL, "registers a plugin of kind 7, which this kahu");
	const struct kahu_backend *be;
	const char *origin;
	/* t-one was offered before the unknown kind: the whole file is refused */
	ck_assert_int_eq(loader_find_storage("t-one", &be, &origin), KAHU_ENOTFOUND);
}
END_TEST

START_TEST(test_several_providers)
{
	char *p = plugin("multi"), *r = real(p);
	unsigned int n = 0;
	ck_assert_msg(loader_load_file(p, &n) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_uint_eq(n, 2);
	/* a second load is a no-op */
	ck_assert_int_eq(loader_load_file(p, &n), KAHU_OK);
	const struct kahu_backend *be;
	const char *origin;
	ck_assert_int_eq(loader_find_storage("t-two", &be, &origin), KAHU_OK);
	ck_assert_str_eq(be->version, "2");
	ck_assert_str_eq(origin, r);
	ck_assert_int_eq(loader_find_storage("t-one", &be, &origin), KAHU_OK);
	ck_assert_str_eq(be->description, "first");
	free(p);
	free(r);
}
END_TEST

/* A copy of the fs module in tmpdir/sub, with the modes given. */
static char *copy_fs(mode_t dmode, mode_t fmode)
{
	char *dir = xasprintf("%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	char *dst = xasprintf("%s/kahu-fs.so", dir);
	FILE *in = fopen(KAHU_FS_MODULE, "rb"), *out = fopen(dst, "wb");
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_int_eq(chmod(dst, fmode), 0);
	ck_assert_int_eq(chmod(dir, dmode), 0);
	free(dir);
	return dst;
}

START_TEST(test_refuse_writable_file)
{
	char *p = copy_fs(0700, 0664);
	ck_assert_int_eq(loader_load_file(p, NULL), KAHU_EPERM);
	ck_assert_msg(strstr(kahu_error_last(), "kahu-fs.so is group-writable (mode 0664): not loaded"),
		      "%s", kahu_error_last());
	loader_reset();
	chmod(p, 0602);
	ck_assert_int_eq(loader_load_file(p, NULL), KAHU_EPERM);
	ck_assert_msg(strstr(kahu_error_last(), "is world-writable (mode 0602)"), "%s",
		      kahu_error_last());
	loader_reset();
	chmod(p, 0700);
	ck_assert_msg(loader_load_file(p, NULL) == KAHU_OK, "%s", kahu_error_last());
	free(p);
}
END_TEST

START_TEST(test_refuse_writable_dir)
{
	char *p = copy_fs(0777, 0755);
	ck_assert_int_eq(loader_load_file(p, NULL), KAHU_EPERM);
	ck_assert_msg(strstr(kahu_error_last(), "kahu-fs.so: its directory ") &&
		      strstr(kahu_error_last(), "/sub is world-writable (mode 0777): not loaded"),
		      "%s", kahu_error_last());
	loader_reset();
	char *dir = xasprintf("%s/sub", tmpdir);
	chmod(dir, 0770);
	ck_assert_int_eq(loader_load_file(p, NULL), KAHU_EPERM);
	ck_assert_msg(strstr(kahu_error_last(), "/sub is group-writable"), "%s", kahu_error_last());
	free(dir);
	free(p);
}
END_TEST

START_TEST(test_refuse_foreign_owner)
{
	if (geteuid() != 0) {
		fprintf(stderr, "# test_refuse_foreign_owner: needs root to give a file away; not tested\n");
		return;
	}
	char *p = copy_fs(0700, 0755);
	ck_assert_int_eq(chown(p, 4242, 4242), 0);
	ck_assert_int_eq(loader_load_file(p, NULL), KAHU_EPERM);
	ck_assert_msg(strstr(kahu_error_last(), "kahu-fs.so is owned by uid 4242, neither root nor "
			     "the user running kahu: not loaded"), "%s", kahu_error_last());
	loader_reset();
	ck_assert_int_eq(chown(p, 0, 0), 0);
	char *dir = xasprintf("%s/sub", tmpdir);
	ck_assert_int_eq(chown(dir, 4242, 4242), 0);
	ck_assert_int_eq(loader_load_file(p, NULL), KAHU_EPERM);
	ck_assert_msg(strstr(kahu_error_last(), "/sub is owned by uid 4242"), "%s", kahu_error_last());
	free(dir);
	free(p);
}
END_TEST

START_TEST(test_search_path)
{
	const struct kahu_backend *be;
	const char *origin;
	char *p = copy_fs(0700, 0755), *r = real(p);
	char *path = xasprintf("/nonexistent:%s/sub", tmpdir);
	setenv("KAHU_PLUGIN_PATH", path, 1);
	ck_assert_msg(loader_find_storage("fs", &be, &origin) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_str_eq(origin, r);
	ck_assert_str_eq(be->name, "fs");

	/* a provider that is not kahu-NAME.so: found by loading the others */
	free(path);
	path = xasprintf("%s", TEST_PLUGIN_DIR);
	setenv("KAHU_PLUGIN_PATH", path, 1);
	ck_assert_msg(loader_find_storage("t-two", &be, &origin) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_msg(strstr(origin, "kahu-multi.so") != NULL, "%s", origin);

	ck_assert_int_eq(loader_find_storage("nothing-here", &be, &origin), KAHU_ENOTFOUND);
	ck_assert_msg(strstr(kahu_error_last(), "no storage provider named \"nothing-here\" (looked "
			     "for kahu-nothing-here.so and other plugins in ") != NULL,
		      "%s", kahu_error_last());
	ck_assert_int_eq(loader_find_storage("../fs", &be, &origin), KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(), "invalid storage provider name \"../fs\" (expected "
			 "lowercase letters, digits and '-')");
	/* kahu-NAME.so that is refused: its refusal is the answer */
	ck_assert_int_eq(loader_find_storage("short", &be, &origin), KAHU_EFAIL);
	ck_assert_msg(strstr(kahu_error_last(), "kahu-short.so declares") != NULL, "%s",
		      kahu_error_last());
	unsetenv("KAHU_PLUGIN_PATH");
	free(path);
	free(p);
	free(r);
}
END_TEST

struct reports {
	unsigned loaded, refused, registered;
	int saw_badmajor;
};

static void count_file(void *ud, const struct loader_file *f)
{
	struct reports *r = ud;
	if (strcmp(f->source, "registered") == 0)
		r->registered++;
	if (f->err < 0) {
		r->refused++;
		ck_assert_ptr_nonnull(f->why);
		ck_assert_msg(strstr(f->why, f->real ? f->real : f->path) != NULL, "%s", f->why);
		if (strstr(f->path, "kahu-badmajor.so")) {
			r->saw_badmajor = 1;
			ck_assert_str_eq(f->source, "KAHU_PLUGIN_PATH");
			ck_assert_msg(strstr(f->why, "ABI 2.0") != NULL, "%s", f->why);
		}
	} else {
		r->loaded++;
		ck_assert_ptr_null(f->why);
	}
}

START_TEST(test_registered_files)
{
	const struct kahu_backend *be;
	const char *origin;
	char *multi = plugin("multi"), *r = real(multi);
	/* Not on any search path: found through the registered file. */
	ck_assert_int_eq(loader_find_storage("t-one", &be, &origin), KAHU_ENOTFOUND);
	char *regs[] = { multi };
	loader_set_registered(regs, 1);
	ck_assert_msg(loader_find_storage("t-one", &be, &origin) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_str_eq(origin, r);

	/* Every file there is: the path's, then the registered ones, refusals reported. */
	setenv("KAHU_PLUGIN_PATH", TEST_PLUGIN_DIR, 1);
	struct reports rep = { 0 };
	loader_load_all(count_file, &rep);
	ck_assert_uint_eq(rep.registered, 1);
	ck_assert_uint_ge(rep.refused, 4);  /* badmajor, nosym, short, kind */
	ck_assert_uint_ge(rep.loaded, 2);   /* multi (twice: path and registered), flaky */
	ck_assert(rep.saw_badmajor);
	ck_assert_int_eq(loader_find_storage("flaky", &be, &origin), KAHU_OK);
	unsetenv("KAHU_PLUGIN_PATH");
	free(multi);
	free(r);
}
END_TEST

static int kbuf_sink(void *ud, const void *buf, size_t len)
{
	kbuf_add(ud, buf, len);
	return 0;
}

START_TEST(test_example_provider)
{
	setenv("KAHU_PLUGIN_PATH", EXAMPLE_PLUGIN_DIR, 1);
	struct kahu_backend_kv cfg[] = { { "space", "t" } };
	struct kahu_store *st, *st2;
	ck_assert_msg(store_open_provider("memory", cfg, 1, &st) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_int_eq(store_write_small(st, "b/x", "hello", 5), KAHU_OK);
	ck_assert_int_eq(store_write_small(st, "a", "1", 1), KAHU_OK);
	ck_assert_int_eq(store_write_small_ex(st, "a", KAHU_PUT_EXCLUSIVE, "2", 1), KAHU_EEXIST);
	ck_assert_int_eq(store_reopen(st, &st2), KAHU_OK);
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_get(st2, "b/x", 1, 3, kbuf_sink, &b), KAHU_OK);
	ck_assert_str_eq(kbuf_str(&b), "ell");
	ck_assert_int_eq(store_copy(st2, "b/x", "c"), KAHU_OK);
	ck_assert_int_eq(store_remove(st2, "a"), KAHU_OK);
	ck_assert_int_eq(store_stat(st, "a", NULL), KAHU_ENOTFOUND);
	struct store_stat sst;
	ck_assert_int_eq(store_stat(st, "c", &sst), KAHU_OK);
	ck_assert_uint_eq(sst.size, 5);
	kbuf_free(&b);
	ck_assert_int_eq(store_remove(st, "b/x"), KAHU_OK);
	ck_assert_int_eq(store_remove(st, "c"), KAHU_OK);
	store_close(st2);
	store_close(st);
	unsetenv("KAHU_PLUGIN_PATH");
}
END_TEST

static Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc = tcase_create("loader");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_refuse_major);
	tcase_add_test(tc, test_refuse_no_symbol);
	tcase_add_test(tc, test_refuse_short_struct);
	tcase_add_test(tc, test_refuse_unknown_kind);
	tcase_add_test(tc, test_several_providers);
	tcase_add_test(tc, test_refuse_writable_file);
	tcase_add_test(tc, test_refuse_writable_dir);
	tcase_add_test(tc, test_refuse_foreign_owner);
	tcase_add_test(tc, test_search_path);
	tcase_add_test(tc, test_registered_files);
	tcase_add_test(tc, test_example_provider);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(loader_suite)

/* Unit tests: Velero backup tarballs (archive/velero.h): member names by layout, the
 * format version, and the reader on tarballs written here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "check_main.h"
#include "archive/velero.h"
#include "util/err.h"
#include "util/mem.h"

static void item(const char *member, const char *gr, const char *version, int preferred, const char *ns,
		 const char *name)
{
	struct velero_path p;
	ck_assert_int_eq(velero_path_parse(member, 0, &p), 0);
	ck_assert_msg(p.kind == VELERO_ITEM, "%s: not an item", member);
	ck_assert_str_eq(p.gr, gr);
	if (version)
		ck_assert_str_eq(p.version, version);
	else
		ck_assert_ptr_null(p.version);
	ck_assert_int_eq(p.preferred, preferred);
	if (ns)
		ck_assert_str_eq(p.ns, ns);
	else
		ck_assert_ptr_null(p.ns);
	ck_assert_str_eq(p.name, name);
	velero_path_clear(&p);
}

static void kind(const char *member, int is_dir, enum velero_member k)
{
	struct velero_path p;
	ck_assert_int_eq(velero_path_parse(member, is_dir, &p), 0);
	ck_assert_msg(p.kind == k, "%s: kind %d, wanted %d", member, p.kind, k);
	velero_path_clear(&p);
}

static void refused(const char *member, const char *why)
{
	struct velero_path p;
	ck_assert_int_eq(velero_path_parse(member, 0, &p), KAHU_EDATA);
	ck_assert_msg(strstr(kahu_error_last(), why), "%s: %s", member, kahu_error_last());
	ck_assert_ptr_null(p.buf);
}

START_TEST(test_layout)
{
	item("resources/configmaps/namespaces/shop/settings.json", "configmaps", NULL, 0, "shop", "settings");
	item("resources/namespaces/cluster/shop.json", "namespaces", NULL, 0, NULL, "shop");
	item("resources/configmaps/v1-preferredversion/namespaces/shop/settings.json", "configmaps", "v1", 1,
	     "shop", "settings");
	item("resources/deployments.apps/v1beta1/namespaces/shop/web.json", "deployments.apps", "v1beta1", 0,
	     "shop", "web");
	item("resources/persistentvolumes/v1-preferredversion/cluster/pv-1.json", "persistentvolumes", "v1", 1,
	     NULL, "pv-1");
	/* a namespace named "cluster", in the directory without a version */
	item("resources/configmaps/namespaces/cluster/x.json", "configmaps", NULL, 0, "cluster", "x");
	/* tar's "./" prefix */
	item("./resources/secrets/namespaces/shop/creds.json", "secrets", NULL, 0, "shop", "creds");
	item("resources/configmaps/namespaces/shop/a.b.json", "configmaps", NULL, 0, "shop", "a.b");
	kind("metadata/version", 0, VELERO_VERSION);
	kind("./metadata/version", 0, VELERO_VERSION);
	kind("resources/", 1, VELERO_DIR);
	kind("resources/configmaps/namespaces/", 0, VELERO_DIR); /* a trailing slash */
	kind("./", 1, VELERO_DIR);
	kind("metadata/other", 0, VELERO_UNKNOWN);
	kind("resources/configmaps/strange/thing.json", 0, VELERO_UNKNOWN);
	kind("resources/configmaps/namespaces/shop/settings.yaml", 0, VELERO_UNKNOWN);
	kind("resources/configmaps/namespaces/shop/.json", 0, VELERO_UNKNOWN);
	kind("resources/configmaps/namespaces/shop/..json", 0, VELERO_UNKNOWN);
	kind("resources/configmaps/namespaces/shop/...json", 0, VELERO_UNKNOWN);
	kind("resources/configmaps/..-preferredversion/namespaces/shop/a.json", 0, VELERO_UNKNOWN);
	kind("resources/configmaps/v1/v2/namespaces/shop/a.json", 0, VELERO_UNKNOWN);
	kind("resources/configmaps/namespaces/shop/deeper/a.json", 0, VELERO_UNKNOWN);
	kind("velero-backup.json", 0, VELERO_UNKNOWN);
}
END_TEST

START_TEST(test_refused)
{
	refused("/resources/configmaps/namespaces/a/b.json", "is an absolute path");
	refused("resources/configmaps/namespaces/../../../etc/passwd.json", "a path escaping the archive");
	refused("resources/configmaps/namespaces/a/../b.json", "a path escaping the archive");
	refused("../x", "a path escaping the archive");
	refused("resources//namespaces/a/b.json", "an empty path component");
	refused("resources/./configmaps", "a \".\" component");
	refused("", "an empty name");
	/* control characters are shown escaped */
	refused("/a\033[2Jb", "is an absolute path");
	ck_assert_ptr_null(strchr(kahu_error_last(), '\033'));
}
END_TEST

static int version(const char *v, int *newer)
{
	return velero_version_check(v, strlen(v), newer);
}

START_TEST(test_version)
{
	int newer = -1;
	ck_assert_int_eq(version("1.1.0\n", &newer), 0);
	ck_assert_int_eq(newer, 0);
	ck_assert_int_eq(version("1\n", &newer), 0);
	ck_assert_int_eq(newer, 0);
	ck_assert_int_eq(version(" 1.0.0 ", &newer), 0);
	ck_assert_int_eq(version("1.1", &newer), 0);
	ck_assert_int_eq(version("1.2.0", &newer), 0);
	ck_assert_int_eq(newer, 1);
	ck_assert_int_eq(version("2.0.0", &newer), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "format version is 2.0.0"));
	const char *bad[] = { "", "\n", "v1.1.0", "1.", "1..1", "1.1.0.0", "01.1.0", "1.01.0", "1.1.0-rc1",
			      "one", "1 1", "99999999999999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(version(bad[i], &newer) == KAHU_EDATA, "\"%s\" accepted", bad[i]);
	ck_assert_int_eq(velero_version_check("1\0", 2, &newer), KAHU_EDATA);
}
END_TEST

/* A gzip'd tar of the members given (name, content; content NULL: a directory;
 * content starting with "->": a symbolic link). */
static char *write_tar(const char *const *m, size_t n, int gzip)
{
	char *path = xstrdup("/tmp/check_velero.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i + 1 < n; i += 2) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[i]);
		if (!m[i + 1]) {
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
		} else if (!strncmp(m[i + 1], "->", 2)) {
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, m[i + 1] + 2);
		} else {
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_size(e, (la_int64_t)strlen(m[i + 1]));
		}
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		if (m[i + 1] && strncmp(m[i + 1], "->", 2))
			archive_write_data(a, m[i + 1], strlen(m[i + 1]));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	return path;
}

START_TEST(test_reader)
{
	const char *m[] = { "metadata/", NULL, "metadata/version", "1.1.0\n",
			    "resources/configmaps/namespaces/a/b.json", "{\"kind\":\"ConfigMap\"}" };
	char *path = write_tar(m, 6, 1);
	struct velero_reader *r = NULL;
	struct kbuf b = KBUF_INIT;
	const char *name;
	int dir;
	ck_assert_int_eq(velero_open(path, &r), 0);
	ck_assert_int_eq(velero_next(r, &name, &dir), 1);
	ck_assert_int_eq(dir, 1);
	ck_assert_int_eq(velero_next(r, &name, &dir), 1);
	ck_assert_str_eq(name, "metadata/version");
	ck_assert_int_eq(velero_read(r, &b, 4096), 0);
	ck_assert_int_eq(b.len, 6);
	ck_assert_int_eq(velero_next(r, &name, &dir), 1);
	kbuf_reset(&b);
	ck_assert_int_eq(velero_read(r, &b, 4), KAHU_EDATA); /* over the limit */
	ck_assert_int_eq(velero_next(r, &name, &dir), 0);
	velero_close(r);
	unlink(path);
	free(path);

	/* not gzip */
	path = write_tar(m, 6, 0);
	ck_assert_int_eq(velero_open(path, &r), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "is not gzip-compressed"));
	unlink(path);
	free(path);

	/* a link */
	const char *l[] = { "resources/configmaps/namespaces/a/b.json", "->/etc/passwd" };
	path = write_tar(l, 2, 1);
	ck_assert_int_eq(velero_open(path, &r), 0);
	ck_assert_int_eq(velero_next(r, &name, &dir), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "is a symbolic link"));
	velero_close(r);
	unlink(path);
	free(path);

	ck_assert_int_eq(velero_open("/nonexistent/x.tar.gz", &r), KAHU_ENOTFOUND);
	kbuf_free(&b);
}
END_TEST

static Suite *velero_suite(void)
{
	Suite *s = suite_create("velero");
	TCase *tc = tcase_create("velero");
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_reader);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(velero_suite)

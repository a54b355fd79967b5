#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/strv.h"

int kahu_backend_fs_init(const struct kahu_host *host, const struct kahu_backend **out);

static char tmpdir[256];
static char root[300];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/kahu-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(root, sizeof root, "%s/loc", tmpdir);
	kahu_error_clear();
}

static void teardown(void)
{
	umount2(tmpdir, MNT_DETACH);  /* the ENOSPC test may have mounted it; harmless otherwise */
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct kahu_store *open_fs(void)
{
	struct kahu_backend_kv cfg[] = { { "path", root } };
	struct kahu_store *st = NULL;
	int err = store_open_builtin("fs", cfg, 1, &st);
	ck_assert_msg(err == KAHU_OK, "open: %s", kahu_error_last());
	store_set_retry(st, 4, 1);
	return st;
}

static void put_bytes(struct kahu_store *st, const char *key, const void *data, size_t len)
{
	int err = store_write_small(st, key, data, len);
	ck_assert_msg(err == KAHU_OK, "put %s: %s", key, kahu_error_last());
}

static int kbuf_sink(void *ud, const void *buf, size_t len)
{
	kbuf_add(ud, buf, len);
	return 0;
}

/* Entries in a directory, dotfiles included (to see temporaries). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Mode of root/rel ("" for the root itself). */
static mode_t mode_of(const char *rel)
{
	char path[600];
	struct stat sb;
	snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
	ck_assert_msg(stat(path, &sb) == 0, "stat %s: %s", path, strerror(errno));
	return sb.st_mode & 07777;
}

/* ---- put / get ---- */

static void roundtrip(struct kahu_store *st, const char *key, size_t len, size_t chunk)
{
	unsigned char *data = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	struct store_put *ps;
	ck_assert_int_eq(store_put_begin(st, key, &ps), KAHU_OK);
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		ck_assert_int_eq(store_put_write(ps, data + off, n), KAHU_OK);
	}
	ck_assert_msg(store_put_commit(ps) == KAHU_OK, "commit: %s", kahu_error_last());

	struct kbuf b = KBUF_INIT;
	ck_assert_msg(store_get(st, key, 0, STORE_TO_END, kbuf_sink, &b) == KAHU_OK, "get: %s",
		      kahu_error_last());
	ck_assert_uint_eq(b.len, len);
	ck_assert(len == 0 || memcmp(b.data, data, len) == 0);
	struct store_stat sst;
	ck_assert_int_eq(store_stat(st, key, &sst), KAHU_OK);
	ck_assert_uint_eq(sst.size, len);
	ck_assert_int_ne(sst.mtime, 0);
	kbuf_free(&b);
	free(data);
}

START_TEST(test_put_roundtrip)
{
	struct kahu_store *st = open_fs();
	roundtrip(st, "empty", 0, 1);
	roundtrip(st, "one", 1, 1);
	roundtrip(st, "big/object.bin", 5 * 1024 * 1024 + 3, 7919);
	ck_assert_uint_eq(mode_of("big/object.bin"), 0600);
	/* nothing but the three objects: no temporaries left */
	ck_assert_int_eq(count_entries(root), 3);
	char big[400];
	snprintf(big, sizeof big, "%s/big", root);
	ck_assert_int_eq(count_entries(big), 1);
	/* overwrite replaces */
	put_bytes(st, "one", "xy", 2);
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, "one", 10, &b), KAHU_OK);
	ck_assert_str_eq(kbuf_str(&b), "xy");
	kbuf_free(&b);
	store_close(st);
}
END_TEST

START_TEST(test_put_abort_leaves_nothing)
{
	struct kahu_store *st = open_fs();
	struct store_put *ps;
	ck_assert_int_eq(store_put_begin(st, "backups/b1/backup.json", &ps), KAHU_OK);
	char dir[400];
	snprintf(dir, sizeof dir, "%s/backups/b1", root);
	ck_assert_int_eq(count_entries(dir), 1);  /* the temporary, while writing */
	ck_assert_int_eq(store_put_write(ps, "partial", 7), KAHU_OK);
	store_put_abort(ps);
	ck_assert_int_eq(count_entries(dir), 0);
	ck_assert_int_eq(store_stat(st, "backups/b1/backup.json", NULL), KAHU_ENOTFOUND);
	store_put_abort(NULL);
	store_close(st);
}
END_TEST

struct thread_arg {
	int idx;
	int err;
	char msg[256];
};

static void *put_thread(void *p)
{
	struct thread_arg *a = p;
	struct kahu_backend_kv cfg[] = { { "path", root } };
	struct kahu_store *st = NULL;
	char key[64];
	unsigned char buf[4096];
	snprintf(key, sizeof key, "backups/t%d/data", a->idx);
	memset(buf, 'a' + a->idx, sizeof buf);
	if ((a->err = store_open_builtin("fs", cfg, 1, &st)) == KAHU_OK) {
		struct store_put *ps;
		a->err = store_put_begin(st, key, &ps);
		for (int i = 0; a->err == KAHU_OK && i < 64; i++)
			a->err = store_put_write(ps, buf, sizeof buf);
		a->err = a->err == KAHU_OK ? store_put_commit(ps) : (store_put_abort(ps), a->err);
	}
	snprintf(a->msg, sizeof a->msg, "%s", kahu_error_last());
	store_close(st);
	return NULL;
}

START_TEST(test_concurrent_puts)
{
	struct kahu_store *st = open_fs();
	/* interleaved streams on one handle */
	struct store_put *p1, *p2;
	ck_assert_int_eq(store_put_begin(st, "a/x", &p1), KAHU_OK);
	ck_assert_int_eq(store_put_begin(st, "a/y", &p2), KAHU_OK);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(store_put_write(p1, "1", 1), KAHU_OK);
		ck_assert_int_eq(store_put_write(p2, "22", 2), KAHU_OK);
	}
	ck_assert_int_eq(store_put_commit(p2), KAHU_OK);
	ck_assert_int_eq(store_put_commit(p1), KAHU_OK);
	struct store_stat s1, s2;
	ck_assert_int_eq(store_stat(st, "a/x", &s1), KAHU_OK);
	ck_assert_int_eq(store_stat(st, "a/y", &s2), KAHU_OK);
	ck_assert_uint_eq(s1.size, 100);
	ck_assert_uint_eq(s2.size, 200);

	/* threads, one store each, sharing the directories they create */
	pthread_t th[8];
	struct thread_arg args[8];
	for (int i = 0; i < 8; i++) {
		args[i].idx = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, put_thread, &args[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(args[i].err == KAHU_OK, "thread %d: %s", i, args[i].msg);
	}
	for (int i = 0; i < 8; i++) {
		char key[64];
		struct kbuf b = KBUF_INIT;
		snprintf(key, sizeof key, "backups/t%d/data", i);
		ck_assert_int_eq(store_read_small(st, key, 1 << 20, &b), KAHU_OK);
		ck_assert_uint_eq(b.len, 64 * 4096);
		ck_assert_int_eq(b.data[0], 'a' + i);
		ck_assert_int_eq(b.data[b.len - 1], 'a' + i);
		kbuf_free(&b);
	}
	store_close(st);
}
END_TEST

static void check_modes_with_umask(mode_t mask)
{
	mode_t old = umask(mask);
	struct kahu_store *st = open_fs();
	put_bytes(st, "d1/d2/f", "x", 1);
	umask(old);
	ck_assert_uint_eq(mode_of(""), 0700);
	ck_assert_uint_eq(mode_of("d1"), 0700);
	ck_assert_uint_eq(mode_of("d1/d2"), 0700);
	ck_assert_uint_eq(mode_of("d1/d2/f"), 0600);
	store_close(st);
}

START_TEST(test_modes_umask0)
{
	check_modes_with_umask(0);
}
END_TEST

START_TEST(test_modes_umask077)
{
	check_modes_with_umask(077);
}
END_TEST

START_TEST(test_modes_umask_odd)
{
	/* a umask that takes owner bits away must not make our files unreadable */
	check_modes_with_umask(0277);
}
END_TEST

START_TEST(test_existing_root_mode_kept)
{
	ck_assert_int_eq(mkdir(root, 0755), 0);
	chmod(root, 0755);
	struct kahu_store *st = open_fs();
	put_bytes(st, "k", "x", 1);
	ck_assert_uint_eq(mode_of(""), 0755);
	ck_assert_uint_eq(mode_of("k"), 0600);
	store_close(st);
}
END_TEST

/* ---- list ---- */

static int collect(void *ud, const char *key, const struct store_stat *sst)
{
	struct strv *v = ud;
	strv_push_owned(v, xasprintf("%s=%llu", key, (unsigned long long)sst->size));
	return 0;
}

static void check_list(struct kahu_store *st, const char *prefix, const char *want)
{
	struct strv v = STRV_INIT;
	int err = store_list(st, prefix, collect, &v);
	ck_assert_msg(err == KAHU_OK, "list %s: %s", prefix, kahu_error_last());
	char *s = v.n ? strv_join(&v, " ") : xstrdup("");
	strv_free(&v);
	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(test_list)
{
	struct kahu_store *st = open_fs();
	check_list(st, "", "");  /* root not created yet */
	put_bytes(st, "kahu-repo.json", "{}", 2);
	put_bytes(st, "backups/foo/backup.json", "123", 3);
	put_bytes(st, "backups/foo/metadata.tar.zst.kenc", "12345", 5);
	put_bytes(st, "backups/fox", "1", 1);
	put_bytes(st, "backups/foo.txt", "12", 2);
	put_bytes(st, "backups/bar/backup.json", "", 0);
	put_bytes(st, "a.txt", "1", 1);
	put_bytes(st, "a/b", "1", 1);
	/* an open put (a temporary on disk) and a foreign dotfile are not listed */
	struct store_put *ps;
	ck_assert_int_eq(store_put_begin(st, "backups/foo/zzz", &ps), KAHU_OK);
	char junk[400];
	snprintf(junk, sizeof junk, "%s/backups/.DS_Store", root);
	FILE *f = fopen(junk, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);

	/* byte-wise order across directories: "a.txt" < "a/b", "foo.txt" < "foo/" */
	check_list(st, "",
			 "a.txt=1 a/b=1 backups/bar/backup.json=0 backups/foo.txt=2 "
			 "backups/foo/backup.json=3 backups/foo/metadata.tar.zst.kenc=5 "
			 "backups/fox=1 kahu-repo.json=2");
	check_list(st, "backups/fo",
			 "backups/foo.txt=2 backups/foo/backup.json=3 "
			 "backups/foo/metadata.tar.zst.kenc=5 backups/fox=1");
	check_list(st, "backups/foo/",
			 "backups/foo/backup.json=3 backups/foo/metadata.tar.zst.kenc=5");
	check_list(st, "backups/foo/b", "backups/foo/backup.json=3");
	check_list(st, "nothing/here/", "");
	check_list(st, "kahu", "kahu-repo.json=2");
	store_put_abort(ps);

	ck_assert_int_eq(store_list(st, "../", collect, NULL), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "invalid object key prefix \"../\"");
	store_close(st);
}
END_TEST

static int stop_after_two(void *ud, const char *key, const struct store_stat *sst)
{
	int *n = ud;
	(void)key; (void)sst;
	return ++*n == 2 ? STORE_LIST_STOP : 0;
}

static int fail_list(void *ud, const char *key, const struct store_stat *sst)
{
	(void)ud; (void)sst;
	return kahu_error_set(KAHU_EDATA, "bad entry %s", key);
}

START_TEST(test_list_stop)
{
	struct kahu_store *st = open_fs();
	put_bytes(st, "a", "", 0);
	put_bytes(st, "b", "", 0);
	put_bytes(st, "c", "", 0);
	int n = 0;
	ck_assert_int_eq(store_list(st, "", stop_after_two, &n), KAHU_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_list(st, "", fail_list, NULL), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), "bad entry a");
	store_close(st);
}
END_TEST

/* ---- stat / remove / get ranges / keys ---- */

START_TEST(test_stat_remove)
{
	struct kahu_store *st = open_fs();
	ck_assert_int_eq(store_stat(st, "backups/x/backup.json", NULL), KAHU_ENOTFOUND);
	ck_assert_msg(strstr(kahu_error_last(), "fs: backups/x/backup.json not found under ") != NULL,
		      "%s", kahu_error_last());
	put_bytes(st, "backups/x/backup.json", "{}", 2);
	struct store_stat sst;
	ck_assert_int_eq(store_stat(st, "backups/x/backup.json", &sst), KAHU_OK);
	ck_assert_uint_eq(sst.size, 2);
	/* a directory is not an object */
	ck_assert_int_eq(store_stat(st, "backups/x", NULL), KAHU_ENOTFOUND);

	ck_assert_int_eq(store_remove(st, "backups/x/backup.json"), KAHU_OK);
	ck_assert_int_eq(store_stat(st, "backups/x/backup.json", NULL), KAHU_ENOTFOUND);
	ck_assert_int_eq(store_remove(st, "backups/x/backup.json"), KAHU_ENOTFOUND);
	ck_assert_msg(strstr(kahu_error_last(), "backups/x/backup.json not found") != NULL, "%s",
		      kahu_error_last());
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, "backups/x/backup.json", 10, &b), KAHU_ENOTFOUND);
	store_close(st);
}
END_TEST

static void check_ranges(struct kahu_store *st)
{
	struct kbuf b = KBUF_INIT;
	put_bytes(st, "r", "0123456789", 10);
#define RANGE(off, len, want)                                                         \
	do {                                                                          \
		kbuf_reset(&b);                                                       \
		ck_assert_msg(store_get(st, "r", off, len, kbuf_sink, &b) == KAHU_OK, \
			      "%s", kahu_error_last());                               \
		ck_assert_str_eq(kbuf_str(&b), want);                                 \
	} while (0)
	RANGE(0, STORE_TO_END, "0123456789");
	RANGE(3, 4, "3456");
	RANGE(7, STORE_TO_END, "789");
	RANGE(8, 100, "89");
	RANGE(10, 5, "");
	RANGE(50, STORE_TO_END, "");
	RANGE(0, 1, "0");
#undef RANGE
	kbuf_free(&b);
}

START_TEST(test_get_range)
{
	struct kahu_store *st = open_fs();
	check_ranges(st);
	store_close(st);
}
END_TEST

static struct kahu_backend fake;

START_TEST(test_get_range_emulated)
{
	/* the fs provider without its range capability: the host skips and cuts */
	const struct kahu_backend *fsb;
	ck_assert_int_eq(kahu_backend_fs_init(store_host(), &fsb), 0);
	fake = *fsb;
	fake.capabilities &= ~KAHU_BACKEND_CAP_RANGE_READ;
	struct kahu_backend_kv cfg[] = { { "path", root } };
	struct kahu_store *st;
	ck_assert_int_eq(store_open_backend(&fake, "test", cfg, 1, &st), KAHU_OK);
	check_ranges(st);
	store_close(st);
}
END_TEST

static int fail_sink(void *ud, const void *buf, size_t len)
{
	(void)ud; (void)buf; (void)len;
	return kahu_error_set(KAHU_ECRYPTO, "chunk failed authentication");
}

START_TEST(test_get_callback_error)
{
	struct kahu_store *st = open_fs();
	put_bytes(st, "x", "data", 4);
	ck_assert_int_eq(store_get(st, "x", 0, STORE_TO_END, fail_sink, NULL), KAHU_ECRYPTO);
	ck_assert_str_eq(kahu_error_last(), "chunk failed authentication");
	struct kbuf b = KBUF_INIT;
	put_bytes(st, "big", "0123456789abcdef", 16);
	ck_assert_int_eq(store_read_small(st, "big", 8, &b), KAHU_EDATA);
	ck_assert_str_eq(kahu_error_last(), "object big is larger than the 8 bytes expected");
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(store_read_small(st, "big", 16, &b), KAHU_OK);
	ck_assert_str_eq(kbuf_str(&b), "0123456789abcdef");
	kbuf_free(&b);
	store_close(st);
}
END_TEST

START_TEST(test_invalid_keys)
{
	struct kahu_store *st = open_fs();
	static const char *const bad[] = { "", "/abs", "../x", "a/../b", "a//b", "a/", ".hidden",
					   "a/.tmp", "a\\b", "a\nb", "./a" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct store_put *ps = NULL;
		ck_assert_int_eq(store_put_begin(st, bad[i], &ps), KAHU_EUSAGE);
		ck_assert_ptr_null(ps);
		ck_assert_int_eq(store_stat(st, bad[i], NULL), KAHU_EUSAGE);
	}
	ck_assert_int_eq(store_remove(st, "../x"), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "invalid object key \"../x\"");
	ck_assert_int_eq(store_key_valid("backups/nightly-2024.05.01/volumes/ns/pvc.tar.zst.kenc"),
			 KAHU_OK);
	store_close(st);
}
END_TEST

START_TEST(test_exclusive_put)
{
	struct kahu_store *st = open_fs();
	ck_assert_int_eq(store_write_small_ex(st, "locks/a.json", KAHU_PUT_EXCLUSIVE, "1", 1), KAHU_OK);
	ck_assert_int_eq(store_write_small_ex(st, "locks/a.json", KAHU_PUT_EXCLUSIVE, "2", 1),
			 KAHU_EEXIST);
	ck_assert_str_eq(kahu_error_last(), "fs: locks/a.json already exists");

	/* the race: both streams open, the second to commit loses, nothing left behind */
	struct store_put *p1, *p2;
	ck_assert_int_eq(store_put_begin_ex(st, "locks/b.json", KAHU_PUT_EXCLUSIVE, 1, &p1), KAHU_OK);
	ck_assert_int_eq(store_put_begin_ex(st, "locks/b.json", KAHU_PUT_EXCLUSIVE, 1, &p2), KAHU_OK);
	ck_assert_int_eq(store_put_write(p1, "1", 1), KAHU_OK);
	ck_assert_int_eq(store_put_write(p2, "2", 1), KAHU_OK);
	ck_assert_int_eq(store_put_commit(p1), KAHU_OK);
	ck_assert_int_eq(store_put_commit(p2), KAHU_EEXIST);
	ck_assert_str_eq(kahu_error_last(), "fs: locks/b.json already exists");
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, "locks/b.json", 10, &b), KAHU_OK);
	ck_assert_str_eq(kbuf_str(&b), "1");
	kbuf_free(&b);
	char dir[400];
	snprintf(dir, sizeof dir, "%s/locks", root);
	ck_assert_int_eq(count_entries(dir), 2);
	store_close(st);

	/* a provider without create-if-absent: the host checks first */
	const struct kahu_backend *fsb;
	ck_assert_int_eq(kahu_backend_fs_init(store_host(), &fsb), 0);
	fake = *fsb;
	fake.capabilities &= ~KAHU_BACKEND_CAP_EXCLUSIVE_PUT;
	struct kahu_backend_kv cfg[] = { { "path", root } };
	ck_assert_int_eq(store_open_backend(&fake, "test", cfg, 1, &st), KAHU_OK);
	ck_assert_int_eq(store_write_small_ex(st, "locks/a.json", KAHU_PUT_EXCLUSIVE, "3", 1),
			 KAHU_EEXIST);
	ck_assert_str_eq(kahu_error_last(), "fs: locks/a.json already exists");
	ck_assert_int_eq(store_write_small_ex(st, "locks/c.json", KAHU_PUT_EXCLUSIVE, "3", 1), KAHU_OK);
	store_close(st);
}
END_TEST

/* A provider (or a server behind it) that does not list in key order: S3 servers sort,
 * s3rver's file system store lists "volumes/..." before "volumes.jsonl...".  The first
 * listing must deliver every key. */
static int unordered_list(struct kahu_backend_handle *h, const char *prefix, kahu_backend_list_fn cb,
			  void *ud)
{
	(void)h; (void)prefix;
	static const char *const keys[] = { "backups/b1/volumes/v/index.jsonl.zst",
					    "backups/b1/volumes.jsonl.zst", "backups/b1/log.jsonl.zst" };
	struct kahu_backend_stat st;
	memset(&st, 0, sizeof st);
	st.size = 1;
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (cb(ud, keys[i], &st) != 0)
			return KAHU_BACKEND_ECALLBACK;
	return KAHU_BACKEND_OK;
}

START_TEST(test_list_unordered)
{
	const struct kahu_backend *fsb;
	ck_assert_int_eq(kahu_backend_fs_init(store_host(), &fsb), 0);
	fake = *fsb;
	fake.list = unordered_list;
	struct kahu_backend_kv cfg[] = { { "path", root } };
	struct kahu_store *st = NULL;
	ck_assert_int_eq(store_open_backend(&fake, "unordered.so", cfg, 1, &st), KAHU_OK);
	check_list(st, "backups/b1/", "backups/b1/volumes/v/index.jsonl.zst=1 "
		   "backups/b1/volumes.jsonl.zst=1 backups/b1/log.jsonl.zst=1");
	store_close(st);
}
END_TEST

/* ---- ABI and configuration ---- */

START_TEST(test_abi_major_mismatch)
{
	const struct kahu_backend *fsb;
	ck_assert_int_eq(kahu_backend_fs_init(store_host(), &fsb), 0);
	fake = *fsb;
	fake.abi_major = 2;
	fake.abi_minor = 3;
	struct kahu_backend_kv cfg[] = { { "path", root } };
	struct kahu_store *st = NULL;
	ck_assert_int_eq(store_open_backend(&fake, "/usr/lib/kahu/backends/kahu-new.so", cfg, 1, &st),
			 KAHU_EFAIL);
	ck_assert_ptr_null(st);
	ck_assert_str_eq(kahu_error_last(),
			 "storage provider /usr/lib/kahu/backends/kahu-new.so was built for provider "
			 "ABI 2.3, but this kahu supports ABI 1.1: rebuild it against kahu "
			 PACKAGE_VERSION "'s <kahu/backend.h>");

	fake = *fsb;
	fake.struct_size = 40;
	ck_assert_int_eq(store_check_abi(&fake, "tiny.so"), KAHU_EFAIL);
	ck_assert_msg(strstr(kahu_error_last(), "tiny.so declares a 40-byte description") != NULL,
		      "%s", kahu_error_last());

	fake = *fsb;
	fake.list = NULL;
	ck_assert_int_eq(store_check_abi(&fake, "x.so"), KAHU_EFAIL);
	ck_assert_str_eq(kahu_error_last(), "storage provider fs (x.so) lacks the required operation list");
}
END_TEST

static int copy_must_not_be_called(struct kahu_backend_handle *h, const char *a, const char *b)
{
	(void)h; (void)a; (void)b;
	ck_abort_msg("copy() beyond struct_size was called");
	return 0;
}

START_TEST(test_abi_older_minor)
{
	/* A provider built for an older minor: its struct ends after `remove`.  The
	 * host must not look past struct_size, even if memory there holds a pointer. */
	const struct kahu_backend *fsb;
	ck_assert_int_eq(kahu_backend_fs_init(store_host(), &fsb), 0);
	fake = *fsb;
	fake.abi_minor = 0;
	fake.struct_size = KAHU_BACKEND_MIN_SIZE;
	fake.capabilities |= KAHU_BACKEND_CAP_SERVER_COPY;
	fake.copy = copy_must_not_be_called;
	struct kahu_backend_kv cfg[] = { { "path", root } };
	struct kahu_store *st;
	ck_assert_msg(store_open_backend(&fake, "old.so", cfg, 1, &st) == KAHU_OK, "%s",
		      kahu_error_last());
	put_bytes(st, "src", "hello", 5);
	ck_assert_msg(store_copy(st, "src", "dir/dst") == KAHU_OK, "%s", kahu_error_last());
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, "dir/dst", 100, &b), KAHU_OK);
	ck_assert_str_eq(kbuf_str(&b), "hello");
	kbuf_free(&b);
	store_close(st);

	/* a newer minor of the same major (more fields appended) is accepted too */
	fake = *fsb;
	fake.abi_minor = KAHU_BACKEND_ABI_MINOR + 3;
	fake.struct_size = sizeof fake + 64;
	ck_assert_int_eq(store_check_abi(&fake, "new.so"), KAHU_OK);
}
END_TEST

START_TEST(test_long_key_component)
{
	/* 250 bytes: a legal file name, but ".<name>.tmp.<rand>" would not be */
	char key[300];
	memset(key, 'k', 250);
	strcpy(key + 250, "");
	memcpy(key, "dir/", 4);
	struct kahu_store *st = open_fs();
	put_bytes(st, key, "x", 1);
	ck_assert_int_eq(store_stat(st, key, NULL), KAHU_OK);
	store_close(st);
}
END_TEST

START_TEST(test_config_validation)
{
	struct kahu_store *st = NULL;
	struct kahu_backend_kv bad[] = { { "path", root }, { "bucket", "x" } };
	ck_assert_int_eq(store_open_builtin("fs", bad, 2, &st), KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(),
			 "provider fs does not accept the configuration key \"bucket\" (it accepts: path)");
	ck_assert_int_eq(store_open_builtin("fs", NULL, 0, &st), KAHU_ECONFIG);
	ck_assert_msg(strstr(kahu_error_last(), "provider fs needs the configuration key \"path\"") != NULL,
		      "%s", kahu_error_last());
	struct kahu_backend_kv rel[] = { { "path", "relative/dir" } };
	ck_assert_int_eq(store_open_builtin("fs", rel, 1, &st), KAHU_ECONFIG);
	ck_assert_str_eq(kahu_error_last(),
			 "fs: cannot open the location: path \"relative/dir\" is not absolute");
	ck_assert_int_eq(store_open_builtin("s4", rel, 1, &st), KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(), "no built-in storage provider named \"s4\"");
	ck_assert_ptr_null(st);
}
END_TEST

/* ---- error mapping and retries, with a scripted provider wrapping fs ---- */

static int script_rc;       /* what the next calls return */
static int script_times;    /* how many calls fail with it */
static int script_calls;
static int script_after;    /* get: fail only after this many bytes were delivered */
static const struct kahu_backend *real_fs;

static const char *script_errmsg(struct kahu_backend_handle *h)
{
	if (script_rc && script_calls <= script_times)
		return "scripted failure";
	return real_fs->errmsg(h);
}

static int script_stat(struct kahu_backend_handle *h, const char *key, struct kahu_backend_stat *s)
{
	if (++script_calls <= script_times)
		return script_rc;
	return real_fs->stat(h, key, s);
}

static int script_remove(struct kahu_backend_handle *h, const char *key)
{
	if (++script_calls <= script_times)
		return script_rc;
	return real_fs->remove(h, key);
}

struct cut_ctx {
	kahu_backend_write_fn sink;
	void *ud;
	int left;
};

static int cut_sink(void *ud, const void *buf, size_t len)
{
	struct cut_ctx *c = ud;
	const char *p = buf;
	/* deliver byte by byte so the failure can hit mid-stream */
	for (size_t i = 0; i < len; i++) {
		if (c->left-- <= 0)
			return 1;
		if (c->sink(c->ud, p + i, 1))
			return 1;
	}
	return 0;
}

static int script_get(struct kahu_backend_handle *h, const char *key, uint64_t off,
		      uint64_t len, kahu_backend_write_fn sink, void *ud)
{
	if (++script_calls <= script_times) {
		struct cut_ctx c = { sink, ud, script_after };
		int rc = real_fs->get(h, key, off, len, cut_sink, &c);
		if (rc == KAHU_BACKEND_ECALLBACK && c.left < 0)
			return script_rc;  /* the scripted cut, not the caller's stop */
		return rc == KAHU_BACKEND_OK ? script_rc : rc;
	}
	return real_fs->get(h, key, off, len, sink, ud);
}

static struct kahu_store *open_script(int rc, int times)
{
	ck_assert_int_eq(kahu_backend_fs_init(store_host(), &real_fs), 0);
	fake = *real_fs;
	fake.errmsg = script_errmsg;
	fake.stat = script_stat;
	fake.remove = script_remove;
	fake.get = script_get;
	script_rc = rc;
	script_times = times;
	script_calls = 0;
	script_after = 0;
	struct kahu_backend_kv cfg[] = { { "path", root } };
	struct kahu_store *st;
	ck_assert_int_eq(store_open_backend(&fake, "script", cfg, 1, &st), KAHU_OK);
	store_set_retry(st, 4, 1);
	return st;
}

START_TEST(test_transient_retried)
{
	struct kahu_store *st = open_script(KAHU_BACKEND_ETRANSIENT, 3);
	put_bytes(st, "k", "v", 1);
	ck_assert_msg(store_stat(st, "k", NULL) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_int_eq(script_calls, 4);

	script_calls = 0;
	script_times = 4;
	ck_assert_int_eq(store_stat(st, "k", NULL), KAHU_ETEMP);
	ck_assert_int_eq(script_calls, 4);
	ck_assert_str_eq(kahu_error_last(), "checking k: still failing after 4 attempts: fs: scripted failure");

	/* remove: a retry that finds the object gone counts as success */
	script_calls = 0;
	script_times = 1;
	ck_assert_int_eq(store_remove(st, "k"), KAHU_OK);
	store_close(st);
}
END_TEST

struct canceller {
	atomic_int *calls;
	int64_t at;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Cancels once the first try has failed and the retry is waiting. */
static void *cancel_during_wait(void *arg)
{
	struct canceller *c = arg;
	while (atomic_load(c->calls) < 1) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	struct timespec ts = { 0, 20 * 1000000 };
	nanosleep(&ts, NULL);
	c->at = mono_ms();
	kahu_cancel(SIGINT);
	return NULL;
}

static atomic_int calls_seen;

static int script_stat_counted(struct kahu_backend_handle *h, const char *key, struct kahu_backend_stat *s)
{
	int rc = script_stat(h, key, s);
	atomic_fetch_add(&calls_seen, 1);
	return rc;
}

/* A retry waiting between tries (here a minute) ends as soon as the run is cancelled:
 * the target is within 100 ms; 1 s is asserted so a loaded machine cannot fail it. */
START_TEST(test_transient_wait_cancelled)
{
	struct kahu_store *st = open_script(KAHU_BACKEND_ETRANSIENT, 1000);
	fake.stat = script_stat_counted;
	atomic_store(&calls_seen, 0);
	store_set_retry(st, 5, 60000);
	kahu_cancel_reset();
	struct canceller c = { .calls = &calls_seen };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, cancel_during_wait, &c), 0);
	ck_assert_int_eq(store_stat(st, "k", NULL), KAHU_EINTR);
	int64_t woke = mono_ms();
	pthread_join(t, NULL);
	ck_assert_int_lt(woke - c.at, 1000);
	ck_assert_int_eq(script_calls, 1);
	ck_assert_str_eq(kahu_error_last(), "fs: checking k: interrupted while waiting to try again "
			 "(scripted failure)");
	kahu_cancel_reset();
	store_close(st);
}
END_TEST

START_TEST(test_transient_get_resumes)
{
	struct kahu_store *st = open_script(KAHU_BACKEND_ETRANSIENT, 2);
	put_bytes(st, "obj", "abcdefghijklmnopqrstuvwxyz", 26);
	script_after = 5;  /* each failing attempt delivers 5 bytes first */
	struct kbuf b = KBUF_INIT;
	ck_assert_msg(store_get(st, "obj", 2, 20, kbuf_sink, &b) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_str_eq(kbuf_str(&b), "cdefghijklmnopqrstuv");
	ck_assert_int_eq(script_calls, 3);

	/* the same with the range emulated by the host */
	fake.capabilities &= ~KAHU_BACKEND_CAP_RANGE_READ;
	script_calls = 0;
	kbuf_reset(&b);
	ck_assert_msg(store_get(st, "obj", 2, 20, kbuf_sink, &b) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_str_eq(kbuf_str(&b), "cdefghijklmnopqrstuv");
	kbuf_free(&b);
	store_close(st);
}
END_TEST

START_TEST(test_error_mapping)
{
	static const struct { int rc, err; } map[] = {
		{ KAHU_BACKEND_ENOTFOUND, KAHU_ENOTFOUND }, { KAHU_BACKEND_EAUTH, KAHU_EPERM },
		{ KAHU_BACKEND_EPERMANENT, KAHU_EIO }, { KAHU_BACKEND_ENOSPACE, KAHU_ENOSPC },
		{ KAHU_BACKEND_EEXISTS, KAHU_EEXIST }, { KAHU_BACKEND_EUNSUPPORTED, KAHU_EFAIL },
		{ 42, KAHU_EPROTO },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		struct kahu_store *st = open_script(map[i].rc, 1000);
		ck_assert_int_eq(store_stat(st, "k", NULL), map[i].err);
		ck_assert_int_eq(script_calls, 1);  /* only transient errors are retried */
		if (map[i].rc == 42)
			ck_assert_str_eq(kahu_error_last(),
					 "fs: unknown provider return code 42 (scripted failure)");
		else
			ck_assert_str_eq(kahu_error_last(), "fs: scripted failure");
		store_close(st);
	}
}
END_TEST

/* ---- interruption and put retries ---- */

static int interrupt_stat(struct kahu_backend_handle *h, const char *key,
			  struct kahu_backend_stat *s)
{
	(void)h; (void)key; (void)s;
	script_calls++;
	kahu_cancel(SIGINT);  /* the Ctrl-C arrives during the first try */
	return KAHU_BACKEND_ETRANSIENT;
}

START_TEST(test_interrupt_ends_retry_wait)
{
	struct kahu_store *st = open_script(KAHU_BACKEND_ETRANSIENT, 1000);
	fake.stat = interrupt_stat;
	/* an hour between tries: only the interrupt can end this test in time */
	store_set_retry(st, 4, 3600 * 1000);
	ck_assert_int_eq(store_stat(st, "k", NULL), KAHU_EINTR);
	ck_assert_int_eq(script_calls, 1);
	ck_assert_str_eq(kahu_error_last(), "fs: checking k: interrupted while waiting to try again "
			 "(scripted failure)");
	ck_assert(store_host()->cancelled(store_host()));
	/* after an interrupt a small read still works; removal too */
	fake.stat = script_stat;
	script_times = 0;
	put_bytes(st, "small", "x", 1);
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, "small", 10, &b), KAHU_OK);
	ck_assert_int_eq(store_remove(st, "small"), KAHU_OK);
	kahu_cancel_reset();
	kbuf_free(&b);
	store_close(st);
}
END_TEST

static int count_sink(void *ud, const void *buf, size_t len)
{
	(void)buf;
	*(size_t *)ud += len;
	return 0;
}

START_TEST(test_interrupt_stops_read_between_chunks)
{
	struct kahu_store *st = open_fs();
	static char big[256 * 1024];
	put_bytes(st, "big", big, sizeof big);
	kahu_cancel(SIGINT);
	size_t got = 0;
	ck_assert_int_eq(store_get(st, "big", 0, STORE_TO_END, count_sink, &got), KAHU_EINTR);
	ck_assert_str_eq(kahu_error_last(), "reading big: interrupted");
	ck_assert_uint_lt(got, sizeof big);
	ck_assert_uint_gt(got, 0);  /* the first chunk went through */
	kahu_cancel_reset();
	store_close(st);
}
END_TEST

static int cancelled_stat(struct kahu_backend_handle *h, const char *key,
			  struct kahu_backend_stat *s)
{
	(void)h; (void)key; (void)s;
	script_calls++;
	return KAHU_BACKEND_ECANCELLED;
}

START_TEST(test_provider_cancelled)
{
	struct kahu_store *st = open_script(KAHU_BACKEND_ECANCELLED, 1000);
	fake.stat = cancelled_stat;
	ck_assert_int_eq(store_stat(st, "k", NULL), KAHU_EINTR);
	ck_assert_int_eq(script_calls, 1);
	ck_assert_str_eq(kahu_error_last(), "fs: interrupted (scripted failure)");
	/* the 1.1 host fields, as a provider sees them */
	const struct kahu_host *host = store_host();
	ck_assert_uint_eq(host->abi_minor, 1);
	ck_assert(KAHU_HOST_HAS(host, cancelled));
	ck_assert_int_eq(host->cancelled(host), 0);
	store_close(st);
}
END_TEST

/* put_write that fails transiently every other call, taking none of the bytes. */
static int flaky_writes;
static int flaky_put_write(struct kahu_backend_put *p, const void *buf, size_t len)
{
	if (flaky_writes++ % 2 == 0) {
		script_calls++;
		return KAHU_BACKEND_ETRANSIENT;
	}
	return real_fs->put_write(p, buf, len);
}

START_TEST(test_put_retry_capability)
{
	struct kahu_store *st = open_script(0, 0);
	fake.put_write = flaky_put_write;
	flaky_writes = 0;
	/* without KAHU_BACKEND_CAP_PUT_RETRY a transient write failure is final */
	ck_assert_int_eq(store_write_small(st, "p", "abc", 3), KAHU_ETEMP);
	ck_assert_int_eq(script_calls, 1);
	/* with it, kahu writes the same bytes again */
	fake.capabilities |= KAHU_BACKEND_CAP_PUT_RETRY;
	flaky_writes = 0;
	script_calls = 0;
	struct store_put *ps;
	ck_assert_int_eq(store_put_begin(st, "p", &ps), KAHU_OK);
	ck_assert_int_eq(store_put_write(ps, "abc", 3), KAHU_OK);
	ck_assert_int_eq(store_put_write(ps, "def", 3), KAHU_OK);
	ck_assert_int_eq(store_put_commit(ps), KAHU_OK);
	ck_assert_int_eq(script_calls, 2);
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, "p", 10, &b), KAHU_OK);
	ck_assert_str_eq(kbuf_str(&b), "abcdef");
	kbuf_free(&b);
	store_close(st);
}
END_TEST

/* ---- the loadable module ---- */

START_TEST(test_loadable_module)
{
	void *dl = dlopen(KAHU_FS_MODULE, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(dl != NULL, "dlopen: %s", dlerror());
	kahu_backend_init_fn init = (kahu_backend_init_fn)dlsym(dl, KAHU_BACKEND_INIT_SYMBOL);
	ck_assert_ptr_nonnull(init);
	/* only the one entry is exported */
	ck_assert_ptr_null(dlsym(dl, "kahu_backend_fs_init"));
	ck_assert_ptr_null(dlsym(dl, "fs_open"));
	const struct kahu_backend *be = NULL;
	ck_assert_int_eq(init(store_host(), &be), 0);
	ck_assert_int_eq(store_check_abi(be, KAHU_FS_MODULE), KAHU_OK);
	ck_assert_str_eq(be->name, "fs");
	const struct kahu_backend *linked;
	ck_assert_int_eq(kahu_backend_fs_init(store_host(), &linked), 0);
	ck_assert(be != linked);  /* really the module's copy */
	struct kahu_backend_kv cfg[] = { { "path", root } };
	struct kahu_store *st;
	ck_assert_int_eq(store_open_backend(be, KAHU_FS_MODULE, cfg, 1, &st), KAHU_OK);
	put_bytes(st, "m/x", "module", 6);
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, "m/x", 100, &b), KAHU_OK);
	ck_assert_str_eq(kbuf_str(&b), "module");
	kbuf_free(&b);
	ck_assert_int_eq(store_probe(st), KAHU_OK);
	store_close(st);
	dlclose(dl);
}
END_TEST

START_TEST(test_probe)
{
	struct kahu_store *st = open_fs();
	ck_assert_msg(store_probe(st) == KAHU_OK, "%s", kahu_error_last());
	ck_assert_uint_eq(mode_of(""), 0700);
	ck_assert_int_eq(count_entries(root), 0);
	store_close(st);

	/* the path is a file */
	ck_assert_int_eq(rmdir(root), 0);
	FILE *f = fopen(root, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	/* refused when opened: it would list as empty and fail every write */
	struct kahu_backend_kv cfg[] = { { "path", root } };
	st = NULL;
	ck_assert_int_eq(store_open_builtin("fs", cfg, 1, &st), KAHU_ECONFIG);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(kahu_error_last(), "is not a directory") != NULL, "%s",
		      kahu_error_last());
}
END_TEST

/* ---- out of space ---- */

START_TEST(test_enospc)
{
	if (mount("tmpfs", tmpdir, "tmpfs", 0, "size=64k,mode=0700") < 0) {
		fprintf(stderr, "# test_enospc: cannot mount a small tmpfs (%s); not tested here\n",
			strerror(errno));
		return;
	}
	struct kahu_store *st = open_fs();
	struct store_put *ps;
	ck_assert_int_eq(store_put_begin(st, "backups/b/volume.tar", &ps), KAHU_OK);
	static char block[16384];
	int err = KAHU_OK;
	for (int i = 0; i < 64 && err == KAHU_OK; i++)  /* 1 MiB into 64 KiB */
		err = store_put_write(ps, block, sizeof block);
	ck_assert_int_eq(err, KAHU_ENOSPC);
	ck_assert_msg(strstr(kahu_error_last(),
			     "fs: cannot write backups/b/volume.tar under ") != NULL &&
		      strstr(kahu_error_last(), ": no space left on device") != NULL,
		      "%s", kahu_error_last());
	/* commit after the failure refuses and cleans up */
	ck_assert_int_eq(store_put_commit(ps), KAHU_ENOSPC);
	char dir[400];
	snprintf(dir, sizeof dir, "%s/backups/b", root);
	ck_assert_int_eq(count_entries(dir), 0);
	store_close(st);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("fs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_put_roundtrip);
	tcase_add_test(tc, test_put_abort_leaves_nothing);
	tcase_add_test(tc, test_concurrent_puts);
	tcase_add_test(tc, test_modes_umask0);
	tcase_add_test(tc, test_modes_umask077);
	tcase_add_test(tc, test_modes_umask_odd);
	tcase_add_test(tc, test_existing_root_mode_kept);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_list_stop);
	tcase_add_test(tc, test_list_unordered);
	tcase_add_test(tc, test_stat_remove);
	tcase_add_test(tc, test_get_range);
	tcase_add_test(tc, test_get_range_emulated);
	tcase_add_test(tc, test_get_callback_error);
	tcase_add_test(tc, test_invalid_keys);
	tcase_add_test(tc, test_long_key_component);
	tcase_add_test(tc, test_exclusive_put);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_enospc);
	tcase_add_test(tc, test_loadable_module);
	suite_add_tcase(s, tc);

	TCase *abi = tcase_create("abi");
	tcase_add_checked_fixture(abi, setup, teardown);
	tcase_add_test(abi, test_abi_major_mismatch);
	tcase_add_test(abi, test_abi_older_minor);
	tcase_add_test(abi, test_config_validation);
	tcase_add_test(abi, test_transient_retried);
	tcase_add_test(abi, test_transient_get_resumes);
	tcase_add_test(abi, test_transient_wait_cancelled);
	tcase_add_test(abi, test_error_mapping);
	tcase_add_test(abi, test_interrupt_ends_retry_wait);
	tcase_add_test(abi, test_interrupt_stops_read_between_chunks);
	tcase_add_test(abi, test_provider_cancelled);
	tcase_add_test(abi, test_put_retry_capability);
	suite_add_tcase(s, abi);
	return s;
}

KAHU_CHECK_MAIN(store_suite)

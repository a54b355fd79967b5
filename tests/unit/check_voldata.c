/* Unit tests: the volume data core (engine/voldata.h) through local ops (fork/exec in a
 * directory) with GNU tar and with busybox's applets: byte-exact round trips, the
 * incremental chain, resume after a cut stream, a repeated cut failing, hostile
 * indexes refused, the listing and index parsers, and the peak RSS of a 4 GiB ingest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "archive/bundle.h"
#include "archive/key.h"
#include "archive/seal.h"
#include "engine/vol_int.h"
#include "engine/vol_local.h"
#include "engine/voldata.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

static char tmp[256], loc[300], src[300], dst[300], bbdir[300];
static struct kahu_store *st;
static struct kahu_key *key;
static char vid[VOL_ID_HEX_LEN + 1];

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

static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = NULL;
	ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	struct kbuf b = KBUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		kbuf_add(&b, buf, n);
	ck_assert_msg(pclose(p) == 0, "command failed: %s", cmd);
	free(cmd);
	kbuf_adds(&b, "");
	return kbuf_detach(&b);
}

/* Everything a restore must reproduce, as text: types, modes, owners, mtimes (not of
 * symlinks), sizes, link counts, symlink targets, and the sha256 of every file. */
static bool symlink_owners = true;

static char *snapshot(const char *dir)
{
	return sh_out("cd '%s' && find . ! -path . \\( -type d -printf '%%P|d|%%m|%%U|%%G|%%Ts\\n' \\) -o "
		      "\\( -type l -printf '%%P|l|%s%%l\\n' \\) -o "
		      "\\( ! -type d ! -type l -printf '%%P|%%y|%%m|%%U|%%G|%%Ts|%%s|%%n\\n' \\) | LC_ALL=C sort && "
		      "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum", dir,
		      symlink_owners ? "%U|%G|" : "");
}

static bool have_busybox(void)
{
	return system("busybox true >/dev/null 2>&1") == 0;
}

static void setup(void)
{
	strcpy(tmp, "/tmp/check_voldata.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(loc, sizeof loc, "%s/loc", tmp);
	snprintf(src, sizeof src, "%s/src", tmp);
	snprintf(dst, sizeof dst, "%s/dst", tmp);
	snprintf(bbdir, sizeof bbdir, "%s/bb", tmp);
	sh("mkdir -p '%s' '%s' '%s'", src, dst, bbdir);
	if (have_busybox())
		sh("for a in sh tar find sort xargs stat head rm cat chown; do ln -s \"$(command -v busybox)\" '%s'/$a; done",
		   bbdir);
	struct kahu_backend_kv cfg[] = { { "path", loc } };
	ck_assert_int_eq(store_open_builtin("fs", cfg, 1, &st), KAHU_OK);
	ck_assert_int_eq(kahu_key_generate(&key), 0);
	vol_id(key, "ns1", "data", vid);
	kahu_log_set_level(KAHU_LOG_ERROR);
}

static void teardown(void)
{
	store_close(st);
	kahu_key_free(key);
	sh("chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", tmp, tmp);
}

/* The odd tree: names with spaces, a newline, UTF-8, "|" and a forged record prefix;
 * symlinks, hard links, an empty dir, a FIFO, modes, owners (as root), mtimes. */
static void make_tree(const char *d)
{
	sh("cd '%s' && mkdir -p 'a dir/sub' empty 'd/e/f' && printf 'hello\\n' > 'a dir/one.txt' && "
	   "head -c 300000 /dev/urandom > 'a dir/sub/rand.bin' && printf 'x' > \"$(printf 'new\\nline')\" && "
	   "printf 'ü' > 'ünï cödé ✓.txt' && printf 'pipe' > 'we|ird' && printf 'y' > \"$(printf 'x\\n0123456789abcdef|1|1|81a4|0|0|1|1|1|forged')\" && "
	   ": > emptyfile && ln 'a dir/one.txt' hard1 && ln 'a dir/one.txt' 'd/e/hard2' && "
	   "ln -s 'a dir/one.txt' link1 && ln -s /etc/passwd abslink && ln -s ../../outside 'd/up' && "
	   "mkfifo fifo && chmod 0600 'a dir/one.txt' && chmod 4755 'a dir/sub/rand.bin' && chmod 0700 empty && "
	   "touch -h -d '2001-02-03 04:05:06' link1 && touch -d '2002-03-04 05:06:07' 'a dir/sub/rand.bin' emptyfile", d);
	if (geteuid() == 0)
		sh("cd '%s' && chown 1234:5678 'a dir/sub/rand.bin' && chown -h 42:43 link1 && chown 7:8 empty", d);
	/* directories' times last, as their entries changed them */
	sh("cd '%s' && find . -type d -exec touch -d '2003-04-05 06:07:08' {} +", d);
}

static struct vol_local local;

/* Counting the commands a backup or a restore starts. */
static unsigned started;
static int counting_start(void *ctx, const char *const *argv, bool want_stdin, void **h)
{
	started++;
	return vol_local_ops.start(ctx, argv, want_stdin, h);
}

static struct vol_exec_ops counting_ops;

static void backup(const char *name, const char *parent, bool busybox, struct vol_backup_result *r,
		   int expect)
{
	counting_ops = vol_local_ops;
	counting_ops.start = counting_start;
	struct vol_backup_spec s = { .ops = &counting_ops, .ctx = &local, .mount_path = src,
				     .backup = name, .vid = vid, .st = st, .key = key, .parent = parent,
				     .retries = -1, .retry_base_ms = 1, .segment_bytes = 100000 };
	char path[400];
	snprintf(path, sizeof path, "%s:/usr/bin:/bin", bbdir);
	local.path_env = busybox ? path : NULL;
	int rc = vol_backup(&s, r);
	ck_assert_msg(rc == expect, "vol_backup: %d %s", rc, kahu_error_last());
}

static void restore(const char *name, const char *into, bool busybox, bool delete_extra,
		    struct vol_restore_result *r)
{
	struct vol_restore_spec s = { .ops = &vol_local_ops, .ctx = &local, .mount_path = into, .st = st,
				      .key = key, .backup = name, .vid = vid, .delete_extra = delete_extra };
	char path[400];
	snprintf(path, sizeof path, "%s:/usr/bin:/bin", bbdir);
	local.path_env = busybox ? path : NULL;
	/* (busybox's tar does not lchown symlinks: vol_restore sets their owners after it) */
	int rc = vol_restore(&s, r);
	ck_assert_msg(rc == 0, "vol_restore: %s", kahu_error_last());
}

static void same_tree(const char *a, const char *b)
{
	char *sa = snapshot(a), *sb = snapshot(b);
	if (strcmp(sa, sb) != 0) {
		char *d = sh_out("cd /tmp && printf '%%s' '%s' > %s.a; printf '%%s' '%s' > %s.b; diff %s.a %s.b || true",
				 "", "/tmp/vd-snap", "", "/tmp/vd-snap", "/tmp/vd-snap", "/tmp/vd-snap");
		free(d);
		FILE *fa = fopen("/tmp/vd-snap.a", "w"), *fb = fopen("/tmp/vd-snap.b", "w");
		fputs(sa, fa);
		fputs(sb, fb);
		fclose(fa);
		fclose(fb);
		d = sh_out("diff /tmp/vd-snap.a /tmp/vd-snap.b || true");
		ck_abort_msg("trees differ (%s, %s):\n%s", a, b, d);
	}
	free(sa);
	free(sb);
}

static void round_trip(bool busybox)
{
	struct vol_backup_result r;
	struct vol_restore_result rr;
	make_tree(src);
	backup("full", NULL, busybox, &r, 0);
	ck_assert_ptr_nonnull(r.objects);
	ck_assert_uint_ge(r.segments, 2); /* 100 kB segments */
	ck_assert_uint_eq(r.counts.dirs, 6);
	ck_assert_uint_ge(json_array_size(r.objects), r.segments + 1);
	/* what the caller adds to the manifest's objects is what a manifest accepts */
	size_t i;
	json_t *o;
	json_array_foreach(r.objects, i, o) {
		const char *p = json_string_value(json_object_get(o, "path"));
		ck_assert_msg(bundle_name_check(p) == 0, "%s", kahu_error_last());
		ck_assert_msg(strncmp(p, "volumes/", 8) == 0, "%s", p);
		ck_assert_int_eq(strlen(json_string_value(json_object_get(o, "blake2b"))), 64);
	}
	restore("full", dst, busybox, false, &rr);
	same_tree(src, dst);
	ck_assert_uint_eq(rr.dirs, 6);
	/* restored with the other tar too */
	sh("rm -rf '%s' && mkdir '%s'", dst, dst);
	if (have_busybox()) {
		restore("full", dst, !busybox, false, &rr);
		same_tree(src, dst);
	}
	/* local extraction, all and one path */
	char out[400];
	struct vol_restore_result xr;
	snprintf(out, sizeof out, "%s/x", tmp);
	struct vol_extract_spec x = { .st = st, .key = key, .backup = "full", .vid = vid, .dest = out };
	ck_assert_msg(vol_extract_local(&x, &xr) == 0, "%s", kahu_error_last());
	same_tree(src, out);
	const char *one[] = { "a dir/sub", NULL };
	snprintf(out, sizeof out, "%s/y", tmp);
	x.dest = out;
	x.paths = one;
	ck_assert_msg(vol_extract_local(&x, &xr) == 0, "%s", kahu_error_last());
	sh("cmp '%s/a dir/sub/rand.bin' '%s/a dir/sub/rand.bin' && test ! -e '%s/hard1'", src, out, out);
	vol_backup_result_free(&r);
}

START_TEST(test_round_trip_gnu)
{
	round_trip(false);
}
END_TEST

START_TEST(test_round_trip_busybox)
{
	if (!have_busybox()) {
		fprintf(stderr, "# busybox missing: skipped\n");
		return;
	}
	round_trip(true);
}
END_TEST

static bool object_exists(const char *path)
{
	struct store_stat ss;
	return store_stat(st, path, &ss) == 0;
}

static void chain(bool busybox)
{
	struct vol_backup_result r1, r2, r3;
	struct vol_restore_result rr;
	make_tree(src);
	sleep(1); /* past the listing's second: nothing "racy" */
	backup("full", NULL, busybox, &r1, 0);
	/* added, changed, deleted; a hard link's group changed through one member; a
	 * symlink given another target, a directory another mode */
	sh("cd '%s' && printf 'added' > 'a dir/added.txt' && printf 'changed!' >> 'd/e/hard2' && "
	   "rm 'ünï cödé ✓.txt' && rm -r 'd/e/f' && printf z > \"$(printf 'new\\nline')\" && "
	   "rm link1 && ln -s 'a dir/added.txt' link1 && chmod 0750 empty", src);
	sleep(1);
	backup("inc1", "full", busybox, &r2, 0);
	ck_assert_uint_ge(r2.counts.unchanged, 2);
	ck_assert_uint_lt(r2.counts.bytes_transferred, 1000); /* not the 300 kB file */
	/* unchanged: nothing but the listing, no transfer (directories, symlinks and the
	 * FIFO keep the parent's lines too) */
	started = 0;
	backup("inc2", "inc1", busybox, &r3, 0);
	ck_assert_uint_eq(started, 1);
	ck_assert_uint_eq(r3.counts.bytes_read, 0);
	ck_assert_uint_eq(r3.counts.bytes_transferred, 0);
	ck_assert_uint_eq(r3.segments, 0);
	ck_assert_uint_eq(r3.counts.files, r2.counts.files);
	ck_assert_uint_eq(r3.counts.dirs, r2.counts.dirs);
	ck_assert_uint_eq(r3.counts.links, r2.counts.links);
	restore("inc2", dst, busybox, false, &rr);
	same_tree(src, dst);
	/* a file written in the second its backup lists it, then changed again within that
	 * second (size and times the same): "racy", so the next backup transfers it */
	struct vol_backup_result r4, r5;
	sh("cd '%s' && printf one > racy && touch -d @1000000000 racy", src);
	backup("inc3", "inc2", busybox, &r4, 0);
	sh("cd '%s' && printf two > racy && touch -d @1000000000 racy", src);
	backup("inc4", "inc3", busybox, &r5, 0);
	ck_assert_uint_ge(r5.counts.bytes_transferred, 3);
	sh("rm -rf '%s' && mkdir '%s'", dst, dst);
	restore("inc4", dst, busybox, false, &rr);
	same_tree(src, dst);
	vol_backup_result_free(&r4);
	vol_backup_result_free(&r5);
	/* in place over a dirty copy with delete_extra */
	sh("cd '%s' && printf junk > extra && mkdir -p 'x/y' && printf 'bad' > 'a dir/added.txt' && "
	   "printf junk > 'a dir/extra'", dst);
	restore("inc4", dst, busybox, true, &rr);
	ck_assert_uint_eq(rr.deleted, 4);   /* and 'a dir' keeps its time */
	same_tree(src, dst);
	/* the full one still restores the old state: its objects are untouched */
	char *p = layout_volume_index("full", vid, 1);
	ck_assert(object_exists(p));
	free(p);
	vol_backup_result_free(&r1);
	vol_backup_result_free(&r2);
	vol_backup_result_free(&r3);
}

START_TEST(test_chain_gnu)
{
	chain(false);
}
END_TEST

START_TEST(test_chain_busybox)
{
	if (!have_busybox())
		return;
	/* as over pods/exec v4: no command sees the end of its stdin before it exits */
	local.no_half_close = true;
	chain(true);
	local.no_half_close = false;
}
END_TEST

START_TEST(test_chain_gnu_no_half_close)
{
	local.no_half_close = true;
	chain(false);
	local.no_half_close = false;
}
END_TEST

/* A tar that stops reading its input at once (here: the volume's path is a file): the
 * restore ends with its exit status and what it said, not with the broken input it left
 * behind, whichever tar, with or without the end of stdin; nothing hangs. */
static void refused_input(bool busybox)
{
	struct vol_backup_result r;
	struct vol_restore_result rr;
	char notdir[300], path[400];
	make_tree(src);
	sh("cd '%s' && for i in 1 2 3 4 5 6; do head -c 400000 /dev/urandom > f$i; done", src);
	backup("refused", NULL, busybox, &r, 0);
	snprintf(notdir, sizeof notdir, "%s/notdir", tmp);
	sh(": > '%s'", notdir);
	snprintf(path, sizeof path, "%s:/usr/bin:/bin", bbdir);
	for (int v4 = 0; v4 <= 1; v4++) {
		local.path_env = busybox ? path : NULL;
		local.no_half_close = v4;
		struct vol_restore_spec s = { .ops = &vol_local_ops, .ctx = &local, .mount_path = notdir,
					      .st = st, .key = key, .backup = "refused", .vid = vid };
		kahu_error_clear();
		int rc = vol_restore(&s, &rr);
		ck_assert_msg(rc == KAHU_EFAIL, "vol_restore (%s): %d %s", v4 ? "v4" : "v5", rc,
			      kahu_error_last());
		ck_assert_msg(strstr(kahu_error_last(), "tar -x in the volume exited with status ") &&
			      strstr(kahu_error_last(), "Not a directory"), "%s", kahu_error_last());
	}
	local.no_half_close = false;
	local.path_env = NULL;
	vol_backup_result_free(&r);
}

START_TEST(test_refused_input_gnu)
{
	refused_input(false);
}
END_TEST

START_TEST(test_refused_input_busybox)
{
	if (!have_busybox())
		return;
	refused_input(true);
}
END_TEST

/* A tree whose entries every tar creates in order (no hard links, no symlink to an
 * absolute or ".." target) is restored by one `tar -x`, directories' modes and times
 * included (also of directories that hold only directories); where stdin can be closed, tar reads it to its end without `head` (a
 * `head` that fails is first in PATH).  With hard links, only the directories holding
 * them go through a second, small one. */
static void one_pass(bool busybox)
{
	struct vol_backup_result r;
	struct vol_restore_result rr;
	struct vol_exec_ops ops = vol_local_ops;
	ops.start = counting_start;
	sh("cd '%s' && mkdir -p 'p/q/r' 'ro' 'e' 'n/m/k' 'p/only/dirs' && printf one > 'p/q/r/f' && printf two > 'p/g' && "
	   "head -c 200000 /dev/urandom > 'p/q/big' && printf three > 'ro/h' && ln -s 'q/r/f' 'p/rel' && "
	   "mkfifo 'p/fifo' && chmod 0555 ro && chmod 0750 'p/q' && "
	   "find . -type d -exec touch -d '2004-05-06 07:08:09' {} +", src);
	backup("one", NULL, busybox, &r, 0);
	sh("mkdir -p '%s/nohead' && printf '#!/bin/sh\\nexit 99\\n' > '%s/nohead/head' && chmod +x '%s/nohead/head'",
	   tmp, tmp, tmp);
	char path[900];
	if (busybox)
		snprintf(path, sizeof path, "%s/nohead:%s:/usr/bin:/bin", tmp, bbdir);
	else
		snprintf(path, sizeof path, "%s/nohead:/usr/bin:/bin", tmp);
	struct vol_restore_spec s = { .ops = &ops, .ctx = &local, .mount_path = dst, .st = st,
				      .key = key, .backup = "one", .vid = vid };
	local.path_env = path;
	started = 0;
	ck_assert_msg(vol_restore(&s, &rr) == 0, "vol_restore: %s", kahu_error_last());
	ck_assert_uint_eq(started, 1);
	same_tree(src, dst);
	vol_backup_result_free(&r);
	/* a hard link: its directory once more, in a second command */
	sh("cd '%s' && ln 'p/q/r/f' 'p/q/hl' && touch -d '2004-05-06 07:08:09' 'p/q'", src);
	sh("chmod -R u+w '%s' && rm -rf '%s' && mkdir '%s'", dst, dst, dst);
	backup("one2", NULL, busybox, &r, 0);
	s.backup = "one2";
	started = 0;
	ck_assert_msg(vol_restore(&s, &rr) == 0, "vol_restore: %s", kahu_error_last());
	ck_assert_uint_eq(started, 2);
	same_tree(src, dst);
	vol_backup_result_free(&r);
	local.path_env = NULL;
}

START_TEST(test_one_pass_gnu)
{
	one_pass(false);
}
END_TEST

START_TEST(test_one_pass_busybox)
{
	if (!have_busybox())
		return;
	one_pass(true);
}
END_TEST

START_TEST(test_cut_resumed)
{
	struct vol_backup_result r;
	struct vol_restore_result rr;
	make_tree(src);
	sh("cd '%s' && for i in 1 2 3 4 5 6 7 8; do head -c 50000 /dev/urandom > f$i; done", src);
	local = (struct vol_local){ .cut_after = 150000, .only_argv0_containing = "tar -c" };
	backup("cut", NULL, false, &r, 0);
	ck_assert_uint_eq(local.cuts, 1);
	ck_assert_uint_eq(r.retries, 1);
	restore("cut", dst, false, false, &rr);
	same_tree(src, dst);
	vol_backup_result_free(&r);
	local = (struct vol_local){ 0 };
}
END_TEST

START_TEST(test_cut_repeated_fails)
{
	struct vol_backup_result r;
	make_tree(src);
	local = (struct vol_local){ .cut_after = 100000, .cut_every = true, .only_argv0_containing = "tar -c" };
	backup("cutx", NULL, false, &r, KAHU_EIO);
	ck_assert_uint_eq(local.cuts, 4); /* the first try and 3 retries */
	ck_assert_ptr_null(r.objects);
	ck_assert_ptr_nonnull(r.reason);
	ck_assert_msg(strstr(r.reason, "volume transfer failed after 3 retries") &&
		      strstr(r.reason, "exec stream broken after 100000 bytes"), "%s", r.reason);
	/* nothing of it is left on the location */
	char *left = sh_out("find '%s' -type f -path '*cutx*'", loc);
	ck_assert_msg(left[0] == 0, "left behind: %s", left);
	free(left);
	vol_backup_result_free(&r);
	local = (struct vol_local){ 0 };
}
END_TEST

START_TEST(test_exclusions)
{
	struct vol_backup_result r;
	struct vol_restore_result rr;
	const char *ex[] = { "a dir/sub", "*.txt", NULL };
	make_tree(src);
	counting_ops = vol_local_ops;
	counting_ops.start = counting_start;
	struct vol_backup_spec s = { .ops = &counting_ops, .ctx = &local, .mount_path = src,
				     .backup = "ex", .vid = vid, .st = st, .key = key, .exclude = ex,
				     .retries = 0 };
	ck_assert_msg(vol_backup(&s, &r) == 0, "%s", kahu_error_last());
	restore("ex", dst, false, false, &rr);
	/* the excluded directory's subtree, and every .txt (also a hard link's first path) */
	sh("cd '%s' && rm -rf 'a dir/sub' 'a dir/one.txt' 'ünï cödé ✓.txt' && touch -d '2003-04-05 06:07:08' 'a dir' .", src);
	sh("test ! -e '%s/a dir/sub' && test -d '%s/a dir' && test -f '%s/hard1'", dst, dst, dst);
	same_tree(src, dst);
	vol_backup_result_free(&r);
}
END_TEST

/* A container whose tar sends what was not asked for (after a file it was asked for):
 * refused, and the segment already written is removed again. */
START_TEST(test_hostile_transfer)
{
	struct vol_backup_result r;
	char fake[400], path[900];
	make_tree(src);
	snprintf(fake, sizeof fake, "%s/fake", tmp);
	sh("mkdir -p '%s/evil/x' '%s/fake' && printf pwned > '%s/evil/x/f'", tmp, tmp, tmp);
	char script[420];
	snprintf(script, sizeof script, "%s/tar", fake);
	FILE *f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "#!/bin/sh\n/usr/bin/tar -c -f - -C '%s' './a dir/sub/rand.bin'\n"
		   "exec /usr/bin/tar -c -P -f - -C '%s/evil/x' ../x/f\n", src, tmp);
	fclose(f);
	sh("chmod +x '%s'", script);
	snprintf(path, sizeof path, "%s:%s", fake, getenv("PATH"));
	local.path_env = path;
	counting_ops = vol_local_ops;
	counting_ops.start = counting_start;
	struct vol_backup_spec s = { .ops = &counting_ops, .ctx = &local, .mount_path = src,
				     .backup = "evil", .vid = vid, .st = st, .key = key, .retries = 0,
				     .segment_bytes = 1000 /* the first segment is committed */ };
	ck_assert_int_eq(vol_backup(&s, &r), KAHU_EDATA);
	ck_assert_msg(strstr(r.reason, "volume tar: unexpected member \"../x/f\""), "%s", r.reason);
	ck_assert_ptr_null(r.objects);
	char *left = sh_out("find '%s' -type f -path '*evil*' 2>/dev/null; true", loc);
	ck_assert_msg(left[0] == 0, "left behind: %s", left);
	free(left);
	vol_backup_result_free(&r);
	local.path_env = NULL;
}
END_TEST

/* An index written by someone else, with the key (the location's writer is hostile). */
static void put_index(const char *name, const char *text)
{
	char *path = layout_volume_index(name, vid, 1);
	struct kbuf out = KBUF_INIT;
	struct seal_writer sw = { 0 };
	ck_assert_int_eq(seal_open(&sw, key, path, 3, kahu_write_to_kbuf, &out), 0);
	ck_assert_int_eq(seal_write(&sw, text, strlen(text)), 0);
	ck_assert_int_eq(seal_finish(&sw), 0);
	seal_close(&sw);
	ck_assert_int_eq(store_write_small(st, path, out.data, out.len), 0);
	kbuf_free(&out);
	free(path);
}

#define L(p, t, extra) "{\"ctime\":1,\"gid\":0,\"ino\":1,\"mode\":420,\"mtime\":1,\"nlink\":1," p ",\"size\":0," extra "\"type\":\"" t "\",\"uid\":0}\n"

static void hostile(const char *name, const char *text, const char *want)
{
	struct vol_restore_spec s = { .ops = &vol_local_ops, .ctx = &local, .mount_path = dst, .st = st,
				      .key = key, .backup = name, .vid = vid };
	struct vol_restore_result rr;
	put_index(name, text);
	int rc = vol_restore(&s, &rr);
	ck_assert_int_eq(rc, KAHU_EDATA);
	ck_assert_msg(strstr(kahu_error_last(), want), "%s: %s", name, kahu_error_last());
	char *left = sh_out("ls -A '%s'", dst);
	ck_assert_str_eq(left, "");
	free(left);
}

START_TEST(test_hostile_index)
{
	hostile("h1", L("\"path\":\"../x\"", "f", ""), "\"../x\": \"..\" component");
	hostile("h2", L("\"path\":\"/etc/x\"", "f", ""), "\"/etc/x\": absolute path");
	hostile("h3", L("\"path\":\"a\"", "l", "\"target\":\"/etc\",") L("\"path\":\"a/passwd\"", "f", ""),
		"\"a/passwd\": below a symlink");
	hostile("h4", L("\"path\":\"a//b\"", "d", ""), "empty path component");
	hostile("h5", L("\"path\":\"b\"", "h", "\"target\":\"../../etc/shadow\","),
		"a hard link to \"../../etc/shadow\"");
	hostile("h6", L("\"path\":\"b\"", "d", "") L("\"path\":\"a\"", "d", ""), "out of order");
	hostile("h7", L("\"path\":\"x\\u001b[2Jy/..\"", "d", ""), "\"x\\x1b[2Jy/..\"");
}
END_TEST

START_TEST(test_listing_parser)
{
	const char *nonce = "00112233445566aa";
	char text[] = "00112233445566aa|5|1|41ed|0|0|4096|10|11|./a\n"
		      "00112233445566aa|6|2|81a4|1|2|3|12|13|./a/b\nc|x\n"
		      "00112233445566aa|7|1|a1ff|0|0|3|12|13|./b\n"
		      "00112233445566aa|8|1|c1ff|0|0|0|12|13|./sock\n";
	FILE *f = fmemopen(text, strlen(text), "r");
	struct vol_listing l;
	struct vol_entry e = { .segment = -1 };
	vol_listing_init(&l, f, nonce);
	ck_assert_int_eq(vol_listing_next(&l, &e), 1);
	ck_assert_str_eq(e.path, "a");
	ck_assert_int_eq(e.type, VOL_T_DIR);
	ck_assert_uint_eq(e.mode, 0755);
	ck_assert_int_eq(vol_listing_next(&l, &e), 1);
	ck_assert_str_eq(e.path, "a/b\nc|x");
	ck_assert_int_eq(e.type, VOL_T_FILE);
	ck_assert_uint_eq(e.nlink, 2);
	ck_assert_uint_eq(e.uid, 1);
	ck_assert_int_eq(e.mtime, 12);
	ck_assert_int_eq(vol_listing_next(&l, &e), 1);
	ck_assert_int_eq(e.type, VOL_T_SYMLINK);
	ck_assert_int_eq(vol_listing_next(&l, &e), 0); /* the socket is not kept */
	vol_listing_free(&l);
	fclose(f);

	char bad1[] = "00112233445566aa|6|1|81a4|1|2|3|12|13|./b\n00112233445566aa|6|1|81a4|1|2|3|12|13|./a\n";
	f = fmemopen(bad1, strlen(bad1), "r");
	vol_listing_init(&l, f, nonce);
	ck_assert_int_eq(vol_listing_next(&l, &e), 1);
	ck_assert_int_eq(vol_listing_next(&l, &e), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "not sorted"));
	vol_listing_free(&l);
	fclose(f);
	char bad2[] = "ffff|6|1|81a4|1|2|3|12|13|./b\n";
	f = fmemopen(bad2, strlen(bad2), "r");
	vol_listing_init(&l, f, nonce);
	ck_assert_int_eq(vol_listing_next(&l, &e), KAHU_EDATA);
	vol_listing_free(&l);
	fclose(f);
	char bad3[] = "00112233445566aa|6|1|81a4|1|2|3|12|13|./../x\n";
	f = fmemopen(bad3, strlen(bad3), "r");
	vol_listing_init(&l, f, nonce);
	ck_assert_int_eq(vol_listing_next(&l, &e), KAHU_EDATA);
	vol_listing_free(&l);
	fclose(f);
	vol_entry_clear(&e);
}
END_TEST

START_TEST(test_index_lines)
{
	struct vol_entry e = { .segment = -1 }, back = { .segment = -1 };
	e.path = xstrdup("dir/\xff\xfe name");
	e.path_len = strlen(e.path);
	e.type = VOL_T_FILE;
	e.mode = 0644;
	e.size = 5;
	e.nlink = 1;
	memset(e.hash, 'a', 64);
	e.backup = xstrdup("b1");
	e.segment = 3;
	char *line = vol_index_format(&e);
	ck_assert_ptr_nonnull(strstr(line, "\"path_b64\""));
	ck_assert_int_eq(vol_index_parse(line, strlen(line), &back), 0);
	ck_assert_str_eq(back.path, e.path);
	ck_assert_int_eq(back.segment, 3);
	ck_assert_str_eq(back.backup, "b1");
	free(line);
	const char *bad = "{\"path\":\"a\",\"type\":\"f\",\"mode\":420,\"uid\":0,\"gid\":0,\"size\":5,"
			  "\"mtime\":1,\"ctime\":1,\"ino\":1,\"nlink\":1}";
	ck_assert_int_eq(vol_index_parse(bad, strlen(bad), &back), KAHU_EDATA); /* no content location */
	vol_entry_clear(&e);
	vol_entry_clear(&back);
	char a[VOL_ID_HEX_LEN + 1], b[VOL_ID_HEX_LEN + 1];
	vol_id(NULL, "ns1", "data", a);
	vol_id(key, "ns1", "data", b);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(layout_vid_check(a), 0);
}
END_TEST

/* Content hashes in index lines: XXH64 ("xxh64", 16 hex digits) as written now, and
 * BLAKE2b-256 ("hash", 64) kept from older indexes, each read back as it was by both
 * parsers; both in one line, or a digit count that is not its key's, refused.  The
 * hasher takes the kind of the hash it is given. */
START_TEST(test_index_content_hashes)
{
	struct vol_entry e = { .segment = -1 }, back = { .segment = -1 };
	e.path = xstrdup("f");
	e.path_len = 1;
	e.type = VOL_T_FILE;
	e.mode = 0644;
	e.size = 3;
	e.nlink = 1;
	e.backup = xstrdup("b1");
	e.segment = 1;
	struct vol_chash h;
	vol_chash_init(&h, NULL);
	vol_chash_update(&h, "abc", 3);
	vol_chash_final(&h, e.hash);
	ck_assert_str_eq(e.hash, "44bc2cf5ad770999"); /* xxhsum -H1 of "abc" */
	char *fast = vol_index_format(&e), *slow = vol_index_format_json(&e);
	ck_assert_str_eq(fast, slow);
	ck_assert_ptr_nonnull(strstr(fast, "\"xxh64\":\"44bc2cf5ad770999\"}"));
	ck_assert_ptr_null(strstr(fast, "\"hash\""));
	ck_assert_int_eq(vol_index_parse(fast, strlen(fast), &back), 0);
	ck_assert_str_eq(back.hash, e.hash);
	free(fast);
	free(slow);
	vol_entry_clear(&back);

	/* BLAKE2b-256, as older backups wrote it */
	char b2[65];
	kahu_key_hash("abc", 3, b2);
	vol_chash_init(&h, b2);
	vol_chash_update(&h, "ab", 2);
	vol_chash_update(&h, "c", 1);
	vol_chash_final(&h, e.hash);
	ck_assert_str_eq(e.hash, b2);
	fast = vol_index_format(&e);
	slow = vol_index_format_json(&e);
	ck_assert_str_eq(fast, slow);
	ck_assert_ptr_nonnull(strstr(fast, "\"hash\":\""));
	ck_assert_ptr_null(strstr(fast, "xxh64"));
	ck_assert_int_eq(vol_index_parse(fast, strlen(fast), &back), 0);
	ck_assert_str_eq(back.hash, b2);
	free(fast);
	free(slow);
	vol_entry_clear(&back);
	vol_chash_init(&h, b2); /* dropped unfinished: nothing leaks (ASan) */
	vol_chash_drop(&h);

	static const char *const bad[] = {
		"{\"backup\":\"b1\",\"ctime\":0,\"gid\":0,\"hash\":\"" "44bc2cf5ad770999" "\",\"ino\":0,"
		"\"mode\":420,\"mtime\":0,\"nlink\":1,\"path\":\"f\",\"segment\":1,\"size\":3,"
		"\"type\":\"f\",\"uid\":0}",
		"{\"backup\":\"b1\",\"ctime\":0,\"gid\":0,\"ino\":0,\"mode\":420,\"mtime\":0,"
		"\"nlink\":1,\"path\":\"f\",\"segment\":1,\"size\":3,\"type\":\"f\",\"uid\":0,"
		"\"xxh64\":\"44BC2CF5AD770999\"}",
		"{\"backup\":\"b1\",\"ctime\":0,\"gid\":0,\"ino\":0,\"mode\":420,\"mtime\":0,"
		"\"nlink\":1,\"path\":\"f\",\"segment\":1,\"size\":3,\"type\":\"f\",\"uid\":0,"
		"\"xxh64\":\"44bc2cf5ad77099\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(vol_index_parse(bad[i], strlen(bad[i]), &back), KAHU_EDATA);
		ck_assert_ptr_nonnull(strstr(kahu_error_last(), "a bad hash"));
	}
	char *both = xasprintf("{\"backup\":\"b1\",\"ctime\":0,\"gid\":0,\"hash\":\"%s\",\"ino\":0,"
			       "\"mode\":420,\"mtime\":0,\"nlink\":1,\"path\":\"f\",\"segment\":1,"
			       "\"size\":3,\"type\":\"f\",\"uid\":0,\"xxh64\":\"44bc2cf5ad770999\"}", b2);
	ck_assert_int_eq(vol_index_parse(both, strlen(both), &back), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "two content hashes"));
	free(both);
	vol_entry_clear(&e);
}
END_TEST

START_TEST(test_catalog)
{
	struct vol_cat_entry e = { .vid = vid, .namespace_ = "ns1", .pvc = "data", .method = "exec",
				   .status = "Completed", .counts = { .files = 3, .bytes_stored = 99 },
				   .segments = 2 };
	json_t *lines = json_array(), *objects = json_array(), *back = NULL;
	json_array_append_new(lines, vol_cat_entry_json(&e));
	ck_assert_int_eq(vol_cat_write(st, key, "cat1", 3, lines, objects), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(objects, 0), "path")),
			 "volumes.jsonl.zst.kenc");
	ck_assert_int_eq(vol_cat_read(st, key, "cat1", &back), 0);
	json_t *l = vol_cat_find(back, "ns1", "data");
	ck_assert_ptr_nonnull(l);
	struct vol_cat_entry r;
	ck_assert_int_eq(vol_cat_entry_from_json(l, &r), 0);
	ck_assert_uint_eq(r.counts.files, 3);
	ck_assert_uint_eq(r.segments, 2);
	ck_assert_ptr_null(vol_cat_find(back, "ns1", "other"));
	json_t *none = NULL;
	ck_assert_int_eq(vol_cat_read(st, key, "nope", &none), KAHU_ENOTFOUND);
	json_decref(lines);
	json_decref(objects);
	json_decref(back);
}
END_TEST

/* A 4 GiB volume (two sparse 2 GiB files with data here and there): ingested in
 * constant memory, restored byte for byte (holes become zeros). */
START_TEST(test_big_sparse)
{
	struct vol_backup_result r;
	struct vol_restore_result rr;
	struct rusage ru;
	sh("cd '%s' && truncate -s 2G sparse1 sparse2 && printf start | dd of=sparse1 conv=notrunc status=none && "
	   "head -c 100000 /dev/urandom | dd of=sparse1 bs=1M seek=1000 conv=notrunc status=none && "
	   "printf end | dd of=sparse2 bs=1 seek=2147483645 conv=notrunc status=none", src);
	counting_ops = vol_local_ops;
	counting_ops.start = counting_start;
	struct vol_backup_spec s = { .ops = &counting_ops, .ctx = &local, .mount_path = src,
				     .backup = "big", .vid = vid, .st = st, .key = key, .retries = 0 };
	ck_assert_msg(vol_backup(&s, &r) == 0, "%s", kahu_error_last());
	getrusage(RUSAGE_SELF, &ru);
	fprintf(stderr, "# 4 GiB ingest: peak RSS %ld KiB, %llu bytes stored\n", ru.ru_maxrss,
		(unsigned long long)r.counts.bytes_stored);
	ck_assert_int_lt(ru.ru_maxrss, 64 * 1024);
	ck_assert_uint_eq(r.counts.bytes_transferred, (uint64_t)4 << 30);
	restore("big", dst, false, false, &rr);
	char *a = sh_out("cd '%s' && sha256sum sparse1 sparse2", src);
	char *b = sh_out("cd '%s' && sha256sum sparse1 sparse2", dst);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	vol_backup_result_free(&r);
}
END_TEST

static Suite *voldata_suite(void)
{
	Suite *s = suite_create("voldata");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, test_listing_parser);
	tcase_add_test(tc, test_index_lines);
	tcase_add_test(tc, test_index_content_hashes);
	tcase_add_test(tc, test_catalog);
	tcase_add_test(tc, test_round_trip_gnu);
	tcase_add_test(tc, test_round_trip_busybox);
	tcase_add_test(tc, test_chain_gnu);
	tcase_add_test(tc, test_chain_busybox);
	tcase_add_test(tc, test_chain_gnu_no_half_close);
	tcase_add_test(tc, test_one_pass_gnu);
	tcase_add_test(tc, test_one_pass_busybox);
	tcase_add_test(tc, test_refused_input_gnu);
	tcase_add_test(tc, test_refused_input_busybox);
	tcase_add_test(tc, test_cut_resumed);
	tcase_add_test(tc, test_cut_repeated_fails);
	tcase_add_test(tc, test_hostile_index);
	tcase_add_test(tc, test_exclusions);
	tcase_add_test(tc, test_hostile_transfer);
	/* Not under the sanitizers: their shadow memory and quarantine are not kahu's RSS,
	 * and 8 GiB through them takes long. */
#if defined(__SANITIZE_ADDRESS__)
	bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	bool sanitized = true;
#else
	bool sanitized = false;
#endif
#else
	bool sanitized = false;
#endif
	if (!getenv("KAHU_TEST_SKIP_BIG") && !sanitized)
		tcase_add_test(tc, test_big_sparse);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(voldata_suite)

/* kahu — fuzz target: reading bundles (tar -> zstd -> envelope, src/archive/bundle_read.c
 * and bundle_extract.c), as `kahu backup download --extract` and restore do.
 *
 * The first byte of the input says what the rest is:
 *   'z'   the stored object itself, an unencrypted bundle (a zstd stream): read only,
 *         member by member (a tiny zstd frame can expand to a lot of data);
 *   'e'   a tar archive, which the target compresses and encrypts with the fixed fuzz
 *         key, then extracts;
 *   else  a tar archive, which the target compresses, then extracts.
 * So the fuzzer works on the tar itself and the reader always sees valid zstd frames
 * and authentic envelopes around it.
 *
 * Extraction goes into a fresh directory x/ under a private temporary directory, which
 * also holds a file and an empty directory outside/; for inputs of odd length x/ holds a
 * symbolic link resources -> ../outside beforehand.  Afterwards nothing but x/ may have
 * changed, x/ may hold only directories (0700) and regular files (0600) besides that
 * link, and everything extracted is wiped. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "archive/bundle.h"
#include "archive/envelope.h"
#include "archive/key.h"
#include "util/buf.h"
#include "util/err.h"

#define FUZZ_PATH "backups/fixture/metadata.tar.zst.kenc"

static struct kahu_key *key;
static char base[64];
static char xdir[96], outside[96], sentinel[96];

static int rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
	if (base[0])
		rm_tree(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t bytes[KAHU_KEY_BYTES] = FUZZ_KEY_INIT;
	(void)argc;
	(void)argv;
	if (kahu_key_from_bytes(bytes, &key) < 0)
		abort();
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof base, "%s/kahu-fuzz-extract.XXXXXX", tmp && strlen(tmp) < 30 ? tmp : "/tmp");
	if (!mkdtemp(base))
		abort();
	atexit(cleanup);
	snprintf(xdir, sizeof xdir, "%s/x", base);
	snprintf(outside, sizeof outside, "%s/outside", base);
	snprintf(sentinel, sizeof sentinel, "%s/sentinel", base);
	FILE *f = fopen(sentinel, "w");
	if (!f || fputs("sentinel\n", f) < 0 || fclose(f) != 0)
		abort();
	if (mkdir(outside, 0700) < 0)
		abort();
	return 0;
}

/* The stored object, handed out in pieces of varying size. */
struct source {
	const uint8_t *p;
	size_t len, off, step;
	unsigned i;
};

static int source_cb(void *ud, void *buf, size_t cap, size_t *got)
{
	struct source *s = ud;
	size_t n = s->step + (s->i++ % 3) * 4093;
	if (n > cap)
		n = cap;
	if (n > s->len - s->off)
		n = s->len - s->off;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	*got = n;
	return 0;
}

static int append_cb(void *ud, const void *buf, size_t len)
{
	kbuf_add(ud, buf, len);
	return 0;
}

/* The documented refusals, and KAHU_EIO for what the file system refuses (a name
 * component longer than it allows). */
static int known_code(int rc)
{
	return rc == KAHU_EDATA || rc == KAHU_ECRYPTO || rc == KAHU_EEXIST || rc == KAHU_EPERM ||
	       rc == KAHU_EIO;
}

/* Read member by member, as restore does. */
static void read_members(const uint8_t *obj, size_t len, const struct kahu_key *k)
{
	struct source s = { .p = obj, .len = len, .step = 1 + len % 4099 };
	struct bundle_reader *r = NULL;
	struct bundle_entry e;
	struct kbuf data = KBUF_INIT;
	int rc;

	FUZZ_CHECK(bundle_reader_new(k, FUZZ_PATH, source_cb, &s, &r) == 0);
	while ((rc = bundle_next(r, &e)) > 0) {
		FUZZ_CHECK(e.name != NULL);
		FUZZ_CHECK((e.type == BUNDLE_SYMLINK || e.type == BUNDLE_HARDLINK) == (e.link_target != NULL));
		kbuf_reset(&data);
		if (bundle_read_all(r, &data, 1 << 20) < 0)
			break;
	}
	int fin = bundle_reader_finish(r);
	FUZZ_CHECK(fin <= 0);
	if (fin < 0)
		FUZZ_CHECK(known_code(fin));
	FUZZ_CHECK(bundle_reader_finish(r) == fin);
	FUZZ_CHECK(bundle_reader_stored_bytes(r) <= len);
	kbuf_free(&data);
	bundle_reader_free(r);
}

/* What is in x/ after extracting: only our kinds of files, with our modes. */
static int check_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (!strcmp(path, xdir))
		return 0;
	if (type == FTW_SL) {
		/* only the link we made */
		char want[128];
		snprintf(want, sizeof want, "%s/resources", xdir);
		FUZZ_CHECK(!strcmp(path, want));
		return 0;
	}
	if (type == FTW_D || type == FTW_DP) {
		FUZZ_CHECK((sb->st_mode & 07777) == 0700);
		return 0;
	}
	FUZZ_CHECK(type == FTW_F && S_ISREG(sb->st_mode));
	FUZZ_CHECK((sb->st_mode & 07777) == 0600);
	return 0;
}

static void check_outside_untouched(void)
{
	DIR *d = opendir(base);
	struct dirent *de;
	FUZZ_CHECK(d != NULL);
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		FUZZ_CHECK(!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "x") ||
			   !strcmp(n, "outside") || !strcmp(n, "sentinel"));
	}
	closedir(d);
	d = opendir(outside);
	FUZZ_CHECK(d != NULL);
	while ((de = readdir(d)))
		FUZZ_CHECK(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."));
	closedir(d);
	struct stat st;
	FUZZ_CHECK(stat(sentinel, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 9);
}

static void extract(const uint8_t *obj, size_t len, const struct kahu_key *k, int with_link)
{
	struct source s = { .p = obj, .len = len, .step = 1 + len % 5003 };
	struct bundle_reader *r = NULL;
	struct bundle_extract_stats st;

	rm_tree(xdir);
	if (with_link) {
		FUZZ_CHECK(mkdir(xdir, 0700) == 0);
		char link[128];
		snprintf(link, sizeof link, "%s/resources", xdir);
		FUZZ_CHECK(symlink("../outside", link) == 0);
	}
	FUZZ_CHECK(bundle_reader_new(k, FUZZ_PATH, source_cb, &s, &r) == 0);
	int rc = bundle_extract(r, xdir, &st);
	if (rc < 0 && !known_code(rc)) {
		fprintf(stderr, "unexpected error %d: %s\n", rc, kahu_error_last());
		FUZZ_CHECK(0);
	}
	bundle_reader_free(r);
	check_outside_untouched();
	FUZZ_CHECK(nftw(xdir, check_cb, 16, FTW_PHYS) == 0);
	rm_tree(xdir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *tar = data + 1;
	size_t tlen = size - 1;

	if (mode == 'z') {
		read_members(tar, tlen, NULL);
		return 0;
	}
	size_t cap = ZSTD_compressBound(tlen);
	uint8_t *z = malloc(cap ? cap : 1);
	FUZZ_CHECK(z != NULL);
	size_t zlen = ZSTD_compress(z, cap, tar, tlen, 1);
	FUZZ_CHECK(!ZSTD_isError(zlen));
	const uint8_t *obj = z;
	size_t olen = zlen;
	const struct kahu_key *k = NULL;
	struct kbuf enc = KBUF_INIT;
	if (mode == 'e') {
		struct kenc_writer *w = NULL;
		FUZZ_CHECK(kenc_writer_new(key, FUZZ_PATH, append_cb, &enc, &w) == 0);
		FUZZ_CHECK(kenc_write(w, z, zlen) == 0 && kenc_writer_finish(w) == 0);
		kenc_writer_free(w);
		obj = (const uint8_t *)enc.data;
		olen = enc.len;
		k = key;
	}
	read_members(obj, olen, k);
	extract(obj, olen, k, size % 2);
	kbuf_free(&enc);
	free(z);
	return 0;
}

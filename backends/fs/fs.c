/* kahu — the `fs` storage provider: a local or NFS-mounted directory.
 *
 * Written only against <kahu/backend.h> and POSIX, so the same source builds as the
 * loadable module kahu-fs.so (entry kahu_backend_init) and, with -DKAHU_BACKEND_STATIC,
 * into kahu itself (entry kahu_backend_fs_init).
 *
 * Layout: key "a/b/c" is the file <path>/a/b/c.  A put writes <dir>/.<name>.tmp.<rand>
 * next to the final file, fsyncs it, renames (or, for KAHU_PUT_EXCLUSIVE, links) it
 * into place and fsyncs the directory, so a reader sees either nothing or the whole
 * object, also after a crash.  Files are 0600, directories we create 0700, whatever
 * the umask.  Names starting with '.' are never listed: kahu's keys never have them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <kahu/backend.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define FS_VERSION "1.0.0"
#define FS_READ_CHUNK (64 * 1024)
#define FS_LIST_DEPTH_MAX 64

struct kahu_backend_handle {
	const struct kahu_host *host;
	char *root;            /* no trailing '/' */
	char err[1024];
	unsigned int nput;     /* open put streams, to warn about leaks on close */
};

struct kahu_backend_put {
	struct kahu_backend_handle *h;
	int fd;
	unsigned int flags;
	char *key;
	char *tmp;             /* full path of the temporary file */
	char *final;           /* full path of the destination */
	char *dir;             /* its directory */
};

static int fs_seterr(struct kahu_backend_handle *h, int rc, const char *fmt, ...)
	KAHU_BACKEND_PRINTF(3, 4);

static int fs_seterr(struct kahu_backend_handle *h, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->err, sizeof h->err, fmt, ap);
	va_end(ap);
	return rc;
}

/* Map an errno to a provider code. */
static int fs_rc(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return KAHU_BACKEND_ENOTFOUND;
	case EACCES:
	case EPERM:
		return KAHU_BACKEND_EAUTH;
	case ENOSPC:
#ifdef EDQUOT
	case EDQUOT:
#endif
		return KAHU_BACKEND_ENOSPACE;
	case EEXIST:
		return KAHU_BACKEND_EEXISTS;
	case EINTR:
	case EAGAIN:
#ifdef ESTALE
	case ESTALE:
#endif
	case ETIMEDOUT:
		return KAHU_BACKEND_ETRANSIENT;
	default:
		return KAHU_BACKEND_EPERMANENT;
	}
}

/* A message for an errno, with a clearer word for the ones users act on. */
static const char *fs_strerror(int e)
{
	switch (e) {
	case ENOSPC:
		return "no space left on device";
#ifdef EDQUOT
	case EDQUOT:
		return "disk quota exceeded";
#endif
	case EACCES:
	case EPERM:
		return "permission denied";
	default:
		return strerror(e);
	}
}

static int fs_errno(struct kahu_backend_handle *h, int e, const char *what, const char *path)
{
	return fs_seterr(h, fs_rc(e), "%s %s: %s", what, path, fs_strerror(e));
}

static char *fs_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static char *fs_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + 1 + lb + 1);
	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

/* kahu validates keys; this is a second line of defence against leaving the root. */
static int fs_key_ok(struct kahu_backend_handle *h, const char *key, int allow_empty)
{
	if (!key || (!*key && !allow_empty) || key[0] == '/')
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "invalid key \"%s\"", key ? key : "");
	for (const char *c = key; *c; ) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		if (n == 0 && end)
			return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "invalid key \"%s\"", key);
		if (n > 0 && c[0] == '.')
			return fs_seterr(h, KAHU_BACKEND_EPERMANENT,
					 "invalid key \"%s\": component starts with '.'", key);
		c = end ? end + 1 : c + n;
	}
	return KAHU_BACKEND_OK;
}

/* mkdir -p for the directories we create: 0700 whatever the umask.  Existing
 * directories keep their mode (the root may be a directory the user made). */
static int fs_mkdirs(struct kahu_backend_handle *h, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return KAHU_BACKEND_OK;
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "%s exists and is not a directory", path);
	}
	if (errno != ENOENT)
		return fs_errno(h, errno, "cannot access", path);

	char *copy = fs_strdup(path);
	if (!copy)
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	char *slash = strrchr(copy, '/');
	int rc = KAHU_BACKEND_OK;
	if (slash && slash != copy) {
		*slash = '\0';
		rc = fs_mkdirs(h, copy);
	}
	free(copy);
	if (rc < 0)
		return rc;
	if (mkdir(path, 0700) < 0) {
		if (errno == EEXIST)  /* a concurrent put made it */
			return KAHU_BACKEND_OK;
		return fs_errno(h, errno, "cannot create directory", path);
	}
	if (chmod(path, 0700) < 0)
		return fs_errno(h, errno, "cannot set the mode of", path);
	return KAHU_BACKEND_OK;
}

static int fs_fsync_dir(struct kahu_backend_handle *h, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fs_errno(h, errno, "cannot open directory", dir);
	/* Some filesystems (and NFS servers) refuse fsync on a directory: nothing more
	 * can be done there, so EINVAL is not an error. */
	if (fsync(fd) < 0 && errno != EINVAL && errno != EROFS) {
		int e = errno;
		close(fd);
		return fs_errno(h, e, "cannot sync directory", dir);
	}
	close(fd);
	return KAHU_BACKEND_OK;
}

static void fs_random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16];
	size_t want = n / 2 < sizeof raw ? n / 2 : sizeof raw;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, raw, want) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)want) {
		/* Uniqueness, not secrecy, is what matters: O_EXCL catches collisions. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned long x = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16) ^
				  (unsigned long)rand();
		for (size_t i = 0; i < want; i++, x = x * 6364136223846793005UL + 1442695040888963407UL)
			raw[i] = (unsigned char)(x >> 33);
	}
	for (size_t i = 0; i < want; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * want] = '\0';
}

/* ---- lifecycle ---- */

static const struct kahu_backend_option fs_options[] = {
	{ "path", "directory that holds the location (created on first write, mode 0700)",
	  KAHU_BACKEND_OPT_REQUIRED },
	{ NULL, NULL, 0 },
};

static int fs_open(const struct kahu_host *host, const struct kahu_backend_kv *config,
		   size_t nconfig, struct kahu_backend_handle **out, char *errbuf,
		   size_t errbuf_len)
{
	const char *path = NULL;
	*out = NULL;
	for (size_t i = 0; i < nconfig; i++) {
		if (strcmp(config[i].key, "path") == 0) {
			path = config[i].value;
		} else {
			snprintf(errbuf, errbuf_len, "unknown configuration key \"%s\"", config[i].key);
			return KAHU_BACKEND_ECONFIG;
		}
	}
	if (!path || !*path) {
		snprintf(errbuf, errbuf_len, "the configuration key \"path\" is required");
		return KAHU_BACKEND_ECONFIG;
	}
	if (path[0] != '/') {
		snprintf(errbuf, errbuf_len, "path \"%s\" is not absolute", path);
		return KAHU_BACKEND_ECONFIG;
	}

	struct kahu_backend_handle *h = calloc(1, sizeof *h);
	if (!h || !(h->root = fs_strdup(path))) {
		free(h);
		snprintf(errbuf, errbuf_len, "out of memory");
		return KAHU_BACKEND_EPERMANENT;
	}
	size_t n = strlen(h->root);
	while (n > 1 && h->root[n - 1] == '/')
		h->root[--n] = '\0';
	/* A location that does not exist yet is made by the first write; one that is a
	 * file (or lies below one) would list as empty and refuse every write later. */
	struct stat st;
	if ((stat(h->root, &st) == 0 && !S_ISDIR(st.st_mode)) ||
	    (stat(h->root, &st) < 0 && errno == ENOTDIR)) {
		snprintf(errbuf, errbuf_len, "path \"%s\" is not a directory", h->root);
		free(h->root);
		free(h);
		return KAHU_BACKEND_ECONFIG;
	}
	h->host = host;
	*out = h;
	return KAHU_BACKEND_OK;
}

static void fs_close(struct kahu_backend_handle *h)
{
	if (!h)
		return;
	if (h->nput && h->host && h->host->log)
		h->host->log(h->host, KAHU_BACKEND_LOG_WARN,
			     "fs: %u put stream(s) still open at close; their temporary files remain",
			     h->nput);
	free(h->root);
	free(h);
}

static const char *fs_errmsg(struct kahu_backend_handle *h)
{
	return h ? h->err : "";
}

/* ---- put ---- */

static void fs_put_free(struct kahu_backend_put *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	p->h->nput--;
	free(p->key);
	free(p->tmp);
	free(p->final);
	free(p->dir);
	free(p);
}

static int fs_put_begin(struct kahu_backend_handle *h, const char *key, unsigned int flags,
			uint64_t size_hint, struct kahu_backend_put **out)
{
	int rc;
	*out = NULL;
	if ((rc = fs_key_ok(h, key, 0)) < 0)
		return rc;
	if (flags & ~KAHU_PUT_EXCLUSIVE)
		return fs_seterr(h, KAHU_BACKEND_EUNSUPPORTED, "unsupported put flags 0x%x", flags);

	struct kahu_backend_put *p = calloc(1, sizeof *p);
	if (!p)
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	p->h = h;
	p->fd = -1;
	p->flags = flags;
	h->nput++;
	p->key = fs_strdup(key);
	p->final = fs_join(h->root, key);
	if (!p->key || !p->final) {
		fs_put_free(p);
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	}
	p->dir = fs_strdup(p->final);
	char *slash = p->dir ? strrchr(p->dir, '/') : NULL;
	if (!slash) {
		fs_put_free(p);
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	}
	const char *base = p->final + (slash - p->dir) + 1;
	*slash = '\0';

	if ((rc = fs_mkdirs(h, p->dir)) < 0) {
		fs_put_free(p);
		return rc;
	}
	if ((flags & KAHU_PUT_EXCLUSIVE) && access(p->final, F_OK) == 0) {
		fs_put_free(p);
		return fs_seterr(h, KAHU_BACKEND_EEXISTS, "%s already exists", key);
	}

	size_t tlen = strlen(p->dir) + strlen(base) + 32;
	p->tmp = malloc(tlen);
	if (!p->tmp) {
		fs_put_free(p);
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	}
	for (int attempt = 0; attempt < 16; attempt++) {
		char rnd[17];
		fs_random_hex(rnd, 16);
		/* the base name is cut so that a long key stays under NAME_MAX */
		snprintf(p->tmp, tlen, "%s/.%.200s.tmp.%s", p->dir, base, rnd);
		p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (p->fd >= 0 || errno != EEXIST)
			break;
	}
	if (p->fd < 0) {
		rc = fs_errno(h, errno, "cannot create a temporary file in", p->dir);
		fs_put_free(p);
		return rc;
	}
	/* The umask may have removed bits from 0600; set the mode we promise. */
	if (fchmod(p->fd, 0600) < 0) {
		rc = fs_errno(h, errno, "cannot set the mode of", p->tmp);
		unlink(p->tmp);
		fs_put_free(p);
		return rc;
	}
	(void)size_hint;
	*out = p;
	return KAHU_BACKEND_OK;
}

static int fs_put_write(struct kahu_backend_put *p, const void *buf, size_t len)
{
	const char *c = buf;
	if (p->fd < 0)
		return fs_seterr(p->h, KAHU_BACKEND_EPERMANENT, "write to a failed put stream");
	while (len > 0) {
		ssize_t n = write(p->fd, c, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			return fs_seterr(p->h, fs_rc(e), "cannot write %s under %s: %s", p->key,
					 p->h->root, fs_strerror(e));
		}
		c += n;
		len -= (size_t)n;
	}
	return KAHU_BACKEND_OK;
}

static void fs_put_abort(struct kahu_backend_put *p)
{
	if (!p)
		return;
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	if (p->tmp)
		unlink(p->tmp);
	fs_put_free(p);
}

static int fs_put_commit(struct kahu_backend_put *p)
{
	struct kahu_backend_handle *h = p->h;
	int rc, e;

	if (p->fd < 0) {
		rc = fs_seterr(h, KAHU_BACKEND_EPERMANENT, "commit of a failed put stream");
		goto fail;
	}
	/* Data first, name second: a crash never leaves a named but empty file. */
	if (fsync(p->fd) < 0) {
		e = errno;
		rc = fs_seterr(h, fs_rc(e), "cannot sync %s under %s: %s", p->key, h->root,
			       fs_strerror(e));
		goto fail;
	}
	rc = close(p->fd);
	p->fd = -1;
	if (rc < 0) {  /* NFS reports deferred write errors here */
		e = errno;
		rc = fs_seterr(h, fs_rc(e), "cannot write %s under %s: %s", p->key, h->root,
			       fs_strerror(e));
		goto fail;
	}
	if (p->flags & KAHU_PUT_EXCLUSIVE) {
		/* link() fails with EEXIST instead of replacing: create-if-absent. */
		if (link(p->tmp, p->final) < 0) {
			e = errno;
			if (e == EEXIST)
				rc = fs_seterr(h, KAHU_BACKEND_EEXISTS, "%s already exists", p->key);
			else
				rc = fs_errno(h, e, "cannot create", p->final);
			goto fail;
		}
		unlink(p->tmp);
	} else if (rename(p->tmp, p->final) < 0) {
		rc = fs_errno(h, errno, "cannot rename into place", p->final);
		goto fail;
	}
	rc = fs_fsync_dir(h, p->dir);
	fs_put_free(p);
	return rc;
fail:
	fs_put_abort(p);
	return rc;
}

/* ---- get / stat / remove ---- */

static int fs_get(struct kahu_backend_handle *h, const char *key, uint64_t offset,
		  uint64_t length, kahu_backend_write_fn sink, void *ud)
{
	int rc;
	if ((rc = fs_key_ok(h, key, 0)) < 0)
		return rc;
	char *path = fs_join(h->root, key);
	if (!path)
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	char *buf = NULL;
	/* O_NONBLOCK: a FIFO planted under the key must not stall the open (refused
	 * below as not a file); reads of a regular file ignore the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = errno == ENOENT || errno == ENOTDIR
			     ? fs_seterr(h, KAHU_BACKEND_ENOTFOUND, "%s not found under %s", key, h->root)
			     : fs_errno(h, errno, "cannot open", path);
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = fs_errno(h, errno, "cannot stat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = fs_seterr(h, KAHU_BACKEND_ENOTFOUND, "%s under %s is not a file", key, h->root);
		goto out;
	}
	buf = malloc(FS_READ_CHUNK);
	if (!buf) {
		rc = fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
		goto out;
	}
	uint64_t left = length == KAHU_BACKEND_TO_END ? UINT64_MAX : length;
	off_t pos = (off_t)offset;
	if (offset > (uint64_t)INT64_MAX)
		left = 0;
	while (left > 0) {
		size_t want = left < FS_READ_CHUNK ? (size_t)left : FS_READ_CHUNK;
		ssize_t n = pread(fd, buf, want, pos);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = fs_errno(h, errno, "cannot read", path);
			goto out;
		}
		if (n == 0)
			break;
		if (sink(ud, buf, (size_t)n) != 0) {
			rc = fs_seterr(h, KAHU_BACKEND_ECALLBACK, "reading %s stopped by the caller", key);
			goto out;
		}
		pos += n;
		left -= (uint64_t)n;
	}
	rc = KAHU_BACKEND_OK;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

static void fs_fill_stat(const struct stat *st, struct kahu_backend_stat *out)
{
	memset(out, 0, sizeof *out);
	out->size = (uint64_t)st->st_size;
	out->mtime = (int64_t)st->st_mtime;
}

static int fs_stat(struct kahu_backend_handle *h, const char *key, struct kahu_backend_stat *out)
{
	int rc;
	if ((rc = fs_key_ok(h, key, 0)) < 0)
		return rc;
	char *path = fs_join(h->root, key);
	if (!path)
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	struct stat st;
	if (stat(path, &st) < 0)
		rc = errno == ENOENT || errno == ENOTDIR
			     ? fs_seterr(h, KAHU_BACKEND_ENOTFOUND, "%s not found under %s", key, h->root)
			     : fs_errno(h, errno, "cannot stat", path);
	else if (!S_ISREG(st.st_mode))
		rc = fs_seterr(h, KAHU_BACKEND_ENOTFOUND, "%s under %s is not a file", key, h->root);
	else
		fs_fill_stat(&st, out);
	free(path);
	return rc;
}

static int fs_remove(struct kahu_backend_handle *h, const char *key)
{
	int rc;
	if ((rc = fs_key_ok(h, key, 0)) < 0)
		return rc;
	char *path = fs_join(h->root, key);
	if (!path)
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	if (unlink(path) < 0) {
		rc = errno == ENOENT || errno == ENOTDIR
			     ? fs_seterr(h, KAHU_BACKEND_ENOTFOUND, "%s not found under %s", key, h->root)
			     : fs_errno(h, errno, "cannot remove", path);
	} else {
		char *slash = strrchr(path, '/');
		*slash = '\0';
		rc = fs_fsync_dir(h, path);
	}
	free(path);
	return rc;
}

/* ---- list ---- */

struct fs_ent {
	char *name;
	int is_dir;
	struct stat st;
};

/* Directory names carry a trailing '/' while sorting, so that a depth-first walk yields
 * keys in byte-wise order ("a.txt" < "a/b" because '.' < '/'), like S3 listings. */
static int fs_ent_cmp(const void *a, const void *b)
{
	const struct fs_ent *x = a, *y = b;
	return strcmp(x->name, y->name);
}

struct fs_walk {
	struct kahu_backend_handle *h;
	const char *prefix;
	size_t plen;
	kahu_backend_list_fn cb;
	void *ud;
	char key[KAHU_BACKEND_KEY_MAX + 2];
};

/* Does any key under the directory key `dk` (with trailing '/') match the prefix? */
static int fs_dir_may_match(const struct fs_walk *w, const char *dk, size_t dlen)
{
	size_t n = dlen < w->plen ? dlen : w->plen;
	return strncmp(dk, w->prefix, n) == 0;
}

static int fs_walk_dir(struct fs_walk *w, int dfd, size_t klen, int depth)
{
	struct fs_ent *ents = NULL;
	size_t n = 0, cap = 0;
	int rc = KAHU_BACKEND_OK;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return fs_errno(w->h, errno, "cannot read directory under", w->h->root);
	}
	if (depth > FS_LIST_DEPTH_MAX) {
		closedir(d);
		return fs_seterr(w->h, KAHU_BACKEND_EPERMANENT, "directories nested too deep under %s",
				 w->h->root);
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				rc = fs_errno(w->h, errno, "cannot read directory under", w->h->root);
				goto out;
			}
			break;
		}
		if (de->d_name[0] == '.')  /* ".", "..", temporaries, foreign dotfiles */
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)  /* removed meanwhile */
				continue;
			rc = fs_errno(w->h, errno, "cannot stat", de->d_name);
			goto out;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;  /* symlinks, sockets …: not ours */
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			struct fs_ent *ne = realloc(ents, cap * sizeof *ents);
			if (!ne) {
				rc = fs_seterr(w->h, KAHU_BACKEND_EPERMANENT, "out of memory");
				goto out;
			}
			ents = ne;
		}
		size_t dl = strlen(de->d_name);
		ents[n].name = malloc(dl + 2);
		if (!ents[n].name) {
			rc = fs_seterr(w->h, KAHU_BACKEND_EPERMANENT, "out of memory");
			goto out;
		}
		ents[n].is_dir = S_ISDIR(st.st_mode);
		memcpy(ents[n].name, de->d_name, dl);
		ents[n].name[dl] = '/';
		ents[n].name[dl + ents[n].is_dir] = '\0';
		ents[n].st = st;
		n++;
	}
	if (n)
		qsort(ents, n, sizeof *ents, fs_ent_cmp);

	for (size_t i = 0; i < n && rc == KAHU_BACKEND_OK; i++) {
		size_t nl = strlen(ents[i].name);  /* with the '/' of a directory */
		if (klen + nl > KAHU_BACKEND_KEY_MAX)
			continue;  /* cannot be a kahu key */
		memcpy(w->key + klen, ents[i].name, nl + 1);
		if (ents[i].is_dir) {
			if (!fs_dir_may_match(w, w->key, klen + nl))
				continue;
			ents[i].name[nl - 1] = '\0';
			int sub = openat(dirfd(d), ents[i].name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				if (errno == ENOENT)
					continue;
				rc = fs_errno(w->h, errno, "cannot open directory", w->key);
				break;
			}
			rc = fs_walk_dir(w, sub, klen + nl, depth + 1);
		} else if (strncmp(w->key, w->prefix, w->plen) == 0) {
			struct kahu_backend_stat bst;
			fs_fill_stat(&ents[i].st, &bst);
			if (w->cb(w->ud, w->key, &bst) != 0)
				rc = fs_seterr(w->h, KAHU_BACKEND_ECALLBACK, "listing stopped by the caller");
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	closedir(d);
	return rc;
}

static int fs_list(struct kahu_backend_handle *h, const char *prefix, kahu_backend_list_fn cb,
		   void *ud)
{
	struct fs_walk *w = calloc(1, sizeof *w);
	if (!w)
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	w->h = h;
	w->prefix = prefix ? prefix : "";
	w->plen = strlen(w->prefix);
	w->cb = cb;
	w->ud = ud;

	/* Start at the deepest directory the prefix names, not at the root. */
	int rc = KAHU_BACKEND_OK;
	const char *slash = strrchr(w->prefix, '/');
	size_t dlen = slash ? (size_t)(slash - w->prefix) + 1 : 0;
	if (dlen > KAHU_BACKEND_KEY_MAX) {
		free(w);
		return KAHU_BACKEND_OK;
	}
	memcpy(w->key, w->prefix, dlen);
	w->key[dlen] = '\0';
	char *start;
	if (dlen) {
		w->key[dlen - 1] = '\0';  /* "a/b/" -> "a/b" to check and join */
		if ((rc = fs_key_ok(h, w->key, 0)) < 0) {
			free(w);
			return rc;
		}
		start = fs_join(h->root, w->key);
		w->key[dlen - 1] = '/';
	} else {
		start = fs_strdup(h->root);
	}
	if (!start) {
		free(w);
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	}
	int dfd = open(start, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		/* An empty or not yet created location lists nothing. */
		if (errno != ENOENT && errno != ENOTDIR)
			rc = fs_errno(h, errno, "cannot open directory", start);
	} else {
		rc = fs_walk_dir(w, dfd, dlen, 0);
	}
	free(start);
	free(w);
	return rc;
}

/* ---- probe ---- */

static int fs_probe(struct kahu_backend_handle *h)
{
	int rc;
	if ((rc = fs_mkdirs(h, h->root)) < 0)
		return rc;
	char rnd[17], *tmp;
	fs_random_hex(rnd, 16);
	tmp = malloc(strlen(h->root) + 40);
	if (!tmp)
		return fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
	sprintf(tmp, "%s/.probe.tmp.%s", h->root, rnd);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = fs_errno(h, errno, "cannot write in", h->root);
	} else {
		if (write(fd, "kahu", 4) != 4 || fsync(fd) < 0)
			rc = fs_errno(h, errno, "cannot write in", h->root);
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* ---- cleanup: temporaries of puts that never finished (a killed kahu) ---- */

static int fs_is_temp(const char *name)
{
	return name[0] == '.' && strstr(name, ".tmp.") != NULL;
}

static int fs_cleanup_dir(struct kahu_backend_handle *h, int dfd, const char *path,
			  unsigned int *removed, int depth)
{
	DIR *d = fdopendir(dfd);
	int rc = KAHU_BACKEND_OK;
	if (!d) {
		close(dfd);
		return fs_errno(h, errno, "cannot read", path);
	}
	struct dirent *de;
	while (rc == KAHU_BACKEND_OK && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode) && fs_is_temp(de->d_name)) {
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				(*removed)++;
		} else if (S_ISDIR(st.st_mode) && de->d_name[0] != '.' && depth < 64) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				rc = fs_cleanup_dir(h, sub, path, removed, depth + 1);
		}
	}
	closedir(d);
	return rc;
}

static int fs_cleanup(struct kahu_backend_handle *h, const char *prefix, unsigned int *removed)
{
	/* The directory part of the prefix ("backups/" or "backups/b1/x" -> "backups"). */
	const char *slash = prefix ? strrchr(prefix, '/') : NULL;
	char *sub = slash ? strndup(prefix, (size_t)(slash - prefix)) : fs_strdup("");
	char *dir = sub && *sub ? fs_join(h->root, sub) : fs_strdup(h->root);
	int rc = KAHU_BACKEND_OK;
	*removed = 0;
	if (!sub || !dir) {
		rc = fs_seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
		goto out;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			rc = fs_errno(h, errno, "cannot open", dir);
		goto out;
	}
	rc = fs_cleanup_dir(h, fd, dir, removed, 0);
out:
	free(sub);
	free(dir);
	return rc;
}

/* ---- entry ---- */

static const struct kahu_backend fs_backend = {
	KAHU_BACKEND_HEADER,
	.name = "fs",
	.version = FS_VERSION,
	.description = "local or NFS-mounted directory (atomic rename, files 0600, directories 0700)",
	.capabilities = KAHU_BACKEND_CAP_METADATA | KAHU_BACKEND_CAP_VOLUME_DATA |
			KAHU_BACKEND_CAP_RANGE_READ | KAHU_BACKEND_CAP_ATOMIC_PUT |
			KAHU_BACKEND_CAP_EXCLUSIVE_PUT | KAHU_BACKEND_CAP_LOCAL,
	.options = fs_options,
	.open = fs_open,
	.close = fs_close,
	.errmsg = fs_errmsg,
	.probe = fs_probe,
	.put_begin = fs_put_begin,
	.put_write = fs_put_write,
	.put_commit = fs_put_commit,
	.put_abort = fs_put_abort,
	.get = fs_get,
	.stat = fs_stat,
	.list = fs_list,
	.remove = fs_remove,
	.copy = NULL,
	.cleanup = fs_cleanup,
};

#ifdef KAHU_BACKEND_STATIC
#define FS_ENTRY kahu_backend_fs_init
int kahu_backend_fs_init(const struct kahu_host *host, const struct kahu_backend **out);
#else
#define FS_ENTRY kahu_backend_init
#endif

int FS_ENTRY(const struct kahu_host *host, const struct kahu_backend **out)
{
	(void)host;
	*out = &fs_backend;
	return KAHU_BACKEND_OK;
}

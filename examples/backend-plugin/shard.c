/* shard: a kahu storage provider that keeps objects in a local (or mounted) directory,
 * spread over hashed subdirectories:
 *
 *   <path>/3f/a2/backups+b1+backup.json      (names.h has the whole layout)
 *
 * Built from <kahu/backend.h> alone, found with `pkg-config kahu-backend`; see
 * README.md beside this file for the walkthrough.
 *
 * What it shows:
 *   - every required operation, and the optional probe and cleanup;
 *   - configuration keys declared with descriptions, values checked by open();
 *   - atomic puts: a temporary file beside the object, fsync, rename (link for
 *     KAHU_PUT_EXCLUSIVE, which never replaces), fsync of the directory;
 *   - errors as the ABI's codes with messages that name the object and the cause;
 *   - cancellation: with "mount-wait", operations wait for the directory to appear
 *     (an automounted or late NFS mount) and stop waiting when host->cancelled() says;
 *   - list() returning kahu's keys in byte-wise order, although the files lie in hash
 *     order on disk;
 *   - no global mutable state, so kahu may use several handles from several threads.
 */
#define _POSIX_C_SOURCE 200809L

#include <kahu/backend.h>

#include "names.h"

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

#define SHARD_VERSION "1.0.0"
#define SHARD_READ_CHUNK (64 * 1024)
#define SHARD_ROOT_MAX 512          /* longest "path": the layout needs the rest of PATH_MAX */
#define SHARD_WAIT_MAX 86400        /* longest "mount-wait", seconds */
#define SHARD_POLL_NS 100000000L    /* how often a wait looks again: 0.1 s */
/* Most chunk directories a key has: its longest encoding cut into NAMES_CHUNK_MAX - 2. */
#define SHARD_CHUNKS_MAX (3 * KAHU_BACKEND_KEY_MAX / (NAMES_CHUNK_MAX - 2))

/* names.h is written for the ABI's key length. */
typedef char shard_key_max_matches[NAMES_KEY_MAX == KAHU_BACKEND_KEY_MAX ? 1 : -1];

struct kahu_backend_handle {
	const struct kahu_host *host;
	char *root;               /* the "path" key, without a trailing '/' */
	unsigned int mount_wait;  /* seconds to wait for root to appear; 0: create it */
	int sync;                 /* fsync files and directories ("fsync" key) */
	int root_seen;            /* root was there once: no need to look again */
	char err[1024];
};

struct kahu_backend_put {
	struct kahu_backend_handle *h;
	int fd;
	unsigned int flags;
	char *key;
	char *path;   /* where the object goes */
	char *tmp;    /* the temporary file beside it */
};

/* ---- errors ---- */

static int seterr(struct kahu_backend_handle *h, int rc, const char *fmt, ...)
	KAHU_BACKEND_PRINTF(3, 4);

static int seterr(struct kahu_backend_handle *h, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->err, sizeof h->err, fmt, ap);
	va_end(ap);
	return rc;
}

/* The ABI's code for an errno: what kahu should do about it (retry, give up, tell the
 * user to free space or fix permissions). */
static int code_of(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return KAHU_BACKEND_ENOTFOUND;
	case EACCES:
	case EPERM:
	case EROFS:
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
	case ETIMEDOUT:
#ifdef ESTALE
	case ESTALE:  /* NFS: the server came back with new handles */
#endif
		return KAHU_BACKEND_ETRANSIENT;
	default:
		return KAHU_BACKEND_EPERMANENT;
	}
}

/* "cannot WHAT KEY in ROOT: CAUSE" with the code for errno e. */
static int fail(struct kahu_backend_handle *h, int e, const char *what, const char *key)
{
	return seterr(h, code_of(e), "cannot %s %s in %s: %s", what, key, h->root, strerror(e));
}

static int nomem(struct kahu_backend_handle *h)
{
	return seterr(h, KAHU_BACKEND_EPERMANENT, "out of memory");
}

/* ---- small helpers ---- */

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

/* The file of `key`: <root>/<names_rel(key)>.  NULL when out of memory. */
static char *path_of(struct kahu_backend_handle *h, const char *key)
{
	size_t rl = strlen(h->root), max = names_rel_max(strlen(key));
	char *p = malloc(rl + 1 + max);
	if (!p)
		return NULL;
	memcpy(p, h->root, rl);
	p[rl] = '/';
	names_rel(key, p + rl + 1, max);
	return p;
}

static int key_ok(struct kahu_backend_handle *h, const char *key)
{
	/* kahu checks keys before they arrive; the encoding makes any byte safe, so only
	 * the length matters here. */
	size_t n = key ? strlen(key) : 0;
	if (n == 0 || n > KAHU_BACKEND_KEY_MAX)
		return seterr(h, KAHU_BACKEND_EPERMANENT, "invalid key (%zu bytes)", n);
	return KAHU_BACKEND_OK;
}

/* 16 random hex digits for a temporary name (unique, not secret: O_EXCL catches a
 * collision). */
static void random_hex(char out[17])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[8];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, raw, sizeof raw) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof raw) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
			     ((uint64_t)getpid() << 40) ^ (uint64_t)(uintptr_t)out;
		for (size_t i = 0; i < sizeof raw; i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			raw[i] = (unsigned char)(x >> 56);
		}
	}
	for (size_t i = 0; i < sizeof raw; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[16] = '\0';
}

static int sync_dir(struct kahu_backend_handle *h, const char *dir)
{
	if (!h->sync)
		return KAHU_BACKEND_OK;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail(h, errno, "open directory", dir);
	/* Some filesystems cannot sync a directory; nothing more can be done there. */
	int rc = fsync(fd) < 0 && errno != EINVAL && errno != EROFS ? fail(h, errno, "sync", dir)
								   : KAHU_BACKEND_OK;
	close(fd);
	return rc;
}

/* mkdir -p of `dir`, creating only what lies after its first `keep` bytes (those
 * must exist already); new directories are 0700 whatever the umask. */
static int make_dirs(struct kahu_backend_handle *h, char *dir, size_t keep)
{
	size_t n = strlen(dir);
	for (size_t i = keep + 1; i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		char c = dir[i];
		dir[i] = '\0';
		int rc = KAHU_BACKEND_OK;
		if (mkdir(dir, 0700) == 0) {
			if (chmod(dir, 0700) < 0)
				rc = fail(h, errno, "set the mode of", dir);
		} else {
			int e = errno;
			struct stat st;
			if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
				rc = e == EEXIST ? seterr(h, KAHU_BACKEND_EPERMANENT,
							  "%s is not a directory", dir)
						 : fail(h, e, "create directory", dir);
		}
		dir[i] = c;
		if (rc < 0)
			return rc;
	}
	return KAHU_BACKEND_OK;
}

/* ---- the root, and waiting for it ---- */

#define ROOT_THERE 0
#define ROOT_ABSENT 1  /* not there and not waited for: a location not written yet */

static int cancelled(const struct kahu_host *host)
{
	/* cancelled() came with ABI 1.1: a 1.0 host has no such field. */
	return KAHU_HOST_HAS(host, cancelled) && host->cancelled(host);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Is the root there?  With "mount-wait", wait up to that long for it: this is the one
 * place the provider waits, and so the one place it looks at host->cancelled(). */
static int root_check(struct kahu_backend_handle *h)
{
	double until = 0;
	int logged = 0;
	if (h->root_seen)
		return ROOT_THERE;
	for (;;) {
		struct stat st;
		if (stat(h->root, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				return seterr(h, KAHU_BACKEND_ECONFIG, "%s is not a directory", h->root);
			h->root_seen = 1;
			return ROOT_THERE;
		}
		if (errno != ENOENT)
			return fail(h, errno, "look at", "the location's directory");
		if (!h->mount_wait)
			return ROOT_ABSENT;
		if (!logged) {
			until = now_s() + h->mount_wait;
			h->host->log(h->host, KAHU_BACKEND_LOG_INFO,
				     "shard: waiting up to %u s for %s to appear", h->mount_wait,
				     h->root);
			logged = 1;
		}
		if (cancelled(h->host))
			return seterr(h, KAHU_BACKEND_ECANCELLED,
				      "interrupted while waiting for %s to appear", h->root);
		if (now_s() >= until)
			return seterr(h, KAHU_BACKEND_ENOTFOUND,
				      "%s did not appear within %u s (is it mounted?)", h->root,
				      h->mount_wait);
		struct timespec pause = { 0, SHARD_POLL_NS };
		nanosleep(&pause, NULL);
	}
}

/* ---- open, close, errmsg ---- */

static const struct kahu_backend_option shard_options[] = {
	{ "path", "absolute path of the directory that holds the location",
	  KAHU_BACKEND_OPT_REQUIRED },
	{ "mount-wait", "seconds to wait for path to appear (a mount point); path is then "
			"never created (default 0: create it on the first write)", 0 },
	{ "fsync", "yes (default) or no: sync every object and directory before a put "
		   "returns", 0 },
	{ NULL, NULL, 0 },
};

static int shard_open(const struct kahu_host *host, const struct kahu_backend_kv *config,
		      size_t nconfig, struct kahu_backend_handle **out, char *errbuf,
		      size_t errbuf_len)
{
	const char *path = NULL;
	unsigned long wait = 0;
	int do_sync = 1;
	*out = NULL;
	/* kahu has refused unknown keys and missing required ones; the values are ours to
	 * check, each with a message that says what is wrong. */
	for (size_t i = 0; i < nconfig; i++) {
		const char *k = config[i].key, *v = config[i].value;
		if (strcmp(k, "path") == 0) {
			path = v;
		} else if (strcmp(k, "mount-wait") == 0) {
			char *end;
			errno = 0;
			wait = strtoul(v, &end, 10);
			if (!*v || *end || *v == '-' || errno || wait > SHARD_WAIT_MAX) {
				snprintf(errbuf, errbuf_len,
					 "mount-wait \"%s\" is not a number of seconds from 0 to %d", v,
					 SHARD_WAIT_MAX);
				return KAHU_BACKEND_ECONFIG;
			}
		} else if (strcmp(k, "fsync") == 0) {
			if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
				snprintf(errbuf, errbuf_len, "fsync \"%s\" is neither yes nor no", v);
				return KAHU_BACKEND_ECONFIG;
			}
			do_sync = strcmp(v, "yes") == 0;
		} else {  /* a host that does not check keys */
			snprintf(errbuf, errbuf_len, "unknown configuration key \"%s\"", k);
			return KAHU_BACKEND_ECONFIG;
		}
	}
	if (!path || path[0] != '/') {
		snprintf(errbuf, errbuf_len, "path \"%s\" is not an absolute path", path ? path : "");
		return KAHU_BACKEND_ECONFIG;
	}
	if (strlen(path) > SHARD_ROOT_MAX) {
		snprintf(errbuf, errbuf_len, "path is longer than %d bytes", SHARD_ROOT_MAX);
		return KAHU_BACKEND_ECONFIG;
	}

	struct kahu_backend_handle *h = calloc(1, sizeof *h);
	if (!h || !(h->root = dup_str(path))) {
		free(h);
		snprintf(errbuf, errbuf_len, "out of memory");
		return KAHU_BACKEND_EPERMANENT;
	}
	size_t n = strlen(h->root);
	while (n > 1 && h->root[n - 1] == '/')
		h->root[--n] = '\0';
	h->host = host;
	h->mount_wait = (unsigned int)wait;
	h->sync = do_sync;
	*out = h;
	return KAHU_BACKEND_OK;
}

static void shard_close(struct kahu_backend_handle *h)
{
	if (!h)
		return;
	free(h->root);
	free(h);
}

static const char *shard_errmsg(struct kahu_backend_handle *h)
{
	return h ? h->err : "";
}

/* ---- put ---- */

static void put_free(struct kahu_backend_put *p)
{
	if (p->fd >= 0)
		close(p->fd);
	free(p->key);
	free(p->path);
	free(p->tmp);
	free(p);
}

static int shard_put_begin(struct kahu_backend_handle *h, const char *key, unsigned int flags,
			   uint64_t size_hint, struct kahu_backend_put **out)
{
	int rc, root;
	(void)size_hint;
	*out = NULL;
	if ((rc = key_ok(h, key)) < 0)
		return rc;
	if (flags & ~KAHU_PUT_EXCLUSIVE)
		return seterr(h, KAHU_BACKEND_EUNSUPPORTED, "unsupported put flags 0x%x", flags);
	if ((root = root_check(h)) < 0)
		return root;

	struct kahu_backend_put *p = calloc(1, sizeof *p);
	if (!p)
		return nomem(h);
	p->h = h;
	p->fd = -1;
	p->flags = flags;
	p->key = dup_str(key);
	p->path = path_of(h, key);
	p->tmp = p->path ? malloc(strlen(p->path) + 32) : NULL;
	if (!p->key || !p->tmp) {
		put_free(p);
		return nomem(h);
	}
	if ((flags & KAHU_PUT_EXCLUSIVE) && access(p->path, F_OK) == 0) {
		put_free(p);
		return seterr(h, KAHU_BACKEND_EEXISTS, "%s already exists in %s", key, h->root);
	}

	/* The temporary file: ".<name>.tmp.<random>" in the object's own directory, so
	 * that rename() is atomic and cleanup() can tell whose it was. */
	char *slash = strrchr(p->path, '/');
	size_t dlen = (size_t)(slash - p->path);
	/* A remove() of a neighbour may take an empty chunk directory away between our
	 * mkdir and our open: then make it again. */
	for (int attempt = 0; attempt < 8; attempt++) {
		char rnd[17];
		random_hex(rnd);
		memcpy(p->tmp, p->path, dlen);
		p->tmp[dlen] = '\0';
		if ((rc = make_dirs(h, p->tmp, root == ROOT_THERE ? strlen(h->root) : 0)) < 0) {
			put_free(p);
			return rc;
		}
		sprintf(p->tmp + dlen, "/.%s.tmp.%s", slash + 1, rnd);
		p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (p->fd >= 0 || (errno != EEXIST && errno != ENOENT))
			break;
	}
	if (p->fd < 0) {
		rc = fail(h, errno, "create a temporary file for", key);
		put_free(p);
		return rc;
	}
	h->root_seen = 1;
	*out = p;
	return KAHU_BACKEND_OK;
}

static int shard_put_write(struct kahu_backend_put *p, const void *buf, size_t len)
{
	const char *c = buf;
	while (len > 0) {
		ssize_t n = write(p->fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(p->h, errno, "write", p->key);
		c += n;
		len -= (size_t)n;
	}
	return KAHU_BACKEND_OK;
}

static void shard_put_abort(struct kahu_backend_put *p)
{
	if (!p)
		return;
	if (p->tmp[0])
		unlink(p->tmp);
	put_free(p);
}

static int shard_put_commit(struct kahu_backend_put *p)
{
	struct kahu_backend_handle *h = p->h;
	int rc;
	/* Data first, name second: a crash leaves the old object or the new one, never a
	 * named file with half of the bytes. */
	if (h->sync && fsync(p->fd) < 0) {
		rc = fail(h, errno, "sync", p->key);
		goto out;
	}
	rc = close(p->fd);
	p->fd = -1;
	if (rc < 0) {  /* NFS reports deferred write errors here */
		rc = fail(h, errno, "write", p->key);
		goto out;
	}
	if (p->flags & KAHU_PUT_EXCLUSIVE) {
		/* link() never replaces: of two racing exclusive puts exactly one wins. */
		if (link(p->tmp, p->path) < 0) {
			rc = errno == EEXIST ? seterr(h, KAHU_BACKEND_EEXISTS, "%s already exists in %s",
						      p->key, h->root)
					     : fail(h, errno, "create", p->key);
			goto out;
		}
		unlink(p->tmp);
	} else if (rename(p->tmp, p->path) < 0) {
		rc = fail(h, errno, "rename into place", p->key);
		goto out;
	}
	p->tmp[0] = '\0';  /* gone: nothing for abort to remove */
	char *slash = strrchr(p->path, '/');
	*slash = '\0';
	rc = sync_dir(h, p->path);
	*slash = '/';
out:
	/* Whatever happened, the stream is freed (this provider does not set
	 * KAHU_BACKEND_CAP_PUT_RETRY). */
	shard_put_abort(p);
	return rc;
}

/* ---- get, stat, remove ---- */

static int open_object(struct kahu_backend_handle *h, const char *key, int *fd,
		       struct stat *st)
{
	int rc, root;
	*fd = -1;
	if ((rc = key_ok(h, key)) < 0)
		return rc;
	if ((root = root_check(h)) < 0)
		return root;
	if (root == ROOT_ABSENT)
		return seterr(h, KAHU_BACKEND_ENOTFOUND, "%s not found: %s does not exist", key,
			      h->root);
	char *path = path_of(h, key);
	if (!path)
		return nomem(h);
	/* O_NONBLOCK: a FIFO planted there must not hang the open (refused below). */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	free(path);
	if (*fd < 0)
		return errno == ENOENT ? seterr(h, KAHU_BACKEND_ENOTFOUND, "%s not found in %s",
						key, h->root)
				       : fail(h, errno, "open", key);
	if (fstat(*fd, st) < 0)
		rc = fail(h, errno, "stat", key);
	else if (!S_ISREG(st->st_mode))
		rc = seterr(h, KAHU_BACKEND_EPERMANENT, "%s in %s is not a regular file", key,
			    h->root);
	if (rc < 0) {
		close(*fd);
		*fd = -1;
		return rc;
	}
	return KAHU_BACKEND_OK;
}

static int shard_get(struct kahu_backend_handle *h, const char *key, uint64_t offset,
		     uint64_t length, kahu_backend_write_fn sink, void *ud)
{
	struct stat st;
	int fd, rc;
	if ((rc = open_object(h, key, &fd, &st)) < 0)
		return rc;
	char *buf = malloc(SHARD_READ_CHUNK);
	if (!buf) {
		close(fd);
		return nomem(h);
	}
	uint64_t left = length == KAHU_BACKEND_TO_END ? UINT64_MAX : length;
	if (offset >= (uint64_t)st.st_size)
		left = 0;  /* a range past the end: no bytes, no error */
	off_t pos = (off_t)(offset < (uint64_t)st.st_size ? offset : 0);
	while (left > 0) {
		size_t want = left < SHARD_READ_CHUNK ? (size_t)left : SHARD_READ_CHUNK;
		ssize_t n = pread(fd, buf, want, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fail(h, errno, "read", key);
			break;
		}
		if (n == 0)
			break;
		if (sink(ud, buf, (size_t)n) != 0) {
			rc = seterr(h, KAHU_BACKEND_ECALLBACK, "reading %s stopped by kahu", key);
			break;
		}
		pos += n;
		left -= (uint64_t)n;
	}
	free(buf);
	close(fd);
	return rc;
}

static void fill_stat(const struct stat *st, struct kahu_backend_stat *out)
{
	memset(out, 0, sizeof *out);
	out->size = (uint64_t)st->st_size;
	out->mtime = (int64_t)st->st_mtime;
}

static int shard_stat(struct kahu_backend_handle *h, const char *key,
		      struct kahu_backend_stat *out)
{
	struct stat st;
	int fd, rc;
	if ((rc = open_object(h, key, &fd, &st)) < 0)
		return rc;
	close(fd);
	fill_stat(&st, out);
	return KAHU_BACKEND_OK;
}

static int shard_remove(struct kahu_backend_handle *h, const char *key)
{
	int rc, root;
	if ((rc = key_ok(h, key)) < 0)
		return rc;
	if ((root = root_check(h)) < 0)
		return root;
	if (root == ROOT_ABSENT)
		return seterr(h, KAHU_BACKEND_ENOTFOUND, "%s not found: %s does not exist", key,
			      h->root);
	char *path = path_of(h, key);
	if (!path)
		return nomem(h);
	if (unlink(path) < 0) {
		rc = errno == ENOENT ? seterr(h, KAHU_BACKEND_ENOTFOUND, "%s not found in %s", key,
					      h->root)
				     : fail(h, errno, "remove", key);
		free(path);
		return rc;
	}
	/* Chunk directories of a long name ("...~") go when they are empty; the two
	 * shard levels stay (there are at most 65,536 of them). */
	char *slash = strrchr(path, '/');
	*slash = '\0';
	rc = sync_dir(h, path);
	while (rc == KAHU_BACKEND_OK && (slash = strrchr(path, '/')) != NULL &&
	       slash[strlen(slash) - 1] == '~' && rmdir(path) == 0)
		*slash = '\0';
	free(path);
	return rc;
}

/* ---- list and cleanup: a walk over every shard ---- */

struct entry {
	char *key;
	struct kahu_backend_stat st;
};

struct walk {
	struct kahu_backend_handle *h;
	const char *prefix;
	int temps;                   /* cleanup: temporary files, not objects */
	struct entry *ents;          /* list: what matched */
	size_t n, cap;
	unsigned int removed;        /* cleanup: how many went */
	char rel[6 + 3 * KAHU_BACKEND_KEY_MAX + 64];  /* the path under the root */
	char key[KAHU_BACKEND_KEY_MAX + 1];
};

static int is_hex2(const char *s)
{
	return strlen(s) == 2 && strchr("0123456789abcdef", s[0]) && strchr("0123456789abcdef", s[1]);
}

static int add_entry(struct walk *w, const struct stat *st)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct entry *e = realloc(w->ents, cap * sizeof *e);
		if (!e)
			return nomem(w->h);
		w->ents = e;
		w->cap = cap;
	}
	if (!(w->ents[w->n].key = dup_str(w->key)))
		return nomem(w->h);
	fill_stat(st, &w->ents[w->n].st);
	w->n++;
	return KAHU_BACKEND_OK;
}

/* A temporary file's name, ".<name>.tmp.<16 hex>": the length of <name>, or 0. */
static size_t temp_name_len(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 + 1 + 5 + 16 || name[0] != '.' || memcmp(name + n - 21, ".tmp.", 5) != 0)
		return 0;
	for (size_t i = n - 16; i < n; i++)
		if (!strchr("0123456789abcdef", name[i]))
			return 0;
	return n - 22;
}

/* One file found at w->rel (relative to the root). */
static int walk_file(struct walk *w, int dfd, const char *name, size_t rlen,
		     const struct stat *st)
{
	if (w->temps) {
		size_t nl = temp_name_len(name);
		if (!nl || rlen + nl >= sizeof w->rel)
			return KAHU_BACKEND_OK;
		memcpy(w->rel + rlen, name + 1, nl);  /* the object it was meant to become */
		w->rel[rlen + nl] = '\0';
		if (names_decode(w->rel, w->key) == 0 &&
		    strncmp(w->key, w->prefix, strlen(w->prefix)) == 0 &&
		    unlinkat(dfd, name, 0) == 0)
			w->removed++;
		return KAHU_BACKEND_OK;
	}
	if (name[0] == '.')  /* our temporaries, and anything else hidden: never listed */
		return KAHU_BACKEND_OK;
	if (rlen + strlen(name) >= sizeof w->rel)
		return KAHU_BACKEND_OK;
	strcpy(w->rel + rlen, name);
	/* A file that is not exactly where names_rel() would put its key is not ours. */
	if (names_decode(w->rel, w->key) != 0 ||
	    strncmp(w->key, w->prefix, strlen(w->prefix)) != 0)
		return KAHU_BACKEND_OK;
	return add_entry(w, st);
}

/* Walk the directory dfd, which is w->rel[0..rlen) ("" or ending in '/'), at `depth`:
 * 0 the root, 1 a first shard level, 2 and more a second level and its chunk
 * directories.  Takes dfd over. */
static int walk_dir(struct walk *w, int dfd, size_t rlen, int depth)
{
	DIR *d = fdopendir(dfd);
	int rc = KAHU_BACKEND_OK;
	if (!d) {
		close(dfd);
		return fail(w->h, errno, "read directory", w->rel[0] ? w->rel : "/");
	}
	int read_errno = 0;
	while (rc == KAHU_BACKEND_OK) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			read_errno = errno;
			break;
		}
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;  /* gone meanwhile */
		size_t nl = strlen(name);
		if (S_ISREG(st.st_mode) && depth >= 2) {
			rc = walk_file(w, dirfd(d), name, rlen, &st);
			continue;
		}
		if (!S_ISDIR(st.st_mode) || rlen + nl + 2 >= sizeof w->rel)
			continue;
		/* Only shard levels, then only chunk directories of long names (a key has
		 * at most SHARD_CHUNKS_MAX of them). */
		if (depth < 2 ? !is_hex2(name)
			      : (name[0] == '.' || name[nl - 1] != '~' || depth >= 2 + SHARD_CHUNKS_MAX))
			continue;
		int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;
		memcpy(w->rel + rlen, name, nl);
		w->rel[rlen + nl] = '/';
		w->rel[rlen + nl + 1] = '\0';
		rc = walk_dir(w, sub, rlen + nl + 1, depth + 1);
		w->rel[rlen] = '\0';
	}
	if (rc == KAHU_BACKEND_OK && read_errno)
		rc = fail(w->h, read_errno, "read directory", w->rel[0] ? w->rel : "/");
	closedir(d);
	return rc;
}

static int walk_root(struct walk *w)
{
	int root = root_check(w->h);
	if (root != ROOT_THERE)
		return root < 0 ? root : KAHU_BACKEND_OK;  /* not written yet: empty */
	int dfd = open(w->h->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(w->h, errno, "open", "the location's directory");
	w->rel[0] = '\0';
	return walk_dir(w, dfd, 0, 0);
}

static int entry_cmp(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: the byte-wise order the ABI asks for. */
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

static int shard_list(struct kahu_backend_handle *h, const char *prefix,
		      kahu_backend_list_fn cb, void *ud)
{
	/* The hash scatters neighbouring keys, so a listing reads every shard, keeps what
	 * matches and sorts it: fine for kahu's metadata (hundreds of objects per
	 * backup); a store of millions of objects would want a layout that keeps
	 * prefixes together. */
	struct walk *w = calloc(1, sizeof *w);
	if (!w)
		return nomem(h);
	w->h = h;
	w->prefix = prefix ? prefix : "";
	int rc = walk_root(w);
	if (rc == KAHU_BACKEND_OK && w->n)
		qsort(w->ents, w->n, sizeof *w->ents, entry_cmp);
	for (size_t i = 0; i < w->n; i++) {
		if (rc == KAHU_BACKEND_OK && cb(ud, w->ents[i].key, &w->ents[i].st) != 0)
			rc = seterr(h, KAHU_BACKEND_ECALLBACK, "listing stopped by kahu at %s",
				    w->ents[i].key);
		free(w->ents[i].key);
	}
	free(w->ents);
	free(w);
	return rc;
}

/* Temporary files of puts that never ended (a killed kahu) under `prefix`.  kahu
 * calls it while it holds the location's lock, when no put of its own runs; the
 * prefix keeps it away from other writers (locks/ of other kahu processes). */
static int shard_cleanup(struct kahu_backend_handle *h, const char *prefix, unsigned int *removed)
{
	struct walk *w = calloc(1, sizeof *w);
	*removed = 0;
	if (!w)
		return nomem(h);
	w->h = h;
	w->prefix = prefix ? prefix : "";
	w->temps = 1;
	int rc = walk_root(w);
	*removed = w->removed;
	free(w);
	return rc;
}

/* ---- probe: can we write here? ---- */

static int shard_probe(struct kahu_backend_handle *h)
{
	int root = root_check(h);
	if (root < 0)
		return root;
	if (root == ROOT_ABSENT) {
		char *dir = dup_str(h->root);
		int rc = dir ? make_dirs(h, dir, 0) : nomem(h);
		free(dir);
		if (rc < 0)
			return rc;
	}
	char rnd[17], tmp[SHARD_ROOT_MAX + 64];
	random_hex(rnd);
	snprintf(tmp, sizeof tmp, "%s/.probe.tmp.%s", h->root, rnd);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(h, errno, "write a probe file in", h->root);
	int rc = write(fd, "kahu", 4) == 4 ? KAHU_BACKEND_OK : fail(h, errno, "write", tmp);
	close(fd);
	unlink(tmp);
	return rc;
}

/* ---- the table and the entry points ---- */

static const struct kahu_backend shard_backend = {
	KAHU_BACKEND_HEADER,  /* this header's major, minor and sizeof(struct kahu_backend) */
	.name = "shard",
	.version = SHARD_VERSION,
	.description = "local directory, objects spread over hashed subdirectories "
		       "(an example provider)",
	.capabilities = KAHU_BACKEND_CAP_METADATA | KAHU_BACKEND_CAP_RANGE_READ |
			KAHU_BACKEND_CAP_ATOMIC_PUT | KAHU_BACKEND_CAP_EXCLUSIVE_PUT |
			KAHU_BACKEND_CAP_LOCAL,
	.options = shard_options,
	.open = shard_open,
	.close = shard_close,
	.errmsg = shard_errmsg,
	.probe = shard_probe,
	.put_begin = shard_put_begin,
	.put_write = shard_put_write,
	.put_commit = shard_put_commit,
	.put_abort = shard_put_abort,
	.get = shard_get,
	.stat = shard_stat,
	.list = shard_list,
	.remove = shard_remove,
	.copy = NULL,  /* optional: without it kahu copies through get and put */
	.cleanup = shard_cleanup,
};

/* The ABI 1.1 entry point: one call of reg->add() per table this file offers. */
int kahu_plugin_init(const struct kahu_host *host, struct kahu_plugin_registry *reg)
{
	if (host->abi_major != KAHU_BACKEND_ABI_MAJOR)
		return KAHU_BACKEND_EUNSUPPORTED;
	return reg->add(reg, KAHU_PLUGIN_KIND_STORAGE, &shard_backend);
}

/* The ABI 1.0 entry point, for a kahu that does not know kahu_plugin_init. */
int kahu_backend_init(const struct kahu_host *host, const struct kahu_backend **out)
{
	if (host->abi_major != KAHU_BACKEND_ABI_MAJOR)
		return KAHU_BACKEND_EUNSUPPORTED;
	*out = &shard_backend;
	return KAHU_BACKEND_OK;
}

#include "util/fileio.h"
#include "util/err.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int kahu_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int kahu_tmpfile(const char *dir, const char *prefix, const char *what, int unlinked,
		 char **path)
{
	if (!dir) {
		dir = getenv("TMPDIR");
		if (!dir || !*dir)
			dir = "/tmp";
	}
	char *tmp = xasprintf("%s/%sXXXXXX", dir, prefix);
	int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		int e = errno;
		int rc = kahu_error_set(e == ENOSPC || e == EDQUOT ? KAHU_ENOSPC : KAHU_EIO,
					"cannot create a temporary file for %s in %s: %s", what, dir,
					strerror(e));
		free(tmp);
		*path = NULL;
		return rc;
	}
	if (unlinked) {
		unlink(tmp);
		free(tmp);
		tmp = NULL;
	}
	*path = tmp;
	return fd;
}

/* The directory that holds path's name: "." for a bare name, "/" for "/name". */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	return xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
}

int kahu_tmpfile_beside(const char *path, const char *suffix, const char *what, char **tmp)
{
	const char *slash = strrchr(path, '/');
	char *dir = dir_of(path);
	char *prefix = xasprintf("%s%s", slash ? slash + 1 : path, suffix);
	int fd = kahu_tmpfile(dir, prefix, what, 0, tmp);
	free(prefix);
	free(dir);
	return fd;
}

int kahu_tmpfile_commit(int fd, const char *tmp, const char *path)
{
	int rc = 0;
	if (fsync(fd) != 0)
		rc = kahu_error_set(errno == ENOSPC || errno == EDQUOT ? KAHU_ENOSPC : KAHU_EIO,
				    "cannot write %s: %s", tmp, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = kahu_error_set(errno == ENOSPC || errno == EDQUOT ? KAHU_ENOSPC : KAHU_EIO,
				    "cannot write %s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = kahu_error_set(KAHU_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	/* The rename itself made durable: sync the directory that holds the name. */
	char *dir = dir_of(path);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0) {
			/* some file systems cannot sync a directory; the rename stands */
		}
		close(dfd);
	}
	free(dir);
	return 0;
}

void kahu_tmpfile_discard(int fd, const char *tmp)
{
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
}

FILE *kahu_tmpstream(const char *dir, const char *prefix, const char *what)
{
	char *path;
	int fd = kahu_tmpfile(dir, prefix, what, 1, &path);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w+");
	if (!f) {
		kahu_error_set(KAHU_EIO, "cannot open the temporary file for %s: %s", what,
			       strerror(errno));
		close(fd);
	}
	return f;
}

static const char *file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO (named pipe)";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

int kahu_read_private(const char *path, const char *what, char *buf, size_t cap,
			     size_t *lenp)
{
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer; the file type
	 * is judged on the descriptor first, and only a regular file is read. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			return kahu_error_set(KAHU_ENOTFOUND, "%s '%s' does not exist", what, path);
		if (e == EACCES)
			return kahu_error_set(KAHU_EPERM, "cannot open %s '%s': %s", what, path,
					      strerror(e));
		return kahu_error_set(KAHU_EIO, "cannot open %s '%s': %s", what, path, strerror(e));
	}
	int rc = 0;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = kahu_error_set(KAHU_EIO, "cannot stat %s '%s': %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = kahu_error_set(KAHU_EDATA, "%s '%s' is %s: a %s must be a regular file", what,
				    path, file_kind(st.st_mode), what);
		goto out;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = kahu_error_set(KAHU_EIO, "cannot read %s '%s': %s", what, path, strerror(errno));
		goto out;
	}
	/* Readable by its owner only; a file root owns may also be readable by its group
	 * (no more), as a Secret mounted in a pod with an fsGroup is (root's, mode 0440):
	 * root chose who is in that group. */
	mode_t too_open = st.st_uid == 0 ? (mode_t)(S_IWGRP | S_IXGRP | S_IRWXO) : (mode_t)077;
	if (st.st_mode & too_open) {
		rc = kahu_error_set(KAHU_EPERM,
				    "permissions %04o for '%s' are too open; the %s must be readable "
				    "by its owner only (chmod 600)%s",
				    (unsigned)(st.st_mode & 07777), path, what, st.st_uid == 0 ?
				    ", or, as root's, by its group at most (chmod 640)" : "");
		goto out;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = kahu_error_set(KAHU_EIO, "cannot read %s '%s': %s", what, path,
					    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			rc = kahu_error_set(KAHU_EDATA, "%s '%s' is too large (more than %zu bytes)",
					    what, path, cap - 1);
			goto out;
		}
	}
	*lenp = len;
out:
	close(fd);
	return rc;
}


int kahu_mkdirs(const char *dir, unsigned mode)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 :
			kahu_error_set(KAHU_EIO, "%s exists and is not a directory", dir);
	char *parent = xstrdup(dir);
	char *slash = strrchr(parent, '/');
	int rc = 0;
	if (slash && slash != parent) {
		*slash = '\0';
		rc = kahu_mkdirs(parent, mode);
	}
	free(parent);
	if (rc < 0)
		return rc;
	if (mkdir(dir, (mode_t)mode) < 0 && errno != EEXIST)
		return kahu_error_set(KAHU_EIO, "cannot create directory %s: %s", dir, strerror(errno));
	return 0;
}

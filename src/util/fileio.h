/* kahu — small file I/O helpers: whole writes, private temporary files, reading small
 * private files. */
#ifndef KAHU_UTIL_FILEIO_H
#define KAHU_UTIL_FILEIO_H

#include <stddef.h>
#include <stdio.h>

/* Write all of buf, resuming after EINTR and short writes.  0, or -1 with errno. */
int kahu_write_all(int fd, const void *buf, size_t len);

/* Create a new private file (mode 0600, close-on-exec) named `<dir>/<prefix>XXXXXX`;
 * dir NULL: $TMPDIR, else /tmp.  Returns the descriptor and sets *path (free it), or
 * KAHU_EIO/KAHU_ENOSPC with a message naming the file's purpose `what`.  With
 * `unlinked` the name is removed at once and *path is NULL: the file lives as long as
 * the descriptor (nothing is left behind by a crash). */
int kahu_tmpfile(const char *dir, const char *prefix, const char *what, int unlinked,
		 char **path);
/* The same file, unlinked at once, as a stream open for reading and writing; NULL with
 * the error set. */
FILE *kahu_tmpstream(const char *dir, const char *prefix, const char *what);

/* A file that takes the place of `path` only once it is whole, so that a failed or
 * interrupted writer never leaves a plausible file behind: kahu_tmpfile beside path,
 * named `<path><suffix>XXXXXX` (suffix ".part." say), kept.  Returns the descriptor
 * and sets *tmp (free it), or an error as kahu_tmpfile. */
int kahu_tmpfile_beside(const char *path, const char *suffix, const char *what, char **tmp);
/* Its data synced, fd closed, tmp renamed over path, the directory synced.  fd is
 * closed in any case, and tmp removed when this fails (KAHU_EIO, or KAHU_ENOSPC, with
 * a message naming the file). */
int kahu_tmpfile_commit(int fd, const char *tmp, const char *path);
/* Give it up: fd closed (when >= 0), tmp removed (when not NULL). */
void kahu_tmpfile_discard(int fd, const char *tmp);

/* mkdir -p: `dir` and the directories above it, new ones with `mode`.  An existing
 * non-directory in the way: KAHU_EIO, as a directory that cannot be made. */
int kahu_mkdirs(const char *dir, unsigned mode);

/* Read a file that must be private to its owner into buf (cap bytes, at most cap - 1
 * used; a larger file is refused, KAHU_EDATA).  `what` names it in messages ("key
 * file").  The type and permission checks are made on the opened descriptor, so a
 * symlink (Kubernetes Secret volumes are symlinks) is judged by its target and cannot
 * be swapped in between; a FIFO is refused without waiting for a writer.  Missing:
 * KAHU_ENOTFOUND; not a regular file: KAHU_EDATA; readable or writable by group or
 * others (a file root owns may be readable by its group: a Secret mounted in a pod
 * with an fsGroup is root's, mode 0440), or not readable: KAHU_EPERM; else KAHU_EIO. */
int kahu_read_private(const char *path, const char *what, char *buf, size_t cap,
		      size_t *lenp);

#endif

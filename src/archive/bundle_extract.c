/* kahu — extracting a bundle into a directory (kahu backup download --extract), safe
 * against hostile archives: member names checked, links and special files refused,
 * every path component opened relative to its parent without following a symlink,
 * nothing overwritten.  See bundle_extract in bundle.h. */
#include "archive/bundle.h"
#include "archive/bundle_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fileio.h"
#include "util/mem.h"

static const char *entry_kind(enum bundle_entry_type t)
{
	switch (t) {
	case BUNDLE_SYMLINK: return "a symbolic link";
	case BUNDLE_HARDLINK: return "a hard link";
	case BUNDLE_OTHER: return "a special file (device, fifo or socket)";
	default: return "a file";
	}
}

/* Open (creating it 0700 if missing) the directory `comp` under dirfd, refusing to
 * follow a symlink.  `shown` names it for messages. */
static int open_dir_at(int dirfd, const char *comp, const char *dir, const char *shown,
		       int *out)
{
	char q[BUNDLE_QUOTE_CAP];
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = openat(dirfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			*out = fd;
			return 0;
		}
		if (errno == ENOENT && attempt == 0) {
			if (mkdirat(dirfd, comp, 0700) < 0 && errno != EEXIST)
				return kahu_error_set(KAHU_EIO, "cannot create %s/%s: %s", dir,
						      bundle_quote(shown, q, sizeof q), strerror(errno));
			continue;
		}
		if (errno == ELOOP || errno == ENOTDIR) {
			struct stat sb;
			if (fstatat(dirfd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
				return kahu_error_set(KAHU_EPERM,
						      "%s/%s is a symbolic link: refusing to follow "
						      "it while extracting", dir,
						      bundle_quote(shown, q, sizeof q));
			return kahu_error_set(KAHU_EEXIST,
					      "%s/%s exists and is not a directory", dir,
					      bundle_quote(shown, q, sizeof q));
		}
		return kahu_error_set(KAHU_EIO, "cannot open %s/%s: %s", dir,
				      bundle_quote(shown, q, sizeof q), strerror(errno));
	}
	return kahu_error_set(KAHU_EIO, "cannot open %s/%s: it keeps disappearing", dir,
			      bundle_quote(shown, q, sizeof q));
}

/* The current member's data into a new file `leaf` under dirfd. */
static int extract_file(struct bundle_reader *r, int dirfd, const char *leaf, const char *dir,
			const char *name, struct bundle_extract_stats *st)
{
	char q[BUNDLE_QUOTE_CAP];
	char buf[65536];
	size_t got;
	int rc = 0;
	int fd = openat(dirfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return kahu_error_set(KAHU_EEXIST,
					      "%s/%s already exists: extraction never overwrites "
					      "(nor follows a symbolic link)", dir,
					      bundle_quote(name, q, sizeof q));
		return kahu_error_set(KAHU_EIO, "cannot create %s/%s: %s", dir,
				      bundle_quote(name, q, sizeof q), strerror(errno));
	}
	for (;;) {
		if ((rc = bundle_read_data(r, buf, sizeof buf, &got)) < 0 || !got)
			break;
		if (kahu_write_all(fd, buf, got) < 0) {
			rc = kahu_error_set(errno == ENOSPC || errno == EDQUOT ? KAHU_ENOSPC
									      : KAHU_EIO,
					    "cannot write %s/%s: %s", dir,
					    bundle_quote(name, q, sizeof q), strerror(errno));
			break;
		}
		if (st)
			st->bytes += got;
	}
	if (close(fd) < 0 && rc == 0)
		rc = kahu_error_set(KAHU_EIO, "cannot write %s/%s: %s", dir,
				    bundle_quote(name, q, sizeof q), strerror(errno));
	if (rc == 0 && st)
		st->files++;
	return rc;
}

/* The file-system name of one member-name component: itself, or when it is longer
 * than name_max its encoded form ("<stem>.json" of a file as "<encoded stem>.json"). */
static const char *fs_component(const char *comp, bool is_file, size_t name_max,
				struct kbuf *tmp, bool *shortened)
{
	size_t len = strlen(comp);
	if (len <= name_max)
		return comp;
	kbuf_reset(tmp);
	if (is_file && len > 5 && strcmp(comp + len - 5, ".json") == 0) {
		bundle_component_encode(comp, len - 5, tmp);
		kbuf_adds(tmp, ".json");
	} else {
		bundle_component_encode(comp, len, tmp);
	}
	*shortened = true;
	return kbuf_str(tmp);
}

/* One member: walk (and create) its directories component by component. */
static int extract_entry(struct bundle_reader *r, int rootfd, const char *dir, size_t name_max,
			 const struct bundle_entry *e, struct bundle_extract_stats *st)
{
	char q[BUNDLE_QUOTE_CAP];
	const char *path = bundle_reader_path(r);
	struct kbuf tmp = KBUF_INIT;
	bool shortened = false;
	int rc;
	if (e->type != BUNDLE_FILE && e->type != BUNDLE_DIR)
		return bundle_reader_fail(r, kahu_error_set(KAHU_EDATA,
							    "%s: member %s is %s: kahu bundles never "
							    "contain links or special files; refusing "
							    "to extract a corrupt or hostile archive",
							    path, bundle_quote(e->name, q, sizeof q),
							    entry_kind(e->type)));
	char *name = xstrdup(e->name);
	size_t len = strlen(name);
	if (e->type == BUNDLE_DIR && len > 1 && name[len - 1] == '/')
		name[len - 1] = '\0';
	if ((rc = bundle_name_check(name)) < 0) {
		rc = bundle_reader_fail(r, kahu_error_wrap(KAHU_EDATA,
							   "%s: refusing to extract a corrupt or "
							   "hostile archive", path));
		free(name);
		return rc;
	}
	int cur = rootfd;
	char *comp = name;
	for (char *slash; (slash = strchr(comp, '/')); comp = slash + 1) {
		*slash = '\0';
		int next;
		rc = open_dir_at(cur, fs_component(comp, false, name_max, &tmp, &shortened), dir,
				 name, &next);
		*slash = '/';
		if (cur != rootfd)
			close(cur);
		if (rc < 0) {
			free(name);
			kbuf_free(&tmp);
			return rc;
		}
		cur = next;
	}
	const char *leaf = fs_component(comp, e->type == BUNDLE_FILE, name_max, &tmp, &shortened);
	if (e->type == BUNDLE_DIR) {
		int fd;
		if ((rc = open_dir_at(cur, leaf, dir, name, &fd)) == 0) {
			close(fd);
			if (st)
				st->dirs++;
		}
	} else {
		rc = extract_file(r, cur, leaf, dir, name, st);
	}
	if (rc == 0 && shortened && st)
		st->shortened++;
	if (cur != rootfd)
		close(cur);
	free(name);
	kbuf_free(&tmp);
	return rc;
}

int bundle_extract(struct bundle_reader *r, const char *dir, struct bundle_extract_stats *st)
{
	struct bundle_entry e;
	int rc;
	if (st)
		memset(st, 0, sizeof *st);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return kahu_error_set(KAHU_EIO, "cannot create %s: %s", dir, strerror(errno));
	int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return kahu_error_set(errno == ENOTDIR ? KAHU_EEXIST : KAHU_EIO,
				      "cannot open the directory %s: %s", dir, strerror(errno));
	/* The longest name the file system takes, at most NAME_MAX (255 on Linux). */
	long nm = fpathconf(rootfd, _PC_NAME_MAX);
	size_t name_max = nm > 0 && nm < NAME_MAX ? (size_t)nm : NAME_MAX;
	while ((rc = bundle_next(r, &e)) > 0)
		if ((rc = extract_entry(r, rootfd, dir, name_max, &e, st)) < 0)
			break;
	close(rootfd);
	if (rc < 0)
		return rc;
	return bundle_reader_finish(r);
}

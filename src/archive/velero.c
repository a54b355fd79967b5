/* kahu — reading a Velero backup tarball (see velero.h). */
#include "archive/velero.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/err.h"
#include "util/mem.h"

/* A member name as it may be shown: control characters escaped, at most 200 bytes. */
static char *shown(const char *s)
{
	struct kbuf b = KBUF_INIT;
	char *cut = xstrndup(s, 200);
	kbuf_add_printable(&b, cut, 0);
	if (strlen(s) > 200)
		kbuf_adds(&b, "...");
	free(cut);
	return kbuf_detach(&b);
}

static int path_refuse(const char *member, const char *why)
{
	char *s = shown(member);
	int rc = kahu_error_set(KAHU_EDATA, "member \"%s\" %s", s, why);
	free(s);
	return rc;
}

void velero_path_clear(struct velero_path *p)
{
	free(p->buf);
	memset(p, 0, sizeof *p);
}

/* "<name>.json" → name (in place); 0 when it is not such a name. */
static int json_name(char *c)
{
	size_t l = strlen(c);
	if (l <= 5 || strcmp(c + l - 5, ".json") != 0)
		return 0;
	/* "..json", "...json": no object is named "." or ".." */
	if ((l == 6 && c[0] == '.') || (l == 7 && c[0] == '.' && c[1] == '.'))
		return 0;
	c[l - 5] = '\0';
	return 1;
}

int velero_path_parse(const char *member, int is_dir, struct velero_path *out)
{
	char *comp[8];
	size_t n = 0;
	memset(out, 0, sizeof *out);
	if (!*member)
		return path_refuse(member, "has an empty name");
	if (member[0] == '/')
		return path_refuse(member, "is an absolute path: a Velero tarball's names are relative");
	const char *m = member;
	while (m[0] == '.' && m[1] == '/')
		m += 2;
	char *buf = xstrdup(m);
	size_t bl = strlen(buf);
	while (bl && buf[bl - 1] == '/') { /* a directory's trailing slash */
		buf[--bl] = '\0';
		is_dir = 1;
	}
	/* Every component is checked, however deep, before the layout is looked at. */
	for (char *p = buf, *s; p; p = s) {
		s = strchr(p, '/');
		if (s)
			*s++ = '\0';
		if (!*p) {
			free(buf);
			return bl ? path_refuse(member, "has an empty path component") :
			       (out->kind = VELERO_DIR, 0); /* "./" itself */
		}
		if (strcmp(p, "..") == 0) {
			free(buf);
			return path_refuse(member, "has a \"..\" component: a path escaping the archive");
		}
		if (strcmp(p, ".") == 0) {
			free(buf);
			return path_refuse(member, "has a \".\" component inside it");
		}
		if (n < sizeof comp / sizeof comp[0])
			comp[n] = p;
		n++;
	}
	out->buf = buf;
	if (is_dir) {
		out->kind = VELERO_DIR;
		return 0;
	}
	out->kind = VELERO_UNKNOWN;
	if (n == 2 && strcmp(comp[0], "metadata") == 0 && strcmp(comp[1], "version") == 0) {
		out->kind = VELERO_VERSION;
		return 0;
	}
	if (n < 4 || n > 6 || strcmp(comp[0], "resources") != 0)
		return 0;
	out->gr = comp[1];
	size_t at = 2;
	if (!(strcmp(comp[2], "namespaces") == 0 && n == 5) && !(strcmp(comp[2], "cluster") == 0 && n == 4)) {
		/* a version directory: v1, v1beta1, v1-preferredversion */
		static const char pref[] = "-preferredversion";
		size_t vl = strlen(comp[2]), pl = sizeof pref - 1;
		if (vl > pl && strcmp(comp[2] + vl - pl, pref) == 0) {
			comp[2][vl - pl] = '\0';
			out->preferred = 1;
		}
		out->version = comp[2];
		at = 3;
		/* an API version is letters and digits (v1, v1beta1) */
		if (!out->version[0] || strspn(out->version, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789") != strlen(out->version)) {
			out->gr = out->version = NULL;
			out->preferred = 0;
			return 0;
		}
	}
	if (strcmp(comp[at], "namespaces") == 0 && n == at + 3 && json_name(comp[at + 2])) {
		out->ns = comp[at + 1];
		out->name = comp[at + 2];
	} else if (strcmp(comp[at], "cluster") == 0 && n == at + 2 && json_name(comp[at + 1])) {
		out->name = comp[at + 1];
	} else {
		out->gr = out->version = NULL;
		out->preferred = 0;
		return 0;
	}
	out->kind = VELERO_ITEM;
	return 0;
}

int velero_version_check(const char *text, size_t len, int *newer)
{
	char v[64];
	size_t i = 0;
	*newer = 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	while (len > i && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
			   text[len - 1] == '\r'))
		len--;
	if (len - i >= sizeof v || memchr(text + i, '\0', len - i)) {
		return kahu_error_set(KAHU_EDATA, "metadata/version holds %zu bytes, not a format version "
				      "(Velero writes \"1.1.0\", or \"1\" before Velero 1.4)", len - i);
	}
	memcpy(v, text + i, len - i);
	v[len - i] = '\0';
	/* "1", "1.N" or "1.N.M", digits only, no leading zeros (semantic versioning) */
	unsigned long part[3] = { 0, 0, 0 };
	size_t np = 0;
	const char *p = v;
	int ok = *p != '\0';
	while (ok && *p) {
		if (*p < '0' || *p > '9' || np == 3 || (p[0] == '0' && p[1] >= '0' && p[1] <= '9')) {
			ok = 0;
			break;
		}
		char *e;
		errno = 0;
		part[np++] = strtoul(p, &e, 10);
		if (errno || (e - p) > 6)
			ok = 0;
		p = e;
		if (*p == '.') {
			p++;
			if (!*p)
				ok = 0;
		} else if (*p) {
			ok = 0;
		}
	}
	if (!ok) {
		struct kbuf b = KBUF_INIT;
		kbuf_add_printable(&b, v, 0);
		int rc = kahu_error_set(KAHU_EDATA, "metadata/version holds \"%s\", not a format version "
					"(Velero writes \"1.1.0\", or \"1\" before Velero 1.4)",
					b.data ? b.data : "");
		kbuf_free(&b);
		return rc;
	}
	if (part[0] != 1)
		return kahu_error_set(KAHU_EDATA, "the Velero backup format version is %s: kahu reads version "
				      "1 (\"1\" before Velero 1.4, \"1.1.0\" since); a major version %lu may have "
				      "moved or renamed what kahu reads", v, part[0]);
	*newer = part[1] > 1;
	return 0;
}

/* ---- the reader ---- */

struct velero_reader {
	char *file;
	struct archive *a;
	int at_end;
};

static int ar_fail(struct velero_reader *r, const char *what)
{
	const char *m = archive_error_string(r->a);
	return kahu_error_set(KAHU_EDATA, "%s: %s: %s (a truncated or corrupt Velero tarball)", r->file, what,
			      m ? m : "unknown error");
}

/* 0 when the file starts with gzip's magic, KAHU_EDATA when not. */
static int check_gzip(const char *file)
{
	unsigned char m[2];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO, "cannot open %s: %s", file,
				      strerror(errno));
	struct stat sb;
	ssize_t got = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? read(fd, m, 2) : -2;
	close(fd);
	if (got == -2)
		return kahu_error_set(KAHU_EDATA, "%s is not a regular file", file);
	if (got != 2 || m[0] != 0x1f || m[1] != 0x8b)
		return kahu_error_set(KAHU_EDATA, "%s is not gzip-compressed: a Velero backup tarball is "
				      "NAME.tar.gz (a gzip'd tar)", file);
	return 0;
}

int velero_open(const char *file, struct velero_reader **out)
{
	int rc;
	*out = NULL;
	if ((rc = check_gzip(file)) < 0)
		return rc;
	struct velero_reader *r = xcalloc(1, sizeof *r);
	r->file = xstrdup(file);
	r->a = archive_read_new();
	if (!r->a)
		abort();
	if (archive_read_support_filter_gzip(r->a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(r->a) != ARCHIVE_OK) {
		rc = kahu_error_set(KAHU_EINTERNAL, "libarchive cannot read gzip'd tar archives");
		velero_close(r);
		return rc;
	}
	if (archive_read_open_filename(r->a, file, 64 * 1024) != ARCHIVE_OK) {
		rc = ar_fail(r, "cannot be read as a gzip'd tar");
		velero_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int velero_next(struct velero_reader *r, const char **name, int *is_dir)
{
	struct archive_entry *ae;
	if (r->at_end)
		return 0;
	int ar = archive_read_next_header(r->a, &ae);
	if (ar == ARCHIVE_EOF) {
		r->at_end = 1;
		return 0;
	}
	if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
		return ar_fail(r, "reading the next member");
	const char *n = archive_entry_pathname_utf8(ae);
	if (!n)
		n = archive_entry_pathname(ae);
	if (!n)
		return kahu_error_set(KAHU_EDATA, "%s: a member without a name", r->file);
	mode_t t = archive_entry_filetype(ae);
	if (archive_entry_hardlink(ae) || archive_entry_symlink(ae) || (t != AE_IFREG && t != AE_IFDIR)) {
		char *s = shown(n);
		int rc = kahu_error_set(KAHU_EDATA, "%s: member \"%s\" is a %s: a Velero tarball holds only files "
					"and directories", r->file, s,
					archive_entry_hardlink(ae) ? "hard link" : t == AE_IFLNK ? "symbolic link" :
					"special file");
		free(s);
		return rc;
	}
	*name = n;
	*is_dir = t == AE_IFDIR;
	return 1;
}

int velero_read(struct velero_reader *r, struct kbuf *out, size_t max)
{
	char buf[64 * 1024];
	size_t total = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(r->a, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0)
			return ar_fail(r, "reading a member");
		total += (size_t)n;
		if (total > max)
			return kahu_error_set(KAHU_EDATA, "%s: a member is larger than %zu bytes, more than it can "
					      "be", r->file, max);
		kbuf_add(out, buf, (size_t)n);
	}
}

void velero_close(struct velero_reader *r)
{
	if (!r)
		return;
	if (r->a)
		archive_read_free(r->a);
	free(r->file);
	free(r);
}

int velero_read_gz_json(const char *file, size_t max, json_t **out)
{
	struct archive_entry *ae;
	struct kbuf b = KBUF_INIT;
	json_error_t jerr;
	int rc;
	*out = NULL;
	if ((rc = check_gzip(file)) < 0)
		return rc;
	struct velero_reader r = { .file = (char *)file, .a = archive_read_new() };
	if (!r.a)
		abort();
	archive_read_support_filter_gzip(r.a);
	archive_read_support_format_raw(r.a);
	if (archive_read_open_filename(r.a, file, 64 * 1024) != ARCHIVE_OK ||
	    archive_read_next_header(r.a, &ae) != ARCHIVE_OK)
		rc = ar_fail(&r, "cannot be read as gzip");
	else
		rc = velero_read(&r, &b, max);
	archive_read_free(r.a);
	if (rc == 0) {
		*out = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
		if (!*out)
			rc = kahu_error_set(KAHU_EDATA, "%s: not JSON: %s (line %d, column %d)", file, jerr.text,
					    jerr.line, jerr.column);
	}
	kbuf_free(&b);
	return rc;
}

/* kahu — a Velero backup as a restore's source (see velero_src.h). */
#include "engine/velero_src.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/velero.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/strv.h"

#define RECORD_MAX (256u << 20)

static int is_dir(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The backups of a bucket copy: backups/NAME/NAME.tar.gz. */
static int list_backups(const char *dir, struct strv *out)
{
	char *bdir = xasprintf("%s/backups", dir);
	DIR *d = opendir(bdir);
	if (!d) {
		int e = errno;
		free(bdir);
		return kahu_error_set(e == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO, "cannot read %s/backups: %s", dir,
				      strerror(e));
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *tb = xasprintf("%s/%s/%s.tar.gz", bdir, de->d_name, de->d_name);
		if (is_file(tb))
			strv_push(out, de->d_name);
		free(tb);
	}
	closedir(d);
	free(bdir);
	strv_sort(out);
	return 0;
}

/* The tarballs of one backup's own directory: NAME.tar.gz. */
static void list_tarballs(const char *dir, struct strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l <= 7 || strcmp(de->d_name + l - 7, ".tar.gz") != 0)
			continue;
		char *p = xasprintf("%s/%s", dir, de->d_name);
		if (is_file(p))
			strv_push_owned(out, xstrndup(de->d_name, l - 7));
		free(p);
	}
	if (d)
		closedir(d);
	strv_sort(out);
}

static int pick(const char *dir, const char *name, const struct strv *names, const char *how)
{
	if (names->n == 0)
		return kahu_error_set(KAHU_ENOTFOUND, "no Velero backup in %s (looked for %s)", dir, how);
	if (names->n > 1 && !name) {
		char *all = strv_join(names, ", ");
		int rc = kahu_error_set(KAHU_EUSAGE, "%s holds %zu Velero backups (%s): name the one to restore "
					"with --from-backup NAME", dir, names->n, all);
		free(all);
		return rc;
	}
	return 0;
}

static void note(struct velero_src *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct velero_src *v, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		json_array_append_new(v->notes, json_string(s));
	free(s);
}

static const char *jpath(json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

static void claim_add(struct velero_src *v, const char *ns, const char *pvc, const char *why)
{
	if (!ns || !pvc)
		return;
	char *k = xasprintf("%s\t%s", ns, pvc);
	if (!json_object_get(v->claims, k))
		json_object_set_new(v->claims, k, json_string(why));
	free(k);
}

/* A gzip'd JSON array beside the tarball, when it is there. */
static int record(const char *dir, const char *backup, const char *suffix, json_t **out)
{
	char *p = xasprintf("%s/%s-%s.json.gz", dir, backup, suffix);
	int rc = velero_read_gz_json(p, RECORD_MAX, out);
	if (rc == 0 && !json_is_array(*out) && !json_is_null(*out))
		rc = kahu_error_set(KAHU_EDATA, "%s: not a JSON array", p);
	free(p);
	if (rc == KAHU_ENOTFOUND) {
		kahu_error_clear();
		return 0;
	}
	return rc;
}

static int read_records(const char *dir, struct velero_src *v)
{
	json_t *a = NULL, *e;
	size_t i;
	int rc;
	char *bj = xasprintf("%s/velero-backup.json", dir);
	if (is_file(bj)) {
		json_error_t jerr = { .text = "larger than a Backup object can be" };
		struct stat sb;
		json_t *b = stat(bj, &sb) == 0 && sb.st_size < (off_t)RECORD_MAX ? json_load_file(bj, 0, &jerr) : NULL;
		if (!json_is_object(b)) {
			rc = kahu_error_set(KAHU_EDATA, "%s: not a Velero Backup object (%s)", bj,
					    b ? "not a JSON object" : jerr.text);
			json_decref(b);
			free(bj);
			return rc;
		}
		v->records = 1;
		const char *phase = jpath(b, "status", "phase");
		if (phase && strcmp(phase, "Completed") != 0)
			note(v, "Velero recorded backup %s as %s: it may lack items", v->backup, phase);
		json_decref(b);
	}
	free(bj);
	if ((rc = record(dir, v->backup, "volumesnapshots", &a)) < 0)
		return rc;
	json_array_foreach(a, i, e) {
		const char *pv = jpath(e, "spec", "persistentVolumeName");
		const char *id = jpath(e, "status", "providerSnapshotID");
		if (pv && !json_object_get(v->pvs, pv))
			json_object_set_new(v->pvs, pv, json_sprintf("Velero kept it as a volume snapshot of PV %s "
				"(%s%s), taken by a volume snapshotter plugin kahu does not have", pv,
				id ? "provider snapshot " : "no snapshot ID", id ? id : ""));
	}
	json_decref(a);
	a = NULL;
	if ((rc = record(dir, v->backup, "podvolumebackups", &a)) < 0)
		return rc;
	json_array_foreach(a, i, e) {
		json_t *spec = json_object_get(e, "spec");
		const char *ns = jpath(spec, "pod", "namespace"), *pod = jpath(spec, "pod", "name");
		const char *vol = json_string_value(json_object_get(spec, "volume"));
		const char *up = json_string_value(json_object_get(spec, "uploaderType"));
		const char *pvc = jpath(json_object_get(e, "metadata"), "labels", "velero.io/pvc-name");
		char *why = xasprintf("Velero copied its files with a pod volume backup (%s, from pod %s/%s, volume %s) "
				      "into its own %s repository, which kahu does not read",
				      up ? up : "restic", ns ? ns : "?", pod ? pod : "?", vol ? vol : "?",
				      up ? up : "restic");
		if (pvc)
			claim_add(v, ns, pvc, why);
		else
			note(v, "pod %s/%s, volume %s: %s: not restored", ns ? ns : "?", pod ? pod : "?",
			     vol ? vol : "?", why);
		free(why);
	}
	json_decref(a);
	a = NULL;
	if ((rc = record(dir, v->backup, "csi-volumesnapshots", &a)) < 0)
		return rc;
	json_array_foreach(a, i, e) {
		const char *ns = jpath(e, "metadata", "namespace");
		const char *pvc = jpath(json_object_get(e, "spec"), "source", "persistentVolumeClaimName");
		const char *sn = jpath(e, "metadata", "name");
		char *why = xasprintf("Velero kept it as the CSI VolumeSnapshot %s, whose record kahu does not "
				      "restore", sn ? sn : "?");
		claim_add(v, ns, pvc, why);
		free(why);
	}
	json_decref(a);
	return 0;
}

int velero_src_open(const char *path, const char *name, struct velero_src *out)
{
	struct strv names = STRV_INIT;
	char *dir = NULL;
	int rc;
	memset(out, 0, sizeof *out);
	out->claims = json_object();
	out->pvs = json_object();
	out->notes = json_array();
	if (name && (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")))
		return kahu_error_set(KAHU_EUSAGE, "--from-backup \"%s\" is not a Velero backup name", name);
	if (is_dir(path)) {
		char *bdir = xasprintf("%s/backups", path);
		if (is_dir(bdir)) {
			/* a bucket prefix: backups/NAME/NAME.tar.gz */
			if ((rc = list_backups(path, &names)) < 0 ||
			    (rc = pick(path, name, &names, "backups/NAME/NAME.tar.gz")) < 0) {
				free(bdir);
				goto out;
			}
			out->backup = xstrdup(name ? name : names.v[0]);
			dir = xasprintf("%s/%s", bdir, out->backup);
		} else {
			/* one backup's directory: NAME.tar.gz */
			list_tarballs(path, &names);
			if ((rc = pick(path, name, &names, "NAME.tar.gz, or backups/NAME/NAME.tar.gz")) < 0) {
				free(bdir);
				goto out;
			}
			out->backup = xstrdup(name ? name : names.v[0]);
			dir = xstrdup(path);
		}
		free(bdir);
		char *abs = realpath(dir, NULL);
		out->file = xasprintf("%s/%s.tar.gz", abs ? abs : dir, out->backup);
		free(abs);
		if (!is_file(out->file)) {
			rc = kahu_error_set(KAHU_ENOTFOUND, "no Velero backup %s in %s (no %s)", out->backup, path,
					    out->file);
			goto out;
		}
	} else if (is_file(path)) {
		if (name) {
			rc = kahu_error_set(KAHU_EUSAGE, "--from-backup names a backup in a directory given to "
					    "--from-velero; %s is a file", path);
			goto out;
		}
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		size_t l = strlen(base);
		out->backup = l > 7 && strcmp(base + l - 7, ".tar.gz") == 0 ? xstrndup(base, l - 7) :
			      l > 4 && strcmp(base + l - 4, ".tgz") == 0 ? xstrndup(base, l - 4) : xstrdup(base);
		char *abs = realpath(path, NULL); /* the record names the file wherever it is read */
		out->file = xstrdup(abs ? abs : path);
		free(abs);
		dir = base == path ? xstrdup(".") : xstrndup(path, (size_t)(base - path - 1));
		if (!*dir) {
			free(dir);
			dir = xstrdup("/");
		}
	} else {
		rc = kahu_error_set(KAHU_ENOTFOUND, "--from-velero %s: %s", path,
				    errno == ENOENT ? "no such file or directory" : strerror(errno));
		goto out;
	}
	rc = read_records(dir, out);
out:
	free(dir);
	strv_free(&names);
	return rc;
}

void velero_src_free(struct velero_src *v)
{
	free(v->backup);
	free(v->file);
	json_decref(v->claims);
	json_decref(v->pvs);
	json_decref(v->notes);
	memset(v, 0, sizeof *v);
}

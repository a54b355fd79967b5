#include "store/volloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "store/layout.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"
#include "util/timeutil.h"

void volloc_marker_clear(struct volloc_marker *mk)
{
	free(mk->backup);
	free(mk->location);
	free(mk->token);
	memset(mk, 0, sizeof *mk);
}

void volloc_token_new(char out[MANIFEST_VOLLOC_TOKEN_LEN + 1])
{
	unsigned char raw[MANIFEST_VOLLOC_TOKEN_LEN / 2];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(out, MANIFEST_VOLLOC_TOKEN_LEN + 1, raw, sizeof raw);
}

int volloc_open(struct repo *meta, const char *name, const char *backup, struct repo **out)
{
	struct repo_opts o = { .config = repo_config(meta), .location = name };
	const struct kahu_location *loc;
	*out = NULL;
	if (config_location(repo_config(meta), name, &loc) < 0)
		return kahu_error_wrap(KAHU_ENOTFOUND, "the volume data of backup %s is on location %s, which "
				       "the configuration does not define", backup, name);
	int rc = repo_open(&o, out);
	if (rc < 0)
		return kahu_error_wrap(rc == KAHU_ENOTFOUND || rc == KAHU_EINTR ? rc : KAHU_EUNREACHABLE,
				       "the volume data of backup %s is on location %s, which cannot be "
				       "opened", backup, name);
	return 0;
}

int volloc_marker_write(struct repo *vl, const char *backup, const char *meta_location,
			const char *token)
{
	char created[64];
	time_rfc3339(time(NULL), created, sizeof created);
	json_t *doc = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "kind", VOLLOC_MARKER_KIND,
				"version", VOLLOC_MARKER_VERSION, "backup", backup, "location",
				meta_location, "token", token, "created", created);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	char *key = layout_volume_marker(backup);
	int rc = store_write_small_ex(repo_store(vl), key, KAHU_PUT_EXCLUSIVE, text, strlen(text));
	if (rc == KAHU_EEXIST) {
		struct volloc_marker mk = { 0 };
		if (volloc_marker_read(vl, backup, &mk) == 0)
			kahu_error_set(KAHU_EEXIST, "the name %s is taken on volume location %s: it holds the "
				       "volume data of backup %s of location %s", backup,
				       repo_location(vl)->name, mk.backup, mk.location);
		else
			kahu_error_set(KAHU_EEXIST, "the name %s is taken on volume location %s (%s exists)",
				       backup, repo_location(vl)->name, key);
		volloc_marker_clear(&mk);
	} else if (rc < 0) {
		kahu_error_wrap(rc, "volume location %s: cannot write %s", repo_location(vl)->name, key);
	}
	free(key);
	free(text);
	return rc;
}

int volloc_marker_read(struct repo *vl, const char *backup, struct volloc_marker *out)
{
	struct kbuf text = KBUF_INIT;
	char *key = layout_volume_marker(backup);
	const char *loc = repo_location(vl)->name;
	json_t *doc = NULL;
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = store_read_small(repo_store(vl), key, VOLLOC_MARKER_MAX, &text)) < 0) {
		if (rc == KAHU_ENOTFOUND)
			kahu_error_set(rc, "location %s holds no volume data of backup %s (no %s there)", loc,
				       backup, key);
		else
			kahu_error_wrap(rc, "volume location %s: cannot read %s", loc, key);
		goto out;
	}
	doc = json_loadb(text.data ? text.data : "", text.len, 0, NULL);
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *b = json_string_value(json_object_get(doc, "backup"));
	const char *l = json_string_value(json_object_get(doc, "location"));
	const char *t = json_string_value(json_object_get(doc, "token"));
	if (!kind || strcmp(kind, VOLLOC_MARKER_KIND) != 0 ||
	    json_integer_value(json_object_get(doc, "version")) != VOLLOC_MARKER_VERSION || !b || !l || !t) {
		rc = kahu_error_set(KAHU_EDATA, "volume location %s: %s is not a volume data marker of "
				    "version %d", loc, key, VOLLOC_MARKER_VERSION);
		goto out;
	}
	out->backup = xstrdup(b);
	out->location = xstrdup(l);
	out->token = xstrdup(t);
out:
	json_decref(doc);
	kbuf_free(&text);
	free(key);
	return rc;
}

/* Does the marker on vl belong to backup `backup` with `token`?  0, or KAHU_EDATA. */
static int marker_matches(struct repo *vl, const struct volloc_marker *mk, const char *backup,
			  const char *token)
{
	if (strcmp(mk->backup, backup) == 0 && strcmp(mk->token, token) == 0)
		return 0;
	return kahu_error_set(KAHU_EDATA, "location %s does not hold the volume data of this backup %s: "
			      "backups/%s/%s there belongs to backup %s of location %s, written by another "
			      "run (was the location renamed, or does it point elsewhere now?)",
			      repo_location(vl)->name, backup, backup, LAYOUT_VOLUME_MARKER, mk->backup,
			      mk->location);
}

int volloc_open_for(struct repo *meta, const struct manifest *m, struct repo **out)
{
	const struct manifest_volloc *v = &m->volume_location;
	struct volloc_marker mk = { 0 };
	int rc;
	*out = NULL;
	if (!v->name || strcmp(v->name, repo_location(meta)->name) == 0)
		return 0;
	if ((rc = volloc_open(meta, v->name, m->name, out)) < 0)
		return rc;
	if (strcmp(repo_location(*out)->provider, v->provider) != 0)
		log_warn("backup %s wrote its volume data to location %s with provider %s; that location "
			 "now uses provider %s", m->name, v->name, v->provider, repo_location(*out)->provider);
	rc = volloc_marker_read(*out, m->name, &mk);
	if (rc == 0)
		rc = marker_matches(*out, &mk, m->name, v->token);
	else if (rc != KAHU_ENOTFOUND && rc != KAHU_EDATA && rc != KAHU_EINTR)
		rc = kahu_error_wrap(KAHU_EUNREACHABLE, "the volume data of backup %s is on location %s, "
				     "which cannot be read", m->name, v->name);
	else if (rc == KAHU_ENOTFOUND)
		kahu_error_wrap(rc, "the volume data of backup %s is on location %s (was it removed, or does "
				"the location point elsewhere now?)", m->name, v->name);
	volloc_marker_clear(&mk);
	if (rc < 0) {
		repo_close(*out);
		*out = NULL;
	}
	return rc;
}

static int collect_key(void *ud, const char *key, const struct store_stat *st)
{
	(void)st;
	strv_push(ud, key);
	return 0;
}

int volloc_remove(struct repo *vl, const char *backup, const char *token, uint64_t *nremoved)
{
	struct volloc_marker mk = { 0 };
	struct strv keys = STRV_INIT;
	const char *loc = repo_location(vl)->name;
	char *marker = layout_volume_marker(backup), *prefix = layout_backup_dir(backup);
	uint64_t n = 0;
	int rc;

	if (nremoved)
		*nremoved = 0;
	if ((rc = repo_check_writable(vl)) < 0)
		goto out;
	rc = volloc_marker_read(vl, backup, &mk);
	if (rc == KAHU_ENOTFOUND) {
		/* Removed already (an earlier delete stopped after this part): nothing to do. */
		kahu_error_clear();
		rc = 0;
		goto out;
	}
	if (rc < 0 || (rc = marker_matches(vl, &mk, backup, token)) < 0)
		goto out;
	if ((rc = store_list(repo_store(vl), prefix, collect_key, &keys)) < 0) {
		kahu_error_wrap(rc, "volume location %s: cannot list %s", loc, prefix);
		goto out;
	}
	/* The marker last: until it goes, the name stays taken and a later delete finds
	 * what is left. */
	for (size_t i = 0; i <= keys.n; i++) {
		const char *k = i < keys.n ? keys.v[i] : marker;
		if (i < keys.n && strcmp(k, marker) == 0)
			continue;
		rc = store_remove(repo_store(vl), k);
		if (rc == KAHU_ENOTFOUND) {
			kahu_error_clear();
			rc = 0;
			continue;
		}
		if (rc < 0) {
			kahu_error_wrap(rc, "volume location %s: cannot remove %s", loc, k);
			goto out;
		}
		n++;
	}
out:
	if (nremoved)
		*nremoved = n;
	volloc_marker_clear(&mk);
	strv_free(&keys);
	free(marker);
	free(prefix);
	return rc;
}

int volloc_remove_for(struct repo *meta, const char *backup, uint64_t *nremoved)
{
	struct kbuf text = KBUF_INIT;
	struct manifest *m = NULL;
	struct repo *vl = NULL;
	char *key = layout_backup_manifest(backup);
	int rc;

	if (nremoved)
		*nremoved = 0;
	rc = store_read_small(repo_store(meta), key, REPO_MANIFEST_MAX_SIZE, &text);
	if (rc == KAHU_ENOTFOUND || rc == KAHU_EDATA ||
	    (rc == 0 && manifest_parse(text.data ? text.data : "", text.len, &m) < 0)) {
		/* No manifest, or none that can be read: it names no volume location we can
		 * trust, and the caller removes what is on meta. */
		kahu_error_clear();
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		kahu_error_wrap(rc, "location %s: cannot read %s", repo_location(meta)->name, key);
		goto out;
	}
	const struct manifest_volloc *v = &m->volume_location;
	if (!v->name || strcmp(v->name, repo_location(meta)->name) == 0)
		goto out;
	if ((rc = volloc_open(meta, v->name, backup, &vl)) < 0 ||
	    (rc = volloc_remove(vl, backup, v->token, nremoved)) < 0) {
		int code = rc == KAHU_EDATA || rc == KAHU_ENOTFOUND || rc == KAHU_EINTR ||
			   rc == KAHU_EPERM ? rc : KAHU_EUNREACHABLE;
		kahu_error_wrap(code, "backup %s was not deleted: its volume data on location %s could not "
				"be removed, so its metadata on location %s is kept as it was", backup, v->name, repo_location(meta)->name);
		rc = code;
	}
out:
	repo_close(vl);
	manifest_free(m);
	kbuf_free(&text);
	free(key);
	return rc;
}

/* kahu — the stored outcome of the local after hooks of a backup or a restore.  See
 * hook_record.h. */
#include "engine/hook_record.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/seal.h"
#include "archive/stream.h"
#include "store/layout.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

/* The hash that binds a record to the commit point as stored. */
static int binding(const struct hook_record_owner *o, char out[KAHU_HASH_HEX_LEN + 1])
{
	if (!o->bound)
		return kahu_error_set(KAHU_EINTERNAL, "the stored text of the %s's %s is not known", o->member,
				      o->bound_member);
	kahu_key_hash(o->bound, o->bound_len, out);
	return 0;
}

int hook_record_write(struct kahu_store *st, const struct kahu_key *key, const struct hook_record_owner *o,
		      json_t *hooks)
{
	char bind[KAHU_HASH_HEX_LEN + 1], when[40];
	json_t *after = json_array(), *h;
	size_t i;
	int rc;

	json_array_foreach(hooks, i, h) {
		const char *w = json_string_value(json_object_get(h, "when"));
		if (w && strcmp(w, "after") == 0)
			json_array_append(after, h);
	}
	if (!json_array_size(after)) {
		json_decref(after);
		return 1;
	}
	if ((rc = binding(o, bind)) < 0) {
		json_decref(after);
		return rc;
	}
	time_rfc3339(time(NULL), when, sizeof when);
	json_t *doc = json_pack("{s:s, s:o, s:s, s:s, s:i, s:s}", o->member, o->name, "hooks", after,
				"kind", HOOK_RECORD_KIND, o->bound_member, bind, "version", 1, "written", when);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	struct kbuf sealed = KBUF_INIT;
	struct seal_writer sw = { 0 };
	if ((rc = seal_open(&sw, key, o->path, 3, kahu_write_to_kbuf, &sealed)) == 0 &&
	    (rc = seal_write(&sw, text, strlen(text))) == 0 &&
	    (rc = seal_write(&sw, "\n", 1)) == 0 && (rc = seal_finish(&sw)) == 0)
		rc = store_write_small_ex(st, o->path, KAHU_PUT_EXCLUSIVE, sealed.data, sealed.len);
	seal_close(&sw);
	kbuf_free(&sealed);
	free(text);
	return rc;
}

int hook_record_read(struct kahu_store *st, const struct kahu_key *key, const struct hook_record_owner *o,
		     json_t **hooks, char **written)
{
	char bind[KAHU_HASH_HEX_LEN + 1];
	const char *path = o->path;
	struct kbuf stored = KBUF_INIT, plain = KBUF_INIT;
	struct seal_reader sr = { 0 };
	json_t *doc = NULL;
	int rc;

	*hooks = NULL;
	if (written)
		*written = NULL;
	rc = store_read_small(st, path, HOOK_RECORD_MAX, &stored);
	if (rc == KAHU_ENOTFOUND) {
		kahu_error_clear();
		rc = 0;
		goto out;
	}
	if (rc < 0 ||
	    (rc = seal_reader_open(&sr, key, path, kahu_write_to_kbuf, &plain)) < 0 ||
	    (rc = seal_reader_feed(&sr, stored.data, stored.len)) < 0 ||
	    (rc = seal_reader_finish(&sr)) < 0 || (rc = binding(o, bind)) < 0)
		goto out;
	json_error_t je;
	doc = json_loadb(plain.data ? plain.data : "", plain.len, JSON_REJECT_DUPLICATES, &je);
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *b = json_string_value(json_object_get(doc, o->member));
	const char *mh = json_string_value(json_object_get(doc, o->bound_member));
	json_t *arr = json_object_get(doc, "hooks");
	if (!doc) {
		rc = kahu_error_set(KAHU_EDATA, "%s: not valid JSON: %s", path, je.text);
	} else if (!kind || strcmp(kind, HOOK_RECORD_KIND) != 0 || !json_is_array(arr) || !b || !mh) {
		rc = kahu_error_set(KAHU_EDATA, "%s: not a record of after hooks (kind %s, with %s, "
				    "%s and hooks)", path, HOOK_RECORD_KIND, o->member, o->bound_member);
	} else if (json_integer_value(json_object_get(doc, "version")) != 1) {
		rc = kahu_error_set(KAHU_EDATA, "%s: version %lld is not one this kahu reads (1)",
				    path, (long long)json_integer_value(json_object_get(doc, "version")));
	} else if (strcmp(b, o->name) != 0 || strcmp(mh, bind) != 0) {
		rc = kahu_error_set(KAHU_EDATA, "%s: it was written for another %s (%s%s), not "
				    "for this one's %s", path, o->member, b,
				    strcmp(b, o->name) == 0 ? ", an earlier one of this name" : "", o->bound_member);
	} else {
		*hooks = json_incref(arr);
		if (written && json_is_string(json_object_get(doc, "written")))
			*written = xstrdup(json_string_value(json_object_get(doc, "written")));
		rc = 1;
	}
out:
	seal_reader_close(&sr);
	json_decref(doc);
	kbuf_free(&stored);
	kbuf_free(&plain);
	return rc;
}

/* A backup's record: bound to its manifest as stored. */
static struct hook_record_owner backup_owner(const struct kahu_key *key, const char *name,
					     const struct manifest *m, char **path)
{
	*path = layout_backup_data(name, LAYOUT_AFTER_HOOKS, key != NULL);
	return (struct hook_record_owner){
		.member = "backup", .name = name, .path = *path, .bound_member = "manifest",
		.bound = m ? m->text : NULL, .bound_len = m ? m->text_len : 0,
	};
}

int hook_record_put(struct kahu_store *st, const struct kahu_key *key, const char *name,
		    const struct manifest *m, json_t *hooks)
{
	char *path;
	struct hook_record_owner o = backup_owner(key, name, m, &path);
	int rc = hook_record_write(st, key, &o, hooks);
	free(path);
	return rc;
}

int hook_record_get(struct kahu_store *st, const struct kahu_key *key, const char *name,
		    const struct manifest *m, json_t **hooks, char **written)
{
	char *path;
	struct hook_record_owner o = backup_owner(key, name, m, &path);
	int rc = hook_record_read(st, key, &o, hooks, written);
	free(path);
	return rc;
}

/* kahu — the stored outcome of a backup's local after hooks.  See hook_record.h. */
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

/* The hash that binds a record to the manifest as stored. */
static int manifest_binding(const struct manifest *m, char out[KAHU_HASH_HEX_LEN + 1])
{
	if (!m || !m->text)
		return kahu_error_set(KAHU_EINTERNAL, "the manifest's stored text is not known");
	kahu_key_hash(m->text, m->text_len, out);
	return 0;
}

int hook_record_put(struct kahu_store *st, const struct kahu_key *key, const char *name,
		    const struct manifest *m, json_t *hooks)
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
	if ((rc = manifest_binding(m, bind)) < 0) {
		json_decref(after);
		return rc;
	}
	time_rfc3339(time(NULL), when, sizeof when);
	json_t *doc = json_pack("{s:s, s:o, s:s, s:s, s:i, s:s}", "backup", name, "hooks", after,
				"kind", HOOK_RECORD_KIND, "manifest", bind, "version", 1, "written", when);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	char *path = layout_backup_data(name, LAYOUT_AFTER_HOOKS, key != NULL);
	struct kbuf sealed = KBUF_INIT;
	struct seal_writer sw = { 0 };
	if ((rc = seal_open(&sw, key, path, 3, kahu_write_to_kbuf, &sealed)) == 0 &&
	    (rc = seal_write(&sw, text, strlen(text))) == 0 &&
	    (rc = seal_write(&sw, "\n", 1)) == 0 && (rc = seal_finish(&sw)) == 0)
		rc = store_write_small_ex(st, path, KAHU_PUT_EXCLUSIVE, sealed.data, sealed.len);
	seal_close(&sw);
	kbuf_free(&sealed);
	free(text);
	free(path);
	return rc;
}

int hook_record_get(struct kahu_store *st, const struct kahu_key *key, const char *name,
		    const struct manifest *m, json_t **hooks, char **written)
{
	char bind[KAHU_HASH_HEX_LEN + 1];
	char *path = layout_backup_data(name, LAYOUT_AFTER_HOOKS, key != NULL);
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
	    (rc = seal_reader_finish(&sr)) < 0 || (rc = manifest_binding(m, bind)) < 0)
		goto out;
	json_error_t je;
	doc = json_loadb(plain.data ? plain.data : "", plain.len, JSON_REJECT_DUPLICATES, &je);
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	const char *b = json_string_value(json_object_get(doc, "backup"));
	const char *mh = json_string_value(json_object_get(doc, "manifest"));
	json_t *arr = json_object_get(doc, "hooks");
	if (!doc) {
		rc = kahu_error_set(KAHU_EDATA, "%s: not valid JSON: %s", path, je.text);
	} else if (!kind || strcmp(kind, HOOK_RECORD_KIND) != 0 || !json_is_array(arr) || !b || !mh) {
		rc = kahu_error_set(KAHU_EDATA, "%s: not a record of after hooks (kind %s, with backup, "
				    "manifest and hooks)", path, HOOK_RECORD_KIND);
	} else if (json_integer_value(json_object_get(doc, "version")) != 1) {
		rc = kahu_error_set(KAHU_EDATA, "%s: version %lld is not one this kahu reads (1)",
				    path, (long long)json_integer_value(json_object_get(doc, "version")));
	} else if (strcmp(b, name) != 0 || strcmp(mh, bind) != 0) {
		rc = kahu_error_set(KAHU_EDATA, "%s: it was written for another backup (%s%s), not "
				    "for this one's manifest", path, b, strcmp(b, name) == 0 ? ", an earlier one of this name" : "");
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
	free(path);
	return rc;
}

#include "engine/restore_record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/key.h"
#include "archive/record.h"
#include "archive/seal.h"
#include "engine/hook_record.h"
#include "store/layout.h"
#include "store/lock.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

json_t *restore_item_json(const struct restore_item_result *r)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "resource", r->resource, "name", r->name ? r->name : "",
			      "outcome", restore_outcome_name(r->outcome));
	if (r->ns)
		json_object_set_new(j, "namespace", json_string(r->ns));
	if (r->source_ns)
		json_object_set_new(j, "sourceNamespace", json_string(r->source_ns));
	if (r->reason)
		json_object_set_new(j, "reason", json_string(r->reason));
	if (r->volume)
		json_object_set(j, "volume", r->volume);
	if (r->transforms)
		json_object_set(j, "transforms", r->transforms);
	return j;
}

/* The results, encrypted (they name objects), and the summary, plain (counts only),
 * sealed with the key (record.h) when there is one. */

int restore_record_put_summary(struct kahu_store *st, const struct kahu_key *key, const char *name,
			 json_t *summary, unsigned flags)
{
	char *spath = layout_restore_summary(name);
	json_t *doc = json_deep_copy(summary);
	if (key)
		record_seal(doc, key, spath);
	char *sum = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	int rc = store_write_small_ex(st, spath, flags, sum, strlen(sum));
	json_decref(doc);
	free(sum);
	free(spath);
	return rc;
}

char *restore_lock_purpose(const char *name)
{
	return xasprintf("restore create %s", name);
}

/* A summary that says InProgress is the mark a run leaves when it starts.  When no live
 * lock of that run is held any more, the run ended without recording its result
 * (killed, its machine went down, or the result could not be stored): say so instead. */
struct live_ctx {
	char *purpose;
	int found;
};

static int find_live(void *ud, const struct store_lock_info *li)
{
	struct live_ctx *c = ud;
	char *why = NULL;
	if (li->purpose && strcmp(li->purpose, c->purpose) == 0 &&
	    !store_lock_is_stale(li, (int64_t)time(NULL), STORE_LOCK_STALE_AFTER, &why))
		c->found = 1;
	free(why);
	return 0;
}

void restore_record_settle(struct kahu_store *st, json_t *summary)
{
	const char *status = json_string_value(json_object_get(summary, "status"));
	const char *name = json_string_value(json_object_get(summary, "name"));
	if (!status || strcmp(status, "InProgress") != 0 || !name)
		return;
	struct live_ctx c = { restore_lock_purpose(name), 0 };
	if (store_lock_list(st, find_live, &c) == 0 && !c.found) {
		json_object_set_new(summary, "status", json_string("Interrupted"));
		json_object_set_new(summary, "error", json_string(
			"the run ended without recording its result (killed, its machine went "
			"down, or the location refused the result), so what it created is not "
			"known: run the restore again under another name; objects that are there "
			"and identical are skipped"));
	}
	free(c.purpose);
}

/* The restore's own log (what it said at info level and above) as
 * restores/NAME/log.jsonl.zst[.kenc]. */
int restore_record_put_log(struct repo *repo, const struct kahu_key *key, const char *name, FILE *log)
{
	char *path = layout_restore_data(name, LAYOUT_LOG, key != NULL);
	struct store_put *put = NULL;
	struct seal_writer sw = { 0 };
	int rc;
	if ((rc = store_put_begin_ex(repo_store(repo), path, KAHU_PUT_EXCLUSIVE, KAHU_BACKEND_SIZE_UNKNOWN,
				     &put)) < 0 ||
	    (rc = seal_open(&sw, key, path, 3, store_put_sink, put)) < 0 ||
	    (rc = seal_write_file(&sw, log)) < 0 || (rc = seal_finish(&sw)) < 0)
		goto out;
	rc = store_put_commit(put);
	put = NULL;
out:
	if (put)
		store_put_abort(put);
	seal_close(&sw);
	free(path);
	return rc;
}

int restore_record_put_results(struct repo *repo, const struct kahu_key *key, const char *name,
			 json_t *summary, FILE *lines)
{
	struct kahu_store *st = repo_store(repo);
	char *path = layout_restore_data(name, LAYOUT_RESULT, key != NULL);
	struct store_put *put = NULL;
	struct seal_writer sw = { 0 };
	char *line = NULL, *head = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc, first = 1;

	json_t *doc = json_deep_copy(summary);
	head = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	head[strlen(head) - 1] = '\0'; /* drop the closing brace: items follow */
	if ((rc = store_put_begin_ex(st, path, KAHU_PUT_EXCLUSIVE, KAHU_BACKEND_SIZE_UNKNOWN, &put)) < 0 ||
	    (rc = seal_open(&sw, key, path, 3, store_put_sink, put)) < 0 ||
	    (rc = seal_write(&sw, head, strlen(head))) < 0 ||
	    (rc = seal_write(&sw, ",\"items\":[", 10)) < 0)
		goto out;
	rewind(lines);
	while ((n = getline(&line, &cap, lines)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		if ((!first && (rc = seal_write(&sw, ",", 1)) < 0) || (rc = seal_write(&sw, line, (size_t)n)) < 0)
			goto out;
		first = 0;
	}
	if ((rc = seal_write(&sw, "]}\n", 3)) < 0 || (rc = seal_finish(&sw)) < 0)
		goto out;
	rc = store_put_commit(put);
	put = NULL;
	if (rc < 0)
		goto out;
	/* The plain summary (readable without the key) leaves out the hooks' outcomes:
	 * their commands and standard error are for the encrypted result only. */
	json_t *plain = json_deep_copy(summary);
	json_object_del(plain, "hooks");
	rc = restore_record_put_summary(st, key, name, plain, 0); /* replaces the InProgress mark */
	json_decref(plain);
out:
	if (put)
		store_put_abort(put);
	seal_close(&sw);
	free(line);
	free(head);
	free(path);
	return rc;
}

struct rlist {
	struct kahu_store *st;
	json_t *items;
	int keyed;               /* the location is keyed: records without a MAC are marked */
};

/* Records are listed without the key, as backups are: one with a MAC shows as stored
 * (restore describe authenticates it), one without is marked on a keyed location, and
 * one that cannot be read is listed as such rather than left out. */
static int list_restore_cb(void *ud, const char *key, const struct store_stat *ss)
{
	struct rlist *rl = ud;
	char *name = NULL;
	(void)ss;
	if (!layout_parse_restore_summary(key, &name))
		return 0;
	struct kbuf b = KBUF_INIT;
	json_t *j = NULL;
	int rc = store_read_small(rl->st, key, RECORD_TEXT_MAX, &b);
	if (rc == 0)
		rc = record_parse(b.data, b.len, key, &j);
	if (rc < 0) {
		/* the name from the path */
		j = json_pack("{s:s, s:s, s:s}", "name", name, "status", "Unreadable", "problem",
			      kahu_error_last());
		kahu_error_clear();
	} else {
		int sealed = record_is_sealed(j);
		json_object_del(j, "mac");
		json_object_del(j, "key_id");
		restore_record_settle(rl->st, j);
		json_object_set_new(j, "sealed", json_boolean(sealed));
		const char *st = json_string_value(json_object_get(j, "status"));
		if (!sealed && rl->keyed && st) {
			char *marked = xasprintf("%s (unauthenticated)", st);
			json_object_set_new(j, "status", json_string(marked));
			free(marked);
		}
	}
	json_array_append_new(rl->items, j);
	kbuf_free(&b);
	free(name);
	return 0;
}

static int collect(void *ud, const void *buf, size_t len)
{
	kbuf_add(ud, buf, len);
	return 0;
}

int restore_record_read(struct repo *repo, const char *name, const char *object, int encrypted,
		       struct kbuf *plain)
{
	const struct kahu_key *key = NULL;
	struct seal_reader sr = { 0 };
	struct kbuf stored = KBUF_INIT;
	char *path = layout_restore_data(name, object, encrypted);
	int rc = 0;
	if (encrypted)
		rc = repo_key(repo, &key);
	if (rc == 0)
		rc = store_get(repo_store(repo), path, 0, STORE_TO_END, collect, &stored);
	if (rc == 0)
		rc = seal_reader_open(&sr, key, path, collect, plain);
	if (rc == 0)
		rc = seal_reader_feed(&sr, stored.data, stored.len);
	if (rc == 0)
		rc = seal_reader_finish(&sr);
	seal_reader_close(&sr);
	kbuf_free(&stored);
	free(path);
	return rc;
}


int restore_record_load(const struct run_repo *rr, struct repo *repo, const char *name, json_t **out,
		       enum record_trust *trust)
{
	struct kbuf sum = KBUF_INIT;
	char *spath = layout_restore_summary(name);
	char *what = xasprintf("the record of restore %s (%s)", name, spath);
	const struct kahu_key *key = NULL;
	json_t *doc = NULL;
	int rc = store_read_small(repo_store(repo), spath, RECORD_TEXT_MAX, &sum);

	*out = NULL;
	*trust = TRUST_NONE;
	if (rc == KAHU_ENOTFOUND)
		rc = kahu_error_set(rc, "no restore named %s on location %s", name, repo_location(repo)->name);
	if (rc == 0)
		rc = record_parse(sum.data, sum.len, what, &doc);
	if (rc == 0 && record_is_sealed(doc)) {
		if ((rc = repo_key(repo, &key)) < 0)
			kahu_error_wrap(rc, "%s is sealed with the location's key", what);
		else if ((rc = record_verify(doc, key, spath, what)) == RECORD_AUTHENTIC)
			*trust = TRUST_SEALED;
	} else if (rc == 0 && !json_is_true(json_object_get(doc, "encrypted"))) {
		char *w = xasprintf("the record of restore %s says the restore was not encrypted "
				    "and carries no MAC", name);
		rc = run_unencrypted_rule(rr, repo, w);
		free(w);
	}
	if (rc == 0) {
		json_object_del(doc, "mac");
		json_object_del(doc, "key_id");
		*out = doc;
		doc = NULL;
	}
	json_decref(doc);
	kbuf_free(&sum);
	free(spath);
	free(what);
	return rc;
}

int restore_record_check(const char *name, json_t *summary, json_t *result)
{
	char *spath = layout_restore_summary(name);
	const char *k;
	json_t *v;
	int rc = 0;
	json_object_foreach(summary, k, v)
		if (!json_equal(v, json_object_get(result, k))) {
			rc = kahu_error_set(KAHU_ECRYPTO, "%s disagrees with the restore's encrypted "
					    "result on \"%s\": it was altered", spath, k);
			goto out;
		}
	json_object_foreach(result, k, v)
		if (strcmp(k, "items") != 0 && strcmp(k, "hooks") != 0 && !json_object_get(summary, k)) {
			rc = kahu_error_set(KAHU_ECRYPTO, "%s lacks \"%s\", which the restore's "
					    "encrypted result holds: it was altered", spath, k);
			goto out;
		}
out:
	free(spath);
	return rc;
}

int restore_catalog_list(struct repo *repo, int keyed, json_t *items)
{
	struct rlist rl = { .st = repo_store(repo), .items = items, .keyed = keyed };
	return store_list(rl.st, LAYOUT_RESTORES, list_restore_cb, &rl);
}

/* restore.json as stored, the point the after hooks' record is bound to. */
static int after_hooks_owner(struct kahu_store *st, const struct kahu_key *key, const char *name,
			     struct kbuf *bound, char **path, struct hook_record_owner *o)
{
	char *spath = layout_restore_summary(name);
	int rc = store_read_small(st, spath, RECORD_TEXT_MAX, bound);
	free(spath);
	*path = layout_restore_data(name, LAYOUT_AFTER_HOOKS, key != NULL);
	*o = (struct hook_record_owner){
		.member = "restore", .name = name, .path = *path, .bound_member = "record",
		.bound = bound->data ? bound->data : "", .bound_len = bound->len,
	};
	return rc;
}

int restore_record_put_after_hooks(struct kahu_store *st, const struct kahu_key *key, const char *name,
				   json_t *hooks)
{
	struct kbuf bound = KBUF_INIT;
	struct hook_record_owner o;
	char *path = NULL;
	int rc = after_hooks_owner(st, key, name, &bound, &path, &o);
	if (rc == 0)
		rc = hook_record_write(st, key, &o, hooks);
	kbuf_free(&bound);
	free(path);
	return rc;
}

int restore_record_get_after_hooks(struct kahu_store *st, const struct kahu_key *key, const char *name,
				   json_t **hooks, char **written)
{
	struct kbuf bound = KBUF_INIT;
	struct hook_record_owner o;
	char *path = NULL;
	int rc = after_hooks_owner(st, key, name, &bound, &path, &o);
	*hooks = NULL;
	if (written)
		*written = NULL;
	if (rc == 0)
		rc = hook_record_read(st, key, &o, hooks, written);
	kbuf_free(&bound);
	free(path);
	return rc;
}

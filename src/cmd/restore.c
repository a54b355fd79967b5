/* kahu restore create|list|describe. */
#include "cmd/backup_common.h"
#include "cmd/common_opts.h"
#include "archive/envelope.h"
#include "archive/key.h"
#include "archive/record.h"
#include "archive/seal.h"
#include "archive/zstream.h"
#include "cli/progress.h"
#include "engine/restore.h"
#include "engine/sanitize.h"
#include "engine/scope.h"
#include "kube/client.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESULT_OBJECT "result.json.zst"
#define LOG_OBJECT "log.jsonl.zst"
#define SUMMARY_OBJECT "restore.json"

struct restore_cmd {
	struct kahu_ctx *ctx;
	FILE *results;           /* temporary: one JSON line per item */
	int dry;
	int first;               /* dry run -o json/yaml: first element printed */
	json_t *dry_items;       /* dry run -o yaml: collected */
	struct out_table *table; /* dry run table */
	long failed_shown;
};

static json_t *item_json(const struct restore_item_result *r)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "resource", r->resource, "name", r->name ? r->name : "",
			      "outcome", restore_outcome_name(r->outcome));
	if (r->ns)
		json_object_set_new(j, "namespace", json_string(r->ns));
	if (r->source_ns)
		json_object_set_new(j, "sourceNamespace", json_string(r->source_ns));
	if (r->reason)
		json_object_set_new(j, "reason", json_string(r->reason));
	return j;
}

static void on_item(void *ud, const struct restore_item_result *r, json_t *obj)
{
	struct restore_cmd *rc = ud;
	json_t *j = item_json(r);
	if (rc->results) {
		char *line = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		fprintf(rc->results, "%s\n", line);
		free(line);
	}
	if (rc->dry) {
		enum out_format f = rc->ctx->out;
		if (f == OUT_JSON || f == OUT_YAML) {
			if (obj && strcmp(r->resource, "secrets") == 0) {
				/* Secret values stay out of what is printed. */
				json_t *copy = json_deep_copy(obj);
				const char *fields[] = { "data", "stringData" };
				for (int fi = 0; fi < 2; fi++) {
					const char *k;
					json_t *v;
					json_object_foreach(json_object_get(copy, fields[fi]), k, v) {
						char *red = xasprintf("<redacted: %zu characters>", json_string_length(v));
						json_object_set_new(json_object_get(copy, fields[fi]), k, json_string(red));
						free(red);
					}
				}
				json_object_set_new(j, "object", copy);
			} else if (obj) {
				json_object_set(j, "object", obj);
			}
			if (f == OUT_JSON) {
				char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
				printf("%s%s", rc->first ? ",\n" : "[\n", s);
				free(s);
				rc->first = 1;
			} else {
				json_array_append(rc->dry_items, j);
			}
		} else {
			const char *row[] = { r->resource, r->ns ? r->ns : "", r->name ? r->name : "",
					      restore_outcome_name(r->outcome), r->reason ? r->reason : "" };
			out_table_row(rc->table, row);
		}
	} else if (r->outcome == OUTCOME_FAILED) {
		log_warn("%s %s%s%s: %s", r->resource, r->ns ? r->ns : "", r->ns ? "/" : "", r->name ? r->name : "",
			 r->reason ? r->reason : "failed");
	}
	json_decref(j);
}

static void on_progress(void *ud, long done, long total)
{
	(void)ud;
	progress_update("%ld/%ld items", done, total);
}

/* The results, encrypted (they name objects), and the summary, plain (counts only),
 * sealed with the key (record.h) when there is one. */

static int write_summary(struct kahu_store *st, const struct kahu_key *key, const char *name,
			 json_t *summary, unsigned flags)
{
	char *spath = xasprintf("restores/%s/%s", name, SUMMARY_OBJECT);
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

static char *lock_purpose(const char *name)
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

static void settle_status(struct kahu_store *st, json_t *summary)
{
	const char *status = json_string_value(json_object_get(summary, "status"));
	const char *name = json_string_value(json_object_get(summary, "name"));
	if (!status || strcmp(status, "InProgress") != 0 || !name)
		return;
	struct live_ctx c = { lock_purpose(name), 0 };
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
static int write_log(struct repo *repo, const struct kahu_key *key, const char *name, FILE *log)
{
	char *path = xasprintf("restores/%s/%s%s", name, LOG_OBJECT, key ? ".kenc" : "");
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

static void log_line(void *ud, int level, const char *json_line)
{
	(void)level;
	fprintf(ud, "%s\n", json_line);
}

static FILE *private_temp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *tpath = xasprintf("%s/kahu-restore.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(tpath);
	FILE *f = NULL;
	if (fd >= 0) {
		unlink(tpath);
		if (!(f = fdopen(fd, "w+")))
			close(fd);
	}
	free(tpath);
	return f;
}

static int write_results(struct repo *repo, const struct kahu_key *key, const char *name,
			 json_t *summary, FILE *lines)
{
	struct kahu_store *st = repo_store(repo);
	char *path = xasprintf("restores/%s/%s%s", name, RESULT_OBJECT, key ? ".kenc" : "");
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
	rc = write_summary(st, key, name, summary, 0); /* replaces the InProgress mark */
out:
	if (put)
		store_put_abort(put);
	seal_close(&sw);
	free(line);
	free(head);
	free(path);
	return rc;
}

static int run_restore_create(struct kahu_ctx *ctx)
{
	const struct kahu_invocation *inv = ctx->inv;
	const char *backup = inv_str(inv, "from-backup");
	struct restore_cmd rcmd = { .ctx = ctx, .dry = inv_count(inv, "dry-run") > 0 };
	FILE *logf = NULL;
	struct kahu_scope *scope = NULL;
	struct ns_map *map = NULL;
	struct repo *repo = NULL;
	struct store_lock *lock = NULL;
	struct kube_client *kc;
	const struct kahu_key *key = NULL;
	struct manifest_view mv = { 0 };
	struct restore_totals tot = { 0 };
	struct strv status_include = STRV_INIT;
	char *name = NULL;
	long parallel = 8, crd_timeout = 60;
	int rc;

	if (!backup)
		return kahu_error_set(KAHU_EUSAGE, "restore create needs --from-backup BACKUP");
	if (inv->args.n)
		name = xstrdup(inv->args.v[0]);
	else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &tm);
		name = xasprintf("%s-%s", backup, ts);
	}
	const char *policy = inv_str(inv, "existing-resource-policy");
	if (policy && strcmp(policy, "none") && strcmp(policy, "update")) {
		rc = kahu_error_set(KAHU_EUSAGE, "--existing-resource-policy must be none or update, not \"%s\"", policy);
		goto out;
	}
	for (size_t i = 0; i < inv_list(inv, "status-include-resources")->n; i++)
		strv_split(&status_include, inv_list(inv, "status-include-resources")->v[i], ',');
	if ((rc = repo_valid_name(name)) < 0 ||
	    (rc = inv_long(inv, "parallel", 1, 64, &parallel)) < 0 ||
	    (rc = inv_long(inv, "crd-timeout", 1, 3600, &crd_timeout)) < 0 ||
	    (rc = scope_from_flags(inv, &scope)) < 0 ||
	    (inv_str(inv, "namespace-mappings") && (rc = ns_map_parse(inv_str(inv, "namespace-mappings"), &map)) < 0))
		goto out;

	if ((rc = cmd_open_repo(ctx, 0, &repo)) < 0 || (rc = backup_read_trusted(ctx, repo, backup, &mv)) < 0)
		goto out;
	/* On a keyed location the key is used also for an unencrypted backup that was
	 * accepted: the chain may hold encrypted ones, and the record is sealed with it. */
	if ((mv.encrypted || repo_get_info(repo)->key_id[0]) && (rc = repo_key(repo, &key)) < 0)
		goto out;
	if (!rcmd.dry) {
		char *purpose = lock_purpose(name);
		rc = repo_check_writable(repo);
		if (rc == 0)
			rc = cmd_repo_lock(ctx, repo, purpose, &lock);
		free(purpose);
		if (rc < 0)
			goto out;
		char *spath = xasprintf("restores/%s/%s", name, SUMMARY_OBJECT);
		struct store_stat ss;
		rc = store_stat(repo_store(repo), spath, &ss);
		free(spath);
		if (rc == 0) {
			rc = kahu_error_set(KAHU_EEXIST, "a restore named %s exists already; choose another name", name);
			goto out;
		}
		if (rc != KAHU_ENOTFOUND)
			goto out;
		rcmd.results = private_temp();
		logf = rcmd.results ? private_temp() : NULL;
		if (!rcmd.results || !logf) {
			rc = kahu_error_set(KAHU_EIO, "cannot create a temporary file: %s", strerror(errno));
			goto out;
		}
	}
	if ((rc = ctx_kube_client(ctx, &kc)) < 0)
		goto out;

	if (rcmd.dry && ctx->out == OUT_YAML)
		rcmd.dry_items = json_array();
	if (rcmd.dry && (ctx->out == OUT_TABLE || ctx->out == OUT_NAME)) {
		static const char *const hdr[] = { "TYPE", "NAMESPACE", "NAME", "ACTION", "REASON" };
		rcmd.table = out_table_new(5, hdr);
	}
	struct restore_spec spec = {
		.name = name,
		.backup = backup,
		.st = repo_store(repo),
		.key = key,
		.scope = scope,
		.map = map,
		.existing = policy && strcmp(policy, "update") == 0 ? EXISTING_UPDATE : EXISTING_NONE,
		.restore_owned = inv_count(inv, "restore-owned") > 0,
		.preserve_nodeports = inv_count(inv, "preserve-nodeports") > 0,
		.status_include = &status_include,
		.allow_unencrypted = inv_count(inv, "allow-unencrypted") > 0,
		.dry_run = rcmd.dry,
		.parallel = (int)parallel,
		.crd_timeout = (int)crd_timeout,
		.on_item = on_item,
		.progress = on_progress,
		.ud = &rcmd,
	};
	if (!rcmd.dry) {
		/* The mark of a run under way: a run that is killed leaves it behind, and
		 * list and describe then say it was interrupted without a result. */
		char now[32];
		time_rfc3339(time(NULL), now, sizeof now);
		json_t *mark = json_pack("{s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i}, s:[], s:b}",
					 "name", name, "backup", backup, "status", "InProgress",
					 "started", now, "counts", "items", 0, "created", 0, "updated", 0,
					 "skipped", 0, "failed", 0, "warnings", "encrypted", key != NULL);
		rc = write_summary(repo_store(repo), key, name, mark, KAHU_PUT_EXCLUSIVE);
		json_decref(mark);
		if (rc == KAHU_EEXIST)
			rc = kahu_error_set(KAHU_EEXIST, "a restore named %s exists already; choose another name", name);
		if (rc < 0)
			goto out;
	}
	if (logf)
		kahu_log_set_sink(log_line, logf, KAHU_LOG_INFO);
	progress_start(ctx->progress && !rcmd.dry, "restoring");
	rc = restore_run(kc, &spec, &tot);
	progress_done();
	if (logf)
		kahu_log_set_sink(NULL, NULL, 0);
	int interrupted = rc == KAHU_EINTR;
	if (rc < 0 && !interrupted && rcmd.dry)
		goto out;
	/* A run that stopped as a whole (the backup unreadable, the cluster gone) records
	 * what it did so far, and why it stopped. */
	int fatal = rc < 0 && !interrupted ? rc : 0;
	char *fatal_msg = fatal ? xstrdup(kahu_error_last()) : NULL;

	char started[32], completed[32];
	time_rfc3339(tot.started, started, sizeof started);
	time_rfc3339(tot.completed, completed, sizeof completed);
	json_t *summary = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:O, s:b}",
				    "name", name, "backup", backup, "status", tot.status,
				    "started", started, "completed", completed, "counts",
				    "items", (json_int_t)tot.items, "created", (json_int_t)tot.created,
				    "updated", (json_int_t)tot.updated, "skipped", (json_int_t)tot.skipped,
				    "failed", (json_int_t)tot.failed, "warnings", tot.warnings,
				    "encrypted", key != NULL);
	if (fatal_msg)
		json_object_set_new(summary, "error", json_string(fatal_msg));
	if (rcmd.dry) {
		if (ctx->out == OUT_JSON)
			printf("%s]\n", rcmd.first ? "\n" : "[");
		else if (ctx->out == OUT_YAML)
			out_yaml(stdout, rcmd.dry_items);
		else {
			out_table_print(rcmd.table, stdout);
			printf("\nDry run of restore %s from backup %s: %ld to create, %ld to update, %ld skipped, %ld failing; nothing was written.\n",
			       name, backup, tot.created, tot.updated, tot.skipped, tot.failed);
			size_t wi;
			json_t *w;
			json_array_foreach(tot.warnings, wi, w)
				printf("Warning: %s\n", json_string_value(w));
		}
	} else {
		int wrc = write_log(repo, key, name, logf);
		if (wrc < 0)
			log_warn("cannot store the log of restore %s: %s", name, kahu_error_last());
		wrc = write_results(repo, key, name, summary, rcmd.results);
		if (wrc < 0)
			log_error("cannot store the result of restore %s: %s", name, kahu_error_last());
		if (fatal)
			; /* the error says it all */
		else if (ctx->out == OUT_JSON)
			out_json(stdout, summary);
		else if (ctx->out == OUT_YAML)
			out_yaml(stdout, summary);
		else if (ctx->out == OUT_NAME)
			printf("restore/%s\n", name);
		else
			printf("Restore %s from backup %s: %s. %ld created, %ld updated, %ld skipped, %ld failed.\n"
			       "Details: kahu restore describe %s --details\n",
			       name, backup, tot.status, tot.created, tot.updated, tot.skipped, tot.failed, name);
		if (wrc < 0 && !interrupted && !fatal)
			rc = wrc;
	}
	json_decref(summary);
	if (fatal)
		rc = kahu_error_set(fatal, "%s (restore %s stopped after %ld items; what it did is recorded: "
				    "kahu restore describe %s --details)", fatal_msg, name, tot.items, name);
	free(fatal_msg);
	if (fatal)
		;
	else if (interrupted)
		rc = kahu_error_set(KAHU_EINTR, "restore %s interrupted after %ld items; the result so far is stored",
				    name, tot.items);
	else if (rc == 0 && tot.failed)
		rc = kahu_error_set(tot.created + tot.updated + tot.skipped ? KAHU_EPARTIAL : KAHU_EFAIL,
				    "restore %s: %ld items failed (see kahu restore describe %s --details)",
				    name, tot.failed, name);
	if (rc == KAHU_EPARTIAL)
		log_error("%s", kahu_error_last());
out:
	if (logf) {
		kahu_log_set_sink(NULL, NULL, 0);
		fclose(logf);
	}
	if (rcmd.results)
		fclose(rcmd.results);
	out_table_free(rcmd.table);
	json_decref(rcmd.dry_items);
	restore_totals_clear(&tot);
	manifest_view_clear(&mv);
	if (lock && repo_unlock(lock) < 0 && rc == 0)
		rc = kahu_error_code();
	repo_close(repo);
	scope_free(scope);
	ns_map_free(map);
	strv_free(&status_include);
	free(name);
	return rc;
}

/* ---- list and describe ---- */

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
	(void)ss;
	size_t l = strlen(key);
	if (l < strlen("restores/") + 1 + sizeof SUMMARY_OBJECT ||
	    strcmp(key + l - (sizeof SUMMARY_OBJECT - 1), SUMMARY_OBJECT) != 0 ||
	    key[l - sizeof SUMMARY_OBJECT] != '/')
		return 0;
	struct kbuf b = KBUF_INIT;
	json_t *j = NULL;
	int rc = store_read_small(rl->st, key, RECORD_TEXT_MAX, &b);
	if (rc == 0)
		rc = record_parse(b.data, b.len, key, &j);
	if (rc < 0) {
		/* restores/<name>/restore.json: the name from the path */
		const char *n = key + strlen("restores/");
		char *name = xstrndup(n, (size_t)(key + l - sizeof SUMMARY_OBJECT - n));
		j = json_pack("{s:s, s:s, s:s}", "name", name, "status", "Unreadable", "problem",
			      kahu_error_last());
		free(name);
		kahu_error_clear();
	} else {
		int sealed = record_is_sealed(j);
		json_object_del(j, "mac");
		json_object_del(j, "key_id");
		settle_status(rl->st, j);
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
	return 0;
}

static int run_restore_list(struct kahu_ctx *ctx)
{
	struct repo *repo = NULL;
	struct rlist rl = { .items = json_array() };
	int rc;
	if ((rc = cmd_open_repo(ctx, 0, &repo)) < 0)
		goto out;
	rl.st = repo_store(repo);
	rl.keyed = cmd_repo_keyed(ctx, repo);
	if ((rc = store_list(rl.st, "restores/", list_restore_cb, &rl)) < 0)
		goto out;
	size_t i;
	json_t *r;
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *doc = json_pack("{s:O}", "restores", rl.items);
		rc = ctx->out == OUT_JSON ? out_json(stdout, doc) : out_yaml(stdout, doc);
		json_decref(doc);
	} else if (ctx->out == OUT_NAME) {
		json_array_foreach(rl.items, i, r)
			printf("restore/%s\n", json_string_value(json_object_get(r, "name")));
	} else if (json_array_size(rl.items)) {
		static const char *const hdr[] = { "NAME", "BACKUP", "STATUS", "STARTED", "CREATED", "UPDATED", "SKIPPED", "FAILED" };
		struct out_table *t = out_table_new(8, hdr);
		json_array_foreach(rl.items, i, r) {
			json_t *c = json_object_get(r, "counts");
			char n[4][24];
			const char *keys[4] = { "created", "updated", "skipped", "failed" };
			for (int k = 0; k < 4; k++)
				snprintf(n[k], sizeof n[k], "%lld", (long long)json_integer_value(json_object_get(c, keys[k])));
			const char *row[] = { json_string_value(json_object_get(r, "name")),
					      json_string_value(json_object_get(r, "backup")),
					      json_string_value(json_object_get(r, "status")),
					      json_string_value(json_object_get(r, "started")), n[0], n[1], n[2], n[3] };
			out_table_row(t, row);
		}
		out_table_print(t, stdout);
		out_table_free(t);
	} else {
		fprintf(stderr, "No restores on location %s.\n", repo_location(repo)->name);
	}
out:
	json_decref(rl.items);
	repo_close(repo);
	return rc;
}

static int collect(void *ud, const void *buf, size_t len)
{
	kbuf_add(ud, buf, len);
	return 0;
}

/* restores/NAME/OBJECT[.kenc], decrypted and decompressed into plain. */
static int read_sealed(struct repo *repo, const char *name, const char *object, int encrypted,
		       struct kbuf *plain)
{
	const struct kahu_key *key = NULL;
	struct zstream *z = NULL;
	struct kenc_reader *enc = NULL;
	struct kbuf stored = KBUF_INIT;
	char *path = xasprintf("restores/%s/%s%s", name, object, encrypted ? ".kenc" : "");
	int rc = 0;
	if (encrypted)
		rc = repo_key(repo, &key);
	if (rc == 0)
		rc = store_get(repo_store(repo), path, 0, STORE_TO_END, collect, &stored);
	if (rc == 0)
		rc = zs_decompress_new(collect, plain, &z);
	if (rc == 0 && key)
		rc = kenc_reader_new(key, path, zs_feed_cb, z, &enc);
	if (rc == 0)
		rc = enc ? kenc_reader_feed(enc, stored.data, stored.len) : zs_feed(z, stored.data, stored.len);
	if (rc == 0 && enc)
		rc = kenc_reader_finish(enc);
	if (rc == 0)
		rc = zs_finish(z);
	zs_free(z);
	kenc_reader_free(enc);
	kbuf_free(&stored);
	free(path);
	return rc;
}

/* How far a restore's record (restore.json) can be trusted. */
enum record_trust {
	TRUST_NONE,     /* no MAC, and not checked against anything */
	TRUST_CHECKED,  /* no MAC (an older kahu), but it agrees with the encrypted result */
	TRUST_SEALED,   /* its MAC was checked with the key */
};

/* restores/NAME/restore.json, parsed and authenticated.  A sealed record (record.h)
 * must verify with the repository's key.  One without a MAC is accepted when it says
 * the restore was encrypted (so written by a kahu that did not seal records; what its
 * result and log hold is authenticated by their envelopes), and otherwise only under
 * the rule for unencrypted data (cmd_unencrypted_rule).  *trust gets TRUST_SEALED or
 * TRUST_NONE.  The MAC members are removed from *out. */
static int load_record(struct kahu_ctx *ctx, struct repo *repo, const char *name, json_t **out,
		       enum record_trust *trust)
{
	struct kbuf sum = KBUF_INIT;
	char *spath = xasprintf("restores/%s/%s", name, SUMMARY_OBJECT);
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
		rc = cmd_unencrypted_rule(ctx, repo, w);
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

/* A record without a MAC against the head of the restore's encrypted result, which
 * repeats it (write_results): any difference means restore.json was altered. */
static int check_against_result(const char *name, json_t *summary, json_t *result)
{
	const char *k;
	json_t *v;
	json_object_foreach(summary, k, v)
		if (!json_equal(v, json_object_get(result, k)))
			return kahu_error_set(KAHU_ECRYPTO, "restores/%s/%s disagrees with the "
					      "restore's encrypted result on \"%s\": it was altered",
					      name, SUMMARY_OBJECT, k);
	json_object_foreach(result, k, v)
		if (strcmp(k, "items") != 0 && !json_object_get(summary, k))
			return kahu_error_set(KAHU_ECRYPTO, "restores/%s/%s lacks \"%s\", which the "
					      "restore's encrypted result holds: it was altered",
					      name, SUMMARY_OBJECT, k);
	return 0;
}

static int run_restore_logs(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct repo *repo = NULL;
	struct kbuf plain = KBUF_INIT;
	json_t *summary = NULL;
	int rc;
	enum record_trust trust;
	if ((rc = repo_valid_name(name)) < 0 || (rc = cmd_open_repo(ctx, 0, &repo)) < 0 ||
	    (rc = load_record(ctx, repo, name, &summary, &trust)) < 0)
		goto out;
	rc = read_sealed(repo, name, LOG_OBJECT, json_is_true(json_object_get(summary, "encrypted")), &plain);
	if (rc == KAHU_ENOTFOUND)
		rc = kahu_error_set(rc, "restore %s has no stored log (it was killed, or made by an older kahu)", name);
	if (rc == 0 && plain.len && fwrite(plain.data, 1, plain.len, stdout) != plain.len)
		rc = kahu_error_set(KAHU_EIO, "write error on standard output: %s", strerror(errno));
out:
	kbuf_free(&plain);
	json_decref(summary);
	repo_close(repo);
	return rc;
}

static int run_restore_describe(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	int details = inv_count(ctx->inv, "details") > 0;
	const char *outcome = inv_str(ctx->inv, "outcome");
	struct strv want = STRV_INIT;
	if (outcome) {
		strv_split(&want, outcome, ',');
		for (size_t i = 0; i < want.n; i++)
			if (strcmp(want.v[i], "created") && strcmp(want.v[i], "updated") &&
			    strcmp(want.v[i], "skipped") && strcmp(want.v[i], "failed")) {
				int e = kahu_error_set(KAHU_EUSAGE, "--outcome takes created, updated, skipped "
						       "or failed (comma-separated), not \"%s\"", want.v[i]);
				strv_free(&want);
				return e;
			}
		details = 1;
	}
	struct repo *repo = NULL;
	struct kbuf plain = KBUF_INIT;
	json_t *summary = NULL, *doc = NULL;
	int rc;

	enum record_trust trust;
	if ((rc = repo_valid_name(name)) < 0 || (rc = cmd_open_repo(ctx, 0, &repo)) < 0 ||
	    (rc = load_record(ctx, repo, name, &summary, &trust)) < 0)
		goto out;
	const char *status = json_string_value(json_object_get(summary, "status"));
	int ended = !status || (strcmp(status, "InProgress") != 0 && strcmp(status, "Interrupted") != 0) ||
		    json_object_get(summary, "completed");
	int encrypted = json_is_true(json_object_get(summary, "encrypted"));
	/* A record without a MAC that says it was encrypted: its result repeats it under
	 * the envelope's authentication, so it is checked against that. */
	int cross = trust == TRUST_NONE && encrypted && ended;
	if ((details || ctx->out == OUT_JSON || ctx->out == OUT_YAML) && !ended) {
		/* No result was stored (yet): the summary is all there is. */
		settle_status(repo_store(repo), summary);
		if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
			json_object_set_new(summary, "authenticated", json_boolean(trust == TRUST_SEALED));
			rc = ctx->out == OUT_JSON ? out_json(stdout, summary) : out_yaml(stdout, summary);
			goto out;
		}
		details = 0;
	}
	int want_doc = details || ctx->out == OUT_JSON || ctx->out == OUT_YAML;
	if (want_doc || cross) {
		rc = read_sealed(repo, name, RESULT_OBJECT, encrypted, &plain);
		if (rc == KAHU_ENOTFOUND && !want_doc) {
			/* Nothing to check the record against: it stays marked. */
			kahu_error_clear();
			rc = 0;
			cross = 0;
		}
		if (rc < 0)
			goto out;
	}
	if (want_doc || cross) {
		doc = json_loadb(plain.data, plain.len, 0, NULL);
		if (!json_is_object(doc)) {
			rc = kahu_error_set(KAHU_EDATA, "the result of restore %s is not a JSON object", name);
			goto out;
		}
		if (cross) {
			if ((rc = check_against_result(name, summary, doc)) < 0)
				goto out;
			trust = TRUST_CHECKED;
		}
		json_object_set_new(doc, "authenticated", json_boolean(trust != TRUST_NONE));
	}
	settle_status(repo_store(repo), summary);
	if (want.n && doc) {
		/* Only the items with the outcomes asked for. */
		json_t *items = json_object_get(doc, "items"), *kept = json_array();
		size_t k;
		json_t *it;
		json_array_foreach(items, k, it) {
			const char *oc = json_string_value(json_object_get(it, "outcome"));
			for (size_t j = 0; oc && j < want.n; j++)
				if (strcmp(oc, want.v[j]) == 0) {
					json_array_append(kept, it);
					break;
				}
		}
		json_object_set_new(doc, "items", kept);
	}
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		rc = ctx->out == OUT_JSON ? out_json(stdout, doc) : out_yaml(stdout, doc);
		goto out;
	}
	json_t *c = json_object_get(summary, "counts");
	printf("Name:       %s\nBackup:     %s\nStatus:     %s\nStarted:    %s\nCompleted:  %s\n",
	       name, json_string_value(json_object_get(summary, "backup")),
	       json_string_value(json_object_get(summary, "status")),
	       json_string_value(json_object_get(summary, "started")),
	       json_string_value(json_object_get(summary, "completed")) ?
	       json_string_value(json_object_get(summary, "completed")) : "-");
	printf("Record:     %s\n", trust == TRUST_SEALED ? "authenticated (MAC checked with the key)" :
	       trust == TRUST_CHECKED ? "no MAC (written by an older kahu); agrees with the encrypted result" :
	       encrypted ? "NOT authenticated: no MAC (written by an older kahu) and no stored result to check it against" :
	       "NOT authenticated: not encrypted, no MAC");
	printf("Items:      %lld: %lld created, %lld updated, %lld skipped, %lld failed\n",
	       (long long)json_integer_value(json_object_get(c, "items")),
	       (long long)json_integer_value(json_object_get(c, "created")),
	       (long long)json_integer_value(json_object_get(c, "updated")),
	       (long long)json_integer_value(json_object_get(c, "skipped")),
	       (long long)json_integer_value(json_object_get(c, "failed")));
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(summary, "warnings"), i, w)
		printf("Warning:    %s\n", json_string_value(w));
	if (json_string_value(json_object_get(summary, "error")))
		printf("Error:      %s\n", json_string_value(json_object_get(summary, "error")));
	if (details) {
		static const char *const hdr[] = { "TYPE", "NAMESPACE", "NAME", "OUTCOME", "REASON" };
		struct out_table *t = out_table_new(5, hdr);
		json_array_foreach(json_object_get(doc, "items"), i, w) {
			const char *row[] = { json_string_value(json_object_get(w, "resource")),
					      json_string_value(json_object_get(w, "namespace")),
					      json_string_value(json_object_get(w, "name")),
					      json_string_value(json_object_get(w, "outcome")),
					      json_string_value(json_object_get(w, "reason")) };
			out_table_row(t, row);
		}
		printf("\n");
		out_table_print(t, stdout);
		out_table_free(t);
	}
out:
	kbuf_free(&plain);
	json_decref(summary);
	json_decref(doc);
	repo_close(repo);
	strv_free(&want);
	return rc;
}

/* ---- tables ---- */

#define RESTORE_SCOPE_OPTS \
	{ "include-namespaces", 0, "NS,…", "namespaces (of the backup) to restore (globs; default all)", NULL, 0, NULL }, \
	{ "exclude-namespaces", 0, "NS,…", "namespaces not to restore (globs); an exclude wins", NULL, 0, NULL }, \
	{ "include-resources", 0, "TYPE,…", "resource types to restore: plural, type.group, Kind or short name", NULL, 0, NULL }, \
	{ "exclude-resources", 0, "TYPE,…", "resource types not to restore", NULL, 0, NULL }, \
	{ "include-cluster-resources", 0, "auto|true|false", "cluster-scoped objects: auto restores all without a namespace filter, else only what included items need", "auto true false", 0, "auto" }, \
	{ "selector", 'l', "SELECTOR", "only objects whose labels match", NULL, 0, NULL }, \
	{ "or-selector", 0, "SEL or SEL", "objects matching any of the selectors", NULL, 0, NULL }, \
	{ "include-names", 0, "GLOB,…", "only objects whose name (or namespace/name) matches", NULL, 0, NULL }, \
	{ "exclude-names", 0, "GLOB,…", "leave out objects whose name (or namespace/name) matches", NULL, 0, NULL }

static const struct kahu_opt create_opts[] = {
	{ "from-backup", 0, "BACKUP", "the backup to restore (required)", "@backup", 0, NULL },
	RESTORE_SCOPE_OPTS,
	{ "namespace-mappings", 0, "SRC:DST,…", "restore namespace SRC as DST (also RoleBinding subjects and PV claimRefs)", NULL, 0, NULL },
	{ "existing-resource-policy", 0, "none|update", "an object that exists: none skips it (and says whether it differs), update patches it to the backup's state", "none update", 0, "none" },
	{ "restore-owned", 0, NULL, "also restore objects that controllers recreate (pods of ReplicaSets, ReplicaSets of Deployments, Jobs of CronJobs…)", NULL, 0, NULL },
	{ "preserve-nodeports", 0, NULL, "keep the nodePorts of Services", NULL, 0, NULL },
	{ "status-include-resources", 0, "TYPE,…", "restore the status of these types too", NULL, OPT_REPEAT, NULL },
	{ "parallel", 0, "N", "items of one type created at once", NULL, 0, "8" },
	{ "crd-timeout", 0, "SECONDS", "how long to wait for a restored CRD to be established", NULL, 0, "60" },
	{ "dry-run", 0, NULL, "print the cleaned objects in restore order with what would happen; write nothing", NULL, 0, NULL },
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_ALLOW_UNENCRYPTED,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

static const struct kahu_opt describe_opts[] = {
	{ "details", 0, NULL, "list every item with its outcome", NULL, 0, NULL },
	{ "outcome", 0, "OUTCOME,…", "list only the items with these outcomes: created, updated, skipped, failed (implies --details)", "created updated skipped failed", 0, NULL },
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_ALLOW_UNENCRYPTED,
	OPT_END
};

static const struct kahu_opt list_opts[] = {
	KAHU_OPT_LOCATION,
	OPT_END
};

const struct kahu_cmd cmd_restore_entry = {
	.name = "restore",
	.summary = "Restore backups into a cluster",
	.flags = CMD_NOUN,
};

const struct kahu_cmd cmd_restore_create_entry = {
	.name = "restore create", .args = "[NAME]", .min_args = 0, .max_args = 1,
	.summary = "Restore all or part of a backup, into the same or another cluster",
	.outputs = "table json yaml name", .opts = create_opts, .run = run_restore_create,
	.flags = CMD_CLUSTER,
};

const struct kahu_cmd cmd_restore_list_entry = {
	.name = "restore list", .args = "", .min_args = 0, .max_args = 0,
	.summary = "List the restores recorded on a location",
	.outputs = "table json yaml name", .opts = list_opts, .run = run_restore_list,
};

const struct kahu_cmd cmd_restore_logs_entry = {
	.name = "restore logs", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Print a restore's own log (JSON lines: what it said at info level and above)",
	.opts = cmd_repo_read_opts, .run = run_restore_logs, .args_complete = "@restore",
};

const struct kahu_cmd cmd_restore_describe_entry = {
	.name = "restore describe", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Show a restore's result; --details lists every item's outcome",
	.outputs = "table json yaml", .opts = describe_opts, .run = run_restore_describe,
	.args_complete = "@restore",
};

/* kahu — the backup engine (see backup.h). */
#include "engine/backup.h"
#include "engine/bread.h"
#include "engine/hooks_backup.h"
#include "archive/bundle.h"
#include "archive/key.h"
#include "archive/manifest.h"
#include "archive/seal.h"
#include "engine/scope.h"
#include "kube/discovery.h"
#include "kube/resource.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strset.h"
#include "util/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VELERO_LAYOUT_VERSION "1.1.0"
#define INDEX_MEMBER "kahu/index.jsonl"
#define SPEC_MEMBER "kahu/backup.json"

/* ---- the parent's index, for incremental and differential backups ---- */

static int index_into_map(void *ud, const char *line, size_t len)
{
	struct index_entry ie;
	int rc = index_line_parse(line, len, &ie);
	if (rc < 0)
		return rc;
	char *k = bread_item_key(ie.resource, ie.ns, ie.name);
	strset_put(ud, k, ie.hash);
	free(k);
	index_entry_clear(&ie);
	return 0;
}

/* Read "r\tns\tname" → hash of every item of backup `name` into `map`. */
static int load_index(struct kahu_store *st, const struct kahu_key *key, const char *name,
		      struct strset *map)
{
	struct manifest *m = NULL;
	int rc = bread_manifest(st, key, name, 1, &m);
	if (rc == 0)
		rc = bread_index(st, key, name, m, index_into_map, map);
	manifest_free(m);
	if (rc < 0)
		kahu_error_wrap(rc, "reading the index of backup %s", name);
	return rc;
}


/* ---- failed types of incremental and differential backups: carried over ---- */

/* A type that could not be listed (or only partly) in an incremental or differential
 * backup would read as deleted if its index lines were missing: a restore honours
 * deletions.  So its lines, all of them, are those of the backup it was compared with
 * (whose archives, or older ones of the chain, hold the items, as for unchanged items);
 * lines of a partial list are dropped, never mixed in. */
struct carry {
	const struct plan *plan;
	struct strset failed;        /* group-resource → index of the plan type */
	long *counts;                /* carried lines per plan type */
	FILE *out;                   /* the new index */
};

static struct plan_type *carried_type(struct carry *c, const char *resource)
{
	const char *i = strset_get(&c->failed, resource);
	return i ? &c->plan->types[strtoul(i, NULL, 10)] : NULL;
}

static int write_line(FILE *f, const char *line, size_t len)
{
	if (fwrite(line, 1, len, f) != len || fputc('\n', f) == EOF)
		return kahu_error_set(errno == ENOSPC ? KAHU_ENOSPC : KAHU_EIO,
				      "cannot write the temporary index: %s", strerror(errno));
	return 0;
}

/* A line of the parent's index: kept when its type is carried over. */
static int carry_parent_line(void *ud, const char *line, size_t len)
{
	struct carry *c = ud;
	struct index_entry ie;
	int rc = index_line_parse(line, len, &ie);
	if (rc < 0)
		return rc;
	struct plan_type *t = carried_type(c, ie.resource);
	if (t && (rc = write_line(c->out, line, len)) == 0)
		c->counts[t - c->plan->types]++;
	index_entry_clear(&ie);
	return rc;
}

/* Where the parent's lines of a type come from: the parent's own list, or, when the
 * parent carried the type over too, the backup it took them from.  0 when the parent
 * did not back the type up at all (a type new since). */
static int carry_origin(struct plan_type *t, json_t *parent_spec, const char *parent)
{
	size_t i;
	json_t *pt;
	free(t->carried_from);
	t->carried_from = xstrdup(parent);
	t->carried_incomplete = 0;
	json_array_foreach(json_object_get(parent_spec, "types"), i, pt) {
		if (!json_is_string(json_object_get(pt, "resource")) ||
		    strcmp(json_string_value(json_object_get(pt, "resource")), t->group_resource) != 0)
			continue;
		const char *from = json_string_value(json_object_get(pt, "carriedOverFrom"));
		if (from) {
			free(t->carried_from);
			t->carried_from = xstrdup(from);
			t->carried_incomplete = json_is_true(json_object_get(pt, "carriedOverIncomplete"));
		} else {
			t->carried_incomplete = json_object_get(pt, "error") != NULL;
		}
		return 1;
	}
	/* The parent did not know the type (new since): there is nothing to carry. */
	t->carried_incomplete = 1;
	return 0;
}

/* Replace the index (*index, a temporary file) by one whose failed types hold the
 * lines of backup `parent`.  *items becomes the new number of lines. */
static int carry_over(struct kahu_store *st, const struct kahu_key *key, const char *parent,
		      struct plan *plan, FILE **index, long *items)
{
	struct carry c = { .plan = plan, .counts = xcalloc(plan->n + 1, sizeof *c.counts) };
	json_t *parent_spec = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long kept = 0;
	int rc = 0;

	for (size_t i = 0; i < plan->n; i++) {
		if (!plan->types[i].error)
			continue;
		char num[32];
		snprintf(num, sizeof num, "%zu", i);
		strset_put(&c.failed, plan->types[i].group_resource, num);
	}
	if (!(c.out = kahu_tmpstream(NULL, "kahu-index.", "the index")))
		return kahu_error_code();
	/* This backup's lines of the types that did not fail. */
	if (fflush(*index) != 0 || fseek(*index, 0, SEEK_SET) != 0) {
		rc = kahu_error_set(KAHU_EIO, "cannot read the temporary index: %s", strerror(errno));
		goto out;
	}
	while (rc == 0 && (n = getline(&line, &cap, *index)) > 0) {
		struct index_entry ie;
		size_t len = (size_t)n - (line[n - 1] == '\n');
		if ((rc = index_line_parse(line, len, &ie)) < 0)
			break;
		if (!carried_type(&c, ie.resource)) {
			rc = write_line(c.out, line, len);
			kept++;
		}
		index_entry_clear(&ie);
	}
	if (rc == 0 && ferror(*index))
		rc = kahu_error_set(KAHU_EIO, "cannot read the temporary index: %s", strerror(errno));
	/* The parent's lines of the types that did. */
	struct manifest *pm = NULL;
	if (rc == 0 && ((rc = bread_manifest(st, key, parent, 1, &pm)) < 0 ||
			(rc = bread_index_spec(st, key, parent, pm, carry_parent_line, &c, &parent_spec)) < 0))
		kahu_error_wrap(rc, "carrying the failed types over from backup %s", parent);
	manifest_free(pm);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < plan->n; i++) {
		struct plan_type *t = &plan->types[i];
		if (!t->error)
			continue;
		int known = carry_origin(t, parent_spec, parent);
		t->carried = c.counts[i];
		kept += t->carried;
		if (!known)
			log_warn("%s could not be backed up, and backup %s did not back it up: "
				 "its items are missing from this backup", t->group_resource, parent);
		else
			log_warn("%s could not be backed up: its %ld index entries are carried over from backup %s%s",
				 t->group_resource, t->carried, t->carried_from,
				 t->carried_incomplete ? ", which could not list all of them either" : "");
	}
	fclose(*index);
	*index = c.out;
	c.out = NULL;
	*items = kept;
out:
	if (c.out)
		fclose(c.out);
	free(line);
	free(c.counts);
	strset_free(&c.failed);
	json_decref(parent_spec);
	return rc;
}

/* ---- writing ---- */

struct writer {
	const struct backup_spec *b;
	struct bundle_writer *bw;
	struct store_put *put;
	FILE *index;                 /* temporary, unlinked: the index lines */
	struct strset parent;        /* incremental: items of the parent */
	time_t now;
	long items, stored, failed;
	uint64_t bytes_stored;
	struct kbuf scratch;
	struct backup_progress prog;
};

/* An object nothing can be stored under (no name, a namespaced object without a
 * namespace: no API server sends that, a hostile one might) fails alone: a warning
 * with the reason, the backup goes on and ends PartiallyFailed. */
static int fail_item(struct writer *w, struct plan_type *t, const char *ns, const char *name,
		     const char *why)
{
	w->failed++;
	t->failed_items++;
	if (!t->failed_first)
		t->failed_first = xasprintf("%s%s%s: %s", ns && *ns ? ns : "", ns && *ns ? "/" : "",
					    name && *name ? name : "(no name)", why);
	log_warn("%s %s%s%s not backed up: %s", t->group_resource, ns && *ns ? ns : "",
		 ns && *ns ? "/" : "", name && *name ? name : "(no name)", why);
	return 1; /* not kept (collect.h) */
}

/* `text` is stored and hashed as it is (the server's bytes, collect.h); `obj` holds
 * the metadata read from it. */
static int emit(void *ud, struct plan_type *t, json_t *obj, const char *text, size_t len)
{
	struct writer *w = ud;
	json_t *md = json_object_get(obj, "metadata");
	json_t *jns = t->res->namespaced ? json_object_get(md, "namespace") : NULL;
	json_t *jname = json_object_get(md, "name");
	const char *ns = json_string_value(jns);
	const char *name = json_string_value(jname);
	char hash[KAHU_HASH_HEX_LEN + 1];
	int rc = 0;

	if (!name || !*name)
		return fail_item(w, t, ns, name, "the server sent it without metadata.name");
	if (t->res->namespaced && (!ns || !*ns))
		return fail_item(w, t, ns, name, "the server sent this namespaced object without "
				 "metadata.namespace");
	if (json_string_length(jname) != strlen(name) || (ns && json_string_length(jns) != strlen(ns)))
		return fail_item(w, t, ns, name, "its name or namespace holds a NUL character "
				 "(\\u0000), which no Kubernetes name can");
	kahu_key_hash(text, len, hash);

	int store = 1;
	if (w->parent.n) {
		char *k = bread_item_key(t->group_resource, ns, name);
		const char *ph = strset_get(&w->parent, k);
		store = !ph || strcmp(ph, hash) != 0;
		free(k);
	}
	/* Both names first: one the item cannot have fails the item, not the backup. */
	char *member = NULL;
	kbuf_reset(&w->scratch);
	if (w->index) {
		struct index_entry ie = {
			.resource = t->group_resource,
			.ns = (char *)ns,
			.name = (char *)name,
			.uid = (char *)json_string_value(json_object_get(md, "uid")),
			.rv = (char *)json_string_value(json_object_get(md, "resourceVersion")),
		};
		memcpy(ie.hash, hash, sizeof ie.hash);
		if (index_line_format(&ie, &w->scratch) < 0)
			return fail_item(w, t, ns, name, kahu_error_last());
	}
	if (!w->b->dry_run && store && bundle_resource_path(t->group_resource, ns, name, &member) < 0)
		return fail_item(w, t, ns, name, kahu_error_last());
	if (member)
		rc = bundle_add(w->bw, member, text, len, w->now);
	free(member);
	if (rc == 0 && w->index &&
	    fwrite(w->scratch.data, 1, w->scratch.len, w->index) != w->scratch.len)
		rc = kahu_error_set(errno == ENOSPC ? KAHU_ENOSPC : KAHU_EIO,
				    "cannot write the temporary index: %s", strerror(errno));
	if (rc == 0) {
		w->items++;
		if (store) {
			w->stored++;
			w->bytes_stored += len;
		}
	}
	return rc;
}

static void on_progress(void *ud, size_t done, size_t total, long objects)
{
	struct writer *w = ud;
	if (!w->b->progress)
		return;
	w->prog.types_done = done;
	w->prog.types_total = total;
	w->prog.objects = objects;
	w->prog.bytes_stored = w->bytes_stored;
	w->b->progress(w->b->progress_ud, &w->prog);
}

static const char *kind_name(enum backup_kind k)
{
	return k == BACKUP_INCREMENTAL ? "incremental" : k == BACKUP_DIFFERENTIAL ? "differential" : "full";
}

/* kahu/backup.json: the full record of what was asked and what happened. */
static json_t *spec_json(const struct backup_spec *b, const struct plan *p, const char *status,
			 time_t started, time_t completed, long items, long stored)
{
	char s1[32], s2[32];
	time_rfc3339(started, s1, sizeof s1);
	time_rfc3339(completed, s2, sizeof s2);
	json_t *types = json_array();
	for (size_t i = 0; i < p->n; i++) {
		const struct plan_type *t = &p->types[i];
		char *av = kube_api_version(t->res);
		json_t *jt = json_pack("{s:s, s:s, s:s, s:b, s:s, s:I, s:I, s:I}",
				       "resource", t->group_resource, "apiVersion", av,
				       "kind", t->res->kind, "namespaced", t->res->namespaced,
				       "selection", t->decision == SCOPE_TYPE_YES ? "listed" : "referenced",
				       "listed", (json_int_t)t->listed,
				       "items", (json_int_t)(t->carried_from ? t->carried : t->kept),
				       "excluded", (json_int_t)t->excluded);
		if (t->inconsistent)
			json_object_set_new(jt, "warning", json_string("list was inconsistent (continue token expired)"));
		if (t->error)
			json_object_set_new(jt, "error", json_string(t->message ? t->message : "failed"));
		if (t->failed_items) {
			json_object_set_new(jt, "failedItems", json_integer(t->failed_items));
			json_object_set_new(jt, "failedItem", json_string(t->failed_first));
		}
		if (t->carried_from) {
			json_object_set_new(jt, "carriedOverFrom", json_string(t->carried_from));
			if (t->carried_incomplete)
				json_object_set_new(jt, "carriedOverIncomplete", json_true());
		}
		json_array_append_new(types, jt);
		free(av);
	}
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:o, s:O?, s:O?, s:{s:i, s:I, s:i}, s:I, s:I, s:o}",
			 "name", b->name, "kahuVersion", PACKAGE_VERSION, "type", kind_name(b->kind),
			 "parent", b->parent, "chainFull", b->chain_full,
			 "status", status, "started", s1, "completed", s2,
			 "scope", scope_to_json(b->scope), "labels", b->labels, "cluster", b->cluster,
			 "options", "parallel", b->parallel, "pageSize", (json_int_t)b->page_size,
			 "compressionLevel", b->compression_level,
			 "items", (json_int_t)items, "storedItems", (json_int_t)stored, "types", types);
}

static int add_file_member(struct bundle_writer *bw, const char *name, FILE *f, time_t now)
{
	char buf[65536];
	size_t n;
	if (fflush(f) != 0)
		return kahu_error_set(KAHU_EIO, "cannot write the temporary index: %s", strerror(errno));
	long size = ftell(f);
	if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
		return kahu_error_set(KAHU_EIO, "cannot read the temporary index: %s", strerror(errno));
	int rc = bundle_add_stream_begin(bw, name, (uint64_t)size, 0644, now);
	while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
		rc = bundle_add_stream_data(bw, buf, n);
	if (rc == 0 && ferror(f))
		rc = kahu_error_set(KAHU_EIO, "cannot read the temporary index: %s", strerror(errno));
	return rc < 0 ? rc : bundle_add_stream_end(bw);
}

/* The backup's own log: every message at info level or above while it runs. */
static void log_to_file(void *ud, int level, const char *json_line)
{
	(void)level;
	fprintf(ud, "%s\n", json_line);
}

/* What is stored of the log: hashed and counted for the manifest on its way out. */
struct log_pipe {
	struct store_put *put;
	struct kahu_hash *hash;
	uint64_t size;
};

static int log_sink(void *ud, const void *buf, size_t len)
{
	struct log_pipe *lp = ud;
	kahu_hash_update(lp->hash, buf, len);
	lp->size += len;
	return store_put_write(lp->put, buf, len);
}

/* Store the log file as backups/<name>/log.jsonl.zst[.kenc]; its object entry (path,
 * size, hash) is appended to `objects`. */
static int store_log(const struct backup_spec *b, FILE *f, json_t *objects)
{
	char *path = layout_backup_data(b->name, LAYOUT_LOG, b->key != NULL);
	struct log_pipe lp = { .hash = kahu_hash_new() };
	struct seal_writer sw = { 0 };
	char hex[KAHU_HASH_HEX_LEN + 1];
	int rc;

	if ((rc = store_put_begin_ex(b->st, path, KAHU_PUT_EXCLUSIVE, KAHU_BACKEND_SIZE_UNKNOWN, &lp.put)) < 0 ||
	    (rc = seal_open(&sw, b->key, path, b->compression_level, log_sink, &lp)) < 0 ||
	    (rc = seal_write_file(&sw, f)) < 0 || (rc = seal_finish(&sw)) < 0)
		goto out;
	rc = store_put_commit(lp.put);
	lp.put = NULL;
	if (rc < 0)
		goto out;
	kahu_hash_final_hex(lp.hash, hex);
	json_array_append_new(objects, json_pack("{s:s, s:I, s:s}", "path", layout_object_rel(path),
						 "size", (json_int_t)lp.size, "blake2b", hex));
out:
	if (lp.put)
		store_put_abort(lp.put);
	seal_close(&sw);
	kahu_hash_free(lp.hash);
	free(path);
	return rc;
}

int backup_create(struct kube_client *kc, const struct backup_spec *b, struct backup_outcome *out)
{
	struct writer w = { .b = b, .now = time(NULL) };
	char *meta_path = NULL;
	struct bundle_stats bst = { 0 };
	json_t *between_objects = NULL;     /* what `between` stored (volume data) */
	long between_failed = 0;
	int rc;

	FILE *logf = NULL;

	memset(out, 0, sizeof *out);
	if ((rc = plan_build(b->disc, b->scope, &out->plan)) < 0)
		return rc;
	if (!b->dry_run) {
		if (!(logf = kahu_tmpstream(NULL, "kahu-index.", "the backup log")))
			return kahu_error_code();
		kahu_log_set_sink(log_to_file, logf, KAHU_LOG_INFO);
		log_info("backup %s (%s) started", b->name, kind_name(b->kind));
	}

	if (!b->dry_run) {
		if (b->kind != BACKUP_FULL && b->parent &&
		    (rc = load_index(b->st, b->key, b->kind == BACKUP_DIFFERENTIAL && b->chain_full ?
				     b->chain_full : b->parent, &w.parent)) < 0)
			goto out;
		if (!(w.index = kahu_tmpstream(NULL, "kahu-index.", "the index"))) {
			rc = kahu_error_code();
			goto out;
		}
		meta_path = layout_backup_data(b->name, LAYOUT_METADATA, b->key != NULL);
		if ((rc = store_put_begin_ex(b->st, meta_path, KAHU_PUT_EXCLUSIVE, KAHU_BACKEND_SIZE_UNKNOWN,
					     &w.put)) < 0 ||
		    (rc = bundle_writer_new(b->key, meta_path, b->compression_level, 0, store_put_sink,
					    w.put, &w.bw)) < 0 ||
		    (rc = bundle_add(w.bw, "metadata/version", VELERO_LAYOUT_VERSION "\n",
				     sizeof VELERO_LAYOUT_VERSION, w.now)) < 0)
			goto out;
	}

	struct collect_opts co = {
		.parallel = b->parallel,
		.page_size = b->page_size,
		.emit = emit,
		.progress = on_progress,
		.ud = &w,
	};
	/* The hooks of pods whose volumes' data is not read run around the collection;
	 * the others' around their volumes' data, in `between`. */
	int hooks = b->hooks && !b->dry_run;
	if (!hooks || (rc = hook_backup_all(b->hooks, HOOK_BACKUP_PRE)) == 0)
		rc = collect_run(kc, b->scope, &out->plan, &co);
	if (hooks) {
		int hrc = hook_backup_all(b->hooks, HOOK_BACKUP_POST);
		if (rc == 0)
			rc = hrc;
	}
	if (rc == 0 && b->between && !b->dry_run) {
		between_objects = json_array();
		rc = b->between(b->between_ud, between_objects, &between_failed);
	}
	if (hooks) {
		/* A freeze is always thawed: post hooks run whatever happened before. */
		int hrc = hook_backup_finish(b->hooks);
		if (rc == 0)
			rc = hrc;
		out->hooks_failed = hook_backup_results(b->hooks)->failed;
	}
	if (rc < 0)
		goto out;

	size_t failed = plan_failed_types(&out->plan);
	/* Holding nothing of its own (no type that could be listed kept an object) while
	 * types failed: the backup failed; prune's policies do not count it, and no
	 * incremental backup builds on it.  Objects that could not be stored on their own
	 * (w.failed) make it PartiallyFailed. */
	out->status = !failed ? (w.failed || out->hooks_failed || between_failed ? "PartiallyFailed" : "Completed") :
		      plan_kept_ok(&out->plan) ? "PartiallyFailed" : "Failed";
	if (!b->dry_run && failed && b->kind != BACKUP_FULL && b->parent &&
	    (rc = carry_over(b->st, b->key, b->kind == BACKUP_DIFFERENTIAL && b->chain_full ?
			     b->chain_full : b->parent, &out->plan, &w.index, &w.items)) < 0)
		goto out;
	out->items = w.items;
	out->failed = w.failed;
	out->stored = w.stored;
	for (size_t i = 0; i < out->plan.n; i++)
		out->warnings += out->plan.types[i].inconsistent + (out->plan.types[i].error != 0);
	out->started = w.now;
	out->completed = time(NULL);
	out->spec = spec_json(b, &out->plan, out->status, w.now, out->completed, w.items, w.stored);
	if (w.failed)
		json_object_set_new(out->spec, "failedItems", json_integer(w.failed));
	if (b->hooks && hook_backup_results(b->hooks)->n) {
		struct hook_results *hr = hook_backup_results(b->hooks);
		json_object_set_new(out->spec, "hooks", hook_results_json(hr));
		out->warnings += hr->warned + hr->failed;
	}
	if (b->dry_run)
		goto out;

	char *spec_text = json_dumps(out->spec, JSON_INDENT(2) | JSON_SORT_KEYS);
	if ((rc = add_file_member(w.bw, INDEX_MEMBER, w.index, w.now)) == 0)
		rc = bundle_add(w.bw, SPEC_MEMBER, spec_text, strlen(spec_text), w.now);
	free(spec_text);
	if (rc < 0 || (rc = bundle_finish(w.bw, &bst)) < 0)
		goto out;
	bundle_writer_free(w.bw);
	w.bw = NULL;
	rc = store_put_commit(w.put);
	w.put = NULL;
	if (rc < 0)
		goto out;
	out->stored_bytes = bst.stored_bytes;
	out->objects = json_pack("[{s:s, s:I, s:s}]", "path", layout_object_rel(meta_path),
				 "size", (json_int_t)bst.stored_bytes, "blake2b", bst.blake2b);
	if (between_objects)
		json_array_extend(out->objects, between_objects);
	log_info("backup %s: %ld items, %s", b->name, w.items, out->status);
	kahu_log_set_sink(NULL, NULL, 0);
	if ((rc = store_log(b, logf, out->objects)) < 0)
		goto out;
out:
	json_decref(between_objects);
	if (logf) {
		kahu_log_set_sink(NULL, NULL, 0);
		fclose(logf);
	}
	if (w.bw)
		bundle_writer_free(w.bw);
	if (w.put)
		store_put_abort(w.put);
	if (w.index)
		fclose(w.index);
	strset_free(&w.parent);
	kbuf_free(&w.scratch);
	free(meta_path);
	return rc;
}

void backup_outcome_free(struct backup_outcome *o)
{
	plan_free(&o->plan);
	json_decref(o->spec);
	json_decref(o->objects);
	memset(o, 0, sizeof *o);
}

int backup_write_manifest(const struct backup_spec *b, const struct backup_outcome *out)
{
	struct manifest *m = manifest_new();
	char *text = NULL, *path = NULL;
	const char *k;
	json_t *v;
	size_t i;
	int rc;

	m->kahu_version = xstrdup(PACKAGE_VERSION);
	m->name = xstrdup(b->name);
	m->created = out->started;
	m->completed = out->completed;
	m->expires = b->ttl_seconds > 0 ? out->started + b->ttl_seconds : 0;
	m->status = strcmp(out->status, "Completed") == 0 ? MANIFEST_COMPLETED :
		    strcmp(out->status, "Failed") == 0 ? MANIFEST_FAILED : MANIFEST_PARTIALLY_FAILED;
	m->type = b->kind == BACKUP_INCREMENTAL ? MANIFEST_INCREMENTAL :
		  b->kind == BACKUP_DIFFERENTIAL ? MANIFEST_DIFFERENTIAL : MANIFEST_FULL;
	m->parent = xstrdup(b->parent);
	m->base = xstrdup(b->chain_full);
	json_object_foreach(b->labels, k, v)
		manifest_add_label(m, k, json_string_value(v));
	m->counts.items = (uint64_t)out->items;
	m->counts.failed = (uint64_t)out->failed;
	m->counts.types = out->plan.n;
	for (i = 0; i < out->plan.n; i++) {
		m->counts.skipped += (uint64_t)out->plan.types[i].excluded;
		m->counts.errors += out->plan.types[i].error != 0;
	}
	m->counts.warnings = out->warnings;
	snprintf(m->scope_digest, sizeof m->scope_digest, "%s", b->scope_digest ? b->scope_digest : "");
	if (json_string_value(json_object_get(b->cluster, "server")))
		manifest_set_cluster(m, json_string_value(json_object_get(b->cluster, "server")),
				     json_string_value(json_object_get(b->cluster, "uid")));
	if (b->vol_location)
		manifest_set_volume_location(m, b->vol_location, b->vol_provider, b->vol_token);
	if (b->key && b->run)
		manifest_set_run(m, b->run);
	json_array_foreach(out->objects, i, v) {
		const char *op = json_string_value(json_object_get(v, "path"));
		manifest_add_object(m, op, (uint64_t)json_integer_value(json_object_get(v, "size")),
				    json_string_value(json_object_get(v, "blake2b")));
		/* a volume's index: its content hashes are XXH64 (format 3) */
		if (op && !strncmp(op, "volumes/", 8) && strstr(op, "/" LAYOUT_VOLUME_INDEX))
			manifest_require_format(m, MANIFEST_FORMAT_XXH64);
	}
	if ((rc = manifest_to_json(m, b->key, &text)) < 0)
		goto out;
	path = layout_backup_manifest(b->name);
	rc = store_write_small_ex(b->st, path, KAHU_PUT_EXCLUSIVE, text, strlen(text));
out:
	free(text);
	free(path);
	manifest_free(m);
	return rc;
}

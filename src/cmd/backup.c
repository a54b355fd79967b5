/* kahu backup create|list|delete|prune — writing and managing backups on a location.
 * (describe, download, verify and logs, which read backups, are in backup_read.c.) */
#include "cmd/common_opts.h"
#include "archive/manifest.h"
#include "cli/progress.h"
#include "engine/backup.h"
#include "engine/labelsel.h"
#include "engine/parent.h"
#include "engine/retention.h"
#include "engine/run_backup.h"
#include "engine/scope.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/kubeconfig.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "util/strv.h"

/* --labels k=v,k2=v2 (repeatable) → {"k":"v",…}. */
static int parse_labels(const struct strv *vals, json_t **out)
{
	json_t *labels = json_object();
	for (size_t i = 0; i < vals->n; i++) {
		struct strv kv = STRV_INIT;
		strv_split(&kv, vals->v[i], ',');
		for (size_t j = 0; j < kv.n; j++) {
			char *eq = strchr(kv.v[j], '=');
			if (!eq) {
				int rc = kahu_error_set(KAHU_EUSAGE, "--labels: \"%s\" is not KEY=VALUE", kv.v[j]);
				strv_free(&kv);
				json_decref(labels);
				return rc;
			}
			*eq = '\0';
			const char *why = NULL;
			if (!label_key_valid(kv.v[j], &why) || !label_value_valid(eq + 1, &why)) {
				int rc = kahu_error_set(KAHU_EUSAGE, "--labels: invalid label \"%s=%s\": %s",
							kv.v[j], eq + 1, why ? why : "invalid");
				strv_free(&kv);
				json_decref(labels);
				return rc;
			}
			json_object_set_new(labels, kv.v[j], json_string(eq + 1));
		}
		strv_free(&kv);
	}
	*out = labels;
	return 0;
}

/* ---- backup create ---- */

static void on_backup_progress(void *ud, const struct backup_progress *p)
{
	(void)ud;
	progress_backup(p->types_done, p->types_total, p->objects, p->bytes_stored);
}

static void print_plan(struct kahu_ctx *ctx, const struct backup_outcome *o, const char *name)
{
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *doc = json_pack("{s:s, s:b, s:O}", "name", name, "dryRun", 1, "plan",
					json_object_get(o->spec, "types"));
		if (ctx->out == OUT_JSON)
			out_json(stdout, doc);
		else
			out_yaml(stdout, doc);
		json_decref(doc);
		return;
	}
	static const char *const hdr[] = { "TYPE", "ITEMS", "EXCLUDED", "STORED AS", "NOTE" };
	struct out_table *t = out_table_new(5, hdr);
	for (size_t i = 0; i < o->plan.n; i++) {
		const struct plan_type *p = &o->plan.types[i];
		char items[32], excl[32];
		snprintf(items, sizeof items, "%ld", p->kept);
		snprintf(excl, sizeof excl, "%ld", p->excluded);
		char *where = xasprintf("resources/%s/%s", p->group_resource,
					p->res->namespaced ? "namespaces/<ns>/<name>.json" : "cluster/<name>.json");
		const char *note = p->error ? p->message : p->decision == SCOPE_TYPE_ONLY_REFERENCED ?
				   "only objects included items need" : "";
		const char *row[] = { p->group_resource, items, excl, where, note };
		out_table_row(t, row);
		free(where);
	}
	out_table_print(t, stdout);
	out_table_free(t);
	printf("\nDry run: backup %s would hold %ld objects of %zu types; nothing was written.\n",
	       name, o->items, o->plan.n);
}

static void on_backup_phase(void *ud, const char *what)
{
	struct kahu_ctx *ctx = ud;
	if (what)
		progress_start(ctx->progress, what);
	else
		progress_done();
}

static void print_backup(struct kahu_ctx *ctx, const struct backup_run_spec *rs,
			 const struct backup_run_result *res)
{
	const struct backup_outcome *out = &res->out;
	const char *name = rs->name, *parent = res->parent;
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *doc = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s?}", "name", name,
					"status", out->status, "type", rs->kind == BACKUP_FULL ? "full" :
					rs->kind == BACKUP_INCREMENTAL ? "incremental" : "differential",
					"items", (json_int_t)out->items, "storedItems", (json_int_t)out->stored,
					"storedBytes", (json_int_t)out->stored_bytes, "parent", parent);
		ctx->out == OUT_JSON ? out_json(stdout, doc) : out_yaml(stdout, doc);
		json_decref(doc);
	} else if (ctx->out == OUT_NAME) {
		printf("backup/%s\n", name);
	} else {
		char size[32];
		out_human_bytes(out->stored_bytes, size, sizeof size);
		printf("Backup %s %s: %ld items of %zu types, %s stored",
		       name, strcmp(out->status, "Completed") == 0 ? "completed" :
		       strcmp(out->status, "Failed") == 0 ? "failed" : "partially failed",
		       out->items, out->plan.n, size);
		if (rs->kind != BACKUP_FULL)
			printf(" (%ld changed since %s)", out->stored, parent);
		printf(".\n");
		for (size_t i = 0; i < out->plan.n; i++) {
			const struct plan_type *t = &out->plan.types[i];
			if (!t->error)
				continue;
			printf("  %s: %s\n", t->group_resource, t->message);
			if (t->carried_from)
				printf("    its %ld items are carried over from backup %s%s\n", t->carried, t->carried_from,
				       t->carried_incomplete ? " (which could not back up all of them either)" : "");
		}
	}
}

static int run_backup_create(struct kahu_ctx *ctx)
{
	const struct kahu_invocation *inv = ctx->inv;
	const char *name = inv->args.v[0];
	struct kahu_scope *scope = NULL;
	struct kube_client *kc;
	struct kube_config *kcfg;
	struct run_repo rr;
	struct backup_run_result res = { 0 };
	json_t *labels = NULL;
	long parallel = 4, level = 3, page = 500;
	int64_t ttl = 720 * 3600;
	enum backup_kind kind = BACKUP_FULL;
	int rc;

	int nkinds = (inv_count(inv, "full") > 0) + (inv_count(inv, "incremental") > 0) +
		     (inv_count(inv, "differential") > 0);
	if (nkinds > 1)
		return kahu_error_set(KAHU_EUSAGE, "--full, --incremental and --differential exclude each other");
	if (inv_count(inv, "incremental"))
		kind = BACKUP_INCREMENTAL;
	if (inv_count(inv, "differential"))
		kind = BACKUP_DIFFERENTIAL;
	if (inv_str(inv, "parent") && kind == BACKUP_FULL)
		return kahu_error_set(KAHU_EUSAGE, "--parent needs --incremental or --differential");
	if ((rc = repo_valid_name(name)) < 0 ||
	    (rc = inv_long(inv, "parallel", 1, 64, &parallel)) < 0 ||
	    (rc = inv_long(inv, "compression-level", 1, 19, &level)) < 0 ||
	    (rc = inv_long(inv, "page-size", 1, 100000, &page)) < 0 ||
	    (inv_str(inv, "ttl") && (rc = duration_parse(inv_str(inv, "ttl"), "--ttl", &ttl)) < 0) ||
	    (rc = parse_labels(inv_list(inv, "labels"), &labels)) < 0 ||
	    (rc = scope_from_flags(inv, &scope)) < 0 ||
	    (rc = cmd_run_repo(ctx, &rr)) < 0 ||
	    (rc = ctx_kube_client(ctx, &kc)) < 0 || (rc = ctx_kube_config(ctx, &kcfg)) < 0)
		goto out;

	struct backup_run_spec rs = {
		.name = name,
		.scope = scope,
		.kind = kind,
		.parent = inv_str(inv, "parent"),
		.parallel = (int)parallel,
		.page_size = page,
		.compression_level = (int)level,
		.ttl_seconds = ttl,
		.labels = labels,
		.dry_run = inv_count(inv, "dry-run") > 0,
		.no_encryption = inv_count(inv, "no-encryption") > 0,
		.kc = kc,
		.server = kcfg->server,
		.context = kcfg->context_name,
		.repo = &rr,
		.phase = on_backup_phase,
		.progress = on_backup_progress,
		.ud = ctx,
	};
	rc = backup_run(&rs, &res);
	if (!res.have_outcome)
		goto out;
	if (rs.dry_run)
		print_plan(ctx, &res.out, name);
	else
		print_backup(ctx, &rs, &res);
	if (rc == KAHU_EFAIL || rc == KAHU_EPARTIAL)
		log_error("%s", kahu_error_last());
out:
	backup_run_result_free(&res);
	scope_free(scope);
	json_decref(labels);
	return rc;
}

/* ---- backup list ---- */

/* A manifest's labels as a JSON object (in its order: sorted by key), or NULL. */
static json_t *labels_json(const struct manifest *m)
{
	if (!m)
		return NULL;
	json_t *labels = json_object();
	for (size_t i = 0; i < m->n_labels; i++)
		json_object_set_new(labels, m->labels[i].key, json_string(m->labels[i].value));
	return labels;
}

struct list_ctx {
	json_t *items;
	struct labelsel *sel;
	int keyed;       /* the location is keyed: unencrypted backups are marked */
};

static int list_cb(void *ud, const struct repo_backup *b)
{
	struct list_ctx *lc = ud;
	const struct manifest *m = b->m;
	if (!b->complete)
		return 0; /* leftovers of interrupted runs are not backups (prune removes them) */
	json_t *labels = labels_json(m);
	if (lc->sel && !labelsel_match(lc->sel, labels)) {
		json_decref(labels);
		return 0;
	}
	json_t *j = json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:I, s:o?, s:s?}",
			      "name", b->name,
			      "status", m ? manifest_status_name(m->status) : "Unreadable",
			      "type", m ? manifest_type_name(m->type) : NULL,
			      "parent", m ? m->parent : NULL,
			      "created", (json_int_t)(m ? m->created : 0),
			      "expires", (json_int_t)(m ? m->expires : 0),
			      "storedBytes", (json_int_t)b->stored_bytes,
			      "items", (json_int_t)(m ? m->counts.items : 0),
			      "labels", labels, "problem", b->problem);
	if (m) {
		/* Without encryption a manifest has no MAC: nothing vouches for it. */
		json_object_set_new(j, "encrypted", json_boolean(m->encrypted));
		if (!m->encrypted && lc->keyed) {
			char *marked = xasprintf("%s (unauthenticated)", manifest_status_name(m->status));
			json_object_set_new(j, "status", json_string(marked));
			free(marked);
		}
	}
	json_array_append_new(lc->items, j);
	return 0;
}

static int run_backup_list(struct kahu_ctx *ctx)
{
	struct repo *repo = NULL;
	struct list_ctx lc = { .items = json_array() };
	int rc;

	if (inv_str(ctx->inv, "selector") && (rc = labelsel_parse(inv_str(ctx->inv, "selector"), &lc.sel)) < 0)
		goto out;
	if ((rc = cmd_open_repo(ctx, 0, &repo)) < 0)
		goto out;
	lc.keyed = cmd_repo_keyed(ctx, repo);
	if ((rc = repo_list_backups(repo, list_cb, &lc)) < 0)
		goto out;

	const char *loc = repo_location(repo)->name;
	size_t i;
	json_t *b;
	switch (ctx->out) {
	case OUT_JSON:
	case OUT_YAML: {
		/* Times as RFC 3339 for people and tools alike. */
		json_array_foreach(lc.items, i, b) {
			char t1[32], t2[32];
			time_rfc3339((time_t)json_integer_value(json_object_get(b, "created")), t1, sizeof t1);
			json_object_set_new(b, "created", json_string(t1));
			if (json_integer_value(json_object_get(b, "expires"))) {
				time_rfc3339((time_t)json_integer_value(json_object_get(b, "expires")), t2, sizeof t2);
				json_object_set_new(b, "expires", json_string(t2));
			} else {
				json_object_set_new(b, "expires", json_null());
			}
			json_object_set_new(b, "location", json_string(loc));
		}
		json_t *doc = json_pack("{s:O}", "backups", lc.items);
		rc = ctx->out == OUT_JSON ? out_json(stdout, doc) : out_yaml(stdout, doc);
		json_decref(doc);
		break;
	}
	case OUT_NAME:
		json_array_foreach(lc.items, i, b)
			printf("backup/%s\n", json_string_value(json_object_get(b, "name")));
		break;
	default: {
		static const char *const hdr[] = { "NAME", "STATUS", "TYPE", "CREATED", "EXPIRES", "SIZE", "ITEMS", "LOCATION" };
		struct out_table *t = out_table_new(8, hdr);
		time_t now = time(NULL);
		json_array_foreach(lc.items, i, b) {
			char created[32] = "", expires[32] = "never", size[32], items[32];
			time_t c = (time_t)json_integer_value(json_object_get(b, "created"));
			time_t e = (time_t)json_integer_value(json_object_get(b, "expires"));
			struct tm tm;
			gmtime_r(&c, &tm);
			strftime(created, sizeof created, "%Y-%m-%d %H:%M:%S", &tm);
			if (e) {
				if (e <= now)
					snprintf(expires, sizeof expires, "expired");
				else
					duration_format(e - now, expires, sizeof expires);
			}
			out_human_bytes((unsigned long long)json_integer_value(json_object_get(b, "storedBytes")), size, sizeof size);
			snprintf(items, sizeof items, "%lld", (long long)json_integer_value(json_object_get(b, "items")));
			const char *row[] = { json_string_value(json_object_get(b, "name")),
					      json_string_value(json_object_get(b, "status")),
					      json_string_value(json_object_get(b, "type")),
					      created, expires, size, items, loc };
			out_table_row(t, row);
		}
		if (json_array_size(lc.items))
			out_table_print(t, stdout);
		else
			fprintf(stderr, "No backups on location %s.\n", loc);
		out_table_free(t);
	}
	}
out:
	labelsel_free(lc.sel);
	json_decref(lc.items);
	repo_close(repo);
	return rc;
}

/* ---- the catalog in memory, for delete ---- */

struct cat_entry {
	char *name;
	int complete;
	char *parent, *base;
	int doomed;            /* to be removed */
	json_t *labels;
	struct manifest *m;    /* as listed, not authenticated */
	char *problem;
};

struct catalog {
	struct cat_entry *v;
	size_t n;
};

static int cat_cb(void *ud, const struct repo_backup *b)
{
	struct catalog *c = ud;
	c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
	struct cat_entry *e = &c->v[c->n++];
	memset(e, 0, sizeof *e);
	e->name = xstrdup(b->name);
	e->complete = b->complete && b->m;
	e->parent = xstrdup(b->m ? b->m->parent : NULL);
	e->base = xstrdup(b->m ? b->m->base : NULL);
	e->labels = labels_json(b->m);
	e->m = manifest_copy(b->m);
	e->problem = b->problem ? xstrdup(b->problem) : NULL;
	return 0;
}

static void catalog_free(struct catalog *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].parent);
		free(c->v[i].base);
		json_decref(c->v[i].labels);
		manifest_free(c->v[i].m);
		free(c->v[i].problem);
	}
	free(c->v);
}

static struct cat_entry *cat_find(struct catalog *c, const char *name)
{
	for (size_t i = 0; name && i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0)
			return &c->v[i];
	return NULL;
}

/* Backups that stay but need a doomed one (their parent or chain base). */
static void dependents(struct catalog *c, struct strv *out)
{
	for (size_t i = 0; i < c->n; i++) {
		struct cat_entry *e = &c->v[i];
		if (e->doomed)
			continue;
		struct cat_entry *p = cat_find(c, e->parent), *b = cat_find(c, e->base);
		if ((p && p->doomed) || (b && b->doomed))
			strv_push(out, e->name);
	}
}

static int confirm(const char *what, int yes)
{
	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return kahu_error_set(KAHU_EUSAGE, "not deleting %s without --yes (standard input is not a terminal)", what);
	fprintf(stderr, "Delete %s? [y/N] ", what);
	fflush(stderr);
	char line[16];
	if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y'))
		return kahu_error_set(KAHU_EFAIL, "nothing deleted");
	return 0;
}

static int remove_doomed(struct repo *repo, struct catalog *c, int dry, const char *verb)
{
	int rc = 0;
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (!c->v[i].doomed)
			continue;
		if (dry) {
			printf("would %s %s%s\n", verb, c->v[i].name, c->v[i].complete ? "" : " (leftover of an interrupted run)");
			continue;
		}
		if ((rc = repo_remove_backup(repo, c->v[i].name, NULL)) < 0)
			return kahu_error_wrap(rc, "deleting backup %s (%zu deleted before it)", c->v[i].name, n);
		printf("%s %s%s\n", verb, c->v[i].name, c->v[i].complete ? "" : " (leftover of an interrupted run)");
		n++;
	}
	return rc;
}

/* ---- backup delete ---- */

static int run_backup_delete(struct kahu_ctx *ctx)
{
	const struct kahu_invocation *inv = ctx->inv;
	int all = inv_count(inv, "all") > 0, cascade = inv_count(inv, "cascade") > 0;
	const char *selector = inv_str(inv, "selector");
	struct labelsel *sel = NULL;
	struct repo *repo = NULL;
	struct store_lock *lock = NULL;
	struct catalog cat = { 0 };
	struct strv deps = STRV_INIT;
	const struct kahu_key *key = NULL;
	int rc;

	if ((inv->args.n > 0) + all + (selector != NULL) != 1)
		return kahu_error_set(KAHU_EUSAGE, "name the backups to delete, or give --all or --selector (one of them)");
	if (selector && (rc = labelsel_parse(selector, &sel)) < 0)
		return rc;
	if ((rc = cmd_open_repo(ctx, 0, &repo)) < 0 || (rc = repo_check_writable(repo)) < 0 ||
	    (rc = cmd_repo_lock(ctx, repo, "backup delete", &lock)) < 0 || (rc = repo_list_backups(repo, cat_cb, &cat)) < 0)
		goto out;
	for (size_t i = 0; i < inv->args.n; i++) {
		struct cat_entry *e = cat_find(&cat, inv->args.v[i]);
		if (!e) {
			rc = kahu_error_set(KAHU_ENOTFOUND, "no backup named %s on location %s", inv->args.v[i],
					    repo_location(repo)->name);
			goto out;
		}
		e->doomed = 1;
	}
	/* Labels choose what to delete only once the manifest that carries them is
	 * authenticated: whoever can write to the location must not be able to make a
	 * backup match (or a forged manifest pass for one).  That needs the key wherever
	 * there is one. */
	if (sel && cmd_repo_keyed(ctx, repo) && (rc = repo_key(repo, &key)) < 0) {
		kahu_error_wrap(rc, "backup delete --selector matches labels of authenticated manifests only, "
				"and needs the key of location %s for that", repo_location(repo)->name);
		goto out;
	}
	for (size_t i = 0; i < cat.n; i++) {
		struct cat_entry *e = &cat.v[i];
		if (all && e->complete)
			e->doomed = 1;
		if (!sel || !e->complete || !labelsel_match(sel, e->labels))
			continue;
		struct repo_backup rb = { .name = e->name, .complete = 1, .problem = e->problem,
					  .m = e->m };
		char *why = NULL;
		struct manifest *m = backup_trusted_manifest(&rb, key, &why);
		/* the authenticated labels decide */
		json_t *labels = m ? labels_json(m) : json_object();
		if (!m)
			log_warn("leaving backup %s alone: its labels match, but %s", e->name, why);
		else if (labelsel_match(sel, labels))
			e->doomed = 1;
		json_decref(labels);
		manifest_free(m);
		free(why);
	}
	/* The chain rule: a backup others build on goes only with them (--cascade). */
	for (;;) {
		strv_free(&deps);
		dependents(&cat, &deps);
		if (!deps.n)
			break;
		if (!cascade) {
			char *list = strv_join(&deps, ", ");
			rc = kahu_error_set(KAHU_EUSAGE, "refusing to break a backup chain: %s %s on what would be deleted; "
					    "delete them too with --cascade", list, deps.n == 1 ? "depends" : "depend");
			free(list);
			goto out;
		}
		for (size_t i = 0; i < deps.n; i++)
			cat_find(&cat, deps.v[i])->doomed = 1;
	}
	struct strv names = STRV_INIT;
	for (size_t i = 0; i < cat.n; i++)
		if (cat.v[i].doomed)
			strv_push(&names, cat.v[i].name);
	if (!names.n) {
		printf("No backups matched; nothing deleted.\n");
		strv_free(&names);
		goto out;
	}
	char *list = strv_join(&names, ", ");
	char *what = xasprintf("%zu backup%s (%s) from location %s", names.n, names.n == 1 ? "" : "s", list,
			       repo_location(repo)->name);
	strv_free(&names);
	free(list);
	rc = confirm(what, inv_count(inv, "yes") > 0);
	free(what);
	if (rc == 0)
		rc = remove_doomed(repo, &cat, 0, "deleted");
out:
	if (lock && repo_unlock(lock) < 0 && rc == 0)
		rc = kahu_error_code();
	strv_free(&deps);
	catalog_free(&cat);
	labelsel_free(sel);
	repo_close(repo);
	return rc;
}

/* ---- backup prune ---- */

/* The catalog as prune sees it: what each backup's manifest says, to be authenticated
 * before anything is decided on it. */
struct prune_item {
	char *name;
	int complete;              /* backup.json exists */
	char *problem;             /* it cannot be read */
	struct manifest *listed;   /* as listed, unverified */
	struct manifest *m;        /* authenticated */
	char *why;                 /* why it is not */
};

struct prune_list {
	struct prune_item *v;
	size_t n;
	int encrypted;             /* some manifest claims encryption */
};

static int prune_cb(void *ud, const struct repo_backup *b)
{
	struct prune_list *pl = ud;
	pl->v = xrealloc(pl->v, (pl->n + 1) * sizeof *pl->v);
	struct prune_item *it = &pl->v[pl->n++];
	memset(it, 0, sizeof *it);
	it->name = xstrdup(b->name);
	it->complete = b->complete;
	it->problem = xstrdup(b->problem);
	it->listed = manifest_copy(b->m);
	if (b->m && b->m->encrypted)
		pl->encrypted = 1;
	return 0;
}

static void prune_list_free(struct prune_list *pl)
{
	for (size_t i = 0; i < pl->n; i++) {
		free(pl->v[i].name);
		free(pl->v[i].problem);
		manifest_free(pl->v[i].listed);
		manifest_free(pl->v[i].m);
		free(pl->v[i].why);
	}
	free(pl->v);
}


static int run_backup_prune(struct kahu_ctx *ctx)
{
	const struct kahu_invocation *inv = ctx->inv;
	struct retention_policy pol = RETENTION_POLICY_NONE;
	int dry = inv_count(inv, "dry-run") > 0;
	struct repo *repo = NULL;
	struct store_lock *lock = NULL;
	const struct kahu_key *key = NULL;
	struct prune_list pl = { 0 };
	struct retention_entry *ent = NULL;
	struct strv untrusted = STRV_INIT;
	int rc, forged = 0;

	if ((rc = inv_long(inv, "keep-last", 0, 100000, &pol.last)) < 0 ||
	    (rc = inv_long(inv, "keep-daily", 0, 100000, &pol.daily)) < 0 ||
	    (rc = inv_long(inv, "keep-weekly", 0, 100000, &pol.weekly)) < 0 ||
	    (rc = inv_long(inv, "keep-monthly", 0, 100000, &pol.monthly)) < 0)
		return rc;
	if ((rc = cmd_open_repo(ctx, 0, &repo)) < 0 || (rc = repo_check_writable(repo)) < 0 ||
	    (rc = cmd_repo_lock(ctx, repo, "backup prune", &lock)) < 0 || (rc = repo_list_backups(repo, prune_cb, &pl)) < 0)
		goto out;

	/* Expiry, status and times are trusted once the manifest is authenticated: that
	 * needs the key wherever there is one.  (A location without a key, all of whose
	 * backups are unencrypted, has nothing to authenticate with.) */
	if ((pl.encrypted || *repo_get_info(repo)->key_id) && (rc = repo_key(repo, &key)) < 0) {
		kahu_error_wrap(rc, "backup prune authenticates every backup's manifest before it trusts its "
				"expiry, status or time, and needs the key of location %s for that",
				repo_location(repo)->name);
		goto out;
	}
	ent = xcalloc(pl.n + 1, sizeof *ent);
	for (size_t i = 0; i < pl.n; i++) {
		struct prune_item *it = &pl.v[i];
		struct retention_entry *e = &ent[i];
		e->name = it->name;
		if (!it->complete) {
			e->state = RET_LEFTOVER;
			continue;
		}
		struct repo_backup rb = { .name = it->name, .complete = 1, .problem = it->problem,
					  .m = it->listed };
		if (!(it->m = backup_trusted_manifest(&rb, key, &it->why))) {
			/* Left alone; what it says it builds on is kept too (retention.h). */
			e->state = RET_UNTRUSTED;
			e->parent = it->listed ? it->listed->parent : NULL;
			e->base = it->listed ? it->listed->base : NULL;
			log_warn("leaving backup %s alone: %s", it->name, it->why);
			strv_push(&untrusted, it->name);
			forged += !it->problem;
			continue;
		}
		e->state = it->m->status == MANIFEST_FAILED ? RET_FAILED : RET_GOOD;
		e->completed = it->m->completed ? it->m->completed : it->m->created;
		e->expires = it->m->expires;
		e->parent = it->m->parent;
		e->base = it->m->base;
	}
	retention_decide(ent, pl.n, &pol, time(NULL));
	for (size_t i = 0; i < pl.n; i++)
		if (!ent[i].remove && ent[i].why == RET_KEEP_NEEDED)
			log_info("keeping %s: %s builds on it", ent[i].name, ent[ent[i].needed_by].name);

	size_t n = 0;
	for (size_t i = 0; i < pl.n; i++)
		n += ent[i].remove != 0;
	/* Temporaries of puts a killed run never finished: we hold the lock, so none
	 * is in progress. */
	unsigned int temps = 0;
	if (!dry && (rc = store_cleanup(repo_store(repo), LAYOUT_BACKUPS, &temps)) < 0)
		goto out;
	if (temps)
		printf("removed %u unfinished upload%s of interrupted runs\n", temps, temps == 1 ? "" : "s");
	if (!n && !temps && !untrusted.n)
		printf("Nothing to prune on location %s.\n", repo_location(repo)->name);
	size_t done = 0;
	for (size_t i = 0; i < pl.n && rc == 0; i++) {
		if (!ent[i].remove)
			continue;
		if (!dry && (rc = repo_remove_backup(repo, ent[i].name, NULL)) < 0) {
			kahu_error_wrap(rc, "removing backup %s (%zu removed before it)", ent[i].name, done);
			break;
		}
		printf("%s %s (%s)\n", dry ? "would remove" : "removed", ent[i].name, retention_why_text(ent[i].why));
		done++;
	}
	if (rc == 0 && untrusted.n) {
		char *list = strv_join(&untrusted, ", ");
		rc = kahu_error_set(forged ? KAHU_ECRYPTO : KAHU_EDATA,
				    "%zu backup%s left alone, whose manifest%s cannot be %s: %s (see the warnings above; "
				    "kahu backup verify NAME checks one, kahu backup delete NAME removes one on purpose)",
				    untrusted.n, untrusted.n == 1 ? "" : "s", untrusted.n == 1 ? "" : "s",
				    forged ? "authenticated" : "read", list);
		free(list);
	}
out:
	if (lock && repo_unlock(lock) < 0 && rc == 0)
		rc = kahu_error_code();
	free(ent);
	strv_free(&untrusted);
	prune_list_free(&pl);
	repo_close(repo);
	return rc;
}

/* ---- tables ---- */

#define SCOPE_OPTS \
	{ "include-namespaces", 0, "NS,…", "namespaces to include (globs: *, ?, [..]; default all)", "@namespace", 0, NULL }, \
	{ "exclude-namespaces", 0, "NS,…", "namespaces to leave out (globs); an exclude wins over an include", "@namespace", 0, NULL }, \
	{ "include-resources", 0, "TYPE,…", "resource types to include: plural, type.group, Kind or short name (default all)", NULL, 0, NULL }, \
	{ "exclude-resources", 0, "TYPE,…", "resource types to leave out", NULL, 0, NULL }, \
	{ "include-cluster-resources", 0, "auto|true|false", "cluster-scoped objects: auto keeps all without a namespace filter, else only what included items need", "auto true false", 0, "auto" }, \
	{ "selector", 'l', "SELECTOR", "only objects whose labels match (a=b, a!=b, a in (x,y), !a …)", NULL, 0, NULL }, \
	{ "or-selector", 0, "SEL or SEL", "objects matching any of the selectors", NULL, 0, NULL }, \
	{ "include-names", 0, "GLOB,…", "only objects whose name (or namespace/name) matches", NULL, 0, NULL }, \
	{ "exclude-names", 0, "GLOB,…", "leave out objects whose name (or namespace/name) matches", NULL, 0, NULL }

static const struct kahu_opt create_opts[] = {
	SCOPE_OPTS,
	{ "ttl", 0, "DURATION", "how long the backup is kept before prune removes it (0: forever)", NULL, 0, "720h" },
	{ "labels", 0, "KEY=VALUE,…", "labels of the backup (for list -l and delete -l)", NULL, OPT_REPEAT, NULL },
	{ "full", 0, NULL, "a full backup (the default)", NULL, 0, NULL },
	{ "incremental", 0, NULL, "store only what changed since the newest backup of the same scope", NULL, 0, NULL },
	{ "differential", 0, NULL, "store only what changed since the newest full backup of the same scope", NULL, 0, NULL },
	{ "parent", 0, "BACKUP", "the backup an incremental or differential backup is based on", "@backup", 0, NULL },
	{ "parallel", 0, "N", "resource types listed at once", NULL, 0, "4" },
	{ "compression-level", 0, "N", "zstd level, 1 (fast) to 19 (small)", NULL, 0, "3" },
	{ "dry-run", 0, NULL, "list what would be backed up, write nothing", NULL, 0, NULL },
	{ "no-encryption", 0, NULL, "store the backup unencrypted (test clusters only)", NULL, 0, NULL },
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

static const struct kahu_opt list_opts[] = {
	{ "selector", 'l', "SELECTOR", "only backups whose labels match", NULL, 0, NULL },
	KAHU_OPT_LOCATION,
	OPT_END
};

static const struct kahu_opt delete_opts[] = {
	{ "all", 0, NULL, "delete every backup on the location", NULL, 0, NULL },
	{ "selector", 'l', "SELECTOR", "delete the backups whose labels match", NULL, 0, NULL },
	{ "cascade", 0, NULL, "also delete the incremental and differential backups built on them", NULL, 0, NULL },
	{ "yes", 'y', NULL, "do not ask for confirmation", NULL, 0, NULL },
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

static const struct kahu_opt prune_opts[] = {
	{ "keep-last", 0, "N", "keep the N newest backups (Failed ones do not count)", NULL, 0, NULL },
	{ "keep-daily", 0, "N", "keep the newest backup of each of the last N days that have one", NULL, 0, NULL },
	{ "keep-weekly", 0, "N", "keep the newest backup of each of the last N weeks that have one", NULL, 0, NULL },
	{ "keep-monthly", 0, "N", "keep the newest backup of each of the last N months that have one", NULL, 0, NULL },
	{ "dry-run", 0, NULL, "say what would be removed, remove nothing", NULL, 0, NULL },
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

const struct kahu_cmd cmd_backup_delete_entry = {
	.name = "backup delete",
	.args = "[NAME...]",
	.min_args = 0,
	.max_args = -1,
	.summary = "Delete backups (asks first unless --yes; keeps backup chains whole)",
	.opts = delete_opts,
	.run = run_backup_delete,
	.args_complete = "@backup",
};

const struct kahu_cmd cmd_backup_prune_entry = {
	.name = "backup prune",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Remove expired backups (or those no --keep-* policy keeps) and leftovers of interrupted runs",
	.opts = prune_opts,
	.run = run_backup_prune,
};

const struct kahu_cmd cmd_backup_entry = {
	.name = "backup",
	.summary = "Create and manage backups",
	.flags = CMD_NOUN,
};

const struct kahu_cmd cmd_backup_create_entry = {
	.name = "backup create",
	.args = "NAME",
	.min_args = 1,
	.max_args = 1,
	.summary = "Back up the cluster's resources into an encrypted, compressed archive",
	.outputs = "table json yaml name",
	.opts = create_opts,
	.run = run_backup_create,
	.flags = CMD_CLUSTER,
};

const struct kahu_cmd cmd_backup_list_entry = {
	.name = "backup list",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "List the backups on a location (no key needed)",
	.outputs = "table json yaml name",
	.opts = list_opts,
	.run = run_backup_list,
};

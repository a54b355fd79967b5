/* kahu backup create|list|delete|prune — writing and managing backups on a location.
 * (describe, download, verify and logs, which read backups, are in backup_read.c.) */
#include "cmd/backup_multi.h"
#include "cmd/common_opts.h"
#include "archive/manifest.h"
#include "cli/progress.h"
#include "engine/backup.h"
#include "engine/hooks.h"
#include "engine/labelsel.h"
#include "engine/parent.h"
#include "engine/plan.h"
#include "engine/retention.h"
#include "engine/run_backup.h"
#include "engine/scope.h"
#include "engine/volcsi.h"
#include "engine/volrun.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/kubeconfig.h"
#include "store/config.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "util/tzif.h"

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

static void on_volume_progress(void *ud, const char *namespace_, const char *pvc, uint64_t bytes,
			       uint64_t files)
{
	(void)ud;
	progress_volume(namespace_, pvc, bytes, files);
}

/* One line per claim: what happens to its data, and why. */
static void print_volumes(const json_t *vols, int with_status)
{
	size_t i;
	json_t *v;
	if (!json_array_size(vols))
		return;
	printf("\nVolumes:\n");
	static const char *const hdr[] = { "PVC", "METHOD", "STATUS", "WHERE", "REASON" };
	struct out_table *t = out_table_new(5, hdr);
	json_array_foreach(vols, i, v) {
		const char *ns = json_string_value(json_object_get(v, "namespace"));
		const char *pvc = json_string_value(json_object_get(v, "pvc"));
		const char *pod = json_string_value(json_object_get(v, "pod"));
		const char *status = json_string_value(json_object_get(v, "status"));
		char *id = xasprintf("%s/%s", ns ? ns : "", pvc ? pvc : "");
		char *where = pod ? xasprintf("%s/%s:%s", pod,
					      json_string_value(json_object_get(v, "container")),
					      json_string_value(json_object_get(v, "mountPath")))
				  : xstrdup("");
		if (!status)
			status = json_is_true(json_object_get(v, "failed")) ? "Failed" : "";
		const char *row[] = { id, json_string_value(json_object_get(v, "method")),
				      with_status ? status : (json_is_true(json_object_get(v, "failed")) ? "Failed" : "planned"),
				      where, json_string_value(json_object_get(v, "reason")) };
		out_table_row(t, row);
		free(id);
		free(where);
	}
	out_table_print(t, stdout);
	out_table_free(t);
}

static void print_plan(struct kahu_ctx *ctx, const struct backup_outcome *o, const char *name,
		       const json_t *volumes)
{
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *doc = json_pack("{s:s, s:b, s:O}", "name", name, "dryRun", 1, "plan",
					json_object_get(o->spec, "types"));
		if (volumes)
			json_object_set(doc, "volumes", (json_t *)volumes);
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
	print_volumes(volumes, 0);
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
		if (res->hooks)
			json_object_set(doc, "hooks", res->hooks);
		if (res->volumes)
			json_object_set(doc, "volumes", res->volumes);
		if (res->volume_location)
			json_object_set_new(doc, "volumeLocation", json_string(res->volume_location));
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
		cmd_print_hooks(stdout, res->hooks);
		print_volumes(res->volumes, 1);
		if (res->volume_location)
			printf("  Volume data on location %s.\n", res->volume_location);
	}
}

/* What backup create runs, from its command line. */
struct create_spec {
	struct backup_run_spec rs;
	struct run_repo rr;
	struct kahu_scope *scope;
	json_t *labels;
	struct hook_set *hooks;
	struct vol_opts vol;
	struct strv contexts;        /* --contexts, --all-contexts: a backup of each… */
	struct strv names;           /* …named NAME-CONTEXT (engine/multi.h) */
	long parallel_clusters;
};

static void create_spec_free(void *p)
{
	struct create_spec *s = p;
	strv_free(&s->contexts);
	strv_free(&s->names);
	hook_set_free(s->hooks);
	vol_opts_clear(&s->vol);
	scope_free(s->scope);
	json_decref(s->labels);
	free(s);
}

/* The spec of a backup from its args: backup create's flags and a plan's spec both
 * come through here (common_opts.h). */
int cmd_backup_create_spec(struct kahu_ctx *ctx, const char *name, const struct backup_args *a,
			   void **out)
{
	int64_t ttl = 720 * 3600;
	int rc;

	if (a->parent && a->kind == BACKUP_FULL)
		return kahu_error_set(KAHU_EUSAGE, "--parent needs --incremental or --differential");
	struct create_spec *s = xcalloc(1, sizeof *s);
	static const struct strv no_labels = STRV_INIT;
	if ((rc = repo_valid_name(name)) < 0 ||
	    (a->ttl && (rc = duration_parse(a->ttl, "--ttl", &ttl)) < 0) ||
	    (rc = parse_labels(a->labels ? a->labels : &no_labels, &s->labels)) < 0 ||
	    (rc = scope_from_args(a, &s->scope)) < 0 ||
	    (a->hooks_file && (rc = hook_set_load(a->hooks_file, &s->hooks)) < 0) ||
	    (rc = vol_opts_parse(&a->vol, 0, &s->vol)) < 0 ||
	    (rc = cmd_run_repo(ctx, &s->rr)) < 0) {
		create_spec_free(s);
		return rc;
	}
	if (a->location)
		s->rr.opts.location = a->location;
	const char *vloc = a->volume_location;
	if (vloc && !config_location_name_ok(vloc))
		rc = kahu_error_set(KAHU_EUSAGE, "--volume-location %s: not a location name (1 to 63 letters, "
				    "digits, '-', '_' or '.', starting with a letter or digit)", vloc);
	else if (vloc && s->vol.mode == VOL_MODE_NONE)
		rc = kahu_error_set(KAHU_EUSAGE, "--volume-location %s: the backup carries no volume data "
				    "(--volume-data none); give --volume-data fs, csi or auto", vloc);
	if (rc < 0) {
		create_spec_free(s);
		return rc;
	}
	s->rs = (struct backup_run_spec){
		.hooks = s->hooks,
		.name = name,
		.scope = s->scope,
		.kind = a->kind,
		.parent = a->parent,
		.parallel = (int)a->parallel,
		.page_size = a->page_size,
		.compression_level = (int)a->compression_level,
		.ttl_seconds = ttl,
		.labels = s->labels,
		.dry_run = a->dry_run,
		.no_encryption = a->no_encryption,
		.repo = &s->rr,
		.vol = s->vol.mode == VOL_MODE_NONE ? NULL : &s->vol,   /* none: no volume work at all */
		.volume_location = a->volume_location,
		.phase = on_backup_phase,
		.progress = on_backup_progress,
		/* a terminal's progress line or -v's log (data movers read their pods' logs
		 * for it only then) */
		.vol_progress = ctx->progress || kahu_log_get_level() >= KAHU_LOG_INFO ? on_volume_progress : NULL,
	};
	if ((rc = backup_multi_parse(ctx->inv, name, &s->contexts, &s->names, &s->parallel_clusters)) < 0) {
		create_spec_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void cmd_backup_create_spec_free(void *spec)
{
	create_spec_free(spec);
}

static const char *opt_or_null(const struct kahu_invocation *inv, enum kahu_opt_id id)
{
	return inv_has(inv, id) ? inv_str(inv, id) : NULL;
}

static int parse_backup_create(struct kahu_ctx *ctx, void **out)
{
	const struct kahu_invocation *inv = ctx->inv;
	struct backup_args a = {
		.ttl = inv_str(inv, OPT_TTL),
		.labels = inv_list(inv, OPT_LABELS),
		.kind = BACKUP_FULL,
		.parent = inv_str(inv, OPT_PARENT),
		.parallel = 4,
		.compression_level = 3,
		.page_size = 500,
		.hooks_file = inv_str(inv, OPT_HOOKS),
		.vol = {
			.volume_data = opt_or_null(inv, OPT_VOLUME_DATA),
			.volume_policy = opt_or_null(inv, OPT_VOLUME_POLICY),
			.helper_image = opt_or_null(inv, OPT_HELPER_IMAGE),
			.helper_resources = opt_or_null(inv, OPT_HELPER_RESOURCES),
			.snapshot_class = opt_or_null(inv, OPT_SNAPSHOT_CLASS),
			.csi_snapshot_timeout = opt_or_null(inv, OPT_CSI_SNAPSHOT_TIMEOUT),
			.exclude_paths = inv_list(inv, OPT_EXCLUDE_VOLUME_PATHS),
			.node_selector = inv_list(inv, OPT_HELPER_NODE_SELECTOR),
			.tolerations = inv_list(inv, OPT_HELPER_TOLERATIONS),
			.snapshot_move_data = opt_or_null(inv, OPT_SNAPSHOT_MOVE_DATA),
			.data_mover = opt_or_null(inv, OPT_DATA_MOVER),
			.movers_per_node = opt_or_null(inv, OPT_MOVERS_PER_NODE),
			.mover_timeout = opt_or_null(inv, OPT_MOVER_TIMEOUT),
			.mover_image = opt_or_null(inv, OPT_MOVER_IMAGE),
			.mover_secret = opt_or_null(inv, OPT_MOVER_SECRET),
			.mover_retries = opt_or_null(inv, OPT_MOVER_RETRIES),
		},
		.volume_location = inv_str(inv, OPT_VOLUME_LOCATION),
		.dry_run = inv_count(inv, OPT_DRY_RUN) > 0,
		.no_encryption = inv_count(inv, OPT_NO_ENCRYPTION) > 0,
	};
	int rc;
	scope_args_from_flags(inv, &a);
	int nkinds = (inv_count(inv, OPT_FULL) > 0) + (inv_count(inv, OPT_INCREMENTAL) > 0) +
		     (inv_count(inv, OPT_DIFFERENTIAL) > 0);
	if (nkinds > 1)
		return kahu_error_set(KAHU_EUSAGE, "--full, --incremental and --differential exclude each other");
	if (inv_count(inv, OPT_INCREMENTAL))
		a.kind = BACKUP_INCREMENTAL;
	if (inv_count(inv, OPT_DIFFERENTIAL))
		a.kind = BACKUP_DIFFERENTIAL;
	if ((rc = inv_long(inv, OPT_PARALLEL, 1, 64, &a.parallel)) < 0 ||
	    (rc = inv_long(inv, OPT_COMPRESSION_LEVEL, 1, 19, &a.compression_level)) < 0 ||
	    (rc = inv_long(inv, OPT_PAGE_SIZE, 1, 100000, &a.page_size)) < 0)
		return rc;
	return cmd_backup_create_spec(ctx, inv->args.v[0], &a, out);
}

/* The cluster is loaded here (not by the dispatcher): with --contexts each backup has
 * its own (backup_multi.c). */
static int run_backup_create(struct kahu_ctx *ctx)
{
	return cmd_backup_create_run(ctx, ctx->spec, NULL);
}

int cmd_backup_create_run(struct kahu_ctx *ctx, void *spec, char **status)
{
	struct create_spec *s = spec;
	struct backup_run_result res = { 0 };
	struct kube_client *kc;
	int rc;

	if (s->contexts.n)
		return backup_multi_run(ctx, &s->rs, &s->contexts, &s->names, s->parallel_clusters);
	if ((rc = ctx_kube_client(ctx, &kc)) < 0)
		return rc;
	s->rs.kc = kc;
	s->rs.server = ctx->kcfg->server;
	s->rs.context = ctx->kcfg->context_name;
	s->rs.ud = ctx;
	rc = backup_run(&s->rs, &res);
	if (!res.have_outcome)
		goto out;
	if (s->rs.dry_run)
		print_plan(ctx, &res.out, s->rs.name, res.volumes);
	else
		print_backup(ctx, &s->rs, &res);
	if (status && !s->rs.dry_run)
		*status = xstrdup(res.out.status);
	if (rc == KAHU_EFAIL || rc == KAHU_EPARTIAL)
		log_error("%s", kahu_error_last());
out:
	backup_run_result_free(&res);
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
	const char *location;            /* of the backups being listed */
	char *last_location;             /* the name of the last location opened */
	const char *cluster;             /* --cluster, NULL: all */
	struct manifest_cluster current; /* --cluster current: the current context's */
};

static json_t *cluster_json(const struct manifest *m)
{
	if (!m || !m->cluster.server)
		return json_null();
	return json_pack("{s:s, s:s?}", "server", m->cluster.server, "uid", m->cluster.uid);
}

static int list_cb(void *ud, const struct repo_backup *b)
{
	struct list_ctx *lc = ud;
	const struct manifest *m = b->m;
	if (!b->complete)
		return 0; /* leftovers of interrupted runs are not backups (prune removes them) */
	if (lc->cluster && (!m || !(lc->current.server ? manifest_cluster_same(&m->cluster, &lc->current)
						      : manifest_cluster_matches(&m->cluster, lc->cluster))))
		return 0;
	json_t *labels = labels_json(m);
	if (lc->sel && !labelsel_match(lc->sel, labels)) {
		json_decref(labels);
		return 0;
	}
	json_t *j = json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:I, s:o?, s:s?, s:o, s:s}",
			      "name", b->name,
			      "status", m ? manifest_status_name(m->status) : "Unreadable",
			      "type", m ? manifest_type_name(m->type) : NULL,
			      "parent", m ? m->parent : NULL,
			      "created", (json_int_t)(m ? m->created : 0),
			      "expires", (json_int_t)(m ? m->expires : 0),
			      "storedBytes", (json_int_t)b->stored_bytes,
			      "items", (json_int_t)(m ? m->counts.items : 0),
			      "labels", labels, "problem", b->problem,
			      "cluster", cluster_json(m), "location", lc->location);
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

/* --selector, parsed: the spec of delete. */
static int parse_selector(struct kahu_ctx *ctx, void **out)
{
	const char *text = inv_str(ctx->inv, OPT_SELECTOR);
	struct labelsel *sel = NULL;
	int rc;
	if (text && (rc = labelsel_parse(text, &sel)) < 0)
		return rc;
	*out = sel;
	return 0;
}

static void selector_free(void *sel)
{
	labelsel_free(sel);
}

/* What backup list runs: its filters and where it looks. */
struct list_spec {
	struct labelsel *sel;
	const char *cluster;
	int all_locations;
	struct run_repo rr;
};

static void list_spec_free(void *p)
{
	struct list_spec *s = p;
	if (s)
		labelsel_free(s->sel);
	free(s);
}

static int parse_backup_list(struct kahu_ctx *ctx, void **out)
{
	const struct kahu_invocation *inv = ctx->inv;
	struct list_spec *s = xcalloc(1, sizeof *s);
	int rc;
	s->cluster = inv_str(inv, OPT_CLUSTER);
	s->all_locations = inv_count(inv, OPT_ALL_LOCATIONS) > 0;
	if (s->cluster && !*s->cluster)
		rc = kahu_error_set(KAHU_EUSAGE, "--cluster: empty; give a kube-system UID (or a prefix of "
				    "at least 4 characters), an API server URL, or \"current\"");
	else if (s->all_locations && inv_str(inv, OPT_LOCATION))
		rc = kahu_error_set(KAHU_EUSAGE, "--all-locations and --location exclude each other");
	else if ((rc = parse_selector(ctx, (void **)&s->sel)) == 0)
		rc = cmd_run_repo(ctx, &s->rr);
	if (rc < 0) {
		list_spec_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* The backups of one location into lc->items. */
static int list_location(struct list_ctx *lc, const struct run_repo *rr)
{
	struct repo *repo = NULL;
	int rc = run_open_repo(rr, 0, &repo);
	if (rc == 0) {
		lc->keyed = run_repo_keyed(rr, repo);
		lc->location = repo_location(repo)->name;
		free(lc->last_location);
		lc->last_location = xstrdup(lc->location);
		rc = repo_list_backups(repo, list_cb, lc);
	}
	lc->location = NULL;
	repo_close(repo);
	return rc;
}

/* --all-locations: every location of the configuration, in its order; one that cannot
 * be listed is a warning, and the run's result KAHU_EPARTIAL (KAHU_EPARTIAL also when
 * none could be: the first failure's code then). */
static int list_all_locations(struct list_ctx *lc, const struct run_repo *rr0)
{
	struct kahu_config *cfg = NULL;
	size_t failed = 0;
	int first = 0;
	int rc = config_load(rr0->opts.config_path, &cfg);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < cfg->nlocs; i++) {
		struct run_repo rr = *rr0;
		rr.opts.config = cfg;
		rr.opts.location = cfg->locs[i].name;
		if ((rc = list_location(lc, &rr)) < 0) {
			if (rc == KAHU_EINTR) {
				config_free(cfg);
				return rc;
			}
			log_warn("location %s could not be listed, its backups are left out: %s",
				 cfg->locs[i].name, kahu_error_last());
			if (!failed++)
				first = rc;
		}
	}
	size_t n = cfg->nlocs;
	config_free(cfg);
	if (!failed)
		return 0;
	if (failed == n)
		return kahu_error_set(first, "none of the %zu locations could be listed", n);
	return kahu_error_set(KAHU_EPARTIAL, "%zu of the %zu locations could not be listed (see the warnings)",
			      failed, n);
}

static void print_backup_table(const json_t *items)
{
	static const char *const hdr[] = { "NAME", "STATUS", "TYPE", "CREATED", "EXPIRES", "SIZE", "ITEMS",
					   "CLUSTER", "LOCATION" };
	struct out_table *t = out_table_new(9, hdr);
	time_t now = time(NULL);
	size_t i;
	json_t *b;
	json_array_foreach(items, i, b) {
		char created[32] = "", expires[32] = "never", size[32], items_s[32], cluster[64];
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
		snprintf(items_s, sizeof items_s, "%lld", (long long)json_integer_value(json_object_get(b, "items")));
		json_t *cj = json_object_get(b, "cluster");
		struct manifest_cluster mc = {
			.server = (char *)json_string_value(json_object_get(cj, "server")),
			.uid = (char *)json_string_value(json_object_get(cj, "uid")),
		};
		manifest_cluster_short(&mc, cluster, sizeof cluster);
		const char *row[] = { json_string_value(json_object_get(b, "name")),
				      json_string_value(json_object_get(b, "status")),
				      json_string_value(json_object_get(b, "type")),
				      created, expires, size, items_s, cluster,
				      json_string_value(json_object_get(b, "location")) };
		out_table_row(t, row);
	}
	out_table_print(t, stdout);
	out_table_free(t);
}

/* The location is opened here, not by the dispatcher: --all-locations opens each. */
static int run_backup_list(struct kahu_ctx *ctx)
{
	struct list_spec *s = ctx->spec;
	struct list_ctx lc = { .items = json_array(), .sel = s->sel, .cluster = s->cluster };
	int rc;

	if (s->cluster && strcmp(s->cluster, "current") == 0) {
		struct kube_config *cfg;
		struct kube_client *kc;
		char *unknown = NULL;
		if ((rc = ctx_kube_config(ctx, &cfg)) < 0 || (rc = ctx_kube_client(ctx, &kc)) < 0 ||
		    (rc = cluster_identity_read(kc, cfg->server, &lc.current, &unknown)) < 0)
			goto out;
		if (unknown) {
			log_warn("the UID of namespace kube-system of the current cluster could not be read (%s): "
				 "backups are matched by its server URL %s", unknown, cfg->server);
			free(unknown);
		}
	}
	rc = s->all_locations ? list_all_locations(&lc, &s->rr) : list_location(&lc, &s->rr);
	if (rc < 0 && rc != KAHU_EPARTIAL)
		goto out;
	int partial = rc;
	if (partial)
		log_error("%s", kahu_error_last());

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
	default:
		if (json_array_size(lc.items))
			print_backup_table(lc.items);
		else if (s->all_locations)
			fprintf(stderr, "No backups%s%s on any location.\n", s->cluster ? " of cluster " : "",
				s->cluster ? s->cluster : "");
		else
			fprintf(stderr, "No backups%s%s on location %s.\n", s->cluster ? " of cluster " : "",
				s->cluster ? s->cluster : "", lc.last_location ? lc.last_location : "?");
	}
	if (partial && rc == 0)
		rc = kahu_error_set(KAHU_EPARTIAL, "some locations could not be listed");
out:
	cluster_identity_clear(&lc.current);
	free(lc.last_location);
	json_decref(lc.items);
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

/* ---- the CSI snapshots a backup kept in the cluster ---- */

struct kept_ctx {
	struct kahu_ctx *ctx;
	struct kube_client *kc;          /* the current context's cluster, once asked for */
	struct manifest_cluster cur;     /* its identity */
	int tried;                       /* kc asked for (kc NULL: failed, why in `why`) */
	char *why;
	long failed;                     /* snapshots left: failures, each warned */
};

static void kept_fail(struct kept_ctx *k, const char *backup, json_t *snaps, const char *why)
{
	size_t i;
	json_t *s;
	json_array_foreach(snaps, i, s) {
		log_warn("VolumeSnapshot %s/%s of backup %s was not deleted: %s",
			 json_string_value(json_object_get(s, "namespace")),
			 json_string_value(json_object_get(s, "name")), backup, why);
		k->failed++;
	}
}

/* Before backup `name` (manifest `m`, as listed) is removed: the snapshots it kept in
 * the cluster (--snapshot-move-data=false) deleted, data included, in the current
 * context's cluster if that is the backup's.  A snapshot already gone is no error; one
 * that cannot be deleted is warned about with the reason and counted, and the backup
 * is removed all the same (its cluster may be gone for good). */
static void delete_kept(struct kept_ctx *k, struct repo *repo, const struct manifest *m,
			const char *name)
{
	int has_catalog = 0;
	for (size_t i = 0; m && i < m->n_objects; i++)
		if (strncmp(m->objects[i].path, LAYOUT_VOLUMES_CATALOG, strlen(LAYOUT_VOLUMES_CATALOG)) == 0)
			has_catalog = 1;
	if (!has_catalog)
		return;
	const struct kahu_key *key = NULL;
	json_t *snaps = NULL;
	int rc;
	if ((run_repo_keyed(&k->ctx->rr, repo) && (rc = repo_key(repo, &key)) < 0) ||
	    (rc = vol_kept_snapshots(repo_store(repo), key, name, &snaps)) < 0) {
		log_warn("the CSI snapshots backup %s kept in the cluster, if any, were not deleted: %s",
			 name, kahu_error_last());
		k->failed++;
		json_decref(snaps);
		return;
	}
	if (!json_array_size(snaps)) {
		json_decref(snaps);
		return;
	}
	if (!k->tried) {
		k->tried = 1;
		char *unknown = NULL;
		if ((rc = ctx_kube_client(k->ctx, &k->kc)) < 0 ||
		    (rc = cluster_identity_read(k->kc, k->ctx->kcfg->server, &k->cur, &unknown)) < 0) {
			k->why = xasprintf("the cluster cannot be used: %s", kahu_error_last());
			k->kc = NULL;
		}
		free(unknown);
	}
	if (!k->kc) {
		kept_fail(k, name, snaps, k->why);
	} else if (m->cluster.server && !manifest_cluster_same(&m->cluster, &k->cur)) {
		char *why = xasprintf("the current context's cluster (%s) is not the one the backup was "
				      "taken in (%s); delete it with a context of that cluster",
				      k->cur.server, m->cluster.server);
		kept_fail(k, name, snaps, why);
		free(why);
	} else {
		size_t i;
		json_t *s;
		json_array_foreach(snaps, i, s) {
			const char *ns = json_string_value(json_object_get(s, "namespace"));
			const char *sn = json_string_value(json_object_get(s, "name"));
			if (vol_snapshot_delete(k->kc, ns, sn, json_string_value(json_object_get(s, "content"))) < 0) {
				log_warn("VolumeSnapshot %s/%s of backup %s was not deleted: %s", ns, sn, name,
					 kahu_error_last());
				k->failed++;
			} else {
				log_info("deleted VolumeSnapshot %s/%s of backup %s with its content", ns, sn, name);
			}
		}
	}
	json_decref(snaps);
}

/* The verdict once the backups are removed: rc, or KAHU_EPARTIAL when snapshots were
 * left. */
static int kept_done(struct kept_ctx *k, int rc)
{
	if (rc == 0 && k->failed)
		rc = kahu_error_set(KAHU_EPARTIAL, "the backups were removed, but %ld CSI snapshot%s they kept "
				    "in the cluster could not be deleted (see the warnings); the next backup create "
				    "into this location removes those in its namespaces (or set their VolumeSnapshotContent's "
				    "deletionPolicy to Delete and delete them by hand)", k->failed,
				    k->failed == 1 ? "" : "s");
	if (rc == KAHU_EPARTIAL)
		log_error("%s", kahu_error_last());   /* main does not print a partial outcome */
	cluster_identity_clear(&k->cur);
	free(k->why);
	return rc;
}

static int remove_doomed(struct repo *repo, struct catalog *c, int dry, const char *verb,
			 struct kept_ctx *k)
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
		if (c->v[i].complete)
			delete_kept(k, repo, c->v[i].m, c->v[i].name);
		if ((rc = repo_remove_backup(repo, c->v[i].name, NULL)) < 0)
			return kahu_error_wrap(rc, "deleting backup %s (%zu deleted before it)", c->v[i].name, n);
		printf("%s %s%s\n", verb, c->v[i].name, c->v[i].complete ? "" : " (leftover of an interrupted run)");
		n++;
	}
	return rc;
}

/* ---- backup delete ---- */

static int parse_backup_delete(struct kahu_ctx *ctx, void **out)
{
	const struct kahu_invocation *inv = ctx->inv;
	if ((inv->args.n > 0) + (inv_count(inv, OPT_ALL) > 0) + (inv_str(inv, OPT_SELECTOR) != NULL) != 1)
		return kahu_error_set(KAHU_EUSAGE, "name the backups to delete, or give --all or --selector (one of them)");
	return parse_selector(ctx, out);
}

/* CMD_LOCK | CMD_WRITE */
static int run_backup_delete(struct kahu_ctx *ctx)
{
	const struct kahu_invocation *inv = ctx->inv;
	int all = inv_count(inv, OPT_ALL) > 0, cascade = inv_count(inv, OPT_CASCADE) > 0;
	struct labelsel *sel = ctx->spec;
	struct repo *repo = ctx->repo;
	struct catalog cat = { 0 };
	struct strv deps = STRV_INIT;
	const struct kahu_key *key = NULL;
	int rc;

	if ((rc = repo_list_backups(repo, cat_cb, &cat)) < 0)
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
	if (sel && run_repo_keyed(&ctx->rr, repo) && (rc = repo_key(repo, &key)) < 0) {
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
	rc = confirm(what, inv_count(inv, OPT_YES) > 0);
	free(what);
	if (rc == 0) {
		struct kept_ctx k = { .ctx = ctx };
		rc = kept_done(&k, remove_doomed(repo, &cat, 0, "deleted", &k));
	}
out:
	strv_free(&deps);
	catalog_free(&cat);
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
	const char *plan;          /* only this plan's names */
};

static int prune_cb(void *ud, const struct repo_backup *b)
{
	struct prune_list *pl = ud;
	int64_t t;
	if (pl->plan && plan_backup_time(pl->plan, b->name, &t) < 0)
		return 0;   /* not the plan's */
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

static const char *manifest_label(const struct manifest *m, const char *key)
{
	for (size_t i = 0; m && i < m->n_labels; i++)
		if (strcmp(m->labels[i].key, key) == 0)
			return m->labels[i].value;
	return NULL;
}

/* prune's spec: the policies and the zone of their periods (owned). */
struct prune_spec {
	struct retention_policy pol;
	struct tzif *zone;
};

static void prune_spec_free(void *p)
{
	struct prune_spec *sp = p;
	if (sp)
		tzif_free(sp->zone);
	free(sp);
}

static int parse_backup_prune(struct kahu_ctx *ctx, void **out)
{
	const struct kahu_invocation *inv = ctx->inv;
	struct retention_policy pol = RETENTION_POLICY_NONE;
	int rc;
	if ((rc = inv_long(inv, OPT_KEEP_LAST, 0, 100000, &pol.last)) < 0 ||
	    (rc = inv_long(inv, OPT_KEEP_HOURLY, 0, 100000, &pol.hourly)) < 0 ||
	    (rc = inv_long(inv, OPT_KEEP_DAILY, 0, 100000, &pol.daily)) < 0 ||
	    (rc = inv_long(inv, OPT_KEEP_WEEKLY, 0, 100000, &pol.weekly)) < 0 ||
	    (rc = inv_long(inv, OPT_KEEP_MONTHLY, 0, 100000, &pol.monthly)) < 0 ||
	    (rc = inv_long(inv, OPT_KEEP_YEARLY, 0, 100000, &pol.yearly)) < 0)
		return rc;
	struct tzif *zone = NULL;
	const char *tz = inv_str(inv, OPT_TIME_ZONE);
	if (tz && !*tz)
		return kahu_error_set(KAHU_EUSAGE, "--time-zone needs a zone name (such as Europe/Berlin or UTC)");
	if ((rc = tzif_load(tz, &zone)) < 0)
		return kahu_error_wrap(rc == KAHU_ENOTFOUND ? KAHU_EUSAGE : rc, "--time-zone");
	struct prune_spec *p = xmalloc(sizeof *p);
	p->zone = zone;
	p->pol = pol;
	p->pol.zone = zone;
	*out = p;
	return 0;
}

/* CMD_LOCK | CMD_WRITE */
static int run_backup_prune(struct kahu_ctx *ctx)
{
	struct prune_opts o = { .pol = &((const struct prune_spec *)ctx->spec)->pol, .dry = inv_count(ctx->inv, OPT_DRY_RUN) > 0,
				.now = time(NULL) };
	return cmd_prune(ctx, ctx->repo, &o);
}

int cmd_prune(struct kahu_ctx *ctx, struct repo *repo, struct prune_opts *o)
{
	const struct retention_policy *pol = o->pol;
	int dry = o->dry;
	const struct kahu_key *key = NULL;
	struct prune_list pl = { .plan = o->plan };
	struct retention_entry *ent = NULL;
	size_t *idx = NULL, ne = 0;
	struct strv untrusted = STRV_INIT;
	int rc, forged = 0;

	o->removed = 0;
	if ((rc = repo_list_backups(repo, prune_cb, &pl)) < 0)
		goto out;

	/* Expiry, status and times are trusted once the manifest is authenticated: that
	 * needs the key wherever there is one.  (A location without a key, all of whose
	 * backups are unencrypted, has nothing to authenticate with.) */
	if ((pl.encrypted || *repo_get_info(repo)->key_id) && (rc = repo_key(repo, &key)) < 0) {
		kahu_error_wrap(rc, "%s authenticates every backup's manifest before it trusts its "
				"expiry, status or time, and needs the key of location %s for that",
				o->plan ? "a plan's retention" : "backup prune", repo_location(repo)->name);
		goto out;
	}
	ent = xcalloc(pl.n + 2, sizeof *ent);
	idx = xcalloc(pl.n + 2, sizeof *idx);
	for (size_t i = 0; i < pl.n; i++) {
		struct prune_item *it = &pl.v[i];
		struct retention_entry *e = &ent[ne];
		int64_t when = 0;
		if (o->plan)
			plan_backup_time(o->plan, it->name, &when);
		e->name = it->name;
		if (!it->complete) {
			e->state = RET_LEFTOVER;
			idx[ne++] = i;
			continue;
		}
		struct repo_backup rb = { .name = it->name, .complete = 1, .problem = it->problem,
					  .m = it->listed };
		if (!(it->m = backup_trusted_manifest(&rb, key, &it->why))) {
			const char *claimed = manifest_label(it->listed, PLAN_LABEL);
			if (o->plan && (!claimed || strcmp(claimed, o->plan)))
				continue;   /* it does not even claim to be the plan's */
			/* Left alone; what it says it builds on is kept too (retention.h). */
			e->state = RET_UNTRUSTED;
			e->parent = it->listed ? it->listed->parent : NULL;
			e->base = it->listed ? it->listed->base : NULL;
			log_warn("leaving backup %s alone: %s", it->name, it->why);
			strv_push(&untrusted, it->name);
			forged += !it->problem;
			idx[ne++] = i;
			continue;
		}
		if (o->plan) {
			const char *lab = manifest_label(it->m, PLAN_LABEL);
			if (!lab || strcmp(lab, o->plan))
				continue;   /* named like the plan's, but not made by it */
		}
		e->state = it->m->status == MANIFEST_FAILED ? RET_FAILED : RET_GOOD;
		e->completed = it->m->completed ? it->m->completed : it->m->created;
		e->expires = it->m->expires;
		if (o->plan) {
			/* the plan's clock: the time in the name */
			if (e->expires)
				e->expires = when + (e->expires - it->m->created);
			e->completed = when;
		}
		e->parent = it->m->parent;
		e->base = it->m->base;
		idx[ne++] = i;
	}
	if (o->add) {
		ent[ne] = (struct retention_entry){ .name = o->add, .state = RET_GOOD, .completed = o->add_when,
						    .parent = o->add_parent, .base = o->add_base };
		idx[ne++] = (size_t)-1;
	}
	retention_decide(ent, ne, pol, o->now);
	for (size_t i = 0; i < ne; i++)
		if (!ent[i].remove && ent[i].why == RET_KEEP_NEEDED)
			log_info("keeping %s: %s builds on it", ent[i].name, ent[ent[i].needed_by].name);

	size_t n = 0;
	for (size_t i = 0; i < ne; i++)
		n += ent[i].remove != 0;
	/* Temporaries of puts a killed run never finished: we hold the lock, so none
	 * is in progress.  (A plan's run leaves them to prune: they belong to no plan.) */
	unsigned int temps = 0;
	if (!dry && !o->plan && (rc = store_cleanup(repo_store(repo), LAYOUT_BACKUPS, &temps)) < 0)
		goto out;
	if (temps)
		printf("removed %u unfinished upload%s of interrupted runs\n", temps, temps == 1 ? "" : "s");
	if (!n && !temps && !untrusted.n) {
		if (o->plan)
			printf("Retention of plan %s: nothing to remove.\n", o->plan);
		else
			printf("Nothing to prune on location %s.\n", repo_location(repo)->name);
	}
	size_t done = 0;
	struct kept_ctx k = { .ctx = ctx };
	for (size_t i = 0; i < ne && rc == 0; i++) {
		if (!ent[i].remove)
			continue;
		const struct manifest *m = idx[i] == (size_t)-1 ? NULL : pl.v[idx[i]].m;
		if (!dry && m)
			delete_kept(&k, repo, m, ent[i].name);
		if (!dry && (rc = repo_remove_backup(repo, ent[i].name, NULL)) < 0) {
			kahu_error_wrap(rc, "removing backup %s (%zu removed before it)", ent[i].name, done);
			break;
		}
		printf("%s %s (%s)\n", dry ? "would remove" : "removed", ent[i].name, retention_why_text(ent[i].why));
		done++;
	}
	o->removed = done;
	if (rc == 0 && untrusted.n) {
		char *list = strv_join(&untrusted, ", ");
		rc = kahu_error_set(forged ? KAHU_ECRYPTO : KAHU_EDATA,
				    "%zu backup%s left alone, whose manifest%s cannot be %s: %s (see the warnings above; "
				    "kahu backup verify NAME checks one, kahu backup delete NAME removes one on purpose)",
				    untrusted.n, untrusted.n == 1 ? "" : "s", untrusted.n == 1 ? "" : "s",
				    forged ? "authenticated" : "read", list);
		free(list);
	}
	rc = kept_done(&k, rc);
out:
	free(ent);
	free(idx);
	strv_free(&untrusted);
	prune_list_free(&pl);
	return rc;
}

/* ---- tables ---- */

#define SCOPE_OPTS \
	OPTION(INCLUDE_NAMESPACES, 0, "NS,…", "namespaces to include (globs: *, ?, [..]; default all)", "@namespace", 0, NULL), \
	OPTION(EXCLUDE_NAMESPACES, 0, "NS,…", "namespaces to leave out (globs); an exclude wins over an include", "@namespace", 0, NULL), \
	OPTION(INCLUDE_RESOURCES, 0, "TYPE,…", "resource types to include: plural, type.group, Kind or short name (default all)", NULL, 0, NULL), \
	OPTION(EXCLUDE_RESOURCES, 0, "TYPE,…", "resource types to leave out", NULL, 0, NULL), \
	OPTION(INCLUDE_CLUSTER_RESOURCES, 0, "auto|true|false", "cluster-scoped objects: auto keeps all without a namespace filter, else only what included items need", "auto true false", 0, "auto"), \
	OPTION(SELECTOR, 'l', "SELECTOR", "only objects whose labels match (a=b, a!=b, a in (x,y), !a …)", NULL, 0, NULL), \
	OPTION(OR_SELECTOR, 0, "SEL or SEL", "objects matching any of the selectors", NULL, 0, NULL), \
	OPTION(INCLUDE_NAMES, 0, "GLOB,…", "only objects whose name (or namespace/name) matches", NULL, 0, NULL), \
	OPTION(EXCLUDE_NAMES, 0, "GLOB,…", "leave out objects whose name (or namespace/name) matches", NULL, 0, NULL)

static const struct kahu_opt create_opts[] = {
	SCOPE_OPTS,
	OPTION(TTL, 0, "DURATION", "how long the backup is kept before prune removes it (0: forever)", NULL, 0, "720h"),
	OPTION(LABELS, 0, "KEY=VALUE,…", "labels of the backup (for list -l and delete -l)", NULL, OPTF_REPEAT, NULL),
	OPTION(FULL, 0, NULL, "a full backup (the default)", NULL, 0, NULL),
	OPTION(INCREMENTAL, 0, NULL, "store only what changed since the newest backup of the same scope", NULL, 0, NULL),
	OPTION(DIFFERENTIAL, 0, NULL, "store only what changed since the newest full backup of the same scope", NULL, 0, NULL),
	OPTION(PARENT, 0, "BACKUP", "the backup an incremental or differential backup is based on", "@backup", 0, NULL),
	OPTION(PARALLEL, 0, "N", "resource types listed, and pods with hooks and volumes handled, at once", NULL, 0, "4"),
	OPTION(COMPRESSION_LEVEL, 0, "N", "zstd level, 1 (fast) to 19 (small)", NULL, 0, "3"),
	OPTION(DRY_RUN, 0, NULL, "list what would be backed up, write nothing", NULL, 0, NULL),
	OPTION(NO_ENCRYPTION, 0, NULL, "store the backup unencrypted (test clusters only)", NULL, 0, NULL),
	OPTION(HOOKS, 0, "FILE", "a hooks file (kahu-hooks(5)): commands run in pods before and after the backup, and on this machine", "file", 0, NULL),
	OPTION(VOLUME_DATA, 0, "none|fs|csi|auto", "the data of the PVCs in scope: none, fs (their files "
	       "through pods/exec), csi (a VolumeSnapshot), auto (csi where a VolumeSnapshotClass is for "
	       "the PV's driver, else fs)", "none fs csi auto", 0, "auto"),
	OPTION(VOLUME_POLICY, 0, "FILE", "rules that skip a claim or choose fs or csi by storage class, "
	       "labels, access mode or size (kahu-volume-policy(5))", "file", 0, NULL),
	OPTION(EXCLUDE_VOLUME_PATHS, 0, "GLOB", "leave out the files of volumes whose path (from the "
	       "volume's root) matches", NULL, OPTF_REPEAT, NULL),
	OPTION(VOLUME_LOCATION, 0, "NAME", "another configured location for the volume data (the "
	       "metadata goes to --location); default: beside the metadata, or where the parent's is",
	       "@location", 0, NULL),
	KAHU_VOL_HELPER_OPTS,
	KAHU_VOL_MOVER_OPTS,
	OPTION(SNAPSHOT_CLASS, 0, "NAME", "the VolumeSnapshotClass of CSI snapshots (default: the "
	       "driver's default class)", NULL, 0, NULL),
	OPTION(CSI_SNAPSHOT_TIMEOUT, 0, "DURATION", "how long to wait for a VolumeSnapshot to be "
	       "readyToUse", NULL, 0, "10m"),
	OPTION(SNAPSHOT_MOVE_DATA, 0, "true|false", "copy a CSI snapshot's files into the backup (through a "
	       "temporary claim and a helper pod), then delete the snapshot; false keeps the snapshot "
	       "in the cluster with the backup", "true false", 0, "true"),
	OPTION(CONTEXTS, 0, "CONTEXT,…", "back up each of these kubeconfig contexts' clusters: a "
	       "backup named NAME-CONTEXT each, in parallel, and a summary", "@context", OPTF_REPEAT, NULL),
	OPTION(ALL_CONTEXTS, 0, NULL, "the same for every context of the kubeconfig", NULL, 0, NULL),
	OPTION(PARALLEL_CLUSTERS, 0, "N", "with --contexts or --all-contexts: clusters backed up at once",
	       NULL, 0, "2"),
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

static const struct kahu_opt list_opts[] = {
	OPTION(SELECTOR, 'l', "SELECTOR", "only backups whose labels match", NULL, 0, NULL),
	OPTION(CLUSTER, 0, "UID|URL|current", "only backups of this source cluster: its kube-system UID "
	       "(or a prefix of at least 4 characters), its API server URL, or current (the current "
	       "kubeconfig context's)", NULL, 0, NULL),
	OPTION(ALL_LOCATIONS, 0, NULL, "list the backups of every location of the configuration", NULL, 0, NULL),
	KAHU_OPT_LOCATION,
	OPT_END
};

static const struct kahu_opt delete_opts[] = {
	OPTION(ALL, 0, NULL, "delete every backup on the location", NULL, 0, NULL),
	OPTION(SELECTOR, 'l', "SELECTOR", "delete the backups whose labels match", NULL, 0, NULL),
	OPTION(CASCADE, 0, NULL, "also delete the incremental and differential backups built on them", NULL, 0, NULL),
	OPTION(YES, 'y', NULL, "do not ask for confirmation", NULL, 0, NULL),
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

static const struct kahu_opt prune_opts[] = {
	OPTION(KEEP_LAST, 0, "N", "keep the N newest backups (Failed ones do not count)", NULL, 0, NULL),
	OPTION(KEEP_HOURLY, 0, "N", "keep the newest backup of each of the last N hours that have one", NULL, 0, NULL),
	OPTION(KEEP_DAILY, 0, "N", "keep the newest backup of each of the last N days that have one", NULL, 0, NULL),
	OPTION(KEEP_WEEKLY, 0, "N", "keep the newest backup of each of the last N weeks that have one", NULL, 0, NULL),
	OPTION(KEEP_MONTHLY, 0, "N", "keep the newest backup of each of the last N months that have one", NULL, 0, NULL),
	OPTION(KEEP_YEARLY, 0, "N", "keep the newest backup of each of the last N years that have one", NULL, 0, NULL),
	OPTION(TIME_ZONE, 0, "ZONE", "the time zone of the --keep-* periods (an IANA name such as Europe/Berlin; default UTC)", NULL, 0, NULL),
	OPTION(DRY_RUN, 0, NULL, "say what would be removed, remove nothing", NULL, 0, NULL),
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
	.parse = parse_backup_delete,
	.run = run_backup_delete,
	.spec_free = selector_free,
	.flags = CMD_LOCK | CMD_WRITE,
	.args_complete = "@backup",
};

const struct kahu_cmd cmd_backup_prune_entry = {
	.name = "backup prune",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Remove expired backups (or those no --keep-* policy keeps) and leftovers of interrupted runs",
	.opts = prune_opts,
	.parse = parse_backup_prune,
	.run = run_backup_prune,
	.spec_free = prune_spec_free,
	.flags = CMD_LOCK | CMD_WRITE,
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
	.parse = parse_backup_create,
	.run = run_backup_create,
	.spec_free = create_spec_free,
	.flags = 0,   /* the cluster (or clusters) loaded by run_backup_create */
};

const struct kahu_cmd cmd_backup_list_entry = {
	.name = "backup list",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "List the backups on a location (no key needed)",
	.outputs = "table json yaml name",
	.opts = list_opts,
	.parse = parse_backup_list,
	.run = run_backup_list,
	.spec_free = list_spec_free,
};

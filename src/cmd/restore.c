/* kahu restore create|list|describe. */
#include "cmd/common_opts.h"
#include "archive/envelope.h"
#include "archive/key.h"
#include "archive/record.h"
#include "archive/seal.h"
#include "archive/zstream.h"
#include "cli/progress.h"
#include "engine/hooks.h"
#include "engine/restore.h"
#include "engine/restore_record.h"
#include "engine/run_restore.h"
#include "engine/sanitize.h"
#include "engine/scope.h"
#include "engine/transform.h"
#include "engine/velero_src.h"
#include "engine/volrun.h"
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

struct restore_cmd {
	struct kahu_ctx *ctx;
	int dry;
	int first;               /* dry run -o json/yaml: first element printed */
	json_t *dry_items;       /* dry run -o yaml: collected */
	struct out_table *table; /* dry run table */
	long failed_shown;
};


/* "a, b": the rules of an item's transforms. */
static char *transforms_names(json_t *xf)
{
	struct kbuf b = KBUF_INIT;
	size_t i;
	json_t *e;
	json_array_foreach(xf, i, e)
		kbuf_addf(&b, "%s%s", i ? ", " : "", json_string_value(json_object_get(e, "rule")));
	return kbuf_detach(&b);
}

static void on_item(void *ud, const struct restore_item_result *r, json_t *obj)
{
	struct restore_cmd *rc = ud;
	json_t *j = restore_item_json(r);
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
			if (r->transforms && strcmp(r->resource, "secrets") == 0) {
				/* A patch of a Secret may hold its values: the rules are named only. */
				json_t *xf = json_deep_copy(r->transforms), *e;
				size_t xi;
				json_array_foreach(xf, xi, e)
					json_object_del(e, "patch");
				json_object_set_new(j, "transforms", xf);
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
			const char *vstatus = json_string_value(json_object_get(r->volume, "status"));
			char *vreason = r->volume && !r->reason && vstatus && strcmp(vstatus, "NotRestored") == 0 ?
					xasprintf("without its volume data: %s",
						  json_string_value(json_object_get(r->volume, "reason"))) :
					r->volume && !r->reason ?
					xasprintf("its volume data would be restored (%lld files)",
						  (long long)json_integer_value(json_object_get(r->volume, "files"))) : NULL;
			char *xreason = NULL;
			const char *reason = vreason ? vreason : r->reason ? r->reason : "";
			if (r->transforms) {
				char *rules = transforms_names(r->transforms);
				xreason = xasprintf("%s%stransformed by %s", reason, *reason ? "; " : "", rules);
				free(rules);
				reason = xreason;
			}
			const char *row[] = { r->resource, r->ns ? r->ns : "", r->name ? r->name : "",
					      restore_outcome_name(r->outcome), reason };
			out_table_row(rc->table, row);
			free(xreason);
			free(vreason);
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

static void on_volume_progress(void *ud, const char *namespace_, const char *pvc, uint64_t bytes,
			       uint64_t files)
{
	(void)ud;
	progress_volume_written(namespace_, pvc, bytes, files);
}










static void on_restore_phase(void *ud, const char *what)
{
	struct restore_cmd *rcmd = ud;
	if (what)
		progress_start(rcmd->ctx->progress && !rcmd->dry, what);
	else
		progress_done();
}

static int restore_kube(void *ud, struct kube_client **out)
{
	struct restore_cmd *rcmd = ud;
	return ctx_kube_client(rcmd->ctx, out);
}

static void print_restore(struct kahu_ctx *ctx, struct restore_cmd *rcmd, const char *name,
			  const char *backup, const struct restore_create_result *res)
{
	const struct restore_totals *tot = &res->tot;
	if (rcmd->dry) {
		if (ctx->out == OUT_JSON)
			printf("%s]\n", rcmd->first ? "\n" : "[");
		else if (ctx->out == OUT_YAML)
			out_yaml(stdout, rcmd->dry_items);
		else {
			out_table_print(rcmd->table, stdout);
			printf("\nDry run of restore %s from %s: %ld to create, %ld to update, %ld skipped, %ld failing; nothing was written.\n",
			       name, backup, tot->created, tot->updated, tot->skipped, tot->failed);
			size_t wi;
			json_t *w;
			json_array_foreach(tot->warnings, wi, w)
				printf("Warning: %s\n", json_string_value(w));
		}
	} else if (res->fatal)
		; /* the error says it all */
	else if (ctx->out == OUT_JSON)
		out_json(stdout, res->summary);
	else if (ctx->out == OUT_YAML)
		out_yaml(stdout, res->summary);
	else if (ctx->out == OUT_NAME)
		printf("restore/%s\n", name);
	else {
		printf("Restore %s from %s: %s. %ld created, %ld updated, %ld skipped, %ld failed.\n"
		       "Details: kahu restore describe %s --details\n",
		       name, backup, tot->status, tot->created, tot->updated, tot->skipped, tot->failed, name);
		cmd_print_hooks(stdout, tot->hooks);
	}
}

/* What restore create runs, from its command line. */
struct create_spec {
	struct restore_create_spec rs;
	struct run_repo rr;
	char *name;
	struct kahu_scope *scope;
	struct ns_map *map;
	struct strv status_include;
	struct hook_set *hooks;
	struct transform_set *xform;
	struct vol_opts vol;
	struct velero_src velero;
};

static void create_spec_free(void *p)
{
	struct create_spec *s = p;
	velero_src_free(&s->velero);
	hook_set_free(s->hooks);
	transform_free(s->xform);
	vol_opts_clear(&s->vol);
	scope_free(s->scope);
	ns_map_free(s->map);
	strv_free(&s->status_include);
	free(s->name);
	free(s);
}

static int transform_file(struct transform_set **ts, const char *path)
{
	return transform_load(path, ts);
}

/* The transform files (their rules in the order given), then the shortcuts. */
static int transform_flags(const struct kahu_invocation *inv, struct transform_set **ts)
{
	static const struct {
		enum kahu_opt_id id;
		int (*add)(struct transform_set **ts, const char *spec);
	} flags[] = {
		{ OPT_TRANSFORM, transform_file },
		{ OPT_STORAGE_CLASS_MAPPINGS, transform_add_storage_classes },
		{ OPT_IMAGE_MAPPINGS, transform_add_images },
		{ OPT_REPLICAS_OVERRIDE, transform_add_replicas },
	};
	for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
		const struct strv *v = inv_list(inv, flags[f].id);
		for (size_t i = 0; i < v->n; i++) {
			int rc = flags[f].add(ts, v->v[i]);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int parse_restore_create(struct kahu_ctx *ctx, void **out)
{
	const struct kahu_invocation *inv = ctx->inv;
	const char *backup = inv_str(inv, OPT_FROM_BACKUP);
	const char *velero = inv_str(inv, OPT_FROM_VELERO);
	long parallel = 8, crd_timeout = 60;
	int rc;

	if (!backup && !velero)
		return kahu_error_set(KAHU_EUSAGE, "restore create needs --from-backup BACKUP (or --from-velero "
				      "FILE_OR_DIR for a Velero backup)");
	struct create_spec *s = xcalloc(1, sizeof *s);
	if (velero) {
		if (inv_count(inv, OPT_VOLUMES_ONLY) || inv_count(inv, OPT_SCALE_DOWN) ||
		    inv_count(inv, OPT_DELETE_EXTRA_FILES)) {
			rc = kahu_error_set(KAHU_EUSAGE, "--from-velero restores no volume data: --volumes-only, "
					    "--scale-down and --delete-extra-files do not apply");
			goto fail;
		}
		if ((rc = velero_src_open(velero, backup, &s->velero)) < 0)
			goto fail;
		backup = s->velero.backup;
	}
	if (inv->args.n)
		s->name = xstrdup(inv->args.v[0]);
	else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &tm);
		s->name = xasprintf("%s-%s", backup, ts);
	}
	const char *policy = inv_str(inv, OPT_EXISTING_RESOURCE_POLICY);
	if (policy && strcmp(policy, "none") && strcmp(policy, "update")) {
		rc = kahu_error_set(KAHU_EUSAGE, "--existing-resource-policy must be none or update, not \"%s\"", policy);
		goto fail;
	}
	const struct strv *st = inv_list(inv, OPT_STATUS_INCLUDE_RESOURCES);
	for (size_t i = 0; i < st->n; i++)
		strv_split(&s->status_include, st->v[i], ',');
	if ((rc = repo_valid_name(s->name)) < 0 ||
	    (rc = inv_long(inv, OPT_PARALLEL, 1, 64, &parallel)) < 0 ||
	    (rc = inv_long(inv, OPT_CRD_TIMEOUT, 1, 3600, &crd_timeout)) < 0 ||
	    (rc = scope_from_flags(inv, &s->scope)) < 0 ||
	    (inv_str(inv, OPT_NAMESPACE_MAPPINGS) &&
	     (rc = ns_map_parse(inv_str(inv, OPT_NAMESPACE_MAPPINGS), &s->map)) < 0) ||
	    (inv_str(inv, OPT_HOOKS) && (rc = hook_set_load(inv_str(inv, OPT_HOOKS), &s->hooks)) < 0) ||
	    (rc = transform_flags(inv, &s->xform)) < 0 ||
	    (rc = vol_flags_parse(inv, 1, &s->vol)) < 0 ||
	    (rc = cmd_run_repo(ctx, &s->rr)) < 0)
		goto fail;
	if (s->vol.volumes_only && !inv_str(inv, OPT_INCLUDE_NAMESPACES)) {
		rc = kahu_error_set(KAHU_EUSAGE, "--volumes-only writes into existing claims in place: name "
				    "their namespaces with --include-namespaces");
		goto fail;
	}
	if (velero) {
		/* Asked for volume data: a claim whose data Velero kept fails (exit 2);
		 * declined: nothing is said of it. */
		s->velero.volumes_required = (inv_count(inv, OPT_RESTORE_VOLUMES) && s->vol.restore_volumes) ||
					     s->vol.pvcs.n;
		s->velero.volumes_unwanted = !s->vol.restore_volumes;
	}
	s->rs = (struct restore_create_spec){
		.name = s->name,
		.backup = backup,
		.scope = s->scope,
		.map = s->map,
		.existing = policy && strcmp(policy, "update") == 0 ? EXISTING_UPDATE : EXISTING_NONE,
		.restore_owned = inv_count(inv, OPT_RESTORE_OWNED) > 0,
		.preserve_nodeports = inv_count(inv, OPT_PRESERVE_NODEPORTS) > 0,
		.status_include = &s->status_include,
		.dry_run = inv_count(inv, OPT_DRY_RUN) > 0,
		.parallel = (int)parallel,
		.crd_timeout = (int)crd_timeout,
		.hooks = s->hooks,
		.xform = s->xform,
		.vol = &s->vol,
		.repo = &s->rr,
		.velero = velero ? &s->velero : NULL,
		.kube = restore_kube,
		.on_item = on_item,
		.progress = on_progress,
		/* a terminal's progress line or -v's log (data movers read their pods' logs
		 * for it only then) */
		.vol_progress = ctx->progress || kahu_log_get_level() >= KAHU_LOG_INFO ? on_volume_progress : NULL,
		.phase = on_restore_phase,
	};
	*out = s;
	return 0;
fail:
	create_spec_free(s);
	return rc;
}

/* No CMD_CLUSTER: the engine asks for the cluster (restore_kube) only once the
 * location and the backup are known good. */
static int run_restore_create(struct kahu_ctx *ctx)
{
	struct create_spec *s = ctx->spec;
	struct restore_cmd rcmd = { .ctx = ctx, .dry = s->rs.dry_run };
	struct restore_create_result res = { 0 };
	int rc;

	if (rcmd.dry && ctx->out == OUT_YAML)
		rcmd.dry_items = json_array();
	if (rcmd.dry && (ctx->out == OUT_TABLE || ctx->out == OUT_NAME)) {
		static const char *const hdr[] = { "TYPE", "NAMESPACE", "NAME", "ACTION", "REASON" };
		rcmd.table = out_table_new(5, hdr);
	}
	s->rs.ud = &rcmd;
	rc = restore_create(&s->rs, &res);
	if (res.summary) {
		char *from = s->rs.velero ? xasprintf("Velero backup %s", s->rs.backup) :
			     xasprintf("backup %s", s->rs.backup);
		print_restore(ctx, &rcmd, s->name, from, &res);
		free(from);
	}
	if (rc == KAHU_EPARTIAL)
		log_error("%s", kahu_error_last());
	out_table_free(rcmd.table);
	json_decref(rcmd.dry_items);
	restore_create_result_free(&res);
	return rc;
}

/* ---- list and describe ---- */



/* CMD_REPO */
static int run_restore_list(struct kahu_ctx *ctx)
{
	struct repo *repo = ctx->repo;
	json_t *items = json_array();
	int rc;
	if ((rc = restore_catalog_list(repo, run_repo_keyed(&ctx->rr, repo), items)) < 0)
		goto out;
	size_t i;
	json_t *r;
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *doc = json_pack("{s:O}", "restores", items);
		rc = ctx->out == OUT_JSON ? out_json(stdout, doc) : out_yaml(stdout, doc);
		json_decref(doc);
	} else if (ctx->out == OUT_NAME) {
		json_array_foreach(items, i, r)
			printf("restore/%s\n", json_string_value(json_object_get(r, "name")));
	} else if (json_array_size(items)) {
		static const char *const hdr[] = { "NAME", "BACKUP", "STATUS", "STARTED", "CREATED", "UPDATED", "SKIPPED", "FAILED" };
		struct out_table *t = out_table_new(8, hdr);
		json_array_foreach(items, i, r) {
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
	json_decref(items);
	return rc;
}






/* The restore's name, checked before the location is opened. */
static int parse_restore_name(struct kahu_ctx *ctx, void **spec)
{
	(void)spec;
	return repo_valid_name(ctx->inv->args.v[0]);
}

/* The local after hooks' outcomes kept beside restore `name`'s record
 * (engine/restore_record.h), for a restore that ended: 0 with *after ({"hooks": […],
 * "written": when they were kept}, or NULL when there are none), or -1 with *why
 * (allocated) and a warning when the object is refused: the rest still shows. */
static int restore_after_hooks(struct repo *repo, const char *name, json_t *summary, json_t **after,
			       char **why)
{
	const struct kahu_key *key = NULL;
	char *written = NULL;
	json_t *hooks = NULL;
	int rc = 0;
	*after = NULL;
	*why = NULL;
	const char *status = json_string_value(json_object_get(summary, "status"));
	if (!status || strcmp(status, "InProgress") == 0 || strcmp(status, "Interrupted") == 0)
		return 0;
	if (json_is_true(json_object_get(summary, "encrypted")))
		rc = repo_key(repo, &key);
	if (rc == 0)
		rc = restore_record_get_after_hooks(repo_store(repo), key, name, &hooks, &written);
	if (rc < 0) {
		log_warn("restore %s: the outcome of its after hooks is not shown: %s", name, kahu_error_last());
		*why = xstrdup(kahu_error_last());
		kahu_error_clear();
		return -1;
	}
	if (hooks) {
		*after = json_pack("{s:O, s:s?}", "hooks", hooks, "written", written);
		json_decref(hooks);
	}
	free(written);
	return 0;
}

/* CMD_REPO */
static int run_restore_logs(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct repo *repo = ctx->repo;
	struct kbuf plain = KBUF_INIT;
	json_t *summary = NULL;
	int rc;
	enum record_trust trust;
	if ((rc = restore_record_load(&ctx->rr, repo, name, &summary, &trust)) < 0)
		goto out;
	rc = restore_record_read(repo, name, LAYOUT_LOG, json_is_true(json_object_get(summary, "encrypted")), &plain);
	if (rc == KAHU_ENOTFOUND)
		rc = kahu_error_set(rc, "restore %s has no stored log (it was killed, or made by an older kahu)", name);
	if (rc == 0 && plain.len && fwrite(plain.data, 1, plain.len, stdout) != plain.len)
		rc = kahu_error_set(KAHU_EIO, "write error on standard output: %s", strerror(errno));
	if (rc == 0) {
		/* Then the local after hooks' outcomes kept beside the record, marked as run
		 * once it was written; one that is refused is a warning. */
		json_t *after = NULL;
		char *why = NULL;
		if (restore_after_hooks(repo, name, summary, &after, &why) == 0 && after) {
			const char *c = json_string_value(json_object_get(summary, "completed"));
			const char *w = json_string_value(json_object_get(after, "written"));
			cmd_print_after_hooks_log(stdout, json_object_get(after, "hooks"), w ? w : c ? c : "");
		}
		json_decref(after);
		free(why);
	}
out:
	kbuf_free(&plain);
	json_decref(summary);
	return rc;
}

/* restore describe --outcome: the outcomes asked for (none: every item). */
static int parse_restore_describe(struct kahu_ctx *ctx, void **out)
{
	const char *outcome = inv_str(ctx->inv, OPT_OUTCOME);
	struct strv *want = xcalloc(1, sizeof *want);
	if (outcome) {
		strv_split(want, outcome, ',');
		for (size_t i = 0; i < want->n; i++)
			if (strcmp(want->v[i], "created") && strcmp(want->v[i], "updated") &&
			    strcmp(want->v[i], "skipped") && strcmp(want->v[i], "failed")) {
				int e = kahu_error_set(KAHU_EUSAGE, "--outcome takes created, updated, skipped "
						       "or failed (comma-separated), not \"%s\"", want->v[i]);
				strv_free(want);
				free(want);
				return e;
			}
	}
	int rc = parse_restore_name(ctx, NULL);
	if (rc < 0) {
		strv_free(want);
		free(want);
		return rc;
	}
	*out = want;
	return 0;
}

static void outcomes_free(void *p)
{
	strv_free(p);
	free(p);
}

/* CMD_REPO */
static int run_restore_describe(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	const struct strv *want = ctx->spec;
	int details = inv_count(ctx->inv, OPT_DETAILS) > 0 || inv_str(ctx->inv, OPT_OUTCOME);
	struct repo *repo = ctx->repo;
	struct kbuf plain = KBUF_INIT;
	json_t *summary = NULL, *doc = NULL, *after = NULL;
	char *after_error = NULL;
	enum record_trust trust;
	int rc;

	if ((rc = restore_record_load(&ctx->rr, repo, name, &summary, &trust)) < 0)
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
		restore_record_settle(repo_store(repo), summary);
		if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
			json_object_set_new(summary, "authenticated", json_boolean(trust == TRUST_SEALED));
			rc = ctx->out == OUT_JSON ? out_json(stdout, summary) : out_yaml(stdout, summary);
			goto out;
		}
		details = 0;
	}
	/* The hooks' outcomes are in the encrypted result only: read for them too. */
	json_t *hc = json_object_get(summary, "hookCounts");
	int want_doc = details || ctx->out == OUT_JSON || ctx->out == OUT_YAML ||
		       (ended && json_integer_value(json_object_get(hc, "total")) > 0);
	if (want_doc || cross) {
		rc = restore_record_read(repo, name, LAYOUT_RESULT, encrypted, &plain);
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
			if ((rc = restore_record_check(name, summary, doc)) < 0)
				goto out;
			trust = TRUST_CHECKED;
		}
		json_object_set_new(doc, "authenticated", json_boolean(trust != TRUST_NONE));
	}
	restore_record_settle(repo_store(repo), summary);
	restore_after_hooks(repo, name, summary, &after, &after_error);
	if (doc && after)
		json_object_set(doc, "afterHooks", json_object_get(after, "hooks"));
	if (doc && after_error)
		json_object_set_new(doc, "afterHooksError", json_string(after_error));
	if (want->n && doc) {
		/* Only the items with the outcomes asked for. */
		json_t *items = json_object_get(doc, "items"), *kept = json_array();
		size_t k;
		json_t *it;
		json_array_foreach(items, k, it) {
			const char *oc = json_string_value(json_object_get(it, "outcome"));
			for (size_t j = 0; oc && j < want->n; j++)
				if (strcmp(oc, want->v[j]) == 0) {
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
	json_t *src = json_object_get(summary, "source");
	const char *stype = json_string_value(json_object_get(src, "type"));
	const char *sback = json_string_value(json_object_get(src, "backup"));
	const char *sfile = json_string_value(json_object_get(src, "file"));
	if (stype && strcmp(stype, "velero") == 0)
		printf("Source:     Velero backup %s (%s)\n", sback ? sback : "?", sfile ? sfile : "?");
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
	cmd_print_hooks(stdout, json_object_get(doc, "hooks")); /* in the encrypted result only */
	cmd_print_hooks_titled(stdout, "After hooks (run once the restore was recorded, kept beside it)",
			       json_object_get(after, "hooks"));
	if (after_error)
		printf("\nAfter hooks:  not shown: %s\n", after_error);
	json_t *vc = json_object_get(summary, "volumes");
	if (vc)
		printf("Volumes:    %lld restored, %lld failed\n",
		       (long long)json_integer_value(json_object_get(vc, "restored")),
		       (long long)json_integer_value(json_object_get(vc, "failed")));
	if (details)
		json_array_foreach(json_object_get(doc, "items"), i, w) {
			json_t *v = json_object_get(w, "volume");
			if (!v)
				continue;
			const char *reason = json_string_value(json_object_get(v, "reason"));
			printf("Volume %s/%s: %s, %s, %lld files, %lld bytes, %lld ms, %lld bytes/s%s%s\n",
			       json_string_value(json_object_get(w, "namespace")),
			       json_string_value(json_object_get(w, "name")),
			       json_string_value(json_object_get(v, "method")),
			       json_string_value(json_object_get(v, "status")),
			       (long long)json_integer_value(json_object_get(v, "files")),
			       (long long)json_integer_value(json_object_get(v, "bytes")),
			       (long long)json_integer_value(json_object_get(v, "durationMs")),
			       (long long)json_integer_value(json_object_get(v, "bytesPerSecond")),
			       reason ? ": " : "", reason ? reason : "");
		}
	if (details)
		json_array_foreach(json_object_get(doc, "items"), i, w) {
			json_t *xf = json_object_get(w, "transforms");
			if (!xf)
				continue;
			char *rules = transforms_names(xf);
			const char *wns = json_string_value(json_object_get(w, "namespace"));
			printf("Transformed %s %s%s%s: %s\n", json_string_value(json_object_get(w, "resource")),
			       wns ? wns : "", wns ? "/" : "", json_string_value(json_object_get(w, "name")), rules);
			free(rules);
		}
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
	json_decref(after);
	free(after_error);
	return rc;
}

/* ---- tables ---- */

#define RESTORE_SCOPE_OPTS \
	OPTION(INCLUDE_NAMESPACES, 0, "NS,…", "namespaces (of the backup) to restore (globs; default all)", NULL, 0, NULL), \
	OPTION(EXCLUDE_NAMESPACES, 0, "NS,…", "namespaces not to restore (globs); an exclude wins", NULL, 0, NULL), \
	OPTION(INCLUDE_RESOURCES, 0, "TYPE,…", "resource types to restore: plural, type.group, Kind or short name", NULL, 0, NULL), \
	OPTION(EXCLUDE_RESOURCES, 0, "TYPE,…", "resource types not to restore", NULL, 0, NULL), \
	OPTION(INCLUDE_CLUSTER_RESOURCES, 0, "auto|true|false", "cluster-scoped objects: auto restores all without a namespace filter, else only what included items need", "auto true false", 0, "auto"), \
	OPTION(SELECTOR, 'l', "SELECTOR", "only objects whose labels match", NULL, 0, NULL), \
	OPTION(OR_SELECTOR, 0, "SEL or SEL", "objects matching any of the selectors", NULL, 0, NULL), \
	OPTION(INCLUDE_NAMES, 0, "GLOB,…", "only objects whose name (or namespace/name) matches", NULL, 0, NULL), \
	OPTION(EXCLUDE_NAMES, 0, "GLOB,…", "leave out objects whose name (or namespace/name) matches", NULL, 0, NULL)

static const struct kahu_opt create_opts[] = {
	OPTION(FROM_BACKUP, 0, "BACKUP", "the backup to restore (required, unless --from-velero: then the Velero backup in its directory)", "@backup", 0, NULL),
	OPTION(FROM_VELERO, 0, "FILE_OR_DIR", "restore a Velero backup: its NAME.tar.gz, or a copy of its bucket (backups/NAME/…)", "file", 0, NULL),
	RESTORE_SCOPE_OPTS,
	OPTION(NAMESPACE_MAPPINGS, 0, "SRC:DST,…", "restore namespace SRC as DST (also RoleBinding subjects and PV claimRefs)", NULL, 0, NULL),
	OPTION(EXISTING_RESOURCE_POLICY, 0, "none|update", "an object that exists: none skips it (and says whether it differs), update patches it to the backup's state", "none update", 0, "none"),
	OPTION(RESTORE_OWNED, 0, NULL, "also restore objects that controllers recreate (pods of ReplicaSets, ReplicaSets of Deployments, Jobs of CronJobs…)", NULL, 0, NULL),
	OPTION(PRESERVE_NODEPORTS, 0, NULL, "keep the nodePorts of Services", NULL, 0, NULL),
	OPTION(STATUS_INCLUDE_RESOURCES, 0, "TYPE,…", "restore the status of these types too", NULL, OPTF_REPEAT, NULL),
	OPTION(PARALLEL, 0, "N", "items of one type created at once", NULL, 0, "8"),
	OPTION(CRD_TIMEOUT, 0, "SECONDS", "how long to wait for a restored CRD to be established", NULL, 0, "60"),
	OPTION(DRY_RUN, 0, NULL, "print the cleaned objects in restore order with what would happen; write nothing", NULL, 0, NULL),
	OPTION(HOOKS, 0, "FILE", "a hooks file (kahu-hooks(5)): init containers added to restored pods, commands run in them once they run", "file", 0, NULL),
	OPTION(TRANSFORM, 0, "FILE", "a transform file (kahu-transform(5)): rules that patch objects before they are created", "file", OPTF_REPEAT, NULL),
	OPTION(STORAGE_CLASS_MAPPINGS, 0, "OLD:NEW,…", "give claims, PVs and StatefulSets' claim templates of storage class OLD the class NEW", NULL, OPTF_REPEAT, NULL),
	OPTION(IMAGE_MAPPINGS, 0, "OLD:NEW,…", "replace the image prefix OLD with NEW in pods, pod templates and cron jobs (OLD=NEW when a prefix holds a colon)", NULL, OPTF_REPEAT, NULL),
	OPTION(REPLICAS_OVERRIDE, 0, "NS/KIND/NAME=N,…", "restore a Deployment, StatefulSet, ReplicaSet or ReplicationController with N replicas", NULL, OPTF_REPEAT, NULL),
	OPTION(RESTORE_VOLUMES, 0, "true|false", "restore the data of the backed-up volumes into their claims", "true false", 0, "true"),
	OPTION(VOLUMES_ONLY, 0, NULL, "restore only volume data, in place, into the claims that exist", NULL, 0, NULL),
	OPTION(PVC, 0, "[NS/]NAME,…", "restore the data of these claims only", NULL, OPTF_REPEAT, NULL),
	OPTION(SCALE_DOWN, 0, NULL, "with --volumes-only: scale the workloads that mount the claims to zero, and back afterwards", NULL, 0, NULL),
	OPTION(DELETE_EXTRA_FILES, 0, NULL, "remove files the backup does not have, so that each volume equals the backup", NULL, 0, NULL),
	KAHU_VOL_HELPER_OPTS,
	KAHU_VOL_MOVER_OPTS,
	KAHU_OPT_LOCATION,
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_ALLOW_UNENCRYPTED,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

static const struct kahu_opt describe_opts[] = {
	OPTION(DETAILS, 0, NULL, "list every item with its outcome", NULL, 0, NULL),
	OPTION(OUTCOME, 0, "OUTCOME,…", "list only the items with these outcomes: created, updated, skipped, failed (implies --details)", "created updated skipped failed", 0, NULL),
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
	.outputs = "table json yaml name", .opts = create_opts, .parse = parse_restore_create,
	.run = run_restore_create, .spec_free = create_spec_free,
};

const struct kahu_cmd cmd_restore_list_entry = {
	.name = "restore list", .args = "", .min_args = 0, .max_args = 0,
	.summary = "List the restores recorded on a location",
	.outputs = "table json yaml name", .opts = list_opts, .run = run_restore_list,
	.flags = CMD_REPO,
};

const struct kahu_cmd cmd_restore_logs_entry = {
	.name = "restore logs", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Print a restore's own log (JSON lines: what it said at info level and above)",
	.opts = cmd_repo_read_opts, .parse = parse_restore_name, .run = run_restore_logs,
	.flags = CMD_REPO, .args_complete = "@restore",
};

const struct kahu_cmd cmd_restore_describe_entry = {
	.name = "restore describe", .args = "NAME", .min_args = 1, .max_args = 1,
	.summary = "Show a restore's result; --details lists every item's outcome",
	.outputs = "table json yaml", .opts = describe_opts, .parse = parse_restore_describe,
	.run = run_restore_describe, .spec_free = outcomes_free, .flags = CMD_REPO,
	.args_complete = "@restore",
};

/* kahu plan create|apply|list|describe|delete|validate|run|status — backup plans
 * (kahu-plan(1), kahu-plan(5)).  Plans live in the configuration file's `plans` object
 * (the document as JSON), or in a file (-f) or a ConfigMap (--from-configmap NS/NAME,
 * key plan.yaml) the command is pointed at.  A run makes its backup through backup
 * create's own spec (cmd_backup_create_spec) and applies the plan's retention through
 * prune's (cmd_prune). */
#include "cmd/common_opts.h"
#include "archive/manifest.h"
#include "engine/hooks.h"
#include "engine/labelsel.h"
#include "engine/parent.h"
#include "engine/plan.h"
#include "engine/retention.h"
#include "engine/volrun.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "store/config.h"
#include "store/lock.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"
#include "util/timeutil.h"
#include "util/tzif.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* ---- where plans are read ---- */

static json_t *config_plans(struct kahu_config *cfg, int create)
{
	if (!cfg->doc) {
		if (!create)
			return NULL;
		cfg->doc = json_object();
	}
	json_t *plans = json_object_get(cfg->doc, "plans");
	if (!json_is_object(plans)) {
		if (!create)
			return NULL;
		plans = json_object();
		json_object_set_new(cfg->doc, "plans", plans);
	}
	return plans;
}

static int plan_from_config(struct kahu_config *cfg, const char *name, struct backup_plan **out)
{
	json_t *plans = config_plans(cfg, 0);
	json_t *doc = plans ? json_object_get(plans, name) : NULL;
	int rc;
	if (!doc) {
		struct kbuf names = KBUF_INIT;
		const char *k;
		json_t *v;
		if (plans)
			json_object_foreach(plans, k, v)
				kbuf_addf(&names, "%s%s", names.len ? ", " : "", k);
		rc = kahu_error_set(KAHU_ENOTFOUND, "no plan named %s in %s (plans: %s)", name, cfg->path,
				    names.len ? kbuf_str(&names) : "none");
		kbuf_free(&names);
		return rc;
	}
	char *origin = xasprintf("%s: plans.%s", cfg->path, name);
	rc = backup_plan_from_json(doc, origin, out);
	free(origin);
	if (rc == 0 && strcmp((*out)->name, name)) {
		rc = kahu_error_set(KAHU_ECONFIG, "%s: plans.%s holds a plan named %s", cfg->path, name, (*out)->name);
		backup_plan_free(*out);
		*out = NULL;
	}
	return rc;
}

/* NS/NAME → the ConfigMap's plan.yaml. */
static int plan_from_configmap(struct kahu_ctx *ctx, const char *ref, struct backup_plan **out)
{
	const char *slash = strchr(ref, '/');
	struct kube_client *kc;
	int rc;
	if (!slash || slash == ref || !slash[1] || strchr(slash + 1, '/'))
		return kahu_error_set(KAHU_EUSAGE, "--from-configmap %s: expected NAMESPACE/NAME", ref);
	char *ns = xstrndup(ref, (size_t)(slash - ref));
	char *path = xasprintf("/api/v1/namespaces/%s/configmaps/%s", ns, slash + 1);
	free(ns);
	struct kube_response resp = { 0 };
	if ((rc = ctx_kube_client(ctx, &kc)) < 0 ||
	    (rc = kube_request(kc, "GET", path, NULL, NULL, NULL, 0, 0, &resp)) < 0) {
		kahu_error_wrap(rc, "reading the plan from ConfigMap %s", ref);
		goto out;
	}
	json_error_t jerr;
	json_t *cm = json_loadb(kbuf_str(&resp.body), resp.body.len, 0, &jerr);
	const char *text = json_string_value(json_object_get(json_object_get(cm, "data"), PLAN_CONFIGMAP_KEY));
	if (!text) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "ConfigMap %s has no data key %s (the plan document)", ref,
				    PLAN_CONFIGMAP_KEY);
	} else {
		char *origin = xasprintf("configmap %s:%s", ref, PLAN_CONFIGMAP_KEY);
		rc = backup_plan_parse(text, strlen(text), origin, out);
		free(origin);
	}
	json_decref(cm);
out:
	kube_response_clear(&resp);
	free(path);
	return rc;
}

/* The plan a command names (common_opts.h cmd_plan_get). */
static int plan_get(struct kahu_ctx *ctx, struct kahu_config *cfg, const char *name, struct backup_plan **out)
{
	const struct kahu_invocation *inv = ctx->inv;
	const char *file = inv_has(inv, OPT_FILE) ? inv_str(inv, OPT_FILE) : NULL;
	const char *cm = inv_has(inv, OPT_FROM_CONFIGMAP) ? inv_str(inv, OPT_FROM_CONFIGMAP) : NULL;
	int rc;
	*out = NULL;
	if (file && cm)
		return kahu_error_set(KAHU_EUSAGE, "-f and --from-configmap exclude each other");
	if (file)
		rc = backup_plan_load_file(file, out);
	else if (cm)
		rc = plan_from_configmap(ctx, cm, out);
	else if (name)
		return plan_from_config(cfg, name, out);
	else
		return kahu_error_set(KAHU_EUSAGE, "name a plan of the configuration, or give -f FILE or "
				      "--from-configmap NAMESPACE/NAME");
	if (rc == 0 && name && strcmp(name, (*out)->name)) {
		rc = kahu_error_set(KAHU_EUSAGE, "%s holds plan %s, not %s", (*out)->origin, (*out)->name, name);
		backup_plan_free(*out);
		*out = NULL;
	}
	return rc;
}


int cmd_plan_get(struct kahu_ctx *ctx, struct kahu_config *cfg, const char *name,
		 struct backup_plan **out)
{
	return plan_get(ctx, cfg, name, out);
}

/* What a plan needs of the configuration and this machine: its locations, its files. */
static int plan_check(const struct backup_plan *p, const struct kahu_config *cfg)
{
	const struct kahu_location *loc;
	struct hook_set *hooks = NULL;
	struct backup_args a;
	struct vol_opts vo;
	int rc;
	/* what the plan names that is not there is the plan's error: a usage error */
	if ((rc = config_location(cfg, p->location, &loc)) < 0)
		return kahu_error_wrap(KAHU_EUSAGE, "%s: spec.location", p->origin);
	if (p->volume_location && (rc = config_location(cfg, p->volume_location, &loc)) < 0)
		return kahu_error_wrap(KAHU_EUSAGE, "%s: spec.volumes.location", p->origin);
	if (p->hooks_file && (rc = hook_set_load(p->hooks_file, &hooks)) < 0)
		return kahu_error_wrap(KAHU_EUSAGE, "%s: spec.hooksFile", p->origin);
	hook_set_free(hooks);
	backup_plan_args(p, &a);
	memset(&vo, 0, sizeof vo);
	rc = vol_opts_parse(&a.vol, 0, &vo);
	vol_opts_clear(&vo);
	if (rc < 0)
		return kahu_error_wrap(KAHU_EUSAGE, "%s: spec.volumes", p->origin);
	return 0;
}

static int load_config(struct kahu_ctx *ctx, struct kahu_config **cfg)
{
	return config_load(inv_str(ctx->inv, OPT_CONFIG), cfg);
}

/* Store the plan in the configuration: "created", "configured" or "unchanged". */
static int plan_store(struct kahu_config *cfg, const struct backup_plan *p, int must_be_new, const char **verb)
{
	json_t *plans = config_plans(cfg, 1);
	json_t *old = json_object_get(plans, p->name);
	if (old && must_be_new)
		return kahu_error_set(KAHU_EEXIST, "plan %s exists already in %s (kahu plan apply -f FILE "
				      "changes it, kahu plan delete %s removes it)", p->name, cfg->path, p->name);
	if (old && json_equal(old, p->doc)) {
		*verb = "unchanged";
		return 0;
	}
	*verb = old ? "configured" : "created";
	json_object_set(plans, p->name, p->doc);
	return config_save(cfg, NULL);
}

/* ---- plan create ---- */

static void set_csv(json_t *o, const char *key, const char *csv)
{
	if (!csv)
		return;
	struct strv v = STRV_INIT;
	strv_split(&v, csv, ',');
	json_t *a = json_array();
	for (size_t i = 0; i < v.n; i++)
		json_array_append_new(a, json_string(v.v[i]));
	strv_free(&v);
	json_object_set_new(o, key, a);
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static void set_list(json_t *o, const char *key, const struct strv *v)
{
	if (!v || !v->n)
		return;
	json_t *a = json_array();
	for (size_t i = 0; i < v->n; i++) {
		struct strv parts = STRV_INIT;
		strv_split(&parts, v->v[i], ',');
		for (size_t j = 0; j < parts.n; j++)
			json_array_append_new(a, json_string(parts.v[j]));
		strv_free(&parts);
	}
	json_object_set_new(o, key, a);
}

/* KEY=VALUE,… (repeatable) → a mapping; values stay as given (checked by the parser). */
static int set_map(json_t *o, const char *key, const struct strv *v, const char *flag)
{
	if (!v || !v->n)
		return 0;
	json_t *m = json_object();
	for (size_t i = 0; i < v->n; i++) {
		struct strv parts = STRV_INIT;
		strv_split(&parts, v->v[i], ',');
		for (size_t j = 0; j < parts.n; j++) {
			char *eq = strchr(parts.v[j], '=');
			if (!eq) {
				int rc = kahu_error_set(KAHU_EUSAGE, "%s: \"%s\" is not KEY=VALUE", flag, parts.v[j]);
				strv_free(&parts);
				json_decref(m);
				return rc;
			}
			*eq = '\0';
			json_object_set_new(m, parts.v[j], json_string(eq + 1));
		}
		strv_free(&parts);
	}
	json_object_set_new(o, key, m);
	return 0;
}

static int set_long(const struct kahu_invocation *inv, json_t *o, const char *key, enum kahu_opt_id id,
		    long min, long max)
{
	long v = -1;
	int rc;
	if (!inv_str(inv, id))
		return 0;
	if ((rc = inv_long(inv, id, min, max, &v)) < 0)
		return rc;
	json_object_set_new(o, key, json_integer(v));
	return 0;
}

/* The plan document that plan create's flags describe. */
static int plan_doc_from_flags(const struct kahu_invocation *inv, const char *name, json_t **out)
{
	json_t *spec = json_object(), *vol = json_object(), *helper = json_object(), *ret = json_object(),
	       *cad = json_object(), *mover = json_object();
	int rc;
	set_csv(spec, "includeNamespaces", inv_str(inv, OPT_INCLUDE_NAMESPACES));
	set_csv(spec, "excludeNamespaces", inv_str(inv, OPT_EXCLUDE_NAMESPACES));
	set_csv(spec, "includeResources", inv_str(inv, OPT_INCLUDE_RESOURCES));
	set_csv(spec, "excludeResources", inv_str(inv, OPT_EXCLUDE_RESOURCES));
	set_str(spec, "includeClusterResources", inv_str(inv, OPT_INCLUDE_CLUSTER_RESOURCES));
	set_str(spec, "selector", inv_str(inv, OPT_SELECTOR));
	set_str(spec, "orSelector", inv_str(inv, OPT_OR_SELECTOR));
	set_csv(spec, "includeNames", inv_str(inv, OPT_INCLUDE_NAMES));
	set_csv(spec, "excludeNames", inv_str(inv, OPT_EXCLUDE_NAMES));
	if ((rc = set_map(spec, "labels", inv_list(inv, OPT_LABELS), "--labels")) < 0 ||
	    (rc = set_long(inv, spec, "parallel", OPT_PARALLEL, 1, 64)) < 0 ||
	    (rc = set_long(inv, spec, "compressionLevel", OPT_COMPRESSION_LEVEL, 1, 19)) < 0)
		goto fail;
	set_str(spec, "hooksFile", inv_str(inv, OPT_HOOKS));
	set_str(vol, "data", inv_str(inv, OPT_VOLUME_DATA));
	set_str(vol, "policyFile", inv_str(inv, OPT_VOLUME_POLICY));
	set_list(vol, "excludePaths", inv_list(inv, OPT_EXCLUDE_VOLUME_PATHS));
	if (inv_str(inv, OPT_SNAPSHOT_MOVE_DATA))
		json_object_set_new(vol, "snapshotMoveData", json_boolean(!strcmp(inv_str(inv, OPT_SNAPSHOT_MOVE_DATA), "true")));
	set_str(vol, "snapshotClass", inv_str(inv, OPT_SNAPSHOT_CLASS));
	set_str(vol, "csiSnapshotTimeout", inv_str(inv, OPT_CSI_SNAPSHOT_TIMEOUT));
	set_str(vol, "location", inv_str(inv, OPT_VOLUME_LOCATION));
	set_str(helper, "image", inv_str(inv, OPT_HELPER_IMAGE));
	set_str(helper, "resources", inv_str(inv, OPT_HELPER_RESOURCES));
	if ((rc = set_map(helper, "nodeSelector", inv_list(inv, OPT_HELPER_NODE_SELECTOR), "--helper-node-selector")) < 0)
		goto fail;
	set_list(helper, "tolerations", inv_list(inv, OPT_HELPER_TOLERATIONS));
	if (json_object_size(helper))
		json_object_set(vol, "helper", helper);
	set_str(mover, "type", inv_str(inv, OPT_DATA_MOVER));
	if ((rc = set_long(inv, mover, "perNode", OPT_MOVERS_PER_NODE, 1, 64)) < 0 ||
	    (rc = set_long(inv, mover, "retries", OPT_MOVER_RETRIES, 0, 10)) < 0)
		goto fail;
	set_str(mover, "timeout", inv_str(inv, OPT_MOVER_TIMEOUT));
	set_str(mover, "image", inv_str(inv, OPT_MOVER_IMAGE));
	set_str(mover, "secret", inv_str(inv, OPT_MOVER_SECRET));
	if (json_object_size(mover))
		json_object_set(vol, "mover", mover);
	if (json_object_size(vol))
		json_object_set(spec, "volumes", vol);
	set_str(spec, "location", inv_str(inv, OPT_LOCATION));
	set_str(spec, "context", inv_str(inv, OPT_CONTEXT));
	set_csv(spec, "contexts", inv_str(inv, OPT_CONTEXTS));
	set_str(spec, "schedule", inv_str(inv, OPT_SCHEDULE));
	set_str(spec, "timeZone", inv_str(inv, OPT_TIME_ZONE));
	set_str(cad, "type", inv_str(inv, OPT_CADENCE));
	set_str(cad, "full", inv_str(inv, OPT_FULL_SCHEDULE));
	if (json_object_size(cad))
		json_object_set(spec, "cadence", cad);
	if ((rc = set_long(inv, ret, "keepLast", OPT_KEEP_LAST, 0, 100000)) < 0 ||
	    (rc = set_long(inv, ret, "keepHourly", OPT_KEEP_HOURLY, 0, 100000)) < 0 ||
	    (rc = set_long(inv, ret, "keepDaily", OPT_KEEP_DAILY, 0, 100000)) < 0 ||
	    (rc = set_long(inv, ret, "keepWeekly", OPT_KEEP_WEEKLY, 0, 100000)) < 0 ||
	    (rc = set_long(inv, ret, "keepMonthly", OPT_KEEP_MONTHLY, 0, 100000)) < 0 ||
	    (rc = set_long(inv, ret, "keepYearly", OPT_KEEP_YEARLY, 0, 100000)) < 0)
		goto fail;
	set_str(ret, "ttl", inv_str(inv, OPT_TTL));
	if (json_object_size(ret))
		json_object_set(spec, "retention", ret);
	*out = json_pack("{s:s, s:s, s:{s:s}, s:O}", "apiVersion", PLAN_API_VERSION, "kind", PLAN_KIND,
			 "metadata", "name", name, "spec", spec);
fail:
	json_decref(spec);
	json_decref(vol);
	json_decref(helper);
	json_decref(mover);
	json_decref(ret);
	json_decref(cad);
	return rc;
}

static int run_plan_create(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct kahu_config *cfg = NULL;
	struct backup_plan *p = NULL;
	json_t *doc = NULL;
	const char *verb;
	int rc;
	if ((rc = plan_name_check(name)) < 0 ||
	    (rc = plan_doc_from_flags(ctx->inv, name, &doc)) < 0 ||
	    (rc = backup_plan_from_json(doc, "the command line", &p)) < 0 ||
	    (rc = load_config(ctx, &cfg)) < 0 ||
	    (rc = plan_check(p, cfg)) < 0 ||
	    (rc = plan_store(cfg, p, 1, &verb)) < 0)
		goto out;
	printf("plan/%s created\n", name);
out:
	json_decref(doc);
	backup_plan_free(p);
	config_free(cfg);
	return rc;
}

/* ---- plan apply, validate ---- */

static int run_plan_apply(struct kahu_ctx *ctx)
{
	struct kahu_config *cfg = NULL;
	struct backup_plan *p = NULL;
	const char *verb = NULL;
	int rc;
	if ((rc = load_config(ctx, &cfg)) < 0 ||
	    (rc = plan_get(ctx, cfg, NULL, &p)) < 0 ||
	    (rc = plan_check(p, cfg)) < 0 ||
	    (rc = plan_store(cfg, p, 0, &verb)) < 0)
		goto out;
	printf("plan/%s %s\n", p->name, verb);
out:
	backup_plan_free(p);
	config_free(cfg);
	return rc;
}

static int run_plan_validate(struct kahu_ctx *ctx)
{
	struct kahu_config *cfg = NULL;
	struct backup_plan *p = NULL;
	const char *name = ctx->inv->args.n ? ctx->inv->args.v[0] : NULL;
	int rc;
	if ((rc = load_config(ctx, &cfg)) < 0 ||
	    (rc = plan_get(ctx, cfg, name, &p)) < 0 ||
	    (rc = plan_check(p, cfg)) < 0)
		goto out;
	printf("plan %s (%s) is valid\n", p->name, p->origin);
out:
	/* a plan that does not read is a usage error: its FILE:LINE says where */
	if (rc == KAHU_ECONFIG)
		rc = KAHU_EUSAGE;
	backup_plan_free(p);
	config_free(cfg);
	return rc;
}

/* ---- plan list, describe, delete ---- */

static char *keep_text(const struct backup_plan *p)
{
	struct kbuf b = KBUF_INIT;
	const struct { const char *n; long v; } k[] = {
		{ "last", p->keep.last }, { "hourly", p->keep.hourly }, { "daily", p->keep.daily },
		{ "weekly", p->keep.weekly }, { "monthly", p->keep.monthly }, { "yearly", p->keep.yearly },
	};
	for (size_t i = 0; i < sizeof k / sizeof *k; i++)
		if (k[i].v >= 0)
			kbuf_addf(&b, "%s%s=%ld", b.len ? "," : "", k[i].n, k[i].v);
	if (p->ttl)
		kbuf_addf(&b, "%sttl=%s", b.len ? "," : "", p->ttl);
	if (!b.len)
		kbuf_adds(&b, "ttl=720h");
	return kbuf_detach(&b);
}

static char *cadence_text(const struct backup_plan *p)
{
	if (p->cadence == PLAN_CADENCE_FULL)
		return xstrdup("full");
	if (p->full_schedule)
		return xasprintf("%s (full: %s)", plan_cadence_name(p->cadence), p->full_schedule);
	return xstrdup(plan_cadence_name(p->cadence));
}

static json_t *plan_summary_json(const struct backup_plan *p)
{
	char *keep = keep_text(p), *cad = cadence_text(p);
	json_t *j = json_pack("{s:s, s:s?, s:s?, s:s, s:s?, s:s?, s:s}", "name", p->name, "schedule", p->schedule,
			      "timeZone", p->time_zone, "cadence", cad, "location", p->location,
			      "context", p->context, "retention", keep);
	free(keep);
	free(cad);
	return j;
}

static int run_plan_list(struct kahu_ctx *ctx)
{
	struct kahu_config *cfg = NULL;
	int rc, bad = 0;
	if ((rc = load_config(ctx, &cfg)) < 0)
		return rc;
	json_t *plans = config_plans(cfg, 0), *items = json_array(), *v;
	const char *k;
	if (plans)
		json_object_foreach(plans, k, v) {
			struct backup_plan *p = NULL;
			if (plan_from_config(cfg, k, &p) < 0) {
				log_warn("%s", kahu_error_last());
				json_array_append_new(items, json_pack("{s:s, s:s}", "name", k, "problem", kahu_error_last()));
				bad++;
				continue;
			}
			json_array_append_new(items, plan_summary_json(p));
			backup_plan_free(p);
		}
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *doc = json_pack("{s:o}", "plans", items);
		ctx->out == OUT_JSON ? out_json(stdout, doc) : out_yaml(stdout, doc);
		json_decref(doc);
	} else if (ctx->out == OUT_NAME) {
		size_t i;
		json_array_foreach(items, i, v)
			printf("plan/%s\n", json_string_value(json_object_get(v, "name")));
		json_decref(items);
	} else {
		if (!json_array_size(items)) {
			printf("No plans in %s.\n", cfg->path);
		} else {
			static const char *const hdr[] = { "NAME", "SCHEDULE", "CADENCE", "LOCATION", "RETENTION" };
			struct out_table *t = out_table_new(5, hdr);
			size_t i;
			json_array_foreach(items, i, v) {
				const char *s = json_string_value(json_object_get(v, "schedule"));
				const char *tz = json_string_value(json_object_get(v, "timeZone"));
				char *sched = s ? (tz ? xasprintf("%s (%s)", s, tz) : xstrdup(s)) : xstrdup("(by hand)");
				const char *loc = json_string_value(json_object_get(v, "location"));
				const char *row[] = { json_string_value(json_object_get(v, "name")), sched,
						      json_string_value(json_object_get(v, "cadence")),
						      loc ? loc : "(default)",
						      json_string_value(json_object_get(v, "retention")) };
				if (!row[2])
					row[2] = "(invalid)", row[4] = "";
				out_table_row(t, row);
				free(sched);
			}
			out_table_print(t, stdout);
			out_table_free(t);
		}
		json_decref(items);
	}
	config_free(cfg);
	return bad ? kahu_error_set(KAHU_ECONFIG, "%d plan%s of %s cannot be read (see the warnings above)",
				    bad, bad == 1 ? "" : "s", cfg ? "the configuration" : "") : 0;
}

static int run_plan_describe(struct kahu_ctx *ctx)
{
	struct kahu_config *cfg = NULL;
	struct backup_plan *p = NULL;
	const char *name = ctx->inv->args.n ? ctx->inv->args.v[0] : NULL;
	int rc;
	if ((rc = load_config(ctx, &cfg)) < 0 || (rc = plan_get(ctx, cfg, name, &p)) < 0)
		goto out;
	if (ctx->out == OUT_JSON) {
		out_json(stdout, p->doc);
	} else if (ctx->out == OUT_YAML) {
		out_yaml(stdout, p->doc);
	} else {
		char *keep = keep_text(p), *cad = cadence_text(p);
		printf("Name:        %s\n", p->name);
		printf("Source:      %s\n", p->origin);
		printf("Schedule:    %s\n", p->schedule ? backup_plan_schedule_text(p) : "(run by hand)");
		printf("Time zone:   %s\n", p->time_zone ? p->time_zone : "UTC");
		printf("Cadence:     %s\n", cad);
		printf("Location:    %s\n", p->location ? p->location : "(the default location)");
		if (p->contexts.n) {
		printf("Contexts:    ");
		for (size_t i = 0; i < p->contexts.n; i++)
			printf("%s%s (series %s)", i ? ", " : "", p->contexts.v[i], p->series.v[i]);
		printf("\n");
	} else {
		printf("Context:     %s\n", p->context ? p->context : "(the current context)");
	}
		printf("Retention:   %s\n", keep);
		printf("Volumes:     %s\n", p->volume_data ? p->volume_data : "auto");
		printf("\n");
		out_yaml(stdout, p->doc);
		free(keep);
		free(cad);
	}
out:
	backup_plan_free(p);
	config_free(cfg);
	return rc;
}

static int run_plan_delete(struct kahu_ctx *ctx)
{
	const char *name = ctx->inv->args.v[0];
	struct kahu_config *cfg = NULL;
	int rc;
	if ((rc = load_config(ctx, &cfg)) < 0)
		return rc;
	json_t *plans = config_plans(cfg, 0);
	if (!plans || !json_object_get(plans, name))
		rc = kahu_error_set(KAHU_ENOTFOUND, "no plan named %s in %s", name, cfg->path);
	else {
		json_object_del(plans, name);
		if ((rc = config_save(cfg, NULL)) == 0)
			printf("plan/%s deleted (its backups stay; kahu backup delete -l %s=%s removes them)\n",
			       name, PLAN_LABEL, name);
	}
	config_free(cfg);
	return rc;
}

/* ---- the plan's backups on its location ---- */

struct hist_item {
	char *name;
	int64_t when;
	struct manifest *m;        /* authenticated, NULL: untrusted */
	struct manifest *listed;
	int complete;
};

struct history {
	const char *plan;
	struct hist_item *v;
	size_t n;
};

static int hist_cb(void *ud, const struct repo_backup *b)
{
	struct history *h = ud;
	int64_t t;
	if (plan_backup_time(h->plan, b->name, &t) < 0)
		return 0;
	h->v = xrealloc(h->v, (h->n + 1) * sizeof *h->v);
	struct hist_item *it = &h->v[h->n++];
	memset(it, 0, sizeof *it);
	it->name = xstrdup(b->name);
	it->when = t;
	it->complete = b->complete;
	it->listed = manifest_copy(b->m);
	return 0;
}

static void history_free(struct history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		manifest_free(h->v[i].m);
		manifest_free(h->v[i].listed);
	}
	free(h->v);
}

static int has_plan_label(const struct manifest *m, const char *plan)
{
	for (size_t i = 0; m && i < m->n_labels; i++)
		if (!strcmp(m->labels[i].key, PLAN_LABEL))
			return !strcmp(m->labels[i].value, plan);
	return 0;
}

/* The plan's backups: named by it, and (authenticated when `authenticate`) labelled
 * with it. */
static int history_read(struct repo *repo, const char *plan, int authenticate, struct history *h)
{
	const struct kahu_key *key = NULL;
	int rc;
	memset(h, 0, sizeof *h);
	h->plan = plan;
	if ((rc = repo_list_backups(repo, hist_cb, h)) < 0)
		return rc;
	int need_key = *repo_get_info(repo)->key_id != '\0';
	for (size_t i = 0; i < h->n; i++)
		need_key |= h->v[i].listed && h->v[i].listed->encrypted;
	if (authenticate && need_key && (rc = repo_key(repo, &key)) < 0)
		return kahu_error_wrap(rc, "reading plan %s's backups (their manifests are authenticated "
				       "before the cadence trusts them)", plan);
	size_t w = 0;
	for (size_t i = 0; i < h->n; i++) {
		struct hist_item it = h->v[i];
		if (it.complete && authenticate) {
			struct repo_backup rb = { .name = it.name, .complete = 1, .m = it.listed };
			char *why = NULL;
			it.m = backup_trusted_manifest(&rb, key, &why);
			if (!it.m)
				log_warn("backup %s: %s; the plan's cadence does not count it", it.name, why);
			free(why);
		} else if (it.complete) {
			it.m = manifest_copy(it.listed);
		}
		if (!it.complete || !it.m || !has_plan_label(it.m, plan)) {
			free(it.name);
			manifest_free(it.m);
			manifest_free(it.listed);
			continue;
		}
		h->v[w++] = it;
	}
	h->n = w;
	return 0;
}

/* The plan's retention as prune's policy; its periods on the calendar of the plan's
 * time zone (*zone: loaded here, the caller frees it). */
static int retention_policy_of(const struct backup_plan *p, struct retention_policy *pol, struct tzif **zone)
{
	*pol = (struct retention_policy)RETENTION_POLICY_NONE;
	pol->last = p->keep.last;
	pol->hourly = p->keep.hourly;
	pol->daily = p->keep.daily;
	pol->weekly = p->keep.weekly;
	pol->monthly = p->keep.monthly;
	pol->yearly = p->keep.yearly;
	*zone = NULL;
	if (p->time_zone && strcmp(p->time_zone, "UTC")) {
		int rc = tzif_load(p->time_zone, zone);
		if (rc < 0)
			return kahu_error_wrap(rc, "plan %s: spec.timeZone", p->name);
		pol->zone = *zone;
	}
	return 0;
}


/* ---- plan run ---- */

struct run_spec {
	struct backup_plan *p;
	struct kahu_config *cfg;
	int64_t now;
};

static void run_spec_free(void *v)
{
	struct run_spec *s = v;
	if (!s)
		return;
	backup_plan_free(s->p);
	config_free(s->cfg);
	free(s);
}

static int parse_plan_run(struct kahu_ctx *ctx, void **out)
{
	struct run_spec *s = xcalloc(1, sizeof *s);
	int fake, rc;
	const char *name = ctx->inv->args.n ? ctx->inv->args.v[0] : NULL;
	const char *cm = inv_has(ctx->inv, OPT_FROM_CONFIGMAP) ? inv_str(ctx->inv, OPT_FROM_CONFIGMAP) : NULL;
	/* a ConfigMap is read once the cluster is set up (run_plan_run) */
	if ((rc = plan_now(&s->now, &fake)) < 0 || (rc = load_config(ctx, &s->cfg)) < 0 ||
	    (!cm && (rc = plan_get(ctx, s->cfg, name, &s->p)) < 0)) {
		run_spec_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int open_location(struct kahu_ctx *ctx, const struct backup_plan *p, struct run_repo *rr,
			 struct repo **repo)
{
	int rc = cmd_run_repo(ctx, rr);
	if (rc < 0)
		return rc;
	rr->opts.location = p->location;
	return run_open_repo(rr, 0, repo);
}

/* A plan over several contexts: each series in turn (they share the plan's location,
 * whose lock one run holds at a time), each cluster's outcome its own, then a line per
 * cluster; 0 when every series' backup was good, 2 when some were, else the first
 * failure's code. */
static int run_series(struct kahu_ctx *ctx, const struct backup_plan *p, const struct kahu_config *cfg,
		      int64_t now, int dry)
{
	size_t good = 0;
	int first_rc = 0;
	struct kbuf failed = KBUF_INIT;
	struct strv rows = STRV_INIT;   /* context, series, backup, result: 4 per series */
	if (inv_str(ctx->inv, OPT_CONTEXT))
		return kahu_error_set(KAHU_EUSAGE, "plan %s runs in the contexts it lists (spec.contexts); "
				      "--context names one cluster", p->name);
	for (size_t i = 0; i < p->contexts.n; i++) {
		struct backup_plan q;
		backup_plan_series(p, i, &q);
		int rc = cmd_plan_run_once(ctx, &q, cfg, now, dry);
		fflush(stdout);
		if (rc == KAHU_EINTR)
			goto out_intr;
		strv_push(&rows, p->contexts.v[i]);
		strv_push(&rows, q.name);
		strv_push_owned(&rows, rc == 0 || rc == KAHU_EPARTIAL ? plan_backup_name(q.name, now) : xstrdup("-"));
		if (rc == 0) {
			good++;
			strv_push(&rows, dry ? "(dry run)" : "Completed");
			continue;
		}
		log_error("plan %s, context %s: %s", p->name, p->contexts.v[i], kahu_error_last());
		strv_push_owned(&rows, rc == KAHU_EPARTIAL ? xstrdup("PartiallyFailed")
						      : xasprintf("Failed: %.100s", kahu_error_last()));
		kbuf_addf(&failed, "%s%s", failed.len ? ", " : "", p->contexts.v[i]);
		if (rc == KAHU_EPARTIAL)
			good++;   /* its backup was written */
		else if (!first_rc)
			first_rc = rc;
	}
	static const char *const hdr[] = { "CONTEXT", "SERIES", "BACKUP", "RESULT" };
	struct out_table *t = out_table_new(4, hdr);
	for (size_t i = 0; i + 3 < rows.n; i += 4) {
		const char *row[] = { rows.v[i], rows.v[i + 1], rows.v[i + 2], rows.v[i + 3] };
		out_table_row(t, row);
	}
	printf("\nPlan %s over %zu clusters:\n", p->name, p->contexts.n);
	out_table_print(t, stdout);
	out_table_free(t);
	int rc = 0;
	if (failed.len)
		rc = good ? kahu_error_set(KAHU_EPARTIAL, "plan %s: the run did not complete in %s", p->name,
					   kbuf_str(&failed))
			  : kahu_error_wrap(first_rc, "plan %s: the run failed in every context (%s)", p->name,
					    kbuf_str(&failed));
	kbuf_free(&failed);
	strv_free(&rows);
	return rc;
out_intr:
	kbuf_free(&failed);
	strv_free(&rows);
	return KAHU_EINTR;
}

static int run_plan_run(struct kahu_ctx *ctx)
{
	struct run_spec *s = ctx->spec;
	const char *name = ctx->inv->args.n ? ctx->inv->args.v[0] : NULL;
	int rc, dry = inv_count(ctx->inv, OPT_DRY_RUN) > 0;
	if (!s->p && (rc = plan_get(ctx, s->cfg, name, &s->p)) < 0)
		return rc;
	if (s->p->contexts.n)
		return run_series(ctx, s->p, s->cfg, s->now, dry);
	return cmd_plan_run_once(ctx, s->p, s->cfg, s->now, dry);
}

int cmd_plan_run_once(struct kahu_ctx *ctx, const struct backup_plan *p, const struct kahu_config *cfg,
		      int64_t now, int dry)
{
	struct run_repo rr;
	struct repo *repo = NULL;
	struct history h = { 0 };
	struct plan_past *past = NULL;
	struct plan_decision d;
	struct kube_client *kc;
	char *bname = NULL, *status = NULL, *label = NULL;
	void *spec = NULL;
	struct strv labels = STRV_INIT;
	struct tzif *zone = NULL;
	int rc;

	if ((rc = plan_check(p, cfg)) < 0)
		goto out;
	if (p->context && !inv_str(ctx->inv, OPT_CONTEXT)) {
		/* the plan's cluster (a ConfigMap was read through the current context) */
		ctx_release(ctx);
		ctx->context = p->context;
	}

	/* The plan's past, from its own backups on its location. */
	if ((rc = open_location(ctx, p, &rr, &repo)) < 0 || (rc = history_read(repo, p->name, 1, &h)) < 0)
		goto out;
	past = xcalloc(h.n + 1, sizeof *past);
	for (size_t i = 0; i < h.n; i++)
		past[i] = (struct plan_past){ .name = h.v[i].name, .when = h.v[i].when,
					      .full = h.v[i].m->type == MANIFEST_FULL,
					      .failed = h.v[i].m->status == MANIFEST_FAILED };
	if ((rc = plan_decide(p, past, h.n, now, &d)) < 0)
		goto out;
	bname = plan_backup_name(p->name, now);
	const char *parent = d.parent >= 0 ? past[d.parent].name : NULL;
	const char *kind = d.kind == BACKUP_FULL ? "full" : d.kind == BACKUP_INCREMENTAL ? "incremental" : "differential";
	struct retention_policy pol;
	if ((rc = retention_policy_of(p, &pol, &zone)) < 0)
		goto out;

	if (dry) {
		printf("Plan %s would run backup %s: %s%s%s (%s).\n", p->name, bname, kind,
		       parent ? " on " : "", parent ? parent : "", d.why);
		const char *base = NULL;
		if (d.parent >= 0)
			base = h.v[d.parent].m->type == MANIFEST_FULL ? parent : h.v[d.parent].m->base;
		struct prune_opts po = { .pol = &pol, .dry = 1, .plan = p->name, .now = now, .add = bname,
					 .add_parent = parent, .add_base = base, .add_when = now };
		char *keep = keep_text(p);
		printf("Retention (%s), once it is written:\n", keep);
		free(keep);
		rc = cmd_prune(ctx, repo, &po);
		printf("Dry run: nothing was written.\n");
		goto out;
	}
	repo_close(repo);
	repo = NULL;
	printf("Plan %s: backup %s, %s%s%s (%s).\n", p->name, bname, kind, parent ? " on " : "",
	       parent ? parent : "", d.why);
	fflush(stdout);

	/* The backup, through backup create's own spec. */
	struct backup_args a;
	backup_plan_args(p, &a);
	for (size_t i = 0; i < p->labels.n; i++)
		strv_push(&labels, p->labels.v[i]);
	label = xasprintf("%s=%s", PLAN_LABEL, p->name);
	strv_push(&labels, label);
	a.labels = &labels;
	a.kind = d.kind;
	a.parent = parent;
	if ((rc = cmd_backup_create_spec(ctx, bname, &a, &spec)) < 0 || (rc = ctx_kube_client(ctx, &kc)) < 0)
		goto out;
	rc = cmd_backup_create_run(ctx, spec, &status);
	if (rc != 0 && rc != KAHU_EPARTIAL)
		goto out;   /* Failed or not made: the retention waits for a good run */

	/* The plan's retention, under the location's lock, on the plan's backups only. */
	int brc = rc;
	struct store_lock *lock = NULL;
	struct prune_opts po = { .pol = &pol, .plan = p->name, .now = now };
	if ((rc = open_location(ctx, p, &rr, &repo)) == 0 &&
	    (rc = run_lock(&rr, repo, "plan run", &lock)) == 0) {
		rc = cmd_prune(ctx, repo, &po);
		int lrc = repo_unlock(lock);
		if (rc == 0)
			rc = lrc;
	}
	if (rc < 0) {
		kahu_error_wrap(rc, "backup %s is %s, but the plan's retention failed", bname,
				status ? status : "written");
		rc = KAHU_EPARTIAL;
		log_error("%s", kahu_error_last());
	} else {
		rc = brc;
	}
out:
	if (spec)
		cmd_backup_create_spec_free(spec);
	repo_close(repo);
	history_free(&h);
	free(past);
	free(bname);
	free(status);
	free(label);
	strv_free(&labels);
	tzif_free(zone);
	return rc;
}

/* ---- plan status ---- */

static void fmt_when(int64_t t, char *buf)
{
	if (kahu_time_format(t, buf) < 0)
		strcpy(buf, "?");
}

/* One plan's status as JSON: its last run, the next, whether retention holds. */
static json_t *plan_status_json(struct kahu_ctx *ctx, const struct backup_plan *p, int64_t now)
{
	struct run_repo rr;
	struct repo *repo = NULL;
	struct history h = { 0 };
	json_t *j = json_pack("{s:s}", "name", p->name);
	char t[KAHU_TIME_LEN + 1];
	int64_t next;

	if (backup_plan_next_run(p, now, &next) == 0) {
		fmt_when(next, t);
		json_object_set_new(j, "nextRun", json_string(t));
	}
	if (open_location(ctx, p, &rr, &repo) < 0 || history_read(repo, p->name, 0, &h) < 0) {
		json_object_set_new(j, "problem", json_string(kahu_error_last()));
		goto out;
	}
	long last = -1, good = 0;
	struct retention_entry *ent = xcalloc(h.n + 1, sizeof *ent);
	for (size_t i = 0; i < h.n; i++) {
		const struct manifest *m = h.v[i].m;
		if (last < 0 || h.v[i].when > h.v[last].when)
			last = (long)i;
		good += m->status != MANIFEST_FAILED;
		ent[i] = (struct retention_entry){
			.name = h.v[i].name, .state = m->status == MANIFEST_FAILED ? RET_FAILED : RET_GOOD,
			.completed = h.v[i].when,
			.expires = m->expires ? h.v[i].when + (m->expires - m->created) : 0,
			.parent = m->parent, .base = m->base };
	}
	json_object_set_new(j, "backups", json_integer((json_int_t)h.n));
	json_object_set_new(j, "goodBackups", json_integer(good));
	if (last >= 0) {
		const struct manifest *m = h.v[last].m;
		fmt_when(h.v[last].when, t);
		json_object_set_new(j, "lastRun", json_pack("{s:s, s:s, s:s, s:s}", "backup", h.v[last].name,
							     "status", manifest_status_name(m->status), "type",
							     manifest_type_name(m->type), "time", t));
		int64_t due;
		if (backup_plan_next_run(p, h.v[last].when, &due) == 0 && due < now) {
			fmt_when(due, t);
			json_object_set_new(j, "missedRun", json_string(t));
		}
	}
	struct retention_policy pol;
	struct tzif *zone = NULL;
	if (retention_policy_of(p, &pol, &zone) < 0) {
		json_object_set_new(j, "problem", json_string(kahu_error_last()));
		free(ent);
		goto out;
	}
	retention_decide(ent, h.n, &pol, now);
	tzif_free(zone);
	long over = 0;
	for (size_t i = 0; i < h.n; i++)
		over += ent[i].remove != 0;
	free(ent);
	json_object_set_new(j, "retentionHolds", json_boolean(over == 0));
	json_object_set_new(j, "retentionPending", json_integer(over));
out:
	history_free(&h);
	repo_close(repo);
	return j;
}

static int run_plan_status(struct kahu_ctx *ctx)
{
	struct kahu_config *cfg = NULL;
	const char *name = ctx->inv->args.n ? ctx->inv->args.v[0] : NULL;
	int64_t now;
	int fake, rc, problems = 0;
	if ((rc = plan_now(&now, &fake)) < 0 || (rc = load_config(ctx, &cfg)) < 0)
		return rc;
	json_t *items = json_array(), *v;
	struct strv names = STRV_INIT;
	if (name) {
		strv_push(&names, name);
	} else if (config_plans(cfg, 0)) {
		const char *k;
		json_object_foreach(config_plans(cfg, 0), k, v)
			strv_push(&names, k);
	}
	for (size_t i = 0; i < names.n; i++) {
		struct backup_plan *p = NULL;
		if ((rc = plan_from_config(cfg, names.v[i], &p)) < 0) {
			if (name)
				goto out;
			json_array_append_new(items, json_pack("{s:s, s:s}", "name", names.v[i], "problem", kahu_error_last()));
			problems++;
			continue;
		}
		for (size_t k = 0; k < (p->contexts.n ? p->contexts.n : 1); k++) {
			struct backup_plan q;
			if (p->contexts.n)
				backup_plan_series(p, k, &q);
			json_t *j = plan_status_json(ctx, p->contexts.n ? &q : p, now);
			if (p->contexts.n) {
				json_object_set_new(j, "plan", json_string(p->name));
				json_object_set_new(j, "context", json_string(p->contexts.v[k]));
			}
			problems += json_object_get(j, "problem") != NULL;
			json_array_append_new(items, j);
		}
		backup_plan_free(p);
	}
	rc = 0;
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *doc = json_pack("{s:O}", "plans", items);
		ctx->out == OUT_JSON ? out_json(stdout, doc) : out_yaml(stdout, doc);
		json_decref(doc);
	} else if (!names.n) {
		printf("No plans in %s.\n", cfg->path);
	} else {
		static const char *const hdr[] = { "PLAN", "LAST BACKUP", "RESULT", "LAST RUN", "NEXT RUN", "RETENTION" };
		struct out_table *t = out_table_new(6, hdr);
		size_t i;
		json_array_foreach(items, i, v) {
			json_t *lr = json_object_get(v, "lastRun");
			const char *prob = json_string_value(json_object_get(v, "problem"));
			char *ret = prob ? xstrdup("") :
				    json_is_true(json_object_get(v, "retentionHolds")) ?
				    xasprintf("holds (%lld backups)", (long long)json_integer_value(json_object_get(v, "backups"))) :
				    xasprintf("%lld past the policy", (long long)json_integer_value(json_object_get(v, "retentionPending")));
			const char *next = json_string_value(json_object_get(v, "nextRun"));
			const char *result = json_string_value(json_object_get(lr, "status"));
			const char *row[] = { json_string_value(json_object_get(v, "name")),
					      lr ? json_string_value(json_object_get(lr, "backup")) : "(none)",
					      prob ? prob : result ? result : "",
					      lr ? json_string_value(json_object_get(lr, "time")) : "",
					      next ? next : "(by hand)", ret };
			out_table_row(t, row);
			free(ret);
		}
		out_table_print(t, stdout);
		out_table_free(t);
		json_array_foreach(items, i, v)
			if (json_object_get(v, "missedRun"))
				printf("plan %s: the run due at %s has not happened\n",
				       json_string_value(json_object_get(v, "name")),
				       json_string_value(json_object_get(v, "missedRun")));
	}
	if (problems)
		rc = kahu_error_set(KAHU_EPARTIAL, "%d plan%s could not be read or checked", problems,
				    problems == 1 ? "" : "s");
out:
	strv_free(&names);
	json_decref(items);
	config_free(cfg);
	return rc;
}

/* ---- tables ---- */

#define PLAN_SOURCE_OPTS \
	OPTION(FILE, 'f', "FILE", "read the plan from a YAML file (kahu-plan(5); - for standard input)", "file", 0, NULL), \
	OPTION(FROM_CONFIGMAP, 0, "NS/NAME", "read the plan from the plan.yaml key of a ConfigMap in the cluster", NULL, 0, NULL)

static const struct kahu_opt create_opts[] = {
	OPTION(INCLUDE_NAMESPACES, 0, "NS,…", "namespaces to include (globs; default all)", "@namespace", 0, NULL),
	OPTION(EXCLUDE_NAMESPACES, 0, "NS,…", "namespaces to leave out (globs)", "@namespace", 0, NULL),
	OPTION(INCLUDE_RESOURCES, 0, "TYPE,…", "resource types to include (default all)", NULL, 0, NULL),
	OPTION(EXCLUDE_RESOURCES, 0, "TYPE,…", "resource types to leave out", NULL, 0, NULL),
	OPTION(INCLUDE_CLUSTER_RESOURCES, 0, "auto|true|false", "cluster-scoped objects, as backup create takes them", "auto true false", 0, NULL),
	OPTION(SELECTOR, 'l', "SELECTOR", "only objects whose labels match", NULL, 0, NULL),
	OPTION(OR_SELECTOR, 0, "SEL or SEL", "objects matching any of the selectors", NULL, 0, NULL),
	OPTION(INCLUDE_NAMES, 0, "GLOB,…", "only objects whose name (or namespace/name) matches", NULL, 0, NULL),
	OPTION(EXCLUDE_NAMES, 0, "GLOB,…", "leave out objects whose name (or namespace/name) matches", NULL, 0, NULL),
	OPTION(LABELS, 0, "KEY=VALUE,…", "labels of the plan's backups (kahu.io/plan=NAME is added)", NULL, OPTF_REPEAT, NULL),
	OPTION(PARALLEL, 0, "N", "as backup create --parallel", NULL, 0, "4"),
	OPTION(COMPRESSION_LEVEL, 0, "N", "zstd level, 1 (fast) to 19 (small)", NULL, 0, "3"),
	OPTION(HOOKS, 0, "FILE", "a hooks file (kahu-hooks(5)), an absolute path", "file", 0, NULL),
	OPTION(VOLUME_DATA, 0, "none|fs|csi|auto", "the data of the PVCs in scope, as backup create takes it", "none fs csi auto", 0, "auto"),
	OPTION(VOLUME_POLICY, 0, "FILE", "a volume policy file (kahu-volume-policy(5)), an absolute path", "file", 0, NULL),
	OPTION(EXCLUDE_VOLUME_PATHS, 0, "GLOB", "leave out the files of volumes whose path matches", NULL, OPTF_REPEAT, NULL),
	OPTION(VOLUME_LOCATION, 0, "NAME", "another configured location for the volume data", "@location", 0, NULL),
	KAHU_VOL_HELPER_OPTS,
	KAHU_VOL_MOVER_OPTS,
	OPTION(SNAPSHOT_CLASS, 0, "NAME", "the VolumeSnapshotClass of CSI snapshots", NULL, 0, NULL),
	OPTION(CSI_SNAPSHOT_TIMEOUT, 0, "DURATION", "how long to wait for a VolumeSnapshot to be readyToUse", NULL, 0, "10m"),
	OPTION(SNAPSHOT_MOVE_DATA, 0, "true|false", "copy a CSI snapshot's files into the backup, as backup create does", "true false", 0, "true"),
	KAHU_OPT_LOCATION,
	OPTION(CONTEXTS, 0, "CONTEXT,…", "run the plan in each of these kubeconfig contexts' clusters, each a series of its own (PLAN-CONTEXT)", "@context", 0, NULL),
	OPTION(SCHEDULE, 0, "CRON", "when the plan runs: 5 cron fields or @daily, @hourly, … (for plan install and plan status)", NULL, 0, NULL),
	OPTION(TIME_ZONE, 0, "ZONE", "the IANA time zone of the schedules (default UTC)", NULL, 0, NULL),
	OPTION(CADENCE, 0, "full|incremental|differential", "what a run backs up: always full, or incremental (differential) with a full when --full-schedule fired", "full incremental differential", 0, "full"),
	OPTION(FULL_SCHEDULE, 0, "CRON", "a full backup when this schedule fired since the plan's last full one", NULL, 0, NULL),
	OPTION(KEEP_LAST, 0, "N", "retention: keep the N newest backups of the plan", NULL, 0, NULL),
	OPTION(KEEP_HOURLY, 0, "N", "retention: keep the newest backup of each of the last N hours that have one", NULL, 0, NULL),
	OPTION(KEEP_DAILY, 0, "N", "retention: the same per day", NULL, 0, NULL),
	OPTION(KEEP_WEEKLY, 0, "N", "retention: the same per week", NULL, 0, NULL),
	OPTION(KEEP_MONTHLY, 0, "N", "retention: the same per month", NULL, 0, NULL),
	OPTION(KEEP_YEARLY, 0, "N", "retention: the same per year", NULL, 0, NULL),
	OPTION(TTL, 0, "DURATION", "how long each backup of the plan is kept (without --keep-*)", NULL, 0, "720h"),
	OPT_END
};

static const struct kahu_opt source_opts[] = {
	PLAN_SOURCE_OPTS,
	OPT_END
};

static const struct kahu_opt run_opts[] = {
	PLAN_SOURCE_OPTS,
	OPTION(DRY_RUN, 0, NULL, "say what the run would do (full or incremental, the parent, what retention would remove); write nothing", NULL, 0, NULL),
	KAHU_OPT_KEY_FILE,
	KAHU_OPT_PASSPHRASE_FILE,
	KAHU_OPT_LOCK_WAIT,
	OPT_END
};

static const struct kahu_opt no_opts[] = {
	OPT_END
};

const struct kahu_cmd cmd_plan_entry = {
	.name = "plan",
	.summary = "Backup plans: what to back up, where, when, and how long to keep it",
	.flags = CMD_NOUN,
};

const struct kahu_cmd cmd_plan_create_entry = {
	.name = "plan create",
	.args = "NAME",
	.min_args = 1,
	.max_args = 1,
	.summary = "Create a plan in the configuration from backup create's flags and a schedule",
	.opts = create_opts,
	.run = run_plan_create,
};

const struct kahu_cmd cmd_plan_apply_entry = {
	.name = "plan apply",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Create or update a plan in the configuration from a file or a ConfigMap",
	.opts = source_opts,
	.run = run_plan_apply,
};

const struct kahu_cmd cmd_plan_list_entry = {
	.name = "plan list",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "List the plans of the configuration",
	.outputs = "table json yaml name",
	.opts = no_opts,
	.run = run_plan_list,
};

const struct kahu_cmd cmd_plan_describe_entry = {
	.name = "plan describe",
	.args = "[NAME]",
	.min_args = 0,
	.max_args = 1,
	.summary = "Show a plan (its document with -o yaml or json)",
	.outputs = "table json yaml",
	.opts = source_opts,
	.run = run_plan_describe,
	.args_complete = "@plan",
};

const struct kahu_cmd cmd_plan_delete_entry = {
	.name = "plan delete",
	.args = "NAME",
	.min_args = 1,
	.max_args = 1,
	.summary = "Remove a plan from the configuration (its backups stay)",
	.opts = no_opts,
	.run = run_plan_delete,
	.args_complete = "@plan",
};

const struct kahu_cmd cmd_plan_validate_entry = {
	.name = "plan validate",
	.args = "[NAME]",
	.min_args = 0,
	.max_args = 1,
	.summary = "Check a plan: every field, and its locations and files in this configuration",
	.opts = source_opts,
	.run = run_plan_validate,
	.args_complete = "@plan",
};

const struct kahu_cmd cmd_plan_run_entry = {
	.name = "plan run",
	.args = "[NAME]",
	.min_args = 0,
	.max_args = 1,
	.summary = "Run a plan once: its backup (full or incremental by its cadence), then its retention",
	.opts = run_opts,
	.parse = parse_plan_run,
	.run = run_plan_run,
	.spec_free = run_spec_free,
	.args_complete = "@plan",
};

const struct kahu_cmd cmd_plan_status_entry = {
	.name = "plan status",
	.args = "[NAME]",
	.min_args = 0,
	.max_args = 1,
	.summary = "Each plan's last run and result, its next run, and whether its retention holds",
	.outputs = "table json yaml",
	.opts = no_opts,
	.run = run_plan_status,
	.args_complete = "@plan",
};

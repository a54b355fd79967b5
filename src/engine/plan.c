/* kahu — backup plans (kahu-plan(5)).  See plan.h. */
#include "engine/plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yaml.h>

#include "engine/labelsel.h"
#include "engine/scope.h"
#include "engine/ynode.h"
#include "store/config.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include "util/cron.h"

#define PLAN_MAX_SIZE (1024 * 1024)

struct yp {
	yaml_document_t *doc;
	const char *file;
};

static int yerr(const struct yp *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int yerr(const struct yp *y, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = ynode_verror(y->file, n, fmt, ap);
	va_end(ap);
	return rc;
}

/* The message of a failed check, with FILE:LINE and the field in front. */
static int ywrap(const struct yp *y, const yaml_node_t *n, const char *field, int rc)
{
	char msg[1024];
	snprintf(msg, sizeof msg, "%s", kahu_error_last());
	(void)rc;
	return kahu_error_set(KAHU_EUSAGE, "%s:%lu: %s: %s",
			      y->file, (unsigned long)n->start_mark.line + 1, field, msg);
}

#define YMAP_FOREACH(y, map, kn, vn)                                                        \
	for (yaml_node_pair_t *pr_ = (map)->data.mapping.pairs.start;                       \
	     pr_ < (map)->data.mapping.pairs.top &&                                           \
	     ((kn) = yaml_document_get_node((y)->doc, pr_->key),                              \
	      (vn) = yaml_document_get_node((y)->doc, pr_->value), 1);                       \
	     pr_++)

static int ymap(const struct yp *y, const yaml_node_t *n, const char *field)
{
	if (n->type != YAML_MAPPING_NODE)
		return yerr(y, n, "%s: expected a mapping", field);
	return 0;
}

/* A scalar that is plain text (not a list or mapping), copied. */
static int ystr(const struct yp *y, const yaml_node_t *n, const char *field, char **out)
{
	const char *s = ynode_scalar(n);
	if (!s)
		return yerr(y, n, "%s: expected a string", field);
	if (!*s)
		return yerr(y, n, "%s: empty", field);
	free(*out);
	*out = xstrdup(s);
	return 0;
}

/* A file: an absolute path (a plan runs from cron, in no working directory of yours). */
static int ypath(const struct yp *y, const yaml_node_t *n, const char *field, char **out)
{
	int rc = ystr(y, n, field, out);
	if (rc == 0 && **out != '/')
		rc = yerr(y, n, "%s: \"%s\" is not an absolute path (a plan runs from cron, a timer or a "
			  "CronJob, whose working directory is not yours)", field, *out);
	return rc;
}

static int ylong(const struct yp *y, const yaml_node_t *n, const char *field, long min, long max,
		 long *out)
{
	const char *s = ynode_scalar(n);
	char *end;
	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !*s)
		return yerr(y, n, "%s: expected a whole number", field);
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end || errno)
		return yerr(y, n, "%s: \"%s\" is not a whole number", field, s);
	if (v < min || v > max)
		return yerr(y, n, "%s: %ld is out of range %ld-%ld", field, v, min, max);
	*out = v;
	return 0;
}

static int ybool(const struct yp *y, const yaml_node_t *n, const char *field, char **out)
{
	const char *s = ynode_scalar(n);
	if (!s || (strcmp(s, "true") && strcmp(s, "false")))
		return yerr(y, n, "%s: expected true or false", field);
	free(*out);
	*out = xstrdup(s);
	return 0;
}

/* A list of strings (or one string) as the comma-separated text the flags take. */
static int ycsv(const struct yp *y, yaml_node_t *n, const char *field, char **out)
{
	struct strv v = STRV_INIT;
	int rc = ynode_strings(y->doc, y->file, n, field, true, &v);
	if (rc == 0) {
		for (size_t i = 0; i < v.n && rc == 0; i++)
			if (!*v.v[i] || strchr(v.v[i], ','))
				rc = yerr(y, n, "%s: \"%s\": an item is empty or holds a comma", field, v.v[i]);
		if (rc == 0) {
			free(*out);
			*out = strv_join(&v, ",");
		}
	}
	strv_free(&v);
	return rc;
}

static int ylist(const struct yp *y, yaml_node_t *n, const char *field, struct strv *out)
{
	strv_free(out);
	return ynode_strings(y->doc, y->file, n, field, true, out);
}

/* A mapping of strings as "KEY=VALUE" items. */
static int ykv(const struct yp *y, yaml_node_t *n, const char *field, struct strv *out)
{
	yaml_node_t *kn, *vn;
	int rc;
	if ((rc = ymap(y, n, field)) < 0)
		return rc;
	strv_free(out);
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = ynode_scalar(kn), *v = ynode_scalar(vn);
		if (!k || !v)
			return yerr(y, vn, "%s: expected KEY: VALUE strings", field);
		if (strchr(k, '=') || strchr(k, ',') || strchr(v, ','))
			return yerr(y, kn, "%s: \"%s\": a key holds '=' or ',', or its value ','", field, k);
		char *kv = xasprintf("%s=%s", k, v);
		strv_push(out, kv);
		free(kv);
	}
	return 0;
}

static int ycron(const struct yp *y, yaml_node_t *n, const char *field, const char *tz, char **text,
		 struct cron **c)
{
	int rc;
	if ((rc = ystr(y, n, field, text)) < 0)
		return rc;
	cron_free(*c);
	*c = NULL;
	if ((rc = cron_parse(*text, tz, c)) < 0)
		return ywrap(y, n, field, rc);
	return 0;
}

/* Duration, checked. */
static int ydur(const struct yp *y, yaml_node_t *n, const char *field, char **out)
{
	int64_t s;
	int rc;
	if ((rc = ystr(y, n, field, out)) < 0)
		return rc;
	if ((rc = duration_parse(*out, field, &s)) < 0)
		return ywrap(y, n, field, rc);
	return 0;
}

static int unknown(const struct yp *y, const yaml_node_t *kn, const char *where, const char *known)
{
	const char *k = ynode_scalar(kn);
	return yerr(y, kn, "%sunknown field \"%s\" (known: %s)", where, k ? k : "?", known);
}

static const char *const retention_fields = "keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly, ttl";

static int yretention(const struct yp *y, yaml_node_t *n, struct backup_plan *p)
{
	yaml_node_t *kn, *vn;
	int rc = ymap(y, n, "spec.retention");
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = ynode_scalar(kn) ? ynode_scalar(kn) : "";
		long *dst = !strcmp(k, "keepLast") ? &p->keep.last : !strcmp(k, "keepHourly") ? &p->keep.hourly :
			    !strcmp(k, "keepDaily") ? &p->keep.daily : !strcmp(k, "keepWeekly") ? &p->keep.weekly :
			    !strcmp(k, "keepMonthly") ? &p->keep.monthly : !strcmp(k, "keepYearly") ? &p->keep.yearly : NULL;
		char field[64];
		snprintf(field, sizeof field, "spec.retention.%s", k);
		if (dst)
			rc = ylong(y, vn, field, 0, 100000, dst);
		else if (!strcmp(k, "ttl"))
			rc = ydur(y, vn, field, &p->ttl);
		else
			rc = unknown(y, kn, "spec.retention: ", retention_fields);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int ycadence(const struct yp *y, yaml_node_t *n, struct backup_plan *p, yaml_node_t **full_node)
{
	yaml_node_t *kn, *vn;
	int rc = ymap(y, n, "spec.cadence"), have_type = 0;
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = ynode_scalar(kn) ? ynode_scalar(kn) : "";
		if (!strcmp(k, "type")) {
			const char *t = ynode_scalar(vn);
			if (t && !strcmp(t, "full"))
				p->cadence = PLAN_CADENCE_FULL;
			else if (t && !strcmp(t, "incremental"))
				p->cadence = PLAN_CADENCE_INCREMENTAL;
			else if (t && !strcmp(t, "differential"))
				p->cadence = PLAN_CADENCE_DIFFERENTIAL;
			else
				return yerr(y, vn, "spec.cadence.type: expected full, incremental or differential");
			have_type = 1;
		} else if (!strcmp(k, "full")) {
			*full_node = vn;   /* parsed once the time zone is known */
		} else {
			return unknown(y, kn, "spec.cadence: ", "type, full");
		}
	}
	if (*full_node && !have_type)
		p->cadence = PLAN_CADENCE_INCREMENTAL;
	if (*full_node && p->cadence == PLAN_CADENCE_FULL)
		return yerr(y, *full_node, "spec.cadence.full: a full schedule means nothing when every "
			    "backup is full (type: full)");
	return rc;
}

static const char *const helper_fields = "image, resources, nodeSelector, tolerations";

static int yhelper(const struct yp *y, yaml_node_t *n, struct backup_plan *p)
{
	yaml_node_t *kn, *vn;
	int rc = ymap(y, n, "spec.volumes.helper");
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = ynode_scalar(kn) ? ynode_scalar(kn) : "";
		if (!strcmp(k, "image"))
			rc = ystr(y, vn, "spec.volumes.helper.image", &p->helper_image);
		else if (!strcmp(k, "resources")) {
			/* {cpu: Q, memory: Q} or "cpu=Q,memory=Q" */
			if (vn->type == YAML_MAPPING_NODE) {
				struct strv kv = STRV_INIT;
				if ((rc = ykv(y, vn, "spec.volumes.helper.resources", &kv)) == 0) {
					free(p->helper_resources);
					p->helper_resources = strv_join(&kv, ",");
				}
				strv_free(&kv);
			} else {
				rc = ystr(y, vn, "spec.volumes.helper.resources", &p->helper_resources);
			}
		} else if (!strcmp(k, "nodeSelector"))
			rc = ykv(y, vn, "spec.volumes.helper.nodeSelector", &p->node_selector);
		else if (!strcmp(k, "tolerations"))
			rc = ylist(y, vn, "spec.volumes.helper.tolerations", &p->tolerations);
		else
			rc = unknown(y, kn, "spec.volumes.helper: ", helper_fields);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static const char *const mover_fields = "type, perNode, timeout, image, secret, retries";

static int ymover(const struct yp *y, yaml_node_t *n, struct backup_plan *p)
{
	yaml_node_t *kn, *vn;
	long v;
	int rc = ymap(y, n, "spec.volumes.mover");
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = ynode_scalar(kn) ? ynode_scalar(kn) : "";
		if (!strcmp(k, "type")) {
			const char *t = ynode_scalar(vn);
			if (!t || (strcmp(t, "local") && strcmp(t, "cluster")))
				return yerr(y, vn, "spec.volumes.mover.type: expected local or cluster");
			rc = ystr(y, vn, "spec.volumes.mover.type", &p->mover_type);
		} else if (!strcmp(k, "perNode")) {
			if ((rc = ylong(y, vn, "spec.volumes.mover.perNode", 1, 64, &v)) == 0)
				rc = ystr(y, vn, "spec.volumes.mover.perNode", &p->mover_per_node);
		} else if (!strcmp(k, "retries")) {
			if ((rc = ylong(y, vn, "spec.volumes.mover.retries", 0, 10, &v)) == 0)
				rc = ystr(y, vn, "spec.volumes.mover.retries", &p->mover_retries);
		} else if (!strcmp(k, "timeout"))
			rc = ydur(y, vn, "spec.volumes.mover.timeout", &p->mover_timeout);
		else if (!strcmp(k, "image"))
			rc = ystr(y, vn, "spec.volumes.mover.image", &p->mover_image);
		else if (!strcmp(k, "secret"))
			rc = ystr(y, vn, "spec.volumes.mover.secret", &p->mover_secret);
		else
			rc = unknown(y, kn, "spec.volumes.mover: ", mover_fields);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static const char *const volume_fields = "data, policyFile, excludePaths, snapshotMoveData, "
					 "snapshotClass, csiSnapshotTimeout, location, helper, mover";

static int yvolumes(const struct yp *y, yaml_node_t *n, struct backup_plan *p)
{
	yaml_node_t *kn, *vn;
	int rc = ymap(y, n, "spec.volumes");
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = ynode_scalar(kn) ? ynode_scalar(kn) : "";
		if (!strcmp(k, "data")) {
			const char *v = ynode_scalar(vn);
			if (!v || (strcmp(v, "none") && strcmp(v, "fs") && strcmp(v, "csi") && strcmp(v, "auto")))
				return yerr(y, vn, "spec.volumes.data: expected none, fs, csi or auto");
			rc = ystr(y, vn, "spec.volumes.data", &p->volume_data);
		} else if (!strcmp(k, "policyFile"))
			rc = ypath(y, vn, "spec.volumes.policyFile", &p->volume_policy);
		else if (!strcmp(k, "excludePaths"))
			rc = ylist(y, vn, "spec.volumes.excludePaths", &p->exclude_paths);
		else if (!strcmp(k, "snapshotMoveData"))
			rc = ybool(y, vn, "spec.volumes.snapshotMoveData", &p->snapshot_move_data);
		else if (!strcmp(k, "snapshotClass"))
			rc = ystr(y, vn, "spec.volumes.snapshotClass", &p->snapshot_class);
		else if (!strcmp(k, "csiSnapshotTimeout"))
			rc = ydur(y, vn, "spec.volumes.csiSnapshotTimeout", &p->csi_snapshot_timeout);
		else if (!strcmp(k, "location")) {
			if ((rc = ystr(y, vn, "spec.volumes.location", &p->volume_location)) == 0 &&
			    !config_location_name_ok(p->volume_location))
				rc = yerr(y, vn, "spec.volumes.location: \"%s\" is not a location name", p->volume_location);
		} else if (!strcmp(k, "helper"))
			rc = yhelper(y, vn, p);
		else if (!strcmp(k, "mover"))
			rc = ymover(y, vn, p);
		else
			rc = unknown(y, kn, "spec.volumes: ", volume_fields);
		if (rc < 0)
			return rc;
	}
	if (p->volume_location && p->volume_data && !strcmp(p->volume_data, "none"))
		return yerr(y, n, "spec.volumes.location: the plan's backups carry no volume data (data: none)");
	return rc;
}

static const char *const spec_fields =
	"includeNamespaces, excludeNamespaces, includeResources, excludeResources, "
	"includeClusterResources, selector, orSelector, includeNames, excludeNames, labels, "
	"parallel, compressionLevel, pageSize, hooksFile, volumes, location, context, contexts, schedule, "
	"timeZone, cadence, retention";

/* Scope checks: the same functions the flags go through. */
static int yscope_check(const struct yp *y, const yaml_node_t *spec, const struct backup_plan *p)
{
	struct kahu_scope *s = scope_new();
	int rc;
	if ((rc = scope_set_namespaces(s, p->include_namespaces, p->exclude_namespaces)) < 0 ||
	    (rc = scope_set_resources(s, p->include_resources, p->exclude_resources)) < 0 ||
	    (rc = scope_set_cluster_resources(s, p->include_cluster_resources)) < 0 ||
	    (rc = scope_set_selector(s, p->selector)) < 0 ||
	    (rc = scope_set_or_selector(s, p->or_selector)) < 0 ||
	    (rc = scope_set_names(s, p->include_names, p->exclude_names)) < 0)
		rc = ywrap(y, spec, "spec", rc);
	scope_free(s);
	return rc;
}

static int yspec(const struct yp *y, yaml_node_t *spec_key, yaml_node_t *n, struct backup_plan *p)
{
	yaml_node_t *ctx_node = NULL, *ctxs_node = NULL;
	yaml_node_t *kn, *vn, *sched = NULL, *full = NULL, *tz = NULL, *vol_key = NULL, *or_sel = NULL;
	int rc = ymap(y, n, "spec");
	if (rc < 0)
		return rc;
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = ynode_scalar(kn) ? ynode_scalar(kn) : "";
		char field[64];
		snprintf(field, sizeof field, "spec.%s", k);
		if (!strcmp(k, "includeNamespaces"))
			rc = ycsv(y, vn, field, &p->include_namespaces);
		else if (!strcmp(k, "excludeNamespaces"))
			rc = ycsv(y, vn, field, &p->exclude_namespaces);
		else if (!strcmp(k, "includeResources"))
			rc = ycsv(y, vn, field, &p->include_resources);
		else if (!strcmp(k, "excludeResources"))
			rc = ycsv(y, vn, field, &p->exclude_resources);
		else if (!strcmp(k, "includeClusterResources")) {
			const char *v = ynode_scalar(vn);
			if (!v || (strcmp(v, "auto") && strcmp(v, "true") && strcmp(v, "false")))
				return yerr(y, vn, "%s: expected auto, true or false", field);
			rc = ystr(y, vn, field, &p->include_cluster_resources);
		} else if (!strcmp(k, "selector"))
			rc = ystr(y, vn, field, &p->selector);
		else if (!strcmp(k, "orSelector")) {
			or_sel = vn;
			rc = ystr(y, vn, field, &p->or_selector);
		}
		else if (!strcmp(k, "includeNames"))
			rc = ycsv(y, vn, field, &p->include_names);
		else if (!strcmp(k, "excludeNames"))
			rc = ycsv(y, vn, field, &p->exclude_names);
		else if (!strcmp(k, "labels")) {
			if ((rc = ykv(y, vn, field, &p->labels)) == 0) {
				for (size_t i = 0; i < p->labels.n && rc == 0; i++) {
					char *kv = xstrdup(p->labels.v[i]), *eq = strchr(kv, '=');
					const char *why = NULL;
					*eq = '\0';
					if (!strcmp(kv, PLAN_LABEL))
						rc = yerr(y, vn, "%s: %s is the plan's own label, set by kahu", field, PLAN_LABEL);
					else if (!label_key_valid(kv, &why) || !label_value_valid(eq + 1, &why))
						rc = yerr(y, vn, "%s: invalid label \"%s=%s\": %s", field, kv, eq + 1,
							  why ? why : "invalid");
					free(kv);
				}
			}
		} else if (!strcmp(k, "parallel"))
			rc = ylong(y, vn, field, 1, 64, &p->parallel);
		else if (!strcmp(k, "compressionLevel"))
			rc = ylong(y, vn, field, 1, 19, &p->compression_level);
		else if (!strcmp(k, "pageSize"))
			rc = ylong(y, vn, field, 1, 100000, &p->page_size);
		else if (!strcmp(k, "hooksFile"))
			rc = ypath(y, vn, field, &p->hooks_file);
		else if (!strcmp(k, "volumes")) {
			vol_key = kn;
			rc = yvolumes(y, vn, p);
		}
		else if (!strcmp(k, "location")) {
			if ((rc = ystr(y, vn, field, &p->location)) == 0 && !config_location_name_ok(p->location))
				rc = yerr(y, vn, "%s: \"%s\" is not a location name", field, p->location);
		} else if (!strcmp(k, "context")) {
			ctx_node = vn;
			rc = ystr(y, vn, field, &p->context);
		} else if (!strcmp(k, "contexts")) {
			ctxs_node = vn;
			rc = ylist(y, vn, field, &p->contexts);
		} else if (!strcmp(k, "schedule"))
			sched = vn;
		else if (!strcmp(k, "timeZone")) {
			tz = vn;
			rc = ystr(y, vn, field, &p->time_zone);
		} else if (!strcmp(k, "cadence"))
			rc = ycadence(y, vn, p, &full);
		else if (!strcmp(k, "retention"))
			rc = yretention(y, vn, p);
		else
			rc = unknown(y, kn, "spec: ", spec_fields);
		if (rc < 0)
			return rc;
	}
	if (p->selector && p->or_selector)
		return yerr(y, or_sel, "spec.orSelector: give either selector or orSelector, not both");
	if (p->context && p->contexts.n)
		return yerr(y, ctx_node, "spec.context: give either context or contexts, not both");
	for (size_t i = 0; i < p->contexts.n; i++) {
		char *series = NULL;
		if ((rc = plan_series_name(p->name, p->contexts.v[i], &series)) < 0)
			return ywrap(y, ctxs_node, "spec.contexts", rc);
		for (size_t j = 0; j < p->series.n; j++)
			if (!strcmp(p->series.v[j], series)) {
				rc = yerr(y, ctxs_node, "spec.contexts: %s and %s both make the series %s",
					  p->contexts.v[j], p->contexts.v[i], series);
				free(series);
				return rc;
			}
		strv_push_owned(&p->series, series);
	}
	if (tz) {
		/* the zone first, so that its error names its line */
		struct cron *c = NULL;
		if ((rc = cron_parse("@daily", p->time_zone, &c)) < 0)
			return ywrap(y, tz, "spec.timeZone", rc);
		cron_free(c);
	}
	if (sched && (rc = ycron(y, sched, "spec.schedule", p->time_zone, &p->schedule, &p->cron)) < 0)
		return rc;
	if (full && (rc = ycron(y, full, "spec.cadence.full", p->time_zone, &p->full_schedule, &p->full_cron)) < 0)
		return rc;
	if ((rc = yscope_check(y, spec_key, p)) < 0)
		return rc;
	/* the volume flags, all together, as backup create checks them */
	struct backup_args a;
	struct vol_opts vo;
	backup_plan_args(p, &a);
	memset(&vo, 0, sizeof vo);
	if (!p->volume_policy) {   /* the policy file is read by validate and run */
		rc = vol_opts_parse(&a.vol, 0, &vo);
		vol_opts_clear(&vo);
		if (rc < 0)
			return ywrap(y, vol_key ? vol_key : spec_key, "spec.volumes", rc);
	}
	return 0;
}

static int ymetadata(const struct yp *y, yaml_node_t *n, struct backup_plan *p)
{
	yaml_node_t *kn, *vn;
	int rc = ymap(y, n, "metadata");
	YMAP_FOREACH(y, n, kn, vn) {
		const char *k = ynode_scalar(kn) ? ynode_scalar(kn) : "";
		if (!strcmp(k, "name")) {
			if ((rc = ystr(y, vn, "metadata.name", &p->name)) == 0 && (rc = plan_name_check(p->name)) < 0)
				rc = ywrap(y, vn, "metadata.name", rc);
		} else {
			rc = unknown(y, kn, "metadata: ", "name");
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0 && !p->name)
		rc = yerr(y, n, "metadata.name: missing");
	return rc;
}

/* The document as JSON: plain scalars that read as numbers, booleans or null typed,
 * others strings. */
static json_t *to_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	if (!n || depth > 32)
		return json_null();
	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *s = (const char *)n->data.scalar.value;
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			char *end;
			if (!strcmp(s, "true") || !strcmp(s, "false"))
				return json_boolean(!strcmp(s, "true"));
			if (!strcmp(s, "null") || !strcmp(s, "~") || !*s)
				return json_null();
			errno = 0;
			long long v = strtoll(s, &end, 10);
			if (*s && !*end && !errno && (isdigit((unsigned char)*s) || *s == '-'))
				return json_integer(v);
		}
		return json_string(s);
	}
	case YAML_SEQUENCE_NODE: {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
			json_array_append_new(a, to_json(doc, yaml_document_get_node(doc, *it), depth + 1));
		return a;
	}
	case YAML_MAPPING_NODE: {
		json_t *o = json_object();
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
			const char *k = ynode_scalar(yaml_document_get_node(doc, pr->key));
			if (k)
				json_object_set_new(o, k, to_json(doc, yaml_document_get_node(doc, pr->value), depth + 1));
		}
		return o;
	}
	default:
		return json_null();
	}
}

static int yroot(const struct yp *y, yaml_node_t *root, struct backup_plan *p)
{
	yaml_node_t *kn, *vn, *spec = NULL, *meta = NULL, *spec_key = NULL;
	int rc, have_api = 0, have_kind = 0;
	if (root->type != YAML_MAPPING_NODE)
		return yerr(y, root, "a plan: expected a mapping (apiVersion, kind, metadata, spec)");
	YMAP_FOREACH(y, root, kn, vn) {
		const char *k = ynode_scalar(kn) ? ynode_scalar(kn) : "";
		if (!strcmp(k, "apiVersion")) {
			if (!ynode_scalar(vn) || strcmp(ynode_scalar(vn), PLAN_API_VERSION))
				return yerr(y, vn, "apiVersion: expected %s", PLAN_API_VERSION);
			have_api = 1;
		} else if (!strcmp(k, "kind")) {
			if (!ynode_scalar(vn) || strcmp(ynode_scalar(vn), PLAN_KIND))
				return yerr(y, vn, "kind: expected %s", PLAN_KIND);
			have_kind = 1;
		} else if (!strcmp(k, "metadata")) {
			meta = vn;
		} else if (!strcmp(k, "spec")) {
			spec = vn;
			spec_key = kn;
		} else {
			return unknown(y, kn, "", "apiVersion, kind, metadata, spec");
		}
	}
	if (!have_api)
		return yerr(y, root, "apiVersion: missing (%s)", PLAN_API_VERSION);
	if (!have_kind)
		return yerr(y, root, "kind: missing (%s)", PLAN_KIND);
	if (!meta)
		return yerr(y, root, "metadata: missing (metadata.name names the plan)");
	if ((rc = ymetadata(y, meta, p)) < 0)
		return rc;
	if (!spec)
		return yerr(y, root, "spec: missing");
	return yspec(y, spec_key, spec, p);
}

static struct backup_plan *backup_plan_new(const char *origin)
{
	struct backup_plan *p = xcalloc(1, sizeof *p);
	p->origin = xstrdup(origin);
	p->parallel = 4;
	p->compression_level = 3;
	p->page_size = 500;
	p->keep = (struct plan_keep){ -1, -1, -1, -1, -1, -1 };
	return p;
}

int backup_plan_parse(const char *text, size_t len, const char *origin, struct backup_plan **out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	*out = NULL;
	if (!yaml_parser_initialize(&parser))
		return kahu_error_set(KAHU_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = kahu_error_set(KAHU_EUSAGE, "%s:%lu: invalid YAML: %s", origin,
				    (unsigned long)parser.problem_mark.line + 1,
				    parser.problem ? parser.problem : "unreadable");
		yaml_parser_delete(&parser);
		return rc;
	}
	struct yp y = { .doc = &doc, .file = origin };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	struct backup_plan *p = backup_plan_new(origin);
	if (!root) {
		rc = kahu_error_set(KAHU_EUSAGE, "%s:1: the plan is empty", origin);
	} else if ((rc = yroot(&y, root, p)) == 0) {
		/* one document per plan */
		yaml_document_t more;
		if (yaml_parser_load(&parser, &more)) {
			yaml_node_t *r2 = yaml_document_get_root_node(&more);
			if (r2)
				rc = kahu_error_set(KAHU_EUSAGE, "%s:%lu: a second document: one plan per file",
						    origin, (unsigned long)r2->start_mark.line + 1);
			yaml_document_delete(&more);
		}
		if (rc == 0)
			p->doc = to_json(&doc, root, 0);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc < 0) {
		backup_plan_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int backup_plan_load_file(const char *path, struct backup_plan **out)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return kahu_error_set(errno == ENOENT ? KAHU_ENOTFOUND : KAHU_EIO, "plan file %s: %s", path,
				      strerror(errno));
	struct kbuf b = KBUF_INIT;
	char chunk[8192];
	size_t n;
	int rc = 0;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		kbuf_add(&b, chunk, n);
		if (b.len > PLAN_MAX_SIZE) {
			rc = kahu_error_set(KAHU_EUSAGE, "plan file %s: larger than %d bytes", path, PLAN_MAX_SIZE);
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = kahu_error_set(KAHU_EIO, "plan file %s: %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	if (rc == 0)
		rc = backup_plan_parse(kbuf_str(&b), b.len, strcmp(path, "-") ? path : "<stdin>", out);
	kbuf_free(&b);
	return rc;
}

int backup_plan_from_json(const json_t *doc, const char *origin, struct backup_plan **out)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		return kahu_error_set(KAHU_EUSAGE, "%s: not a JSON document", origin);
	int rc = backup_plan_parse(text, strlen(text), origin, out);
	free(text);
	return rc;
}

void backup_plan_free(struct backup_plan *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->origin);
	json_decref(p->doc);
	char **strs[] = { &p->include_namespaces, &p->exclude_namespaces, &p->include_resources,
			  &p->exclude_resources, &p->include_cluster_resources, &p->selector, &p->or_selector,
			  &p->include_names, &p->exclude_names, &p->hooks_file, &p->volume_data,
			  &p->volume_policy, &p->snapshot_class, &p->csi_snapshot_timeout,
			  &p->snapshot_move_data, &p->helper_image, &p->helper_resources, &p->volume_location,
			  &p->mover_type, &p->mover_per_node, &p->mover_timeout, &p->mover_image,
			  &p->mover_secret, &p->mover_retries,
			  &p->location, &p->context, &p->schedule, &p->time_zone, &p->full_schedule, &p->ttl };
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
		free(*strs[i]);
	strv_free(&p->labels);
	strv_free(&p->contexts);
	strv_free(&p->series);
	strv_free(&p->exclude_paths);
	strv_free(&p->node_selector);
	strv_free(&p->tolerations);
	cron_free(p->cron);
	cron_free(p->full_cron);
	free(p);
}

int plan_series_name(const char *plan, const char *context, char **out)
{
	struct kbuf b = KBUF_INIT;
	int rc;
	*out = NULL;
	kbuf_adds(&b, plan);
	kbuf_addc(&b, '-');
	size_t start = b.len;
	for (const char *c = context; *c; c++) {
		char ch = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			ch = '-';
		if (ch == '-' && (b.len == start || b.data[b.len - 1] == '-'))
			continue;
		kbuf_addc(&b, ch);
	}
	while (b.len > start && b.data[b.len - 1] == '-')
		b.data[--b.len] = '\0';
	if (b.len == start) {
		kbuf_free(&b);
		return kahu_error_set(KAHU_EUSAGE, "context \"%s\": nothing of it can name a series "
				      "(letters and digits)", context);
	}
	if ((rc = plan_name_check(kbuf_str(&b))) < 0) {
		kahu_error_wrap(rc, "context \"%s\": the series %s", context, kbuf_str(&b));
		kbuf_free(&b);
		return rc;
	}
	*out = kbuf_detach(&b);
	return 0;
}

int backup_plan_series(const struct backup_plan *p, size_t i, struct backup_plan *out)
{
	if (i >= p->contexts.n)
		return kahu_error_set(KAHU_EINTERNAL, "plan %s has no series %zu", p->name, i);
	*out = *p;
	out->name = p->series.v[i];
	out->context = p->contexts.v[i];
	memset(&out->contexts, 0, sizeof out->contexts);
	memset(&out->series, 0, sizeof out->series);
	return 0;
}

int plan_name_check(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (!n)
		return kahu_error_set(KAHU_EUSAGE, "a plan name must not be empty");
	if (n > PLAN_NAME_MAX)
		return kahu_error_set(KAHU_EUSAGE, "plan name \"%.40s…\" is too long (%zu characters, at most %d: "
				      "its backups are named NAME-YYYYMMDD-HHMMSS)", name, n, PLAN_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return kahu_error_set(KAHU_EUSAGE, "invalid plan name \"%s\": character %zu is not a "
					      "lowercase letter, digit or '-'", name, i + 1);
	}
	if (name[0] == '-' || name[n - 1] == '-')
		return kahu_error_set(KAHU_EUSAGE, "invalid plan name \"%s\": it must start and end with a "
				      "letter or digit", name);
	return 0;
}

void backup_plan_args(const struct backup_plan *p, struct backup_args *a)
{
	memset(a, 0, sizeof *a);
	a->include_namespaces = p->include_namespaces;
	a->exclude_namespaces = p->exclude_namespaces;
	a->include_resources = p->include_resources;
	a->exclude_resources = p->exclude_resources;
	a->include_cluster_resources = p->include_cluster_resources;
	a->selector = p->selector;
	a->or_selector = p->or_selector;
	a->include_names = p->include_names;
	a->exclude_names = p->exclude_names;
	a->ttl = p->ttl;
	a->labels = &p->labels;
	a->kind = BACKUP_FULL;
	a->parallel = p->parallel;
	a->compression_level = p->compression_level;
	a->page_size = p->page_size;
	a->hooks_file = p->hooks_file;
	a->vol.volume_data = p->volume_data;
	a->vol.volume_policy = p->volume_policy;
	a->vol.helper_image = p->helper_image;
	a->vol.helper_resources = p->helper_resources;
	a->vol.snapshot_class = p->snapshot_class;
	a->vol.csi_snapshot_timeout = p->csi_snapshot_timeout;
	a->vol.snapshot_move_data = p->snapshot_move_data;
	a->vol.exclude_paths = p->exclude_paths.n ? &p->exclude_paths : NULL;
	a->vol.node_selector = p->node_selector.n ? &p->node_selector : NULL;
	a->vol.tolerations = p->tolerations.n ? &p->tolerations : NULL;
	a->vol.data_mover = p->mover_type;
	a->vol.movers_per_node = p->mover_per_node;
	a->vol.mover_timeout = p->mover_timeout;
	a->vol.mover_image = p->mover_image;
	a->vol.mover_secret = p->mover_secret;
	a->vol.mover_retries = p->mover_retries;
	a->volume_location = p->volume_location;
	a->location = p->location;
}

/* ---- a run's decisions ---- */

char *plan_backup_name(const char *plan, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char ts[32];
	gmtime_r(&tt, &tm);
	strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", &tm);
	return xasprintf("%s-%s", plan, ts);
}

int plan_backup_time(const char *plan, const char *backup, int64_t *t)
{
	size_t n = strlen(plan);
	if (strncmp(backup, plan, n) || backup[n] != '-' || strlen(backup + n + 1) != 15)
		return -1;
	const char *s = backup + n + 1;
	for (int i = 0; i < 15; i++)
		if (i == 8 ? s[i] != '-' : !isdigit((unsigned char)s[i]))
			return -1;
	char iso[32];
	snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6, s + 9, s + 11, s + 13);
	return kahu_time_parse(iso, KAHU_TIME_UTC, t) < 0 ? -1 : 0;
}

static void fmt_time(int64_t t, char *buf)
{
	if (kahu_time_format(t, buf) < 0)
		strcpy(buf, "?");
}

int plan_decide(const struct backup_plan *p, const struct plan_past *v, size_t n, int64_t now,
		struct plan_decision *d)
{
	long newest = -1, full = -1;
	memset(d, 0, sizeof *d);
	d->parent = -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i].failed)
			continue;
		if (newest < 0 || v[i].when > v[newest].when ||
		    (v[i].when == v[newest].when && strcmp(v[i].name, v[newest].name) > 0))
			newest = (long)i;
		if (v[i].full && (full < 0 || v[i].when > v[full].when ||
				  (v[i].when == v[full].when && strcmp(v[i].name, v[full].name) > 0)))
			full = (long)i;
	}
	d->kind = BACKUP_FULL;
	if (p->cadence == PLAN_CADENCE_FULL) {
		snprintf(d->why, sizeof d->why, "the plan's backups are all full");
		return 0;
	}
	if (full < 0) {
		snprintf(d->why, sizeof d->why, "the plan has no full backup yet (failed ones do not count)");
		return 0;
	}
	if (p->full_cron) {
		int64_t next;
		int rc = cron_next(p->full_cron, v[full].when, &next);
		if (rc < 0 && rc != KAHU_ENOTFOUND)
			return rc;
		if (rc == 0 && next <= now) {
			char at[KAHU_TIME_LEN + 1];
			fmt_time(next, at);
			snprintf(d->why, sizeof d->why, "the full schedule fired at %s, after the last full backup %s",
				 at, v[full].name);
			return 0;
		}
	}
	if (p->cadence == PLAN_CADENCE_DIFFERENTIAL) {
		d->kind = BACKUP_DIFFERENTIAL;
		d->parent = full;
		snprintf(d->why, sizeof d->why, "differential on the last full backup %s", v[full].name);
	} else {
		d->kind = BACKUP_INCREMENTAL;
		d->parent = newest;
		snprintf(d->why, sizeof d->why, "incremental on the plan's newest backup %s", v[newest].name);
	}
	return 0;
}

int plan_now(int64_t *now, int *fake)
{
	const char *e = getenv(PLAN_ENV_NOW);
	int64_t real = (int64_t)time(NULL), t;
	*fake = 0;
	*now = real;
	if (!e || !*e)
		return 0;
	if (kahu_time_parse(e, KAHU_TIME_UTC, &t) < 0)
		return kahu_error_set(KAHU_EUSAGE, "%s=\"%s\": not an RFC 3339 UTC time "
				      "(2026-01-04T03:00:00Z); it is for tests only", PLAN_ENV_NOW, e);
	if (t > real)
		return kahu_error_set(KAHU_EUSAGE, "%s=%s is later than the real clock: the test clock may "
				      "only be set back, so that it never makes a backup look older than it is",
				      PLAN_ENV_NOW, e);
	log_warn("%s=%s: this run's clock is set back (for tests only)", PLAN_ENV_NOW, e);
	*now = t;
	*fake = 1;
	return 0;
}

const char *plan_cadence_name(enum plan_cadence c)
{
	return c == PLAN_CADENCE_INCREMENTAL ? "incremental" : c == PLAN_CADENCE_DIFFERENTIAL ? "differential" : "full";
}

int backup_plan_next_run(const struct backup_plan *p, int64_t after, int64_t *next)
{
	if (!p->cron || cron_next(p->cron, after, next) < 0) {
		kahu_error_clear();
		return -1;
	}
	return 0;
}

const char *backup_plan_schedule_text(const struct backup_plan *p)
{
	return p->cron ? cron_text(p->cron) : NULL;
}

int backup_plan_has_volumes(const struct backup_plan *p)
{
	return !p->volume_data || strcmp(p->volume_data, "none") != 0;
}

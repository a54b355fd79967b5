/* kahu backup create NAME --contexts a,b,c | --all-contexts: one backup per cluster,
 * NAME-CONTEXT, in parallel (engine/multi.c), and a summary with a line per cluster. */
#include "cmd/backup_multi.h"
#include "cmd/common_opts.h"
#include "engine/multi.h"
#include "engine/scope.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int backup_multi_parse(const struct kahu_invocation *inv, const char *base, struct strv *contexts,
		       struct strv *names, long *parallel)
{
	*parallel = 2;
	/* a command without the flags (plan run makes its backup through backup create's
	 * spec): one cluster */
	if (!inv_has(inv, OPT_CONTEXTS))
		return 0;
	const struct strv *given = inv_list(inv, OPT_CONTEXTS);
	int all = inv_count(inv, OPT_ALL_CONTEXTS) > 0;
	struct strv known = STRV_INIT;
	int rc;

	if (!given->n && !all) {
		if (inv_str(inv, OPT_PARALLEL_CLUSTERS))
			return kahu_error_set(KAHU_EUSAGE, "--parallel-clusters needs --contexts or --all-contexts");
		return 0;
	}
	if (given->n && all)
		return kahu_error_set(KAHU_EUSAGE, "--contexts and --all-contexts exclude each other");
	if (inv_str(inv, OPT_CONTEXT))
		return kahu_error_set(KAHU_EUSAGE, "--context names one cluster; with --%s each backup is "
				      "of its own context", all ? "all-contexts" : "contexts");
	if (inv_str(inv, OPT_PARENT))
		return kahu_error_set(KAHU_EUSAGE, "--parent names the backup of one cluster; with --%s the "
				      "backup of each cluster is based on that cluster's newest backup of the "
				      "same scope", all ? "all-contexts" : "contexts");
	if ((rc = inv_long(inv, OPT_PARALLEL_CLUSTERS, 1, 64, parallel)) < 0)
		return rc;
	struct kube_load_opts o = { .kubeconfig = inv_str(inv, OPT_KUBECONFIG) };
	if ((rc = kube_config_list_contexts(&o, &known)) < 0)
		return rc;
	char *have = known.n ? strv_join(&known, ", ") : xstrdup("none");
	if (all) {
		if (!known.n)
			rc = kahu_error_set(KAHU_EUSAGE, "--all-contexts: the kubeconfig defines no context");
		for (size_t i = 0; i < known.n; i++)
			strv_push(contexts, known.v[i]);
	} else {
		for (size_t i = 0; i < given->n && rc == 0; i++) {
			struct strv part = STRV_INIT;
			strv_split(&part, given->v[i], ',');
			if (!part.n)
				rc = kahu_error_set(KAHU_EUSAGE, "--contexts: an empty list");
			for (size_t j = 0; j < part.n && rc == 0; j++) {
				const char *c = part.v[j];
				if (!*c)
					rc = kahu_error_set(KAHU_EUSAGE, "--contexts %s: an empty context name",
							    given->v[i]);
				else if (!strv_contains(&known, c))
					rc = kahu_error_set(KAHU_EUSAGE, "--contexts: the kubeconfig has no context "
							    "\"%s\" (its contexts: %s)", c, have);
				else if (strv_contains(contexts, c))
					rc = kahu_error_set(KAHU_EUSAGE, "--contexts: context \"%s\" is named twice", c);
				else
					strv_push(contexts, c);
			}
			strv_free(&part);
		}
	}
	for (size_t i = 0; i < contexts->n && rc == 0; i++) {
		char *name = NULL;
		if ((rc = multi_backup_name(base, contexts->v[i], &name)) < 0)
			break;
		for (size_t j = 0; j < names->n; j++)
			if (strcmp(names->v[j], name) == 0) {
				rc = kahu_error_set(KAHU_EUSAGE, "contexts \"%s\" and \"%s\" both make the backup "
						    "name %s; back them up in separate runs", contexts->v[j],
						    contexts->v[i], name);
				break;
			}
		strv_push_owned(names, name);
	}
	free(have);
	strv_free(&known);
	if (rc < 0) {
		strv_free(contexts);
		strv_free(names);
	}
	return rc;
}

/* Each context's kubeconfig and client, as the global flags say (ctx_kube_client's). */
static int load_cluster(const struct kahu_invocation *inv, const char *context, struct kube_config **cfg,
			struct kube_client **kc)
{
	struct kube_load_opts o = {
		.kubeconfig = inv_str(inv, OPT_KUBECONFIG),
		.context = context,
		.namespace = inv_str(inv, OPT_NAMESPACE),
	};
	struct kube_client_opts co = { .max_requests = 8, .max_tries = 10 };
	long timeout = 60, maxreq = 8;
	int rc;
	if ((rc = inv_long(inv, OPT_REQUEST_TIMEOUT, 1, 86400, &timeout)) < 0 ||
	    (rc = inv_long(inv, OPT_MAX_REQUESTS, 1, 256, &maxreq)) < 0 ||
	    (rc = kube_config_load(&o, cfg)) < 0)
		return kahu_error_wrap(rc, "context %s", context);
	if (inv_count(inv, OPT_INSECURE_SKIP_TLS_VERIFY))
		(*cfg)->insecure_skip_tls_verify = 1;
	co.timeout_ms = timeout * 1000;
	co.max_requests = (int)maxreq;
	if ((rc = kube_client_new(*cfg, &co, kc)) < 0)
		return kahu_error_wrap(rc, "context %s", context);
	return 0;
}

static const char *overall_status(int rc)
{
	return rc == 0 ? "Completed" : rc == KAHU_EPARTIAL ? "PartiallyFailed" :
	       rc == KAHU_EINTR ? "Interrupted" : "Failed";
}

static void print_summary(struct kahu_ctx *ctx, const char *base, struct multi_backup *runs, size_t n,
			  int rc)
{
	if (ctx->out == OUT_NAME) {
		for (size_t i = 0; i < n; i++)
			if (runs[i].res.have_outcome)
				printf("backup/%s\n", runs[i].rs.name);
		return;
	}
	if (ctx->out == OUT_JSON || ctx->out == OUT_YAML) {
		json_t *list = json_array();
		for (size_t i = 0; i < n; i++) {
			const struct multi_backup *m = &runs[i];
			const struct backup_outcome *o = m->res.have_outcome ? &m->res.out : NULL;
			json_t *j = json_pack("{s:s, s:s, s:s?, s:s, s:I, s:I, s:I, s:I}", "context",
					      m->context, "backup", m->rs.name, "server", m->rs.server,
					      "status", m->status, "items", (json_int_t)(o ? o->items : 0),
					      "storedBytes", (json_int_t)(o ? o->stored_bytes : 0),
					      "volumeBytes", (json_int_t)m->volume_bytes,
					      "durationMs", (json_int_t)m->duration_ms);
			if (m->error)
				json_object_set_new(j, "error", json_string(m->error));
			if (m->res.parent)
				json_object_set_new(j, "parent", json_string(m->res.parent));
			json_array_append_new(list, j);
		}
		json_t *doc = json_pack("{s:s, s:s, s:b, s:o}", "name", base, "status", overall_status(rc),
					"dryRun", n && runs[0].rs.dry_run, "clusters", list);
		ctx->out == OUT_JSON ? out_json(stdout, doc) : out_yaml(stdout, doc);
		json_decref(doc);
		return;
	}
	static const char *const hdr[] = { "CONTEXT", "BACKUP", "STATUS", "ITEMS", "STORED", "VOLUME DATA",
					   "DURATION", "ERROR" };
	struct out_table *t = out_table_new(8, hdr);
	size_t completed = 0;
	for (size_t i = 0; i < n; i++) {
		const struct multi_backup *m = &runs[i];
		const struct backup_outcome *o = m->res.have_outcome ? &m->res.out : NULL;
		char items[32], stored[32], vol[32], dur[32];
		snprintf(items, sizeof items, "%ld", o ? o->items : 0L);
		out_human_bytes(o ? o->stored_bytes : 0, stored, sizeof stored);
		out_human_bytes(m->volume_bytes, vol, sizeof vol);
		if (m->started)
			snprintf(dur, sizeof dur, "%.1fs", (double)m->duration_ms / 1000.0);
		else
			snprintf(dur, sizeof dur, "-");
		const char *row[] = { m->context, m->rs.name, m->status, items, stored, vol, dur,
				      m->error ? m->error : "" };
		out_table_row(t, row);
		completed += m->started && m->rc == 0;
	}
	out_table_print(t, stdout);
	out_table_free(t);
	if (n && runs[0].rs.dry_run)
		printf("\nDry run: %zu clusters planned; nothing was written.\n", completed);
	else
		printf("\n%zu of %zu cluster backups completed.\n", completed, n);
}

int backup_multi_run(struct kahu_ctx *ctx, const struct backup_run_spec *base,
		     const struct strv *contexts, const struct strv *names, long parallel)
{
	size_t n = contexts->n;
	struct multi_backup *runs = xcalloc(n, sizeof *runs);
	struct kube_config **cfg = xcalloc(n, sizeof *cfg);
	struct kube_client **kc = xcalloc(n, sizeof *kc);
	int rc = 0;

	/* Every cluster's configuration first: a broken one stops the run before anything
	 * is written. */
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct multi_backup *m = &runs[i];
		m->context = contexts->v[i];
		m->rs = *base;
		m->rs.name = names->v[i];
		m->rs.scope = NULL;
		m->rs.labels = base->labels ? json_deep_copy(base->labels) : NULL;
		m->rs.phase = NULL;        /* one progress line cannot show several runs: */
		m->rs.progress = NULL;     /* each run's log lines say where it is */
		m->rs.vol_progress = NULL;
		m->rs.ud = NULL;
		/* The scope is resolved against each cluster: one of its own each. */
		if ((rc = scope_from_flags(ctx->inv, &m->rs.scope)) < 0 ||
		    (rc = load_cluster(ctx->inv, m->context, &cfg[i], &kc[i])) < 0)
			break;
		m->rs.kc = kc[i];
		m->rs.server = cfg[i]->server;
		m->rs.context = cfg[i]->context_name;
	}
	if (rc == 0) {
		char *purpose = xasprintf("backup create %s (%zu clusters)", base->name, n);
		rc = backup_run_multi(runs, n, (int)parallel, base->repo, purpose);
		free(purpose);
		int any = 0;
		for (size_t i = 0; i < n; i++)
			any |= runs[i].started;
		if (any)
			print_summary(ctx, base->name, runs, n, rc);
		if (rc == KAHU_EPARTIAL)   /* main prints the others */
			log_error("%s", kahu_error_last());
	}
	for (size_t i = 0; i < n; i++) {
		scope_free(runs[i].rs.scope);
		json_decref(runs[i].rs.labels);
		multi_backup_clear(&runs[i]);
		kube_client_free(kc[i]);
		kube_config_free(cfg[i]);
	}
	free(runs);
	free(cfg);
	free(kc);
	return rc;
}

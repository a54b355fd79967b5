/* kahu cluster check: can kahu work with this cluster?  Reachability, TLS, who we are,
 * what the server serves, and whether each type that can be backed up may be listed. */
#include "cmd/ctx.h"
#include "engine/collect.h"
#include "engine/scope.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "kube/kubeconfig.h"
#include "kube/resource.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/cancel.h"
#include "util/mem.h"
#include "util/pool.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct list_check {
	struct kube_client *kc;
	const char *ns;
	const struct kube_resource **types;
	char **result;     /* "ok", "forbidden", or "error: …" per type */
	size_t n;
};

/* One pool job: may type i be listed?  The answer is the job's result, never a
 * failure of the pool. */
static int list_job(void *ud, size_t i)
{
	struct list_check *lc = ud;
	const struct kube_resource *r = lc->types[i];
	struct kbuf path = KBUF_INIT;
	struct kube_response resp = { 0 };
	char *p = kube_resource_path(r, r->namespaced ? lc->ns : NULL, NULL);
	kbuf_adds(&path, p);
	kube_query_add(&path, "limit", "1");
	int rc = kube_request(lc->kc, "GET", path.data, NULL, NULL, NULL, 0, 0, &resp);
	if (rc == 0)
		lc->result[i] = xstrdup("ok");
	else if (rc == KAHU_EFORBIDDEN)
		lc->result[i] = xstrdup("forbidden");
	else
		lc->result[i] = xasprintf("error: %s", kahu_error_last());
	kube_response_clear(&resp);
	kbuf_free(&path);
	free(p);
	return 0;
}

/* SelfSubjectReview (authentication.k8s.io/v1, Kubernetes 1.28+): who are we? */
static json_t *whoami(struct kube_client *kc)
{
	static const char body[] =
		"{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SelfSubjectReview\"}";
	struct kube_response resp = { 0 };
	json_t *user = NULL;
	if (kube_request(kc, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", NULL,
			 "application/json", body, sizeof body - 1, KUBE_REQ_IDEMPOTENT, &resp) == 0) {
		json_t *doc = json_loadb(resp.body.data, resp.body.len, 0, NULL);
		json_t *ui = json_object_get(json_object_get(doc, "status"), "userInfo");
		if (json_is_object(ui))
			user = json_incref(ui);
		json_decref(doc);
	} else {
		log_info("SelfSubjectReview not available: %s", kahu_error_last());
	}
	kube_response_clear(&resp);
	return user;
}

static char *resource_name(const struct kube_resource *r)
{
	return kube_group_resource(r);
}

static void print_table(json_t *rep, int nlistable, int ntypes)
{
	json_t *user = json_object_get(rep, "user");
	json_t *disc = json_object_get(rep, "discovery");
	printf("Server:       %s (Kubernetes %s)\n", json_string_value(json_object_get(rep, "server")),
	       json_string_value(json_object_get(rep, "serverVersion")));
	printf("Context:      %s\n", json_string_value(json_object_get(rep, "context")));
	if (json_is_object(user)) {
		printf("User:         %s", json_string_value(json_object_get(user, "username")));
		json_t *groups = json_object_get(user, "groups");
		if (json_array_size(groups)) {
			size_t i;
			json_t *g;
			printf(" (groups:");
			json_array_foreach(groups, i, g)
				printf("%s %s", i ? "," : "", json_string_value(g));
			printf(")");
		}
		printf("\n");
	} else {
		printf("User:         (the server cannot tell: no SelfSubjectReview)\n");
	}
	printf("Discovery:    %s, %d groups, %d resource types, %d can be backed up\n",
	       json_is_true(json_object_get(disc, "aggregated")) ? "aggregated" : "legacy",
	       (int)json_integer_value(json_object_get(disc, "groups")),
	       (int)json_integer_value(json_object_get(disc, "resourceTypes")), ntypes);
	json_t *failed = json_object_get(disc, "failedGroups");
	size_t i;
	json_t *f;
	json_array_foreach(failed, i, f)
		printf("Unavailable:  %s: %s\n", json_string_value(json_object_get(f, "groupVersion")),
		       json_string_value(json_object_get(f, "message")));
	printf("Permissions:  %d of %d types can be listed%s%s\n", nlistable, ntypes,
	       json_is_string(json_object_get(rep, "namespace")) ? " in namespace " : "",
	       json_is_string(json_object_get(rep, "namespace")) ?
	       json_string_value(json_object_get(rep, "namespace")) : "");
	json_t *types = json_object_get(rep, "types");
	json_array_foreach(types, i, f) {
		const char *st = json_string_value(json_object_get(f, "list"));
		if (strcmp(st, "ok") != 0)
			printf("  %-44s %s\n", json_string_value(json_object_get(f, "resource")), st);
	}
}

/* CMD_CLUSTER */
static int run_cluster_check(struct kahu_ctx *ctx)
{
	struct kube_config *cfg = ctx->kcfg;
	struct kube_client *kc = ctx->kc;
	struct kube_discovery *d = NULL;
	struct list_check lc = { 0 };
	struct kahu_scope *scope = NULL;
	struct plan plan = { 0 };
	json_t *rep = NULL;
	int rc, nlistable = 0;

	if ((rc = kube_discover(kc, &d)) < 0)
		return kahu_error_wrap(rc, "cannot use the cluster at %s", cfg->server);

	rep = json_object();
	json_object_set_new(rep, "server", json_string(cfg->server));
	json_object_set_new(rep, "serverVersion", json_string(d->server_version ? d->server_version : "unknown"));
	json_object_set_new(rep, "context", json_string(cfg->context_name ? cfg->context_name : ""));
	if (inv_str(ctx->inv, OPT_NAMESPACE))
		json_object_set_new(rep, "namespace", json_string(cfg->namespace));
	json_t *user = whoami(kc);
	json_object_set_new(rep, "user", user ? user : json_null());

	/* The types a backup of everything would list: the same plan. */
	struct strv groups = STRV_INIT;
	for (size_t i = 0; i < d->n; i++)
		if (!strv_contains(&groups, d->res[i].group))
			strv_push(&groups, d->res[i].group);
	scope = scope_new();
	if ((rc = scope_resolve(scope, d, NULL)) < 0 || (rc = plan_build(d, scope, &plan)) < 0) {
		strv_free(&groups);
		goto out;
	}
	lc.types = xcalloc(plan.n + 1, sizeof *lc.types);
	for (size_t i = 0; i < plan.n; i++)
		lc.types[lc.n++] = plan.types[i].res;
	json_t *failed = json_array();
	for (size_t i = 0; i < d->nfailed; i++) {
		json_array_append_new(failed, json_pack("{s:s, s:s}", "groupVersion", d->failed[i].group_version,
							"message", d->failed[i].message));
	}
	json_object_set_new(rep, "discovery",
			    json_pack("{s:b, s:i, s:i, s:i, s:o}", "aggregated", d->aggregated,
				      "groups", (int)groups.n, "resourceTypes", (int)d->n,
				      "backupTypes", (int)lc.n, "failedGroups", failed));
	strv_free(&groups);

	/* Can we list each type?  One LIST with limit=1 per type, a few at a time. */
	lc.kc = kc;
	lc.ns = inv_str(ctx->inv, OPT_NAMESPACE) ? cfg->namespace : NULL;
	lc.result = xcalloc(lc.n + 1, sizeof *lc.result);
	long maxreq = 8;
	inv_long(ctx->inv, OPT_MAX_REQUESTS, 1, 256, &maxreq);
	/* The jobs never fail: the pool stops early only when the run is cancelled. */
	kahu_pool_run(lc.n, (unsigned)maxreq, 0, list_job, &lc);
	if (kahu_cancelled()) {
		rc = kahu_error_set(KAHU_EINTR, "interrupted");
		goto out;
	}

	json_t *types = json_array();
	for (size_t i = 0; i < lc.n; i++) {
		char *name = resource_name(lc.types[i]);
		char *av = kube_api_version(lc.types[i]);
		json_array_append_new(types, json_pack("{s:s, s:s, s:s, s:b, s:s}", "resource", name,
						       "apiVersion", av, "kind", lc.types[i]->kind,
						       "namespaced", lc.types[i]->namespaced,
						       "list", lc.result[i]));
		if (strcmp(lc.result[i], "ok") == 0)
			nlistable++;
		else
			log_info("cannot list %s: %s", name, lc.result[i]);
		free(name);
		free(av);
	}
	json_object_set_new(rep, "types", types);
	json_object_set_new(rep, "listable", json_integer(nlistable));

	if (ctx->out == OUT_JSON)
		rc = out_json(stdout, rep);
	else if (ctx->out == OUT_YAML)
		rc = out_yaml(stdout, rep);
	else
		print_table(rep, nlistable, (int)lc.n);
	if (rc == 0 && nlistable < (int)lc.n)
		log_warn("%d of %zu types cannot be listed: backups will be PartiallyFailed unless they are excluded",
			 (int)lc.n - nlistable, lc.n);
out:
	for (size_t i = 0; i < lc.n; i++)
		free(lc.result[i]);
	free(lc.result);
	free(lc.types);
	json_decref(rep);
	plan_free(&plan);
	scope_free(scope);
	kube_discovery_free(d);
	return rc;
}

const struct kahu_cmd cmd_cluster_entry = {
	.name = "cluster",
	.summary = "Check the cluster kahu talks to",
	.flags = CMD_NOUN,
};

const struct kahu_cmd cmd_cluster_check_entry = {
	.name = "cluster check",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "Check reachability, TLS, authentication, discovery and list permission per type",
	.outputs = "table json yaml",
	.run = run_cluster_check,
	.flags = CMD_CLUSTER,
};

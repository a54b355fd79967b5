#include "cmd/ctx.h"
#include "cmd/common_opts.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "util/err.h"
#include "util/mem.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

int ctx_kube_config(struct kahu_ctx *ctx, struct kube_config **out)
{
	if (!ctx->kcfg) {
		struct kube_load_opts o = {
			.kubeconfig = inv_str(ctx->inv, OPT_KUBECONFIG),
			.context = inv_str(ctx->inv, OPT_CONTEXT) ? inv_str(ctx->inv, OPT_CONTEXT) : ctx->context,
			.namespace = inv_str(ctx->inv, OPT_NAMESPACE),
		};
		int rc = kube_config_load(&o, &ctx->kcfg);
		if (rc < 0)
			return rc;
		if (inv_count(ctx->inv, OPT_INSECURE_SKIP_TLS_VERIFY))
			ctx->kcfg->insecure_skip_tls_verify = 1;
	}
	*out = ctx->kcfg;
	return 0;
}

int ctx_kube_client(struct kahu_ctx *ctx, struct kube_client **out)
{
	if (!ctx->kc) {
		struct kube_config *cfg;
		struct kube_client_opts o = { .max_requests = 8, .max_tries = 10 };
		long timeout = 60, maxreq = 8;
		int rc;
		if ((rc = inv_long(ctx->inv, OPT_REQUEST_TIMEOUT, 1, 86400, &timeout)) < 0 ||
		    (rc = inv_long(ctx->inv, OPT_MAX_REQUESTS, 1, 256, &maxreq)) < 0 ||
		    (rc = ctx_kube_config(ctx, &cfg)) < 0)
			return rc;
		o.timeout_ms = timeout * 1000;
		o.max_requests = (int)maxreq;
		if ((rc = kube_client_new(cfg, &o, &ctx->kc)) < 0)
			return rc;
	}
	*out = ctx->kc;
	return 0;
}

void ctx_release(struct kahu_ctx *ctx)
{
	kube_client_free(ctx->kc);
	ctx->kc = NULL;
	kube_config_free(ctx->kcfg);
	ctx->kcfg = NULL;
}

int cmd_dispatch(struct kahu_ctx *ctx)
{
	const struct kahu_cmd *c = ctx->inv->cmd;
	unsigned repo_flags = c->flags & (CMD_REPO | CMD_WRITE | CMD_LOCK);
	struct kube_client *kc;
	int rc = 0;

	/* The whole command line first: a usage error comes before anything is opened. */
	if (c->parse && (rc = c->parse(ctx, &ctx->spec)) < 0)
		goto out;
	if (repo_flags && (rc = cmd_run_repo(ctx, &ctx->rr)) < 0)
		goto out;
	if ((c->flags & CMD_CLUSTER) && (rc = ctx_kube_client(ctx, &kc)) < 0)
		goto out;
	if (repo_flags && (rc = run_open_repo(&ctx->rr, 0, &ctx->repo)) < 0)
		goto out;
	if ((c->flags & CMD_WRITE) &&
	    ((rc = repo_check_writable(ctx->repo)) < 0 ||
	     (rc = config_check_provider_active(repo_config(ctx->repo),
						repo_location(ctx->repo))) < 0))
		goto out;
	if ((c->flags & CMD_LOCK) && (rc = run_lock(&ctx->rr, ctx->repo, c->name, &ctx->lock)) < 0)
		goto out;
	rc = c->run(ctx);
out:
	if (ctx->lock) {
		int lrc = repo_unlock(ctx->lock);
		if (rc == 0 && lrc < 0)
			rc = lrc;
		ctx->lock = NULL;
	}
	repo_close(ctx->repo);
	ctx->repo = NULL;
	if (ctx->spec && c->spec_free)
		c->spec_free(ctx->spec);
	ctx->spec = NULL;
	return rc;
}

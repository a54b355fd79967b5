/* kahu — a restore's hooks: init containers injected into what is restored, exec hooks
 * in the restored pods at the end of the restore. */
#include "engine/restore_hooks.h"

#include "util/err.h"
#include "util/mem.h"
#include "util/pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The pod template of a restored object: its metadata and spec, or NULL. */
static int pod_template(const char *gr, json_t *obj, json_t **meta, json_t **spec)
{
	json_t *t = NULL;
	if (strcmp(gr, "pods") == 0) {
		*meta = json_object_get(obj, "metadata");
		*spec = json_object_get(obj, "spec");
		return *spec != NULL;
	}
	if (strcmp(gr, "deployments.apps") == 0 || strcmp(gr, "statefulsets.apps") == 0 ||
	    strcmp(gr, "daemonsets.apps") == 0 || strcmp(gr, "replicasets.apps") == 0 ||
	    strcmp(gr, "jobs.batch") == 0)
		t = json_object_get(json_object_get(obj, "spec"), "template");
	else if (strcmp(gr, "cronjobs.batch") == 0)
		t = json_object_get(json_object_get(json_object_get(json_object_get(obj, "spec"), "jobTemplate"),
						    "spec"), "template");
	if (!t)
		return 0;
	*meta = json_object_get(t, "metadata");
	*spec = json_object_get(t, "spec");
	return *spec != NULL;
}

static int has_container(json_t *list, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
		if (json_is_string(json_object_get(c, "name")) &&
		    strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return 1;
	return 0;
}

int restore_hooks_init(const struct hook_set *hs, const char *gr, json_t *obj, char **why)
{
	json_t *meta = NULL, *spec = NULL;
	if (!pod_template(gr, obj, &meta, &spec))
		return 0;
	const char *ns = json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
	char *plural = xstrdup(gr), *dot = strchr(plural, '.');
	if (dot)
		*dot = 0;
	/* The template's metadata (labels, annotations); the object's name for messages. */
	json_t *m = json_deep_copy(meta ? meta : json_object());
	if (!json_is_object(m)) {
		json_decref(m);
		m = json_object();
	}
	json_object_set(m, "name", json_object_get(json_object_get(obj, "metadata"), "name"));
	struct hook_init *hooks = NULL;
	size_t n = 0;
	int rc = hook_init_hooks(hs, plural, ns, m, &hooks, &n);
	json_decref(m);
	free(plural);
	if (rc < 0) {
		*why = xstrdup(kahu_error_last());
		return rc;
	}
	json_t *inits = json_object_get(spec, "initContainers");
	if (n && !json_is_array(inits)) {
		inits = json_array();
		json_object_set_new(spec, "initContainers", inits);
	}
	/* In order, before the pod's own init containers. */
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		if (!has_container(inits, hooks[i].name) && !has_container(json_object_get(spec, "containers"), hooks[i].name)) {
			json_t *c = json_pack("{s:s, s:s}", "name", hooks[i].name, "image", hooks[i].image);
			if (hooks[i].argv.n) {
				json_t *cmd = json_array();
				for (size_t k = 0; k < hooks[i].argv.n; k++)
					json_array_append_new(cmd, json_string(hooks[i].argv.v[k]));
				json_object_set_new(c, "command", cmd);
			}
			json_array_insert_new(inits, at++, c);
		}
		hook_init_clear(&hooks[i]);
	}
	free(hooks);
	return 0;
}

struct rh_pod {
	json_t *pod;
	struct hook_exec *hooks;
	size_t n;
};

struct restore_hooks {
	struct kube_client *kc;
	const struct hook_set *hs;
	int parallel;
	pthread_mutex_t mu;
	struct rh_pod *pods;
	size_t npods;
	struct hook_results results;
};

struct restore_hooks *restore_hooks_new(struct kube_client *kc, const struct hook_set *hs, int parallel)
{
	struct restore_hooks *rh = xcalloc(1, sizeof *rh);
	rh->kc = kc;
	rh->hs = hs;
	rh->parallel = parallel > 0 ? parallel : 1;
	pthread_mutex_init(&rh->mu, NULL);
	hook_results_init(&rh->results);
	return rh;
}

int restore_hooks_add_pod(struct restore_hooks *rh, json_t *pod, char **why)
{
	struct rh_pod p = { 0 };
	int rc = hook_pod_hooks(rh->hs, pod, HOOK_RESTORE_POST, &p.hooks, &p.n);
	if (rc < 0) {
		*why = xstrdup(kahu_error_last());
		return rc;
	}
	if (!p.n)
		return 0;
	p.pod = hook_pod_trim(pod); /* kept to the end of the restore: only what hooks need */
	pthread_mutex_lock(&rh->mu);
	rh->pods = xrealloc(rh->pods, (rh->npods + 1) * sizeof *rh->pods);
	rh->pods[rh->npods++] = p;
	pthread_mutex_unlock(&rh->mu);
	return 0;
}

static int rh_job(void *ud, size_t i)
{
	struct restore_hooks *rh = ud;
	return hook_run_pod(rh->kc, rh->pods[i].pod, rh->pods[i].hooks, rh->pods[i].n, HOOK_RESTORE_POST,
			    &rh->results);
}

int restore_hooks_run(struct restore_hooks *rh)
{
	if (!rh || !rh->npods)
		return 0;
	unsigned threads = (unsigned)(rh->npods < (size_t)rh->parallel ? rh->npods : (size_t)rh->parallel);
	return kahu_pool_run(rh->npods, threads, KAHU_POOL_KEEP_GOING, rh_job, rh);
}

struct hook_results *restore_hooks_results(struct restore_hooks *rh)
{
	return &rh->results;
}

void restore_hooks_free(struct restore_hooks *rh)
{
	if (!rh)
		return;
	for (size_t i = 0; i < rh->npods; i++) {
		for (size_t j = 0; j < rh->pods[i].n; j++)
			hook_exec_clear(&rh->pods[i].hooks[j]);
		free(rh->pods[i].hooks);
		json_decref(rh->pods[i].pod);
	}
	free(rh->pods);
	hook_results_free(&rh->results);
	pthread_mutex_destroy(&rh->mu);
	free(rh);
}

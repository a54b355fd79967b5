/* kahu — API discovery.
 *
 * Aggregated discovery (apidiscovery.k8s.io v2, or v2beta1 on 1.26–1.29) answers with
 * every group, version and resource in two requests.  Servers without it answer the
 * same two requests with the legacy documents, and then every group/version needs its
 * own request; those run on a few threads.  A group/version that fails (a broken
 * APIService: 503, or "Stale" in the aggregated document) is recorded in `failed` and
 * the rest of the cluster is still discovered. */
#include "kube/discovery.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "kube/client.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pool.h"

#define AGGREGATED_ACCEPT                                                      \
	"application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," \
	"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList," \
	"application/json"
#define MAX_DISCOVERY_THREADS 8

struct kube_discovery *kube_discovery_new(void)
{
	return xcalloc(1, sizeof(struct kube_discovery));
}

void kube_discovery_free(struct kube_discovery *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		kube_resource_clear(&d->res[i]);
	free(d->res);
	for (size_t i = 0; i < d->nfailed; i++) {
		free(d->failed[i].group_version);
		free(d->failed[i].message);
	}
	free(d->failed);
	free(d->server_version);
	free(d);
}

static struct kube_resource *add_resource(struct kube_discovery *d)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->res = xrealloc(d->res, d->cap * sizeof *d->res);
	}
	struct kube_resource *r = &d->res[d->n++];
	memset(r, 0, sizeof *r);
	return r;
}

void kube_discovery_add_failure(struct kube_discovery *d, const char *gv, const char *msg)
{
	if (d->nfailed == d->failed_cap) {
		d->failed_cap = d->failed_cap ? d->failed_cap * 2 : 8;
		d->failed = xrealloc(d->failed, d->failed_cap * sizeof *d->failed);
	}
	d->failed[d->nfailed].group_version = xstrdup(gv);
	d->failed[d->nfailed].message = xstrdup(msg ? msg : "");
	d->nfailed++;
}

/* Move everything of `src` to the end of `dst`; `src` is left empty. */
static void discovery_merge(struct kube_discovery *dst, struct kube_discovery *src)
{
	for (size_t i = 0; i < src->n; i++)
		*add_resource(dst) = src->res[i];
	src->n = 0;
	for (size_t i = 0; i < src->nfailed; i++) {
		kube_discovery_add_failure(dst, src->failed[i].group_version, src->failed[i].message);
	}
}

static void push_strings(struct strv *out, json_t *arr)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (s && *s)
			strv_push(out, s);
	}
}

static unsigned parse_verbs(json_t *arr)
{
	unsigned verbs = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		verbs |= kube_verb_from_string(json_string_value(v));
	return verbs;
}

static char *gv_name(const char *group, const char *version)
{
	return group && *group ? xasprintf("%s/%s", group, version) : xstrdup(version);
}

/* One version of an APIGroupDiscovery item. */
/* Group, version and resource names become parts of request paths: only what
 * Kubernetes allows there (lowercase DNS-1123 characters, at most 253, not "." or
 * ".."), so that a hostile server's "../x" or "a/b?c" cannot steer kahu to other paths.
 * `empty_ok`: the core group's name is "". */
static int path_name_ok(const char *s, int empty_ok)
{
	size_t n = s ? strlen(s) : 0;
	if (!s || n > 253 || (n == 0 && !empty_ok) || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

static void parse_aggregated_version(struct kube_discovery *d, const char *group, json_t *ver,
				     int preferred)
{
	const char *version = json_string_value(json_object_get(ver, "version"));
	const char *fresh = json_string_value(json_object_get(ver, "freshness"));
	json_t *resources = json_object_get(ver, "resources");
	size_t i;
	json_t *res;

	if (!version || !*version || !path_name_ok(group, 1) || !path_name_ok(version, 0))
		return;
	if (fresh && strcmp(fresh, "Stale") == 0) {
		/* The aggregator could not refresh this version's discovery (its
		 * APIService is unavailable): what it shows may be out of date, so the
		 * version is reported like a failed legacy group/version. */
		char *gv = gv_name(group, version);
		kube_discovery_add_failure(d, gv, "discovery information is stale "
						  "(the API service behind it is unavailable)");
		free(gv);
		return;
	}
	json_array_foreach(resources, i, res) {
		const char *name = json_string_value(json_object_get(res, "resource"));
		if (!name || !path_name_ok(name, 0))
			continue;
		const char *scope = json_string_value(json_object_get(res, "scope"));
		json_t *rk = json_object_get(res, "responseKind");
		const char *kind = json_string_value(json_object_get(rk, "kind"));
		const char *singular = json_string_value(json_object_get(res, "singularResource"));

		struct kube_resource *r = add_resource(d);
		r->group = xstrdup(group);
		r->version = xstrdup(version);
		r->resource = xstrdup(name);
		r->kind = xstrdup(kind ? kind : "");
		r->singular = xstrdup(singular ? singular : "");
		r->namespaced = scope && strcmp(scope, "Namespaced") == 0;
		r->verbs = parse_verbs(json_object_get(res, "verbs"));
		push_strings(&r->short_names, json_object_get(res, "shortNames"));
		push_strings(&r->categories, json_object_get(res, "categories"));
		r->preferred = preferred;
	}
}

int kube_discovery_parse_aggregated(struct kube_discovery *d, const char *json, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	size_t i, j;
	json_t *item, *ver;

	if (!root)
		return kahu_error_set(KAHU_EPROTO, "aggregated discovery document: invalid JSON: %s "
				      "(line %d)", jerr.text, jerr.line);
	json_t *items = json_object_get(root, "items");
	if (!json_is_array(items)) {
		json_decref(root);
		return kahu_error_set(KAHU_EPROTO, "aggregated discovery document has no items");
	}
	json_array_foreach(items, i, item) {
		const char *group = json_string_value(
			json_object_get(json_object_get(item, "metadata"), "name"));
		if (!group)
			group = ""; /* the core group has no name */
		/* Versions are listed in order of preference: the first is preferred. */
		int first = 1;
		json_array_foreach(json_object_get(item, "versions"), j, ver) {
			const char *fresh = json_string_value(json_object_get(ver, "freshness"));
			int stale = fresh && strcmp(fresh, "Stale") == 0;
			parse_aggregated_version(d, group, ver, first);
			if (!stale)
				first = 0;
		}
	}
	json_decref(root);
	return 0;
}

int kube_discovery_parse_resource_list(struct kube_discovery *d, const char *group,
				       const char *version, int preferred,
				       const char *json, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	size_t i;
	json_t *res;

	if (!root)
		return kahu_error_set(KAHU_EPROTO, "APIResourceList of %s%s%s: invalid JSON: %s",
				      group ? group : "", group && *group ? "/" : "", version,
				      jerr.text);
	json_array_foreach(json_object_get(root, "resources"), i, res) {
		const char *name = json_string_value(json_object_get(res, "name"));
		if (!name || !path_name_ok(name, 0))
			continue; /* subresources: pods/exec, deployments/scale, …; odd names */
		const char *kind = json_string_value(json_object_get(res, "kind"));
		const char *singular = json_string_value(json_object_get(res, "singularName"));

		struct kube_resource *r = add_resource(d);
		r->group = xstrdup(group ? group : "");
		r->version = xstrdup(version);
		r->resource = xstrdup(name);
		r->kind = xstrdup(kind ? kind : "");
		/* Old servers leave singularName empty; kubectl then uses the lowercased
		 * kind, and so do we. */
		if (singular && *singular) {
			r->singular = xstrdup(singular);
		} else {
			r->singular = xstrdup(r->kind);
			for (char *p = r->singular; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
		r->namespaced = json_is_true(json_object_get(res, "namespaced"));
		r->verbs = parse_verbs(json_object_get(res, "verbs"));
		push_strings(&r->short_names, json_object_get(res, "shortNames"));
		push_strings(&r->categories, json_object_get(res, "categories"));
		r->preferred = preferred;
	}
	json_decref(root);
	return 0;
}

int kube_discovery_parse_group_list(const char *json, size_t len, int core,
				    struct strv *gvs, struct strv *preferred)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	size_t i, j;
	json_t *g, *v;

	if (!root)
		return kahu_error_set(KAHU_EPROTO, "%s: invalid JSON: %s", core ? "/api" : "/apis",
				      jerr.text);
	if (core) {
		/* APIVersions: {"versions": ["v1"]}; the first is the preferred one. */
		json_array_foreach(json_object_get(root, "versions"), i, v) {
			const char *ver = json_string_value(v);
			if (!ver || !path_name_ok(ver, 0))
				continue;
			strv_push_owned(gvs, xasprintf("/%s", ver));
			strv_push(preferred, i == 0 ? "1" : "0");
		}
	} else {
		json_array_foreach(json_object_get(root, "groups"), i, g) {
			const char *name = json_string_value(json_object_get(g, "name"));
			const char *pref = json_string_value(json_object_get(
				json_object_get(g, "preferredVersion"), "version"));
			if (!name || !path_name_ok(name, 0))
				continue;
			json_array_foreach(json_object_get(g, "versions"), j, v) {
				const char *ver = json_string_value(json_object_get(v, "version"));
				if (!ver || !path_name_ok(ver, 0))
					continue;
				int is_pref = pref ? strcmp(pref, ver) == 0 : j == 0;
				strv_push_owned(gvs, xasprintf("%s/%s", name, ver));
				strv_push(preferred, is_pref ? "1" : "0");
			}
		}
	}
	json_decref(root);
	return 0;
}

/* ---- talking to the server ---------------------------------------------------------- */

static int is_aggregated(const struct kube_response *resp)
{
	const char *ct = resp->content_type;
	if (ct && strstr(ct, "as=APIGroupDiscoveryList"))
		return 1;
	/* Some proxies rewrite Content-Type; the document says what it is, too. */
	return resp->body.data && strstr(resp->body.data, "\"APIGroupDiscoveryList\"") &&
	       !strstr(resp->body.data, "\"APIGroupList\"") &&
	       !strstr(resp->body.data, "\"APIVersions\"");
}

/* Errors that mean "the cluster cannot be talked to at all", as opposed to one
 * group/version being broken. */
static int is_fatal(int rc)
{
	return rc == KAHU_EUNREACHABLE || rc == KAHU_ETLS || rc == KAHU_EAUTH ||
	       rc == KAHU_EINTR || rc == KAHU_ENOMEM;
}

struct gv_job {
	char *group;
	char *version;
	int preferred;
	struct kube_discovery part;  /* what this group/version yielded */
};

struct gv_pool {
	struct kube_client *c;
	struct gv_job *jobs;
};

/* A job of the pool: a fatal error is returned (the pool carries it to the caller),
 * any other is noted as a failed group/version. */
static int fetch_gv(void *ud, size_t i)
{
	struct gv_pool *p = ud;
	struct kube_client *c = p->c;
	struct gv_job *job = &p->jobs[i];
	struct kube_response resp = { 0 };
	char *path = kube_group_version_path(job->group, job->version);
	char *gv = gv_name(job->group, job->version);
	int rc = kube_request(c, "GET", path, "application/json", NULL, NULL, 0,
			      KUBE_REQ_FEW_TRIES, &resp);

	if (rc == 0)
		rc = kube_discovery_parse_resource_list(&job->part, job->group, job->version,
							job->preferred, resp.body.data, resp.body.len);
	if (rc < 0 && !is_fatal(rc)) {
		kube_discovery_add_failure(&job->part, gv, kahu_error_last());
		rc = 0;
	}
	free(gv);
	free(path);
	kube_response_clear(&resp);
	return rc;
}

/* Fetch every legacy group/version on a few threads, then merge in list order so the
 * result does not depend on timing. */
static int fetch_legacy(struct kube_client *c, struct kube_discovery *d, const struct strv *gvs,
			const struct strv *preferred)
{
	struct gv_pool p = { .c = c };
	int rc;

	if (!gvs->n)
		return 0;
	p.jobs = xcalloc(gvs->n, sizeof *p.jobs);
	for (size_t i = 0; i < gvs->n; i++) {
		const char *slash = strchr(gvs->v[i], '/');
		p.jobs[i].group = xstrndup(gvs->v[i], (size_t)(slash - gvs->v[i]));
		p.jobs[i].version = xstrdup(slash + 1);
		p.jobs[i].preferred = strcmp(preferred->v[i], "1") == 0;
	}

	size_t want = (size_t)kube_client_max_requests(c);
	if (want > MAX_DISCOVERY_THREADS)
		want = MAX_DISCOVERY_THREADS;
	if (want > gvs->n)
		want = gvs->n;
	/* Every group/version is fetched even after a fatal error; of several, the first
	 * in list order is reported. */
	rc = kahu_pool_run(gvs->n, (unsigned)want, KAHU_POOL_KEEP_GOING, fetch_gv, &p);

	for (size_t i = 0; i < gvs->n; i++) {
		struct gv_job *job = &p.jobs[i];
		discovery_merge(d, &job->part);
		for (size_t k = 0; k < job->part.nfailed; k++) {
			free(job->part.failed[k].group_version);
			free(job->part.failed[k].message);
		}
		free(job->part.failed);
		free(job->part.res);
		free(job->group);
		free(job->version);
	}
	free(p.jobs);
	return rc;
}

static int fetch_version(struct kube_client *c, struct kube_discovery *d)
{
	struct kube_response resp = { 0 };
	int rc = kube_request(c, "GET", "/version", "application/json", NULL, NULL, 0, 0, &resp);

	if (rc == 0) {
		json_t *root = json_loadb(resp.body.data, resp.body.len, 0, NULL);
		const char *v = json_string_value(json_object_get(root, "gitVersion"));
		d->server_version = xstrdup(v);
		json_decref(root);
	} else if (!is_fatal(rc)) {
		log_warn("cannot read the server version: %s, ignoring", kahu_error_last());
		rc = 0;
	}
	kube_response_clear(&resp);
	return rc;
}

/* GET /api or /apis; parse an aggregated answer at once, or collect the legacy
 * group/versions to fetch. */
static int fetch_root(struct kube_client *c, struct kube_discovery *d, int core,
		      struct strv *gvs, struct strv *preferred)
{
	struct kube_response resp = { 0 };
	const char *path = core ? "/api" : "/apis";
	int rc = kube_request(c, "GET", path, AGGREGATED_ACCEPT, NULL, NULL, 0, 0, &resp);

	if (rc < 0) {
		kahu_error_wrap(rc, "discovery");
		goto out;
	}
	if (is_aggregated(&resp)) {
		d->aggregated = 1;
		rc = kube_discovery_parse_aggregated(d, resp.body.data, resp.body.len);
	} else {
		rc = kube_discovery_parse_group_list(resp.body.data, resp.body.len, core, gvs,
						     preferred);
	}
	if (rc < 0)
		kahu_error_wrap(rc, "discovery (GET %s)", path);
out:
	kube_response_clear(&resp);
	return rc;
}

int kube_discover(struct kube_client *c, struct kube_discovery **out)
{
	struct kube_discovery *d = kube_discovery_new();
	struct strv gvs = STRV_INIT, preferred = STRV_INIT;
	int rc;

	*out = NULL;
	if ((rc = fetch_version(c, d)) < 0 ||
	    (rc = fetch_root(c, d, 1, &gvs, &preferred)) < 0 ||
	    (rc = fetch_root(c, d, 0, &gvs, &preferred)) < 0 ||
	    (rc = fetch_legacy(c, d, &gvs, &preferred)) < 0)
		goto out;
	for (size_t i = 0; i < d->nfailed; i++)
		log_warn("discovery of %s failed: %s", d->failed[i].group_version,
			 d->failed[i].message);
	log_debug("discovery: %zu resource types (%s), %zu group/versions failed", d->n,
		  d->aggregated ? "aggregated" : "legacy", d->nfailed);
	*out = d;
	d = NULL;
out:
	strv_free(&gvs);
	strv_free(&preferred);
	kube_discovery_free(d);
	return rc;
}

/* ---- resolving names -------------------------------------------------------------- */

/* Lower is better: kubectl's priority puts the core group and apps ahead of others
 * (so "events" is core/v1, not events.k8s.io), then the preferred version. */
static int rank(const struct kube_resource *r)
{
	int g = !r->group[0] ? 0 : strcmp(r->group, "apps") == 0 ? 1 : 2;
	return g * 2 + (r->preferred ? 0 : 1);
}

typedef int (*match_fn)(const struct kube_resource *r, const char *name, const char *group,
			const char *version);

static const struct kube_resource *best(const struct kube_discovery *d, match_fn m,
					const char *name, const char *group, const char *version)
{
	const struct kube_resource *b = NULL;
	for (size_t i = 0; i < d->n; i++) {
		const struct kube_resource *r = &d->res[i];
		if (m(r, name, group, version) && (!b || rank(r) < rank(b)))
			b = r;
	}
	return b;
}

static int eq_group_version(const struct kube_resource *r, const char *group,
			    const char *version)
{
	if (group && strcmp(r->group, group) != 0)
		return 0;
	if (version && strcmp(r->version, version) != 0)
		return 0;
	return 1;
}

static int m_plural(const struct kube_resource *r, const char *n, const char *g, const char *v)
{
	return strcasecmp(r->resource, n) == 0 && eq_group_version(r, g, v);
}

static int m_singular(const struct kube_resource *r, const char *n, const char *g, const char *v)
{
	return r->singular && *r->singular && strcasecmp(r->singular, n) == 0 &&
	       eq_group_version(r, g, v);
}

static int m_kind(const struct kube_resource *r, const char *n, const char *g, const char *v)
{
	return r->kind && *r->kind && strcasecmp(r->kind, n) == 0 && eq_group_version(r, g, v);
}

static int m_short(const struct kube_resource *r, const char *n, const char *g, const char *v)
{
	for (size_t i = 0; i < r->short_names.n; i++)
		if (strcasecmp(r->short_names.v[i], n) == 0)
			return eq_group_version(r, g, v);
	return 0;
}

static const struct kube_resource *find_any(const struct kube_discovery *d, const char *name,
					    const char *group, const char *version)
{
	const struct kube_resource *r;
	if ((r = best(d, m_plural, name, group, version)) ||
	    (r = best(d, m_singular, name, group, version)) ||
	    (r = best(d, m_kind, name, group, version)) ||
	    (r = best(d, m_short, name, group, version)))
		return r;
	return NULL;
}

const struct kube_resource *kube_discovery_find(const struct kube_discovery *d,
						const char *name)
{
	const struct kube_resource *r;

	if (!d || !name || !*name)
		return NULL;
	/* 1. an exact plural, before anything with dots is taken apart */
	if ((r = best(d, m_plural, name, NULL, NULL)))
		return r;
	const char *dot = strchr(name, '.');
	if (dot) {
		char *head = xstrndup(name, (size_t)(dot - name));
		const char *rest = dot + 1;
		/* 2. "plural.version.group" ("deployments.v1.apps") first when the
		 * second part is a version, then "plural.group" ("deployments.apps",
		 * also "deployment.apps" and "Deployment.apps" as kubectl allows). */
		const char *dot2 = strchr(rest, '.');
		r = NULL;
		if (dot2) {
			char *ver = xstrndup(rest, (size_t)(dot2 - rest));
			r = find_any(d, head, dot2 + 1, ver);
			free(ver);
		} else {
			/* "pods.v1": a core version */
			r = find_any(d, head, "", rest);
		}
		if (!r)
			r = find_any(d, head, rest, NULL);
		free(head);
		if (r)
			return r;
	}
	/* 3. singular, Kind (case-insensitive), short name */
	return find_any(d, name, NULL, NULL);
}

/* Optimal string alignment distance (Damerau–Levenshtein with adjacent
 * transpositions), case-insensitive; gives up beyond `limit`. */
static size_t edit_distance(const char *a, const char *b, size_t limit)
{
	size_t la = strlen(a), lb = strlen(b);
	if ((la > lb ? la - lb : lb - la) > limit)
		return limit + 1;
	size_t w = lb + 1;
	size_t *m = xcalloc((la + 1) * w, sizeof *m);
#define M(i, j) m[(i) * w + (j)]
	for (size_t i = 0; i <= la; i++)
		M(i, 0) = i;
	for (size_t j = 0; j <= lb; j++)
		M(0, j) = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			size_t cost = ca != cb;
			size_t v = M(i - 1, j) + 1;
			if (M(i, j - 1) + 1 < v)
				v = M(i, j - 1) + 1;
			if (M(i - 1, j - 1) + cost < v)
				v = M(i - 1, j - 1) + cost;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && M(i - 2, j - 2) + 1 < v)
				v = M(i - 2, j - 2) + 1;
			M(i, j) = v;
		}
	}
	size_t dist = M(la, lb);
#undef M
	free(m);
	return dist;
}

struct suggestion {
	const char *name;
	size_t score;
};

static void consider(struct suggestion **s, size_t *n, size_t *cap, const char *typed,
		     const char *cand, const char *display)
{
	if (!cand || !*cand)
		return;
	size_t dist = edit_distance(typed, cand, 2);
	size_t tl = strlen(typed);
	int prefix = tl >= 3 && strncasecmp(cand, typed, tl) == 0;
	if (dist > 2 && !prefix)
		return;
	size_t score = dist <= 2 ? dist : 3;
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*s)[i].name, display) == 0) {
			if (score < (*s)[i].score)
				(*s)[i].score = score;
			return;
		}
	}
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*s = xrealloc(*s, *cap * sizeof **s);
	}
	(*s)[*n].name = display;
	(*s)[*n].score = score;
	(*n)++;
}

size_t kube_discovery_suggest(const struct kube_discovery *d, const char *name,
			      const char **out, size_t max)
{
	struct suggestion *s = NULL;
	size_t n = 0, cap = 0;

	if (!d || !name || !*name || !max)
		return 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct kube_resource *r = &d->res[i];
		/* Whatever matched, suggest the plural: it is what users type most. */
		consider(&s, &n, &cap, name, r->resource, r->resource);
		consider(&s, &n, &cap, name, r->kind, r->resource);
		consider(&s, &n, &cap, name, r->singular, r->resource);
		for (size_t k = 0; k < r->short_names.n; k++)
			consider(&s, &n, &cap, name, r->short_names.v[k], r->resource);
	}
	/* Stable selection by score: closest first, discovery order among equals. */
	size_t got = 0;
	for (size_t score = 0; score <= 3 && got < max; score++)
		for (size_t i = 0; i < n && got < max; i++)
			if (s[i].score == score)
				out[got++] = s[i].name;
	free(s);
	return got;
}

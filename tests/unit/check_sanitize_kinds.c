/* The per-kind table of restore cleaning (engine/sanitize_kinds.h): its lookups, and
 * each cleaner on real-world manifests of the shared corpus (../shared/corpus, or
 * $KAHU_CORPUS) as a cluster would have stored them.  Each object of the corpus is
 * "decorated" with what an API server sets or allocates (uid, resourceVersion,
 * clusterIP, nodePorts, nodeName, token volumes, a Job's generated selector, bind
 * annotations …); cleaning must give back the manifest as written, with kahu's labels.
 * Where the corpus is absent the corpus cases say so and pass, as in a user's clone. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <yaml.h>

#include "check_main.h"
#include "engine/sanitize.h"
#include "engine/sanitize_kinds.h"
#include "util/mem.h"
#include "util/strv.h"

/* ---- the table ---- */

START_TEST(test_lookup)
{
	const struct sanitize_kind *rows;
	size_t n = sanitize_kind_table(&rows);
	ck_assert_uint_gt(n, 20);
	for (size_t i = 0; i < n; i++) {
		const struct sanitize_kind *k = &rows[i];
		/* each row is found by its type name and by its objects' group and kind */
		ck_assert_ptr_eq(sanitize_kind_by_type(k->gr), k);
		char *av = *k->group ? xasprintf("%s/v1", k->group) : xstrdup("v1");
		json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", av, "kind", k->kind, "metadata", "name", "x");
		ck_assert_msg(sanitize_kind_by_object(o) == k, "%s/%s: not found by its object", k->group, k->kind);
		json_object_set_new(o, "apiVersion", json_string(*k->group ? "v1" : "example.com/v1"));
		ck_assert_msg(sanitize_kind_by_object(o) != k, "%s/%s: found in another group", k->group, k->kind);
		json_decref(o);
		free(av);
		/* the type name is the plural and the group ("services", "jobs.batch") */
		const char *dot = strchr(k->gr, '.');
		ck_assert_msg(*k->group ? dot && strcmp(dot + 1, k->group) == 0 : !dot,
			      "row %s has group \"%s\"", k->gr, k->group);
		/* a row does something */
		ck_assert_msg(k->never || k->skip || k->clean || k->map || k->live, "row %s is empty", k->gr);
		ck_assert_msg(!k->never || !(k->skip || k->clean || k->map || k->live),
			      "row %s is never restored but has hooks", k->gr);
		for (size_t j = 0; j < i; j++) {
			ck_assert_str_ne(rows[j].gr, k->gr);
			ck_assert_msg(strcmp(rows[j].group, k->group) || strcmp(rows[j].kind, k->kind),
				      "%s/%s has two rows", k->group, k->kind);
		}
	}
	ck_assert_ptr_null(sanitize_kind_by_type("deployments.apps"));
	ck_assert_ptr_null(sanitize_kind_by_type("service"));
	ck_assert_ptr_null(sanitize_kind_by_type(""));
	ck_assert_ptr_null(sanitize_kind_by_type(NULL));
	ck_assert_str_eq(sanitize_kind_by_type("services")->kind, "Service");
	ck_assert_ptr_nonnull(sanitize_kind_by_type("services")->clean);
	ck_assert_ptr_nonnull(sanitize_kind_by_type("nodes")->never);

	json_t *o = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "Service");
	ck_assert_str_eq(sanitize_kind_by_object(o)->gr, "services");
	json_object_set_new(o, "apiVersion", json_string("/v1")); /* no group is not the core group */
	ck_assert_ptr_null(sanitize_kind_by_object(o));
	json_object_set_new(o, "apiVersion", json_string("apps/v1"));
	ck_assert_ptr_null(sanitize_kind_by_object(o));
	json_object_del(o, "apiVersion");
	ck_assert_ptr_null(sanitize_kind_by_object(o));
	json_object_set_new(o, "apiVersion", json_string("batch/v1beta1"));
	json_object_set_new(o, "kind", json_string("Job"));
	ck_assert_str_eq(sanitize_kind_by_object(o)->gr, "jobs.batch");
	json_object_set_new(o, "kind", json_string("CronJob"));
	ck_assert_ptr_null(sanitize_kind_by_object(o));
	json_decref(o);
	ck_assert_ptr_null(sanitize_kind_by_object(NULL));
}
END_TEST

/* ---- reading the corpus ---- */

static json_t *yaml_node_json(yaml_document_t *d, yaml_node_t *n, int depth)
{
	if (!n || depth > 200)
		return json_null();
	if (n->type == YAML_MAPPING_NODE) {
		json_t *o = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(d, p->key);
			if (k && k->type == YAML_SCALAR_NODE)
				json_object_set_new(o, (const char *)k->data.scalar.value,
						    yaml_node_json(d, yaml_document_get_node(d, p->value), depth + 1));
		}
		return o;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
			json_array_append_new(a, yaml_node_json(d, yaml_document_get_node(d, *it), depth + 1));
		return a;
	}
	const char *s = (const char *)n->data.scalar.value;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_string(s);
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*end && (isdigit((unsigned char)*s) || ((*s == '-' || *s == '+') && isdigit((unsigned char)s[1]))))
		return json_integer(v);
	return json_string(s);
}

static void add_object(json_t *all, json_t *o)
{
	const char *kind = json_string_value(json_object_get(o, "kind"));
	size_t kl = kind ? strlen(kind) : 0;
	if (kl > 4 && !strcmp(kind + kl - 4, "List")) {
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(o, "items"), i, it)
			add_object(all, it);
	} else if (json_is_object(o) && kind) {
		json_array_append(all, o);
	}
}

static void load_file(json_t *all, const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	yaml_parser_t p;
	ck_assert(yaml_parser_initialize(&p));
	yaml_parser_set_input_file(&p, f);
	for (;;) {
		yaml_document_t d;
		ck_assert_msg(yaml_parser_load(&p, &d), "%s: YAML error: %s", path, p.problem ? p.problem : "?");
		yaml_node_t *root = yaml_document_get_root_node(&d);
		if (!root) {
			yaml_document_delete(&d);
			break;
		}
		json_t *o = yaml_node_json(&d, root, 0);
		add_object(all, o);
		json_decref(o);
		yaml_document_delete(&d);
	}
	yaml_parser_delete(&p);
	fclose(f);
}

/* Every object of the corpus manifests (List kinds expanded), or NULL without a corpus;
 * read once, before the corpus cases (an unchecked fixture: forked cases inherit it). */
static json_t *corpus_objects;

static json_t *corpus_load(void)
{
	static const char *const files[] = {
		"argo-cd/install.yaml", "cert-manager/cert-manager-resources.yaml",
		"cert-manager/crds-certificates-issuers.yaml", "descheduler/descheduler-cronjob.yaml",
		"ingress-nginx/deploy-cloud.yaml", "ingress-nginx/echo-service-ingress.yaml",
		"kube-prometheus/manifests-no-grafana.yaml", "kube-prometheus/setup-namespace-crds.yaml",
		"kubernetes-examples/cassandra-statefulset.yaml", "kubernetes-examples/guestbook-all-in-one.yaml",
		"kubernetes-website/php-apache-hpa.yaml", "kubernetes-website/zookeeper.yaml",
		"longhorn/longhorn.yaml", "metallb/configsamples-crs.yaml", "metallb/metallb-native.yaml",
		"velero-examples/nginx-app-with-pv.yaml",
	};
	const char *env = getenv("KAHU_CORPUS");
	char *dir = env && *env ? xasprintf("%s/manifests", env)
				: xstrdup(TEST_DATA_DIR "/../../../../shared/corpus/manifests");
	char *probe = xasprintf("%s/%s", dir, files[0]);
	FILE *f = fopen(probe, "rb");
	free(probe);
	if (!f) {
		fprintf(stderr, "# skip: no corpus in %s\n", dir);
		free(dir);
		return NULL;
	}
	fclose(f);
	json_t *all = json_array();
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *p = xasprintf("%s/%s", dir, files[i]);
		load_file(all, p);
		free(p);
	}
	free(dir);
	ck_assert_uint_gt(json_array_size(all), 250);
	return all;
}

static void corpus_setup(void)
{
	corpus_objects = corpus_load();
}

static void corpus_teardown(void)
{
	json_decref(corpus_objects);
	corpus_objects = NULL;
}

/* A reference the caller drops. */
static json_t *corpus(void)
{
	return corpus_objects ? json_incref(corpus_objects) : NULL;
}

static const char *kind_of(json_t *o)
{
	return json_string_value(json_object_get(o, "kind"));
}

static const char *meta(json_t *o, const char *f)
{
	return json_string_value(json_object_get(json_object_get(o, "metadata"), f));
}

/* The type name of an object: its row's, else a made-up one of the same form. */
static char *gr_of(json_t *o)
{
	const struct sanitize_kind *k = sanitize_kind_by_object(o);
	if (k)
		return xstrdup(k->gr);
	const char *av = json_string_value(json_object_get(o, "apiVersion"));
	const char *slash = av ? strchr(av, '/') : NULL;
	char *plural = xasprintf("%ss", kind_of(o));
	for (char *p = plural; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	char *gr = slash ? xasprintf("%s.%.*s", plural, (int)(slash - av), av) : xstrdup(plural);
	free(plural);
	return gr;
}

/* ---- what a cluster adds ---- */

static json_t *md_of(json_t *o)
{
	json_t *md = json_object_get(o, "metadata");
	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(o, "metadata", md);
	}
	return md;
}

static json_t *sub(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, k, v);
	}
	return v;
}

static void decorate_metadata(json_t *o)
{
	json_t *md = md_of(o);
	json_object_set_new(md, "uid", json_string("5f0c3e4e-8d1a-4a53-9d0e-2f6f0e2b7c11"));
	json_object_set_new(md, "resourceVersion", json_string("184467"));
	json_object_set_new(md, "generation", json_integer(3));
	json_object_set_new(md, "creationTimestamp", json_string("2026-11-30T08:12:44Z"));
	json_object_set_new(md, "selfLink", json_string("/api/v1/whatever"));
	json_object_set_new(md, "managedFields",
			    json_pack("[{s:s, s:s, s:s}]", "manager", "kubectl-client-side-apply",
				      "operation", "Update", "apiVersion", "v1"));
	if (!json_object_get(o, "status"))
		json_object_set_new(o, "status", json_pack("{s:i}", "observedGeneration", 3));
}

/* What cleaning must give back: the manifest without status, with kahu's labels (and
 * without what a generated manifest may hold of server fields: creationTimestamp: null). */
static json_t *expected(json_t *o)
{
	json_t *e = json_deep_copy(o);
	json_object_del(e, "status");
	json_object_del(md_of(e), "creationTimestamp");
	json_t *labels = sub(md_of(e), "labels");
	json_object_set_new(labels, KAHU_LABEL_BACKUP, json_string("nightly"));
	json_object_set_new(labels, KAHU_LABEL_RESTORE, json_string("r1"));
	return e;
}

static struct restore_clean_opts opts(void)
{
	struct restore_clean_opts o = { .backup_name = "nightly", .restore_name = "r1" };
	restore_clean_opts_init(&o);
	return o;
}

/* Clean `stored` (consumed) and expect `want` (consumed). */
static void expect_clean(json_t *stored, json_t *want, const struct restore_clean_opts *o)
{
	char *gr = gr_of(stored);
	const char *why = NULL;
	char *name = xasprintf("%s %s/%s", gr, meta(want, "namespace") ?: "", meta(want, "name") ?: "?");
	ck_assert_msg(restore_clean(stored, gr, o, &why) == CLEAN_RESTORE, "%s skipped: %s", name, why);
	if (!json_equal(stored, want)) {
		char *g = json_dumps(stored, JSON_SORT_KEYS | JSON_COMPACT);
		char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
		ck_abort_msg("%s:\ngot  %.1500s\nwant %.1500s", name, g, w);
	}
	free(name);
	free(gr);
	json_decref(stored);
	json_decref(want);
}

static void expect_skip(json_t *stored, const char *part, const struct restore_clean_opts *o)
{
	char *gr = gr_of(stored);
	const char *why = NULL;
	ck_assert_msg(restore_clean(stored, gr, o, &why) == CLEAN_SKIP, "%s %s restored", gr, meta(stored, "name"));
	ck_assert_msg(why && strstr(why, part), "%s: reason \"%s\" lacks \"%s\"", gr, why, part);
	free(gr);
	json_decref(stored);
}

/* Each object of the corpus of one kind, with a count. */
#define FOR_KIND(all, kindname, i, o) \
	json_array_foreach((all), (i), (o)) if (kind_of(o) && strcmp(kind_of(o), (kindname)) == 0)

/* ---- every object ---- */

/* Objects without a cleaner lose only what the API server set. */
START_TEST(test_corpus_generic)
{
	json_t *all = corpus();
	if (!all)
		return;
	struct restore_clean_opts o = opts();
	size_t i, n = 0;
	json_t *obj;
	json_array_foreach(all, i, obj) {
		const struct sanitize_kind *k = sanitize_kind_by_object(obj);
		if (k && (k->clean || k->skip || k->never))
			continue;
		json_t *stored = json_deep_copy(obj);
		decorate_metadata(stored);
		expect_clean(stored, expected(obj), &o);
		n++;
	}
	ck_assert_uint_gt(n, 200);
	restore_clean_opts_release(&o);
	json_decref(all);
}
END_TEST

/* ---- one test a cleaner ---- */

START_TEST(test_corpus_services)
{
	json_t *all = corpus();
	if (!all)
		return;
	struct restore_clean_opts o = opts(), keep = opts();
	keep.preserve_nodeports = 1;
	size_t i, n = 0, headless = 0, nodeports = 0, health = 0;
	json_t *svc;
	FOR_KIND(all, "Service", i, svc) {
		json_t *stored = json_deep_copy(svc), *want = expected(svc), *want_kept = expected(svc);
		json_t *spec = sub(stored, "spec");
		const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
		const char *type = json_string_value(json_object_get(spec, "type"));
		const char *policy = json_string_value(json_object_get(spec, "externalTrafficPolicy"));
		decorate_metadata(stored);
		if (ip && !strcmp(ip, "None")) {
			/* headless: the server says so in clusterIPs too, and both stay */
			json_object_set_new(spec, "clusterIPs", json_pack("[s]", "None"));
			json_object_set_new(sub(want, "spec"), "clusterIPs", json_pack("[s]", "None"));
			json_object_set_new(sub(want_kept, "spec"), "clusterIPs", json_pack("[s]", "None"));
			headless++;
		} else {
			json_object_set_new(spec, "clusterIP", json_string("10.96.14.7"));
			json_object_set_new(spec, "clusterIPs", json_pack("[s]", "10.96.14.7"));
			json_object_del(sub(want, "spec"), "clusterIP");
			json_object_del(sub(want_kept, "spec"), "clusterIP");
		}
		int allocates = type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer"));
		size_t j;
		json_t *p;
		json_array_foreach(json_object_get(spec, "ports"), j, p) {
			if (allocates && !json_is_integer(json_object_get(p, "nodePort"))) {
				json_object_set_new(p, "nodePort", json_integer(30080 + (json_int_t)j));
				json_object_set_new(json_array_get(json_object_get(sub(want_kept, "spec"), "ports"), j),
						    "nodePort", json_integer(30080 + (json_int_t)j));
				nodeports++;
			}
			/* nodePorts not named in last-applied-configuration go */
			json_object_del(json_array_get(json_object_get(sub(want, "spec"), "ports"), j), "nodePort");
		}
		if (type && !strcmp(type, "LoadBalancer") && policy && !strcmp(policy, "Local")) {
			json_object_set_new(spec, "healthCheckNodePort", json_integer(32119));
			json_object_set_new(sub(want_kept, "spec"), "healthCheckNodePort", json_integer(32119));
			health++;
		}
		json_object_set_new(stored, "status", json_pack("{s:{s:[{s:s}]}}", "loadBalancer", "ingress", "ip", "203.0.113.9"));
		json_t *stored2 = json_deep_copy(stored);
		expect_clean(stored, want, &o);
		expect_clean(stored2, want_kept, &keep);
		n++;
	}
	ck_assert_uint_gt(n, 20);
	ck_assert_uint_gt(headless, 0);
	ck_assert_uint_gt(nodeports, 0);
	ck_assert_uint_gt(health, 0);
	restore_clean_opts_release(&o);
	restore_clean_opts_release(&keep);
	json_decref(all);
}
END_TEST

/* A pod as a controller makes it from the template of a workload. */
static json_t *pod_of(json_t *workload, const char *name)
{
	json_t *tmpl = json_object_get(json_object_get(workload, "spec"), "template");
	if (!tmpl)
		tmpl = json_object_get(json_object_get(json_object_get(json_object_get(workload, "spec"), "jobTemplate"),
						       "spec"), "template");
	json_t *pod = json_pack("{s:s, s:s, s:O, s:O}", "apiVersion", "v1", "kind", "Pod",
				"metadata", json_object_get(tmpl, "metadata") ?: json_object(),
				"spec", json_object_get(tmpl, "spec"));
	json_t *md = json_deep_copy(json_object_get(pod, "metadata"));
	json_object_set_new(pod, "metadata", md);
	json_object_set_new(pod, "spec", json_deep_copy(json_object_get(pod, "spec")));
	json_object_set_new(md, "name", json_string(name));
	if (meta(workload, "namespace"))
		json_object_set_new(md, "namespace", json_string(meta(workload, "namespace")));
	return pod;
}

START_TEST(test_corpus_pods)
{
	json_t *all = corpus();
	if (!all)
		return;
	struct restore_clean_opts o = opts();
	size_t i, n = 0, mounts = 0;
	json_t *w;
	json_array_foreach(all, i, w) {
		const char *kind = kind_of(w);
		if (strcmp(kind, "Deployment") && strcmp(kind, "StatefulSet") && strcmp(kind, "DaemonSet") &&
		    strcmp(kind, "Job") && strcmp(kind, "CronJob"))
			continue;
		char *name = xasprintf("%s-7d4b9c-x2k8p", meta(w, "name"));
		json_t *pod = pod_of(w, name);
		json_t *stored = json_deep_copy(pod);
		json_t *spec = json_object_get(stored, "spec");
		decorate_metadata(stored);
		json_object_set_new(stored, "status", json_pack("{s:s}", "phase", "Running"));
		json_object_set_new(spec, "nodeName", json_string("worker-3"));
		/* the projected token volume and its mount in every container */
		json_t *vols = json_object_get(spec, "volumes");
		if (!json_is_array(vols)) {
			vols = json_array();
			json_object_set_new(spec, "volumes", vols);
		}
		json_array_append_new(vols, json_pack("{s:s, s:{s:[{s:{s:i, s:s}}]}}", "name", "kube-api-access-9zq4t",
						      "projected", "sources", "serviceAccountToken",
						      "expirationSeconds", 3607, "path", "token"));
		static const char *const lists[] = { "containers", "initContainers" };
		for (size_t l = 0; l < 2; l++) {
			size_t ci;
			json_t *c;
			json_array_foreach(json_object_get(spec, lists[l]), ci, c) {
				json_t *m = json_object_get(c, "volumeMounts");
				if (!json_is_array(m)) {
					m = json_array();
					json_object_set_new(c, "volumeMounts", m);
				}
				json_array_append_new(m, json_pack("{s:s, s:s, s:b}", "name", "kube-api-access-9zq4t",
								   "mountPath", "/var/run/secrets/kubernetes.io/serviceaccount",
								   "readOnly", 1));
				mounts++;
			}
		}
		/* what was written stays, an empty list of volumes or mounts included */
		json_t *want = expected(pod);
		if (!json_object_get(json_object_get(pod, "spec"), "volumes"))
			json_object_set_new(json_object_get(want, "spec"), "volumes", json_array());
		for (size_t l = 0; l < 2; l++) {
			size_t ci;
			json_t *c;
			json_array_foreach(json_object_get(json_object_get(want, "spec"), lists[l]), ci, c)
				if (!json_object_get(c, "volumeMounts"))
					json_object_set_new(c, "volumeMounts", json_array());
		}
		expect_clean(stored, want, &o);

		/* finished pods are not restored */
		stored = json_deep_copy(pod);
		json_object_set_new(stored, "status", json_pack("{s:s}", "phase", "Succeeded"));
		expect_skip(stored, "the pod has finished", &o);
		json_decref(pod);
		free(name);
		n++;
	}
	ck_assert_uint_gt(n, 20);
	ck_assert_uint_gt(mounts, n);
	restore_clean_opts_release(&o);
	json_decref(all);
}
END_TEST

/* Jobs written as such, and the Jobs of CronJobs' templates. */
START_TEST(test_corpus_jobs)
{
	json_t *all = corpus();
	if (!all)
		return;
	struct restore_clean_opts o = opts();
	size_t i, n = 0;
	json_t *w;
	json_array_foreach(all, i, w) {
		json_t *job;
		if (!strcmp(kind_of(w), "Job")) {
			job = json_deep_copy(w);
		} else if (!strcmp(kind_of(w), "CronJob")) {
			json_t *jt = json_object_get(json_object_get(w, "spec"), "jobTemplate");
			job = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O}", "apiVersion", "batch/v1", "kind", "Job",
					"metadata", "name", "descheduler-29412345", "namespace", meta(w, "namespace"),
					"spec", json_object_get(jt, "spec"));
			json_object_set_new(job, "spec", json_deep_copy(json_object_get(job, "spec")));
		} else {
			continue;
		}
		json_t *stored = json_deep_copy(job);
		json_t *spec = json_object_get(stored, "spec");
		decorate_metadata(stored);
		json_object_set_new(stored, "status", json_pack("{s:i}", "active", 1));
		const char *uid = "c1a6f0a2-3b0d-4e5e-8a53-0f4f4d6f9e21";
		json_object_set_new(spec, "selector", json_pack("{s:{s:s}}", "matchLabels",
								 "batch.kubernetes.io/controller-uid", uid));
		json_t *labels = sub(sub(sub(spec, "template"), "metadata"), "labels");
		json_object_set_new(labels, "controller-uid", json_string(uid));
		json_object_set_new(labels, "batch.kubernetes.io/controller-uid", json_string(uid));
		json_t *want = expected(job);
		/* the template's labels exist now, even when the manifest had none */
		sub(sub(sub(json_object_get(want, "spec"), "template"), "metadata"), "labels");
		expect_clean(stored, want, &o);

		stored = json_deep_copy(job);
		json_object_set_new(stored, "status", json_pack("{s:[{s:s, s:s}]}", "conditions", "type", "Complete",
								"status", "True"));
		expect_skip(stored, "the job has finished", &o);
		json_decref(job);
		n++;
	}
	ck_assert_uint_ge(n, 3);
	restore_clean_opts_release(&o);
	json_decref(all);
}
END_TEST

/* The PVC of the corpus bound to a PV, and that PV. */
START_TEST(test_corpus_volumes)
{
	json_t *all = corpus();
	if (!all)
		return;
	struct restore_clean_opts o = opts(), reprov = opts();
	reprov.volume_data_restored = 1;
	size_t i, n = 0;
	json_t *pvc;
	FOR_KIND(all, "PersistentVolumeClaim", i, pvc) {
		const char *vol = "pvc-0d1e7b9a-3c55-4b3e-a4f4-6a2f1b8e9c01";
		json_t *stored = json_deep_copy(pvc);
		decorate_metadata(stored);
		json_t *ann = sub(md_of(stored), "annotations");
		json_object_set_new(ann, "pv.kubernetes.io/bind-completed", json_string("yes"));
		json_object_set_new(ann, "pv.kubernetes.io/bound-by-controller", json_string("yes"));
		json_object_set_new(ann, "volume.beta.kubernetes.io/storage-provisioner", json_string("ebs.csi.aws.com"));
		json_object_set_new(ann, "volume.kubernetes.io/storage-provisioner", json_string("ebs.csi.aws.com"));
		json_object_set_new(ann, "volume.kubernetes.io/selected-node", json_string("worker-3"));
		json_object_set_new(sub(stored, "spec"), "volumeName", json_string(vol));
		json_object_set_new(stored, "status", json_pack("{s:s}", "phase", "Bound"));

		json_t *want = expected(pvc);
		sub(md_of(want), "annotations"); /* emptied, not removed */
		json_t *want_reprov = json_deep_copy(want);
		json_object_set_new(sub(want, "spec"), "volumeName", json_string(vol));
		json_t *stored2 = json_deep_copy(stored);
		expect_clean(stored, want, &o);
		expect_clean(stored2, want_reprov, &reprov);

		/* its PV */
		json_t *spec = json_object_get(pvc, "spec");
		json_t *pv = json_pack("{s:s, s:s, s:{s:s}, s:{s:O, s:O, s:s, s:{s:s}}}",
				       "apiVersion", "v1", "kind", "PersistentVolume", "metadata", "name", vol,
				       "spec", "capacity", json_object_get(json_object_get(spec, "resources"), "requests"),
				       "accessModes", json_object_get(spec, "accessModes"),
				       "persistentVolumeReclaimPolicy", "Delete",
				       "csi", "driver", "ebs.csi.aws.com");
		json_t *ref = json_pack("{s:s, s:s, s:s, s:s}", "apiVersion", "v1", "kind", "PersistentVolumeClaim",
					"namespace", meta(pvc, "namespace"), "name", meta(pvc, "name"));
		json_object_set(json_object_get(pv, "spec"), "claimRef", ref);
		stored = json_deep_copy(pv);
		decorate_metadata(stored);
		json_object_set_new(json_object_get(json_object_get(stored, "spec"), "claimRef"), "uid",
				    json_string("7a1b2c3d-0000-4000-8000-000000000001"));
		json_object_set_new(json_object_get(json_object_get(stored, "spec"), "claimRef"), "resourceVersion",
				    json_string("184400"));
		json_object_set_new(stored, "status", json_pack("{s:s}", "phase", "Bound"));
		stored2 = json_deep_copy(stored);
		expect_clean(stored, expected(pv), &o);
		expect_skip(stored2, "its claim is provisioned anew", &reprov);
		json_decref(ref);
		json_decref(pv);
		n++;
	}
	ck_assert_uint_ge(n, 1);
	restore_clean_opts_release(&o);
	restore_clean_opts_release(&reprov);
	json_decref(all);
}
END_TEST

/* ServiceAccounts with their generated token Secret, and token Secrets asked for. */
START_TEST(test_corpus_service_accounts)
{
	json_t *all = corpus();
	if (!all)
		return;
	struct restore_clean_opts o = opts();
	size_t i, n = 0;
	json_t *sa;
	FOR_KIND(all, "ServiceAccount", i, sa) {
		const char *name = meta(sa, "name"), *ns = meta(sa, "namespace");
		char *generated = xasprintf("%s-token-x7k2p", name);
		json_t *stored = json_deep_copy(sa);
		decorate_metadata(stored);
		json_t *secrets = json_object_get(stored, "secrets");
		if (!json_is_array(secrets)) {
			secrets = json_array();
			json_object_set_new(stored, "secrets", secrets);
		}
		json_array_append_new(secrets, json_pack("{s:s}", "name", generated));
		expect_clean(stored, expected(sa), &o);

		/* the generated Secret is not restored; one asked for loses its token */
		json_t *secret = json_pack("{s:s, s:s, s:{s:s, s:s?, s:{s:s, s:s}}, s:s, s:{s:s, s:s, s:s}}",
					   "apiVersion", "v1", "kind", "Secret",
					   "metadata", "name", generated, "namespace", ns, "annotations",
					   "kubernetes.io/service-account.name", name,
					   "kubernetes.io/service-account.uid", "e2a1c3d4-1111-4222-8333-444455556666",
					   "type", "kubernetes.io/service-account-token",
					   "data", "token", "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRw", "ca.crt", "LS0tLS1CRUdJTg==",
					   "namespace", "a3ViZS1zeXN0ZW0=");
		expect_skip(json_deep_copy(secret), "service-account token generated by the source cluster", &o);
		char *asked = xasprintf("%s-token", name);
		json_object_set_new(md_of(secret), "name", json_string(asked));
		json_t *want = expected(secret);
		json_object_del(want, "data");
		json_object_del(json_object_get(md_of(want), "annotations"), "kubernetes.io/service-account.uid");
		decorate_metadata(secret);
		expect_clean(secret, want, &o);
		free(asked);
		free(generated);
		n++;
	}
	ck_assert_uint_gt(n, 20);
	/* Secrets of other types are restored as written */
	size_t opaque = 0;
	json_t *s;
	FOR_KIND(all, "Secret", i, s) {
		json_t *stored = json_deep_copy(s);
		decorate_metadata(stored);
		expect_clean(stored, expected(s), &o);
		opaque++;
	}
	ck_assert_uint_gt(opaque, 0);
	restore_clean_opts_release(&o);
	json_decref(all);
}
END_TEST

/* ---- namespace mapping ---- */

/* A "namespace" key anywhere in v naming a source namespace of the mapping. */
static const char *stale_namespace(json_t *v, const struct ns_map *m)
{
	const char *k;
	json_t *x;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			const char *s = json_string_value(x);
			if (!strcmp(k, "namespace") && s && ns_map_target(m, s) != s)
				return s;
			if ((s = stale_namespace(x, m)))
				return s;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			const char *s = stale_namespace(x, m);
			if (s)
				return s;
		}
	}
	return NULL;
}

/* Every corpus namespace mapped elsewhere: no object keeps a reference to a source
 * namespace (bindings' subjects, webhooks' and APIServices' Services, CRD conversion
 * webhooks), and Namespaces are renamed. */
START_TEST(test_corpus_mapping)
{
	json_t *all = corpus();
	if (!all)
		return;
	struct strv seen = STRV_INIT;
	struct strv spec = STRV_INIT;
	size_t i;
	json_t *obj;
	json_array_foreach(all, i, obj) {
		const char *ns = kind_of(obj) && !strcmp(kind_of(obj), "Namespace") ? meta(obj, "name")
										    : meta(obj, "namespace");
		if (ns && !strv_contains(&seen, ns)) {
			strv_push(&seen, ns);
			strv_push_owned(&spec, xasprintf("%s:%.50s-dr", ns, ns));
		}
	}
	char *specs = strv_join(&spec, ",");
	struct ns_map *m = NULL;
	ck_assert_int_eq(ns_map_parse(specs, &m), 0);
	ck_assert_uint_gt(ns_map_count(m), 5);
	struct restore_clean_opts o = opts();
	o.map = m;
	size_t mapped = 0;
	json_array_foreach(all, i, obj) {
		json_t *stored = json_deep_copy(obj);
		char *gr = gr_of(obj);
		decorate_metadata(stored);
		const char *why = NULL;
		ck_assert_msg(restore_clean(stored, gr, &o, &why) == CLEAN_RESTORE, "%s skipped: %s", gr, why);
		const char *ns = meta(obj, "namespace");
		if (ns) {
			ck_assert_str_eq(meta(stored, "namespace"), ns_map_target(m, ns));
			ck_assert_str_ne(meta(stored, "namespace"), ns);
		}
		/* (custom resources may name namespaces in fields only their operator knows:
		 * Prometheus' alertmanagers[].namespace; those are not mapped) */
		const char *dot = strchr(gr, '.');
		if (!dot || (strlen(dot) > 7 && !strcmp(dot + strlen(dot) - 7, ".k8s.io"))) {
			const char *stale = stale_namespace(stored, m);
			ck_assert_msg(!stale, "%s %s still names namespace %s", gr, meta(obj, "name"), stale);
			if (stale_namespace(obj, m) && !meta(obj, "namespace"))
				mapped++; /* references beyond metadata.namespace */
		}
		if (!strcmp(kind_of(obj), "Namespace")) {
			ck_assert_str_eq(meta(stored, "name"), ns_map_target(m, meta(obj, "name")));
			json_t *labels = json_object_get(md_of(stored), "labels");
			const char *l = json_string_value(json_object_get(labels, "kubernetes.io/metadata.name"));
			ck_assert(!l || !strcmp(l, meta(stored, "name")));
		}
		json_decref(stored);
		free(gr);
	}
	ck_assert_uint_gt(mapped, 10);
	free(specs);
	strv_free(&seen);
	strv_free(&spec);
	restore_clean_opts_release(&o);
	ns_map_free(m);
	json_decref(all);
}
END_TEST

/* ---- comparison: live objects of the target as the cleaners see them ---- */

/* `clean` (consumed) is what restore_clean made of a backup; `live` (consumed) the
 * object as the target holds it, with the target's own token volumes, Secrets or
 * data: neither is a difference. */
static void expect_same(json_t *clean, json_t *live)
{
	char *gr = gr_of(clean);
	ck_assert_msg(restore_same(clean, live), "%s %s differs from its live self", gr, meta(clean, "name"));
	json_t *patch = restore_merge_patch(clean, live);
	char *p = json_dumps(patch, JSON_COMPACT);
	/* (the merge patch only sets kahu's labels) */
	ck_assert_msg(json_object_size(patch) == 0, "%s %s: patch %s", gr, meta(clean, "name"), p);
	free(p);
	json_decref(patch);
	free(gr);
	json_decref(clean);
	json_decref(live);
}

START_TEST(test_corpus_live)
{
	json_t *all = corpus();
	if (!all)
		return;
	struct restore_clean_opts o = opts();
	size_t i, n = 0, pods = 0;
	json_t *obj;
	FOR_KIND(all, "ServiceAccount", i, obj) {
		/* an account that names a pull secret, and the token Secret the target
		 * generated for it */
		json_t *clean = json_deep_copy(obj);
		char *pull = xasprintf("%s-registry", meta(obj, "name"));
		json_object_set_new(clean, "secrets", json_pack("[{s:s}]", "name", pull));
		ck_assert_int_eq(restore_clean(clean, "serviceaccounts", &o, NULL), CLEAN_RESTORE);
		json_t *live = json_deep_copy(clean);
		decorate_metadata(live);
		char *generated = xasprintf("%s-token-q8m4z", meta(obj, "name"));
		json_array_append_new(json_object_get(live, "secrets"), json_pack("{s:s}", "name", generated));
		expect_same(clean, live);

		/* a token Secret asked for: the target's token controller filled it */
		json_t *secret = json_pack("{s:s, s:s, s:{s:s, s:s?, s:{s:s}}, s:s}", "apiVersion", "v1",
					   "kind", "Secret", "metadata", "name", pull, "namespace",
					   meta(obj, "namespace"), "annotations", "kubernetes.io/service-account.name",
					   meta(obj, "name"), "type", "kubernetes.io/service-account-token");
		ck_assert_int_eq(restore_clean(secret, "secrets", &o, NULL), CLEAN_RESTORE);
		live = json_deep_copy(secret);
		json_object_set_new(live, "data", json_pack("{s:s}", "token", "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRw"));
		expect_same(secret, live);
		free(generated);
		free(pull);
		n++;
	}
	FOR_KIND(all, "Deployment", i, obj) {
		/* a pod with volumes of its own, and the target's token volume beside them */
		char *name = xasprintf("%s-5c8d7-q2w9r", meta(obj, "name"));
		json_t *clean = pod_of(obj, name);
		free(name);
		json_t *spec = json_object_get(clean, "spec");
		if (!json_array_size(json_object_get(spec, "volumes"))) {
			json_decref(clean);
			continue;
		}
		ck_assert_int_eq(restore_clean(clean, "pods", &o, NULL), CLEAN_RESTORE);
		json_t *live = json_deep_copy(clean);
		spec = json_object_get(live, "spec");
		json_array_append_new(json_object_get(spec, "volumes"),
				      json_pack("{s:s, s:{s:[]}}", "name", "kube-api-access-7hx2d", "projected", "sources"));
		size_t ci;
		json_t *c;
		json_array_foreach(json_object_get(spec, "containers"), ci, c) {
			json_t *m = json_object_get(c, "volumeMounts");
			if (!json_is_array(m)) {
				m = json_array();
				json_object_set_new(c, "volumeMounts", m);
			}
			json_array_append_new(m, json_pack("{s:s, s:s}", "name", "kube-api-access-7hx2d", "mountPath",
							   "/var/run/secrets/kubernetes.io/serviceaccount"));
		}
		json_object_set_new(spec, "nodeName", json_string("worker-1"));
		expect_same(clean, live);
		pods++;
	}
	ck_assert_uint_gt(n, 20);
	ck_assert_uint_gt(pods, 5);
	restore_clean_opts_release(&o);
	json_decref(all);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sanitize_kinds");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, test_lookup);
	suite_add_tcase(s, tc);
	tc = tcase_create("corpus");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, corpus_setup, corpus_teardown);
	tcase_add_test(tc, test_corpus_generic);
	tcase_add_test(tc, test_corpus_services);
	tcase_add_test(tc, test_corpus_pods);
	tcase_add_test(tc, test_corpus_jobs);
	tcase_add_test(tc, test_corpus_volumes);
	tcase_add_test(tc, test_corpus_service_accounts);
	tcase_add_test(tc, test_corpus_mapping);
	tcase_add_test(tc, test_corpus_live);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(suite)

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check_main.h"
#include "engine/volcsi.h"
#include "engine/volhelper.h"
#include "engine/volrun.h"
#include "engine/volsel.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/strv.h"

START_TEST(test_mode)
{
	enum vol_mode m = VOL_MODE_NONE;
	ck_assert_int_eq(vol_mode_parse("auto", &m), 0);
	ck_assert_int_eq(m, VOL_MODE_AUTO);
	ck_assert_int_eq(vol_mode_parse("csi", &m), 0);
	ck_assert_int_eq(m, VOL_MODE_CSI);
	ck_assert_int_eq(vol_mode_parse("FS", &m), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--volume-data: \"FS\""));
	ck_assert_int_eq(vol_mode_parse("", &m), KAHU_EUSAGE);
}
END_TEST

START_TEST(test_quantity)
{
	static const struct { const char *s; uint64_t v; } ok[] = {
		{ "0", 0 }, { "2048", 2048 }, { "10Gi", 10ULL << 30 }, { "1Ki", 1024 },
		{ "500M", 500000000 }, { "1.5Gi", 3ULL << 29 }, { "1e3", 1000 }, { "1E2", 100 },
		{ "0.5", 1 }, { "1k", 1000 }, { "2Ti", 2ULL << 40 }, { "+3", 3 }, { ".5Ki", 512 },
	};
	static const char *bad[] = { "", "Gi", "10GB", "10 Gi", "-1", "1.", "abc", "1e", "10gi",
				     "99999999999Ei" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		uint64_t v = 7;
		ck_assert_msg(vol_quantity_parse(ok[i].s, &v) == 0, "%s", ok[i].s);
		ck_assert_msg(v == ok[i].v, "%s: %llu", ok[i].s, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v;
		ck_assert_msg(vol_quantity_parse(bad[i], &v) < 0, "\"%s\" accepted", bad[i]);
	}
}
END_TEST

static struct vol_policy *policy(const char *text)
{
	struct vol_policy *p = NULL;
	int rc = vol_policy_parse(text, strlen(text), "pol.yaml", &p);
	ck_assert_msg(rc == 0, "%s", kahu_error_last());
	return p;
}

static void policy_bad(const char *text, const char *want)
{
	struct vol_policy *p = NULL;
	ck_assert_int_eq(vol_policy_parse(text, strlen(text), "pol.yaml", &p), KAHU_EUSAGE);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(kahu_error_last(), want), "got \"%s\", want \"%s\"", kahu_error_last(), want);
}

START_TEST(test_policy_errors)
{
	policy_bad("rules: [", "pol.yaml:2: ");
	policy_bad("- a\n", "pol.yaml:1: expected a mapping");
	policy_bad("version: 2\nrules: []\n", "pol.yaml:1: version: only version 1");
	policy_bad("version: 1\nrulez: []\n", "pol.yaml:2: unknown key \"rulez\"");
	policy_bad("version: 1\n", "rules: expected a list");
	policy_bad("rules:\n  - match: {storageClass: a}\n", "pol.yaml:2: the rule has no action");
	policy_bad("rules:\n  - action: skip\n  - action: copy\n", "pol.yaml:3: action: \"copy\"");
	policy_bad("rules:\n  - action: skip\n    match:\n      size: \"10Gi\"\n",
		   "pol.yaml:4: size: \"10Gi\": a comparison starts");
	policy_bad("rules:\n  - action: skip\n    match:\n      size: \">10GB\"\n",
		   "pol.yaml:4: size: \"10GB\" is not a quantity");
	policy_bad("rules:\n  - action: skip\n    match:\n      accessModes: [RWO]\n",
		   "pol.yaml:4: accessModes: \"RWO\"");
	policy_bad("rules:\n  - action: skip\n    match:\n      selector: \"a in (b\"\n",
		   "pol.yaml:4: selector: invalid label selector");
	policy_bad("rules:\n  - action: skip\n    match:\n      color: red\n",
		   "pol.yaml:4: match: unknown key \"color\"");
	policy_bad("rules:\n  - action: skip\n    match:\n      storageClass: []\n",
		   "storageClass: the list is empty");
}
END_TEST

static struct vol_pvc pvc(void)
{
	return (struct vol_pvc){
		.namespace_ = "ns", .name = "data", .storage_class = "standard",
		.access_modes = VOL_ACCESS_RWO, .size = 1ULL << 30, .bound = 1,
	};
}

START_TEST(test_choose_order)
{
	struct vol_choice c;
	struct vol_pvc p = pvc();

	vol_choose(VOL_MODE_AUTO, NULL, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_FS);
	ck_assert_str_eq(c.reason, "--volume-data auto: not a CSI volume");
	p.driver = "hostpath.csi.k8s.io";
	vol_choose(VOL_MODE_AUTO, NULL, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_FS);
	ck_assert_ptr_nonnull(strstr(c.reason, "no VolumeSnapshotClass for driver hostpath.csi.k8s.io"));
	p.snapshot_class = "snap";
	vol_choose(VOL_MODE_AUTO, NULL, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_CSI);
	ck_assert_int_eq(c.failed, 0);
	vol_choose(VOL_MODE_FS, NULL, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_FS);
	vol_choose(VOL_MODE_NONE, NULL, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_SKIP);
	ck_assert_str_eq(c.reason, "--volume-data none");

	/* csi asked where no class exists: the volume fails with the reason */
	p.snapshot_class = NULL;
	vol_choose(VOL_MODE_CSI, NULL, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_CSI);
	ck_assert_int_eq(c.failed, 1);
	ck_assert_str_eq(c.reason, "--volume-data csi, but no VolumeSnapshotClass is for driver hostpath.csi.k8s.io");
	p.driver = NULL;
	vol_choose(VOL_MODE_CSI, NULL, &p, &c);
	ck_assert_int_eq(c.failed, 1);
	ck_assert_ptr_nonnull(strstr(c.reason, "not a CSI volume"));

	/* the annotation wins over Velero's, the policy and the mode */
	p = pvc();
	struct vol_policy *pol = policy("rules:\n  - action: skip\n");
	p.annotation = "fs";
	p.velero_exclude_pod = "ns/app";
	vol_choose(VOL_MODE_NONE, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_SKIP);       /* none wins over everything */
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_FS);
	ck_assert_str_eq(c.reason, "annotation kahu.io/volume-backup=fs");
	p.annotation = "Snapshot";
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_int_eq(c.failed, 1);
	ck_assert_ptr_nonnull(strstr(c.reason, "\"Snapshot\" is not one of fs, csi, skip"));
	p.annotation = NULL;
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_SKIP);
	ck_assert_str_eq(c.reason, "excluded by backup.velero.io/backup-volumes-excludes of pod ns/app");
	p.driver = "d";
	p.snapshot_class = "snap";
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_CSI);
	vol_choose(VOL_MODE_FS, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_SKIP);
	p.velero_exclude_pod = NULL;
	p.velero_include_pod = "ns/app";
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_FS);
	p.velero_include_pod = NULL;
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_SKIP);
	ck_assert_str_eq(c.reason, "volume policy pol.yaml:2 (rule 1)");
	vol_policy_free(pol);

	p.bound = 0;
	vol_choose(VOL_MODE_FS, NULL, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_SKIP);
	ck_assert_str_eq(c.reason, "not bound to a volume");
}
END_TEST

START_TEST(test_policy_match)
{
	struct vol_policy *pol = policy(
		"version: 1\n"
		"rules:\n"
		"  - match:\n"
		"      storageClass: [\"scratch-*\", tmp]\n"
		"    action: skip\n"
		"  - match:\n"
		"      size: \">100Gi\"\n"
		"      accessModes: ReadWriteOnce\n"
		"    action: csi\n"
		"  - match:\n"
		"      selector: \"app in (db,cache),!nobackup\"\n"
		"      size: \">=1Gi,<=100Gi\"\n"
		"    action: fs\n"
		"  - action: skip\n");
	ck_assert_uint_eq(vol_policy_rules(pol), 4);
	struct vol_choice c;
	struct vol_pvc p = pvc();
	json_t *labels = json_pack("{s:s}", "app", "db");
	p.labels = labels;

	p.storage_class = "scratch-fast";
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_str_eq(c.reason, "volume policy pol.yaml:3 (rule 1)");
	p.storage_class = "tmp";
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_SKIP);

	p.storage_class = "standard";
	p.size = 200ULL << 30;
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_CSI);
	ck_assert_int_eq(c.failed, 1);   /* no class for a non-CSI volume */
	ck_assert_str_eq(c.reason, "volume policy pol.yaml:6 (rule 2), but the volume is not a CSI volume");
	p.access_modes = VOL_ACCESS_RWX;  /* rule 2 needs RWO */
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_str_eq(c.reason, "volume policy pol.yaml:14 (rule 4)");

	p.size = 1ULL << 30;              /* >= 1Gi: rule 3 */
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_int_eq(c.method, VOL_METHOD_FS);
	ck_assert_str_eq(c.reason, "volume policy pol.yaml:10 (rule 3)");
	p.size = (1ULL << 30) - 1;
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_str_eq(c.reason, "volume policy pol.yaml:14 (rule 4)");
	p.size = 100ULL << 30;
	json_object_set_new(labels, "nobackup", json_string(""));
	vol_choose(VOL_MODE_AUTO, pol, &p, &c);
	ck_assert_str_eq(c.reason, "volume policy pol.yaml:14 (rule 4)");
	json_decref(labels);
	vol_policy_free(pol);
}
END_TEST

START_TEST(test_policy_load_missing)
{
	struct vol_policy *p = NULL;
	ck_assert_int_eq(vol_policy_load("/nonexistent/pol.yaml", &p), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--volume-policy: cannot read /nonexistent/pol.yaml"));
}
END_TEST

static json_t *pod(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	ck_assert_msg(j != NULL, "%s", e.text);
	return j;
}

START_TEST(test_index)
{
	struct vol_index *ix = vol_index_new();
	json_t *p1 = pod("{\"metadata\":{\"name\":\"app-0\",\"namespace\":\"ns\","
			 "\"annotations\":{\"backup.velero.io/backup-volumes\":\"data, logs\"}},"
			 "\"spec\":{\"nodeName\":\"node-1\",\"volumes\":["
			 "{\"name\":\"data\",\"persistentVolumeClaim\":{\"claimName\":\"data-app-0\"}},"
			 "{\"name\":\"cfg\",\"configMap\":{\"name\":\"c\"}},"
			 "{\"name\":\"scratch\",\"ephemeral\":{}}],"
			 "\"initContainers\":[{\"name\":\"init\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/init\"}]}],"
			 "\"containers\":[{\"name\":\"side\"},"
			 "{\"name\":\"main\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/var/lib/data\",\"readOnly\":true},"
			 "{\"name\":\"scratch\",\"mountPath\":\"/tmp/s\"}]}]},"
			 "\"status\":{\"phase\":\"Running\"}}");
	json_t *p2 = pod("{\"metadata\":{\"name\":\"job\",\"namespace\":\"ns\","
			 "\"annotations\":{\"backup.velero.io/backup-volumes-excludes\":\"v\"}},"
			 "\"spec\":{\"nodeName\":\"node-2\",\"volumes\":["
			 "{\"name\":\"v\",\"persistentVolumeClaim\":{\"claimName\":\"shared\",\"readOnly\":true}}],"
			 "\"initContainers\":[{\"name\":\"init\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/s\"}]}],"
			 "\"containers\":[{\"name\":\"c\"}]},"
			 "\"status\":{\"phase\":\"Running\"}}");
	json_t *p3 = pod("{\"metadata\":{\"name\":\"done\",\"namespace\":\"ns\"},"
			 "\"spec\":{\"volumes\":[{\"name\":\"v\",\"persistentVolumeClaim\":{\"claimName\":\"old\"}}],"
			 "\"containers\":[{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/o\"}]}]},"
			 "\"status\":{\"phase\":\"Succeeded\"}}");
	json_t *p4 = pod("{\"metadata\":{\"name\":\"gone\",\"namespace\":\"ns\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"},"
			 "\"spec\":{\"volumes\":[{\"name\":\"v\",\"persistentVolumeClaim\":{\"claimName\":\"del\"}}],"
			 "\"containers\":[{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/o\"}]}]},"
			 "\"status\":{\"phase\":\"Running\"}}");
	json_t *p5 = pod("{\"metadata\":{\"namespace\":\"ns\"}}");
	ck_assert_int_eq(vol_index_add_pod(ix, p1), 0);
	ck_assert_int_eq(vol_index_add_pod(ix, p2), 0);
	ck_assert_int_eq(vol_index_add_pod(ix, p3), 0);
	ck_assert_int_eq(vol_index_add_pod(ix, p4), 0);
	ck_assert_int_eq(vol_index_add_pod(ix, p5), KAHU_EDATA);
	/* many claims: the table grows */
	for (int i = 0; i < 300; i++) {
		char buf[512];
		snprintf(buf, sizeof buf, "{\"metadata\":{\"name\":\"p%d\",\"namespace\":\"n%d\"},"
			 "\"spec\":{\"nodeName\":\"n\",\"volumes\":[{\"name\":\"v\",\"persistentVolumeClaim\":{\"claimName\":\"c%d\"}}],"
			 "\"containers\":[{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"v\",\"mountPath\":\"/m\"}]}]},"
			 "\"status\":{\"phase\":\"Running\"}}", i, i % 7, i);
		json_t *j = pod(buf);
		ck_assert_int_eq(vol_index_add_pod(ix, j), 0);
		json_decref(j);
	}
	ck_assert_uint_eq(vol_index_size(ix), 4 + 300);

	const struct vol_claim_use *u = vol_index_get(ix, "ns", "data-app-0");
	ck_assert_ptr_nonnull(u);
	ck_assert_uint_eq(u->nmounts, 1);
	const struct vol_mount *m = vol_claim_best_mount(u);
	ck_assert_str_eq(m->pod, "app-0");
	ck_assert_str_eq(m->container, "main");           /* not the init container */
	ck_assert_str_eq(m->mount_path, "/var/lib/data");
	ck_assert_str_eq(m->node, "node-1");
	ck_assert_int_eq(m->read_only, 1);
	ck_assert_int_eq(m->init, 0);
	ck_assert_str_eq(u->velero_include_pod, "ns/app-0");
	ck_assert_ptr_null(u->velero_exclude_pod);

	u = vol_index_get(ix, "ns", "app-0-scratch");   /* generic ephemeral volume */
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(vol_claim_best_mount(u)->mount_path, "/tmp/s");

	u = vol_index_get(ix, "ns", "shared");
	m = vol_claim_best_mount(u);
	ck_assert_str_eq(m->container, "init");
	ck_assert_int_eq(m->init, 1);
	ck_assert_int_eq(m->read_only, 1);               /* the claim reference is read-only */
	ck_assert_str_eq(u->velero_exclude_pod, "ns/job");

	u = vol_index_get(ix, "ns", "old");               /* known, but no running pod */
	ck_assert_ptr_nonnull(u);
	ck_assert_ptr_null(vol_claim_best_mount(u));
	ck_assert_ptr_null(vol_index_get(ix, "ns", "del"));
	ck_assert_ptr_null(vol_index_get(ix, "other", "data-app-0"));
	u = vol_index_get(ix, "n3", "c164");
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(u->mounts[0].pod, "p164");

	json_decref(p1);
	json_decref(p2);
	json_decref(p3);
	json_decref(p4);
	json_decref(p5);
	vol_index_free(ix);
}
END_TEST


START_TEST(test_helper_flags)
{
	json_t *j = NULL;
	ck_assert_int_eq(vol_helper_parse_resources("cpu=500m, memory=256Mi", &j), 0);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s, "{\"limits\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"},"
			    "\"requests\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"}}");
	free(s);
	json_decref(j);
	ck_assert_int_eq(vol_helper_parse_resources("gpu=1", &j), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "\"gpu\" is not one of cpu, memory"));
	ck_assert_int_eq(vol_helper_parse_resources("cpu=lots", &j), KAHU_EUSAGE);
	ck_assert_int_eq(vol_helper_parse_resources("cpu", &j), KAHU_EUSAGE);
	ck_assert_int_eq(vol_helper_parse_resources("cpu=1,cpu=2", &j), KAHU_EUSAGE);
	ck_assert_int_eq(vol_helper_parse_resources("", &j), KAHU_EUSAGE);
	ck_assert_ptr_null(j);

	struct strv v = STRV_INIT;
	strv_push(&v, "disk=ssd,zone=a");
	strv_push(&v, "kubernetes.io/os=linux");
	ck_assert_int_eq(vol_helper_parse_node_selector(&v, &j), 0);
	ck_assert_uint_eq(json_object_size(j), 3);
	json_decref(j);
	strv_push(&v, "bad key=x");
	ck_assert_int_eq(vol_helper_parse_node_selector(&v, &j), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--helper-node-selector: \"bad key=x\""));
	strv_free(&v);

	strv_push(&v, "dedicated=backup:NoSchedule,gpu");
	strv_push(&v, "*");
	ck_assert_int_eq(vol_helper_parse_tolerations(&v, &j), 0);
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s, "[{\"effect\":\"NoSchedule\",\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"backup\"},"
			    "{\"key\":\"gpu\",\"operator\":\"Exists\"},{\"operator\":\"Exists\"}]");
	free(s);
	json_decref(j);
	strv_push(&v, "a:Sometimes");
	ck_assert_int_eq(vol_helper_parse_tolerations(&v, &j), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "effect \"Sometimes\""));
	strv_free(&v);

	ck_assert_int_eq(vol_helper_parse_image("busybox:1.36"), 0);
	ck_assert_int_eq(vol_helper_parse_image("bad image"), KAHU_EUSAGE);
	ck_assert_int_eq(vol_helper_parse_image(""), KAHU_EUSAGE);
}
END_TEST

START_TEST(test_helper_spec)
{
	struct vol_run_id run;
	vol_run_id_init(&run, "boot/4026531836");
	json_t *res = NULL, *tol = NULL;
	struct strv v = STRV_INIT;
	strv_push(&v, "dedicated=backup:NoSchedule");
	ck_assert_int_eq(vol_helper_parse_resources("cpu=100m", &res), 0);
	ck_assert_int_eq(vol_helper_parse_tolerations(&v, &tol), 0);
	struct vol_helper_opts o = { .resources = res, .tolerations = tol, .lifetime_s = 3600 };
	json_t *pod = vol_helper_spec(&o, &run, VOL_PURPOSE_BACKUP, "ns", "data", "node-1", NULL, 1000);
	json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	const char *name = json_string_value(json_object_get(md, "name"));
	ck_assert_int_eq(strncmp(name, "kahu-helper-", 12), 0);
	ck_assert_uint_eq(strlen(name), 22);
	json_t *labels = json_object_get(md, "labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "app.kubernetes.io/managed-by")), "kahu");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "kahu.io/purpose")), "volume-backup");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "kahu.io/run")), run.id);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "annotations"), "kahu.io/pid-space")),
			 "boot/4026531836");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "annotations"), "kahu.io/expires")),
			 "1970-01-01T01:17:40Z");   /* 1000 + 3600 + 60 */
	ck_assert_str_eq(json_string_value(json_object_get(spec, "nodeName")), "node-1");
	json_t *c = json_array_get(json_object_get(spec, "containers"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(c, "image")), "busybox:1.36");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "command"), 0)), "sleep");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "command"), 1)), "3600");
	ck_assert(json_is_true(json_object_get(json_array_get(json_object_get(c, "volumeMounts"), 0), "readOnly")));
	ck_assert_ptr_nonnull(json_object_get(c, "resources"));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(spec, "securityContext"), "runAsUser")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(
		json_object_get(spec, "volumes"), 0), "persistentVolumeClaim"), "claimName")), "data");
	ck_assert_uint_eq(json_array_size(json_object_get(spec, "tolerations")), 1);
	json_decref(pod);

	/* restore: read-write; no node known: the PV's node affinity */
	json_t *aff = json_pack("{s:{s:[{s:[{s:s,s:s,s:[s]}]}]}}", "required", "nodeSelectorTerms",
				"matchExpressions", "key", "kubernetes.io/hostname", "operator", "In",
				"values", "node-2");
	o.image = "registry.example/tools:1";
	pod = vol_helper_spec(&o, &run, VOL_PURPOSE_RESTORE, "ns", "data", NULL, aff, 1000);
	spec = json_object_get(pod, "spec");
	c = json_array_get(json_object_get(spec, "containers"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(c, "image")), "registry.example/tools:1");
	ck_assert(json_is_false(json_object_get(json_array_get(json_object_get(c, "volumeMounts"), 0), "readOnly")));
	ck_assert_ptr_null(json_object_get(spec, "nodeName"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(spec, "affinity"), "nodeAffinity"),
					      "requiredDuringSchedulingIgnoredDuringExecution"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(pod, "metadata"),
		"labels"), "kahu.io/purpose")), "volume-restore");
	json_decref(pod);
	json_decref(aff);
	json_decref(res);
	json_decref(tol);
	strv_free(&v);
	vol_run_id_clear(&run);
}
END_TEST

START_TEST(test_owner_alive)
{
	char buf[512];
	json_t *md;
	/* ours: this process */
	snprintf(buf, sizeof buf, "{\"labels\":{\"kahu.io/run\":\"%ld-0-0\"},\"annotations\":"
		 "{\"kahu.io/pid-space\":\"S\",\"kahu.io/expires\":\"1970-01-01T00:00:00Z\"}}", (long)getpid());
	md = json_loads(buf, 0, NULL);
	ck_assert_int_eq(vol_owner_alive(md, "S", 2000000000), 1);
	/* same pid space, a pid that cannot exist: dead whatever the expiry says */
	json_decref(md);
	md = json_loads("{\"labels\":{\"kahu.io/run\":\"2147483646-0-0\"},\"annotations\":"
			"{\"kahu.io/pid-space\":\"S\",\"kahu.io/expires\":\"2100-01-01T00:00:00Z\"}}", 0, NULL);
	ck_assert_int_eq(vol_owner_alive(md, "S", 1000), 0);
	/* another pid space: judged by the expiry */
	ck_assert_int_eq(vol_owner_alive(md, "T", 1000), 1);
	ck_assert_int_eq(vol_owner_alive(md, "T", 5000000000LL), 0);
	ck_assert_int_eq(vol_owner_alive(md, NULL, 1000), 1);
	json_decref(md);
	/* no expiry elsewhere: dead; no run label: not ours, alive */
	md = json_loads("{\"labels\":{\"kahu.io/run\":\"12-0-0\"}}", 0, NULL);
	ck_assert_int_eq(vol_owner_alive(md, "S", 1000), 0);
	json_decref(md);
	md = json_loads("{\"labels\":{}}", 0, NULL);
	ck_assert_int_eq(vol_owner_alive(md, "S", 1000), 1);
	json_decref(md);
}
END_TEST

START_TEST(test_snapclass)
{
	json_t *items = json_loads("["
		"{\"metadata\":{\"name\":\"a-plain\"},\"driver\":\"d1\"},"
		"{\"metadata\":{\"name\":\"a-default\",\"annotations\":{\"snapshot.storage.kubernetes.io/is-default-class\":\"true\"}},\"driver\":\"d1\"},"
		"{\"metadata\":{\"name\":\"b-off\",\"annotations\":{\"snapshot.storage.kubernetes.io/is-default-class\":\"false\"}},\"driver\":\"d2\"},"
		"{\"metadata\":{\"name\":\"nodriver\"}}]", 0, NULL);
	struct vol_snapclasses *c = vol_snapclasses_from(items);
	ck_assert_str_eq(vol_snapclass_for(c, "d1", NULL), "a-default");
	ck_assert_str_eq(vol_snapclass_for(c, "d1", "a-plain"), "a-plain");
	ck_assert_ptr_null(vol_snapclass_for(c, "d2", NULL));       /* not the default */
	ck_assert_str_eq(vol_snapclass_for(c, "d2", "b-off"), "b-off");
	ck_assert_ptr_null(vol_snapclass_for(c, "d2", "a-plain"));  /* another driver's */
	ck_assert_ptr_null(vol_snapclass_for(c, NULL, NULL));
	ck_assert_int_eq(vol_snapclass_exists(c, "b-off"), 1);
	ck_assert_int_eq(vol_snapclass_exists(c, "nodriver"), 0);
	vol_snapclasses_free(c);
	json_decref(items);
}
END_TEST

/* The defaults of backup create: auto, with data movement; --snapshot-move-data takes
 * true or false; --volume-data none refuses it either way. */
START_TEST(test_backup_defaults)
{
	struct vol_opts o;
	struct vol_flags f = { 0 };
	ck_assert_int_eq(vol_opts_parse(&f, 0, &o), 0);
	ck_assert_int_eq(o.mode, VOL_MODE_AUTO);
	ck_assert_int_eq(o.move_data, 1);
	vol_opts_clear(&o);
	f.snapshot_move_data = "false";
	ck_assert_int_eq(vol_opts_parse(&f, 0, &o), 0);
	ck_assert_int_eq(o.move_data, 0);
	vol_opts_clear(&o);
	f.snapshot_move_data = "yes";
	ck_assert_int_eq(vol_opts_parse(&f, 0, &o), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--snapshot-move-data: \"yes\" is not true or false"));
	f.snapshot_move_data = "true";
	f.volume_data = "none";
	ck_assert_int_eq(vol_opts_parse(&f, 0, &o), KAHU_EUSAGE);
	f.snapshot_move_data = "false";
	ck_assert_int_eq(vol_opts_parse(&f, 0, &o), KAHU_EUSAGE);
	f.snapshot_move_data = NULL;
	ck_assert_int_eq(vol_opts_parse(&f, 0, &o), 0);
	ck_assert_int_eq(o.mode, VOL_MODE_NONE);
	vol_opts_clear(&o);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("volsel");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_mode);
	tcase_add_test(tc, test_quantity);
	tcase_add_test(tc, test_policy_errors);
	tcase_add_test(tc, test_choose_order);
	tcase_add_test(tc, test_policy_match);
	tcase_add_test(tc, test_policy_load_missing);
	tcase_add_test(tc, test_index);
	tcase_add_test(tc, test_helper_flags);
	tcase_add_test(tc, test_helper_spec);
	tcase_add_test(tc, test_owner_alive);
	tcase_add_test(tc, test_snapclass);
	tcase_add_test(tc, test_backup_defaults);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(suite)

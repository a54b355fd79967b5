/* Backup plans: every field of the document read into the plan, refusals with file,
 * line and field, the JSON form read back the same, names, the test clock, and the
 * cadence's decisions on synthetic histories. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "engine/plan.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

static int64_t T(const char *iso)
{
	int64_t t;
	ck_assert_msg(kahu_time_parse(iso, KAHU_TIME_UTC, &t) == 0, "bad test time %s", iso);
	return t;
}

static const char FULL_PLAN[] =
	"apiVersion: kahu.io/v1\n"
	"kind: BackupPlan\n"
	"metadata:\n"
	"  name: nightly\n"
	"spec:\n"
	"  includeNamespaces: [shop, 'pay*']\n"
	"  excludeNamespaces: kube-system\n"
	"  includeResources: [deployments, configmaps]\n"
	"  excludeResources: [events]\n"
	"  includeClusterResources: \"false\"\n"
	"  # selector: app=web (either this or orSelector)\n"
	"  orSelector: tier=a or tier=b\n"
	"  includeNames: ['web-*']\n"
	"  excludeNames: ['*-tmp']\n"
	"  labels: {team: ops, tier: gold}\n"
	"  parallel: 8\n"
	"  compressionLevel: 5\n"
	"  pageSize: 250\n"
	"  hooksFile: /etc/kahu/hooks.yaml\n"
	"  volumes:\n"
	"    data: fs\n"
	"    excludePaths: ['cache/**', 'tmp/*']\n"
	"    snapshotMoveData: false\n"
	"    snapshotClass: fast\n"
	"    csiSnapshotTimeout: 5m\n"
	"    location: vol\n"
	"    helper:\n"
	"      image: busybox:1.37\n"
	"      resources: {cpu: 100m, memory: 64Mi}\n"
	"      nodeSelector: {disk: ssd}\n"
	"      tolerations: ['dedicated=backup:NoSchedule']\n"
	"  location: s3-prod\n"
	"  context: prod\n"
	"  schedule: \"30 2 * * *\"\n"
	"  timeZone: UTC\n"
	"  cadence:\n"
	"    type: differential\n"
	"    full: \"0 3 * * 0\"\n"
	"  retention:\n"
	"    keepLast: 3\n"
	"    keepHourly: 24\n"
	"    keepDaily: 7\n"
	"    keepWeekly: 4\n"
	"    keepMonthly: 12\n"
	"    keepYearly: 2\n"
	"    ttl: 2160h\n";

static void check_full(const struct backup_plan *p)
{
	ck_assert_str_eq(p->name, "nightly");
	ck_assert_str_eq(p->include_namespaces, "shop,pay*");
	ck_assert_str_eq(p->exclude_namespaces, "kube-system");
	ck_assert_str_eq(p->include_resources, "deployments,configmaps");
	ck_assert_str_eq(p->exclude_resources, "events");
	ck_assert_str_eq(p->include_cluster_resources, "false");
	ck_assert_ptr_null(p->selector);
	ck_assert_str_eq(p->or_selector, "tier=a or tier=b");
	ck_assert_str_eq(p->include_names, "web-*");
	ck_assert_str_eq(p->exclude_names, "*-tmp");
	ck_assert_uint_eq(p->labels.n, 2);
	ck_assert_str_eq(p->labels.v[0], "team=ops");
	ck_assert_str_eq(p->labels.v[1], "tier=gold");
	ck_assert_int_eq(p->parallel, 8);
	ck_assert_int_eq(p->compression_level, 5);
	ck_assert_int_eq(p->page_size, 250);
	ck_assert_str_eq(p->hooks_file, "/etc/kahu/hooks.yaml");
	ck_assert_str_eq(p->volume_data, "fs");
	ck_assert_int_eq(backup_plan_has_volumes(p), 1);
	ck_assert_uint_eq(p->exclude_paths.n, 2);
	ck_assert_str_eq(p->exclude_paths.v[1], "tmp/*");
	ck_assert_str_eq(p->snapshot_move_data, "false");
	ck_assert_str_eq(p->snapshot_class, "fast");
	ck_assert_str_eq(p->csi_snapshot_timeout, "5m");
	ck_assert_str_eq(p->volume_location, "vol");
	ck_assert_str_eq(p->helper_image, "busybox:1.37");
	ck_assert_str_eq(p->helper_resources, "cpu=100m,memory=64Mi");
	ck_assert_str_eq(p->node_selector.v[0], "disk=ssd");
	ck_assert_str_eq(p->tolerations.v[0], "dedicated=backup:NoSchedule");
	ck_assert_str_eq(p->location, "s3-prod");
	ck_assert_str_eq(p->context, "prod");
	ck_assert_str_eq(p->schedule, "30 2 * * *");
	ck_assert_str_eq(p->time_zone, "UTC");
	ck_assert_int_eq(p->cadence, PLAN_CADENCE_DIFFERENTIAL);
	ck_assert_str_eq(p->full_schedule, "0 3 * * 0");
	ck_assert_int_eq(p->keep.last, 3);
	ck_assert_int_eq(p->keep.hourly, 24);
	ck_assert_int_eq(p->keep.daily, 7);
	ck_assert_int_eq(p->keep.weekly, 4);
	ck_assert_int_eq(p->keep.monthly, 12);
	ck_assert_int_eq(p->keep.yearly, 2);
	ck_assert_str_eq(p->ttl, "2160h");
	int64_t next;
	ck_assert_int_eq(backup_plan_next_run(p, T("2026-01-04T03:00:00Z"), &next), 0);
	ck_assert_int_eq(next, T("2026-01-05T02:30:00Z"));

	/* the backup args point at the same values */
	struct backup_args a;
	backup_plan_args(p, &a);
	ck_assert_str_eq(a.include_namespaces, "shop,pay*");
	ck_assert_str_eq(a.location, "s3-prod");
	ck_assert_str_eq(a.vol.volume_data, "fs");
	ck_assert_str_eq(a.volume_location, "vol");
	ck_assert_int_eq(a.parallel, 8);
	ck_assert_ptr_eq(a.labels, &p->labels);
}

START_TEST(test_every_field)
{
	struct backup_plan *p = NULL;
	int rc = backup_plan_parse(FULL_PLAN, strlen(FULL_PLAN), "full.yaml", &p);
	ck_assert_msg(rc == 0, "%s", kahu_error_last());
	check_full(p);

	/* its JSON form (the configuration's) reads back the same */
	struct backup_plan *q = NULL;
	rc = backup_plan_from_json(p->doc, "config: plans.nightly", &q);
	ck_assert_msg(rc == 0, "%s", kahu_error_last());
	check_full(q);
	ck_assert(json_equal(p->doc, q->doc));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(p->doc, "spec"),
									  "retention"), "keepLast")), 3);
	backup_plan_free(q);
	backup_plan_free(p);
}
END_TEST

/* spec.volumes.mover: the data movers (backup create's --data-mover flags). */
START_TEST(test_mover)
{
	static const char text[] = "apiVersion: kahu.io/v1\nkind: BackupPlan\nmetadata: {name: a}\n"
				   "spec:\n  volumes:\n    mover: {type: cluster, perNode: 3, timeout: 2h, "
				   "image: 'reg.example/kahu:1', secret: bundle, retries: 0}\n";
	struct backup_plan *p = NULL;
	int rc = backup_plan_parse(text, strlen(text), "m.yaml", &p);
	ck_assert_msg(rc == 0, "%s", kahu_error_last());
	ck_assert_str_eq(p->mover_type, "cluster");
	ck_assert_str_eq(p->mover_per_node, "3");
	ck_assert_str_eq(p->mover_timeout, "2h");
	ck_assert_str_eq(p->mover_image, "reg.example/kahu:1");
	ck_assert_str_eq(p->mover_secret, "bundle");
	ck_assert_str_eq(p->mover_retries, "0");
	/* the JSON form reads back the same */
	struct backup_plan *q = NULL;
	ck_assert_int_eq(backup_plan_from_json(p->doc, "config", &q), 0);
	ck_assert_str_eq(q->mover_per_node, "3");
	backup_plan_free(q);
	backup_plan_free(p);
	static const struct { const char *mover, *want; } bad[] = {
		{ "{type: remote}", "m.yaml:5: spec.volumes.mover.type: expected local or cluster" },
		{ "{perNode: 0}", "m.yaml:5: spec.volumes.mover.perNode: 0 is out of range 1-64" },
		{ "{retries: 11}", "m.yaml:5: spec.volumes.mover.retries: 11 is out of range 0-10" },
		{ "{timeout: soon}", "m.yaml:5: spec.volumes.mover.timeout" },
		{ "{nodes: 2}", "m.yaml:5: spec.volumes.mover: unknown field \"nodes\"" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *t = xasprintf("apiVersion: kahu.io/v1\nkind: BackupPlan\nmetadata: {name: a}\n"
				    "spec:\n  volumes: {mover: %s}\n", bad[i].mover);
		p = NULL;
		rc = backup_plan_parse(t, strlen(t), "m.yaml", &p);
		ck_assert_msg(rc == KAHU_EUSAGE && strstr(kahu_error_last(), bad[i].want), "%s: %d %s",
			      bad[i].mover, rc, kahu_error_last());
		ck_assert_ptr_null(p);
		free(t);
	}
}
END_TEST

START_TEST(test_defaults)
{
	static const char text[] = "apiVersion: kahu.io/v1\nkind: BackupPlan\nmetadata: {name: a}\nspec: {}\n";
	struct backup_plan *p = NULL;
	ck_assert_int_eq(backup_plan_parse(text, strlen(text), "min.yaml", &p), 0);
	ck_assert_int_eq(p->parallel, 4);
	ck_assert_int_eq(p->compression_level, 3);
	ck_assert_int_eq(p->page_size, 500);
	ck_assert_int_eq(p->cadence, PLAN_CADENCE_FULL);
	ck_assert_int_eq(p->keep.last, -1);
	ck_assert_int_eq(p->keep.yearly, -1);
	ck_assert_ptr_null(p->location);
	ck_assert_ptr_null(p->schedule);
	ck_assert_int_eq(backup_plan_has_volumes(p), 1);   /* auto */
	int64_t next;
	ck_assert_int_eq(backup_plan_next_run(p, 0, &next), -1);
	backup_plan_free(p);

	/* a full schedule alone means incremental */
	static const char inc[] = "apiVersion: kahu.io/v1\nkind: BackupPlan\nmetadata: {name: a}\n"
				  "spec: {cadence: {full: '@weekly'}}\n";
	ck_assert_int_eq(backup_plan_parse(inc, strlen(inc), "inc.yaml", &p), 0);
	ck_assert_int_eq(p->cadence, PLAN_CADENCE_INCREMENTAL);
	backup_plan_free(p);
}
END_TEST

/* Each refusal: a change to the full plan, and the message wanted (FILE:LINE: …). */
static const struct {
	const char *from, *to, *want;
} REFUSALS[] = {
	{ "apiVersion: kahu.io/v1", "apiVersion: kahu.io/v2", "bad.yaml:1: apiVersion: expected kahu.io/v1" },
	{ "kind: BackupPlan", "kind: Backup", "bad.yaml:2: kind: expected BackupPlan" },
	{ "kind: BackupPlan\n", "", "bad.yaml:1: kind: missing" },
	{ "  name: nightly", "  name: Nightly", "bad.yaml:4: metadata.name: invalid plan name" },
	{ "  name: nightly", "  name: a-very-long-plan-name-that-cannot-fit-in-a-backup-name", "bad.yaml:4: metadata.name: plan name" },
	{ "  name: nightly", "  name: nightly\n  namespace: x", "bad.yaml:5: metadata: unknown field \"namespace\"" },
	{ "  includeNamespaces: [shop, 'pay*']", "  includeNamespace: [shop]", "bad.yaml:6: spec: unknown field \"includeNamespace\"" },
	{ "  includeNamespaces: [shop, 'pay*']", "  includeNamespaces: {a: b}", "bad.yaml:6: spec.includeNamespaces: expected a list" },
	{ "  includeNamespaces: [shop, 'pay*']", "  includeNamespaces: ['a,b']", "bad.yaml:6: spec.includeNamespaces: \"a,b\"" },
	{ "  includeClusterResources: \"false\"", "  includeClusterResources: maybe", "bad.yaml:10: spec.includeClusterResources: expected auto, true or false" },
	{ "  orSelector: tier=a or tier=b", "  orSelector: 'app in (web'", "bad.yaml:5: spec: " },
	{ "  # selector: app=web (either this or orSelector)", "  selector: app=web", "bad.yaml:12: spec.orSelector: give either selector or orSelector, not both" },
	{ "  labels: {team: ops, tier: gold}", "  labels: {kahu.io/plan: other}", "bad.yaml:15: spec.labels: kahu.io/plan is the plan's own label" },
	{ "  labels: {team: ops, tier: gold}", "  labels: {team: 'not valid!'}", "bad.yaml:15: spec.labels: invalid label" },
	{ "  labels: {team: ops, tier: gold}", "  labels: [team]", "bad.yaml:15: spec.labels: expected a mapping" },
	{ "  parallel: 8", "  parallel: 0", "bad.yaml:16: spec.parallel: 0 is out of range 1-64" },
	{ "  parallel: 8", "  parallel: eight", "bad.yaml:16: spec.parallel: \"eight\" is not a whole number" },
	{ "  parallel: 8", "  parallel: '8'", "bad.yaml:16: spec.parallel: expected a whole number" },
	{ "  compressionLevel: 5", "  compressionLevel: 20", "bad.yaml:17: spec.compressionLevel: 20 is out of range 1-19" },
	{ "  pageSize: 250", "  pageSize: 100001", "bad.yaml:18: spec.pageSize: 100001 is out of range" },
	{ "  hooksFile: /etc/kahu/hooks.yaml", "  hooksFile: hooks.yaml", "bad.yaml:19: spec.hooksFile: \"hooks.yaml\" is not an absolute path" },
	{ "    data: fs", "    data: everything", "bad.yaml:21: spec.volumes.data: expected none, fs, csi or auto" },
	{ "    data: fs", "    data: none", "spec.volumes.location: the plan's backups carry no volume data" },
	{ "    snapshotMoveData: false", "    snapshotMoveData: maybe", "bad.yaml:23: spec.volumes.snapshotMoveData: expected true or false" },
	{ "    csiSnapshotTimeout: 5m", "    csiSnapshotTimeout: soon", "bad.yaml:25: spec.volumes.csiSnapshotTimeout: " },
	{ "    location: vol", "    location: 'no/slash'", "bad.yaml:26: spec.volumes.location: \"no/slash\" is not a location name" },
	{ "    location: vol", "    location: vol\n    size: 1Gi", "bad.yaml:27: spec.volumes: unknown field \"size\"" },
	{ "      image: busybox:1.37", "      img: busybox", "bad.yaml:28: spec.volumes.helper: unknown field \"img\"" },
	{ "      resources: {cpu: 100m, memory: 64Mi}", "      resources: {cpu: lots}", "bad.yaml:20: spec.volumes: " },
	{ "  location: s3-prod", "  location: ''", "bad.yaml:32: spec.location: empty" },
	{ "  schedule: \"30 2 * * *\"", "  schedule: \"30 25 * * *\"", "bad.yaml:34: spec.schedule: " },
	{ "  schedule: \"30 2 * * *\"", "  schedule: \"@reboot\"", "bad.yaml:34: spec.schedule: " },
	{ "  timeZone: UTC", "  timeZone: Mars/Olympus_Mons", "bad.yaml:35: spec.timeZone: " },
	{ "    type: differential", "    type: sometimes", "bad.yaml:37: spec.cadence.type: expected full, incremental or differential" },
	{ "    type: differential", "    type: full", "bad.yaml:38: spec.cadence.full: a full schedule means nothing" },
	{ "    full: \"0 3 * * 0\"", "    full: \"0 3 * * 8\"", "bad.yaml:38: spec.cadence.full: " },
	{ "    full: \"0 3 * * 0\"", "    every: week", "bad.yaml:38: spec.cadence: unknown field \"every\"" },
	{ "    keepLast: 3", "    keepLast: -1", "bad.yaml:40: spec.retention.keepLast: -1 is out of range" },
	{ "    keepDaily: 7", "    keepDays: 7", "bad.yaml:42: spec.retention: unknown field \"keepDays\"" },
	{ "    ttl: 2160h", "    ttl: forever", "bad.yaml:46: spec.retention.ttl: " },
	{ "spec:\n", "spec:\n  :\n", "bad.yaml:" },
	{ "    ttl: 2160h\n", "    ttl: 2160h\n---\napiVersion: kahu.io/v1\n", "bad.yaml:48: a second document" },
	{ "  parallel: 8", "  parallel: [8", "bad.yaml:" },
	{ "  context: prod", "  context: prod\n  contexts: [a, b]", "bad.yaml:33: spec.context: give either context or contexts, not both" },
	{ "  context: prod", "  contexts: []", "bad.yaml:33: spec.contexts: the list is empty" },
	{ "  context: prod", "  contexts: [prod-eu, Prod.EU]", "bad.yaml:33: spec.contexts: prod-eu and Prod.EU both make the series nightly-prod-eu" },
	{ "  context: prod", "  contexts: ['...']", "bad.yaml:33: spec.contexts: context \"...\": nothing of it can name a series" },
	{ "  context: prod", "  contexts: [a-context-name-long-enough-to-overflow-the-series]", "bad.yaml:33: spec.contexts: context \"a-context" },
};

START_TEST(test_refusals)
{
	const char *from = REFUSALS[_i].from, *to = REFUSALS[_i].to;
	const char *at = strstr(FULL_PLAN, from);
	ck_assert_msg(at != NULL, "case %d: \"%s\" not in the plan", _i, from);
	char *text = xasprintf("%.*s%s%s", (int)(at - FULL_PLAN), FULL_PLAN, to, at + strlen(from));
	struct backup_plan *p = NULL;
	int rc = backup_plan_parse(text, strlen(text), "bad.yaml", &p);
	ck_assert_msg(rc == KAHU_EUSAGE, "case %d (%s): rc %d, %s", _i, to, rc, kahu_error_last());
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(kahu_error_last(), REFUSALS[_i].want) != NULL, "case %d: got \"%s\", want \"%s\"", _i,
		      kahu_error_last(), REFUSALS[_i].want);
	free(text);
}
END_TEST

START_TEST(test_series)
{
	const char *at = strstr(FULL_PLAN, "  context: prod\n");
	char *text = xasprintf("%.*s  contexts: [Prod.EU, 'kind-staging']\n%s", (int)(at - FULL_PLAN), FULL_PLAN,
			       at + strlen("  context: prod\n"));
	struct backup_plan *p = NULL, q;
	ck_assert_int_eq(backup_plan_parse(text, strlen(text), "series.yaml", &p), 0);
	ck_assert_uint_eq(p->contexts.n, 2);
	ck_assert_str_eq(p->series.v[0], "nightly-prod-eu");
	ck_assert_str_eq(p->series.v[1], "nightly-kind-staging");
	ck_assert_int_eq(backup_plan_series(p, 1, &q), 0);
	ck_assert_str_eq(q.name, "nightly-kind-staging");
	ck_assert_str_eq(q.context, "kind-staging");
	ck_assert_uint_eq(q.contexts.n, 0);
	ck_assert_ptr_eq(q.cron, p->cron);
	ck_assert_int_eq(backup_plan_series(p, 2, &q), KAHU_EINTERNAL);
	kahu_error_clear();
	char *n = NULL;
	ck_assert_int_eq(plan_series_name("fleet", "--A__b..C--", &n), 0);
	ck_assert_str_eq(n, "fleet-a-b-c");
	free(n);
	backup_plan_free(p);
	free(text);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_int_eq(plan_name_check("nightly"), 0);
	ck_assert_int_eq(plan_name_check("a"), 0);
	ck_assert_int_eq(plan_name_check("db-2"), 0);
	ck_assert_int_eq(plan_name_check(""), KAHU_EUSAGE);
	ck_assert_int_eq(plan_name_check("-a"), KAHU_EUSAGE);
	ck_assert_int_eq(plan_name_check("a-"), KAHU_EUSAGE);
	ck_assert_int_eq(plan_name_check("a.b"), KAHU_EUSAGE);
	ck_assert_int_eq(plan_name_check("A"), KAHU_EUSAGE);
	char max[PLAN_NAME_MAX + 2];
	memset(max, 'a', sizeof max);
	max[PLAN_NAME_MAX] = '\0';
	ck_assert_int_eq(plan_name_check(max), 0);
	max[PLAN_NAME_MAX] = 'a';
	max[PLAN_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(plan_name_check(max), KAHU_EUSAGE);

	char *n = plan_backup_name("nightly", T("2026-01-04T03:00:00Z"));
	ck_assert_str_eq(n, "nightly-20260104-030000");
	int64_t t;
	ck_assert_int_eq(plan_backup_time("nightly", n, &t), 0);
	ck_assert_int_eq(t, T("2026-01-04T03:00:00Z"));
	free(n);
	ck_assert_int_eq(plan_backup_time("nightly", "nightly-20260104-0300", &t), -1);
	ck_assert_int_eq(plan_backup_time("nightly", "nightly2-20260104-030000", &t), -1);
	ck_assert_int_eq(plan_backup_time("nightly", "nightly-20260231-030000", &t), -1);
	ck_assert_int_eq(plan_backup_time("nightly", "nightly-2026010x-030000", &t), -1);
	/* another plan whose name starts like it */
	ck_assert_int_eq(plan_backup_time("night", "nightly-20260104-030000", &t), -1);
}
END_TEST

START_TEST(test_clock)
{
	int64_t now;
	int fake;
	unsetenv(PLAN_ENV_NOW);
	ck_assert_int_eq(plan_now(&now, &fake), 0);
	ck_assert_int_eq(fake, 0);
	setenv(PLAN_ENV_NOW, "2026-01-04T03:00:00Z", 1);
	ck_assert_int_eq(plan_now(&now, &fake), 0);
	ck_assert_int_eq(fake, 1);
	ck_assert_int_eq(now, T("2026-01-04T03:00:00Z"));
	setenv(PLAN_ENV_NOW, "9999-01-01T00:00:00Z", 1);
	ck_assert_int_eq(plan_now(&now, &fake), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "only be set back"));
	setenv(PLAN_ENV_NOW, "2026-01-04T03:00:00+01:00", 1);
	ck_assert_int_eq(plan_now(&now, &fake), KAHU_EUSAGE);
	setenv(PLAN_ENV_NOW, "tomorrow", 1);
	ck_assert_int_eq(plan_now(&now, &fake), KAHU_EUSAGE);
	unsetenv(PLAN_ENV_NOW);
}
END_TEST

/* ---- the cadence ---- */

static struct backup_plan *cadence_plan(const char *cadence)
{
	char *text = xasprintf("apiVersion: kahu.io/v1\nkind: BackupPlan\nmetadata: {name: p}\n"
			       "spec:\n  schedule: '0 3 * * *'\n%s", cadence);
	struct backup_plan *p = NULL;
	int rc = backup_plan_parse(text, strlen(text), "cadence.yaml", &p);
	ck_assert_msg(rc == 0, "%s", kahu_error_last());
	free(text);
	return p;
}

START_TEST(test_cadence_weekly_full)
{
	struct backup_plan *p = cadence_plan("  cadence: {full: '0 3 * * 0'}\n");
	struct plan_decision d;
	/* no history: full */
	ck_assert_int_eq(plan_decide(p, NULL, 0, T("2026-01-03T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_FULL);
	ck_assert_int_eq(d.parent, -1);

	/* Saturday full; Sunday 03:00: the full schedule fired at Sunday 03:00 */
	struct plan_past h[4] = {
		{ "p-20260103-030000", T("2026-01-03T03:00:00Z"), 1, 0 },
	};
	ck_assert_int_eq(plan_decide(p, h, 1, T("2026-01-04T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_FULL);
	ck_assert_ptr_nonnull(strstr(d.why, "2026-01-04T03:00:00Z"));
	/* a minute before it fired: incremental on Saturday's */
	ck_assert_int_eq(plan_decide(p, h, 1, T("2026-01-04T02:59:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_INCREMENTAL);
	ck_assert_int_eq(d.parent, 0);

	/* Sunday full, then Monday: incremental on Sunday's; Tuesday: on Monday's */
	h[1] = (struct plan_past){ "p-20260104-030000", T("2026-01-04T03:00:00Z"), 1, 0 };
	ck_assert_int_eq(plan_decide(p, h, 2, T("2026-01-05T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_INCREMENTAL);
	ck_assert_int_eq(d.parent, 1);
	h[2] = (struct plan_past){ "p-20260105-030000", T("2026-01-05T03:00:00Z"), 0, 0 };
	ck_assert_int_eq(plan_decide(p, h, 3, T("2026-01-06T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_INCREMENTAL);
	ck_assert_int_eq(d.parent, 2);

	/* a Failed incremental is no parent */
	h[3] = (struct plan_past){ "p-20260106-030000", T("2026-01-06T03:00:00Z"), 0, 1 };
	ck_assert_int_eq(plan_decide(p, h, 4, T("2026-01-07T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_INCREMENTAL);
	ck_assert_int_eq(d.parent, 2);

	/* the next Sunday: full */
	ck_assert_int_eq(plan_decide(p, h, 4, T("2026-01-11T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_FULL);
	/* a missed Sunday: still full on Monday (it fired since the last full) */
	ck_assert_int_eq(plan_decide(p, h, 4, T("2026-01-12T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_FULL);
	backup_plan_free(p);
}
END_TEST

START_TEST(test_cadence_failed_full)
{
	struct backup_plan *p = cadence_plan("  cadence: {full: '0 3 * * 0'}\n");
	struct plan_decision d;
	/* Sunday's full Failed: Monday is full again (a failed full is not a full) */
	struct plan_past h[] = {
		{ "p-20260103-030000", T("2026-01-03T03:00:00Z"), 1, 0 },
		{ "p-20260104-030000", T("2026-01-04T03:00:00Z"), 1, 1 },
	};
	ck_assert_int_eq(plan_decide(p, h, 2, T("2026-01-05T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_FULL);
	/* only failed backups: full */
	ck_assert_int_eq(plan_decide(p, h + 1, 1, T("2026-01-04T04:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_FULL);
	ck_assert_ptr_nonnull(strstr(d.why, "no full backup"));
	backup_plan_free(p);
}
END_TEST

START_TEST(test_cadence_differential_and_full)
{
	struct backup_plan *p = cadence_plan("  cadence: {type: differential, full: '0 3 1 * *'}\n");
	struct plan_decision d;
	struct plan_past h[] = {
		{ "p-20260101-030000", T("2026-01-01T03:00:00Z"), 1, 0 },
		{ "p-20260102-030000", T("2026-01-02T03:00:00Z"), 0, 0 },
		{ "p-20260103-030000", T("2026-01-03T03:00:00Z"), 0, 0 },
	};
	ck_assert_int_eq(plan_decide(p, h, 3, T("2026-01-04T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_DIFFERENTIAL);
	ck_assert_int_eq(d.parent, 0);   /* on the full one */
	ck_assert_int_eq(plan_decide(p, h, 3, T("2026-02-01T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_FULL);
	backup_plan_free(p);

	/* always full */
	p = cadence_plan("");
	ck_assert_int_eq(plan_decide(p, h, 3, T("2026-01-04T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_FULL);
	backup_plan_free(p);

	/* incremental with no full schedule: one full, then incrementals forever */
	p = cadence_plan("  cadence: {type: incremental}\n");
	ck_assert_int_eq(plan_decide(p, h, 3, T("2027-01-04T03:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_INCREMENTAL);
	ck_assert_int_eq(d.parent, 2);
	backup_plan_free(p);
}
END_TEST

/* The full schedule in a zone: Sunday 03:00 in Europe/Berlin is Sunday 02:00 UTC. */
START_TEST(test_cadence_zone)
{
	struct backup_plan *p = cadence_plan("  timeZone: Europe/Berlin\n  cadence: {full: '0 3 * * 0'}\n");
	struct plan_decision d;
	struct plan_past h[] = {
		{ "p-20260103-030000", T("2026-01-03T03:00:00Z"), 1, 0 },
	};
	ck_assert_int_eq(plan_decide(p, h, 1, T("2026-01-04T01:59:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_INCREMENTAL);
	ck_assert_int_eq(plan_decide(p, h, 1, T("2026-01-04T02:00:00Z"), &d), 0);
	ck_assert_int_eq(d.kind, BACKUP_FULL);
	backup_plan_free(p);
}
END_TEST

static Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("plan");
	tcase_add_test(tc, test_every_field);
	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_refusals, 0, (int)(sizeof REFUSALS / sizeof *REFUSALS));
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_series);
	tcase_add_test(tc, test_mover);
	tcase_add_test(tc, test_clock);
	tcase_add_test(tc, test_cadence_weekly_full);
	tcase_add_test(tc, test_cadence_failed_full);
	tcase_add_test(tc, test_cadence_differential_and_full);
	tcase_add_test(tc, test_cadence_zone);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(plan_suite)

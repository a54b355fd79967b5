/* What `kahu plan install` writes (engine/install.h): the Kubernetes objects and their
 * RBAC for the whole cluster and for named namespaces, with and without volume data; a
 * Deployment for watch; the crontab entry (shell and cron quoting, the time zone
 * refusal); the systemd units (ExecStart quoting, OnCalendar with the zone,
 * Persistent=true); refusals of names that cannot name objects. */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "engine/install.h"
#include "util/cron.h"
#include "util/err.h"
#include <stdio.h>
#include <time.h>

static const char *const no_ns[] = { NULL };

static struct install_spec base(void)
{
	struct install_spec s = {
		.plan = "nightly",
		.plan_yaml = "apiVersion: kahu.io/v1\nkind: BackupPlan\n",
		.schedule = "0 3 * * *",
		.time_zone = "Europe/Berlin",
		.namespace = "kahu",
		.image = "registry.example/kahu:0.1.0",
		.namespaces = no_ns,
		.kahu_path = "/usr/local/bin/kahu",
		.system_time_zone = "UTC",
		.on_calendar = "*-*-* 03:00:00",
		.has_key = 1,
	};
	return s;
}

static json_t *find(json_t *objs, const char *kind, const char *name, const char *ns)
{
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o) {
		json_t *m = json_object_get(o, "metadata");
		const char *on = json_string_value(json_object_get(m, "namespace"));
		if (strcmp(json_string_value(json_object_get(o, "kind")), kind) == 0 &&
		    strcmp(json_string_value(json_object_get(m, "name")), name) == 0 &&
		    (!ns || (on && strcmp(on, ns) == 0)))
			return o;
	}
	return NULL;
}

static size_t count(json_t *objs, const char *kind)
{
	size_t i, n = 0;
	json_t *o;
	json_array_foreach(objs, i, o)
		n += strcmp(json_string_value(json_object_get(o, "kind")), kind) == 0;
	return n;
}

/* Does a rule of the role grant verb on group/resource? */
static int grants(json_t *role, const char *group, const char *res, const char *verb)
{
	size_t i, j;
	json_t *r, *v;
	json_array_foreach(json_object_get(role, "rules"), i, r) {
		int g = 0, rs = 0, vb = 0;
		json_array_foreach(json_object_get(r, "apiGroups"), j, v)
			g |= !strcmp(json_string_value(v), group) || !strcmp(json_string_value(v), "*");
		json_array_foreach(json_object_get(r, "resources"), j, v)
			rs |= !strcmp(json_string_value(v), res) || !strcmp(json_string_value(v), "*");
		json_array_foreach(json_object_get(r, "verbs"), j, v)
			vb |= !strcmp(json_string_value(v), verb);
		if (g && rs && vb)
			return 1;
	}
	return 0;
}

START_TEST(test_whole_cluster_metadata)
{
	struct install_spec s = base();
	json_t *o = install_k8s_objects(&s);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(o, 0), "kind")), "Namespace");
	ck_assert_ptr_nonnull(find(o, "ServiceAccount", "kahu-nightly", "kahu"));
	json_t *role = find(o, "ClusterRole", "kahu-nightly", NULL);
	ck_assert_ptr_nonnull(role);
	ck_assert(grants(role, "apps", "deployments", "list"));
	ck_assert(grants(role, "", "secrets", "get"));
	/* metadata only: no writes anywhere, no exec, no watch */
	ck_assert(!grants(role, "", "pods", "create"));
	ck_assert(!grants(role, "", "pods/exec", "create"));
	ck_assert(!grants(role, "", "configmaps", "watch"));
	ck_assert(!grants(role, "", "configmaps", "delete"));
	json_t *crb = find(o, "ClusterRoleBinding", "kahu-nightly", NULL);
	ck_assert_ptr_nonnull(crb);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(crb, "roleRef"), "name")),
			 "kahu-nightly");
	ck_assert_uint_eq(count(o, "RoleBinding"), 0);

	json_t *cj = find(o, "CronJob", "kahu-nightly", "kahu");
	ck_assert_ptr_nonnull(cj);
	json_t *spec = json_object_get(cj, "spec");
	ck_assert_str_eq(json_string_value(json_object_get(spec, "schedule")), "0 3 * * *");
	ck_assert_str_eq(json_string_value(json_object_get(spec, "timeZone")), "Europe/Berlin");
	ck_assert_str_eq(json_string_value(json_object_get(spec, "concurrencyPolicy")), "Forbid");
	ck_assert_int_eq(json_integer_value(json_object_get(spec, "startingDeadlineSeconds")), 3600);
	ck_assert_int_eq(json_integer_value(json_object_get(spec, "successfulJobsHistoryLimit")), 3);
	json_t *pod = json_object_get(json_object_get(json_object_get(json_object_get(
		spec, "jobTemplate"), "spec"), "template"), "spec");
	ck_assert_str_eq(json_string_value(json_object_get(pod, "restartPolicy")), "Never");
	ck_assert_str_eq(json_string_value(json_object_get(pod, "serviceAccountName")), "kahu-nightly");
	json_t *c = json_array_get(json_object_get(pod, "containers"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(c, "image")), "registry.example/kahu:0.1.0");
	ck_assert(json_is_true(json_object_get(json_object_get(c, "securityContext"),
					       "readOnlyRootFilesystem")));
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "args"), 1)), "run");
	/* the Secret is referenced, never inlined */
	ck_assert_uint_eq(count(o, "Secret"), 0);
	char *text = json_dumps(o, JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(text, "\"secretName\":\"kahu-nightly\""));
	free(text);
	json_t *cm = find(o, "ConfigMap", "kahu-nightly-plan", "kahu");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(cm, "data"), "plan.yaml")),
			 s.plan_yaml);
	json_decref(o);
}
END_TEST

/* --data-mover cluster: Jobs, Secrets and ServiceAccounts in the plan's namespaces. */
START_TEST(test_movers_rbac)
{
	static const char *const ns[] = { "shop" };
	struct install_spec s = base();
	s.namespaces = ns;
	s.n_namespaces = 1;
	s.volumes = INSTALL_VOL_FS | INSTALL_VOL_MOVERS;
	json_t *o = install_k8s_objects(&s);
	ck_assert_ptr_nonnull(o);
	json_t *role = find(o, "ClusterRole", "kahu-nightly", NULL);
	ck_assert(grants(role, "batch", "jobs", "create"));
	ck_assert(grants(role, "batch", "jobs", "delete"));
	ck_assert(grants(role, "", "secrets", "create"));
	ck_assert(grants(role, "", "serviceaccounts", "delete"));
	ck_assert(grants(role, "batch", "jobs", "list"));      /* the namespaces' reads */
	/* the movers' live progress: get on pods/log, through the namespaces' reads ("*"
	 * covers subresources in RBAC) */
	ck_assert(grants(role, "", "pods/log", "get"));
	ck_assert(!grants(role, "rbac.authorization.k8s.io", "rolebindings", "create"));
	/* file copies only: the snapshot classes are read (a claim's annotation or a policy
	 * may ask for a snapshot), snapshots neither made nor their contents read */
	json_t *cl = find(o, "ClusterRole", "kahu-nightly-cluster", NULL);
	ck_assert_ptr_nonnull(cl);
	ck_assert(grants(cl, "snapshot.storage.k8s.io", "volumesnapshotclasses", "list"));
	ck_assert(!grants(cl, "snapshot.storage.k8s.io", "volumesnapshotcontents", "list"));
	ck_assert(!grants(role, "snapshot.storage.k8s.io", "volumesnapshots", "create"));
	json_decref(o);
}
END_TEST

START_TEST(test_named_namespaces_with_volumes)
{
	static const char *const ns[] = { "shop", "db" };
	struct install_spec s = base();
	s.namespaces = ns;
	s.n_namespaces = 2;
	s.volumes = INSTALL_VOL_FS | INSTALL_VOL_CSI;
	s.has_aws_credentials = 1;
	json_t *o = install_k8s_objects(&s);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(count(o, "RoleBinding"), 2);
	ck_assert_ptr_nonnull(find(o, "RoleBinding", "kahu-nightly", "shop"));
	ck_assert_ptr_nonnull(find(o, "RoleBinding", "kahu-nightly", "db"));
	/* no binding of the namespaced role across the cluster */
	ck_assert_ptr_null(find(o, "ClusterRoleBinding", "kahu-nightly", NULL));
	json_t *role = find(o, "ClusterRole", "kahu-nightly", NULL);
	ck_assert(grants(role, "", "pods/exec", "create"));
	ck_assert(grants(role, "", "pods", "create"));
	ck_assert(grants(role, "", "persistentvolumeclaims", "create"));
	ck_assert(grants(role, "snapshot.storage.k8s.io", "volumesnapshots", "create"));
	json_t *cl = find(o, "ClusterRole", "kahu-nightly-cluster", NULL);
	ck_assert_ptr_nonnull(cl);
	ck_assert(grants(cl, "", "persistentvolumes", "get"));
	ck_assert(grants(cl, "", "namespaces", "list"));
	ck_assert(grants(cl, "snapshot.storage.k8s.io", "volumesnapshotcontents", "patch"));
	ck_assert(!grants(cl, "", "secrets", "get"));
	ck_assert(!grants(cl, "apps", "deployments", "list"));
	ck_assert(!grants(role, "batch", "jobs", "create"));   /* no data movers asked for */
	ck_assert_ptr_nonnull(find(o, "ClusterRoleBinding", "kahu-nightly-cluster", NULL));
	char *text = json_dumps(o, JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(text, "AWS_SHARED_CREDENTIALS_FILE"));
	ck_assert_ptr_null(strstr(text, "KAHU_PASSPHRASE_FILE"));
	free(text);
	json_decref(o);
}
END_TEST

START_TEST(test_watch_deployment)
{
	struct install_spec s = base();
	s.watch = 1;
	json_t *o = install_k8s_objects(&s);
	ck_assert_uint_eq(count(o, "CronJob"), 0);
	json_t *d = find(o, "Deployment", "kahu-nightly", "kahu");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(d, "spec"), "replicas")), 1);
	json_t *role = find(o, "ClusterRole", "kahu-nightly", NULL);
	ck_assert(grants(role, "", "configmaps", "watch"));
	char *text = json_dumps(o, JSON_COMPACT);
	ck_assert_ptr_null(strstr(text, "--quiet-period"));   /* plan watch's defaults */
	free(text);
	json_decref(o);
	/* the watcher's settings, in its arguments */
	s.quiet_period = "5m";
	s.max_interval = "0";
	o = install_k8s_objects(&s);
	d = find(o, "Deployment", "kahu-nightly", "kahu");
	json_t *c = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(
		d, "spec"), "template"), "spec"), "containers"), 0);
	text = json_dumps(json_object_get(c, "args"), JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(text, "\"plan\",\"watch\",\"nightly\""));
	ck_assert_ptr_nonnull(strstr(text, "\"--quiet-period\",\"5m\",\"--max-interval\",\"0\""));
	free(text);
	json_decref(o);
	/* a CronJob's run has no watcher */
	s.watch = 0;
	s.schedule = "0 3 * * *";
	o = install_k8s_objects(&s);
	text = json_dumps(o, JSON_COMPACT);
	ck_assert_ptr_null(strstr(text, "--quiet-period"));
	free(text);
	json_decref(o);
}
END_TEST

START_TEST(test_bad_names)
{
	struct install_spec s = base();
	const char *bad[] = { "", "Nightly", "-a", "a-", "a_b", "a.b",
			      "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijx" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s.plan = bad[i];
		ck_assert_ptr_null(install_k8s_objects(&s));
		ck_assert_int_eq(kahu_error_code(), KAHU_EUSAGE);
		ck_assert_ptr_null(install_cron_entry(&s));
		kahu_error_clear();
	}
}
END_TEST

START_TEST(test_cron_entry)
{
	struct install_spec s = base();
	s.time_zone = NULL;
	s.config_path = "/home/o'neil/kahu 100%.json";
	s.log_file = "/var/log/kahu/nightly.log";
	s.lock_wait = "1h";
	char *e = install_cron_entry(&s);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e,
		"# kahu plan nightly: installed by 'kahu plan install nightly --cron'; "
		"'kahu plan uninstall nightly --cron' removes it\n"
		"0 3 * * * '/usr/local/bin/kahu' '--config' '/home/o'\\''neil/kahu 100\\%.json' "
		"'plan' 'run' 'nightly' '--no-progress' '--lock-wait' '1h' >> "
		"'/var/log/kahu/nightly.log' 2>&1\n");
	free(e);
	/* the plan's zone is the system's: fine */
	s.time_zone = "Europe/Berlin";
	s.system_time_zone = "Europe/Berlin";
	e = install_cron_entry(&s);
	ck_assert_ptr_nonnull(e);
	free(e);
	/* another zone: cron cannot do it */
	s.system_time_zone = "UTC";
	ck_assert_ptr_null(install_cron_entry(&s));
	ck_assert_int_eq(kahu_error_code(), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--systemd"));
	kahu_error_clear();
	/* a line break would start another crontab line */
	s.time_zone = NULL;
	s.log_file = "/tmp/x\n* * * * * rm -rf ~";
	ck_assert_ptr_null(install_cron_entry(&s));
	kahu_error_clear();
}
END_TEST

START_TEST(test_systemd_units)
{
	struct install_spec s = base();
	s.config_path = "/etc/kahu/a \"b\" 5%$.json";
	s.on_calendar = "*-*-01 03:00:00\nSun *-*-* 03:00:00";
	char *svc = NULL, *tmr = NULL;
	ck_assert_int_eq(install_systemd_units(&s, &svc, &tmr), 0);
	ck_assert_ptr_nonnull(strstr(svc, "Type=oneshot\n"));
	ck_assert_ptr_nonnull(strstr(svc, "ExecStart=\"/usr/local/bin/kahu\" \"--config\" "
				     "\"/etc/kahu/a \\\"b\\\" 5%%$$.json\" \"plan\" \"run\" \"nightly\""));
	ck_assert_ptr_nonnull(strstr(tmr, "OnCalendar=*-*-01 03:00:00 Europe/Berlin\n"
				     "OnCalendar=Sun *-*-* 03:00:00 Europe/Berlin\n"));
	ck_assert_ptr_nonnull(strstr(tmr, "Persistent=true\n"));
	ck_assert_ptr_nonnull(strstr(tmr, "Unit=kahu-plan-nightly.service\n"));
	free(svc);
	free(tmr);
	char *n = install_systemd_name("nightly", "timer");
	ck_assert_str_eq(n, "kahu-plan-nightly.timer");
	free(n);
}
END_TEST

static char *calendar_of(const char *expr)
{
	struct cron *c = NULL;
	ck_assert_int_eq(cron_parse(expr, "UTC", &c), 0);
	char *cal = install_calendar(c);
	cron_free(c);
	return cal;
}

START_TEST(test_calendar)
{
	static const struct { const char *cron, *cal; } t[] = {
		{ "0 3 * * *", "*-*-* 03:00:00" },
		{ "@hourly", "*-*-* *:00:00" },
		{ "*/15 * * * *", "*-*-* *:00,15,30,45:00" },
		{ "30 2 * * 1-5", "Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00" },
		{ "0 0 * * 7", "Sun *-*-* 00:00:00" },
		{ "0 0 1 JAN,JUL *", "*-01,07-01 00:00:00" },
		/* both days restrict: either fires, so two expressions */
		{ "0 0 13 * 5", "*-*-13 00:00:00\nFri *-*-* 00:00:00" },
		/* a day-of-month with a star and a step still ANDs with the weekday */
		{ "0 0 */10 * 1", "Mon *-*-01,11,21,31 00:00:00" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *cal = calendar_of(t[i].cron);
		ck_assert_msg(strcmp(cal, t[i].cal) == 0, "%s: %s, expected %s", t[i].cron, cal,
			      t[i].cal);
		free(cal);
	}
}
END_TEST

/* systemd's own calendar (systemd-analyze, when installed) fires when cron does: the
 * next five firings from now, in UTC and in a zone, for schedules that cross no
 * daylight-saving change in that span. */
static int systemd_next(const char *cal, const char *tz, time_t *out, int n)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "TZ=UTC systemd-analyze calendar --iterations=%d '%s %s' 2>/dev/null",
		 n, cal, tz);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char line[256];
	int k = 0;
	while (k < n && fgets(line, sizeof line, p)) {
		char *at = strstr(line, "Next elapse: ");
		if (!at)
			at = strstr(line, "Iter. #");
		if (!at || !(at = strchr(at, ':')))
			continue;
		struct tm tm = { 0 };
		char wd[8];
		if (sscanf(at + 1, " %3s %d-%d-%d %d:%d:%d", wd, &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7)
			continue;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		out[k++] = timegm(&tm);
	}
	return pclose(p) == 0 ? k : -1;
}

START_TEST(test_calendar_against_systemd)
{
	if (system("command -v systemd-analyze >/dev/null 2>&1") != 0)
		return; /* checked where systemd is installed (CI installs it) */
	static const char *const exprs[] = { "0 3 * * *", "*/20 * * * *", "15 */6 * * *",
					     "0 0 13 * 5", "30 1 * * MON-FRI", "0 12 1,15 * *" };
	static const char *const zones[] = { "UTC", "Asia/Tokyo", "Asia/Kolkata" };
	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++)
		for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
			struct cron *c = NULL;
			ck_assert_int_eq(cron_parse(exprs[i], zones[z], &c), 0);
			time_t now = time(NULL), got[5];
			int64_t t = (int64_t)now;
			/* the earliest firings of the timer's lines are cron's next */
			char *cal = install_calendar(c);
			time_t best[5] = { 0 };
			for (char *line = cal; line && *line;) {
				char *nl = strchr(line, '\n');
				if (nl)
					*nl = '\0';
				int k = systemd_next(line, zones[z], got, 5);
				ck_assert_int_eq(k, 5);
				/* merge: keep the five smallest distinct times */
				time_t all[10];
				int m = 0;
				for (int j = 0; j < 5; j++)
					if (best[j])
						all[m++] = best[j];
				for (int j = 0; j < 5; j++)
					all[m++] = got[j];
				for (int a = 0; a < m; a++)
					for (int b2 = a + 1; b2 < m; b2++)
						if (all[b2] < all[a]) {
							time_t x = all[a];
							all[a] = all[b2];
							all[b2] = x;
						}
				int w = 0;
				for (int a = 0; a < m && w < 5; a++)
					if (w == 0 || all[a] != best[w - 1])
						best[w++] = all[a];
				line = nl ? nl + 1 : NULL;
			}
			free(cal);
			for (int j = 0; j < 5; j++) {
				int64_t next;
				ck_assert_int_eq(cron_next(c, t, &next), 0);
				ck_assert_msg(next == (int64_t)best[j], "%s (%s) firing %d: cron %lld, systemd %lld",
					      exprs[i], zones[z], j, (long long)next, (long long)best[j]);
				t = next;
			}
			cron_free(c);
		}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("install");
	tcase_add_test(tc, test_whole_cluster_metadata);
	tcase_add_test(tc, test_named_namespaces_with_volumes);
	tcase_add_test(tc, test_movers_rbac);
	tcase_add_test(tc, test_watch_deployment);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_cron_entry);
	tcase_add_test(tc, test_systemd_units);
	tcase_add_test(tc, test_calendar);
	tcase_add_test(tc, test_calendar_against_systemd);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(suite)

/* kahu — the objects, crontab entry and systemd units that run a plan unattended. */
#include "engine/install.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cron.h"
#include "util/err.h"
#include "util/mem.h"

#define SECRET_DIR "/etc/kahu/secret"
#define PLAN_DIR "/etc/kahu/plan"
#define KAHU_UID 65532

char *install_secret_name(const char *plan)
{
	return xasprintf(INSTALL_PREFIX "%s", plan);
}

/* A plan name is a DNS label: it names objects, units and files. */
static int check_name(const char *plan)
{
	size_t n = plan ? strlen(plan) : 0;
	/* "kahu-" + name + "-cluster" stays within 63 characters */
	if (n == 0 || n > 63 - strlen(INSTALL_PREFIX) - strlen("-cluster"))
		return kahu_error_set(KAHU_EUSAGE, "plan name \"%s\": 1 to %zu characters",
				      plan ? plan : "", 63 - strlen(INSTALL_PREFIX) - strlen("-cluster"));
	for (size_t i = 0; i < n; i++) {
		char c = plan[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			 (c == '-' && i > 0 && i + 1 < n);
		if (!ok)
			return kahu_error_set(KAHU_EUSAGE, "plan name \"%s\": lower-case letters, "
					      "digits and '-' inside only (it names Kubernetes "
					      "objects and systemd units)", plan);
	}
	return 0;
}

static json_t *labels(const struct install_spec *s)
{
	return json_pack("{s:s, s:s, s:s}", "app.kubernetes.io/name", "kahu",
			 "app.kubernetes.io/managed-by", "kahu", INSTALL_LABEL, s->plan);
}

static json_t *meta(const struct install_spec *s, const char *name, int namespaced)
{
	json_t *m = json_pack("{s:s, s:o}", "name", name, "labels", labels(s));
	if (namespaced)
		json_object_set_new(m, "namespace", json_string(s->namespace));
	return m;
}

static json_t *object(const char *api, const char *kind, json_t *metadata)
{
	return json_pack("{s:s, s:s, s:o}", "apiVersion", api, "kind", kind, "metadata", metadata);
}

static json_t *strs(const char *first, ...)
{
	json_t *a = json_array();
	va_list ap;
	va_start(ap, first);
	for (const char *p = first; p; p = va_arg(ap, const char *))
		json_array_append_new(a, json_string(p));
	va_end(ap);
	return a;
}

static json_t *rule(json_t *groups, json_t *resources, json_t *verbs)
{
	return json_pack("{s:o, s:o, s:o}", "apiGroups", groups, "resources", resources,
			 "verbs", verbs);
}

/* What kahu does in the namespaces it backs up: read everything there; with volume
 * data or hooks, run commands in pods and create helper pods; with data movers, Jobs,
 * Secrets and ServiceAccounts; with CSI, snapshots and temporary claims. */
static json_t *namespaced_rules(const struct install_spec *s)
{
	json_t *r = json_array();
	json_t *read = s->watch ? strs("get", "list", "watch", NULL) : strs("get", "list", NULL);
	json_array_append_new(r, rule(strs("*", NULL), strs("*", NULL), read));
	if (s->volumes || s->hooks)
		json_array_append_new(r, rule(strs("", NULL), strs("pods/exec", NULL),
					      strs("create", "get", NULL)));
	if (s->volumes)
		json_array_append_new(r, rule(strs("", NULL), strs("pods", NULL),
					      strs("create", "delete", NULL)));
	if (s->volumes & INSTALL_VOL_MOVERS) {
		/* data movers (engine/movers.h): a Job per volume, per namespace a Secret and
		 * a ServiceAccount of the run */
		json_array_append_new(r, rule(strs("batch", NULL), strs("jobs", NULL),
					      strs("create", "delete", NULL)));
		json_array_append_new(r, rule(strs("", NULL), strs("secrets", "serviceaccounts", NULL),
					      strs("create", "delete", NULL)));
	}
	if (s->volumes & INSTALL_VOL_CSI) {
		json_array_append_new(r, rule(strs("", NULL), strs("persistentvolumeclaims", NULL),
					      strs("create", "delete", NULL)));
		json_array_append_new(r, rule(strs("snapshot.storage.k8s.io", NULL),
					      strs("volumesnapshots", NULL),
					      strs("create", "delete", "patch", NULL)));
	}
	return r;
}

/* Cluster-scoped: with the whole cluster in scope they are in the namespaced rules'
 * "*"; a plan of named namespaces reads only the cluster-scoped objects its items need
 * (their namespaces, volumes, classes and definitions). */
static json_t *cluster_rules(const struct install_spec *s, int whole_cluster)
{
	json_t *r = json_array();
	json_t *read = s->watch ? strs("get", "list", "watch", NULL) : strs("get", "list", NULL);
	if (!whole_cluster) {
		json_array_append_new(r, rule(strs("", NULL),
					      strs("namespaces", "persistentvolumes", NULL),
					      json_deep_copy(read)));
		json_array_append_new(r, rule(strs("storage.k8s.io", NULL),
					      strs("storageclasses", NULL), json_deep_copy(read)));
		json_array_append_new(r, rule(strs("apiextensions.k8s.io", NULL),
					      strs("customresourcedefinitions", NULL),
					      json_deep_copy(read)));
		/* the classes are read whatever the method (a claim's annotation or a volume
		 * policy may ask for a snapshot); the contents only with snapshots */
		if (s->volumes)
			json_array_append_new(r, rule(strs("snapshot.storage.k8s.io", NULL),
						      (s->volumes & INSTALL_VOL_CSI) ?
						      strs("volumesnapshotclasses", "volumesnapshotcontents", NULL) :
						      strs("volumesnapshotclasses", NULL),
						      json_deep_copy(read)));
	}
	if (s->volumes & INSTALL_VOL_CSI)
		/* kept snapshots: their contents are set to Retain and labelled; prune
		 * deletes them */
		json_array_append_new(r, rule(strs("snapshot.storage.k8s.io", NULL),
					      strs("volumesnapshotcontents", NULL),
					      strs("patch", "delete", NULL)));
	json_decref(read);
	return r;
}

static json_t *subject(const struct install_spec *s, const char *sa)
{
	return json_pack("[{s:s, s:s, s:s}]", "kind", "ServiceAccount", "name", sa,
			 "namespace", s->namespace);
}

static json_t *role_ref(const char *name)
{
	return json_pack("{s:s, s:s, s:s}", "apiGroup", "rbac.authorization.k8s.io",
			 "kind", "ClusterRole", "name", name);
}

static json_t *env_var(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "name", name, "value", value);
}

/* The pod: kahu as uid 65532, nothing writable but /tmp, the Secret and the plan
 * mounted read-only, the API reached with the pod's service account. */
static json_t *pod_spec(const struct install_spec *s, const char *sa, const char *secret,
			const char *configmap, int watch)
{
	json_t *args = watch ? strs("plan", "watch", s->plan, NULL) : strs("plan", "run", s->plan, NULL);
	json_array_append_new(args, json_string("-f"));
	json_array_append_new(args, json_string(PLAN_DIR "/plan.yaml"));
	json_array_append_new(args, json_string("--config"));
	json_array_append_new(args, json_string(SECRET_DIR "/config.json"));
	json_array_append_new(args, json_string("--no-progress"));
	json_array_append_new(args, json_string("--log-format"));
	json_array_append_new(args, json_string("json"));
	if (watch && s->quiet_period) {
		json_array_append_new(args, json_string("--quiet-period"));
		json_array_append_new(args, json_string(s->quiet_period));
	}
	if (watch && s->max_interval) {
		json_array_append_new(args, json_string("--max-interval"));
		json_array_append_new(args, json_string(s->max_interval));
	}

	json_t *env = json_array();
	if (s->has_key)
		json_array_append_new(env, env_var("KAHU_KEY_FILE", SECRET_DIR "/key"));
	if (s->has_passphrase)
		json_array_append_new(env, env_var("KAHU_PASSPHRASE_FILE", SECRET_DIR "/passphrase"));
	if (s->has_aws_credentials)
		json_array_append_new(env, env_var("AWS_SHARED_CREDENTIALS_FILE",
						   SECRET_DIR "/aws-credentials"));
	json_array_append_new(env, env_var("TMPDIR", "/tmp"));

	json_t *container = json_pack(
		"{s:s, s:s, s:s, s:o, s:o,"
		" s:{s:b, s:b, s:b, s:{s:[s]}},"
		" s:[{s:s, s:s, s:b}, {s:s, s:s, s:b}, {s:s, s:s}]}",
		"name", "kahu", "image", s->image, "imagePullPolicy", "IfNotPresent",
		"args", args, "env", env,
		"securityContext", "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 1,
		"privileged", 0, "capabilities", "drop", "ALL",
		"volumeMounts",
		"name", "secret", "mountPath", SECRET_DIR, "readOnly", 1,
		"name", "plan", "mountPath", PLAN_DIR, "readOnly", 1,
		"name", "tmp", "mountPath", "/tmp");
	json_t *spec = json_pack(
		"{s:s, s:b, s:{s:b, s:i, s:i, s:i, s:{s:s}}, s:[o],"
		" s:[{s:s, s:{s:s, s:i}}, {s:s, s:{s:s}}, {s:s, s:{}}]}",
		"serviceAccountName", sa, "automountServiceAccountToken", 1,
		"securityContext", "runAsNonRoot", 1, "runAsUser", KAHU_UID, "runAsGroup", KAHU_UID,
		"fsGroup", KAHU_UID, "seccompProfile", "type", "RuntimeDefault",
		"containers", container,
		"volumes",
		"name", "secret", "secret", "secretName", secret, "defaultMode", 0440,
		"name", "plan", "configMap", "name", configmap,
		"name", "tmp", "emptyDir");
	if (!watch)
		json_object_set_new(spec, "restartPolicy", json_string("Never"));
	return spec;
}

json_t *install_k8s_objects(const struct install_spec *s)
{
	if (check_name(s->plan) < 0)
		return NULL;
	if (!s->namespace || !*s->namespace || !s->image || !*s->image || (!s->schedule && !s->watch) ||
	    !s->plan_yaml) {
		kahu_error_set(KAHU_EINTERNAL, "install: namespace, image, schedule and plan needed");
		return NULL;
	}
	char *name = install_secret_name(s->plan); /* kahu-PLAN: SA, role, binding, job */
	char *cluster = xasprintf("%s-cluster", name);
	char *cm = xasprintf("%s-plan", name);
	int whole = s->n_namespaces == 0;
	json_t *out = json_array();

	json_array_append_new(out, object("v1", "Namespace", meta(s, s->namespace, 0)));
	json_t *sa = object("v1", "ServiceAccount", meta(s, name, 1));
	json_object_set_new(sa, "automountServiceAccountToken", json_false());
	json_array_append_new(out, sa);

	/* the namespaced rules: everywhere through a ClusterRoleBinding, or in each named
	 * namespace through a RoleBinding to the same ClusterRole */
	json_t *role = object("rbac.authorization.k8s.io/v1", "ClusterRole", meta(s, name, 0));
	json_t *rules = namespaced_rules(s);
	json_t *crules = cluster_rules(s, whole);
	if (whole)
		json_array_extend(rules, crules);
	json_object_set_new(role, "rules", rules);
	json_array_append_new(out, role);
	if (!whole && json_array_size(crules) > 0) {
		json_t *cr = object("rbac.authorization.k8s.io/v1", "ClusterRole",
				    meta(s, cluster, 0));
		json_object_set(cr, "rules", crules);
		json_array_append_new(out, cr);
		json_t *crb = object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
				     meta(s, cluster, 0));
		json_object_set_new(crb, "roleRef", role_ref(cluster));
		json_object_set_new(crb, "subjects", subject(s, name));
		json_array_append_new(out, crb);
	}
	json_decref(crules);
	if (whole) {
		json_t *crb = object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding",
				     meta(s, name, 0));
		json_object_set_new(crb, "roleRef", role_ref(name));
		json_object_set_new(crb, "subjects", subject(s, name));
		json_array_append_new(out, crb);
	}
	for (size_t i = 0; i < s->n_namespaces; i++) {
		json_t *m = meta(s, name, 0);
		json_object_set_new(m, "namespace", json_string(s->namespaces[i]));
		json_t *rb = object("rbac.authorization.k8s.io/v1", "RoleBinding", m);
		json_object_set_new(rb, "roleRef", role_ref(name));
		json_object_set_new(rb, "subjects", subject(s, name));
		json_array_append_new(out, rb);
	}

	json_t *cmo = object("v1", "ConfigMap", meta(s, cm, 1));
	json_object_set_new(cmo, "data", json_pack("{s:s}", "plan.yaml", s->plan_yaml));
	json_array_append_new(out, cmo);

	json_t *pod = pod_spec(s, name, name, cm, s->watch);
	/* the token only in kahu's own pods: the ServiceAccount does not mount it */
	json_t *tmpl = json_pack("{s:{s:o}, s:o}", "metadata", "labels", labels(s), "spec", pod);
	if (s->watch) {
		json_t *d = object("apps/v1", "Deployment", meta(s, name, 1));
		json_object_set_new(d, "spec", json_pack(
			"{s:i, s:{s:s}, s:{s:{s:s}}, s:o}", "replicas", 1,
			"strategy", "type", "Recreate",
			"selector", "matchLabels", INSTALL_LABEL, s->plan,
			"template", tmpl));
		json_array_append_new(out, d);
	} else {
		json_t *job = json_pack("{s:i, s:{s:O, s:o}}", "backoffLimit", 0,
					"template", "metadata", json_object_get(tmpl, "metadata"),
					"spec", json_incref(json_object_get(tmpl, "spec")));
		json_decref(tmpl);
		json_t *cj = object("batch/v1", "CronJob", meta(s, name, 1));
		json_t *spec = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:{s:o, s:o}}",
					 "schedule", s->schedule, "concurrencyPolicy", "Forbid",
					 "startingDeadlineSeconds",
					 (json_int_t)(s->starting_deadline > 0 ? s->starting_deadline : 3600),
					 "successfulJobsHistoryLimit",
					 (json_int_t)(s->history > 0 ? s->history : 3),
					 "failedJobsHistoryLimit",
					 (json_int_t)(s->history > 0 ? s->history : 3),
					 "suspend", 0,
					 "jobTemplate", "metadata",
					 json_pack("{s:o}", "labels", labels(s)), "spec", job);
		if (s->time_zone && *s->time_zone && strcmp(s->time_zone, "UTC") != 0)
			json_object_set_new(spec, "timeZone", json_string(s->time_zone));
		json_object_set_new(cj, "spec", spec);
		json_array_append_new(out, cj);
	}
	free(name);
	free(cluster);
	free(cm);
	return out;
}

/* ---- cron ---- */

char *install_sh_quote(const char *arg)
{
	struct kbuf b = KBUF_INIT;
	kbuf_addc(&b, '\'');
	for (const char *p = arg; *p; p++) {
		if (*p == '\'')
			kbuf_adds(&b, "'\\''");
		else
			kbuf_addc(&b, *p);
	}
	kbuf_addc(&b, '\'');
	return kbuf_detach(&b);
}

/* In a crontab's command an unescaped '%' ends the command (the rest is its stdin). */
static void cron_add_arg(struct kbuf *b, const char *arg)
{
	char *q = install_sh_quote(arg);
	kbuf_addc(b, ' ');
	for (const char *p = q; *p; p++) {
		if (*p == '%')
			kbuf_addc(b, '\\');
		kbuf_addc(b, *p);
	}
	free(q);
}

char *install_cron_marker(const char *plan)
{
	return xasprintf("# kahu plan %s", plan);
}

static int has_newline(const char *s)
{
	return s && strpbrk(s, "\n\r") != NULL;
}

char *install_cron_entry(const struct install_spec *s)
{
	if (check_name(s->plan) < 0)
		return NULL;
	if (!s->kahu_path || s->kahu_path[0] != '/') {
		kahu_error_set(KAHU_EINTERNAL, "install: the absolute path of kahu is needed");
		return NULL;
	}
	const char *tz = s->time_zone && *s->time_zone ? s->time_zone : "UTC";
	const char *sys = s->system_time_zone && *s->system_time_zone ? s->system_time_zone : "UTC";
	if (strcmp(tz, sys) != 0) {
		/* CRON_TZ is not honoured by Debian's cron, and where it is, it changes every
		 * entry after it. */
		kahu_error_set(KAHU_EUSAGE, "the plan's schedule is in %s but cron runs entries "
			       "in the system's time zone (%s): use --systemd (timers take a "
			       "zone), or give the plan the time zone %s", tz, sys, sys);
		return NULL;
	}
	const char *fields[] = { s->schedule, s->kahu_path, s->config_path, s->kubeconfig,
				 s->context, s->log_file, s->lock_wait };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (has_newline(fields[i])) {
			kahu_error_set(KAHU_EUSAGE, "a crontab entry cannot hold a line break "
				       "(in \"%s\")", fields[i]);
			return NULL;
		}
	struct kbuf b = KBUF_INIT;
	char *marker = install_cron_marker(s->plan);
	kbuf_addf(&b, "%s: installed by 'kahu plan install %s --cron'; "
		  "'kahu plan uninstall %s --cron' removes it\n", marker, s->plan, s->plan);
	free(marker);
	kbuf_adds(&b, s->schedule);
	cron_add_arg(&b, s->kahu_path);
	if (s->config_path) {
		cron_add_arg(&b, "--config");
		cron_add_arg(&b, s->config_path);
	}
	if (s->kubeconfig) {
		cron_add_arg(&b, "--kubeconfig");
		cron_add_arg(&b, s->kubeconfig);
	}
	if (s->context) {
		cron_add_arg(&b, "--context");
		cron_add_arg(&b, s->context);
	}
	cron_add_arg(&b, "plan");
	cron_add_arg(&b, "run");
	cron_add_arg(&b, s->plan);
	cron_add_arg(&b, "--no-progress");
	if (s->lock_wait) {
		cron_add_arg(&b, "--lock-wait");
		cron_add_arg(&b, s->lock_wait);
	}
	if (s->log_file) {
		kbuf_adds(&b, " >>");
		cron_add_arg(&b, s->log_file);
		kbuf_adds(&b, " 2>&1");
	}
	kbuf_addc(&b, '\n');
	return kbuf_detach(&b);
}

/* ---- systemd ---- */

char *install_systemd_name(const char *plan, const char *suffix)
{
	return xasprintf("kahu-plan-%s.%s", plan, suffix);
}

/* One word of ExecStart= after a space (the first one without): double-quoted, '\\' and
 * '"' escaped, '%' (a specifier) doubled, '$' (a variable) doubled. */
static void unit_add_arg(struct kbuf *b, const char *arg)
{
	if (b->len && b->data[b->len - 1] != '=')
		kbuf_addc(b, ' ');
	kbuf_addc(b, '"');
	for (const char *p = arg; *p; p++) {
		if (*p == '\\' || *p == '"')
			kbuf_addc(b, '\\');
		else if (*p == '%' || *p == '$')
			kbuf_addc(b, *p);
		kbuf_addc(b, *p);
	}
	kbuf_addc(b, '"');
}

int install_systemd_units(const struct install_spec *s, char **service, char **timer)
{
	*service = *timer = NULL;
	if (check_name(s->plan) < 0)
		return kahu_error_code();
	if (!s->kahu_path || s->kahu_path[0] != '/' || !s->on_calendar || !*s->on_calendar)
		return kahu_error_set(KAHU_EINTERNAL, "install: kahu's path and the calendar "
				      "are needed");
	const char *fields[] = { s->kahu_path, s->config_path, s->kubeconfig, s->context,
				 s->lock_wait, s->time_zone };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (has_newline(fields[i]))
			return kahu_error_set(KAHU_EUSAGE, "a unit file cannot hold a line break "
					      "(in \"%s\")", fields[i]);
	char *svc = install_systemd_name(s->plan, "service");
	struct kbuf b = KBUF_INIT;
	kbuf_addf(&b, "# Installed by 'kahu plan install %s --systemd'; "
		  "'kahu plan uninstall %s --systemd' removes it.\n", s->plan, s->plan);
	kbuf_addf(&b, "[Unit]\nDescription=kahu: one run of the backup plan %s\n"
		  "Wants=network-online.target\nAfter=network-online.target\n\n", s->plan);
	kbuf_adds(&b, "[Service]\nType=oneshot\nExecStart=");
	unit_add_arg(&b, s->kahu_path);
	if (s->config_path) {
		unit_add_arg(&b, "--config");
		unit_add_arg(&b, s->config_path);
	}
	if (s->kubeconfig) {
		unit_add_arg(&b, "--kubeconfig");
		unit_add_arg(&b, s->kubeconfig);
	}
	if (s->context) {
		unit_add_arg(&b, "--context");
		unit_add_arg(&b, s->context);
	}
	unit_add_arg(&b, "plan");
	unit_add_arg(&b, "run");
	unit_add_arg(&b, s->plan);
	unit_add_arg(&b, "--no-progress");
	if (s->lock_wait) {
		unit_add_arg(&b, "--lock-wait");
		unit_add_arg(&b, s->lock_wait);
	}
	kbuf_adds(&b, "\n# kahu's output goes to the journal: journalctl -u ");
	kbuf_adds(&b, svc);
	kbuf_adds(&b, "\nNice=10\nIOSchedulingClass=idle\nNoNewPrivileges=yes\n"
		  "PrivateTmp=yes\nUMask=0077\n");
	*service = kbuf_detach(&b);

	kbuf_addf(&b, "# Installed by 'kahu plan install %s --systemd'; "
		  "'kahu plan uninstall %s --systemd' removes it.\n", s->plan, s->plan);
	kbuf_addf(&b, "[Unit]\nDescription=kahu: the schedule of the backup plan %s\n\n"
		  "[Timer]\n", s->plan);
	const char *tz = s->time_zone && *s->time_zone ? s->time_zone : "UTC";
	for (const char *p = s->on_calendar; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n)
			kbuf_addf(&b, "OnCalendar=%.*s %s\n", (int)n, p, tz);
		p += n + (nl ? 1 : 0);
	}
	kbuf_addf(&b, "# a run missed while the machine was off starts when it is back\n"
		  "Persistent=true\nUnit=%s\n\n[Install]\nWantedBy=timers.target\n", svc);
	*timer = kbuf_detach(&b);
	free(svc);
	return 0;
}

/* The values of a set as a comma list ("*" when it is every value lo..hi); width 2
 * zero-pads (minutes, hours, days, months as systemd prints them). */
static void calendar_list(struct kbuf *b, uint64_t set, int lo, int hi, int width)
{
	uint64_t all = 0;
	for (int v = lo; v <= hi; v++)
		all |= (uint64_t)1 << v;
	if ((set & all) == all) {
		kbuf_addc(b, '*');
		return;
	}
	int first = 1;
	for (int v = lo; v <= hi; v++)
		if ((set >> v) & 1) {
			kbuf_addf(b, "%s%0*d", first ? "" : ",", width, v);
			first = 0;
		}
}

static void calendar_one(struct kbuf *b, const struct cron_sets *s, int use_dom, int use_dow)
{
	static const char *const dow[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	if (use_dow && (s->dow & 0x7f) != 0x7f) {
		int first = 1;
		for (int d = 1; d <= 7; d++) /* Monday first, as systemd normalizes */
			if ((s->dow >> (d % 7)) & 1) {
				kbuf_addf(b, "%s%s", first ? "" : ",", dow[d % 7]);
				first = 0;
			}
		kbuf_addc(b, ' ');
	}
	kbuf_adds(b, "*-");
	calendar_list(b, s->month, 1, 12, 2);
	kbuf_addc(b, '-');
	if (use_dom)
		calendar_list(b, s->dom, 1, 31, 2);
	else
		kbuf_addc(b, '*');
	kbuf_addc(b, ' ');
	calendar_list(b, s->hour, 0, 23, 2);
	kbuf_addc(b, ':');
	calendar_list(b, s->minute, 0, 59, 2);
	kbuf_adds(b, ":00");
}

char *install_calendar(const struct cron *c)
{
	struct cron_sets s;
	cron_sets(c, &s);
	struct kbuf b = KBUF_INIT;
	if (s.dom_restricted && s.dow_restricted) {
		calendar_one(&b, &s, 1, 0);
		kbuf_addc(&b, '\n');
		calendar_one(&b, &s, 0, 1);
	} else {
		calendar_one(&b, &s, 1, 1);
	}
	return kbuf_detach(&b);
}

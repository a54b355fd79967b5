#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "engine/hooks.h"
#include "engine/hooks_backup.h"
#include "engine/restore_hooks.h"
#include "engine/scope.h"
#include "kube/discovery.h"
#include "util/strv.h"
#include "util/err.h"
#include "util/mem.h"

static json_t *pod(const char *anns_json)
{
	json_error_t je;
	char *text = xasprintf(
		"{\"metadata\":{\"name\":\"db-0\",\"namespace\":\"db\",\"labels\":{\"app\":\"pg\"},"
		"\"annotations\":%s},"
		"\"spec\":{\"containers\":[{\"name\":\"pg\"},{\"name\":\"metrics\"}],"
		"\"initContainers\":[{\"name\":\"setup\"},{\"name\":\"proxy\",\"restartPolicy\":\"Always\"}]},"
		"\"status\":{\"phase\":\"Running\",\"containerStatuses\":["
		"{\"name\":\"pg\",\"state\":{\"running\":{}}},"
		"{\"name\":\"metrics\",\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}],"
		"\"initContainerStatuses\":[{\"name\":\"setup\",\"state\":{\"terminated\":{\"reason\":\"Completed\"}}},"
		"{\"name\":\"proxy\",\"state\":{\"running\":{}}}]}}",
		anns_json);
	json_t *p = json_loads(text, 0, &je);
	ck_assert_msg(p != NULL, "%s", je.text);
	free(text);
	return p;
}

static void free_hooks(struct hook_exec *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hook_exec_clear(&h[i]);
	free(h);
}

START_TEST(test_command)
{
	struct strv a = STRV_INIT;
	ck_assert_int_eq(hook_command_parse("[\"sh\", \"-c\", \"echo a b\"]", "x", &a), 0);
	ck_assert_uint_eq(a.n, 3);
	ck_assert_str_eq(a.v[2], "echo a b");
	strv_free(&a);
	ck_assert_int_eq(hook_command_parse("/bin/sync", "x", &a), 0);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_str_eq(a.v[0], "/bin/sync");
	strv_free(&a);
	ck_assert_int_eq(hook_command_parse("[\"sh\", ", "ann", &a), KAHU_EUSAGE);
	ck_assert_msg(strstr(kahu_error_last(), "ann: invalid command") != NULL, "%s", kahu_error_last());
	ck_assert_int_eq(hook_command_parse("[]", "x", &a), KAHU_EUSAGE);
	ck_assert_int_eq(hook_command_parse("[\"a\", 1]", "x", &a), KAHU_EUSAGE);
	ck_assert_int_eq(hook_command_parse("[\"\"]", "x", &a), KAHU_EUSAGE);
	ck_assert_int_eq(hook_command_parse("  ", "x", &a), KAHU_EUSAGE);
	ck_assert_uint_eq(a.n, 0);
}
END_TEST

START_TEST(test_duration_on_error)
{
	int64_t s;
	ck_assert_int_eq(hook_duration_parse("30s", "x", &s), 0);
	ck_assert_int_eq(s, 30);
	ck_assert_int_eq(hook_duration_parse("1m30s", "x", &s), 0);
	ck_assert_int_eq(s, 90);
	ck_assert_int_eq(hook_duration_parse("45", "x", &s), 0);
	ck_assert_int_eq(s, 45);
	ck_assert_int_eq(hook_duration_parse("0s", "x", &s), KAHU_EUSAGE);
	ck_assert_int_eq(hook_duration_parse("soon", "x", &s), KAHU_EUSAGE);
	ck_assert_int_eq(hook_duration_parse("", "x", &s), KAHU_EUSAGE);
	enum hook_on_error e;
	ck_assert_int_eq(hook_on_error_parse("continue", "x", &e), 0);
	ck_assert_int_eq(e, HOOK_CONTINUE);
	ck_assert_int_eq(hook_on_error_parse("Fail", "x", &e), 0);
	ck_assert_int_eq(e, HOOK_FAIL);
	ck_assert_int_eq(hook_on_error_parse("Ignore", "where", &e), KAHU_EUSAGE);
	ck_assert_msg(strstr(kahu_error_last(), "unknown on-error value \"Ignore\"") != NULL, "%s", kahu_error_last());
}
END_TEST

START_TEST(test_annotations)
{
	/* kahu's group wins over Velero's; defaults. */
	json_t *p = pod("{\"pre.hook.backup.kahu.io/command\":\"[\\\"fsfreeze\\\",\\\"-f\\\",\\\"/data\\\"]\","
			"\"pre.hook.backup.velero.io/command\":\"/bin/velero\","
			"\"pre.hook.backup.velero.io/container\":\"metrics\","
			"\"post.hook.backup.velero.io/command\":\"/bin/thaw\","
			"\"post.hook.backup.velero.io/on-error\":\"Continue\","
			"\"post.hook.backup.velero.io/timeout\":\"2m\"}");
	struct hook_exec *h = NULL;
	size_t n = 0;
	ck_assert_int_eq(hook_pod_hooks(NULL, p, HOOK_BACKUP_PRE, &h, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(h[0].argv.v[0], "fsfreeze");
	ck_assert_ptr_null(h[0].container);
	ck_assert_int_eq(h[0].on_error, HOOK_FAIL);
	ck_assert_int_eq(h[0].timeout_s, 30);
	ck_assert_str_eq(h[0].source, "kahu annotation");
	free_hooks(h, n);
	h = NULL;
	n = 0;
	ck_assert_int_eq(hook_pod_hooks(NULL, p, HOOK_BACKUP_POST, &h, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(h[0].argv.v[0], "/bin/thaw");
	ck_assert_int_eq(h[0].on_error, HOOK_CONTINUE);
	ck_assert_int_eq(h[0].timeout_s, 120);
	ck_assert_str_eq(h[0].source, "velero annotation");
	free_hooks(h, n);
	h = NULL;
	n = 0;
	ck_assert_int_eq(hook_pod_hooks(NULL, p, HOOK_RESTORE_POST, &h, &n), 0);
	ck_assert_uint_eq(n, 0);
	json_decref(p);

	p = pod("{\"pre.hook.backup.kahu.io/command\":\"[\\\"a\\\"\"}");
	ck_assert_int_eq(hook_pod_hooks(NULL, p, HOOK_BACKUP_PRE, &h, &n), KAHU_EUSAGE);
	ck_assert_msg(strstr(kahu_error_last(), "pod db/db-0: annotation pre.hook.backup.kahu.io/command: invalid command") != NULL,
		      "%s", kahu_error_last());
	json_decref(p);
	p = pod("{\"post.hook.restore.kahu.io/command\":\"x\",\"post.hook.restore.kahu.io/wait-timeout\":\"forever\"}");
	ck_assert_int_eq(hook_pod_hooks(NULL, p, HOOK_RESTORE_POST, &h, &n), KAHU_EUSAGE);
	ck_assert_msg(strstr(kahu_error_last(), "wait-timeout: invalid duration") != NULL, "%s", kahu_error_last());
	json_decref(p);
	p = pod("{\"pre.hook.backup.kahu.io/command\":\"x\",\"pre.hook.backup.kahu.io/on-error\":\"Retry\"}");
	ck_assert_int_eq(hook_pod_hooks(NULL, p, HOOK_BACKUP_PRE, &h, &n), KAHU_EUSAGE);
	json_decref(p);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_containers)
{
	json_t *p = pod("{}");
	const char *c;
	int running;
	ck_assert_int_eq(hook_container_resolve(p, NULL, &c, &running), 0);
	ck_assert_str_eq(c, "pg");
	ck_assert_int_eq(running, 1);
	ck_assert_int_eq(hook_container_resolve(p, "metrics", &c, &running), 0);
	ck_assert_int_eq(running, 0);
	/* A native sidecar can be targeted, a plain init container cannot. */
	ck_assert_int_eq(hook_container_resolve(p, "proxy", &c, &running), 0);
	ck_assert_str_eq(c, "proxy");
	ck_assert_int_eq(running, 1);
	ck_assert_int_eq(hook_container_resolve(p, "setup", &c, &running), KAHU_ENOTFOUND);
	ck_assert_int_eq(hook_container_resolve(p, "postgres", &c, &running), KAHU_ENOTFOUND);
	ck_assert_str_eq(kahu_error_last(), "pod db/db-0 has no container \"postgres\" (its containers: "
			 "pg (running), metrics (waiting: CrashLoopBackOff), setup (init, terminated: Completed), "
			 "proxy (init, sidecar, running))");
	json_decref(p);
}
END_TEST

START_TEST(test_pod_trim)
{
	/* A full pod: what hooks do not need (the images, the environment, the volumes,
	 * managedFields, the owner) is left out; what they need gives the same answers. */
	json_t *full = pod("{\"pre.hook.backup.kahu.io/command\":\"[\\\"true\\\"]\"}");
	json_t *meta = json_object_get(full, "metadata");
	json_object_set_new(meta, "managedFields", json_pack("[{s:s}]", "manager", "kubectl"));
	json_object_set_new(meta, "uid", json_string("u-1"));
	json_t *c0 = json_array_get(json_object_get(json_object_get(full, "spec"), "containers"), 0);
	json_object_set_new(c0, "image", json_string("postgres:16"));
	json_object_set_new(c0, "env", json_pack("[{s:s, s:s}]", "name", "PGPASSWORD", "value", "s3cret"));
	json_object_set_new(json_object_get(full, "spec"), "volumes", json_pack("[{s:s}]", "name", "data"));
	json_object_set_new(json_object_get(full, "status"), "podIP", json_string("10.0.0.9"));

	json_t *t = hook_pod_trim(full);
	char *text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(text,
		"{\"metadata\":{\"annotations\":{\"pre.hook.backup.kahu.io/command\":\"[\\\"true\\\"]\"},"
		"\"labels\":{\"app\":\"pg\"},\"name\":\"db-0\",\"namespace\":\"db\"},"
		"\"spec\":{\"containers\":[{\"name\":\"pg\"},{\"name\":\"metrics\"}],"
		"\"initContainers\":[{\"name\":\"setup\"},{\"name\":\"proxy\",\"restartPolicy\":\"Always\"}]},"
		"\"status\":{\"containerStatuses\":[{\"name\":\"pg\",\"state\":{\"running\":{}}},"
		"{\"name\":\"metrics\",\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}],"
		"\"initContainerStatuses\":[{\"name\":\"setup\",\"state\":{\"terminated\":{\"reason\":\"Completed\"}}},"
		"{\"name\":\"proxy\",\"state\":{\"running\":{}}}],\"phase\":\"Running\"}}");
	free(text);

	struct hook_exec *h = NULL;
	size_t n = 0;
	ck_assert_int_eq(hook_pod_hooks(NULL, t, HOOK_BACKUP_PRE, &h, &n), 0);
	ck_assert_uint_eq(n, 1);
	free_hooks(h, n);
	const char *c;
	int running;
	ck_assert_int_eq(hook_container_resolve(t, "proxy", &c, &running), 0);
	ck_assert_int_eq(running, 1);
	char *a = hook_container_states(full), *b = hook_container_states(t);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	json_decref(t);

	/* A pod with nothing but a name (or members of the wrong types) trims to empty parts. */
	json_t *odd = json_pack("{s:{s:s}, s:s, s:{s:i}}", "metadata", "name", "x", "spec", "weird",
				"status", "containerStatuses", 3);
	t = hook_pod_trim(odd);
	text = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(text, "{\"metadata\":{\"name\":\"x\"},\"spec\":{},\"status\":{}}");
	free(text);
	json_decref(t);
	json_decref(odd);
	json_decref(full);
}
END_TEST

static const char *FILE1 =
	"hooks:\n"
	"- name: freeze\n"
	"  namespaces: [db, \"team-*\"]\n"
	"  selector: app=pg\n"
	"  pre:\n"
	"  - container: pg\n"
	"    command: [psql, -c, CHECKPOINT]\n"
	"    on-error: Continue\n"
	"    timeout: 1m\n"
	"  post:\n"
	"  - command: '[\"true\"]'\n"
	"  restore-post:\n"
	"  - command: [sh, -c, 'echo restored']\n"
	"    wait-timeout: 2m\n"
	"    exec-timeout: 10s\n"
	"  init:\n"
	"  - name: prep\n"
	"    image: busybox:1.36\n"
	"    command: [sh, -c, 'echo init']\n"
	"- name: other\n"
	"  namespaces: web\n"
	"  resources: [Deployments]\n"
	"  init:\n"
	"  - image: alpine\n"
	"local:\n"
	"  before:\n"
	"  - command: [notify, start]\n"
	"  after:\n"
	"  - name: done\n"
	"    command: [notify, done]\n"
	"    timeout: 5s\n";

START_TEST(test_file)
{
	struct hook_set *hs = NULL;
	ck_assert_int_eq(hook_set_parse(FILE1, strlen(FILE1), "h.yaml", &hs), 0);
	ck_assert_uint_eq(hs->nrules, 2);
	ck_assert_str_eq(hs->rules[0].name, "freeze");
	ck_assert_uint_eq(hs->rules[0].npre, 1);
	ck_assert_int_eq(hs->rules[0].pre[0].timeout_s, 60);
	ck_assert_int_eq(hs->rules[0].pre[0].on_error, HOOK_CONTINUE);
	ck_assert_str_eq(hs->rules[0].pre[0].source, "h.yaml:6");
	ck_assert_int_eq(hs->rules[0].restore_post[0].wait_timeout_s, 120);
	ck_assert_int_eq(hs->rules[0].restore_post[0].timeout_s, 10);
	ck_assert_str_eq(hs->rules[1].sel.resources.v[0], "deployments");
	ck_assert_str_eq(hs->before[0].name, "notify");
	ck_assert_int_eq(hs->after[0].timeout_s, 5);

	/* Annotations first, then the file's rules that select the pod. */
	json_t *p = pod("{\"pre.hook.backup.kahu.io/command\":\"/bin/sync\"}");
	struct hook_exec *h = NULL;
	size_t n = 0;
	ck_assert_int_eq(hook_pod_hooks(hs, p, HOOK_BACKUP_PRE, &h, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(h[0].argv.v[0], "/bin/sync");
	ck_assert_str_eq(h[1].name, "freeze");
	ck_assert_str_eq(h[1].argv.v[2], "CHECKPOINT");
	free_hooks(h, n);
	json_decref(p);

	/* Selectors: labels, namespaces (globs), resources. */
	json_t *labels = json_pack("{s:s}", "app", "pg"), *other = json_pack("{s:s}", "app", "web");
	ck_assert_int_eq(hook_selector_match(&hs->rules[0].sel, "pods", "team-a", labels), 1);
	ck_assert_int_eq(hook_selector_match(&hs->rules[0].sel, "pods", "web", labels), 0);
	ck_assert_int_eq(hook_selector_match(&hs->rules[0].sel, "pods", "db", other), 0);
	ck_assert_int_eq(hook_selector_match(&hs->rules[1].sel, "deployments", "web", other), 1);
	ck_assert_int_eq(hook_selector_match(&hs->rules[1].sel, "statefulsets", "web", other), 0);
	json_decref(labels);
	json_decref(other);

	json_t *meta = json_pack("{s:s, s:{s:s}, s:{s:s, s:s}}", "name", "api", "labels", "app", "web",
				 "annotations", "init.hook.restore.velero.io/container-image", "busybox",
				 "init.hook.restore.velero.io/command", "[\"echo\", \"hi\"]");
	struct hook_init *ih = NULL;
	size_t ni = 0;
	ck_assert_int_eq(hook_init_hooks(hs, "deployments", "web", meta, &ih, &ni), 0);
	ck_assert_uint_eq(ni, 2);
	ck_assert_str_eq(ih[0].image, "busybox");
	ck_assert_str_eq(ih[0].name, "restore-hook");
	ck_assert_str_eq(ih[0].argv.v[1], "hi");
	ck_assert_str_eq(ih[1].image, "alpine");
	ck_assert_str_eq(ih[1].name, "restore-hook-1");
	for (size_t i = 0; i < ni; i++)
		hook_init_clear(&ih[i]);
	free(ih);
	json_decref(meta);
	hook_set_free(hs);
}
END_TEST

static void bad(const char *text, const char *want)
{
	struct hook_set *hs = NULL;
	int rc = hook_set_parse(text, strlen(text), "f.yaml", &hs);
	ck_assert_msg(rc == KAHU_EUSAGE, "%s: rc %d", text, rc);
	ck_assert_ptr_null(hs);
	ck_assert_msg(strstr(kahu_error_last(), want) != NULL, "%s: got \"%s\", want \"%s\"", text,
		      kahu_error_last(), want);
}

START_TEST(test_file_errors)
{
	bad("hooks:\n- name: a\n  pre:\n  - command: [x]\n    onError: Fail\n",
	    "f.yaml:5: unknown key \"onError\" in an exec hook");
	bad("hook: []\n", "f.yaml:1: unknown key \"hook\" (hooks, local)");
	bad("hooks:\n- name: a\n  pre:\n  - command: '[\"x\",'\n", "f.yaml:4: command: invalid command");
	bad("hooks:\n- name: a\n  pre:\n  - command: [x]\n    on-error: Sometimes\n",
	    "f.yaml:5: on-error: unknown on-error value \"Sometimes\"");
	bad("hooks:\n- name: a\n  post:\n  - command: [x]\n    timeout: 3 weeks\n", "f.yaml:5: timeout: invalid duration");
	bad("hooks:\n- name: a\n  selector: 'a in (b'\n", "f.yaml:3: selector: invalid label selector");
	bad("hooks:\n- name: a\n- name: a\n", "f.yaml:3: a second hook named \"a\"");
	bad("hooks:\n- name: a\n  pre:\n  - container: c\n", "f.yaml:4: an exec hook without a command");
	bad("hooks:\n- name: a\n  init:\n  - name: x\n", "an init container without an image");
	bad("local:\n  during: []\n", "f.yaml:2: unknown key \"during\" in local");
	bad("hooks: [\n", "f.yaml:2: invalid YAML");
	bad("hooks:\n- name: a\n  pre:\n  - command: []\n", "f.yaml:4: command: the list is empty");
}
END_TEST

START_TEST(test_results_local)
{
	struct hook_results r;
	hook_results_init(&r);
	struct hook_local ok = { .name = (char *)"env", .timeout_s = 10, .on_error = HOOK_FAIL };
	strv_push(&ok.argv, "sh");
	strv_push(&ok.argv, "-c");
	strv_push(&ok.argv, "echo \"$KAHU_PHASE/$KAHU_STATUS\" >&2; exit 3");
	const char *env[] = { "KAHU_PHASE=after", "KAHU_STATUS=Completed", NULL };
	ck_assert_int_eq(hook_run_local(&ok, "after", env, &r), 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.v[0].exit_code, 3);
	ck_assert_str_eq(r.v[0].stderr_tail, "after/Completed");
	ck_assert_str_eq(r.v[0].error, "exit code 3");
	ck_assert_uint_eq(r.failed, 1);
	strv_free(&ok.argv);

	struct hook_local cont = { .name = (char *)"missing", .timeout_s = 10, .on_error = HOOK_CONTINUE };
	strv_push(&cont.argv, "/nonexistent/kahu-hook");
	ck_assert_int_eq(hook_run_local(&cont, "before", NULL, &r), 0);
	ck_assert_int_eq(r.v[1].exit_code, 127);
	ck_assert_str_eq(r.v[1].stderr_tail, "cannot run the hook's program (not found or not executable)");
	ck_assert_uint_eq(r.warned, 1);
	strv_free(&cont.argv);

	/* kahu's descriptors do not reach the hook. */
	int fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 3);
	struct hook_local fds = { .name = (char *)"fds", .timeout_s = 10, .on_error = HOOK_CONTINUE };
	strv_push(&fds.argv, "sh");
	strv_push(&fds.argv, "-c");
	char *script = xasprintf("if [ -e /proc/self/fd/%d ]; then echo leaked; exit 1; fi", fd);
	strv_push(&fds.argv, script);
	ck_assert_int_eq(hook_run_local(&fds, "before", NULL, &r), 0);
	ck_assert_int_eq(r.v[2].exit_code, 0);
	free(script);
	close(fd);
	strv_free(&fds.argv);

	json_t *j = hook_results_json(&r);
	ck_assert_uint_eq(json_array_size(j), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "status")), "Failed");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 1), "status")), "Warning");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "command")),
			 "sh -c echo \"$KAHU_PHASE/$KAHU_STATUS\" >&2; exit 3");
	json_decref(j);
	hook_results_free(&r);
}
END_TEST

START_TEST(test_restore_init)
{
	json_error_t je;
	json_t *cj = json_loads("{\"metadata\":{\"name\":\"nightly\",\"namespace\":\"ops\"},"
				"\"spec\":{\"jobTemplate\":{\"spec\":{\"template\":{"
				"\"metadata\":{\"annotations\":{\"init.hook.restore.kahu.io/container-image\":\"busybox\","
				"\"init.hook.restore.kahu.io/container-name\":\"wait-db\","
				"\"init.hook.restore.kahu.io/command\":\"[\\\"sleep\\\", \\\"1\\\"]\","
				"\"init.hook.restore.velero.io/container-image\":\"ignored\"}},"
				"\"spec\":{\"initContainers\":[{\"name\":\"own\"}],\"containers\":[{\"name\":\"job\"}]}}}}}}",
				0, &je);
	ck_assert_msg(cj != NULL, "%s", je.text);
	char *why = NULL;
	ck_assert_int_eq(restore_hooks_init(NULL, "cronjobs.batch", cj, &why), 0);
	json_t *inits = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(
		json_object_get(cj, "spec"), "jobTemplate"), "spec"), "template"), "spec"), "initContainers");
	ck_assert_uint_eq(json_array_size(inits), 2);
	char *first = json_dumps(json_array_get(inits, 0), JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(first, "{\"command\":[\"sleep\",\"1\"],\"image\":\"busybox\",\"name\":\"wait-db\"}");
	free(first);
	/* Again (a restore run twice over what it wrote): not added twice. */
	ck_assert_int_eq(restore_hooks_init(NULL, "cronjobs.batch", cj, &why), 0);
	ck_assert_uint_eq(json_array_size(inits), 2);
	/* Types without a pod template are left alone. */
	ck_assert_int_eq(restore_hooks_init(NULL, "configmaps", cj, &why), 0);
	json_decref(cj);

	json_t *p = json_loads("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"annotations\":"
			       "{\"init.hook.restore.kahu.io/container-image\":\"busybox\","
			       "\"init.hook.restore.kahu.io/command\":\"[1]\"}},\"spec\":{\"containers\":[]}}", 0, &je);
	ck_assert_int_eq(restore_hooks_init(NULL, "pods", p, &why), KAHU_EUSAGE);
	ck_assert_msg(why && strstr(why, "pods n/p: annotation init.hook.restore.kahu.io/command: invalid command") != NULL,
		      "%s", why ? why : "(null)");
	free(why);
	json_decref(p);
}
END_TEST

/* A backup's pods from the run's list: only those in scope with hooks kept, with the
 * claims they mount; post hooks of a pod whose pre hooks never started do not run. */
START_TEST(test_backup_pods)
{
	static const char core[] = "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
		"{\"name\":\"pods\",\"namespaced\":true,\"kind\":\"Pod\",\"verbs\":[\"create\",\"delete\",\"get\",\"list\"]}]}";
	struct kube_discovery *d = kube_discovery_new();
	ck_assert_int_eq(kube_discovery_parse_resource_list(d, "", "v1", 1, core, strlen(core)), 0);
	struct kahu_scope *sc = scope_new();
	ck_assert_int_eq(scope_resolve(sc, d, NULL), 0);
	struct hook_backup *hb = hook_backup_new(NULL, NULL, sc, d, 4);
	ck_assert_int_eq(hook_backup_wants_pods(hb), 1);

	json_t *hooked = pod("{\"pre.hook.backup.kahu.io/command\":\"[\\\"sync\\\"]\","
			     "\"post.hook.backup.kahu.io/command\":\"[\\\"true\\\"]\"}");
	json_object_set_new(json_object_get(hooked, "spec"), "volumes", json_pack(
		"[{s:s, s:{s:s}}, {s:s, s:{}}, {s:s, s:{}}]",
		"name", "data", "persistentVolumeClaim", "claimName", "pg-data",
		"name", "scratch", "ephemeral",
		"name", "tmp", "emptyDir"));
	json_t *plain = pod("{}");
	ck_assert_int_eq(hook_backup_add_pod(hb, plain), 0);
	ck_assert_int_eq(hook_backup_add_pod(hb, hooked), 0);
	ck_assert_int_eq(hook_backup_listed(hb, 0), 0);
	ck_assert_uint_eq(hook_backup_npods(hb), 1);
	const char *ns, *name;
	const struct strv *claims;
	ck_assert_int_eq(hook_backup_pod_info(hb, 0, &ns, &name, &claims), 1);
	ck_assert_str_eq(ns, "db");
	ck_assert_str_eq(name, "db-0");
	ck_assert_uint_eq(claims->n, 2);
	ck_assert_str_eq(claims->v[0], "pg-data");
	ck_assert_str_eq(claims->v[1], "db-0-scratch");
	/* Its turn never came: nothing to thaw, no client needed. */
	ck_assert_int_eq(hook_backup_pod(hb, HOOK_BACKUP_POST, 0, NULL), 0);
	ck_assert_int_eq(hook_backup_finish(hb), 0);
	ck_assert_uint_eq(hook_backup_results(hb)->n, 0);
	/* Deferred pods are left to the volume step. */
	hook_backup_defer(hb, 0);
	ck_assert_int_eq(hook_backup_all(hb, HOOK_BACKUP_PRE), 0);
	ck_assert_uint_eq(hook_backup_results(hb)->n, 0);

	json_decref(hooked);
	json_decref(plain);
	hook_backup_free(hb);
	scope_free(sc);
	kube_discovery_free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("hooks");
	TCase *tc = tcase_create("hooks");
	tcase_add_test(tc, test_command);
	tcase_add_test(tc, test_duration_on_error);
	tcase_add_test(tc, test_annotations);
	tcase_add_test(tc, test_containers);
	tcase_add_test(tc, test_pod_trim);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_results_local);
	tcase_add_test(tc, test_restore_init);
	tcase_add_test(tc, test_backup_pods);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(suite)

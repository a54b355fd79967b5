/* Restore transforms: JSON Patch (RFC 6902's appendix A), JSON Merge Patch (RFC 7386's
 * examples), strategic merge of the built-in lists, the transform file (matching,
 * refusals with file and line) and the shortcuts. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "engine/transform.h"
#include "engine/transform_patch.h"
#include "util/err.h"
#include "util/mem.h"

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
	ck_assert_msg(v != NULL, "bad test JSON %s: %s", text, e.text);
	return v;
}

static void assert_json(json_t *got, const char *want, const char *what)
{
	json_t *w = J(want);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	ck_assert_msg(json_value_equal(got, w), "%s: got %s, want %s", what, g, want);
	free(g);
	json_decref(w);
}

/* ---- RFC 6902, appendix A ---- */

static const struct {
	const char *name, *doc, *patch, *want; /* want NULL: an error; "TEST": a test fails */
} RFC6902[] = {
	{ "A.1", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
	  "{\"baz\":\"qux\",\"foo\":\"bar\"}" },
	{ "A.2", "{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
	  "{\"foo\":[\"bar\",\"qux\",\"baz\"]}" },
	{ "A.3", "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}" },
	{ "A.4", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
	  "{\"foo\":[\"bar\",\"baz\"]}" },
	{ "A.5", "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
	  "{\"baz\":\"boo\",\"foo\":\"bar\"}" },
	{ "A.6", "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
	  "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
	  "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}" },
	{ "A.7", "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}", "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
	  "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}" },
	{ "A.8", "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
	  "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
	  "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}" },
	{ "A.9", "{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", "TEST" },
	{ "A.10", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
	  "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}" },
	{ "A.11", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
	  "{\"foo\":\"bar\",\"baz\":\"qux\"}" },
	{ "A.12", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL },
	{ "A.14", "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]", "{\"/\":9,\"~1\":10}" },
	{ "A.15", "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", "TEST" },
	{ "A.16", "{\"foo\":[\"bar\"]}", "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
	  "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}" },
	/* beyond the appendix */
	{ "~1 in a key", "{\"a/b\":1}", "[{\"op\":\"replace\",\"path\":\"/a~1b\",\"value\":2}]", "{\"a/b\":2}" },
	{ "numbers by value", "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.0}]", "{\"a\":1}" },
	{ "root replaced", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]" },
	{ "copy", "{\"a\":{\"b\":1}}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/c\"}]", "{\"a\":{\"b\":1},\"c\":{\"b\":1}}" },
	{ "replace in an array", "{\"a\":[1,2,3]}", "[{\"op\":\"replace\",\"path\":\"/a/1\",\"value\":9}]", "{\"a\":[1,9,3]}" },
	{ "replace a missing member", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":9}]", NULL },
	{ "remove a missing member", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", NULL },
	{ "index past the end", "{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":9}]", NULL },
	{ "leading zero index", "{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/01\"}]", NULL },
	{ "atomic", "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"remove\",\"path\":\"/zz\"}]", NULL },
	{ "test after a change", "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},{\"op\":\"test\",\"path\":\"/b\",\"value\":3}]", "TEST" },
	{ "move into its child", "{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]", NULL },
	{ "bad escape", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a~2\"}]", NULL },
	{ "unknown op", "{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", NULL },
	{ "add without a value", "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\"}]", NULL },
};

START_TEST(test_rfc6902)
{
	json_t *doc = J(RFC6902[_i].doc), *patch = J(RFC6902[_i].patch);
	char *why = NULL;
	int rc = json_patch_apply(&doc, patch, &why);
	const char *want = RFC6902[_i].want;
	if (!want) {
		ck_assert_msg(rc < 0, "%s: applied", RFC6902[_i].name);
		ck_assert_ptr_nonnull(why);
		assert_json(doc, RFC6902[_i].doc, RFC6902[_i].name); /* unchanged */
	} else if (strcmp(want, "TEST") == 0) {
		ck_assert_msg(rc == JPATCH_TEST_FAILED, "%s: rc %d", RFC6902[_i].name, rc);
		assert_json(doc, RFC6902[_i].doc, RFC6902[_i].name);
	} else {
		ck_assert_msg(rc == JPATCH_APPLIED, "%s: %s", RFC6902[_i].name, why);
		assert_json(doc, want, RFC6902[_i].name);
	}
	free(why);
	json_decref(doc);
	json_decref(patch);
}
END_TEST

START_TEST(test_pointer)
{
	struct strv t = STRV_INIT;
	char *why = NULL;
	ck_assert_int_eq(jptr_parse("/a~1b/~0c/~01/", &t, &why), 0);
	ck_assert_int_eq(t.n, 4);
	ck_assert_str_eq(t.v[0], "a/b");
	ck_assert_str_eq(t.v[1], "~c");
	ck_assert_str_eq(t.v[2], "~1");
	ck_assert_str_eq(t.v[3], "");
	strv_free(&t);
	ck_assert_int_eq(jptr_parse("a", &t, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "start with '/'"));
	free(why);
	/* RFC 6901 section 5 */
	json_t *d = J("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,"
		      "\"k\\\"l\":6,\" \":7,\"m~n\":8}");
	ck_assert_ptr_eq(jptr_get(d, ""), d);
	ck_assert_str_eq(json_string_value(jptr_get(d, "/foo/0")), "bar");
	ck_assert_int_eq(json_integer_value(jptr_get(d, "/")), 0);
	ck_assert_int_eq(json_integer_value(jptr_get(d, "/a~1b")), 1);
	ck_assert_int_eq(json_integer_value(jptr_get(d, "/c%d")), 2);
	ck_assert_int_eq(json_integer_value(jptr_get(d, "/i\\j")), 5);
	ck_assert_int_eq(json_integer_value(jptr_get(d, "/k\"l")), 6);
	ck_assert_int_eq(json_integer_value(jptr_get(d, "/ ")), 7);
	ck_assert_int_eq(json_integer_value(jptr_get(d, "/m~0n")), 8);
	ck_assert_ptr_null(jptr_get(d, "/foo/2"));
	json_decref(d);
}
END_TEST

/* ---- RFC 7386 ---- */

static const char *const RFC7386[][3] = {
	{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
	{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
	{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
	{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
	{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
	{ "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
	{ "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
	{ "{\"a\":\"foo\"}", "null", "null" },
	{ "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
	{ "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
	{ "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
	{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
	/* section 3 */
	{ "{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\",\"familyName\":\"Doe\"},"
	  "\"tags\":[\"example\",\"sample\"],\"content\":\"This will be unchanged\"}",
	  "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\",\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
	  "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},\"tags\":[\"example\"],"
	  "\"content\":\"This will be unchanged\",\"phoneNumber\":\"+01-123-456-7890\"}" },
};

START_TEST(test_rfc7386)
{
	json_t *t = J(RFC7386[_i][0]), *p = J(RFC7386[_i][1]);
	json_t *got = json_merge_patch(t, p);
	assert_json(got, RFC7386[_i][2], RFC7386[_i][1]);
	assert_json(t, RFC7386[_i][0], "target unchanged");
	json_decref(got);
	json_decref(t);
	json_decref(p);
}
END_TEST

/* ---- strategic merge ---- */

static const char *const SMP[][3] = {
	/* containers by name: one changed, one added */
	{ "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\"},{\"name\":\"b\",\"image\":\"y:1\"}]}}",
	  "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y:2\"},{\"name\":\"c\",\"image\":\"z\"}]}}",
	  "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\"},{\"name\":\"b\",\"image\":\"y:2\"},{\"name\":\"c\",\"image\":\"z\"}]}}" },
	/* env by name inside a container; ports by containerPort; volumeMounts by mountPath */
	{ "{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"value\":\"1\"},{\"name\":\"Y\",\"value\":\"2\"}],"
	  "\"ports\":[{\"containerPort\":80,\"name\":\"http\"}],\"volumeMounts\":[{\"mountPath\":\"/d\",\"name\":\"v\"}]}]}",
	  "{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"Y\",\"value\":\"3\"}],"
	  "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"},{\"containerPort\":443}],"
	  "\"volumeMounts\":[{\"mountPath\":\"/d\",\"readOnly\":true}]}]}",
	  "{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"value\":\"1\"},{\"name\":\"Y\",\"value\":\"3\"}],"
	  "\"ports\":[{\"containerPort\":80,\"name\":\"http\",\"protocol\":\"TCP\"},{\"containerPort\":443}],"
	  "\"volumeMounts\":[{\"mountPath\":\"/d\",\"name\":\"v\",\"readOnly\":true}]}]}" },
	/* volumes by name, $patch: delete; initContainers by name */
	{ "{\"volumes\":[{\"name\":\"a\",\"emptyDir\":{}},{\"name\":\"b\",\"emptyDir\":{}}],\"initContainers\":[{\"name\":\"i\",\"image\":\"o\"}]}",
	  "{\"volumes\":[{\"name\":\"a\",\"$patch\":\"delete\"}],\"initContainers\":[{\"name\":\"i\",\"image\":\"n\"}]}",
	  "{\"volumes\":[{\"name\":\"b\",\"emptyDir\":{}}],\"initContainers\":[{\"name\":\"i\",\"image\":\"n\"}]}" },
	/* a list without a known key is replaced; null deletes */
	{ "{\"args\":[\"a\",\"b\"],\"tolerations\":[{\"key\":\"k\"}],\"x\":1}",
	  "{\"args\":[\"c\"],\"tolerations\":[{\"key\":\"j\"}],\"x\":null}",
	  "{\"args\":[\"c\"],\"tolerations\":[{\"key\":\"j\"}]}" },
	/* $patch: replace on a mapping and on a list */
	{ "{\"resources\":{\"limits\":{\"cpu\":\"1\"},\"requests\":{\"cpu\":\"1\"}},\"env\":[{\"name\":\"A\"},{\"name\":\"B\"}]}",
	  "{\"resources\":{\"$patch\":\"replace\",\"limits\":{\"memory\":\"1Gi\"}},\"env\":[{\"$patch\":\"replace\"},{\"name\":\"C\"}]}",
	  "{\"resources\":{\"limits\":{\"memory\":\"1Gi\"}},\"env\":[{\"name\":\"C\"}]}" },
	/* Services' ports by port */
	{ "{\"ports\":[{\"port\":80,\"targetPort\":8080},{\"port\":443}]}",
	  "{\"ports\":[{\"port\":80,\"targetPort\":9090}]}",
	  "{\"ports\":[{\"port\":80,\"targetPort\":9090},{\"port\":443}]}" },
};

START_TEST(test_strategic)
{
	json_t *t = J(SMP[_i][0]), *p = J(SMP[_i][1]);
	char *why = NULL;
	json_t *got = json_strategic_merge(t, p, &why);
	ck_assert_msg(got != NULL, "%s", why);
	assert_json(got, SMP[_i][2], SMP[_i][1]);
	json_decref(got);
	json_decref(t);
	json_decref(p);
}
END_TEST

START_TEST(test_strategic_errors)
{
	json_t *t = J("{\"containers\":[{\"name\":\"a\"}]}");
	json_t *p = J("{\"containers\":[{\"image\":\"b\"}]}");
	char *why = NULL;
	ck_assert_ptr_null(json_strategic_merge(t, p, &why));
	ck_assert_str_eq(why, "containers: element 1 has no name (the list's merge key)");
	free(why);
	json_decref(p);
	p = J("{\"containers\":[{\"name\":\"a\",\"$patch\":\"merge\"}]}");
	ck_assert_ptr_null(json_strategic_merge(t, p, &why));
	ck_assert_ptr_nonnull(strstr(why, "unknown directive"));
	free(why);
	json_decref(p);
	json_decref(t);
}
END_TEST

/* ---- the transform file ---- */

static struct transform_set *parse_ok(const char *text)
{
	struct transform_set *ts = NULL;
	int rc = transform_parse(text, strlen(text), "t.yaml", &ts);
	ck_assert_msg(rc == 0, "%s", kahu_error_last());
	return ts;
}

static void parse_fails(const char *text, const char *msg)
{
	struct transform_set *ts = NULL;
	int rc = transform_parse(text, strlen(text), "t.yaml", &ts);
	ck_assert_msg(rc == KAHU_EUSAGE, "parsed: %s", text);
	ck_assert_ptr_null(ts);
	ck_assert_msg(strstr(kahu_error_last(), msg) != NULL, "got \"%s\", want \"%s\"", kahu_error_last(), msg);
}

START_TEST(test_file_errors)
{
	parse_fails("rules: [\n", "t.yaml:2: invalid YAML");
	parse_fails("", "t.yaml:1: the transform file is empty");
	parse_fails("version: v1\n", "t.yaml:1: the transform file has no rules");
	parse_fails("version: v2\nrules: []\n", "t.yaml:1: version: only v1 is known");
	parse_fails("rulez: []\n", "t.yaml:1: unknown key \"rulez\" (version, rules)");
	parse_fails("rules:\n- name: a\n  resources: [pods]\n", "t.yaml:2: a rule without a patch");
	parse_fails("rules:\n- name: a\n  mergePatch: {}\n  jsonPatch: []\n",
		    "t.yaml:4: jsonPatch: a rule has one patch");
	parse_fails("rules:\n- name: a\n  mergePatch: {}\n- name: a\n  mergePatch: {}\n",
		    "t.yaml:4: a second rule named \"a\"");
	parse_fails("rules:\n- mergePatch: {}\n  namespace: x\n", "t.yaml:3: unknown key \"namespace\" in a rule");
	parse_fails("rules:\n- mergePatch: {}\n  nameRegex: \"a(\"\n", "t.yaml:3: nameRegex: invalid regular expression");
	parse_fails("rules:\n- mergePatch: {}\n  selector: \"a in (b\"\n", "t.yaml:3: selector");
	parse_fails("rules:\n- jsonPatch:\n  - op: replace\n    path: spec\n    value: 1\n",
		    "t.yaml:3: jsonPatch: operation 1 (replace): path: \"spec\" is not a JSON Pointer");
	parse_fails("rules:\n- jsonPatch:\n  - op: add\n    path: /a\n", "t.yaml:3: jsonPatch: operation 1 (add /a): no value");
	parse_fails("rules:\n- jsonPatch:\n  - op: frob\n    path: /a\n", "unknown op \"frob\"");
	/* RFC 6902 A.13: a duplicate key is refused */
	parse_fails("rules:\n- jsonPatch:\n  - op: add\n    path: /baz\n    value: qux\n    op: remove\n",
		    "t.yaml:6: the key \"op\" appears twice");
	parse_fails("rules:\n- mergePatch: [1]\n", "t.yaml:2: mergePatch: expected a mapping");
	parse_fails("rules:\n- strategicPatch:\n    containers:\n    - image: x\n",
		    "t.yaml:3: strategicPatch: containers: element 1 has no name");
	parse_fails("rules:\n- mergePatch: {}\n  conditions:\n  - path: /a\n",
		    "t.yaml:4: a condition needs exactly one of equals, exists, matches");
	parse_fails("rules:\n- mergePatch: {}\n  conditions:\n  - equals: 1\n", "t.yaml:4: a condition without a path");
	parse_fails("rules:\n- mergePatch: {}\n  conditions:\n  - path: /a\n    exists: maybe\n",
		    "t.yaml:5: exists: expected true or false");
	parse_fails("rules:\n- mergePatch: {}\n  resources: []\n", "t.yaml:3: resources: the list is empty");
	parse_fails("rules:\n- mergePatch: {}\n  nameRegex: \"^w**\"\n",
		    "t.yaml:3: nameRegex: invalid regular expression \"^w**\": a repetition operator right after another (at character 4)");
	parse_fails("rules:\n- mergePatch: {}\n  conditions:\n  - path: /a\n    matches: \"a{2}+\"\n",
		    "t.yaml:5: matches: invalid regular expression");
	/* escaped and bracketed operators are literals */
	transform_free(parse_ok("rules:\n- mergePatch: {}\n  nameRegex: \"^a\\\\**[*+]+x?$\"\n"));
	parse_fails("rules:\n- mergePatch: &a {x: *a}\n", "t.yaml:");
}
END_TEST

static json_t *apply(struct transform_set *ts, const char *gr, const char *obj, int *rc, json_t **applied)
{
	json_t *o = J(obj);
	char *why = NULL;
	*rc = transform_apply(ts, gr, &o, applied, &why);
	if (*rc < 0) {
		ck_assert_ptr_nonnull(why);
		free(why);
	}
	return o;
}

static const char DEPLOY[] =
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web-1\",\"namespace\":\"prod\","
	"\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":3,\"template\":{\"spec\":{\"containers\":"
	"[{\"name\":\"w\",\"image\":\"registry.old/web:1\"}],\"initContainers\":[{\"name\":\"i\",\"image\":\"docker.io/busybox\"}]}}}}";

START_TEST(test_match_and_apply)
{
	struct transform_set *ts = parse_ok(
		"version: v1\n"
		"rules:\n"
		"- name: scale\n"
		"  resources: [deployments]\n"
		"  namespaces: [\"pro*\"]\n"
		"  names: [\"web-*\"]\n"
		"  nameRegex: \"^web-[0-9]+$\"\n"
		"  selector: app=web\n"
		"  conditions:\n"
		"  - path: /spec/replicas\n"
		"    equals: 3\n"
		"  jsonPatch:\n"
		"  - op: replace\n"
		"    path: /spec/replicas\n"
		"    value: 1\n"
		"  - op: add\n"
		"    path: /metadata/labels/moved~1from\n"
		"    value: \"east\"\n"
		"- name: other-ns\n"
		"  namespaces: [staging]\n"
		"  mergePatch: {metadata: {labels: {x: \"y\"}}}\n"
		"- name: guarded\n"
		"  jsonPatch:\n"
		"  - {op: test, path: /spec/replicas, value: 99}\n"
		"  - {op: replace, path: /spec/replicas, value: 0}\n"
		"- name: sidecar\n"
		"  resources: [deployments.apps]\n"
		"  strategicPatch:\n"
		"    spec: {template: {spec: {containers: [{name: w, image: \"registry.new/web:2\"}]}}}\n"
		"- name: cm-only\n"
		"  resources: [configmaps]\n"
		"  mergePatch: {data: {a: b}}\n");
	ck_assert_int_eq(transform_count(ts), 5);
	int rc;
	json_t *applied = NULL;
	json_t *o = apply(ts, "deployments.apps", DEPLOY, &rc, &applied);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(json_integer_value(jptr_get(o, "/spec/replicas")), 1);
	ck_assert_str_eq(json_string_value(jptr_get(o, "/metadata/labels/moved~1from")), "east");
	ck_assert_str_eq(json_string_value(jptr_get(o, "/spec/template/spec/containers/0/image")), "registry.new/web:2");
	ck_assert_int_eq(json_array_size(applied), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(applied, 0), "rule")), "scale");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(applied, 0), "source")), "t.yaml:3");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(applied, 1), "type")), "strategicPatch");
	json_decref(applied);
	json_decref(o);
	/* another namespace: only the strategic rule; the condition holds no more once
	 * replicas differ */
	o = apply(ts, "deployments.apps",
		  "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"staging\"},\"spec\":{\"replicas\":2}}", &rc, &applied);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(json_integer_value(jptr_get(o, "/spec/replicas")), 2);
	ck_assert_str_eq(json_string_value(jptr_get(o, "/metadata/labels/x")), "y");
	ck_assert_int_eq(json_array_size(applied), 2);
	json_decref(applied);
	json_decref(o);
	/* the name regex refuses web-x; a cluster-scoped object never matches namespaces */
	o = apply(ts, "deployments.apps",
		  "{\"metadata\":{\"name\":\"web-x\",\"namespace\":\"prod\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":3}}",
		  &rc, &applied);
	ck_assert_int_eq(json_integer_value(jptr_get(o, "/spec/replicas")), 3);
	json_decref(applied);
	json_decref(o);
	struct strv w = STRV_INIT;
	transform_unused(ts, &w);
	ck_assert_int_eq(w.n, 2);
	ck_assert_str_eq(w.v[0], "transform rule guarded (t.yaml:22) applied to no object");
	ck_assert_str_eq(w.v[1], "transform rule cm-only (t.yaml:30) applied to no object");
	strv_free(&w);
	transform_free(ts);
}
END_TEST

START_TEST(test_apply_failure)
{
	struct transform_set *ts = parse_ok("rules:\n- name: good\n  mergePatch: {spec: {a: 1}}\n"
					    "- name: bad\n  jsonPatch:\n  - {op: remove, path: /spec/nothing}\n");
	json_t *o = J("{\"metadata\":{\"name\":\"a\"},\"spec\":{}}"), *applied = NULL;
	char *why = NULL;
	ck_assert_int_eq(transform_apply(ts, "configmaps", &o, &applied, &why), -1);
	ck_assert_str_eq(why, "transform rule bad (t.yaml:4): operation 1 (remove /spec/nothing): /spec/nothing does not exist");
	ck_assert_ptr_null(applied);
	assert_json(o, "{\"metadata\":{\"name\":\"a\"},\"spec\":{}}", "no rule's change kept");
	free(why);
	json_decref(o);
	transform_free(ts);
}
END_TEST

START_TEST(test_yaml_values)
{
	struct transform_set *ts = parse_ok(
		"rules:\n- mergePatch:\n    a: 1\n    b: \"1\"\n    c: true\n    d: 'true'\n    e: ~\n    f: 1.5\n"
		"    g: !!str 2\n    h: 0x10\n    i: 1e3\n    j: -4\n");
	json_t *o = J("{\"e\":1}"), *applied = NULL;
	char *why = NULL;
	ck_assert_int_eq(transform_apply(ts, "configmaps", &o, &applied, &why), 0);
	assert_json(o, "{\"a\":1,\"b\":\"1\",\"c\":true,\"d\":\"true\",\"f\":1.5,\"g\":\"2\",\"h\":\"0x10\",\"i\":1000.0,\"j\":-4}",
		    "yaml values");
	json_decref(applied);
	json_decref(o);
	transform_free(ts);
}
END_TEST

/* Several files: the second one's rules come after the first one's. */
START_TEST(test_two_files)
{
	struct transform_set *ts = NULL;
	const char *a = "rules:\n- name: a\n  mergePatch: {data: {x: \"1\"}}\n";
	const char *b = "rules:\n- name: b\n  jsonPatch:\n  - {op: test, path: /data/x, value: \"1\"}\n"
			"  - {op: add, path: /data/y, value: \"2\"}\n";
	ck_assert_int_eq(transform_parse(a, strlen(a), "a.yaml", &ts), 0);
	ck_assert_int_eq(transform_parse(b, strlen(b), "b.yaml", &ts), 0);
	ck_assert_int_eq(transform_count(ts), 2);
	ck_assert_int_eq(transform_parse("rules: 1\n", 9, "c.yaml", &ts), KAHU_EUSAGE);
	ck_assert_int_eq(transform_count(ts), 2);
	int rc;
	json_t *applied = NULL;
	json_t *o = apply(ts, "configmaps", "{\"metadata\":{\"name\":\"c\"}}", &rc, &applied);
	assert_json(o, "{\"metadata\":{\"name\":\"c\"},\"data\":{\"x\":\"1\",\"y\":\"2\"}}", "two files");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(applied, 1), "source")), "b.yaml:2");
	json_decref(applied);
	json_decref(o);
	transform_free(ts);
}
END_TEST

/* ---- the shortcuts ---- */

START_TEST(test_shortcuts)
{
	struct transform_set *ts = NULL;
	ck_assert_int_eq(transform_add_storage_classes(&ts, "gp2:standard,io1:fast"), 0);
	ck_assert_int_eq(transform_add_images(&ts, "registry.old/:registry.new/,docker.io/=mirror:5000/hub/"), 0);
	ck_assert_int_eq(transform_add_replicas(&ts, "prod/deployment/web-1=0"), 0);
	int rc;
	json_t *applied = NULL;
	json_t *o = apply(ts, "deployments.apps", DEPLOY, &rc, &applied);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(json_string_value(jptr_get(o, "/spec/template/spec/containers/0/image")), "registry.new/web:1");
	ck_assert_str_eq(json_string_value(jptr_get(o, "/spec/template/spec/initContainers/0/image")), "mirror:5000/hub/busybox");
	ck_assert_int_eq(json_integer_value(jptr_get(o, "/spec/replicas")), 0);
	ck_assert_int_eq(json_array_size(applied), 2);
	json_decref(applied);
	json_decref(o);
	o = apply(ts, "statefulsets.apps",
		  "{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{\"volumeClaimTemplates\":["
		  "{\"spec\":{\"storageClassName\":\"io1\"}},{\"spec\":{\"storageClassName\":\"other\"}}],"
		  "\"template\":{\"spec\":{\"containers\":[{\"name\":\"d\",\"image\":\"registry.old/db\"}]}}}}", &rc, &applied);
	ck_assert_str_eq(json_string_value(jptr_get(o, "/spec/volumeClaimTemplates/0/spec/storageClassName")), "fast");
	ck_assert_str_eq(json_string_value(jptr_get(o, "/spec/volumeClaimTemplates/1/spec/storageClassName")), "other");
	ck_assert_str_eq(json_string_value(jptr_get(o, "/spec/template/spec/containers/0/image")), "registry.new/db");
	json_decref(applied);
	json_decref(o);
	o = apply(ts, "persistentvolumeclaims", "{\"metadata\":{\"name\":\"c\",\"namespace\":\"p\",\"annotations\":"
		  "{\"volume.beta.kubernetes.io/storage-class\":\"gp2\"}},\"spec\":{\"storageClassName\":\"gp2\"}}", &rc, &applied);
	ck_assert_str_eq(json_string_value(jptr_get(o, "/spec/storageClassName")), "standard");
	ck_assert_str_eq(json_string_value(jptr_get(o, "/metadata/annotations/volume.beta.kubernetes.io~1storage-class")), "standard");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(applied, 0), "type")), "storageClassMapping");
	json_decref(applied);
	json_decref(o);
	o = apply(ts, "cronjobs.batch", "{\"metadata\":{\"name\":\"c\",\"namespace\":\"p\"},\"spec\":{\"jobTemplate\":{\"spec\":"
		  "{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"registry.old/cron\"}]}}}}}}", &rc, &applied);
	ck_assert_str_eq(json_string_value(jptr_get(o, "/spec/jobTemplate/spec/template/spec/containers/0/image")), "registry.new/cron");
	json_decref(applied);
	json_decref(o);
	struct strv w = STRV_INIT;
	transform_unused(ts, &w);
	ck_assert_int_eq(w.n, 0);
	strv_free(&w);
	transform_free(ts);

	ts = NULL;
	ck_assert_int_eq(transform_add_images(&ts, "reg:5000/a:reg:6000/a"), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "write OLD=NEW"));
	ck_assert_int_eq(transform_add_storage_classes(&ts, "gp2"), KAHU_EUSAGE);
	ck_assert_str_eq(kahu_error_last(), "--storage-class-mappings: \"gp2\" is not OLD:NEW");
	ck_assert_int_eq(transform_add_storage_classes(&ts, "a:b,a:c"), KAHU_EUSAGE);
	ck_assert_int_eq(transform_add_replicas(&ts, "prod/pod/x=1"), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "KIND must be deployment"));
	ck_assert_int_eq(transform_add_replicas(&ts, "prod/deployment/x=-1"), KAHU_EUSAGE);
	ck_assert_int_eq(transform_add_replicas(&ts, "deployment/x=1"), KAHU_EUSAGE);
	ck_assert_ptr_null(ts);
}
END_TEST

/* ---- Velero's resource modifiers, translated ---- */

static const char VELERO[] =
	"version: v1\n"                                                    /* 1 */
	"resourceModifierRules:\n"                                         /* 2 */
	"- conditions:\n"                                                  /* 3 */
	"    groupResource: persistentvolumeclaims\n"                      /* 4 */
	"    resourceNameRegex: \"^mysql\\\\d+$\"\n"                        /* 5 */
	"    namespaces: [bar, foo]\n"                                     /* 6 */
	"    labelSelector:\n"                                             /* 7 */
	"      matchLabels: {foo: bar}\n"                                  /* 8 */
	"      matchExpressions:\n"                                        /* 9 */
	"      - {key: tier, operator: In, values: [db, cache]}\n"         /* 10 */
	"      - {key: legacy, operator: DoesNotExist}\n"                  /* 11 */
	"    matches:\n"                                                   /* 12 */
	"    - path: /spec/storageClassName\n"                             /* 13 */
	"      value: premium\n"                                           /* 14 */
	"  patches:\n"                                                     /* 15 */
	"  - operation: replace\n"                                         /* 16 */
	"    path: /spec/storageClassName\n"                               /* 17 */
	"    value: \"standard\"\n"                                        /* 18 */
	"  - operation: add\n"                                             /* 19 */
	"    path: /metadata/labels/n\n"                                   /* 20 */
	"    value: \"3\"\n"                                               /* 21 */
	"  - operation: add\n"                                             /* 22 */
	"    path: /metadata/labels/s\n"                                   /* 23 */
	"    value: '\"3\"'\n"                                             /* 24 */
	"  - operation: add\n"                                             /* 25 */
	"    path: /metadata/annotations\n"                                /* 26 */
	"    value: '{\"a\": true}'\n"                                     /* 27 */
	"  mergePatches:\n"                                                /* 28 */
	"  - patchData: |\n"                                               /* 29 */
	"      metadata:\n"                                                /* 30 */
	"        labels:\n"                                                /* 31 */
	"          moved: \"yes\"\n"                                       /* 32 */
	"- conditions:\n"                                                  /* 33 */
	"    groupResource: deployments.apps\n"                            /* 34 */
	"  strategicPatches:\n"                                            /* 35 */
	"  - patchData: |\n"                                               /* 36 */
	"      {\"spec\": {\"template\": {\"spec\": {\"containers\": [{\"name\": \"w\", \"image\": \"repo2/web:1\"}]}}}}\n";

static const char PVC[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"mysql12\",\"namespace\":\"foo\","
	"\"labels\":{\"foo\":\"bar\",\"tier\":\"db\"}},\"spec\":{\"storageClassName\":\"premium\"}}";

START_TEST(test_velero_translation)
{
	struct transform_set *ts = parse_ok(VELERO);
	json_t *applied = NULL;
	int rc;
	/* rule 0: its JSON patches, then its merge patch; rule 1: a strategic patch */
	ck_assert_uint_eq(transform_count(ts), 3);
	json_t *o = apply(ts, "persistentvolumeclaims", PVC, &rc, &applied);
	ck_assert_int_eq(rc, 0);
	assert_json(o, "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"mysql12\","
		    "\"namespace\":\"foo\",\"labels\":{\"foo\":\"bar\",\"tier\":\"db\",\"n\":3,\"s\":\"3\",\"moved\":\"yes\"},"
		    "\"annotations\":{\"a\":true}},\"spec\":{\"storageClassName\":\"standard\"}}", "velero pvc");
	ck_assert_uint_eq(json_array_size(applied), 2);
	assert_json(json_object_get(json_array_get(applied, 0), "rule"), "\"resourceModifierRules[0].patches\"", "name");
	assert_json(json_object_get(json_array_get(applied, 0), "source"), "\"t.yaml:16\"", "source");
	assert_json(json_object_get(json_array_get(applied, 0), "type"), "\"jsonPatch\"", "type");
	assert_json(json_object_get(json_array_get(applied, 1), "rule"), "\"resourceModifierRules[0].mergePatches[0]\"", "name");
	assert_json(json_object_get(json_array_get(applied, 1), "source"), "\"t.yaml:29\"", "source");
	json_decref(applied);
	json_decref(o);
	/* what the conditions leave out: another name, namespace, label, class; a legacy label */
	static const char *const misses[] = {
		"\"name\":\"mysql\",", "\"namespace\":\"baz\",", "\"tier\":\"web\"", "\"storageClassName\":\"gold\"",
		"\"tier\":\"db\",\"legacy\":\"x\"",
	};
	static const char *const from[] = {
		"\"name\":\"mysql12\",", "\"namespace\":\"foo\",", "\"tier\":\"db\"", "\"storageClassName\":\"premium\"",
		"\"tier\":\"db\"",
	};
	for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
		char *pvc = xstrdup(PVC), *at = strstr(pvc, from[i]);
		ck_assert_ptr_nonnull(at);
		char *other = xasprintf("%.*s%s%s", (int)(at - pvc), pvc, misses[i], at + strlen(from[i]));
		o = apply(ts, "persistentvolumeclaims", other, &rc, &applied);
		ck_assert_int_eq(rc, 0);
		ck_assert_msg(applied == NULL, "case %zu applied", i);
		json_decref(o);
		free(other);
		free(pvc);
	}
	o = apply(ts, "deployments.apps", DEPLOY, &rc, &applied);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(json_array_size(applied), 1);
	assert_json(json_object_get(json_array_get(applied, 0), "type"), "\"strategicPatch\"", "type");
	assert_json(jptr_get(o, "/spec/template/spec/containers"), "[{\"name\":\"w\",\"image\":\"repo2/web:1\"}]", "smp");
	json_decref(applied);
	json_decref(o);
	transform_free(ts);

	/* A test that does not hold leaves the object alone (Velero's conditional patch);
	 * groupResource "*" is every resource; values: null, booleans, numbers, strings. */
	ts = parse_ok("version: v1\nresourceModifierRules:\n- conditions: {groupResource: \"*\"}\n  patches:\n"
		      "  - {operation: test, path: /spec/replicas, value: \"3\"}\n"
		      "  - {operation: replace, path: /spec/replicas, value: \"1\"}\n"
		      "  - {operation: add, path: /spec/paused, value: \"TRUE\"}\n"
		      "  - {operation: add, path: /spec/x, value: null}\n"
		      "  - {operation: add, path: /spec/e, value: \"\"}\n"
		      "  - {operation: add, path: /spec/f, value: \"1.5\"}\n"
		      "  - {operation: add, path: /spec/w, value: plain words}\n"
		      "  - {operation: copy, from: /spec/replicas, path: /spec/copied}\n");
	o = apply(ts, "deployments.apps", DEPLOY, &rc, &applied);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(json_array_size(applied), 1);
	assert_json(json_object_get(o, "spec"), "{\"replicas\":1,\"paused\":true,\"x\":null,\"e\":\"\",\"f\":1.5,"
		    "\"w\":\"plain words\",\"copied\":1,\"template\":{\"spec\":{\"containers\":"
		    "[{\"name\":\"w\",\"image\":\"registry.old/web:1\"}],\"initContainers\":[{\"name\":\"i\","
		    "\"image\":\"docker.io/busybox\"}]}}}", "values");
	json_decref(applied);
	json_decref(o);
	o = apply(ts, "deployments.apps", "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"replicas\":2}}", &rc, &applied);
	ck_assert_int_eq(rc, 0);
	ck_assert_ptr_null(applied);
	assert_json(o, "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"replicas\":2}}", "test failed: unchanged");
	json_decref(o);
	transform_free(ts);
}
END_TEST

START_TEST(test_velero_configmap)
{
	/* As `kubectl create cm --from-file` makes it; the lines are the file's. */
	struct transform_set *ts = parse_ok(
		"apiVersion: v1\n"
		"kind: ConfigMap\n"
		"metadata: {name: mods, namespace: velero}\n"
		"data:\n"
		"  mods.yaml: |\n"
		"    version: v1\n"
		"    resourceModifierRules:\n"
		"    - conditions:\n"
		"        groupResource: deployments.apps\n"
		"      mergePatches:\n"
		"      - patchData: '{\"spec\": {\"replicas\": 0}}'\n");
	json_t *applied = NULL;
	int rc;
	json_t *o = apply(ts, "deployments.apps", DEPLOY, &rc, &applied);
	ck_assert_int_eq(rc, 0);
	assert_json(jptr_get(o, "/spec/replicas"), "0", "replicas");
	assert_json(json_object_get(json_array_get(applied, 0), "source"), "\"t.yaml:11\"", "source");
	json_decref(applied);
	json_decref(o);
	transform_free(ts);
	parse_fails("kind: ConfigMap\ndata:\n  a: |\n    version: v1\n    resourceModifierRules:\n    - conditions: {}\n",
		    "t.yaml:6: conditions without groupResource");
	parse_fails("kind: ConfigMap\ndata:\n  a: x\n  b: y\n", "t.yaml:3: data: a ConfigMap of resource modifiers has exactly one key (it has 2)");
	parse_fails("kind: ConfigMap\nmetadata: {name: x}\n", "t.yaml:1: a ConfigMap without data");
	parse_fails("kind: ConfigMap\ndata:\n  a: |\n    kind: ConfigMap\n    data: {b: c}\n", "t.yaml:4: a ConfigMap inside a ConfigMap");
	parse_fails("kind: ConfigMap\ndata:\n  a: |\n    rules: [\n", "t.yaml:5: a: invalid YAML");
}
END_TEST

START_TEST(test_velero_errors)
{
	const char *h = "version: v1\nresourceModifierRules:\n";
	struct { const char *rest, *msg; } bad[] = {
		{ "- conditions: {groupResource: pods}\n", "t.yaml:3: a rule of resourceModifierRules without patches" },
		{ "- patches: [{operation: remove, path: /a}]\n", "t.yaml:3: a rule of resourceModifierRules without conditions" },
		{ "- conditions: {groupResource: pods, kind: x}\n  patches: []\n", "t.yaml:3: unknown key \"kind\" in conditions" },
		{ "- conditions: {groupResource: pods}\n  patch: []\n", "t.yaml:4: unknown key \"patch\" in a rule of resourceModifierRules" },
		{ "- conditions: {groupResource: pods}\n  patches:\n  - {operation: frob, path: /a}\n", "t.yaml:5: patches: operation 1: unknown op \"frob\"" },
		{ "- conditions: {groupResource: pods}\n  patches:\n  - {operation: replace, path: a, value: x}\n", "t.yaml:5: patches: operation 1 (replace): path: \"a\" is not a JSON Pointer" },
		{ "- conditions: {groupResource: pods}\n  patches:\n  - {operation: copy, path: /a}\n", "t.yaml:5: patches: operation copy needs from" },
		{ "- conditions: {groupResource: pods}\n  patches:\n  - {operation: add, path: /a, value: '{x'}\n", "t.yaml:5: value: text starting with { is read as JSON, and it is not valid JSON" },
		{ "- conditions: {groupResource: pods}\n  patches:\n  - {op: add, path: /a}\n", "t.yaml:5: unknown key \"op\" in a patch (operation, path, from, value)" },
		{ "- conditions: {groupResource: pods, resourceNameRegex: \"(?i)^a\"}\n  patches: [{operation: remove, path: /a}]\n", "t.yaml:3: resourceNameRegex: \"(?i)^a\": RE2's (?" },
		{ "- conditions: {groupResource: pods, resourceNameRegex: \"a(\"}\n  patches: [{operation: remove, path: /a}]\n", "t.yaml:3: resourceNameRegex: invalid regular expression" },
		{ "- conditions:\n    groupResource: pods\n    labelSelector: {matchExpressions: [{key: a, operator: Near}]}\n  patches: [{operation: remove, path: /a}]\n", "t.yaml:5: operator \"Near\": expected In, NotIn, Exists or DoesNotExist" },
		{ "- conditions:\n    groupResource: pods\n    labelSelector: {matchExpressions: [{key: a, operator: In}]}\n  patches: [{operation: remove, path: /a}]\n", "t.yaml:5: operator In needs values" },
		{ "- conditions:\n    groupResource: pods\n    labelSelector: {matchLabels: {\"a b\": c}}\n  patches: [{operation: remove, path: /a}]\n", "t.yaml:5: labelSelector" },
		{ "- conditions:\n    groupResource: pods\n    matches: [{path: /a}]\n  patches: [{operation: remove, path: /a}]\n", "t.yaml:5: a match needs path and value" },
		{ "- conditions: {groupResource: pods}\n  mergePatches:\n  - patchData: |\n      a: [\n", "t.yaml:7: patchData: invalid YAML" },
		{ "- conditions: {groupResource: pods}\n  mergePatches:\n  - patchData: \"[1]\"\n", "t.yaml:5: patchData: expected a mapping" },
		{ "- conditions: {groupResource: pods}\n  mergePatches:\n  - data: x\n", "t.yaml:5: unknown key \"data\" in mergePatches (patchData)" },
		{ "- conditions: {groupResource: pods}\n  strategicPatches:\n  - patchData: |\n      containers:\n      - image: x\n", "t.yaml:5: strategicPatches: containers: element 1 has no name" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *text = xasprintf("%s%s", h, bad[i].rest);
		parse_fails(text, bad[i].msg);
		free(text);
	}
	parse_fails("resourceModifierRules: []\n", "t.yaml:1: Velero's resource modifiers without version (v1)");
	parse_fails("version: v2\nresourceModifierRules: []\n", "t.yaml:1: version: Velero's resource modifiers are known in version v1 only");
	parse_fails("version: v1\nresourceModifierRules: []\n", "t.yaml:2: resourceModifierRules: expected a non-empty list");
	parse_fails("version: v1\nresourceModifierRules: []\nrules: []\n", "t.yaml:3: unknown key \"rules\" in Velero's resource modifiers");
}
END_TEST

static Suite *transform_suite(void)
{
	Suite *s = suite_create("transform");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_rfc6902, 0, (int)(sizeof RFC6902 / sizeof RFC6902[0]));
	tcase_add_test(tc, test_pointer);
	tcase_add_loop_test(tc, test_rfc7386, 0, (int)(sizeof RFC7386 / sizeof RFC7386[0]));
	tcase_add_loop_test(tc, test_strategic, 0, (int)(sizeof SMP / sizeof SMP[0]));
	tcase_add_test(tc, test_strategic_errors);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_match_and_apply);
	tcase_add_test(tc, test_apply_failure);
	tcase_add_test(tc, test_yaml_values);
	tcase_add_test(tc, test_two_files);
	tcase_add_test(tc, test_shortcuts);
	tcase_add_test(tc, test_velero_translation);
	tcase_add_test(tc, test_velero_configmap);
	tcase_add_test(tc, test_velero_errors);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(transform_suite)

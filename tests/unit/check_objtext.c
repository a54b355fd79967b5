/* Unit tests for reading an object's metadata from its JSON text and its stored form
 * (src/kube/objtext.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kube/objtext.h"
#include "util/err.h"

static json_t *summary_of(const char *text, struct objtext *ot)
{
	int rc = objtext_scan(text, strlen(text), ot);
	ck_assert_msg(rc == 0, "%s: %s", text, kahu_error_last());
	return ot->summary;
}

static const char *md_str(json_t *summary, const char *key)
{
	return json_string_value(json_object_get(json_object_get(summary, "metadata"), key));
}

/* What jansson reads of the same text: the summary must be the same. */
static void same_as_jansson(const char *text)
{
	struct objtext ot;
	json_t *s = summary_of(text, &ot);
	json_t *full = json_loads(text, JSON_ALLOW_NUL, NULL);
	ck_assert_ptr_nonnull(full);
	json_t *md = json_object_get(full, "metadata");
	json_t *want = json_object();
	if (md) {
		json_t *wmd = json_object();
		static const char *const keys[] = { "name", "namespace", "uid", "resourceVersion" };
		for (size_t i = 0; i < 4; i++)
			if (json_is_string(json_object_get(md, keys[i])))
				json_object_set(wmd, keys[i], json_object_get(md, keys[i]));
		if (json_object_get(md, "labels"))
			json_object_set(wmd, "labels", json_object_get(md, "labels"));
		json_object_set_new(want, "metadata", wmd);
	}
	char *a = json_dumps(s, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char *b = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);
	ck_assert_msg(json_equal(s, want), "%s: summary %s, jansson %s", text, a, b);
	free(a);
	free(b);
	ck_assert_int_eq(ot.has_api_version, json_object_get(full, "apiVersion") != NULL);
	ck_assert_int_eq(ot.api_version_string, json_is_string(json_object_get(full, "apiVersion")));
	ck_assert_int_eq(ot.has_kind, json_object_get(full, "kind") != NULL);
	ck_assert_int_eq(ot.kind_string, json_is_string(json_object_get(full, "kind")));
	ck_assert_int_eq(ot.has_members, json_object_size(full) > 0);
	json_decref(want);
	json_decref(full);
	objtext_clear(&ot);
}

START_TEST(test_metadata_anywhere)
{
	struct objtext ot;
	json_t *s = summary_of("{\"spec\":{\"x\":[1,2,{\"y\":null}]},\"status\":{},\"metadata\":"
			       "{\"labels\":{\"app\":\"web\",\"tier\":\"a b\"},\"name\":\"web-1\","
			       "\"namespace\":\"shop\",\"uid\":\"u-1\",\"resourceVersion\":\"42\","
			       "\"annotations\":{\"name\":\"not-this\"},\"managedFields\":[{\"manager\":"
			       "\"x\",\"fieldsV1\":{\"f:metadata\":{\"f:name\":{}}}}]}}", &ot);
	ck_assert_str_eq(md_str(s, "name"), "web-1");
	ck_assert_str_eq(md_str(s, "namespace"), "shop");
	ck_assert_str_eq(md_str(s, "uid"), "u-1");
	ck_assert_str_eq(md_str(s, "resourceVersion"), "42");
	json_t *labels = json_object_get(json_object_get(s, "metadata"), "labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "tier")), "a b");
	ck_assert_uint_eq(json_object_size(labels), 2);
	ck_assert_uint_eq(json_object_size(json_object_get(s, "metadata")), 5);
	ck_assert(!ot.has_api_version && !ot.has_kind && ot.compact && ot.has_members);
	objtext_clear(&ot);

	same_as_jansson("{\"metadata\":{\"name\":\"a\"},\"kind\":\"Pod\",\"apiVersion\":\"v1\"}");
	same_as_jansson("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\","
			"\"namespace\":\"b\"},\"data\":{\"k\":\"v\"}}");
}
END_TEST

START_TEST(test_nested_metadata_not_taken)
{
	struct objtext ot;
	/* "metadata" inside spec (a pod template), before and after the real one */
	json_t *s = summary_of("{\"spec\":{\"template\":{\"metadata\":{\"name\":\"evil\","
			       "\"namespace\":\"evil\",\"labels\":{\"app\":\"evil\"}}}},\"metadata\":"
			       "{\"name\":\"good\"},\"status\":{\"metadata\":{\"name\":\"evil2\"}}}", &ot);
	ck_assert_str_eq(md_str(s, "name"), "good");
	ck_assert_ptr_null(md_str(s, "namespace"));
	ck_assert_ptr_null(json_object_get(json_object_get(s, "metadata"), "labels"));
	objtext_clear(&ot);
	/* inside a string, and inside an array */
	s = summary_of("{\"data\":{\"x\":\"{\\\"metadata\\\":{\\\"name\\\":\\\"evil\\\"}}\"},"
		       "\"items\":[{\"metadata\":{\"name\":\"evil\"}}],\"metadata\":{\"name\":\"good\"}}",
		       &ot);
	ck_assert_str_eq(md_str(s, "name"), "good");
	objtext_clear(&ot);
	/* members of metadata's own objects are not metadata's */
	s = summary_of("{\"metadata\":{\"ownerReferences\":[{\"name\":\"owner\",\"uid\":\"o\"}],"
		       "\"annotations\":{\"namespace\":\"x\"},\"name\":\"n\"}}", &ot);
	ck_assert_str_eq(md_str(s, "name"), "n");
	ck_assert_ptr_null(md_str(s, "uid"));
	ck_assert_ptr_null(md_str(s, "namespace"));
	objtext_clear(&ot);
	same_as_jansson("{\"spec\":{\"metadata\":{\"name\":\"evil\"}},\"metadata\":{\"name\":\"good\"}}");
}
END_TEST

START_TEST(test_escapes)
{
	struct objtext ot;
	json_t *s = summary_of("{\"metadata\":{\"name\":\"a\\\"b\\\\c\\/d\\te\",\"namespace\":"
			       "\"\\u00e9t\\u00E9\",\"uid\":\"\\ud83d\\ude00\",\"labels\":{\"k\\\"\":"
			       "\"v\\n\"}}}", &ot);
	ck_assert_str_eq(md_str(s, "name"), "a\"b\\c/d\te");
	ck_assert_str_eq(md_str(s, "namespace"), "\xc3\xa9t\xc3\xa9");
	ck_assert_str_eq(md_str(s, "uid"), "\xf0\x9f\x98\x80");
	json_t *labels = json_object_get(json_object_get(s, "metadata"), "labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "k\"")), "v\n");
	objtext_clear(&ot);
	/* keys written with escapes are the same keys */
	s = summary_of("{\"\\u006detadata\":{\"n\\u0061me\":\"x\",\"namesp\\u0061ce\":\"y\"},"
		       "\"\\u006bind\":\"Pod\"}", &ot);
	ck_assert_str_eq(md_str(s, "name"), "x");
	ck_assert_str_eq(md_str(s, "namespace"), "y");
	ck_assert(ot.has_kind && ot.kind_string && !ot.has_api_version);
	objtext_clear(&ot);
	/* "\u0000" in a name is kept (the caller compares lengths), in a value too */
	s = summary_of("{\"metadata\":{\"name\":\"a\\u0000b\"},\"data\":{\"k\":\"\\u0000\"}}", &ot);
	ck_assert_uint_eq(json_string_length(json_object_get(json_object_get(s, "metadata"), "name")), 3);
	objtext_clear(&ot);
	same_as_jansson("{\"metadata\":{\"name\":\"\\u00e9\\\"\\\\\",\"labels\":{\"\\u0061\":\"\\ud83d\\ude00\"}}}");
	same_as_jansson("{\"metadata\":{\"name\":\"a\\u0000b\"}}");
}
END_TEST

START_TEST(test_labels)
{
	/* read without jansson when they are an object of strings; the same as jansson's
	 * reading in every case */
	static const char *const cases[] = {
		"{\"metadata\":{\"labels\":{}}}",
		"{\"metadata\":{\"labels\":{ }}}",
		"{\"metadata\":{\"labels\":{\"app\":\"web\",\"tier\":\"a b\"}}}",
		"{\"metadata\":{\"labels\" : { \"app\" : \"web\" , \"x\":\"\" } }}",
		"{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}}}",
		"{\"metadata\":{\"labels\":{\"k\\\"\\\\\\/\\n\":\"v\\u0000w\\ud83d\\ude00\"}}}",
		"{\"metadata\":{\"labels\":{\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
		"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\":\"long escaped key\"}}}",
		"{\"metadata\":{\"labels\":{\"caf\xc3\xa9\":\"\xe2\x82\xac\"}}}",
		"{\"metadata\":{\"labels\":{\"a\":\"b\"},\"labels\":{\"c\":\"d\"}}}",
		/* not an object of strings: as jansson reads them */
		"{\"metadata\":{\"labels\":{\"a\":1,\"b\":\"c\"}}}",
		"{\"metadata\":{\"labels\":{\"a\":\"b\",\"n\":null}}}",
		"{\"metadata\":{\"labels\":{\"a\":{\"b\":\"c\"}}}}",
		"{\"metadata\":{\"labels\":[\"a\"]}}",
		"{\"metadata\":{\"labels\":\"a=b\"}}",
		"{\"metadata\":{\"labels\":true}}",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		same_as_jansson(cases[i]);
}
END_TEST

START_TEST(test_missing_and_odd_metadata)
{
	struct objtext ot;
	json_t *s = summary_of("{\"kind\":\"Pod\",\"spec\":{}}", &ot);
	ck_assert_ptr_null(json_object_get(s, "metadata"));
	objtext_clear(&ot);
	s = summary_of("{\"metadata\":\"x\"}", &ot);
	ck_assert_uint_eq(json_object_size(json_object_get(s, "metadata")), 0);
	objtext_clear(&ot);
	s = summary_of("{\"metadata\":{\"name\":42,\"namespace\":null,\"uid\":{\"a\":\"b\"},"
		       "\"labels\":null}}", &ot);
	ck_assert_ptr_null(md_str(s, "name"));
	ck_assert_ptr_null(md_str(s, "namespace"));
	ck_assert_ptr_null(md_str(s, "uid"));
	ck_assert(json_is_null(json_object_get(json_object_get(s, "metadata"), "labels")));
	objtext_clear(&ot);
	s = summary_of("{}", &ot);
	ck_assert(!ot.has_members && ot.compact);
	objtext_clear(&ot);
	/* the last of repeated keys counts, as in jansson: a whole second metadata */
	s = summary_of("{\"metadata\":{\"name\":\"first\",\"namespace\":\"ns1\"},\"metadata\":"
		       "{\"name\":\"second\"}}", &ot);
	ck_assert_str_eq(md_str(s, "name"), "second");
	ck_assert_ptr_null(md_str(s, "namespace"));
	objtext_clear(&ot);
	s = summary_of("{\"metadata\":{\"name\":\"first\",\"name\":\"second\",\"name\":3}}", &ot);
	ck_assert_ptr_null(md_str(s, "name"));
	objtext_clear(&ot);
	s = summary_of("{\"apiVersion\":null,\"kind\":7}", &ot);
	ck_assert(ot.has_api_version && !ot.api_version_string && ot.has_kind && !ot.kind_string);
	objtext_clear(&ot);
	same_as_jansson("{\"metadata\":{\"name\":\"first\",\"namespace\":\"ns1\"},\"metadata\":{\"name\":\"second\"}}");
	same_as_jansson("{\"metadata\":{\"name\":\"first\",\"name\":\"second\"}}");
	same_as_jansson("{\"metadata\":[],\"apiVersion\":\"v1\",\"apiVersion\":1}");
}
END_TEST

static void expect_error(const char *text, const char *msg)
{
	struct objtext ot;
	ck_assert_int_eq(objtext_scan(text, strlen(text), &ot), KAHU_EPROTO);
	ck_assert_str_eq(kahu_error_last(), msg);
	ck_assert_ptr_null(ot.summary);
	/* jansson refuses it too, or it is not an object */
	json_t *j = json_loads(text, JSON_ALLOW_NUL, NULL);
	ck_assert(!json_is_object(j));
	json_decref(j);
}

START_TEST(test_what_jansson_refuses)
{
	expect_error("{\"x\":123456789012345678901234567890}", "too big integer (at its byte 35)");
	expect_error("{\"x\":[1,-9223372036854775809]}", "too big negative integer (at its byte 28)");
	expect_error("{\"x\":9223372036854775808}", "too big integer (at its byte 24)");
	expect_error("{\"metadata\":{\"name\":\"a\"},\"x\":{\"y\":1e400}}",
		     "real number overflow (at its byte 39)");
	expect_error("{\"a\\u0000\":1}", "NUL byte in object key not supported (at its byte 10)");
	expect_error("{\"x\":[{\"\\u0000\" : 1}]}", "NUL byte in object key not supported (at its byte 15)");
	expect_error("[1]", "not a JSON object (at its byte 0)");
	expect_error("{\"a\":1", "an object does not end (at its byte 6)");
	expect_error("{\"a\":\"x", "a string does not end (at its byte 5)");

	/* what jansson reads */
	same_as_jansson("{\"x\":[9223372036854775807,-9223372036854775808,123456789012345678,1e300,"
			"-1.5e-400,0.000000000000000000000000000001,1E+2]}");
	same_as_jansson("{\"x\":[\"\\u0000\" , 1],\"z\":{\"k\":\"\\u0000\"},\"y\":\"\\u0000\"}");
}
END_TEST

static char *stored(const char *text, const char *ins)
{
	struct objtext ot;
	size_t n;
	summary_of(text, &ot);
	char *out = objtext_store(text, strlen(text), ins, strlen(ins), ot.compact, &n);
	ck_assert_uint_eq(strlen(out), n);
	objtext_clear(&ot);
	return out;
}

START_TEST(test_store)
{
	const char *ins = "\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"";
	char *s = stored("{\"metadata\":{\"name\":\"a\"},\"data\":{\"k\":\"v\"}}", ins);
	ck_assert_str_eq(s, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\"},"
			 "\"data\":{\"k\":\"v\"}}");
	free(s);
	s = stored("{}", ins);
	ck_assert_str_eq(s, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}");
	free(s);
	s = stored("{ \n }", ins);
	ck_assert_str_eq(s, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}");
	free(s);
	/* the server's bytes as they are: escapes, key order, numbers */
	const char *raw = "{\"kind\":\"X\",\"apiVersion\":\"g/v1\",\"metadata\":{\"name\":\"\\u003cb\\u003e\"},"
			  "\"spec\":{\"n\":1.50,\"e\":1E3,\"s\":\"\\/\"}}";
	s = stored(raw, "");
	ck_assert_str_eq(s, raw);
	free(s);
	/* whitespace outside strings goes, inside strings it stays; one line */
	s = stored("{\n  \"metadata\": {\n    \"name\": \"a b\\n\\\" c\"\n  },\n  \"data\": [ 1 , "
		   "true , null , \"x  y\" ]\n}\n", ins);
	ck_assert_str_eq(s, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			 "\"a b\\n\\\" c\"},\"data\":[1,true,null,\"x  y\"]}");
	ck_assert_ptr_null(strchr(s, '\n'));
	char *again = stored("{\n  \"metadata\": {\n    \"name\": \"a b\\n\\\" c\"\n  },\n  \"data\": "
			     "[ 1 , true , null , \"x  y\" ]\n}\n", ins);
	ck_assert_str_eq(s, again);
	free(again);
	free(s);
	/* only kind inserted */
	s = stored("{\"apiVersion\":\"v1\",\"metadata\":{}}", "\"kind\":\"Pod\"");
	ck_assert_str_eq(s, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{}}");
	free(s);
}
END_TEST

START_TEST(test_member)
{
	const char *pvc = "{\"metadata\":{\"name\":\"data\"},\"spec\":{\"resources\":{\"volumeName\":"
			  "\"no\"},\"volumeName\":\"pv-\\u0031\"},\"status\":{\"volumeName\":\"no\"}}";
	const char *spec, *v;
	size_t sl, vl;
	ck_assert_int_eq(objtext_member(pvc, strlen(pvc), "spec", &spec, &sl), 1);
	ck_assert_int_eq(spec[0], '{');
	ck_assert_int_eq(spec[sl - 1], '}');
	ck_assert_int_eq(objtext_member(spec, sl, "volumeName", &v, &vl), 1);
	json_t *s = objtext_string(v, vl);
	ck_assert_str_eq(json_string_value(s), "pv-1");
	json_decref(s);
	ck_assert_int_eq(objtext_member(pvc, strlen(pvc), "volumeName", &v, &vl), 0);
	ck_assert_int_eq(objtext_member(pvc, strlen(pvc), "nothing", &v, &vl), 0);
	ck_assert_int_eq(objtext_member("{\"a\":1,\"a\":[2]}", 15, "a", &v, &vl), 1);
	ck_assert_int_eq(vl, 3);
	ck_assert_int_eq(objtext_member("[1]", 3, "a", &v, &vl), 0);
	ck_assert_ptr_null(objtext_string("12", 2));
	ck_assert_ptr_null(objtext_string("\"\\ud800\"", 8));
}
END_TEST

static Suite *objtext_suite(void)
{
	Suite *s = suite_create("objtext");
	TCase *tc = tcase_create("objtext");
	tcase_add_test(tc, test_metadata_anywhere);
	tcase_add_test(tc, test_nested_metadata_not_taken);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_labels);
	tcase_add_test(tc, test_missing_and_odd_metadata);
	tcase_add_test(tc, test_what_jansson_refuses);
	tcase_add_test(tc, test_store);
	tcase_add_test(tc, test_member);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(objtext_suite)

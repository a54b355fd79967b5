/* Unit tests for the LIST item scanner (src/kube/listscan.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kube/listscan.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

/* What a scan handed on: items joined by '\n', and their count. */
struct got {
	struct kbuf items;
	size_t n;
	long stop_at; /* the callback fails on this item (-1: never) */
};

static int collect(void *ud, const char *json, size_t len, size_t index)
{
	struct got *g = ud;
	ck_assert_uint_eq(index, g->n);
	ck_assert_uint_eq(strlen(json), len);
	if ((long)index == g->stop_at)
		return kahu_error_set(KAHU_EIO, "enough");
	kbuf_add(&g->items, json, len);
	kbuf_addc(&g->items, '\n');
	g->n++;
	return 0;
}

/* Scans `body` in pieces of `piece` bytes (0: at once); returns the outcome and
 * leaves the scanner in *out (caller frees) when out is not NULL. */
static int scan(const char *body, size_t len, size_t piece, size_t max_item, struct got *g,
		struct listscan **out)
{
	struct listscan *s = listscan_new(max_item, collect, g);
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0;) {
		size_t n = piece && piece < len - off ? piece : len - off;
		rc = listscan_feed(s, body + off, n);
		off += n;
	}
	if (rc == 0)
		rc = listscan_finish(s);
	if (out)
		*out = s;
	else
		listscan_free(s);
	return rc;
}

/* Scans at once, then in every piece size up to 17 and byte by byte: the same items and
 * the same outcome and message each time.  Returns the items. */
static char *scan_all_ways(const char *body, int want_rc, size_t want_n)
{
	struct got first = { KBUF_INIT, 0, -1 };
	int rc = scan(body, strlen(body), 0, 0, &first, NULL);
	char *msg = xstrdup(kahu_error_last());
	ck_assert_msg(rc == want_rc, "rc %d, want %d: %s", rc, want_rc, msg);
	ck_assert_uint_eq(first.n, want_n);
	for (size_t piece = 1; piece <= 17; piece++) {
		struct got g = { KBUF_INIT, 0, -1 };
		kahu_error_clear();
		int rc2 = scan(body, strlen(body), piece, 0, &g, NULL);
		ck_assert_int_eq(rc2, rc);
		ck_assert_str_eq(kbuf_str(&g.items), kbuf_str(&first.items));
		if (rc < 0)
			ck_assert_str_eq(kahu_error_last(), msg);
		kbuf_free(&g.items);
	}
	free(msg);
	return first.items.data ? kbuf_detach(&first.items) : xstrdup("");
}

static char *items_of(const char *body, size_t want_n)
{
	struct got g = { KBUF_INIT, 0, -1 };
	int rc = scan(body, strlen(body), 0, 0, &g, NULL);
	ck_assert_msg(rc == 0, "%s", kahu_error_last());
	ck_assert_uint_eq(g.n, want_n);
	/* and in every piece size, byte by byte included */
	for (size_t piece = 1; piece <= 17; piece++) {
		struct got h = { KBUF_INIT, 0, -1 };
		ck_assert_msg(scan(body, strlen(body), piece, 0, &h, NULL) == 0, "%s",
			      kahu_error_last());
		ck_assert_str_eq(kbuf_str(&h.items), kbuf_str(&g.items));
		kbuf_free(&h.items);
	}
	if (!g.items.data)
		return xstrdup("");
	return kbuf_detach(&g.items);
}

static void expect_error(const char *body, enum listscan_error kind, const char *msg_part)
{
	for (size_t piece = 0; piece <= 5; piece++) {
		struct got g = { KBUF_INIT, 0, -1 };
		struct listscan *s;
		int rc = scan(body, strlen(body), piece, 0, &g, &s);
		ck_assert_msg(rc == KAHU_EPROTO, "%s: rc %d (%s)", body, rc, kahu_error_last());
		ck_assert_msg(listscan_error_kind(s) == kind, "%s: kind %d: %s", body,
			      (int)listscan_error_kind(s), kahu_error_last());
		ck_assert_msg(strstr(kahu_error_last(), msg_part), "%s: \"%s\" lacks \"%s\"", body,
			      kahu_error_last(), msg_part);
		listscan_free(s);
		kbuf_free(&g.items);
	}
}

START_TEST(test_items)
{
	char *items = items_of("{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":"
			       "{\"resourceVersion\":\"7\"},\"items\":[{\"metadata\":{\"name\":\"a\"}},"
			       "{\"metadata\":{\"name\":\"b\"},\"data\":{\"x\":\"1\"}}]}", 2);
	ck_assert_str_eq(items, "{\"metadata\":{\"name\":\"a\"}}\n"
				"{\"metadata\":{\"name\":\"b\"},\"data\":{\"x\":\"1\"}}\n");
	free(items);
}
END_TEST

START_TEST(test_strings)
{
	/* escaped quotes and backslashes, brackets and braces inside strings, \u escapes
	 * (a surrogate pair among them), raw UTF-8: all inside one item, which comes out
	 * byte for byte */
	const char *item = "{\"a\":\"say \\\"hi\\\" \\\\\",\"b\":\"\\\\\",\"c\":\"]}[{,:\",\"d\":"
			   "\"\\u00e9\\ud83d\\ude00\\u0041\\/\\b\\f\\n\\r\\t\",\"e\":\"\xc3\xa9\xe2\x82\xac"
			   "\xf0\x9f\x98\x80\",\"\\\"k]\":\"}\"}";
	char *body = xasprintf("{\"items\":[%s,%s],\"kind\":\"XList\"}", item, item);
	char *want = xasprintf("%s\n%s\n", item, item);
	char *items = items_of(body, 2);
	ck_assert_str_eq(items, want);
	json_t *j = json_loads(item, 0, NULL);
	ck_assert_ptr_nonnull(j); /* what jansson makes of it too */
	ck_assert_str_eq(json_string_value(json_object_get(j, "c")), "]}[{,:");
	json_decref(j);
	free(items);
	free(want);
	free(body);
}
END_TEST

START_TEST(test_nesting_and_values)
{
	char *items = items_of("{\"items\":[{\"a\":[[1,[2,[3,[]]]],{\"b\":[{},{\"c\":null}]}],"
			       "\"n\":[0,-0,1.5,-2e10,3E+2,4.0e-3,true,false,null]},{\"items\":[1]}]}", 2);
	ck_assert_str_eq(items, "{\"a\":[[1,[2,[3,[]]]],{\"b\":[{},{\"c\":null}]}],"
				"\"n\":[0,-0,1.5,-2e10,3E+2,4.0e-3,true,false,null]}\n{\"items\":[1]}\n");
	free(items);
}
END_TEST

START_TEST(test_items_forms)
{
	struct got g = { KBUF_INIT, 0, -1 };
	struct listscan *s;
#define SCAN(body) scan(body, strlen(body), 0, 0, &g, &s)
	ck_assert_int_eq(SCAN("{\"kind\":\"AList\",\"metadata\":{},\"items\":[]}"), 0);
	ck_assert_int_eq(listscan_items_form(s), LISTSCAN_ITEMS_ARRAY);
	ck_assert_uint_eq(listscan_items(s), 0);
	listscan_free(s);
	ck_assert_int_eq(SCAN("{\"kind\":\"AList\",\"items\":null}"), 0);
	ck_assert_int_eq(listscan_items_form(s), LISTSCAN_ITEMS_NULL);
	listscan_free(s);
	ck_assert_int_eq(SCAN("{\"kind\":\"AList\"}"), 0);
	ck_assert_int_eq(listscan_items_form(s), LISTSCAN_ITEMS_MISSING);
	listscan_free(s);
	/* "items" deeper down is not the list's */
	ck_assert_int_eq(SCAN("{\"x\":{\"items\":[1]}}"), 0);
	ck_assert_int_eq(listscan_items_form(s), LISTSCAN_ITEMS_MISSING);
	listscan_free(s);
	ck_assert_uint_eq(g.n, 0);
#undef SCAN
}
END_TEST

START_TEST(test_top_members_any_order)
{
	static const char *const bodies[] = {
		"{\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"metadata\":{\"continue\":\"t\"},"
		"\"items\":[{\"i\":1}]}",
		"{\"items\":[{\"i\":1}],\"metadata\":{\"continue\":\"t\"},\"apiVersion\":\"v1\","
		"\"kind\":\"ConfigMapList\"}",
		"{\"metadata\":{\"continue\":\"t\"},\"other\":{\"kind\":\"no\",\"items\":[2]},\"items\":"
		"[{\"i\":1}],\"kind\":\"ConfigMapList\",\"apiVersion\":\"v1\",\"more\":[\"]\"]}",
		/* escaped member names are the same names */
		"{\"\\u0069tems\":[{\"i\":1}],\"k\\u0069nd\":\"ConfigMapList\",\"apiVersion\":\"v1\","
		"\"metadata\":{\"continue\":\"t\"}}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		for (size_t piece = 0; piece < 4; piece++) {
			struct got g = { KBUF_INIT, 0, -1 };
			struct listscan *s;
			size_t len;
			ck_assert_msg(scan(bodies[i], strlen(bodies[i]), piece, 0, &g, &s) == 0, "%s",
				      kahu_error_last());
			ck_assert_str_eq(kbuf_str(&g.items), "{\"i\":1}\n");
			ck_assert_str_eq(listscan_top(s, LISTSCAN_KIND, &len), "\"ConfigMapList\"");
			ck_assert_uint_eq(len, 15);
			ck_assert_str_eq(listscan_top(s, LISTSCAN_API_VERSION, NULL), "\"v1\"");
			ck_assert_str_eq(listscan_top(s, LISTSCAN_METADATA, NULL), "{\"continue\":\"t\"}");
			listscan_free(s);
			kbuf_free(&g.items);
		}
	}
}
END_TEST

START_TEST(test_whitespace)
{
	char *items = items_of(" \r\n\t{ \"kind\" :\n\"AList\" , \"items\"\t:\r[ {\"a\" : [ 1 , 2 ] } ,"
			       "\n\n{ } ] ,\"metadata\" : { \"resourceVersion\" : \"1\" } }\n \t\r", 2);
	ck_assert_str_eq(items, "{\"a\" : [ 1 , 2 ] }\n{ }\n");
	free(items);
}
END_TEST

START_TEST(test_cut_anywhere)
{
	const char *body = "{\"kind\":\"ConfigMapList\",\"metadata\":{\"continue\":\"a\\\"b\"},\"items\":"
			   "[{\"metadata\":{\"name\":\"x\\\\\"},\"data\":{\"k\":\"v]}\"}},"
			   "{\"metadata\":{\"name\":\"y\"},\"n\":[1.5e3,true,null]},"
			   "{\"metadata\":{\"name\":\"z\",\"u\":\"\\u00e9\\ud83d\\ude00\"}}]}";
	size_t len = strlen(body);
	struct got whole = { KBUF_INIT, 0, -1 };
	ck_assert_int_eq(scan(body, len, 0, 0, &whole, NULL), 0);
	ck_assert_uint_eq(whole.n, 3);
	for (size_t cut = 0; cut < len; cut++) {
		for (size_t piece = 0; piece <= 3; piece++) {
			struct got g = { KBUF_INIT, 0, -1 };
			struct listscan *s;
			int rc = scan(body, cut, piece, 0, &g, &s);
			ck_assert_msg(rc == KAHU_EPROTO, "cut at %zu accepted", cut);
			ck_assert_int_eq(listscan_error_kind(s), LISTSCAN_ESYNTAX);
			ck_assert_msg(strstr(kahu_error_last(), cut ? "the response ends" : "empty"),
				      "cut at %zu: %s", cut, kahu_error_last());
			/* only the items complete before the cut, each complete */
			ck_assert(g.n <= 3);
			ck_assert(strncmp(kbuf_str(&whole.items), kbuf_str(&g.items), g.items.len) == 0);
			listscan_free(s);
			kbuf_free(&g.items);
		}
	}
	/* the messages say where */
	struct got g = { KBUF_INIT, 0, -1 };
	ck_assert_int_eq(scan(body, 100, 0, 0, &g, NULL), KAHU_EPROTO);
	ck_assert_str_eq(kahu_error_last(), "the response ends inside item 1 (after 100 bytes)");
	size_t between = (size_t)(strstr(body, "\"}},{") - body) + 4;
	char *want = xasprintf("the response ends inside the items array, after 1 item (after %zu "
			       "bytes)", between);
	ck_assert_int_eq(scan(body, between, 0, 0, &g, NULL), KAHU_EPROTO);
	ck_assert_str_eq(kahu_error_last(), want);
	free(want);
	ck_assert_int_eq(scan(body, 20, 0, 0, &g, NULL), KAHU_EPROTO);
	ck_assert_str_eq(kahu_error_last(), "the response ends before the list object is complete "
					    "(after 20 bytes)");
	ck_assert_int_eq(scan(" \n", 2, 0, 0, &g, NULL), KAHU_EPROTO);
	ck_assert_str_eq(kahu_error_last(), "the response is empty (whitespace only)");
	kbuf_free(&g.items);
	kbuf_free(&whole.items);
}
END_TEST

START_TEST(test_form_errors)
{
	expect_error("[{\"metadata\":{}}]", LISTSCAN_EFORM,
		     "the response is an array, not a JSON object (it begins with '[')");
	expect_error("\"x\"", LISTSCAN_EFORM, "the response is a string, not a JSON object");
	expect_error("{\"items\":{\"a\":1}}", LISTSCAN_EFORM,
		     "the list's \"items\" is an object, not an array (byte 9)");
	expect_error("{\"items\":\"x\"}", LISTSCAN_EFORM, "\"items\" is a string, not an array");
	expect_error("{\"items\":7}", LISTSCAN_EFORM, "\"items\" is a number, not an array");
	expect_error("{\"items\":true}", LISTSCAN_EFORM, "\"items\" is a boolean, not an array");
	expect_error("{\"items\":[{},42]}", LISTSCAN_EFORM, "item 2 is a number, not an object (byte 13)");
	expect_error("{\"items\":[{},\"x\"]}", LISTSCAN_EFORM, "item 2 is a string, not an object");
	expect_error("{\"items\":[[]]}", LISTSCAN_EFORM, "item 1 is an array, not an object");
	expect_error("{\"items\":[null]}", LISTSCAN_EFORM, "item 1 is null, not an object");
	expect_error("{\"items\":[],\"items\":[]}", LISTSCAN_EFORM, "the list has \"items\" twice");
	expect_error("{\"metadata\":{},\"metadata\":{}}", LISTSCAN_EFORM, "the list has \"metadata\" twice");
}
END_TEST

START_TEST(test_syntax_errors)
{
	expect_error("", LISTSCAN_ESYNTAX, "the response is empty");
	expect_error("<html>", LISTSCAN_ESYNTAX, "the response does not begin with a JSON value: '<'");
	expect_error("{\"items\":[{\"a\":1}]}x", LISTSCAN_ESYNTAX,
		     "invalid JSON at byte 19: data after the end of the list object: 'x'");
	expect_error("{\"items\":[{\"a\":1,}]}", LISTSCAN_ESYNTAX,
		     "invalid JSON at byte 17 (in item 1): a string (an object's key) is due, not '}'");
	expect_error("{\"items\":[{\"a\":1]}]}", LISTSCAN_ESYNTAX, "an object cannot end with ']'");
	expect_error("{\"items\":[{\"a\":[1}]}]}", LISTSCAN_ESYNTAX, "an array cannot end with '}'");
	expect_error("{\"items\":[{\"a\" 1}]}", LISTSCAN_ESYNTAX, "':' is due after an object's key");
	/* errors inside strings quote no byte of them: the string may be a Secret's */
	expect_error("{\"items\":[{\"a\":\"\\x\"}]}", LISTSCAN_ESYNTAX,
		     "invalid JSON at byte 17 (in item 1): an invalid escape in a string");
	expect_error("{\"items\":[{\"a\":\"\\u12g4\"}]}", LISTSCAN_ESYNTAX,
		     "invalid JSON at byte 20 (in item 1): an invalid \\u escape in a string");
	expect_error("{\"items\":[{\"a\":\"\\ud800\"}]}", LISTSCAN_ESYNTAX,
		     "invalid JSON at byte 22 (in item 1): a \\u escape of a high surrogate not "
		     "followed by a low one");
	expect_error("{\"items\":[{\"a\":\"\\ud800\\u0041\"}]}", LISTSCAN_ESYNTAX,
		     "invalid JSON at byte 22 (in item 1): a \\u escape of a high surrogate "
		     "followed by one that is not a low one");
	expect_error("{\"items\":[{\"a\":\"\\udc00\"}]}", LISTSCAN_ESYNTAX,
		     "invalid JSON at byte 16 (in item 1): a \\u escape of a low surrogate without "
		     "its high half");
	expect_error("{\"items\":[{\"a\":\"s3cr3t\x01\"}]}", LISTSCAN_ESYNTAX,
		     "invalid JSON at byte 22 (in item 1): a control character in a string");
	expect_error("{\"items\":[{\"a\":\"\xc0\xaf\"}]}", LISTSCAN_ESYNTAX, "invalid UTF-8");
	expect_error("{\"items\":[{\"a\":\"\xed\xa0\x80\"}]}", LISTSCAN_ESYNTAX, "invalid UTF-8");
	expect_error("{\"items\":[{\"a\":\"\xf4\x90\x80\x80\"}]}", LISTSCAN_ESYNTAX, "invalid UTF-8");
	expect_error("{\"items\":[{\"a\":01}]}", LISTSCAN_ESYNTAX, "a leading zero");
	expect_error("{\"items\":[{\"a\":1.}]}", LISTSCAN_ESYNTAX, "a digit is due after '.'");
	expect_error("{\"items\":[{\"a\":1e}]}", LISTSCAN_ESYNTAX, "a digit is due in the exponent");
	expect_error("{\"items\":[{\"a\":-}]}", LISTSCAN_ESYNTAX, "a digit is due after '-'");
	expect_error("{\"items\":[{\"a\":tru}]}", LISTSCAN_ESYNTAX, "invalid literal");
	expect_error("{\"items\":[{\"a\":nulls}]}", LISTSCAN_ESYNTAX, "',' or '}' is due, not 's'");
	expect_error("{\"other\":[1 2],\"items\":[]}", LISTSCAN_ESYNTAX, "',' or ']' is due");
	expect_error("{\"kind\":\"a\nb\"}", LISTSCAN_ESYNTAX, "(in \"kind\")");
}
END_TEST

START_TEST(test_limits)
{
	/* 10 MiB items pass whole; a limit is kept to the byte, however the body is cut */
	size_t big = 10u * 1024 * 1024;
	struct kbuf b = KBUF_INIT;
	kbuf_adds(&b, "{\"kind\":\"ConfigMapList\",\"items\":[");
	for (int k = 0; k < 2; k++) {
		kbuf_adds(&b, k ? ",{\"data\":\"" : "{\"data\":\"");
		size_t from = b.len;
		kbuf_grow(&b, big);
		memset(b.data + from, k ? 'y' : 'x', big);
		b.len += big;
		b.data[b.len] = '\0';
		kbuf_adds(&b, "\"}");
	}
	kbuf_adds(&b, "]}");
	size_t item = big + 11; /* {"data":"…"} */
	char *too_big = xasprintf("item 1 is larger than %zu bytes", item - 1);
	for (size_t piece = 0; piece <= 65536; piece += 65536 / 4 + 1) {
		struct got g = { KBUF_INIT, 0, -1 };
		ck_assert_msg(scan(b.data, b.len, piece, 64u * 1024 * 1024, &g, NULL) == 0, "%s",
			      kahu_error_last());
		ck_assert_uint_eq(g.n, 2);
		ck_assert_uint_eq(g.items.len, 2 * (item + 1));
		kbuf_free(&g.items);
		struct got h = { KBUF_INIT, 0, -1 };
		ck_assert_int_eq(scan(b.data, b.len, piece, item, &h, NULL), 0);
		ck_assert_uint_eq(h.n, 2);
		kbuf_free(&h.items);
		struct got k = { KBUF_INIT, 0, -1 };
		struct listscan *s;
		ck_assert_int_eq(scan(b.data, b.len, piece, item - 1, &k, &s), KAHU_EPROTO);
		ck_assert_int_eq(listscan_error_kind(s), LISTSCAN_ELIMIT);
		ck_assert_str_eq(kahu_error_last(), too_big);
		ck_assert_uint_eq(k.n, 0);
		listscan_free(s);
	}
	kbuf_free(&b);
	free(too_big);
}
END_TEST

START_TEST(test_depth)
{
	struct kbuf b = KBUF_INIT;
	/* the list (1), items (2), the item (3) and arrays down to the deepest allowed */
	kbuf_adds(&b, "{\"items\":[{\"a\":");
	for (int i = 0; i < LISTSCAN_MAX_DEPTH - 3; i++)
		kbuf_addc(&b, '[');
	for (int i = 0; i < LISTSCAN_MAX_DEPTH - 3; i++)
		kbuf_addc(&b, ']');
	kbuf_adds(&b, "}]}");
	struct got g = { KBUF_INIT, 0, -1 };
	ck_assert_msg(scan(b.data, b.len, 0, 0, &g, NULL) == 0, "%s", kahu_error_last());
	ck_assert_uint_eq(g.n, 1);
	kbuf_free(&g.items);
	kbuf_reset(&b);
	kbuf_adds(&b, "{\"items\":[{\"a\":");
	for (int i = 0; i < LISTSCAN_MAX_DEPTH; i++)
		kbuf_addc(&b, '[');
	struct listscan *s;
	ck_assert_int_eq(scan(b.data, b.len, 0, 0, &g, &s), KAHU_EPROTO);
	ck_assert_int_eq(listscan_error_kind(s), LISTSCAN_ELIMIT);
	ck_assert(strstr(kahu_error_last(), "nested deeper than 2048 levels") != NULL);
	listscan_free(s);
	kbuf_free(&b);
}
END_TEST

START_TEST(test_callback_stops)
{
	const char *body = "{\"items\":[{\"a\":1},{\"b\":2},{\"c\":3}]}";
	struct got g = { KBUF_INIT, 0, 1 };
	struct listscan *s;
	ck_assert_int_eq(scan(body, strlen(body), 3, 0, &g, &s), KAHU_EIO);
	ck_assert_int_eq(listscan_error_kind(s), LISTSCAN_ECALLBACK);
	ck_assert_str_eq(kbuf_str(&g.items), "{\"a\":1}\n");
	/* the error sticks, with its message */
	kahu_error_clear();
	ck_assert_int_eq(listscan_feed(s, "{", 1), KAHU_EIO);
	ck_assert_str_eq(kahu_error_last(), "enough");
	ck_assert_int_eq(listscan_finish(s), KAHU_EIO);
	/* and a reset starts afresh */
	listscan_reset(s);
	g.stop_at = -1;
	g.n = 0;
	kbuf_reset(&g.items);
	ck_assert_int_eq(listscan_feed(s, body, strlen(body)), 0);
	ck_assert_int_eq(listscan_finish(s), 0);
	ck_assert_uint_eq(g.n, 3);
	ck_assert_int_eq(listscan_error_kind(s), LISTSCAN_OK);
	listscan_free(s);
	kbuf_free(&g.items);
}
END_TEST

START_TEST(test_same_in_any_pieces)
{
	char *items = scan_all_ways("{\"items\":[{\"a\":\"\\\"}\"},{\"b\":[\"\\\\\"]}],\"kind\":\"X\"}", 0, 2);
	ck_assert_str_eq(items, "{\"a\":\"\\\"}\"}\n{\"b\":[\"\\\\\"]}\n");
	free(items);
	items = scan_all_ways("{\"items\":[{\"a\":1},{\"b\":2}}", KAHU_EPROTO, 2);
	free(items);
}
END_TEST

/* Items shaped as real servers send them: managedFields keys holding escaped JSON,
 * strings with escaped quotes and backslashes (one ending in a backslash), brackets and
 * braces in strings, \u escapes (kube-apiserver writes <, > and & as \u003c, \u003e,
 * \u0026), a member named "items" inside an item, kubectl's last-applied-configuration
 * (JSON in a string), whitespace between every token. */
static const char *const real_items[] = {
	"{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"shop\",\"managedFields\":[{\"manager\":"
	"\"kubelet\",\"fieldsV1\":{\"f:status\":{\"f:conditions\":{\"k:{\\\"type\\\":\\\"Ready\\\"}\":"
	"{\".\":{},\"f:status\":{}}}}}}]},\"spec\":{\"containers\":[{\"name\":\"app\",\"args\":"
	"[\"--x=[1,2]\",\"{\\\"a\\\":\\\"}\\\"}\"]}]}}",
	"{ \"kind\" : \"CustomResourceDefinition\" , \"spec\" : { \"description\" : \"Use "
	"\\u003cname\\u003e \\u0026 \\\"quotes\\\" [a] {b}\\nC:\\\\dir\\\\\" , \"pattern\" : "
	"\"^([a-z0-9]\\\\.)*$\" , \"e\" : \"\\ud83d\\ude00\\u00e9\\/\" } , \"items\" : [ { \"x\" : 1 } ,"
	" [ ] , [ [ ] , { } ] ] }",
	"{\"a\":\"\\\\\",\"b\":\"\\\\\\\"\",\"c\":\"]}\",\"d\":\"\\\"}]},{\\\"\",\"n\":[-1.5e-3,0,true,null]}",
	"{\n}",
	"{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
	"\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"Service\\\",\\\"spec\\\":{\\\"ports\\\":"
	"[{\\\"port\\\":80}]}}\\n\"}}}",
};
#define N_REAL (sizeof real_items / sizeof real_items[0])

/* The body of real_items, and where each item ends (the offset after its '}'). */
static char *real_body(size_t *ends, size_t *len)
{
	static const char *const seps[N_REAL] = { " ,\n  ", ",", " ,\r\n\t", "\t,\t", "\n " };
	struct kbuf b = KBUF_INIT;
	kbuf_adds(&b, " {\n \"kind\" : \"List\" ,\n \"apiVersion\":\"v1\", \"items\" :\t[\n  ");
	for (size_t i = 0; i < N_REAL; i++) {
		kbuf_adds(&b, real_items[i]);
		ends[i] = b.len;
		kbuf_adds(&b, seps[i]);
	}
	kbuf_adds(&b, "] ,\n \"metadata\" : { \"continue\" : \"x]}\\\"\" }\n}\n");
	*len = b.len;
	return kbuf_detach(&b);
}

static size_t complete_at(const size_t *ends, size_t n, size_t cut)
{
	size_t k = 0;
	while (k < n && ends[k] <= cut)
		k++;
	return k;
}

START_TEST(test_real_items)
{
	size_t ends[N_REAL], len;
	char *body = real_body(ends, &len);
	struct kbuf want = KBUF_INIT;
	for (size_t i = 0; i < N_REAL; i++) {
		kbuf_adds(&want, real_items[i]);
		kbuf_addc(&want, '\n');
	}
	char *items = items_of(body, N_REAL);
	ck_assert_str_eq(items, kbuf_str(&want));
	/* each as jansson reads it from the whole body */
	json_t *all = json_loadb(body, len, 0, NULL);
	ck_assert_ptr_nonnull(all);
	for (size_t i = 0; i < N_REAL; i++) {
		json_t *it = json_loads(real_items[i], 0, NULL);
		ck_assert_ptr_nonnull(it);
		ck_assert(json_equal(it, json_array_get(json_object_get(all, "items"), i)));
		json_decref(it);
	}
	json_decref(all);
	free(items);
	kbuf_free(&want);
	free(body);
}
END_TEST

/* Fed byte by byte, an item is handed on as soon as its last byte is in, never
 * before: after each byte, the items handed on are exactly those complete. */
START_TEST(test_item_handed_on_when_complete)
{
	size_t ends[N_REAL], len;
	char *body = real_body(ends, &len);
	struct got g = { KBUF_INIT, 0, -1 };
	struct listscan *s = listscan_new(0, collect, &g);
	for (size_t i = 0; i < len; i++) {
		ck_assert_int_eq(listscan_feed(s, body + i, 1), 0);
		ck_assert_msg(g.n == complete_at(ends, N_REAL, i + 1), "after %zu bytes: %zu items, want %zu",
			      i + 1, g.n, complete_at(ends, N_REAL, i + 1));
	}
	ck_assert_int_eq(listscan_finish(s), 0);
	ck_assert_str_eq(listscan_top(s, LISTSCAN_METADATA, NULL), "{ \"continue\" : \"x]}\\\"\" }");
	listscan_free(s);
	kbuf_free(&g.items);
	free(body);
}
END_TEST

/* Cut at every offset before the end, in pieces of every kind: a syntax error saying the
 * response ends, and exactly the items complete before the cut, each whole. */
START_TEST(test_real_cut_at_every_offset)
{
	size_t ends[N_REAL], len;
	char *body = real_body(ends, &len);
	size_t last = len;
	while (last > 0 && strchr(" \t\r\n", body[last - 1]))
		last--;
	struct got whole = { KBUF_INIT, 0, -1 };
	ck_assert_int_eq(scan(body, len, 0, 0, &whole, NULL), 0);
	for (size_t cut = 0; cut < last; cut++) {
		static const size_t pieces[] = { 0, 1, 2, 7 };
		for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
			struct got g = { KBUF_INIT, 0, -1 };
			struct listscan *s;
			int rc = scan(body, cut, pieces[p], 0, &g, &s);
			ck_assert_msg(rc == KAHU_EPROTO, "cut at %zu accepted", cut);
			ck_assert_int_eq(listscan_error_kind(s), LISTSCAN_ESYNTAX);
			ck_assert_msg(strstr(kahu_error_last(), "the response ends") ||
				      strstr(kahu_error_last(), "the response is empty"),
				      "cut at %zu: %s", cut, kahu_error_last());
			ck_assert_uint_eq(g.n, complete_at(ends, N_REAL, cut));
			ck_assert(strncmp(kbuf_str(&whole.items), kbuf_str(&g.items), g.items.len) == 0);
			listscan_free(s);
			kbuf_free(&g.items);
		}
	}
	/* what follows the last item is only whitespace: those cuts are complete bodies */
	for (size_t cut = last; cut <= len; cut++) {
		struct got g = { KBUF_INIT, 0, -1 };
		ck_assert_int_eq(scan(body, cut, 1, 0, &g, NULL), 0);
		ck_assert_uint_eq(g.n, N_REAL);
		kbuf_free(&g.items);
	}
	kbuf_free(&whole.items);
	free(body);
}
END_TEST

/* "items": [], null or missing, with whitespace anywhere and the other members before or
 * after: no item, the right form, in every piece size; cut anywhere, an error. */
START_TEST(test_empty_items_all_ways)
{
	static const struct {
		const char *body;
		enum listscan_items form;
	} cases[] = {
		{ "{\"items\":[]}", LISTSCAN_ITEMS_ARRAY },
		{ " { \"items\" : [ \n\t ] , \"metadata\" : { \"resourceVersion\" : \"5\" } } ", LISTSCAN_ITEMS_ARRAY },
		{ "{\"metadata\":{\"continue\":\"\"},\"kind\":\"PodList\",\"items\":[\r\n]}", LISTSCAN_ITEMS_ARRAY },
		{ "{\"items\":null}", LISTSCAN_ITEMS_NULL },
		{ "{\n\"items\"\n:\nnull\n,\n\"metadata\"\n:\n{}\n}\n", LISTSCAN_ITEMS_NULL },
		{ "{\"kind\":\"PodList\",\"items\" : null , \"apiVersion\":\"v1\"}", LISTSCAN_ITEMS_NULL },
		{ "{}", LISTSCAN_ITEMS_MISSING },
		{ " {\t} ", LISTSCAN_ITEMS_MISSING },
		{ "{\"kind\":\"PodList\",\"metadata\":{\"items\":[{\"a\":1}]},\"x\":[\"items\",[]]}",
		  LISTSCAN_ITEMS_MISSING },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *body = cases[i].body;
		size_t len = strlen(body);
		for (size_t piece = 0; piece <= 5; piece++) {
			struct got g = { KBUF_INIT, 0, -1 };
			struct listscan *s;
			ck_assert_msg(scan(body, len, piece, 0, &g, &s) == 0, "%s: %s", body, kahu_error_last());
			ck_assert_msg(listscan_items_form(s) == cases[i].form, "%s: form %d", body,
				      (int)listscan_items_form(s));
			ck_assert_uint_eq(g.n, 0);
			listscan_free(s);
		}
		size_t last = len;
		while (last > 0 && strchr(" \t\r\n", body[last - 1]))
			last--;
		for (size_t cut = 0; cut < last; cut++) {
			struct got g = { KBUF_INIT, 0, -1 };
			ck_assert_msg(scan(body, cut, 1, 0, &g, NULL) == KAHU_EPROTO, "%s cut at %zu accepted",
				      body, cut);
			ck_assert_uint_eq(g.n, 0);
		}
	}
}
END_TEST

/* One item of over 10 MiB as a large CRD is built (nested schemas, descriptions with
 * escapes, \u escapes, brackets in strings), between two small ones, read in the pieces
 * a transfer delivers (16 KiB, an odd 4093, whole): handed on byte for byte, once, and
 * what follows it is kept. */
START_TEST(test_big_real_item)
{
	struct kbuf item = KBUF_INIT;
	kbuf_adds(&item, "{\"metadata\":{\"name\":\"big.example.io\"},\"spec\":{\"schema\":{");
	for (size_t i = 0; item.len < 10u * 1024 * 1024; i++)
		kbuf_addf(&item, "%s" "\"p%zu\":{\"description\":\"Field %zu of the \\\"spec\\\": see `spec.x[0]` "
			  "and {name}.\\nPattern \\\\d+ \\u003cvalue\\u003e \\u0026 more; caf\\u00e9 "
			  "\\ud83d\\ude00\",\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\","
			  "\"items\":{\"type\":\"string\",\"enum\":[\"]\",\"}\",\"[{\"]}},\"b\":{\"anyOf\":"
			  "[{\"type\":\"integer\"},{\"type\":\"string\"}],\"x-kubernetes-int-or-string\":true}},"
			  "\"required\":[\"a\"]}", i ? "," : "", i, i);
	kbuf_adds(&item, "}}}");
	ck_assert_uint_gt(item.len, 10u * 1024 * 1024);
	struct kbuf b = KBUF_INIT;
	kbuf_adds(&b, "{\"kind\":\"CustomResourceDefinitionList\",\"items\":[{\"a\":1},");
	kbuf_add(&b, item.data, item.len);
	kbuf_adds(&b, ",{\"b\":\"]\"}],\"metadata\":{\"resourceVersion\":\"9\"}}");
	json_t *j = json_loadb(item.data, item.len, 0, NULL);
	ck_assert_ptr_nonnull(j); /* valid JSON, as jansson sees it */
	json_decref(j);
	static const size_t pieces[] = { 0, 16384, 4093 };
	for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
		struct got g = { KBUF_INIT, 0, -1 };
		struct listscan *s;
		ck_assert_msg(scan(b.data, b.len, pieces[p], 64u * 1024 * 1024, &g, &s) == 0, "%s",
			      kahu_error_last());
		ck_assert_uint_eq(g.n, 3);
		ck_assert_uint_eq(g.items.len, 8 + item.len + 1 + 10);
		ck_assert(memcmp(g.items.data, "{\"a\":1}\n", 8) == 0);
		ck_assert(memcmp(g.items.data + 8, item.data, item.len) == 0);
		ck_assert(memcmp(g.items.data + 8 + item.len, "\n{\"b\":\"]\"}\n", 11) == 0);
		ck_assert_str_eq(listscan_top(s, LISTSCAN_METADATA, NULL), "{\"resourceVersion\":\"9\"}");
		listscan_free(s);
		kbuf_free(&g.items);
	}
	kbuf_free(&b);
	kbuf_free(&item);
}
END_TEST

static Suite *listscan_suite(void)
{
	Suite *s = suite_create("listscan");
	TCase *tc = tcase_create("scan");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_items);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_nesting_and_values);
	tcase_add_test(tc, test_items_forms);
	tcase_add_test(tc, test_top_members_any_order);
	tcase_add_test(tc, test_whitespace);
	tcase_add_test(tc, test_cut_anywhere);
	tcase_add_test(tc, test_form_errors);
	tcase_add_test(tc, test_syntax_errors);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_callback_stops);
	tcase_add_test(tc, test_same_in_any_pieces);
	tcase_add_test(tc, test_real_items);
	tcase_add_test(tc, test_item_handed_on_when_complete);
	tcase_add_test(tc, test_real_cut_at_every_offset);
	tcase_add_test(tc, test_empty_items_all_ways);
	tcase_add_test(tc, test_big_real_item);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(listscan_suite)

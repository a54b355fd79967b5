/* The watch event stream parser (kube/watch.c): events cut anywhere, large objects,
 * ERROR and BOOKMARK events, and what is not a stream of watch events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "kube/watch.h"
#include "util/buf.h"
#include "util/err.h"

/* What the callback saw, one line per event: "TYPE ns/name rv" or
 * "ERROR code reason message" or "BOOKMARK rv". */
struct seen {
	struct kbuf log;
	size_t n;
	size_t biggest;      /* the largest object, as JSON */
	int stop_at;         /* return an error at this event (1-based); 0: never */
};

static int on_ev(void *ud, const struct kube_wevent *ev)
{
	struct seen *s = ud;
	s->n++;
	if (s->stop_at && (int)s->n == s->stop_at)
		return kahu_error_set(KAHU_EIO, "stopped by the callback");
	switch (ev->type) {
	case KUBE_WEV_ERROR:
		kbuf_addf(&s->log, "ERROR %ld %s %s\n", ev->code, ev->reason, ev->message);
		break;
	case KUBE_WEV_BOOKMARK:
		kbuf_addf(&s->log, "BOOKMARK %s\n", ev->resource_version);
		break;
	default:
		kbuf_addf(&s->log, "%s %s/%s %s\n", kube_wtype_name(ev->type), ev->ns, ev->name,
			  ev->resource_version);
	}
	char *j = json_dumps(ev->object, JSON_COMPACT);
	if (j && strlen(j) > s->biggest)
		s->biggest = strlen(j);
	free(j);
	return 0;
}

static const char STREAM[] =
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":"
	"{\"name\":\"a\",\"namespace\":\"ns1\",\"resourceVersion\":\"101\"},\"data\":{\"k\":\"}{\\\"]\\\\\"}}}\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"namespace\":\"ns1\","
	"\"resourceVersion\":\"102\"},\"data\":{\"nested\":[[{\"x\":[1,2,{}]}],\"\\u007d\"]}}}\r\n"
	"  {\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\","
	"\"metadata\":{\"resourceVersion\":\"150\"}}}"
	"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"151\"}}}\n"
	"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
	"\"status\":\"Failure\",\"message\":\"too old resource version: 1 (150)\",\"reason\":\"Expired\","
	"\"code\":410}}\n";

static const char EXPECTED[] =
	"ADDED ns1/a 101\n"
	"MODIFIED ns1/a 102\n"
	"BOOKMARK 150\n"
	"DELETED /n1 151\n"
	"ERROR 410 Expired too old resource version: 1 (150)\n";

static void run_pieces(const char *text, size_t len, const size_t *cuts, size_t ncuts,
		       struct seen *s, int *feed_rc, int *finish_rc)
{
	struct kube_wparse *p = kube_wparse_new(0, on_ev, s);
	size_t at = 0;
	*feed_rc = 0;
	for (size_t i = 0; i <= ncuts && *feed_rc == 0; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		*feed_rc = kube_wparse_feed(p, text + at, end - at);
		at = end;
	}
	*finish_rc = kube_wparse_finish(p);
	kube_wparse_free(p);
}

START_TEST(test_whole)
{
	struct seen s = { .log = KBUF_INIT };
	int frc, rc;
	run_pieces(STREAM, strlen(STREAM), NULL, 0, &s, &frc, &rc);
	ck_assert_int_eq(frc, 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(kbuf_str(&s.log), EXPECTED);
	kbuf_free(&s.log);
}
END_TEST

/* Cut in two at every byte, and in three at every pair of bytes 7 apart. */
START_TEST(test_split_anywhere)
{
	size_t len = strlen(STREAM);
	for (size_t c = 0; c <= len; c++) {
		struct seen s = { .log = KBUF_INIT };
		int frc, rc;
		size_t cuts[1] = { c };
		run_pieces(STREAM, len, cuts, 1, &s, &frc, &rc);
		ck_assert_msg(frc == 0 && rc == 0, "cut at %zu: %s", c, kahu_error_last());
		ck_assert_str_eq(kbuf_str(&s.log), EXPECTED);
		kbuf_free(&s.log);
	}
	for (size_t c = 0; c + 7 <= len; c++) {
		struct seen s = { .log = KBUF_INIT };
		int frc, rc;
		size_t cuts[2] = { c, c + 7 };
		run_pieces(STREAM, len, cuts, 2, &s, &frc, &rc);
		ck_assert_int_eq(frc, 0);
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(kbuf_str(&s.log), EXPECTED);
		kbuf_free(&s.log);
	}
	/* a byte at a time */
	struct seen s = { .log = KBUF_INIT };
	struct kube_wparse *p = kube_wparse_new(0, on_ev, &s);
	for (size_t i = 0; i < len; i++)
		ck_assert_int_eq(kube_wparse_feed(p, STREAM + i, 1), 0);
	ck_assert_int_eq(kube_wparse_finish(p), 0);
	ck_assert_uint_eq(kube_wparse_events(p), 5);
	ck_assert_str_eq(kbuf_str(&s.log), EXPECTED);
	kube_wparse_free(p);
	kbuf_free(&s.log);
}
END_TEST

/* An object of 8 MB (strings full of braces, quotes and escapes) in 64 KiB pieces. */
START_TEST(test_huge_object)
{
	struct kbuf b = KBUF_INIT;
	kbuf_adds(&b, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"big\",\"namespace\":\"n\","
		      "\"resourceVersion\":\"7\"},\"data\":{");
	for (int i = 0; i < 8192; i++)
		kbuf_addf(&b, "%s\"k%d\":\"%01000d{[\\\"}]\\\\\"", i ? "," : "", i, i);
	kbuf_adds(&b, "}}}\n{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"big\",\"namespace\":\"n\","
		      "\"resourceVersion\":\"8\"}}}\n");
	struct seen s = { .log = KBUF_INIT };
	struct kube_wparse *p = kube_wparse_new(0, on_ev, &s);
	for (size_t at = 0; at < b.len; at += 65536) {
		size_t n = b.len - at < 65536 ? b.len - at : 65536;
		ck_assert_int_eq(kube_wparse_feed(p, b.data + at, n), 0);
	}
	ck_assert_int_eq(kube_wparse_finish(p), 0);
	ck_assert_str_eq(kbuf_str(&s.log), "ADDED n/big 7\nDELETED n/big 8\n");
	ck_assert_uint_gt(s.biggest, (size_t)8000000);
	kube_wparse_free(p);

	/* the same with a limit below its size: refused, naming the limit */
	kbuf_reset(&s.log);
	s.n = 0;
	p = kube_wparse_new(1 << 20, on_ev, &s);
	int rc = 0;
	for (size_t at = 0; at < b.len && rc == 0; at += 65536) {
		size_t n = b.len - at < 65536 ? b.len - at : 65536;
		rc = kube_wparse_feed(p, b.data + at, n);
	}
	ck_assert_int_eq(rc, KAHU_EPROTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "the event at byte 0 is larger than 1048576 bytes"));
	ck_assert_uint_eq(s.n, 0);
	/* sticky */
	ck_assert_int_eq(kube_wparse_feed(p, "{}", 2), KAHU_EPROTO);
	ck_assert_int_eq(kube_wparse_finish(p), KAHU_EPROTO);
	kube_wparse_free(p);
	kbuf_free(&s.log);
	kbuf_free(&b);
}
END_TEST

START_TEST(test_error_events)
{
	static const char text[] =
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":"
		"\"Too large resource version: 9, current: 5\",\"reason\":\"Timeout\",\"code\":504}}\n"
		"{\"type\":\"ERROR\",\"object\":{}}\n";
	struct seen s = { .log = KBUF_INIT };
	int frc, rc;
	run_pieces(text, strlen(text), NULL, 0, &s, &frc, &rc);
	ck_assert_int_eq(frc, 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(kbuf_str(&s.log), "ERROR 504 Timeout Too large resource version: 9, current: 5\n"
					   "ERROR 0  \n");
	kbuf_free(&s.log);
}
END_TEST

static const struct {
	const char *text;
	const char *msg;   /* in the error message */
	int at_finish;     /* the error comes at finish */
} garbage[] = {
	{ "hello", "expected an event ('{') at byte 0, got 0x68", 0 },
	{ "\n\n[1]", "expected an event ('{') at byte 2, got 0x5b", 0 },
	{ "{\"type\":\"ADDED\"}", "the ADDED event at byte 0 has no \"object\" object", 0 },
	{ "{\"object\":{}}", "the event at byte 0 has no \"type\" string", 0 },
	{ "{\"type\":7,\"object\":{}}", "has no \"type\" string", 0 },
	{ "{\"type\":\"CHANGED\",\"object\":{}}", "unknown type \"CHANGED\"", 0 },
	{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}",
	  "the ADDED event at byte 0 has no metadata.name", 0 },
	{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}",
	  "the ADDED event at byte 0 has no metadata.resourceVersion", 0 },
	{ "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"\"}}}",
	  "no metadata.resourceVersion", 0 },
	{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\",\"resourceVersion\":\"1\"}}}\n{\"ty",
	  "cut short in the event at byte 74 (4 bytes of it received)", 1 },
	{ "{\"type\":\"ADDED\",,}", "the event at byte 0 is not JSON", 0 },
	{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"\xff\",\"resourceVersion\":\"1\"}}}",
	  "is not JSON", 0 },
	{ "{\"a\":\"}\"", "cut short in the event at byte 0", 1 },
	{ "{\"type\":\"ADDED\",\"object\":{}}]", "has no metadata", 0 },
};

START_TEST(test_garbage)
{
	const char *text = garbage[_i].text;
	struct seen s = { .log = KBUF_INIT };
	int frc, rc;
	run_pieces(text, strlen(text), NULL, 0, &s, &frc, &rc);
	if (garbage[_i].at_finish) {
		ck_assert_int_eq(frc, 0);
		ck_assert_int_eq(rc, KAHU_EPROTO);
	} else {
		ck_assert_int_eq(frc, KAHU_EPROTO);
	}
	ck_assert_msg(strstr(kahu_error_last(), garbage[_i].msg) != NULL, "%s: got \"%s\"", text,
		      kahu_error_last());
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "watch stream: "));
	kbuf_free(&s.log);
}
END_TEST

START_TEST(test_deep_nesting)
{
	struct kbuf b = KBUF_INIT;
	kbuf_adds(&b, "{\"type\":\"ADDED\",\"object\":");
	for (int i = 0; i < 5000; i++)
		kbuf_addc(&b, '[');
	struct seen s = { .log = KBUF_INIT };
	struct kube_wparse *p = kube_wparse_new(0, on_ev, &s);
	ck_assert_int_eq(kube_wparse_feed(p, b.data, b.len), KAHU_EPROTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "nested too deeply"));
	kube_wparse_free(p);
	kbuf_free(&b);
	kbuf_free(&s.log);
}
END_TEST

START_TEST(test_callback_stops)
{
	struct seen s = { .log = KBUF_INIT };
	s.stop_at = 2;
	int frc, rc;
	run_pieces(STREAM, strlen(STREAM), NULL, 0, &s, &frc, &rc);
	ck_assert_int_eq(frc, KAHU_EIO);
	ck_assert_str_eq(kahu_error_last(), "stopped by the callback");
	ck_assert_int_eq(rc, KAHU_EIO);  /* sticky, with its message */
	ck_assert_str_eq(kahu_error_last(), "stopped by the callback");
	ck_assert_str_eq(kbuf_str(&s.log), "ADDED ns1/a 101\n");
	kbuf_free(&s.log);
}
END_TEST

START_TEST(test_reset)
{
	struct seen s = { .log = KBUF_INIT };
	struct kube_wparse *p = kube_wparse_new(0, on_ev, &s);
	ck_assert_int_eq(kube_wparse_feed(p, "{\"type\":", 8), 0);
	ck_assert_int_eq(kube_wparse_finish(p), KAHU_EPROTO);
	kube_wparse_reset(p);  /* a new connection: the cut event is forgotten */
	ck_assert_int_eq(kube_wparse_feed(p, STREAM, strlen(STREAM)), 0);
	ck_assert_int_eq(kube_wparse_finish(p), 0);
	ck_assert_str_eq(kbuf_str(&s.log), EXPECTED);
	ck_assert_str_eq(kube_wtype_name(KUBE_WEV_RELIST), "RELIST");
	kube_wparse_free(p);
	kbuf_free(&s.log);
}
END_TEST

static Suite *watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("parse");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_whole);
	tcase_add_test(tc, test_split_anywhere);
	tcase_add_test(tc, test_huge_object);
	tcase_add_test(tc, test_error_events);
	tcase_add_loop_test(tc, test_garbage, 0, (int)(sizeof garbage / sizeof garbage[0]));
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_callback_stops);
	tcase_add_test(tc, test_reset);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(watch_suite)

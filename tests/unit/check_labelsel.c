#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_main.h"
#include "engine/labelsel.h"
#include "util/err.h"
#include "util/mem.h"

/* Parse, print canonically, and check the canonical text parses to itself. */
static void check_canon(const char *in, const char *want)
{
	struct labelsel *s = NULL;
	int rc = labelsel_parse(in, &s);
	ck_assert_msg(rc == 0, "parse \"%s\": %s", in, kahu_error_last());
	char *got = labelsel_to_string(s);
	ck_assert_msg(strcmp(got, want) == 0, "\"%s\" -> \"%s\", want \"%s\"", in, got, want);
	struct labelsel *again = NULL;
	ck_assert_int_eq(labelsel_parse(got, &again), 0);
	char *got2 = labelsel_to_string(again);
	ck_assert_str_eq(got2, got);
	free(got);
	free(got2);
	labelsel_free(s);
	labelsel_free(again);
}

START_TEST(test_parse_operators)
{
	check_canon("a=b", "a=b");
	check_canon("a==b", "a=b");
	check_canon("a!=b", "a!=b");
	check_canon("  a  !=  b  ", "a!=b");
	check_canon("a", "a");
	check_canon("!a", "!a");
	check_canon(" ! a ", "!a");
	check_canon("a in (x,y)", "a in (x,y)");
	check_canon("a in ( y , x ,x )", "a in (x,y)");
	check_canon("a notin(x)", "a notin (x)");
	check_canon("a>5", "a>5");
	check_canon("a < -3", "a<-3");
	check_canon("a=", "a=");
	check_canon("a=,b", "a=,b");
	check_canon("x in (a,)", "x in (,a)");
	/* the empty value alone: "()" would not parse again */
	check_canon("x in (,)", "x in (,)");
	check_canon("x notin ( , ,)", "x notin (,)");
	check_canon("example.com/app=web", "example.com/app=web");
	check_canon("k8s.io/a-b_c.d=V-1.x_y", "k8s.io/a-b_c.d=V-1.x_y");
	/* "in" and "notin" are ordinary words outside the operator position */
	check_canon("in=notin", "in=notin");
	check_canon("a in (in,notin)", "a in (in,notin)");
	/* comma = AND; sorted by key, then operator */
	check_canon("z=1, a=2", "a=2,z=1");
	check_canon("a<10,a>5", "a>5,a<10");
	/* numbers sort as numbers, as they print: 090 is 90 */
	check_canon("a<090,a<1", "a<1,a<90");
	check_canon("a>10,a>9,a>-10,a>-5", "a>-10,a>-5,a>9,a>10");
	check_canon("b,!a,c in (2,1),a notin (x)", "!a,a notin (x),b,c in (1,2)");
	check_canon("", "");
	check_canon("   ", "");
}
END_TEST

START_TEST(test_parse_empty_is_everything)
{
	struct labelsel *s;
	ck_assert_int_eq(labelsel_parse("", &s), 0);
	ck_assert(labelsel_is_empty(s));
	ck_assert(labelsel_match(s, NULL));
	labelsel_free(s);
	ck_assert_int_eq(labelsel_parse("a", &s), 0);
	ck_assert(!labelsel_is_empty(s));
	labelsel_free(s);
}
END_TEST

static void check_error(const char *in, const char *want_tail)
{
	struct labelsel *s = (struct labelsel *)1;
	int rc = labelsel_parse(in, &s);
	ck_assert_msg(rc == KAHU_EUSAGE, "\"%s\" parsed (rc %d)", in, rc);
	ck_assert_ptr_null(s);
	char *want = xasprintf("invalid label selector \"%s\": %s", in, want_tail);
	ck_assert_msg(strcmp(kahu_error_last(), want) == 0, "\"%s\":\n got  %s\n want %s",
		      in, kahu_error_last(), want);
	free(want);
}

START_TEST(test_parse_errors)
{
	check_error("a in (b", "missing ')' at position 8");
	check_error("a in (b,c", "missing ')' at position 10");
	check_error("a in (b))", "unexpected ')' (expected ',' or end of selector) at position 9");
	check_error("a in ()", "empty value list for 'in' at position 6");
	check_error("a notin ( )", "empty value list for 'notin' at position 9");
	check_error("a in b", "expected '(' after 'in', found \"b\" at position 6");
	check_error("a in (b=c)", "unexpected '=' (expected ',' or ')') at position 8");
	check_error("(a)", "unexpected '(' (expected a key or '!') at position 1");
	check_error("a=b,", "missing requirement after ',' at position 5");
	check_error("a=b, ", "missing requirement after ',' at position 6");
	check_error(",a", "unexpected ',' (expected a key or '!') at position 1");
	check_error("a,,b", "unexpected ',' (expected a key or '!') at position 3");
	check_error("a=b=c", "unexpected '=' (expected ',' or end of selector) at position 4");
	check_error("a=b c", "unexpected \"c\" (expected ',' or end of selector) at position 5");
	check_error("a b", "unexpected \"b\" (expected an operator, ',' or end of selector) "
		    "at position 3");
	check_error("=b", "missing key before '=' at position 1");
	check_error(" != b", "missing key before '!=' at position 2");
	check_error("!", "unexpected end of selector (expected a key after '!') at position 2");
	check_error("!a=b", "unexpected '=' (expected ',' or end of selector after '!key') "
		    "at position 3");
	check_error("a>x", "'>' needs an integer value, not \"x\" at position 3");
	check_error("a<", "unexpected end of selector (expected an integer) at position 3");
	check_error("a$b=c", "invalid key \"a$b\" at position 1: name part must consist of "
		    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
		    "alphanumeric character");
	check_error("-a", "invalid key \"-a\" at position 1: name part must consist of "
		    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
		    "alphanumeric character");
	check_error("x/", "invalid key \"x/\" at position 1: name part must not be empty");
	check_error("/x", "invalid key \"/x\" at position 1: prefix before '/' must not be empty");
	check_error("a/b/c", "invalid key \"a/b/c\" at position 1: at most one '/' is allowed "
		    "(prefix/name)");
	check_error("Example.com/a", "invalid key \"Example.com/a\" at position 1: prefix must be "
		    "a DNS subdomain (lowercase alphanumeric characters, '-' or '.', starting "
		    "and ending with an alphanumeric character)");
	check_error("a=b$", "invalid value \"b$\" at position 3: must consist of alphanumeric "
		    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
		    "character");
	check_error("a in (x,_y)", "invalid value \"_y\" at position 9: must consist of "
		    "alphanumeric characters, '-', '_' or '.', and must start and end with an "
		    "alphanumeric character");
}
END_TEST

START_TEST(test_length_limits)
{
	char key63[64], key64[65], val64[65], buf[256];
	memset(key63, 'k', 63);
	key63[63] = '\0';
	memset(key64, 'k', 64);
	key64[64] = '\0';
	memset(val64, 'v', 64);
	val64[64] = '\0';

	snprintf(buf, sizeof buf, "%s=%s", key63, key63);   /* exactly 63: fine */
	check_canon(buf, buf);
	snprintf(buf, sizeof buf, "example.com/%s", key63);
	check_canon(buf, buf);

	snprintf(buf, sizeof buf, "%s=x", key64);
	char *want = xasprintf("invalid key \"%s\" at position 1: name part is longer than "
			       "63 characters", key64);
	check_error(buf, want);
	free(want);

	snprintf(buf, sizeof buf, "a=%s", val64);
	want = xasprintf("invalid value \"%s\" at position 3: longer than 63 characters", val64);
	check_error(buf, want);
	free(want);

	ck_assert(label_key_valid("app.kubernetes.io/name", NULL));
	ck_assert(!label_key_valid("", NULL));
	ck_assert(label_value_valid("", NULL));
	ck_assert(!label_value_valid("a b", NULL));
}
END_TEST

struct match_case {
	const char *sel;
	const char *labels;   /* JSON object, or NULL for an object without labels */
	int want;
};

static const struct match_case MATCHES[] = {
	{ "a=b", "{\"a\":\"b\"}", 1 },
	{ "a=b", "{\"a\":\"c\"}", 0 },
	{ "a=b", "{}", 0 },
	{ "a=b", NULL, 0 },
	{ "a==b", "{\"a\":\"b\",\"x\":\"y\"}", 1 },
	{ "a!=b", "{\"a\":\"b\"}", 0 },
	{ "a!=b", "{\"a\":\"c\"}", 1 },
	{ "a!=b", "{}", 1 },                 /* missing key matches != (Kubernetes) */
	{ "a!=b", NULL, 1 },
	{ "a in (x,y)", "{\"a\":\"y\"}", 1 },
	{ "a in (x,y)", "{\"a\":\"z\"}", 0 },
	{ "a in (x,y)", "{}", 0 },
	{ "a notin (x)", "{}", 1 },          /* missing key matches notin (Kubernetes) */
	{ "a notin (x)", "{\"a\":\"x\"}", 0 },
	{ "a notin (x)", "{\"a\":\"\"}", 1 },
	{ "a", "{\"a\":\"\"}", 1 },            /* exists, even with an empty value */
	{ "a", "{\"b\":\"a\"}", 0 },
	{ "!a", "{}", 1 },
	{ "!a", "{\"a\":\"\"}", 0 },
	{ "!a", NULL, 1 },
	{ "a=", "{\"a\":\"\"}", 1 },
	{ "a=", "{\"a\":\"x\"}", 0 },
	{ "a=", "{}", 0 },
	{ "a!=", "{\"a\":\"x\"}", 1 },
	{ "x in (a,)", "{\"x\":\"\"}", 1 },
	{ "a>5", "{\"a\":\"6\"}", 1 },
	{ "a>5", "{\"a\":\"5\"}", 0 },
	{ "a>5", "{\"a\":\"x\"}", 0 },
	{ "a>5", "{}", 0 },
	{ "a<5", "{\"a\":\"-1\"}", 1 },
	{ "a=b,c", "{\"a\":\"b\",\"c\":\"z\"}", 1 },
	{ "a=b,c", "{\"a\":\"b\"}", 0 },
	{ "a=b,a!=b", "{\"a\":\"b\"}", 0 },
	{ "example.com/tier=db", "{\"example.com/tier\":\"db\"}", 1 },
	{ "example.com/tier=db", "{\"tier\":\"db\"}", 0 },
	{ "A=b", "{\"a\":\"b\"}", 0 },        /* keys and values are case-sensitive */
	{ "a=B", "{\"a\":\"b\"}", 0 },
	{ "a", "{\"a\":1}", 0 },               /* a non-string is not a label value */
	{ "", "{}", 1 },
	{ "", NULL, 1 },
};

START_TEST(test_match_table)
{
	const struct match_case *c = &MATCHES[_i];
	struct labelsel *s;
	ck_assert_int_eq(labelsel_parse(c->sel, &s), 0);
	json_t *labels = NULL;
	if (c->labels) {
		labels = json_loads(c->labels, 0, NULL);
		ck_assert_ptr_nonnull(labels);
	}
	ck_assert_msg(labelsel_match(s, labels) == c->want, "\"%s\" on %s: want %d", c->sel,
		      c->labels ? c->labels : "NULL", c->want);
	json_decref(labels);
	labelsel_free(s);
}
END_TEST

START_TEST(test_orsel)
{
	struct orsel *o;
	ck_assert_int_eq(orsel_parse("c in (d) or a=b", &o), 0);
	ck_assert_uint_eq(orsel_count(o), 2);
	json_t *l1 = json_pack("{s:s}", "c", "d");
	json_t *l2 = json_pack("{s:s}", "a", "b");
	json_t *l3 = json_pack("{s:s}", "a", "c");
	ck_assert(orsel_match(o, l1));
	ck_assert(orsel_match(o, l2));
	ck_assert(!orsel_match(o, l3));
	ck_assert(!orsel_match(o, NULL));
	char *str = orsel_to_string(o);
	ck_assert_str_eq(str, "a=b or c in (d)");
	free(str);
	orsel_free(o);

	/* any blanks around "or"; "or" inside a word or a value is not a separator */
	ck_assert_int_eq(orsel_parse("color=red  or\tsize=big or orange", &o), 0);
	ck_assert_uint_eq(orsel_count(o), 3);
	str = orsel_to_string(o);
	ck_assert_str_eq(str, "color=red or orange or size=big");
	free(str);
	orsel_free(o);

	ck_assert_int_eq(orsel_parse("a=or", &o), 0);
	ck_assert_uint_eq(orsel_count(o), 1);
	orsel_free(o);

	/* duplicates collapse in the canonical form */
	ck_assert_int_eq(orsel_parse("a=b or a==b", &o), 0);
	str = orsel_to_string(o);
	ck_assert_str_eq(str, "a=b");
	free(str);
	orsel_free(o);

	json_decref(l1);
	json_decref(l2);
	json_decref(l3);
}
END_TEST

static void check_or_error(const char *in, const char *want_tail)
{
	struct orsel *o = (struct orsel *)1;
	ck_assert_int_eq(orsel_parse(in, &o), KAHU_EUSAGE);
	ck_assert_ptr_null(o);
	char *want = xasprintf("invalid or-selector \"%s\": %s", in, want_tail);
	ck_assert_msg(strcmp(kahu_error_last(), want) == 0, "\"%s\":\n got  %s\n want %s",
		      in, kahu_error_last(), want);
	free(want);
}

START_TEST(test_orsel_errors)
{
	check_or_error("", "empty");
	check_or_error("a=b or", "empty selector after 'or' at position 5");
	check_or_error("or a=b", "empty selector before 'or' at position 1");
	check_or_error("a=b or  or c=d", "empty selector after 'or' at position 5");
	/* positions count in the whole text */
	check_or_error("a=b or c in (d", "missing ')' at position 15");
	/* "or" inside parentheses does not split */
	check_or_error("a in (x or y)", "unexpected \"or\" (expected ',' or ')') at position 9");
}
END_TEST

static Suite *labelsel_suite(void)
{
	Suite *s = suite_create("labelsel");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_parse_operators);
	tcase_add_test(tc, test_parse_empty_is_everything);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_length_limits);
	tcase_add_loop_test(tc, test_match_table, 0, (int)(sizeof MATCHES / sizeof MATCHES[0]));
	tcase_add_test(tc, test_orsel);
	tcase_add_test(tc, test_orsel_errors);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(labelsel_suite)

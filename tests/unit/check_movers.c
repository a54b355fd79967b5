/* kahu — the data movers' coordinator: its pure pieces (the node a mover is counted on,
 * a failed pod's reason in one line, which movers' logs a round reads) and the mover
 * flags' checks. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "engine/movers.h"
#include "engine/volrun.h"
#include "util/err.h"

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	return j;
}

START_TEST(test_node_key)
{
	ck_assert_str_eq(movers_node_key("node-2", NULL), "node-2");
	json_t *aff = parse("{\"required\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
			    "\"kubernetes.io/hostname\",\"operator\":\"In\",\"values\":[\"node-3\"]}]}]}}");
	ck_assert_str_eq(movers_node_key(NULL, aff), "node-3");
	ck_assert_str_eq(movers_node_key("", aff), "node-3");
	ck_assert_str_eq(movers_node_key("node-1", aff), "node-1");
	json_decref(aff);
	/* two nodes, another key, another operator: not one node */
	const char *other[] = {
		"{\"required\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
		"\"kubernetes.io/hostname\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]}]}}",
		"{\"required\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
		"\"topology.kubernetes.io/zone\",\"operator\":\"In\",\"values\":[\"z\"]}]}]}}",
		"{\"required\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
		"\"kubernetes.io/hostname\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]}]}}",
		"{\"required\":{\"nodeSelectorTerms\":[]}}",
		"{}",
	};
	for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
		json_t *a = parse(other[i]);
		ck_assert_str_eq(movers_node_key(NULL, a), "");
		json_decref(a);
	}
	ck_assert_str_eq(movers_node_key(NULL, NULL), "");
}
END_TEST

static void reason_is(const char *pod, const char *want)
{
	json_t *p = parse(pod);
	char *got = movers_pod_reason(p);
	ck_assert_msg(strcmp(got, want) == 0, "got \"%s\", want \"%s\"", got, want);
	free(got);
	json_decref(p);
}

START_TEST(test_pod_reason)
{
	/* the mover's own failure message */
	reason_is("{\"status\":{\"phase\":\"Failed\",\"containerStatuses\":[{\"state\":{\"terminated\":"
		  "{\"reason\":\"Error\",\"exitCode\":65,\"message\":\"{\\\"error\\\":\\\"index broken\\\","
		  "\\\"exit\\\":65}\"}}}]}}",
		  "Error (exit code 65): index broken");
	/* a message that is not JSON, with control characters */
	reason_is("{\"status\":{\"containerStatuses\":[{\"state\":{\"terminated\":"
		  "{\"reason\":\"OOMKilled\",\"exitCode\":137,\"message\":\"out\\u001b[2Jof memory\\n\"}}}]}}",
		  "OOMKilled (exit code 137): out [2Jof memory");
	/* evicted: the pod's reason and message */
	reason_is("{\"status\":{\"phase\":\"Failed\",\"reason\":\"Evicted\",\"message\":\"low on disk\"}}",
		  "Evicted: low on disk");
	reason_is("{\"status\":{\"phase\":\"Failed\",\"reason\":\"DeadlineExceeded\",\"message\":"
		  "\"Pod was active on the node longer than the specified deadline\"}}",
		  "DeadlineExceeded: Pod was active on the node longer than the specified deadline");
	/* the last state when the current one is gone */
	reason_is("{\"status\":{\"containerStatuses\":[{\"lastState\":{\"terminated\":{\"reason\":"
		  "\"StartError\",\"exitCode\":128}}}]}}", "StartError (exit code 128)");
	reason_is("{\"status\":{\"phase\":\"Failed\"}}", "the pod failed");
	reason_is("{}", "the pod failed");
}
END_TEST

START_TEST(test_flags)
{
	struct vol_flags f = { 0 };
	struct vol_opts o;
	ck_assert_int_eq(vol_opts_parse(&f, 0, &o), 0);
	ck_assert_int_eq(o.mover.kind, VOL_MOVER_LOCAL);
	ck_assert_int_eq(o.mover.per_node, 2);
	ck_assert_int_eq(o.mover.timeout_s, 6 * 3600);
	ck_assert_int_eq(o.mover.retries, 2);
	ck_assert_ptr_null(o.mover.image);
	vol_opts_clear(&o);

	f.data_mover = "cluster";
	f.movers_per_node = "3";
	f.mover_timeout = "90m";
	f.mover_image = "registry.example/kahu:1.2";
	f.mover_secret = "my-bundle";
	f.mover_retries = "0";
	ck_assert_int_eq(vol_opts_parse(&f, 0, &o), 0);
	ck_assert_int_eq(o.mover.kind, VOL_MOVER_CLUSTER);
	ck_assert_int_eq(o.mover.per_node, 3);
	ck_assert_int_eq(o.mover.timeout_s, 5400);
	ck_assert_int_eq(o.mover.retries, 0);
	ck_assert_str_eq(o.mover.image, "registry.example/kahu:1.2");
	ck_assert_str_eq(o.mover.secret, "my-bundle");
	vol_opts_clear(&o);
	ck_assert_int_eq(vol_opts_parse(&f, 1, &o), 0);   /* restore create too */
	vol_opts_clear(&o);

	struct { const char **field; const char *value, *msg; } bad[] = {
		{ &f.data_mover, "remote", "is not local or cluster" },
		{ &f.movers_per_node, "0", "between 1 and 64" },
		{ &f.movers_per_node, "65", "between 1 and 64" },
		{ &f.movers_per_node, "2x", "between 1 and 64" },
		{ &f.mover_retries, "11", "between 0 and 10" },
		{ &f.mover_retries, "-1", "between 0 and 10" },
		{ &f.mover_timeout, "5s", "between 10s and 168h" },
		{ &f.mover_timeout, "soon", "--mover-timeout" },
		{ &f.mover_image, "kahu 1", "--mover-image" },
		{ &f.mover_secret, "Not_A_Name", "not a Secret name" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *keep = *bad[i].field;
		*bad[i].field = bad[i].value;
		ck_assert_int_eq(vol_opts_parse(&f, 0, &o), KAHU_EUSAGE);
		ck_assert_msg(strstr(kahu_error_last(), bad[i].msg), "%s: %s", bad[i].value, kahu_error_last());
		*bad[i].field = keep;
	}

	/* mover flags without --data-mover cluster; cluster without volume data */
	f.data_mover = "local";
	ck_assert_int_eq(vol_opts_parse(&f, 0, &o), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "are for --data-mover cluster"));
	struct vol_flags g = { .data_mover = "cluster", .volume_data = "none" };
	ck_assert_int_eq(vol_opts_parse(&g, 0, &o), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "moves no volume data"));
	struct vol_flags h = { .data_mover = "cluster", .restore_volumes = "false" };
	ck_assert_int_eq(vol_opts_parse(&h, 1, &o), KAHU_EUSAGE);
}
END_TEST

/* Live progress: the logs read in a round are those due, the longest due first, never
 * more than the budget; with many movers each round stays within it, every mover is
 * read in turn, and none more often than the interval. */
START_TEST(test_log_pick)
{
	size_t out[MOVERS_LOG_BUDGET];
	double next[6] = { 10, 3, 7, 12, 3, 1 };
	ck_assert_uint_eq(movers_log_pick(next, 6, 0.5, MOVERS_LOG_BUDGET, out), 0);   /* none due */
	ck_assert_uint_eq(movers_log_pick(next, 6, 3, MOVERS_LOG_BUDGET, out), 3);
	ck_assert_uint_eq(out[0], 5);
	ck_assert_uint_eq(out[1], 1);      /* a tie: the lower index first */
	ck_assert_uint_eq(out[2], 4);
	ck_assert_uint_eq(movers_log_pick(next, 6, 100, 2, out), 2);
	ck_assert(out[0] == 5 && out[1] == 1);
	ck_assert_uint_eq(movers_log_pick(next, 0, 100, 2, out), 0);
	ck_assert_uint_eq(movers_log_pick(next, 6, 100, 0, out), 0);

	/* 300 movers that start together, rounds a second apart for two minutes */
	enum { N = 300, ROUNDS = 120 };
	static double nx[N];
	static int reads[N], last[N];
	for (size_t i = 0; i < N; i++) {
		nx[i] = MOVERS_LOG_EVERY_S;      /* first due that long after it runs */
		last[i] = -1000;
	}
	size_t total = 0;
	for (int t = 0; t < ROUNDS; t++) {
		size_t k = movers_log_pick(nx, N, t, MOVERS_LOG_BUDGET, out);
		ck_assert_uint_le(k, MOVERS_LOG_BUDGET);
		for (size_t j = 0; j < k; j++) {
			size_t i = out[j];
			ck_assert(nx[i] <= t);
			ck_assert_int_ge(t - last[i], MOVERS_LOG_EVERY_S);
			last[i] = t;
			reads[i]++;
			nx[i] = t + MOVERS_LOG_EVERY_S;
		}
		total += k;
	}
	ck_assert_uint_eq(total, (size_t)(ROUNDS - MOVERS_LOG_EVERY_S) * MOVERS_LOG_BUDGET);
	/* in turn: no mover read twice before every other one was read once */
	int lo = reads[0], hi = reads[0];
	for (size_t i = 0; i < N; i++) {
		lo = reads[i] < lo ? reads[i] : lo;
		hi = reads[i] > hi ? reads[i] : hi;
	}
	ck_assert_int_ge(lo, 1);
	ck_assert_int_le(hi - lo, 1);

	/* a few movers: each one read every interval, not more */
	double few[3] = { 5, 5, 5 };
	int fr[3] = { 0, 0, 0 };
	for (int t = 0; t < 60; t++) {
		size_t k = movers_log_pick(few, 3, t, MOVERS_LOG_BUDGET, out);
		for (size_t j = 0; j < k; j++) {
			fr[out[j]]++;
			few[out[j]] = t + MOVERS_LOG_EVERY_S;
		}
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fr[i], 60 / MOVERS_LOG_EVERY_S - 1);   /* at 5, 10, ..., 55 */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("movers");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_node_key);
	tcase_add_test(tc, test_pod_reason);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_log_pick);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(suite)

#include <string.h>

#include "check_main.h"
#include "cli/cmdtab.h"
#include "cli/output.h"
#include "util/err.h"

static int run_nop(struct kahu_ctx *ctx) { (void)ctx; return 0; }

static const struct kahu_opt create_opts[] = {
	OPTION(SELECTOR, 'l', "SELECTOR", "label selector", NULL, 0, NULL),
	OPTION(TTL, 0, "DURATION", "time to live", NULL, 0, "720h"),
	OPTION(LABELS, 0, "K=V", "labels", NULL, OPTF_REPEAT, NULL),
	OPTION(DRY_RUN, 0, NULL, "print the plan", NULL, 0, NULL),
	OPT_END
};

static const struct kahu_cmd c_backup = { .name = "backup", .summary = "Backups", .flags = CMD_NOUN };
static const struct kahu_cmd c_create = { .name = "backup create", .args = "NAME", .min_args = 1, .max_args = 1, .summary = "Create a backup", .opts = create_opts, .run = run_nop };
static const struct kahu_cmd c_list = { .name = "backup list", .args = "", .min_args = 0, .max_args = 0, .summary = "List backups", .outputs = "table json", .run = run_nop };
static const struct kahu_cmd c_version = { .name = "version", .args = "", .min_args = 0, .max_args = 0, .summary = "Version", .outputs = "table json yaml", .run = run_nop };
static const struct kahu_cmd *const cmds[] = { &c_backup, &c_create, &c_list, &c_version, NULL };

static int parse(struct kahu_invocation *inv, const char *const *words)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)"kahu";
	for (; *words; words++)
		argv[argc++] = (char *)*words;
	argv[argc] = NULL;
	kahu_error_clear();
	return cli_parse(cmds, argc, argv, inv);
}

START_TEST(test_globals_before_and_after)
{
	struct kahu_invocation inv;
	const char *a[] = { "--context", "prod", "backup", "create", "nightly", "-l", "app=x", "-vv", "--ttl=24h", NULL };
	ck_assert_int_eq(parse(&inv, a), 0);
	ck_assert_ptr_eq(inv.cmd, &c_create);
	ck_assert_str_eq(inv_str(&inv, OPT_CONTEXT), "prod");
	ck_assert_str_eq(inv_str(&inv, OPT_SELECTOR), "app=x");
	ck_assert_str_eq(inv_str(&inv, OPT_TTL), "24h");
	ck_assert_int_eq(inv_count(&inv, OPT_VERBOSE), 2);
	ck_assert_uint_eq(inv.args.n, 1);
	ck_assert_str_eq(inv.args.v[0], "nightly");
	cli_invocation_free(&inv);

	const char *b[] = { "backup", "create", "--context", "dev", "n1", "--labels", "a=b", "--labels", "c=d", NULL };
	ck_assert_int_eq(parse(&inv, b), 0);
	ck_assert_str_eq(inv_str(&inv, OPT_CONTEXT), "dev");
	ck_assert_uint_eq(inv_list(&inv, OPT_LABELS)->n, 2);
	ck_assert_str_eq(inv_list(&inv, OPT_LABELS)->v[1], "c=d");
	cli_invocation_free(&inv);
}
END_TEST

START_TEST(test_unknown_command_suggests)
{
	struct kahu_invocation inv;
	const char *a[] = { "bakup", "list", NULL };
	ck_assert_int_eq(parse(&inv, a), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "did you mean backup?"));
	cli_invocation_free(&inv);

	const char *b[] = { "backup", "lst", NULL };
	ck_assert_int_eq(parse(&inv, b), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "did you mean backup list?"));
	cli_invocation_free(&inv);

	const char *c[] = { "frobnicate", NULL };
	ck_assert_int_eq(parse(&inv, c), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "unknown command \"frobnicate\""));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "backup"));
	cli_invocation_free(&inv);
}
END_TEST

START_TEST(test_unknown_flag_suggests)
{
	struct kahu_invocation inv;
	const char *a[] = { "backup", "create", "x", "--selektor", "a=b", NULL };
	ck_assert_int_eq(parse(&inv, a), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--selektor"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "did you mean --selector?"));
	cli_invocation_free(&inv);

	const char *b[] = { "backup", "create", "x", "--contxt=a", NULL };
	ck_assert_int_eq(parse(&inv, b), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "did you mean --context?"));
	cli_invocation_free(&inv);

	const char *c[] = { "backup", "list", "-Z", NULL };
	ck_assert_int_eq(parse(&inv, c), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "unknown flag -Z"));
	cli_invocation_free(&inv);
}
END_TEST

START_TEST(test_argument_counts_and_values)
{
	struct kahu_invocation inv;
	const char *a[] = { "backup", "create", NULL };
	ck_assert_int_eq(parse(&inv, a), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "needs NAME"));
	cli_invocation_free(&inv);

	const char *b[] = { "backup", "list", "extra", NULL };
	ck_assert_int_eq(parse(&inv, b), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "unexpected argument \"extra\""));
	cli_invocation_free(&inv);

	const char *c[] = { "backup", "create", "x", "--ttl", NULL };
	ck_assert_int_eq(parse(&inv, c), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "needs a value"));
	cli_invocation_free(&inv);

	const char *d[] = { "backup", "list", "-o", "yaml", NULL };
	ck_assert_int_eq(parse(&inv, d), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "does not support -o yaml"));
	cli_invocation_free(&inv);

	const char *e[] = { "--page-size", "abc", "version", NULL };
	long v = 500;
	ck_assert_int_eq(parse(&inv, e), 0);
	ck_assert_int_eq(inv_long(&inv, OPT_PAGE_SIZE, 1, 10000, &v), KAHU_EUSAGE);
	ck_assert_int_eq(v, 500);
	cli_invocation_free(&inv);

	const char *f[] = { "backup", NULL };
	ck_assert_int_eq(parse(&inv, f), 0);
	ck_assert_int_eq(inv.help, 1);
	ck_assert_ptr_eq(inv.cmd, &c_backup);
	cli_invocation_free(&inv);

	const char *g[] = { "backup", "create", "--", "-weird-name", NULL };
	ck_assert_int_eq(parse(&inv, g), 0);
	ck_assert_str_eq(inv.args.v[0], "-weird-name");
	cli_invocation_free(&inv);
}
END_TEST

START_TEST(test_edit_distance)
{
	ck_assert_uint_eq(cli_edit_distance("backup", "backup"), 0);
	ck_assert_uint_eq(cli_edit_distance("bakcup", "backup"), 1);
	ck_assert_uint_eq(cli_edit_distance("", "abc"), 3);
	ck_assert_uint_eq(cli_edit_distance("kitten", "sitting"), 3);
}
END_TEST

START_TEST(test_completion_scripts)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_int_eq(cli_completion(cmds, "bash", f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"backup create\") echo \"--selector -l --ttl --labels --dry-run\""));
	ck_assert_ptr_nonnull(strstr(buf, "complete -F _kahu kahu"));
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(cli_completion(cmds, "fish", f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "-n '__kahu_at backup create' -l selector -s l -r"));
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(cli_completion(cmds, "tcsh", f), KAHU_EUSAGE);
	fclose(f);
	free(buf);
}
END_TEST

START_TEST(test_yaml_output)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *v = json_pack("{s:s, s:s, s:i, s:[s,b]}", "name", "x", "odd", "true", "n", 3, "l", "a", 1);
	ck_assert_int_eq(out_yaml(f, v), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "name: x\n"));
	ck_assert_ptr_nonnull(strstr(buf, "odd: \"true\"\n"));
	ck_assert_ptr_nonnull(strstr(buf, "n: 3\n"));
	ck_assert_ptr_nonnull(strstr(buf, "- a\n- true\n"));
	json_decref(v);
	free(buf);
}
END_TEST

/* Options by id: the long name comes from the one list, an option of another command
 * is not there, and a table that names an option twice is a bug that is reported. */
START_TEST(test_options_by_id)
{
	struct kahu_invocation inv;
	ck_assert_str_eq(create_opts[0].name, "selector");
	ck_assert_int_eq(create_opts[0].id, OPT_SELECTOR);
	ck_assert_str_eq(kahu_opt_names.DRY_RUN, "dry-run");
	ck_assert_str_eq(kahu_opt_names.NEW_PASSPHRASE_FILE, kahu_opt_names.PASSPHRASE_FILE);

	const char *a[] = { "backup", "create", "n", "--dry-run", NULL };
	ck_assert_int_eq(parse(&inv, a), 0);
	ck_assert_int_eq(inv_has(&inv, OPT_DRY_RUN), 1);
	ck_assert_int_eq(inv_count(&inv, OPT_DRY_RUN), 1);
	ck_assert_int_eq(inv_has(&inv, OPT_CONFIG), 1);       /* global */
	ck_assert_int_eq(inv_has(&inv, OPT_LOCK_WAIT), 0);    /* not this command's */
	ck_assert_int_eq(inv_has(&inv, OPT_NONE), 0);
	ck_assert_ptr_null(inv_str(&inv, OPT_TTL));
	cli_invocation_free(&inv);

	static const struct kahu_opt twice[] = {
		OPTION(TTL, 0, "DURATION", "time to live", NULL, 0, NULL),
		OPTION(TTL, 0, "DURATION", "time to live again", NULL, 0, NULL),
		OPT_END
	};
	static const struct kahu_cmd c_twice = { .name = "twice", .args = "", .min_args = 0, .max_args = 0, .summary = "Twice", .opts = twice, .run = run_nop };
	static const struct kahu_cmd *const tcmds[] = { &c_twice, NULL };
	char *argv[] = { (char *)"kahu", (char *)"twice", NULL };
	kahu_error_clear();
	ck_assert_int_eq(cli_parse(tcmds, 2, argv, &inv), KAHU_EINTERNAL);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "--ttl is there twice"));
	cli_invocation_free(&inv);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, test_globals_before_and_after);
	tcase_add_test(tc, test_unknown_command_suggests);
	tcase_add_test(tc, test_unknown_flag_suggests);
	tcase_add_test(tc, test_argument_counts_and_values);
	tcase_add_test(tc, test_edit_distance);
	tcase_add_test(tc, test_completion_scripts);
	tcase_add_test(tc, test_yaml_output);
	tcase_add_test(tc, test_options_by_id);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(cli_suite)

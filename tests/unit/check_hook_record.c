/* The stored outcome of the local after hooks of a backup or a restore
 * (engine/hook_record.h): written and read back, keyed and not; refused when moved
 * from another backup, written for another manifest or record, or altered; absent when
 * there is none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "archive/key.h"
#include "archive/manifest.h"
#include "engine/hook_record.h"
#include "store/layout.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

static char tmp[64], loc[96];
static struct kahu_store *st;
static struct kahu_key *key;

static void setup(void)
{
	strcpy(tmp, "/tmp/check_hook_record.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(loc, sizeof loc, "%s/loc", tmp);
	struct kahu_backend_kv cfg[] = { { "path", loc } };
	ck_assert_int_eq(store_open_builtin("fs", cfg, 1, &st), KAHU_OK);
	ck_assert_int_eq(kahu_key_generate(&key), 0);
	kahu_log_set_level(KAHU_LOG_ERROR);
}

static void teardown(void)
{
	store_close(st);
	kahu_key_free(key);
	char *cmd = xasprintf("rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* A manifest as read back: only its stored text matters here. */
static struct manifest *manifest_with(const char *text)
{
	struct manifest *m = manifest_new();
	m->text = xstrdup(text);
	m->text_len = strlen(text);
	return m;
}

static json_t *outcomes(void)
{
	return json_pack("[{s:s, s:s, s:s, s:i}, {s:s, s:s, s:s, s:i, s:s, s:s}]",
			 "when", "pre", "hook", "freeze", "command", "fsfreeze -f /data", "exitCode", 0,
			 "when", "after", "hook", "notify", "command", "notify-send done", "exitCode", 5,
			 "stderr", "down", "status", "Failed");
}

/* Copy the object at `from` to `to` on the store. */
static void copy_object(const char *from, const char *to)
{
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, from, 1 << 20, &b), 0);
	store_remove(st, to);
	kahu_error_clear();
	ck_assert_int_eq(store_write_small(st, to, b.data, b.len), 0);
	kbuf_free(&b);
}

static void round_trip(const struct kahu_key *k)
{
	struct manifest *m = manifest_with("{\"name\":\"b1\",\"mac\":\"aa\"}");
	json_t *hooks = outcomes(), *got = NULL;
	char *written = NULL;

	ck_assert_int_eq(hook_record_get(st, k, "b1", m, &got, &written), 0);   /* none yet */
	ck_assert_ptr_null(got);
	ck_assert_int_eq(hook_record_put(st, k, "b1", m, hooks), 0);
	ck_assert_int_eq(hook_record_get(st, k, "b1", m, &got, &written), 1);
	ck_assert_uint_eq(json_array_size(got), 1);   /* only the after hook */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(got, 0), "hook")), "notify");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(got, 0), "stderr")), "down");
	ck_assert_ptr_nonnull(written);
	json_decref(got);
	free(written);
	/* Written once: create-if-absent. */
	ck_assert_int_eq(hook_record_put(st, k, "b1", m, hooks), KAHU_EEXIST);
	kahu_error_clear();

	/* The same name, another manifest (an earlier backup's object left behind). */
	struct manifest *later = manifest_with("{\"name\":\"b1\",\"mac\":\"bb\"}");
	ck_assert_int_eq(hook_record_get(st, k, "b1", later, &got, NULL), KAHU_EDATA);
	ck_assert_ptr_null(got);
	ck_assert_msg(strstr(kahu_error_last(), "written for another backup (b1, an earlier one of this name)"),
		      "%s", kahu_error_last());
	kahu_error_clear();
	manifest_free(later);

	/* Moved to another backup: the envelope's path binding (keyed), the name it holds
	 * (unkeyed). */
	struct manifest *other = manifest_with("{\"name\":\"b2\"}");
	char *p1 = layout_backup_data("b1", LAYOUT_AFTER_HOOKS, k != NULL);
	char *p2 = layout_backup_data("b2", LAYOUT_AFTER_HOOKS, k != NULL);
	copy_object(p1, p2);
	int rc = hook_record_get(st, k, "b2", other, &got, NULL);
	ck_assert_int_eq(rc, k ? KAHU_ECRYPTO : KAHU_EDATA);
	ck_assert_ptr_null(got);
	if (!k)
		ck_assert_msg(strstr(kahu_error_last(), "written for another backup (b1)"), "%s",
			      kahu_error_last());
	kahu_error_clear();

	/* Truncated. */
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, p1, 1 << 20, &b), 0);
	ck_assert_int_eq(store_remove(st, p1), 0);
	ck_assert_int_eq(store_write_small(st, p1, b.data, b.len - 3), 0);
	ck_assert_int_lt(hook_record_get(st, k, "b1", m, &got, NULL), 0);
	ck_assert_ptr_null(got);
	kahu_error_clear();
	kbuf_free(&b);

	free(p1);
	free(p2);
	manifest_free(other);
	manifest_free(m);
	json_decref(hooks);
}

START_TEST(test_keyed)
{
	round_trip(key);
}
END_TEST

START_TEST(test_unkeyed)
{
	round_trip(NULL);
	/* An unencrypted backup's object is not looked for under the sealed name. */
	struct manifest *m = manifest_with("{\"name\":\"b1\"}");
	json_t *got = NULL;
	ck_assert_int_eq(hook_record_get(st, key, "b1", m, &got, NULL), 0);
	manifest_free(m);
}
END_TEST

START_TEST(test_nothing_after)
{
	struct manifest *m = manifest_with("{\"name\":\"b3\"}");
	json_t *pre = json_pack("[{s:s, s:s}]", "when", "pre", "hook", "freeze"), *got = NULL;
	ck_assert_int_eq(hook_record_put(st, key, "b3", m, pre), 1);
	ck_assert_int_eq(hook_record_get(st, key, "b3", m, &got, NULL), 0);
	ck_assert_int_eq(hook_record_put(st, key, "b3", m, NULL), 1);
	json_decref(pre);
	manifest_free(m);
}
END_TEST

START_TEST(test_not_a_record)
{
	struct manifest *m = manifest_with("{\"name\":\"b4\"}");
	json_t *got = NULL;
	/* A plain zstd object of valid JSON that is not a record. */
	char *path = layout_backup_data("b4", LAYOUT_AFTER_HOOKS, 0);
	static const unsigned char frame[] = { /* zstd frame of "{}\n" */
		0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x19, 0x00, 0x00, 0x7b, 0x7d, 0x0a, 0xba, 0xd3, 0x11, 0x9c };
	ck_assert_int_eq(store_write_small(st, path, frame, sizeof frame), 0);
	ck_assert_int_eq(hook_record_get(st, NULL, "b4", m, &got, NULL), KAHU_EDATA);
	ck_assert_ptr_null(got);
	ck_assert_msg(strstr(kahu_error_last(), "not a record of after hooks"), "%s", kahu_error_last());
	kahu_error_clear();
	free(path);
	manifest_free(m);
}
END_TEST

/* A restore's record (hook_record_write/read with the restore as owner): bound to the
 * bytes of its restore.json; another record's bytes, or a reader that takes it for a
 * backup's, refuse it. */
START_TEST(test_restore_owner)
{
	const char *rec1 = "{\"name\":\"r1\",\"status\":\"Completed\",\"mac\":\"aa\"}";
	const char *rec2 = "{\"name\":\"r1\",\"status\":\"Completed\",\"mac\":\"bb\"}";
	char *path = layout_restore_data("r1", LAYOUT_AFTER_HOOKS, 1);
	struct hook_record_owner o = { .member = "restore", .name = "r1", .path = path, .bound_member = "record",
				       .bound = rec1, .bound_len = strlen(rec1) };
	json_t *hooks = outcomes(), *got = NULL;
	char *written = NULL;
	ck_assert_int_eq(hook_record_read(st, key, &o, &got, &written), 0);
	ck_assert_int_eq(hook_record_write(st, key, &o, hooks), 0);
	ck_assert_int_eq(hook_record_read(st, key, &o, &got, &written), 1);
	ck_assert_uint_eq(json_array_size(got), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(got, 0), "hook")), "notify");
	ck_assert_ptr_nonnull(written);
	json_decref(got);
	free(written);
	/* restore.json rewritten (another run of the same name) */
	struct hook_record_owner o2 = o;
	o2.bound = rec2;
	o2.bound_len = strlen(rec2);
	ck_assert_int_eq(hook_record_read(st, key, &o2, &got, NULL), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "written for another restore (r1, an earlier one of this name)"));
	kahu_error_clear();
	/* read as if it were a backup's */
	struct hook_record_owner ob = o;
	ob.member = "backup";
	ob.bound_member = "manifest";
	ck_assert_int_eq(hook_record_read(st, key, &ob, &got, NULL), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "not a record of after hooks"));
	kahu_error_clear();
	json_decref(hooks);
	free(path);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("hook_record");
	TCase *tc = tcase_create("hook_record");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_keyed);
	tcase_add_test(tc, test_unkeyed);
	tcase_add_test(tc, test_nothing_after);
	tcase_add_test(tc, test_not_a_record);
	tcase_add_test(tc, test_restore_owner);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(suite)

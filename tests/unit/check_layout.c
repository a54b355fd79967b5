/* Unit tests: the layout of a location (store/layout.h): every object path, names read
 * back from listings, name validation. */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "store/layout.h"
#include "util/err.h"

#define ID "00112233445566778899aabbccddeeff"

static void eq_free(char *got, const char *want)
{
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_backup_paths)
{
	eq_free(layout_backup_dir("nightly-1"), "backups/nightly-1/");
	eq_free(layout_backup_manifest("nightly-1"), "backups/nightly-1/backup.json");
	eq_free(layout_backup_data("n", LAYOUT_METADATA, 1), "backups/n/metadata.tar.zst.kenc");
	eq_free(layout_backup_data("n", LAYOUT_METADATA, 0), "backups/n/metadata.tar.zst");
	eq_free(layout_backup_data("n", LAYOUT_LOG, 1), "backups/n/log.jsonl.zst.kenc");
	eq_free(layout_backup_data("n", LAYOUT_LOG, 0), "backups/n/log.jsonl.zst");
	eq_free(layout_backup_object("n", "metadata.tar.zst.kenc"), "backups/n/metadata.tar.zst.kenc");
	ck_assert_str_eq(layout_object_rel("backups/n/log.jsonl.zst.kenc"), "log.jsonl.zst.kenc");
	ck_assert_str_eq(layout_object_rel("plain"), "plain");
	ck_assert_str_eq(LAYOUT_REPO_FILE, "kahu-repo.json");
	/* volume data */
	const char *vid = "0123456789abcdef0123456789abcdef";
	eq_free(layout_volume_catalog("n", 1), "backups/n/volumes.jsonl.zst.kenc");
	eq_free(layout_volume_catalog("n", 0), "backups/n/volumes.jsonl.zst");
	eq_free(layout_volume_index("n", vid, 1), "backups/n/volumes/0123456789abcdef0123456789abcdef/index.jsonl.zst.kenc");
	eq_free(layout_volume_segment("n", vid, 7, 0),
		"backups/n/volumes/0123456789abcdef0123456789abcdef/data-000007.tar.zst");
	ck_assert_str_eq(layout_backup_rel("n", "backups/n/volumes/x/data-000001.tar.zst"),
			 "volumes/x/data-000001.tar.zst");
	ck_assert_str_eq(layout_backup_rel("n", "backups/nn/x"), "backups/nn/x");
	ck_assert_int_eq(layout_vid_check(vid), 0);
	ck_assert_int_ne(layout_vid_check("0123456789ABCDEF0123456789abcdef"), 0);
	ck_assert_int_ne(layout_vid_check("../"), 0);
}
END_TEST

START_TEST(test_rel_is)
{
	ck_assert(layout_rel_is("metadata.tar.zst.kenc", LAYOUT_METADATA));
	ck_assert(layout_rel_is("metadata.tar.zst", LAYOUT_METADATA));
	ck_assert(layout_rel_is("log.jsonl.zst.kenc", LAYOUT_LOG));
	ck_assert(!layout_rel_is("log.jsonl.zst.kenc", LAYOUT_METADATA));
	ck_assert(!layout_rel_is("metadata.tar.zst.kencx", LAYOUT_METADATA));
	ck_assert(!layout_rel_is("metadata.tar", LAYOUT_METADATA));
	ck_assert(!layout_rel_is(NULL, LAYOUT_METADATA));
}
END_TEST

/* Every path a writer builds is read back by the listing as the same name. */
START_TEST(test_backup_round_trip)
{
	static const char *const names[] = { "a", "nightly-2025.01.02", "0" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char *paths[] = { layout_backup_manifest(names[i]),
				  layout_backup_data(names[i], LAYOUT_METADATA, 1),
				  layout_backup_data(names[i], LAYOUT_LOG, 0) };
		for (size_t j = 0; j < 3; j++) {
			char *name = NULL;
			const char *rest = NULL;
			ck_assert_int_eq(layout_parse_backup_key(paths[j], &name, &rest), 1);
			ck_assert_str_eq(name, names[i]);
			ck_assert_str_eq(rest, layout_object_rel(paths[j]));
			free(name);
			free(paths[j]);
		}
	}
	char *name = NULL;
	const char *rest = "x";
	ck_assert_int_eq(layout_parse_backup_key("backups/stray", &name, &rest), 1);
	ck_assert_str_eq(name, "stray");
	ck_assert_ptr_null(rest);
	free(name);
	ck_assert_int_eq(layout_parse_backup_key("restores/r/restore.json", &name, &rest), 0);
	ck_assert_ptr_null(name);
}
END_TEST

START_TEST(test_restore_paths)
{
	char *name = NULL;
	eq_free(layout_restore_dir("r1"), "restores/r1/");
	eq_free(layout_restore_data("r1", LAYOUT_RESULT, 1), "restores/r1/result.json.zst.kenc");
	eq_free(layout_restore_data("r1", LAYOUT_RESULT, 0), "restores/r1/result.json.zst");
	eq_free(layout_restore_data("r1", LAYOUT_LOG, 1), "restores/r1/log.jsonl.zst.kenc");
	char *s = layout_restore_summary("r1");
	ck_assert_str_eq(s, "restores/r1/restore.json");
	ck_assert_int_eq(layout_parse_restore_summary(s, &name), 1);
	ck_assert_str_eq(name, "r1");
	free(name);
	free(s);
	static const char *const not_summaries[] = {
		"restores/restore.json", "restores//restore.json", "restores/a/b/restore.json",
		"restores/r1/result.json.zst.kenc", "backups/r1/restore.json", "restores/r1/xrestore.json",
	};
	for (size_t i = 0; i < sizeof not_summaries / sizeof *not_summaries; i++) {
		ck_assert_msg(layout_parse_restore_summary(not_summaries[i], &name) == 0, "%s",
			      not_summaries[i]);
		ck_assert_ptr_null(name);
	}
}
END_TEST

START_TEST(test_keys_and_locks)
{
	char id[33];
	char *k1 = layout_wrapped_key(ID, 1), *k3 = layout_wrapped_key(ID, 3);
	ck_assert_str_eq(k1, "keys/" ID ".json");
	ck_assert_str_eq(k3, "keys/" ID "-3.json");
	ck_assert_int_eq(layout_parse_wrapped_key(k1, id), 1);
	ck_assert_str_eq(id, ID);
	ck_assert_int_eq(layout_parse_wrapped_key(k3, id), 1);
	ck_assert_str_eq(id, ID);
	free(k1);
	free(k3);
	ck_assert_int_eq(layout_parse_wrapped_key("keys/other.json", id), 0);
	ck_assert_str_eq(id, "");
	ck_assert_int_eq(layout_parse_wrapped_key("keys/" ID "x.json", id), 0);
	ck_assert_int_eq(layout_parse_wrapped_key("keys/" ID ".txt", id), -1);
	ck_assert_int_eq(layout_parse_wrapped_key("keys/sub/" ID ".json", id), -1);
	ck_assert_int_eq(layout_parse_wrapped_key("locks/" ID ".json", id), -1);

	char *lk = layout_lock("abc123");
	ck_assert_str_eq(lk, "locks/abc123.json");
	ck_assert(layout_is_lock(lk));
	free(lk);
	ck_assert(!layout_is_lock("locks/abc123.json.tmp"));
	ck_assert(!layout_is_lock("keys/abc.json"));
}
END_TEST

START_TEST(test_names)
{
	static const char *const good[] = { "a", "0", "nightly-1", "a.b-c", "x1.y2" };
	static const char *const bad[] = { "", "-a", "a-", ".a", "a.", "A", "a_b", "a/b", "..",
					   "a b", "caf\xc3\xa9" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ck_assert_msg(layout_name_check(good[i]) == 0, "%s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(layout_name_check(bad[i]) == KAHU_EUSAGE, "%s", bad[i]);
	ck_assert_int_eq(layout_name_check(NULL), KAHU_EUSAGE);
	char longname[LAYOUT_NAME_MAX + 2];
	memset(longname, 'a', sizeof longname);
	longname[LAYOUT_NAME_MAX] = '\0';
	ck_assert_int_eq(layout_name_check(longname), 0);
	longname[LAYOUT_NAME_MAX] = 'a';
	longname[LAYOUT_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(layout_name_check(longname), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "too long"));
	ck_assert_int_eq(layout_name_check("a/b"), KAHU_EUSAGE);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "character 2"));
}
END_TEST

static Suite *layout_suite(void)
{
	Suite *s = suite_create("layout");
	TCase *tc = tcase_create("layout");
	tcase_add_test(tc, test_backup_paths);
	tcase_add_test(tc, test_rel_is);
	tcase_add_test(tc, test_backup_round_trip);
	tcase_add_test(tc, test_restore_paths);
	tcase_add_test(tc, test_keys_and_locks);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(layout_suite)

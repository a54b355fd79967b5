/* Unit tests: volume data in a restore (engine/volrestore.h) without a cluster: which
 * claims have data (the catalog's Completed lines, --pvc), the PVs of those claims not
 * restored, claims re-provisioned (volumeName and bind annotations dropped, a CSI
 * snapshot as dataSource), in place leaving claims as they are, a dry run's results,
 * and a volume failing with its reason when no exec channel is there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "archive/key.h"
#include "engine/voldata.h"
#include "engine/volrestore.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/strv.h"

static char tmp[256], loc[300];
static struct kahu_store *st;
static struct kahu_key *key;

static void add_line(json_t *lines, const char *ns, const char *pvc, const char *method, const char *status,
		     json_t *csi)
{
	char vid[VOL_ID_HEX_LEN + 1];
	vol_id(key, ns, pvc, vid);
	struct vol_cat_entry e = { .vid = vid, .namespace_ = ns, .pvc = pvc, .method = method, .status = status,
				   .counts = { .files = 7 }, .csi = csi };
	json_array_append_new(lines, vol_cat_entry_json(&e));
}

static void setup(void)
{
	strcpy(tmp, "/tmp/check_volrestore.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(loc, sizeof loc, "%s/loc", tmp);
	struct kahu_backend_kv cfg[] = { { "path", loc } };
	ck_assert_int_eq(store_open_builtin("fs", cfg, 1, &st), KAHU_OK);
	ck_assert_int_eq(kahu_key_generate(&key), 0);
	kahu_log_set_level(KAHU_LOG_ERROR);
	json_t *lines = json_array(), *objects = json_array();
	add_line(lines, "app", "data", "helper", "Completed", NULL);
	json_t *csi = json_pack("{s:s,s:s}", "namespace", "app", "name", "snap-1");
	add_line(lines, "app", "fromsnap", "csi", "Completed", csi);
	json_decref(csi);
	add_line(lines, "app", "broken", "exec", "Failed", NULL);
	ck_assert_int_eq(vol_cat_write(st, key, "b1", 3, lines, objects), 0);
	json_decref(lines);
	json_decref(objects);
}

static void teardown(void)
{
	store_close(st);
	kahu_key_free(key);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static json_t *pvc(const char *ns, const char *name)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s}},s:{s:s,s:[s]}}", "apiVersion", "v1", "kind",
			 "PersistentVolumeClaim", "metadata", "namespace", ns, "name", name, "annotations",
			 "pv.kubernetes.io/bind-completed", "yes", "keep", "me", "spec", "volumeName", "pv-old",
			 "accessModes", "ReadWriteOnce");
}

static json_t *pv(const char *ns, const char *claim)
{
	return json_pack("{s:s,s:{s:s},s:{s:{s:s,s:s}}}", "kind", "PersistentVolume", "metadata", "name", "pv-old",
			 "spec", "claimRef", "namespace", ns, "name", claim);
}

START_TEST(test_no_catalog)
{
	struct volr_spec s = { .st = st, .key = key, .backup = "none" };
	struct volr *v = (struct volr *)1;
	ck_assert_int_eq(volr_open(&s, &v), 0);
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(test_wrong_key_refused)
{
	struct kahu_key *other;
	ck_assert_int_eq(kahu_key_generate(&other), 0);
	struct volr_spec s = { .st = st, .key = other, .backup = "b1" };
	struct volr *v = NULL;
	ck_assert_int_lt(volr_open(&s, &v), 0);
	ck_assert_ptr_null(v);
	kahu_key_free(other);
}
END_TEST

START_TEST(test_reprovision)
{
	struct volr_spec s = { .st = st, .key = key, .backup = "b1" };
	struct volr *v = NULL;
	ck_assert_int_eq(volr_open(&s, &v), 0);
	ck_assert_ptr_nonnull(v);
	ck_assert(volr_has(v, "app", "data"));
	ck_assert(!volr_has(v, "app", "broken"));   /* failed in the backup: no data */
	ck_assert(!volr_has(v, "app", "other"));
	ck_assert(!volr_has(v, "other", "data"));

	json_t *p = pv("app", "data");
	ck_assert_ptr_nonnull(volr_pv_skip(v, p));
	json_decref(p);
	p = pv("app", "broken");
	ck_assert_ptr_null(volr_pv_skip(v, p));
	json_decref(p);

	json_t *c = pvc("app", "data");
	ck_assert_int_eq(volr_pvc_prepare(v, "app", c), 1);
	json_t *spec = json_object_get(c, "spec");
	ck_assert_ptr_null(json_object_get(spec, "volumeName"));
	ck_assert_ptr_null(json_object_get(spec, "dataSource"));
	json_t *ann = json_object_get(json_object_get(c, "metadata"), "annotations");
	ck_assert_ptr_null(json_object_get(ann, "pv.kubernetes.io/bind-completed"));
	ck_assert_str_eq(json_string_value(json_object_get(ann, "keep")), "me");
	json_decref(c);

	/* mapped to another namespace: the source namespace decides */
	c = pvc("elsewhere", "data");
	ck_assert_int_eq(volr_pvc_prepare(v, "app", c), 1);
	json_decref(c);

	c = pvc("app", "fromsnap");
	ck_assert_int_eq(volr_pvc_prepare(v, "app", c), 1);
	spec = json_object_get(c, "spec");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(spec, "dataSource"), "kind")),
			 "VolumeSnapshot");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(spec, "dataSource"), "name")), "snap-1");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(spec, "dataSource"), "apiGroup")),
			 "snapshot.storage.k8s.io");
	json_decref(c);

	c = pvc("app", "broken");
	ck_assert_int_eq(volr_pvc_prepare(v, "app", c), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "spec"), "volumeName")), "pv-old");
	json_decref(c);
	volr_free(v);
}
END_TEST

START_TEST(test_pvc_filter)
{
	struct strv pvcs = STRV_INIT;
	strv_push(&pvcs, "app/fromsnap");
	strv_push(&pvcs, "nothere");
	struct volr_spec s = { .st = st, .key = key, .backup = "b1", .pvcs = &pvcs };
	struct volr *v = NULL;
	ck_assert_int_eq(volr_open(&s, &v), 0);
	ck_assert(!volr_has(v, "app", "data"));
	ck_assert(volr_has(v, "app", "fromsnap"));
	ck_assert(!volr_has(v, "ap", "fromsnap"));
	json_t *c = pvc("app", "data");
	ck_assert_int_eq(volr_pvc_prepare(v, "app", c), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "spec"), "volumeName")), "pv-old");
	json_decref(c);
	volr_free(v);
	strv_free(&pvcs);
}
END_TEST

START_TEST(test_in_place_leaves_claims)
{
	struct volr_spec s = { .st = st, .key = key, .backup = "b1", .volumes_only = 1 };
	struct volr *v = NULL;
	ck_assert_int_eq(volr_open(&s, &v), 0);
	json_t *c = pvc("app", "data");
	ck_assert_int_eq(volr_pvc_prepare(v, "app", c), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "spec"), "volumeName")), "pv-old");
	json_decref(c);
	json_t *p = pv("app", "data");
	ck_assert_ptr_null(volr_pv_skip(v, p));
	json_decref(p);
	int failed = 0;
	json_t *r = volr_fill(v, "app", "app", "fromsnap", &failed);
	ck_assert_int_eq(failed, 1);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "reason")), "in place"));
	json_decref(r);
	volr_free(v);
}
END_TEST

START_TEST(test_dry_run_and_no_channel)
{
	struct volr_spec s = { .st = st, .key = key, .backup = "b1", .dry_run = 1 };
	struct volr *v = NULL;
	int failed = 1;
	ck_assert_int_eq(volr_open(&s, &v), 0);
	json_t *r = volr_fill(v, "app", "app", "data", &failed);
	ck_assert_int_eq(failed, 0);
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "WouldRestore");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "files")), 7);
	json_decref(r);
	ck_assert_ptr_null(volr_fill(v, "app", "app", "broken", &failed));
	volr_free(v);

	s.dry_run = 0;
	ck_assert_int_eq(volr_open(&s, &v), 0);
	r = volr_fill(v, "app", "app", "data", &failed);
	ck_assert_int_eq(failed, 1);
	ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "Failed");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r, "reason")), "no exec channel"));
	json_decref(r);
	r = volr_fill(v, "app", "app", "fromsnap", &failed);
	ck_assert_int_eq(failed, 0);
	ck_assert_str_eq(json_string_value(json_object_get(r, "method")), "csi-snapshot");
	json_decref(r);
	volr_free(v);
}
END_TEST

static Suite *volrestore_suite(void)
{
	Suite *s = suite_create("volrestore");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_no_catalog);
	tcase_add_test(tc, test_wrong_key_refused);
	tcase_add_test(tc, test_reprovision);
	tcase_add_test(tc, test_pvc_filter);
	tcase_add_test(tc, test_in_place_leaves_claims);
	tcase_add_test(tc, test_dry_run_and_no_channel);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(volrestore_suite)

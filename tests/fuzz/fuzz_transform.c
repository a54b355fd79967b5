/* kahu — fuzz target: the transform file (kahu-transform(5), src/engine/transform.c) and
 * its patches (transform_patch.c).  A file either parses or is refused with FILE:LINE;
 * what parses is applied to a few objects, which must stay JSON values (a failed
 * patch leaves the object as it was). */
#include "fuzz.h"

#include <jansson.h>

#include "engine/transform.h"
#include "util/err.h"

static json_t *objs[3];
static const char *const grs[3] = { "deployments.apps", "persistentvolumeclaims", "configmaps" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	objs[0] = json_loads("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
			     "\"namespace\":\"prod\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"replicas\":3,\"template\":"
			     "{\"spec\":{\"containers\":[{\"name\":\"w\",\"image\":\"r/w:1\",\"env\":[{\"name\":\"A\","
			     "\"value\":\"1\"}],\"ports\":[{\"containerPort\":80}]}],\"volumes\":[{\"name\":\"v\"}]}}}}", 0, NULL);
	objs[1] = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"d\","
			     "\"namespace\":\"prod\"},\"spec\":{\"storageClassName\":\"gp2\"}}", 0, NULL);
	objs[2] = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
			     "\"data\":{\"a/b\":\"~\"}}", 0, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transform_set *ts = NULL;
	if (transform_parse((const char *)data, size, "f.yaml", &ts) < 0) {
		FUZZ_CHECK(ts == NULL);
		FUZZ_CHECK(strncmp(kahu_error_last(), "f.yaml", 6) == 0);
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		json_t *o = json_deep_copy(objs[i]), *applied = NULL;
		char *why = NULL;
		int rc = transform_apply(ts, grs[i], &o, &applied, &why);
		FUZZ_CHECK(o != NULL);
		if (rc < 0) {
			FUZZ_CHECK(why && !applied);
			FUZZ_CHECK(json_equal(o, objs[i]));
		}
		char *s = json_dumps(o, JSON_ENCODE_ANY);
		FUZZ_CHECK(s);
		free(s);
		free(why);
		json_decref(applied);
		json_decref(o);
	}
	struct strv w = STRV_INIT;
	transform_unused(ts, &w);
	strv_free(&w);
	transform_free(ts);
	return 0;
}

/* kahu — fuzz target: what a cluster data mover reports (engine/mover.h), which the
 * coordinator reads from a pod it does not trust: the termination message (the input's
 * first line) and the result object (the rest), the spec a mover is given (the
 * whole input), and the progress lines of a mover's log (the whole input).  Each either reads or is refused with KAHU_EDATA (the spec: KAHU_EUSAGE)
 * leaving nothing behind; what reads keeps its promises: an exit status from 1 to 255,
 * a 64-digit hash, objects only under the volume's own directory. */
#include "fuzz.h"

#include <jansson.h>

#include "engine/mover.h"
#include "util/err.h"

#define VID "0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *all = fuzz_str(data, size);
	const char *nl = memchr(all, '\n', size);
	size_t tlen = nl ? (size_t)(nl - all) : size;
	char *term = fuzz_str(data, tlen);
	const char *rest = nl ? nl + 1 : "";
	size_t rlen = nl ? size - tlen - 1 : 0;

	struct mover_term t;
	int rc = mover_term_parse(term, &t);
	FUZZ_CHECK(rc == 0 || rc == KAHU_EDATA);
	if (rc < 0) {
		FUZZ_CHECK(t.doc == NULL && t.error == NULL && t.result == NULL);
	} else if (t.failed) {
		FUZZ_CHECK(t.error != NULL && t.exit_status >= 1 && t.exit_status <= 255 && t.code < 0);
	} else if (t.result) {
		FUZZ_CHECK(strlen(t.blake2b) == 64);
	}
	mover_term_clear(&t);

	struct vol_restore_result rr;
	rc = mover_restore_result_parse(term, &rr);
	FUZZ_CHECK(rc <= 0);

	/* a result read for a backup without a run (every object hashed) and with one */
	for (int bound = 0; bound < 2; bound++) {
		struct mover_spec s = { .backup = (char *)"b1", .vid = (char *)VID,
					.attempt = (char *)"a1",
					.run = bound ? (char *)"00112233445566778899aabbccddeeff" : NULL };
		struct vol_backup_result r;
		rc = mover_result_parse(&s, rest, rlen, &r);
		FUZZ_CHECK(rc == 0 || rc == KAHU_EDATA);
		if (rc < 0) {
			FUZZ_CHECK(r.objects == NULL);
		} else {
			json_t *o;
			size_t i;
			FUZZ_CHECK(json_array_size(r.objects) > 0);
			json_array_foreach(r.objects, i, o) {
				const char *p = json_string_value(json_object_get(o, "path"));
				FUZZ_CHECK(p && strncmp(p, "volumes/" VID "/", 41) == 0 && !strchr(p + 41, '/'));
				FUZZ_CHECK(p[41] != '.');
				FUZZ_CHECK((json_object_get(o, "blake2b") != NULL) == !bound);
			}
			json_decref(r.objects);
		}
	}

	struct mover_spec sp;
	rc = mover_spec_parse_text(all, &sp);
	FUZZ_CHECK(rc == 0 || rc == KAHU_EUSAGE);
	if (rc == 0) {
		/* what reads has a JSON form that reads again the same */
		json_t *j = mover_spec_json(&sp);
		struct mover_spec again;
		FUZZ_CHECK(mover_spec_parse(j, &again) == 0);
		json_t *k = mover_spec_json(&again);
		FUZZ_CHECK(json_equal(j, k));
		json_decref(j);
		json_decref(k);
		mover_spec_clear(&again);
		mover_spec_clear(&sp);
	} else {
		FUZZ_CHECK(sp.backup == NULL);
	}
	/* the whole input as a mover's log tail: a progress line found is one that writes
	 * back the same and is found again */
	struct mover_progress mp, mq;
	if (mover_progress_parse((const char *)data, size, &mp)) {
		char line[128];
		size_t n = mover_progress_line(line, sizeof line, &mp);
		FUZZ_CHECK(mover_progress_parse(line, n, &mq) == 1 && mq.bytes == mp.bytes &&
			   mq.entries == mp.entries);
	}
	free(term);
	free(all);
	return 0;
}

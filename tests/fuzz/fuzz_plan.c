/* kahu — fuzz target: backup plans (kahu-plan(5), src/engine/plan.c), which also come
 * from ConfigMaps.  A document either reads or is refused with FILE:LINE; what reads
 * has a JSON form (the configuration's) that reads again to the same document, and the
 * cadence decides on a small history without failing. */
#include "fuzz.h"

#include <jansson.h>

#include "engine/plan.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backup_plan *p = NULL, *q = NULL;
	if (backup_plan_parse((const char *)data, size, "p.yaml", &p) < 0) {
		FUZZ_CHECK(p == NULL);
		FUZZ_CHECK(strncmp(kahu_error_last(), "p.yaml", 6) == 0);
		return 0;
	}
	FUZZ_CHECK(p->name && plan_name_check(p->name) == 0);
	FUZZ_CHECK(p->doc != NULL);
	/* Its JSON form reads back the same (an implicit key over libyaml's 1024 characters,
	 * possible only through YAML's explicit keys, may not). */
	if (backup_plan_from_json(p->doc, "config", &q) == 0)
		FUZZ_CHECK(json_equal(p->doc, q->doc));
	backup_plan_free(q);
	struct plan_past h[2] = {
		{ "x-20260103-030000", 1767409200, 1, 0 },
		{ "x-20260104-030000", 1767495600, 0, 0 },
	};
	struct plan_decision d;
	int rc = plan_decide(p, h, 2, 1767582000, &d);
	FUZZ_CHECK(rc == 0 || rc == KAHU_ENOTFOUND || rc == KAHU_EUSAGE);
	FUZZ_CHECK(rc < 0 || d.parent < 2);
	backup_plan_free(p);
	return 0;
}

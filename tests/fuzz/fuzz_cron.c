/* kahu — fuzz target: cron schedules (util/cron.c), as a plan file gives them: the
 * parser, then next firings (UTC: no zone file is read), which must be strictly after
 * the instant asked about and the first such firing. */
#include "fuzz.h"

#include "util/cron.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct cron *c = NULL;
	if (cron_parse(s, NULL, &c) != 0) {
		FUZZ_CHECK(c == NULL && kahu_error_code() != 0);
		free(s);
		return 0;
	}
	FUZZ_CHECK(cron_text(c)[0] != '\0');
	int64_t t = 1767225600; /* 2026-01-01T00:00:00Z */
	for (int i = 0; i < 4; i++) {
		int64_t next;
		if (cron_next(c, t, &next) != 0)
			break;
		FUZZ_CHECK(next > t && next % 60 == 0);
		int64_t again;
		FUZZ_CHECK(cron_next(c, next - 1, &again) == 0 && again == next);
		t = next;
	}
	cron_free(c);
	free(s);
	return 0;
}

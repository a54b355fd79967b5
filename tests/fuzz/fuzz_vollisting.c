/* kahu — fuzz target: a volume's listing (vol_listing_next in src/engine/vol_index.c) as
 * the listing command's output is read back from its spool, with the nonce
 * "00112233445566aa".  Every entry it yields has a path the composer would accept, in
 * strictly increasing order; an error is KAHU_EDATA. */
#include "fuzz.h"

#include <stdio.h>

#include "engine/vol_int.h"
#include "util/err.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet++)
		kahu_log_set_level(KAHU_LOG_ERROR);
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	struct vol_listing l;
	struct vol_entry e = { .segment = -1 };
	char *prev = NULL;
	int rc;
	vol_listing_init(&l, f, "00112233445566aa");
	while ((rc = vol_listing_next(&l, &e)) == 1) {
		FUZZ_CHECK(vol_path_check(e.path, e.path_len, "fuzz") == 0);
		FUZZ_CHECK(strchr("fdlp", e.type) != NULL);
		FUZZ_CHECK(!prev || strcmp(prev, e.path) < 0);
		free(prev);
		prev = strdup(e.path);
	}
	FUZZ_CHECK(rc == 0 || rc == KAHU_EDATA);
	free(prev);
	vol_entry_clear(&e);
	vol_listing_free(&l);
	fclose(f);
	return 0;
}

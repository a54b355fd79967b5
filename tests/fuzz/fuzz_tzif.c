/* kahu — fuzz target: TZif time zone files (util/tzif.c), as read from the zone
 * directory for schedules (util/cron.c) and retention periods: the parser, then the
 * offsets and the local-time resolution of whatever it accepts. */
#include "fuzz.h"

#include "util/tzif.h"

static const int64_t instants[] = {
	-4000000000LL, -1, 0, 1, 1000, 2000, 2147483647LL, 2147483648LL,
	1774746000LL /* 2026-03-29T01:00Z */, 1792890000LL /* 2026-10-25T01:00Z */,
	2240524800LL /* 2041 */, 4102444800LL /* 2100 */, 253402300799LL /* 9999 */,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tzif *z = NULL;
	if (tzif_parse(data, size, "fuzz", &z) != 0) {
		FUZZ_CHECK(z == NULL);
		return 0;
	}
	for (size_t i = 0; i < sizeof instants / sizeof *instants; i++) {
		int64_t t = instants[i];
		int32_t off = tzif_offset(z, t);
		FUZZ_CHECK(off >= -89999 && off <= 93599);
		for (int64_t d = -7200; d <= 7200; d += 1800) {
			int64_t local = t + d, first;
			int n = tzif_resolve(z, local, &first);
			FUZZ_CHECK(n >= 0 && n <= 2);
			if (n)
				FUZZ_CHECK(tzif_local(z, first) == local);
			else
				FUZZ_CHECK(tzif_local(z, first) > local && tzif_local(z, first - 1) <= local);
		}
	}
	tzif_free(z);
	return 0;
}

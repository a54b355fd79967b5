/* kahu — fuzz target: the Retry-After header value (kube_parse_retry_after), as the
 * HTTP client reads it from a 429 or 5xx answer, and the backoff it feeds. */
#include "fuzz.h"

#include "kube/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	long v = kube_parse_retry_after(s);
	FUZZ_CHECK(v == -1 || (v >= 0 && v <= 600));
	/* The attempt number and the random value come from the input as well. */
	int attempt = size ? 1 + data[0] % 40 : 1;
	unsigned r = 0;
	for (size_t i = 0; i < size && i < 4; i++)
		r = r << 8 | data[i];
	long ms = kube_backoff_ms(attempt, r);
	FUZZ_CHECK(ms >= 0);
	free(s);
	return 0;
}

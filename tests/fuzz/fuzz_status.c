/* kahu — fuzz target: Kubernetes Status bodies of error answers, whose `message` the
 * HTTP client quotes in its errors (kube_status_message, src/kube/client.c). */
#include "fuzz.h"

#include "kube/client.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbuf b = KBUF_INIT;

	kbuf_add(&b, data, size);
	char *msg = kube_status_message(&b);
	FUZZ_CHECK(!msg || *msg);
	free(msg);
	kbuf_free(&b);
	return 0;
}

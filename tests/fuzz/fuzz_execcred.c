/* kahu — fuzz target: the output of an exec credential plugin (an ExecCredential,
 * client.authentication.k8s.io/v1 or v1beta1), as src/kube/auth.c parses it.  The
 * kubeconfig asks for v1, or for v1beta1 when the input starts with '!' (dropped).
 * What is accepted must be a usable credential: a token, or a certificate with its key,
 * and no error message may quote the output (it may hold secrets). */
#include "fuzz.h"

#include <jansson.h>

#include "kube/auth.h"
#include "util/err.h"

/* A marker no message may contain: the seeds put it in token and key fields.  Messages
 * do quote an apiVersion that looks like one (never a secret), so the check is off when
 * the marker is in the apiVersion. */
#define SECRET_MARK "s3cr3t"

static int marker_in_api_version(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size, 0, NULL);
	const char *av = json_string_value(json_object_get(root, "apiVersion"));
	int in = av && strstr(av, SECRET_MARK);
	json_decref(root);
	return in;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *av = "client.authentication.k8s.io/v1";
	struct kube_credential c;

	if (size && data[0] == '!') {
		av = "client.authentication.k8s.io/v1beta1";
		data++;
		size--;
	}
	int r = kube_exec_credential_parse(av, "fuzz-plugin", "fuzz-user", (const char *)data,
					   size, &c);
	if (r < 0) {
		FUZZ_CHECK(r == KAHU_EAUTH);
		FUZZ_CHECK(c.token == NULL && c.cert_pem == NULL && c.key_pem == NULL);
		FUZZ_CHECK(!strstr(kahu_error_last(), SECRET_MARK) ||
			   marker_in_api_version(data, size));
		return 0;
	}
	FUZZ_CHECK((c.token && *c.token) || (c.cert_pem && c.key_pem));
	/* the token becomes a header line: no line break, no other control character */
	for (const unsigned char *q = (const unsigned char *)c.token; q && *q; q++)
		FUZZ_CHECK(*q >= 0x20 ? *q != 0x7f : *q == '\t');
	FUZZ_CHECK(!c.cert_pem == !c.key_pem);
	FUZZ_CHECK(!c.cert_pem || (c.cert_len && c.key_len));
	kube_credential_clear(&c);
	return 0;
}

/* kahu — authenticated plain JSON records.  See record.h. */
#include "archive/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/seal.h"
#include "util/err.h"
#include "util/mem.h"

#define MAC_HEX_LEN (2 * KAHU_MAC_BYTES)

int record_parse(const char *text, size_t len, const char *what, json_t **out)
{
	json_error_t jerr;
	*out = NULL;
	if (len > RECORD_TEXT_MAX)
		return kahu_error_set(KAHU_EDATA, "%s is too large (%zu bytes, at most %u)", what,
				      len, RECORD_TEXT_MAX);
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return kahu_error_set(KAHU_EDATA, "%s is not valid JSON (line %d, column %d: %s)",
				      what, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return kahu_error_set(KAHU_EDATA, "%s is not a JSON object", what);
	}
	*out = doc;
	return 0;
}

static int is_lower_hex(const char *s, size_t want)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == want;
}

void record_seal(json_t *doc, const struct kahu_key *key, const char *object_path)
{
	char id[KAHU_KEY_ID_HEX_LEN + 1];
	json_object_set_new(doc, "key_id", json_string(kahu_key_id_hex(key, id)));
	seal_doc(doc, key, KAHU_SUBKEY_RECORD, object_path);
}

int record_is_sealed(const json_t *doc)
{
	return json_object_get(doc, "mac") != NULL || json_object_get(doc, "key_id") != NULL;
}

int record_verify(const json_t *doc, const struct kahu_key *key, const char *object_path,
		  const char *what)
{
	json_t *jmac = json_object_get(doc, "mac"), *jid = json_object_get(doc, "key_id");
	char id[KAHU_KEY_ID_HEX_LEN + 1];
	int rc;

	if (!jmac && !jid)
		return RECORD_UNSEALED;
	if (!jmac || !jid)
		return kahu_error_set(KAHU_EDATA, "%s has a \"%s\" but no \"%s\": it was altered",
				      what, jmac ? "mac" : "key_id", jmac ? "key_id" : "mac");
	const char *mac = json_string_value(jmac), *kid = json_string_value(jid);
	if (!mac || !is_lower_hex(mac, MAC_HEX_LEN))
		return kahu_error_set(KAHU_EDATA, "%s: \"mac\" is not %d lowercase hex digits",
				      what, MAC_HEX_LEN);
	if (!kid || !is_lower_hex(kid, KAHU_KEY_ID_HEX_LEN))
		return kahu_error_set(KAHU_EDATA, "%s: \"key_id\" is not %d lowercase hex digits",
				      what, KAHU_KEY_ID_HEX_LEN);
	if (!key)
		return kahu_error_set(KAHU_ECRYPTO, "%s is sealed with key %s: it can only be "
				      "authenticated with that key", what, kid);
	kahu_key_id_hex(key, id);
	if (strcmp(id, kid) != 0)
		return kahu_error_set(KAHU_ECRYPTO, "%s was sealed with key %s, the key in use "
				      "is %s", what, kid, id);
	if ((rc = seal_doc_verify(doc, key, KAHU_SUBKEY_RECORD, object_path, what)) < 0)
		return rc;
	return RECORD_AUTHENTIC;
}

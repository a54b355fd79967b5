/* kahu — fuzz target: label selectors (-l/--selector) and "or" selectors
 * (src/engine/labelsel.c).  A selector that parses must print (labelsel_to_string) as
 * text that parses again to the same canonical text. */
#include "fuzz.h"

#include <jansson.h>

#include "engine/labelsel.h"
#include "util/err.h"

static json_t *labels;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	labels = json_pack("{s:s, s:s, s:s, s:s, s:s}", "app", "web", "tier", "frontend",
			   "example.com/team", "shop", "version", "12", "empty", "");
	return 0;
}

static void check_labelsel(const char *text)
{
	struct labelsel *s = NULL, *s2 = NULL;

	if (labelsel_parse(text, &s) < 0) {
		FUZZ_CHECK(s == NULL);
		FUZZ_CHECK(*kahu_error_last());
		return;
	}
	char *canon = labelsel_to_string(s);
	FUZZ_CHECK(canon);
	if (labelsel_parse(canon, &s2) < 0) {
		fprintf(stderr, "canonical text %s does not parse: %s\n", canon, kahu_error_last());
		FUZZ_CHECK(0);
	}
	char *canon2 = labelsel_to_string(s2);
	FUZZ_CHECK(strcmp(canon, canon2) == 0);
	FUZZ_CHECK(labelsel_is_empty(s) == (*canon == '\0'));
	int m1 = labelsel_match(s, labels), m2 = labelsel_match(s2, labels);
	FUZZ_CHECK(m1 == m2);
	FUZZ_CHECK(labelsel_match(s, NULL) == labelsel_match(s2, NULL));
	free(canon);
	free(canon2);
	labelsel_free(s);
	labelsel_free(s2);
}

static void check_orsel(const char *text)
{
	struct orsel *o = NULL, *o2 = NULL;

	if (orsel_parse(text, &o) < 0) {
		FUZZ_CHECK(o == NULL);
		return;
	}
	char *canon = orsel_to_string(o);
	FUZZ_CHECK(canon);
	FUZZ_CHECK(orsel_count(o) >= 1);
	for (size_t i = 0; i < orsel_count(o); i++)
		FUZZ_CHECK(orsel_get(o, i));
	if (orsel_parse(canon, &o2) < 0) {
		fprintf(stderr, "canonical text %s does not parse: %s\n", canon, kahu_error_last());
		FUZZ_CHECK(0);
	}
	char *canon2 = orsel_to_string(o2);
	FUZZ_CHECK(strcmp(canon, canon2) == 0);
	FUZZ_CHECK(orsel_match(o, labels) == orsel_match(o2, labels));
	free(canon);
	free(canon2);
	orsel_free(o);
	orsel_free(o2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	check_labelsel(text);
	check_orsel(text);
	/* The key and value rules on their own. */
	const char *why = NULL;
	(void)label_key_valid(text, &why);
	(void)label_value_valid(text, &why);
	free(text);
	return 0;
}

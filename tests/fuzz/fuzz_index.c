/* kahu — fuzz target: the lines of kahu/index.jsonl (index_line_parse in
 * src/archive/manifest.c), one line per input or, when the input holds several, each
 * line.  A line that parses must format (index_line_format) to a line that parses to the
 * same entry, and its member name (bundle_resource_path) must be a valid member name. */
#include "fuzz.h"

#include "archive/bundle.h"
#include "archive/manifest.h"
#include "util/buf.h"
#include "util/err.h"

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static void one_line(const char *line, size_t len)
{
	struct index_entry e, e2;
	struct kbuf out = KBUF_INIT;

	if (index_line_parse(line, len, &e) < 0) {
		FUZZ_CHECK(kahu_error_code() == KAHU_EDATA);
		FUZZ_CHECK(!e.resource && !e.name && !e.ns && !e.uid && !e.rv);
		return;
	}
	FUZZ_CHECK(e.resource && *e.resource && e.name && *e.name && (!e.ns || *e.ns));
	if (index_line_format(&e, &out) < 0) {
		fprintf(stderr, "an index line that parses cannot be written: %s\n",
			kahu_error_last());
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(out.len && out.data[out.len - 1] == '\n');
	FUZZ_CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);
	FUZZ_CHECK(index_line_parse(out.data, out.len, &e2) == 0);
	FUZZ_CHECK(streq(e.resource, e2.resource) && streq(e.ns, e2.ns) &&
		   streq(e.name, e2.name) && streq(e.uid, e2.uid) && streq(e.rv, e2.rv) &&
		   !strcmp(e.hash, e2.hash));
	char *path = NULL;
	if (bundle_resource_path(e.resource, e.ns, e.name, &path) == 0) {
		FUZZ_CHECK(bundle_name_check(path) == 0);
		FUZZ_CHECK(strncmp(path, "resources/", 10) == 0);
	} else {
		FUZZ_CHECK(path == NULL);
	}
	free(path);
	index_entry_clear(&e);
	index_entry_clear(&e2);
	kbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	one_line(p, size);
	/* As kahu reads index.jsonl: line by line. */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if (len < size)
			one_line(p, len);
		p += len;
	}
	return 0;
}

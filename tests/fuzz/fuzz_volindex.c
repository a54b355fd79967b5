/* kahu — fuzz target: a volume's index lines (vol_index_parse in src/engine/vol_index.c),
 * one line per input and each line of it.  A line that parses formats to a line that
 * parses to the same entry; whatever parses, the path check either accepts the path or
 * says why, and never reads past it.  The direct parser and formatter give exactly what
 * the jansson ones give: the same verdict, the same entry, the same bytes. */
#include "fuzz.h"

#include "engine/vol_int.h"
#include "util/err.h"

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_entry(const struct vol_entry *a, const struct vol_entry *b)
{
	return streq(a->path, b->path) && a->path_len == b->path_len && streq(a->target, b->target) &&
	       streq(a->backup, b->backup) && a->type == b->type && a->mode == b->mode &&
	       a->uid == b->uid && a->gid == b->gid && a->size == b->size && a->mtime == b->mtime &&
	       a->ctime == b->ctime && a->ino == b->ino && a->nlink == b->nlink &&
	       a->segment == b->segment && !strcmp(a->hash, b->hash) && a->racy == b->racy;
}

/* vol_index_parse_ex against vol_index_parse_json, and the formatters alike. */
static void same_as_jansson(const char *line, size_t len, int complete)
{
	struct vol_entry a = { .segment = -1 }, b = { .segment = -1 };
	int ra = vol_index_parse_ex(line, len, &a, complete);
	int rb = vol_index_parse_json(line, len, &b, complete);
	FUZZ_CHECK((ra < 0) == (rb < 0));
	if (ra == 0) {
		FUZZ_CHECK(same_entry(&a, &b));
		char *fa = vol_index_format(&a), *fb = vol_index_format_json(&a);
		FUZZ_CHECK(fa && fb && !strcmp(fa, fb));
		free(fa);
		free(fb);
	}
	vol_entry_clear(&a);
	vol_entry_clear(&b);
}

static void one_line(const char *line, size_t len)
{
	struct vol_entry e = { .segment = -1 }, e2 = { .segment = -1 };
	same_as_jansson(line, len, 1);
	same_as_jansson(line, len, 0);
	if (vol_index_parse(line, len, &e) < 0) {
		FUZZ_CHECK(kahu_error_code() == KAHU_EDATA);
		FUZZ_CHECK(!e.path && !e.target && !e.backup);
		return;
	}
	FUZZ_CHECK(e.path && strlen(e.path) == e.path_len);
	FUZZ_CHECK(strchr("fdlhp", e.type) != NULL);
	char *out = vol_index_format(&e);
	FUZZ_CHECK(out && !strchr(out, '\n'));
	FUZZ_CHECK(vol_index_parse(out, strlen(out), &e2) == 0);
	FUZZ_CHECK(streq(e.path, e2.path) && streq(e.target, e2.target) && streq(e.backup, e2.backup) &&
		   e.type == e2.type && e.mode == e2.mode && e.uid == e2.uid && e.gid == e2.gid &&
		   e.size == e2.size && e.mtime == e2.mtime && e.ctime == e2.ctime && e.ino == e2.ino &&
		   e.nlink == e2.nlink && e.segment == e2.segment && !strcmp(e.hash, e2.hash) &&
		   e.racy == e2.racy);
	int rc = vol_path_check(e.path, e.path_len, "fuzz");
	FUZZ_CHECK(rc == 0 || rc == KAHU_EDATA);
	free(out);
	vol_entry_clear(&e);
	vol_entry_clear(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	one_line(p, size);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len < size)
			one_line(p, len);
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

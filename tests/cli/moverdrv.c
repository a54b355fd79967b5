/* kahu — test driver for tests/cli/t-mover.sh: what the coordinator does with a backup
 * mover's report (engine/mover.h mover_result_read), on a location of the
 * configuration with the key kahu would use ($KAHU_KEY_FILE...).
 *
 *   moverdrv result CONFIG LOCATION SPEC_JSON TERMINATION_FILE
 *
 * Prints {"objects": [...], "files": N, "bytesRead": N, "segments": N} and exits 0, or
 * the message on stderr and exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/mover.h"
#include "store/repo.h"
#include "util/buf.h"
#include "util/err.h"

static int fail(const char *what)
{
	fprintf(stderr, "moverdrv: %s: %s (%s)\n", what, kahu_error_last(),
		kahu_err_name(kahu_error_code()));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 6 || strcmp(argv[1], "result") != 0) {
		fprintf(stderr, "usage: moverdrv result CONFIG LOCATION SPEC_JSON TERMINATION_FILE\n");
		return 2;
	}
	struct repo_opts o = { .config_path = argv[2], .location = argv[3] };
	struct repo *r = NULL;
	const struct kahu_key *key = NULL;
	struct mover_spec s;
	struct vol_backup_result res = { 0 };
	char term[8192];
	FILE *f = fopen(argv[5], "r");
	size_t n = f ? fread(term, 1, sizeof term - 1, f) : 0;
	if (f)
		fclose(f);
	term[n] = '\0';
	while (n && term[n - 1] == '\n')
		term[--n] = '\0';
	if (mover_spec_parse_text(argv[4], &s) < 0)
		return fail("spec");
	if (repo_open(&o, &r) < 0)
		return fail("location");
	if (!repo_location(r)->no_encryption && repo_key(r, &key) < 0)
		return fail("key");
	if (mover_result_read(repo_store(r), key, &s, term, &res) < 0)
		return fail("result");
	json_t *out = json_pack("{s:O, s:I, s:I, s:i}", "objects", res.objects, "files",
				(json_int_t)res.counts.files, "bytesRead",
				(json_int_t)res.counts.bytes_read, "segments", (int)res.segments);
	char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", text);
	free(text);
	json_decref(out);
	vol_backup_result_free(&res);
	mover_spec_clear(&s);
	repo_close(r);
	return 0;
}

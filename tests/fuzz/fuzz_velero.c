/* kahu — fuzz target: the member names of a Velero backup tarball (velero_path_parse in
 * src/archive/velero.c) and its metadata/version (velero_version_check).  The input
 * is lines: a line starting with "V:" is a version text, "D:" a directory's name, any
 * other a file's name.  A name is accepted only with every component safe (no "..",
 * no empty one, not absolute), and an item's parts put back together are the name
 * (less a leading "./"); a version is accepted only as 1, 1.N or 1.N.M. */
#include "fuzz.h"

#include "archive/velero.h"
#include "util/err.h"

static int safe_component(const char *c)
{
	return c && *c && !strchr(c, '/') && strcmp(c, ".") && strcmp(c, "..");
}

static void one_name(const char *name, int is_dir)
{
	struct velero_path p;
	int rc = velero_path_parse(name, is_dir, &p);
	if (rc < 0) {
		FUZZ_CHECK(rc == KAHU_EDATA && !p.buf);
		return;
	}
	FUZZ_CHECK(rc == 0 && name[0] != '/');
	if (p.kind == VELERO_ITEM) {
		FUZZ_CHECK(safe_component(p.gr) && safe_component(p.name));
		FUZZ_CHECK(!p.ns || safe_component(p.ns));
		FUZZ_CHECK(!p.version || safe_component(p.version));
		FUZZ_CHECK(!p.preferred || p.version);
		size_t cap = strlen(name) + 64;
		char *back = malloc(cap);
		snprintf(back, cap, "resources/%s/%s%s%s%s%s%s%s.json", p.gr, p.version ? p.version : "",
			 p.preferred ? "-preferredversion" : "", p.version ? "/" : "",
			 p.ns ? "namespaces/" : "cluster/", p.ns ? p.ns : "", p.ns ? "/" : "", p.name);
		const char *m = name;
		while (m[0] == '.' && m[1] == '/')
			m += 2;
		FUZZ_CHECK(strcmp(back, m) == 0);
		free(back);
	}
	if (p.kind == VELERO_VERSION)
		FUZZ_CHECK(!is_dir);
	velero_path_clear(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	char *save = NULL;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "V:", 2) == 0) {
			int newer = -1;
			const char *v = line + 2;
			int rc = velero_version_check(v, strlen(v), &newer);
			FUZZ_CHECK(rc == 0 || rc == KAHU_EDATA);
			if (rc == 0) {
				while (*v == ' ' || *v == '\t' || *v == '\r')
					v++;
				FUZZ_CHECK(v[0] == '1' && (v[1] == '\0' || v[1] == '.' || v[1] == ' ' ||
							   v[1] == '\t' || v[1] == '\r'));
				FUZZ_CHECK(newer == 0 || newer == 1);
			}
		} else if (strncmp(line, "D:", 2) == 0) {
			one_name(line + 2, 1);
		} else {
			one_name(line, 0);
		}
	}
	free(s);
	return 0;
}

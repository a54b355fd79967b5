/* Unit test of the layout (names.h): `make check`.  Pure functions, so no kahu and no
 * filesystem are needed: every key maps to one path, the path maps back to the key,
 * and nothing else maps back at all. */
#include "names.h"

#include <stdio.h>
#include <string.h>

static int failed;

#define CHECK(cond, ...)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			failed++;                                                 \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);           \
			fprintf(stderr, __VA_ARGS__);                             \
			fputc('\n', stderr);                                      \
		}                                                                 \
	} while (0)

/* key -> path -> key, and every component of the path is safe. */
static void round_trip(const char *key)
{
	char rel[6 + 3 * NAMES_KEY_MAX + 64], back[NAMES_KEY_MAX + 1];
	size_t n = names_rel(key, rel, sizeof rel);
	CHECK(n < sizeof rel && n + 1 <= names_rel_max(strlen(key)), "%s: length %zu", key, n);
	CHECK(strlen(rel) == n, "%s: returned length %zu, wrote %zu", key, n, strlen(rel));
	CHECK(names_decode(rel, back) == 0 && strcmp(back, key) == 0, "%s: decodes to %s", key,
	      back);
	char shard[6];
	names_shard(key, shard);
	CHECK(strncmp(rel, shard, 5) == 0 && rel[5] == '/', "%s: not in shard %s", key, shard);
	const char *c = rel + 6;
	for (;;) {
		const char *end = strchr(c, '/');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		CHECK(len > 0 && len <= NAMES_CHUNK_MAX + 1, "%s: component of %zu bytes", key, len);
		CHECK(c[0] != '.', "%s: component starts with '.': %.*s", key, (int)len, c);
		CHECK(!end || c[len - 1] == '~', "%s: directory without '~'", key);
		CHECK(end || c[len - 1] != '~', "%s: file name ends in '~'", key);
		if (!end)
			break;
		c = end + 1;
	}
}

int main(void)
{
	char rel[4096], key[NAMES_KEY_MAX + 1];

	/* FNV-1a's published test values. */
	CHECK(names_hash("") == 0x811c9dc5u, "hash of \"\"");
	CHECK(names_hash("a") == 0xe40c292cu, "hash of \"a\"");
	CHECK(names_hash("foobar") == 0xbf9cf968u, "hash of \"foobar\"");

	names_rel("backups/b1/backup.json", rel, sizeof rel);
	CHECK(strcmp(rel + 5, "/backups+b1+backup.json") == 0, "plain key: %s", rel);
	names_rel("a+b~c%d e/\xc3\xa9", rel, sizeof rel);
	CHECK(strcmp(rel + 5, "/a%2Bb%7Ec%25d%20e+%C3%A9") == 0, "escapes: %s", rel);

	round_trip("kahu-repo.json");
	round_trip("backups/nightly-2026.12.03/metadata.tar.zst.kenc");
	round_trip("locks/0123456789abcdef.json");
	round_trip("a+b~c%d e/\xc3\xa9/x");

	/* Long keys, with '.' and escapes falling on every chunk boundary. */
	for (size_t len = 190; len <= NAMES_KEY_MAX; len += 7) {
		for (int fill = 0; fill < 3; fill++) {
			for (size_t i = 0; i < len; i++)
				key[i] = fill == 0 ? '.' : fill == 1 ? (i % 2 ? '.' : '~') : "ab/."[i % 4];
			key[0] = 'k';
			key[len] = '\0';
			round_trip(key);
		}
	}

	/* A short buffer: the length needed, a truncated NUL-terminated path. */
	char small[8];
	size_t need = names_rel("backups/b1/backup.json", small, sizeof small);
	CHECK(need == 5 + 1 + 22 && strlen(small) == 7, "short buffer: %zu", need);

	/* Not ours: each of these is refused. */
	const char *bad[] = {
		"",                        /* nothing */
		"ab/cd/",                  /* no name */
		"ab/cd/.hidden",           /* a temporary or foreign dot file */
		"ab/cd/x%2",               /* a cut escape */
		"ab/cd/x%zz",              /* not hex */
		"ab/cd/x%2f",              /* lower-case hex: not our spelling */
		"ab/cd/x%41",              /* 'A' escaped: not our spelling */
		"ab/cd/x%00",              /* a NUL */
		"ab/cd/a b",               /* a byte we always escape */
		"ab/cd/a~",                /* '~' outside a chunk directory */
		"ab/cd/a~/b",              /* a chunk directory of a short name */
		"abcd/backups+b1",         /* not two shard levels */
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(names_decode(bad[i], key) != 0, "accepted %s", bad[i]);
	/* The right name in the wrong shard. */
	names_rel("backups/b1/backup.json", rel, sizeof rel);
	rel[0] = rel[0] == '0' ? '1' : '0';
	CHECK(names_decode(rel, key) != 0, "accepted the wrong shard %s", rel);

	if (failed)
		fprintf(stderr, "%d check(s) failed\n", failed);
	else
		printf("test-names: all checks passed\n");
	return failed ? 1 : 0;
}

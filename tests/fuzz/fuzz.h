/* kahu — what the fuzz targets share (tests/fuzz/).
 *
 * Each target defines LLVMFuzzerTestOneInput; libFuzzer calls it (make fuzz), or the
 * replay main (replay.c) does, once per file (the replay test).  A broken invariant is
 * reported with FUZZ_CHECK, which aborts: libFuzzer saves the input as a crash. */
#ifndef KAHU_TESTS_FUZZ_H
#define KAHU_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,    \
				__LINE__, #cond);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* The input as a NUL-terminated string (the caller frees). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The fixed key of the fuzz targets and their seeds: bytes 0, 1, ... 31.  Its key file
 * (base64) is "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=". */
#define FUZZ_KEY_INIT                                                                 \
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,                         \
	  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31 }

#endif

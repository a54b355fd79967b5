#include "util/hash.h"

#define FNV1A64_PRIME 1099511628211ULL

uint64_t kahu_fnv1a64_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV1A64_PRIME;
	return h;
}

uint64_t kahu_fnv1a64_str(const char *s)
{
	uint64_t h = KAHU_FNV1A64_BASIS;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * FNV1A64_PRIME;
	return h;
}

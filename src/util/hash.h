/* kahu — FNV-1a, 64 bits (offset basis 14695981039346656037, prime 1099511628211):
 * hash tables and short, stable, non-cryptographic names.  Never for integrity. */
#ifndef KAHU_UTIL_HASH_H
#define KAHU_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define KAHU_FNV1A64_BASIS 14695981039346656037ULL

/* Continue a hash `h` (start with KAHU_FNV1A64_BASIS) over n bytes. */
uint64_t kahu_fnv1a64_add(uint64_t h, const void *p, size_t n);
/* The hash of a C string. */
uint64_t kahu_fnv1a64_str(const char *s);

#endif

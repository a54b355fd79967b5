/* kahu — XXH64 (xxHash's 64-bit hash, seed 0), streaming: the content hash of volume
 * files.  Fast (several GB/s) and not cryptographic: it catches damage and mistakes, not
 * forgery; what is stored is authenticated by the envelope (docs/FORMAT.md).  The hex
 * form is the canonical one xxhsum prints (big-endian, 16 lowercase digits). */
#ifndef KAHU_UTIL_XXH64_H
#define KAHU_UTIL_XXH64_H

#include <stddef.h>
#include <stdint.h>

#define KAHU_XXH64_HEX_LEN 16

struct kahu_xxh64 {
	uint64_t v[4];       /* the four lane accumulators */
	uint64_t total;      /* bytes hashed so far */
	unsigned char buf[32]; /* a partial stripe */
	unsigned buffered;   /* bytes in buf */
};

void kahu_xxh64_init(struct kahu_xxh64 *h);
void kahu_xxh64_update(struct kahu_xxh64 *h, const void *data, size_t len);
uint64_t kahu_xxh64_digest(const struct kahu_xxh64 *h);
/* The digest as 16 lowercase hex digits and a NUL. */
void kahu_xxh64_hex(const struct kahu_xxh64 *h, char out[KAHU_XXH64_HEX_LEN + 1]);
/* One call: the hash of len bytes. */
uint64_t kahu_xxh64(const void *data, size_t len);

#endif

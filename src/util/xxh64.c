/* kahu — XXH64, written from the algorithm's published description (seed 0 only). */
#include "util/xxh64.h"

#include <string.h>

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t le64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint32_t le32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t round1(uint64_t acc, uint64_t lane)
{
	acc += lane * P2;
	return rotl(acc, 31) * P1;
}

static inline uint64_t merge(uint64_t acc, uint64_t v)
{
	acc ^= round1(0, v);
	return acc * P1 + P4;
}

/* Whole stripes of p (n a multiple of 32) into v. */
static void stripes(uint64_t v[4], const unsigned char *p, size_t n)
{
	uint64_t a = v[0], b = v[1], c = v[2], d = v[3];
	for (const unsigned char *end = p + n; p < end; p += 32) {
		a = round1(a, le64(p));
		b = round1(b, le64(p + 8));
		c = round1(c, le64(p + 16));
		d = round1(d, le64(p + 24));
	}
	v[0] = a, v[1] = b, v[2] = c, v[3] = d;
}

void kahu_xxh64_init(struct kahu_xxh64 *h)
{
	memset(h, 0, sizeof *h);
	h->v[0] = P1 + P2;
	h->v[1] = P2;
	h->v[2] = 0;
	h->v[3] = 0 - P1;
}

void kahu_xxh64_update(struct kahu_xxh64 *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	h->total += len;
	if (h->buffered) {
		size_t take = 32 - h->buffered < len ? 32 - h->buffered : len;
		memcpy(h->buf + h->buffered, p, take);
		h->buffered += (unsigned)take;
		p += take;
		len -= take;
		if (h->buffered < 32)
			return;
		stripes(h->v, h->buf, 32);
		h->buffered = 0;
	}
	size_t whole = len & ~(size_t)31;
	if (whole)
		stripes(h->v, p, whole);
	if (len > whole) {
		memcpy(h->buf, p + whole, len - whole);
		h->buffered = (unsigned)(len - whole);
	}
}

uint64_t kahu_xxh64_digest(const struct kahu_xxh64 *h)
{
	uint64_t acc;
	if (h->total >= 32) {
		acc = rotl(h->v[0], 1) + rotl(h->v[1], 7) + rotl(h->v[2], 12) + rotl(h->v[3], 18);
		for (int i = 0; i < 4; i++)
			acc = merge(acc, h->v[i]);
	} else {
		acc = h->v[2] + P5; /* the seed (v[2] holds it untouched below 32 bytes) */
	}
	acc += h->total;
	const unsigned char *p = h->buf, *end = h->buf + h->buffered;
	for (; end - p >= 8; p += 8) {
		acc ^= round1(0, le64(p));
		acc = rotl(acc, 27) * P1 + P4;
	}
	if (end - p >= 4) {
		acc ^= (uint64_t)le32(p) * P1;
		acc = rotl(acc, 23) * P2 + P3;
		p += 4;
	}
	for (; p < end; p++) {
		acc ^= *p * P5;
		acc = rotl(acc, 11) * P1;
	}
	acc ^= acc >> 33;
	acc *= P2;
	acc ^= acc >> 29;
	acc *= P3;
	acc ^= acc >> 32;
	return acc;
}

void kahu_xxh64_hex(const struct kahu_xxh64 *h, char out[KAHU_XXH64_HEX_LEN + 1])
{
	static const char dig[] = "0123456789abcdef";
	uint64_t d = kahu_xxh64_digest(h);
	for (int i = KAHU_XXH64_HEX_LEN - 1; i >= 0; i--, d >>= 4)
		out[i] = dig[d & 15];
	out[KAHU_XXH64_HEX_LEN] = 0;
}

uint64_t kahu_xxh64(const void *data, size_t len)
{
	struct kahu_xxh64 h;
	kahu_xxh64_init(&h);
	kahu_xxh64_update(&h, data, len);
	return kahu_xxh64_digest(&h);
}

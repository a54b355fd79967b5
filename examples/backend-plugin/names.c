/* shard: keys to paths and back (names.h). */
#include "names.h"

#include <string.h>

uint32_t names_hash(const char *key)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

static const char hexdig[] = "0123456789ABCDEF";

void names_shard(const char *key, char out[6])
{
	static const char lower[] = "0123456789abcdef";
	uint32_t h = names_hash(key);
	out[0] = lower[(h >> 28) & 15];
	out[1] = lower[(h >> 24) & 15];
	out[2] = '/';
	out[3] = lower[(h >> 20) & 15];
	out[4] = lower[(h >> 16) & 15];
	out[5] = '\0';
}

static int plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

size_t names_rel_max(size_t keylen)
{
	/* "ab/cd/", three bytes per key byte, "~/" per chunk, the NUL. */
	size_t enc = 3 * keylen;
	return 6 + enc + 2 * (enc / (NAMES_CHUNK_MAX - 2) + 1) + 1;
}

/* Append n bytes to out (as far as they fit), counting them all in *len. */
static void put(char *out, size_t outlen, size_t *len, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, (*len)++)
		if (*len + 1 < outlen)
			out[*len] = s[i];
}

size_t names_rel(const char *key, char *out, size_t outlen)
{
	char shard[6];
	size_t len = 0, chunk = 0;
	names_shard(key, shard);
	put(out, outlen, &len, shard, 5);
	put(out, outlen, &len, "/", 1);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		char tok[3];
		size_t n = 1;
		if (*p == '/') {
			tok[0] = '+';
		} else if (plain(*p) && !(*p == '.' && chunk == 0)) {
			tok[0] = (char)*p;
		} else {
			tok[0] = '%';
			tok[1] = hexdig[*p >> 4];
			tok[2] = hexdig[*p & 15];
			n = 3;
		}
		if (chunk + n > NAMES_CHUNK_MAX) {
			put(out, outlen, &len, "~/", 2);
			chunk = 0;
			if (*p == '.') {  /* a new component must not start with '.' */
				tok[0] = '%';
				tok[1] = '2';
				tok[2] = 'E';
				n = 3;
			}
		}
		put(out, outlen, &len, tok, n);
		chunk += n;
	}
	if (outlen)
		out[len < outlen ? len : outlen - 1] = '\0';
	return len;
}

static int hexval(char c)
{
	const char *p = c ? strchr(hexdig, c) : NULL;
	return p ? (int)(p - hexdig) : -1;
}

int names_decode(const char *rel, char key[NAMES_KEY_MAX + 1])
{
	size_t n = 0;
	if (strlen(rel) < 7 || rel[2] != '/' || rel[5] != '/')
		return -1;
	for (const char *p = rel + 6; *p; p++) {
		unsigned char c;
		if (*p == '~' && p[1] == '/') {  /* end of a chunk directory */
			p++;
			continue;
		}
		if (*p == '+') {
			c = '/';
		} else if (*p == '%') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			if (lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			p += 2;
		} else if (plain((unsigned char)*p)) {
			c = (unsigned char)*p;
		} else {
			return -1;
		}
		if (c == '\0' || n >= NAMES_KEY_MAX)
			return -1;
		key[n++] = (char)c;
	}
	if (n == 0)
		return -1;
	key[n] = '\0';

	/* Only the one spelling names_rel() writes, in the shard of the key. */
	char again[6 + 3 * NAMES_KEY_MAX + 64];
	size_t need = names_rel(key, again, sizeof again);
	if (need >= sizeof again || strcmp(again, rel) != 0)
		return -1;
	return 0;
}

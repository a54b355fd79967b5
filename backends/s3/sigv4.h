/* kahu — AWS Signature Version 4 (header form), for the s3 provider.
 *
 * Pure: no I/O, no clock.  SHA-256 and HMAC-SHA-256 come from libsodium.  The caller
 * supplies every header to sign (Host, x-amz-date, x-amz-content-sha256 and, with
 * temporary credentials, x-amz-security-token) and the payload's hash; the signer
 * builds the canonical request, the string to sign, the signature and the
 * Authorization header value.
 *
 * Canonicalization:
 *   - path: the decoded path, each byte outside RFC 3986's unreserved set and '/'
 *     percent-encoded (upper-case hex), once (S3's rule); with SIGV4_NORMALIZE_PATH,
 *     "." and ".." segments are resolved and repeated slashes collapsed first (the rule
 *     of other services; S3 never normalizes);
 *   - query: decoded names and values, each encoded as above ('/' too), sorted by the
 *     encoded name then value, "name=value" joined by '&'; an empty value keeps '=';
 *   - headers: names lower-cased, values trimmed with inner runs of spaces collapsed to
 *     one, sorted by name; repeated names are joined with ',' in the order given.
 */
#ifndef KAHU_S3_SIGV4_H
#define KAHU_S3_SIGV4_H

#include <stddef.h>

#define SIGV4_HASH_HEX 65 /* 64 hex digits and NUL */

struct sigv4_pair {
	const char *name;
	const char *value;
};

#define SIGV4_NORMALIZE_PATH (1u << 0)

struct sigv4_request {
	const char *method;                /* "GET", "PUT", ... */
	const char *path;                  /* decoded, starts with '/' */
	const struct sigv4_pair *query;    /* decoded; value "" for "name=" or "name" */
	size_t nquery;
	const struct sigv4_pair *headers;  /* every header to sign, Host included */
	size_t nheaders;
	const char *payload_hash;          /* hex SHA-256 of the body (x-amz-content-sha256) */
	const char *amz_date;              /* "YYYYMMDDTHHMMSSZ", as in x-amz-date */
	const char *region;
	const char *service;               /* "s3", "sts" */
	const char *access_key;
	const char *secret_key;
	unsigned int flags;                /* SIGV4_* */
};

struct sigv4_result {
	char *canonical_request;  /* allocated */
	char *string_to_sign;     /* allocated */
	char *authorization;      /* allocated: the Authorization header's value */
	char signature[SIGV4_HASH_HEX];
};

/* Sign.  Returns 0, or -1 when out of memory or the input is malformed (no method,
 * path, date of the right shape, region, service or keys).  On failure `out` holds
 * nothing to free. */
int sigv4_sign(const struct sigv4_request *req, struct sigv4_result *out);
void sigv4_result_free(struct sigv4_result *r);

/* Hex SHA-256 of `len` bytes into `hex` (SIGV4_HASH_HEX bytes). */
void sigv4_sha256_hex(const void *data, size_t len, char hex[SIGV4_HASH_HEX]);
/* The hash of the empty payload. */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Append the RFC 3986 encoding of `len` bytes of `s` to the malloc'ed string *dst of
 * length *dlen (unreserved bytes as they are, '/' too when keep_slash, everything else
 * %XX).  Returns 0 or -1 when out of memory (then *dst is unchanged). */
int sigv4_uri_encode(char **dst, size_t *dlen, const char *s, size_t len, int keep_slash);

#endif

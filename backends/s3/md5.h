/* kahu — MD5 (RFC 1321), for the s3 provider's Content-MD5 header. */
#ifndef KAHU_S3_MD5_H
#define KAHU_S3_MD5_H

#include <stddef.h>

void s3_md5(const void *data, size_t len, unsigned char out[16]);

#endif

/* kahu — where the s3 provider's credentials come from.
 *
 * Never from the command line or kahu's configuration file.  In this order:
 *   1. the location names a credentials file (`credentials-file`, optionally
 *      `profile`): that file, that profile (else $AWS_PROFILE, else "default");
 *   2. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN when set);
 *   3. web identity: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (the provider
 *      exchanges the token with STS; see s3.c);
 *   4. the shared credentials file ($AWS_SHARED_CREDENTIALS_FILE, else
 *      ~/.aws/credentials) with the profile of the location, else $AWS_PROFILE, else
 *      "default".
 * Messages name files and profiles, never a key.
 */
#ifndef KAHU_S3_CREDS_H
#define KAHU_S3_CREDS_H

#include <stddef.h>
#include <time.h>

enum s3_creds_kind {
	S3_CREDS_STATIC = 0,       /* keys from a file or the environment */
	S3_CREDS_WEB_IDENTITY = 1, /* exchanged with STS; role and token file below */
};

struct s3_creds {
	enum s3_creds_kind kind;
	char *access_key;
	char *secret_key;          /* wiped when freed */
	char *session_token;       /* NULL when none */
	time_t expires;            /* 0: does not expire */
	char *role_arn;            /* web identity */
	char *token_file;          /* web identity */
	char source[160];          /* for messages: "environment", "file F, profile P" */
};

/* Resolve the credentials (see above).  `cred_file` and `profile` come from the
 * location (NULL when not set).  Returns 0, or -1 with a message in err (no keys
 * anywhere, an unreadable file, a profile without both keys). */
int s3_creds_resolve(const char *cred_file, const char *profile, struct s3_creds *out,
		     char *err, size_t errlen);
void s3_creds_clear(struct s3_creds *c);

/* Parse the credentials file text for `profile`; for tests.  Same return as above. */
int s3_creds_parse(const char *text, const char *origin, const char *profile,
		   struct s3_creds *out, char *err, size_t errlen);

#endif

/* kahu — the s3 provider's pure parts: the shared credentials file (profiles, the
 * config file's "[profile NAME]" spelling, comments, blanks, missing keys; messages
 * never carry a key) and MD5 for Content-MD5 (RFC 1321's test suite). */
#include "check_main.h"

#include "backends/s3/creds.h"
#include "backends/s3/md5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *CREDS =
	"# comment\n"
	"[default]\n"
	"aws_access_key_id = AKIADEFAULT\n"
	"aws_secret_access_key=defaultsecret\n"
	"\n"
	"; another comment\n"
	"[ profile team ]\n"
	"  aws_access_key_id =  AKIATEAM  \r\n"
	"aws_secret_access_key = team/secret+with=signs\r\n"
	"aws_session_token = tok123\n"
	"region = eu-west-1\n"
	"[halfway]\n"
	"aws_access_key_id = AKIAHALF\n";

START_TEST(creds_profiles)
{
	struct s3_creds c;
	char err[256];
	ck_assert_int_eq(s3_creds_parse(CREDS, "F", "default", &c, err, sizeof err), 0);
	ck_assert_str_eq(c.access_key, "AKIADEFAULT");
	ck_assert_str_eq(c.secret_key, "defaultsecret");
	ck_assert_ptr_null(c.session_token);
	ck_assert_ptr_nonnull(strstr(c.source, "profile default"));
	s3_creds_clear(&c);

	ck_assert_int_eq(s3_creds_parse(CREDS, "F", "team", &c, err, sizeof err), 0);
	ck_assert_str_eq(c.access_key, "AKIATEAM");
	ck_assert_str_eq(c.secret_key, "team/secret+with=signs");
	ck_assert_str_eq(c.session_token, "tok123");
	s3_creds_clear(&c);
	ck_assert_ptr_null(c.access_key);
}
END_TEST

START_TEST(creds_refusals)
{
	struct s3_creds c;
	char err[256];
	ck_assert_int_eq(s3_creds_parse(CREDS, "/x/credentials", "nosuch", &c, err, sizeof err), -1);
	ck_assert_str_eq(err, "credentials file /x/credentials has no profile \"nosuch\"");
	ck_assert_int_eq(s3_creds_parse(CREDS, "F", "halfway", &c, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "lacks aws_access_key_id or aws_secret_access_key"));
	ck_assert_ptr_null(strstr(err, "AKIAHALF"));
	ck_assert_int_eq(s3_creds_parse("", "F", "default", &c, err, sizeof err), -1);
}
END_TEST

START_TEST(creds_environment)
{
	struct s3_creds c;
	char err[256];
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	ck_assert_int_eq(s3_creds_resolve(NULL, NULL, &c, err, sizeof err), -1);
	ck_assert_str_eq(err, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_SESSION_TOKEN", "envtoken", 1);
	ck_assert_int_eq(s3_creds_resolve(NULL, NULL, &c, err, sizeof err), 0);
	ck_assert_int_eq(c.kind, S3_CREDS_STATIC);
	ck_assert_str_eq(c.access_key, "AKIAENV");
	ck_assert_str_eq(c.session_token, "envtoken");
	s3_creds_clear(&c);

	/* A file named by the location wins over the environment. */
	char path[] = "/tmp/kahu-check-s3-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	fputs(CREDS, f);
	fclose(f);
	ck_assert_int_eq(s3_creds_resolve(path, "team", &c, err, sizeof err), 0);
	ck_assert_str_eq(c.access_key, "AKIATEAM");
	s3_creds_clear(&c);
	/* ... with AWS_PROFILE when the location names no profile */
	setenv("AWS_PROFILE", "team", 1);
	ck_assert_int_eq(s3_creds_resolve(path, NULL, &c, err, sizeof err), 0);
	ck_assert_str_eq(c.access_key, "AKIATEAM");
	s3_creds_clear(&c);
	unsetenv("AWS_PROFILE");
	unlink(path);
	ck_assert_int_eq(s3_creds_resolve(path, NULL, &c, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot read credentials file"));

	/* Web identity when there are no keys in the environment. */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token", 1);
	ck_assert_int_eq(s3_creds_resolve(NULL, NULL, &c, err, sizeof err), 0);
	ck_assert_int_eq(c.kind, S3_CREDS_WEB_IDENTITY);
	ck_assert_str_eq(c.role_arn, "arn:aws:iam::1:role/r");
	ck_assert_str_eq(c.token_file, "/var/run/token");
	s3_creds_clear(&c);
	unsetenv("AWS_ROLE_ARN");
	unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");

	/* Nothing anywhere. */
	setenv("HOME", "/nonexistent-kahu-home", 1);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	ck_assert_int_eq(s3_creds_resolve(NULL, NULL, &c, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no S3 credentials"));
}
END_TEST

static void md5_hex(const char *s, size_t n, char out[33])
{
	unsigned char d[16];
	s3_md5(s, n, d);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

START_TEST(md5_rfc1321)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
		{"", "d41d8cd98f00b204e9800998ecf8427e"},
		{"a", "0cc175b9c0f1b6a831c399e269772661"},
		{"abc", "900150983cd24fb0d6963f7d28e17f72"},
		{"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
		{"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		 "d174ab98d277d9f5a5611c2c9f419d9f"},
		{"1234567890123456789012345678901234567890123456789012345678901234567890123456"
		 "7890", "57edf4a22be3c955ac49da2e2107b67a"},
	};
	char hex[33];
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		md5_hex(v[i].in, strlen(v[i].in), hex);
		ck_assert_str_eq(hex, v[i].hex);
	}
	/* Lengths around the padding boundary (55, 56, 64 bytes) and a large input. */
	char *big = malloc(1000000);
	memset(big, 'a', 1000000);
	md5_hex(big, 1000000, hex);
	ck_assert_str_eq(hex, "7707d6ae4e027c70eea2a935c2296f21");
	md5_hex(big, 56, hex);
	ck_assert_str_eq(hex, "3b0c8ac703f828b04c6c197006d17218");
	md5_hex(big, 64, hex);
	ck_assert_str_eq(hex, "014842d480b571495a4a0363793f7367");
	free(big);
}
END_TEST

static Suite *s3_suite(void)
{
	Suite *s = suite_create("s3");
	TCase *tc = tcase_create("creds");
	tcase_add_test(tc, creds_profiles);
	tcase_add_test(tc, creds_refusals);
	tcase_add_test(tc, creds_environment);
	suite_add_tcase(s, tc);
	tc = tcase_create("md5");
	tcase_add_test(tc, md5_rfc1321);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(s3_suite)

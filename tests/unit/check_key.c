/* Unit tests: master keys, key files, passphrase wrapping, MAC and hashes. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "check_main.h"
#include "archive/key.h"
#include "util/err.h"
#include "util/mem.h"

static char tmpdir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(p);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/kahu-check-key-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(kahu_crypto_init(), 0);
}

static void teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Key id of fixed_master, computed once by this code and pinned: it is on-disk format. */
#define KEY_ID_FIXED_HEX "28757986b5ee63af3b47f22fb542c5f2"

static const uint8_t fixed_master[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
};

/* ---- keys and derivations -------------------------------------------------------- */

START_TEST(test_key_id_pinned)
{
	/* The key id is part of the on-disk format: it must never change. */
	struct kahu_key *k = NULL;
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	uint8_t want[16];
	ck_assert_int_eq(kahu_key_from_bytes(fixed_master, &k), 0);
	crypto_generichash(want, 16, fixed_master, 32,
			   (const unsigned char *)"kahu-format-v1-key-identifier", 29);
	ck_assert_mem_eq(k->id, want, 16);
	ck_assert_str_eq(kahu_key_id_hex(k, hex), KEY_ID_FIXED_HEX);
	kahu_key_free(k);
}
END_TEST

START_TEST(test_key_generate)
{
	struct kahu_key *a = NULL, *b = NULL, *c = NULL;
	ck_assert_int_eq(kahu_key_generate(&a), 0);
	ck_assert_int_eq(kahu_key_generate(&b), 0);
	ck_assert(memcmp(a->master, b->master, 32) != 0);
	ck_assert(memcmp(a->id, b->id, 16) != 0);
	ck_assert_int_eq(kahu_key_from_bytes(a->master, &c), 0);
	ck_assert_mem_eq(a->id, c->id, 16);
	kahu_key_free(a);
	kahu_key_free(b);
	kahu_key_free(c);
	kahu_key_free(NULL);
}
END_TEST

START_TEST(test_subkeys_mac)
{
	struct kahu_key *k = NULL, *other = NULL;
	uint8_t enc[32], mac_sub[32], mac[32], mac2[32];
	const char *doc = "{\"name\":\"b1\"}";
	ck_assert_int_eq(kahu_key_from_bytes(fixed_master, &k), 0);
	ck_assert_int_eq(kahu_key_generate(&other), 0);
	kahu_key_subkey(k, KAHU_SUBKEY_ENC, enc);
	kahu_key_subkey(k, KAHU_SUBKEY_MAC, mac_sub);
	ck_assert(memcmp(enc, mac_sub, 32) != 0);
	ck_assert(memcmp(enc, k->master, 32) != 0);

	kahu_key_mac(k, doc, strlen(doc), mac);
	kahu_key_mac(k, doc, strlen(doc), mac2);
	ck_assert_mem_eq(mac, mac2, 32);
	ck_assert_int_eq(kahu_key_mac_verify(k, doc, strlen(doc), mac), 0);
	/* one changed byte of data, of the MAC, or another key: refused */
	ck_assert_int_eq(kahu_key_mac_verify(k, "{\"name\":\"b2\"}", strlen(doc), mac),
			 KAHU_ECRYPTO);
	mac2[31] ^= 1;
	ck_assert_int_eq(kahu_key_mac_verify(k, doc, strlen(doc), mac2), KAHU_ECRYPTO);
	ck_assert_int_eq(kahu_key_mac_verify(other, doc, strlen(doc), mac), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "MAC verification failed"));
	ck_assert(kahu_ct_equal("abc", "abc", 3));
	ck_assert(!kahu_ct_equal("abc", "abd", 3));
	kahu_key_free(k);
	kahu_key_free(other);
}
END_TEST

START_TEST(test_hash)
{
	char hex[KAHU_HASH_HEX_LEN + 1], hex2[KAHU_HASH_HEX_LEN + 1];
	/* BLAKE2b-256("abc"), RFC 7693 test vector family */
	ck_assert_str_eq(kahu_key_hash("abc", 3, hex),
			 "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
	static uint8_t big[300000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7 + 3);
	struct kahu_hash *h = kahu_hash_new();
	kahu_hash_update(h, big, 1);
	ck_assert_int_eq(kahu_hash_write_cb(h, big + 1, 70000), 0);
	kahu_hash_update(h, big + 70001, sizeof big - 70001);
	kahu_hash_final_hex(h, hex2);
	kahu_hash_free(h);
	ck_assert_str_eq(kahu_key_hash(big, sizeof big, hex), hex2);
}
END_TEST

/* ---- key files ------------------------------------------------------------------- */

START_TEST(test_keyfile_roundtrip)
{
	struct kahu_key *k = NULL, *l = NULL;
	char *path = tpath("keys/sub/kahu.key");
	struct stat st;
	char buf[128];
	ck_assert_int_eq(kahu_key_generate(&k), 0);
	ck_assert_int_eq(kahu_key_save(k, path), 0);

	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	char *dir = tpath("keys");
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	free(dir);
	dir = tpath("keys/sub");
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	free(dir);

	/* one line of padded base64 and a newline */
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	ck_assert_uint_eq(n, 45);
	ck_assert_int_eq(buf[44], '\n');
	ck_assert_int_eq(buf[43], '=');

	ck_assert_int_eq(kahu_key_load(path, &l), 0);
	ck_assert_mem_eq(k->master, l->master, 32);
	ck_assert_mem_eq(k->id, l->id, 16);
	kahu_key_free(k);
	kahu_key_free(l);
	free(path);
}
END_TEST

START_TEST(test_keyfile_no_overwrite)
{
	struct kahu_key *k = NULL, *k2 = NULL, *l = NULL;
	char *path = tpath("kahu.key");
	ck_assert_int_eq(kahu_key_generate(&k), 0);
	ck_assert_int_eq(kahu_key_generate(&k2), 0);
	ck_assert_int_eq(kahu_key_save(k, path), 0);
	ck_assert_int_eq(kahu_key_save(k2, path), KAHU_EEXIST);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "refusing to overwrite"));
	ck_assert_int_eq(kahu_key_load(path, &l), 0);
	ck_assert_mem_eq(k->master, l->master, 32);
	/* a dangling symlink is not followed either */
	char *link = tpath("link.key"), *target = tpath("target.key");
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(kahu_key_save(k, link), KAHU_EEXIST);
	ck_assert_int_eq(access(target, F_OK), -1);
	kahu_key_free(k);
	kahu_key_free(k2);
	kahu_key_free(l);
	free(path);
	free(link);
	free(target);
}
END_TEST

static const mode_t open_modes[] = { 0644, 0604, 0620, 0602, 0660, 0666, 0610, 0444 };

START_TEST(test_keyfile_mode_refused)
{
	struct kahu_key *k = NULL, *l = NULL;
	char *path = tpath("kahu.key");
	mode_t mode = open_modes[_i];
	ck_assert_int_eq(kahu_key_generate(&k), 0);
	ck_assert_int_eq(kahu_key_save(k, path), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EPERM);
	ck_assert_ptr_null(l);
	char *want = xasprintf("permissions %04o for '%s' are too open; the key file must be "
			       "readable by its owner only (chmod 600)%s", (unsigned)mode, path,
			       geteuid() == 0 ? ", or, as root's, by its group at most (chmod 640)" : "");
	ck_assert_str_eq(kahu_error_last(), want);
	free(want);
	kahu_key_free(k);
	free(path);
}
END_TEST

START_TEST(test_keyfile_mode_accepted)
{
	static const mode_t ok[] = { 0600, 0400, 0700 };
	struct kahu_key *k = NULL, *l = NULL;
	char *path = tpath("kahu.key");
	ck_assert_int_eq(kahu_key_generate(&k), 0);
	ck_assert_int_eq(kahu_key_save(k, path), 0);
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		ck_assert_int_eq(chmod(path, ok[i]), 0);
		ck_assert_int_eq(kahu_key_load(path, &l), 0);
		ck_assert_mem_eq(k->master, l->master, 32);
		kahu_key_free(l);
		l = NULL;
	}
	/* through a symlink (Kubernetes Secret volumes): the target's mode counts */
	char *link = tpath("link.key");
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(kahu_key_load(link, &l), 0);
	kahu_key_free(l);
	l = NULL;
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(kahu_key_load(link, &l), KAHU_EPERM);
	kahu_key_free(k);
	free(path);
	free(link);
}
END_TEST

/* Group-readable: a Secret mounted in a pod with an fsGroup is root's, mode 0440, the
 * group the pod's.  Accepted when root owns the file, refused when another user does. */
START_TEST(test_keyfile_root_group_readable)
{
	struct kahu_key *k = NULL, *l = NULL;
	char *path = tpath("kahu.key");
	ck_assert_int_eq(kahu_key_generate(&k), 0);
	ck_assert_int_eq(kahu_key_save(k, path), 0);
	static const mode_t modes[] = { 0440, 0640 };
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(chmod(path, modes[i]), 0);
		ck_assert_int_eq(kahu_key_load(path, &l), geteuid() == 0 ? 0 : KAHU_EPERM);
		kahu_key_free(l);
		l = NULL;
	}
	ck_assert_int_eq(chmod(path, 0460), 0);   /* group-writable: never */
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EPERM);
	ck_assert_int_eq(chmod(path, 0441), 0);   /* others: never */
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EPERM);
	ck_assert_ptr_null(l);
	kahu_key_free(k);
	free(path);
}
END_TEST

START_TEST(test_keyfile_bad_content)
{
	struct kahu_key *l = NULL;
	char *path = tpath("kahu.key");
	uint8_t raw[40];
	char b64[128];
	const char *secretish = "SuperSecretNotBase64!!!\n";

	/* not base64: refused, and the content never appears in the message */
	write_file(path, secretish, strlen(secretish), 0600);
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "not valid base64"));
	ck_assert_ptr_null(strstr(kahu_error_last(), "SuperSecret"));

	/* valid base64 of the wrong length */
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(b64, sizeof b64, raw, 31, sodium_base64_VARIANT_ORIGINAL);
	write_file(path, b64, strlen(b64), 0600);
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "holds 31 bytes"));
	ck_assert_ptr_null(strstr(kahu_error_last(), b64));
	sodium_bin2base64(b64, sizeof b64, raw, 33, sodium_base64_VARIANT_ORIGINAL);
	write_file(path, b64, strlen(b64), 0600);
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "holds 33 bytes"));

	/* unpadded, url-safe, two keys, empty: all refused */
	sodium_bin2base64(b64, sizeof b64, raw, 32, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	write_file(path, b64, strlen(b64), 0600);
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EDATA);
	sodium_bin2base64(b64, sizeof b64, raw, 32, sodium_base64_VARIANT_ORIGINAL);
	char *two = xasprintf("%s\n%s\n", b64, b64);
	write_file(path, two, strlen(two), 0600);
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EDATA);
	free(two);
	write_file(path, "", 0, 0600);
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "empty"));

	/* CRLF and no final newline are fine */
	char *crlf = xasprintf("%s\r\n", b64);
	write_file(path, crlf, strlen(crlf), 0600);
	ck_assert_int_eq(kahu_key_load(path, &l), 0);
	ck_assert_mem_eq(l->master, raw, 32);
	kahu_key_free(l);
	l = NULL;
	write_file(path, b64, strlen(b64), 0600);
	ck_assert_int_eq(kahu_key_load(path, &l), 0);
	kahu_key_free(l);
	l = NULL;

	/* far too large */
	static char huge[8192];
	memset(huge, 'A', sizeof huge);
	write_file(path, huge, sizeof huge, 0600);
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "too large"));
	free(crlf);
	free(path);
}
END_TEST

START_TEST(test_keyfile_missing)
{
	struct kahu_key *l = NULL;
	char *path = tpath("nope.key");
	ck_assert_int_eq(kahu_key_load(path, &l), KAHU_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), path));
	ck_assert_ptr_null(l);
	/* a directory is not a key file */
	ck_assert_int_eq(kahu_key_load(tmpdir, &l), KAHU_EDATA);
	free(path);
}
END_TEST

/* ---- passphrase wrapping --------------------------------------------------------- */

static const char *pass = "correct horse battery staple";

static char *wrap_fixed(struct kahu_key **kp)
{
	char *json = NULL;
	ck_assert_int_eq(kahu_key_from_bytes(fixed_master, kp), 0);
	ck_assert_int_eq(kahu_key_wrap(*kp, pass, strlen(pass), KAHU_KDF_PARAMS_TEST, &json), 0);
	return json;
}

START_TEST(test_wrap_roundtrip)
{
	struct kahu_key *k = NULL, *u = NULL;
	char *json = wrap_fixed(&k);
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	uint8_t id[16];

	json_t *doc = json_loads(json, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "version")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "kdf")), "argon2id13");
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "opslimit")),
			 crypto_pwhash_argon2id_OPSLIMIT_MIN);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "memlimit")),
			 crypto_pwhash_argon2id_MEMLIMIT_MIN);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "key_id")), kahu_key_id_hex(k, hex));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(doc, "salt"))), 24);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(doc, "nonce"))), 32);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(doc, "wrapped"))), 64);
	json_decref(doc);

	ck_assert_int_eq(kahu_key_wrapped_id(json, id), 0);
	ck_assert_mem_eq(id, k->id, 16);
	ck_assert_int_eq(kahu_key_unwrap(json, pass, strlen(pass), &u), 0);
	ck_assert_mem_eq(u->master, k->master, 32);
	ck_assert_mem_eq(u->id, k->id, 16);

	/* a second wrap of the same key (another passphrase) is independent */
	char *json2 = NULL;
	struct kahu_key *u2 = NULL;
	ck_assert_int_eq(kahu_key_wrap(k, "other", 5, KAHU_KDF_PARAMS_TEST, &json2), 0);
	ck_assert_str_ne(json, json2);
	ck_assert_int_eq(kahu_key_unwrap(json2, "other", 5, &u2), 0);
	ck_assert_mem_eq(u2->master, k->master, 32);
	ck_assert_int_eq(kahu_key_unwrap(json2, pass, strlen(pass), &u2), KAHU_ECRYPTO);

	kahu_key_free(k);
	kahu_key_free(u);
	kahu_key_free(u2);
	free(json);
	free(json2);
}
END_TEST

START_TEST(test_wrap_fixture)
{
	/* A document written by an earlier build must keep unwrapping (format pin). */
	char *path = xasprintf("%s/envelope/wrapped-key-v1.json", TEST_DATA_DIR);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	static char json[4096];
	size_t n = fread(json, 1, sizeof json - 1, f);
	fclose(f);
	json[n] = '\0';
	struct kahu_key *u = NULL;
	ck_assert_int_eq(kahu_key_unwrap(json, pass, strlen(pass), &u), 0);
	ck_assert_mem_eq(u->master, fixed_master, 32);
	kahu_key_free(u);
	free(path);
}
END_TEST

START_TEST(test_wrap_wrong_passphrase)
{
	struct kahu_key *k = NULL, *u = NULL;
	char *json = wrap_fixed(&k);
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	ck_assert_int_eq(kahu_key_unwrap(json, "incorrect", 9, &u), KAHU_ECRYPTO);
	ck_assert_ptr_null(u);
	ck_assert(strncmp(kahu_error_last(), "wrong passphrase", 16) == 0);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), kahu_key_id_hex(k, hex)));
	/* a prefix of the right passphrase is wrong too */
	ck_assert_int_eq(kahu_key_unwrap(json, pass, strlen(pass) - 1, &u), KAHU_ECRYPTO);
	kahu_key_free(k);
	free(json);
}
END_TEST

/* What to do with the document's "check" when a field is replaced. */
enum check_mode {
	CHECK_STALE,  /* keep it: the document looks damaged */
	CHECK_DROP,   /* remove it: a document written before "check" existed */
	CHECK_REDO,   /* recompute it: the change looks deliberate */
};

static void recheck(json_t *doc)
{
	uint8_t h[32];
	char hex[65];
	json_object_del(doc, "check");
	char *canon = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
	crypto_generichash(h, sizeof h, (const unsigned char *)canon, strlen(canon), NULL, 0);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	json_object_set_new(doc, "check", json_string(hex));
	free(canon);
}

/* Replace one field of the wrapped-key document and unwrap it. */
static int unwrap_with_mode(const char *json, const char *field, json_t *value,
			    enum check_mode mode)
{
	json_t *doc = json_loads(json, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	if (value)
		json_object_set_new(doc, field, value);
	else
		json_object_del(doc, field);
	if (mode == CHECK_DROP)
		json_object_del(doc, "check");
	else if (mode == CHECK_REDO)
		recheck(doc);
	char *txt = json_dumps(doc, 0);
	json_decref(doc);
	struct kahu_key *u = NULL;
	int rc = kahu_key_unwrap(txt, pass, strlen(pass), &u);
	if (rc == 0)
		kahu_key_free(u);
	else
		ck_assert_ptr_null(u);
	free(txt);
	return rc;
}

/* The structure checks, on a document as an older kahu wrote it (no "check"). */
static int unwrap_with(const char *json, const char *field, json_t *value)
{
	return unwrap_with_mode(json, field, value, CHECK_DROP);
}

static json_t *b64_of(const uint8_t *bin, size_t len)
{
	char s[256];
	sodium_bin2base64(s, sizeof s, bin, len, sodium_base64_VARIANT_ORIGINAL);
	return json_string(s);
}

/* The same base64 field with one bit flipped in its decoded value. */
static json_t *flipped(const char *json, const char *field, size_t byte)
{
	json_t *doc = json_loads(json, 0, NULL);
	uint8_t bin[128];
	size_t len = 0;
	const char *s = json_string_value(json_object_get(doc, field));
	ck_assert_int_eq(sodium_base642bin(bin, sizeof bin, s, strlen(s), NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	bin[byte] ^= 0x01;
	json_decref(doc);
	return b64_of(bin, len);
}

START_TEST(test_wrap_tampered)
{
	struct kahu_key *k = NULL;
	char *json = wrap_fixed(&k);
	uint8_t zero[64] = { 0 };

	/* without "check" (an older document), a change to authenticated material looks
	 * like a wrong passphrase, and the message says that damage cannot be ruled out */
	ck_assert_int_eq(unwrap_with(json, "salt", flipped(json, "salt", 0)), KAHU_ECRYPTO);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "no checksum"));
	ck_assert_int_eq(unwrap_with(json, "nonce", flipped(json, "nonce", 23)), KAHU_ECRYPTO);
	ck_assert_int_eq(unwrap_with(json, "wrapped", flipped(json, "wrapped", 0)), KAHU_ECRYPTO);
	ck_assert_int_eq(unwrap_with(json, "wrapped", flipped(json, "wrapped", 47)), KAHU_ECRYPTO);
	ck_assert_int_eq(unwrap_with(json, "key_id", json_string("00112233445566778899aabbccddeeff")),
			 KAHU_ECRYPTO);
	/* the KDF parameters feed the derivation: changed in bounds, they fail too */
	ck_assert_int_eq(unwrap_with(json, "opslimit", json_integer(2)), KAHU_ECRYPTO);
	ck_assert_int_eq(unwrap_with(json, "memlimit", json_integer(16384)), KAHU_ECRYPTO);

	/* with "check", the same changes are reported as damage, naming what is wrong */
	const char *fields[] = { "salt", "nonce", "wrapped" };
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(unwrap_with_mode(json, fields[i], flipped(json, fields[i], 0),
						  CHECK_STALE), KAHU_EDATA);
		ck_assert_ptr_nonnull(strstr(kahu_error_last(), "damaged"));
		ck_assert_ptr_nonnull(strstr(kahu_error_last(), "checksum"));
		ck_assert_ptr_null(strstr(kahu_error_last(), "passphrase"));
	}
	ck_assert_int_eq(unwrap_with_mode(json, "opslimit", json_integer(2), CHECK_STALE),
			 KAHU_EDATA);
	ck_assert_int_eq(unwrap_with_mode(json, "check", json_string("00"), CHECK_STALE),
			 KAHU_EDATA);
	ck_assert_int_eq(unwrap_with_mode(json, "check", json_integer(1), CHECK_STALE),
			 KAHU_EDATA);
	/* a change with a recomputed "check" is indistinguishable from a wrong passphrase,
	 * and said so without doubt */
	ck_assert_int_eq(unwrap_with_mode(json, "salt", flipped(json, "salt", 0), CHECK_REDO),
			 KAHU_ECRYPTO);
	ck_assert(strncmp(kahu_error_last(), "wrong passphrase", 16) == 0);
	ck_assert_ptr_null(strstr(kahu_error_last(), "checksum"));

	/* structure */
	ck_assert_int_eq(unwrap_with(json, "version", json_integer(2)), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "unsupported version 2"));
	ck_assert_int_eq(unwrap_with(json, "version", json_string("1")), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "version", NULL), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "kdf", json_string("scrypt")), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "kdf", json_string("argon2i13")), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "kdf", NULL), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "opslimit", json_string("1")), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "memlimit", json_real(8192.0)), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "opslimit", NULL), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "salt", b64_of(zero, 15)), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "salt", json_string("!!!!")), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "nonce", b64_of(zero, 12)), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "wrapped", b64_of(zero, 32)), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "wrapped", NULL), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "key_id", json_string("0011")), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "key_id", json_string("zz112233445566778899aabbccddeeff")),
			 KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "key_id", json_integer(5)), KAHU_EDATA);

	struct kahu_key *u = NULL;
	ck_assert_int_eq(kahu_key_unwrap("not json", pass, strlen(pass), &u), KAHU_EDATA);
	ck_assert_int_eq(kahu_key_unwrap("[1,2]", pass, strlen(pass), &u), KAHU_EDATA);
	ck_assert_int_eq(kahu_key_unwrap("{\"version\":1,\"version\":1}", pass, strlen(pass), &u),
			 KAHU_EDATA);
	ck_assert_ptr_null(u);
	kahu_key_free(k);
	free(json);
}
END_TEST

START_TEST(test_wrap_check)
{
	struct kahu_key *k = NULL, *u = NULL;
	char *json = wrap_fixed(&k);
	json_t *doc = json_loads(json, 0, NULL);
	ck_assert(json_is_string(json_object_get(doc, "check")));
	ck_assert_int_eq(kahu_key_wrapped_check(json), 1);

	/* an older document (no "check") is well-formed but unchecked */
	json_object_del(doc, "check");
	char *old = json_dumps(doc, 0);
	ck_assert_int_eq(kahu_key_wrapped_check(old), 0);
	ck_assert_int_eq(kahu_key_unwrap(old, pass, strlen(pass), &u), 0);
	kahu_key_free(u);
	u = NULL;

	/* truncated at every length: damaged, never a wrong passphrase */
	size_t n = strlen(json);
	char *cut = xstrdup(json);
	for (size_t l = 0; l < n - 1; l++) {
		cut[l] = '\0';
		ck_assert_int_eq(kahu_key_wrapped_check(cut), KAHU_EDATA);
		ck_assert_int_eq(kahu_key_unwrap(cut, pass, strlen(pass), &u), KAHU_EDATA);
		ck_assert_ptr_nonnull(strstr(kahu_error_last(), "damaged"));
		cut[l] = json[l];
	}
	/* one bit flipped anywhere: damaged (or, in insignificant white space, intact) */
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			char *t = xstrdup(json);
			t[i] = (char)(t[i] ^ (1 << bit));
			int rc = kahu_key_wrapped_check(t);
			if (rc == 1)
				ck_assert_int_eq(kahu_key_unwrap(t, pass, strlen(pass), &u), 0);
			else
				ck_assert_int_eq(rc, KAHU_EDATA);
			kahu_key_free(u);
			u = NULL;
			free(t);
		}
	}
	free(cut);
	free(old);
	json_decref(doc);
	kahu_key_free(k);
	free(json);
}
END_TEST

START_TEST(test_wrap_bounds)
{
	struct kahu_key *k = NULL;
	char *json = wrap_fixed(&k);

	/* Out of bounds: refused before the KDF runs.  Each of these would take minutes
	 * or more memory than the machine has if Argon2id were started. */
	ck_assert_int_eq(unwrap_with(json, "opslimit", json_integer(17)), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "opslimit 17 is out of bounds"));
	ck_assert_int_eq(unwrap_with(json, "opslimit", json_integer(1000000000)), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "memlimit", json_integer((1LL << 30) + 1)), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "memlimit"));
	ck_assert_int_eq(unwrap_with(json, "memlimit", json_integer(1LL << 45)), KAHU_EDATA);
	/* below the minimum */
	ck_assert_int_eq(unwrap_with(json, "opslimit", json_integer(0)), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "opslimit", json_integer(-1)), KAHU_EDATA);
	ck_assert_int_eq(unwrap_with(json, "memlimit", json_integer(4096)), KAHU_EDATA);

	/* wrapping refuses them too, and an empty passphrase */
	struct kahu_kdf_params p = { .opslimit = 17, .memlimit = 8192 };
	char *out = NULL;
	ck_assert_int_eq(kahu_key_wrap(k, pass, strlen(pass), &p, &out), KAHU_EDATA);
	p.opslimit = 1;
	p.memlimit = (size_t)2 << 30;
	ck_assert_int_eq(kahu_key_wrap(k, pass, strlen(pass), &p, &out), KAHU_EDATA);
	ck_assert_int_eq(kahu_key_wrap(k, "", 0, KAHU_KDF_PARAMS_TEST, &out), KAHU_EUSAGE);
	ck_assert_ptr_null(out);
	/* the production default is within the bounds */
	ck_assert_uint_le(KAHU_KDF_PARAMS_DEFAULT->opslimit, KAHU_KDF_OPSLIMIT_MAX);
	ck_assert_uint_le(KAHU_KDF_PARAMS_DEFAULT->memlimit, KAHU_KDF_MEMLIMIT_MAX);
	ck_assert_uint_ge(KAHU_KDF_PARAMS_DEFAULT->memlimit, (size_t)256 << 20);
	kahu_key_free(k);
	free(json);
}
END_TEST

/* ---- passphrase files ------------------------------------------------------------ */

static int read_pass(const char *content, size_t len, mode_t mode, char **out, size_t *olen)
{
	char *path = tpath("pass");
	unlink(path);
	write_file(path, content, len, mode);
	int rc = kahu_passphrase_read_file(path, out, olen);
	free(path);
	return rc;
}

START_TEST(test_passphrase_file)
{
	char *p = NULL;
	size_t len = 0;
	ck_assert_int_eq(read_pass("secret\n", 7, 0600, &p, &len), 0);
	ck_assert_str_eq(p, "secret");
	ck_assert_uint_eq(len, 6);
	free_secret_str(p);
	ck_assert_int_eq(read_pass("secret", 6, 0400, &p, &len), 0);
	ck_assert_str_eq(p, "secret");
	free_secret_str(p);
	/* only one newline is stripped */
	ck_assert_int_eq(read_pass("secret\n\n", 8, 0600, &p, &len), 0);
	ck_assert_str_eq(p, "secret\n");
	ck_assert_uint_eq(len, 7);
	free_secret_str(p);
	ck_assert_int_eq(read_pass("sec ret \r\n", 10, 0600, &p, NULL), 0);
	ck_assert_str_eq(p, "sec ret ");
	free_secret_str(p);

	p = NULL;
	ck_assert_int_eq(read_pass("secret\n", 7, 0644, &p, &len), KAHU_EPERM);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(),
				     "are too open; the passphrase file must be readable by its "
				     "owner only (chmod 600)"));
	ck_assert_ptr_null(strstr(kahu_error_last(), "secret"));
	ck_assert_int_eq(read_pass("secret\n", 7, 0660, &p, &len), KAHU_EPERM);
	ck_assert_int_eq(read_pass("secret\n", 7, 0640, &p, &len), geteuid() == 0 ? 0 : KAHU_EPERM);
	free_secret_str(p);
	p = NULL;
	ck_assert_int_eq(read_pass("\n", 1, 0600, &p, &len), KAHU_EDATA);
	ck_assert_int_eq(read_pass("", 0, 0600, &p, &len), KAHU_EDATA);
	ck_assert_int_eq(read_pass("se\0cret", 7, 0600, &p, &len), KAHU_EDATA);
	ck_assert_ptr_null(p);
	char *missing = tpath("missing");
	ck_assert_int_eq(kahu_passphrase_read_file(missing, &p, &len), KAHU_ENOTFOUND);
	free(missing);
}
END_TEST

/* A FIFO is refused at once (opening one for reading would wait for a writer), as are
 * directories; the message says what the file is. */
START_TEST(test_not_regular)
{
	char *fifo = tpath("fifo");
	struct kahu_key *k = NULL;
	char *p = NULL;
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(kahu_key_load(fifo, &k), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "FIFO"));
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), fifo));
	ck_assert_int_eq(kahu_passphrase_read_file(fifo, &p, NULL), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "FIFO"));
	ck_assert_int_eq(kahu_key_load(tmpdir, &k), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "directory"));
	ck_assert_int_eq(kahu_key_load("/dev/null", &k), KAHU_EDATA);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "character device"));
	ck_assert_ptr_null(k);
	ck_assert_ptr_null(p);
	free(fifo);
}
END_TEST

static Suite *key_suite(void)
{
	Suite *s = suite_create("key");
	TCase *tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_key_id_pinned);
	tcase_add_test(tc, test_key_generate);
	tcase_add_test(tc, test_subkeys_mac);
	tcase_add_test(tc, test_hash);
	suite_add_tcase(s, tc);

	tc = tcase_create("keyfile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_keyfile_roundtrip);
	tcase_add_test(tc, test_keyfile_no_overwrite);
	tcase_add_loop_test(tc, test_keyfile_mode_refused, 0,
			    (int)(sizeof open_modes / sizeof open_modes[0]));
	tcase_add_test(tc, test_keyfile_mode_accepted);
	tcase_add_test(tc, test_keyfile_root_group_readable);
	tcase_add_test(tc, test_keyfile_bad_content);
	tcase_add_test(tc, test_keyfile_missing);
	tcase_add_test(tc, test_passphrase_file);
	tcase_add_test(tc, test_not_regular);
	suite_add_tcase(s, tc);

	tc = tcase_create("wrap");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_wrap_roundtrip);
	tcase_add_test(tc, test_wrap_fixture);
	tcase_add_test(tc, test_wrap_wrong_passphrase);
	tcase_add_test(tc, test_wrap_tampered);
	tcase_add_test(tc, test_wrap_check);
	tcase_add_test(tc, test_wrap_bounds);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(key_suite)

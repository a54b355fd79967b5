/* kahu — master keys, key files, passphrase wrapping and hashing (FORMAT.md "Keys").
 *
 * A master key is 32 random bytes.  Everything else is derived from it:
 *
 *   key id    BLAKE2b-128 of the master key, keyed with the fixed ASCII string
 *             KAHU_KEY_ID_CONTEXT ("kahu-format-v1-key-identifier", 29 bytes, no NUL).
 *             It names the key in envelopes, manifests and keys/<id>.json; it is not
 *             secret.
 *   subkeys   crypto_kdf_derive_from_key(subkey_id 1, context):
 *             "kahu-enc" (KAHU_SUBKEY_ENC) keys the .kenc secretstream,
 *             "kahu-mac" (KAHU_SUBKEY_MAC) keys the manifest MAC,
 *             "kahu-scp" (KAHU_SUBKEY_SCOPE) keys the manifest's scope digest,
 *             "kahu-rec" (KAHU_SUBKEY_RECORD) keys the MAC of plain records such as a
 *             restore's summary (record.h).
 *
 * Key file: one line, the standard (padded) base64 of the 32 bytes, then a newline;
 * mode 0600; group/other permission bits make kahu refuse the file, like ssh.  Key and
 * passphrase files must be regular files (or symlinks to one): a FIFO, device or
 * directory is refused before anything is read, so kahu never waits on one.
 *
 * Passphrase wrapping (restic's model: several passphrases can wrap one master key):
 * JSON {"version":1,"kdf":"argon2id13","opslimit":N,"memlimit":N,"salt":b64,
 * "nonce":b64,"wrapped":b64,"key_id":hex,"check":hex}, where wrapped =
 * XChaCha20-Poly1305-IETF of the master key under crypto_pwhash(ARGON2ID13, opslimit,
 * memlimit, salt), with the raw 16-byte key id as additional data.  "check" is the
 * unkeyed BLAKE2b-256 of the canonical serialization (keys sorted, compact) of the
 * document without "check": not a security measure (anyone can recompute it), but what
 * tells a damaged file from a wrong passphrase, which the AEAD alone cannot.  Documents
 * without "check" (written before it existed) are still read.  KDF parameters are
 * bounds-checked before the KDF runs, so a hostile file cannot make kahu burn a
 * gigabyte or an hour.
 *
 * Every function that needs libsodium calls kahu_crypto_init() itself. */
#ifndef KAHU_ARCHIVE_KEY_H
#define KAHU_ARCHIVE_KEY_H

#include <stddef.h>
#include <stdint.h>

#define KAHU_KEY_BYTES 32
#define KAHU_KEY_ID_BYTES 16
#define KAHU_KEY_ID_HEX_LEN (2 * KAHU_KEY_ID_BYTES) /* without the NUL */
#define KAHU_KEY_ID_CONTEXT "kahu-format-v1-key-identifier"
#define KAHU_MAC_BYTES 32
#define KAHU_HASH_BYTES 32
#define KAHU_HASH_HEX_LEN (2 * KAHU_HASH_BYTES)

/* crypto_kdf contexts: exactly 8 characters. */
#define KAHU_SUBKEY_ENC "kahu-enc"
#define KAHU_SUBKEY_MAC "kahu-mac"
#define KAHU_SUBKEY_SCOPE "kahu-scp"
#define KAHU_SUBKEY_RECORD "kahu-rec"

/* Allocated with sodium_malloc (guard pages, never swapped when mlock works); release
 * with kahu_key_free, which zeroes it. */
struct kahu_key {
	uint8_t master[KAHU_KEY_BYTES];
	uint8_t id[KAHU_KEY_ID_BYTES];
};

/* sodium_init(), once; KAHU_EINTERNAL if libsodium cannot initialise. */
int kahu_crypto_init(void);

int kahu_key_generate(struct kahu_key **out);
int kahu_key_from_bytes(const uint8_t master[KAHU_KEY_BYTES], struct kahu_key **out);
void kahu_key_free(struct kahu_key *key);
/* Lowercase hex of the key id into out (KAHU_KEY_ID_HEX_LEN + 1 bytes); returns out. */
char *kahu_key_id_hex(const struct kahu_key *key, char out[KAHU_KEY_ID_HEX_LEN + 1]);
char *kahu_key_id_to_hex(const uint8_t id[KAHU_KEY_ID_BYTES], char out[KAHU_KEY_ID_HEX_LEN + 1]);

/* 32-byte subkey for a crypto_kdf context (8 characters, e.g. KAHU_SUBKEY_ENC).
 * The caller zeroes it (sodium_memzero) when done. */
void kahu_key_subkey(const struct kahu_key *key, const char ctx[8], uint8_t out[32]);

/* Manifest MAC: keyed BLAKE2b-256 with the "kahu-mac" subkey. */
void kahu_key_mac(const struct kahu_key *key, const void *data, size_t len,
		  uint8_t out[KAHU_MAC_BYTES]);
/* 0 when `mac` is the MAC of data, else KAHU_ECRYPTO (message set); constant time. */
int kahu_key_mac_verify(const struct kahu_key *key, const void *data, size_t len,
			const uint8_t mac[KAHU_MAC_BYTES]);
/* Constant-time equality of two n-byte buffers: 1 when equal, 0 when not. */
int kahu_ct_equal(const void *a, const void *b, size_t n);

/* Content hashes: unkeyed BLAKE2b-256, lowercase hex (KAHU_HASH_HEX_LEN + 1 bytes). */
char *kahu_key_hash(const void *data, size_t len, char out[KAHU_HASH_HEX_LEN + 1]);
/* BLAKE2b-256 keyed with the subkey for ctx (8 characters), lowercase hex. */
char *kahu_key_keyed_hash(const struct kahu_key *key, const char ctx[8], const void *data,
			  size_t len, char out[KAHU_HASH_HEX_LEN + 1]);
/* The same, incrementally, for streamed objects. */
struct kahu_hash;
struct kahu_hash *kahu_hash_new(void);
void kahu_hash_update(struct kahu_hash *h, const void *data, size_t len);
char *kahu_hash_final_hex(struct kahu_hash *h, char out[KAHU_HASH_HEX_LEN + 1]);
void kahu_hash_free(struct kahu_hash *h);
/* kahu_write_fn adapter: hash what flows through (ud is a struct kahu_hash). */
int kahu_hash_write_cb(void *ud, const void *buf, size_t len);

/* Key files.  save: creates missing parent directories with mode 0700, the file with
 * O_CREAT|O_EXCL and mode 0600 (KAHU_EEXIST when it exists: never overwritten), fsyncs
 * it and its directory.  load: KAHU_ENOTFOUND when missing, KAHU_EPERM when group or
 * others have any permission bit, KAHU_EDATA when it is not base64 of 32 bytes (the
 * content is never quoted). */
int kahu_key_save(const struct kahu_key *key, const char *path);
int kahu_key_load(const char *path, struct kahu_key **out);

/* Argon2id parameters. */
struct kahu_kdf_params {
	unsigned long long opslimit;
	size_t memlimit; /* bytes */
};
/* Accepted on read (and write): anything outside is refused before the KDF runs. */
#define KAHU_KDF_OPSLIMIT_MIN 1ULL
#define KAHU_KDF_OPSLIMIT_MAX 16ULL
#define KAHU_KDF_MEMLIMIT_MIN ((size_t)8192)
#define KAHU_KDF_MEMLIMIT_MAX ((size_t)1 << 30)
/* Production default: libsodium's MODERATE (3 passes, 256 MiB, ~1 s). */
extern const struct kahu_kdf_params kahu_kdf_params_moderate;
/* Minimal parameters, for tests only: fast and weak. */
extern const struct kahu_kdf_params kahu_kdf_params_test;
#define KAHU_KDF_PARAMS_DEFAULT (&kahu_kdf_params_moderate)
#define KAHU_KDF_PARAMS_TEST (&kahu_kdf_params_test)

/* Wrap the master key with a passphrase; p NULL = KAHU_KDF_PARAMS_DEFAULT.  *json_out is
 * a NUL-terminated JSON document (no secrets in it) the caller frees. */
int kahu_key_wrap(const struct kahu_key *key, const char *passphrase, size_t passlen,
		  const struct kahu_kdf_params *p, char **json_out);
/* KAHU_EDATA for a damaged document (kahu_key_wrapped_check), KAHU_ECRYPTO "wrong
 * passphrase" when the wrapped key does not authenticate (for a document without
 * "check" the message adds that damage cannot be ruled out). */
int kahu_key_unwrap(const char *json, const char *passphrase, size_t passlen,
		    struct kahu_key **out);
/* Check a wrapped-key document without the passphrase: JSON, every field's type,
 * encoding and length, KDF bounds, and "check".  1 when intact and checked, 0 when it
 * looks well-formed but carries no "check" (damage cannot be ruled out), KAHU_EDATA
 * with what is wrong ("wrapped key is damaged: …") otherwise. */
int kahu_key_wrapped_check(const char *json);
/* Key id named by a wrapped-key document, without the passphrase. */
int kahu_key_wrapped_id(const char *json, uint8_t id[KAHU_KEY_ID_BYTES]);

/* Read a passphrase file (same permission rule as key files), strip one trailing
 * newline ("\n" or "\r\n").  *out is NUL-terminated, free it with free_secret_str;
 * *lenp (may be NULL) gets its length.  Empty passphrases and NUL bytes are refused. */
int kahu_passphrase_read_file(const char *path, char **out, size_t *lenp);

#endif

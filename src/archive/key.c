/* kahu — master keys, key files, passphrase wrapping and hashing.  See key.h. */
#include "archive/key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "archive/seal.h"
#include "archive/stream.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/mem.h"

/* Base64 of 32 bytes with padding is 44 characters; a key file is that, a newline
 * and perhaps some trailing blanks.  Anything much larger is not a key file. */
#define KEY_FILE_MAX 1024
#define PASSPHRASE_FILE_MAX (64 * 1024)
#define KDF_SALT_BYTES crypto_pwhash_SALTBYTES
#define WRAP_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define WRAPPED_BYTES (KAHU_KEY_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)

const struct kahu_kdf_params kahu_kdf_params_moderate = {
	.opslimit = crypto_pwhash_OPSLIMIT_MODERATE,
	.memlimit = crypto_pwhash_MEMLIMIT_MODERATE,
};
const struct kahu_kdf_params kahu_kdf_params_test = {
	.opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN,
	.memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN,
};

int kahu_crypto_init(void)
{
	/* sodium_init is thread-safe and returns 1 when already initialised. */
	if (sodium_init() < 0)
		return kahu_error_set(KAHU_EINTERNAL, "cannot initialise libsodium");
	return 0;
}

/* ---- keys ---------------------------------------------------------------------- */

static void compute_key_id(const uint8_t master[KAHU_KEY_BYTES], uint8_t id[KAHU_KEY_ID_BYTES])
{
	crypto_generichash(id, KAHU_KEY_ID_BYTES, master, KAHU_KEY_BYTES,
			   (const unsigned char *)KAHU_KEY_ID_CONTEXT, strlen(KAHU_KEY_ID_CONTEXT));
}

static int key_alloc(struct kahu_key **out)
{
	int rc = kahu_crypto_init();
	if (rc < 0)
		return rc;
	struct kahu_key *k = sodium_malloc(sizeof *k);
	if (!k)
		return kahu_error_set(KAHU_ENOMEM, "cannot allocate protected memory for a key");
	*out = k;
	return 0;
}

int kahu_key_generate(struct kahu_key **out)
{
	struct kahu_key *k = NULL;
	int rc = key_alloc(&k);
	if (rc < 0)
		return rc;
	randombytes_buf(k->master, sizeof k->master);
	compute_key_id(k->master, k->id);
	*out = k;
	return 0;
}

int kahu_key_from_bytes(const uint8_t master[KAHU_KEY_BYTES], struct kahu_key **out)
{
	struct kahu_key *k = NULL;
	int rc = key_alloc(&k);
	if (rc < 0)
		return rc;
	memcpy(k->master, master, KAHU_KEY_BYTES);
	compute_key_id(k->master, k->id);
	*out = k;
	return 0;
}

void kahu_key_free(struct kahu_key *key)
{
	if (key)
		sodium_free(key); /* zeroes before unmapping */
}

char *kahu_key_id_to_hex(const uint8_t id[KAHU_KEY_ID_BYTES], char out[KAHU_KEY_ID_HEX_LEN + 1])
{
	return sodium_bin2hex(out, KAHU_KEY_ID_HEX_LEN + 1, id, KAHU_KEY_ID_BYTES);
}

char *kahu_key_id_hex(const struct kahu_key *key, char out[KAHU_KEY_ID_HEX_LEN + 1])
{
	return kahu_key_id_to_hex(key->id, out);
}

void kahu_key_subkey(const struct kahu_key *key, const char ctx[8], uint8_t out[32])
{
	crypto_kdf_derive_from_key(out, 32, 1, ctx, key->master);
}

void kahu_key_mac(const struct kahu_key *key, const void *data, size_t len,
		  uint8_t out[KAHU_MAC_BYTES])
{
	uint8_t sub[32];
	kahu_key_subkey(key, KAHU_SUBKEY_MAC, sub);
	crypto_generichash(out, KAHU_MAC_BYTES, data, len, sub, sizeof sub);
	sodium_memzero(sub, sizeof sub);
}

int kahu_ct_equal(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0;
}

int kahu_key_mac_verify(const struct kahu_key *key, const void *data, size_t len,
			const uint8_t mac[KAHU_MAC_BYTES])
{
	uint8_t want[KAHU_MAC_BYTES];
	kahu_key_mac(key, data, len, want);
	int ok = kahu_ct_equal(want, mac, KAHU_MAC_BYTES);
	sodium_memzero(want, sizeof want);
	if (!ok)
		return kahu_error_set(KAHU_ECRYPTO,
				      "MAC verification failed (forged or tampered data, or another key)");
	return 0;
}

/* ---- hashing ------------------------------------------------------------------- */

struct kahu_hash {
	crypto_generichash_state st; /* libsodium wants it 64-byte aligned */
};

char *kahu_key_hash(const void *data, size_t len, char out[KAHU_HASH_HEX_LEN + 1])
{
	uint8_t h[KAHU_HASH_BYTES];
	crypto_generichash(h, sizeof h, data, len, NULL, 0);
	return sodium_bin2hex(out, KAHU_HASH_HEX_LEN + 1, h, sizeof h);
}

char *kahu_key_keyed_hash(const struct kahu_key *key, const char ctx[8], const void *data,
			  size_t len, char out[KAHU_HASH_HEX_LEN + 1])
{
	uint8_t sub[32], h[KAHU_HASH_BYTES];
	kahu_key_subkey(key, ctx, sub);
	crypto_generichash(h, sizeof h, data, len, sub, sizeof sub);
	sodium_memzero(sub, sizeof sub);
	return sodium_bin2hex(out, KAHU_HASH_HEX_LEN + 1, h, sizeof h);
}

struct kahu_hash *kahu_hash_new(void)
{
	size_t sz = (sizeof(struct kahu_hash) + 63) & ~(size_t)63;
	struct kahu_hash *h = aligned_alloc(64, sz);
	if (!h) {
		/* like xmalloc: running out of memory is not recoverable here */
		fprintf(stderr, "kahu: out of memory (allocating %zu bytes)\n", sz);
		abort();
	}
	crypto_generichash_init(&h->st, NULL, 0, KAHU_HASH_BYTES);
	return h;
}

void kahu_hash_update(struct kahu_hash *h, const void *data, size_t len)
{
	crypto_generichash_update(&h->st, data, len);
}

char *kahu_hash_final_hex(struct kahu_hash *h, char out[KAHU_HASH_HEX_LEN + 1])
{
	uint8_t d[KAHU_HASH_BYTES];
	crypto_generichash_final(&h->st, d, sizeof d);
	return sodium_bin2hex(out, KAHU_HASH_HEX_LEN + 1, d, sizeof d);
}

void kahu_hash_free(struct kahu_hash *h)
{
	free(h);
}

int kahu_hash_write_cb(void *ud, const void *buf, size_t len)
{
	kahu_hash_update(ud, buf, len);
	return 0;
}

/* ---- private files ------------------------------------------------------------- */

/* mkdir -p of the directories above path, new ones with mode 0700. */
static int make_parent_dirs(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = kahu_error_set(KAHU_EIO, "cannot create directory '%s': %s", p,
					    strerror(errno));
			break;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

static int fsync_parent_dir(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == dir) {
		dir[1] = '\0';
	} else {
		*slash = '\0';
	}
	int rc = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = kahu_error_set(KAHU_EIO, "cannot sync directory '%s': %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int kahu_key_save(const struct kahu_key *key, const char *path)
{
	char line[sodium_base64_ENCODED_LEN(KAHU_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL) + 1];
	int rc = make_parent_dirs(path);
	if (rc < 0)
		return rc;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return kahu_error_set(KAHU_EEXIST,
					      "key file '%s' already exists; refusing to overwrite it",
					      path);
		return kahu_error_set(errno == ENOSPC ? KAHU_ENOSPC : KAHU_EIO,
				      "cannot create key file '%s': %s", path, strerror(errno));
	}
	sodium_bin2base64(line, sizeof line, key->master, KAHU_KEY_BYTES,
			  sodium_base64_VARIANT_ORIGINAL);
	size_t n = strlen(line);
	line[n++] = '\n';
	if (kahu_write_all(fd, line, n) < 0 || fsync(fd) < 0) {
		rc = kahu_error_set(errno == ENOSPC ? KAHU_ENOSPC : KAHU_EIO,
				    "cannot write key file '%s': %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	if (close(fd) < 0) {
		rc = kahu_error_set(KAHU_EIO, "cannot write key file '%s': %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	rc = fsync_parent_dir(path);
out:
	sodium_memzero(line, sizeof line);
	return rc;
}

int kahu_key_load(const char *path, struct kahu_key **out)
{
	char buf[KEY_FILE_MAX];
	uint8_t bin[KEY_FILE_MAX];
	size_t len = 0, binlen = 0;
	const char *end = NULL;
	struct kahu_key *k = NULL;

	int rc = kahu_crypto_init();
	if (rc < 0)
		return rc;
	rc = kahu_read_private(path, "key file", buf, sizeof buf, &len);
	if (rc < 0)
		goto out;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		len--;
	/* The content is a secret: messages describe it, never quote it. */
	if (len == 0) {
		rc = kahu_error_set(KAHU_EDATA, "key file '%s' is empty", path);
		goto out;
	}
	if (sodium_base642bin(bin, sizeof bin, buf, len, NULL, &binlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != buf + len) {
		rc = kahu_error_set(KAHU_EDATA,
				    "key file '%s' is not valid base64 (expected one line of %d "
				    "base64 characters)",
				    path, (int)sodium_base64_ENCODED_LEN(KAHU_KEY_BYTES,
									 sodium_base64_VARIANT_ORIGINAL) - 1);
		goto out;
	}
	if (binlen != KAHU_KEY_BYTES) {
		rc = kahu_error_set(KAHU_EDATA,
				    "key file '%s' holds %zu bytes; a kahu key is %d bytes", path,
				    binlen, KAHU_KEY_BYTES);
		goto out;
	}
	rc = kahu_key_from_bytes(bin, &k);
	if (rc < 0)
		goto out;
	*out = k;
out:
	sodium_memzero(buf, sizeof buf);
	sodium_memzero(bin, sizeof bin);
	return rc;
}

/* ---- passphrase wrapping ------------------------------------------------------- */

static int check_kdf_params(unsigned long long ops, unsigned long long mem)
{
	if (ops < KAHU_KDF_OPSLIMIT_MIN || ops > KAHU_KDF_OPSLIMIT_MAX)
		return kahu_error_set(KAHU_EDATA, "KDF opslimit %llu is out of bounds (%llu..%llu)",
				      ops, KAHU_KDF_OPSLIMIT_MIN, KAHU_KDF_OPSLIMIT_MAX);
	if (mem < KAHU_KDF_MEMLIMIT_MIN || mem > KAHU_KDF_MEMLIMIT_MAX)
		return kahu_error_set(KAHU_EDATA,
				      "KDF memlimit %llu is out of bounds (%zu..%zu bytes)", mem,
				      KAHU_KDF_MEMLIMIT_MIN, KAHU_KDF_MEMLIMIT_MAX);
	return 0;
}

static int derive_wrap_key(uint8_t out[crypto_aead_xchacha20poly1305_ietf_KEYBYTES],
			   const char *pass, size_t passlen, const uint8_t salt[KDF_SALT_BYTES],
			   unsigned long long ops, size_t mem)
{
	if (crypto_pwhash(out, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, pass, passlen, salt,
			  ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return kahu_error_set(KAHU_ENOMEM,
				      "Argon2id key derivation failed (cannot allocate %zu bytes?)",
				      mem);
	return 0;
}

static char *b64(const uint8_t *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = xmalloc(n);
	return sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
}

/* The "check" of a wrapped-key document: BLAKE2b-256 of its canonical serialization
 * without "check". */
static void wrapped_checksum(const json_t *doc, char out[KAHU_HASH_HEX_LEN + 1])
{
	char *canon = seal_canonical_without(doc, "check");
	kahu_key_hash(canon, strlen(canon), out);
	free(canon);
}

int kahu_key_wrap(const struct kahu_key *key, const char *passphrase, size_t passlen,
		  const struct kahu_kdf_params *p, char **json_out)
{
	uint8_t salt[KDF_SALT_BYTES], nonce[WRAP_NONCE_BYTES], wrapped[WRAPPED_BYTES];
	uint8_t wk[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	char idhex[KAHU_KEY_ID_HEX_LEN + 1], check[KAHU_HASH_HEX_LEN + 1];
	char *s_salt = NULL, *s_nonce = NULL, *s_wrapped = NULL;
	json_t *doc = NULL;

	if (!p)
		p = KAHU_KDF_PARAMS_DEFAULT;
	int rc = kahu_crypto_init();
	if (rc < 0)
		return rc;
	if (passlen == 0)
		return kahu_error_set(KAHU_EUSAGE, "the passphrase is empty");
	if ((rc = check_kdf_params(p->opslimit, p->memlimit)) < 0)
		return rc;
	randombytes_buf(salt, sizeof salt);
	randombytes_buf(nonce, sizeof nonce);
	if ((rc = derive_wrap_key(wk, passphrase, passlen, salt, p->opslimit, p->memlimit)) < 0)
		goto out;
	crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped, NULL, key->master, KAHU_KEY_BYTES,
						   key->id, KAHU_KEY_ID_BYTES, NULL, nonce, wk);
	s_salt = b64(salt, sizeof salt);
	s_nonce = b64(nonce, sizeof nonce);
	s_wrapped = b64(wrapped, sizeof wrapped);
	doc = json_pack("{s:i, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "version", 1, "kdf",
			"argon2id13", "opslimit", (json_int_t)p->opslimit, "memlimit",
			(json_int_t)p->memlimit, "salt", s_salt, "nonce", s_nonce, "wrapped",
			s_wrapped, "key_id", kahu_key_id_hex(key, idhex));
	if (doc) {
		wrapped_checksum(doc, check);
		json_object_set_new(doc, "check", json_string(check));
	}
	char *txt = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	if (!txt) {
		rc = kahu_error_set(KAHU_EINTERNAL, "cannot build the wrapped-key JSON");
		goto out;
	}
	*json_out = txt;
out:
	sodium_memzero(wk, sizeof wk);
	json_decref(doc);
	free(s_salt);
	free(s_nonce);
	free(s_wrapped);
	return rc;
}

/* Decode a base64 JSON string field of exactly `want` bytes. */
static int get_b64(json_t *doc, const char *name, uint8_t *out, size_t want)
{
	json_t *v = json_object_get(doc, name);
	if (!json_is_string(v))
		return kahu_error_set(KAHU_EDATA, "wrapped key is damaged: \"%s\" is missing or "
				      "not a string", name);
	const char *s = json_string_value(v);
	size_t slen = json_string_length(v), binlen = 0;
	const char *end = NULL;
	uint8_t tmp[256];
	int bad = sodium_base642bin(tmp, sizeof tmp, s, slen, NULL, &binlen, &end,
				    sodium_base64_VARIANT_ORIGINAL) != 0 ||
		  end != s + slen || binlen != want;
	if (!bad)
		memcpy(out, tmp, want);
	sodium_memzero(tmp, sizeof tmp);
	if (bad)
		return kahu_error_set(KAHU_EDATA, "wrapped key is damaged: \"%s\" is not base64 "
				      "of %zu bytes", name, want);
	return 0;
}

static int get_key_id(json_t *doc, uint8_t id[KAHU_KEY_ID_BYTES])
{
	json_t *v = json_object_get(doc, "key_id");
	size_t binlen = 0;
	const char *end = NULL;
	if (!json_is_string(v) || json_string_length(v) != KAHU_KEY_ID_HEX_LEN ||
	    sodium_hex2bin(id, KAHU_KEY_ID_BYTES, json_string_value(v), KAHU_KEY_ID_HEX_LEN, NULL,
			   &binlen, &end) != 0 ||
	    binlen != KAHU_KEY_ID_BYTES)
		return kahu_error_set(KAHU_EDATA, "wrapped key is damaged: \"key_id\" is missing "
				      "or not %d hex digits", KAHU_KEY_ID_HEX_LEN);
	return 0;
}

static int parse_doc(const char *json, json_t **docp)
{
	json_error_t jerr;
	json_t *doc = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return kahu_error_set(KAHU_EDATA, "wrapped key is damaged: not valid JSON: %s "
				      "(line %d, column %d)", jerr.text, jerr.line, jerr.column);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return kahu_error_set(KAHU_EDATA, "wrapped key is damaged: not a JSON object");
	}
	*docp = doc;
	return 0;
}

int kahu_key_wrapped_id(const char *json, uint8_t id[KAHU_KEY_ID_BYTES])
{
	json_t *doc;
	int rc = parse_doc(json, &doc);
	if (rc < 0)
		return rc;
	rc = get_key_id(doc, id);
	json_decref(doc);
	return rc;
}

/* A wrapped-key document, checked and decoded (everything but the passphrase's part). */
struct wrapped_doc {
	uint8_t salt[KDF_SALT_BYTES], nonce[WRAP_NONCE_BYTES], wrapped[WRAPPED_BYTES];
	uint8_t id[KAHU_KEY_ID_BYTES];
	unsigned long long ops, mem;
	int checked; /* carries a "check" that matches */
};

static int parse_wrapped(const char *json, struct wrapped_doc *w)
{
	json_t *doc = NULL;
	int rc;

	memset(w, 0, sizeof *w);
	if ((rc = parse_doc(json, &doc)) < 0)
		return rc;
	/* The checksum first: when it does not match, the file is damaged, whatever the
	 * other fields look like. */
	json_t *chk = json_object_get(doc, "check");
	if (chk) {
		char want[KAHU_HASH_HEX_LEN + 1];
		if (!json_is_string(chk) || json_string_length(chk) != KAHU_HASH_HEX_LEN) {
			rc = kahu_error_set(KAHU_EDATA, "wrapped key is damaged: \"check\" is not "
					    "%d hex digits", KAHU_HASH_HEX_LEN);
			goto out;
		}
		wrapped_checksum(doc, want);
		if (strcmp(want, json_string_value(chk)) != 0) {
			rc = kahu_error_set(KAHU_EDATA, "wrapped key is damaged: its contents do "
					    "not match its checksum (\"check\")");
			goto out;
		}
		w->checked = 1;
	} else {
		/* Written before "check" existed: exactly the known members.  Anything else
		 * is most likely a damaged "check". */
		static const char *const known[] = { "version", "kdf", "opslimit", "memlimit",
						     "salt", "nonce", "wrapped", "key_id" };
		const char *k;
		json_t *v;
		json_object_foreach(doc, k, v) {
			size_t i = 0;
			while (i < sizeof known / sizeof *known && strcmp(k, known[i]) != 0)
				i++;
			if (i == sizeof known / sizeof *known) {
				size_t n = strlen(k), p = 0;
				while (p < n && k[p] > ' ' && k[p] < 0x7f && k[p] != '"')
					p++;
				rc = kahu_error_set(KAHU_EDATA, "wrapped key is damaged: it has no "
						    "\"check\" but an unknown member \"%s\"",
						    p == n && n <= 32 ? k : "(unprintable)");
				goto out;
			}
		}
	}
	json_t *ver = json_object_get(doc, "version");
	json_t *kdf = json_object_get(doc, "kdf");
	json_t *ops = json_object_get(doc, "opslimit");
	json_t *mem = json_object_get(doc, "memlimit");
	if (!json_is_integer(ver)) {
		rc = kahu_error_set(KAHU_EDATA, "wrapped key is damaged: \"version\" is missing "
				    "or not an integer");
		goto out;
	}
	if (json_integer_value(ver) != 1) {
		rc = kahu_error_set(KAHU_EDATA, "wrapped key: unsupported version %lld (this kahu "
				    "reads version 1)", (long long)json_integer_value(ver));
		goto out;
	}
	if (!json_is_string(kdf) || strcmp(json_string_value(kdf), "argon2id13") != 0) {
		rc = kahu_error_set(KAHU_EDATA, "wrapped key: unsupported or missing \"kdf\" "
				    "(only argon2id13 is known)");
		goto out;
	}
	if (!json_is_integer(ops) || !json_is_integer(mem) || json_integer_value(ops) < 0 ||
	    json_integer_value(mem) < 0) {
		rc = kahu_error_set(KAHU_EDATA, "wrapped key is damaged: \"opslimit\"/\"memlimit\" "
				    "missing or not integers");
		goto out;
	}
	w->ops = (unsigned long long)json_integer_value(ops);
	w->mem = (unsigned long long)json_integer_value(mem);
	/* Bounds first: a hostile document must not get to run the KDF. */
	if ((rc = check_kdf_params(w->ops, w->mem)) < 0) {
		kahu_error_wrap(rc, "wrapped key");
		goto out;
	}
	if ((rc = get_b64(doc, "salt", w->salt, sizeof w->salt)) < 0 ||
	    (rc = get_b64(doc, "nonce", w->nonce, sizeof w->nonce)) < 0 ||
	    (rc = get_b64(doc, "wrapped", w->wrapped, sizeof w->wrapped)) < 0 ||
	    (rc = get_key_id(doc, w->id)) < 0)
		goto out;
	rc = w->checked;
out:
	json_decref(doc);
	if (rc < 0)
		sodium_memzero(w, sizeof *w);
	return rc;
}

int kahu_key_wrapped_check(const char *json)
{
	struct wrapped_doc w;
	int rc = parse_wrapped(json, &w);
	sodium_memzero(&w, sizeof w);
	return rc;
}

int kahu_key_unwrap(const char *json, const char *passphrase, size_t passlen,
		    struct kahu_key **out)
{
	struct wrapped_doc w;
	uint8_t wk[crypto_aead_xchacha20poly1305_ietf_KEYBYTES], master[KAHU_KEY_BYTES];
	char idhex[KAHU_KEY_ID_HEX_LEN + 1];
	struct kahu_key *k = NULL;

	int rc = kahu_crypto_init();
	if (rc < 0)
		return rc;
	if ((rc = parse_wrapped(json, &w)) < 0)
		return rc;
	if ((rc = derive_wrap_key(wk, passphrase, passlen, w.salt, w.ops, (size_t)w.mem)) < 0)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(master, NULL, NULL, w.wrapped,
						       sizeof w.wrapped, w.id, sizeof w.id,
						       w.nonce, wk) != 0) {
		kahu_key_id_to_hex(w.id, idhex);
		if (w.checked)
			rc = kahu_error_set(KAHU_ECRYPTO, "wrong passphrase for key %s", idhex);
		else
			rc = kahu_error_set(KAHU_ECRYPTO, "wrong passphrase for key %s (or the wrapped "
					    "key is damaged: it carries no checksum that would tell)",
					    idhex);
		goto out;
	}
	if ((rc = kahu_key_from_bytes(master, &k)) < 0)
		goto out;
	if (!kahu_ct_equal(k->id, w.id, sizeof w.id)) {
		/* Only someone who knows the passphrase can get here. */
		rc = kahu_error_set(KAHU_EDATA, "wrapped key names key id %s but holds another key",
				    kahu_key_id_to_hex(w.id, idhex));
		goto out;
	}
	*out = k;
	k = NULL;
out:
	kahu_key_free(k);
	sodium_memzero(wk, sizeof wk);
	sodium_memzero(master, sizeof master);
	sodium_memzero(&w, sizeof w);
	return rc;
}

int kahu_passphrase_read_file(const char *path, char **out, size_t *lenp)
{
	char *buf = xmalloc(PASSPHRASE_FILE_MAX + 1);
	size_t len = 0;
	int rc = kahu_read_private(path, "passphrase file", buf, PASSPHRASE_FILE_MAX + 1, &len);
	if (rc < 0)
		goto fail;
	if (len && buf[len - 1] == '\n') {
		len--;
		if (len && buf[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		rc = kahu_error_set(KAHU_EDATA, "passphrase file '%s' is empty", path);
		goto fail;
	}
	if (memchr(buf, '\0', len)) {
		rc = kahu_error_set(KAHU_EDATA, "passphrase file '%s' contains a NUL byte", path);
		goto fail;
	}
	buf[len] = '\0';
	*out = buf;
	if (lenp)
		*lenp = len;
	return 0;
fail:
	free_secret(buf, PASSPHRASE_FILE_MAX + 1);
	return rc;
}

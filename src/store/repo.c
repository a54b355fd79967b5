/* kahu — repositories: kahu-repo.json, key resolution, passphrases, the catalog of
 * backups, locks (see repo.h). */
#include "store/repo.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPO_INFO_MAX_SIZE 65536
#define REPO_WRAPPED_MAX_SIZE 65536
#define REPO_MAX_PASSPHRASES 1000

struct repo {
	struct kahu_config *own_cfg;    /* loaded here, or NULL when borrowed */
	const struct kahu_config *cfg;
	const struct kahu_location *loc;
	struct kahu_store *st;
	struct repo_info info;
	char *key_file;                 /* from the options or the environment */
	enum repo_key_source key_file_src;
	char *pass_file;
	enum repo_key_source pass_file_src;
	int allow_generate;
	struct kahu_key *key;
	struct repo_key_origin origin;
	char *origin_path;
	char *origin_object;
};

/* ---- time ---- */

static void fmt_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t repo_parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *p;
	if (!s || !(p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		if (!isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) || p[3] != ':' ||
		    !isdigit((unsigned char)p[4]) || !isdigit((unsigned char)p[5]))
			return -1;
		int hh = (p[1] - '0') * 10 + (p[2] - '0');
		int mm = (p[4] - '0') * 10 + (p[5] - '0');
		if (hh > 23 || mm > 59)
			return -1;
		off = sign * (hh * 3600 + mm * 60);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	return (int64_t)timegm(&tm) - off;
}

/* A manifest time: RFC 3339 string or seconds since the epoch. */
static int64_t json_time(json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v)) {
		int64_t t = repo_parse_time(json_string_value(v));
		return t < 0 ? 0 : t;
	}
	return 0;
}

/* ---- open ---- */

static char *opt_or_env(const char *opt, const char *env, enum repo_key_source opt_src,
			enum repo_key_source env_src, enum repo_key_source *src)
{
	if (opt && *opt) {
		*src = opt_src;
		return xstrdup(opt);
	}
	const char *e = getenv(env);
	if (e && *e) {
		*src = env_src;
		return xstrdup(e);
	}
	*src = REPO_KEY_NONE;
	return NULL;
}

static int parse_repo_info(struct repo *r, const struct kbuf *b)
{
	json_error_t jerr;
	const char *where = r->loc->name;
	json_t *doc = json_loadb(b->data, b->len, 0, &jerr);
	int rc = 0;
	if (!json_is_object(doc)) {
		rc = kahu_error_set(KAHU_EDATA, "%s on location %s is not a JSON object (line %d: %s)",
				    REPO_INFO_KEY, where, jerr.line, doc ? "not an object" : jerr.text);
		goto out;
	}
	json_t *v = json_object_get(doc, "version");
	if (!json_is_integer(v)) {
		rc = kahu_error_set(KAHU_EDATA, "%s on location %s has no \"version\"", REPO_INFO_KEY,
				    where);
		goto out;
	}
	if (json_integer_value(v) != REPO_FORMAT_VERSION) {
		rc = kahu_error_set(KAHU_EDATA, "location %s holds a repository of format version "
				    "%" JSON_INTEGER_FORMAT "; this kahu reads version %d",
				    where, json_integer_value(v), REPO_FORMAT_VERSION);
		goto out;
	}
	r->info.version = REPO_FORMAT_VERSION;
	v = json_object_get(doc, "keyId");
	if (json_is_string(v)) {
		const char *id = json_string_value(v);
		size_t n = strlen(id);
		if (n != KAHU_KEY_ID_HEX_LEN || strspn(id, "0123456789abcdef") != n) {
			rc = kahu_error_set(KAHU_EDATA, "%s on location %s: \"keyId\" is not a key id",
					    REPO_INFO_KEY, where);
			goto out;
		}
		memcpy(r->info.key_id, id, n + 1);
	} else if (v && !json_is_null(v)) {
		rc = kahu_error_set(KAHU_EDATA, "%s on location %s: \"keyId\" is not a string",
				    REPO_INFO_KEY, where);
		goto out;
	}
	r->info.created = json_time(json_object_get(doc, "created"));
	r->info.kahu_version = xstrdup(json_string_value(json_object_get(doc, "kahuVersion")));
	r->info.exists = 1;
out:
	json_decref(doc);
	return rc;
}

static int read_repo_info(struct repo *r)
{
	struct kbuf b = KBUF_INIT;
	int rc = store_read_small(r->st, REPO_INFO_KEY, REPO_INFO_MAX_SIZE, &b);
	if (rc == KAHU_ENOTFOUND) {
		kahu_error_clear();
		rc = 0;
	} else if (rc == 0) {
		rc = parse_repo_info(r, &b);
	} else {
		kahu_error_wrap(rc, "location %s", r->loc->name);
	}
	kbuf_free(&b);
	return rc;
}

int repo_open(const struct repo_opts *o, struct repo **out)
{
	struct repo *r = xcalloc(1, sizeof *r);
	int rc;

	*out = NULL;
	r->st = o->store;
	if (o->config) {
		r->cfg = o->config;
	} else {
		if ((rc = config_load(o->config_path, &r->own_cfg)) < 0)
			goto fail;
		r->cfg = r->own_cfg;
	}
	if ((rc = config_location(r->cfg, o->location, &r->loc)) < 0)
		goto fail;
	if (!r->st &&
	    (rc = store_open_builtin(r->loc->provider, r->loc->kv, r->loc->nkv, &r->st)) < 0) {
		kahu_error_wrap(rc, "location %s (provider %s)", r->loc->name, r->loc->provider);
		goto fail;
	}
	r->key_file = opt_or_env(o->key_file, KAHU_ENV_KEY_FILE, REPO_KEY_FLAG, REPO_KEY_ENV,
				 &r->key_file_src);
	r->pass_file = opt_or_env(o->passphrase_file, KAHU_ENV_PASSPHRASE_FILE,
				  REPO_KEY_PASSPHRASE_FLAG, REPO_KEY_PASSPHRASE_ENV,
				  &r->pass_file_src);
	r->allow_generate = o->allow_key_generate;
	if ((rc = read_repo_info(r)) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	repo_close(r);
	return rc;
}

void repo_close(struct repo *r)
{
	if (!r)
		return;
	kahu_key_free(r->key);
	store_close(r->st);
	config_free(r->own_cfg);
	free(r->info.kahu_version);
	free(r->key_file);
	free(r->pass_file);
	free(r->origin_path);
	free(r->origin_object);
	free(r);
}

struct kahu_store *repo_store(struct repo *r) { return r->st; }
const struct kahu_location *repo_location(const struct repo *r) { return r->loc; }
const struct kahu_config *repo_config(const struct repo *r) { return r->cfg; }
const struct repo_info *repo_get_info(const struct repo *r) { return &r->info; }

int repo_check_writable(const struct repo *r)
{
	if (r->loc->access == LOCATION_READ_ONLY)
		return kahu_error_set(KAHU_EPERM, "location %s is read-only (\"access\": \"ReadOnly\" "
				      "in %s)", r->loc->name, r->cfg->path);
	return 0;
}

/* ---- kahu-repo.json ---- */

static int check_key_matches(struct repo *r, const struct kahu_key *key, const char *in_use)
{
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	if (!r->info.exists)
		return 0;
	if (!key) {
		if (r->info.key_id[0])
			return kahu_error_set(KAHU_ECRYPTO, "the backups on location %s are encrypted "
					      "with key %s; they cannot be written without it",
					      r->loc->name, r->info.key_id);
		return 0;
	}
	kahu_key_id_hex(key, hex);
	if (!r->info.key_id[0])
		return kahu_error_set(KAHU_ECRYPTO, "the backups on location %s are not encrypted; "
				      "the key in use (%s) is %s", r->loc->name, in_use, hex);
	if (strcmp(hex, r->info.key_id) != 0)
		return kahu_error_set(KAHU_ECRYPTO, "the backups on location %s are encrypted with "
				      "key %s; the key in use (%s) is %s: another key, or a "
				      "damaged copy of the key file", r->loc->name,
				      r->info.key_id, in_use, hex);
	return 0;
}

int repo_init_if_needed(struct repo *r, const struct kahu_key *key)
{
	char hex[KAHU_KEY_ID_HEX_LEN + 1], now[32];
	int rc;

	if ((rc = repo_check_writable(r)) < 0)
		return rc;
	if (!r->info.exists) {
		fmt_time((int64_t)time(NULL), now);
		json_t *doc = json_pack("{s:s, s:i, s:o, s:s, s:s}", "kind", "KahuRepository",
					"version", REPO_FORMAT_VERSION, "keyId",
					key ? json_string(kahu_key_id_hex(key, hex)) : json_null(),
					"created", now, "kahuVersion", PACKAGE_VERSION);
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(doc);
		rc = store_write_small_ex(r->st, REPO_INFO_KEY, KAHU_PUT_EXCLUSIVE, text,
					  strlen(text));
		free(text);
		if (rc == 0) {
			r->info.exists = 1;
			r->info.version = REPO_FORMAT_VERSION;
			if (key)
				memcpy(r->info.key_id, hex, sizeof hex);
			r->info.created = repo_parse_time(now);
			free(r->info.kahu_version);
			r->info.kahu_version = xstrdup(PACKAGE_VERSION);
			log_info("initialised the repository on location %s", r->loc->name);
			return 0;
		}
		if (rc != KAHU_EEXIST)
			return kahu_error_wrap(rc, "location %s: cannot write %s", r->loc->name,
					       REPO_INFO_KEY);
		/* Another run was first: judge what it wrote. */
		kahu_error_clear();
		if ((rc = read_repo_info(r)) < 0)
			return rc;
	}
	char *desc = r->key == key ? repo_key_origin_describe(r) : xstrdup("given");
	rc = check_key_matches(r, key, desc);
	free(desc);
	return rc;
}

/* ---- keys ---- */

const char *repo_key_source_name(enum repo_key_source s)
{
	switch (s) {
	case REPO_KEY_FLAG: return "key-file";
	case REPO_KEY_ENV: return "KAHU_KEY_FILE";
	case REPO_KEY_PASSPHRASE_FLAG: return "passphrase-file";
	case REPO_KEY_PASSPHRASE_ENV: return "KAHU_PASSPHRASE_FILE";
	case REPO_KEY_LOCATION: return "location";
	case REPO_KEY_DEFAULT: return "default";
	case REPO_KEY_GENERATED: return "generated";
	default: return "none";
	}
}

const struct repo_key_origin *repo_key_origin(const struct repo *r) { return &r->origin; }

char *repo_key_origin_describe(const struct repo *r)
{
	const char *p = r->origin.path ? r->origin.path : "?";
	switch (r->origin.source) {
	case REPO_KEY_FLAG:
		return xasprintf("--key-file %s", p);
	case REPO_KEY_ENV:
		return xasprintf("$KAHU_KEY_FILE (%s)", p);
	case REPO_KEY_PASSPHRASE_FLAG:
	case REPO_KEY_PASSPHRASE_ENV:
		return xasprintf("passphrase from %s %s via %s on location %s",
				 r->origin.source == REPO_KEY_PASSPHRASE_FLAG ? "--passphrase-file" :
				 "$KAHU_PASSPHRASE_FILE", p,
				 r->origin.object ? r->origin.object : "?", r->loc->name);
	case REPO_KEY_LOCATION:
		return xasprintf("key file of location %s (%s)", r->loc->name, p);
	case REPO_KEY_DEFAULT:
		return xasprintf("default key %s", p);
	case REPO_KEY_GENERATED:
		return xasprintf("new key %s", p);
	default:
		return xstrdup("no key");
	}
}

static void set_origin(struct repo *r, enum repo_key_source src, const char *path,
		       const char *object)
{
	free(r->origin_path);
	free(r->origin_object);
	r->origin_path = xstrdup(path);
	r->origin_object = xstrdup(object);
	r->origin.source = src;
	r->origin.path = r->origin_path;
	r->origin.object = r->origin_object;
}

struct wrapped_list {
	const char *want_id;  /* hex, or "" for any */
	struct strv keys;
};

static int collect_wrapped(void *ud, const char *key, const struct store_stat *st)
{
	struct wrapped_list *wl = ud;
	const char *base = key + strlen(REPO_KEYS_PREFIX);
	size_t n = strlen(base);
	(void)st;
	if (strchr(base, '/') || n < 5 || strcmp(base + n - 5, ".json") != 0)
		return 0;
	if (wl->want_id[0] && strncmp(base, wl->want_id, KAHU_KEY_ID_HEX_LEN) != 0)
		return 0;
	strv_push(&wl->keys, key);
	return 0;
}

/* Try the passphrase on every wrapped copy of the repository's key.  A copy that is
 * damaged (kahu_key_wrapped_check) is named with what is wrong, so that a damaged file
 * is never reported as a wrong passphrase. */
static int key_from_passphrase(struct repo *r, struct kahu_key **out)
{
	const char *how = r->pass_file_src == REPO_KEY_PASSPHRASE_FLAG ? "--passphrase-file" :
			  "$KAHU_PASSPHRASE_FILE";
	struct wrapped_list wl = { .want_id = r->info.key_id, .keys = STRV_INIT };
	struct kbuf doc = KBUF_INIT;
	char *pass = NULL, *damage = NULL, *unchecked = NULL;
	size_t plen = 0;
	unsigned tried = 0, damaged = 0;
	int rc;

	if ((rc = kahu_passphrase_read_file(r->pass_file, &pass, &plen)) < 0) {
		kahu_error_wrap(rc, "%s", how);
		goto out;
	}
	if ((rc = store_list(r->st, REPO_KEYS_PREFIX, collect_wrapped, &wl)) < 0) {
		kahu_error_wrap(rc, "location %s: cannot list %s", r->loc->name, REPO_KEYS_PREFIX);
		goto out;
	}
	for (size_t i = 0; i < wl.keys.n; i++) {
		struct kahu_key *k = NULL;
		uint8_t id[KAHU_KEY_ID_BYTES];
		char hex[KAHU_KEY_ID_HEX_LEN + 1];
		int checked = 0;
		kbuf_reset(&doc);
		rc = store_read_small(r->st, wl.keys.v[i], REPO_WRAPPED_MAX_SIZE, &doc);
		if (rc == 0 && (rc = kahu_key_wrapped_check(kbuf_str(&doc))) >= 0) {
			checked = rc;
			if ((rc = kahu_key_wrapped_id(kbuf_str(&doc), id)) == 0 && r->info.key_id[0] &&
			    strcmp(kahu_key_id_to_hex(id, hex), r->info.key_id) != 0)
				continue; /* a copy of another key: not ours */
		}
		if (rc == 0) {
			tried++;
			rc = kahu_key_unwrap(kbuf_str(&doc), pass, plen, &k);
		}
		if (rc == 0) {
			if (damaged)
				log_warn("location %s: %s", r->loc->name, damage);
			set_origin(r, r->pass_file_src, r->pass_file, wl.keys.v[i]);
			*out = k;
			goto out;
		}
		if (rc == KAHU_ECRYPTO) {
			log_debug("the passphrase does not open %s", wl.keys.v[i]);
			if (!checked && !unchecked)
				unchecked = xstrdup(wl.keys.v[i]);
		} else {
			if (!damaged++)
				damage = xasprintf("%s: %s", wl.keys.v[i], kahu_error_last());
			log_debug("location %s: %s: %s", r->loc->name, wl.keys.v[i], kahu_error_last());
		}
	}
	if (damaged) {
		char *more = damaged > 1 ? xasprintf(" (and %u more wrapped keys cannot be used)", damaged - 1) :
			     xstrdup("");
		if (tried == 1)
			rc = kahu_error_set(KAHU_EDATA, "cannot open the key of location %s: %s%s; the "
					    "passphrase from %s %s does not open the other wrapped "
					    "key", r->loc->name, damage, more, how, r->pass_file);
		else if (tried)
			rc = kahu_error_set(KAHU_EDATA, "cannot open the key of location %s: %s%s; the "
					    "passphrase from %s %s opens none of the %u other "
					    "wrapped keys", r->loc->name, damage, more, how,
					    r->pass_file, tried);
		else
			rc = kahu_error_set(KAHU_EDATA, "cannot open the key of location %s: %s%s",
					    r->loc->name, damage, more);
		free(more);
	} else if (tried == 0) {
		if (r->info.key_id[0])
			rc = kahu_error_set(KAHU_ENOTFOUND, "location %s has no passphrase for key %s "
					    "(no %s%s.json); add one with 'kahu key add-passphrase'",
					    r->loc->name, r->info.key_id, REPO_KEYS_PREFIX,
					    r->info.key_id);
		else
			rc = kahu_error_set(KAHU_ENOTFOUND, "location %s has no passphrase-wrapped key "
					    "(nothing under %s); add one with 'kahu key "
					    "add-passphrase'", r->loc->name, REPO_KEYS_PREFIX);
	} else {
		char *note = unchecked ? xasprintf(" (%s carries no checksum, so damage to it "
						   "cannot be ruled out)", unchecked) : xstrdup("");
		if (tried == 1)
			rc = kahu_error_set(KAHU_ECRYPTO, "wrong passphrase: the passphrase from %s %s "
					    "does not open the wrapped key on location %s%s", how,
					    r->pass_file, r->loc->name, note);
		else
			rc = kahu_error_set(KAHU_ECRYPTO, "wrong passphrase: the passphrase from %s %s "
					    "opens none of the %u wrapped keys on location %s%s", how,
					    r->pass_file, tried, r->loc->name, note);
		free(note);
	}
out:
	free_secret_str(pass);
	free(damage);
	free(unchecked);
	kbuf_free(&doc);
	strv_free(&wl.keys);
	return rc;
}

static void generation_notice(const struct repo *r, const char *path, const char *hex)
{
	log_warn("generated a new encryption key %s and saved it in %s (mode 0600).\n"
		 "  Keep a copy of this file somewhere safe, away from the backups: without it,\n"
		 "  the backups on location %s cannot be restored by anyone.\n"
		 "  To open them with a passphrase as well: kahu key add-passphrase "
		 "--passphrase-file FILE\n"
		 "  To copy the key elsewhere: cp -p %s /safe/place/",
		 hex, path, r->loc->name, path);
}

static int generate_key(struct repo *r, const char *path, struct kahu_key **out)
{
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	struct kahu_key *k = NULL;
	int rc;
	if ((rc = kahu_key_generate(&k)) < 0)
		return rc;
	if ((rc = kahu_key_save(k, path)) < 0) {
		kahu_key_free(k);
		return rc;
	}
	set_origin(r, REPO_KEY_GENERATED, path, NULL);
	generation_notice(r, path, kahu_key_id_hex(k, hex));
	*out = k;
	return 0;
}

/* A key file that may not exist yet: load it, or generate it when allowed. */
static int key_from_file_or_generate(struct repo *r, enum repo_key_source src, const char *path,
				     struct kahu_key **out)
{
	int rc = kahu_key_load(path, out);
	if (rc == 0) {
		set_origin(r, src, path, NULL);
		return 0;
	}
	if (rc != KAHU_ENOTFOUND)
		return rc;
	/* Only a repository that has never been written gets a new key. */
	if (r->allow_generate && !r->info.exists)
		return generate_key(r, path, out);
	if (r->info.key_id[0])
		return kahu_error_set(KAHU_ENOTFOUND,
				      "no key for location %s: the backups there are encrypted with "
				      "key %s, and the %s %s does not exist; give the key with "
				      "--key-file (or $KAHU_KEY_FILE), or a passphrase with "
				      "--passphrase-file (or $KAHU_PASSPHRASE_FILE)",
				      r->loc->name, r->info.key_id,
				      src == REPO_KEY_LOCATION ? "location's key file" : "default key",
				      path);
	return kahu_error_set(KAHU_ENOTFOUND,
			      "no key: the %s %s does not exist; create one with 'kahu key "
			      "generate%s%s', or give one with --key-file (or $KAHU_KEY_FILE)",
			      src == REPO_KEY_LOCATION ? "location's key file" : "default key", path,
			      src == REPO_KEY_LOCATION ? " --file " : "",
			      src == REPO_KEY_LOCATION ? path : "");
}

int repo_key(struct repo *r, const struct kahu_key **out)
{
	struct kahu_key *k = NULL;
	char *def = NULL, *desc = NULL;
	int rc;

	if (r->key) {
		*out = r->key;
		return 0;
	}
	*out = NULL;
	if (r->key_file) {
		rc = kahu_key_load(r->key_file, &k);
		if (rc == KAHU_ENOTFOUND)
			kahu_error_set(rc, "the key file %s (%s) does not exist; create one with 'kahu "
				       "key generate --file %s'", r->key_file,
				       r->key_file_src == REPO_KEY_FLAG ? "--key-file" :
				       "$KAHU_KEY_FILE", r->key_file);
		if (rc == 0)
			set_origin(r, r->key_file_src, r->key_file, NULL);
	} else if (r->pass_file) {
		rc = key_from_passphrase(r, &k);
	} else if (r->loc->key_file) {
		rc = key_from_file_or_generate(r, REPO_KEY_LOCATION, r->loc->key_file, &k);
	} else {
		def = config_default_key_path();
		rc = key_from_file_or_generate(r, REPO_KEY_DEFAULT, def, &k);
	}
	if (rc < 0)
		goto out;
	desc = repo_key_origin_describe(r);
	if (r->info.exists && (rc = check_key_matches(r, k, desc)) < 0)
		goto out;
	r->key = k;
	k = NULL;
	*out = r->key;
out:
	kahu_key_free(k);
	free(def);
	free(desc);
	return rc;
}

static const struct kahu_kdf_params *default_kdf(void)
{
	const char *w = getenv(REPO_ENV_WEAK_KDF);
	if (w && strcmp(w, "1") == 0) {
		log_warn("%s=1: the passphrase is protected by minimal Argon2id parameters "
			 "(for tests only)", REPO_ENV_WEAK_KDF);
		return KAHU_KDF_PARAMS_TEST;
	}
	return KAHU_KDF_PARAMS_DEFAULT;
}

int repo_add_passphrase(struct repo *r, const struct kahu_key *key, const char *passphrase,
			size_t passlen, const struct kahu_kdf_params *params, char **object_out)
{
	char hex[KAHU_KEY_ID_HEX_LEN + 1];
	char *json = NULL, *obj = NULL;
	int rc;

	if (object_out)
		*object_out = NULL;
	if ((rc = repo_init_if_needed(r, key)) < 0)
		return rc;
	if ((rc = kahu_key_wrap(key, passphrase, passlen, params ? params : default_kdf(),
				&json)) < 0)
		return rc;
	kahu_key_id_hex(key, hex);
	for (int n = 1; n <= REPO_MAX_PASSPHRASES; n++) {
		free(obj);
		obj = n == 1 ? xasprintf("%s%s.json", REPO_KEYS_PREFIX, hex) :
			       xasprintf("%s%s-%d.json", REPO_KEYS_PREFIX, hex, n);
		rc = store_write_small_ex(r->st, obj, KAHU_PUT_EXCLUSIVE, json, strlen(json));
		if (rc != KAHU_EEXIST)
			break;
		kahu_error_clear();
	}
	if (rc == KAHU_EEXIST)
		rc = kahu_error_set(KAHU_EEXIST, "location %s already holds %d passphrases for key %s",
				    r->loc->name, REPO_MAX_PASSPHRASES, hex);
	else if (rc < 0)
		kahu_error_wrap(rc, "location %s: cannot write %s", r->loc->name, obj);
	if (rc == 0 && object_out) {
		*object_out = obj;
		obj = NULL;
	}
	free(obj);
	free(json);
	return rc;
}

/* ---- catalog ---- */

int repo_valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0)
		return kahu_error_set(KAHU_EUSAGE, "a backup name must not be empty");
	if (n > REPO_NAME_MAX)
		return kahu_error_set(KAHU_EUSAGE, "backup name '%.40s…' is too long (%zu characters, "
				      "at most %d)", name, n, REPO_NAME_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(islower(c) || isdigit(c) || c == '-' || c == '.') || c > 127)
			return kahu_error_set(KAHU_EUSAGE, "invalid backup name '%s': character %zu "
					      "is not a lowercase letter, digit, '-' or '.' (names "
					      "follow Kubernetes' DNS-1123 subdomain rule)",
					      name, i + 1);
	}
	if (!isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
		return kahu_error_set(KAHU_EUSAGE, "invalid backup name '%s': it must start and end "
				      "with a lowercase letter or a digit", name);
	return 0;
}

struct group {
	char *name;
	uint64_t nobjects, bytes;
	int64_t mtime;
	int has_manifest;
};

struct catalog {
	struct group *g;
	size_t n, cap;
	char *skipped;  /* last invalid name reported, so each is told once */
};

static int collect_backup_objects(void *ud, const char *key, const struct store_stat *st)
{
	struct catalog *c = ud;
	const char *rest = key + strlen(REPO_BACKUPS_PREFIX);
	const char *slash = strchr(rest, '/');
	size_t nlen = slash ? (size_t)(slash - rest) : strlen(rest);
	char *name = xstrndup(rest, nlen);

	if (!slash || repo_valid_name(name) < 0) {
		if (!c->skipped || strcmp(c->skipped, name) != 0)
			log_info("ignoring %s%s%s: not a kahu backup", REPO_BACKUPS_PREFIX, name,
				 slash ? "/" : "");
		kahu_error_clear();
		free(c->skipped);
		c->skipped = name;
		return 0;
	}
	struct group *g = c->n ? &c->g[c->n - 1] : NULL;
	if (!g || strcmp(g->name, name) != 0) {
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 16;
			c->g = xrealloc(c->g, c->cap * sizeof *c->g);
		}
		g = &c->g[c->n++];
		memset(g, 0, sizeof *g);
		g->name = name;
	} else {
		free(name);
	}
	g->nobjects++;
	g->bytes += st ? st->size : 0;
	if (st && st->mtime > g->mtime)
		g->mtime = st->mtime;
	if (strcmp(slash + 1, REPO_MANIFEST_NAME) == 0)
		g->has_manifest = 1;
	return 0;
}

static void catalog_free(struct catalog *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->g[i].name);
	free(c->g);
	free(c->skipped);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The summary fields of a manifest (archive/manifest.h), unverified and leniently: a
 * listing shows what it can of an odd manifest instead of failing.  Full parsing and
 * authentication are manifest_load's job. */
static void fill_from_manifest(struct repo_backup *b, json_t *m)
{
	b->manifest = m;
	b->status = jstr(m, "status");
	b->type = jstr(m, "type");
	b->parent = jstr(m, "parent");
	b->base = jstr(m, "base");
	b->key_id = jstr(m, "key_id");
	b->kahu_version = jstr(m, "kahu_version");
	b->created = json_time(json_object_get(m, "created"));
	b->completed = json_time(json_object_get(m, "completed"));
	b->expires = json_time(json_object_get(m, "expires"));
	json_t *sz = json_object_get(json_object_get(m, "sizes"), "stored");
	if (json_is_integer(sz) && json_integer_value(sz) > 0)
		b->size = (uint64_t)json_integer_value(sz);
	json_t *counts = json_object_get(m, "counts");
	b->counts = json_is_object(counts) ? counts : NULL;
}

static int hand_backup(struct repo *r, const struct group *g, repo_backup_fn cb, void *ud)
{
	struct repo_backup b = { 0 };
	struct kbuf text = KBUF_INIT;
	char *problem = NULL;
	json_t *m = NULL;
	int rc;

	b.name = g->name;
	b.complete = g->has_manifest;
	b.nobjects = g->nobjects;
	b.stored_bytes = g->bytes;
	b.last_modified = g->mtime;
	if (g->has_manifest) {
		char *key = xasprintf("%s%s/%s", REPO_BACKUPS_PREFIX, g->name, REPO_MANIFEST_NAME);
		json_error_t jerr;
		rc = store_read_small(r->st, key, REPO_MANIFEST_MAX_SIZE, &text);
		if (rc == KAHU_ENOTFOUND) {
			/* Removed since the listing: it is gone, say nothing. */
			kahu_error_clear();
			free(key);
			rc = 0;
			goto out;
		}
		if (rc < 0 && rc != KAHU_EDATA) {
			kahu_error_wrap(rc, "location %s: %s", r->loc->name, key);
			free(key);
			goto out;
		}
		if (rc < 0)
			problem = xstrdup(kahu_error_last());
		else if (!(m = json_loadb(text.data, text.len, 0, &jerr)))
			problem = xasprintf("%s is not valid JSON (line %d: %s)", key, jerr.line,
					    jerr.text);
		else if (!json_is_object(m))
			problem = xasprintf("%s is not a JSON object", key);
		else
			fill_from_manifest(&b, m);
		free(key);
		b.problem = problem;
	}
	rc = cb(ud, &b);
out:
	json_decref(m);
	free(problem);
	kbuf_free(&text);
	return rc;
}

int repo_list_backups(struct repo *r, repo_backup_fn cb, void *ud)
{
	struct catalog c = { 0 };
	int rc;

	/* Gather first, read manifests after: a provider need not support reads in the
	 * middle of its own listing. */
	if ((rc = store_list(r->st, REPO_BACKUPS_PREFIX, collect_backup_objects, &c)) < 0) {
		kahu_error_wrap(rc, "location %s: cannot list the backups", r->loc->name);
		goto out;
	}
	for (size_t i = 0; i < c.n; i++) {
		rc = hand_backup(r, &c.g[i], cb, ud);
		if (rc == REPO_LIST_STOP) {
			rc = 0;
			break;
		}
		if (rc < 0)
			break;
	}
out:
	catalog_free(&c);
	return rc;
}

static int first_object(void *ud, const char *key, const struct store_stat *st)
{
	(void)key;
	(void)st;
	*(int *)ud = 1;
	return STORE_LIST_STOP;
}

int repo_backup_exists(struct repo *r, const char *name)
{
	struct store_stat st;
	int rc;
	if ((rc = repo_valid_name(name)) < 0)
		return rc;
	char *key = xasprintf("%s%s/%s", REPO_BACKUPS_PREFIX, name, REPO_MANIFEST_NAME);
	rc = store_stat(r->st, key, &st);
	free(key);
	if (rc == 0)
		return REPO_BACKUP_COMPLETE;
	if (rc != KAHU_ENOTFOUND)
		return rc;
	kahu_error_clear();
	int any = 0;
	char *prefix = xasprintf("%s%s/", REPO_BACKUPS_PREFIX, name);
	rc = store_list(r->st, prefix, first_object, &any);
	free(prefix);
	if (rc < 0)
		return rc;
	return any ? REPO_BACKUP_INCOMPLETE : REPO_BACKUP_ABSENT;
}

static int collect_keys(void *ud, const char *key, const struct store_stat *st)
{
	(void)st;
	strv_push(ud, key);
	return 0;
}

int repo_remove_backup(struct repo *r, const char *name, uint64_t *nremoved)
{
	struct strv keys = STRV_INIT;
	uint64_t n = 0;
	char *manifest = NULL, *prefix = NULL;
	int rc;

	if (nremoved)
		*nremoved = 0;
	if ((rc = repo_check_writable(r)) < 0 || (rc = repo_valid_name(name)) < 0)
		return rc;
	manifest = xasprintf("%s%s/%s", REPO_BACKUPS_PREFIX, name, REPO_MANIFEST_NAME);
	prefix = xasprintf("%s%s/", REPO_BACKUPS_PREFIX, name);
	/* The manifest first: from now on the backup is never listed as complete, even if
	 * we are interrupted half-way through the data. */
	rc = store_remove(r->st, manifest);
	if (rc == 0) {
		n++;
	} else if (rc == KAHU_ENOTFOUND) {
		kahu_error_clear();
	} else {
		kahu_error_wrap(rc, "location %s: cannot remove %s", r->loc->name, manifest);
		goto out;
	}
	if ((rc = store_list(r->st, prefix, collect_keys, &keys)) < 0) {
		kahu_error_wrap(rc, "location %s: cannot list %s", r->loc->name, prefix);
		goto out;
	}
	for (size_t i = 0; i < keys.n; i++) {
		rc = store_remove(r->st, keys.v[i]);
		if (rc == KAHU_ENOTFOUND) {
			kahu_error_clear();
			continue;
		}
		if (rc < 0) {
			kahu_error_wrap(rc, "location %s: cannot remove %s", r->loc->name, keys.v[i]);
			goto out;
		}
		n++;
	}
	if (n == 0)
		rc = kahu_error_set(KAHU_ENOTFOUND, "no backup named %s on location %s", name,
				    r->loc->name);
	else
		rc = 0;
out:
	if (nremoved)
		*nremoved = n;
	strv_free(&keys);
	free(manifest);
	free(prefix);
	return rc;
}

/* ---- locks ---- */

int repo_lock(struct repo *r, const char *purpose, struct store_lock **out)
{
	int rc;
	*out = NULL;
	if ((rc = repo_check_writable(r)) < 0)
		return rc;
	if ((rc = store_lock_acquire(r->st, purpose, out)) < 0)
		return kahu_error_wrap(rc, "location %s", r->loc->name);
	return 0;
}

int repo_unlock(struct store_lock *lk)
{
	return store_lock_release(lk);
}

/* kahu — repositories: kahu-repo.json, key resolution, passphrases, the catalog of
 * backups, locks (see repo.h). */
#include "store/repo.h"
#include "archive/manifest.h"
#include "store/volloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
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
	time_rfc3339((time_t)t, out, 32);
}

int64_t repo_parse_time(const char *s)
{
	int64_t t;
	if (!s || kahu_time_parse(s, 0, &t) < 0)
		return -1;
	return t;
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

/* kahu-repo.json is there but cannot be used: note what is wrong and read on without
 * it (repo_check_writable refuses every write until it is repaired).  Returns 0. */
static int __attribute__((format(printf, 2, 3))) set_damaged(struct repo *r, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	free(r->info.problem);
	free(r->info.kahu_version);
	memset(&r->info, 0, sizeof r->info);
	r->info.damaged = 1;
	r->info.problem = xstrdup(msg);
	return 0;
}

/* 0 with r->info filled, or marked damaged; KAHU_EDATA only for a repository of
 * another format version, which this kahu must not read or "repair". */
static int parse_repo_info(struct repo *r, const struct kbuf *b)
{
	json_error_t jerr;
	json_t *doc = json_loadb(b->data, b->len, 0, &jerr);
	int rc = 0;
	if (!doc) {
		rc = set_damaged(r, "not valid JSON: line %d: %s", jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_object(doc)) {
		rc = set_damaged(r, "not a JSON object");
		goto out;
	}
	json_t *v = json_object_get(doc, "version");
	if (!json_is_integer(v)) {
		rc = set_damaged(r, "\"version\" is %s", v ? "not an integer" : "missing");
		goto out;
	}
	if (json_integer_value(v) < 1) {
		rc = set_damaged(r, "\"version\" is %" JSON_INTEGER_FORMAT ", not a format version",
				 json_integer_value(v));
		goto out;
	}
	if (json_integer_value(v) != REPO_FORMAT_VERSION) {
		rc = kahu_error_set(KAHU_EDATA, "location %s holds a repository of format version "
				    "%" JSON_INTEGER_FORMAT "; this kahu reads version %d",
				    r->loc->name, json_integer_value(v), REPO_FORMAT_VERSION);
		goto out;
	}
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	if (!kind || strcmp(kind, REPO_INFO_KIND) != 0) {
		rc = set_damaged(r, "\"kind\" is %s, not \"%s\"", kind ? "another word" : "missing",
				 REPO_INFO_KIND);
		goto out;
	}
	v = json_object_get(doc, "keyId");
	if (json_is_string(v)) {
		const char *id = json_string_value(v);
		size_t n = strlen(id);
		if (n != KAHU_KEY_ID_HEX_LEN || strspn(id, "0123456789abcdef") != n) {
			rc = set_damaged(r, "\"keyId\" is not a key id");
			goto out;
		}
		memcpy(r->info.key_id, id, n + 1);
	} else if (!json_is_null(v)) {
		rc = set_damaged(r, "\"keyId\" is %s", v ? "neither a key id nor null" : "missing");
		goto out;
	}
	v = json_object_get(doc, "created");
	int64_t created = json_is_string(v) ? repo_parse_time(json_string_value(v)) : -1;
	if (created < 0) {
		rc = set_damaged(r, "\"created\" is %s", v ? "not an RFC 3339 time" : "missing");
		goto out;
	}
	v = json_object_get(doc, "kahuVersion");
	if (v && !json_is_string(v)) {
		rc = set_damaged(r, "\"kahuVersion\" is not a string");
		goto out;
	}
	r->info.version = REPO_FORMAT_VERSION;
	r->info.created = created;
	r->info.kahu_version = xstrdup(json_string_value(v));
	r->info.exists = 1;
out:
	json_decref(doc);
	return rc;
}

static int read_repo_info(struct repo *r)
{
	struct kbuf b = KBUF_INIT;
	free(r->info.problem);
	free(r->info.kahu_version);
	memset(&r->info, 0, sizeof r->info);
	int rc = store_read_small(r->st, LAYOUT_REPO_FILE, REPO_INFO_MAX_SIZE, &b);
	if (rc == KAHU_ENOTFOUND) {
		kahu_error_clear();
		rc = 0;
	} else if (rc == KAHU_EDATA) {
		kahu_error_clear();
		rc = set_damaged(r, "larger than %d bytes", REPO_INFO_MAX_SIZE);
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
	    (rc = store_open_provider(r->loc->provider, r->loc->kv, r->loc->nkv, &r->st)) < 0) {
		kahu_error_wrap(rc, "location %s (provider %s)", r->loc->name, r->loc->provider);
		goto fail;
	}
	r->key_file = opt_or_env(o->key_file, KAHU_ENV_KEY_FILE, REPO_KEY_FLAG, REPO_KEY_ENV,
				 &r->key_file_src);
	r->pass_file = opt_or_env(o->passphrase_file, KAHU_ENV_PASSPHRASE_FILE,
				  REPO_KEY_PASSPHRASE_FLAG, REPO_KEY_PASSPHRASE_ENV,
				  &r->pass_file_src);
	if (!r->pass_file && r->loc->passphrase_file) {
		r->pass_file = xstrdup(r->loc->passphrase_file);
		r->pass_file_src = REPO_KEY_PASSPHRASE_LOCATION;
	}
	r->allow_generate = o->allow_key_generate;
	if ((rc = read_repo_info(r)) < 0)
		goto fail;
	if (r->info.damaged)
		log_warn("location %s: %s is damaged (%s); its backups can still be read, but "
			 "nothing is written to the location until 'kahu location repair "
			 "--location %s' rewrites it from the key and the backups' manifests",
			 r->loc->name, LAYOUT_REPO_FILE, r->info.problem, r->loc->name);
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
	free(r->info.problem);
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

static int check_read_only(const struct repo *r)
{
	if (r->loc->access == LOCATION_READ_ONLY)
		return kahu_error_set(KAHU_EPERM, "location %s is read-only (\"access\": \"ReadOnly\" "
				      "in %s)", r->loc->name, r->cfg->path);
	return 0;
}

int repo_check_writable(const struct repo *r)
{
	int rc;
	if ((rc = check_read_only(r)) < 0)
		return rc;
	if (r->info.damaged)
		return kahu_error_set(KAHU_EDATA, "location %s: %s is damaged (%s); kahu writes "
				      "nothing to the location until it is repaired: run 'kahu "
				      "location repair --location %s', which rewrites it from the key "
				      "in use and the backups' manifests", r->loc->name,
				      LAYOUT_REPO_FILE, r->info.problem, r->loc->name);
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

static int check_backups_key(struct repo *r, const struct kahu_key *key);

int repo_init_if_needed(struct repo *r, const struct kahu_key *key)
{
	char hex[KAHU_KEY_ID_HEX_LEN + 1], now[32];
	int rc;

	if ((rc = repo_check_writable(r)) < 0)
		return rc;
	if (!r->info.exists) {
		/* Missing: new, or lost.  Backups already there say which key it was for. */
		if ((rc = check_backups_key(r, key)) < 0)
			return rc;
		fmt_time((int64_t)time(NULL), now);
		json_t *doc = json_pack("{s:s, s:i, s:o, s:s, s:s}", "kind", "KahuRepository",
					"version", REPO_FORMAT_VERSION, "keyId",
					key ? json_string(kahu_key_id_hex(key, hex)) : json_null(),
					"created", now, "kahuVersion", PACKAGE_VERSION);
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(doc);
		rc = store_write_small_ex(r->st, LAYOUT_REPO_FILE, KAHU_PUT_EXCLUSIVE, text,
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
					       LAYOUT_REPO_FILE);
		/* Another run was first: judge what it wrote. */
		kahu_error_clear();
		if ((rc = read_repo_info(r)) < 0 || (rc = repo_check_writable(r)) < 0)
			return rc;
	}
	char *desc = r->key == key ? repo_key_origin_describe(r) : xstrdup("given");
	rc = check_key_matches(r, key, desc);
	free(desc);
	return rc;
}

/* ---- keys ---- */

static int location_in_use(struct repo *r);

const char *repo_key_source_name(enum repo_key_source s)
{
	switch (s) {
	case REPO_KEY_FLAG: return "key-file";
	case REPO_KEY_ENV: return "KAHU_KEY_FILE";
	case REPO_KEY_PASSPHRASE_FLAG: return "passphrase-file";
	case REPO_KEY_PASSPHRASE_ENV: return "KAHU_PASSPHRASE_FILE";
	case REPO_KEY_PASSPHRASE_LOCATION: return "location-passphrase";
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
	case REPO_KEY_PASSPHRASE_LOCATION:
		return xasprintf("passphrase from %s %s via %s on location %s",
				 r->origin.source == REPO_KEY_PASSPHRASE_FLAG ? "--passphrase-file" :
				 r->origin.source == REPO_KEY_PASSPHRASE_ENV ?
				 "$KAHU_PASSPHRASE_FILE" : "the location's passphraseFile", p,
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
	char id[KAHU_KEY_ID_HEX_LEN + 1];
	int form = layout_parse_wrapped_key(key, id);
	(void)st;
	if (form < 0 || (wl->want_id[0] && (form == 0 || strcmp(id, wl->want_id) != 0)))
		return 0;
	strv_push(&wl->keys, key);
	return 0;
}

/* Try the passphrase on every wrapped copy of key `want_id` ("": of any key).  A copy
 * that is damaged (kahu_key_wrapped_check) is named with what is wrong, so that a
 * damaged file is never reported as a wrong passphrase. */
static int key_from_passphrase(struct repo *r, const char *want_id, struct kahu_key **out)
{
	const char *how = r->pass_file_src == REPO_KEY_PASSPHRASE_FLAG ? "--passphrase-file" :
			  r->pass_file_src == REPO_KEY_PASSPHRASE_ENV ? "$KAHU_PASSPHRASE_FILE" :
			  "the location's passphraseFile";
	struct wrapped_list wl = { .want_id = want_id, .keys = STRV_INIT };
	struct kbuf doc = KBUF_INIT;
	char *pass = NULL, *damage = NULL, *unchecked = NULL;
	size_t plen = 0;
	unsigned tried = 0, damaged = 0;
	int rc;

	if ((rc = kahu_passphrase_read_file(r->pass_file, &pass, &plen)) < 0) {
		kahu_error_wrap(rc, "%s", how);
		goto out;
	}
	if ((rc = store_list(r->st, LAYOUT_KEYS, collect_wrapped, &wl)) < 0) {
		kahu_error_wrap(rc, "location %s: cannot list %s", r->loc->name, LAYOUT_KEYS);
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
			if ((rc = kahu_key_wrapped_id(kbuf_str(&doc), id)) == 0 && want_id[0] &&
			    strcmp(kahu_key_id_to_hex(id, hex), want_id) != 0)
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
		if (want_id[0]) {
			char *obj = layout_wrapped_key(want_id, 1);
			rc = kahu_error_set(KAHU_ENOTFOUND, "location %s has no passphrase for key %s "
					    "(no %s); add one with 'kahu key add-passphrase'",
					    r->loc->name, want_id, obj);
			free(obj);
		} else
			rc = kahu_error_set(KAHU_ENOTFOUND, "location %s has no passphrase-wrapped key "
					    "(nothing under %s); add one with 'kahu key "
					    "add-passphrase'", r->loc->name, LAYOUT_KEYS);
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
				     int allow_generate, struct kahu_key **out)
{
	int rc = kahu_key_load(path, out);
	if (rc == 0) {
		set_origin(r, src, path, NULL);
		return 0;
	}
	if (rc != KAHU_ENOTFOUND)
		return rc;
	/* Only a repository that has never been written gets a new key: not one whose
	 * kahu-repo.json is damaged or lost while backups or wrapped keys are there. */
	int in_use = r->info.damaged;
	if (allow_generate && !r->info.exists && !in_use) {
		kahu_error_clear();
		if ((in_use = location_in_use(r)) < 0)
			return in_use;
		if (!in_use)
			return generate_key(r, path, out);
	}
	if (in_use && !r->info.exists)
		return kahu_error_set(KAHU_ENOTFOUND,
				      "no key for location %s: the %s %s does not exist, and the "
				      "location holds backups or keys while its %s is %s, so no new "
				      "key is made for it; give the key its backups were written with "
				      "(--key-file or $KAHU_KEY_FILE, or a passphrase with "
				      "--passphrase-file or $KAHU_PASSPHRASE_FILE)%s",
				      r->loc->name,
				      src == REPO_KEY_LOCATION ? "location's key file" : "default key",
				      path, LAYOUT_REPO_FILE, r->info.damaged ? "damaged" : "missing",
				      r->info.damaged ? ", then run 'kahu location repair'" : "");
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

/* The key from the sources in order (repo.h), without comparing it with anything;
 * `want_id` picks the wrapped copies a passphrase is tried on ("": any). */
static int resolve_key(struct repo *r, int allow_generate, const char *want_id,
		       struct kahu_key **out)
{
	char *def = NULL;
	int rc;

	*out = NULL;
	if (r->key_file) {
		rc = kahu_key_load(r->key_file, out);
		if (rc == KAHU_ENOTFOUND)
			kahu_error_set(rc, "the key file %s (%s) does not exist; create one with 'kahu "
				       "key generate --file %s'", r->key_file,
				       r->key_file_src == REPO_KEY_FLAG ? "--key-file" :
				       "$KAHU_KEY_FILE", r->key_file);
		if (rc == 0)
			set_origin(r, r->key_file_src, r->key_file, NULL);
	} else if (r->pass_file) {
		rc = key_from_passphrase(r, want_id, out);
	} else if (r->loc->key_file) {
		rc = key_from_file_or_generate(r, REPO_KEY_LOCATION, r->loc->key_file,
					       allow_generate, out);
	} else {
		def = config_default_key_path();
		rc = key_from_file_or_generate(r, REPO_KEY_DEFAULT, def, allow_generate, out);
	}
	free(def);
	return rc;
}

int repo_key(struct repo *r, const struct kahu_key **out)
{
	struct kahu_key *k = NULL;
	char *desc = NULL;
	int rc;

	if (r->key) {
		*out = r->key;
		return 0;
	}
	*out = NULL;
	if ((rc = resolve_key(r, r->allow_generate, r->info.key_id, &k)) < 0)
		goto out;
	desc = repo_key_origin_describe(r);
	if (r->info.exists && (rc = check_key_matches(r, k, desc)) < 0)
		goto out;
	r->key = k;
	k = NULL;
	*out = r->key;
out:
	kahu_key_free(k);
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
		obj = layout_wrapped_key(hex, n);
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
	return layout_name_check(name);
}

struct group {
	char *name;
	uint64_t nobjects, bytes;
	int64_t mtime;
	int has_manifest;
	int has_marker;   /* volume data of another location's backup (store/volloc.h) */
};

struct catalog {
	struct group *g;
	size_t n, cap;
	char *skipped;  /* last invalid name reported, so each is told once */
};

static int collect_backup_objects(void *ud, const char *key, const struct store_stat *st)
{
	struct catalog *c = ud;
	char *name;
	const char *rest;

	layout_parse_backup_key(key, &name, &rest);
	if (!name)
		return 0;
	if (!rest || layout_name_check(name) < 0) {
		if (!c->skipped || strcmp(c->skipped, name) != 0)
			log_info("ignoring %s%s%s: not a kahu backup", LAYOUT_BACKUPS, name,
				 rest ? "/" : "");
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
	if (strcmp(rest, LAYOUT_MANIFEST) == 0)
		g->has_manifest = 1;
	if (strcmp(rest, LAYOUT_VOLUME_MARKER) == 0)
		g->has_marker = 1;
	return 0;
}

static void catalog_free(struct catalog *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->g[i].name);
	free(c->g);
	free(c->skipped);
}

static int hand_backup(struct repo *r, const struct group *g, repo_backup_fn cb, void *ud)
{
	struct repo_backup b = { 0 };
	struct kbuf text = KBUF_INIT;
	char *problem = NULL;
	json_t *doc = NULL;
	struct manifest *m = NULL;
	int rc;

	b.name = g->name;
	b.complete = g->has_manifest;
	b.nobjects = g->nobjects;
	b.stored_bytes = g->bytes;
	b.last_modified = g->mtime;
	if (g->has_manifest) {
		char *key = layout_backup_manifest(g->name);
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
		else if (!(doc = json_loadb(text.data ? text.data : "", text.len, 0, &jerr)))
			problem = xasprintf("%s is not valid JSON (line %d: %s)", key, jerr.line,
					    jerr.text);
		else if (!json_is_object(doc))
			problem = xasprintf("%s is not a JSON object", key);
		else if (manifest_parse(text.data, text.len, &m) < 0)
			problem = xasprintf("%s: %s", key, kahu_error_last());
		kahu_error_clear();
		b.m = m;
		free(key);
		b.problem = problem;
	}
	rc = cb(ud, &b);
out:
	json_decref(doc);
	manifest_free(m);
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
	if ((rc = store_list(r->st, LAYOUT_BACKUPS, collect_backup_objects, &c)) < 0) {
		kahu_error_wrap(rc, "location %s: cannot list the backups", r->loc->name);
		goto out;
	}
	for (size_t i = 0; i < c.n; i++) {
		/* The volume data of a backup whose metadata is on another location: not a
		 * backup of this one, nor the leftover of one. */
		if (c.g[i].has_marker && !c.g[i].has_manifest)
			continue;
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
	char *key = layout_backup_manifest(name);
	rc = store_stat(r->st, key, &st);
	free(key);
	if (rc == 0)
		return REPO_BACKUP_COMPLETE;
	if (rc != KAHU_ENOTFOUND)
		return rc;
	kahu_error_clear();
	key = layout_volume_marker(name);
	rc = store_stat(r->st, key, &st);
	free(key);
	if (rc == 0)
		return REPO_BACKUP_VOLUME_DATA;
	if (rc != KAHU_ENOTFOUND)
		return rc;
	kahu_error_clear();
	int any = 0;
	char *prefix = layout_backup_dir(name);
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
	/* The volume data on another location first (store/volloc.h): when that fails,
	 * nothing here is touched and the backup stays whole. */
	if ((rc = volloc_remove_for(r, name, &n)) < 0)
		goto out;
	manifest = layout_backup_manifest(name);
	prefix = layout_backup_dir(name);
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

/* ---- what the location says about its key (repair) ---- */

/* One key id named on the location: by manifests, by wrapped keys, or both. */
struct key_seen {
	char id[KAHU_KEY_ID_HEX_LEN + 1];  /* "" for unencrypted backups */
	uint64_t nbackups, nwrapped;
	char *example;                     /* a backup (or keys/ object) naming it */
};

struct evidence {
	struct key_seen *v;
	size_t n;
	struct strv names, ids;            /* per counted backup: its name and key id */
	uint64_t nbackups, nwrapped, nunusable;
	int64_t oldest;                    /* the oldest counted backup's "created", or 0 */
};

static void evidence_free(struct evidence *ev)
{
	for (size_t i = 0; i < ev->n; i++)
		free(ev->v[i].example);
	free(ev->v);
	strv_free(&ev->names);
	strv_free(&ev->ids);
	memset(ev, 0, sizeof *ev);
}

static struct key_seen *evidence_add(struct evidence *ev, const char *id, const char *example)
{
	for (size_t i = 0; i < ev->n; i++)
		if (strcmp(ev->v[i].id, id) == 0)
			return &ev->v[i];
	ev->v = xrealloc(ev->v, (ev->n + 1) * sizeof *ev->v);
	struct key_seen *k = &ev->v[ev->n++];
	memset(k, 0, sizeof *k);
	snprintf(k->id, sizeof k->id, "%s", id);
	k->example = xstrdup(example);
	return k;
}


static int evidence_backup(void *ud, const struct repo_backup *b)
{
	struct evidence *ev = ud;
	const char *id;

	if (!b->complete)
		return 0;
	if (!b->m) {
		ev->nunusable++;
		log_warn("backup %s: %s; it is not counted", b->name,
			 b->problem ? b->problem : "no manifest");
		return 0;
	}
	/* A parsed manifest names a well-formed key id exactly when it is encrypted. */
	id = b->m->key_id;
	evidence_add(ev, id, b->name)->nbackups++;
	strv_push(&ev->names, b->name);
	strv_push(&ev->ids, id);
	ev->nbackups++;
	if (b->m->created > 0 && (!ev->oldest || b->m->created < ev->oldest))
		ev->oldest = b->m->created;
	return 0;
}

/* keys/<id>.json and keys/<id>-<n>.json: the id is in the name (collect_wrapped). */
static int evidence_wrapped(void *ud, const char *key, const struct store_stat *st)
{
	struct evidence *ev = ud;
	char id[KAHU_KEY_ID_HEX_LEN + 1];
	(void)st;
	if (layout_parse_wrapped_key(key, id) != 1)
		return 0;
	evidence_add(ev, id, key)->nwrapped++;
	ev->nwrapped++;
	return 0;
}

static int gather_evidence(struct repo *r, struct evidence *ev)
{
	int rc;
	memset(ev, 0, sizeof *ev);
	if ((rc = repo_list_backups(r, evidence_backup, ev)) < 0)
		return rc;
	if ((rc = store_list(r->st, LAYOUT_KEYS, evidence_wrapped, ev)) < 0)
		return kahu_error_wrap(rc, "location %s: cannot list %s", r->loc->name,
				       LAYOUT_KEYS);
	return 0;
}

/* "key A (3 backups, e.g. nightly-1; 1 wrapped key)", allocated. */
static char *describe_seen(const struct key_seen *k)
{
	struct kbuf b = KBUF_INIT;
	if (k->id[0])
		kbuf_addf(&b, "key %s (", k->id);
	else
		kbuf_addf(&b, "no key, unencrypted (");
	if (k->nbackups)
		kbuf_addf(&b, "%" PRIu64 " backup%s, e.g. %s", k->nbackups,
			  k->nbackups == 1 ? "" : "s", k->example);
	if (k->nwrapped)
		kbuf_addf(&b, "%s%" PRIu64 " wrapped key%s%s%s", k->nbackups ? "; " : "", k->nwrapped,
			  k->nwrapped == 1 ? "" : "s", k->nbackups ? "" : ", e.g. ",
			  k->nbackups ? "" : k->example);
	kbuf_adds(&b, ")");
	return kbuf_detach(&b);
}

static int disagreeing(struct repo *r, const struct evidence *ev)
{
	struct strv parts = STRV_INIT;
	for (size_t i = 0; i < ev->n; i++)
		strv_push_owned(&parts, describe_seen(&ev->v[i]));
	char *all = strv_join(&parts, ", ");
	int rc = kahu_error_set(KAHU_EDATA, "the backups and wrapped keys on location %s name "
				"different keys: %s; a location's backups share one key, so kahu "
				"cannot tell which one %s should name: move the backups of the "
				"other keys elsewhere first", r->loc->name, all, LAYOUT_REPO_FILE);
	free(all);
	strv_free(&parts);
	return rc;
}

/* kahu-repo.json is missing: whatever the location already holds must be of `key`. */
static int check_backups_key(struct repo *r, const struct kahu_key *key)
{
	char hex[KAHU_KEY_ID_HEX_LEN + 1] = "";
	struct evidence ev;
	int rc;

	if (key)
		kahu_key_id_hex(key, hex);
	if ((rc = gather_evidence(r, &ev)) < 0)
		goto out;
	if (ev.n > 1) {
		rc = disagreeing(r, &ev);
	} else if (ev.n == 1 && strcmp(ev.v[0].id, hex) != 0) {
		char *seen = describe_seen(&ev.v[0]);
		char *desc = r->key == key ? repo_key_origin_describe(r) : xstrdup("given");
		rc = kahu_error_set(KAHU_ECRYPTO, "location %s has no %s but holds %s; the key in "
				    "use (%s) is %s: kahu does not start a location afresh with "
				    "another key over existing backups; use their key", r->loc->name,
				    LAYOUT_REPO_FILE, seen, desc, hex[0] ? hex : "none (unencrypted)");
		free(desc);
		free(seen);
	} else if (ev.n == 1) {
		log_info("location %s had no %s; its %" PRIu64 " backups and %" PRIu64 " wrapped "
			 "keys are of the key in use: writing it again", r->loc->name, LAYOUT_REPO_FILE,
			 ev.nbackups, ev.nwrapped);
	}
out:
	evidence_free(&ev);
	return rc;
}

static int location_in_use(struct repo *r)
{
	static const char *const prefixes[] = { LAYOUT_BACKUPS, LAYOUT_KEYS };
	for (size_t i = 0; i < 2; i++) {
		int any = 0;
		int rc = store_list(r->st, prefixes[i], first_object, &any);
		if (rc < 0)
			return kahu_error_wrap(rc, "location %s: cannot list %s", r->loc->name,
					       prefixes[i]);
		if (any)
			return 1;
	}
	return 0;
}

/* Authenticate the manifests of key `id` with `key`: how many pass. */
static uint64_t verify_manifests(struct repo *r, const struct evidence *ev, const char *id,
				 const struct kahu_key *key)
{
	struct kbuf text = KBUF_INIT;
	uint64_t ok = 0;
	for (size_t i = 0; i < ev->names.n; i++) {
		if (strcmp(ev->ids.v[i], id) != 0)
			continue;
		char *obj = layout_backup_manifest(ev->names.v[i]);
		kbuf_reset(&text);
		int rc = store_read_small(r->st, obj, REPO_MANIFEST_MAX_SIZE, &text);
		if (rc == 0)
			rc = manifest_verify(text.data, text.len, key);
		if (rc == 0)
			ok++;
		else
			log_warn("backup %s: %s", ev->names.v[i], kahu_error_last());
		kahu_error_clear();
		free(obj);
	}
	kbuf_free(&text);
	return ok;
}

void repo_repair_clear(struct repo_repair *rr)
{
	if (!rr)
		return;
	free(rr->was);
	memset(rr, 0, sizeof *rr);
}

int repo_repair(struct repo *r, struct repo_repair *out)
{
	char want[KAHU_KEY_ID_HEX_LEN + 1] = "", hex[KAHU_KEY_ID_HEX_LEN + 1], now[32];
	struct kahu_key *owned = NULL;
	const struct kahu_key *key = r->key;
	struct evidence ev;
	char *desc = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = check_read_only(r)) < 0)
		return rc;
	if ((rc = gather_evidence(r, &ev)) < 0)
		goto out;
	out->nbackups = ev.nbackups;
	out->nwrapped = ev.nwrapped;
	if (ev.n > 1) {
		rc = disagreeing(r, &ev);
		goto out;
	}
	if (ev.n == 1)
		memcpy(want, ev.v[0].id, sizeof want);
	if (ev.n == 0 || want[0]) {
		/* The key in use: found the usual way, never generated. */
		if (!key && (rc = resolve_key(r, 0, want, &owned)) < 0) {
			if (ev.n == 0)
				kahu_error_wrap(rc, "location %s holds neither backups nor wrapped "
						"keys, so %s can only be written for the key in use",
						r->loc->name, LAYOUT_REPO_FILE);
			goto out;
		}
		if (!key)
			key = owned;
		kahu_key_id_hex(key, hex);
		desc = repo_key_origin_describe(r);
		if (ev.n == 0) {
			memcpy(want, hex, sizeof want);
		} else if (strcmp(hex, want) != 0) {
			char *seen = describe_seen(&ev.v[0]);
			rc = kahu_error_set(KAHU_ECRYPTO, "the backups on location %s are of %s; the "
					    "key in use (%s) is %s: %s is rewritten only for the key "
					    "of the backups; give it with --key-file or "
					    "--passphrase-file", r->loc->name, seen, desc, hex,
					    LAYOUT_REPO_FILE);
			free(seen);
			goto out;
		}
		if (ev.v && ev.v[0].nbackups) {
			out->nverified = verify_manifests(r, &ev, want, key);
			if (out->nverified == 0) {
				rc = kahu_error_set(KAHU_ECRYPTO, "none of the %" PRIu64 " manifests "
						    "naming key %s on location %s authenticates with "
						    "the key in use (%s); %s is not rewritten",
						    ev.v[0].nbackups, want, r->loc->name, desc,
						    LAYOUT_REPO_FILE);
				goto out;
			}
		}
	}
	memcpy(out->key_id, want, sizeof want);
	if (r->info.exists && strcmp(r->info.key_id, want) == 0) {
		out->created = r->info.created;
		rc = 0; /* it says so already */
		goto keep_key;
	}
	if (r->info.damaged)
		out->was = xstrdup(r->info.problem);
	else if (!r->info.exists)
		out->was = xstrdup("missing");
	else if (r->info.key_id[0])
		out->was = xasprintf("it named key %s", r->info.key_id);
	else
		out->was = xstrdup("it named no key (unencrypted)");

	out->created = ev.oldest ? ev.oldest : (int64_t)time(NULL);
	char created[32];
	fmt_time(out->created, created);
	fmt_time((int64_t)time(NULL), now);
	json_t *doc = json_pack("{s:s, s:i, s:o, s:s, s:s}", "kind", REPO_INFO_KIND, "version",
				REPO_FORMAT_VERSION, "keyId",
				want[0] ? json_string(want) : json_null(), "created", created,
				"kahuVersion", PACKAGE_VERSION);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	rc = store_write_small(r->st, LAYOUT_REPO_FILE, text, strlen(text));
	free(text);
	if (rc < 0) {
		kahu_error_wrap(rc, "location %s: cannot write %s", r->loc->name, LAYOUT_REPO_FILE);
		goto out;
	}
	log_notice("location %s: rewrote %s (%s) for %s%s, at %s", r->loc->name, LAYOUT_REPO_FILE,
		   out->was, want[0] ? "key " : "no key", want, now);
	out->rewritten = 1;
	free(r->info.problem);
	free(r->info.kahu_version);
	memset(&r->info, 0, sizeof r->info);
	r->info.exists = 1;
	r->info.version = REPO_FORMAT_VERSION;
	memcpy(r->info.key_id, want, sizeof want);
	r->info.created = out->created;
	r->info.kahu_version = xstrdup(PACKAGE_VERSION);
keep_key:
	if (owned) {
		r->key = owned; /* checked against the backups: repo_key may hand it out */
		owned = NULL;
	}
out:
	if (rc < 0)
		repo_repair_clear(out);
	kahu_key_free(owned);
	free(desc);
	evidence_free(&ev);
	return rc;
}

/* ---- locks ---- */

int repo_lock(struct repo *r, const char *purpose, struct store_lock **out)
{
	int rc;
	*out = NULL;
	if ((rc = check_read_only(r)) < 0)
		return rc;
	if ((rc = store_lock_acquire(r->st, purpose, out)) < 0)
		return kahu_error_wrap(rc, "location %s", r->loc->name);
	return 0;
}

int repo_unlock(struct store_lock *lk)
{
	return store_lock_release(lk);
}

/* kahu — the backup manifest and index lines.  See manifest.h. */
#include "archive/manifest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "archive/bundle.h"
#include "archive/key.h"
#include "archive/seal.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/timeutil.h"

#define CANON_FLAGS (JSON_SORT_KEYS | JSON_COMPACT)
#define RFC3339_LEN KAHU_TIME_LEN /* "2025-01-02T03:04:05Z" */

static const char *const status_names[] = { "Completed", "PartiallyFailed", "Failed" };
static const char *const type_names[] = { "full", "incremental", "differential" };

const char *manifest_status_name(enum manifest_status s)
{
	return (unsigned)s < 3 ? status_names[s] : "?";
}

const char *manifest_type_name(enum manifest_type t)
{
	return (unsigned)t < 3 ? type_names[t] : "?";
}

struct manifest *manifest_new(void)
{
	struct manifest *m = xcalloc(1, sizeof *m);
	m->format = MANIFEST_FORMAT_VERSION;
	return m;
}

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	free(m->kahu_version);
	free(m->name);
	free(m->parent);
	free(m->base);
	for (size_t i = 0; i < m->n_labels; i++) {
		free(m->labels[i].key);
		free(m->labels[i].value);
	}
	free(m->labels);
	for (size_t i = 0; i < m->n_objects; i++)
		free(m->objects[i].path);
	free(m->objects);
	free(m->cluster.server);
	free(m->cluster.uid);
	free(m->volume_location.name);
	free(m->volume_location.provider);
	free(m->volume_location.token);
	free(m->text);
	free(m);
}

struct manifest *manifest_copy(const struct manifest *m)
{
	struct manifest *c = NULL;
	if (!m || !m->text)
		return NULL;
	if (manifest_parse(m->text, m->text_len, &c) < 0) {
		/* It parsed once: only a broken invariant gets here. */
		fprintf(stderr, "kahu: internal error: a parsed manifest does not parse again\n");
		abort();
	}
	c->authenticated = m->authenticated;
	return c;
}

void manifest_add_label(struct manifest *m, const char *key, const char *value)
{
	m->labels = xrealloc(m->labels, (m->n_labels + 1) * sizeof *m->labels);
	m->labels[m->n_labels].key = xstrdup(key);
	m->labels[m->n_labels].value = xstrdup(value);
	m->n_labels++;
}

void manifest_add_object(struct manifest *m, const char *path, uint64_t size,
			 const char *blake2b_hex)
{
	m->objects = xrealloc(m->objects, (m->n_objects + 1) * sizeof *m->objects);
	struct manifest_object *o = &m->objects[m->n_objects++];
	memset(o, 0, sizeof *o);
	o->path = xstrdup(path);
	o->size = size;
	snprintf(o->blake2b, sizeof o->blake2b, "%s", blake2b_hex ? blake2b_hex : "");
	if (!o->blake2b[0])
		snprintf(o->run, sizeof o->run, "%s", m->run);
}

void manifest_set_run(struct manifest *m, const char *run_hex)
{
	snprintf(m->run, sizeof m->run, "%s", run_hex ? run_hex : "");
	for (size_t i = 0; i < m->n_objects; i++)
		if (!m->objects[i].blake2b[0])
			snprintf(m->objects[i].run, sizeof m->objects[i].run, "%s", m->run);
}

void manifest_new_run(char out[MANIFEST_RUN_HEX_LEN + 1])
{
	uint8_t r[MANIFEST_RUN_HEX_LEN / 2];
	kahu_crypto_init();
	randombytes_buf(r, sizeof r);
	sodium_bin2hex(out, MANIFEST_RUN_HEX_LEN + 1, r, sizeof r);
}

bool manifest_object_run(const struct manifest_object *o, uint8_t out[16])
{
	size_t n = 0;
	if (o->blake2b[0] || strlen(o->run) != MANIFEST_RUN_HEX_LEN)
		return false;
	return sodium_hex2bin(out, 16, o->run, MANIFEST_RUN_HEX_LEN, NULL, &n, NULL) == 0 && n == 16;
}

void manifest_require_format(struct manifest *m, int format)
{
	if (format > m->min_format)
		m->min_format = format;
}

static bool has_unhashed(const struct manifest *m)
{
	for (size_t i = 0; i < m->n_objects; i++)
		if (!m->objects[i].blake2b[0])
			return true;
	return false;
}

/* Objects without a hash make the manifest format 2 at least, volume data format 3
 * (manifest_require_format); one parsed as format 2 or 3 stays so. */
static int format_of(const struct manifest *m)
{
	int f = m->format > m->min_format ? m->format : m->min_format;
	if (f < MANIFEST_FORMAT_RUN && has_unhashed(m))
		f = MANIFEST_FORMAT_RUN;
	return f;
}

void manifest_set_volume_location(struct manifest *m, const char *name, const char *provider,
				  const char *token)
{
	free(m->volume_location.name);
	free(m->volume_location.provider);
	free(m->volume_location.token);
	m->volume_location.name = name ? xstrdup(name) : NULL;
	m->volume_location.provider = name && provider ? xstrdup(provider) : NULL;
	m->volume_location.token = name && token ? xstrdup(token) : NULL;
}

bool manifest_object_in_volloc(const struct manifest *m, const char *rel)
{
	return m->volume_location.name && rel && strncmp(rel, "volumes/", 8) == 0;
}

void manifest_set_cluster(struct manifest *m, const char *server, const char *uid)
{
	free(m->cluster.server);
	free(m->cluster.uid);
	m->cluster.server = server ? xstrdup(server) : NULL;
	m->cluster.uid = uid ? xstrdup(uid) : NULL;
}

void manifest_cluster_short(const struct manifest_cluster *c, char *out, size_t n)
{
	if (!n)
		return;
	if (c->uid && *c->uid) {
		snprintf(out, n, "%.8s", c->uid);
		return;
	}
	if (!c->server || !*c->server) {
		snprintf(out, n, "-");
		return;
	}
	/* scheme://[userinfo@]host[:port][/path] → host[:port] */
	const char *h = strstr(c->server, "://");
	h = h ? h + 3 : c->server;
	size_t len = strcspn(h, "/?#");
	const char *at = memchr(h, '@', len);
	if (at) {
		len -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), h);
}

/* URLs compared without a trailing "/" (what kubeconfigs differ in). */
static bool same_server(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	while (la > 0 && a[la - 1] == '/')
		la--;
	while (lb > 0 && b[lb - 1] == '/')
		lb--;
	return la == lb && strncmp(a, b, la) == 0;
}

#define MANIFEST_UID_PREFIX_MIN 4

bool manifest_cluster_matches(const struct manifest_cluster *c, const char *want)
{
	if (!c->server || !want || !*want)
		return false;
	if (c->uid) {
		size_t n = strlen(want);
		if (strcmp(c->uid, want) == 0 ||
		    (n >= MANIFEST_UID_PREFIX_MIN && strncmp(c->uid, want, n) == 0))
			return true;
	}
	return same_server(c->server, want);
}

bool manifest_cluster_same(const struct manifest_cluster *c, const struct manifest_cluster *cur)
{
	if (!c->server || !cur->server)
		return false;
	if (c->uid && cur->uid)
		return strcmp(c->uid, cur->uid) == 0;
	return same_server(c->server, cur->server);
}

void manifest_scope_digest(const struct kahu_key *key, const char *canonical_scope_json, size_t len,
			   char out[KAHU_HASH_HEX_LEN + 1])
{
	if (key)
		kahu_key_keyed_hash(key, KAHU_SUBKEY_SCOPE, canonical_scope_json, len, out);
	else
		kahu_key_hash(canonical_scope_json, len, out);
}

/* ---- field rules, shared by the writer and the parser ----------------------------- */

static bool is_lower_hex(const char *s, size_t want_len)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == want_len;
}

static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* Backup names are path components of the repository: backups/<name>/. */
static const char *backup_name_problem(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (n > MANIFEST_NAME_MAX)
		return "is longer than 253 bytes";
	if (strchr(s, '/'))
		return "contains '/'";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "is \".\" or \"..\"";
	if (has_control(s))
		return "contains a control character";
	return NULL;
}

static int format_time(time_t t, char out[RFC3339_LEN + 1])
{
	return t < 0 ? -1 : kahu_time_format((int64_t)t, out);
}

/* "YYYY-MM-DDTHH:MM:SS[.fraction]Z", UTC only (what kahu writes), not before 1970. */
static int parse_time(const char *s, time_t *out)
{
	int64_t t;
	if (kahu_time_parse(s, KAHU_TIME_UTC, &t) < 0 || t < 0 || (int64_t)(time_t)t != t)
		return -1;
	*out = (time_t)t;
	return 0;
}

/* ---- writing ----------------------------------------------------------------------- */

#define BAD(...) kahu_error_set(KAHU_EUSAGE, __VA_ARGS__)

static int check_name(const char *mname, const char *what, const char *v)
{
	const char *why;
	if (!v)
		return BAD("manifest of %s: the %s is missing", mname, what);
	if ((why = backup_name_problem(v)))
		return BAD("manifest of %s: the %s \"%s\" %s", mname, what, v, why);
	return 0;
}

/* The rules manifest_parse enforces, checked before writing. */
static int check_struct(const struct manifest *m)
{
	int rc;
	if (m->format < MANIFEST_FORMAT_VERSION || m->format > MANIFEST_FORMAT_XXH64)
		return BAD("manifest: format %d is not %d to %d", m->format, MANIFEST_FORMAT_VERSION,
			   MANIFEST_FORMAT_XXH64);
	if (m->run[0] && !is_lower_hex(m->run, MANIFEST_RUN_HEX_LEN))
		return BAD("manifest: the run id is not %d lowercase hex digits", MANIFEST_RUN_HEX_LEN);
	if (m->format == MANIFEST_FORMAT_RUN && !m->run[0])
		return BAD("manifest: format %d without a run id", MANIFEST_FORMAT_RUN);
	if (!m->name)
		return BAD("manifest: the backup name is missing");
	if ((rc = check_name(m->name, "backup name", m->name)) < 0)
		return rc;
	if (!m->kahu_version || !*m->kahu_version ||
	    strlen(m->kahu_version) > MANIFEST_STRING_MAX || has_control(m->kahu_version))
		return BAD("manifest of %s: missing or bad kahu_version", m->name);
	if ((unsigned)m->status > MANIFEST_FAILED)
		return BAD("manifest of %s: bad status %d", m->name, (int)m->status);
	if ((unsigned)m->type > MANIFEST_DIFFERENTIAL)
		return BAD("manifest of %s: bad type %d", m->name, (int)m->type);
	if (m->type == MANIFEST_FULL && (m->parent || m->base))
		return BAD("manifest of %s: a full backup has no parent or base", m->name);
	if (m->type != MANIFEST_FULL && ((rc = check_name(m->name, "parent", m->parent)) < 0 ||
					 (rc = check_name(m->name, "base", m->base)) < 0))
		return rc;
	if (!is_lower_hex(m->scope_digest, KAHU_HASH_HEX_LEN))
		return BAD("manifest of %s: the scope digest is not 64 lowercase hex digits",
			   m->name);
	if (m->n_labels > MANIFEST_LABELS_MAX)
		return BAD("manifest of %s: more than %d labels", m->name, MANIFEST_LABELS_MAX);
	for (size_t i = 0; i < m->n_labels; i++) {
		const struct manifest_label *l = &m->labels[i];
		if (!*l->key || strlen(l->key) > MANIFEST_LABEL_KEY_MAX ||
		    strlen(l->value) > MANIFEST_LABEL_VALUE_MAX || has_control(l->key) ||
		    has_control(l->value))
			return BAD("manifest of %s: bad label \"%s\"", m->name, l->key);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->labels[j].key, l->key))
				return BAD("manifest of %s: label \"%s\" given twice", m->name,
					   l->key);
	}
	if (m->n_objects > MANIFEST_OBJECTS_MAX)
		return BAD("manifest of %s: more than %d objects", m->name, MANIFEST_OBJECTS_MAX);
	for (size_t i = 0; i < m->n_objects; i++) {
		const struct manifest_object *o = &m->objects[i];
		if (!o->path || strlen(o->path) > MANIFEST_PATH_MAX ||
		    bundle_name_check(o->path) < 0)
			return BAD("manifest of %s: bad object path \"%s\"", m->name,
				   o->path ? o->path : "");
		if (!o->blake2b[0] && !m->run[0])
			return BAD("manifest of %s: %s has no hash and the manifest no run id",
				   m->name, o->path);
		if (o->blake2b[0] && !is_lower_hex(o->blake2b, KAHU_HASH_HEX_LEN))
			return BAD("manifest of %s: the hash of %s is not 64 lowercase hex digits",
				   m->name, o->path);
		if (o->size > INT64_MAX)
			return BAD("manifest of %s: the size of %s is out of range", m->name,
				   o->path);
	}
	if (m->cluster.uid && !m->cluster.server)
		return BAD("manifest of %s: a cluster UID without its server", m->name);
	if (m->cluster.server && (!*m->cluster.server || strlen(m->cluster.server) > MANIFEST_SERVER_MAX ||
				  has_control(m->cluster.server)))
		return BAD("manifest of %s: bad cluster server URL", m->name);
	if (m->cluster.uid && (!*m->cluster.uid || strlen(m->cluster.uid) > MANIFEST_UID_MAX ||
			       has_control(m->cluster.uid)))
		return BAD("manifest of %s: bad cluster UID", m->name);
	if (m->volume_location.name) {
		const struct manifest_volloc *vl = &m->volume_location;
		if (!*vl->name || strlen(vl->name) > MANIFEST_VOLLOC_NAME_MAX || has_control(vl->name) ||
		    !vl->provider || !*vl->provider || strlen(vl->provider) > MANIFEST_VOLLOC_NAME_MAX ||
		    has_control(vl->provider) || !vl->token ||
		    !is_lower_hex(vl->token, MANIFEST_VOLLOC_TOKEN_LEN))
			return BAD("manifest of %s: bad volume_location", m->name);
	}
	const uint64_t *nums[] = { &m->counts.items, &m->counts.types, &m->counts.skipped,
				   &m->counts.failed, &m->counts.volumes, &m->counts.warnings,
				   &m->counts.errors, &m->stored_bytes };
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
		if (*nums[i] > INT64_MAX)
			return BAD("manifest of %s: a count or size is out of range", m->name);
	return 0;
}

/* json_string refuses invalid UTF-8: report it rather than crash on NULL. */
static int set_str(json_t *o, const char *key, const char *val, const char *mname)
{
	json_t *s = json_string(val);
	if (!s)
		return kahu_error_set(KAHU_EUSAGE, "manifest of %s: field %s is not valid UTF-8",
				      mname, key);
	json_object_set_new(o, key, s);
	return 0;
}

static int set_time(json_t *o, const char *key, time_t t, const char *mname)
{
	char buf[RFC3339_LEN + 1];
	if (format_time(t, buf) < 0)
		return kahu_error_set(KAHU_EUSAGE, "manifest of %s: %s time out of range", mname,
				      key);
	json_object_set_new(o, key, json_string(buf));
	return 0;
}

static void set_int(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static int build_json(const struct manifest *m, const struct kahu_key *key, json_t **out)
{
	int rc;
	json_t *root = json_object(), *labels = json_object(), *counts = json_object();
	json_t *sizes = json_object(), *objects = json_array();
	json_object_set_new(root, "labels", labels);
	json_object_set_new(root, "counts", counts);
	json_object_set_new(root, "sizes", sizes);
	json_object_set_new(root, "objects", objects);

	if ((format_of(m) == MANIFEST_FORMAT_RUN || has_unhashed(m)) && !key) {
		rc = kahu_error_set(KAHU_EINTERNAL, "manifest of %s: objects bound to the run "
				    "in an unencrypted backup", m->name);
		goto fail;
	}
	set_int(root, "format", (uint64_t)format_of(m));
	if (m->run[0])
		json_object_set_new(root, "run", json_string(m->run));
	if ((rc = set_str(root, "kahu_version", m->kahu_version, m->name)) < 0 ||
	    (rc = set_str(root, "name", m->name, m->name)) < 0 ||
	    (rc = set_time(root, "created", m->created, m->name)) < 0 ||
	    (rc = set_time(root, "completed", m->completed, m->name)) < 0 ||
	    (m->expires && (rc = set_time(root, "expires", m->expires, m->name)) < 0) ||
	    (m->parent && (rc = set_str(root, "parent", m->parent, m->name)) < 0) ||
	    (m->base && (rc = set_str(root, "base", m->base, m->name)) < 0))
		goto fail;
	json_object_set_new(root, "status", json_string(manifest_status_name(m->status)));
	json_object_set_new(root, "type", json_string(manifest_type_name(m->type)));
	for (size_t i = 0; i < m->n_labels; i++) {
		/* jansson refuses invalid UTF-8 in keys and values (and takes v anyway) */
		json_t *v = json_string(m->labels[i].value);
		if (!v || json_object_set_new(labels, m->labels[i].key, v) < 0) {
			rc = kahu_error_set(KAHU_EUSAGE, "manifest of %s: a label is not valid "
					    "UTF-8", m->name);
			goto fail;
		}
	}
	set_int(counts, "items", m->counts.items);
	set_int(counts, "types", m->counts.types);
	set_int(counts, "skipped", m->counts.skipped);
	set_int(counts, "failed", m->counts.failed);
	set_int(counts, "volumes", m->counts.volumes);
	set_int(counts, "warnings", m->counts.warnings);
	set_int(counts, "errors", m->counts.errors);
	set_int(sizes, "stored", m->stored_bytes);
	json_object_set_new(root, "scope_digest", json_string(m->scope_digest));
	for (size_t i = 0; i < m->n_objects; i++) {
		json_t *o = json_object();
		json_array_append_new(objects, o);
		if ((rc = set_str(o, "path", m->objects[i].path, m->name)) < 0)
			goto fail;
		set_int(o, "size", m->objects[i].size);
		if (m->objects[i].blake2b[0])
			json_object_set_new(o, "blake2b", json_string(m->objects[i].blake2b));
	}
	if (m->cluster.server) {
		json_t *c = json_object();
		json_object_set_new(root, "cluster", c);
		if ((rc = set_str(c, "server", m->cluster.server, m->name)) < 0 ||
		    (m->cluster.uid && (rc = set_str(c, "uid", m->cluster.uid, m->name)) < 0))
			goto fail;
	}
	if (m->volume_location.name) {
		json_t *c = json_object();
		json_object_set_new(root, "volume_location", c);
		if ((rc = set_str(c, "name", m->volume_location.name, m->name)) < 0 ||
		    (rc = set_str(c, "provider", m->volume_location.provider, m->name)) < 0 ||
		    (rc = set_str(c, "token", m->volume_location.token, m->name)) < 0)
			goto fail;
	}
	if (key) {
		char id[KAHU_KEY_ID_HEX_LEN + 1];
		json_object_set_new(root, "encryption", json_string(MANIFEST_ENC_SECRETSTREAM));
		json_object_set_new(root, "key_id", json_string(kahu_key_id_hex(key, id)));
	} else {
		json_object_set_new(root, "encryption", json_string(MANIFEST_ENC_NONE));
	}
	*out = root;
	return 0;
fail:
	json_decref(root);
	return rc;
}

static char *canonical(const json_t *root)
{
	char *s = json_dumps(root, CANON_FLAGS);
	if (!s) {
		fprintf(stderr, "kahu: out of memory (serializing JSON)\n");
		abort();
	}
	return s;
}

int manifest_to_json(const struct manifest *m, const struct kahu_key *key, char **out)
{
	json_t *root = NULL;
	int rc;
	*out = NULL;
	if ((rc = check_struct(m)) < 0 || (rc = build_json(m, key, &root)) < 0)
		return rc;
	if (key)
		seal_doc(root, key, KAHU_SUBKEY_MAC, NULL);
	char *text = canonical(root);
	json_decref(root);
	*out = xasprintf("%s\n", text);
	free(text);
	return 0;
}

/* ---- parsing ----------------------------------------------------------------------- */

static int malformed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int malformed(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	kahu_error_set(KAHU_EDATA, "malformed manifest: %s", msg ? msg : fmt);
	free(msg);
	return KAHU_EDATA;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* A member of obj by type; *out NULL and 0 when absent and optional. */
static int get_field(const json_t *obj, const char *where, const char *key, json_type type,
		     bool required, json_t **out)
{
	static const char *const want[] = { [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
					    [JSON_STRING] = "a string",
					    [JSON_INTEGER] = "an integer" };
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || (!required && json_is_null(v))) {
		if (required)
			return malformed("%s%s\"%s\" is missing", where, *where ? " " : "", key);
		return 0;
	}
	if (json_typeof(v) != type)
		return malformed("%s%s\"%s\" must be %s, not %s", where, *where ? " " : "", key,
				 want[type], json_kind(v));
	*out = v;
	return 0;
}

static int get_string(const json_t *obj, const char *where, const char *key, bool required,
		      size_t max, const char **out)
{
	json_t *v;
	int rc = get_field(obj, where, key, JSON_STRING, required, &v);
	*out = NULL;
	if (rc < 0 || !v)
		return rc;
	const char *s = json_string_value(v);
	if (json_string_length(v) > max)
		return malformed("%s%s\"%s\" is longer than %zu bytes", where, *where ? " " : "",
				 key, max);
	if (has_control(s))
		return malformed("%s%s\"%s\" contains a control character", where,
				 *where ? " " : "", key);
	*out = s;
	return 0;
}

static int get_uint(const json_t *obj, const char *where, const char *key, uint64_t *out)
{
	json_t *v;
	int rc = get_field(obj, where, key, JSON_INTEGER, true, &v);
	if (rc < 0)
		return rc;
	json_int_t i = json_integer_value(v);
	if (i < 0)
		return malformed("%s%s\"%s\" must not be negative", where, *where ? " " : "", key);
	*out = (uint64_t)i;
	return 0;
}

static int get_time(const json_t *obj, const char *key, bool required, time_t *out)
{
	const char *s;
	int rc = get_string(obj, "", key, required, 64, &s);
	*out = 0;
	if (rc < 0 || !s)
		return rc;
	if (parse_time(s, out) < 0)
		return malformed("\"%s\" is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)", key);
	return 0;
}

static int get_enum(const json_t *obj, const char *key, const char *const *names, size_t n,
		    int *out)
{
	const char *s;
	int rc = get_string(obj, "", key, true, 64, &s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, names[i])) {
			*out = (int)i;
			return 0;
		}
	return malformed("unknown %s \"%s\"", key, s);
}

static int get_name(const json_t *obj, const char *key, bool required, char **out)
{
	const char *s, *why;
	int rc = get_string(obj, "", key, required, MANIFEST_NAME_MAX, &s);
	if (rc < 0 || !s)
		return rc;
	if ((why = backup_name_problem(s)))
		return malformed("\"%s\" %s", key, why);
	*out = xstrdup(s);
	return 0;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct manifest_label *)a)->key,
		      ((const struct manifest_label *)b)->key);
}

static int parse_labels(const json_t *root, struct manifest *m)
{
	json_t *labels, *v;
	const char *k;
	int rc = get_field(root, "", "labels", JSON_OBJECT, true, &labels);
	if (rc < 0)
		return rc;
	if (json_object_size(labels) > MANIFEST_LABELS_MAX)
		return malformed("more than %d labels", MANIFEST_LABELS_MAX);
	m->labels = xcalloc(json_object_size(labels) + 1, sizeof *m->labels);
	json_object_foreach(labels, k, v) {
		if (!*k || strlen(k) > MANIFEST_LABEL_KEY_MAX || has_control(k))
			return malformed("bad label key");
		const char *s;
		if ((rc = get_string(labels, "label", k, true, MANIFEST_LABEL_VALUE_MAX, &s)) < 0)
			return rc;
		m->labels[m->n_labels].key = xstrdup(k);
		m->labels[m->n_labels].value = xstrdup(s);
		m->n_labels++;
	}
	qsort(m->labels, m->n_labels, sizeof *m->labels, cmp_label);
	return 0;
}

static int parse_objects(const json_t *root, struct manifest *m)
{
	json_t *arr, *o;
	size_t i;
	int rc = get_field(root, "", "objects", JSON_ARRAY, true, &arr);
	if (rc < 0)
		return rc;
	if (json_array_size(arr) > MANIFEST_OBJECTS_MAX)
		return malformed("more than %d objects", MANIFEST_OBJECTS_MAX);
	m->objects = xcalloc(json_array_size(arr) + 1, sizeof *m->objects);
	json_array_foreach(arr, i, o) {
		char where[48];
		const char *path, *hash;
		uint64_t size;
		snprintf(where, sizeof where, "objects[%zu]", i);
		if (!json_is_object(o))
			return malformed("%s must be an object, not %s", where, json_kind(o));
		/* Format 2: an object without a hash is bound to the run (checked by
		 * parse_root: the run is there and the backup encrypted). */
		if ((rc = get_string(o, where, "path", true, MANIFEST_PATH_MAX, &path)) < 0 ||
		    (rc = get_uint(o, where, "size", &size)) < 0 ||
		    (rc = get_string(o, where, "blake2b",
				     m->format == MANIFEST_FORMAT_VERSION || !m->run[0],
				     KAHU_HASH_HEX_LEN, &hash)) < 0)
			return rc;
		if (bundle_name_check(path) < 0)
			return malformed("%s \"path\": %s", where, kahu_error_last());
		if (hash && !is_lower_hex(hash, KAHU_HASH_HEX_LEN))
			return malformed("%s \"blake2b\" is not 64 lowercase hex digits", where);
		manifest_add_object(m, path, size, hash);
	}
	return 0;
}

/* "cluster" (optional): {"server": URL, "uid": kube-system's UID (optional)}. */
static int parse_cluster(const json_t *root, struct manifest *m)
{
	json_t *c;
	const char *server, *uid;
	int rc = get_field(root, "", "cluster", JSON_OBJECT, false, &c);
	if (rc < 0 || !c)
		return rc;
	if ((rc = get_string(c, "cluster", "server", true, MANIFEST_SERVER_MAX, &server)) < 0 ||
	    (rc = get_string(c, "cluster", "uid", false, MANIFEST_UID_MAX, &uid)) < 0)
		return rc;
	if (!*server)
		return malformed("cluster \"server\" is empty");
	if (uid && !*uid)
		return malformed("cluster \"uid\" is empty");
	manifest_set_cluster(m, server, uid);
	return 0;
}

/* "volume_location" (optional): {"name", "provider", "token": 32 hex}. */
static int parse_volloc(const json_t *root, struct manifest *m)
{
	json_t *c;
	const char *name, *provider, *token;
	int rc = get_field(root, "", "volume_location", JSON_OBJECT, false, &c);
	if (rc < 0 || !c)
		return rc;
	if ((rc = get_string(c, "volume_location", "name", true, MANIFEST_VOLLOC_NAME_MAX, &name)) < 0 ||
	    (rc = get_string(c, "volume_location", "provider", true, MANIFEST_VOLLOC_NAME_MAX, &provider)) < 0 ||
	    (rc = get_string(c, "volume_location", "token", true, MANIFEST_VOLLOC_TOKEN_LEN, &token)) < 0)
		return rc;
	if (!*name || has_control(name) || !*provider || has_control(provider))
		return malformed("volume_location \"name\" or \"provider\" is empty or holds a control character");
	if (!is_lower_hex(token, MANIFEST_VOLLOC_TOKEN_LEN))
		return malformed("volume_location \"token\" is not %d lowercase hex digits",
				 MANIFEST_VOLLOC_TOKEN_LEN);
	manifest_set_volume_location(m, name, provider, token);
	return 0;
}

static int parse_crypto(const json_t *root, struct manifest *m)
{
	const char *enc, *id, *mac;
	int rc;
	if ((rc = get_string(root, "", "encryption", true, 64, &enc)) < 0 ||
	    (rc = get_string(root, "", "key_id", false, 64, &id)) < 0 ||
	    (rc = get_string(root, "", "mac", false, 128, &mac)) < 0)
		return rc;
	if (!strcmp(enc, MANIFEST_ENC_NONE)) {
		if (id || mac)
			return malformed("an unencrypted manifest has no \"key_id\" or \"mac\"");
		return 0;
	}
	if (strcmp(enc, MANIFEST_ENC_SECRETSTREAM) != 0)
		return malformed("unsupported encryption \"%s\"", enc);
	if (!id || !is_lower_hex(id, KAHU_KEY_ID_HEX_LEN))
		return malformed("\"key_id\" must be %d lowercase hex digits", KAHU_KEY_ID_HEX_LEN);
	if (!mac || !is_lower_hex(mac, 2 * KAHU_MAC_BYTES))
		return malformed("\"mac\" must be %d lowercase hex digits", 2 * KAHU_MAC_BYTES);
	m->encrypted = true;
	m->has_mac = true;
	memcpy(m->key_id, id, KAHU_KEY_ID_HEX_LEN + 1);
	return 0;
}

static int parse_root(const json_t *root, struct manifest *m)
{
	json_t *v, *counts, *sizes;
	const char *s;
	int rc, e;

	if ((rc = get_field(root, "", "format", JSON_INTEGER, true, &v)) < 0)
		return rc;
	if (json_integer_value(v) < MANIFEST_FORMAT_VERSION ||
	    json_integer_value(v) > MANIFEST_FORMAT_XXH64)
		return malformed("unsupported manifest format %lld (this kahu reads formats %d "
				 "to %d)", (long long)json_integer_value(v),
				 MANIFEST_FORMAT_VERSION, MANIFEST_FORMAT_XXH64);
	m->format = (int)json_integer_value(v);
	if ((rc = get_string(root, "", "run", m->format == MANIFEST_FORMAT_RUN,
			     MANIFEST_RUN_HEX_LEN, &s)) < 0)
		return rc;
	if (s && !is_lower_hex(s, MANIFEST_RUN_HEX_LEN))
		return malformed("\"run\" is not %d lowercase hex digits", MANIFEST_RUN_HEX_LEN);
	manifest_set_run(m, s);
	if ((rc = get_name(root, "name", true, &m->name)) < 0 ||
	    (rc = get_string(root, "", "kahu_version", true, MANIFEST_STRING_MAX, &s)) < 0)
		return rc;
	if (!*s)
		return malformed("\"kahu_version\" is empty");
	m->kahu_version = xstrdup(s);
	if ((rc = get_time(root, "created", true, &m->created)) < 0 ||
	    (rc = get_time(root, "completed", true, &m->completed)) < 0 ||
	    (rc = get_time(root, "expires", false, &m->expires)) < 0)
		return rc;
	if ((rc = get_enum(root, "status", status_names, 3, &e)) < 0)
		return rc;
	m->status = (enum manifest_status)e;
	if ((rc = get_enum(root, "type", type_names, 3, &e)) < 0)
		return rc;
	m->type = (enum manifest_type)e;
	bool chained = m->type != MANIFEST_FULL;
	if ((rc = get_name(root, "parent", chained, &m->parent)) < 0 ||
	    (rc = get_name(root, "base", chained, &m->base)) < 0)
		return rc;
	if (!chained && (m->parent || m->base))
		return malformed("a full backup has no \"parent\" or \"base\"");
	if ((rc = parse_labels(root, m)) < 0)
		return rc;
	if ((rc = get_field(root, "", "counts", JSON_OBJECT, true, &counts)) < 0 ||
	    (rc = get_uint(counts, "counts", "items", &m->counts.items)) < 0 ||
	    (rc = get_uint(counts, "counts", "types", &m->counts.types)) < 0 ||
	    (rc = get_uint(counts, "counts", "skipped", &m->counts.skipped)) < 0 ||
	    (rc = get_uint(counts, "counts", "failed", &m->counts.failed)) < 0 ||
	    (rc = get_uint(counts, "counts", "volumes", &m->counts.volumes)) < 0 ||
	    (rc = get_uint(counts, "counts", "warnings", &m->counts.warnings)) < 0 ||
	    (rc = get_uint(counts, "counts", "errors", &m->counts.errors)) < 0)
		return rc;
	if ((rc = get_field(root, "", "sizes", JSON_OBJECT, true, &sizes)) < 0 ||
	    (rc = get_uint(sizes, "sizes", "stored", &m->stored_bytes)) < 0)
		return rc;
	if ((rc = get_string(root, "", "scope_digest", true, KAHU_HASH_HEX_LEN, &s)) < 0)
		return rc;
	if (!is_lower_hex(s, KAHU_HASH_HEX_LEN))
		return malformed("\"scope_digest\" is not 64 lowercase hex digits");
	memcpy(m->scope_digest, s, KAHU_HASH_HEX_LEN + 1);
	if ((rc = parse_objects(root, m)) < 0 || (rc = parse_cluster(root, m)) < 0 ||
	    (rc = parse_volloc(root, m)) < 0 || (rc = parse_crypto(root, m)) < 0)
		return rc;
	if (m->format == MANIFEST_FORMAT_RUN && !m->encrypted)
		return malformed("format %d is for encrypted backups only", MANIFEST_FORMAT_RUN);
	if (has_unhashed(m) && !m->encrypted)
		return malformed("objects without \"blake2b\" in an unencrypted backup");
	return 0;
}

static int load_json(const char *text, size_t len, json_t **out)
{
	json_error_t jerr;
	*out = NULL;
	if (len > MANIFEST_TEXT_MAX)
		return malformed("%zu bytes, more than the %u allowed", len, MANIFEST_TEXT_MAX);
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return malformed("invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
				 jerr.text);
	if (!json_is_object(root)) {
		int rc = malformed("expected a JSON object, not %s", json_kind(root));
		json_decref(root);
		return rc;
	}
	*out = root;
	return 0;
}

int manifest_parse(const char *text, size_t len, struct manifest **out)
{
	json_t *root;
	int rc;
	*out = NULL;
	if ((rc = load_json(text, len, &root)) < 0)
		return rc;
	struct manifest *m = manifest_new();
	rc = parse_root(root, m);
	json_decref(root);
	if (rc < 0) {
		manifest_free(m);
		return rc;
	}
	m->text = xmalloc(len + 1);
	memcpy(m->text, text, len);
	m->text[len] = '\0';
	m->text_len = len;
	*out = m;
	return 0;
}

static int check_mac(const char *text, size_t len, const struct manifest *m,
		     const struct kahu_key *key)
{
	json_t *root;
	int rc = load_json(text, len, &root);
	if (rc < 0)
		return rc;
	char *what = xasprintf("the manifest of backup %s", m->name);
	rc = seal_doc_verify(root, key, KAHU_SUBKEY_MAC, NULL, what);
	free(what);
	json_decref(root);
	return rc;
}

static int verify_parsed(const char *text, size_t len, const struct manifest *m,
			 const struct kahu_key *key)
{
	char id[KAHU_KEY_ID_HEX_LEN + 1];
	if (!key) {
		if (m->has_mac)
			return kahu_error_set(KAHU_ECRYPTO,
					      "backup %s is encrypted (key %s): its manifest can "
					      "only be authenticated with that key", m->name,
					      m->key_id);
		return 0;
	}
	if (!m->has_mac)
		return kahu_error_set(KAHU_ECRYPTO,
				      "the manifest of backup %s carries no MAC (it says the "
				      "backup was written without encryption), so it cannot be "
				      "authenticated with the key in use: refusing it", m->name);
	kahu_key_id_hex(key, id);
	if (strcmp(id, m->key_id) != 0)
		return kahu_error_set(KAHU_ECRYPTO,
				      "the manifest of backup %s was written with key %s, the key "
				      "in use is %s", m->name, m->key_id, id);
	return check_mac(text, len, m, key);
}

int manifest_verify(const char *text, size_t len, const struct kahu_key *key)
{
	struct manifest *m = NULL;
	int rc = manifest_parse(text, len, &m);
	if (rc == 0)
		rc = verify_parsed(text, len, m, key);
	manifest_free(m);
	return rc;
}

int manifest_authenticate(struct manifest *m, const struct kahu_key *key)
{
	int rc = verify_parsed(m->text, m->text_len, m, key);
	m->authenticated = rc == 0 && m->has_mac;
	return rc;
}

int manifest_load(const char *text, size_t len, const struct kahu_key *key,
		  struct manifest **out)
{
	struct manifest *m = NULL;
	int rc = manifest_parse(text, len, &m);
	*out = NULL;
	if (rc == 0 && (rc = manifest_authenticate(m, key)) == 0) {
		*out = m;
		return 0;
	}
	manifest_free(m);
	return rc;
}

const char *manifest_auth_warning(const struct manifest *m)
{
	static __thread char buf[MANIFEST_NAME_MAX + 128];
	if (m->has_mac)
		return NULL;
	snprintf(buf, sizeof buf, "backup %s was written without encryption: its manifest "
		 "carries no MAC and cannot be authenticated", m->name);
	return buf;
}

/* ---- index lines ------------------------------------------------------------------- */

/* The length of the UTF-8 sequence at s (n bytes left), 0 when it is not one jansson
 * accepts in a string: no overlong forms, no surrogates, nothing beyond U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], cp;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;       /* a continuation byte, or an overlong 2-byte form */
	if (c < 0xe0) {
		len = 2;
		cp = c & 0x1f;
	} else if (c < 0xf0) {
		len = 3;
		cp = c & 0x0f;
	} else if (c < 0xf5) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Is str valid UTF-8?  Sets *len to its length. */
static bool valid_utf8(const char *str, size_t *len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	*len = n;
	for (size_t i = 0; i < n;) {
		size_t k = s[i] < 0x80 ? 1 : utf8_seq(s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

/* "key":"value" at p, as jansson writes a string without JSON_ENSURE_ASCII: '"' and
 * '\\' escaped, control characters as \b \f \n \r \t or \u00XX (uppercase hex),
 * everything else (DEL, '/', non-ASCII) as it is.  value is valid UTF-8; p has room for
 * member_max(key, value) bytes.  Returns the end. */
static char *put_member(char *p, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	*p++ = '"';
	while (*key)
		*p++ = *key++;
	*p++ = '"';
	*p++ = ':';
	*p++ = '"';
	for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
		unsigned c = *s;
		if (c >= 0x20 && c != '"' && c != '\\') {
			*p++ = (char)c;
			continue;
		}
		*p++ = '\\';
		switch (c) {
		case '"': *p++ = '"'; break;
		case '\\': *p++ = '\\'; break;
		case '\b': *p++ = 'b'; break;
		case '\f': *p++ = 'f'; break;
		case '\n': *p++ = 'n'; break;
		case '\r': *p++ = 'r'; break;
		case '\t': *p++ = 't'; break;
		default:
			*p++ = 'u';
			*p++ = '0';
			*p++ = '0';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p++ = '"';
	return p;
}

/* The most put_member can write: every byte of the value escaped as \u00XX, a comma. */
static size_t member_max(const char *key, size_t vlen)
{
	return strlen(key) + 6 + 6 * vlen + 1;
}

/* Printed directly, the bytes jansson's canonical form (JSON_SORT_KEYS | JSON_COMPACT)
 * of the same object would have: members in key order, h n ns r rv uid. */
int index_line_format(const struct index_entry *e, struct kbuf *out)
{
	if (!e->resource || !*e->resource || !e->name || !*e->name || (e->ns && !*e->ns))
		return kahu_error_set(KAHU_EUSAGE, "index line: resource and name are required, "
				      "namespace must not be empty");
	if (!is_lower_hex(e->hash, KAHU_HASH_HEX_LEN))
		return kahu_error_set(KAHU_EUSAGE, "index line for %s %s: the hash is not 64 "
				      "lowercase hex digits", e->resource, e->name);
	const char *keys[] = { "r", "ns", "n", "uid", "rv" };
	const char *vals[] = { e->resource, e->ns, e->name, e->uid, e->rv };
	size_t room = 8 + KAHU_HASH_HEX_LEN + 2, n;
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		if (!vals[i])
			continue;
		if (!valid_utf8(vals[i], &n))
			return kahu_error_set(KAHU_EUSAGE, "index line for %s: field \"%s\" is not "
					      "valid UTF-8", e->resource, keys[i]);
		room += member_max(keys[i], n);
	}
	kbuf_grow(out, room);
	char *start = out->data + out->len, *p = start;
	memcpy(p, "{\"h\":\"", 6);
	p += 6;
	memcpy(p, e->hash, KAHU_HASH_HEX_LEN);
	p += KAHU_HASH_HEX_LEN;
	*p++ = '"';
	*p++ = ',';
	p = put_member(p, "n", e->name);
	if (e->ns) {
		*p++ = ',';
		p = put_member(p, "ns", e->ns);
	}
	*p++ = ',';
	p = put_member(p, "r", e->resource);
	if (e->rv) {
		*p++ = ',';
		p = put_member(p, "rv", e->rv);
	}
	if (e->uid) {
		*p++ = ',';
		p = put_member(p, "uid", e->uid);
	}
	*p++ = '}';
	*p++ = '\n';
	*p = '\0';
	out->len += (size_t)(p - start);
	return 0;
}

static int index_field(const json_t *o, const char *key, bool required, char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v) {
		if (required)
			return kahu_error_set(KAHU_EDATA, "malformed index line: \"%s\" is missing",
					      key);
		return 0;
	}
	if (!json_is_string(v))
		return kahu_error_set(KAHU_EDATA, "malformed index line: \"%s\" must be a string, "
				      "not %s", key, json_kind(v));
	if (json_string_length(v) == 0 && strcmp(key, "uid") && strcmp(key, "rv"))
		return kahu_error_set(KAHU_EDATA, "malformed index line: \"%s\" is empty", key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

int index_line_parse(const char *line, size_t len, struct index_entry *e)
{
	json_error_t jerr;
	char *h = NULL;
	int rc;
	memset(e, 0, sizeof *e);
	if (len && line[len - 1] == '\n')
		len--;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return kahu_error_set(KAHU_EDATA, "malformed index line: invalid JSON at column "
				      "%d: %s", jerr.column, jerr.text);
	if (!json_is_object(o)) {
		rc = kahu_error_set(KAHU_EDATA, "malformed index line: expected an object, not %s",
				    json_kind(o));
		goto out;
	}
	if ((rc = index_field(o, "r", true, &e->resource)) < 0 ||
	    (rc = index_field(o, "ns", false, &e->ns)) < 0 ||
	    (rc = index_field(o, "n", true, &e->name)) < 0 ||
	    (rc = index_field(o, "uid", false, &e->uid)) < 0 ||
	    (rc = index_field(o, "rv", false, &e->rv)) < 0 ||
	    (rc = index_field(o, "h", true, &h)) < 0)
		goto out;
	if (!is_lower_hex(h, KAHU_HASH_HEX_LEN)) {
		rc = kahu_error_set(KAHU_EDATA, "malformed index line: \"h\" is not 64 lowercase "
				    "hex digits");
		goto out;
	}
	memcpy(e->hash, h, KAHU_HASH_HEX_LEN + 1);
out:
	free(h);
	json_decref(o);
	if (rc < 0)
		index_entry_clear(e);
	return rc;
}

void index_entry_clear(struct index_entry *e)
{
	if (!e)
		return;
	free(e->resource);
	free(e->ns);
	free(e->name);
	free(e->uid);
	free(e->rv);
	memset(e, 0, sizeof *e);
}

/* ---- member names ------------------------------------------------------------------ */

static int path_component(const char *what, const char *s)
{
	if (!s || !*s)
		return kahu_error_set(KAHU_EUSAGE, "empty %s: it cannot name an archive member", what);
	return 0;
}

int bundle_resource_path(const char *group_resource, const char *ns, const char *name,
			 char **out)
{
	struct kbuf b = KBUF_INIT;
	int rc;
	*out = NULL;
	if ((rc = path_component("group-resource", group_resource)) < 0 ||
	    (ns && (rc = path_component("namespace", ns)) < 0) ||
	    (rc = path_component("name", name)) < 0)
		return rc;
	/* room for the usual name at once (an encoded one grows it) */
	kbuf_grow(&b, 32 + strlen(group_resource) + (ns ? strlen(ns) : 0) + strlen(name));
	kbuf_adds(&b, "resources/");
	bundle_component_add(group_resource, strlen(group_resource), &b);
	if (ns) {
		kbuf_adds(&b, "/namespaces/");
		bundle_component_add(ns, strlen(ns), &b);
		kbuf_addc(&b, '/');
	} else {
		kbuf_adds(&b, "/cluster/");
	}
	bundle_component_add(name, strlen(name), &b);
	kbuf_adds(&b, ".json");
	/* Cannot fail: every component is safe or encoded, the whole well under the limit. */
	if ((rc = bundle_name_check(kbuf_str(&b))) < 0) {
		kbuf_free(&b);
		return kahu_error_wrap(KAHU_EINTERNAL, "naming an archive member");
	}
	*out = kbuf_detach(&b);
	return 0;
}

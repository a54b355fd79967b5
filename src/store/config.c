/* kahu — configuration file: locations and keys (see config.h). */
#include "store/config.h"
#include "store/loader.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- paths ---- */

static char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && h[0] == '/')
		return xstrdup(h);
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_dir && pw->pw_dir[0] == '/')
		return xstrdup(pw->pw_dir);
	return xstrdup("/");
}

/* The XDG base directory spec: a relative value is invalid and ignored. */
static char *xdg_dir(const char *var, const char *fallback)
{
	const char *v = getenv(var);
	if (v && v[0] == '/')
		return xstrdup(v);
	char *home = home_dir();
	char *p = xasprintf("%s/%s", strcmp(home, "/") == 0 ? "" : home, fallback);
	free(home);
	return p;
}

char *config_xdg_config_home(void) { return xdg_dir("XDG_CONFIG_HOME", ".config"); }
char *config_xdg_data_home(void) { return xdg_dir("XDG_DATA_HOME", ".local/share"); }

char *config_default_key_path(void)
{
	char *d = config_xdg_config_home();
	char *p = xasprintf("%s/kahu/keys/default.key", d);
	free(d);
	return p;
}

char *config_resolve_path(const char *explicit_path)
{
	if (explicit_path && *explicit_path)
		return xstrdup(explicit_path);
	const char *env = getenv(KAHU_ENV_CONFIG);
	if (env && *env)
		return xstrdup(env);
	char *d = config_xdg_config_home();
	char *p = xasprintf("%s/kahu/config.json", d);
	free(d);
	return p;
}

/* "~/x" → "$HOME/x"; a relative path → relative to `base_dir` (when not NULL). */
static char *expand_path(const char *p, const char *base_dir)
{
	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
		char *home = home_dir();
		char *r = xasprintf("%s%s", strcmp(home, "/") == 0 ? "" : home, p + 1);
		free(home);
		return r;
	}
	if (p[0] != '/' && base_dir)
		return xasprintf("%s/%s", base_dir, p);
	return xstrdup(p);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* ---- locations ---- */

static void location_clear(struct kahu_location *l)
{
	free(l->name);
	free(l->provider);
	for (size_t i = 0; i < l->nkv; i++) {
		free((char *)l->kv[i].key);
		free((char *)l->kv[i].value);
	}
	free(l->kv);
	free(l->key_file);
	free(l->passphrase_file);
	memset(l, 0, sizeof *l);
}

static void location_copy(struct kahu_location *dst, const struct kahu_location *src)
{
	dst->name = xstrdup(src->name);
	dst->provider = xstrdup(src->provider);
	dst->nkv = src->nkv;
	dst->kv = xcalloc(src->nkv ? src->nkv : 1, sizeof *dst->kv);
	for (size_t i = 0; i < src->nkv; i++) {
		dst->kv[i].key = xstrdup(src->kv[i].key);
		dst->kv[i].value = xstrdup(src->kv[i].value);
	}
	dst->key_file = xstrdup(src->key_file);
	dst->passphrase_file = xstrdup(src->passphrase_file);
	dst->no_encryption = src->no_encryption;
	dst->access = src->access;
	dst->embedded = src->embedded;
}

static void kv_add(struct kahu_location *l, const char *k, char *v_owned)
{
	l->kv = xrealloc(l->kv, (l->nkv + 1) * sizeof *l->kv);
	l->kv[l->nkv].key = xstrdup(k);
	l->kv[l->nkv].value = v_owned;
	l->nkv++;
}

const char *location_config_get(const struct kahu_location *loc, const char *key)
{
	for (size_t i = 0; i < loc->nkv; i++)
		if (strcmp(loc->kv[i].key, key) == 0)
			return loc->kv[i].value;
	return NULL;
}

static void add_embedded_default(struct kahu_config *cfg)
{
	struct kahu_location *l;
	cfg->locs = xrealloc(cfg->locs, (cfg->nlocs + 1) * sizeof *cfg->locs);
	l = &cfg->locs[cfg->nlocs++];
	memset(l, 0, sizeof *l);
	l->name = xstrdup(KAHU_DEFAULT_LOCATION);
	l->provider = xstrdup("fs");
	char *data = config_xdg_data_home();
	kv_add(l, "path", xasprintf("%s/kahu/backups", data));
	free(data);
	l->access = LOCATION_READ_WRITE;
	l->embedded = 1;
}

/* ---- parsing ---- */

/* "FILE: locations.prod.provider: expected …": jansson keeps no positions for
 * values, so a field is named by its path. */
static int field_error(const char *origin, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int field_error(const char *origin, const char *fmt, ...)
{
	struct kbuf b = KBUF_INIT;
	va_list ap;
	kbuf_addf(&b, "%s: ", origin);
	va_start(ap, fmt);
	kbuf_addvf(&b, fmt, ap);
	va_end(ap);
	int rc = kahu_error_set(KAHU_ECONFIG, "%s", kbuf_str(&b));
	kbuf_free(&b);
	return rc;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int parse_provider_config(const char *origin, const char *lname, json_t *c,
				 struct kahu_location *l)
{
	const char *k;
	json_t *v;
	if (!json_is_object(c))
		return field_error(origin, "locations.%s.config: expected an object, found %s",
				   lname, json_type_name(c));
	json_object_foreach(c, k, v) {
		char *s;
		if (json_is_string(v))
			s = xstrdup(json_string_value(v));
		else if (json_is_integer(v))
			s = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_real(v))
			s = xasprintf("%.17g", json_real_value(v));
		else if (json_is_boolean(v))
			s = xstrdup(json_is_true(v) ? "true" : "false");
		else
			return field_error(origin, "locations.%s.config.%s: expected a string, "
					   "number or boolean, found %s", lname, k,
					   json_type_name(v));
		/* The fs provider wants an absolute path; "~/backups" is what people write. */
		if (strcmp(l->provider, "fs") == 0 && strcmp(k, "path") == 0) {
			char *e = expand_path(s, NULL);
			free(s);
			s = e;
		}
		kv_add(l, k, s);
	}
	return 0;
}

int config_location_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return 0;
	return 1;
}

static int parse_location(const char *origin, const char *lname, json_t *o,
			  struct kahu_location *l, const char *base_dir)
{
	const char *k;
	json_t *v;
	json_t *cfgv = NULL;

	l->name = xstrdup(lname);
	if (!config_location_name_ok(lname))
		return field_error(origin, "locations.%s: a location name is 1 to 63 letters, "
				   "digits, '-', '_' or '.', starting with a letter or digit", lname);
	if (!json_is_object(o))
		return field_error(origin, "locations.%s: expected an object, found %s", lname,
				   json_type_name(o));
	json_object_foreach(o, k, v) {
		if (strcmp(k, "provider") == 0) {
			if (!json_is_string(v) || !*json_string_value(v))
				return field_error(origin, "locations.%s.provider: expected a "
						   "provider name (a string)", lname);
			l->provider = xstrdup(json_string_value(v));
		} else if (strcmp(k, "config") == 0) {
			cfgv = v;
		} else if (strcmp(k, "keyFile") == 0) {
			if (!json_is_string(v) || !*json_string_value(v))
				return field_error(origin, "locations.%s.keyFile: expected a file "
						   "name (a string)", lname);
			l->key_file = expand_path(json_string_value(v), base_dir);
		} else if (strcmp(k, "passphraseFile") == 0) {
			if (!json_is_string(v) || !*json_string_value(v))
				return field_error(origin, "locations.%s.passphraseFile: expected a "
						   "file name (a string)", lname);
			l->passphrase_file = expand_path(json_string_value(v), base_dir);
		} else if (strcmp(k, "encryption") == 0) {
			if (!json_is_boolean(v))
				return field_error(origin, "locations.%s.encryption: expected true "
						   "or false", lname);
			l->no_encryption = !json_is_true(v);
		} else if (strcmp(k, "access") == 0) {
			const char *a = json_string_value(v);
			if (a && strcmp(a, "ReadWrite") == 0)
				l->access = LOCATION_READ_WRITE;
			else if (a && strcmp(a, "ReadOnly") == 0)
				l->access = LOCATION_READ_ONLY;
			else
				return field_error(origin, "locations.%s.access: expected "
						   "\"ReadWrite\" or \"ReadOnly\"", lname);
		} else {
			return field_error(origin, "locations.%s.%s: unknown field (known: "
					   "provider, config, keyFile, passphraseFile, encryption, access)", lname, k);
		}
	}
	if (!l->provider)
		return field_error(origin, "locations.%s.provider: missing (e.g. \"fs\")", lname);
	l->kv = xcalloc(1, sizeof *l->kv);
	if (cfgv)
		return parse_provider_config(origin, lname, cfgv, l);
	return 0;
}

static int provider_name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

static void strlist_add(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

static void strlist_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int strlist_find(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return (int)i;
	return -1;
}

static int strlist_remove(char **v, size_t *n, const char *s)
{
	int i = strlist_find(v, *n, s);
	if (i < 0)
		return 0;
	free(v[i]);
	memmove(&v[i], &v[i + 1], (*n - (size_t)i - 1) * sizeof *v);
	(*n)--;
	return 1;
}

/* "providers": { "plugins": [FILE…], "passive": [NAME…] } */
static int parse_providers(const char *origin, json_t *o, const char *base_dir,
			   struct kahu_config *cfg)
{
	const char *k;
	json_t *v;
	if (!json_is_object(o))
		return field_error(origin, "providers: expected an object, found %s",
				   json_type_name(o));
	json_object_foreach(o, k, v) {
		int plugins = strcmp(k, "plugins") == 0;
		if (!plugins && strcmp(k, "passive") != 0)
			return field_error(origin, "providers.%s: unknown field (known: plugins, "
					   "passive)", k);
		if (!json_is_array(v))
			return field_error(origin, "providers.%s: expected an array, found %s", k,
					   json_type_name(v));
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			const char *s = json_string_value(e);
			if (!s || !*s)
				return field_error(origin, "providers.%s[%zu]: expected %s (a string)",
						   k, i, plugins ? "a file name" : "a provider name");
			if (plugins) {
				char *p = expand_path(s, base_dir);
				if (strlist_find(cfg->plugins, cfg->nplugins, p) < 0)
					strlist_add(&cfg->plugins, &cfg->nplugins, p);
				free(p);
			} else {
				if (!provider_name_ok(s))
					return field_error(origin, "providers.passive[%zu]: \"%s\" is "
							   "not a provider name (lowercase letters, "
							   "digits and '-')", i, s);
				if (strlist_find(cfg->passive, cfg->npassive, s) < 0)
					strlist_add(&cfg->passive, &cfg->npassive, s);
			}
		}
	}
	return 0;
}

static int parse_doc(json_t *doc, const char *origin, const char *base_dir,
		     struct kahu_config *cfg)
{
	const char *k;
	json_t *v;

	if (!json_is_object(doc))
		return kahu_error_set(KAHU_ECONFIG, "%s: expected a JSON object at the top, found %s",
				      origin, json_type_name(doc));
	json_object_foreach(doc, k, v) {
		if (strcmp(k, "version") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) != KAHU_CONFIG_VERSION)
				return field_error(origin, "version: unsupported configuration "
						   "version (this kahu reads version %d)",
						   KAHU_CONFIG_VERSION);
		} else if (strcmp(k, "defaultLocation") == 0) {
			if (!json_is_string(v) || !*json_string_value(v))
				return field_error(origin, "defaultLocation: expected a location "
						   "name (a string)");
			cfg->default_location = xstrdup(json_string_value(v));
		} else if (strcmp(k, "locations") == 0) {
			const char *lname;
			json_t *lo;
			if (!json_is_object(v))
				return field_error(origin, "locations: expected an object, found %s",
						   json_type_name(v));
			cfg->locs = xcalloc(json_object_size(v) + 1, sizeof *cfg->locs);
			json_object_foreach(v, lname, lo) {
				struct kahu_location *l = &cfg->locs[cfg->nlocs++];
				int rc = parse_location(origin, lname, lo, l, base_dir);
				if (rc < 0)
					return rc;
			}
		} else if (strcmp(k, "providers") == 0) {
			int rc = parse_providers(origin, v, base_dir, cfg);
			if (rc < 0)
				return rc;
		} else {
			log_debug("%s: ignoring the unknown top-level field \"%s\"", origin, k);
		}
	}
	if (cfg->nlocs == 0)
		add_embedded_default(cfg);
	return 0;
}

static struct kahu_config *config_new(const char *path)
{
	struct kahu_config *cfg = xcalloc(1, sizeof *cfg);
	cfg->path = xstrdup(path);
	return cfg;
}

static int parse_text(const char *text, size_t len, const char *origin, const char *base_dir,
		      struct kahu_config **out)
{
	json_error_t jerr;
	struct kahu_config *cfg = config_new(origin);
	int rc;

	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		rc = kahu_error_set(KAHU_ECONFIG, "%s:%d:%d: %s", origin, jerr.line, jerr.column,
				    jerr.text);
		goto fail;
	}
	cfg->doc = doc;
	if ((rc = parse_doc(doc, origin, base_dir, cfg)) < 0)
		goto fail;
	*out = cfg;
	return 0;
fail:
	config_free(cfg);
	return rc;
}

int config_parse(const char *text, size_t len, const char *origin, struct kahu_config **out)
{
	*out = NULL;
	return parse_text(text, len, origin, NULL, out);
}

/* Read the file and judge who may change it (by the opened file, so a symlink is
 * judged by its target and cannot be swapped in between). */
static int read_config_file(const char *path, struct kbuf *out, int *missing)
{
	*missing = 0;
	/* O_NONBLOCK: a FIFO must not stall the open (refused below); reads of a regular
	 * file ignore the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = 1;
			return 0;
		}
		return kahu_error_set(errno == EACCES ? KAHU_EPERM : KAHU_EIO,
				      "cannot open the configuration file %s: %s", path,
				      strerror(errno));
	}
	int rc = 0;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = kahu_error_set(KAHU_EIO, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = kahu_error_set(KAHU_ECONFIG, "the configuration file %s is not a regular file",
				    path);
		goto out;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		rc = kahu_error_set(KAHU_EPERM,
				    "the configuration file %s is writable by %s (mode %04o); it "
				    "decides where backups go and which key file is read, so kahu "
				    "refuses it: chmod go-w %s",
				    path, (st.st_mode & S_IWOTH) ? "others" : "its group",
				    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		rc = kahu_error_set(KAHU_EPERM,
				    "the configuration file %s belongs to another user (uid %u); "
				    "kahu reads only its own or root's configuration",
				    path, (unsigned)st.st_uid);
		goto out;
	}
	if (st.st_size > KAHU_CONFIG_MAX_SIZE) {
		rc = kahu_error_set(KAHU_ECONFIG, "the configuration file %s is too large "
				    "(more than %d bytes)", path, KAHU_CONFIG_MAX_SIZE);
		goto out;
	}
	for (;;) {
		kbuf_grow(out, 4096);
		ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = kahu_error_set(KAHU_EIO, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > KAHU_CONFIG_MAX_SIZE) {
			rc = kahu_error_set(KAHU_ECONFIG, "the configuration file %s is too large",
					    path);
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

int config_load(const char *explicit_path, struct kahu_config **out)
{
	char *path = config_resolve_path(explicit_path);
	struct kbuf text = KBUF_INIT;
	int missing, rc;

	*out = NULL;
	if ((rc = read_config_file(path, &text, &missing)) < 0)
		goto out;
	if (missing) {
		/* An explicitly named file must exist; the default one need not. */
		if (explicit_path && *explicit_path) {
			rc = kahu_error_set(KAHU_ENOTFOUND, "the configuration file %s does not exist",
					    path);
			goto out;
		}
		struct kahu_config *cfg = config_new(path);
		add_embedded_default(cfg);
		log_debug("no configuration file %s: using the embedded default", path);
		*out = cfg;
		goto out;
	}
	char *base = dir_of(path);
	rc = parse_text(kbuf_str(&text), text.len, path, base, out);
	free(base);
	if (rc == 0) {
		(*out)->from_file = 1;
		loader_set_registered((*out)->plugins, (*out)->nplugins);
	}
out:
	kbuf_free(&text);
	free(path);
	return rc;
}

void config_free(struct kahu_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nlocs; i++)
		location_clear(&cfg->locs[i]);
	free(cfg->locs);
	free(cfg->default_location);
	free(cfg->path);
	strlist_free(cfg->plugins, cfg->nplugins);
	strlist_free(cfg->passive, cfg->npassive);
	json_decref(cfg->doc);
	free(cfg);
}

/* ---- lookup ---- */

static const struct kahu_location *find(const struct kahu_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nlocs; i++)
		if (strcmp(cfg->locs[i].name, name) == 0)
			return &cfg->locs[i];
	return NULL;
}

static char *location_names(const struct kahu_config *cfg)
{
	struct strv names = STRV_INIT;
	for (size_t i = 0; i < cfg->nlocs; i++)
		strv_push(&names, cfg->locs[i].name);
	strv_sort(&names);
	char *s = names.n ? strv_join(&names, ", ") : xstrdup("none");
	strv_free(&names);
	return s;
}

int config_location(const struct kahu_config *cfg, const char *name,
		    const struct kahu_location **out)
{
	const struct kahu_location *l;
	*out = NULL;
	if (!name || !*name) {
		if (cfg->default_location) {
			name = cfg->default_location;
		} else if ((l = find(cfg, KAHU_DEFAULT_LOCATION))) {
			*out = l;
			return 0;
		} else if (cfg->nlocs == 1) {
			*out = &cfg->locs[0];
			return 0;
		} else {
			char *names = location_names(cfg);
			int rc = kahu_error_set(KAHU_ECONFIG,
						"%s: no default location: set \"defaultLocation\" or "
						"name one with --location (locations: %s)",
						cfg->path, names);
			free(names);
			return rc;
		}
	}
	if ((l = find(cfg, name))) {
		*out = l;
		return 0;
	}
	char *names = location_names(cfg);
	int rc;
	if (name == cfg->default_location)
		rc = kahu_error_set(KAHU_ECONFIG, "%s: defaultLocation: no location named %s "
				    "(locations: %s)", cfg->path, name, names);
	else
		rc = kahu_error_set(KAHU_ENOTFOUND, "no location named %s (locations: %s)", name,
				    names);
	free(names);
	return rc;
}

/* ---- editing and saving ---- */

void config_set_location(struct kahu_config *cfg, const struct kahu_location *loc,
			 int make_default)
{
	struct kahu_location *slot = NULL;
	for (size_t i = 0; i < cfg->nlocs; i++)
		if (strcmp(cfg->locs[i].name, loc->name) == 0)
			slot = &cfg->locs[i];
	struct kahu_location copy;
	location_copy(&copy, loc);
	copy.embedded = 0;
	if (slot) {
		location_clear(slot);
	} else {
		cfg->locs = xrealloc(cfg->locs, (cfg->nlocs + 1) * sizeof *cfg->locs);
		slot = &cfg->locs[cfg->nlocs++];
	}
	*slot = copy;
	if (make_default) {
		free(cfg->default_location);
		cfg->default_location = xstrdup(loc->name);
	}
}

int config_remove_location(struct kahu_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nlocs; i++) {
		if (strcmp(cfg->locs[i].name, name) != 0)
			continue;
		location_clear(&cfg->locs[i]);
		memmove(&cfg->locs[i], &cfg->locs[i + 1], (cfg->nlocs - i - 1) * sizeof *cfg->locs);
		cfg->nlocs--;
		if (cfg->default_location && strcmp(cfg->default_location, name) == 0) {
			free(cfg->default_location);
			cfg->default_location = NULL;
		}
		return 0;
	}
	char *names = location_names(cfg);
	int rc = kahu_error_set(KAHU_ENOTFOUND, "no location named %s (locations: %s)", name, names);
	free(names);
	return rc;
}

static json_t *location_json(const struct kahu_location *l)
{
	json_t *c = json_object();
	for (size_t i = 0; i < l->nkv; i++)
		json_object_set_new(c, l->kv[i].key, json_string(l->kv[i].value));
	json_t *o = json_pack("{s:s, s:o}", "provider", l->provider, "config", c);
	if (l->key_file)
		json_object_set_new(o, "keyFile", json_string(l->key_file));
	if (l->passphrase_file)
		json_object_set_new(o, "passphraseFile", json_string(l->passphrase_file));
	if (l->no_encryption)
		json_object_set_new(o, "encryption", json_false());
	json_object_set_new(o, "access",
			    json_string(l->access == LOCATION_READ_ONLY ? "ReadOnly" : "ReadWrite"));
	return o;
}

static json_t *strlist_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

int config_save(struct kahu_config *cfg, const char *path)
{
	if (!path)
		path = cfg->path;
	json_t *doc = cfg->doc ? json_deep_copy(cfg->doc) : json_object();
	json_t *locs = json_object();
	char *dir = dir_of(path), *tmp = NULL, *text = NULL;
	int fd = -1, rc;

	json_object_set_new(doc, "version", json_integer(KAHU_CONFIG_VERSION));
	if (cfg->default_location)
		json_object_set_new(doc, "defaultLocation", json_string(cfg->default_location));
	else
		json_object_del(doc, "defaultLocation");
	for (size_t i = 0; i < cfg->nlocs; i++)
		if (!cfg->locs[i].embedded)
			json_object_set_new(locs, cfg->locs[i].name, location_json(&cfg->locs[i]));
	json_object_set_new(doc, "locations", locs);
	if (cfg->nplugins || cfg->npassive) {
		json_t *prov = json_object();
		if (cfg->nplugins)
			json_object_set_new(prov, "plugins", strlist_json(cfg->plugins, cfg->nplugins));
		if (cfg->npassive)
			json_object_set_new(prov, "passive", strlist_json(cfg->passive, cfg->npassive));
		json_object_set_new(doc, "providers", prov);
	} else {
		json_object_del(doc, "providers");
	}
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = kahu_error_set(KAHU_EINTERNAL, "cannot serialise the configuration");
		goto out;
	}
	if ((rc = kahu_mkdirs(dir, 0700)) < 0)
		goto out;
	/* <path>.tmp.XXXXXX beside it: the rename in kahu_tmpfile_commit replaces it in one
	 * step, so a reader sees the old file or the new one, never a part. */
	fd = kahu_tmpfile_beside(path, ".tmp.", "the configuration", &tmp);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || kahu_write_all(fd, text, strlen(text)) < 0 ||
	    kahu_write_all(fd, "\n", 1) < 0) {
		rc = kahu_error_set(errno == ENOSPC ? KAHU_ENOSPC : KAHU_EIO, "cannot write %s: %s",
				    tmp, strerror(errno));
		kahu_tmpfile_discard(fd, tmp);
		goto out;
	}
	rc = kahu_tmpfile_commit(fd, tmp, path);
	if (rc < 0)
		goto out;
	json_decref(cfg->doc);
	cfg->doc = doc;
	doc = NULL;
	cfg->from_file = 1;
out:
	free(tmp);
	free(text);
	free(dir);
	json_decref(doc);
	return rc;
}

/* ---- providers ---- */

int config_provider_passive(const struct kahu_config *cfg, const char *name)
{
	return strlist_find(cfg->passive, cfg->npassive, name) >= 0;
}

int config_check_provider_active(const struct kahu_config *cfg,
				 const struct kahu_location *loc)
{
	if (!config_provider_passive(cfg, loc->provider))
		return 0;
	return kahu_error_set(KAHU_EPERM, "location %s: provider %s is disabled (passive): it "
			      "serves reads and restores only, no new backups, deletions or "
			      "prunes; 'kahu provider enable %s' makes it active again",
			      loc->name, loc->provider, loc->provider);
}

int config_set_provider_passive(struct kahu_config *cfg, const char *name, int passive)
{
	if (passive) {
		if (config_provider_passive(cfg, name))
			return 0;
		strlist_add(&cfg->passive, &cfg->npassive, name);
		return 1;
	}
	return strlist_remove(cfg->passive, &cfg->npassive, name);
}

int config_add_plugin(struct kahu_config *cfg, const char *path)
{
	if (strlist_find(cfg->plugins, cfg->nplugins, path) >= 0)
		return 0;
	strlist_add(&cfg->plugins, &cfg->nplugins, path);
	return 1;
}

int config_remove_plugin(struct kahu_config *cfg, const char *path)
{
	return strlist_remove(cfg->plugins, &cfg->nplugins, path);
}

/* kahu — its own configuration: locations (where backups go) and their keys.
 *
 * The file: `--config FILE`, else $KAHU_CONFIG, else $XDG_CONFIG_HOME/kahu/config.json
 * (~/.config/kahu/config.json).  JSON:
 *
 *   { "version": 1,
 *     "defaultLocation": "default",
 *     "locations": {
 *       "NAME": { "provider": "fs", "config": { "path": "/backups" },
 *                 "keyFile": "~/.config/kahu/keys/prod.key",     (optional)
 *                 "passphraseFile": "~/.config/kahu/prod.pass",  (optional)
 *                 "encryption": false,                           (optional, true)
 *                 "access": "ReadWrite" | "ReadOnly" } },       (optional, ReadWrite)
 *     "providers": {                                             (optional)
 *       "plugins": [ "/opt/kahu/kahu-acme.so" ],   registered plugin files
 *       "passive": [ "fs" ] },                     disabled (passive) providers
 *     "plans": { "NAME": { BackupPlan } } }       (optional) engine/plan.h, kahu-plan(5):
 *                                                 kept as an unknown top-level field
 *
 * A missing file is not an error: the embedded default applies, one location `default`
 * = provider fs at $XDG_DATA_HOME/kahu/backups (~/.local/share/kahu/backups).  A file
 * that defines no locations gets the same embedded `default`.  Without
 * "defaultLocation", the default is the location named "default", else the only one.
 *
 * Provider configuration values cross into providers as strings (BACKEND-ABI.md):
 * strings are taken as they are, numbers and booleans are converted, anything else is
 * refused.  A leading "~/" in "keyFile" and in the fs provider's "path" is the home
 * directory; a relative "keyFile" is relative to the configuration file's directory.
 *
 * The file decides where backups go and which key file is read, so a file that group
 * or others may write, or that belongs to another user (root excepted), is refused.
 * Unknown fields in a location are errors (a typo must not silently change where
 * backups go); unknown top-level fields are kept (later versions add some) and saved
 * back unchanged. */
#ifndef KAHU_STORE_CONFIG_H
#define KAHU_STORE_CONFIG_H

#include <stddef.h>

#include <kahu/backend.h>

#define KAHU_CONFIG_VERSION 1
#define KAHU_CONFIG_MAX_SIZE (1024 * 1024) /* bytes */
#define KAHU_DEFAULT_LOCATION "default"

/* Environment variables (ARCHITECTURE.md "Non-interactive use"). */
#define KAHU_ENV_CONFIG "KAHU_CONFIG"
#define KAHU_ENV_KEY_FILE "KAHU_KEY_FILE"
#define KAHU_ENV_PASSPHRASE_FILE "KAHU_PASSPHRASE_FILE"

enum location_access {
	LOCATION_READ_WRITE = 0,
	LOCATION_READ_ONLY = 1,
};

struct kahu_location {
	char *name;
	char *provider;
	struct kahu_backend_kv *kv;   /* provider configuration, strings owned here */
	size_t nkv;
	char *key_file;               /* absolute or NULL when not configured */
	char *passphrase_file;        /* "passphraseFile": absolute or NULL */
	int no_encryption;            /* "encryption": false: backups in the clear */
	enum location_access access;
	int embedded;                 /* 1: the built-in default, not from a file */
};

struct kahu_config {
	char *path;                   /* the file read, or that would have been read */
	int from_file;                /* 0: the file does not exist (embedded default) */
	char *default_location;       /* NULL: "default", else the only location */
	struct kahu_location *locs;
	size_t nlocs;
	void *doc;                    /* the parsed document (json_t *), for saving */
	char **plugins;               /* providers.plugins: registered files (absolute) */
	size_t nplugins;
	char **passive;               /* providers.passive: disabled provider names */
	size_t npassive;
};

/* The configuration file to use: `explicit_path` when not NULL, else $KAHU_CONFIG,
 * else $XDG_CONFIG_HOME/kahu/config.json.  Allocated. */
char *config_resolve_path(const char *explicit_path);
/* $XDG_CONFIG_HOME (absolute) or ~/.config, and $XDG_DATA_HOME or ~/.local/share;
 * allocated, never NULL ("/" when even the home directory is unknown). */
char *config_xdg_config_home(void);
char *config_xdg_data_home(void);
/* $XDG_CONFIG_HOME/kahu/keys/default.key: where the default key lives.  Allocated. */
char *config_default_key_path(void);

/* Load the configuration (path as config_resolve_path).  A missing file gives the
 * embedded default.  KAHU_ECONFIG "FILE:LINE:COLUMN: …" for malformed JSON, "FILE:
 * locations.NAME.FIELD: …" for a bad field; KAHU_EPERM for a file that group/others
 * may write or another user owns; KAHU_EIO when it cannot be read. */
int config_load(const char *explicit_path, struct kahu_config **out);
/* Parse a document from memory; `origin` names it in messages (no permission check). */
int config_parse(const char *text, size_t len, const char *origin, struct kahu_config **out);
void config_free(struct kahu_config *cfg);  /* NULL is fine */

/* The location named `name` (NULL: the default one).  KAHU_ENOTFOUND "no location
 * named X (locations: a, b)". */
int config_location(const struct kahu_config *cfg, const char *name,
		    const struct kahu_location **out);
/* Is `name` a valid location name: 1 to 63 letters, digits, '-', '_' or '.', starting
 * with a letter or digit? */
int config_location_name_ok(const char *name);
/* The value of a provider configuration key, or NULL. */
const char *location_config_get(const struct kahu_location *loc, const char *key);

/* Add or replace a location (copied); `make_default` also sets defaultLocation. */
void config_set_location(struct kahu_config *cfg, const struct kahu_location *loc,
			 int make_default);
/* Remove a location; KAHU_ENOTFOUND when there is none of that name. */
int config_remove_location(struct kahu_config *cfg, const char *name);

/* Write the configuration to `path` (NULL: cfg->path) atomically: a temporary file
 * beside it, mode 0600, fsync, rename, the directory synced; missing directories are
 * created 0700.  A failed write leaves the old file and no temporary file.  Unknown
 * top-level fields of the file read are written back unchanged.
 * The embedded default location is not written unless it was set explicitly. */
int config_save(struct kahu_config *cfg, const char *path);

/* ---- providers: registered plugin files and states ---- */

/* Is the provider `name` disabled (passive)? */
int config_provider_passive(const struct kahu_config *cfg, const char *name);
/* 0 when the provider of `loc` is active; KAHU_EPERM "provider X is disabled
 * (passive): …" when it is passive (new backups, deletions and prunes refused). */
int config_check_provider_active(const struct kahu_config *cfg,
				 const struct kahu_location *loc);
/* Mark a provider passive (1) or active (0); returns 1 when that changed the state. */
int config_set_provider_passive(struct kahu_config *cfg, const char *name, int passive);
/* Record a plugin file (absolute); 1 when added, 0 when it was there already. */
int config_add_plugin(struct kahu_config *cfg, const char *path);
/* Forget a plugin file; 1 when removed, 0 when it was not recorded. */
int config_remove_plugin(struct kahu_config *cfg, const char *path);

#endif

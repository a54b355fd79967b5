/* kahu — a repository: a location (config.h) opened as a store, its kahu-repo.json,
 * the key that opens its backups, and the catalog of the backups on it (FORMAT.md).
 *
 *   kahu-repo.json            {"kind":"KahuRepository","version":1,"keyId":"<hex>"|null,
 *                              "created":"<RFC 3339>","kahuVersion":"…"}  (no secrets)
 *   keys/<keyid>.json         the master key wrapped by a passphrase (archive/key.h);
 *   keys/<keyid>-<n>.json     more passphrases wrapping the same key (n = 2, 3, …)
 *   backups/<name>/…          a backup's objects; backups/<name>/backup.json, written
 *                             last, makes it complete
 *   locks/<id>.json           store/lock.h
 *
 * Opening a repository writes nothing: kahu-repo.json is written on the first write
 * (repo_init_if_needed), by a backup or by adding a passphrase.
 *
 * A damaged kahu-repo.json (not JSON, a field missing or malformed, too large) does not
 * stop reading: repo_open warns, naming the file and what is wrong, and the backups are
 * read as if it were absent (each manifest names its key).  Every write is refused
 * (repo_check_writable, KAHU_EDATA) until repo_repair rewrites it.  When kahu-repo.json
 * is missing but the location holds backups, no key is generated for it and it is
 * written again only for the key of those backups.
 *
 * Key resolution (repo_key), first match wins:
 *   1. --key-file, else $KAHU_KEY_FILE: that key file (mode 0600 enforced);
 *   2. --passphrase-file, else $KAHU_PASSPHRASE_FILE, else the location's
 *      "passphraseFile": unwrap keys/<keyid>*.json on the location (each wrapped copy
 *      of the repository's key is tried);
 *   3. the location's "keyFile" from the configuration;
 *   4. the default key, $XDG_CONFIG_HOME/kahu/keys/default.key.
 * A source that is named (1, 2, 3) but fails is an error; kahu does not fall through to
 * the next one.  When nothing is found and the caller allows it (a backup on a
 * repository that has no key yet), a key is generated at the location's keyFile or the
 * default path, saved 0600 (directories 0700), and a one-time notice on stderr says
 * where it is and that losing it loses the backups.  A key whose id differs from the
 * repository's is KAHU_ECRYPTO.  Key material is never printed. */
#ifndef KAHU_STORE_REPO_H
#define KAHU_STORE_REPO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "archive/key.h"
#include "archive/manifest.h"
#include "store/config.h"
#include "store/layout.h"
#include "store/lock.h"
#include "store/store.h"

#define REPO_INFO_KIND "KahuRepository"
#define REPO_FORMAT_VERSION 1
#define REPO_MANIFEST_MAX_SIZE (64u * 1024 * 1024) /* bytes */

/* Tests only: when set to "1", passphrases are wrapped with minimal Argon2id
 * parameters (KAHU_KDF_PARAMS_TEST) instead of the MODERATE default, with a warning. */
#define REPO_ENV_WEAK_KDF "KAHU_TEST_WEAK_KDF"

struct repo;

struct repo_opts {
	const char *config_path;        /* --config; NULL: $KAHU_CONFIG, then the XDG path */
	const struct kahu_config *config; /* already loaded (borrowed), or NULL: load it */
	const char *location;           /* --location; NULL: the default location */
	const char *key_file;           /* --key-file; NULL: $KAHU_KEY_FILE */
	const char *passphrase_file;    /* --passphrase-file; NULL: $KAHU_PASSPHRASE_FILE */
	int allow_key_generate;         /* repo_key may generate a key (backup create) */
	/* The location's store, already opened (a provider loaded as a plugin, a test's
	 * fake), or NULL: open the location's provider as a built-in.  The repository
	 * takes it over, also when repo_open fails. */
	struct kahu_store *store;
};

/* What kahu-repo.json says. */
struct repo_info {
	int exists;                     /* 0: no usable kahu-repo.json (the rest is empty) */
	int damaged;                    /* it is there but damaged (exists is 0) ... */
	char *problem;                  /* ... and this is what is wrong with it */
	int version;
	char key_id[KAHU_KEY_ID_HEX_LEN + 1]; /* "" when unencrypted */
	int64_t created;                /* seconds since the epoch, 0 when unknown */
	char *kahu_version;             /* NULL when unknown */
};

/* Open the location (o->location or the default) of the configuration.  Reads
 * kahu-repo.json when it is there (a damaged one is noted, with a warning); KAHU_EDATA
 * for one of another format version.  Errors of the configuration (config_load), an unknown location
 * (KAHU_ENOTFOUND "no location named …") and of the provider are passed on. */
int repo_open(const struct repo_opts *o, struct repo **out);
void repo_close(struct repo *r);  /* NULL is fine; frees the cached key */

struct kahu_store *repo_store(struct repo *r);
const struct kahu_location *repo_location(const struct repo *r);
const struct kahu_config *repo_config(const struct repo *r);
const struct repo_info *repo_get_info(const struct repo *r);
/* KAHU_EPERM "location X is read-only" when its access is ReadOnly; KAHU_EDATA when
 * its kahu-repo.json is damaged (the message says how to repair it). */
int repo_check_writable(const struct repo *r);

/* Write kahu-repo.json if it is not there, naming `key` (NULL: unencrypted).  If it is
 * there (or another run wrote it first), check that it names the same key:
 * KAHU_ECRYPTO otherwise.  When it is missing but the location holds backups, their
 * manifests must name the same key (KAHU_ECRYPTO otherwise, KAHU_EDATA when they
 * disagree among themselves).  KAHU_EPERM on a read-only location, KAHU_EDATA on a
 * damaged kahu-repo.json. */
int repo_init_if_needed(struct repo *r, const struct kahu_key *key);

/* What repo_repair found and did. */
struct repo_repair {
	int rewritten;            /* 0: kahu-repo.json was right, nothing was written */
	char *was;                /* when rewritten: what was wrong ("missing", the damage,
				   * "it named key X"), allocated */
	char key_id[KAHU_KEY_ID_HEX_LEN + 1]; /* the key it names now, "" unencrypted */
	uint64_t nbackups;        /* complete backups whose manifests name their key */
	uint64_t nverified;       /* ... of which authenticated with the key */
	uint64_t nwrapped;        /* keys/ objects (passphrases) */
	int64_t created;          /* "created" written: the oldest backup's, else now */
};
void repo_repair_clear(struct repo_repair *rr);

/* Rewrite kahu-repo.json from what the location holds: the key ids named by the
 * backups' manifests and the wrapped keys under keys/ must all be one (KAHU_EDATA
 * naming them otherwise), and the key in use (repo_key's sources; never generated)
 * must be that key (KAHU_ECRYPTO naming both) and authenticate the manifests.  With
 * only unencrypted backups no key is needed; with neither backups nor wrapped keys,
 * the key in use is taken.  A kahu-repo.json that already says the same is left alone.
 * KAHU_EPERM on a read-only location.  The caller holds the location's lock. */
int repo_repair(struct repo *r, struct repo_repair *out);

/* ---- keys ---- */

enum repo_key_source {
	REPO_KEY_NONE = 0,
	REPO_KEY_FLAG,            /* --key-file */
	REPO_KEY_ENV,             /* $KAHU_KEY_FILE */
	REPO_KEY_PASSPHRASE_FLAG, /* --passphrase-file */
	REPO_KEY_PASSPHRASE_ENV,  /* $KAHU_PASSPHRASE_FILE */
	REPO_KEY_LOCATION,        /* the location's keyFile */
	REPO_KEY_DEFAULT,         /* the default key file */
	REPO_KEY_GENERATED,       /* generated just now (at the location's keyFile or the default) */
	REPO_KEY_PASSPHRASE_LOCATION, /* the location's passphraseFile */
};

struct repo_key_origin {
	enum repo_key_source source;
	const char *path;         /* the key file, or the passphrase file */
	const char *object;       /* keys/… object that was unwrapped, else NULL */
};

/* The key for this repository, resolved as described at the top (once; later calls
 * return the same key).  The key belongs to the repository: do not free it.
 * KAHU_ENOTFOUND "no key …" says how to create or name one. */
int repo_key(struct repo *r, const struct kahu_key **out);
/* Where the key came from (source REPO_KEY_NONE before repo_key succeeded). */
const struct repo_key_origin *repo_key_origin(const struct repo *r);
/* "--key-file /x", "$KAHU_KEY_FILE (/x)", "passphrase from --passphrase-file /p via
 * keys/<id>.json on location L", "key file of location L (/x)", "default key /x";
 * allocated. */
char *repo_key_origin_describe(const struct repo *r);
const char *repo_key_source_name(enum repo_key_source s); /* "key-file", "env", … */

/* Wrap `key` with a passphrase and store it as keys/<keyid>.json, or keys/<keyid>-<n>.json
 * when that exists (never overwritten).  Initialises the repository with `key` if
 * needed (KAHU_ECRYPTO if it holds another key).  params NULL: the default (MODERATE,
 * or the test parameters when $KAHU_TEST_WEAK_KDF=1).  *object_out (may be NULL) gets
 * the object's key, allocated. */
int repo_add_passphrase(struct repo *r, const struct kahu_key *key, const char *passphrase,
			size_t passlen, const struct kahu_kdf_params *params, char **object_out);

/* ---- catalog ---- */

/* Is `name` a valid backup name (layout_name_check)?  0, or KAHU_EUSAGE with a message
 * that says what is wrong. */
int repo_valid_name(const char *name);

struct repo_backup {
	const char *name;
	int complete;             /* backups/<name>/backup.json exists */
	uint64_t nobjects;        /* objects under backups/<name>/ (backup.json included) */
	uint64_t stored_bytes;    /* their total size */
	int64_t last_modified;    /* newest object's mtime, 0 when unknown */
	/* Complete backups: the manifest (archive/manifest.h), parsed but NOT
	 * authenticated (listing works without the key: manifest_authenticate, or
	 * manifest_load of its text, checks it).  Borrowed, valid during the callback
	 * only.  NULL, with `problem` saying why, when backup.json cannot be read or is
	 * not a valid manifest. */
	const char *problem;
	const struct manifest *m;
};

/* Called once per backup, in name order, complete or not.  Return 0 to go on,
 * REPO_LIST_STOP to stop without error, a negative kahu_err to stop with it. */
typedef int (*repo_backup_fn)(void *ud, const struct repo_backup *b);
#define REPO_LIST_STOP 1

/* Every backup on the location.  Objects under backups/ whose name is not a valid
 * backup name are skipped (with an info message), and so is the volume data of
 * another location's backups (store/volloc.h). */
int repo_list_backups(struct repo *r, repo_backup_fn cb, void *ud);

enum repo_backup_state {
	REPO_BACKUP_ABSENT = 0,
	REPO_BACKUP_COMPLETE = 1,  /* backup.json exists */
	REPO_BACKUP_INCOMPLETE = 2, /* objects, but no backup.json: an interrupted run */
	REPO_BACKUP_VOLUME_DATA = 3 /* no backup.json, a volume data marker: the volume data
				       of a backup of another location (store/volloc.h) */
};
/* One of repo_backup_state (>= 0) or a negative kahu_err. */
int repo_backup_exists(struct repo *r, const char *name);

/* Remove a backup: its volume data on another location first when its manifest names
 * one (volloc_remove_for: when that fails, nothing is removed), then backup.json (so
 * a half-removed backup is never listed as complete), then its data objects.  KAHU_ENOTFOUND when there is nothing of that
 * name; KAHU_EPERM on a read-only location.  `nremoved` may be NULL. */
int repo_remove_backup(struct repo *r, const char *name, uint64_t *nremoved);

/* ---- locks ---- */

/* store_lock_acquire on the location; KAHU_EPERM on a read-only location (a damaged
 * kahu-repo.json does not stop it: repair takes the lock). */
int repo_lock(struct repo *r, const char *purpose, struct store_lock **out);
int repo_unlock(struct store_lock *lk);  /* NULL is fine */

/* RFC 3339 ("2024-05-01T12:00:00Z", fractions and offsets allowed) to seconds since
 * the epoch; -1 when malformed. */
int64_t repo_parse_time(const char *s);

#endif

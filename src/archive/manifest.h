/* kahu — the backup manifest (backups/<name>/backup.json) and the item index lines of
 * kahu/index.jsonl (FORMAT.md).
 *
 * The manifest is plain JSON, readable without the key (kahu backup list), and holds
 * nothing secret: no object or namespace names, only counts, sizes, hashes.  Its text is
 * the canonical serialization (keys sorted, compact: jansson JSON_SORT_KEYS |
 * JSON_COMPACT) plus a newline:
 *
 *   {"base":"full-1","completed":"2025-01-02T03:05:00Z",
 *    "counts":{"errors":0,"failed":0,"items":412,"skipped":3,"types":57,"volumes":2,
 *              "warnings":1},
 *    "created":"2025-01-02T03:04:05Z","encryption":"xchacha20poly1305-secretstream",
 *    "expires":"2025-02-01T03:04:05Z","format":1,"kahu_version":"0.1.0",
 *    "key_id":"<32 hex>","labels":{"team":"shop"},"mac":"<64 hex>","name":"nightly-2",
 *    "objects":[{"blake2b":"<64 hex>","path":"metadata.tar.zst.kenc","size":123},
 *               {"path":"volumes/<vid>/data-000001.tar.zst.kenc","size":456}],
 *    "run":"<32 hex>",
 *    "parent":"nightly-1","scope_digest":"<64 hex>","sizes":{"stored":123},
 *    "status":"Completed","type":"incremental",
 *    "cluster":{"server":"https://api.prod:6443","uid":"<kube-system's uid>"}}
 *
 * "parent" and "base" are present for incremental and differential backups only,
 * "expires" only when the backup expires; object paths are relative to the backup's
 * directory (backups/<name>/).  "cluster" names the source cluster (its API server URL
 * and, when it could be read, the UID of its kube-system namespace); manifests written
 * before it existed have none.
 *
 * Authentication: with a key, "mac" is the keyed BLAKE2b-256 (kahu_key_mac, "kahu-mac"
 * subkey) of the canonical serialization of the whole document without "mac".  The
 * verifier recomputes that serialization from the parsed JSON, so every field — also
 * fields a newer kahu adds and this one ignores — is covered.  Without encryption there
 * is no MAC ("encryption":"none", no "key_id", no "mac"): such a manifest cannot be
 * authenticated, and callers should say so (manifest_auth_warning). */
#ifndef KAHU_ARCHIVE_MANIFEST_H
#define KAHU_ARCHIVE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "archive/key.h"
#include "util/buf.h"

#define MANIFEST_FORMAT_VERSION 1
/* Format 2: an encrypted backup's objects may carry no "blake2b"; each such object is
 * bound instead to the manifest's "run" through its envelope (envelope.h).  A manifest
 * is written as format 2 only when it has such an object, so a backup without one stays
 * readable by a kahu that reads format 1 only. */
#define MANIFEST_FORMAT_RUN 2
/* Format 3: as format 2 (objects without "blake2b" bound to the run, encrypted backups
 * only), and the backup's volume indexes may hold XXH64 content hashes ("xxh64"), which
 * a kahu reading formats 1 and 2 only would not check.  Written for every backup with
 * volume data (manifest_require_format); unencrypted too, then every object has its
 * hash.  As in format 1, the run is optional while every object has its hash. */
#define MANIFEST_FORMAT_XXH64 3
#define MANIFEST_RUN_HEX_LEN 32 /* "run": 128 random bits per backup run, lowercase hex */
#define MANIFEST_ENC_SECRETSTREAM "xchacha20poly1305-secretstream"
#define MANIFEST_ENC_NONE "none"
/* Bounds enforced by manifest_parse (and manifest_to_json). */
#define MANIFEST_TEXT_MAX (16u << 20)
#define MANIFEST_NAME_MAX 253
#define MANIFEST_LABELS_MAX 256
#define MANIFEST_LABEL_KEY_MAX 317
#define MANIFEST_LABEL_VALUE_MAX 1024
#define MANIFEST_OBJECTS_MAX 1000000
#define MANIFEST_PATH_MAX 4096
#define MANIFEST_STRING_MAX 256 /* kahu_version */
#define MANIFEST_SERVER_MAX 2048 /* cluster.server */
#define MANIFEST_UID_MAX 128     /* cluster.uid */
#define MANIFEST_VOLLOC_NAME_MAX 256 /* volume_location.name, .provider */

enum manifest_status {
	MANIFEST_COMPLETED,
	MANIFEST_PARTIALLY_FAILED,
	MANIFEST_FAILED,
};

enum manifest_type {
	MANIFEST_FULL,
	MANIFEST_INCREMENTAL,
	MANIFEST_DIFFERENTIAL,
};

struct manifest_label {
	char *key;
	char *value;
};

struct manifest_object {
	char *path;    /* relative to backups/<name>/, e.g. "metadata.tar.zst.kenc" */
	uint64_t size; /* stored bytes */
	/* BLAKE2b-256 of the stored bytes (bundle_stats.blake2b); "" for an object of an
	 * encrypted backup bound to its run instead: then `run` is the manifest's run id,
	 * which the object's envelope must carry (kenc_reader_expect_run). */
	char blake2b[KAHU_HASH_HEX_LEN + 1];
	char run[MANIFEST_RUN_HEX_LEN + 1];
};

struct manifest_counts {
	uint64_t items;    /* items backed up */
	uint64_t types;    /* resource types backed up */
	uint64_t skipped;  /* items left out on purpose (filters, unlistable types) */
	uint64_t failed;   /* items that could not be backed up */
	uint64_t volumes;  /* volumes backed up */
	uint64_t warnings;
	uint64_t errors;
};

/* The source cluster of a backup: server NULL when not recorded (older manifests). */
struct manifest_cluster {
	char *server; /* the API server URL, as the kubeconfig gives it */
	char *uid;    /* kube-system's metadata.uid; NULL when it could not be read */
};

/* Where the volume data of a backup is when it is not beside the metadata
 * (`backup create --volume-location`): the location's name and provider as configured
 * when the backup was written, and the token also written into that location's marker
 * object (store/volloc.h), so that a location renamed, reconfigured or replaced is
 * detected.  name NULL: the volume data is beside the metadata. */
#define MANIFEST_VOLLOC_TOKEN_LEN 32  /* lowercase hex */
struct manifest_volloc {
	char *name;
	char *provider;
	char *token;
};

struct manifest {
	int format;                  /* MANIFEST_FORMAT_VERSION, or as parsed */
	int min_format;              /* manifest_require_format: the least written */
	char *kahu_version;
	char *name;
	time_t created, completed;
	time_t expires;              /* 0: never */
	enum manifest_status status;
	enum manifest_type type;
	char *parent;                /* incremental/differential: the backup it builds on */
	char *base;                  /* incremental/differential: the full backup of the chain */
	struct manifest_label *labels; /* sorted by key after parse */
	size_t n_labels;
	struct manifest_counts counts;
	uint64_t stored_bytes;       /* sum of the objects' sizes */
	char scope_digest[KAHU_HASH_HEX_LEN + 1]; /* manifest_scope_digest() */
	struct manifest_object *objects;
	size_t n_objects;
	struct manifest_cluster cluster; /* optional: "cluster" */
	struct manifest_volloc volume_location; /* optional: "volume_location" */
	char run[MANIFEST_RUN_HEX_LEN + 1]; /* optional: "run" ("" absent): the run that
					       wrote the backup, which objects without a
					       hash are bound to */
	/* Filled by manifest_parse; ignored by manifest_to_json, which derives them from
	 * its key argument. */
	bool encrypted;
	char key_id[KAHU_KEY_ID_HEX_LEN + 1]; /* "" when unencrypted */
	bool has_mac;
	/* The stored document as parsed (NUL-terminated), kept to authenticate it later
	 * (manifest_authenticate); NULL for a manifest built to be written. */
	char *text;
	size_t text_len;
	/* Set by manifest_authenticate and manifest_load: the MAC was checked with the
	 * key.  Never true for an unencrypted manifest, which has no MAC. */
	bool authenticated;
};

struct manifest *manifest_new(void); /* format = 1, everything else empty */
/* The manifest is written as format `format` at least (MANIFEST_FORMAT_XXH64 for a
 * backup with volume data). */
void manifest_require_format(struct manifest *m, int format);
void manifest_free(struct manifest *m);
/* A copy of a parsed manifest (its text parsed again; authenticated as m is).  NULL
 * for one that was not parsed (no text). */
struct manifest *manifest_copy(const struct manifest *m);
/* Copies. */
void manifest_add_label(struct manifest *m, const char *key, const char *value);
/* blake2b_hex NULL or "": an object bound to the manifest's run (set the run first,
 * manifest_set_run; only with a key). */
void manifest_add_object(struct manifest *m, const char *path, uint64_t size,
			 const char *blake2b_hex);
/* The run id (MANIFEST_RUN_HEX_LEN lowercase hex), or NULL to clear it. */
void manifest_set_run(struct manifest *m, const char *run_hex);
/* A new run id: 128 random bits as lowercase hex. */
void manifest_new_run(char out[MANIFEST_RUN_HEX_LEN + 1]);
/* The run id of an object bound to its run, as bytes (KENC_RUN_BYTES); false for an
 * object checked by its hash. */
bool manifest_object_run(const struct manifest_object *o, uint8_t out[16]);

/* Copies; name NULL clears it. */
void manifest_set_volume_location(struct manifest *m, const char *name, const char *provider,
				  const char *token);
/* Is the object `rel` (as the manifest's `objects` name it) stored in the volume
 * location rather than beside the manifest?  True for volumes/<vid>/… objects of a
 * manifest with a volume_location; the catalog stays beside the manifest. */
bool manifest_object_in_volloc(const struct manifest *m, const char *rel);

/* Copies (uid may be NULL). */
void manifest_set_cluster(struct manifest *m, const char *server, const char *uid);
/* The short form of a recorded cluster for tables: the first 8 characters of the UID,
 * else the host[:port] of the server URL, else "-" (none recorded); cut to n - 1 bytes. */
void manifest_cluster_short(const struct manifest_cluster *c, char *out, size_t n);
/* Does `want` name the recorded cluster?  It matches the UID, a prefix of the UID (at
 * least 4 characters), or the server URL (a trailing "/" ignored).  A manifest without
 * a cluster matches nothing. */
bool manifest_cluster_matches(const struct manifest_cluster *c, const char *want);
/* Is `c` the same cluster as `cur` (an identity read from a live cluster)?  The UIDs
 * when both are known, else the server URLs. */
bool manifest_cluster_same(const struct manifest_cluster *c, const struct manifest_cluster *cur);

const char *manifest_status_name(enum manifest_status s); /* "Completed", ... */
const char *manifest_type_name(enum manifest_type t);     /* "full", ... */

/* Digest of the canonical scope JSON (hex), so that an incremental backup finds the
 * newest completed backup of the same scope from the manifests alone.  Keyed BLAKE2b-256
 * (subkey "kahu-scp") when there is a key, so that a guessed scope (namespace names,
 * selectors) cannot be confirmed against it without the key; plain BLAKE2b-256 for
 * unencrypted backups (key NULL), whose contents are in the clear anyway. */
void manifest_scope_digest(const struct kahu_key *key, const char *canonical_scope_json, size_t len,
			   char out[KAHU_HASH_HEX_LEN + 1]);

/* The stored text (NUL-terminated, ends with a newline), *out freed by the caller.
 * key non-NULL: "encryption" = secretstream, "key_id", "mac"; NULL: "none", no MAC.
 * KAHU_EUSAGE when m breaks the rules manifest_parse enforces (so kahu never writes a
 * manifest it would refuse to read). */
int manifest_to_json(const struct manifest *m, const struct kahu_key *key, char **out);

/* Parses and checks types, presence and bounds of every field; unknown fields are
 * ignored (and still covered by the MAC).  KAHU_EDATA with a message naming the field
 * for malformed input.  Does not authenticate (authenticated is false): see
 * manifest_authenticate.  The text is kept in the manifest. */
int manifest_parse(const char *text, size_t len, struct manifest **out);

/* Authenticate a parsed manifest (its kept text) with `key`, as manifest_verify does;
 * 0 sets authenticated when it carries a MAC. */
int manifest_authenticate(struct manifest *m, const struct kahu_key *key);

/* Authenticates the manifest text.
 *   key non-NULL: 0 when the MAC is valid.  KAHU_ECRYPTO "the manifest of backup X
 *     failed authentication: it was altered or forged" for a wrong MAC,
 *     "... was written with key A, the key in use is B" for another key id,
 *     "... carries no MAC ..." when it claims to be unencrypted (a stripped or
 *     downgraded manifest cannot be told from a genuine unencrypted one).
 *   key NULL: 0 for an unencrypted manifest (nothing to check: warn with
 *     manifest_auth_warning), KAHU_ECRYPTO when it is encrypted (a key is needed).
 * KAHU_EDATA when the text does not parse. */
int manifest_verify(const char *text, size_t len, const struct kahu_key *key);

/* manifest_parse + manifest_verify. */
int manifest_load(const char *text, size_t len, const struct kahu_key *key,
		  struct manifest **out);

/* NULL when the manifest carries a MAC; else a sentence for a warning:
 * "backup X was written without encryption: its manifest carries no MAC and cannot be
 * authenticated". */
const char *manifest_auth_warning(const struct manifest *m);

/* ---- kahu/index.jsonl ------------------------------------------------------------- */

/* One item: {"h":"<hex>","n":"web","ns":"shop","r":"deployments.apps","rv":"42",
 * "uid":"..."}; "ns" absent for cluster-scoped items, "uid"/"rv" absent when unknown. */
struct index_entry {
	char *resource;  /* group-resource: "deployments.apps", "configmaps" */
	char *ns;        /* NULL: cluster-scoped */
	char *name;
	char *uid;       /* may be NULL */
	char *rv;        /* resourceVersion, may be NULL */
	char hash[KAHU_HASH_HEX_LEN + 1]; /* BLAKE2b-256 of the stored object JSON */
};

/* Appends one line (compact, sorted keys, '\n'-terminated) to out.  KAHU_EUSAGE when a
 * required field is missing or the hash is not 64 lowercase hex digits. */
int index_line_format(const struct index_entry *e, struct kbuf *out);
/* Parses one line (a trailing "\n" is allowed); fills *e (free with index_entry_clear).
 * KAHU_EDATA with the reason for a malformed line. */
int index_line_parse(const char *line, size_t len, struct index_entry *e);
void index_entry_clear(struct index_entry *e);

/* The member name of an API object in the metadata bundle (Velero's layout):
 *   ("deployments.apps", "shop", "web")  -> "resources/deployments.apps/namespaces/shop/web.json"
 *   ("namespaces", NULL, "shop")         -> "resources/namespaces/cluster/shop.json"
 * Each of group-resource, namespace and name is one component, as it is when it is
 * safe (cluster objects such as "system:controller:foo" are), else encoded
 * (bundle_component_add: "%<prefix>~<BLAKE2b-256 hex>"), so that every name the API
 * can return - a newline in a Role's name, 253 bytes, "..", "../../etc/evil" - has a
 * member name that extracts anywhere and never leaves its directory.  KAHU_EUSAGE
 * only for an empty group-resource, namespace or name.  *out freed by the caller. */
int bundle_resource_path(const char *group_resource, const char *ns, const char *name,
			 char **out);

#endif

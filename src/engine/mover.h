/* kahu — the cluster data mover: what runs inside a mover pod (`kahu mover backup|restore`),
 * the run bundle it opens the location and key from, and the result it reports
 * (FORMAT.md "Cluster data movers").
 *
 * A mover reads or writes one volume LOCALLY with the core of the exec path:
 * vol_backup() / vol_restore() (engine/voldata.h) driven by vol_local_ops
 * (engine/vol_local.h) at the spec's mount_path, and writes the volume's objects from the
 * pod straight to the location: index, segments, incremental logic, exclusions and
 * object names are those of the exec path.
 *
 * All functions return 0 or a negative kahu_err with the message set (util/err.h). */
#ifndef KAHU_ENGINE_MOVER_H
#define KAHU_ENGINE_MOVER_H

#include <stdint.h>

#include <jansson.h>

#include "engine/voldata.h"
#include "util/strv.h"

struct kahu_location;
struct kahu_key;
struct kahu_store;

#define MOVER_VOLUME_MOUNT "/kahu/volume" /* the PVC in the mover pod */
#define MOVER_BUNDLE_MOUNT "/kahu/run"    /* the per-run Secret (0400 files) */

/* Names in the bundle. */
#define MOVER_BUNDLE_CONFIG "config.json"
#define MOVER_BUNDLE_KEY "key"
/* The location's name in the bundle's config.json. */
#define MOVER_BUNDLE_LOCATION "mover"

/* The attempt: [a-z0-9-]{1,40}. */
#define MOVER_ATTEMPT_MAX 40
/* Largest termination message and result object read (bytes). */
#define MOVER_TERMINATION_MAX 4096
#define MOVER_RESULT_MAX (64u * 1024 * 1024)

/* The environment variable naming the termination message's file; without it
 * /dev/termination-log when it exists, else none. */
#define MOVER_ENV_TERMINATION_LOG "KAHU_TERMINATION_LOG"
#define MOVER_TERMINATION_LOG "/dev/termination-log"

/* What one mover does: the Job's argument (JSON), no secrets in it. */
struct mover_spec {
	int restore;                  /* 0: back up the volume, 1: restore into it */
	char *backup;                 /* this backup (restore: the chosen backup) */
	char *vid;                    /* vol_id() of namespace/pvc with the run's key */
	char *label;                  /* "namespace/pvc", for messages */
	char *parent;                 /* backup: incremental parent, or NULL */
	struct strv exclude;          /* backup: --exclude-volume-paths globs */
	int compression_level;        /* 0: default */
	uint64_t segment_bytes;       /* 0: default */
	int delete_extra;             /* restore: --delete-extra-files */
	char *attempt;                /* unique per attempt ([a-z0-9-]{1,40}): names the result */
	char *mount_path;             /* NULL: MOVER_VOLUME_MOUNT */
	char *run;                    /* encrypted location: the backup's run id (manifest
					 "run", 32 hex) the volume's objects are bound to
					 (backup) or must carry (restore); NULL: none (format 1:
					 every object hashed, nothing checked) */
	char *parent_run;             /* backup: the parent's run id its index must carry */
	json_t *chain_runs;           /* restore, encrypted: {"backup": "run id" or ""} for
					 every backup of the chain (bread_chain_runs), each
					 segment read bound to its writer's run; NULL: only
					 the chosen backup's segments are checked (owned) */
};

/* The spec as JSON (a new reference):
 *   {"op":"backup"|"restore","backup":…,"vid":…,"label":…,"attempt":…,
 *    "parent":…,"exclude":[…],"compressionLevel":N,"segmentBytes":N,
 *    "deleteExtra":bool,"mountPath":…,"run":…,"parentRun":…,"chainRuns":{…}}
 *   (optional members absent when unset) */
json_t *mover_spec_json(const struct mover_spec *s);
/* Parse and check it: unknown members, wrong types, a bad backup or parent name
 * (layout_name_check), vid (layout_vid_check), attempt, a run or parentRun that is not
 * 32 lowercase hex (a parentRun without a parent or in a restore), chainRuns outside a
 * restore with a run, or not an object of at most 1,000 backup names whose values are
 * 32 lowercase hex or "" and which names the backup with its run, a relative mount path, a level
 * outside 1..22, a segment size outside 1 MiB..4 GiB: KAHU_EUSAGE naming the field.
 * *out is cleared first; on failure it holds nothing. */
int mover_spec_parse(json_t *j, struct mover_spec *out);
/* The same from text (the --spec argument). */
int mover_spec_parse_text(const char *text, struct mover_spec *out);
void mover_spec_clear(struct mover_spec *s);

/* ---- the run bundle ---- */

/* The run bundle: the Secret's data (key -> raw bytes; the coordinator base64s it):
 *   "config.json"  one location, MOVER_BUNDLE_LOCATION, with keyFile "key"; every
 *                  provider option flagged KAHU_BACKEND_OPT_PATH names a file of the
 *                  bundle by its bare name (resolved against the bundle's directory
 *                  when the mover opens it);
 *   "key"          the run's master key, unlocked (a key file, archive/key.h);
 *   one entry per file the location's configuration names (credentials file, CA
 *   bundle, SSH identity and its passphrase, known_hosts), named "<option>" (e.g.
 *   "ca-bundle"); and credentials the provider would read from this machine's
 *   environment or home directory turned into a file it reads: for s3, AWS_ACCESS_KEY_ID /
 *   AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN] or the shared credentials file become
 *   "credentials-file" (profile "default", or the one named); for sftp, the default
 *   identity (~/.ssh/id_ed25519, id_ecdsa, id_rsa) and ~/.ssh/known_hosts.
 * A location the cluster cannot reach (the fs provider: a directory of this machine)
 * is refused: KAHU_EUSAGE saying what to use instead; so are credentials that cannot be
 * carried (s3 web identity, sftp use-agent).  key NULL: an unencrypted location (no
 * "key"; config.json says "encryption": false).  *data: object name -> string (raw,
 * may be binary: json_stringn). */
int mover_bundle_build(const struct kahu_location *loc, const struct kahu_key *key,
		       json_t **data);
/* Free a bundle, its values (the key, credentials) zeroed first.  NULL is fine. */
void mover_bundle_free(json_t *data);
/* Write a bundle to dir (created 0700 when missing; files 0400, never overwritten:
 * KAHU_EEXIST).  For `kahu mover bundle` and tests. */
int mover_bundle_write_dir(const json_t *data, const char *dir);

/* ---- the worker (in the pod) ---- */

/* Open bundle_dir/config.json (the configuration checks apply unchanged: files owned by
 * this user or root, not writable by group or others), its location and key file; then
 * vol_backup / vol_restore with vol_local_ops at the spec's mount path.  A backup first
 * checks that the backup is not complete (its manifest absent: else KAHU_EEXIST) and
 * removes what an earlier attempt for this vid left under volumes/<vid>/ and
 * movers/<vid>-* (a killed or evicted mover), then writes its result object (below).  *termination (allocated, never NULL) is the one-line JSON
 * termination message for success and failure alike; the return value is that of the
 * work (the caller turns it into the exit status). */
int mover_run(const struct mover_spec *s, const char *bundle_dir, char **termination);
/* Write the termination message to $KAHU_TERMINATION_LOG, else /dev/termination-log
 * when it exists (else nowhere).  0, or KAHU_EIO. */
int mover_termination_write(const char *message);

/* ---- live progress (the pod's log) ----
 *
 * While it copies, a mover writes progress lines to stderr, i.e. its pod's log, which
 * the coordinator may read (GET pods/NAME/log with tailLines and limitBytes) without
 * any API rights of the mover's own:
 *
 *   kahu-progress v1 bytes=N entries=N\n
 *
 * bytes: tar bytes read so far (backup) or content bytes written (restore); entries:
 * entries done.  Decimal, no sign, no leading zeros.  One write(2) a line; the first
 * once the first entry is done, then at most one every MOVER_PROGRESS_EVERY_S seconds.
 * No names, no secrets.  Readers skip unknown `key=value` fields after the known ones
 * (later versions may add some) and anything that is not such a line. */
#define MOVER_PROGRESS_PREFIX "kahu-progress v1 "
#define MOVER_PROGRESS_EVERY_S 2
/* Test knob, honoured only when set to "1" (the test cluster sets it through a pod-env
 * fault): the mover stops itself (SIGSTOP) once its first progress line is written, so
 * a test sees it mid-way, and goes on when sent SIGCONT. */
#define MOVER_ENV_TEST_STOP "KAHU_TEST_MOVER_STOP"

struct mover_progress {
	uint64_t bytes, entries;
};
/* The line for p into buf (NUL-terminated, newline included); its length. */
size_t mover_progress_line(char *buf, size_t size, const struct mover_progress *p);
/* The newest valid progress line among the complete (newline-terminated) lines of
 * text[0..len) (a log's tail: any bytes, NULs included; a last line without its
 * newline is ignored, it may be cut).  1 with *out set, 0 when there is none. */
int mover_progress_parse(const char *text, size_t len, struct mover_progress *out);

/* ---- the result ---- */

/* The result of a backup mover, as the coordinator gets it: the same struct as the
 * exec path's (counts, segments, retries, vanished, duration, objects [{path,size,
 * blake2b}] relative to backups/<name>/).  The mover writes it to the location as
 *   backups/<backup>/movers/<vid>-<attempt>.json.zst[.kenc]   (sealed like the rest)
 * AFTER every object it lists is complete, and ends with a one-line JSON termination
 * message (/dev/termination-log): {"result": "<path>", "blake2b": "<hex of the stored
 * result object>", "files": N, "bytes": N} on success, {"error": "<message>", "code":
 * "<kahu_err_name>", "exit": N} on failure (also written to stderr).  The coordinator reads it with: */
int mover_result_read(struct kahu_store *st, const struct kahu_key *key,
		      const struct mover_spec *s, const char *termination_message,
		      struct vol_backup_result *out);
/* ...which checks the termination message, reads the object, checks its BLAKE2b, then
 * checks every listed object exists on the location with the listed size (store stat /
 * list: no reading back of data), and removes the result object.  KAHU_EDATA naming
 * what disagreed; a termination message of a failed mover: its exit status's code
 * (mover_exit_code) with its message.  Restore movers write no object: their
 * termination message holds the counts {"files", "dirs", "links", "bytes", "deleted",
 * "retries", "incomplete"}; parse with: */
int mover_restore_result_parse(const char *termination_message, struct vol_restore_result *out);

/* The pieces, for tests and the fuzz target. */

/* A termination message: exactly one of ok (result, blake2b, files, bytes; restore:
 * the counts) or failed (error, exit). */
struct mover_term {
	int failed;                   /* 1: {"error", "code", "exit"} */
	char *error;                  /* failed: the message */
	int exit_status;              /* failed: the documented exit status */
	int code;                     /* failed: the kahu_err named by "code" (KAHU_EFAIL when
					 unknown) */
	char *result;                 /* backup: the result object's path */
	char blake2b[65];             /* backup: its hash, lowercase hex */
	uint64_t files, bytes;
	json_t *doc;                  /* the whole message (restore counts) */
};
/* KAHU_EDATA for anything but one JSON object of those shapes (bounded by
 * MOVER_TERMINATION_MAX). */
int mover_term_parse(const char *text, struct mover_term *out);
void mover_term_clear(struct mover_term *t);
/* The plain result object (what the sealed one holds) for spec s into out; KAHU_EDATA
 * naming what is wrong: not JSON, a field missing or mistyped, another backup or vid,
 * an object path outside volumes/<vid>/, a bad size or hash. */
int mover_result_parse(const struct mover_spec *s, const char *text, size_t len,
		       struct vol_backup_result *out);
/* backups/<backup>/movers/<vid>-<attempt>.json.zst[.kenc] (allocated). */
char *mover_result_path(const struct mover_spec *s, int encrypted);
/* The kahu_err code of a documented exit status (the reverse of err.h's mapping). */
int mover_exit_code(int exit_status);

#endif

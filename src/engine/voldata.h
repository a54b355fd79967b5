/* kahu — the data of a volume: listing, file index, tar ingest into sealed segments,
 * incremental transfer, resume, the restore composer, path validation, local
 * extraction and the per-backup volume catalog (FORMAT.md "Volume data").
 *
 * Nothing here needs a cluster: every command runs through struct vol_exec_ops, which
 * the pods/exec adapter (kube/exec.h) implements in a container where the volume is
 * mounted, and engine/vol_local.h implements with fork/exec on this machine (tests).
 *
 * Objects (store/layout.h), relative to backups/<name>/:
 *   volumes/<vid>/index.jsonl.zst[.kenc]      one JSON line per entry, sorted by path
 *   volumes/<vid>/data-<NNNNNN>.tar.zst[.kenc] the content, tar segments of ~64 MiB
 *   volumes.jsonl.zst[.kenc]                  the catalog: one line per volume
 * vid: 32 hex of BLAKE2b-128 of "namespace/pvc", keyed with the subkey "kahu-vid" of
 * the master key (unkeyed without a key), so names reveal no namespace or PVC.
 *
 * Commands (argv, run in the container; GNU and busybox 1.35 alike):
 *   listing   sh -c 'cd "$1" || exit 2; printf "NONCE|now|%s\n" "$(date +%s)";
 *             find . -xdev ! -path . -print0 | LC_ALL=C sort -z |
 *             xargs -0 -r stat -c "NONCE|%i|%h|%f|%u|%g|%s|%Y|%Z|%n"' sh MOUNT
 *   transfer  sh -c 'cd "$1" || exit 2; head -c "$2" | LC_ALL=C sort -z | xargs -0 -r
 *             tar -c -f - --no-recursion --numeric-owner --' sh MOUNT LISTBYTES
 *             (NUL-separated list on stdin; busybox's tar has no -T; several tar
 *             archives may follow each other on stdout)
 *   restore   sh -c 'head -c "$2" | tar -x -f - --numeric-owner -C "$1"' sh MOUNT TARBYTES
 *             (twice: all entries, then the directories again for their times)
 *   delete    sh -c 'cd "$1" || exit 2; head -c "$2" | xargs -0 -r rm -rf --' sh MOUNT LISTBYTES
 * Every command that reads stdin reads exactly LISTBYTES/TARBYTES through `head -c`: no
 * command needs the end of stdin (pods/exec v4 cannot half-close; close_stdin may do
 * nothing).
 *
 * All functions return 0 or a negative kahu_err with the message set (util/err.h). */
#ifndef KAHU_ENGINE_VOLDATA_H
#define KAHU_ENGINE_VOLDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct kahu_store;
struct kahu_key;
struct strset;

/* How commands run where the volume is mounted.  start: argv NULL-terminated;
 * want_stdin opens the command's stdin.  read: stdout, *got 0 at its end; a broken
 * stream is an error (KAHU_EIO "… stream broken after N bytes"), which vol_backup
 * retries.  finish reads to the end, gives the exit code and frees the handle; abort
 * frees it without finishing.  stderr_tail: the last few KiB of stderr, for messages
 * (valid until finish or abort; may return NULL).  can_close_stdin (may be NULL: no):
 * whether close_stdin ends the command's input (pods/exec v5, pipes), known once
 * started.  ended (may be NULL: not known): whether the command has ended (its exit
 * status came); a write then fails (KAHU_EFAIL) rather than dropping its input, and
 * finish gives the exit status. */
struct vol_exec_ops {
	int (*start)(void *ctx, const char *const *argv, bool want_stdin, void **h);
	int (*read)(void *h, void *buf, size_t len, size_t *got);
	int (*write)(void *h, const void *buf, size_t len);
	int (*close_stdin)(void *h);
	int (*finish)(void *h, int *exit_code);
	const char *(*stderr_tail)(void *h);
	void (*abort)(void *h);
	bool (*can_close_stdin)(void *h);
	bool (*ended)(void *h);
};

/* ---- volume ids ---- */

#define VOL_ID_HEX_LEN 32
/* The vid of namespace/pvc: keyed with the key's "kahu-vid" subkey, unkeyed when key
 * is NULL.  out: VOL_ID_HEX_LEN + 1 bytes. */
void vol_id(const struct kahu_key *key, const char *namespace_, const char *pvc,
	    char out[VOL_ID_HEX_LEN + 1]);

/* ---- counts and progress ---- */

struct vol_counts {
	uint64_t files;             /* regular files in the index */
	uint64_t dirs;
	uint64_t links;             /* symlinks and hard links */
	uint64_t bytes_read;        /* tar bytes read from the transfer command */
	uint64_t bytes_stored;      /* bytes of the volume's objects on the location */
	uint64_t bytes_transferred; /* content bytes of regular files transferred */
	uint64_t unchanged;         /* entries that kept the parent's content */
};

struct vol_progress {
	uint64_t bytes; /* tar bytes read (backup) or written (restore) so far */
	uint64_t files; /* entries done */
};
typedef void (*vol_progress_fn)(void *ud, const struct vol_progress *p);

/* ---- backup ---- */

#define VOL_RETRIES_DEFAULT 3
#define VOL_SEGMENT_BYTES_DEFAULT ((uint64_t)64 << 20)

struct vol_backup_spec {
	const struct vol_exec_ops *ops;
	void *ctx;
	const char *mount_path;          /* where the volume is mounted for ops */
	const char *backup;              /* this backup's name */
	const char *vid;                 /* vol_id() */
	struct kahu_store *st;           /* the location the volume's objects go to */
	const struct kahu_key *key;      /* NULL: unencrypted */
	int compression_level;           /* 0: zstd's default */
	/* Incremental or differential: the backup whose index of this vid is compared
	 * with (read from st with key); NULL, or no index of vid there: a full copy. */
	const char *parent;
	const char *const *exclude;      /* NULL-terminated globs on the relative path
					    (fnmatch, FNM_PATHNAME off); may be NULL */
	int retries;                     /* < 0: VOL_RETRIES_DEFAULT */
	long retry_base_ms;              /* 0: 500 ms, doubling (util/backoff) */
	uint64_t segment_bytes;          /* 0: VOL_SEGMENT_BYTES_DEFAULT */
	const char *label;               /* "namespace/pvc" for messages; NULL: the vid */
	vol_progress_fn progress;
	void *progress_ud;
	/* With a key: the backup's run id (the manifest's "run", 32 hex, manifest.h): the
	 * index and the segments are bound to it in their envelopes and carry no hash in
	 * `objects`.  NULL: each gets the BLAKE2b of its stored bytes (format 1). */
	const char *run;
	/* The parent's run id (its manifest's "run"), which its index must carry; NULL:
	 * not checked (a parent without one, or not at hand). */
	const char *parent_run;
	/* The first listing also checks that the container has the tools a file copy runs
	 * (sh, find, stat, sort, xargs, tar).  When it cannot be started at all or exits 126
	 * or 127, vol_backup fails at once (no retry, nothing written) with
	 * vol_backup_result.tools_missing set, so that the caller can copy the volume
	 * another way (a helper pod). */
	bool check_tools;
};

struct vol_backup_result {
	struct vol_counts counts;
	unsigned segments;               /* data objects written by this backup */
	unsigned retries;                /* transfer restarts after broken streams */
	unsigned vanished;               /* files gone between listing and transfer */
	int64_t duration_ms;
	/* On success: [{path, size, blake2b}] of every object written, paths relative to
	 * backups/<name>/ as the manifest's `objects` (append them); without "blake2b"
	 * when spec->run bound them to the run (a format 2 manifest).  NULL on failure,
	 * when what was written has been removed again (store_remove). */
	json_t *objects;
	char *reason;                    /* on failure: the message (allocated) */
	bool tools_missing;              /* spec.check_tools: the container cannot run the
					    file copy ("cannot run the file copy: …", "lacks
					    a tool the file copy needs (exit 127): no tar") */
};

/* List the volume, compare with the parent's index, transfer what is new or changed,
 * write the segments and the index.  On failure nothing written stays referenced: the
 * caller leaves the volume out of the manifest (and records `reason` in the catalog). */
int vol_backup(const struct vol_backup_spec *spec, struct vol_backup_result *res);
void vol_backup_result_free(struct vol_backup_result *res);

/* ---- restore ---- */

struct vol_restore_spec {
	const struct vol_exec_ops *ops;
	void *ctx;
	const char *mount_path;
	struct kahu_store *st;
	const struct kahu_key *key;      /* the chain's key; NULL: unencrypted */
	const char *backup;              /* the chosen backup: its index is the final one */
	const char *vid;
	bool delete_extra;               /* afterwards remove what the index lacks */
	vol_progress_fn progress;
	void *progress_ud;
	int retries;                     /* a broken stream: `tar -x` run again with the
					    whole tar, at most this often; 0:
					    VOL_RETRIES_DEFAULT, < 0: never */
	long retry_base_ms;              /* 0: 500 ms, doubling (util/backoff) */
	const char *label;               /* "namespace/pvc" for messages; NULL: the vid */
	const char *run;                 /* the chosen backup's run id (manifest "run"), which
					    its index and segments must carry; NULL: not checked */
	const struct strset *chain_runs; /* backup name → run id ("" when its objects are not
					    bound to a run) of every backup of the chain
					    (bread_chain_runs): a segment is opened bound to the
					    run of the backup that wrote it, and an index line
					    naming a backup not here is refused.  NULL: only the
					    chosen backup's segments are checked */
};

struct vol_restore_result {
	uint64_t files, dirs, links;
	uint64_t bytes;                  /* content bytes written */
	uint64_t deleted;                /* entries removed by delete_extra */
	unsigned retries;                /* tar -x runs again after broken streams */
	bool incomplete;                 /* failed after a tar -x was given data: the
					    volume holds part of the backup's data */
	int64_t duration_ms;
};

/* Validate every path of the index, then compose the tar of the chain and pipe it to
 * `tar -x` through ops.  A hostile index is refused (KAHU_EDATA naming the path,
 * escaped) before anything is sent.  A stream that breaks (KAHU_EIO, KAHU_ETEMP from
 * ops) runs the tar again from its start (tar -x overwrites what the broken run wrote);
 * a tar that ends before it read all of its input, or exits non-zero, or writes an
 * error and then loses its stream, fails the volume with its exit status and stderr,
 * not retried.  On failure after data went to a tar, res->incomplete is set and the
 * message says that the volume holds part of the backup's data. */
int vol_restore(const struct vol_restore_spec *spec, struct vol_restore_result *res);

/* ---- local extraction (backup download --volume NS/PVC --extract DIR) ---- */

struct vol_extract_spec {
	struct kahu_store *st;
	const struct kahu_key *key;
	const char *backup;
	const char *vid;
	const char *dest;                /* a directory; created when missing */
	const char *const *paths;        /* NULL-terminated globs (fnmatch on the relative
					    path; a matching directory brings its subtree); NULL: all */
	const char *run;                 /* as vol_restore_spec's */
	const struct strset *chain_runs; /* as vol_restore_spec's */
};

/* The same composer into libarchive's write_disk with the secure flags (no `..`, no
 * symlink traversal, no absolute paths); owners restored only when run as root. */
int vol_extract_local(const struct vol_extract_spec *spec, struct vol_restore_result *res);

/* ---- the catalog (volumes.jsonl.zst[.kenc]) ---- */

/* One line per volume.  Strings may be NULL (absent); `csi` (may be NULL) is an object
 * the CSI side fills (snapshot, content, class, handle, readyToUse…), stored as given. */
struct vol_cat_entry {
	const char *vid, *namespace_, *pvc, *pv, *storage_class, *driver, *capacity;
	const char *method;              /* "exec", "helper", "csi", "csi+data" */
	const char *status;              /* "Completed", "Failed", "Skipped" */
	const char *reason;
	const char *parent;              /* the backup compared with, NULL for a full copy */
	struct vol_counts counts;
	int64_t duration_ms;
	unsigned retries, segments;
	json_t *csi;
};

/* The catalog line of e (a new reference) and back: from_json points into `line`
 * (valid while it lives); KAHU_EDATA naming what is missing or mistyped. */
json_t *vol_cat_entry_json(const struct vol_cat_entry *e);
int vol_cat_entry_from_json(json_t *line, struct vol_cat_entry *e);

/* Write backups/<backup>/volumes.jsonl.zst[.kenc] from an array of catalog lines;
 * its {path, size, blake2b} is appended to `objects` (the manifest's). */
int vol_cat_write(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		  int compression_level, json_t *lines, json_t *objects);
/* Read it back: *lines an array (a new reference).  KAHU_ENOTFOUND when the backup
 * has no catalog (no volume data). */
int vol_cat_read(struct kahu_store *st, const struct kahu_key *key, const char *backup,
		 json_t **lines);
/* The line of namespace/pvc in lines (borrowed), or NULL. */
json_t *vol_cat_find(json_t *lines, const char *namespace_, const char *pvc);

#endif

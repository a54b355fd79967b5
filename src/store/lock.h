/* kahu — location locks (FORMAT.md: <prefix>/locks/<id>.json).
 *
 * A run that writes to a location (backup create, delete, prune) holds a lock: a
 * small JSON object naming host, pid, user, start time and purpose.  Acquiring writes
 * our own lock object (create-if-absent), then lists locks/: if another live lock is
 * there, ours is removed again and the caller gets KAHU_ELOCKED with the holder's
 * details.  If two runs start at the same moment both may back off; neither proceeds
 * unlocked.  A lock is stale, and is broken with a warning, when it was written on
 * this host by a process that no longer exists, or when it was not written or
 * refreshed for `stale_after` seconds (default 6 h).  Release removes it. */
#ifndef KAHU_STORE_LOCK_H
#define KAHU_STORE_LOCK_H

#include <stdint.h>

#include "store/store.h"

#define STORE_LOCK_STALE_AFTER (6 * 3600)  /* seconds */
#define STORE_LOCK_MAX_SIZE 65536          /* bytes; a larger lock object is not ours */

struct store_lock;

/* What a lock object says.  Strings are never NULL ("?" when the object lacks them). */
struct store_lock_info {
	char *key;          /* locks/<id>.json */
	char *id;
	char *host;
	char *user;
	char *purpose;
	char *kahu_version;
	long pid;
	/* The pid namespace the pid belongs to, "<boot id>/<pid namespace inode>"
	 * (store_lock_pid_space); NULL when the lock does not say (written by an older
	 * kahu) or the holder could not tell. */
	char *pid_space;
	int64_t started;    /* seconds since the epoch */
	int64_t refreshed;  /* last write by the holder; = started at first */
	int readable;       /* 0: the object is not a kahu lock (the fields are guesses) */
};
void store_lock_info_free(struct store_lock_info *li);  /* frees the members */

/* Take the location's lock.  `purpose` is shown to others ("backup create nightly").
 * KAHU_ELOCKED with "location is locked by <user>@<host> pid <pid> since <time>
 * (<purpose>)" when another live lock exists. */
int store_lock_acquire(struct kahu_store *st, const char *purpose, struct store_lock **out);
int store_lock_acquire_ex(struct kahu_store *st, const char *purpose, int64_t stale_after,
			  struct store_lock **out);
/* Take a lock through `try_lock` (called with `ud`; it returns 0, KAHU_ELOCKED while
 * another live run holds the lock, or another error), waiting up to `wait_secs` while
 * it says KAHU_ELOCKED: 0 gives up at once.  Between attempts it pauses 1 s, doubling up
 * to 16 s, never past the limit; the first wait is announced (notice: the holder and
 * `wait_text`, how the limit was given, e.g. "30s"), later ones logged at info.  When
 * the limit passes: KAHU_ELOCKED, "waited <wait_text> for the lock: <holder>".  An
 * interrupt ends the wait at once: KAHU_EINTR. */
typedef int (*store_lock_try_fn)(void *ud, struct store_lock **out);
int store_lock_wait(store_lock_try_fn try_lock, void *ud, int64_t wait_secs,
		    const char *wait_text, struct store_lock **out);
/* Rewrite our lock with a new `refreshed` time, so long runs are not taken for stale. */
int store_lock_refresh(struct store_lock *lk);
/* Remove the lock and free it (also when the removal fails).  NULL is fine. */
int store_lock_release(struct store_lock *lk);
const struct store_lock_info *store_lock_get_info(const struct store_lock *lk);

/* Every lock on the location, in key order.  Return non-zero from cb to stop
 * (negative: that error is returned). */
typedef int (*store_lock_list_fn)(void *ud, const struct store_lock_info *li);
int store_lock_list(struct kahu_store *st, store_lock_list_fn cb, void *ud);

/* Is the lock stale at `now`?  If so and `why` is not NULL, *why gets an allocated
 * explanation ("process 123 on host1 no longer exists").  A lock whose process is
 * gone is stale only when that process was on this host (its name) and in this pid
 * namespace of this boot (pid_space; a lock without one: the host name alone):
 * containers, and pods on a node's network, share a host name with others whose pids
 * cannot be seen from here.  Otherwise a lock is stale once it has not been
 * refreshed for stale_after seconds. */
int store_lock_is_stale(const struct store_lock_info *li, int64_t now, int64_t stale_after,
			char **why);

/* Remove every stale lock (with a warning each); live locks are left alone.
 * `broken` (may be NULL) receives how many were removed. */
int store_lock_break_stale(struct kahu_store *st, int64_t stale_after, unsigned int *broken);

/* This process's pid namespace: "<boot id>/<pid namespace inode>" (Linux: from
 * /proc/sys/kernel/random/boot_id and /proc/self/ns/pid), or NULL when it cannot be
 * told.  Allocated. */
char *store_lock_pid_space(void);

/* "user@host pid N since 2024-05-01T12:00:00Z (purpose)" — allocated. */
char *store_lock_describe(const struct store_lock_info *li);

#endif

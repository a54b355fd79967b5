/* kahu — what every run against a location shares: how the location is named and
 * opened, whether it counts as keyed, and its lock (with the wait for a held one).
 * The command layer fills struct run_repo from its flags; a scheduler or a hook
 * runner fills it from its own configuration. */
#ifndef KAHU_ENGINE_RUN_H
#define KAHU_ENGINE_RUN_H

#include <stdint.h>

#include "engine/bread.h"
#include "store/lock.h"
#include "store/repo.h"

struct run_repo {
	struct repo_opts opts;      /* config, location, key file, passphrase file */
	int64_t lock_wait;          /* seconds to wait for a held lock; 0: give up at once */
	const char *lock_wait_text; /* how the wait was given ("30s"), for messages */
	int allow_unencrypted;      /* accept unauthenticated data on a keyed location */
};

/* repo_open with rr->opts (allow_key_generate as given). */
int run_open_repo(const struct run_repo *rr, int allow_key_generate, struct repo **out);

/* repo_lock, waiting up to rr->lock_wait while another run holds the lock
 * (store_lock_wait: interruptible, KAHU_EINTR). */
int run_lock(const struct run_repo *rr, struct repo *repo, const char *purpose,
	     struct store_lock **out);

/* Is the location keyed?  1 when its kahu-repo.json names a key, or when a key is named
 * for this run (rr->opts key file or passphrase file, $KAHU_KEY_FILE,
 * $KAHU_PASSPHRASE_FILE, the location's keyFile): kahu-repo.json itself is not
 * authenticated, so a key the user names counts as much.  0 otherwise. */
int run_repo_keyed(const struct run_repo *rr, struct repo *repo);

/* The rule for something that is not encrypted, and so not authenticated (a backup
 * written with --no-encryption, a restore record without a MAC), read where contents
 * are trusted.  `what` says what it is ("backup nightly is not encrypted").  On a keyed
 * location: KAHU_ECRYPTO with a message that says why it is refused and how to accept
 * it, unless rr->allow_unencrypted (then a warning).  Elsewhere 0. */
int run_unencrypted_rule(const struct run_repo *rr, struct repo *repo, const char *what);

/* backup_read_manifest, authenticated, for a run that trusts what the backup holds: a
 * backup that is not encrypted has no MAC, and on a keyed location it is refused
 * (KAHU_ECRYPTO) unless rr->allow_unencrypted (run_unencrypted_rule); elsewhere a
 * warning says it cannot be authenticated.  *out is freed with manifest_free. */
int run_read_trusted(const struct run_repo *rr, struct repo *repo, const char *name,
		     struct manifest **out);

#endif

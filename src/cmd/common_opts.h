/* kahu — what the commands share (common.c): the options of the commands that open a
 * repository (key, backup, restore, location): --location, --key-file,
 * --passphrase-file, --lock-wait, --allow-unencrypted, and the run's location made of
 * them; the scope flags; a backup's manifest read where it is trusted.  Option tables
 * are arrays of struct kahu_opt values, so the shared entries are macros:
 *
 *     static const struct kahu_opt opts[] = {
 *             KAHU_OPT_LOCATION, KAHU_OPT_KEY_FILE, KAHU_OPT_PASSPHRASE_FILE,
 *             ...
 *             OPT_END
 *     };
 *
 * Each command that uses them documents them in its man page (the docs test checks). */
#ifndef KAHU_CMD_COMMON_OPTS_H
#define KAHU_CMD_COMMON_OPTS_H

#include "cmd/ctx.h"
#include "engine/run.h"
#include "store/repo.h"

#define KAHU_OPT_LOCATION \
	{ "location", 0, "NAME", "the storage location (default: the configuration's default " \
	  "location)", "@location", 0, NULL }
#define KAHU_OPT_KEY_FILE \
	{ "key-file", 0, "FILE", "the key file (default: $KAHU_KEY_FILE, then the location's " \
	  "keyFile, then ~/.config/kahu/keys/default.key)", "file", 0, NULL }
#define KAHU_OPT_PASSPHRASE_FILE \
	{ "passphrase-file", 0, "FILE", "a file holding a passphrase that unlocks the " \
	  "location's key (default: $KAHU_PASSPHRASE_FILE)", "file", 0, NULL }

#define KAHU_OPT_LOCK_WAIT \
	{ "lock-wait", 0, "DURATION", "when another run holds the location's lock, wait up to " \
	  "DURATION for it (e.g. 30s, 10m; default: give up at once, exit 75)", NULL, 0, NULL }

#define KAHU_OPT_ALLOW_UNENCRYPTED \
	{ "allow-unencrypted", 0, NULL, "accept a backup or restore record that is not " \
	  "encrypted, and so cannot be authenticated, on a keyed location", NULL, 0, NULL }

/* The options of a command that only reads a location with its key (key id):
 * --location, --key-file, --passphrase-file. */
extern const struct kahu_opt cmd_repo_key_opts[];
/* The same, for commands that trust what they read (backup verify and logs, restore
 * logs): also --allow-unencrypted. */
extern const struct kahu_opt cmd_repo_read_opts[];

/* Is the location keyed?  1 when its kahu-repo.json names a key, or when a key is named
 * for this run (--key-file, --passphrase-file, $KAHU_KEY_FILE, $KAHU_PASSPHRASE_FILE, the
 * location's keyFile): kahu-repo.json itself is not authenticated, so a key the user
 * names counts as much.  0 otherwise. */
int cmd_repo_keyed(const struct kahu_ctx *ctx, struct repo *repo);

/* The rule for something that is not encrypted, and so not authenticated (a backup
 * written with --no-encryption, a restore record without a MAC), read where contents
 * are trusted.  `what` says what it is ("backup nightly is not encrypted").  On a keyed
 * location: KAHU_ECRYPTO with a message that says why it is refused and how to accept
 * it, unless the command got --allow-unencrypted (then a warning).  Elsewhere 0. */
int cmd_unencrypted_rule(const struct kahu_ctx *ctx, struct repo *repo, const char *what);

/* Fill repository options from the invocation: --config, and --location, --key-file
 * and --passphrase-file when the command has them (absent options stay NULL, so the
 * environment applies). */
void cmd_repo_opts(const struct kahu_ctx *ctx, struct repo_opts *o);
/* The location of a run as struct run_repo: cmd_repo_opts and --lock-wait (when the
 * command has it; KAHU_EUSAGE when it is not a duration). */
int cmd_run_repo(const struct kahu_ctx *ctx, struct run_repo *rr);
/* repo_open with cmd_repo_opts. */
int cmd_open_repo(struct kahu_ctx *ctx, int allow_key_generate, struct repo **out);
/* repo_lock, waiting up to --lock-wait (when the command has it) while another run
 * holds the lock; interruptible (KAHU_EINTR). */
int cmd_repo_lock(struct kahu_ctx *ctx, struct repo *repo, const char *purpose, struct store_lock **out);

struct kahu_scope;

/* The scope flags of backup create / restore create. */
int scope_from_flags(const struct kahu_invocation *inv, struct kahu_scope **out);

/* backup_read_manifest, authenticated, for a command that trusts what the backup holds
 * (describe, download, verify, logs, restore): a backup that is not encrypted has no
 * MAC, and on a keyed location it is refused (KAHU_ECRYPTO) unless the command got
 * --allow-unencrypted (cmd_unencrypted_rule); elsewhere a warning says it cannot be
 * authenticated. */
int backup_read_trusted(const struct kahu_ctx *ctx, struct repo *repo, const char *name,
			struct manifest **out);

#endif

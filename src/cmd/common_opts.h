/* kahu — options shared by the commands that open a repository (key, backup, restore):
 * --location, --key-file, --passphrase-file.  Option tables are arrays of struct
 * kahu_opt values, so the shared entries are macros:
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

/* The options of a command that only reads a location with its key (key id, backup
 * verify and logs, restore logs): --location, --key-file, --passphrase-file. */
extern const struct kahu_opt cmd_repo_key_opts[];

/* Fill repository options from the invocation: --config, and --location, --key-file
 * and --passphrase-file when the command has them (absent options stay NULL, so the
 * environment applies). */
void cmd_repo_opts(const struct kahu_ctx *ctx, struct repo_opts *o);
/* repo_open with cmd_repo_opts. */
int cmd_open_repo(struct kahu_ctx *ctx, int allow_key_generate, struct repo **out);
/* repo_lock, waiting up to --lock-wait (when the command has it) while another run
 * holds the lock; interruptible (KAHU_EINTR). */
int cmd_repo_lock(struct kahu_ctx *ctx, struct repo *repo, const char *purpose, struct store_lock **out);

#endif

/* kahu — entry point: the command table, global setup, dispatch, and the one map from
 * internal error codes to exit statuses (documented in kahu(1) EXIT STATUS). */
#include "cli/cmdtab.h"
#include "cli/output.h"
#include "cmd/ctx.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* Set to "1" to leave core dumps and the process's dumpability as the environment set
 * them (kahu(1) ENVIRONMENT). */
#define ENV_DEBUG_CORE "KAHU_DEBUG_CORE"

static const struct kahu_cmd *const commands[] = {
	&cmd_backup_entry,
	&cmd_backup_create_entry,
	&cmd_backup_list_entry,
	&cmd_backup_describe_entry,
	&cmd_backup_delete_entry,
	&cmd_backup_download_entry,
	&cmd_backup_verify_entry,
	&cmd_backup_logs_entry,
	&cmd_backup_prune_entry,
	&cmd_cluster_entry,
	&cmd_cluster_check_entry,
	&cmd_completion_entry,
	&cmd_help_entry,
	&cmd_key_entry,
	&cmd_key_generate_entry,
	&cmd_key_id_entry,
	&cmd_key_add_passphrase_entry,
	&cmd_location_entry,
	&cmd_location_repair_entry,
	&cmd_location_add_entry,
	&cmd_location_list_entry,
	&cmd_location_describe_entry,
	&cmd_location_remove_entry,
	&cmd_location_set_default_entry,
	&cmd_location_probe_entry,
	&cmd_mover_entry,
	&cmd_mover_backup_entry,
	&cmd_mover_restore_entry,
	&cmd_mover_bundle_entry,
	&cmd_plan_entry,
	&cmd_plan_create_entry,
	&cmd_plan_apply_entry,
	&cmd_plan_list_entry,
	&cmd_plan_describe_entry,
	&cmd_plan_delete_entry,
	&cmd_plan_validate_entry,
	&cmd_plan_run_entry,
	&cmd_plan_status_entry,
	&cmd_plan_install_entry,
	&cmd_plan_uninstall_entry,
	&cmd_plan_watch_entry,
	&cmd_provider_entry,
	&cmd_provider_list_entry,
	&cmd_provider_describe_entry,
	&cmd_provider_register_entry,
	&cmd_provider_unregister_entry,
	&cmd_provider_enable_entry,
	&cmd_provider_disable_entry,
	&cmd_restore_entry,
	&cmd_restore_create_entry,
	&cmd_restore_list_entry,
	&cmd_restore_describe_entry,
	&cmd_restore_logs_entry,
	&cmd_version_entry,
	&cmd_internal_complete_entry,
	&cmd_internal_dump_cli_entry,
	&cmd_internal_exec_entry,
	NULL,
};

/* Exit statuses: sysexits(3) values where they fit. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_PARTIAL = 2,
	EXIT_USAGE = 64,
	EXIT_DATAERR = 65,
	EXIT_NOINPUT = 66,
	EXIT_UNAVAILABLE = 69,
	EXIT_SOFTWARE = 70,
	EXIT_CANTCREAT = 73,
	EXIT_IOERR = 74,
	EXIT_TEMPFAIL = 75,
	EXIT_PROTOCOL = 76,
	EXIT_NOPERM = 77,
	EXIT_CONFIG = 78,
	EXIT_AUTH = 80,
	EXIT_INTERRUPTED = 130,
	EXIT_TERMINATED = 143,
};

const struct kahu_exit_code kahu_exit_codes[] = {
	{ EXIT_OK, "OK", "success" },
	{ EXIT_FAILED, "FAILED", "the operation failed (see the message)" },
	{ EXIT_PARTIAL, "PARTIAL", "completed, but some items failed (PartiallyFailed)" },
	{ EXIT_USAGE, "USAGE", "bad command line: unknown command or flag, wrong arguments" },
	{ EXIT_DATAERR, "DATAERR", "corrupt, tampered or truncated data, or an answer kahu cannot use" },
	{ EXIT_NOINPUT, "NOINPUT", "something named does not exist: file, context, backup, object" },
	{ EXIT_UNAVAILABLE, "UNAVAILABLE", "the cluster or the storage location cannot be reached" },
	{ EXIT_SOFTWARE, "SOFTWARE", "internal error (a bug in kahu)" },
	{ EXIT_CANTCREAT, "CANTCREAT", "the thing to create already exists" },
	{ EXIT_IOERR, "IOERR", "local I/O error, disk full, write error on standard output" },
	{ EXIT_TEMPFAIL, "TEMPFAIL", "temporary failure: retries exhausted, location locked; try again" },
	{ EXIT_PROTOCOL, "PROTOCOL", "TLS verification or protocol failure talking to the server" },
	{ EXIT_NOPERM, "NOPERM", "permission denied: forbidden by the server, wrong key, unsafe key file mode" },
	{ EXIT_CONFIG, "CONFIG", "malformed configuration or kubeconfig" },
	{ EXIT_AUTH, "AUTH", "not authenticated: the server rejected the credentials (401)" },
	{ EXIT_INTERRUPTED, "INTERRUPTED", "interrupted by SIGINT (Ctrl-C); nothing half-written is left visible" },
	{ EXIT_TERMINATED, "TERMINATED", "terminated by SIGTERM; nothing half-written is left visible" },
	{ 0, NULL, NULL },
};

static int exit_code_for(int err)
{
	switch (err) {
	case KAHU_OK: return EXIT_OK;
	case KAHU_EUSAGE: return EXIT_USAGE;
	case KAHU_ECONFIG: return EXIT_CONFIG;
	case KAHU_ENOTFOUND: return EXIT_NOINPUT;
	case KAHU_EEXIST: return EXIT_CANTCREAT;
	case KAHU_EDATA: case KAHU_EPROTO: return EXIT_DATAERR;
	case KAHU_ECRYPTO: case KAHU_EPERM: case KAHU_EFORBIDDEN: return EXIT_NOPERM;
	case KAHU_EIO: case KAHU_ENOSPC: return EXIT_IOERR;
	case KAHU_EUNREACHABLE: return EXIT_UNAVAILABLE;
	case KAHU_ETLS: return EXIT_PROTOCOL;
	case KAHU_EAUTH: return EXIT_AUTH;
	case KAHU_ETEMP: case KAHU_ELOCKED: case KAHU_ECONFLICT: return EXIT_TEMPFAIL;
	case KAHU_EINTR: return kahu_cancelled() == SIGTERM ? EXIT_TERMINATED : EXIT_INTERRUPTED;
	case KAHU_EPARTIAL: return EXIT_PARTIAL;
	case KAHU_EINTERNAL: case KAHU_ENOMEM: return EXIT_SOFTWARE;
	default: return EXIT_FAILED;
	}
}

/* Signals: SIGINT and SIGTERM are blocked in every thread and taken by one thread
 * with sigwait, so no system call elsewhere is cut short.  That thread cancels the run
 * (util/cancel.h: an atomic store and a write to a self-pipe, async-signal-safe, so it
 * would be as correct in a handler): sleeping retries wake at once, transfers abort,
 * no new work starts.  A second signal ends the process at once. */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;
	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (kahu_cancelled()) {
			static const char msg[] = "kahu: interrupted again, exiting now\n";
			if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
				/* nothing to do */
			}
			_exit(sig == SIGTERM ? EXIT_TERMINATED : EXIT_INTERRUPTED);
		}
		kahu_cancel(sig);
	}
	return NULL;
}

static void setup_signals(void)
{
	static sigset_t set;
	pthread_t t;

	signal(SIGPIPE, SIG_IGN); /* write errors are detected and reported instead */
	if (kahu_cancel_init() < 0)
		log_warn("cannot create the cancellation pipe: waits notice Ctrl-C within 50 ms");
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t, NULL, signal_thread, &set) == 0)
		pthread_detach(t);
}

/* A core file, or a debugger attached by another process of the same user, would see
 * what kahu holds in memory: the bearer token, the encryption key, Secret data being
 * backed up or restored.  So before anything is read, the core size limit is set to 0
 * (soft and hard, so the credential plugins kahu starts inherit it) and the process is
 * made non-dumpable: no core even where a core_pattern pipe ignores the limit, no
 * ptrace attach and no /proc/PID/mem without CAP_SYS_PTRACE.  Returns 1 when
 * KAHU_DEBUG_CORE=1 left both alone, 0 otherwise. */
static int setup_core_dumps(void)
{
	const char *dbg = getenv(ENV_DEBUG_CORE);
	if (dbg && strcmp(dbg, "1") == 0)
		return 1;
	struct rlimit none = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		log_warn("cannot set the core size limit to 0: %s", strerror(errno));
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("cannot make the process non-dumpable: %s", strerror(errno));
#endif
	return 0;
}

static void setup_logging(const struct kahu_invocation *inv)
{
	int level = KAHU_LOG_NOTICE + inv_count(inv, OPT_VERBOSE);
	if (inv_count(inv, OPT_QUIET))
		level = KAHU_LOG_ERROR;
	kahu_log_set_level(level);
	const char *lf = inv_str(inv, OPT_LOG_FORMAT);
	kahu_log_set_format(lf && strcmp(lf, "json") == 0 ? KAHU_LOG_JSON : KAHU_LOG_TEXT);
}

int main(int argc, char **argv)
{
	struct kahu_invocation inv;
	struct kahu_ctx ctx = { 0 };
	int rc;

	int debug_core = setup_core_dumps();
	setup_signals();
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "kahu: cannot initialise the crypto or HTTP library\n");
		return EXIT_SOFTWARE;
	}

	rc = cli_parse(commands, argc, argv, &inv);
	if (rc < 0) {
		fprintf(stderr, "kahu: %s\n", kahu_error_last());
		cli_invocation_free(&inv);
		return exit_code_for(rc);
	}
	setup_logging(&inv);
	if (debug_core)
		log_warn("%s=1: core dumps are left enabled; a core file of kahu may hold "
			 "credentials, keys and Secret data", ENV_DEBUG_CORE);
	ctx.inv = &inv;
	ctx.cmds = commands;
	ctx.out = out_format_parse(inv_str(&inv, OPT_OUTPUT));
	ctx.progress = isatty(STDERR_FILENO) && !inv_count(&inv, OPT_NO_PROGRESS) &&
		       !inv_count(&inv, OPT_QUIET) && !inv_count(&inv, OPT_VERBOSE);

	if (inv.help || !inv.cmd || !inv.cmd->run) {
		cli_print_help(commands, inv.cmd, NULL, stdout);
		rc = 0;
	} else {
		kahu_error_clear();
		rc = cmd_dispatch(&ctx);
	}

	int orc = out_finish_stdout();
	if (rc >= 0 && orc < 0)
		rc = orc;
	if (rc < 0 && rc != KAHU_EPARTIAL && kahu_error_last()[0])
		log_error("%s", kahu_error_last());
	int status = rc == 0 && ctx.exit_status ? ctx.exit_status : exit_code_for(rc);
	ctx_release(&ctx);
	cli_invocation_free(&inv);
	curl_global_cleanup();
	return status;
}

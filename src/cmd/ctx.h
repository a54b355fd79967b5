/* kahu — what a command handler gets: the parsed invocation, what its parse stage
 * made, and what the dispatcher set up for it (cmdtab.h CMD_*): the location, its
 * lock, the kubeconfig and the API client (these two also built on demand). */
#ifndef KAHU_CMD_CTX_H
#define KAHU_CMD_CTX_H

#include "cli/cmdtab.h"
#include "cli/output.h"
#include "engine/run.h"

struct kube_config;
struct kube_client;

struct kahu_ctx {
	const struct kahu_invocation *inv;
	const struct kahu_cmd *const *cmds;
	enum out_format out;
	int progress;                 /* show progress: stderr is a terminal, no --no-progress/-q */
	void *spec;                   /* what the command's parse stage made */
	struct kube_config *kcfg;     /* CMD_CLUSTER, or ctx_kube_config */
	struct kube_client *kc;       /* CMD_CLUSTER, or ctx_kube_client */
	const char *context;          /* the context to use when --context is not given (a plan's) */
	struct run_repo rr;           /* CMD_REPO, CMD_WRITE, CMD_LOCK: the location's flags */
	struct repo *repo;            /* CMD_REPO, CMD_WRITE, CMD_LOCK: opened */
	struct store_lock *lock;      /* CMD_LOCK: held while the handler runs */
	int exit_status;              /* when the handler succeeded: the process's exit status
					* (__exec: the remote command's), 0 for the usual */
};

/* Run the invocation's command: its parse stage, what its flags ask for (cmdtab.h),
 * its handler; then release what was set up, also when something failed. */
int cmd_dispatch(struct kahu_ctx *ctx);

/* Load the kubeconfig per the global flags (once). */
int ctx_kube_config(struct kahu_ctx *ctx, struct kube_config **out);
/* The API client per the global flags (once). */
int ctx_kube_client(struct kahu_ctx *ctx, struct kube_client **out);
void ctx_release(struct kahu_ctx *ctx);

/* The command entries, one per file in src/cmd/. */
extern const struct kahu_cmd cmd_version_entry;
extern const struct kahu_cmd cmd_completion_entry;
extern const struct kahu_cmd cmd_help_entry;
extern const struct kahu_cmd cmd_internal_complete_entry;
extern const struct kahu_cmd cmd_internal_dump_cli_entry;
extern const struct kahu_cmd cmd_internal_exec_entry;
extern const struct kahu_cmd cmd_backup_entry;
extern const struct kahu_cmd cmd_backup_create_entry;
extern const struct kahu_cmd cmd_backup_list_entry;
extern const struct kahu_cmd cmd_backup_describe_entry;
extern const struct kahu_cmd cmd_backup_delete_entry;
extern const struct kahu_cmd cmd_backup_download_entry;
extern const struct kahu_cmd cmd_backup_verify_entry;
extern const struct kahu_cmd cmd_backup_logs_entry;
extern const struct kahu_cmd cmd_backup_prune_entry;
extern const struct kahu_cmd cmd_restore_entry;
extern const struct kahu_cmd cmd_restore_create_entry;
extern const struct kahu_cmd cmd_restore_list_entry;
extern const struct kahu_cmd cmd_restore_describe_entry;
extern const struct kahu_cmd cmd_restore_logs_entry;
extern const struct kahu_cmd cmd_cluster_entry;
extern const struct kahu_cmd cmd_cluster_check_entry;
extern const struct kahu_cmd cmd_key_entry;
extern const struct kahu_cmd cmd_key_generate_entry;
extern const struct kahu_cmd cmd_key_id_entry;
extern const struct kahu_cmd cmd_key_add_passphrase_entry;
extern const struct kahu_cmd cmd_location_entry;
extern const struct kahu_cmd cmd_location_repair_entry;
extern const struct kahu_cmd cmd_location_add_entry;
extern const struct kahu_cmd cmd_location_list_entry;
extern const struct kahu_cmd cmd_location_describe_entry;
extern const struct kahu_cmd cmd_location_remove_entry;
extern const struct kahu_cmd cmd_location_set_default_entry;
extern const struct kahu_cmd cmd_location_probe_entry;
extern const struct kahu_cmd cmd_mover_entry;
extern const struct kahu_cmd cmd_mover_backup_entry;
extern const struct kahu_cmd cmd_mover_bundle_entry;
extern const struct kahu_cmd cmd_mover_restore_entry;
extern const struct kahu_cmd cmd_plan_entry;
extern const struct kahu_cmd cmd_plan_create_entry;
extern const struct kahu_cmd cmd_plan_apply_entry;
extern const struct kahu_cmd cmd_plan_list_entry;
extern const struct kahu_cmd cmd_plan_describe_entry;
extern const struct kahu_cmd cmd_plan_delete_entry;
extern const struct kahu_cmd cmd_plan_validate_entry;
extern const struct kahu_cmd cmd_plan_run_entry;
extern const struct kahu_cmd cmd_plan_status_entry;
extern const struct kahu_cmd cmd_plan_install_entry;
extern const struct kahu_cmd cmd_plan_uninstall_entry;
extern const struct kahu_cmd cmd_plan_watch_entry;
extern const struct kahu_cmd cmd_provider_entry;
extern const struct kahu_cmd cmd_provider_list_entry;
extern const struct kahu_cmd cmd_provider_describe_entry;
extern const struct kahu_cmd cmd_provider_register_entry;
extern const struct kahu_cmd cmd_provider_unregister_entry;
extern const struct kahu_cmd cmd_provider_enable_entry;
extern const struct kahu_cmd cmd_provider_disable_entry;

/* The exit-status table lives in main.c; __dump-cli prints it for the docs test. */
struct kahu_exit_code {
	int code;
	const char *name;
	const char *meaning;
};
extern const struct kahu_exit_code kahu_exit_codes[];

#endif

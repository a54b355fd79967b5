/* kahu — every option of every command, by id.
 *
 * One line per option: X(ID, "long-name").  From this list come the enum of ids
 * (OPT_ID, what handlers read options by: inv_str(inv, OPT_PARALLEL)) and the long
 * names the option tables use (OPTION(PARALLEL, ...) in cmdtab.h), so a misspelt
 * option is a compile error, not a run-time one.  What an option means for one
 * command (its help, value name, completion, default) stays in that command's table.
 *
 * Two ids may share a long name when the option means something else for some
 * command: --passphrase-file is the passphrase that unlocks a location's key
 * (PASSPHRASE_FILE) everywhere but in key add-passphrase, where it is the new one
 * (NEW_PASSPHRASE_FILE), and the location options leave it alone. */
#ifndef KAHU_CLI_OPTIONS_H
#define KAHU_CLI_OPTIONS_H

#define KAHU_OPTIONS(X) \
	/* global */ \
	X(KUBECONFIG, "kubeconfig") \
	X(CONTEXT, "context") \
	X(NAMESPACE, "namespace") \
	X(CONFIG, "config") \
	X(OUTPUT, "output") \
	X(VERBOSE, "verbose") \
	X(QUIET, "quiet") \
	X(LOG_FORMAT, "log-format") \
	X(NO_PROGRESS, "no-progress") \
	X(INSECURE_SKIP_TLS_VERIFY, "insecure-skip-tls-verify") \
	X(REQUEST_TIMEOUT, "request-timeout") \
	X(MAX_REQUESTS, "max-requests") \
	X(PAGE_SIZE, "page-size") \
	X(HELP, "help") \
	/* a location and its key */ \
	X(LOCATION, "location") \
	X(KEY_FILE, "key-file") \
	X(PASSPHRASE_FILE, "passphrase-file") \
	X(NEW_PASSPHRASE_FILE, "passphrase-file") \
	X(LOCK_WAIT, "lock-wait") \
	X(ALLOW_UNENCRYPTED, "allow-unencrypted") \
	/* scope */ \
	X(INCLUDE_NAMESPACES, "include-namespaces") \
	X(EXCLUDE_NAMESPACES, "exclude-namespaces") \
	X(INCLUDE_RESOURCES, "include-resources") \
	X(EXCLUDE_RESOURCES, "exclude-resources") \
	X(INCLUDE_CLUSTER_RESOURCES, "include-cluster-resources") \
	X(SELECTOR, "selector") \
	X(OR_SELECTOR, "or-selector") \
	X(INCLUDE_NAMES, "include-names") \
	X(EXCLUDE_NAMES, "exclude-names") \
	/* the commands' own */ \
	X(ALL, "all") \
	X(ALL_CONTEXTS, "all-contexts") \
	X(CASCADE, "cascade") \
	X(CADENCE, "cadence") \
	X(COMPRESSION_LEVEL, "compression-level") \
	X(CONTEXTS, "contexts") \
	X(CRD_TIMEOUT, "crd-timeout") \
	X(DETAILS, "details") \
	X(DIFFERENTIAL, "differential") \
	X(DRY_RUN, "dry-run") \
	X(EXISTING_RESOURCE_POLICY, "existing-resource-policy") \
	X(EXTRACT, "extract") \
	X(FILE, "file") \
	X(FROM_BACKUP, "from-backup") \
	X(FROM_CONFIGMAP, "from-configmap") \
	X(FROM_VELERO, "from-velero") \
	X(FULL, "full") \
	X(FULL_SCHEDULE, "full-schedule") \
	X(HOOKS, "hooks") \
	X(IMAGE_MAPPINGS, "image-mappings") \
	X(INCREMENTAL, "incremental") \
	X(KEEP_DAILY, "keep-daily") \
	X(KEEP_HOURLY, "keep-hourly") \
	X(KEEP_LAST, "keep-last") \
	X(KEEP_MONTHLY, "keep-monthly") \
	X(KEEP_WEEKLY, "keep-weekly") \
	X(KEEP_YEARLY, "keep-yearly") \
	X(LABELS, "labels") \
	X(NAMESPACE_MAPPINGS, "namespace-mappings") \
	X(NO_ENCRYPTION, "no-encryption") \
	X(OUTCOME, "outcome") \
	X(PARALLEL, "parallel") \
	X(PARALLEL_CLUSTERS, "parallel-clusters") \
	X(PARENT, "parent") \
	X(PRESERVE_NODEPORTS, "preserve-nodeports") \
	X(REPLICAS_OVERRIDE, "replicas-override") \
	X(RESTORE_OWNED, "restore-owned") \
	X(SCHEDULE, "schedule") \
	X(STATUS_INCLUDE_RESOURCES, "status-include-resources") \
	X(STORAGE_CLASS_MAPPINGS, "storage-class-mappings") \
	X(TIME_ZONE, "time-zone") \
	X(TRANSFORM, "transform") \
	X(TTL, "ttl") \
	X(YES, "yes") \
	/* plan install */ \
	X(AWS_CREDENTIALS, "aws-credentials") \
	X(CRON, "cron") \
	X(IMAGE, "image") \
	X(KUBERNETES, "kubernetes") \
	X(LOG_FILE, "log-file") \
	X(STARTING_DEADLINE, "starting-deadline") \
	X(SYSTEMD, "systemd") \
	X(UNIT_DIR, "unit-dir") \
	X(WATCH, "watch") \
	/* plan watch */ \
	X(MAX_INTERVAL, "max-interval") \
	X(QUIET_PERIOD, "quiet-period") \
	/* provider and location commands */ \
	X(PROVIDER, "provider") \
	X(SET, "set") \
	X(PREFIX, "prefix") \
	X(DEFAULT, "default") \
	X(CLUSTER, "cluster") \
	X(ALL_LOCATIONS, "all-locations") \
	/* volume data */ \
	X(VOLUME_DATA, "volume-data") \
	X(VOLUME_POLICY, "volume-policy") \
	X(VOLUME_LOCATION, "volume-location") \
	X(EXCLUDE_VOLUME_PATHS, "exclude-volume-paths") \
	X(HELPER_IMAGE, "helper-image") \
	X(HELPER_RESOURCES, "helper-resources") \
	X(HELPER_NODE_SELECTOR, "helper-node-selector") \
	X(HELPER_TOLERATIONS, "helper-tolerations") \
	X(SNAPSHOT_CLASS, "snapshot-class") \
	X(CSI_SNAPSHOT_TIMEOUT, "csi-snapshot-timeout") \
	X(SNAPSHOT_MOVE_DATA, "snapshot-move-data") \
	X(RESTORE_VOLUMES, "restore-volumes") \
	X(VOLUMES_ONLY, "volumes-only") \
	X(PVC, "pvc") \
	X(SCALE_DOWN, "scale-down") \
	X(DELETE_EXTRA_FILES, "delete-extra-files") \
	/* data movers */ \
	X(DATA_MOVER, "data-mover") \
	X(MOVERS_PER_NODE, "movers-per-node") \
	X(MOVER_IMAGE, "mover-image") \
	X(MOVER_RETRIES, "mover-retries") \
	X(MOVER_SECRET, "mover-secret") \
	X(MOVER_TIMEOUT, "mover-timeout") \
	/* kahu mover */ \
	X(BUNDLE, "bundle") \
	X(SPEC, "spec") \
	/* the hidden __exec */ \
	X(EXEC_CONTAINER, "container") \
	X(EXEC_STDIN, "stdin") \
	X(EXEC_V4, "v4") \
	X(EXEC_WRITE_ALL, "write-all") \
	/* volume data */ \
	X(VOLUME, "volume") \
	X(PATH, "path")

enum kahu_opt_id {
	OPT_NONE = 0,          /* the end of a table */
#define KAHU_OPT_ID_(id, name) OPT_##id,
	KAHU_OPTIONS(KAHU_OPT_ID_)
#undef KAHU_OPT_ID_
	OPT_NIDS
};

/* The long names, one member per id (kahu_opt_names.PARALLEL is "parallel"): a
 * member, unlike an element of an array of pointers, is a constant the option tables
 * can be initialised with. */
struct kahu_opt_names {
#define KAHU_OPT_NAME_(id, name) char id[sizeof name];
	KAHU_OPTIONS(KAHU_OPT_NAME_)
#undef KAHU_OPT_NAME_
};
extern const struct kahu_opt_names kahu_opt_names;

#endif

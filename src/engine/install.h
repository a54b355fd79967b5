/* kahu — what `kahu plan install` writes: the objects that run a plan in a cluster
 * (Namespace, ServiceAccount, the least RBAC, the plan's ConfigMap and a CronJob, or a
 * Deployment for `plan watch`), a crontab line, and systemd service and timer units.
 *
 * Pure functions of an install_spec: no I/O, no cluster.  The key, passphrase and
 * credentials never appear in what they return: the objects reference a Secret by name
 * and say which of its keys they mount; the Secret is made from files by a separate
 * step.  The plan itself goes into the ConfigMap as the user's YAML text. */
#ifndef KAHU_ENGINE_INSTALL_H
#define KAHU_ENGINE_INSTALL_H

#include <jansson.h>
#include <stddef.h>

enum install_volumes {
	INSTALL_VOL_NONE = 0,      /* metadata only */
	INSTALL_VOL_FS = 1,        /* files through pods/exec (helper pods) */
	INSTALL_VOL_CSI = 2,       /* VolumeSnapshots, temporary claims, helper pods */
	INSTALL_VOL_MOVERS = 4,    /* --data-mover cluster: Jobs, their Secrets and ServiceAccounts */
};

struct install_spec {
	const char *plan;          /* the plan's name (a DNS label) */
	const char *plan_yaml;     /* the plan document, as the ConfigMap's plan.yaml */
	const char *schedule;      /* cron expression or @daily-style, as in the plan */
	const char *time_zone;     /* IANA name, or NULL for UTC */
	const char *namespace;     /* where kahu's own objects go */
	const char *image;         /* the kahu image */
	/* What the plan reads: exact namespace names (a RoleBinding in each), or none for
	 * the whole cluster (a ClusterRoleBinding).  A glob cannot be bound: the caller
	 * passes none for it. */
	const char *const *namespaces;
	size_t n_namespaces;
	unsigned volumes;          /* INSTALL_VOL_* bits */
	int hooks;                 /* the plan runs exec hooks in pods */
	int watch;                 /* a Deployment running `plan watch` instead of a CronJob */
	const char *quiet_period;  /* watch: plan watch's --quiet-period, or NULL (its default) */
	const char *max_interval;  /* watch: plan watch's --max-interval, or NULL */
	/* The Secret's keys that exist (the Secret is made from these files). */
	int has_key;               /* "key": the key file */
	int has_passphrase;        /* "passphrase": unlocks the key */
	int has_aws_credentials;   /* "aws-credentials": a shared credentials file for S3 */
	long starting_deadline;    /* CronJob startingDeadlineSeconds */
	long history;              /* successful and failed Jobs kept */
	/* For cron and systemd: where things are on this machine. */
	const char *kahu_path;     /* absolute path of the kahu binary */
	const char *config_path;   /* --config, or NULL */
	const char *kubeconfig;    /* --kubeconfig, or NULL */
	const char *context;       /* --context, or NULL */
	const char *log_file;      /* cron: appended to; NULL: none */
	const char *system_time_zone; /* cron: the zone cron runs entries in ("UTC", …) */
	const char *lock_wait;     /* --lock-wait value, or NULL */
	const char *on_calendar;   /* systemd: the schedule in OnCalendar= form (one or two
				    * expressions separated by '\n', each without a zone) */
};

/* The names of what install makes, derived from the plan's name. */
#define INSTALL_PREFIX "kahu-"
/* The label every object carries, with the plan's name as value (uninstall finds them
 * by it). */
#define INSTALL_LABEL "kahu.io/plan"

/* The Kubernetes objects, in the order they are created: Namespace, ServiceAccount,
 * ClusterRole(s), ClusterRoleBinding or RoleBindings, ConfigMap, CronJob (or
 * Deployment).  NULL on bad input (kahu_error_set). */
json_t *install_k8s_objects(const struct install_spec *s);
/* The name of the Secret the objects reference. */
char *install_secret_name(const char *plan);

/* A crontab entry (comment line naming the plan, CRON_TZ when a zone is set, the
 * schedule and the command), newline-terminated; malloc'd. */
char *install_cron_entry(const struct install_spec *s);
/* The marker comment that starts a plan's crontab entry (uninstall removes it and the
 * lines up to the command). */
char *install_cron_marker(const char *plan);

/* systemd units: kahu-plan-NAME.service (oneshot) and kahu-plan-NAME.timer
 * (Persistent=true).  Both malloc'd; the names are install_systemd_name(plan, "service"). */
int install_systemd_units(const struct install_spec *s, char **service, char **timer);
char *install_systemd_name(const char *plan, const char *suffix);

struct cron;
/* A schedule in systemd's OnCalendar= form, without the zone: one expression, or two
 * separated by '\n' when cron's day-of-month and day-of-week both restrict (cron fires
 * on a day matching either; systemd's fields all have to match, and a timer fires on
 * any of its OnCalendar= lines).  malloc'd. */
char *install_calendar(const struct cron *c);

/* Quote one argument for a POSIX shell (cron runs the command with /bin/sh). */
char *install_sh_quote(const char *arg);

#endif

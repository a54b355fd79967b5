/* kahu — hooks: commands run in a pod's container around a backup or a restore, and on
 * the operator's machine before and after a whole run (kahu-hooks(5)).
 *
 * Definitions come from two places:
 *   - pod annotations: `pre.hook.backup.kahu.io/{container,command,on-error,timeout}`,
 *     `post.hook.backup.kahu.io/…`, `post.hook.restore.kahu.io/{container,command,
 *     on-error,exec-timeout,wait-timeout}`, `init.hook.restore.kahu.io/{container-image,
 *     container-name,command}`, and the same under `*.velero.io` (kahu's win, key by key
 *     group: a kahu command replaces Velero's hook whole);
 *   - a hooks file (`--hooks FILE`, YAML): named hooks with namespace, resource and label
 *     selectors, and local hooks.
 * A command is a JSON array of strings (argv, no shell) or a plain string (the program
 * alone, as Velero reads it); defaults: the pod's first container, on-error Fail, timeout
 * 30 s (restore: wait-timeout 5 min).  Every error of a definition is KAHU_EUSAGE (exit
 * 64) with a message naming where it came from (the annotation, or FILE:LINE).
 *
 * Running: hook_set_pod_hooks() gives the exec hooks that apply to one pod;
 * hook_run_pod() runs them (container resolution, the wait for a Running pod, the exec
 * bounded by the hook's timeout) and appends one struct hook_result per hook to a
 * results list; hook_run_local() runs a local hook.  A hook that fails under on-error
 * Fail is counted as failed (the run becomes PartiallyFailed), under Continue it is a
 * warning.  Nothing here prints Secret data: a result holds the command, its exit code,
 * its duration and the last bytes of its standard error. */
#ifndef KAHU_ENGINE_HOOKS_H
#define KAHU_ENGINE_HOOKS_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "util/strv.h"

struct kube_client;
struct labelsel;

enum hook_when {
	HOOK_BACKUP_PRE,
	HOOK_BACKUP_POST,
	HOOK_RESTORE_POST,
};

enum hook_on_error { HOOK_FAIL, HOOK_CONTINUE };

#define HOOK_DEFAULT_TIMEOUT 30          /* seconds */
#define HOOK_DEFAULT_WAIT_TIMEOUT 300    /* seconds: restore hooks' wait for the container */
#define HOOK_TAIL_MAX 1024               /* bytes of standard error kept in a result */

struct hook_exec {
	char *name;                  /* the file's hook name, or "annotation" */
	char *source;                /* "kahu annotation", "velero annotation", "FILE:LINE" */
	char *container;             /* NULL: the pod's first container */
	struct strv argv;
	enum hook_on_error on_error;
	int64_t timeout_s;           /* the exec's bound */
	int64_t wait_timeout_s;      /* restore: how long to wait for the container to run */
};

struct hook_init {
	char *name;                  /* the init container's name */
	char *image;
	struct strv argv;
	char *source;
};

struct hook_selector {
	struct strv namespaces;      /* empty: every namespace; "*" allowed */
	struct strv resources;       /* empty: every resource (lower-case plural: pods, deployments…) */
	struct labelsel *labels;     /* NULL: every object */
};

struct hook_rule {
	char *name;
	struct hook_selector sel;
	struct hook_exec *pre, *post, *restore_post;      /* arrays */
	size_t npre, npost, nrestore_post;
	struct hook_init *init;
	size_t ninit;
};

struct hook_local {
	char *name;
	struct strv argv;
	int64_t timeout_s;
	enum hook_on_error on_error;
};

struct hook_set {
	char *path;                  /* the file's name, NULL without one */
	struct hook_rule *rules;
	size_t nrules;
	struct hook_local *before, *after;  /* local hooks around the whole run */
	size_t nbefore, nafter;
};

/* Parse a hooks file.  KAHU_EUSAGE naming FILE:LINE for an unknown key, a bad value,
 * an invalid command, duration or selector; KAHU_ENOTFOUND/KAHU_EIO when unreadable. */
int hook_set_load(const char *path, struct hook_set **out);
int hook_set_parse(const char *text, size_t len, const char *name, struct hook_set **out);
void hook_set_free(struct hook_set *hs);

/* A command: a JSON array of strings (starting with '['), else the program alone. */
int hook_command_parse(const char *text, const char *where, struct strv *argv);
/* "30s", "5m", "1h30m" or a plain number of seconds; > 0. */
int hook_duration_parse(const char *text, const char *where, int64_t *seconds);
/* "Fail" | "Continue" (case-insensitive). */
int hook_on_error_parse(const char *text, const char *where, enum hook_on_error *out);

/* The exec hooks for `pod` (a Pod object) at `when`: first the annotations' (kahu's
 * before Velero's), then the file's rules that select the pod, in file order.  Appends
 * to *hooks and *n (free each with hook_exec_clear, then the array).  KAHU_EUSAGE for a bad
 * annotation (the pod named). */
int hook_pod_hooks(const struct hook_set *hs, json_t *pod, enum hook_when when,
		   struct hook_exec **hooks, size_t *n);
/* The init containers to inject into an object of `resource` whose pod template (or
 * pod) has `pod_meta` (its metadata: labels, annotations) in `ns`. */
int hook_init_hooks(const struct hook_set *hs, const char *resource, const char *ns,
		    json_t *pod_meta, struct hook_init **hooks, size_t *n);
void hook_exec_clear(struct hook_exec *h);
void hook_init_clear(struct hook_init *h);
/* 1 when `sel` selects an object of `resource` in `ns` with `labels`. */
int hook_selector_match(const struct hook_selector *sel, const char *resource, const char *ns,
			json_t *labels);

/* Which container a hook runs in: its named one or the pod's first; a named container
 * that is neither a container nor a native sidecar (an init container with
 * restartPolicy Always) is KAHU_ENOTFOUND with a message listing the pod's containers
 * and their states.  *running is 1 when that container is running now. */
int hook_container_resolve(json_t *pod, const char *name, const char **container, int *running);
/* "app (running), sidecar (waiting: ContainerCreating)" into a new string. */
char *hook_container_states(json_t *pod);
/* What hooks need of a Pod, copied into a new object: metadata name, namespace, labels
 * and annotations; each container's and init container's name (and restartPolicy);
 * the phase and each container's and init container's name and state.  The rest of a
 * pod (its specs, managedFields, environment) is left out, so that a backup keeps no
 * more of each pod than this. */
json_t *hook_pod_trim(json_t *pod);

/* Outcomes. */
struct hook_result {
	char *when;                  /* "pre", "post", "restore-post", "before", "after" */
	char *hook, *source;
	char *namespace_, *pod, *container;  /* NULL for local hooks */
	char *command;               /* argv joined with blanks, for humans */
	int exit_code;               /* -1: did not run to an exit code */
	int64_t duration_ms;
	char *stderr_tail;           /* printable, at most HOOK_TAIL_MAX bytes */
	char *error;                 /* why it failed, NULL when it succeeded */
	enum hook_on_error on_error;
};

struct hook_results {
	pthread_mutex_t mu;
	struct hook_result *v;
	size_t n, cap;
	size_t failed;               /* failed under on-error Fail */
	size_t warned;               /* failed under Continue */
};

void hook_results_init(struct hook_results *r);
void hook_results_free(struct hook_results *r);
void hook_results_add(struct hook_results *r, struct hook_result *res);  /* takes the strings */
/* [{when, hook, source, namespace, pod, container, command, exitCode, durationMs,
 *   stderr, error, onError, status}] */
json_t *hook_results_json(struct hook_results *r);

/* Run `hooks` in `pod` (a Pod object as the server has it) one after the other: each
 * one's container resolved (a pod not Running is read again until it runs, up to the
 * hook's timeout, or wait-timeout for restore hooks), then its command run with the
 * timeout ending the exec.  Every outcome goes to `r` and the log.  A hook that fails
 * under on-error Fail stops the pod's remaining hooks of the same `when`.  Returns 0,
 * or KAHU_EINTR when the run was cancelled. */
int hook_run_pod(struct kube_client *kc, json_t *pod, const struct hook_exec *hooks, size_t n,
		 enum hook_when when, struct hook_results *r);

/* Run a local hook: argv executed directly (no shell), standard input /dev/null,
 * standard output and error captured (their last HOOK_TAIL_MAX bytes kept), `env` (a
 * NULL-terminated list of "NAME=value") added to kahu's environment, ended (SIGTERM,
 * then SIGKILL) at its timeout.  The outcome goes to `r`.  Returns 0 or KAHU_EINTR. */
int hook_run_local(const struct hook_local *h, const char *when, const char *const *env,
		   struct hook_results *r);
/* The file's local hooks before (after 0) or after (1) a run, one after the other; a
 * before hook that fails under on-error Fail skips the later before hooks.  `hs` may be
 * NULL.  0 or KAHU_EINTR. */
int hook_run_locals(const struct hook_set *hs, int after, const char *const *env, struct hook_results *r);

#endif

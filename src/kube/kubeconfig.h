/* kahu — kubeconfig loading (libyaml) and in-cluster configuration.
 *
 * Follows kubectl's rules: --kubeconfig wins; else KUBECONFIG (a ':'-separated list,
 * merged: for maps the first file that sets a name wins, for current-context the first
 * non-empty value wins); else ~/.kube/config; else, when running in a pod, the
 * service-account token and CA (KUBERNETES_SERVICE_HOST/PORT).
 * Errors name the file, the line (libyaml marks) and the field.  Only the selected
 * context, cluster and user are decoded and validated; other entries need only a name.
 * Relative paths (certificate-authority, client-certificate, client-key, tokenFile,
 * an exec command containing '/') are made absolute against their file's directory. */
#ifndef KAHU_KUBE_KUBECONFIG_H
#define KAHU_KUBE_KUBECONFIG_H

#include "util/buf.h"
#include "util/strv.h"

struct kube_exec_config {
	char *api_version;        /* client.authentication.k8s.io/v1 or v1beta1 */
	char *command;
	struct strv args;
	struct strv env;          /* "NAME=VALUE" */
	char *interactive_mode;   /* Never, IfAvailable, Always (v1: required) */
	char *install_hint;
	int provide_cluster_info;
};

struct kube_config {
	char *source;             /* for messages: the file(s) read, or "in-cluster" */
	char *context_name;
	char *cluster_name;
	char *user_name;          /* "" when the context names no user (anonymous) */
	char *namespace;          /* -n, else the context's namespace, else "default" */
	int namespace_explicit;   /* set by -n or by the context */

	/* cluster */
	char *server;             /* https://host:port[/path], no trailing slash */
	char *ca_file;            /* certificate-authority (made absolute) */
	struct kbuf ca_data;      /* certificate-authority-data, decoded PEM */
	int insecure_skip_tls_verify;
	char *tls_server_name;
	char *proxy_url;

	/* user (secrets: never log these) */
	char *token;
	char *token_file;         /* re-read by auth.c; when set it wins over token */
	char *client_cert_file;
	char *client_key_file;
	struct kbuf client_cert_data; /* decoded PEM */
	struct kbuf client_key_data;  /* decoded PEM */
	char *username;
	char *password;
	struct kube_exec_config *exec;
};

struct kube_load_opts {
	const char *kubeconfig;   /* --kubeconfig, or NULL */
	const char *context;      /* --context, or NULL */
	const char *namespace;    /* -n, or NULL */
	const char *in_cluster_root; /* tests: root of the in-cluster fallback; NULL = "/" */
};

/* Returns 0, or KAHU_ECONFIG (malformed, missing pieces), KAHU_ENOTFOUND (no
 * kubeconfig anywhere / context not found), KAHU_EIO (unreadable). */
int kube_config_load(const struct kube_load_opts *o, struct kube_config **out);
/* Same, but from one YAML document in memory (unit tests); `name` is used in messages
 * and relative paths are resolved against `dir`. */
int kube_config_load_string(const char *yaml, const char *name, const char *dir,
			    const struct kube_load_opts *o, struct kube_config **out);
/* The in-cluster configuration from the given root ("/" in production): server from
 * KUBERNETES_SERVICE_HOST/PORT, token_file, ca_file and the namespace file under
 * root/var/run/secrets/kubernetes.io/serviceaccount.  context/cluster/user names are
 * "in-cluster".  KAHU_ENOTFOUND when not in a pod (variables unset, no token). */
int kube_config_in_cluster(const char *root, struct kube_config **out);
void kube_config_free(struct kube_config *c);
/* The names of the contexts the kubeconfig files define (for shell completion). */
int kube_config_list_contexts(const struct kube_load_opts *o, struct strv *names);

#endif

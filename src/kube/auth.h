/* kahu — credentials for requests: static token/cert/basic auth, token files
 * (re-read when they change, as projected service-account tokens rotate) and exec
 * credential plugins (client.authentication.k8s.io v1/v1beta1), cached for the run and
 * refreshed at expiry.  Thread-safe. */
#ifndef KAHU_KUBE_AUTH_H
#define KAHU_KUBE_AUTH_H

#include <stddef.h>
#include <time.h>

struct kube_config;
struct kube_auth;

/* What one request uses.  Pointers stay valid until the next kube_auth_get /
 * kube_auth_invalidate on the same object from the same thread, or kube_auth_free. */
struct kube_credential {
	char *token;             /* bearer token or NULL */
	char *cert_pem;          /* client certificate (PEM) or NULL */
	size_t cert_len;
	char *key_pem;           /* client key (PEM) or NULL */
	size_t key_len;
	char *username;          /* basic auth or NULL */
	char *password;
	time_t expires;          /* 0 = no expiry */
	unsigned long serial;    /* which version of the credential this is (for
				  * kube_auth_invalidate_cred) */
};

/* Reads client certificate/key files into memory (PEM, for CURLOPT_SSLCERT_BLOB and
 * CURLOPT_SSLKEY_BLOB) and the token file; errors name the file.  An exec plugin runs
 * at the first kube_auth_get, not here. */
int kube_auth_new(const struct kube_config *cfg, struct kube_auth **out);
/* Fills `out` with a copy the caller frees with kube_credential_clear().  Token
 * precedence: exec plugin, token file, static token; a plugin's client certificate
 * replaces the kubeconfig's.  Errors (plugin failed, timed out, printed garbage):
 * KAHU_EAUTH; plugin not found: KAHU_ECONFIG (with its installHint). */
int kube_auth_get(struct kube_auth *a, struct kube_credential *out);
/* Called after a 401: drops cached exec credentials so the next get runs the plugin
 * again.  Returns 1 when a retry may help, 0 otherwise. */
int kube_auth_invalidate(struct kube_auth *a);
/* Like kube_auth_invalidate, but only drops the cached credential when it is still
 * the one `used` carried: when several requests get a 401 at once, the plugin runs
 * once.  Returns 1 when a newer credential exists or was dropped (retry), else 0. */
int kube_auth_invalidate_cred(struct kube_auth *a, const struct kube_credential *used);
void kube_credential_clear(struct kube_credential *c);
void kube_auth_free(struct kube_auth *a);

/* The parser of an exec plugin's output (an ExecCredential of `api_version`), on its
 * own: fills `out` as kube_auth_get would (free with kube_credential_clear), or returns
 * KAHU_EAUTH with the message kube_auth_get gives, naming `command` and `user`. */
int kube_exec_credential_parse(const char *api_version, const char *command,
			       const char *user, const char *json, size_t len,
			       struct kube_credential *out);

/* Tunables (tests): how long an exec plugin may run before it is killed (default
 * 60 s, 5 min when interactive), and how often a token file is checked for a new
 * version (default 60 s; 0 = at every get). */
void kube_auth_set_exec_timeout(struct kube_auth *a, long ms);
void kube_auth_set_token_recheck(struct kube_auth *a, long seconds);

#endif

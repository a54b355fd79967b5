/* kahu — error codes and the thread-local error message.
 *
 * Functions return 0 (KAHU_OK) or a negative kahu_err code and record a message with
 * kahu_error_set().  The message is printed once, where the error is handled (usually
 * by main.c, which also maps the code to an exit status).  Never put a secret (token,
 * key, passphrase, Secret data) into an error message. */
#ifndef KAHU_UTIL_ERR_H
#define KAHU_UTIL_ERR_H

#include <stdarg.h>

enum kahu_err {
	KAHU_OK = 0,
	KAHU_EFAIL = -1,        /* generic failure */
	KAHU_EUSAGE = -2,       /* bad command line */
	KAHU_ECONFIG = -3,      /* malformed configuration or kubeconfig */
	KAHU_ENOTFOUND = -4,    /* named thing does not exist (file, context, backup, object) */
	KAHU_EEXIST = -5,       /* already exists */
	KAHU_EDATA = -6,        /* corrupt, tampered or truncated data; bad server answer */
	KAHU_ECRYPTO = -7,      /* wrong key, authentication of ciphertext failed */
	KAHU_EIO = -8,          /* local I/O error */
	KAHU_ENOSPC = -9,       /* no space left on device / quota */
	KAHU_EUNREACHABLE = -10,/* cannot connect (DNS, refused, timeout) */
	KAHU_ETLS = -11,        /* TLS handshake or certificate verification failed */
	KAHU_EAUTH = -12,       /* 401: not authenticated */
	KAHU_EFORBIDDEN = -13,  /* 403 */
	KAHU_ETEMP = -14,       /* transient failure, retries exhausted; lock held */
	KAHU_EPERM = -15,       /* local permission problem (e.g. key file mode) */
	KAHU_EINTR = -16,       /* interrupted by a signal */
	KAHU_EPARTIAL = -17,    /* finished, but some items failed */
	KAHU_ECONFLICT = -18,   /* 409 conflict */
	KAHU_EPROTO = -19,      /* protocol error, unexpected answer */
	KAHU_EINTERNAL = -20,   /* bug */
	KAHU_ENOMEM = -21,
	KAHU_ELOCKED = -22,     /* location is locked by another run */
};

/* Record a message for the current thread; returns `code` so callers can write
 * `return kahu_error_set(KAHU_EIO, "cannot open %s: %s", path, strerror(errno));` */
int kahu_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int kahu_error_setv(int code, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Prefix the current message: "context: old message". Returns `code`. */
int kahu_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *kahu_error_last(void); /* never NULL; "" when none */
int kahu_error_code(void);         /* code of the last kahu_error_set, 0 when none */
void kahu_error_clear(void);
const char *kahu_err_name(int code); /* "EAUTH"… for logs and JSON */

/* Carrying an error from one thread to another: the worker captures its code and
 * message, the thread that handles it restores them as its own. */
#define KAHU_ERROR_MSG_MAX 2048
struct kahu_error_state {
	int code;
	char msg[KAHU_ERROR_MSG_MAX];
};
/* Copy this thread's code and message into `st`. */
void kahu_error_capture(struct kahu_error_state *st);
/* Make `st` this thread's error; returns its code. */
int kahu_error_restore(const struct kahu_error_state *st);

#endif

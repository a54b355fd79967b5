/* kahu — storage provider ABI.
 *
 * This is the one header a storage provider ("backend") is written against.  A provider
 * is a shared object that exports one symbol, kahu_backend_init(), which hands kahu a
 * pointer to a constant `struct kahu_backend`: identity, capabilities, accepted
 * configuration keys and the operations.  kahu passes in a `struct kahu_host` with what
 * the provider may call (logging, version), so a provider links against nothing of
 * kahu's and does not depend on kahu's library versions.
 *
 * Versioning.  `abi_major` changes only when an existing field changes meaning or
 * position; kahu refuses a provider whose major differs from its own.  A minor version
 * only appends fields at the end of `struct kahu_backend` (or of `struct kahu_host`),
 * and adds return codes, capability bits and flags that the other side is told about
 * before it can meet them; each side looks at `struct_size` before touching a field
 * that the other side may not have (see KAHU_BACKEND_HAS() and KAHU_HOST_HAS()).
 * Fields marked "optional" may be NULL.  docs/BACKEND-ABI.md has the full rules.
 *
 *   1.0  the first ABI.
 *   1.1  struct kahu_host: cancelled(); KAHU_BACKEND_ECANCELLED;
 *        KAHU_BACKEND_CAP_PUT_RETRY; the kahu_plugin_init() entry (several providers,
 *        and later other kinds, per shared object).
 *
 * Threads.  A handle and the put streams opened on it are used by one thread at a
 * time; several put streams may be open on one handle at once (interleaved).  kahu
 * opens one handle per thread when it works in parallel.  Providers must not keep
 * global mutable state that breaks when two handles are used from two threads.
 *
 * Errors.  Every operation returns KAHU_BACKEND_OK (0) or one of the negative codes
 * below, and leaves a human-readable message for errmsg(handle).  Messages name the
 * object and the cause ("no space left on device writing backups/x/backup.json") and
 * never contain a secret.  Providers do not retry or sleep: kahu retries
 * KAHU_BACKEND_ETRANSIENT with backoff where the operation is safe to repeat.
 *
 * Keys.  Object keys are relative, '/'-separated UTF-8 paths checked by kahu before
 * they reach a provider: not empty, at most KAHU_BACKEND_KEY_MAX bytes, no leading or
 * trailing '/', no empty component, no component that starts with '.', no control
 * characters and no backslash.  So a provider may use names starting with '.' for its
 * own temporary objects; it must never return them from list().
 *
 * Cancellation (1.1).  When the run is interrupted (Ctrl-C, SIGTERM), host->cancelled()
 * starts returning non-zero.  A provider polls it while it waits (for a connection, an
 * answer, a slow server) and then fails the operation with KAHU_BACKEND_ECANCELLED.
 * It stops waiting, not working: after an interrupt kahu still makes a few small calls
 * to leave the location tidy (remove what a failed run wrote, release its lock).
 *
 * Self-contained C99; usable from C++.
 */
#ifndef KAHU_BACKEND_H
#define KAHU_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KAHU_BACKEND_ABI_MAJOR 1
#define KAHU_BACKEND_ABI_MINOR 1

/* Longest key kahu passes (bytes, without the terminating NUL). */
#define KAHU_BACKEND_KEY_MAX 1024

#if defined(__GNUC__) || defined(__clang__)
#define KAHU_BACKEND_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define KAHU_BACKEND_EXPORT __attribute__((visibility("default")))
#else
#define KAHU_BACKEND_PRINTF(f, a)
#define KAHU_BACKEND_EXPORT
#endif

/* Return codes.  Negative, so "rc < 0" means failure. */
enum kahu_backend_rc {
	KAHU_BACKEND_OK = 0,
	KAHU_BACKEND_ENOTFOUND = -1,   /* the object (or the location) does not exist */
	KAHU_BACKEND_EAUTH = -2,       /* credentials rejected, permission denied */
	KAHU_BACKEND_ETRANSIENT = -3,  /* may succeed if repeated: timeout, 5xx, throttling */
	KAHU_BACKEND_EPERMANENT = -4,  /* will fail again: I/O error, bad answer, bug */
	KAHU_BACKEND_ENOSPACE = -5,    /* out of space or quota */
	KAHU_BACKEND_EEXISTS = -6,     /* KAHU_PUT_EXCLUSIVE and the key exists */
	KAHU_BACKEND_ECONFIG = -7,     /* configuration rejected by open() */
	KAHU_BACKEND_EUNSUPPORTED = -8,/* operation or flag not supported */
	KAHU_BACKEND_ECALLBACK = -9,   /* the host's callback returned non-zero: stopped */
	KAHU_BACKEND_ECANCELLED = -10  /* 1.1: host->cancelled() said stop; only return it
					* to a host whose abi_minor is at least 1 */
};

/* Capability bits (struct kahu_backend.capabilities). */
#define KAHU_BACKEND_CAP_METADATA     (UINT64_C(1) << 0) /* stores backup metadata */
#define KAHU_BACKEND_CAP_VOLUME_DATA  (UINT64_C(1) << 1) /* suited to large volume archives */
#define KAHU_BACKEND_CAP_RANGE_READ   (UINT64_C(1) << 2) /* get() honours offset/length */
#define KAHU_BACKEND_CAP_ATOMIC_PUT   (UINT64_C(1) << 3) /* commit makes the whole object
                                                          * visible at once, never a prefix */
#define KAHU_BACKEND_CAP_EXCLUSIVE_PUT (UINT64_C(1) << 4) /* KAHU_PUT_EXCLUSIVE is atomic */
#define KAHU_BACKEND_CAP_SERVER_COPY  (UINT64_C(1) << 5) /* copy() is implemented */
#define KAHU_BACKEND_CAP_LOCAL        (UINT64_C(1) << 6) /* local or mounted filesystem */
/* 1.1: a put_write() or put_commit() that returns KAHU_BACKEND_ETRANSIENT left the
 * stream as it was before the call (none of the bytes were taken; the object was not
 * committed and the stream was NOT freed), so kahu may wait and make the same call
 * again, or give up with put_abort().  Without this bit a transient failure of a put
 * stream is final (and put_commit frees the stream whatever it returns).  (put_begin() is always retried on
 * ETRANSIENT: a provider must not have created anything when it returns it.) */
#define KAHU_BACKEND_CAP_PUT_RETRY    (UINT64_C(1) << 7)

/* Put flags. */
#define KAHU_PUT_EXCLUSIVE (1u << 0) /* fail with EEXISTS if the key already exists */

/* Sizes and lengths. */
#define KAHU_BACKEND_SIZE_UNKNOWN UINT64_MAX /* put size hint when the size is unknown */
#define KAHU_BACKEND_TO_END 0                /* get length: up to the end of the object */

/* Host log levels (same numbers as kahu's own). */
enum kahu_backend_log_level {
	KAHU_BACKEND_LOG_ERROR = 0,
	KAHU_BACKEND_LOG_WARN = 1,
	KAHU_BACKEND_LOG_INFO = 3,   /* shown with -v */
	KAHU_BACKEND_LOG_DEBUG = 4,  /* shown with -vv */
	KAHU_BACKEND_LOG_TRACE = 5   /* shown with -vvv */
};

/* What kahu offers to a provider.  Passed to the entry point and open(); valid until
 * the provider is unloaded.  A provider may be loaded by a host of an older minor: it
 * checks KAHU_HOST_HAS() before using a field added after 1.0. */
struct kahu_host {
	/* --- ABI 1.0 --- */
	unsigned int abi_major;    /* KAHU_BACKEND_ABI_* kahu was built with */
	unsigned int abi_minor;
	size_t struct_size;        /* sizeof(struct kahu_host) on kahu's side */
	const char *version;       /* kahu's version, e.g. "0.1.0" */
	/* Log a message through kahu's logger.  Never pass a secret. */
	void (*log)(const struct kahu_host *host, int level, const char *fmt, ...)
		KAHU_BACKEND_PRINTF(3, 4);
	/* --- ABI 1.1 --- */
	/* Non-zero once the run was interrupted.  Cheap (an atomic load), callable from
	 * any thread at any time.  See "Cancellation" above. */
	int (*cancelled)(const struct kahu_host *host);
	/* Fields appended by later minors go here; check struct_size first. */
};

/* True when `host` has the field `member` (it may come from an older minor). */
#define KAHU_HOST_HAS(host, member)                                                \
	(offsetof(struct kahu_host, member) + sizeof((host)->member) <=             \
		 (host)->struct_size && (host)->member != NULL)

/* A configuration key the provider accepts.  kahu rejects unknown keys and missing
 * required ones before calling open(). */
struct kahu_backend_option {
	const char *key;            /* NULL terminates the list */
	const char *description;    /* one line, for `kahu provider describe` */
	unsigned int flags;         /* KAHU_BACKEND_OPT_* */
};
#define KAHU_BACKEND_OPT_REQUIRED (1u << 0)
/* The value names a file of the machine kahu runs on (credentials, CA bundle, SSH
 * identity, known_hosts): kahu carries that file, under a name of its own, wherever it
 * runs the provider elsewhere (the cluster data mover's run bundle) and rewrites the
 * value to that place.  Only kahu reads option flags, so a provider may set it whatever
 * the host's minor; a kahu that does not know it ignores it. */
#define KAHU_BACKEND_OPT_PATH (1u << 1)

/* One configuration value.  Plain strings only.  Credentials are not configuration:
 * providers read them from the environment or from credential files. */
struct kahu_backend_kv {
	const char *key;
	const char *value;
};

/* What stat() and list() report. */
struct kahu_backend_stat {
	uint64_t size;       /* bytes */
	int64_t mtime;       /* seconds since the epoch, 0 when unknown */
	uint64_t spare[4];   /* zero; for later use */
};

/* Opaque types, defined by each provider as it likes. */
struct kahu_backend_handle;
struct kahu_backend_put;

/* Data sink for get(): return 0 to continue, non-zero to stop (the provider then
 * returns KAHU_BACKEND_ECALLBACK).  Same shape as kahu's internal kahu_write_fn. */
typedef int (*kahu_backend_write_fn)(void *ud, const void *buf, size_t len);

/* Called once per object by list(): return 0 to continue, non-zero to stop (the
 * provider then returns KAHU_BACKEND_ECALLBACK).  `key` is relative to the location's
 * root and is valid only during the call. */
typedef int (*kahu_backend_list_fn)(void *ud, const char *key,
				    const struct kahu_backend_stat *st);

struct kahu_backend {
	/* --- ABI 1.0 --- */
	unsigned int abi_major;     /* KAHU_BACKEND_ABI_MAJOR the provider was built with */
	unsigned int abi_minor;     /* KAHU_BACKEND_ABI_MINOR */
	size_t struct_size;         /* sizeof(struct kahu_backend) on the provider's side */

	/* Identity. */
	const char *name;           /* short, [a-z0-9-], e.g. "fs", "s3" */
	const char *version;        /* the provider's own version */
	const char *description;    /* one line */
	uint64_t capabilities;      /* KAHU_BACKEND_CAP_* */
	const struct kahu_backend_option *options; /* terminated by a NULL key */

	/* Open a location.  On failure return a code, leave *out NULL and write a message
	 * into errbuf (NUL-terminated, truncated to errbuf_len). */
	int (*open)(const struct kahu_host *host, const struct kahu_backend_kv *config,
		    size_t nconfig, struct kahu_backend_handle **out,
		    char *errbuf, size_t errbuf_len);
	/* Release the handle; NULL is accepted.  kahu commits or aborts every put stream
	 * of the handle before closing it. */
	void (*close)(struct kahu_backend_handle *h);
	/* The message of the last failed operation on h (or on a stream of h); never NULL.
	 * Valid until the next operation on h. */
	const char *(*errmsg)(struct kahu_backend_handle *h);
	/* Optional.  Check that the location is reachable and writable. */
	int (*probe)(struct kahu_backend_handle *h);

	/* Put: a push stream.  Nothing is visible under `key` until commit() succeeds;
	 * abort() leaves nothing behind.  commit() and abort() free the stream, whatever
	 * they return.  size_hint may be KAHU_BACKEND_SIZE_UNKNOWN. */
	int (*put_begin)(struct kahu_backend_handle *h, const char *key, unsigned int flags,
			 uint64_t size_hint, struct kahu_backend_put **out);
	int (*put_write)(struct kahu_backend_put *p, const void *buf, size_t len);
	int (*put_commit)(struct kahu_backend_put *p);
	void (*put_abort)(struct kahu_backend_put *p);

	/* Get: push the object's bytes [offset, offset+length) into `sink`
	 * (length KAHU_BACKEND_TO_END: to the end).  A range past the end yields fewer
	 * bytes, not an error.  Without KAHU_BACKEND_CAP_RANGE_READ, kahu only calls get()
	 * with offset 0 and length KAHU_BACKEND_TO_END. */
	int (*get)(struct kahu_backend_handle *h, const char *key, uint64_t offset,
		   uint64_t length, kahu_backend_write_fn sink, void *ud);
	int (*stat)(struct kahu_backend_handle *h, const char *key,
		    struct kahu_backend_stat *st);
	/* Every object whose key starts with `prefix` (a plain string prefix, "" for
	 * all), in byte-wise ascending key order. */
	int (*list)(struct kahu_backend_handle *h, const char *prefix,
		    kahu_backend_list_fn cb, void *ud);
	/* ENOTFOUND when the key does not exist. */
	int (*remove)(struct kahu_backend_handle *h, const char *key);

	/* Optional (KAHU_BACKEND_CAP_SERVER_COPY).  Copy src to dst inside the location. */
	int (*copy)(struct kahu_backend_handle *h, const char *src, const char *dst);

	/* Optional.  Remove what interrupted puts left behind under `prefix` (temporary
	 * files, unfinished multipart uploads) and count them in *removed.  kahu calls it
	 * only while it holds the location's lock (backup prune), when no put of its own
	 * can be running. */
	int (*cleanup)(struct kahu_backend_handle *h, const char *prefix, unsigned int *removed);

	/* Fields appended by later minors go here. */
};

/* True when `be` (built for any minor of this major) has the field `member` and it is
 * set.  Use it for everything after `remove`. */
#define KAHU_BACKEND_HAS(be, member)                                               \
	(offsetof(struct kahu_backend, member) + sizeof((be)->member) <=            \
		 (be)->struct_size && (be)->member != NULL)

/* The smallest struct_size kahu accepts for this major: everything up to `remove`.
 * It is also the smallest size of a provider that declares minor 0. */
#define KAHU_BACKEND_MIN_SIZE                                                      \
	(offsetof(struct kahu_backend, remove) +                                   \
	 sizeof(int (*)(struct kahu_backend_handle *, const char *)))

/* The smallest struct_size of a provider that declares minor 1 or later: the whole
 * struct as 1.1 defines it (everything up to `cleanup`). */
#define KAHU_BACKEND_SIZE_1_1                                                      \
	(offsetof(struct kahu_backend, cleanup) +                                  \
	 sizeof(int (*)(struct kahu_backend_handle *, const char *, unsigned int *)))

/* Fill the ABI header of a provider's struct. */
#define KAHU_BACKEND_HEADER                                                        \
	KAHU_BACKEND_ABI_MAJOR, KAHU_BACKEND_ABI_MINOR, sizeof(struct kahu_backend)

/* The one symbol a loadable provider exports.  Return 0 and set *out to a struct that
 * stays valid while the provider is loaded; return a negative code if the provider
 * cannot work with this host (it may log why through host->log). */
typedef int (*kahu_backend_init_fn)(const struct kahu_host *host,
				    const struct kahu_backend **out);
#define KAHU_BACKEND_INIT_SYMBOL "kahu_backend_init"

/* 1.1: the entry point of a shared object that registers several providers (or, in
 * later minors, other kinds of plugin).  kahu looks for kahu_plugin_init first and
 * falls back to kahu_backend_init.  The plugin calls reg->add() once per table it
 * offers and returns 0; a negative return refuses the whole object.  Every table
 * starts with its own abi_major, abi_minor and struct_size, checked by kahu for its
 * kind. */
#define KAHU_PLUGIN_KIND_STORAGE 1u  /* table: struct kahu_backend */
/* Planned kinds, each with its own header and versioned table: volume movers (2),
 * snapshotters (3).  A 1.1 kahu refuses unknown kinds, naming the file. */

struct kahu_plugin_registry {
	unsigned int abi_major;    /* KAHU_BACKEND_ABI_* of kahu */
	unsigned int abi_minor;
	size_t struct_size;        /* sizeof(struct kahu_plugin_registry) on kahu's side */
	/* Offer one table of kind `kind`; it must stay valid while the plugin is loaded.
	 * Returns KAHU_BACKEND_OK, or a negative code when kahu refuses it (unknown kind,
	 * ABI).  One refused table refuses the whole file: kahu registers nothing of it
	 * and unloads it.  A name registered earlier by another file hides this one. */
	int (*add)(struct kahu_plugin_registry *reg, unsigned int kind, const void *table);
	void *host_ud;             /* kahu's; do not touch */
	/* Fields appended by later minors go here. */
};

typedef int (*kahu_plugin_init_fn)(const struct kahu_host *host,
				   struct kahu_plugin_registry *reg);
#define KAHU_PLUGIN_INIT_SYMBOL "kahu_plugin_init"

#ifndef KAHU_BACKEND_STATIC
#ifndef KAHU_BACKEND_NO_PROTOTYPES
KAHU_BACKEND_EXPORT int kahu_backend_init(const struct kahu_host *host,
					  const struct kahu_backend **out);
KAHU_BACKEND_EXPORT int kahu_plugin_init(const struct kahu_host *host,
					 struct kahu_plugin_registry *reg);
#endif
#endif

#ifdef __cplusplus
}
#endif

#endif /* KAHU_BACKEND_H */

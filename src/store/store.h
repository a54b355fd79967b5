/* kahu — storage: a provider (include/kahu/backend.h) and an open handle on it.
 *
 * struct kahu_store is what the rest of kahu uses to read and write objects on a
 * location.  It checks the provider's ABI, validates keys, turns provider codes into
 * kahu_err codes (with the provider's message), and retries transient failures of
 * operations that are safe to repeat (stat, list, get, remove, copy, put_begin) with
 * backoff.  A put stream's writes and commit are tried again only when the provider
 * says a transient failure left the stream as it was (KAHU_BACKEND_CAP_PUT_RETRY):
 * the data came from a stream that kahu cannot rewind.  The waits end at once when
 * the run is interrupted (KAHU_EINTR), and so does a read between two chunks.
 *
 * Code mapping: not found → KAHU_ENOTFOUND, no space → KAHU_ENOSPC, auth →
 * KAHU_EPERM, exists → KAHU_EEXIST, transient (after the retries) → KAHU_ETEMP,
 * permanent → KAHU_EIO, configuration → KAHU_ECONFIG, unsupported → KAHU_EFAIL,
 * cancelled → KAHU_EINTR.  A
 * callback that stops get()/list() with an error gets that very error back.
 *
 * A store and its put streams are used by one thread at a time. */
#ifndef KAHU_STORE_STORE_H
#define KAHU_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <kahu/backend.h>

#include "util/buf.h"

/* kahu_write_fn: the push-stream callback every pipeline stage speaks (header only;
 * no link dependency on the archive module). */
#include "archive/stream.h"

struct kahu_store;
struct store_put;

struct store_stat {
	uint64_t size;
	int64_t mtime;  /* seconds since the epoch, 0 when unknown */
};

/* Called once per listed object, in byte-wise key order.  Return 0 to go on,
 * STORE_LIST_STOP to stop early without error, or a negative kahu_err to stop with it. */
typedef int (*store_list_fn)(void *ud, const char *key, const struct store_stat *st);
#define STORE_LIST_STOP 1

/* store_get length: to the end of the object. */
#define STORE_TO_END 0

/* The host API handed to providers (logging through util/log, kahu's version, the
 * run's interrupt). */
const struct kahu_host *store_host(void);

/* A cancelled run (util/cancel.h) ends the store's retry waits with KAHU_EINTR at
 * once, stops reads between chunks, and turns host->cancelled() true. */

/* Check a provider's ABI header; `origin` names it in messages (a path or "built-in
 * fs").  KAHU_EFAIL with "… was built for provider ABI X.Y, this kahu supports A.B"
 * on a major mismatch; struct_size too small for the major is refused too. */
int store_check_abi(const struct kahu_backend *be, const char *origin);

/* Validate configuration against the provider's option list: unknown keys and
 * missing required keys are KAHU_ECONFIG. */
int store_check_config(const struct kahu_backend *be, const struct kahu_backend_kv *cfg,
		       size_t ncfg);

/* Open a location with a provider that is already loaded (or built in, or a test's
 * fake).  `be` must stay valid while the store is open. */
int store_open_backend(const struct kahu_backend *be, const char *origin,
		       const struct kahu_backend_kv *cfg, size_t ncfg, struct kahu_store **out);
/* Open a location with the provider called `name`, loaded by the loader
 * (store/loader.h: KAHU_PLUGIN_PATH, the module directory, the build tree); the copy
 * of fs linked into kahu is the last resort when no module of it is found anywhere.
 * KAHU_ENOTFOUND when no provider has that name; the loader's refusals otherwise. */
int store_open_provider(const char *name, const struct kahu_backend_kv *cfg, size_t ncfg,
			struct kahu_store **out);
/* Open a location with the copy of a provider linked into kahu ("fs"), bypassing the
 * loader (unit tests, and store_open_provider's last resort).  KAHU_ENOTFOUND for an
 * unknown name. */
int store_open_builtin(const char *name, const struct kahu_backend_kv *cfg, size_t ncfg,
		       struct kahu_store **out);
/* The provider `name` as store_open_provider would open it (the loader's, else the
 * copy linked into kahu, whose origin is "built-in NAME"), without opening anything.
 * *origin is valid while the process runs. */
int store_find_provider(const char *name, const struct kahu_backend **be, const char **origin);
void store_close(struct kahu_store *st);  /* NULL is fine */
/* A second handle on the same location (the same provider and configuration), for
 * another thread: a handle is used by one thread at a time (backend.h). */
int store_reopen(const struct kahu_store *st, struct kahu_store **out);

const struct kahu_backend *store_backend(const struct kahu_store *st);
int store_has_cap(const struct kahu_store *st, uint64_t cap);
/* Retry policy for transient errors: `attempts` tries in all (≥ 1), the first wait
 * `base_ms`, doubling.  Default: 4 tries from 200 ms. */
void store_set_retry(struct kahu_store *st, unsigned int attempts, unsigned int base_ms);

/* Keys: relative '/'-separated paths, see include/kahu/backend.h.  KAHU_EUSAGE. */
int store_key_valid(const char *key);

int store_probe(struct kahu_store *st);

/* Put stream.  Nothing is visible until commit succeeds.  commit and abort free the
 * stream whatever they return; abort(NULL) is fine.  After a failed write, the caller
 * still calls commit (which then fails) or abort. */
int store_put_begin(struct kahu_store *st, const char *key, struct store_put **out);
/* flags: KAHU_PUT_EXCLUSIVE (KAHU_EEXIST if the key exists; with providers that cannot
 * do it atomically, kahu checks first and the window is small but not zero).
 * size_hint: KAHU_BACKEND_SIZE_UNKNOWN when unknown. */
int store_put_begin_ex(struct kahu_store *st, const char *key, unsigned int flags,
		       uint64_t size_hint, struct store_put **out);
int store_put_write(struct store_put *ps, const void *buf, size_t n);
int store_put_commit(struct store_put *ps);
void store_put_abort(struct store_put *ps);
/* kahu_write_fn adapter: ud is a struct store_put *. */
int store_put_sink(void *ud, const void *buf, size_t n);

/* Push bytes [offset, offset+length) of `key` into fn (length STORE_TO_END: all).
 * Without range support in the provider, kahu reads from the start and skips. */
int store_get(struct kahu_store *st, const char *key, uint64_t offset, uint64_t length,
	      kahu_write_fn fn, void *ud);
/* Read a whole small object (manifest, lock, key file) into `out` (appended).
 * KAHU_EDATA if it is larger than `max` bytes. */
int store_read_small(struct kahu_store *st, const char *key, size_t max, struct kbuf *out);
/* Write a whole small object atomically (put + commit). */
int store_write_small(struct kahu_store *st, const char *key, const void *data, size_t len);
int store_write_small_ex(struct kahu_store *st, const char *key, unsigned int flags,
			 const void *data, size_t len);

int store_stat(struct kahu_store *st, const char *key, struct store_stat *out);
int store_list(struct kahu_store *st, const char *prefix, store_list_fn cb, void *ud);
int store_remove(struct kahu_store *st, const char *key);
/* Copy src to dst on the same location: inside the provider when it can
 * (KAHU_BACKEND_CAP_SERVER_COPY), else streamed through kahu. */
int store_copy(struct kahu_store *st, const char *src, const char *dst);
/* Remove what interrupted puts left under `prefix` (the provider's cleanup; nothing
 * for providers without one).  Call only while holding the location's lock.
 * *removed (may be NULL) counts what was removed. */
int store_cleanup(struct kahu_store *st, const char *prefix, unsigned int *removed);

#endif

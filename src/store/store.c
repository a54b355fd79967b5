#include "store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/loader.h"
#include "util/backoff.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"

/* The fs provider, compiled into this library with -DKAHU_BACKEND_STATIC. */
int kahu_backend_fs_init(const struct kahu_host *host, const struct kahu_backend **out);

struct kahu_store {
	const struct kahu_backend *be;
	struct kahu_backend_handle *h;
	char *origin;
	unsigned int attempts;
	unsigned int base_ms;
	struct kahu_backend_kv *cfg;  /* copies, for store_reopen (zeroed at close) */
	size_t ncfg;
};

struct store_put {
	struct kahu_store *st;
	struct kahu_backend_put *bp;
	char *key;
	int err;  /* first failed write: later calls repeat it */
};

/* ---- the host API ---- */

static void host_log(const struct kahu_host *host, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void host_log(const struct kahu_host *host, int level, const char *fmt, ...)
{
	struct kbuf b = KBUF_INIT;
	va_list ap;
	(void)host;
	va_start(ap, fmt);
	kbuf_addvf(&b, fmt, ap);
	va_end(ap);
	kahu_log(level < KAHU_LOG_ERROR ? KAHU_LOG_ERROR : level, "%s", kbuf_str(&b));
	kbuf_free(&b);
}

static int host_cancelled(const struct kahu_host *host)
{
	(void)host;
	return kahu_cancelled() != 0;
}

static const struct kahu_host the_host = {
	.abi_major = KAHU_BACKEND_ABI_MAJOR,
	.abi_minor = KAHU_BACKEND_ABI_MINOR,
	.struct_size = sizeof(struct kahu_host),
	.version = PACKAGE_VERSION,
	.log = host_log,
	.cancelled = host_cancelled,
};

const struct kahu_host *store_host(void)
{
	return &the_host;
}

/* ---- ABI and configuration checks ---- */

int store_check_abi(const struct kahu_backend *be, const char *origin)
{
	if (!be)
		return kahu_error_set(KAHU_EFAIL, "storage provider %s returned no description", origin);
	if (be->abi_major != KAHU_BACKEND_ABI_MAJOR)
		return kahu_error_set(KAHU_EFAIL,
				      "storage provider %s was built for provider ABI %u.%u, but this "
				      "kahu supports ABI %u.%u: rebuild it against kahu %s's <kahu/backend.h>",
				      origin, be->abi_major, be->abi_minor, KAHU_BACKEND_ABI_MAJOR,
				      KAHU_BACKEND_ABI_MINOR, PACKAGE_VERSION);
	/* Minor 0 needs the struct up to `remove`; minor 1 and later (also minors newer
	 * than this kahu) the whole struct as 1.1 defines it. */
	size_t need = be->abi_minor == 0 ? KAHU_BACKEND_MIN_SIZE : KAHU_BACKEND_SIZE_1_1;
	if (be->struct_size < need)
		return kahu_error_set(KAHU_EFAIL,
				      "storage provider %s declares a %zu-byte description, smaller than "
				      "the %zu bytes ABI %u.%u requires",
				      origin, be->struct_size, need, be->abi_major, be->abi_minor);
	if (!be->name || !*be->name)
		return kahu_error_set(KAHU_EFAIL, "storage provider %s has no name", origin);

	const char *missing = !be->open ? "open" : !be->close ? "close" : !be->errmsg ? "errmsg"
		: !be->put_begin ? "put_begin" : !be->put_write ? "put_write"
		: !be->put_commit ? "put_commit" : !be->put_abort ? "put_abort"
		: !be->get ? "get" : !be->stat ? "stat" : !be->list ? "list"
		: !be->remove ? "remove" : NULL;
	if (missing)
		return kahu_error_set(KAHU_EFAIL, "storage provider %s (%s) lacks the required operation %s",
				      be->name, origin, missing);
	return KAHU_OK;
}

static const struct kahu_backend_option *find_option(const struct kahu_backend *be, const char *key)
{
	for (const struct kahu_backend_option *o = be->options; o && o->key; o++)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

int store_check_config(const struct kahu_backend *be, const struct kahu_backend_kv *cfg,
		       size_t ncfg)
{
	for (size_t i = 0; i < ncfg; i++) {
		if (!cfg[i].key || !cfg[i].value)
			return kahu_error_set(KAHU_ECONFIG, "provider %s: configuration entry %zu is incomplete",
					      be->name, i);
		if (find_option(be, cfg[i].key))
			continue;
		struct kbuf known = KBUF_INIT;
		for (const struct kahu_backend_option *o = be->options; o && o->key; o++)
			kbuf_addf(&known, "%s%s", known.len ? ", " : "", o->key);
		kahu_error_set(KAHU_ECONFIG, "provider %s does not accept the configuration key \"%s\" "
			       "(it accepts: %s)", be->name, cfg[i].key,
			       known.len ? kbuf_str(&known) : "nothing");
		kbuf_free(&known);
		return KAHU_ECONFIG;
	}
	for (const struct kahu_backend_option *o = be->options; o && o->key; o++) {
		if (!(o->flags & KAHU_BACKEND_OPT_REQUIRED))
			continue;
		size_t i;
		for (i = 0; i < ncfg && strcmp(cfg[i].key, o->key) != 0; i++)
			;
		if (i == ncfg)
			return kahu_error_set(KAHU_ECONFIG, "provider %s needs the configuration key \"%s\" (%s)",
					      be->name, o->key, o->description ? o->description : "");
	}
	return KAHU_OK;
}

/* ---- keys ---- */

/* Rules from include/kahu/backend.h.  A prefix may be empty and may end in '/'. */
static int key_check(const char *key, int is_prefix)
{
	size_t len = key ? strlen(key) : 0;
	if (!key || (!len && !is_prefix) || len > KAHU_BACKEND_KEY_MAX || key[0] == '/' ||
	    (!is_prefix && key[len - 1] == '/'))
		return 0;
	for (const char *c = key; *c; c++) {
		unsigned char u = (unsigned char)*c;
		if (u < 0x20 || u == 0x7f || u == '\\')
			return 0;
		int comp_start = c == key || c[-1] == '/';
		if (comp_start && (*c == '/' || *c == '.'))
			return 0;
	}
	return 1;
}

int store_key_valid(const char *key)
{
	return key_check(key, 0) ? KAHU_OK
		: kahu_error_set(KAHU_EUSAGE, "invalid object key \"%s\"", key ? key : "(null)");
}

static int prefix_valid(const char *prefix)
{
	return key_check(prefix, 1) ? KAHU_OK
		: kahu_error_set(KAHU_EUSAGE, "invalid object key prefix \"%s\"", prefix ? prefix : "(null)");
}

/* ---- open / close ---- */

int store_open_backend(const struct kahu_backend *be, const char *origin,
		       const struct kahu_backend_kv *cfg, size_t ncfg, struct kahu_store **out)
{
	int err;
	char errbuf[1024] = "";
	struct kahu_backend_handle *h = NULL;

	*out = NULL;
	if ((err = store_check_abi(be, origin)) < 0 || (err = store_check_config(be, cfg, ncfg)) < 0)
		return err;
	int rc = be->open(&the_host, cfg, ncfg, &h, errbuf, sizeof errbuf);
	if (rc < 0 || !h) {
		if (h)
			be->close(h);
		errbuf[sizeof errbuf - 1] = '\0';
		int code = rc == KAHU_BACKEND_ECONFIG ? KAHU_ECONFIG
			: rc == KAHU_BACKEND_EAUTH ? KAHU_EPERM
			: rc == KAHU_BACKEND_ENOTFOUND ? KAHU_ENOTFOUND
			: rc == KAHU_BACKEND_ETRANSIENT ? KAHU_ETEMP : KAHU_EIO;
		return kahu_error_set(code, "%s: cannot open the location: %s", be->name,
				      errbuf[0] ? errbuf : "no reason given");
	}
	struct kahu_store *st = xcalloc(1, sizeof *st);
	st->be = be;
	st->h = h;
	st->origin = xstrdup(origin);
	st->attempts = 4;
	st->base_ms = 200;
	st->cfg = xcalloc(ncfg ? ncfg : 1, sizeof *st->cfg);
	for (size_t i = 0; i < ncfg; i++) {
		st->cfg[i].key = xstrdup(cfg[i].key);
		st->cfg[i].value = xstrdup(cfg[i].value ? cfg[i].value : "");
	}
	st->ncfg = ncfg;
	*out = st;
	return KAHU_OK;
}

int store_reopen(const struct kahu_store *st, struct kahu_store **out)
{
	int err = store_open_backend(st->be, st->origin, st->cfg, st->ncfg, out);
	if (err == KAHU_OK) {
		(*out)->attempts = st->attempts;
		(*out)->base_ms = st->base_ms;
	}
	return err;
}

static const struct {
	const char *name;
	kahu_backend_init_fn init;
} builtins[] = {
	{ "fs", kahu_backend_fs_init },
};

int store_open_builtin(const char *name, const struct kahu_backend_kv *cfg, size_t ncfg,
		       struct kahu_store **out)
{
	*out = NULL;
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
		if (strcmp(builtins[i].name, name) != 0)
			continue;
		const struct kahu_backend *be = NULL;
		char *origin = xasprintf("built-in %s", name);
		int err;
		if (builtins[i].init(&the_host, &be) < 0 || !be)
			err = kahu_error_set(KAHU_EFAIL, "the %s storage provider failed to initialize", origin);
		else
			err = store_open_backend(be, origin, cfg, ncfg, out);
		free(origin);
		return err;
	}
	return kahu_error_set(KAHU_ENOTFOUND, "no built-in storage provider named \"%s\"", name);
}

int store_open_provider(const char *name, const struct kahu_backend_kv *cfg, size_t ncfg,
			struct kahu_store **out)
{
	const struct kahu_backend *be = NULL;
	const char *origin = NULL;
	*out = NULL;
	int err = loader_find_storage(name, &be, &origin);
	if (err == KAHU_ENOTFOUND) {
		/* Last resort, see docs/BACKEND-ABI.md: no module anywhere, but a copy of
		 * the provider is linked into kahu. */
		for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
			if (strcmp(builtins[i].name, name) == 0) {
				log_debug("storage provider %s: no module found (%s); using the copy "
					  "linked into kahu", name, kahu_error_last());
				return store_open_builtin(name, cfg, ncfg, out);
			}
	}
	if (err < 0)
		return err;
	return store_open_backend(be, origin, cfg, ncfg, out);
}

int store_find_provider(const char *name, const struct kahu_backend **be, const char **origin)
{
	int err = loader_find_storage(name, be, origin);
	if (err != KAHU_ENOTFOUND)
		return err;
	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
		if (strcmp(builtins[i].name, name) != 0)
			continue;
		static const char *const builtin_origin[] = { "built-in fs" };
		if (builtins[i].init(&the_host, be) < 0 || !*be)
			return kahu_error_set(KAHU_EFAIL, "the built-in %s storage provider failed to "
					      "initialize", name);
		*origin = builtin_origin[i];
		return store_check_abi(*be, *origin);
	}
	return err;
}

void store_close(struct kahu_store *st)
{
	if (!st)
		return;
	st->be->close(st->h);
	for (size_t i = 0; i < st->ncfg; i++) {
		/* values may be credentials */
		char *v = (char *)st->cfg[i].value;
		explicit_bzero(v, strlen(v));
		free(v);
		free((char *)st->cfg[i].key);
	}
	free(st->cfg);
	free(st->origin);
	free(st);
}

const struct kahu_backend *store_backend(const struct kahu_store *st)
{
	return st->be;
}

int store_has_cap(const struct kahu_store *st, uint64_t cap)
{
	return (st->be->capabilities & cap) == cap;
}

void store_set_retry(struct kahu_store *st, unsigned int attempts, unsigned int base_ms)
{
	st->attempts = attempts ? attempts : 1;
	st->base_ms = base_ms;
}

/* ---- errors and retries ---- */

static int map_rc(struct kahu_store *st, int rc)
{
	const char *msg = st->be->errmsg(st->h);
	int code;
	switch (rc) {
	case KAHU_BACKEND_OK: return KAHU_OK;
	case KAHU_BACKEND_ENOTFOUND: code = KAHU_ENOTFOUND; break;
	case KAHU_BACKEND_EAUTH: code = KAHU_EPERM; break;
	case KAHU_BACKEND_ETRANSIENT: code = KAHU_ETEMP; break;
	case KAHU_BACKEND_EPERMANENT: code = KAHU_EIO; break;
	case KAHU_BACKEND_ENOSPACE: code = KAHU_ENOSPC; break;
	case KAHU_BACKEND_EEXISTS: code = KAHU_EEXIST; break;
	case KAHU_BACKEND_ECONFIG: code = KAHU_ECONFIG; break;
	case KAHU_BACKEND_EUNSUPPORTED: code = KAHU_EFAIL; break;
	case KAHU_BACKEND_ECANCELLED:
		return kahu_error_set(KAHU_EINTR, "%s: interrupted (%s)", st->be->name,
				      msg && *msg ? msg : "no message");
	case KAHU_BACKEND_ECALLBACK:
		return kahu_error_set(KAHU_EPROTO, "%s: the provider reported a stop kahu did not ask for (%s)",
				      st->be->name, msg && *msg ? msg : "no message");
	default:
		return kahu_error_set(KAHU_EPROTO, "%s: unknown provider return code %d (%s)",
				      st->be->name, rc, msg && *msg ? msg : "no message");
	}
	return kahu_error_set(code, "%s: %s", st->be->name, msg && *msg ? msg : "failed (no message)");
}

/* After a transient failure of try number `attempt` (1-based): wait, then return 1 to
 * try again; 0 when the tries are used up; KAHU_EINTR (message set) when the run was
 * interrupted before or during the wait. */
static int retry_wait(struct kahu_store *st, unsigned int attempt, const char *what, const char *key)
{
	if (attempt >= st->attempts)
		return 0;
	const struct kahu_backoff b = { .base_ms = st->base_ms };
	long ms = kahu_backoff_delay(&b, (int)attempt, 0);
	log_info("%s: %s %s failed (%s), retrying in %ld ms (%u/%u)", st->be->name, what, key,
		 st->be->errmsg(st->h), ms, attempt, st->attempts - 1);
	if (kahu_cancel_sleep(ms) < 0)
		return kahu_error_set(KAHU_EINTR, "%s: %s %s: interrupted while waiting to try again "
				      "(%s)", st->be->name, what, key, st->be->errmsg(st->h));
	return 1;
}

static int retries_exhausted(struct kahu_store *st, const char *what, const char *key)
{
	map_rc(st, KAHU_BACKEND_ETRANSIENT);
	if (st->attempts > 1)
		return kahu_error_wrap(KAHU_ETEMP, "%s %s: still failing after %u attempts", what, key,
				       st->attempts);
	return KAHU_ETEMP;
}

/* After a transient failure: 1 to try again (after the wait), or the error to return
 * (KAHU_ETEMP when the tries are used up, KAHU_EINTR when interrupted). */
static int retry_next(struct kahu_store *st, unsigned int attempt, const char *what, const char *key)
{
	int w = retry_wait(st, attempt, what, key);
	return w == 0 ? retries_exhausted(st, what, key) : w;
}

/* ---- probe / put ---- */

int store_probe(struct kahu_store *st)
{
	if (!KAHU_BACKEND_HAS(st->be, probe))
		return KAHU_OK;
	return map_rc(st, st->be->probe(st->h));
}

int store_put_begin(struct kahu_store *st, const char *key, struct store_put **out)
{
	return store_put_begin_ex(st, key, 0, KAHU_BACKEND_SIZE_UNKNOWN, out);
}

int store_put_begin_ex(struct kahu_store *st, const char *key, unsigned int flags,
		       uint64_t size_hint, struct store_put **out)
{
	int err;
	struct kahu_backend_put *bp = NULL;

	*out = NULL;
	if ((err = store_key_valid(key)) < 0)
		return err;
	if ((flags & KAHU_PUT_EXCLUSIVE) && !store_has_cap(st, KAHU_BACKEND_CAP_EXCLUSIVE_PUT)) {
		/* The provider cannot create-if-absent: check first (callers that need
		 * more, like locks, compare afterwards). */
		struct store_stat sst;
		err = store_stat(st, key, &sst);
		if (err == KAHU_OK)
			return kahu_error_set(KAHU_EEXIST, "%s: %s already exists", st->be->name, key);
		if (err != KAHU_ENOTFOUND)
			return err;
		flags &= ~KAHU_PUT_EXCLUSIVE;
	}
	int rc;
	/* A put_begin that failed transiently created nothing (backend.h): try again. */
	for (unsigned int attempt = 1;; attempt++) {
		bp = NULL;
		rc = st->be->put_begin(st->h, key, flags, size_hint, &bp);
		if (rc != KAHU_BACKEND_ETRANSIENT)
			break;
		if ((err = retry_next(st, attempt, "starting to write", key)) < 0)
			return err;
	}
	if (rc < 0 || !bp)
		return rc < 0 ? map_rc(st, rc)
			: kahu_error_set(KAHU_EPROTO, "%s: put of %s returned no stream", st->be->name, key);
	struct store_put *ps = xcalloc(1, sizeof *ps);
	ps->st = st;
	ps->bp = bp;
	ps->key = xstrdup(key);
	*out = ps;
	return KAHU_OK;
}

int store_put_write(struct store_put *ps, const void *buf, size_t n)
{
	if (ps->err)
		return kahu_error_set(ps->err, "%s: write to %s after an earlier failure",
				      ps->st->be->name, ps->key);
	if (n == 0)
		return KAHU_OK;
	struct kahu_store *st = ps->st;
	int retry = store_has_cap(st, KAHU_BACKEND_CAP_PUT_RETRY);
	for (unsigned int attempt = 1;; attempt++) {
		int rc = st->be->put_write(ps->bp, buf, n);
		if (rc == KAHU_BACKEND_OK)
			return KAHU_OK;
		if (rc != KAHU_BACKEND_ETRANSIENT || !retry)
			return ps->err = map_rc(st, rc);
		/* KAHU_BACKEND_CAP_PUT_RETRY: the stream is as before the call. */
		int err = retry_next(st, attempt, "writing", ps->key);
		if (err < 0)
			return ps->err = err;
	}
}

/* put_commit, tried again on a transient failure when the provider allows it. */
static int put_commit_retried(struct store_put *ps)
{
	struct kahu_store *st = ps->st;
	int retry = store_has_cap(st, KAHU_BACKEND_CAP_PUT_RETRY);
	for (unsigned int attempt = 1;; attempt++) {
		int rc = st->be->put_commit(ps->bp);
		if (rc != KAHU_BACKEND_ETRANSIENT || !retry)
			return map_rc(st, rc);
		int err = retry_next(st, attempt, "committing", ps->key);
		if (err < 0) {
			st->be->put_abort(ps->bp);  /* the stream is still open */
			return err;
		}
	}
}

int store_put_sink(void *ud, const void *buf, size_t n)
{
	return store_put_write(ud, buf, n);
}

static void put_free(struct store_put *ps)
{
	free(ps->key);
	free(ps);
}

int store_put_commit(struct store_put *ps)
{
	int err;
	if (ps->err) {
		err = kahu_error_set(ps->err, "%s: %s was not written because an earlier write failed",
				     ps->st->be->name, ps->key);
		ps->st->be->put_abort(ps->bp);
	} else {
		err = put_commit_retried(ps);
	}
	put_free(ps);
	return err;
}

void store_put_abort(struct store_put *ps)
{
	if (!ps)
		return;
	ps->st->be->put_abort(ps->bp);
	put_free(ps);
}

int store_write_small_ex(struct kahu_store *st, const char *key, unsigned int flags,
			 const void *data, size_t len)
{
	struct store_put *ps;
	int err = store_put_begin_ex(st, key, flags, len, &ps);
	if (err < 0)
		return err;
	if ((err = store_put_write(ps, data, len)) < 0) {
		store_put_abort(ps);
		return err;
	}
	return store_put_commit(ps);
}

int store_write_small(struct kahu_store *st, const char *key, const void *data, size_t len)
{
	return store_write_small_ex(st, key, 0, data, len);
}

/* ---- get ---- */

struct get_ctx {
	kahu_write_fn fn;
	void *ud;
	uint64_t skip;       /* bytes still to drop (range emulated by the host) */
	uint64_t left;       /* bytes still wanted; UINT64_MAX: all */
	uint64_t delivered;
	int cb_err;          /* what the caller's callback returned */
	int done;            /* stopped on purpose: the range is complete */
	unsigned long chunks;
	const char *key;
};

static int get_sink(void *ud, const void *buf, size_t len)
{
	struct get_ctx *g = ud;
	const char *p = buf;
	/* Between chunks, not before the first: a small object (one chunk) is still read
	 * after an interrupt, a long read stops. */
	if (g->chunks++ > 0 && kahu_cancelled()) {
		g->cb_err = kahu_error_set(KAHU_EINTR, "reading %s: interrupted", g->key);
		return 1;
	}
	if (g->skip) {
		size_t drop = g->skip < len ? (size_t)g->skip : len;
		g->skip -= drop;
		p += drop;
		len -= drop;
	}
	if (len > g->left)
		len = (size_t)g->left;
	if (len) {
		int r = g->fn(g->ud, p, len);
		if (r != 0) {
			g->cb_err = r < 0 ? r : KAHU_EFAIL;
			return 1;
		}
		g->delivered += len;
		if (g->left != UINT64_MAX)
			g->left -= len;
	}
	if (g->left == 0) {
		g->done = 1;
		return 1;
	}
	return 0;
}

int store_get(struct kahu_store *st, const char *key, uint64_t offset, uint64_t length,
	      kahu_write_fn fn, void *ud)
{
	int err;
	if ((err = store_key_valid(key)) < 0)
		return err;
	int ranged = store_has_cap(st, KAHU_BACKEND_CAP_RANGE_READ);
	struct get_ctx g = { .fn = fn, .ud = ud, .left = length == STORE_TO_END ? UINT64_MAX : length,
			     .key = key };

	for (unsigned int attempt = 1;; attempt++) {
		/* A retry resumes after the bytes already delivered. */
		uint64_t from = offset + g.delivered;
		int rc;
		g.cb_err = 0;
		if (ranged) {
			g.skip = 0;
			rc = st->be->get(st->h, key, from,
					 g.left == UINT64_MAX ? KAHU_BACKEND_TO_END : g.left, get_sink, &g);
		} else {
			g.skip = from;
			rc = st->be->get(st->h, key, 0, KAHU_BACKEND_TO_END, get_sink, &g);
		}
		if (rc == KAHU_BACKEND_OK || g.done)
			return KAHU_OK;
		if (rc == KAHU_BACKEND_ECALLBACK && g.cb_err)
			return g.cb_err;  /* the callback's own message stands */
		if (rc != KAHU_BACKEND_ETRANSIENT)
			return map_rc(st, rc);
		if ((err = retry_next(st, attempt, "reading", key)) < 0)
			return err;
	}
}

struct small_ctx {
	struct kbuf *out;
	size_t max, got;
	const char *key;
};

static int small_sink(void *ud, const void *buf, size_t len)
{
	struct small_ctx *c = ud;
	if (len > c->max - c->got)
		return kahu_error_set(KAHU_EDATA, "object %s is larger than the %zu bytes expected",
				      c->key, c->max);
	kbuf_add(c->out, buf, len);
	c->got += len;
	return 0;
}

int store_read_small(struct kahu_store *st, const char *key, size_t max, struct kbuf *out)
{
	struct small_ctx c = { out, max, 0, key };
	size_t start = out->len;
	int err = store_get(st, key, 0, STORE_TO_END, small_sink, &c);
	if (err < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	} else if (!out->data) {
		kbuf_add(out, "", 0);  /* an empty object still yields a string */
	}
	return err;
}

/* ---- stat / list / remove ---- */

int store_stat(struct kahu_store *st, const char *key, struct store_stat *out)
{
	int err;
	if ((err = store_key_valid(key)) < 0)
		return err;
	for (unsigned int attempt = 1;; attempt++) {
		struct kahu_backend_stat bst;
		memset(&bst, 0, sizeof bst);
		int rc = st->be->stat(st->h, key, &bst);
		if (rc == KAHU_BACKEND_OK) {
			if (out) {
				out->size = bst.size;
				out->mtime = bst.mtime;
			}
			return KAHU_OK;
		}
		if (rc != KAHU_BACKEND_ETRANSIENT)
			return map_rc(st, rc);
		if ((err = retry_next(st, attempt, "checking", key)) < 0)
			return err;
	}
}

struct list_ctx {
	store_list_fn cb;
	void *ud;
	char *last;    /* last key delivered: a retry skips up to it */
	int retry;     /* a retry (the first listing skips nothing: a provider or server
			* that does not list in key order must lose no key) */
	int cb_err;
	int stopped;
};

static int list_sink(void *ud, const char *key, const struct kahu_backend_stat *bst)
{
	struct list_ctx *l = ud;
	if (l->retry && l->last && strcmp(key, l->last) <= 0)
		return 0;
	struct store_stat sst = { bst->size, bst->mtime };
	int r = l->cb(l->ud, key, &sst);
	free(l->last);
	l->last = xstrdup(key);
	if (r > 0) {
		l->stopped = 1;
		return 1;
	}
	if (r < 0) {
		l->cb_err = r;
		return 1;
	}
	return 0;
}

int store_list(struct kahu_store *st, const char *prefix, store_list_fn cb, void *ud)
{
	int err;
	if (!prefix)
		prefix = "";
	if ((err = prefix_valid(prefix)) < 0)
		return err;
	struct list_ctx l = { .cb = cb, .ud = ud };
	for (unsigned int attempt = 1;; attempt++) {
		l.retry = attempt > 1;
		int rc = st->be->list(st->h, prefix, list_sink, &l);
		if (rc == KAHU_BACKEND_OK || l.stopped) {
			err = KAHU_OK;
			break;
		}
		if (rc == KAHU_BACKEND_ECALLBACK && l.cb_err) {
			err = l.cb_err;
			break;
		}
		if (rc != KAHU_BACKEND_ETRANSIENT) {
			err = map_rc(st, rc);
			break;
		}
		if ((err = retry_next(st, attempt, "listing", prefix)) < 0)
			break;
	}
	free(l.last);
	return err;
}

int store_remove(struct kahu_store *st, const char *key)
{
	int err;
	if ((err = store_key_valid(key)) < 0)
		return err;
	for (unsigned int attempt = 1;; attempt++) {
		int rc = st->be->remove(st->h, key);
		/* A retried remove whose first try went through reports "not found". */
		if (rc == KAHU_BACKEND_OK || (rc == KAHU_BACKEND_ENOTFOUND && attempt > 1))
			return KAHU_OK;
		if (rc != KAHU_BACKEND_ETRANSIENT)
			return map_rc(st, rc);
		if ((err = retry_next(st, attempt, "removing", key)) < 0)
			return err;
	}
}

/* ---- copy ---- */

int store_copy(struct kahu_store *st, const char *src, const char *dst)
{
	int err;
	if ((err = store_key_valid(src)) < 0 || (err = store_key_valid(dst)) < 0)
		return err;
	if (KAHU_BACKEND_HAS(st->be, copy) && store_has_cap(st, KAHU_BACKEND_CAP_SERVER_COPY)) {
		for (unsigned int attempt = 1;; attempt++) {
			int rc = st->be->copy(st->h, src, dst);
			if (rc != KAHU_BACKEND_ETRANSIENT)
				return map_rc(st, rc);
			if ((err = retry_next(st, attempt, "copying", src)) < 0)
				return err;
		}
	}
	/* No server-side copy: stream it through kahu. */
	struct store_put *ps;
	if ((err = store_put_begin(st, dst, &ps)) < 0)
		return err;
	if ((err = store_get(st, src, 0, STORE_TO_END, store_put_sink, ps)) < 0) {
		store_put_abort(ps);
		return err;
	}
	return store_put_commit(ps);
}

int store_cleanup(struct kahu_store *st, const char *prefix, unsigned int *removed)
{
	unsigned int n = 0;
	int rc = 0;
	if (KAHU_BACKEND_HAS(st->be, cleanup))
		rc = map_rc(st, st->be->cleanup(st->h, prefix ? prefix : "", &n));
	if (removed)
		*removed = n;
	return rc;
}

#include "store/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "store/layout.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"
#include "util/timeutil.h"

struct store_lock {
	struct kahu_store *st;
	struct kahu_log_scope *log_scope; /* the taking thread's (util/log.h) */
	struct store_lock_info info;
	char *content;  /* what we wrote, to detect an overwrite */
	/* The refresher: a thread that rewrites the lock (its `refreshed` time) every
	 * stale_after / 12, on a handle of its own, so that a long run is not taken for
	 * stale.  info and content are under mu once it runs. */
	struct kahu_store *rst;
	pthread_t th;
	int running, stop;
	long every_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

void store_lock_info_free(struct store_lock_info *li)
{
	if (!li)
		return;
	free(li->key);
	free(li->id);
	free(li->host);
	free(li->user);
	free(li->purpose);
	free(li->kahu_version);
	free(li->pid_space);
	memset(li, 0, sizeof *li);
}

/* ---- time and identity ---- */

static void fmt_time(int64_t t, char *out, size_t n)
{
	char s[KAHU_TIME_LEN + 1];
	if (kahu_time_format(t, s) < 0)
		snprintf(out, n, "@%lld", (long long)t);
	else
		snprintf(out, n, "%s", s);
}

static int parse_time(const char *s, int64_t *out)
{
	return kahu_time_parse(s, KAHU_TIME_UTC, out);
}

static char *local_host(void)
{
	char name[256];
	if (gethostname(name, sizeof name) < 0)
		return xstrdup("unknown");
	name[sizeof name - 1] = '\0';
	return xstrdup(name);
}

char *store_lock_pid_space(void)
{
	char boot[80] = "";
	struct stat st;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (f) {
		if (!fgets(boot, sizeof boot, f))
			boot[0] = '\0';
		fclose(f);
	}
	boot[strcspn(boot, "\n")] = '\0';
	if (!boot[0] || stat("/proc/self/ns/pid", &st) < 0)
		return NULL;
	return xasprintf("%s/%llu", boot, (unsigned long long)st.st_ino);
}

static char *local_user(void)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res && res->pw_name)
		return xstrdup(res->pw_name);
	const char *env = getenv("USER");
	if (env && *env)
		return xstrdup(env);
	return xasprintf("uid%lu", (unsigned long)geteuid());
}

static char *random_id(void)
{
	unsigned char raw[8];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, raw, sizeof raw) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof raw) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec * 2654435761u ^ (uint64_t)getpid() << 20 ^
			     (uint64_t)ts.tv_sec;
		memcpy(raw, &x, sizeof raw);
	}
	char *id = xmalloc(2 * sizeof raw + 1);
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return id;
}

/* ---- encoding ---- */

static char *lock_encode(const struct store_lock_info *li)
{
	char started[40], refreshed[40];
	fmt_time(li->started, started, sizeof started);
	fmt_time(li->refreshed, refreshed, sizeof refreshed);
	json_t *o = json_pack("{s:i, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}",
			      "kahu_lock", 1, "id", li->id, "host", li->host,
			      "pid", (json_int_t)li->pid, "user", li->user,
			      "started", started, "refreshed", refreshed,
			      "purpose", li->purpose, "kahu_version", li->kahu_version);
	if (!o)
		return NULL;  /* only when a string is not UTF-8 */
	if (li->pid_space)
		json_object_set_new(o, "pid_space", json_string(li->pid_space));
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static char *json_str_or(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));
	return xstrdup(s ? s : dflt);
}

/* Fill li from a lock object's bytes; li->readable says whether it made sense. */
static void lock_decode(const char *key, const char *data, size_t len, int64_t mtime,
			struct store_lock_info *li)
{
	memset(li, 0, sizeof *li);
	li->key = xstrdup(key);
	json_t *o = json_loadb(data, len, 0, NULL);
	int ok = json_is_object(o) && json_integer_value(json_object_get(o, "kahu_lock")) == 1;
	li->id = json_str_or(ok ? o : NULL, "id", "?");
	li->host = json_str_or(ok ? o : NULL, "host", "?");
	li->user = json_str_or(ok ? o : NULL, "user", "?");
	li->purpose = json_str_or(ok ? o : NULL, "purpose", "?");
	li->kahu_version = json_str_or(ok ? o : NULL, "kahu_version", "?");
	li->pid = ok ? (long)json_integer_value(json_object_get(o, "pid")) : 0;
	const char *space = ok ? json_string_value(json_object_get(o, "pid_space")) : NULL;
	li->pid_space = space ? xstrdup(space) : NULL;
	if (!ok || parse_time(json_string_value(json_object_get(o, "started")), &li->started) < 0)
		li->started = mtime;
	if (!ok || parse_time(json_string_value(json_object_get(o, "refreshed")), &li->refreshed) < 0)
		li->refreshed = li->started;
	li->readable = ok && li->pid > 0;
	json_decref(o);
}

char *store_lock_describe(const struct store_lock_info *li)
{
	char since[40];
	fmt_time(li->started, since, sizeof since);
	if (!li->readable)
		return xasprintf("an unreadable lock object %s written at %s", li->key, since);
	return xasprintf("%s@%s pid %ld since %s (%s)", li->user, li->host, li->pid, since,
			 li->purpose);
}

int store_lock_is_stale(const struct store_lock_info *li, int64_t now, int64_t stale_after,
			char **why)
{
	if (li->readable && li->pid > 0) {
		char *here = local_host();
		int same_host = strcmp(here, li->host) == 0;
		free(here);
		if (same_host && li->pid_space) {
			/* The same host name, but maybe another machine's or container's pids. */
			char *space = store_lock_pid_space();
			same_host = space && strcmp(space, li->pid_space) == 0;
			free(space);
		}
		if (same_host && kill((pid_t)li->pid, 0) < 0 && errno == ESRCH) {
			if (why)
				*why = xasprintf("process %ld on %s no longer exists", li->pid, li->host);
			return 1;
		}
	}
	int64_t last = li->refreshed > li->started ? li->refreshed : li->started;
	if (stale_after > 0 && now - last > stale_after) {
		if (why) {
			char when[40];
			fmt_time(last, when, sizeof when);
			*why = xasprintf("it was last written at %s, more than %lld s ago", when,
					 (long long)stale_after);
		}
		return 1;
	}
	return 0;
}

/* ---- listing ---- */

struct key_list {
	struct strv keys;
	struct strv mtimes;  /* parallel, as text: strv holds strings only */
};

static int collect_key(void *ud, const char *key, const struct store_stat *sst)
{
	struct key_list *kl = ud;
	if (!layout_is_lock(key))
		return 0;
	strv_push(&kl->keys, key);
	strv_push_owned(&kl->mtimes, xasprintf("%lld", (long long)sst->mtime));
	return 0;
}

/* Read one lock; KAHU_ENOTFOUND when it vanished meanwhile (released). */
static int read_lock(struct kahu_store *st, const char *key, int64_t mtime,
		     struct store_lock_info *li)
{
	struct kbuf b = KBUF_INIT;
	int err = store_read_small(st, key, STORE_LOCK_MAX_SIZE, &b);
	if (err == KAHU_EDATA) {
		/* too large to be a kahu lock: describe it as unreadable */
		lock_decode(key, "", 0, mtime, li);
		err = KAHU_OK;
	} else if (err == KAHU_OK) {
		lock_decode(key, b.data, b.len, mtime, li);
	}
	kbuf_free(&b);
	return err;
}

int store_lock_list(struct kahu_store *st, store_lock_list_fn cb, void *ud)
{
	struct key_list kl = { STRV_INIT, STRV_INIT };
	int err = store_list(st, LAYOUT_LOCKS, collect_key, &kl);
	for (size_t i = 0; err == KAHU_OK && i < kl.keys.n; i++) {
		struct store_lock_info li;
		err = read_lock(st, kl.keys.v[i], strtoll(kl.mtimes.v[i], NULL, 10), &li);
		if (err == KAHU_ENOTFOUND) {
			err = KAHU_OK;
			continue;
		}
		if (err < 0)
			break;
		int r = cb(ud, &li);
		store_lock_info_free(&li);
		if (r != 0) {
			err = r < 0 ? r : KAHU_OK;
			break;
		}
	}
	strv_free(&kl.keys);
	strv_free(&kl.mtimes);
	return err;
}

static void warn_breaking(const struct store_lock_info *li, const char *why)
{
	char *who = store_lock_describe(li);
	log_warn("breaking stale lock %s held by %s: %s", li->key, who, why);
	free(who);
}

/* Remove a stale lock; a lock that is already gone is fine. */
static int break_lock(struct kahu_store *st, const struct store_lock_info *li, const char *why)
{
	warn_breaking(li, why);
	int err = store_remove(st, li->key);
	if (err == KAHU_ENOTFOUND)
		err = KAHU_OK;
	if (err < 0)
		return kahu_error_wrap(err, "cannot break stale lock %s", li->key);
	return KAHU_OK;
}

#define LOCK_SETTLE_MS 5000      /* how long younger contenders get to back off */
#define LOCK_SETTLE_STEP_MS 250

struct break_ctx {
	struct kahu_store *st;
	int64_t now, stale_after;
	unsigned int broken;
	const char *skip_key;   /* our own lock */
	const struct store_lock_info *self; /* ours, when acquiring: younger locks are contenders */
	struct store_lock_info holder;  /* first live lock seen (not a younger contender) */
	int have_holder;
	unsigned int younger;   /* live locks taken after ours (by started, then id) */
};

/* Locks are ordered by (started, id): every run that lists them agrees on the order,
 * whatever the clocks say. */
static int lock_younger(const struct store_lock_info *a, const struct store_lock_info *b)
{
	if (a->started != b->started)
		return a->started > b->started;
	return strcmp(a->id, b->id) > 0;
}

static void note_holder(struct break_ctx *c, const struct store_lock_info *li)
{
	if (c->have_holder)
		return;
	c->have_holder = 1;
	c->holder = *li;
	c->holder.key = xstrdup(li->key);
	c->holder.id = xstrdup(li->id);
	c->holder.host = xstrdup(li->host);
	c->holder.user = xstrdup(li->user);
	c->holder.purpose = xstrdup(li->purpose);
	c->holder.kahu_version = xstrdup(li->kahu_version);
	c->holder.pid_space = li->pid_space ? xstrdup(li->pid_space) : NULL;
}

static int break_or_note(void *ud, const struct store_lock_info *li)
{
	struct break_ctx *c = ud;
	char *why = NULL;
	if (c->skip_key && strcmp(li->key, c->skip_key) == 0)
		return 0;
	if (store_lock_is_stale(li, c->now, c->stale_after, &why)) {
		int err = break_lock(c->st, li, why);
		free(why);
		if (err < 0)
			return err;
		c->broken++;
		return 0;
	}
	if (c->self && li->readable && lock_younger(li, c->self)) {
		c->younger++;
		return 0;
	}
	note_holder(c, li);
	return 0;
}

int store_lock_break_stale(struct kahu_store *st, int64_t stale_after, unsigned int *broken)
{
	struct break_ctx c = { .st = st, .now = (int64_t)time(NULL), .stale_after = stale_after };
	int err = store_lock_list(st, break_or_note, &c);
	if (broken)
		*broken = c.broken;
	if (c.have_holder)
		store_lock_info_free(&c.holder);
	return err;
}

/* ---- acquire / refresh / release ---- */

static int write_lock_on(struct store_lock *lk, struct kahu_store *st, unsigned int flags)
{
	char *s = lock_encode(&lk->info);
	if (!s)
		return kahu_error_set(KAHU_EINTERNAL, "cannot encode the lock (user, host or purpose is not UTF-8)");
	int err = store_write_small_ex(st, lk->info.key, flags, s, strlen(s));
	free(lk->content);
	lk->content = s;
	return err;
}

static int write_lock(struct store_lock *lk, unsigned int flags)
{
	return write_lock_on(lk, lk->st, flags);
}

static void *refresher(void *arg)
{
	struct store_lock *lk = arg;
	kahu_log_scope_enter(lk->log_scope);
	pthread_mutex_lock(&lk->mu);
	while (!lk->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += lk->every_ms / 1000;
		until.tv_nsec += (lk->every_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		int rc = 0;
		while (!lk->stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&lk->cv, &lk->mu, &until);
		if (lk->stop)
			break;
		lk->info.refreshed = (int64_t)time(NULL);
		if (write_lock_on(lk, lk->rst, 0) < 0)
			log_warn("cannot refresh the lock %s: %s; a long run may be taken for stale",
				 lk->info.key, kahu_error_last());
	}
	pthread_mutex_unlock(&lk->mu);
	return NULL;
}

static void refresher_start(struct store_lock *lk, int64_t stale_after)
{
	lk->every_ms = stale_after > 0 ? (long)(stale_after * 1000 / 12) : 0;
	if (lk->every_ms < 200)
		lk->every_ms = 200;
	if (store_reopen(lk->st, &lk->rst) < 0) {
		log_warn("cannot open a second handle on the location to refresh the lock: %s; "
			 "a run longer than %lld s may be taken for stale", kahu_error_last(),
			 (long long)stale_after);
		return;
	}
	pthread_mutex_init(&lk->mu, NULL);
	pthread_cond_init(&lk->cv, NULL);
	lk->log_scope = kahu_log_scope_current();
	if (pthread_create(&lk->th, NULL, refresher, lk) != 0) {
		pthread_cond_destroy(&lk->cv);
		pthread_mutex_destroy(&lk->mu);
		store_close(lk->rst);
		lk->rst = NULL;
		return;
	}
	lk->running = 1;
}

static void refresher_stop(struct store_lock *lk)
{
	if (!lk->running)
		return;
	pthread_mutex_lock(&lk->mu);
	lk->stop = 1;
	pthread_cond_signal(&lk->cv);
	pthread_mutex_unlock(&lk->mu);
	pthread_join(lk->th, NULL);
	pthread_cond_destroy(&lk->cv);
	pthread_mutex_destroy(&lk->mu);
	store_close(lk->rst);
	lk->rst = NULL;
	lk->running = 0;
}

static void lock_free(struct store_lock *lk)
{
	store_lock_info_free(&lk->info);
	free(lk->content);
	free(lk);
}

int store_lock_acquire(struct kahu_store *st, const char *purpose, struct store_lock **out)
{
	return store_lock_acquire_ex(st, purpose, STORE_LOCK_STALE_AFTER, out);
}

int store_lock_acquire_ex(struct kahu_store *st, const char *purpose, int64_t stale_after,
			  struct store_lock **out)
{
	int err;
	struct store_lock *lk = xcalloc(1, sizeof *lk);

	*out = NULL;
	lk->st = st;
	lk->info.host = local_host();
	lk->info.user = local_user();
	lk->info.purpose = xstrdup(purpose && *purpose ? purpose : "unspecified");
	lk->info.kahu_version = xstrdup(PACKAGE_VERSION);
	lk->info.pid = (long)getpid();
	lk->info.pid_space = store_lock_pid_space();
	lk->info.started = lk->info.refreshed = (int64_t)time(NULL);
	lk->info.readable = 1;

	/* Our own object, created only if absent: ids are random, so a clash means a
	 * collision, and we simply draw again. */
	for (int attempt = 0;; attempt++) {
		free(lk->info.id);
		free(lk->info.key);
		lk->info.id = random_id();
		lk->info.key = layout_lock(lk->info.id);
		err = write_lock(lk, KAHU_PUT_EXCLUSIVE);
		if (err != KAHU_EEXIST || attempt >= 4)
			break;
	}
	if (err < 0) {
		kahu_error_wrap(err, "cannot write the lock %s", lk->info.key);
		lock_free(lk);
		return err;
	}

	/* Then look at everybody else's.  An older live lock: we back off.  Only younger
	 * ones: runs that started at about the same time.  Each of them backs off if it saw
	 * ours; one that listed before we wrote ours may go on, and keeps its lock.  So we
	 * wait a little for the younger locks to go: if they do, the location is ours; if
	 * one stays, its run holds the location and we back off.  At most one run goes on,
	 * and two runs that start together do not both fail. */
	struct break_ctx c = { .st = st, .now = (int64_t)time(NULL), .stale_after = stale_after,
			       .skip_key = lk->info.key, .self = &lk->info };
	err = store_lock_list(st, break_or_note, &c);
	for (int waited_ms = 0; err == KAHU_OK && !c.have_holder && c.younger; waited_ms += LOCK_SETTLE_STEP_MS) {
		if (waited_ms >= LOCK_SETTLE_MS) {
			/* Still there: name one of them as the holder. */
			c.self = NULL;
			c.younger = 0;
			err = store_lock_list(st, break_or_note, &c);
			break;
		}
		if (kahu_cancel_sleep(LOCK_SETTLE_STEP_MS) < 0) {
			err = kahu_error_set(KAHU_EINTR, "interrupted while taking the lock");
			break;
		}
		c.younger = 0;
		c.now = (int64_t)time(NULL);
		err = store_lock_list(st, break_or_note, &c);
	}
	if (err == KAHU_OK && !c.have_holder && !store_has_cap(st, KAHU_BACKEND_CAP_EXCLUSIVE_PUT)) {
		/* Without create-if-absent, make sure our object is still ours. */
		struct kbuf b = KBUF_INIT;
		err = store_read_small(st, lk->info.key, STORE_LOCK_MAX_SIZE, &b);
		if (err == KAHU_OK && strcmp(kbuf_str(&b), lk->content) != 0)
			err = kahu_error_set(KAHU_ELOCKED, "lock %s was overwritten by another run",
					     lk->info.key);
		kbuf_free(&b);
	}
	if (err == KAHU_OK && c.have_holder) {
		char *who = store_lock_describe(&c.holder);
		err = kahu_error_set(KAHU_ELOCKED, "location is locked by %s", who);
		free(who);
	}
	if (c.have_holder)
		store_lock_info_free(&c.holder);
	if (err < 0) {
		/* Keep the message that explains the failure, not the cleanup's. */
		char *msg = xstrdup(kahu_error_last());
		int rerr = store_remove(st, lk->info.key);
		if (rerr < 0 && rerr != KAHU_ENOTFOUND)
			log_warn("cannot remove our lock %s after failing to acquire it: %s, ignoring",
				 lk->info.key, kahu_error_last());
		kahu_error_set(err, "%s", msg);
		free(msg);
		lock_free(lk);
		return err;
	}
	log_debug("acquired lock %s (%s)", lk->info.key, lk->info.purpose);
	refresher_start(lk, stale_after);
	*out = lk;
	return KAHU_OK;
}

int store_lock_refresh(struct store_lock *lk)
{
	if (lk->running)
		pthread_mutex_lock(&lk->mu);
	lk->info.refreshed = (int64_t)time(NULL);
	int err = write_lock(lk, 0);
	if (lk->running)
		pthread_mutex_unlock(&lk->mu);
	if (err < 0)
		return kahu_error_wrap(err, "cannot refresh the lock %s", lk->info.key);
	return KAHU_OK;
}

static int64_t elapsed_ms(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

int store_lock_wait(store_lock_try_fn try_lock, void *ud, int64_t wait_secs,
		    const char *wait_text, struct store_lock **out)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long pause_ms = 1000;
	for (int said = 0;; said = 1) {
		int rc = try_lock(ud, out);
		if (rc != KAHU_ELOCKED || wait_secs <= 0)
			return rc;
		int64_t left_ms = wait_secs * 1000 - elapsed_ms(&t0);
		if (left_ms <= 0)
			return kahu_error_wrap(rc, "waited %s for the lock", wait_text);
		if (!said)
			log_notice("%s; waiting up to %s for it", kahu_error_last(), wait_text);
		else
			log_info("%s; still waiting", kahu_error_last());
		if (kahu_cancel_sleep(pause_ms < left_ms ? pause_ms : (long)left_ms) < 0 ||
		    kahu_cancelled())
			return kahu_error_set(KAHU_EINTR, "interrupted while waiting for the lock");
		if (pause_ms < 15000)
			pause_ms *= 2;
	}
}

int store_lock_release(struct store_lock *lk)
{
	if (!lk)
		return KAHU_OK;
	refresher_stop(lk);
	int err = store_remove(lk->st, lk->info.key);
	if (err == KAHU_ENOTFOUND) {
		log_warn("lock %s was already gone at release (broken by another run?), ignoring",
			 lk->info.key);
		err = KAHU_OK;
	} else if (err < 0) {
		kahu_error_wrap(err, "cannot release the lock %s", lk->info.key);
	}
	lock_free(lk);
	return err;
}

const struct store_lock_info *store_lock_get_info(const struct store_lock *lk)
{
	return &lk->info;
}

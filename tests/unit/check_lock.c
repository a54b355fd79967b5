#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "store/lock.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/strv.h"

static char tmpdir[256];
static char root[300];
static struct kahu_store *st;
static struct strv warnings;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static void capture(void *ud, int level, const char *json_line)
{
	(void)ud;
	if (level <= KAHU_LOG_WARN)
		strv_push(&warnings, json_line);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/kahu-lock-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(root, sizeof root, "%s/loc", tmpdir);
	struct kahu_backend_kv cfg[] = { { "path", root } };
	ck_assert_int_eq(store_open_builtin("fs", cfg, 1, &st), KAHU_OK);
	kahu_log_set_level(KAHU_LOG_ERROR);  /* keep the TAP output clean */
	kahu_log_set_sink(capture, NULL, KAHU_LOG_WARN);
}

static void teardown(void)
{
	kahu_log_set_sink(NULL, NULL, 0);
	strv_free(&warnings);
	store_close(st);
	st = NULL;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int count_locks_cb(void *ud, const struct store_lock_info *li)
{
	(void)li;
	++*(int *)ud;
	return 0;
}

static int count_locks(void)
{
	int n = 0;
	ck_assert_int_eq(store_lock_list(st, count_locks_cb, &n), KAHU_OK);
	return n;
}

static void hostname(char *out, size_t n)
{
	ck_assert_int_eq(gethostname(out, n), 0);
	out[n - 1] = '\0';
}

static void fmt_time(time_t t, char *out, size_t n)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Plant a foreign lock object. */
static void plant(const char *id, const char *host, long pid, time_t started, const char *purpose)
{
	char when[40];
	fmt_time(started, when, sizeof when);
	char *key = xasprintf("locks/%s.json", id);
	char *body = xasprintf("{\"kahu_lock\": 1, \"id\": \"%s\", \"host\": \"%s\", \"pid\": %ld, "
			       "\"user\": \"alice\", \"started\": \"%s\", \"refreshed\": \"%s\", "
			       "\"purpose\": \"%s\", \"kahu_version\": \"0.0.1\"}",
			       id, host, pid, when, when, purpose);
	ck_assert_int_eq(store_write_small(st, key, body, strlen(body)), KAHU_OK);
	free(key);
	free(body);
}

static int warned(const char *needle)
{
	for (size_t i = 0; i < warnings.n; i++)
		if (strstr(warnings.v[i], needle))
			return 1;
	return 0;
}

START_TEST(test_acquire_release)
{
	struct store_lock *lk = NULL;
	ck_assert_msg(store_lock_acquire(st, "backup create nightly", &lk) == KAHU_OK, "%s",
		      kahu_error_last());
	ck_assert_ptr_nonnull(lk);
	const struct store_lock_info *li = store_lock_get_info(lk);
	ck_assert_int_eq(li->pid, getpid());
	ck_assert_str_eq(li->purpose, "backup create nightly");
	ck_assert(strncmp(li->key, "locks/", 6) == 0);
	ck_assert_int_eq(count_locks(), 1);

	/* the lock file: valid JSON with the documented fields, mode 0600 */
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, li->key, STORE_LOCK_MAX_SIZE, &b), KAHU_OK);
	json_error_t jerr;
	json_t *o = json_loads(kbuf_str(&b), 0, &jerr);
	ck_assert_msg(o != NULL, "lock is not JSON: %s", jerr.text);
	char host[256];
	hostname(host, sizeof host);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "kahu_lock")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(o, "host")), host);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "pid")), getpid());
	ck_assert_str_eq(json_string_value(json_object_get(o, "purpose")), "backup create nightly");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "user")));
	ck_assert_str_eq(json_string_value(json_object_get(o, "id")), li->id);
	const char *started = json_string_value(json_object_get(o, "started"));
	ck_assert_ptr_nonnull(started);
	ck_assert_uint_eq(strlen(started), 20);  /* 2024-05-01T12:00:00Z */
	ck_assert_int_eq(started[19], 'Z');
	json_decref(o);
	kbuf_free(&b);
	char path[600];
	struct stat sb;
	snprintf(path, sizeof path, "%s/%s", root, li->key);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0600);

	ck_assert_int_eq(store_lock_refresh(lk), KAHU_OK);
	ck_assert_int_eq(store_lock_release(lk), KAHU_OK);
	ck_assert_int_eq(count_locks(), 0);
	ck_assert_int_eq(store_lock_release(NULL), KAHU_OK);
	ck_assert_uint_eq(warnings.n, 0);

	/* and again: a released location can be locked */
	ck_assert_int_eq(store_lock_acquire(st, "again", &lk), KAHU_OK);
	ck_assert_int_eq(store_lock_release(lk), KAHU_OK);
}
END_TEST

START_TEST(test_second_acquire_locked)
{
	struct store_lock *lk = NULL, *lk2 = NULL;
	ck_assert_int_eq(store_lock_acquire(st, "backup create nightly", &lk), KAHU_OK);
	ck_assert_int_eq(store_lock_acquire(st, "backup prune", &lk2), KAHU_ELOCKED);
	ck_assert_ptr_null(lk2);

	const struct store_lock_info *li = store_lock_get_info(lk);
	char since[40], want[1024];
	fmt_time((time_t)li->started, since, sizeof since);
	snprintf(want, sizeof want, "location is locked by %s@%s pid %ld since %s (backup create nightly)",
		 li->user, li->host, (long)getpid(), since);
	ck_assert_str_eq(kahu_error_last(), want);
	/* the loser removed its own lock again */
	ck_assert_int_eq(count_locks(), 1);
	ck_assert_int_eq(store_lock_release(lk), KAHU_OK);
}
END_TEST

START_TEST(test_foreign_live_lock)
{
	/* another host: its pid cannot be checked, it is young: live */
	plant("0000aaaa", "other-host", 4242, time(NULL) - 60, "backup create weekly");
	struct store_lock *lk = NULL;
	ck_assert_int_eq(store_lock_acquire(st, "restore", &lk), KAHU_ELOCKED);
	char since[40], want[512];
	fmt_time(time(NULL) - 60, since, sizeof since);
	ck_assert_msg(strstr(kahu_error_last(),
			     "location is locked by alice@other-host pid 4242 since ") != NULL &&
		      strstr(kahu_error_last(), "(backup create weekly)") != NULL,
		      "%s", kahu_error_last());
	(void)want;
	ck_assert_int_eq(count_locks(), 1);
	unsigned int broken = 99;
	ck_assert_int_eq(store_lock_break_stale(st, STORE_LOCK_STALE_AFTER, &broken), KAHU_OK);
	ck_assert_uint_eq(broken, 0);
	ck_assert_int_eq(count_locks(), 1);
}
END_TEST

static long dead_pid(void)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return (long)pid;
}

START_TEST(test_stale_dead_pid)
{
	char host[256];
	hostname(host, sizeof host);
	long pid = dead_pid();
	plant("0000dead", host, pid, time(NULL) - 10, "backup create crashed");
	struct store_lock *lk = NULL;
	ck_assert_msg(store_lock_acquire(st, "backup create next", &lk) == KAHU_OK, "%s",
		      kahu_error_last());
	char needle[600];
	snprintf(needle, sizeof needle, "process %ld on %s no longer exists", pid, host);
	ck_assert_msg(warned("breaking stale lock locks/0000dead.json held by alice@") && warned(needle),
		      "warnings: %s", warnings.n ? warnings.v[0] : "(none)");
	ck_assert_int_eq(count_locks(), 1);  /* only ours */
	ck_assert_int_eq(store_lock_release(lk), KAHU_OK);
}
END_TEST

/* A process of the same host name but another pid namespace (a container, a pod on the
 * node's network, another machine named alike): its pid says nothing here, so its lock
 * is not broken for a pid that does not exist here; in our own pid namespace it is. */
START_TEST(test_stale_pid_space)
{
	char host[256];
	hostname(host, sizeof host);
	char *ours = store_lock_pid_space();
	ck_assert_ptr_nonnull(ours); /* Linux: /proc */
	long pid = dead_pid();
	struct store_lock_info li = { 0 };
	li.readable = 1;
	li.host = host;
	li.pid = pid;
	li.started = li.refreshed = (int64_t)time(NULL);
	char *why = NULL;
	li.pid_space = (char *)"00000000-0000-4000-8000-000000000000/4026531836";
	ck_assert_int_eq(store_lock_is_stale(&li, li.started + 1, STORE_LOCK_STALE_AFTER, &why), 0);
	ck_assert_ptr_null(why);
	li.pid_space = ours;
	ck_assert_int_eq(store_lock_is_stale(&li, li.started + 1, STORE_LOCK_STALE_AFTER, &why), 1);
	ck_assert_ptr_nonnull(strstr(why, "no longer exists"));
	free(why);
	why = NULL;
	li.pid_space = NULL; /* a lock of an older kahu: the host name alone */
	ck_assert_int_eq(store_lock_is_stale(&li, li.started + 1, STORE_LOCK_STALE_AFTER, &why), 1);
	free(why);
	/* an acquire leaves such a live lock alone, and its own lock records its space */
	char when[40];
	fmt_time(time(NULL) - 10, when, sizeof when);
	char *body = xasprintf("{\"kahu_lock\": 1, \"id\": \"0000cafe\", \"host\": \"%s\", \"pid\": %ld, "
			       "\"pid_space\": \"other-boot/1\", \"user\": \"bob\", \"started\": \"%s\", "
			       "\"refreshed\": \"%s\", \"purpose\": \"backup create\", \"kahu_version\": \"0.1.0\"}",
			       host, pid, when, when);
	ck_assert_int_eq(store_write_small(st, "locks/0000cafe.json", body, strlen(body)), KAHU_OK);
	free(body);
	struct store_lock *lk = NULL;
	ck_assert_int_eq(store_lock_acquire(st, "backup create other", &lk), KAHU_ELOCKED);
	ck_assert_ptr_nonnull(strstr(kahu_error_last(), "location is locked by bob@"));
	ck_assert_int_eq(count_locks(), 1);
	ck_assert_int_eq(store_remove(st, "locks/0000cafe.json"), KAHU_OK);
	ck_assert_int_eq(store_lock_acquire(st, "backup create other", &lk), KAHU_OK);
	ck_assert_str_eq(store_lock_get_info(lk)->pid_space, ours);
	struct kbuf b = KBUF_INIT;
	ck_assert_int_eq(store_read_small(st, store_lock_get_info(lk)->key, STORE_LOCK_MAX_SIZE, &b), KAHU_OK);
	json_t *o = json_loads(kbuf_str(&b), 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(o, "pid_space")), ours);
	json_decref(o);
	kbuf_free(&b);
	ck_assert_int_eq(store_lock_release(lk), KAHU_OK);
	free(ours);
}
END_TEST

START_TEST(test_stale_by_age)
{
	plant("0000old0", "far-away", 1234, time(NULL) - 7 * 3600, "backup create old");
	struct store_lock *lk = NULL;
	ck_assert_msg(store_lock_acquire(st, "backup create", &lk) == KAHU_OK, "%s", kahu_error_last());
	ck_assert(warned("breaking stale lock locks/0000old0.json held by alice@far-away pid 1234"));
	ck_assert(warned("more than 21600 s ago"));
	ck_assert_int_eq(store_lock_release(lk), KAHU_OK);

	/* with a shorter timeout, an hour-old lock is stale too; a minute-old one is not */
	plant("0000hour", "far-away", 1, time(NULL) - 3600, "x");
	plant("0000mint", "far-away", 2, time(NULL) - 60, "y");
	unsigned int broken = 0;
	ck_assert_int_eq(store_lock_break_stale(st, 1800, &broken), KAHU_OK);
	ck_assert_uint_eq(broken, 1);
	ck_assert_int_eq(count_locks(), 1);
}
END_TEST

START_TEST(test_break_stale_explicit)
{
	char host[256];
	hostname(host, sizeof host);
	plant("0000dea1", host, dead_pid(), time(NULL), "a");
	plant("0000old1", "elsewhere", 5, time(NULL) - 86400, "b");
	plant("0000live", host, (long)getpid(), time(NULL), "c");  /* this very process */
	/* not a kahu lock, and young: left alone, and shown as unreadable */
	ck_assert_int_eq(store_write_small(st, "locks/garbage.json", "not json", 8), KAHU_OK);
	unsigned int broken = 0;
	ck_assert_int_eq(store_lock_break_stale(st, STORE_LOCK_STALE_AFTER, &broken), KAHU_OK);
	ck_assert_uint_eq(broken, 2);
	ck_assert_int_eq(count_locks(), 2);
	ck_assert_uint_eq(warnings.n, 2);

	struct store_lock *lk = NULL;
	ck_assert_int_eq(store_remove(st, "locks/0000live.json"), KAHU_OK);
	ck_assert_int_eq(store_lock_acquire(st, "x", &lk), KAHU_ELOCKED);
	ck_assert_msg(strstr(kahu_error_last(),
			     "location is locked by an unreadable lock object locks/garbage.json written at ")
			      != NULL, "%s", kahu_error_last());
}
END_TEST

START_TEST(test_release_vanished)
{
	struct store_lock *lk = NULL;
	ck_assert_int_eq(store_lock_acquire(st, "x", &lk), KAHU_OK);
	ck_assert_int_eq(store_remove(st, store_lock_get_info(lk)->key), KAHU_OK);
	ck_assert_int_eq(store_lock_release(lk), KAHU_OK);
	ck_assert(warned("was already gone at release"));
}
END_TEST

START_TEST(test_is_stale)
{
	struct store_lock_info li = { 0 };
	li.readable = 1;
	li.host = (char *)"not-this-host.invalid";
	li.pid = 1;
	li.started = 1000;
	li.refreshed = 5000;
	char *why = NULL;
	/* the refresh time counts, not the start */
	ck_assert_int_eq(store_lock_is_stale(&li, 5000 + 100, 200, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(store_lock_is_stale(&li, 5000 + 300, 200, &why), 1);
	ck_assert_str_eq(why, "it was last written at 1970-01-01T01:23:20Z, more than 200 s ago");
	free(why);
}
END_TEST

/* A lock taken after ours (a run that started at the same time) whose run backs off:
 * we wait for it to go, then hold the location. */
START_TEST(test_younger_contender_backs_off)
{
	plant("ffffffff", "other-host", 4242, time(NULL) + 30, "backup create same-time");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct timespec ts = { 0, 600 * 1000000L };
		nanosleep(&ts, NULL);
		_exit(store_remove(st, "locks/ffffffff.json") == KAHU_OK ? 0 : 1);
	}
	struct store_lock *lk = NULL;
	ck_assert_msg(store_lock_acquire(st, "backup create", &lk) == KAHU_OK, "%s", kahu_error_last());
	int status = 0;
	waitpid(pid, &status, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(count_locks(), 1);
	ck_assert_int_eq(store_lock_release(lk), KAHU_OK);
}
END_TEST

/* A younger lock that stays: its run went on (it listed before we wrote ours); we back
 * off and name it. */
START_TEST(test_younger_contender_stays)
{
	plant("ffffffff", "other-host", 4242, time(NULL) + 30, "backup create same-time");
	struct store_lock *lk = NULL;
	ck_assert_int_eq(store_lock_acquire(st, "backup create", &lk), KAHU_ELOCKED);
	ck_assert_ptr_null(lk);
	ck_assert_msg(strstr(kahu_error_last(), "locked by alice@other-host pid 4242") != NULL, "%s",
		      kahu_error_last());
	ck_assert_int_eq(count_locks(), 1);  /* ours is gone again */
}
END_TEST

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs that start at the same instant: never two at once holding the location, and not
 * all of them failing. */
START_TEST(test_simultaneous_acquirers)
{
	enum { RUNS = 3, ROUNDS = 4 };
	for (int round = 0; round < ROUNDS; round++) {
		int go[2], res[2];
		ck_assert_int_eq(pipe(go), 0);
		ck_assert_int_eq(pipe(res), 0);
		pid_t pids[RUNS];
		for (int i = 0; i < RUNS; i++) {
			pids[i] = fork();
			ck_assert_int_ge(pids[i], 0);
			if (pids[i] == 0) {
				char c;
				close(go[1]);
				if (read(go[0], &c, 1) != 0)
					_exit(2);
				struct store_lock *lk = NULL;
				double line[2] = { 0, 0 };
				if (store_lock_acquire(st, "race", &lk) == KAHU_OK) {
					line[0] = mono();
					struct timespec ts = { 0, 300 * 1000000L };
					nanosleep(&ts, NULL);
					line[1] = mono();
					store_lock_release(lk);
				}
				_exit(write(res[1], line, sizeof line) == (ssize_t)sizeof line ? 0 : 2);
			}
		}
		close(go[0]);
		close(go[1]);  /* EOF: all start */
		close(res[1]);
		double held[RUNS][2];
		int n = 0;
		for (int i = 0; i < RUNS; i++)
			ck_assert_int_eq(read(res[0], held[n++], sizeof held[0]), (ssize_t)sizeof held[0]);
		close(res[0]);
		for (int i = 0; i < RUNS; i++) {
			int status;
			waitpid(pids[i], &status, 0);
			ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
		int holders = 0;
		for (int i = 0; i < RUNS; i++) {
			if (held[i][0] == 0)
				continue;
			holders++;
			for (int j = 0; j < RUNS; j++)
				if (j != i && held[j][0] != 0)
					ck_assert_msg(held[i][1] <= held[j][0] || held[j][1] <= held[i][0],
						      "round %d: runs %d and %d held the lock at once", round, i, j);
		}
		ck_assert_msg(holders >= 1, "round %d: every run backed off", round);
		ck_assert_int_eq(count_locks(), 0);
	}
}
END_TEST

/* A run longer than the stale age: its lock is refreshed in the background, so another
 * run does not take it for stale and break it. */
static int read_refreshed(const char *key, int64_t *refreshed, int64_t *started)
{
	struct kbuf b = KBUF_INIT;
	int rc = store_read_small(st, key, STORE_LOCK_MAX_SIZE, &b);
	json_t *o = rc == KAHU_OK ? json_loads(kbuf_str(&b), 0, NULL) : NULL;
	kbuf_free(&b);
	if (!o)
		return -1;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	strptime(json_string_value(json_object_get(o, "refreshed")), "%Y-%m-%dT%H:%M:%SZ", &tm);
	*refreshed = (int64_t)timegm(&tm);
	memset(&tm, 0, sizeof tm);
	strptime(json_string_value(json_object_get(o, "started")), "%Y-%m-%dT%H:%M:%SZ", &tm);
	*started = (int64_t)timegm(&tm);
	json_decref(o);
	return 0;
}

START_TEST(test_refreshed_while_held)
{
	struct store_lock *lk = NULL;
	/* stale after 3 s: refreshed every 250 ms */
	ck_assert_int_eq(store_lock_acquire_ex(st, "backup create long", 3, &lk), KAHU_OK);
	char *key = xstrdup(store_lock_get_info(lk)->key);
	struct timespec ts = { 4, 500 * 1000000L };
	nanosleep(&ts, NULL);
	int64_t refreshed = 0, started = 0;
	ck_assert_int_eq(read_refreshed(key, &refreshed, &started), 0);
	ck_assert_msg(refreshed >= started + 3, "refreshed %lld, started %lld", (long long)refreshed,
		      (long long)started);
	/* another run (another process: same host, our pid is alive either way) with the
	 * same stale age finds it live */
	struct store_lock *other = NULL;
	ck_assert_int_eq(store_lock_acquire_ex(st, "backup prune", 3, &other), KAHU_ELOCKED);
	ck_assert_int_eq(store_lock_release(lk), KAHU_OK);
	ck_assert_int_eq(count_locks(), 0);  /* released: nothing refreshed it back */
	free(key);
}
END_TEST

/* store_lock_wait: a fake attempt that is refused `busy` times, then succeeds. */
struct fake_try {
	int busy, calls;
};

static int fake_try_lock(void *ud, struct store_lock **out)
{
	struct fake_try *f = ud;
	*out = NULL;
	if (f->calls++ < f->busy)
		return kahu_error_set(KAHU_ELOCKED, "location is locked by someone");
	return 0;
}

START_TEST(test_wait_none_gives_up_at_once)
{
	struct fake_try f = { 5, 0 };
	struct store_lock *lk;
	ck_assert_int_eq(store_lock_wait(fake_try_lock, &f, 0, NULL, &lk), KAHU_ELOCKED);
	ck_assert_int_eq(f.calls, 1);
	ck_assert_str_eq(kahu_error_last(), "location is locked by someone");
}
END_TEST

START_TEST(test_wait_retries_until_free)
{
	struct fake_try f = { 1, 0 };
	struct store_lock *lk;
	ck_assert_int_eq(store_lock_wait(fake_try_lock, &f, 60, "1m", &lk), 0);
	ck_assert_int_eq(f.calls, 2);
}
END_TEST

START_TEST(test_wait_free_at_once)
{
	struct store_lock *lk;
	struct fake_try f = { 0, 0 };
	ck_assert_int_eq(store_lock_wait(fake_try_lock, &f, 60, "1m", &lk), 0);
	ck_assert_int_eq(f.calls, 1);
}
END_TEST

START_TEST(test_wait_interrupted)
{
	struct fake_try f = { 100, 0 };
	struct store_lock *lk;
	kahu_cancel(2);
	ck_assert_int_eq(store_lock_wait(fake_try_lock, &f, 3600, "1h", &lk), KAHU_EINTR);
	kahu_cancel_reset();
	ck_assert_int_eq(f.calls, 1);
	ck_assert_str_eq(kahu_error_last(), "interrupted while waiting for the lock");
}
END_TEST

START_TEST(test_wait_limit_passes)
{
	struct fake_try f = { 100, 0 };
	struct store_lock *lk;
	ck_assert_int_eq(store_lock_wait(fake_try_lock, &f, 1, "1s", &lk), KAHU_ELOCKED);
	ck_assert_int_ge(f.calls, 2);
	ck_assert_str_eq(kahu_error_last(), "waited 1s for the lock: location is locked by someone");
}
END_TEST

static Suite *lock_suite(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("lock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60); /* a younger lock that stays is waited for 5 s */
	tcase_add_test(tc, test_acquire_release);
	tcase_add_test(tc, test_second_acquire_locked);
	tcase_add_test(tc, test_foreign_live_lock);
	tcase_add_test(tc, test_stale_dead_pid);
	tcase_add_test(tc, test_stale_pid_space);
	tcase_add_test(tc, test_stale_by_age);
	tcase_add_test(tc, test_break_stale_explicit);
	tcase_add_test(tc, test_release_vanished);
	tcase_add_test(tc, test_is_stale);
	tcase_add_test(tc, test_younger_contender_backs_off);
	tcase_add_test(tc, test_younger_contender_stays);
	tcase_add_test(tc, test_simultaneous_acquirers);
	tcase_add_test(tc, test_refreshed_while_held);
	tcase_add_test(tc, test_wait_none_gives_up_at_once);
	tcase_add_test(tc, test_wait_retries_until_free);
	tcase_add_test(tc, test_wait_free_at_once);
	tcase_add_test(tc, test_wait_interrupted);
	tcase_add_test(tc, test_wait_limit_passes);
	suite_add_tcase(s, tc);
	return s;
}

KAHU_CHECK_MAIN(lock_suite)

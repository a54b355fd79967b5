/* kahu — logging to stderr.
 *
 * Levels: error and warning always print (unless -q silences warnings); info with -v,
 * debug with -vv, trace with -vvv.  `--log-format json` prints one JSON object a line.
 * Thread-safe.  Never log a secret: tokens, keys, passphrases, Authorization headers
 * and Secret data must not reach these functions. */
#ifndef KAHU_UTIL_LOG_H
#define KAHU_UTIL_LOG_H

enum kahu_log_level {
	KAHU_LOG_ERROR = 0,
	KAHU_LOG_WARN = 1,
	KAHU_LOG_NOTICE = 2, /* results a user asked for, shown unless -q */
	KAHU_LOG_INFO = 3,   /* -v */
	KAHU_LOG_DEBUG = 4,  /* -vv */
	KAHU_LOG_TRACE = 5,  /* -vvv */
};

enum kahu_log_format { KAHU_LOG_TEXT, KAHU_LOG_JSON };

/* Messages at `level` or below are printed.  Default: KAHU_LOG_NOTICE. */
void kahu_log_set_level(int level);
int kahu_log_get_level(void);
void kahu_log_set_format(enum kahu_log_format f);
/* An extra sink (e.g. the backup's own stored log) receives every message at or below
 * its own level, already formatted as one JSON line without the newline. */
typedef void (*kahu_log_sink)(void *ud, int level, const char *json_line);
void kahu_log_set_sink(kahu_log_sink sink, void *ud, int level);

void kahu_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) kahu_log(KAHU_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) kahu_log(KAHU_LOG_WARN, __VA_ARGS__)
#define log_notice(...) kahu_log(KAHU_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) kahu_log(KAHU_LOG_INFO, __VA_ARGS__)
#define log_debug(...) kahu_log(KAHU_LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) kahu_log(KAHU_LOG_TRACE, __VA_ARGS__)

/* A log scope: what one of several runs in the process logs (kahu backup create
 * --contexts: a backup per cluster, each on its own thread).  A thread in a scope has
 * its terminal lines prefixed with the scope's label ("[prod] "; JSON lines get a
 * "context" field), and kahu_log_set_sink sets the scope's sink, not the process's, so
 * each run's stored log receives its own messages only.  Threads a run starts enter
 * its scope (kahu_log_scope_current() read by the starting thread, entered by the new
 * one: the worker pool, the list reader, the sealing stages, the lock refresher do).
 * A thread in no scope logs as before. */
struct kahu_log_scope;
struct kahu_log_scope *kahu_log_scope_new(const char *label);
void kahu_log_scope_free(struct kahu_log_scope *s);
/* Make `s` the calling thread's scope (NULL: none). */
void kahu_log_scope_enter(struct kahu_log_scope *s);
struct kahu_log_scope *kahu_log_scope_current(void);

/* Hook so a progress line on the terminal can be cleared before a message and
 * redrawn after it. */
void kahu_log_set_progress_hooks(void (*clear)(void), void (*redraw)(void));

#endif

#include "util/log.h"
#include "util/buf.h"
#include "util/mem.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int log_level = KAHU_LOG_NOTICE;
static enum kahu_log_format log_format = KAHU_LOG_TEXT;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static kahu_log_sink sink_fn;
static void *sink_ud;
static int sink_level;
static void (*progress_clear)(void);
static void (*progress_redraw)(void);

struct kahu_log_scope {
	char *label;
	kahu_log_sink sink_fn;  /* guarded by log_lock */
	void *sink_ud;
	int sink_level;
};
static _Thread_local struct kahu_log_scope *cur_scope;

struct kahu_log_scope *kahu_log_scope_new(const char *label)
{
	struct kahu_log_scope *s = xcalloc(1, sizeof *s);
	s->label = xstrdup(label);
	return s;
}

void kahu_log_scope_free(struct kahu_log_scope *s)
{
	if (!s)
		return;
	free(s->label);
	free(s);
}

void kahu_log_scope_enter(struct kahu_log_scope *s) { cur_scope = s; }
struct kahu_log_scope *kahu_log_scope_current(void) { return cur_scope; }

static const char *const level_names[] = { "error", "warning", "notice", "info", "debug", "trace" };

void kahu_log_set_level(int level) { log_level = level; }
int kahu_log_get_level(void) { return log_level; }
void kahu_log_set_format(enum kahu_log_format f) { log_format = f; }

void kahu_log_set_sink(kahu_log_sink sink, void *ud, int level)
{
	struct kahu_log_scope *sc = cur_scope;
	pthread_mutex_lock(&log_lock);
	if (sc) {
		sc->sink_fn = sink;
		sc->sink_ud = ud;
		sc->sink_level = level;
	} else {
		sink_fn = sink;
		sink_ud = ud;
		sink_level = level;
	}
	pthread_mutex_unlock(&log_lock);
}

void kahu_log_set_progress_hooks(void (*clear)(void), void (*redraw)(void))
{
	progress_clear = clear;
	progress_redraw = redraw;
}

static void json_escape(struct kbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"': kbuf_adds(b, "\\\""); break;
		case '\\': kbuf_adds(b, "\\\\"); break;
		case '\n': kbuf_adds(b, "\\n"); break;
		case '\r': kbuf_adds(b, "\\r"); break;
		case '\t': kbuf_adds(b, "\\t"); break;
		default:
			if (c < 0x20)
				kbuf_addf(b, "\\u%04x", c);
			else
				kbuf_addc(b, (char)c);
		}
	}
}

void kahu_log(int level, const char *fmt, ...)
{
	struct kahu_log_scope *sc = cur_scope;
	int to_term = level <= log_level;
	pthread_mutex_lock(&log_lock);
	int to_sink = (sc ? sc->sink_fn : sink_fn) && level <= (sc ? sc->sink_level : sink_level);
	pthread_mutex_unlock(&log_lock);
	if (!to_term && !to_sink)
		return;

	struct kbuf msg = KBUF_INIT, json = KBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	kbuf_addvf(&msg, fmt, ap);
	va_end(ap);

	if (level < 0)
		level = 0;
	if (level > KAHU_LOG_TRACE)
		level = KAHU_LOG_TRACE;

	if (to_sink || log_format == KAHU_LOG_JSON) {
		struct timespec ts;
		struct tm tm;
		char when[40];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
		kbuf_addf(&json, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":\"", when,
			  ts.tv_nsec / 1000000, level_names[level]);
		json_escape(&json, kbuf_str(&msg));
		kbuf_adds(&json, "\"}");
	}

	pthread_mutex_lock(&log_lock);
	if (to_term) {
		if (progress_clear)
			progress_clear();
		if (log_format == KAHU_LOG_JSON && sc) {
			struct kbuf ctx = KBUF_INIT;
			json_escape(&ctx, sc->label);
			/* the same object with the scope's label first */
			fprintf(stderr, "{\"context\":\"%s\",%s\n", kbuf_str(&ctx), kbuf_str(&json) + 1);
			kbuf_free(&ctx);
		} else if (log_format == KAHU_LOG_JSON) {
			fprintf(stderr, "%s\n", kbuf_str(&json));
		} else {
			/* Messages carry names from clusters and archives: never raw control
			 * characters to a terminal. */
			struct kbuf safe = KBUF_INIT;
			if (sc) {
				kbuf_addc(&safe, '[');
				kbuf_add_printable(&safe, sc->label, 0);
				kbuf_adds(&safe, "] ");
			}
			size_t plen = safe.len;
			kbuf_add_printable(&safe, kbuf_str(&msg), 1);
			if (level <= KAHU_LOG_WARN)
				fprintf(stderr, "%.*skahu: %s: %s\n", (int)plen, kbuf_str(&safe), level_names[level],
					kbuf_str(&safe) + plen);
			else
				fprintf(stderr, "%s\n", kbuf_str(&safe));
			kbuf_free(&safe);
		}
		fflush(stderr);
		if (progress_redraw)
			progress_redraw();
	}
	/* Read again under the lock: the run may have taken its sink away meanwhile. */
	kahu_log_sink sfn = sc ? sc->sink_fn : sink_fn;
	if (to_sink && sfn)
		sfn(sc ? sc->sink_ud : sink_ud, level, kbuf_str(&json));
	pthread_mutex_unlock(&log_lock);

	kbuf_free(&msg);
	kbuf_free(&json);
}

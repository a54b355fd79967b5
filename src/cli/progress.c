#include "cli/progress.h"
#include "cli/output.h"
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int enabled;
static char label[64];
static char line[256];
static int shown;
static double started, last;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Called with the log lock held, before and after a message. */
static void clear_line(void)
{
	if (shown)
		fputs("\r\033[K", stderr);
}

static void redraw(void)
{
	if (shown)
		fprintf(stderr, "%s: %s", label, line);
}

void progress_start(int on, const char *what)
{
	enabled = on;
	if (!enabled)
		return;
	snprintf(label, sizeof label, "%s", what);
	started = last = now();
	shown = 0;
	line[0] = '\0';
	kahu_log_set_progress_hooks(clear_line, redraw);
}

/* force: draw even within the throttle (a new volume's first line). */
static void __attribute__((format(printf, 2, 0))) update(int force, const char *fmt, va_list ap)
{
	if (!enabled)
		return;
	double t = now();
	pthread_mutex_lock(&lock);
	if (!force && shown && t - last < 0.1) {
		pthread_mutex_unlock(&lock);
		return;
	}
	last = t;
	vsnprintf(line, sizeof line, fmt, ap);
	fprintf(stderr, "\r\033[K%s: %s", label, line);
	fflush(stderr);
	shown = 1;
	pthread_mutex_unlock(&lock);
}

void progress_update(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	update(0, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3))) update_f(int force, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	update(force, fmt, ap);
	va_end(ap);
}

void progress_done(void)
{
	if (!enabled)
		return;
	pthread_mutex_lock(&lock);
	if (shown)
		fputs("\r\033[K", stderr);
	fflush(stderr);
	shown = 0;
	enabled = 0;
	kahu_log_set_progress_hooks(NULL, NULL);
	pthread_mutex_unlock(&lock);
}

void progress_backup(uint64_t types_done, uint64_t types_total, long objects, uint64_t bytes)
{
	char size[32];
	double dt = now() - started;
	out_human_bytes(bytes, size, sizeof size);
	progress_update("%llu/%llu types, %ld objects, %s, %.0f objects/s",
			(unsigned long long)types_done, (unsigned long long)types_total, objects,
			size, dt > 0 ? (double)objects / dt : 0.0);
}

/* The volumes whose lines are drawn, each with the time its copy started: a restore
 * writes several at once (a line per update, the latest volume's). */
#define VOL_SLOTS 16
static struct {
	char id[512];
	double started, used;
} vols[VOL_SLOTS];

/* Seconds since the volume `id` started; a new id, or bytes and files 0, starts it
 * anew (*first set).  With the lock held. */
static double vol_elapsed(const char *id, uint64_t bytes, uint64_t files, int *first)
{
	double t = now();
	int slot = -1, oldest = 0;
	for (int i = 0; i < VOL_SLOTS; i++) {
		if (vols[i].id[0] && strcmp(vols[i].id, id) == 0) {
			slot = i;
			break;
		}
		if (vols[i].used < vols[oldest].used)
			oldest = i;
	}
	*first = slot < 0 || (bytes == 0 && files == 0);
	if (slot < 0) {
		slot = oldest;
		snprintf(vols[slot].id, sizeof vols[slot].id, "%s", id);
	}
	if (*first)
		vols[slot].started = t;
	vols[slot].used = t;
	return t - vols[slot].started;
}

static void volume_line(const char *namespace_, const char *pvc, const char *verb, uint64_t bytes,
			uint64_t files)
{
	char id[512], size[32], rate[32];
	int first;
	if (!enabled)
		return;
	snprintf(id, sizeof id, "%s/%s", namespace_, pvc);
	pthread_mutex_lock(&lock);
	double dt = vol_elapsed(id, bytes, files, &first);
	pthread_mutex_unlock(&lock);
	out_human_bytes(bytes, size, sizeof size);
	out_human_bytes(dt > 0 ? (unsigned long long)((double)bytes / dt) : 0, rate, sizeof rate);
	update_f(first, "volume %s: %s %s, %llu entries, %s/s", id, size, verb,
		 (unsigned long long)files, rate);
}

void progress_volume(const char *namespace_, const char *pvc, uint64_t bytes, uint64_t files)
{
	volume_line(namespace_, pvc, "read", bytes, files);
}

void progress_volume_written(const char *namespace_, const char *pvc, uint64_t bytes, uint64_t files)
{
	volume_line(namespace_, pvc, "written", bytes, files);
}

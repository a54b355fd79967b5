/* kahu — when an event-driven backup starts (debounce.h). */
#include "engine/debounce.h"

void debounce_init(struct debounce *d, int64_t quiet_ms, int64_t max_ms)
{
	d->quiet_ms = quiet_ms > 0 ? quiet_ms : 0;
	d->max_ms = max_ms > 0 ? max_ms : 0;
	d->first = -1;
	d->last = -1;
	d->running = 0;
	d->runs = 0;
}

void debounce_change(struct debounce *d, int64_t now)
{
	if (d->first < 0) {
		d->first = d->last = now;
		return;
	}
	if (now < d->first)
		d->first = now;
	if (now > d->last)
		d->last = now;
}

int debounce_pending(const struct debounce *d)
{
	return d->first >= 0;
}

int64_t debounce_next(const struct debounce *d)
{
	if (d->running || d->first < 0)
		return -1;
	int64_t t = d->last + d->quiet_ms;
	if (d->max_ms && d->first + d->max_ms < t)
		t = d->first + d->max_ms;
	return t;
}

int debounce_due(const struct debounce *d, int64_t now)
{
	int64_t t = debounce_next(d);
	return t >= 0 && now >= t;
}

void debounce_started(struct debounce *d, int64_t now)
{
	(void)now;
	d->running = 1;
	d->first = d->last = -1;
	d->runs++;
}

void debounce_finished(struct debounce *d, int64_t now)
{
	(void)now;
	d->running = 0;
}

/* kahu — when an event-driven backup starts (debounce.h). */
#include "engine/debounce.h"

#include "util/err.h"
#include "util/timeutil.h"

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

int debounce_periods(const char *quiet, const char *max, int64_t *quiet_s, int64_t *max_s)
{
	int rc;
	*quiet_s = 60;
	*max_s = 3600;
	if ((quiet && (rc = duration_parse(quiet, "--quiet-period", quiet_s)) < 0) ||
	    (max && (rc = duration_parse(max, "--max-interval", max_s)) < 0))
		return rc;
	if (!max && *quiet_s >= *max_s)
		*max_s = 0;   /* the default maximum gives way to a longer quiet period */
	if (*max_s && *max_s < *quiet_s)
		return kahu_error_set(KAHU_EUSAGE, "--max-interval (%llds) is shorter than --quiet-period "
				      "(%llds); 0 means no maximum", (long long)*max_s,
				      (long long)*quiet_s);
	return 0;
}

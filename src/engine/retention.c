/* kahu — which backups prune removes (see retention.h). */
#include "engine/retention.h"
#include "util/mem.h"
#include "util/strset.h"
#include "util/tzif.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int retention_has_policy(const struct retention_policy *p)
{
	return p->last >= 0 || p->hourly >= 0 || p->daily >= 0 || p->weekly >= 0 || p->monthly >= 0 ||
	       p->yearly >= 0;
}

const char *retention_why_text(enum retention_why w)
{
	switch (w) {
	case RET_KEEP_UNEXPIRED: return "not expired";
	case RET_KEEP_LAST: return "kept by --keep-last";
	case RET_KEEP_HOURLY: return "kept by --keep-hourly";
	case RET_KEEP_DAILY: return "kept by --keep-daily";
	case RET_KEEP_WEEKLY: return "kept by --keep-weekly";
	case RET_KEEP_MONTHLY: return "kept by --keep-monthly";
	case RET_KEEP_YEARLY: return "kept by --keep-yearly";
	case RET_KEEP_NEEDED: return "a kept backup builds on it";
	case RET_KEEP_UNTRUSTED: return "its manifest cannot be trusted: left alone";
	case RET_REMOVE_EXPIRED: return "expired";
	case RET_REMOVE_UNKEPT: return "kept by no policy";
	case RET_REMOVE_FAILED: return "Failed: holds nothing, counts for no policy";
	case RET_REMOVE_LEFTOVER: return "leftover of an interrupted run";
	}
	return "?";
}

static int cmp_newest(const void *a, const void *b)
{
	const struct retention_entry *x = *(struct retention_entry *const *)a;
	const struct retention_entry *y = *(struct retention_entry *const *)b;
	if (x->completed != y->completed)
		return x->completed < y->completed ? 1 : -1;
	return strcmp(y->name, x->name); /* the same second: the greater name first, as a tie-break */
}

enum period { HOUR, DAY, WEEK, MONTH, YEAR };

/* The period of instant t on the local calendar of `zone` (UTC when NULL). */
static void period_of(int64_t t, enum period p, const struct tzif *zone, char *buf, size_t len)
{
	int32_t off = zone ? tzif_offset(zone, t) : 0;
	time_t tt = (time_t)(t + off); /* the local calendar, read as if it were UTC's */
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	switch (p) {
	case HOUR: {
		/* The hour repeated when clocks go back has another offset: another period. */
		char h[24];
		strftime(h, sizeof h, "%Y-%m-%dT%H", &tm);
		snprintf(buf, len, "%s%+d", h, (int)off);
		break;
	}
	case DAY: strftime(buf, len, "%Y-%m-%d", &tm); break;
	case WEEK: strftime(buf, len, "%G-W%V", &tm); break;
	case MONTH: strftime(buf, len, "%Y-%m", &tm); break;
	case YEAR: strftime(buf, len, "%Y", &tm); break;
	}
}

static void keep(struct retention_entry *e, enum retention_why why)
{
	if (e->remove) {
		e->remove = 0;
		e->why = why;
	}
}

/* Keep the newest backup of each of the `n` newest periods that have one. */
static void keep_periods(struct retention_entry **sorted, size_t count, long n, enum period p,
			 const struct tzif *zone, enum retention_why why)
{
	char last[48] = "";
	long kept = 0;
	for (size_t i = 0; i < count && kept < n; i++) {
		char period[48];
		period_of(sorted[i]->completed, p, zone, period, sizeof period);
		if (strcmp(period, last) != 0) {
			keep(sorted[i], why);
			snprintf(last, sizeof last, "%s", period);
			kept++;
		}
	}
}

void retention_decide(struct retention_entry *v, size_t n, const struct retention_policy *p,
		      int64_t now)
{
	int policies = retention_has_policy(p);
	struct retention_entry **good = xcalloc(n + 1, sizeof *good);
	size_t ngood = 0;

	for (size_t i = 0; i < n; i++) {
		struct retention_entry *e = &v[i];
		e->needed_by = 0;
		switch (e->state) {
		case RET_LEFTOVER:
			e->remove = 1;
			e->why = RET_REMOVE_LEFTOVER;
			break;
		case RET_UNTRUSTED:
			e->remove = 0;
			e->why = RET_KEEP_UNTRUSTED;
			break;
		case RET_GOOD:
		case RET_FAILED:
			if (!policies) {
				e->remove = e->expires && e->expires <= now;
				e->why = e->remove ? RET_REMOVE_EXPIRED : RET_KEEP_UNEXPIRED;
			} else {
				e->remove = 1;
				e->why = e->state == RET_FAILED ? RET_REMOVE_FAILED : RET_REMOVE_UNKEPT;
				if (e->state == RET_GOOD)
					good[ngood++] = e;
			}
			break;
		}
	}
	if (policies) {
		qsort(good, ngood, sizeof *good, cmp_newest);
		for (size_t i = 0; p->last > 0 && i < ngood && (long)i < p->last; i++)
			keep(good[i], RET_KEEP_LAST);
		keep_periods(good, ngood, p->hourly, HOUR, p->zone, RET_KEEP_HOURLY);
		keep_periods(good, ngood, p->daily, DAY, p->zone, RET_KEEP_DAILY);
		keep_periods(good, ngood, p->weekly, WEEK, p->zone, RET_KEEP_WEEKLY);
		keep_periods(good, ngood, p->monthly, MONTH, p->zone, RET_KEEP_MONTHLY);
		keep_periods(good, ngood, p->yearly, YEAR, p->zone, RET_KEEP_YEARLY);
	}

	/* Never remove what a kept backup builds on: a walk from every kept backup. */
	struct strset index = STRSET_INIT;
	for (size_t i = 0; i < n; i++) {
		char num[32];
		snprintf(num, sizeof num, "%zu", i);
		if (v[i].name && !strset_get(&index, v[i].name))
			strset_put(&index, v[i].name, num);
	}
	size_t *stack = xcalloc(n + 1, sizeof *stack), top = 0;
	for (size_t i = 0; i < n; i++)
		if (!v[i].remove)
			stack[top++] = i;
	while (top) {
		size_t i = stack[--top];
		const char *deps[2] = { v[i].parent, v[i].base };
		for (int k = 0; k < 2; k++) {
			const char *j = deps[k] ? strset_get(&index, deps[k]) : NULL;
			if (!j)
				continue;
			struct retention_entry *d = &v[strtoul(j, NULL, 10)];
			if (!d->remove)
				continue;
			d->remove = 0;
			d->why = RET_KEEP_NEEDED;
			d->needed_by = i;
			stack[top++] = (size_t)(d - v);
		}
	}
	free(stack);
	strset_free(&index);
	free(good);
}

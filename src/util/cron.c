/* kahu — cron schedules (see cron.h). */
#include "util/cron.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/tzif.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CRON_MAX_TEXT 256
#define DAY 86400
#define TIME_MIN (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

struct cron {
	uint64_t min, hour, dom, mon, dow; /* bit n: value n matches (dow: 0-6) */
	int dom_star, dow_star;            /* the field starts with '*' (Vixie's rule) */
	struct tzif *tz;
	char *text;                        /* "0 3 * * *  (Europe/Berlin)" */
	char *fields;                      /* "0 3 * * *" */
};

struct field {
	const char *name;
	int lo, hi;
	const char *const *names; /* values lo.. by name, or NULL */
};

static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
					    "AUG", "SEP", "OCT", "NOV", "DEC", NULL };
static const char *const dow_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL };

static const struct field fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, month_names },
	{ "day-of-week", 0, 7, dow_names },
};

static const struct {
	const char *name, *fields;
} at_forms[] = {
	{ "@yearly", "0 0 1 1 *" },   { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },   { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* One value of a field: a number or (month, day-of-week) a name.  *s advances. */
static int parse_value(const char *expr, const struct field *f, const char *item, const char **s, int *out)
{
	const char *p = *s;
	if (*p >= '0' && *p <= '9') {
		long v = 0;
		while (*p >= '0' && *p <= '9') {
			if (v < 1000000)
				v = v * 10 + (*p - '0');
			p++;
		}
		if (v < f->lo || v > f->hi)
			return kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": %s %ld is out of range %d-%d", expr,
					      f->name, v, f->lo, f->hi);
		*s = p;
		*out = (int)v;
		return 0;
	}
	if (f->names) {
		for (int i = 0; f->names[i]; i++)
			if (strncasecmp(p, f->names[i], 3) == 0 &&
			    !((p[3] >= 'A' && p[3] <= 'Z') || (p[3] >= 'a' && p[3] <= 'z'))) {
				*s = p + 3;
				*out = f->lo + i;
				return 0;
			}
		return kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": %s \"%s\" is not a number or a name (%s-%s)",
				      expr, f->name, item, f->names[0], f->names[f->hi == 7 ? 6 : 11]);
	}
	return kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": %s \"%s\" is not a number, a range or *", expr,
			      f->name, item);
}

/* One field's text (a list) into its bit set. */
static int parse_field(const char *expr, const struct field *f, const char *text, uint64_t *bits)
{
	*bits = 0;
	char *copy = xstrdup(text), *save = NULL;
	int rc = 0;
	if (text[0] == ',' || text[strlen(text) - 1] == ',' || strstr(text, ",,")) {
		rc = kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": %s \"%s\" has an empty list item", expr, f->name, text);
		goto out;
	}
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		const char *p = item;
		int a, b, step = 1, single = 0;
		if (*p == '*') {
			a = f->lo;
			b = f->hi == 7 ? 6 : f->hi;
			p++;
		} else {
			if ((rc = parse_value(expr, f, item, &p, &a)) < 0)
				goto out;
			b = a;
			single = 1;
			if (*p == '-') {
				p++;
				if ((rc = parse_value(expr, f, item, &p, &b)) < 0)
					goto out;
				single = 0;
				if (b < a) {
					rc = kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": %s range \"%s\" is backwards "
							    "(from %d down to %d)", expr, f->name, item, a, b);
					goto out;
				}
			}
		}
		if (*p == '/') {
			p++;
			long n = 0;
			const char *d = p;
			while (*p >= '0' && *p <= '9') {
				if (n < 1000000)
					n = n * 10 + (*p - '0');
				p++;
			}
			if (p == d || *p) {
				rc = kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": %s \"%s\": a step is / and a number",
						    expr, f->name, item);
				goto out;
			}
			if (n < 1) {
				rc = kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": %s \"%s\": the step must be 1 or more",
						    expr, f->name, item);
				goto out;
			}
			step = n > f->hi ? f->hi + 1 : (int)n;
			if (single) /* a/n: from a to the field's maximum */
				b = f->hi == 7 ? 6 : f->hi;
		}
		if (*p) {
			rc = kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": %s \"%s\" is not a number, a range or * "
					    "(with an optional /step)", expr, f->name, item);
			goto out;
		}
		for (int v = a; v <= b; v += step)
			*bits |= (uint64_t)1 << (f->hi == 7 && v == 7 ? 0 : v);
	}
out:
	free(copy);
	return rc;
}

static int printable(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

int cron_parse(const char *expr, const char *tz, struct cron **out)
{
	*out = NULL;
	if (!expr || !*expr)
		return kahu_error_set(KAHU_EUSAGE, "schedule is empty (expected 5 fields, minute hour "
				      "day-of-month month day-of-week, or an @ form such as @daily)");
	if (strlen(expr) > CRON_MAX_TEXT || !printable(expr))
		return kahu_error_set(KAHU_EUSAGE, "schedule is longer than %d characters or has a character "
				      "that is not printable ASCII", CRON_MAX_TEXT);
	const char *b = expr + strspn(expr, " \t");
	const char *text = b;
	char norm[CRON_MAX_TEXT + 1];
	if (*b == '@') {
		size_t n = strcspn(b, " \t");
		if (b[n + strspn(b + n, " \t")])
			return kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": an @ form stands alone", expr);
		text = NULL;
		for (size_t i = 0; i < sizeof at_forms / sizeof *at_forms; i++)
			if (strlen(at_forms[i].name) == n && strncasecmp(b, at_forms[i].name, n) == 0)
				text = at_forms[i].fields;
		if (!text && n == 7 && strncasecmp(b, "@reboot", 7) == 0)
			return kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": @reboot is not a time of day; a schedule "
					      "needs one (for example @daily)", expr);
		if (!text)
			return kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": unknown @ form (expected @yearly, @annually, "
					      "@monthly, @weekly, @daily, @midnight or @hourly)", expr);
	}
	/* Split into fields. */
	char buf[CRON_MAX_TEXT + 1], *f[6] = { 0 }, *save = NULL;
	snprintf(buf, sizeof buf, "%s", text);
	int nf = 0;
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (nf < 6)
			f[nf] = t;
		nf++;
	}
	if (nf != 5)
		return kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": %d field%s, expected 5 (minute hour "
				      "day-of-month month day-of-week) or an @ form such as @daily", expr, nf,
				      nf == 1 ? "" : "s");
	struct cron *c = xcalloc(1, sizeof *c);
	uint64_t *bits[5] = { &c->min, &c->hour, &c->dom, &c->mon, &c->dow };
	int rc;
	for (int i = 0; i < 5; i++)
		if ((rc = parse_field(expr, &fields[i], f[i], bits[i])) < 0)
			goto fail;
	c->dom_star = f[2][0] == '*';
	c->dow_star = f[4][0] == '*';
	if ((rc = tzif_load(tz, &c->tz)) < 0) {
		kahu_error_wrap(rc, "schedule \"%s\"", expr);
		goto fail;
	}
	snprintf(norm, sizeof norm, "%s %s %s %s %s", f[0], f[1], f[2], f[3], f[4]);
	c->fields = xstrdup(norm);
	size_t tl = strlen(norm) + strlen(tzif_name(c->tz)) + 5;
	c->text = xmalloc(tl);
	snprintf(c->text, tl, "%s  (%s)", norm, tzif_name(c->tz));
	*out = c;
	return 0;
fail:
	cron_free(c);
	return rc;
}

void cron_free(struct cron *c)
{
	if (!c)
		return;
	tzif_free(c->tz);
	free(c->text);
	free(c->fields);
	free(c);
}

const char *cron_text(const struct cron *c)
{
	return c->text;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int day_matches(const struct cron *c, unsigned d, int64_t days)
{
	int dom = (c->dom >> d) & 1, dow = (c->dow >> tz_weekday(days)) & 1;
	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

int cron_next(const struct cron *c, int64_t after, int64_t *next)
{
	if (after < TIME_MIN || after > TIME_MAX)
		return kahu_error_set(KAHU_EUSAGE, "schedule \"%s\": time %lld is outside the years 0001-9999",
				      c->fields, (long long)after);
	int64_t wall = tzif_local(c->tz, after);
	int64_t t = floor_div(wall, 60) * 60 + 60; /* local wall-clock seconds, on a minute */
	int64_t limit = wall + (int64_t)(5 * 365 + 2) * DAY;
	if (limit > TIME_MAX)
		limit = TIME_MAX;
	while (t <= limit) {
		int64_t days = floor_div(t, DAY), sod = t - days * DAY, y;
		unsigned m, d;
		int h = (int)(sod / 3600), mi = (int)(sod % 3600 / 60);
		tz_civil_from_days(days, &y, &m, &d);
		if (!((c->mon >> m) & 1)) {
			t = tz_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * DAY;
			continue;
		}
		if (!day_matches(c, d, days)) {
			t = (days + 1) * DAY;
			continue;
		}
		if (!((c->hour >> h) & 1)) {
			t = days * DAY + (int64_t)(h + 1) * 3600;
			continue;
		}
		if (!((c->min >> mi) & 1)) {
			int n = mi + 1;
			while (n < 60 && !((c->min >> n) & 1))
				n++;
			t = days * DAY + (int64_t)h * 3600 + (int64_t)n * 60;
			continue;
		}
		/* A matching local time: the instant it names (the first of two in a repeat,
		 * the end of the gap when it does not exist). */
		int64_t inst;
		tzif_resolve(c->tz, t, &inst);
		if (inst > after) {
			*next = inst;
			return 0;
		}
		t += 60;
	}
	return kahu_error_set(KAHU_ENOTFOUND, "schedule \"%s\" (%s) never fires in the 5 years after %lld "
			      "(a day that does not exist, such as February 30?)", c->fields, tzif_name(c->tz),
			      (long long)after);
}

void cron_sets(const struct cron *c, struct cron_sets *out)
{
	out->minute = c->min;
	out->hour = c->hour;
	out->dom = c->dom;
	out->month = c->mon;
	out->dow = c->dow;
	out->dom_restricted = !c->dom_star;
	out->dow_restricted = !c->dow_star;
}

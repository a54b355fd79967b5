#include "util/timeutil.h"
#include "util/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int duration_parse(const char *s, const char *what, int64_t *seconds)
{
	const char *p = s;
	int64_t total = 0;
	int parts = 0;

	if (!s || !*s)
		return kahu_error_set(KAHU_EUSAGE, "%s: empty duration", what);
	if (s[0] == '0' && s[1] == '\0') {
		*seconds = 0;
		return 0;
	}
	while (*p) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		int64_t n = 0;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p - '0');
			if (n > (int64_t)1 << 40)
				goto bad;
			p++;
		}
		int64_t unit;
		switch (*p) {
		case 'd': unit = 86400; break;
		case 'h': unit = 3600; break;
		case 'm': unit = 60; break;
		case 's': unit = 1; break;
		default: goto bad;
		}
		p++;
		total += n * unit;
		parts++;
	}
	if (!parts)
		goto bad;
	*seconds = total;
	return 0;
bad:
	return kahu_error_set(KAHU_EUSAGE,
			      "%s: invalid duration \"%s\" (use units d, h, m, s, e.g. 720h, 30d, 1h30m)",
			      what, s);
}

void duration_format(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = -s;
	if (s >= 86400)
		snprintf(buf, len, "%lldd%lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
}

void time_rfc3339(time_t t, char *buf, size_t len)
{
	char s[KAHU_TIME_LEN + 1];
	kahu_time_format((int64_t)t, s);
	snprintf(buf, len, "%s", s);
}

/* n decimal digits, or -1 */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int kahu_time_parse(const char *s, unsigned flags, int64_t *out)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (!s || strnlen(s, 19) < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
		return -1;
	if (s[10] != 'T' && s[10] != 't' && !(s[10] == ' ' && (flags & KAHU_TIME_SPACE)))
		return -1;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    se < 0 || se > 60)
		return -1;
	if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int64_t off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && !(flags & KAHU_TIME_UTC)) {
		int oh = digits(p + 1, 2);
		int om = oh < 0 || p[3] != ':' ? -1 : digits(p + 4, 2);
		if (om < 0 || oh > 23 || om > 59)
			return -1;
		off = (*p == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (se == 60 ? 59 : se) - off;
	return 0;
}

int kahu_time_format(int64_t t, char out[KAHU_TIME_LEN + 1])
{
	struct tm tm;
	time_t tt = (time_t)t;
	out[0] = '\0';
	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999 ||
	    strftime(out, KAHU_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != KAHU_TIME_LEN) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

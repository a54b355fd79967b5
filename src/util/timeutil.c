#include "util/timeutil.h"
#include "util/err.h"

#include <ctype.h>
#include <stdio.h>

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
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

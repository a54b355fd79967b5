/* kahu — time zones from TZif files (see tzif.h; RFC 8536). */
#include "util/tzif.h"
#include "util/err.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZIF_MAX_FILE (1u << 20)   /* real files are under 4 KiB */
#define TZIF_MAX_TYPES 256         /* a transition's type is one byte */
#define OFF_MIN (-89999)           /* RFC 8536 3.2: -24:59:59 */
#define OFF_MAX 93599              /* +25:59:59 */
#define DAY 86400
#define TZIF_T_MAX ((int64_t)1 << 52) /* instants beyond are read as this one (no overflow) */

/* A day of the POSIX TZ string's rule: Jn, n or Mm.w.d, and the local time of day. */
struct rule_date {
	char kind;                 /* 'J', 'N', 'M' */
	int n, m, w, d;
	int32_t time;              /* seconds after local midnight, -167h..167h */
};

struct tzif {
	char *name;
	size_t ntrans;
	int64_t *trans;            /* ascending */
	unsigned char *idx;        /* type of each transition */
	size_t ntypes;
	int32_t *utoff;            /* per type */
	/* the footer: the offsets after the last transition */
	int has_rule, has_dst;
	int32_t std_off, dst_off;  /* seconds east */
	struct rule_date start, end;
	/* every distinct offset the zone can have: the candidates of tzif_resolve */
	size_t noffs;
	int32_t offs[TZIF_MAX_TYPES + 2];
	int32_t off_min, off_max;
};

/* ---- the calendar (days since 1970-01-01, proleptic Gregorian) */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t tz_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Years counted from March, in 400-year eras of 146097 days. */
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;                                 /* 0..399 */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* 0..146096 */
	return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	days += 719468;
	int64_t era = floor_div(days, 146097);
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

unsigned tz_weekday(int64_t days)
{
	int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
	return (unsigned)(w < 0 ? w + 7 : w);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned tz_days_in_month(int64_t y, unsigned m)
{
	static const unsigned char dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m < 1 || m > 12)
		return 0;
	return dm[m - 1] + (m == 2 && is_leap(y));
}

/* ---- the footer's rule */

static int64_t rule_day(const struct rule_date *r, int64_t y)
{
	int64_t jan1 = tz_days_from_civil(y, 1, 1);
	switch (r->kind) {
	case 'J':
		return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
	case 'N':
		return jan1 + r->n;
	default: {
		int64_t first = tz_days_from_civil(y, (unsigned)r->m, 1);
		int64_t day = first + (r->d - (int)tz_weekday(first) + 7) % 7 + 7 * (r->w - 1);
		int64_t end = first + tz_days_in_month(y, (unsigned)r->m);
		while (day >= end)
			day -= 7;
		return day;
	}
	}
}

static int32_t rule_offset(const struct tzif *z, int64_t t)
{
	if (!z->has_dst)
		return z->std_off;
	int64_t y;
	unsigned m, d;
	tz_civil_from_days(floor_div(t + z->std_off, DAY), &y, &m, &d);
	/* Daylight time starts at a local standard time and ends at a local daylight time. */
	int64_t s = rule_day(&z->start, y) * DAY + z->start.time - z->std_off;
	int64_t e = rule_day(&z->end, y) * DAY + z->end.time - z->dst_off;
	int dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
	return dst ? z->dst_off : z->std_off;
}

int32_t tzif_offset(const struct tzif *z, int64_t t)
{
	if (t > TZIF_T_MAX)
		t = TZIF_T_MAX;
	if (t < -TZIF_T_MAX)
		t = -TZIF_T_MAX;
	if (z->ntrans == 0 || t >= z->trans[z->ntrans - 1]) {
		if (z->has_rule)
			return rule_offset(z, t);
		if (z->ntrans == 0)
			return z->utoff[0];
	}
	if (t < z->trans[0])
		return z->utoff[0];
	size_t lo = 0, hi = z->ntrans; /* trans[lo] <= t < trans[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->utoff[z->idx[lo]];
}

int64_t tzif_local(const struct tzif *z, int64_t t)
{
	return t + tzif_offset(z, t);
}

int tzif_resolve(const struct tzif *z, int64_t local, int64_t *first)
{
	if (local > TZIF_T_MAX)
		local = TZIF_T_MAX;
	if (local < -TZIF_T_MAX)
		local = -TZIF_T_MAX;
	int n = 0;
	int64_t best = 0;
	for (size_t i = 0; i < z->noffs; i++) {
		int64_t t = local - z->offs[i];
		if (tzif_offset(z, t) != z->offs[i])
			continue;
		if (n == 0 || t < best)
			best = t;
		if (n < 2)
			n++;
	}
	if (n) {
		*first = best;
		return n;
	}
	/* A gap: the clock jumps over `local` at some instant in [local - max, local - min];
	 * find where, as the first t whose local time is past it. */
	int64_t lo = local - z->off_max, hi = local - z->off_min;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (tzif_local(z, mid) > local)
			hi = mid;
		else
			lo = mid;
	}
	*first = hi;
	return 0;
}

/* ---- parsing */

struct tzif_parse_state {
	const char *name;
	const unsigned char *p, *end;
};

static int bad(const struct tzif_parse_state *st, const char *what)
{
	return kahu_error_set(KAHU_EDATA, "time zone %s: not a valid TZif file: %s", st->name, what);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* The header at st->p.  `check`: validate the counts (not for the version 1 header of
 * a version 2+ file, whose data readers skip: RFC 8536 section 4). */
static int read_header(struct tzif_parse_state *st, struct header *h, int check)
{
	if (st->end - st->p < 44)
		return bad(st, "shorter than its header");
	if (memcmp(st->p, "TZif", 4) != 0)
		return bad(st, "no TZif magic");
	h->version = (char)st->p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '4'))
		return bad(st, "unknown version");
	const unsigned char *c = st->p + 20;
	h->isutcnt = be32(c);
	h->isstdcnt = be32(c + 4);
	h->leapcnt = be32(c + 8);
	h->timecnt = be32(c + 12);
	h->typecnt = be32(c + 16);
	h->charcnt = be32(c + 20);
	st->p += 44;
	if (!check)
		return 0;
	if (h->typecnt == 0 || h->typecnt > TZIF_MAX_TYPES)
		return bad(st, "no local time types, or more than 256");
	if (h->charcnt == 0)
		return bad(st, "no time zone designations");
	if ((h->isutcnt && h->isutcnt != h->typecnt) || (h->isstdcnt && h->isstdcnt != h->typecnt))
		return bad(st, "UT/local or standard/wall indicators do not match the types");
	if (h->leapcnt)
		return kahu_error_set(KAHU_EDATA, "time zone %s has leap-second records (a right/ zone): "
				      "not supported, use the zone of the same name without right/", st->name);
	return 0;
}

static uint64_t block_size(const struct header *h, int wide)
{
	uint64_t tsz = wide ? 8 : 4;
	return (uint64_t)h->timecnt * (tsz + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (tsz + 4) + h->isstdcnt + h->isutcnt;
}

static int read_block(struct tzif_parse_state *st, const struct header *h, int wide, struct tzif *z)
{
	if (block_size(h, wide) > (uint64_t)(st->end - st->p))
		return bad(st, "truncated data block");
	size_t tsz = wide ? 8 : 4;
	const unsigned char *times = st->p, *idx = times + (size_t)h->timecnt * tsz;
	const unsigned char *types = idx + h->timecnt;
	const unsigned char *chars = types + (size_t)h->typecnt * 6;
	const unsigned char *after = chars + h->charcnt;
	const unsigned char *isstd = after, *isut = after + h->isstdcnt;
	for (size_t i = 0; i < h->typecnt; i++) {
		unsigned s = h->isstdcnt ? isstd[i] : 0, u = h->isutcnt ? isut[i] : 0;
		if (s > 1 || u > 1 || (u && !s))
			return bad(st, "bad standard/wall or UT/local indicator");
	}
	z->ntrans = h->timecnt;
	z->trans = xcalloc(z->ntrans + 1, sizeof *z->trans);
	z->idx = xcalloc(z->ntrans + 1, 1);
	for (size_t i = 0; i < z->ntrans; i++) {
		z->trans[i] = wide ? be64(times + 8 * i) : (int64_t)(int32_t)be32(times + 4 * i);
		if (i && z->trans[i] <= z->trans[i - 1])
			return bad(st, "transition times not in ascending order");
		if (idx[i] >= h->typecnt)
			return bad(st, "a transition names a local time type that does not exist");
		z->idx[i] = idx[i];
	}
	z->ntypes = h->typecnt;
	z->utoff = xcalloc(z->ntypes, sizeof *z->utoff);
	for (size_t i = 0; i < z->ntypes; i++) {
		const unsigned char *tt = types + 6 * i;
		int32_t off = (int32_t)be32(tt);
		if (off < OFF_MIN || off > OFF_MAX)
			return bad(st, "a UT offset beyond -24:59:59..+25:59:59");
		if (tt[4] > 1)
			return bad(st, "a DST indicator other than 0 or 1");
		if (tt[5] >= h->charcnt)
			return bad(st, "a designation index beyond the designations");
		z->utoff[i] = off;
	}
	if (chars[h->charcnt - 1] != '\0')
		return bad(st, "designations not NUL-terminated");
	st->p += block_size(h, wide);
	return 0;
}

/* POSIX TZ string pieces.  Each returns 0 and advances *s, or -1. */
static int tz_name(const char **s)
{
	const char *p = *s;
	if (*p == '<') {
		p++;
		const char *b = p;
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		       *p == '+' || *p == '-')
			p++;
		if (*p != '>' || p - b < 3)
			return -1;
		*s = p + 1;
		return 0;
	}
	const char *b = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	if (p - b < 3)
		return -1;
	*s = p;
	return 0;
}

static int tz_num(const char **s, int max, int *out)
{
	const char *p = *s;
	int v = 0, n = 0;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		if (++n > 3 || v > max)
			return -1;
	}
	if (!n)
		return -1;
	*s = p;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hours up to max_h: seconds. */
static int tz_time(const char **s, int max_h, int32_t *out)
{
	const char *p = *s;
	int sign = 1, h, m = 0, sec = 0;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (tz_num(&p, max_h, &h) < 0)
		return -1;
	if (*p == ':') {
		p++;
		if (tz_num(&p, 59, &m) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if (tz_num(&p, 59, &sec) < 0)
				return -1;
		}
	}
	*s = p;
	*out = sign * (h * 3600 + m * 60 + sec);
	return 0;
}

static int tz_date(const char **s, struct rule_date *r)
{
	const char *p = *s;
	memset(r, 0, sizeof *r);
	if (*p == 'J') {
		p++;
		r->kind = 'J';
		if (tz_num(&p, 365, &r->n) < 0 || r->n < 1)
			return -1;
	} else if (*p == 'M') {
		p++;
		r->kind = 'M';
		if (tz_num(&p, 12, &r->m) < 0 || r->m < 1 || *p++ != '.' || tz_num(&p, 5, &r->w) < 0 ||
		    r->w < 1 || *p++ != '.' || tz_num(&p, 6, &r->d) < 0)
			return -1;
	} else {
		r->kind = 'N';
		if (tz_num(&p, 365, &r->n) < 0)
			return -1;
	}
	r->time = 2 * 3600;
	if (*p == '/') {
		p++;
		if (tz_time(&p, 167, &r->time) < 0)
			return -1;
	}
	*s = p;
	return 0;
}

static int parse_footer(struct tzif_parse_state *st, struct tzif *z)
{
	if (st->p >= st->end || *st->p != '\n')
		return bad(st, "no footer after the version 2 data");
	const unsigned char *b = st->p + 1, *nl = memchr(b, '\n', (size_t)(st->end - b));
	if (!nl)
		return bad(st, "footer not ended by a newline");
	if (nl + 1 != st->end)
		return bad(st, "data after the footer");
	if (nl == b)
		return 0; /* empty: no rule after the table */
	size_t len = (size_t)(nl - b);
	char *s = xmalloc(len + 1);
	memcpy(s, b, len);
	s[len] = '\0';
	const char *p = s;
	int32_t off;
	int rc = 0;
	if (strlen(s) != len || tz_name(&p) < 0 || tz_time(&p, 24, &off) < 0) {
		rc = bad(st, "malformed POSIX TZ string in the footer");
		goto out;
	}
	z->std_off = -off; /* POSIX offsets count west */
	z->dst_off = z->std_off + 3600;
	z->has_rule = 1;
	if (*p) {
		if (tz_name(&p) < 0) {
			rc = bad(st, "malformed daylight time name in the footer");
			goto out;
		}
		if (*p && *p != ',') {
			if (tz_time(&p, 24, &off) < 0) {
				rc = bad(st, "malformed daylight time offset in the footer");
				goto out;
			}
			z->dst_off = -off;
		}
		if (*p++ != ',' || tz_date(&p, &z->start) < 0 || *p++ != ',' || tz_date(&p, &z->end) < 0 || *p) {
			rc = bad(st, "malformed daylight time rule in the footer");
			goto out;
		}
		z->has_dst = 1;
	}
	if (z->std_off < OFF_MIN || z->std_off > OFF_MAX || z->dst_off < OFF_MIN || z->dst_off > OFF_MAX)
		rc = bad(st, "a footer offset beyond -24:59:59..+25:59:59");
out:
	free(s);
	return rc;
}

static void add_off(struct tzif *z, int32_t o)
{
	for (size_t i = 0; i < z->noffs; i++)
		if (z->offs[i] == o)
			return;
	z->offs[z->noffs++] = o;
	if (z->noffs == 1 || o < z->off_min)
		z->off_min = o;
	if (z->noffs == 1 || o > z->off_max)
		z->off_max = o;
}

int tzif_parse(const unsigned char *data, size_t len, const char *name, struct tzif **out)
{
	struct tzif_parse_state st = { name, data, data + len };
	struct tzif *z = xcalloc(1, sizeof *z);
	struct header h;
	int rc;
	*out = NULL;
	z->name = xstrdup(name);
	if ((rc = read_header(&st, &h, 0)) < 0)
		goto fail;
	if (h.version == 0) {
		st.p -= 44;
		if ((rc = read_header(&st, &h, 1)) < 0)
			goto fail;
		if ((rc = read_block(&st, &h, 0, z)) < 0)
			goto fail;
		if (st.p != st.end) {
			rc = bad(&st, "data after the version 1 data");
			goto fail;
		}
	} else {
		if (block_size(&h, 0) > (uint64_t)(st.end - st.p)) {
			rc = bad(&st, "truncated version 1 data block");
			goto fail;
		}
		st.p += block_size(&h, 0);
		if ((rc = read_header(&st, &h, 1)) < 0)
			goto fail;
		if (h.version == 0) {
			rc = bad(&st, "second header of version 1");
			goto fail;
		}
		if ((rc = read_block(&st, &h, 1, z)) < 0 || (rc = parse_footer(&st, z)) < 0)
			goto fail;
	}
	for (size_t i = 0; i < z->ntypes; i++)
		add_off(z, z->utoff[i]);
	if (z->has_rule) {
		add_off(z, z->std_off);
		add_off(z, z->dst_off);
	}
	*out = z;
	return 0;
fail:
	tzif_free(z);
	return rc;
}

static struct tzif *utc_zone(void)
{
	struct tzif *z = xcalloc(1, sizeof *z);
	z->name = xstrdup("UTC");
	z->ntypes = 1;
	z->utoff = xcalloc(1, sizeof *z->utoff);
	add_off(z, 0);
	return z;
}

static int name_ok(const char *name)
{
	if (strlen(name) > 255 || name[0] == '/' || name[0] == '\0')
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '+' || *p == '-' || *p == '/'))
			return 0;
	/* No empty, "." or ".." component. */
	for (const char *c = name; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
	}
	return 1;
}

int tzif_load(const char *name, struct tzif **out)
{
	*out = NULL;
	if (!name || !*name || strcmp(name, "UTC") == 0) {
		*out = utc_zone();
		return 0;
	}
	if (!name_ok(name))
		return kahu_error_set(KAHU_EUSAGE, "time zone \"%s\" is not a zone name (like Europe/Berlin: "
				      "letters, digits and . _ + - /, no .. component)", name);
	const char *dir = getenv("TZDIR");
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	size_t plen = strlen(dir) + strlen(name) + 2;
	char *path = xmalloc(plen);
	snprintf(path, plen, "%s/%s", dir, name);
	int rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat sb;
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = kahu_error_set(KAHU_ENOTFOUND, "unknown time zone \"%s\" (no %s)", name, path);
		else
			rc = kahu_error_set(KAHU_EIO, "time zone %s: cannot open %s: %s", name, path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		rc = kahu_error_set(KAHU_ENOTFOUND, "unknown time zone \"%s\" (%s is not a zone file)", name, path);
		goto out;
	}
	if (sb.st_size > TZIF_MAX_FILE) {
		rc = kahu_error_set(KAHU_EDATA, "time zone %s: %s is larger than %u bytes", name, path, TZIF_MAX_FILE);
		goto out;
	}
	size_t cap = (size_t)sb.st_size + 1, len = 0;
	unsigned char *buf = xmalloc(cap);
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = kahu_error_set(KAHU_EIO, "time zone %s: reading %s: %s", name, path, strerror(errno));
			free(buf);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap) {
			free(buf);
			rc = kahu_error_set(KAHU_EDATA, "time zone %s: %s changed while it was read", name, path);
			goto out;
		}
	}
	rc = tzif_parse(buf, len, name, out);
	free(buf);
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

void tzif_free(struct tzif *z)
{
	if (!z)
		return;
	free(z->name);
	free(z->trans);
	free(z->idx);
	free(z->utoff);
	free(z);
}

const char *tzif_name(const struct tzif *z)
{
	return z->name;
}

#!/usr/bin/env python3
"""Writes tests/unit/check_cron_cases.h: the expected firings of cron schedules, computed
by an independent reference: a brute-force matcher written here (every local minute
checked against the fields) and Python's zoneinfo for local time, reading the same TZif
files the unit test reads (tests/unit/data/zoneinfo).  Run once, output committed:

    python3 tests/unit/data/cron/mkcases.py > tests/unit/check_cron_cases.h

The rules it encodes are cron.h's: Vixie's day-of-month/day-of-week rule; a local time
in a spring-forward gap fires once when the clock jumps past it; a repeated local time
fires at its first occurrence only; none within 5 years (wall clock + 5*365+2 days) is
"none"."""
import os
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
ZDIR = os.path.join(HERE, "..", "zoneinfo")


def zone(name):
    if name == "UTC":
        return timezone.utc
    with open(os.path.join(ZDIR, name), "rb") as f:
        return ZoneInfo.from_file(f, key=name)


MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()
AT = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
      "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
      "@hourly": "0 * * * *"}


def value(s, lo, names):
    if s.isdigit():
        return int(s)
    return names.index(s.lower()) + lo


def field(text, lo, hi, names=None):
    out = set()
    top = 6 if hi == 7 else hi
    for item in text.split(","):
        rng, _, step = item.partition("/")
        step = int(step) if step else 1
        if rng == "*":
            a, b = lo, top
        elif "-" in rng:
            a, b = (value(x, lo, names) for x in rng.split("-"))
        else:
            a = value(rng, lo, names)
            b = top if step != 1 or "/" in item else a
        out.update(0 if (hi == 7 and v == 7) else v for v in range(a, b + 1, step))
    return out


class Cron:
    def __init__(self, expr):
        expr = AT.get(expr.strip().lower(), expr)
        f = expr.split()
        self.mi = field(f[0], 0, 59)
        self.h = field(f[1], 0, 23)
        self.dom = field(f[2], 1, 31)
        self.mon = field(f[3], 1, 12, MONTHS)
        self.dow = field(f[4], 0, 7, DAYS)
        self.star = f[2][0] == "*" or f[4][0] == "*"

    def day(self, d):
        a = d.day in self.dom
        b = (d.weekday() + 1) % 7 in self.dow
        return d.month in self.mon and ((a and b) if self.star else (a or b))


def local(u, z):
    return datetime.fromtimestamp(u, z).replace(tzinfo=None)


def resolve(w, z):
    found = []
    for fold in (0, 1):
        u = int(w.replace(tzinfo=z, fold=fold).timestamp())
        if local(u, z) == w:
            found.append(u)
    if found:
        return min(found)
    # a gap: the first instant whose local time is past w, minute by minute
    u = int(w.replace(tzinfo=timezone.utc).timestamp()) - 30 * 3600
    while local(u, z) <= w:
        u += 60
    return u


def next_after(c, z, after):
    wall = local(after, z)
    w = wall.replace(second=0) + timedelta(minutes=1)
    limit = wall + timedelta(days=5 * 365 + 2)
    while w <= limit:
        if not c.day(w):
            w = (w + timedelta(days=1)).replace(hour=0, minute=0)
            continue
        if w.hour in c.h and w.minute in c.mi:
            u = resolve(w, z)
            if u > after:
                return u
        w += timedelta(minutes=1)
    return None


def iso(u):
    return datetime.fromtimestamp(u, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def transitions(z, year):
    """The instants in `year` where the zone's offset changes (to the minute)."""
    out = []
    u = parse_iso("%d-01-01T00:00:00Z" % year)
    end = parse_iso("%d-01-01T00:00:00Z" % (year + 1))
    off = lambda t: datetime.fromtimestamp(t, z).utcoffset()
    while u < end:
        if off(u + 86400) != off(u):
            lo, hi = u, u + 86400
            while hi - lo > 60:
                mid = (lo + hi) // 120 * 60
                if off(mid) == off(lo):
                    lo = mid
                else:
                    hi = mid
            out.append((hi, off(hi) > off(lo)))
        u += 86400
    return out


cases = []  # (zone, expr, after, [expected...]) ; [] means none


def add(zname, expr, after, count):
    z = zone(zname)
    c = Cron(expr)
    t = parse_iso(after) if isinstance(after, str) else after
    got = []
    for _ in range(count):
        t = next_after(c, z, t)
        if t is None:
            break
        got.append(t)
    cases.append((zname, expr, after if isinstance(after, str) else iso(after), got))


# UTC: fields, ranges, steps, lists, names, @ forms, the day rule, leap years, month ends
for expr, after, n in [
    ("* * * * *", "2026-01-01T00:00:30Z", 3),
    ("5 4 * * *", "2026-01-01T04:05:00Z", 3),
    ("0-10/5 8-9 * * *", "2026-01-01T00:00:00Z", 7),
    ("15,45 */6 * * *", "2026-01-01T00:00:00Z", 9),
    ("*/7 * * * *", "2026-01-01T00:50:00Z", 3),
    ("0 12 * JAN,jul *", "2026-01-31T12:00:00Z", 3),
    ("0 9 * * MON-FRI", "2026-01-02T09:00:00Z", 6),
    ("0 9 * * mon-fri", "2026-01-02T09:00:00Z", 1),
    ("0 0 * * 7", "2026-01-01T00:00:00Z", 2),
    ("0 0 * * 0", "2026-01-01T00:00:00Z", 2),
    ("0 0 * * SUN", "2026-01-01T00:00:00Z", 2),
    ("0 0 * * 5-7", "2026-01-01T00:00:00Z", 4),
    ("0 0 13 * 5", "2026-01-01T00:00:00Z", 8),
    ("0 0 1-7 * 0", "2026-02-01T00:00:00Z", 10),
    ("0 0 */10 * 1", "2026-01-01T00:00:00Z", 4),
    ("0 0 1 * */2", "2026-01-01T00:00:00Z", 3),
    ("30 5 1/10 * *", "2026-01-01T00:00:00Z", 5),
    ("0 0 29 2 *", "2026-01-01T00:00:00Z", 3),
    ("0 0 29 2 *", "2096-03-01T00:00:00Z", 1),
    ("0 0 29 2 *", "2099-03-01T00:00:00Z", 1),
    ("0 0 31 * *", "2026-01-01T00:00:00Z", 7),
    ("0 0 28-31 2 *", "2027-02-27T00:00:00Z", 3),
    ("0 0 30 2 *", "2026-01-01T00:00:00Z", 1),
    ("0 0 31 4,6,9,11 *", "2026-01-01T00:00:00Z", 1),
    ("59 23 31 12 *", "2026-06-01T00:00:00Z", 2),
    ("0 0 1 1 *", "2026-12-31T23:59:59Z", 1),
    ("@yearly", "2026-01-01T00:00:00Z", 2),
    ("@annually", "2026-01-01T00:00:00Z", 1),
    ("@monthly", "2026-01-31T00:00:00Z", 2),
    ("@weekly", "2026-01-01T00:00:00Z", 2),
    ("@daily", "2026-01-01T00:00:00Z", 2),
    ("@midnight", "2026-01-01T00:00:00Z", 1),
    ("@hourly", "2026-01-01T00:00:00Z", 2),
    ("@DAILY", "2026-01-01T00:00:00Z", 1),
    ("0 0 * * *", "1969-12-31T12:00:00Z", 2),
]:
    add("UTC", expr, after, n)
add("Asia/Kolkata", "0 0 * * *", "2026-01-01T00:00:00Z", 2)
add("Asia/Kolkata", "30 * * * *", "2026-01-01T00:00:00Z", 2)

# The DST days of three zones (opposite hemispheres), in a year inside the files'
# transition tables (2026) and one past them (2041: the footer's rule).
for zname in ("Europe/Berlin", "America/New_York", "Australia/Sydney"):
    z = zone(zname)
    for year in (2026, 2041):
        for when, spring in transitions(z, year):
            before = when - 2 * 3600
            add(zname, "*/15 * * * *", before, 14)
            add(zname, "0 * * * *", before, 5)
            add(zname, "* * * * *", when - 120, 4)
            for expr in ("30 2 * * *", "30 1 * * *", "0 3 * * *"):
                add(zname, expr, when - 86400, 3)
            add(zname, "0,30 2,3 * * *", when - 86400, 8)
            if not spring:
                # inside the repeated hour, on its second pass
                add(zname, "*/15 * * * *", when + 20 * 60, 4)
                add(zname, "30 2 * * *", when + 20 * 60, 1)
                add(zname, "30 1 * * *", when + 20 * 60, 1)

w = sys.stdout.write
w("/* Generated by tests/unit/data/cron/mkcases.py (a brute-force reference with Python's\n"
  " * zoneinfo over tests/unit/data/zoneinfo); do not edit.  Each case: zone, schedule,\n"
  " * the instant after which to look, the firings expected in turn (none: no firing\n"
  " * within 5 years, KAHU_ENOTFOUND). */\n")
w("static const struct next_case next_cases[] = {\n")
for zname, expr, after, got in cases:
    exp = ", ".join('"%s"' % iso(u) for u in got)
    w('\t{ "%s", "%s", "%s", { %s%sNULL } },\n' % (zname, expr, after, exp, ", " if exp else ""))
w("};\n")

noinst_LIBRARIES += libkahu_util.a
libkahu_util_a_SOURCES = \
	src/util/err.c src/util/err.h \
	src/util/mem.c src/util/mem.h \
	src/util/buf.c src/util/buf.h \
	src/util/strv.c src/util/strv.h \
	src/util/log.c src/util/log.h \
	src/util/strset.c src/util/strset.h \
	src/util/timeutil.c src/util/timeutil.h \
	src/util/cancel.c src/util/cancel.h \
	src/util/backoff.c src/util/backoff.h \
	src/util/pool.c src/util/pool.h \
	src/util/writeq.c src/util/writeq.h \
	src/util/hash.c src/util/hash.h \
	src/util/xxh64.c src/util/xxh64.h \
	src/util/fileio.c src/util/fileio.h \
	src/util/tzif.c src/util/tzif.h \
	src/util/cron.c src/util/cron.h

check_PROGRAMS += tests/unit/check_util
UNIT_TESTS += tests/unit/check_util
tests_unit_check_util_SOURCES = tests/unit/check_util.c tests/unit/check_main.h
tests_unit_check_util_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_util_LDADD = libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_substrate
UNIT_TESTS += tests/unit/check_substrate
tests_unit_check_substrate_SOURCES = tests/unit/check_substrate.c tests/unit/check_main.h
tests_unit_check_substrate_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_substrate_LDADD = libkahu_util.a $(UNIT_LIBS)

# Cron schedules and time zones (TZif files): tests/unit/data/zoneinfo holds the zones
# they use, tests/unit/data/cron/mkcases.py made check_cron_cases.h.
check_PROGRAMS += tests/unit/check_cron
UNIT_TESTS += tests/unit/check_cron
tests_unit_check_cron_SOURCES = tests/unit/check_cron.c tests/unit/check_cron_cases.h tests/unit/check_main.h
tests_unit_check_cron_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_cron_LDADD = libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_tzif
UNIT_TESTS += tests/unit/check_tzif
tests_unit_check_tzif_SOURCES = tests/unit/check_tzif.c tests/unit/check_main.h
tests_unit_check_tzif_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_tzif_LDADD = libkahu_util.a $(UNIT_LIBS)

# The archive stages: push streams (stream.h), zstd, the .kenc envelope, keys.
# The tar writer/reader and the manifest join this library later.
noinst_LIBRARIES += libkahu_archive.a
libkahu_archive_a_SOURCES = \
	src/archive/stream.h \
	src/archive/key.c src/archive/key.h \
	src/archive/envelope.c src/archive/envelope.h \
	src/archive/seal.c src/archive/seal.h src/archive/seal_async.c \
	src/archive/zstream.c src/archive/zstream.h

ARCHIVE_TEST_LIBS = libkahu_archive.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_key
UNIT_TESTS += tests/unit/check_key
tests_unit_check_key_SOURCES = tests/unit/check_key.c tests/unit/check_main.h
tests_unit_check_key_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_key_LDADD = $(ARCHIVE_TEST_LIBS)

check_PROGRAMS += tests/unit/check_envelope
UNIT_TESTS += tests/unit/check_envelope
tests_unit_check_envelope_SOURCES = tests/unit/check_envelope.c tests/unit/check_main.h
tests_unit_check_envelope_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_envelope_LDADD = $(ARCHIVE_TEST_LIBS)

check_PROGRAMS += tests/unit/check_zstream
UNIT_TESTS += tests/unit/check_zstream
tests_unit_check_zstream_SOURCES = tests/unit/check_zstream.c tests/unit/check_main.h
tests_unit_check_zstream_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_zstream_LDADD = $(ARCHIVE_TEST_LIBS)

check_PROGRAMS += tests/unit/check_seal
UNIT_TESTS += tests/unit/check_seal
tests_unit_check_seal_SOURCES = tests/unit/check_seal.c tests/unit/check_main.h
tests_unit_check_seal_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_seal_LDADD = $(ARCHIVE_TEST_LIBS)

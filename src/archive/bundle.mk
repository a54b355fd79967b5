# The tar bundle (tar -> zstd -> envelope: member names, the writer, the reader,
# extraction), the backup manifest and authenticated records (a restore's summary):
# appended to libkahu_archive.a (declared in archive.mk, included before this fragment).
libkahu_archive_a_SOURCES += \
	src/archive/bundle.h src/archive/bundle_int.h \
	src/archive/bundle_name.c src/archive/bundle.c \
	src/archive/bundle_read.c src/archive/bundle_extract.c \
	src/archive/manifest.c src/archive/manifest.h \
	src/archive/record.c src/archive/record.h \
	src/archive/velero.c src/archive/velero.h

check_PROGRAMS += tests/unit/check_bundle
UNIT_TESTS += tests/unit/check_bundle
tests_unit_check_bundle_SOURCES = tests/unit/check_bundle.c tests/unit/check_main.h
tests_unit_check_bundle_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_bundle_LDADD = libkahu_archive.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_manifest
UNIT_TESTS += tests/unit/check_manifest
tests_unit_check_manifest_SOURCES = tests/unit/check_manifest.c tests/unit/check_main.h
tests_unit_check_manifest_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_manifest_LDADD = libkahu_archive.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_record
UNIT_TESTS += tests/unit/check_record
tests_unit_check_record_SOURCES = tests/unit/check_record.c tests/unit/check_main.h
tests_unit_check_record_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_record_LDADD = libkahu_archive.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_velero
UNIT_TESTS += tests/unit/check_velero
tests_unit_check_velero_SOURCES = tests/unit/check_velero.c tests/unit/check_main.h
tests_unit_check_velero_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_velero_LDADD = libkahu_archive.a libkahu_util.a $(UNIT_LIBS)

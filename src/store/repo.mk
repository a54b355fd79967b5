# Repository layer (config, locations, keys, catalog): appended to libkahu_store.a.
# It uses the archive module's keys and manifests (archive/key.h, archive/manifest.h):
# link libkahu_archive.a after it.
libkahu_store_a_SOURCES += \
	src/store/config.c src/store/config.h \
	src/store/repo.c src/store/repo.h \
	src/store/volloc.c src/store/volloc.h

REPO_TEST_LIBS = libkahu_store.a libkahu_archive.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_config
UNIT_TESTS += tests/unit/check_config
tests_unit_check_config_SOURCES = tests/unit/check_config.c tests/unit/check_main.h
tests_unit_check_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_config_LDADD = $(REPO_TEST_LIBS)

check_PROGRAMS += tests/unit/check_repo
UNIT_TESTS += tests/unit/check_repo
tests_unit_check_repo_SOURCES = tests/unit/check_repo.c tests/unit/check_main.h
tests_unit_check_repo_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_repo_LDADD = $(REPO_TEST_LIBS)

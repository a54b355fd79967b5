# store: the storage layer (providers, locks) and the public provider ABI.
noinst_LIBRARIES += libkahu_store.a
# The fs provider is built as the loadable module kahu-fs.so (entry kahu_backend_init)
# below, which the loader (loader.c) finds like any other plugin; the same source is
# also linked in (entry kahu_backend_fs_init) as the last resort (docs/BACKEND-ABI.md).
libkahu_store_a_SOURCES = \
	src/store/store.c src/store/store.h \
	src/store/loader.c src/store/loader.h \
	src/store/layout.c src/store/layout.h \
	src/store/lock.c src/store/lock.h \
	backends/fs/fs.c include/kahu/backend.h
# The build tree's module directories, searched only by the kahu of this build tree.
libkahu_store_a_CPPFLAGS = $(AM_CPPFLAGS) -DKAHU_BACKEND_STATIC \
	-DKAHU_BUILD_DIR='"$(abs_top_builddir)"' \
	-DKAHU_BUILD_MODULE_DIRS='"$(abs_top_builddir)/backends/fs/.libs:$(abs_top_builddir)/backends/s3/.libs:$(abs_top_builddir)/backends/sftp/.libs"'

kahuinclude_HEADERS += include/kahu/backend.h

backend_LTLIBRARIES += backends/fs/kahu-fs.la
backends_fs_kahu_fs_la_SOURCES = backends/fs/fs.c include/kahu/backend.h
# Only the public header: a provider sees nothing of kahu's internals.
backends_fs_kahu_fs_la_CPPFLAGS = -I$(top_srcdir)/include
backends_fs_kahu_fs_la_CFLAGS = $(WARN_CFLAGS) $(SAN_FLAGS) -fvisibility=hidden
backends_fs_kahu_fs_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^kahu_backend_init$$'

STORE_TEST_LIBS = libkahu_store.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_store
UNIT_TESTS += tests/unit/check_store
tests_unit_check_store_SOURCES = tests/unit/check_store.c tests/unit/check_main.h
tests_unit_check_store_CFLAGS = $(UNIT_CFLAGS) \
	-DKAHU_FS_MODULE='"$(abs_top_builddir)/backends/fs/.libs/kahu-fs.so"'
tests_unit_check_store_LDADD = $(STORE_TEST_LIBS)
EXTRA_tests_unit_check_store_DEPENDENCIES = backends/fs/kahu-fs.la

check_PROGRAMS += tests/unit/check_lock
UNIT_TESTS += tests/unit/check_lock
tests_unit_check_lock_SOURCES = tests/unit/check_lock.c tests/unit/check_main.h
tests_unit_check_lock_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_lock_LDADD = $(STORE_TEST_LIBS)

# The installed header on its own: strict C99, -pedantic, no config.h, no kahu paths.
check_PROGRAMS += tests/unit/check_backend_h
UNIT_TESTS += tests/unit/check_backend_h
tests_unit_check_backend_h_SOURCES = tests/unit/check_backend_h.c include/kahu/backend.h
tests_unit_check_backend_h_CPPFLAGS = -I$(top_srcdir)/include
tests_unit_check_backend_h_CFLAGS = $(WARN_CFLAGS) -std=c99 -pedantic-errors
tests_unit_check_backend_h_LDADD =

# ... and from C++ (compiled at test time when a C++ compiler is there).
UNIT_TESTS += tests/unit/backend_h_cxx.sh
EXTRA_DIST += tests/unit/backend_h_cxx.sh

# The loader's tests: small plugins built from tests/plugins/testplugin.c, one per
# variant, against the public header only (the flaky one also serves t-plugins.sh),
# and the example provider of examples/provider/.
TEST_PLUGIN_FLAGS = -module -avoid-version -shared -rpath /nowhere
TEST_PLUGIN_CPPFLAGS = -I$(top_srcdir)/include
check_LTLIBRARIES = tests/plugins/kahu-multi.la tests/plugins/kahu-badmajor.la \
	tests/plugins/kahu-nosym.la tests/plugins/kahu-short.la tests/plugins/kahu-kind.la \
	tests/plugins/kahu-flaky.la examples/provider/kahu-memory.la
check_LTLIBRARIES += tests/plugins/kahu-probe.la
tests_plugins_kahu_multi_la_SOURCES = tests/plugins/testplugin.c
tests_plugins_kahu_multi_la_CPPFLAGS = $(TEST_PLUGIN_CPPFLAGS) -DTP_MULTI
tests_plugins_kahu_multi_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
tests_plugins_kahu_badmajor_la_SOURCES = tests/plugins/testplugin.c
tests_plugins_kahu_badmajor_la_CPPFLAGS = $(TEST_PLUGIN_CPPFLAGS) -DTP_BADMAJOR
tests_plugins_kahu_badmajor_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
tests_plugins_kahu_nosym_la_SOURCES = tests/plugins/testplugin.c
tests_plugins_kahu_nosym_la_CPPFLAGS = $(TEST_PLUGIN_CPPFLAGS) -DTP_NOSYM
tests_plugins_kahu_nosym_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
tests_plugins_kahu_short_la_SOURCES = tests/plugins/testplugin.c
tests_plugins_kahu_short_la_CPPFLAGS = $(TEST_PLUGIN_CPPFLAGS) -DTP_SHORT
tests_plugins_kahu_short_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
tests_plugins_kahu_kind_la_SOURCES = tests/plugins/testplugin.c
tests_plugins_kahu_kind_la_CPPFLAGS = $(TEST_PLUGIN_CPPFLAGS) -DTP_KIND
tests_plugins_kahu_kind_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
tests_plugins_kahu_flaky_la_SOURCES = tests/plugins/testplugin.c
tests_plugins_kahu_flaky_la_CPPFLAGS = $(TEST_PLUGIN_CPPFLAGS) -DTP_FLAKY
tests_plugins_kahu_flaky_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
tests_plugins_kahu_probe_la_SOURCES = tests/plugins/probeplugin.c
tests_plugins_kahu_probe_la_CPPFLAGS = $(TEST_PLUGIN_CPPFLAGS)
tests_plugins_kahu_probe_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)
# Built as a third party would: the public header, nothing of kahu's (see its README).
examples_provider_kahu_memory_la_SOURCES = examples/provider/memory.c
examples_provider_kahu_memory_la_CPPFLAGS = $(TEST_PLUGIN_CPPFLAGS)
examples_provider_kahu_memory_la_CFLAGS = $(WARN_CFLAGS) $(SAN_FLAGS) -std=c99 -pedantic \
	-fvisibility=hidden
examples_provider_kahu_memory_la_LDFLAGS = $(TEST_PLUGIN_FLAGS)

check_PROGRAMS += tests/unit/check_loader
UNIT_TESTS += tests/unit/check_loader
tests_unit_check_loader_SOURCES = tests/unit/check_loader.c tests/unit/check_main.h
tests_unit_check_loader_CFLAGS = $(UNIT_CFLAGS) \
	-DTEST_PLUGIN_DIR='"$(abs_top_builddir)/tests/plugins/.libs"' \
	-DEXAMPLE_PLUGIN_DIR='"$(abs_top_builddir)/examples/provider/.libs"' \
	-DKAHU_FS_MODULE='"$(abs_top_builddir)/backends/fs/.libs/kahu-fs.so"'
tests_unit_check_loader_LDADD = $(STORE_TEST_LIBS)
EXTRA_tests_unit_check_loader_DEPENDENCIES = backends/fs/kahu-fs.la $(check_LTLIBRARIES)

check_PROGRAMS += tests/unit/check_layout
UNIT_TESTS += tests/unit/check_layout
tests_unit_check_layout_SOURCES = tests/unit/check_layout.c tests/unit/check_main.h
tests_unit_check_layout_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_layout_LDADD = $(STORE_TEST_LIBS)

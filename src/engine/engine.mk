# Engine: backup, restore, scope/selectors, ordering, volumes, snapshots, hooks.
# Keep the source list sorted; add each file with its header.
noinst_LIBRARIES += libkahu_engine.a
libkahu_engine_a_SOURCES = \
	src/engine/backup.c src/engine/backup.h \
	src/engine/bread.c src/engine/bread.h \
	src/engine/collect.c src/engine/collect.h \
	src/engine/labelsel.c src/engine/labelsel.h \
	src/engine/scope.c src/engine/scope.h

check_PROGRAMS += tests/unit/check_labelsel
UNIT_TESTS += tests/unit/check_labelsel
tests_unit_check_labelsel_SOURCES = tests/unit/check_labelsel.c tests/unit/check_main.h
tests_unit_check_labelsel_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_labelsel_LDADD = libkahu_engine.a libkahu_util.a $(UNIT_LIBS)

# check_scope resolves resource names through kube/discovery, which lives in
# libkahu_kubeclient.a with the HTTP client (hence kubeconfig too).
check_PROGRAMS += tests/unit/check_scope
UNIT_TESTS += tests/unit/check_scope
tests_unit_check_scope_SOURCES = tests/unit/check_scope.c tests/unit/check_main.h
tests_unit_check_scope_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_scope_LDADD = libkahu_engine.a libkahu_kubeclient.a libkahu_kubeconfig.a \
	libkahu_util.a $(UNIT_LIBS)

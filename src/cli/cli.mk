noinst_LIBRARIES += libkahu_cli.a
libkahu_cli_a_SOURCES = \
	src/cli/cmdtab.h src/cli/options.h \
	src/cli/parse.c \
	src/cli/help.c \
	src/cli/complete.c \
	src/cli/output.c src/cli/output.h \
	src/cli/progress.c src/cli/progress.h

check_PROGRAMS += tests/unit/check_cli
UNIT_TESTS += tests/unit/check_cli
tests_unit_check_cli_SOURCES = tests/unit/check_cli.c tests/unit/check_main.h
tests_unit_check_cli_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_cli_LDADD = libkahu_cli.a libkahu_util.a $(UNIT_LIBS)

# Fuzz targets (libFuzzer): one program per parser of outside input, each
# tests/fuzz/fuzz_<name>.c defining LLVMFuzzerTestOneInput, with its seed corpus in
# tests/fuzz/corpus/<name>/ and the inputs of fixed findings in
# tests/fuzz/regressions/<name>/.  Adding a target is one line here.
FUZZ_PROGS =
FUZZ_PROGS += tests/fuzz/fuzz_cron
FUZZ_PROGS += tests/fuzz/fuzz_discovery
FUZZ_PROGS += tests/fuzz/fuzz_envelope
FUZZ_PROGS += tests/fuzz/fuzz_execcred
FUZZ_PROGS += tests/fuzz/fuzz_extract
FUZZ_PROGS += tests/fuzz/fuzz_index
FUZZ_PROGS += tests/fuzz/fuzz_kubeconfig
FUZZ_PROGS += tests/fuzz/fuzz_labelsel
FUZZ_PROGS += tests/fuzz/fuzz_list
FUZZ_PROGS += tests/fuzz/fuzz_listscan
FUZZ_PROGS += tests/fuzz/fuzz_manifest
FUZZ_PROGS += tests/fuzz/fuzz_mover
FUZZ_PROGS += tests/fuzz/fuzz_objtext
FUZZ_PROGS += tests/fuzz/fuzz_plan
FUZZ_PROGS += tests/fuzz/fuzz_retryafter
FUZZ_PROGS += tests/fuzz/fuzz_status
FUZZ_PROGS += tests/fuzz/fuzz_transform
FUZZ_PROGS += tests/fuzz/fuzz_tzif
FUZZ_PROGS += tests/fuzz/fuzz_velero
FUZZ_PROGS += tests/fuzz/fuzz_ws
FUZZ_PROGS += tests/fuzz/fuzz_volindex
FUZZ_PROGS += tests/fuzz/fuzz_watch
FUZZ_PROGS += tests/fuzz/fuzz_vollisting

# Every build compiles them (on `make check`).  With --enable-fuzz (CC=clang) they link
# libFuzzer's main; otherwise a plain main (replay.c) that runs the files it is given
# once each.  Either way the replay test runs every seed and every regression input
# once, so a fixed crash stays fixed in the gcc, ASan and fuzz builds alike.
# Each target is built from fuzz_<name>.c with the defaults below: LDADD is the link
# line of programs that set no _LDADD of their own, which only these do.
check_PROGRAMS += $(FUZZ_PROGS)
if KAHU_FUZZ
FUZZ_MAIN =
else
check_LIBRARIES = tests/fuzz/libkahu_fuzz_replay.a
tests_fuzz_libkahu_fuzz_replay_a_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h
FUZZ_MAIN = tests/fuzz/libkahu_fuzz_replay.a
endif
LDADD = $(FUZZ_MAIN) $(KAHU_MODULE_LIBS) $(KAHU_LIBS) $(FUZZ_LDADD)

UNIT_TESTS += tests/fuzz/replay.sh
AM_TESTS_ENVIRONMENT += FUZZ_PROGS='$(FUZZ_PROGS)'; export FUZZ_PROGS;
EXTRA_DIST += tests/fuzz/fuzz.h tests/fuzz/replay.sh tests/fuzz/run.sh tests/fuzz/mkseeds.sh \
	tests/fuzz/corpus tests/fuzz/regressions tests/fuzz/dict

# make fuzz: every target (or those named in FUZZ_TARGETS, e.g. FUZZ_TARGETS='list
# envelope') for FUZZ_SECONDS each, in turn, on a copy of its seeds under fuzz/ in the
# build directory; findings are saved in fuzz/<name>/crashes/ and make it fail.
# make fuzz-smoke: the same for 30 s each (what CI runs).  TAP on stdout.
FUZZ_SECONDS = 600
FUZZ_TARGETS =
if KAHU_FUZZ
fuzz: $(FUZZ_PROGS)
	FUZZ_PROGS='$(FUZZ_PROGS)' FUZZ_TARGETS='$(FUZZ_TARGETS)' FUZZ_SECONDS='$(FUZZ_SECONDS)' \
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	$(SHELL) $(top_srcdir)/tests/fuzz/run.sh
else
fuzz:
	@echo "make fuzz needs a build directory configured with: CC=clang ../configure --enable-fuzz" >&2; exit 1
endif
fuzz-smoke:
	$(MAKE) $(AM_MAKEFLAGS) fuzz FUZZ_SECONDS=30
.PHONY: fuzz fuzz-smoke

# The s3 provider's signer against the published known answers (the shared SigV4 corpus).
check_PROGRAMS += tests/unit/check_sigv4
UNIT_TESTS += tests/unit/check_sigv4
tests_unit_check_sigv4_SOURCES = tests/unit/check_sigv4.c backends/s3/sigv4.c backends/s3/sigv4.h
tests_unit_check_sigv4_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_sigv4_LDADD = $(UNIT_LIBS)

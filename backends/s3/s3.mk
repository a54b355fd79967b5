# The s3 provider: the loadable module kahu-s3.so (S3 and S3-compatible stores over
# libcurl, SigV4 signed by sigv4.c with libsodium).  Like kahu-fs.so it is built
# against the public header only; it is not linked into kahu.
backend_LTLIBRARIES += backends/s3/kahu-s3.la
backends_s3_kahu_s3_la_SOURCES = backends/s3/s3.c backends/s3/sigv4.c backends/s3/sigv4.h \
	backends/s3/creds.c backends/s3/creds.h backends/s3/md5.c backends/s3/md5.h \
	include/kahu/backend.h
backends_s3_kahu_s3_la_CPPFLAGS = -I$(top_srcdir)/include
backends_s3_kahu_s3_la_CFLAGS = $(WARN_CFLAGS) $(SAN_FLAGS) $(AX_PTHREAD_FLAGS) -fvisibility=hidden \
	$(CURL_CFLAGS) $(SODIUM_CFLAGS)
backends_s3_kahu_s3_la_LIBADD = $(CURL_LIBS) $(SODIUM_LIBS)
backends_s3_kahu_s3_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^kahu_backend_init$$'
EXTRA_DIST += backends/s3/README.md tests/s3/package.json tests/s3/package-lock.json \
	tests/s3/s3rver.js tests/s3/s3client.js tests/s3/s3proxy.py tests/s3/s3.sh

# The signer against the published known answers (the shared SigV4 corpus).
check_PROGRAMS += tests/unit/check_sigv4
UNIT_TESTS += tests/unit/check_sigv4
tests_unit_check_sigv4_SOURCES = tests/unit/check_sigv4.c backends/s3/sigv4.c backends/s3/sigv4.h
tests_unit_check_sigv4_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_sigv4_LDADD = $(UNIT_LIBS)

# Its credentials file parsing and MD5.
check_PROGRAMS += tests/unit/check_s3
UNIT_TESTS += tests/unit/check_s3
tests_unit_check_s3_SOURCES = tests/unit/check_s3.c backends/s3/creds.c backends/s3/creds.h \
	backends/s3/md5.c backends/s3/md5.h
tests_unit_check_s3_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_s3_LDADD = $(UNIT_LIBS)

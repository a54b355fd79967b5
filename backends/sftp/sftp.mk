# The sftp provider: the loadable module kahu-sftp.so (a directory on an SSH server,
# over libcurl's SFTP; libsodium for host key fingerprints).  Like kahu-fs.so it is
# built against the public header only; it is not linked into kahu.
backend_LTLIBRARIES += backends/sftp/kahu-sftp.la
backends_sftp_kahu_sftp_la_SOURCES = backends/sftp/sftp.c include/kahu/backend.h
backends_sftp_kahu_sftp_la_CPPFLAGS = -I$(top_srcdir)/include
backends_sftp_kahu_sftp_la_CFLAGS = $(WARN_CFLAGS) $(SAN_FLAGS) -fvisibility=hidden \
	$(CURL_CFLAGS) $(SODIUM_CFLAGS)
backends_sftp_kahu_sftp_la_LIBADD = $(CURL_LIBS) $(SODIUM_LIBS)
backends_sftp_kahu_sftp_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^kahu_backend_init$$'
EXTRA_DIST += backends/sftp/README.md tests/sftp/sshd.sh tests/sftp/sftpfault.py

# A host that drives the module directly (tests/cli/t-sftp.sh): the public header only.
check_PROGRAMS += tests/sftp/sftpdrv
tests_sftp_sftpdrv_SOURCES = tests/sftp/sftpdrv.c include/kahu/backend.h
tests_sftp_sftpdrv_CPPFLAGS = -I$(top_srcdir)/include
tests_sftp_sftpdrv_CFLAGS = $(WARN_CFLAGS) $(SAN_FLAGS)
tests_sftp_sftpdrv_LDADD = $(LIBS)

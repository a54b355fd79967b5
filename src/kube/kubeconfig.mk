# kubeconfig loading (libyaml) and request credentials (tokens, certs, exec plugins).
noinst_LIBRARIES += libkahu_kubeconfig.a
libkahu_kubeconfig_a_SOURCES = \
	src/kube/kubeconfig.c src/kube/kubeconfig.h \
	src/kube/auth.c src/kube/auth.h

check_PROGRAMS += tests/unit/check_kubeconfig tests/unit/check_auth
UNIT_TESTS += tests/unit/check_kubeconfig tests/unit/check_auth
tests_unit_check_kubeconfig_SOURCES = tests/unit/check_kubeconfig.c tests/unit/check_main.h
tests_unit_check_kubeconfig_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_kubeconfig_LDADD = libkahu_kubeconfig.a libkahu_util.a $(UNIT_LIBS)
tests_unit_check_auth_SOURCES = tests/unit/check_auth.c tests/unit/check_main.h
tests_unit_check_auth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_auth_LDADD = libkahu_kubeconfig.a libkahu_util.a $(UNIT_LIBS)

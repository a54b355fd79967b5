# The Kubernetes HTTP client (libcurl), resource paths, discovery and the pager.
noinst_LIBRARIES += libkahu_kubeclient.a
libkahu_kubeclient_a_SOURCES = \
	src/kube/client.c src/kube/client.h \
	src/kube/transport.c src/kube/transport.h \
	src/kube/resource.c src/kube/resource.h \
	src/kube/discovery.c src/kube/discovery.h \
	src/kube/listscan.c src/kube/listscan.h \
	src/kube/objtext.c src/kube/objtext.h \
	src/kube/pager.c src/kube/pager.h \
	src/kube/ws.c src/kube/ws.h \
	src/kube/exec.c src/kube/exec.h \
	src/kube/watch.c src/kube/watch.h \
	src/kube/podlog.c src/kube/podlog.h

KUBECLIENT_TEST_LIBS = libkahu_kubeclient.a libkahu_kubeconfig.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_resource
UNIT_TESTS += tests/unit/check_resource
tests_unit_check_resource_SOURCES = tests/unit/check_resource.c tests/unit/check_main.h
tests_unit_check_resource_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_resource_LDADD = $(KUBECLIENT_TEST_LIBS)

check_PROGRAMS += tests/unit/check_client
UNIT_TESTS += tests/unit/check_client
tests_unit_check_client_SOURCES = tests/unit/check_client.c tests/unit/check_main.h
tests_unit_check_client_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_client_LDADD = $(KUBECLIENT_TEST_LIBS)

check_PROGRAMS += tests/unit/check_discovery
UNIT_TESTS += tests/unit/check_discovery
tests_unit_check_discovery_SOURCES = tests/unit/check_discovery.c tests/unit/check_main.h
tests_unit_check_discovery_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_discovery_LDADD = $(KUBECLIENT_TEST_LIBS)

check_PROGRAMS += tests/unit/check_listscan
UNIT_TESTS += tests/unit/check_listscan
tests_unit_check_listscan_SOURCES = tests/unit/check_listscan.c tests/unit/check_main.h
tests_unit_check_listscan_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_listscan_LDADD = $(KUBECLIENT_TEST_LIBS)

# The scanner's libFuzzer target and seeds (built by `make fuzz`).
EXTRA_DIST += tests/fuzz/fuzz_listscan.c tests/fuzz/corpus/listscan

check_PROGRAMS += tests/unit/check_objtext
UNIT_TESTS += tests/unit/check_objtext
tests_unit_check_objtext_SOURCES = tests/unit/check_objtext.c tests/unit/check_main.h
tests_unit_check_objtext_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_objtext_LDADD = $(KUBECLIENT_TEST_LIBS)

# The object reader's libFuzzer target and seeds.
EXTRA_DIST += tests/fuzz/fuzz_objtext.c tests/fuzz/corpus/objtext

check_PROGRAMS += tests/unit/check_ws
UNIT_TESTS += tests/unit/check_ws
tests_unit_check_ws_SOURCES = tests/unit/check_ws.c tests/unit/check_main.h
tests_unit_check_ws_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_ws_LDADD = $(KUBECLIENT_TEST_LIBS)

# The WebSocket frame decoder's libFuzzer target and seeds.
EXTRA_DIST += tests/fuzz/fuzz_ws.c tests/fuzz/corpus/ws

check_PROGRAMS += tests/unit/check_exec
UNIT_TESTS += tests/unit/check_exec
tests_unit_check_exec_SOURCES = tests/unit/check_exec.c tests/unit/check_main.h
tests_unit_check_exec_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_exec_LDADD = $(KUBECLIENT_TEST_LIBS)

check_PROGRAMS += tests/unit/check_watch
UNIT_TESTS += tests/unit/check_watch
tests_unit_check_watch_SOURCES = tests/unit/check_watch.c tests/unit/check_main.h
tests_unit_check_watch_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_watch_LDADD = $(KUBECLIENT_TEST_LIBS)

# The watch event stream parser's libFuzzer target and seeds.
EXTRA_DIST += tests/fuzz/fuzz_watch.c tests/fuzz/corpus/watch

# Engine: backup, restore, scope/selectors, ordering, volumes, snapshots, hooks.
# Keep the source list sorted; add each file with its header.
noinst_LIBRARIES += libkahu_engine.a
libkahu_engine_a_SOURCES = \
	src/engine/backup.c src/engine/backup.h \
	src/engine/bread.c src/engine/bread.h \
	src/engine/collect.c src/engine/collect.h \
	src/engine/debounce.c src/engine/debounce.h \
	src/engine/hook_record.c src/engine/hook_record.h \
	src/engine/hooks.c src/engine/hooks.h src/engine/hooks_backup.h src/engine/hooks_run.c \
	src/engine/install.c src/engine/install.h \
	src/engine/labelsel.c src/engine/labelsel.h \
	src/engine/mover.c src/engine/mover.h \
	src/engine/multi.c src/engine/multi.h \
	src/engine/parent.c src/engine/parent.h \
	src/engine/plan.c src/engine/plan.h \
	src/engine/restore.c src/engine/restore.h \
	src/engine/restore_hooks.c src/engine/restore_hooks.h \
	src/engine/restore_record.c src/engine/restore_record.h \
	src/engine/retention.c src/engine/retention.h \
	src/engine/run.c src/engine/run.h \
	src/engine/run_backup.c src/engine/run_backup.h \
	src/engine/run_restore.c src/engine/run_restore.h \
	src/engine/scope.c src/engine/scope.h \
	src/engine/velero_src.c src/engine/velero_src.h \
	src/engine/vol_index.c src/engine/vol_int.h \
	src/engine/vol_local.c src/engine/vol_local.h \
	src/engine/voldata.c src/engine/voldata.h

check_PROGRAMS += tests/unit/check_labelsel
UNIT_TESTS += tests/unit/check_labelsel
tests_unit_check_labelsel_SOURCES = tests/unit/check_labelsel.c tests/unit/check_main.h
tests_unit_check_labelsel_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_labelsel_LDADD = libkahu_engine.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_mover
UNIT_TESTS += tests/unit/check_mover
tests_unit_check_mover_SOURCES = tests/unit/check_mover.c tests/unit/check_main.h
tests_unit_check_mover_CFLAGS = $(UNIT_CFLAGS) \
	-DMOVER_PROVIDER_DIRS='"$(abs_top_builddir)/backends/s3/.libs:$(abs_top_builddir)/backends/sftp/.libs"'
tests_unit_check_mover_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a \
	libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_multi
UNIT_TESTS += tests/unit/check_multi
tests_unit_check_multi_SOURCES = tests/unit/check_multi.c tests/unit/check_main.h
tests_unit_check_multi_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_multi_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a \
	libkahu_kubeclient.a libkahu_kubeconfig.a libkahu_util.a $(UNIT_LIBS)

# check_scope resolves resource names through kube/discovery, which lives in
# libkahu_kubeclient.a with the HTTP client (hence kubeconfig too).
check_PROGRAMS += tests/unit/check_scope
UNIT_TESTS += tests/unit/check_scope
tests_unit_check_scope_SOURCES = tests/unit/check_scope.c tests/unit/check_main.h
tests_unit_check_scope_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_scope_LDADD = libkahu_engine.a libkahu_kubeclient.a libkahu_kubeconfig.a \
	libkahu_util.a $(UNIT_LIBS)

# Restore: what is restored and how it is cleaned, mapped and versioned (sanitize), and
# the order of types (order).
libkahu_engine_a_SOURCES += src/engine/order.c src/engine/order.h \
	src/engine/sanitize.c src/engine/sanitize.h \
	src/engine/sanitize_kinds.c src/engine/sanitize_kinds.h

check_PROGRAMS += tests/unit/check_order
UNIT_TESTS += tests/unit/check_order
tests_unit_check_order_SOURCES = tests/unit/check_order.c tests/unit/check_main.h
tests_unit_check_order_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_order_LDADD = libkahu_engine.a libkahu_util.a $(UNIT_LIBS)

# check_sanitize builds discovery documents with kube/discovery (libkahu_kubeclient.a).
check_PROGRAMS += tests/unit/check_sanitize
UNIT_TESTS += tests/unit/check_sanitize
tests_unit_check_sanitize_SOURCES = tests/unit/check_sanitize.c tests/unit/check_main.h
tests_unit_check_sanitize_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_sanitize_LDADD = libkahu_engine.a libkahu_kubeclient.a libkahu_kubeconfig.a \
	libkahu_util.a $(UNIT_LIBS)

# check_sanitize_kinds reads the shared corpus of manifests with libyaml (skipped without it).
check_PROGRAMS += tests/unit/check_sanitize_kinds
UNIT_TESTS += tests/unit/check_sanitize_kinds
tests_unit_check_sanitize_kinds_SOURCES = tests/unit/check_sanitize_kinds.c tests/unit/check_main.h
tests_unit_check_sanitize_kinds_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_sanitize_kinds_LDADD = libkahu_engine.a libkahu_kubeclient.a libkahu_kubeconfig.a \
	libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_collect
UNIT_TESTS += tests/unit/check_collect
tests_unit_check_collect_SOURCES = tests/unit/check_collect.c tests/unit/check_main.h
tests_unit_check_collect_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_collect_LDADD = libkahu_engine.a libkahu_kubeclient.a libkahu_kubeconfig.a \
	libkahu_util.a $(UNIT_LIBS)

# Retention: which backups prune removes (a decision without I/O).
check_PROGRAMS += tests/unit/check_retention
UNIT_TESTS += tests/unit/check_retention
tests_unit_check_retention_SOURCES = tests/unit/check_retention.c tests/unit/check_main.h
tests_unit_check_retention_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_retention_LDADD = libkahu_engine.a libkahu_util.a $(UNIT_LIBS)

# When an event-driven backup starts: synthetic timelines.
check_PROGRAMS += tests/unit/check_debounce
UNIT_TESTS += tests/unit/check_debounce
tests_unit_check_debounce_SOURCES = tests/unit/check_debounce.c tests/unit/check_main.h
tests_unit_check_debounce_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_debounce_LDADD = libkahu_engine.a libkahu_util.a $(UNIT_LIBS)

# Which watched changes start an event-driven backup (kahu plan watch).
libkahu_engine_a_SOURCES += src/engine/watchfilter.c src/engine/watchfilter.h
check_PROGRAMS += tests/unit/check_watchfilter
UNIT_TESTS += tests/unit/check_watchfilter
tests_unit_check_watchfilter_SOURCES = tests/unit/check_watchfilter.c tests/unit/check_main.h
tests_unit_check_watchfilter_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_watchfilter_LDADD = $(tests_unit_check_scope_LDADD)

# The parent choice of incremental and differential backups (the pure part).
check_PROGRAMS += tests/unit/check_parent
UNIT_TESTS += tests/unit/check_parent
tests_unit_check_parent_SOURCES = tests/unit/check_parent.c tests/unit/check_main.h
tests_unit_check_parent_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_parent_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a \
	libkahu_util.a $(UNIT_LIBS)

# Hooks: definitions from annotations and the hooks file (libyaml), and the results.
check_PROGRAMS += tests/unit/check_hooks
UNIT_TESTS += tests/unit/check_hooks
tests_unit_check_hooks_SOURCES = tests/unit/check_hooks.c tests/unit/check_main.h
tests_unit_check_hooks_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_hooks_LDADD = libkahu_engine.a libkahu_kubeclient.a libkahu_kubeconfig.a \
	libkahu_util.a $(UNIT_LIBS)

# The stored outcome of a backup's local after hooks, through the fs provider.
check_PROGRAMS += tests/unit/check_hook_record
UNIT_TESTS += tests/unit/check_hook_record
tests_unit_check_hook_record_SOURCES = tests/unit/check_hook_record.c tests/unit/check_main.h
tests_unit_check_hook_record_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_hook_record_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a \
	libkahu_util.a $(UNIT_LIBS)

# Volume data: which claims and how (volsel), helper pods (volhelper), CSI snapshots
# (volcsi), and the run's volume plan (volrun).
libkahu_engine_a_SOURCES += src/engine/movers.c src/engine/movers.h
libkahu_engine_a_SOURCES += src/engine/volcsi.c src/engine/volcsi.h \
	src/engine/volhelper.c src/engine/volhelper.h \
	src/engine/volrun.c src/engine/volrun.h src/engine/volrun_exec.c \
	src/engine/volsel.c src/engine/volsel.h

check_PROGRAMS += tests/unit/check_volsel
UNIT_TESTS += tests/unit/check_volsel
tests_unit_check_volsel_SOURCES = tests/unit/check_volsel.c tests/unit/check_main.h
tests_unit_check_volsel_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_volsel_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a \
	libkahu_kubeclient.a libkahu_kubeconfig.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_movers
UNIT_TESTS += tests/unit/check_movers
tests_unit_check_movers_SOURCES = tests/unit/check_movers.c tests/unit/check_main.h
tests_unit_check_movers_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_movers_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a \
	libkahu_kubeclient.a libkahu_kubeconfig.a libkahu_util.a $(UNIT_LIBS)

# Volume data: listing, index, segments, restore composer, catalog, through local ops
# with GNU tar and busybox's applets.
check_PROGRAMS += tests/unit/check_voldata
UNIT_TESTS += tests/unit/check_voldata
tests_unit_check_voldata_SOURCES = tests/unit/check_voldata.c tests/unit/check_main.h
tests_unit_check_voldata_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_voldata_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a \
	libkahu_util.a $(UNIT_LIBS)

# The driver of tests/cli/t-voldata.sh: a volume's data written into an existing backup
# with the volume data core through local ops.
check_PROGRAMS += tests/cli/voldrv
tests_cli_voldrv_SOURCES = tests/cli/voldrv.c
tests_cli_voldrv_CFLAGS = $(UNIT_CFLAGS)
tests_cli_voldrv_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a libkahu_util.a $(KAHU_LIBS)

# The driver of tests/cli/t-mover.sh: a backup mover's report read as the coordinator
# reads it.
check_PROGRAMS += tests/cli/moverdrv
tests_cli_moverdrv_SOURCES = tests/cli/moverdrv.c
tests_cli_moverdrv_CFLAGS = $(UNIT_CFLAGS)
tests_cli_moverdrv_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a libkahu_util.a $(KAHU_LIBS)

# The driver of tests/cli/t-watch.sh: types watched through kube/watch.h, the changes
# fed to the debounce decision.
check_PROGRAMS += tests/cli/watchdrv
tests_cli_watchdrv_SOURCES = tests/cli/watchdrv.c
tests_cli_watchdrv_CFLAGS = $(UNIT_CFLAGS)
tests_cli_watchdrv_LDADD = libkahu_engine.a libkahu_kubeclient.a libkahu_kubeconfig.a libkahu_util.a \
	$(KAHU_LIBS)

# Volume data in a restore: claims re-provisioned and filled, in place too (volrestore).
libkahu_engine_a_SOURCES += src/engine/volrestore.c src/engine/volrestore.h
check_PROGRAMS += tests/unit/check_volrestore
UNIT_TESTS += tests/unit/check_volrestore
tests_unit_check_volrestore_SOURCES = tests/unit/check_volrestore.c tests/unit/check_main.h
tests_unit_check_volrestore_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_volrestore_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a \
	libkahu_kubeclient.a libkahu_kubeconfig.a libkahu_util.a $(UNIT_LIBS)

# Reading kahu's YAML files node by node (the hooks file, the transform file).
libkahu_engine_a_SOURCES += src/engine/ynode.c src/engine/ynode.h

# Restore transforms (kahu-transform(5)): the patch kinds (pure: RFC 6902, RFC 7386,
# strategic merge) and the rules of the transform file and the shortcuts.
libkahu_engine_a_SOURCES += src/engine/transform.c src/engine/transform.h \
	src/engine/transform_patch.c src/engine/transform_patch.h
check_PROGRAMS += tests/unit/check_transform
UNIT_TESTS += tests/unit/check_transform
tests_unit_check_transform_SOURCES = tests/unit/check_transform.c tests/unit/check_main.h
tests_unit_check_transform_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_transform_LDADD = libkahu_engine.a libkahu_util.a $(UNIT_LIBS)

# Backup plans (kahu-plan(5)): the document, its checks with FILE:LINE, the cadence.
check_PROGRAMS += tests/unit/check_plan
UNIT_TESTS += tests/unit/check_plan
tests_unit_check_plan_SOURCES = tests/unit/check_plan.c tests/unit/check_main.h
tests_unit_check_plan_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_plan_LDADD = libkahu_engine.a libkahu_store.a libkahu_archive.a \
	libkahu_kubeclient.a libkahu_kubeconfig.a libkahu_util.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/check_install
UNIT_TESTS += tests/unit/check_install
tests_unit_check_install_SOURCES = tests/unit/check_install.c tests/unit/check_main.h
tests_unit_check_install_CFLAGS = $(UNIT_CFLAGS)
tests_unit_check_install_LDADD = libkahu_engine.a libkahu_util.a $(UNIT_LIBS)

# CLI tests: shell scripts that run the real binary (TAP).  t-docs.sh also checks
# that every tests/cli/t-*.sh is listed here.
CLI_TESTS += \
	tests/cli/t-cli.sh \
	tests/cli/t-docs.sh \
	tests/cli/t-cluster-conformance.sh \
	tests/cli/t-cluster-generate.sh \
	tests/cli/t-cluster-check.sh \
	tests/cli/t-cluster-exec.sh \
	tests/cli/t-cluster-jobs.sh \
	tests/cli/t-mover.sh \
	tests/cli/t-progress.sh \
	tests/cli/t-key.sh \
	tests/cli/t-core-dumps.sh \
	tests/cli/t-location-repair.sh \
	tests/cli/t-backup.sh \
	tests/cli/t-backup-scope.sh \
	tests/cli/t-backup-integrity.sh \
	tests/cli/t-backup-lifecycle.sh \
	tests/cli/t-names.sh \
	tests/cli/t-backup-chain.sh \
	tests/cli/t-lists.sh \
	tests/cli/t-list-stream.sh \
	tests/cli/t-restore.sh \
	tests/cli/t-restore-targets.sh \
	tests/cli/t-restore-compat.sh \
	tests/cli/t-transform.sh \
	tests/cli/t-velero.sh \
	tests/cli/t-trust.sh \
	tests/cli/t-plugins.sh \
	tests/cli/t-plan.sh \
	tests/cli/t-s3.sh \
	tests/cli/t-provider.sh \
	tests/cli/t-location.sh \
	tests/cli/t-clusters.sh \
	tests/cli/t-thirdparty.sh \
	tests/cli/t-sftp.sh \
	tests/cli/t-movers.sh \
	tests/cli/t-movers-progress.sh \
	tests/cli/t-multi-location.sh \
	tests/cli/t-exec-ws.sh \
	tests/cli/t-federation.sh \
	tests/cli/t-in-cluster.sh \
	tests/cli/t-exec.sh \
	tests/cli/t-hooks.sh \
	tests/cli/t-voldata.sh
CLI_TESTS += tests/cli/t-volumes-plan.sh tests/cli/t-volumes.sh
CLI_TESTS += tests/cli/t-volume-restore.sh tests/cli/t-volume-leftovers.sh tests/cli/t-volume-tenant.sh
CLI_TESTS += tests/cli/t-volume-break.sh tests/cli/t-volume-sparse.sh tests/cli/t-volume-chain.sh
CLI_TESTS += tests/cli/t-volume-csi.sh tests/cli/t-volume-location.sh
CLI_TESTS += tests/cli/t-volume-compat.sh
CLI_TESTS += tests/cli/t-containerfile.sh tests/cli/t-plan-install.sh tests/cli/t-plan-rbac.sh tests/cli/t-plan-watch.sh tests/cli/t-plan-contexts.sh
CLI_TESTS += tests/cli/t-watch.sh
EXTRA_DIST += $(CLI_TESTS) tests/cli/exec-credential-plugin.sh tests/cli/kahu_discovery.py tests/cli/ws_exec_server.py \
	tests/cli/data/compat-81ea7f1 tests/cli/data/compat-0dd8370-volumes tests/cli/vollib.sh

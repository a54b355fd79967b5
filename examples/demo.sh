#!/usr/bin/env bash
# kahu's demo on the bundled test cluster: start the test Kubernetes API server with
# sample applications (examples/demo-apps.yaml), check the cluster, and show what kahu
# sees.  Run it through `scripts/demo` (which installs and builds first) or `make demo`.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
KAHU=${KAHU:-$top/build/kahu}
[ -x "$KAHU" ] || KAHU=$top/kahu
work=$(mktemp -d "${TMPDIR:-/tmp}/kahu-demo.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting the test cluster with the sample applications"
python3 "$top/tests/cluster/kahu-test-cluster" --state-dir "$work/cluster" --port 0 \
	--seed "$top/examples/demo-apps.yaml" >"$work/ready" 2>"$work/cluster.log" &
pid=$!
for _ in $(seq 1 100); do
	grep -q '^READY ' "$work/ready" 2>/dev/null && break
	sleep 0.1
done
grep '^READY ' "$work/ready" || { cat "$work/cluster.log"; exit 1; }
export KUBECONFIG=$work/cluster/kubeconfig
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_DATA_HOME=$work/home/.local/share
mkdir -p "$HOME"

step "kahu cluster check"
"$KAHU" cluster check

if command -v kubectl >/dev/null; then
	step "What the cluster holds (kubectl get all,cm,secrets,widgets -A)"
	kubectl get deploy,sts,cronjob,svc,cm,secrets,pvc,widgets -A 2>/dev/null || true
fi
step "Done"
echo "The test cluster is stopped and its state removed."

#!/usr/bin/env bash
# kahu's demo on the bundled test cluster: start the test Kubernetes API server with
# sample applications (examples/demo-apps.yaml), check the cluster, and show what kahu
# sees: back up objects and a volume's files, delete a namespace, restore it and compare
# the files.  Run it through `scripts/demo` (which installs and builds first) or `make demo`.
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

show() {
	if command -v kubectl >/dev/null; then
		kubectl get deploy,sts,cronjob,pods,svc,cm,secrets,pvc,widgets -n "$1" 2>&1 | grep -v '^No resources' || true
	fi
}

# A command in the pod shop-files, which mounts the claim shop-data at /data.
in_pod() {
	if command -v kubectl >/dev/null; then
		kubectl exec -n shop shop-files -- "$@"
	else
		"$KAHU" __exec shop shop-files -- "$@"
	fi
}
files() { in_pod sh -c 'cd /data && find . -type f | sort | xargs sha256sum'; }

step "kahu cluster check"
"$KAHU" cluster check

step "What namespace shop holds, and the files in its volume shop-data"
show shop
in_pod sh -c 'mkdir -p /data/orders /data/img && printf "order 1001: 3 lamps\\n" >/data/orders/1001.txt &&
	head -c 4194304 /dev/urandom >/data/img/catalogue.bin && ln -s orders/1001.txt /data/latest'
files

step "kahu backup create demo (objects and volume data: the claim's CSI snapshot copied into the backup; encrypted, compressed; the key is generated on first use)"
"$KAHU" backup create demo
"$KAHU" backup list

step "Disaster: the namespace shop is deleted"
if command -v kubectl >/dev/null; then
	kubectl delete namespace shop
else
	curl -sk -X DELETE -H "Authorization: Bearer $(cat "$work/cluster/admin.token")" \
		"$(cat "$work/cluster/url")/api/v1/namespaces/shop" >/dev/null
fi
show shop

step "kahu restore create --from-backup demo --include-namespaces shop"
"$KAHU" restore create shop-back --from-backup demo --include-namespaces shop
"$KAHU" restore describe shop-back --details | grep -v ' excluded: '

step "What namespace shop holds again, and its volume's files (the same sums)"
show shop
for _ in $(seq 1 50); do in_pod true >/dev/null 2>&1 && break; sleep 0.2; done
files

step "Done"
echo "The test cluster is stopped and its state removed."

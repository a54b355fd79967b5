#!/usr/bin/env bash
# What watching costs with many types at once: tests/cli/watchdrv (kube/watch.c, one
# thread and one connection per type) over every listable type of a test cluster with
# generated objects and CRDs (about 60 types), once every type has listed and opened its
# watch: the driver's resident memory, threads, TCP connections to the server, the
# watches the server holds open, and its CPU while idle; then a burst of changes across
# the types arrives.  Prints a markdown table (does not write RESULTS.md).
#
#   bench/watch.sh                         BENCH_MIXED_N=20000 BENCH_CRDS_N=10 by default
#   WATCHDRV=build/tests/cli/watchdrv bench/watch.sh
. "$(dirname "$0")/lib.sh"
bench_init watch
WATCHDRV=${WATCHDRV:-$B_TOP/build/tests/cli/watchdrv}
[ -x "$WATCHDRV" ] || bench_die "no $WATCHDRV: make tests/cli/watchdrv in the build directory"
MIXED=${BENCH_MIXED_N:-20000}
CRDS=${BENCH_CRDS_N:-10}
bench_cluster_start w --mixed "$MIXED" --crds "$CRDS" --crd-size 65536 --no-save
KC=$(bench_kubeconfig w)
k() { "$KUBECTL" --kubeconfig "$KC" "$@"; }
# every type that can be listed and watched: GROUPVERSION,RESOURCE,namespaced|cluster
mapfile -t targets < <(k api-resources --verbs=list,watch --no-headers -o wide |
	awk '{ n = NF; for (i = 1; i <= NF; i++) if ($i == "true" || $i == "false") { ns = $i; gv = $(i-1) } ;
	       print gv "," $1 "," (ns == "true" ? "namespaced" : "cluster") }')
n=${#targets[@]}
bench_log "watching $n types"
"$WATCHDRV" -k "$KC" -q 2000 "${targets[@]}" >"$B_WORK/drv.out" 2>"$B_WORK/drv.err" &
drv=$!
B_PIDS+=("$drv")
for i in $(seq 1 6000); do
	[ "$(grep -c '^SYNCED ' "$B_WORK/drv.out")" -ge "$n" ] && break
	kill -0 "$drv" 2>/dev/null || { cat "$B_WORK/drv.err" >&2; bench_die "the driver ended"; }
	sleep 0.1
done
active() { bench_admin w GET watch | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["active"])'; }
for i in $(seq 1 600); do [ "$(active)" -ge "$n" ] && break; sleep 0.1; done
objects=$(awk '/^SYNCED/ { s += $3 } END { print s }' "$B_WORK/drv.out")
port=$(bench_url w | sed 's/.*://')
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$drv/status")
vsz=$(awk '/^VmSize/ { print $2 }' "/proc/$drv/status")
threads=$(awk '/^Threads/ { print $2 }' "/proc/$drv/status")
conns=$(ss -tnp 2>/dev/null | grep -c "pid=$drv," || true)
cpu0=$(awk '{ print $14 + $15 }' "/proc/$drv/stat")
scpu0=$(bench_server_cpu w)
sleep 30
cpu1=$(awk '{ print $14 + $15 }' "/proc/$drv/stat")
scpu1=$(bench_server_cpu w)
hz=$(getconf CLK_TCK)
# a burst: one change in each of 20 namespaces of the generated objects
for i in $(seq 0 19); do k -n "mixed-$i" create configmap "burst-$i" >/dev/null; done
for i in $(seq 1 1200); do grep -q '^START 1 ' "$B_WORK/drv.out" && break; sleep 0.1; done
start=$(grep '^START 1 ' "$B_WORK/drv.out" || echo "none")
cat <<TABLE
| watched types | objects listed | driver RSS | driver VmSize | threads | connections | open watches (server) | driver CPU idle 30 s | server CPU idle 30 s | 20 changes |
|---|---|---|---|---|---|---|---|---|---|
| $n | $objects | $((rss / 1024)) MiB | $((vsz / 1024)) MiB | $threads | $conns | $(active) | $(awk -v a="$cpu0" -v b="$cpu1" -v h="$hz" 'BEGIN { printf "%.2f s", (b - a) / h }') | $(awk -v a="$scpu0" -v b="$scpu1" 'BEGIN { printf "%.2f s", b - a }') | $start |
TABLE

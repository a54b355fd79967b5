#!/usr/bin/env bash
# Data movers benchmark: the volume data of N claims (20 by default) backed up to an S3
# location (s3rver behind the verifying proxy of tests/s3) with `--data-mover cluster`
# (a Job per volume on the test cluster's 3 nodes, each running the kahu under test in
# the pod sandbox and writing to S3 itself) and with `--data-mover local` (pods/exec
# through the API server and this machine), side by side on the same data:
#
#   wall time; the coordinator's CPU (user + sys of the kahu process on this machine) and
#   peak RSS; the bytes the API server sent to the coordinator (the test cluster's
#   bytes_out_by_user: response bodies and exec stdout); then the cluster mover's wall
#   time as --movers-per-node grows from 1 to 4.
#
#   bench/movers.sh                          # 20 claims of 256 MiB, BENCH_REPS (1)
#   bench/movers.sh --claims 20 --size 16M   # a quick look
#
# On this project's 2-core machine the movers of all nodes share the same two cores,
# the disk and s3rver (one Node.js process): the curve flattens as soon as two or three
# movers run, and the cluster mover's advantage is the coordinator's cost (CPU, bytes
# through the API server), not the wall time.  On a real cluster each node brings its own
# CPU, disk and network, and the curve follows the nodes until the object store's write
# throughput (or its request rate) or the volumes' read throughput is the limit.
#
# Options: --claims N (20), --size SIZE per claim (256M; dd's suffixes).  Environment:
# KAHU, KUBECTL, BENCH_REPS (1), BENCH_RESULTS, BENCH_KEEP.  Writes the "movers" section
# of bench/RESULTS.md.  Needs root (pods run in sandboxes) and the S3 test packages
# (tests/s3: node and `npm ci`).  Disk: about 3 × claims × size in $TMPDIR.

. "$(dirname "$0")/lib.sh"

CLAIMS=20
SIZE=256M
while [ $# -gt 0 ]; do
	case $1 in
	--claims) CLAIMS=${2:?--claims needs a value}; shift 2 ;;
	--size) SIZE=${2:?--size needs a value}; shift 2 ;;
	-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "movers.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ $CLAIMS =~ ^[0-9]+$ ]] && [ "$CLAIMS" -ge 1 ] || { echo "movers.sh: bad --claims" >&2; exit 2; }
[[ $SIZE =~ ^[0-9]+[KMG]?$ ]] || { echo "movers.sh: bad --size $SIZE" >&2; exit 2; }
BENCH_REPS=${BENCH_REPS:-1}
bench_init movers
[ "$(id -u)" -eq 0 ] || bench_die "pods of the test cluster run in sandboxes that need root"

# ---- S3: s3rver and the verifying proxy (tests/s3/s3.sh, which wants T_DIR) ----
top_srcdir=$B_TOP
T_DIR=$B_WORK
T_CLEANUP=()
. "$B_TOP/tests/s3/s3.sh"
s3_available || bench_die "$S3_MISSING"
s3_start || bench_die "s3rver did not start"
B_PIDS+=("$S3RVER_PID" "$S3_PROXY_PID")

# ---- the cluster: CLAIMS claims over 3 nodes ----
{
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n'
	for i in $(seq 1 "$CLAIMS"); do
		printf -- '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c%d, namespace: bench}\n' "$i"
		printf 'spec: {accessModes: [ReadWriteOnce], storageClassName: fast, resources: {requests: {storage: 300Gi}}}\n'
	done
} >"$B_WORK/seed.yaml"
pdirs=
for pd in fs s3 sftp; do
	pd=$(dirname "$KAHU")/backends/$pd/.libs
	[ -d "$pd" ] && pdirs=${pdirs:+$pdirs:}$pd
done
bench_cluster_start main --nodes 3 --seed "$B_WORK/seed.yaml" --kahu-binary "$KAHU" \
	${pdirs:+--kahu-providers "$pdirs"}
KC=$(bench_kubeconfig main)
bench_kubectl_version main
"$KAHU" key generate --file "$B_WORK/key" >/dev/null 2>&1 || bench_die "kahu key generate"
export KAHU_KEY_FILE=$B_WORK/key
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF
{"version": 1, "defaultLocation": "s3",
 "locations": {"s3": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                                  "region": "eu-west-3", "prefix": "bench"}}}}
EOF
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"

case $SIZE in
*K) bytes=$((${SIZE%K} << 10)) ;;
*M) bytes=$((${SIZE%M} << 20)) ;;
*G) bytes=$((${SIZE%G} << 30)) ;;
*) bytes=$SIZE ;;
esac
HALF=$((bytes / 2))
bench_log "writing $CLAIMS claims of $SIZE"
for i in $(seq 1 "$CLAIMS"); do
	d=$(bench_admin main GET "volume?namespace=bench&pvc=c$i" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["path"])')
	mkdir -p "$d/data"
	# SIZE in all, half random (files of 8 MiB), half text: something to compress,
	# something not
	head -c "$HALF" /dev/urandom | split -b 8M - "$d/data/rand." 2>/dev/null
	{ yes "claim $i: the quick brown fox jumps over the lazy dog" || true; } | head -c "$HALF" >"$d/data/text"
done
DATA=$(du -sb "$B_WORK/main/volumes" | cut -f1)

run() { # LABEL ARGS... -> "wall cpu rss bytes load"
	local label=$1; shift
	local load
	sync
	load=$(cut -d' ' -f1 /proc/loadavg)
	bench_admin main POST stats/reset >/dev/null
	bench_measure "$B_WORK/$label" "$KAHU" --kubeconfig "$KC" backup create "$label" \
		--include-namespaces bench --volume-data fs "$@" || {
		sed 's/^/  /' "$B_WORK/$label.err" >&2; bench_die "$label failed"; }
	local bytes
	bytes=$(bench_admin main GET stats | "$PYTHON" -c 'import json,sys
print(sum(json.load(sys.stdin)["bytes_out_by_user"].values()))')
	read -r wall rss user sys <"$B_WORK/$label"
	# the backup is not needed again: s3rver's disk stays at one backup's size
	"$KAHU" --kubeconfig "$KC" backup delete --yes "$label" >/dev/null 2>&1 ||
		bench_log "could not delete $label"
	echo "$wall $(printf "%.2f" "$(echo "$user + $sys" | bc)") $rss $bytes $load"
}

rows=()
declare -A best
for mode in local cluster; do
	walls=() cpus=() rsss=() bytess=() loads=()
	for r in $(seq 1 "$BENCH_REPS"); do
		bench_log "--data-mover $mode, run $r"
		read -r w c m b l < <(run "$mode-$r" --data-mover "$mode")
		walls+=("$w") cpus+=("$c") rsss+=("$m") bytess+=("$b") loads+=("$l")
	done
	rows+=("| \`--data-mover $mode\` | $(bench_median "${walls[@]}") s | $(bench_median "${cpus[@]}") s | $(( $(bench_median "${rsss[@]}") / 1024 )) MiB | $(bench_median "${bytess[@]}") | ${loads[*]} |")
done
curve=()
for n in 1 2 3 4; do
	walls=() loads=()
	for r in $(seq 1 "$BENCH_REPS"); do
		bench_log "--movers-per-node $n, run $r"
		read -r w c m b l < <(run "pn$n-$r" --data-mover cluster --movers-per-node "$n")
		walls+=("$w") loads+=("$l")
	done
	curve+=("| $n | $(bench_median "${walls[@]}") s | ${loads[*]} |")
done

body=$B_WORK/section.md
{
	echo "## Data movers: $CLAIMS claims of $SIZE to S3 (s3rver), 3 test nodes"
	echo
	bench_machine
	echo
	echo "$DATA bytes of volume data; median of $BENCH_REPS run(s)."
	echo
	echo "| backup | wall | coordinator CPU | coordinator peak RSS | bytes from the API server | load average before |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "| --movers-per-node | wall | load average before |"
	echo "|---|---|---|"
	printf '%s\n' "${curve[@]}"
	echo
	echo "On this 2-core machine all three nodes' movers share the same cores, disk and one"
	echo "s3rver process, so the curve flattens at two or three movers; on a real cluster it"
	echo "follows the nodes until the object store or the volumes' read throughput limits it."
} >"$body"
cat "$body"
bench_results_write "$body"

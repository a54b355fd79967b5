#!/usr/bin/env bash
# kubeconfig benchmark: how long kahu takes to load a kubeconfig of N contexts, clusters
# and users.  No cluster and no kubectl are needed.
#
#   KAHU=build/kahu bench/kubeconfig.sh
#   BENCH_KUBECONFIG_SIZES="10000 40000 80000" BENCH_REPS=3 bench/kubeconfig.sh
#
# For each N in BENCH_KUBECONFIG_SIZES (default "10000 40000"), two files merged through
# KUBECONFIG: the first defines entries 0..N/2-1, the second N/4..N-1 (a quarter of the
# names in both: the first file wins) and the current context.  Two rows per N:
#   list      `kahu __complete context`: every context name (what shell completion runs)
#   select    `kahu cluster check` on the current context, whose server is a closed port
#             on 127.0.0.1: load, merge, select and decode, then one refused connection
# Prints a markdown table (median wall time and peak RSS of BENCH_REPS runs) on stdout;
# RESULTS.md is not touched.

. "$(dirname "$0")/lib.sh"

if [ -z "${KAHU:-}" ]; then
	for KAHU in "$B_TOP/build/kahu" "$B_TOP/kahu"; do
		[ -x "$KAHU" ] && break
	done
fi
[ -x "$KAHU" ] || bench_die "no kahu binary: build it (make kahu) and set KAHU=path/to/kahu"
PYTHON=${PYTHON:-python3}
BENCH_REPS=${BENCH_REPS:-3}
[ -x /usr/bin/time ] || bench_need /usr/bin/time time
bench_need "$PYTHON" python3
B_WORK=$(mktemp -d "${TMPDIR:-/tmp}/kahu-bench.XXXXXX")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
export HOME=$B_WORK/home XDG_CONFIG_HOME=$B_WORK/home/.config
mkdir -p "$HOME"
unset KAHU_CONFIG KAHU_KEY_FILE KAHU_PASSPHRASE_FILE

# A port nothing listens on: bound, then closed again.
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

gen() { # FROM TO FILE [CURRENT]
	"$PYTHON" - "$1" "$2" "$3" "${4:-}" "$PORT" <<'EOF'
import sys
lo, hi, path, cur, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
with open(path, "w") as f:
    f.write("apiVersion: v1\nkind: Config\n")
    if cur:
        f.write("current-context: %s\n" % cur)
    f.write("clusters:\n")
    for i in range(lo, hi):
        f.write("- name: cl-%d\n  cluster:\n    server: https://127.0.0.1:%s\n"
                "    insecure-skip-tls-verify: true\n" % (i, port))
    f.write("users:\n")
    for i in range(lo, hi):
        f.write("- name: u-%d\n  user:\n    token: token-%d\n" % (i, i))
    f.write("contexts:\n")
    for i in range(lo, hi):
        f.write("- name: ctx-%d\n  context:\n    cluster: cl-%d\n    user: u-%d\n" % (i, i, i))
EOF
}

echo "| N contexts | row | wall (median, s) | range (s) | peak RSS (KiB) |"
echo "|---:|---|---:|---:|---:|"
for n in ${BENCH_KUBECONFIG_SIZES:-10000 40000}; do
	a=$B_WORK/a-$n.yaml b=$B_WORK/b-$n.yaml
	gen 0 $((n / 2)) "$a"
	gen $((n / 4)) "$n" "$b" "ctx-$((n - 1))"
	export KUBECONFIG=$a:$b
	for row in list select; do
		walls=() rss=()
		for rep in $(seq 1 "$BENCH_REPS"); do
			m=$B_WORK/m-$n-$row-$rep
			case $row in
			list) bench_measure "$m" "$KAHU" __complete context || bench_die "kahu __complete context failed" ;;
			select) bench_measure "$m" "$KAHU" --request-timeout 5 cluster check || true
				grep -q "connection refused" "$m.err" || { cat "$m.err" >&2; bench_die "kahu cluster check: unexpected outcome"; } ;;
			esac
			read -r wall kib _ <"$m"
			walls+=("$wall") rss+=("$kib")
			bench_log "N=$n $row run $rep: ${wall}s ${kib}KiB"
		done
		echo "| $n | $row | $(bench_median "${walls[@]}") | $(bench_min "${walls[@]}")-$(bench_max "${walls[@]}") | $(bench_median "${rss[@]}") |"
	done
done

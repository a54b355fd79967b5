#!/usr/bin/env bash
# Backup benchmark: `kahu backup create` against what a user does without a backup tool
# (`kubectl get TYPE -A -o json > TYPE.json` for every type, in a loop; the same piped to
# `zstd -3`; the dump archived with tar + zstd; and all types in one kubectl call), side by
# side against the same test cluster, at BENCH_SIZES synthetic ConfigMaps.
#
#   KAHU=build/kahu bench/backup.sh            # 10,000 and 100,000 objects
#   BENCH_SIZES="1000 10000" bench/backup.sh   # a quick run
#
# Environment: KAHU, KUBECTL, BENCH_SIZES, BENCH_REPS (3), BENCH_NAMESPACES (10),
# BENCH_OBJECT_SIZE (512 bytes of payload per ConfigMap), BENCH_PROFILE (1: perf profile of
# kahu at the largest size, when perf works), BENCH_RESULTS (bench/RESULTS.md), BENCH_KEEP.
# Writes the "backup" section of bench/RESULTS.md.  See bench/README.md.

. "$(dirname "$0")/lib.sh"
bench_init backup

SIZES=${BENCH_SIZES:-10000 100000}
NAMESPACES=${BENCH_NAMESPACES:-10}
OBJSIZE=${BENCH_OBJECT_SIZE:-512}
PROFILE=${BENCH_PROFILE:-1}
DATA=$B_WORK/rows.tsv # N tool rep wall rss_kib user sys bytes server_cpu peak_concurrency
: >"$DATA"
META=$B_WORK/meta.tsv # N key value
: >"$META"

kahu_backup_dir() { # NAME -> the directory of the backup in the repository
	find "$XDG_DATA_HOME/kahu" -type d -name "$1" -print -quit
}

# One measured run: resets the server's counters, runs CMD under /usr/bin/time and
# appends a row to $DATA.  BYTES_CMD prints the size of what the tool wrote.
run_one() { # N TOOL REP CLUSTER BYTES_CMD CMD...
	local n=$1 tool=$2 rep=$3 c=$4 bytes_cmd=$5; shift 5
	local t=$B_WORK/t.$$ cpu0 cpu1 peak bytes
	bench_admin "$c" POST stats/reset '{}' >/dev/null
	cpu0=$(bench_server_cpu "$c")
	bench_measure "$t" "$@" ||
		{ cat "$t.err" >&2; bench_die "$tool failed (run $rep, N=$n)"; }
	cpu1=$(bench_server_cpu "$c")
	peak=$(bench_stat "$c" peak_concurrency)
	bytes=$(eval "$bytes_cmd")
	read -r wall rss user sys <"$t"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$tool" "$rep" "$wall" "$rss" \
		"$user" "$sys" "$bytes" "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" \
		"$peak" >>"$DATA"
	bench_log "N=$n $tool #$rep: ${wall}s, $((rss / 1024)) MiB, $bytes bytes, server CPU $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')s, peak concurrency $peak"
}

for N in $SIZES; do
	c=c$N
	bench_log "N=$N: starting the test cluster ($NAMESPACES namespaces, $OBJSIZE-byte payloads)"
	bench_cluster_start "$c" --synthetic "$N" --synthetic-namespaces "$NAMESPACES" \
		--synthetic-size "$OBJSIZE"
	kc=$(bench_kubeconfig "$c")
	export KUBECONFIG=$kc
	[ -n "${B_KUBECTL_VERSION:-}" ] || bench_kubectl_version "$c"

	# Warm-up, not timed: kahu generates its key, kubectl fills its discovery cache (as
	# in any user's second run), both touch every page once.
	"$KAHU" --no-progress -q backup create "warm-$N" >/dev/null 2>"$B_WORK/warm.err" ||
		{ cat "$B_WORK/warm.err" >&2; bench_die "kahu backup create failed"; }
	"$KAHU" -q backup describe "warm-$N" -o json >"$B_WORK/describe.json" 2>/dev/null
	"$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for t in d["types"]:
    print(t["resource"])' "$B_WORK/describe.json" >"$B_WORK/types"
	items=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["items"])' "$B_WORK/describe.json")
	ntypes=$(wc -l <"$B_WORK/types")
	printf '%s\titems\t%s\n%s\ttypes\t%s\n' "$N" "$items" "$N" "$ntypes" >>"$META"
	"$KUBECTL" api-resources >/dev/null 2>&1 || true

	# The user's scripts: one kubectl call per type, as a loop in a shell script would.
	dump=$B_WORK/dump
	{
		echo 'set -eo pipefail'
		echo 'mkdir -p "$1"'
		while read -r t; do
			printf '"$KUBECTL" get %s -A -o json >"$1/%s.json"\n' "$t" "$t"
		done <"$B_WORK/types"
	} >"$B_WORK/kubectl-json.sh"
	{
		echo 'set -eo pipefail'
		echo 'mkdir -p "$1"'
		while read -r t; do
			printf '"$KUBECTL" get %s -A -o json | zstd -3 -q >"$1/%s.json.zst"\n' "$t" "$t"
		done <"$B_WORK/types"
	} >"$B_WORK/kubectl-zstd.sh"
	alltypes=$(paste -sd, "$B_WORK/types")
	printf 'set -eo pipefail\nmkdir -p "$1"\n"$KUBECTL" get %s -A -o json >"$1/all.json"\n' \
		"$alltypes" >"$B_WORK/kubectl-one.sh"
	export KUBECTL

	for rep in $(seq 1 "$BENCH_REPS"); do
		name=b-$N-$rep
		run_one "$N" kahu "$rep" "$c" 'du -sb "$(kahu_backup_dir "$name")" | cut -f1' \
			"$KAHU" --no-progress -q backup create "$name"
		rm -rf "$dump"
		run_one "$N" kubectl-json "$rep" "$c" 'du -sb "$dump" | cut -f1' \
			bash "$B_WORK/kubectl-json.sh" "$dump"
		if [ "$rep" = 1 ]; then
			# The same objects as kahu's?  Count what kubectl wrote, once.
			"$PYTHON" -c '
import json, os, sys
n = 0
for f in os.listdir(sys.argv[1]):
    n += len(json.load(open(os.path.join(sys.argv[1], f)))["items"])
print(n)' "$dump" | sed "s/^/$N\tkubectl_items\t/" >>"$META"
		fi
		rm -f "$B_WORK/dump.tar.zst"
		run_one "$N" tar-zstd "$rep" "$c" 'stat -c %s "$B_WORK/dump.tar.zst"' \
			bash -c 'set -o pipefail; tar -C "$1" -cf - . | zstd -3 -q >"$2"' _ "$dump" "$B_WORK/dump.tar.zst"
		rm -rf "$dump"
		run_one "$N" kubectl-zstd "$rep" "$c" 'du -sb "$dump" | cut -f1' \
			bash "$B_WORK/kubectl-zstd.sh" "$dump"
		rm -rf "$dump"
		run_one "$N" kubectl-one "$rep" "$c" 'du -sb "$dump" | cut -f1' \
			bash "$B_WORK/kubectl-one.sh" "$dump"
		rm -rf "$dump"
	done

	# Where kahu's time goes: one profiled run at the largest size, with call graphs, so
	# that the time inside jansson, zstd and libarchive can be put on kahu's callers.
	if [ "$PROFILE" = 1 ] && [ "$N" = "$(printf '%s\n' $SIZES | sort -g | tail -n 1)" ] &&
		command -v perf >/dev/null &&
		perf record -q -F 499 --call-graph dwarf,16384 -o "$B_WORK/perf.data" -- \
			"$KAHU" --no-progress -q backup create "prof-$N" >/dev/null 2>"$B_WORK/perf.err"; then
		bench_log "N=$N: reading the profile"
		perf report -i "$B_WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 8 >"$B_WORK/perf-dso.txt" || true
		perf report -i "$B_WORK/perf.data" --children --sort sym --stdio 2>/dev/null |
			grep -E '^ +[0-9.]+% +[0-9.]+%' |
			awk '!seen[$4]++ && $4 ~ /^(kube_list|emit|json_loadb|json_dumps|json_delete|bundle_add|ZSTD_compressStream2|write_header|kube_request|index_line_format|kahu_key_hash|kenc_write)$/ { printf "%8s  %s\n", $1, $4 }' \
			>"$B_WORK/perf-sym.txt" || true
		echo "$N" >"$B_WORK/perf-n"
	fi

	unset KUBECONFIG
	bench_cluster_stop "$c"
done

body=$B_WORK/section.md
{
	echo "## Backup: \`kahu backup create\` against \`kubectl get TYPE -A -o json\`"
	echo
	bench_machine
	echo "- Objects: N synthetic ConfigMaps ($OBJSIZE-byte payload, labels, managedFields) in $NAMESPACES namespaces, plus the test cluster's own ~76 objects; $BENCH_REPS runs of each tool, interleaved; the median is shown, with the range of the runs in parentheses."
	echo "- kahu: default settings (encryption on, zstd level 3, --parallel 4, --max-requests 8, page size 500), into a filesystem repository on local disk."
	echo "- kubectl: \`kubectl get TYPE -A -o json > TYPE.json\` for each type kahu backed up, one call after another (a user's backup script); kubectl's discovery cache warm. **kubectl | zstd** pipes each call through \`zstd -3\`; **tar + zstd** archives the JSON dump afterwards (its time comes on top of kubectl's); **kubectl, one call** asks for all types in one \`kubectl get t1,t2,... -A -o json\`."
	echo "- Server CPU: user + system time of the test server process during the run (/proc/PID/stat); peak concurrency: the server's \`peak_concurrency\` counter, reset before each run."
	echo
} >"$body"
"$PYTHON" - "$DATA" "$META" "$B_WORK" >>"$body" <<'EOF'
import collections, os, statistics, sys

rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    n, tool, rep, wall, rss, user, sys_, nbytes, scpu, peak = line.rstrip("\n").split("\t")
    rows[(int(n), tool)].append(dict(wall=float(wall), rss=int(rss) / 1024.0, cpu=float(user) + float(sys_),
                                     bytes=int(nbytes), scpu=float(scpu), peak=int(peak)))
meta = collections.defaultdict(dict)
for line in open(sys.argv[2]):
    n, k, v = line.rstrip("\n").split("\t")
    meta[int(n)][k] = v
work = sys.argv[3]

def med(n, tool, k):
    return statistics.median(r[k] for r in rows[(n, tool)])

def cell(n, tool, k, fmt):
    vs = [r[k] for r in rows[(n, tool)]]
    m = statistics.median(vs)
    if len(vs) > 1 and min(vs) != max(vs):
        return (fmt + " (" + fmt + "–" + fmt + ")") % (m, min(vs), max(vs))
    return fmt % m

def mib(b):
    return "%.2f MiB" % (b / 1048576.0)

names = [("kahu", "kahu backup create"), ("kubectl-json", "kubectl > TYPE.json"),
         ("kubectl-zstd", "kubectl \\| zstd -3"), ("tar-zstd", "tar + zstd of the JSON dump"),
         ("kubectl-one", "kubectl, one call for all types")]
sizes = sorted({n for n, _ in rows})
for n in sizes:
    m = meta[n]
    print("### %s synthetic objects" % format(n, ","))
    print()
    print("kahu backed up %s items of %s types; kubectl's files held %s items." %
          (format(int(m.get("items", 0)), ","), m.get("types", "?"), format(int(m.get("kubectl_items", 0)), ",")))
    print()
    print("| tool | wall s | peak RSS MiB | CPU s (user+sys) | server CPU s | peak concurrency | bytes written |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for tool, label in names:
        if (n, tool) not in rows:
            continue
        print("| %s | %s | %s | %s | %s | %d | %s (%s) |" % (
            label, cell(n, tool, "wall", "%.2f"), cell(n, tool, "rss", "%.1f"), cell(n, tool, "cpu", "%.2f"),
            cell(n, tool, "scpu", "%.2f"), max(r["peak"] for r in rows[(n, tool)]),
            format(int(med(n, tool, "bytes")), ","), mib(med(n, tool, "bytes"))))
    print()

print("### Targets")
print()
print("| target | measured | result |")
print("|---|---|---|")
for n in sizes:
    if (n, "kubectl-json") not in rows:
        continue
    k, u = med(n, "kahu", "wall"), med(n, "kubectl-json", "wall")
    r = k / u
    print("| N=%s: kahu wall ≤ 0.5 × kubectl's | %.2f s / %.2f s = %.2f× | %s |" %
          (format(n, ","), k, u, r, "PASS" if r <= 0.5 else "MISS"))
for n in sizes:
    rss = max(r["rss"] for r in rows[(n, "kahu")])
    print("| N=%s: kahu peak RSS ≤ 64 MiB (largest of the runs) | %.1f MiB | %s |" %
          (format(n, ","), rss, "PASS" if rss <= 64 else "MISS"))
if 10000 in sizes and 100000 in sizes:
    a, b = med(10000, "kahu", "rss"), med(100000, "kahu", "rss")
    d = (b - a) / a * 100
    print("| kahu peak RSS within 10%% between 10,000 and 100,000 objects | %.1f → %.1f MiB (%+.1f%%) | %s |" %
          (a, b, d, "PASS" if abs(d) <= 10 else "MISS"))
elif len(sizes) > 1:
    a, b = med(sizes[0], "kahu", "rss"), med(sizes[-1], "kahu", "rss")
    d = (b - a) / a * 100
    print("| kahu peak RSS within 10%% between %s and %s objects (the target names 10,000 and 100,000) | %.1f → %.1f MiB (%+.1f%%) | %s |" %
          (format(sizes[0], ","), format(sizes[-1], ","), a, b, d, "PASS" if abs(d) <= 10 else "MISS"))
for n in sizes:
    p = max(r["peak"] for r in rows[(n, "kahu")])
    pk = max(r["peak"] for r in rows[(n, "kubectl-json")]) if (n, "kubectl-json") in rows else 0
    print("| N=%s: the server's peak concurrency shows kahu's parallel lists | kahu %d, kubectl %d | %s |" %
          (format(n, ","), p, pk, "PASS" if p >= 2 else "MISS"))
print()

print("### Where the time goes")
print()
for n in sizes:
    kw, kc, ks = med(n, "kahu", "wall"), med(n, "kahu", "cpu"), med(n, "kahu", "scpu")
    line = ("- N=%s: kahu %.2f s wall, of which %.2f s CPU in kahu (%.0f%%), while the test server used %.2f s CPU (%.0f%% of kahu's wall time)."
            % (format(n, ","), kw, kc, 100 * kc / kw, ks, 100 * ks / kw))
    if (n, "kubectl-json") in rows:
        uw, uc, us = med(n, "kubectl-json", "wall"), med(n, "kubectl-json", "cpu"), med(n, "kubectl-json", "scpu")
        line += (" kubectl: %.2f s wall, %.2f s CPU in kubectl (%.0f%%), %.2f s server CPU (%.0f%%)."
                 % (uw, uc, 100 * uc / uw, us, 100 * us / uw))
    print(line)
pf = os.path.join(work, "perf-n")
if os.path.exists(pf):
    pn = int(open(pf).read())
    print()
    print("`perf record` of one kahu run at N=%s, samples by library:" % format(pn, ","))
    print()
    print("```")
    print(open(os.path.join(work, "perf-dso.txt")).read().rstrip())
    print("```")
    print()
    print("Inclusive share of the samples (a function with everything it calls; the rows overlap: emit serialises each item with json_dumps and hands it to bundle_add, which runs libarchive's write_header, zstd and the encryption):")
    print()
    print("```")
    print(open(os.path.join(work, "perf-sym.txt")).read().rstrip())
    print("```")
EOF
bench_results_write "$body"

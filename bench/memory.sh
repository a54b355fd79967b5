#!/usr/bin/env bash
# Memory and CPU of `kahu backup create` with objects of realistic sizes, two kahu
# binaries side by side (a previous release and the current build) and `kubectl get -o
# json` where it applies, against the same test cluster:
#
#   (i)   20,000 objects of 1-4 KB (ConfigMaps, Secrets, Services, Deployments over 50
#         namespaces) at page sizes 50, 500 and 5000;
#   (ii)  500 CRDs of 1 MiB each (realistic openAPI schemas) at the same page sizes;
#   (iii) 100,000 ConfigMaps (512-byte payloads) at the default page size: CPU time per
#         object and wall time.
#
#   KAHU_BASE=/work/base/build/kahu KAHU=build/kahu bench/memory.sh
#   bench/memory.sh BASE_KAHU CURRENT_KAHU            # the same, as arguments
#   BENCH_SCENARIOS="mixed" BENCH_REPS=1 bench/memory.sh OLD NEW   # a quick look
#
# Environment: KAHU_BASE (the previous release; without it only KAHU is measured),
# KAHU (default build/kahu), KAHU_BASE_LABEL / KAHU_LABEL (how the rows name them),
# KUBECTL, BENCH_REPS (3), BENCH_SCENARIOS ("mixed crds configmaps"), BENCH_PAGE_SIZES
# ("50 500 5000"), BENCH_MIXED_N (20000), BENCH_CRDS_N (500), BENCH_CRD_SIZE (1048576),
# BENCH_CM_N (100000), BENCH_KUBECTL (1; 0 skips kubectl), BENCH_KUBECTL_CRDS_PAGES
# ("500": kubectl over 500 MiB of CRDs is slow, so one page size unless asked),
# BENCH_PROFILE (1: perf profile of the current kahu in (iii), when perf works),
# BENCH_KUBECTL_REPS (BENCH_REPS), BENCH_DATA (a file that keeps the rows across runs:
# run the scenarios one at a time into one report), BENCH_RESULTS, BENCH_KEEP.  Writes the "memory" section of bench/RESULTS.md.

. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] && KAHU_BASE=$1
[ $# -ge 2 ] && KAHU=$2
bench_init memory

if [ -n "${KAHU_BASE:-}" ]; then
	[ -x "$KAHU_BASE" ] || bench_die "KAHU_BASE=$KAHU_BASE is not an executable"
	KAHU_BASE=$(cd "$(dirname "$KAHU_BASE")" && pwd)/$(basename "$KAHU_BASE")
fi
SCENARIOS=${BENCH_SCENARIOS:-mixed crds configmaps}
PAGES=${BENCH_PAGE_SIZES:-50 500 5000}
MIXED_N=${BENCH_MIXED_N:-20000}
CRDS_N=${BENCH_CRDS_N:-500}
CRD_SIZE=${BENCH_CRD_SIZE:-1048576}
CM_N=${BENCH_CM_N:-100000}
WITH_KUBECTL=${BENCH_KUBECTL:-1}
KUBECTL_CRD_PAGES=${BENCH_KUBECTL_CRDS_PAGES:-500}
PROFILE=${BENCH_PROFILE:-1}
KUBECTL_REPS=${BENCH_KUBECTL_REPS:-$BENCH_REPS}
# Rows (scenario page tool rep wall rss_kib user sys bytes server_cpu items) and notes
# (key value); with BENCH_DATA=FILE they are kept in FILE and FILE.meta and added to, so
# scenarios run one at a time make one report.
if [ -n "${BENCH_DATA:-}" ]; then
	DATA=$BENCH_DATA
	touch "$DATA" "$DATA.meta"
else
	DATA=$B_WORK/rows.tsv
	: >"$DATA" && : >"$DATA.meta"
fi
META=$DATA.meta
export KAHU_KEY_FILE=$B_WORK/bench.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1 || bench_die "kahu key generate failed"
kv() { "$1" version 2>/dev/null | head -n 1; }
printf 'kahu\t%s\nkahu_path\t%s\n' "$(kv "$KAHU")" "$KAHU" >>"$META"
[ -n "${KAHU_BASE:-}" ] && printf 'base\t%s\nbase_path\t%s\n' "$(kv "$KAHU_BASE")" "$KAHU_BASE" >>"$META"
printf 'base_label\t%s\nkahu_label\t%s\n' "${KAHU_BASE_LABEL:-previous release}" \
	"${KAHU_LABEL:-this build}" >>"$META"
# when a scenario ran, and the load average (1, 5, 15 min) before and after it
note_start() { B_T0=$(date -u +%H:%M) B_L0=$(cut -d' ' -f1-3 /proc/loadavg); }
note_end() { # SCENARIO
	printf 'ran_%s\t%s %s–%s UTC, load average %s before, %s after\n' "$1" "$(date -u +%Y-%m-%d)" \
		"$B_T0" "$(date -u +%H:%M)" "$B_L0" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$META"
}

# One measured run: appends a row to $DATA.  ITEMS_CMD prints how many objects the run
# stored (kahu) or "-" (kubectl); BYTES_CMD the size of what it wrote.
run_one() { # SCENARIO PAGE TOOL REP CLUSTER BYTES_CMD ITEMS_CMD CMD...
	local sc=$1 page=$2 tool=$3 rep=$4 c=$5 bytes_cmd=$6 items_cmd=$7; shift 7
	local t=$B_WORK/t.$$ cpu0 cpu1 bytes items scpu
	cpu0=$(bench_server_cpu "$c")
	bench_measure "$t" "$@" ||
		{ tail -n 5 "$t.err" >&2; bench_die "$tool failed ($sc, page size $page, run $rep)"; }
	cpu1=$(bench_server_cpu "$c")
	bytes=$(eval "$bytes_cmd")
	items=$(eval "$items_cmd")
	rm -f "$t.out"
	read -r wall rss user sys <"$t"
	scpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$page" "$tool" "$rep" "$wall" "$rss" \
		"$user" "$sys" "$bytes" "$scpu" "$items" >>"$DATA"
	bench_log "$sc page $page $tool #$rep: ${wall}s, $((rss / 1024)) MiB, CPU $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')s, $items items, server CPU ${scpu}s"
}

backup_dir() { find "$XDG_DATA_HOME/kahu" -type d -name "$1" -print -quit; }
kahu_items() { # BINARY NAME
	"$1" -q backup describe "$2" -o json 2>/dev/null |
		"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["items"])'
}

# kahu (each binary) and kubectl at each page size, interleaved, BENCH_REPS times.
measure() { # SCENARIO CLUSTER PAGES KUBECTL_PAGES KUBECTL_ARGS...
	local sc=$1 c=$2 pages=$3 kpages=$4; shift 4
	local kc rep page name bin tool
	kc=$(bench_kubeconfig "$c")
	[ -n "${B_KUBECTL_VERSION:-}" ] || bench_kubectl_version "$c"
	"$KUBECTL" --kubeconfig "$kc" api-resources >/dev/null 2>&1 || true # discovery cache, untimed
	for rep in $(seq 1 "$BENCH_REPS"); do
		for page in $pages; do
			for tool in base kahu; do
				bin=$KAHU
				if [ "$tool" = base ]; then
					[ -n "${KAHU_BASE:-}" ] || continue
					bin=$KAHU_BASE
				fi
				name=m-$sc-$page-$tool-$rep
				run_one "$sc" "$page" "$tool" "$rep" "$c" 'du -sb "$(backup_dir "$name")" | cut -f1' \
					'kahu_items "$bin" "$name"' \
					"$bin" --kubeconfig "$kc" --no-progress -q --page-size "$page" backup create "$name"
				"$KAHU" -q backup delete "$name" --yes >/dev/null 2>&1 ||
					rm -rf "$(backup_dir "$name")"
			done
			if [ "$WITH_KUBECTL" = 1 ] && [[ " $kpages " == *" $page "* ]] && [ "$rep" -le "$KUBECTL_REPS" ]; then
				run_one "$sc" "$page" kubectl "$rep" "$c" 'stat -c %s "$t.out"' 'echo -' \
					"$KUBECTL" --kubeconfig "$kc" get "$@" -o json --chunk-size="$page"
			fi
		done
	done
}

for sc in $SCENARIOS; do
	note_start
	case $sc in
	mixed)
		bench_log "(i) $MIXED_N objects of 1-4 KB over 50 namespaces: starting the test cluster"
		bench_cluster_start "$sc" --no-save --mixed "$MIXED_N" --mixed-namespaces 50
		measure "$sc" "$sc" "$PAGES" "$PAGES" configmaps,secrets,services,deployments -A
		;;
	crds)
		bench_log "(ii) $CRDS_N CRDs of $CRD_SIZE bytes: starting the test cluster"
		bench_cluster_start "$sc" --no-save --crds "$CRDS_N" --crd-size "$CRD_SIZE"
		measure "$sc" "$sc" "$PAGES" "$KUBECTL_CRD_PAGES" customresourcedefinitions
		;;
	configmaps)
		bench_log "(iii) $CM_N ConfigMaps: starting the test cluster"
		bench_cluster_start "$sc" --no-save --synthetic "$CM_N" --synthetic-namespaces 10 --synthetic-size 512
		measure "$sc" "$sc" 500 500 configmaps -A
		if [ "$PROFILE" = 1 ] && command -v perf >/dev/null &&
			perf record -q -F 499 -g -o "$B_WORK/perf.data" -- "$KAHU" --kubeconfig \
				"$(bench_kubeconfig "$sc")" --no-progress -q backup create prof >/dev/null 2>"$B_WORK/perf.err"; then
			bench_log "(iii): reading the profile"
			perf report -i "$B_WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null |
				grep -E '^ +[0-9.]+%' | head -n 8 >"$DATA.perf-dso.txt" || true
			perf report -i "$B_WORK/perf.data" --no-children --sort sym --stdio 2>/dev/null |
				grep -E '^ +[0-9.]+%' | head -n 15 >"$DATA.perf-sym.txt" || true
		fi
		;;
	*) bench_die "unknown scenario $sc (mixed, crds, configmaps)" ;;
	esac
	bench_cluster_stop "$sc"
	note_end "$sc"
done

body=$B_WORK/section.md
{
	echo "## Memory and CPU: objects of real sizes, the previous release against this build"
	echo
	bench_machine
	echo "- The machine's 2 cores may be shared with other work: the load average is noted per scenario; compare the rows of one scenario (interleaved runs), not across reports"
} >"$body"
"$PYTHON" - "$DATA" "$META" "$DATA" "$MIXED_N" "$CRDS_N" "$CRD_SIZE" "$CM_N" >>"$body" <<'EOF'
import os, sys
data, metaf, perfbase = sys.argv[1:4]
mixed_n, crds_n, crd_size, cm_n = map(int, sys.argv[4:8])
meta = dict(l.rstrip("\n").split("\t", 1) for l in open(metaf) if "\t" in l)  # the last of each key
rows = {}
for line in open(data):
    sc, page, tool, rep, wall, rss, user, sys_, nbytes, scpu, items = line.rstrip("\n").split("\t")
    rows.setdefault((sc, int(page), tool), []).append({
        "wall": float(wall), "rss": int(rss) / 1024.0, "cpu": float(user) + float(sys_),
        "bytes": int(nbytes or 0), "scpu": float(scpu), "items": None if items == "-" else int(items)})

def med(vs):
    vs = sorted(vs)
    return vs[(len(vs) - 1) // 2] if len(vs) % 2 else (vs[len(vs) // 2 - 1] + vs[len(vs) // 2]) / 2

def cell(rs, k, fmt):
    vs = [r[k] for r in rs]
    if len(vs) > 1 and min(vs) != max(vs):
        return (fmt + " (" + fmt + "–" + fmt + ")") % (med(vs), min(vs), max(vs))
    return fmt % med(vs)

label = {"base": "kahu, %s (`%s`)" % (meta.get("base_label"), meta.get("base", "?")),
         "kahu": "kahu, %s (`%s`)" % (meta.get("kahu_label"), meta.get("kahu", "?")),
         "kubectl": "kubectl get … -o json --chunk-size=P"}
print("- kahu: `kahu --page-size P backup create` with otherwise default settings (encryption on, zstd 3, "
      "--parallel 4), the whole cluster, into a filesystem repository; kubectl: `kubectl get TYPES -o json "
      "--chunk-size=P` to a file (its discovery cache warm). Runs interleaved; median with the range in parentheses. "
      "Peak RSS and CPU (user + system) from GNU time; server CPU: the test server's during the run.")
print()
scen = [("mixed", "(i) %s objects of 1–4 KB (ConfigMaps, Secrets, Services, Deployments over 50 namespaces)" % format(mixed_n, ","), mixed_n),
        ("crds", "(ii) %s CRDs of %s bytes (%.0f MiB of CRDs; realistic openAPI v3 schemas)" % (format(crds_n, ","), format(crd_size, ","), crds_n * crd_size / 1048576.0), crds_n),
        ("configmaps", "(iii) %s ConfigMaps (512-byte payloads, 10 namespaces)" % format(cm_n, ","), cm_n)]
for sc, title, n in scen:
    keys = sorted({(p, t) for (s, p, t) in rows if s == sc}, key=lambda k: (k[0], ["base", "kahu", "kubectl"].index(k[1])))
    if not keys:
        continue
    print("### " + title)
    print()
    if meta.get("ran_" + sc):
        print("Ran " + meta["ran_" + sc] + ".")
        print()
    print("| page size | tool | runs | wall s | peak RSS MiB | CPU s | CPU µs per object | objects stored | server CPU s | bytes written |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p, t in keys:
        rs = rows[(sc, p, t)]
        items = [r["items"] for r in rs if r["items"] is not None]
        per = n if not items else med(items)
        print("| %d | %s | %d | %s | %s | %s | %.1f | %s | %s | %s |" % (
            p, label[t], len(rs), cell(rs, "wall", "%.2f"), cell(rs, "rss", "%.1f"), cell(rs, "cpu", "%.2f"),
            med([r["cpu"] for r in rs]) / per * 1e6, format(int(med(items)), ",") if items else "–",
            cell(rs, "scpu", "%.2f"), format(int(med([r["bytes"] for r in rs])), ",")))
    print()

# The issue's targets, for this build (and what the previous release measured).
def get(sc, p, t, k, f=max):
    rs = rows.get((sc, p, t))
    return None if not rs else f([r[k] for r in rs])
out = []
for sc, lim in (("mixed", 32), ("crds", 48)):
    for p in sorted({p for (s, p, t) in rows if s == sc}):
        v = get(sc, p, "kahu", "rss")
        if v is None:
            continue
        b = get(sc, p, "base", "rss")
        out.append("| %s, page size %d: peak RSS ≤ %d MiB (largest run) | %.1f MiB%s | %s |" % (
            "(i) 1–4 KB objects" if sc == "mixed" else "(ii) 1 MiB CRDs", p, lim, v,
            "" if b is None else " (previous release: %.1f MiB)" % b, "PASS" if v <= lim else "MISS"))
for p in sorted({p for (s, p, t) in rows if s == "configmaps"}):
    k, b = get("configmaps", p, "kahu", "cpu", med), get("configmaps", p, "base", "cpu", med)
    kw, bw = get("configmaps", p, "kahu", "wall", med), get("configmaps", p, "base", "wall", med)
    if k is not None and b is not None:
        out.append("| (iii) CPU time per object ≤ 0.5 × the previous release's | %.1f µs / %.1f µs = %.2f× | %s |" % (
            k / cm_n * 1e6, b / cm_n * 1e6, k / b, "PASS" if k <= 0.5 * b else "MISS"))
        out.append("| (iii) wall time no worse than the previous release's | %.2f s / %.2f s | %s |" % (
            kw, bw, "PASS" if kw <= bw * 1.05 else "MISS"))
if out:
    print("### Targets (issue 10), for this build")
    print()
    print("| target | measured | result |")
    print("|---|---|---|")
    print("\n".join(out))
    print()
pf = perfbase + ".perf-dso.txt"
if os.path.exists(pf) and os.path.getsize(pf):
    print("`perf record` of one run of this build in (iii), samples by library and the top functions (self time):")
    print()
    print("```")
    print(open(pf).read().rstrip())
    print()
    print(open(perfbase + ".perf-sym.txt").read().rstrip())
    print("```")
EOF
bench_results_write "$body"

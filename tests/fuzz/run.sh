#!/usr/bin/env bash
# make fuzz: runs the fuzz targets one after another, FUZZ_SECONDS each (libFuzzer
# -max_total_time), in a build configured with --enable-fuzz.  Prints TAP (one line per
# target, then automake-style "# PASS:" / "# FAIL:" totals) and exits non-zero when a
# target found something.
#
#   FUZZ_PROGS     the programs (tests/fuzz/fuzz.mk)
#   FUZZ_TARGETS   only these names (e.g. "list envelope"); default: all
#   FUZZ_SECONDS   per target (default 600)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 20)
#   FUZZ_MERGE=1   afterwards, merge the inputs that add coverage into the source tree's
#                  seed corpus (tests/fuzz/corpus/<name>/); never done otherwise
#   FUZZ_FRESH=1   start from the seeds only, dropping what earlier runs collected
#   KAHU_CORPUS    the shared manifest corpus (default ../shared/corpus beside the
#                  source tree): when present, its objects become extra List bodies for
#                  the list target (in fuzz/list/shared/ only; they are not ours to commit)
#
# Work files live in fuzz/<name>/ of the build directory: corpus/ (the working copy of
# the seeds, kept between runs), crashes/ (inputs that crashed, leaked, hung or ran out
# of memory; replay one with ./tests/fuzz/fuzz_<name> FILE), log.
set -u
: "${top_srcdir:?}" "${top_builddir:?}" "${FUZZ_PROGS:?}"
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-20}
FUZZ_TARGETS=${FUZZ_TARGETS:-}
KAHU_CORPUS=${KAHU_CORPUS:-$top_srcdir/../shared/corpus}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

progs=()
for prog in $FUZZ_PROGS; do
	name=${prog##*/fuzz_}
	if [ -n "$FUZZ_TARGETS" ]; then
		case " $FUZZ_TARGETS " in *" $name "*) ;; *) continue ;; esac
	fi
	progs+=("$prog")
done
for t in $FUZZ_TARGETS; do
	case " $FUZZ_PROGS " in
	*"/fuzz_$t "*) ;;
	*) echo "make fuzz: no fuzz target named $t (FUZZ_TARGETS)" >&2; exit 2 ;;
	esac
done

# List bodies from the shared corpus: one response (see fuzz_list.c) per file and kind.
shared_list_seeds() { # DIR
	[ -d "$KAHU_CORPUS/manifests" ] || return 0
	python3 - "$KAHU_CORPUS/manifests" "$1" <<'PY' || true
import json, os, sys
try:
    import yaml
except ImportError:
    sys.exit(0)
src, out = sys.argv[1], sys.argv[2]
n = 0
for d, _, files in os.walk(src):
    for f in sorted(files):
        if not f.endswith((".yaml", ".yml")):
            continue
        try:
            docs = [x for x in yaml.safe_load_all(open(os.path.join(d, f))) if isinstance(x, dict)]
        except Exception:
            continue
        kinds = {}
        for o in docs:
            kinds.setdefault(str(o.get("kind")), []).append(o)
        for kind, items in kinds.items():
            body = {"kind": kind + "List", "apiVersion": "v1",
                    "metadata": {"resourceVersion": "1"}, "items": items}
            n += 1
            with open(os.path.join(out, "shared-%03d" % n), "w") as fh:
                fh.write("200\n\n" + json.dumps(body, default=str))
PY
}

n=0
passed=0
failed=0
for prog in "${progs[@]}"; do
	name=${prog##*/fuzz_}
	n=$((n + 1))
	work=$top_builddir/fuzz/$name
	[ "${FUZZ_FRESH:-0}" = 1 ] && rm -rf "$work/corpus"
	mkdir -p "$work/corpus" "$work/crashes"
	seeds=$top_srcdir/tests/fuzz/corpus/$name
	regs=$top_srcdir/tests/fuzz/regressions/$name
	[ -d "$seeds" ] && find "$seeds" -maxdepth 1 -type f ! -name '.*' -exec cp -f -t "$work/corpus" {} +
	if [ -d "$regs" ]; then
		for f in "$regs"/*; do [ -f "$f" ] && cp -f "$f" "$work/corpus/regression-${f##*/}"; done
	fi
	chmod -R u+w "$work/corpus"
	# Seeds made from the shared corpus go to a directory of their own: libFuzzer reads
	# every directory given and writes new inputs only to the first, and FUZZ_MERGE
	# merges only that one.
	extra=()
	if [ "$name" = list ]; then
		rm -rf "$work/shared" && mkdir -p "$work/shared"
		shared_list_seeds "$work/shared"
		extra=("$work/shared")
	fi
	dict=()
	[ -f "$top_srcdir/tests/fuzz/dict/$name.dict" ] && dict=(-dict="$top_srcdir/tests/fuzz/dict/$name.dict")
	before=$(find "$work/crashes" -type f | wc -l)
	echo "# fuzz $name: $FUZZ_SECONDS s on $(find "$work/corpus" -type f | wc -l) inputs" >&2
	"$top_builddir/$prog" -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/crashes/" \
		"${dict[@]}" "$work/corpus" "${extra[@]}" >"$work/log" 2>&1
	rc=$?
	after=$(find "$work/crashes" -type f | wc -l)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log" | tail -n1)
	last=$(grep -E '^#[0-9]+[[:space:]]+[A-Z]+[[:space:]].*cov:' "$work/log" | tail -n1)
	cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	eps=$(printf '%s\n' "$last" | sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p')
	if [ "$rc" -eq 0 ] && [ "$after" -eq "$before" ]; then
		passed=$((passed + 1))
		echo "ok $n - fuzz $name: ${FUZZ_SECONDS} s, ${runs:-?} runs (${eps:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, peak RSS ${rss:-?} MB"
	else
		failed=$((failed + 1))
		what=$(grep -m1 -E '^SUMMARY:|ERROR: libFuzzer|==[0-9]+==ERROR' "$work/log")
		echo "not ok $n - fuzz $name (exit $rc): ${what:-see $work/log}"
		grep -E '^artifact_prefix|Test unit written to' "$work/log" | sed 's/^/#   /'
		tail -n 40 "$work/log" | sed 's/^/#   /'
	fi
	if [ "${FUZZ_MERGE:-0}" = 1 ] && [ -d "$seeds" ]; then
		"$top_builddir/$prog" -merge=1 -timeout="$FUZZ_TIMEOUT" "$seeds" "$work/corpus" \
			>"$work/merge.log" 2>&1 || echo "# merge into $seeds failed: see $work/merge.log"
	fi
done
echo "1..$n"
echo "# TOTAL: $n"
echo "# PASS:  $passed"
echo "# FAIL:  $failed"
[ "$failed" -eq 0 ]

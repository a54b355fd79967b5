#!/usr/bin/env bash
# Replay: every fuzz target runs once on each of its seeds (tests/fuzz/corpus/<name>/)
# and each input of a fixed finding (tests/fuzz/regressions/<name>/).  One TAP line per
# target.  FUZZ_PROGS (from tests/fuzz/fuzz.mk) lists the programs.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${FUZZ_PROGS:?FUZZ_PROGS is not set (run through make check)}"

log=$(mktemp "${TMPDIR:-/tmp}/kahu-fuzz-replay.XXXXXX")
trap 'rm -f "$log"' EXIT
n=0
failed=0
for prog in $FUZZ_PROGS; do
	name=${prog##*/fuzz_}
	n=$((n + 1))
	files=()
	for d in "$top_srcdir/tests/fuzz/corpus/$name" "$top_srcdir/tests/fuzz/regressions/$name"; do
		[ -d "$d" ] || continue
		while IFS= read -r -d '' f; do files+=("$f"); done \
			< <(find "$d" -type f ! -name '.*' -print0 | sort -z)
	done
	if [ ${#files[@]} -eq 0 ]; then
		echo "not ok $n - replay $name: no seed in tests/fuzz/corpus/$name"
		failed=$((failed + 1))
		continue
	fi
	# A libFuzzer binary runs the files it is given once each and stops at the first
	# crash; so does the replay main of other builds.
	if "$top_builddir/$prog" "${files[@]}" >"$log" 2>&1; then
		echo "ok $n - replay $name: ${#files[@]} inputs"
	else
		echo "not ok $n - replay $name (exit $?)"
		sed 's/^/#   /' "$log" | tail -n 60
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]

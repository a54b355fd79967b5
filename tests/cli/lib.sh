# kahu CLI test library: sourced by every tests/cli/t-*.sh script.
#
# Each script is a TAP producer run by automake's TAP driver.  It runs the real kahu
# binary in a private temporary directory that is removed on exit.
#
#   . "$(dirname "$0")/lib.sh"
#   t_ok   "description" command args...    # passes when the command exits 0
#   t_fail "description" command args...    # passes when the command exits non-zero
#   t_exit CODE "description" command args... # passes when it exits with CODE
#   t_grep "description" PATTERN FILE       # passes when grep -E PATTERN FILE matches
#   t_skip "description" "reason"
#   t_done                                  # prints the plan; call last
#
# Output of the last t_* command is in $T_OUT (stdout) and $T_ERR (stderr) files.

set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
KAHU=${KAHU:-$top_builddir/kahu}
PYTHON=${PYTHON:-python3}
KAHU_CORPUS=${KAHU_CORPUS:-$top_srcdir/../shared/corpus}
export KAHU_CORPUS

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/kahu-test.XXXXXX")
T_OUT=$T_DIR/stdout
T_ERR=$T_DIR/stderr
T_N=0
T_FAILED=0
T_CLEANUP=()

t_cleanup() {
	local c
	for c in "${T_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
	rm -rf "$T_DIR"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# Keep the user's real configuration out of the tests.
export HOME=$T_DIR/home XDG_CONFIG_HOME=$T_DIR/home/.config XDG_DATA_HOME=$T_DIR/home/.local/share
mkdir -p "$HOME"
unset KUBECONFIG KAHU_CONFIG KAHU_KEY_FILE KAHU_PASSPHRASE_FILE

t_result() { # status desc
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		T_FAILED=$((T_FAILED + 1))
		echo "not ok $T_N - $2"
		if [ -s "$T_OUT" ]; then sed 's/^/#   out: /' "$T_OUT" | head -n 40; fi
		if [ -s "$T_ERR" ]; then sed 's/^/#   err: /' "$T_ERR" | head -n 40; fi
	fi
}

t_run() { "$@" >"$T_OUT" 2>"$T_ERR"; }

t_ok() { local d=$1; shift; t_run "$@"; local rc=$?; [ $rc -eq 0 ] || echo "#   exit $rc: $*"; t_result $rc "$d"; }
t_fail() { local d=$1; shift; t_run "$@"; local rc=$?; [ $rc -ne 0 ]; t_result $? "$d"; }
t_exit() {
	local want=$1 d=$2; shift 2
	t_run "$@"; local rc=$?
	[ "$rc" -eq "$want" ] || echo "#   exit $rc, wanted $want: $*"
	[ "$rc" -eq "$want" ]; t_result $? "$d"
}
t_grep() { grep -Eq -- "$2" "$3"; local rc=$?; [ $rc -eq 0 ] || echo "#   no match for /$2/ in $3"; t_result $rc "$1"; }
t_nogrep() { ! grep -Eq -- "$2" "$3"; local rc=$?; [ $rc -eq 0 ] || echo "#   unexpected match for /$2/ in $3"; t_result $rc "$1"; }
# t_py "description" 'python code using d (the parsed JSON)' FILE: passes when the code
# runs without an exception on the JSON in FILE (read from a copy, so FILE may be $T_OUT).
t_py() {
	local d=$1 code=$2 f=$3
	cp "$f" "$T_DIR/py.json"
	t_run "$PYTHON" -c "import json, sys
d = json.load(open(sys.argv[1]))
$code" "$T_DIR/py.json"
	local rc=$?
	t_result $rc "$d"
}
t_skip() { T_N=$((T_N + 1)); echo "ok $T_N - $1 # SKIP $2"; }
t_done() { echo "1..$T_N"; [ "$T_FAILED" -eq 0 ]; }

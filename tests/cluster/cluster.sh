# kahu test cluster helpers: source after tests/cli/lib.sh.
#
#   cluster_start [NAME] [server args...]   start tests/cluster/kahu-test-cluster in the background
#                                           (with --kahu-binary $KAHU when $KAHU is executable,
#                                           and --kahu-providers: the build tree's providers)
#   cluster_admin METHOD PATH [BODY|@FILE]  call an admin endpoint (/_admin/...), print the body
#   cluster_stats_get FIELD                 one field of /_admin/stats (e.g. peak_concurrency)
#   cluster_stop [NAME]                     SIGTERM (the server persists its store), wait
#   cluster_restart [NAME]                  stop, then start again with the same arguments
#
# cluster_start exports, for the instance started last:
#   CLUSTER_URL CLUSTER_KUBECONFIG CLUSTER_TOKEN CLUSTER_CA CLUSTER_PID CLUSTER_DIR CLUSTER_NAME
# and per instance CLUSTER_URL_<NAME> CLUSTER_KUBECONFIG_<NAME> ... (NAME upper-cased,
# non-alphanumerics as _).  cluster_admin/cluster_stats_get use the instance named by
# $CLUSTER_NAME (the last started) unless CLUSTER_USE=NAME is set.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${PYTHON:=python3}"
KAHU_TEST_CLUSTER=${KAHU_TEST_CLUSTER:-$top_srcdir/tests/cluster/kahu-test-cluster}

_cluster_var() { # NAME -> suffix
	printf '%s' "$1" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9\n' '_'
}

_cluster_export() { # NAME
	local s; s=$(_cluster_var "$1")
	local v
	for v in URL KUBECONFIG TOKEN CA PID DIR; do
		eval "CLUSTER_$v=\${CLUSTER_${v}_$s}"
		export "CLUSTER_$v"
	done
	CLUSTER_NAME=$1
	export CLUSTER_NAME
}

cluster_start() {
	local name=main
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then name=$1; shift; fi
	local s; s=$(_cluster_var "$name")
	local dir=$T_DIR/cluster-$name
	mkdir -p "$dir"
	if [ $# -gt 0 ]; then
		eval "_CLUSTER_ARGS_$s=\$(printf '%q ' \"\$@\")"
	else
		eval "_CLUSTER_ARGS_$s="
	fi
	: >"$dir/server.out"
	local kb=() # pods of the kahu image run the kahu under test
	if [ -n "${KAHU:-}" ] && [ -x "$KAHU" ]; then
		kb=(--kahu-binary "$(cd "$(dirname "$KAHU")" && pwd)/$(basename "$KAHU")")
		local pd pdirs=
		for pd in fs s3 sftp; do # the build tree's providers, as the image carries them
			pd=$(cd "$(dirname "$KAHU")" && pwd)/backends/$pd/.libs
			[ -d "$pd" ] && pdirs=${pdirs:+$pdirs:}$pd
		done
		[ -n "$pdirs" ] && kb+=(--kahu-providers "$pdirs")
	fi
	"$PYTHON" "$KAHU_TEST_CLUSTER" --state-dir "$dir" "${kb[@]}" "$@" >"$dir/server.out" 2>>"$dir/server.err" &
	local pid=$!
	T_CLEANUP+=("kill $pid 2>/dev/null; wait $pid 2>/dev/null")
	local i url=
	for i in $(seq 1 1200); do # 120 s: large generated states on a busy machine
		url=$(sed -n 's/^READY \(https:.*\)$/\1/p' "$dir/server.out" 2>/dev/null)
		[ -n "$url" ] && break
		if ! kill -0 "$pid" 2>/dev/null; then break; fi
		sleep 0.1
	done
	if [ -z "$url" ]; then
		echo "# cluster_start $name: the test cluster did not come up; its stderr:" >&2
		sed 's/^/#   /' "$dir/server.err" >&2
		kill "$pid" 2>/dev/null
		return 1
	fi
	eval "CLUSTER_URL_$s=\$url"
	eval "CLUSTER_KUBECONFIG_$s=\$dir/kubeconfig"
	eval "CLUSTER_TOKEN_$s=\$(cat \"\$dir/admin.token\")"
	eval "CLUSTER_CA_$s=\$dir/ca.crt"
	eval "CLUSTER_PID_$s=\$pid"
	eval "CLUSTER_DIR_$s=\$dir"
	local v
	for v in URL KUBECONFIG TOKEN CA PID DIR; do export "CLUSTER_${v}_$s"; done
	_cluster_export "$name"
}

_cluster_pick() { # sets _cu _ct _cc for CLUSTER_USE or the current instance
	local s
	if [ -n "${CLUSTER_USE:-}" ]; then
		s=$(_cluster_var "$CLUSTER_USE")
		eval "_cu=\${CLUSTER_URL_$s:-}; _ct=\${CLUSTER_TOKEN_$s:-}; _cc=\${CLUSTER_CA_$s:-}"
	else
		_cu=${CLUSTER_URL:-}; _ct=${CLUSTER_TOKEN:-}; _cc=${CLUSTER_CA:-}
	fi
	[ -n "$_cu" ] || { echo "cluster: no test cluster started" >&2; return 1; }
}

cluster_admin() {
	local method=$1 path=$2 body=${3-}
	local _cu _ct _cc
	_cluster_pick || return 1
	case $path in /*) ;; *) path=/_admin/$path ;; esac
	local args=(-sS --fail-with-body --cacert "$_cc" -H "Authorization: Bearer $_ct" -X "$method")
	if [ -n "$body" ]; then
		if [ "${body#@}" != "$body" ]; then
			args+=(--data-binary "$body")
		else
			args+=(--data-binary @- )
		fi
		args+=(-H "Content-Type: application/json")
	fi
	if [ -n "$body" ] && [ "${body#@}" = "$body" ]; then
		printf '%s' "$body" | curl "${args[@]}" "$_cu$path"
	else
		curl "${args[@]}" "$_cu$path"
	fi
}

cluster_stats_get() {
	cluster_admin GET /_admin/stats | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
for p in sys.argv[1].split("."):
    d = d.get(p, 0) if isinstance(d, dict) else 0
print(json.dumps(d) if isinstance(d, (dict, list)) else d)' "$1"
}

cluster_stop() {
	local name=${1:-${CLUSTER_NAME:-main}}
	local s; s=$(_cluster_var "$name")
	local pid
	eval "pid=\${CLUSTER_PID_$s:-}"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	local i
	for i in $(seq 1 1200); do # 120 s: saving a large state on a busy machine
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	eval "CLUSTER_PID_$s="
	return 0
}

cluster_restart() {
	local name=${1:-${CLUSTER_NAME:-main}}
	local s; s=$(_cluster_var "$name")
	cluster_stop "$name"
	local a
	eval "a=\${_CLUSTER_ARGS_$s:-}"
	eval "cluster_start \"\$name\" $a"
}

# kahu benchmark helpers: sourced by bench/backup.sh and bench/restore.sh.
#
#   bench_init NAME              work dir, tools, traps; NAME names the RESULTS.md section
#   bench_cluster_start C ARGS   start a test cluster named C (state in $B_WORK/C)
#   bench_cluster_stop C         SIGTERM it and wait
#   bench_url C / bench_kubeconfig C / bench_admin C METHOD PATH [BODY]
#   bench_server_cpu C           CPU seconds (user+system, all threads) the server used so far
#   bench_measure OUT CMD...     run CMD under /usr/bin/time; OUT gets "wall rss_kib user sys",
#                                OUT.out and OUT.err its output
#   bench_median / bench_min / bench_max VALUES...
#   bench_machine                markdown lines: date, CPU, cores, memory, versions
#   bench_results_write FILE     replace this script's section of bench/RESULTS.md with FILE
#
# Every process started here is recorded and ended by the EXIT trap; the clusters listen
# on 127.0.0.1 only (the test server never binds anything else).

set -euo pipefail

B_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B_PIDS=()
B_WORK=

bench_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

bench_cleanup() {
	local p
	for p in "${B_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${B_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$B_WORK" ] && [ -z "${BENCH_KEEP:-}" ]; then
		rm -rf "$B_WORK"
	elif [ -n "$B_WORK" ]; then
		bench_log "kept $B_WORK (BENCH_KEEP is set)"
	fi
}

# Installs a Debian package when a tool is missing (root only, as on the project's
# machines); says what to install otherwise.
bench_need() { # COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		bench_log "installing $2 (for $1)"
		apt-get install -y -q "$2" >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$2" >/dev/null 2>&1; } ||
			bench_die "cannot install $2"
	fi
	command -v "$1" >/dev/null 2>&1 || bench_die "$1 is missing: install the package $2"
}

bench_init() { # SECTION
	B_SECTION=$1
	if [ -z "${KAHU:-}" ]; then
		for KAHU in "$B_TOP/build/kahu" "$B_TOP/kahu"; do
			[ -x "$KAHU" ] && break
		done
	fi
	[ -x "$KAHU" ] || bench_die "no kahu binary: build it (make kahu) and set KAHU=path/to/kahu"
	KAHU=$(cd "$(dirname "$KAHU")" && pwd)/$(basename "$KAHU")
	if [ -z "${KUBECTL:-}" ]; then
		if [ -x /usr/bin/kubectl ]; then KUBECTL=/usr/bin/kubectl; else KUBECTL=kubectl; fi
	fi
	command -v "$KUBECTL" >/dev/null || bench_die "no kubectl: set KUBECTL=path/to/kubectl"
	PYTHON=${PYTHON:-python3}
	BENCH_REPS=${BENCH_REPS:-3}
	[ -x /usr/bin/time ] || bench_need /usr/bin/time time
	bench_need zstd zstd
	bench_need "$PYTHON" python3
	RESULTS=${BENCH_RESULTS:-$B_TOP/bench/RESULTS.md}

	B_WORK=$(mktemp -d "${TMPDIR:-/tmp}/kahu-bench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	# kahu's repository, key and configuration, and kubectl's discovery cache, live in
	# the work directory: the user's own are never read or written.
	export HOME=$B_WORK/home XDG_CONFIG_HOME=$B_WORK/home/.config
	export XDG_DATA_HOME=$B_WORK/home/.local/share
	mkdir -p "$HOME"
	unset KUBECONFIG KAHU_CONFIG KAHU_KEY_FILE KAHU_PASSPHRASE_FILE
}

bench_cluster_start() { # NAME [server args...]
	local name=$1; shift
	local dir=$B_WORK/$name
	mkdir -p "$dir"
	"$PYTHON" "$B_TOP/tests/cluster/kahu-test-cluster" --state-dir "$dir" --port 0 --fresh "$@" \
		>"$dir/server.out" 2>"$dir/server.err" &
	local pid=$!
	B_PIDS+=("$pid")
	echo "$pid" >"$dir/pid"
	local i url=
	for i in $(seq 1 6000); do # 600 s: generating 500 MiB of CRDs on a busy machine takes minutes
		url=$(sed -n 's/^READY \(https:.*\)$/\1/p' "$dir/server.out" 2>/dev/null)
		[ -n "$url" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$url" ]; then
		sed 's/^/  server: /' "$dir/server.err" >&2
		bench_die "the test cluster $name did not come up"
	fi
	echo "$url" >"$dir/url"
}

bench_cluster_stop() { # NAME
	local dir=$B_WORK/$1 pid
	pid=$(cat "$dir/pid")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

bench_url() { cat "$B_WORK/$1/url"; }
bench_kubeconfig() { echo "$B_WORK/$1/kubeconfig"; }

bench_admin() { # NAME METHOD PATH [BODY]
	local dir=$B_WORK/$1
	local args=(-sS --fail --cacert "$dir/ca.crt" -X "$2"
		-H "Authorization: Bearer $(cat "$dir/admin.token")")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	curl "${args[@]}" "$(bench_url "$1")/_admin/$3"
}

bench_stat() { # NAME FIELD (a top-level number of /_admin/stats, or a.b)
	bench_admin "$1" GET stats | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d.get(k, 0) if isinstance(d, dict) else 0
print(d)' "$2"
}

bench_server_cpu() { # NAME -> seconds of CPU the server process used so far
	local pid hz
	pid=$(cat "$B_WORK/$1/pid")
	hz=$(getconf CLK_TCK)
	# Fields after the command name (which is in parentheses): utime is the 14th field
	# of the whole line, the 12th after ") ".
	sed 's/^.*) //' "/proc/$pid/stat" | awk -v hz="$hz" '{ printf "%.2f\n", ($12 + $13) / hz }'
}

bench_measure() { # OUTFILE CMD... -> OUTFILE: "wall_s maxrss_kib user_s sys_s"
	local out=$1; shift
	local rc=0
	# The command's output goes to OUTFILE.out and OUTFILE.err.
	/usr/bin/time -f '%e %M %U %S' -o "$out.time" "$@" >"$out.out" 2>"$out.err" || rc=$?
	# /usr/bin/time writes "Command exited with non-zero status N" first on failure.
	tail -n 1 "$out.time" >"$out"
	return $rc
}

bench_median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
bench_min() { printf '%s\n' "$@" | sort -g | head -n 1; }
bench_max() { printf '%s\n' "$@" | sort -g | tail -n 1; }

bench_machine() {
	local cpu mem kv
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	kv=$("$KAHU" version 2>/dev/null | head -n 1 || true)
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- Machine: $(nproc) cores ($cpu), $mem memory, $(uname -sr)"
	local head
	head=$(git -C "$B_TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
	echo "- kahu: \`$kv\` ($KAHU; the bench scripts ran from commit $head)"
	echo "- kubectl: $B_KUBECTL_VERSION ($KUBECTL)"
	echo "- Test cluster: tests/cluster/kahu-test-cluster ($("$PYTHON" --version 2>&1)), on 127.0.0.1"
}

# The client version kubectl reports against a running cluster (the dispatcher in
# /usr/bin picks the binary by the server's version).
bench_kubectl_version() { # CLUSTER
	B_KUBECTL_VERSION=$("$KUBECTL" --kubeconfig "$(bench_kubeconfig "$1")" version -o json 2>/dev/null |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])' ||
		echo unknown)
}

# RESULTS.md holds one section per script between markers, so backup.sh and restore.sh
# can each be run alone and leave the other's results in place.
bench_results_write() { # FILE
	local body=$1 tmp
	tmp=$(mktemp "$B_WORK/results.XXXXXX")
	[ -f "$RESULTS" ] || printf '# kahu benchmarks\n\nGenerated by bench/backup.sh and bench/restore.sh (see bench/README.md); do not edit by hand.\n' >"$RESULTS"
	"$PYTHON" - "$RESULTS" "$B_SECTION" "$body" "$tmp" <<'EOF'
import re, sys
path, name, body, tmp = sys.argv[1:5]
text = open(path, encoding="utf-8").read()
new = open(body, encoding="utf-8").read().rstrip("\n")
begin, end = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
block = "%s\n%s\n%s" % (begin, new, end)
pat = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
if pat.search(text):
    text = pat.sub(lambda m: block, text)
else:
    text = text.rstrip("\n") + "\n\n" + block + "\n"
# backup, restore, memory, providers, volumes, whichever ran first; then any other
# section (volumes-4G: volumes.sh at another size) in the order found
order = ["backup", "restore", "memory", "providers", "volumes"]
order += [n for n in re.findall(r"<!-- ([\w-]+):begin -->", text) if n not in order]
parts = {}
for n in order:
    m = re.search(re.escape("<!-- %s:begin -->" % n) + ".*?" + re.escape("<!-- %s:end -->" % n), text, re.S)
    if m:
        parts[n] = m.group(0)
head = re.split(r"<!-- [\w-]+:begin -->", text)[0].rstrip("\n")
text = head + "\n\n" + "\n\n".join(parts[n] for n in order if n in parts) + "\n"
open(tmp, "w", encoding="utf-8").write(text)
EOF
	mv "$tmp" "$RESULTS"
	bench_log "wrote $RESULTS"
}

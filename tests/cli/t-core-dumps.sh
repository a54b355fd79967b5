#!/usr/bin/env bash
# kahu keeps what it holds in memory (the bearer token, the key, Secret data) out of
# core files and away from other processes: mid-backup its core size limit is 0 (soft
# and hard) and it is not dumpable, so its memory cannot be opened through /proc by a
# process of the same user.  KAHU_DEBUG_CORE=1 leaves both as the user had them.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cluster_start main || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1

# A process with CAP_SYS_PTRACE may open any process's memory whatever its
# dumpability.  As root, kahu and the reader both run without that capability (and
# with the same capabilities otherwise), as two processes of an ordinary user do.
NOPTRACE=()
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null &&
		setpriv --bounding-set=-sys_ptrace --inh-caps=-sys_ptrace true 2>/dev/null; then
		NOPTRACE=(setpriv --bounding-set=-sys_ptrace --inh-caps=-sys_ptrace)
	else
		t_skip "kahu is not dumpable mid-backup" "running as root without setpriv"
		t_done
		exit 0
	fi
fi

# Every list is held for a long time: kahu is mid-backup (the kubeconfig read, the key
# loaded, requests in flight) until it is stopped.
cluster_admin POST /_admin/faults '[{"match":{"verb":"list"},"action":"slow","delay_ms":60000,"times":1000000}]' >/dev/null

lists_held() { # wait until the server holds one of kahu's lists
	local i n
	for i in $(seq 1 600); do
		n=$(cluster_admin GET /_admin/faults |
			"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["fired_total"])')
		[ "${n:-0}" -ge 1 ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# The limits kahu starts with: the soft core limit raised to the hard one, so that a 0
# seen below is kahu's doing.
HARD=$(ulimit -H -c)
limit_bytes() { if [ "$1" = unlimited ]; then echo unlimited; else echo $(($1 * 1024)); fi; }

# What /proc/PID/limits says of core files: "SOFT HARD".
core_limits() { awk '/^Max core file size/ { print $5, $6 }' "/proc/$1/limits"; }
# Is kahu dumpable?  0: yes, 1: no, 2: cannot tell here.  For an ordinary user the
# owner of /proc/PID/status says (root's when not dumpable); for root, whether another
# process without CAP_SYS_PTRACE may open its memory, which Yama's ptrace_scope (1 and
# up) forbids for any process not a descendant, dumpable or not.
YAMA=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
dumpable() {
	if [ "$(id -u)" != 0 ]; then
		[ "$(stat -c %u "/proc/$1/status")" = "$(id -u)" ]
		return
	fi
	[ "$YAMA" -ge 1 ] && return 2
	"${NOPTRACE[@]}" "$PYTHON" -c 'import sys; open(sys.argv[1], "rb").close()' "/proc/$1/mem" 2>/dev/null
}
t_dumpable() { # WANT(0|1) PID DESCRIPTION
	dumpable "$2"
	local got=$?
	if [ $got = 2 ]; then
		t_skip "$3" "Yama ptrace_scope $YAMA: another process may not open kahu's memory either way"
	else
		echo "dumpable: $got (0 yes, 1 no), wanted $1" >"$T_OUT"
		[ $got = "$1" ]; t_result $? "$3"
	fi
}

stop_kahu() { # PID: SIGTERM, wait; the exit status is the result
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

# ---- by default: no core, not dumpable ----
(ulimit -S -c "$HARD" && exec "${NOPTRACE[@]}" "$KAHU" --kubeconfig "$KC" backup create core-off) \
	>"$T_DIR/off.out" 2>"$T_DIR/off.err" &
pid=$!
lists_held $pid; t_result $? "a backup create is under way (its lists held by the server)"
core_limits $pid >"$T_OUT"
grep -qx "0 0" "$T_OUT"; t_result $? "... its core size limit is 0, soft and hard (/proc/PID/limits)"
t_dumpable 1 $pid "... and it is not dumpable: another process of the user cannot open its memory"
stop_kahu $pid; rc=$?
[ $rc -eq 143 ]; t_result $? "... and it still ends as usual on SIGTERM (143, got $rc)"

KAHU_DEBUG_CORE=0 "${NOPTRACE[@]}" "$KAHU" --kubeconfig "$KC" backup create core-zero \
	>"$T_DIR/zero.out" 2>"$T_DIR/zero.err" &
pid=$!
lists_held $pid; t_result $? "KAHU_DEBUG_CORE=0: a backup create is under way"
t_dumpable 1 $pid "... and is not dumpable either (only 1 turns the protection off)"
stop_kahu $pid

# ---- KAHU_DEBUG_CORE=1: as the user had them ----
if [ "$HARD" = 0 ]; then
	t_skip "KAHU_DEBUG_CORE=1 keeps the core size limit" "the hard core size limit here is 0"
	SOFT=0
else
	SOFT=1024
	[ "$HARD" != unlimited ] && [ "$HARD" -lt "$SOFT" ] && SOFT=$HARD
fi
(ulimit -S -c "$SOFT" && KAHU_DEBUG_CORE=1 exec "${NOPTRACE[@]}" "$KAHU" --kubeconfig "$KC" backup create core-on) \
	>"$T_DIR/on.out" 2>"$T_DIR/on.err" &
pid=$!
lists_held $pid; t_result $? "KAHU_DEBUG_CORE=1: a backup create is under way"
core_limits $pid >"$T_OUT"
want="$(limit_bytes "$SOFT") $(limit_bytes "$HARD")"
grep -qx "$want" "$T_OUT"; t_result $? "... its core size limits are as the user set them ($want)"
t_dumpable 0 $pid "... and it is dumpable, as without kahu's protection"
stop_kahu $pid
cp "$T_DIR/on.err" "$T_ERR"
t_grep "... with a warning that a core file may hold secrets" \
	"KAHU_DEBUG_CORE=1: core dumps are left enabled" "$T_ERR"

t_done

#!/usr/bin/env bash
# The progress line: shown on a terminal (types done, objects, bytes, rate), never in
# non-interactive runs, not with --no-progress or -q.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

if ! command -v script >/dev/null 2>&1; then
	t_skip "progress on a terminal" "script(1) from util-linux is not installed"
	t_done
	exit 0
fi

cluster_start main --synthetic 3000 || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
# Slow pages, so the run lasts long enough for the line to be drawn.
cluster_admin POST /_admin/faults '[{"match":{"resource":"configmaps"},"action":"slow","delay_ms":150,"times":1000}]' >/dev/null

# script(1) gives kahu a pseudo-terminal; what it drew ends up in the typescript.
t_ok "backup create on a terminal" script -qec "'$KAHU' --kubeconfig '$KC' --page-size 100 backup create tty1" "$T_DIR/tty1.typescript"
t_grep "the progress line is drawn" 'backing up: [0-9]+/[0-9]+ types, [0-9]+ objects, [0-9.]+ [KMG]?i?B, [0-9]+ objects/s' "$T_DIR/tty1.typescript"
# What the terminal shows on the result's line: the text after the last carriage
# return.  A progress line left behind would stand in front of the result.
t_run "$PYTHON" -c '
import sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
line = next(l for l in data.split("\n") if "Backup tty1 completed" in l)
shown = line.rstrip("\r").split("\r")[-1].replace("\x1b[K", "")
assert shown.startswith("Backup tty1 completed"), repr(line)' "$T_DIR/tty1.typescript"
t_result $? "and cleared before the result"

t_ok "backup create without a terminal" "$KAHU" --kubeconfig "$KC" --page-size 100 backup create plain1
t_nogrep "no progress line when stderr is not a terminal" 'backing up:' "$T_ERR"
t_grep "just the result" '^Backup plain1 completed' "$T_OUT"

t_ok "--no-progress on a terminal" script -qec "'$KAHU' --kubeconfig '$KC' --page-size 100 --no-progress backup create tty2" "$T_DIR/tty2.typescript"
t_nogrep "no progress line with --no-progress" 'backing up:' "$T_DIR/tty2.typescript"
t_ok "-q on a terminal" script -qec "'$KAHU' --kubeconfig '$KC' --page-size 100 -q backup create tty3" "$T_DIR/tty3.typescript"
t_nogrep "no progress line with -q" 'backing up:' "$T_DIR/tty3.typescript"
cluster_admin DELETE /_admin/faults >/dev/null

t_done

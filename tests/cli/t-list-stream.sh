#!/usr/bin/env bash
# kahu stores the items of a LIST response while the response is still arriving, and
# never an item that has not fully arrived.  The test cluster sends the configmaps list
# (1-4 KB objects, all in one response) in small chunks with pauses between them, and
# stops at several points of the body, some inside an item, until it is released.  At
# each stop the server reports how many items it has sent whole; kahu's -vv log must
# then show exactly that many configmaps stored: every item that arrived, none that is
# still incomplete, and the response is not complete yet.  No step depends on timing:
# each wait is for a state the server or kahu reports (a client that waited for the
# whole body would store nothing at the first stop: the waits give up after 120 s, so
# such a client fails the test instead of hanging it).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cluster_start main --mixed 600 --mixed-namespaces 6 --no-save ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1

CM='"match":{"verb":"list","resource":"configmaps"}'
HOLDS='[0.1,0.33,0.5,0.77,0.98]'
cluster_admin POST /_admin/faults "[{$CM,\"action\":\"ignore-limit\"},
	{$CM,\"action\":\"chunked\",\"piece\":997,\"pause_ms\":1,\"hold\":$HOLDS,\"times\":1}]" >/dev/null

"$KAHU" --kubeconfig "$KC" -vv backup create pieces --include-resources configmaps \
	>"$T_DIR/kahu.out" 2>"$T_DIR/kahu.err" &
pid=$!
T_CLEANUP+=("kill $pid 2>/dev/null")

stored() { grep -c '^configmaps [^ ]*: stored$' "$T_DIR/kahu.err"; }
# The server's state: "HELD ITEMS_SENT ITEMS INSIDE_ITEM" of the one held response.
held_state() {
	cluster_admin GET /_admin/faults | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
h = d.get("holding") or [{}]
print(d["held"], h[0].get("items_sent", -1), h[0].get("items", -1), int(bool(h[0].get("inside_item"))))'
}
# Waits, for as long as kahu runs, until the server holds the response.
wait_held() {
	local st i=0
	while st=$(held_state); [ "${st%% *}" != 1 ]; do
		kill -0 "$pid" 2>/dev/null && [ $((i += 1)) -le 2400 ] || break
		sleep 0.05
	done
	echo "$st"
	[ "${st%% *}" = 1 ]
}
# Waits, for as long as kahu runs, until it has stored N configmaps (or more).
wait_stored() { # N
	local n i=0
	while n=$(stored); [ "$n" -lt "$1" ]; do
		kill -0 "$pid" 2>/dev/null && [ $((i += 1)) -le 2400 ] || break
		sleep 0.05
	done
	echo "$n"
}

inside=0
for k in 1 2 3 4 5; do
	st=$(wait_held)
	t_result $? "stop $k: the server holds the rest of the response ($st)"
	read -r _ sent total in_item <<<"$st"
	n=$(wait_stored "$sent")
	[ "$n" = "$sent" ]
	t_result $? "... kahu has stored exactly the $sent items sent whole (stored: $n of $total)"
	[ "$sent" -lt "$total" ]; t_result $? "... before the response is complete"
	st2=$(held_state)
	[ "${st2%% *}" = 1 ] && [ "$(stored)" = "$sent" ]
	t_result $? "... and the server is still holding, kahu has stored no more"
	[ "$in_item" = 1 ] && inside=$((inside + 1))
	cluster_admin POST /_admin/faults/release >/dev/null
done
[ "$inside" -ge 1 ]; t_result $? "$inside of the stops cut an item in two, and it was not stored until complete"
wait "$pid"; rc=$?
[ $rc -eq 0 ] || sed 's/^/#   /' "$T_DIR/kahu.err" | tail -n 5
t_result $rc "the backup completes once the rest of the response has come"
cluster_admin GET /_admin/faults >"$T_DIR/faults.json"
t_py "... the list came in one chunked response" '
r = [x for x in d["rules"] if x["action"] == "chunked"][0]
assert r["fired"] == 1 and d["held"] == 0, d' "$T_DIR/faults.json"
"$KAHU" backup describe pieces -o json >"$T_DIR/describe.json" 2>/dev/null
t_py "... with every configmap ($total)" "
t = {x['resource']: x for x in d['types']}['configmaps']
assert d['status'] == 'Completed', d['status']
assert t['items'] == $total, t" "$T_DIR/describe.json"
[ "$(stored)" = "$total" ]; t_result $? "... each stored once"

t_done

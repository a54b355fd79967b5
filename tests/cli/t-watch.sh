#!/usr/bin/env bash
# The watch substrate of event-driven backups (src/kube/watch.c, src/engine/debounce.c)
# through tests/cli/watchdrv against the test cluster: a burst of changes gives one
# start, a later change another; a dropped watch is resumed without losing or repeating
# an event; changes made while no watch is open arrive once it is open again; a 410 leads
# to a re-list that reports what changed meanwhile.  Every wait is for a line the driver
# prints or a state the server reports (giving up after 120 s), never for a time.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

WATCHDRV=$top_builddir/tests/cli/watchdrv
KUBECTL=${KUBECTL:-kubectl}
command -v "$KUBECTL" >/dev/null 2>&1 || { t_skip "watch" "kubectl is not installed"; t_done; exit 0; }

cluster_start main --no-save --watch-bookmark-interval 0.5 ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
k() { "$KUBECTL" --kubeconfig "$KC" "$@"; }
OUT=$T_DIR/drv.out
ERR=$T_DIR/drv.err

until_grep() { # PATTERN FILE
	local i
	for i in $(seq 1 1200); do grep -Eq -- "$1" "$2" && return 0; sleep 0.1; done
	echo "#   no /$1/ in $2 after 120 s"
	return 1
}
count() { grep -Ec -- "$1" "$OUT"; }
fired() { cluster_admin GET /_admin/faults | "$PYTHON" -c 'import json,sys; print(sum(r["fired"] for r in json.load(sys.stdin)["rules"]))'; }
until_fired() {
	local i
	for i in $(seq 1 1200); do [ "$(fired)" -ge "$1" ] && return 0; sleep 0.1; done
	return 1
}
# Waits until a line matching PATTERN2 follows the first line matching PATTERN1.
until_after() { # PATTERN1 PATTERN2
	local i
	for i in $(seq 1 1200); do
		awk -v a="$1" -v b="$2" 'seen && $0 ~ b { found = 1; exit } $0 ~ a { seen = 1 } END { exit !found }' "$OUT" &&
			return 0
		sleep 0.1
	done
	echo "#   no /$2/ after /$1/ in $OUT after 120 s"
	return 1
}

# --- the server's side, raw -----------------------------------------------------------------
api() { curl -sS --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" "$CLUSTER_URL$1"; }
t_ok "a namespace to watch" k create namespace w
t_ok "a watch from a resourceVersion older than the history gets an ERROR event" \
	sh -c "$(declare -f api); CLUSTER_CA='$CLUSTER_CA' CLUSTER_TOKEN='$CLUSTER_TOKEN' CLUSTER_URL='$CLUSTER_URL' api '/api/v1/namespaces/w/configmaps?watch=1&resourceVersion=5&timeoutSeconds=5' >'$T_OUT'"
t_grep "... a Status 410 Expired, as kube-apiserver sends it" \
	'^\{"type":"ERROR","object":\{"kind":"Status","apiVersion":"v1","metadata":\{\},"status":"Failure","message":"too old resource version: 5 \([0-9]+\)","reason":"Expired","code":410\}\}$' "$T_OUT"
api '/api/v1/namespaces/w/configmaps?resourceVersion=5&resourceVersionMatch=Exact' >"$T_DIR/exact.json"
t_grep "a LIST of an Exact resourceVersion older than the history is 410" '"reason":"Expired".*"code":410' "$T_DIR/exact.json"
api '/api/v1/namespaces/w/configmaps?resourceVersion=5' >"$T_DIR/nolder.json"
t_grep "a LIST not older than an old resourceVersion is the current state" '"kind":"ConfigMapList"' "$T_DIR/nolder.json"
api '/api/v1/namespaces/w/configmaps?resourceVersionMatch=Exact' >"$T_DIR/rvm.json"
t_grep "resourceVersionMatch without a resourceVersion is refused" 'resourceVersionMatch is forbidden unless resourceVersion is provided' "$T_DIR/rvm.json"
api '/api/v1/namespaces/w/configmaps?watch=true&allowWatchBookmarks=true&timeoutSeconds=2' >"$T_DIR/bm.json"
t_grep "a watch with allowWatchBookmarks gets BOOKMARKs" '^\{"type":"BOOKMARK","object":\{"kind":"ConfigMap","apiVersion":"v1","metadata":\{"resourceVersion":"[0-9]+"\}\}\}$' "$T_DIR/bm.json"

# --- the watcher and the debounce --------------------------------------------------------------
"$WATCHDRV" -k "$KC" -q 5000 -o v1,configmaps,namespaced,w v1,secrets,namespaced,w >"$OUT" 2>"$ERR" &
drv=$!
T_CLEANUP+=("kill $drv 2>/dev/null")
t_ok "the driver lists configmaps" until_grep '^SYNCED configmaps 1 [0-9]+$' "$OUT"
t_ok "and secrets" until_grep '^SYNCED secrets 0 [0-9]+$' "$OUT"

cat >"$T_DIR/burst.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: b1, namespace: w}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b2, namespace: w}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b3, namespace: w}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b4, namespace: w}
---
apiVersion: v1
kind: Secret
metadata: {name: s1, namespace: w}
stringData: {k: v}
YAML
t_ok "a burst of five changes over two types" k apply -f "$T_DIR/burst.yaml"
t_ok "one start follows the burst" until_grep '^START 1 ' "$OUT"
t_grep "it covers the five changes" '^START 1 changes=5$' "$OUT"
for n in b1 b2 b3 b4; do
	t_grep "configmap $n was seen, with its object" "^ADDED configmaps w/$n [0-9]+ bytes=[0-9]+$" "$OUT"
done
t_grep "the secret was seen" '^ADDED secrets w/s1 [0-9]+ bytes=' "$OUT"
t_ok "the run ended" until_grep '^DONE 1$' "$OUT"
t_ok "a later change" k -n w label configmap b1 later=yes
t_ok "another start follows it" until_grep '^START 2 changes=1$' "$OUT"
t_ok "the later change came before the second start" until_after '^MODIFIED configmaps w/b1 ' '^START 2 '

t_ok "exactly two starts so far" test "$(count '^START ')" -eq 2

# A large object arrives whole.
head -c 700000 /dev/zero | tr '\0' 'x' >"$T_DIR/big.txt"
t_ok "a configmap of 700 KB" k -n w create configmap big --from-file=big="$T_DIR/big.txt"
t_ok "its event carries the whole object" until_grep '^ADDED configmaps w/big [0-9]+ bytes=7[0-9]{5}$' "$OUT"

# --- a watch dropped after two events is resumed: no event lost, none repeated ------------------
t_ok "a fault: the next configmaps watch is dropped after two events" cluster_admin POST /_admin/faults \
	'{"match":{"verb":"watch","resource":"configmaps"},"action":"watch-drop","after_events":2,"times":1}'
n0=$(count '^RESUMED configmaps ')
t_ok "every open watch is dropped now (the driver opens them again)" cluster_admin POST /_admin/watch/drop
t_ok "the driver resumes the configmaps watch" until_grep "^RESUMED configmaps " "$OUT"
t_ok "the fault is armed on the resumed watch" until_fired 1
for n in d1 d2 d3 d4; do k -n w create configmap "$n" >/dev/null || echo "# create $n failed"; done
t_ok "the last of four new configmaps is seen" until_grep '^ADDED configmaps w/d4 ' "$OUT"
for n in d1 d2 d3 d4; do
	t_ok "configmap $n was seen exactly once" test "$(count "^ADDED configmaps w/$n ")" -eq 1
done
t_ok "the watch broke after two events and was resumed again" test "$(count '^RESUMED configmaps ')" -ge $((n0 + 2))
t_nogrep "none of it needed a re-list" '^RELIST' "$OUT"

# --- changes while no watch is open arrive when it opens again ----------------------------------
cluster_admin DELETE /_admin/faults >/dev/null
t_ok "a fault: configmaps watches answer 503" cluster_admin POST /_admin/faults \
	'{"match":{"verb":"watch","resource":"configmaps"},"action":"503"}'
t_ok "the open watches are dropped" cluster_admin POST /_admin/watch/drop
t_ok "the driver's next watch is refused" until_fired 1
t_ok "a configmap created meanwhile" k -n w create configmap gap
t_ok "one changed meanwhile" k -n w label configmap b2 gap=yes
t_ok "the watches are served again" cluster_admin DELETE /_admin/faults
t_ok "the created one is seen" until_grep '^ADDED configmaps w/gap [0-9]+ bytes=' "$OUT"
t_ok "the changed one is seen" until_grep '^MODIFIED configmaps w/b2 [0-9]+ bytes=' "$OUT"
t_ok "each once" test "$(count '^(ADDED configmaps w/gap|MODIFIED configmaps w/b2) ')" -eq 2
t_nogrep "without a re-list" '^RELIST' "$OUT"

# --- 410: a re-list, and what changed meanwhile is still seen -----------------------------------
t_ok "a fault: configmaps watches answer 503" cluster_admin POST /_admin/faults \
	'{"match":{"verb":"watch","resource":"configmaps"},"action":"503"}'
t_ok "the open watches are dropped" cluster_admin POST /_admin/watch/drop
t_ok "the driver's next watch is refused" until_fired 1
t_ok "a configmap created meanwhile" k -n w create configmap gone-by
t_ok "one deleted meanwhile" k -n w delete configmap d1
t_ok "one changed meanwhile" k -n w label configmap d2 meanwhile=yes
t_ok "the history is forgotten: the driver's resourceVersion is too old now" cluster_admin POST /_admin/watch/compact
t_ok "the watches are served again" cluster_admin DELETE /_admin/faults
t_ok "the driver reports the 410 and lists again" until_grep '^RELIST configmaps 410 Expired: too old resource version: [0-9]+ \([0-9]+\)$' "$OUT"
t_ok "the created configmap is reported from the re-list" until_grep '^ADDED configmaps w/gone-by [0-9]+ relisted bytes=' "$OUT"
t_ok "the deleted one too" until_grep '^DELETED configmaps w/d1 [0-9]+ relisted$' "$OUT"
t_ok "the changed one too" until_grep '^MODIFIED configmaps w/d2 [0-9]+ relisted bytes=' "$OUT"
t_ok "nothing unchanged is reported by the re-list" test "$(count ' relisted')" -eq 3
t_ok "watching goes on after the re-list" k -n w create configmap after-relist
t_ok "a change after it is seen" until_grep '^ADDED configmaps w/after-relist [0-9]+ bytes=' "$OUT"
t_ok "the changes of the re-list lead to a start" until_after '^DELETED configmaps w/d1 [0-9]+ relisted$' '^START '


kill -TERM "$drv"
wait "$drv"
t_result $? "the driver stops on SIGTERM with exit 0"
t_nogrep "it reported no error" . "$ERR"

# --- a type that cannot be watched ends the watcher with its error ------------------------------
t_exit 1 "watching a type the server does not have fails" "$WATCHDRV" -k "$KC" v1,nosuchthings,namespaced
t_grep "the error names the type" '^watchdrv: watch of nosuchthings: .*(not found|could not find)' "$T_ERR"

t_done

#!/usr/bin/env bash
# kahu backup against servers whose LIST answers are large, slow or hostile: a server
# ignoring `limit` (the whole list in one response) is read as a stream with flat
# memory; items are stored before their page is complete; a body cut mid-page is read
# again without repeating or losing objects; an items that is not an array, a garbage
# item, an item without its namespace, a repeated continue token and a body cut short
# each fail the type (PartiallyFailed, exit 2) with the reason, never a silent drop.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cluster_start main --synthetic 3000 --synthetic-namespaces 3 ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1

# The number of configmaps the server holds (a list with limit=1 says how many remain).
count_server() {
	"$PYTHON" - "$CLUSTER_URL" "$CLUSTER_TOKEN" "$CLUSTER_CA" <<'PY'
import json, ssl, sys, urllib.request
url, token, ca = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
req = urllib.request.Request(url + "/api/v1/configmaps?limit=1", headers={"Authorization": "Bearer " + token})
d = json.load(urllib.request.urlopen(req, context=ctx))
print(len(d["items"]) + int(d["metadata"].get("remainingItemCount", 0)))
PY
}
# configmaps in backup NAME (its per-type result), and the type's error
describe_configmaps() { # NAME -> "ITEMS<TAB>ERROR"
	"$KAHU" backup describe "$1" -o json >"$T_DIR/describe.json" 2>/dev/null &&
		"$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["resource"]: x for x in d["types"]}["configmaps"]
print("%s\t%s\t%s" % (t["items"], t.get("error", ""), d["status"]))' "$T_DIR/describe.json"
}
faults() { cluster_admin DELETE /_admin/faults >/dev/null; cluster_admin POST /_admin/faults "$1" >/dev/null; }
CM='"match":{"verb":"list","resource":"configmaps"}'
want=$(count_server)
[ "$want" -gt 3000 ]; t_result $? "the server holds $want configmaps"

# ---- a server that ignores limit: one response, every object ----
faults "[{$CM,\"action\":\"ignore-limit\"}]"
cluster_admin POST /_admin/stats/reset >/dev/null
t_ok "backup create against a server ignoring limit (--page-size 100)" kahu_k --page-size 100 backup create il
cluster_stats_get by_resource >"$T_DIR/stats.json"
t_py "... the configmaps came in one response" "assert d['configmaps']['list'] == 1, d['configmaps']" "$T_DIR/stats.json"
t_run describe_configmaps il
t_grep "... and the backup holds every one ($want), Completed" "^$want	+	Completed$" "$T_OUT"

# ---- items are stored before their page is complete ----
# The whole list in one response, sent in pieces; the server holds the second half
# until released.  kahu -vv logs each object it stores: while the server holds,
# objects of the first half are already stored.
faults "[{$CM,\"action\":\"ignore-limit\"},{$CM,\"action\":\"chunked\",\"piece\":4096,\"hold\":0.5,\"times\":1}]"
kahu_k -vv backup create held >"$T_DIR/held.out" 2>"$T_DIR/held.err" &
pid=$!
stored=
for _ in $(seq 1 1200); do
	stored=$(grep -c '^configmaps synthetic-.*: stored$' "$T_DIR/held.err")
	[ "$stored" -ge 100 ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
cluster_admin GET /_admin/faults >"$T_DIR/held.json"
[ "${stored:-0}" -ge 100 ]; t_result $? "objects are stored while the server holds the rest of the page ($stored so far)"
t_py "... and it is still holding" "assert d['held'] == 1, d['held']" "$T_DIR/held.json"
cluster_admin POST /_admin/faults/release >/dev/null
wait "$pid"; t_result $? "... the backup completes once the rest comes"
t_run describe_configmaps held
t_grep "... with every object" "^$want	+	Completed$" "$T_OUT"

# ---- a body cut mid-page is read again: nothing repeated, nothing lost ----
faults "[{$CM,\"action\":\"cut-body\",\"at\":0.6,\"times\":1}]"
t_ok "backup create through a page cut short once (--page-size 1000)" kahu_k -v --page-size 1000 backup create resumed
t_grep "... the page is read again, skipping what was stored" "listing configmaps: page 1 broke off after [0-9]+ items; reading it again, skipping those" "$T_ERR"
t_run describe_configmaps resumed
t_grep "... each object once ($want)" "^$want	+	Completed$" "$T_OUT"
t_ok "... backup download --extract resumed" "$KAHU" backup download resumed --extract "$T_DIR/x-resumed"
n=$(find "$T_DIR/x-resumed/resources/configmaps" -name '*.json' | wc -l)
[ "$n" -eq "$want" ]; t_result $? "... the archive holds $n configmap files, $want expected"

# ---- hostile answers: the type fails, with the reason ----
hostile() { # NAME FAULT-RULE-JSON REASON-REGEX [kahu flags...]
	local name=$1 rule=$2 reason=$3; shift 3
	faults "[{$CM,$rule}]"
	t_exit 2 "$name: backup create exits 2 (PartiallyFailed)" kahu_k "$@" backup create "$name"
	t_grep "... the output names configmaps and why" "configmaps: .*$reason" "$T_OUT"
	t_run describe_configmaps "$name"
	t_grep "... the type's result says why, the backup is PartiallyFailed" \
		"^[0-9]+	listing configmaps: .*$reason.*	PartiallyFailed$" "$T_OUT"
}
hostile items-not-array '"action":"items-not-array"' \
	'page 1: the list.s "items" is an object, not an array'
hostile garbage-item '"action":"garbage-item","index":1' \
	'page 1: item 2 is a number, not an object'
# An object of a namespaced type without a namespace fails alone (the others are kept).
faults "[{$CM,\"action\":\"missing-namespace\",\"index\":1}]"
t_exit 2 "missing-namespace: backup create exits 2 (PartiallyFailed)" kahu_k backup create missing-namespace
t_grep "... the warning names the object and why" \
	"configmaps [a-z0-9.-]+ not backed up: the server sent this namespaced object without metadata.namespace" "$T_ERR"
"$KAHU" backup describe missing-namespace -o json >"$T_DIR/describe.json" 2>/dev/null
t_py "... the type's result counts it, with the reason; the others are kept" '
t = {x["resource"]: x for x in d["types"]}["configmaps"]
assert d["status"] == "PartiallyFailed", d["status"]
assert t["failedItems"] >= 1 and "without metadata.namespace" in t["failedItem"], t
assert t["items"] == t["listed"] - t["failedItems"] - t["excluded"], t' "$T_DIR/describe.json"
hostile repeat-continue '"action":"repeat-continue"' \
	'page 2 has the continue token of page 1 again: the list would never end' --page-size 100
hostile cut-body '"action":"cut-body","framing":"close","at":0.5' \
	'page 1: the response ends inside (item [0-9]+|the items array)'
faults '[]'

# ---- memory stays flat: 200,000 objects in one response ----
cluster_start big --synthetic 200000 --synthetic-namespaces 4 --synthetic-size 16 ||
	{ t_result 1 "a second test cluster with 200,000 configmaps starts"; t_done; exit 1; }
big=$(count_server)
cluster_admin POST /_admin/faults "[{$CM,\"action\":\"ignore-limit\"}]" >/dev/null
t_run "$PYTHON" - "$KAHU" "$CLUSTER_KUBECONFIG" "$T_DIR/big.rss" <<'PY'
import resource, subprocess, sys
kahu, kc, out = sys.argv[1:4]
p = subprocess.run([kahu, "--kubeconfig", kc, "-q", "backup", "create", "big",
                    "--include-resources", "configmaps"])
open(out, "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(p.returncode)
PY
t_result $? "backup create of $big configmaps, all in one response"
rss=$(cat "$T_DIR/big.rss" 2>/dev/null || echo 0)
[ "$rss" -gt 0 ] && [ "$rss" -lt 65536 ]; t_result $? "... kahu's peak RSS stays below 64 MiB ($((rss / 1024)) MiB)"
t_run describe_configmaps big
t_grep "... and the backup holds every one ($big)" "^$big	+	Completed$" "$T_OUT"

t_done

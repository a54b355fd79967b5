#!/usr/bin/env bash
# A plan over several clusters (spec.contexts): plan run backs up each context's cluster
# as a series of its own (PLAN-CONTEXT-YYYYMMDD-HHMMSS), each with its own cadence and
# retention; an unreachable cluster fails its series only (exit 2, the others written);
# plan status has a line per series; the refusals (context and contexts together,
# two contexts making one series, --context on the command line, install --kubernetes,
# plan watch) come before anything is written.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

for c in a b; do
	cat >"$T_DIR/seed-$c.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: only-in-$c, namespace: app}
data: {cluster: "$c"}
EOF
	cluster_start "$c" --seed "$T_DIR/seed-$c.yaml" || { t_result 1 "test cluster $c starts"; t_done; exit 1; }
done
KC=$T_DIR/kubeconfig
{
	echo "apiVersion: v1"
	echo "kind: Config"
	echo "current-context: Prod.EU"
	echo "clusters:"
	echo "- {name: a, cluster: {server: \"$CLUSTER_URL_A\", certificate-authority: \"$CLUSTER_CA_A\"}}"
	echo "- {name: b, cluster: {server: \"$CLUSTER_URL_B\", certificate-authority: \"$CLUSTER_CA_B\"}}"
	echo "users:"
	echo "- {name: ua, user: {token: \"$CLUSTER_TOKEN_A\"}}"
	echo "- {name: ub, user: {token: \"$CLUSTER_TOKEN_B\"}}"
	echo "contexts:"
	echo "- {name: Prod.EU, context: {cluster: a, user: ua}}"
	echo "- {name: staging, context: {cluster: b, user: ub}}"
} >"$KC"
chmod 600 "$KC"
export KUBECONFIG=$KC
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
LOC=$T_DIR/loc
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF
{"version": 1, "defaultLocation": "main",
 "locations": {"main": {"provider": "fs", "config": {"path": "$LOC"}}}}
EOF
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"
cat >"$T_DIR/fleet.yaml" <<'EOF'
apiVersion: kahu.io/v1
kind: BackupPlan
metadata:
  name: fleet
spec:
  includeNamespaces: [app]
  contexts: [Prod.EU, staging]
  schedule: "0 3 * * *"
  cadence:
    type: incremental
    full: "0 3 * * 0"
  retention:
    keepLast: 2
  volumes:
    data: none
EOF

# ---- refusals ----
sed 's/  contexts: \[Prod.EU, staging\]/  contexts: [Prod.EU, staging]\n  context: staging/' "$T_DIR/fleet.yaml" >"$T_DIR/both.yaml"
t_exit 64 "context and contexts together: 64" "$KAHU" plan validate -f "$T_DIR/both.yaml"
t_grep "... with the file and line" "both.yaml:[0-9]+.*give either context or contexts" "$T_ERR"
sed 's/  contexts: \[Prod.EU, staging\]/  contexts: [prod-eu, Prod.EU]/' "$T_DIR/fleet.yaml" >"$T_DIR/same.yaml"
t_exit 64 "two contexts making one series: 64" "$KAHU" plan validate -f "$T_DIR/same.yaml"
t_grep "... naming the series" "prod-eu and Prod.EU both make the series fleet-prod-eu" "$T_ERR"
sed 's/  contexts: \[Prod.EU, staging\]/  contexts: []/' "$T_DIR/fleet.yaml" >"$T_DIR/empty.yaml"
t_exit 64 "an empty list: 64" "$KAHU" plan validate -f "$T_DIR/empty.yaml"

t_ok "plan apply of a plan over two contexts" "$KAHU" plan apply -f "$T_DIR/fleet.yaml"
t_ok "plan describe" "$KAHU" plan describe fleet
t_grep "... names each context and its series" "Contexts: +Prod.EU \(series fleet-prod-eu\), staging \(series fleet-staging\)" "$T_OUT"
t_exit 64 "plan run with --context: 64" "$KAHU" plan run fleet --context staging
t_exit 64 "plan install --kubernetes: 64 (it runs from a machine with both contexts)" \
	"$KAHU" plan install fleet --kubernetes --dry-run
t_exit 64 "plan watch: 64 (one cluster per watch)" "$KAHU" plan watch fleet
t_ok "... nothing was written" test ! -d "$LOC/backups"

# ---- runs: Saturday (full each), Sunday (full each), Monday (incremental each) ----
run() { KAHU_NOW=$1 "$KAHU" plan run fleet; }
t_ok "plan run on Saturday" run 2026-01-03T03:00:00Z
t_ok "... a backup of each cluster, each named by its series" \
	test -f "$LOC/backups/fleet-prod-eu-20260103-030000/backup.json" -a -f "$LOC/backups/fleet-staging-20260103-030000/backup.json"
t_ok "Prod.EU's backup holds cluster a's objects" "$KAHU" backup describe fleet-prod-eu-20260103-030000 -o json
"$KAHU" backup download fleet-prod-eu-20260103-030000 --extract "$T_DIR/xa" >/dev/null 2>&1
"$KAHU" backup download fleet-staging-20260103-030000 --extract "$T_DIR/xb" >/dev/null 2>&1
t_ok "... only-in-a in Prod.EU's" test -f "$T_DIR/xa/resources/configmaps/namespaces/app/only-in-a.json"
t_ok "... only-in-b in staging's" test -f "$T_DIR/xb/resources/configmaps/namespaces/app/only-in-b.json"
t_ok "... and not the other way round" test ! -e "$T_DIR/xa/resources/configmaps/namespaces/app/only-in-b.json"
t_ok "plan run on Sunday" run 2026-01-04T03:00:00Z
t_ok "plan run on Monday" run 2026-01-05T03:00:00Z
for s in prod-eu staging; do
	t_ok "Monday's $s backup" "$KAHU" backup describe "fleet-$s-20260105-030000" -o json
	cp "$T_OUT" "$T_DIR/mon-$s.json"
	t_ok "... is incremental on its own series' Sunday backup" "$PYTHON" - "$T_DIR/mon-$s.json" "$s" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["type"] == "incremental", d["type"]
assert d["parent"] == "fleet-%s-20260104-030000" % sys.argv[2], d["parent"]
assert d["labels"]["kahu.io/plan"] == "fleet-%s" % sys.argv[2], d["labels"]
PY
done
t_ok "backup list" "$KAHU" backup list -o name
t_nogrep "retention kept two of each series (keepLast 2): Saturday's are gone" "20260103" "$T_OUT"
t_grep "... Sunday's of each series stay" "^backup/fleet-prod-eu-20260104-030000$" "$T_OUT"
t_grep "... (staging's too)" "^backup/fleet-staging-20260104-030000$" "$T_OUT"

# ---- status: a line per series ----
t_ok "plan status" "$KAHU" plan status -o json
cp "$T_OUT" "$T_DIR/status.json"
t_ok "... a line per series, with its plan and context" "$PYTHON" - "$T_DIR/status.json" <<'PY'
import json, sys
v = {x["name"]: x for x in json.load(open(sys.argv[1]))["plans"]}
assert set(v) == {"fleet-prod-eu", "fleet-staging"}, list(v)
assert v["fleet-prod-eu"]["context"] == "Prod.EU" and v["fleet-prod-eu"]["plan"] == "fleet"
assert v["fleet-staging"]["lastRun"]["backup"] == "fleet-staging-20260105-030000", v["fleet-staging"]
PY

# ---- one cluster unreachable: its series fails, the other's is written, exit 2 ----
cluster_stop b
t_exit 2 "plan run with staging's cluster down: 2" run 2026-01-06T03:00:00Z
t_grep "... naming the context" "context staging" "$T_ERR"
t_grep "... a line per cluster: Prod.EU completed" "^Prod\.EU +fleet-prod-eu +fleet-prod-eu-20260106-030000 +Completed$" "$T_OUT"
t_grep "... staging failed, with the reason" "^staging +fleet-staging +- +Failed: .*cannot reach" "$T_OUT"
t_ok "... Prod.EU's backup was written" test -f "$LOC/backups/fleet-prod-eu-20260106-030000/backup.json"
t_ok "... staging's was not" test ! -e "$LOC/backups/fleet-staging-20260106-030000/backup.json"

t_done

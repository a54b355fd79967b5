#!/usr/bin/env bash
# Many clusters in one run: backup create NAME --contexts a,b,c (and --all-contexts)
# makes one backup per cluster, NAME-CONTEXT, in parallel, under one lock of the
# location, each with its own log (lines prefixed with the context; each backup's
# stored log its own), and one summary; an unreachable cluster fails its line (exit 2
# when others completed); refusals (unknown or repeated context, two contexts making
# one name, --context or --parent beside --contexts, a name taken) come before anything
# is written; each cluster's incremental builds on that cluster's backup; a backup of
# one cluster restores into another (restore create --context).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

for c in a b c; do
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

# One kubeconfig, three contexts (alpha, beta, gamma), as kubectl merges them.
KC=$T_DIR/kubeconfig
write_kubeconfig() {
{
	echo "apiVersion: v1"
	echo "kind: Config"
	echo "current-context: alpha"
	echo "clusters:"
	for c in a b c; do
		s=$(printf '%s' "$c" | tr a-z A-Z)
		eval "url=\$CLUSTER_URL_$s ca=\$CLUSTER_CA_$s"
		echo "- name: cluster-$c"
		echo "  cluster: {server: \"$url\", certificate-authority: \"$ca\"}"
	done
	echo "users:"
	for c in a b c; do
		s=$(printf '%s' "$c" | tr a-z A-Z)
		eval "tok=\$CLUSTER_TOKEN_$s"
		echo "- name: admin-$c"
		echo "  user: {token: \"$tok\"}"
	done
	echo "contexts:"
	echo "- {name: alpha, context: {cluster: cluster-a, user: admin-a}}"
	echo "- {name: beta, context: {cluster: cluster-b, user: admin-b}}"
	echo "- {name: gamma, context: {cluster: cluster-c, user: admin-c}}"
} >"$KC"
chmod 600 "$KC"
}
write_kubeconfig
export KUBECONFIG=$KC

LOC=$T_DIR/shared
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF
{"version": 1, "defaultLocation": "shared",
 "locations": {"shared": {"provider": "fs", "config": {"path": "$LOC"}}}}
EOF
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"
SCOPE=(--include-namespaces app)
snapshot() { (cd "$LOC" 2>/dev/null && find . | sort) >"$1"; }

# ---- refusals, before anything is written (exit 64) ----
snapshot "$T_DIR/before"
t_exit 64 "a context the kubeconfig does not define is refused" \
	"$KAHU" backup create x --contexts alpha,nosuch "${SCOPE[@]}"
t_grep "... naming it and the contexts there are" 'no context "nosuch" \(its contexts: alpha, beta, gamma\)' "$T_ERR"
t_exit 64 "a context named twice is refused" "$KAHU" backup create x --contexts alpha --contexts alpha
t_grep "... saying so" 'context "alpha" is named twice' "$T_ERR"
t_exit 64 "--context beside --contexts is refused" "$KAHU" --context beta backup create x --contexts alpha,beta
t_exit 64 "--parent beside --contexts is refused" "$KAHU" backup create x --contexts alpha --incremental --parent p
t_exit 64 "--contexts and --all-contexts together are refused" "$KAHU" backup create x --contexts alpha --all-contexts
t_exit 64 "--parallel-clusters alone is refused" "$KAHU" backup create x --parallel-clusters 3
t_exit 64 "--parallel-clusters 0 is refused" "$KAHU" backup create x --contexts alpha --parallel-clusters 0
# Two contexts that make one backup name.
sed -e 's/name: alpha,/name: Prod_EU,/' -e 's/name: beta,/name: prod-eu,/' "$KC" >"$T_DIR/kc-collide"
chmod 600 "$T_DIR/kc-collide"
t_exit 64 "two contexts that make the same backup name are refused" \
	"$KAHU" --kubeconfig "$T_DIR/kc-collide" backup create x --all-contexts
t_grep "... naming both and the name" 'contexts "Prod_EU" and "prod-eu" both make the backup name x-prod-eu' "$T_ERR"
snapshot "$T_DIR/after"
cmp -s "$T_DIR/before" "$T_DIR/after"; t_result $? "... and none of them wrote anything to the location"

# ---- three clusters, one unreachable: exit 2, the report says which ----
cluster_stop c
t_exit 2 "three contexts, gamma's cluster stopped: exit 2" \
	"$KAHU" backup create nightly --contexts alpha,beta,gamma "${SCOPE[@]}" --request-timeout 30
cp "$T_OUT" "$T_DIR/summary.txt"; cp "$T_ERR" "$T_DIR/summary.err"
t_grep "... alpha's line: Completed" '^alpha +nightly-alpha +Completed +[0-9]+ ' "$T_DIR/summary.txt"
t_grep "... beta's line: Completed" '^beta +nightly-beta +Completed +[0-9]+ ' "$T_DIR/summary.txt"
t_grep "... gamma's line: Failed, with why" '^gamma +nightly-gamma +Failed .*(connect|reach)' "$T_DIR/summary.txt"
t_grep "... and the count" '^2 of 3 cluster backups completed' "$T_DIR/summary.txt"
t_grep "... the message names gamma" 'error: 2 of 3 cluster backups completed; not completed: gamma \(Failed\)' "$T_DIR/summary.err"
t_grep "... gamma's own log lines are prefixed with its context" '^\[gamma\] kahu: error: ' "$T_DIR/summary.err"
t_nogrep "... no line of alpha's run speaks of beta's backup" '^\[alpha\].*nightly-beta' "$T_DIR/summary.err"
t_ok "backup list shows the two backups" "$KAHU" backup list -o json
t_py "... nightly-alpha and nightly-beta, Completed, of their clusters; no nightly-gamma" "
b = {x['name']: x for x in d['backups']}
assert b['nightly-alpha']['status'] == 'Completed' and b['nightly-beta']['status'] == 'Completed', b
assert b['nightly-alpha']['cluster']['server'] == '$CLUSTER_URL_A', b['nightly-alpha']
assert b['nightly-beta']['cluster']['server'] == '$CLUSTER_URL_B', b['nightly-beta']
assert 'nightly-gamma' not in b, b" "$T_OUT"
[ -z "$(ls -A "$LOC/locks" 2>/dev/null)" ]; t_result $? "no lock is left on the location"
t_ok "each backup's stored log is its own" "$KAHU" backup logs nightly-alpha
t_grep "... alpha's log tells of nightly-alpha" 'nightly-alpha' "$T_OUT"
t_nogrep "... and nothing of nightly-beta" 'nightly-beta' "$T_OUT"

# The JSON report.
t_exit 2 "the same run with -o json" \
	"$KAHU" backup create nightly2 --contexts alpha,beta,gamma "${SCOPE[@]}" --request-timeout 30 -o json
t_py "... a line per cluster: context, backup, status, items, bytes, duration, the failure" "
assert d['name'] == 'nightly2' and d['status'] == 'PartiallyFailed', d
c = {x['context']: x for x in d['clusters']}
assert sorted(c) == ['alpha', 'beta', 'gamma'], c
for k in 'alpha', 'beta':
    x = c[k]
    assert x['backup'] == 'nightly2-' + k and x['status'] == 'Completed' and x['items'] >= 2, x
    assert x['storedBytes'] > 0 and x['volumeBytes'] == 0 and x['durationMs'] >= 0 and 'error' not in x, x
g = c['gamma']
assert g['status'] == 'Failed' and g['items'] == 0 and g['error'], g
assert g['server'] == '$CLUSTER_URL_C', g" "$T_OUT"

# None reachable: the usual failure code (69), no backup.
t_exit 69 "only gamma: unreachable, exit 69" "$KAHU" backup create lone --contexts gamma --request-timeout 30
t_grep "... its line" '^gamma +lone-gamma +Failed' "$T_OUT"

# ---- each good backup is restorable, also into another cluster ----
curl -sS --cacert "$CLUSTER_CA_A" -H "Authorization: Bearer $CLUSTER_TOKEN_A" -X DELETE \
	"$CLUSTER_URL_A/api/v1/namespaces/app/configmaps/only-in-a" >/dev/null
t_ok "nightly-alpha restores into alpha" "$KAHU" --context alpha restore create r-a --from-backup nightly-alpha
CLUSTER_USE=a cluster_admin GET "dump?namespace=app" >"$T_DIR/dump-a.json"
t_py "... only-in-a is back in cluster a" "
assert any(o['metadata']['name'] == 'only-in-a' for o in d['items'] if o['kind'] == 'ConfigMap')" "$T_DIR/dump-a.json"
t_ok "nightly-alpha restores into beta (--context beta)" "$KAHU" --context beta restore create r-ab --from-backup nightly-alpha
CLUSTER_USE=b cluster_admin GET "dump?namespace=app" >"$T_DIR/dump-b.json"
t_py "... cluster b now holds only-in-a beside its own" "
n = {o['metadata']['name'] for o in d['items'] if o['kind'] == 'ConfigMap'}
assert {'only-in-a', 'only-in-b'} <= n, n" "$T_DIR/dump-b.json"
t_ok "nightly-beta restores into beta" "$KAHU" --context beta restore create r-b --from-backup nightly-beta

# ---- --all-contexts, every cluster up ----
cluster_restart c || { t_result 1 "test cluster c starts again"; t_done; exit 1; }
write_kubeconfig   # its new port
t_ok "--all-contexts backs up every context's cluster" "$KAHU" backup create all --all-contexts "${SCOPE[@]}" --parallel-clusters 3
t_grep "... three lines, all Completed" '^3 of 3 cluster backups completed' "$T_OUT"
t_ok "all-gamma restores into gamma" "$KAHU" --context gamma restore create r-c --from-backup all-gamma
t_exit 73 "a run whose names are taken is refused before any backup starts" \
	"$KAHU" backup create all --contexts beta,gamma "${SCOPE[@]}"
t_grep "... naming the backup" 'backup all-beta \(context beta\) already exists on location shared' "$T_ERR"
t_ok "-o name lists the backups made" "$KAHU" backup create named --contexts alpha,beta "${SCOPE[@]}" -o name
t_grep "... one line each" '^backup/named-alpha$' "$T_OUT"

# ---- each cluster's incremental builds on that cluster's backup ----
# (a scope of their own: g-beta is the newest backup of that scope, of any cluster)
SCOPE2=(--include-namespaces app,default)
t_ok "a full backup of alpha" "$KAHU" backup create f --contexts alpha "${SCOPE2[@]}"
t_ok "then one of beta" "$KAHU" backup create g --contexts beta "${SCOPE2[@]}"
t_ok "incremental backups of alpha and beta" \
	"$KAHU" backup create i --contexts alpha,beta "${SCOPE2[@]}" --incremental -o json
t_py "... alpha's is based on alpha's newest backup, beta's on beta's" "
c = {x['context']: x for x in d['clusters']}
assert c['alpha']['parent'] == 'f-alpha', c['alpha']
assert c['beta']['parent'] == 'g-beta', c['beta']" "$T_OUT"

# ---- Ctrl-C stops every cluster's backup and reports each ----
# alpha's and beta's lists are held (slow), gamma waits for its turn (2 at once).
for c in a b; do
	CLUSTER_USE=$c cluster_admin POST /_admin/faults \
		'[{"match":{"verb":"list","resource":"configmaps"},"action":"slow","delay_ms":60000,"times":1000}]' >/dev/null
done
"$KAHU" backup create stop --contexts alpha,beta,gamma "${SCOPE[@]}" >"$T_DIR/stop.out" 2>"$T_DIR/stop.err" &
pid=$!
held() { # NAME: the held list has reached cluster NAME
	CLUSTER_USE=$1 cluster_admin GET /_admin/faults | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
rules = d if isinstance(d, list) else d.get("rules", d.get("faults", []))
sys.exit(0 if any(r.get("seen", 0) > 0 for r in rules) else 1)'
}
for i in $(seq 1 600); do held a && held b && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
held a && held b; t_result $? "alpha's and beta's backups are both listing"
kill -INT $pid
wait $pid; rc=$?
cp "$T_DIR/stop.out" "$T_OUT"; cp "$T_DIR/stop.err" "$T_ERR"
[ $rc -eq 130 ]; t_result $? "SIGINT: exit 130 (got $rc)"
t_grep "... alpha's line: Interrupted" '^alpha +stop-alpha +Interrupted ' "$T_OUT"
t_grep "... beta's line: Interrupted" '^beta +stop-beta +Interrupted ' "$T_OUT"
t_grep "... gamma's: not started" '^gamma +stop-gamma +NotStarted ' "$T_OUT"
t_grep "... the message" 'interrupted: 0 of 3 cluster backups completed; not completed: alpha \(Interrupted\), beta \(Interrupted\); 1 not started' "$T_ERR"
(cd "$LOC" && find locks backups -type f \( -path '*stop-*' -o -path 'locks/*' \)) >"$T_OUT" 2>&1
[ ! -s "$T_OUT" ]; t_result $? "... no lock and no file of the backups is left"
for c in a b; do CLUSTER_USE=$c cluster_admin DELETE /_admin/faults >/dev/null; done

# ---- a dry run writes nothing ----
snapshot "$T_DIR/before"
t_ok "--dry-run plans each cluster's backup" "$KAHU" backup create dry --all-contexts "${SCOPE[@]}" --dry-run
t_grep "... gamma's plan" '^gamma +dry-gamma +Planned' "$T_OUT"
snapshot "$T_DIR/after"
cmp -s "$T_DIR/before" "$T_DIR/after"; t_result $? "... and nothing was written"

t_done

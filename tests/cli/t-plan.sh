#!/usr/bin/env bash
# kahu plan: plans in the configuration, a file and a ConfigMap; validate's FILE:LINE
# errors; plan run three times on a set-back clock (KAHU_NOW: Saturday, Sunday, Monday,
# with a full backup due every Sunday) gives full, full, incremental, and the plan's
# retention removes only the plan's own backups; --dry-run writes nothing; status.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app}
data: {v: "1"}
---
apiVersion: v1
kind: Namespace
metadata: {name: kahu}
EOF
cluster_start --seed "$T_DIR/seed.yaml" || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
LOC=$T_DIR/loc
CFG=$XDG_CONFIG_HOME/kahu/config.json
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$CFG" <<EOF
{"version": 1, "defaultLocation": "main",
 "locations": {"main": {"provider": "fs", "config": {"path": "$LOC"}}}}
EOF
chmod 600 "$CFG"

cat >"$T_DIR/nightly.yaml" <<'EOF'
apiVersion: kahu.io/v1
kind: BackupPlan
metadata:
  name: nightly
spec:
  includeNamespaces: [app]
  location: main
  schedule: "0 3 * * *"
  cadence:
    full: "0 3 * * 0"
  retention:
    keepLast: 2
  volumes:
    data: none
  labels:
    tier: gold
EOF

# ---- validate: every field checked, errors with FILE:LINE, exit 64 ----
t_ok "plan validate -f accepts a good plan" "$KAHU" plan validate -f "$T_DIR/nightly.yaml"
t_grep "... and says it is valid" "plan nightly .* is valid" "$T_OUT"
bad() { # NAME SED-EXPR: a copy of the plan with one change
	sed "$2" "$T_DIR/nightly.yaml" >"$T_DIR/$1.yaml"
}
bad unknown 's/^  location: main/  locaton: main/'
t_exit 64 "an unknown field is refused (exit 64)" "$KAHU" plan validate -f "$T_DIR/unknown.yaml"
t_grep "... naming the file, the line and the field" "unknown.yaml:7: spec: unknown field \"locaton\"" "$T_ERR"
bad badkeep 's/keepLast: 2/keepLast: two/'
t_exit 64 "a retention count that is not a number is refused" "$KAHU" plan validate -f "$T_DIR/badkeep.yaml"
t_grep "... with its line" "badkeep.yaml:12: spec.retention.keepLast" "$T_ERR"
bad badsched 's/"0 3 \* \* \*"/"0 25 * * *"/'
t_exit 64 "an impossible schedule is refused" "$KAHU" plan validate -f "$T_DIR/badsched.yaml"
t_grep "... with its line and what is wrong" "badsched.yaml:8: spec.schedule: .*25" "$T_ERR"
bad badapi 's|kahu.io/v1|kahu.io/v2|'
t_exit 64 "another apiVersion is refused" "$KAHU" plan validate -f "$T_DIR/badapi.yaml"
t_grep "... at line 1" "badapi.yaml:1: apiVersion: expected kahu.io/v1" "$T_ERR"
bad badname 's/name: nightly/name: Nightly_1/'
t_exit 64 "a plan name that cannot name backups is refused" "$KAHU" plan validate -f "$T_DIR/badname.yaml"
t_grep "... with its line" "badname.yaml:4: metadata.name" "$T_ERR"
bad badloc 's/location: main/location: elsewhere/'
t_exit 64 "a location the configuration does not have is refused" "$KAHU" plan validate -f "$T_DIR/badloc.yaml"
t_grep "... naming the field" "spec.location: no location named elsewhere" "$T_ERR"
bad relhooks 's|^  location: main|  location: main\n  hooksFile: hooks.yaml|'
t_exit 64 "a relative hooks file is refused" "$KAHU" plan validate -f "$T_DIR/relhooks.yaml"
t_grep "... saying why" "relhooks.yaml:8: spec.hooksFile: .*not an absolute path" "$T_ERR"
bad nohooks "s|^  location: main|  location: main\n  hooksFile: $T_DIR/none.yaml|"
t_exit 64 "a hooks file that does not exist is refused" "$KAHU" plan validate -f "$T_DIR/nohooks.yaml"
t_exit 66 "a plan file that does not exist: exit 66" "$KAHU" plan validate -f "$T_DIR/absent.yaml"

for f in "$top_srcdir"/examples/plans/*.yaml; do
	t_ok "examples/plans/$(basename "$f") is valid" "$KAHU" plan validate -f "$f"
done

# ---- apply, list, describe: the configuration holds it, written privately ----
t_ok "plan apply -f stores the plan" "$KAHU" plan apply -f "$T_DIR/nightly.yaml"
t_grep "... created" "^plan/nightly created$" "$T_OUT"
t_ok "plan apply again" "$KAHU" plan apply -f "$T_DIR/nightly.yaml"
t_grep "... unchanged" "^plan/nightly unchanged$" "$T_OUT"
sed 's/keepLast: 2/keepLast: 3/' "$T_DIR/nightly.yaml" >"$T_DIR/nightly3.yaml"
t_ok "plan apply of a changed plan" "$KAHU" plan apply -f "$T_DIR/nightly3.yaml"
t_grep "... configured" "^plan/nightly configured$" "$T_OUT"
t_ok "plan apply -f - (standard input) of the first again" sh -c '"$0" plan apply -f - <"$1"' "$KAHU" "$T_DIR/nightly.yaml"
t_grep "... configured" "^plan/nightly configured$" "$T_OUT"
t_ok "the configuration file stays 0600" test "$(stat -c %a "$CFG")" = 600
t_py "... its locations kept, the plan in its plans object" "
assert 'main' in d['locations'] and d['plans']['nightly']['spec']['retention']['keepLast'] == 2
" "$CFG"
t_ok "plan list" "$KAHU" plan list
t_grep "... shows it with its schedule and cadence" "nightly +0 3 \* \* \* +incremental \(full: 0 3 \* \* 0\) +main +last=2" "$T_OUT"
t_ok "plan describe nightly -o yaml" "$KAHU" plan describe nightly -o yaml
t_grep "... prints the document" "kind: BackupPlan" "$T_OUT"
t_ok "plan describe nightly" "$KAHU" plan describe nightly
t_grep "... shows the schedule as cron reads it" "^Schedule: +0 3 \* \* \*  \(UTC\)$" "$T_OUT"
t_grep "... and where the plan is kept" "^Source: +.*config.json: plans.nightly$" "$T_OUT"
t_ok "plan validate NAME checks a plan of the configuration" "$KAHU" plan validate nightly

# ---- run: Saturday, Sunday, Monday ----
export KAHU_NOW=2026-01-03T03:00:00Z
t_ok "plan run on Saturday" kahu_k plan run nightly
t_grep "... a full backup: the plan has none yet" "backup nightly-20260103-030000, full \(the plan has no full" "$T_OUT"
# a backup that is not the plan's, on the same location, named like its backups
t_ok "a backup made by hand beside the plan's" kahu_k backup create nightly-20250101-000000 --include-namespaces app --volume-data none
export KAHU_NOW=2026-01-04T03:00:00Z
t_ok "plan run on Sunday" kahu_k plan run nightly
t_grep "... full again: the full schedule fired" "backup nightly-20260104-030000, full \(the full schedule fired at 2026-01-04T03:00:00Z" "$T_OUT"
export KAHU_NOW=2026-01-05T03:00:00Z
t_ok "plan dry run on Monday" kahu_k plan run nightly --dry-run
t_grep "... would make an incremental backup on Sunday's" "would run backup nightly-20260105-030000: incremental on nightly-20260104-030000" "$T_OUT"
t_grep "... and says what retention would remove" "would remove nightly-20260103-030000" "$T_OUT"
t_ok "... and wrote nothing" test ! -e "$LOC/backups/nightly-20260105-030000"
t_ok "plan run on Monday" kahu_k plan run nightly
t_grep "... incremental on Sunday's" "backup nightly-20260105-030000, incremental on nightly-20260104-030000" "$T_OUT"
t_grep "... then the retention (keepLast 2) removes Saturday's" "removed nightly-20260103-030000" "$T_OUT"
t_ok "backup list -o json" "$KAHU" backup list -o json
t_py "the plan's backups: Sunday full, Monday incremental on it, labelled; the hand-made one kept" "
items = {b['name']: b for b in d['backups']}
assert set(items) == {'nightly-20260104-030000', 'nightly-20260105-030000', 'nightly-20250101-000000'}, sorted(items)
assert items['nightly-20260104-030000']['type'] == 'full'
m = items['nightly-20260105-030000']
assert m['type'] == 'incremental' and m['parent'] == 'nightly-20260104-030000', m
assert m['labels'] == {'kahu.io/plan': 'nightly', 'tier': 'gold'}, m['labels']
assert 'kahu.io/plan' not in (items['nightly-20250101-000000'].get('labels') or {})
" "$T_OUT"
t_ok "plan status" "$KAHU" plan status
t_grep "... a line per plan: last backup, result, last and next run, retention" "^nightly +nightly-20260105-030000 +Completed +2026-01-05T03:00:00Z +2026-01-06T03:00:00Z +holds \(2 backups\)" "$T_OUT"
t_ok "plan status nightly -o json" "$KAHU" plan status nightly -o json
t_py "status: the last run, its result, the next run, retention holds" "
s = d['plans'][0]
assert s['lastRun']['backup'] == 'nightly-20260105-030000' and s['lastRun']['status'] == 'Completed', s
assert s['lastRun']['type'] == 'incremental', s
assert s['nextRun'] == '2026-01-06T03:00:00Z', s
assert s['retentionHolds'] is True and s['backups'] == 2, s
" "$T_OUT"

# ---- a good backup whose retention fails: exit 2, the backup kept ----
# Sunday's manifest altered: it no longer authenticates, so the cadence leaves it out
# (Tuesday is full: the plan has no trusted full backup) and the retention may not
# remove on its word.
"$PYTHON" - "$LOC/backups/nightly-20260104-030000/backup.json" <<'EOF2'
import sys
b = open(sys.argv[1], "rb").read()
assert b'"tier":"gold"' in b
open(sys.argv[1], "wb").write(b.replace(b'"tier":"gold"', b'"tier":"gole"'))
EOF2
export KAHU_NOW=2026-01-06T03:00:00Z
t_exit 2 "plan run when the plan's retention fails after a good backup: exit 2" kahu_k plan run nightly
t_grep "... the cadence leaves the altered backup out" "backup nightly-20260106-030000, full \(the plan has no full" "$T_OUT"
t_grep "... the message says the backup was written and why retention failed" "backup nightly-20260106-030000 is Completed, but the plan's retention failed: .*nightly-20260104-030000" "$T_ERR"
t_ok "... and the backup is there" test -e "$LOC/backups/nightly-20260106-030000/backup.json"

# ---- the test clock only goes back ----
KAHU_NOW=2999-01-01T00:00:00Z t_exit 64 "KAHU_NOW later than the real clock is refused" kahu_k plan run nightly
t_grep "... saying it may only be set back" "may only be set back" "$T_ERR"
KAHU_NOW=yesterday t_exit 64 "KAHU_NOW that is not a UTC time is refused" kahu_k plan run nightly --dry-run
unset KAHU_NOW
t_exit 66 "plan run of a plan that does not exist: exit 66" kahu_k plan run weekly
t_grep "... naming the plans there are" "no plan named weekly .*plans: nightly" "$T_ERR"

# ---- create from flags ----
t_ok "plan create from backup create's flags" "$KAHU" plan create hourly --include-namespaces app \
	--schedule @hourly --time-zone UTC --cadence incremental --full-schedule "0 0 * * *" --keep-last 24 \
	--keep-daily 7 --volume-data none --labels team=ops
t_ok "plan describe hourly -o json" "$KAHU" plan describe hourly -o json
t_py "... the document holds what the flags said" "
s = d['spec']
assert d['metadata']['name'] == 'hourly' and s['schedule'] == '@hourly', d
assert s['cadence'] == {'type': 'incremental', 'full': '0 0 * * *'}, s
assert s['retention'] == {'keepLast': 24, 'keepDaily': 7}, s
assert s['labels'] == {'team': 'ops'} and s['includeNamespaces'] == ['app'], s
" "$T_OUT"
t_exit 73 "plan create of a name that exists: exit 73" "$KAHU" plan create hourly --schedule @daily
t_exit 64 "plan create with a bad schedule: exit 64" "$KAHU" plan create bad --schedule "61 * * * *"

# ---- a ConfigMap (GitOps) ----
"$PYTHON" - "$T_DIR/nightly.yaml" >"$T_DIR/cm.json" <<'EOF'
import json, sys
text = open(sys.argv[1]).read().replace("name: nightly", "name: gitops")
print(json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "plan-gitops", "namespace": "kahu"},
                  "data": {"plan.yaml": text}}))
EOF
t_ok "a ConfigMap holding a plan is created" curl -sS --fail-with-body --cacert "$CLUSTER_CA" \
	-H "Authorization: Bearer $CLUSTER_TOKEN" -H "Content-Type: application/json" \
	--data-binary @"$T_DIR/cm.json" "$CLUSTER_URL/api/v1/namespaces/kahu/configmaps"
t_ok "plan validate --from-configmap" kahu_k plan validate --from-configmap kahu/plan-gitops
t_ok "plan apply --from-configmap" kahu_k plan apply --from-configmap kahu/plan-gitops
t_grep "... created" "^plan/gitops created$" "$T_OUT"
t_exit 66 "a ConfigMap that does not exist: exit 66" kahu_k plan validate --from-configmap kahu/absent
t_exit 64 "--from-configmap without a namespace: exit 64" kahu_k plan validate --from-configmap absent

# ---- the plan's context ----
cat >"$T_DIR/ctx.yaml" <<'EOF2'
apiVersion: kahu.io/v1
kind: BackupPlan
metadata: {name: ctx}
spec:
  includeNamespaces: [app]
  context: badtoken
  volumes: {data: none}
EOF2
t_exit 80 "plan run -f uses the plan's context (one whose token is refused: exit 80)" kahu_k plan run -f "$T_DIR/ctx.yaml"
t_ok "... and --context on the command line wins" kahu_k --context admin plan run -f "$T_DIR/ctx.yaml"
t_grep "... a full backup of plan ctx" "^Backup ctx-[0-9]{8}-[0-9]{6} completed" "$T_OUT"

# ---- delete ----
t_ok "plan delete nightly" "$KAHU" plan delete nightly
t_ok "plan list" "$KAHU" plan list -o name
t_nogrep "... no longer shows it" "plan/nightly" "$T_OUT"
t_grep "... but the others" "plan/gitops" "$T_OUT"
t_ok "its backups stay" test -e "$LOC/backups/nightly-20260105-030000"
t_exit 66 "plan delete again: exit 66" "$KAHU" plan delete nightly

t_done

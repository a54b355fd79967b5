#!/usr/bin/env bash
# kahu plan install|uninstall: a crontab entry (through a crontab(1) of the test's own,
# KAHU_CRONTAB), systemd units (checked by systemd-analyze when it is installed, its
# calendar compared with the plan's next runs), and objects in the test cluster: the
# --dry-run manifests applied with the real kubectl and read back, then kahu's own
# apply with the Secret made from the key file (its value in no manifest, no output),
# replaced by a second install, all removed by uninstall.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: db}
EOF
cluster_start --seed "$T_DIR/seed.yaml" || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
export KUBECONFIG=$KC
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
CFG=$XDG_CONFIG_HOME/kahu/config.json
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$CFG" <<EOF
{"version": 1, "defaultLocation": "main",
 "locations": {"main": {"provider": "fs", "config": {"path": "$T_DIR/loc"}},
               "other": {"provider": "fs", "config": {"path": "$T_DIR/other"}}}}
EOF
chmod 600 "$CFG"
cat >"$T_DIR/nightly.yaml" <<'EOF'
apiVersion: kahu.io/v1
kind: BackupPlan
metadata:
  name: nightly
spec:
  includeNamespaces: [app, db]
  location: main
  schedule: "30 2 * * 1-5"
  timeZone: UTC
  volumes:
    data: auto
EOF
t_ok "plan apply" "$KAHU" plan apply -f "$T_DIR/nightly.yaml"

# ---- refusals ----
t_exit 64 "plan install without a target: 64" "$KAHU" plan install nightly
t_grep "... naming the targets" "one of --cron, --systemd and --kubernetes" "$T_ERR"
t_exit 64 "two targets: 64" "$KAHU" plan install nightly --cron --systemd
t_exit 64 "--quiet-period without --watch: 64" "$KAHU" plan install nightly --kubernetes --quiet-period 5m --dry-run
t_grep "... naming --watch" "quiet-period goes with --kubernetes --watch" "$T_ERR"
t_exit 64 "--max-interval shorter than --quiet-period: 64" \
	"$KAHU" plan install nightly --kubernetes --watch --quiet-period 2h --max-interval 1h --dry-run
t_grep "... saying so" "max-interval \(3600s\) is shorter than --quiet-period \(7200s\)" "$T_ERR"
t_exit 64 "a --quiet-period that is no duration: 64" \
	"$KAHU" plan install nightly --kubernetes --watch --quiet-period soon --dry-run
t_grep "... naming the flag" 'quiet-period: invalid duration "soon"' "$T_ERR"
sed -e '/schedule:/d' -e 's/name: nightly/name: byhand/' "$T_DIR/nightly.yaml" >"$T_DIR/byhand.yaml"
t_ok "a plan without a schedule" "$KAHU" plan apply -f "$T_DIR/byhand.yaml"
t_exit 64 "... cannot be installed: 64" "$KAHU" plan install byhand --cron --dry-run
t_grep "... it runs only by hand" "has no schedule" "$T_ERR"
t_exit 66 "an unknown plan: 66" "$KAHU" plan install nosuch --cron --dry-run

# ---- cron ----
CT=$T_DIR/crontab.txt
cat >"$T_DIR/crontab" <<EOF
#!/bin/sh
# crontab -l / crontab - on a file, as crontab(1) does on the user's table
case "\$1" in
-l) [ -f "$CT" ] || { echo "no crontab for \$(id -un)" >&2; exit 1; }; cat "$CT" ;;
-) cat >"$CT.new" && mv "$CT.new" "$CT" ;;
*) exit 2 ;;
esac
EOF
chmod +x "$T_DIR/crontab"
export KAHU_CRONTAB=$T_DIR/crontab
printf '# the user'"'"'s own entries\n0 1 * * * /usr/bin/true\n' >"$CT"
t_ok "plan install --cron --dry-run" "$KAHU" plan install nightly --cron --dry-run --log-file "$T_DIR/logs/n.log"
t_grep "... prints the entry: the schedule, kahu, the configuration, plan run, the lock wait, the log" \
	"^30 2 \* \* 1-5 '.*kahu' '--config' '$CFG' '--kubeconfig' '$KC' 'plan' 'run' 'nightly' '--no-progress' '--lock-wait' '30m' >> '$T_DIR/logs/n.log' 2>&1$" "$T_OUT"
t_ok "... and changes nothing" grep -q "^0 1 \* \* \* /usr/bin/true$" "$CT"
t_ok "plan install --cron" "$KAHU" plan install nightly --cron --log-file "$T_DIR/logs/n.log"
t_grep "... says so" "crontab entry added" "$T_OUT"
t_ok "... the user's entries stay" grep -q "^0 1 \* \* \* /usr/bin/true$" "$CT"
t_ok "... the entry is in the crontab once" test "$(grep -c "'plan' 'run' 'nightly'" "$CT")" = 1
t_ok "... the log directory made private" test "$(stat -c %a "$T_DIR/logs")" = 700
t_ok "installing again" "$KAHU" plan install nightly --cron --log-file "$T_DIR/logs/n.log" --lock-wait 5m
t_grep "... replaces the entry" "crontab entry replaced" "$T_OUT"
t_ok "... still once, with the new lock wait" test "$(grep -c "'--lock-wait' '5m'" "$CT")" = 1
t_ok "... and one marker" test "$(grep -c '^# kahu plan nightly:' "$CT")" = 1
# the entry's command, run as cron would (sh -c), reaches kahu: a dry run of the plan
cmd=$(grep "'plan' 'run' 'nightly'" "$CT" | cut -d' ' -f6- | sed "s/'--no-progress'/'--no-progress' '--dry-run'/")
t_ok "the entry's command runs under sh as cron runs it" sh -c "$cmd"
t_grep "... its output went to the log" "nightly" "$T_DIR/logs/n.log"
# a zone cron cannot honour
sed 's/timeZone: UTC/timeZone: Europe\/Berlin/; s/name: nightly/name: berlin/' "$T_DIR/nightly.yaml" >"$T_DIR/berlin.yaml"
"$KAHU" plan apply -f "$T_DIR/berlin.yaml" >/dev/null
if [ "$(readlink /etc/localtime 2>/dev/null | sed 's|.*zoneinfo/||')" != Europe/Berlin ]; then
	t_exit 64 "a plan in another zone than cron's: 64" "$KAHU" plan install berlin --cron --dry-run
	t_grep "... pointing to --systemd" "cron runs entries in the system's time zone.*--systemd" "$T_ERR"
fi
t_ok "plan uninstall --cron" "$KAHU" plan uninstall nightly --cron
t_ok "... the entry is gone" test "$(grep -c "nightly" "$CT")" = 0
t_ok "... the user's entries stay" grep -q "^0 1 \* \* \* /usr/bin/true$" "$CT"
t_exit 66 "uninstalling again: 66" "$KAHU" plan uninstall nightly --cron

# ---- systemd ----
UD=$T_DIR/units
t_ok "plan install --systemd --dry-run" "$KAHU" plan install berlin --systemd --unit-dir "$UD" --dry-run
t_ok "... writes nothing" test ! -e "$UD"
t_ok "plan install --systemd" "$KAHU" plan install berlin --systemd --unit-dir "$UD"
t_grep "... says how to enable it" "enable --now kahu-plan-berlin.timer" "$T_OUT"
t_grep "the timer: the plan's schedule in its zone" "^OnCalendar=Mon,Tue,Wed,Thu,Fri \*-\*-\* 02:30:00 Europe/Berlin$" "$UD/kahu-plan-berlin.timer"
t_grep "... Persistent=true" "^Persistent=true$" "$UD/kahu-plan-berlin.timer"
t_grep "the service runs plan run" "^ExecStart=\".*kahu\" \"--config\" \"$CFG\" .*\"plan\" \"run\" \"berlin\"" "$UD/kahu-plan-berlin.service"
t_ok "... the units are 0644 (no secrets in them)" test "$(stat -c %a "$UD/kahu-plan-berlin.service")" = 644
t_nogrep "... and hold no key" "$(head -c 20 "$KAHU_KEY_FILE" | od -An -tx1 | tr -d ' \n' | head -c 16)" "$UD/kahu-plan-berlin.service"
if command -v systemd-analyze >/dev/null; then
	t_ok "systemd-analyze verify accepts both units" \
		env SYSTEMD_LOG_LEVEL=err systemd-analyze verify "$UD/kahu-plan-berlin.service" "$UD/kahu-plan-berlin.timer"
	cal=$(sed -n 's/^OnCalendar=//p' "$UD/kahu-plan-berlin.timer")
	t_ok "systemd reads the calendar" systemd-analyze calendar "$cal"
	t_grep "... weekdays at 02:30 Berlin time" "Normalized form: Mon..Fri \*-\*-\* 02:30:00 Europe/Berlin" "$T_OUT"
else
	t_skip "systemd-analyze verify accepts both units" "systemd-analyze is not installed"
fi
t_ok "plan uninstall --systemd" "$KAHU" plan uninstall berlin --systemd --unit-dir "$UD"
t_ok "... the units are gone" test -z "$(ls -A "$UD")"

# ---- Kubernetes ----
t_ok "plan install --kubernetes --dry-run" "$KAHU" plan install nightly --kubernetes --dry-run --image registry.example/kahu:1
cp "$T_OUT" "$T_DIR/k8s.yaml"
t_grep "... says the Secret is made from this machine's files" "Secret kahu/kahu-nightly .* is not shown" "$T_ERR"
t_nogrep "... no Secret in the manifests" "^kind: Secret" "$T_DIR/k8s.yaml"
key_b64=$(base64 -w0 <"$KAHU_KEY_FILE")
t_nogrep "... nor the key" "${key_b64:0:24}" "$T_DIR/k8s.yaml"
if command -v kubectl >/dev/null; then
	t_ok "kubectl apply of the dry run's manifests" kubectl apply -f "$T_DIR/k8s.yaml"
	t_ok "kubectl reads the CronJob back" kubectl -n kahu get cronjob kahu-nightly -o json
	cp "$T_OUT" "$T_DIR/cj.json"
	t_ok "... Forbid, the schedule, the image, a non-root read-only pod" "$PYTHON" - "$T_DIR/cj.json" <<'PY'
import json, sys
cj = json.load(open(sys.argv[1]))
s = cj["spec"]
assert s["schedule"] == "30 2 * * 1-5" and s["concurrencyPolicy"] == "Forbid", s
assert s["startingDeadlineSeconds"] == 3600 and s["successfulJobsHistoryLimit"] == 3
pod = s["jobTemplate"]["spec"]["template"]["spec"]
c = pod["containers"][0]
assert c["image"] == "registry.example/kahu:1"
assert c["args"][:3] == ["plan", "run", "nightly"], c["args"]
assert c["securityContext"]["readOnlyRootFilesystem"] is True
assert pod["securityContext"]["runAsNonRoot"] is True
assert pod["volumes"][0]["secret"]["secretName"] == "kahu-nightly"
PY
	t_ok "kubectl: a RoleBinding in each of the plan's namespaces" kubectl get rolebindings -A -l kahu.io/plan=nightly -o name
	t_ok "... app and db" test "$(wc -l <"$T_OUT")" = 2
	t_ok "kubectl: the namespaced rules let kahu exec and make helper pods and snapshots" \
		kubectl get clusterrole kahu-nightly -o json
	cp "$T_OUT" "$T_DIR/role.json"
	t_ok "... and read, not write, everything else" "$PYTHON" - "$T_DIR/role.json" <<'PY'
import json, sys
rules = json.load(open(sys.argv[1]))["rules"]
def grants(g, r, v):
    return any((g in x["apiGroups"] or "*" in x["apiGroups"]) and (r in x["resources"] or "*" in x["resources"]) and v in x["verbs"] for x in rules)
assert grants("", "pods/exec", "create") and grants("", "pods", "create")
assert grants("snapshot.storage.k8s.io", "volumesnapshots", "create")
assert grants("apps", "deployments", "list") and not grants("apps", "deployments", "delete")
assert not grants("", "secrets", "create")
PY
	t_ok "kubectl delete of the dry run's objects" kubectl delete -f "$T_DIR/k8s.yaml" --ignore-not-found
else
	t_skip "kubectl apply of the dry run's manifests" "kubectl is not installed"
fi
kubectl create namespace kahu >/dev/null 2>&1 || true
t_ok "plan install --kubernetes" "$KAHU" plan install nightly --kubernetes --image registry.example/kahu:1
cp "$T_OUT" "$T_DIR/inst.out"
t_grep "... the Secret made" "^Secret kahu/kahu-nightly created" "$T_DIR/inst.out"
t_grep "... the CronJob" "^CronJob kahu/kahu-nightly created" "$T_DIR/inst.out"
t_nogrep "... no key in its output" "${key_b64:0:24}" "$T_DIR/inst.out"
secret_json=$(cluster_admin GET "/_admin/dump?namespace=kahu" | "$PYTHON" -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    if o["kind"] == "Secret" and o["metadata"]["name"] == "kahu-nightly":
        print(json.dumps(o))')
echo "$secret_json" >"$T_DIR/secret.json"
t_ok "the Secret holds the key, byte for byte, and the pod's configuration" "$PYTHON" - "$T_DIR/secret.json" "$KAHU_KEY_FILE" "$T_DIR/loc" <<'PY'
import json, sys, base64
s = json.load(open(sys.argv[1]))
assert base64.b64decode(s["data"]["key"]) == open(sys.argv[2], "rb").read()
cfg = json.loads(base64.b64decode(s["data"]["config.json"]))
assert cfg["defaultLocation"] == "main" and list(cfg["locations"]) == ["main"], cfg
assert cfg["locations"]["main"]["config"]["path"] == sys.argv[3]
assert "keyFile" not in cfg["locations"]["main"]
assert s["metadata"]["labels"]["kahu.io/plan"] == "nightly"
PY
t_ok "installing again" "$KAHU" plan install nightly --kubernetes --image registry.example/kahu:2
t_grep "... replaces the CronJob" "^CronJob kahu/kahu-nightly configured" "$T_OUT"
t_ok "... with the new image" kubectl -n kahu get cronjob kahu-nightly -o 'jsonpath={.spec.jobTemplate.spec.template.spec.containers[0].image}'
t_grep "... registry.example/kahu:2" "^registry.example/kahu:2$" "$T_OUT"
t_ok "plan uninstall --kubernetes" "$KAHU" plan uninstall nightly --kubernetes
t_grep "... the CronJob deleted" "cronjobs kahu-nightly deleted" "$T_OUT"
t_grep "... the Secret deleted" "secrets kahu-nightly deleted" "$T_OUT"
t_ok "nothing labelled for the plan is left" bash -c \
	'for k in cronjobs secrets configmaps serviceaccounts rolebindings clusterroles clusterrolebindings; do kubectl get $k -A -l kahu.io/plan=nightly -o name; done'
t_ok "... (none)" test ! -s "$T_OUT"
t_exit 66 "uninstalling again: 66" "$KAHU" plan uninstall nightly --kubernetes

t_done

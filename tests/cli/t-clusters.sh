#!/usr/bin/env bash
# One location shared by several clusters: each backup records its source cluster (the
# API server URL and the UID of kube-system, covered by the manifest's MAC); backup list
# shows a CLUSTER column and filters with --cluster (UID, UID prefix, URL, current);
# describe shows the cluster; a UID that cannot be read is a warning, not a failure;
# --all-locations lists every location, one that cannot be opened (its provider is
# gone) is a warning and exit 2; a backup name that exists is refused (exit 73), also
# when two runs from two clusters race for it: exactly one wins, the other removes
# nothing of the winner's; a lock is not taken for stale because its pid is missing
# here when it was written in another pid namespace under the same host name.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cluster_start a || { t_result 1 "test cluster a starts"; t_done; exit 1; }
cluster_start b || { t_result 1 "test cluster b starts"; t_done; exit 1; }
KCA=$CLUSTER_KUBECONFIG_A
KCB=$CLUSTER_KUBECONFIG_B
URLA=$CLUSTER_URL_A
URLB=$CLUSTER_URL_B
ka() { "$KAHU" --kubeconfig "$KCA" "$@"; }
kb() { "$KAHU" --kubeconfig "$KCB" "$@"; }

# kube-system's UID, read from the server without kahu.
ks_uid() { # NAME
	CLUSTER_USE=$1 cluster_admin GET /api/v1/namespaces/kube-system |
		"$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["metadata"]["uid"])'
}
UIDA=$(ks_uid a)
UIDB=$(ks_uid b)
t_result "$([ -n "$UIDA" ] && [ -n "$UIDB" ] && [ "$UIDA" != "$UIDB" ]; echo $?)" \
	"the two test clusters have different kube-system UIDs"

SHARED=$T_DIR/shared
OTHER=$T_DIR/other
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF
{"version": 1, "defaultLocation": "shared",
 "locations": {"shared": {"provider": "fs", "config": {"path": "$SHARED"}},
               "other": {"provider": "fs", "config": {"path": "$OTHER"}}}}
EOF
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"
SCOPE=(--include-namespaces kube-system,default)

# ---- each backup records its cluster ----
t_ok "cluster a backs up to the shared location" ka backup create from-a "${SCOPE[@]}"
t_ok "cluster b backs up to the same location" kb backup create from-b "${SCOPE[@]}"
manifest() { cat "$SHARED/backups/$1/backup.json"; }
manifest from-a >"$T_DIR/m-a.json"
t_py "the manifest records cluster a's server URL and kube-system UID" "
c = d['cluster']
assert c == {'server': '$URLA', 'uid': '$UIDA'}, c" "$T_DIR/m-a.json"
manifest from-b >"$T_DIR/m-b.json"
t_py "... and cluster b's for b's backup" "
assert d['cluster'] == {'server': '$URLB', 'uid': '$UIDB'}, d['cluster']" "$T_DIR/m-b.json"
t_ok "kahu/backup.json records the UID beside server, context and version" \
	ka backup describe from-a -o json
t_py "... (describe -o json)" "
c = d['cluster']
assert c['server'] == '$URLA' and c['uid'] == '$UIDA' and c['context'] and c['version'], c
assert d['sourceCluster'] == {'server': '$URLA', 'uid': '$UIDA'}, d['sourceCluster']" "$T_OUT"

# The identity is covered by the MAC: another cluster's UID written in is detected.
cp "$SHARED/backups/from-a/backup.json" "$T_DIR/saved.json"
"$PYTHON" - "$SHARED/backups/from-a/backup.json" "$UIDB" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["cluster"]["uid"] = sys.argv[2]
open(sys.argv[1], "w").write(json.dumps(d, sort_keys=True, separators=(",", ":")) + "\n")
PY
t_exit 77 "a manifest whose cluster UID was changed fails authentication" ka backup verify from-a
t_grep "... saying it was altered" "altered or forged" "$T_ERR"
cp "$T_DIR/saved.json" "$SHARED/backups/from-a/backup.json"
t_ok "... and verifies again once restored" ka backup verify from-a

# ---- a UID that cannot be read: a warning, the URL alone recorded ----
CLUSTER_USE=b cluster_admin POST /_admin/faults \
	'[{"match":{"method":"GET","path_regex":"^/api/v1/namespaces/kube-system$"},"action":"403"}]' >/dev/null
t_ok "a backup where kube-system cannot be read still completes" kb backup create b-nouid "${SCOPE[@]}"
t_grep "... with a warning that names the UID as unknown" \
	"UID of namespace kube-system could not be read.*server URL $URLB" "$T_ERR"
CLUSTER_USE=b cluster_admin DELETE /_admin/faults >/dev/null
manifest b-nouid >"$T_DIR/m-n.json"
t_py "... and its manifest records the server without a UID" "
assert d['cluster'] == {'server': '$URLB'}, d['cluster']" "$T_DIR/m-n.json"
t_ok "describe of that backup" kb backup describe b-nouid
t_grep "... says the UID is unknown" "^Cluster UID: +unknown" "$T_OUT"
t_ok "describe of from-b" kb backup describe from-b
t_grep "... shows the server" "^Cluster: +$URLB " "$T_OUT"
t_grep "... and the UID" "^Cluster UID: +$UIDB " "$T_OUT"

# ---- backup list: the CLUSTER column, --cluster ----
names() { "$PYTHON" -c 'import json, sys; print(" ".join(sorted(b["name"] for b in json.load(open(sys.argv[1]))["backups"])))' "$T_OUT"; }
t_ok "backup list" ka backup list
t_grep "... has a CLUSTER column before LOCATION" "^NAME +STATUS +TYPE +CREATED +EXPIRES +SIZE +ITEMS +CLUSTER +LOCATION$" "$T_OUT"
t_grep "... cluster a's backup shows its UID's first 8 characters" "^from-a .* ${UIDA:0:8} +shared$" "$T_OUT"
t_grep "... cluster b's backup shows b's" "^from-b .* ${UIDB:0:8} +shared$" "$T_OUT"
hostb=${URLB#https://}
t_grep "... a backup without a UID shows the server's host and port" "^b-nouid .* $hostb +shared$" "$T_OUT"
t_ok "backup list -o json" ka backup list -o json
t_py "... has the full cluster identity of each backup" "
b = {x['name']: x for x in d['backups']}
assert b['from-a']['cluster'] == {'server': '$URLA', 'uid': '$UIDA'}, b['from-a']
assert b['from-b']['cluster'] == {'server': '$URLB', 'uid': '$UIDB'}, b['from-b']
assert b['b-nouid']['cluster'] == {'server': '$URLB', 'uid': None}, b['b-nouid']" "$T_OUT"

t_ok "--cluster UID" ka backup list --cluster "$UIDA" -o json
t_result "$([ "$(names)" = "from-a" ]; echo $?)" "... lists cluster a's backups only"
t_ok "--cluster with a UID prefix" ka backup list --cluster "${UIDB:0:8}" -o json
t_result "$([ "$(names)" = "from-b" ]; echo $?)" "... lists cluster b's backups with that UID"
t_ok "--cluster URL" ka backup list --cluster "$URLB/" -o json
t_result "$([ "$(names)" = "b-nouid from-b" ]; echo $?)" "... lists every backup of that server (a trailing / ignored)"
t_ok "--cluster current from cluster a's kubeconfig" ka backup list --cluster current -o json
t_result "$([ "$(names)" = "from-a" ]; echo $?)" "... lists cluster a's backups"
t_ok "--cluster current from cluster b's kubeconfig" kb backup list --cluster current -o json
t_result "$([ "$(names)" = "b-nouid from-b" ]; echo $?)" \
	"... lists cluster b's (the one without a UID matched by its URL)"
t_ok "--cluster that matches nothing" ka backup list --cluster 0000ffff
t_grep "... says so" "No backups of cluster 0000ffff on location shared" "$T_ERR"
t_ok "--cluster with a 3-character prefix matches nothing" ka backup list --cluster "${UIDA:0:3}" -o json
t_result "$([ "$(names)" = "" ]; echo $?)" "... (prefixes need 4 characters)"
t_exit 64 "--cluster '' is a usage error" ka backup list --cluster ''
t_exit 64 "--all-locations with --location is a usage error" ka backup list --all-locations --location other

# ---- a name that exists is refused, never overwritten ----
before=$(sha256sum "$SHARED/backups/from-a/backup.json")
t_exit 73 "cluster b cannot take a name cluster a used" kb backup create from-a "${SCOPE[@]}"
t_grep "... saying the backup exists" "backup from-a already exists on location shared" "$T_ERR"
t_result "$([ "$before" = "$(sha256sum "$SHARED/backups/from-a/backup.json")" ]; echo $?)" \
	"... and a's manifest is untouched"
t_ok "... a's backup still verifies" ka backup verify from-a

# ---- two clusters race for one name ----
# Both runs start together, many times over: exactly one completes; the other is refused
# because the name exists (73), having waited for the location's lock, or because the
# lock is held (75) when it does not wait.  The backup left is intact and the winner's.
race_round() { # NAME LOCKWAIT...
	local n=$1; shift
	ka backup create "$n" "${SCOPE[@]}" "$@" >"$T_DIR/ra.out" 2>"$T_DIR/ra.err" &
	local pa=$!
	kb backup create "$n" "${SCOPE[@]}" "$@" >"$T_DIR/rb.out" 2>"$T_DIR/rb.err" &
	local pb=$!
	wait $pa; ea=$?
	wait $pb; eb=$?
}
race_bad=
race_check() { # NAME ROUND REFUSED-CODES
	local n=$1 r=$2 ok=$3 win winuid lose loseerr
	if [ "$ea" -eq 0 ] && [[ " $ok " = *" $eb "* ]]; then
		win=a winuid=$UIDA loseerr=$T_DIR/rb.err lose=$eb
	elif [ "$eb" -eq 0 ] && [[ " $ok " = *" $ea "* ]]; then
		win=b winuid=$UIDB loseerr=$T_DIR/ra.err lose=$ea
	else
		race_bad+=" round $r: exits a=$ea b=$eb;"
		return
	fi
	if [ "$lose" -eq 73 ] && ! grep -q "backup $n already exists on location shared" "$loseerr"; then
		race_bad+=" round $r: the loser's message: $(tail -n 1 "$loseerr");"
	elif [ "$lose" -eq 75 ] && ! grep -q "location is locked by" "$loseerr"; then
		race_bad+=" round $r: the loser's message: $(tail -n 1 "$loseerr");"
	fi
	local got
	got=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["cluster"]["uid"])' \
		"$SHARED/backups/$n/backup.json" 2>&1)
	[ "$got" = "$winuid" ] || race_bad+=" round $r: the manifest is not $win's ($got);"
	ka backup verify "$n" >/dev/null 2>"$T_DIR/rv.err" ||
		race_bad+=" round $r: verify: $(tail -n 1 "$T_DIR/rv.err");"
}
for r in $(seq 1 20); do
	race_round "race-$r" --lock-wait 10m
	race_check "race-$r" "$r" 73
done
t_result "$([ -z "$race_bad" ]; echo $?)" \
	"20 rounds of two runs (waiting for the lock) racing for a name: one Completed, one refused (73), the winner's backup intact"
[ -z "$race_bad" ] || echo "#  $race_bad"
race_bad=
for r in $(seq 1 5); do
	race_round "quick-$r"
	race_check "quick-$r" "$r" "73 75"
done
t_result "$([ -z "$race_bad" ]; echo $?)" \
	"5 rounds of two runs (not waiting) racing for a name: one Completed, the other refused (73 or 75)"
[ -z "$race_bad" ] || echo "#  $race_bad"
t_result "$([ -z "$(ls "$SHARED/locks")" ]; echo $?)" "no lock is left behind"
t_result "$([ "$(ls "$SHARED/backups" | wc -l)" -eq 28 ]; echo $?)" "exactly one backup per name is on the location"

# ---- the lock of a run elsewhere under the same host name ----
# Runs of two clusters may share a host name (containers, pods on a node's network,
# machines named alike) without sharing pids: such a run's lock is not taken for stale
# because its pid does not exist here, which would let both write.
sleep 0.1 &
dead=$!
wait $dead
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
mkdir -p "$SHARED/locks"
cat >"$SHARED/locks/00000000c0ffee00.json" <<EOF
{"kahu_lock": 1, "id": "00000000c0ffee00", "host": "$(uname -n)", "pid": $dead,
 "pid_space": "00000000-0000-4000-8000-000000000000/4026531836", "user": "ops",
 "started": "$now", "refreshed": "$now", "purpose": "backup create", "kahu_version": "0.1.0"}
EOF
chmod 600 "$SHARED/locks/00000000c0ffee00.json"
t_exit 75 "a live lock of another pid namespace under this host name is not broken" \
	kb backup create elsewhere "${SCOPE[@]}"
t_grep "... the run stops at it" "location is locked by ops@$(uname -n) pid $dead" "$T_ERR"
t_result "$([ -f "$SHARED/locks/00000000c0ffee00.json" ] && [ ! -e "$SHARED/backups/elsewhere" ]; echo $?)" \
	"... which is still there, and nothing was written"
space="$(cat /proc/sys/kernel/random/boot_id)/$(stat -L -c %i /proc/self/ns/pid)"
sed -i "s|\"pid_space\": \"[^\"]*\"|\"pid_space\": \"$space\"|" "$SHARED/locks/00000000c0ffee00.json"
t_ok "in this pid namespace, the lock of a process that is gone is broken" \
	kb backup create elsewhere "${SCOPE[@]}"
t_grep "... with a warning" "breaking stale lock locks/00000000c0ffee00\.json .*no longer exists" "$T_ERR"

# ---- --all-locations ----
t_ok "cluster a backs up to the other location" ka backup create on-other --location other "${SCOPE[@]}"
t_ok "backup list --all-locations" ka backup list --all-locations
t_grep "... lists the shared location's backups" "^from-b .* ${UIDB:0:8} +shared$" "$T_OUT"
t_grep "... and the other's" "^on-other .* ${UIDA:0:8} +other$" "$T_OUT"
t_ok "--all-locations --cluster UID" ka backup list --all-locations --cluster "$UIDA" -o json
t_py "... lists cluster a's backups of both locations, each with its location" "
b = {x['name']: x['location'] for x in d['backups']}
assert b['from-a'] == 'shared' and b['on-other'] == 'other', b
assert 'from-b' not in b and 'b-nouid' not in b, b" "$T_OUT"

cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF
{"version": 1, "defaultLocation": "shared",
 "locations": {"shared": {"provider": "fs", "config": {"path": "$SHARED"}},
               "broken": {"provider": "gone", "config": {"path": "$T_DIR/gone"}},
               "other": {"provider": "fs", "config": {"path": "$OTHER"}}}}
EOF
t_exit 2 "--all-locations with a broken location: exit 2 (partial)" ka backup list --all-locations
t_grep "... still lists the shared location" "^from-a .* shared$" "$T_OUT"
t_grep "... and the location after the broken one" "^on-other .* other$" "$T_OUT"
t_grep "... warns about the broken location" "location broken could not be listed" "$T_ERR"
t_grep "... and says how many failed" "1 of the 3 locations could not be listed" "$T_ERR"
t_exit 2 "... -o json too" ka backup list --all-locations -o json
t_py "... with both good locations' backups" "
locs = {x['location'] for x in d['backups']}
assert locs == {'shared', 'other'}, locs" "$T_OUT"

t_done

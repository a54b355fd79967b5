#!/usr/bin/env bash
# A damaged or lost kahu-repo.json: reading commands keep working with a warning that
# names the file and what is wrong; writing commands refuse (65) and say how to
# repair; `kahu location repair` rewrites it from the key in use and the backups'
# manifests, refusing another key (77) and backups that disagree (65); a lost file is
# never re-created for another key, and no key is generated over existing backups.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cluster_start main || { t_result 1 "test cluster starts"; t_done; exit 1; }
export KUBECONFIG=$CLUSTER_KUBECONFIG
export KAHU_TEST_WEAK_KDF=1 # add-passphrase: fast Argon2id parameters
LOC=$XDG_DATA_HOME/kahu/backups
REPO=$LOC/kahu-repo.json
KEYA=$T_DIR/a.key KEYB=$T_DIR/b.key
"$KAHU" key generate --file "$KEYA" >/dev/null 2>&1
"$KAHU" key generate --file "$KEYB" >/dev/null 2>&1
ida=$("$KAHU" key id --key-file "$KEYA" -o name 2>/dev/null)
idb=$("$KAHU" key id --key-file "$KEYB" -o name 2>/dev/null)
export KAHU_KEY_FILE=$KEYA
printf 'a passphrase for the location\n' >"$T_DIR/pass"
chmod 600 "$T_DIR/pass"

t_ok "backup create b1" "$KAHU" backup create b1
t_ok "backup create b2" "$KAHU" backup create b2
t_ok "key add-passphrase" "$KAHU" key add-passphrase --passphrase-file "$T_DIR/pass"
cp "$REPO" "$T_DIR/good-repo.json"
key_of_repo() { "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["keyId"])' "$REPO"; }

# ---- damaged: reading goes on, writing refuses ----
head -c 40 "$T_DIR/good-repo.json" >"$REPO"
cp "$REPO" "$T_DIR/damaged.json"
t_ok "backup list on a location whose kahu-repo.json is damaged works" "$KAHU" backup list -o name
t_grep "... listing the backups" "^backup/b1$" "$T_OUT"
t_grep "... with a warning naming the file and what is wrong" \
	"warning: location default: kahu-repo\.json is damaged \(not valid JSON: line [0-9]+: .*\)" "$T_ERR"
t_grep "... and how to repair it" "kahu location repair --location default" "$T_ERR"
t_ok "backup describe works too" "$KAHU" backup describe b1
t_ok "backup verify (with the key) works too" "$KAHU" backup verify b1
t_exit 65 "backup create refuses (65)" "$KAHU" backup create b3
t_grep "... naming the file, the damage and the repair" \
	"error: location default: kahu-repo\.json is damaged \(not valid JSON.*\); kahu writes nothing to the location until it is repaired: run 'kahu location repair --location default'" "$T_ERR"
[ ! -e "$LOC/backups/b3" ]; t_result $? "... and writes no backup"
cmp -s "$REPO" "$T_DIR/damaged.json"; t_result $? "... and leaves kahu-repo.json as it was"
t_exit 65 "backup delete refuses (65)" "$KAHU" backup delete b1 --yes
[ -f "$LOC/backups/b1/backup.json" ]; t_result $? "... and deletes nothing"
t_exit 65 "backup prune refuses (65)" "$KAHU" backup prune
t_exit 65 "key add-passphrase refuses (65)" "$KAHU" key add-passphrase --passphrase-file "$T_DIR/pass"
[ ! -e "$LOC/keys/$ida-2.json" ]; t_result $? "... and wraps nothing"
t_exit 65 "restore create refuses (65): it writes its result to the location" \
	"$KAHU" restore create --from-backup b1
t_grep "... saying how to repair" "kahu location repair" "$T_ERR"
t_ok "restore create --dry-run, which writes nothing there, works" \
	"$KAHU" restore create --from-backup b1 --dry-run
unset KAHU_KEY_FILE
t_exit 65 "without any key, backup create refuses the same way (65)" "$KAHU" backup create b3
[ ! -e "$XDG_CONFIG_HOME/kahu/keys/default.key" ]; t_result $? "... and generates no key"
t_exit 66 "... and so does a reading command that needs the key (66)" "$KAHU" backup verify b1
t_grep "... saying no key is made while kahu-repo.json is damaged" "no new key is made for it.*then run 'kahu location repair'" "$T_ERR"
export KAHU_KEY_FILE=$KEYA

# ---- repair ----
t_exit 77 "location repair with another key refuses (77)" "$KAHU" location repair --key-file "$KEYB"
t_grep "... naming both keys" "backups on location default are of key $ida \(2 backups, e.g\. b1; 1 wrapped key\); the key in use \(--key-file $KEYB\) is $idb" "$T_ERR"
cmp -s "$REPO" "$T_DIR/damaged.json"; t_result $? "... and leaves kahu-repo.json as it was"
t_ok "location repair with the key in use" "$KAHU" location repair
t_grep "... says it rewrote the file and what was wrong" \
	"^Rewrote kahu-repo\.json on location default \(it was not valid JSON" "$T_OUT"
t_grep "... and for which key" "^Key: +key $ida\$" "$T_OUT"
t_grep "... after authenticating the backups' manifests" "^Backups: +2 \(2 authenticated with the key\)\$" "$T_OUT"
[ "$(key_of_repo)" = "$ida" ]; t_result $? "kahu-repo.json names the key again"
[ "$(stat -c %a "$REPO")" = 600 ]; t_result $? "... mode 0600"
t_ok "a second repair finds nothing to do" "$KAHU" location repair -o json
t_py "... and says so" "
assert d['rewritten'] is False and d['problem'] is None, d
assert d['keyId'] == '$ida' and d['backups'] == 2 and d['wrappedKeys'] == 1, d" "$T_OUT"
t_ok "backup list gives no warning now" "$KAHU" backup list
t_nogrep "... (no warning)" "damaged" "$T_ERR"
t_ok "backup create b3 works again" "$KAHU" backup create b3

# A field flipped: the kahu-repo.json parses, but "keyId" is not a key id.
sed -i 's/"keyId": "\([0-9a-f]*\)"/"keyId": "\1x"/' "$REPO"
t_ok "a malformed keyId: backup list works" "$KAHU" backup list
t_grep "... warning that keyId is not a key id" 'kahu-repo\.json is damaged \("keyId" is not a key id\)' "$T_ERR"
t_ok "location repair with a passphrase only" env -u KAHU_KEY_FILE \
	KAHU_PASSPHRASE_FILE="$T_DIR/pass" "$KAHU" location repair
[ "$(key_of_repo)" = "$ida" ]; t_result $? "... kahu-repo.json names the key again"

# Another valid key id in it: backup create refuses as before; repair rewrites it.
"$PYTHON" - "$REPO" "$idb" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); d["keyId"] = sys.argv[2]
open(sys.argv[1], "w").write(json.dumps(d))
EOF
t_exit 77 "kahu-repo.json naming another key: backup create refuses (77)" "$KAHU" backup create b4
t_ok "location repair rewrites it from the backups' key" "$KAHU" location repair -o json
t_py "... saying it named another key" "
assert d['rewritten'] is True and d['problem'] == 'it named key $idb', d
assert d['keyId'] == '$ida' and d['backups'] == 3 and d['authenticated'] == 3, d" "$T_OUT"

# ---- lost ----
rm "$REPO"
t_exit 77 "kahu-repo.json lost: backup create with another key refuses (77)" \
	"$KAHU" backup create b4 --key-file "$KEYB"
t_grep "... as the backups are of another key" "has no kahu-repo\.json but holds key $ida .*; the key in use \(--key-file $KEYB\) is $idb" "$T_ERR"
[ ! -e "$REPO" ]; t_result $? "... and writes no kahu-repo.json for it"
unset KAHU_KEY_FILE
t_exit 66 "... and without any key none is generated (66)" "$KAHU" backup create b4
[ ! -e "$XDG_CONFIG_HOME/kahu/keys/default.key" ]; t_result $? "... (no default key written)"
export KAHU_KEY_FILE=$KEYA
t_ok "with the backups' key, backup create works and writes it again" "$KAHU" backup create b4
[ "$(key_of_repo)" = "$ida" ]; t_result $? "... naming that key"
rm "$REPO"
t_ok "location repair of a lost kahu-repo.json" "$KAHU" location repair
t_grep "... says it was missing" "\(it was missing\)" "$T_OUT"
[ "$(key_of_repo)" = "$ida" ]; t_result $? "... and writes it for the key"

# ---- backups that disagree ----
cp -r "$LOC/backups/b1" "$LOC/backups/odd"
"$PYTHON" - "$LOC/backups/odd/backup.json" "$idb" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); d["key_id"] = sys.argv[2]; d["name"] = "odd"
open(sys.argv[1], "w").write(json.dumps(d, sort_keys=True, separators=(",", ":")) + "\n")
EOF
echo '{' >"$REPO"
t_exit 65 "location repair with backups of two keys refuses (65)" "$KAHU" location repair
t_grep "... naming both keys and a backup of each" "name different keys: key $ida \(4 backups, e\.g\. b1; 1 wrapped key\), key $idb \(1 backup, e\.g\. odd\)" "$T_ERR"
[ "$(cat "$REPO")" = "{" ]; t_result $? "... and leaves kahu-repo.json as it was"
rm -r "$LOC/backups/odd"
t_ok "without the odd one, repair works" "$KAHU" location repair

# ---- a read-only location ----
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$T_DIR/ro.json" <<EOF
{"version": 1, "defaultLocation": "ro", "locations": {"ro": {"provider": "fs", "config": {"path": "$LOC"}, "access": "ReadOnly"}}}
EOF
t_exit 77 "location repair on a read-only location refuses (77)" "$KAHU" --config "$T_DIR/ro.json" location repair
t_grep "... saying it is read-only" "location ro is read-only" "$T_ERR"

t_done

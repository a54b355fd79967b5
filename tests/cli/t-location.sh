#!/usr/bin/env bash
# kahu location add|list|describe|remove|set-default|probe: settings checked against
# the provider's declared keys before anything is opened; the configuration written
# atomically, 0600, with unknown top-level fields kept, and a failed write leaves the
# old file; several locations of several providers used in one session; remove never
# deletes backups and refuses the default; probe says which step failed.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

CONFDIR=$XDG_CONFIG_HOME/kahu
CONF=$CONFDIR/config.json
mkdir -p -m 700 "$T_DIR/mods"
cp "$top_builddir/tests/plugins/.libs/kahu-probe.so" "$T_DIR/mods/"
chmod 755 "$T_DIR/mods/kahu-probe.so"
export KAHU_PLUGIN_PATH=$T_DIR/mods
A=$T_DIR/locA B=$T_DIR/locB

t_ok "location list without a configuration file" "$KAHU" location list
t_grep "... shows the built-in default" "^default +fs +\* +active +ReadWrite +default key +path=$XDG_DATA_HOME/kahu/backups$" "$T_OUT"

# ---- refusals, before anything is opened or written ----
t_exit 78 "an unknown setting is refused (78)" "$KAHU" location add a --provider fs --set path="$A",colour=red
t_grep "... naming it and the keys the provider declares" "provider fs does not accept the configuration key \"colour\" \(it accepts: path\)" "$T_ERR"
t_exit 78 "a missing required setting is refused (78)" "$KAHU" location add a --provider t-probe --set fail=read
t_grep "... naming it and what it is" "provider t-probe needs the configuration key \"bucket\" \(a name" "$T_ERR"
t_exit 78 "--prefix on a provider without a prefix setting (78)" "$KAHU" location add a --provider fs --set path="$A" --prefix x/
t_grep "... says so" "provider fs has no \"prefix\" setting" "$T_ERR"
t_exit 66 "an unknown provider (66)" "$KAHU" location add a --provider nosuch --set path="$A"
t_grep "... says none is called that" "no storage provider named \"nosuch\"" "$T_ERR"
t_exit 64 "no --provider (64)" "$KAHU" location add a --set path="$A"
t_exit 64 "an invalid location name (64)" "$KAHU" location add "-x" --provider fs --set path="$A"
t_exit 64 "--set without = (64)" "$KAHU" location add a --provider fs --set "$A"
t_grep "... says what it expects" "expected KEY=VALUE" "$T_ERR"
t_exit 64 "a key given twice (64)" "$KAHU" location add a --provider fs --set path=/x --set path=/y
t_exit 64 "--key-file with --no-encryption (64)" "$KAHU" location add a --provider fs --set path="$A" --key-file k --no-encryption
t_exit 64 "--config KEY=VALUE (64)" "$KAHU" location add a --provider fs --config path="$A"
t_grep "... says that --config names the configuration file" "--config names kahu's configuration file; give the provider's settings with --set" "$T_ERR"
[ ! -e "$CONF" ] && [ ! -e "$A" ]; t_result $? "no refusal wrote the configuration or opened the location"

# ---- adding several locations; the file ----
mkdir -p -m 700 "$CONFDIR"
cat >"$CONF" <<'JSON'
{ "version": 1, "x-later": { "kept": [1, 2] } }
JSON
chmod 600 "$CONF"
"$KAHU" key generate --file "$T_DIR/k.key" >/dev/null 2>&1
t_ok "location add a (fs) --default --key-file" "$KAHU" location add a --provider fs --set path="$A" --default --key-file "$T_DIR/k.key"
t_grep "... says where" "Added location a \(provider fs\) as the default to $CONF" "$T_OUT"
t_ok "location add b (fs, another path) --no-encryption" "$KAHU" location add b --provider fs --set "path=$B" --no-encryption
t_ok "location add p (t-probe) --prefix" "$KAHU" location add p --provider t-probe --set bucket=bk --prefix team/
printf 'a passphrase\n' >"$T_DIR/pass"; chmod 600 "$T_DIR/pass"
t_ok "location add c (fs) --passphrase-file" "$KAHU" location add c --provider fs --set "path=$T_DIR/locC" --passphrase-file "$T_DIR/pass"
t_exit 73 "adding a exists already (73)" "$KAHU" location add a --provider fs --set path=/elsewhere
t_grep "... says so" "location a exists already" "$T_ERR"
[ "$(stat -c %a "$CONF")" = 600 ]; t_result $? "the configuration is 0600"
[ "$(ls -A "$CONFDIR")" = config.json ]; t_result $? "no temporary file is left beside it"
t_py "the file holds the locations, the default and the unknown top-level field" "
assert d['x-later'] == {'kept': [1, 2]}, d
assert d['defaultLocation'] == 'a', d
assert d['locations']['default']['provider'] == 'fs', 'the built-in default is kept'
l = d['locations']
assert l['a'] == {'provider': 'fs', 'config': {'path': '$A'}, 'keyFile': '$T_DIR/k.key', 'access': 'ReadWrite'}, l['a']
assert l['b']['encryption'] is False and l['b']['config'] == {'path': '$B'}, l['b']
assert l['p']['config'] == {'bucket': 'bk', 'prefix': 'team/'}, l['p']
assert l['c']['passphraseFile'] == '$T_DIR/pass', l['c']" "$CONF"

t_ok "location list" "$KAHU" location list
t_grep "... a is the default" "^a +fs +\* +active +ReadWrite +key file +path=$A$" "$T_OUT"
t_grep "... b is not encrypted" "^b +fs +active +ReadWrite +none +path=$B$" "$T_OUT"
t_grep "... p with its settings" "^p +t-probe +active +ReadWrite +default key +bucket=bk,prefix=team/$" "$T_OUT"
t_ok "location list -o json" "$KAHU" location list -o json
t_py "... as a document" "
n = {l['name']: l for l in d['locations']}
assert sorted(n) == ['a', 'b', 'c', 'default', 'p'], n
assert n['a']['default'] is True and n['b']['default'] is False, n
assert n['b']['encryption'] == 'none' and n['c']['passphraseFile'] == '$T_DIR/pass', n" "$T_OUT"
t_ok "location describe p" "$KAHU" location describe p
t_grep "... its provider and settings" "^Provider: +t-probe \(active\)" "$T_OUT"
t_grep "... its prefix" "^  prefix: team/$" "$T_OUT"
t_exit 66 "location describe of an unknown location (66)" "$KAHU" location describe nosuch
t_ok "__complete location lists the names" "$KAHU" __complete location
[ "$(sort "$T_OUT" | tr '\n' ' ')" = "a b c default p " ]; t_result $? "... all of them, the built-in default kept"
t_ok "__complete provider lists the providers" "$KAHU" __complete provider
grep -qx fs "$T_OUT" && grep -qx t-probe "$T_OUT"; t_result $? "... fs and t-probe"

# ---- several locations in one session ----
cluster_start main || { t_result 1 "test cluster starts"; t_done; exit 1; }
export KUBECONFIG=$CLUSTER_KUBECONFIG KAHU_TEST_WEAK_KDF=1
t_ok "backup create on the default location (a)" "$KAHU" backup create ba --include-namespaces default
t_ok "backup create --location b (no encryption configured)" "$KAHU" backup create bb --location b --include-namespaces default
t_grep "... warns that it is stored in the clear" "the location's \"encryption\": false: backup bb is stored in the clear" "$T_ERR"
t_ok "backup list --location a" "$KAHU" backup list -o name --location a
[ "$(cat "$T_OUT")" = backup/ba ]; t_result $? "... holds ba only"
t_ok "backup list --location b" "$KAHU" backup list -o name --location b
[ "$(cat "$T_OUT")" = backup/bb ]; t_result $? "... holds bb only"
[ -e "$A/backups/ba/backup.json" ] && [ -e "$B/backups/bb/backup.json" ]; t_result $? "each in its own directory"
t_ok "backup verify ba (a's key file from the configuration)" env -u KAHU_KEY_FILE "$KAHU" backup verify ba
t_ok "backup describe bb --location b" "$KAHU" backup describe bb --location b
t_grep "... is not encrypted" "Encryption: +none" "$T_OUT"
t_ok "key add-passphrase on c" "$KAHU" key add-passphrase --location c --key-file "$T_DIR/k.key" --passphrase-file "$T_DIR/pass"
t_ok "key id on c: the location's passphraseFile opens its key" "$KAHU" key id --location c
t_grep "... said so" "location's passphraseFile" "$T_OUT"

# ---- set-default, remove ----
t_exit 64 "location remove of the default location is refused (64)" "$KAHU" location remove a
t_grep "... saying how to go on" "location a is the default location: make another one the default first" "$T_ERR"
t_ok "location set-default b" "$KAHU" location set-default b
t_py "... recorded" "assert d['defaultLocation'] == 'b', d" "$CONF"
t_ok "location remove a" "$KAHU" location remove a
t_grep "... says its backups stay" "Removed location a from $CONF; its backups were not deleted" "$T_OUT"
[ -e "$A/backups/ba/backup.json" ]; t_result $? "... and they do"
t_exit 66 "location remove of an unknown location (66)" "$KAHU" location remove a
t_py "the unknown top-level field survived every write" "assert d['x-later'] == {'kept': [1, 2]}, d" "$CONF"

# ---- probe ----
t_ok "location probe b (fs)" "$KAHU" location probe b
t_grep "... every step" "^delete +ok$" "$T_OUT"
[ -z "$(ls -A "$B/probes" 2>/dev/null)" ]; t_result $? "... leaves no probe object"
t_ok "location probe p -o json" "$KAHU" location probe p -o json
t_py "... the steps and the object" "assert d['ok'] and d['steps'] == ['open', 'write', 'read', 'list', 'delete'] and d['object'].startswith('probes/'), d" "$T_OUT"
for step in read list delete; do
	"$KAHU" location add "f$step" --provider t-probe --set bucket=x,fail=$step >/dev/null 2>&1
	t_fail "location probe with a provider that fails to $step" "$KAHU" location probe "f$step"
	t_grep "... says the step $step failed" "location f$step: probe failed at step $step \(.* probes/[0-9a-f]+-[0-9]+\): .*$step probes/.*refused by the test provider" "$T_ERR"
	t_grep "... and shows it" "^$step +FAILED$" "$T_OUT"
done
: >"$T_DIR/afile"
"$KAHU" location add fwrite --provider fs --set path="$T_DIR/afile/loc" >/dev/null 2>&1
t_fail "location probe where the directory cannot be made" "$KAHU" location probe fwrite
t_grep "... says the open step failed: the path lies below a file" "location fwrite: probe failed at step open \(opening the location with provider fs\): fs: cannot open the location: path \"$T_DIR/afile/loc\" is not a directory" "$T_ERR"
"$PYTHON" - "$CONF" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["locations"]["gone"] = {"provider": "gone", "config": {}}
json.dump(d, open(sys.argv[1], "w"))
PY
t_exit 66 "location probe of a location whose provider is missing (66)" "$KAHU" location probe gone
t_grep "... says the open step failed" "location gone: probe failed at step open \(opening the location with provider gone\)" "$T_ERR"

"$PYTHON" - "$CONF" "$B" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["locations"]["ro"] = {"provider": "fs", "config": {"path": sys.argv[2]}, "access": "ReadOnly"}
json.dump(d, open(sys.argv[1], "w"))
PY
t_ok "location probe of a read-only location" "$KAHU" location probe ro
t_grep "... opens and lists it only, and says so" "is read-only: opened and listed; write, read back and delete were not tried" "$T_OUT"
t_nogrep "... writing nothing" "^write" "$T_OUT"

# ---- a failed write leaves the old file ----
cp "$CONF" "$T_DIR/before.json"
# (the limit applies to kahu alone: its messages go through a pipe, which has none)
t_exit 74 "location add when the file cannot be written (a file size limit of 0; 74)" \
	bash -c 'set -o pipefail; { ulimit -f 0; trap "" XFSZ; "$0" location add z --provider fs --set path=/z; } 2>&1 | cat' "$KAHU"
t_grep "... says the write failed, naming the file" "error: cannot write $CONF\.tmp\.[A-Za-z0-9]+: File too large" "$T_OUT"
cmp -s "$CONF" "$T_DIR/before.json"; t_result $? "... the old file is intact"
[ "$(ls -A "$CONFDIR")" = config.json ]; t_result $? "... and no temporary file is left"

# ---- an fs location whose path is a file lists nothing and writes nothing: refused ----
printf 'not a directory\n' >"$T_DIR/afile"
t_ok "location add f (fs) at a path that is a file" "$KAHU" location add f --provider fs --set path="$T_DIR/afile" --no-encryption
t_exit 78 "backup list of it is refused (78), not an empty list" "$KAHU" backup list --location f
t_grep "... naming the path" "path \"$T_DIR/afile\" is not a directory" "$T_ERR"
"$KAHU" location add f2 --provider fs --set path="$T_DIR/afile/sub" --no-encryption >/dev/null 2>&1
t_exit 78 "a path below a file is refused too (78)" "$KAHU" backup list --location f2

t_done

#!/usr/bin/env bash
# kahu key generate|id|add-passphrase, key resolution and the configuration file, with
# the real binary.  No cluster needed.  Everything kahu prints is kept and checked at
# the end for the keys' base64 text: key material must never be printed.
. "$(dirname "$0")/lib.sh"

ALL=$T_DIR/all-output
: >"$ALL"
keep() { cat "$T_OUT" "$T_ERR" >>"$ALL"; }

mode_of() { stat -c %a "$1"; }
CFG=$XDG_CONFIG_HOME/kahu
DEFKEY=$CFG/keys/default.key
export KAHU_TEST_WEAK_KDF=1  # add-passphrase: fast Argon2id parameters

# No key yet.
t_exit 66 "key id without any key exits 66 (not found)" "$KAHU" key id; keep
t_grep "... and says how to create one" "kahu key generate" "$T_ERR"

# Generate.
t_ok "key generate writes the default key" "$KAHU" key generate; keep
id1=$(sed -n 's/^Generated key \([0-9a-f]*\)$/\1/p' "$T_OUT")
[ ${#id1} -eq 32 ]; t_result $? "... and prints a 32-digit key id"
t_grep "... and where it was written" "$DEFKEY" "$T_OUT"
t_grep "... and tells to keep a copy" "keep a copy" "$T_ERR"
[ "$(mode_of "$DEFKEY")" = 600 ]; t_result $? "the key file has mode 0600"
[ "$(mode_of "$CFG/keys")" = 700 ]; t_result $? "its directory has mode 0700"
cp "$DEFKEY" "$T_DIR/key1.b64"
t_exit 73 "a second key generate refuses to overwrite the key" "$KAHU" key generate; keep
t_grep "... with a clear message" "never overwrites" "$T_ERR"
cmp -s "$DEFKEY" "$T_DIR/key1.b64"; t_result $? "... and the key file is unchanged"
t_ok "key generate --file FILE" "$KAHU" key generate --file "$T_DIR/k2.key" -o json; keep
id2=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["keyId"])' "$T_OUT")
t_py "... prints JSON with the id and the file" "
assert len(d['keyId']) == 32 and d['keyId'] != '$id1', d
assert d['file'] == '$T_DIR/k2.key', d" "$T_OUT"

# key id and where the key comes from.
t_ok "key id finds the default key" "$KAHU" key id; keep
t_grep "... prints its id" "^Key ID: +$id1\$" "$T_OUT"
t_grep "... and its source" "default key $DEFKEY" "$T_OUT"
t_ok "key id -o json" "$KAHU" key id -o json; keep
t_py "... parses, with id, source, file and location" "
assert d['keyId'] == '$id1' and d['source'] == 'default', d
assert d['file'] == '$DEFKEY' and d['location'] == 'default', d
assert d['repositoryKeyId'] is None, d" "$T_OUT"
t_ok "key id -o name prints the id alone" "$KAHU" key id -o name; keep
[ "$(cat "$T_OUT")" = "$id1" ]; t_result $? "... which is the id"
t_ok "KAHU_KEY_FILE is honoured" env KAHU_KEY_FILE="$T_DIR/k2.key" "$KAHU" key id -o json; keep
t_py "... it names the other key" "
assert d['keyId'] == '$id2' and d['source'] == 'KAHU_KEY_FILE', d" "$T_OUT"
t_ok "--key-file beats KAHU_KEY_FILE" env KAHU_KEY_FILE="$T_DIR/nope.key" \
	"$KAHU" key id --key-file "$DEFKEY" -o name; keep
[ "$(cat "$T_OUT")" = "$id1" ]; t_result $? "... the flag's key is used"
t_exit 66 "a --key-file that does not exist exits 66" "$KAHU" key id --key-file "$T_DIR/nope.key"; keep
cp -p "$T_DIR/k2.key" "$T_DIR/open.key"
chmod 644 "$T_DIR/open.key"
t_exit 77 "a key file readable by others is refused (exit 77)" \
	"$KAHU" key id --key-file "$T_DIR/open.key"; keep
t_grep "... the message names the mode" "0644" "$T_ERR"

# Passphrases.
printf 'correct horse battery staple\n' >"$T_DIR/pass"
chmod 600 "$T_DIR/pass"
printf 'not the passphrase\n' >"$T_DIR/wrong"
chmod 600 "$T_DIR/wrong"
t_exit 64 "key add-passphrase needs --passphrase-file" "$KAHU" key add-passphrase; keep
t_ok "key add-passphrase stores the wrapped key on the location" \
	"$KAHU" key add-passphrase --passphrase-file "$T_DIR/pass"; keep
t_grep "... and says where" "keys/$id1.json" "$T_OUT"
LOC=$XDG_DATA_HOME/kahu/backups
[ -f "$LOC/keys/$id1.json" ] && [ "$(mode_of "$LOC/keys/$id1.json")" = 600 ]
t_result $? "... as keys/<id>.json, mode 0600"
[ -f "$LOC/kahu-repo.json" ]; t_result $? "... and the repository remembers its key id"
mv "$DEFKEY" "$T_DIR/saved.key"
t_ok "key id with only KAHU_PASSPHRASE_FILE gives the same id" \
	env KAHU_PASSPHRASE_FILE="$T_DIR/pass" "$KAHU" key id -o json; keep
t_py "... through the wrapped key" "
assert d['keyId'] == '$id1', d
assert d['source'] == 'KAHU_PASSPHRASE_FILE' and d['wrappedKey'] == 'keys/$id1.json', d
assert d['repositoryKeyId'] == '$id1', d" "$T_OUT"
t_exit 77 "a wrong passphrase exits 77" env KAHU_PASSPHRASE_FILE="$T_DIR/wrong" "$KAHU" key id; keep
t_grep "... with a clear message" "wrong passphrase" "$T_ERR"
t_exit 66 "without key or passphrase, key id exits 66" "$KAHU" key id; keep
t_grep "... and names the location's key id" "encrypted with key $id1" "$T_ERR"
mv "$T_DIR/saved.key" "$DEFKEY"
t_exit 77 "another key than the location's is refused (exit 77)" \
	env KAHU_KEY_FILE="$T_DIR/k2.key" "$KAHU" key id; keep
t_grep "... naming both key ids" "encrypted with key $id1; the key in use .* is $id2" "$T_ERR"
t_ok "a second passphrase" env KAHU_PASSPHRASE_FILE="$T_DIR/pass" \
	"$KAHU" key add-passphrase --passphrase-file "$T_DIR/wrong"; keep
t_grep "... goes to keys/<id>-2.json" "keys/$id1-2.json" "$T_OUT"
t_ok "... and opens the key too" env KAHU_PASSPHRASE_FILE="$T_DIR/wrong" "$KAHU" key id -o name; keep
[ "$(cat "$T_OUT")" = "$id1" ]; t_result $? "... the same key"

# The configuration file: locations with their own key files.
mkdir -p "$CFG"
cat >"$CFG/config.json" <<EOF
{
  "version": 1,
  "defaultLocation": "default",
  "locations": {
    "default": {"provider": "fs", "config": {"path": "$LOC"}},
    "second": {"provider": "fs", "config": {"path": "$T_DIR/second"}, "keyFile": "$T_DIR/k2.key"}
  }
}
EOF
chmod 600 "$CFG/config.json"
t_ok "a location's keyFile is used" "$KAHU" key id --location second -o json; keep
t_py "... for that location" "
assert d['keyId'] == '$id2' and d['source'] == 'location' and d['location'] == 'second', d" "$T_OUT"
t_exit 66 "an unknown location exits 66" "$KAHU" key id --location third; keep
t_grep "... listing the locations" "no location named third \\(locations: default, second\\)" "$T_ERR"
chmod 664 "$CFG/config.json"
t_exit 77 "a group-writable configuration file is refused" "$KAHU" key id; keep
t_grep "... with a clear message" "writable by its group" "$T_ERR"
chmod 600 "$CFG/config.json"
printf '{\n  "locations": {\n    "x": {"provider": "fs",}\n}}\n' >"$T_DIR/bad.json"
t_exit 78 "a malformed configuration exits 78" "$KAHU" --config "$T_DIR/bad.json" key id; keep
t_grep "... naming the file, line and column" "bad.json:3:[0-9]+:" "$T_ERR"
printf '{"locations": {"x": {"provider": "fs", "keyfile": "k"}}}\n' >"$T_DIR/bad2.json"
t_exit 78 "a bad field is named" env KAHU_CONFIG="$T_DIR/bad2.json" "$KAHU" key id; keep
t_grep "... with its path" "locations.x.keyfile: unknown field" "$T_ERR"

# No key material in anything kahu printed.
leak=0
for k in "$T_DIR/key1.b64" "$T_DIR/k2.key"; do
	b64=$(head -n 1 "$k")
	[ ${#b64} -ge 40 ] || leak=1
	grep -qF -- "$b64" "$ALL" && leak=1
	# ... nor a recognisable part of it.
	grep -qF -- "${b64:0:16}" "$ALL" && leak=1
done
grep -qF "correct horse" "$ALL" && leak=1
cp "$ALL" "$T_OUT"
[ $leak -eq 0 ]; t_result $? "no key or passphrase appears in stdout or stderr"

t_done

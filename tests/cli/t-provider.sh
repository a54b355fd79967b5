#!/usr/bin/env bash
# kahu provider list|describe|register|unregister|enable|disable: every provider found
# (the build tree's module, KAHU_PLUGIN_PATH, registered files) with the files refused
# and why; register refuses what the loader refuses, naming the file, and leaves the
# configuration alone; a disabled (passive) provider's location serves list, describe,
# download, verify and restore, and refuses backup create, delete and prune (77).
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

LIBS=$top_builddir/tests/plugins/.libs
CONF=$XDG_CONFIG_HOME/kahu/config.json
mkdir -p "$XDG_CONFIG_HOME/kahu"
plugin() { # NAME DIR: a private copy of a test plugin
	mkdir -p -m 700 "$2"
	cp "$LIBS/kahu-$1.so" "$2/kahu-$1.so"
	chmod 755 "$2/kahu-$1.so"
}
plugin probe "$T_DIR/mods"
plugin multi "$T_DIR/mods"
for p in badmajor nosym short; do plugin $p "$T_DIR/bad"; done

# ---- list ----
t_ok "provider list" "$KAHU" provider list
t_grep "... shows fs, its version, ABI, state and the build tree's module" \
	"^fs +[0-9.]+ +1\.[0-9]+ +active +build tree +.*/backends/fs/\.libs/kahu-fs\.so$" "$T_OUT"
t_ok "provider list with KAHU_PLUGIN_PATH" env KAHU_PLUGIN_PATH="$T_DIR/mods" "$KAHU" provider list
t_grep "... shows the providers of its files" "^t-probe +3 +1\.1 +active +KAHU_PLUGIN_PATH +$T_DIR/mods/kahu-probe\.so$" "$T_OUT"
t_grep "... each of a file that offers several" "^t-two +2 +1\.1 +active +KAHU_PLUGIN_PATH +$T_DIR/mods/kahu-multi\.so$" "$T_OUT"
t_ok "provider list -o json" env KAHU_PLUGIN_PATH="$T_DIR/mods" "$KAHU" provider list -o json
t_py "... a document of providers (name, version, abi, state, source, path) and refusals" '
names = [p["name"] for p in d["providers"]]
assert names.count("fs") == 1 and "t-one" in names and "t-probe" in names, names
p = [p for p in d["providers"] if p["name"] == "t-probe"][0]
assert p["abi"] == "1.1" and p["state"] == "active" and p["version"] == "3", p
assert d["refused"] == [], d["refused"]' "$T_OUT"
t_ok "provider list -o yaml" env KAHU_PLUGIN_PATH="$T_DIR/mods" "$KAHU" provider list -o yaml
t_grep "... in YAML" "^- name: t-probe$" "$T_OUT"

t_ok "provider list with refused files on the path" env KAHU_PLUGIN_PATH="$T_DIR/bad" "$KAHU" provider list
t_grep "... lists the ABI major mismatch with both versions" \
	"kahu-badmajor\.so was built for provider ABI 2\.0, but this kahu supports ABI 1\.1" "$T_OUT"
t_grep "... the file without an entry symbol" "kahu-nosym\.so exports no entry symbol" "$T_OUT"
t_grep "... the struct too small for its minor" "kahu-short\.so declares a [0-9]+-byte description, smaller than the [0-9]+ bytes ABI 1\.1 requires" "$T_OUT"

# ---- describe ----
t_ok "provider describe fs" "$KAHU" provider describe fs
t_grep "... its identity" "^Name: +fs$" "$T_OUT"
t_grep "... its capabilities" "^Capabilities: .*atomic-put.*local" "$T_OUT"
t_grep "... its configuration keys with their descriptions" "^  path +\(required\) directory that holds the location" "$T_OUT"
t_grep "... and where it was loaded from" "^Loaded from: +.*/backends/fs/\.libs/kahu-fs\.so$" "$T_OUT"
t_ok "provider describe t-probe -o json" env KAHU_PLUGIN_PATH="$T_DIR/mods" "$KAHU" provider describe t-probe -o json
t_py "... capabilities and config keys (required, description) in the document" "
assert d['name'] == 't-probe' and d['path'] == '$T_DIR/mods/kahu-probe.so', d
keys = {k['key']: k for k in d['configKeys']}
assert keys['bucket']['required'] is True and keys['fail']['required'] is False, keys
assert 'the operation that fails' in keys['fail']['description'], keys
assert d['capabilities'] == ['metadata', 'atomic-put'], d['capabilities']" "$T_OUT"
t_exit 66 "provider describe of an unknown provider (66)" "$KAHU" provider describe nosuch
t_grep "... says none is called that" "no storage provider named \"nosuch\"" "$T_ERR"

# ---- register: the loader's refusals, naming the file; the configuration untouched ----
t_exit 1 "register a plugin built for ABI 2 (1)" "$KAHU" provider register "$T_DIR/bad/kahu-badmajor.so"
t_grep "... naming the file and both versions" "$T_DIR/bad/kahu-badmajor\.so was built for provider ABI 2\.0, but this kahu supports ABI 1\.1" "$T_ERR"
t_exit 1 "register a file without an entry symbol (1)" "$KAHU" provider register "$T_DIR/bad/kahu-nosym.so"
t_grep "... naming the file" "plugin $T_DIR/bad/kahu-nosym\.so exports no entry symbol" "$T_ERR"
t_exit 1 "register a plugin whose struct is too small for its minor (1)" "$KAHU" provider register "$T_DIR/bad/kahu-short.so"
t_grep "... naming the file and the sizes" "$T_DIR/bad/kahu-short\.so declares a [0-9]+-byte description, smaller than" "$T_ERR"
t_exit 66 "register a file that does not exist (66)" "$KAHU" provider register "$T_DIR/nothing.so"
mkdir -p -m 700 "$T_DIR/gw"; plugin probe "$T_DIR/gw"; chmod 775 "$T_DIR/gw/kahu-probe.so"
t_exit 77 "register a group-writable file (77)" "$KAHU" provider register "$T_DIR/gw/kahu-probe.so"
t_grep "... naming it and its mode" "plugin $T_DIR/gw/kahu-probe\.so is group-writable \(mode 0775\)" "$T_ERR"
chmod 755 "$T_DIR/gw/kahu-probe.so"; chmod 777 "$T_DIR/gw"
t_exit 77 "register a file in a world-writable directory (77)" "$KAHU" provider register "$T_DIR/gw/kahu-probe.so"
t_grep "... naming the directory" "its directory $T_DIR/gw is world-writable \(mode 0777\)" "$T_ERR"
chmod 700 "$T_DIR/gw"
if [ "$(id -u)" -eq 0 ]; then
	chown 65534 "$T_DIR/gw/kahu-probe.so"
	t_exit 77 "register a file owned by another user (77)" "$KAHU" provider register "$T_DIR/gw/kahu-probe.so"
	t_grep "... naming the owner" "plugin $T_DIR/gw/kahu-probe\.so is owned by uid 65534, neither root nor the user" "$T_ERR"
	chown 0 "$T_DIR/gw/kahu-probe.so"
else
	t_skip "register a file owned by another user (77)" "needs root to give a file away"
fi
[ ! -e "$CONF" ]; t_result $? "no refusal wrote the configuration"

# ---- register, use, unregister ----
plugin probe "$T_DIR/reg"
t_ok "register a good plugin" "$KAHU" provider register "$T_DIR/reg/kahu-probe.so"
t_grep "... naming it and its providers" "Registered plugin $T_DIR/reg/kahu-probe\.so \(providers: t-probe\)" "$T_OUT"
[ "$(stat -c %a "$CONF")" = 600 ]; t_result $? "... the configuration is written 0600"
t_py "... and records the file under providers.plugins" "assert d['providers']['plugins'] == ['$T_DIR/reg/kahu-probe.so'], d" "$CONF"
t_ok "register it again" "$KAHU" provider register "$T_DIR/reg/kahu-probe.so"
t_grep "... says it is registered already" "is registered already" "$T_OUT"
t_ok "provider list shows the registered provider" "$KAHU" provider list
t_grep "... as registered" "^t-probe +3 +1\.1 +active +registered +$T_DIR/reg/kahu-probe\.so$" "$T_OUT"
t_ok "a location of the registered provider" "$KAHU" location add p1 --provider t-probe --set bucket=b
t_ok "... is probed through it" "$KAHU" location probe p1
t_exit 66 "unregister a provider that comes from a directory (66)" "$KAHU" provider unregister fs
t_grep "... says where it comes from" "provider fs is not registered in .*: it is loaded from .*kahu-fs\.so" "$T_ERR"
t_ok "unregister t-probe" "$KAHU" provider unregister t-probe
t_grep "... names the file" "Unregistered plugin $T_DIR/reg/kahu-probe\.so" "$T_OUT"
t_grep "... and warns about the location that uses it" "location p1 uses provider t-probe" "$T_ERR"
t_py "... the configuration no longer names it" "assert 'providers' not in d, d" "$CONF"
t_exit 66 "provider describe t-probe: no longer found (66)" "$KAHU" provider describe t-probe
t_ok "location remove p1" "$KAHU" location remove p1

# ---- passive ----
cluster_start main || { t_result 1 "test cluster starts"; t_done; exit 1; }
export KUBECONFIG=$CLUSTER_KUBECONFIG
export KAHU_KEY_FILE=$T_DIR/k.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
t_ok "backup create b1 while fs is active" "$KAHU" backup create b1 --include-namespaces default
t_ok "provider disable fs" "$KAHU" provider disable fs
t_grep "... says what passive means" "Provider fs is disabled \(passive\): its locations serve reads and restores only" "$T_OUT"
t_py "... recorded under providers.passive" "assert d['providers']['passive'] == ['fs'], d" "$CONF"
t_ok "provider disable fs again" "$KAHU" provider disable fs
t_grep "... says it is disabled already" "disabled \(passive\) already" "$T_OUT"
t_ok "provider list" "$KAHU" provider list
t_grep "... shows fs passive" "^fs +[0-9.]+ +1\.[0-9]+ +passive " "$T_OUT"
t_ok "provider describe fs" "$KAHU" provider describe fs
t_grep "... shows it passive" "^State: +passive" "$T_OUT"
t_exit 77 "backup create on a passive provider's location is refused (77)" "$KAHU" backup create b2 --include-namespaces default
t_grep "... with what passive means and how to enable it" \
	"location default: provider fs is disabled \(passive\): it serves reads and restores only.*'kahu provider enable fs'" "$T_ERR"
t_exit 77 "backup delete is refused (77)" "$KAHU" backup delete b1 --yes
t_grep "... the same way" "provider fs is disabled \(passive\)" "$T_ERR"
t_exit 77 "backup prune is refused (77)" "$KAHU" backup prune --keep-last 1
t_ok "backup list works" "$KAHU" backup list -o name
t_grep "... and lists b1" "^backup/b1$" "$T_OUT"
t_ok "backup describe works" "$KAHU" backup describe b1
t_ok "backup verify works" "$KAHU" backup verify b1
t_ok "backup download works" "$KAHU" backup download b1 --extract "$T_DIR/x"
t_ok "restore create works" "$KAHU" restore create r1 --from-backup b1
t_ok "provider enable fs" "$KAHU" provider enable fs
t_py "... the mark is gone" "assert 'providers' not in d, d" "$CONF"
t_ok "backup create works again" "$KAHU" backup create b2 --include-namespaces default
t_exit 66 "provider disable of an unknown provider (66)" "$KAHU" provider disable nosuch

t_done

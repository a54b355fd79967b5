#!/usr/bin/env bash
# Storage providers are loaded as plugins: the kahu of the build tree loads its own fs
# module; KAHU_PLUGIN_PATH comes first; an unsafe plugin file is refused (77) with a
# message naming it; a Ctrl-C while kahu waits to try a failing provider again ends
# the run at once with 130.
. "$(dirname "$0")/lib.sh"

FSMOD=$top_builddir/backends/fs/.libs/kahu-fs.so
PLUGINS=$top_builddir/tests/plugins/.libs
mkdir -p "$XDG_CONFIG_HOME/kahu"

t_ok "backup list on the default location" "$KAHU" -vv backup list
t_grep "... loads the fs provider from the build tree's module" \
	"storage provider fs .*loaded from .*/backends/fs/\.libs/kahu-fs\.so" "$T_ERR"

mkdir -m 700 "$T_DIR/mods"
cp "$FSMOD" "$T_DIR/mods/kahu-fs.so"
chmod 755 "$T_DIR/mods/kahu-fs.so"
t_ok "with KAHU_PLUGIN_PATH" env KAHU_PLUGIN_PATH="$T_DIR/mods" "$KAHU" -vv backup list
t_grep "... the module found there is used" "loaded from $T_DIR/mods/kahu-fs\.so" "$T_ERR"

chmod 775 "$T_DIR/mods/kahu-fs.so"
t_exit 77 "a group-writable plugin is refused (77)" \
	env KAHU_PLUGIN_PATH="$T_DIR/mods" "$KAHU" backup list
t_grep "... with a message naming the file" \
	"plugin $T_DIR/mods/kahu-fs\.so is group-writable \(mode 0775\): not loaded" "$T_ERR"

# ---- Ctrl-C while a provider fails transiently and kahu waits to try again ----
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<JSON
{ "version": 1, "defaultLocation": "default",
  "locations": {
    "default": { "provider": "fs", "config": { "path": "$T_DIR/loc" } },
    "flaky": { "provider": "flaky", "config": { "mark": "$T_DIR/mark" } } } }
JSON
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"

t_exit 75 "a provider that stays busy: backup list gives up after its tries (75)" \
	env KAHU_PLUGIN_PATH="$PLUGINS" "$KAHU" backup list --location flaky
t_grep "... saying how often it tried" "still failing after 4 attempts" "$T_ERR"

rm -f "$T_DIR/mark"
KAHU_PLUGIN_PATH="$PLUGINS" "$KAHU" -v backup list --location flaky >"$T_DIR/int.out" 2>"$T_DIR/int.err" &
pid=$!
T_CLEANUP+=("kill -KILL $pid")
# the provider was called once: kahu is trying or waiting to try again
timeout 60 bash -c "until [ -e '$T_DIR/mark' ] || ! kill -0 $pid; do sleep 0.05; done"
kill -INT $pid
# a regression (retries sleeping through the interrupt) must fail, not hang
timeout 60 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.05; done" || kill -KILL $pid
wait $pid; rc=$?
echo "exit $rc" >"$T_OUT"; cp "$T_DIR/int.err" "$T_ERR"
[ $rc -eq 130 ]; t_result $? "Ctrl-C during a store retry ends the run with 130"
t_grep "... saying it was interrupted while waiting" "interrupted while waiting to try again" "$T_DIR/int.err"

t_done

#!/usr/bin/env bash
# A third party's storage provider, built from what `make install` puts on a machine and
# nothing else: examples/backend-plugin/ ("shard") is built against the installed
# <kahu/backend.h> and kahu-backend.pc, installed into the module directory the .pc
# names, loaded by kahu, and carries a backup, list, verify, download, restore and
# delete against the test cluster.  On disk its objects lie in the hashed directories
# it promises (checked by an independent decoder here), long names included; its
# configuration values are checked; its mount-wait ends when the directory appears,
# and at once when the run is interrupted.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

umask 022  # kahu refuses a group- or world-writable plugin or plugin directory
# make run from here must not see the make that runs the tests (jobserver, TESTS=…)
unset MAKEFLAGS MFLAGS MAKELEVEL

# ---- kahu installed into a staging directory ----
STAGE=$T_DIR/stage
t_ok "make install DESTDIR=… of kahu" make -s -C "$top_builddir" install DESTDIR="$STAGE"
PCFILE=$(find "$STAGE" -name kahu-backend.pc | head -n 1)
[ -n "$PCFILE" ] && [ -n "$(find "$STAGE" -path '*/include/kahu/backend.h')" ]
t_result $? "... installs kahu/backend.h and kahu-backend.pc"
# pkg-config sees the staged .pc only (and the compiler no include path from the
# environment); pc_build maps the .pc's -I paths into the stage (SYSROOT), pc_install
# leaves the module directory as the .pc says, for `make install DESTDIR=…`.
pc_install() { env -u CPATH -u C_INCLUDE_PATH -u LIBRARY_PATH -u PKG_CONFIG_SYSROOT_DIR \
	PKG_CONFIG_LIBDIR="$(dirname "$PCFILE")" PKG_CONFIG_PATH= "$@"; }
pc_build() { pc_install env PKG_CONFIG_SYSROOT_DIR="$STAGE" "$@"; }
BACKENDDIR=$(pc_install pkg-config --variable=backenddir kahu-backend)
[ -n "$BACKENDDIR" ] && [ -f "$STAGE$BACKENDDIR/kahu-fs.so" ]
t_result $? "... the module directory the .pc names ($BACKENDDIR) is where kahu-fs.so went"
ls "$STAGE$BACKENDDIR"/*.la >"$T_OUT" 2>/dev/null
[ ! -s "$T_OUT" ]; t_result $? "... with no libtool archive beside it"

# ---- the example, built from a copy (no way back to kahu's sources) ----
SRC=$T_DIR/backend-plugin
cp -R "$top_srcdir/examples/backend-plugin" "$SRC" && chmod -R u+w "$SRC"
t_nogrep "the example includes nothing of kahu's sources" '#[[:space:]]*include[[:space:]]*["<](\.\./|src/|util/|store/|cli/|engine/|kube/|archive/)' \
	<(cat "$SRC"/*.c "$SRC"/*.h)
rm -f "$SRC"/*.so "$SRC"/test-names
t_ok "make check of the example against the installed files" \
	pc_build make -s -C "$SRC" check CFLAGS="-O2 -Wall -Wextra -Werror"
t_grep "... its layout's unit test passes" "test-names: all checks passed" "$T_OUT"
t_ok "make install of the example into the module directory" \
	pc_install make -s -C "$SRC" install DESTDIR="$STAGE"
PLUGIN=$STAGE$BACKENDDIR/kahu-shard.so
[ -f "$PLUGIN" ] && [ "$(stat -c %a "$PLUGIN")" = 755 ]; t_result $? "... kahu-shard.so, mode 755"
[ -f "$PLUGIN" ] || { t_done; exit 1; }
nm -D --defined-only "$PLUGIN" 2>/dev/null | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort >"$T_OUT"
printf 'kahu_backend_init\nkahu_plugin_init\n' | cmp -s - "$T_OUT"
t_result $? "... exporting the two entry points and nothing else"

LOC=$T_DIR/shard-loc
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<JSON
{ "version": 1, "defaultLocation": "shard",
  "locations": {
    "shard": { "provider": "shard", "config": { "path": "$LOC" } },
    "late": { "provider": "shard", "config": { "path": "$T_DIR/late", "mount-wait": "3600" } },
    "never": { "provider": "shard", "config": { "path": "$T_DIR/never", "mount-wait": "3600" } },
    "badwait": { "provider": "shard", "config": { "path": "$T_DIR/x", "mount-wait": "soon" } },
    "relative": { "provider": "shard", "config": { "path": "x/y", "fsync": "no" } },
    "unknown": { "provider": "shard", "config": { "path": "$T_DIR/x", "colour": "blue" } },
    "nopath": { "provider": "shard", "config": { "fsync": "no" } } } }
JSON

# kahu finds the plugin as an operator would make it known: `kahu provider register`
# records its path in the configuration (after loading it once to check it).
t_ok "kahu provider register of the installed kahu-shard.so" \
	"$KAHU" provider register "$PLUGIN"
t_ok "... kahu provider describe shard" "$KAHU" provider describe shard
t_grep "... shows where it was loaded from" "$PLUGIN" "$T_OUT"
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"

t_ok "backup list through the plugin (an empty location)" "$KAHU" -vv backup list
t_grep "... kahu loaded it from the module directory" \
	"storage provider shard .*loaded from $PLUGIN" "$T_ERR"

t_exit 78 "a mount-wait that is not a number is refused (78)" "$KAHU" backup list --location badwait
t_grep "... with the provider's message" 'mount-wait "soon" is not a number of seconds' "$T_ERR"
t_exit 78 "a relative path is refused (78)" "$KAHU" backup list --location relative
t_grep "... saying so" 'path "x/y" is not an absolute path' "$T_ERR"
t_exit 78 "a key the provider does not declare is refused (78)" "$KAHU" backup list --location unknown
t_grep "... naming the keys it declares" '"colour" \(it accepts: path, mount-wait, fsync\)' "$T_ERR"
t_exit 78 "a missing required key is refused (78)" "$KAHU" backup list --location nopath
t_grep "... with the key's description" 'needs the configuration key "path" \(absolute path of the directory' "$T_ERR"

# ---- a round trip through the test cluster ----
cat >"$T_DIR/tp.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: tp}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: tp}
data: {colour: blue, size: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: tp}
type: Opaque
data: {value: c2VjcmV0}
EOF
cluster_start main --seed "$top_srcdir/examples/demo-apps.yaml" --seed "$T_DIR/tp.yaml" ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
kahu_k() { "$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1

t_ok "backup create through the plugin" kahu_k backup create tp1
t_ok "backup list shows it" "$KAHU" backup list -o json
t_py "... Completed, on the plugin's location" '
b = [x for x in d["backups"] if x["name"] == "tp1"]
assert b and b[0]["status"] == "Completed" and b[0]["location"] == "shard", b' "$T_OUT"
t_ok "backup describe" "$KAHU" backup describe tp1
t_ok "backup verify" "$KAHU" backup verify tp1
t_ok "backup download --extract" "$KAHU" backup download tp1 --extract "$T_DIR/tp1"
grep -rqs '"colour"' "$T_DIR/tp1"; t_result $? "... the archive holds the ConfigMap"

# A name of 253 characters: its keys encode to more than NAME_MAX, so they are cut
# into chunk directories.
LONG=long-$(printf 'a%.0s' $(seq 1 244)).x.y
t_ok "backup create with a name of ${#LONG} characters" kahu_k backup create "$LONG" --include-namespaces tp
t_ok "... verify" "$KAHU" backup verify "$LONG"

# The layout, read by a decoder of its own: every file is <root>/ab/cd/<name> or under
# chunk directories "…~" below that, ab/cd the FNV-1a hash of the key; the keys are
# kahu's (FORMAT.md); no temporary file is left.
layout() { # expected "key,key,…" that must be present, then forbidden regex
	"$PYTHON" - "$LOC" "$1" "${2:-^$}" <<'EOF'
import os, re, sys
root, want, forbid = sys.argv[1], sys.argv[2], re.compile(sys.argv[3])
def fnv(b):
    h = 2166136261
    for c in b:
        h = ((h ^ c) * 16777619) & 0xffffffff
    return h
def decode(chunks):
    s = "".join(c[:-1] if c.endswith("~") else c for c in chunks)
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "%":
            out.append(int(s[i + 1:i + 3], 16)); i += 3
        else:
            out += b"/" if c == "+" else c.encode(); i += 1
    return bytes(out)
keys = {}
for d, dirs, files in os.walk(root):
    rel = os.path.relpath(d, root).split(os.sep) if d != root else []
    for f in files:
        parts = rel + [f]
        assert not f.startswith("."), "left behind: %s" % "/".join(parts)
        assert len(parts) >= 3 and all(re.fullmatch("[0-9a-f]{2}", p) for p in parts[:2]), \
            "not in a shard: %s" % "/".join(parts)
        assert all(p.endswith("~") for p in parts[2:-1]), "not a chunk: %s" % "/".join(parts)
        assert all(len(p) <= 201 for p in parts), "component too long: %s" % "/".join(parts)
        key = decode(parts[2:])
        h = fnv(key)
        assert parts[:2] == ["%02x" % (h >> 24), "%02x" % ((h >> 16) & 255)], \
            "%s in the wrong shard %s" % (key, parts[:2])
        keys[key.decode()] = len(parts)
    for sub in dirs:
        assert not sub.startswith("."), "hidden directory %s" % sub
for k in filter(None, want.split(",")):
    assert k in keys, "%s not found among %s" % (k, sorted(keys))
bad = [k for k in keys if forbid.search(k)]
assert not bad, "unexpected: %s" % bad
print("\n".join("%d %s" % (n, k) for k, n in sorted(keys.items())))
EOF
}
t_ok "the objects lie in hashed directories under their encoded keys" \
	layout "kahu-repo.json,backups/tp1/backup.json,backups/tp1/metadata.tar.zst.kenc,backups/$LONG/backup.json"
grep -q "^[4-9] backups/$LONG/backup.json" "$T_OUT"
t_result $? "... the long name's objects under chunk directories"

# ---- restore ----
api() { # METHOD PATH
	curl -sS --fail-with-body --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" \
		-X "$1" "$CLUSTER_URL$2" >/dev/null
}
t_ok "the ConfigMap is deleted from the cluster" api DELETE /api/v1/namespaces/tp/configmaps/settings
t_ok "restore create from the plugin's location" \
	kahu_k restore create r1 --from-backup tp1 --include-namespaces tp
t_ok "... restore describe" "$KAHU" restore describe r1 -o json
t_py "... the restore Completed, the ConfigMap created" '
assert d["status"] == "Completed", d["status"]
i = [x for x in d["items"] if x["resource"] == "configmaps" and x["name"] == "settings"]
assert i and i[0]["outcome"] == "created", i' "$T_OUT"
cluster_admin GET "/_admin/dump?namespace=tp" >"$T_OUT" 2>"$T_ERR"
t_py "... the ConfigMap is back with its data" '
cm = [o for o in d["items"] if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "settings"]
assert cm and cm[0]["data"] == {"colour": "blue", "size": "3"}, cm' "$T_OUT"
t_ok "restore list" "$KAHU" restore list
t_grep "... shows r1" "^r1 " "$T_OUT"

# ---- cleanup: prune removes what killed puts left under backups/, and only that ----
# tmp_of KEY: where an unfinished put of KEY (a short one) leaves its temporary file
tmp_of() {
	"$PYTHON" - "$LOC" "$1" <<'EOF'
import sys
root, key = sys.argv[1], sys.argv[2].encode()
h = 2166136261
for c in key:
    h = ((h ^ c) * 16777619) & 0xffffffff
safe = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
name = "".join("+" if c == 47 else chr(c) if c in safe else "%%%02X" % c for c in key)
print("%s/%02x/%02x/.%s.tmp.0123456789abcdef" % (root, h >> 24, (h >> 16) & 255, name))
EOF
}
GHOST=$(tmp_of backups/ghost/metadata.tar.zst.kenc) OTHER=$(tmp_of locks/ghost.json)
mkdir -p "$(dirname "$GHOST")" "$(dirname "$OTHER")" && : >"$GHOST" && : >"$OTHER"
t_ok "backup list does not show what an unfinished put left" "$KAHU" backup list -o name
t_nogrep "... (no ghost)" "ghost" "$T_OUT"
t_ok "backup prune" "$KAHU" backup prune
[ ! -e "$GHOST" ]; t_result $? "... removes the temporary file of a put under backups/"
[ -e "$OTHER" ]; t_result $? "... and leaves one under locks/ (another writer's)"
rm -f "$OTHER"
t_ok "... both backups are still there" "$KAHU" backup list -o name
[ "$(grep -c . "$T_OUT")" = 2 ]; t_result $? "... (two of them)"

# ---- delete ----
t_ok "backup delete tp1" "$KAHU" backup delete tp1 --yes
t_ok "backup delete of the long name" "$KAHU" backup delete "$LONG" --yes
t_ok "backup list after delete" "$KAHU" backup list -o name
t_nogrep "... shows neither" "tp1|$LONG" "$T_OUT"
t_ok "... nothing of them left on disk, nor their chunk directories" layout "kahu-repo.json" "^backups/"
find "$LOC" -name '*~' >"$T_OUT"
[ ! -s "$T_OUT" ]; t_result $? "... no chunk directory remains"
t_exit 66 "verify of the deleted backup: not found (66)" "$KAHU" backup verify tp1

# ---- mount-wait: the wait ends when the directory appears ----
"$KAHU" -v backup list --location late >"$T_DIR/late.out" 2>"$T_DIR/late.err" &
pid=$!
T_CLEANUP+=("kill -KILL $pid")
timeout 60 bash -c "until grep -q 'waiting up to' '$T_DIR/late.err' || ! kill -0 $pid 2>/dev/null; do sleep 0.05; done"
mkdir -m 700 "$T_DIR/late"
timeout 120 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.05; done" || kill -KILL $pid
wait $pid; rc=$?
echo "exit $rc" >"$T_OUT"; cp "$T_DIR/late.err" "$T_ERR"
[ $rc -eq 0 ]; t_result $? "mount-wait: backup list goes on once the directory appears"
t_grep "... after saying it waits" "shard: waiting up to 3600 s for $T_DIR/late to appear" "$T_DIR/late.err"

# ---- and at once when the run is interrupted ----
"$KAHU" -v backup list --location never >"$T_DIR/int.out" 2>"$T_DIR/int.err" &
pid=$!
T_CLEANUP+=("kill -KILL $pid")
timeout 60 bash -c "until grep -q 'waiting up to' '$T_DIR/int.err' || ! kill -0 $pid 2>/dev/null; do sleep 0.05; done"
kill -INT $pid
# a provider that ignores host->cancelled() would wait an hour: fail, do not hang
timeout 60 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.05; done" || kill -KILL $pid
wait $pid; rc=$?
echo "exit $rc" >"$T_OUT"; cp "$T_DIR/int.err" "$T_ERR"
[ $rc -eq 130 ]; t_result $? "Ctrl-C while the provider waits for its directory ends the run with 130"
t_grep "... with the provider's message" "interrupted while waiting for $T_DIR/never to appear" "$T_DIR/int.err"
[ ! -e "$T_DIR/never" ]; t_result $? "... and a mount-wait location's directory is never created"

# ---- uninstall: the example's, then kahu's, leave nothing behind ----
t_ok "make uninstall of the example" pc_install make -s -C "$SRC" uninstall DESTDIR="$STAGE"
t_ok "make uninstall DESTDIR=… of kahu" make -s -C "$top_builddir" uninstall DESTDIR="$STAGE"
find "$STAGE" ! -type d >"$T_OUT"
[ ! -s "$T_OUT" ]; t_result $? "... no file remains in the staging directory"

t_done

# kahu CLI test library for volume data: sourced after tests/cli/lib.sh by the
# t-volume*.sh and t-voldata.sh scripts.  It sources tests/cluster/cluster.sh.
#
#   vol_setup                       a key ($KAHU_KEY_FILE) and the fs location $LOC as the
#                                   default location (so tests can list its objects)
#   vol_cluster NAME SEED [flags]   start test-cluster instance NAME seeded with SEED;
#                                   defines kahu_NAME (kahu with its kubeconfig); on failure
#                                   reports it and ends the script
#   vol_dir NAME NS PVC             the claim's data directory in instance NAME
#   vol_fill DIR                    a tree with every kind of entry: files (random, empty,
#                                   setuid, old mtime), directories (empty too), symlinks,
#                                   hard links, names with spaces, a newline and UTF-8;
#                                   owners when run as root
#   vol_snapshot DIR                what a restore must reproduce: path, type, mode, owner,
#                                   mtime, size, link count, symlink target, sha256
#   vol_same DIR1 DIR2              diff of the two snapshots (exit 0: equal)
#   vol_tree_sum DIR                a lighter listing: types, modes, symlinks and sha256
#   vol_kahu NAME KIND [NS]         names of the objects of KIND kahu made (its label),
#                                   in namespace NS or in every namespace
#   vol_field FILE NS/PVC FIELD     a field (dotted) of a volume in a JSON document's
#                                   "volumes" (backup create / describe -o json)
#   vol_check FILE NS/PVC FIELD WANT   a TAP result: the field is WANT
#   vol_wait_for SECONDS CMD...     run CMD every 0.1 s until it succeeds (exit 1 if never)

. "$top_srcdir/tests/cluster/cluster.sh"

vol_setup() {
	export KAHU_KEY_FILE=$T_DIR/test.key
	"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
	LOC=$T_DIR/loc
	mkdir -p "$XDG_CONFIG_HOME/kahu"
	cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF_VOL
{"version": 1, "defaultLocation": "default",
 "locations": {"default": {"provider": "fs", "config": {"path": "$LOC"}}}}
EOF_VOL
	chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"
}

vol_cluster() {
	local name=$1 seed=$2; shift 2
	if [ -n "$seed" ]; then set -- --seed "$seed" "$@"; fi
	if ! cluster_start "$name" "$@"; then
		t_result 1 "test cluster $name starts"
		t_done
		exit 1
	fi
	local kc=$CLUSTER_KUBECONFIG
	eval "kahu_$(_cluster_var "$name" | tr '[:upper:]' '[:lower:]')() { \"\$KAHU\" --kubeconfig '$kc' \"\$@\"; }"
}

vol_dir() {
	CLUSTER_USE=$1 cluster_admin GET "/_admin/volume?namespace=$2&pvc=$3" |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["path"])' 2>/dev/null
}

vol_fill() {
	local v=$1
	mkdir -p "$v/a dir/sub" "$v/empty" "$v/d/e"
	printf 'hello\n' >"$v/a dir/one.txt"
	head -c 300000 /dev/urandom >"$v/a dir/sub/rand.bin"
	printf 'x' >"$v/$(printf 'new\nline')"
	printf 'ü' >"$v/ünï cödé ✓.txt"
	: >"$v/emptyfile"
	ln "$v/a dir/one.txt" "$v/hard1"
	ln -s 'a dir/one.txt' "$v/link1"
	chmod 0600 "$v/a dir/one.txt"
	chmod 4755 "$v/a dir/sub/rand.bin"
	touch -d '2002-03-04 05:06:07' "$v/a dir/sub/rand.bin"
	if [ "$(id -u)" = 0 ]; then chown 1234:5678 "$v/a dir/sub/rand.bin" && chown -h 42:43 "$v/link1"; fi
	find "$v" -type d -exec touch -d '2003-04-05 06:07:08' {} +
}

vol_snapshot() {
	(cd "$1" && find . ! -path . \( -type d -printf '%P|d|%m|%U|%G|%Ts\n' \) -o \
		\( -type l -printf '%P|l|%U|%G|%l\n' \) -o \
		\( ! -type d ! -type l -printf '%P|%y|%m|%U|%G|%Ts|%s|%n\n' \) | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

vol_same() {
	vol_snapshot "$1" >"$T_DIR/vol_same.a" && vol_snapshot "$2" >"$T_DIR/vol_same.b" &&
		diff "$T_DIR/vol_same.a" "$T_DIR/vol_same.b"
}

vol_tree_sum() {
	(cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
		if [ -L "$f" ]; then printf 'l %q -> %s\n' "$f" "$(readlink "$f")"
		elif [ -d "$f" ]; then printf 'd %q %s\n' "$f" "$(stat -c %a "$f")"
		else printf 'f %q %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -c1-64)"; fi
	done)
}

vol_kahu() {
	local q=
	if [ $# -gt 2 ]; then q="?namespace=$3"; fi
	CLUSTER_USE=$1 cluster_admin GET "/_admin/dump$q" | "$PYTHON" -c '
import json, sys
for o in json.load(sys.stdin)["items"]:
    if o["kind"] == sys.argv[1] and o["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") == "kahu":
        print(o["metadata"].get("namespace", "") + "/" + o["metadata"]["name"] if len(sys.argv) < 3 else o["metadata"]["name"])' "$2" ${3:+"$3"}
}

vol_field() {
	"$PYTHON" - "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for v in doc.get("volumes", []):
    if v["namespace"] + "/" + v["pvc"] == sys.argv[2]:
        x = v
        for k in sys.argv[3].split("."):
            x = x.get(k, "") if isinstance(x, dict) else ""
        print("true" if x is True else "false" if x is False else x)
        break
else:
    print("(absent)")
PY
}

vol_check() {
	local got; got=$(vol_field "$1" "$2" "$3")
	[ "$got" = "$4" ]; local rc=$?
	[ $rc -eq 0 ] || echo "#   $2 $3: got \"$got\", want \"$4\""
	t_result $rc "... $2: $3 is $4"
}

vol_wait_for() {
	local n=$(($1 * 10)) i; shift
	for i in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

#!/usr/bin/env bash
# The container image (Containerfile) cannot be built on a machine without a container
# engine; what the image would hold is checked here against the binary the tests run:
# every library kahu and its providers load directly comes from a package the runtime
# stage installs (or from libc6, which every Debian image has), the build stage installs
# nothing scripts/install-deps does not, the image runs as a user that is not root, and
# kahu runs with nothing writable but TMPDIR, as under a read-only root filesystem.
. "$(dirname "$0")/lib.sh"

CF=$top_srcdir/Containerfile
t_ok "the Containerfile exists" test -f "$CF"

# The packages of the apt-get install in stage N (1 = build, 2 = runtime).
stage_packages() {
	awk -v want="$1" '
		/^FROM / { stage++ }
		stage == want && /apt-get install/ { on = 1 }
		on {
			line = $0; sub(/#.*/, "", line)
			n = split(line, w, /[ \t\\]+/)
			for (i = 1; i <= n; i++)
				if (w[i] ~ /^[a-z0-9][a-z0-9.+-]+$/ && w[i] != "apt-get" && w[i] != "install" &&
				    w[i] != "rm" && w[i] !~ /^-/ && w[i] != "DEBIAN_FRONTEND") print w[i]
			if (line !~ /\\[ \t]*$/ || line ~ /&&[ \t]*rm/) on = 0
		}' "$CF" | sort -u
}
stage_packages 2 > "$T_DIR/runtime"
stage_packages 1 > "$T_DIR/build"
t_ok "the runtime stage installs packages" test -s "$T_DIR/runtime"
t_ok "the build stage installs packages" test -s "$T_DIR/build"

# Build packages: each one is in scripts/install-deps, which CI installs and tests with.
missing=""
while read -r p; do
	grep -qE "(^|[[:space:]])$p([[:space:]]|$)" "$top_srcdir/scripts/install-deps" || missing="$missing $p"
done < "$T_DIR/build"
echo "$missing" > "$T_OUT"
t_ok "the build stage installs only what scripts/install-deps lists${missing:+ (not:$missing)}" test -z "$missing"

# Runtime libraries: the DT_NEEDED entries of kahu and of the providers the image holds.
if ! command -v dpkg-query >/dev/null || ! command -v readelf >/dev/null; then
	t_skip "the runtime stage installs every library kahu needs" "no dpkg-query or readelf"
else
	objs=("$KAHU")
	for b in fs s3 sftp; do
		f=$(find "$top_builddir/backends/$b" -name "kahu-$b.so" -path '*/.libs/*' 2>/dev/null | head -n1)
		[ -n "$f" ] && objs+=("$f")
	done
	t_ok "kahu and its three providers are built (${#objs[@]} objects)" test "${#objs[@]}" -eq 4
	unowned=""
	for o in "${objs[@]}"; do
		for lib in $(readelf -d "$o" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			path=$(ldd "$o" | awk -v l="$lib" '$1 == l { print $3 }')
			[ -n "$path" ] || { unowned="$unowned $lib(unresolved)"; continue; }
			pkg=$(dpkg-query -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1)
			[ -n "$pkg" ] || pkg=$(dpkg-query -S "$path" 2>/dev/null | head -n1 | cut -d: -f1)
			case "$pkg" in
			libc6) ;;
			"") unowned="$unowned $lib(no package)" ;;
			*) grep -qx "$pkg" "$T_DIR/runtime" || unowned="$unowned $lib($pkg)" ;;
			esac
		done
	done
	echo "$unowned" > "$T_OUT"
	t_ok "the runtime stage installs every library kahu and its providers load${unowned:+ (missing:$unowned)}" \
		test -z "$unowned"
fi
t_grep "the runtime stage has CA certificates for TLS" '^ca-certificates$' "$T_DIR/runtime"
t_grep "the runtime stage has tzdata for plans' time zones" '^tzdata$' "$T_DIR/runtime"

# The user of the last stage is numeric and not root (runAsNonRoot needs a number).
user=$(awk '/^USER /{u=$2} END{print u}' "$CF")
echo "$user" > "$T_OUT"
t_ok "the image runs as a numeric user that is not root ($user)" \
	bash -c '[[ $1 =~ ^[1-9][0-9]*(:[0-9]+)?$ ]]' _ "$user"
t_grep "the entry point is /usr/bin/kahu" '^ENTRYPOINT \["/usr/bin/kahu"\]' "$CF"
t_grep "the build uses warnings as errors, as CI does" 'configure .*--enable-werror' "$CF"

# As in the image: HOME does not exist, the working directory is not writable, only
# TMPDIR is.  kahu answers and writes nothing elsewhere.
ro=$T_DIR/ro
kahu_abs=$(readlink -f "$KAHU")
mkdir -p "$ro" "$T_DIR/tmp"
chmod 0555 "$ro"
t_ok "kahu version runs with HOME=/nonexistent from a read-only directory" \
	bash -c 'cd "$1" && env -i HOME=/nonexistent TMPDIR="$2" PATH=/usr/bin:/bin "$3" version' _ "$ro" "$T_DIR/tmp" "$kahu_abs"
t_ok "kahu --help runs the same way" \
	bash -c 'cd "$1" && env -i HOME=/nonexistent TMPDIR="$2" PATH=/usr/bin:/bin "$3" --help' _ "$ro" "$T_DIR/tmp" "$kahu_abs"
t_ok "... and wrote nothing in the working directory" test -z "$(ls -A "$ro")"

t_done

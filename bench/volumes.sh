#!/usr/bin/env bash
# Volume data benchmark: kahu's file-level backup and restore of a PVC through pods/exec,
# side by side in one run with what a user would otherwise do with the same data:
#
#   (a) kahu full       `kahu backup create --include-namespaces bench --volume-data fs`
#   (b) kahu unchanged  the same with --incremental right after (nothing changed)
#   (c) kahu restore    `kahu restore create --from-backup` of (a) into a fresh test cluster,
#                       its helper pod of the image the hand pipe's pod has (debian:12:
#                       GNU tar), so that both restores write with the same tar
#   (d) hand pipe       `kubectl exec POD -- tar cf - -C /data . | zstd -3 -T1 > FILE`
#                       and back: `zstd -dc FILE | kubectl exec -i POD -- tar xf - -C /data`
#                       (into an empty PVC of a fresh test cluster, as kahu's restore),
#                       with the real kubectl
#
# The two restores run one after the other, each into a test cluster started for it, in
# alternating order (kahu's first in odd runs); no tree of many files is deleted while
# rows run (see to_attic: on ext4 without a journal, files created just after many were
# deleted cost several times the system time).
#   (e) restic, borg    `restic backup DIR` and `borg create --compression zstd,3` of the
#                       PVC's directory on disk (local repositories, no transport; both
#                       encrypt), each also once more with nothing changed
#   (f) ceiling         `tar cf - -C DIR . | zstd -3 -T1 > FILE` of the same directory
#   exec throughput     the test cluster's pods/exec alone: `kubectl exec POD -- cat BIG >
#                       /dev/null` and `kubectl exec -i POD -- sh -c 'cat > /dev/null' < BIG`
#
# The data: bench/mkvoldata.sh, deterministic, 1 GiB by default (text, random bytes,
# zstd-compressed logs, zeros, 20,000 files of 1-16 KiB), written into the PVC's data
# directory of the test cluster (GET /_admin/volume), so every row reads the same bytes.
#
#   bench/volumes.sh                         # 1 GiB, BENCH_REPS (11) runs per row (about 15 min)
#   bench/volumes.sh --size 4G               # 4 GiB (BENCH_REPS=1 is enough there)
#   BENCH_REPS=1 BENCH_RESULTS=/tmp/r.md bench/volumes.sh --size 256M --files 2000  # a quick look
#
# Options: --size SIZE (1G; 4G, 512M, ...), --files N (20000).  Environment: KAHU,
# KUBECTL, RESTIC, BORG, BENCH_REPS (11), BENCH_EXEC_MIB (1024, the exec throughput file),
# BENCH_VOLDATA (a directory mkvoldata.sh made before, copied instead of generating
# again), BENCH_RESULTS, BENCH_KEEP.  Writes the "volumes" section of bench/RESULTS.md
# (at another size than 1G: "volumes-SIZE", e.g. volumes-4G).
#
# Needs, besides what the tests need (scripts/install-deps: python3, zstd, curl,
# kubectl): the packages in bench/deps.txt (GNU time, restic, borgbackup, bc), installed
# here when missing and running as root.  The test cluster runs pods/exec commands in a
# sandbox that needs root (tests/cluster/README.md).  The rows kahu cannot run yet (no
# --volume-data in `kahu backup create --help`) say "kahu: not built yet"; the rows the
# test cluster cannot serve (no PVC data directories, no pods/exec) say so; the others
# run.  No test asserts a time: the targets are printed next to the numbers.
#
# Disk: about (3 + 4 × BENCH_REPS) × SIZE in $TMPDIR (the volume, kahu's backups, and what
# every run restored or stored, kept until the end).

. "$(dirname "$0")/lib.sh"

SIZE=1G
FILES=20000
while [ $# -gt 0 ]; do
	case $1 in
	--size) SIZE=${2:?--size needs a value}; shift 2 ;;
	--size=*) SIZE=${1#--size=}; shift ;;
	--files) FILES=${2:?--files needs a value}; shift 2 ;;
	--files=*) FILES=${1#--files=}; shift ;;
	-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "volumes.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
SECTION=volumes
[ "$SIZE" = 1G ] || SECTION=volumes-$SIZE
[[ $SECTION =~ ^[A-Za-z0-9-]+$ ]] || { echo "volumes.sh: bad --size $SIZE" >&2; exit 2; }

# five runs: the shared machine's load swings from minute to minute (zstd alone took
# from 3.7 to 5.3 s of CPU within an hour), and the targets are judged run by run
BENCH_REPS=${BENCH_REPS:-11}
bench_init "$SECTION"
bench_need bc bc
RESTIC=${RESTIC:-restic}
BORG=${BORG:-borg}
bench_need "$RESTIC" restic
bench_need "$BORG" borgbackup
EXEC_MIB=${BENCH_EXEC_MIB:-1024}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

ROWS=$B_WORK/rows.tsv # id rep wall rss_kib user sys bytes server_cpu check
: >"$ROWS"
declare -A SKIP # row id -> why it did not run

# CPU seconds (user + system, and those of its reaped children: the commands pods/exec
# runs) of a process so far
srv_cpu() { # PID
	local hz
	hz=$(getconf CLK_TCK)
	sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$hz" '{ printf "%.2f\n", ($12 + $13 + $14 + $15) / hz }'
}
# The same in three parts: the server's own user and system seconds, and those of its
# reaped children (the commands; for a tar -x mostly system time: creating files)
srv_cpu_parts() { # PID
	local hz
	hz=$(getconf CLK_TCK)
	sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$hz" '{ printf "%.2f %.2f %.2f\n", $12 / hz, $13 / hz, ($14 + $15) / hz }'
}

# One measured run of a shell command; BYTES is a shell command printing what the row
# stored (or "-"), CHECK one run afterwards, untimed, printing "ok" or what differs.
measure() { # ID REP CLUSTER|- CMD BYTES [CHECK]
	local id=$1 rep=$2 c=$3 cmd=$4 bytes_cmd=$5 check_cmd=${6:-} t pid= c0=0 c1=0 p0= p1= bytes chk=-
	t=$B_WORK/m.$id.$rep
	# what the rows before wrote is on disk first: a row does not pay for the write-back
	# of another's gigabyte (restores write 1 GiB of new files; unsynced, the next row's
	# time and the server's CPU swung between 4 and 14 s)
	sync
	[ "$c" != - ] && pid=$(cat "$B_WORK/$c/pid") && c0=$(srv_cpu "$pid") && p0=$(srv_cpu_parts "$pid")
	bench_log "$id ($rep/$BENCH_REPS)"
	bench_measure "$t" sh -c "$cmd" ||
		{ sed 's/^/  /' "$t.err" | tail -n 20 >&2; bench_die "$id failed (run $rep): $cmd"; }
	[ -n "$pid" ] && c1=$(srv_cpu "$pid") && p1=$(srv_cpu_parts "$pid")
	bytes=$(eval "$bytes_cmd")
	[ -n "$check_cmd" ] && chk=$(eval "$check_cmd")
	local wall rss user sys
	read -r wall rss user sys <"$t"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$rep" "$wall" "$rss" "$user" "$sys" "$bytes" \
		"$(echo "$c1 - $c0" | bc)" "$chk" >>"$ROWS"
	bench_log "  ${wall}s, $((rss / 1024)) MiB, CPU $(echo "$user + $sys" | bc)s, stored $bytes, check $chk"
	if [ -n "$pid" ]; then
		# shellcheck disable=SC2086
		set -- $p0 $p1
		bench_log "  server CPU $(echo "$c1 - $c0" | bc)s: user $(echo "$4 - $1" | bc)s, system $(echo "$5 - $2" | bc)s, its commands $(echo "$6 - $3" | bc)s"
	fi
}

# A digest of a tree: every entry's path, type, mode, owner, size, mtime and, for a
# file, its SHA-256; a symlink's target.  The root's own times are left out (a restore
# into an existing directory need not set them).
tree_digest() { # DIR
	"$PYTHON" - "$1" <<'EOF'
import hashlib, os, stat, sys
root = sys.argv[1]
h = hashlib.sha256()
for dp, dn, fn in os.walk(root):
    dn.sort()
    for name in sorted(dn + fn):
        p = os.path.join(dp, name)
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        h.update(("%s\0%o\0%d:%d\0%d\0%d\0" % (rel, st.st_mode, st.st_uid, st.st_gid,
                                            st.st_size, st.st_mtime)).encode())
        if stat.S_ISREG(st.st_mode):
            with open(p, "rb") as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    h.update(b)
        elif stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(p).encode())
print(h.hexdigest())
EOF
}
same_tree() { # DIR -> "ok" when it holds what the source held
	local d
	d=$(tree_digest "$1")
	if [ "$d" = "$SRC_DIGEST" ]; then echo ok; else echo "differs"; fi
}
dsize() { du -sb "$1" 2>/dev/null | cut -f1; }
commas() { "$PYTHON" -c 'import sys; print(format(int(sys.argv[1]), ","))' "$1"; }

# ------------------------------------------------------------------ the test cluster
KUBECTL_FLAGS=()
kc() { "$KUBECTL" "${KUBECTL_FLAGS[@]}" "$@"; }

# The objects the rows use: the application's namespace with its PVC and pod (what kahu
# backs up), and a namespace with an empty PVC for the hand restore and a scratch PVC
# for the exec throughput rows (outside kahu's scope).
manifests() {
	local ns pvc ns_pvc
	cat <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: bench}
---
apiVersion: v1
kind: Namespace
metadata: {name: bench-hand}
EOF
	for ns_pvc in bench/data bench-hand/target bench-hand/scratch; do
		ns=${ns_pvc%/*} pvc=${ns_pvc#*/}
		cat <<EOF
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $pvc, namespace: $ns}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 64Gi}}
EOF
	done
	cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: bench, labels: {app: bench}}
spec:
  containers:
  - name: app
    image: debian:12
    command: [sleep, infinity]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
---
apiVersion: v1
kind: Pod
metadata: {name: target, namespace: bench-hand}
spec:
  containers:
  - name: target
    image: debian:12
    command: [sleep, infinity]
    volumeMounts: [{name: target, mountPath: /data}, {name: scratch, mountPath: /scratch}]
  volumes:
  - {name: target, persistentVolumeClaim: {claimName: target}}
  - {name: scratch, persistentVolumeClaim: {claimName: scratch}}
EOF
}

# The PVC's data directory on disk: what GET /_admin/volume says, else where the test
# cluster keeps it (STATE/volumes/<pv name>/); empty when the claim is not bound.
volume_dir() { # CLUSTER NS PVC
	local d pv
	d=$(bench_admin "$1" GET "volume?namespace=$2&pvc=$3" 2>/dev/null | "$PYTHON" -c '
import json, sys
t = sys.stdin.read().strip()
try:
    d = json.loads(t)
    print(d.get("path", "") if isinstance(d, dict) else d)
except ValueError:
    print(t)' || true)
	if [ -z "$d" ]; then
		pv=$("$KUBECTL" --kubeconfig "$(bench_kubeconfig "$1")" -n "$2" get pvc "$3" \
			-o 'jsonpath={.spec.volumeName}' 2>/dev/null || true)
		[ -n "$pv" ] && d=$B_WORK/$1/volumes/$pv
	fi
	echo "$d"
}

wait_running() { # NS POD
	local i phase=
	for i in $(seq 1 600); do
		phase=$(kc -n "$1" get pod "$2" -o 'jsonpath={.status.phase}' 2>/dev/null || true)
		[ "$phase" = Running ] && return 0
		sleep 0.2
	done
	return 1
}

bench_log "starting the test cluster"
bench_cluster_start src --no-save
KUBECTL_FLAGS=(--kubeconfig "$(bench_kubeconfig src)")
bench_kubectl_version src
manifests >"$B_WORK/objects.yaml"
kc create --validate=false -f "$B_WORK/objects.yaml" >"$B_WORK/create.out" 2>&1 ||
	bench_log "kubectl create said: $(tr '\n' ' ' <"$B_WORK/create.out")"
CLUSTER_OK=1
CLUSTER_WHY=
VOL=$(volume_dir src bench data)
TARGET=$(volume_dir src bench-hand target)
SCRATCH=$(volume_dir src bench-hand scratch)
if [ -z "$VOL" ] || [ -z "$TARGET" ] || [ -z "$SCRATCH" ]; then
	CLUSTER_OK=0 CLUSTER_WHY="test cluster: no PVC data directories yet"
	VOL=$B_WORK/data
fi
mkdir -p "$VOL"

# ------------------------------------------------------------------ the data
DATA_FROM="bench/mkvoldata.sh --size $SIZE --files $FILES"
if [ -n "${BENCH_VOLDATA:-}" ]; then
	DATA_FROM="a copy of $BENCH_VOLDATA (BENCH_VOLDATA)"
	bench_log "copying $BENCH_VOLDATA into the volume"
	cp -a "$BENCH_VOLDATA/." "$VOL/"
else
	bench_log "generating $SIZE of mixed data ($FILES small files) into the volume"
	"$B_TOP/bench/mkvoldata.sh" --size "$SIZE" --files "$FILES" "$VOL" >"$B_WORK/mkvoldata.out"
fi
DATA_BYTES=$(find "$VOL" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')
DATA_FILES=$(find "$VOL" -type f | wc -l)
SMALL=$(find "$VOL/small" -type f 2>/dev/null | wc -l)
SRC_DIGEST=$(tree_digest "$VOL")
bench_log "the volume: $DATA_BYTES bytes in $DATA_FILES files"

# What the test cluster can do: pods Running, pods/exec, the PVC's directory at /data.
if [ "$CLUSTER_OK" = 1 ]; then
	mkdir -p "$TARGET" "$SCRATCH"
	if ! wait_running bench app || ! wait_running bench-hand target; then
		CLUSTER_OK=0 CLUSTER_WHY="test cluster: pods do not become Running"
	elif ! kc -n bench exec app -- true >"$B_WORK/exec.err" 2>&1; then
		CLUSTER_OK=0 CLUSTER_WHY="test cluster: no pods/exec yet"
		bench_log "kubectl exec: $(tr '\n' ' ' <"$B_WORK/exec.err" | cut -c1-300)"
	elif [ "$(kc -n bench exec app -- stat -c %s /data/db/prealloc.img 2>/dev/null)" != \
		"$(stat -c %s "$VOL/db/prealloc.img")" ]; then
		CLUSTER_OK=0 CLUSTER_WHY="test cluster: the PVC's directory is not the pod's /data"
	fi
fi
[ "$CLUSTER_OK" = 1 ] || bench_log "$CLUSTER_WHY: its rows are left out"

KAHU_OK=0
KAHU_WHY="kahu: not built yet"
# (the help read whole, then searched: `| grep -q` under pipefail fails whenever grep
# exits before kahu has written all of it)
if grep -q -- --volume-data <<<"$("$KAHU" backup create --help 2>/dev/null || true)"; then
	KAHU_OK=1
	if [ "$CLUSTER_OK" = 0 ]; then KAHU_OK=0 KAHU_WHY=$CLUSTER_WHY; fi
fi
[ "$KAHU_OK" = 1 ] || bench_log "$KAHU_WHY: kahu's rows are left out"

# kahu's key, generated once before the runs (a user's first run does this)
if [ "$KAHU_OK" = 1 ]; then
	"$KAHU" --kubeconfig "$(bench_kubeconfig src)" --no-progress -q backup create warm \
		--include-namespaces bench-hand --include-resources configmaps >/dev/null 2>"$B_WORK/warm.err" ||
		{ cat "$B_WORK/warm.err" >&2; bench_die "kahu's warm-up backup failed"; }
fi
kahu_backup_dir() { # NAME -> the directory of the backup in the repository
	find "$XDG_DATA_HOME/kahu" -type d -path "*/backups/$1" -print -quit
}

OUTF=$B_WORK/out
mkdir -p "$OUTF"
export RESTIC_PASSWORD=bench-volumes BORG_PASSPHRASE=bench-volumes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
if [ "$CLUSTER_OK" = 1 ]; then
	head -c "$((EXEC_MIB * 1048576))" /dev/urandom >"$SCRATCH/big"
fi
KC="$KUBECTL --kubeconfig $(bench_kubeconfig src)"

# A tree of many files is never deleted while rows run: it is moved into the attic (under
# the work directory, removed at the end).  On a file system without a journal (this
# machine's ext4), inodes freed within the last minute (six, while their inode table
# block is not yet written back) are skipped by every file creation in their block group:
# a `tar -x` of the volume's 20,000 files just after 20,000 others were deleted spends
# 10-15 s of system time in that search (ext4's recently_deleted) instead of 1-2 s.  The
# restore rows are the ones that create files, so what was deleted before them decided
# their time, not the restore.
ATTIC=$B_WORK/attic
mkdir -p "$ATTIC"
to_attic() { # PATH... -> moved out of the way, kept until the end
	local p
	for p in "$@"; do
		[ -e "$p" ] || continue
		mv "$p" "$(mktemp -d "$ATTIC/x.XXXXXX")/"
	done
}

# The two restores, each into a test cluster started for it (the same state for both: a
# new server, an empty PVC directory, no exec yet), in alternating order from run to run.
# kahu creates the namespace, the PVC and its helper pod itself; for the hand pipe they
# are created, and its pod is Running, before the measurement starts.
restore_kahu() { # REP
	local rep=$1 c=rk$1
	bench_cluster_start "$c" --no-save
	measure kahu_restore "$rep" "$c" \
		"'$KAHU' --kubeconfig '$(bench_kubeconfig "$c")' --no-progress -q restore create --from-backup full-$rep --helper-image debian:12" \
		"echo -" "same_tree \"\$(volume_dir $c bench data)\""
	bench_log "  exec streams in that cluster: $(bench_stat "$c" exec_sessions)"
	bench_cluster_stop "$c"
	to_attic "$B_WORK/$c"
}
restore_hand() { # REP
	local rep=$1 c=rh$1 kcc dir
	bench_cluster_start "$c" --no-save
	kcc="$KUBECTL --kubeconfig $(bench_kubeconfig "$c")"
	manifests | $kcc create --validate=false -f - >"$B_WORK/create.$c.out" 2>&1 ||
		bench_log "kubectl create said: $(tr '\n' ' ' <"$B_WORK/create.$c.out")"
	dir=$(volume_dir "$c" bench-hand target)
	KUBECTL_FLAGS=(--kubeconfig "$(bench_kubeconfig "$c")")
	wait_running bench-hand target || bench_die "the hand restore's pod in $c is not Running"
	KUBECTL_FLAGS=(--kubeconfig "$(bench_kubeconfig src)")
	measure hand_restore "$rep" "$c" \
		"zstd -dc '$OUTF/hand.tar.zst' | $kcc -n bench-hand exec -i target -- tar xf - -C /data" \
		"echo -" "same_tree '$dir'"
	bench_log "  exec streams in that cluster: $(bench_stat "$c" exec_sessions)"
	bench_cluster_stop "$c"
	to_attic "$B_WORK/$c"
}

# (f) the ceiling; zstd's own CPU too (GNU time around it alone), what kahu's CPU is
# held against
row_ceiling() { # REP
	local rep=$1
	measure tar_zstd "$rep" - \
		"tar cf - -C '$VOL' . | /usr/bin/time -f '%U %S' -o '$B_WORK/zstd-cpu.$rep' zstd -3 -T1 -q > '$OUTF/ceiling.tar.zst'" \
		"dsize '$OUTF/ceiling.tar.zst'"
	tail -n 1 "$B_WORK/zstd-cpu.$rep" | awk -v rep="$rep" '{ printf "%s\t%.2f\n", rep, $1 + $2 }' >>"$B_WORK/zstd-cpu"
	rm -f "$OUTF/ceiling.tar.zst"
}
# (d) the hand pipe's backup; its restore below
row_hand() { # REP
	[ "$CLUSTER_OK" = 1 ] || return 0
	measure hand_backup "$1" src \
		"$KC -n bench exec app -- tar cf - -C /data . | /usr/bin/time -f '%U %S' -o '$B_WORK/hzstd-cpu.$1' zstd -3 -T1 -q > '$OUTF/hand.tar.zst'" \
		"dsize '$OUTF/hand.tar.zst'"
	tail -n 1 "$B_WORK/hzstd-cpu.$1" | awk -v rep="$1" '{ printf "%s\t%.2f\n", rep, $1 + $2 }' >>"$B_WORK/hzstd-cpu"
}
# (a), (b): kahu's backups
row_kahu() { # REP
	local rep=$1 K
	[ "$KAHU_OK" = 1 ] || return 0
	K="'$KAHU' --kubeconfig '$(bench_kubeconfig src)' --no-progress -q"
	measure kahu_full "$rep" src "$K backup create full-$rep --include-namespaces bench --volume-data fs" \
		"dsize \"\$(kahu_backup_dir full-$rep)\""
	measure kahu_inc "$rep" src \
		"$K backup create inc-$rep --include-namespaces bench --volume-data fs --incremental --parent full-$rep" \
		"dsize \"\$(kahu_backup_dir inc-$rep)\""
}

for rep in $(seq 1 "$BENCH_REPS"); do
	if [ "$CLUSTER_OK" = 1 ]; then
		measure exec_nop "$rep" src "$KC -n bench-hand exec target -- true" "echo -"
		measure exec_out "$rep" src "$KC -n bench-hand exec target -- cat /scratch/big > /dev/null" "echo -"
		measure exec_in "$rep" src "$KC -n bench-hand exec -i target -- sh -c 'cat > /dev/null' < '$SCRATCH/big'" "echo -"
	fi
	# The three backups one after the other, in an order that turns from run to run, so
	# that each target's pair (kahu and the hand pipe, kahu and zstd) is measured under
	# the same load of the shared machine, next to each other, and neither always first.
	case $((rep % 3)) in
	1) order="ceiling hand kahu" ;;
	2) order="kahu ceiling hand" ;;
	0) order="hand kahu ceiling" ;;
	esac
	# Whichever row came first after the exec rows and the previous run's restic and borg
	# took 1-1.5 s longer, the ceiling too (2026-12-04 17:00, 11 runs: the ceiling 4.0-5.6 s
	# second or third, 4.7-7.3 s first; kahu and the hand pipe alike): an unmeasured pass of
	# the ceiling's command takes that, so that no target is decided by which row was first.
	sync
	tar cf - -C "$VOL" . | zstd -3 -T1 -q >/dev/null
	for which in $order; do "row_$which" "$rep"; done
	# (c) and (d): the restores, kahu's first in odd runs, the hand pipe's first in even ones
	order="kahu hand"
	[ $((rep % 2)) = 0 ] && order="hand kahu"
	for which in $order; do
		if [ "$which" = kahu ] && [ "$KAHU_OK" = 1 ]; then restore_kahu "$rep"; fi
		if [ "$which" = hand ] && [ "$CLUSTER_OK" = 1 ]; then restore_hand "$rep"; fi
	done
	rm -f "$OUTF/hand.tar.zst"
	[ "$KAHU_OK" = 1 ] && { "$KAHU" -q backup delete "full-$rep" --cascade --yes >/dev/null 2>&1 || true; }
	# (e) restic and borg, each a new repository, then the same again with nothing changed
	to_attic "$OUTF/restic" "$OUTF/borg"
	rm -rf "$HOME/.cache/restic" "$HOME/.cache/borg" "$HOME/.config/borg/security"
	"$RESTIC" -q -r "$OUTF/restic" init >/dev/null
	measure restic_full "$rep" - "'$RESTIC' -q -r '$OUTF/restic' backup '$VOL'" "dsize '$OUTF/restic'"
	before=$(dsize "$OUTF/restic")
	measure restic_inc "$rep" - "'$RESTIC' -q -r '$OUTF/restic' backup '$VOL'" "echo \$((\$(dsize '$OUTF/restic') - $before))"
	"$BORG" init -e repokey-blake2 "$OUTF/borg" >/dev/null 2>&1
	measure borg_full "$rep" - "'$BORG' create --compression zstd,3 '$OUTF/borg::full' '$VOL'" "dsize '$OUTF/borg'"
	before=$(dsize "$OUTF/borg")
	measure borg_inc "$rep" - "'$BORG' create --compression zstd,3 '$OUTF/borg::inc' '$VOL'" "echo \$((\$(dsize '$OUTF/borg') - $before))"
	to_attic "$OUTF/restic" "$OUTF/borg"
done

# ------------------------------------------------------------------ the section
RESTIC_V=$("$RESTIC" version 2>/dev/null | head -n 1)
BORG_V=$("$BORG" --version 2>/dev/null | head -n 1)
ZSTD_V="zstd $(zstd --version 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -n 1)"
TAR_V=$(tar --version 2>/dev/null | head -n 1)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
body=$B_WORK/section.md
{
	if [ "$SECTION" = volumes ]; then
		echo "## Volume data (bench/volumes.sh)"
	else
		echo "## Volume data, $SIZE (bench/volumes.sh --size $SIZE)"
	fi
	echo
	bench_machine
	echo "- restic: $RESTIC_V; borg: $BORG_V; $ZSTD_V; $TAR_V"
	echo "- Load average: $LOAD_START at start, $LOAD_END at end (a shared machine: compare rows of one run only)"
	echo "- Data: $DATA_FROM: $(commas "$DATA_BYTES") bytes in $(commas "$DATA_FILES") files (text and logs, random bytes, zstd-compressed logs, zeros, $SMALL files of 1-16 KiB), in the page cache; $BENCH_REPS run(s) of each row, interleaved; the median is shown, with the range in parentheses. In each run the three backups (kahu's, the hand pipe's, the ceiling) run one after the other, after an unmeasured pass of the ceiling's command, in an order that turns from run to run, and the two restores likewise."
	echo "- Targets: each is judged by the median of its ratio run by run (kahu's row over the reference row of the same run, measured next to it under the same load of the shared machine), shown with the range of those ratios; the ratio of the two rows' medians follows."
	echo "- Restores: (c) and (d) each into a test cluster started for it (an empty PVC directory, a new server), kahu's first in odd runs, the hand pipe's first in even ones; no tree of many files is deleted during the runs (on ext4 without a journal, creating files just after many were deleted costs several times the system time)."
	echo "- CPU: user + system of the measured command and its children (/usr/bin/time), per GiB of the volume; it does not include what the test server and the commands it runs for pods/exec use, which is the *server CPU* column (the server process and its reaped children). Peak RSS: the largest process of the row (for a pipe, its largest member)."
	echo "- Stored: what the row wrote (the archive, the repository, kahu's backup directory); for the unchanged runs, what the repository grew by."
	echo "- restic: default settings (repository format 2, compression auto), encrypts; borg: \`init -e repokey-blake2\`, \`create --compression zstd,3\`; both from a new repository, their caches in the run's HOME. Both read the PVC's directory on disk, not through the cluster. restic uses both cores."
	echo
} >"$body"
"$PYTHON" - "$ROWS" "$DATA_BYTES" "$EXEC_MIB" "$KAHU_OK" "$KAHU_WHY" "$CLUSTER_OK" "$CLUSTER_WHY" \
	"$B_WORK/zstd-cpu" "$B_WORK/hzstd-cpu" >>"$body" <<'EOF'
import collections, statistics, sys
def by_rep(path):
    try:
        return {r: float(v) for r, v in (line.split() for line in open(path))}
    except FileNotFoundError:
        return {}
zstd_by_rep = by_rep(sys.argv[8])     # zstd in the ceiling row
hzstd_by_rep = by_rep(sys.argv[9])    # zstd in the hand pipe's backup
zstd_cpu = statistics.median(zstd_by_rep.values())

rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    rid, rep, wall, rss, user, sys_, nbytes, scpu, chk = line.rstrip("\n").split("\t")
    rows[rid].append(dict(rep=rep, wall=float(wall), rss=int(rss) / 1024.0, cpu=float(user) + float(sys_),
                          bytes=None if nbytes in ("-", "") else int(nbytes), scpu=float(scpu), chk=chk))
data = int(sys.argv[2])
gib = data / float(1 << 30)
exec_bytes = int(sys.argv[3]) << 20
kahu_ok, kahu_why = sys.argv[4] == "1", sys.argv[5]
cluster_ok, cluster_why = sys.argv[6] == "1", sys.argv[7]

def med(rid, k):
    return statistics.median(r[k] for r in rows[rid])

def cell(rid, k, fmt):
    vs = [r[k] for r in rows[rid]]
    m = statistics.median(vs)
    if len(vs) > 1 and min(vs) != max(vs):
        return (fmt + " (" + fmt + "–" + fmt + ")") % (m, min(vs), max(vs))
    return fmt % m

def mib(b):
    if b < 1048576:
        return "%.1f KiB" % (b / 1024.0)
    return "%.1f MiB" % (b / 1048576.0)

ROWS = [
    ("kahu_full", "(a) **kahu backup create --volume-data fs**, full", "kahu"),
    ("kahu_inc", "(b) **kahu**, unchanged incremental", "kahu"),
    ("kahu_restore", "(c) **kahu restore create** into a fresh cluster", "kahu"),
    ("hand_backup", "(d) `kubectl exec POD -- tar cf - -C /data . \\| zstd -3 -T1 > FILE`", "cluster"),
    ("hand_restore", "(d) `zstd -dc FILE \\| kubectl exec -i POD -- tar xf - -C /data` into a fresh cluster", "cluster"),
    ("restic_full", "(e) `restic backup DIR`, new repository", ""),
    ("restic_inc", "(e) `restic backup DIR`, unchanged", ""),
    ("borg_full", "(e) `borg create --compression zstd,3`, new repository", ""),
    ("borg_inc", "(e) `borg create`, unchanged", ""),
    ("tar_zstd", "(f) `tar cf - -C DIR . \\| zstd -3 -T1 > FILE` (ceiling)", ""),
]
print("| row | wall s | MiB/s | CPU s | CPU s per GiB | peak RSS MiB | server CPU s | stored | check |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for rid, label, needs in ROWS:
    if rid not in rows:
        why = kahu_why if needs == "kahu" else cluster_why
        print("| %s | %s | | | | | | | |" % (label, why or "did not run"))
        continue
    w = med(rid, "wall")
    b = [r["bytes"] for r in rows[rid] if r["bytes"] is not None]
    stored = ("%s (%s, %.1f%%)" % (format(int(statistics.median(b)), ","), mib(statistics.median(b)),
                                   100.0 * statistics.median(b) / data)) if b else "-"
    chks = sorted({r["chk"] for r in rows[rid]})
    print("| %s | %s | %.0f | %s | %.2f | %s | %s | %s | %s |" % (
        label, cell(rid, "wall", "%.2f"), data / 1048576.0 / w, cell(rid, "cpu", "%.2f"),
        med(rid, "cpu") / gib, "%.1f" % max(r["rss"] for r in rows[rid]),
        cell(rid, "scpu", "%.2f") if needs else "-",
        stored, ", ".join(chks) if chks != ["-"] else ""))
print()
print("zstd alone in the ceiling row: %.2f s of CPU, %.2f s per GiB of the volume (median)." % (zstd_cpu, zstd_cpu / gib))
if hzstd_by_rep:
    h = statistics.median(hzstd_by_rep.values())
    print("zstd alone in the hand pipe's backup (d), where it compresses what the test cluster streams, as kahu does: %.2f s of CPU, %.2f s per GiB (median)." % (h, h / gib))
print()
print("### The test cluster's exec throughput (%d MiB of random bytes)" % (exec_bytes >> 20))
print()
def exec_rate(rid):
    """MB/s over the wall time, and over the wall time less that of `exec POD -- true`
    (kubectl's start, the upgrade, the sandbox: paid once per command)."""
    w, nop = med(rid, "wall"), med("exec_nop", "wall")
    return exec_bytes / 1e6 / w, exec_bytes / 1e6 / max(w - nop, 0.01)
if "exec_out" in rows:
    print("| row | wall s | MB/s | MB/s less the fixed cost | CPU s (kubectl) | peak RSS MiB | server CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rid = "exec_nop"
    print("| `kubectl exec POD -- true` (the fixed cost) | %s | | | %s | %.1f | %s |" % (
        cell(rid, "wall", "%.2f"), cell(rid, "cpu", "%.2f"), max(r["rss"] for r in rows[rid]), cell(rid, "scpu", "%.2f")))
    for rid, label in (("exec_out", "`kubectl exec POD -- cat BIG > /dev/null`"),
                       ("exec_in", "`kubectl exec -i POD -- sh -c 'cat > /dev/null' < BIG`")):
        print("| %s | %s | %.0f | %.0f | %s | %.1f | %s |" % (
            (label, cell(rid, "wall", "%.2f")) + exec_rate(rid) + (cell(rid, "cpu", "%.2f"),
            max(r["rss"] for r in rows[rid]), cell(rid, "scpu", "%.2f"))))
else:
    print(cluster_why + ".")
print()

print("### Targets (issue 12)")
print()
print("| target | measured | result |")
print("|---|---|---|")
def paired(a, ka, b, kb, pct=False):
    """The ratio a/b of each run (the two rows of one run are measured next to each
    other, under the same load of the shared machine; b: a row, or values by run): the
    median of those ratios, and it with their range as text."""
    bv = {r["rep"]: r[kb] for r in rows[b]} if isinstance(b, str) else b
    rs = [r[ka] / bv[r["rep"]] for r in rows[a] if r["rep"] in bv and bv[r["rep"]] > 0]
    m = statistics.median(rs)
    f = (lambda x: "%.1f%%" % (100 * x)) if pct else (lambda x: "%.2f×" % x)
    rng = " (%s–%s)" % (f(min(rs)), f(max(rs))) if len(rs) > 1 else ""
    return m, f(m) + rng
def verdict(ok):
    return "PASS" if ok else "MISS"
def line(target, have, measured, ok, why):
    if have:
        print("| %s | %s | %s |" % (target, measured, verdict(ok)))
    else:
        print("| %s | %s | not measured |" % (target, why))
have_k = "kahu_full" in rows
have_h = "hand_backup" in rows
if have_k and have_h:
    k, h = med("kahu_full", "wall"), med("hand_backup", "wall")
    r, rtext = paired("kahu_full", "wall", "hand_backup", "wall")
    line("kahu full ≤ 1.0 × the hand pipe's wall time", True,
         "%s; medians %.2f s / %.2f s = %.2f×" % (rtext, k, h, k / h), r <= 1.0, "")
else:
    line("kahu full ≤ 1.0 × the hand pipe's wall time", False, "", False, kahu_why if not have_k else cluster_why)
if have_k:
    k, z = med("kahu_full", "cpu") / gib, zstd_cpu / gib
    r, rtext = paired("kahu_full", "cpu", zstd_by_rep, None)
    line("kahu's CPU per GiB ≤ 1.3 × `zstd -3 -T1`'s (zstd alone in the ceiling row)", True,
         "%s; medians %.2f s / %.2f s = %.2f×" % (rtext, k, z, k / z), r <= 1.3, "")
    if hzstd_by_rep:
        # like for like: zstd -3 compressing the same stream as it arrives from the test
        # cluster, the other core busy with the transfer as it is in kahu's run
        r2, rtext2 = paired("kahu_full", "cpu", hzstd_by_rep, None)
        line("kahu's CPU per GiB ≤ 1.3 × `zstd -3 -T1`'s compressing the same stream as it "
             "arrives (zstd in the hand pipe's backup (d))", True, rtext2, r2 <= 1.3, "")
    f, i = med("kahu_full", "wall"), med("kahu_inc", "wall")
    r, rtext = paired("kahu_inc", "wall", "kahu_full", "wall", pct=True)
    line("unchanged incremental ≤ 5% of the full's time", True,
         "%s; medians %.2f s / %.2f s" % (rtext, i, f), r <= 0.05, "")
    fb, ib = med("kahu_full", "bytes"), med("kahu_inc", "bytes")
    line("unchanged incremental ≤ 1% of the full's size", True, "%s / %s = %.2f%%" % (mib(ib), mib(fb), 100.0 * ib / fb),
         ib <= 0.01 * fb, "")
else:
    for t in ("kahu's CPU per GiB ≤ 1.3 × `zstd -3`'s", "unchanged incremental ≤ 5% of the full's time",
              "unchanged incremental ≤ 1% of the full's size"):
        line(t, False, "", False, kahu_why)
if "kahu_restore" in rows and "hand_restore" in rows:
    k, h = med("kahu_restore", "wall"), med("hand_restore", "wall")
    r, rtext = paired("kahu_restore", "wall", "hand_restore", "wall")
    line("restore ≤ 1.0 × the hand restore pipe's wall time", True,
         "%s; medians %.2f s / %.2f s = %.2f×" % (rtext, k, h, k / h), r <= 1.0, "")
else:
    line("restore ≤ 1.0 × the hand restore pipe's wall time", False, "", False, kahu_why)
if have_k:
    rss = max(r["rss"] for rid in ("kahu_full", "kahu_inc", "kahu_restore") for r in rows.get(rid, []))
    line("kahu's peak RSS ≤ 64 MiB at %.2f GiB (the largest of (a), (b), (c))" % gib, True, "%.1f MiB" % rss, rss <= 64, "")
else:
    line("kahu's peak RSS ≤ 64 MiB at %.2f GiB" % gib, False, "", False, kahu_why)
if "exec_out" in rows:
    o = exec_rate("exec_out")[0]
    i = exec_rate("exec_in")[0]
    line("the test cluster's exec ≥ 300 MB/s, both ways (over the whole command)", True,
         "stdout %.0f MB/s, stdin %.0f MB/s" % (o, i), min(o, i) >= 300, "")
else:
    line("the test cluster's exec ≥ 300 MB/s, both ways", False, "", False, cluster_why)
bad = [rid for rid in rows for r in rows[rid] if r["chk"] not in ("-", "ok")]
print()
if bad:
    print("**A restored tree differs from the volume**: %s." % ", ".join(sorted(set(bad))))
elif any(r["chk"] == "ok" for rid in rows for r in rows[rid]):
    print("Every restore was checked against the volume afterwards (path, type, mode, owner, size, mtime and SHA-256 of every entry): the same.")
EOF
bench_results_write "$body"

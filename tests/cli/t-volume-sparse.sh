#!/usr/bin/env bash
# A sparse 3 GiB file holding 6 MiB of data, through the test cluster: the backup
# stores it small, restore into a fresh namespace gives it back byte for byte (its holes
# as zeros), and kahu's peak memory stays flat (max RSS under 64 MiB both ways).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"

cat >"$T_DIR/seed.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: sp}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: big, namespace: sp}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 8Gi}}
EOF
vol_setup
vol_cluster main "$T_DIR/seed.yaml"
TIME=/usr/bin/time
if ! [ -x "$TIME" ]; then t_skip "sparse volume round trip" "no /usr/bin/time"; t_done; exit 0; fi

V=$(vol_dir main sp big)
[ -d "$V" ]
t_result $? "the claim has a data directory"
truncate -s 3G "$V/sparse.img"
for off in 0 1024 2047 3070; do # MiB offsets: 2 MiB at the start, 1 GiB, 2 GiB and the end
	head -c 1572864 /dev/urandom | dd of="$V/sparse.img" bs=1M seek="$off" conv=notrunc status=none
done
printf 'small\n' >"$V/small.txt"
[ "$(stat -c %s "$V/sparse.img")" = 3221225472 ] && [ "$(du -k "$V/sparse.img" | cut -f1)" -lt 65536 ]
t_result $? "a 3 GiB sparse file with 6 MiB of data"
want=$(sha256sum <"$V/sparse.img" | cut -c1-64)
touch -d '2004-05-06 07:08:09' "$V/sparse.img" "$V/small.txt"

rss() { # the max RSS (KiB) $TIME wrote into FILE
	sed -n 's/^maxrss=\([0-9]*\)$/\1/p' "$1" | tail -1
}
t_ok "backup create (helper pod)" "$TIME" -f 'maxrss=%M' -o "$T_DIR/b1.time" \
	"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" backup create b1 --include-namespaces sp --volume-data fs -o json
cp "$T_OUT" "$T_DIR/b1.json"
vol_check "$T_DIR/b1.json" sp/big status Completed
r=$(rss "$T_DIR/b1.time")
[ -n "$r" ] && [ "$r" -lt 65536 ]
t_result $? "... kahu's max RSS stays under 64 MiB (${r:-?} KiB)"
[ "$(vol_field "$T_DIR/b1.json" sp/big bytesRead)" -ge 3221225472 ]
t_result $? "... it read the whole file ($(vol_field "$T_DIR/b1.json" sp/big bytesRead) bytes)"
stored=$(find "$LOC/backups/b1/volumes" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
[ "$stored" -gt 6291456 ] && [ "$stored" -lt 16777216 ]
t_result $? "... and stored it small ($stored bytes on the location, under 16 MiB)"

t_ok "restore into a fresh namespace" "$TIME" -f 'maxrss=%M' -o "$T_DIR/r1.time" \
	"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create r1 --from-backup b1 --namespace-mappings sp:sp2
r=$(rss "$T_DIR/r1.time")
[ -n "$r" ] && [ "$r" -lt 65536 ]
t_result $? "... kahu's max RSS stays under 64 MiB (${r:-?} KiB)"
N=$(vol_dir main sp2 big)
[ -n "$N" ] && [ "$N" != "$V" ] && [ "$(stat -c %s "$N/sparse.img")" = 3221225472 ] &&
	[ "$(sha256sum <"$N/sparse.img" | cut -c1-64)" = "$want" ]
t_result $? "... the file is back byte for byte (size and sha256)"
[ "$(stat -c %Y "$N/sparse.img")" = "$(stat -c %Y "$V/sparse.img")" ] && cmp -s "$V/small.txt" "$N/small.txt"
t_result $? "... with its mtime, and the small file too"
rm -f "$N/sparse.img"

t_done

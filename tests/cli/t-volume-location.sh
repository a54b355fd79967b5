#!/usr/bin/env bash
# backup create --volume-location: the volume data on another location than the
# metadata.  Two fs locations (and an S3 bucket, s3rver behind the verifying proxy,
# when installed): the objects on each, the manifest's record and the marker; restore
# into another cluster and in place, download --extract, verify and describe follow it;
# an incremental backup's volume data goes where its parent's is; names taken on the
# volume location; what a killed run left there; delete and prune remove both parts;
# a volume location missing, unreachable or holding another backup's data: precise
# errors and exit statuses, and the metadata kept.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"
. "$top_srcdir/tests/s3/s3.sh"

cat >"$T_DIR/app.yaml" <<'EOF2'
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: app, labels: {app: web}}
spec:
  containers:
  - {name: web, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /data}]}
  volumes:
  - {name: d, persistentVolumeClaim: {claimName: data}}
EOF2
cluster_start src --seed "$T_DIR/app.yaml" || { t_result 1 "test cluster src starts"; t_done; exit 1; }
cluster_start dst || { t_result 1 "test cluster dst starts"; t_done; exit 1; }
SRC=$CLUSTER_KUBECONFIG_SRC DST=$CLUSTER_KUBECONFIG_DST
ks() { "$KAHU" --kubeconfig "$SRC" "$@"; }
kd() { "$KAHU" --kubeconfig "$DST" "$@"; }
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
META=$T_DIR/meta VOLS=$T_DIR/vols
CFG=$XDG_CONFIG_HOME/kahu/config.json
mkdir -p "$XDG_CONFIG_HOME/kahu"
config() { # [extra location JSON]
	cat >"$CFG" <<EOF2
{"version": 1, "defaultLocation": "meta",
 "locations": {"meta": {"provider": "fs", "config": {"path": "$META"}},
               "vols": {"provider": "fs", "config": {"path": "$VOLS"}}${1:-}}}
EOF2
	chmod 600 "$CFG"
}
config

voldir() { # NAME NS PVC -> the claim's data directory in instance NAME
	CLUSTER_USE=$1 cluster_admin GET "volume?namespace=$2&pvc=$3" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])'
}
api() { CLUSTER_USE=$1 cluster_admin "${@:2}" >/dev/null 2>&1; }
snapshot() {
	(cd "$1" && find . ! -path . \( -type d -printf '%P|d|%m|%U|%G|%Ts\n' \) -o \
		\( -type l -printf '%P|l|%U|%G|%l\n' \) -o \
		\( ! -type d ! -type l -printf '%P|%y|%m|%U|%G|%Ts|%s|%n\n' \) | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
same() { snapshot "$1" >"$T_DIR/a.snap"; snapshot "$2" >"$T_DIR/b.snap"; diff "$T_DIR/a.snap" "$T_DIR/b.snap"; }
gone() { # DIR...: no object left under them (fs leaves empty directories)
	! find "$@" -type f 2>/dev/null | grep -q .
}
objects() { # DIR BACKUP -> its objects, relative, sorted
	(cd "$1/backups/$2" 2>/dev/null && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
}

V=$(voldir src app data)
[ -n "$V" ] && [ -d "$V" ]; t_result $? "the source claim has a data directory"
mkdir -p "$V/a dir/sub" "$V/empty"
printf 'hello\n' >"$V/a dir/one.txt"
head -c 300000 /dev/urandom >"$V/a dir/sub/rand.bin"
printf 'ü' >"$V/ünï cödé ✓.txt"
ln "$V/a dir/one.txt" "$V/hard1"
ln -s 'a dir/one.txt' "$V/link1"
chmod 0600 "$V/a dir/one.txt"
touch -d '2002-03-04 05:06:07' "$V/a dir/sub/rand.bin"
find "$V" -type d -exec touch -d '2003-04-05 06:07:08' {} +
cp -a "$V" "$T_DIR/orig"
sleep 1 # the listing's second is past: no entry is "racy"

# ---- usage ----
t_exit 64 "--volume-location without volume data is a usage error (64)" \
	ks backup create b0 --include-namespaces app --volume-data none --volume-location vols
t_grep "  saying why" 'carries no volume data' "$T_ERR"
t_exit 64 "--volume-location with a bad name (64)" \
	ks backup create b0 --include-namespaces app --volume-data fs --volume-location 'a/b'
t_exit 66 "--volume-location naming no configured location (66)" \
	ks backup create b0 --include-namespaces app --volume-data fs --volume-location nosuch
t_grep "  naming it and the configured ones" 'on location nosuch.*no location named nosuch' "$T_ERR"
t_ok "  and nothing was written" sh -c "! test -e '$META/backups/b0' && ! test -e '$VOLS/backups/b0'"

# ---- a full backup, its volume data on vols ----
t_ok "backup b1 --volume-data fs --volume-location vols" \
	ks backup create b1 --include-namespaces app --volume-data fs --volume-location vols
t_grep "  says where the volume data went" '^  Volume data on location vols\.$' "$T_OUT"
objects "$META" b1 >"$T_DIR/meta.b1"
objects "$VOLS" b1 >"$T_DIR/vols.b1"
t_grep "the metadata location holds the manifest, the metadata and the catalog" '^volumes.jsonl.zst.kenc$' "$T_DIR/meta.b1"
t_nogrep "  but no volume object" '^volumes/' "$T_DIR/meta.b1"
t_grep "the volume location holds the index" '^volumes/[0-9a-f]{32}/index.jsonl.zst.kenc$' "$T_DIR/vols.b1"
t_grep "  and the data" '^volumes/[0-9a-f]{32}/data-000001.tar.zst.kenc$' "$T_DIR/vols.b1"
t_grep "  beside its marker" '^volume-data.json$' "$T_DIR/vols.b1"
t_nogrep "  and nothing of the metadata" 'backup.json|metadata' "$T_DIR/vols.b1"
t_py "the manifest records the volume location (name, provider, token)" '
v = d["volume_location"]
assert v["name"] == "vols" and v["provider"] == "fs" and len(v["token"]) == 32, v
' "$META/backups/b1/backup.json"
python3 - "$META/backups/b1/backup.json" "$VOLS/backups/b1/volume-data.json" >"$T_OUT" 2>"$T_ERR" <<'EOF2'
import json, sys
m = json.load(open(sys.argv[1])); k = json.load(open(sys.argv[2]))
assert k["kind"] == "KahuVolumeData" and k["backup"] == "b1" and k["location"] == "meta", k
assert k["token"] == m["volume_location"]["token"]
EOF2
t_result $? "  the marker names the backup, the metadata location and the manifest's token"
t_ok "backup list on vols lists no backup" "$KAHU" backup list --location vols -o json
t_nogrep "  (not b1)" '"b1"' "$T_OUT"
t_exit 73 "backup create b1 on vols: the name is taken there (73)" \
	ks backup create b1 --location vols --include-namespaces app
t_grep "  saying by what" 'volume data of a backup of another location' "$T_ERR"
t_ok "describe b1" "$KAHU" backup describe b1
t_grep "  shows the volume location" '^Volume data: +on location vols \(provider fs\)' "$T_OUT"
t_grep "  and the volume" 'app/data' "$T_OUT"
t_ok "describe b1 -o json" "$KAHU" backup describe b1 -o json
t_py "  has volumeLocation" 'assert d["volumeLocation"] == {"name": "vols", "provider": "fs"}, d.get("volumeLocation")' "$T_OUT"
t_ok "verify b1 reads the volume objects on vols" "$KAHU" backup verify b1
t_grep "  and says so" 'volume data of backup b1 on location vols matches its manifest' "$T_OUT"
t_ok "download --volume app/data --extract" "$KAHU" backup download b1 --volume app/data --extract "$T_DIR/x1"
t_ok "  byte-exact" same "$T_DIR/orig" "$T_DIR/x1"
t_ok "restore r1 into the second cluster" kd restore create r1 --from-backup b1
D=$(voldir dst app data)
t_ok "  every file equals the backup's" same "$T_DIR/orig" "$D"

# ---- an incremental backup follows its parent ----
printf 'added' >"$V/a dir/added.txt"
rm "$V/ünï cödé ✓.txt"
touch -d '2003-04-05 06:07:08' "$V/a dir" "$V"
sleep 1
t_exit 64 "an incremental backup's volume data on another location than its parent's (64)" \
	ks backup create b2 --incremental --include-namespaces app --volume-data fs --volume-location meta
t_grep "  saying where the chain's is" 'parent of this incremental backup, keeps its volume data on location vols' "$T_ERR"
t_ok "incremental b2 without --volume-location" ks backup create b2 --incremental --include-namespaces app --volume-data fs
t_grep "  goes where its parent's is" 'volume data goes to location vols, where backup b1 keeps its own' "$T_ERR"
t_ok "  its objects are on vols" test -s "$VOLS/backups/b2/volume-data.json"
t_ok "  only what changed was stored" test "$(stat -c %s "$VOLS"/backups/b2/volumes/*/data-000001.tar.zst.kenc)" -lt 10000
t_ok "b2 extracts to the new state" "$KAHU" backup download b2 --volume app/data --extract "$T_DIR/x2"
t_ok "  byte-exact" same "$V" "$T_DIR/x2"

# ---- in place ----
printf 'changed' >"$V/a dir/one.txt"
rm "$V/a dir/added.txt" # (an extra file at the root: its directory's times are not kept)
printf 'extra' >"$V/extra.txt"
t_ok "the pod that mounts the claim stops" api src DELETE /api/v1/namespaces/app/pods/web-0
t_ok "restore --volumes-only --delete-extra-files in place" \
	ks restore create r2 --from-backup b1 --volumes-only --include-namespaces app --delete-extra-files
t_ok "  the volume equals the backup" same "$T_DIR/orig" "$V"

# ---- names taken, leftovers of killed runs ----
mkdir -p "$VOLS/backups/b5"
printf '{"backup":"b5","created":"2026-01-01T00:00:00Z","kind":"KahuVolumeData","location":"elsewhere","token":"%032d","version":1}' 0 \
	>"$VOLS/backups/b5/volume-data.json"
t_exit 73 "a name holding another location's volume data on vols is refused (73)" \
	ks backup create b5 --include-namespaces app --volume-data fs --volume-location vols
t_grep "  naming whose it is" 'name b5 is taken on volume location vols: it holds the volume data of backup b5 of location elsewhere' "$T_ERR"
t_ok "  nothing was written on meta, the other data left alone" \
	sh -c "! test -e '$META/backups/b5' && test -s '$VOLS/backups/b5/volume-data.json'"
mkdir -p "$VOLS/backups/b6/volumes/0123456789abcdef0123456789abcdef"
printf '{"backup":"b6","created":"2026-01-01T00:00:00Z","kind":"KahuVolumeData","location":"meta","token":"%032d","version":1}' 0 \
	>"$VOLS/backups/b6/volume-data.json"
: >"$VOLS/backups/b6/volumes/0123456789abcdef0123456789abcdef/index.jsonl.zst.kenc"
t_ok "what a killed run of b6 left on vols is removed by the next b6" \
	ks backup create b6 --include-namespaces app --volume-data fs --volume-location vols --ttl 1s
t_grep "  with a warning" 'removing the volume data an interrupted backup named b6 left on location vols' "$T_ERR"
t_ok "  and only b6's own objects are there" gone "$VOLS/backups/b6/volumes/0123456789abcdef0123456789abcdef"

# ---- a run that fails removes what it wrote on both locations ----
helpers() { CLUSTER_USE=src cluster_admin GET "/api/v1/pods?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dkahu" |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'; }
CLUSTER_USE=src cluster_admin POST pod-start-delay '{"seconds": 3600}' >/dev/null
"$KAHU" --kubeconfig "$SRC" backup create b10 --include-namespaces app --volume-data fs --volume-location vols \
	>"$T_DIR/b10.out" 2>"$T_DIR/b10.err" &
B10=$!
for _ in $(seq 600); do [ "$(helpers)" = 1 ] && break; sleep 0.1; done
t_ok "backup b10 waits for its helper pod, its marker written on vols" \
	sh -c "test '$(helpers)' = 1 && test -s '$VOLS/backups/b10/volume-data.json'"
kill -INT $B10
wait $B10; rc=$?
[ $rc -eq 130 ]; t_result $? "Ctrl-C ends it (exit 130, got $rc)"
t_ok "  nothing of b10 is left on meta or on vols" gone "$META/backups/b10" "$VOLS/backups/b10"
CLUSTER_USE=src cluster_admin POST pod-start-delay '{"seconds": 0}' >/dev/null

# ---- the volume location missing, unreachable, or not holding this backup's data ----
mv "$VOLS" "$T_DIR/vols.away"
: >"$VOLS"
t_ok "describe b1 still works (the catalog is beside the metadata)" "$KAHU" backup describe b1
t_exit 69 "verify b1 with the volume location unreachable (69)" "$KAHU" backup verify b1
t_grep "  naming the location" 'volume data of backup b1 is on location vols, which cannot be opened' "$T_ERR"
t_exit 69 "download --extract (69)" "$KAHU" backup download b1 --volume app/data --extract "$T_DIR/x3"
t_exit 69 "restore (69)" kd restore create r3 --from-backup b1 --include-namespaces app
t_grep "  saying how to restore the rest" 'restore-volumes=false' "$T_ERR"
t_ok "  which works" kd restore create r3 --from-backup b1 --include-namespaces app --restore-volumes=false --existing-resource-policy update
t_exit 69 "delete b2 with the volume location unreachable (69)" "$KAHU" backup delete b2 --yes
t_grep "  saying the metadata is kept" 'backup b2 was not deleted: its volume data on location vols could not be removed, so its metadata on location meta is kept' "$T_ERR"
t_ok "  b2 is still listed" sh -c "'$KAHU' backup list -o json | grep -q '\"b2\"'"
rm -f "$VOLS"
mkdir -p "$VOLS"
t_exit 66 "verify b1 with the volume location empty (66)" "$KAHU" backup verify b1
t_grep "  saying it holds no volume data of b1" 'location vols holds no volume data of backup b1' "$T_ERR"
rmdir "$VOLS"
config ''
sed -i '/"vols"/d; s/}},$/}}}}/' "$CFG"
t_ok "a configuration without location vols" "$KAHU" location list
t_exit 66 "delete b2 with vols not configured (66)" "$KAHU" backup delete b2 --yes
t_grep "  naming it" 'volume data of backup b2 is on location vols, which the configuration does not define' "$T_ERR"
t_ok "  b2 is still listed" sh -c "'$KAHU' backup list -o json | grep -q '\"b2\"'"
config
mv "$T_DIR/vols.away" "$VOLS"
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$VOLS/backups/b1/volume-data.json")
cp "$VOLS/backups/b1/volume-data.json" "$T_DIR/marker.b1"
sed -i "s/$tok/$(printf '%032d' 7)/" "$VOLS/backups/b1/volume-data.json"
t_exit 65 "a marker of another run (the location points elsewhere) is refused (65)" "$KAHU" backup download b1 --volume app/data --extract "$T_DIR/x4"
t_grep "  saying so" 'does not hold the volume data of this backup b1' "$T_ERR"
cp "$T_DIR/marker.b1" "$VOLS/backups/b1/volume-data.json"

# ---- delete and prune remove both parts ----
t_ok "delete b2" "$KAHU" backup delete b2 --yes
t_ok "  gone from meta and from vols" gone "$META/backups/b2" "$VOLS/backups/b2"
t_ok "  b1 untouched" "$KAHU" backup verify b1
t_ok "delete b1" "$KAHU" backup delete b1 --yes
t_ok "  gone from meta and from vols" gone "$META/backups/b1" "$VOLS/backups/b1"
sleep 1 # b6's ttl (1s) is past
t_ok "prune removes the expired b6" "$KAHU" backup prune
t_grep "  says so" 'removed b6' "$T_OUT"
t_ok "  from meta and from vols" gone "$META/backups/b6" "$VOLS/backups/b6"
t_ok "  another location's volume data on vols is left alone" test -s "$VOLS/backups/b5/volume-data.json"

# ---- an S3 bucket as the volume location ----
s3_available
case $? in
0)
	if s3_start; then
		config ", \"bucket\": {\"provider\": \"s3\", \"config\": {\"bucket\": \"kahu\", \"endpoint\": \"$S3_ENDPOINT\", \"region\": \"eu-west-3\", \"prefix\": \"vols\"}}"
		t_ok "backup b7 --volume-location bucket (s3)" \
			ks backup create b7 --include-namespaces app --volume-data fs --volume-location bucket
		t_ok "  verify" "$KAHU" backup verify b7
		t_ok "  download --extract" "$KAHU" backup download b7 --volume app/data --extract "$T_DIR/x7"
		t_ok "  byte-exact" same "$V" "$T_DIR/x7"
		t_ok "  delete" "$KAHU" backup delete b7 --yes
		t_ok "  the bucket holds none of it" "$KAHU" backup list --location bucket
		t_nogrep "  (nothing listed)" 'b7' "$T_OUT"
	else
		t_result 1 "s3rver and the verifying proxy start"
	fi ;;
*) t_skip "an S3 bucket as the volume location" "$S3_MISSING" ;;
esac

t_done

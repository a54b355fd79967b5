#!/usr/bin/env bash
# kahu mover backup|restore|bundle: the data mover of a cluster's Jobs, run on this
# machine against a directory of realistic data (bench/mkvoldata.sh) into an S3 location
# (s3rver behind the signature-checking proxy), with a run bundle written by `kahu mover
# bundle` and no credentials in the environment; the result read and verified as the
# coordinator reads it (tests/cli/moverdrv); a restore into an empty directory compared
# byte for byte with owners, modes and times; an incremental with a parent; failures
# (no volume, wrong key, a bad spec, an fs location) with their messages, exit statuses
# and termination messages, and nothing left that a manifest could reference; an SFTP
# location whose identity and known_hosts travel in the bundle.  Then, on
# the test cluster, a pod of the kahu image runs `kahu mover backup` against a PVC with
# the bundle as a Secret, into the same S3 location, and another restores it into a new
# PVC on another node.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vollib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"
. "$top_srcdir/tests/s3/s3.sh"
. "$top_srcdir/tests/sftp/sshd.sh"

s3_available
case $? in
1) t_skip "kahu mover" "$S3_MISSING"; t_done; exit 0 ;;
2) t_result 1 "s3rver and the AWS SDK are installed: $S3_MISSING"; t_done; exit 1 ;;
esac
s3_start || { t_result 1 "s3rver and the verifying proxy start"; t_done; exit 1; }

DRV=$top_builddir/tests/cli/moverdrv
export KAHU_PLUGIN_PATH=$top_builddir/backends/s3/.libs:$top_builddir/backends/sftp/.libs # for moverdrv
export KAHU_KEY_FILE=$T_DIR/test.key
"$KAHU" key generate --file "$KAHU_KEY_FILE" >/dev/null 2>&1
"$KAHU" key generate --file "$T_DIR/other.key" >/dev/null 2>&1
KEYPAT=$(head -c 24 "$KAHU_KEY_FILE" | sed 's/[+/=]/./g') # the key's base64, as a pattern
CFG=$XDG_CONFIG_HOME/kahu/config.json
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$CFG" <<EOF
{"version": 1, "defaultLocation": "s3",
 "locations": {
  "s3": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT", "prefix": "movers"}},
  "local": {"provider": "fs", "config": {"path": "$T_DIR/loc"}}}}
EOF
chmod 600 "$CFG"
s3ls() { s3_client kahu list "movers/$1" 2>/dev/null; }
printf 'pass phrase\n' >"$T_DIR/pass"
chmod 600 "$T_DIR/pass"
t_ok "the location gets its kahu-repo.json (a passphrase for its key)" \
	env KAHU_TEST_WEAK_KDF=1 "$KAHU" key add-passphrase --passphrase-file "$T_DIR/pass"

# --- the run bundle ------------------------------------------------------------------------
B=$T_DIR/bundle
t_ok "kahu mover bundle DIR" "$KAHU" mover bundle "$B"
t_ok "it holds config.json, key and the S3 credentials" test "$(cd "$B" && ls | tr '\n' ' ')" = "config.json credentials-file key "
t_ok "every file 0400, the directory 0700" test "$(stat -c %a "$B" "$B"/* | tr '\n' ' ')" = "700 400 400 400 "
t_ok "the key is the location's" cmp "$B/key" "$KAHU_KEY_FILE"
t_grep "the credentials are those of the environment" "^aws_secret_access_key = $S3_SECRET\$" "$B/credentials-file"
t_nogrep "config.json holds no secret" "$S3_SECRET|$AWS_ACCESS_KEY_ID|$KEYPAT" "$B/config.json"
t_grep "config.json names the bundle's credentials file" '"credentials-file": "credentials-file"' "$B/config.json"
t_grep "and the key file" '"keyFile": "key"' "$B/config.json"
t_exit 73 "a second bundle into the same directory is refused" "$KAHU" mover bundle "$B"
t_grep "it says the file exists" 'cannot create .*/bundle/[a-z.-]*: File exists' "$T_ERR"
t_exit 64 "an fs location cannot be given to movers (64)" "$KAHU" mover bundle "$T_DIR/b-fs" --location local
t_grep "it says why and what to use instead" 'directory of this machine \(provider fs\), which movers in the cluster cannot reach: use an S3 or SFTP location' "$T_ERR"
t_ok "and writes nothing" test ! -e "$T_DIR/b-fs"
t_ok "the bundle for a passphrase-protected key, unlocked" \
	env -u KAHU_KEY_FILE "$KAHU" mover bundle "$T_DIR/b-pass" --passphrase-file "$T_DIR/pass"
t_ok "it holds the same key" cmp "$T_DIR/b-pass/key" "$KAHU_KEY_FILE"
t_exit 77 "a bundle with a key that is not the location's is refused (77)" \
	"$KAHU" mover bundle "$T_DIR/b-other" --key-file "$T_DIR/other.key"
t_grep "naming both keys" 'the backups on location s3 are encrypted with key [0-9a-f]{32}; the key in use .* is [0-9a-f]{32}' "$T_ERR"
cp -r "$B" "$T_DIR/b-other" && chmod 600 "$T_DIR/b-other/key" && cp "$T_DIR/other.key" "$T_DIR/b-other/key"

# --- a backup mover ------------------------------------------------------------------------
V=$T_DIR/vol
t_ok "64 MiB of mixed data in 2,000 small files and large ones" "$top_srcdir/bench/mkvoldata.sh" --size 64M --files 2000 "$V"
vol_fill "$V"
chown 1234:5678 "$V/a dir/one.txt"
chown -h 4321:8765 "$V/link1"
chown 99:99 "$V/small"
sleep 1 # the listing's second is past: no entry is "racy"
VID=0123456789abcdef0123456789abcdef
spec() { # OP BACKUP ATTEMPT MOUNT [EXTRA-JSON]
	printf '{"op":"%s","backup":"%s","vid":"%s","label":"app/data","attempt":"%s","mountPath":"%s"%s}' \
		"$1" "$2" "$VID" "$3" "$4" "${5:-}"
}
# the mover as in its pod: no credentials, key or configuration from the environment
mover() { # TERMFILE ARGS...
	local tf=$1; shift
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u KAHU_KEY_FILE -u KAHU_CONFIG \
		HOME=/nonexistent KAHU_TERMINATION_LOG="$tf" "$KAHU" mover "$@"
}
S1=$(spec backup b1 a1 "$V")
t_ok "kahu mover backup (64 MiB into S3)" mover "$T_DIR/t1" backup --spec "$S1" --bundle "$B"
cp "$T_OUT" "$T_DIR/t1.out"
t_ok "the termination message is what it printed" diff "$T_DIR/t1.out" "$T_DIR/t1"
t_grep "it names its result object and counts" '^\{"result":"backups/b1/movers/'"$VID"'-a1.json.zst.kenc","blake2b":"[0-9a-f]{64}","files":20[0-9][0-9],"bytes":[0-9]*\}$' "$T_DIR/t1"
t_ok "the segments, the index and the result are on the location" s3ls backups/b1/
t_grep "segments" "^movers/backups/b1/volumes/$VID/data-000001.tar.zst.kenc " "$T_OUT"
t_grep "the index" "^movers/backups/b1/volumes/$VID/index.jsonl.zst.kenc " "$T_OUT"
t_grep "the result" "^movers/backups/b1/movers/$VID-a1.json.zst.kenc " "$T_OUT"
t_nogrep "the secret is in no output" "$S3_SECRET" "$T_ERR"
t_ok "the coordinator reads and verifies the result" "$DRV" result "$CFG" s3 "$S1" "$T_DIR/t1"
cp "$T_OUT" "$T_DIR/r1.json"
t_ok "every object the location holds for the volume is listed, with its size" test \
	"$("$PYTHON" -c 'import json,sys; print("\n".join(sorted("movers/backups/b1/%s %d" % (o["path"], o["size"]) for o in json.load(open(sys.argv[1]))["objects"])))' "$T_DIR/r1.json")" = \
	"$(s3ls "backups/b1/volumes/" | LC_ALL=C sort)"
t_ok "the result object was removed once read" eval "! s3ls backups/b1/movers/ | grep -q ."
t_exit 1 "so reading it again fails" "$DRV" result "$CFG" s3 "$S1" "$T_DIR/t1"
t_grep "saying it is gone" "the mover's result backups/b1/movers/$VID-a1.json.zst.kenc is not on the location \(EDATA\)" "$T_ERR"

# --- a restore mover -----------------------------------------------------------------------
mkdir "$T_DIR/r1"
t_ok "kahu mover restore into an empty directory" mover "$T_DIR/t2" restore --spec "$(spec restore b1 a2 "$T_DIR/r1")" --bundle "$B"
t_grep "its termination message holds the counts" '^\{"files":20[0-9][0-9],"dirs":[0-9]*,"links":[0-9]*,"bytes":[0-9]*,"deleted":0,"retries":0,"incomplete":false,"durationMs":[0-9]*\}$' "$T_DIR/t2"
t_ok "the restored volume equals the original: content, owners, modes, times" vol_same "$V" "$T_DIR/r1"
t_ok "diff -r agrees" diff -r --no-dereference "$V" "$T_DIR/r1"

# --- an incremental backup with a parent -----------------------------------------------------
printf 'added\n' >"$V/a dir/added.txt"
printf 'more\n' >>"$V/a dir/one.txt"
rm -f "$V/media/blob-00.bin"
touch -d '2003-04-05 06:07:08' "$V/a dir" "$V/media"
sleep 1
S3=$(spec backup b2 a1 "$V" ',"parent":"b1"')
t_ok "kahu mover backup with parent b1" mover "$T_DIR/t3" backup --spec "$S3" --bundle "$B"
t_ok "the coordinator verifies it" "$DRV" result "$CFG" s3 "$S3" "$T_DIR/t3"
moved=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$T_DIR/t3")
t_ok "it moved only what changed (a few KiB of 64 MiB)" test "$moved" -lt 1048576
t_ok "one small segment" test "$(s3ls "backups/b2/volumes/$VID/data-" | wc -l)" -eq 1
mkdir "$T_DIR/r2"
t_ok "kahu mover restore of b2 (the chain b1 + b2)" mover "$T_DIR/t4" restore --spec "$(spec restore b2 a1 "$T_DIR/r2")" --bundle "$B"
t_ok "equals the changed original" vol_same "$V" "$T_DIR/r2"
t_ok "--delete-extra-files: b1 restored over b2's state" mover "$T_DIR/t5" restore --spec "$(spec restore b1 a3 "$T_DIR/r2" ',"deleteExtra":true')" --bundle "$B"
t_grep "what b1 lacks was deleted" '"deleted":1,' "$T_DIR/t5"
t_ok "the directory is b1's state again" test ! -e "$T_DIR/r2/a dir/added.txt" -a -e "$T_DIR/r2/media/blob-00.bin"

# --- a retry after an attempt whose result never reached the coordinator ------------------------
S7=$(spec backup b7 a1 "$V")
t_ok "an attempt writes b7's volume (its report is lost: the pod was evicted)" mover "$T_DIR/t7a" backup --spec "$S7" --bundle "$B"
S7b=$(spec backup b7 a2 "$V")
t_ok "the next attempt succeeds over what it left" mover "$T_DIR/t7b" backup --spec "$S7b" --bundle "$B"
t_grep "saying it removed what the earlier attempt left" 'app/data: removed [0-9]+ objects an earlier attempt left' "$T_ERR"
t_ok "the coordinator verifies the new attempt" "$DRV" result "$CFG" s3 "$S7b" "$T_DIR/t7b"
cp "$T_OUT" "$T_DIR/r7.json"
t_exit 1 "the earlier attempt's report no longer verifies" "$DRV" result "$CFG" s3 "$S7" "$T_DIR/t7a"
t_ok "only the new attempt's objects are there" test "$(s3ls backups/b7/ | sed 's/ .*//' | LC_ALL=C sort)" = \
	"$("$PYTHON" -c 'import json,sys; print("\n".join(sorted("movers/backups/b7/%s" % o["path"] for o in json.load(open(sys.argv[1]))["objects"])))' "$T_DIR/r7.json")"

# --- failures --------------------------------------------------------------------------------
t_exit 66 "a volume that is not there: 66" mover "$T_DIR/t6" backup --spec "$(spec backup b3 a1 "$T_DIR/missing")" --bundle "$B"
t_grep "a clear message" "app/data: the volume's mount $T_DIR/missing: No such file or directory" "$T_ERR"
t_grep "the termination message says so, with the exit status" '^\{"error":"app/data: the volume.s mount .*","code":"ENOTFOUND","exit":66\}$' "$T_DIR/t6"
t_ok "nothing of b3 is on the location" test -z "$(s3ls backups/b3/)"
t_exit 1 "the coordinator fails the volume with the mover's message and code" "$DRV" result "$CFG" s3 "$(spec backup b3 a1 "$T_DIR/missing")" "$T_DIR/t6"
t_grep "..." "app/data: the volume's mount .*: No such file or directory \(ENOTFOUND\)" "$T_ERR"
t_exit 77 "another key than the location's: 77" mover "$T_DIR/t7" backup --spec "$(spec backup b4 a1 "$V")" --bundle "$T_DIR/b-other"
t_grep "the message names the keys" 'key' "$T_ERR"
t_grep "an error termination message" '^\{"error":".*","code":"ECRYPTO","exit":77\}$' "$T_DIR/t7"
t_ok "nothing of b4 is on the location" test -z "$(s3ls backups/b4/)"
t_exit 77 "a restore with another key: 77" mover "$T_DIR/t8" restore --spec "$(spec restore b1 a4 "$T_DIR/r3")" --bundle "$T_DIR/b-other"
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	# as a user that cannot read a directory of the volume (root reads everything)
	mkdir -p "$T_DIR/v/locked" "$T_DIR/v/tmp" && cp -a "$V/a dir" "$T_DIR/v/"
	cp -r "$B" "$T_DIR/b-nobody"
	chown -R 65534:65534 "$T_DIR/b-nobody" "$T_DIR/v"
	chmod 000 "$T_DIR/v/locked"
	chmod 711 "$T_DIR"
	chown 0:0 "$T_DIR/v/locked"
	t_exit 1 "a volume with an unreadable directory: the mover fails" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
		-u KAHU_KEY_FILE HOME=/nonexistent KAHU_TERMINATION_LOG="$T_DIR/v/tmp/t9" TMPDIR="$T_DIR/v/tmp" \
		setpriv --reuid 65534 --regid 65534 --clear-groups "$KAHU" mover backup \
		--spec "$(spec backup b5 a1 "$T_DIR/v")" --bundle "$T_DIR/b-nobody"
	t_grep "the listing failed" 'find failed|Permission denied' "$T_ERR"
	t_grep "an error termination message" '^\{"error":".*","code":"[A-Z]*","exit":[0-9]*\}$' "$T_DIR/v/tmp/t9"
	t_ok "nothing of b5 stays on the location" test -z "$(s3ls backups/b5/)"
fi
t_exit 64 "a spec that is not JSON: 64" mover "$T_DIR/t10" backup --spec '{nope' --bundle "$B"
t_grep "says so" 'mover spec: not valid JSON' "$T_ERR"
t_exit 64 "a spec with an unknown member: 64" mover "$T_DIR/t10" backup --spec "$(spec backup b6 a1 "$V" ',"keyFile":"/x"')" --bundle "$B"
t_grep "naming it" 'mover spec: keyFile: unknown member' "$T_ERR"
t_exit 64 "a spec whose op is not the command's: 64" mover "$T_DIR/t10" restore --spec "$S1" --bundle "$B"
t_exit 64 "a hostile backup name: 64" mover "$T_DIR/t10" backup --spec "$(spec backup ../x a1 "$V")" --bundle "$B"
t_grep "naming the field" 'mover spec: backup:' "$T_ERR"
t_exit 66 "no bundle: 66" mover "$T_DIR/t10" backup --spec "$S1" --bundle "$T_DIR/nobundle"
t_grep "says the Secret may not be mounted" 'is not a directory \(is the run.s Secret mounted\?\)' "$T_ERR"
cp -r "$B" "$T_DIR/b-loose"
chmod 0666 "$T_DIR/b-loose/config.json"
t_exit 77 "a bundle whose config.json others may write: refused as every configuration (77)" mover "$T_DIR/t10" backup --spec "$S1" --bundle "$T_DIR/b-loose"

# --- an SFTP location: the identity and known_hosts files carried in the bundle -------------------
if sshd_start >/dev/null 2>&1; then
	cat >"$T_DIR/sftp.json" <<EOF
{"version": 1, "defaultLocation": "sftp",
 "locations": {"sftp": {"provider": "sftp", "config": {"host": "127.0.0.1", "port": "$SSHD_PORT",
   "user": "$SSHD_USER", "path": "$T_DIR/sftp-loc", "identity-file": "$SSHD_KEY",
   "known-hosts": "$SSHD_KNOWN_HOSTS"}}}}
EOF
	chmod 600 "$T_DIR/sftp.json"
	t_ok "kahu mover bundle of an SFTP location" "$KAHU" --config "$T_DIR/sftp.json" mover bundle "$T_DIR/b-sftp"
	t_ok "it holds the identity and known_hosts" test "$(cd "$T_DIR/b-sftp" && ls | tr '\n' ' ')" = "config.json identity-file key known-hosts "
	t_ok "the identity is the location's" cmp "$T_DIR/b-sftp/identity-file" "$SSHD_KEY"
	SV=$T_DIR/svol
	mkdir -p "$SV" && vol_fill "$SV" && sleep 1
	SS=$(spec backup s1 a1 "$SV")
	t_ok "kahu mover backup into the SFTP location, with the bundle's files only" \
		mover "$T_DIR/ts1" backup --spec "$SS" --bundle "$T_DIR/b-sftp"
	t_ok "the coordinator verifies it" "$DRV" result "$T_DIR/sftp.json" sftp "$SS" "$T_DIR/ts1"
	mkdir "$T_DIR/sr"
	t_ok "kahu mover restore from it" mover "$T_DIR/ts2" restore --spec "$(spec restore s1 a1 "$T_DIR/sr")" --bundle "$T_DIR/b-sftp"
	t_ok "the restored volume is exact" vol_same "$SV" "$T_DIR/sr"
else
	t_skip "a mover on an SFTP location" "the test SSH server does not start here"
fi

# --- on the test cluster: a pod of the kahu image runs kahu mover backup on a PVC ---------------
KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
	t_skip "a mover pod on the test cluster" "needs kubectl and root (mount namespaces)"
	t_done
	exit $?
fi
t_ok "a test cluster of two nodes" cluster_start main --nodes 2
k() { "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
cat >"$T_DIR/pvc.yaml" <<'EOF2'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default, annotations: {volume.kubernetes.io/selected-node: node-2}}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
EOF2
t_ok "a PVC on node-2" k apply -f "$T_DIR/pvc.yaml"
pv=$(cluster_admin GET "volume?namespace=default&pvc=data" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["path"])')
t_ok "its data: 4 MiB in 200 files" "$top_srcdir/bench/mkvoldata.sh" --size 4M --files 200 --seed 2 "$pv"
chmod -R a+rX "$pv"
sleep 1
t_ok "the run's Secret from the bundle" k create secret generic mover-run --from-file="$B"
PSPEC=$(spec backup c1 p1 /kahu/volume | sed 's/,"mountPath":"\/kahu\/volume"//')
cat >"$T_DIR/mover.yaml" <<EOF2
apiVersion: batch/v1
kind: Job
metadata: {name: mover, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext: {fsGroup: 65532}
      containers:
      - name: mover
        image: ghcr.io/example/kahu:dev
        args: [mover, backup, --spec, '$PSPEC']
        terminationMessagePolicy: File
        volumeMounts:
        - {name: volume, mountPath: /kahu/volume, readOnly: true}
        - {name: run, mountPath: /kahu/run, readOnly: true}
      volumes:
      - {name: volume, persistentVolumeClaim: {claimName: data, readOnly: true}}
      - {name: run, secret: {secretName: mover-run, defaultMode: 0400}}
EOF2
t_ok "a Job running kahu mover backup" k apply -f "$T_DIR/mover.yaml"
job_done() { [ -n "$(k get job mover -o jsonpath='{.status.conditions[?(@.status=="True")].type}' 2>/dev/null)" ]; }
t_ok "it ends" eval 'for i in $(seq 1 1200); do job_done && break; sleep 0.1; done; job_done'
t_ok "Complete" test "$(k get job mover -o jsonpath='{.status.conditions[?(@.status=="True")].type}')" = Complete
pod=$(k get pods -l job-name=mover -o jsonpath='{.items[0].metadata.name}')
k logs "$pod" >"$T_DIR/podlog" 2>&1
t_ok "its pod ran on the volume's node" test "$(k get pod "$pod" -o jsonpath='{.spec.nodeName}')" = node-2
k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}' >"$T_DIR/tp"
t_grep "its termination message names the result" '^\{"result":"backups/c1/movers/'"$VID"'-p1.json.zst.kenc",' "$T_DIR/tp"
t_ok "the coordinator verifies it" "$DRV" result "$CFG" s3 "$(spec backup c1 p1 /kahu/volume)" "$T_DIR/tp"
t_nogrep "neither the key nor the S3 secret in the pod's log" "$S3_SECRET|$KEYPAT" "$T_DIR/podlog"
k get job mover -o yaml >"$T_DIR/job.yaml"
t_nogrep "nor in the Job" "$S3_SECRET|$KEYPAT" "$T_DIR/job.yaml"
mkdir "$T_DIR/rc"
t_ok "restored here, the volume's data is exact" mover "$T_DIR/tc" restore --spec "$(spec restore c1 p2 "$T_DIR/rc")" --bundle "$B"
t_ok "diff -r" diff -r "$pv" "$T_DIR/rc"

# and back into a new PVC on the other node, by a restore mover (as root: owners kept)
sed 's/name: data,/name: back,/; s/node-2/node-1/' "$T_DIR/pvc.yaml" >"$T_DIR/pvc2.yaml"
t_ok "a new PVC on node-1" k apply -f "$T_DIR/pvc2.yaml"
RSPEC=$(spec restore c1 p3 /kahu/volume | sed 's/,"mountPath":"\/kahu\/volume"//')
sed -e 's/name: mover,/name: rmover,/' -e "s|args: \[mover, backup, --spec, '.*'\]|args: [mover, restore, --spec, '$RSPEC']|" \
	-e 's/claimName: data, readOnly: true/claimName: back/' -e 's|mountPath: /kahu/volume, readOnly: true|mountPath: /kahu/volume|' \
	-e 's/securityContext: {fsGroup: 65532}/securityContext: {runAsUser: 0}/' "$T_DIR/mover.yaml" >"$T_DIR/rmover.yaml"
t_ok "a Job running kahu mover restore" k apply -f "$T_DIR/rmover.yaml"
rjob_done() { [ -n "$(k get job rmover -o jsonpath='{.status.conditions[?(@.status=="True")].type}' 2>/dev/null)" ]; }
t_ok "it ends" eval 'for i in $(seq 1 1200); do rjob_done && break; sleep 0.1; done; rjob_done'
t_ok "Complete" test "$(k get job rmover -o jsonpath='{.status.conditions[?(@.status=="True")].type}')" = Complete
rpod=$(k get pods -l job-name=rmover -o jsonpath='{.items[0].metadata.name}')
t_ok "its pod ran on the new volume's node" test "$(k get pod "$rpod" -o jsonpath='{.spec.nodeName}')" = node-1
k get pod "$rpod" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}' >"$T_DIR/tr"
t_grep "its termination message holds the counts" '^\{"files":[0-9]+,"dirs":[0-9]+,' "$T_DIR/tr"
pv2=$(cluster_admin GET "volume?namespace=default&pvc=back" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["path"])')
t_ok "the new PVC holds the data, exact (owners, modes, times)" vol_same "$pv" "$pv2"

t_done

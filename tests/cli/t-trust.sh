#!/usr/bin/env bash
# What kahu trusts on a location.  Whoever can write to a location can put an
# unencrypted backup (no MAC) where an encrypted one was, or edit a restore's record:
# on a keyed location, verify, describe, download, logs and restore refuse an
# unencrypted backup (exit 77) unless --allow-unencrypted is given, also anywhere in an
# incremental chain; list marks it.  Restore records carry a MAC: every bit flip is
# detected, a record that claims to be unencrypted is refused, one without a MAC (an
# older kahu) is marked and checked against the encrypted result.  Key files: a FIFO is
# refused at once, a damaged wrapped key is reported as damaged, not as a wrong
# passphrase.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

LOC=$XDG_DATA_HOME/kahu/backups
SCRATCH=$T_DIR/scratch
mkdir -p "$XDG_CONFIG_HOME/kahu"
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF
{"version": 1, "defaultLocation": "default",
 "locations": {"default": {"provider": "fs", "config": {"path": "$LOC"}},
               "scratch": {"provider": "fs", "config": {"path": "$SCRATCH"}}}}
EOF
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"

cat >"$T_DIR/genuine.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: trust}
---
apiVersion: v1
kind: Secret
metadata: {name: canary, namespace: trust}
type: Opaque
stringData: {value: genuine}
EOF
cat >"$T_DIR/forged.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: trust}
---
apiVersion: v1
kind: Secret
metadata: {name: canary, namespace: trust}
type: Opaque
stringData: {value: forged}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: evil-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:unauthenticated"}
EOF

cluster_start main --seed "$T_DIR/genuine.yaml" || { t_result 1 "test cluster starts"; t_done; exit 1; }
MAIN_KC=$CLUSTER_KUBECONFIG
cluster_start evil --seed "$T_DIR/forged.yaml" || { t_result 1 "second cluster starts"; t_done; exit 1; }
EVIL_KC=$CLUSTER_KUBECONFIG
cluster_start tgt || { t_result 1 "target cluster starts"; t_done; exit 1; }
TGT_KC=$CLUSTER_KUBECONFIG
scope=(--include-namespaces trust --include-cluster-resources true --include-resources namespaces,secrets,clusterrolebindings)

# forge NAME: replace backup NAME on the keyed location with an unencrypted one of the
# same name, made from the second cluster into the scratch location.
forge() {
	"$KAHU" --kubeconfig "$EVIL_KC" backup create "$1" --location scratch --no-encryption "${scope[@]}" \
		>/dev/null 2>&1 || return 1
	rm -rf "$LOC/backups/$1" && cp -rp "$SCRATCH/backups/$1" "$LOC/backups/$1"
}
# in_tgt PATH: does the object exist in the target cluster?
in_tgt() { CLUSTER_USE=tgt cluster_admin GET "$1" >"$T_DIR/obj.json" 2>/dev/null; }
CRB=/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/evil-admin
CANARY=/api/v1/namespaces/trust/secrets/canary

# ---- a plaintext backup over an encrypted one ----
t_ok "backup create real (encrypted)" "$KAHU" --kubeconfig "$MAIN_KC" backup create real "${scope[@]}"
t_ok "backup create nightly (encrypted)" "$KAHU" --kubeconfig "$MAIN_KC" backup create nightly "${scope[@]}"
forge nightly; t_result $? "an unencrypted backup named nightly replaces the encrypted one"
"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["encryption"] == "none" and "mac" not in d' \
	"$LOC/backups/nightly/backup.json"; t_result $? "... its manifest says \"encryption\": \"none\", no MAC"

t_exit 77 "backup verify refuses it (exit 77)" "$KAHU" backup verify nightly
t_grep "... saying it is not encrypted on a keyed location" "backup nightly is not encrypted, but location default is keyed \(key [0-9a-f]{32}\)" "$T_ERR"
t_grep "... and how to accept it" "--allow-unencrypted" "$T_ERR"
t_nogrep "... and never says authenticated" "authenticated" "$T_OUT"
t_exit 77 "backup describe refuses it" "$KAHU" backup describe nightly
t_exit 77 "backup describe --details refuses it" "$KAHU" backup describe nightly --details
t_exit 77 "backup download refuses it" "$KAHU" backup download nightly -o "$T_DIR/n.tar"
[ ! -e "$T_DIR/n.tar" ]; t_result $? "... and writes nothing"
t_exit 77 "backup logs refuses it" "$KAHU" backup logs nightly
t_exit 77 "restore create refuses it" "$KAHU" --kubeconfig "$TGT_KC" restore create r-forged --from-backup nightly
t_grep "... with the same reason" "backup nightly is not encrypted, but location default is keyed" "$T_ERR"
in_tgt "$CRB"; [ $? -ne 0 ]; t_result $? "... the forged ClusterRoleBinding was not created"
in_tgt "$CANARY"; [ $? -ne 0 ]; t_result $? "... nor the canary Secret"
[ ! -e "$LOC/restores/r-forged" ]; t_result $? "... and no restore was recorded"
t_exit 77 "restore create --dry-run refuses it too" "$KAHU" --kubeconfig "$TGT_KC" restore create --from-backup nightly --dry-run

t_ok "backup list shows it" "$KAHU" backup list
t_grep "... marked unauthenticated" "^nightly +Completed \(unauthenticated\) " "$T_OUT"
t_grep "... and the genuine one not" "^real +Completed +full " "$T_OUT"
t_ok "backup list -o json" "$KAHU" backup list -o json
t_py "... says which backup is encrypted" "
b = {x['name']: x for x in d['backups']}
assert b['nightly']['encrypted'] is False and b['real']['encrypted'] is True, b" "$T_OUT"

t_ok "backup verify --allow-unencrypted accepts it" "$KAHU" backup verify nightly --allow-unencrypted
t_grep "... saying it is NOT authenticated" "NOT authenticated" "$T_OUT"
t_nogrep "... never that the manifest is authenticated" "manifest authenticated" "$T_OUT"
t_grep "... with a warning" "cannot be authenticated" "$T_ERR"
t_ok "backup verify of an encrypted backup says authenticated" "$KAHU" backup verify real
t_grep "... manifest authenticated" "intact: manifest authenticated" "$T_OUT"
t_ok "backup describe --allow-unencrypted" "$KAHU" backup describe nightly --allow-unencrypted
t_grep "... says it is not authenticated" "^Encryption: +none: NOT authenticated" "$T_OUT"
t_ok "backup describe -o json --allow-unencrypted" "$KAHU" backup describe nightly --allow-unencrypted -o json
t_py "... \"authenticated\": false" "assert d['authenticated'] is False, d.get('authenticated')" "$T_OUT"
t_ok "backup describe of an encrypted backup" "$KAHU" backup describe real
t_grep "... says authenticated" "^Encryption: +key [0-9a-f]{32} \(authenticated\)" "$T_OUT"
t_ok "backup download --allow-unencrypted" "$KAHU" backup download nightly --allow-unencrypted -o "$T_DIR/n.tar"
t_ok "backup logs --allow-unencrypted" "$KAHU" backup logs nightly --allow-unencrypted
t_ok "restore create --allow-unencrypted restores it (the user said so)" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create r-allowed --from-backup nightly --allow-unencrypted
in_tgt "$CRB"; t_result $? "... the ClusterRoleBinding it holds was created"
t_ok "... and its record is sealed with the location's key" "$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["mac"]) == 64 and len(d["key_id"]) == 32 and d["encrypted"] is True, d' "$LOC/restores/r-allowed/restore.json"

# ---- an unencrypted backup anywhere in an incremental chain ----
t_ok "backup create c-full" "$KAHU" --kubeconfig "$MAIN_KC" backup create c-full "${scope[@]}"
t_ok "backup create c-inc --incremental" "$KAHU" --kubeconfig "$MAIN_KC" backup create c-inc --incremental --parent c-full "${scope[@]}"
forge c-full; t_result $? "the chain's full backup is replaced by an unencrypted one"
t_ok "... backup verify c-inc (itself intact) passes" "$KAHU" backup verify c-inc
t_exit 77 "restore create of the incremental refuses the chain" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create r-chain --from-backup c-inc --dry-run
t_grep "... naming the unencrypted member" "backup c-full \(in the chain of c-inc\) is not encrypted" "$T_ERR"
t_exit 1 "... --allow-unencrypted reads the mixed chain, each member as what it is" \
	"$KAHU" --kubeconfig "$TGT_KC" restore create r-chain --from-backup c-inc --dry-run --allow-unencrypted
t_grep "... and the forged member's objects fail: the intact incremental's index records other versions" \
	"secrets +trust +canary +failed +backup c-full holds another version of this object than its index records" "$T_OUT"

# ---- restore records ----
"$KAHU" --kubeconfig "$MAIN_KC" restore create r-good --from-backup real >/dev/null 2>&1
REC=$LOC/restores/r-good/restore.json
[ -f "$REC" ]; t_result $? "restore r-good is recorded"
cp -p "$REC" "$T_DIR/rec.orig"
t_ok "restore describe r-good" "$KAHU" restore describe r-good
cp "$T_OUT" "$T_DIR/describe.orig"
t_grep "... the record is authenticated" "^Record: +authenticated" "$T_OUT"
# Every byte, one bit each (cycling through the 8): describe must fail, or print exactly
# what the intact record gives.
undetected=$("$PYTHON" - "$REC" "$T_DIR/rec.orig" "$T_DIR/describe.orig" "$KAHU" <<'PY'
import subprocess, sys
rec, orig, want, kahu = sys.argv[1:5]
data = open(orig, "rb").read()
want = open(want, "rb").read()
bad = []
for i in range(len(data)):
    b = bytearray(data)
    b[i] ^= 1 << (i % 8)
    open(rec, "wb").write(bytes(b))
    p = subprocess.run([kahu, "restore", "describe", "r-good"], capture_output=True)
    if p.returncode == 0 and p.stdout != want:
        bad.append(i)
open(rec, "wb").write(data)
print(" ".join(map(str, bad)) if bad else "none")
PY
)
echo "$undetected" >"$T_OUT"
[ "$undetected" = none ]; t_result $? "every bit flip in restore.json is detected (or changes nothing shown)"
cp -p "$T_DIR/rec.orig" "$REC"

edit_rec() { # python code on d, the record
	"$PYTHON" -c "import json, sys
d = json.load(open(sys.argv[1]))
$1
open(sys.argv[1], 'w').write(json.dumps(d, indent=2, sort_keys=True))" "$REC"
}
forged_result() { # a plaintext result beside the record, as an attacker would write it
	printf '%s' '{"name":"r-good","backup":"real","status":"Completed","encrypted":false,"counts":{"items":1,"created":1,"updated":0,"skipped":0,"failed":0},"items":[{"resource":"secrets","namespace":"trust","name":"FORGED-ITEM","outcome":"created"}]}' |
		zstd -q -c >"$LOC/restores/r-good/result.json.zst"
}
forged_result
edit_rec 'd["encrypted"] = False'
t_exit 77 "a record whose \"encrypted\" was flipped is refused by describe --details" "$KAHU" restore describe r-good --details
t_grep "... failed authentication" "record of restore r-good .* failed authentication" "$T_ERR"
t_nogrep "... the forged item is not shown" "FORGED-ITEM" "$T_OUT"
t_exit 77 "... and by restore logs" "$KAHU" restore logs r-good
edit_rec 'd["encrypted"] = False; del d["mac"]; del d["key_id"]'
t_exit 77 "a record without a MAC that says unencrypted is refused on a keyed location" "$KAHU" restore describe r-good --details
t_grep "... saying why" "record of restore r-good says the restore was not encrypted and carries no MAC, but location default is keyed" "$T_ERR"
t_exit 77 "... by restore describe without --details too" "$KAHU" restore describe r-good
t_exit 77 "... and by restore logs" "$KAHU" restore logs r-good
t_ok "... --allow-unencrypted shows it" "$KAHU" restore describe r-good --details --allow-unencrypted
t_grep "... marked NOT authenticated" "^Record: +NOT authenticated" "$T_OUT"
cp -p "$T_DIR/rec.orig" "$REC"
rm -f "$LOC/restores/r-good/result.json.zst"
# As a kahu that did not seal records wrote it: no MAC, "encrypted": true.
edit_rec 'del d["mac"]; del d["key_id"]'
t_ok "a record without a MAC that says encrypted (an older kahu) is shown" "$KAHU" restore describe r-good
t_grep "... checked against the encrypted result" "^Record: +no MAC \(written by an older kahu\); agrees with the encrypted result" "$T_OUT"
t_ok "restore list" "$KAHU" restore list
t_grep "... marks it unauthenticated" "^r-good +real +Completed \(unauthenticated\) " "$T_OUT"
t_grep "... and not the sealed ones" "^r-allowed +nightly +Completed " "$T_OUT"
cp -p "$T_DIR/rec.orig" "$REC"
edit_rec 'del d["mac"]; del d["key_id"]; d["counts"]["created"] += 1'
t_exit 77 "... its counts altered: describe refuses it" "$KAHU" restore describe r-good
t_grep "... saying it disagrees with the encrypted result" "disagrees with the restore's encrypted result on \"counts\"" "$T_ERR"
cp -p "$T_DIR/rec.orig" "$REC"
cp -p "$LOC/restores/r-allowed/restore.json" "$REC"
t_exit 77 "another restore's sealed record copied over this one is refused" "$KAHU" restore describe r-good
cp -p "$T_DIR/rec.orig" "$REC"
t_ok "the intact record describes again" "$KAHU" restore describe r-good

# ---- key files ----
export KAHU_TEST_WEAK_KDF=1
mkfifo -m 600 "$T_DIR/fifo"
t_exit 65 "a key file that is a FIFO is refused at once (exit 65)" timeout -k 5 60 "$KAHU" key id --key-file "$T_DIR/fifo"
t_grep "... saying what it is" "is a FIFO \(named pipe\): a key file must be a regular file" "$T_ERR"
t_exit 65 "a passphrase file that is a FIFO too" timeout -k 5 60 "$KAHU" key id --passphrase-file "$T_DIR/fifo"
t_grep "... saying what it is" "passphrase file .* is a FIFO" "$T_ERR"
# (every file kahu opens that may be a FIFO: none stalls it; timeout's 124/137 fail)
t_run env KAHU_CONFIG="$T_DIR/fifo" timeout -k 5 60 "$KAHU" backup list
rc=$?; [ "$rc" -eq 78 ]; t_result $? "a configuration file that is a FIFO is refused at once (exit 78, got $rc)"
mkdir -p "$LOC/backups/fifo-b" && mkfifo -m 600 "$LOC/backups/fifo-b/backup.json"
t_run timeout -k 5 60 "$KAHU" backup describe fifo-b
rc=$?; [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]
t_result $? "a FIFO planted as a manifest on the location is refused, not read (exit $rc)"
rm -rf "$LOC/backups/fifo-b"
printf 'first passphrase\n' >"$T_DIR/p1"; printf 'second passphrase\n' >"$T_DIR/p2"; printf 'wrong\n' >"$T_DIR/p3"
chmod 600 "$T_DIR/p1" "$T_DIR/p2" "$T_DIR/p3"
t_ok "key add-passphrase (1)" "$KAHU" key add-passphrase --passphrase-file "$T_DIR/p1"
t_ok "key add-passphrase (2)" "$KAHU" key add-passphrase --passphrase-file "$T_DIR/p2"
W2=$(ls "$LOC"/keys/*-2.json)
cp -p "$W2" "$T_DIR/w2.orig"
t_ok "the second passphrase opens the key" "$KAHU" key id --passphrase-file "$T_DIR/p2"
head -c 100 "$T_DIR/w2.orig" >"$W2"
t_exit 65 "its wrapped key truncated: reported as damaged (exit 65)" "$KAHU" key id --passphrase-file "$T_DIR/p2"
t_grep "... naming the file and what is wrong" "keys/[0-9a-f]{32}-2\.json: wrapped key is damaged: not valid JSON" "$T_ERR"
t_nogrep "... not as a wrong passphrase" "wrong passphrase" "$T_ERR"
"$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
w = d["wrapped"]
d["wrapped"] = ("B" if w[0] == "A" else "A") + w[1:]
open(sys.argv[2], "w").write(json.dumps(d, indent=2))' "$T_DIR/w2.orig" "$W2"
t_exit 65 "one character of its ciphertext changed: damaged too" "$KAHU" key id --passphrase-file "$T_DIR/p2"
t_grep "... its checksum does not match" "-2\.json: wrapped key is damaged: its contents do not match its checksum" "$T_ERR"
t_ok "... the other passphrase still opens the key" "$KAHU" key id --passphrase-file "$T_DIR/p1"
cp -p "$T_DIR/w2.orig" "$W2"
t_exit 77 "a wrong passphrase on intact files is still a wrong passphrase (exit 77)" "$KAHU" key id --passphrase-file "$T_DIR/p3"
t_grep "... said so" "wrong passphrase" "$T_ERR"

t_done

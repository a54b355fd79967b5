#!/usr/bin/env bash
# Several locations of several providers in one configuration, made with `kahu location
# add` and used side by side: a local directory (fs), an S3 bucket (s3rver behind the
# verifying proxy, tests/s3/) and an SSH host (OpenSSH's sshd, tests/sftp/).  Each is
# probed, backed up to and verified; `backup list --all-locations` sees all of them in
# one run; a backup on each is restored into another cluster.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"
. "$top_srcdir/tests/s3/s3.sh"
. "$top_srcdir/tests/sftp/sshd.sh"

s3_available
case $? in
1) t_skip "several providers at once" "$S3_MISSING"; t_done; exit 0 ;;
2) t_result 1 "s3rver and the AWS SDK are installed: $S3_MISSING"; t_done; exit 1 ;;
esac
if ! sshd_start; then
	t_skip "several providers at once" "no usable OpenSSH sshd (install openssh-server)"
	t_done
	exit 0
fi
s3_start || { t_result 1 "s3rver and the verifying proxy start"; t_done; exit 1; }
cluster_start main --seed "$top_srcdir/examples/demo-apps.yaml" ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }

# ---- the locations, through the command line only ----
t_ok "location add local (fs), the default" \
	"$KAHU" location add local --provider fs --set "path=$T_DIR/local" --default
t_ok "location add bucket (s3)" \
	"$KAHU" location add bucket --provider s3 \
	--set "bucket=kahu,endpoint=$S3_ENDPOINT,region=eu-west-3" --prefix clusters/main
t_ok "location add ssh (sftp)" \
	"$KAHU" location add ssh --provider sftp \
	--set "host=127.0.0.1,port=$SSHD_PORT,path=$T_DIR/remote,identity-file=$SSHD_KEY,known-hosts=$SSHD_KNOWN_HOSTS"
CFG=$XDG_CONFIG_HOME/kahu/config.json
[ "$(stat -c %a "$CFG")" = 600 ]; t_result $? "... the configuration file is 0600"
t_ok "location list" "$KAHU" location list
for l in "local +fs" "bucket +s3" "ssh +sftp"; do
	t_grep "... shows ${l%% *}" "^\\*? *${l}" "$T_OUT"
done
t_ok "provider list" "$KAHU" provider list
for p in fs s3 sftp; do t_grep "... names $p" "^$p " "$T_OUT"; done
for l in local bucket ssh; do
	t_ok "location probe $l" "$KAHU" location probe "$l"
done

# ---- a backup on each, in one session ----
for l in local bucket ssh; do
	t_ok "backup create on $l" kahu_k backup create "b-$l" --location "$l" --include-namespaces shop
	t_grep "... completes" "Backup b-$l completed" "$T_OUT"
done
t_ok "backup list --all-locations" "$KAHU" backup list --all-locations -o json
t_py "... lists each backup on its own location" '
seen = {}
for b in (d if isinstance(d, list) else d.get("items", d.get("backups", []))):
    seen[b["name"]] = b.get("location")
assert seen.get("b-local") == "local" and seen.get("b-bucket") == "bucket" and seen.get("b-ssh") == "ssh", seen
' "$T_OUT"
for l in local bucket ssh; do
	t_ok "backup verify b-$l --location $l" "$KAHU" backup verify "b-$l" --location "$l"
	t_grep "... intact" "is intact" "$T_OUT"
	t_exit 66 "... and b-$l is not found on another location (66)" \
		"$KAHU" backup describe "b-$l" --location "$( [ $l = ssh ] && echo bucket || echo ssh)"
done

# the objects, each read by a client that is not kahu's
t_ok "the AWS SDK sees the s3 backup" s3_client kahu list clusters/main/
t_grep "... its manifest" "^clusters/main/backups/b-bucket/backup.json [0-9]+$" "$T_OUT"
sshd_sftp "ls $T_DIR/remote/backups/b-ssh" >"$T_OUT" 2>&1
t_result $? "the OpenSSH sftp client sees the sftp backup"
t_grep "... its manifest" "backup.json" "$T_OUT"
[ -f "$T_DIR/local/backups/b-local/backup.json" ]; t_result $? "the fs backup is in the directory"

# ---- restores from each, into another cluster ----
for l in local bucket ssh; do
	cluster_start "dst-$l" || { t_result 1 "cluster dst-$l starts"; continue; }
	t_ok "restore b-$l from $l into another cluster" \
		"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" restore create "r-$l" --from-backup "b-$l" --location "$l"
	t_grep "... completed" "^Restore r-$l from backup b-$l: Completed\\. [1-9][0-9]* created" "$T_OUT"
	curl -sS --fail --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" \
		"$CLUSTER_URL/api/v1/namespaces/shop" >"$T_OUT" 2>"$T_ERR"
	t_result $? "... the namespace shop exists there"
done

# ---- removing a location leaves its backups ----
t_ok "location remove ssh" "$KAHU" location remove ssh
t_grep "... says its backups stay" "its backups were not deleted" "$T_OUT"
[ -f "$T_DIR/remote/backups/b-ssh/backup.json" ]; t_result $? "... and they are still on the host"
t_ok "backup list --all-locations without it" "$KAHU" backup list --all-locations
t_nogrep "... no longer lists b-ssh" "b-ssh" "$T_OUT"
t_done

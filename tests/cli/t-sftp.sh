#!/usr/bin/env bash
# The sftp provider against OpenSSH's sshd on 127.0.0.1 (tests/sftp/sshd.sh): a location
# of provider sftp in the configuration file; backup, list, describe, verify, download,
# restore into another cluster, delete and prune through it; what kahu wrote read back
# with the real sftp client (and verified from that copy); refusals: a key the server
# does not accept, an unknown host key and a changed one (with the fingerprint ssh
# shows), a key file or passphrase file readable by others, an unreachable server; a
# killed run leaves only temporary names, removed by the next prune; Ctrl-C while the
# server does not answer; permission denied and a full disk on the server (injected
# by the harness's SFTP fault proxy); a key with a passphrase read from a private
# file, never shown; ssh-agent; a known_hosts file with hashed names.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"
. "$top_srcdir/tests/sftp/sshd.sh"

if ! sshd_start; then
	t_skip "sftp provider" "no usable OpenSSH sshd (install openssh-server)"
	t_done
	exit 0
fi
cluster_start main --seed "$top_srcdir/examples/demo-apps.yaml" ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
cluster_start dst || { t_result 1 "second test cluster starts"; t_done; exit 1; }
KCD=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }
kahu_d() { "$KAHU" --kubeconfig "$KCD" "$@"; }

# Other keys: one the server does not know, one with a passphrase (authorized too), and
# a host key the server does not have.
ssh-keygen -q -t ed25519 -N '' -f "$T_DIR/stranger"
PASSPHRASE='correct horse battery staple 7f3a'
ssh-keygen -q -t ed25519 -N "$PASSPHRASE" -f "$T_DIR/locked"
cat "$T_DIR/locked.pub" >>"$SSHD_DIR/authorized_keys"
printf '%s\n' "$PASSPHRASE" >"$T_DIR/pass" && chmod 600 "$T_DIR/pass"
printf 'not the passphrase\n' >"$T_DIR/badpass" && chmod 600 "$T_DIR/badpass"
ssh-keygen -q -t ed25519 -N '' -f "$T_DIR/otherhost"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$T_DIR/otherhost.pub")" >"$T_DIR/kh-changed"
printf '[127.0.0.1]:1 %s\n' "$(cut -d' ' -f1,2 "$SSHD_HOSTKEY.pub")" >"$T_DIR/kh-unknown"
FP=$(ssh-keygen -lf "$SSHD_HOSTKEY.pub" | awk '{print $2}')
DOWN_PORT=$(sshd_free_port)

REMOTE=$T_DIR/remote   # the location's directory on the server (this machine)
mkdir -p "$XDG_CONFIG_HOME/kahu"
loc() { # NAME PORT IDENTITY-FILE KNOWN-HOSTS [extra JSON members of "config"]
	printf '"%s": { "provider": "sftp", "config": { "host": "127.0.0.1", "port": %s, "path": "%s", "identity-file": "%s", "known-hosts": "%s"%s } }' \
		"$1" "$2" "$REMOTE" "$3" "$4" "${5:-}"
}
P=$SSHD_PORT K=$SSHD_KEY KH=$SSHD_KNOWN_HOSTS
cat >"$XDG_CONFIG_HOME/kahu/config.json" <<EOF
{ "version": 1, "defaultLocation": "remote",
  "locations": {
    $(loc remote "$P" "$K" "$KH"),
    $(loc wrongkey "$P" "$T_DIR/stranger" "$KH"),
    $(loc unknown "$P" "$K" "$T_DIR/kh-unknown"),
    $(loc nofile "$P" "$K" "$T_DIR/no-such-known-hosts"),
    $(loc changed "$P" "$K" "$T_DIR/kh-changed"),
    $(loc down "$DOWN_PORT" "$K" "$KH"),
    $(loc locked "$P" "$T_DIR/locked" "$KH" ", \"passphrase-file\": \"$T_DIR/pass\""),
    $(loc badpass "$P" "$T_DIR/locked" "$KH" ", \"passphrase-file\": \"$T_DIR/badpass\""),
    $(loc nopass "$P" "$T_DIR/locked" "$KH"),
    $(loc hashed "$P" "$K" "$T_DIR/kh-hashed"),
    "agent": { "provider": "sftp", "config": { "host": "127.0.0.1", "port": $P, "path": "$REMOTE",
               "use-agent": true, "known-hosts": "$KH" } },
    "copy": { "provider": "fs", "config": { "path": "$T_DIR/copy" } } } }
EOF
chmod 600 "$XDG_CONFIG_HOME/kahu/config.json"

# ---- round trip ----
t_ok "backup create b1 on the sftp location" kahu_k backup create b1 --include-namespaces shop
t_grep "... completed" "^Backup b1 completed: [1-9][0-9]* items" "$T_OUT"
t_ok "backup list" "$KAHU" backup list
t_grep "... shows b1 Completed" "^b1 +Completed" "$T_OUT"
t_ok "backup describe b1" "$KAHU" backup describe b1
t_grep "... names it" "b1" "$T_OUT"
t_ok "backup verify b1" "$KAHU" backup verify b1
t_ok "backup download b1 --extract" "$KAHU" backup download b1 --extract "$T_DIR/x"
[ -n "$(find "$T_DIR/x" -type f -path '*shop*' | head -n 1)" ]; t_result $? "... the namespace shop's objects are in it"
t_ok "restore b1 into another cluster" kahu_d restore create r1 --from-backup b1
t_grep "... completed" "^Restore r1 from backup b1: Completed\. [1-9][0-9]* created" "$T_OUT"
curl -sS --fail --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" \
	"$CLUSTER_URL/api/v1/namespaces/shop" >"$T_OUT" 2>"$T_ERR"
t_result $? "... the namespace shop exists there"
t_ok "restore list shows r1" "$KAHU" restore list
t_grep "... as r1" "^r1 " "$T_OUT"

# ---- what is on the server, read with the real sftp client ----
sshd_sftp "ls -la $REMOTE/backups/b1" >"$T_DIR/ls" 2>&1
t_result $? "sftp (the OpenSSH client) lists backups/b1"
cp "$T_DIR/ls" "$T_OUT"
t_grep "... the manifest is there, mode 0600" "^-rw------- .* $REMOTE/backups/b1/backup\.json$" "$T_DIR/ls"
t_grep "... the archive too" " $REMOTE/backups/b1/metadata\.tar\.zst\.kenc$" "$T_DIR/ls"
t_nogrep "... and no temporary name" "\.tmp\." "$T_DIR/ls"
mkdir -p "$T_DIR/copy"
sshd_sftp "lcd $T_DIR/copy
get -r $REMOTE/backups
get -r $REMOTE/keys" >/dev/null 2>&1
[ -s "$T_DIR/copy/backups/b1/backup.json" ]; t_result $? "sftp get -r copies the location"
t_ok "... and that copy verifies (fs location)" "$KAHU" backup verify b1 --location copy

# ---- delete and prune ----
t_ok "backup create b2 --ttl 1s" kahu_k backup create b2 --include-namespaces shop --ttl 1s
sleep 2
t_ok "backup prune" "$KAHU" backup prune
t_grep "... removes the expired b2" "removed b2" "$T_OUT"
[ ! -e "$REMOTE/backups/b2/backup.json" ]; t_result $? "... its manifest is gone from the server"
t_ok "backup delete b1 --yes" "$KAHU" backup delete b1 --yes
"$KAHU" backup list -o name >"$T_OUT" 2>"$T_ERR"
[ ! -s "$T_OUT" ]; t_result $? "... backup list is empty"
[ -z "$(find "$REMOTE/backups" -type f 2>/dev/null)" ]; t_result $? "... no file left under backups/"

# ---- the provider's operations, driven directly (tests/sftp/sftpdrv) ----
MOD=$top_builddir/backends/sftp/.libs/kahu-sftp.so
drv() { "$top_builddir/tests/sftp/sftpdrv" "$MOD" host=127.0.0.1 port="$SSHD_PORT" path="$T_DIR/direct" \
	identity-file="$SSHD_KEY" known-hosts="$SSHD_KNOWN_HOSTS" -- "$@"; }
KEY='d/it'"'"'s "quoted" & spaced.txt'
printf '0123456789' >"$T_DIR/ten"
printf 'other' >"$T_DIR/other"
t_ok "put of a key with spaces and quotes" drv put "$KEY" <"$T_DIR/ten"
t_ok "... get gives the bytes back" drv get "$KEY"
cmp -s "$T_OUT" "$T_DIR/ten"; t_result $? "... all of them"
t_ok "... a range" drv get "$KEY" 3 4
[ "$(cat "$T_OUT")" = 3456 ]; t_result $? "... gives bytes 3 to 6"
t_ok "... a range past the end" drv get "$KEY" 20 5
[ ! -s "$T_OUT" ]; t_result $? "... gives nothing, and no error"
t_ok "... stat" drv stat "$KEY"
t_grep "... says 10 bytes" "^10 [1-9][0-9]+$" "$T_OUT"
t_exit 6 "an exclusive put on an existing key: EEXISTS" drv put "$KEY" excl <"$T_DIR/other"
t_grep "... saying so" "already exists" "$T_ERR"
drv get "$KEY" >"$T_OUT" 2>/dev/null; cmp -s "$T_OUT" "$T_DIR/ten"; t_result $? "... the object is unchanged"
t_ok "a plain put replaces it" drv put "$KEY" <"$T_DIR/other"
drv get "$KEY" >"$T_OUT" 2>/dev/null; [ "$(cat "$T_OUT")" = other ]; t_result $? "... with the new bytes"
for k in a/b a.txt a-c; do printf x | drv put "$k" 2>/dev/null; done
t_ok "list" drv list ""
printf '%s\n' "a-c 1" "a.txt 1" "a/b 1" "$KEY 5" >"$T_DIR/want"
cmp -s "$T_OUT" "$T_DIR/want"
t_result $? "... every key, in byte-wise order (a-c a.txt a/b d/…)"
t_ok "list with a prefix" drv list "a/"
[ "$(cat "$T_OUT")" = "a/b 1" ]; t_result $? "... only the keys under it"
t_exit 1 "rm of a missing key: ENOTFOUND" drv rm nosuch/key
t_ok "rm" drv rm a/b
t_exit 1 "... then get: ENOTFOUND" drv get a/b
sshd_sftp "put $T_DIR/ten $T_DIR/direct/d/.left.tmp.0123" >/dev/null 2>&1
t_ok "a leftover temporary file is not listed" drv list ""
t_nogrep "... (none)" "tmp" "$T_OUT"
t_ok "cleanup" drv cleanup ""
t_grep "... removes it" "^removed 1$" "$T_OUT"
[ ! -e "$T_DIR/direct/d/.left.tmp.0123" ]; t_result $? "... from the server"
t_ok "probe" drv probe
[ -z "$(find "$T_DIR/direct" -name '.probe*')" ]; t_result $? "... leaves nothing behind"
t_exit 7 "an unknown configuration key: ECONFIG" "$top_builddir/tests/sftp/sftpdrv" "$MOD" host=127.0.0.1 path=/x nosuch=1 -- probe
"$top_builddir/tests/sftp/sftpdrv" "$MOD" host=127.0.0.1 path=relative -- probe >"$T_OUT" 2>"$T_ERR"
[ $? -eq 7 ]; t_result $? "a relative path: ECONFIG"
t_grep "... saying so" "path \"relative\" is not absolute" "$T_ERR"

# ---- refusals ----
t_exit 77 "a key the server does not accept: 77" "$KAHU" backup list --location wrongkey
t_grep "... authentication refused, naming user, host and key file" \
	"authentication refused for $SSHD_USER@127\.0\.0\.1 port $SSHD_PORT with the key $T_DIR/stranger" "$T_ERR"

t_exit 77 "an unknown host key: 77" "$KAHU" backup list --location unknown
t_grep "... with its fingerprint as ssh shows it" "host key of \[127\.0\.0\.1\]:$SSHD_PORT is not known: .*ED25519 key ${FP//+/\\+}" "$T_ERR"
t_grep "... and how to add it" "ssh-keyscan -p $SSHD_PORT -t ed25519 127\.0\.0\.1 >> $T_DIR/kh-unknown" "$T_ERR"
t_exit 77 "no known_hosts file at all: 77" "$KAHU" backup list --location nofile
t_grep "... saying the file does not exist" "no-such-known-hosts \(which does not exist\)" "$T_ERR"

t_exit 77 "a changed host key: 77" "$KAHU" backup list --location changed
t_grep "... says CHANGED, with the new fingerprint" "host key of \[127\.0\.0\.1\]:$SSHD_PORT has CHANGED: .*ED25519 key ${FP//+/\\+}" "$T_ERR"
t_grep "... and how to replace the old key" "ssh-keygen -R '\[127\.0\.0\.1\]:$SSHD_PORT' -f $T_DIR/kh-changed" "$T_ERR"
t_exit 77 "... a write is refused the same way" kahu_k backup create nope --include-namespaces shop --location changed
[ ! -e "$REMOTE/backups/nope" ]; t_result $? "... and writes nothing"

t_exit 75 "an unreachable server: 75 after the retries" "$KAHU" backup list --location down
t_grep "... cannot connect, naming host and port" "cannot connect to 127\.0\.0\.1 port $DOWN_PORT" "$T_ERR"

cp "$SSHD_KNOWN_HOSTS" "$T_DIR/kh-hashed" && ssh-keygen -q -H -f "$T_DIR/kh-hashed" >/dev/null 2>&1
rm -f "$T_DIR/kh-hashed.old"
t_grep "(a known_hosts file with hashed host names)" "^\|1\|" "$T_DIR/kh-hashed"
t_ok "a host key found under a hashed name is accepted" "$KAHU" backup list --location hashed

# ---- a key with a passphrase, read from a private file ----
t_ok "a key with a passphrase from passphrase-file" "$KAHU" -vvv backup list --location locked
cat "$T_OUT" "$T_ERR" >"$T_DIR/all"
t_nogrep "... the passphrase is shown nowhere" "$PASSPHRASE" "$T_DIR/all"
t_exit 77 "the wrong passphrase: 77" "$KAHU" -vvv backup list --location badpass
t_grep "... auth refused, saying the passphrase may be wrong" "passphrase is wrong or missing" "$T_ERR"
cat "$T_OUT" "$T_ERR" >"$T_DIR/all"
t_nogrep "... and shows neither passphrase" "not the passphrase|$PASSPHRASE" "$T_DIR/all"
t_exit 77 "no passphrase for a key that has one: 77" "$KAHU" backup list --location nopass
chmod 644 "$T_DIR/pass"
t_exit 77 "a passphrase-file readable by others is refused: 77" "$KAHU" backup list --location locked
t_grep "... saying why" "permissions 0644 for passphrase-file '$T_DIR/pass' are too open" "$T_ERR"
chmod 600 "$T_DIR/pass"
chmod 644 "$T_DIR/locked"
t_exit 77 "an identity-file readable by others is refused: 77" "$KAHU" backup list --location locked
t_grep "... saying why" "permissions 0644 for identity-file '$T_DIR/locked' are too open" "$T_ERR"
if [ "$(stat -c %u "$T_DIR/locked")" = 0 ]; then
	# root's files readable by their group, as a Secret mounted with an fsGroup (0440)
	chmod 440 "$T_DIR/locked" "$T_DIR/pass"
	t_ok "root's identity and passphrase files readable by their group (a Secret's 0440) are taken" \
		"$KAHU" backup list --location locked
	chmod 460 "$T_DIR/locked"
	t_exit 77 "... but not writable by the group: 77" "$KAHU" backup list --location locked
	t_grep "... saying why" "permissions 0460 for identity-file '$T_DIR/locked' are too open.*640 at most" "$T_ERR"
else
	chmod 640 "$T_DIR/locked"
	t_exit 77 "a user's identity-file readable by its group is refused: 77" "$KAHU" backup list --location locked
	t_grep "... saying why" "permissions 0640 for identity-file '$T_DIR/locked' are too open" "$T_ERR"
	t_ok "(not root: the 0440 case is root's)" true
fi
chmod 600 "$T_DIR/locked" "$T_DIR/pass"

# ---- ssh-agent ----
if eval "$(ssh-agent -s -a "$T_DIR/agent.sock")" >/dev/null; then
	T_CLEANUP+=("kill $SSH_AGENT_PID")
	ssh-add -q "$T_DIR/stranger" 2>/dev/null
	t_exit 77 "use-agent, the agent holding a key the server does not accept: 77" \
		"$KAHU" backup list --location agent
	t_grep "... authentication refused with the keys of ssh-agent" \
		"authentication refused for $SSHD_USER@127\.0\.0\.1 port $SSHD_PORT with the keys of ssh-agent" "$T_ERR"
	ssh-add -q "$SSHD_KEY" 2>/dev/null
	t_ok "use-agent with the right key in the agent (no key file)" "$KAHU" backup list --location agent
	kill "$SSH_AGENT_PID"; unset SSH_AUTH_SOCK SSH_AGENT_PID
else
	t_skip "ssh-agent" "ssh-agent does not start"
fi

# ---- a killed run leaves no visible partial object ----
echo "hang-rename metadata.tar" >"$SSHD_DIR/fault"
"$KAHU" --kubeconfig "$KC" backup create k1 --include-namespaces shop >"$T_DIR/k1.out" 2>"$T_DIR/k1.err" &
pid=$!
T_CLEANUP+=("kill -KILL $pid")
# the server holds the rename of the uploaded archive: kahu is mid-commit
timeout 60 bash -c "until [ -e '$SSHD_DIR/hung' ] || ! kill -0 $pid 2>/dev/null; do sleep 0.05; done"
[ -e "$SSHD_DIR/hung" ]; t_result $? "a backup stopped by the server at its archive's rename"
# CPU time (user + system, in clock ticks) kahu has used so far
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }
c0=$(cpu_of $pid); sleep 2; c1=$(cpu_of $pid)
echo "cpu ticks while waiting: $((c1 - c0))" >"$T_OUT"
[ $((c1 - c0)) -lt 20 ]; t_result $? "... waiting for the server's answer costs no CPU"
kill -KILL $pid; wait $pid 2>/dev/null
rm -f "$SSHD_DIR/fault" "$SSHD_DIR/hung"
find "$REMOTE/backups" -name '.*.tmp.*' >"$T_DIR/temps"
[ -s "$T_DIR/temps" ]; t_result $? "... killed: its upload is on the server under a temporary name"
[ ! -e "$REMOTE/backups/k1/metadata.tar.zst.kenc" ] && [ ! -e "$REMOTE/backups/k1/backup.json" ]
t_result $? "... and not under its name"
t_ok "backup list does not show k1 as a backup" "$KAHU" backup list -o name
t_nogrep "... (no k1)" "^backup/k1$" "$T_OUT"
t_ok "the next prune" "$KAHU" backup prune
[ -z "$(find "$REMOTE" -name '.*.tmp.*')" ]; t_result $? "... removes the temporary file"

# ---- Ctrl-C while the server does not answer ----
echo "hang-rename metadata.tar" >"$SSHD_DIR/fault"
"$KAHU" --kubeconfig "$KC" backup create c1 --include-namespaces shop >"$T_DIR/c1.out" 2>"$T_DIR/c1.err" &
pid=$!
T_CLEANUP+=("kill -KILL $pid")
timeout 60 bash -c "until [ -e '$SSHD_DIR/hung' ] || ! kill -0 $pid 2>/dev/null; do sleep 0.05; done"
kill -INT $pid
# a regression (a provider that never looks at the interrupt) must fail, not hang
timeout 120 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.05; done" || kill -KILL $pid
wait $pid; rc=$?
rm -f "$SSHD_DIR/fault" "$SSHD_DIR/hung"
echo "exit $rc" >"$T_OUT"; cp "$T_DIR/c1.err" "$T_ERR"
[ $rc -eq 130 ]; t_result $? "Ctrl-C while the server holds a rename: 130"
t_grep "... saying it was interrupted" "interrupted" "$T_DIR/c1.err"
[ -z "$(find "$REMOTE" -name '.*.tmp.*')" ]; t_result $? "... and the tidy-up removed the temporary upload"
[ ! -e "$REMOTE/backups/c1/backup.json" ]; t_result $? "... and no manifest was written"

# ---- permission denied by the server ----
echo deny-write >"$SSHD_DIR/fault"
t_exit 77 "the server denies writing: 77" kahu_k backup create denied --include-namespaces shop
t_grep "... permission denied, naming the object" "writing locks/.* on 127\.0\.0\.1: permission denied" "$T_ERR"
rm -f "$SSHD_DIR/fault"

# ---- a full disk on the server ----
echo disk-full >"$SSHD_DIR/fault"
t_exit 74 "a full disk on the server: 74" kahu_k backup create full --include-namespaces shop
t_grep "... no space left, naming the server" "no space left on the server" "$T_ERR"
rm -f "$SSHD_DIR/fault"
[ -z "$(find "$REMOTE" -name '.*.tmp.*')" ]; t_result $? "... and no temporary file stays"
[ ! -e "$REMOTE/backups/full/backup.json" ]; t_result $? "... nor a manifest"

sshd_stop
t_done

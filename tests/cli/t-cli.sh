#!/usr/bin/env bash
# The command line itself: help, version, errors, exit statuses, write errors.
. "$(dirname "$0")/lib.sh"

t_ok "kahu --help" "$KAHU" --help
t_grep "help lists the commands" '^  cluster ' "$T_OUT"
t_ok "kahu help cluster check" "$KAHU" help cluster check
t_grep "help shows the usage line" '^Usage: kahu cluster check' "$T_OUT"
t_ok "kahu cluster check --help" "$KAHU" cluster check --help
t_grep "command help lists global flags" '--kubeconfig FILE' "$T_OUT"
t_ok "kahu cluster (a noun alone) shows its commands" "$KAHU" cluster
t_grep "noun help lists verbs" '^  check ' "$T_OUT"
t_exit 64 "kahu help nosuch fails with usage status" "$KAHU" help nosuch

t_ok "kahu version" "$KAHU" version
t_grep "version names kahu and the libraries" '^kahu [0-9]+\.[0-9]+\.[0-9]+ \(commit ' "$T_OUT"
t_grep "version lists libsodium" 'libsodium' "$T_OUT"
t_ok "kahu version -o json" "$KAHU" version -o json
t_py "version json parses and has fields" '
assert d["version"] and d["gitCommit"] and "libcurl" in d["libraries"] and "zstd" in d["libraries"]' "$T_OUT"
head=$(cd "$top_srcdir" && git rev-parse --short=12 HEAD 2>/dev/null) || head=
if [ -n "$head" ]; then
	"$KAHU" version -o json >"$T_DIR/version.json"
	t_py "... gitCommit is the commit checked out now (looked up at build time, not configure time)" "
assert d['gitCommit'] == '$head', (d['gitCommit'], '$head')" "$T_DIR/version.json"
else
	t_skip "... gitCommit is the commit checked out now" "not a git checkout"
fi
t_ok "kahu version -o yaml" "$KAHU" version -o yaml
t_grep "yaml output" '^version: ' "$T_OUT"
t_exit 64 "kahu version -o name is refused" "$KAHU" version -o name
t_grep "says which formats it supports" 'supports: table json yaml' "$T_ERR"

t_exit 64 "unknown command" "$KAHU" clustr check
t_grep "suggests the command" 'did you mean cluster\?' "$T_ERR"
t_exit 64 "unknown verb" "$KAHU" cluster chek
t_grep "suggests the verb" 'did you mean cluster check\?' "$T_ERR"
t_exit 64 "unknown flag" "$KAHU" cluster check --kubeconfg x
t_grep "suggests the flag" 'did you mean --kubeconfig\?' "$T_ERR"
t_exit 64 "flag without its value" "$KAHU" cluster check --context
t_grep "says the flag needs a value" 'needs a value' "$T_ERR"
t_exit 64 "extra argument" "$KAHU" version extra
t_exit 64 "bad number" "$KAHU" cluster check --max-requests 0 --kubeconfig /nonexistent
t_grep "says the range" 'from 1 to 256' "$T_ERR"
t_exit 64 "bad log format" "$KAHU" version --log-format xml

# A write error on standard output fails the command.
if [ -w /dev/full ]; then
	"$KAHU" version -o json >/dev/full 2>"$T_ERR"
	rc=$?
	echo "$rc" >"$T_OUT"
	[ "$rc" -eq 74 ]
	t_result $? "kahu version >/dev/full exits 74"
	t_grep "and says why" 'write error on standard output: No space left on device' "$T_ERR"
else
	t_skip "write error on stdout" "/dev/full is not available"
fi
# EPIPE: the reader went away.
( "$KAHU" help; echo $? >"$T_DIR/rc" ) 2>"$T_ERR" | true
rc=$(cat "$T_DIR/rc")
echo "$rc" >"$T_OUT"
[ "$rc" -eq 74 ] || [ "$rc" -eq 0 ]
t_result $? "a closed pipe does not crash kahu (exit $rc)"

# A command's parse stage runs before the dispatcher opens what the command needs
# (CMD_REPO, CMD_WRITE, CMD_LOCK, CMD_CLUSTER): a bad command line is a usage error
# (64) even where the location or the cluster could not be opened at all.
printf '{ not json' >"$T_DIR/bad-config.json"
bad=(--config "$T_DIR/bad-config.json")
t_exit 78 "a malformed configuration fails when the location is opened" "$KAHU" backup list "${bad[@]}"
t_exit 64 "backup list: a bad --selector first" "$KAHU" backup list -l 'a in (' "${bad[@]}"
t_exit 64 "backup delete: nothing named first" "$KAHU" backup delete "${bad[@]}"
t_exit 64 "backup prune: a bad --keep-last first" "$KAHU" backup prune --keep-last x "${bad[@]}"
t_grep "... says which flag" '--keep-last must be a whole number' "$T_ERR"
t_exit 64 "backup prune: a bad --lock-wait first" "$KAHU" backup prune --lock-wait soon "${bad[@]}"
t_exit 64 "backup download: -o with --extract first" "$KAHU" backup download b -o x.tar --extract x "${bad[@]}"
t_exit 64 "restore describe: a bad --outcome first" "$KAHU" restore describe r --outcome gone "${bad[@]}"
t_exit 64 "restore logs: a bad name first" "$KAHU" restore logs 'a/b' "${bad[@]}"
t_exit 64 "key add-passphrase: no --passphrase-file first" "$KAHU" key add-passphrase "${bad[@]}"
t_exit 66 "a missing kubeconfig fails when the cluster is opened" "$KAHU" backup create b --kubeconfig "$T_DIR/none"
t_exit 64 "backup create: a bad --parallel first" "$KAHU" backup create b --parallel 0 --kubeconfig "$T_DIR/none"
t_grep "... says which flag" '--parallel must be a whole number' "$T_ERR"

t_ok "completion bash" "$KAHU" completion bash
t_exit 64 "completion for an unknown shell" "$KAHU" completion tcsh
t_grep "names the shells" 'bash, zsh or fish' "$T_ERR"

t_done

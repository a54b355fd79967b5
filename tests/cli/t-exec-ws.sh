#!/usr/bin/env bash
# The pods/exec client (src/kube/exec.c, src/kube/ws.c) through the hidden `kahu __exec`
# against a WebSocket server written independently in Python (ws_exec_server.py): the
# request kahu writes, stdout, stderr and exit codes, stdin with v5's half-close and
# without it (v4), fragmented messages with pings between the fragments, large
# streams both ways, the refused upgrades, and broken streams.
. "$(dirname "$0")/lib.sh"

TOKEN=tok-$$-secret
LOG=$T_DIR/requests.jsonl
PASSWORD=pw-$$-secret
python3 "$top_srcdir/tests/cli/ws_exec_server.py" --log "$LOG" --token "$TOKEN" --basic "alice:$PASSWORD" >"$T_DIR/server.out" 2>"$T_DIR/server.err" &
SRV=$!
trap 'kill $SRV 2>/dev/null; t_cleanup' EXIT
for _ in $(seq 1 200); do grep -q READY "$T_DIR/server.out" 2>/dev/null && break; sleep 0.05; done
URL=$(awk '/READY/ {print $2}' "$T_DIR/server.out")
cat >"$T_DIR/kubeconfig" <<EOK
apiVersion: v1
kind: Config
clusters:
- name: ws
  cluster: {server: "$URL"}
users:
- name: u
  user: {token: "$TOKEN"}
- name: b
  user: {username: alice, password: "$PASSWORD"}
contexts:
- name: ws
  context: {cluster: ws, user: u}
- name: basic
  context: {cluster: ws, user: b}
current-context: ws
EOK
chmod 600 "$T_DIR/kubeconfig"
export KUBECONFIG=$T_DIR/kubeconfig
last_request() { tail -n 1 "$LOG" >"$T_DIR/req.json"; }

t_exit 3 "stdout, stderr and a non-zero exit code" \
	"$KAHU" __exec ns1 app -- sh -c 'printf "out put"; printf "err put" >&2; exit 3'
t_grep "stdout is the command's" '^out put$' "$T_OUT"
t_grep "stderr is the command's" 'err put' "$T_ERR"
last_request
t_py "the request: path, one command= per argument in order, the channels, both subprotocols, the token" '
assert d["method"] == "GET", d
assert d["path"] == "/api/v1/namespaces/ns1/pods/app/exec", d["path"]
q = d["query"]
assert q["command"] == ["sh", "-c", "printf \"out put\"; printf \"err put\" >&2; exit 3"], q
assert q["stdout"] == ["true"] and q["stderr"] == ["true"] and "stdin" not in q and "container" not in q, q
h = d["headers"]
assert h["sec-websocket-protocol"] == "v5.channel.k8s.io, v4.channel.k8s.io", h
assert h["upgrade"].lower() == "websocket" and "upgrade" in h["connection"].lower(), h
assert h["sec-websocket-version"] == "13" and len(h["sec-websocket-key"]) == 24, h
assert h["authorization"].startswith("Bearer "), h
' "$T_DIR/req.json"
t_nogrep "the token is in no message" "$TOKEN" "$T_ERR"

t_ok "arguments with spaces, &, =, +, %, UTF-8 and an empty one reach the command unchanged" \
	"$KAHU" __exec --container c-1 ns1 app -- printf '%s|' 'a b' 'x&y=z' '1+1' '50%' 'ü' ''
printf '%s|' 'a b' 'x&y=z' '1+1' '50%' 'ü' '' >"$T_DIR/want"
cp "$T_OUT" "$T_DIR/got"
t_ok "... byte for byte" cmp "$T_DIR/got" "$T_DIR/want"
last_request
t_py "... each one command= parameter, percent-encoded; the container" '
assert d["query"]["command"] == ["printf", "%s|", "a b", "x&y=z", "1+1", "50%", "ü", ""], d["query"]
assert d["query"]["container"] == ["c-1"], d
assert "+" not in d["rawquery"] and " " not in d["rawquery"], d["rawquery"]
' "$T_DIR/req.json"

head -c $((24 * 1024 * 1024 + 7)) /dev/urandom >"$T_DIR/data"
want=$(sha256sum <"$T_DIR/data" | cut -d" " -f1)
t_ok "24 MiB of stdout" sh -c '"$0" __exec ns1 app -- cat "$1" | sha256sum >"$2"' "$KAHU" "$T_DIR/data" "$T_DIR/sum"
t_grep "... arrives intact" "^$want " "$T_DIR/sum"
t_ok "24 MiB of stdin, closed with v5's half-close" \
	sh -c '"$0" __exec --stdin ns1 app -- sha256sum <"$1" >"$2"' "$KAHU" "$T_DIR/data" "$T_DIR/sum"
t_grep "... arrives intact" "^$want " "$T_DIR/sum"
last_request
t_py "... with stdin=true" 'assert d["query"]["stdin"] == ["true"], d' "$T_DIR/req.json"
t_ok "24 MiB both ways at once (cat)" \
	sh -c '"$0" __exec -i ns1 app -- cat <"$1" | sha256sum >"$2"' "$KAHU" "$T_DIR/data" "$T_DIR/sum"
t_grep "... arrives intact" "^$want " "$T_DIR/sum"
t_ok "... with --write-all (kube_exec_write: each chunk whole, stdout kept meanwhile)" \
	sh -c '"$0" __exec -i --write-all ns1 app -- cat <"$1" | sha256sum >"$2"' "$KAHU" "$T_DIR/data" "$T_DIR/sum"
t_grep "... arrives intact" "^$want " "$T_DIR/sum"
t_exit 0 "empty stdin, empty stdout" sh -c '"$0" __exec -i ns1 app -- cat </dev/null' "$KAHU"
t_ok "... nothing on stdout" test ! -s "$T_OUT"

t_ok "v4 forced" "$KAHU" __exec --v4 ns1 app -- sh -c 'echo v4 here; exit 0'
t_grep "... its output" '^v4 here$' "$T_OUT"
last_request
t_py "... only v4.channel.k8s.io offered" \
	'assert d["headers"]["sec-websocket-protocol"] == "v4.channel.k8s.io", d' "$T_DIR/req.json"
t_ok "v4 with stdin (no half-close: the command ends by itself)" \
	sh -c '"$0" __exec --v4 -i ns1 app -- head -c 100000 <"$1" >"$2"' "$KAHU" "$T_DIR/data" "$T_DIR/head"
t_ok "... its bytes" cmp "$T_DIR/head" <(head -c 100000 "$T_DIR/data")
t_exit 42 "v4 exit code" "$KAHU" __exec --v4 ns1 app -- sh -c 'exit 42'
# A command that ends before it read its input: the write after its Status fails
# rather than dropping the input in silence, so an endless stdin is not read for ever;
# the exit status and stderr are the command's.  (timeout only guards against a hang.)
t_exit 3 "a command that ends before reading its input: its status, stdin not read to its end" \
	timeout 300 sh -c '"$0" __exec -i ns1 app -- sh -c "head -c 1000 >/dev/null; echo had enough >&2; exit 3" </dev/zero' "$KAHU"
t_grep "... what it said" 'had enough' "$T_ERR"
t_exit 3 "... the same with --write-all (kube_exec_write)" \
	timeout 300 sh -c '"$0" __exec -i --write-all ns1 app -- sh -c "head -c 1000 >/dev/null; exit 3" </dev/zero' "$KAHU"
t_exit 0 "... and v4 (no half-close), exit 0" \
	timeout 300 sh -c '"$0" __exec --v4 -i ns1 app -- head -c 1000 </dev/zero | wc -c' "$KAHU"
t_grep "... its output" '^1000$' "$T_OUT"

t_exit 77 "403 on the upgrade: NOPERM" "$KAHU" __exec ns2 forbidden -- true
t_grep "... names the pods/exec create permission and the namespace" \
	'pods/exec.*create|create.*pods/exec' "$T_ERR"
t_grep "... in namespace ns2" 'namespace ns2' "$T_ERR"
t_exit 66 "404 on the upgrade: NOINPUT" "$KAHU" __exec ns2 missing -- true
t_grep "... names the pod" 'no pod missing in namespace ns2' "$T_ERR"
t_exit 66 "400 container not found: NOINPUT" "$KAHU" __exec -c nope ns2 app -- true
t_grep "... names the container" 'container nope not found' "$T_ERR"
t_exit 80 "401 on the upgrade: AUTH" "$KAHU" __exec ns2 unauth -- true
t_nogrep "... the token is in no message" "$TOKEN" "$T_ERR"

t_exit 74 "a stream cut after 100000 bytes of stdout, before the status: IOERR" \
	sh -c '"$0" __exec ns1 break-100000 -- head -c 1000000 /dev/zero >"$1"' "$KAHU" "$T_DIR/cut"
t_grep "... a broken stream, with the bytes received" 'exec stream broken after [0-9]+ bytes' "$T_ERR"
n=$(grep -oE 'broken after [0-9]+' "$T_ERR" | grep -oE '[0-9]+')
t_result $([ "${n:-x}" = "$(stat -c %s "$T_DIR/cut")" ] && [ "$n" -le 100000 ]; echo $?) \
	"... the count is what reached stdout ($n)"
t_exit 74 "a close frame without a status: IOERR" "$KAHU" __exec ns1 nostatus -- true
t_grep "... a broken stream" 'exec stream broken after 7 bytes' "$T_ERR"
t_exit 65 "a masked frame from the server: DATAERR" "$KAHU" __exec ns1 masked -- true
t_grep "... named" 'masked WebSocket frame from the server' "$T_ERR"
t_exit 1 "a command that cannot start: its status's message" "$KAHU" __exec ns1 app -- /nonexistent/cmd
t_grep "... named" 'the command in pod ns1/app failed: exec: ' "$T_ERR"
t_ok "basic auth (a kubeconfig username and password) on the upgrade" \
	"$KAHU" --context basic __exec ns1 app -- echo basic
t_grep "... the command ran" '^basic$' "$T_OUT"
last_request
t_py "... sent as its Authorization header" '
import base64
assert d["headers"]["authorization"] == "Basic " + base64.b64encode(b"alice:'"$PASSWORD"'").decode(), d
' "$T_DIR/req.json"
t_nogrep "... the password is in no message" "$PASSWORD" "$T_ERR"

t_exit 75 "--request-timeout: a stream silent for that long fails (TEMPFAIL)" \
	"$KAHU" --request-timeout 1 __exec ns1 app -- sleep 30
t_grep "... named" 'exec stream idle: nothing from pod ns1/app for 1000 ms' "$T_ERR"

t_exit 75 "an upgrade never answered, with --request-timeout: TEMPFAIL" \
	"$KAHU" --request-timeout 1 __exec ns1 silent -- true

# Ctrl-C while the command runs: the wait ends at once, exit 130.
"$KAHU" __exec ns1 app -- sh -c 'echo started; exec sleep 60' >"$T_DIR/int.out" 2>"$T_DIR/int.err" &
pid=$!
for _ in $(seq 1 400); do grep -q started "$T_DIR/int.out" && break; sleep 0.05; done
kill -INT $pid
wait $pid
t_result $([ $? -eq 130 ]; echo $?) "SIGINT during a command: INTERRUPTED (130)"
t_grep "... interrupted" 'interrupted' "$T_DIR/int.err"

t_exit 64 "no command: usage" "$KAHU" __exec ns1 app
t_nogrep "__exec is not in the help" '__exec' <("$KAHU" --help)

t_done

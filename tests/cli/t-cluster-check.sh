#!/usr/bin/env bash
# kahu cluster check against the test API server: every way to authenticate, every
# way to fail, and the faults the HTTP client must ride out.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

cluster_start main || { t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG

t_ok "check with the admin token" "$KAHU" --kubeconfig "$KC" cluster check
t_grep "shows the server and its version" "^Server: +https://127\.0\.0\.1:[0-9]+ \(Kubernetes v1\.30" "$T_OUT"
t_grep "shows who we are" "^User: +.*admin" "$T_OUT"
t_grep "reports aggregated discovery" "^Discovery: +aggregated, [0-9]+ groups" "$T_OUT"
t_grep "reports the broken metrics group" "^Unavailable: +metrics\.k8s\.io/v1beta1" "$T_OUT"
t_grep "warns about the broken group on stderr" "discovery of metrics\.k8s\.io/v1beta1 failed" "$T_ERR"
t_grep "every type can be listed" "^Permissions: +([0-9]+) of \1 types can be listed" "$T_OUT"

t_ok "check -o json" "$KAHU" --kubeconfig "$KC" cluster check -o json
t_py "json report has the types and the failed group" '
types = {t["resource"]: t for t in d["types"]}
for r in ("configmaps", "secrets", "deployments.apps", "customresourcedefinitions.apiextensions.k8s.io", "volumesnapshots.snapshot.storage.k8s.io"):
    assert types[r]["list"] == "ok", r
assert "pods/exec" not in types and "deployments.apps/scale" not in types
assert d["discovery"]["failedGroups"][0]["groupVersion"] == "metrics.k8s.io/v1beta1"
assert d["user"]["username"]
assert d["listable"] == len(d["types"])
' "$T_OUT"

t_ok "client certificate (files)" "$KAHU" --kubeconfig "$KC" --context cert cluster check
t_grep "authenticated by certificate" "^User: +kahu-test-admin" "$T_OUT"
t_ok "client certificate (-data)" "$KAHU" --kubeconfig "$KC" --context cert-data cluster check

t_ok "limited user: usable, forbidden types listed" "$KAHU" --kubeconfig "$KC" --context limited cluster check
t_grep "names the forbidden type" "^  secrets +forbidden" "$T_OUT"
t_grep "warns about backups" "cannot be listed" "$T_ERR"

t_exit 80 "wrong token: not authenticated" "$KAHU" --kubeconfig "$KC" --context badtoken cluster check
t_grep "says unauthorized" "[Uu]nauthorized" "$T_ERR"

# Exec credential plugin.
token=$(cat "$CLUSTER_DIR/admin.token")
plugin=$top_srcdir/tests/cli/exec-credential-plugin.sh
server=$CLUSTER_URL
ca_data=$(base64 -w0 "$CLUSTER_CA")
cat >"$T_DIR/exec.kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: exec
clusters:
- name: test
  cluster:
    server: $server
    certificate-authority-data: $ca_data
users:
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $plugin
      interactiveMode: Never
      env:
      - name: KAHU_TEST_EXEC_TOKEN_FILE
        value: $CLUSTER_DIR/admin.token
      - name: KAHU_TEST_EXEC_COUNTER
        value: $T_DIR/exec.count
contexts:
- name: exec
  context:
    cluster: test
    user: exec-user
YAML
chmod 600 "$T_DIR/exec.kubeconfig"
t_ok "exec credential plugin" "$KAHU" --kubeconfig "$T_DIR/exec.kubeconfig" cluster check -vv
t_grep "plugin ran once for the whole run" "^1$" "$T_DIR/exec.count"
t_nogrep "the token never reaches the log" "$token" "$T_ERR"
t_nogrep "nor the output" "$token" "$T_OUT"
KAHU_TEST_EXEC_MODE=fail KAHU_TEST_EXEC_MESSAGE="error: sso session expired" \
	t_fail "failing exec plugin" "$KAHU" --kubeconfig "$T_DIR/exec.kubeconfig" cluster check
t_grep "shows the plugin's message" "sso session expired" "$T_ERR"

# Failures to reach the server.
port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s#$server#https://127.0.0.1:$port#" "$T_DIR/exec.kubeconfig" >"$T_DIR/down.kubeconfig"
t_exit 69 "unreachable server" "$KAHU" --kubeconfig "$T_DIR/down.kubeconfig" cluster check
t_grep "says it cannot reach it" "cannot reach https://127\.0\.0\.1:$port" "$T_ERR"

grep -v certificate-authority-data "$T_DIR/exec.kubeconfig" >"$T_DIR/noca.kubeconfig"
t_exit 76 "server certificate from an unknown CA" "$KAHU" --kubeconfig "$T_DIR/noca.kubeconfig" cluster check
t_grep "says TLS verification failed and what to do" "TLS verification .*failed.*certificate-authority" "$T_ERR"
t_ok "--insecure-skip-tls-verify gets through" "$KAHU" --kubeconfig "$T_DIR/noca.kubeconfig" --insecure-skip-tls-verify cluster check

t_exit 66 "missing kubeconfig file" "$KAHU" --kubeconfig "$T_DIR/nope" cluster check
printf 'apiVersion: v1\nclusters: [\n' >"$T_DIR/broken.kubeconfig"
t_exit 78 "malformed kubeconfig" "$KAHU" --kubeconfig "$T_DIR/broken.kubeconfig" cluster check
t_grep "names file and line" "broken\.kubeconfig:[0-9]+" "$T_ERR"
t_exit 66 "unknown context" "$KAHU" --kubeconfig "$KC" --context nosuch cluster check
t_grep "lists the known contexts" "admin" "$T_ERR"

# Faults: the client retries and the check still succeeds.
cluster_admin POST /_admin/faults '[{"match":{"path_regex":"^/api/v1/configmaps"},"action":"429","retry_after":1,"times":2}]' >/dev/null
t_ok "429 with Retry-After is retried" "$KAHU" --kubeconfig "$KC" cluster check -v
t_grep "retry is visible at -v" "429.*retrying in 1" "$T_ERR"
cluster_admin DELETE /_admin/faults >/dev/null
cluster_admin POST /_admin/faults '[{"match":{"path_regex":"^/api/v1/secrets"},"action":"500","times":2},{"match":{"path_regex":"^/apis/apps/v1/deployments"},"action":"503","times":1}]' >/dev/null
t_ok "500 and 503 are retried" "$KAHU" --kubeconfig "$KC" cluster check -v
t_grep "500 retry visible" "/api/v1/secrets.* 500.*retrying" "$T_ERR"
t_grep "503 retry visible" "/apis/apps/v1/deployments.* 503.*retrying" "$T_ERR"
cluster_admin DELETE /_admin/faults >/dev/null
cluster_admin POST /_admin/faults '[{"match":{"path_regex":"^/api/v1/services"},"action":"reset","times":1}]' >/dev/null
t_ok "a connection reset mid-response is retried" "$KAHU" --kubeconfig "$KC" cluster check -v
t_grep "reset retry visible" "/api/v1/services.*retrying" "$T_ERR"
cluster_admin DELETE /_admin/faults >/dev/null
cluster_admin POST /_admin/faults '[{"match":{"path_regex":"^/api/v1/nodes"},"action":"500","times":20}]' >/dev/null
t_ok "a type that keeps failing is reported, the check goes on" "$KAHU" --kubeconfig "$KC" cluster check
t_grep "the failing type is named" "^  nodes +error" "$T_OUT"
cluster_admin DELETE /_admin/faults >/dev/null

# The waits between a request's tries add up to at most --request-timeout: a long
# Retry-After is shortened (and said so at -v), and once the budget is spent the
# request gives up.
fault_seen() { # how many requests the first fault rule matched
	cluster_admin GET /_admin/faults | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["rules"][0]["seen"])'
}
cluster_admin POST /_admin/faults '[{"match":{"path_regex":"^/api/v1/configmaps"},"action":"429","retry_after":600,"times":1}]' >/dev/null
t_ok "a 429 asking for 600 s, with --request-timeout 2: retried, the check succeeds" \
	"$KAHU" --kubeconfig "$KC" --request-timeout 2 cluster check -v
t_grep "... after a wait shortened to the request timeout, said at -v" \
	"/api/v1/configmaps.* 429, retrying in 2\.0s \(Retry-After: 600\.0s, shortened to what is left of the request timeout of 2\.0s" "$T_ERR"
t_grep "... and every type listed" '^Permissions: +([0-9]+) of \1 types can be listed' "$T_OUT"
cluster_admin DELETE /_admin/faults >/dev/null
cluster_admin POST /_admin/faults '[{"match":{"path_regex":"^/api/v1/nodes"},"action":"503","retry_after":600,"times":50}]' >/dev/null
t_ok "a 503 asking for 600 s each time, with --request-timeout 1: the check goes on" \
	"$KAHU" --kubeconfig "$KC" --request-timeout 1 -o json cluster check -v
cp "$T_OUT" "$T_DIR/budget.json"
t_grep "... the first wait shortened to 1 s" "/api/v1/nodes.* 503, retrying in 1\.0s \(Retry-After: 600\.0s, shortened" "$T_ERR"
t_grep "... then no more retries, saying why" "/api/v1/nodes.* 503, not retrying: this request already waited 1\.0s between tries, its request timeout \(1\.0s\)" "$T_ERR"
t_py "... nodes cannot be listed: gave up when the waits reached the timeout" '
m = [t["list"] for t in d["types"] if t["resource"] == "nodes"][0]
assert m.startswith("error: ") and "gave up after 2 tries: the waits between them reached the request timeout of 1.0s" in m, m' "$T_DIR/budget.json"
seen=$(fault_seen)
echo "nodes requests: $seen" >"$T_OUT"
[ "$seen" = 2 ]; t_result $? "... two tries in all (got $seen)"
cluster_admin DELETE /_admin/faults >/dev/null

# Concurrency is bounded by --max-requests.
cluster_admin POST /_admin/stats/reset >/dev/null
cluster_admin POST /_admin/faults '[{"match":{"query_regex":"limit=1"},"action":"slow","delay_ms":100,"times":1000}]' >/dev/null
t_ok "check with --max-requests 3" "$KAHU" --kubeconfig "$KC" --max-requests 3 cluster check
peak=$(cluster_stats_get peak_concurrency)
echo "peak concurrency $peak" >"$T_OUT"
[ "$peak" -ge 2 ] && [ "$peak" -le 3 ]
t_result $? "requests ran in parallel, never more than 3 at once (peak $peak)"
cluster_admin DELETE /_admin/faults >/dev/null

# Legacy discovery: a second server without aggregated discovery.
cluster_start legacy --no-aggregated-discovery || t_result 1 "second cluster starts"
t_ok "check against the legacy-discovery server" "$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" cluster check
t_grep "reports legacy discovery" "^Discovery: +legacy" "$T_OUT"
t_grep "still reports the broken group" "^Unavailable: +metrics\.k8s\.io/v1beta1" "$T_OUT"

t_done

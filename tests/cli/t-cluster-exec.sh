#!/bin/bash
# The test cluster's pods/exec (WebSocket v5/v4, commands really run in a sandbox with the
# pod's volumes), against the real kubectl and the test cluster's own exec client.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
	t_skip "kubectl exec conformance" "kubectl is not installed"
	t_done
	exit $?
fi
if [ "$(id -u)" -ne 0 ]; then
	t_skip "kubectl exec conformance" "exec sandboxes need root (mount namespaces)"
	t_done
	exit $?
fi

t_ok "the test cluster starts" cluster_start main
k() { "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
ec() { "$PYTHON" "$top_srcdir/tests/cluster/exec-client" --url "$CLUSTER_URL" --token "$CLUSTER_TOKEN" \
	--ca "$CLUSTER_CA" "$@"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

cat >"$T_DIR/app.yaml" <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: default}
stringData: {password: s3cr3t}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: default}
spec:
  containers:
  - name: app
    image: debian:12
    workingDir: /data
    env: [{name: GREETING, value: hello-from-env}]
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: scratch, mountPath: /scratch}
    - {name: creds, mountPath: /etc/creds}
  - name: bb
    image: busybox:1.36
    volumeMounts: [{name: data, mountPath: /data}]
  - name: ro
    image: gcr.io/distroless/base
    volumeMounts: [{name: data, mountPath: /data, readOnly: true}]
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: scratch, emptyDir: {}}
  - {name: creds, secret: {secretName: creds}}
EOF
t_ok "a PVC, a Secret and a pod with three containers are created" k apply -f "$T_DIR/app.yaml"

# --- kubectl exec -------------------------------------------------------------------
t_ok "kubectl exec runs the command" k exec app -c app -- sh -c 'echo out; echo err >&2'
t_grep "its stdout arrives" '^out$' "$T_OUT"
t_grep "its stderr arrives apart" '^err$' "$T_ERR"
t_exit 3 "kubectl exec exits with the command's exit code" k exec app -c app -- sh -c 'exit 3'
t_grep "kubectl reports the exit code" 'command terminated with exit code 3' "$T_ERR"
t_ok "the container's environment and working directory apply" k exec app -c app -- sh -c 'echo "$GREETING $(pwd)"'
t_grep "env and workingDir" '^hello-from-env /data$' "$T_OUT"
printf 'line one\nline two\n' >"$T_DIR/in.txt"
t_ok "kubectl exec -i passes stdin through to its end" sh -c "'$KUBECTL' --kubeconfig '$CLUSTER_KUBECONFIG' exec -i app -c app -- sh -c 'cat; echo END' <'$T_DIR/in.txt'"
t_ok "stdin and its end arrived" test "$(cat "$T_OUT")" = "$(printf 'line one\nline two\nEND')"
t_ok "a Secret volume shows its keys as files" k exec app -c app -- cat /etc/creds/password
t_ok "the Secret's value" test "$(cat "$T_OUT")" = s3cr3t
t_ok "an emptyDir is writable and kept between execs" k exec app -c app -- sh -c 'echo kept >/scratch/f'
t_ok "the emptyDir keeps its file" k exec app -c app -- cat /scratch/f
t_grep "emptyDir content" '^kept$' "$T_OUT"
t_ok "the busybox image runs busybox's applets" k exec app -c bb -- tar --help
t_grep "busybox's tar" 'BusyBox v1\.35' "$T_ERR"
t_exit 1 "the distroless image has no tar" k exec app -c ro -- tar cf - /data
t_grep "kubectl reports the missing executable" 'exec: "tar": executable file not found in \$PATH' "$T_ERR"
t_exit 1 "a readOnly volumeMount is read-only" k exec app -c ro -- touch /data/x
t_grep "the write is refused" 'Read-only file system' "$T_ERR"
t_ok "the container sees the sandbox, not the host's root" k exec app -c app -- ls /
t_nogrep "no host directories such as /work or /home" '^(work|home|srv)$' "$T_OUT"

# --- kubectl cp both ways ------------------------------------------------------------------
mkdir -p "$T_DIR/src/sub dir" "$T_DIR/src/empty"
head -c 2500000 /dev/urandom >"$T_DIR/src/sub dir/big.bin"
printf 'small\n' >"$T_DIR/src/small.txt"
ln -s small.txt "$T_DIR/src/link"
t_ok "kubectl cp copies a directory into the pod" k cp "$T_DIR/src" default/app:/data/copied -c app
t_ok "the pod sees the same bytes (sha256 in the pod)" k exec app -c app -- sha256sum "/data/copied/sub dir/big.bin" /data/copied/small.txt
t_grep "big.bin's sha256" "^$(sha "$T_DIR/src/sub dir/big.bin")  /data/copied/sub dir/big.bin" "$T_OUT"
t_grep "small.txt's sha256" "^$(sha "$T_DIR/src/small.txt")  /data/copied/small.txt" "$T_OUT"
t_ok "kubectl cp copies the directory back out" k cp default/app:/data/copied "$T_DIR/back" -c app
t_ok "the copy back has the same sha256s" test "$(sha "$T_DIR/back/sub dir/big.bin") $(sha "$T_DIR/back/small.txt")" = \
	"$(sha "$T_DIR/src/sub dir/big.bin") $(sha "$T_DIR/src/small.txt")"
t_ok "the empty directory came back" test -d "$T_DIR/back/empty"

# --- refusals ---------------------------------------------------------------------------
t_exit 1 "user limited may not exec" k --context limited exec app -c app -- true
t_grep "403 names pods/exec" 'User "limited" cannot create resource "pods/exec" in API group "" in the namespace "default"' "$T_ERR"
t_exit 1 "a missing pod is not found" k exec nosuch -- true
t_grep "404 names the pod" 'pods "nosuch" not found' "$T_ERR"
t_exit 1 "a missing container is refused" k exec app -c nosuch -- true
t_grep "400 names the container and the pod" 'container nosuch is not valid for pod app' "$T_ERR"
t_exit 97 "an unsupported subprotocol is refused" ec --proto v3.channel.k8s.io -c app app -- true
t_grep "400 lists what is supported" 'HTTP 400 .*requested protocol\(s\) are not supported: \[v3.channel.k8s.io\]; supports \[v5.channel.k8s.io v4.channel.k8s.io\]' "$T_ERR"
t_exit 97 "no container with a multi-container pod is refused" ec app -- true
t_grep "400 lists the containers" 'a container name must be specified for pod app, choose one of: \[app bb ro\]' "$T_ERR"

# --- the protocols through the test cluster's client ---------------------------------
head -c 3000000 /dev/urandom >"$T_DIR/rand.bin"
want=$(sha "$T_DIR/rand.bin")
t_ok "v5: stdin in masked frames, closed by channel 255" ec --stdin "$T_DIR/rand.bin" -c app app -- sha256sum
t_grep "v5 negotiated" 'protocol v5.channel.k8s.io' "$T_ERR"
t_grep "v5: the bytes arrived intact" "^$want " "$T_OUT"
t_ok "v4: stdin in fragments (continuation frames)" ec --proto v4.channel.k8s.io --fragment 70001 --stdin "$T_DIR/rand.bin" -c bb app -- sh -c 'head -c 3000000 | sha256sum'
t_grep "v4 negotiated" 'protocol v4.channel.k8s.io' "$T_ERR"
t_grep "v4: the bytes arrived intact" "^$want " "$T_OUT"
t_ok "a ping is answered with a pong" ec --ping -c app app -- true
t_exit 5 "the exit code comes from the Status" ec --status "$T_DIR/status.json" -c app app -- sh -c 'exit 5'
t_py "the Status is the kubelet's NonZeroExitCode" '
assert d["status"] == "Failure" and d["reason"] == "NonZeroExitCode", d
assert d["details"]["causes"] == [{"reason": "ExitCode", "message": "5"}], d' "$T_DIR/status.json"
t_ok "success has a Success Status" ec --status "$T_DIR/status.json" -c app app -- true
t_py "Status Success" 'assert d["status"] == "Success", d' "$T_DIR/status.json"

# --- exec-break ---------------------------------------------------------------------------
t_ok "an exec-break rule is added" cluster_admin POST /_admin/faults \
	'[{"match":{"resource":"pods","path_regex":"/exec$"},"action":"exec-break","after_bytes":100000,"times":1}]'
t_exit 99 "the stream breaks after after_bytes of stdout" ec -c app app -- head -c 1000000 /dev/zero
t_grep "exactly after_bytes arrived" 'stream broken after 100000 bytes of stdout' "$T_ERR"
t_ok "times: the next exec is whole" ec -c app app -- head -c 1000000 /dev/zero
t_ok "all of it" test "$(wc -c <"$T_OUT")" -eq 1000000

t_done

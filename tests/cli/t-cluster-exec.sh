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

# kubectl >= 1.30 sends GET with "Sec-WebSocket-Protocol: v5.channel.k8s.io" alone; 1.32 too
K132=$(dirname "$(readlink -f "$(command -v "$KUBECTL")")")/kubectl.1.32
if [ -x "$K132" ]; then
	t_ok "kubectl 1.32 exec with stdin" sh -c "'$K132' --kubeconfig '$CLUSTER_KUBECONFIG' exec -i app -c app -- sh -c 'cat; exit 4' <'$T_DIR/in.txt'; test \$? -eq 4"
	t_grep "kubectl 1.32 gets stdout" '^line two$' "$T_OUT"
else
	t_skip "kubectl 1.32 exec" "kubectl.1.32 is not installed"
fi

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

# --- pods: Pending, then Running after the start delay ----------------------------------
poll() { # DESC CMD...: run CMD until it succeeds (at most 600 tries, 0.1 s apart)
	local d=$1 i; shift
	for i in $(seq 1 600); do "$@" >/dev/null 2>&1 && break; sleep 0.1; done
	t_ok "$d" "$@"
}
jp() { k get "$@" 2>/dev/null; }
is() { # KIND NAME JSONPATH VALUE: the object's field has the value (evaluated at each call)
	test "$(jp "$1" "$2" -o jsonpath="$3")" = "$4"
}
t_ok "the pod start delay is set through the admin endpoint" cluster_admin POST /_admin/pod-start-delay '{"seconds":60}'
t_ok "a pod is created" k run slow --image=debian:12 --restart=Never
t_ok "it is Pending while its start delay runs" test "$(jp pod slow -o jsonpath='{.status.phase}')" = Pending
t_ok "its containers are being created" test "$(jp pod slow -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}')" = ContainerCreating
t_exit 1 "exec into a Pending pod is refused" k exec slow -- true
t_grep "as a real server says" 'unable to upgrade connection: container not found \("slow"\)' "$T_ERR"
t_ok "a short start delay" cluster_admin POST /_admin/pod-start-delay '{"seconds":0.3}'
cat >"$T_DIR/sidecar.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: withsidecar, namespace: default}
spec:
  initContainers:
  - {name: init, image: debian:12}
  - {name: side, image: busybox, restartPolicy: Always}
  containers:
  - {name: main, image: debian:12}
EOF
t_ok "a pod with an init container and a native sidecar is created" k apply -f "$T_DIR/sidecar.yaml"
poll "it becomes Running" is pod withsidecar '{.status.phase}' Running
t_ok "it has a pod IP and a node" test -n "$(jp pod withsidecar -o jsonpath='{.status.podIP}')" -a \
	"$(jp pod withsidecar -o jsonpath='{.spec.nodeName}')" = kahu-test-node
t_ok "its container is ready and started" test "$(jp pod withsidecar -o jsonpath='{.status.containerStatuses[0].ready} {.status.containerStatuses[0].started}')" = "true true"
t_ok "the init container completed" test "$(jp pod withsidecar -o jsonpath='{.status.initContainerStatuses[0].state.terminated.reason}')" = Completed
t_ok "the sidecar runs" test -n "$(jp pod withsidecar -o jsonpath='{.status.initContainerStatuses[1].state.running.startedAt}')"
t_ok "the native sidecar can be exec'd into" k exec withsidecar -c side -- true
t_exit 1 "a finished init container cannot" k exec withsidecar -c init -- true
t_ok "a pod is deleted" k delete pod withsidecar
t_exit 1 "it is gone" k get pod withsidecar

# --- PVCs, PVs and their data -------------------------------------------------------------
t_ok "GET /_admin/volume gives the PVC's data directory" cluster_admin GET '/_admin/volume?namespace=default&pvc=data'
cp "$T_OUT" "$T_DIR/vol.json"
t_py "the path is STATE/volumes/<pv name>" '
import os
assert d["pv"].startswith("pvc-") and d["path"] == os.path.join(os.environ["CLUSTER_DIR"], "volumes", d["pv"]), d' "$T_DIR/vol.json"
voldir=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["path"])' "$T_DIR/vol.json")
pv=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pv"])' "$T_DIR/vol.json")
t_ok "the PVC is Bound to its PV" test "$(jp pvc data -o jsonpath='{.status.phase} {.spec.volumeName}')" = "Bound $pv"
t_ok "the PV is Bound, claimRef'd, on the CSI driver, pinned to the node" k get pv "$pv" -o json
t_py "PV spec" '
s = d["spec"]
assert d["status"]["phase"] == "Bound", d["status"]
assert s["claimRef"]["name"] == "data" and s["claimRef"]["namespace"] == "default", s
assert s["csi"]["driver"] == "hostpath.csi.kahu.io" and s["csi"]["volumeHandle"], s
assert s["capacity"]["storage"] == "1Gi" and s["accessModes"] == ["ReadWriteOnce"], s
t = s["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
assert t["key"] == "kubernetes.io/hostname" and t["values"] == ["kahu-test-node"], t' "$T_OUT"
if [ -n "$voldir" ] && [ -d "$voldir" ]; then
	echo from-host >"$voldir/host.txt"
fi
t_ok "data written into the directory is seen in the pod at its mountPath" k exec app -c app -- cat /data/host.txt
t_grep "the content" '^from-host$' "$T_OUT"

# --- VolumeSnapshots ----------------------------------------------------------------------
t_ok "the default VolumeSnapshotClass exists" k get volumesnapshotclass csi-hostpath-snapclass -o json
t_py "for the hostpath driver, the default" '
assert d["driver"] == "hostpath.csi.kahu.io" and d["deletionPolicy"] == "Delete", d
assert d["metadata"]["annotations"]["snapshot.storage.kubernetes.io/is-default-class"] == "true", d' "$T_OUT"
t_ok "a file with an owner, a mode and a link is in the volume" k exec app -c app -- sh -c \
	'mkdir -p /data/snapme && echo v1 >/data/snapme/f && chown 1234:5678 /data/snapme/f && chmod 640 /data/snapme/f && ln -sf f /data/snapme/l'
t_ok "the snapshot delay is set" cluster_admin POST /_admin/snapshot-delay '{"seconds":0.5}'
cat >"$T_DIR/snap.yaml" <<'EOF'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: s1, namespace: default}
spec: {source: {persistentVolumeClaimName: data}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: badclass, namespace: default}
spec: {volumeSnapshotClassName: nosuch, source: {persistentVolumeClaimName: data}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fromsnap, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: s1}
EOF
t_ok "a VolumeSnapshot, one with an unknown class and a PVC from the first are created" k apply -f "$T_DIR/snap.yaml"
poll "the snapshot becomes readyToUse" is volumesnapshot s1 '{.status.readyToUse}' true
t_ok "its status names its content, size and time" k get volumesnapshot s1 -o json
t_py "snapshot status" '
st = d["status"]
assert st["boundVolumeSnapshotContentName"].startswith("snapcontent-") and st["restoreSize"] == "1Gi", st
assert st["creationTime"] and d["spec"]["volumeSnapshotClassName"] == "csi-hostpath-snapclass", d' "$T_OUT"
content=$(jp volumesnapshot s1 -o jsonpath='{.status.boundVolumeSnapshotContentName}')
t_ok "the VolumeSnapshotContent exists" k get volumesnapshotcontent "$content" -o json
t_py "content spec and status" '
s, st = d["spec"], d["status"]
assert s["driver"] == "hostpath.csi.kahu.io" and s["deletionPolicy"] == "Delete", s
assert s["volumeSnapshotRef"]["name"] == "s1" and s["volumeSnapshotRef"]["namespace"] == "default", s
assert st["readyToUse"] is True and st["snapshotHandle"] and st["restoreSize"] == 1073741824, st' "$T_OUT"
t_ok "the copy keeps owners, modes and links" test \
	"$(stat -c '%u:%g %a' "$CLUSTER_DIR/snapshots/$content/snapme/f") $(readlink "$CLUSTER_DIR/snapshots/$content/snapme/l")" = "1234:5678 640 f"
badclass_error() { k get volumesnapshot badclass -o jsonpath='{.status.error.message}' | grep -q 'volumesnapshotclass.snapshot.storage.k8s.io "nosuch" not found'; }
poll "an unknown class is reported in status.error" badclass_error
t_ok "the unknown class's snapshot is not ready" test "$(jp volumesnapshot badclass -o jsonpath='{.status.readyToUse}')" = false
poll "the PVC from the snapshot is Bound" is pvc fromsnap '{.status.phase}' Bound
t_ok "the volume changes after the snapshot" k exec app -c app -- sh -c 'echo v2 >/data/snapme/f'
cat >"$T_DIR/reader.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: reader, namespace: default}
spec:
  containers:
  - {name: r, image: busybox, volumeMounts: [{name: v, mountPath: /restored}]}
  volumes: [{name: v, persistentVolumeClaim: {claimName: fromsnap}}]
EOF
t_ok "a pod mounts the PVC from the snapshot" k apply -f "$T_DIR/reader.yaml"
poll "it runs" is pod reader '{.status.phase}' Running
t_ok "it holds the snapshot's content" k exec reader -- cat /restored/snapme/f
t_grep "the content at the snapshot's time" '^v1$' "$T_OUT"
t_ok "a VolumeSnapshot is deleted" k delete volumesnapshot s1
t_exit 1 "its Delete-policy content is deleted" k get volumesnapshotcontent "$content"
t_fail "and its copy" test -e "$CLUSTER_DIR/snapshots/$content"
frompv=$(jp pvc fromsnap -o jsonpath='{.spec.volumeName}')
t_ok "the pod using the PVC is deleted" k delete pod reader
t_ok "the PVC is deleted" k delete pvc fromsnap
t_exit 1 "its Delete-policy PV is deleted" k get pv "$frompv"
t_fail "and its data directory" test -e "$CLUSTER_DIR/volumes/$frompv"

# --- Pod Security admission ---------------------------------------------------------------------
t_ok "a namespace enforcing restricted" k create namespace locked
t_ok "is labelled" k label namespace locked pod-security.kubernetes.io/enforce=restricted
t_exit 1 "a plain pod is refused there" k run -n locked plain --image=busybox --restart=Never
t_grep "with the real server's message" 'pods "plain" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "plain" must set securityContext.allowPrivilegeEscalation=false\), unrestricted capabilities \(container "plain" must set securityContext.capabilities.drop=\["ALL"\]\), runAsNonRoot != true \(pod or container "plain" must set securityContext.runAsNonRoot=true\), seccompProfile \(pod or container "plain" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"\)' "$T_ERR"
cat >"$T_DIR/restricted-ok.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: good, namespace: locked}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
EOF
t_ok "a pod that complies is admitted" k apply -f "$T_DIR/restricted-ok.yaml"
t_ok "a namespace enforcing baseline" k create namespace base
t_ok "is labelled" k label namespace base pod-security.kubernetes.io/enforce=baseline
cat >"$T_DIR/baseline-bad.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: hostly, namespace: base}
spec:
  hostNetwork: true
  containers: [{name: c, image: busybox, securityContext: {privileged: true}}]
  volumes: [{name: root, hostPath: {path: /}}]
EOF
t_exit 1 "a privileged hostPath hostNetwork pod is refused under baseline" k apply -f "$T_DIR/baseline-bad.yaml"
t_grep "every baseline violation is named" 'violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\), privileged \(container "c" must not set securityContext.privileged=true\), hostPath volumes \(volume "root"\)' "$T_ERR"
t_ok "a plain pod is admitted under baseline" k run -n base plain --image=busybox --restart=Never

# --- several nodes, a second storage class ----------------------------------------------------
t_ok "a cluster with three nodes starts" cluster_start nodes --nodes 3
t_ok "it has node-1..node-3" k get nodes -o name
t_ok "three nodes" test "$(tr '\n' ' ' <"$T_OUT")" = "node/node-1 node/node-2 node/node-3 "
t_ok "the storage classes standard and fast" k get storageclass -o jsonpath='{range .items[*]}{.metadata.name}={.provisioner} {end}'
t_ok "on two CSI drivers" test "$(cat "$T_OUT")" = "fast=fast.csi.kahu.io standard=hostpath.csi.kahu.io "
cat >"$T_DIR/onnode.yaml" <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: quick, namespace: default}
spec: {storageClassName: fast, accessModes: [ReadWriteOnce], resources: {requests: {storage: 2Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: user, namespace: default}
spec:
  containers: [{name: c, image: debian:12, volumeMounts: [{name: v, mountPath: /v}]}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: quick}}]
EOF
t_ok "a PVC of class fast and a pod using it" k apply -f "$T_DIR/onnode.yaml"
qpv=$(jp pvc quick -o jsonpath='{.spec.volumeName}')
t_ok "its PV is on the fast driver" test "$(jp pv "$qpv" -o jsonpath='{.spec.csi.driver}')" = fast.csi.kahu.io
t_ok "the pod runs on its PV's node" test "$(jp pod user -o jsonpath='{.spec.nodeName}')" = \
	"$(jp pv "$qpv" -o jsonpath='{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}')"
t_ok "no VolumeSnapshotClass for the fast driver" test -z "$(jp volumesnapshotclass -o jsonpath='{.items[?(@.driver=="fast.csi.kahu.io")].metadata.name}')"

t_done

#!/usr/bin/env bash
# kahu's pods/exec client (`kahu __exec`) against the test cluster, side by side with the
# real `kubectl exec`: the same bytes on stdout and stderr, the same exit codes, 200 MiB
# both ways (sha256), v4 forced, the refusals (403 with the limited context, a missing
# pod or container), the image tool sets, and a stream the exec-break fault cuts.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
	t_skip "pods/exec against kubectl" "kubectl is not installed"
	t_done
	exit $?
fi
if [ "$(id -u)" -ne 0 ]; then
	t_skip "pods/exec against kubectl" "the test cluster's exec sandboxes need root"
	t_done
	exit $?
fi

t_ok "the test cluster starts" cluster_start main
export KUBECONFIG=$CLUSTER_KUBECONFIG
k() { "$KUBECTL" "$@"; }
sha() { sha256sum | cut -d' ' -f1; }

cat >"$T_DIR/app.yaml" <<'EOY'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: default}
spec:
  containers:
  - name: app
    image: debian:12
    volumeMounts: [{name: data, mountPath: /data}]
  - name: bb
    image: busybox:1.36
    volumeMounts: [{name: data, mountPath: /data}]
  - name: nt
    image: example.com/notar:1
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
EOY
t_ok "a PVC and a pod with three containers" k apply -f "$T_DIR/app.yaml"
for _ in $(seq 1 600); do
	[ "$(k get pod app -o 'jsonpath={.status.phase}' 2>/dev/null)" = Running ] && break
	sleep 0.1
done
t_ok "the pod is Running" test "$(k get pod app -o 'jsonpath={.status.phase}')" = Running

# Runs kahu and kubectl alike; each one's stdout, stderr and exit code in $T_DIR/{kahu,kubectl}.*
both() {
	"$KAHU" __exec "$@" >"$T_DIR/kahu.out" 2>"$T_DIR/kahu.err"
	echo $? >"$T_DIR/kahu.rc"
	local a=() c=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		case $1 in
		-c) a+=(-c "$2"); shift 2 ;;
		-i) a+=(-i); shift ;;
		--v4) shift ;;
		*) if [ -z "$c" ]; then a+=(-n "$1"); c=1; else a+=("$1"); fi; shift ;;
		esac
	done
	"$KUBECTL" exec "${a[@]}" "$@" >"$T_DIR/kubectl.out" 2>"$T_DIR/kubectl.err"
	echo $? >"$T_DIR/kubectl.rc"
}

both -c app default app -- sh -c 'printf "a\000b\nno newline"; printf "to stderr\n" >&2; exit 3'
t_ok "stdout: the same bytes as kubectl exec" cmp "$T_DIR/kahu.out" "$T_DIR/kubectl.out"
t_ok "stdout: what the command wrote" cmp "$T_DIR/kahu.out" <(printf 'a\000b\nno newline')
t_grep "stderr: the command's" '^to stderr$' "$T_DIR/kahu.err"
t_grep "... as kubectl's" '^to stderr$' "$T_DIR/kubectl.err"
t_ok "exit code 3, as kubectl's" test "$(cat "$T_DIR/kahu.rc") $(cat "$T_DIR/kubectl.rc")" = "3 3"

both --v4 -c bb default app -- sh -c 'echo v4 from busybox; exit 7'
t_ok "v4 forced: the same bytes" cmp "$T_DIR/kahu.out" "$T_DIR/kubectl.out"
t_grep "... busybox's shell ran" '^v4 from busybox$' "$T_DIR/kahu.out"
t_ok "... exit code 7, as kubectl's" test "$(cat "$T_DIR/kahu.rc") $(cat "$T_DIR/kubectl.rc")" = "7 7"

# 200 MiB each way: sha256 as kubectl's and as the data's.
head -c $((200 * 1024 * 1024)) /dev/urandom >"$T_DIR/big"
want=$(sha <"$T_DIR/big")
t_ok "200 MiB of stdin, closed by v5's half-close" \
	sh -c '"$0" __exec -i -c app default app -- sh -c "cat >/data/big; sha256sum </data/big" <"$1" >"$2"' \
	"$KAHU" "$T_DIR/big" "$T_DIR/sum.kahu"
t_grep "... the command read every byte" "^$want " "$T_DIR/sum.kahu"
t_ok "200 MiB of stdout" sh -c '"$0" __exec -c app default app -- cat /data/big | sha256sum >"$1"' \
	"$KAHU" "$T_DIR/sum.kahu"
t_ok "... through kubectl exec too" sh -c '"$0" exec -c app app -- cat /data/big | sha256sum >"$1"' \
	"$KUBECTL" "$T_DIR/sum.kubectl"
t_grep "... the same bytes (sha256)" "^$want " "$T_DIR/sum.kahu"
t_grep "... as kubectl's" "^$want " "$T_DIR/sum.kubectl"
t_ok "the file is removed" "$KAHU" __exec -c app default app -- rm /data/big
# A large stdout is received in large reads: OpenSSL reading ahead takes what the socket
# holds, not each TLS record in two receives, its 5-byte header first (how many bytes a
# receive finds depends on timing; that none asks for a header alone does not).
if command -v strace >/dev/null 2>&1 && strace -f -qq -o /dev/null true 2>/dev/null; then
	t_ok "64 MiB of stdout under strace" sh -c 'strace -f -qq -s 0 -e trace=recvfrom -o "$1" \
		"$0" __exec -c app default app -- head -c 67108864 /dev/zero | wc -c >"$2"' \
		"$KAHU" "$T_DIR/strace" "$T_DIR/count"
	t_ok "... all of it" test "$(cat "$T_DIR/count")" -eq 67108864
	n=$(grep -cE 'recvfrom\([0-9]+, [^,]*, 5, ' "$T_DIR/strace")
	t_ok "... no receive of a record's header alone ($n; one per 16 KiB record without reading ahead)" \
		test "$n" -lt 16
else
	t_skip "64 MiB of stdout in large reads" "strace cannot run here"
fi
t_ok "200 MiB both ways at once (cat)" \
	sh -c '"$0" __exec -i -c app default app -- cat <"$1" | sha256sum >"$2"' "$KAHU" "$T_DIR/big" "$T_DIR/sum.kahu"
t_grep "... intact" "^$want " "$T_DIR/sum.kahu"
t_ok "... with --write-all (kube_exec_write: each chunk whole, stdout kept meanwhile)" \
	sh -c '"$0" __exec -i --write-all -c app default app -- cat <"$1" | sha256sum >"$2"' "$KAHU" "$T_DIR/big" "$T_DIR/sum.kahu"
t_grep "... intact" "^$want " "$T_DIR/sum.kahu"
t_ok "... kubectl exec -i the same" \
	sh -c '"$0" exec -i -c app app -- cat <"$1" | sha256sum >"$2"' "$KUBECTL" "$T_DIR/big" "$T_DIR/sum.kubectl"
t_grep "... intact too" "^$want " "$T_DIR/sum.kubectl"
rm -f "$T_DIR/big"

t_ok "a client certificate (context cert) carries the upgrade too" \
	"$KAHU" --context cert __exec -c app default app -- echo by-cert
t_grep "... the command ran" '^by-cert$' "$T_OUT"

# The refusals, each with a documented exit status and a message naming its cause.
t_exit 77 "403 for the limited context: NOPERM" "$KAHU" --context limited __exec -c app default app -- true
t_grep "... names the missing pods/exec create permission in the namespace" \
	'lack the pods/exec permission \(verb create on resource pods/exec\) in namespace default' "$T_ERR"
t_exit 66 "a missing pod: NOINPUT" "$KAHU" __exec default nosuch -- true
t_grep "... named" 'no pod nosuch in namespace default' "$T_ERR"
t_exit 66 "a missing container: NOINPUT" "$KAHU" __exec -c nosuch default app -- true
t_grep "... named" 'container nosuch not found: container nosuch is not valid for pod app' "$T_ERR"
t_exit 64 "no container named in a pod of three: USAGE" "$KAHU" __exec default app -- true
t_grep "... the server's list" 'choose one of: \[app bb nt\]' "$T_ERR"
t_exit 1 "an image without tar: the command cannot start" "$KAHU" __exec -c nt default app -- tar cf - /data
t_grep "... the runtime's message" 'exec: "tar": executable file not found in \$PATH' "$T_ERR"

# A stream the server cuts: a clear error naming what arrived, the retryable class.
t_ok "an exec-break rule" cluster_admin POST /_admin/faults \
	'[{"match":{"resource":"pods","path_regex":"/exec$"},"action":"exec-break","after_bytes":100000,"times":1}]'
t_exit 74 "a broken stream: IOERR" \
	sh -c '"$0" __exec -c app default app -- head -c 1000000 /dev/zero >"$1"' "$KAHU" "$T_DIR/cut"
t_grep "... exec stream broken after 100000 bytes" 'exec stream broken after 100000 bytes' "$T_ERR"
t_ok "... and exactly those reached stdout" test "$(wc -c <"$T_DIR/cut")" -eq 100000
t_ok "the next exec is whole" sh -c '"$0" __exec -c app default app -- head -c 1000000 /dev/zero | wc -c' "$KAHU"
t_grep "... all of it" '^1000000$' "$T_OUT"

t_done

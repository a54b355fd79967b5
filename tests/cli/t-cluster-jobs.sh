#!/bin/bash
# The test cluster runs pods and Jobs: pods of the kahu image run the kahu under test (and
# pods annotated kahu.io/test-run their command) in the exec sandbox, with their volumes,
# Secrets, ConfigMaps and service-account files; the Job controller retries, fails and
# completes Jobs; placement follows the PVs' nodes; the pod-fail and pod-evict faults.
# Read back with the real kubectl.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
	t_skip "test cluster Jobs" "kubectl is not installed"
	t_done
	exit $?
fi
if [ "$(id -u)" -ne 0 ]; then
	t_skip "test cluster Jobs" "running pods needs root (mount namespaces)"
	t_done
	exit $?
fi
if ! command -v busybox >/dev/null 2>&1; then
	t_skip "test cluster Jobs" "busybox is not installed"
	t_done
	exit $?
fi

t_ok "a test cluster of three nodes starts" cluster_start main --nodes 3
k() { "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
jp() { k get "$@" 2>/dev/null; }
# until CMD...: poll (bounded: 1200 tries) until CMD succeeds
until_ok() {
	local i
	for i in $(seq 1 1200); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# until_ok runs its words again on every try: a $(...) among them would be expanded once,
# before the first, so anything that must be read again goes through these or eval '...'
pod_phase() { # POD PHASE
	[ "$(jp pod "$1" -o jsonpath='{.status.phase}')" = "$2" ]
}
none() { # KIND [ARGS...]: kubectl get lists nothing
	[ -z "$(jp "$@" -o name)" ]
}
job_cond() { # JOB TYPE: the Job has the condition TYPE True
	[ "$(jp job "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].status}")" = True ]
}
job_pods() { # JOB [JSONPATH-ish python expression on p]: one line per pod, in creation order
	# (a Job's pods run one after the other: each one's last change precedes the next one)
	jp pods -l "job-name=$1" -o json | "$PYTHON" -c '
import json, sys
for p in sorted(json.load(sys.stdin)["items"], key=lambda p: int(p["metadata"]["resourceVersion"])):
    print(eval(sys.argv[1] or "p[\"metadata\"][\"name\"]"))' "${2:-}"
}
pod_of() { job_pods "$1" | sed -n "$((${2:-0} + 1))p"; } # JOB [INDEX]
pods_of() { jp pods -l "job-name=$1" -o name | wc -l; }
json() { "$PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# --- a Job running kahu version ------------------------------------------------------------
t_ok "kubectl create job with the kahu image" k create job ver --image=ghcr.io/example/kahu:dev -- kahu version
t_ok "the Job completes" until_ok job_cond ver Complete
t_ok "kubectl wait --for=condition=complete" k wait --for=condition=complete job/ver --timeout=60s
t_ok "kubectl logs job/ver" k logs job/ver
t_grep "its log is kahu's version" '^kahu [0-9]' "$T_OUT"
t_grep "and the libraries" 'libsodium' "$T_OUT"
k get job ver -o json >"$T_DIR/ver.json"
t_ok "status: succeeded 1, startTime, completionTime" test "$(json 'd["status"].get("succeeded"), bool(d["status"].get("startTime")), bool(d["status"].get("completionTime")), d["status"].get("active")' <"$T_DIR/ver.json")" = "1 True True None"
t_ok "the Job's selector and template carry its controller-uid" test "$(json 'd["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == d["metadata"]["uid"] == d["spec"]["template"]["metadata"]["labels"]["controller-uid"]' <"$T_DIR/ver.json")" = True
vp=$(pod_of ver)
k get pod "$vp" -o json >"$T_DIR/verpod.json"
t_ok "its pod: generateName ver-, owned by the Job" test "$(json 'd["metadata"]["generateName"], d["metadata"]["ownerReferences"][0]["kind"], d["metadata"]["ownerReferences"][0]["controller"]' <"$T_DIR/verpod.json")" = "ver- Job True"
t_ok "the pod Succeeded, its container terminated Completed with exit code 0" test "$(json 'd["status"]["phase"], d["status"]["containerStatuses"][0]["state"]["terminated"]["reason"], d["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]' <"$T_DIR/verpod.json")" = "Succeeded Completed 0"
t_ok "startedAt and finishedAt are set" test "$(json 'bool(d["status"]["containerStatuses"][0]["state"]["terminated"]["startedAt"] and d["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"])' <"$T_DIR/verpod.json")" = True
t_ok "kubectl logs TAIL" k logs "$vp" --tail=1
t_ok "--tail=1 is one line" test "$(wc -l <"$T_OUT")" -eq 1

# --- termination messages -------------------------------------------------------------------
cat >"$T_DIR/msg.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: msg, namespace: default}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {kahu.io/test-run: "true"}}
    spec:
      restartPolicy: Never
      containers:
      - name: sh
        image: busybox:1.36
        command: [sh, -c, 'echo to the log; echo "all done" >/dev/termination-log']
---
apiVersion: batch/v1
kind: Job
metadata: {name: fallback, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: kahu
        image: kahu:test
        args: [backup, describe, nothing-here, --config, /nonexistent/config.json]
        terminationMessagePolicy: FallbackToLogsOnError
---
apiVersion: batch/v1
kind: Job
metadata: {name: custompath, namespace: default}
spec:
  template:
    metadata: {annotations: {kahu.io/test-run: "true"}}
    spec:
      restartPolicy: Never
      containers:
      - name: sh
        image: busybox
        command: [sh, -c, 'echo "{\"written\": 3}" >/run/result.json']
        terminationMessagePath: /run/result.json
EOF
t_ok "Jobs writing termination messages" k apply -f "$T_DIR/msg.yaml"
t_ok "the busybox Job completes" until_ok job_cond msg Complete
t_ok "its termination message" test "$(jp pod "$(pod_of msg)" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}')" = "all done"
t_ok "its log" k logs job/msg
t_ok "is what it wrote to stdout" test "$(cat "$T_OUT")" = "to the log"
t_ok "the failing kahu Job fails" until_ok job_cond fallback Failed
fp=$(pod_of fallback)
t_ok "its pod is Failed, exit code 66 (not found), reason Error" test "$(jp pod "$fp" -o jsonpath='{.status.phase} {.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason}')" = "Failed 66 Error"
jp pod "$fp" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}' >"$T_DIR/fbmsg"
t_grep "FallbackToLogsOnError: the message is the log's tail" 'config' "$T_DIR/fbmsg"
t_ok "a terminationMessagePath of its own" until_ok job_cond custompath Complete
t_ok "is read" test "$(jp pod "$(pod_of custompath)" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}')" = '{"written": 3}'

# --- retries up to backoffLimit -------------------------------------------------------------
cat >"$T_DIR/fail.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: failing, namespace: default}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: kahu, image: kahu, args: [no-such-command]}]
EOF
t_ok "a Job whose kahu fails (usage)" k apply -f "$T_DIR/fail.yaml"
t_ok "it ends Failed" until_ok job_cond failing Failed
t_ok "reason BackoffLimitExceeded" test "$(jp job failing -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason}')" = BackoffLimitExceeded
t_ok "after backoffLimit+1 pods" test "$(pods_of failing)" -eq 3
t_ok "status.failed 3, no active pod" test "$(jp job failing -o jsonpath='{.status.failed}/{.status.active}')" = "3/"
t_ok "each exited 64" test "$(jp pods -l job-name=failing -o jsonpath='{range .items[*]}{.status.containerStatuses[0].state.terminated.exitCode} {end}')" = "64 64 64 "
t_ok "kubectl logs of a failed pod" k logs "$(pod_of failing 2)"
t_grep "has kahu's usage error" 'no-such-command' "$T_OUT"

# --- refused Jobs ---------------------------------------------------------------------------
cat >"$T_DIR/par.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: par, namespace: default}
spec:
  completions: 3
  template:
    spec:
      restartPolicy: Never
      containers: [{name: kahu, image: kahu, args: [version]}]
EOF
t_fail "completions 3 is refused" k apply -f "$T_DIR/par.yaml"
t_grep "with a precise message" 'spec.completions.*completions 1 only' "$T_ERR"
sed 's/completions: 3/parallelism: 1/; s/restartPolicy: Never/restartPolicy: Always/' "$T_DIR/par.yaml" >"$T_DIR/always.yaml"
t_fail "restartPolicy Always is refused" k apply -f "$T_DIR/always.yaml"
t_grep "as a real server does" 'restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"' "$T_ERR"

# --- the fault knob -------------------------------------------------------------------------
t_ok "a pod-fail fault, once, on Job flaky" cluster_admin POST faults \
	'{"action": "pod-fail", "match": {"job": "flaky"}, "times": 1, "exit_code": 42, "message": "injected failure"}'
t_ok "a pod-fail fault, always, on Job doomed" cluster_admin POST faults \
	'{"action": "pod-fail", "match": {"job": "doomed"}, "exit_code": 7, "message": "always broken"}'
t_ok "a pod-evict fault on the first pod of Job evicted" cluster_admin POST faults \
	'{"action": "pod-evict", "match": {"job": "evicted"}, "times": 1}'
t_ok "a pod-fail fault on the second pod of Job nth" cluster_admin POST faults \
	'{"action": "pod-fail", "match": {"job": "nth"}, "after": 1, "times": 1, "exit_code": 3}'
for j in flaky evicted; do
	k create job "$j" --image=kahu -- kahu version >/dev/null
done
k create job doomed --image=kahu --dry-run=client -o json -- kahu version |
	"$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); d["spec"]["backoffLimit"]=1; print(json.dumps(d))' |
	k create -f - >/dev/null
sed 's/name: failing/name: nth/' "$T_DIR/fail.yaml" | k apply -f - >/dev/null
t_ok "flaky completes" until_ok job_cond flaky Complete
t_ok "after one failure" test "$(jp job flaky -o jsonpath='{.status.failed}/{.status.succeeded}')" = "1/1"
fl=$(pod_of flaky)
t_ok "its first pod failed with the fault's exit code and message" test "$(jp pod "$fl" -o jsonpath='{.status.phase} {.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.message}')" = "Failed 42 injected failure"
t_ok "doomed fails" until_ok job_cond doomed Failed
t_ok "BackoffLimitExceeded after two pods" test "$(jp job doomed -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason} {.status.failed}')" = "BackoffLimitExceeded 2"
t_ok "both with exit code 7" test "$(jp pods -l job-name=doomed -o jsonpath='{range .items[*]}{.status.containerStatuses[0].state.terminated.exitCode} {end}')" = "7 7 "
t_ok "evicted completes on its second pod" until_ok job_cond evicted Complete
ev=$(pod_of evicted)
t_ok "the first pod was evicted: Failed, reason Evicted" test "$(jp pod "$ev" -o jsonpath='{.status.phase} {.status.reason}')" = "Failed Evicted"
t_ok "kubectl shows it Evicted" k get pod "$ev"
t_grep "in its STATUS column" 'Evicted' "$T_OUT"
t_ok "nth fails" until_ok job_cond nth Failed
t_ok "its second pod had the fault's exit code, the others kahu's" test "$(job_pods nth 'p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]' | tr '\n' ' ')" = "64 3 64 "
t_ok "the faults report what fired" cluster_admin GET faults
t_ok "four pod faults fired as many times as asked" test "$(json '[r["fired"] for r in d["rules"]]' <"$T_OUT")" = "[1, 2, 1, 1]"
cluster_admin DELETE faults >/dev/null
t_fail "a pod-fail fault with a bad exit_code is refused" cluster_admin POST faults '{"action": "pod-fail", "exit_code": "nine"}'
t_grep "with the reason" 'exit_code must be an integer' "$T_OUT"
t_ok "a pod-fail fault chosen by labels and name" cluster_admin POST faults \
	'{"action": "pod-fail", "match": {"labels": {"role": "mover"}, "pod_regex": "^pick-", "namespace": "default"}, "exit_code": 9}'
for n in pick-me pick-not; do
	k run "$n" --image=kahu --restart=Never --labels="role=$([ $n = pick-me ] && echo mover || echo other)" -- version >/dev/null
done
k run skip-me --image=kahu --restart=Never --labels=role=mover -- version >/dev/null
ended() { case $(jp pod "$1" -o jsonpath='{.status.phase}') in Succeeded|Failed) return 0 ;; esac; return 1; }
t_ok "the three pods end" until_ok eval "ended pick-me && ended pick-not && ended skip-me"
t_ok "only the matching one failed with 9" test "$(jp pods pick-me pick-not skip-me -o jsonpath='{range .items[*]}{.metadata.name}={.status.containerStatuses[0].state.terminated.exitCode} {end}')" = "pick-me=9 pick-not=0 skip-me=0 "
cluster_admin DELETE faults >/dev/null

# --- placement over three nodes -------------------------------------------------------------
cat >"$T_DIR/pvcs.yaml" <<'EOF2'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: d1, namespace: default}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: d2, namespace: default}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: d3, namespace: default, annotations: {volume.kubernetes.io/selected-node: node-3}}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
EOF2
t_ok "three PVCs" k apply -f "$T_DIR/pvcs.yaml"
pvnode() { jp pv "$(jp pvc "$1" -o jsonpath='{.spec.volumeName}')" -o jsonpath='{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}'; }
t_ok "their PVs are spread over the nodes (selected-node honoured)" test "$(pvnode d1) $(pvnode d2) $(pvnode d3)" = "node-1 node-2 node-3"
d3=$(cluster_admin GET "volume?namespace=default&pvc=d3" | json 'd["path"]')
printf 'data of d3\n' >"$d3/hello.txt"
cat >"$T_DIR/reader.yaml" <<'EOF2'
apiVersion: batch/v1
kind: Job
metadata: {name: reader, namespace: default}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {kahu.io/test-run: "true"}}
    spec:
      restartPolicy: Never
      containers:
      - name: sh
        image: busybox
        command: [sh, -c, 'cat /data/hello.txt; touch /data/new && echo wrote']
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: d3, readOnly: true}}]
EOF2
t_ok "a Job reading PVC d3, read-only" k apply -f "$T_DIR/reader.yaml"
t_ok "it ends (its write fails)" until_ok job_cond reader Failed
rp=$(pod_of reader)
t_ok "its pod ran on d3's node" test "$(jp pod "$rp" -o jsonpath='{.spec.nodeName}')" = node-3
t_ok "with d3's node as hostIP" test "$(jp pod "$rp" -o jsonpath='{.status.hostIP}')" = 10.0.0.12
t_ok "kubectl logs" k logs "$rp"
t_grep "it read the volume's file" '^data of d3$' "$T_OUT"
t_grep "and could not write" 'Read-only file system' "$T_OUT"
t_nogrep "nothing was written" 'wrote' "$T_OUT"
t_ok "the volume has no new file" test ! -e "$d3/new"
cat >"$T_DIR/two.yaml" <<'EOF2'
apiVersion: v1
kind: Pod
metadata: {name: twonodes, namespace: default}
spec:
  containers: [{name: c, image: kahu, args: [version], volumeMounts: [{name: a, mountPath: /a}, {name: b, mountPath: /b}]}]
  volumes: [{name: a, persistentVolumeClaim: {claimName: d1}}, {name: b, persistentVolumeClaim: {claimName: d2}}]
---
apiVersion: v1
kind: Pod
metadata: {name: selected, namespace: default}
spec:
  restartPolicy: Never
  nodeSelector: {kubernetes.io/hostname: node-2}
  containers: [{name: c, image: kahu, args: [version]}]
---
apiVersion: v1
kind: Pod
metadata: {name: nowhere, namespace: default}
spec:
  nodeSelector: {disk: none}
  containers: [{name: c, image: kahu, args: [version]}]
EOF2
t_ok "pods with PVCs on two nodes, a nodeSelector, an impossible nodeSelector" k apply -f "$T_DIR/two.yaml"
t_ok "the first stays Pending, PodScheduled False Unschedulable" test "$(jp pod twonodes -o jsonpath='{.status.phase} {.status.conditions[?(@.type=="PodScheduled")].status} {.status.conditions[?(@.type=="PodScheduled")].reason}')" = "Pending False Unschedulable"
t_grep "volume node affinity conflict" 'volume node affinity conflict' <(jp pod twonodes -o jsonpath='{.status.conditions[0].message}')
t_ok "without a node" test -z "$(jp pod twonodes -o jsonpath='{.spec.nodeName}')"
t_ok "the nodeSelector is honoured" test "$(jp pod selected -o jsonpath='{.spec.nodeName}')" = node-2
t_ok "and the pod runs there" until_ok pod_phase selected Succeeded
t_ok "no node matches: Unschedulable" test "$(jp pod nowhere -o jsonpath='{.status.phase} {.status.conditions[0].reason}')" = "Pending Unschedulable"

# --- Secrets, ConfigMaps, the service account, the environment -----------------------------
mkdir -p "$T_DIR/host" && chmod 0777 "$T_DIR/host"
cat >"$T_DIR/files.yaml" <<EOF2
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: default}
stringData: {key: k-e-y, other: o}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {mode: fast, level: "3"}
---
apiVersion: batch/v1
kind: Job
metadata: {name: files, namespace: default}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {kahu.io/test-run: "true"}, labels: {app: files}}
    spec:
      restartPolicy: Never
      containers:
      - name: sh
        image: busybox
        command: [sh, -c, 'stat -c "%a %n" /s/key /s/other /i/sub/k /c/mode /var/run/secrets/kubernetes.io/serviceaccount/token /var/run/secrets/kubernetes.io/serviceaccount/ca.crt; cat /var/run/secrets/kubernetes.io/serviceaccount/namespace; echo; echo "env \$SKEY \$CMODE \$PODNAME \$NODE \$APP \$KUBERNETES_SERVICE_HOST"; cp /var/run/secrets/kubernetes.io/serviceaccount/token /host/token; id -u; echo \$\$ >/host/pid']
        env:
        - {name: SKEY, valueFrom: {secretKeyRef: {name: creds, key: key}}}
        - {name: CMODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
        - {name: PODNAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
        volumeMounts:
        - {name: s, mountPath: /s}
        - {name: i, mountPath: /i}
        - {name: c, mountPath: /c}
        - {name: host, mountPath: /host}
      volumes:
      - {name: s, secret: {secretName: creds, defaultMode: 0400}}
      - {name: i, secret: {secretName: creds, items: [{key: key, path: sub/k, mode: 0440}]}}
      - {name: c, configMap: {name: settings}}
      - {name: host, hostPath: {path: $T_DIR/host}}
EOF2
t_ok "a Secret, a ConfigMap and a Job mounting them" k apply -f "$T_DIR/files.yaml"
t_ok "the Job completes" until_ok job_cond files Complete
fp=$(pod_of files)
t_ok "kubectl logs" k logs "$fp"
t_grep "the Secret's files are 0400 (defaultMode)" '^400 /s/key$' "$T_OUT"
t_grep "every key" '^400 /s/other$' "$T_OUT"
t_grep "an item at its path with its mode 0440" '^440 /i/sub/k$' "$T_OUT"
t_grep "the ConfigMap's files 0644" '^644 /c/mode$' "$T_OUT"
t_grep "the service-account token 0644" '^644 /var/run/secrets/kubernetes.io/serviceaccount/token$' "$T_OUT"
t_grep "and its CA" '/serviceaccount/ca.crt$' "$T_OUT"
t_grep "the namespace file" '^default$' "$T_OUT"
t_grep "env: secretKeyRef, configMapKeyRef, fieldRef" "^env k-e-y fast $fp node-[0-9] files 127.0.0.1\$" "$T_OUT"
tok=$(cat "$T_DIR/host/token")
api() { curl -sS -o /dev/null -w '%{http_code}' --cacert "$CLUSTER_CA" -H "Authorization: Bearer $1" "$CLUSTER_URL/api/v1/namespaces/default/pods"; }
t_ok "the pod's token is accepted by the test cluster (RBAC grants its account nothing: 403, not 401)" \
	test "$(api "$tok")" = 403
t_ok "kubectl auth whoami with it" k --token="$tok" auth whoami -o jsonpath='{.status.userInfo.username}'
t_ok "is the pod's service account" test "$(cat "$T_OUT")" = system:serviceaccount:default:default
t_ok "deleting the Job (kubectl: Background) deletes its pod" k delete job files
t_ok "the pod is gone" until_ok none pods -l job-name=files
t_ok "its token is no longer accepted" test "$(api "$tok")" = 401

# kahu inside a pod reaches the API server with the service account, no kubeconfig
cat >"$T_DIR/incluster.yaml" <<'EOF2'
apiVersion: batch/v1
kind: Job
metadata: {name: incluster, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: kahu, image: registry.example/kahu:1, args: [cluster, check, -v]}]
EOF2
t_ok "a Job running kahu cluster check" k apply -f "$T_DIR/incluster.yaml"
t_ok "completes" until_ok job_cond incluster Complete
t_ok "kubectl logs job/incluster" k logs job/incluster
t_grep "kahu used the in-cluster service account" 'in-cluster service account' "$T_OUT"

# kahu inside a pod backs up the cluster to a location on a hostPath, with its key from a
# Secret and its configuration from a ConfigMap; its service account (default's default)
# may read everything, by a ClusterRole bound to it (the test cluster evaluates RBAC)
t_ok "a ClusterRole reading everything" k create clusterrole reader --verb=get,list --resource='*.*'
t_ok "... bound to default's default service account" \
	k create clusterrolebinding default-reader --clusterrole=reader --serviceaccount=default:default
t_ok "a key" "$KAHU" key generate --file "$T_DIR/test.key"
t_ok "a Secret holding it" k create secret generic kahu-key --from-file=key="$T_DIR/test.key"
mkdir -p "$T_DIR/host/backups"
cat >"$T_DIR/backup.yaml" <<EOF2
apiVersion: v1
kind: ConfigMap
metadata: {name: kahu-config, namespace: default}
data:
  config.json: |
    {"version": 1, "defaultLocation": "default",
     "locations": {"default": {"provider": "fs", "config": {"path": "/backups"}}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: inbackup, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      securityContext: {runAsUser: 0}
      containers:
      - name: kahu
        image: kahu
        args: [--config, /etc/kahu/config.json, backup, create, from-a-pod, --include-namespaces, default,
               --volume-data, none, --key-file, /keys/key]
        terminationMessagePolicy: FallbackToLogsOnError
        volumeMounts:
        - {name: config, mountPath: /etc/kahu}
        - {name: key, mountPath: /keys, readOnly: true}
        - {name: backups, mountPath: /backups}
      volumes:
      - {name: config, configMap: {name: kahu-config}}
      - {name: key, secret: {secretName: kahu-key, defaultMode: 0400}}
      - {name: backups, hostPath: {path: $T_DIR/host/backups}}
EOF2
t_ok "a Job running kahu backup create in the cluster" k apply -f "$T_DIR/backup.yaml"
t_ok "completes" until_ok job_cond inbackup Complete
printf '{"version": 1, "defaultLocation": "default", "locations": {"default": {"provider": "fs", "config": {"path": "%s"}}}}\n' \
	"$T_DIR/host/backups" >"$T_DIR/host.json"
chmod 600 "$T_DIR/host.json"
t_ok "the backup is on the location, listed from here" "$KAHU" --config "$T_DIR/host.json" backup list -o name
t_grep "as from-a-pod" 'from-a-pod' "$T_OUT"
t_nogrep "the key is not in the pod's log" "$(head -c 16 "$T_DIR/test.key")" <(k logs job/inbackup)

# OnFailure: the container restarts in its pod; the restarts count against backoffLimit
cat >"$T_DIR/onfailure.yaml" <<'EOF2'
apiVersion: batch/v1
kind: Job
metadata: {name: restarts, namespace: default}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: OnFailure
      containers: [{name: kahu, image: kahu, args: [no-such-command]}]
EOF2
t_ok "a failing OnFailure Job" k apply -f "$T_DIR/onfailure.yaml"
t_ok "fails" until_ok job_cond restarts Failed
t_ok "with BackoffLimitExceeded" test "$(jp job restarts -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason}')" = BackoffLimitExceeded
t_ok "after more than backoffLimit failures of its one pod's container" test "$(jp job restarts -o jsonpath='{.status.failed}')" -gt 1
t_ok "its pod, still restarting, was deleted" test "$(pods_of restarts)" -eq 0
restarted() { [ "$(jp pod crashy -o jsonpath='{.status.containerStatuses[0].restartCount}')" -ge 1 ] 2>/dev/null; }
t_ok "a bare OnFailure pod whose kahu fails" k run crashy --image=kahu --restart=OnFailure -- no-such-command
t_ok "is restarted in place" until_ok restarted
t_ok "its last termination kept in lastState" test "$(jp pod crashy -o jsonpath='{.status.containerStatuses[0].lastState.terminated.exitCode}')" = 64
t_ok "it is not Failed" test "$(jp pod crashy -o jsonpath='{.status.phase}')" = Running
t_ok "deleted" k delete pod crashy

# --- deadlines, deletion, TTL, orphans ------------------------------------------------------
cat >"$T_DIR/sleep.yaml" <<EOF2
apiVersion: batch/v1
kind: Job
metadata: {name: sleeper, namespace: default}
spec:
  template:
    metadata: {annotations: {kahu.io/test-run: "true"}}
    spec:
      restartPolicy: Never
      containers:
      - name: sh
        image: busybox
        command: [sh, -c, 'echo \$\$ >/host/sleeper.pid; exec sleep 3600']
        env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: sleeper-secret, key: token}}}]
        volumeMounts: [{name: host, mountPath: /host}]
      volumes: [{name: host, hostPath: {path: $T_DIR/host}}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: late, namespace: default}
spec:
  activeDeadlineSeconds: 1
  template:
    metadata: {annotations: {kahu.io/test-run: "true"}}
    spec:
      restartPolicy: Never
      containers: [{name: sh, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: latepod, namespace: default, annotations: {kahu.io/test-run: "true"}}
spec:
  activeDeadlineSeconds: 1
  restartPolicy: Never
  containers: [{name: sh, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: shortlived, namespace: default}
spec:
  ttlSecondsAfterFinished: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: kahu, image: kahu, args: [version]}]
EOF2
secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
t_ok "a Secret for the sleeping Job's environment" k create secret generic sleeper-secret --from-literal=token="$secret"
t_ok "a sleeping Job, two with deadlines, one with a TTL" k apply -f "$T_DIR/sleep.yaml"
t_ok "the sleeper runs" until_ok test -s "$T_DIR/host/sleeper.pid"
spid=$(cat "$T_DIR/host/sleeper.pid")
t_ok "its process is alive" kill -0 "$spid"
printf '%s\n' "$secret" >"$T_DIR/secret.pattern"
t_ok "the Secret's value is in its environment" grep -qaF -f "$T_DIR/secret.pattern" "/proc/$spid/environ"
t_ok "but in no process's command line" eval "! cat /proc/[0-9]*/cmdline 2>/dev/null | grep -qaF -f '$T_DIR/secret.pattern'"
t_ok "the Job is active" test "$(jp job sleeper -o jsonpath='{.status.active}')" = 1
t_ok "kubectl delete job sleeper" k delete job sleeper
t_ok "kills its process" until_ok eval "! kill -0 $spid"
t_ok "the late Job fails" until_ok job_cond late Failed
t_ok "with reason DeadlineExceeded" test "$(jp job late -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason}')" = DeadlineExceeded
t_ok "and no active pod" test -z "$(jp job late -o jsonpath='{.status.active}')"
t_ok "the late pod fails" until_ok pod_phase latepod Failed
t_ok "with reason DeadlineExceeded" test "$(jp pod latepod -o jsonpath='{.status.reason}')" = DeadlineExceeded
t_ok "the TTL Job is deleted once finished" until_ok none job shortlived
t_ok "with its pod" until_ok none pods -l job-name=shortlived
sed 's/{name: sleeper,/{name: sleeper2,/; s/sleeper.pid/sleeper2.pid/' "$T_DIR/sleep.yaml" | sed '/^---$/,$d' >"$T_DIR/sleep2.yaml"
t_ok "another sleeping Job" k apply -f "$T_DIR/sleep2.yaml"
t_ok "runs" until_ok test -s "$T_DIR/host/sleeper2.pid"
spid=$(cat "$T_DIR/host/sleeper2.pid")
t_ok "DELETE with propagationPolicy Foreground" cluster_admin DELETE /apis/batch/v1/namespaces/default/jobs/sleeper2 \
	'{"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}'
t_ok "deletes its pod" test -z "$(jp pods -l job-name=sleeper2 -o name)"
t_ok "and kills its process" until_ok eval "! kill -0 $spid"
# evicting a running pod (POST /_admin/evict): its process is killed, the Job retries
cat >"$T_DIR/evictme.yaml" <<EOF2
apiVersion: batch/v1
kind: Job
metadata: {name: evictme, namespace: default}
spec:
  template:
    metadata: {annotations: {kahu.io/test-run: "true"}}
    spec:
      restartPolicy: Never
      containers:
      - name: sh
        image: busybox
        command: [sh, -c, 'echo \$\$ >/host/\$HOSTNAME.pid; exec sleep 3600']
        volumeMounts: [{name: host, mountPath: /host}]
      volumes: [{name: host, hostPath: {path: $T_DIR/host}}]
EOF2
t_ok "a Job whose pod runs until stopped" k apply -f "$T_DIR/evictme.yaml"
t_ok "its pod appears" until_ok eval 'test -n "$(pod_of evictme)"'
e1=$(pod_of evictme)
t_ok "and runs" until_ok test -s "$T_DIR/host/$e1.pid"
epid=$(cat "$T_DIR/host/$e1.pid")
t_ok "POST /_admin/evict" cluster_admin POST evict "{\"namespace\": \"default\", \"pod\": \"$e1\"}"
t_ok "its process is killed" until_ok eval "! kill -0 $epid"
t_ok "the pod is Failed, reason Evicted" test "$(jp pod "$e1" -o jsonpath='{.status.phase} {.status.reason}')" = "Failed Evicted"
t_ok "the Job runs a second pod" until_ok eval 'test -s "$T_DIR/host/$(pod_of evictme 1).pid"'
t_ok "counting one failure" test "$(jp job evictme -o jsonpath='{.status.failed}/{.status.active}')" = 1/1
t_fail "an ended pod cannot be evicted" cluster_admin POST evict "{\"namespace\": \"default\", \"pod\": \"$e1\"}"
t_grep "409, it has ended" 'has already ended' "$T_OUT"
t_ok "kubectl delete job evictme" k delete job evictme

t_ok "a Job to orphan" k create job orphan --image=kahu -- kahu version
t_ok "completes" until_ok job_cond orphan Complete
op=$(pod_of orphan)
t_ok "DELETE with propagationPolicy Orphan" cluster_admin DELETE /apis/batch/v1/namespaces/default/jobs/orphan \
	'{"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Orphan"}'
t_ok "the Job is gone" test -z "$(jp job orphan -o name)"
t_ok "its pod stays, without ownerReferences" test "$(jp pod "$op" -o jsonpath='{.metadata.name}/{.metadata.ownerReferences}')" = "$op/"

t_done

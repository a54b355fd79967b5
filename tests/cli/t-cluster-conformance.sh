#!/bin/bash
# The test cluster (tests/cluster/kahu-test-cluster) against the REAL kubectl: if kubectl
# accepts it the way it accepts a real API server, kahu's integration tests mean something.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"

KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
	t_skip "kubectl conformance" "kubectl is not installed"
	t_done
	exit $?
fi
CORPUS=$KAHU_CORPUS/manifests

t_ok "the test cluster starts" cluster_start main
k() { "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG_MAIN" "$@"; }
count_json() { "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'; }
dump_count() { # KIND... : objects of these kinds in /_admin/dump
	CLUSTER_USE=main cluster_admin GET /_admin/dump | "$PYTHON" -c '
import json, sys
kinds = set(sys.argv[1:])
print(sum(1 for o in json.load(sys.stdin)["items"] if o["kind"] in kinds))' "$@"
}

# --- basics -------------------------------------------------------------------------
t_ok "kubectl version talks to the server" k version
t_grep "the server version is v1.30" '^Server Version: v1\.30\.' "$T_OUT"
t_ok "a kubeconfig is written with mode 0600" test "$(stat -c %a "$CLUSTER_KUBECONFIG_MAIN")" = 600
t_grep "the kubeconfig carries certificate-authority-data" 'certificate-authority-data: ' "$CLUSTER_KUBECONFIG_MAIN"

# Aggregated discovery: the broken metrics.k8s.io APIService is listed as Stale (as the
# kube-aggregator does); kubectl drops stale group versions without failing.
t_ok "kubectl api-resources (aggregated discovery) exits 0" k api-resources
t_grep "api-resources lists configmaps" '^configmaps +cm +v1 +true +ConfigMap' "$T_OUT"
t_grep "api-resources lists deployments" '^deployments +deploy +apps/v1 +true +Deployment' "$T_OUT"
t_grep "api-resources lists customresourcedefinitions" '^customresourcedefinitions +crd,crds +apiextensions.k8s.io/v1 +false' "$T_OUT"
t_grep "api-resources lists volumesnapshots" '^volumesnapshots +vs +snapshot.storage.k8s.io/v1 +true' "$T_OUT"
t_grep "api-resources lists autoscaling/v2 as preferred" '^horizontalpodautoscalers +hpa +autoscaling/v2 ' "$T_OUT"
t_nogrep "api-resources does not list metrics.k8s.io resources" 'metrics.k8s.io' "$T_OUT"
t_ok "aggregated /apis marks metrics.k8s.io/v1beta1 Stale" sh -c "curl -sS --cacert '$CLUSTER_CA' -H 'Authorization: Bearer $CLUSTER_TOKEN' \
	-H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' '$CLUSTER_URL/apis' \
	| grep -q '\"name\":\"metrics.k8s.io\",\"creationTimestamp\":null},\"versions\":\\[{\"version\":\"v1beta1\",\"freshness\":\"Stale\"}'"

# Legacy discovery: kubectl fetches /apis/metrics.k8s.io/v1beta1, gets 503 and reports it
# (exit 1) after printing everything else, exactly as against a real cluster.
t_ok "a second cluster with legacy discovery starts" cluster_start legacy --no-aggregated-discovery
kl() { "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG_LEGACY" "$@"; }
t_exit 1 "kubectl api-resources (legacy discovery) exits 1 for the broken group" kl api-resources
t_grep "legacy: the error names metrics.k8s.io/v1beta1" 'unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle the request' "$T_ERR"
t_grep "legacy: configmaps are still listed" '^configmaps +cm +v1 +true +ConfigMap' "$T_OUT"
t_ok "legacy: kubectl get works despite the broken group" kl get configmaps -n kube-system
t_grep "legacy: kube-root-ca.crt exists in kube-system" '^kube-root-ca.crt ' "$T_OUT"
cluster_stop legacy
_cluster_export main

t_ok "the default namespaces exist" k get namespaces
for ns in default kube-system kube-public kube-node-lease; do
	t_grep "namespace $ns is Active" "^$ns +Active" "$T_OUT"
done
t_ok "the kubernetes Service exists" k get service kubernetes -n default -o jsonpath='{.spec.clusterIP}'
t_grep "the kubernetes Service has 10.96.0.1" '^10\.96\.0\.1$' "$T_OUT"

# --- apply a CRD and its custom resources ------------------------------------------------
if [ -d "$CORPUS" ]; then
	t_ok "kubectl apply: cert-manager CRDs" k apply --validate=false -f "$CORPUS/cert-manager/crds-certificates-issuers.yaml"
	t_grep "the CRDs are created" 'customresourcedefinition.apiextensions.k8s.io/issuers.cert-manager.io created' "$T_OUT"
	t_ok "kubectl wait: the CRDs become Established" k wait --for=condition=Established --timeout=10s crd/issuers.cert-manager.io
	t_ok "kubectl apply: an Issuer and Certificates" k apply --validate=false -f "$CORPUS/cert-manager/cert-manager-resources.yaml"
	t_grep "the Issuer is created" 'issuer.cert-manager.io/selfsigned-issuer created' "$T_OUT"
	t_ok "kubectl get issuers" k get issuers -n default
	t_grep "the Issuer is listed" '^selfsigned-issuer ' "$T_OUT"
	t_ok "kubectl apply again" k apply --validate=false -f "$CORPUS/cert-manager/cert-manager-resources.yaml"
	t_grep "nothing changed" 'certificate.cert-manager.io/test1 unchanged' "$T_OUT"
	sed 's/test: first/test: changed/' "$CORPUS/cert-manager/cert-manager-resources.yaml" >"$T_DIR/cm-changed.yaml"
	t_ok "kubectl apply a changed manifest (merge patch of a custom resource)" k apply --validate=false -f "$T_DIR/cm-changed.yaml"
	t_grep "the Certificate is configured" 'certificate.cert-manager.io/test1 configured' "$T_OUT"
	t_ok "the label changed" k get certificate test1 -o jsonpath='{.metadata.labels.test} {.metadata.generation}'
	t_grep "label is 'changed', generation unchanged (metadata only)" '^changed 1$' "$T_OUT"
	t_ok "kubectl get crd" k get crd
	t_grep "kubectl get crd lists certificates.cert-manager.io" '^certificates.cert-manager.io ' "$T_OUT"
else
	t_skip "kubectl apply of corpus CRDs" "corpus not found at $CORPUS"
fi

# --- built-in objects, apply with strategic merge patch ---------------------------------------
cat >"$T_DIR/app.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop, labels: {app: web, tier: a}}
data: {color: blue}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: db-config, namespace: shop, labels: {app: db, tier: b, foo: bar}}
data: {size: "10"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cache-config, namespace: shop, labels: {app: cache, tier: c}}
---
apiVersion: v1
kind: Secret
metadata: {name: db-password, namespace: shop, labels: {app: db}}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx:1.25, ports: [{containerPort: 8080}]}
      - {name: sidecar, image: busybox:1.36}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
YAML
t_ok "kubectl apply: namespace, configmaps, secret, service, deployment, pvc" k apply --validate=false -f "$T_DIR/app.yaml"
t_grep "the deployment is created" 'deployment.apps/web created' "$T_OUT"
t_ok "the Service got a cluster IP" k get svc web -n shop -o jsonpath='{.spec.clusterIP}'
t_grep "cluster IP is in 10.96.0.0/16" '^10\.96\.[0-9]+\.[0-9]+$' "$T_OUT"
t_ok "the Secret's stringData became data" k get secret db-password -n shop -o jsonpath='{.data.password}'
t_grep "password is base64" '^czNjcmV0$' "$T_OUT"
t_ok "the PVC is bound" k get pvc data -n shop -o jsonpath='{.status.phase} {.spec.volumeName}'
t_grep "phase Bound, volume pvc-..." '^Bound pvc-[0-9a-f-]+$' "$T_OUT"
t_ok "its PersistentVolume exists" k get pv "$(awk '{print $2}' "$T_OUT")"
sed -e 's/nginx:1.25/nginx:1.26/' -e 's/replicas: 2/replicas: 3/' "$T_DIR/app.yaml" >"$T_DIR/app2.yaml"
t_ok "kubectl apply a changed deployment (strategic merge patch)" k apply --validate=false -f "$T_DIR/app2.yaml"
t_grep "the deployment is configured" 'deployment.apps/web configured' "$T_OUT"
t_ok "the change is stored" k get deploy web -n shop -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[*].image} {.metadata.generation}'
t_grep "3 replicas, both containers, new image, generation 2" '^3 nginx:1.26 busybox:1.36 2$' "$T_OUT"
t_ok "kubectl scale (the scale subresource)" k scale deploy web -n shop --replicas=1
t_ok "kubectl create --dry-run=server stores nothing" k create configmap dry -n shop --dry-run=server
t_fail "the dry-run object does not exist" k get configmap dry -n shop
t_ok "the dry-run is counted" test "$(CLUSTER_USE=main cluster_stats_get dry_run)" -ge 1

# --- selectors ----------------------------------------------------------------------------
t_ok "label selector app=web" k get cm -n shop -l app=web -o name
t_grep "app=web selects web-config" '^configmap/web-config$' "$T_OUT"
t_ok "label selector 'tier in (a,b)'" k get cm -n shop -l 'tier in (a,b)' -o name
t_ok "'tier in (a,b)' selects two" test "$(wc -l <"$T_OUT")" -eq 2
t_ok "label selector '!foo'" k get cm -n shop -l '!foo,app' -o name
t_nogrep "'!foo' excludes db-config" 'db-config' "$T_OUT"
t_grep "'!foo' keeps cache-config" 'cache-config' "$T_OUT"
t_ok "label selector app!=web" k get cm -n shop -l 'app!=web' -o name
t_nogrep "app!=web excludes web-config" 'web-config' "$T_OUT"
t_grep "app!=web keeps kube-root-ca.crt (no app label)" 'kube-root-ca.crt' "$T_OUT"
t_ok "field selector metadata.name" k get cm -A --field-selector metadata.name=db-config -o name
t_ok "the field selector selects one" test "$(wc -l <"$T_OUT")" -eq 1
t_ok "field selector metadata.namespace!=shop" k get cm -A --field-selector metadata.namespace!=shop -o name
t_nogrep "metadata.namespace!=shop excludes shop" 'web-config' "$T_OUT"
t_fail "a bad label selector is refused" k get cm -l 'a in (b'
t_grep "with BadRequest" 'BadRequest|unable to parse' "$T_ERR"
t_fail "an unsupported field selector is refused" k get cm --field-selector spec.foo=bar
t_grep "field label not supported" 'field label not supported: spec.foo' "$T_ERR"

# --- chunked lists -------------------------------------------------------------------------------
t_ok "kubectl get -A -o json --chunk-size=2 (configmaps, secrets, services)" \
	sh -c "'$KUBECTL' --kubeconfig '$CLUSTER_KUBECONFIG_MAIN' get configmaps,secrets,services,serviceaccounts -A -o json --chunk-size=2 >'$T_DIR/all.json'"
t_ok "the paged list has every object of /_admin/dump" \
	test "$(count_json <"$T_DIR/all.json")" -eq "$(dump_count ConfigMap Secret Service ServiceAccount)"
t_ok "kubectl used limit=2 and continue" test "$(CLUSTER_USE=main cluster_stats_get 'by_path./api/v1/configmaps')" -ge 3

# --- deletion ----------------------------------------------------------------------------------
t_ok "kubectl delete a configmap" k delete configmap cache-config -n shop
t_fail "it is gone" k get configmap cache-config -n shop
t_grep "NotFound" 'NotFound|not found' "$T_ERR"
t_ok "kubectl delete namespace shop (returns: deletion is immediate)" k delete namespace shop --timeout=20s
t_ok "nothing is left in shop" test "$(CLUSTER_USE=main cluster_admin GET '/_admin/dump?namespace=shop' | count_json)" -eq 0
t_fail "creating in a missing namespace fails" k create configmap x -n shop
t_grep "namespace not found" 'namespaces "shop" not found' "$T_ERR"

# --- authentication and authorization ----------------------------------------------------------
t_fail "badtoken: kubectl fails" k --context badtoken get configmaps
t_grep "badtoken: Unauthorized" 'must be logged in to the server|Unauthorized' "$T_ERR"
t_ok "cert: client certificate (file paths) works" k --context cert get configmaps -n default
t_ok "cert-data: client certificate (inline data) works" k --context cert-data auth whoami
t_grep "the certificate's CN is the user" 'kahu-test-admin' "$T_OUT"
t_grep "its O is a group" 'system:masters' "$T_OUT"
t_fail "limited: get secrets is forbidden" k --context limited get secrets
t_grep "limited: a real apiserver's message" 'secrets is forbidden: User "limited" cannot list resource "secrets" in API group "" in the namespace "default"' "$T_ERR"
t_fail "limited: get roles is forbidden" k --context limited get roles -A
t_grep "limited: roles at the cluster scope" 'cannot list resource "roles" in API group "rbac.authorization.k8s.io" at the cluster scope' "$T_ERR"
t_ok "limited: get configmaps works" k --context limited get configmaps
t_exit 1 "limited: auth can-i list secrets says no (SelfSubjectAccessReview)" k --context limited auth can-i list secrets
t_ok "admin: auth can-i list secrets says yes" k auth can-i list secrets

# --- faults ----------------------------------------------------------------------------------
t_ok "fault: the next 2 configmap lists get 429 Retry-After: 1" \
	cluster_admin POST faults '[{"match":{"verb":"list","resource":"configmaps"},"action":"429","retry_after":1,"times":2}]'
t_ok "kubectl retries 429s and succeeds" k get configmaps -n default
t_ok "both 429s fired" test "$(CLUSTER_USE=main cluster_admin GET faults | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["rules"][0]["fired"])')" -eq 2
t_ok "faults cleared" cluster_admin DELETE faults
for i in 1 2 3 4; do k create configmap "page-$i" -n default >/dev/null; done
t_ok "fault: the continue token of page 3 is expired" \
	cluster_admin POST faults '[{"match":{"verb":"list","resource":"configmaps"},"action":"expire-continue","page":3}]'
t_fail "kubectl get --chunk-size=1 fails on the expired token, as against a real server" k get configmaps -A --chunk-size=1
t_grep "410 Expired with the real message" 'Expired.*The provided continue parameter is too old to display a consistent list result' "$T_ERR"
t_grep "the first pages were printed" '^default +kube-root-ca.crt' "$T_OUT"
cluster_admin DELETE faults >/dev/null
t_ok "without the fault the chunked list succeeds" k get configmaps -A --chunk-size=1 -o name
t_grep "page-4 is listed" 'configmap/page-4' "$T_OUT"

# --- CRD life cycle ----------------------------------------------------------------------------
cat >"$T_DIR/widget-crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    subresources: {status: {}}
YAML
cr_code() { curl -s -o /dev/null -w '%{http_code}' --cacert "$CLUSTER_CA_MAIN" -H "Authorization: Bearer $CLUSTER_TOKEN_MAIN" \
	"$CLUSTER_URL_MAIN/apis/example.com/v1/namespaces/default/widgets"; }
t_ok "crd-delay set to 2 s at run time" cluster_admin POST crd-delay '{"seconds":2}'
t_ok "kubectl apply a CRD" k apply --validate=false -f "$T_DIR/widget-crd.yaml"
t_ok "its custom resources answer 404 until it is established" test "$(cr_code)" = 404
t_ok "kubectl wait --for=condition=Established" k wait --for=condition=Established --timeout=15s crd/widgets.example.com
t_ok "now they answer 200" test "$(cr_code)" = 200
t_ok "NamesAccepted is True too" k get crd widgets.example.com -o jsonpath='{.status.conditions[?(@.type=="NamesAccepted")].status} {.status.acceptedNames.listKind}'
t_grep "NamesAccepted True, listKind WidgetList" '^True WidgetList$' "$T_OUT"
cluster_admin POST crd-delay '{"seconds":0}' >/dev/null
printf 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 1}\nstatus: {ready: true}\n' >"$T_DIR/w1.yaml"
t_ok "kubectl apply --server-side a custom resource" k apply --server-side -f "$T_DIR/w1.yaml"
t_ok "the short name works and status was dropped (status subresource)" k get wd w1 -o jsonpath='{.spec.size}/{.status.ready}/{.metadata.managedFields[0].operation}'
t_grep "spec kept, no status, an Apply managedFields entry" '^1//Apply$' "$T_OUT"
t_ok "kubectl delete the CRD" k delete crd widgets.example.com
t_ok "its custom resources are gone with it" test "$(cr_code)" = 404
t_ok "and from the store" test "$(CLUSTER_USE=main dump_count Widget)" -eq 0

# --- more faults -----------------------------------------------------------------------------
api_get() { curl -sS -o /dev/null --cacert "$CLUSTER_CA_MAIN" -H "Authorization: Bearer $CLUSTER_TOKEN_MAIN" "$CLUSTER_URL_MAIN$1"; }
t_ok "fault: reset the connection mid-response once" \
	cluster_admin POST faults '[{"match":{"method":"GET","path_regex":"^/api/v1/namespaces/default/secrets$"},"action":"reset","times":1}]'
t_fail "the first request is cut off" api_get /api/v1/namespaces/default/secrets
t_ok "the second succeeds" api_get /api/v1/namespaces/default/secrets
cluster_admin DELETE faults >/dev/null
t_ok "fault: slow lists (400 ms)" cluster_admin POST faults '[{"match":{"verb":"list"},"action":"slow","delay_ms":400}]'
cluster_admin POST stats/reset >/dev/null
pids=()
for i in 1 2 3 4 5; do api_get /api/v1/configmaps & pids+=($!); done
wait "${pids[@]}"   # (a bare wait would wait for the cluster server too)
t_ok "peak_concurrency counts 5 parallel requests" test "$(CLUSTER_USE=main cluster_stats_get peak_concurrency)" -eq 5
t_ok "the list verb was counted 5 times" test "$(CLUSTER_USE=main cluster_stats_get by_verb.list)" -eq 5
cluster_admin DELETE faults >/dev/null

# --- protocol details ------------------------------------------------------------------------
big=$T_DIR/big-configmap.json
"$PYTHON" -c 'import json; print(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big-body", "namespace": "default"}, "data": {"a": "x" * 600000, "b": "y" * 600000}}))' >"$big"
t_ok "a 1.2 MB body sent with Expect: 100-continue is created" sh -c "curl -sS -v -o /dev/null --cacert '$CLUSTER_CA' \
	-H 'Authorization: Bearer $CLUSTER_TOKEN' -H 'Content-Type: application/json' -H 'Expect: 100-continue' \
	--data-binary @'$big' '$CLUSTER_URL/api/v1/namespaces/default/configmaps' 2>'$T_OUT'"
t_grep "... after the server's 100 Continue" "^< HTTP/1.1 100 Continue" "$T_OUT"
t_nogrep "... which comes before the body, not after curl gave up waiting for it" "Done waiting for 100-continue" "$T_OUT"
t_grep "... then 201" "^< HTTP/1.1 201 " "$T_OUT"
t_ok "a protobuf request body gets 415" sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$CLUSTER_CA' \
	-H 'Authorization: Bearer $CLUSTER_TOKEN' -H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary 'k8s' \
	'$CLUSTER_URL/api/v1/namespaces/default/configmaps')\" = 415"
t_ok "no credentials gets a 401 Status" sh -c "curl -s --cacert '$CLUSTER_CA' '$CLUSTER_URL/api/v1/namespaces' >'$T_OUT'"
t_grep "the 401 Status body" '"reason":"Unauthorized","code":401' "$T_OUT"

# --- a newer kubectl (protobuf request bodies, kubectl >= 1.32) ------------------------------------
# /usr/bin/kubectl of the Google Cloud SDK dispatches to the kubectl matching the server
# (1.30); call a 1.32 binary directly when it is there.
K132=$(dirname "$(readlink -f "$(command -v "$KUBECTL")")")/kubectl.1.32
if [ -x "$K132" ]; then
	t_ok "kubectl 1.32: create configmap (protobuf body)" "$K132" --kubeconfig "$CLUSTER_KUBECONFIG_MAIN" create configmap proto-cm --from-literal=k=v
	t_ok "kubectl 1.32: the configmap is stored" k get configmap proto-cm -o jsonpath='{.data.k}'
	t_grep "its data arrived" '^v$' "$T_OUT"
	t_ok "kubectl 1.32: auth whoami (protobuf SelfSubjectReview)" "$K132" --kubeconfig "$CLUSTER_KUBECONFIG_MAIN" auth whoami
	t_grep "kubectl 1.32: whoami names the admin" 'kahu-test-admin' "$T_OUT"
	t_ok "kubectl 1.32: apply with default (strict) validation" "$K132" --kubeconfig "$CLUSTER_KUBECONFIG_MAIN" apply -f "$T_DIR/app.yaml"
else
	t_skip "kubectl 1.32 protobuf bodies" "no kubectl.1.32 next to $KUBECTL"
fi

# --- watch: kubectl get -w sees a change made by a second kubectl -------------------------
# Each wait is for a line kubectl prints or a state the server reports (up to 120 s).
until_grep() { # PATTERN FILE
	local i
	for i in $(seq 1 1200); do grep -Eq -- "$1" "$2" && return 0; sleep 0.1; done
	return 1
}
watch_active() { cluster_admin GET /_admin/watch | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["active"])'; }
t_ok "a namespace and a configmap to watch" sh -c "'$KUBECTL' --kubeconfig '$CLUSTER_KUBECONFIG_MAIN' create namespace watched >/dev/null && '$KUBECTL' --kubeconfig '$CLUSTER_KUBECONFIG_MAIN' -n watched create configmap before"
k -n watched get configmaps -w --output-watch-events --request-timeout=300s >"$T_DIR/kw.out" 2>"$T_DIR/kw.err" &
kw=$!
T_CLEANUP+=("kill $kw 2>/dev/null")
t_ok "kubectl get -w lists what is there first" until_grep '^ADDED +before ' "$T_DIR/kw.out"
for i in $(seq 1 1200); do [ "$(watch_active)" -ge 1 ] && break; sleep 0.1; done
t_ok "the server has kubectl's watch open" test "$(watch_active)" -ge 1
t_ok "a second kubectl creates a configmap" k -n watched create configmap during --from-literal=a=1
t_ok "kubectl get -w shows it ADDED" until_grep '^ADDED +during ' "$T_DIR/kw.out"
t_ok "a second kubectl changes it" k -n watched label configmap during changed=yes
t_ok "kubectl get -w shows it MODIFIED" until_grep '^MODIFIED +during ' "$T_DIR/kw.out"
t_ok "a second kubectl deletes it" k -n watched delete configmap during
t_ok "kubectl get -w shows it DELETED" until_grep '^DELETED +during ' "$T_DIR/kw.out"
t_nogrep "kubectl get -w reported no error" 'error|Error' "$T_DIR/kw.err"
kill "$kw" 2>/dev/null; wait "$kw" 2>/dev/null
t_ok "kubectl get -w ends by itself at --request-timeout (timeoutSeconds) with exit 0" \
	k -n watched get configmaps -w --request-timeout=2s
t_grep "after listing" '^before ' "$T_OUT"
t_ok "kubectl get -A -w -o name (cluster-wide) ends at --request-timeout" k get configmaps -A -w -o name --request-timeout=2s
t_grep "cluster-wide it lists every namespace's configmaps" '^configmap/before$' "$T_OUT"

# --- persistence --------------------------------------------------------------------------
t_ok "the cluster restarts (SIGTERM saves the store)" cluster_restart main
t_ok "objects survive a restart" k get configmap page-4 -n default
if [ -d "$CORPUS" ]; then
	t_ok "CRDs survive a restart" k get issuers -n default
else
	t_skip "CRDs survive a restart" "corpus not found at $CORPUS"
fi

# --- Jobs ----------------------------------------------------------------------------------
# (pods of the kahu image run the kahu under test: tests/cli/t-cluster-jobs.sh has the rest)
if [ "$(id -u)" -eq 0 ]; then
	t_ok "kubectl create job" k create job conform --image=ghcr.io/example/kahu:dev -- kahu version
	for i in $(seq 1 1200); do # until it completed (kubectl wait then answers from its first list)
		[ "$(k get job conform -o jsonpath='{.status.succeeded}' 2>/dev/null)" = 1 ] && break
		sleep 0.1
	done
	t_ok "kubectl wait --for=condition=complete" k wait --for=condition=complete job/conform --timeout=120s
	t_grep "the Job is complete" 'condition met' "$T_OUT"
	t_ok "kubectl logs job/NAME" k logs job/conform
	t_grep "shows its pod's output" '^kahu [0-9]' "$T_OUT"
	t_ok "kubectl get jobs" k get jobs conform
	t_grep "1/1 completions" '1/1' "$T_OUT"
	t_ok "kubectl delete job" k delete job conform
	t_grep "is answered" 'job.batch "conform" deleted' "$T_OUT"
else
	t_skip "kubectl create job, wait, logs" "running pods needs root (mount namespaces)"
fi

# --- the whole corpus ------------------------------------------------------------------------
if [ -d "$CORPUS" ]; then
	t_ok "a cluster seeded with the whole corpus starts" cluster_start corpus --seed "$CORPUS"
	kc() { "$KUBECTL" --kubeconfig "$CLUSTER_KUBECONFIG_CORPUS" "$@"; }
	t_ok "kubectl get crd (corpus)" kc get crd
	for crd in applicationsets.argoproj.io prometheuses.monitoring.coreos.com ipaddresspools.metallb.io \
		issuers.cert-manager.io engineimages.longhorn.io; do
		t_grep "the corpus CRD $crd is listed" "^$crd " "$T_OUT"
	done
	t_ok "metallb custom resources are served" kc get ipaddresspools.metallb.io -A -o name
	t_ok "a RoleList was expanded" kc get roles -n monitoring -o name
	t_grep "its Roles exist" 'role.rbac.authorization.k8s.io/' "$T_OUT"
	t_ok "kubectl get all -A with chunking" kc get deployments,statefulsets,daemonsets,services -A --chunk-size=3 -o name
	n_dump=$(CLUSTER_USE=corpus cluster_admin GET /_admin/dump | count_json)
	t_ok "the corpus cluster holds more than 300 objects ($n_dump)" test "$n_dump" -gt 300
	t_ok "the corpus can be re-seeded through /_admin/seed" env CLUSTER_USE=corpus bash -c ". '$top_srcdir/tests/cluster/cluster.sh'; cluster_admin POST seed @'$CORPUS/argo-cd/install.yaml'"
	t_grep "re-seeding updates" '"updated": *[1-9]' "$T_OUT"
else
	t_skip "seeding the corpus" "corpus not found at $CORPUS"
fi

t_done

#!/usr/bin/env bash
# kahu as a pod runs it (a Kubernetes CronJob): no kubeconfig and no home directory;
# the cluster from the service account (its token and CA files under
# /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT; the root
# of those files named by KAHU_IN_CLUSTER_ROOT, tests only), the configuration and the
# key from mounted Secrets (root's files, mode 0440, as a pod with an fsGroup sees
# them), S3 credentials from the environment, temporary files in an emptyDir (TMPDIR).
# It backs up the test cluster to an S3 location (s3rver) and restores from it, and
# writes nowhere but the location: not in the pod's files, not in a home directory.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"
. "$top_srcdir/tests/s3/s3.sh"

s3_available
case $? in
1) t_skip "in-cluster tests (S3)" "$S3_MISSING"; t_done; exit 0 ;;
2) t_result 1 "s3rver and the AWS SDK are installed: $S3_MISSING"; t_done; exit 1 ;;
esac
s3_start || { t_result 1 "s3rver and the verifying proxy start"; t_done; exit 1; }
cluster_start main --seed "$top_srcdir/examples/demo-apps.yaml" ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
PORT=${CLUSTER_URL##*:}
KAHU=$(cd "$(dirname "$KAHU")" && pwd)/$(basename "$KAHU")   # runs from another directory

# The pod's files: the service account's, the Secrets' (root's, 0440), an emptyDir.
POD=$T_DIR/pod
SA=$POD/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$SA" "$POD/etc/kahu" "$POD/etc/kahu-key" "$POD/tmp" "$POD/work"
cp "$CLUSTER_DIR/admin.token" "$SA/token"
cp "$CLUSTER_CA" "$SA/ca.crt"
printf 'kahu-system' >"$SA/namespace"
cat >"$POD/etc/kahu/config.json" <<EOF
{"version": 1, "defaultLocation": "s3",
 "locations": {"s3": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                                   "region": "eu-west-3", "prefix": "incluster"}}}}
EOF
"$KAHU" key generate --file "$POD/etc/kahu-key/key" >/dev/null 2>&1
chmod 0440 "$POD/etc/kahu/config.json" "$POD/etc/kahu-key/key"
chmod 0555 "$POD/etc/kahu" "$POD/etc/kahu-key"

# A run as the pod's: an empty environment but for what the CronJob sets; no HOME.
in_pod() {
	(cd "$POD/work" && env -i PATH="$PATH" \
		KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$PORT" \
		KAHU_IN_CLUSTER_ROOT="$POD" KAHU_CONFIG="$POD/etc/kahu/config.json" \
		KAHU_KEY_FILE="$POD/etc/kahu-key/key" TMPDIR="$POD/tmp" \
		AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
		${KAHU_PLUGIN_PATH:+KAHU_PLUGIN_PATH="$KAHU_PLUGIN_PATH"} \
		"$KAHU" "$@")
}

# What exists before, to show that nothing is written outside the location.
PWHOME=$(getent passwd "$(id -u)" | cut -d: -f6)
state() {
	(cd "$POD" && find . -path ./tmp -prune -o -printf '%p %s %T@\n' | sort)   # names, sizes, times
	ls -A "$POD/tmp"   # temporary files are unlinked: it stays empty
	for d in "$PWHOME/.config/kahu" "$PWHOME/.local/share/kahu" "$PWHOME/.kube"; do
		[ -e "$d" ] && (find "$d" | sort)
	done
	true
}
state >"$T_DIR/state-before"

t_ok "kahu in a pod: cluster check through the service account" in_pod cluster check
t_ok "backup create from a run with no kubeconfig and no HOME" \
	in_pod backup create pod-1 --include-namespaces shop -o json
t_py "... Completed" 'assert d["status"] == "Completed" and d["items"] > 0, d' "$T_OUT"
t_ok "backup describe" in_pod backup describe pod-1 -o json
t_py "... records the in-cluster context and the service's address" "
c = d['cluster']
assert c['context'] == 'in-cluster' and c['server'] == 'https://127.0.0.1:$PORT', c" "$T_OUT"
t_ok "the backup is in the bucket" s3_client kahu list incluster/backups/pod-1/
t_grep "... its manifest" "^incluster/backups/pod-1/backup.json [0-9]+$" "$T_OUT"
t_grep "... and its archive, encrypted" "^incluster/backups/pod-1/metadata.tar.zst.kenc [0-9]+$" "$T_OUT"
t_ok "an incremental backup in the pod" in_pod backup create pod-2 --include-namespaces shop --incremental

CM=shop-settings
curl -sS --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" -X DELETE \
	"$CLUSTER_URL/api/v1/namespaces/shop/configmaps/$CM" >/dev/null
t_ok "restore create in the pod, from the S3 location" in_pod restore create r1 --from-backup pod-2
cluster_admin GET "dump?namespace=shop" >"$T_OUT"
t_py "... brings ConfigMap $CM back" "assert any(o['kind'] == 'ConfigMap' and o['metadata']['name'] == '$CM' for o in d['items'])" "$T_OUT"
t_ok "backup list in the pod" in_pod backup list
t_grep "... shows both" "^pod-2 " "$T_OUT"

state >"$T_DIR/state-after"
diff "$T_DIR/state-before" "$T_DIR/state-after" >"$T_OUT"
t_result $? "nothing was written in the pod's files, its emptyDir or a home directory"

# The refusals a pod can meet.
t_exit 66 "without the service account token: exit 66, naming the file" \
	env -i PATH="$PATH" KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$PORT" \
	KAHU_IN_CLUSTER_ROOT="$T_DIR/nowhere" KAHU_CONFIG="$POD/etc/kahu/config.json" \
	"$KAHU" cluster check
t_grep "... the token's path" "cannot read the service account token $T_DIR/nowhere/var/run/secrets/kubernetes.io/serviceaccount/token" "$T_ERR"
chmod 0444 "$POD/etc/kahu-key/key"
t_exit 77 "a key Secret readable by others is refused" in_pod backup create pod-3 --include-namespaces shop
t_grep "... saying why" "permissions 0444 for '$POD/etc/kahu-key/key' are too open" "$T_ERR"
chmod 0440 "$POD/etc/kahu-key/key"
t_exit 64 "--all-contexts in a pod (no kubeconfig): refused" in_pod backup create all --all-contexts
t_grep "... saying why" "the kubeconfig defines no context" "$T_ERR"

t_done

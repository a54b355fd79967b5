#!/usr/bin/env bash
# The s3 provider (kahu-s3.so) against s3rver behind a verifying proxy that recomputes
# every request's SigV4 signature with its own code and checks every payload hash
# (tests/s3/): a round trip through the test cluster (backup, list, describe, verify,
# download, restore, delete, prune), what kahu wrote read back by the AWS SDK,
# multipart uploads with small parts, listings of more than 1,000 objects, the server
# going away in the middle of an upload, Object Lock, virtual-host addressing, web
# identity, and the errors: wrong secret, missing bucket, unreachable endpoint.
. "$(dirname "$0")/lib.sh"
. "$top_srcdir/tests/cluster/cluster.sh"
. "$top_srcdir/tests/s3/s3.sh"

s3_available
case $? in
1) t_skip "s3 provider tests" "$S3_MISSING"; t_done; exit 0 ;;
2) t_result 1 "s3rver and the AWS SDK are installed: $S3_MISSING"; t_done; exit 1 ;;
esac

WEBID_TOKEN=web-identity-token-for-tests
WEBID_ROLE=arn:aws:iam::123456789012:role/kahu-backup
s3_start --sts-token "$WEBID_TOKEN" --sts-role "$WEBID_ROLE" --sts-ttl 200 ||
	{ t_result 1 "s3rver and the verifying proxy start"; t_done; exit 1; }

# Data that does not compress: ten ConfigMaps of ~900 KB (random base64) in namespace
# bulk, so that one archive needs more than one 5 MiB part.
"$PYTHON" - "$T_DIR/bulk.yaml" <<'PY'
import base64, os, sys
with open(sys.argv[1], "w") as f:
    f.write("apiVersion: v1\nkind: Namespace\nmetadata: {name: bulk}\n")
    for i in range(10):
        blob = base64.b64encode(os.urandom(675 * 1024)).decode()
        f.write("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: blob-%d, namespace: bulk}\n"
                "data: {blob: %s}\n" % (i, blob))
PY
cluster_start main --seed "$top_srcdir/examples/demo-apps.yaml" --seed "$T_DIR/bulk.yaml" ||
	{ t_result 1 "test cluster starts"; t_done; exit 1; }
KC=$CLUSTER_KUBECONFIG
kahu_k() { "$KAHU" --kubeconfig "$KC" "$@"; }

CFG=$XDG_CONFIG_HOME/kahu/config.json
mkdir -p "$XDG_CONFIG_HOME/kahu"
write_config() { # extra locations JSON (",\"name\": {...}")
	cat >"$CFG" <<EOF
{"version": 1, "defaultLocation": "s3",
 "locations": {
  "s3": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                      "region": "eu-west-3", "prefix": "clusters/main"}},
  "big": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                       "prefix": "big", "part-size": "5M"}},
  "vhost": {"provider": "s3", "config": {"bucket": "kahu", "path-style": "false",
                                         "endpoint": "http://localhost:$S3_PORT", "prefix": "vh"}},
  "locked": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                          "prefix": "worm", "object-lock-mode": "compliance",
                                          "object-lock-days": "7"}},
  "nobucket": {"provider": "s3", "config": {"bucket": "no-such-bucket", "endpoint": "$S3_ENDPOINT"}},
  "down": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "http://127.0.0.1:1"}},
  "badlock": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                           "object-lock-mode": "forever", "object-lock-days": "7"}},
  "smallpart": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                             "part-size": "1M"}},
  "noflight": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$S3_ENDPOINT",
                                            "parts-in-flight": "0"}},
  "tls": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$CLUSTER_URL"}},
  "tlsca": {"provider": "s3", "config": {"bucket": "kahu", "endpoint": "$CLUSTER_URL",
                                         "ca-bundle": "$CLUSTER_CA"}}$1}}
EOF
	chmod 600 "$CFG"
}
write_config ""
REQ=$S3_STATE/requests.jsonl

# ---- round trip ----
t_ok "backup create b1 to an s3 location" kahu_k backup create b1 --include-namespaces shop,default
t_grep "... completes" "Backup b1 completed" "$T_OUT"
t_ok "backup list" "$KAHU" backup list
t_grep "... shows b1 on location s3" "^b1 +Completed .* s3$" "$T_OUT"
t_ok "backup describe b1" "$KAHU" backup describe b1 -o json
t_py "... names it" 'assert "b1" in json.dumps(d)' "$T_OUT"
t_ok "backup verify b1" "$KAHU" backup verify b1
t_grep "... intact" "is intact" "$T_OUT"
rm -rf "$T_DIR/x1"
t_ok "backup download b1 --extract" "$KAHU" backup download b1 --extract "$T_DIR/x1"
[ -s "$T_DIR/x1/kahu/index.jsonl" ]; t_result $? "... has the index"

# the objects, read by an independent client (the AWS SDK) through the proxy
t_ok "the AWS SDK lists what kahu wrote" s3_client kahu list clusters/main/
t_grep "... the manifest under the prefix" "^clusters/main/backups/b1/backup.json [0-9]+$" "$T_OUT"
t_grep "... the archive" "^clusters/main/backups/b1/metadata.tar.zst.kenc [0-9]+$" "$T_OUT"
t_nogrep "... no lock left behind" "locks/" "$T_OUT"
t_ok "the AWS SDK reads the manifest" s3_client kahu get clusters/main/backups/b1/backup.json
t_py "... a JSON manifest of b1" 'assert d.get("name") == "b1" or "b1" in json.dumps(d)' "$T_OUT"

# every request of kahu: signed with the payload's hash (never UNSIGNED-PAYLOAD) and
# accepted by the proxy's own SigV4 check
"$PYTHON" - "$REQ" >"$T_OUT" 2>&1 <<'PY'
import json, re, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if not r["ua"].startswith("kahu-s3/"):
        continue
    n += 1
    assert re.fullmatch(r"[0-9a-f]{64}", r["content_sha256"]), r
    assert r["status"] < 400 or r["method"] in ("HEAD", "GET") and r["status"] == 404, r
assert n > 10, n
print(n, "requests")
PY
t_result $? "every kahu request carries its payload hash and passes the signature check"

# restore: remove a ConfigMap from the cluster, restore it from the s3 backup
CM=shop-settings
curl -sS --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" -X DELETE \
	"$CLUSTER_URL/api/v1/namespaces/shop/configmaps/$CM" >/dev/null
cluster_admin GET "dump?namespace=shop" >"$T_OUT"
t_py "ConfigMap $CM deleted from the cluster" "assert not any(o['kind'] == 'ConfigMap' and o['metadata']['name'] == '$CM' for o in d['items'])" "$T_OUT"
t_ok "restore create from the s3 backup" kahu_k restore create r1 --from-backup b1 --include-namespaces shop
cluster_admin GET "dump?namespace=shop" >"$T_OUT"
t_py "... brings ConfigMap $CM back" "assert any(o['kind'] == 'ConfigMap' and o['metadata']['name'] == '$CM' for o in d['items'])" "$T_OUT"

# delete and prune
t_ok "a second backup b2 (--ttl 1s)" kahu_k backup create b2 --include-namespaces default --ttl 1s
sleep 2
t_ok "prune removes the expired b2" "$KAHU" backup prune
t_grep "... says so" "removed b2" "$T_OUT"
t_ok "backup delete b1" "$KAHU" backup delete b1 --yes
"$KAHU" backup list -o name >"$T_OUT" 2>&1
[ ! -s "$T_OUT" ]; t_result $? "... no backups left on the location"
s3_client kahu list clusters/main/backups/ >"$T_OUT" 2>"$T_ERR"
[ ! -s "$T_OUT" ]; t_result $? "... and no objects of them in the bucket (the SDK's view)"

# ---- virtual-host addressing (BUCKET.localhost) ----
t_ok "backup to a virtual-host addressed location" kahu_k backup create vh1 --include-namespaces default --location vhost
t_ok "... verifies" "$KAHU" backup verify vh1 --location vhost
t_ok "... the objects are in the bucket" s3_client kahu list vh/backups/vh1/
t_grep "... manifest" "vh/backups/vh1/backup.json" "$T_OUT"

# ---- multipart ----
: >"$REQ"
t_ok "backup of 6+ MiB of incompressible data with 5 MiB parts" kahu_k backup create m1 --include-namespaces bulk --location big
"$PYTHON" - "$REQ" >"$T_OUT" 2>&1 <<'PY'
import json, sys
parts = [json.loads(l) for l in open(sys.argv[1])]
parts = sorted((r for r in parts if r["method"] == "PUT" and r["part"]), key=lambda r: r["part"])
assert len(parts) >= 2, parts
assert [r["part"] for r in parts] == list(range(1, len(parts) + 1)), parts
assert all(r["status"] == 200 for r in parts)
assert all(r["body"] == 5 * 1024 * 1024 for r in parts[:-1]), [r["body"] for r in parts]
print(len(parts), "parts")
PY
t_result $? "... went up as a multipart upload of 5 MiB parts"
t_ok "... verifies (read back with ranged GETs)" "$KAHU" backup verify m1 --location big
s3_client kahu get big/backups/m1/metadata.tar.zst.kenc >"$T_DIR/m1.bin" 2>"$T_ERR"
SIZE=$(stat -c %s "$T_DIR/m1.bin")
[ "$SIZE" -gt $((5 * 1024 * 1024)) ]; t_result $? "... the SDK reads the whole archive ($SIZE bytes)"
t_exit 78 "part-size below S3's 5 MiB minimum is refused" kahu_k backup create sp --location smallpart
t_grep "... naming the limits" "part-size \"1M\" is not a size from 5M to 5G" "$T_ERR"
t_exit 78 "parts-in-flight 0 is refused" kahu_k backup create sp --location noflight
t_grep "... naming the limits" "parts-in-flight \"0\" is not a number from 1 to 16" "$T_ERR"

# transient failures: two 503 SlowDown answers to PUTs are retried
s3_fault '{"status": 503, "times": 2, "method": "PUT"}'
t_ok "a backup through two 503 SlowDown answers" kahu_k backup create m2 --include-namespaces default --location big
s3_fault '{}'

# parts go out in parallel: the proxy answers no part until two wait at once
s3_fault '{"gather": 2, "method": "PUT", "parts_only": true}'
t_ok "a multipart backup with parts in flight at once" kahu_k backup create mp --include-namespaces bulk --location big
curl -sS "$S3_ENDPOINT/__proxy/stats" >"$T_OUT"
t_py "... two parts were sent at the same time" 'assert d["gathered"] is True, d' "$T_OUT"
t_ok "... and it verifies" "$KAHU" backup verify mp --location big
s3_fault '{}'

# a part whose connection is cut is sent again on its own
s3_fault '{"drop": 1, "method": "PUT", "parts_only": true}'
t_ok "a multipart backup whose first part upload is cut off" kahu_k backup create m4 --include-namespaces bulk --location big
curl -sS "$S3_ENDPOINT/__proxy/stats" >"$T_OUT"
t_py "... the part was cut once" 'assert d["faults"] == 1, d' "$T_OUT"
t_ok "... and the backup verifies" "$KAHU" backup verify m4 --location big
# errors inside a 200 answer to CompleteMultipartUpload
s3_fault '{"complete_error": "InternalError"}'
t_ok "a 200 CompleteMultipartUpload answer with InternalError inside is retried" kahu_k backup create m5 --include-namespaces bulk --location big
curl -sS "$S3_ENDPOINT/__proxy/stats" >"$T_OUT"
t_py "... (it was answered so once)" 'assert d["faults"] == 1, d' "$T_OUT"
s3_fault '{"complete_error": "InvalidPart", "times": 100}'
t_fail "InvalidPart inside a 200 CompleteMultipartUpload answer fails the backup" kahu_k backup create m6 --include-namespaces bulk --location big
t_grep "... naming the object and the error" "completing the upload of backups/m6/.*InvalidPart" "$T_ERR"
s3_fault '{}'
curl -sS "$S3_ENDPOINT/__proxy/stats" >"$T_OUT"
t_py "... and its upload is aborted" 'assert d["uploads"] == 0, d' "$T_OUT"

# ---- the server going away in the middle of an upload ----
s3_fault '{"down_after_parts": 1}'
t_fail "a backup whose server goes away after the first part fails" kahu_k backup create gone --include-namespaces bulk --location big
t_grep "... saying the server cannot be reached" "big|S3|upload|connect|server|Empty reply|reset" "$T_ERR"
s3_fault '{}'
s3_client kahu list big/backups/gone/ >"$T_OUT" 2>"$T_ERR"
t_nogrep "... nothing of it is visible" "metadata.tar|backup.json" "$T_OUT"
curl -sS "$S3_ENDPOINT/__proxy/stats" >"$T_OUT"
t_py "... its multipart upload is left unfinished on the server" 'assert d["uploads"] >= 1, d' "$T_OUT"
t_ok "prune on that location" "$KAHU" backup prune --location big
curl -sS "$S3_ENDPOINT/__proxy/stats" >"$T_OUT"
t_py "... aborts the unfinished upload" 'assert d["uploads"] == 0, d' "$T_OUT"
t_ok "... and the location still works" kahu_k backup create m3 --include-namespaces default --location big

# ---- Ctrl-C while a part upload waits for an answer that does not come ----
s3_fault '{"hold": true, "method": "PUT", "parts_only": true}'
"$KAHU" --kubeconfig "$KC" backup create int1 --include-namespaces bulk --location big \
	>"$T_DIR/int.out" 2>"$T_DIR/int.err" &
KPID=$!
for i in $(seq 1 1200); do
	curl -sS "$S3_ENDPOINT/__proxy/stats" | grep -q '"held": [1-9]' && break
	sleep 0.1
done
kill -INT "$KPID"
wait "$KPID"
RC=$?
[ "$RC" -eq 130 ]; t_result $? "Ctrl-C while a part gets no answer ends the backup at once (130, got $RC)"
cp "$T_DIR/int.err" "$T_ERR"
t_grep "... saying it was interrupted" "interrupt" "$T_ERR"
curl -sS "$S3_ENDPOINT/__proxy/stats" >"$T_OUT"
t_py "... after aborting its upload (the tidy-up calls still go out)" 'assert d["uploads"] == 0, d' "$T_OUT"
s3_fault '{}'
s3_client kahu list big/backups/int1/ >"$T_OUT" 2>"$T_ERR"
t_nogrep "... and nothing of it is visible" "metadata.tar|backup.json" "$T_OUT"

# ---- more than 1,000 objects: ListObjectsV2 continuation ----
t_ok "1,100 objects under the location's key prefix" s3_client kahu fill big/backups/m1/filler- 1100
: >"$REQ"
t_ok "backup list on that location" "$KAHU" backup list --location big
t_grep "... still sees m3, listed after them" "^m3 +Completed" "$T_OUT"
grep -c '"continuation-token"' "$REQ" >"$T_OUT"
[ "$(cat "$T_OUT")" -ge 1 ]; t_result $? "... by following the continuation token"

# ---- Object Lock ----
: >"$REQ"
t_ok "backup to a location with object-lock-mode=compliance, 7 days" kahu_k backup create w1 --include-namespaces default --location locked
"$PYTHON" - "$REQ" >"$T_OUT" 2>&1 <<'PY'
import datetime, json, sys
puts = [json.loads(l) for l in open(sys.argv[1])]
puts = [r for r in puts if r["method"] in ("PUT", "POST") and r["status"] == 200
        and "/backups/" in "/" + r["key"] and "uploadId" not in r["query"]
        and "partNumber" not in r["query"]]
assert len(puts) >= 3, puts
now = datetime.datetime.now(datetime.timezone.utc)
for r in puts:
    assert r["lock_mode"] == "COMPLIANCE", r
    until = datetime.datetime.strptime(r["lock_until"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    assert 6.9 < (until - now).total_seconds() / 86400 <= 7.01, r
    assert r["content_md5"], r
print(len(puts), "objects with retention")
PY
t_result $? "... every backup object carries retention headers and Content-MD5"
t_ok "... the SDK sees the retention" s3_client kahu head worm/backups/w1/backup.json
t_py "... COMPLIANCE" 'assert d["lockMode"] == "COMPLIANCE", d' "$T_OUT"
t_fail "delete of the locked backup is refused" "$KAHU" backup delete w1 --yes --location locked
t_grep "... saying until when" "locked until [0-9]{4}-[0-9]{2}-[0-9]{2}" "$T_ERR"
t_ok "... and the backup is still there" "$KAHU" backup verify w1 --location locked
t_exit 78 "object-lock-mode forever is refused" kahu_k backup create x --location badlock
t_grep "... naming the key" "object-lock-mode \"forever\" is not governance or compliance" "$T_ERR"

# ---- errors ----
AWS_SECRET_ACCESS_KEY=wrong-secret-value-123 t_exit 77 "a wrong secret is the auth error (77)" \
	kahu_k backup create bad --include-namespaces default
t_grep "... saying S3 rejected the credentials" "rejected the credentials.*SignatureDoesNotMatch" "$T_ERR"
cat "$T_OUT" "$T_ERR" >"$T_DIR/all"
t_nogrep "... without the secret in the output" "wrong-secret-value-123|$S3_SECRET" "$T_DIR/all"
AWS_ACCESS_KEY_ID=AKIANOSUCHKEY t_exit 77 "an unknown access key is the auth error (77)" "$KAHU" backup list
t_grep "... InvalidAccessKeyId" "InvalidAccessKeyId" "$T_ERR"
noenv() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$@"; }
t_exit 77 "no credentials anywhere: the auth error" noenv "$KAHU" backup list
t_grep "... saying where they may come from" "no S3 credentials: set AWS_ACCESS_KEY_ID" "$T_ERR"
t_exit 78 "a missing bucket is a configuration error (78)" "$KAHU" backup list --location nobucket
t_grep "... naming it" "bucket no-such-bucket does not exist" "$T_ERR"
t_exit 75 "an unreachable endpoint is a temporary failure (75)" "$KAHU" backup list --location down
t_grep "... naming it" "cannot connect to the S3 endpoint http://127.0.0.1:1" "$T_ERR"

# TLS: the test cluster's HTTPS port stands in for an endpoint with a private CA
t_exit 74 "an endpoint whose certificate is not trusted is a TLS failure (74)" "$KAHU" backup list --location tls
t_grep "... saying so" "TLS with the S3 endpoint 127.0.0.1:[0-9]+ failed.*ca-bundle" "$T_ERR"
t_fail "with the CA in ca-bundle, TLS succeeds (the server is no S3)" "$KAHU" backup list --location tlsca
t_nogrep "... no TLS error" "TLS" "$T_ERR"

# credentials from a shared credentials file named by the location, with a profile
cat >"$T_DIR/aws-credentials" <<EOF
[default]
aws_access_key_id = AKIANOSUCHKEY
aws_secret_access_key = nope
[kahu]
aws_access_key_id = $S3_KEY_ID
aws_secret_access_key = $S3_SECRET
EOF
chmod 600 "$T_DIR/aws-credentials"
write_config ",
  \"file\": {\"provider\": \"s3\", \"config\": {\"bucket\": \"kahu\", \"endpoint\": \"$S3_ENDPOINT\",
             \"prefix\": \"clusters/main\", \"credentials-file\": \"$T_DIR/aws-credentials\", \"profile\": \"kahu\"}},
  \"webid\": {\"provider\": \"s3\", \"config\": {\"bucket\": \"kahu\", \"endpoint\": \"$S3_ENDPOINT\",
             \"prefix\": \"webid\", \"sts-endpoint\": \"$S3_ENDPOINT/__sts\"}}"
t_ok "credentials from the location's credentials file and profile" noenv "$KAHU" backup list --location file

# web identity: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, exchanged with the test STS;
# the STS's credentials last 200 s, less than kahu's renewal margin, so every request
# renews them
printf '%s\n' "$WEBID_TOKEN" >"$T_DIR/webid-token"
: >"$REQ"
webid() { noenv AWS_ROLE_ARN="$WEBID_ROLE" AWS_WEB_IDENTITY_TOKEN_FILE="$T_DIR/webid-token" "$@"; }
t_ok "web identity: a backup with credentials from STS" webid "$KAHU" --kubeconfig "$KC" backup create wi1 --include-namespaces default --location webid
t_ok "... verifies" webid "$KAHU" backup verify wi1 --location webid
printf 'another-token\n' >"$T_DIR/webid-token"
t_exit 77 "... a token STS refuses is the auth error" webid "$KAHU" backup list --location webid
t_grep "... naming the role" "STS .* refused AssumeRoleWithWebIdentity for role $WEBID_ROLE" "$T_ERR"
curl -sS "$S3_ENDPOINT/__proxy/stats" >"$T_OUT"
t_py "web identity credentials are renewed before they expire" 'assert d["sts"] >= 3, d' "$T_OUT"

# a bucket in another region than the location says: AWS answers 400 with the region
S3_PROXY_FLAGS+=(--region eu-west-3)
s3_proxy_restart || t_result 1 "the proxy restarts"
t_exit 78 "a location whose region is not the bucket's is a configuration error (78)" "$KAHU" backup list --location big
t_grep "... naming the bucket's region" "bucket kahu is in region eu-west-3, not us-east-1: set the location's region" "$T_ERR"
t_ok "... and a location with the right region works" "$KAHU" backup list --location s3

s3_stop
t_done

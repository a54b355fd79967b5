#!/usr/bin/env bash
# Regenerates the generated seeds of the fuzz targets (tests/fuzz/corpus/<name>/gen-*)
# from real inputs: the test cluster's answers (LIST pages, discovery documents, Status
# bodies, its kubeconfig) and what the real kahu binary writes with the fixed fuzz key
# (envelopes, manifests, index lines, bundles).  The other seeds are written by hand.
#
#   tests/fuzz/mkseeds.sh BUILD_DIR        (BUILD_DIR holds a built kahu)
#
# Nothing of the shared corpus (../shared/corpus) is copied: it is data under its own
# licenses; `make fuzz` reads it from there at run time instead.
set -euo pipefail
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
top_builddir=$(cd "${1:?usage: mkseeds.sh BUILD_DIR}" && pwd)
export top_srcdir top_builddir
KAHU=$top_builddir/kahu
C=$top_srcdir/tests/fuzz/corpus
. "$top_srcdir/tests/cli/lib.sh" >/dev/null
. "$top_srcdir/tests/cluster/cluster.sh"

for t in discovery envelope extract index kubeconfig list listscan manifest status; do
	mkdir -p "$C/$t"
	rm -f "$C/$t"/gen-*
done

# ---- the unit tests' kubeconfigs, alone and merged as KUBECONFIG merges files
U=$top_srcdir/tests/unit/data/kubeconfig
for f in "$U"/*.yaml; do cp "$f" "$C/kubeconfig/gen-unit-${f##*/}"; done
{ cat "$U/merge-a.yaml"; printf -- '---8<---\n'; cat "$U/merge-b.yaml"; } >"$C/kubeconfig/gen-unit-merge-a-b"
{ cat "$U/merge-b.yaml"; printf -- '---8<---\n'; cat "$U/merge-a.yaml"; printf -- '---8<---\n'; cat "$U/token.yaml"; } \
	>"$C/kubeconfig/gen-unit-merge-b-a-token"
{ cat "$U/exec-v1.yaml"; printf -- '---8<---\n'; cat "$U/certs-data.yaml"; } >"$C/kubeconfig/gen-unit-merge-exec-certs"

# ---- crafted tar archives for the extract target: hostile members of every kind
python3 - "$C/extract" <<'PY'
import io, sys, tarfile
out = sys.argv[1]
def member(name, data=b"{}", **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(ti, k, v)
    if ti.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
        ti.size = len(data)
        return ti, io.BytesIO(data)
    return ti, None
def tar(path, members, fmt=tarfile.PAX_FORMAT, mode=b"t", tail=b""):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        for ti, f in members:
            t.addfile(ti, f)
    # without tarfile's padding to 10 KiB, as kahu writes tars
    data = b.getvalue().rstrip(b"\0")
    data += bytes(-len(data) % 512) + bytes(1024)
    open(out + "/gen-crafted-" + path, "wb").write(mode + data + tail)
def ok():
    return [member("resources/", type=tarfile.DIRTYPE, mode=0o755),
            member("resources/configmaps/namespaces/shop/web.json", b'{"kind":"ConfigMap"}', mode=0o644)]
tar("ok", ok())
tar("ok-encrypted", ok(), mode=b"e")
tar("ok-gnu", ok(), fmt=tarfile.GNU_FORMAT)
tar("ok-ustar", ok(), fmt=tarfile.USTAR_FORMAT)
tar("empty", [])
tar("symlink", [member("resources", type=tarfile.SYMTYPE, linkname="/etc"),
                member("resources/passwd", b"x")])
tar("hardlink", [member("a.json"), member("b.json", type=tarfile.LNKTYPE, linkname="a.json")])
tar("dotdot", [member("../escape.json")])
tar("dotdot-inner", [member("resources/../../escape.json")])
tar("absolute", [member("/tmp/kahu-fuzz-absolute.json")])
tar("dot-prefix", [member("./resources/x.json")])
tar("double-slash", [member("resources//x.json")])
tar("device", [member("dev", type=tarfile.CHRTYPE, devmajor=1, devminor=3)])
tar("fifo", [member("fifo", type=tarfile.FIFOTYPE)])
tar("long-name-pax", [member("resources/" + "n" * 250 + "/" + "m" * 240 + ".json")])
tar("long-name-gnu", [member("resources/" + "g" * 300 + ".json")], fmt=tarfile.GNU_FORMAT)
tar("component-too-long", [member("resources/" + "c" * 300 + ".json")])
tar("duplicate", [member("a.json", b"1"), member("a.json", b"2")])
tar("file-then-dir", [member("a", b"1"), member("a/b.json", b"2")])
tar("dir-then-file", [member("a", type=tarfile.DIRTYPE), member("a", b"2")])
tar("control-char", [member("resources/a\x01b.json")])
tar("unicode", [member("resources/\u00e9t\u00e9/\u65e5\u672c.json")])
tar("mode-setuid", [member("suid.json", mode=0o4777)])
tar("trailing-garbage", ok(), tail=b"garbage after the end")
tar("trailing-zeros", ok(), tail=bytes(4096))
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("big.json"); ti.size = 100000
    t.addfile(ti, io.BytesIO(bytes(100000)))
open(out + "/gen-crafted-truncated-member", "wb").write(b"t" + b.getvalue()[:3000])
PY

cluster_start main --seed "$top_srcdir/examples/demo-apps.yaml" >/dev/null
api() { # PATH [ACCEPT]: the raw answer (status line, headers, body) of a GET
	curl -sS -i --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" \
		-H "Accept: ${2:-application/json}" "$CLUSTER_URL$1"
}
# The raw answer split: status line and body.
body() { api "$@" | python3 -c 'import sys; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d.split(b"\r\n\r\n", 1)[1])'; }
# One response of fuzz_list.c's input format from one GET: status, the headers it
# passes on, an empty line, the body.
response() {
	api "$1" | python3 -c '
import sys
raw = sys.stdin.buffer.read()
head, body = raw.split(b"\r\n\r\n", 1)
lines = head.split(b"\r\n")
keep = [l for l in lines[1:] if l.lower().startswith((b"retry-after:", b"content-type:"))]
sys.stdout.buffer.write(lines[0].split()[1] + b"\n" + b"".join(l + b"\n" for l in keep) + b"\n" + body)'
}
# The continue token in a response file, percent-encoded.
cont_of() {
	python3 -c '
import json, sys, urllib.parse
b = open(sys.argv[1]).read().split("\n\n", 1)[1]
print(urllib.parse.quote(json.loads(b).get("metadata", {}).get("continue", ""), safe=""))' "$1"
}

# ---- discovery documents: aggregated and legacy
AGG='application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'
AGG1='application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList'
body /api "$AGG" >"$C/discovery/gen-aggregated-api.json"
body /apis "$AGG" >"$C/discovery/gen-aggregated-apis.json"
body /apis "$AGG1" >"$C/discovery/gen-aggregated-apis-v2beta1.json"
body /api >"$C/discovery/gen-legacy-api.json"
body /apis >"$C/discovery/gen-legacy-apis.json"
for gv in api/v1 apis/apps/v1 apis/batch/v1 apis/rbac.authorization.k8s.io/v1 \
	apis/apiextensions.k8s.io/v1 apis/snapshot.storage.k8s.io/v1; do
	body "/$gv" >"$C/discovery/gen-legacy-$(echo "$gv" | tr / -).json"
done
cp "$top_srcdir"/tests/unit/data/discovery/*.json "$C/discovery/" 2>/dev/null || true
for f in "$C"/discovery/*.json; do
	case ${f##*/} in gen-*) ;; *) mv "$f" "$C/discovery/gen-unit-${f##*/}" ;; esac
done

# ---- Status bodies of error answers
body /api/v1/namespaces/default/configmaps/missing >"$C/status/gen-404-notfound.json"
body /apis/nosuch.example.com/v1/things >"$C/status/gen-404-group.json"
curl -sS --cacert "$CLUSTER_CA" -H "Authorization: Bearer wrong" "$CLUSTER_URL/api/v1/namespaces" \
	>"$C/status/gen-401.json"
curl -sS --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" -H 'Content-Type: application/json' \
	-X POST --data '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}' \
	"$CLUSTER_URL/api/v1/namespaces" >"$C/status/gen-409-exists.json"
curl -sS --cacert "$CLUSTER_CA" -H "Authorization: Bearer $CLUSTER_TOKEN" -H 'Content-Type: application/json' \
	-X POST --data '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}' \
	"$CLUSTER_URL/api/v1/namespaces/default/configmaps" >"$C/status/gen-422-invalid.json"
body /apis/metrics.k8s.io/v1beta1 >"$C/status/gen-503-apiservice.json"

# ---- LIST pages, in fuzz_list.c's format: one page, paged lists, 410 Expired
L=$C/list
response /api/v1/configmaps >"$L/gen-configmaps"
response /api/v1/namespaces/default/configmaps?labelSelector=app%3Dweb >"$L/gen-configmaps-selected"
response /api/v1/namespaces >"$L/gen-namespaces"
response /apis/apps/v1/deployments >"$L/gen-deployments"
response /api/v1/serviceaccounts?limit=2 >"$L/gen-serviceaccounts-page1"
response /api/v1/nodes >"$L/gen-nodes"
response /apis/apiextensions.k8s.io/v1/customresourcedefinitions?limit=1 >"$L/gen-crds-page1"
# Three pages following each other's continue tokens.
p=/api/v1/configmaps?limit=2
for i in 1 2 3; do
	response "$p" >"$T_DIR/page$i"
	c=$(cont_of "$T_DIR/page$i")
	p="/api/v1/configmaps?limit=2&continue=$c"
done
{ cat "$T_DIR/page1"; printf '\n%%%%%%\n'; cat "$T_DIR/page2"; printf '\n%%%%%%\n'; cat "$T_DIR/page3"; } \
	>"$L/gen-configmaps-3pages"
# A page, then 410 Expired with an inconsistent continue token, then the rest.
cluster_admin POST faults '[{"match":{"verb":"list","resource":"configmaps"},"action":"expire-continue","page":2,"times":1}]' >/dev/null
response /api/v1/configmaps?limit=3 >"$T_DIR/e1"
response "/api/v1/configmaps?limit=3&continue=$(cont_of "$T_DIR/e1")" >"$T_DIR/e2"
response "/api/v1/configmaps?limit=3&continue=$(cont_of "$T_DIR/e2")" >"$T_DIR/e3"
{ cat "$T_DIR/e1"; printf '\n%%%%%%\n'; cat "$T_DIR/e2"; printf '\n%%%%%%\n'; cat "$T_DIR/e3"; } \
	>"$L/gen-configmaps-expired"
cluster_admin DELETE faults >/dev/null
python3 -c 'import sys; print(open(sys.argv[1]).read().split("\n\n", 1)[1], end="")' "$T_DIR/e2" \
	>"$C/status/gen-410-expired.json"
# Errors: 429 with Retry-After.
cluster_admin POST faults '[{"match":{"verb":"list","resource":"secrets"},"action":"429","retry_after":2,"times":1}]' >/dev/null
response /api/v1/secrets >"$L/gen-secrets-429"
cluster_admin DELETE faults >/dev/null
# ---- the test cluster's kubeconfig (client key material replaced: not a secret to keep)
python3 - "$CLUSTER_KUBECONFIG" >"$C/kubeconfig/gen-test-cluster.yaml" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
t = re.sub(r"(client-key-data:\s*)\S+", r"\1czNjcjN0LWtleQ==", t)
t = re.sub(r"(token:\s*)\S+", r"\1s3cr3t-token", t)
sys.stdout.write(t)
PY
sed -i "s#$CLUSTER_DIR#/tmp/kahu-test-cluster#g" "$C/kubeconfig/gen-test-cluster.yaml"

# ---- backups with the fixed fuzz key, named "fixture" like the envelope fixture
export KAHU_KEY_FILE=$T_DIR/fuzz.key
printf 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n' >"$KAHU_KEY_FILE"
chmod 600 "$KAHU_KEY_FILE"
k() { "$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
export XDG_DATA_HOME=$T_DIR/enc XDG_CONFIG_HOME=$T_DIR/enc-config
k backup create fixture --labels team=shop,tier=gold --ttl 72h -q >/dev/null
B=$T_DIR/enc/kahu/backups/backups
cp "$B/fixture/metadata.tar.zst.kenc" "$C/envelope/gen-metadata.kenc"
cp "$B/fixture/backup.json" "$C/manifest/gen-encrypted.json"
k backup create fixture-incr --incremental -q >/dev/null 2>&1 || k backup create fixture-incr -q >/dev/null
cp "$B/fixture-incr/backup.json" "$C/manifest/gen-encrypted-2.json"
"$KAHU" backup download fixture --extract "$T_DIR/x" -q >/dev/null
head -n 40 "$T_DIR/x/kahu/index.jsonl" >"$C/index/gen-index-40-lines.jsonl"
i=0
while IFS= read -r line && [ $i -lt 12 ]; do
	i=$((i + 1)); printf '%s\n' "$line" >"$C/index/gen-line-$i.json"
done <"$T_DIR/x/kahu/index.jsonl"
export XDG_DATA_HOME=$T_DIR/plain
k backup create fixture --no-encryption -q >/dev/null
P=$T_DIR/plain/kahu/backups/backups/fixture
cp "$P/backup.json" "$C/manifest/gen-unencrypted.json"
{ printf z; cat "$P/metadata.tar.zst"; } >"$C/extract/gen-zstd-metadata"
# A small tar with a few members, as kahu writes them (through a backup of one namespace).
export XDG_DATA_HOME=$T_DIR/small
k backup create fixture --no-encryption --include-namespaces kube-public -q >/dev/null
zstd -dq <"$T_DIR/small/kahu/backups/backups/fixture/metadata.tar.zst" >"$T_DIR/small.tar"
{ printf t; cat "$T_DIR/small.tar"; } >"$C/extract/gen-tar-small"
{ printf e; cat "$T_DIR/small.tar"; } >"$C/extract/gen-tar-small-encrypted"
# ---- LIST bodies of generated objects for the item scanner (small sizes; the objects
# as real servers write them: managedFields keys holding escaped JSON, \u003c escapes,
# kubectl's last-applied-configuration, openAPI schemas); last, so the seeds above do
# not hold these objects
cluster_admin POST generate '{"what":"mixed","count":8,"namespaces":1,"min_size":900,"max_size":1400,"prefix":"fz"}' >/dev/null
cluster_admin POST generate '{"what":"pods","count":2,"namespaces":1,"managed_fields":1500,"prefix":"fz"}' >/dev/null
cluster_admin POST generate '{"what":"crds","count":1,"size":6000,"prefix":"fz"}' >/dev/null
body '/api/v1/namespaces/fz-0/configmaps?labelSelector=app.kubernetes.io%2Fpart-of%3Dfz' >"$C/listscan/gen-configmaps.json"
body '/api/v1/namespaces/fz-0/secrets?labelSelector=app.kubernetes.io%2Fpart-of%3Dfz' >"$C/listscan/gen-secrets.json"
body '/api/v1/namespaces/fz-0/services' >"$C/listscan/gen-services.json"
body '/apis/apps/v1/namespaces/fz-0/deployments' >"$C/listscan/gen-deployments.json"
body '/api/v1/namespaces/fz-pods-0/pods' >"$C/listscan/gen-pods.json"
body '/apis/apiextensions.k8s.io/v1/customresourcedefinitions?fieldSelector=metadata.name%3D'"$(
	body /apis/apiextensions.k8s.io/v1/customresourcedefinitions | python3 -c '
import json, sys
print([c["metadata"]["name"] for c in json.load(sys.stdin)["items"] if c["spec"]["group"].startswith("fz")][0])')" \
	>"$C/listscan/gen-crd.json"

cluster_stop main

# ---- variants: envelope headers and manifests kahu must refuse or accept
cp "$top_srcdir/tests/unit/data/envelope/pattern-70000-v1.kenc" "$C/envelope/gen-unit-pattern-70000.kenc"
python3 - "$C" <<'PY'
import json, sys
c = sys.argv[1]
env = open(c + "/envelope/gen-metadata.kenc", "rb").read()
def w(name, data):
    open(c + "/envelope/gen-" + name, "wb").write(data)
w("header-only", env[:52])
w("magic-only", env[:8])
w("truncated-chunk", env[:52 + 100])
w("header-len-19", env[:8] + b"\x00\x13" + env[10:28] + b"\x00" + env[28:])
w("header-len-0", env[:8] + b"\x00\x00" + env[10:])
w("header-len-max", env[:8] + b"\xff\xff" + env[10:])
w("flags-1", env[:11] + b"\x01" + env[12:])
w("alg-2", env[:10] + b"\x02" + env[11:])
w("run-id", env[:8] + b"\x00\x22" + env[10:11] + b"\x01" + env[12:28] + bytes(range(16)) + env[28:])
w("other-key-id", env[:12] + bytes(16) + env[28:])
w("trailing-data", env + b"more")
m = json.load(open(c + "/manifest/gen-unencrypted.json"))
def wm(name, d):
    open(c + "/manifest/gen-" + name + ".json", "w").write(
        json.dumps(d, sort_keys=True, separators=(",", ":")) + "\n")
d = dict(m, type="incremental", parent="fixture", base="fixture")
wm("incremental", d)
wm("differential-expires", dict(m, type="differential", parent="p", base="b", expires="2030-01-01T00:00:00Z"))
wm("labels", dict(m, labels={"team": "shop", "tier": "gold", "example.com/x": ""}))
wm("unknown-field", dict(m, future={"a": [1, 2]}))
wm("format-2", dict(m, format=2))
wm("failed", dict(m, status="Failed"))
wm("objects", dict(m, objects=m["objects"] * 1 + [{"path": "volumes/a.tar.zst", "size": 0, "blake2b": "0" * 64}]))
wm("leap-second", dict(m, created="2016-12-31T23:59:60.5Z"))
wm("full-with-parent", dict(m, parent="x"))
e = json.load(open(c + "/manifest/gen-encrypted.json"))
wm("format-2-run", dict(e, format=2, run="0123456789abcdef" * 2,
                        objects=e["objects"] + [{"path": "volumes/v/data-000001.tar.zst.kenc", "size": 99}]))
wm("format-1-run", dict(e, run="fedcba9876543210" * 2))
wm("format-3-run", dict(e, format=3, run="0123456789abcdef" * 2,
                        objects=e["objects"] + [{"path": "volumes/v/index.jsonl.zst.kenc", "size": 99}]))
wm("format-3", dict(m, format=3, objects=m["objects"] +
                    [{"path": "volumes/v/index.jsonl.zst", "size": 9, "blake2b": "1" * 64}]))
PY
chmod 644 "$C"/*/gen-*
ls -l "$C"/*/gen-* | awk '{s+=$5; n++} END {print n " generated seeds, " s " bytes"}'

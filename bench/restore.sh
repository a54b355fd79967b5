#!/usr/bin/env bash
# Restore benchmark: `kahu restore create --from-backup` against `kubectl create -f DIR` of
# the same objects as manifests, each into an empty test cluster, side by side in one run.
#
#   KAHU=build/kahu bench/restore.sh
#
# Cluster A gets BENCH_RESTORE_N (10,000) synthetic ConfigMaps in BENCH_NAMESPACES (10)
# namespaces; kahu backs it up, and kubectl dumps the synthetic namespaces and their
# ConfigMaps as manifests cleaned of server-set fields (what a user keeps in lieu of a
# backup).  Then, BENCH_REPS (3) times: a fresh empty cluster gets `kubectl create -f DIR`,
# another fresh empty cluster gets `kahu restore create --from-backup`; both are compared
# with each other and with A afterwards.  Writes the "restore" section of RESULTS.md.

. "$(dirname "$0")/lib.sh"
bench_init restore

N=${BENCH_RESTORE_N:-10000}
NAMESPACES=${BENCH_NAMESPACES:-10}
OBJSIZE=${BENCH_OBJECT_SIZE:-512}
DATA=$B_WORK/rows.tsv # tool rep rc wall rss_kib user sys server_cpu peak writes compare requests
: >"$DATA"
NOTES=$B_WORK/notes.md
: >"$NOTES"

bench_log "starting cluster A with $N synthetic objects"
bench_cluster_start a --synthetic "$N" --synthetic-namespaces "$NAMESPACES" --synthetic-size "$OBJSIZE"
kca=$(bench_kubeconfig a)
bench_kubectl_version a

bench_log "kahu backup create src (from A)"
"$KAHU" --kubeconfig "$kca" --no-progress backup create src >"$B_WORK/backup.out" 2>"$B_WORK/backup.err" ||
	{ cat "$B_WORK/backup.err" >&2; bench_die "kahu backup create failed"; }
backup_line=$(grep -m1 'completed' "$B_WORK/backup.out" || true)

# The user's manifests: what `kubectl get -o json` gives for the synthetic namespaces and
# their ConfigMaps, minus the fields the server sets (and the kube-root-ca.crt ConfigMap a
# namespace gets by itself), one multi-document YAML file per namespace.  (Not one `kind:
# List` per file, as `kubectl get -o yaml` writes: kubectl validates a List against
# /openapi/v2, which the test cluster does not serve, and would need --validate=false.)
bench_log "dumping the same objects as manifests with kubectl"
man=$B_WORK/manifests
mkdir -p "$man"
"$KUBECTL" --kubeconfig "$kca" get namespaces -o json >"$B_WORK/ns.json"
"$KUBECTL" --kubeconfig "$kca" get configmaps -A -o json >"$B_WORK/cm.json"
manifest_objects=$("$PYTHON" - "$B_WORK/ns.json" "$B_WORK/cm.json" "$man" <<'EOF'
import json, os, sys
nsdoc, cmdoc, out = sys.argv[1:4]
SERVER = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink")
try:
    import yaml
    def write(path, docs):
        with open(path, "w") as f:
            yaml.dump_all(docs, f, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                          explicit_start=True, default_flow_style=False)
except ImportError:  # JSON documents are YAML too
    def write(path, docs):
        with open(path, "w") as f:
            for d in docs:
                f.write("---\n" + json.dumps(d) + "\n")

def clean(o, kind):
    o = dict(o)
    o["apiVersion"], o["kind"] = "v1", kind
    o["metadata"] = {k: v for k, v in o["metadata"].items() if k not in SERVER}
    o.pop("status", None)
    if kind == "Namespace":
        o.pop("spec", None)
    return o

nss = [clean(o, "Namespace") for o in json.load(open(nsdoc))["items"]
       if o["metadata"]["name"].startswith("synthetic-")]
names = {o["metadata"]["name"] for o in nss}
write(os.path.join(out, "00-namespaces.yaml"), nss)
by_ns = {}
for o in json.load(open(cmdoc))["items"]:
    ns = o["metadata"].get("namespace")
    if ns in names and o["metadata"]["name"] != "kube-root-ca.crt":
        by_ns.setdefault(ns, []).append(clean(o, "ConfigMap"))
for ns, items in sorted(by_ns.items()):
    write(os.path.join(out, "configmaps-%s.yaml" % ns), items)
print(len(nss) + sum(len(v) for v in by_ns.values()))
EOF
)
bench_admin a GET dump >"$B_WORK/dump-a.json"
bench_cluster_stop a

# Compares a cluster's objects with A's: the synthetic namespaces and ConfigMaps must all
# be there with A's data and labels.  Prints "objects wanted present same".
compare() { # CLUSTER
	bench_admin "$1" GET dump >"$B_WORK/dump-$1.json"
	"$PYTHON" - "$B_WORK/dump-a.json" "$B_WORK/dump-$1.json" <<'EOF'
import json, sys
def load(p):
    d = {}
    for o in json.load(open(p))["items"]:
        m = o["metadata"]
        # kahu labels what it restores with kahu.io/backup-name and kahu.io/restore-name
        labels = {k: v for k, v in (m.get("labels") or {}).items() if not k.startswith("kahu.io/")}
        d[(o["kind"], m.get("namespace", ""), m["name"])] = (o.get("data"), labels)
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
# the user's objects: the synthetic Namespaces and ConfigMaps (not what every namespace
# gets by itself: kube-root-ca.crt holds each cluster's own CA, ServiceAccount default)
want = [k for k in a if k[0] in ("Namespace", "ConfigMap") and k[2].startswith("synthetic-")]
present = [k for k in want if k in b]
same = [k for k in present if a[k] == b[k]]
print(len(b), len(want), len(present), len(same))
EOF
}

run_restore() { # TOOL REP CLUSTER CMD...
	local tool=$1 rep=$2 c=$3; shift 3
	local t=$B_WORK/t-$tool-$rep rc=0 cpu0 cpu1
	bench_admin "$c" POST stats/reset '{}' >/dev/null
	cpu0=$(bench_server_cpu "$c")
	bench_measure "$t" "$@" || rc=$?
	cpu1=$(bench_server_cpu "$c")
	read -r wall rss user sys <"$t"
	local peak writes total cmp
	peak=$(bench_stat "$c" peak_concurrency)
	writes=$(bench_stat "$c" writes)
	total=$(bench_stat "$c" total)
	cmp=$(compare "$c")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$rep" "$rc" "$wall" "$rss" "$user" "$sys" \
		"$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" "$peak" "$writes" "$cmp" "$total" >>"$DATA"
	bench_log "$tool #$rep: exit $rc, ${wall}s, $((rss / 1024)) MiB, $writes writes, peak concurrency $peak; objects/wanted/present/same: $cmp"
	if [ "$rc" != 0 ]; then
		{
			echo "- $tool run $rep exited $rc; the last lines of its output:"
			echo
			echo '```'
			tail -n 15 "$t.out" "$t.err" | cut -c1-200
			echo '```'
		} >>"$NOTES"
	elif [ "$tool" = kahu ] && [ "$rep" = 1 ]; then
		echo "- kahu's own report (run 1): $(grep -m1 'Completed\|Partially\|Failed' "$t.out" || true)" >>"$NOTES"
	fi
}

for rep in $(seq 1 "$BENCH_REPS"); do
	bench_cluster_start "kubectl-$rep"
	run_restore kubectl-create "$rep" "kubectl-$rep" \
		"$KUBECTL" --kubeconfig "$(bench_kubeconfig "kubectl-$rep")" create -f "$man"
	bench_cluster_stop "kubectl-$rep"

	bench_cluster_start "kahu-$rep"
	run_restore kahu "$rep" "kahu-$rep" \
		"$KAHU" --kubeconfig "$(bench_kubeconfig "kahu-$rep")" --no-progress \
		restore create "r$rep" --from-backup src
	# Again into the same cluster: every object exists, so kahu only looks and writes
	# nothing; this prices a restore run twice (and kahu's lookups).
	run_restore kahu-again "$rep" "kahu-$rep" \
		"$KAHU" --kubeconfig "$(bench_kubeconfig "kahu-$rep")" --no-progress \
		restore create "r$rep-again" --from-backup src
	bench_cluster_stop "kahu-$rep"
done

body=$B_WORK/section.md
{
	echo "## Restore: \`kahu restore create\` against \`kubectl create -f\`"
	echo
	bench_machine
	echo "- Source: cluster A with $N synthetic ConfigMaps ($OBJSIZE-byte payload) in $NAMESPACES namespaces; kahu's backup of A: ${backup_line:-?}"
	echo "- kubectl: \`kubectl create -f DIR\` of $manifest_objects objects (the synthetic Namespaces and ConfigMaps dumped from A with \`kubectl get -o json\`, server-set fields removed, one multi-document YAML file per namespace) into a fresh empty test cluster."
	echo "- kahu: \`kahu restore create --from-backup src\` of the whole backup (default settings: --parallel 8, existing objects skipped) into another fresh empty test cluster."
	echo "- $BENCH_REPS runs each, a new empty cluster for every run; median with the range in parentheses. Server CPU: the test server's user + system time during the run; requests: all requests the server received; writes: the create/update/patch/delete requests among them."
	echo
} >"$body"
"$PYTHON" - "$DATA" >>"$body" <<'EOF'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    tool, rep, rc, wall, rss, user, sys_, scpu, peak, writes, cmp, total = line.rstrip("\n").split("\t")
    objs, want, present, same = map(int, cmp.split())
    rows[tool].append(dict(rc=int(rc), wall=float(wall), rss=int(rss) / 1024.0, cpu=float(user) + float(sys_),
                           scpu=float(scpu), peak=int(peak), writes=int(writes), objs=objs, want=want,
                           present=present, same=same, total=int(total)))

def cell(tool, k, fmt):
    vs = [r[k] for r in rows[tool]]
    m = statistics.median(vs)
    if len(vs) > 1 and min(vs) != max(vs):
        return (fmt + " (" + fmt + "–" + fmt + ")") % (m, min(vs), max(vs))
    return fmt % m

print("| tool | exit | wall s | peak RSS MiB | CPU s (user+sys) | server CPU s | peak concurrency | requests | writes | objects in the cluster after | A's synthetic objects: present / with A's data / expected |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
labels = {"kubectl-create": "kubectl create -f DIR", "kahu": "kahu restore create",
          "kahu-again": "kahu restore create, again into the same cluster (all objects exist)"}
TOOLS = ("kubectl-create", "kahu", "kahu-again")
for tool in TOOLS:
    if tool not in rows:
        continue
    rs = rows[tool]
    print("| %s | %s | %s | %s | %s | %s | %d | %s | %s | %s | %s |" % (
        labels[tool], ",".join(str(r["rc"]) for r in rs), cell(tool, "wall", "%.2f"), cell(tool, "rss", "%.1f"),
        cell(tool, "cpu", "%.2f"), cell(tool, "scpu", "%.2f"), max(r["peak"] for r in rs), cell(tool, "total", "%d"), cell(tool, "writes", "%d"),
        cell(tool, "objs", "%d"), ", ".join("%d/%d/%d" % (r["present"], r["same"], r["want"]) for r in rs)))
print()
print("### Target")
print()
bound = []
ok = all(r["rc"] == 0 and r["present"] == r["want"] == r["same"] for t in rows for r in rows[t])
if "kahu" in rows and "kubectl-create" in rows and all(r["rc"] == 0 for r in rows["kahu"]):
    k = statistics.median(r["wall"] for r in rows["kahu"])
    u = statistics.median(r["wall"] for r in rows["kubectl-create"])
    print("| target | measured | result |")
    print("|---|---|---|")
    print("| kahu restore ≥ 5× faster than kubectl create -f | %.2f s / %.2f s = %.1f× faster | %s |" %
          (u, k, u / k, "PASS" if u / k >= 5 else "MISS"))
    same_counts = len({r["objs"] for t in rows for r in rows[t]}) == 1
    srv = statistics.median(r["scpu"] for r in rows["kubectl-create"])
    ks = statistics.median(r["scpu"] for r in rows["kahu"])
    bound.append("- Is the test server the limit? It is one Python thread (one core at most). kahu's run kept it busy for "
                 "%.2f s of its %.2f s (%.0f%%) while kahu itself used %.2f s of CPU, so a faster kahu would gain little here. "
                 "Its cost per request depends on how requests arrive: %.0f µs for kubectl's one at a time (it sleeps and is "
                 "woken for each), %.0f µs for kahu's concurrent ones (the next is ready when one is done)." %
                 (ks, k, 100 * ks / k, statistics.median(r["cpu"] for r in rows["kahu"]),
                  1e6 * srv / max(1, statistics.median(r["total"] for r in rows["kubectl-create"])),
                  1e6 * ks / max(1, statistics.median(r["total"] for r in rows["kahu"]))))
    print("| both clusters hold the same objects afterwards | %s | %s |" % (
        "every run: all of A's synthetic Namespaces and ConfigMaps present with A's data and labels (kahu's own kahu.io/ labels aside); object counts %s" %
        ("equal" if same_counts else "differ: " + ", ".join("%s %s" % (t, sorted({r["objs"] for r in rows[t]})) for t in rows)),
        "PASS" if ok and same_counts else "MISS"))
    req = statistics.median(r["total"] for r in rows["kahu"])
    wr = statistics.median(r["writes"] for r in rows["kahu"])
    bound.append("- kahu sent %s requests for %s writes (kubectl: %s for %s)." % (
        format(int(req), ","), format(int(wr), ","),
        format(int(statistics.median(r["total"] for r in rows["kubectl-create"])), ","),
        format(int(statistics.median(r["writes"] for r in rows["kubectl-create"])), ",")))
    if "kahu-again" in rows:
        ag = rows["kahu-again"]
        bound.append("- A second restore into the same cluster (everything exists, so nothing is written) sent %s requests "
                     "and took %.2f s, %.2f s of it server CPU: what running a restore again costs." % (
                         format(int(statistics.median(r["total"] for r in ag)), ","),
                         statistics.median(r["wall"] for r in ag), statistics.median(r["scpu"] for r in ag)))
else:
    print("kahu restore did not complete: the target cannot be judged (see the notes below).")
print()
for tool in TOOLS:
    if tool in rows:
        w = statistics.median(r["wall"] for r in rows[tool])
        c = statistics.median(r["cpu"] for r in rows[tool])
        s = statistics.median(r["scpu"] for r in rows[tool])
        n = statistics.median(r["total"] for r in rows[tool])
        print("- %s: %.2f s wall, %.2f s CPU in the client (%.0f%%), %.2f s CPU in the test server (%.0f%% of the wall time; %.0f µs per request)." %
              (labels[tool], w, c, 100 * c / w, s, 100 * s / w, 1e6 * s / max(n, 1)))
for line in bound:
    print(line)
EOF
if [ -s "$NOTES" ]; then
	{ echo; cat "$NOTES"; } >>"$body"
fi
bench_results_write "$body"

#!/usr/bin/env bash
# How this directory was made (not run by the tests): kahu at commit 0dd8370, the last
# one whose encrypted backups hash every object (manifest format 1, envelopes without a
# run id), wrote a full backup `old1` and an incremental `old2` of the claim vol/data
# (seed.yaml) of a test cluster.  Run from a build directory of this tree:
#   KAHU=/path/to/kahu-0dd8370 top_builddir=$PWD \
#       ../tests/cli/data/compat-0dd8370-volumes/make.sh OUTDIR
# want-old1.txt and want-old2.txt are vol_tree_sum of the claim at each backup.
OUT=$(cd "$1" && pwd)
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/../../vollib.sh"
vol_setup
vol_cluster main "$(dirname "$0")/seed.yaml"
D=$(vol_dir main vol data)
mkdir -p "$D/docs/sub" "$D/empty"
printf 'first line\nsecond line\n' >"$D/docs/readme.txt"
seq 1 2000 >"$D/docs/sub/numbers.txt"
printf 'kept as it is\n' >"$D/kept.txt"
printf 'x' >"$D/name with spaces ✓"
ln -s docs/readme.txt "$D/link"
ln "$D/kept.txt" "$D/hard"
chmod 0640 "$D/docs/readme.txt"
find "$D" -exec touch -h -d '2004-05-06 07:08:09' {} +
sleep 1
"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" backup create old1 --include-namespaces vol --volume-data fs || exit 1
vol_tree_sum "$D" >"$OUT/want-old1.txt"
printf 'changed\n' >>"$D/docs/readme.txt"
rm "$D/name with spaces ✓"
printf 'new\n' >"$D/docs/added.txt"
sleep 1
"$KAHU" --kubeconfig "$CLUSTER_KUBECONFIG" backup create old2 --incremental --include-namespaces vol --volume-data fs || exit 1
vol_tree_sum "$D" >"$OUT/want-old2.txt"
cp -R "$LOC" "$OUT/location"
cp "$KAHU_KEY_FILE" "$OUT/test.key"

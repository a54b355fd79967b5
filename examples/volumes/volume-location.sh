#!/bin/sh
# Keep the metadata of backups on one location and the data of their volumes on
# another (a large, cheap bucket for the data; a small, fast or replicated store for
# the metadata).  Both locations are ordinary entries of the configuration.
#
#   NS=shop BUCKET=kahu-volumes ENDPOINT=https://s3.example:9000 ./volume-location.sh
set -eu
: "${NS:?name the namespace, e.g. NS=shop}"
: "${BUCKET:?name the bucket of the volume data, e.g. BUCKET=kahu-volumes}"

kahu location add meta --provider fs --set path=/srv/kahu/meta --default
kahu location add voldata --provider s3 \
	--set "bucket=$BUCKET,region=${REGION:-us-east-1}${ENDPOINT:+,endpoint=$ENDPOINT}" --prefix volumes

# The manifest, the resources, the log and the volume catalog go to "meta"; each
# volume's index and data go to "voldata", beside a marker that ties them to the
# manifest.  The backup exists only once both parts are written.
kahu backup create "nightly-$(date +%Y%m%d)" --include-namespaces "$NS" \
	--volume-data auto --volume-location voldata

# Incremental backups follow their parent's volume location by themselves.
kahu backup create "hourly-$(date +%Y%m%d%H)" --incremental --include-namespaces "$NS" \
	--volume-data auto

# Describe shows where the volume data is; verify reads it there; restore, download
# --volume --extract and delete follow it.  If "voldata" cannot be reached, they say
# so (exit 69) and delete keeps the metadata.
kahu backup describe "nightly-$(date +%Y%m%d)"
kahu backup verify "nightly-$(date +%Y%m%d)"

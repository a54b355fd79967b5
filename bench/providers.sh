#!/usr/bin/env bash
# Throughput and memory of the storage providers, each side by side with the tool a
# user would otherwise run on the same data:
#
#   fs    a BENCH_PROVIDER_MIB (1024) MiB object of random bytes put and got through
#         kahu-fs.so's ops, against `cat FILE > DEST` (and `cat FILE > DEST && sync
#         DEST`: the provider fsyncs what it writes) and `cat DEST > /dev/null`, on the
#         same filesystem; with a warm page cache, and a cold one when
#         /proc/sys/vm/drop_caches is writable;
#   s3    the same object as a multipart upload (default part settings) to s3rver,
#         through the verifying proxy the tests use (tests/s3/) and directly, and read
#         back (the whole object, and its second half as one ranged GET), against the
#         `aws` CLI's `s3 cp` of the same file;
#   sftp  a BENCH_SFTP_MIB (256) MiB object put and got through kahu-sftp.so against
#         OpenSSH's `sftp` client in batch mode, both to the test sshd (tests/sftp/).
#
# The provider modules are driven directly by tests/sftp/sftpdrv (any module: it loads
# it with dlopen and calls its ops, as kahu's loader does), so the numbers are the
# provider's own, with no archive or encryption in front.
#
#   bench/providers.sh                     # build/kahu, build/tests/sftp/sftpdrv
#   BENCH_PROVIDER_MIB=64 BENCH_REPS=1 BENCH_RESULTS=/tmp/r.md bench/providers.sh  # a quick look
#
# Environment: KAHU (its directory holds backends/*/.libs and tests/sftp/sftpdrv; make
# tests/sftp/sftpdrv builds the driver), SFTPDRV, BENCH_PROVIDER_MIB (1024),
# BENCH_SFTP_MIB (256), BENCH_REPS (3, the fs rows), BENCH_NET_REPS (1, the s3 and sftp
# rows), BENCH_PROVIDERS ("fs s3 sftp"), S3_NODE_MODULES (tests/s3/node_modules: s3rver
# and the AWS SDK, `npm ci` in tests/s3), AWS (the aws CLI, default from PATH; the
# rows are left out without it), BENCH_RESULTS, BENCH_KEEP.  Writes the "providers"
# section of bench/RESULTS.md.

. "$(dirname "$0")/lib.sh"
bench_init providers

BUILD=$(dirname "$KAHU")
SFTPDRV=${SFTPDRV:-$BUILD/tests/sftp/sftpdrv}
[ -x "$SFTPDRV" ] || bench_die "no $SFTPDRV: build it (make tests/sftp/sftpdrv) or set SFTPDRV"
MOD_FS=$BUILD/backends/fs/.libs/kahu-fs.so
MOD_S3=$BUILD/backends/s3/.libs/kahu-s3.so
MOD_SFTP=$BUILD/backends/sftp/.libs/kahu-sftp.so
MIB=${BENCH_PROVIDER_MIB:-1024}
SFTP_MIB=${BENCH_SFTP_MIB:-256}
NET_REPS=${BENCH_NET_REPS:-1}
PROVIDERS=${BENCH_PROVIDERS:-fs s3 sftp}
AWS=${AWS:-$(command -v aws || true)}

# The test harnesses (tests/s3/s3.sh, tests/sftp/sshd.sh) want the test library's
# variables: a directory and a list of cleanup commands, run here at exit.
top_srcdir=$B_TOP
T_DIR=$B_WORK/harness
T_CLEANUP=()
mkdir -p "$T_DIR"
providers_cleanup() {
	local c
	for c in "${T_CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
	bench_cleanup
}
trap providers_cleanup EXIT

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DROP=0
if [ -w /proc/sys/vm/drop_caches ] && sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
	DROP=1
fi

# CPU seconds (user + system) a process used so far
pid_cpu() {
	local hz
	hz=$(getconf CLK_TCK)
	sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$hz" '{ printf "%.2f\n", ($12 + $13) / hz }'
}

# Rows: ROW_CMD[id] is a shell command (run by sh under /usr/bin/time: `exec` it),
# ROW_PREP[id] an untimed command before each run, ROW_BYTES[id] the bytes it moves,
# ROW_SRV[id] the pids of the servers whose CPU the row reports.
declare -A ROW_CMD ROW_PREP ROW_BYTES ROW_SRV
D=$B_WORK/rows
mkdir -p "$D"

# run_rows REPS ID...: the rows interleaved, REPS times
run_rows() {
	local reps=$1 rep id p before after
	shift
	for rep in $(seq 1 "$reps"); do
		for id in "$@"; do
			[ -n "${ROW_PREP[$id]:-}" ] && sh -c "${ROW_PREP[$id]}"
			before=0
			for p in ${ROW_SRV[$id]:-}; do before=$(echo "$before + $(pid_cpu "$p")" | bc); done
			bench_log "$id ($rep/$reps)"
			bench_measure "$D/$id.$rep" sh -c "${ROW_CMD[$id]}" ||
				{ sed 's/^/  /' "$D/$id.$rep.err" >&2; bench_die "$id failed"; }
			after=0
			for p in ${ROW_SRV[$id]:-}; do after=$(echo "$after + $(pid_cpu "$p")" | bc); done
			printf '%.2f\n' "$(echo "$after - $before" | bc)" >"$D/$id.$rep.srv"
		done
	done
	echo "$reps" >"$D/reps"
}

# row_line ID LABEL [REFERENCE-ID]: a markdown table row from the runs of ID
row_line() {
	local id=$1 label=$2 ref=${3:-} f walls=() rss=() cpu=() srv=() w r mibs pct=
	for f in "$D/$id".[0-9]*; do
		case $f in *.out | *.err | *.time | *.srv) continue ;; esac
		read -r w r u s <"$f"
		walls+=("$w")
		rss+=("$r")
		cpu+=("$(printf '%.2f' "$(echo "$u + $s" | bc)")")
		srv+=("$(cat "$f.srv")")
	done
	w=$(bench_median "${walls[@]}")
	mibs=$(echo "scale=1; ${ROW_BYTES[$id]} / 1048576 / $w" | bc)
	echo "$mibs" >"$D/$id.mibs"
	if [ -n "$ref" ] && [ -f "$D/$ref.mibs" ]; then
		pct="$(echo "scale=0; 100 * $mibs / $(cat "$D/$ref.mibs")" | bc)%"
	fi
	local range=
	[ "${#walls[@]}" -gt 1 ] && range=" ($(bench_min "${walls[@]}")-$(bench_max "${walls[@]}"))"
	printf '| %s | %s%s | %s | %s | %.1f | %s | %s |\n' "$label" "$w" "$range" "$mibs" "$pct" \
		"$(echo "scale=1; $(bench_max "${rss[@]}") / 1024" | bc)" "$(bench_median "${cpu[@]}")" \
		"$(if [ -n "${ROW_SRV[$id]:-}" ]; then bench_median "${srv[@]}"; else echo -; fi)"
}

TABLE_HEAD='| row | wall s | MiB/s | of the reference | peak RSS MiB | CPU s | server CPU s |
|---|---|---|---|---|---|---|'

OUT=$B_WORK/section.md
: >"$OUT"

bench_log "generating ${MIB} MiB of random data"
DATA=$B_WORK/data.bin
head -c "$((MIB * 1048576))" /dev/urandom >"$DATA"
BYTES=$((MIB * 1048576))

# ---------------------------------------------------------------- fs
if [[ " $PROVIDERS " == *" fs "* ]]; then
	REPO=$B_WORK/fs-repo
	CP=$B_WORK/fs-copy
	mkdir -p "$REPO" "$CP"
	drv_fs="exec '$SFTPDRV' '$MOD_FS' path='$REPO' --"
	# put once to have the object the gets read, and check it
	sh -c "$drv_fs put bench/obj <'$DATA'" || bench_die "fs put failed"
	sh -c "$drv_fs get bench/obj" | cmp -s - "$DATA" || bench_die "fs get does not give the bytes back"
	cmp -s "$REPO/bench/obj" "$DATA" || bench_die "fs: $REPO/bench/obj is not the data"
	cp "$DATA" "$CP/obj"
	modes=warm
	[ "$DROP" = 1 ] && modes="warm cold"
	for mode in $modes; do
		# every run starts with nothing left to write back (cat's dirty pages would
		# otherwise be flushed during the next row)
		drop="; sync"
		[ "$mode" = cold ] && drop="; sync; echo 3 >/proc/sys/vm/drop_caches"
		# warm: the source (and, for a get, the object) is read once before, so it is in
		# the page cache
		warm=
		warm_src=
		[ "$mode" = warm ] && warm="; cat '$REPO/bench/obj' '$CP/obj' >/dev/null" warm_src="; cat '$DATA' >/dev/null"
		ROW_CMD[fs_put_$mode]="$drv_fs put bench/obj <'$DATA'"
		ROW_PREP[fs_put_$mode]="rm -f '$REPO/bench/obj'$warm_src$drop"
		ROW_CMD[cat_put_$mode]="exec cat '$DATA' >'$CP/obj'"
		ROW_PREP[cat_put_$mode]="rm -f '$CP/obj'$warm_src$drop"
		ROW_CMD[catsync_put_$mode]="cat '$DATA' >'$CP/obj' && exec sync '$CP/obj'"
		ROW_PREP[catsync_put_$mode]="rm -f '$CP/obj'$warm_src$drop"
		ROW_CMD[fs_get_$mode]="$drv_fs get bench/obj >/dev/null"
		ROW_PREP[fs_get_$mode]="true$warm$drop"
		ROW_CMD[cat_get_$mode]="exec cat '$CP/obj' >/dev/null"
		ROW_PREP[cat_get_$mode]="true$warm$drop"
		for r in fs_put cat_put catsync_put fs_get cat_get; do ROW_BYTES[${r}_$mode]=$BYTES; done
		run_rows "$BENCH_REPS" "cat_put_$mode" "catsync_put_$mode" "fs_put_$mode" "cat_get_$mode" "fs_get_$mode"
	done
	{
		echo "### fs: ${MIB} MiB of random bytes"
		echo
		echo "kahu-fs.so's put (a temporary file in the key's directory, written, fsynced,"
		echo "renamed, the directory fsynced) and get (pread) driven by tests/sftp/sftpdrv (64 KiB"
		echo "writes from stdin; the get writes to stdout, here /dev/null), against cat on the same"
		echo "filesystem. Median of $BENCH_REPS runs (range); peak RSS is the largest of the runs."
		echo "Warm: the source is in the page cache."
		if [ "$DROP" = 1 ]; then
			echo "Cold: \`echo 3 > /proc/sys/vm/drop_caches\` before each run."
		else
			echo "/proc/sys/vm/drop_caches is not writable here: warm cache only."
		fi
		echo
		echo "$TABLE_HEAD"
		for mode in $modes; do
			row_line "cat_put_$mode" "$mode: \`cat FILE > DEST\`"
			row_line "catsync_put_$mode" "$mode: \`cat FILE > DEST && sync DEST\`"
			row_line "fs_put_$mode" "$mode: **fs put**" "cat_put_$mode"
			row_line "cat_get_$mode" "$mode: \`cat DEST > /dev/null\`"
			row_line "fs_get_$mode" "$mode: **fs get**" "cat_get_$mode"
		done
		echo
	} >>"$OUT"
	pct() { echo "scale=0; 100 * $(cat "$D/$1.mibs") / $(cat "$D/$2.mibs")" | bc; }
	verdict() { if [ "$1" -ge 80 ]; then echo PASS; else echo MISS; fi; }
	for mode in $modes; do
		p=$(pct "fs_put_$mode" "cat_put_$mode")
		q=$(pct "fs_put_$mode" "catsync_put_$mode")
		echo "- fs put, $mode cache: $p% of \`cat\`'s throughput (target ≥ 80%): **$(verdict "$p")**;" \
			"$q% of \`cat && sync\`'s: **$(verdict "$q")**" >>"$OUT"
		p=$(pct "fs_get_$mode" "cat_get_$mode")
		echo "- fs get, $mode cache: $p% of \`cat\`'s throughput (target ≥ 80%): **$(verdict "$p")**" >>"$OUT"
	done
	{
		echo
		echo "A put is stored when its data and its name are on disk: the provider fsyncs the"
		echo "file before the rename and the directory after it. \`cat FILE > DEST\` returns"
		echo "with the data still in the page cache, so the like-for-like reference for a put"
		echo "is \`cat FILE > DEST && sync DEST\`; the difference between the two cat rows is"
		echo "the cost of the disk write itself."
	} >>"$OUT"
	echo >>"$OUT"
	rm -rf "$REPO" "$CP"
fi

# ---------------------------------------------------------------- s3
if [[ " $PROVIDERS " == *" s3 "* ]]; then
	. "$B_TOP/tests/s3/s3.sh"
	s3_available || bench_die "s3: $S3_MISSING (or set S3_NODE_MODULES)"
	s3_start || bench_die "s3rver and the verifying proxy did not start"
	DIRECT=http://127.0.0.1:$S3RVER_PORT
	# s3rver knows one key pair (S3RVER) and, behind the proxy, does not check signatures:
	# the direct rows sign with its key, the proxy rows with the key the proxy checks.
	S3RVER_KEYS="AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER"
	drv_s3() {
		local keys=
		[ "$1" = "$DIRECT" ] && keys=$S3RVER_KEYS
		echo "$keys exec '$SFTPDRV' '$MOD_S3' bucket=kahu endpoint='$1' --"
	}
	aws_s3() {
		local keys=
		[ "$1" = "$DIRECT" ] && keys=$S3RVER_KEYS
		echo "$keys exec '$AWS' --endpoint-url '$1' s3 cp --only-show-errors"
	}
	export AWS_DEFAULT_REGION=us-east-1 AWS_REQUEST_CHECKSUM_CALCULATION=when_required \
		AWS_RESPONSE_CHECKSUM_VALIDATION=when_required AWS_CONFIG_FILE=/dev/null
	HALF=$((BYTES / 2))
	rows=()
	for via in proxy direct; do
		if [ "$via" = proxy ]; then url=$S3_ENDPOINT; srv="$S3RVER_PID $S3_PROXY_PID"; else url=$DIRECT; srv=$S3RVER_PID; fi
		d=$(drv_s3 "$url")
		ROW_CMD[s3_put_$via]="$d put bench/$via <'$DATA'"
		ROW_CMD[s3_get_$via]="$d get bench/$via >/dev/null"
		ROW_CMD[s3_range_$via]="$d get bench/$via $HALF $HALF >/dev/null"
		ROW_BYTES[s3_put_$via]=$BYTES ROW_BYTES[s3_get_$via]=$BYTES ROW_BYTES[s3_range_$via]=$HALF
		ROW_SRV[s3_put_$via]=$srv ROW_SRV[s3_get_$via]=$srv ROW_SRV[s3_range_$via]=$srv
		rows+=("s3_put_$via" "s3_get_$via" "s3_range_$via")
		if [ -n "$AWS" ]; then
			ROW_CMD[aws_put_$via]="$(aws_s3 "$url") '$DATA' s3://kahu/aws/$via"
			ROW_CMD[aws_get_$via]="$(aws_s3 "$url") s3://kahu/aws/$via - >/dev/null"
			ROW_BYTES[aws_put_$via]=$BYTES ROW_BYTES[aws_get_$via]=$BYTES
			ROW_SRV[aws_put_$via]=$srv ROW_SRV[aws_get_$via]=$srv
			rows+=("aws_put_$via" "aws_get_$via")
		fi
	done
	run_rows "$NET_REPS" "${rows[@]}"
	# what was stored is the data, read by the provider and by the AWS CLI
	for via in proxy direct; do
		sh -c "$(drv_s3 "$DIRECT") get bench/$via" | cmp -s - "$DATA" || bench_die "s3: bench/$via is not the data"
		sh -c "$(drv_s3 "$DIRECT") get bench/$via $HALF $HALF" | cmp -s - <(tail -c "$HALF" "$DATA") ||
			bench_die "s3: the ranged get of bench/$via is not the second half"
	done
	if [ -n "$AWS" ]; then
		sh -c "$(aws_s3 "$DIRECT") s3://kahu/bench/proxy -" | cmp -s - "$DATA" ||
			bench_die "s3: the aws CLI does not read kahu's object back"
	fi
	AWSV=$([ -n "$AWS" ] && "$AWS" --version 2>&1 | head -n 1)
	{
		echo "### s3: ${MIB} MiB of random bytes, multipart, to s3rver"
		echo
		echo "kahu-s3.so at its default part settings (part-size 8M, parts-in-flight 4: at most"
		echo "5 × 8 MiB buffered) driven by tests/sftp/sftpdrv: put from a file, get of the whole"
		echo "object and one ranged GET of its second half (\`Range: bytes=A-B\`), to /dev/null."
		echo "*proxy*: through tests/s3/s3proxy.py, the Python proxy the tests use, which checks"
		echo "every SigV4 signature and SHA-256 payload hash; *direct*: to s3rver (node,"
		echo "$(NODE_PATH=$S3_NODE_MODULES node -p 'require("s3rver/package.json").version' 2>/dev/null ||
			echo '?'), files on the same disk) itself."
		if [ -n "$AWS" ]; then
			echo "Reference: \`aws s3 cp\` ($AWSV) of the same file, its defaults (8 MiB parts,"
			echo "10 requests at once; checksums only when required, which the proxy needs)."
		fi
		echo "Server CPU: s3rver's (+ the proxy's) during the row. $NET_REPS run(s) per row."
		echo
		echo "$TABLE_HEAD"
		for via in proxy direct; do
			[ -n "$AWS" ] && row_line "aws_put_$via" "$via: \`aws s3 cp FILE s3://…\`"
			row_line "s3_put_$via" "$via: **s3 put** (multipart)" "aws_put_$via"
			[ -n "$AWS" ] && row_line "aws_get_$via" "$via: \`aws s3 cp s3://… - > /dev/null\`"
			row_line "s3_get_$via" "$via: **s3 get**" "aws_get_$via"
			row_line "s3_range_$via" "$via: **s3 get**, ranged (second half)" "aws_get_$via"
		done
		echo
		rss_max=0
		for via in proxy direct; do
			for f in "$D/s3_put_$via".[0-9]*; do
				case $f in *.out | *.err | *.time | *.srv | *.mibs) continue ;; esac
				r=$(cut -d' ' -f2 "$f")
				[ "$r" -gt "$rss_max" ] && rss_max=$r
			done
		done
		v=MISS
		[ "$rss_max" -le 65536 ] && v=PASS
		echo "- s3 multipart put, peak RSS $(echo "scale=1; $rss_max / 1024" | bc) MiB (target ≤ 64 MiB): **$v**"
		echo
	} >>"$OUT"
	s3_stop || true
	rm -rf "$T_DIR/s3-data"
fi

# ---------------------------------------------------------------- sftp
if [[ " $PROVIDERS " == *" sftp "* ]]; then
	. "$B_TOP/tests/sftp/sshd.sh"
	sshd_start >"$B_WORK/sshd.start" 2>&1 || bench_die "sshd did not start: $(cat "$B_WORK/sshd.start")"
	# The test sshd relays SFTP through tests/sftp/sftpfault.py (faults on demand); the
	# benchmark measures OpenSSH's sftp-server itself: the configuration without the relay,
	# reloaded (SIGHUP: sshd executes itself again, same port).
	sed -i "s|^Subsystem sftp .*|Subsystem sftp $SFTP_SERVER|" "$SSHD_DIR/sshd_config"
	kill -HUP "$SSHD_PID"
	for i in $(seq 1 100); do
		[ "$(grep -c "Server listening on 127.0.0.1 port $SSHD_PORT" "$SSHD_DIR/sshd.log")" -ge 2 ] && break
		sleep 0.1
	done
	SDATA=$B_WORK/sftp.bin
	head -c "$((SFTP_MIB * 1048576))" "$DATA" >"$SDATA"
	SBYTES=$((SFTP_MIB * 1048576))
	SREMOTE=$B_WORK/sftp-remote
	mkdir -p "$SREMOTE"
	drv_sftp="exec '$SFTPDRV' '$MOD_SFTP' host=127.0.0.1 port=$SSHD_PORT path='$SREMOTE/kahu' identity-file='$SSHD_KEY' known-hosts='$SSHD_KNOWN_HOSTS' --"
	sftp_cmd="sftp -q -b - -i '$SSHD_KEY' -P $SSHD_PORT -o BatchMode=yes -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o UserKnownHostsFile='$SSHD_KNOWN_HOSTS' -o GlobalKnownHostsFile=/dev/null '$SSHD_USER@127.0.0.1'"
	mkdir -p "$SREMOTE/ssh"
	ROW_CMD[sftp_put]="echo \"put '$SDATA' '$SREMOTE/ssh/obj'\" | exec $sftp_cmd >/dev/null"
	ROW_CMD[sftp_get]="echo \"get '$SREMOTE/ssh/obj' /dev/null\" | exec $sftp_cmd >/dev/null"
	ROW_CMD[kahu_sftp_put]="$drv_sftp put bench/obj <'$SDATA'"
	ROW_CMD[kahu_sftp_get]="$drv_sftp get bench/obj >/dev/null"
	for r in sftp_put sftp_get kahu_sftp_put kahu_sftp_get; do
		ROW_BYTES[$r]=$SBYTES
		ROW_PREP[$r]="cat '$SDATA' >/dev/null"
	done
	run_rows "$NET_REPS" sftp_put kahu_sftp_put sftp_get kahu_sftp_get
	cmp -s "$SREMOTE/kahu/bench/obj" "$SDATA" || bench_die "sftp: the stored object is not the data"
	sh -c "$drv_sftp get bench/obj" | cmp -s - "$SDATA" || bench_die "sftp: get does not give the bytes back"
	{
		echo "### sftp: ${SFTP_MIB} MiB of random bytes"
		echo
		echo "kahu-sftp.so (libcurl's SFTP; put to a temporary name, then rename) driven by"
		echo "tests/sftp/sftpdrv, against $(ssh -V 2>&1 | head -n 1)'s \`sftp -b\`"
		echo "put and get, both to the test sshd (tests/sftp/sshd.sh, OpenSSH's sftp-server"
		echo "directly, on 127.0.0.1); server CPU: not measured (sshd forks per connection)."
		echo "$NET_REPS run(s) per row; the source is in the page cache."
		echo
		echo "$TABLE_HEAD"
		row_line sftp_put "\`sftp\` put"
		row_line kahu_sftp_put "**sftp put**" sftp_put
		row_line sftp_get "\`sftp\` get"
		row_line kahu_sftp_get "**sftp get**" sftp_get
		echo
	} >>"$OUT"
	sshd_stop || true
fi

B_KUBECTL_VERSION=-
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "## Providers (bench/providers.sh)"
	echo
	bench_machine | grep -v '^- kubectl\|^- Test cluster'
	echo "- Load average: $LOAD_START at start, $LOAD_END at end (a shared machine: compare rows of one run only)"
	echo "- Filesystem of the work directory: $(df -T "$B_WORK" | awk 'NR == 2 { print $2 " on " $1 }')"
	echo
	echo "MiB/s is the bytes moved over the median wall time; \"of the reference\" is that"
	echo "throughput against the row the provider is compared with. CPU is user + system of"
	echo "the measured command."
	echo
	cat "$OUT"
} >"$B_WORK/providers.md"
bench_results_write "$B_WORK/providers.md"

# kahu tests: an S3 server for the s3 provider's tests (sourced after tests/cli/lib.sh).
#
#   s3_available          0 when node and the pinned packages (tests/s3/node_modules,
#                         `npm ci` in tests/s3) are there; 1 without node, 2 without the
#                         packages; S3_MISSING then says what lacks
#   s3_start [PROXY-FLAGS]  s3rver (bucket "kahu", data in $T_DIR/s3-data) on an ephemeral
#                         port, and the verifying proxy (s3proxy.py) in front of it;
#                         exports S3_ENDPOINT (the proxy's URL), S3_STATE (its state dir:
#                         requests.jsonl, state.json), AWS_ACCESS_KEY_ID and
#                         AWS_SECRET_ACCESS_KEY (the one key pair the proxy accepts)
#   s3_proxy_restart      the proxy again, same port and state (s3rver keeps running)
#   s3_fault JSON         POST /__proxy/fault
#   s3_client OP ARGS...  the AWS SDK for JavaScript against the proxy (tests/s3/s3client.js)
#   s3_stop
S3_DIR=$top_srcdir/tests/s3
: "${S3_NODE_MODULES:=$S3_DIR/node_modules}"
S3_KEY_ID=AKIAKAHUTEST0000001
S3_SECRET=kahu-test-secret-do-not-log/0123456789abcdef

s3_available() {
	if ! command -v node >/dev/null 2>&1; then
		S3_MISSING="node is not installed (apt-get install nodejs npm)"
		return 1
	fi
	if [ ! -d "$S3_NODE_MODULES/s3rver" ] || [ ! -d "$S3_NODE_MODULES/@aws-sdk/client-s3" ]; then
		S3_MISSING="the pinned npm packages are not installed (cd tests/s3 && npm ci; scripts/install-deps does it)"
		return 2
	fi
	return 0
}

# _s3_wait_ready FILE PID: the first line of FILE once it says READY
_s3_wait_ready() {
	local i
	for i in $(seq 1 600); do
		if grep -q '^READY ' "$1" 2>/dev/null; then
			sed -n 's/^READY //p' "$1" | head -n 1
			return 0
		fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

s3_start() {
	mkdir -p "$T_DIR/s3-data" "$T_DIR/s3-state"
	# s3rver encrypts continuation tokens with DES: OpenSSL 3 has it in its legacy provider.
	NODE_PATH=$S3_NODE_MODULES node --openssl-legacy-provider "$S3_DIR/s3rver.js" "$T_DIR/s3-data" kahu kahu-other \
		>"$T_DIR/s3rver.out" 2>"$T_DIR/s3rver.err" &
	S3RVER_PID=$!
	T_CLEANUP+=("kill $S3RVER_PID")
	S3RVER_PORT=$(_s3_wait_ready "$T_DIR/s3rver.out" "$S3RVER_PID") || {
		sed 's/^/# s3rver: /' "$T_DIR/s3rver.err"; return 1; }
	S3_PROXY_FLAGS=("$@")
	S3_STATE=$T_DIR/s3-state
	_s3_proxy_start 0
}

_s3_proxy_start() {
	"$PYTHON" "$S3_DIR/s3proxy.py" --upstream "$S3RVER_PORT" --state "$S3_STATE" \
		--port "$1" --key "$S3_KEY_ID:$S3_SECRET" "${S3_PROXY_FLAGS[@]}" \
		>"$T_DIR/s3proxy.out" 2>"$T_DIR/s3proxy.err" &
	S3_PROXY_PID=$!
	T_CLEANUP+=("kill $S3_PROXY_PID")
	S3_ENDPOINT=$(_s3_wait_ready "$T_DIR/s3proxy.out" "$S3_PROXY_PID") || {
		sed 's/^/# s3proxy: /' "$T_DIR/s3proxy.err"; return 1; }
	S3_PORT=${S3_ENDPOINT##*:}
	export S3_ENDPOINT S3_STATE S3_PORT
	export AWS_ACCESS_KEY_ID=$S3_KEY_ID AWS_SECRET_ACCESS_KEY=$S3_SECRET
}

s3_proxy_stop() {
	kill "$S3_PROXY_PID" 2>/dev/null
	wait "$S3_PROXY_PID" 2>/dev/null
	rm -f "$T_DIR/s3proxy.out"
}

s3_proxy_restart() {
	s3_proxy_stop
	_s3_proxy_start "$S3_PORT"
}

s3_fault() {
	curl -sS -X POST --data-binary "$1" "$S3_ENDPOINT/__proxy/fault" >/dev/null
}

s3_client() {
	NODE_PATH=$S3_NODE_MODULES node "$S3_DIR/s3client.js" "$S3_ENDPOINT" "$@"
}

s3_stop() {
	s3_proxy_stop
	kill "$S3RVER_PID" 2>/dev/null
	wait "$S3RVER_PID" 2>/dev/null
}

#!/bin/sh
# kahu test exec credential plugin (client.authentication.k8s.io v1/v1beta1).
#
# Use it as `users[].user.exec.command` in a test kubeconfig.  Everything is selected
# by environment variables, set either in the test's environment or in the
# kubeconfig's exec.env list:
#
#   KAHU_TEST_EXEC_TOKEN        the token to return
#   KAHU_TEST_EXEC_TOKEN_FILE   ... or a file whose first line is the token
#   KAHU_TEST_EXEC_CERT_FILE    with KAHU_TEST_EXEC_KEY_FILE: return clientCertificateData
#   KAHU_TEST_EXEC_KEY_FILE     and clientKeyData (PEM) instead of a token
#   KAHU_TEST_EXEC_EXPIRY       expirationTimestamp to print verbatim (RFC 3339)
#   KAHU_TEST_EXEC_EXPIRES_IN   ... or seconds from now (needs GNU date)
#   KAHU_TEST_EXEC_API_VERSION  apiVersion to print; default: the one requested in
#                               KUBERNETES_EXEC_INFO, else client.authentication.k8s.io/v1
#   KAHU_TEST_EXEC_COUNTER      a file holding the number of invocations (incremented)
#   KAHU_TEST_EXEC_INFO_OUT     write KUBERNETES_EXEC_INFO into this file
#   KAHU_TEST_EXEC_ARGS_OUT     write the arguments, one a line, into this file
#   KAHU_TEST_EXEC_MODE         ok (default)   print the ExecCredential, exit 0
#                               fail           print KAHU_TEST_EXEC_MESSAGE (default
#                                              "error: test plugin failed") on stderr,
#                                              exit 1
#                               garbage        print text that is not JSON, exit 0
#                               no-status      print an ExecCredential without status
#                               sleep          sleep KAHU_TEST_EXEC_SLEEP (default 30) s
#                                              first, then behave as ok
#
# Exit status: 0, or 1 in fail mode, 2 on a usage problem (no token configured).
set -u

if [ -n "${KAHU_TEST_EXEC_COUNTER:-}" ]; then
	n=$(cat "$KAHU_TEST_EXEC_COUNTER" 2>/dev/null || echo 0)
	echo $((n + 1)) > "$KAHU_TEST_EXEC_COUNTER"
fi
if [ -n "${KAHU_TEST_EXEC_INFO_OUT:-}" ]; then
	printf '%s\n' "${KUBERNETES_EXEC_INFO:-}" > "$KAHU_TEST_EXEC_INFO_OUT"
fi
if [ -n "${KAHU_TEST_EXEC_ARGS_OUT:-}" ]; then
	: > "$KAHU_TEST_EXEC_ARGS_OUT"
	for a in "$@"; do printf '%s\n' "$a" >> "$KAHU_TEST_EXEC_ARGS_OUT"; done
fi

# JSON string escaping for the few characters a test might use
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }')"
}

api=${KAHU_TEST_EXEC_API_VERSION:-}
if [ -z "$api" ]; then
	api=$(printf '%s' "${KUBERNETES_EXEC_INFO:-}" |
		sed -n 's/.*"apiVersion": *"\([^"]*\)".*/\1/p')
	[ -n "$api" ] || api=client.authentication.k8s.io/v1
fi

case ${KAHU_TEST_EXEC_MODE:-ok} in
fail)
	echo "${KAHU_TEST_EXEC_MESSAGE:-error: test plugin failed}" >&2
	exit 1 ;;
garbage)
	echo "this is not JSON"
	exit 0 ;;
no-status)
	printf '{"apiVersion":"%s","kind":"ExecCredential"}\n' "$api"
	exit 0 ;;
sleep)
	sleep "${KAHU_TEST_EXEC_SLEEP:-30}" ;;
esac

exp=${KAHU_TEST_EXEC_EXPIRY:-}
if [ -z "$exp" ] && [ -n "${KAHU_TEST_EXEC_EXPIRES_IN:-}" ]; then
	exp=$(date -u -d "@$(($(date +%s) + KAHU_TEST_EXEC_EXPIRES_IN))" +%Y-%m-%dT%H:%M:%SZ)
fi

if [ -n "${KAHU_TEST_EXEC_CERT_FILE:-}" ]; then
	status="\"clientCertificateData\":$(json_str "$(cat "$KAHU_TEST_EXEC_CERT_FILE")"),\"clientKeyData\":$(json_str "$(cat "$KAHU_TEST_EXEC_KEY_FILE")")"
else
	tok=${KAHU_TEST_EXEC_TOKEN:-}
	if [ -z "$tok" ] && [ -n "${KAHU_TEST_EXEC_TOKEN_FILE:-}" ]; then
		tok=$(head -n 1 "$KAHU_TEST_EXEC_TOKEN_FILE")
	fi
	if [ -z "$tok" ]; then
		echo "exec-credential-plugin.sh: set KAHU_TEST_EXEC_TOKEN or KAHU_TEST_EXEC_TOKEN_FILE" >&2
		exit 2
	fi
	status="\"token\":$(json_str "$tok")"
fi
[ -z "$exp" ] || status="$status,\"expirationTimestamp\":\"$exp\""
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{%s}}\n' "$api" "$status"

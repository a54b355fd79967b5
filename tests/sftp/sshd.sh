# kahu test SSH server: OpenSSH's sshd on 127.0.0.1, for the sftp provider's tests.
# Sourced after tests/cli/lib.sh (uses $T_DIR, $T_CLEANUP, $PYTHON):
#
#   . "$top_srcdir/tests/sftp/sshd.sh"
#   sshd_start || skip…     # exports SSHD_PORT SSHD_PID SSHD_DIR SSHD_USER SSHD_KEY
#                           # (client key, authorized) SSHD_HOSTKEY (host key, ed25519)
#                           # SSHD_KNOWN_HOSTS (a known_hosts file with that key)
#   sshd_sftp 'ls /x' …     # the real sftp client, batch mode, strict host key checks
#   echo hang-rename >"$SSHD_DIR/fault"   # see tests/sftp/sftpfault.py
#   sshd_stop               # also done at exit
#
# The daemon runs as the user running the tests (root on CI, anyone elsewhere): its
# own sshd_config, host key and authorized_keys in a private temporary directory, an
# ephemeral port, no PAM, no privilege separation user needed.  Only the user running
# the tests can log in, with the generated client key.
SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
SFTP_SERVER=${SFTP_SERVER:-/usr/lib/openssh/sftp-server}

# A port nobody listens on right now (the kernel's choice).
sshd_free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sshd_start() {
	local d=$T_DIR/sshd try port
	[ -x "$SSHD_BIN" ] || { echo "# $SSHD_BIN not found (Debian package openssh-server)"; return 1; }
	[ -x "$SFTP_SERVER" ] || { echo "# $SFTP_SERVER not found"; return 1; }
	mkdir -p "$d" && chmod 700 "$d"
	SSHD_DIR=$d
	SSHD_USER=$(id -un)
	SSHD_HOSTKEY=$d/host_ed25519
	SSHD_KEY=$d/client_ed25519
	rm -f "$SSHD_HOSTKEY" "$SSHD_HOSTKEY.pub" "$SSHD_KEY" "$SSHD_KEY.pub"
	ssh-keygen -q -t ed25519 -N '' -C kahu-test-host -f "$SSHD_HOSTKEY" || return 1
	ssh-keygen -q -t ed25519 -N '' -C kahu-test-client -f "$SSHD_KEY" || return 1
	cp "$SSHD_KEY.pub" "$d/authorized_keys" && chmod 600 "$d/authorized_keys"
	# Root's sshd wants its privilege separation directory (made by the service
	# manager on a real host).
	if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then mkdir -m 755 /run/sshd || return 1; fi
	for try in 1 2 3 4 5; do
		port=$(sshd_free_port) || return 1
		cat >"$d/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $SSHD_HOSTKEY
PidFile none
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $d/authorized_keys
AllowUsers $SSHD_USER
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
LogLevel VERBOSE
Subsystem sftp $(command -v "$PYTHON") $top_srcdir/tests/sftp/sftpfault.py $d $SFTP_SERVER
EOF
		: >"$d/sshd.log"
		"$SSHD_BIN" -D -e -f "$d/sshd_config" 2>>"$d/sshd.log" &
		SSHD_PID=$!
		T_CLEANUP+=("kill $SSHD_PID")
		# ready when it says so; gone when the port was taken meanwhile
		until grep -q "Server listening on 127.0.0.1 port $port" "$d/sshd.log"; do
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$SSHD_PID" 2>/dev/null; then
			SSHD_PORT=$port
			printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$SSHD_HOSTKEY.pub")" \
				>"$d/known_hosts"
			SSHD_KNOWN_HOSTS=$d/known_hosts
			export SSHD_PORT SSHD_PID SSHD_DIR SSHD_USER SSHD_KEY SSHD_HOSTKEY SSHD_KNOWN_HOSTS
			return 0
		fi
		wait "$SSHD_PID" 2>/dev/null
	done
	sed 's/^/# sshd: /' "$d/sshd.log"
	return 1
}

sshd_stop() {
	[ -n "${SSHD_PID:-}" ] || return 0
	kill "$SSHD_PID" 2>/dev/null
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
}

# sshd_sftp COMMANDS: run the sftp batch COMMANDS (one per line) as the test user;
# its output on stdout.
sshd_sftp() {
	printf '%s\n' "$1" | sftp -q -b - -i "$SSHD_KEY" -P "$SSHD_PORT" \
		-o BatchMode=yes -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes \
		-o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
		"$SSHD_USER@127.0.0.1"
}

#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The TLS 1.3 verifier against a real `openssl s_server` on loopback: a
# P-256 CA, an ECDSA and an RSA server certificate made here with the
# openssl command, one session per cipher suite (and one through a
# HelloRetryRequest), each recorded and verified by tests/prog/tls13_connect.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
prog=build/tests/prog/tls13_connect
if [ ! -x "$prog" ]; then
	echo "1..0 # SKIP $prog not built"
	exit 0
fi
dir=$(mktemp -d)
server_pid=
stop_server() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
		server_pid=
	fi
}
trap 'stop_server; rm -rf "$dir"' EXIT

# Certificates: CA, then one ECDSA P-256 and one RSA leaf for server.test.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=tlswitness s_server test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
	2>/dev/null || { echo "not ok 1 - make the test CA"; echo "1..1"; exit 1; }
for kind in ec rsa; do
	if [ $kind = ec ]; then opt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); \
	else opt=(-newkey rsa:2048); fi
	openssl req -new "${opt[@]}" -nodes -subj "/CN=server.test" -keyout "$dir/$kind.key" \
		-out "$dir/$kind.csr" 2>/dev/null &&
	openssl x509 -req -in "$dir/$kind.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 2 -out "$dir/$kind.pem" -extfile <(printf '%s\n' \
		"subjectAltName=DNS:server.test" "extendedKeyUsage=serverAuth" \
		"basicConstraints=critical,CA:FALSE") 2>/dev/null ||
		{ echo "not ok 1 - make the $kind server certificate"; echo "1..1"; exit 1; }
done

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server KIND GROUPS: one s_server answering HTTP/1.0 with -www.
start_server() {
	port=$(free_port)
	openssl s_server -accept "127.0.0.1:$port" -cert "$dir/$1.pem" -key "$dir/$1.key" \
		-tls1_3 -groups "$2" -www -quiet >"$dir/server.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 50); do
		if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" \
			2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

n=0
failed=0
run() {	# KIND SERVER_GROUPS SUITE CLIENT_GROUPS LABEL
	local out rc
	if ! start_server "$1" "$2"; then
		n=$((n + 1))
		echo "not ok $n - $5: s_server did not start"
		failed=1
		return
	fi
	out=$("$prog" "$port" "$dir/ca.pem" server.test "$3" "$4" "$5")
	rc=$?
	stop_server
	while IFS= read -r line; do
		case $line in
		"ok "* | "not ok "*)
			n=$((n + 1))
			echo "$line" | sed -E "s/^(not )?ok [0-9]+/\\1ok $n/" ;;
		"1.."*) ;;
		*) echo "# $line" ;;
		esac
	done <<<"$out"
	[ "$rc" -eq 0 ] || failed=1
}

run ec P-256 TLS_AES_128_GCM_SHA256 P-256 "s_server ECDSA AES-128-GCM"
run rsa P-256 TLS_AES_256_GCM_SHA384 P-256 "s_server RSA AES-256-GCM"
run ec P-256 TLS_CHACHA20_POLY1305_SHA256 P-256 "s_server ECDSA ChaCha20-Poly1305"
run ec P-256 TLS_AES_128_GCM_SHA256 X25519:P-256 "s_server HelloRetryRequest"
echo "1..$n"
exit $failed

#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tlswitness prove against a fresh swtpm and real TLS 1.3 servers on
# loopback: openssl s_server (ECDSA and RSA certificates), our own
# cookie-demanding server (HelloRetryRequest) and 0.5-RTT server, nginx,
# then servers that must be refused with a clear error and no proof.
# Every good proof is checked by tests/prog/proof_check (key share, ZGen
# input, replayed digest, exclusive YES, committed bytes).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/swtpm.sh"
. "$top/tests/lib/certs.sh"
tw="$top/build/tlswitness"
check="$top/build/tests/prog/proof_check"
server="$top/build/tests/prog/tls_test_server"
work=$(mktemp -d /tmp/tw-prover.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	swtpm_stop
	rm -rf "$work"
}
trap cleanup EXIT
. "$top/tests/lib/tap.sh"

# A loopback port nobody listens on (the kernel picks it, then lets it go).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT: up to 5 s for a listener.
wait_port() {
	local i
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# s_server ARGS...: openssl s_server serving $work/www on a free port; sets PORT.
s_server() {
	PORT=$(free_port)
	(cd "$work/www" && exec openssl s_server -accept "127.0.0.1:$PORT" -WWW -quiet \
		-naccept 100 "$@" >/dev/null 2>&1) &
	pids+=($!)
	wait_port "$PORT"
}

# test_server MODE [CERT]: our own server; sets PORT.
test_server() {
	local cert=${2:-ec}
	rm -f "$work/port"
	"$server" --mode "$1" --cert "$work/certs/$cert.pem" --key "$work/certs/$cert.key" \
		--port-file "$work/port" --body "$work/www/small.bin" \
		--report "$work/report" 2>/dev/null &
	pids+=($!)
	local i
	for i in $(seq 1 100); do
		[ -s "$work/port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$work/port")
	wait_port "$PORT"
}

stop_servers() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
}

# prove NAME URL [ARGS...]: run the prover; sets RC, OUT (body), ERR, PROOF.
prove() {
	local name=$1 url=$2
	shift 2
	PROOF="$work/$name.json"
	OUT="$work/$name.body"
	ERR="$work/$name.err"
	rm -f "$PROOF"
	timeout 60 "$tw" prove "$url" --tcti "$TW_TCTI" --ca-file "$work/certs/ca.pem" -o "$PROOF" "$@" \
		>"$OUT" 2>"$ERR"
	RC=$?
}

# good NAME EXPECTED_BODY [proof_check ARGS...]: the checks of every good case.
good() {
	local name=$1 body=$2
	shift 2
	ok $((RC != 0)) "$name: tlswitness prove succeeds ($(head -c 200 "$ERR"))"
	cmp -s "$OUT" "$body"
	ok $? "$name: the body printed is the one served"
	"$check" "$PROOF" "$@" >"$work/check" 2>&1
	ok $? "$name: proof checks: key share, ZGen input, replay, exclusive, commit ($(tr '\n' ' ' <"$work/check"))"
}

# bad NAME EXIT PATTERN: one clear line, the documented exit code, no proof.
bad() {
	local name=$1 code=$2 pattern=$3
	[ "$RC" -eq "$code" ]
	ok $? "$name: exit code $code (got $RC)"
	[ "$(wc -l <"$ERR")" -eq 1 ] && grep -Eq "$pattern" "$ERR"
	ok $? "$name: one line naming the cause ($(head -c 200 "$ERR"))"
	[ ! -e "$PROOF" ] && [ ! -s "$OUT" ] && ! ls "$work" | grep -q '\.tmp\.'
	ok $? "$name: no proof file, no body, no temporary left"
}

if ! swtpm_start; then
	tap_bail "swtpm starts"
fi
mkdir -p "$work/www"
if ! certs_make "$work/certs" || ! certs_dated "$work/certs"; then
	tap_bail "test certificates"
fi
head -c 3000 /dev/urandom >"$work/www/small.bin"
head -c 1048576 /dev/urandom >"$work/www/big.bin"
# nginx's worker runs as www-data and must read the files.
chmod 755 "$work" "$work/www"
chmod 644 "$work/www"/*

# ---- good servers ----

s_server -tls1_3 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"
prove ecdsa "https://localhost:$PORT/small.bin" --nonce 00112233445566778899aabbccddeeff
good "s_server ECDSA P-256" "$work/www/small.bin" --nonce 00112233445566778899aabbccddeeff
prove ecdsa-ip "https://127.0.0.1:$PORT/big.bin"
good "s_server ECDSA, IP literal, 1 MiB" "$work/www/big.bin"
stop_servers

s_server -tls1_3 -cert "$work/certs/rsa.pem" -key "$work/certs/rsa.key"
prove rsa "https://localhost:$PORT/small.bin"
good "s_server RSA" "$work/www/small.bin"
stop_servers

test_server hrr
prove hrr "https://localhost:$PORT/x"
good "HelloRetryRequest (cookie)" "$work/www/small.bin" --hrr
stop_servers

test_server early
prove early "https://localhost:$PORT/x"
good "0.5-RTT data" "$work/www/small.bin" --committed "$(cat "$work/report" 2>/dev/null)"
stop_servers

# A record behind the server's close_notify is never read by libssl and
# stays out of the proof, which the verifier accepts whole.
test_server trailing
prove trailing "https://localhost:$PORT/x"
good "record after close_notify" "$work/www/small.bin"
grep -q "left out of the proof: 1 server records (37 bytes)" "$ERR" &&
	"$tw" ak --tcti "$TW_TCTI" -o "$work/ak.pem" >/dev/null 2>&1 &&
	"$tw" verify "$PROOF" --ak "$work/ak.pem" --ca-file "$work/certs/ca.pem" >/dev/null \
		2>"$work/trailing.verify"
ok $? "record after close_notify: left out, said so, and the proof verifies ($(cat "$work/trailing.verify"))"
stop_servers

test_server plain
printf 'posted body\n' >"$work/post.in"
prove post "https://localhost:$PORT/echo" --data "$work/post.in" -H 'X-Test: yes'
good "POST with --data and -H" "$work/post.in"
stop_servers

# nginx from Debian, TLS 1.3 and P-256 only, 1 MiB file.
PORT=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 16; }
http {
	access_log off;
	client_body_temp_path $work/nginx;
	proxy_temp_path $work/nginx;
	fastcgi_temp_path $work/nginx;
	uwsgi_temp_path $work/nginx;
	scgi_temp_path $work/nginx;
	server {
		listen 127.0.0.1:$PORT ssl;
		server_name localhost;
		ssl_certificate $work/certs/ec.pem;
		ssl_certificate_key $work/certs/ec.key;
		ssl_protocols TLSv1.3;
		ssl_ecdh_curve prime256v1;
		root $work/www;
	}
}
EOF
nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" 2>/dev/null &
pids+=($!)
if wait_port "$PORT"; then
	prove nginx "https://localhost:$PORT/big.bin"
	good "nginx, 1 MiB" "$work/www/big.bin"
else
	ok 1 "nginx starts ($(head -c 200 "$work/nginx/error.log" 2>/dev/null))"
fi
stop_servers

# Fallback mode: another TPM user's GetRandom right after the key is made
# breaks exclusivity; ZGen fails with TPM_RC_EXCLUSIVE and the attempt
# starts again from scratch.
# interferer TIMES [CC]: a relay to swtpm that interferes TIMES times after
# command CC (hex, default CreateLoaded); sets ITCTI.
interferer() {
	rm -f "$work/iport"
	python3 "$top/tests/lib/tpm_interfere.py" "$SWTPM_PORT" "$work/iport" "${2:-191}" "$1" &
	pids+=($!)
	local i
	for i in $(seq 1 100); do
		[ -s "$work/iport" ] && break
		sleep 0.05
	done
	ITCTI="swtpm:host=127.0.0.1,port=$(cat "$work/iport")"
}
s_server -tls1_3 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"
interferer 1
prove retry "https://localhost:$PORT/small.bin" --tcti "$ITCTI"
good "exclusivity lost once (fallback)" "$work/www/small.bin" --retries-min 1 --channel fallback
grep -q "lost exclusivity.*0x121.*retrying" "$ERR"
ok $? "the retry is logged on stderr"
stop_servers

# The same after ZGen: only the attestation's exclusiveSession NO shows
# it, before the request is sent, and the attempt starts again.
s_server -tls1_3 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"
interferer 1 154
prove retry-late "https://localhost:$PORT/small.bin" --tcti "$ITCTI"
good "exclusivity lost after ZGen (fallback)" "$work/www/small.bin" --retries-min 1 \
	--channel fallback
grep -q "lost exclusivity.*not exclusive.*retrying" "$ERR"
ok $? "that retry is logged on stderr ($(head -c 200 "$ERR"))"
stop_servers

# ---- servers and settings that must be refused ----

s_server -tls1_2 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"
prove tls12 "https://localhost:$PORT/small.bin"
bad "TLS 1.2-only server" 4 "does not support TLS 1.3"
stop_servers

s_server -tls1_3 -groups X25519 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"
prove x25519 "https://localhost:$PORT/small.bin"
bad "server refusing P-256" 4 "P-256"
stop_servers

s_server -tls1_3 -cert "$work/certs/untrusted.pem" -key "$work/certs/untrusted.key"
prove untrusted "https://localhost:$PORT/small.bin"
bad "certificate from an untrusted CA" 4 "certificate check failed"
stop_servers

s_server -tls1_3 -cert "$work/certs/wronghost.pem" -key "$work/certs/wronghost.key"
prove wronghost "https://localhost:$PORT/small.bin"
bad "certificate for another host" 4 "certificate check failed.*[Hh]ostname"
stop_servers

# Dates checked by the prover at the time of the handshake, not only by
# the verifier at a chosen --time.
s_server -tls1_3 -cert "$work/certs/expired.pem" -key "$work/certs/expired.key"
prove expired "https://localhost:$PORT/small.bin"
bad "expired server certificate" 4 "certificate check failed: certificate has expired$"
stop_servers

s_server -tls1_3 -cert "$work/certs/notyet.pem" -key "$work/certs/notyet.key"
prove notyet "https://localhost:$PORT/small.bin"
bad "server certificate not yet valid" 4 "certificate check failed: certificate is not yet valid$"
stop_servers

test_server hangup
prove hangup "https://localhost:$PORT/x"
bad "server closing mid-handshake" 4 "closed the connection"
stop_servers

prove refused "https://127.0.0.1:$(free_port)/"
bad "nothing listening" 3 "cannot connect.*refused"

prove noname "https://no-such-host.invalid/"
bad "unresolvable name" 3 "cannot resolve no-such-host.invalid"

s_server -tls1_3 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"
PROOF="$work/notpm.json" OUT="$work/notpm.body" ERR="$work/notpm.err"
"$tw" prove "https://localhost:$PORT/small.bin" --tcti "swtpm:host=127.0.0.1,port=$(free_port)" \
	--ca-file "$work/certs/ca.pem" -o "$PROOF" >"$OUT" 2>"$ERR"
RC=$?
# The TCTI named and its error as tss2-rc decodes it (tpm2_rc_decode 0xa000a), not in hex.
bad "no TPM at the TCTI" 5 "swtpm:host=127\.0\.0\.1,port=[0-9]+.*tcti:IO failure"
stop_servers

s_server -tls1_3 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"
interferer 1
prove noretry "https://localhost:$PORT/small.bin" --tcti "$ITCTI" --retries 0
# The TPM's response code decoded by tss2-rc (tpm2_rc_decode 0x121), then the number.
decoded="tpm:error\(2\.0\): command failed because audit sequence required exclusivity"
bad "exclusivity lost, no retries allowed" 5 "ECDH_ZGen: $decoded \(0x121\)$"
stop_servers

"$tw" prove "http://localhost/" -o "$work/usage.json" >/dev/null 2>"$work/usage.err"
[ $? -eq 2 ] && grep -q "https://" "$work/usage.err" && [ ! -e "$work/usage.json" ]
ok $? "a URL that is not https is a usage error (exit 2)"

echo "1..$n"

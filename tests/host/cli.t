#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# What a new user meets first on the tlswitness command line: help, a
# missing or unknown argument, an output file that cannot be written, a
# TPM or a server that is not what they think.  Each mistake must give
# one line that names the user's own input and says why, with the
# documented exit code, and a mistake found on the command line must be
# found before anything is sent to the server.  Against a fresh swtpm and
# servers on loopback.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/swtpm.sh"
. "$top/tests/lib/certs.sh"
. "$top/tests/lib/servers.sh"
tw=$top/build/tlswitness
work=$(mktemp -d /tmp/tw-cli.XXXXXX)
cleanup() {
	servers_stop
	swtpm_stop
	rm -rf "$work"
}
trap cleanup EXIT
. "$top/tests/lib/tap.sh"

# run ARGS...: tlswitness ARGS; sets RC, OUT and ERR (files).
run() {
	OUT=$work/out
	ERR=$work/err
	timeout 60 "$tw" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}

# one_line PATTERN: stderr is exactly one line and matches PATTERN.
one_line() {
	[ "$(wc -l <"$ERR")" -eq 1 ] && grep -Eq "$1" "$ERR"
}

# first_then_usage NAME PATTERN: exit 2, stderr's first line matches
# PATTERN, the synopsis follows it.
first_then_usage() {
	[ "$RC" -eq 2 ] && head -n 1 "$ERR" | grep -Eq "$2" &&
		sed -n 2p "$ERR" | grep -q "^usage: tlswitness $1 "
}

# plain_http: a plain HTTP/1.1 server that answers anything with 400 and
# counts its connections in $work/conns; sets PORT.
plain_http() {
	PORT=$(free_port)
	: >"$work/conns"
	python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as log:
        log.write("connection\n")
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    except OSError:
        pass
    c.close()
' "$PORT" "$work/conns" &
	SERVERS_PIDS+=($!)
	wait_port "$PORT"
}

conns() {
	wc -l <"$work/conns"
}

if ! swtpm_start || ! certs_make "$work/certs"; then
	tap_bail "swtpm and test certificates"
fi
servers_dir "$work/srv"
plain_http
http_port=$PORT
printf 'posted\n' >"$work/post.in"

# ---- help

for sub in prove ak verify; do
	run "$sub" --help
	[ "$RC" -eq 0 ] && grep -q "^usage: tlswitness $sub " "$OUT" && [ ! -s "$ERR" ]
	ok $? "$sub --help: the synopsis on stdout, exit 0 (got $RC)"
	run "$sub" help
	[ "$RC" -eq 0 ] && grep -q "^usage: tlswitness $sub " "$OUT"
	ok $? "'tlswitness $sub help' is $sub --help ($(head -c 100 "$ERR"))"
	run help "$sub"
	[ "$RC" -eq 0 ] && grep -q "^usage: tlswitness $sub " "$OUT"
	ok $? "'tlswitness help $sub' is $sub --help"
done

run --help
[ "$RC" -eq 0 ] && grep -q "prove:  3 network, 4 TLS, 5 TPM, 6 proof or output, 7 HTTP" "$OUT" &&
	grep -q "verify: 1 a check failed, 3 malformed proof, 4 a file" "$OUT" &&
	grep -q -- "--time SECONDS" "$OUT" && ! grep -q "1 failed, 2 bad command line" "$OUT"
ok $? "tlswitness --help gives each subcommand's exit codes, as the manual page does"

# ---- a missing or unknown argument

run prove
first_then_usage prove "^tlswitness prove: no URL given$"
ok $? "prove without URL: one line saying so, then the synopsis ($(head -n 1 "$ERR"))"
run prove https://localhost/ https://localhost/b
first_then_usage prove "^tlswitness prove: one URL only, not also 'https://localhost/b'$"
ok $? "prove with two URLs: one line naming the second ($(head -n 1 "$ERR"))"
run ak
first_then_usage ak "^tlswitness ak: -o FILE is required"
ok $? "ak without -o: one line saying so, then the synopsis ($(head -n 1 "$ERR"))"
run ak -o "$work/ak.pem" extra
first_then_usage ak "^tlswitness ak: unexpected argument 'extra'$"
ok $? "ak with a stray argument: one line naming it ($(head -n 1 "$ERR"))"
run verify --ak "$work/ak.pem"
first_then_usage verify "^tlswitness verify: no PROOF given"
ok $? "verify without PROOF: one line saying so, then the synopsis ($(head -n 1 "$ERR"))"
run verify a.json b.json --ak "$work/ak.pem"
first_then_usage verify "^tlswitness verify: one PROOF only, not also 'b.json'$"
ok $? "verify with two proofs: one line naming the second ($(head -n 1 "$ERR"))"
run verify a.json
first_then_usage verify "^tlswitness verify: --ak AK is required"
ok $? "verify without --ak: one line saying so, then the synopsis ($(head -n 1 "$ERR"))"

for sub in prove ak verify; do
	run "$sub" --no-such-option
	first_then_usage "$sub" "^tlswitness $sub: unrecognized option '--no-such-option'$"
	ok $? "$sub with an unknown option: the line starts 'tlswitness $sub:' ($(head -n 1 "$ERR"))"
done
run prove https://localhost/ --tcti
first_then_usage prove "^tlswitness prove: option '--tcti' requires an argument$"
ok $? "prove --tcti without its value: named ($(head -n 1 "$ERR"))"

run prove --timeout-ms x "https://localhost:$http_port/"
[ "$RC" -eq 2 ] && one_line "^tlswitness prove: --timeout-ms takes a number from 0 to 600000, not 'x'$"
ok $? "--timeout-ms x: the option is named ($(cat "$ERR"))"
run prove --retries 1000 "https://localhost:$http_port/"
[ "$RC" -eq 2 ] && one_line "^tlswitness prove: --retries takes a number from 0 to 100, not '1000'$"
ok $? "--retries 1000: the option and its range are named ($(cat "$ERR"))"

# ---- an output file that cannot be written: found before anything is sent

before=$(conns)
run prove "https://localhost:$http_port/" --data "$work/post.in" -o /nonexistent/dir/p.json
[ "$RC" -eq 2 ] && one_line "^tlswitness prove: cannot write /nonexistent/dir/p.json: directory \
/nonexistent/dir does not exist$" && [ "$(conns)" -eq "$before" ] && [ ! -s "$OUT" ]
ok $? "prove -o in a missing directory: exit 2, one line, no connection ($(cat "$ERR"))"

mkdir "$work/adir"
run prove "https://localhost:$http_port/" -o "$work/adir"
[ "$RC" -eq 2 ] && one_line "^tlswitness prove: cannot write $work/adir: it is a directory$" &&
	[ "$(conns)" -eq "$before" ]
ok $? "prove -o DIRECTORY: exit 2, one line, no connection ($(cat "$ERR"))"

run prove "https://localhost:$http_port/" -o "$work/post.in/p.json"
[ "$RC" -eq 2 ] && one_line "cannot write $work/post.in/p.json: $work/post.in is not a directory$" &&
	[ "$(conns)" -eq "$before" ]
ok $? "prove -o under a file: exit 2, one line ($(cat "$ERR"))"

# The proof replaces FILE by a rename: for root that would replace /dev/null.
run prove "https://localhost:$http_port/" -o /dev/null
[ "$RC" -eq 2 ] && one_line "^tlswitness prove: cannot write /dev/null: not a regular file" &&
	[ -c /dev/null ] && [ "$(conns)" -eq "$before" ]
ok $? "prove -o /dev/null: refused, /dev/null left alone ($(cat "$ERR"))"

run ak -o /nonexistent/dir/ak.pem
[ "$RC" -eq 2 ] && one_line "^tlswitness ak: cannot write /nonexistent/dir/ak.pem: directory \
/nonexistent/dir does not exist$" && [ ! -e /nonexistent/dir/ak.pem.pub ]
ok $? "ak -o in a missing directory: exit 2, one line naming the path ($(cat "$ERR"))"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	mkdir "$work/ro"
	chmod 755 "$work"
	chmod 555 "$work/ro"
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$tw" ak -o "$work/ro/ak.pem" \
		>/dev/null 2>"$ERR"
	RC=$?
	[ "$RC" -eq 2 ] &&
		one_line "^tlswitness ak: cannot write $work/ro/ak.pem: cannot create files in \
$work/ro: Permission denied$"
	ok $? "ak -o in a directory the user may not write: the reason ($(cat "$ERR"))"
else
	echo "ok $((n + 1)) - ak -o in a directory the user may not write # SKIP needs root"
	n=$((n + 1))
fi

# ---- the trusted certificates: read before anything is sent

before=$(conns)
run prove "https://localhost:$http_port/" --ca-file "$work/nonexistent.pem" -o "$work/p.json"
[ "$RC" -eq 2 ] && one_line "^tlswitness prove: cannot load trusted certificates from \
$work/nonexistent.pem: No such file or directory$" && [ "$(conns)" -eq "$before" ]
ok $? "--ca-file that does not exist: the reason, no connection ($(cat "$ERR"))"
run prove "https://localhost:$http_port/" --ca-file "$work/post.in" -o "$work/p.json"
[ "$RC" -eq 2 ] && one_line "from $work/post.in: no PEM certificate in it$" &&
	[ "$(conns)" -eq "$before" ]
ok $? "--ca-file without a certificate: said so, no connection ($(cat "$ERR"))"

# ---- the TPM is not where the user says

dead="swtpm:host=127.0.0.1,port=$(free_port)"
run ak --tcti "$dead" -o "$work/ak.pem"
[ "$RC" -eq 1 ] && one_line "^tlswitness ak: cannot connect to the TPM at $dead \(tcti:IO \
failure\): is swtpm running\?$"
ok $? "ak --tcti swtpm with nothing there: says where and what to check ($(cat "$ERR"))"
run prove "https://localhost:$http_port/" --tcti "$dead" --ca-file "$work/certs/ca.pem" \
	-o "$work/p.json"
[ "$RC" -eq 5 ] && one_line "^tlswitness prove: cannot connect to the TPM at $dead .*is swtpm \
running\?$" && [ ! -e "$work/p.json" ]
ok $? "prove --tcti swtpm with nothing there: exit 5, the same line ($(cat "$ERR"))"
run ak --tcti bogus:x -o "$work/ak.pem"
[ "$RC" -eq 1 ] && one_line "^tlswitness ak: unknown TCTI 'bogus': tpm2-tss has no \
libtss2-tcti-bogus; try device:"
ok $? "ak --tcti bogus:x: an unknown TCTI, named ($(cat "$ERR"))"

# ---- the server is not what the user thinks

run prove "https://localhost:$http_port/" --ca-file "$work/certs/ca.pem" -o "$work/p.json"
[ "$RC" -eq 4 ] && one_line "wrong version number \(is this an HTTPS port\?\)$" &&
	[ ! -e "$work/p.json" ]
ok $? "a plain HTTP port: exit 4, asks whether it is an HTTPS port ($(cat "$ERR"))"

s_server -tls1_3 -cert "$work/certs/otherca.pem" -key "$work/certs/otherca.key"
run prove "https://localhost:$PORT/" --ca-file "$work/certs/ca.pem" -o "$work/p.json"
[ "$RC" -eq 4 ] && one_line "certificate check failed: self-signed certificate \(no trusted CA \
issued it: give the server's CA certificate with --ca-file\)$" && [ ! -e "$work/p.json" ]
ok $? "a self-signed server certificate: exit 4, says to give its CA ($(cat "$ERR"))"

s_server -tls1_3 -cert "$work/certs/untrusted.pem" -key "$work/certs/untrusted.key"
run prove "https://localhost:$PORT/" --ca-file "$work/certs/ca.pem" -o "$work/p.json"
[ "$RC" -eq 4 ] && one_line "certificate check failed: .*issuer.*give the server's CA \
certificate with --ca-file\)$"
ok $? "a certificate from an unknown CA: exit 4, the same hint ($(cat "$ERR"))"

echo "1..$n"

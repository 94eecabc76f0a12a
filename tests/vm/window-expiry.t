#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Inside the VM: reserved windows that outlive their timeout.  First the
# library's own windows (tests/prog/window-expiry): the command after the
# timeout and the end of the window both say the window expired.  Then
# tlswitness prove on the reserved channel with a 3 s window, against an
# openssl s_server whose answer a relay on loopback (tests/lib/tcp_delay.py)
# holds back for 6 s: one line saying the window expired, exit 5, no
# proof and no body.  (A whole window takes well under a second in the
# TCG guest, so 3 s leaves the control room.)  The control proves through the same relay without
# the delay.  The module's windows_expired counter counts each expiry.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lib/certs.sh
. "$top/tests/lib/certs.sh"
# shellcheck source=tests/lib/servers.sh
. "$top/tests/lib/servers.sh"
tw=$top/build/tlswitness
prog=$top/build/tests/prog/window-expiry
sysfs=/sys/class/misc/tpmreserve0
. "$top/tests/lib/tap.sh"

work=$(mktemp -d /tmp/tw-window-expiry.XXXXXX)
loaded_here=0
relay_pids=()
cleanup() {
	local p
	for p in "${relay_pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	servers_stop
	[ "$loaded_here" = 1 ] && rmmod tpmreserve 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

if [ ! -e /dev/tpmreserve0 ]; then
	if ! insmod "$top/kmod/tpmreserve.ko" 2>/dev/null; then
		echo "ok 1 - expiring windows # SKIP module not built or not loadable"
		echo "1..1"
		exit 0
	fi
	loaded_here=1
fi

expired() {
	cat "$sysfs/windows_expired" 2>/dev/null || echo 0
}

# ---- the library's windows

e0=$(expired)
out=$("$prog" tpmreserve 2>&1)
echo "$out" | sed 's/^/# /'
results=$(echo "$out" | grep -c '^ok [0-9]')
plan=$(echo "$out" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p')
[ -n "$plan" ] && [ "$results" = "$plan" ] && ! echo "$out" | grep -q '^not ok'
ok $? "a window's command and its end after the timeout say it expired ($results of ${plan:-?})"
e1=$(expired)
[ $((e1 - e0)) -eq 2 ]
ok $? "the module counted those two expired windows ($e0 -> $e1)"

# ---- the prover against a server slower than the window

mkdir -p "$work/certs"
servers_dir "$work/srv"
printf 'the page\n' >"$work/srv/www/page.txt"
# ECDSA only: an RSA key takes seconds under TCG.
certs_ca "$work/certs" ca &&
	openssl ecparam -name prime256v1 -out "$work/certs/ec.params" &&
	certs_leaf "$work/certs" ec ca "ec:$work/certs/ec.params" "DNS:localhost,IP:127.0.0.1" &&
	s_server -tls1_3 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"
ok $? "test certificate made and s_server up"

# relay DELAY_MS: tests/lib/tcp_delay.py in front of the s_server; sets RPORT.
relay() {
	local i file=$work/relay-$1
	python3 "$top/tests/lib/tcp_delay.py" "$PORT" "$file" "$1" &
	relay_pids+=($!)
	# Up to 20 s: python starts slowly under TCG.
	for i in $(seq 1 400); do
		[ -s "$file" ] && break
		sleep 0.05
	done
	RPORT=$(cat "$file" 2>/dev/null)
}

# prove NAME: through the relay on the reserved channel with a 3 s window.
prove() {
	rm -f "$work/$1.json"
	timeout 120 "$tw" prove "https://localhost:$RPORT/page.txt" --tcti tpmreserve \
		--window-ms 3000 --ca-file "$work/certs/ca.pem" -o "$work/$1.json" \
		>"$work/$1.body" 2>"$work/$1.err"
	RC=$?
}

relay 0
prove control
[ "$RC" -eq 0 ] && [ -s "$work/control.json" ] &&
	cmp -s "$work/control.body" "$work/srv/www/page.txt"
ok $? "control: through the relay without delay the prover proves (exit $RC)"
sed 's/^/# control: /' "$work/control.err"

relay 6000
e0=$(expired)
prove slow
[ "$RC" -eq 5 ]
ok $? "server slower than the window: exit code 5 (got $RC)"
[ "$(wc -l <"$work/slow.err")" -eq 1 ] &&
	grep -Eq '^tlswitness prove: [A-Za-z_ ()]+: the reserved window expired$' "$work/slow.err"
ok $? "one line saying the window expired ($(head -c 200 "$work/slow.err"))"
[ ! -e "$work/slow.json" ] && [ ! -s "$work/slow.body" ] && ! ls "$work" | grep -q '\.tmp\.'
ok $? "no proof file, no body, no temporary left"
e1=$(expired)
[ $((e1 - e0)) -eq 1 ]
ok $? "the module counted the prover's window as expired ($e0 -> $e1)"
echo "1..$n"

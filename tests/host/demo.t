#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# `make demo URL=...` on the host (scripts/demo in URL mode) against a
# fresh swtpm (TW_TCTI) and openssl s_server on loopback, and the errors a
# new user can cause, each of which must say in one line what to do: no
# TPM, the module not loaded, no permission on the device, no root for the
# VM demo, the server down, a URL that is not https, a server whose CA is
# not given.  make demo's build shows one line, its output only on failure.
set -u
# As a user at a shell runs it, not as a sub-make of make check.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/swtpm.sh"
. "$top/tests/lib/certs.sh"
tw=$top/build/tlswitness
check=$top/build/tests/prog/proof_check
work=$(mktemp -d /tmp/tw-demo.XXXXXX)
spid=
cleanup() {
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
	fi
	swtpm_stop
	rm -rf "$work"
}
trap cleanup EXIT
. "$top/tests/lib/tap.sh"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# one_line FILE PATTERN: FILE holds exactly one line and it matches PATTERN.
one_line() {
	[ "$(wc -l <"$1")" -eq 1 ] && grep -Eq "$2" "$1"
}

if ! swtpm_start || ! certs_make "$work/certs"; then
	tap_bail "swtpm and test certificates"
fi
mkdir -p "$work/www"
printf 'hello from the URL demo\n' >"$work/www/index.html"
port=$(free_port)
(cd "$work/www" && exec openssl s_server -accept "127.0.0.1:$port" -tls1_3 -WWW -quiet \
	-cert "$work/certs/ec.pem" -key "$work/certs/ec.key" >/dev/null 2>&1) &
spid=$!
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.05
done

# ---- URL mode, on the TPM that TW_TCTI names

"$top/scripts/demo" --ca-file "$work/certs/ca.pem" --out "$work/out" \
	"https://localhost:$port/index.html" >"$work/stdout" 2>"$work/stderr"
rc=$?
sed 's/^/# /' "$work/stdout" "$work/stderr"
[ "$rc" -eq 0 ] && [ ! -s "$work/stderr" ]
ok $? "scripts/demo URL proves from the host (exit $rc)"
cmp -s "$work/out/body" "$work/www/index.html" && [ -s "$work/out/ak.pem" ]
ok $? "the body and the AK are kept in the output directory"
"$check" "$work/out/proof.json" --channel fallback >"$work/check" 2>&1
ok $? "the proof checks, on the fallback channel ($(tr '\n' ' ' <"$work/check"))"
grep -q "^demo: verified with the AK and $work/certs/ca.pem; the report:" "$work/stdout" &&
	grep -q "^    result *verified" "$work/stdout"
ok $? "the demo verifies the proof and shows the report"
[[ $(tail -n 1 "$work/stdout") == "demo: done in "*"The proof: $work/out/proof.json"* ]]
ok $? "the last line says where the proof is"

# ---- make demo URL=... CA=...: one line for the build, then the demo's own

(cd "$top" && make demo URL="https://localhost:$port/index.html" CA="$work/certs/ca.pem") \
	>"$work/stdout" 2>"$work/stderr"
rc=$?
sed 's/^/# /' "$work/stderr"
[ "$rc" -eq 0 ] && [ ! -s "$work/stderr" ] &&
	[ "$(head -n 1 "$work/stdout")" = \
		"demo: building the module and the tlswitness command (make all)" ] &&
	grep -q "^demo: verified with the AK and $work/certs/ca.pem" "$work/stdout"
ok $? "make demo URL=... CA=...: builds, proves and verifies (exit $rc)"
bad=$(grep -Ev '^(demo: |    )' "$work/stdout" | head -n 3)
[ -z "$bad" ]
ok $? "make demo prints only its own lines: no make[1], no compiler lines ($bad)"

(cd "$top" && make demo URL="https://localhost:$port/" CA="$work/certs/otherca.pem") \
	>/dev/null 2>"$work/err"
[ $? -ne 0 ] && grep -q "certificate check failed.*give the server's CA certificate with \
CA=FILE)$" "$work/err"
ok $? "make demo with the wrong CA: the hint names CA= ($(head -n 1 "$work/err"))"

(cd "$top" && make demo URL="https://localhost:$port/" KDIR="$work/no-kdir") \
	>"$work/stdout" 2>"$work/err"
rc=$?
[ "$rc" -ne 0 ] && [ "$(cat "$work/stdout")" = \
	"demo: building the module and the tlswitness command (make all)" ] &&
	grep -q "no-kdir" "$work/err" && grep -q "^demo: the build failed" "$work/err"
ok $? "make demo whose build fails: shows the build's output ($(grep '^demo:' "$work/err"))"

# ---- errors, one line each, saying what to do

"$top/scripts/demo" --ca-file "$work/certs/ca.pem" --out "$work/out2" \
	"https://localhost:$(free_port)/" >/dev/null 2>"$work/err"
rc=$?
[ "$rc" -ne 0 ] && grep -q "cannot connect.*is the server up" "$work/err" &&
	[ ! -e "$work/out2/proof.json" ]
ok $? "server down: demo fails and says to check the server ($(head -n 1 "$work/err"))"

"$top/scripts/demo" "http://localhost/" >/dev/null 2>"$work/err"
[ $? -ne 0 ] && one_line "$work/err" "URL must be https://"
ok $? "a URL that is not https: one line ($(cat "$work/err"))"

if [ -e /dev/tpmrm0 ] || [ -e /dev/tpmreserve0 ]; then
	echo "ok $((n + 1)) - no TPM: demo URL says to use the VM demo # SKIP this host has a TPM"
	n=$((n + 1))
else
	env -u TW_TCTI "$top/scripts/demo" "https://localhost:$port/" >/dev/null 2>"$work/err"
	[ $? -ne 0 ] && one_line "$work/err" "no TPM 2.0.*make demo without URL"
	ok $? "no TPM: demo URL says to use the VM demo ($(cat "$work/err"))"
fi

"$tw" ak --tcti device:"$work/no-tpm" -o "$work/ak.pem" 2>"$work/err"
[ $? -eq 1 ] && one_line "$work/err" "does not exist: this machine has no TPM 2.0.*--tcti.*demo"
ok $? "no TPM device: ak says what to do ($(cat "$work/err"))"

"$tw" prove "https://localhost:$port/" --tcti tpmreserve:"$work/no-tpmreserve" \
	--ca-file "$work/certs/ca.pem" -o "$work/p.json" >/dev/null 2>"$work/err"
[ $? -eq 5 ] && one_line "$work/err" "module is not loaded.*insmod kmod/tpmreserve.ko" &&
	[ ! -e "$work/p.json" ]
ok $? "reserved channel requested, module not loaded: prove says to load it ($(cat "$work/err"))"

"$tw" ak --tcti tpmreserve:"$work/no-tpmreserve" -o "$work/ak.pem" 2>"$work/err"
[ $? -eq 1 ] && one_line "$work/err" "module is not loaded.*insmod"
ok $? "reserved channel requested, module not loaded: ak says to load it"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as_nobody() {
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
	}
	: >"$work/tpm-device"
	chmod 600 "$work/tpm-device"
	chmod 755 "$work"
	mkdir -m 777 "$work/nobody"
	as_nobody "$tw" ak --tcti device:"$work/tpm-device" -o "$work/nobody/ak.pem" \
		2>"$work/err"
	[ $? -eq 1 ] && one_line "$work/err" "permission denied; run as root, or grant the device"
	ok $? "no permission on the TPM device: ak says to run as root ($(cat "$work/err"))"
	as_nobody "$top/scripts/demo-vm" >/dev/null 2>"$work/err"
	[ $? -ne 0 ] && one_line "$work/err" "needs root.*sudo make demo"
	ok $? "VM demo without root: one line saying to use root ($(cat "$work/err"))"
	# Before anything is built: make's own "*** [demo] Error 1" follows.
	(cd "$top" && as_nobody make demo) >"$work/nobody.out" 2>"$work/err"
	[ $? -ne 0 ] && [ ! -s "$work/nobody.out" ] && head -n 1 "$work/err" |
		grep -q "^demo: the VM demo needs root.*run sudo make demo$" &&
		[ "$(grep -vc '^make: \*\*\*' "$work/err")" -eq 1 ]
	ok $? "make demo without root: says so before building ($(head -n 1 "$work/err"))"
	as_nobody "$top/scripts/vm" run -- true >/dev/null 2>"$work/err"
	[ $? -eq 125 ] && one_line "$work/err" "run as root"
	ok $? "scripts/vm without root (make check's VM suites): one line ($(cat "$work/err"))"
else
	echo "ok $((n + 1)) - no permission on the TPM device # SKIP needs root and setpriv"
	echo "ok $((n + 2)) - VM demo without root # SKIP needs root and setpriv"
	echo "ok $((n + 3)) - make demo without root # SKIP needs root and setpriv"
	echo "ok $((n + 4)) - scripts/vm without root # SKIP needs root and setpriv"
	n=$((n + 4))
fi

# A new user who works as root clones into /root, which the guest covers
# with a fresh tmpfs: the checkout must still appear there.
if [ "$(id -u)" = 0 ] && [ -d /root ]; then
	clone=$(mktemp -d /root/tw-demo-clone.XXXXXX)
	mkdir "$clone/scripts"
	cp "$top/scripts/vm" "$top/scripts/vm-init" "$top/scripts/vm-tcg-noise" "$clone/scripts/"
	git -C "$clone" init -q
	(cd "$clone" && scripts/vm run -- sh -c 'pwd; echo inside >written') >"$work/clone.out" \
		2>"$work/clone.err"
	rc=$?
	[ "$rc" -eq 0 ] && [ "$(cat "$work/clone.out")" = "$clone" ] &&
		[ "$(cat "$clone/written" 2>/dev/null)" = inside ]
	ok $? "a checkout under /root reaches the guest (exit $rc $(head -c 200 "$work/clone.err"))"
	rm -rf "$clone"
else
	echo "ok $((n + 1)) - a checkout under /root # SKIP needs root"
	n=$((n + 1))
fi

echo "1..$n"

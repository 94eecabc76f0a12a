#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/prog/bench_prove's window ratio, one round against a fresh swtpm
# and openssl s_server: its denominator is the network round trips + TPM
# time + 1 ms, without the settle wait, which stays in the window hold and
# is printed on its own line.  A settle wait of 100 ms makes the
# difference plain: counted in the denominator it would cancel itself out.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/swtpm.sh"
. "$top/tests/lib/certs.sh"
. "$top/tests/lib/servers.sh"
bench="$top/build/tests/prog/bench_prove"
work=$(mktemp -d /tmp/tw-bench-prove.XXXXXX)
cleanup() {
	servers_stop
	swtpm_stop
	rm -rf "$work"
}
trap cleanup EXIT
. "$top/tests/lib/tap.sh"

if [ ! -x "$bench" ]; then
	tap_bail "${bench#"$top"/} is built"
fi
servers_dir "$work/srv"
head -c 1024 /dev/urandom >"$work/srv/www/1k.bin"
if ! swtpm_start || ! certs_make "$work/certs" ||
	! s_server -tls1_3 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"; then
	tap_bail "swtpm, certificates and s_server start"
fi

"$bench" "https://localhost:$PORT/1k.bin" "$work/certs/ca.pem" 1 100000 >"$work/out" 2>&1
ok $? "bench_prove runs one round with a 100 ms settle wait ($(tail -n 1 "$work/out"))"
sed 's/^/# /' "$work/out"

# value LABEL: the number on the line that starts with LABEL.
value() {
	sed -n "s/^$1 *\([0-9.]*\).*/\1/p" "$work/out" | head -n 1
}
hold=$(value "window hold")
tpm=$(value "TPM time (in TCTI)")
trips=$(value "  round trips")
settle=$(value "  settle wait")
ratio=$(sed -n 's/^RATIO prove-window-1k\.bin \([0-9.]*\) .*/\1/p' "$work/out")
[ -n "$hold" ] && [ -n "$tpm" ] && [ -n "$trips" ] && [ -n "$settle" ] && [ -n "$ratio" ]
ok $? "window hold, TPM time, round trips, settle wait and the RATIO line are printed"

awk -v s="${settle:-0}" 'BEGIN { exit !(s >= 100) }'
ok $? "the settle wait is shown on its own line ($settle ms >= 100 ms)"

# ratio_of TRIPS: window hold / (TRIPS + TPM + 1 ms), as bench_prove prints it.
ratio_of() {
	awk -v h="${hold:-0}" -v t="${tpm:-0}" -v n="$1" 'BEGIN { printf "%.2f", h / (n + t + 1) }'
}
expect=$(ratio_of "${trips:-0}")
old=$(ratio_of "$(awk -v n="${trips:-0}" -v s="${settle:-0}" 'BEGIN { print n + s }')")
awk -v r="${ratio:-0}" -v e="$expect" 'BEGIN { d = r - e; exit !(r > 0 && d * d < 0.0001) }'
ok $? "RATIO prove-window is window hold / (round trips + TPM + 1 ms): $ratio, expected $expect"

awk -v r="${ratio:-0}" -v o="$old" 'BEGIN { exit !(r > 1.5 * o) }'
ok $? "the settle wait is not in the denominator: $ratio, with it $old"
echo "1..$n"

#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The prover fails closed (tests/prog/fail-closed): P-256 that does not
# resolve to the library's provider, and a key share that was not the
# TPM's, each end in an error and no proof.  Against a fresh swtpm and
# openssl s_server on loopback.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/swtpm.sh"
. "$top/tests/lib/certs.sh"
. "$top/tests/lib/servers.sh"
. "$top/tests/lib/tap.sh"
prog="$top/build/tests/prog/fail-closed"
work=$(mktemp -d /tmp/tw-fail-closed.XXXXXX)
cleanup() {
	servers_stop
	swtpm_stop
	rm -rf "$work"
}
trap cleanup EXIT

if [ ! -x "$prog" ]; then
	tap_bail "${prog#"$top"/} is built"
fi
servers_dir "$work/srv"
head -c 1024 /dev/urandom >"$work/srv/www/1k.bin"
if ! swtpm_start || ! certs_make "$work/certs" ||
	! s_server -tls1_3 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"; then
	tap_bail "swtpm, certificates and s_server start"
fi
# Not exec: the EXIT trap must stop the servers.
"$prog" "https://localhost:$PORT/1k.bin" "$work/certs/ca.pem"

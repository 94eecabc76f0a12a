#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Inside the VM: the environment scripts/vm promises its commands, a TPM
# that answers, and a kernel log without warnings. The vm suite runs every
# tests/vm/*.t in one boot, in name order; the log check covers whatever
# ran before this test in that boot.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lib/vm.sh
. "$top/tests/lib/vm.sh"
. "$top/tests/lib/tap.sh"

[ "$(id -u)" = 0 ]
ok $? "runs as root"
[ "$HOME" = /root ] && [ -d /root ] && [ -w /root ]
ok $? "HOME is /root, writable"
command -v tpm2_getrandom >/dev/null && command -v modprobe >/dev/null
ok $? "PATH finds tpm2_getrandom and modprobe"
[ -c /dev/tpm0 ] && [ -c /dev/tpmrm0 ]
ok $? "/dev/tpm0 and /dev/tpmrm0 are character devices"

rnd=$(tpm2_getrandom -T device:/dev/tpmrm0 8 --hex 2>&1)
echo "# TPM2_GetRandom: $rnd"
[[ $rnd =~ ^[0-9a-f]{16}$ ]]
ok $? "TPM2_GetRandom through /dev/tpmrm0 answers 8 bytes"

[ -c /dev/hwrng ] && grep -q '^tpm-rng' /sys/class/misc/hw_random/rng_current &&
	[ "$(head -c 16 /dev/hwrng | wc -c)" = 16 ]
ok $? "/dev/hwrng reads from tpm-rng"

[ -d "/lib/modules/$(uname -r)/kernel" ] && modinfo tpm_vtpm_proxy >/dev/null
ok $? "the guest kernel's module tree is there"

ip -o link show lo | grep -q 'state UNKNOWN\|state UP' && ip -o addr show lo | grep -q '127.0.0.1'
ok $? "loopback is up with 127.0.0.1"

f=$(mktemp) && echo x >"$f" && f2=$(mktemp -p /var/tmp) && echo y >"$f2" && rm -f "$f" "$f2"
ok $? "/tmp and /var/tmp are writable"

warnings=$(vm_kernel_warnings)
[ -n "$warnings" ] && echo "$warnings" | sed 's/^/# /'
[ -z "$warnings" ]
ok $? "kernel log has no line of level warning or worse"
echo "1..$n"

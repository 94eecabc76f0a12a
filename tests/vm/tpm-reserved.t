#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Inside the VM: the library's windows on the reserved channel, with and
# without other TPM users hammering /dev/tpmrm0, and the tpmreserve TCTI
# module used by tpm2-tools.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
win="$top/build/tests/prog/tpm-window"
. "$top/tests/lib/tap.sh"

loaded_here=0
hammer_pid=
cleanup() {
	[ -n "$hammer_pid" ] && kill "$hammer_pid" 2>/dev/null && wait "$hammer_pid" 2>/dev/null
	[ "$loaded_here" = 1 ] && rmmod tpmreserve 2>/dev/null
}
trap cleanup EXIT

# The module is part of the tree: one that is not built or will not load is a failure.
if [ ! -e /dev/tpmreserve0 ]; then
	if ! out=$(insmod "$top/kmod/tpmreserve.ko" 2>&1); then
		echo "$out" | sed 's/^/# /'
		tap_bail "insmod kmod/tpmreserve.ko (run make first)"
	fi
	loaded_here=1
fi

out=$("$win" --expect-reserved --rounds 5 2>&1)
echo "$out" | sed 's/^/# /'
! echo "$out" | grep -q "^not ok"
ok $? "five windows with the default TPM run on the reserved channel, exclusive"

# Another TPM user hammers the resource manager meanwhile: it waits, the windows stay exclusive.
# TPM2_GetRandom(8) in a tight loop on one open /dev/tpmrm0.
python3 -c '
import os
fd = os.open("/dev/tpmrm0", os.O_RDWR)
cmd = bytes.fromhex("80010000000c0000017b0008")
while True:
    os.write(fd, cmd)
    os.read(fd, 4096)
' &
hammer_pid=$!
sleep 0.5
out=$("$win" tpmreserve --expect-reserved --rounds 10 2>&1)
echo "$out" | sed 's/^/# /'
! echo "$out" | grep -q "^not ok"
ok $? "ten windows on tpmreserve stay exclusive while /dev/tpmrm0 is hammered"

# The control: the same windows through the resource manager do lose exclusivity, so the
# hammer above really competed for the TPM.
out=$("$win" device:/dev/tpmrm0 --rounds 20 2>&1)
echo "$out" | sed 's/^/# /'
good=$(echo "$out" | sed -n 's/^.*ok 1 - \([0-9]*\) of 20 windows.*/\1/p')
[ -n "$good" ] && [ "$good" -lt 20 ]
ok $? "control: through /dev/tpmrm0 the hammer breaks exclusivity ($((20 - ${good:-20})) of 20 lost)"
kill "$hammer_pid" 2>/dev/null
wait "$hammer_pid" 2>/dev/null
hammer_pid=

hex=$(LD_LIBRARY_PATH="$top/build" tpm2_getrandom -T tpmreserve --hex 8 2>/dev/null)
[ ${#hex} -eq 16 ]
ok $? "tpm2-tools reach the TPM through libtss2-tcti-tpmreserve.so ($hex)"
echo "1..$n"

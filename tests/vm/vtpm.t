#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Inside the VM: a second TPM chip on the vTPM proxy (tests/lib/vtpm.sh)
# comes, answers and goes.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lib/vtpm.sh
. "$top/tests/lib/vtpm.sh"
. "$top/tests/lib/tap.sh"
trap vtpm_remove EXIT

vtpm_create
ok $? "vtpm_create makes a chip"
echo "# vTPM: $VTPM_DEV, $VTPM_RM"
[ "$VTPM_DEV" != /dev/tpm0 ] && [ -c "$VTPM_DEV" ] && [ -c "$VTPM_RM" ]
ok $? "it is a second chip with its own device nodes"

a=$(tpm2_getrandom -T "device:$VTPM_RM" 8 --hex 2>&1)
echo "# TPM2_GetRandom on the vTPM: $a"
[[ $a =~ ^[0-9a-f]{16}$ ]]
ok $? "TPM2_GetRandom through $VTPM_RM answers"

dev=$VTPM_DEV
vtpm_remove
[ $? -eq 0 ] && [ ! -e "$dev" ]
ok $? "vtpm_remove takes the chip away"
[ -c /dev/tpmrm0 ] && tpm2_getrandom -T device:/dev/tpmrm0 8 >/dev/null
ok $? "the first TPM still answers"
echo "1..$n"

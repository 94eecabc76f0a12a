#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The audited proving sequence against a fresh swtpm, then the replay's
# rejection of damaged logs made from the recorded one, then a lost
# exclusivity on a window marked as the reserved channel's, which must not
# be retried.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/swtpm.sh"

work=$(mktemp -d /tmp/tw-seq.XXXXXX)
trap 'swtpm_stop; rm -rf "$work"' EXIT

if ! swtpm_start; then
	echo "not ok 1 - swtpm starts"
	echo "1..1"
	exit 1
fi
# One TAP stream per program, each with its own plan: tests/run holds
# each stream after a "# ---- NAME" line to its own plan.
echo "# ---- tests/prog/tpm-sequence"
"$top/build/tests/prog/tpm-sequence" --save-log "$work/log.bin" || exit 1
if [ -x "$top/build/tests/prog/replay-mutate" ]; then
	echo "# ---- tests/prog/replay-mutate"
	"$top/build/tests/prog/replay-mutate" "$work/log.bin" || exit 1
fi
echo "# ---- tests/prog/reserved-exclusive"
"$top/build/tests/prog/reserved-exclusive" || exit 1

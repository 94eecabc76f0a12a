#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Run every fuzz target built under build/fuzz/ for a short, bounded time
# (FUZZ_CHECK_SECONDS, default 20) over its seed corpus; see tests/fuzz/run.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
secs=${FUZZ_CHECK_SECONDS:-20}
n=0
failed=0
for f in build/fuzz/*; do
	[ -x "$f" ] || continue
	n=$((n + 1))
	out=$(tests/fuzz/run "$f" "$secs")
	rc=$?
	line=$(echo "$out" | grep -E '^(not )?ok 1 ' | sed "s/ok 1 /ok $n /")
	echo "${line:-not ok $n - fuzz $(basename "$f"): no result}"
	echo "$out" | grep '^#'
	[ "$rc" -eq 0 ] || failed=1
done
if [ "$n" -eq 0 ]; then
	echo "ok 1 # SKIP no fuzz targets built (make check builds them)"
	n=1
fi
echo "1..$n"
exit $failed

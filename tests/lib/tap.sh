# SPDX-License-Identifier: BSD-2-Clause
#
# TAP for the shell tests: "ok STATUS DESCRIPTION" prints the next
# numbered result, passed when STATUS is 0; the script prints its plan,
# "1..$n", at the end.
n=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

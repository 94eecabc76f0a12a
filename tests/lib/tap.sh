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

# tap_bail DESCRIPTION: a failed result, the plan, exit 1; for a script
# that cannot go on (a helper not built, a server that does not start).
tap_bail() {
	ok 1 "$1"
	echo "1..$n"
	exit 1
}

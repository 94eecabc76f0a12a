# SPDX-License-Identifier: BSD-2-Clause
#
# Helpers for tests that run inside the scripts/vm guest.

# The guest kernel's log lines of level warning or worse, less the
# emulation timing noise that scripts/vm-tcg-noise lists.
vm_kernel_warnings() {
	local noise
	noise="$(dirname "${BASH_SOURCE[0]}")/../../scripts/vm-tcg-noise"
	dmesg --level=emerg,alert,crit,err,warn |
		grep -v -E -f <(grep -v -e '^#' -e '^$' "$noise")
}

# Kernel log lines that tell of a kernel bug, whatever their level.
vm_kernel_bugs() {
	dmesg | grep -E -e 'WARNING:|BUG:|BUG at|Oops|general protection|Call Trace:' \
		-e 'hung task|blocked for more than [0-9]+ seconds'
}

# SPDX-License-Identifier: BSD-2-Clause
#
# A second TPM inside the scripts/vm guest: a swtpm behind the kernel's
# vTPM proxy (tpm_vtpm_proxy), which the guest registers as one more chip,
# /dev/tpmN and /dev/tpmrmN. Source this file in a test that runs in the
# VM (as root):
#
#	. tests/lib/vtpm.sh
#	vtpm_create || exit 1	# sets VTPM_DEV, VTPM_RM, VTPM_PID
#	tpm2_getrandom -T "device:$VTPM_RM" 8
#	vtpm_remove		# the chip goes away with its swtpm
#
# The swtpm's state lives in a temporary directory, so every vTPM is
# fresh. Call vtpm_remove before the test ends (a trap on EXIT will do):
# the chip lives as long as its swtpm.

VTPM_PID=""
VTPM_DEV=""
VTPM_RM=""
VTPM_DIR=""

# Wait up to $2 tenths of a second for the command $1 to succeed.
vtpm_wait() {
	local i
	for ((i = 0; i < $2; i++)); do
		eval "$1" && return 0
		sleep 0.1
	done
	return 1
}

vtpm_create() {
	local line
	if ! modprobe tpm_vtpm_proxy; then
		echo "vtpm: cannot load tpm_vtpm_proxy" >&2
		return 1
	fi
	VTPM_DIR=$(mktemp -d /tmp/vtpm.XXXXXX) || return 1
	mkdir "$VTPM_DIR/state"
	# swtpm sends TPM2_Startup itself when it serves a vTPM proxy.
	swtpm chardev --vtpm-proxy --tpm2 --tpmstate dir="$VTPM_DIR/state" \
		>"$VTPM_DIR/log" 2>&1 &
	VTPM_PID=$!
	if ! vtpm_wait 'grep -q "^New TPM device: " "$VTPM_DIR/log"' 100; then
		echo "vtpm: swtpm made no TPM device:" >&2
		cat "$VTPM_DIR/log" >&2
		vtpm_remove
		return 1
	fi
	line=$(grep -m 1 "^New TPM device: " "$VTPM_DIR/log")
	line=${line#New TPM device: }
	VTPM_DEV=${line%% *}
	VTPM_RM=/dev/tpmrm${VTPM_DEV#/dev/tpm}
	if ! vtpm_wait '[ -c "$VTPM_DEV" ] && [ -c "$VTPM_RM" ]' 50; then
		echo "vtpm: $VTPM_DEV or $VTPM_RM did not appear" >&2
		vtpm_remove
		return 1
	fi
}

# Stop the swtpm; the kernel unregisters the chip when the proxy closes.
vtpm_remove() {
	local rc=0
	if [ -n "$VTPM_PID" ]; then
		kill "$VTPM_PID" 2>/dev/null
		wait "$VTPM_PID" 2>/dev/null
	fi
	if [ -n "$VTPM_DEV" ] && ! vtpm_wait '[ ! -e "$VTPM_DEV" ]' 50; then
		echo "vtpm: $VTPM_DEV is still there" >&2
		rc=1
	fi
	[ -n "$VTPM_DIR" ] && rm -rf "$VTPM_DIR"
	VTPM_PID="" VTPM_DEV="" VTPM_RM="" VTPM_DIR=""
	return $rc
}

# SPDX-License-Identifier: BSD-2-Clause
#
# Source this from a test: a fresh swtpm on a free loopback port with a
# temporary state directory, stopped by pid when the test exits.
#
#   . tests/lib/swtpm.sh
#   swtpm_start || exit 1     # sets TW_TCTI ("swtpm:host=127.0.0.1,port=P"),
#                             # SWTPM_PORT, SWTPM_PID, SWTPM_DIR; exports TW_TCTI
#   swtpm_stop                # optional: also runs on EXIT
#
# A test that installs its own EXIT trap must call swtpm_stop from it.

SWTPM_PID=
SWTPM_DIR=

swtpm_stop() {
	if [ -n "$SWTPM_PID" ]; then
		kill "$SWTPM_PID" 2>/dev/null
		wait "$SWTPM_PID" 2>/dev/null
		SWTPM_PID=
	fi
	if [ -n "$SWTPM_DIR" ]; then
		rm -rf "$SWTPM_DIR"
		SWTPM_DIR=
	fi
}

# True when something already listens on loopback port $1.
swtpm_port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# swtpm_start: up to 20 tries on random ports; returns 1 if none worked.
swtpm_start() {
	local try port
	swtpm_stop
	SWTPM_DIR=$(mktemp -d /tmp/tw-swtpm.XXXXXX) || return 1
	for try in $(seq 1 20); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if swtpm_port_busy "$port" || swtpm_port_busy $((port + 1)); then
			continue
		fi
		swtpm socket --tpm2 --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
			--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
			--tpmstate "dir=$SWTPM_DIR" --flags not-need-init,startup-clear \
			>"$SWTPM_DIR/log" 2>&1 &
		SWTPM_PID=$!
		local i
		for i in $(seq 1 100); do
			if ! kill -0 "$SWTPM_PID" 2>/dev/null; then
				break
			fi
			if swtpm_port_busy "$port" && swtpm_port_busy $((port + 1)); then
				SWTPM_PORT=$port
				TW_TCTI="swtpm:host=127.0.0.1,port=$port"
				export TW_TCTI SWTPM_PORT
				return 0
			fi
			sleep 0.05
		done
		kill "$SWTPM_PID" 2>/dev/null
		wait "$SWTPM_PID" 2>/dev/null
		SWTPM_PID=
	done
	echo "# swtpm did not start: $(cat "$SWTPM_DIR/log" 2>/dev/null)" >&2
	return 1
}

trap swtpm_stop EXIT

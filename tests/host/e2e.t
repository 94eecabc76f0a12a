#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# End to end: the demo as `make demo` runs it (scripts/demo-vm boots the
# VM, scripts/demo-guest runs inside), plus the control run without the
# module.  Checked here, on the host, from what the VM left in the
# checkout: the proof verifies with the demo CA and the exported AK, the
# session was exclusive, the background TPM users all completed without
# error, the guest kernel logged nothing unexpected, and the same request
# over /dev/tpmrm0 without the module, under the same load, needed retries
# or failed, as the prover recorded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tw=$top/build/tlswitness
check=$top/build/tests/prog/proof_check
. "$top/tests/lib/tap.sh"

if [ "$(id -u)" != 0 ]; then
	echo "ok 1 - end to end in the VM # SKIP needs root (scripts/vm shares the checkout)"
	echo "1..1"
	exit 0
fi
for f in "$tw" "$check" "$top/kmod/tpmreserve.ko"; do
	if [ ! -e "$f" ]; then
		tap_bail "${f#"$top"/} is built"
	fi
done

mkdir -p "$top/build"
out=$(mktemp -d "$top/build/e2e.XXXXXX")
trap 'rm -rf "$out"' EXIT

t0=$(date +%s)
"$top/scripts/demo-vm" --out "$out" --control >"$out.stdout" 2>"$out.stderr"
rc=$?
secs=$(($(date +%s) - t0))
mv "$out.stdout" "$out/stdout"
mv "$out.stderr" "$out/stderr"
sed 's/^/# /' "$out/stdout"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$out/stderr"
[ "$rc" -eq 0 ] && [ -e "$out/done" ]
ok $? "scripts/demo-vm --control completes (exit $rc, $secs s)"

# Each stage says one line, in this order; the last names the proof.
stages=("made a demo CA" "booting Linux" "tpmreserve loaded" "AK exported" "nginx serves"
	"background TPM users:" "proved https://localhost/ through /dev/tpmreserve0"
	"control without the module" "background TPM users all succeeded" "kernel log: no warnings"
	"verified here, outside the VM" "done in")
i=0
bad=""
while read -r line; do
	case $line in
	"demo:   "*|"    "*) continue ;;
	esac
	if [ $i -ge ${#stages[@]} ] || [[ $line != "demo: ${stages[$i]}"* ]]; then
		bad="line '$line' where stage '${stages[$i]:-none}' was due"
		break
	fi
	i=$((i + 1))
done < <(grep -v '^    ' "$out/stdout")
[ -z "$bad" ] && [ $i -eq ${#stages[@]} ]
ok $? "one progress line per stage, in order${bad:+ ($bad)}"
[ "$secs" -lt 120 ]
ok $? "the whole run ends within two minutes ($secs s)"

# ---- the proof

bad=""
for f in proof.json ak.pem ak.pem.pub ca.pem page.html; do
	[ -s "$out/$f" ] || bad="$bad $f"
done
ok $((${#bad} != 0)) "the proof, AK, demo CA and page outlive the VM${bad:+ (missing$bad)}"

grep -q "Demo token: [0-9a-f]\{32\}" "$out/page.html" && cmp -s "$out/page.html" "$out/served.html"
ok $? "the body the prover printed is the page nginx served"

"$check" "$out/proof.json" --channel reserved >"$out/check" 2>&1
ok $? "proof_check on the host: key share, ZGen input, replay, exclusive YES, reserved channel"
sed 's/^/# proof_check: /' "$out/check"

read -r channel retries < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["tpm"]
print(t["channel"], t["retries"])' "$out/proof.json" 2>/dev/null)
[ "${channel:-}" = reserved ] && [ "${retries:-x}" = 0 ]
ok $? "the proof records the reserved channel and no retry ($channel, ${retries:-?} retries)"

"$tw" verify "$out/proof.json" --ak "$out/ak.pem" --ca-file "$out/ca.pem" \
	--host localhost --json >"$out/verify.json" 2>"$out/verify.err"
vrc=$?
ok $vrc "tlswitness verify on the host accepts the proof $(head -c 200 "$out/verify.err")"
python3 - "$out/verify.json" <<'EOF'
import json
import sys

r = json.load(open(sys.argv[1]))
checks = {c["check"]: c["result"] for c in r["checks"]}
sys.exit(0 if r["verified"] is True and checks.get("exclusive-session") == "passed" else 1)
EOF
ok $? "the verifier reports the audit session exclusive (exclusiveSession YES)"
[ -s "$out/verify.txt" ]
ok $? "the demo showed the verifier's report"

# ---- the other TPM users

users_ok=1
while read -r name status runs; do
	echo "# background user $name: exit $status, $runs iterations"
	[ "$status" = 0 ] && [ "$runs" -gt 0 ] || users_ok=0
done <"$out/users"
[ "$(grep -c '^getrandom-' "$out/users")" -ge 1 ] && grep -q '^hwrng ' "$out/users" || users_ok=0
summary=$(awk '{ printf "%s%s: %s runs", (NR > 1 ? ", " : ""), $1, $3 }' "$out/users")
ok $((1 - users_ok)) "every background TPM user ran and exited 0 ($summary)"

# ---- the guest kernel

unexpected=$(grep -v -e 'loading out-of-tree module taints kernel' \
	-e 'module verification failed: signature and/or required key missing' "$out/kernel.log")
[ -e "$out/kernel.log" ] && [ -z "$unexpected" ]
ok $? "the guest kernel logged no warning or error during the scenario${unexpected:+ ($unexpected)}"
! grep -Eq 'BUG:|WARNING:|Oops|Call Trace|hung_task|blocked for more than' "$out/stderr"
ok $? "no BUG, WARNING, oops or hung task anywhere in the guest kernel log"

# The scenario's own stderr (what scripts/vm passes on, less its report of
# the guest kernel's log) must be empty: a failing helper shows here.
extra=$(sed '/^---- guest kernel log/,/^----$/d' "$out/vm.log")
[ -z "$extra" ]
ok $? "the scenario wrote nothing to stderr in the VM${extra:+ ($(echo "$extra" | head -n 2))}"

# ---- the control: same request, same load, no module

crc=$(cat "$out/control.rc" 2>/dev/null)
lost=$(grep -c 'lost exclusivity' "$out/control.log" 2>/dev/null)
sed -n 's/^tlswitness prove: /# control: /p' "$out/control.log" | head -n 8
if [ "${crc:-x}" = 0 ]; then
	cretries=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["tpm"]["retries"])' "$out/control.json" 2>/dev/null)
	[ "${cretries:-0}" -gt 0 ] && [ "$lost" -eq "$cretries" ]
	ok $? "control over /dev/tpmrm0 needed retries ($cretries in the proof, $lost logged)"
else
	# Every attempt lost: the retried ones are logged, the last is the error.
	[ -n "$crc" ] && [ "$crc" -eq 5 ] && [ "$lost" -gt 0 ] &&
		tail -n 1 "$out/control.log" | grep -q 'exclusivity (0x121)'
	rc=$?
	ok $rc "control over /dev/tpmrm0 failed: all $((lost + 1)) attempts lost exclusivity, exit $crc"
fi
grep -q 'warning: no reserved channel' "$out/control.log"
ok $? "control: the prover warned that it ran in fallback mode"

echo "1..$n"

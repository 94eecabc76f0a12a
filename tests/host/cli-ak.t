#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tlswitness ak against a fresh swtpm: the AK public key it writes is the
# one tpm2-tools makes from the documented template, and it is stable.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/swtpm.sh"
tw="$top/build/tlswitness"
work=$(mktemp -d /tmp/tw-ak.XXXXXX)
trap 'swtpm_stop; rm -rf "$work"' EXIT
. "$top/tests/lib/tap.sh"

if ! swtpm_start; then
	tap_bail "swtpm starts"
fi

"$tw" ak --tcti "$TW_TCTI" -o "$work/ak.pem" 2>"$work/err"
ok $? "tlswitness ak writes the AK ($(head -c 200 "$work/err"))"
openssl pkey -pubin -in "$work/ak.pem" -noout -text 2>/dev/null | grep -q "NIST CURVE: P-256"
ok $? "the PEM is a P-256 public key OpenSSL reads"
tpm2_print -t TPM2B_PUBLIC "$work/ak.pem.pub" >"$work/print" 2>&1 &&
	grep -q "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign" \
		"$work/print" && grep -A1 "^scheme:" "$work/print" | grep -q ecdsa
ok $? "FILE.pub is a TPM2B_PUBLIC with the AK template's attributes and ECDSA scheme"

# The same template through tpm2-tools gives the same key: the template is what the docs say.
tpm2_createprimary -T "$TW_TCTI" -C e -g sha256 -G ecc_nist_p256:ecdsa-sha256:null \
	-a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign" \
	-c "$work/p.ctx" >/dev/null 2>&1 &&
	tpm2_readpublic -T "$TW_TCTI" -c "$work/p.ctx" -f pem -o "$work/tools.pem" >/dev/null 2>&1 &&
	tpm2_flushcontext -T "$TW_TCTI" -t >/dev/null 2>&1
cmp -s "$work/ak.pem" "$work/tools.pem"
ok $? "tpm2_createprimary with the documented template makes the same key"

TW_TCTI="$TW_TCTI" "$tw" ak -o "$work/again.pem" 2>"$work/err" && cmp -s "$work/ak.pem" "$work/again.pem"
ok $? "a second run (TPM from \$TW_TCTI) gives the same AK ($(head -c 200 "$work/err"))"

"$tw" ak --tcti "$TW_TCTI" 2>/dev/null
[ $? -eq 2 ]
ok $? "no -o: exit status 2"
"$tw" frobnicate 2>/dev/null
[ $? -eq 2 ]
ok $? "unknown subcommand: exit status 2"
"$tw" ak --tcti "swtpm:host=127.0.0.1,port=1" -o "$work/none.pem" 2>"$work/err"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$work/err")" -eq 1 ] && grep -q "^tlswitness ak: " "$work/err"
ok $? "no TPM: exit status 1 and one line on stderr ($(head -c 200 "$work/err"))"
echo "1..$n"

#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tlswitness verify on proofs the prover makes here, against a fresh swtpm
# and real TLS 1.3 servers on loopback: openssl s_server (ECDSA and RSA
# certificates, an IP literal with 1 MiB), our HelloRetryRequest and
# 0.5-RTT servers, nginx with 1 MiB.  Each proof must verify with the
# right record classes; then the command's refusals and exit codes, and
# the forged-proof corpus (tests/prog/forge) built from one of the proofs.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/swtpm.sh"
. "$top/tests/lib/certs.sh"
. "$top/tests/lib/servers.sh"
tw="$top/build/tlswitness"
forge="$top/build/tests/prog/forge"
work=$(mktemp -d /tmp/tw-verify.XXXXXX)
cleanup() {
	servers_stop
	swtpm_stop
	rm -rf "$work"
}
trap cleanup EXIT
. "$top/tests/lib/tap.sh"

# prove NAME URL [ARGS...]: a proof in $work/NAME.json, or a failed test.
prove() {
	local name=$1 url=$2
	shift 2
	"$tw" prove "$url" --tcti "$TW_TCTI" --ca-file "$work/certs/ca.pem" \
		-o "$work/$name.json" "$@" >"$work/$name.body" 2>"$work/$name.err"
	ok $? "$name: the prover makes a proof ($(head -c 200 "$work/$name.err"))"
}

# verify NAME [ARGS...]: tlswitness verify --json into $work/NAME.out; sets RC.
verify() {
	local name=$1
	shift
	"$tw" verify "$work/$name.json" --ak "$work/ak.pem" --ca-file "$work/certs/ca.pem" \
		"$@" >"$work/$name.out" 2>"$work/$name.verr"
	RC=$?
}

# json NAME EXPR: evaluate a Python expression over the JSON report as r.
json() {
	python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$work/$1.out" "$2" 2>/dev/null
}

# The classes every verified proof must show: the server's first flight up
# to its Finished attested, ServerHello included, the rest of the server's
# records consistent, the client's records client, every change_cipher_spec
# (no AEAD tag, outside the transcript) unauthenticated whoever sent it, and
# the counts and byte totals in agreement.  The committed byte count is
# never called attested: it takes in the change_cipher_spec and may end
# inside a record.
CLASSES='(all((x["class"] == "unauthenticated") == (x["type"] == "change_cipher_spec")
        for x in r["records"])
and all(x["class"] == "client" for x in r["records"] if x["dir"] == "client"
        and x["type"] != "change_cipher_spec")
and all(x["class"] == "attested" for x in r["records"] if x["dir"] == "server"
        and x["type"] != "change_cipher_spec"
        and x["offset"] + x["length"] <= r["committed_server_bytes"])
and all(x["class"] == "consistent" for x in r["records"] if x["dir"] == "server"
        and x["offset"] + x["length"] > r["committed_server_bytes"])
and any("server_hello" in x.get("messages", []) and x["class"] == "attested"
        for x in r["records"] if x["dir"] == "server")
and any("finished" in x.get("messages", []) and x["class"] == "attested"
        for x in r["records"] if x["dir"] == "server")
and all(r["counts"][c] == sum(x["class"] == c for x in r["records"])
        for c in ("attested", "consistent", "client", "unauthenticated"))
and r["attested_records"] == [x["index"] for x in r["records"] if x["class"] == "attested"]
and "attested_server_bytes" not in r and r["version"] == 2
and r["committed_server_bytes"] == r["tpm"]["commits"][0]["server_bytes"])'

# The records the attestation binds: a prefix holding the client's Finished
# and none of the HTTP exchange's client records.
BOUND='(all(x["bound"] == (x["index"] < r["tpm"]["bound_records"]) for x in r["records"])
and any(x["bound"] and "finished" in x.get("messages", []) for x in r["records"]
        if x["dir"] == "client")
and not any(x["bound"] for x in r["records"]
        if x["dir"] == "client" and x["type"] == "application_data"))'

# good NAME BODY_BYTES EXTRA [ARGS...]: verifies, classes right, body all there.
good() {
	local name=$1 bytes=$2 extra=$3
	shift 3
	verify "$name" --json "$@"
	ok $((RC != 0)) "$name: verifies, exit 0 ($(head -c 200 "$work/$name.verr"))"
	json "$name" "r[\"verified\"] and all(c[\"result\"] == \"passed\" for c in r[\"checks\"])"
	ok $? "$name: every check reported passed"
	json "$name" "$CLASSES"
	ok $? "$name: first flight attested, later server records consistent, client records client, change_cipher_spec unauthenticated"
	json "$name" "$BOUND"
	ok $? "$name: the attestation binds the handshake, not the HTTP request"
	json "$name" "sum(x.get(\"data_length\", 0) for x in r[\"records\"] if x[\"dir\"] == \"server\") >= $bytes"
	ok $? "$name: the server's application data holds the whole response"
	if [ -n "$extra" ]; then
		json "$name" "$extra"
		ok $? "$name: $extra"
	fi
}

if ! swtpm_start; then
	tap_bail "swtpm starts"
fi
servers_dir "$work"
if ! certs_make "$work/certs"; then
	tap_bail "test certificates"
fi
head -c 3000 /dev/urandom >"$work/www/small.bin"
head -c 1048576 /dev/urandom >"$work/www/big.bin"
"$tw" ak --tcti "$TW_TCTI" -o "$work/ak.pem" >/dev/null 2>&1
ok $? "the AK's public key, as PEM and TPM2B_PUBLIC"
nonce=00112233445566778899aabbccddeeff

# ---- proofs from real servers, verified ----

s_server -tls1_3 -cert "$work/certs/ec.pem" -key "$work/certs/ec.key"
prove ecdsa "https://localhost:$PORT/small.bin" --nonce "$nonce"
prove ecdsa-ip "https://127.0.0.1:$PORT/big.bin"
servers_stop
s_server -tls1_3 -cert "$work/certs/rsa.pem" -key "$work/certs/rsa.key"
prove rsa "https://localhost:$PORT/small.bin"
servers_stop
test_server hrr "$work/certs/ec.pem" "$work/certs/ec.key"
prove hrr "https://localhost:$PORT/x"
servers_stop
test_server early "$work/certs/ec.pem" "$work/certs/ec.key"
prove early "https://localhost:$PORT/x"
servers_stop
nginx_server "$work/certs/ec.pem" "$work/certs/ec.key"
prove nginx "https://localhost:$PORT/big.bin"
servers_stop

good ecdsa 3000 'r["tpm"]["nonce_checked"] and r["handshake"]["signature_scheme"] == "ecdsa_secp256r1_sha256" and r["counts"]["unauthenticated"] >= 1' \
	--nonce "$nonce"
good ecdsa-ip 1048576 'r["handshake"]["host"] == "127.0.0.1" and r["handshake"]["host_given"] and r["handshake"]["sni"] is None' \
	--host 127.0.0.1
good rsa 3000 'r["handshake"]["signature_scheme"].startswith("rsa_pss")'
good hrr 3000 'r["handshake"]["hello_retry"] and any("hello_retry_request" in x.get("messages", []) and x["class"] == "attested" for x in r["records"])'
good early 3000 'any(x["type"] == "application_data" and x["class"] == "attested" for x in r["records"])'
good nginx 1048576 'r["counts"]["consistent"] >= 64'

# The text report: the claim, the classes, and what 'consistent' does not prove.
verify ecdsa --nonce "$nonce"
[ "$RC" -eq 0 ] && grep -q "^handshake (attested)" "$work/ecdsa.out" &&
	grep -q "subject CN=ec test leaf" "$work/ecdsa.out" &&
	grep -q "TPM clock .* resetCount .* restartCount" "$work/ecdsa.out" &&
	grep -q "^result      verified: all 16 checks ran and passed" "$work/ecdsa.out" &&
	grep -Eq "server +0 +[0-9]+ plaintext +attested +handshake: server_hello" "$work/ecdsa.out" &&
	grep -Eq "server +[0-9]+ +[0-9]+ plaintext +unauthenticated +change_cipher_spec" "$work/ecdsa.out" &&
	grep -Eq "consistent +application_data" "$work/ecdsa.out" &&
	grep -q "^  bound     records \[0, [0-9]*) by the signed" "$work/ecdsa.out" &&
	grep -q "does not vouch" "$work/ecdsa.out" && [ ! -s "$work/ecdsa.verr" ]
ok $? "text report: handshake claim, classes per record, the limit of 'consistent'"
grep -Eq "^  attested  server records [0-9]+(-[0-9]+)?(, [0-9]+(-[0-9]+)?)*: whole records committed before ZGen" \
	"$work/ecdsa.out" &&
	grep -q "^  committed server bytes \[0, [0-9]*) before ZGen" "$work/ecdsa.out" &&
	! grep -q "server bytes \[0, [0-9]*) attested" "$work/ecdsa.out" &&
	grep -q "^  nonce     $nonce: the verifier's" "$work/ecdsa.out"
ok $? "text report: the attested server records by row, the committed bytes not called attested"
verify ecdsa
tr -s ' \n' ' ' <"$work/ecdsa.out" | grep -q " nonce $nonce: the proof's field, the prover's word" &&
	! grep -q "the verifier's, so" "$work/ecdsa.out"
ok $? "text report without --nonce: the nonce is the proof's field, the prover's word"

# How the transcript ends: the text report says what --json says, in words.
cp "$work/ecdsa.json" "$work/ends.json"
verify ends --json
json ends 'r["handshake"]["server_close_notify"]'
want_server=$([ $? -eq 0 ] && echo present || echo absent)
json ends 'r["handshake"]["client_close_notify"]'
want_client=$([ $? -eq 0 ] && echo present || echo absent)
verify ends
grep -q "^  end       server close_notify $want_server, client close_notify $want_client: " \
	"$work/ends.out"
ok $? "text report: whether each side's close_notify is there (server $want_server, client $want_client)"

# Records after the bound ones are signed by nothing: dropped from the end,
# the rest still verifies, and the report must say the proof may be cut.
python3 - "$work/ecdsa.json" "$work/endcut.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["tls"]["records"] = p["tls"]["records"][:p["tpm"]["bound_records"]]
json.dump(p, open(sys.argv[2], "w"))
EOF
verify endcut --nonce "$nonce"
[ "$RC" -eq 0 ] && tr -s ' \n' ' ' <"$work/endcut.out" |
	grep -q "end server close_notify absent, client close_notify absent: the transcript may have been cut short by the prover"
ok $? "records after the handshake removed: verifies, and the text report says it may have been cut short"

# The AK given as the marshalled TPM2B_PUBLIC instead of PEM.
"$tw" verify "$work/ecdsa.json" --ak "$work/ak.pem.pub" --ca-file "$work/certs/ca.pem" \
	>/dev/null 2>&1
ok $? "the AK as TPM2B_PUBLIC (ak.pem.pub) verifies too"

# ---- refusals: one stderr line naming the check, documented exit codes ----

# refused NAME CODE PATTERN: exit CODE, exactly one stderr line matching PATTERN.
refused() {
	local name=$1 code=$2 pattern=$3
	[ "$RC" -eq "$code" ] && [ "$(wc -l <"$work/$name.verr")" -eq 1 ] &&
		grep -Eq "$pattern" "$work/$name.verr"
	ok $? "$4: exit $code and one line ($(head -c 200 "$work/$name.verr"))"
}

openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
	openssl ec -pubout -out "$work/other-ak.pem" 2>/dev/null
cp "$work/ecdsa.json" "$work/otherak.json"
verify otherak --ak "$work/other-ak.pem"
refused otherak 1 "^tlswitness verify: check 2 ak-trusted failed" "another AK"

cp "$work/ecdsa.json" "$work/nonce.json"
verify nonce --nonce 00 --json
refused nonce 1 "check 2 qualifying-data failed.*another nonce" "a nonce the proof was not made for"
json nonce 'not r["verified"] and r["failed"]["check"] == "qualifying-data" and r["failed"]["step"] == 2'
ok $? "--json on failure names the failed check and its step"

# The proof's nonce field rewritten: the signature binds the verifier's
# nonce, so the field must match it, and the report never shows the field
# as the verifier's.
sed -E "s/\"nonce\": *\"$nonce\"/\"nonce\":\"deadbeef\"/" "$work/ecdsa.json" >"$work/nonce-field.json"
! cmp -s "$work/ecdsa.json" "$work/nonce-field.json"
ok $? "forged: the proof's nonce field rewritten to deadbeef"
verify nonce-field --nonce "$nonce" --json
refused nonce-field 1 "check 2 qualifying-data failed.*nonce field is not the verifier's nonce" \
	"forged nonce field, the verifier's nonce given"
json nonce-field 'not r["verified"] and "tpm" not in r'
ok $? "--json: the forged nonce field is not reported as checked"
verify nonce-field
refused nonce-field 1 "check 2 qualifying-data failed.*does not bind" \
	"forged nonce field, no --nonce"

cp "$work/ecdsa.json" "$work/host.json"
verify host --host otherhost.invalid
refused host 1 "check 7 tls failed.*host name mismatch" "a host the certificate does not name"

# Without SNI nothing signs the proof's server_name: the verifier must name the host.
cp "$work/ecdsa-ip.json" "$work/nosni.json"
verify nosni
refused nosni 1 "check 7 tls failed.*no SNI.*--host" "no SNI and no --host"
sed -E 's/"server_name": *"127\.0\.0\.1"/"server_name":"localhost"/' "$work/ecdsa-ip.json" \
	>"$work/nosni-forged.json"
! cmp -s "$work/ecdsa-ip.json" "$work/nosni-forged.json"
ok $? "forged: the IP proof's unsigned server_name rewritten to localhost"
verify nosni-forged
refused nosni-forged 1 "check 7 tls failed.*no SNI.*--host" "forged server_name, no SNI, no --host"
verify nosni-forged --host 127.0.0.1
[ "$RC" -eq 0 ] && grep -q "^  server    127.0.0.1: .*(no SNI: the name the verifier gave)" \
	"$work/nosni-forged.out" && ! grep -q localhost "$work/nosni-forged.out"
ok $? "forged server_name with --host: the report shows the verifier's name, never the proof's"

cp "$work/ecdsa.json" "$work/expired.json"
verify expired --time $(($(date +%s) + 30 * 86400))
refused expired 1 "check 7 tls failed.*expired" "verification time after the certificates expired"

cp "$work/ecdsa.json" "$work/untrusted.json"
"$tw" verify "$work/untrusted.json" --ak "$work/ak.pem" --ca-file "$work/certs/otherca.pem" \
	>/dev/null 2>"$work/untrusted.verr"
RC=$?
refused untrusted 1 "check 7 tls failed.*chain" "a trust store without the server's CA"

# A record is named by its row in the report's table (its index in the
# proof), then by its index among its direction's records.
python3 - "$work/ecdsa.json" "$work/tag.json" >"$work/tag.rows" <<'EOF'
import base64, json, sys
p = json.load(open(sys.argv[1]))
recs = p["tls"]["records"]
row = max(i for i, x in enumerate(recs)
          if x["dir"] == "server" and i >= p["tpm"]["bound_records"])
data = bytearray(base64.b64decode(recs[row]["data"]))
data[-1] ^= 1
recs[row]["data"] = base64.b64encode(data).decode()
json.dump(p, open(sys.argv[2], "w"))
print(row, sum(x["dir"] == "server" for x in recs[:row]))
EOF
read -r row server_row <"$work/tag.rows"
verify tag
refused tag 1 "check 7 tls failed.*: record $row \(server record $server_row\) AEAD tag invalid$" \
	"a bit flipped in an unbound record's tag: named by its row in the table"
verify tag --json
json tag "r[\"failed\"][\"message\"] == \"record $row (server record $server_row) AEAD tag invalid\""
ok $? "--json: the failed record named the same way"

# What is wrong with a file that is not JSON, in the file's terms.
head -c 2000 "$work/ecdsa.json" >"$work/cut.json"
verify cut
refused cut 3 "check 1 proof-file failed.*: proof: truncated JSON \(ends at byte 2000\)$" \
	"a cut proof file is malformed"
: >"$work/empty.json"
verify empty
refused empty 3 "check 1 proof-file failed.*: proof: empty file$" "an empty proof file"
{ echo '{'; echo "  \"format\": 'tlswitness'"; echo '}'; } >"$work/word.json"
verify word
refused word 3 "check 1 proof-file failed.*: proof: not JSON at line 2, column 13$" \
	"a proof file with a word that is not JSON"

verify missing
refused missing 4 "^tlswitness verify: cannot read the proof .*missing.json: No such file" \
	"a proof file that does not exist"

# A directory where a file belongs cannot be read, whichever file it is.
mkdir -p "$work/dir.json"
verify dir
refused dir 4 "^tlswitness verify: cannot read the proof .*dir.json: it is a directory$" \
	"a directory as the proof"
"$tw" verify "$work/ecdsa.json" --ak "$work" >/dev/null 2>"$work/dirak.verr"
RC=$?
refused dirak 4 "^tlswitness verify: cannot read the AK file .*: it is a directory$" \
	"a directory as --ak"
cp "$work/ecdsa.json" "$work/dirca.json"
"$tw" verify "$work/dirca.json" --ak "$work/ak.pem" --ca-file "$work" \
	>/dev/null 2>"$work/dirca.verr"
RC=$?
refused dirca 4 "^tlswitness verify: cannot read the CA file .*: it is a directory$" \
	"a directory as --ca-file"

# --ca-path: a directory of certificates under OpenSSL's hashed names.
# capath NAME DIR [ARGS...]: verify ecdsa.json with --ca-path DIR alone.
capath() {
	local name=$1 dir=$2
	shift 2
	"$tw" verify "$work/ecdsa.json" --ak "$work/ak.pem" --ca-path "$dir" "$@" \
		>"$work/$name.out" 2>"$work/$name.verr"
	RC=$?
}
mkdir -p "$work/capath" "$work/capath-empty"
cp "$work/certs/ca.pem" "$work/capath/"
openssl rehash "$work/capath" 2>/dev/null
capath capath "$work/capath"
ok $RC "--ca-path with the server's CA, rehashed: verifies ($(head -c 200 "$work/capath.verr"))"
capath capath-missing "$work/nonexistent"
refused capath-missing 4 "^tlswitness verify: cannot use the CA directory .*nonexistent: No such file" \
	"--ca-path that does not exist"
capath capath-file "$work/certs/ca.pem"
refused capath-file 4 "^tlswitness verify: cannot use the CA directory .*ca.pem: it is not a directory" \
	"--ca-path naming a file"
capath capath-empty "$work/capath-empty"
refused capath-empty 2 "^tlswitness verify: the CA directory .* holds no certificate under a hashed name" \
	"--ca-path without certificates"
capath capath-both "$work/capath" --ca-file "$work/certs/ca.pem"
refused capath-both 2 "^tlswitness verify: give --ca-file or --ca-path, not both" \
	"--ca-file and --ca-path together"

"$tw" verify "$work/ecdsa.json" --ca-file "$work/certs/ca.pem" >/dev/null 2>"$work/usage.verr"
RC=$?
[ "$RC" -eq 2 ] && grep -q "^usage: tlswitness verify" "$work/usage.verr"
ok $? "no --ak is a usage error (exit 2)"
"$tw" verify "$work/ecdsa.json" --ak "$work/ak.pem" --nonce xyz >/dev/null 2>"$work/usage.verr"
[ $? -eq 2 ]
ok $? "a nonce that is not hex is a usage error (exit 2)"
"$tw" verify "$work/ecdsa.json" --ak "$work/certs/ca.key" >/dev/null 2>"$work/usage.verr"
[ $? -eq 2 ] && grep -q "not a PEM public key" "$work/usage.verr"
ok $? "an AK file that is no public key is a usage error (exit 2)"

# ---- TPM-signed proofs that must fail (tests/prog/window_proof) ----

# real NAME WANT PATTERN WHAT [ARGS...]: a window on the swtpm over ecdsa.json's bytes.
real() {
	local name=$1 want=$2 pattern=$3 what=$4
	shift 4
	"$top/build/tests/prog/window_proof" "$work/ecdsa.json" "$work/$name.json" "$@" \
		2>"$work/$name.werr"
	verify "$name"
	refused "$name" "$want" "$pattern" "TPM-signed, $what"
}
# Another TPM user after ZGen: the TPM signs exclusiveSession NO, the log is clean.
real intrude 1 "check 2 exclusive-session failed" "exclusiveSession NO" --intrude
# A clean window with a key of its own passes up to the TLS binding.
real newkey 1 "check 6 client-share failed" "a key that is not the ClientHello's"
real newkey-create-load 1 "check 6 client-share failed" \
	"the same with TPM2_Create and TPM2_Load" --create-and-load

# ---- the forged-proof corpus ----

mkdir -p "$work/forged"
"$forge" "$work/ecdsa.json" "$work/ak.pem" "$work/certs/ca.pem" "$work/forged" \
	>"$work/forge.tap" 2>&1
rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok 0 "forged: ${line#ok * - }" ;;
	"not ok "*) ok 1 "forged: ${line#not ok * - }" ;;
	esac
done <"$work/forge.tap"
[ "$rc" -eq 0 ] && [ "$(grep -c '^ok ' "$work/forge.tap")" -ge 40 ]
ok $? "the forged-proof corpus ran whole ($(grep -c '^ok ' "$work/forge.tap") cases passed)"

# The report says which checks ran: ZGen turned into GetRandom stops the
# replay at the sequence, before the digest is compared.
cp "$work/forged/log-ZGen-replaced-by-GetRandom.json" "$work/getrandom.json"
verify getrandom --json
refused getrandom 1 "check 4 sequence failed" "forged: ZGen replaced by GetRandom"
json getrandom '{c["check"]: c["result"] for c in r["checks"]} == {
	"proof-file": "passed", "attestation": "not finished", "ak-trusted": "not finished",
	"ak-signature": "passed", "qualifying-data": "passed", "exclusive-session": "passed",
	"audit-log": "not finished", "audit-digest": "not finished", "sequence": "failed",
	"parent": "not run", "key": "not finished", "commit": "not run", "client-share": "not run",
	"server-share": "not run", "tls": "not run", "bound-handshake": "not run"}'
ok $? "--json: the digest never compared is not finished, not passed"
verify getrandom
grep -q "^result      rejected: check 4 sequence failed" "$work/getrandom.out" &&
	grep -Eq "^  3 audit-digest +not finished$" "$work/getrandom.out" &&
	grep -Eq "^  2 ak-signature +passed$" "$work/getrandom.out" &&
	grep -Eq "^  7 tls +not run$" "$work/getrandom.out"
ok $? "text: a rejected proof lists what ran to its end, what did not, what failed"

echo "1..$n"

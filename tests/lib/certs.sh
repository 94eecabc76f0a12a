# SPDX-License-Identifier: BSD-2-Clause
#
# Source this from a test: test certificates made at test time with openssl.
#
#   . tests/lib/certs.sh
#   certs_make DIR || exit 1
#
# makes, under DIR:
#   ca.pem                     a test CA (ECDSA P-256), the trust anchor
#   ec.pem ec.key              leaf for localhost and 127.0.0.1, ECDSA P-256
#   rsa.pem rsa.key            the same names, RSA 2048
#   wronghost.pem wronghost.key  leaf for otherhost.invalid only, from ca.pem
#   untrusted.pem untrusted.key  leaf for localhost from another CA (not ca.pem)
# Leaves are valid for 2 days and carry serverAuth.
#
#   certs_dated DIR            after certs_make DIR, adds two more leaves
#                              for localhost and 127.0.0.1 from ca.pem:
#   expired.pem expired.key    valid from 3 days ago until yesterday
#   notyet.pem notyet.key      valid from tomorrow for 2 days

# certs_leaf DIR NAME CA KEYSPEC SAN
certs_leaf() {
	local dir=$1 name=$2 ca=$3 keyspec=$4 san=$5
	openssl req -new -newkey "$keyspec" -nodes -keyout "$dir/$name.key" \
		-subj "/CN=${name} test leaf" -out "$dir/$name.csr" 2>/dev/null || return 1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
		"$san" >"$dir/$name.ext"
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
		-CAcreateserial -days 2 -sha256 -extfile "$dir/$name.ext" \
		-out "$dir/$name.pem" 2>/dev/null || return 1
	rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# certs_leaf_dated DIR NAME START END: an ECDSA leaf for localhost and
# 127.0.0.1 from ca.pem, valid from START to END (YYYYMMDDHHMMSSZ, UTC).
# openssl x509 -days cannot go back in time; openssl ca sets both dates.
certs_leaf_dated() {
	local dir=$1 name=$2 db=$1/$2.ca
	mkdir -p "$db" || return 1
	: >"$db/index"
	cat >"$db/conf" <<CONF
[ca]
default_ca = dated
[dated]
database = $db/index
new_certs_dir = $db
serial = $db/serial
default_md = sha256
policy = anything
unique_subject = no
[anything]
commonName = supplied
CONF
	openssl rand -hex 16 >"$db/serial" || return 1
	openssl req -new -newkey "ec:$dir/ec.params" -nodes -keyout "$dir/$name.key" \
		-subj "/CN=${name} test leaf" -out "$db/csr" 2>/dev/null || return 1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n%s\n' \
		'basicConstraints=CA:FALSE' >"$db/ext"
	openssl ca -batch -config "$db/conf" -cert "$dir/ca.pem" -keyfile "$dir/ca.key" \
		-in "$db/csr" -startdate "$3" -enddate "$4" -extfile "$db/ext" -notext \
		-out "$dir/$name.pem" >/dev/null 2>&1 || return 1
	rm -rf "$db"
}

certs_dated() {
	local utc='+%Y%m%d%H%M%SZ'
	certs_leaf_dated "$1" expired "$(date -u -d '-3 days' "$utc")" \
		"$(date -u -d '-1 day' "$utc")" || return 1
	certs_leaf_dated "$1" notyet "$(date -u -d '+1 day' "$utc")" \
		"$(date -u -d '+3 days' "$utc")" || return 1
}

# certs_ca DIR NAME
certs_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1/$2.key" -out "$1/$2.pem" -days 2 -subj "/CN=tlswitness $2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

certs_make() {
	local dir=$1 here="DNS:localhost,IP:127.0.0.1"
	mkdir -p "$dir" || return 1
	certs_ca "$dir" ca || return 1
	certs_ca "$dir" otherca || return 1
	openssl ecparam -name prime256v1 -out "$dir/ec.params" || return 1
	certs_leaf "$dir" ec ca "ec:$dir/ec.params" "$here" || return 1
	certs_leaf "$dir" rsa ca rsa:2048 "$here" || return 1
	certs_leaf "$dir" wronghost ca "ec:$dir/ec.params" "DNS:otherhost.invalid" || return 1
	certs_leaf "$dir" untrusted otherca "ec:$dir/ec.params" "$here" || return 1
}

#!/bin/sh
# Generates throw-away test certificates at test time (nothing private is
# committed). Usage: mkcerts.sh OUTDIR   (idempotent: does nothing if
# OUTDIR/done exists).
#
#   ca.pem / ca.key             test root CA (trusted by tests via --cafile)
#   server.pem / server.key     CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1
#   wronghost.pem / .key        signed by the CA, SAN DNS:wrong.example only
#   expired.pem / .key          signed by the CA for localhost, expired in 2020
#   selfsigned.pem / .key       localhost, signed by itself (untrusted)
#   client.pem / client.key     client certificate signed by the CA
#   other-ca.pem                a second CA that signed nothing we use
# Each *.pem of a leaf holds the leaf only; chain files are *-chain.pem.
set -eu
out=${1:?usage: mkcerts.sh OUTDIR}
[ -f "$out/done" ] && exit 0
mkdir -p "$out"
cd "$out"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
days=3650

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days $days -subj "/CN=mailout test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem 2>/dev/null
key other-ca.key
openssl req -x509 -new -key other-ca.key -sha256 -days $days -subj "/CN=mailout other CA" \
    -addext "basicConstraints=critical,CA:TRUE" -out other-ca.pem 2>/dev/null

# leaf NAME CN SAN [extra x509 args]
leaf() {
    name=$1 cn=$2 san=$3
    shift 3
    key "$name.key"
    openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nsubjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
        -extfile "$name.ext" -out "$name.pem" "$@" 2>/dev/null
    cat "$name.pem" ca.pem > "$name-chain.pem"
    rm -f "$name.csr" "$name.ext"
}
leaf server localhost "DNS:localhost,IP:127.0.0.1,IP:::1" -days $days
leaf wronghost wrong.example "DNS:wrong.example" -days $days
leaf client "mailout test client" "DNS:client.test" -days $days

# Expired: openssl x509 cannot back-date, so use a minimal 'openssl ca'.
key expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out expired.csr 2>/dev/null
mkdir -p ca-db && : > ca-db/index.txt && echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = p
copy_extensions = none
x509_extensions = e
[p]
commonName = supplied
[e]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1
CNF
openssl ca -batch -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
    -startdate 20190101000000Z -enddate 20200101000000Z -out expired.pem -notext 2>/dev/null
cat expired.pem ca.pem > expired-chain.pem
rm -f expired.csr

key selfsigned.key
openssl req -x509 -new -key selfsigned.key -sha256 -days $days -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out selfsigned.pem 2>/dev/null

touch done

#!/usr/bin/env bash
# Test-only certificates for the IEEE 2030.5 TLS tests: an ECDSA P-256 test CA standing in for the SERCA/MCA
# chain (its key discarded after signing), the server's certificate (serverAuth; SAN localhost, 127.0.0.1), a
# device certificate (clientAuth) whose SHA-256 gives the device's LFDI, and a device certified by another CA
# that the server must refuse. Valid for 100 years. The private keys are public: never use them outside tests.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
  key "$work/$1.key"
  openssl req -x509 -new -key "$work/$1.key" -subj "/CN=$2" -days 36500 -sha256 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out "$1.pem"
}
leaf() { # name ca subject extensions
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$3" -out "$work/$1.csr"
  printf '%s\n' "$4" > "$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA "$2.pem" -CAkey "$work/$2.key" -CAcreateserial -days 36500 -sha256 \
    -extfile "$work/$1.ext" -out "$1.pem" 2>/dev/null
}
ca ca "IDEA 2030.5 test CA"
ca rogue-ca "Someone else's CA"
leaf server ca "localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf device ca "IDEA DER device 1" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=clientAuth"
leaf rogue rogue-ca "rogue device" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=clientAuth"
rm -f ./*.srl rogue-ca.pem.srl

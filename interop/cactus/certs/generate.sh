#!/usr/bin/env bash
# Test-only certificates for running the CSIP-AUS server harness (cactus-client) against `idea serve
# sep2-server`: an ECDSA P-256 CA standing in for the SERCA (its key discarded after signing), the server's
# certificate (SAN localhost, 127.0.0.1), two device clients and two aggregator clients. The harness derives
# each client's LFDI from its certificate. Valid for 100 years; the keys are public: never use them outside tests.
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -subj "/CN=IDEA CSIP-AUS harness CA" -days 36500 -sha256 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ca.pem
leaf() { # name subject extensions
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$work/$1.csr"
  printf '%s\n' "$3" > "$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA ca.pem -CAkey "$work/ca.key" -CAcreateserial -days 36500 -sha256 \
    -extfile "$work/$1.ext" -out "$1.pem" 2>/dev/null
}
client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=clientAuth"
leaf server "localhost" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyAgreement
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf device1 "harness device 1" "$client"
leaf device2 "harness device 2" "$client"
leaf aggregator1 "harness aggregator 1" "$client"
leaf aggregator2 "harness aggregator 2" "$client"
rm -f ./*.srl

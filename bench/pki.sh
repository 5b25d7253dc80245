#!/bin/sh
# The benchmark PKI, all EC P-256 / ECDSA-SHA256, made with the openssl CLI:
#
#   certgate Bench Root CA
#   ├── certgate Bench Client Intermediate CA
#   │   └── Bench Client          client.pem, client.key, client-chain.pem (leaf + intermediate)
#   └── localhost (server)       server.pem, server.key, server-combined.pem (HAProxy's crt)
#
# Every proxy trusts root.pem alone, so the client chain is verified at depth 2.
# Idempotent: nothing is done when OUTDIR/root.pem exists.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
[ -f "$out/root.pem" ] && exit 0
mkdir -p "$out"
work=$(mktemp -d "$out/.pki.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"

cat >ext.cnf <<'EOF'
[ root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ inter ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ client ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = URI:spiffe://bench/client
[ server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1
EOF

key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# issue NAME SUBJECT EXT ISSUER_CERT ISSUER_KEY
issue() {
    key "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$4" -CAkey "$5" -CAcreateserial -days 3650 \
        -sha256 -extfile ext.cnf -extensions "$3" -out "$1.pem" 2>/dev/null
}

key root.key
openssl req -new -x509 -key root.key -subj "/O=certgate bench/CN=certgate Bench Root CA" \
    -days 3650 -sha256 -config ext.cnf -extensions root -out root.pem 2>/dev/null
issue int "/O=certgate bench/CN=certgate Bench Client Intermediate CA" inter root.pem root.key
issue client "/O=certgate bench/OU=Bench/CN=Bench Client" client int.pem int.key
issue server "/O=certgate bench/CN=localhost" server root.pem root.key
cat client.pem int.pem >client-chain.pem
cat server.pem server.key >server-combined.pem
openssl verify -CAfile root.pem -untrusted int.pem -purpose sslclient client.pem >/dev/null
openssl verify -CAfile root.pem -purpose sslserver server.pem >/dev/null

chmod 600 ./*.key server-combined.pem
rm -f ./*.csr ./*.srl ext.cnf
for f in *; do
    [ "$f" = root.pem ] || mv -f "$f" "$out/$f"
done
mv -f root.pem "$out/root.pem"

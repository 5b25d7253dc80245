#!/bin/sh
# Generate the demo PKI (SPEC §8, seed 003's tree) into OUTDIR.
#
#   APIM Sample Root CA
#   ├── APIM Sample DEV Intermediate CA
#   │   ├── Valid Client, Unregistered Client, Revoked Client
#   │   ├── Expired Client (2020-01-01 .. 2021-01-01)
#   │   └── Not Yet Valid Client (2035-01-01 .. 2036-01-01)
#   ├── APIM Sample TST Intermediate CA
#   │   └── Untrusted Client
#   ├── server (localhost, 127.0.0.1; RSA and ECDSA P-256), other.localhost
#   └── certgate Gateway Client (gw-client.p12, for outbound mTLS)
#
# Dates are fixed so that every run produces the same validity windows; the CAs
# start in 2019 so that even the expired client sits inside its issuer's window.
# `openssl ca` is used throughout because OpenSSL 3.0's `x509 -req` cannot set a
# start date in the past.
#
# Idempotent: if OUTDIR/root-ca.pem exists nothing is done. The tree is built in
# a scratch directory and root-ca.pem is moved in last, so an interrupted run
# never looks finished.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
[ -f "$out/root-ca.pem" ] && exit 0

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.gen-pki.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"

P12_PASS=demo-pass
OCSP_URL=http://127.0.0.1:8889

# Per-CA throwaway `openssl ca` setup: database, serial, config with every
# extension section we use.
ca_init() { # NAME
    mkdir -p "ca-$1/new"
    : >"ca-$1/index.txt"
    echo "unique_subject = no" >"ca-$1/index.txt.attr"
    # Random positive 64-bit serial start so that re-generated trees never collide.
    echo "10$(openssl rand -hex 7)" >"ca-$1/serial"
    echo 1000 >"ca-$1/crlnumber"
    cat >"ca-$1/ca.cnf" <<EOF
[ ca ]
default_ca = this_ca

[ this_ca ]
dir = $work/ca-$1
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_crl_days = 3650
policy = policy_any
copy_extensions = none
unique_subject = no
email_in_dn = no
preserve = yes

[ policy_any ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ v3_root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_intermediate ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \${ENV::SAN}

[ v3_client ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \${ENV::SAN}
authorityInfoAccess = OCSP;URI:$OCSP_URL

[ v3_ocsp ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

rsa_key() { # FILE
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
}

ec_key() { # FILE
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# sign CA ISSUER_CERT ISSUER_KEY KEY SUBJECT EXT START END OUT [SAN]
sign() {
    ca=$1 icert=$2 ikey=$3 key=$4 subj=$5 ext=$6 start=$7 end=$8 outf=$9
    SAN=${10:-email:nobody@demo.example}
    export SAN
    openssl req -new -key "$key" -subj "$subj" -out "$outf.csr" 2>/dev/null
    if [ "$icert" = self ]; then
        set -- -selfsign
    else
        set -- -cert "$icert"
    fi
    openssl ca -batch -notext -config "ca-$ca/ca.cnf" "$@" -keyfile "$ikey" \
        -in "$outf.csr" -out "$outf" -extensions "$ext" \
        -startdate "$start" -enddate "$end" 2>ca.log ||
        {
            cat ca.log >&2
            exit 1
        }
    rm -f "$outf.csr"
}

ca_init root
ca_init dev
ca_init tst

# CAs: subjects are the bare CN so that issuer pinning reads as in seed 003
# (allowed_issuers: ["CN=APIM Sample DEV Intermediate CA"]).
rsa_key root-ca.key
sign root self root-ca.key root-ca.key "/CN=APIM Sample Root CA" v3_root \
    20190101000000Z 20491231235959Z root-ca.pem
rsa_key dev-intermediate.key
sign root root-ca.pem root-ca.key dev-intermediate.key "/CN=APIM Sample DEV Intermediate CA" \
    v3_intermediate 20190601000000Z 20481231235959Z dev-intermediate.pem
rsa_key tst-intermediate.key
sign root root-ca.pem root-ca.key tst-intermediate.key "/CN=APIM Sample TST Intermediate CA" \
    v3_intermediate 20190601000000Z 20481231235959Z tst-intermediate.pem

# client NAME "Common Name" CA START END
client() {
    rsa_key "$1.key"
    sign "$3" "$3-intermediate.pem" "$3-intermediate.key" "$1.key" \
        "/O=APIM Sample/OU=Demo Clients/CN=$2" v3_client "$4" "$5" "$1.pem" \
        "email:$1@demo.example, URI:spiffe://demo/$1"
    cat "$1.pem" "$3-intermediate.pem" >"$1-chain.pem"
}

client valid-client "Valid Client" dev 20240101000000Z 20440101000000Z
client unregistered-client "Unregistered Client" dev 20240101000000Z 20440101000000Z
client expired-client "Expired Client" dev 20200101000000Z 20210101000000Z
client notyetvalid-client "Not Yet Valid Client" dev 20350101000000Z 20360101000000Z
client revoked-client "Revoked Client" dev 20240101000000Z 20440101000000Z
client untrusted-client "Untrusted Client" tst 20240101000000Z 20440101000000Z

# Revocation: the DEV CRL lists the revoked client; the DEV database doubles as
# the index for `openssl ocsp -index dev-index.txt -CA dev-intermediate.pem
# -rsigner ocsp.pem -rkey ocsp.key -port 8889` (the clients' AIA points there).
openssl ca -batch -config ca-dev/ca.cnf -cert dev-intermediate.pem -keyfile dev-intermediate.key \
    -revoke revoked-client.pem -crl_reason keyCompromise 2>ca.log || {
    cat ca.log >&2
    exit 1
}
openssl ca -batch -config ca-dev/ca.cnf -cert dev-intermediate.pem -keyfile dev-intermediate.key \
    -gencrl -crlexts crl_ext -out dev.crl 2>ca.log || {
    cat ca.log >&2
    exit 1
}
rsa_key ocsp.key
sign dev dev-intermediate.pem dev-intermediate.key ocsp.key \
    "/O=APIM Sample/CN=APIM Sample DEV OCSP Responder" v3_ocsp \
    20240101000000Z 20440101000000Z ocsp.pem
cp ca-dev/index.txt dev-index.txt

# Servers, signed by the root.
rsa_key server.key
sign root root-ca.pem root-ca.key server.key "/O=APIM Sample/CN=localhost" v3_server \
    20240101000000Z 20440101000000Z server.pem "DNS:localhost, IP:127.0.0.1"
ec_key server-ec.key
sign root root-ca.pem root-ca.key server-ec.key "/O=APIM Sample/CN=localhost" v3_server \
    20240101000000Z 20440101000000Z server-ec.pem "DNS:localhost, IP:127.0.0.1"
rsa_key other.key
sign root root-ca.pem root-ca.key other.key "/O=APIM Sample/CN=other.localhost" v3_server \
    20240101000000Z 20440101000000Z other.pem "DNS:other.localhost"
printf '%s\n' "$P12_PASS" >server.p12.pass
openssl pkcs12 -export -in server.pem -inkey server.key -certfile root-ca.pem \
    -name localhost -passout "pass:$P12_PASS" -out server.p12

# The gateway's own client certificate, for mTLS to backends.
rsa_key gw-client.key
sign root root-ca.pem root-ca.key gw-client.key "/O=APIM Sample/OU=Gateways/CN=certgate Gateway" \
    v3_client 20240101000000Z 20440101000000Z gw-client.pem "URI:spiffe://demo/certgate-gateway"
printf '%s\n' "$P12_PASS" >gw-client.p12.pass
openssl pkcs12 -export -in gw-client.pem -inkey gw-client.key -certfile root-ca.pem \
    -name gw-client -passout "pass:$P12_PASS" -out gw-client.p12

# Bundles: the chain seed 003 uploads to the gateway (intermediate + root).
cat dev-intermediate.pem root-ca.pem >dev-chain.pem

rm -rf ca-root ca-dev ca-tst ca.log
chmod 600 ./*.key
for f in *; do
    [ "$f" = root-ca.pem ] || mv -f "$f" "$out/$f"
done
mv -f root-ca.pem "$out/root-ca.pem"

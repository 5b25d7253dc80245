#!/bin/sh
# `make run`: the demo PKI, a demo config, and certgate in the foreground.
#   https://localhost:8443  mTLS (require, on_failure: http) -> builtin echo
#   https://localhost:8444  TLS only (client auth ignored)    -> builtin echo
#   http://127.0.0.1:9901   admin (/health)
# Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
build=${BUILD:-build}
pki=$build/demo-pki
bin=$build/certgate

[ -x "$bin" ] || {
    echo "demo: $bin is missing; run 'make' first" >&2
    exit 1
}
scripts/gen-pki.sh "$pki"

cat >"$build/demo.yaml" <<'EOF'
# Written by scripts/demo.sh; paths are relative to this file.
policies:
  dev-clients:                      # seed 003: DEV clients only, checked against the DEV CRL
    trusted_ca: [demo-pki/root-ca.pem]
    intermediates: [demo-pki/dev-intermediate.pem]
    allowed_issuers: ["CN=APIM Sample DEV Intermediate CA"]
    max_depth: 3
    revocation: {mode: crl, crl: [demo-pki/dev.crl]}
  registered:                       # and of those, only the registered one
    inherit: dev-clients
    allow: {cn: [Valid Client]}
listeners:
  - name: mtls
    address: 127.0.0.1:8443
    tls:
      certificates:
        - {cert: demo-pki/server.pem, key: demo-pki/server.key}
      client_auth: {mode: require, policy: dev-clients, on_failure: http}
    forward:
      headers:
        - {name: X-ARR-ClientCert, format: base64-der}
      identity_headers: true
    routes:
      - {match: {path_prefix: /health}, policy: none, backend: echo}
      - {match: {path_prefix: /}, policy: registered, backend: echo}
  - name: tls
    address: 127.0.0.1:8444
    tls:
      certificates:
        - {cert: demo-pki/server.pem, key: demo-pki/server.key}
      client_auth: {mode: ignore}
    routes:
      - {match: {path_prefix: /}, backend: echo}
backends:
  echo: {builtin: echo}
admin: {address: 127.0.0.1:9901}
EOF

p=$top/$pki
show() { # NAME EXPECTED
    printf '  # %s\n  curl --cacert %s/root-ca.pem --cert %s/%s-chain.pem --key %s/%s.key \\\n' \
        "$2" "$p" "$p" "$1" "$p" "$1"
    printf '      https://localhost:8443/cert-info\n'
}
cat <<EOF
certgate demo: mTLS on https://localhost:8443, TLS on https://localhost:8444,
admin on http://127.0.0.1:9901/health. Try, from another terminal:

EOF
show valid-client "valid: 200, the echo shows the X-ARR-ClientCert the backend got"
show expired-client "expired: 401 {\"error\":\"ClientCertificateExpired\"}"
show notyetvalid-client "not yet valid: 401 {\"error\":\"ClientCertificateNotYetValid\"}"
show untrusted-client \
    "untrusted (TST intermediate): 401 {\"error\":\"ClientCertificateNotTrusted\"}"
show unregistered-client "unregistered: 403 {\"error\":\"ClientCertificateIdentityNotMatched\"}"
show revoked-client "revoked: 401 {\"error\":\"ClientCertificateRevoked\"} (dev.crl lists it)"
cat <<EOF
  # no certificate: 401 {"error":"ClientCertificateNotFound"}
  curl --cacert $p/root-ca.pem https://localhost:8443/cert-info
  # TLS-only listener: 200, client {"verify":"NONE"}; a spoofed header is stripped
  curl --cacert $p/root-ca.pem -H 'X-ARR-ClientCert: forged' https://localhost:8444/cert-info

Press Ctrl-C to stop.
EOF
exec "$bin" run -c "$build/demo.yaml"

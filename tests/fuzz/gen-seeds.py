#!/usr/bin/env python3
"""Regenerate the seed corpora corpus/identity, corpus/dn and corpus/config.

    python3 tests/fuzz/gen-seeds.py        # from anywhere; needs the openssl CLI

identity: DER certificates from tests/testdata (haproxy, x509-limbo, NIST PKITS, RFC 9440,
XFCC) and a few made here whose subject and SANs carry the bytes that headers must not
(CR, LF, control bytes, , ; = "); dn: their subjects and issuers as `openssl x509 -nameopt
RFC2253` prints them, and hand-written DNs; config: the YAML blocks of docs/*.md, the certgate.yaml of
deploy/kubernetes/configmap.yaml and tests/unit/config/data/*.yaml, plus configs that name no file (so the loader
goes past the first missing certificate). Seeds are named seed-*; a regression input
(crash-*, leak-*, ...) copied next to them is kept.
"""

import glob
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = REPO / "tests" / "testdata"
MAX_DER = 2500
PKITS = [
    "InvalidNegativeSerialNumberTest15EE",
    "ValidNegativeSerialNumberTest14EE",
    "ValidLongSerialNumberTest16EE",
    "InvalidLongSerialNumberTest18EE",
    "ValidGeneralizedTimenotAfterDateTest8EE",
    "ValidGeneralizedTimenotBeforeDateTest4EE",
    "Invalidpre2000UTCEEnotAfterDateTest7EE",
    "ValidNameChainingWhitespaceTest3EE",
    "ValidNameChainingCapitalizationTest5EE",
    "ValidNameUIDsTest6EE",
    "ValidDNandRFC822nameConstraintsTest27EE",
    "ValidDNSnameConstraintsTest30EE",
    "ValidRFC822nameConstraintsTest21EE",
    "InvalidURInameConstraintsTest35EE",
    "ValidDSASignaturesTest4EE",
    "AllCertificatesNoPoliciesTest2EE",
]


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def write_set(name, items):
    """items: list of (label, bytes). Replaces the old seed-* files of corpus/<name>."""
    d = HERE / "corpus" / name
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    seen = set()
    for label, data in items:
        h = hashlib.sha1(data).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", label)[:60]
        (d / f"seed-{safe}").write_bytes(data)
    print(f"corpus/{name}: {len(seen)} seeds")


def pem_certs(path):
    """Every certificate of a PEM file, as DER."""
    text = Path(path).read_text(errors="replace")
    out = []
    for m in re.finditer(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S):
        out.append(openssl("x509", "-outform", "DER", data=m.group(0).encode()))
    return out


def crafted_certs():
    """Small certificates whose fields carry what a header must never: made with openssl."""
    specs = [
        ("ctrl-subject", '/CN=fuzz, "client";=\r\n\x01x/OU=Clients/O=Ex\\+ample',
         'subjectAltName=URI:spiffe://example.com/a;b=c,DNS:client.example.com,'
         'email:client@example.com'),
        ("ctrl-san", "/CN=client", "subjectAltName=URI:spiffe://e/\x01\x7fq,DNS:a\tb.example"),
        ("utf8-multi", "/CN=J\u00e9r\u00f4me+UID=42/OU=\u00c9quipe/DC=example/DC=com",
         "subjectAltName=DNS:*.example.com,DNS:xn--bcher-kva.example,URI:https://x.example/p?q=1"),
        ("no-subject", "/", "subjectAltName=IP:127.0.0.1,IP:::1"),
    ]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "k.pem")
        for label, subj, ext in specs:
            crt = os.path.join(tmp, label + ".pem")
            args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "30", "-subj", subj,
                    "-addext", ext, "-addext", "extendedKeyUsage=clientAuth",
                    "-utf8", "-multivalue-rdn"]
            openssl(*args)
            out.append((f"made-{label}", openssl("x509", "-in", crt, "-outform", "DER")))
    return out


def identity_seeds():
    items = []
    for f in sorted(glob.glob(str(DATA / "haproxy-ssl-certs" / "*"))):
        for i, der in enumerate(pem_certs(f)):
            items.append((f"haproxy-{Path(f).stem}-{i}", der))
    for f in sorted(glob.glob(str(DATA / "x509-limbo" / "client_cases" / "*.pem"))):
        if not f.endswith(".leaf.pem"):
            continue
        for i, der in enumerate(pem_certs(f)):
            items.append((f"limbo-{Path(f).stem}-{i}", der))
    for f in sorted(glob.glob(str(DATA / "rfc9440" / "*.der"))):
        items.append((f"rfc9440-{Path(f).stem}", Path(f).read_bytes()))
    for i, der in enumerate(pem_certs(DATA / "xfcc" / "clientcert_2024.pem")):
        items.append((f"xfcc-{i}", der))
    # PKITS: end entities with the fields that trip encoders (serials, times, names, SANs)
    for stem in PKITS:
        items.append((f"pkits-{stem}", (DATA / "nist-pkits" / "certs" / f"{stem}.crt").read_bytes()))
    items += crafted_certs()
    return [(label, der) for label, der in items if len(der) <= MAX_DER]


def dn_seeds(certs):
    items = []
    for label, der in certs:
        for which in ("-subject", "-issuer"):
            line = openssl("x509", "-inform", "DER", "-noout", which, "-nameopt", "RFC2253",
                           data=der).decode(errors="replace").strip()
            dn = line.split("=", 1)[1] if "=" in line else line
            if dn:
                items.append((f"{label}{which}", dn.encode()))
    hand = [
        "CN=APIM Sample DEV Intermediate CA",
        "CN=a\\,b,O=x+OU=y",
        'CN="quoted, value",O=Contoso',
        "CN=\\#not hex,OU=\\ lead and trail\\ ",
        "CN=#0C03616263",
        "CN=#1E0400410042",
        "CN=#130141+OU=#1203313233",
        "2.5.4.3=oid type,0.9.2342.19200300.100.1.25=com",
        "emailAddress=a@example.com,serialNumber=1234,UID=u1,STREET=Main St,L=Paris,ST=IdF,C=FR",
        "SN=Surname,GN=Given,title=Dr",
        "CN=J\\C3\\A9r\\C3\\B4me",
        "CN=Jérôme",
        "CN=a\\0Ab\\0Dc\\00d",
        "CN = spaced ,  O = out ",
        "CN=a,,O=b",
        "CN=",
        "CN=x\\",
    ]
    items += [(f"hand-{i}", s.encode()) for i, s in enumerate(hand)]
    # thumbprints for certgate_hex_normalize
    items += [
        ("hex-colons", b"AB:cd:01:23:45:67:89:ef:AB:cd:01:23:45:67:89:ef:AB:cd:01:23"),
        ("hex-lrm", "\u200eabcdef0123456789abcdef0123456789abcdef01".encode()),
        ("hex-spaces", b"ab cd\tef\n01"),
    ]
    return items


def yaml_blocks(text):
    return [m.group(1) for m in re.finditer(r"```ya?ml\n(.*?)```", text, re.S)]


NO_FILES = [
    # a plain listener and every section that needs no file
    """listeners:
  - name: web
    address: 127.0.0.1:8080
    timeouts: {handshake: 10s, header: 5s, idle: 1m30s}
    limits: {header_bytes: 32KiB, headers: 100, connections: 10000, request_line: 8k}
    forward:
      headers:
        - {name: X-ARR-ClientCert, format: base64-der}
        - {name: Client-Cert, format: rfc9440, chain: true}
        - {name: x-forwarded-client-cert, format: xfcc, xfcc_mode: append}
        - {name: "", format: hex}
      identity_headers: true
    routes:
      - {match: {path_prefix: /health}, policy: none, backend: echo}
      - {match: {host: api.example.com, path_prefix: /}, backend: app}
backends:
  echo: {builtin: echo}
  app:
    servers: [http://127.0.0.1:3000, "http://[::1]:3001"]
    balance: least_conn
    health: {path: /status, interval: 30s, timeout: 5s, unhealthy_threshold: 3,
             healthy_threshold: 2, match_status: 200-399}
    timeouts: {connect: 5s, response: 20s}
admin: {address: 127.0.0.1:9901}
log: {access: off, errors: stderr, level: debug, format: json}
workers: 4
drain_timeout: 500ms
reload: {watch: false}
""",
    # the header source behind a gateway, on plain HTTP
    """listeners:
  - name: behind
    address: "[::1]:8081"
    client_cert:
      source: header
      header: X-ARR-ClientCert
      format: auto
      trusted_proxies: [10.0.0.0/8, "fd00::/8", 127.0.0.1]
      policy: none
    forward: {identity_headers: false}
    routes: [{match: {path_prefix: /}, backend: app}]
backends:
  app: {servers: ["https://10.0.0.5:443"], tls: {server_name: api.internal, verify: false}}
""",
    # anchors, aliases and merge keys
    """defaults: &d {connect: 5s, response: 20s}
listeners:
  - &l {name: a, address: ":8080", routes: [{match: {path_prefix: /}, backend: b}]}
  - {<<: *l, name: c, address: ":8081"}
backends:
  b: {servers: [http://127.0.0.1:1], timeouts: *d}
""",
    # wrong types everywhere
    """listeners: {name: x}
policies: [a, b]
backends: 3
workers: many
drain_timeout: 10
log: {level: loud}
""",
    # policies with every key: they fail at the first file, key order decides how far
    """policies:
  p:
    max_depth: 3
    require_client_auth_eku: false
    min_rsa_bits: 3072
    min_ec_bits: 384
    allow_weak_signatures: false
    allow: {sha1: ["00:11"], sha256: [ab], cn: [x], san_dns: [a.example], san_uri: [u:x],
            ou: [o], serial: ["01"]}
    allowed_issuers: ["CN=APIM Sample DEV Intermediate CA,O=Contoso"]
    revocation: {mode: ocsp, fail: open, scope: chain, cache: 5m, ocsp_url: "http://ocsp",
                 ocsp_nonce: true, ocsp_timeout: 2s, crl_fetch: true, crl_timeout: 3s,
                 crl_refresh: 10m}
    trusted_ca: [root-ca.pem]
  q: {inherit: p, allow: {cn: [y]}}
listeners:
  - {name: m, address: ":8443", routes: [{match: {path_prefix: /}, policy: q}]}
""",
]


def config_seeds():
    items = []
    for f in sorted(glob.glob(str(REPO / "docs" / "*.md"))):
        for i, b in enumerate(yaml_blocks(Path(f).read_text())):
            items.append((f"docs-{Path(f).stem}-{i}", b.encode()))
    cm = (REPO / "deploy" / "kubernetes" / "configmap.yaml").read_text()
    m = re.search(r"certgate\.yaml: \|\n((?:    .*\n|\s*\n)+)", cm)
    if m:
        body = "\n".join(line[4:] for line in m.group(1).splitlines()) + "\n"
        items.append(("k8s-configmap", body.encode()))
    for f in sorted(glob.glob(str(REPO / "tests" / "unit" / "config" / "data" / "*.yaml"))):
        items.append((f"unit-{Path(f).stem}", Path(f).read_bytes()))
    items += [(f"nofiles-{i}", s.encode()) for i, s in enumerate(NO_FILES)]
    return items


def main():
    certs = identity_seeds()
    write_set("identity", certs)
    write_set("dn", dn_seeds(certs))
    write_set("config", config_seeds())


if __name__ == "__main__":
    main()

"""Hostile client certificates end to end (issue 8 part 4): what a client can
put in the certificate it presents, and what certgate must still do with it.

The certificates come from hostile_pki.py (our own root and intermediate,
nothing from the demo PKI but the server certificate). One certgate runs two
listeners in front of a raw recording backend that keeps the exact bytes of
every request head:

- `require`: client_auth require under policy `base` (trusted_ca: our root,
  every default: EKU clientAuth, RSA >= 2048, EC >= 256, no MD5/SHA-1);
  routes /depth3 (max_depth: 3), /nobody (an allowlist nobody is on), / (the
  gate). Forwards X-ARR-ClientCert (base64-der) and the identity headers.
- `pass`: client_auth request, one route with `policy: none`, forwarding
  every format at once (base64-der, pem-urlencoded, hex, rfc9440 with chain,
  xfcc) and the identity headers, so the backend receives every encoding of
  whatever certificate a client presents.

Covered elsewhere, not repeated here: the demo matrix per reason
(test_policy.py), escaping of each field in isolation (tests/unit/lib:
test_cert_identity.c, test_cert_xfcc.c, test_cert_encode.c), and path
validation corpora incl. duplicate/critical extensions through `certgate
verify` (test_verify_corpus.py, x509-limbo). This file takes such
certificates through a real TLS handshake and the forwarding path.

Findings worth knowing (see each test):
- max_depth defaults to no limit; OpenSSL's own verify depth (100) is what
  stops a 101-intermediate chain.
- a certificate with two SAN extensions is refused by OpenSSL as if it had
  no issuer ("unable to get local issuer certificate").
- a ~60 KB certificate is forwarded as base64 (~80 KB header) on `require`;
  on `pass` the five encodings together pass the upstream head limit
  (limits.header_bytes + 64 KiB) and certgate answers 500 InternalError.
- EC P-192 never reaches min_ec_bits: OpenSSL refuses it in the TLS 1.2
  handshake (illegal_parameter) and a TLS 1.3 client cannot sign with it.
- subjects are sent as RFC 2253 with control bytes as \HH and UTF-8 raw; a
  UTF-8 U+0085 (NEL) or U+2028 arrives unescaped (not a control byte, but a
  line break to some Unicode-aware readers).

Failing on purpose (bugs, reported): a refused 101-deep chain on `pass`
(500 instead of the FAILED verdict), a P-521 client key over TLS 1.2.
"""

import base64
import hashlib
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

import hostile_pki
from clients import HttpResult, _parse_head
from harness import (
    CertgateTestCase,
    RawConn,
    config,
    free_port,
    listener,
    pem,
    s_client,
    scratch,
    stop_listening,
)

BOUND = 5.0  # seconds any single verdict may take, however hostile the chain

ALL_FORMATS = {
    "headers": [
        {"name": "X-ARR-ClientCert", "format": "base64-der"},
        {"name": "X-Client-Certificate", "format": "pem-urlencoded"},
        {"name": "X-Client-Cert-Hex", "format": "hex"},
        {"name": "Client-Cert", "format": "rfc9440", "chain": True},
        {"name": "X-Forwarded-Client-Cert", "format": "xfcc"},
    ],
    "identity_headers": True,
}

IDENTITY = (
    "X-Client-Cert-Verify",
    "X-Client-Cert-Subject",
    "X-Client-Cert-Issuer",
    "X-Client-Cert-Serial",
    "X-Client-Cert-SHA1",
    "X-Client-Cert-SHA256",
    "X-Client-Cert-Not-Before",
    "X-Client-Cert-Not-After",
)

TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

# OpenSSL's short names (XN_FLAG_FN_SN) for the attribute types used here.
SHORT = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.COUNTRY_NAME: "C",
}


# --- the backend: raw bytes of every request head ----------------------------------------------


class RawRequest:
    def __init__(self, head):
        self.head = head  # bytes up to (not including) the blank line
        self.lines = head.split(b"\r\n")
        self.request_line = self.lines[0]
        self.headers = []  # [(name str, value bytes)]
        for line in self.lines[1:]:
            k, _, v = line.partition(b":")
            self.headers.append((k.decode("latin-1"), v.strip(b" \t")))

    def values(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def one(self, name):
        v = self.values(name)
        if len(v) != 1:
            raise AssertionError(f"expected one {name} header, got {len(v)}: {self.head[:3000]!r}")
        return v[0]

    def text(self, name):
        return self.one(name).decode("utf-8")


class RawBackend:
    """An HTTP/1.1 server on 127.0.0.1 that answers 200 "ok" (keep-alive) and keeps the
    exact head bytes of each request, however large (up to 8 MiB)."""

    MAX_HEAD = 8 << 20

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.cond = threading.Condition()
        self.log = []
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                if self.stopped:
                    conn.close()
                    return
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        conn.settimeout(30)
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data or len(buf) > self.MAX_HEAD:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                req = RawRequest(head)
                n = 0
                for v in req.values("Content-Length"):
                    n = int(v)
                while len(buf) < n:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                buf = buf[n:]
                with self.cond:
                    self.log.append(req)
                    self.cond.notify_all()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: 2\r\n\r\nok")
        except OSError:
            return
        finally:
            conn.close()

    def clear(self):
        with self.cond:
            self.log.clear()

    def requests(self):
        with self.cond:
            return list(self.log)

    def only(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.log and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
        time.sleep(0.05)
        got = self.requests()
        if len(got) != 1:
            raise AssertionError(f"expected exactly one backend request, got {len(got)}")
        return got[0]

    def stop(self):
        with self.cond:
            self.stopped = True
            conns = list(self.conns)
        stop_listening(self.sock)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()


# --- the client: any certificate file, weak ones too -------------------------------------------


class CertConn(RawConn):
    """RawConn over TLS with a client certificate from any file (leaf + chain as the file
    holds them). SECLEVEL=0 so that the client side sends weak keys and MD5/SHA-1
    signatures: only certgate decides."""

    def __init__(self, port, cert, key, timeout=10.0, max_version=None):
        self.timeout = timeout
        self.tls_error = None
        self.buf = b""
        self.eof = False
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.load_verify_locations(pem("root-ca"))
        if max_version:
            ctx.maximum_version = max_version
        ctx.load_cert_chain(cert, key)
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        except BaseException:
            raw.close()
            raise


def fetch(port, files, path="/", max_version=None):
    """One GET with the client certificate <files> = (cert, key); returns (response, seconds)."""
    t0 = time.monotonic()
    with CertConn(port, *files, max_version=max_version) as c:
        c.send(f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        res = c.read_response()
    return res, time.monotonic() - t0


def s_fetch(port, name, path="/", *args):
    """The same GET through `openssl s_client -quiet` (SECLEVEL=0), for certificates that
    Python's ssl module will not load (two SAN extensions) and for TLS-level refusals.
    Returns (s_client output, HttpResult or None)."""
    cert, chain, key = _pki["pki"].s_client_files(_pki["certs"][name])
    argv = ["-quiet", "-cert", cert, "-key", key, "-cipher", "DEFAULT@SECLEVEL=0", *args]
    if chain:
        argv += ["-cert_chain", chain]
    req = f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
    _, out = s_client(port, *argv, data=req.encode(), timeout=BOUND * 2)
    i = out.find("HTTP/1.1 ")
    if i < 0:
        return out, None
    head, _, rest = out[i:].partition("\r\n\r\n")
    version, status, reason, headers = _parse_head(head)
    res = HttpResult(status, headers, b"", reason, version=version)
    res.body = rest[: int(res.header("Content-Length") or 0)].encode()
    return out, res


# --- decoders for what the backend got ----------------------------------------------------------


def unescape_dn_value(v):
    """RFC 4514 value -> bytes: \\HH is one byte, \\c is c."""
    out, i = bytearray(), 0
    while i < len(v):
        c = v[i]
        if c == "\\":
            if re.fullmatch(r"[0-9A-Fa-f]{2}", v[i + 1 : i + 3]):
                out += bytes.fromhex(v[i + 1 : i + 3])
                i += 3
            else:
                out += v[i + 1].encode()
                i += 2
        else:
            out += c.encode()
            i += 1
    return bytes(out)


def split_unescaped(s, sep):
    parts, cur, i = [], "", 0
    while i < len(s):
        if s[i] == "\\":
            cur += s[i : i + 2]
            i += 2
            continue
        if s[i] == sep:
            parts.append(cur)
            cur = ""
        else:
            cur += s[i]
        i += 1
    parts.append(cur)
    return parts


def parse_rfc2253(s):
    """'CN=a\\,b,O=x' -> [[('CN', b'a,b')], [('O', b'x')]] (RFC 2253 order: last RDN first)."""
    rdns = []
    for rdn in split_unescaped(s, ","):
        avas = []
        for ava in split_unescaped(rdn, "+"):
            t, eq, v = ava.partition("=")
            if not eq:
                raise AssertionError(f"no '=' in {ava!r} of {s!r}")
            avas.append((t, unescape_dn_value(v)))
        rdns.append(sorted(avas))
    return rdns


def expected_dn(name):
    return [sorted((SHORT[a.oid], a.value.encode()) for a in rdn) for rdn in reversed(name.rdns)]


def parse_xfcc(value):
    """[[(key, value)]]: elements by ',' and fields by ';' outside quotes, quoted values
    unescaped (\\" and \\\\). A control byte anywhere fails."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise AssertionError(f"control byte in XFCC {value!r}")
    elements, fields, key, val = [], [], "", ""
    i, in_key, quoted = 0, True, False
    while i < len(value):
        ch = value[i]
        if in_key:
            if ch == "=":
                in_key = False
                if value[i + 1 : i + 2] == '"':
                    quoted = True
                    i += 1
            elif ch in ",;":
                raise AssertionError(f"field without '=' at {i} in {value!r}")
            else:
                key += ch
        elif quoted:
            if ch == "\\":
                val += value[i + 1]
                i += 1
            elif ch == '"':
                quoted = False
                if value[i + 1 : i + 2] not in ("", ";", ","):
                    raise AssertionError(f"text after a closing quote at {i} in {value!r}")
            else:
                val += ch
        elif ch in ";,":
            fields.append((key, val))
            key, val, in_key = "", "", True
            if ch == ",":
                elements.append(fields)
                fields = []
        elif ch == '"':
            raise AssertionError(f"quote inside an unquoted value at {i} in {value!r}")
        else:
            val += ch
        i += 1
    if quoted:
        raise AssertionError(f"unterminated quote in {value!r}")
    fields.append((key, val))
    elements.append(fields)
    return elements


def unescape_hh(s):
    """XFCC URI/DNS text: \\HH is one byte (certgate writes '\\' itself as \\5C)."""
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] == "\\":
            out += bytes.fromhex(s[i + 1 : i + 3])
            i += 3
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


def pems_to_ders(text):
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----\n", text,
                        re.S)
    return [base64.b64decode("".join(b.split("\n")), validate=True) for b in blocks]


def sans_of(cert, kind):
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [v.encode() for v in ext.value.get_values_for_type(kind)]


# --- the PKI, once per run ----------------------------------------------------------------------

_pki = {}


def hostile():
    if not _pki:
        P = hostile_pki.HostilePki(scratch("hostile-pki"))
        c = {"good": P.leaf("Good Leaf")}
        c["deep12"] = P.leaf("Deep Leaf", issuer=P.chain_of(12, "Deep"))
        c["deep101"] = P.leaf("Very Deep Leaf", issuer=P.chain_of(101, "Very Deep"))
        c["stranger_ca"] = P.ca("Stranger Root", None)
        c["stranger"] = P.leaf("Stranger Leaf", issuer=c["stranger_ca"])
        c["large"] = P.large_leaf(60_000)
        c["dup_san"] = P.duplicate_san_leaf()
        c["crit"] = P.unknown_critical_leaf()
        c["rsa1024"] = P.leaf("RSA1024 Leaf", key=hostile_pki.rsa_key(1024))
        c["p192"] = P.leaf("P192 Leaf", key=hostile_pki.ec_key(ec.SECP192R1()))
        c["p384"] = P.leaf("P384 Leaf", key=hostile_pki.ec_key(ec.SECP384R1()))
        c["p521"] = P.leaf("P521 Leaf", key=hostile_pki.ec_key(ec.SECP521R1()))
        c["rsa3072"] = P.leaf("RSA3072 Leaf", key=hostile_pki.rsa_key(3072))
        c["ed25519"] = P.leaf("Ed25519 Leaf", key=ed25519.Ed25519PrivateKey.generate())
        c["p192_inter"] = P.ca("P192 Intermediate", P.root,
                               key=hostile_pki.ec_key(ec.SECP192R1()))
        c["under_p192"] = P.leaf("Under P192 Inter", issuer=c["p192_inter"])
        c["rsa1024_inter"] = P.ca("RSA1024 Intermediate", P.root, key=hostile_pki.rsa_key(1024))
        c["under_rsa1024"] = P.leaf("Under RSA1024 Inter", issuer=c["rsa1024_inter"])
        rsa_inter = P.ca("RSA Intermediate", P.root, key=hostile_pki.rsa_key(2048))
        c["md5"] = P.leaf("MD5 Leaf", issuer=rsa_inter, digest="md5")
        c["sha1"] = P.leaf("SHA1 Leaf", issuer=rsa_inter, digest="sha1")
        c["sha1_inter"] = P.ca("SHA1 Intermediate", P.root, digest="sha1")
        c["under_sha1"] = P.leaf("Under SHA1 Inter", issuer=c["sha1_inter"])
        for label, subject, sans in hostile_pki.hostile_identities():
            c["id_" + label] = P.leaf(label, subject=subject, sans=sans)
        _pki.update(pki=P, certs=c, unrelated=P.unrelated(50))
    return _pki


def files(name, send=None):
    return _pki["pki"].client_files(_pki["certs"][name], send)


def dn(name):
    """How certgate writes the subject of certificate <name> (for the simple names only)."""
    return _pki["certs"][name].cert.subject.rfc4514_string()


class HostileCertsTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        p = hostile()
        root = p["pki"].write_pem("trusted-root.pem", [p["pki"].root])
        cls.be = RawBackend()
        cls.addClassCleanup(cls.be.stop)
        cls.req, cls.pas = free_port(), free_port()
        require = listener(
            "require", cls.req, "require",
            routes=[
                {"match": {"path_prefix": "/depth3"}, "policy": "depth3", "backend": "app"},
                {"match": {"path_prefix": "/nobody"}, "policy": "nobody", "backend": "app"},
                {"match": {"path_prefix": "/"}, "backend": "app"},
            ],
        )
        require["tls"]["client_auth"] = {"mode": "require", "policy": "base"}
        passthrough = listener(
            "pass", cls.pas, "request", forward=ALL_FORMATS,
            routes=[{"match": {"path_prefix": "/"}, "policy": "none", "backend": "app"}],
        )
        passthrough["tls"]["client_auth"] = {"mode": "request", "policy": "base"}
        policies = {
            "base": {"trusted_ca": [root]},
            "depth3": {"inherit": "base", "max_depth": 3},
            "nobody": {"inherit": "base", "allow": {"cn": ["Nobody At All"]}},
        }
        cls.cg = cls.class_certgate(config([require, passthrough], cls.be.url, policies=policies),
                                    [cls.req, cls.pas])

    def setUp(self):
        super().setUp()
        self.be.clear()

    def certs(self, name):
        return _pki["certs"][name]

    # -- assertions --

    def assertRefused(self, name, reason, detail, port=None, path="/", send=None):
        """<name> is refused with 401 <reason> and exactly <detail>, in bounded time, and
        the backend sees nothing."""
        res, took = fetch(port or self.req, files(name, send), path)
        self.assertIsNotNone(res, "certgate closed the connection without an answer")
        body = self.assertJsonError(res, 401, reason)
        self.assertEqual(body["detail"], detail)
        self.assertLess(took, BOUND)
        self.assertEqual(self.be.requests(), [])
        self.assertTrue(self.cg.alive())
        return body

    def assertAccepted(self, name, send=None, path="/"):
        res, took = fetch(self.req, files(name, send), path)
        self.assertIsNotNone(res, "certgate closed the connection without an answer")
        self.assertEqual(res.status, 200, res)
        self.assertLess(took, BOUND)
        req = self.be.only()
        self.assertEqual(req.one("X-ARR-ClientCert"), base64.b64encode(self.certs(name).der))
        self.assertEqual(req.one("X-Client-Cert-Verify"), b"SUCCESS")
        return req

    def assertCleanHead(self, req):
        """Every line of the forwarded head is one header: a token, ':', a value without a
        control byte; nothing named X-Injected anywhere."""
        for line in req.lines[1:]:
            self.assertTrue(line, f"empty line inside the head: {req.head!r}")
            bad = [b for b in line if b < 0x20 or b == 0x7F]
            self.assertEqual(bad, [], f"control bytes in a forwarded line: {line[:300]!r}")
            name, colon, _ = line.partition(b":")
            self.assertTrue(colon and TOKEN.fullmatch(name), f"not a header line: {line[:300]!r}")
        names = [k.lower() for k, _ in req.headers]
        self.assertNotIn("x-injected", names)
        self.assertNotIn(b"\nX-Injected", req.head)
        self.assertNotIn(b"\rX-Injected", req.head)

    def assertEveryFormat(self, req, leaf, chain):
        """The pass listener's five encodings and identity headers, decoded, equal <leaf>
        (an hostile_pki.Issued) and its validated <chain> (issuers, anchor last)."""
        der = leaf.der
        b64 = req.one("X-ARR-ClientCert")
        self.assertRegex(b64, rb"^[A-Za-z0-9+/]+={0,2}$")
        self.assertEqual(base64.b64decode(b64, validate=True), der)

        pemu = req.one("X-Client-Certificate")
        self.assertRegex(pemu, rb"^(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+$")
        self.assertEqual(pems_to_ders(urllib.parse.unquote(pemu.decode())), [der])

        hx = req.one("X-Client-Cert-Hex")
        self.assertRegex(hx, rb"^[0-9A-F]+$")
        self.assertEqual(bytes.fromhex(hx.decode()), der)

        cc = req.one("Client-Cert")
        m = re.fullmatch(rb":([A-Za-z0-9+/]+={0,2}):", cc)
        self.assertTrue(m, cc[:100])
        self.assertEqual(base64.b64decode(m.group(1), validate=True), der)
        items = req.one("Client-Cert-Chain").split(b", ")
        got = []
        for item in items:
            m = re.fullmatch(rb":([A-Za-z0-9+/]+={0,2}):", item)
            self.assertTrue(m, item[:100])
            got.append(base64.b64decode(m.group(1), validate=True))
        self.assertEqual(got, [c.der for c in chain])

        subject = req.text("X-Client-Cert-Subject")
        self.assertEqual(parse_rfc2253(subject), expected_dn(leaf.cert.subject))
        self.assertEqual(parse_rfc2253(req.text("X-Client-Cert-Issuer")),
                         expected_dn(leaf.cert.issuer))
        serial = f"{leaf.cert.serial_number:X}"
        self.assertEqual(req.text("X-Client-Cert-Serial"),
                         serial.zfill(len(serial) + len(serial) % 2))
        self.assertEqual(req.text("X-Client-Cert-SHA1"), hashlib.sha1(der).hexdigest().upper())
        self.assertEqual(req.text("X-Client-Cert-SHA256"), leaf.sha256.upper())
        self.assertEqual(req.text("X-Client-Cert-Not-Before"), "2024-01-01T00:00:00Z")
        self.assertEqual(req.text("X-Client-Cert-Not-After"), "2044-01-01T00:00:00Z")

        xfcc = parse_xfcc(req.text("X-Forwarded-Client-Cert"))
        self.assertEqual(len(xfcc), 1, xfcc)
        fields = xfcc[0]
        keys = [k for k, _ in fields]
        uris, dnss = sans_of(leaf.cert, x509.UniformResourceIdentifier), sans_of(
            leaf.cert, x509.DNSName)
        want_keys = ["Hash", "Cert", "Chain", "Subject"] + ["URI"] * len(uris) + ["DNS"] * len(dnss)
        self.assertEqual(keys, want_keys)
        f = dict(fields)
        self.assertEqual(f["Hash"], leaf.sha256)
        self.assertEqual(pems_to_ders(urllib.parse.unquote(f["Cert"])), [der])
        self.assertEqual(pems_to_ders(urllib.parse.unquote(f["Chain"])),
                         [der] + [c.der for c in chain])
        self.assertEqual(f["Subject"], subject)
        self.assertEqual([unescape_hh(v) for k, v in fields if k == "URI"], uris)
        self.assertEqual([unescape_hh(v) for k, v in fields if k == "DNS"], dnss)

    # --- depth ---------------------------------------------------------------------------------

    def test_chain_of_12_intermediates_is_trusted_without_max_depth(self):
        # max_depth defaults to no limit (docs/config.md)
        self.assertAccepted("deep12")

    def test_chain_of_12_intermediates_is_refused_under_max_depth_3(self):
        self.assertRefused(
            "deep12", "ClientCertificateNotTrusted",
            f"certificate '{dn('deep12')}' has 13 CA certificates above it; this policy "
            f"allows at most 3 (max_depth)",
            path="/depth3")

    def test_chain_of_101_intermediates_meets_openssls_depth_limit(self):
        # No max_depth: OpenSSL's default verify depth (100) is the limit underneath.
        leaf = self.certs("deep101")
        self.assertRefused(
            "deep101", "ClientCertificateNotTrusted",
            f"chain of '{dn('deep101')}' is not trusted (certificate chain too long at "
            f"'{leaf.issuers[-2].cert.subject.rfc4514_string()}')")

    # --- width ---------------------------------------------------------------------------------

    def test_fifty_unrelated_certificates_in_the_chain_still_pass(self):
        good = self.certs("good")
        self.assertAccepted("good", send=good.issuers[:-1] + _pki["unrelated"])

    def test_fifty_unrelated_certificates_do_not_make_a_stranger_trusted(self):
        stranger = self.certs("stranger")
        self.assertRefused(
            "stranger", "ClientCertificateNotTrusted",
            f"no chain to a trusted CA for '{dn('stranger')}' (self-signed certificate in "
            f"certificate chain for 'CN=Stranger Root,O=Hostile Tests')",
            send=stranger.issuers + _pki["unrelated"])

    # --- size ----------------------------------------------------------------------------------

    def test_60kb_certificate_is_forwarded_whole_in_one_header(self):
        large = self.certs("large")
        self.assertGreater(len(large.der), 58_000)
        req = self.assertAccepted("large")
        self.assertCleanHead(req)
        self.assertIn(b"\r\nX-ARR-ClientCert: " + base64.b64encode(large.der) + b"\r\n",
                      req.head + b"\r\n")

    def test_60kb_certificate_in_every_format_is_answered_500_not_truncated(self):
        # five encodings of ~60 KB (base64 80 KB, hex 120 KB, ...) pass the upstream head
        # limit (limits.header_bytes + 64 KiB, src/proxy/request.c build_upstream_head)
        res, took = fetch(self.pas, files("large"))
        self.assertJsonError(res, 500, "InternalError")
        self.assertEqual(res.json()["detail"], "the request could not be prepared for the backend")
        self.assertLess(took, BOUND)
        time.sleep(0.2)
        self.assertEqual(self.be.requests(), [])
        # the connection and the process survive it
        res, _ = fetch(self.pas, files("good"))
        self.assertEqual(res.status, 200, res)
        self.assertEveryFormat(self.be.only(), self.certs("good"), self.certs("good").issuers)

    # --- broken extensions ---------------------------------------------------------------------

    def test_two_san_extensions_are_not_trusted(self):
        # OpenSSL marks the certificate invalid (EXFLAG_INVALID), so no issuer "issued" it
        # and the sentence says so. Python's ssl refuses to load such a certificate
        # (X509V3 invalid certificate); s_client sends it.
        _, res = s_fetch(self.req, "dup_san")
        self.assertIsNotNone(res, "no HTTP answer")
        body = self.assertJsonError(res, 401, "ClientCertificateNotTrusted")
        self.assertEqual(body["detail"], f"no chain to a trusted CA for '{dn('dup_san')}' "
                                         f"(unable to get local issuer certificate)")
        self.assertEqual(self.be.requests(), [])

    def test_unknown_critical_extension_is_not_trusted(self):
        self.assertRefused(
            "crit", "ClientCertificateNotTrusted",
            f"certificate '{dn('crit')}' is not trusted (unhandled critical extension)")

    # --- weak keys and signatures --------------------------------------------------------------

    def test_rsa_1024_leaf_is_refused(self):
        self.assertRefused(
            "rsa1024", "ClientCertificateNotTrusted",
            f"certificate '{dn('rsa1024')}' has a 1024-bit RSA key; this policy requires at "
            f"least 2048 bits")

    def test_ec_p192_leaf_is_refused_by_tls_1_2_itself(self):
        # OpenSSL's server checks a TLS 1.2 client's EC key against its supported groups
        # (tls12_check_peer_sigalg): P-192 is not one, so the handshake ends with
        # illegal_parameter before certgate's min_ec_bits is asked.
        out, res = s_fetch(self.req, "p192", "/", "-tls1_2")
        self.assertIsNone(res, out)
        self.assertIn(":sslv3 alert illegal parameter:", out)
        self.assertIn("SSL alert number 47", out)
        self.assertEqual(self.be.requests(), [])
        self.assertTrue(self.cg.alive())

    def test_ec_p192_leaf_cannot_be_used_in_tls_1_3(self):
        # TLS 1.3 has no signature scheme for P-192: the client sends no certificate
        out, res = s_fetch(self.req, "p192", "/", "-tls1_3")
        self.assertIsNotNone(res, out)
        body = self.assertJsonError(res, 401, "ClientCertificateNotFound")
        self.assertEqual(body["detail"],
                         "this resource requires a client certificate and none was sent")
        self.assertEqual(self.be.requests(), [])

    def test_ec_p192_intermediate_is_refused(self):
        self.assertRefused(
            "under_p192", "ClientCertificateNotTrusted",
            f"issuer certificate 'CN=P192 Intermediate,O=Hostile Tests' of "
            f"'{dn('under_p192')}' has a 192-bit EC key; this policy requires at least "
            f"256 bits")

    def test_strong_keys_of_every_kind_are_accepted(self):
        # the control for the refusals around it: what min_rsa_bits / min_ec_bits allow
        # gets through the TLS layer on 1.2 and 1.3 alike
        for name in ("good", "p384", "p521", "rsa3072", "ed25519"):
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                with self.subTest(key=name, tls=version.name):
                    self.be.clear()
                    try:
                        res, _ = fetch(self.req, files(name), max_version=version)
                    except ssl.SSLError as e:
                        self.fail(f"handshake refused: {e}")
                    self.assertIsNotNone(res)
                    self.assertEqual(res.status, 200, res)
                    self.assertEqual(self.be.only().one("X-ARR-ClientCert"),
                                     base64.b64encode(self.certs(name).der))

    def test_rsa_1024_intermediate_is_refused(self):
        self.assertRefused(
            "under_rsa1024", "ClientCertificateNotTrusted",
            f"issuer certificate 'CN=RSA1024 Intermediate,O=Hostile Tests' of "
            f"'{dn('under_rsa1024')}' has a 1024-bit RSA key; this policy requires at least "
            f"2048 bits")

    def test_md5_signed_leaf_is_refused(self):
        self.assertRefused(
            "md5", "ClientCertificateNotTrusted",
            f"certificate '{dn('md5')}' is signed with MD5, which this policy refuses; "
            f"reissue it with SHA-256")

    def test_sha1_signed_leaf_is_refused(self):
        self.assertRefused(
            "sha1", "ClientCertificateNotTrusted",
            f"certificate '{dn('sha1')}' is signed with SHA-1, which this policy refuses; "
            f"reissue it with SHA-256")

    def test_sha1_signed_intermediate_is_refused(self):
        self.assertRefused(
            "under_sha1", "ClientCertificateNotTrusted",
            f"issuer certificate 'CN=SHA1 Intermediate,O=Hostile Tests' of "
            f"'{dn('under_sha1')}' is signed with SHA-1, which this policy refuses; reissue "
            f"it with SHA-256")

    def test_passthrough_forwards_each_refused_certificate_with_its_verdict(self):
        for name in ("dup_san", "crit", "rsa1024", "under_rsa1024", "under_p192", "md5",
                     "sha1", "under_sha1", "stranger"):
            with self.subTest(name=name):
                self.be.clear()
                t0 = time.monotonic()
                if name == "dup_san":
                    _, res = s_fetch(self.pas, name)
                else:
                    res, _ = fetch(self.pas, files(name))
                took = time.monotonic() - t0
                self.assertIsNotNone(res)
                self.assertEqual(res.status, 200, res)
                self.assertLess(took, BOUND)
                req = self.be.only()
                self.assertCleanHead(req)
                self.assertEqual(req.one("X-Client-Cert-Verify"),
                                 b"FAILED:ClientCertificateNotTrusted")
                self.assertEqual(base64.b64decode(req.one("X-ARR-ClientCert")),
                                 self.certs(name).der)

    def test_passthrough_forwards_a_refused_101_deep_chain_with_its_verdict(self):
        # SPEC §8: a `policy: none` route lets every certificate through with
        # X-Client-Cert-Verify telling the outcome. Fails today: with no validated chain,
        # forward.c's validated_chain() falls back to the 102 certificates the client sent;
        # Client-Cert-Chain + XFCC Chain (~150 KB) pass the upstream head limit -> 500.
        res, took = fetch(self.pas, files("deep101"))
        self.assertLess(took, BOUND)
        self.assertEqual(res.status, 200, res)
        req = self.be.only()
        self.assertCleanHead(req)
        self.assertEqual(req.one("X-Client-Cert-Verify"), b"FAILED:ClientCertificateNotTrusted")
        self.assertEqual(base64.b64decode(req.one("X-ARR-ClientCert")),
                         self.certs("deep101").der)

    # --- attacker-controlled names -------------------------------------------------------------

    def check_identity(self, label):
        leaf = self.certs("id_" + label)
        res, took = fetch(self.pas, files("id_" + label))
        self.assertEqual(res.status, 200, res)
        self.assertLess(took, BOUND)
        req = self.be.only()
        self.assertCleanHead(req)
        self.assertEqual(req.one("X-Client-Cert-Verify"), b"SUCCESS")
        for h in IDENTITY + ("X-ARR-ClientCert", "X-Client-Certificate", "X-Client-Cert-Hex",
                             "Client-Cert", "Client-Cert-Chain", "X-Forwarded-Client-Cert"):
            self.assertEqual(len(req.values(h)), 1, h)
        self.assertEveryFormat(req, leaf, leaf.issuers)
        # the same certificate refused: the JSON error names it, still one clean line
        self.be.clear()
        res, _ = fetch(self.req, files("id_" + label), "/nobody")
        body = self.assertJsonError(res, 403, "ClientCertificateIdentityNotMatched")
        self.assertEqual(
            body["detail"],
            f"certificate '{req.text('X-Client-Cert-Subject')}' matches no entry of this "
            f"policy's allow lists (cn)")
        for k, v in res.headers:
            self.assertNotIn("injected", k.lower())
        self.assertEqual(self.be.requests(), [])
        return req

    def test_cr_lf_quotes_commas_semicolons_backslashes(self):
        req = self.check_identity("crlf")
        self.assertEqual(req.text("X-Client-Cert-Subject"),
                         'CN=Evil\\0D\\0AX-Injected: 1,OU=q\\"uote\\\\back=eq\\+plus\\<gt\\>,'
                         'O=a\\,b\\;c')

    def test_nul_tab_and_del(self):
        req = self.check_identity("nul")
        self.assertEqual(req.text("X-Client-Cert-Subject"),
                         "CN=nul\\00X-Injected: 3,O=tab\\09here\\7Fdel")

    def test_utf8_is_forwarded_as_utf8(self):
        req = self.check_identity("utf8")
        self.assertEqual(req.text("X-Client-Cert-Subject"),
                         "CN=Ünïcødé ✓ 日本語,L=Zürich,O=Ωmega \u2028sep\u0085nel")

    def test_rfc4514_specials_and_quote_breaking(self):
        req = self.check_identity("rfc4514")
        self.assertEqual(req.text("X-Client-Cert-Subject"),
                         'CN=\\ #lead and trail\\ ,OU=Evil\\"\\, X-Injected=\\"4,'
                         'O==\\+\\,\\;\\\\\\"\\<\\>#')

    def test_access_log_lines_stay_json(self):
        labels = ("crlf", "nul", "utf8", "rfc4514")
        for label in labels:
            res, _ = fetch(self.pas, files("id_" + label))
            self.assertEqual(res.status, 200, res)
        want = {self.certs("id_" + label).sha256.upper(): label for label in labels}
        deadline = time.monotonic() + 3  # the access log is flushed every 100 ms
        while True:
            # split on LF only: U+2028 / U+0085 of the utf8 subject are not line ends
            text = self.cg.stdout_path.read_bytes().decode("utf-8")
            entries = [json.loads(ln) for ln in text.split("\n") if ln]
            seen = {e.get("client_sha256") for e in entries}
            if set(want) <= seen or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertLessEqual(set(want), seen)
        for e in entries:
            if e.get("client_sha256") in want:
                leaf = self.certs("id_" + want[e["client_sha256"]])
                self.assertEqual(parse_rfc2253(e["client_subject"]),
                                 expected_dn(leaf.cert.subject))
        for line in self.cg.stderr_path.read_bytes().decode("utf-8").split("\n"):
            if line:
                json.loads(line)

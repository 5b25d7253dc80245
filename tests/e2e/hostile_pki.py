"""Hostile client certificates for test_hostile_certs.py, built with python3
`cryptography`, plus a tiny DER reader/writer for what `cryptography` refuses
to produce: a certificate with two extensions of one type, and MD5
signatures. Such certificates are built normally, then their TBSCertificate
is taken apart, changed, and signed again with the issuer's key
(private_key.sign), exactly as a CA that does not check would have issued it.

Everything hangs off one root CA of our own ("Hostile Test Root"); the demo
PKI is not used here except for the server certificate certgate presents.
Keys are EC P-256 unless a case needs another (generation is fast), every
certificate is valid 2024-01-01 .. 2044-01-01, and leaves carry
keyUsage digitalSignature and EKU clientAuth, so that the only thing wrong
with a certificate is what its case is about.
"""

import datetime
import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

NOT_BEFORE = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2044, 1, 1, tzinfo=datetime.timezone.utc)

# A private-enterprise OID no verifier knows (used for the unknown critical extension).
UNKNOWN_EXT_OID = "1.3.6.1.4.1.55555.1.1"


# --- DER -----------------------------------------------------------------------------------


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_read(data, off=0):
    """(tag, content, end) of the TLV at <off>."""
    tag = data[off]
    n = data[off + 1]
    p = off + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[p : p + k], "big")
        p += k
    return tag, data[p : p + n], p + n


def der_items(content):
    """The TLVs (as whole byte strings) inside a constructed value's content."""
    out, off = [], 0
    while off < len(content):
        _, _, end = der_read(content, off)
        out.append(content[off:end])
        off = end
    return out


def der_oid(dotted):
    parts = [int(x) for x in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for v in parts[2:]:
        chunk = [v & 0x7F]
        v >>= 7
        while v:
            chunk.append(0x80 | (v & 0x7F))
            v >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, body)


SEQ, SET, NULL = 0x30, 0x31, b"\x05\x00"

# AlgorithmIdentifier DER per (key type, digest).
SIG_ALG = {
    ("rsa", "md5"): tlv(SEQ, der_oid("1.2.840.113549.1.1.4") + NULL),
    ("rsa", "sha1"): tlv(SEQ, der_oid("1.2.840.113549.1.1.5") + NULL),
    ("rsa", "sha256"): tlv(SEQ, der_oid("1.2.840.113549.1.1.11") + NULL),
    ("ec", "sha1"): tlv(SEQ, der_oid("1.2.840.10045.4.1")),
    ("ec", "sha256"): tlv(SEQ, der_oid("1.2.840.10045.4.3.2")),
}
HASHES = {"md5": hashes.MD5, "sha1": hashes.SHA1, "sha256": hashes.SHA256}


def key_kind(key):
    return "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ec"


def raw_sign(key, data, digest):
    h = HASHES[digest]()
    if key_kind(key) == "rsa":
        return key.sign(data, padding.PKCS1v15(), h)
    return key.sign(data, ec.ECDSA(h))


def resign(cert, issuer_key, digest="sha256", edit_extensions=None):
    """<cert> re-signed by <issuer_key> with <digest>, after <edit_extensions>(list of
    Extension TLVs) -> list, when given. cryptography refuses MD5 signatures and duplicate
    extensions; DER does not."""
    _, content, _ = der_read(cert.public_bytes(serialization.Encoding.DER))
    top = der_items(content)  # [tbsCertificate, signatureAlgorithm, signatureValue]
    fields = der_items(der_read(top[0])[1])
    alg = SIG_ALG[(key_kind(issuer_key), digest)]
    # version [0], serial, signature, issuer, validity, subject, spki, ..., extensions [3]
    fields[2] = alg
    if edit_extensions is not None:
        ext_i = next(i for i, f in enumerate(fields) if f[0] == 0xA3)
        exts = der_items(der_read(der_read(fields[ext_i])[1])[1])
        fields[ext_i] = tlv(0xA3, tlv(SEQ, b"".join(edit_extensions(exts))))
    new_tbs = tlv(SEQ, b"".join(fields))
    sig = raw_sign(issuer_key, new_tbs, digest)
    der = tlv(SEQ, new_tbs + alg + tlv(0x03, b"\x00" + sig))
    return x509.load_der_x509_certificate(der)


def extension_oid(ext_tlv):
    """Dotted OID of an Extension TLV."""
    first = der_items(der_read(ext_tlv)[1])[0]
    body = der_read(first)[1]
    vals, v = [body[0] // 40, body[0] % 40], 0
    for b in body[1:]:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            vals.append(v)
            v = 0
    return ".".join(map(str, vals))


# --- certificates ----------------------------------------------------------------------------


def ec_key(curve=None):
    return ec.generate_private_key(curve or ec.SECP256R1())


def rsa_key(bits):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def name(cn, *more):
    """x509.Name from (OID, value) pairs, most significant first, CN last."""
    attrs = [x509.NameAttribute(oid, v) for oid, v in more]
    return x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])


_serial = [0x4853_0000]


def _next_serial():
    _serial[0] += 1
    return _serial[0]


class Issued:
    """A certificate, its key and the certificates above it (issuer first, anchor last)."""

    def __init__(self, label, cert, key, issuers):
        self.label = label
        self.cert = cert
        self.key = key
        self.issuers = list(issuers)
        self.der = cert.public_bytes(serialization.Encoding.DER)
        self.pem = cert.public_bytes(serialization.Encoding.PEM)
        self.sha256 = hashlib.sha256(self.der).hexdigest()

    @property
    def subject(self):
        return self.cert.subject


class HostilePki:
    """Builds and writes the hostile certificates under <out_dir>."""

    def __init__(self, out_dir):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.root = self.ca("Hostile Test Root", None)
        self.inter = self.ca("Hostile Test Intermediate", self.root)
        self.write_pem("root.pem", [self.root])

    # -- building --

    def _builder(self, subject, issuer, key):
        issuer_name = issuer.cert.subject if issuer else subject
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(_next_serial())
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(NOT_AFTER)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        ikey = issuer.key if issuer else key
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ikey.public_key()), critical=False
        )
        return b

    def ca(self, cn, issuer, key=None, digest="sha256"):
        """A CA certificate (self-signed when <issuer> is None)."""
        key = key or ec_key()
        b = self._builder(name(cn, (NameOID.ORGANIZATION_NAME, "Hostile Tests")), issuer, key)
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        b = b.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        ikey = issuer.key if issuer else key
        cert = b.sign(ikey, hashes.SHA256())
        if digest != "sha256":
            cert = resign(cert, ikey, digest)
        issuers = ([issuer] + issuer.issuers) if issuer else []
        return Issued(cn, cert, key, issuers)

    def leaf(self, label, subject=None, issuer=None, key=None, sans=None, digest="sha256",
             extra=(), edit_extensions=None):
        """A client certificate. <subject> is an x509.Name (default CN=<label>), <sans> a list
        of x509.GeneralName, <extra> [(ExtensionType, critical)]. <digest> other than sha256,
        or <edit_extensions>, re-sign the DER by hand."""
        issuer = issuer or self.inter
        key = key or ec_key()
        subject = subject or name(label, (NameOID.ORGANIZATION_NAME, "Hostile Tests"))
        b = self._builder(subject, issuer, key)
        b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        b = b.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        b = b.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        for ext, critical in extra:
            b = b.add_extension(ext, critical=critical)
        cert = b.sign(issuer.key, hashes.SHA256())
        if digest != "sha256" or edit_extensions is not None:
            cert = resign(cert, issuer.key, digest, edit_extensions)
        return Issued(label, cert, key, [issuer] + issuer.issuers)

    # -- files --

    def write_pem(self, fname, certs):
        path = self.dir / fname
        path.write_bytes(b"".join(c.pem for c in certs))
        return str(path)

    def client_files(self, leaf, send=None):
        """(cert file, key file) for a TLS client: the leaf, then <send> (default: its
        issuers without the anchor), as a client presents its chain."""
        if send is None:
            send = leaf.issuers[:-1]
        cert = self.write_pem(f"{leaf.label}-{len(send)}.chain.pem", [leaf] + list(send))
        key = self.dir / f"{leaf.label}.key"
        key.write_bytes(
            leaf.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert, str(key)

    def s_client_files(self, leaf, send=None):
        """(leaf file, chain file or None, key file) for `openssl s_client -cert -cert_chain
        -key`: s_client takes the chain it sends from a file of its own."""
        if send is None:
            send = leaf.issuers[:-1]
        _, key = self.client_files(leaf, send)
        cert = self.write_pem(f"{leaf.label}.leaf.pem", [leaf])
        chain = self.write_pem(f"{leaf.label}-{len(send)}.issuers.pem", send) if send else None
        return cert, chain, key

    # -- the cases --

    def chain_of(self, n, prefix):
        """<n> intermediates in a line under the root; returns the lowest."""
        ca = self.root
        for i in range(1, n + 1):
            ca = self.ca(f"{prefix} CA {i:03d}", ca)
        return ca

    def unrelated(self, n):
        """<n> self-signed CA certificates that have nothing to do with anything."""
        return [self.ca(f"Unrelated CA {i:02d}", None) for i in range(n)]

    def large_leaf(self, target_bytes):
        """A leaf of about <target_bytes> of DER, made large by DNS SANs."""
        per = len("host-00000.a-rather-long-label-to-fill-space.hostile.example") + 2
        count = max(1, (target_bytes - 700) // per)
        sans = [
            x509.DNSName(f"host-{i:05d}.a-rather-long-label-to-fill-space.hostile.example")
            for i in range(count)
        ]
        return self.leaf("Large Leaf", sans=sans)

    def duplicate_san_leaf(self):
        """Two subjectAltName extensions (RFC 5280 4.2: at most one of each)."""
        sans = [x509.DNSName("first.hostile.example")]

        def dup(exts):
            san = next(e for e in exts if extension_oid(e) == "2.5.29.17")
            second = tlv(SEQ, der_oid("2.5.29.17") + tlv(0x04, tlv(SEQ, tlv(
                0x82, b"second.hostile.example"))))
            assert san != second
            return exts + [second]

        return self.leaf("Duplicate SAN", sans=sans, edit_extensions=dup)

    def unknown_critical_leaf(self):
        ext = x509.UnrecognizedExtension(ObjectIdentifier(UNKNOWN_EXT_OID), b"\x05\x00")
        return self.leaf("Unknown Critical", extra=[(ext, True)])


# The subjects and SANs of the injection cases: (label, subject Name, SANs).
def hostile_identities():
    o = NameOID
    return [
        (
            "crlf",
            name("Evil\r\nX-Injected: 1", (o.ORGANIZATION_NAME, "a,b;c"),
                 (o.ORGANIZATIONAL_UNIT_NAME, "q\"uote\\back=eq+plus<gt>")),
            [
                x509.DNSName('x"y.hostile.example'),
                x509.DNSName("cr\r\nX-Injected: 1"),
                x509.UniformResourceIdentifier('spiffe://hostile/"q";a=b,c\\d'),
                x509.UniformResourceIdentifier("spiffe://hostile/lf\nX-Injected: 2"),
                x509.RFC822Name("semi;colon@hostile.example"),
            ],
        ),
        (
            "nul",
            name("nul\x00X-Injected: 3", (o.ORGANIZATION_NAME, "tab\there\x7fdel")),
            [x509.DNSName("nul\x00byte.hostile.example")],
        ),
        (
            "utf8",
            name("Ünïcødé ✓ 日本語", (o.ORGANIZATION_NAME, "Ωmega \u2028sep\u0085nel"),
                 (o.LOCALITY_NAME, "Zürich")),
            [x509.DNSName("xn--nicd-7qa.hostile.example")],
        ),
        (
            "rfc4514",
            name(" #lead and trail ", (o.ORGANIZATION_NAME, "=+,;\\\"<>#"),
                 (o.ORGANIZATIONAL_UNIT_NAME, "Evil\", X-Injected=\"4")),
            [x509.UniformResourceIdentifier('urn:x:";X-Injected: 5')],
        ),
    ]

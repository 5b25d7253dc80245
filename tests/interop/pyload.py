#!/usr/bin/python3
"""Load certgate's forwarded header values with Python's `cryptography` (Debian's
python3-cryptography): a consumer no one here wrote the parser of.

Run it with /usr/bin/python3 (the PATH python3 may be another interpreter
without the Debian package). Reads JSON on stdin:

    [{"format": "base64-der", "value": "MIID..."}, ...]

and writes one JSON list on stdout, an entry per input, in order:

    {"ok": true, "sha1": "...", "sha256": "...", "subject": "...", "cn": "...",
     "serial": "...", "chain_sha1": [...], "fields": {...}}
    {"ok": false, "error": "..."}

Formats (SPEC §5): base64-der, pem-urlencoded, hex, rfc9440 (a Client-Cert
value), rfc9440-chain (a Client-Cert-Chain value), xfcc; plus apim-dotnet,
which reads a pem-urlencoded value the way seed 003's API Management policy
does: System.Net.WebUtility.UrlDecode (a raw '+' becomes a space), strip the
PEM markers, Convert.FromBase64String (whitespace skipped), load the DER.
"""

import base64
import binascii
import json
import re
import sys
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

_PEM_BLOCK = re.compile(
    r"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+?-----END CERTIFICATE-----\n?"
)
_HEX = re.compile(r"[0-9A-Fa-f]+")
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")


def dotnet_url_decode(s):
    """System.Net.WebUtility.UrlDecode: '+' -> ' ', %XX -> byte, malformed
    escapes kept as they are, the bytes read as UTF-8."""
    out = bytearray()
    i = 0
    raw = s.encode("utf-8")
    while i < len(raw):
        c = raw[i]
        if c == ord("+"):
            out.append(ord(" "))
        elif c == ord("%") and _HEX2.fullmatch(raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 2
        else:
            out.append(c)
        i += 1
    return out.decode("utf-8", errors="replace")


def dotnet_from_base64(s):
    """Convert.FromBase64String: skips space, tab, CR and LF, then strict base64."""
    compact = re.sub(r"[ \t\r\n]", "", s)
    if len(compact) % 4:
        raise ValueError(f"invalid base64 length {len(compact)} (not a multiple of 4)")
    return base64.b64decode(compact, validate=True)


def b64_strict(s):
    return base64.b64decode(s, validate=True)


def load_pem_one(text):
    """Exactly one certificate: a whole PEM block and nothing else."""
    blocks = _PEM_BLOCK.findall(text)
    if len(blocks) != 1 or "".join(blocks) != text:
        raise ValueError(f"expected exactly one PEM certificate block, got {len(blocks)}")
    return x509.load_pem_x509_certificate(text.encode("ascii"))


def load_pem_many(text):
    blocks = _PEM_BLOCK.findall(text)
    if not blocks or "".join(blocks) != text:
        raise ValueError("not a sequence of PEM certificate blocks")
    return [x509.load_pem_x509_certificate(b.encode("ascii")) for b in blocks]


def sf_binary(item):
    """An RFC 8941 byte sequence ':<base64>:' -> bytes."""
    item = item.strip()
    if len(item) < 2 or item[0] != ":" or item[-1] != ":":
        raise ValueError(f"not an RFC 8941 byte sequence: {item[:20]!r}")
    return b64_strict(item[1:-1])


def xfcc_elements(value):
    """Envoy's x-forwarded-client-cert: elements split on ',', pairs on ';',
    values optionally quoted with '\\' escapes. Returns [[(key, value)]]."""
    elements, pairs = [], []
    key, buf = None, []
    i, quoted, was_quoted = 0, False, False
    while i <= len(value):
        c = value[i] if i < len(value) else None
        if quoted:
            if c is None:
                raise ValueError("unterminated quoted value")
            if c == "\\" and i + 1 < len(value):
                buf.append(value[i + 1])
                i += 2
                continue
            if c == '"':
                quoted = False
            else:
                buf.append(c)
        elif c == '"' and key is not None and not buf:
            quoted = was_quoted = True
        elif c == "=" and key is None:
            key = "".join(buf).strip()
            buf = []
        elif c in (";", ",", None):
            if key is None:
                raise ValueError(f"a field without '=': {''.join(buf)!r}")
            pairs.append((key, "".join(buf) if was_quoted else "".join(buf).strip()))
            key, buf, was_quoted = None, [], False
            if c != ";":
                elements.append(pairs)
                pairs = []
        else:
            buf.append(c)
        i += 1
    return elements


def describe(cert, chain=(), fields=None):
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    d = {
        "ok": True,
        "sha1": cert.fingerprint(hashes.SHA1()).hex().upper(),
        "sha256": cert.fingerprint(hashes.SHA256()).hex().upper(),
        "subject": cert.subject.rfc4514_string(),
        "cn": cns[0].value if cns else None,
        "serial": format(cert.serial_number, "X"),
        "chain_sha1": [c.fingerprint(hashes.SHA1()).hex().upper() for c in chain],
    }
    if fields is not None:
        d["fields"] = fields
    return d


def load(fmt, value):
    if fmt == "base64-der":
        return describe(x509.load_der_x509_certificate(b64_strict(value)))
    if fmt == "hex":
        if not _HEX.fullmatch(value):
            raise ValueError("not hex")
        return describe(x509.load_der_x509_certificate(binascii.unhexlify(value)))
    if fmt == "pem-urlencoded":
        # RFC 3986 percent-decoding, as decodeURIComponent and nginx's consumers do
        return describe(load_pem_one(urllib.parse.unquote(value, errors="strict")))
    if fmt == "apim-dotnet":
        text = dotnet_url_decode(value)
        text = text.replace("-----BEGIN CERTIFICATE-----", "")
        text = text.replace("-----END CERTIFICATE-----", "")
        return describe(x509.load_der_x509_certificate(dotnet_from_base64(text)))
    if fmt == "rfc9440":
        return describe(x509.load_der_x509_certificate(sf_binary(value)))
    if fmt == "rfc9440-chain":
        certs = [x509.load_der_x509_certificate(sf_binary(v)) for v in value.split(",")]
        return describe(certs[0], certs)
    if fmt == "xfcc":
        elements = xfcc_elements(value)
        fields = {}
        for k, v in elements[-1]:
            fields.setdefault(k, []).append(v)
        if len(fields.get("Cert", [])) != 1:
            raise ValueError("the last XFCC element has no single Cert field")
        cert = load_pem_one(urllib.parse.unquote(fields["Cert"][0], errors="strict"))
        chain = []
        if "Chain" in fields:
            chain = load_pem_many(urllib.parse.unquote(fields["Chain"][0], errors="strict"))
        fields["_elements"] = len(elements)
        return describe(cert, chain, fields)
    raise ValueError(f"unknown format {fmt!r}")


def main():
    items = json.load(sys.stdin)
    out = []
    for it in items:
        try:
            out.append(load(it["format"], it["value"]))
        except Exception as e:  # every failure is an answer, not a crash
            out.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

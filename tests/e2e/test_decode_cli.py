"""`certgate decode` (SPEC §7): every value certgate forwards (taken from its
builtin echo backend) and the same formats built here with openssl and the
standard library go back to the certificate; malformed values and usage
errors get their exact exit status and message."""

import base64
import hashlib
import re
import subprocess
import unittest
import urllib.parse
from pathlib import Path

from harness import (
    ASAN,
    BINARY,
    REPO,
    START_TIMEOUT,
    CertgateTestCase,
    cert_facts,
    config,
    curl,
    free_port,
    key,
    listener,
    pem,
    scratch,
    wait_port,
)

USAGE = (
    "usage: certgate decode [--format auto|base64-der|pem-urlencoded|hex|rfc9440|xfcc] VALUE|-\n"
)
FORMATS = ["base64-der", "pem-urlencoded", "hex", "rfc9440", "xfcc"]
DEV_DN = "CN=APIM Sample DEV Intermediate CA"


def decode(*args, stdin=None):
    argv = [BINARY, "decode", *args]
    r = subprocess.run(argv, input=stdin, capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8")


def pem_text(name):
    """The PEM OpenSSL writes for the first certificate of <name>'s file."""
    with open(pem(name)) as f:
        text = f.read()
    return text[: text.index("-----END CERTIFICATE-----\n") + 26]


def pct(text):
    """Every byte outside A-Z a-z 0-9 - . _ ~ as %XX (SPEC §5 pem-urlencoded)."""
    return urllib.parse.quote(text, safe="")


def xfcc_quote(v):
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def xfcc_value(name, chain=(), by=None):
    """SPEC §5's XFCC element for certificate <name>, built from openssl's output."""
    f = cert_facts(name)
    parts = [f"By={by}"] if by else []
    parts.append(f"Hash={hashlib.sha256(f['der']).hexdigest()}")
    parts.append(f'Cert="{pct(pem_text(name))}"')
    if chain:
        parts.append('Chain="' + "".join(pct(pem_text(n)) for n in chain) + '"')
    parts.append(f"Subject={xfcc_quote(f['subject'])}")
    parts.append(f"URI=spiffe://demo/{name}")
    return ";".join(parts)


def summary(name, fmt, chain=()):
    """The summary lines `certgate decode` prints for a demo client."""
    f = cert_facts(name)
    rows = [
        ("format", fmt),
        ("subject", f["subject"]),
        ("issuer", f["issuer"]),
        ("serial", f["serial"]),
        ("not before", f["not_before"]),
        ("not after", f["not_after"]),
        ("sha1", f["sha1"]),
        ("sha256", f["sha256"]),
        ("san email", f"{name}@demo.example"),
        ("san uri", f"spiffe://demo/{name}"),
    ] + [("chain", c) for c in chain]
    return "".join(f"{k:<12}{v}\n" for k, v in rows)


class DecodeTestCase(CertgateTestCase):
    def assertDecoded(self, args, fmt, name="valid-client", stdin=None, chain=()):
        """Exit 0; stdout is the leaf's PEM, the chain's PEMs, then the exact summary."""
        rc, out, err = decode(*args, stdin=stdin)
        self.assertEqual((rc, err), (0, ""), out)
        want = pem_text(name) + "".join(pem_text(c) for c in chain)
        self.assertEqual(out, want + summary(name, fmt, [cert_facts(c)["subject"] for c in chain]))

    def assertRefused(self, args, reason, stdin=None, rc=1):
        code, out, err = decode(*args, stdin=stdin)
        self.assertEqual((code, out), (rc, ""), err)
        self.assertEqual(err, f"certgate decode: {reason}\n")


class ForwardedByCertgateTest(DecodeTestCase):
    """The values a running certgate forwards, read back."""

    HEADERS = {
        "base64-der": "X-ARR-ClientCert",
        "pem-urlencoded": "X-Client-Certificate",
        "hex": "X-Client-Cert-Hex",
        "rfc9440": "Client-Cert",
        "xfcc": "X-Forwarded-Client-Cert",
    }

    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        fwd = {
            "headers": [
                {"name": h, "format": f, **({"chain": True} if f == "rfc9440" else {})}
                for f, h in cls.HEADERS.items()
            ],
            "identity_headers": False,
        }
        cls.class_certgate(
            config([listener("mtls", cls.port, "require", forward=fwd, backend="echo")]),
            [cls.port],
        )
        res = curl(
            f"https://localhost:{cls.port}/d",
            client=(pem("valid-client-chain"), key("valid-client")),
        )
        if res.status != 200:
            raise AssertionError(f"echo request failed: {res}")
        cls.forwarded = {}
        for name, value in res.json()["headers"]:
            cls.forwarded.setdefault(name.lower(), []).append(value)

    def value(self, fmt):
        values = self.forwarded.get(self.HEADERS[fmt].lower(), [])
        self.assertEqual(len(values), 1, self.forwarded)
        return values[0]

    def validated_chain(self):
        """The PKI names of what Client-Cert-Chain carries (the validated chain, leaf excluded)."""
        by_b64 = {cert_facts(n)["b64"]: n for n in ("dev-intermediate", "root-ca")}
        values = self.forwarded["client-cert-chain"]
        self.assertEqual(len(values), 1)
        return [by_b64[sf[1:-1]] for sf in values[0].split(", ")]

    def test_every_forwarded_format_decodes_to_the_client(self):
        for fmt in FORMATS:
            with self.subTest(fmt=fmt):
                v = self.value(fmt)
                # XFCC's Chain is the validated chain, leaf first: decode prints the rest
                chain = self.validated_chain() if fmt == "xfcc" else ()
                self.assertDecoded([v], fmt, chain=chain)
                self.assertDecoded(["--format", fmt, v], fmt, chain=chain)
                self.assertDecoded([f"--format={fmt}", "-"], fmt, stdin=v.encode() + b"\n",
                                   chain=chain)

    def test_validated_chain_is_intermediate_then_root(self):
        self.assertEqual(self.validated_chain(), ["dev-intermediate", "root-ca"])

    def test_forwarded_values_are_exactly_spec_encodings(self):
        f = cert_facts("valid-client")
        self.assertEqual(self.value("base64-der"), f["b64"])
        self.assertEqual(self.value("hex"), f["der"].hex().upper())
        self.assertEqual(self.value("rfc9440"), f":{f['b64']}:")
        self.assertEqual(self.value("pem-urlencoded"), pct(pem_text("valid-client")))

    def test_client_cert_chain_is_not_a_client_cert(self):
        chain = self.forwarded["client-cert-chain"]
        self.assertEqual(len(chain), 1)
        self.assertRefused(
            [chain[0]],
            "rfc9440: the value is a list; Client-Cert holds exactly one ':<base64 DER>:'",
        )


class BuiltValuesTest(DecodeTestCase):
    """The formats built with openssl and the standard library, and their variants."""

    def test_base64_padded_unpadded_and_in_whitespace(self):
        b64 = cert_facts("valid-client")["b64"]
        self.assertDecoded([b64], "base64-der")
        self.assertDecoded([b64.rstrip("=")], "base64-der")
        self.assertDecoded(["-"], "base64-der", stdin=f"  {b64}\r\n".encode())

    def test_base64_list_as_traefik_sends_it(self):
        leaf, ica = cert_facts("valid-client")["b64"], cert_facts("dev-intermediate")["b64"]
        self.assertDecoded([f"{leaf},{ica}"], "base64-der", chain=["dev-intermediate"])
        self.assertRefused([f"{leaf},"], f"base64-der: certificate 2 of the list (at byte "
                                         f"{len(leaf) + 1}): no base64 data")

    def test_hex_any_case(self):
        der = cert_facts("valid-client")["der"]
        self.assertDecoded([der.hex().upper()], "hex")
        self.assertDecoded([der.hex()], "hex")

    def test_rfc9440(self):
        self.assertDecoded([f":{cert_facts('valid-client')['b64']}:"], "rfc9440")

    def test_pem_urlencoded_and_plain_pem(self):
        text = pem_text("valid-client")
        self.assertDecoded([pct(text)], "pem-urlencoded")
        # every byte encoded, '-' included
        self.assertDecoded(["".join(f"%{b:02X}" for b in text.encode())], "pem-urlencoded")
        self.assertDecoded([text], "pem-urlencoded (plain PEM)")
        self.assertDecoded([text.replace("\n", " ")], "pem-urlencoded (plain PEM)")
        self.assertDecoded(["-"], "pem-urlencoded (plain PEM)", stdin=text.encode())

    def test_plain_pem_with_its_chain(self):
        with open(pem("valid-client-chain"), "rb") as f:
            data = f.read()
        self.assertDecoded(["-"], "pem-urlencoded (plain PEM)", stdin=data,
                           chain=["dev-intermediate"])

    def test_xfcc_with_by_chain_and_several_elements(self):
        mine = xfcc_value("valid-client", chain=["valid-client", "dev-intermediate"],
                          by="spiffe://demo/certgate-gateway")
        self.assertDecoded([mine], "xfcc", chain=["dev-intermediate"])
        # an earlier proxy's element first: the last one is the client
        earlier = xfcc_value("unregistered-client", by="spiffe://demo/edge")
        self.assertDecoded([f"{earlier},{mine}"], "xfcc", chain=["dev-intermediate"])
        self.assertDecoded([xfcc_value("revoked-client")], "xfcc", name="revoked-client")

    def test_usage_and_help(self):
        rc, out, err = decode("--help")
        self.assertEqual((rc, err), (0, ""))
        self.assertTrue(out.startswith("usage: certgate decode [--format FORMAT] VALUE|-\n"), out)
        cases = [
            ([], "no VALUE given (use - to read standard input)"),
            (["--bogus", "x"], "unknown option '--bogus'"),
            (["--format"], "--format needs a value (auto, base64-der, pem-urlencoded, hex, "
                           "rfc9440, xfcc)"),
            (["--format", "base64", "x"], "unknown format 'base64' (auto, base64-der, "
                                          "pem-urlencoded, hex, rfc9440, xfcc)"),
            (["a", "b"], "one VALUE only (got a second: 'b')"),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                self.assertRefused(args, msg + "\n" + USAGE.rstrip("\n"), rc=2)


class MalformedValuesTest(DecodeTestCase):
    """What is not a certificate: exit 1, nothing on stdout, one exact reason."""

    def test_malformed_values(self):
        f = cert_facts("valid-client")
        b64, der = f["b64"], f["der"]
        url_safe = b64.replace("+", "-").replace("/", "_")
        first = min(i for i, c in enumerate(url_safe) if c in "-_")
        xfcc = xfcc_value("valid-client")
        wrong_hash = re.sub(r"Hash=[0-9a-f]+", "Hash=" + "0" * 64, xfcc)
        cases = [
            ("", "the value is empty"),
            ("   ", "the value is empty"),
            ("hello world", "base64-der: byte 5 (0x20) is not base64"),
            ("aGVsbG8=", "base64-der: the decoded 5 bytes are not a DER certificate"),
            (url_safe, f"base64-der: byte {first} ('{url_safe[first]}') belongs to URL-safe "
                       "base64; the standard alphabet (with + and /) is expected"),
            (base64.b64encode(der + b"\0").decode(), "base64-der: 1 byte after the DER certificate"),
            (b64[:100] + "\r" + b64[100:], "base64-der: byte 100 (0x0D) is not base64"),
            (der.hex() + "0", f"hex: odd number of hex digits ({2 * len(der) + 1})"),
            (der.hex() + "00", "hex: 1 byte after the DER certificate"),
            (der.hex()[:200], "hex: the decoded 100 bytes are not a DER certificate"),
            (":" + b64, "rfc9440: the value is not ':<base64 DER>:'"),
            (f":{b64}:;x=1", f"rfc9440: byte {len(b64) + 2} follows the closing ':'"),
            ("-----BEGIN CERTIFICATE-----\nAAAA\n",
             "pem-urlencoded: the PEM block has no END line"),
            (pct(pem_text("valid-client"))[:-3] + "%G0",
             f"pem-urlencoded: the '%' at byte {len(pct(pem_text('valid-client'))) - 3} is not "
             "followed by two hex digits"),
            (pem_text("valid-client") + "trailing",
             f"pem-urlencoded: text after the PEM block at byte {len(pem_text('valid-client'))}"),
            ("By=spiffe://x;Subject=\"CN=x\"",
             "xfcc: the last XFCC element (of 1) has no Cert field"),
            (xfcc + ",By=spiffe://next", "xfcc: the last XFCC element (of 2) has no Cert field"),
            (wrong_hash, "xfcc: the Hash field is not the SHA-256 of the Cert field"),
            (xfcc + ';Cert="x"', "xfcc: an XFCC element has two Cert fields"),
            ('Cert="abc', "xfcc: unterminated quoted XFCC value"),
        ]
        for value, reason in cases:
            with self.subTest(value=value[:50]):
                self.assertRefused([value], reason)
                self.assertRefused(["-"], reason, stdin=value.encode())

    def test_keys_and_crls_are_not_certificates(self):
        with open(key("valid-client"), "rb") as f:
            self.assertRefused(
                ["-"],
                "pem-urlencoded: a 'PRIVATE KEY' PEM block at byte 0: only CERTIFICATE blocks "
                "are read",
                stdin=f.read(),
            )
        with open(pem("dev.crl"), "rb") as f:
            self.assertRefused(
                ["-"],
                "pem-urlencoded: a 'X509 CRL' PEM block at byte 0: only CERTIFICATE blocks "
                "are read",
                stdin=f.read(),
            )

    def test_explicit_format_is_not_second_guessed(self):
        b64 = cert_facts("valid-client")["b64"]
        self.assertRefused(["--format", "hex", b64], "hex: byte 0 ('M') is not a hex digit")
        self.assertRefused(["--format", "rfc9440", b64],
                           "rfc9440: the value is not ':<base64 DER>:'")
        self.assertRefused(["--format", "xfcc", "hello"], "xfcc: XFCC key without '=' at byte 0")
        self.assertRefused(["--format", "base64-der", "Cert=x"],
                           "base64-der: base64 data follows '=' padding at byte 5")

    def test_binary_and_oversized_input(self):
        self.assertRefused(["-"], "base64-der: byte 4 (0x00) is not base64", stdin=b"MIIB\0AAA")
        self.assertRefused(["-"], "standard input holds more than 1048576 bytes",
                           stdin=b"A" * ((1 << 20) + 1))


class ExampleBackendTest(CertgateTestCase):
    """examples/backend.c, built against this build's libcertgate.a, behind certgate and
    on its own: it decodes what it is forwarded (format auto) and judges it."""

    @classmethod
    def setUpClass(cls):
        lib = Path(BINARY).parent / "libcertgate.a"
        if not lib.exists():
            raise unittest.SkipTest(f"{lib} is not built (make all)")
        d = scratch("example-backend")
        exe = d / "backend"
        cmd = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{REPO / 'include'}",
               "-o", str(exe), str(REPO / "examples" / "backend.c"), str(lib), "-lssl", "-lcrypto"]
        if ASAN:
            cmd.append("-fsanitize=address,undefined")
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(f"examples/backend.c does not build:\n{r.stderr}")
        cls.be_port, cls.port = free_port(), free_port()
        cls.be_log = d / "backend.log"
        with open(cls.be_log, "wb") as log:
            cls.be = subprocess.Popen(
                [str(exe), str(cls.be_port), pem("root-ca"), pem("dev-intermediate"),
                 "Valid Client"], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        cls.addClassCleanup(cls.stop_backend)
        if not wait_port(cls.be_port, START_TIMEOUT, alive=lambda: cls.be.poll() is None):
            raise AssertionError(f"examples/backend did not listen:\n{cls.be_log.read_text()}")
        cls.class_certgate(
            config([listener("mtls", cls.port, "require")], f"http://127.0.0.1:{cls.be_port}"),
            [cls.port])

    @classmethod
    def stop_backend(cls):
        cls.be.terminate()
        cls.be.wait(10)

    def direct(self, *headers):
        args = []
        for h in headers:
            args += ["-H", h]
        return curl(f"http://127.0.0.1:{self.be_port}/", *args, cacert=None)

    def assertAccepted(self, res, name="valid-client"):
        self.assertEqual(res.status, 200, res.body)
        self.assertEqual(res.header("Content-Type"), "application/json")
        self.assertEqual(res.json(), {"cn": "Valid Client", "sha1": cert_facts(name)["sha1"]})

    def test_behind_certgate_the_valid_client_is_accepted(self):
        self.assertAccepted(curl(f"https://localhost:{self.port}/", client="valid-client"))

    def test_behind_certgate_an_unregistered_client_is_refused_by_the_backend(self):
        res = curl(f"https://localhost:{self.port}/", client="unregistered-client")
        self.assertJsonError(res, 403, "ClientCertificateIdentityNotMatched")

    def test_every_format_is_read(self):
        f = cert_facts("valid-client")
        text = pem_text("valid-client")
        for v in (f["b64"], f["der"].hex().upper(), f":{f['b64']}:", pct(text),
                  xfcc_value("valid-client", by="spiffe://demo/certgate-gateway")):
            with self.subTest(value=v[:30]):
                self.assertAccepted(self.direct(f"X-ARR-ClientCert: {v}"))

    def test_refusals_carry_reason_and_status(self):
        b64 = cert_facts("valid-client")["b64"]
        cases = [
            ((), 401, "ClientCertificateNotFound", "no X-ARR-ClientCert header"),
            (("X-ARR-ClientCert: aGVsbG8=",), 400, "ClientCertificateMalformed",
             "X-ARR-ClientCert: base64-der: the decoded 5 bytes are not a DER certificate"),
            ((f"X-ARR-ClientCert: {b64}", f"x-arr-clientcert: {b64}"), 400,
             "ClientCertificateMalformed", "X-ARR-ClientCert came more than once"),
        ]
        for headers, status, code, detail in cases:
            with self.subTest(code=code, n=len(headers)):
                body = self.assertJsonError(self.direct(*headers), status, code)
                self.assertEqual(body["detail"], detail)
        res = self.direct(f"X-ARR-ClientCert: {cert_facts('expired-client')['b64']}")
        self.assertJsonError(res, 401, "ClientCertificateExpired")
        res = self.direct(f"X-ARR-ClientCert: {cert_facts('untrusted-client')['b64']}")
        self.assertJsonError(res, 401, "ClientCertificateNotTrusted")


if __name__ == "__main__":
    unittest.main()

"""Interop with consumers no one here wrote, run for real (SPEC §5):

(a) an Express app in the style of seed 001 (express from npm, Node's
    crypto.X509Certificate) behind certgate reports the SHA-1 thumbprint and CN
    certgate saw, for base64-der and pem-urlencoded, and answers its own 403;
(b) Python's cryptography (Debian's python3-cryptography, run by
    /usr/bin/python3) loads every format's payload;
(c) pem-urlencoded never emits a raw '+', '/' or '=', so the .NET UrlDecode of
    seed 003's API Management policy (which turns '+' into a space) cannot
    corrupt it.

Needs node and tests/interop/node_modules (scripts/interop-deps.sh installs it).
"""

import base64
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
import urllib.parse

from harness import (
    REPO,
    CertgateTestCase,
    cert_facts,
    config,
    curl,
    free_port,
    listener,
    scratch,
)

INTEROP = REPO / "tests" / "interop"
# Debian's python3-cryptography lives under /usr/bin/python3; the PATH python3
# may be another interpreter.
SYSTEM_PYTHON = "/usr/bin/python3"
NODE_START_TIMEOUT = 15.0

ALL_FORMATS = {
    "headers": [
        {"name": "X-ARR-ClientCert", "format": "base64-der"},
        {"name": "X-Client-Certificate", "format": "pem-urlencoded"},
        {"name": "X-Cert-Hex", "format": "hex"},
        {"name": "Client-Cert", "format": "rfc9440", "chain": True},
        {"name": "X-Forwarded-Client-Cert", "format": "xfcc", "xfcc_mode": "replace"},
    ],
    "identity_headers": True,
}

# What SPEC §5 lets a pem-urlencoded value contain: unreserved bytes and %XX.
URI_COMPONENT = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+")


def pem_of(der):
    """The PEM SPEC §5 describes: 64-character lines, LF, a trailing LF."""
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def uri_component(text, safe="-._~"):
    """Percent-encode every byte outside <safe> and the alphanumerics."""
    return urllib.parse.quote(text, safe=safe)


def pyload(items):
    """Run tests/interop/pyload.py under Debian's python3 on [(format, value)]."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        raise AssertionError(f"{SYSTEM_PYTHON} missing: scripts/deps.sh installs python3")
    payload = json.dumps([{"format": f, "value": v} for f, v in items])
    r = subprocess.run(
        [SYSTEM_PYTHON, str(INTEROP / "pyload.py")],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if r.returncode != 0:
        raise AssertionError(
            f"pyload.py failed ({r.returncode}); is python3-cryptography installed "
            f"(scripts/deps.sh)?\n{r.stderr}"
        )
    out = json.loads(r.stdout)
    if len(out) != len(items):
        raise AssertionError(f"pyload.py answered {len(out)} items for {len(items)}")
    return out


class ExpressApp:
    """tests/interop/express_app.js under node, on a port it picks and prints."""

    def __init__(self, env):
        self.dir = scratch("express")
        self.env = dict(os.environ, PORT="0", HOST="127.0.0.1", **env)
        self.stderr_path = self.dir / "stderr.log"
        self.proc = None
        self.port = None
        self.first_line = b""

    def start(self):
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            raise AssertionError("node is not installed: run scripts/deps.sh")
        if not (INTEROP / "node_modules" / "express" / "package.json").exists():
            raise AssertionError(
                "tests/interop/node_modules has no express: run scripts/interop-deps.sh"
            )
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [node, str(INTEROP / "express_app.js")],
                cwd=str(INTEROP),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                env=self.env,
            )
        # The app prints {"listening": PORT} once it accepts.
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + NODE_START_TIMEOUT
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"express did not start in time\n{self.logs()}")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.proc.wait()
                raise AssertionError(f"express exited ({self.proc.returncode})\n{self.logs()}")
            buf += chunk
        sel.close()
        self.first_line = buf.split(b"\n", 1)[0]
        self.port = json.loads(self.first_line)["listening"]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()

    def logs(self):
        try:
            err = self.stderr_path.read_text(errors="replace")
        except OSError:
            err = ""
        return f"--- express_app.js (stdout {self.first_line!r})\n--- stderr\n{err}"


class ExpressBehindCertgateTest(CertgateTestCase):
    """(a) seed 001's middleware reads what certgate forwards."""

    @classmethod
    def setUpClass(cls):
        valid = cert_facts("valid-client")
        # Valid Client by thumbprint (pasted with colons, in lower case: the app
        # normalises it), Revoked Client by CN: certgate's inline policy has no
        # CRL, so both reach the app, each through one of its two allowlist paths.
        thumb = ":".join(valid["sha1"][i : i + 2] for i in range(0, 40, 2)).lower()
        cls.app = ExpressApp(
            {
                "ALLOWED_CLIENT_CERT_THUMBPRINTS": thumb,
                "ALLOWED_CLIENT_CERT_COMMON_NAMES": "Revoked Client",
            }
        ).start()
        cls.addClassCleanup(cls.app.stop)
        cls._class_procs = list(cls._class_procs) + [cls.app]

        cls.ports = {"arr": free_port(), "agw": free_port()}
        fwd = {
            "arr": [{"name": "X-ARR-ClientCert", "format": "base64-der"}],
            "agw": [{"name": "X-Client-Certificate", "format": "pem-urlencoded"}],
        }
        lsts = [
            listener(
                name, port, "optional", forward={"headers": fwd[name], "identity_headers": True}
            )
            for name, port in cls.ports.items()
        ]
        cls.class_certgate(config(lsts, cls.app.url), list(cls.ports.values()))

    def get(self, which, path="/cert-info", client="valid-client", *args):
        return curl(f"https://localhost:{self.ports[which]}{path}", *args, client=client)

    def assertFromExpress(self, res, status):
        """<res> was answered by the app itself, not by certgate."""
        self.assertEqual(res.status, status, res)
        self.assertEqual(res.header_values("X-Powered-By"), ["Express"], res.headers)
        return res.json()

    def assertSeen(self, doc, name, source, allowed_by):
        f = cert_facts(name)
        cn = re.search(r"(?:^|,)CN=([^,]+)", f["subject"]).group(1)
        self.assertEqual(doc["source"], source)
        self.assertEqual(doc["fingerprint"], f["sha1"])
        self.assertEqual(doc["fingerprint256"], f["sha256"])
        self.assertEqual(doc["commonName"], cn)
        self.assertEqual(doc["serialNumber"], f["serial"])
        self.assertEqual(doc["allowedBy"], allowed_by)
        # what certgate saw, as it told the app in its identity headers
        self.assertEqual(
            doc["gateway"], {"verify": "SUCCESS", "sha1": f["sha1"], "subject": f["subject"]}
        )

    def test_base64_der_express_sees_the_thumbprint_and_cn_certgate_saw(self):
        doc = self.assertFromExpress(self.get("arr"), 200)
        self.assertSeen(doc, "valid-client", "X-ARR-ClientCert", "thumbprint")

    def test_pem_urlencoded_express_sees_the_thumbprint_and_cn_certgate_saw(self):
        doc = self.assertFromExpress(self.get("agw"), 200)
        self.assertSeen(doc, "valid-client", "X-Client-Certificate", "thumbprint")

    def test_cn_allowlist_of_the_app_matches_the_forwarded_certificate(self):
        for which, source in (("arr", "X-ARR-ClientCert"), ("agw", "X-Client-Certificate")):
            with self.subTest(which):
                doc = self.assertFromExpress(self.get(which, client="revoked-client"), 200)
                self.assertSeen(doc, "revoked-client", source, "cn")

    def test_not_allowlisted_client_gets_the_apps_own_403(self):
        f = cert_facts("unregistered-client")
        for which in ("arr", "agw"):
            with self.subTest(which):
                res = self.get(which, client="unregistered-client")
                doc = self.assertFromExpress(res, 403)
                self.assertEqual(
                    doc,
                    {
                        "error": "client certificate is not allowlisted",
                        "fingerprint": f["sha1"],
                        "commonName": "Unregistered Client",
                    },
                )

    def test_health_bypasses_the_apps_check_and_no_certificate_means_no_header(self):
        for which in ("arr", "agw"):
            with self.subTest(which):
                res = self.get(which, path="/health", client=None)
                self.assertEqual(self.assertFromExpress(res, 200), {"status": "ok"})
                res = self.get(which, path="/cert-info", client=None)
                self.assertEqual(
                    self.assertFromExpress(res, 403), {"error": "client certificate header missing"}
                )

    def test_a_header_forged_by_the_client_never_reaches_the_app(self):
        """Seed 003's spoofing hole: the unregistered client sends the valid
        client's certificate in both headers the app reads."""
        valid = cert_facts("valid-client")
        forged = [
            "-H",
            f"X-ARR-ClientCert: {valid['b64']}",
            "-H",
            f"X-Client-Certificate: {uri_component(pem_of(valid['der']))}",
        ]
        f = cert_facts("unregistered-client")
        for which in ("arr", "agw"):
            with self.subTest(which):
                res = self.get(which, "/cert-info", "unregistered-client", *forged)
                self.assertEqual(
                    self.assertFromExpress(res, 403),
                    {
                        "error": "client certificate is not allowlisted",
                        "fingerprint": f["sha1"],
                        "commonName": "Unregistered Client",
                    },
                )


class ForeignParsersTest(CertgateTestCase):
    """(b) and (c): one request through a listener that forwards every format;
    Debian's python3-cryptography loads each header the backend received."""

    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port = free_port()
        cls.class_certgate(
            config([listener("all", cls.port, "require", forward=ALL_FORMATS)], cls.be.url),
            [cls.port],
        )
        res = curl(f"https://localhost:{cls.port}/formats", client="valid-client")
        if res.status != 200:
            raise AssertionError(f"setup request failed: {res}")
        cls.req = cls.be.only()
        cls.facts = cert_facts("valid-client")
        cls.values = {}
        for name in (
            "X-ARR-ClientCert",
            "X-Client-Certificate",
            "X-Cert-Hex",
            "Client-Cert",
            "Client-Cert-Chain",
            "X-Forwarded-Client-Cert",
        ):
            got = cls.req.header_values(name)
            if len(got) != 1:
                raise AssertionError(f"backend got {len(got)} {name} headers: {cls.req}")
            cls.values[name] = got[0]
        pem = pem_of(cls.facts["der"])
        cls.lax = uri_component(pem, safe="-._~+/=")  # an encoder that leaves + / = raw
        items = [
            ("base64-der", cls.values["X-ARR-ClientCert"]),
            ("pem-urlencoded", cls.values["X-Client-Certificate"]),
            ("hex", cls.values["X-Cert-Hex"]),
            ("rfc9440", cls.values["Client-Cert"]),
            ("rfc9440-chain", cls.values["Client-Cert-Chain"]),
            ("xfcc", cls.values["X-Forwarded-Client-Cert"]),
            ("apim-dotnet", cls.values["X-Client-Certificate"]),
            ("apim-dotnet", cls.lax),
        ]
        cls.loaded = dict(zip(("b64", "pem", "hex", "rfc", "chain", "xfcc", "net", "lax"),
                              pyload(items)))

    def assertLoadsAs(self, got, name):
        self.assertTrue(got["ok"], got)
        f = cert_facts(name)
        self.assertEqual(got["sha1"], f["sha1"])
        self.assertEqual(got["sha256"], f["sha256"])
        self.assertEqual(got["serial"], f["serial"].lstrip("0"))
        self.assertEqual(got["subject"], f["subject"])

    def test_cryptography_loads_every_format(self):
        for key in ("b64", "pem", "hex", "rfc", "xfcc"):
            with self.subTest(key):
                self.assertLoadsAs(self.loaded[key], "valid-client")
                self.assertEqual(self.loaded[key]["cn"], "Valid Client")

    def test_values_are_the_exact_encodings_of_spec_5(self):
        der = self.facts["der"]
        self.assertEqual(self.values["X-ARR-ClientCert"], self.facts["b64"])
        self.assertEqual(self.values["X-Cert-Hex"], der.hex().upper())
        self.assertEqual(self.values["Client-Cert"], f":{self.facts['b64']}:")
        self.assertEqual(self.values["X-Client-Certificate"], uri_component(pem_of(der)))

    def test_rfc9440_chain_loads_issuers_in_order_leaf_excluded(self):
        got = self.loaded["chain"]
        self.assertTrue(got["ok"], got)
        self.assertEqual(
            got["chain_sha1"],
            [cert_facts("dev-intermediate")["sha1"], cert_facts("root-ca")["sha1"]],
        )

    def test_xfcc_fields_load_and_agree(self):
        got = self.loaded["xfcc"]
        fields = got["fields"]
        # SPEC §5 order; no By (the server certificate has no URI SAN), no DNS SAN
        self.assertEqual(list(fields), ["Hash", "Cert", "Chain", "Subject", "URI", "_elements"])
        self.assertEqual(fields["_elements"], 1)
        self.assertEqual(fields["Hash"], [self.facts["sha256"].lower()])
        self.assertEqual(fields["Subject"], [self.facts["subject"]])
        self.assertEqual(fields["URI"], ["spiffe://demo/valid-client"])
        self.assertEqual(fields["Cert"], [self.values["X-Client-Certificate"]])
        self.assertEqual(
            got["chain_sha1"],
            [self.facts["sha1"], cert_facts("dev-intermediate")["sha1"],
             cert_facts("root-ca")["sha1"]],
        )

    def test_pem_urlencoded_has_no_raw_plus_slash_or_equals(self):
        value = self.values["X-Client-Certificate"]
        self.assertFalse(set("+/=") & set(value), value)
        self.assertRegex(value, r"\A" + URI_COMPONENT.pattern + r"\Z")
        # each one the base64 holds came out escaped (and the base64 does hold
        # a '+', so the absence above means something)
        b64 = self.facts["b64"]
        self.assertIn("+", b64)
        for raw, escaped in (("+", "%2B"), ("/", "%2F"), ("=", "%3D")):
            self.assertEqual(value.count(escaped), b64.count(raw), raw)
        self.assertEqual(value.count("%0A"), len(pem_of(self.facts["der"]).splitlines()))
        self.assertEqual(value.count("%20"), 2)  # BEGIN CERTIFICATE, END CERTIFICATE

    def test_dotnet_urldecode_of_seed_003_reads_the_certificate(self):
        self.assertLoadsAs(self.loaded["net"], "valid-client")

    def test_dotnet_urldecode_control_a_raw_plus_is_corrupted(self):
        """The emulation must be able to fail: an encoder that leaves '+' raw."""
        self.assertIn("+", self.lax)
        self.assertEqual(self.loaded["lax"]["ok"], False, self.loaded["lax"])

"""Anti-spoofing (SPEC §5): on every listener, whatever a client sends under a
certificate header name never reaches the backend — any case, '_' for '-',
every copy — and only certgate's own values do."""

from harness import CertgateTestCase, RawConn, config, curl, free_port, listener

WELL_KNOWN = (
    "X-ARR-ClientCert",
    "X-Client-Cert",
    "X-Client-Certificate",
    "X-SSL-Client-Cert",
    "Client-Cert",
    "Client-Cert-Chain",
    "X-Forwarded-Client-Cert",
    "X-Forwarded-Tls-Client-Cert",
    "X-Forwarded-Tls-Client-Cert-Info",
)
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
STRIPPED = {n.lower() for n in WELL_KNOWN + IDENTITY}
# Names that only look alike: exact-name matching must let them through.
CONTROLS = [("X-Not-A-Cert", "keep-1"), ("X-ARR-ClientCert2", "keep-2"), ("Client-Certs", "keep-3")]


def variants(name):
    """Four copies of <name> as a spoofer might spell them: '_' for '-', lower
    case, upper case, as is. (Four, so that all stay under the 100-header limit.)"""
    return [name.replace("-", "_"), name.lower(), name.upper().replace("-", "_"), name]


def spoof_lines():
    lines, n = [], 0
    for name in WELL_KNOWN + IDENTITY:
        for v in variants(name):
            n += 1
            lines.append(f"{v}: spoofed-{n}")
    return lines


def normalized(name):
    return name.lower().replace("_", "-")


class AntiSpoofTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.plain, cls.tls, cls.mtls = free_port(), free_port(), free_port()
        cls.class_certgate(
            config(
                [
                    listener("plain", cls.plain, tls=False),
                    listener("tls", cls.tls, "ignore"),
                    listener("mtls", cls.mtls, "require"),
                ],
                cls.be.url,
            ),
            [cls.plain, cls.tls, cls.mtls],
        )

    def setUp(self):
        super().setUp()
        self.be.clear()

    def send_spoofed(self, port, tls, client=None):
        head = ["GET /spoof HTTP/1.1", f"Host: localhost:{port}"] + spoof_lines()
        head += [f"{k}: {v}" for k, v in CONTROLS]
        with RawConn(port, tls=tls, client=client) as c:
            c.send(("\r\n".join(head) + "\r\n\r\n").encode())
            res = c.read_response()
        self.assertEqual(res.status, 200, res)
        req = self.be.only()
        self.assertEqual([(k, v) for k, v in req.headers if "spoofed" in v], [])
        for k, v in CONTROLS:
            self.assertEqual(req.header_values(k), [v], k)
        return req

    def assertOnlyVerifyNone(self, req):
        """Without a certificate the only certgate header of these is Verify: NONE."""
        theirs = [(k, v) for k, v in req.headers if normalized(k) in STRIPPED]
        self.assertEqual(theirs, [("X-Client-Cert-Verify", "NONE")])

    def test_plain_listener_strips_every_spelling(self):
        self.assertOnlyVerifyNone(self.send_spoofed(self.plain, tls=False))

    def test_tls_listener_without_client_auth_strips_every_spelling(self):
        self.assertOnlyVerifyNone(self.send_spoofed(self.tls, tls=True))

    def test_mtls_listener_replaces_spoofed_values_with_the_real_certificate(self):
        req = self.send_spoofed(self.mtls, tls=True, client="valid-client")
        self.assertForwardedCert(req, "valid-client")
        self.assertIdentityHeaders(req, "valid-client")
        ours = sorted(normalized(k) for k, _ in req.headers if normalized(k) in STRIPPED)
        self.assertEqual(ours, sorted({"x-arr-clientcert"} | {n.lower() for n in IDENTITY}))

    def test_curl_forged_arr_header_on_tls_listener_is_dropped(self):
        res = curl(f"https://localhost:{self.tls}/f", "-H", "X-ARR-ClientCert: MIIforged")
        self.assertEqual(res.status, 200, res)
        req = self.be.only()
        self.assertEqual(req.header_values("X-ARR-ClientCert"), [])

    def test_curl_forged_verify_success_on_plain_listener_is_replaced(self):
        res = curl(
            f"http://127.0.0.1:{self.plain}/f",
            "-H",
            "X-Client-Cert-Verify: SUCCESS",
            "-H",
            "X_Client_Cert_Subject: CN=Valid Client",
            cacert=None,
        )
        self.assertEqual(res.status, 200, res)
        self.assertOnlyVerifyNone(self.be.only())

"""What the backend receives (SPEC §5): the certificate header, identity
headers, X-Forwarded-*, end-to-end headers intact, hop-by-hop headers gone."""

import hashlib
import os

from harness import (
    CertgateTestCase,
    RawConn,
    cert_facts,
    config,
    curl,
    free_port,
    listener,
    scratch,
)

CERTGATE_ADDS = {
    "x-arr-clientcert",
    "x-client-cert-verify",
    "x-client-cert-subject",
    "x-client-cert-issuer",
    "x-client-cert-serial",
    "x-client-cert-sha1",
    "x-client-cert-sha256",
    "x-client-cert-not-before",
    "x-client-cert-not-after",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
}


class ForwardHeadersTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port, cls.plain = free_port(), free_port()
        cls.class_certgate(
            config(
                [
                    listener("mtls", cls.port, "require"),
                    listener("plain", cls.plain, tls=False),
                ],
                cls.be.url,
            ),
            [cls.port, cls.plain],
        )

    def setUp(self):
        super().setUp()
        self.be.clear()

    def get(self, *args, path="/hdr", client="valid-client"):
        res = curl(f"https://localhost:{self.port}{path}", *args, client=client)
        self.assertEqual(res.status, 200, res)
        return self.be.only()

    def raw(self, request_bytes):
        with RawConn(self.port, tls=True, client="valid-client") as c:
            c.send(request_bytes)
            res = c.read_response()
        self.assertEqual(res.status, 200, res)
        return self.be.only()

    def test_backend_receives_exactly_the_client_headers_then_certgates(self):
        req = self.get("-H", "X-Custom: 1")
        names = [n.lower() for n in req.names()]
        self.assertEqual(names[:4], ["host", "user-agent", "accept", "x-custom"])
        rest = names[4:]
        # certgate may say keep-alive to its backend; nothing else of its own.
        if "connection" in rest:
            self.assertEqual(req.header_values("Connection"), ["keep-alive"])
            rest.remove("connection")
        self.assertEqual(sorted(rest), sorted(CERTGATE_ADDS))

    def test_arr_clientcert_is_base64_der_of_the_leaf(self):
        req = self.get()
        self.assertForwardedCert(req, "valid-client")

    def test_identity_headers_equal_openssl_values(self):
        self.assertIdentityHeaders(self.get(), "valid-client")

    def test_x_forwarded_headers_describe_the_client_connection(self):
        req = self.get()
        self.assertEqual(req.header_values("X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(req.header_values("X-Forwarded-Proto"), ["https"])
        self.assertEqual(req.header_values("X-Forwarded-Host"), [f"localhost:{self.port}"])
        self.assertEqual(req.header_values("Host"), [f"localhost:{self.port}"])

    def test_plain_listener_says_proto_http(self):
        res = curl(f"http://127.0.0.1:{self.plain}/p", cacert=None)
        self.assertEqual(res.status, 200, res)
        req = self.be.only()
        self.assertEqual(req.header_values("X-Forwarded-Proto"), ["http"])
        self.assertEqual(req.header_values("X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(req.header_values("X-Forwarded-Host"), [f"127.0.0.1:{self.plain}"])

    def test_end_to_end_headers_keep_order_case_and_duplicates(self):
        req = self.raw(
            f"GET /order HTTP/1.1\r\nHost: localhost:{self.port}\r\nX-A: 1\r\nx-MiXeD: m\r\n"
            f"X-B: 2\r\nX-A: 3\r\n\r\n".encode()
        )
        mine = [(k, v) for k, v in req.headers if k.lower() in ("x-a", "x-b", "x-mixed")]
        self.assertEqual(mine, [("X-A", "1"), ("x-MiXeD", "m"), ("X-B", "2"), ("X-A", "3")])

    def test_connection_and_the_headers_it_names_are_not_forwarded(self):
        req = self.raw(
            f"GET /hop HTTP/1.1\r\nHost: localhost:{self.port}\r\n"
            f"Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nX-Stay: yes\r\n\r\n".encode()
        )
        self.assertEqual(req.header_values("X-Hop"), [])
        for v in req.header_values("Connection"):
            self.assertNotIn("x-hop", v.lower())
        self.assertEqual(req.header_values("X-Stay"), ["yes"])

    def test_keep_alive_proxy_connection_and_te_are_not_forwarded(self):
        req = self.raw(
            f"GET /hop HTTP/1.1\r\nHost: localhost:{self.port}\r\nKeep-Alive: timeout=5\r\n"
            f"Proxy-Connection: keep-alive\r\nTE: trailers\r\nX-Stay: yes\r\n\r\n".encode()
        )
        for name in ("Keep-Alive", "Proxy-Connection", "TE"):
            self.assertEqual(req.header_values(name), [], name)
        self.assertEqual(req.header_values("X-Stay"), ["yes"])

    def test_upgrade_header_is_not_forwarded(self):
        req = self.raw(
            f"GET /hop HTTP/1.1\r\nHost: localhost:{self.port}\r\nUpgrade: h2c\r\n"
            f"X-Stay: yes\r\n\r\n".encode()
        )
        self.assertEqual(req.header_values("Upgrade"), [])
        self.assertEqual(req.header_values("X-Stay"), ["yes"])

    def test_request_body_is_forwarded_intact(self):
        body = os.urandom(300_000)
        f = scratch("body") / "b.bin"
        f.write_bytes(body)
        req = self.get("--data-binary", f"@{f}", "-H", "Content-Type: application/octet-stream",
                       path="/upload")
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.body_len, len(body))
        self.assertEqual(req.body_sha256, hashlib.sha256(body).hexdigest())
        self.assertEqual(req.header_values("Content-Length"), [str(len(body))])

    def test_chunked_request_body_is_forwarded_intact(self):
        req = self.raw(
            f"POST /chunked HTTP/1.1\r\nHost: localhost:{self.port}\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
            .encode()
        )
        self.assertEqual(req.body, b"hello world")


class ForwardConfigTest(CertgateTestCase):
    """forward: {headers: [...], identity_headers} as configured per listener."""

    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.ports = {k: free_port() for k in ("renamed", "empty", "noid", "two")}
        fwd = {
            "renamed": {"headers": [{"name": "X-Client-Cert", "format": "base64-der"}]},
            "empty": {"headers": [{"name": "", "format": "base64-der"}]},
            "noid": {
                "headers": [{"name": "X-ARR-ClientCert", "format": "base64-der"}],
                "identity_headers": False,
            },
            "two": {
                "headers": [
                    {"name": "X-ARR-ClientCert", "format": "base64-der"},
                    {"name": "X-SSL-Client-Cert", "format": "base64-der"},
                ]
            },
        }
        lsts = [listener(k, p, "require", forward=fwd[k]) for k, p in cls.ports.items()]
        cls.class_certgate(config(lsts, cls.be.url), list(cls.ports.values()))

    def setUp(self):
        super().setUp()
        self.be.clear()

    def get(self, which):
        res = curl(f"https://localhost:{self.ports[which]}/f", client="valid-client")
        self.assertEqual(res.status, 200, res)
        return self.be.only()

    def test_renamed_header_carries_the_certificate(self):
        req = self.get("renamed")
        self.assertForwardedCert(req, "valid-client", header="X-Client-Cert")
        self.assertEqual(req.header_values("X-ARR-ClientCert"), [])
        self.assertIdentityHeaders(req, "valid-client")

    def test_empty_header_name_forwards_no_certificate(self):
        req = self.get("empty")
        b64 = cert_facts("valid-client")["b64"]
        self.assertEqual([k for k, v in req.headers if v == b64], [])
        self.assertIdentityHeaders(req, "valid-client")

    def test_identity_headers_off_sends_only_the_certificate(self):
        req = self.get("noid")
        self.assertForwardedCert(req, "valid-client")
        self.assertEqual([k for k in req.names() if k.lower().startswith("x-client-cert-")], [])

    def test_two_forward_headers_are_both_sent(self):
        req = self.get("two")
        self.assertForwardedCert(req, "valid-client")
        self.assertForwardedCert(req, "valid-client", header="X-SSL-Client-Cert")

"""Client-auth modes (SPEC §3) and verdicts (SPEC §4) over real handshakes,
with the demo PKI (SPEC §8). In this release verdicts are chain + validity
only: unregistered and revoked clients pass."""

import hashlib

from harness import (
    CertgateTestCase,
    RawConn,
    cert_facts,
    config,
    curl,
    free_port,
    key,
    listener,
    pem,
    s_client,
)

IDENTITY_NAMES = (
    "X-Client-Cert-Subject",
    "X-Client-Cert-Issuer",
    "X-Client-Cert-Serial",
    "X-Client-Cert-SHA1",
    "X-Client-Cert-SHA256",
    "X-Client-Cert-Not-Before",
    "X-Client-Cert-Not-After",
)


def get_request(host, path="/", extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode()


class _ModeCase(CertgateTestCase):
    """One certgate with one listener in <MODE> in front of the recording backend."""

    MODE = None
    ON_FAILURE = None
    ROUTES = None

    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port = free_port()
        lst = listener("mtls", cls.port, cls.MODE, cls.ON_FAILURE, routes=cls.ROUTES)
        cls.cg = cls.class_certgate(config([lst], cls.be.url), [cls.port])
        cls.base = f"https://localhost:{cls.port}"

    def setUp(self):
        super().setUp()
        self.be.clear()

    def get(self, client, path="/cert-info", *args):
        return curl(self.base + path, *args, client=client)

    def assertPassed(self, res, name, verify="SUCCESS", path="/cert-info"):
        """200 from the backend, which got <name>'s certificate and identity."""
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.header("X-Backend"), "recording")
        req = self.be.only()
        self.assertEqual((req.method, req.target), ("GET", path))
        self.assertForwardedCert(req, name)
        self.assertIdentityHeaders(req, name, verify)
        return req

    def assertPassedWithoutCert(self, res, path="/cert-info"):
        self.assertEqual(res.status, 200, res)
        req = self.be.only()
        self.assertEqual(req.target, path)
        self.assertEqual(req.header_values("X-ARR-ClientCert"), [])
        self.assertEqual(req.header_values("X-Client-Cert-Verify"), ["NONE"])
        for name in IDENTITY_NAMES:
            self.assertEqual(req.header_values(name), [], name)
        return req


class RequireModeTest(_ModeCase):
    MODE = "require"

    def test_valid_client_reaches_backend_with_its_certificate(self):
        self.assertPassed(self.get("valid-client"), "valid-client")

    def test_valid_client_sending_its_chain_forwards_only_the_leaf(self):
        chain = (pem("valid-client-chain"), key("valid-client"))
        res = curl(self.base + "/cert-info", client=chain)
        self.assertPassed(res, "valid-client")

    def test_unregistered_client_passes_until_allowlists_exist(self):
        self.assertPassed(self.get("unregistered-client"), "unregistered-client")

    def test_revoked_client_passes_until_revocation_exists(self):
        self.assertPassed(self.get("revoked-client"), "revoked-client")

    def test_expired_client_gets_401_expired(self):
        self.assertJsonError(self.get("expired-client"), 401, "ClientCertificateExpired")
        self.assertNothingReached(self.be)

    def test_not_yet_valid_client_gets_401_not_yet_valid(self):
        self.assertJsonError(self.get("notyetvalid-client"), 401, "ClientCertificateNotYetValid")
        self.assertNothingReached(self.be)

    def test_client_from_tst_intermediate_gets_401_not_trusted(self):
        self.assertJsonError(self.get("untrusted-client"), 401, "ClientCertificateNotTrusted")
        self.assertNothingReached(self.be)

    def test_no_certificate_gets_401_not_found(self):
        self.assertJsonError(self.get(None), 401, "ClientCertificateNotFound")
        self.assertNothingReached(self.be)

    def test_every_request_on_a_rejected_connection_gets_the_error(self):
        with RawConn(self.port, tls=True, client="expired-client") as c:
            req = f"GET /a HTTP/1.1\r\nHost: localhost:{self.port}\r\n\r\n".encode()
            c.send(req + req)
            for _ in range(2):
                self.assertJsonError(c.read_response(), 401, "ClientCertificateExpired")
        self.assertNothingReached(self.be)

    def test_server_asks_for_a_certificate(self):
        rc, out = s_client(self.port, "-msg", client="valid-client",
                           data=get_request(f"localhost:{self.port}"))
        self.assertIn("CertificateRequest", out)
        self.assertIn("HTTP/1.1 200", out)


class RequireAlertModeTest(_ModeCase):
    """on_failure: alert — the handshake fails with an alert naming the cause."""

    MODE = "require"
    ON_FAILURE = "alert"

    def alert_output(self, client):
        rc, out = s_client(self.port, client=client, data=get_request(f"localhost:{self.port}"))
        self.assertNotIn("HTTP/1.1", out)
        self.assertNothingReached(self.be)
        return out

    def test_expired_client_gets_certificate_expired_alert(self):
        self.assertIn("alert certificate expired", self.alert_output("expired-client"))

    def test_not_yet_valid_client_gets_bad_certificate_alert(self):
        self.assertIn("alert bad certificate", self.alert_output("notyetvalid-client"))

    def test_untrusted_client_gets_unknown_ca_alert(self):
        self.assertIn("alert unknown ca", self.alert_output("untrusted-client"))

    def test_no_certificate_gets_certificate_required_alert(self):
        self.assertIn("alert certificate required", self.alert_output(None))

    def test_expired_client_with_curl_fails_at_tls(self):
        res = self.get("expired-client")
        self.assertEqual(res.status, 0, res)
        self.assertNotEqual(res.rc, 0)
        self.assertNothingReached(self.be)

    def test_valid_client_still_passes(self):
        self.assertPassed(self.get("valid-client"), "valid-client")


class OptionalModeTest(_ModeCase):
    MODE = "optional"

    def test_valid_client_passes(self):
        self.assertPassed(self.get("valid-client"), "valid-client")

    def test_no_certificate_passes_with_verify_none(self):
        self.assertPassedWithoutCert(self.get(None))

    def test_expired_client_gets_401_expired(self):
        self.assertJsonError(self.get("expired-client"), 401, "ClientCertificateExpired")
        self.assertNothingReached(self.be)

    def test_untrusted_client_gets_401_not_trusted(self):
        self.assertJsonError(self.get("untrusted-client"), 401, "ClientCertificateNotTrusted")
        self.assertNothingReached(self.be)


class RequestModeTest(_ModeCase):
    """Passthrough: any certificate at TLS; the route's policy decides, and
    policy: none lets everything through with the verdict in a header."""

    MODE = "request"
    ROUTES = [
        {"match": {"path_prefix": "/open"}, "policy": "none", "backend": "app"},
        {"match": {"path_prefix": "/"}, "backend": "app"},
    ]

    def test_valid_client_passes_listener_policy(self):
        self.assertPassed(self.get("valid-client", "/api"), "valid-client", path="/api")

    def test_expired_client_gets_401_from_listener_policy(self):
        self.assertJsonError(self.get("expired-client", "/api"), 401, "ClientCertificateExpired")
        self.assertNothingReached(self.be)

    def test_untrusted_client_gets_401_from_listener_policy(self):
        self.assertJsonError(
            self.get("untrusted-client", "/api"), 401, "ClientCertificateNotTrusted"
        )
        self.assertNothingReached(self.be)

    def test_no_certificate_gets_401_not_found_from_listener_policy(self):
        self.assertJsonError(self.get(None, "/api"), 401, "ClientCertificateNotFound")
        self.assertNothingReached(self.be)

    def test_bypass_route_passes_valid_client_with_success(self):
        self.assertPassed(self.get("valid-client", "/open"), "valid-client", path="/open")

    def test_bypass_route_passes_expired_client_with_failed_verdict(self):
        self.assertPassed(
            self.get("expired-client", "/open"),
            "expired-client",
            verify="FAILED:ClientCertificateExpired",
            path="/open",
        )

    def test_bypass_route_passes_not_yet_valid_client_with_failed_verdict(self):
        self.assertPassed(
            self.get("notyetvalid-client", "/open"),
            "notyetvalid-client",
            verify="FAILED:ClientCertificateNotYetValid",
            path="/open",
        )

    def test_bypass_route_passes_untrusted_client_with_failed_verdict(self):
        self.assertPassed(
            self.get("untrusted-client", "/open"),
            "untrusted-client",
            verify="FAILED:ClientCertificateNotTrusted",
            path="/open",
        )

    def test_bypass_route_passes_no_certificate_with_verify_none(self):
        self.assertPassedWithoutCert(self.get(None, "/open"), path="/open")


class IgnoreModeTest(_ModeCase):
    MODE = "ignore"

    def test_no_certificate_is_requested(self):
        rc, out = s_client(self.port, "-msg", client="valid-client",
                           data=get_request(f"localhost:{self.port}"))
        self.assertIn("HTTP/1.1 200", out)
        self.assertNotIn("CertificateRequest", out)

    def test_client_with_certificate_is_forwarded_as_verify_none(self):
        self.assertPassedWithoutCert(self.get("valid-client"))

    def test_expired_client_passes_because_nothing_is_checked(self):
        self.assertPassedWithoutCert(self.get("expired-client"))


class EchoBackendTest(CertgateTestCase):
    """The builtin echo backend reports what a backend would receive."""

    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port, cls.plain = free_port(), free_port()
        routes = [
            {"match": {"path_prefix": "/real"}, "backend": "app"},
            {"match": {"path_prefix": "/"}, "backend": "echo"},
        ]
        cls.class_certgate(
            config(
                [
                    listener("mtls", cls.port, "require", routes=routes),
                    listener("tls", cls.plain, "ignore", backend="echo"),
                ],
                cls.be.url,
            ),
            [cls.port, cls.plain],
        )

    def setUp(self):
        super().setUp()
        self.be.clear()

    def echo(self, path, *args, port=None, client="valid-client"):
        res = curl(f"https://localhost:{port or self.port}{path}", *args, client=client)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.header("Content-Type").split(";")[0], "application/json")
        return res.json()

    def test_echo_reports_method_target_and_identity(self):
        doc = self.echo("/x?y=1")
        f = cert_facts("valid-client")
        self.assertEqual(doc["method"], "GET")
        self.assertEqual(doc["target"], "/x?y=1")
        self.assertIn(["Host", f"localhost:{self.port}"], doc["headers"])
        self.assertEqual([v for k, v in doc["headers"] if k == "X-ARR-ClientCert"], [f["b64"]])
        self.assertEqual(
            doc["client"],
            {
                "verify": "SUCCESS",
                "subject": f["subject"],
                "issuer": f["issuer"],
                "serial": f["serial"],
                "sha1": f["sha1"],
                "sha256": f["sha256"],
                "not_before": f["not_before"],
                "not_after": f["not_after"],
            },
        )
        self.assertEqual(doc["body_bytes"], 0)
        self.assertEqual(
            doc["body_sha256"], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )

    def test_echo_hashes_the_request_body(self):
        body = bytes(range(256)) * 12
        res = curl(f"https://localhost:{self.port}/upload", "--data-binary", "@-",
                   client="valid-client", stdin=body)
        self.assertEqual(res.status, 200, res)
        doc = res.json()
        self.assertEqual(doc["method"], "POST")
        self.assertEqual(doc["body_bytes"], len(body))
        self.assertEqual(doc["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_echo_without_certificate_reports_verify_none(self):
        doc = self.echo("/x", port=self.plain, client=None)
        self.assertEqual(doc["client"], {"verify": "NONE"})
        self.assertEqual([k for k, v in doc["headers"] if k.lower() == "x-arr-clientcert"], [])

    def test_echo_headers_equal_what_a_real_backend_receives(self):
        doc = self.echo("/same", "-H", "X-Trace: 7")
        real = curl(f"https://localhost:{self.port}/real", "-H", "X-Trace: 7",
                    client="valid-client")
        self.assertEqual(real.status, 200, real)
        got = self.be.only().headers
        self.assertEqual([tuple(h) for h in doc["headers"]], got)

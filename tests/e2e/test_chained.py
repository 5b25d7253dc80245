"""Two certgates chained like seed 003's Application Gateway -> API Management
(SPEC §6): A terminates mTLS (require) and forwards the client certificate; B
is a plain-HTTP listener with the `header` certificate source, A's address as
its only trusted proxy, issuer pinning and an allowlist (CN Valid Client).

Two paths run side by side: A forwards X-ARR-ClientCert (base64-der) to a B
listener reading it with `format: auto`, and X-Client-Certificate
(pem-urlencoded, as App Gateway's {var_client_certificate}) to a B listener
reading exactly that format. A request sent straight to B with a forged
header is refused; one from outside trusted_proxies (a client bound to
127.0.0.2) has its header ignored.
"""

import socket
import subprocess
import urllib.parse

from clients import RawConn
from harness import (
    CertgateTestCase,
    b64,
    cert_facts,
    curl,
    free_port,
    inline_policy,
    key,
    listener,
    pem,
    scratch,
)

UNTRUSTED_PEER = "127.0.0.2"
CHAINS = {
    # name: (A's forward header, its format, B's client_cert format)
    "arr": ("X-ARR-ClientCert", "base64-der", "auto"),
    "agw": ("X-Client-Certificate", "pem-urlencoded", "pem-urlencoded"),
}
CUSTOM = "X-Gateway-Cert"
# what B forwards to the application, whatever it read
B_FORWARD = {
    "headers": [
        {"name": "X-ARR-ClientCert", "format": "base64-der"},
        {"name": "Client-Cert", "format": "rfc9440"},
    ],
    "identity_headers": True,
}
# every header a certgate of this test may add, and the ones it reads
CERT_HEADERS = (
    "X-ARR-ClientCert",
    "X-Client-Certificate",
    "Client-Cert",
    "X-Client-Cert-SHA1",
    "X-Client-Cert-SHA256",
    "X-Client-Cert-Subject",
)


def pem_urlencoded(der):
    text = subprocess.run(
        ["openssl", "x509", "-inform", "DER"], input=der, capture_output=True, check=True
    ).stdout.decode()
    return urllib.parse.quote(text, safe="-._~")


def encode(fmt, der):
    return b64(der) if fmt in ("auto", "base64-der") else pem_urlencoded(der)


def forged_valid_client(d):
    """A certificate an attacker can mint: subject "Valid Client", issuer named
    "CN=APIM Sample DEV Intermediate CA", signed by the attacker's own key."""

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, capture_output=True, check=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
        "-subj", "/CN=APIM Sample DEV Intermediate CA",
        "-addext", "basicConstraints=critical,CA:true")
    run("req", "-new", *ec, "-keyout", "leaf.key", "-out", "leaf.csr",
        "-subj", "/O=APIM Sample/OU=Demo Clients/CN=Valid Client")
    (d / "ext.cnf").write_text("extendedKeyUsage=clientAuth\nbasicConstraints=CA:false\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "30", "-extfile", "ext.cnf", "-out", "leaf.pem")
    return subprocess.run(
        ["openssl", "x509", "-in", str(d / "leaf.pem"), "-outform", "DER"],
        capture_output=True, check=True,
    ).stdout


class FromAddress(RawConn):
    """A plain RawConn whose socket is bound to <source> before it connects."""

    def __init__(self, port, source, timeout=5.0):
        self.timeout = timeout
        self.tls_error = None
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=timeout, source_address=(source, 0)
        )
        self.buf = b""
        self.eof = False


class ChainedGatewaysTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.a_ports = {k: free_port() for k in CHAINS}
        cls.b_ports = {k: free_port() for k in CHAINS}

        # B as in the demo: the listener's gate trusts DEV clients (issuer pinned),
        # the API route allows only Valid Client, /health bypasses.
        policies = {
            "dev-clients": {
                **inline_policy(),
                "allowed_issuers": ["CN=APIM Sample DEV Intermediate CA"],
            },
            "registered": {"inherit": "dev-clients", "allow": {"cn": ["Valid Client"]}},
        }
        b_lsts = []
        for k, (hname, _, b_fmt) in CHAINS.items():
            b_lsts.append(
                listener(
                    f"b-{k}", cls.b_ports[k], tls=False, forward=B_FORWARD,
                    client_cert={
                        "source": "header",
                        "header": hname,
                        "format": b_fmt,
                        "trusted_proxies": ["127.0.0.1/32"],
                        "policy": "dev-clients",
                    },
                    routes=[
                        {"match": {"path_prefix": "/health"}, "policy": "none", "backend": "app"},
                        {"match": {"path_prefix": "/"}, "policy": "registered", "backend": "app"},
                    ],
                )
            )
        # a header name no anti-spoofing list knows: only client_cert makes it special
        cls.b_ports["custom"] = free_port()
        b_lsts.append(
            listener(
                "b-custom", cls.b_ports["custom"], tls=False, forward=B_FORWARD,
                client_cert={
                    "source": "header",
                    "header": CUSTOM,
                    "format": "base64-der",
                    "trusted_proxies": ["127.0.0.1/32"],
                    "policy": "dev-clients",
                },
                routes=[{"match": {"path_prefix": "/"}, "policy": "none", "backend": "app"}],
            )
        )
        cls.b = cls.class_certgate(
            {"listeners": b_lsts, "policies": policies,
             "backends": {"app": {"servers": [cls.be.url]}}},
            list(cls.b_ports.values()), name="certgate-b",
        )

        a_lsts, a_backends = [], {}
        for k, (hname, a_fmt, _) in CHAINS.items():
            a_lsts.append(
                listener(
                    f"a-{k}", cls.a_ports[k], "require", backend=f"b-{k}",
                    forward={"headers": [{"name": hname, "format": a_fmt}],
                             "identity_headers": True},
                )
            )
            a_backends[f"b-{k}"] = {"servers": [f"http://127.0.0.1:{cls.b_ports[k]}"]}
        cls.a = cls.class_certgate(
            {"listeners": a_lsts, "backends": a_backends},
            list(cls.a_ports.values()), name="certgate-a",
        )
        cls.forged_der = forged_valid_client(scratch("forged"))

    def setUp(self):
        super().setUp()
        self.be.clear()

    # -- helpers --

    def via_a(self, k, client, path="/api"):
        return curl(f"https://localhost:{self.a_ports[k]}{path}", client=client)

    def straight_to_b(self, k, values, path="/api", source=None, names=None):
        """A raw request to B carrying one <k>-header line per value (named
        <names>[i] when given)."""
        names = names or [CUSTOM if k == "custom" else CHAINS[k][0]] * len(values)
        lines = "".join(f"{n}: {v}\r\n" for n, v in zip(names, values))
        req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.b_ports[k]}\r\n{lines}"
               f"Connection: close\r\n\r\n").encode()
        conn = FromAddress(self.b_ports[k], source) if source else RawConn(self.b_ports[k])
        with conn as c:
            c.send(req)
            res = c.read_response()
        self.assertIsNotNone(res, "B closed without answering")
        return res

    def assertReachedAs(self, name):
        """The backend got exactly one request, with B's headers for <name>."""
        req = self.be.only()
        f = cert_facts(name)
        self.assertEqual(req.header_values("X-ARR-ClientCert"), [f["b64"]])
        self.assertEqual(req.header_values("Client-Cert"), [f":{f['b64']}:"])
        self.assertEqual(req.header_values("X-Client-Certificate"), [])
        self.assertIdentityHeaders(req, name)
        return req

    def assertLogged(self, cg, code):
        """<cg>'s stderr names <code> (the rejection log line of SPEC §4)."""
        self.assertIn(code, cg.stderr_path.read_text(errors="replace"))

    # -- through A: seed 003's path --

    def test_valid_client_passes_both_and_backend_gets_bs_headers(self):
        for k in CHAINS:
            with self.subTest(k):
                self.be.clear()
                res = self.via_a(k, "valid-client")
                self.assertEqual(res.status, 200, res)
                req = self.assertReachedAs("valid-client")
                self.assertEqual(
                    req.header_values("X-Client-Cert-SHA1"), [cert_facts("valid-client")["sha1"]]
                )
                # B extends A's X-Forwarded-For (the client, then A) instead of replacing it
                self.assertEqual(req.header_values("X-Forwarded-For"), ["127.0.0.1, 127.0.0.1"])

    def test_forged_x_forwarded_for_from_an_untrusted_peer_is_replaced(self):
        k = next(iter(CHAINS))
        self.be.clear()
        res = self.straight_to_b(k, ["6.6.6.6"], path="/health", source=UNTRUSTED_PEER,
                                 names=["X-Forwarded-For"])
        self.assertEqual(res.status, 200, res)
        self.assertEqual(self.be.only().header_values("X-Forwarded-For"), [UNTRUSTED_PEER])

    def test_unregistered_client_passes_a_and_is_refused_by_bs_allowlist(self):
        for k in CHAINS:
            with self.subTest(k):
                res = self.via_a(k, "unregistered-client")
                self.assertJsonError(res, 403, "ClientCertificateIdentityNotMatched")
                self.assertNothingReached(self.be)
        self.assertLogged(self.b, "ClientCertificateIdentityNotMatched")
        self.assertNotIn(
            "ClientCertificateIdentityNotMatched", self.a.stderr_path.read_text(errors="replace")
        )

    def test_tst_client_passes_a_and_is_refused_by_bs_issuer_pinning(self):
        """A trusts the root (so the TST chain verifies there); B pins the DEV issuer."""
        chain = (pem("untrusted-client-chain"), key("untrusted-client"))
        for k in CHAINS:
            with self.subTest(k):
                res = self.via_a(k, chain)
                self.assertJsonError(res, 401, "ClientCertificateNotTrusted")
                self.assertNothingReached(self.be)
        self.assertLogged(self.b, "ClientCertificateNotTrusted")

    def test_health_route_of_b_lets_any_forwarded_client_through(self):
        for k in CHAINS:
            with self.subTest(k):
                self.be.clear()
                res = self.via_a(k, "unregistered-client", path="/health")
                self.assertEqual(res.status, 200, res)
                self.assertReachedAs("unregistered-client")

    # -- straight to B from 127.0.0.1 (a trusted address) with a forged header --

    def test_forged_value_that_is_no_certificate_is_malformed(self):
        for k in CHAINS:
            for value in ("forged", "TUlJQ2Zvcmdl", "%2D%2D%2D%2D%2DBEGIN"):
                with self.subTest(k=k, value=value):
                    res = self.straight_to_b(k, [value])
                    self.assertJsonError(res, 400, "ClientCertificateMalformed")
                    self.assertNothingReached(self.be, settle=0)
        self.assertNothingReached(self.be)

    def test_value_in_the_other_format_is_malformed_where_the_format_is_fixed(self):
        res = self.straight_to_b("agw", [cert_facts("valid-client")["b64"]])
        self.assertJsonError(res, 400, "ClientCertificateMalformed")
        self.assertNothingReached(self.be)

    def test_two_header_lines_are_malformed(self):
        for k in CHAINS:
            with self.subTest(k):
                v = encode(CHAINS[k][2], cert_facts("valid-client")["der"])
                res = self.straight_to_b(k, [v, v])
                self.assertJsonError(res, 400, "ClientCertificateMalformed")
                self.assertNothingReached(self.be)

    def test_empty_value_from_the_gateway_means_no_certificate(self):
        for k in CHAINS:
            with self.subTest(k):
                self.be.clear()
                res = self.straight_to_b(k, [""])
                self.assertJsonError(res, 401, "ClientCertificateNotFound")
                self.assertNothingReached(self.be)

    def test_real_certificate_of_an_untrusted_issuer_is_not_trusted(self):
        for k in CHAINS:
            with self.subTest(k):
                v = encode(CHAINS[k][2], cert_facts("untrusted-client")["der"])
                res = self.straight_to_b(k, [v])
                self.assertJsonError(res, 401, "ClientCertificateNotTrusted")
                self.assertNothingReached(self.be)

    def test_self_made_valid_client_with_the_dev_issuer_name_is_not_trusted(self):
        for k in CHAINS:
            with self.subTest(k):
                res = self.straight_to_b(k, [encode(CHAINS[k][2], self.forged_der)])
                self.assertJsonError(res, 401, "ClientCertificateNotTrusted")
                self.assertNothingReached(self.be)

    def test_a_trusted_address_is_believed(self):
        """Why trusted_proxies must name only the gateway: from 127.0.0.1 a
        header with the real valid certificate is taken as A's."""
        for k in CHAINS:
            with self.subTest(k):
                self.be.clear()
                v = encode(CHAINS[k][2], cert_facts("valid-client")["der"])
                res = self.straight_to_b(k, [v])
                self.assertEqual(res.status, 200, res)
                self.assertReachedAs("valid-client")

    def test_auto_reads_every_format_a_gateway_in_front_may_send(self):
        f = cert_facts("valid-client")
        xfcc = (f'Hash={f["sha256"].lower()};Cert="{pem_urlencoded(f["der"])}";'
                f'Subject="{f["subject"]}"')
        values = {
            "base64-der": f["b64"],
            "pem-urlencoded": pem_urlencoded(f["der"]),
            "hex": f["der"].hex().upper(),
            "rfc9440": f":{f['b64']}:",
            "xfcc": xfcc,
        }
        for fmt, v in values.items():
            with self.subTest(fmt):
                self.be.clear()
                res = self.straight_to_b("arr", [v])
                self.assertEqual(res.status, 200, res)
                self.assertReachedAs("valid-client")

    def test_each_request_on_a_kept_alive_connection_carries_its_own_certificate(self):
        """A pools its connections to B: one B connection serves many clients,
        so nothing B learnt from one request may stick to the next."""
        host = f"Host: 127.0.0.1:{self.b_ports['arr']}\r\n"
        steps = [
            ("/api", cert_facts("valid-client")["b64"], 200, None),
            ("/api", cert_facts("unregistered-client")["b64"], 403,
             "ClientCertificateIdentityNotMatched"),
            ("/api", None, 401, "ClientCertificateNotFound"),
            ("/api", "forged", 400, "ClientCertificateMalformed"),
        ]
        with RawConn(self.b_ports["arr"]) as c:
            for path, value, status, code in steps:
                line = f"X-ARR-ClientCert: {value}\r\n" if value else ""
                c.send(f"GET {path} HTTP/1.1\r\n{host}{line}\r\n".encode())
                res = c.read_response()
                self.assertIsNotNone(res, f"B closed before answering {value!r}")
                if code:
                    self.assertJsonError(res, status, code)
                else:
                    self.assertEqual(res.status, status, res)
                if status == 400:
                    break  # a Malformed answer may close the connection
        self.assertReachedAs("valid-client")

    def test_a_bypass_request_after_a_certified_one_on_the_same_connection_has_none(self):
        host = f"Host: 127.0.0.1:{self.b_ports['arr']}\r\n"
        valid = cert_facts("valid-client")["b64"]
        with RawConn(self.b_ports["arr"]) as c:
            c.send(f"GET /health HTTP/1.1\r\n{host}X-ARR-ClientCert: {valid}\r\n\r\n".encode())
            first = c.read_response()
            c.send(f"GET /health HTTP/1.1\r\n{host}\r\n".encode())
            second = c.read_response()
        self.assertEqual((first.status, second.status), (200, 200))
        got = self.be.wait_for(2)
        self.assertEqual(len(got), 2, got)
        self.assertEqual(got[0].header_values("X-Client-Cert-Verify"), ["SUCCESS"])
        self.assertEqual(got[0].header_values("X-ARR-ClientCert"), [valid])
        self.assertEqual(got[1].header_values("X-Client-Cert-Verify"), ["NONE"])
        for h in CERT_HEADERS:
            self.assertEqual(got[1].header_values(h), [], h)

    # -- straight to B from 127.0.0.2, outside trusted_proxies --

    def test_header_from_an_untrusted_peer_is_ignored(self):
        valid = cert_facts("valid-client")
        for k in CHAINS:
            with self.subTest(k):
                v = encode(CHAINS[k][2], valid["der"])
                res = self.straight_to_b(k, [v], source=UNTRUSTED_PEER)
                body = self.assertJsonError(res, 401, "ClientCertificateNotFound")
                # the person who sees the 401 learns why the header did not count
                self.assertIn(f"from {UNTRUSTED_PEER} was ignored", body["detail"])
                self.assertIn("trusted_proxies", body["detail"])
                self.assertNothingReached(self.be)

    def test_malformed_or_repeated_header_from_an_untrusted_peer_is_ignored_too(self):
        for k in CHAINS:
            for values in (["forged"], ["forged", "forged"]):
                with self.subTest(k=k, values=values):
                    res = self.straight_to_b(k, values, source=UNTRUSTED_PEER)
                    self.assertJsonError(res, 401, "ClientCertificateNotFound")
                    self.assertNothingReached(self.be, settle=0)
        self.assertNothingReached(self.be)

    def test_untrusted_peers_header_is_stripped_on_a_bypass_route(self):
        valid = cert_facts("valid-client")
        for k in CHAINS:
            with self.subTest(k):
                self.be.clear()
                v = encode(CHAINS[k][2], valid["der"])
                res = self.straight_to_b(k, [v], path="/health", source=UNTRUSTED_PEER)
                self.assertEqual(res.status, 200, res)
                req = self.be.only()
                self.assertEqual(req.header_values("X-Client-Cert-Verify"), ["NONE"])
                for h in CERT_HEADERS:
                    self.assertEqual(req.header_values(h), [], h)
                leaked = [(n, x) for n, x in req.headers if v in x or valid["b64"] in x]
                self.assertEqual(leaked, [])
                self.assertEqual(req.header_values("X-Forwarded-For"), [UNTRUSTED_PEER])

    def test_a_header_name_of_ones_own_is_stripped_too(self):
        """B reads X-Gateway-Cert, a name on no anti-spoofing list: from an
        untrusted peer every spelling of it is dropped, and from the trusted
        one it is consumed, not passed on."""
        v = cert_facts("valid-client")["b64"]
        spellings = [CUSTOM, CUSTOM.lower(), CUSTOM.replace("-", "_")]
        res = self.straight_to_b("custom", [v] * 3, path="/u", source=UNTRUSTED_PEER,
                                 names=spellings)
        self.assertEqual(res.status, 200, res)
        req = self.be.only()
        self.assertEqual(req.header_values("X-Client-Cert-Verify"), ["NONE"])
        self.assertEqual([(n, x) for n, x in req.headers if v in x], [])

        self.be.clear()
        res = self.straight_to_b("custom", [v], path="/t")
        self.assertEqual(res.status, 200, res)
        req = self.assertReachedAs("valid-client")
        self.assertEqual(req.header_values(CUSTOM), [])

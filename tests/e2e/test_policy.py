"""Named policies end to end (SPEC §4, §7, §8): the demo matrix in require and
request mode, issuer pinning against a sibling intermediate, allowlists per
route, per-reason status, the verdict cache across reconnections, and the
alert that names the cause."""

import shutil
import signal
import subprocess
import time

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
    scratch,
)

DEV_DN = "CN=APIM Sample DEV Intermediate CA"


def chain(name):
    """Clients present leaf + intermediate, so the TST client's chain is
    complete and only issuer pinning can refuse it."""
    return (pem(name + "-chain"), key(name))


def policies():
    return {
        "dev-clients": {
            "trusted_ca": [pem("root-ca")],
            "intermediates": [pem("dev-intermediate")],
            "allowed_issuers": [DEV_DN],
            "max_depth": 3,
            "require_client_auth_eku": True,
            "revocation": {"mode": "crl", "crl": [pem("dev.crl")]},
        },
        "registered": {
            "inherit": "dev-clients",
            "allow": {"cn": ["Valid Client"]},
        },
        "by-thumbprint": {
            "inherit": "dev-clients",
            # colons and lower case are allowed in configured thumbprints
            "allow": {"sha1": [":".join(cert_facts("valid-client")["sha1"].lower()[i:i + 2]
                                        for i in range(0, 40, 2))]},
            "status": {"ClientCertificateIdentityNotMatched": 404},
        },
    }


# SPEC §8: (client, status, reason) under policy `registered` in require mode.
MATRIX = [
    ("valid-client", 200, None),
    ("unregistered-client", 403, "ClientCertificateIdentityNotMatched"),
    ("expired-client", 401, "ClientCertificateExpired"),
    ("notyetvalid-client", 401, "ClientCertificateNotYetValid"),
    ("untrusted-client", 401, "ClientCertificateNotTrusted"),
    ("revoked-client", 401, "ClientCertificateRevoked"),
    (None, 401, "ClientCertificateNotFound"),
]


class PolicyMatrixTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.req_port, cls.pass_port = free_port(), free_port()
        require = listener(
            "require", cls.req_port, "require",
            routes=[
                {"match": {"path_prefix": "/health"}, "policy": "none", "backend": "app"},
                {"match": {"path_prefix": "/thumb"}, "policy": "by-thumbprint", "backend": "app"},
                {"match": {"path_prefix": "/"}, "policy": "registered", "backend": "app"},
            ],
        )
        require["tls"]["client_auth"] = {"mode": "require", "policy": "dev-clients"}
        passthrough = listener(
            "request", cls.pass_port, "request",
            routes=[
                {"match": {"path_prefix": "/open"}, "policy": "none", "backend": "app"},
                {"match": {"path_prefix": "/"}, "policy": "registered", "backend": "app"},
            ],
        )
        passthrough["tls"]["client_auth"] = {"mode": "request", "policy": "dev-clients"}
        cfg = config([require, passthrough], cls.be.url, policies=policies())
        cls.class_certgate(cfg, [cls.req_port, cls.pass_port])

    def setUp(self):
        super().setUp()
        self.be.clear()

    def get(self, port, client, path="/api"):
        return curl(f"https://localhost:{port}{path}", client=chain(client) if client else None)

    def check_matrix(self, port):
        for client, status, reason in MATRIX:
            with self.subTest(client=client):
                self.be.clear()
                res = self.get(port, client)
                if reason is None:
                    self.assertEqual(res.status, 200, res)
                    req = self.be.only()
                    self.assertForwardedCert(req, client)
                    self.assertEqual(req.header_values("X-Client-Cert-Verify"), ["SUCCESS"])
                else:
                    self.assertJsonError(res, status, reason)
                    self.assertNothingReached(self.be, settle=0.05)

    def test_require_mode_gives_every_demo_client_its_verdict(self):
        self.check_matrix(self.req_port)

    def test_request_mode_route_policy_gives_the_same_verdicts(self):
        self.check_matrix(self.pass_port)

    def test_request_mode_bypass_route_tells_the_backend_each_outcome(self):
        want = {
            "valid-client": "SUCCESS",
            "unregistered-client": "SUCCESS",  # the gate (dev-clients) has no allowlist
            "expired-client": "FAILED:ClientCertificateExpired",
            "notyetvalid-client": "FAILED:ClientCertificateNotYetValid",
            "untrusted-client": "FAILED:ClientCertificateNotTrusted",
            "revoked-client": "FAILED:ClientCertificateRevoked",
            None: "NONE",
        }
        for client, verify in want.items():
            with self.subTest(client=client):
                self.be.clear()
                res = self.get(self.pass_port, client, "/open")
                self.assertEqual(res.status, 200, res)
                req = self.be.only()
                self.assertEqual(req.header_values("X-Client-Cert-Verify"), [verify])
                if client:
                    self.assertForwardedCert(req, client)

    def test_bypass_route_on_require_listener_skips_the_allowlist_only(self):
        res = self.get(self.req_port, "unregistered-client", "/health")
        self.assertEqual(res.status, 200, res)
        self.assertForwardedCert(self.be.only(), "unregistered-client")
        # the listener's gate still stands on a bypass route
        self.be.clear()
        self.assertJsonError(self.get(self.req_port, "expired-client", "/health"), 401,
                             "ClientCertificateExpired")

    def test_thumbprint_allowlist_with_colons_and_custom_status(self):
        res = self.get(self.req_port, "valid-client", "/thumb")
        self.assertEqual(res.status, 200, res)
        self.be.clear()
        body = self.assertJsonError(self.get(self.req_port, "unregistered-client", "/thumb"), 404,
                                    "ClientCertificateIdentityNotMatched")
        self.assertIn("Unregistered Client", body["detail"])

    def test_sibling_intermediate_detail_names_the_issuer(self):
        body = self.assertJsonError(self.get(self.req_port, "untrusted-client"), 401,
                                    "ClientCertificateNotTrusted")
        self.assertIn("TST Intermediate", body["detail"])

    def test_reconnecting_client_gets_the_same_verdict_each_time(self):
        for _ in range(5):
            self.be.clear()
            self.assertEqual(self.get(self.req_port, "valid-client").status, 200)
            self.assertJsonError(self.get(self.req_port, "unregistered-client"), 403,
                                 "ClientCertificateIdentityNotMatched")

    def test_rejection_is_logged_with_subject_and_sha256(self):
        self.get(self.req_port, "expired-client")
        cg = self._class_procs[0]
        log = cg.stderr_path.read_text()
        facts = cert_facts("expired-client")
        lines = [ln for ln in log.splitlines() if "ClientCertificateExpired" in ln]
        self.assertTrue(lines, log[-2000:])
        self.assertIn(facts["sha256"], lines[-1])
        self.assertIn("CN=Expired Client", lines[-1])


class PolicyAlertTest(CertgateTestCase):
    """on_failure: alert with a policy: the alert names the cause."""

    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port = free_port()
        lst = listener("alert", cls.port, "require")
        lst["tls"]["client_auth"] = {"mode": "require", "policy": "registered",
                                     "on_failure": "alert"}
        cls.class_certgate(config([lst], cls.be.url, policies=policies()), [cls.port])

    def alert_of(self, client):
        cert, k = chain(client)
        _, out = s_client(self.port, "-cert", cert, "-key", k,
                          data=b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        return out

    def test_revoked_client_gets_certificate_revoked(self):
        self.assertIn("alert certificate revoked", self.alert_of("revoked-client"))
        # the alert carries no text: the log says who and why
        log = self._class_procs[0].stderr_path.read_text()
        lines = [ln for ln in log.splitlines() if "ClientCertificateRevoked" in ln]
        self.assertTrue(lines, log[-2000:])
        self.assertIn(cert_facts("revoked-client")["sha256"], lines[-1])

    def test_sibling_intermediate_gets_unknown_ca(self):
        self.assertIn("alert unknown ca", self.alert_of("untrusted-client"))

    def test_unregistered_client_gets_bad_certificate(self):
        self.assertIn("alert bad certificate", self.alert_of("unregistered-client"))

    def test_valid_client_is_served(self):
        self.assertIn("HTTP/1.1 200", self.alert_of("valid-client"))


class PolicyReloadTest(CertgateTestCase):
    """SIGHUP swaps the whole configuration: a changed policy applies to the
    next request on a connection opened before the reload, and a broken file
    keeps the old configuration serving."""

    def config_text(self, allowed_cn):
        pol = policies()
        pol["registered"]["allow"] = {"cn": [allowed_cn]}
        lst = listener("mtls", self.port, "require",
                       routes=[{"match": {"path_prefix": "/"}, "policy": "registered",
                                "backend": "app"}])
        lst["tls"]["client_auth"] = {"mode": "require", "policy": "dev-clients"}
        from harness import to_yaml
        return to_yaml(config([lst], self.be.url, policies=pol))

    def setUp(self):
        super().setUp()
        self.be = self.backend()
        self.port = free_port()
        self.cg = self.certgate(self.config_text("Valid Client"), [self.port])

    def reload(self, text):
        self.cg.config_path.write_text(text)
        before = self.cg.stderr_path.read_text()
        self.cg.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            log = self.cg.stderr_path.read_text()[len(before):]
            if "reloaded" in log or "reload failed" in log:
                time.sleep(0.2)  # every worker takes it on its next loop turn
                return log
            time.sleep(0.05)
        self.fail("no reload line in the log")

    def ask(self, conn):
        conn.send(b"GET /api HTTP/1.1\r\nHost: localhost\r\n\r\n")
        return conn.read_response()

    def test_changed_allowlist_applies_to_an_open_connection(self):
        with RawConn(self.port, tls=True, client="valid-client") as c:
            self.assertEqual(self.ask(c).status, 200)
            log = self.reload(self.config_text("Unregistered Client"))
            self.assertIn("reloaded", log)
            res = self.ask(c)
            self.assertEqual(res.status, 403, res)
            self.assertEqual(res.json()["error"], "ClientCertificateIdentityNotMatched")
        # and new connections get the new policy too
        res = curl(f"https://localhost:{self.port}/api", client=chain("unregistered-client"))
        self.assertEqual(res.status, 200, res)

    def test_broken_file_keeps_the_old_configuration(self):
        log = self.reload("listeners: [oops\n")
        self.assertIn("reload failed", log)
        self.assertIn("certgate.yaml:", log)  # file:line:column of the problem
        res = curl(f"https://localhost:{self.port}/api", client=chain("valid-client"))
        self.assertEqual(res.status, 200, res)
        self.assertJsonError(curl(f"https://localhost:{self.port}/api",
                                  client=chain("unregistered-client")),
                             403, "ClientCertificateIdentityNotMatched")


class VerdictCacheTest(CertgateTestCase):
    """A client that reconnects again and again pays path building once per
    worker and policy; time is still applied on every request."""

    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port, cls.admin = free_port(), free_port()
        lst = listener("mtls", cls.port, "require",
                       routes=[{"match": {"path_prefix": "/"}, "policy": "registered",
                                "backend": "app"}])
        lst["tls"]["client_auth"] = {"mode": "require", "policy": "dev-clients"}
        cfg = config([lst], cls.be.url, policies=policies(),
                     admin={"address": f"127.0.0.1:{cls.admin}"})
        cls.class_certgate(cfg, [cls.port, cls.admin])

    def counters(self):
        res = curl(f"http://127.0.0.1:{self.admin}/metrics", cacert=None)
        self.assertEqual(res.status, 200)
        vals = {}
        for line in res.body.decode().splitlines():
            if line.startswith("certgate_verdict_cache_"):
                name, value = line.split()
                vals[name] = int(value)
        return vals["certgate_verdict_cache_hits_total"], vals["certgate_verdict_cache_misses_total"]

    def test_reconnections_reuse_the_judgement(self):
        hits0, misses0 = self.counters()
        n = 8
        for _ in range(n):  # a new curl process: a new connection and a full handshake
            self.assertEqual(curl(f"https://localhost:{self.port}/x",
                                  client=chain("valid-client")).status, 200)
        hits, misses = self.counters()
        # two policies judge each request (gate + route) in at most 2 workers
        self.assertLessEqual(misses - misses0, 4)
        self.assertGreaterEqual(hits - hits0, 2 * n - 4)
        self.assertEqual((hits - hits0) + (misses - misses0), 2 * n)

    def test_cached_judgement_still_applies_time(self):
        for _ in range(3):
            self.assertJsonError(curl(f"https://localhost:{self.port}/x",
                                      client=chain("expired-client")),
                                 401, "ClientCertificateExpired")


class CrlRefreshTest(CertgateTestCase):
    """revocation: {crl_refresh} — a CRL file replaced on disk takes effect
    without a signal; scope: chain requires every CA's CRL."""

    def empty_crl(self, path):
        d = path.parent / "ca"
        d.mkdir()
        (d / "index.txt").write_text("")
        (d / "crlnumber").write_text("01\n")
        (d / "ca.cnf").write_text("[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\n"
                                  "crlnumber = crlnumber\ndefault_md = sha256\n"
                                  "default_crl_days = 30\n")
        subprocess.run(["openssl", "ca", "-config", "ca.cnf", "-gencrl",
                        "-keyfile", key("dev-intermediate"), "-cert", pem("dev-intermediate"),
                        "-out", str(path)], cwd=d, check=True, capture_output=True)

    def start(self, revocation):
        self.be = self.backend()
        self.port = free_port()
        pol = policies()
        pol["dev-clients"]["revocation"] = revocation
        lst = listener("mtls", self.port, "require")
        lst["tls"]["client_auth"] = {"mode": "require", "policy": "dev-clients"}
        self.cg = self.certgate(config([lst], self.be.url, policies=pol), [self.port])

    def get(self, client):
        return curl(f"https://localhost:{self.port}/x", client=chain(client))

    def test_replaced_crl_file_applies_without_a_signal(self):
        crl = scratch("crl") / "live.crl"
        self.empty_crl(crl)
        self.start({"mode": "crl", "crl": [str(crl)], "crl_refresh": "500ms"})
        self.assertEqual(self.get("revoked-client").status, 200)
        shutil.copy(pem("dev.crl"), crl)  # now it lists the revoked client
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            res = self.get("revoked-client")
            if res.status != 200:
                break
            time.sleep(0.3)
        self.assertJsonError(res, 401, "ClientCertificateRevoked")
        self.assertIn("a CRL file changed", self.cg.stderr_path.read_text())
        self.assertEqual(self.get("valid-client").status, 200)

    def test_scope_chain_needs_every_cas_crl(self):
        # dev.crl covers the leaf's issuer; nothing covers the root's children
        self.start({"mode": "crl", "crl": [pem("dev.crl")], "scope": "chain"})
        self.assertJsonError(self.get("valid-client"), 401,
                             "ClientCertificateRevocationUnknown")

    def test_scope_leaf_needs_only_the_leafs(self):
        self.start({"mode": "crl", "crl": [pem("dev.crl")], "scope": "leaf"})
        self.assertEqual(self.get("valid-client").status, 200)
        self.assertJsonError(self.get("revoked-client"), 401, "ClientCertificateRevoked")

    def test_fail_open_lets_an_unknown_status_in(self):
        self.start({"mode": "crl", "crl": [pem("dev.crl")], "scope": "chain", "fail": "open"})
        self.assertEqual(self.get("valid-client").status, 200)
        # a known revocation is still refused
        self.assertJsonError(self.get("revoked-client"), 401, "ClientCertificateRevoked")

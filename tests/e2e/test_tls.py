"""TLS behaviour (SPEC §3, §9): SNI, certificate types and sources, protocol
versions, renegotiation, Host vs SNI, and session resumption keeping the
client identity."""

import contextlib
import json
import os
import re
import ssl
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
    wait_port,
)

P12_ENV = "CERTGATE_E2E_P12_PASSWORD"
# An OpenSSL 3.0 client refuses TLS < 1.2 unless told otherwise (and Debian's
# openssl.cnf says MinProtocol TLSv1.2): lift both, so only the server decides.
OLD_TLS_ARGS = ["-cipher", "DEFAULT@SECLEVEL=0"]


@contextlib.contextmanager
def openssl_server(*args, env=None):
    """A control `openssl s_server` on a free port, to prove that a client
    command really can do what certgate must refuse."""
    port = free_port()
    cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}",
           "-cert", pem("server"), "-key", key("server"), *args]
    # stdin stays open: s_server stops when its stdin reaches EOF.
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
    try:
        if not wait_port(port, 5, alive=lambda: p.poll() is None):
            raise AssertionError(f"control s_server did not start: {cmd}")
        yield port
    finally:
        p.kill()
        p.wait()


def old_tls_env():
    d = scratch("sslconf")
    (d / "openssl.cnf").write_text("# empty: no system MinProtocol\n")
    return {"OPENSSL_CONF": str(d / "openssl.cnf")}


def server_hellos(out):
    return len(re.findall(r"<<< TLS 1\.2, Handshake \[length [0-9a-f]+\], ServerHello\n", out))


def http_json(out):
    """The JSON body of the first HTTP response in s_client output."""
    i = out.find("HTTP/1.1 ")
    if i < 0:
        raise AssertionError(f"no HTTP response in s_client output:\n{out}")
    j = out.find("{", i)
    return json.JSONDecoder().raw_decode(out[j:])[0]


class TlsTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.p = {k: free_port() for k in ("main", "ec", "dual", "p12file", "p12env", "opt")}
        rsa = {"cert": pem("server"), "key": key("server")}
        ec = {"cert": pem("server-ec"), "key": key("server-ec")}
        other = {"cert": pem("other"), "key": key("other")}
        p12 = pem("server.p12")
        routes = [
            {"match": {"path_prefix": "/echo"}, "backend": "echo"},
            {"match": {"path_prefix": "/"}, "backend": "app"},
        ]
        lsts = [
            listener("main", cls.p["main"], "require", certs=[rsa, other], routes=routes),
            listener("ec", cls.p["ec"], "ignore", certs=[ec]),
            listener("dual", cls.p["dual"], "ignore", certs=[rsa, ec]),
            listener("p12file", cls.p["p12file"], "ignore",
                     certs=[{"pkcs12": p12, "password_file": pem("server.p12.pass")}]),
            listener("p12env", cls.p["p12env"], "ignore",
                     certs=[{"pkcs12": p12, "password_env": P12_ENV}]),
            listener("opt", cls.p["opt"], "optional", routes=routes),
        ]
        cls.class_certgate(config(lsts, cls.be.url), list(cls.p.values()),
                           env={P12_ENV: "demo-pass"})

    def setUp(self):
        super().setUp()
        self.be.clear()

    def peer_der(self, port, servername="localhost", client=None):
        with RawConn(port, tls=True, servername=servername, client=client) as c:
            return c.sock.getpeercert(binary_form=True)

    def get_ok(self, port, client=None):
        with RawConn(port, tls=True, client=client) as c:
            c.send(f"GET /t HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
            res = c.read_response()
        self.assertEqual(res.status, 200, res)
        return res

    # --- certificate selection ---

    def test_sni_localhost_selects_the_localhost_certificate(self):
        der = self.peer_der(self.p["main"], "localhost", "valid-client")
        self.assertEqual(der, cert_facts("server")["der"])

    def test_sni_other_localhost_selects_the_other_certificate(self):
        der = self.peer_der(self.p["main"], "other.localhost", "valid-client")
        self.assertEqual(der, cert_facts("other")["der"])

    def test_ecdsa_p256_certificate_is_served(self):
        self.assertEqual(self.peer_der(self.p["ec"]), cert_facts("server-ec")["der"])
        self.get_ok(self.p["ec"])

    def test_rsa_and_ecdsa_on_one_listener_follow_client_signature_algorithms(self):
        req = b"GET /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        _, out = s_client(self.p["dual"], "-sigalgs", "ecdsa_secp256r1_sha256", data=req)
        self.assertIn("Peer signature type: ECDSA", out)
        self.assertIn("Server public key is 256 bit", out)
        _, out = s_client(self.p["dual"], "-sigalgs", "rsa_pss_rsae_sha256", data=req)
        self.assertIn("Peer signature type: RSA-PSS", out)
        self.assertIn("Server public key is 2048 bit", out)

    def test_pkcs12_with_password_file_is_served(self):
        self.assertEqual(self.peer_der(self.p["p12file"]), cert_facts("server")["der"])
        self.get_ok(self.p["p12file"])

    def test_pkcs12_with_password_env_is_served(self):
        self.assertEqual(self.peer_der(self.p["p12env"]), cert_facts("server")["der"])
        self.get_ok(self.p["p12env"])

    # --- Host and SNI ---

    def test_host_differing_from_sni_gets_421(self):
        port = self.p["main"]
        res = curl(f"https://other.localhost:{port}/x", "-H", f"Host: localhost:{port}",
                   client="valid-client", resolve=f"other.localhost:{port}:127.0.0.1")
        self.assertJsonError(res, 421, "MisdirectedRequest")
        self.assertNothingReached(self.be)

    def test_host_matching_sni_passes(self):
        port = self.p["main"]
        res = curl(f"https://other.localhost:{port}/x", client="valid-client",
                   resolve=f"other.localhost:{port}:127.0.0.1")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(self.be.only().header_values("Host"), [f"other.localhost:{port}"])

    def test_connection_without_sni_is_not_host_checked(self):
        port = self.p["main"]
        res = curl(f"https://127.0.0.1:{port}/x", "-H", "Host: other.localhost",
                   client="valid-client")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(self.be.only().header_values("Host"), ["other.localhost"])

    # --- protocol versions and renegotiation ---

    def assertOldTlsRefused(self, flag, proto):
        env = old_tls_env()
        req = b"GET / HTTP/1.0\r\n\r\n"
        with openssl_server("-www", *OLD_TLS_ARGS, env=env) as control:
            _, out = s_client(control, flag, *OLD_TLS_ARGS, data=req, env=env)
            self.assertIn(f"Protocol  : {proto}\n", out, "control: the client cannot speak it")
            self.assertNotIn("Cipher is (NONE)", out, "control: the client cannot speak it")
        _, out = s_client(self.p["ec"], flag, *OLD_TLS_ARGS, data=req, env=env)
        # A failed handshake still prints the version it tried in SSL-Session.
        self.assertIn("New, (NONE), Cipher is (NONE)", out)
        self.assertNotIn("HTTP/1.", out)

    def test_tls_1_0_is_refused(self):
        self.assertOldTlsRefused("-tls1", "TLSv1")

    def test_tls_1_1_is_refused(self):
        self.assertOldTlsRefused("-tls1_1", "TLSv1.1")

    def test_tls_1_2_is_accepted(self):
        with RawConn(self.p["ec"], tls=True, max_version=ssl.TLSVersion.TLSv1_2) as c:
            self.assertEqual(c.sock.version(), "TLSv1.2")

    def test_tls_1_3_is_negotiated_by_default(self):
        with RawConn(self.p["ec"], tls=True) as c:
            self.assertEqual(c.sock.version(), "TLSv1.3")

    def test_client_renegotiation_is_refused(self):
        chunks = [(b"R\n", 1.5)]
        with openssl_server("-client_renegotiation") as control:
            _, out = s_client(control, "-tls1_2", "-msg", chunks=chunks, timeout=4,
                              ign_eof=False)
            self.assertEqual(server_hellos(out), 2, "control: renegotiation not detected")
        _, out = s_client(self.p["ec"], "-tls1_2", "-msg", chunks=chunks, timeout=4,
                          ign_eof=False)
        self.assertIn("RENEGOTIATING", out)
        self.assertEqual(server_hellos(out), 1, out)
        self.get_ok(self.p["ec"])  # and certgate is still serving

    # --- resumption keeps the identity ---

    def resumed_pair(self, version_flag, client, path="/echo/r", port=None, require_reuse=True):
        port = port or self.p["main"]
        sess = scratch("sess") / "s.pem"
        req = f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
        outs = []
        for io in ("-sess_out", "-sess_in"):
            _, out = s_client(port, version_flag, io, str(sess), client=client,
                              data=req.encode())
            outs.append(out)
            time.sleep(0.05)
        self.assertRegex(outs[0], r"\nNew, TLSv1\.[23]")
        if require_reuse:
            self.assertRegex(outs[1], r"\nReused, TLSv1\.[23]", "session was not resumed")
        return outs

    def assertSameIdentity(self, outs):
        f = cert_facts("valid-client")
        for out in outs:
            client = http_json(out)["client"]
            self.assertEqual(client["verify"], "SUCCESS")
            self.assertEqual(client["sha256"], f["sha256"])
            self.assertEqual(client["subject"], f["subject"])

    def test_resumed_tls12_session_keeps_the_client_identity(self):
        self.assertSameIdentity(self.resumed_pair("-tls1_2", "valid-client"))

    def test_resumed_tls13_session_keeps_the_client_identity(self):
        self.assertSameIdentity(self.resumed_pair("-tls1_3", "valid-client"))

    def test_resumed_session_forwards_the_same_certificate_to_the_backend(self):
        self.resumed_pair("-tls1_3", "valid-client", path="/backend")
        reqs = self.be.wait_for(2)
        self.assertEqual(len(reqs), 2)
        for req in reqs:
            self.assertForwardedCert(req, "valid-client")
            self.assertIdentityHeaders(req, "valid-client")

    def test_resumed_session_of_an_expired_client_is_still_expired(self):
        # optional mode: the handshake without a certificate would pass, so a
        # resumed session that lost its certificate would show up as 200.
        outs = self.resumed_pair("-tls1_3", "expired-client", path="/backend",
                                 port=self.p["opt"], require_reuse=False)
        # certgate resumes it (the ticket carries the chain) and judges it again
        self.assertIn("\nReused, ", outs[1])
        for out in outs:
            self.assertIn("HTTP/1.1 401", out)
            self.assertEqual(http_json(out)["error"], "ClientCertificateExpired")
        self.assertNothingReached(self.be)

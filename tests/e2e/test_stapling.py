"""OCSP stapling of certgate's own server certificates (tls.ocsp_stapling).

Server certificates are issued per test by the demo PKI's DEV intermediate
(whose delegated responder certificate signs the answers), with an AIA OCSP URL
naming a real `openssl ocsp` responder on 127.0.0.1 (test_ocsp_daemon's
Responder, over an index this file writes). `openssl s_client -status` shows
what certgate staples; `-msg` shows whether a CertificateStatus message was
sent at all."""

import secrets
import signal
import time

from harness import (
    CertgateTestCase,
    certgate_check,
    config,
    curl,
    free_port,
    key,
    listener,
    pem,
    s_client,
    scratch,
)
from test_ocsp_daemon import Responder
from upstreams import _run_openssl

STAPLED = "OCSP Response Status: successful"
NOT_STAPLED = "OCSP response: no response sent"
WAIT = 30.0  # generous bound for a staple to appear; a pass takes well under a second


class StaplePki:
    """Server certificates under the DEV intermediate, and the responder's index of them."""

    def __init__(self):
        self.dir = scratch("staple-pki")
        self.index = self.dir / "index.txt"
        self.index.write_text("")

    def issue(self, name, aia=None, cn="localhost", san="DNS:localhost, IP:127.0.0.1",
              revoked=False):
        """A certificate <name> (chain file: leaf + DEV intermediate) listed in the index as
        valid or revoked. Returns {cert (the chain), key, leaf, serial}."""
        d = self.dir
        serial = "1" + secrets.token_hex(8).upper()[1:]  # 16 digits: as openssl prints it
        ext = ["basicConstraints = critical, CA:false", "keyUsage = critical, digitalSignature",
               "extendedKeyUsage = serverAuth", f"subjectAltName = {san}",
               "subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid"]
        if aia:
            ext.append(f"authorityInfoAccess = OCSP;URI:{aia}")
        (d / f"{name}.ext").write_text("[ v3 ]\n" + "\n".join(ext) + "\n")
        _run_openssl(d, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj",
                     f"/O=certgate tests/CN={cn}")
        _run_openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", pem("dev-intermediate"),
                     "-CAkey", key("dev-intermediate"), "-set_serial", "0x" + serial, "-days",
                     "365", "-sha256", "-extfile", f"{name}.ext", "-extensions", "v3", "-out",
                     f"{name}.pem")
        chain = d / f"{name}-chain.pem"
        chain.write_text((d / f"{name}.pem").read_text() + open(pem("dev-intermediate")).read())
        expiry = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() + 365 * 86400))
        revoked_at = time.strftime("%y%m%d%H%M%SZ", time.gmtime()) + ",keyCompromise"
        with self.index.open("a") as f:
            f.write(f"{'R' if revoked else 'V'}\t{expiry}\t{revoked_at if revoked else ''}\t"
                    f"{serial}\tunknown\t/O=certgate tests/CN={cn}\n")
        return {"cert": str(chain), "key": str(d / f"{name}.key"),
                "leaf": str(d / f"{name}.pem"), "serial": serial}


def stapling_listener(name, port, certs, stapling=True):
    lst = listener(name, port, mode=None,
                   certs=[{"cert": c["cert"], "key": c["key"]} for c in certs])
    lst["tls"]["ocsp_stapling"] = stapling
    return lst


class StaplingTest(CertgateTestCase):
    def setUp(self):
        super().setUp()
        self.pki = StaplePki()

    def responder(self, port=0):
        r = Responder(index=str(self.pki.index), port=port)
        self.addCleanup(r.stop)
        return r

    def start(self, certs, stapling=True, admin=None):
        self.port = free_port()
        extra = {"admin": {"address": f"127.0.0.1:{admin}"}} if admin else {}
        cfg = config([stapling_listener("web", self.port, certs, stapling)], **extra)
        return self.certgate(cfg, [self.port] + ([admin] if admin else []))

    def status(self, *args, servername="localhost"):
        """s_client -status against the listener; the whole output."""
        rc, out = s_client(self.port, "-status", *args, servername=servername, ign_eof=False,
                           timeout=20)
        self.assertEqual(rc, 0, out)
        self.assertIn("Verify return code: 0 (ok)", out)  # the handshake completed
        return out

    def wait_staple(self, *args, servername="localhost", timeout=WAIT):
        """s_client -status until a response is stapled (bounded); its output."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.status(*args, servername=servername)
            if STAPLED in out:
                return out
            if time.monotonic() > deadline:
                self.fail(f"nothing stapled within {timeout}s:\n{out}")
            time.sleep(0.2)

    def assertStapled(self, out, cert, status="good"):
        """The response s_client printed is about <cert> and says <status>."""
        self.assertIn(f"{STAPLED} (0x0)", out)
        data = out.split("OCSP Response Data:", 1)[1].split("Signature Algorithm:", 1)[0]
        self.assertIn(f"      Serial Number: {cert['serial']}\n    Cert Status: {status}\n", data)

    def test_good_response_stapled_tls13(self):
        r = self.responder()
        cert = self.pki.issue("good", aia=r.url)
        self.start([cert])
        out = self.wait_staple("-tls1_3")
        self.assertIn("New, TLSv1.3, Cipher is", out)
        self.assertStapled(out, cert)

    def test_good_response_stapled_tls12(self):
        r = self.responder()
        cert = self.pki.issue("good", aia=r.url)
        self.start([cert])
        out = self.wait_staple("-tls1_2")
        self.assertIn("New, TLSv1.2, Cipher is", out)
        self.assertStapled(out, cert)

    def test_revoked_certificate_staples_revoked_and_logs_an_error(self):
        r = self.responder()
        cert = self.pki.issue("revoked", aia=r.url, revoked=True)
        cg = self.start([cert])
        out = self.wait_staple("-tls1_3")
        self.assertStapled(out, cert, status="revoked")
        self.assertIn("Revocation Reason: keyCompromise (0x1)", out)
        logs = cg.stderr_path.read_text()
        self.assertIn('"level":"error"', logs)
        self.assertIn("the server certificate is revoked", logs)

    def test_responder_down_at_start_then_up(self):
        port = free_port()
        cert = self.pki.issue("late", aia=f"http://127.0.0.1:{port}")
        cg = self.start([cert], stapling={"retry": "1s"})
        deadline = time.monotonic() + WAIT
        while "no OCSP response to staple" not in cg.stderr_path.read_text():
            self.assertLess(time.monotonic(), deadline, cg.logs())
            time.sleep(0.1)
        # nothing to staple: the handshake goes on without it, and the request is served
        for version in ("-tls1_3", "-tls1_2"):
            self.assertIn(NOT_STAPLED, self.status(version))
        res = curl(f"https://localhost:{self.port}/")
        self.assertEqual(res.status, 200)
        self.assertIn("cannot be reached", cg.stderr_path.read_text())
        r = self.responder(port)
        out = self.wait_staple("-tls1_3")  # retried every second: no restart, no reload
        self.assertStapled(out, cert)
        self.assertGreaterEqual(r.queries, 1)

    def test_responder_override(self):
        r = self.responder()
        cert = self.pki.issue("noaia")  # no AIA at all: only the override names a responder
        self.start([cert], stapling={"responder": r.url, "timeout": "5s"})
        self.assertStapled(self.wait_staple("-tls1_3"), cert)
        self.assertGreaterEqual(r.queries, 1)

    def test_override_wins_over_the_aia(self):
        r = self.responder()
        dead = f"http://127.0.0.1:{free_port()}"
        cert = self.pki.issue("deadaia", aia=dead)
        self.start([cert], stapling={"responder": r.url})
        self.assertStapled(self.wait_staple("-tls1_2"), cert)

    def test_client_that_does_not_ask_gets_no_staple(self):
        r = self.responder()
        cert = self.pki.issue("good", aia=r.url)
        self.start([cert])
        self.wait_staple("-tls1_2")  # a response is ready to staple
        rc, asked = s_client(self.port, "-status", "-msg", "-tls1_2", ign_eof=False)
        self.assertEqual(rc, 0, asked)
        self.assertIn("CertificateStatus", asked)
        rc, plain = s_client(self.port, "-msg", "-tls1_2", ign_eof=False)
        self.assertEqual(rc, 0, plain)
        self.assertIn("Verify return code: 0 (ok)", plain)
        self.assertNotIn("CertificateStatus", plain)

    def test_stapling_off_by_default(self):
        r = self.responder()
        cert = self.pki.issue("good", aia=r.url)
        self.port = free_port()
        lst = listener("web", self.port, mode=None,
                       certs=[{"cert": cert["cert"], "key": cert["key"]}])
        self.certgate(config([lst]), [self.port])
        time.sleep(0.5)
        self.assertIn(NOT_STAPLED, self.status("-tls1_3"))
        self.assertEqual(r.queries, 0)

    def test_each_sni_certificate_staples_its_own(self):
        r = self.responder()
        a = self.pki.issue("a", aia=r.url)
        b = self.pki.issue("b", aia=r.url, cn="other.test", san="DNS:other.test",
                           revoked=True)
        self.start([a, b])
        out = self.wait_staple("-tls1_3")
        self.assertStapled(out, a, "good")
        self.assertNotIn(b["serial"], out)
        out = self.wait_staple("-tls1_3", servername="other.test")
        self.assertStapled(out, b, "revoked")
        self.assertNotIn(a["serial"], out)

    def test_two_listeners_sharing_a_certificate_both_staple(self):
        r = self.responder()
        cert = self.pki.issue("good", aia=r.url)
        self.port, other = free_port(), free_port()
        cfg = config([stapling_listener("web", self.port, [cert], True),
                      stapling_listener("web2", other, [cert], True)])
        self.certgate(cfg, [self.port, other])
        for port in (self.port, other):
            with self.subTest(port=port):
                self.port = port
                self.assertStapled(self.wait_staple("-tls1_3"), cert)

    def test_reload_of_the_same_certificate_staples_at_once(self):
        r = self.responder()
        cert = self.pki.issue("good", aia=r.url)
        cg = self.start([cert])
        self.assertStapled(self.wait_staple("-tls1_3"), cert)
        r.stop()  # the responder is gone: only the previous generation's response can serve
        cg.signal(signal.SIGHUP)
        deadline = time.monotonic() + WAIT
        while "configuration reloaded" not in cg.stderr_path.read_text():
            self.assertLess(time.monotonic(), deadline, cg.logs())
            time.sleep(0.1)
        self.assertStapled(self.status("-tls1_3"), cert)

    def test_metrics(self):
        r = self.responder()
        cert = self.pki.issue("good", aia=r.url)
        admin = free_port()
        self.start([cert], admin=admin)
        self.wait_staple("-tls1_3")
        body = curl(f"http://127.0.0.1:{admin}/metrics", cacert=None).body.decode()
        self.assertIn(
            f'certgate_ocsp_staple_valid{{listener="web",certificate="CN=localhost,'
            f'O=certgate tests",serial="{cert["serial"]}"}} 1\n', body)
        fetches = [line for line in body.splitlines()
                   if line.startswith("certgate_ocsp_stapling_fetches_total ")]
        self.assertEqual(fetches, ["certgate_ocsp_stapling_fetches_total 1"])
        self.assertIn("certgate_ocsp_queries_total 0\n", body)  # client-side OCSP is apart


class StaplingConfigTest(CertgateTestCase):
    def check(self, stapling_yaml, cert):
        text = (
            "listeners:\n"
            "  - name: web\n"
            "    address: 127.0.0.1:1\n"
            "    tls:\n"
            f"      certificates: [{{cert: {cert['cert']}, key: {cert['key']}}}]\n"
            f"      ocsp_stapling: {stapling_yaml}\n"
        )
        return certgate_check(text)

    def test_certificate_without_responder_is_refused_at_load(self):
        cert = StaplePki().issue("noaia")
        rc, out, err, path = self.check("true", cert)
        self.assertEqual(rc, 1, out)
        self.assertEqual(
            err.strip(),
            f"{path}:6:22: listener 'web': ocsp_stapling: certificate "
            "'CN=localhost,O=certgate tests' has no OCSP responder (no AIA OCSP URL); set "
            "tls.ocsp_stapling.responder")

    def test_certificate_without_its_issuer_is_refused_at_load(self):
        cert = StaplePki().issue("alone", aia="http://127.0.0.1:9/")
        cert["cert"] = cert["leaf"]  # the leaf alone: no intermediate after it
        rc, out, err, path = self.check("{responder: 'http://127.0.0.1:9'}", cert)
        self.assertEqual(rc, 1, out)
        self.assertTrue(err.startswith(
            f"{path}:6:22: listener 'web': ocsp_stapling: the issuer of certificate "
            "'CN=localhost,O=certgate tests' is not available"), err)

    def test_unknown_key(self):
        cert = StaplePki().issue("good", aia="http://127.0.0.1:9/")
        rc, out, err, path = self.check("{responder: 'http://127.0.0.1:9', timout: 5s}", cert)
        self.assertEqual(rc, 1, out)
        self.assertEqual(
            err.strip(),
            f"{path}:6:56: unknown key 'timout' in 'ocsp_stapling' (valid keys: responder, "
            "timeout, retry)")

    def test_valid_configuration_checks(self):
        cert = StaplePki().issue("good", aia="http://127.0.0.1:9/")
        rc, out, err, _ = self.check("true", cert)
        self.assertEqual((rc, err), (0, ""), out)

"""CRLs fetched from the client certificate's CRL distribution point (issue 5):
`revocation: {mode: crl, crl_fetch: true}`. A PKI of its own, made with
`openssl ca`, whose clients name http://127.0.0.1:<port>/ca.crl; the CRL is made
with `openssl ca -gencrl` and served by a small counting HTTP server. The same
PKI and server drive `certgate verify --crl-fetch` (VerifyCrlFetchTest)."""

import datetime
import json
import subprocess
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import (
    BINARY,
    CertgateTestCase,
    config,
    curl,
    free_port,
    listener,
    scratch,
)


def _run(*args, cwd):
    r = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{r.stderr}")


class CrlPki:
    """Root CA -> clients good, revoked (keyCompromise), and a stranger CA of the
    same name (for a CRL signed by the wrong key). Clients carry a CRL
    distribution point at http://127.0.0.1:<port>/ca.crl."""

    def __init__(self, port):
        self.dir = scratch("crlpki")
        d = self.dir
        self.url = f"http://127.0.0.1:{port}/ca.crl"
        for ca in ("ca", "stranger"):
            (d / ca).mkdir()
            (d / ca / "index.txt").write_text("")
            (d / ca / "serial").write_text("1000\n")
            (d / ca / "crlnumber").write_text("1000\n")
            (d / f"{ca}.cnf").write_text(f"""
[ ca ]
default_ca = this
[ this ]
dir = {d / ca}
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 30
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_client ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
crlDistributionPoints = URI:{self.url}
[ v3_nodp ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[ crl_ext ]
authorityKeyIdentifier = keyid:always
""")
            _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{ca}.key", "-out",
                 f"{ca}.pem", "-subj", "/CN=CRL Test CA", "-days", "3650", "-config",
                 f"{ca}.cnf", "-extensions", "v3_ca", cwd=d)
        for name, ext in (("good", "v3_client"), ("revoked", "v3_client"),
                          ("nodp", "v3_nodp")):
            _run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key", "-out",
                 f"{name}.csr", "-subj", f"/CN=CRL {name} client", "-config", "ca.cnf", cwd=d)
            _run("openssl", "ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.pem",
                 "-keyfile", "ca.key", "-in", f"{name}.csr", "-out", f"{name}.pem",
                 "-extensions", ext, "-days", "365", cwd=d)
        _run("openssl", "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile",
             "ca.key", "-revoke", "revoked.pem", "-crl_reason", "keyCompromise", cwd=d)
        self.crl = self.gencrl("ca")
        self.stranger_crl = self.gencrl("stranger")

    def gencrl(self, ca, *extra):
        out = self.dir / f"{ca}-{time.monotonic_ns()}.crl"
        _run("openssl", "ca", "-batch", "-config", f"{ca}.cnf", "-cert", f"{ca}.pem",
             "-keyfile", f"{ca}.key", "-gencrl", "-crlexts", "crl_ext", "-out", str(out),
             *extra, cwd=self.dir)
        der = subprocess.run(["openssl", "crl", "-in", str(out), "-outform", "DER"],
                             capture_output=True, check=True).stdout
        return der

    def client(self, name):
        return (str(self.dir / f"{name}.pem"), str(self.dir / f"{name}.key"))


class CrlServer:
    """Serves one CRL body at /ca.crl; counts fetches; can hold answers."""

    def __init__(self, port, body):
        self.body = body
        self.status = 200
        self.delay = 0.0
        self.fetches = 0
        self.requests = []  # request lines, in order
        srv_self = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                srv_self.fetches += 1
                srv_self.requests.append(self.requestline)
                if srv_self.delay:
                    time.sleep(srv_self.delay)
                if self.path != "/ca.crl" or srv_self.status != 200:
                    self.send_response(404 if self.path != "/ca.crl" else srv_self.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(srv_self.body)))
                self.end_headers()
                self.wfile.write(srv_self.body)

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", port), H)
        self.srv.daemon_threads = True
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


class CrlFetchTest(CertgateTestCase):
    def setUp(self):
        super().setUp()
        self.crl_port = free_port()
        self.pki = CrlPki(self.crl_port)

    def serve(self, body=None):
        s = CrlServer(self.crl_port, self.pki.crl if body is None else body)
        self.addCleanup(s.stop)
        return s

    def start(self, fail="closed", cache="1m", timeout="2s"):
        self.be = self.backend()
        self.port, self.admin = free_port(), free_port()
        lst = listener("mtls", self.port, "require")
        lst["tls"]["client_auth"] = {"mode": "require", "policy": "fetched"}
        policies = {"fetched": {
            "trusted_ca": [str(self.pki.dir / "ca.pem")],
            "revocation": {"mode": "crl", "crl_fetch": True, "fail": fail, "cache": cache,
                           "crl_timeout": timeout},
        }}
        cfg = config([lst], self.be.url, policies=policies,
                     admin={"address": f"127.0.0.1:{self.admin}"})
        self.cg = self.certgate(cfg, [self.port, self.admin])

    def get(self, name, timeout=30):
        return curl(f"https://localhost:{self.port}/x", client=self.pki.client(name),
                    timeout=timeout)

    def metric(self, name):
        res = curl(f"http://127.0.0.1:{self.admin}/metrics", cacert=None)
        for line in res.body.decode().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        self.fail(f"no {name}")

    def test_good_passes_and_revoked_is_refused_with_its_reason(self):
        srv = self.serve()
        self.start()
        self.assertEqual(self.get("good").status, 200)
        body = self.assertJsonError(self.get("revoked"), 401, "ClientCertificateRevoked")
        self.assertIn("CN=CRL revoked client", body["detail"])
        self.assertIn("keyCompromise", body["detail"])
        self.assertEqual(len(self.be.requests()), 1)  # only the good client reached it
        self.assertEqual(srv.fetches, 1)  # one fetch served both

    def test_crl_is_cached_across_connections(self):
        srv = self.serve()
        self.start()
        for _ in range(5):
            self.assertEqual(self.get("good").status, 200)
        self.assertEqual(srv.fetches, 1)
        self.assertEqual(self.metric("certgate_crl_fetches_total"), 1)

    def test_concurrent_first_requests_share_one_fetch(self):
        srv = self.serve()
        srv.delay = 0.5  # every client arrives while the fetch runs
        self.start()
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.get("good").status))
                   for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * 6)
        self.assertEqual(srv.fetches, 1)

    def test_crl_signed_by_another_key_is_refused(self):
        self.serve(self.pki.stranger_crl)  # same issuer name, another key
        self.start()
        body = self.assertJsonError(self.get("good"), 401, "ClientCertificateRevocationUnknown")
        self.assertIn("signature is not the key of 'CN=CRL Test CA'", body["detail"])

    def test_server_down_fails_closed_and_open(self):
        self.start()  # nothing listens on the distribution point's port
        body = self.assertJsonError(self.get("good"), 401, "ClientCertificateRevocationUnknown")
        self.assertIn(f"http://127.0.0.1:{self.crl_port}/ca.crl", body["detail"])
        self.assertIn("cannot be reached", body["detail"])

    def test_server_down_with_fail_open_lets_in_and_counts(self):
        self.start(fail="open")
        self.assertEqual(self.get("good").status, 200)
        self.assertEqual(self.metric("certgate_revocation_fail_open_total"), 1)

    def test_not_found_and_not_a_crl_are_unknown(self):
        srv = self.serve(b"this is not a CRL")
        self.start(cache="1s")
        body = self.assertJsonError(self.get("good"), 401, "ClientCertificateRevocationUnknown")
        self.assertIn("is not a CRL", body["detail"])
        srv.status = 404
        time.sleep(5.5)  # a failure is remembered for 5 s
        body = self.assertJsonError(self.get("good"), 401, "ClientCertificateRevocationUnknown")
        self.assertIn("answered HTTP 404", body["detail"])

    def test_slow_server_times_out(self):
        srv = self.serve()
        srv.delay = 3
        self.start(timeout="500ms")
        t0 = time.monotonic()
        body = self.assertJsonError(self.get("good"), 401, "ClientCertificateRevocationUnknown")
        self.assertLess(time.monotonic() - t0, 2.5)
        self.assertIn("did not answer within 500ms", body["detail"])

    def test_expired_crl_is_unknown_but_a_revocation_stays(self):
        stale = self.pki.gencrl("ca", "-crl_lastupdate", "20200101000000Z",
                                "-crl_nextupdate", "20200201000000Z")
        self.serve(stale)
        self.start()
        body = self.assertJsonError(self.get("good"), 401, "ClientCertificateRevocationUnknown")
        self.assertIn("expired on 2020-02-01T00:00:00Z", body["detail"])
        self.assertJsonError(self.get("revoked"), 401, "ClientCertificateRevoked")

    def test_client_without_distribution_point_is_unknown(self):
        self.serve()
        self.start()
        body = self.assertJsonError(self.get("nodp"), 401, "ClientCertificateRevocationUnknown")
        self.assertIn("names no CRL distribution point", body["detail"])

    def test_refresh_after_cache_time_picks_up_a_new_revocation(self):
        srv = self.serve()
        self.start(cache="1s")
        self.assertEqual(self.get("good").status, 200)
        # the CA revokes "good" and publishes a new CRL
        _run("openssl", "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile",
             "ca.key", "-revoke", "good.pem", "-crl_reason", "superseded", cwd=self.pki.dir)
        srv.body = self.pki.gencrl("ca")
        time.sleep(1.2)
        # the first request after the cache time may still see the old CRL (it is refreshed
        # in the background); a later one sees the new
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            status = self.get("good").status
            if status == 401:
                break
            time.sleep(0.2)
        self.assertEqual(status, 401)
        self.assertGreaterEqual(srv.fetches, 2)


# --- certgate verify --crl-fetch ------------------------------------------------


def _iso(when, fmt):
    return datetime.datetime.strptime(when, fmt).strftime("%Y-%m-%dT%H:%M:%SZ")


class VerifyCrlFetchTest(unittest.TestCase):
    """`certgate verify --crl-fetch`: the CRL of the leaf's distribution point,
    fetched once per run (the server counts the GETs), its answer on the
    revocation line and in the verdict, exactly; and the exit status."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.crl_port = free_port()
        cls.pki = CrlPki(cls.crl_port)
        d = cls.pki.dir
        cls.url = cls.pki.url
        cls.crl_file = d / "ca-file.crl"  # the same CRL, for --crl FILE
        cls.crl_file.write_bytes(cls.pki.crl)
        out = subprocess.run(["openssl", "crl", "-inform", "DER", "-noout", "-nextupdate"],
                             input=cls.pki.crl, capture_output=True, check=True,
                             timeout=10).stdout.decode()
        cls.next_update = _iso(out.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y GMT")
        (line,) = [ln for ln in (d / "ca" / "index.txt").read_text().splitlines()
                   if ln.endswith("/CN=CRL revoked client")]
        when, why = line.split("\t")[2].split(",")
        cls.revoked_on = _iso(when, "%y%m%d%H%M%SZ")
        assert why == "keyCompromise", line

    def serve(self, body=None):
        s = CrlServer(self.crl_port, self.pki.crl if body is None else body)
        self.addCleanup(s.stop)
        return s

    def verify(self, *args, cert, ca="ca.pem", rc, timeout=30):
        argv = [BINARY, "verify", "--ca", str(self.pki.dir / ca), *args, self.pki.client(cert)[0]]
        started = time.monotonic()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        r.took = time.monotonic() - started
        report = f"$ {' '.join(argv)}\nexit {r.returncode}\n{r.stdout}{r.stderr}"
        self.assertEqual((r.returncode, r.stderr), (rc, ""), report)
        if "--json" not in args:
            rev = [ln for ln in r.stdout.splitlines() if ln.startswith("revocation  ")]
            verdict = [ln for ln in r.stdout.splitlines() if ln.startswith("verdict     ")]
            self.assertEqual((len(rev), len(verdict)), (1, 1), report)
            r.rev, r.verdict = rev[0], verdict[0]
        return r

    def assertRejected(self, r, reason, sentence, line=None):
        self.assertEqual((r.rev, r.verdict),
                         (f"revocation  FAIL  {line or sentence}",
                          f"verdict     REJECTED {reason} 401: {sentence}"))

    def subject(self, name):
        return f"CN=CRL {name} client"

    def good_sentence(self, name="good", fetched=True):
        s = (f"certificate '{self.subject(name)}' is not on the CRL of 'CN=CRL Test CA' "
             f"(next update {self.next_update}")
        return s + (f", fetched from {self.url})" if fetched else ")")

    def revoked_sentence(self, fetched=True):
        s = (f"certificate '{self.subject('revoked')}' was revoked on {self.revoked_on} "
             "(keyCompromise) according to the CRL of 'CN=CRL Test CA'")
        return s + (f" (fetched from {self.url})" if fetched else "")

    def unknown(self, rest, name="good"):
        return f"revocation status of '{self.subject(name)}' is unknown: {rest}"

    def test_good_client_is_not_on_the_fetched_crl(self):
        srv = self.serve()
        r = self.verify("--crl-fetch", cert="good", rc=0)
        self.assertEqual((r.rev, r.verdict),
                         (f"revocation  PASS  {self.good_sentence()}", "verdict     ACCEPTED"))
        self.assertEqual(srv.requests, ["GET /ca.crl HTTP/1.1"])

    def test_revoked_client_is_refused_with_its_reason(self):
        srv = self.serve()
        r = self.verify("--crl-fetch", cert="revoked", rc=1)
        self.assertRejected(r, "ClientCertificateRevoked", self.revoked_sentence())
        self.assertEqual(srv.requests, ["GET /ca.crl HTTP/1.1"])

    def test_json_carries_the_same_sentence(self):
        srv = self.serve()
        r = self.verify("--json", "--crl-fetch", cert="revoked", rc=1)
        doc = json.loads(r.stdout)
        (rev,) = [c for c in doc["checks"] if c["check"] == "revocation"]
        self.assertEqual((doc["reason"], doc["status"], doc["detail"], rev["outcome"],
                          rev["detail"], "ocsp" in doc),
                         ("ClientCertificateRevoked", 401, self.revoked_sentence(), "fail",
                          self.revoked_sentence(), False))
        self.assertEqual(srv.fetches, 1)

    def test_server_down_is_unknown_naming_the_url(self):
        # nothing listens on the distribution point's port
        r = self.verify("--crl-fetch", cert="good", rc=1)
        self.assertRejected(r, "ClientCertificateRevocationUnknown", self.unknown(
            f"the CRL distribution point at {self.url} cannot be reached (Connection refused)"))
        self.assertLess(r.took, 3)

    def test_slow_server_times_out_after_crl_timeout(self):
        srv = self.serve()
        srv.delay = 3
        r = self.verify("--crl-fetch", "--crl-timeout", "500ms", cert="good", rc=1)
        self.assertRejected(r, "ClientCertificateRevocationUnknown", self.unknown(
            f"the CRL distribution point at {self.url} did not answer within 500ms"))
        self.assertGreaterEqual(r.took, 0.45)
        self.assertLess(r.took, 2.5)
        self.assertEqual(srv.fetches, 1)

    def test_not_found_and_not_a_crl_are_unknown(self):
        srv = self.serve(b"this is not a CRL")
        r = self.verify("--crl-fetch", cert="good", rc=1)
        self.assertRejected(r, "ClientCertificateRevocationUnknown", self.unknown(
            f"the CRL distribution point at {self.url} sent a body that is not a CRL (neither "
            "one DER object nor PEM)"))
        srv.status = 404
        r = self.verify("--crl-fetch", cert="good", rc=1)
        self.assertRejected(r, "ClientCertificateRevocationUnknown", self.unknown(
            f"the CRL distribution point at {self.url} answered HTTP 404 (Not Found)"))
        self.assertEqual(srv.requests, ["GET /ca.crl HTTP/1.1"] * 2)

    def test_crl_signed_by_another_key_is_unknown(self):
        srv = self.serve(self.pki.stranger_crl)  # same issuer name, another key
        for name in ("good", "revoked"):  # such a CRL can neither vouch nor revoke
            r = self.verify("--crl-fetch", cert=name, rc=1)
            self.assertRejected(r, "ClientCertificateRevocationUnknown", self.unknown(
                f"the CRL distribution point at {self.url} sent a CRL that cannot be used: "
                "the CRL's signature is not the key of 'CN=CRL Test CA'", name=name))
        self.assertEqual(srv.fetches, 2)

    def test_certificate_without_distribution_point(self):
        srv = self.serve()
        r = self.verify("--crl-fetch", cert="nodp", rc=1)
        self.assertRejected(r, "ClientCertificateRevocationUnknown", self.unknown(
            "certificate 'CN=CRL nodp client' names no CRL distribution point with a URL; give "
            "its issuer's CRL with --crl FILE", name="nodp"))
        self.assertEqual(srv.requests, [])

    def test_no_chain_fetches_nothing(self):
        srv = self.serve()
        r = self.verify("--crl-fetch", cert="good", ca="stranger.pem", rc=1)
        self.assertEqual(r.rev, "revocation  SKIP  CRL not fetched: without a chain to a "
                                "trusted CA there is no issuer to check it with")
        self.assertTrue(r.verdict.startswith("verdict     REJECTED ClientCertificateNotTrusted "),
                        r.verdict)
        self.assertEqual(srv.requests, [])

    def test_with_a_crl_file_both_are_checked(self):
        """--crl FILE and --crl-fetch add up, as --crl and --ocsp do, and as crl: files next
        to crl_fetch: true do in the daemon: both sentences, a revocation from either
        refuses, either being unknown makes an OK unknown."""
        srv = self.serve()
        crl = ["--crl", str(self.crl_file), "--crl-fetch"]
        r = self.verify(*crl, cert="good", rc=0)
        self.assertEqual(r.rev, f"revocation  PASS  {self.good_sentence(fetched=False)}; "
                                f"{self.good_sentence()}")
        r = self.verify(*crl, cert="revoked", rc=1)
        self.assertRejected(r, "ClientCertificateRevoked", self.revoked_sentence(fetched=False),
                            line=f"{self.revoked_sentence(fetched=False)}; "
                                 f"{self.revoked_sentence()}")
        self.assertEqual(srv.fetches, 2)
        srv.stop()
        down = self.unknown(f"the CRL distribution point at {self.url} cannot be reached "
                            "(Connection refused)")
        r = self.verify(*crl, cert="good", rc=1)
        self.assertRejected(r, "ClientCertificateRevocationUnknown", down,
                            line=f"{self.good_sentence(fetched=False)}; {down}")

    def test_with_ocsp_too_both_are_asked(self):
        srv = self.serve()
        ocsp = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        r = self.verify("--crl-fetch", "--ocsp", ocsp, cert="good", rc=1)
        down = self.unknown(f"the OCSP responder at {ocsp} cannot be reached (Connection "
                            "refused)")
        self.assertRejected(r, "ClientCertificateRevocationUnknown", down,
                            line=f"{self.good_sentence()}; {down}")
        self.assertEqual(srv.fetches, 1)

    def test_usage_errors(self):
        for args, message in (
                (["--crl-timeout", "1s"], "--crl-timeout: needs --crl-fetch"),
                (["--crl-fetch", "--crl-timeout", "11m"],
                 "--crl-timeout: expected a duration from 1ms to 10m, such as 500ms or 5s, got "
                 "'11m'"),
                (["--crl-fetch=yes"], "--crl-fetch: takes no value")):
            with self.subTest(args=args):
                argv = [BINARY, "verify", "--ca", str(self.pki.dir / "ca.pem"), *args,
                        self.pki.client("good")[0]]
                r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
                self.assertEqual((r.returncode, r.stdout, r.stderr.splitlines()[0]),
                                 (2, "", f"certgate verify: {message}"), r.stderr)

    def test_policy_with_crl_fetch_fetches_as_the_daemon(self):
        path = scratch("verify-crl-fetch") / "certgate.yaml"
        path.write_text(
            "listeners:\n"
            "  - {name: web, address: \"127.0.0.1:18080\"}\n"
            "policies:\n"
            "  fetched:\n"
            f"    trusted_ca: [\"{self.pki.dir / 'ca.pem'}\"]\n"
            "    revocation: {mode: crl, crl_fetch: true, crl_timeout: 1s}\n"
            "  fetched-open:\n"
            "    inherit: fetched\n"
            "    revocation: {mode: crl, crl_fetch: true, fail: open}\n")
        cfg = ["-c", str(path), "--policy"]
        srv = self.serve()
        r = self.verify(*cfg, "fetched", cert="revoked", rc=1)
        self.assertRejected(r, "ClientCertificateRevoked", self.revoked_sentence())
        self.assertEqual(srv.fetches, 1)
        srv.stop()
        down = self.unknown(f"the CRL distribution point at {self.url} cannot be reached "
                            "(Connection refused)")
        r = self.verify(*cfg, "fetched", cert="good", rc=1)
        self.assertRejected(r, "ClientCertificateRevocationUnknown", down)
        r = self.verify(*cfg, "fetched-open", cert="good", rc=0)
        self.assertEqual((r.rev, r.verdict),
                         (f"revocation  FAIL  {down} (the policy has fail: open, so this does "
                          "not refuse the certificate)", "verdict     ACCEPTED"))

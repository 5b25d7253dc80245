"""`certgate verify --ocsp` against a real `openssl ocsp` responder on the demo
PKI (scripts/gen-pki.sh: dev-index.txt, ocsp.pem/ocsp.key, clients whose AIA
names http://127.0.0.1:8889): good, revoked, unknown, responder down, a
responder that never answers, a response signed by another CA's key, a
delegated responder, an expired response; and the policy's own CRLs and
`fail: open` under `certgate verify -c`.

Each test starts its own responder on a free port and kills it by PID when it
ends. Two quirks of openssl 3.0's responder shape the helpers: `-port` takes
a number only and listens on every interface, and a connection closed
without a request makes it spin forever, so readiness is read from its
"ACCEPT" line on stdout instead of probing the port.

The expired response is made two ways: (1) a response with thisUpdate and
nextUpdate in 2025, built here in Python (DER by hand, signed with the DEV
CA's key by `openssl dgst`) and served by a Python HTTP server, with the same
server and fresh dates as the control that the built response is otherwise
sound; (2) a real responder run with `-nmin 1`, judged with `--at` an hour
later (the response's window is checked at the time the verdict is for)."""

import datetime
import http.server
import json
import re
import socket
import subprocess
import threading
import time
import unittest

from harness import BINARY, SilentServer, free_port, key, pem, pki, scratch

DEV_DN = "CN=APIM Sample DEV Intermediate CA"
AIA_PORT = 8889
GOOD_RE = (r"^certificate '{subject}' is good according to the OCSP responder at {url} "
           r"\(next update \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$")


def subject(name):
    return f"CN={name},OU=Demo Clients,O=APIM Sample"


def unknown(name, rest):
    return f"revocation status of '{subject(name)}' is unknown: {rest}"


def verify(*args, timeout=30):
    argv = [BINARY, "verify", *args]
    started = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    r.took = time.monotonic() - started
    r.argv = argv
    return r


def dev(*args):
    return ["--ca", pem("root-ca"), "--untrusted", pem("dev-intermediate"), *args]


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Responder:
    """`openssl ocsp` serving an index on a free port, started and stopped by PID."""

    def __init__(self, test, index=None, signer="ocsp", extra=()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        d = scratch("ocsp-responder")
        self.out, self.log = d / "stdout", d / "stderr"
        argv = ["openssl", "ocsp", "-index", str(index or pki() / "dev-index.txt"),
                "-port", str(self.port), "-CA", pem("dev-intermediate"),
                "-rsigner", pem(signer), "-rkey", key(signer), *extra]
        with open(self.out, "wb") as out, open(self.log, "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)
        test.addCleanup(self.stop)
        deadline = time.monotonic() + 10
        while b"ACCEPT" not in self.out.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"openssl ocsp did not start: {self.log.read_text()}")
            time.sleep(0.02)

    def requests(self):
        """The first line of every request the responder received."""
        return re.findall(r"1st line: (.*)", self.log.read_text())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


# --- a response built by hand ---------------------------------------------------

SHA256_RSA = bytes.fromhex("2a864886f70d01010b")
OCSP_BASIC = bytes.fromhex("2b0601050507300101")


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def elements(der):
    """(tag, content, whole TLV) of each element in <der>."""
    out, i = [], 0
    while i < len(der):
        start, tag, n = i, der[i], der[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(der[i:i + k], "big")
            i += k
        out.append((tag, der[i:i + n], der[start:i + n]))
        i += n
    return out


def gentime(t):
    return tlv(0x18, time.strftime("%Y%m%d%H%M%SZ", time.gmtime(t)).encode())


def dev_subject_der():
    der = subprocess.run(["openssl", "x509", "-in", pem("dev-intermediate"), "-outform", "DER"],
                         capture_output=True, check=True, timeout=10).stdout
    tbs = elements(elements(der)[0][1])[0][1]
    fields = elements(tbs)
    if fields[0][0] == 0xA0:  # version
        fields = fields[1:]
    return fields[4][2]  # serial, signature, issuer, validity, subject


def built_response(request, this_update, next_update):
    """A basic response, status good, for the CertID of <request>, by the DEV CA itself."""
    tbs_request = elements(elements(request)[0][1])[0][1]
    request_list = [e for e in elements(tbs_request) if e[0] == 0x30][0][1]
    cert_id = elements(elements(request_list)[0][1])[0][2]
    single = tlv(0x30, cert_id + tlv(0x80, b"") + gentime(this_update)
                 + tlv(0xA0, gentime(next_update)))
    tbs = tlv(0x30, tlv(0xA1, dev_subject_der()) + gentime(this_update) + tlv(0x30, single))
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key("dev-intermediate")],
                         input=tbs, capture_output=True, check=True, timeout=10).stdout
    basic = tlv(0x30, tbs + tlv(0x30, tlv(0x06, SHA256_RSA) + b"\x05\x00")
                + tlv(0x03, b"\x00" + sig))
    return tlv(0x30, tlv(0x0A, b"\x00")
               + tlv(0xA0, tlv(0x30, tlv(0x06, OCSP_BASIC) + tlv(0x04, basic))))


class Built:
    """An HTTP responder answering every POST with built_response(dates)."""

    def __init__(self, test, this_update, next_update):
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                req = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = built_response(req, this_update, next_update)
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        test.addCleanup(self.stop)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# --- the tests ----------------------------------------------------------------


class OcspTestCase(unittest.TestCase):
    maxDiff = None

    def judge(self, *args, rc, reason, timeout=30):
        r = verify("--json", *args, timeout=timeout)
        self.assertEqual(r.returncode, rc, f"{' '.join(r.argv)}\n{r.stdout}\n{r.stderr}")
        self.assertEqual(r.stderr, "")
        doc = json.loads(r.stdout)
        self.assertEqual(doc["reason"], reason, json.dumps(doc, indent=1))
        doc["took"] = r.took
        doc["revocation"] = [c for c in doc["checks"] if c["check"] == "revocation"][0]
        return doc


class ResponderTest(OcspTestCase):
    def test_valid_client_is_good(self):
        o = Responder(self, extra=["-nmin", "5"])
        doc = self.judge(*dev("--ocsp", o.url, pem("valid-client")), rc=0, reason=None)
        self.assertEqual(doc["revocation"]["outcome"], "pass")
        self.assertRegex(doc["revocation"]["detail"],
                         GOOD_RE.format(subject=re.escape(subject("Valid Client")),
                                        url=re.escape(o.url)))
        self.assertEqual((doc["ocsp"]["responder"], doc["ocsp"]["status"],
                          doc["ocsp"]["revoked_at"], doc["ocsp"]["revocation_reason"]),
                         (o.url, "good", None, None))
        this = datetime.datetime.strptime(doc["ocsp"]["this_update"], "%Y-%m-%dT%H:%M:%SZ")
        nxt = datetime.datetime.strptime(doc["ocsp"]["next_update"], "%Y-%m-%dT%H:%M:%SZ")
        self.assertEqual((nxt - this).total_seconds(), 300)
        # POST by default, as `openssl ocsp` does
        self.assertEqual(o.requests(), ["POST / HTTP/1.1"])

    def test_get_when_it_fits(self):
        o = Responder(self)
        doc = self.judge(*dev("--ocsp", o.url, "--ocsp-get", pem("valid-client")), rc=0,
                         reason=None)
        self.assertEqual(doc["ocsp"]["status"], "good")
        self.assertIsNone(doc["ocsp"]["next_update"])
        self.assertTrue(doc["revocation"]["detail"].endswith("(no next update)"), doc)
        (line,) = o.requests()
        self.assertRegex(line, r"^GET /MG[A-Za-z0-9%]+ HTTP/1\.1$")

    def test_revoked_client(self):
        o = Responder(self)
        fields = [ln.split("\t") for ln in (pki() / "dev-index.txt").read_text().splitlines()]
        when, why = [f[2] for f in fields if f[5].endswith("CN=Revoked Client")][0].split(",")
        when = datetime.datetime.strptime(when, "%y%m%d%H%M%SZ").strftime("%Y-%m-%dT%H:%M:%SZ")
        doc = self.judge(*dev("--ocsp", o.url, pem("revoked-client")), rc=1,
                         reason="ClientCertificateRevoked")
        want = (f"certificate '{subject('Revoked Client')}' was revoked on {when} ({why}) "
                f"according to the OCSP responder at {o.url}")
        self.assertEqual((doc["detail"], doc["revocation"]["outcome"],
                          doc["revocation"]["detail"]), (want, "fail", want))
        self.assertEqual((doc["status"], doc["ocsp"]["status"], doc["ocsp"]["revoked_at"],
                          doc["ocsp"]["revocation_reason"]), (401, "revoked", when, why))

    def test_certificate_missing_from_the_index_is_unknown(self):
        index = scratch("ocsp-index") / "index.txt"
        lines = (pki() / "dev-index.txt").read_text().splitlines(keepends=True)
        index.write_text("".join(ln for ln in lines if not ln.endswith("CN=Valid Client\n")))
        o = Responder(self, index=index)
        doc = self.judge(*dev("--ocsp", o.url, pem("valid-client")), rc=1,
                         reason="ClientCertificateRevocationUnknown")
        self.assertEqual(doc["detail"], unknown(
            "Valid Client", f"the OCSP responder at {o.url} does not know the certificate "
                            "(status unknown)"))
        self.assertEqual(doc["ocsp"]["status"], "unknown")
        # the others are still answered
        self.judge(*dev("--ocsp", o.url, pem("unregistered-client")), rc=0, reason=None)

    def test_responder_down(self):
        url = f"http://127.0.0.1:{free_port()}"
        doc = self.judge(*dev("--ocsp", url, pem("valid-client")), rc=1,
                         reason="ClientCertificateRevocationUnknown")
        self.assertEqual(doc["detail"], unknown(
            "Valid Client", f"the OCSP responder at {url} cannot be reached "
                            "(Connection refused)"))
        self.assertEqual((doc["ocsp"]["responder"], doc["ocsp"]["status"]), (url, "error"))
        self.assertLess(doc["took"], 3)

    def test_slow_responder_times_out(self):
        s = SilentServer().start()
        self.addCleanup(s.stop)
        doc = self.judge(*dev("--ocsp", s.url, "--ocsp-timeout", "1s", pem("valid-client")),
                         rc=1, reason="ClientCertificateRevocationUnknown")
        self.assertEqual(doc["detail"], unknown(
            "Valid Client", f"the OCSP responder at {s.url} did not answer within 1s"))
        self.assertGreaterEqual(doc["took"], 0.95)
        self.assertLess(doc["took"], 5)
        doc = self.judge(*dev("--ocsp", s.url, "--ocsp-timeout", "300ms", pem("valid-client")),
                         rc=1, reason="ClientCertificateRevocationUnknown")
        self.assertTrue(doc["detail"].endswith("did not answer within 300ms"), doc)
        self.assertLess(doc["took"], 3)

    def test_response_signed_by_another_ca_is_refused(self):
        o = Responder(self, signer="tst-intermediate")
        doc = self.judge(*dev("--ocsp", o.url, pem("valid-client")), rc=1,
                         reason="ClientCertificateRevocationUnknown")
        self.assertEqual(doc["detail"], unknown(
            "Valid Client", f"the OCSP response from {o.url} is not signed by the issuer "
                            f"'{DEV_DN}' or its delegated responder (it is signed by "
                            "'CN=APIM Sample TST Intermediate CA')"))
        self.assertEqual(doc["ocsp"]["status"], "error")
        # revoked or not, such an answer cannot revoke either
        self.judge(*dev("--ocsp", o.url, pem("revoked-client")), rc=1,
                   reason="ClientCertificateRevocationUnknown")

    def test_delegated_responder_is_accepted(self):
        facts = subprocess.run(
            ["openssl", "x509", "-in", pem("ocsp"), "-noout", "-issuer", "-ext",
             "extendedKeyUsage", "-nameopt", "RFC2253"],
            capture_output=True, text=True, check=True, timeout=10).stdout
        self.assertIn(f"issuer={DEV_DN}", facts)
        self.assertIn("OCSP Signing", facts)
        o = Responder(self, signer="ocsp")
        self.judge(*dev("--ocsp", o.url, pem("valid-client")), rc=0, reason=None)
        # and the CA answering for itself
        o = Responder(self, signer="dev-intermediate")
        self.judge(*dev("--ocsp", o.url, pem("valid-client")), rc=0, reason=None)

    def test_issuer_certificate_without_ocsp_signing_is_refused(self):
        o = Responder(self, signer="unregistered-client")
        doc = self.judge(*dev("--ocsp", o.url, pem("valid-client")), rc=1,
                         reason="ClientCertificateRevocationUnknown")
        self.assertEqual(doc["detail"], unknown(
            "Valid Client", f"the OCSP response from {o.url} is signed by "
                            f"'{subject('Unregistered Client')}', a certificate of the issuer "
                            "without the OCSPSigning extended key usage, so not a delegated "
                            "responder"))

    def test_response_expired_when_judged(self):
        o = Responder(self, extra=["-nmin", "1"])
        later = rfc3339(time.time() + 3600)
        doc = self.judge(*dev("--ocsp", o.url, "--at", later, pem("valid-client")), rc=1,
                         reason="ClientCertificateRevocationUnknown")
        self.assertRegex(doc["detail"], "^" + re.escape(unknown(
            "Valid Client", f"the OCSP response from {o.url} expired on ")) +
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(its nextUpdate\)$")

    def test_aia_responder(self):
        """--ocsp alone asks the certificate's own responder (AIA: 127.0.0.1:8889)."""
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", AIA_PORT))
            except OSError:
                self.skipTest(f"port {AIA_PORT}, named by the demo clients' AIA, is taken")
        r = verify(*dev("--ocsp", pem("valid-client")))
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn(f"the OCSP responder at http://127.0.0.1:{AIA_PORT} cannot be reached",
                      r.stdout)

    def test_certificate_without_aia(self):
        doc = self.judge("--ca", pem("root-ca"), "--eku", "serverAuth", "--ocsp", pem("server"),
                         rc=1, reason="ClientCertificateRevocationUnknown")
        self.assertEqual(doc["detail"], "revocation status of 'CN=localhost,O=APIM Sample' is "
                                        "unknown: certificate 'CN=localhost,O=APIM Sample' "
                                        "names no OCSP responder (no OCSP URL in its "
                                        "authorityInfoAccess); name one with --ocsp URL")
        self.assertEqual((doc["ocsp"]["responder"], doc["ocsp"]["status"]), (None, "error"))

    def test_crl_and_ocsp_together(self):
        o = Responder(self)
        doc = self.judge(*dev("--crl", pem("dev.crl"), "--ocsp", o.url, pem("revoked-client")),
                         rc=1, reason="ClientCertificateRevoked")
        crl_part, ocsp_part = doc["revocation"]["detail"].split("; ")
        self.assertTrue(crl_part.endswith(f"according to the CRL of '{DEV_DN}'"), crl_part)
        self.assertTrue(ocsp_part.endswith(f"according to the OCSP responder at {o.url}"),
                        ocsp_part)
        doc = self.judge(*dev("--crl", pem("dev.crl"), "--ocsp", o.url, pem("valid-client")),
                         rc=0, reason=None)
        self.assertEqual(doc["revocation"]["outcome"], "pass")
        # an unreachable responder makes a CRL's OK unknown
        down = f"http://127.0.0.1:{free_port()}"
        self.judge(*dev("--crl", pem("dev.crl"), "--ocsp", down, pem("valid-client")), rc=1,
                   reason="ClientCertificateRevocationUnknown")

    def test_text_output(self):
        o = Responder(self)
        r = verify(*dev("--ocsp", o.url, pem("revoked-client")))
        self.assertEqual(r.returncode, 1, r.stdout)
        lines = r.stdout.splitlines()
        rev = [ln for ln in lines if ln.startswith("revocation  ")]
        self.assertEqual(len(rev), 1, r.stdout)
        self.assertRegex(rev[0], r"^revocation  FAIL  certificate 'CN=Revoked Client,.*' was "
                                 rf"revoked on .* according to the OCSP responder at {o.url}$")
        self.assertRegex(lines[-1], r"^verdict     REJECTED ClientCertificateRevoked 401: ")

    def test_no_chain_no_question(self):
        o = Responder(self)
        doc = self.judge("--ca", pem("root-ca"), "--ocsp", o.url, pem("valid-client"), rc=1,
                         reason="ClientCertificateNotTrusted")
        self.assertEqual((doc["revocation"]["outcome"], doc["revocation"]["detail"],
                          doc["ocsp"]["status"]),
                         ("skipped", "OCSP not asked: without a chain to a trusted CA there is "
                                     "no issuer to ask about", "skipped"))
        self.assertEqual(o.requests(), [])


class ExpiredResponseTest(OcspTestCase):
    """A response built here: only its dates differ between the two cases."""

    def test_fresh_built_response_is_good(self):
        now = time.time()
        b = Built(self, now - 60, now + 3600)
        doc = self.judge(*dev("--ocsp", b.url, pem("valid-client")), rc=0, reason=None)
        self.assertEqual(doc["ocsp"]["next_update"], rfc3339(now + 3600))

    def test_expired_response_is_refused(self):
        b = Built(self, 1735689600, 1735776000)  # 2025-01-01, 2025-01-02
        doc = self.judge(*dev("--ocsp", b.url, pem("valid-client")), rc=1,
                         reason="ClientCertificateRevocationUnknown")
        self.assertEqual(doc["detail"], unknown(
            "Valid Client", f"the OCSP response from {b.url} expired on "
                            "2025-01-02T00:00:00Z (its nextUpdate)"))
        self.assertEqual((doc["ocsp"]["status"], doc["ocsp"]["this_update"],
                          doc["ocsp"]["next_update"]),
                         ("error", "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"))


class UsageTest(unittest.TestCase):
    def assertUsage(self, args, message):
        r = verify(*args)
        self.assertEqual((r.returncode, r.stdout), (2, ""), r.stderr)
        self.assertEqual(r.stderr.splitlines()[0], f"certgate verify: {message}")

    def test_flags(self):
        self.assertUsage(dev("--ocsp-timeout", "1s", pem("valid-client")),
                         "--ocsp-timeout: needs --ocsp")
        self.assertUsage(dev("--ocsp-get", pem("valid-client")), "--ocsp-get: needs --ocsp")
        self.assertUsage(dev("--ocsp", "ftp://x/", pem("valid-client")),
                         "--ocsp: 'ftp://x/' cannot be used: only http:// URLs are supported")
        self.assertUsage(dev("--ocsp=https://x/", pem("valid-client")),
                         "--ocsp: 'https://x/' cannot be used: https is not supported: OCSP "
                         "answers are signed, and responders serve plain http://")
        self.assertUsage(dev("--ocsp", "--ocsp-timeout", "5", pem("valid-client")),
                         "--ocsp-timeout: expected a duration from 1ms to 10m, such as 500ms "
                         "or 5s, got '5'")
        self.assertUsage(dev("--ocsp", "--ocsp-timeout", "11m", pem("valid-client")),
                         "--ocsp-timeout: expected a duration from 1ms to 10m, such as 500ms "
                         "or 5s, got '11m'")
        self.assertUsage(dev("--ocsp=", pem("valid-client")), "--ocsp: needs a value")
        self.assertUsage(dev("--ocsp", "--ocsp", pem("valid-client")),
                         "--ocsp: given more than once")


class ConfigRevocationTest(OcspTestCase):
    """-c FILE --policy NAME takes the policy's CRLs and fail mode, as the gateway does."""

    @classmethod
    def setUpClass(cls):
        d = scratch("verify-revocation")
        cls.path = d / "certgate.yaml"
        cls.path.write_text(
            "listeners:\n"
            "  - {name: web, address: \"127.0.0.1:18080\"}\n"
            "policies:\n"
            "  closed:\n"
            f"    trusted_ca: [\"{pem('root-ca')}\"]\n"
            f"    intermediates: [\"{pem('dev-intermediate')}\"]\n"
            f"    revocation: {{mode: crl, crl: [\"{pem('dev.crl')}\"]}}\n"
            "  open:\n"
            "    inherit: closed\n"
            f"    revocation: {{mode: crl, fail: open, crl: [\"{pem('dev.crl')}\"]}}\n"
        )

    def cfg(self, policy, *args):
        return ["-c", str(self.path), "--policy", policy, *args]

    def test_policy_crl_revokes(self):
        self.judge(*self.cfg("closed", pem("revoked-client")), rc=1,
                   reason="ClientCertificateRevoked")
        self.judge(*self.cfg("closed", pem("valid-client")), rc=0, reason=None)

    def test_fail_open_lets_an_unknown_status_through(self):
        # TST's client: no CRL of its issuer is given
        doc = self.judge(*self.cfg("closed", pem("untrusted-client-chain")), rc=1,
                         reason="ClientCertificateRevocationUnknown")
        doc = self.judge(*self.cfg("open", pem("untrusted-client-chain")), rc=0, reason=None)
        self.assertEqual(doc["revocation"]["outcome"], "fail")
        self.assertTrue(doc["revocation"]["detail"].endswith(
            " (the policy has fail: open, so this does not refuse the certificate)"), doc)
        # a revocation is not an unknown status
        self.judge(*self.cfg("open", pem("revoked-client")), rc=1,
                   reason="ClientCertificateRevoked")
        # an unreachable responder is an unknown status too
        down = f"http://127.0.0.1:{free_port()}"
        self.judge(*self.cfg("open", "--ocsp", down, pem("valid-client")), rc=0, reason=None)
        self.judge(*self.cfg("closed", "--ocsp", down, pem("valid-client")), rc=1,
                   reason="ClientCertificateRevocationUnknown")

    def test_policy_in_ocsp_mode_asks_its_responder(self):
        o = Responder(self)
        down = f"http://127.0.0.1:{free_port()}"
        path = scratch("verify-ocsp-policy") / "certgate.yaml"
        path.write_text(
            "listeners:\n"
            "  - {name: web, address: \"127.0.0.1:18080\"}\n"
            "policies:\n"
            "  asks:\n"
            f"    trusted_ca: [\"{pem('root-ca')}\"]\n"
            f"    intermediates: [\"{pem('dev-intermediate')}\"]\n"
            f"    revocation: {{mode: ocsp, ocsp_url: \"{o.url}\", ocsp_nonce: true}}\n"
            "  down-open:\n"
            "    inherit: asks\n"
            f"    revocation: {{mode: ocsp, ocsp_url: \"{down}\", fail: open}}\n"
        )
        cfg = ["-c", str(path), "--policy"]
        doc = self.judge(*cfg, "asks", pem("revoked-client"), rc=1,
                         reason="ClientCertificateRevoked")
        self.assertEqual(doc["ocsp"]["responder"], o.url)
        self.judge(*cfg, "asks", pem("valid-client"), rc=0, reason=None)
        self.assertEqual(o.requests(), ["POST / HTTP/1.1"] * 2)
        doc = self.judge(*cfg, "down-open", pem("valid-client"), rc=0, reason=None)
        self.assertEqual((doc["ocsp"]["responder"], doc["ocsp"]["status"]), (down, "error"))
        # --ocsp URL overrides the policy's responder, --ocsp-timeout its timeout
        self.judge(*cfg, "down-open", "--ocsp", o.url, pem("revoked-client"), rc=1,
                   reason="ClientCertificateRevoked")
        self.judge(*cfg, "asks", "--ocsp-timeout", "2s", pem("valid-client"), rc=0, reason=None)

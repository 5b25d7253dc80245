"""OCSP in the daemon (issue 5, first part): a real `openssl ocsp` responder
on 127.0.0.1; answers cached and shared by the workers; a slow responder
delays only the client that waits for it."""

import base64
import http.server
import urllib.parse
import subprocess
import threading
import time

from harness import (
    CertgateTestCase,
    SilentServer,
    config,
    curl,
    free_port,
    key,
    listener,
    pem,
    pki,
    scratch,
)


def chain(name):
    return (pem(name + "-chain"), key(name))


class Responder:
    """A real `openssl ocsp` answering over the demo PKI's DEV index. openssl
    3.0's -port listens on every interface, so a small HTTP front on
    127.0.0.1 (<port>, or any free one) hands each request to `openssl ocsp
    -reqin/-respout` and counts the queries that reach it."""

    def __init__(self, index=None, signer="ocsp", port=0):
        self.queries = 0
        self.gets = 0
        self.dir = scratch("ocsp")
        index = index or str(pki() / "dev-index.txt")
        responder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                # RFC 6960 A.1: the base64 DER request, percent-encoded, after the path
                b64 = urllib.parse.unquote(self.path.rsplit("/", 1)[-1])
                responder.gets += 1
                self.answer(base64.b64decode(b64))

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self.answer(self.rfile.read(n))

            def answer(self, req):
                responder.queries += 1
                reqf = responder.dir / f"req{responder.queries}.der"
                respf = responder.dir / f"resp{responder.queries}.der"
                reqf.write_bytes(req)
                subprocess.run(
                    ["openssl", "ocsp", "-index", index,
                     "-CA", pem("dev-intermediate"), "-rsigner", pem(signer),
                     "-rkey", key(signer), "-nmin", "5", "-reqin", str(reqf),
                     "-respout", str(respf)], capture_output=True, timeout=20, check=True)
                body = respf.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def policies(url, timeout="5s", fail="closed"):
    return {"ocsp-clients": {
        "trusted_ca": [pem("root-ca")],
        "intermediates": [pem("dev-intermediate")],
        "revocation": {"mode": "ocsp", "ocsp_url": url, "ocsp_timeout": timeout,
                       "cache": "1m", "fail": fail},
    }}


class OcspDaemonTest(CertgateTestCase):
    def start(self, url, **kw):
        self.be = self.backend()
        self.port, self.admin = free_port(), free_port()
        lst = listener("mtls", self.port, "require")
        lst["tls"]["client_auth"] = {"mode": "require", "policy": "ocsp-clients"}
        cfg = config([lst], self.be.url, policies=policies(url, **kw),
                     admin={"address": f"127.0.0.1:{self.admin}"})
        self.certgate(cfg, [self.port, self.admin])

    def get(self, client, timeout=30):
        return curl(f"https://localhost:{self.port}/x", client=chain(client), timeout=timeout)

    def queries(self):
        res = curl(f"http://127.0.0.1:{self.admin}/metrics", cacert=None)
        for line in res.body.decode().splitlines():
            if line.startswith("certgate_ocsp_queries_total "):
                return int(line.split()[1])
        self.fail("no certgate_ocsp_queries_total")

    def test_good_and_revoked_answers(self):
        r = Responder()
        self.addCleanup(r.stop)
        self.start(r.url)
        self.assertEqual(self.get("valid-client").status, 200)
        body = self.assertJsonError(self.get("revoked-client"), 401, "ClientCertificateRevoked")
        self.assertIn("Revoked Client", body["detail"])
        self.assertEqual(r.gets, 2)  # small requests go as GET (RFC 6960 A.1)

    def test_certificate_the_responder_does_not_know_is_unknown(self):
        empty = scratch("index") / "empty-index.txt"
        empty.write_text("")
        r = Responder(index=str(empty))
        self.addCleanup(r.stop)
        self.start(r.url)
        body = self.assertJsonError(self.get("valid-client"), 401,
                                    "ClientCertificateRevocationUnknown")
        self.assertIn("does not know", body["detail"])

    def test_response_signed_by_another_key_is_refused(self):
        # the root signs instead of the DEV CA or its delegated responder
        r = Responder(signer="root-ca")
        self.addCleanup(r.stop)
        self.start(r.url)
        body = self.assertJsonError(self.get("valid-client"), 401,
                                    "ClientCertificateRevocationUnknown")
        self.assertIn("is not signed by the issuer", body["detail"])
        self.assertIn("it is signed by 'CN=APIM Sample Root CA'", body["detail"])

    def test_answers_are_cached_across_handshakes(self):
        r = Responder()
        self.addCleanup(r.stop)
        self.start(r.url)
        for _ in range(6):  # six processes: six connections, six full handshakes
            self.assertEqual(self.get("valid-client").status, 200)
        self.assertEqual(self.queries(), 1)
        self.assertEqual(r.queries, 1)  # what the responder itself saw

    def test_concurrent_clients_of_one_certificate_coalesce(self):
        r = Responder()
        self.addCleanup(r.stop)
        self.start(r.url)
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.get("valid-client").status))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * 8)
        self.assertEqual(self.queries(), 1)
        self.assertEqual(r.queries, 1)

    def test_responder_down_is_unknown_and_fails_closed(self):
        self.start(f"http://127.0.0.1:{free_port()}")
        body = self.assertJsonError(self.get("valid-client"), 401,
                                    "ClientCertificateRevocationUnknown")
        self.assertIn("cannot be reached", body["detail"])

    def test_fail_open_lets_an_unreachable_status_in(self):
        self.start(f"http://127.0.0.1:{free_port()}", fail="open")
        self.assertEqual(self.get("valid-client").status, 200)

    def test_slow_responder_delays_only_the_client_that_waits(self):
        s = SilentServer().start()
        self.addCleanup(s.stop)
        self.start(f"http://127.0.0.1:{s.port}", timeout="3s")
        out = {}

        def waiting():
            t0 = time.monotonic()
            out["res"] = self.get("valid-client")
            out["took"] = time.monotonic() - t0

        t = threading.Thread(target=waiting)
        t.start()
        time.sleep(0.5)  # the first client is now parked on the responder
        t0 = time.monotonic()
        res = curl(f"https://localhost:{self.port}/x")  # another client: no certificate
        other = time.monotonic() - t0
        t.join()
        self.assertJsonError(res, 401, "ClientCertificateNotFound")
        self.assertLess(other, 2.0, "another client waited for the slow responder")
        self.assertJsonError(out["res"], 401, "ClientCertificateRevocationUnknown")
        self.assertGreaterEqual(out["took"], 2.5)
        self.assertIn("within", out["res"].json()["detail"])

"""HTTP/1.1 behaviour (SPEC §9): keep-alive, pipelining, HEAD, 100-continue,
strict parsing, limits, timeouts, backend errors, graceful SIGTERM."""

import os
import signal
import subprocess
import threading
import time

from harness import (
    CertgateTestCase,
    RawConn,
    config,
    curl,
    free_port,
    listener,
    pem,
    scratch,
)


def routes(*pairs):
    return [{"match": {"path_prefix": p}, "backend": b} for p, b in pairs]


class HttpTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.tls, cls.plain, cls.lim, cls.to, cls.admin = (free_port() for _ in range(5))
        cfg = config(
            [
                listener("tls", cls.tls, "ignore"),
                listener("plain", cls.plain, tls=False,
                         routes=routes(("/api", "app"), ("/down", "down"), ("/timeout", "slow"))),
                listener("limits", cls.lim, tls=False,
                         limits={"request_line": 1024, "headers": 20, "header_bytes": "4KiB"}),
                listener("timeouts", cls.to, tls=False, timeouts={"header": "1s"}),
            ],
            cls.be.url,
            admin={"address": f"127.0.0.1:{cls.admin}"},
        )
        cfg["backends"]["down"] = {"servers": [f"http://127.0.0.1:{free_port()}"]}
        cfg["backends"]["slow"] = {"servers": [cls.be.url], "timeouts": {"response": "1s"}}
        cls.class_certgate(cfg, [cls.tls, cls.plain, cls.lim, cls.to, cls.admin])

    def setUp(self):
        super().setUp()
        self.be.clear()

    def exchange(self, port, data, timeout=5.0):
        """Send <data> on a fresh plain connection; (first response, closed after?)."""
        with RawConn(port) as c:
            c.send(data)
            res = c.read_response(timeout=timeout)
            closed = c.wait_closed(2.0) if res is not None and res.status == 400 else None
        return res, closed

    def assertRejected(self, data, status, code, port=None):
        res, closed = self.exchange(port or self.plain, data)
        self.assertIsNotNone(res, "connection closed without a response")
        self.assertJsonError(res, status, code)
        if status == 400:
            self.assertTrue(closed, "a 400 must close the connection")
        self.assertNothingReached(self.be)

    def head(self, *lines, target="/api/x", method="GET"):
        text = f"{method} {target} HTTP/1.1\r\n" + "".join(line + "\r\n" for line in lines)
        return (text + "\r\n").encode()

    # --- admin ---

    def test_admin_health_answers_ok(self):
        res = curl(f"http://127.0.0.1:{self.admin}/health", cacert=None)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.json(), {"status": "ok"})

    def test_admin_ready_and_unknown_paths(self):
        res = curl(f"http://127.0.0.1:{self.admin}/ready", cacert=None)
        self.assertEqual((res.status, res.json()), (200, {"status": "ready"}))
        self.assertJsonError(curl(f"http://127.0.0.1:{self.admin}/nope", cacert=None), 404,
                             "NotFound")
        self.assertJsonError(curl(f"http://127.0.0.1:{self.admin}/health", "-X", "POST",
                                  cacert=None), 405, "MethodNotAllowed")

    # --- connection reuse ---

    def test_keep_alive_reuses_the_client_connection(self):
        url = f"https://localhost:{self.tls}/api/"
        r = subprocess.run(
            ["curl", "-sS", "-v", "--noproxy", "*", "--cacert", pem("root-ca"),
             "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code}\n", url + "1", url + "2"],
            capture_output=True, text=True, timeout=30,
        )
        self.assertEqual(r.stdout.split(), ["200", "200"], r.stderr)
        self.assertIn("Re-using existing connection", r.stderr)
        self.assertEqual([q.target for q in self.be.wait_for(2)], ["/api/1", "/api/2"])

    def test_pipelined_requests_are_answered_in_order(self):
        with RawConn(self.tls, tls=True) as c:
            c.send(
                f"GET /p/first HTTP/1.1\r\nHost: localhost:{self.tls}\r\n\r\n"
                f"POST /p/second HTTP/1.1\r\nHost: localhost:{self.tls}\r\n"
                f"Content-Length: 3\r\n\r\nabc".encode()
            )
            first, second = c.read_response(), c.read_response()
        self.assertEqual((first.status, first.json()["target"]), (200, "/p/first"))
        self.assertEqual((second.status, second.json()["target"]), (200, "/p/second"))
        self.assertEqual(second.json()["body_bytes"], 3)
        reqs = self.be.wait_for(2)
        self.assertEqual([(q.method, q.target) for q in reqs],
                         [("GET", "/p/first"), ("POST", "/p/second")])

    def test_backend_connection_is_reused_across_requests(self):
        before = self.be.connections()
        with RawConn(self.plain) as c:
            for i in range(3):
                c.send(self.head(f"Host: 127.0.0.1:{self.plain}", target=f"/api/pool{i}"))
                self.assertEqual(c.read_response().status, 200)
        self.assertEqual(self.be.connections() - before, 1)

    # --- methods and bodies ---

    def test_head_gets_headers_and_no_body(self):
        with RawConn(self.plain) as c:
            c.send(self.head("Host: x", method="HEAD", target="/api/h")
                   + self.head("Host: x", target="/api/after"))
            h = c.read_response(head=True)
            g = c.read_response()
        self.assertEqual(h.status, 200)
        self.assertEqual(h.header("X-Backend"), "recording")
        self.assertEqual(g.json()["target"], "/api/after")  # no stray body bytes in between
        self.assertEqual([(q.method, q.target) for q in self.be.wait_for(2)],
                         [("HEAD", "/api/h"), ("GET", "/api/after")])

    def test_expect_100_continue_gets_100_before_the_body(self):
        with RawConn(self.plain) as c:
            c.send(self.head("Host: x", "Expect: 100-continue", "Content-Length: 5",
                             method="POST", target="/api/e"))
            interim = c.read_response(skip_1xx=False, timeout=3)
            self.assertEqual(interim.status, 100)
            c.send(b"hello")
            final = c.read_response()
        self.assertEqual(final.status, 200)
        self.assertEqual(self.be.only().body, b"hello")

    def test_curl_large_post_uses_100_continue(self):
        f = scratch("post") / "two-mb.bin"
        f.write_bytes(os.urandom(2 << 20))
        res = curl(f"http://127.0.0.1:{self.plain}/api/big", "-v", "--data-binary", f"@{f}",
                   cacert=None)
        self.assertEqual(res.status, 200, res)
        self.assertIn("HTTP/1.1 100 Continue", res.stderr)
        self.assertEqual(self.be.only().body_len, 2 << 20)

    def test_backend_status_and_headers_pass_through(self):
        res = curl(f"http://127.0.0.1:{self.plain}/api/status/418", cacert=None)
        self.assertEqual(res.status, 418)
        self.assertEqual(res.header("X-Backend"), "recording")

    # --- certgate's own errors ---

    def test_unrouted_path_gets_404(self):
        self.assertRejected(self.head("Host: x", target="/nothing"), 404, "NotFound")

    def test_backend_down_gets_502(self):
        self.assertRejected(self.head("Host: x", target="/down/x"), 502, "BadGateway")

    def test_backend_not_answering_gets_504_after_response_timeout(self):
        t0 = time.monotonic()
        res, _ = self.exchange(self.plain, self.head("Host: x", target="/timeout/hang"), 10)
        took = time.monotonic() - t0
        self.assertJsonError(res, 504, "GatewayTimeout")
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 5)

    def test_half_sent_head_gets_408_then_close(self):
        t0 = time.monotonic()
        with RawConn(self.to) as c:
            c.send(b"GET /api/slowloris HTTP/1.1\r\nHost: x\r\n")
            res = c.read_response(timeout=6)
            took = time.monotonic() - t0
            self.assertIsNotNone(res, "closed without a 408")
            self.assertJsonError(res, 408, "RequestTimeout")
            self.assertTrue(c.wait_closed(3))
        self.assertGreaterEqual(took, 0.9)
        self.assertNothingReached(self.be)

    def test_long_request_line_gets_414(self):
        self.assertRejected(self.head("Host: x", target="/" + "a" * 2000), 414, "URITooLong",
                            port=self.lim)

    def test_too_many_headers_get_431(self):
        lines = ["Host: x"] + [f"X-H{i}: {i}" for i in range(30)]
        self.assertRejected(self.head(*lines), 431, "RequestHeaderFieldsTooLarge", port=self.lim)

    def test_oversized_head_gets_431(self):
        self.assertRejected(self.head("Host: x", "X-Big: " + "b" * 5000), 431,
                            "RequestHeaderFieldsTooLarge", port=self.lim)

    def test_http_2_request_line_gets_505(self):
        self.assertRejected(b"GET /api/x HTTP/2.0\r\nHost: x\r\n\r\n", 505,
                            "HTTPVersionNotSupported")

    def test_unknown_transfer_coding_gets_501(self):
        self.assertRejected(
            self.head("Host: x", "Transfer-Encoding: gzip, chunked", method="POST")
            + b"0\r\n\r\n", 501, "NotImplemented")

    def test_connect_never_reaches_the_backend(self):
        # SPEC names no status for CONNECT (an authority-form target matches no
        # path_prefix, so 404 is as good as 400 or 501); forwarding it is wrong.
        res, _ = self.exchange(self.plain, b"CONNECT example.com:443 "
                               b"HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        self.assertIsNotNone(res)
        codes = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed",
                 501: "NotImplemented"}
        self.assertIn(res.status, codes)
        self.assertJsonError(res, res.status, codes[res.status])
        self.assertNothingReached(self.be)

    # --- strict parsing: each ambiguity of SPEC §9 is a 400 that closes ---

    def test_content_length_with_transfer_encoding_is_400(self):
        self.assertRejected(self.head("Host: x", "Content-Length: 5", "Transfer-Encoding: chunked",
                                      method="POST") + b"0\r\n\r\n", 400, "BadRequest")

    def test_differing_content_lengths_are_400(self):
        self.assertRejected(self.head("Host: x", "Content-Length: 5", "Content-Length: 6",
                                      method="POST") + b"hello!", 400, "BadRequest")

    def test_obs_fold_is_400(self):
        self.assertRejected(self.head("Host: x", "X-A: 1", "  folded"), 400, "BadRequest")

    def test_bare_cr_is_400(self):
        self.assertRejected(self.head("Host: x", "X-A: 1\r2"), 400, "BadRequest")

    def test_invalid_token_byte_in_header_name_is_400(self):
        self.assertRejected(self.head("Host: x", "X(A): 1"), 400, "BadRequest")

    def test_control_byte_in_header_value_is_400(self):
        self.assertRejected(self.head("Host: x", "X-A: a\x00b"), 400, "BadRequest")

    def test_space_before_colon_is_400(self):
        self.assertRejected(self.head("Host: x", "X-A : 1"), 400, "BadRequest")

    def test_missing_host_in_http_1_1_is_400(self):
        self.assertRejected(self.head("X-A: 1"), 400, "BadRequest")

    def test_two_host_headers_are_400(self):
        self.assertRejected(self.head("Host: a", "Host: b"), 400, "BadRequest")


class DrainTest(CertgateTestCase):
    def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(self):
        be = self.backend()
        port = free_port()
        cg = self.certgate(config([listener("plain", port, tls=False)], be.url), [port])
        got = {}
        t = threading.Thread(
            target=lambda: got.update(res=curl(f"http://127.0.0.1:{port}/slow/1500",
                                               cacert=None)))
        t.start()
        be.wait_for(1, timeout=5)  # the request is at the backend now
        cg.signal(signal.SIGTERM)
        t.join(15)
        self.assertEqual(got["res"].status, 200, got["res"])
        self.assertEqual(cg.wait(), 0)

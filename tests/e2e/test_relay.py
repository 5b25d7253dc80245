"""Relaying responses and connection lifetimes (SPEC §9): chunked and
close-delimited bodies, bodiless statuses, handshake / idle / stalled-body
timeouts, a client leaving mid-download, stale pooled backend connections,
broken backends, the connection limit, /metrics and concurrent clients."""

import hashlib
import re
import socket
import struct
import threading
import time

from clients import _parse_head
from harness import (
    CertgateTestCase,
    RawConn,
    config,
    curl,
    free_port,
    listener,
    pattern_sha256,
    stop_listening,
)
from backend import pattern_chunks

CHUNKED_SIZE = 200_000
EOF_SIZE = 300_000


def routes(*pairs):
    return [{"match": {"path_prefix": p}, "backend": b} for p, b in pairs]


def pattern(n):
    return b"".join(pattern_chunks(n))


def get(target, host="x", extra=()):
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_head(c, deadline):
    """The next response head on RawConn <c> (interim ones skipped)."""
    while True:
        while b"\r\n\r\n" not in c.buf:
            if not c._fill(deadline):
                raise AssertionError(f"closed before a response head: {c.buf!r}")
        raw, c.buf = c.buf.split(b"\r\n\r\n", 1)
        version, status, reason, headers = _parse_head(raw.decode("iso-8859-1"))
        if status >= 200:
            return status, headers


def read_chunked(c, deadline):
    """Decode a chunked body on <c>; returns (body, [trailer lines])."""
    body = bytearray()
    while True:
        size = int(c._read_line(deadline).split(b";")[0], 16)
        if size == 0:
            trailers = []
            while True:
                line = c._read_line(deadline)
                if not line:
                    return bytes(body), trailers
                trailers.append(line.decode("iso-8859-1"))
        while len(c.buf) < size + 2:
            if not c._fill(deadline):
                raise AssertionError("closed inside a chunk")
        if c.buf[size : size + 2] != b"\r\n":
            raise AssertionError(f"chunk data not followed by CRLF: {c.buf[size:size + 8]!r}")
        body += c.buf[:size]
        c.buf = c.buf[size + 2 :]


def names(headers):
    return [k.lower() for k, _ in headers]


def value(headers, name):
    vals = [v for k, v in headers if k.lower() == name.lower()]
    return vals[0] if len(vals) == 1 else vals


def sha(data):
    return hashlib.sha256(data).hexdigest()


def metric(text, name):
    """The value of the sample <name> (with its labels) in a Prometheus text page."""
    m = re.search(r"^" + re.escape(name) + r" (\d+)$", text, re.M)
    if m is None:
        raise AssertionError(f"no sample {name} in /metrics:\n{text}")
    return int(m.group(1))


class ResettingBackend:
    """Reads one request head per connection, then resets the connection (SO_LINGER 0):
    a backend process that crashed with the request in hand."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def stop(self):
        stop_listening(self.sock)


class RelayTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.resetter = ResettingBackend()
        cls.addClassCleanup(cls.resetter.stop)
        ports = [free_port() for _ in range(7)]
        cls.tls, cls.plain, cls.hs, cls.idle, cls.lim, cls.mtls, cls.admin = ports
        pools = routes(("/bad/", "bad"), ("/pool1/", "pool1"), ("/pool2/", "pool2"),
                       ("/pool3/", "pool3"), ("/reset/", "reset"), ("/", "app"))
        cfg = config(
            [
                listener("tls", cls.tls, "ignore", routes=pools),
                listener("plain", cls.plain, tls=False, routes=pools),
                listener("handshake", cls.hs, "ignore", timeouts={"handshake": "1s"}),
                listener("idle", cls.idle, tls=False, timeouts={"idle": "1s"}),
                listener("limited", cls.lim, tls=False, limits={"connections": 2}),
                listener("mtls", cls.mtls, "require"),
            ],
            cls.be.url,
            admin={"address": f"127.0.0.1:{cls.admin}"},
        )
        # Own pools, so that which backend connection a request lands on is known.
        for name in ("bad", "pool1", "pool2", "pool3"):
            cfg["backends"][name] = {"servers": [cls.be.url]}
        cfg["backends"]["reset"] = {"servers": [cls.resetter.url]}
        cls.cg = cls.class_certgate(cfg, ports)

    def setUp(self):
        super().setUp()
        self.be.clear()

    # --- 1. chunked responses ---

    def test_chunked_response_reaches_http11_client_chunked_and_connection_stays(self):
        with RawConn(self.tls, tls=True) as c:
            c.send(get(f"/chunked/{CHUNKED_SIZE}", f"localhost:{self.tls}"))
            deadline = time.monotonic() + 10
            status, headers = read_head(c, deadline)
            self.assertEqual(status, 200, headers)
            self.assertEqual(value(headers, "Transfer-Encoding"), "chunked")
            self.assertNotIn("content-length", names(headers))
            self.assertNotIn("connection", names(headers))
            body, trailers = read_chunked(c, deadline)
            self.assertEqual(len(body), CHUNKED_SIZE)
            self.assertEqual(sha(body), pattern_sha256(CHUNKED_SIZE))
            self.assertEqual(trailers, [f"X-Checksum: {pattern_sha256(CHUNKED_SIZE)}"])
            # nothing after the last chunk, and the connection takes another request
            c.send(get("/after-chunked", f"localhost:{self.tls}"))
            res = c.read_response(timeout=5)
        self.assertIsNotNone(res, "closed after a chunked response")
        self.assertEqual((res.status, res.json()["target"]), (200, "/after-chunked"))
        self.assertEqual([(q.method, q.target) for q in self.be.wait_for(2)],
                         [("GET", f"/chunked/{CHUNKED_SIZE}"), ("GET", "/after-chunked")])

    def test_chunked_response_reaches_http10_client_unchunked_then_closes(self):
        with RawConn(self.tls, tls=True) as c:
            c.send(f"GET /chunked/{CHUNKED_SIZE} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
            res = c.read_response(timeout=10)  # neither length nor chunked: reads to EOF
            self.assertTrue(c.eof, "the connection must close to end the body")
        self.assertEqual(res.status, 200)
        self.assertIsNone(res.header("Transfer-Encoding"), res.headers)
        self.assertIsNone(res.header("Content-Length"), res.headers)
        self.assertEqual(res.header_values("Connection"), ["close"])
        self.assertEqual(len(res.body), CHUNKED_SIZE)
        self.assertEqual(res.body, pattern(CHUNKED_SIZE))  # no chunk framing, no trailer
        self.assertEqual(self.be.only().target, f"/chunked/{CHUNKED_SIZE}")

    # --- 2. close-delimited responses ---

    def test_close_delimited_response_arrives_whole_with_connection_close(self):
        with RawConn(self.tls, tls=True) as c:
            c.send(get(f"/eof/{EOF_SIZE}", f"localhost:{self.tls}"))
            res = c.read_response(timeout=10)
            self.assertTrue(c.eof)
            # over TLS only close_notify tells a whole body from a cut one
            self.assertIsNone(c.tls_error, "closed without TLS close_notify")
        self.assertEqual(res.status, 200)
        self.assertEqual(res.header_values("Connection"), ["close"])
        self.assertIsNone(res.header("Content-Length"), res.headers)
        self.assertIsNone(res.header("Transfer-Encoding"), res.headers)
        self.assertEqual(res.body, pattern(EOF_SIZE))
        self.assertEqual(self.be.only().target, f"/eof/{EOF_SIZE}")

    # --- 3. bodiless statuses ---

    def test_204_and_304_keep_the_connection_usable(self):
        with RawConn(self.plain) as c:
            c.send(get("/status/204"))
            r204 = c.read_response(timeout=5)
            c.send(get("/status/304"))
            r304 = c.read_response(timeout=5)
            c.send(get("/after-bodiless"))
            after = c.read_response(timeout=5)
        for res, status in ((r204, 204), (r304, 304)):
            self.assertEqual(res.status, status)
            self.assertEqual(res.header("X-Backend"), "recording")
            self.assertIsNone(res.header("Transfer-Encoding"), res.headers)
            self.assertIsNone(res.header("Connection"), res.headers)
        self.assertIsNotNone(after, "closed after 204/304")
        self.assertEqual((after.status, after.json()["target"]), (200, "/after-bodiless"))
        self.assertEqual([q.target for q in self.be.wait_for(3)],
                         ["/status/204", "/status/304", "/after-bodiless"])

    # --- 4, 5, 13. timeouts ---

    def test_silent_tls_client_is_closed_after_handshake_timeout(self):
        t0 = time.monotonic()
        with RawConn(self.hs) as c:  # plain TCP to the TLS port, never a ClientHello
            closed = c.wait_closed(6)
            took = time.monotonic() - t0
            self.assertTrue(closed, "still open 6 s after connecting")
            self.assertEqual(c.buf, b"")
        self.assertGreaterEqual(took, 0.8)
        self.assertLess(took, 3.5)

    def test_idle_keep_alive_connection_is_closed_without_a_response(self):
        with RawConn(self.idle) as c:
            c.send(get("/before-idle"))
            res = c.read_response(timeout=5)
            self.assertEqual((res.status, res.header("Connection")), (200, None))
            t0 = time.monotonic()
            closed = c.wait_closed(6)
            took = time.monotonic() - t0
            self.assertTrue(closed, "still open 6 s after the response")
            self.assertEqual(c.buf, b"")
        self.assertGreaterEqual(took, 0.8)
        self.assertLess(took, 3.5)
        self.assertEqual([q.target for q in self.be.requests()], ["/before-idle"])

    def test_stalled_request_body_gets_408_then_close(self):
        # proxy_on_timeout: no response byte was sent yet, so a 408 is still possible
        with RawConn(self.idle) as c:
            c.send(b"POST /stalled HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                   + b"a" * 100)
            t0 = time.monotonic()
            res = c.read_response(timeout=6)
            took = time.monotonic() - t0
            self.assertIsNotNone(res, "closed without a 408")
            self.assertJsonError(res, 408, "RequestTimeout")
            self.assertEqual(res.header_values("Connection"), ["close"])
            self.assertTrue(c.wait_closed(3))
            self.assertEqual(c.buf, b"")
        self.assertGreaterEqual(took, 0.8)
        self.assertLess(took, 3.5)
        # the backend saw a head and 100 bytes, then EOF: no complete request
        self.assertNothingReached(self.be, settle=0.5)

    # --- 7. stale pooled backend connections ---

    def test_stale_pooled_connection_is_retried_for_a_bodiless_request(self):
        with RawConn(self.plain) as c:
            c.send(get("/pool1/stale"))  # the backend drops the next request on this one
            self.assertEqual(c.read_response(timeout=5).status, 200)
            c.send(get("/pool1/next"))
            res = c.read_response(timeout=5)
            c.send(get("/pool1/again"))
            again = c.read_response(timeout=5)
        self.assertIsNotNone(res, "closed instead of retrying")
        self.assertEqual((res.status, res.json()["target"]), (200, "/pool1/next"))
        self.assertEqual((again.status, again.json()["target"]), (200, "/pool1/again"))
        reqs = self.be.wait_for(4)
        self.assertEqual([q.target for q in reqs],
                         ["/pool1/stale", "/pool1/next", "/pool1/next", "/pool1/again"])
        self.assertEqual(reqs[0].peer, reqs[1].peer, "the first try went on the pooled one")
        self.assertNotEqual(reqs[1].peer, reqs[2].peer, "the retry went on a new connection")
        self.assertEqual(reqs[2].peer, reqs[3].peer, "the new connection was pooled")

    def test_stale_pooled_connection_is_not_retried_for_a_request_with_body(self):
        with RawConn(self.plain) as c:
            c.send(get("/pool2/stale"))
            self.assertEqual(c.read_response(timeout=5).status, 200)
            c.send(b"POST /pool2/next HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            res = c.read_response(timeout=5)
        self.assertIsNotNone(res, "closed without an answer")
        self.assertJsonError(res, 502, "BadGateway")
        time.sleep(0.3)  # a replay, if any, arrives
        reqs = self.be.requests()
        self.assertEqual([(q.method, q.target) for q in reqs],
                         [("GET", "/pool2/stale"), ("POST", "/pool2/next")])
        self.assertEqual(reqs[1].body, b"abc")

    def test_stale_pooled_connection_is_not_retried_for_a_bodiless_post(self):
        # POST is not idempotent (RFC 9110 9.2.2): the backend may have acted on it
        with RawConn(self.plain) as c:
            c.send(get("/pool3/stale"))
            self.assertEqual(c.read_response(timeout=5).status, 200)
            c.send(b"POST /pool3/next HTTP/1.1\r\nHost: x\r\n\r\n")
            res = c.read_response(timeout=5)
        self.assertIsNotNone(res, "closed without an answer")
        self.assertJsonError(res, 502, "BadGateway")
        time.sleep(0.3)
        reqs = self.be.requests()
        self.assertEqual([(q.method, q.target) for q in reqs],
                         [("GET", "/pool3/stale"), ("POST", "/pool3/next")])

    def test_backend_closing_after_a_keep_alive_response_does_not_fail_the_next(self):
        with RawConn(self.plain) as c:
            c.send(get("/pool3/closeafter"))  # no Connection: close, then FIN
            first = c.read_response(timeout=5)
            c.send(get("/pool3/next"))
            res = c.read_response(timeout=5)
        self.assertEqual(first.status, 200)
        self.assertIsNotNone(res, "closed instead of answering")
        self.assertEqual((res.status, res.json()["target"]), (200, "/pool3/next"))
        reqs = self.be.wait_for(2)
        time.sleep(0.2)
        self.assertEqual([q.target for q in self.be.requests()],
                         ["/pool3/closeafter", "/pool3/next"])
        self.assertNotEqual(reqs[0].peer, reqs[1].peer)

    # --- 8, 9. broken backends ---

    def test_garbage_status_line_gets_502(self):
        with RawConn(self.plain) as c:
            c.send(get("/bad/garbage"))
            res = c.read_response(timeout=5)
        self.assertIsNotNone(res)
        self.assertJsonError(res, 502, "BadGateway")
        self.assertEqual(self.be.only().target, "/bad/garbage")

    def test_backend_closing_without_an_answer_gets_502(self):
        with RawConn(self.plain) as c:
            c.send(get("/bad/drop"))
            res = c.read_response(timeout=5)
        self.assertIsNotNone(res)
        self.assertJsonError(res, 502, "BadGateway")
        self.assertEqual(res.json()["detail"],
                         f"the backend server {self.be.url} closed the connection")
        self.assertEqual(self.be.only().target, "/bad/drop")  # a new connection: no retry
        self.assertLogged(f"backend 'bad' server {self.be.url} closed the connection before "
                          "answering GET (new connection, nothing received)")

    def test_backend_resetting_the_connection_gets_502_that_says_so(self):
        before = self.resetter.accepted
        with RawConn(self.plain) as c:
            c.send(get("/reset/x"))
            res = c.read_response(timeout=5)
        self.assertIsNotNone(res)
        self.assertJsonError(res, 502, "BadGateway")
        self.assertEqual(res.json()["detail"], f"the backend server {self.resetter.url} broke "
                         "the connection (connection reset by peer)")
        self.assertEqual(self.resetter.accepted - before, 1)  # sent once, never again
        self.assertLogged(f"backend 'reset' server {self.resetter.url} broke the connection "
                          "(connection reset by peer) before answering GET (new connection, "
                          "nothing received)")

    def assertLogged(self, text, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            err = self.cg.stderr_path.read_text(errors="replace")
            if text in err or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertIn(text, err)

    def test_oversized_backend_response_head_gets_502(self):
        with RawConn(self.plain) as c:
            c.send(get("/bad/headbytes/70000"))
            res = c.read_response(timeout=5)
        self.assertIsNotNone(res)
        self.assertJsonError(res, 502, "BadGateway")
        self.assertIsNone(res.header("X-Pad-000"))
        self.assertEqual(self.be.only().target, "/bad/headbytes/70000")

    # --- 10. connection limit ---

    def test_connection_over_the_limit_is_closed_and_a_freed_slot_is_usable(self):
        first, second = RawConn(self.lim), RawConn(self.lim)
        try:
            for i, c in enumerate((first, second)):
                c.send(get(f"/held/{i}"))
                self.assertEqual(c.read_response(timeout=5).status, 200)
            with RawConn(self.lim) as third:
                try:
                    third.send(get("/third"))
                except OSError:
                    pass  # already closed: just as good
                self.assertTrue(third.wait_closed(3), "a third connection was kept")
                self.assertEqual(third.buf, b"")
            # the two held connections still work
            second.send(get("/held/again"))
            self.assertEqual(second.read_response(timeout=5).status, 200)
            first.close()
            deadline = time.monotonic() + 5
            while True:  # certgate needs a moment to notice the close
                with RawConn(self.lim) as c:
                    try:
                        c.send(get("/freed"))
                        res = c.read_response(timeout=3)
                    except OSError:
                        res = None
                if res is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.assertIsNotNone(res, "no connection accepted after one was closed")
            self.assertEqual((res.status, res.json()["target"]), (200, "/freed"))
        finally:
            first.close()
            second.close()
        self.assertEqual([q.target for q in self.be.requests()],
                         ["/held/0", "/held/1", "/held/again", "/freed"])

    # --- 11. metrics ---

    def test_metrics_count_an_expired_client_rejection(self):
        url = f"http://127.0.0.1:{self.admin}/metrics"
        expired = 'certgate_client_cert_rejections_total{reason="ClientCertificateExpired"}'
        before = curl(url, cacert=None)
        self.assertEqual(before.status, 200, before)
        self.assertEqual(before.header("Content-Type").split(";")[0], "text/plain")
        text0 = before.body.decode()
        res = curl(f"https://localhost:{self.mtls}/m", client="expired-client")
        self.assertJsonError(res, 401, "ClientCertificateExpired")
        after = curl(url, cacert=None)
        self.assertEqual(after.status, 200, after)
        text1 = after.body.decode()
        self.assertEqual(metric(text1, expired) - metric(text0, expired), 1)
        # the rejected request and the second /metrics itself
        self.assertEqual(metric(text1, "certgate_requests_total")
                         - metric(text0, "certgate_requests_total"), 2)
        self.assertNothingReached(self.be)

    # --- 12. concurrency over two workers ---

    def test_40_concurrent_clients_all_get_200(self):
        results = {}

        def one(i):
            results[i] = curl(f"https://localhost:{self.mtls}/conc/{i}", client="valid-client",
                              timeout=30)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(sorted(results), list(range(40)))
        for i, res in results.items():
            self.assertEqual(res.status, 200, res)
            self.assertEqual(res.json()["target"], f"/conc/{i}")
        reqs = self.be.wait_for(40)
        time.sleep(0.2)
        self.assertEqual(sorted(q.target for q in self.be.requests()),
                         sorted(f"/conc/{i}" for i in range(40)))
        self.assertEqual(len(reqs), 40)


class ClientGoneTest(CertgateTestCase):
    """Its own certgate: what a vanished client leaves behind shows in the
    open-connections gauge and in how SIGTERM drains."""

    # --- 6. a client leaving mid-download ---

    def test_client_leaving_mid_download_does_not_disturb_others(self):
        be = self.backend()
        port, admin = free_port(), free_port()
        cg = self.certgate(config([listener("tls", port, "ignore")], be.url,
                                  admin={"address": f"127.0.0.1:{admin}"}), [port, admin])
        gauge = "certgate_connections_open"

        def open_connections():  # counts the /metrics connection itself
            res = curl(f"http://127.0.0.1:{admin}/metrics", cacert=None)
            self.assertEqual(res.status, 200, res)
            return metric(res.body.decode(), gauge)

        baseline = open_connections()
        with RawConn(port, tls=True) as c:
            c.send(get("/bytes/50000000", f"localhost:{port}"))
            deadline = time.monotonic() + 10
            while len(c.buf) < 1 << 20:
                self.assertTrue(c._fill(deadline), "closed before 1 MiB arrived")
            self.assertTrue(c.buf.startswith(b"HTTP/1.1 200 "), c.buf[:200])
            # leave with a reset, as a killed client does
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        time.sleep(0.3)
        self.assertTrue(cg.alive(), "certgate died")
        for i in range(4):  # two workers: more than one new connection
            res = curl(f"https://localhost:{port}/bytes/100000", timeout=10)
            self.assertEqual(res.status, 200, res)
            self.assertEqual(sha(res.body), pattern_sha256(100000))
        self.assertTrue(cg.alive(), "certgate died")
        # the dead client's connection (and its backend connection) must go
        deadline = time.monotonic() + 3
        while (now := open_connections()) != baseline and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(now, baseline, "the vanished client's connection is still open")


class PipelineFloodTest(CertgateTestCase):
    """Many pipelined requests in one write are all answered, in order (no
    round limit leaves buffered requests behind)."""

    def test_1500_pipelined_requests_get_1500_answers(self):
        port = free_port()
        self.certgate(config([listener("plain", port, tls=False, backend="echo")]), [port])
        n = 1500
        data = b"".join(b"GET /p%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(n))
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(data)
        got, buf = 0, b""
        deadline = time.monotonic() + 20
        while got < n and time.monotonic() < deadline:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
            got = buf.count(b"HTTP/1.1 200 OK\r\n")
        s.close()
        self.assertEqual(got, n)
        # the last answer is for the last request
        self.assertIn(b'"target":"/p%d"' % (n - 1), buf[-4096:])

"""Backends (SPEC §2, §7, §9; seeds 001 and 003): pools and balancing, active
health probes and passive retries, upstream TLS and mTLS against a real
nginx with ssl_verify_client on, the backend response timeout, WebSocket
tunnelling, and `certgate check` on a backend's PKCS#12 identity.

The peers live in upstreams.py. Health probes run every 300 ms; the tests
that count probes run certgate with one worker, so that one prober's view is
what the servers see (two workers may each probe)."""

import json
import socket
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import (
    BINARY,
    CertgateTestCase,
    RawConn,
    certgate_check,
    config,
    free_port,
    listener,
    scratch,
)
from upstreams import (
    HEALTH_PATH,
    NginxTLSBackend,
    Pool,
    SlowBackend,
    Upstream,
    WebSocketEcho,
    upstream_pki,
    ws_roundtrip,
)

INTERVAL = 0.3
UNHEALTHY = 3
HEALTHY = 2
HEALTH = {
    "path": HEALTH_PATH,
    "interval": "300ms",
    "timeout": "200ms",
    "unhealthy_threshold": UNHEALTHY,
    "healthy_threshold": HEALTHY,
    "match_status": "200-399",
}
# A killed server refuses at once: it is down by interval × threshold after the
# kill; the slack covers scheduling on a loaded 2-core machine.
DOWN_WITHIN = INTERVAL * UNHEALTHY + 0.5
P12_ENV = "CERTGATE_E2E_GW_P12_PASSWORD"
GW_DN = "CN=certgate-gateway"


def request(port, target, method="GET", body=None, timeout=5.0):
    """One request on a fresh plain connection; the HttpResult, or None when
    certgate closed without answering."""
    head = [f"{method} {target} HTTP/1.1", "Host: backends.test"]
    if body is not None:
        head.append(f"Content-Length: {len(body)}")
    with RawConn(port, timeout=timeout) as c:
        c.send(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
        return c.read_response(timeout=timeout)


class Driver:
    """Sequential GETs /drive/<n> on a keep-alive plain connection, one every
    <gap> s, in a thread, until stop(). .results: [(sent, status, target)] with
    status 0 when certgate closed without answering."""

    def __init__(self, port, gap=0.02):
        self.port = port
        self.gap = gap
        self.results = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="driver")

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(15)
        if self._thread.is_alive():
            raise AssertionError("the traffic driver is stuck")
        return self.results

    def _run(self):
        c, n = None, 0
        while not self._stop.is_set():
            n += 1
            target = f"/drive/{n}"
            sent = time.monotonic()
            res = None
            try:
                if c is None:
                    c = RawConn(self.port, timeout=5)
                c.send(f"GET {target} HTTP/1.1\r\nHost: backends.test\r\n\r\n".encode())
                res = c.read_response(timeout=5)
            except (OSError, TimeoutError, AssertionError):
                res = None
            self.results.append((sent, res.status if res else 0, target))
            if res is None or (res.header("Connection") or "").lower() == "close":
                if c is not None:
                    c.close()
                c = None
            self._stop.wait(self.gap)
        if c is not None:
            c.close()


class BackendTestCase(CertgateTestCase):
    def pool(self, n, delays=None):
        p = Pool(n, delays=delays).start()
        self.addCleanup(p.stop)
        return p

    def upstream(self, **kw):
        u = Upstream(**kw).start()
        self.addCleanup(u.stop)
        return u

    def gateway(self, backends, workers=2, env=None):
        """certgate with one plain listener routing / to backend 'app' (and
        /<name>/ to each other backend of <backends>); returns the port."""
        port = free_port()
        routes = [{"match": {"path_prefix": f"/{name}/"}, "backend": name}
                  for name in backends if name != "app"]
        routes.append({"match": {"path_prefix": "/"}, "backend": "app"})
        cfg = config([listener("plain", port, tls=False, routes=routes)])
        cfg["backends"].update(backends)
        self.certgate(cfg, [port], workers=workers, env=env)
        return port

    def assertOk(self, res, target):
        """<res> is the recording backend's 200 for <target>."""
        self.assertIsNotNone(res, f"{target}: closed without an answer")
        self.assertEqual(res.status, 200, f"{target}: {res!r}")
        self.assertEqual(res.json()["target"], target, res)

    def assertProbe(self, rec, port):
        """<rec> is the health probe the contract describes."""
        self.assertEqual((rec.method, rec.target, rec.version), ("GET", HEALTH_PATH, "HTTP/1.1"))
        self.assertEqual(rec.header_values("Host"), [f"127.0.0.1:{port}"], rec)
        self.assertEqual(rec.header_values("User-Agent"), ["certgate-health"], rec)
        self.assertEqual([v.lower() for v in rec.header_values("Connection")], ["close"], rec)
        self.assertEqual(rec.body_len, 0, rec)


class BalanceTest(BackendTestCase):
    def test_round_robin_spreads_400_requests_by_weight_1_to_3(self):
        pool = self.pool(2)
        port = self.gateway({"app": {
            "servers": [pool[0].url, {"url": pool[1].url, "weight": 3}],
            "balance": "round_robin",
        }})
        with RawConn(port, timeout=5) as c:  # keep-alive: certgate balances per request
            for i in range(400):
                c.send(f"GET /rr/{i} HTTP/1.1\r\nHost: backends.test\r\n\r\n".encode())
                self.assertOk(c.read_response(timeout=5), f"/rr/{i}")
        time.sleep(0.2)
        a, b = pool.traffic_counts()
        self.assertEqual(a + b, 400, (a, b))
        self.assertTrue(80 <= a <= 120 and 280 <= b <= 320, f"weight 1: {a}, weight 3: {b}")
        got = sorted(r.target for s in pool.servers for r in s.traffic())
        self.assertEqual(got, sorted(f"/rr/{i}" for i in range(400)), "lost or doubled")

    def test_least_conn_prefers_the_server_with_fewer_requests_in_flight(self):
        # server 0 holds each request 1 s, server 1 answers at once; ties go
        # wherever certgate likes, so server 0 is listed first to lose them
        pool = self.pool(2, delays=[1.0, 0.0])
        port = self.gateway({"app": {"servers": pool.urls, "balance": "least_conn"}})
        results = {}

        def one(i):
            try:
                results[i] = request(port, f"/lc/{i}", timeout=10)
            except (OSError, TimeoutError, AssertionError) as e:
                results[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
            time.sleep(0.01)  # all ten start well within the 1 s hold
        for t in threads:
            t.join(15)
        self.assertEqual(sorted(results), list(range(10)))
        for i, res in results.items():
            self.assertNotIsInstance(res, Exception)
            self.assertOk(res, f"/lc/{i}")
        slow, fast = pool.traffic_counts()
        self.assertEqual(slow + fast, 10, (slow, fast))
        self.assertGreaterEqual(fast, 7, f"held server got {slow}, quick server {fast}")


class HealthTest(BackendTestCase):
    def test_killed_server_is_marked_down_and_back_after_healthy_threshold_probes(self):
        pool = self.pool(3)
        # Passive ejection off: this is about the probes alone (with it, the
        # refused connections eject the server for fail_timeout, probes or not).
        port = self.gateway({"app": {"servers": pool.urls, "balance": "round_robin",
                                     "health": HEALTH, "passive": {"max_fails": 0}}}, workers=1)
        for i in range(30):
            self.assertOk(request(port, f"/warm/{i}"), f"/warm/{i}")
        self.assertEqual(pool.traffic_counts(), [10, 10, 10], "equal weights rotate")

        victim = pool[1]
        driver = Driver(port).start()
        try:
            time.sleep(0.3)
            t_kill = time.monotonic()
            victim.kill()
            t_killed = time.monotonic()  # nothing is recorded after kill() returns
            down_by = t_kill + DOWN_WITHIN
            time.sleep(DOWN_WITHIN + 1.0)
            while_dead = victim.requests(since=t_killed)
            t_up = time.monotonic()
            victim.start()
            victim.wait_traffic(3, timeout=INTERVAL * (HEALTHY + 2) + 3, since=t_up)
            time.sleep(0.1)
        finally:
            results = driver.stop()

        self.assertEqual(while_dead, [], "requests recorded while the server was dead")
        late = [r for r in results if r[0] >= down_by]
        self.assertGreaterEqual(len(late), 10, "the driver hardly ran")
        self.assertEqual([r for r in late if r[1] != 200], [],
                         f"idempotent GETs failed after the server was down "
                         f"(before: {[r for r in results if r[0] < down_by and r[1] != 200]})")

        seen = victim.requests(since=t_up)
        kinds = [("probe", r.answered) if r.probe else ("traffic", None) for r in seen]
        self.assertIn(("traffic", None), kinds, f"no traffic after the revival: {kinds}")
        first = kinds.index(("traffic", None))
        self.assertEqual(kinds[:first], [("probe", 200)] * HEALTHY,
                         "the revived server must get exactly healthy_threshold probes first")
        self.assertLess(seen[first].time - seen[first - 1].time, 0.5,
                        "traffic did not follow the last good probe")
        self.assertGreaterEqual(len(victim.traffic(since=t_up)), 3)
        for s in pool.servers:
            self.assertGreaterEqual(len(s.probes()), 2, s.port)
            for rec in s.probes():
                self.assertProbe(rec, s.port)

    def test_failing_probe_status_takes_a_server_out_after_unhealthy_threshold(self):
        pool = self.pool(2)
        port = self.gateway({"app": {"servers": pool.urls, "balance": "round_robin",
                                     "health": HEALTH}}, workers=1)
        sick = pool[1]
        driver = Driver(port).start()
        try:
            time.sleep(0.5)
            sick.health_status = 500  # it still serves traffic: only probes say it is sick
            t_bad = time.monotonic()
            bad = sick.wait_until(lambda: [r for r in sick.probes(t_bad) if r.answered == 500],
                             UNHEALTHY, INTERVAL * UNHEALTHY + 2)
            time.sleep(1.0)  # traffic goes on; none of it may reach the sick server
            sick.health_status = 200
            t_good = time.monotonic()
            sick.wait_traffic(1, timeout=INTERVAL * (HEALTHY + 2) + 3, since=t_good)
            time.sleep(0.1)
        finally:
            results = driver.stop()

        self.assertEqual([r for r in results if r[1] != 200], [], "a request failed")
        self.assertGreaterEqual(len(bad), UNHEALTHY, "the failing probes did not come")
        second, third = bad[UNHEALTHY - 2].time, bad[UNHEALTHY - 1].time
        self.assertLessEqual(third - t_bad, INTERVAL * UNHEALTHY + 0.2,
                             "probes came slower than the interval")
        served = [r for r in sick.traffic(t_bad) if r.time < t_good]
        self.assertTrue(any(r.time > second for r in served),
                        "down before unhealthy_threshold failed probes")
        self.assertEqual([r.target for r in served if r.time > third + 0.15], [],
                         "traffic after unhealthy_threshold failed probes")
        self.assertGreaterEqual(len(pool[0].traffic(third + 0.15)), 10)

        seen = sick.requests(since=t_good)
        kinds = [("probe", r.answered) if r.probe else ("traffic", None) for r in seen]
        self.assertIn(("traffic", None), kinds, f"no traffic after recovery: {kinds}")
        first = kinds.index(("traffic", None))
        self.assertEqual(kinds[:first], [("probe", 200)] * HEALTHY,
                         "back only after exactly healthy_threshold good probes")
        for s in pool.servers:
            for rec in s.probes():
                self.assertProbe(rec, s.port)

    def test_no_healthy_server_gets_503_no_healthy_backend(self):
        pool = self.pool(2)
        pool[0].health_status = 500  # outside match_status
        pool[1].health_delay = 1.0  # 200, but after the 200 ms probe timeout
        t0 = time.monotonic()
        port = self.gateway({"app": {"servers": pool.urls, "health": HEALTH}})
        deadline = t0 + INTERVAL * UNHEALTHY + 0.2 + 2.5
        res = None
        while time.monotonic() < deadline:
            res = request(port, "/before-503")
            if res is not None and res.status == 503:
                break
            time.sleep(0.1)
        self.assertIsNotNone(res)
        self.assertJsonError(res, 503, "NoHealthyBackend")
        t_503 = time.monotonic()
        for i in range(5):
            res = request(port, f"/none/{i}")
            self.assertJsonError(res, 503, "NoHealthyBackend")
        time.sleep(0.2)
        for s in pool.servers:
            self.assertEqual(s.traffic(t_503), [], f"{s.port} got traffic while down")
            self.assertGreaterEqual(len(s.probes()), UNHEALTHY, s.port)
            for rec in s.probes():
                self.assertProbe(rec, s.port)
        self.assertEqual({r.answered for r in pool[0].probes()}, {500})


class RetryTest(BackendTestCase):
    def test_get_to_a_pool_with_a_refused_port_is_retried_on_the_other_server(self):
        live = self.upstream()
        dead = free_port()  # nothing listens: connection refused
        port = self.gateway({"app": {"servers": [f"http://127.0.0.1:{dead}", live.url]}})
        for i in range(20):
            self.assertOk(request(port, f"/get/{i}"), f"/get/{i}")
        time.sleep(0.2)
        self.assertEqual(sorted(r.target for r in live.traffic()),
                         sorted(f"/get/{i}" for i in range(20)), "each GET exactly once")

    def test_post_with_body_is_never_sent_twice_and_gets_502_from_the_dead_server(self):
        live = self.upstream()
        dead = free_port()
        port = self.gateway({"app": {"servers": [f"http://127.0.0.1:{dead}", live.url]}})
        statuses = {}
        for i in range(10):
            res = request(port, f"/post/{i}", "POST", b"payload-%d" % i)
            self.assertIsNotNone(res, f"POST {i}: closed without an answer")
            statuses[i] = res.status
            if res.status == 502:
                self.assertJsonError(res, 502, "BadGateway")
            else:
                self.assertOk(res, f"/post/{i}")
        time.sleep(0.3)  # a replay, if any, arrives
        got = live.traffic()
        targets = [r.target for r in got]
        self.assertEqual(len(targets), len(set(targets)), f"a POST was sent twice: {targets}")
        self.assertEqual(sorted(targets),
                         sorted(f"/post/{i}" for i, s in statuses.items() if s == 200),
                         f"statuses: {statuses}")
        for r in got:
            self.assertEqual((r.method, r.body), ("POST", b"payload-" + r.target[6:].encode()))
        self.assertIn(502, statuses.values(),
                      f"no POST hit the dead server (round robin over 2): {statuses}")


class UpstreamTlsTest(BackendTestCase):
    """One nginx (ssl_verify_client on) behind six backends that differ only in
    how certgate reaches it."""

    @classmethod
    def setUpClass(cls):
        cls.pki = pk = upstream_pki()
        cls.nginx = NginxTLSBackend(pk)
        cls.nginx.start()
        cls.addClassCleanup(cls.nginx.stop)
        pem_id = {"cert": pk.gw_cert, "key": pk.gw_key}
        ok = {"ca": pk.backend_ca, "server_name": "api.internal"}
        variants = {
            "p12env": dict(ok, client_cert={"pkcs12": pk.gw_p12, "password_env": P12_ENV}),
            "p12file": dict(ok, client_cert={"pkcs12": pk.gw_p12,
                                             "password_file": pk.gw_p12_pass_file}),
            "pem": dict(ok, client_cert=pem_id),
            "wrongca": {"ca": pk.wrong_ca, "server_name": "api.internal", "client_cert": pem_id},
            "wrongname": {"ca": pk.backend_ca, "server_name": "other.internal",
                          "client_cert": pem_id},
            "nocert": dict(ok),
        }
        cls.port = free_port()
        routes = [{"match": {"path_prefix": f"/{n}/"}, "backend": n} for n in variants]
        cfg = config([listener("plain", cls.port, tls=False, routes=routes)])
        for name, tls in variants.items():
            cfg["backends"][name] = {"servers": [cls.nginx.url], "tls": tls}
        cls.cg = cls.class_certgate(cfg, [cls.port], env={P12_ENV: pk.gw_p12_password})

    def nginx_saw(self, prefix, n, timeout=2.0):
        """nginx's access log lines for <prefix>, once there are <n> (or timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            got = [r for r in self.nginx.requests() if r[1].startswith(prefix)]
            if len(got) >= n or time.monotonic() > deadline:
                time.sleep(0.1)
                return [r for r in self.nginx.requests() if r[1].startswith(prefix)]
            time.sleep(0.05)

    def stderr_line(self, words, timeout=2.0):
        """The first line of certgate's stderr containing <words> (None after timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.cg.stderr_path.read_text(errors="replace").splitlines():
                if words in line:
                    return line
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def assertIdentityReached(self, name):
        res = request(self.port, f"/{name}/whoami")
        self.assertIsNotNone(res, "closed without an answer")
        self.assertEqual(res.status, 200, f"{res!r}\n{self.nginx.logs()}")
        self.assertEqual(res.body, f"dn={GW_DN} verify=SUCCESS\n".encode())
        self.assertEqual(self.nginx_saw(f"/{name}/", 1),
                         [("GET", f"/{name}/whoami", 200, GW_DN, "SUCCESS")])

    def test_pkcs12_identity_with_password_env_reaches_nginx(self):
        self.assertIdentityReached("p12env")

    def test_pkcs12_identity_with_password_file_reaches_nginx(self):
        self.assertIdentityReached("p12file")

    def test_pem_identity_reaches_nginx(self):
        self.assertIdentityReached("pem")

    def test_backend_certificate_from_another_ca_gets_502_not_trusted(self):
        res = request(self.port, "/wrongca/x")
        self.assertIsNotNone(res, "closed without an answer")
        body = self.assertJsonError(res, 502, "BadGateway")
        self.assertIn("not trusted", body["detail"])
        self.assertIsNotNone(self.stderr_line("not trusted"), "no log line says why")
        self.assertEqual(self.nginx_saw("/wrongca/", 0, timeout=0.3), [])

    def test_backend_certificate_for_another_name_gets_502_does_not_match(self):
        res = request(self.port, "/wrongname/x")
        self.assertIsNotNone(res, "closed without an answer")
        body = self.assertJsonError(res, 502, "BadGateway")
        self.assertIn("does not match", body["detail"])
        self.assertIsNotNone(self.stderr_line("does not match"), "no log line says why")
        self.assertEqual(self.nginx_saw("/wrongname/", 0, timeout=0.3), [])

    def test_without_a_client_certificate_nginx_400_is_relayed(self):
        res = request(self.port, "/nocert/x")
        self.assertIsNotNone(res, "closed without an answer")
        self.assertEqual(res.status, 400, res)
        self.assertEqual(res.header("Content-Type"), "text/html", res.headers)
        self.assertIn(b"No required SSL certificate was sent", res.body)
        self.assertEqual(self.nginx_saw("/nocert/", 1), [("GET", "/nocert/x", 400, "-", "NONE")])


class TimeoutAndWebSocketTest(BackendTestCase):
    def test_slow_backend_gets_504_after_the_response_timeout(self):
        slow = SlowBackend(3.0).start()
        self.addCleanup(slow.stop)
        port = self.gateway({"app": {"servers": [slow.url],
                                     "timeouts": {"connect": "1s", "response": "1s"}}})
        t0 = time.monotonic()
        res = request(port, "/slow-one", timeout=8)
        took = time.monotonic() - t0
        self.assertIsNotNone(res, "closed without an answer")
        self.assertJsonError(res, 504, "GatewayTimeout")
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 2.5)
        time.sleep(0.5)  # a retry, if any, arrives
        self.assertEqual([(r.method, r.target) for r in slow.traffic()], [("GET", "/slow-one")],
                         "a request whose response timed out was sent again")

    def test_websocket_echo_through_an_mtls_listener(self):
        ws = WebSocketEcho().start()
        self.addCleanup(ws.stop)
        port = free_port()
        cfg = config([listener("mtls", port, "require", backend="ws")])
        cfg["backends"]["ws"] = {"servers": [ws.url]}
        self.certgate(cfg, [port])
        msgs = ["hello through certgate", bytes(range(256)) * 300, "third: π ≠ 3"]
        res = ws_roundtrip(port, "/chat?room=1", msgs, client="valid-client")
        self.assertEqual(res.status, 101, res)
        self.assertEqual((res.header("Upgrade") or "").lower(), "websocket", res.head)
        self.assertEqual(res.header("Sec-WebSocket-Accept"), res.accept_expected, res.head)
        self.assertEqual(res.echoed, msgs)
        self.assertEqual(res.opcodes, [1, 2, 1])
        self.assertEqual(res.close_code, 1000)
        self.assertEqual(ws.messages(), [(1, msgs[0].encode()), (2, msgs[1]),
                                         (1, msgs[2].encode())])
        hs = ws.handshakes()
        self.assertEqual(len(hs), 1, hs)
        h = hs[0]
        self.assertEqual((h.method, h.target), ("GET", "/chat?room=1"))
        self.assertEqual(h.header_values("Upgrade"), ["websocket"])
        tokens = [t.strip().lower() for t in (h.header("Connection") or "").split(",")]
        self.assertIn("upgrade", tokens, h.headers)
        self.assertEqual(h.header_values("Sec-WebSocket-Key"), [res.key])
        self.assertEqual(h.header_values("Sec-WebSocket-Version"), ["13"])
        self.assertForwardedCert(h, "valid-client")
        self.assertIdentityHeaders(h, "valid-client")
        self.assertEqual(ws.errors, [])


class CheckP12Test(CertgateTestCase):
    """`certgate check` opens a backend's PKCS#12 identity and names the place
    of a wrong password, as it does for a listener's certificates."""

    def text(self, password_line):
        pk = upstream_pki()
        return (
            "listeners:\n"
            "  - name: main\n"
            f"    address: 127.0.0.1:{free_port()}\n"
            "    routes:\n"
            "      - {match: {path_prefix: /}, backend: app}\n"
            "backends:\n"
            "  app:\n"
            "    servers:\n"
            "      - https://127.0.0.1:9443\n"
            "    tls:\n"
            f"      ca: {json.dumps(pk.backend_ca)}\n"
            "      server_name: api.internal\n"
            "      client_cert:\n"
            f"        pkcs12: {json.dumps(pk.gw_p12)}\n"
            f"        {password_line}\n"  # line 15
        )

    def test_right_password_file_passes(self):
        rc, out, err, _ = certgate_check(
            self.text(f"password_file: {json.dumps(upstream_pki().gw_p12_pass_file)}"))
        self.assertEqual((rc, err), (0, ""), out)

    def test_wrong_password_file_is_reported_at_the_password(self):
        rc, out, err, path = certgate_check(self.text("password_file: wrong.pass"),
                                            extra_files={"wrong.pass": "not-the-password\n"})
        self.assertEqual(rc, 1, f"stdout: {out}\nstderr: {err}")
        first = err.strip().splitlines()[0] if err.strip() else ""
        self.assertTrue(first.startswith(f"{path}:15:24: "), f"got {err!r}")
        self.assertIn("wrong password for PKCS#12", first)

    def test_wrong_password_env_is_reported_at_the_password(self):
        path = scratch("check") / "check.yaml"
        path.write_text(self.text(f"password_env: {P12_ENV}"))
        r = subprocess.run([BINARY, "check", "-c", str(path)], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, **{P12_ENV: "not-the-password"}))
        self.assertEqual(r.returncode, 1, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        first = r.stderr.strip().splitlines()[0] if r.stderr.strip() else ""
        self.assertTrue(first.startswith(f"{path}:15:23: "), f"got {r.stderr!r}")
        self.assertIn("wrong password for PKCS#12", first)


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = json.dumps({"target": self.path, "via": "v6"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class AddressesTest(BackendTestCase):
    def test_a_host_name_and_an_ipv6_literal_both_serve(self):
        named = self.upstream()
        v6 = _V6Server(("::1", 0), _Hello)
        threading.Thread(target=v6.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self.addCleanup(v6.server_close)
        self.addCleanup(v6.shutdown)
        v6_url = f"http://[::1]:{v6.server_address[1]}"
        port = self.gateway({"app": {"servers": [f"http://localhost:{named.port}", v6_url]}},
                            workers=1)
        # the name resolves on the gateway's loop shortly after start
        deadline = time.monotonic() + 5
        vias = []
        while time.monotonic() < deadline and len(vias) < 10:
            res = request(port, f"/a/{len(vias)}")
            if res is not None and res.status == 200:
                vias.append(res.json().get("via", "v4"))
            else:
                time.sleep(0.05)
        self.assertEqual(len(vias), 10, vias)
        self.assertEqual(sorted(set(vias)), ["v4", "v6"], "both servers took requests")
        self.assertEqual(len(named.traffic()), vias.count("v4"))


class PassiveAndLimitTest(BackendTestCase):
    def test_refused_server_is_ejected_after_max_fails_and_not_tried_again(self):
        live = self.upstream()
        dead = free_port()  # nothing listens: every connect is refused
        port = self.gateway({"app": {
            "servers": [f"http://127.0.0.1:{dead}", live.url],
            "passive": {"max_fails": 2, "fail_timeout": "30s"},
        }}, workers=1)
        for i in range(20):
            self.assertOk(request(port, f"/ej/{i}"), f"/ej/{i}")
        err = self._procs[-1].stderr_path.read_text()
        ejections = [ln for ln in err.splitlines() if "connect failures in a row" in ln]
        # two refusals eject it; for 30 s it is not asked again, so no third failure
        self.assertEqual(len(ejections), 1, err)
        self.assertIn(f"server http://127.0.0.1:{dead}: 2 connect failures in a row, "
                      f"not used for 30000ms", ejections[0])
        self.assertEqual(len(live.traffic()), 20)

    def test_connection_limit_per_server_answers_503_backend_busy(self):
        slow = SlowBackend(delay=1.5).start()
        self.addCleanup(slow.stop)
        port = self.gateway({"app": {"servers": [slow.url],
                                     "pool": {"max_connections": 1}}}, workers=1)
        first = {}
        t = threading.Thread(target=lambda: first.setdefault("res", request(port, "/a", timeout=10)))
        t.start()
        time.sleep(0.5)  # the first holds the one connection
        res = request(port, "/b", timeout=10)
        t.join(10)
        self.assertEqual(res.status, 503, res)
        self.assertEqual(res.json()["error"], "BackendBusy")
        self.assertEqual(first["res"].status, 200)
        self.assertEqual([r.target for r in slow.traffic()], ["/a"])

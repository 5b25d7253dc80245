"""Operating certgate (issue 7, SPEC §7 and §9): reloads under load, failed
reloads, watched files, graceful drain, /metrics, the access log, shared
session ticket keys, /health vs /ready, and reopening log files on SIGUSR1."""

import base64
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import prom
from upstreams import WebSocketEcho, ws_roundtrip
from harness import (
    ASAN,
    BINARY,
    CertgateTestCase,
    RawConn,
    cert_facts,
    config,
    curl,
    free_port,
    key,
    listener,
    pem,
    pki,
    s_client,
    scratch,
    to_yaml,
)

SLACK = 3.0 if ASAN else 1.0  # how much longer a sanitized binary may take
SLOW_MS = 4000 if ASAN else 1500  # the request in flight while draining

EXPECTED_TYPES = {
    "certgate_build_info": "gauge",
    "certgate_connections_total": "counter",
    "certgate_connections_open": "gauge",
    "certgate_connections_refused_total": "counter",
    "certgate_tls_handshakes_total": "counter",
    "certgate_tls_handshake_failures_total": "counter",
    "certgate_tls_handshakes_resumed_total": "counter",
    "certgate_tls_handshake_duration_seconds": "histogram",
    "certgate_requests_total": "counter",
    "certgate_responses_total": "counter",
    "certgate_verdicts_total": "counter",
    "certgate_client_cert_rejections_total": "counter",
    "certgate_request_duration_seconds": "histogram",
    "certgate_upstream_duration_seconds": "histogram",
    "certgate_upstream_server_up": "gauge",
    "certgate_ocsp_queries_total": "counter",
    "certgate_ocsp_cache_hits_total": "counter",
    "certgate_ocsp_cache_misses_total": "counter",
    "certgate_ocsp_responder_duration_seconds": "histogram",
    "certgate_reloads_total": "counter",
    "certgate_config_generation": "gauge",
    "certgate_config_last_reload_successful": "gauge",
    "certgate_slow_request_bodies_total": "counter",
}

RELOAD_OK = ("certgate_reloads_total", {"result": "success"})
RELOAD_FAILED = ("certgate_reloads_total", {"result": "failure"})


# --- helpers ---------------------------------------------------------------------


def admin_get(port, path, timeout=5):
    return curl(f"http://127.0.0.1:{port}{path}", cacert=None, timeout=timeout)


def admin_json(port, path, timeout=5):
    """(status, JSON body) of an admin endpoint; the raw body when it is not JSON
    (status 0: no answer within <timeout> s)."""
    res = admin_get(port, path, timeout)
    try:
        return res.status, json.loads(res.body)
    except ValueError:
        return res.status, res.body


def scrape(port):
    """GET /metrics, checked to be Prometheus text 0.0.4 and parsed strictly."""
    res = admin_get(port, "/metrics")
    if res.status != 200:
        raise AssertionError(f"/metrics answered {res!r}")
    ctype = [p.strip() for p in (res.header("Content-Type") or "").split(";")]
    if ctype[0] != "text/plain" or "version=0.0.4" not in ctype[1:]:
        raise AssertionError(f"/metrics Content-Type is {res.header('Content-Type')!r}")
    return prom.parse(res.body.decode())


def wait_until(fn, timeout, step=0.05):
    """Call <fn> until it returns a true value or <timeout> s pass; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def wait_metric(admin, name, labels, want, timeout=5.0):
    """Poll /metrics until sample <name>{labels} == <want>; returns the last page."""
    page = None

    def check():
        nonlocal page
        page = scrape(admin)
        return page.get(name, labels, default=None) == want

    wait_until(check, timeout, step=0.1)
    return page


def write_atomic(path, text):
    """Replace <path> as editors and deploy tools do: a new file renamed over it."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text) if isinstance(text, str) else tmp.write_bytes(text)
    os.replace(tmp, path)


def json_lines(path, strict=True):
    """Every line of a JSON-lines log; a line that is not JSON fails when <strict>."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            if strict:
                raise AssertionError(f"{path}: not a JSON line: {line!r}")
            continue
        if strict and not isinstance(doc, dict):
            raise AssertionError(f"{path}: not a JSON object: {line!r}")
        if isinstance(doc, dict):
            out.append(doc)
    return out


def access_lines(path, target, n=1, timeout=3.0):
    """The access-log lines of <path> for <target>, once there are <n> (or timeout)."""
    found = []

    def look():
        found[:] = [d for d in json_lines(path) if d.get("target") == target]
        return len(found) >= n

    wait_until(look, timeout)
    return list(found)


def http_request(target, method="GET", body=b"", host="localhost", close=True):
    head = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    if body:
        head.append(f"Content-Length: {len(body)}")
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def s_client_http(out):
    """(status, headers {lower name: value}, body) of the HTTP response in s_client output."""
    i = out.find("HTTP/1.1 ")
    if i < 0:
        raise AssertionError(f"no HTTP response in s_client output:\n{out}")
    head, _, rest = out[i:].partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    return int(lines[0].split(" ")[1]), headers, rest[:n]


def session_line(out):
    """('New' | 'Reused', 'TLSv1.3', cipher) from s_client's session summary."""
    m = re.search(r"\n(New|Reused), (TLSv1\.[23]), Cipher is (\S+)", out)
    if m is None:
        raise AssertionError(f"no session summary in s_client output:\n{out}")
    return m.groups()


def resume(port_out, port_in, version, target="/resume", client="valid-client"):
    """A session from <port_out> (-sess_out) offered to <port_in> (-sess_in);
    returns both s_client outputs."""
    sess = scratch("sess") / "session.pem"
    outs = []
    for port, io in ((port_out, "-sess_out"), (port_in, "-sess_in")):
        _, out = s_client(port, version, io, str(sess), client=client,
                          data=http_request(target), timeout=10)
        outs.append(out)
        if io == "-sess_out" and not sess.exists():
            raise AssertionError(f"s_client wrote no session:\n{out}")
    return outs


def ticket_key_line():
    """One line of a ticket_keys file: base64 of 80 random bytes, unwrapped."""
    return base64.b64encode(os.urandom(80)).decode()


def reissue_server_cert(dest_dir):
    """A new certificate for the demo server key (new serial, same names),
    signed by the demo root; returns its path."""
    d = dest_dir
    csr, out, ext = d / "reissued.csr", d / "reissued.pem", d / "reissued.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "extendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\n")
    subprocess.run(["openssl", "req", "-new", "-key", key("server"), "-subj",
                    "/O=APIM Sample/CN=localhost", "-out", str(csr)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", pem("root-ca"),
                    "-CAkey", str(pki() / "root-ca.key"), "-set_serial", "0x5eed0007",
                    "-days", "30", "-extfile", str(ext), "-out", str(out)],
                   check=True, capture_output=True)
    return out


def der_of(pem_path):
    return subprocess.run(["openssl", "x509", "-in", str(pem_path), "-outform", "DER"],
                          check=True, capture_output=True).stdout


def served_cert(port):
    """DER of the certificate certgate presents on <port> now."""
    with RawConn(port, tls=True, client="valid-client", timeout=5) as c:
        return c.sock.getpeercert(binary_form=True)


def reload_error_lines(cg):
    """The stderr lines saying a reload failed: [(json doc, raw line)]."""
    out = []
    for line in cg.stderr_path.read_text(errors="replace").splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "reload failed" in str(doc.get("msg", "")):
            out.append((doc, line))
    return out


def gen_forward(gen):
    """A forward block whose one certificate header is named after <gen>."""
    return {"headers": [{"name": f"X-Gen-{gen}", "format": "base64-der"}],
            "identity_headers": False}


def gens_of(req):
    return [k for k in req.names() if k.lower().startswith("x-gen-")]


# --- 1. reloads under load -----------------------------------------------------------


class Load:
    """Real mTLS clients in threads until stop(): keep-alive RawConns sending
    many requests each, RawConns doing a full handshake per request, and curl
    (a full handshake per request). .results: [(kind, target, status, error)]."""

    def __init__(self, port, keep_alive=2, fresh=1, curls=1):
        self.port = port
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = (
            [threading.Thread(target=self._keep_alive, args=(i,)) for i in range(keep_alive)]
            + [threading.Thread(target=self._fresh, args=(i,)) for i in range(fresh)]
            + [threading.Thread(target=self._curl, args=(i,)) for i in range(curls)]
        )

    def _record(self, kind, target, status, error=""):
        with self._lock:
            self.results.append((kind, target, status, error))

    def _one(self, conn, target):
        conn.send(http_request(target, host=f"localhost:{self.port}", close=False))
        return conn.read_response(timeout=5)

    def _keep_alive(self, i):
        conn, cid, n = None, 0, 0
        while not self._stop.is_set():
            n += 1
            target = f"/ka/{i}/{cid}/{n}"
            try:
                if conn is None:
                    conn = RawConn(self.port, tls=True, client="valid-client", timeout=5)
                res = self._one(conn, target)
                err = "" if res is not None else "connection closed without a response"
                self._record("keep-alive", target, res.status if res else 0, err)
                if res is None or (res.header("Connection") or "").lower() == "close":
                    conn.close()
                    conn, cid = None, cid + 1
            except (OSError, TimeoutError, AssertionError) as e:
                self._record("keep-alive", target, 0, repr(e))
                if conn is not None:
                    conn.close()
                conn, cid = None, cid + 1
            self._stop.wait(0.005)
        if conn is not None:
            conn.close()

    def _fresh(self, i):
        n = 0
        while not self._stop.is_set():
            n += 1
            target = f"/fresh/{i}/{n}"
            try:
                with RawConn(self.port, tls=True, client="valid-client", timeout=5) as conn:
                    res = self._one(conn, target)
                self._record("fresh", target, res.status if res else 0,
                             "" if res else "connection closed without a response")
            except (OSError, TimeoutError, AssertionError) as e:
                self._record("fresh", target, 0, repr(e))
            self._stop.wait(0.01)

    def _curl(self, i):
        n = 0
        while not self._stop.is_set():
            n += 1
            target = f"/curl/{i}/{n}"
            res = curl(f"https://localhost:{self.port}{target}", client="valid-client",
                       timeout=5)
            self._record("curl", target, res.status, res.stderr.strip())
            self._stop.wait(0.01)

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def count(self, kind):
        with self._lock:
            return sum(1 for k, _, s, _ in self.results if k == kind and s == 200)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(20)
        if any(t.is_alive() for t in self._threads):
            raise AssertionError("a load thread is stuck")
        return list(self.results)


class ReloadUnderLoadTest(CertgateTestCase):
    def config_text(self, gen):
        lst = listener("mtls", self.port, "require", forward=gen_forward(gen))
        return to_yaml(config([lst], self.be.url, admin={"address": f"127.0.0.1:{self.admin}"}))

    def test_20_reloads_under_keep_alive_and_handshake_load_lose_no_request(self):
        self.be = self.backend()
        self.port, self.admin = free_port(), free_port()
        cg = self.certgate(self.config_text(0), [self.port, self.admin])
        start = scrape(self.admin)
        load = Load(self.port).start()
        try:
            warm = wait_until(lambda: all(load.count(k) >= 3
                                          for k in ("keep-alive", "fresh", "curl")), 10)
            self.assertTrue(warm, f"the load did not get going: {load.results[:10]}")
            rng = random.Random(7)
            for gen in range(1, 21):
                write_atomic(cg.config_path, self.config_text(gen))
                cg.signal(signal.SIGHUP)
                time.sleep(rng.uniform(0.1, 0.2))
            time.sleep(0.5)  # the load goes on past the last reload
        finally:
            results = load.stop()
        failed = [r for r in results if r[2] != 200]
        self.assertEqual(failed, [], f"{len(failed)} of {len(results)} requests failed")
        for kind in ("keep-alive", "fresh", "curl"):
            self.assertGreaterEqual(sum(1 for r in results if r[0] == kind), 10,
                                    f"too little {kind} load to mean anything")

        # every request the backend received was forwarded under exactly one config
        b64 = cert_facts("valid-client")["b64"]
        seen = {}
        for req in self.be.requests():
            names = gens_of(req)
            self.assertEqual(len(names), 1, f"{req.target}: {req.names()}")
            self.assertEqual(req.header(names[0]), b64)
            seen[req.target] = int(names[0].split("-")[-1])
        self.assertEqual(sorted(seen), sorted(t for _, t, _, _ in results))
        # a keep-alive connection moves forward through the generations, never back
        by_conn = {}
        for target, gen in seen.items():
            if target.startswith("/ka/"):
                _, _, thread, cid, n = target.split("/")
                by_conn.setdefault((thread, cid), []).append((int(n), gen))
        for conn, seq in by_conn.items():
            gens = [g for _, g in sorted(seq)]
            self.assertEqual(gens, sorted(gens), f"connection {conn} went back a generation")
        self.assertIn(0, seen.values())
        self.assertGreaterEqual(len(set(seen.values())), 5,
                                f"the load saw too few configs: {sorted(set(seen.values()))}")

        # after the last reload the final config is in effect
        page = wait_metric(self.admin, *RELOAD_OK, 20)  # (every SIGHUP handled)
        self.be.clear()
        res = curl(f"https://localhost:{self.port}/final", client="valid-client")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(gens_of(self.be.only()), ["X-Gen-20"])
        self.assertEqual(page.value(*RELOAD_OK), 20)
        self.assertEqual(page.value(*RELOAD_FAILED), 0)
        self.assertEqual(page.value("certgate_config_generation")
                         - start.value("certgate_config_generation"), 20)
        self.assertEqual(page.value("certgate_config_last_reload_successful"), 1)
        self.assertEqual(page.value("certgate_connections_refused_total"), 0)
        self.assertEqual(reload_error_lines(cg), [])


# --- 2. failed reloads -----------------------------------------------------------------


class FailedReloadTest(CertgateTestCase):
    def config_dict(self, gen, cert=None):
        certs = [{"cert": cert or pem("server"), "key": key("server")}]
        lst = listener("mtls", self.port, "require", certs=certs, forward=gen_forward(gen))
        return config([lst], self.be.url, admin={"address": f"127.0.0.1:{self.admin}"})

    def get(self, path):
        self.be.clear()
        res = curl(f"https://localhost:{self.port}{path}", client="valid-client")
        self.assertEqual(res.status, 200, res)
        return self.be.only()

    def test_broken_yaml_and_missing_certificate_change_nothing_and_are_reported(self):
        self.be = self.backend()
        self.port, self.admin = free_port(), free_port()
        cg = self.certgate(self.config_dict("old"), [self.port, self.admin])
        page = scrape(self.admin)
        gen0 = page.value("certgate_config_generation")
        self.assertEqual(page.value(*RELOAD_OK), 0)
        self.assertEqual(page.value(*RELOAD_FAILED), 0)
        self.assertEqual(page.value("certgate_config_last_reload_successful"), 1)
        self.assertEqual(gens_of(self.get("/before")), ["X-Gen-old"])

        # 1. a YAML syntax error: "mapping values are not allowed" at the second ':'
        good = to_yaml(self.config_dict("broken"))
        broken = good + "broken: a: b\n"
        bad_line = broken.count("\n")
        write_atomic(cg.config_path, broken)
        cg.signal(signal.SIGHUP)
        page = wait_metric(self.admin, *RELOAD_FAILED, 1)
        self.assertEqual(page.value(*RELOAD_FAILED), 1)
        self.assertEqual(page.value(*RELOAD_OK), 0)
        self.assertEqual(page.value("certgate_config_last_reload_successful"), 0)
        self.assertEqual(page.value("certgate_config_generation"), gen0)
        errors = reload_error_lines(cg)
        self.assertEqual(len(errors), 1, errors)
        doc, raw = errors[0]
        self.assertEqual(doc.get("level"), "error", raw)
        self.assertIn(f"{cg.config_path}:{bad_line}:10", doc["msg"])
        self.assertTrue(cg.alive())
        self.assertEqual(gens_of(self.get("/after-yaml")), ["X-Gen-old"])

        # 2. a certificate file that is not there
        missing = cg.dir / "gone" / "server.pem"
        write_atomic(cg.config_path, to_yaml(self.config_dict("missing", cert=str(missing))))
        cg.signal(signal.SIGHUP)
        page = wait_metric(self.admin, *RELOAD_FAILED, 2)
        self.assertEqual(page.value(*RELOAD_FAILED), 2)
        self.assertEqual(page.value(*RELOAD_OK), 0)
        self.assertEqual(page.value("certgate_config_last_reload_successful"), 0)
        self.assertEqual(page.value("certgate_config_generation"), gen0)
        errors = reload_error_lines(cg)
        self.assertEqual(len(errors), 2, errors)
        doc, raw = errors[1]
        self.assertEqual(doc.get("level"), "error", raw)
        self.assertIn(str(missing), doc["msg"])
        self.assertTrue(cg.alive())
        self.assertEqual(gens_of(self.get("/after-missing")), ["X-Gen-old"])

        # 3. a good file: success +1, the gauge back to 1, the new config serves
        write_atomic(cg.config_path, to_yaml(self.config_dict("new")))
        cg.signal(signal.SIGHUP)
        page = wait_metric(self.admin, *RELOAD_OK, 1)
        self.assertEqual(page.value(*RELOAD_OK), 1)
        self.assertEqual(page.value(*RELOAD_FAILED), 2)
        self.assertEqual(page.value("certgate_config_last_reload_successful"), 1)
        self.assertEqual(page.value("certgate_config_generation"), gen0 + 1)
        self.assertEqual(len(reload_error_lines(cg)), 2)
        self.assertEqual(gens_of(self.get("/after-good")), ["X-Gen-new"])


# --- 3. watched files ------------------------------------------------------------------


class WatchTest(CertgateTestCase):
    def start(self, gen):
        self.be = self.backend()
        self.port, self.admin = free_port(), free_port()
        d = scratch("watched")
        self.cert, self.key = d / "server.pem", d / "server.key"
        shutil.copyfile(pem("server"), self.cert)
        shutil.copyfile(key("server"), self.key)
        cg = self.certgate(self.config_text(gen), [self.port, self.admin])
        self.assertEqual(scrape(self.admin).value(*RELOAD_OK), 0)
        return cg

    def config_text(self, gen):
        certs = [{"cert": str(self.cert), "key": str(self.key)}]
        lst = listener("mtls", self.port, "require", certs=certs, forward=gen_forward(gen))
        return to_yaml(config([lst], self.be.url, admin={"address": f"127.0.0.1:{self.admin}"},
                              reload={"watch": True}))

    def test_replaced_server_certificate_is_served_within_3s_without_sighup(self):
        self.start("w")
        old = served_cert(self.port)
        self.assertEqual(old, der_of(pem("server")))
        time.sleep(0.5)  # nothing changed: nothing reloads
        self.assertEqual(scrape(self.admin).value(*RELOAD_OK), 0)
        new_pem = reissue_server_cert(scratch("reissue"))  # not in the watched dir
        t0 = time.monotonic()
        write_atomic(self.cert, new_pem.read_bytes())
        new = der_of(new_pem)
        served = wait_until(lambda: served_cert(self.port) == new, 3.0 * SLACK, step=0.1)
        took = time.monotonic() - t0
        self.assertTrue(served, "the replaced certificate is not served 3 s later")
        self.assertLess(took, 3.0 * SLACK)
        time.sleep(0.6)  # one change, one reload (after its quiet period)
        page = scrape(self.admin)
        self.assertEqual(page.value(*RELOAD_OK), 1)
        self.assertEqual(page.value(*RELOAD_FAILED), 0)

    def test_edited_config_file_applies_within_3s_without_sighup(self):
        cg = self.start("before")
        res = curl(f"https://localhost:{self.port}/a", client="valid-client")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(gens_of(self.be.only()), ["X-Gen-before"])
        t0 = time.monotonic()
        cg.config_path.write_text(self.config_text("after"))  # edited in place
        page = wait_metric(self.admin, *RELOAD_OK, 1, timeout=3.0 * SLACK)
        self.assertLess(time.monotonic() - t0, 3.0 * SLACK)
        self.assertEqual(page.value(*RELOAD_OK), 1)
        self.assertEqual(page.value(*RELOAD_FAILED), 0)
        self.be.clear()
        res = curl(f"https://localhost:{self.port}/b", client="valid-client")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(gens_of(self.be.only()), ["X-Gen-after"])


# --- 4. drain --------------------------------------------------------------------------


def connect_refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


class DrainTest(CertgateTestCase):
    def start(self, drain_timeout):
        self.be = self.backend()
        self.port, self.admin = free_port(), free_port()
        cfg = config([listener("mtls", self.port, "require")], self.be.url,
                     admin={"address": f"127.0.0.1:{self.admin}"}, drain_timeout=drain_timeout)
        return self.certgate(cfg, [self.port, self.admin])

    def in_flight(self, path):
        """curl <path> in a thread; returns (thread, result dict) once the
        backend holds the request."""
        got = {}

        def run():
            got["res"] = curl(f"https://localhost:{self.port}{path}", client="valid-client",
                              timeout=20)
            got["at"] = time.monotonic()

        t = threading.Thread(target=run)
        t.start()
        self.assertEqual([r.target for r in self.be.wait_for(1, timeout=5)], [path])
        return t, got

    def test_sigterm_finishes_the_slow_request_refuses_new_ones_and_exits_0(self):
        cg = self.start("10s")
        self.assertEqual(admin_json(self.admin, "/ready"), (200, {"status": "ready"}))
        t, got = self.in_flight(f"/slow/{SLOW_MS}")
        sigterm = time.monotonic()
        cg.signal(signal.SIGTERM)
        # observe first, assert once the process is gone (a failed check must
        # not leave it draining for the cleanup's second SIGTERM)
        refused = wait_until(lambda: connect_refused(self.port), 0.8 * SLACK, step=0.02)
        refused_while_busy = t.is_alive()
        # the admin listener stays open during the drain (short timeouts: the
        # slow request must still be running when they answer)
        ready = admin_json(self.admin, "/ready", timeout=0.3 * SLACK)
        health = admin_json(self.admin, "/health", timeout=0.3 * SLACK)
        admin_while_busy = t.is_alive()
        t.join(15)
        rc = cg.wait(10)
        exited = time.monotonic()

        self.assertTrue(refused, "a new connection is still accepted after SIGTERM")
        self.assertTrue(refused_while_busy, "the slow request ended before the refusal")
        self.assertEqual(ready, (503, {"status": "draining"}))
        self.assertEqual(health, (200, {"status": "ok"}))
        self.assertTrue(admin_while_busy, "the slow request ended before /ready answered")
        res = got["res"]
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.json()["target"], f"/slow/{SLOW_MS}")
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(got["at"] - sigterm, SLOW_MS / 1000 - 0.5,
                                "the request did not wait for the backend")
        self.assertLess(exited - got["at"], 2.0 * SLACK,
                        "did not exit once the last request was done")

    def test_request_longer_than_drain_timeout_is_cut_and_the_process_exits_0(self):
        cg = self.start("1s")
        t, got = self.in_flight("/slow/5000")
        sigterm = time.monotonic()
        cg.signal(signal.SIGTERM)
        rc = cg.wait(10)
        took = time.monotonic() - sigterm
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(took, 0.9, "exited before drain_timeout with a request in flight")
        self.assertLess(took, 2.0 * SLACK, "still running well after drain_timeout: 1s")
        t.join(10)
        self.assertFalse(t.is_alive())
        res = got["res"]
        self.assertEqual(res.status, 0, f"the cut request got an answer: {res!r}")
        self.assertLess(got["at"] - sigterm, 2.0 * SLACK)


# --- 5. metrics ------------------------------------------------------------------------


class MetricsTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port, cls.admin = free_port(), free_port()
        routes = [{"match": {"host": "localhost", "path_prefix": "/api"}, "backend": "app"},
                  {"match": {"path_prefix": "/"}, "backend": "app"}]
        cls.cg = cls.class_certgate(
            config([listener("mtls", cls.port, "require", routes=routes)], cls.be.url,
                   admin={"address": f"127.0.0.1:{cls.admin}"}),
            [cls.port, cls.admin])

    def setUp(self):
        super().setUp()
        self.be.clear()

    def test_page_parses_strictly_with_every_family_typed(self):
        page = scrape(self.admin)
        for fam, typ in EXPECTED_TYPES.items():
            self.assertEqual(page.types.get(fam), typ, f"# TYPE of {fam}")
        info = page.select("certgate_build_info")
        self.assertEqual(len(info), 1, info)
        labels, v = info[0]
        self.assertEqual(v, 1)
        self.assertEqual(set(labels), {"version", "openssl"})
        version = subprocess.run([BINARY, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout.split()[-1]
        self.assertEqual(labels["version"], version)
        self.assertRegex(labels["openssl"], r"\d+\.\d+\.\d+")
        self.assertEqual(page.value(*RELOAD_OK), 0)
        self.assertEqual(page.value(*RELOAD_FAILED), 0)
        self.assertEqual(page.value("certgate_config_last_reload_successful"), 1)
        self.assertGreaterEqual(page.value("certgate_config_generation"), 1)
        self.assertEqual(page.value("certgate_connections_refused_total"), 0)
        for name in ("certgate_ocsp_queries_total", "certgate_ocsp_cache_hits_total",
                     "certgate_ocsp_cache_misses_total"):
            self.assertEqual(page.value(name), 0, name)  # no OCSP in this config
        self.assertEqual(page.value("certgate_upstream_server_up",
                                    {"backend": "app", "server": self.be.url}), 1)

    def test_expired_client_moves_rejections_and_verdicts_by_one(self):
        route = {"listener": "mtls", "route": "*/"}
        rej = ("certgate_client_cert_rejections_total", {"reason": "ClientCertificateExpired"})
        verdict = ("certgate_verdicts_total", dict(route, reason="ClientCertificateExpired"))
        r4xx = ("certgate_responses_total", dict(route, **{"class": "4xx"}))
        before = scrape(self.admin)
        res = curl(f"https://localhost:{self.port}/m", client="expired-client")
        self.assertJsonError(res, 401, "ClientCertificateExpired")
        after = scrape(self.admin)
        self.assertEqual(after.value(*rej) - before.get(*rej), 1)
        self.assertEqual(after.value(*verdict) - before.get(*verdict), 1)
        self.assertEqual(after.value(*r4xx) - before.get(*r4xx), 1)
        ok = ("certgate_verdicts_total", dict(route, reason="OK"))
        self.assertEqual(after.get(*ok) - before.get(*ok), 0)
        reqs = ("certgate_request_duration_seconds_count", {"listener": "mtls"})
        self.assertEqual(after.value(*reqs) - before.get(*reqs), 1)
        ups = ("certgate_upstream_duration_seconds_count", {"backend": "app"})
        self.assertEqual(after.get(*ups) - before.get(*ups), 0, "a rejection went upstream")
        self.assertNothingReached(self.be)

    def test_valid_request_moves_its_route_and_the_histograms_by_one(self):
        route = {"listener": "mtls", "route": "localhost/api"}
        r2xx = ("certgate_responses_total", dict(route, **{"class": "2xx"}))
        other = ("certgate_responses_total", {"listener": "mtls", "route": "*/", "class": "2xx"})
        ok = ("certgate_verdicts_total", dict(route, reason="OK"))
        reqs = ("certgate_request_duration_seconds_count", {"listener": "mtls"})
        ups = ("certgate_upstream_duration_seconds_count", {"backend": "app"})
        before = scrape(self.admin)
        res = curl(f"https://localhost:{self.port}/api/v", client="valid-client")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(self.be.only().target, "/api/v")
        after = scrape(self.admin)
        self.assertEqual(after.value(*r2xx) - before.get(*r2xx), 1)
        self.assertEqual(after.get(*other) - before.get(*other), 0)
        self.assertEqual(after.value(*ok) - before.get(*ok), 1)
        self.assertEqual(after.value(*reqs) - before.get(*reqs), 1)
        self.assertEqual(after.value(*ups) - before.get(*ups), 1)
        # the request and the second scrape itself
        self.assertEqual(after.value("certgate_requests_total")
                         - before.value("certgate_requests_total"), 2)
        self.assertEqual(after.value("certgate_tls_handshakes_total")
                         - before.value("certgate_tls_handshakes_total"), 1)
        for fam, labels in (("certgate_request_duration_seconds", {"listener": "mtls"}),
                            ("certgate_upstream_duration_seconds", {"backend": "app"})):
            buckets, _, count = after.histogram(fam, labels)
            self.assertGreaterEqual(len(buckets), 2, f"{fam}: no finite bucket")
            self.assertTrue(math.isinf(buckets[-1][0]))
            self.assertEqual(buckets[-1][1], count)

    def test_resumed_handshake_moves_resumed_by_one(self):
        hs = "certgate_tls_handshakes_total"
        resumed = "certgate_tls_handshakes_resumed_total"
        dur = "certgate_tls_handshake_duration_seconds_count"
        before = scrape(self.admin)
        outs = resume(self.port, self.port, "-tls1_3")
        self.assertEqual(session_line(outs[0])[0], "New")
        self.assertEqual(session_line(outs[1])[0], "Reused")
        for out in outs:
            self.assertEqual(s_client_http(out)[0], 200, out)
        after = scrape(self.admin)
        self.assertEqual(after.value(resumed) - before.value(resumed), 1)
        self.assertEqual(after.value(hs) - before.value(hs), 2)
        self.assertEqual(after.value(dur) - before.value(dur), 2)
        self.assertEqual(after.value("certgate_tls_handshake_failures_total")
                         - before.value("certgate_tls_handshake_failures_total"), 0)


# --- 6. the access log -----------------------------------------------------------------

TIME_RE = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"


class AccessLogTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port = free_port()
        routes = [{"match": {"path_prefix": "/echo"}, "backend": "echo"},
                  {"match": {"path_prefix": "/"}, "backend": "app"}]
        cls.cg = cls.class_certgate(
            config([listener("mtls", cls.port, "require", routes=routes)], cls.be.url,
                   log={"access": "stdout"}), [cls.port])

    def line(self, target):
        lines = access_lines(self.cg.stdout_path, target)
        self.assertEqual(len(lines), 1, f"access-log lines for {target}: {lines}")
        return lines[0]

    def assertClient(self, line, name):
        f = cert_facts(name)
        self.assertEqual(line["client_subject"], f["subject"])
        self.assertEqual(line["client_issuer"], f["issuer"])
        self.assertEqual(line["client_sha256"], f["sha256"])

    def request(self, version, target, client="valid-client", body=b""):
        method = "POST" if body else "GET"
        _, out = s_client(self.port, version, client=client,
                          data=http_request(target, method, body), timeout=10)
        return out

    def check_ok(self, version, target):
        out = self.request(version, target, body=b"hello access log")
        status, headers, body = s_client_http(out)
        self.assertEqual(status, 200, out)
        new, tls_version, cipher = session_line(out)
        line = self.line(target)
        self.assertRegex(line["time"], TIME_RE)
        expect = {
            "listener": "mtls", "route": "*/", "remote": "127.0.0.1", "sni": "localhost",
            "tls_version": tls_version, "cipher": cipher, "resumed": False,
            "verdict": "OK", "method": "POST", "target": target, "status": 200,
            "bytes_in": 16, "bytes_out": int(headers["content-length"]),
            "upstream": self.be.url,
        }
        self.assertEqual({k: line.get(k) for k in expect}, expect, line)
        self.assertClient(line, "valid-client")
        # the hex of `openssl x509 -noout -fingerprint -sha256`, colons dropped
        fp = subprocess.run(["openssl", "x509", "-in", pem("valid-client"), "-noout",
                             "-fingerprint", "-sha256"], capture_output=True, text=True,
                            check=True).stdout.strip().split("=", 1)[1]
        self.assertEqual(line["client_sha256"], fp.replace(":", "").upper())
        return line

    def test_tls13_request_line_carries_identity_tls_and_timings(self):
        line = self.check_ok("-tls1_3", "/log/13/slow/300")
        self.assertEqual(line["tls_version"], "TLSv1.3")
        self.assertIsInstance(line["ms"], int)
        self.assertGreaterEqual(line["ms"], 300)
        self.assertIsInstance(line["upstream_ms"], (int, float))
        self.assertGreaterEqual(line["upstream_ms"], 300)
        self.assertLessEqual(line["upstream_ms"], line["ms"])

    def test_tls12_request_line(self):
        line = self.check_ok("-tls1_2", "/log/12")
        self.assertEqual(line["tls_version"], "TLSv1.2")

    def test_expired_client_line_has_the_reason_and_401(self):
        out = self.request("-tls1_3", "/log/expired", client="expired-client")
        status, headers, _ = s_client_http(out)
        self.assertEqual(status, 401, out)
        line = self.line("/log/expired")
        expect = {"listener": "mtls", "route": "*/", "verdict": "ClientCertificateExpired",
                  "status": 401, "method": "GET", "resumed": False,
                  "bytes_out": int(headers["content-length"])}
        self.assertEqual({k: line.get(k) for k in expect}, expect, line)
        self.assertClient(line, "expired-client")
        self.assertNotIn("upstream", line)
        self.assertNothingReached(self.be)

    def test_websocket_line_is_written_when_the_tunnel_ends(self):
        ws = WebSocketEcho().start()
        self.addCleanup(ws.stop)
        port, admin = free_port(), free_port()
        cfg = config([listener("mtls", port, "require", backend="ws")], log={"access": "stdout"},
                     admin={"address": f"127.0.0.1:{admin}"})
        cfg["backends"]["ws"] = {"servers": [ws.url]}
        cg = self.certgate(cfg, [port, admin])
        msgs = ["a" * 100, bytes(5000)]
        res = ws_roundtrip(port, "/ws/line", msgs, client="valid-client")
        self.assertEqual((res.status, res.echoed, res.close_code), (101, msgs, 1000), res)
        lines = access_lines(cg.stdout_path, "/ws/line")
        self.assertEqual(len(lines), 1, lines)
        line = lines[0]
        expect = {"listener": "mtls", "verdict": "OK", "method": "GET", "target": "/ws/line",
                  "status": 101, "upstream": ws.url}
        self.assertEqual({k: line.get(k) for k in expect}, expect, line)
        # the frames both ways (masked from the client: 6 or 8 bytes of header each)
        self.assertGreaterEqual(line["bytes_in"], 5100 + 6 + 8)
        self.assertLess(line["bytes_in"], 5200)
        self.assertGreaterEqual(line["bytes_out"], 5100 + 2 + 4)
        self.assertLess(line["bytes_out"], 5200)
        self.assertClient(line, "valid-client")
        # the 101 counts as a response; the session is no request latency
        page = scrape(admin)
        self.assertEqual([v for _, v in page.select("certgate_responses_total", listener="mtls",
                                                    **{"class": "1xx"})], [1])
        self.assertEqual(page.value("certgate_request_duration_seconds_count",
                                    {"listener": "mtls"}), 0)

    def test_local_answer_has_no_upstream(self):
        out = self.request("-tls1_3", "/echo/x")
        self.assertEqual(s_client_http(out)[0], 200, out)
        line = self.line("/echo/x")
        self.assertEqual((line.get("status"), line.get("verdict")), (200, "OK"), line)
        self.assertNotIn("upstream", line)

    def test_resumed_session_line_says_resumed(self):
        outs = resume(self.port, self.port, "-tls1_3", target="/log/resumed")
        self.assertEqual([session_line(o)[0] for o in outs], ["New", "Reused"])
        lines = access_lines(self.cg.stdout_path, "/log/resumed", n=2)
        self.assertEqual([(ln.get("resumed"), ln.get("status"), ln.get("verdict")) for ln in lines],
                         [(False, 200, "OK"), (True, 200, "OK")])
        for ln in lines:
            self.assertClient(ln, "valid-client")


# --- 7. shared session ticket keys -----------------------------------------------------


class TicketKeysTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        d = scratch("tickets")
        k1, k2 = ticket_key_line(), ticket_key_line()
        files = {"k1": [k1], "k2": [k2], "k2k1": [k2, k1]}
        cls.files = {}
        for name, lines in files.items():
            cls.files[name] = d / f"{name}.keys"
            cls.files[name].write_text("\n".join(lines) + "\n")
        cls.k1_again = d / "k1-again.keys"  # the same key, in a file of its own
        cls.k1_again.write_text(k1 + "\n")
        cls.k2_reloadable = d / "k2-reloadable.keys"
        cls.k2_reloadable.write_text(k2 + "\n")
        cls.ports = {}
        cls.procs = {}
        for name, path in (("a", cls.files["k1"]), ("b", cls.k1_again), ("c", cls.files["k2"]),
                           ("d", cls.files["k2k1"]), ("e", cls.k2_reloadable)):
            port = free_port()
            cls.ports[name] = port
            cls.procs[name] = cls.class_certgate(
                config([listener("mtls", port, "require", backend="echo")],
                       ticket_keys=str(path)), [port], workers=1, name=f"tickets-{name}")

    def assertResumed(self, src, dst, version, reused=True):
        outs = resume(self.ports[src], self.ports[dst], version)
        tls = {"-tls1_3": "TLSv1.3", "-tls1_2": "TLSv1.2"}[version]
        self.assertEqual(session_line(outs[0])[:2], ("New", tls))
        want = "Reused" if reused else "New"
        self.assertEqual(session_line(outs[1])[0], want,
                         f"{src} -> {dst} {version}: expected {want}\n{outs[1]}")
        for out in outs:
            self.assertEqual(s_client_http(out)[0], 200, out)

    def test_same_key_file_content_resumes_across_instances_tls13(self):
        self.assertResumed("a", "b", "-tls1_3")
        self.assertResumed("b", "a", "-tls1_3")

    def test_same_key_file_content_resumes_across_instances_tls12(self):
        self.assertResumed("a", "b", "-tls1_2")
        self.assertResumed("b", "a", "-tls1_2")

    def test_different_keys_do_not_resume(self):
        for version in ("-tls1_3", "-tls1_2"):
            self.assertResumed("a", "c", version, reused=False)
            self.assertResumed("c", "a", version, reused=False)

    def test_every_line_decrypts_and_the_first_encrypts(self):
        for version in ("-tls1_3", "-tls1_2"):
            self.assertResumed("a", "d", version)  # k1 is d's second line
            self.assertResumed("c", "d", version)  # k2, its first
            self.assertResumed("d", "c", version)  # d encrypts with k2
            self.assertResumed("d", "a", version, reused=False)

    def test_key_file_is_read_again_on_reload(self):
        self.assertResumed("a", "e", "-tls1_3", reused=False)
        e = self.procs["e"]
        self.k2_reloadable.write_text(self.k2_reloadable.read_text() + self.files["k1"].read_text())
        e.signal(signal.SIGHUP)

        def reused():
            outs = resume(self.ports["a"], self.ports["e"], "-tls1_3")
            return session_line(outs[1])[0] == "Reused"

        self.assertTrue(wait_until(reused, 5, step=0.2), "k1 sessions not resumed after SIGHUP")


# --- 8. /health vs /ready --------------------------------------------------------------

DEAD_HEALTH = {"path": "/h", "interval": "200ms", "timeout": "100ms",
               "unhealthy_threshold": 1, "healthy_threshold": 1}


class ReadinessTest(CertgateTestCase):
    def start(self, routes, backends):
        port, admin = free_port(), free_port()
        cfg = config([listener("plain", port, tls=False, routes=routes)],
                     admin={"address": f"127.0.0.1:{admin}"})
        cfg["backends"].update(backends)
        self.certgate(cfg, [port, admin])
        return admin

    def test_backend_with_its_only_server_down_makes_ready_503_while_health_is_200(self):
        dead_url = f"http://127.0.0.1:{free_port()}"
        dead = {"servers": [dead_url], "health": DEAD_HEALTH}
        admin = self.start([{"match": {"path_prefix": "/"}, "backend": "down"}], {"down": dead})
        got = wait_until(lambda: (r := admin_json(admin, "/ready"))[0] == 503 and r, 3.0)
        self.assertTrue(got, f"/ready did not turn 503 with the only server down: "
                             f"{admin_json(admin, '/ready')}")
        status, body = got
        self.assertIsInstance(body, dict, body)
        self.assertEqual(set(body), {"status", "detail"}, body)
        self.assertEqual(body["status"], "not ready")
        self.assertIsInstance(body["detail"], str)
        self.assertTrue(body["detail"].strip(), body)
        time.sleep(0.5)  # it stays so
        self.assertEqual(admin_json(admin, "/ready")[0], 503)
        self.assertEqual(admin_json(admin, "/health"), (200, {"status": "ok"}))
        up = ("certgate_upstream_server_up", {"backend": "down", "server": dead_url})
        self.assertEqual(scrape(admin).value(*up), 0)

    def test_down_backend_no_route_uses_does_not_matter_and_echo_counts(self):
        be = self.backend()
        dead_url = f"http://127.0.0.1:{free_port()}"
        dead = {"servers": [dead_url], "health": DEAD_HEALTH}
        admin = self.start([{"match": {"path_prefix": "/app"}, "backend": "up"},
                            {"match": {"path_prefix": "/"}, "backend": "echo"}],
                           {"spare": dead, "up": {"servers": [be.url]}})
        up = ("certgate_upstream_server_up", {"backend": "spare", "server": dead_url})
        self.assertTrue(wait_until(lambda: scrape(admin).value(*up) == 0, 3.0),
                        "the spare backend's server never went down")
        for _ in range(3):
            self.assertEqual(admin_json(admin, "/ready"), (200, {"status": "ready"}))
            time.sleep(0.1)
        self.assertEqual(admin_json(admin, "/health"), (200, {"status": "ok"}))


# --- 9. SIGUSR1 reopens log files ------------------------------------------------------


class LogFilesTest(CertgateTestCase):
    def test_level_filters_the_error_log(self):
        """log.level: info keeps everything, warn drops the info lines, error drops the
        rejections and backend warnings too."""
        be = self.backend()
        for level, want in (("info", {"info", "warn"}), ("warn", {"warn"}), ("error", set())):
            with self.subTest(level=level):
                port = free_port()
                errors = scratch("level") / "errors.log"
                cg = self.certgate(config([listener("mtls", port, "require")], be.url,
                                          log={"errors": str(errors), "level": level}), [port])
                res = curl(f"https://localhost:{port}/drop", client="valid-client")
                self.assertEqual(res.status, 502, res)  # the backend hung up: a warn line
                res = curl(f"https://localhost:{port}/x", client="expired-client")
                self.assertEqual(res.status, 401, res)  # a rejection: a warn line
                cg.stop()  # "stopped" (info) is the last line; the file is complete
                lines = json_lines(errors, strict=False)
                self.assertEqual({ln.get("level") for ln in lines}, want, lines)
                msgs = " ".join(str(ln) for ln in lines)
                self.assertEqual("certgate running with" in msgs, "info" in want, msgs)
                self.assertEqual("closed the connection before answering GET" in msgs,
                                 "warn" in want, msgs)
                self.assertEqual("ClientCertificateExpired" in msgs, "warn" in want, msgs)

    def test_sigusr1_reopens_access_and_error_logs_after_rotation(self):
        be = self.backend()
        port = free_port()
        d = scratch("logs")
        access, errors = d / "access.log", d / "errors.log"
        cg = self.certgate(config([listener("mtls", port, "require")], be.url,
                                  log={"access": str(access), "errors": str(errors)}), [port])

        def get(target, client="valid-client", status=200):
            res = curl(f"https://localhost:{port}{target}", client=client)
            self.assertEqual(res.status, status, res)

        get("/before")
        self.assertEqual(len(access_lines(access, "/before")), 1)
        self.assertNotIn("/before", cg.stdout_path.read_text())
        get("/rejected-before", client="expired-client", status=401)
        rejected = lambda p: [ln for ln in json_lines(p, strict=False)  # noqa: E731
                              if ln.get("reason") == "ClientCertificateExpired"]
        self.assertTrue(wait_until(lambda: rejected(errors), 3), "no rejection in errors.log")
        n_rejected = len(rejected(errors))

        access.rename(d / "access.log.1")
        errors.rename(d / "errors.log.1")
        get("/rotated-not-reopened")  # the open file is the renamed one
        self.assertEqual(len(access_lines(d / "access.log.1", "/rotated-not-reopened")), 1)
        cg.signal(signal.SIGUSR1)
        wait_until(lambda: access.exists() and errors.exists(), 1.0)
        time.sleep(0.2)  # every worker takes the new files
        get("/after")
        get("/rejected-after", client="expired-client", status=401)
        self.assertTrue(cg.alive())
        self.assertEqual(len(access_lines(access, "/after")), 1, "no line in the new access.log")
        self.assertTrue(wait_until(lambda: rejected(errors), 3), "no rejection in new errors.log")
        old = [ln["target"] for ln in json_lines(d / "access.log.1")]
        self.assertIn("/before", old)
        self.assertNotIn("/after", old)
        self.assertNotIn("/before", [ln["target"] for ln in json_lines(access)])
        self.assertEqual(len(rejected(d / "errors.log.1")), n_rejected)
        self.assertEqual(len(rejected(errors)), 1)

    def test_access_off_writes_no_line(self):
        be = self.backend()
        port = free_port()
        cg = self.certgate(config([listener("mtls", port, "require")], be.url,
                                  log={"access": "off"}), [port])
        res = curl(f"https://localhost:{port}/quiet", client="valid-client")
        self.assertEqual(res.status, 200, res)
        time.sleep(0.3)
        self.assertEqual(cg.stdout_path.read_text(), "")

"""Test peers for backend pools, health probes, upstream TLS / mTLS, WebSocket
tunnelling and backend timeouts (tests/e2e/test_backends.py).

  Upstream / Pool   HTTP servers (backend.py's handler) on fixed ports that can
                    be killed (stop listening, close every connection) and
                    started again on the same port mid-test; they count requests
                    by path, answer the health path with a settable status, and
                    can hold every request for a delay.
  SlowBackend       an Upstream that holds every request (for 504).
  upstream_pki()    backend CA, the backend's server certificate for
                    api.internal, a gateway client CA, the gateway's client
                    certificate (PEM pair and PKCS#12 with a password), and an
                    unrelated "wrong" CA; openssl CLI, once per run.
  NginxTLSBackend   Debian's nginx as a child process, TLS with
                    ssl_verify_client on, answering with the DN it saw.
  WebSocketEcho     a minimal RFC 6455 echo server; ws_roundtrip() is the client.

Python 3 standard library only; the openssl CLI and nginx must be on PATH.
Everything listens on 127.0.0.1 and is stopped by the object that started it.
"""

import base64
import hashlib
import os
import secrets
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
from http.server import ThreadingHTTPServer

import backend as _backend
from backend import Recorded
from harness import free_port, key, pem, scratch, session_dir, wait_port

HEALTH_PATH = "/status-0123456789abcdef"
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B65"


# --- HTTP servers that can die and come back ----------------------------------------


class _Handler(_backend._Handler):
    """backend.py's handler, plus the health path (answered with the owner's
    health_status after its health_delay) and the owner's hold (in record())."""

    def _handle(self):
        if self.server.dead:
            self.close_connection = True
            return
        owner = self.server.owner
        path = self.path.split("?")[0]
        with owner.cond:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
        try:
            if owner.health_path is not None and path == owner.health_path:
                return self._health(owner)
            return super()._handle()
        finally:
            with owner.cond:
                owner.in_flight -= 1

    def _health(self, owner):
        body_len, body_sha, body = self._read_body()
        rec = Recorded(self.command, self.path, self.request_version, list(self.headers.items()),
                       body_len, body_sha, body, self.client_address)
        status, delay = owner.health_status, owner.health_delay
        rec.probe = True
        rec.answered = status
        if self.server.dead:
            raise ConnectionAbortedError("killed")
        owner.add(rec)
        if delay:
            self.server.release.wait(delay)
        payload = b"health\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True  # a restart binds the same port at once

    def __init__(self, owner, port):
        self.owner = owner
        self.release = threading.Event()  # set on kill: held requests end
        self.dead = False  # set on kill: nothing more is recorded or answered
        self.socks = set()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def record(self, rec):  # called by backend._Handler once the request is read
        rec.probe = False
        rec.answered = None
        if self.dead:
            raise ConnectionAbortedError("killed")
        self.owner.add(rec)
        delay = self.owner.delay
        if delay:
            self.release.wait(delay)  # held after it was recorded

    def process_request(self, request, client_address):
        with self.lock:
            self.socks.add(request)
        with self.owner.cond:
            self.owner.connections += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.lock:
            self.socks.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        pass  # a peer that went away (timeout, kill) is not news

    def close_all(self):
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Upstream:
    """One HTTP/1.1 server on a fixed 127.0.0.1 port (chosen at the first start).

    Every request is recorded (a backend.Recorded with .probe and, for probes,
    .answered = the status given). <delay> s holds every non-probe request after
    recording it; <health_status> / <health_delay> shape the health answers.
    All three can be changed while it runs. kill() stops listening and closes
    every open connection; start() listens again on the same port."""

    def __init__(self, health_path=HEALTH_PATH, delay=0.0, health_status=200, name="upstream"):
        self.name = name
        self.health_path = health_path
        self.delay = delay
        self.health_status = health_status
        self.health_delay = 0.0
        self.cond = threading.Condition()
        self.log = []
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.starts = 0
        self.port = None
        self._srv = None
        self._thread = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self):
        return self._srv is not None

    def start(self):
        if self._srv is not None:
            return self
        deadline = time.monotonic() + 5
        while True:
            try:
                srv = _Server(self, self.port or 0)
                break
            except OSError:
                if self.port is None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.port = srv.server_address[1]
        self._srv = srv
        self.starts += 1
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name=f"{self.name}:{self.port}")
        self._thread.start()
        return self

    def kill(self):
        """Stop listening (connections are refused) and close every connection."""
        srv, self._srv = self._srv, None
        if srv is None:
            return
        # Dead at once: the serve loop takes up to a poll interval to stop, and
        # keep-alive handler threads would serve meanwhile.
        srv.dead = True
        try:
            srv.socket.shutdown(socket.SHUT_RDWR)  # Linux: stops listening, connects are refused
        except OSError:
            pass
        srv.close_all()
        srv.release.set()  # held requests end, unanswered (dead)
        srv.shutdown()
        srv.server_close()
        self._thread.join(5)

    stop = kill

    def add(self, rec):
        with self.cond:
            self.log.append(rec)
            self.cond.notify_all()

    # -- what it saw --

    def requests(self, since=0.0):
        """Everything recorded at or after monotonic time <since>."""
        with self.cond:
            return [r for r in self.log if r.time >= since]

    def probes(self, since=0.0):
        return [r for r in self.requests(since) if r.probe]

    def traffic(self, since=0.0):
        return [r for r in self.requests(since) if not r.probe]

    def count(self, path):
        """Requests recorded for exactly <path> (query ignored)."""
        return sum(1 for r in self.requests() if r.target.split("?")[0] == path)

    def clear(self):
        with self.cond:
            self.log.clear()

    def wait_until(self, pick, n, timeout):
        """Wait until <pick>() (called under the lock) returns >= <n> items; returns it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(pick()) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return pick()

    def wait_traffic(self, n, timeout=5.0, since=0.0):
        """Wait until at least <n> non-probe requests since <since>; returns them."""
        return self.wait_until(lambda: [r for r in self.log if not r.probe and r.time >= since],
                          n, timeout)

    def wait_probes(self, n, timeout=5.0, since=0.0):
        return self.wait_until(lambda: [r for r in self.log if r.probe and r.time >= since],
                          n, timeout)


class SlowBackend(Upstream):
    """Answers every request (200 JSON) only after <delay> seconds."""

    def __init__(self, delay=3.0):
        super().__init__(delay=delay, name="slow")


class Pool:
    """<n> Upstreams; pool[i] is one of them, pool.urls their URLs."""

    def __init__(self, n, health_path=HEALTH_PATH, delays=None):
        delays = list(delays or [0.0] * n)
        self.servers = [Upstream(health_path, delays[i], name=f"pool{i}") for i in range(n)]

    def start(self):
        for s in self.servers:
            s.start()
        return self

    def stop(self):
        for s in self.servers:
            s.kill()

    def __getitem__(self, i):
        return self.servers[i]

    def __len__(self):
        return len(self.servers)

    @property
    def urls(self):
        return [s.url for s in self.servers]

    def traffic_counts(self, since=0.0):
        return [len(s.traffic(since)) for s in self.servers]


# --- the upstream PKI ------------------------------------------------------------------

P12_PASSWORD = "gw-p12-secret"

_EXT = """\
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:api.internal
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


class UpstreamPKI:
    """Paths (str) of the files upstream_pki() made."""

    def __init__(self, d):
        self.dir = d
        self.backend_ca = str(d / "backend-ca.pem")  # signs the backend server cert
        self.server_cert = str(d / "api-internal.pem")  # CN/SAN api.internal
        self.server_key = str(d / "api-internal.key")
        self.gw_ca = str(d / "gw-ca.pem")  # nginx's ssl_client_certificate
        self.gw_cert = str(d / "gw.pem")  # CN=certgate-gateway, EKU clientAuth
        self.gw_key = str(d / "gw.key")
        self.gw_p12 = str(d / "gw.p12")  # gw cert + key + gw CA, P12_PASSWORD
        self.gw_p12_password = P12_PASSWORD
        self.gw_p12_pass_file = str(d / "gw.p12.pass")  # P12_PASSWORD + LF
        self.wrong_ca = str(d / "wrong-ca.pem")  # unrelated CA


_pki_lock = threading.Lock()
_pki = {}


def _run_openssl(d, *args):
    r = subprocess.run(["openssl", *args], cwd=d, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")


def _make_ca(d, name, subject):
    _run_openssl(d, "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key", "-out",
                 f"{name}.pem", "-days", "3650", "-subj", subject, "-config", "ext.cnf",
                 "-extensions", "v3_ca")


def _make_leaf(d, name, subject, ca, ext):
    _run_openssl(d, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
                 "-config", "ext.cnf")
    _run_openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
                 f"{ca}.key", "-set_serial", "0x" + secrets.token_hex(8), "-days", "3650",
                 "-sha256", "-extfile", "ext.cnf", "-extensions", ext, "-out", f"{name}.pem")


def upstream_pki():
    """Generate (once per run, in the session dir) and return the UpstreamPKI."""
    with _pki_lock:
        if "pki" in _pki:
            return _pki["pki"]
        d = session_dir() / "upstream-pki"
        work = scratch("upstream-pki-work")
        (work / "ext.cnf").write_text(_EXT)
        _make_ca(work, "backend-ca", "/O=certgate tests/CN=certgate test backend CA")
        _make_leaf(work, "api-internal", "/CN=api.internal", "backend-ca", "server")
        _make_ca(work, "gw-ca", "/O=certgate tests/CN=certgate test gateway client CA")
        _make_leaf(work, "gw", "/CN=certgate-gateway", "gw-ca", "client")
        _run_openssl(work, "pkcs12", "-export", "-in", "gw.pem", "-inkey", "gw.key",
                     "-certfile", "gw-ca.pem", "-name", "certgate-gateway", "-out", "gw.p12",
                     "-passout", f"pass:{P12_PASSWORD}")
        (work / "gw.p12.pass").write_text(P12_PASSWORD + "\n")
        _make_ca(work, "wrong-ca", "/O=somebody else/CN=unrelated wrong CA")
        for f in work.glob("*.csr"):
            f.unlink()
        work.rename(d)
        _pki["pki"] = UpstreamPKI(d)
        return _pki["pki"]


# --- nginx with client-certificate verification ---------------------------------------

_NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    log_format probe '$request_method $request_uri $status "$ssl_client_s_dn" $ssl_client_verify';
    access_log {dir}/access.log probe;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name api.internal;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_client_certificate {client_ca};
        ssl_verify_client {verify};
        location / {{
            default_type text/plain;
            return 200 "dn=$ssl_client_s_dn verify=$ssl_client_verify\\n";
        }}
    }}
}}
"""


class NginxTLSBackend:
    """nginx (single process, no daemon) on 127.0.0.1:<port> with the
    api.internal certificate, requiring a client certificate signed by the
    gateway client CA. GET anything -> 200 "dn=<DN> verify=<result>\\n"."""

    def __init__(self, pki=None, verify_client="on"):
        self.pki = pki or upstream_pki()
        self.verify_client = verify_client
        self.dir = scratch("nginx")
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self):
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(exe, os.X_OK):
            raise AssertionError("nginx not found: run scripts/deps.sh (package nginx-light)")
        (self.dir / "tmp").mkdir()
        conf = self.dir / "nginx.conf"
        conf.write_text(_NGINX_CONF.format(
            dir=self.dir, port=self.port, cert=self.pki.server_cert, key=self.pki.server_key,
            client_ca=self.pki.gw_ca, verify=self.verify_client))
        with open(self.dir / "stderr.log", "wb") as err:
            # -e: the error log before the config is read (the default is outside the dir)
            self.proc = subprocess.Popen(
                [exe, "-p", str(self.dir), "-c", str(conf), "-e", str(self.dir / "error.log")],
                stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT)
        if not wait_port(self.port, 10, alive=lambda: self.proc.poll() is None):
            self.stop()
            raise AssertionError(f"nginx did not start on {self.port}\n{self.logs()}")
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: fast shutdown
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def requests(self):
        """The access log: [(method, uri, status, dn, verify)], one per request."""
        try:
            lines = (self.dir / "access.log").read_text().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            head, dn, verify = line.split('"')
            method, uri, status = head.split()
            out.append((method, uri, int(status), dn, verify.strip()))
        return out

    def logs(self):
        parts = []
        for name in ("stderr.log", "error.log", "access.log"):
            try:
                parts.append(f"--- nginx {name}\n{(self.dir / name).read_text(errors='replace')}")
            except OSError:
                pass
        return "\n".join(parts)


# --- WebSocket --------------------------------------------------------------------------


def ws_accept(key_b64):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key_b64.encode() + WS_GUID).digest()).decode()


class _Stream:
    """Exact reads from a socket with a deadline."""

    def __init__(self, sock, buf=b"", timeout=5.0):
        self.sock = sock
        self.buf = buf
        self.deadline = time.monotonic() + timeout

    def _more(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data in time")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no data in time")
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def exact(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self, limit=65536):
        """Bytes up to and including the blank line ending an HTTP head."""
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("head too large")
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"


def ws_frame(opcode, payload, mask):
    """One frame, FIN set; masked with a random key when <mask>."""
    b0 = 0x80 | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", b0, mbit | n)
    elif n < 1 << 16:
        hdr = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return hdr + payload
    k = os.urandom(4)
    return hdr + k + _xor(payload, k)


def _xor(data, k):
    if not data:
        return b""
    whole = (k * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(whole, "big")).to_bytes(len(data), "big")


def ws_read_frame(stream):
    """(fin, opcode, masked, payload unmasked) of the next frame on <stream>."""
    b0, b1 = stream.exact(2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", stream.exact(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", stream.exact(8))
    masked = bool(b1 & 0x80)
    k = stream.exact(4) if masked else None
    payload = stream.exact(n)
    if masked:
        payload = _xor(payload, k)
    return bool(b0 & 0x80), b0 & 0x0F, masked, payload


def _parse_head(raw):
    lines = raw.decode("iso-8859-1").split("\r\n")
    first = lines[0]
    headers = []
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers.append((k, v.strip()))
    return first, headers


def _header(headers, name):
    vals = [v for k, v in headers if k.lower() == name.lower()]
    return vals[0] if vals else None


class WebSocketEcho:
    """RFC 6455 server on 127.0.0.1:<port>: answers an upgrade with 101 and
    echoes every data frame (text and binary; the client's frames must be
    masked, the echo is not); ping -> pong; close -> close. Records each
    handshake (backend.Recorded, .handshakes()) and each message it received
    (.messages(): [(opcode, payload)])."""

    def __init__(self):
        self._lsock = socket.socket()
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(("127.0.0.1", 0))
        self._lsock.listen(32)
        self.port = self._lsock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.cond = threading.Condition()
        self._handshakes = []
        self._messages = []
        self.errors = []
        self._conns = set()
        self._stopping = False
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="ws-echo")
        self._thread.start()
        return self

    def stop(self):
        self._stopping = True
        try:
            self._lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._lsock.close()
        with self.cond:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread:
            self._thread.join(5)

    def handshakes(self):
        with self.cond:
            return list(self._handshakes)

    def messages(self):
        with self.cond:
            return list(self._messages)

    def _accept_loop(self):
        while not self._stopping:
            try:
                s, peer = self._lsock.accept()
            except OSError:
                return
            with self.cond:
                self._conns.add(s)
            threading.Thread(target=self._serve, args=(s, peer), daemon=True).start()

    def _serve(self, s, peer):
        try:
            self._session(s, peer)
        except (OSError, EOFError, TimeoutError, ValueError) as e:
            with self.cond:
                self.errors.append(repr(e))
        finally:
            with self.cond:
                self._conns.discard(s)
            s.close()

    def _session(self, s, peer):
        st = _Stream(s, timeout=30)
        raw = st.head()
        first, headers = _parse_head(raw[:-4])
        parts = first.split(" ")
        rec = Recorded(parts[0], parts[1] if len(parts) > 1 else "",
                       parts[2] if len(parts) > 2 else "", headers, 0,
                       hashlib.sha256(b"").hexdigest(), b"", peer)
        with self.cond:
            self._handshakes.append(rec)
            self.cond.notify_all()
        key_b64 = _header(headers, "Sec-WebSocket-Key")
        upgrade = (_header(headers, "Upgrade") or "").lower()
        if parts[0] != "GET" or upgrade != "websocket" or not key_b64 \
                or _header(headers, "Sec-WebSocket-Version") != "13":
            body = b"not a websocket handshake\n"
            s.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
                      b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            return
        s.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                   f"{ws_accept(key_b64)}\r\n\r\n").encode())
        while True:
            st.deadline = time.monotonic() + 30
            fin, op, masked, payload = ws_read_frame(st)
            if not masked:
                s.sendall(ws_frame(0x8, struct.pack("!H", 1002), False))
                raise ValueError("unmasked frame from the client")
            if op in (0x0, 0x1, 0x2):
                with self.cond:
                    self._messages.append((op, payload))
                    self.cond.notify_all()
                b0 = (0x80 if fin else 0) | op
                frame = ws_frame(op, payload, False)
                s.sendall(bytes([b0]) + frame[1:])
            elif op == 0x9:
                s.sendall(ws_frame(0xA, payload, False))
            elif op == 0x8:
                s.sendall(ws_frame(0x8, payload[:2], False))
                return


class WsResult:
    """What ws_roundtrip saw: .status, .head (the raw response head), .headers,
    .accept_expected, .echoed (str for text frames, bytes for binary),
    .close_code (the server's close frame, None if none), .body (non-101)."""

    def __init__(self):
        self.status = 0
        self.head = ""
        self.headers = []
        self.accept_expected = ""
        self.key = ""
        self.echoed = []
        self.opcodes = []
        self.close_code = None
        self.body = b""

    def header(self, name):
        return _header(self.headers, name)

    def __repr__(self):
        return (f"<ws {self.status} {self.headers} echoed={len(self.echoed)} "
                f"body={self.body[:200]!r}>")


def ws_roundtrip(port, path, messages, host=None, client="valid-client", servername="localhost",
                 tls=True, timeout=10.0, extra_headers=()):
    """Connect to 127.0.0.1:<port> (TLS with the demo PKI client certificate
    <client>, SNI <servername>, or plain), send the upgrade for <path>, then each
    of <messages> (str: text frame, bytes: binary frame) masked, reading its echo
    before the next; then close (1000). Returns a WsResult."""
    res = WsResult()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if tls:
            ctx = ssl.create_default_context(cafile=pem("root-ca"))
            if client:
                ctx.load_cert_chain(pem(client), key(client))
            sock = ctx.wrap_socket(sock, server_hostname=servername)
        res.key = base64.b64encode(os.urandom(16)).decode()
        res.accept_expected = ws_accept(res.key)
        lines = [f"GET {path} HTTP/1.1", f"Host: {host or f'{servername}:{port}'}",
                 "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {res.key}",
                 "Sec-WebSocket-Version: 13", *extra_headers]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        st = _Stream(sock, timeout=timeout)
        raw = st.head()
        res.head = raw.decode("iso-8859-1")
        first, res.headers = _parse_head(raw[:-4])
        res.status = int(first.split(" ")[1])
        if res.status != 101:
            n = res.header("Content-Length")
            try:
                res.body = st.exact(int(n)) if n is not None else b""
            except (EOFError, TimeoutError):
                res.body = st.buf
            return res
        for m in messages:
            op = 0x1 if isinstance(m, str) else 0x2
            data = m.encode() if isinstance(m, str) else bytes(m)
            sock.sendall(ws_frame(op, data, True))
            st.deadline = time.monotonic() + timeout
            while True:
                fin, rop, masked, payload = ws_read_frame(st)
                if rop == 0x9:
                    sock.sendall(ws_frame(0xA, payload, True))
                    continue
                break
            if masked:
                raise AssertionError("the server masked a frame (RFC 6455 5.1 forbids it)")
            if not fin:
                raise AssertionError("the echo came fragmented; this client does not join frames")
            res.opcodes.append(rop)
            res.echoed.append(payload.decode() if rop == 0x1 else payload)
        sock.sendall(ws_frame(0x8, struct.pack("!H", 1000), True))
        st.deadline = time.monotonic() + timeout
        try:
            fin, rop, masked, payload = ws_read_frame(st)
            if rop == 0x8 and len(payload) >= 2:
                res.close_code = struct.unpack("!H", payload[:2])[0]
        except (EOFError, TimeoutError):
            pass
        return res
    finally:
        sock.close()

"""The recording backend: a real HTTP/1.1 server (http.server, keep-alive) that
remembers every request certgate delivered, so tests can assert what crossed
the wire, and can answer slowly, never, or with a large body.

Paths it understands (any method):
  .../bytes/N   200 with N bytes of a fixed pseudo-random pattern (streamed)
  .../slow/MS   answers after MS milliseconds
  .../hang      never answers (until the backend stops); the connection then closes
  .../status/N  answers status N
  .../close     answers with Connection: close
  .../chunked/N 200 with N pattern bytes, Transfer-Encoding: chunked, in chunks of
                uneven sizes (one with a chunk extension), then a trailer
                "X-Checksum: <sha256>"
  .../eof/N     200 with N pattern bytes, neither Content-Length nor chunked:
                the body ends when the backend closes
  .../headbytes/N  200 whose head carries about N bytes of X-Pad-* headers
  .../garbage   a line that is not HTTP, then close
  .../drop      closes without answering
  .../closeafter   answers like "anything else" (no Connection: close), then closes
  .../stale     answers like "anything else"; the next request on the same
                connection is recorded and then dropped (closed unanswered), as
                by a backend that timed the idle connection out
  anything else 200 application/json describing the request
(any prefix: /api/slow/100 works too)
"""

import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A block whose length is prime, so that a byte lost or repeated anywhere in a
# large transfer changes the digest.
_BLOCK = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(2048))[:65521]
KEEP_BODY = 1 << 20  # bodies up to 1 MiB are kept for exact comparison


def pattern_chunks(n, size=65521):
    """Yield the first <n> bytes of the pattern in chunks of at most <size>."""
    while n > 0:
        c = _BLOCK[: min(n, size)]
        n -= len(c)
        yield c


def pattern_sha256(n):
    h = hashlib.sha256()
    for c in pattern_chunks(n):
        h.update(c)
    return h.hexdigest()


class Recorded:
    """One request as the backend received it."""

    def __init__(self, method, target, version, headers, body_len, body_sha256, body, peer):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # [(name, value)] in wire order, names as sent
        self.body_len = body_len
        self.body_sha256 = body_sha256
        self.body = body  # bytes, or None when larger than KEEP_BODY
        self.peer = peer
        self.time = time.monotonic()

    def header_values(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def header(self, name):
        v = self.header_values(name)
        return v[0] if v else None

    def names(self):
        return [k for k, _ in self.headers]

    def __repr__(self):
        return f"<{self.method} {self.target} {self.headers} body={self.body_len}>"


def _special(path):
    """("hang", 0) for .../hang, ("slow", 1500) for .../slow/1500, etc."""
    parts = path.split("/")
    if parts[-1] in ("hang", "close", "garbage", "drop", "closeafter", "stale"):
        return parts[-1], 0
    if (
        len(parts) >= 2
        and parts[-2] in ("slow", "bytes", "status", "chunked", "eof", "headbytes")
        and parts[-1].isdigit()
    ):
        return parts[-2], int(parts[-1])
    return "", 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def __getattr__(self, name):
        # Any method token is served: certgate must forward methods it does not know.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _line(self):
        line = self.rfile.readline(65537)
        if not line.endswith(b"\n"):
            raise ConnectionError("eof inside a chunked body")
        return line

    def _read_body(self):
        h = hashlib.sha256()
        kept = bytearray()
        total = 0

        def take(data):
            nonlocal total
            h.update(data)
            total += len(data)
            if len(kept) <= KEEP_BODY:
                kept.extend(data)

        te = ",".join(self.headers.get_all("Transfer-Encoding") or []).lower()
        if "chunked" in te:
            while True:
                # EOF anywhere means certgate abandoned the message: it must not
                # count as a request received.
                line = self._line()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self._line() not in (b"\r\n", b"\n"):
                        pass  # trailer section
                    break
                while size:
                    c = self.rfile.read(min(size, 65536))
                    if not c:
                        raise ConnectionError("eof in chunk")
                    take(c)
                    size -= len(c)
                if self._line() not in (b"\r\n", b"\n"):
                    raise ConnectionError("chunk data not followed by CRLF")
        else:
            n = int(self.headers.get("Content-Length") or 0)
            while n:
                c = self.rfile.read(min(n, 65536))
                if not c:
                    raise ConnectionError("eof in body")
                take(c)
                n -= len(c)
        body = bytes(kept) if total <= KEEP_BODY else None
        return total, h.hexdigest(), body

    def _handle(self):
        line = self.raw_requestline.decode("iso-8859-1").rstrip("\r\n")
        parts = line.split(" ")
        target = parts[1] if len(parts) > 1 else ""
        body_len, body_sha, body = self._read_body()
        rec = Recorded(
            self.command,
            target,
            self.request_version,
            list(self.headers.items()),
            body_len,
            body_sha,
            body,
            self.client_address,
        )
        self.server.record(rec)

        if self.__dict__.get("drop_next"):
            # armed by .../stale on this connection: the backend "timed it out"
            self.close_connection = True
            return

        # The special paths work under any prefix (/api/hang), so that a
        # route's path_prefix can lead to them.
        path = target.split("?")[0]
        verb, arg = _special(path)
        if verb == "hang":
            self.server.release.wait(60)
            self.close_connection = True
            return
        if verb == "slow":
            time.sleep(arg / 1000.0)
        if verb == "bytes":
            return self._send_pattern(arg)
        if verb in ("chunked", "eof", "headbytes", "garbage", "drop"):
            return self._send_raw(verb, arg)
        status = arg if verb == "status" else 200
        extra = []
        if verb == "close":
            extra.append(("Connection", "close"))
            self.close_connection = True
        if verb == "closeafter":
            self.close_connection = True  # and no Connection: close says so
        if verb == "stale":
            self.drop_next = True
        doc = {
            "backend": "recording",
            "method": self.command,
            "target": target,
            "body_bytes": body_len,
            "body_sha256": body_sha,
        }
        self._send(status, json.dumps(doc).encode(), extra)

    def _send(self, status, body, extra=()):
        self.send_response(status)
        self.send_header("X-Backend", "recording")
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and not no_body:
            self.wfile.write(body)

    def _send_pattern(self, n):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command != "HEAD":
            for c in pattern_chunks(n):
                self.wfile.write(c)

    def _send_raw(self, verb, n):
        """Responses http.server would not write: each closes the connection."""
        self.close_connection = True
        w = self.wfile
        if verb == "drop":
            return
        if verb == "garbage":
            w.write(b"THIS IS NOT HTTP\r\n\r\n")
            return
        if verb == "headbytes":
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
            pad = b"p" * 990
            for i in range((n + 999) // 1000):
                w.write(b"X-Pad-%03d: %s\r\n" % (i, pad))
            w.write(b"\r\nok")
            return
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        if verb == "eof":
            w.write(head + b"\r\n")
            if self.command != "HEAD":
                for c in pattern_chunks(n):
                    w.write(c)
            return
        # chunked: sizes 1, 10, 100, ... so that boundaries fall anywhere
        w.write(head + b"Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n")
        if self.command == "HEAD":
            return
        data = b"".join(pattern_chunks(n))
        sizes = [1, 10, 100, 1000, 10000, 65521]
        i = pos = 0
        while pos < len(data):
            c = data[pos : pos + sizes[i % len(sizes)]]
            ext = b";note=x" if i == 2 else b""
            w.write(b"%X%s\r\n%s\r\n" % (len(c), ext, c))
            pos += len(c)
            i += 1
        w.write(b"0\r\nX-Checksum: %s\r\n\r\n" % pattern_sha256(n).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.release = threading.Event()
        self.cond = threading.Condition()
        self.log = []
        self.connections = 0
        self.errors = []  # handler failures, "(host, port): error"

    def record(self, rec):
        with self.cond:
            self.log.append(rec)
            self.cond.notify_all()

    def process_request(self, request, client_address):
        with self.cond:
            self.connections += 1
        try:
            super().process_request(request, client_address)
        except RuntimeError:
            # "can't start new thread" on a crowded machine: serve this connection on the
            # accepting thread rather than drop it (which certgate would rightly report
            # as a 502 "closed the connection")
            self.errors.append(f"{client_address}: no thread; served inline")
            self.process_request_thread(request, client_address)

    def handle_error(self, request, client_address):
        # the traceback still goes to stderr; the peer port ties it to a certgate log line
        self.errors.append(f"{client_address}: {sys.exc_info()[1]!r}")
        super().handle_error(request, client_address)


class RecordingBackend:
    def __init__(self):
        self._srv = _Server()
        self.port = self._srv.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = None

    def start(self):
        self._thread = threading.Thread(
            target=self._srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        self._srv.release.set()
        self._srv.shutdown()
        self._srv.server_close()

    def requests(self):
        with self._srv.cond:
            return list(self._srv.log)

    def connections(self):
        """TCP connections accepted so far (keep-alive pooling shows here)."""
        with self._srv.cond:
            return self._srv.connections

    def errors(self):
        """Handler failures so far, each "(host, port): error" (the port is certgate's)."""
        with self._srv.cond:
            return list(self._srv.errors)

    def clear(self):
        with self._srv.cond:
            self._srv.log.clear()

    def wait_for(self, n, timeout=5.0):
        """Wait until at least <n> requests were recorded; returns them all."""
        deadline = time.monotonic() + timeout
        with self._srv.cond:
            while len(self._srv.log) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._srv.cond.wait(left)
            return list(self._srv.log)

    def only(self, timeout=5.0):
        """The single request received; fails if there were zero or several."""
        got = self.wait_for(1, timeout)
        time.sleep(0.05)  # let a duplicate, if any, arrive
        got = self.requests()
        if len(got) != 1:
            raise AssertionError(f"expected exactly one backend request, got {got}")
        return got[0]

"""Clients the tests drive certgate with: curl, openssl s_client, and a raw
socket (plain or TLS) for bytes no well-behaved client would send."""

import json
import os
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path


def _pki(name):
    from harness import pem  # late import: harness imports this module

    return pem(name)


def _pki_key(name):
    from harness import key

    return key(name)


class HttpResult:
    """A response: status, headers [(name, value)] in order, body bytes."""

    def __init__(self, status, headers, body, reason="", rc=0, stderr="", version=""):
        self.status = status
        self.headers = headers
        self.body = body
        self.reason = reason
        self.rc = rc
        self.stderr = stderr
        self.version = version

    def header_values(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def header(self, name):
        v = self.header_values(name)
        return v[0] if v else None

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"body is not JSON ({e}): {self.body[:300]!r}")

    def __repr__(self):
        return f"<HTTP {self.status} {self.headers} {self.body[:200]!r} rc={self.rc}>"


def _parse_head(block):
    lines = block.split("\r\n")
    parts = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        headers.append((k, v.strip()))
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers


def curl(url, *args, client=None, cacert="root-ca", resolve=None, timeout=30, stdin=None,
         output=None):
    """Run curl once; <client> is a PKI name ("valid-client") or (cert, key).
    The body is read into .body, or left in the file <output> (.body is b"").
    Returns an HttpResult (status 0 when no response arrived; see .rc/.stderr)."""
    with tempfile.TemporaryDirectory(prefix="curl-") as d:
        hdr, body = Path(d) / "h", Path(output or Path(d) / "b")
        cmd = ["curl", "-sS", "--noproxy", "*", "--max-time", str(timeout)]
        cmd += ["-D", str(hdr), "-o", str(body), "-w", "%{http_code}"]
        if cacert:
            cmd += ["--cacert", _pki(cacert)]
        if client:
            cert, k = client if isinstance(client, tuple) else (_pki(client), _pki_key(client))
            cmd += ["--cert", cert, "--key", k]
        if resolve:
            cmd += ["--resolve", resolve]
        cmd += list(args) + [url]
        r = subprocess.run(cmd, capture_output=True, input=stdin, timeout=timeout + 10)
        raw = hdr.read_bytes().decode("iso-8859-1") if hdr.exists() else ""
        data = body.read_bytes() if body.exists() and not output else b""
    blocks = [b for b in raw.split("\r\n\r\n") if b.startswith("HTTP/")]
    if not blocks:
        return HttpResult(0, [], data, rc=r.returncode, stderr=r.stderr.decode(errors="replace"))
    version, status, reason, headers = _parse_head(blocks[-1])
    return HttpResult(
        status, headers, data, reason, r.returncode, r.stderr.decode(errors="replace"), version
    )


def s_client(port, *args, servername="localhost", client=None, cafile="root-ca", chunks=(),
             data=b"", timeout=10, env=None, ign_eof=True):
    """Run `openssl s_client -ign_eof` against 127.0.0.1:<port>, feeding <data>
    (or <chunks>: [(bytes, seconds to wait after)]) on stdin; stdout and stderr
    merged. Killed after <timeout> s; <env> adds environment variables.
    ign_eof=False keeps s_client's command letters ("R\n" renegotiates), which
    -ign_eof turns off; s_client then closes when stdin ends.
    Returns (returncode or None, output)."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"]
    cmd += ["-ign_eof"] if ign_eof else []
    cmd += ["-servername", servername] if servername else ["-noservername"]
    if cafile:
        cmd += ["-CAfile", _pki(cafile)]
    if client:
        cmd += ["-cert", _pki(client), "-key", _pki_key(client)]
    cmd += list(args)
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                             env=dict(os.environ, **(env or {})))
        try:
            for chunk, pause in list(chunks) or [(data, 0)]:
                p.stdin.write(chunk)
                p.stdin.flush()
                time.sleep(pause)
            p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = None
        out.seek(0)
        return rc, out.read().decode(errors="replace")


class RawConn:
    """A client connection that sends exact bytes and parses responses itself."""

    def __init__(self, port, tls=False, client=None, servername="localhost", timeout=5.0,
                 max_version=None, session=None):
        self.timeout = timeout
        self.tls_error = None
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context(cafile=_pki("root-ca"))
            if servername is None:
                ctx.check_hostname = False
            if client:
                ctx.load_cert_chain(_pki(client), _pki_key(client))
            if max_version:
                ctx.maximum_version = max_version
            sock = ctx.wrap_socket(sock, server_hostname=servername, session=session)
        self.sock = sock
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Read more into the buffer; False at EOF (or a reset / TLS alert)."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from certgate in time")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no data from certgate in time")
        except ssl.SSLError as e:
            self.tls_error = e
            data = b""
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_response(self, head=False, timeout=None, skip_1xx=True):
        """The next response, or None if the connection closed before one began.
        HEAD responses (head=True) have no body."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            while b"\r\n\r\n" not in self.buf:
                if not self._fill(deadline):
                    if self.buf:
                        raise AssertionError(f"connection closed inside a response: {self.buf!r}")
                    return None
            raw_head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            version, status, reason, headers = _parse_head(raw_head.decode("iso-8859-1"))
            res = HttpResult(status, headers, b"", reason, version=version)
            if 100 <= status < 200:
                if skip_1xx:
                    continue
                return res
            if head or status in (204, 304):
                return res
            te = (res.header("Transfer-Encoding") or "").lower()
            if "chunked" in te:
                res.body = self._read_chunked(deadline)
            elif res.header("Content-Length") is not None:
                n = int(res.header("Content-Length"))
                while len(self.buf) < n:
                    if not self._fill(deadline):
                        raise AssertionError("connection closed inside a response body")
                res.body, self.buf = self.buf[:n], self.buf[n:]
            else:
                while self._fill(deadline):
                    pass
                res.body, self.buf = self.buf, b""
            return res

    def _read_line(self, deadline):
        while b"\r\n" not in self.buf:
            if not self._fill(deadline):
                raise AssertionError("connection closed inside a chunked body")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_chunked(self, deadline):
        body = b""
        while True:
            size = int(self._read_line(deadline).split(b";")[0], 16)
            if size == 0:
                while self._read_line(deadline):
                    pass
                return body
            while len(self.buf) < size + 2:
                if not self._fill(deadline):
                    raise AssertionError("connection closed inside a chunk")
            body += self.buf[:size]
            self.buf = self.buf[size + 2 :]

    def wait_closed(self, timeout=3.0):
        """True if certgate closes the connection within <timeout> s (any bytes
        that arrive first are kept in .buf)."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except TimeoutError:
            return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

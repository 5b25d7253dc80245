"""Strict HTTP/1.1 parsing against llhttp's request corpus (tests/testdata/http1-requests).

Each raw request goes over a plain-HTTP listener in front of the recording
backend, one test per file:
- llhttp strict rejects it (llhttp_strict_error non-null): the messages llhttp
  completed before the error are forwarded, then certgate answers a
  400-class (or 501/505) JSON error or closes, and the backend gets nothing
  more;
- llhttp accepts it: every message reaches the backend intact (method,
  target, body).
code=22 (a pause on CONNECT/Upgrade) is not a parse verdict and is skipped.
Where certgate should differ from llhttp, DIFFERENCES says so and why.

The raw files end where llhttp's markdown block ends, without its final
blank line, so a message may be cut short. Accepted requests are completed
the least way that makes them whole (head terminated, chunked body ended,
a short Content-Length body padded with 'x'), and an HTTP/1.1 request
without Host gets one, as a conforming client would send it: the authority
of an absolute-form target, else "localhost" (RFC 9112 §3.2 makes a missing
Host a 400 of its own, tested in test_http.py). Rejected requests get the
blank line back.
"""

import json
import re
import time
import unittest
from pathlib import Path

from harness import CertgateTestCase, RawConn, config, free_port, listener

CORPUS = Path(__file__).resolve().parent.parent / "testdata" / "http1-requests"

ERROR_CODES = {
    400: "BadRequest",
    414: "URITooLong",
    431: "RequestHeaderFieldsTooLarge",
    501: "NotImplemented",
    505: "HTTPVersionNotSupported",
}

# file -> (expectation, why). Expectations: "reject"; "forward"; "absolute"
# (forward, the target as sent or in origin-form); "skip".
DIFFERENCES = {
    # llhttp speaks RTSP and ICE as well; certgate speaks HTTP/1.0 and 1.1 only.
    "raw/method-012.bin": ("reject", "ICE/1.0 is not an HTTP version (505 or 400)"),
    "raw/method-013.bin": ("reject", "RTSP/1.0 is not an HTTP version (505 or 400)"),
    "raw/method-014.bin": ("reject", "RTSP/1.0 is not an HTTP version (505 or 400)"),
    # llhttp rejects methods it does not know of for HTTP; any token is a method.
    "raw/invalid-004.bin": ("forward", "ANNOUNCE is a valid token method in HTTP/1.0"),
    "raw/invalid-014.bin": ("forward", "MKCOLA is a valid token method"),
    # HTTP/0.9 has no version and no headers; nothing to proxy.
    "raw/sample-010.bin": ("reject", "HTTP/0.9 request line"),
    # asterisk-form belongs to OPTIONS only (RFC 9112 §3.2.4).
    "raw/method-005.bin": ("reject", "M-SEARCH * is asterisk-form outside OPTIONS"),
    # absolute-form must be accepted (RFC 9112 §3.2.2); the backend may get it
    # as sent or rewritten to origin-form.
    "raw/uri-003.bin": ("absolute", "absolute-form, host terminated by a query"),
    "raw/uri-004.bin": ("absolute", "absolute-form, host:port terminated by a query"),
    "raw/uri-006.bin": ("absolute", "absolute-form, host:port without a path"),
    # userinfo in an http URI is to be treated as an error (RFC 9110 §4.2.4).
    "raw/uri-010.bin": ("reject", "absolute-form with userinfo"),
    # certgate implements the chunked transfer coding only (SPEC: 501).
    "raw/transfer-encoding-020.bin": ("reject", "deflate transfer coding: 501"),
    "raw/transfer-encoding-021.bin": ("reject", "deflate transfer coding: 501"),
    # llhttp's harness skips the body from on_headers_complete; on the wire the
    # second request is the first one's 123-byte body, which never completes.
    "raw/content-length-016.bin": ("skip", "depends on llhttp's skip-body callback"),
}


def load_index():
    with open(CORPUS / "index.json") as f:
        return [e for e in json.load(f) if e["meta"]["type"] == "request"]


def expectation(entry):
    if entry["file"] in DIFFERENCES:
        return DIFFERENCES[entry["file"]]
    err = entry["llhttp_strict_error"]
    if err and err.startswith("code=22 "):
        return ("skip", "CONNECT/Upgrade pause, not a parse verdict")
    if err:
        return ("reject", err)
    return ("forward", "llhttp strict accepts it")


class Msg:
    def __init__(self, method, target, body):
        self.method, self.target, self.body = method, target, body


def _chunked(raw, i, wire):
    """Copy a chunked body from raw[i:] to <wire>, completing it if cut short.
    Returns (decoded body, new i)."""
    body = b""
    while True:
        j = raw.find(b"\r\n", i)
        line, i = (raw[i:j], j + 2) if j >= 0 else (raw[i:] or b"0", len(raw))
        wire += line + b"\r\n"
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:  # trailer section up to the empty line
                j = raw.find(b"\r\n", i)
                if j < 0:
                    if raw[i:]:
                        wire += raw[i:] + b"\r\n"
                    wire += b"\r\n"
                    return body, len(raw)
                line, i = raw[i:j], j + 2
                wire += line + b"\r\n"
                if not line:
                    return body, i
        data = raw[i : i + size]
        data += b"x" * (size - len(data))
        body += data
        wire += data + b"\r\n"
        i += size + 2


def complete(raw):
    """(bytes to send, [Msg]) for an accepted corpus request."""
    wire, msgs, i = bytearray(), [], 0
    while True:
        while raw.startswith(b"\r\n", i):  # empty lines before a request are allowed
            wire += b"\r\n"
            i += 2
        if i >= len(raw):
            return bytes(wire), msgs
        end = raw.find(b"\r\n\r\n", i)
        if end < 0:
            head, i = raw[i:].removesuffix(b"\r\n"), len(raw)
        else:
            head, i = raw[i:end], end + 4
        lines = head.split(b"\r\n")
        method, target, version = lines[0].split(b" ")
        fields = [ln.split(b":", 1) for ln in lines[1:]]

        def values(name):
            return [f[1].strip(b" \t") for f in fields if f[0].lower() == name]

        if version == b"HTTP/1.1" and not values(b"host"):
            # RFC 9110 §7.2: Host is the target's authority when it has one.
            m = re.match(rb"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/?#]*)", target)
            lines.insert(1, b"Host: " + (m.group(1) if m else b"localhost"))
        wire += b"\r\n".join(lines) + b"\r\n\r\n"
        te = b",".join(values(b"transfer-encoding")).lower()
        if te.strip().endswith(b"chunked"):
            body, i = _chunked(raw, i, wire)
        elif values(b"content-length"):
            n = int(values(b"content-length")[0])
            body = raw[i : i + n]
            i += len(body)
            body += b"x" * (n - len(body))
            wire += body
        else:
            body = b""
        msgs.append(Msg(method.decode(), target.decode("latin-1"), body))


def origin_form(target):
    m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*(.*)$", target)
    rest = m.group(1) if m else target
    return rest if rest.startswith("/") else "/" + rest


class CorpusTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port = free_port()
        cls.class_certgate(config([listener("plain", cls.port, tls=False)], cls.be.url),
                           [cls.port])

    def setUp(self):
        super().setUp()
        self.be.clear()

    def run_case(self, entry):
        kind, why = expectation(entry)
        raw = (CORPUS / entry["file"]).read_bytes()
        if kind == "skip":
            self.skipTest(why)
        if kind == "reject":
            # llhttp's own rejections come after the messages it completed;
            # ours (DIFFERENCES) reject the first message.
            before = 0 if entry["file"] in DIFFERENCES else entry["messages_completed"]
            self.check_rejected(raw, before, why)
        else:
            self.check_forwarded(raw, absolute=(kind == "absolute"))

    def check_forwarded(self, raw, absolute):
        wire, msgs = complete(raw)
        with RawConn(self.port) as c:
            c.send(wire)
            for m in msgs:
                res = c.read_response(head=(m.method == "HEAD"))
                self.assertIsNotNone(res, f"closed before answering {m.method} {m.target}")
                self.assertEqual(res.status, 200, f"{res} for {wire!r}")
        got = self.be.wait_for(len(msgs))
        time.sleep(0.05)
        got = self.be.requests()
        self.assertEqual(len(got), len(msgs), got)
        for m, r in zip(msgs, got):
            self.assertEqual(r.method, m.method)
            targets = {m.target, origin_form(m.target)} if absolute else {m.target}
            self.assertIn(r.target, targets)
            self.assertEqual(r.body, m.body)

    def check_rejected(self, raw, before, why):
        wire = raw + (b"\r\n" if raw.endswith(b"\r\n") else b"\r\n\r\n")
        with RawConn(self.port) as c:
            c.send(wire)
            for _ in range(before):
                res = c.read_response()
                self.assertEqual(res and res.status, 200, "a message before the error")
            try:
                res = c.read_response(timeout=4)
            except TimeoutError:
                self.fail(f"neither rejected nor closed within 4 s ({why}): {wire!r}")
            if res is not None:
                self.assertIn(res.status, ERROR_CODES, f"{res} ({why})")
                self.assertJsonError(res, res.status, ERROR_CODES[res.status])
                if res.status == 400:
                    self.assertTrue(c.wait_closed(2), "a 400 must close the connection")
        time.sleep(0.1)
        self.assertEqual(len(self.be.requests()), before, f"{self.be.requests()} ({why})")


def _add_cases():
    if not (CORPUS / "index.json").exists():
        return
    for entry in load_index():
        name = "test_" + re.sub(r"\W", "_", Path(entry["file"]).stem)

        def case(self, entry=entry):
            self.run_case(entry)

        case.__doc__ = f"{entry['file']}: {entry['title']}"
        setattr(CorpusTest, name, case)


_add_cases()

if __name__ == "__main__":
    unittest.main()

"""Machinery for the end-to-end tests: the demo PKI, certgate processes, a
recording backend, and clients (curl, openssl s_client, raw sockets).

Python 3 standard library only; curl and the openssl CLI must be on PATH.
run.py sets CERTGATE_BINARY / CERTGATE_QUICK before the tests are imported.
"""

import atexit
import base64
import functools
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

from backend import RecordingBackend, pattern_sha256  # noqa: F401  (re-exported)
from clients import (  # noqa: F401  (re-exported)
    HttpResult,
    RawConn,
    curl,
    s_client,
)

REPO = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("CERTGATE_BINARY", str(REPO / "build" / "certgate"))
QUICK = os.environ.get("CERTGATE_QUICK") == "1"
ASAN = os.environ.get("CERTGATE_ASAN") == "1"
# ASan binaries start and run several times slower.
START_TIMEOUT = 20.0 if ASAN else 10.0
STOP_TIMEOUT = 20.0 if ASAN else 10.0

CLIENTS = (
    "valid-client",
    "unregistered-client",
    "expired-client",
    "notyetvalid-client",
    "revoked-client",
    "untrusted-client",
)


def slow(test):
    """Mark a test that moves 100 MB; --quick (the ASan run) skips it."""
    return unittest.skipIf(QUICK, "slow test, skipped with --quick")(test)


# --- session-wide scratch space and PKI ---------------------------------------

_session = {}
_session_lock = threading.Lock()


def session_dir():
    """One temp dir per run, removed at exit (kept if CERTGATE_E2E_KEEP=1)."""
    with _session_lock:
        if "dir" not in _session:
            d = Path(tempfile.mkdtemp(prefix="certgate-e2e-"))
            _session["dir"] = d
            if os.environ.get("CERTGATE_E2E_KEEP") != "1":
                atexit.register(shutil.rmtree, d, True)
        return _session["dir"]


_scratch_counter = itertools.count(1)


def scratch(prefix):
    """A fresh directory inside the session dir."""
    d = session_dir() / f"{prefix}-{next(_scratch_counter)}"
    d.mkdir()
    return d


def pki():
    """The demo PKI (scripts/gen-pki.sh), generated once per run."""
    with _session_lock:
        if "pki" in _session:
            return _session["pki"]
    out = session_dir() / "pki"
    r = subprocess.run(
        [str(REPO / "scripts" / "gen-pki.sh"), str(out)], capture_output=True, text=True
    )
    if r.returncode != 0 or not (out / "root-ca.pem").exists():
        raise RuntimeError(f"gen-pki.sh failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    with _session_lock:
        _session["pki"] = out
    return out


def pem(name):
    """Path of a PKI file: pem('valid-client') -> .../valid-client.pem."""
    return str(pki() / (name if "." in name else name + ".pem"))


def key(name):
    return str(pki() / (name + ".key"))


def _openssl(*args, data=None):
    r = subprocess.run(["openssl", *args], input=data, capture_output=True, check=True)
    return r.stdout


@functools.lru_cache(maxsize=None)
def cert_facts(name):
    """What the backend must see for a certificate, computed by the openssl CLI."""
    f = pem(name)
    der = _openssl("x509", "-in", f, "-outform", "DER")
    b64 = subprocess.run(
        ["base64", "-w0"], input=der, capture_output=True, check=True
    ).stdout.decode()

    def field(*args):
        out = _openssl("x509", "-in", f, "-noout", "-nameopt", "RFC2253", *args).decode()
        return out.strip().split("=", 1)[1]

    def rfc3339(openssl_date):  # "Jan  1 00:00:00 2024 GMT"
        t = time.strptime(openssl_date, "%b %d %H:%M:%S %Y GMT")
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", t)

    return {
        "der": der,
        "b64": b64,
        "subject": field("-subject"),
        "issuer": field("-issuer"),
        "serial": field("-serial").upper(),
        "sha1": field("-fingerprint", "-sha1").replace(":", "").upper(),
        "sha256": field("-fingerprint", "-sha256").replace(":", "").upper(),
        "not_before": rfc3339(field("-startdate")),
        "not_after": rfc3339(field("-enddate")),
    }


# --- ports ---------------------------------------------------------------------

_given_ports = set()


def free_port():
    """A port on 127.0.0.1 nothing listens on now and no test was handed before."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port")


def stop_listening(sock):
    """Close a listening socket that a thread may be blocked in accept() on: on Linux
    close() alone leaves it listening (and the thread waiting) until the process ends;
    shutdown() wakes the accept with an error first."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers (a responder or backend that hangs);
    start() it, stop() closes everything."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.conns = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        try:
            while True:
                self.conns.append(self.sock.accept()[0])
        except OSError:
            pass

    def stop(self):
        stop_listening(self.sock)
        for c in self.conns:
            c.close()
        self.thread.join(timeout=5)


def wait_port(port, timeout, alive=None):
    """Wait until 127.0.0.1:port accepts; <alive>() returning False aborts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


# --- YAML ----------------------------------------------------------------------


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:@-]*")
_YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}


def _scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    s = str(v)
    if _PLAIN.fullmatch(s) and s.lower() not in _YAML_WORDS:
        return s
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def _yaml_lines(obj):
    if isinstance(obj, dict) and obj:
        out = []
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{k}:")
                out.extend("  " + line for line in _yaml_lines(v))
            else:
                out.append(f"{k}: {_scalar(v)}")
        return out
    if isinstance(obj, list) and obj:
        out = []
        for item in obj:
            sub = _yaml_lines(item)
            out.append("- " + sub[0])
            out.extend("  " + line for line in sub[1:])
        return out
    return [_scalar(obj)]


def to_yaml(obj):
    """Block-style YAML of dicts/lists/scalars, as an operator would write it."""
    return "\n".join(_yaml_lines(obj)) + "\n"


# --- config builders -------------------------------------------------------------


def inline_policy():
    """trusted_ca + intermediates of the demo: DEV clients verify, TST ones do not."""
    return {"trusted_ca": [pem("root-ca")], "intermediates": [pem("dev-intermediate")]}


ARR_FORWARD = {
    "headers": [{"name": "X-ARR-ClientCert", "format": "base64-der"}],
    "identity_headers": True,
}


def listener(
    name,
    port,
    mode="require",
    on_failure=None,
    certs=None,
    routes=None,
    forward=None,
    backend="app",
    tls=True,
    **extra,
):
    """One listener dict. mode None with tls=True means no client_auth key at all."""
    lst = {"name": name, "address": f"127.0.0.1:{port}"}
    if tls:
        t = {"certificates": certs or [{"cert": pem("server"), "key": key("server")}]}
        if mode is not None:
            ca = {"mode": mode}
            if on_failure:
                ca["on_failure"] = on_failure
            if mode != "ignore":
                ca.update(inline_policy())
            t["client_auth"] = ca
        lst["tls"] = t
    lst.update(extra)
    lst["forward"] = forward if forward is not None else ARR_FORWARD
    lst["routes"] = routes or [{"match": {"path_prefix": "/"}, "backend": backend}]
    return lst


def config(listeners, backend_url=None, **extra):
    """A whole config: <listeners>, backend 'app' (the recording backend, or echo
    when none is given) and backend 'echo'."""
    backends = {"echo": {"builtin": "echo"}}
    backends["app"] = {"servers": [backend_url]} if backend_url else {"builtin": "echo"}
    cfg = {"listeners": listeners, "backends": backends}
    cfg.update(extra)
    return cfg


# --- the certgate process ----------------------------------------------------------


class Certgate:
    """certgate run as a child process. Config is a YAML string or a dict."""

    def __init__(self, cfg=None, ports=(), args=None, workers=2, env=None, name="certgate"):
        self.dir = scratch(name)
        self.ports = list(ports)
        self.proc = None
        self.config_path = None
        if cfg is not None:
            text = cfg if isinstance(cfg, str) else to_yaml(cfg)
            self.config_path = self.dir / "certgate.yaml"
            self.config_path.write_text(text)
            self.argv = [BINARY, "run", "-c", str(self.config_path)]
        else:
            self.argv = [BINARY, "run"]
        self.argv += list(args or [])
        if workers is not None:
            self.argv += ["--workers", str(workers)]
        self.env = dict(os.environ, **(env or {}))
        self.stdout_path = self.dir / "stdout.log"
        self.stderr_path = self.dir / "stderr.log"
        self.exit_code = None

    def start(self):
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=self.env
            )
        for port in self.ports:
            if not wait_port(port, START_TIMEOUT, alive=lambda: self.proc.poll() is None):
                rc = self.proc.poll()
                if rc is None:
                    self.proc.kill()
                    self.proc.wait()
                    what = f"port {port} did not accept within {START_TIMEOUT}s"
                else:
                    what = f"exited with status {rc} before listening on {port}"
                raise AssertionError(f"certgate {what}\n{self.logs()}")
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        """VmRSS of the process in KiB (None once it is gone)."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT):
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"certgate still running {timeout}s after SIGTERM\n{self.logs()}")
        return self.exit_code

    def stop(self):
        """SIGTERM; the process must exit 0 (and, under ASan, report nothing)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.wait()
        self.check_sanitizers()
        if rc != 0:
            raise AssertionError(f"certgate exited with status {rc} after SIGTERM\n{self.logs()}")

    def check_sanitizers(self):
        if not ASAN:
            return
        err = self.stderr_path.read_text(errors="replace")
        for marker in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            if marker in err:
                raise AssertionError(f"sanitizer report ({marker}) in stderr\n{self.logs()}")

    def logs(self, tail=120):
        parts = [f"--- {' '.join(self.argv)}"]
        if self.config_path is not None:
            parts.append(f"--- {self.config_path}\n{self.config_path.read_text()}")
        for label, p in (("stdout", self.stdout_path), ("stderr", self.stderr_path)):
            try:
                lines = p.read_text(errors="replace").splitlines()
            except OSError:
                lines = []
            if len(lines) > tail:
                lines = [f"... ({len(lines) - tail} lines cut)"] + lines[-tail:]
            parts.append(f"--- {label}\n" + "\n".join(lines))
        return "\n".join(parts)


def certgate_check(cfg_text, name="check.yaml", extra_files=None):
    """Write <cfg_text> and run `certgate check -c FILE`. Returns (rc, stdout, stderr, path)."""
    d = scratch("check")
    for fname, content in (extra_files or {}).items():
        (d / fname).write_text(content)
    path = d / name
    path.write_text(cfg_text)
    r = subprocess.run(
        [BINARY, "check", "-c", str(path)], capture_output=True, text=True, timeout=30
    )
    return r.returncode, r.stdout, r.stderr, path


# --- the test case base ----------------------------------------------------------------


class CertgateTestCase(unittest.TestCase):
    """Starts processes with cleanup registered, and prints their logs when a
    test fails. Class-wide processes (setUpClass) go through the cls* methods."""

    maxDiff = None
    _class_procs = ()
    _class_backends = ()

    def setUp(self):
        self._procs = []
        self._backends = []

    @classmethod
    def class_certgate(cls, cfg=None, ports=(), **kw):
        cg = Certgate(cfg, ports, **kw)
        cls._class_procs = list(cls._class_procs) + [cg]
        cg.start()
        cls.addClassCleanup(cg.stop)
        return cg

    @classmethod
    def class_backend(cls):
        b = RecordingBackend().start()
        cls._class_backends = list(cls._class_backends) + [b]
        cls.addClassCleanup(b.stop)
        return b

    def certgate(self, cfg=None, ports=(), **kw):
        cg = Certgate(cfg, ports, **kw)
        self._procs.append(cg)
        cg.start()
        self.addCleanup(cg.stop)
        return cg

    def backend(self):
        b = RecordingBackend().start()
        self._backends.append(b)
        self.addCleanup(b.stop)
        return b

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            for cg in list(getattr(self, "_procs", [])) + list(type(self)._class_procs):
                sys.stderr.write(f"\n===== logs of {self.id()} =====\n{cg.logs()}\n")
            for b in list(getattr(self, "_backends", [])) + list(type(self)._class_backends):
                if b.errors():
                    sys.stderr.write(f"===== backend {b.url} errors =====\n"
                                     + "\n".join(b.errors()) + "\n")
        return out

    # -- assertions --

    def assertJsonError(self, res, status, code):
        """<res> is the JSON rejection SPEC §4 describes, with exactly this status and code."""
        self.assertEqual(res.status, status, f"body: {res.body[:500]!r}")
        ctype = (res.header("Content-Type") or "").split(";")[0].strip().lower()
        self.assertEqual(ctype, "application/json", f"headers: {res.headers}")
        body = res.json()
        self.assertEqual(set(body), {"error", "detail"}, body)
        self.assertEqual(body["error"], code, body)
        self.assertIsInstance(body["detail"], str)
        self.assertTrue(body["detail"].strip(), "detail must be a human sentence")
        return body

    def assertNothingReached(self, backend, settle=0.2):
        """The backend never saw a request (waits <settle> s for stragglers)."""
        time.sleep(settle)
        self.assertEqual(backend.requests(), [], "the backend received a request")

    def assertIdentityHeaders(self, req, name, verify="SUCCESS"):
        """<req> (a recorded backend request) carries exactly one copy of every
        identity header of SPEC §5 for certificate <name>."""
        f = cert_facts(name)
        expect = {
            "X-Client-Cert-Verify": verify,
            "X-Client-Cert-Subject": f["subject"],
            "X-Client-Cert-Issuer": f["issuer"],
            "X-Client-Cert-Serial": f["serial"],
            "X-Client-Cert-SHA1": f["sha1"],
            "X-Client-Cert-SHA256": f["sha256"],
            "X-Client-Cert-Not-Before": f["not_before"],
            "X-Client-Cert-Not-After": f["not_after"],
        }
        for hname, value in expect.items():
            self.assertEqual(req.header_values(hname), [value], hname)

    def assertForwardedCert(self, req, name, header="X-ARR-ClientCert"):
        """Exactly one <header>, equal to base64 of the DER of certificate <name>."""
        self.assertEqual(req.header_values(header), [cert_facts(name)["b64"]], header)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def b64(data):
    return base64.b64encode(data).decode()

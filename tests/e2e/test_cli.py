"""The command line (SPEC §7): `certgate check` and quick mode."""

import resource
import subprocess

from harness import (
    BINARY,
    START_TIMEOUT,
    CertgateTestCase,
    certgate_check,
    config,
    curl,
    free_port,
    key,
    listener,
    pem,
    scratch,
    to_yaml,
    wait_port,
)


def chain_client(name):
    """Quick mode has no --intermediates: the client sends its chain."""
    return (pem(name + "-chain"), key(name))


class CheckTest(CertgateTestCase):
    """Errors name the place: file:line:column: message, exit status 1."""

    def assertCheckError(self, text, line, col, mentions, extra_files=None):
        rc, out, err, path = certgate_check(text, extra_files=extra_files)
        self.assertEqual(rc, 1, f"stdout: {out}\nstderr: {err}")
        first = err.strip().splitlines()[0] if err.strip() else ""
        self.assertTrue(first.startswith(f"{path}:{line}:{col}: "),
                        f"expected {path}:{line}:{col}: ..., got {err!r}")
        self.assertIn(mentions, first)
        self.assertGreater(len(first), len(f"{path}:{line}:{col}: ") + 5, "no message")

    def test_valid_config_passes_with_status_0(self):
        port = free_port()
        text = to_yaml(config([listener("mtls", port, "require")]))
        rc, out, err, _ = certgate_check(text)
        self.assertEqual((rc, err), (0, ""), out)

    def test_unknown_key_is_reported_at_the_key(self):
        text = (
            "listeners:\n"
            "  - name: main\n"
            "    address: 127.0.0.1:18443\n"
            "    colour: blue\n"
            "    routes:\n"
            "      - {match: {path_prefix: /}, backend: echo}\n"
            "backends:\n"
            "  echo: {builtin: echo}\n"
        )
        self.assertCheckError(text, 4, 5, "colour")

    def test_wrong_type_is_reported_at_the_value(self):
        text = (
            "listeners:\n"
            "  - name: main\n"
            "    address: [127.0.0.1, 18443]\n"
            "    routes:\n"
            "      - {match: {path_prefix: /}, backend: echo}\n"
            "backends:\n"
            "  echo: {builtin: echo}\n"
        )
        self.assertCheckError(text, 3, 14, "address")

    def test_missing_certificate_file_is_reported_at_its_path(self):
        text = (
            "listeners:\n"
            "  - name: main\n"
            "    address: 127.0.0.1:18443\n"
            "    tls:\n"
            "      certificates:\n"
            "        - cert: missing-server.pem\n"
            f"          key: {key('server')}\n"
            "    routes:\n"
            "      - {match: {path_prefix: /}, backend: echo}\n"
            "backends:\n"
            "  echo: {builtin: echo}\n"
        )
        self.assertCheckError(text, 6, 17, "missing-server.pem")

    def test_unreadable_key_is_reported_at_its_path(self):
        text = (
            "listeners:\n"
            "  - name: main\n"
            "    address: 127.0.0.1:18443\n"
            "    tls:\n"
            "      certificates:\n"
            f"        - cert: {pem('server')}\n"
            "          key: garbage.key\n"
            "    routes:\n"
            "      - {match: {path_prefix: /}, backend: echo}\n"
            "backends:\n"
            "  echo: {builtin: echo}\n"
        )
        self.assertCheckError(text, 7, 16, "garbage.key",
                              extra_files={"garbage.key": "this is not a private key\n"})


class QuickModeTest(CertgateTestCase):
    """certgate run --listen ... --client-ca ... --forward ... --backend ..."""

    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port, cls.echo_port = free_port(), free_port()
        common = ["--cert", pem("server"), "--key", key("server"),
                  "--client-ca", pem("root-ca"), "--client-auth", "require",
                  "--forward", "X-ARR-ClientCert=base64-der"]
        cls.class_certgate(None, [cls.port], name="quick",
                           args=["--listen", f"127.0.0.1:{cls.port}", *common,
                                 "--backend", cls.be.url])
        cls.class_certgate(None, [cls.echo_port], name="quick-echo",
                           args=["--listen", f"127.0.0.1:{cls.echo_port}", *common,
                                 "--backend", "echo"])

    def setUp(self):
        super().setUp()
        self.be.clear()

    def test_valid_client_is_forwarded_to_the_backend(self):
        res = curl(f"https://localhost:{self.port}/q", client=chain_client("valid-client"))
        self.assertEqual(res.status, 200, res)
        req = self.be.only()
        self.assertForwardedCert(req, "valid-client")
        self.assertIdentityHeaders(req, "valid-client")

    def test_expired_client_gets_401(self):
        res = curl(f"https://localhost:{self.port}/q", client=chain_client("expired-client"))
        self.assertJsonError(res, 401, "ClientCertificateExpired")
        self.assertNothingReached(self.be)

    def test_no_certificate_gets_401(self):
        res = curl(f"https://localhost:{self.port}/q")
        self.assertJsonError(res, 401, "ClientCertificateNotFound")
        self.assertNothingReached(self.be)

    def test_echo_backend_shows_the_identity(self):
        res = curl(f"https://localhost:{self.echo_port}/q", client=chain_client("valid-client"))
        self.assertEqual(res.status, 200, res)
        doc = res.json()
        self.assertEqual(doc["client"]["verify"], "SUCCESS")
        self.assertEqual(doc["client"]["subject"], "CN=Valid Client,OU=Demo Clients,O=APIM Sample")


class WorkersFlagTest(CertgateTestCase):
    """--workers N takes the same range as the file's `workers:` (1-1024)."""

    def run_bad(self, value):
        port = free_port()
        d = scratch("workers")
        cfg = d / "c.yaml"
        cfg.write_text(to_yaml(config([listener("mtls", port, "require")])))
        return subprocess.run([BINARY, "run", "-c", str(cfg), "--workers", value],
                              capture_output=True, text=True, timeout=30)

    def test_out_of_range_is_refused_with_the_range(self):
        for value in ("0", "1025", "2x"):
            with self.subTest(value=value):
                r = self.run_bad(value)
                self.assertEqual(r.returncode, 1, r.stderr)  # as a config error
                self.assertEqual(r.stderr.splitlines()[0],
                                 "--workers: expected a number from 1 to 1024")

    def test_more_than_256_workers_serve(self):
        if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 300 * 6 + 64:
            self.skipTest("the hard file-descriptor limit is too low for 300 workers")
        port = free_port()
        self.certgate(config([listener("mtls", port, "require")]), [port], workers=300)
        res = curl(f"https://localhost:{port}/w", client="valid-client")
        self.assertEqual(res.status, 200, res)

    def limited(self, workers, soft, hard):
        """certgate run with RLIMIT_NOFILE (soft, hard) (set by util-linux's prlimit) and
        <workers> workers; (process, port). Skips when this runner's hard limit is lower."""
        if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < hard:
            self.skipTest(f"the hard file-descriptor limit here is below {hard}")
        port = free_port()
        cfg = scratch("fdlimit") / "c.yaml"
        cfg.write_text(to_yaml(config([listener("mtls", port, "require")])))
        p = subprocess.Popen(
            ["prlimit", f"--nofile={soft}:{hard}", BINARY, "run", "-c", str(cfg), "--workers",
             str(workers)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def stop():
            if p.poll() is None:
                p.kill()
            p.wait(10)
            p.stderr.close()
        self.addCleanup(stop)
        return p, port

    def test_soft_fd_limit_is_raised_to_the_hard_one(self):
        p, port = self.limited(4, 256, 4096)
        self.assertTrue(wait_port(port, START_TIMEOUT, alive=lambda: p.poll() is None),
                        "certgate did not start")
        res = curl(f"https://localhost:{port}/fd", client="valid-client")
        self.assertEqual(res.status, 200, res)
        p.terminate()
        self.assertEqual(p.wait(START_TIMEOUT), 0)
        self.assertIn("file descriptor limit raised from 256 to 4096", p.stderr.read())

    def test_too_many_workers_for_the_fd_limit_are_refused_with_a_reason(self):
        p, _ = self.limited(100, 256, 256)
        self.assertEqual(p.wait(START_TIMEOUT), 1)
        self.assertIn("100 workers need at least 664 file descriptors and the limit "
                      "(RLIMIT_NOFILE) is 256: raise it (ulimit -n, systemd LimitNOFILE=) or "
                      "run fewer workers", p.stderr.read())

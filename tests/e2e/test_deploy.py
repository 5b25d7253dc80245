"""Running many instances (issue 7): `make install`, the systemd unit and logrotate file,
the Kubernetes manifests in deploy/kubernetes (every file parses; probes, ports, mounts and
the drain budget agree with the certgate.yaml in the ConfigMap, which `certgate check`
accepts and which serves when started), and the command line's help: every command listed,
every flag a command accepts mentioned in its --help, usage errors exit 2."""

import os
import re
import shutil
import subprocess
import unittest
from pathlib import Path

from harness import (
    BINARY,
    REPO,
    CertgateTestCase,
    curl,
    free_port,
    key,
    pem,
    scratch,
)

try:
    import yaml
except ImportError:  # a test that cannot run must not pass: fail with the fix
    yaml = None

K8S = REPO / "deploy" / "kubernetes"
SYSTEMD = REPO / "deploy" / "systemd"


def need_yaml(test):
    if yaml is None:
        test.fail("python3-yaml is needed to read deploy/kubernetes (apt-get install python3-yaml)")


def run(*args, timeout=30, **kw):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=timeout, **kw)


def duration_s(text):
    """'20s', '500ms', '1m30s' -> seconds (docs/config.md durations)."""
    total = 0.0
    for n, unit in re.findall(r"(\d+)(ms|s|m|h)", text):
        total += int(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    if not text or re.sub(r"\d+(ms|s|m|h)", "", text):
        raise ValueError(f"not a duration: {text!r}")
    return total


# --- make install / uninstall -------------------------------------------------------------


def build_dir():
    """The BUILD the binary under test came from (build/ or build-asan/)."""
    return Path(BINARY).resolve().parent


class InstallTest(unittest.TestCase):
    """make install DESTDIR=... PREFIX=/usr, then make uninstall."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.dest = scratch("install")
        b = build_dir()
        b = os.path.relpath(b, REPO) if b.is_relative_to(REPO) else str(b)
        cls.make = ["make", "-s", "-C", str(REPO), f"BUILD={b}",
                    f"DESTDIR={cls.dest}", "PREFIX=/usr"]
        r = subprocess.run(cls.make + ["install"], capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise AssertionError(f"make install failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")

    def files(self):
        return sorted(str(p.relative_to(self.dest)) for p in self.dest.rglob("*")
                      if p.is_file() or p.is_symlink())

    def expected(self):
        headers = sorted(p.name for p in (REPO / "include" / "certgate").glob("*.h"))
        docs = ["README.md", "certgate.logrotate"] + [p.name for p in (REPO / "docs").glob("*.md")]
        return sorted(
            ["usr/bin/certgate", "usr/lib/libcertgate.a", "usr/lib/libcertgate.so",
             "usr/lib/libcertgate.so.0", "usr/lib/systemd/system/certgate.service"]
            + [f"usr/include/certgate/{h}" for h in headers]
            + [f"usr/share/doc/certgate/{d}" for d in docs]
        )

    def test_01_installs_exactly_these_files(self):
        files = self.files()
        self.assertEqual(files, self.expected())
        # the list above comes from globs: make sure they found what must be there
        for must in ("usr/include/certgate/certgate.h", "usr/include/certgate/policy.h",
                     "usr/share/doc/certgate/deployment.md", "usr/share/doc/certgate/config.md"):
            self.assertIn(must, files)

    def test_02_modes_and_contents(self):
        d = self.dest / "usr"
        modes = {"bin/certgate": 0o755, "lib/libcertgate.so.0": 0o755, "lib/libcertgate.a": 0o644,
                 "include/certgate/certgate.h": 0o644, "share/doc/certgate/deployment.md": 0o644,
                 "lib/systemd/system/certgate.service": 0o644}
        for rel, mode in modes.items():
            with self.subTest(file=rel):
                self.assertEqual(oct((d / rel).stat().st_mode & 0o7777), oct(mode))
        self.assertEqual((d / "bin/certgate").read_bytes(), (build_dir() / "certgate").read_bytes())
        # the link name for -lcertgate points at the file named by the SONAME
        self.assertEqual(os.readlink(d / "lib/libcertgate.so"), "libcertgate.so.0")
        for h in (REPO / "include" / "certgate").glob("*.h"):
            self.assertEqual((d / "include/certgate" / h.name).read_bytes(), h.read_bytes())

    def test_03_installed_binary_runs(self):
        binary = str(self.dest / "usr/bin/certgate")
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertRegex(r.stdout, r"\Acertgate \d+\.\d+\.\d+\n\Z")
        self.assertEqual(r.stdout, run("--version").stdout)
        r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertTrue(r.stdout.startswith("usage: certgate COMMAND [ARGS]\n"), r.stdout)

    def test_04_unit_names_the_installed_paths(self):
        unit = (self.dest / "usr/lib/systemd/system/certgate.service").read_text()
        lines = unit.splitlines()
        self.assertIn("ExecStart=/usr/bin/certgate run -c /etc/certgate/certgate.yaml", lines)
        self.assertIn("ExecStartPre=/usr/bin/certgate check -c /etc/certgate/certgate.yaml", lines)
        self.assertIn("Documentation=file:/usr/share/doc/certgate/deployment.md", lines)
        self.assertNotIn("/usr/local", unit)
        # otherwise the file is the one in deploy/systemd
        source = (SYSTEMD / "certgate.service").read_text().replace("/usr/local/", "/usr/")
        self.assertEqual(unit, source)

    def test_05_uninstall_removes_every_file(self):
        r = subprocess.run(self.make + ["uninstall"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.files(), [])
        self.assertFalse((self.dest / "usr/include/certgate").exists())
        self.assertFalse((self.dest / "usr/share/doc/certgate").exists())


# --- systemd ----------------------------------------------------------------------------------


def unit_settings(text):
    """[Section] Key=Value lines -> {key: [values]} (keys may repeat)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        k, _, v = line.partition("=")
        out.setdefault(k, []).append(v)
    return out


class SystemdTest(unittest.TestCase):
    def setUp(self):
        self.unit = (SYSTEMD / "certgate.service").read_text()
        self.s = unit_settings(self.unit)

    def test_service_settings(self):
        want = {
            "Type": ["simple"],
            "ExecStart": ["/usr/local/bin/certgate run -c /etc/certgate/certgate.yaml"],
            "ExecReload": ["/bin/kill -HUP $MAINPID"],
            "KillSignal": ["SIGTERM"],
            "Restart": ["on-failure"],
            "User": ["certgate"],
            "LimitNOFILE": ["1048576"],
            "NoNewPrivileges": ["yes"],
            "ProtectSystem": ["strict"],
            "ProtectHome": ["yes"],
            "PrivateTmp": ["yes"],
            "CapabilityBoundingSet": ["CAP_NET_BIND_SERVICE"],
            "AmbientCapabilities": ["CAP_NET_BIND_SERVICE"],
            "ReadOnlyPaths": ["/etc/certgate"],
            "WantedBy": ["multi-user.target"],
        }
        for k, v in want.items():
            with self.subTest(key=k):
                self.assertEqual(self.s.get(k), v)

    def test_stop_timeout_outlasts_the_drain(self):
        # certgate's default drain_timeout is 30s; systemd must not SIGKILL mid-drain
        self.assertGreater(duration_s(self.s["TimeoutStopSec"][0]), 30)

    def test_systemd_analyze_verify(self):
        tool = shutil.which("systemd-analyze")
        if tool is None:
            self.skipTest("systemd-analyze is not installed")
        d = scratch("systemd")
        unit = d / "certgate.service"
        # verify checks that ExecStart's binary exists: point it at the one under test
        unit.write_text(self.unit.replace("/usr/local/bin/certgate", str(Path(BINARY).resolve())))
        r = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_logrotate_reopens_with_sigusr1(self):
        text = (SYSTEMD / "certgate.logrotate").read_text()
        self.assertIn("/var/log/certgate/*.log {", text)
        body = text[text.index("postrotate"):text.index("endscript")].splitlines()
        self.assertEqual([line.strip() for line in body[1:] if line.strip()],
                         ["systemctl kill -s USR1 certgate >/dev/null 2>&1 || true"])
        # the unit gives certgate /var/log/certgate under ProtectSystem=strict
        self.assertEqual(self.s.get("LogsDirectory"), ["certgate"])


# --- Kubernetes -------------------------------------------------------------------------------


def load_k8s():
    """{file name: [documents]} for every YAML file of deploy/kubernetes."""
    return {p.name: [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
            for p in sorted(K8S.glob("*.yaml"))}


def one(docs, kind, name=None):
    found = [d for d in docs if d.get("kind") == kind
             and (name is None or d["metadata"]["name"] == name)]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def host_port(address):
    host, _, port = address.rpartition(":")
    return host, int(port)


class KubernetesTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        need_yaml(self)
        self.files = load_k8s()
        self.docs = [d for name, docs in self.files.items() if name != "kustomization.yaml"
                     for d in docs]
        self.cm = one(self.docs, "ConfigMap", "certgate-config")
        self.cfg = yaml.safe_load(self.cm["data"]["certgate.yaml"])
        self.dep = one(self.docs, "Deployment", "certgate")
        self.pod = self.dep["spec"]["template"]["spec"]
        self.ctr = one([dict(c, kind="c") for c in self.pod["containers"]], "c")

    def container_port(self, port):
        """A probe's or Service's port: a number, or the name of a containerPort."""
        if isinstance(port, int):
            return port
        return one([dict(p, kind="p") for p in self.ctr["ports"] if p.get("name") == port],
                   "p")["containerPort"]

    def test_every_file_parses_and_is_listed(self):
        self.assertEqual(sorted(self.files), ["configmap.yaml", "deployment.yaml",
                                              "kustomization.yaml", "poddisruptionbudget.yaml",
                                              "secret.yaml", "service.yaml"])
        for name, docs in self.files.items():
            with self.subTest(file=name):
                self.assertGreater(len(docs), 0)
                for d in docs:
                    self.assertIn("apiVersion", d)
                    self.assertIn("kind", d)
        kust = one(self.files["kustomization.yaml"], "Kustomization")
        self.assertEqual(sorted(kust["resources"]),
                         sorted(n for n in self.files if n != "kustomization.yaml"))
        for d in self.docs:
            self.assertNotIn("namespace", d["metadata"], d["metadata"])

    def test_kubectl_kustomize_builds(self):
        tool = shutil.which("kubectl")
        if tool is None:
            self.skipTest("kubectl is not installed")
        r = subprocess.run([tool, "kustomize", str(K8S)], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        kinds = sorted(d["kind"] for d in yaml.safe_load_all(r.stdout))
        self.assertEqual(kinds, ["ConfigMap", "Deployment", "PodDisruptionBudget", "Secret",
                                 "Secret", "Secret", "Service"])

    def test_probes_hit_the_admin_port(self):
        host, admin_port = host_port(self.cfg["admin"]["address"])
        self.assertEqual(host, "0.0.0.0")  # the kubelet probes the pod's address
        ready, live = self.ctr["readinessProbe"]["httpGet"], self.ctr["livenessProbe"]["httpGet"]
        self.assertEqual(ready["path"], "/ready")
        self.assertEqual(live["path"], "/health")
        self.assertEqual(self.container_port(ready["port"]), admin_port)
        self.assertEqual(self.container_port(live["port"]), admin_port)

    def test_service_sends_443_to_the_listener(self):
        svc = one(self.docs, "Service", "certgate")
        (port,) = svc["spec"]["ports"]
        self.assertEqual((port["port"], port["protocol"]), (443, "TCP"))
        listener = one([dict(x, kind="l") for x in self.cfg["listeners"]], "l")
        self.assertEqual(self.container_port(port["targetPort"]),
                         host_port(listener["address"])[1])
        self.assertEqual(svc["spec"]["sessionAffinity"], "None")
        self.assertIn(svc["spec"]["type"], ("LoadBalancer", "ClusterIP"))
        self.assertEqual(svc["spec"]["selector"], self.dep["spec"]["selector"]["matchLabels"])
        admin_port = host_port(self.cfg["admin"]["address"])[1]
        self.assertNotIn(admin_port, [self.container_port(p["targetPort"])
                                      for p in svc["spec"]["ports"]])

    def test_grace_period_covers_prestop_and_drain(self):
        self.assertEqual(self.dep["spec"]["replicas"], 2)
        sleep = self.ctr["lifecycle"]["preStop"]["sleep"]["seconds"]
        self.assertGreaterEqual(sleep, 1)
        drain = duration_s(self.cfg["drain_timeout"])
        self.assertGreater(self.pod["terminationGracePeriodSeconds"], sleep + drain)

    def test_runs_as_non_root_with_a_read_only_root(self):
        self.assertIs(self.pod["securityContext"]["runAsNonRoot"], True)
        sc = self.ctr["securityContext"]
        self.assertIs(sc["readOnlyRootFilesystem"], True)
        self.assertIs(sc["allowPrivilegeEscalation"], False)
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertIn("memory", self.ctr["resources"]["limits"])
        self.assertIn("cpu", self.ctr["resources"]["requests"])

    def test_every_file_certgate_reads_is_mounted_read_only(self):
        volumes = {v["name"]: v for v in self.pod["volumes"]}
        secrets = {d["metadata"]["name"]: d for d in self.docs if d["kind"] == "Secret"}
        mounts = {}
        for m in self.ctr["volumeMounts"]:
            with self.subTest(mount=m["name"]):
                self.assertIs(m.get("readOnly"), True)
                self.assertNotIn("subPath", m)  # a subPath mount never sees an update
                v = volumes[m["name"]]
                if "configMap" in v:
                    keys = self.cm["data"] if v["configMap"]["name"] == "certgate-config" else {}
                else:
                    keys = secrets[v["secret"]["secretName"]]["stringData"]
                for k in keys:
                    mounts[f"{m['mountPath']}/{k}"] = m["name"]
        args = self.ctr["command"] + self.ctr["args"]
        self.assertEqual(args[:3], ["/usr/local/bin/certgate", "run", "-c"])
        read = [args[3], self.cfg["ticket_keys"]]
        read += self.cfg["policies"]["clients"]["trusted_ca"]
        for c in self.cfg["listeners"][0]["tls"]["certificates"]:
            read += [c["cert"], c["key"]]
        self.assertEqual(sorted(read), sorted(mounts))
        self.assertEqual(mounts[self.cfg["ticket_keys"]], "ticket-keys")
        self.assertEqual(self.cfg["reload"], {"watch": True})

    def test_configmap_config_passes_check_and_serves(self):
        """The ConfigMap's certgate.yaml, with the demo PKI in place of the mounted Secrets."""
        d = scratch("k8s")
        # the command the Secret's placeholder tells the operator to run
        placeholder = one(self.docs, "Secret", "certgate-ticket-keys")["stringData"]["ticket.keys"]
        command = placeholder.split("REPLACE:", 1)[1].strip()
        self.assertEqual(command, "{ openssl rand -base64 80 | tr -d '\\n'; echo; } > ticket.keys")
        subprocess.run(["sh", "-c", command], cwd=d, check=True, timeout=30)
        self.assertRegex((d / "ticket.keys").read_text(), r"\A[A-Za-z0-9+/]{107}=\n\Z")
        files = {
            "/etc/certgate/tls/tls.crt": pem("server"),
            "/etc/certgate/tls/tls.key": key("server"),
            "/etc/certgate/client-ca/ca.crt": pem("root-ca"),
            "/etc/certgate/ticket-keys/ticket.keys": str(d / "ticket.keys"),
        }
        text = self.cm["data"]["certgate.yaml"]
        self.assertEqual(sorted(set(re.findall(r"/etc/certgate/[\w./-]+", text))), sorted(files))
        for k, v in files.items():
            text = text.replace(k, v)
        (d / "certgate.yaml").write_text(text)
        r = run("check", "-c", str(d / "certgate.yaml"))
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, f"{d / 'certgate.yaml'}: ok\n", ""))
        # the placeholders of secret.yaml do not pass: nobody runs on them by mistake
        bad = d / "placeholder.keys"
        bad.write_text(placeholder)
        (d / "bad.yaml").write_text(text.replace(str(d / "ticket.keys"), str(bad)))
        r = run("check", "-c", str(d / "bad.yaml"))
        self.assertEqual((r.returncode, r.stdout), (1, ""), r.stderr)
        self.assertTrue(r.stderr.startswith(f"{d / 'bad.yaml'}:"), r.stderr)
        self.assertIn(str(bad), r.stderr)


class KubernetesConfigServesTest(CertgateTestCase):
    """The ConfigMap's certgate.yaml started on loopback ports in front of a recording backend:
    the probes' endpoints answer, and the listener does mTLS to the backend."""

    def test_probes_and_mtls(self):
        need_yaml(self)
        cm = one(load_k8s()["configmap.yaml"], "ConfigMap", "certgate-config")
        d = scratch("k8s-run")
        one_line = "{ openssl rand -base64 80 | tr -d '\\n'; echo; } > ticket.keys"
        subprocess.run(["sh", "-c", one_line], cwd=d, check=True, timeout=30)
        port, admin = free_port(), free_port()
        be = self.backend()
        text = cm["data"]["certgate.yaml"]
        for old, new in {
            "/etc/certgate/tls/tls.crt": pem("server"),
            "/etc/certgate/tls/tls.key": key("server"),
            "/etc/certgate/client-ca/ca.crt": pem("root-ca"),
            "/etc/certgate/ticket-keys/ticket.keys": str(d / "ticket.keys"),
            "0.0.0.0:8443": f"127.0.0.1:{port}",
            "0.0.0.0:9901": f"127.0.0.1:{admin}",
            "http://app:8080": be.url,
        }.items():
            self.assertIn(old, text)
            text = text.replace(old, new)
        cg = self.certgate(text, [port, admin])
        for path, body in (("/health", '{"status":"ok"}'), ("/ready", None)):
            res = curl(f"http://127.0.0.1:{admin}{path}", cacert=None)
            self.assertEqual(res.status, 200, f"{path}: {res}")
            if body:
                self.assertEqual(res.body.decode().strip(), body)
        res = curl(f"https://localhost:{port}/k8s",
                   client=(pem("valid-client-chain"), key("valid-client")))
        self.assertEqual(res.status, 200, res)
        self.assertForwardedCert(be.only(), "valid-client")
        res = curl(f"https://localhost:{port}/k8s")
        self.assertJsonError(res, 401, "ClientCertificateNotFound")
        self.assertTrue(cg.alive())  # cleanup: SIGTERM, which must end in exit status 0


# --- the command line's help ------------------------------------------------------------------


def src(path):
    return (REPO / path).read_text()


def flags_of(command):
    """Every flag <command> accepts, read from the source that parses it."""
    if command == "run":
        quick = src("src/config/config_quick.c")
        table = quick[quick.index("static const struct flag flags[]"):]
        table = table[:table.index("};")]
        found = re.findall(r'"(--[a-z0-9-]+)"', table)
        return sorted(set(found) | {"-c", "--config", "--workers", "-h", "--help"})
    if command == "check":
        return ["--config", "--help", "-c", "-h"]
    if command == "verify":
        v = src("src/cli/verify.c")
        table = v[v.index("static const struct flag flags[]"):]
        table = table[:table.index("};")]
        found = re.findall(r'\{"(--[a-z0-9-]+)", FLAG_', table)
        found += re.findall(r'strcmp\(arg, "(-[a-z])"\)', v)  # -c, -h
        return sorted(set(found))
    if command == "decode":
        dsrc = src("src/cli/decode.c")
        body = dsrc[dsrc.index("int cli_decode("):]
        return sorted(set(re.findall(r'strn?cmp\(a, "(--?[a-z-]*)', body)))
    raise ValueError(command)


COMMANDS = ["run", "check", "verify", "decode"]
TOP_COMMANDS = [
    "  run       run the gateway, from a config file (-c) or from flags (quick mode)",
    "  check     check a config file and every file it names; exit 1 with file:line:column",
    "  verify    judge one certificate file as the gateway would and print every check",
    "  decode    decode a forwarded client-certificate header value into PEM and a summary",
    "  version   print the version",
    "  help      print this help, or a command's: certgate help COMMAND",
]


def mentions(text, flag):
    return re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", text) is not None


class HelpTest(unittest.TestCase):
    maxDiff = None

    def test_top_level_help_lists_every_command(self):
        for args in (["--help"], ["-h"], ["help"]):
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                lines = r.stdout.splitlines()
                self.assertEqual(lines[0], "usage: certgate COMMAND [ARGS]")
                start = lines.index("Commands:") + 1
                self.assertEqual(lines[start:start + len(TOP_COMMANDS) + 1], TOP_COMMANDS + [""])
                self.assertEqual(lines[lines.index("Global flags:") + 1:][:2],
                                 ["  -h, --help    print this help; certgate COMMAND --help "
                                  "prints the command's",
                                  "  --version     print the version"])

    def test_no_command_prints_the_help_on_stderr_and_exits_2(self):
        r = run()
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertEqual(r.stderr, run("--help").stdout)

    def test_the_flag_lists_are_read_from_the_source(self):
        self.assertEqual(flags_of("decode"), ["--", "--format", "--help", "-h"])
        self.assertIn("--listen", flags_of("run"))
        self.assertIn("--access-log", flags_of("run"))
        self.assertIn("--ocsp-get", flags_of("verify"))
        self.assertIn("-c", flags_of("verify"))

    def test_each_command_help_mentions_every_flag(self):
        for cmd in COMMANDS:
            outs = [run(cmd, "--help"), run(cmd, "-h"), run("help", cmd), run("--help", cmd)]
            for r in outs:
                with self.subTest(cmd=cmd, argv=r.args[1:]):
                    self.assertEqual((r.returncode, r.stderr), (0, ""))
                    self.assertEqual(r.stdout, outs[0].stdout)
            text = outs[0].stdout
            self.assertTrue(text.startswith(f"usage: certgate {cmd} "), text)
            self.assertRegex(text, r"\nExit status: 0 ")
            for flag in flags_of(cmd):
                with self.subTest(cmd=cmd, flag=flag):
                    self.assertTrue(mentions(text, flag), f"{flag} missing from:\n{text}")

    def test_run_help_documents_signals_and_operations_keys(self):
        text = run("run", "--help").stdout
        for word in ["SIGHUP", "SIGTERM, SIGINT", "SIGUSR1", "drain_timeout: 30s",
                     "reload: {watch: true}", "ticket_keys: FILE",
                     "log: {access: stdout|off|PATH, errors: stderr|PATH, "
                     "level: debug|info|warn|error}", "..data symlink",
                     "openssl rand -base64 80"]:
            with self.subTest(word=word):
                self.assertIn(word, text)
        self.assertTrue(text.endswith(
            "Exit status: 0 stopped by SIGTERM or SIGINT, 1 the configuration did not load or "
            "the\ngateway could not start (the reason on stderr), 2 usage error.\n"), text)

    def test_help_fits_a_terminal(self):
        for args in (["--help"], *[[c, "--help"] for c in COMMANDS]):
            for line in run(*args).stdout.splitlines():
                with self.subTest(args=args, line=line):
                    self.assertLessEqual(len(line), 92)

    def test_version(self):
        for args in (["--version"], ["version"]):
            r = run(*args)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            self.assertRegex(r.stdout, r"\Acertgate \d+\.\d+\.\d+\n\Z")
        r = run("version", "--help")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertTrue(r.stdout.startswith("usage: certgate version"))


RUN_USAGE = [
    "usage: certgate run -c certgate.yaml [--workers N]",
    "       certgate run --listen ADDR [--cert FILE --key FILE | --pkcs12 FILE] [flags]",
    "       (certgate run --help lists the flags)",
]
TOP_USAGE = ["usage: certgate run|check|verify|decode|version|help [ARGS]   "
             "(certgate --help lists them)"]


class UsageErrorTest(unittest.TestCase):
    """Exit status 2, nothing on stdout, the reason and a short usage on stderr."""

    maxDiff = None

    def assertUsage(self, args, lines):
        r = run(*args)
        self.assertEqual((r.returncode, r.stdout, r.stderr.splitlines()), (2, "", lines),
                         f"certgate {' '.join(args)}")

    def test_unknown_command_and_top_level_flag(self):
        self.assertUsage(["frobnicate"], ["certgate: unknown command 'frobnicate'"] + TOP_USAGE)
        self.assertUsage(["--frobnicate"], ["certgate: unknown flag '--frobnicate'"] + TOP_USAGE)
        self.assertUsage(["help", "frobnicate"],
                         ["certgate: unknown command 'frobnicate'"] + TOP_USAGE)

    def test_unknown_flag_of_each_command(self):
        self.assertUsage(["run", "--frobnicate"], ["--frobnicate: unknown flag"] + RUN_USAGE)
        self.assertUsage(["run", "--listen", "127.0.0.1:1", "--frobnicate=1"],
                         ["--frobnicate: unknown flag"] + RUN_USAGE)
        self.assertUsage(["check", "--frobnicate"],
                         ["--frobnicate: unknown flag", "usage: certgate check -c certgate.yaml"])
        r = run("verify", "--frobnicate", pem("valid-client"))
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertEqual(r.stderr.splitlines()[0], "certgate verify: --frobnicate: unknown flag")
        self.assertTrue(r.stderr.splitlines()[1].startswith("usage: certgate verify "))
        r = run("decode", "--frobnicate", "x")
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertEqual(r.stderr.splitlines(), [
            "certgate decode: unknown option '--frobnicate'",
            "usage: certgate decode [--format auto|base64-der|pem-urlencoded|hex|rfc9440|xfcc] "
            "VALUE|-"])

    def test_run_and_check_arguments(self):
        self.assertUsage(["run", "--listen", "127.0.0.1:1", "stray"],
                         ["'stray': unexpected argument"] + RUN_USAGE)
        self.assertUsage(["run", "-c", "x.yaml", "--listen", "127.0.0.1:1"],
                         ["--listen: unexpected with -c (quick-mode flags need no file)"]
                         + RUN_USAGE)
        self.assertUsage(["run", "-c"], ["-c: needs a value"] + RUN_USAGE)
        self.assertUsage(["check"],
                         ["-c FILE is required", "usage: certgate check -c certgate.yaml"])
        self.assertUsage(["check", "--config"],
                         ["--config: needs a value", "usage: certgate check -c certgate.yaml"])
        self.assertUsage(["check", "-c", "x.yaml", "--workers", "2"],
                         ["--workers: unknown flag", "usage: certgate check -c certgate.yaml"])
        self.assertUsage(["check", "-c", "x.yaml", "extra"],
                         ["'extra': unexpected argument", "usage: certgate check -c certgate.yaml"])
        self.assertUsage(["version", "extra"],
                         ["certgate version: 'extra': unexpected", "usage: certgate version"])

    def test_a_config_that_does_not_load_is_not_a_usage_error(self):
        missing = str(scratch("usage") / "missing.yaml")
        for cmd in ("check", "run"):
            r = run(cmd, "-c", missing)
            self.assertEqual((r.returncode, r.stdout, r.stderr),
                             (1, "", f"cannot open '{missing}': No such file or directory\n"))


if __name__ == "__main__":
    unittest.main()

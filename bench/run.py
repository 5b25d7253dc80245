#!/usr/bin/env python3
"""certgate vs nginx vs HAProxy, side by side, on one machine (issue 9).

One proxy at a time, pinned to core 1 with one worker; the load generator and the
backend on core 0. Every proxy verifies the same client chain (root -> intermediate ->
client, EC P-256) against the same root, forwards the certificate to the same backend
as X-ARR-ClientCert, and speaks TLS 1.3 only. What each number means:
docs/performance.md. Results: a table on stdout and bench/results/latest.json.

    python3 bench/run.py --build build-bench            # what `make bench` runs
    BENCH_SECONDS=5 BENCH_ROUNDS=1 python3 bench/run.py --build build-bench
    python3 bench/run.py --build build-bench --profile  # perf profiles of certgate too
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROXY_CPU = "1"  # the proxy's core
LOAD_CPU = "0"  # the load generator's and the backend's core

# ---------------------------------------------------------------- processes

_started = []  # every process we started, for the cleanup


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pinned(cpus):
    """taskset to <cpus>; BENCH_NICE (say -10) raises our priority over other work on a
    shared machine, for those who may."""
    nice = os.environ.get("BENCH_NICE")
    return (["nice", "-n", nice] if nice else []) + ["taskset", "-c", cpus]


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    _started.append(p)
    return p


def stop(p, sig=signal.SIGTERM, wait=5.0):
    """Stop one process we started, by its PID: SIGTERM, then SIGKILL."""
    if p is None or p.poll() is not None:
        return
    try:
        os.kill(p.pid, sig)
        p.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    except ProcessLookupError:
        pass


def kill_pid(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def cleanup():
    for p in reversed(_started):
        stop(p, wait=3.0)


def on_signal(sig, frame):
    cleanup()
    sys.exit(128 + sig)


def proc_cpu(pid):
    """utime + stime of a process (all its threads), in ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return int(rest[11]) + int(rest[12])
    except (OSError, IndexError):
        return 0


def thread_cpus(pid):
    out = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                data = f.read()
            name = data.split("(", 1)[1].rsplit(")", 1)[0]
            rest = data.rsplit(")", 1)[1].split()
            out[f"{tid}:{name}"] = int(rest[11]) + int(rest[12])
    except OSError:
        pass
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def machine_busy():
    """Busy ticks of cores 0 and 1 (everything but idle and iowait), and steal."""
    busy = steal = 0
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 ") or line.startswith("cpu1 "):
                v = [int(x) for x in line.split()[1:]]
                busy += sum(v[:8]) - v[3] - v[4]
                steal += v[7]
    return busy, steal


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def backend_stats(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /__stats HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def version_of(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def git_revision():
    """HEAD, and whether the tree differs from it (plumbing only: nothing is written)."""
    rev = version_of(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", ROOT, "diff-index", "--quiet", "HEAD", "--"],
                           capture_output=True).returncode
    return rev + ("+changes" if dirty else "")


# ---------------------------------------------------------------- load generator


class Bench:
    def __init__(self, args):
        self.a = args
        self.build = os.path.abspath(args.build)
        self.loadgen = os.path.join(self.build, "bench", "loadgen")
        self.backend_bin = os.path.join(self.build, "bench", "backend")
        self.certgate = os.path.join(self.build, "certgate")
        self.work = os.path.join(self.build, "bench-run")
        self.pki = os.path.join(self.build, "bench-pki")
        self.secs = args.seconds
        self.backend = None
        self.backend_port = free_port()
        self.sanity_info = {}

    def loadgen_run(self, port, mode, extra=(), measure=(), on_hold=None, cpus=LOAD_CPU,
                    limit=None, started=None):
        """Run the load generator; sample the CPU of the `measure` PIDs between its START
        and END marks. Returns its JSON plus proxy_cpu_s, others_cpu_s and threads."""
        P = self.pki
        cmd = pinned(cpus) + [self.loadgen, "--mode", mode, "--port", str(port),
               "--cert", f"{P}/client-chain.pem", "--key", f"{P}/client.key", "--tls13",
               "--json"] + list(extra)
        p = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if started is not None:
            started.append(p)
        limit = limit or (self.secs + 120)
        timer = threading.Timer(limit, lambda: kill_pid(p.pid))
        timer.start()
        s0 = s1 = None
        errs = []
        lg_self = [p.pid]
        try:
            for line in p.stderr:
                line = line.strip()
                if line == "loadgen: START":
                    s0 = self._sample(measure + tuple(lg_self))
                elif line.startswith("loadgen: HOLD"):
                    if on_hold:
                        on_hold(int(line.split()[2]))
                elif line == "loadgen: END":
                    s1 = self._sample(measure + tuple(lg_self))
                elif line:
                    errs.append(line)
            out = p.stdout.read()
            p.wait()
        finally:
            timer.cancel()
        if p.returncode not in (0, 1) or not out.strip():
            raise RuntimeError(f"loadgen {mode} failed ({p.returncode}): {' '.join(errs)[:300]}")
        r = json.loads(out)
        if s0 and s1:
            dt = {pid: (s1["cpu"][pid] - s0["cpu"][pid]) / CLK_TCK for pid in s0["cpu"]}
            r["proxy_cpu_s"] = sum(dt[pid] for pid in measure)
            ours = sum(dt.values()) + (s1["backend"] - s0["backend"]) / CLK_TCK
            r["others_cpu_s"] = max(0.0, (s1["busy"] - s0["busy"]) / CLK_TCK - ours)
            r["steal_s"] = (s1["steal"] - s0["steal"]) / CLK_TCK
            r["wall_s"] = s1["t"] - s0["t"]
            r["proxy_threads_cpu_s"] = {
                k: (v - s0["threads"].get(k, 0)) / CLK_TCK for k, v in s1["threads"].items()}
        return r

    def _sample(self, pids):
        busy, steal = machine_busy()
        threads = {}
        for pid in pids[:-1]:
            threads.update(thread_cpus(pid))
        return {"t": time.time(), "cpu": {pid: proc_cpu(pid) for pid in pids},
                "backend": proc_cpu(self.backend.pid), "busy": busy, "steal": steal,
                "threads": threads}

    # ------------------------------------------------------------ set-up

    def prepare(self):
        for f in (self.loadgen, self.backend_bin, self.certgate):
            if not os.access(f, os.X_OK):
                sys.exit(f"run.py: {f} is missing: run `make bench` (or build it)")
        for tool in ("nginx", "haproxy", "taskset"):
            if not shutil.which(tool):
                sys.exit(f"run.py: {tool} is missing: bench/deps.sh installs it")
        subprocess.run([os.path.join(HERE, "pki.sh"), self.pki], check=True)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        # the proxies inherit this: as many descriptors as the hard limit allows
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.nofile = hard
        self.backend = spawn(pinned(LOAD_CPU) + [self.backend_bin, "--port",
                              str(self.backend_port)], stderr=subprocess.DEVNULL)
        wait_port(self.backend_port, self.backend)

    # ------------------------------------------------------------ proxies

    def start_nginx(self, port):
        d = os.path.join(self.work, "nginx")
        os.makedirs(d, exist_ok=True)
        P = self.pki
        conns = max(1024, self.nofile - 64)
        conf = f"""worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile {self.nofile};
events {{ worker_connections {conns}; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream backend {{
    server 127.0.0.1:{self.backend_port};
    keepalive 64;
    keepalive_requests 1000000000;
  }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {P}/server.pem;
    ssl_certificate_key {P}/server.key;
    ssl_protocols TLSv1.3;
    ssl_client_certificate {P}/root.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-ARR-ClientCert $ssl_client_escaped_cert;
    }}
  }}
}}
"""
        path = os.path.join(d, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        p = spawn(pinned(PROXY_CPU) + ["nginx", "-p", d, "-c", path, "-e",
                   f"{d}/error.log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, p)
        for _ in range(100):
            kids = children(p.pid)
            if kids:
                break
            time.sleep(0.05)
        if len(kids) != 1:
            raise RuntimeError(f"nginx: expected one worker, found {kids}")
        return p, kids[0], kids

    def start_haproxy(self, port):
        d = os.path.join(self.work, "haproxy")
        os.makedirs(d, exist_ok=True)
        P = self.pki
        # HAProxy asks for about two descriptors per connection
        maxconn = max(1000, (self.nofile - 100) // 2)
        bind = (f"bind 127.0.0.1:{port} ssl crt {P}/server-combined.pem ca-file {P}/root.pem "
                "verify required ssl-min-ver TLSv1.3")
        conf = f"""global
  nbthread 1
  maxconn {maxconn}
  pidfile {d}/haproxy.pid
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 60s
  timeout http-keep-alive 300s
frontend bench
  {bind}
  http-request set-header X-ARR-ClientCert %[ssl_c_der,base64]
  default_backend app
backend app
  http-reuse always
  server s1 127.0.0.1:{self.backend_port}
"""
        path = os.path.join(d, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(conf)
        p = spawn(pinned(PROXY_CPU) + ["haproxy", "-f", path, "-db"],
                  stdout=subprocess.DEVNULL, stderr=open(f"{d}/haproxy.log", "w"))
        wait_port(port, p)
        return p, p.pid, []

    def certgate_config(self, port, workers):
        P = self.pki
        return f"""# certgate under the benchmark: what nginx and HAProxy are asked to do, no more
workers: {workers}
listeners:
  - name: bench
    address: 127.0.0.1:{port}
    tls:
      certificates: [{{cert: {P}/server.pem, key: {P}/server.key}}]
      client_auth: {{mode: require, on_failure: alert, trusted_ca: [{P}/root.pem], max_depth: 2}}
    timeouts: {{handshake: 10s, header: 10s, idle: 300s}}
    limits: {{connections: 100000}}
    forward:
      headers: [{{name: X-ARR-ClientCert, format: base64-der}}]
      identity_headers: false
    routes: [{{match: {{path_prefix: /}}, backend: app}}]
backends:
  app:
    servers: [http://127.0.0.1:{self.backend_port}]
    pool: {{max_idle: 64, idle_timeout: 300s}}
log: {{access: off}}
"""

    def start_certgate(self, port, workers=1, cpus=PROXY_CPU):
        d = os.path.join(self.work, "certgate")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, f"certgate-{workers}w.yaml")
        with open(path, "w") as f:
            f.write(self.certgate_config(port, workers))
        p = spawn(pinned(cpus) + [self.certgate, "run", "-c", path],
                  stdout=open(f"{d}/certgate.log", "a"), stderr=subprocess.STDOUT)
        wait_port(port, p)
        return p, p.pid, []

    def start(self, name, port, **kw):
        return {"nginx": self.start_nginx, "haproxy": self.start_haproxy,
                "certgate": self.start_certgate}[name](port, **kw)

    def stop_proxy(self, proc, others):
        stop(proc)
        for pid in others:  # nginx workers, should the master have gone first
            if os.path.exists(f"/proc/{pid}"):
                kill_pid(pid)

    # ------------------------------------------------------------ measurements

    def sanity(self, name, port):
        """One keep-alive second: 2xx, and the backend saw the certificate each time."""
        b0 = backend_stats(self.backend_port)
        r = self.loadgen_run(port, "keepalive", ["--connections", "2", "--duration", "0.5",
                                                 "--ca", f"{self.pki}/root.pem"])
        b1 = backend_stats(self.backend_port)
        with_cert = b1["with_cert"] - b0["with_cert"]
        without = b1["without_cert"] - b0["without_cert"]
        if r["count"] == 0 or r["errors_total"] or without:
            raise RuntimeError(f"{name}: sanity check failed: {r['errors']}, "
                               f"{without} requests reached the backend without a certificate")
        return {"requests": r["count"], "forwarded_with_cert": with_cert,
                "header_bytes": b1["cert_bytes_last"]}

    def with_proxy(self, name, fn, **kw):
        """Start one proxy, run fn(port, pid), stop it: one proxy runs at a time."""
        port = free_port()
        proc, pid, others = self.start(name, port, **kw)
        try:
            return fn(port, pid)
        finally:
            self.stop_proxy(proc, others)

    def measure(self, metric, port, pid, rate=None):
        m = (pid,)
        c, s = str(self.a.connections), str(self.secs)
        hc = str(self.a.handshake_connections)
        if metric == "keepalive":
            return self.loadgen_run(port, "keepalive", ["--connections", c, "--duration", s], m)
        if metric == "rate":
            return self.loadgen_run(port, "keepalive", ["--connections", c, "--duration", s,
                                                        "--rate", f"{rate:.1f}"], m)
        if metric == "handshake":
            return self.loadgen_run(port, "handshake", ["--connections", hc, "--duration", s,
                                                        "--no-verify"], m)
        if metric == "resume":
            r = self.loadgen_run(port, "resume", ["--connections", hc, "--duration", s,
                                                  "--no-verify"], m)
            # a client that uses each ticket once, as OpenSSL's and browsers do
            r["renew"] = self.loadgen_run(port, "resume", ["--connections", "4", "--duration",
                                                           "1", "--no-verify", "--ticket-renew"])
            return r
        if metric == "idle":
            return self.idle(port, pid, self.a.idle)
        raise ValueError(metric)

    def rounds(self, names):
        """Each metric for every proxy in turn (the order rotates each round), so that the
        numbers compared were taken within a minute of each other."""
        out, rate = [], None
        for name in names:
            out_s = self.with_proxy(name, lambda port, pid, n=name: self.sanity(n, port))
            self.sanity_info[name] = out_s
        for i in range(self.a.rounds):
            log(f"round {i + 1}/{self.a.rounds}")
            order = names[i % len(names):] + names[:i % len(names)]
            rr = {n: {} for n in names}
            for metric in ("keepalive", "rate", "handshake", "resume", "idle"):
                if metric == "idle" and i > 0:
                    continue  # memory does not move with the noise: once is enough
                if metric == "rate":
                    if rate is None and "nginx" in rr and "keepalive" in rr["nginx"]:
                        rate = rr["nginx"]["keepalive"]["requests_per_s"] / 2
                    if rate is None:
                        continue
                for n in order:
                    log(f"  {n}: {metric}" + (f" at {rate:.0f} requests/s" if metric == "rate"
                                               else ""))
                    rr[n][metric] = self.with_proxy(
                        n, lambda port, pid, mt=metric: self.measure(mt, port, pid, rate))
            out.append(rr)
        return out

    def idle(self, port, pid, n, sources=None, procs=1, hold=2.0, ramp=256):
        """RSS of the proxy before and while n idle mTLS connections are open. Each load
        generator holds its connections until all of them hold theirs, and `hold` s more."""
        time.sleep(0.3)
        before = rss_kib(pid)
        holds = []
        seen = {}
        lock = threading.Lock()
        lgs = []

        def on_hold(k):
            with lock:
                holds.append(k)
                if len(holds) < procs:
                    return
                time.sleep(0.5)  # let the last handshakes' buffers settle
                seen["rss"] = rss_kib(pid)
                seen["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
                time.sleep(hold)  # still there a while later?
                seen["rss_later"] = rss_kib(pid)
                for lg in lgs:
                    if lg.poll() is None:
                        os.kill(lg.pid, signal.SIGUSR1)

        per = [n // procs + (i < n % procs) for i in range(procs)]
        results = [None] * procs

        def one(i):
            extra = ["--connections", str(per[i]), "--duration", "240", "--no-verify",
                     "--timeout", "30", "--ramp", str(ramp)]
            if sources:
                extra += ["--source", ",".join(sources[i::procs])]
            results[i] = self.loadgen_run(port, "idle", extra, (pid,), on_hold=on_hold,
                                          limit=300, started=lgs)

        # several load generators hold their HOLD mark until all are there: one barrier
        if procs == 1:
            one(0)
        else:
            ths = [threading.Thread(target=one, args=(i,)) for i in range(procs)]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
        held = sum(r["held"] if r else 0 for r in results)
        errors = {}
        for r in results:
            for k, v in (r or {}).get("errors", {}).items():
                errors[k] = errors.get(k, 0) + v
        after = seen.get("rss", 0)
        return {"connections": n, "held": held, "rss_before_kib": before,
                "rss_held_kib": after, "rss_later_kib": seen.get("rss_later"),
                "open_fds": seen.get("fds"),
                "kib_per_conn": (after - before) / n if n and after else None,
                "errors": errors}

    def two_workers(self):
        """certgate on both cores, the load generator sharing them: 1 worker vs 2, in
        turn, each round."""
        out = []
        for i in range(self.a.rounds):
            rr = {}
            for workers in (1, 2):
                log(f"  certgate: {workers} worker(s) on cores 0,1")

                def run(port, pid):
                    r = {}
                    r["keepalive"] = self.loadgen_run(
                        port, "keepalive", ["--connections", str(self.a.connections),
                                            "--duration", str(self.secs), "--threads", "2"],
                        (pid,), cpus="0,1")
                    r["handshake"] = self.loadgen_run(
                        port, "handshake", ["--connections", str(self.a.handshake_connections),
                                            "--duration", str(self.secs), "--threads", "2",
                                            "--no-verify"], (pid,), cpus="0,1")
                    return r

                rr[f"{workers}w"] = self.with_proxy("certgate", run, workers=workers,
                                                    cpus="0,1")
            out.append(rr)
        return out

    def many_idle(self):
        """certgate alone: hold 20,000 idle mTLS connections (or as many as the descriptor
        limit of this machine lets one process open)."""
        want = 20000
        # the proxy needs descriptors for its listener, backends and logs besides
        n = want if self.nofile >= want + 256 else self.nofile - 256
        lo, hi = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        # more than half the ephemeral range from one address: spread over 127.0.0.x
        n_src = 1 + n // ((hi - lo) // 2)
        sources = [f"127.0.0.{i + 1}" for i in range(max(n_src, 4))]
        port = free_port()
        proc, pid, _ = self.start_certgate(port)
        try:
            log(f"  certgate: {n} idle connections")
            # a loadgen holds one descriptor per connection too: two of them
            # each first request may open a backend connection: few at a time, so that
            # those stay inside the descriptors left over
            r = self.idle(port, pid, n, sources=sources, procs=2, hold=3.0, ramp=64)
        finally:
            stop(proc)
        r.update({"wanted": want, "fd_limit": self.nofile, "port_range": [lo, hi],
                  "sources": sources})
        return r

    def profile(self):
        """perf profiles of certgate under keep-alive and full-handshake load."""
        perf = shutil.which("perf")
        if not perf:
            log("  perf is missing (apt-get install linux-perf): no profile")
            return None
        out = {}
        resdir = os.path.dirname(os.path.abspath(self.a.output))
        for mode, extra in (("keepalive", ["--connections", str(self.a.connections)]),
                            ("handshake", ["--connections", str(self.a.handshake_connections),
                                           "--no-verify"])):
            port = free_port()
            proc, pid, _ = self.start_certgate(port)
            data = os.path.join(self.work, f"perf-{mode}.data")
            try:
                log(f"  certgate: perf record under {mode}")
                # DWARF stacks: libcrypto has no frame pointers
                rec = spawn([perf, "record", "-F", "499", "--call-graph", "dwarf,16384", "-p",
                             str(pid), "-o", data, "--", "sleep", str(self.secs + 1)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self.loadgen_run(port, mode, extra + ["--duration", str(self.secs)], (pid,))
                rec.wait(timeout=self.secs + 30)
            finally:
                stop(proc)
            rep = {}
            for key, args in (("self", ["--no-children", "--sort", "dso,sym"]),
                              ("dso", ["--no-children", "--sort", "dso"]),
                              ("children", ["--children", "--sort", "dso,sym"])):
                r = subprocess.run([perf, "report", "-i", data, "--stdio", "-g", "none",
                                    "--percent-limit", "0.7"] + args,
                                   capture_output=True, text=True)
                # unnamed frames (stripped libraries) say nothing: leave them out
                rep[key] = [ln for ln in r.stdout.splitlines()
                            if ln.strip() and not ln.startswith("#") and "] 0x" not in ln
                            and "] 000000" not in ln][:45]
            with open(os.path.join(resdir, f"profile-{mode}.txt"), "w") as f:
                for key, lines in rep.items():
                    f.write(f"== {key}\n" + "\n".join(lines) + "\n\n")
            out[mode] = rep
        return out


# ---------------------------------------------------------------- report


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def per_cpu(r, key):
    """A rate per CPU-second of the proxy: what one core, all its own, would do."""
    return r[key] / (r["proxy_cpu_s"] / r["duration_s"]) if r.get("proxy_cpu_s") else None


def _renewed(r):
    rn = r["resume"]["renew"]
    return rn["handshakes_resumed"] / max(1, rn["handshakes_resumed"] + rn["handshakes_full"])


VALUES = {
    "keepalive_per_cpu_s": lambda r: per_cpu(r["keepalive"], "requests_per_s"),
    "handshake_per_cpu_s": lambda r: per_cpu(r["handshake"], "handshakes_per_s"),
    "resume_per_cpu_s": lambda r: per_cpu(r["resume"], "handshakes_per_s"),
    "rate_p99_us": lambda r: r["rate"]["latency_us"]["p99"],
    "idle_kib_per_conn": lambda r: r["idle"]["kib_per_conn"],
    "keepalive_rps": lambda r: r["keepalive"]["requests_per_s"],
    "keepalive_cpu_util": lambda r: r["keepalive"]["proxy_cpu_s"] / r["keepalive"]["duration_s"],
    "keepalive_p99_us": lambda r: r["keepalive"]["latency_us"]["p99"],
    "rate_achieved": lambda r: r["rate"]["requests_per_s"],
    "rate_p50_us": lambda r: r["rate"]["latency_us"]["p50"],
    "handshake_rps": lambda r: r["handshake"]["handshakes_per_s"],
    "resume_rps": lambda r: r["resume"]["handshakes_per_s"],
    "resume_renewed_share": _renewed,
}

TARGETS = [
    # key, label, better, target ratio, unit
    ("keepalive_per_cpu_s", "keep-alive requests per proxy CPU-second", "high", 1.2, "req/CPU-s"),
    ("handshake_per_cpu_s", "full mTLS handshakes per proxy CPU-second", "high", 1.2, "hs/CPU-s"),
    ("resume_per_cpu_s", "resumed handshakes per proxy CPU-second", "high", 1.2, "hs/CPU-s"),
    ("rate_p99_us", "p99 at half nginx's max keep-alive rate", "low", 0.8, "us"),
    ("idle_kib_per_conn", "memory per idle mTLS connection", "low", 0.5, "KiB"),
]
INFO = [
    ("keepalive_rps", "keep-alive requests/s (wall clock)", "req/s"),
    ("keepalive_cpu_util", "proxy core busy during keep-alive", "cores"),
    ("keepalive_p99_us", "keep-alive p99, closed loop", "us"),
    ("rate_achieved", "open-loop rate achieved", "req/s"),
    ("rate_p50_us", "p50 at half nginx's max rate", "us"),
    ("handshake_rps", "full mTLS handshakes/s (wall clock)", "hs/s"),
    ("resume_rps", "resumed handshakes/s (wall clock)", "hs/s"),
    ("resume_renewed_share", "resumed when each ticket is used once", "share"),
]
NAMES = ("certgate", "nginx", "haproxy")


def summarize(rounds, two, many, sanity):
    """Per proxy the median of each value over the rounds; per target the median of the
    per-round ratios (certgate against the better of nginx and HAProxy in that round)."""
    s = {"values": {}, "ratios": {}, "two_workers": None, "many_idle": many, "noise": None}
    for n in NAMES:
        vals = {}
        for key, f in VALUES.items():
            got = []
            for rd in rounds:
                try:
                    got.append(f(rd[n]))
                except (KeyError, TypeError, ZeroDivisionError):
                    pass
            vals[key] = med(got)
            vals[key + "_all"] = got
        vals["header_bytes"] = sanity.get(n, {}).get("header_bytes")
        s["values"][n] = vals
    for key, label, better, target, unit in TARGETS:
        per_round = []
        for rd in rounds:
            try:
                cg = VALUES[key](rd["certgate"])
                others = [VALUES[key](rd[n]) for n in ("nginx", "haproxy")]
            except (KeyError, TypeError, ZeroDivisionError):
                continue
            if cg is None or None in others:
                continue
            best = max(others) if better == "high" else min(others)
            per_round.append(cg / best)
        ratio = med(per_round)
        met = None if ratio is None else (ratio >= target if better == "high" else ratio <= target)
        s["ratios"][key] = {"label": label, "unit": unit, "ratio": ratio, "rounds": per_round,
                            "target": f"{'>=' if better == 'high' else '<='} {target}x",
                            "met": met}
    if two:
        hs = [r["2w"]["handshake"]["handshakes_per_s"] / r["1w"]["handshake"]["handshakes_per_s"]
              for r in two]
        ka = [r["2w"]["keepalive"]["requests_per_s"] / r["1w"]["keepalive"]["requests_per_s"]
              for r in two]
        proj = [2 * per_cpu(r["2w"]["handshake"], "handshakes_per_s") /
                per_cpu(r["1w"]["handshake"], "handshakes_per_s") for r in two]
        s["two_workers"] = {"handshake_ratio": med(hs), "handshake_rounds": hs,
                            "keepalive_ratio": med(ka), "keepalive_rounds": ka,
                            "handshake_per_cpu_projection": med(proj),
                            "met": med(hs) >= 1.8}
    busy = []
    for rd in rounds:
        for n in NAMES:
            for m in ("keepalive", "handshake", "resume"):
                r = rd.get(n, {}).get(m)
                if r and r.get("others_cpu_s") is not None:
                    busy.append(r["others_cpu_s"] / (2 * r["duration_s"]))
    s["noise"] = {"others_share_of_both_cores_median": med(busy),
                  "min": min(busy) if busy else None, "max": max(busy) if busy else None}
    return s


def fmt(v, unit=""):
    if v is None:
        return "-"
    if unit == "share":
        return f"{100 * v:.0f}%"
    if unit == "cores":
        return f"{v:.2f}"
    if unit == "KiB":
        return f"{v:.1f}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}"


def table(s):
    w = 48
    v = s["values"]
    lines = [f"{'':{w}} {'certgate':>9} {'nginx':>9} {'haproxy':>9}  {'ratio':>5} "
             f"{'(rounds)':18} {'target':>7}  met"]
    for key, label, better, target, unit in TARGETS:
        r = s["ratios"][key]
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        rng = ("(" + " ".join(f"{x:.2f}" for x in r["rounds"]) + ")") if len(r["rounds"]) > 1 \
            else ""
        met = {True: "yes", False: "NO", None: "?"}[r["met"]]
        lines.append(f"{label + ', ' + unit:{w}} " +
                     " ".join(f"{fmt(v[n][key], unit):>9}" for n in NAMES) +
                     f"  {ratio:>5} {rng:18} {r['target']:>7}  {met}")
    lines.append("")
    for key, label, unit in INFO:
        lines.append(f"{label + ', ' + unit:{w}} " +
                     " ".join(f"{fmt(v[n][key], unit):>9}" for n in NAMES))
    lines.append(f"{'forwarded certificate header value, bytes':{w}} " +
                 " ".join(f"{fmt(v[n]['header_bytes']):>9}" for n in NAMES))
    tw = s.get("two_workers")
    if tw:
        lines.append("")
        lines.append(f"2 workers vs 1, both cores shared with the load generator: full "
                     f"handshakes/s {tw['handshake_ratio']:.2f}x (target >= 1.8x: "
                     f"{'met' if tw['met'] else 'NOT met'}), keep-alive "
                     f"{tw['keepalive_ratio']:.2f}x; per CPU-second, two dedicated cores "
                     f"would give {tw['handshake_per_cpu_projection']:.2f}x")
    mi = s.get("many_idle")
    if mi:
        lines.append(f"certgate, idle mTLS connections: {mi['held']:,} held of "
                     f"{mi['connections']:,} opened (target {mi['wanted']:,}: "
                     f"{'met' if mi['held'] >= mi['wanted'] else 'NOT met'}; this machine's "
                     f"descriptor limit is {mi['fd_limit']:,} per process); "
                     f"RSS {mi['rss_held_kib'] / 1024:.0f} MiB")
    nz = s.get("noise")
    if nz and nz["others_share_of_both_cores_median"] is not None:
        lines.append(f"other work on the two cores during the runs: "
                     f"{100 * nz['others_share_of_both_cores_median']:.0f}% (median; "
                     f"{100 * nz['min']:.0f}-{100 * nz['max']:.0f}%)")
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("BENCH_BUILD", "build-bench"))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 5)))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)))
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--handshake-connections", type=int, default=32)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--skip-many-idle", action="store_true")
    ap.add_argument("--skip-two-workers", action="store_true")
    ap.add_argument("--profile", action="store_true", help="also perf-profile certgate")
    ap.add_argument("--profile-only", action="store_true")
    ap.add_argument("--only", help="comma list of proxies (default: nginx,haproxy,certgate)")
    ap.add_argument("--output", default=os.path.join(HERE, "results", "latest.json"))
    a = ap.parse_args()
    if a.profile_only and a.output == ap.get_default("output"):
        a.output = os.path.join(HERE, "results", "profile.json")  # latest.json stays
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if os.cpu_count() < 2:
        sys.exit("run.py: needs two cores")
    b = Bench(a)
    t0 = time.time()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "settings": {"seconds": a.seconds, "rounds": a.rounds,
                            "connections": a.connections,
                            "handshake_connections": a.handshake_connections,
                            "idle_connections": a.idle, "proxy_core": PROXY_CPU,
                            "loadgen_core": LOAD_CPU, "nice": os.environ.get("BENCH_NICE")},
               "environment": {
                   "kernel": platform.release(),
                   "cpu": next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                                if ln.startswith("model name")), "?"),
                   "cores": os.cpu_count(),
                   "openssl": version_of(["openssl", "version"]),
                   "nginx": version_of(["nginx", "-v"]),
                   "haproxy": version_of(["haproxy", "-v"]),
                   "certgate": version_of([b.certgate, "version"]),
                   "certgate_commit": git_revision()}}
    os.makedirs(os.path.dirname(a.output), exist_ok=True)
    try:
        b.prepare()
        if a.profile_only:
            results["profile"] = b.profile()
            print(json.dumps({k: v[:12] for k, v in results["profile"]["handshake"].items()},
                             indent=1) if results["profile"] else "no profile")
            return
        names = (a.only or "nginx,haproxy,certgate").split(",")
        rounds = b.rounds(names)
        results["sanity"] = b.sanity_info
        results["rounds"] = rounds
        two = None if a.skip_two_workers or "certgate" not in names else b.two_workers()
        results["two_workers"] = two
        many = None if a.skip_many_idle or "certgate" not in names else b.many_idle()
        if a.profile:
            results["profile"] = b.profile()
        s = summarize(rounds, two, many, b.sanity_info)
        results["summary"] = s
        results["elapsed_s"] = round(time.time() - t0, 1)
        print(table(s))
        print(f"\n({a.rounds} round(s) of {a.seconds:g} s per measurement, medians; "
              f"{results['elapsed_s']:.0f} s in all; JSON: {os.path.relpath(a.output)})")
    finally:
        cleanup()
        with open(a.output + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(a.output + ".tmp", a.output)


if __name__ == "__main__":
    main()

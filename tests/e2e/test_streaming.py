"""Bodies stream both ways with bounded memory (SPEC §9): 100 MB up and down
through an mTLS listener while certgate's RSS stays under 64 MB. Slow:
skipped with --quick (and an ASan binary's shadow memory would not fit)."""

import hashlib
import os
import threading
import time

from harness import (
    CertgateTestCase,
    config,
    curl,
    free_port,
    listener,
    pattern_sha256,
    scratch,
    slow,
)

SIZE = 100 * 1024 * 1024
RSS_LIMIT_KIB = 64 * 1024


class RssSampler:
    """Samples VmRSS of a process every 20 ms in a thread; .peak in KiB."""

    def __init__(self, cg):
        self.cg = cg
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            rss = self.cg.rss_kib()
            if rss is not None:
                self.peak = max(self.peak, rss)
                self.samples += 1
            time.sleep(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


class StreamingTest(CertgateTestCase):
    @classmethod
    def setUpClass(cls):
        cls.be = cls.class_backend()
        cls.port = free_port()
        cls.cg = cls.class_certgate(
            config([listener("mtls", cls.port, "require")], cls.be.url), [cls.port]
        )

    def setUp(self):
        super().setUp()
        self.be.clear()

    @slow
    def test_100mb_upload_streams_to_the_backend_in_bounded_memory(self):
        f = scratch("upload") / "up.bin"
        h = hashlib.sha256()
        with open(f, "wb") as out:
            block = os.urandom(1 << 20)
            for i in range(SIZE >> 20):
                chunk = block[i:] + block[:i]  # no two MiB alike
                h.update(chunk)
                out.write(chunk)
        with RssSampler(self.cg) as rss:
            res = curl(f"https://localhost:{self.port}/upload", "-T", str(f), "-X", "POST",
                       client="valid-client", timeout=120)
        f.unlink()
        self.assertEqual(res.status, 200, res)
        req = self.be.only()
        self.assertEqual(req.body_len, SIZE)
        self.assertEqual(req.body_sha256, h.hexdigest())
        self.assertGreater(rss.samples, 5)
        self.assertLess(rss.peak, RSS_LIMIT_KIB, f"peak RSS {rss.peak} KiB")

    @slow
    def test_100mb_download_streams_to_the_client_in_bounded_memory(self):
        out = scratch("download") / "down.bin"
        with RssSampler(self.cg) as rss:
            res = curl(f"https://localhost:{self.port}/bytes/{SIZE}", output=out,
                       client="valid-client", timeout=120)
        self.assertEqual(res.status, 200, res)
        h = hashlib.sha256()
        n = 0
        with open(out, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
                n += len(chunk)
        out.unlink()
        self.assertEqual(n, SIZE)
        self.assertEqual(h.hexdigest(), pattern_sha256(SIZE))
        self.assertGreater(rss.samples, 5)
        self.assertLess(rss.peak, RSS_LIMIT_KIB, f"peak RSS {rss.peak} KiB")

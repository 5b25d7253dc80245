#!/usr/bin/env python3
"""Run the end-to-end suite against a certgate binary.

    python3 tests/e2e/run.py --binary build/certgate [--quick] [-k PATTERN]... [-v]

--quick skips the slow tests (100 MB transfers); `make asan` uses it, together
with CERTGATE_ASAN=1, which fails a test when stderr holds a sanitizer report.
-k keeps the tests whose id (module.Class.method) contains PATTERN (or matches
it as a shell glob when it has * or ?); repeatable.
Set CERTGATE_E2E_KEEP=1 to keep the scratch directory (configs, logs, PKI).
"""

import argparse
import os
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--binary", default=str(HERE.parents[1] / "build" / "certgate"))
    ap.add_argument("--quick", action="store_true", help="skip slow tests")
    ap.add_argument("-k", dest="patterns", action="append", default=[], metavar="PATTERN")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("-f", "--failfast", action="store_true")
    opts = ap.parse_args()

    binary = Path(opts.binary).resolve()
    if not os.access(binary, os.X_OK):
        print(f"e2e: {binary} is not an executable; build it first (make)", file=sys.stderr)
        return 2
    # harness.py reads these at import time, so set them before discovery.
    os.environ["CERTGATE_BINARY"] = str(binary)
    os.environ["CERTGATE_QUICK"] = "1" if opts.quick else "0"
    sys.path.insert(0, str(HERE))
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree

    loader = unittest.TestLoader()
    if opts.patterns:
        loader.testNamePatterns = [
            p if any(c in p for c in "*?[") else f"*{p}*" for p in opts.patterns
        ]
    suite = loader.discover(str(HERE), pattern="test_*.py", top_level_dir=str(HERE))
    if suite.countTestCases() == 0:
        print("e2e: no test matched", file=sys.stderr)
        return 2

    started = time.monotonic()
    runner = unittest.TextTestRunner(
        verbosity=2 if opts.verbose else 1, failfast=opts.failfast, stream=sys.stdout
    )
    result = runner.run(suite)
    took = time.monotonic() - started

    failed = [(t, "FAIL") for t, _ in result.failures] + [(t, "ERROR") for t, _ in result.errors]
    failed += [(t, "UNEXPECTED SUCCESS") for t in result.unexpectedSuccesses]
    print()
    print("=" * 70)
    print(
        f"e2e summary: {result.testsRun} run, {len(result.failures)} failed, "
        f"{len(result.errors)} errors, {len(result.skipped)} skipped "
        f"in {took:.1f}s ({'quick' if opts.quick else 'full'}, {binary})"
    )
    for t, kind in failed:
        print(f"  {kind}: {t.id() if hasattr(t, 'id') else t}")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

#!/bin/sh
# Install the npm packages of the interop tests (tests/interop: express, for
# tests/e2e/test_interop.py) into tests/interop/node_modules, from the lock
# file, when they are missing or older than the lock. Quiet and offline when
# they are already there. node and npm come from scripts/deps.sh.
set -eu

dir=$(cd "$(dirname "$0")/../tests/interop" && pwd)
stamp=$dir/node_modules/.package-lock.json # npm writes it after every install

if [ -f "$stamp" ] && [ -f "$dir/node_modules/express/package.json" ] &&
    [ -z "$(find "$dir/package-lock.json" -newer "$stamp")" ]; then
    exit 0
fi

for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "interop-deps: $tool not found; run scripts/deps.sh (Debian packages nodejs, npm)" >&2
        exit 1
    }
done

echo "interop-deps: npm ci in tests/interop (node $(node --version), npm $(npm --version))"
cd "$dir"
# No lifecycle scripts: the tests need express's JavaScript, nothing built.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

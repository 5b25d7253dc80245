#!/bin/sh
# What `make bench` needs beyond certgate's own build: nginx (nginx-light is enough: it has
# the ssl module) and HAProxy to compare against, taskset to pin, perf for --profile.
# Installs only what is missing, with apt-get (sudo when not root); quiet otherwise.
set -eu

need="build-essential pkg-config libssl-dev libuv1-dev libyaml-dev openssl python3 util-linux
procps"
command -v nginx >/dev/null 2>&1 || need="$need nginx-light"
command -v haproxy >/dev/null 2>&1 || need="$need haproxy"
[ "${BENCH_PROFILE:-0}" = 1 ] && { command -v perf >/dev/null 2>&1 || need="$need linux-perf"; }

missing=
for p in $need; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "bench/deps.sh: installing:$missing"
sudo=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "bench/deps.sh: not root and no sudo; install as root:$missing" >&2
        exit 1
    }
    sudo=sudo
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086 # the package list is meant to split into words
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
# the packages start their daemons where an init system runs: the benchmark starts its own
for svc in nginx haproxy; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
        echo "bench/deps.sh: note: the system's $svc service is running (the benchmark uses its own)"
    fi
done

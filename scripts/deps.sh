#!/bin/sh
# Install the Debian packages certgate needs to build and test, and only those
# that are missing. Quiet and offline when everything is already there.
# Extra package names may follow (bench/deps.sh adds HAProxy and perf).
set -eu

PACKAGES="build-essential pkg-config libssl-dev libuv1-dev libyaml-dev libcmocka-dev clang
clang-format libclang-rt-14-dev curl openssl python3 ca-certificates procps
nodejs npm python3-cryptography python3-yaml nginx-light valgrind $*"

# Names that installed packages provide: NodeSource's nodejs provides (and
# conflicts with) npm, so asking apt for npm there would fight over nodejs.
provided=$(dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null |
    sed -n 's/^ii *//p' | tr ',' '\n' | sed 's/ *(.*//; s/^ *//' || true)

missing=
for p in $PACKAGES; do
    # "install ok installed" is the only state that means the package is usable.
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] && continue
    printf '%s\n' "$provided" | grep -qx "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
sudo=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "deps: not root and no sudo; install as root:$missing" >&2
        exit 1
    }
    sudo=sudo
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086 # the package list is meant to split into words
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing

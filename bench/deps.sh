#!/bin/sh
# What `make bench` needs beyond certgate's own build and tests: HAProxy to compare against
# (nginx comes with the test dependencies), taskset to pin, perf for --profile. The one
# installer, scripts/deps.sh, installs only what is missing.
set -eu
extra="haproxy util-linux"
[ "${BENCH_PROFILE:-0}" = 1 ] && extra="$extra linux-perf"
# shellcheck disable=SC2086 # the package list is meant to split into words
exec "$(dirname "$0")/../scripts/deps.sh" $extra

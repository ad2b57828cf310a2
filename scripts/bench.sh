#!/usr/bin/env bash
# The failover benchmark (ctest label bench) on a fresh Debian 12 machine:
# the bootstrap, the Windows build, then the benchmark under Wine. It prints
# a Markdown table and writes the same figures as JSON to
# build/windows/tests/bench/bench_failover/bench.json (about 10 minutes).
# Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

echo "== Windows build (MinGW-w64) =="
cmake --preset windows
cmake --build --preset windows

echo "== failover benchmark under Wine =="
ctest --preset windows -L bench -V --timeout 1800 "$@"

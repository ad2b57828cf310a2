#!/usr/bin/env bash
# Every test nlbctl has, on a fresh Debian 12 machine:
#   1. the bootstrap (packages, Check for MinGW),
#   2. the native build: the portable core's tests under ASan and UBSan, a
#      and a short libFuzzer run of each fuzz target (label fuzz, built
#      with clang-14 inside the native build),
#   3. the Windows build: every test under Wine.
# Extra arguments go to both ctest runs, e.g. scripts/test.sh -L W1
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

echo "== native build (portable core, sanitizers) =="
cmake --preset native
cmake --build --preset native
ctest --preset native -j2 "$@"

echo "== Windows build (MinGW-w64), tests under Wine =="
cmake --preset windows
cmake --build --preset windows
ctest --preset windows -LE bench "$@"

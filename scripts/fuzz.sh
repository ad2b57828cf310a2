#!/usr/bin/env bash
# The long fuzz run: every target (or those named) for SECONDS each (default
# 300), one after the other, single-threaded at low priority; the corpus
# grows in build/fuzz/runs/<target>/corpus and is kept for the next run. For
# each target it prints executions, corpus size, coverage and findings, and
# exits 1 if anything was found (input and replay command printed).
#
#   scripts/fuzz.sh [SECONDS] [wire|seal|config|args ...]
#   scripts/fuzz.sh --seeds      rewrite the generated seeds in tests/fuzz/corpus
#
# Needs clang-14 and libclang-rt-14-dev (scripts/bootstrap.sh). The short
# run is part of the normal tests: ctest --preset native -L fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/fuzz
cc=$(command -v clang-14 || command -v clang || true)
if [ -z "$cc" ]; then
    echo "fuzz.sh: clang-14 not found; run scripts/bootstrap.sh" >&2
    exit 2
fi
CC="$cc" cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" >/dev/null

if [ "${1:-}" = "--seeds" ]; then
    "$build/make_seeds" tests/fuzz/corpus
    echo "fuzz.sh: generated seeds written to tests/fuzz/corpus/{wire,seal,args}"
    exit 0
fi

secs=300
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    secs=$1
    shift
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(wire seal config args)

failed=0
for t in "${targets[@]}"; do
    extra=()
    [ "$t" = config ] && extra=(nlbctld.example.ini)
    tests/fuzz/run.sh "$t" "$build/fuzz_$t" "$build/runs/$t" "$secs" "tests/fuzz/corpus/$t" \
        "${extra[@]}" || failed=1
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz.sh: findings above. Each becomes a Check test feeding the exact input" >&2
    echo "(see tests/fuzz/README.md), and the fix goes in the core." >&2
    exit 1
fi

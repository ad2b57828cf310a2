#!/usr/bin/env bash
# run.sh - runs one libFuzzer target for a bounded time and says what it
# covered; fails if it found anything. ctest (label fuzz) and scripts/fuzz.sh
# both use it.
#
#   run.sh [--fresh] NAME FUZZER WORK_DIR SECONDS SEED_DIR [SEED_FILE...]
#
# New inputs go to WORK_DIR/corpus (kept between runs unless --fresh), the
# curated seeds in SEED_DIR are only read, and each SEED_FILE (for example
# nlbctld.example.ini) is copied into the corpus first. A crash, a sanitizer
# report, a time-out or an out-of-memory leaves its input in
# WORK_DIR/artifacts and fails the run with a replay command.
set -euo pipefail

fresh=0
if [ "${1:-}" = "--fresh" ]; then
    fresh=1
    shift
fi
if [ $# -lt 5 ]; then
    echo "usage: run.sh [--fresh] NAME FUZZER WORK_DIR SECONDS SEED_DIR [SEED_FILE...]" >&2
    exit 2
fi
name=$1 bin=$2 work=$3 secs=$4 seeds=$5
shift 5

# Inputs larger than the code under test can use only slow the search:
# a wire frame is at most 4108 bytes, a config line 1024, argv 32 x 511.
case "$name" in
    wire) max_len=4200 ;;
    seal) max_len=9000 ;;
    config) max_len=20000 ;;
    args) max_len=4096 ;;
    *) max_len=4096 ;;
esac

[ "$fresh" -eq 1 ] && rm -rf "$work/corpus"
rm -rf "$work/artifacts"
mkdir -p "$work/corpus" "$work/artifacts"
for f in "$@"; do
    cp "$f" "$work/corpus/seed-$(basename "$f")"
done
corpus_before=$(find "$work/corpus" -type f | wc -l)
seed_count=$(find "$seeds" -type f | wc -l)

# One process, one thread, low priority: the machine is shared. A smaller
# ASan quarantine keeps the resident size well under the RSS limit.
rc=0
ASAN_OPTIONS="quarantine_size_mb=32:detect_leaks=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    nice -n 10 "$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=1536 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$work/corpus" "$seeds" >"$work/log" 2>&1 || rc=$?

field() { sed -n "s/.*$1 *\([0-9][0-9]*\).*/\1/p" "$work/log" | tail -1; }
cov_start=$(grep -m1 'INITED' "$work/log" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
cov_end=$(grep 'cov:' "$work/log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
execs=$(field 'stat::number_of_executed_units:')
new_units=$(field 'stat::new_units_added:')
corpus_after=$(find "$work/corpus" -type f | wc -l)
findings=$(find "$work/artifacts" -type f | wc -l)

printf 'fuzz_%s: %s executions in %s s; corpus %s seeds + %s kept -> %s kept (%s new inputs); coverage %s -> %s edges; findings %s\n' \
    "$name" "${execs:-?}" "$secs" "$seed_count" "$corpus_before" "$corpus_after" \
    "${new_units:-?}" "${cov_start:-?}" "${cov_end:-?}" "$findings"

if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
    echo "fuzz_$name FAILED (exit $rc); the end of its log ($work/log):" >&2
    tail -n 60 "$work/log" >&2
    for f in "$work"/artifacts/*; do
        [ -e "$f" ] || continue
        echo "finding: $f; replay: $bin $f" >&2
    done
    exit 1
fi

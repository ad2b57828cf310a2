#!/bin/sh
# check.sh - runs the SPIN model of the coordination protocol (nlbctl.pml).
#
#   check.sh exhaustive WORKDIR MEMLIM_MB [spin -D flags...]
#       spin -a, gcc, a full state-space search (states stored as a
#       minimized automaton, at most MEMLIM_MB of memory); fails on any spin/gcc error, any
#       assertion violation or invalid end state, "errors: N" with N > 0,
#       or a search that did not complete (memory bound reached). Prints
#       the states stored, the depth and the time: what was covered.
#   check.sh expect-pass WORKDIR SECONDS [spin -D flags...]
#       a bitstate search of at most SECONDS (partial; for bounds too large
#       for the exhaustive one): fails on any error or a missing summary.
#   check.sh expect-fail WORKDIR SECONDS [spin -D flags...]
#       the same bitstate search must find an error (shows the model can
#       fail): fails if it ends with "errors: 0"; on success replays the
#       trail's last steps.
#
# The bitstate -w size is NLBCTL_MODEL_W (default 26). Runs under nice -n 10.
# Needs spin and gcc on PATH.
set -u
mode=$1 work=$2 limit=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
w=${NLBCTL_MODEL_W:-26}

command -v spin >/dev/null 2>&1 || { echo "check.sh: spin not found on PATH" >&2; exit 1; }
mkdir -p "$work" && cd "$work" || exit 1
rm -f pan pan.* nlbctl.pml.trail
cp "$here/nlbctl.pml" . || exit 1
echo "spin $* -a nlbctl.pml"
spin "$@" -a nlbctl.pml || { echo "check.sh: spin -a failed" >&2; exit 1; }
case $mode in
exhaustive)
    # States are stored as a minimized automaton (-DMA: a few bytes a state
    # instead of ~100, at about half the speed), which needs the state
    # vector's size: a throw-away run prints it.
    gcc -O2 -DSAFETY -w -o pan pan.c || { echo "check.sh: gcc failed" >&2; exit 1; }
    size=$(./pan -m50 2>&1 | sed -n 's/^State-vector \([0-9]*\) byte.*/\1/p')
    [ -n "$size" ] || { echo "check.sh: cannot read the state vector's size" >&2; exit 1; }
    gcc -O2 -DSAFETY "-DMA=$size" "-DMEMLIM=$limit" -w -o pan pan.c ||
        { echo "check.sh: gcc failed" >&2; exit 1; }
    nice -n 10 ./pan -m1000000 > pan.out 2>&1
    ;;
expect-pass|expect-fail)
    gcc -O2 -DSAFETY -DBITSTATE -w -o pan pan.c || { echo "check.sh: gcc failed" >&2; exit 1; }
    # SIGINT makes pan stop and print its summary; an unfinished search is
    # still a pass (the hash factor and states stored say how far it got).
    timeout -s INT "$limit" nice -n 10 ./pan -m1000000 "-w$w" > pan.out 2>&1
    ;;
*)
    echo "usage: check.sh exhaustive|expect-pass|expect-fail WORKDIR LIMIT [-Dflags...]" >&2
    exit 2 ;;
esac
rc=$?
grep -E 'errors:|states, stored|hash factor|elapsed time|violated|invalid end|depth reached|not completed|MEMLIM' pan.out
summary=$(grep -E 'errors: [0-9]+' pan.out | sed 's/.*errors: \([0-9]*\).*/\1/')
if [ -z "$summary" ]; then
    echo "check.sh: pan gave no summary (exit $rc)" >&2
    tail -20 pan.out >&2
    exit 1
fi
failed() {
    [ "$summary" != 0 ] || grep -qE 'violated|invalid end state \(' pan.out
}
case $mode in
exhaustive)
    if failed; then
        echo "check.sh: the model found an error; the trail:" >&2
        spin "$@" -t -p nlbctl.pml 2>&1 | tail -60 >&2
        exit 1
    fi
    if grep -qE 'Search not completed|max search depth too small' pan.out; then
        echo "check.sh: the search did not complete within $limit MB: not exhaustive" >&2
        exit 1
    fi
    echo "check.sh: exhaustive search complete, no error found" ;;
expect-pass)
    if failed; then
        echo "check.sh: the model found an error; the trail:" >&2
        spin "$@" -t -p nlbctl.pml 2>&1 | tail -60 >&2
        exit 1
    fi
    echo "check.sh: no error found" ;;
expect-fail)
    if [ "$summary" = 0 ]; then
        echo "check.sh: expected an error (the model must be able to fail) and found none" >&2
        exit 1
    fi
    echo "check.sh: error found, as expected; the end of the trail:"
    spin "$@" -t -p nlbctl.pml 2>&1 | grep -E 'assertion|port\[' | tail -5 ;;
esac
exit 0

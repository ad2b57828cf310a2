#!/usr/bin/env bash
# The demo: a coordinator and two agents under Wine with the simulated NLB;
# an election, a manual switchover, a switch back and an application crash,
# showing who is primary and every port state at each step. Needs nothing
# but a fresh Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh >/dev/null
cmake --preset windows >/dev/null
cmake --build --preset windows >/dev/null
exec python3 scripts/demo.py build/windows

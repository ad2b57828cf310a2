#!/usr/bin/env bash
# The demo: the seed's whole story with SIPp traffic running, on three hosts
# (network namespaces, Wine, the simulated NLB): election, manual switchover,
# switch back, application crash, host cut off and back, SIP card unplugged
# and back; who is primary, every port state and the SIP outage at each
# step, then a timeline. Needs nothing but a fresh Debian 12 and root (for
# the namespaces; without it, a shorter loopback demo without SIP).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh >/dev/null
cmake --preset windows >/dev/null
cmake --build --preset windows >/dev/null
exec python3 scripts/demo.py build/windows

#!/usr/bin/env bash
# CMAKE_CROSSCOMPILING_EMULATOR: runs a Windows test executable under Wine in
# the prefix named by WINEPREFIX (ctest sets it to the test tree's own).
set -euo pipefail
: "${WINEPREFIX:?wine-run.sh: WINEPREFIX is not set; run tests through ctest}"
export WINEDEBUG=${WINEDEBUG:--all}
exec wine "$@"

#!/usr/bin/env bash
# Makes and stops the Wine prefixes the Windows tests run in.
#
#   wine-prefix.sh setup DIR   DIR/template: a fresh, stopped prefix (made once,
#                              kept between runs); DIR/prefix: a copy of it with
#                              a persistent wineserver, warmed up
#   wine-prefix.sh stop DIR    stops DIR/prefix's wineserver
#   wine-prefix.sh copy DIR DEST   a private copy of the template (for tests
#                              that need a host of their own, e.g. services)
#   wine-prefix.sh template DIR    only DIR/template (hosts.py copies it per host)
#
# Wine prefixes are simulated hosts; nothing here touches ~/.wine.
set -euo pipefail
export WINEDEBUG=-all
action=${1:?usage: wine-prefix.sh setup|stop|copy|template DIR [DEST]}
dir=${2:?usage: wine-prefix.sh setup|stop|copy|template DIR [DEST]}

make_template() {
    local t="$dir/template"
    if [ -f "$t/.nlbctl-ready" ]; then
        return 0
    fi
    rm -rf "$t"
    mkdir -p "$dir"
    echo "wine-prefix: creating $t (about 10 s, once)"
    WINEPREFIX="$t" timeout 120 setsid wineboot -i </dev/null >/dev/null 2>&1
    WINEPREFIX="$t" timeout 60 wineserver -w
    touch "$t/.nlbctl-ready"
}

start_copy() {
    local p="$1"
    WINEPREFIX="$p" wineserver -k 2>/dev/null || true
    rm -rf "$p"
    # Never hard links: Wine rewrites system.reg in place.
    cp -a "$dir/template" "$p"
    # The wineserver and Wine's helper processes outlive this script: they
    # must not hold its stdout, or ctest waits for them until its timeout.
    WINEPREFIX="$p" setsid wineserver -p </dev/null >/dev/null 2>&1
    WINEPREFIX="$p" timeout 60 setsid wine cmd /c exit </dev/null >/dev/null 2>&1
}

case "$action" in
setup)
    make_template
    start_copy "$dir/prefix"
    echo "wine-prefix: $dir/prefix ready"
    ;;
template)
    make_template
    ;;
copy)
    make_template
    start_copy "${3:?copy needs DEST}"
    ;;
stop)
    if [ -d "$dir/prefix" ]; then
        WINEPREFIX="$dir/prefix" timeout 30 wineserver -k 2>/dev/null || true
    fi
    ;;
*)
    echo "wine-prefix.sh: unknown action '$action'" >&2
    exit 2
    ;;
esac

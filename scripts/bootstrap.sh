#!/usr/bin/env bash
# Installs everything nlbctl's build, tests and demo need on a fresh Debian 12
# machine, from Debian's archive only. Idempotent: a second run changes nothing
# and takes a few seconds.
#
#   scripts/bootstrap.sh            install packages, build Check for MinGW
#
# Check for MinGW is built from Debian's source package and cached outside the
# source tree, in $NLBCTL_DEPS (default: /var/cache/nlbctl-deps).
set -euo pipefail

DEPS="${NLBCTL_DEPS:-/var/cache/nlbctl-deps}"
PACKAGES=(
    build-essential cmake ninja-build pkg-config git
    mingw-w64 wine wine64 check python3
    nsis wixl msitools
    sip-tester iproute2 iptables nftables
    clang-14 libclang-rt-14-dev spin
    dpkg-dev procps psmisc
    libssl-dev
)

log() { printf 'bootstrap: %s\n' "$*"; }

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            exec sudo --preserve-env=NLBCTL_DEPS "$0" "$@"
        fi
        echo "bootstrap: must run as root (it installs Debian packages); try: sudo $0" >&2
        exit 1
    fi
}

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
    done
}

ensure_deb_src() {
    local f=/etc/apt/sources.list.d/nlbctl-deb-src.sources
    [ -f "$f" ] && return 0
    log "adding bookworm deb-src entry ($f)"
    cat >"$f" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    APT_UPDATED=0
}

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
}

install_packages() {
    local missing
    missing=$(missing_packages)
    if [ -z "$missing" ]; then
        log "all Debian packages present"
        return 0
    fi
    log "installing: $(echo $missing | tr '\n' ' ')"
    apt_update_once
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

build_check_mingw() {
    local prefix="$DEPS/check-mingw"
    if [ -f "$prefix/lib/libcheck.a" ] && [ -f "$prefix/include/check.h" ]; then
        log "Check for MinGW already built in $prefix"
        return 0
    fi
    ensure_deb_src
    apt_update_once
    local work
    work=$(mktemp -d)
    trap 'rm -rf "$work"' RETURN
    log "building Check for MinGW from Debian's source package"
    (cd "$work" && apt-get source -qq --download-only check >/dev/null && dpkg-source -x --no-check ./check_*.dsc src >/dev/null)
    cat >"$work/tc.cmake" <<'TC'
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
TC
    cmake -S "$work/src" -B "$work/build" -G Ninja \
        -DCMAKE_TOOLCHAIN_FILE="$work/tc.cmake" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$prefix.tmp" -DCHECK_ENABLE_TESTS=OFF \
        -DBUILD_TESTING=OFF -DENABLE_MEMORY_LEAKING_TESTS=OFF >/dev/null
    cmake --build "$work/build" >/dev/null
    rm -rf "$prefix.tmp"
    cmake --install "$work/build" >/dev/null
    rm -rf "$prefix"
    mv "$prefix.tmp" "$prefix"
    log "Check for MinGW installed in $prefix"
}

need_root "$@"
mkdir -p "$DEPS"
install_packages
build_check_mingw
log "done"

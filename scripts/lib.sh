# shellcheck shell=bash
# lib.sh - helpers shared by scripts/demo.sh and scripts/test.sh (sourced).
#
# dtc_install_deps installs the Debian packages dtc builds with, but only
# the ones that are missing: nothing is touched on a ready machine.  It
# runs apt-get (update once, then install) as root, or through sudo.

# libpq-dev and postgresql: dtc-bench's pg modes (PostgreSQL's 2PC as a
# peer; optional at build time, expected by the bench_quick test).
# clang and libclang-rt-14-dev (its libFuzzer runtime, not a dependency of
# clang): the fuzz tests (tests/fuzz/run.sh builds them with clang).
# clang-tidy and cppcheck: the lint test (tests/lint.sh).
# python3-matplotlib: scripts/plot-bench (the bench_formats test draws a run).
DTC_PACKAGES=(cmake pkg-config check uuid-dev gcc make libc6-dev libpq-dev postgresql
    clang libclang-rt-14-dev clang-tidy cppcheck python3-matplotlib)

dtc_log() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# Prints the packages of DTC_PACKAGES that are not installed.
dtc_missing_packages() {
    local p
    for p in "${DTC_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null \
            | grep -q 'install ok installed'; then
            printf '%s\n' "$p"
        fi
    done
}

dtc_install_deps() {
    local missing=() sudo=()
    if ! command -v dpkg-query >/dev/null 2>&1; then
        # Not Debian: check the tools and libraries, do not install.
        if command -v cmake >/dev/null && command -v pkg-config >/dev/null \
            && command -v cc >/dev/null && command -v make >/dev/null \
            && pkg-config --exists check uuid; then
            return 0
        fi
        dtc_log "not a Debian system: install ${DTC_PACKAGES[*]} (or equivalents)"
        return 1
    fi
    mapfile -t missing < <(dtc_missing_packages)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            dtc_log "missing packages ${missing[*]}, and not root and no sudo"
            return 1
        fi
        sudo=(sudo)
    fi
    dtc_log "installing missing packages: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

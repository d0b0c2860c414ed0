# shellcheck shell=bash
# lib.sh - helpers shared by scripts/demo.sh, scripts/stress.sh and
# scripts/test.sh (sourced).
#
# dtc_install_deps installs the Debian packages dtc builds with, but only
# the ones that are missing: nothing is touched on a ready machine.  It
# runs apt-get (update once, then install) as root, or through sudo.
#
# The process kit (the shell side of src/kit/spawn.c): dtc_start starts a
# program in the background and records its pid, dtc_wait_ready waits
# (bounded) until a check passes, dtc_stop stops a pid with SIGTERM, then
# SIGKILL after a timeout.  Only the processes a script started are ever
# signalled, by pid.

# libpq-dev and postgresql: dtc-bench's pg modes (PostgreSQL's 2PC as a
# peer; optional at build time, expected by the bench_quick test).
# clang and libclang-rt-14-dev (its libFuzzer runtime, not a dependency of
# clang): the fuzz tests (tests/fuzz/run.sh builds them with clang).
# clang-tidy and cppcheck: the lint test (tests/lint.sh).
# python3-pytest: the python_bindings test (bindings/python/tests), with
# python3-mypy (the package's type hints); python3-pip, python3-setuptools,
# python3-wheel and python3-venv: the python_package test (pip, offline).
# python3-matplotlib: scripts/plot-bench (the bench_formats test draws a run).
# libmicrohttpd-dev: dtc-exporter (src/exporter; prometheus runs its test).
DTC_PACKAGES=(cmake pkg-config check uuid-dev gcc make libc6-dev libpq-dev libmicrohttpd-dev
    postgresql groff-base clang libclang-rt-14-dev clang-tidy cppcheck systemd python3 prometheus
    tmux python3-pytest python3-matplotlib python3-mypy python3-pip python3-setuptools
    python3-wheel python3-venv)

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

# ---- processes --------------------------------------------------------------

# dtc_alive PID: the process exists and is not a zombie.
dtc_alive() {
    local st
    [[ -n $1 && -r /proc/$1/stat ]] || return 1
    read -r st </proc/"$1"/stat 2>/dev/null || return 1
    st=${st##*) }
    [[ ${st:0:1} != Z ]]
}

# dtc_start OUT ERR PROGRAM ARGS...: starts PROGRAM in the background, its
# stdout to OUT (truncated), its stderr appended to ERR, or with ERR ""
# to OUT as well.  Its pid goes to DTC_PID.
dtc_start() {
    local out=$1 err=$2
    shift 2
    if [[ -z $err ]]; then
        "$@" >"$out" 2>&1 &
    else
        "$@" >"$out" 2>>"$err" &
    fi
    # shellcheck disable=SC2034 # read by the sourcing script
    DTC_PID=$!
}

# dtc_wait_ready TIMEOUT_S PID CHECK...: runs CHECK (output discarded)
# every 0.05 s until it succeeds: 0.  1 when TIMEOUT_S passed, 2 when PID
# (unless "") is gone first.
dtc_wait_ready() {
    local limit=$(($1 * 20)) p=$2 i
    shift 2
    for ((i = 0; i < limit; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if [[ -n $p ]] && ! dtc_alive "$p"; then
            return 2
        fi
        sleep 0.05
    done
    return 1
}

# dtc_has_ready FILE: FILE has a line starting with "ready" (what dtcd,
# the services and dtc-load print once they serve).
dtc_has_ready() {
    grep -q '^ready' "$1" 2>/dev/null
}

# dtc_stop PID TIMEOUT_S: SIGTERM, waits up to TIMEOUT_S, then SIGKILL;
# reaps it (a child of this shell).  Returns its exit status, as wait
# does; DTC_STOP_KILLED is 1 when it needed the SIGKILL, else 0.
dtc_stop() {
    local p=$1 i st=0
    # shellcheck disable=SC2034 # read by the sourcing script
    DTC_STOP_KILLED=0
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < $2 * 20; i++)); do
        dtc_alive "$p" || break
        sleep 0.05
    done
    if dtc_alive "$p"; then
        # shellcheck disable=SC2034 # read by the sourcing script
        DTC_STOP_KILLED=1
        kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || st=$?
    return "$st"
}

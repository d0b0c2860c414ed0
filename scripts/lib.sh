# shellcheck shell=bash
# lib.sh - helpers shared by scripts/demo.sh, scripts/stress.sh and
# scripts/test.sh (sourced).
#
# dtc_install_deps PURPOSE installs the Debian packages PURPOSE needs, but
# only the ones that are missing: nothing is touched on a ready machine.
# It runs apt-get (update once, then install) as root, or through sudo,
# and starts no daemon: see dtc_apt_install.
#
# The process kit (the shell side of src/kit/spawn.c): dtc_start starts a
# program in the background and records its pid, dtc_wait_ready waits
# (bounded) until a check passes, dtc_stop stops a pid with SIGTERM, then
# SIGKILL after a timeout.  Only the processes a script started are ever
# signalled, by pid.

# Packages by purpose (docs/install.md lists them with their reasons).
# build: compile dtc and its unit tests (Check) and run it: scripts/demo.sh.
DTC_BUILD_PACKAGES=(cmake pkg-config gcc make libc6-dev uuid-dev check)
# pg: a throwaway PostgreSQL cluster as a participant: scripts/demo-pg.sh
# (libpq-dev builds dtc-pg; postgresql brings initdb and pg_ctl).
DTC_PG_PACKAGES=(libpq-dev postgresql)
# test: scripts/test.sh, everything the suite runs besides build and pg:
#   groff-base          man_pages (groff -ww)
#   clang libclang-rt-14-dev   the fuzz targets (libFuzzer's runtime is
#                       not a dependency of clang)
#   clang-tidy cppcheck the lint test (tests/lint.sh)
#   systemd strace      test_systemd (systemd-analyze verify, security,
#                       syscall-filter; the programs' system calls)
#   python3 python3-pytest python3-mypy   the Python bindings' tests (types)
#   python3-pip python3-setuptools python3-wheel python3-venv   python_package
#                       (pip install, offline)
#   prometheus tmux     test_metrics (promtool, a real Prometheus; dtcctl
#                       top in a tmux pane)
#   libmicrohttpd-dev   the HTTP metrics exporter
#   python3-matplotlib  scripts/plot-bench (bench_formats draws a run)
#   debhelper dpkg-dev lintian   deb_package (builds and checks the .debs)
DTC_TEST_PACKAGES=(groff-base clang libclang-rt-14-dev clang-tidy cppcheck systemd strace
    python3 python3-pytest python3-mypy python3-pip python3-setuptools python3-wheel
    python3-venv prometheus tmux libmicrohttpd-dev
    python3-matplotlib debhelper dpkg-dev lintian)

# Daemons that a package on the list would start (PACKAGE:UNIT); an install
# starts none of them (policy-rc.d) and disables the ones it enabled.
DTC_DAEMONS=(prometheus:prometheus.service)
# What dtc_apt_install puts in place for the time of an install (tests
# point them elsewhere).
DTC_POLICY_RC_D=${DTC_POLICY_RC_D:-/usr/sbin/policy-rc.d}
DTC_CREATECLUSTER_D=${DTC_CREATECLUSTER_D:-/etc/postgresql-common/createcluster.d}

dtc_log() {
    printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# dtc_packages PURPOSE: prints the packages of PURPOSE (build, pg, test;
# each includes the ones before it).
dtc_packages() {
    case $1 in
    build) printf '%s\n' "${DTC_BUILD_PACKAGES[@]}" ;;
    pg) dtc_packages build && printf '%s\n' "${DTC_PG_PACKAGES[@]}" ;;
    test) dtc_packages pg && printf '%s\n' "${DTC_TEST_PACKAGES[@]}" ;;
    *) dtc_log "dtc_packages: unknown purpose '$1' (build, pg or test)"; return 1 ;;
    esac
}

# dtc_missing_packages PACKAGE...: prints those that are not installed.
dtc_missing_packages() {
    local p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null \
            | grep -q 'install ok installed'; then
            printf '%s\n' "$p"
        fi
    done
}

# dtc_apt_install SUDO_CMD PACKAGE...: apt-get install without starting a
# daemon or creating a PostgreSQL cluster.  For the time of the install:
# a policy-rc.d that says 101 (invoke-rc.d and deb-systemd-invoke start
# nothing; an existing one is left as it is) and createcluster.d's
# create_main_cluster = false (postgresql-common's configure step then
# makes no "main" cluster); both are removed afterwards.  Then the units of
# DTC_DAEMONS whose package this install added are disabled, so none
# starts at the next boot either.  SUDO_CMD is "sudo" or "".
dtc_apt_install() {
    local sudo=() made=() rc=0 d pkg unit
    [[ -n $1 ]] && sudo=("$1")
    shift
    if [[ ! -e $DTC_POLICY_RC_D ]]; then
        printf '#!/bin/sh\n# scripts/lib.sh: start no daemon during this install\nexit 101\n' \
            | "${sudo[@]}" tee "$DTC_POLICY_RC_D" >/dev/null
        "${sudo[@]}" chmod 755 "$DTC_POLICY_RC_D"
        made+=("$DTC_POLICY_RC_D")
    fi
    if [[ ! -e $DTC_CREATECLUSTER_D/zz-dtc-install.conf ]]; then
        "${sudo[@]}" mkdir -p "$DTC_CREATECLUSTER_D"
        printf '# scripts/lib.sh: no main cluster during this install\ncreate_main_cluster = false\n' \
            | "${sudo[@]}" tee "$DTC_CREATECLUSTER_D/zz-dtc-install.conf" >/dev/null
        made+=("$DTC_CREATECLUSTER_D/zz-dtc-install.conf")
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
    if ((rc == 0)); then
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "$@" || rc=$?
    fi
    "${sudo[@]}" rm -f "${made[@]}"
    for d in "${DTC_DAEMONS[@]}"; do
        pkg=${d%%:*} unit=${d#*:}
        if [[ " $* " == *" $pkg "* ]] && command -v systemctl >/dev/null; then
            "${sudo[@]}" systemctl disable "$unit" >/dev/null 2>&1 || true
        fi
    done
    return "$rc"
}

dtc_install_deps() {
    local purpose=${1:?usage: dtc_install_deps build|pg|test} want=() missing=() sudo_cmd=""
    dtc_packages "$purpose" >/dev/null || return 1
    mapfile -t want < <(dtc_packages "$purpose")
    if ! command -v dpkg-query >/dev/null 2>&1; then
        # Not Debian: check the tools and libraries, do not install.
        if command -v cmake >/dev/null && command -v pkg-config >/dev/null \
            && command -v cc >/dev/null && command -v make >/dev/null \
            && pkg-config --exists check uuid; then
            return 0
        fi
        dtc_log "not a Debian system: install ${want[*]} (or equivalents)"
        return 1
    fi
    mapfile -t missing < <(dtc_missing_packages "${want[@]}")
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            dtc_log "missing packages ${missing[*]}, and not root and no sudo"
            return 1
        fi
        sudo_cmd=sudo
    fi
    dtc_log "installing missing packages ($purpose): ${missing[*]}"
    dtc_apt_install "$sudo_cmd" "${missing[@]}"
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

# dtc_stop_all PID...: dtc_stop each (5 s, then SIGKILL), for a script's
# cleanup trap; never fails.
dtc_stop_all() {
    local p
    for p in "$@"; do
        dtc_stop "$p" 5 || true
    done
}

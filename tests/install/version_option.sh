#!/usr/bin/env bash
# version_option.sh BIN_DIR VERSION PROGRAM... - the version_option test:
# every program answers --version with "PROGRAM (dtc) VERSION" on stdout
# and exit status 0 (VERSION is project(VERSION), which the build also
# checks against dtc.h's DTC_VERSION_STRING), and refuses a bad
# --log-level with exit 2 and a message naming the option, before it
# starts anything.
set -euo pipefail
bin=${1:?usage: version_option.sh BIN_DIR VERSION PROGRAM...}
version=${2:?usage: version_option.sh BIN_DIR VERSION PROGRAM...}
shift 2
status=0
for p in "$@"; do
    if ! out=$(timeout 10 "$bin/$p" --version </dev/null); then
        echo "version_option: $p --version exited $?" >&2
        status=1
    elif [[ $out != "$p (dtc) $version" ]]; then
        echo "version_option: $p --version says '$out', want '$p (dtc) $version'" >&2
        status=1
    else
        echo "version_option: $out"
    fi
done
# The command line each program needs to reach its --log-level check.
declare -A before=([dtc-load]="" [dtcctl]="") after=([dtc-load]="run" [dtcctl]="status")
for p in "$@"; do
    rc=0
    # shellcheck disable=SC2086 # the extra words split on purpose
    err=$(timeout 20 "$bin/$p" ${before[$p]:-} --log-level loud ${after[$p]:-} \
        </dev/null 2>&1 >/dev/null) || rc=$?
    if ((rc != 2)) || [[ $err != *"--log-level"*"loud"* ]]; then
        echo "version_option: $p --log-level loud: exit $rc, said: $err" >&2
        status=1
    fi
done
exit "$status"

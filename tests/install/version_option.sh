#!/usr/bin/env bash
# version_option.sh BIN_DIR VERSION PROGRAM... - the version_option test:
# every program answers --version with "PROGRAM (dtc) VERSION" on stdout
# and exit status 0 (VERSION is project(VERSION), which the build also
# checks against dtc.h's DTC_VERSION_STRING).
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
exit "$status"

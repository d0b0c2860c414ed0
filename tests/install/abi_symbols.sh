#!/usr/bin/env bash
# abi_symbols.sh CC DTC_H LIBDTC_SO - the abi_symbols test: the functions
# libdtc.so exports (nm -D --defined-only) are exactly the functions
# dtc.h declares.  Missing ones would break programs built against the
# header; extra ones (the internal dtc__ functions) would become ABI.
set -euo pipefail
cc=${1:?usage: abi_symbols.sh CC DTC_H LIBDTC_SO}
hdr=${2:?usage: abi_symbols.sh CC DTC_H LIBDTC_SO}
so=${3:?usage: abi_symbols.sh CC DTC_H LIBDTC_SO}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dtc-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Declared: a dtc_ name followed by "(", in the header with its comments
# removed (-fpreprocessed: nothing expanded, no other header read); a
# "dtc_vote (*enlist)(" is a function pointer's return type, not a name.
"$cc" -fpreprocessed -dD -E -P -x c "$hdr" \
    | perl -ne 'print "$1\n" while /\b(dtc_[A-Za-z0-9_]+)\s*\((?!\s*\*)/g' \
    | sort -u >"$tmp/declared"
nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' \
    | sort -u >"$tmp/exported"

n=$(wc -l <"$tmp/declared")
((n > 0)) || { echo "abi_symbols: no function found in $hdr" >&2; exit 1; }
status=0
if comm -23 "$tmp/declared" "$tmp/exported" | grep . >"$tmp/missing"; then
    echo "abi_symbols: declared in dtc.h but not exported by $so:" >&2
    sed 's/^/  /' "$tmp/missing" >&2
    status=1
fi
if comm -13 "$tmp/declared" "$tmp/exported" | grep . >"$tmp/extra"; then
    echo "abi_symbols: exported by $so but not declared in dtc.h:" >&2
    sed 's/^/  /' "$tmp/extra" >&2
    status=1
fi
((status == 0)) && echo "abi_symbols: $n functions, declared = exported"
exit "$status"

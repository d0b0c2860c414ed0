#!/usr/bin/env bash
# lint.sh SOURCE_DIR BUILD_DIR - the `lint` test: cppcheck and clang-tidy
# over the library, programs and participants (src/, participants/), with
# the flags of BUILD_DIR/compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS).
# Any finding fails the test.  A finding is fixed, or, if it is a false
# positive, silenced on its line with a reason:
#     // NOLINT(check-name): why          (clang-tidy; NOLINTNEXTLINE too)
#     // cppcheck-suppress id             (cppcheck, the line below)
# Both tools are in DTC_TEST_PACKAGES (scripts/lib.sh): scripts/test.sh installs them.
set -euo pipefail

src=${1:?usage: lint.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: lint.sh SOURCE_DIR BUILD_DIR}
db=$build/compile_commands.json

for tool in cppcheck clang-tidy; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "lint: $tool is not installed (Debian package '$tool'; scripts/test.sh" \
             "installs it with the other DTC_TEST_PACKAGES)" >&2
        exit 1
    fi
done
if [[ ! -f $db ]]; then
    echo "lint: $db missing: configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON" >&2
    exit 1
fi

# Every .c file under src/ and participants/ that this build compiles.
files=()
while IFS= read -r f; do
    if grep -qF "\"file\": \"$f\"" "$db"; then
        files+=("$f")
    fi
done < <(find "$src/src" "$src/participants" -name '*.c' | sort)
if ((${#files[@]} == 0)); then
    echo "lint: no source file of $src found in $db" >&2
    exit 1
fi

status=0

# cppcheck: warnings and portability (style is the project's own).  It
# checks one configuration: the one the build uses.
echo "lint: cppcheck over ${#files[@]} files"
if ! cppcheck --enable=warning,portability --error-exitcode=1 --inline-suppr \
        --std=c11 -q -j2 -D_GNU_SOURCE -DDTC_BENCH_HAVE_LIBPQ=1 \
        -I "$src/include" -I "$src/src" -I "$src/src/libdtc" -I "$src/src/bench" -I "$src/src/load" \
        -I "$src/src/kit" -I "$src/src/dtcctl" \
        -I "$src/participants/proc" -I "$src/participants/store" \
        -I "$src/participants/svc" "${files[@]}"; then
    echo "lint: cppcheck found the problems above" >&2
    status=1
fi

# clang-tidy: bugprone-*, cert-*, clang-analyzer-*, minus:
#  - clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling:
#    wants memcpy_s/snprintf_s (C11 Annex K), which glibc does not have.
#  - bugprone-easily-swappable-parameters: flags every function with two
#    adjacent parameters of one type (idx, gen); a C API cannot name them.
#  - bugprone-reserved-identifier, cert-dcl37-c, cert-dcl51-cpp: the
#    dtc__ prefix is the project's internal namespace (include/dtc/dtc.h declares dtc_ names only), as
#    uv__ is libuv's; no identifier starts with _ or __.
#  - cert-err33-c: any unchecked result of 100 library functions.  All of
#    its hits (274, audited) are output to stdout/stderr, snprintf that
#    truncates on purpose (bounded log and error text), fclose of streams
#    opened for reading, and best-effort remove/signal; every result that
#    matters is checked and glibc's warn_unused_result (-Wall) stands
#    guard over the rest.
#  - clang-analyzer-valist.Uninitialized: clang 14 reports every
#    v*printf after a correct va_start (llvm/llvm-project#40656, fixed
#    in later releases).
#  - clang-analyzer-optin.*: opt-in performance/portability advice
#    (struct padding), not defects.
checks='-*,bugprone-*,cert-*,clang-analyzer-*'
checks+=',-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling'
checks+=',-bugprone-easily-swappable-parameters'
checks+=',-bugprone-reserved-identifier,-cert-dcl37-c,-cert-dcl51-cpp'
checks+=',-cert-err33-c,-clang-analyzer-valist.Uninitialized,-clang-analyzer-optin.*'

echo "lint: clang-tidy over ${#files[@]} files"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Two at a time (-P2), four files per run; the headers of src/,
# participants/ and include/ are checked as they are included.
if ! printf '%s\0' "${files[@]}" \
        | xargs -0 -P2 -n4 clang-tidy -p "$build" --quiet --checks="$checks" \
              --warnings-as-errors='*' \
              --header-filter="^$src/(src|participants|include)/" >"$out" 2>&1; then
    # The findings, each once (a header's may come from several files).
    grep -E '(warning|error):' "$out" | sort -u >&2 || true
    grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$out" \
        | grep -vE '^(Suppressed|Use -header-filter|Use -system-headers)' >&2 || true
    echo "lint: clang-tidy found the problems above" >&2
    status=1
fi

if ((status == 0)); then
    echo "lint: clean"
fi
exit "$status"

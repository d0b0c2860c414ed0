#!/usr/bin/env bash
# run.sh - builds the libFuzzer targets of tests/fuzz/ with clang and runs them.
#
#   bash tests/fuzz/run.sh [--time SECONDS] [--out DIR] [--jobs N]
#                          [--build-only] [--replay-only] [TARGET...]
#
# Each target (fuzz_TARGET.c; all of them if none is named) is built into
# DIR (default build-fuzz/) with -fsanitize=fuzzer,address,undefined, then:
#   1. replays tests/fuzz/regress/TARGET/* (inputs that once crashed);
#   2. fuzzes for SECONDS (default 15) from tests/fuzz/corpus/TARGET/ plus
#      DIR/corpus/TARGET/, where new inputs go (never into the repo).
# A crash, timeout (5 s per input), leak or failed check fails the run;
# the input is left in DIR/artifacts/TARGET/ (copy it to regress/TARGET/).
# --jobs N runs N targets at once (default 1).  CLANG overrides the
# compiler.  Exit 0 all clean, 1 a target failed, 2 usage or build error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() {
    sed -n '4,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

say() {
    printf 'fuzz: %s\n' "$*" >&2
}

time_s=15
out=$root/build-fuzz
jobs=1
build_only=0
replay_only=0
targets=()
while (($# > 0)); do
    case $1 in
    --time) time_s=${2:?--time needs a value}; shift ;;
    --out) out=${2:?--out needs a value}; shift ;;
    --jobs) jobs=${2:?--jobs needs a value}; shift ;;
    --build-only) build_only=1 ;;
    --replay-only) replay_only=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) say "unknown option '$1' (try --help)"; exit 2 ;;
    *) targets+=("$1") ;;
    esac
    shift
done
if ((${#targets[@]} == 0)); then
    for f in "$here"/fuzz_*.c; do
        t=${f##*/fuzz_}
        targets+=("${t%.c}")
    done
fi
for t in "${targets[@]}"; do
    [[ -f $here/fuzz_$t.c ]] || { say "no target '$t' (tests/fuzz/fuzz_$t.c)"; exit 2; }
done

cc=${CLANG:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
    say "$cc not found (apt-get install clang libclang-rt-14-dev)"
    exit 2
fi
mkdir -p "$out/obj" "$out/bin"
out=$(cd "$out" && pwd)

# Every object gets the sanitizers and libFuzzer's coverage hooks; a UB
# report aborts (is a crash) instead of scrolling by.
# shellcheck disable=SC2054 # the commas are part of -fsanitize=...
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
        -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
        -Wall -Wextra -Wno-unused-parameter
        -I "$root/include" -I "$root/src" -I "$root/src/libdtc" -I "$root/src/common"
        -I "$root/participants/store" -I "$root/participants/svc" -I "$root/src/kit" -I "$here")
# shellcheck disable=SC2054
ldflags=(-fsanitize=fuzzer,address,undefined -luuid -lpthread -lrt)

# stale OBJ SRC: true if OBJ is missing or older than SRC or a header it
# used last time (OBJ.d, from -MMD).
stale() {
    local obj=$1 src=$2 dep
    [[ -f $obj && -f $obj.d && ! $src -nt $obj ]] || return 0
    # shellcheck disable=SC2013 # one path per word (no spaces in paths)
    for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$obj.d"); do
        [[ $dep -nt $obj ]] && return 0
    done
    return 1
}

# compile OBJ SRC FLAGS...: only if stale.
compile() {
    local obj=$1 src=$2
    shift 2
    stale "$obj" "$src" || return 0
    "$cc" "${cflags[@]}" "$@" -MMD -MF "$obj.d" -c "$src" -o "$obj"
}

# The code under test, in one archive: libdtc (src/libdtc/*.c), the record
# store, the four services' schemas (SVC_NO_MAIN), dtcctl (main renamed)
# and the logfmt tokenizer.
build_lib() {
    local objs=() src obj pids=() rc=0
    local -A extra=()
    for src in "$root"/src/libdtc/*.c "$root"/src/common/*.c "$root"/src/kit/htab.c \
               "$root"/participants/store/*.c \
               "$root"/tests/tools/logfmt_lint.c; do
        extra[$src]=""
    done
    for src in "$root"/participants/services/{inventory,payment,order,shipping}.c; do
        extra[$src]="-DSVC_NO_MAIN"
    done
    for src in "$root"/src/dtcctl/*.c; do
        extra[$src]="-Dmain=dtcctl_main"
    done
    for src in "${!extra[@]}"; do
        obj=$out/obj/$(basename "$(dirname "$src")")_$(basename "${src%.c}").o
        objs+=("$obj")
        # shellcheck disable=SC2086 # extra flags split on purpose
        compile "$obj" "$src" ${extra[$src]} &
        pids+=($!)
        if ((${#pids[@]} >= $(nproc))); then
            wait "${pids[0]}" || rc=1
            pids=("${pids[@]:1}")
        fi
    done
    for p in "${pids[@]}"; do
        wait "$p" || rc=1
    done
    ((rc == 0)) || return 1
    local lib=$out/obj/libdtc-fuzz.a newer=0
    for obj in "${objs[@]}"; do
        [[ $obj -nt $lib ]] && newer=1
    done
    if [[ ! -f $lib ]] || ((newer)); then
        rm -f "$lib"
        ar rcs "$lib" "${objs[@]}"
    fi
}

build_target() {
    local t=$1
    local obj=$out/obj/fuzz_$t.o
    compile "$obj" "$here/fuzz_$t.c" -Werror || return 1
    if [[ ! -x $out/bin/fuzz_$t || $obj -nt $out/bin/fuzz_$t
          || $out/obj/libdtc-fuzz.a -nt $out/bin/fuzz_$t ]]; then
        "$cc" "$obj" "$out/obj/libdtc-fuzz.a" "${ldflags[@]}" -o "$out/bin/fuzz_$t"
    fi
}

say "building ${targets[*]} in $out"
build_lib || { say "build failed"; exit 2; }
for t in "${targets[@]}"; do
    build_target "$t" || { say "build of fuzz_$t failed"; exit 2; }
done
((build_only)) && exit 0

# Sanitizer defaults (the caller's settings win).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_target T: replay, then fuzz; the log goes to DIR/logs/T.log.
run_target() {
    local t=$1
    local bin=$out/bin/fuzz_$t log=$out/logs/$t.log
    local regress=() f
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t" "$out/logs"
    : >"$log"
    # The targets' temp dirs (fuzz_tmpdir) land here, even after a crash.
    rm -rf "$out/tmp/$t"
    mkdir -p "$out/tmp/$t"
    export TMPDIR=$out/tmp/$t
    for f in "$here/regress/$t"/*; do
        [[ -f $f ]] && regress+=("$f")
    done
    if ((${#regress[@]} > 0)) \
        && ! "$bin" -timeout=5 "${regress[@]}" >>"$log" 2>&1; then
        say "$t: a regression input fails again (log: $log)"
        tail -n 40 "$log" >&2
        return 1
    fi
    ((replay_only)) && { say "$t: ${#regress[@]} regression inputs ok"; return 0; }
    local seeds=()
    [[ -d $here/corpus/$t ]] && seeds+=("$here/corpus/$t")
    if ! "$bin" -max_total_time="$time_s" -timeout=5 -rss_limit_mb=2048 \
        -artifact_prefix="$out/artifacts/$t/" -print_final_stats=1 \
        "$out/corpus/$t" "${seeds[@]}" >>"$log" 2>&1; then
        say "$t: FAILED (log: $log)"
        tail -n 60 "$log" >&2
        say "$t: the input is in $out/artifacts/$t/: fix the bug and copy it to tests/fuzz/regress/$t/"
        return 1
    fi
    rm -rf "$out/tmp/$t"
    say "$t: ok, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?') runs in ${time_s}s, corpus $(find "$out/corpus/$t" -type f | wc -l) files"
}

failed=()
pids=()
names=()
for t in "${targets[@]}"; do
    run_target "$t" &
    pids+=($!)
    names+=("$t")
    if ((${#pids[@]} >= jobs)); then
        wait "${pids[0]}" || failed+=("${names[0]}")
        pids=("${pids[@]:1}")
        names=("${names[@]:1}")
    fi
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
done
if ((${#failed[@]} > 0)); then
    say "failed: ${failed[*]}"
    exit 1
fi
say "all clean: ${targets[*]}"

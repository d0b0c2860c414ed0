#!/usr/bin/env bash
# man_pages.sh SRC_DIR BIN_DIR - the manual pages in man/ format without
# a single groff warning (groff -ww -man -z), and they cannot silently
# rot: every option each program's --help prints (and each dtcctl
# command's), every dtcctl command, every dtc-bench mode and every
# function declared in include/dtc/dtc.h must appear in its page.
set -euo pipefail
src=${1:?usage: man_pages.sh SRC_DIR BIN_DIR}
bin=${2:?usage: man_pages.sh SRC_DIR BIN_DIR}
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# The page's text with roff escapes for '-', fonts and zero-width removed.
plain() {
    sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\&//g' "$src/man/$1"
}

# opts_of: the options named in a --help text on stdin (--long, and -x
# when written as a word of its own).
opts_of() {
    grep -oE -- '(^|[][ ,(|])--?[a-z][a-z0-9-]*' | sed -E 's/^[][ ,(|]//' \
        | grep -vE '^-[a-z][a-z0-9]' | sort -u
}

# need PAGE WHAT WORD...: each WORD appears in PAGE as a word of its own.
need() {
    local page=$1 what=$2 w text
    shift 2
    text=$(plain "$page")
    for w in "$@"; do
        grep -qE -- "(^|[^A-Za-z0-9_-])${w}([^A-Za-z0-9_-]|\$)" <<<"$text" \
            || fail "$page does not mention $what $w"
    done
}

# need_opts PAGE MIN PROGRAM ARGS...: the options of 'PROGRAM ARGS --help'
# (at least MIN of them: the extraction itself must work) are in PAGE.
need_opts() {
    local page=$1 min=$2 opts
    shift 2
    mapfile -t opts < <("$bin/$1" "${@:2}" --help 2>&1 | opts_of)
    ((${#opts[@]} >= min)) || fail "'$* --help' gave ${#opts[@]} options (< $min)"
    need "$page" "option" "${opts[@]}"
}

pages=("$src"/man/*.[1-8])
((${#pages[@]} >= 6)) || fail "only ${#pages[@]} pages in man/"
for p in "${pages[@]}"; do
    warn=$(groff -ww -man -z "$p" 2>&1) || fail "groff failed on ${p##*/}"
    [[ -z $warn ]] || fail "${p##*/}: $warn"
done

need_opts dtcd.8 10 dtcd
need_opts dtcctl.1 3 dtcctl
mapfile -t cmds < <("$bin/dtcctl" --help | awk '/^commands:/ { on = 1; next }
    on && /^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }')
((${#cmds[@]} >= 7)) || fail "dtcctl --help lists ${#cmds[@]} commands"
need dtcctl.1 command "${cmds[@]}"
for c in "${cmds[@]}"; do
    need_opts dtcctl.1 0 dtcctl "$c"
done
need_opts dtc-bench.1 8 dtc-bench
mapfile -t modes < <("$bin/dtc-bench" --help | grep -oE '(noop|services|floor|pg)(-[a-z]+)?' \
    | sort -u)
need dtc-bench.1 mode "${modes[@]}"
need_opts dtc-load.1 12 dtc-load
need_opts dtc-noop.1 6 dtc-noop
for s in inventory payment order shipping; do
    need_opts dtc-services.8 10 "dtc-$s"
    need dtc-services.8 program "dtc-$s"
done
if [[ -x $bin/dtc-pg ]]; then
    need_opts dtc-pg.8 10 dtc-pg
fi
if [[ -x $bin/dtc-exporter ]]; then
    need_opts dtc-exporter.8 5 dtc-exporter
fi
mapfile -t funcs < <(grep -oE '\bdtc_[a-z_]+\(' "$src/include/dtc/dtc.h" | tr -d '(' | sort -u)
((${#funcs[@]} >= 30)) || fail "found ${#funcs[@]} functions in dtc.h"
need libdtc.3 function "${funcs[@]}"

if ((fails > 0)); then
    echo "$fails problem(s)" >&2
    exit 1
fi
echo "PASS: ${#pages[@]} pages, no groff warning, every option and function documented"

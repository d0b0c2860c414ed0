#!/usr/bin/env bash
# completion.sh SRC_DIR BIN_DIR - completion/dtcctl, sourced in a plain
# bash: it registers itself (complete -p dtcctl), completes exactly the
# commands 'dtcctl --help' lists, every option each 'dtcctl COMMAND
# --help' lists, the name of a live instance and the id of an in-flight
# transaction (a dtcd, a dtc-inventory with a slow prepare and a dtcctl
# run of its own, on its own instance and temp directory, stopped by pid
# at the end).
set -euo pipefail
src=${1:?usage: completion.sh SRC_DIR BIN_DIR}
bin=${2:?usage: completion.sh SRC_DIR BIN_DIR}
dir=$(mktemp -d "${TMPDIR:-/tmp}/dtc-completion.XXXXXX")
inst="compl-$$"
dtcd_pid=""
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ -n $dtcd_pid ]]; then
        kill -TERM "$dtcd_pid" 2>/dev/null || true
        wait "$dtcd_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# complete_words WORD...: the completions of the last WORD, sorted, one a line.
complete_words() {
    PATH="$bin:$PATH" bash --norc --noprofile -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _dtcctl dtcctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$src/completion/dtcctl" "$@" | sort
}

# expect WHAT GOT WANT: two sorted word lists are equal.
expect() {
    [[ $2 == "$3" ]] || fail "$1: got [$(tr '\n' ' ' <<<"$2")], want [$(tr '\n' ' ' <<<"$3")]"
}

reg=$(bash --norc --noprofile -c 'source "$1"; complete -p dtcctl' _ "$src/completion/dtcctl")
expect "complete -p dtcctl" "$reg" "complete -F _dtcctl dtcctl"

cmds=$("$bin/dtcctl" --help | awk '/^commands:/ { on = 1; next }
    on && /^[^ ]/ { on = 0 } on && /^  [a-z]/ { print $1 }' | sort)
[[ $(wc -l <<<"$cmds") -ge 7 ]] || fail "dtcctl --help lists too few commands: $cmds"
expect "dtcctl <TAB>" "$(complete_words dtcctl '')" "$cmds"
expect "dtcctl re<TAB>" "$(complete_words dtcctl re)" "$(printf 'resolve\nretry')"
expect "dtcctl --j<TAB>" "$(complete_words dtcctl --j)" "--json"

for c in $cmds; do
    want=$("$bin/dtcctl" "$c" --help 2>&1 | grep -oE -- '(^|[][ ,|])--?[a-z][a-z0-9-]*' \
        | sed -E 's/^[][ ,|]//' | grep -vE '^-[a-z][a-z0-9]' | sort -u)
    got=$(complete_words dtcctl "$c" -)
    for o in $want; do
        grep -qxF -- "$o" <<<"$got" || fail "dtcctl $c -<TAB> lacks $o (got: $(tr '\n' ' ' <<<"$got"))"
    done
done
expect "dtcctl resolve X --r<TAB>" "$(complete_words dtcctl resolve X --r)" "--rollback"
expect "dtcctl run --participant <TAB>" "$(complete_words dtcctl run --participant '')" ""

mkdir -p "$dir/dlog"
"$bin/dtcd" --instance "$inst" --data-dir "$dir/dlog" --dlog-file-mb 1 >"$dir/dtcd.out" \
    2>"$dir/dtcd.err" &
dtcd_pid=$!
for ((i = 0; i < 100; i++)); do
    grep -q '^ready' "$dir/dtcd.out" && break
    sleep 0.1
done
grep -q '^ready' "$dir/dtcd.out" || fail "dtcd did not start: $(cat "$dir/dtcd.err")"
expect "dtcctl --instance compl-\$\$<TAB>" "$(complete_words dtcctl --instance "$inst")" "$inst"

# an in-flight transaction (its prepare takes 3 s) is offered to show
mkdir -p "$dir/state"
"$bin/dtc-inventory" --instance "$inst" --data-dir "$dir/state" --seed w=10 \
    --delay-prepare-ms 3000 >"$dir/inv.out" 2>"$dir/inv.err" &
pids+=($!)
for ((i = 0; i < 100; i++)); do
    grep -q '^ready' "$dir/inv.out" && break
    sleep 0.1
done
"$bin/dtcctl" --instance "$inst" run -p inventory="reserve w 1" >"$dir/run.out" 2>&1 &
pids+=($!)
for ((i = 0; i < 100; i++)); do
    grep -q '^txid ' "$dir/run.out" && break
    sleep 0.1
done
txid=$(awk '$1 == "txid" { print $2 }' "$dir/run.out")
[[ -n $txid ]] || fail "dtcctl run printed no txid: $(cat "$dir/run.out")"
expect "dtcctl --instance I show <TAB>" "$(complete_words dtcctl --instance "$inst" show '')" \
    "$txid"
expect "dtcctl --instance I show TXID <TAB>" \
    "$(complete_words dtcctl --instance "$inst" show "$txid" '')" ""

if ((fails > 0)); then
    echo "$fails problem(s)" >&2
    exit 1
fi
echo "PASS: dtcctl completion registers, completes commands, options, instances and txids"

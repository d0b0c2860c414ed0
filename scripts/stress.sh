#!/usr/bin/env bash
# stress.sh - stress test of dtc: random orders through the four services,
# optionally with chaos (SIGKILL of random processes), then invariant checks.
#
#   scripts/stress.sh [--seconds N | --txns N] [--clients C] [--chaos]
#                     [--kill-rate R] [--reboot] [--reboot-every S]
#                     [--seed S] [--bin-dir DIR] [--keep] [--pg]
#                     [--dlog-file-mb N]
#
#   --seconds N     run the load N seconds (default 20)
#   --txns N        or: run until the clients began N transactions in all
#   --clients C     concurrent dtc-load client processes (default 4)
#   --chaos         SIGKILL a random participant, client or dtcd now and then
#                   (each restarted: same name, same data dir)
#   --kill-rate R   chaos kills per second on average (default 0.5)
#   --reboot        simulate host crashes: SIGKILL dtcd, the services and
#                   the clients all at once, remove the segment (a reboot
#                   empties /dev/shm), restart them on the same data dirs
#                   (new client files); payment fails 30% of commit
#                   deliveries so reboots hit transactions being redelivered
#   --reboot-every S  uptime between reboots, from the restart to the next
#                   crash (default 1.5 s; decimals ok)
#   --seed S        seed of the chaos and of the clients (printed; replay it)
#   --bin-dir DIR   where dtcd, dtcctl, dtc-load and the services are
#                   (default build/bin)
#   --keep          keep the data directory even if the check passes
#   --pg            payment is dtc-pg on a throwaway PostgreSQL cluster
#                   (scripts/stress_pg.sh): the checker then reads its
#                   ledger table and balances
#   --dlog-file-mb N  dtcd's log files of N MiB, 3 of them kept (dtcd
#                   --dlog-file-mb N --dlog-files 3): the log wraps within
#                   seconds, so crashes and reboots meet recycled files
#
# Starts dtcd and dtc-inventory/payment/order/shipping on a fresh instance
# and mktemp -d data directory, then C dtc-load clients (hot keys: few SKUs,
# accounts and zones, so conflicts, out-of-stock and declines all happen).
# Prints a progress line a second.  When the load stops it waits (bounded)
# until no transaction is in flight, checks the segment (no slot leaked,
# 4 participants, everyone alive), stops everything, and runs
# "dtc-load check" over the clients' files and the services' state:
# atomicity, nothing in doubt, nothing acknowledged lost, outcomes,
# conservation.  dtcd keeps its decision log in DATA/dlog (kept across
# reboots).  Exits non-zero on any violation and
# then keeps the data directory (its path is printed).  When dtcd or a
# service cannot be restarted the run stops at once (nothing could drain
# without it) and fails naming it; $DTC_STRESS_BREAK_RESTART=SERVICE
# makes that service's restarts fail, for tests/stress_fail_fast.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    sed -n '4,29s/^# \{0,1\}//p' "$0"
}

die() {
    printf 'stress.sh: %s\n' "$*" >&2
    exit 2
}

seconds=20
txns=0
clients=4
chaos=0
kill_rate=0.5
reboot=0
reboot_every=1.5
seed=""
bin_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/bin"
keep=0
pg=0
dlog_mb=0
while (($# > 0)); do
    case $1 in
    --seconds) seconds=${2:?}; shift ;;
    --txns) txns=${2:?}; shift ;;
    --clients) clients=${2:?}; shift ;;
    --chaos) chaos=1 ;;
    --kill-rate) kill_rate=${2:?}; shift ;;
    --reboot) reboot=1 ;;
    --reboot-every) reboot_every=${2:?}; shift ;;
    --seed) seed=${2:?}; shift ;;
    --bin-dir) bin_dir=${2:?}; shift ;;
    --keep) keep=1 ;;
    --pg) pg=1 ;;
    --dlog-file-mb) dlog_mb=${2:?}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
    esac
    shift
done
[[ $seconds =~ ^[0-9]+$ && $txns =~ ^[0-9]+$ && $clients =~ ^[1-9][0-9]*$ ]] \
    || die "--seconds, --txns and --clients want numbers"
[[ $kill_rate =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--kill-rate wants a number"
[[ $dlog_mb =~ ^[0-9]+$ ]] && ((dlog_mb <= 1024)) || die "--dlog-file-mb wants 0..1024 (0: dtcd's own size)"
kill_mean_ms=$(awk -v r="$kill_rate" 'BEGIN { m = r > 0 ? 1000 / r : 0; printf("%d", m) }')
((kill_mean_ms > 0)) || chaos=0
[[ $reboot_every =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--reboot-every wants a number of seconds"
reboot_ms=$(awk -v s="$reboot_every" 'BEGIN { printf("%d", s * 1000) }')
((!reboot || reboot_ms >= 100)) || die "--reboot-every wants at least 0.1 s"
# In reboot mode payment fails some commit deliveries: dtcd retries them,
# so reboots find transactions in COMMITTING with deliveries pending.
fail_commit=0
((reboot && !pg)) && fail_commit=0.3
if [[ -z $seed ]]; then
    seed=$(( (RANDOM << 15 | RANDOM) ^ $$ ))
fi
[[ $seed =~ ^[0-9]+$ ]] || die "--seed wants a non-negative integer"
for p in dtcd dtcctl dtc-load dtc-inventory dtc-payment dtc-order dtc-shipping \
    $( ((pg)) && echo dtc-pg); do
    [[ -x $bin_dir/$p ]] || die "$bin_dir/$p not found (build first, or --bin-dir)"
done
RANDOM=$((seed % 32768))

SERVICES=(inventory payment order shipping)
# Hot keys: NSKU SKUs (the last two scarce), NACCT accounts (the last one
# poor), NZONE zones (the last one small).
NSKU=6 NACCT=5 NZONE=4

instance="stress-$$-$seed"
instance=${instance:0:40}
data=$(mktemp -d "${TMPDIR:-/tmp}/dtc-stress.XXXXXX")
state="$data/state"
dlog="$data/dlog"   # dtcd's decision log: survives reboots
mkdir -p "$state" "$dlog" "$data/clients" "$data/logs"

declare -A pid=()      # role -> pid: dtcd, inventory..., client0...
declare -A kills=()    # role class -> count
declare -A starts=()   # role -> how many times started
recoveries=0
reboots=0             # host crashes simulated so far (client files: .rN)
declare -A begun=()   # client index -> B lines in its files of past boots
violations=()
finished=0

log() { printf 'stress: %s\n' "$*"; }

# ms since the epoch into $now (no subshell).
tick() {
    local t=${EPOCHREALTIME/./}
    now=$((t / 1000))
}

cleanup() {
    local rc=$? r
    trap - EXIT INT TERM
    for r in "${!pid[@]}"; do
        if [[ -n ${pid[$r]} ]] && kill -0 "${pid[$r]}" 2>/dev/null; then
            kill -KILL "${pid[$r]}" 2>/dev/null || true
        fi
    done
    for r in "${!pid[@]}"; do
        if [[ -n ${pid[$r]} ]]; then wait "${pid[$r]}" 2>/dev/null || true; fi
    done
    # The segment is ours (dtcd removes it on a clean stop).
    rm -f "/dev/shm/dtc.$instance"
    ((pg)) && spg_stop
    if ((rc == 0 && finished && !keep)); then
        rm -rf "$data"
    else
        log "data directory kept: $data (seed $seed)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_ready FILE PID WHAT: until FILE has a "ready" line (10 s at most).
wait_ready() {
    if dtc_wait_ready 10 "$2" dtc_has_ready "$1"; then
        return 0
    fi
    log "$3 did not get ready; its stderr:"
    tail -n 20 "$data/logs/$3.err" >&2 || true
    return 1
}

start_dtcd() {
    local out="$data/logs/dtcd.out"
    : >"$out"
    local small=()
    ((dlog_mb > 0)) && small=(--dlog-file-mb "$dlog_mb" --dlog-files 3)
    dtc_start "$out" "$data/logs/dtcd.err" "$bin_dir/dtcd" --instance "$instance" \
        --data-dir "$dlog" --log-file "$data/logs/dtcd.log" --orphan-timeout-ms 5000 \
        "${small[@]}"
    pid[dtcd]=$DTC_PID
    starts[dtcd]=$((${starts[dtcd]:-0} + 1))
    wait_ready "$out" "${pid[dtcd]}" dtcd
}

seed_args() {
    local i
    case $1 in
    inventory)
        for ((i = 0; i < NSKU; i++)); do
            printf -- '--seed\nsku%d=%d\n' "$i" $((i >= NSKU - 2 ? 60 : 1000000))
        done ;;
    payment)
        for ((i = 0; i < NACCT; i++)); do
            printf -- '--seed\nacct%d=%d\n' "$i" $((i == NACCT - 1 ? 200000 : 1000000000))
        done ;;
    shipping)
        for ((i = 0; i < NZONE; i++)); do
            printf -- '--seed\nz%d=%d\n' "$i" $((i == NZONE - 1 ? 40 : 1000000))
        done ;;
    esac
}

start_service() {
    local s=$1 out="$data/logs/$1.out" seeds=()
    # the checker audits every transaction: no ledger entry may retire
    export DTC_KEEP_LEDGER=1
    mapfile -t seeds < <(seed_args "$s")
    [[ $s == payment && $fail_commit != 0 ]] && seeds+=(--fail-commit "$fail_commit")
    # test hook (tests/CMakeLists.txt, stress_fail_fast): this service's
    # restarts fail (an option it refuses), as a service that cannot come
    # back would
    [[ ${DTC_STRESS_BREAK_RESTART:-} == "$s" && ${starts[$s]:-0} -gt 0 ]] \
        && seeds+=(--no-such-option)
    : >"$out"
    if ((pg)) && [[ $s == payment ]]; then
        spg_start_payment "$out" "$data/logs/$s.err"
    else
        dtc_start "$out" "$data/logs/$s.err" \
            "$bin_dir/dtc-$s" --instance "$instance" --data-dir "$state" "${seeds[@]}"
    fi
    pid[$s]=$DTC_PID
    starts[$s]=$((${starts[$s]:-0} + 1))
    wait_ready "$out" "${pid[$s]}" "$s"
}

# client_file C: client C's file in this boot (a reboot starts new ones;
# the old ones stay for the checker).
client_file() {
    if ((reboots == 0)); then
        printf '%s/clients/client%d.txt' "$data" "$1"
    else
        printf '%s/clients/client%d.r%d.txt' "$data" "$1" "$reboots"
    fi
}

start_client() {
    local c=$1 out="$data/logs/client$1.out" per=() left
    if ((txns > 0)); then
        left=$(((txns + clients - 1 - c) / clients - ${begun[$c]:-0}))
        if ((left <= 0)); then  # all its transactions begun before a reboot
            pid[client$c]=""
            return 0
        fi
        per=(--txns "$left")
    fi
    : >"$out"
    dtc_start "$out" "$data/logs/client$c.err" \
        "$bin_dir/dtc-load" run --instance "$instance" --client "$c" --seed "$seed" \
        --out "$(client_file "$c")" --skus "$NSKU" --accounts "$NACCT" \
        --zones "$NZONE" --incarnation "${starts[client$c]:-0}" "${per[@]}"
    pid[client$c]=$DTC_PID
    starts[client$c]=$((${starts[client$c]:-0} + 1))
    wait_ready "$out" "${pid[client$c]}" "client$c"
}

# start ROLE
start() {
    case $1 in
    dtcd) start_dtcd ;;
    client*) start_client "${1#client}" ;;
    *) start_service "$1" ;;
    esac
}

# stop_pid PID SECONDS: SIGTERM, bounded wait, SIGKILL; returns its status.
stop_pid() {
    local st=0
    dtc_stop "$1" "$2" || st=$?
    if ((DTC_STOP_KILLED)); then
        violations+=("pid $1 did not stop within $2 s of SIGTERM (hang); killed")
    fi
    return "$st"
}

# The outcome counts so far: "committed=N aborted=N (class=N ...)".
progress_counts() {
    awk -F'\t' '$1 == "E" { if ($3 == "DTC_OK") ok++; else { ab++; c[$5]++ } }
        $1 == "B" { b++ }
        END {
            printf "begun=%d committed=%d aborted=%d", b, ok, ab
            n = 0
            for (k in c) { s = s sprintf("%s%s=%d", n++ ? " " : "", k, c[k]) }
            if (n) printf " (%s)", s
            printf "\n"
        }' "$data"/clients/client*.txt 2>/dev/null
}

chaos_kill() {
    local roles=(dtcd "${SERVICES[@]}") r class c
    for ((c = 0; c < clients; c++)); do
        roles+=("client$c")
    done
    r=${roles[RANDOM % ${#roles[@]}]}
    case $r in
    dtcd) class=dtcd ;;
    client*) class=client ;;
    *) class=participant ;;
    esac
    if [[ -z ${pid[$r]:-} ]] || ! dtc_alive "${pid[$r]}"; then
        return 0
    fi
    kill -KILL "${pid[$r]}" 2>/dev/null || true
    wait "${pid[$r]}" 2>/dev/null || true
    kills[$class]=$((${kills[$class]:-0} + 1))
    printf '%s kill %s pid %s\n' "$(date +%T.%N)" "$r" "${pid[$r]}" >>"$data/logs/chaos.log"
    if start "$r"; then
        recoveries=$((recoveries + 1))
    else
        violations+=("$r did not restart after its SIGKILL")
        pid[$r]=""
        [[ $class == client ]] || broken="$r did not restart"
    fi
}

# reap_killed PID...: bounded wait (5 s) until each is gone, then reap it.
reap_killed() {
    local p i
    for p in "$@"; do
        for ((i = 0; i < 100; i++)); do
            dtc_alive "$p" || break
            sleep 0.05
        done
        if dtc_alive "$p"; then
            violations+=("pid $p still alive 5 s after its SIGKILL")
            continue
        fi
        wait "$p" 2>/dev/null || true
    done
}

# count_begun C: B lines in client C's file of this boot, into begun[C].
count_begun() {
    local n
    n=$(grep -c '^B' "$(client_file "$1")" 2>/dev/null || true)
    begun[$1]=$((${begun[$1]:-0} + ${n:-0}))
}

# A host crash: SIGKILL every process this script started, all at once (by
# pid), empty /dev/shm of our segment, restart dtcd, the services (same
# data dirs) and the clients (new files).
reboot_host() {
    local r victims=() c
    for r in "${!pid[@]}"; do
        if dtc_alive "${pid[$r]}"; then
            victims+=("${pid[$r]}")
        elif [[ -n ${pid[$r]} ]]; then
            wait "${pid[$r]}" 2>/dev/null || true  # a client done (--txns)
        fi
    done
    ((${#victims[@]} == 0)) || kill -KILL "${victims[@]}" 2>/dev/null || true
    # (stderr: bash's "Killed" notices of its jobs, expected here)
    reap_killed "${victims[@]}" 2>/dev/null
    printf '%s reboot %d: killed pids %s\n' "$(date +%T.%N)" $((reboots + 1)) \
        "${victims[*]}" >>"$data/logs/chaos.log"
    for r in "${!pid[@]}"; do pid[$r]=""; done
    rm -f "/dev/shm/dtc.$instance"
    for ((c = 0; c < clients; c++)); do count_begun "$c"; done
    reboots=$((reboots + 1))
    local ok=1
    start_dtcd || ok=0
    for r in "${SERVICES[@]}"; do
        start_service "$r" || ok=0
    done
    for ((c = 0; c < clients; c++)); do
        start_client "$c" || ok=0
    done
    if ((ok)); then
        log "reboot $reboots: killed ${#victims[@]} processes, restarted"
    else
        violations+=("reboot $reboots: not everything restarted and got ready")
        log "reboot $reboots: killed ${#victims[@]} processes, restart FAILED"
        broken="reboot $reboots: not everything restarted"
    fi
}

# Sets kill_in: milliseconds until the next chaos kill, uniform in
# [0, 2/rate) s (no subshell: $RANDOM stays the seeded sequence).
next_kill_in() {
    kill_in=$(( (RANDOM * 32768 + RANDOM) % (2 * kill_mean_ms) ))
}

# ---- run ------------------------------------------------------------------

log "seed $seed instance $instance data $data"
log "clients $clients, $( ((txns > 0)) && echo "$txns transactions" || echo "$seconds s")$( ((chaos)) && echo ", chaos at $kill_rate kills/s")$( ((reboot)) && echo ", reboot every $reboot_every s (payment --fail-commit $fail_commit)")"

for s in "${SERVICES[@]}"; do
    seed_args "$s" | paste - - | sed "s/^--seed\t/$s /; s/=/ /"
done >"$data/seeds.txt"

if ((pg)); then
    # shellcheck source=scripts/pg_cluster.sh
    source "$(dirname "${BASH_SOURCE[0]}")/pg_cluster.sh"
    # shellcheck source=scripts/stress_pg.sh
    source "$(dirname "${BASH_SOURCE[0]}")/stress_pg.sh"
    spg_start || exit 1
    log "payment: dtc-pg on PostgreSQL at $SPG_DIR"
fi
start_dtcd || exit 1
for s in "${SERVICES[@]}"; do
    start_service "$s" || exit 1
done
for ((c = 0; c < clients; c++)); do
    start_client "$c" || exit 1
done

tick
t0=$now
deadline=$((t0 + seconds * 1000))
# --txns: a safety bound on the run (the clients stop by themselves).
((txns > 0)) && deadline=$((t0 + 600000))
next_progress=$((t0 + 1000))
next_kill=0
if ((chaos)); then
    next_kill_in
    next_kill=$((t0 + kill_in))
fi
next_reboot=0
((reboot)) && next_reboot=$((t0 + reboot_ms))
last_ok=0
broken="" # set when dtcd or a service could not be restarted
while :; do
    tick
    ((now >= deadline)) && break
    if ((txns > 0)); then
        done_all=1
        for ((c = 0; c < clients; c++)); do
            dtc_alive "${pid[client$c]}" && done_all=0
        done
        ((done_all)) && break
    fi
    if ((chaos && next_kill > 0 && now >= next_kill)); then
        chaos_kill
        tick
        next_kill_in
        next_kill=$((now + kill_in))
    fi
    # Anything dead that chaos did not kill is a violation.
    for r in dtcd "${SERVICES[@]}"; do
        if [[ -n ${pid[$r]} ]] && ! dtc_alive "${pid[$r]}"; then
            st=0
            wait "${pid[$r]}" 2>/dev/null || st=$?
            violations+=("$r (pid ${pid[$r]}) died by itself (status $st); restarted")
            log "VIOLATION $r died by itself (status $st); restarting it"
            start "$r" || { pid[$r]=""; broken="$r did not restart"; }
        fi
    done
    # nothing can drain without it: stop now, report, fail
    if [[ -n $broken ]]; then
        log "$broken: stopping the run"
        break
    fi
    if ((reboot && now >= next_reboot)); then
        reboot_host
        tick
        next_reboot=$((now + reboot_ms))
    fi
    if ((now >= next_progress)); then
        counts=$(progress_counts)
        ok=${counts#*committed=}
        ok=${ok%% *}
        kl=""
        for k in "${!kills[@]}"; do kl+=" $k=${kills[$k]}"; done
        ((reboot)) && kl+=" reboots=$reboots"
        # committed_per_s: transactions committed in the last second
        printf 'stress: t=%ds %s committed_per_s=%d kills:%s\n' $(((now - t0) / 1000)) \
            "$counts" $((ok - last_ok)) "${kl:- none}"
        last_ok=$ok
        next_progress=$((next_progress + 1000))
    fi
    sleep 0.1
done

# Stop the load: clients finish their transaction on SIGTERM.
for ((c = 0; c < clients; c++)); do
    p=${pid[client$c]}
    [[ -n $p ]] || continue
    st=0
    stop_pid "$p" 30 || st=$?
    ((st == 0)) || violations+=("client$c (pid $p) exited with status $st")
    pid[client$c]=""
done
tick
elapsed_ms=$((now - t0))
log "load stopped after $((elapsed_ms / 1000)) s; waiting for in-flight transactions"

ctl() { "$bin_dir/dtcctl" --instance "$instance" --json "$@"; }
# json_num KEY: the first "KEY":N in stdin.
json_num() { grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2; }

# in_doubt: how many txids the services' state files hold prepared and not
# yet applied, compensated or released (read while they run: a torn last
# line only delays the wait; the checker reads the final files).
in_doubt_files() {
    awk '$1 == "prepared" { p[FILENAME, $2] = 1 }
        $1 == "applied" || $1 == "compensated" || $1 == "released" { delete p[FILENAME, $2] }
        END { n = 0; for (k in p) n++; print n }' "$state"/*.state 2>/dev/null || echo "?"
}
in_doubt() { in_doubt_files; }
if ((pg)); then # plus the gids PostgreSQL holds prepared
    in_doubt() {
        local n d
        n=$(in_doubt_files) d=$(spg_in_doubt)
        [[ $n =~ ^[0-9]+$ && $d =~ ^[0-9]+$ ]] && echo $((n + d)) || echo "?"
    }
fi

# Drain (60 s at most): dtcd has redelivered every decision (no transaction
# in flight, no slot in use) and the services resolved what they held
# prepared (they re-check within about a second).
inflight=-1 in_use=-1 doubt=-1
drain_polls=600
[[ -z $broken ]] || drain_polls=1 # a process is missing: it cannot drain
for ((i = 0; i < drain_polls; i++)); do
    inflight=$(ctl txns 2>/dev/null | json_num count || true)
    in_use=$(ctl status 2>/dev/null | json_num txns_in_use || true)
    doubt=$(in_doubt)
    [[ $inflight == 0 && $in_use == 0 && $doubt == 0 ]] && break
    sleep 0.1
done
tick
log "drained after $(((now - t0 - elapsed_ms) / 1000)) s: in flight ${inflight:-?}," \
    "slots in use ${in_use:-?}, prepared at the services ${doubt:-?}"
if [[ $inflight != 0 && -n $broken ]]; then
    violations+=("transactions in flight when the run stopped (no drain: $broken): ${inflight:-?}")
elif [[ $inflight != 0 ]]; then
    violations+=("transactions still in flight 60 s after the load stopped: ${inflight:-?}")
    log "still in flight:"
    ctl txns >"$data/logs/stuck-txns.json" 2>&1 || true
    "$bin_dir/dtcctl" --instance "$instance" txns 2>&1 | head -n 40 || true
fi
status=$(ctl status 2>&1 || true)
printf '%s\n' "$status" >"$data/logs/final-status.json"
in_use=$(json_num txns_in_use <<<"$status" || true)
regs=$(json_num participants_registered <<<"$status" || true)
corrupt=$(json_num corrupt_slots <<<"$status" || true)
[[ $in_use == 0 ]] || violations+=("dtcctl status: txns_in_use=${in_use:-?}, want 0")
[[ $regs == 4 ]] || violations+=("dtcctl status: participants_registered=${regs:-?}, want 4")
[[ $corrupt == 0 ]] || violations+=("dtcctl status: corrupt_slots=${corrupt:-?}, want 0")
grep -q '"supervisor":{"pid":[0-9]*,"alive":true}' <<<"$status" \
    || violations+=("dtcctl status: supervisor not alive")
for r in dtcd "${SERVICES[@]}"; do
    if [[ -z ${pid[$r]} ]] || ! dtc_alive "${pid[$r]}"; then
        violations+=("$r is not alive at the end")
    fi
done

# Stop the services, then dtcd: each must exit 0.
for r in "${SERVICES[@]}" dtcd; do
    [[ -n ${pid[$r]} ]] || continue
    st=0
    stop_pid "${pid[$r]}" 15 || st=$?
    ((st == 0)) || violations+=("$r exited with status $st on SIGTERM")
    pid[$r]=""
done
[[ ! -e /dev/shm/dtc.$instance ]] || violations+=("dtcd left /dev/shm/dtc.$instance")

for s in "${SERVICES[@]}"; do
    if ((pg)) && [[ $s == payment ]]; then
        spg_export || violations+=("reading payment's tables from PostgreSQL failed")
        continue
    fi
    "$bin_dir/dtc-$s" --dump --data-dir "$state" >"$state/$s.dump" \
        || violations+=("dtc-$s --dump failed")
done

check_rc=0
"$bin_dir/dtc-load" check --state-dir "$state" --dump-dir "$state" \
    --seeds "$data/seeds.txt" --elapsed-s "$((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100))" \
    "$data"/clients/client*.txt | tee "$data/check.txt" || check_rc=$?

# Every log record of the run is strict logfmt.
if [[ -x $bin_dir/dtc-logfmt-lint ]]; then
    "$bin_dir/dtc-logfmt-lint" "$data"/logs/*.log "$data"/logs/*.err \
        || violations+=("log lines that are not strict logfmt (above)")
fi

kl=""
for k in dtcd participant client; do kl+=" $k=${kills[$k]:-0}"; done
log "kills:$kl; recoveries (restarted and ready): $recoveries$( ((reboot)) && echo "; reboots: $reboots")"
if grep -q 'action=sigkill\|quarantin' "$data/logs/dtcd.log" 2>/dev/null; then
    log "note: dtcd.log mentions quarantine or fault points"
fi
for v in "${violations[@]}"; do
    log "VIOLATION $v"
done
finished=1
if ((check_rc != 0 || ${#violations[@]} > 0)); then
    log "FAILED (seed $seed; replay with --seed $seed)"
    exit 1
fi
log "passed (seed $seed)"

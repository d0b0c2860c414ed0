# bench_quick: a short dtc-bench grid (N=1,3; C=1,4; every mode, ~0.3 s a
# cell).  Not a timed test: it never asserts a speed, only that the run
# completes, every transaction committed (dtc-bench exits non-zero
# otherwise) and the JSON output is well-formed, with one row per cell and
# no failure.  Rows: 8 modes (floor, floor-wake, noop, noop-nolog,
# noop-journal, services, services-ownfsync, services-nofsync) x 2 N x 2 C
# = 32, plus the PostgreSQL peer
# once per C (pg and pg-nofsync, N=3) = 4.  Ratios: noop/noop-nolog at
# each N and C (4), and services/pg at each N, C, fsync on and off (8).  The pg rows may be missing only when
# dtc-bench was built without libpq; with libpq, PostgreSQL must run
# (scripts/lib.sh installs it), and the services/pg ratios must be there.
# Syncs: every cell's sync_rounds is its mode's by design (at N=1 a
# one-phase commit saves the decision log's round: noop, services-ownfsync);
# syncs_per_txn is there for every mode but pg, pg-nofsync (PostgreSQL's
# syncs are not counted), 0 where nothing is synced (the floors,
# noop-nolog, services-nofsync), above 0 for noop and services at N=3
# (the decision log), and services-ownfsync at N=3 syncs more per order
# than services on the journal at the same C (the participants' own).
# bench_quick runs this script (cmake -P, BENCH = dtc-bench's path); the
# test itself is registered in tests/CMakeLists.txt.
execute_process(COMMAND ${BENCH} --quick --participants 1,3 --coordinators 1,4
                        --mode all --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out TIMEOUT 110)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dtc-bench exited with ${rc}")
endif()
string(JSON rows GET "${out}" rows)
string(JSON ncells LENGTH "${out}" cells)
string(JSON nskipped LENGTH "${out}" skipped)
string(JSON nratios LENGTH "${out}" ratios)
set(want 36)
if(nskipped GREATER 0)
  math(EXPR lastskip "${nskipped} - 1")
  foreach(i RANGE ${lastskip})
    string(JSON why GET "${out}" skipped ${i} why)
    if(NOT why MATCHES "built without libpq")
      message(FATAL_ERROR "a mode was skipped: ${why}")
    endif()
  endforeach()
  set(want 32)
endif()
if(NOT rows EQUAL want OR NOT ncells EQUAL rows)
  message(FATAL_ERROR "expected ${want} rows, got rows=${rows} cells=${ncells}")
endif()
math(EXPR last "${ncells} - 1")
set(pg 0)
# The sync rounds by design (src/bench/rounds.c), N >= 2 and N = 1.
set(rounds_floor 0)
set(rounds_floor-wake 0)
set(rounds_noop 1)
set(rounds_n1_noop 0)
set(rounds_noop-nolog 0)
set(rounds_noop-journal 1)
set(rounds_services 1)
set(rounds_services-ownfsync 3)
set(rounds_n1_services-ownfsync 2)
set(rounds_services-nofsync 0)
set(rounds_pg 2)
set(rounds_pg-nofsync 0)
foreach(i RANGE ${last})
  string(JSON mode GET "${out}" cells ${i} mode)
  string(JSON n GET "${out}" cells ${i} participants)
  string(JSON txns GET "${out}" cells ${i} txns)
  string(JSON failures GET "${out}" cells ${i} failures)
  if(NOT failures EQUAL 0 OR txns LESS 1)
    message(FATAL_ERROR "cell ${i} (${mode}): txns=${txns} failures=${failures}")
  endif()
  string(JSON c GET "${out}" cells ${i} coordinators)
  string(JSON rounds GET "${out}" cells ${i} sync_rounds)
  set(want_rounds ${rounds_${mode}})
  if(n EQUAL 1 AND DEFINED rounds_n1_${mode})
    set(want_rounds ${rounds_n1_${mode}})
  endif()
  if(NOT rounds EQUAL want_rounds)
    message(FATAL_ERROR "cell ${i} (${mode} N=${n}): sync_rounds ${rounds}, want ${want_rounds}")
  endif()
  string(JSON spt ERROR_VARIABLE no_spt GET "${out}" cells ${i} syncs_per_txn)
  if(mode MATCHES "^pg")
    if(NOT no_spt)
      message(FATAL_ERROR "cell ${i} (${mode}): syncs_per_txn ${spt}, but pg's are not counted")
    endif()
  elseif(no_spt)
    message(FATAL_ERROR "cell ${i} (${mode} N=${n}): no syncs_per_txn")
  elseif(mode MATCHES "^floor|^noop-nolog$|^services-nofsync$")
    if(NOT spt EQUAL 0)
      message(FATAL_ERROR "cell ${i} (${mode}): syncs_per_txn ${spt}, nothing is synced")
    endif()
  elseif(n EQUAL 3 AND mode MATCHES "^noop$|^services")
    if(NOT spt GREATER 0)
      message(FATAL_ERROR "cell ${i} (${mode} N=3): syncs_per_txn ${spt}, want > 0")
    endif()
    set(spt_${mode}_${c} ${spt})
  endif()
  if(mode MATCHES "^pg")
    math(EXPR pg "${pg} + 1")
    if(NOT n EQUAL 3)
      message(FATAL_ERROR "cell ${i} (${mode}): N=${n}, the peer has 3 databases")
    endif()
  endif()
endforeach()
# noop/noop-nolog 2x2, services(-nofsync)/pg(-nofsync) at N=1,3: 2x2x2.
if(want EQUAL 28 AND (NOT pg EQUAL 4 OR NOT nratios EQUAL 12))
  message(FATAL_ERROR "expected 4 pg cells and 12 ratios, got ${pg} and ${nratios}")
endif()
foreach(c 1 4)
  if(NOT spt_services-ownfsync_${c} GREATER spt_services_${c})
    message(FATAL_ERROR "N=3 C=${c}: services-ownfsync ${spt_services-ownfsync_${c}} syncs per "
                        "order, not more than services on the journal ${spt_services_${c}}")
  endif()
endforeach()

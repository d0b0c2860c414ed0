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
foreach(i RANGE ${last})
  string(JSON mode GET "${out}" cells ${i} mode)
  string(JSON n GET "${out}" cells ${i} participants)
  string(JSON txns GET "${out}" cells ${i} txns)
  string(JSON failures GET "${out}" cells ${i} failures)
  if(NOT failures EQUAL 0 OR txns LESS 1)
    message(FATAL_ERROR "cell ${i} (${mode}): txns=${txns} failures=${failures}")
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

# bench_quick: a short dtc-bench grid (N=1,3; C=1,4; every mode, ~0.3 s a
# cell).  Not a timed test: it never asserts a speed, only that the run
# completes, every transaction committed (dtc-bench exits non-zero
# otherwise) and the JSON output is well-formed, with one row per cell and
# no failure.  This file is both included (from tests/CMakeLists.txt) and
# run as the checking script (cmake -P).
if(CMAKE_SCRIPT_MODE_FILE)
  execute_process(COMMAND ${BENCH} --quick --participants 1,3 --coordinators 1,4
                          --mode all --json
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out TIMEOUT 110)
  message("${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dtc-bench exited with ${rc}")
  endif()
  string(JSON rows GET "${out}" rows)
  string(JSON ncells LENGTH "${out}" cells)
  if(rows LESS 8 OR NOT ncells EQUAL rows)
    message(FATAL_ERROR "expected >= 8 rows, got rows=${rows} cells=${ncells}")
  endif()
  math(EXPR last "${ncells} - 1")
  foreach(i RANGE ${last})
    string(JSON txns GET "${out}" cells ${i} txns)
    string(JSON failures GET "${out}" cells ${i} failures)
    if(NOT failures EQUAL 0 OR txns LESS 1)
      message(FATAL_ERROR "cell ${i}: txns=${txns} failures=${failures}")
    endif()
  endforeach()
  return()
endif()

add_test(NAME bench_quick
         COMMAND ${CMAKE_COMMAND} -DBENCH=$<TARGET_FILE:dtc-bench>
                 -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(bench_quick PROPERTIES TIMEOUT 120)

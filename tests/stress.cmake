# stress.cmake - scripts/stress.sh as ctest tests (included from
# tests/CMakeLists.txt).  Each run uses its own
# instance name and mktemp -d data directory, so ctest -j is safe.
#   load_check          dtc-load check on hand-made runs (tests/load_check.sh):
#                       each violation kind is caught, a clean run passes
#   stress_short        10 s, 4 clients, no chaos
#   stress_chaos        30 s, 4 clients, chaos (~35 s with the drain/check)
#   stress_reboot       30 s, 4 clients, a simulated host crash every 1.5 s
#                       (everything SIGKILLed, the segment removed, all
#                       restarted; payment fails 30% of commit deliveries):
#                       committed decisions must survive (dtcd's decision log)
#   stress_chaos_long   5 min chaos run, only with -DDTC_LONG_TESTS=ON
#   stress_reboot_long  5 min reboot + chaos run, only with -DDTC_LONG_TESTS=ON
# A failing run prints its seed and keeps its data directory.
find_program(DTC_BASH bash)
if(NOT DTC_BASH)
  message(STATUS "bash not found: stress tests not registered")
  return()
endif()

set(DTC_STRESS ${PROJECT_SOURCE_DIR}/scripts/stress.sh)
set(DTC_STRESS_BIN --bin-dir ${CMAKE_BINARY_DIR}/bin)

add_test(NAME load_check
         COMMAND ${DTC_BASH} ${PROJECT_SOURCE_DIR}/tests/load_check.sh
                 ${CMAKE_BINARY_DIR}/bin/dtc-load)
set_tests_properties(load_check PROPERTIES TIMEOUT 30)

add_test(NAME stress_short
         COMMAND ${DTC_BASH} ${DTC_STRESS} --seconds 10 --clients 4 ${DTC_STRESS_BIN})
set_tests_properties(stress_short PROPERTIES TIMEOUT 120)

add_test(NAME stress_chaos
         COMMAND ${DTC_BASH} ${DTC_STRESS} --chaos --seconds 30 --clients 4
                 ${DTC_STRESS_BIN})
set_tests_properties(stress_chaos PROPERTIES TIMEOUT 150)

add_test(NAME stress_reboot
         COMMAND ${DTC_BASH} ${DTC_STRESS} --reboot --seconds 30 --clients 4
                 ${DTC_STRESS_BIN})
set_tests_properties(stress_reboot PROPERTIES TIMEOUT 150)

if(DTC_LONG_TESTS)
  add_test(NAME stress_chaos_long
           COMMAND ${DTC_BASH} ${DTC_STRESS} --chaos --seconds 300 --clients 4
                   ${DTC_STRESS_BIN})
  set_tests_properties(stress_chaos_long PROPERTIES TIMEOUT 480)
  add_test(NAME stress_reboot_long
           COMMAND ${DTC_BASH} ${DTC_STRESS} --reboot --chaos --seconds 300 --clients 4
                   ${DTC_STRESS_BIN})
  set_tests_properties(stress_reboot_long PROPERTIES TIMEOUT 480)
endif()

# matrix.cmake - the crash matrix ("crash anywhere": every fault point of
# src/fault.c, the condvar dead-waiter hazard, pid reuse) and the damaged
# segment / bad input tests.  Included from tests/CMakeLists.txt.
dtc_add_check_test(test_matrix test_matrix.c matrix_util.c harness.c)
set_tests_properties(test_matrix PROPERTIES TIMEOUT 240)
dtc_add_check_test(test_damage test_damage.c matrix_util.c harness.c)
set_tests_properties(test_damage PROPERTIES TIMEOUT 180)
# The segment fuzzer (issue 9): random fields of a live segment scribbled
# one at a time under load; a short pass, and 10,000 with DTC_LONG_TESTS.
dtc_add_check_test(test_segfuzz test_segfuzz.c harness.c)
set_tests_properties(test_segfuzz PROPERTIES TIMEOUT 150
  ENVIRONMENT "${DTC_TEST_ENV};DTC_SEGFUZZ_COUNT=300")
if(DTC_LONG_TESTS)
  add_test(NAME test_segfuzz_long COMMAND test_segfuzz)
  set_tests_properties(test_segfuzz_long PROPERTIES TIMEOUT 5700
    ENVIRONMENT "${DTC_TEST_ENV};DTC_SEGFUZZ_COUNT=10000")
endif()

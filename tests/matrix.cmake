# matrix.cmake - the crash matrix ("crash anywhere": every fault point of
# src/fault.c, the condvar dead-waiter hazard, pid reuse) and the damaged
# segment / bad input tests.  Included from tests/CMakeLists.txt.
dtc_add_check_test(test_matrix test_matrix.c matrix_util.c harness.c)
set_tests_properties(test_matrix PROPERTIES TIMEOUT 240)
dtc_add_check_test(test_damage test_damage.c matrix_util.c harness.c)
set_tests_properties(test_damage PROPERTIES TIMEOUT 180)

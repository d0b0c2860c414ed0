# Multi-process integration tests: real dtcd, dtc-noop, the four services
# and dtcctl, each test on its own instance and temp dir (tests/harness.c).
dtc_add_check_test(test_limits test_limits.c harness.c)
dtc_add_check_test(test_concurrency test_concurrency.c harness.c)
target_link_libraries(test_concurrency PRIVATE Threads::Threads)
dtc_add_check_test(test_cli test_cli.c harness.c)
dtc_add_check_test(test_security test_security.c harness.c)
dtc_add_check_test(test_crash test_crash.c harness.c)
dtc_add_check_test(test_order test_order.c harness.c)
dtc_add_check_test(test_failures test_failures.c harness.c)
dtc_add_check_test(test_operator test_operator.c harness.c)
dtc_add_check_test(test_reboot test_reboot.c harness.c)
set_tests_properties(test_reboot PROPERTIES TIMEOUT 200)

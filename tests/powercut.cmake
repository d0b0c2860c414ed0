# The power-cut simulator (test-only): libdtc_powercut.so, an LD_PRELOAD
# library that journals file changes under $DTC_POWERCUT_ROOT, and
# dtc-powercut, which undoes what a power cut would have lost
# (tests/tools/powercut*.c), and its unit test.
#
# The library is preloaded into programs that may or may not be built with
# sanitizers: an ASan-built .so cannot be preloaded into a plain program, so
# it is built WITHOUT the directory's sanitizer flags (the warnings stay).
# ASan programs that preload it need ASAN_OPTIONS=verify_asan_link_order=0
# (check_powercut and the harness add it).
dtc_add_preload(dtc_powercut tools/powercut_preload.c) # without sanitizer flags: tests/CMakeLists.txt

add_executable(dtc-powercut tools/powercut_apply.c)

dtc_add_check_test(check_powercut check_powercut.c harness.c)
add_dependencies(check_powercut dtc_powercut dtc-powercut)

# dtcd and the four services through a power cut, a service crashed at
# each store.* point (depends on dtcd's decision log, --data-dir).
dtc_add_check_test(test_powercut test_powercut.c harness.c)
add_dependencies(test_powercut dtc_powercut dtc-powercut)

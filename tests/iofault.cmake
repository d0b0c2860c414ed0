# I/O fault injection (test-only): libdtc_iofault.so, an LD_PRELOAD
# library that makes write/pwrite/fsync/fdatasync/rename/open fail with
# EIO or ENOSPC at a chosen call, for files under $DTC_IOFAULT_ROOT
# (tests/tools/iofault_preload.c), and test_iofault, which runs dtcd, the
# coordinator and the services through those failures.
#
# Like libdtc_powercut.so it is preloaded into programs that may or may
# not be built with sanitizers, so it is built WITHOUT the directory's
# sanitizer flags; ASan programs that preload it need
# ASAN_OPTIONS=verify_asan_link_order=0 (test_iofault adds it).
dtc_add_preload(dtc_iofault tools/iofault_preload.c) # without sanitizer flags: tests/CMakeLists.txt

dtc_add_check_test(test_iofault test_iofault.c harness.c)
add_dependencies(test_iofault dtc_iofault)
set_tests_properties(test_iofault PROPERTIES TIMEOUT 180)

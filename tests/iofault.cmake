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
add_library(dtc_iofault SHARED tools/iofault_preload.c)
set_target_properties(dtc_iofault PROPERTIES
  COMPILE_OPTIONS ""
  LINK_OPTIONS ""
  C_VISIBILITY_PRESET hidden
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
target_compile_options(dtc_iofault PRIVATE -Wall -Wextra -Wshadow
                       -Wstrict-prototypes -Wformat=2)
if(DTC_WERROR)
  target_compile_options(dtc_iofault PRIVATE -Werror)
endif()
target_link_libraries(dtc_iofault PRIVATE ${CMAKE_DL_LIBS})

dtc_add_check_test(test_iofault test_iofault.c harness.c)
add_dependencies(test_iofault dtc_iofault)
set_tests_properties(test_iofault PROPERTIES TIMEOUT 180)

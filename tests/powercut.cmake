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
add_library(dtc_powercut SHARED tools/powercut_preload.c)
set_target_properties(dtc_powercut PROPERTIES
  COMPILE_OPTIONS ""
  LINK_OPTIONS ""
  C_VISIBILITY_PRESET hidden
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
target_compile_options(dtc_powercut PRIVATE -Wall -Wextra -Wshadow
                       -Wstrict-prototypes -Wformat=2)
if(DTC_WERROR)
  target_compile_options(dtc_powercut PRIVATE -Werror)
endif()
target_link_libraries(dtc_powercut PRIVATE ${CMAKE_DL_LIBS})

add_executable(dtc-powercut tools/powercut_apply.c)

dtc_add_check_test(check_powercut check_powercut.c harness.c)
add_dependencies(check_powercut dtc_powercut dtc-powercut)

# dtcd and the four services through a power cut, a service crashed at
# each store.* point (depends on dtcd's decision log, --data-dir).
dtc_add_check_test(test_powercut test_powercut.c harness.c)
add_dependencies(test_powercut dtc_powercut dtc-powercut)

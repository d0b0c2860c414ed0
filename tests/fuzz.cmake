# fuzz.cmake - the libFuzzer targets of tests/fuzz/ as ctest tests
# (included from tests/CMakeLists.txt).  tests/fuzz/run.sh builds them
# with clang, whatever compiler builds the rest, into BUILD/fuzz; new
# corpus inputs stay there.  Each run first replays tests/fuzz/regress/.
#   fuzz_short   every target 12 s, one after the other (~90 s with the build)
#   fuzz_long    every target 10 min, two at a time (~30 min), only with
#                -DDTC_LONG_TESTS=ON
# DTC_FUZZ (default: ON when clang and its libFuzzer runtime are found)
# registers them, in the sanitizer build only: the targets are built with
# ASan and UBSan whatever the build, so scripts/test.sh's first pass would
# only run the same thing twice.
find_program(DTC_CLANG clang)
set(dtc_fuzz_default OFF)
if(DTC_CLANG)
  execute_process(
    COMMAND ${DTC_CLANG}
            -print-file-name=libclang_rt.fuzzer-${CMAKE_HOST_SYSTEM_PROCESSOR}.a
    OUTPUT_VARIABLE dtc_fuzz_rt OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(IS_ABSOLUTE "${dtc_fuzz_rt}" AND EXISTS "${dtc_fuzz_rt}")
    set(dtc_fuzz_default ON)
  endif()
endif()
option(DTC_FUZZ "Register the libFuzzer runs (needs clang and libFuzzer)"
       ${dtc_fuzz_default})
if(NOT DTC_FUZZ)
  message(STATUS "DTC_FUZZ off (clang with libFuzzer not found): no fuzz tests")
  return()
endif()
if(NOT dtc_fuzz_default)
  message(FATAL_ERROR "DTC_FUZZ needs clang and its libFuzzer runtime "
                      "(Debian: apt-get install clang libclang-rt-14-dev)")
endif()

if(NOT DTC_SANITIZE)
  message(STATUS "fuzz tests run in the -DDTC_SANITIZE=ON build")
  return()
endif()

set(DTC_FUZZ_RUN bash ${PROJECT_SOURCE_DIR}/tests/fuzz/run.sh
                 --out ${CMAKE_BINARY_DIR}/fuzz)
# Both share BUILD/fuzz (objects, corpus): never at the same time.
add_test(NAME fuzz_short COMMAND ${DTC_FUZZ_RUN} --time 12)
set_tests_properties(fuzz_short PROPERTIES TIMEOUT 300 RESOURCE_LOCK dtc_fuzz
                                           ENVIRONMENT "CLANG=${DTC_CLANG}")
if(DTC_LONG_TESTS)
  add_test(NAME fuzz_long COMMAND ${DTC_FUZZ_RUN} --time 600 --jobs 2)
  set_tests_properties(fuzz_long PROPERTIES TIMEOUT 2400 RESOURCE_LOCK dtc_fuzz
                                            ENVIRONMENT "CLANG=${DTC_CLANG}")
endif()

# lint: cppcheck and clang-tidy over src/ and participants/ (tests/lint.sh),
# using this build's compile_commands.json.  In the normal build only: the
# sanitizer build compiles the same sources.  It takes both cores (about a
# minute of clang-tidy), so ctest -j2 runs it alone.
if(NOT DTC_SANITIZE)
  add_test(NAME lint
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/lint.sh ${PROJECT_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR})
  set_tests_properties(lint PROPERTIES TIMEOUT 300 PROCESSORS 2)
endif()

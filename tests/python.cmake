# python_bindings: pytest over bindings/python/tests against a real dtcd,
# the C services and Python participant processes; layout.c prints the C
# layout the ctypes mirrors are compared with.  Normal build only: an
# ASan-built libdtc.so cannot be loaded into an uninstrumented python3.
if(NOT DTC_SANITIZE)
  add_executable(dtc-py-layout ${PROJECT_SOURCE_DIR}/bindings/python/tests/layout.c)
  target_include_directories(dtc-py-layout PRIVATE ${PROJECT_SOURCE_DIR}/include)
  add_test(NAME python_bindings
           COMMAND bash ${PROJECT_SOURCE_DIR}/bindings/python/tests/run.sh)
  set_tests_properties(python_bindings PROPERTIES TIMEOUT 120 ENVIRONMENT
    "DTC_LIBRARY=$<TARGET_FILE:dtc_shared>;DTC_BIN_DIR=${CMAKE_BINARY_DIR}/bin;DTC_LAYOUT_HELPER=$<TARGET_FILE:dtc-py-layout>")
endif()

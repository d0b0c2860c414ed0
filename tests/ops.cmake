# ops.cmake - operating dtc as a service (included from tests/CMakeLists.txt):
#   test_systemd  unit files pass systemd-analyze verify; dtcd's notify
#                 messages (READY, WATCHDOG, STOPPING) and SIGHUP log reopen
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME test_systemd
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_systemd.py
                   ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR}/systemd)
  set_tests_properties(test_systemd PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77)
endif()

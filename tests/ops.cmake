# ops.cmake - operating dtc as a service (included from tests/CMakeLists.txt):
#   test_systemd  unit files pass systemd-analyze verify; dtcd's notify
#                 messages (READY, WATCHDOG, STOPPING) and SIGHUP log reopen
#   test_metrics  dtcctl metrics (promtool check metrics, values) and
#                 dtcctl top (plain frames; live in a tmux pane, q quits)
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME test_systemd
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_systemd.py
                   ${CMAKE_BINARY_DIR}/bin ${PROJECT_SOURCE_DIR}/systemd)
  set_tests_properties(test_systemd PROPERTIES TIMEOUT 180 SKIP_RETURN_CODE 77)
  add_test(NAME test_metrics
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_metrics.py
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(test_metrics PROPERTIES TIMEOUT 180)
endif()

# man.cmake - the manual pages (man/) and the bash completion
# (completion/dtcctl), included from tests/CMakeLists.txt.
#   man_pages    groff -ww finds no warning in any page, and every option
#                of every program's --help, every dtcctl command and
#                every function of dtc.h is in its page (tests/man_pages.sh)
#   completion   completion/dtcctl sourced in bash completes the commands
#                and options dtcctl's help lists (tests/completion.sh)
find_program(DTC_GROFF groff)
if(DTC_GROFF)
  add_test(NAME man_pages
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/man_pages.sh ${PROJECT_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(man_pages PROPERTIES TIMEOUT 60)
else()
  message(STATUS "groff not found: man_pages test not registered (scripts/lib.sh installs groff-base)")
endif()
add_test(NAME completion
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/completion.sh ${PROJECT_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(completion PROPERTIES TIMEOUT 60)

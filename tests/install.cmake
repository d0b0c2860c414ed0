# Tests of what dtc ships: the shared library's ABI, the installed tree
# used from outside (pkg-config, find_package), every program's --version.
add_test(NAME abi_symbols
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/abi_symbols.sh
                 ${CMAKE_C_COMPILER} ${PROJECT_SOURCE_DIR}/include/dtc/dtc.h
                 $<TARGET_FILE:dtc_shared>)
set_tests_properties(abi_symbols PROPERTIES TIMEOUT 60)

add_test(NAME install_tree
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/install_tree.sh
                 ${CMAKE_BINARY_DIR} ${PROJECT_VERSION})
set(dtc_client_cflags "")
if(DTC_SANITIZE)
  set(dtc_client_cflags "-fsanitize=address,undefined")
endif()
set_tests_properties(install_tree PROPERTIES TIMEOUT 180
  ENVIRONMENT "CC=${CMAKE_C_COMPILER};DTC_CLIENT_CFLAGS=${dtc_client_cflags}")

add_test(NAME version_option
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install/version_option.sh
                 ${CMAKE_BINARY_DIR}/bin ${PROJECT_VERSION}
                 dtcd dtcctl dtc-bench dtc-load dtc-noop
                 dtc-inventory dtc-payment dtc-order dtc-shipping)
set_tests_properties(version_option PROPERTIES TIMEOUT 60)

# ledger.cmake - the participant ledger's horizon with a real dtcd
# (tests/ledger_horizon.sh; the unit tests are in check_store).
add_test(NAME ledger_horizon
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/ledger_horizon.sh ${CMAKE_BINARY_DIR}/bin)
set_tests_properties(ledger_horizon PROPERTIES TIMEOUT 120)

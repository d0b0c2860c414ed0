# test_pg: dtc-pg against a real PostgreSQL (a throwaway cluster per test,
# started by src/bench/pg_cluster.c).  Only with libpq; ctest reports SKIP
# (exit 77) when the PostgreSQL server binaries are missing.
pkg_check_modules(PQ IMPORTED_TARGET libpq)
if(PQ_FOUND)
  dtc_add_check_test(test_pg test_pg.c harness.c
    ${PROJECT_SOURCE_DIR}/src/bench/pg_cluster.c ${PROJECT_SOURCE_DIR}/src/bench/procs.c
    ${PROJECT_SOURCE_DIR}/src/bench/stats.c)
  target_include_directories(test_pg PRIVATE ${PROJECT_SOURCE_DIR}/src/bench)
  target_link_libraries(test_pg PRIVATE PkgConfig::PQ)
  add_dependencies(test_pg dtc-pg)
  set_tests_properties(test_pg PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600)
endif()

# stress_pg: scripts/stress.sh --pg (payment played by dtc-pg, its ledger
# checked), 10 s with chaos.  Registered when PostgreSQL's server binaries
# are there.
find_program(DTC_BASH bash)
find_program(DTC_PG_CONFIG pg_config)
file(GLOB DTC_PG_INITDB /usr/lib/postgresql/*/bin/initdb)
if(PQ_FOUND AND DTC_BASH AND (DTC_PG_CONFIG OR DTC_PG_INITDB))
  add_test(NAME stress_pg
           COMMAND ${DTC_BASH} ${PROJECT_SOURCE_DIR}/scripts/stress.sh --pg --chaos
                   --seconds 10 --clients 4 --bin-dir ${CMAKE_BINARY_DIR}/bin)
  set_tests_properties(stress_pg PROPERTIES TIMEOUT 150)
endif()

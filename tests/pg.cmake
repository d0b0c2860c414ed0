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

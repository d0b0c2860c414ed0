# Unit tests of the participant services' record store (no segment needed).
# The service files are compiled in with SVC_NO_MAIN for their schemas.
dtc_add_check_test(check_store check_store.c
  ${PROJECT_SOURCE_DIR}/participants/inventory.c
  ${PROJECT_SOURCE_DIR}/participants/payment.c
  ${PROJECT_SOURCE_DIR}/participants/order.c
  ${PROJECT_SOURCE_DIR}/participants/shipping.c)
target_compile_definitions(check_store PRIVATE SVC_NO_MAIN)
target_link_libraries(check_store PRIVATE dtcsvc)

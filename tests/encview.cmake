# cryptod --encrypted-view (cryptod/rawview.c) through the real keyd and
# cryptod over the rings, no FUSE (tests/cryptod_harness.c, CDH_ENCVIEW).
cs_unit_test(test_encview SOURCES test_encview.c cryptod_harness.c
  ${CMAKE_SOURCE_DIR}/cli/keyd_client.c ${CMAKE_SOURCE_DIR}/cli/pass.c
  LIBS csproto csfmt Threads::Threads)
target_compile_definitions(test_encview PRIVATE
  CS_CRYPTOD_BIN="$<TARGET_FILE:cryptstack-cryptod>"
  CS_CLI_BIN="$<TARGET_FILE:cryptstack>"
  CS_BIN_DIR="$<TARGET_FILE_DIR:cryptstack-keyd>")
target_include_directories(test_encview PRIVATE ${CMAKE_SOURCE_DIR}/cli)
add_dependencies(test_encview cryptstack-cryptod cryptstack-keyd cryptstack)

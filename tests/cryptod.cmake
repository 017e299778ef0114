# cryptod: the real cryptod and keyd processes driven through the rings (no
# FUSE). The harness execs the built binaries.
set(CDH_SOURCES cryptod_harness.c ${CMAKE_SOURCE_DIR}/cli/keyd_client.c
  ${CMAKE_SOURCE_DIR}/cli/pass.c)
set(CDH_DEFS CS_CRYPTOD_BIN="$<TARGET_FILE:cryptstack-cryptod>"
  CS_CLI_BIN="$<TARGET_FILE:cryptstack>"
  CS_BIN_DIR="$<TARGET_FILE_DIR:cryptstack-keyd>")

cs_unit_test(test_cryptod SOURCES test_cryptod.c ${CDH_SOURCES}
  LIBS csproto csfmt Threads::Threads)
target_compile_definitions(test_cryptod PRIVATE ${CDH_DEFS})
target_include_directories(test_cryptod PRIVATE ${CMAKE_SOURCE_DIR}/cli)
add_dependencies(test_cryptod cryptstack-cryptod cryptstack-keyd cryptstack)

if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_cryptod_model.c)
  cs_unit_test(test_cryptod_model SOURCES test_cryptod_model.c ${CDH_SOURCES}
    LIBS csproto csfmt Threads::Threads LABELS integration)
  target_compile_definitions(test_cryptod_model PRIVATE ${CDH_DEFS})
  target_include_directories(test_cryptod_model PRIVATE ${CMAKE_SOURCE_DIR}/cli)
  add_dependencies(test_cryptod_model cryptstack-cryptod cryptstack-keyd
    cryptstack)
endif()

# Argument blocks with a head and variable pieces (cryptod/ops.c).
cs_unit_test(test_cryptod_args SOURCES test_cryptod_args.c ${CDH_SOURCES}
  LIBS csproto csfmt Threads::Threads)
target_compile_definitions(test_cryptod_args PRIVATE ${CDH_DEFS})
target_include_directories(test_cryptod_args PRIVATE ${CMAKE_SOURCE_DIR}/cli)
add_dependencies(test_cryptod_args cryptstack-cryptod cryptstack-keyd
  cryptstack)

# LD_PRELOAD shim stalling cryptod's renameat2 (test_cryptod
# rename_writer_race).
add_library(cs_rename_stall SHARED test_cryptod_rename_stall.c)
target_compile_definitions(test_cryptod PRIVATE
  CDH_RENAME_STALL="$<TARGET_FILE:cs_rename_stall>")
add_dependencies(test_cryptod cs_rename_stall)

# cryptod's FEK cache on its own (cryptod/fekcache.c).
cs_unit_test(test_fekcache SOURCES test_fekcache.c
  ${CMAKE_SOURCE_DIR}/cryptod/fekcache.c LIBS cscipher csproto
  Threads::Threads)
target_include_directories(test_fekcache PRIVATE ${CMAKE_SOURCE_DIR}/cryptod)

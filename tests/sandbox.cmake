cs_unit_test(test_sandbox SOURCES test_sandbox.c sandbox_testlib.c)

# The per-process sandboxes, compiled from the same sources as the
# binaries (frontend/sandbox.c, cryptod/sandbox.c, cryptod/uring_restrict.c).
cs_unit_test(test_sandbox_procs SOURCES test_sandbox_procs.c sandbox_testlib.c
  ${CMAKE_SOURCE_DIR}/frontend/sandbox.c
  ${CMAKE_SOURCE_DIR}/cryptod/sandbox.c
  ${CMAKE_SOURCE_DIR}/cryptod/uring_restrict.c
  LIBS csproto PkgConfig::URING Threads::Threads)
target_include_directories(test_sandbox_procs PRIVATE
  ${CMAKE_SOURCE_DIR}/frontend ${CMAKE_SOURCE_DIR}/cryptod)

# Memory hygiene of a real mount (root, /dev/fuse): the FEKEK is only in
# keyd's memory. Runs the built cryptstack binaries.
cs_unit_test(test_sandbox_mem SOURCES test_sandbox_mem.c sandbox_testlib.c
  LIBS PkgConfig::ARGON2 cs::mbedcrypto LABELS integration)
target_compile_definitions(test_sandbox_mem PRIVATE
  CS_CLI_BIN="$<TARGET_FILE:cryptstack>")
add_dependencies(test_sandbox_mem cryptstack cryptstack-keyd
  cryptstack-cryptod cryptstack-frontend)

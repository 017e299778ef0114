# Integration tests (label "integration"): real mounts driven by real
# programs, as root with /dev/fuse (each script exits 77 = skipped when it
# cannot run here). Scripts in tests/integration/, docs/MOUNT.md.
add_executable(cs_posix ${CMAKE_CURRENT_SOURCE_DIR}/integration/posix.c)
target_link_libraries(cs_posix PRIVATE Threads::Threads)
set_target_properties(cs_posix PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR})

foreach(t quickstart posix programs)
  add_test(NAME integration_${t}
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.sh
      ${CMAKE_BINARY_DIR})
  set_tests_properties(integration_${t} PROPERTIES LABELS integration
    SKIP_RETURN_CODE 77 TIMEOUT 400)
endforeach()

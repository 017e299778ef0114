# Integration tests (label "integration"): real mounts driven by real
# programs, as root with /dev/fuse (each script exits 77 = skipped when it
# cannot run here). Scripts in tests/integration/, docs/MOUNT.md.
add_executable(cs_posix ${CMAKE_CURRENT_SOURCE_DIR}/integration/posix.c)
target_link_libraries(cs_posix PRIVATE Threads::Threads)
set_target_properties(cs_posix PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR})

# The real frontend against a fake cryptod that breaks the ring protocol.
add_executable(cs_hostile_cryptod ${CMAKE_CURRENT_SOURCE_DIR}/integration/hostile.c)
target_link_libraries(cs_hostile_cryptod PRIVATE csproto cscommon Threads::Threads)
add_test(NAME integration_hostile_cryptod
  COMMAND cs_hostile_cryptod $<TARGET_FILE:cryptstack-frontend>)
set_tests_properties(integration_hostile_cryptod PROPERTIES
  LABELS integration SKIP_RETURN_CODE 77 TIMEOUT 120)

# Runs a command with io_uring refused by seccomp (nouring.sh).
add_executable(cs_nouring ${CMAKE_CURRENT_SOURCE_DIR}/integration/nouring.c)
target_link_libraries(cs_nouring PRIVATE PkgConfig::SECCOMP)
set_target_properties(cs_nouring PROPERTIES RUNTIME_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR})

foreach(t quickstart posix programs encview context backends user nouring scratch
    killpriv writereqs attrcache
    attrcache_links attrcache_stress attrcache_unlinked killpriv_more review_load
    slot_wait atime atime_user rmdir_nlink_race)
  add_test(NAME integration_${t}
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.sh
      ${CMAKE_BINARY_DIR})
  set_tests_properties(integration_${t} PROPERTIES LABELS integration
    SKIP_RETURN_CODE 77 TIMEOUT 400)
endforeach()

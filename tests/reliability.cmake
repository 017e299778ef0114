# Reliability (docs/RELIABILITY.md): fsck and tampering, crashes, ENOSPC,
# lower-filesystem errors, load, fuzzing. Real mounts as root (each script
# exits 77 = skipped when it cannot run here). Label "integration".
set(CS_REL_DIR ${CMAKE_CURRENT_SOURCE_DIR}/reliability)

# Writer/checker programs the scripts drive on the mount.
add_executable(cs_crashwriter ${CS_REL_DIR}/crashwriter.c)
add_executable(cs_loadtest ${CS_REL_DIR}/loadtest.c)
target_link_libraries(cs_loadtest PRIVATE Threads::Threads)
set_target_properties(cs_crashwriter cs_loadtest PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})

foreach(t tamper crash enospc erofs load)
  add_test(NAME reliability_${t}
    COMMAND sh ${CS_REL_DIR}/${t}.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(reliability_${t} PROPERTIES LABELS integration
    SKIP_RETURN_CODE 77 TIMEOUT 400)
endforeach()

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

foreach(t tamper crash enospc erofs load keyd_death keyd_stall)
  add_test(NAME reliability_${t}
    COMMAND sh ${CS_REL_DIR}/${t}.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(reliability_${t} PROPERTIES LABELS integration
    SKIP_RETURN_CODE 77 TIMEOUT 400)
endforeach()

# libFuzzer target for keyd's service loop (tests/fuzz/fuzz_keyd_msg.c).
# With -DCS_FUZZ=ON (clang): fuzz-keyd-msg; otherwise its seed corpus
# (tests/fuzz/corpus/keyd_msg) is replayed as a unit test.
set(CS_KDF_SRC ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_keyd_msg.c
  ${PROJECT_SOURCE_DIR}/keyd/serve.c ${PROJECT_SOURCE_DIR}/keyd/crypto.c
  ${PROJECT_SOURCE_DIR}/keyd/slots.c)
if(CS_FUZZ)
  add_executable(fuzz-keyd-msg ${CS_KDF_SRC})
  target_compile_options(fuzz-keyd-msg PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz-keyd-msg PRIVATE -fsanitize=fuzzer,address,undefined)
  set(CS_KDF_T fuzz-keyd-msg)
else()
  add_executable(fuzz-keyd-msg-replay ${CS_KDF_SRC}
    ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_replay.c)
  add_test(NAME fuzz_keyd_msg_replay COMMAND fuzz-keyd-msg-replay
    ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/keyd_msg)
  set_tests_properties(fuzz_keyd_msg_replay PROPERTIES LABELS unit TIMEOUT 120)
  set(CS_KDF_T fuzz-keyd-msg-replay)
endif()
target_include_directories(${CS_KDF_T} PRIVATE ${PROJECT_SOURCE_DIR}/keyd
  ${PROJECT_SOURCE_DIR}/cryptod/fmt ${PROJECT_SOURCE_DIR}/proto
  ${PROJECT_SOURCE_DIR}/common)
target_link_libraries(${CS_KDF_T} PRIVATE csfmt csproto PkgConfig::ARGON2
  cs::mbedx509 cs::mbedcrypto)

# Every libFuzzer target built with clang in its own build directory and
# run for CS_FUZZ_SECS (default 12) seconds each (tests/reliability/fuzz.sh).
add_test(NAME reliability_fuzz
  COMMAND sh ${CS_REL_DIR}/fuzz.sh ${CMAKE_BINARY_DIR})
set_tests_properties(reliability_fuzz PROPERTIES LABELS "fuzz;integration"
  SKIP_RETURN_CODE 77 TIMEOUT 900)

# fsck without a mount: the real CLI and keyd on volumes made by init, with
# lower files placed by hand (unit: runs in the sanitizer build too).
cs_unit_test(test_fsck SOURCES test_fsck.c)
target_compile_definitions(test_fsck PRIVATE CS_CLI="$<TARGET_FILE:cryptstack>"
  CS_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/golden")
add_dependencies(test_fsck cryptstack cryptstack-keyd)

# keyd: the volume config parser and slot code in process (unit), and the
# real cryptstack-keyd / cryptstack binaries driven through their sockets.
set(KEYD_DIR ${PROJECT_SOURCE_DIR}/keyd)
if(TARGET csfmt)
  set(KEYD_T_FMT csfmt)
  set(KEYD_T_VOL "")
else()
  set(KEYD_T_FMT "")
  set(KEYD_T_VOL ${PROJECT_SOURCE_DIR}/cryptod/fmt/volume.c)
endif()

cs_unit_test(test_keyd_volume
  SOURCES test_keyd_volume.c ${KEYD_DIR}/crypto.c ${KEYD_DIR}/slots.c
    ${KEYD_T_VOL}
  LIBS ${KEYD_T_FMT} csproto PkgConfig::ARGON2 cs::mbedx509 cs::mbedcrypto)
target_include_directories(test_keyd_volume PRIVATE ${KEYD_DIR}
  ${PROJECT_SOURCE_DIR}/cryptod/fmt ${PROJECT_SOURCE_DIR}/proto)

cs_unit_test(test_keyd
  SOURCES test_keyd.c ${PROJECT_SOURCE_DIR}/cli/keyd_client.c
    ${PROJECT_SOURCE_DIR}/cli/pass.c ${KEYD_T_VOL}
  LIBS ${KEYD_T_FMT} csproto PkgConfig::ARGON2 cs::mbedcrypto)
target_include_directories(test_keyd PRIVATE ${PROJECT_SOURCE_DIR}/cli
  ${PROJECT_SOURCE_DIR}/cryptod/fmt ${PROJECT_SOURCE_DIR}/proto)
target_compile_definitions(test_keyd PRIVATE
  CS_CLI="$<TARGET_FILE:cryptstack>" CS_BUILD_DIR="$<TARGET_FILE_DIR:cryptstack-keyd>")
add_dependencies(test_keyd cryptstack cryptstack-keyd)

# The volume config parser's fuzz target (see test_keyd_fuzz.c).
if(CS_FUZZ)
  add_executable(fuzz-keyd-volume test_keyd_fuzz.c ${KEYD_T_VOL})
  target_compile_definitions(fuzz-keyd-volume PRIVATE CS_FUZZ_BUILD)
  target_compile_options(fuzz-keyd-volume PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz-keyd-volume PRIVATE -fsanitize=fuzzer,address,undefined)
  target_include_directories(fuzz-keyd-volume PRIVATE ${PROJECT_SOURCE_DIR}/cryptod/fmt)
  target_link_libraries(fuzz-keyd-volume PRIVATE ${KEYD_T_FMT})
else()
  add_executable(test_keyd_fuzz test_keyd_fuzz.c ${KEYD_T_VOL})
  target_include_directories(test_keyd_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/cryptod/fmt)
  target_link_libraries(test_keyd_fuzz PRIVATE ${KEYD_T_FMT} cscommon)
  add_test(NAME test_keyd_fuzz COMMAND test_keyd_fuzz)
  set_tests_properties(test_keyd_fuzz PROPERTIES LABELS unit TIMEOUT 120)
endif()

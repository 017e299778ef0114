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

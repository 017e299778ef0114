# keydbench: keyd unlock time and KD_WRAP/KD_UNWRAP round trips per second
# (`keydbench --quick` uses tiny Argon2id parameters).
add_executable(keydbench ${CMAKE_CURRENT_LIST_DIR}/keydbench.c
  ${PROJECT_SOURCE_DIR}/cli/keyd_client.c ${PROJECT_SOURCE_DIR}/cli/pass.c)
target_include_directories(keydbench PRIVATE ${PROJECT_SOURCE_DIR}/cli)
target_link_libraries(keydbench PRIVATE csproto cscommon)
add_dependencies(keydbench cryptstack cryptstack-keyd)

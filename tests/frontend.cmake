# frontend: unit suite of the attribute cache (frontend/attrcache.c); the
# rest of the frontend is tested through real mounts (integration.cmake).
cs_unit_test(test_attrcache SOURCES test_attrcache.c
  ${CMAKE_SOURCE_DIR}/frontend/attrcache.c
  LIBS csproto PkgConfig::FUSE3 Threads::Threads)
target_include_directories(test_attrcache PRIVATE ${CMAKE_SOURCE_DIR}/frontend)

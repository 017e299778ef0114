# proto/ring: unit suite (single process, hostile peer, cross-process
# stream, peer death, io_uring FUTEX_WAIT doorbell).
cs_unit_test(test_ring SOURCES test_ring.c
  LIBS csproto PkgConfig::URING Threads::Threads)

# Fuzz target for the ring parsers (header, sqe, cqe, shared indices).
# -DCS_FUZZ=ON with clang: build/fuzz-ring, run e.g.
#   build/fuzz-ring -max_total_time=60 proto/fuzz/corpus
# Every build: the seed corpus replayed as a unit test.
set(CS_RING_FUZZ_DIR ${CMAKE_SOURCE_DIR}/proto/fuzz)
if(CS_FUZZ)
  # ring.c compiled in, so it carries the coverage instrumentation.
  add_executable(fuzz-ring ${CS_RING_FUZZ_DIR}/fuzz_ring.c
    ${CMAKE_SOURCE_DIR}/proto/ring.c)
  target_include_directories(fuzz-ring PRIVATE ${CMAKE_SOURCE_DIR}/proto)
  target_compile_options(fuzz-ring PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz-ring PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz-ring PRIVATE cscommon)
else()
  add_executable(fuzz-ring-replay ${CS_RING_FUZZ_DIR}/fuzz_ring.c
    ${CS_RING_FUZZ_DIR}/fuzz_ring_replay.c)
  target_link_libraries(fuzz-ring-replay PRIVATE csproto)
  add_test(NAME fuzz_ring_replay COMMAND fuzz-ring-replay
    ${CS_RING_FUZZ_DIR}/corpus)
  set_tests_properties(fuzz_ring_replay PROPERTIES LABELS unit TIMEOUT 120)
endif()

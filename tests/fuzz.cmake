# libFuzzer targets for the format parsers (tests/fuzz/): fuzz-fmt-header
# (lower-file header, size slots, records, geometry) and fuzz-fmt-names
# (names, side files, dir id files, symlink targets, xattrs).
# -DCS_FUZZ=ON with clang builds the libFuzzer binaries (tests/fuzz/run.sh
# does it and runs each for N seconds); every other build replays the seed
# corpora (tests/fuzz/corpus/<target>/) as unit tests.
set(CS_FMT_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
foreach(t fmt_header fmt_names)
  string(REPLACE "_" "-" tn ${t})
  if(CS_FUZZ)
    add_executable(fuzz-${tn} ${CS_FMT_FUZZ_DIR}/fuzz_${t}.c)
    target_compile_options(fuzz-${tn} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz-${tn} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz-${tn} PRIVATE csfmt cscipher)
  else()
    add_executable(fuzz-${tn}-replay ${CS_FMT_FUZZ_DIR}/fuzz_${t}.c
      ${CS_FMT_FUZZ_DIR}/fuzz_replay.c)
    target_link_libraries(fuzz-${tn}-replay PRIVATE csfmt cscipher)
    add_test(NAME fuzz_${t}_replay COMMAND fuzz-${tn}-replay
      ${CS_FMT_FUZZ_DIR}/corpus/${t})
    set_tests_properties(fuzz_${t}_replay PROPERTIES LABELS unit TIMEOUT 120)
  endif()
endforeach()

# csfmt: on-disk format unit tests (round trips, tampering, crash states,
# names) and the committed golden files of format version 1.
cs_unit_test(test_fmt SOURCES test_fmt.c fmt_model.c fmt_golden.c
  LIBS csfmt cscipher)
target_compile_definitions(test_fmt PRIVATE
  CS_GOLDEN_DIR="${CMAKE_CURRENT_SOURCE_DIR}/golden")

# cscipher: known answers, backend cross-checks, tampering, batches, SIV, HKDF.
cs_unit_test(test_cipher SOURCES test_cipher.c LIBS cscipher)

# The fuzz target's seed corpus as a regression test (not under CS_FUZZ).
if(TARGET fuzz-cipher-replay)
  add_test(NAME fuzz_cipher_replay COMMAND fuzz-cipher-replay
    ${CMAKE_SOURCE_DIR}/cryptod/cipher/fuzz_corpus)
  set_tests_properties(fuzz_cipher_replay PROPERTIES LABELS unit TIMEOUT 120)
endif()

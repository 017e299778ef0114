# cscipher: known answers, backend cross-checks, tampering, batches, SIV, HKDF.
cs_unit_test(test_cipher SOURCES test_cipher.c LIBS cscipher Threads::Threads)
# OpenSSL 3's AES-SIV is an independent check of AES-256-SIV (libssl-dev).
find_package(OpenSSL COMPONENTS Crypto)
if(OPENSSL_FOUND)
  target_compile_definitions(test_cipher PRIVATE CS_HAVE_OPENSSL)
  target_link_libraries(test_cipher PRIVATE OpenSSL::Crypto)
endif()

# The fuzz target's seed corpus as a regression test (not under CS_FUZZ).
if(TARGET fuzz-cipher-replay)
  add_test(NAME fuzz_cipher_replay COMMAND fuzz-cipher-replay
    ${CMAKE_SOURCE_DIR}/cryptod/cipher/fuzz_corpus)
  set_tests_properties(fuzz_cipher_replay PROPERTIES LABELS unit TIMEOUT 120)
endif()

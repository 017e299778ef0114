# bench-cipher: AEAD throughput per core, backend x alg x batch, with the
# OpenSSL EVP AES-256-GCM yardstick (libssl-dev) when available.
add_executable(bench-cipher ${CMAKE_CURRENT_LIST_DIR}/cipher.c)
target_include_directories(bench-cipher PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(bench-cipher PRIVATE cscipher)
find_package(OpenSSL COMPONENTS Crypto)
if(OPENSSL_FOUND)
  target_compile_definitions(bench-cipher PRIVATE CS_HAVE_OPENSSL)
  target_link_libraries(bench-cipher PRIVATE OpenSSL::Crypto)
else()
  message(WARNING "OpenSSL not found: bench-cipher without its yardstick (Debian package libssl-dev)")
endif()

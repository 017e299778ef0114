# bench-digest: the records digest (fmt_recs_digest) of a 1 GiB file vs the
# first (mbedTLS stream) definition, and cipher_sha256_batch by backend.
add_executable(bench-digest ${CMAKE_CURRENT_LIST_DIR}/digestbench.c)
target_include_directories(bench-digest PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(bench-digest PRIVATE csfmt cscipher cs::mbedcrypto)

# bench-fmt: the format's extent path (csfmt: records, nonces, ADs, size
# update) vs raw cscipher AES-256-GCM on 1 MiB batches, in the same run.
add_executable(bench-fmt ${CMAKE_CURRENT_LIST_DIR}/fmtbench.c)
target_include_directories(bench-fmt PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(bench-fmt PRIVATE csfmt cscipher)

# Review tests of the attribute cache, killpriv and the receive threads
# (integration: real mounts, as root).
foreach(t attrcache_links attrcache_stress killpriv_more review_load attrcache_unlinked)
  add_test(NAME integration_${t}
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.sh
      ${CMAKE_BINARY_DIR})
  set_tests_properties(integration_${t} PROPERTIES LABELS integration
    SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
